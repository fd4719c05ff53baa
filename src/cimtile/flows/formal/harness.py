"""Harnesses: one design under test per property set, its inputs free, its rules added.

A harness is the top of the checked design. Every input port of the design under test is
driven by a free signal of the same name (``s_axil__awaddr``, ``analog__codes``, ...) and
every output port is copied to one, so a counterexample trace reads like the design's own
ports. The hard reset is the harness's ``rst``: high in the first cycle, free afterwards, so
every rule is checked across hard resets as well as soft ones.
"""

from types import SimpleNamespace

from amaranth.hdl import Elaboratable, Fragment, Module, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import Flow

from cimtile.hdl.chip_datapath import ChipDatapath
from cimtile.hdl.chip_sequencer import ChipSequencer
from cimtile.hdl.host import HostTile
from cimtile.hdl.properties.axi_lite import subordinate_rules
from cimtile.hdl.properties.axi_stream import axi_stream_rules
from cimtile.hdl.properties.chip_datapath import datapath_rules
from cimtile.hdl.properties.chip_sequencer import sequencer_rules
from cimtile.hdl.properties.rules import Rules
from cimtile.hdl.properties.tile import (analog_rules, latency_rules, result_rules,
                                         tile_environment, write_verify_rules)
from cimtile.hdl.registers import Registers
from cimtile.hdl.tile import Tile
from cimtile.spec.chip_config import parse_chip_config
from cimtile.spec.config import parse_config

__all__ = ["TOP", "Harness", "RegistersHarness", "HostHarness", "TileHarness",
           "TileLatencyHarness", "SequencerHarness", "DatapathHarness", "expose", "block"]

#: Module name of every harness in the RTLIL handed to SymbiYosys.
TOP = "formal_top"


def expose(rules, component):
    """Free signals for the inputs of `component` and copies of its outputs, named by their
    port paths; returns them as a namespace tree shaped like the component's interface."""
    root = SimpleNamespace()
    for path, member, value in component.signature.flatten(component):
        name = "__".join(str(part) for part in path)
        if member.flow is Flow.In:
            signal = rules.free(member.shape, name)
            rules.module.d.comb += Value.cast(value).eq(Value.cast(signal))
        else:
            signal = rules.named(value, name, member.shape)
        node = root
        for part in path[:-1]:
            if not hasattr(node, str(part)):
                setattr(node, str(part), SimpleNamespace())
            node = getattr(node, str(part))
        setattr(node, str(path[-1]), signal)
    return root


def _port(ports, path):
    """The signal at `path` in a namespace tree of :func:`expose`."""
    for part in path:
        ports = getattr(ports, str(part))
    return ports


def block(fragment, *path):
    """The component elaborated at the submodule `path` (names) inside `fragment`.

    Raises
    ------
    LookupError
        If no submodule has that name; the message lists the names there are.
    """
    for name in path:
        names = [sub_name for _, sub_name, _ in fragment.subfragments]
        matches = [sub for sub, sub_name, _ in fragment.subfragments if sub_name == name]
        if not matches:
            raise LookupError(f"no submodule {name!r}; expected one of "
                              f"{', '.join(str(n) for n in names)}")
        fragment = matches[0]
    for origin in fragment.origins or ():
        if isinstance(origin, wiring.Component):
            return origin
    raise LookupError(f"submodule {'.'.join(path)} is not a component")


class Harness(Elaboratable):
    """The harness of one property set for a :class:`~cimtile.spec.config_derived.Config`.

    Parameters
    ----------
    config : :class:`cimtile.spec.config_derived.Config`
    prove : bool
        Build for k-induction (see :class:`~cimtile.hdl.properties.rules.Rules`).

    Attributes
    ----------
    rules : :class:`~cimtile.hdl.properties.rules.Rules`
        Filled in when the harness is elaborated.
    """

    def __init__(self, config, *, prove=False):
        self.config = config
        self.prove = prove
        self.rules = None

    def elaborate(self, platform):
        m = Module()
        self.rules = Rules(m, prove=self.prove)
        self.rules.hard_reset()
        self.build(m, self.rules, platform)
        return m

    def build(self, m, rules, platform):
        raise NotImplementedError


class RegistersHarness(Harness):
    """The AXI4-Lite register block alone, its datapath events free."""

    def build(self, m, rules, platform):
        m.submodules.registers = registers = Registers(self.config)
        ports = expose(rules, registers)
        subordinate_rules(rules, ports.bus, self.config)


