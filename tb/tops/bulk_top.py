"""The simulated top of bulk co-simulation: stimulus, results and analog answers in memories.

Driving a stream beat by beat from Python, or answering the analog port plane by plane,
costs a crossing between Verilator and Python for every few cycles of RTL work. Here the
simulated top holds ring buffers, each filled or emptied by the testbench half a ring at a
time through files, started by toggling a port (the parts are in :mod:`.bulk_rtl`):

- the input player drives ``s_axis_in`` from a ring of beats, as cocotbext-axi's
  AxiStreamSource would (a beat is loaded when the bus is free or its beat was taken, unless
  the input pause pattern says pause);
- the output recorder takes ``m_axis_out`` with TREADY from the output pause pattern, as
  AxiStreamSink would, and stores every beat with the cycle it was taken in;
- the analog queue answers every ``analog__sample`` with the codes the testbench computed
  ahead, and checks that the wordlines and ADC range select are the ones the answer assumed;
  it also checks the strobe lasts one cycle. A breach latches ``bulk__error`` with the plane,
  cycle and both patterns, and the testbench stops the run;
- for programming, a target player drives ``s_axis_target``, a result recorder takes
  ``m_axis_cell``, and the cell queue holds every verify read and pulse write-verify must
  make, checks each request as the tile makes it and answers the reads
  (``bulk__cell_error`` on the first difference).

With ``analog="emulator"`` the crossbar emulator answers the analog port in RTL instead
(:class:`EmulatedHost`), so no Python runs while a batch streams: the all-RTL ceiling of
co-simulation speed. There are no queues then; a level player writes the emulator's
cell levels through its ``l_stream``, one payload a cycle, from ``bulk_levels.bin`` on a
toggle of ``bulk__levels_load``, and raises ``bulk__levels_done`` after the last.

Pause patterns are per-cycle bits, indexed by the cycle count since reset modulo their
length, so the event-driven mode can replay the very same ones with the bus VIP.

Each ring has two halves, each with its own file in the simulator's working directory
(``bulk_<ring>_0.bin`` and ``_1.bin`` read with ``$fread``; ``bulk_<ring>_*.hex`` written
with ``$writememh``) and its own port whose every toggle reads or writes it; the pause
patterns are ``bulk_pauses_in.bits`` and ``bulk_pauses_out.bits``. The ring sizes are fixed
per build (:class:`Rings`).
"""

from cimtile.hdl.crossbar_emulator import load_layout

from ..build.build import verilog_ports
from .bulk_layout import RINGS, Layout, Rings
from .bulk_rtl import analog_queue, cell_queue, level_player, player, recorder
from .host_top import EMULATED_TOP, SIM_TOP, emulated_verilog, simulation_verilog
from .pauses import PATTERN_CYCLES

__all__ = ["BULK_TOP", "ANALOG", "LEVELS_FILE", "Rings", "RINGS", "bulk_verilog", "Layout",
           "level_entries"]

BULK_TOP = "cim_host_bulk"
#: What may answer the analog port of the bulk top.
ANALOG = ("queue", "emulator")
#: The level player's file, in the simulator's working directory.
LEVELS_FILE = "bulk_levels.bin"


def level_entries(cfg):
    """``(count, bits)`` of the level player's entries: one ``l_stream`` payload for each row
    and conversion (see :func:`cimtile.hdl.crossbar_emulator.load_layout`)."""
    return cfg.tile.rows * cfg.tile.cols_per_adc, load_layout(cfg).size


