"""The simulated top of bulk co-simulation: stimulus, results and analog answers in memories.

Driving a stream beat by beat from Python, or answering the analog port plane by plane,
costs a crossing between Verilator and Python for every few cycles of RTL work. Here the
simulated top holds ring buffers, each filled or emptied by the testbench half a ring at a
time through files, started by toggling a port. Its parts are committed Verilog modules
with parameters (``verilog/bulk_*.v``, :data:`BULK_FILES`):

- the input player (``bulk_player``) drives ``s_axis_in`` from a ring of beats, as
  cocotbext-axi's AxiStreamSource would (a beat is loaded when the bus is free or its beat
  was taken, unless the input pause pattern says pause);
- the output recorder (``bulk_recorder``) takes ``m_axis_out`` with TREADY from the output
  pause pattern, as AxiStreamSink would, and stores every beat with the cycle it was taken in;
- the analog queue (``bulk_analog_queue``) answers every ``analog__sample`` with the codes
  the testbench computed ahead, and checks that the wordlines and ADC range select are the
  ones the answer assumed; it also checks the strobe lasts one cycle. A breach latches
  ``bulk__error`` with the plane, cycle and both patterns, and the testbench stops the run;
- for programming, a target player drives ``s_axis_target``, a result recorder takes
  ``m_axis_cell``, and the cell queue (``bulk_cell_queue``) holds every verify read and
  pulse write-verify must make, checks each request as the tile makes it and answers the
  reads (``bulk__cell_error`` on the first difference);
- ``bulk_control`` counts cycles, holds the pause patterns and ends the run.

With ``analog="emulator"`` the crossbar emulator answers the analog port in RTL instead
(:class:`EmulatedHost`), so no Python runs while a batch streams: the all-RTL ceiling of
co-simulation speed. There are no queues then; a level player (``bulk_level_player``)
writes the emulator's cell levels through its ``l_stream``, one payload a cycle, from
``bulk_levels.bin`` on a toggle of ``bulk__levels_load``, and raises ``bulk__levels_done``
after the last.

One output, ``bulk__attention``, says when the testbench has work: a batch done or timed
out, an error (the queues' checks, an AXI protocol violation), a recorder's half full, or a
ring hungry whose bit of ``bulk__want`` the testbench set (it clears it once it has no more
entries for that ring, in the order of :data:`FEEDS`). While the testbench waits for it and
nothing else, it raises ``bulk__free_run``, and the simulator's main clocks the model with
no callback into Python until attention rises (``cimtile/tb/build/cosim_main.cpp``).

Pause patterns are per-cycle bits, indexed by the cycle count since reset modulo their
length, so the event-driven mode can replay the very same ones with the bus VIP.

Each ring has two halves, each with its own file in the simulator's working directory
(``bulk_<ring>_0.bin`` and ``_1.bin`` read with ``$fread``; ``bulk_<ring>_*.hex`` written
with ``$writememh``) and its own port whose every toggle reads or writes it; the pause
patterns are ``bulk_pauses_in.bits`` and ``bulk_pauses_out.bits``. The ring sizes are fixed
per build (:class:`Rings`).

The module ``cim_host_bulk`` itself is built from data (:func:`bulk_verilog`): one instance
of a part per stream and queue, with parameter values from the configuration's
:class:`Layout` and the rings, and the checked host top instantiated by its module name, so
its Verilog is a source of its own beside the bulk top's (:func:`bulk_design`).
"""

import functools
from dataclasses import dataclass
from pathlib import Path

from cimtile.hdl.crossbar_emulator import load_layout

from ..build.sim_top import Design, Port, signature_ports
from .bulk_layout import RINGS, Layout, Rings
from .host_top import (EMULATED_TOP, SIM_TOP, EmulatedHost, checked_ports,
                       emulated_verilog, simulation_verilog)
from .pauses import PATTERN_CYCLES

__all__ = ["Part", "instance_text", "module_text", "BULK_TOP", "FEEDS", "ATTENTION", "ANALOG", "LEVELS_FILE", "BULK_FILES", "Rings", "RINGS", "Layout",
           "bulk_verilog", "bulk_ports", "bulk_design", "EMULATED_BULK", "level_entries"]

