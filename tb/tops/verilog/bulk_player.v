// A stream player, as cocotbext-axi's AxiStreamSource drives: a new beat when the bus is
// free or its beat was taken, unless this cycle's pause bit is set (`pause`, honoured
// while `pause_on`). Beats come from a ring (bulk_ring, files NAME_*.bin) whose entries
// hold TDATA, TKEEP and TLAST at the given bit offsets; `count` beats are sent in all,
// ring entry 0 being beat `base`.
module bulk_player #(
  parameter integer HALF = 1,
  parameter integer DATA_W = 8,
  parameter integer KEEP_W = 1,
  parameter integer BEAT_W = 24,
  parameter integer TDATA_AT = 0,
  parameter integer TKEEP_AT = 8,
  parameter integer TLAST_AT = 16,
  parameter NAME = "bulk_in"
) (
  input wire clk,
  input wire rst,
  input wire pause_on,
  input wire pause,
  input wire [31:0] count,
  input wire [31:0] base,
  input wire load0,
  input wire load1,
  output wire [31:0] sent,
  output wire hungry,
  output wire [31:0] half,
  output reg valid,
  input wire ready,
  output reg [DATA_W-1:0] data,
  output reg [KEEP_W-1:0] keep,
  output reg last
);
  reg [31:0] sent_r;
  wire [BEAT_W-1:0] next;
  bulk_ring #(.WIDTH(BEAT_W), .HALF(HALF), .NAME(NAME)) ring(
    .load0(load0), .load1(load1), .index(sent_r - base), .entry(next));
  // Registered where logic would read it combinationally: Verilator re-evaluates logic fed
  // straight from top-level inputs on every evaluation of the model.
  reg [31:0] count_r;
  always @(posedge clk) count_r <= count;
  always @(posedge clk) begin
    if (rst) begin
      sent_r <= 32'd0; valid <= 1'b0; last <= 1'b0;
    end else if (!valid || ready) begin
      if (sent_r != count && !(pause_on && pause)) begin
        data <= next[TDATA_AT +: DATA_W];
        keep <= next[TKEEP_AT +: KEEP_W];
        last <= next[TLAST_AT];
        valid <= 1'b1;
        sent_r <= sent_r + 32'd1;
      end else begin
        valid <= 1'b0; last <= 1'b0;
      end
    end
  end
  assign sent = sent_r;
  assign hungry = count_r - sent_r <= HALF;
  assign half = HALF;
endmodule
