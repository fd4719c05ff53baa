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

With ``analog="emulator"`` the crossbar emulator answers the analog port in RTL instead
(:class:`EmulatedHost`), so no Python runs while a batch streams: the all-RTL ceiling of
co-simulation speed. There is no analog queue then; a level player writes the emulator's
cell levels through its ``l_stream``, one payload a cycle, from ``bulk_levels.bin`` on a
toggle of ``bulk__levels_load``, and raises ``bulk__levels_done`` after the last.

Pause patterns are per-cycle bits, indexed by the cycle count since reset modulo their
length, so the event-driven mode can replay the very same ones with the bus VIP.

Each ring has two halves, each with its own file in the simulator's working directory
(``bulk_in_0.bin``, ``bulk_in_1.bin``, ``bulk_analog_*.bin`` read with ``$fread``;
``bulk_out_*.hex`` written with ``$writememh``) and its own port whose every toggle reads or
writes it; the pause patterns are ``bulk_pauses_in.bits``
and ``bulk_pauses_out.bits``. The ring sizes are fixed per build (:class:`Rings`).
"""

from dataclasses import dataclass

from cimtile.hdl.crossbar_emulator import load_layout

from .build import _ports
from .host_top import EMULATED_TOP, SIM_TOP, emulated_verilog, simulation_verilog
from .pauses import PATTERN_CYCLES

__all__ = ["BULK_TOP", "ANALOG", "LEVELS_FILE", "Rings", "RINGS", "bulk_verilog", "Layout",
           "level_entries"]

BULK_TOP = "cim_host_bulk"
#: What may answer the analog port of the bulk top.
ANALOG = ("queue", "emulator")
#: The level player's file, in the simulator's working directory.
LEVELS_FILE = "bulk_levels.bin"


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


def level_entries(cfg):
    """``(count, bits)`` of the level player's entries: one ``l_stream`` payload for each row
    and conversion (see :func:`cimtile.hdl.crossbar_emulator.load_layout`)."""
    return cfg.tile.rows * cfg.tile.cols_per_adc, load_layout(cfg).size


def _bulk_ports(queue, rows, shift_width):
    """``(name, direction, range)`` of the bulk top's own ports, in declaration order."""
    def block(*ports):
        return [(f"bulk__{name}", direction, bits) for direction, bits, name in ports]
    w32 = "[31:0]"
    ports = block(("input", w32, "in_count"), ("input", "", "in_load0"),
                  ("input", "", "in_load1"), ("output", "", "in_hungry"),
                  ("output", w32, "in_sent"), ("input", w32, "in_base"))
    if queue:
        ports += block(("input", w32, "analog_count"), ("input", "", "analog_load0"),
                       ("input", "", "analog_load1"), ("output", "", "analog_hungry"),
                       ("output", w32, "analog_used"), ("input", w32, "analog_base"),
                       ("input", w32, "wl_fault_at"))
    ports += block(("output", w32, "first_sample_cycle"), ("input", w32, "out_drained"),
                   ("input", "", "out_dump0"), ("input", "", "out_dump1"),
                   ("output", "", "out_full"), ("output", w32, "out_taken"),
                   ("input", w32, "out_base"), ("output", w32, "frames"),
                   ("input", w32, "frames_expected"), ("output", "", "done"),
                   ("input", w32, "budget"), ("output", "", "timeout"),
                   ("input", "", "pauses_load"), ("input", "[1:0]", "pauses_on"))
    if queue:
        ports += block(("output", "", "error"), ("output", "[1:0]", "error_kind"),
                       ("output", w32, "error_plane"), ("output", w32, "error_cycle"),
                       ("output", f"[{rows - 1}:0]", "error_wl"),
                       ("output", f"[{rows - 1}:0]", "error_expected_wl"),
                       ("output", f"[{shift_width - 1}:0]", "error_shift"),
                       ("output", f"[{shift_width - 1}:0]", "error_expected_shift"))
    else:
        ports += block(("input", "", "levels_load"), ("output", "", "levels_done"))
    ports += block(("output", w32, "cycle"), ("output", w32, "in_half"))
    if queue:
        ports += block(("output", w32, "analog_half"))
    return ports + block(("output", w32, "out_half"))


