"""The simulated top of bulk co-simulation: stimulus, results and analog answers in memories.

Driving a stream beat by beat from Python, or answering the analog port plane by plane,
costs a crossing between Verilator and Python for every few cycles of RTL work. Here the
simulated top holds three ring buffers, each filled or emptied by the testbench half a ring
at a time through files (``$readmemh`` / ``$writememh``, started by toggling a port):

- the input player drives ``s_axis_in`` from a ring of beats, as cocotbext-axi's
  AxiStreamSource would (a beat is loaded when the bus is free or its beat was taken, unless
  the input pause pattern says pause);
- the output recorder takes ``m_axis_out`` with TREADY from the output pause pattern, as
  AxiStreamSink would, and stores every beat with the cycle it was taken in;
- the analog queue answers every ``analog__sample`` with the codes the testbench computed
  ahead, and checks that the wordlines and ADC range select are the ones the answer assumed;
  it also checks the strobe lasts one cycle. A breach latches ``bulk__error`` with the plane,
  cycle and both patterns, and the testbench stops the run.

Pause patterns are per-cycle bits, indexed by the cycle count since reset modulo their
length, so the event-driven mode can replay the very same ones with the bus VIP.

Each ring has two halves, each with its own file in the simulator's working directory
(``bulk_in_0.hex``, ``bulk_in_1.hex``, ``bulk_analog_*.hex``, ``bulk_out_*.hex``) and its own
port whose every toggle reads or writes it; the pause patterns are ``bulk_pauses_in.bits``
and ``bulk_pauses_out.bits``. The ring sizes are fixed per build (:class:`Rings`).
"""

from dataclasses import dataclass

from .host_top import SIM_TOP, simulation_verilog
from .pauses import PATTERN_CYCLES
from .build import _ports

__all__ = ["BULK_TOP", "Rings", "RINGS", "bulk_verilog", "Layout"]

BULK_TOP = "cim_host_bulk"


@dataclass(frozen=True)
class Rings:
    """Half sizes of the ring buffers, in entries.

    Members
    -------
    in_half : int
        Input beats per refill.
    analog_half : int
        Analog answers (bit planes) per refill.
    out_half : int
        Output beats per drain.
    """
    in_half: int = 4096
    analog_half: int = 1024
    out_half: int = 4096


RINGS = Rings()