BULK_TOP = "cim_host_bulk"
#: The rings the testbench feeds, in the order of their bits in ``bulk__want``.
FEEDS = ("in", "analog", "target", "cell")
#: The attention output and the free-run input (see :class:`~..build.sim_top.Design`).
ATTENTION = ("bulk__attention", "bulk__free_run")
#: What may answer the analog port of the bulk top.
ANALOG = ("queue", "emulator")
#: The level player's file, in the simulator's working directory.
LEVELS_FILE = "bulk_levels.bin"
#: The committed Verilog modules the bulk top instantiates.
BULK_FILES = tuple(sorted(Path(__file__).with_name("verilog").glob("bulk_*.v")))


def level_entries(cfg):
    """``(count, bits)`` of the level player's entries: one ``l_stream`` payload for each row
    and conversion (see :func:`cimtile.hdl.crossbar_emulator.load_layout`)."""
    return cfg.tile.rows * cfg.tile.cols_per_adc, load_layout(cfg).size


@dataclass(frozen=True)
class Part:
    """One instance in a simulated top: `pins` connect its ports to nets, `own` its ports
    that are the top's ports (port -> :class:`Port` of the top)."""
    module: str
    name: str
    parameters: dict
    pins: dict
    own: dict

    def connections(self):
        return self.pins | {port: top.name for port, top in self.own.items()}


def _own(prefix, *ports):
    """Ports ``(port, direction, width)`` of a part on bulk top ports
    ``bulk__<prefix><port>``."""
    return {port: Port(f"bulk__{prefix}{port}", direction, width)
            for port, direction, width in ports}


#: The ports through which the testbench feeds a part's ring.
_RING_IN = (("count", "input", 32), ("base", "input", 32), ("load0", "input", 1),
            ("load1", "input", 1), ("hungry", "output", 1), ("half", "output", 32))
_PLAYED = ("data", "keep", "last", "valid", "ready")
#: Nets between the parts (and their widths), where a part uses them.
_NETS = {"pause_in": 1, "pause_out": 1, "out_frames": 32, "out_frame_end": 1,
         "result_frames": 32, "result_frame_end": 1}


def _beat_parameters(fields):
    """The width of a beat entry of `fields` and its fields' offsets (``TDATA_AT`` ...)."""
    offsets, width = Layout.offsets(fields)
    return width, {f"{name.upper()}_AT": at for name, (at, _) in offsets.items()}


def _player(p, stream, half, layout):
    width, offsets = _beat_parameters(layout.beat_fields)
    return Part("bulk_player", f"{p}_player",
                 {"HALF": half, "DATA_W": layout.data_width, "KEEP_W": layout.keep_width,
                  "BEAT_W": width, **offsets, "NAME": f"bulk_{p}"},
                 {"clk": "clk", "rst": "rst", "pause_on": "bulk__pauses_on[0]",
                  "pause": "pause_in"} | {port: f"{stream}__t{port}" for port in _PLAYED},
                 _own(f"{p}_", *_RING_IN, ("sent", "output", 32)))


def _recorder(p, stream, half, layout):
    width, offsets = _beat_parameters(layout.out_fields)
    return Part("bulk_recorder", f"{p}_recorder",
                 {"HALF": half, "DATA_W": layout.data_width, "KEEP_W": layout.keep_width,
                  "OUT_W": width, **offsets, "NAME": f"bulk_{p}"},
                 {"clk": "clk", "rst": "rst", "cycle": "bulk__cycle",
                  "pause_on": "bulk__pauses_on[1]", "pause": "pause_out",
                  "frames": f"{p}_frames", "frame_end": f"{p}_frame_end"}
                 | {port: f"{stream}__t{port}" for port in _PLAYED},
                 _own(f"{p}_", ("drained", "input", 32), ("base", "input", 32),
                      ("dump0", "input", 1), ("dump1", "input", 1), ("full", "output", 1),
                      ("taken", "output", 32), ("half", "output", 32)))


