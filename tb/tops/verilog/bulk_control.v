// The bulk top's common control: the cycle count, the pause patterns and the end of a run.
// `cycle` counts cycles since reset, as the testbench counts them from reset release: it
// indexes the pause patterns (PATTERN_CYCLES bits each, read from bulk_pauses_in.bits and
// bulk_pauses_out.bits on a toggle of `pauses_load`) and stamps the output beats.
// `pause_in` is the input pattern's bit of this cycle, `pause_out` the output pattern's
// of the cycle before. Frames end on either recorder (one kind runs at a time); the run is
// `done` once `frames_expected` frames have ended, and times out after `budget` cycles
// without a frame end (each 0: never).
module bulk_control #(
  parameter integer PATTERN_CYCLES = 4096
) (
  input wire clk,
  input wire rst,
  output wire [31:0] cycle,
  input wire pauses_load,
  output wire pause_in,
  output wire pause_out,
  input wire [31:0] out_frames,
  input wire out_frame_end,
  input wire [31:0] result_frames,
  input wire result_frame_end,
  input wire [31:0] frames_expected,
  input wire [31:0] budget,
  output wire [31:0] frames,
  output wire done,
  output wire timeout
);
  localparam [31:0] PERIOD = PATTERN_CYCLES;
  reg [31:0] cycle_r;
  always @(posedge clk) cycle_r <= rst ? 32'd0 : cycle_r + 32'd1;
  assign cycle = cycle_r;
  reg pause_in_mem [0:PATTERN_CYCLES-1];
  reg pause_out_mem [0:PATTERN_CYCLES-1];
  // Also wakes at time 0, when no file exists yet.
  always @(pauses_load) if ($time > 0) begin
    $readmemb("bulk_pauses_in.bits", pause_in_mem);
    $readmemb("bulk_pauses_out.bits", pause_out_mem);
  end
  assign pause_in = pause_in_mem[cycle_r % PERIOD];
  assign pause_out = pause_out_mem[(cycle_r - 32'd1) % PERIOD];
  // Registered: see bulk_player.
  reg [31:0] frames_expected_r, budget_r;
  always @(posedge clk) begin
    frames_expected_r <= frames_expected; budget_r <= budget;
  end
  reg [31:0] since_frame;
  always @(posedge clk)
    if (rst || done || out_frame_end || result_frame_end) since_frame <= 32'd0;
    else since_frame <= since_frame + 32'd1;
  assign frames = out_frames + result_frames;
  assign done = frames_expected_r != 32'd0 && frames >= frames_expected_r;
  assign timeout = budget_r != 32'd0 && since_frame >= budget_r;
endmodule
