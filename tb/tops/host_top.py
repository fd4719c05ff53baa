"""The simulated host top: the tile's host interface with AXI protocol checkers on its ports.

The checkers only watch; their first finding leaves the top on ``check__violation`` (sticky),
``check__rule`` (:class:`cimtile.hdl.axi_checker.Rule`) and ``check__interface`` (index into
:data:`CHECKED`), so the testbench awaits one edge instead of sampling every cycle.

Verilator wakes a coroutine awaiting a clock edge after the edge has updated the registers,
whereas bus VIP such as cocotbext-axi samples the bus at ``RisingEdge`` expecting the values
of the cycle that just ended, as event-driven simulators give. So the bus outputs of the tile
reach the top's AXI ports through registers clocked on the falling edge: at a rising edge the
VIP reads what the tile drove in the cycle that just ended (the value the tile's own
registers sampled), and a VIP waiting for VALID to rise is woken half a cycle before the edge
that samples it. The checkers watch the tile's side, where the protocol is decided.

Every input reaches the tile through a falling-edge register too. A testbench writes inputs
just after a rising edge, so the tile still sees them before the next one; but no logic of
the tile hangs on a top-level input, which Verilator would re-evaluate on every evaluation of
the model (twice a cycle), whatever changed.
"""

from amaranth.back import verilog
from amaranth.hdl import ClockDomain, ClockSignal, Module, ResetSignal
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from cimtile.hdl.axi_checker import AxiLiteChecker, AxiStreamChecker, Rule
from cimtile.hdl.crossbar_emulator import CrossbarEmulator
from cimtile.hdl.host import HostTile

from ..build.sim_top import Design, signature_ports
from .coverage_bins import COUNT_BITS, declare_bins
from .coverage_monitor import CoverageMonitor

__all__ = ["CHECKED", "SIM_TOP", "EMULATED_TOP", "CheckedHost", "EmulatedHost",
           "simulation_verilog", "emulated_verilog", "checked_ports", "checked_design"]

SIM_TOP = "cim_host_checked"
EMULATED_TOP = "cim_host_emulated"
#: The checked interfaces, in the order of ``check__interface``.
CHECKED = ("s_axil", "s_axis_in", "m_axis_out", "s_axis_target", "m_axis_cell")


class CheckedHost(wiring.Component):
    """The host tile with the protocol checkers and, with `coverage`, the coverage monitor
    (:class:`~cimtile.tb.tops.coverage_monitor.CoverageMonitor`) on its ports.

    The ``cov__counts`` port is there either way (all zero without the monitor), so both
    variants have the same ports and one can stand for the other inside a wrapping top.
    The monitor costs the simulator about a third of its speed on the reference tile,
    which runs that only want results need not pay.
    """

    def __init__(self, config, *, coverage=False):
        self.config = config
        self.coverage = coverage
        self.host = HostTile(config)
        super().__init__({
            **self.host.signature.members,
            "check": Out(wiring.Signature({
                "violation": Out(1),
                "rule": Out(Rule),
                "interface": Out(range(len(CHECKED))),
            })),
            # Functional coverage counters, read once per run.
            "cov": Out(wiring.Signature({
                "counts": Out(len(declare_bins(config)) * COUNT_BITS),
            })),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.host = host = self.host
        m.domains.mid = mid = ClockDomain("mid", clk_edge="neg", local=True)
        m.d.comb += [mid.clk.eq(ClockSignal()), mid.rst.eq(ResetSignal())]
        outer_ports = self.signature.flatten(self)
        for (path, member, inner), (_, _, outer) in zip(host.signature.flatten(host),
                                                        outer_ports):
            if member.flow == wiring.In:
                m.d.mid += inner.eq(outer)
            elif path[0] in CHECKED:
                m.d.mid += outer.eq(inner)
            else:
                m.d.comb += outer.eq(inner)
        width = self.config.host.data_width
        checkers = [AxiLiteChecker(12, 32)] + [AxiStreamChecker(width, keep=True)
                                               for _ in CHECKED[1:]]
        for index, (name, checker) in enumerate(zip(CHECKED, checkers)):
            m.submodules[f"check_{name}"] = checker
            checker.watch(m, getattr(host, name))
        if self.coverage:
            m.submodules.coverage = coverage = CoverageMonitor(self.config, host.signature)
            coverage.watch(m, host)
            m.d.comb += self.cov.counts.eq(coverage.counts)
        # The first checker to fire names the interface; later findings do not overwrite.
        with m.If(~self.check.violation):
            for index, checker in enumerate(checkers):
                with m.If(checker.violation):
                    m.d.sync += [self.check.violation.eq(1), self.check.rule.eq(checker.rule),
                                 self.check.interface.eq(index)]
        return m


def simulation_verilog(config, *, coverage=False):
    """Verilog of the checked host top (module ``cim_host_checked``), with the coverage
    monitor when `coverage`."""
    return verilog.convert(CheckedHost(config, coverage=coverage), name=SIM_TOP,
                           emit_src=False)


def checked_ports(config):
    """The ports of the checked host top, with or without the coverage monitor."""
    return signature_ports(CheckedHost(config))


def checked_design(source=simulation_verilog):
    """The checked host top as the simulated design, its Verilog from `source`
    (``source(cfg)``, :func:`simulation_verilog` or one like it)."""
    return Design(SIM_TOP, (source,), checked_ports)


class EmulatedHost(wiring.Component):
    """The checked host top with a :class:`CrossbarEmulator` behind its analog port, as the
    FPGA board core wires them.

    Members
    -------
    Every member of :class:`~cimtile.tb.tops.host_top.CheckedHost` but ``analog``, and
    l_stream : ``In(stream.Signature(load_layout(config)))``
        The emulator's direct level writes.
    sample : ``Out(1)``
        The analog port's sample strobe, which the bulk top stamps.
    """

    def __init__(self, config):
        self.config = config
        self._checked = CheckedHost(config)
        self._emulator = CrossbarEmulator(config)
        self._forwarded = {name: member
                           for name, member in self._checked.signature.members.items()
                           if name != "analog"}
        super().__init__(self._forwarded | {
            "l_stream": self._emulator.signature.members["l_stream"],
            "sample": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.checked = checked = self._checked
        m.submodules.emulator = emulator = self._emulator
        wiring.connect(m, checked.analog, emulator.analog)
        wiring.connect(m, wiring.flipped(self.l_stream), emulator.l_stream)
        m.d.comb += self.sample.eq(checked.analog.sample)
        for name, member in self._forwarded.items():
            outer, inner = getattr(self, name), getattr(checked, name)
            if member.is_signature:
                wiring.connect(m, wiring.flipped(outer), inner)
            elif member.flow == wiring.In:
                m.d.comb += inner.eq(outer)
            else:
                m.d.comb += outer.eq(inner)
        return m


def emulated_verilog(config):
    """Verilog of :class:`EmulatedHost` (module ``cim_host_emulated``)."""
    return verilog.convert(EmulatedHost(config), name=EMULATED_TOP, emit_src=False)