def _analog_queue(half, layout):
    offsets, width = Layout.offsets(layout.analog_fields)
    rows, sw = layout.rows, layout.shift_width
    errors = [("error", "output", 1), ("error_kind", "output", 2),
              ("error_plane", "output", 32), ("error_cycle", "output", 32),
              ("error_wl", "output", rows), ("error_expected_wl", "output", rows),
              ("error_shift", "output", sw), ("error_expected_shift", "output", sw)]
    return Part("bulk_analog_queue", "analog_queue",
                 {"HALF": half, "ROWS": rows, "SHIFT_W": sw, "CODES_W": layout.codes_width,
                  "ENTRY_W": width, "CODES_AT": offsets["codes"][0],
                  "WL_AT": offsets["wl"][0], "SHIFT_AT": offsets["adc_shift"][0],
                  "NAME": "bulk_analog"},
                 {"clk": "clk", "rst": "rst", "cycle": "bulk__cycle"}
                 | {port: f"analog__{port}" for port in ("sample", "wl", "adc_shift", "codes")},
                 _own("analog_", *_RING_IN, ("used", "output", 32))
                 | _own("", ("wl_fault_at", "input", 32), ("first_sample_cycle", "output", 32),
                        *errors))


def _cell_queue(half, layout):
    offsets, width = Layout.offsets(layout.cell_fields)
    sizes = dict(layout.cell_fields)
    pins = {"clk": "clk", "rst": "rst", "cycle": "bulk__cycle"}
    for port in ("read", "pulse", "polarity", "amplitude", "width", "row", "col",
                 "read_code"):
        pins[port] = f"analog__cell__{port}"
    return Part("bulk_cell_queue", "cell_queue",
                 {"HALF": half, "ENTRY_W": width, "REQUEST_W": offsets["code"][0],
                  "ROW_W": sizes["row"], "COL_W": sizes["col"],
                  "AMPLITUDE_W": sizes["amplitude"], "WIDTH_W": sizes["width"],
                  "ADC_BITS": sizes["code"],
                  **{f"{name.upper()}_AT": at for name, (at, _) in offsets.items()},
                  "NAME": "bulk_cell"},
                 pins,
                 _own("cell_", *_RING_IN, ("used", "output", 32), ("error", "output", 1),
                      ("error_kind", "output", 2), ("error_index", "output", 32),
                      ("error_cycle", "output", 32), ("error_seen", "output", offsets["code"][0]),
                      ("error_expected", "output", offsets["code"][0])))