def _bytes(bits):
    return -(-bits // 8) * 8


@dataclass(frozen=True)
class Layout:
    """Bit layout of the ring entries for a configuration; every field starts on a byte, so
    the testbench packs entries by concatenating bytes.

    Members
    -------
    data_width, keep_width : int
    rows, codes_width, shift_width : int
        Wordlines, packed codes of every physical column, ADC range select.
    """
    data_width: int
    keep_width: int
    rows: int
    codes_width: int
    shift_width: int

    @classmethod
    def of(cls, cfg):
        return cls(data_width=cfg.host.data_width, keep_width=cfg.host.data_width // 8,
                   rows=cfg.tile.rows, codes_width=cfg.cols_phys * cfg.tile.adc_bits,
                   shift_width=max(1, cfg.adc_shift_max.bit_length()))

    @property
    def beat_fields(self):
        """(name, width) of an input or output beat entry, low bits first."""
        return [("tdata", self.data_width), ("tkeep", self.keep_width), ("tlast", 1)]

    @property
    def out_fields(self):
        return self.beat_fields + [("cycle", 32)]

    @property
    def analog_fields(self):
        return [("codes", self.codes_width), ("wl", self.rows),
                ("adc_shift", self.shift_width)]

    @staticmethod
    def offsets(fields):
        """{name: (bit offset, width)} and the entry width, each field on a byte boundary."""
        offsets, at = {}, 0
        for name, width in fields:
            offsets[name] = (at, width)
            at += _bytes(width)
        return offsets, at


def _slice(offsets, name):
    at, width = offsets[name]
    return f"[{at + width - 1}:{at}]"


def _loads(memory, port, name, half):
    """Verilog reading each half of `memory` from its binary file (``$fread``: one
    big-endian word per entry) on every toggle of its port."""
    blocks = []
    for index in (0, 1):
        file = f"{name}_{index}.bin"
        fd, got = f"{memory}_fd{index}", f"{memory}_got{index}"
        blocks.append(f"""  integer {fd}, {got};
  always @({port}{index}) if ($time > 0) begin
    {fd} = $fopen("{file}", "rb");
    if ({fd} == 0) $fatal(1, "bulk top: cannot open {file}");
    {got} = $fread({memory}, {fd}, {index * half}, {half});
    $fclose({fd});
  end""")
    return "\n".join(blocks)


def bulk_verilog(cfg, rings=RINGS, *, wl_fault_at=None):
    """Verilog of the bulk top (module ``cim_host_bulk``) around the checked host top.

    Parameters
    ----------
    cfg : Config
    rings : Rings
    wl_fault_at : int, optional
        Self-test of the analog queue's check: flip wordline 0 as the queue sees it at this
        plane (counted from 0), so the run must stop there.
    """
    inner = simulation_verilog(cfg)
    layout = Layout.of(cfg)
    driven = {"s_axis_in__tdata", "s_axis_in__tkeep", "s_axis_in__tlast", "s_axis_in__tvalid",
              "s_axis_in__tready", "m_axis_out__tready", "m_axis_out__tdata",
              "m_axis_out__tkeep", "m_axis_out__tlast", "m_axis_out__tvalid",
              "analog__codes", "analog__wl", "analog__sample", "analog__adc_shift"}
    passed = [(name, direction, bits) for name, direction, bits in _ports(inner, SIM_TOP)
              if name not in driven]
    beat, beat_w = Layout.offsets(layout.beat_fields)
    out, out_w = Layout.offsets(layout.out_fields)
    an, an_w = Layout.offsets(layout.analog_fields)
    d, k, rows = layout.data_width, layout.keep_width, layout.rows
    fault = ("" if wl_fault_at is None
             else f" ^ ((an_ptr == 32'd{int(wl_fault_at)}) ? {rows}'d1 : {rows}'d0)")
    ports = [name for name, _, _ in passed] + [
        "bulk__in_count", "bulk__in_load0", "bulk__in_load1", "bulk__in_hungry",
        "bulk__in_sent", "bulk__in_base", "bulk__analog_count", "bulk__analog_load0", "bulk__analog_load1",
        "bulk__analog_hungry", "bulk__analog_used", "bulk__analog_base",
        "bulk__first_sample_cycle", "bulk__out_drained", "bulk__out_dump0", "bulk__out_dump1", "bulk__out_full",
        "bulk__out_taken", "bulk__out_base", "bulk__frames", "bulk__frames_expected", "bulk__done", "bulk__budget",
        "bulk__timeout", "bulk__pauses_load", "bulk__pauses_on",
        "bulk__error", "bulk__error_kind", "bulk__error_plane", "bulk__error_cycle",
        "bulk__error_wl", "bulk__error_expected_wl", "bulk__error_shift",
        "bulk__error_expected_shift", "bulk__cycle", "bulk__in_half", "bulk__analog_half",
        "bulk__out_half"]
    declarations = [f"  {direction} {bits + ' ' if bits else ''}{name};"
                    for name, direction, bits in passed]
    sw = layout.shift_width
    declarations += [
        "  input [31:0] bulk__in_count;", "  input bulk__in_load0;",
        "  input bulk__in_load1;", "  output bulk__in_hungry;",
        "  output [31:0] bulk__in_sent;", "  input [31:0] bulk__in_base;",
        "  input [31:0] bulk__analog_count;", "  input bulk__analog_load0;",
        "  input bulk__analog_load1;", "  output bulk__analog_hungry;",
        "  output [31:0] bulk__analog_used;", "  input [31:0] bulk__analog_base;", "  output [31:0] bulk__first_sample_cycle;",
        "  input [31:0] bulk__out_drained;", "  input bulk__out_dump0;",
        "  input bulk__out_dump1;", "  output bulk__out_full;",
        "  output [31:0] bulk__out_taken;", "  input [31:0] bulk__out_base;",
        "  output [31:0] bulk__frames;", "  input [31:0] bulk__frames_expected;",
        "  output bulk__done;", "  input [31:0] bulk__budget;", "  output bulk__timeout;",
        "  input bulk__pauses_load;", "  input [1:0] bulk__pauses_on;",
        "  output bulk__error;", "  output [1:0] bulk__error_kind;",
        "  output [31:0] bulk__error_plane;", "  output [31:0] bulk__error_cycle;",
        f"  output [{rows - 1}:0] bulk__error_wl;",
        f"  output [{rows - 1}:0] bulk__error_expected_wl;",
        f"  output [{sw - 1}:0] bulk__error_shift;",
        f"  output [{sw - 1}:0] bulk__error_expected_shift;",
        "  output [31:0] bulk__cycle;",
        "  output [31:0] bulk__in_half;", "  output [31:0] bulk__analog_half;",
        "  output [31:0] bulk__out_half;",
    ]
    connections = [f"    .{name}({name})" for name, _, _ in passed] + [
        "    .s_axis_in__tdata(in_data)", "    .s_axis_in__tkeep(in_keep)",
        "    .s_axis_in__tlast(in_last)", "    .s_axis_in__tvalid(in_valid)",
        "    .s_axis_in__tready(in_ready)", "    .m_axis_out__tready(out_ready)",
        "    .m_axis_out__tdata(out_data)", "    .m_axis_out__tkeep(out_keep)",
        "    .m_axis_out__tlast(out_last)", "    .m_axis_out__tvalid(out_valid)",
        "    .analog__codes(codes)", "    .analog__wl(wl)", "    .analog__sample(sample)",
        "    .analog__adc_shift(adc_shift)",
    ]
    body = f"""
  // Cycles since reset, as the testbench counts them from reset release: indexes the pause
  // patterns and stamps the output beats.
  reg [31:0] cycle;
  always @(posedge clk) cycle <= rst ? 32'd0 : cycle + 32'd1;
  assign bulk__cycle = cycle;
  // The ring sizes of this build, for the testbench.
  assign bulk__in_half = 32'd{rings.in_half};
  assign bulk__analog_half = 32'd{rings.analog_half};
  assign bulk__out_half = 32'd{rings.out_half};

  // Control inputs, registered where logic would read them combinationally: Verilator
  // re-evaluates logic fed straight from top-level inputs on every evaluation of the model.
  reg [31:0] in_count_r, analog_count_r, analog_base_r, out_drained_r, frames_expected_r;
  reg [31:0] budget_r;
  always @(posedge clk) begin
    in_count_r <= bulk__in_count; analog_count_r <= bulk__analog_count;
    analog_base_r <= bulk__analog_base; out_drained_r <= bulk__out_drained;
    frames_expected_r <= bulk__frames_expected; budget_r <= bulk__budget;
  end

  reg pause_in_mem [0:{PATTERN_CYCLES - 1}];
  reg pause_out_mem [0:{PATTERN_CYCLES - 1}];
  // Each block below also wakes at time 0, when no file exists yet.
  always @(bulk__pauses_load) if ($time > 0) begin
    $readmemb("bulk_pauses_in.bits", pause_in_mem);
    $readmemb("bulk_pauses_out.bits", pause_out_mem);
  end

  // Input player, as AxiStreamSource: a new beat when the bus is free or its beat is taken,
  // unless this cycle's pause bit is set.
  reg [{beat_w - 1}:0] in_mem [0:{2 * rings.in_half - 1}];
{_loads("in_mem", "bulk__in_load", "bulk_in", rings.in_half)}
  reg [31:0] in_sent;
  reg in_valid, in_last;
  reg [{d - 1}:0] in_data;
  reg [{k - 1}:0] in_keep;
  reg [{beat_w - 1}:0] in_next;
  wire in_ready;
  always @(posedge clk) begin
    if (rst) begin
      in_sent <= 32'd0; in_valid <= 1'b0; in_last <= 1'b0;
    end else if (!in_valid || in_ready) begin
      if (in_sent != bulk__in_count
          && !(bulk__pauses_on[0] && pause_in_mem[cycle % 32'd{PATTERN_CYCLES}])) begin
        in_next = in_mem[(in_sent - bulk__in_base) % 32'd{2 * rings.in_half}];
        in_data <= in_next{_slice(beat, "tdata")};
        in_keep <= in_next{_slice(beat, "tkeep")};
        in_last <= in_next{_slice(beat, "tlast")};
        in_valid <= 1'b1;
        in_sent <= in_sent + 32'd1;
      end else begin
        in_valid <= 1'b0; in_last <= 1'b0;
      end
    end
  end
  assign bulk__in_sent = in_sent;
  assign bulk__in_hungry = in_count_r - in_sent <= 32'd{rings.in_half};

  // Output recorder, as AxiStreamSink: TREADY from the pause bit of the cycle before.
  reg [{out_w - 1}:0] out_mem [0:{2 * rings.out_half - 1}];
  always @(bulk__out_dump0) if ($time > 0) $writememh("bulk_out_0.hex", out_mem, 0, {rings.out_half - 1});
  always @(bulk__out_dump1) if ($time > 0)
    $writememh("bulk_out_1.hex", out_mem, {rings.out_half}, {2 * rings.out_half - 1});
  reg out_ready;
  wire out_valid, out_last;
  wire [{d - 1}:0] out_data;
  wire [{k - 1}:0] out_keep;
  reg [31:0] out_taken, frames, since_frame;
  reg [{out_w - 1}:0] out_entry;
  always @(posedge clk) begin
    if (rst) begin
      out_ready <= 1'b0; out_taken <= 32'd0; frames <= 32'd0; since_frame <= 32'd0;
    end else begin
      out_ready <= !(bulk__pauses_on[1]
                     && pause_out_mem[(cycle - 32'd1) % 32'd{PATTERN_CYCLES}]);
      since_frame <= bulk__done ? 32'd0 : since_frame + 32'd1;
      if (out_valid && out_ready) begin
        out_entry = {out_w}'d0;
        out_entry{_slice(out, "tdata")} = out_data;
        out_entry{_slice(out, "tkeep")} = out_keep;
        out_entry{_slice(out, "tlast")} = out_last;
        out_entry{_slice(out, "cycle")} = cycle;
        out_mem[(out_taken - bulk__out_base) % 32'd{2 * rings.out_half}] <= out_entry;
        out_taken <= out_taken + 32'd1;
        if (out_last) begin
          frames <= frames + 32'd1; since_frame <= 32'd0;
        end
      end
    end
  end
  assign bulk__out_taken = out_taken;
  assign bulk__frames = frames;
  assign bulk__out_full = out_taken - out_drained_r >= 32'd{rings.out_half};
  assign bulk__done = frames_expected_r != 32'd0 && frames >= frames_expected_r;
  assign bulk__timeout = budget_r != 32'd0 && since_frame >= budget_r;

  // Analog queue: answers computed ahead, each checked against the request it answers.
  reg [{an_w - 1}:0] an_mem [0:{2 * rings.analog_half - 1}];
{_loads("an_mem", "bulk__analog_load", "bulk_analog", rings.analog_half)}
  reg [31:0] an_ptr, first_sample;
  wire [{an_w - 1}:0] answer = an_mem[(an_ptr - analog_base_r) % 32'd{2 * rings.analog_half}];
  wire sample;
  wire [{rows - 1}:0] wl;
  wire [{rows - 1}:0] wl_seen = wl{fault};
  wire [{sw - 1}:0] adc_shift;
  reg [{layout.codes_width - 1}:0] codes_held;
  wire [{layout.codes_width - 1}:0] codes = sample ? answer{_slice(an, "codes")} : codes_held;
  reg sample_before;
  reg error;
  reg [1:0] error_kind;
  reg [31:0] error_plane, error_cycle;
  reg [{rows - 1}:0] error_wl, error_expected_wl;
  reg [{sw - 1}:0] error_shift, error_expected_shift;
  always @(posedge clk) begin
    if (rst) begin
      an_ptr <= 32'd0; sample_before <= 1'b0; error <= 1'b0; first_sample <= 32'd0;
    end else begin
      sample_before <= sample;
      if (sample) begin
        codes_held <= answer{_slice(an, "codes")};
        an_ptr <= an_ptr + 32'd1;
        // The edge that raised the strobe, as the event-driven binding stamps it.
        if (an_ptr == 32'd0) first_sample <= cycle - 32'd1;
      end
      if (!error && sample) begin
        error_plane <= an_ptr; error_cycle <= cycle - 32'd1;
        error_wl <= wl_seen; error_expected_wl <= answer{_slice(an, "wl")};
        error_shift <= adc_shift; error_expected_shift <= answer{_slice(an, "adc_shift")};
        if (sample_before) begin
          error <= 1'b1; error_kind <= 2'd2; error_plane <= an_ptr - 32'd1;
        end else if (an_ptr == bulk__analog_count) begin
          error <= 1'b1; error_kind <= 2'd3;
        end else if (wl_seen != answer{_slice(an, "wl")}
                     || adc_shift != answer{_slice(an, "adc_shift")}) begin
          error <= 1'b1; error_kind <= 2'd1;
        end
      end
    end
  end
  assign bulk__analog_used = an_ptr;
  assign bulk__analog_hungry = analog_count_r - an_ptr <= 32'd{rings.analog_half};
  assign bulk__first_sample_cycle = first_sample;
  assign bulk__error = error;
  assign bulk__error_kind = error_kind;
  assign bulk__error_plane = error_plane;
  assign bulk__error_cycle = error_cycle;
  assign bulk__error_wl = error_wl;
  assign bulk__error_expected_wl = error_expected_wl;
  assign bulk__error_shift = error_shift;
  assign bulk__error_expected_shift = error_expected_shift;
"""
    return "\n".join([
        inner,
        f"module {BULK_TOP}({', '.join(ports)});",
        *declarations,
        body,
        f"  {SIM_TOP} checked(",
        ",\n".join(connections),
        "  );",
        "endmodule",
        "",
    ])