class HostHarness(Harness):
    """The host top ``cim_host``: the AXI4-Lite and every AXI4-Stream port, with the analog
    macro's answers free."""

    def build(self, m, rules, platform):
        host = HostTile(self.config)
        m.submodules.host = fragment = Fragment.get(host, platform)
        p = expose(rules, host)
        subordinate_rules(rules, p.s_axil, self.config)
        axi_stream_rules(rules, "s_axis_in", p.s_axis_in, assume=True)
        axi_stream_rules(rules, "s_axis_target", p.s_axis_target, assume=True)
        for name in ("m_axis_out", "m_axis_cell"):
            port = getattr(p, name)
            axi_stream_rules(rules, name, port)
            rules.cover(f"{name}__null_beat", port.tvalid & (port.tkeep == 0),
                        f"{name}: a null beat closes a frame", [port.tvalid, port.tkeep])
        soft = rules.named(block(fragment, "registers").soft_reset, "soft_reset")
        rules.show(soft)
        for name in ("m_axis_out", "m_axis_cell"):
            port = getattr(p, name)
            rules.cover(f"{name}__soft_reset_while_stalled",
                        soft & port.tvalid & ~port.tready,
                        f"{name}: a soft reset while a beat is stalled",
                        [soft, port.tvalid, port.tready, port.tlast])


class TileHarness(Harness):
    """The tile core: results, the analog port's exclusivity, write-verify."""

    def build(self, m, rules, platform):
        tile = Tile(self.config)
        m.submodules.tile = fragment = Fragment.get(tile, platform)
        t = expose(rules, tile)
        inside = result_rules(rules, t, self.config)
        tile_environment(rules, t, self.config, inside)
        analog_rules(rules, t, self.config, block(fragment, "controller"))
        write_verify_rules(rules, t, block(fragment, "write_verify"), self.config)


class TileLatencyHarness(Harness):
    """The tile core computing with its output always ready: bounded result latency."""

    def build(self, m, rules, platform):
        tile = Tile(self.config)
        m.submodules.tile = Fragment.get(tile, platform)
        t = expose(rules, tile)
        inside = result_rules(rules, t, self.config, covers=False)
        tile_environment(rules, t, self.config, inside)
        latency_rules(rules, t, self.config, inside)


class SequencerHarness(Harness):
    """The chip sequencer of two tiles of two result buffers (the chip's default) and four
    words of program, the host's writes and ``start`` and the units' answers free. It does
    not depend on the tile configuration it is given."""

    TILES = 2
    DEPTH = 4
    BUFFERS = 2

    def build(self, m, rules, platform):
        m.submodules.sequencer = sequencer = ChipSequencer(tiles=self.TILES, depth=self.DEPTH,
                                                           buffers=self.BUFFERS)
        sequencer_rules(rules, expose(rules, sequencer), self.TILES, self.BUFFERS)


class DatapathHarness(Harness):
    """The chip datapath of two tiles of 3 rows and 2 columns, the commands, the tiles'
    answers and the host's ports free, and a twin of it fed the same inputs but its vector
    ports' ``ready``. It does not depend on the tile configuration it is given.

    The chip is as small as keeps every loop of the units: activations of 4 bits on an
    8-bit interconnect, so a vector of 3 rows takes two beats and a tile's result of two
    columns two words; 4 activations of memory and 2-bit multipliers and biases keep the
    solver's memories and products small.
    """

    TILE = {"tile": dict(rows=3, cols=2, in_bits=4, w_bits=2, bits_per_cell=1, adc_bits=2,
                         adc_shift=0, cols_per_adc=1),
            "timing": dict(t_settle=1, t_adc=1)}
    CHIP = dict(tile="formal", tiles=2, act_memory_bytes=4, interconnect_width=8, out_bits=4,
                mult_bits=2, bias_bits=2, shift_max=1)

    def build(self, m, rules, platform):
        tile = parse_config(self.TILE)
        chip = parse_chip_config({"chip": self.CHIP | {"acc_bits": tile.result_width}}, tile)
        m.submodules.datapath = datapath = ChipDatapath(chip, param_depth=tile.tile.cols)
        m.submodules.twin = twin = ChipDatapath(chip, param_depth=tile.tile.cols)
        p = expose(rules, datapath)
        readies = {}
        for path, member, value in twin.signature.flatten(twin):
            if member.flow is not Flow.In:
                continue
            if path[0] == "vector":
                name = "__".join(str(part) for part in path)
                source = readies[path[1]] = rules.free(member.shape, f"twin__{name}")
            else:
                source = _port(p, path)
            m.d.comb += Value.cast(value).eq(Value.cast(source))
        twins = [(rules.named(twin.vector[t].valid, f"twin__vector__{t}__valid"), readies[t])
                 for t in range(chip.chip.tiles)]
        datapath_rules(rules, p, twins, chip)
