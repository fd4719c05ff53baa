// A stream recorder, as cocotbext-axi's AxiStreamSink takes beats: TREADY from the pause
// bit of the cycle before (`pause`, honoured while `pause_on`); every beat is stored with
// the cycle it was taken in (TDATA, TKEEP, TLAST and the cycle at the given bit offsets).
// Every toggle of dumpN writes half N of the ring to NAME_N.hex ($writememh); ring entry 0
// is beat `base`, and the testbench has drained the beats before `drained`.
module bulk_recorder #(
  parameter integer HALF = 1,
  parameter integer DATA_W = 8,
  parameter integer KEEP_W = 1,
  parameter integer OUT_W = 56,
  parameter integer TDATA_AT = 0,
  parameter integer TKEEP_AT = 8,
  parameter integer TLAST_AT = 16,
  parameter integer CYCLE_AT = 24,
  parameter NAME = "bulk_out"
) (
  input wire clk,
  input wire rst,
  input wire [31:0] cycle,
  input wire pause_on,
  input wire pause,
  input wire [31:0] drained,
  input wire [31:0] base,
  input wire dump0,
  input wire dump1,
  output wire full,
  output wire [31:0] taken,
  output wire [31:0] frames,
  output wire frame_end,
  output wire [31:0] half,
  input wire valid,
  output reg ready,
  input wire [DATA_W-1:0] data,
  input wire [KEEP_W-1:0] keep,
  input wire last
);
  localparam [31:0] DEPTH = 2 * HALF;
  reg [OUT_W-1:0] mem [0:2*HALF-1];
  always @(dump0) if ($time > 0) $writememh({NAME, "_0.hex"}, mem, 0, HALF - 1);
  always @(dump1) if ($time > 0) $writememh({NAME, "_1.hex"}, mem, HALF, 2 * HALF - 1);
  // Registered: see bulk_player.
  reg [31:0] drained_r;
  always @(posedge clk) drained_r <= drained;
  reg [31:0] taken_r, frames_r;
  reg [OUT_W-1:0] entry;
  always @(posedge clk) begin
    if (rst) begin
      ready <= 1'b0; taken_r <= 32'd0; frames_r <= 32'd0;
    end else begin
      ready <= !(pause_on && pause);
      if (valid && ready) begin
        entry = {OUT_W{1'b0}};
        entry[TDATA_AT +: DATA_W] = data;
        entry[TKEEP_AT +: KEEP_W] = keep;
        entry[TLAST_AT] = last;
        entry[CYCLE_AT +: 32] = cycle;
        mem[(taken_r - base) % DEPTH] <= entry;
        taken_r <= taken_r + 32'd1;
        if (last) frames_r <= frames_r + 32'd1;
      end
    end
  end
  assign taken = taken_r;
  assign frames = frames_r;
  assign frame_end = valid && ready && last;
  assign full = taken_r - drained_r >= HALF;
  assign half = HALF;
endmodule
