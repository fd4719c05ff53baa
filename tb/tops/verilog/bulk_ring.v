// A ring of entries that the testbench fills a half at a time: every toggle of loadN
// reads half N (entries N * HALF ..) from the file NAME_N.bin in the simulator's working
// directory ($fread: one big-endian word per entry). Read combinationally at `index`.
module bulk_ring #(
  parameter integer WIDTH = 8,
  parameter integer HALF = 1,
  parameter NAME = "bulk_ring"
) (
  input wire load0,
  input wire load1,
  input wire [31:0] index,
  output wire [WIDTH-1:0] entry
);
  localparam [31:0] DEPTH = 2 * HALF;
  reg [WIDTH-1:0] mem [0:2*HALF-1];
  integer fd0, got0, fd1, got1;
  // Each block below also wakes at time 0, when no file exists yet.
  always @(load0) if ($time > 0) begin
    fd0 = $fopen({NAME, "_0.bin"}, "rb");
    if (fd0 == 0) $fatal(1, "bulk top: cannot open %s_0.bin", NAME);
    got0 = $fread(mem, fd0, 0, HALF);
    $fclose(fd0);
  end
  always @(load1) if ($time > 0) begin
    fd1 = $fopen({NAME, "_1.bin"}, "rb");
    if (fd1 == 0) $fatal(1, "bulk top: cannot open %s_1.bin", NAME);
    got1 = $fread(mem, fd1, HALF, HALF);
    $fclose(fd1);
  end
  assign entry = mem[index % DEPTH];
endmodule