def _bulk_ports(queue, layout):
    """``(name, direction, range)`` of the bulk top's own ports, in declaration order."""
    def block(*ports):
        return [(f"bulk__{name}", direction, bits) for direction, bits, name in ports]

    def feed(p):
        return block(("input", w32, f"{p}_count"), ("input", "", f"{p}_load0"),
                     ("input", "", f"{p}_load1"), ("output", "", f"{p}_hungry"))

    def drain(p):
        return block(("input", w32, f"{p}_drained"), ("input", "", f"{p}_dump0"),
                     ("input", "", f"{p}_dump1"), ("output", "", f"{p}_full"),
                     ("output", w32, f"{p}_taken"), ("input", w32, f"{p}_base"))

    w32 = "[31:0]"
    rows, sw = layout.rows, layout.shift_width
    request = f"[{Layout.offsets(layout.cell_fields)[0]['code'][0] - 1}:0]"
    ports = feed("in") + block(("output", w32, "in_sent"), ("input", w32, "in_base"))
    if queue:
        ports += feed("analog") + block(("output", w32, "analog_used"),
                                        ("input", w32, "analog_base"),
                                        ("input", w32, "wl_fault_at"))
    ports += block(("output", w32, "first_sample_cycle")) + drain("out") + block(
        ("output", w32, "frames"), ("input", w32, "frames_expected"), ("output", "", "done"),
        ("input", w32, "budget"), ("output", "", "timeout"), ("input", "", "pauses_load"),
        ("input", "[1:0]", "pauses_on"))
    if queue:
        ports += block(("output", "", "error"), ("output", "[1:0]", "error_kind"),
                       ("output", w32, "error_plane"), ("output", w32, "error_cycle"),
                       ("output", f"[{rows - 1}:0]", "error_wl"),
                       ("output", f"[{rows - 1}:0]", "error_expected_wl"),
                       ("output", f"[{sw - 1}:0]", "error_shift"),
                       ("output", f"[{sw - 1}:0]", "error_expected_shift"))
        ports += feed("target") + block(("output", w32, "target_sent"),
                                        ("input", w32, "target_base"))
        ports += drain("result")
        ports += feed("cell") + block(
            ("output", w32, "cell_used"), ("input", w32, "cell_base"),
            ("output", "", "cell_error"), ("output", "[1:0]", "cell_error_kind"),
            ("output", w32, "cell_error_index"), ("output", w32, "cell_error_cycle"),
            ("output", request, "cell_error_seen"), ("output", request, "cell_error_expected"))
    else:
        ports += block(("input", "", "levels_load"), ("output", "", "levels_done"))
    halves = ["in", "analog", "out", "target", "cell", "result"] if queue else ["in", "out"]
    return ports + block(("output", w32, "cycle"),
                         *[("output", w32, f"{name}_half") for name in halves])


def _controls(queue):
    """Verilog registering the control inputs that logic reads combinationally."""
    names = ["in_count", "out_drained", "frames_expected", "budget"]
    if queue:
        names += ["analog_count", "analog_base", "target_count", "result_drained",
                  "cell_count", "cell_base"]
    assigns = [f"{name}_r <= bulk__{name};" for name in names]
    lines = ["    " + " ".join(assigns[i:i + 2]) for i in range(0, len(assigns), 2)]
    return "\n".join([
        "  // Control inputs, registered where logic would read them combinationally: Verilator",
        "  // re-evaluates logic fed straight from top-level inputs on every evaluation of the "
        "model.",
        f"  reg [31:0] {', '.join(f'{name}_r' for name in names)};",
        "  always @(posedge clk) begin",
        *lines,
        "  end",
    ])


def _stream(port, p):
    """Connections of AXI4-Stream `port` of the inner top to the wires ``{p}_*``."""
    return [f"    .{port}__t{field}({p}_{wire})" for field, wire in
            [("data", "data"), ("keep", "keep"), ("last", "last"), ("valid", "valid"),
             ("ready", "ready")]]


CELL_PORTS = {"read": "cell_read", "pulse": "cell_pulse", "polarity": "cell_polarity",
              "amplitude": "cell_amplitude", "width": "cell_width", "row": "cell_row",
              "col": "cell_col", "read_code": "read_code"}


