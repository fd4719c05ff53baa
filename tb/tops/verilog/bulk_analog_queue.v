// The analog queue: answers to the tile's bit-plane requests, computed ahead by the
// testbench into a ring (bulk_ring, files NAME_*.bin; codes, wordlines and ADC range
// select at the given bit offsets), each checked against the request it answers. The
// first breach latches `error` with its kind (1 wordlines or range select differ, 2 the
// strobe lasted two cycles, 3 no answer left), plane, cycle and both requests.
// `wl_fault_at` is the check's self-test: at that plane (counted from reset) wordline 0 is
// flipped as the queue sees it, so the run must stop there.
module bulk_analog_queue #(
  parameter integer HALF = 1,
  parameter integer ROWS = 1,
  parameter integer SHIFT_W = 1,
  parameter integer CODES_W = 1,
  parameter integer ENTRY_W = 24,
  parameter integer CODES_AT = 0,
  parameter integer WL_AT = 8,
  parameter integer SHIFT_AT = 16,
  parameter NAME = "bulk_analog"
) (
  input wire clk,
  input wire rst,
  input wire [31:0] cycle,
  input wire [31:0] count,
  input wire [31:0] base,
  input wire load0,
  input wire load1,
  input wire [31:0] wl_fault_at,
  output wire [31:0] used,
  output wire hungry,
  output wire [31:0] half,
  output wire [31:0] first_sample_cycle,
  output reg error,
  output reg [1:0] error_kind,
  output reg [31:0] error_plane,
  output reg [31:0] error_cycle,
  output reg [ROWS-1:0] error_wl,
  output reg [ROWS-1:0] error_expected_wl,
  output reg [SHIFT_W-1:0] error_shift,
  output reg [SHIFT_W-1:0] error_expected_shift,
  input wire sample,
  input wire [ROWS-1:0] wl,
  input wire [SHIFT_W-1:0] adc_shift,
  output wire [CODES_W-1:0] codes
);
  // The first-sample stamp before any sample.
  localparam [31:0] NO_SAMPLE = 32'hFFFFFFFF;
  // Registered: see bulk_player.
  reg [31:0] count_r, base_r, wl_fault_at_r;
  always @(posedge clk) begin
    count_r <= count; base_r <= base; wl_fault_at_r <= wl_fault_at;
  end
  reg [31:0] ptr, first_sample;
  wire [ENTRY_W-1:0] answer;
  bulk_ring #(.WIDTH(ENTRY_W), .HALF(HALF), .NAME(NAME)) ring(
    .load0(load0), .load1(load1), .index(ptr - base_r), .entry(answer));
  localparam [ROWS-1:0] WL0 = 1;
  wire [ROWS-1:0] wl_seen = wl ^ ((ptr == wl_fault_at_r) ? WL0 : {ROWS{1'b0}});
  wire [ROWS-1:0] expected_wl = answer[WL_AT +: ROWS];
  wire [SHIFT_W-1:0] expected_shift = answer[SHIFT_AT +: SHIFT_W];
  reg [CODES_W-1:0] codes_held;
  assign codes = sample ? answer[CODES_AT +: CODES_W] : codes_held;
  reg sample_before;
  always @(posedge clk) begin
    if (rst) begin
      ptr <= 32'd0; sample_before <= 1'b0; error <= 1'b0; first_sample <= NO_SAMPLE;
    end else begin
      sample_before <= sample;
      if (sample) begin
        codes_held <= answer[CODES_AT +: CODES_W];
        ptr <= ptr + 32'd1;
        // The edge that raised the strobe, as the event-driven binding stamps it.
        if (ptr == 32'd0) first_sample <= cycle - 32'd1;
      end
      if (!error && sample) begin
        error_plane <= ptr; error_cycle <= cycle - 32'd1;
        error_wl <= wl_seen; error_expected_wl <= expected_wl;
        error_shift <= adc_shift; error_expected_shift <= expected_shift;
        if (sample_before) begin
          error <= 1'b1; error_kind <= 2'd2; error_plane <= ptr - 32'd1;
        end else if (ptr == count) begin
          error <= 1'b1; error_kind <= 2'd3;
        end else if (wl_seen != expected_wl || adc_shift != expected_shift) begin
          error <= 1'b1; error_kind <= 2'd1;
        end
      end
    end
  end
  assign used = ptr;
  assign hungry = count_r - ptr <= HALF;
  assign half = HALF;
  assign first_sample_cycle = first_sample;
endmodule
