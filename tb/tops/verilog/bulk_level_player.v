// The level player, which loads the crossbar emulator: on a toggle of `load`, every one of
// the COUNT payloads of FILE ($fread: one big-endian word of ENTRY_W bits each) into the
// emulator's level stream, one a transfer; `done` rises after the last.
module bulk_level_player #(
  parameter integer COUNT = 1,
  parameter integer BITS = 1,
  parameter integer ENTRY_W = 8,
  parameter FILE = "bulk_levels.bin"
) (
  input wire clk,
  input wire rst,
  input wire load,
  output wire done,
  output reg [BITS-1:0] payload,
  output reg valid,
  input wire ready
);
  reg [ENTRY_W-1:0] mem [0:COUNT-1];
  integer fd, got;
  // Also wakes at time 0, when no file exists yet.
  always @(load) if ($time > 0) begin
    fd = $fopen(FILE, "rb");
    if (fd == 0) $fatal(1, "bulk top: cannot open %s", FILE);
    got = $fread(mem, fd, 0, COUNT);
    $fclose(fd);
  end
  reg toggle, playing, done_r;
  reg [31:0] ptr;
  reg [ENTRY_W-1:0] next;
  always @(posedge clk) begin
    toggle <= load;
    if (rst) begin
      playing <= 1'b0; done_r <= 1'b0; valid <= 1'b0;
    end else if (toggle != load) begin
      playing <= 1'b1; done_r <= 1'b0; ptr <= 32'd0;
    end else if (playing && (!valid || ready)) begin
      if (ptr != COUNT) begin
        next = mem[ptr];
        payload <= next[BITS-1:0];
        valid <= 1'b1;
        ptr <= ptr + 32'd1;
      end else begin
        valid <= 1'b0; playing <= 1'b0; done_r <= 1'b1;
      end
    end
  end
  assign done = done_r;
endmodule
