"""The simulation top: the simulated design, its ports and the module that clocks it.

A design's ports are known where it is built: an Amaranth component's from its signature
(:func:`signature_ports`, named as ``verilog.convert`` names them), a top built from
parameters from those parameters. The simulation top and the Verilator control file are
written from that list, never read back out of generated Verilog.

The simulation top wraps the design; its clock is a port that the simulator's C++ main
toggles (``cosim_main.cpp``), so no clock edge costs cocotb a timer callback or a VPI write.
"""

from dataclasses import dataclass

from amaranth.hdl import Elaboratable, Value
from amaranth.lib import wiring

__all__ = ["TOPLEVEL", "CLOCK_PERIOD_NS", "Port", "Design", "signature_ports",
           "simulation_top", "control_file", "tile_design"]

#: Top module of the simulation: the design and the process that clocks it.
TOPLEVEL = "cim_tile_sim"
#: Clock period of the simulation; rising edges fall at t = n * CLOCK_PERIOD_NS, n >= 1.
CLOCK_PERIOD_NS = 10


@dataclass(frozen=True)
class Port:
    """A port of a Verilog module.

    Members
    -------
    name : str
    direction : ``"input"`` or ``"output"``
    width : int
    """
    name: str
    direction: str
    width: int

    @property
    def range(self):
        """The declaration's range: ``""`` for one bit, ``[-1:0]`` for none, as Amaranth
        declares a zero-width port."""
        return "" if self.width == 1 else f"[{self.width - 1}:0]"


@dataclass(frozen=True)
class Design:
    """A design the simulation top clocks.

    Members
    -------
    module : str
        Its top module.
    sources : tuple of callable
        Generators of its Verilog texts, each ``source(cfg)``: what Amaranth makes, and a
        top built from parameters; each is elaborated once per configuration through the
        build cache (:mod:`.elaboration`), so module-level functions (or partials of them)
        are reused across processes.
    ports : callable
        ``ports(cfg)``: the :class:`Port` of module `module`, ``clk`` and ``rst`` included.
    files : tuple of Path
        Committed Verilog sources it instantiates.
    attention : tuple of str
        ``(attention, free_run)``, if the design has them: the output with which it asks the
        testbench for attention, and the input with which the testbench lets the main run
        the model freely until it does (see ``cosim_main.cpp``).
    """
    module: str
    sources: tuple
    ports: object
    files: tuple = ()
    attention: tuple = ()


def signature_ports(component):
    """The ports ``verilog.convert`` gives `component` (in another order): ``clk`` and
    ``rst`` of its clock domain, then every port of its signature, named by its path joined
    with ``__``. `component` is built for its signature only, and never elaborated."""
    ports = [Port("clk", "input", 1), Port("rst", "input", 1)]
    for path, member, value in component.signature.flatten(component):
        direction = "input" if member.flow == wiring.In else "output"
        ports.append(Port("__".join(map(str, path)), direction, len(Value.cast(value))))
    _used(component)
    return ports


def _used(elaboratable):
    """Mark `elaboratable` and those it holds used, as elaboration would: a component
    built only for its signature would otherwise warn (UnusedElaboratable) when collected."""
    if isinstance(elaboratable, (list, tuple)):
        for value in elaboratable:
            _used(value)
    elif isinstance(elaboratable, Elaboratable) and not elaboratable._MustUse__used:
        elaboratable._MustUse__used = True
        for value in vars(elaboratable).values():
            _used(value)


def _tile_ports(cfg):
    from cimtile.hdl.tile import Tile
    return signature_ports(Tile(cfg))


def tile_design():
    """The tile (module ``cim_tile``), the design simulated by default."""
    from cimtile.hdl.tile import TOP_NAME, verilog_source
    return Design(TOP_NAME, (verilog_source,), _tile_ports)


def simulation_top(ports, module):
    """Verilog of the simulation top: every one of `ports` of `module`, ``clk`` toggled by
    the C++ main (high from t = 0, rising at n * ``CLOCK_PERIOD_NS``).

    ``rst`` reaches the design through a falling-edge register. A testbench changes it just
    after a rising edge, so the synchronous reset acts at the same edge as before; but the
    design's logic no longer hangs on a top-level input, which Verilator re-evaluates on
    every evaluation of the model (twice a cycle).
    """
    has_rst = any(port.name == "rst" for port in ports)
    nets = {port.name: port.name for port in ports}
    if has_rst:
        nets["rst"] = "rst_at_fall"
    return "\n".join([
        f"module {TOPLEVEL}(",
        ",\n".join("  " + " ".join(filter(None, [port.direction, "wire", port.range,
                                                 port.name]))
                   for port in ports),
        ");",
        *(["  reg rst_at_fall = 1'b0;", "  always @(negedge clk) rst_at_fall <= rst;"]
          if has_rst else []),
        f"  {module} tile(",
        ",\n".join(f"    .{name}({net})" for name, net in nets.items()),
        "  );",
        "endmodule",
        "",
    ])


def control_file(ports):
    """Verilator control file text that makes the simulation top's ports public: inputs
    for writing, outputs for reading only. An output public for writing would be copied
    out of the model, and the logic that drives it evaluated, at every evaluation."""
    lines = ["`verilator_config"]
    lines += [f'public_flat_{"rw" if port.direction == "input" else "rd"} '
              f'-module "{TOPLEVEL}" -var "{port.name}"' for port in ports]
    return "\n".join(lines) + "\n"