def _controls(queue):
    """Verilog registering the control inputs that logic reads combinationally."""
    names = ["in_count", *(["analog_count", "analog_base"] if queue else []), "out_drained",
             "frames_expected"]
    assigns = [f"{name}_r <= bulk__{name};" for name in names + ["budget"]]
    lines = ["    " + " ".join(assigns[i:i + 2]) for i in range(0, len(assigns), 2)]
    return "\n".join([
        "  // Control inputs, registered where logic would read them combinationally: Verilator",
        "  // re-evaluates logic fed straight from top-level inputs on every evaluation of the "
        "model.",
        f"  reg [31:0] {', '.join(f'{name}_r' for name in names)};",
        "  reg [31:0] budget_r;",
        "  always @(posedge clk) begin",
        *lines,
        "  end",
    ])


def bulk_verilog(cfg, rings=RINGS, *, analog="queue"):
    """Verilog of the bulk top (module ``cim_host_bulk``) around the checked host top.

    Parameters
    ----------
    cfg : Config
    rings : Rings
        With the emulator, ``analog_half`` is unused.
    analog : ``"queue"`` or ``"emulator"``
        What answers the analog port: the analog queue, or the crossbar emulator of
        :class:`EmulatedHost`, whose levels the level player loads.

    Raises
    ------
    ValueError
        If `analog` is neither.
    """
    if analog not in ANALOG:
        raise ValueError(f"analog must be one of {', '.join(ANALOG)}, not {analog!r}")
    queue = analog == "queue"
    inner, inner_top = ((simulation_verilog(cfg), SIM_TOP) if queue
                        else (emulated_verilog(cfg), EMULATED_TOP))
    layout = Layout.of(cfg)
    driven = {"s_axis_in__tdata", "s_axis_in__tkeep", "s_axis_in__tlast", "s_axis_in__tvalid",
              "s_axis_in__tready", "m_axis_out__tready", "m_axis_out__tdata",
              "m_axis_out__tkeep", "m_axis_out__tlast", "m_axis_out__tvalid"}
    driven |= ({"analog__codes", "analog__wl", "analog__sample", "analog__adc_shift"} if queue
               else {"l_stream__payload", "l_stream__valid", "l_stream__ready", "sample"})
    passed = [(name, direction, bits) for name, direction, bits in _ports(inner, inner_top)
              if name not in driven]
    beat, beat_w = Layout.offsets(layout.beat_fields)
    out, out_w = Layout.offsets(layout.out_fields)
    d, k = layout.data_width, layout.keep_width
    declared = passed + _bulk_ports(queue, layout.rows, layout.shift_width)
    declarations = [f"  {direction} {bits + ' ' if bits else ''}{name};"
                    for name, direction, bits in declared]
    connections = [f"    .{name}({name})" for name, _, _ in passed] + [
        "    .s_axis_in__tdata(in_data)", "    .s_axis_in__tkeep(in_keep)",
        "    .s_axis_in__tlast(in_last)", "    .s_axis_in__tvalid(in_valid)",
        "    .s_axis_in__tready(in_ready)", "    .m_axis_out__tready(out_ready)",
        "    .m_axis_out__tdata(out_data)", "    .m_axis_out__tkeep(out_keep)",
        "    .m_axis_out__tlast(out_last)", "    .m_axis_out__tvalid(out_valid)",
    ] + ([
        "    .analog__codes(codes)", "    .analog__wl(wl)", "    .analog__sample(sample)",
        "    .analog__adc_shift(adc_shift)",
    ] if queue else [
        "    .l_stream__payload(l_payload)", "    .l_stream__valid(l_valid)",
        "    .l_stream__ready(l_ready)", "    .sample(sample)",
    ])
    analog_half = f"\n  assign bulk__analog_half = 32'd{rings.analog_half};" if queue else ""
    body = f"""
  // Cycles since reset, as the testbench counts them from reset release: indexes the pause
  // patterns and stamps the output beats.
  // The first-sample stamp before any sample.
  localparam [31:0] NO_SAMPLE = 32'hFFFFFFFF;
  reg [31:0] cycle;
  always @(posedge clk) cycle <= rst ? 32'd0 : cycle + 32'd1;
  assign bulk__cycle = cycle;
  // The ring sizes of this build, for the testbench.
  assign bulk__in_half = 32'd{rings.in_half};{analog_half}
  assign bulk__out_half = 32'd{rings.out_half};

{_controls(queue)}

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
"""
    return "\n".join([
        inner,
        f"module {BULK_TOP}({', '.join(name for name, _, _ in declared)});",
        *declarations,
        body + (_analog_queue(layout, rings) if queue else _level_player(cfg)),
        f"  {inner_top} {'checked' if queue else 'emulated'}(",
        ",\n".join(connections),
        "  );",
        "endmodule",
        "",
    ])