def bulk_verilog(cfg, rings=RINGS, *, analog="queue"):
    """Verilog of the bulk top (module ``cim_host_bulk``) around the checked host top.

    Parameters
    ----------
    cfg : Config
    rings : Rings
        With the emulator, only ``in_half`` and ``out_half`` are used.
    analog : ``"queue"`` or ``"emulator"``
        What answers the analog port: the analog and cell queues, or the crossbar emulator
        of :class:`EmulatedHost`, whose levels the level player loads.

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
    inner_ports = {name for name, _, _ in verilog_ports(inner, inner_top)}
    streams = [("s_axis_in", "in"), ("m_axis_out", "out")]
    if queue:
        streams += [("s_axis_target", "target"), ("m_axis_cell", "result")]
        analog_wires = {"analog__codes": "codes", "analog__wl": "wl",
                        "analog__sample": "sample", "analog__adc_shift": "adc_shift"}
        analog_wires |= {f"analog__cell__{port}": wire for port, wire in CELL_PORTS.items()
                         if f"analog__cell__{port}" in inner_ports}
    else:
        analog_wires = {"l_stream__payload": "l_payload", "l_stream__valid": "l_valid",
                        "l_stream__ready": "l_ready", "sample": "sample"}
    connected = [line for port, p in streams for line in _stream(port, p)]
    connected += [f"    .{port}({wire})" for port, wire in analog_wires.items()]
    driven = {line.split("(")[0].strip()[1:] for line in connected}
    passed = [(name, direction, bits) for name, direction, bits in verilog_ports(inner, inner_top)
              if name not in driven]
    beat, beat_w = Layout.offsets(layout.beat_fields)
    out, out_w = Layout.offsets(layout.out_fields)
    d, k = layout.data_width, layout.keep_width
    declared = passed + _bulk_ports(queue, layout)
    declarations = [f"  {direction} {bits + ' ' if bits else ''}{name};"
                    for name, direction, bits in declared]
    connections = [f"    .{name}({name})" for name, _, _ in passed] + connected
    halves = {"in": rings.in_half, "out": rings.out_half}
    if queue:
        halves |= {"analog": rings.analog_half, "target": rings.target_half,
                   "cell": rings.cell_half, "result": rings.result_half}
    recorders = ["out", "result"] if queue else ["out"]
    parts = [player("in", rings.in_half, beat, beat_w, d, k),
             recorder("out", rings.out_half, out, out_w, d, k)]
    if queue:
        count, _ = level_entries(cfg)
        parts += [analog_queue(layout, rings.analog_half),
                  player("target", rings.target_half, beat, beat_w, d, k),
                  recorder("result", rings.result_half, out, out_w, d, k),
                  cell_queue(layout, rings.cell_half,
                             "analog__cell__row" in inner_ports,
                             "analog__cell__col" in inner_ports)]
    else:
        count, bits = level_entries(cfg)
        parts.append(level_player(count, bits, -(-bits // 8) * 8, LEVELS_FILE))
    frame_ends = " || ".join(f"({p}_valid && {p}_ready && {p}_last)" for p in recorders)
    body = f"""
  // Cycles since reset, as the testbench counts them from reset release: indexes the pause
  // patterns and stamps the output beats.
  // The first-sample stamp before any sample.
  localparam [31:0] NO_SAMPLE = 32'hFFFFFFFF;
  reg [31:0] cycle;
  always @(posedge clk) cycle <= rst ? 32'd0 : cycle + 32'd1;
  assign bulk__cycle = cycle;
  // The ring sizes of this build, for the testbench.
{chr(10).join(f"  assign bulk__{name}_half = 32'd{half};" for name, half in halves.items())}

{_controls(queue)}

  reg pause_in_mem [0:{PATTERN_CYCLES - 1}];
  reg pause_out_mem [0:{PATTERN_CYCLES - 1}];
  // Each block below also wakes at time 0, when no file exists yet.
  always @(bulk__pauses_load) if ($time > 0) begin
    $readmemb("bulk_pauses_in.bits", pause_in_mem);
    $readmemb("bulk_pauses_out.bits", pause_out_mem);
  end
{"".join(parts)}
  // Frames end on either recorder (one kind runs at a time); the budget counts the cycles
  // since the last frame ended.
  reg [31:0] since_frame;
  always @(posedge clk)
    if (rst || bulk__done || {frame_ends}) since_frame <= 32'd0;
    else since_frame <= since_frame + 32'd1;
  wire [31:0] frames = {" + ".join(f"{p}_frames" for p in recorders)};
  assign bulk__frames = frames;
  assign bulk__done = frames_expected_r != 32'd0 && frames >= frames_expected_r;
  assign bulk__timeout = budget_r != 32'd0 && since_frame >= budget_r;
"""
    return "\n".join([
        inner,
        f"module {BULK_TOP}({', '.join(name for name, _, _ in declared)});",
        *declarations,
        body,
        f"  {inner_top} {'checked' if queue else 'emulated'}(",
        ",\n".join(connections),
        "  );",
        "endmodule",
        "",
    ])
