// The cycle of the first analog request (the edge that raised `sample`), stamped as the
// analog queue stamps it, where no queue answers the analog port.
module bulk_sample_stamp (
  input wire clk,
  input wire rst,
  input wire [31:0] cycle,
  input wire sample,
  output wire [31:0] first_sample_cycle
);
  // The stamp before any sample.
  localparam [31:0] NO_SAMPLE = 32'hFFFFFFFF;
  reg sampled;
  reg [31:0] first_sample;
  always @(posedge clk) begin
    if (rst) begin
      sampled <= 1'b0; first_sample <= NO_SAMPLE;
    end else if (sample && !sampled) begin
      sampled <= 1'b1; first_sample <= cycle - 32'd1;
    end
  end
  assign first_sample_cycle = first_sample;
endmodule