def _analog_queue(layout, rings):
    """Verilog of the analog queue: answers computed ahead, each checked against the request
    it answers. ``bulk__wl_fault_at`` is the check's self-test: at that plane (counted from
    reset) wordline 0 is flipped as the queue sees it, so the run must stop there."""
    an, an_w = Layout.offsets(layout.analog_fields)
    rows, sw = layout.rows, layout.shift_width
    return f"""
  // Analog queue: answers computed ahead, each checked against the request it answers.
  reg [{an_w - 1}:0] an_mem [0:{2 * rings.analog_half - 1}];
{_loads("an_mem", "bulk__analog_load", "bulk_analog", rings.analog_half)}
  reg [31:0] an_ptr, first_sample;
  wire [{an_w - 1}:0] answer = an_mem[(an_ptr - analog_base_r) % 32'd{2 * rings.analog_half}];
  wire sample;
  wire [{rows - 1}:0] wl;
  reg [31:0] wl_fault_at_r;
  always @(posedge clk) wl_fault_at_r <= bulk__wl_fault_at;
  wire [{rows - 1}:0] wl_seen = wl ^ ((an_ptr == wl_fault_at_r) ? {rows}'d1 : {rows}'d0);
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
      an_ptr <= 32'd0; sample_before <= 1'b0; error <= 1'b0; first_sample <= NO_SAMPLE;
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


def _level_player(cfg):
    """Verilog of the level player, which loads the crossbar emulator, and the stamp of the
    first analog request."""
    count, bits = level_entries(cfg)
    return f"""
  // Level player: on a toggle of bulk__levels_load, every payload of {LEVELS_FILE} into the
  // emulator's l_stream, one a transfer; bulk__levels_done rises after the last.
  reg [{_bytes(bits) - 1}:0] lv_mem [0:{count - 1}];
  integer lv_fd, lv_got;
  always @(bulk__levels_load) if ($time > 0) begin
    lv_fd = $fopen("{LEVELS_FILE}", "rb");
    if (lv_fd == 0) $fatal(1, "bulk top: cannot open {LEVELS_FILE}");
    lv_got = $fread(lv_mem, lv_fd, 0, {count});
    $fclose(lv_fd);
  end
  reg lv_toggle, lv_playing, lv_done, l_valid;
  reg [31:0] lv_ptr;
  reg [{_bytes(bits) - 1}:0] lv_next;
  reg [{bits - 1}:0] l_payload;
  wire l_ready;
  always @(posedge clk) begin
    lv_toggle <= bulk__levels_load;
    if (rst) begin
      lv_playing <= 1'b0; lv_done <= 1'b0; l_valid <= 1'b0;
    end else if (lv_toggle != bulk__levels_load) begin
      lv_playing <= 1'b1; lv_done <= 1'b0; lv_ptr <= 32'd0;
    end else if (lv_playing && (!l_valid || l_ready)) begin
      if (lv_ptr != 32'd{count}) begin
        lv_next = lv_mem[lv_ptr];
        l_payload <= lv_next[{bits - 1}:0];
        l_valid <= 1'b1;
        lv_ptr <= lv_ptr + 32'd1;
      end else begin
        l_valid <= 1'b0; lv_playing <= 1'b0; lv_done <= 1'b1;
      end
    end
  end
  assign bulk__levels_done = lv_done;

  // The first analog request, stamped as the analog queue stamps it.
  wire sample;
  reg sampled;
  reg [31:0] first_sample;
  always @(posedge clk) begin
    if (rst) begin
      sampled <= 1'b0; first_sample <= NO_SAMPLE;
    end else if (sample && !sampled) begin
      sampled <= 1'b1; first_sample <= cycle - 32'd1;
    end
  end
  assign bulk__first_sample_cycle = first_sample;
"""
