"""The chip as a simulated design: its Verilog and its ports, from its signature."""

from ..build.sim_top import Design, signature_ports

__all__ = ["chip_ports", "CHIP_DESIGN"]


def chip_ports(chip):
    """The ports of the chip top of `chip` (a :class:`~cimtile.spec.chip_config.ChipConfig`)."""
    from cimtile.hdl.chip import Chip
    return signature_ports(Chip(chip))


def _chip_verilog(chip):
    from cimtile.hdl.chip import verilog_source
    return verilog_source(chip)


#: The chip top (module ``cim_chip``), each tile's analog port answered by the testbench.
CHIP_DESIGN = Design("cim_chip", (_chip_verilog,), chip_ports)