def _emulator_parts(cfg):
    count, bits = level_entries(cfg)
    return [
        Part("bulk_level_player", "level_player",
              {"COUNT": count, "BITS": bits, "ENTRY_W": -(-bits // 8) * 8,
               "FILE": LEVELS_FILE},
              {"clk": "clk", "rst": "rst", "payload": "l_stream__payload",
               "valid": "l_stream__valid", "ready": "l_stream__ready"},
              _own("levels_", ("load", "input", 1), ("done", "output", 1))),
        Part("bulk_sample_stamp", "sample_stamp", {},
              {"clk": "clk", "rst": "rst", "cycle": "bulk__cycle", "sample": "sample"},
              _own("", ("first_sample_cycle", "output", 32))),
    ]


def _control(queue):
    ends = {f"{p}_{name}": f"{p}_{name}" if queue or p == "out" else zero
            for p in ("out", "result") for name, zero in (("frames", "32'd0"),
                                                            ("frame_end", "1'b0"))}
    return Part("bulk_control", "control", {"PATTERN_CYCLES": PATTERN_CYCLES},
                 {"clk": "clk", "rst": "rst", "pause_in": "pause_in",
                  "pause_out": "pause_out"} | ends,
                 _own("", ("cycle", "output", 32), ("pauses_load", "input", 1),
                      ("frames_expected", "input", 32), ("budget", "input", 32),
                      ("frames", "output", 32), ("done", "output", 1),
                      ("timeout", "output", 1)))


def _check_analog(analog):
    if analog not in ANALOG:
        raise ValueError(f"analog must be one of {', '.join(ANALOG)}, not {analog!r}")


def _inner(cfg, analog):
    """``(module, ports)`` of the host top inside the bulk top."""
    if analog == "queue":
        return SIM_TOP, checked_ports(cfg)
    return EMULATED_TOP, signature_ports(EmulatedHost(cfg))


def _parts(cfg, rings, analog):
    layout = Layout.of(cfg)
    parts = [_control(analog == "queue"), _player("in", "s_axis_in", rings.in_half, layout),
             _recorder("out", "m_axis_out", rings.out_half, layout)]
    if analog == "queue":
        parts += [_analog_queue(rings.analog_half, layout),
                  _player("target", "s_axis_target", rings.target_half, layout),
                  _recorder("result", "m_axis_cell", rings.result_half, layout),
                  _cell_queue(rings.cell_half, layout)]
    else:
        parts += _emulator_parts(cfg)
    return parts


def _top(cfg, rings, analog):
    """The bulk top as data: its ports, its wires (as the :class:`Port` of their drivers)
    and its instances."""
    _check_analog(analog)
    module, inner_ports = _inner(cfg, analog)
    parts = _parts(cfg, rings, analog)
    # Nets between a part and the host top; the clock and reset stay ports of the top.
    nets = {net for part in parts for net in part.connections().values()} - {"clk", "rst"}
    wires = [port for port in inner_ports if port.name in nets]
    wires += [Port(name, "output", width) for name, width in _NETS.items() if name in nets]
    ports = [port for port in inner_ports if port.name not in nets]
    ports += [top for part in parts for top in part.own.values()]
    # Read by the players and recorders, a bit each.
    ports.append(Port("bulk__pauses_on", "input", 2))
    ports += [Port("bulk__want", "input", len(FEEDS)), Port(ATTENTION[1], "input", 1),
              Port(ATTENTION[0], "output", 1)]
    inner = Part(module, "checked" if analog == "queue" else "emulated", {},
                  {port.name: port.name for port in inner_ports}, {})
    return ports, wires, [*parts, inner]


def _attention(ports):
    """The assignment of ``bulk__attention`` from the bulk top's `ports`."""
    names = {port.name for port in ports}
    causes = [name for name in ("bulk__done", "bulk__timeout", "bulk__error",
                                "bulk__cell_error", "check__violation", "bulk__out_full",
                                "bulk__result_full") if name in names]
    causes += [f"(bulk__want[{bit}] & bulk__{feed}_hungry)" for bit, feed in enumerate(FEEDS)
               if f"bulk__{feed}_hungry" in names]
    return f"  assign {ATTENTION[0]} = {' | '.join(causes)};"


def bulk_ports(cfg, rings=RINGS, *, analog="queue"):
    """The ports of the bulk top (arguments as for :func:`bulk_verilog`): the host top's
    that no part drives, then the parts' own ``bulk__*`` ports."""
    return _top(cfg, rings, analog)[0]


def _parameter(value):
    return f'"{value}"' if isinstance(value, str) else str(value)


def instance_text(part):
    """The Verilog instantiation of `part`."""
    parameters = (" #(\n" + ",\n".join(f"    .{name}({_parameter(value)})"
                                      for name, value in part.parameters.items()) + "\n  )"
                  if part.parameters else "")
    pins = ",\n".join(f"    .{port}({net})" for port, net in part.connections().items())
    return f"  {part.module}{parameters} {part.name}(\n{pins}\n  );"


def bulk_verilog(cfg, rings=RINGS, *, analog="queue"):
    """Verilog of the bulk top (module ``cim_host_bulk``), which instantiates the parts of
    :data:`BULK_FILES` and the checked host top (module ``cim_host_checked``, or with the
    emulator ``cim_host_emulated``) by name.

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
    ports, wires, parts = _top(cfg, rings, analog)
    return module_text(BULK_TOP, ports, wires, parts, [_attention(ports)])


def module_text(name, ports, wires, parts, body=()):
    """Verilog of module `name` with `ports` and `wires` (each a :class:`Port`), the
    instances `parts` (each a :class:`Part`) and the lines of `body` after them."""
    return "\n".join([
        # A misspelt net is an error, not a new one-bit wire.
        "`default_nettype none",
        f"module {name}(",
        ",\n".join(f"  {' '.join(filter(None, [port.direction, 'wire', port.range, port.name]))}"
                   for port in ports),
        ");",
        *(f"  wire {' '.join(filter(None, [wire.range, wire.name]))};" for wire in wires),
        *map(instance_text, parts),
        *body,
        "endmodule",
        "`default_nettype wire",
        "",
    ])


def bulk_design(checked=simulation_verilog):
    """The bulk top answered by the queues, around the checked host top that `checked`
    generates (``checked(cfg)``: Verilog of module ``cim_host_checked``)."""
    return Design(BULK_TOP, (checked, bulk_verilog), bulk_ports, BULK_FILES, ATTENTION)


#: The bulk top with the crossbar emulator behind the host top's analog port.
EMULATED_BULK = Design(BULK_TOP, (emulated_verilog, functools.partial(bulk_verilog,
                                                                      analog="emulator")),
                       functools.partial(bulk_ports, analog="emulator"), BULK_FILES,
                       ATTENTION)
