// The cell queue: the verify reads and pulses of write-verify, computed ahead with their
// read answers into a ring (bulk_ring, files NAME_*.bin; each entry a request, flags, row,
// column, amplitude and width at the given bit offsets, then the code that answers a
// read). Each read or pulse the tile issues is checked against the next entry (kind, cell,
// and for a pulse its polarity, amplitude and width); a read is answered with the entry's
// code, held until the next read. The first breach latches `error` with its kind (1 the
// request differs, 2 no entry left), the entry, its cycle and both requests.
module bulk_cell_queue #(
  parameter integer HALF = 1,
  parameter integer ENTRY_W = 64,
  parameter integer REQUEST_W = 56,
  parameter integer ROW_W = 1,
  parameter integer COL_W = 1,
  parameter integer AMPLITUDE_W = 8,
  parameter integer WIDTH_W = 16,
  parameter integer ADC_BITS = 1,
  parameter integer FLAGS_AT = 0,
  parameter integer ROW_AT = 8,
  parameter integer COL_AT = 16,
  parameter integer AMPLITUDE_AT = 24,
  parameter integer WIDTH_AT = 32,
  parameter integer CODE_AT = 56,
  parameter NAME = "bulk_cell"
) (
  input wire clk,
  input wire rst,
  input wire [31:0] cycle,
  input wire [31:0] count,
  input wire [31:0] base,
  input wire load0,
  input wire load1,
  output wire [31:0] used,
  output wire hungry,
  output wire [31:0] half,
  output reg error,
  output reg [1:0] error_kind,
  output reg [31:0] error_index,
  output reg [31:0] error_cycle,
  output reg [REQUEST_W-1:0] error_seen,
  output reg [REQUEST_W-1:0] error_expected,
  input wire read,
  input wire pulse,
  input wire polarity,
  input wire [AMPLITUDE_W-1:0] amplitude,
  input wire [WIDTH_W-1:0] width,
  input wire [ROW_W-1:0] row,
  input wire [COL_W-1:0] col,
  output wire [ADC_BITS-1:0] read_code
);
  // Registered: see bulk_player.
  reg [31:0] count_r, base_r;
  always @(posedge clk) begin
    count_r <= count; base_r <= base;
  end
  reg [31:0] ptr;
  wire [ENTRY_W-1:0] entry;
  bulk_ring #(.WIDTH(ENTRY_W), .HALF(HALF), .NAME(NAME)) ring(
    .load0(load0), .load1(load1), .index(ptr - base_r), .entry(entry));
  reg [REQUEST_W-1:0] seen;
  always @* begin
    seen = {REQUEST_W{1'b0}};
    seen[FLAGS_AT +: 3] = {pulse & polarity, pulse, read};
    seen[ROW_AT +: ROW_W] = row;
    seen[COL_AT +: COL_W] = col;
    if (pulse) begin
      seen[AMPLITUDE_AT +: AMPLITUDE_W] = amplitude;
      seen[WIDTH_AT +: WIDTH_W] = width;
    end
  end
  reg [ADC_BITS-1:0] read_code_held;
  assign read_code = read ? entry[CODE_AT +: ADC_BITS] : read_code_held;
  always @(posedge clk) begin
    if (rst) begin
      ptr <= 32'd0; error <= 1'b0; read_code_held <= {ADC_BITS{1'b0}};
    end else if (read || pulse) begin
      if (read) read_code_held <= entry[CODE_AT +: ADC_BITS];
      ptr <= ptr + 32'd1;
      if (!error) begin
        error_index <= ptr; error_cycle <= cycle - 32'd1;
        error_seen <= seen; error_expected <= entry[REQUEST_W-1:0];
        if (ptr == count_r) begin
          error <= 1'b1; error_kind <= 2'd2;
        end else if (seen != entry[REQUEST_W-1:0]) begin
          error <= 1'b1; error_kind <= 2'd1;
        end
      end
    end
  end
  assign used = ptr;
  assign hungry = count_r - ptr <= HALF;
  assign half = HALF;
endmodule
