"""The simulation top: the simulated design, its ports and the module that clocks it.

A design's ports are known where it is built: an Amaranth component's from its signature
(:func:`signature_ports`, named as ``verilog.convert`` names them), a top built from
parameters from those parameters. The simulation top and the Verilator control file are
written from that list, never read back out of generated Verilog.

The simulation top wraps the design with its clock: a Verilog process toggles ``clk``
inside the model, so no clock edge costs cocotb a timer callback or a VPI write.
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
    """
    module: str
    sources: tuple
    ports: object
    files: tuple = ()


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
    if isinstance(elaboratable, Elaboratable) and not elaboratable._MustUse__used:
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


def simulation_top(ports, module, *, clock_input=False):
    """Verilog of the simulation top: every one of `ports` of `module` but ``clk``, which a
    process inside the model toggles with period ``CLOCK_PERIOD_NS`` (high from t = 0);
    with `clock_input`, ``clk`` stays a port, for a C++ main that toggles it (no --timing).

    ``rst`` reaches the design through a falling-edge register. A testbench changes it just
    after a rising edge, so the synchronous reset acts at the same edge as before; but the
    design's logic no longer hangs on a top-level input, which Verilator re-evaluates on
    every evaluation of the model (twice a cycle).
    """
    declared = [port for port in ports if port.name != "clk" or clock_input]
    has_rst = any(port.name == "rst" for port in ports)
    clock = [] if clock_input else ["  reg clk = 1'b1;",
                                    f"  always #{CLOCK_PERIOD_NS / 2:g} clk = ~clk;"]
    nets = {port.name: port.name for port in ports}
    if has_rst:
        nets["rst"] = "rst_at_fall"
    return "\n".join([
        f"module {TOPLEVEL}(",
        ",\n".join("  " + " ".join(filter(None, [port.direction, "wire", port.range,
                                                 port.name]))
                   for port in declared),
        ");",
        *clock,
        *(["  reg rst_at_fall = 1'b0;", "  always @(negedge clk) rst_at_fall <= rst;"]
          if has_rst else []),
        f"  {module} tile(",
        ",\n".join(f"    .{name}({net})" for name, net in nets.items()),
        "  );",
        "endmodule",
        "",
    ])


def control_file(ports):
    """Verilator control file text that makes the simulation top's ports public."""
    lines = ["`verilator_config"]
    lines += [f'public_flat_rw -module "{TOPLEVEL}" -var "{port.name}"' for port in ports]
    return "\n".join(lines) + "\n"
