"""The chip as a simulated design: the tile's Verilog, converted once, and the chip top
instantiating it for every tile; the ports from the chip's signature."""

from ..build.sim_top import Design, signature_ports

__all__ = ["chip_ports", "CHIP_DESIGN"]


def chip_ports(chip):
    """The ports of the chip top of `chip` (a :class:`~cimtile.spec.chip_config.ChipConfig`)."""
    from cimtile.hdl.chip import Chip
    return signature_ports(Chip(chip))


def _tile_verilog(chip):
    from cimtile.hdl.tile import verilog_source
    return verilog_source(chip.tile)


def _chip_verilog(chip):
    from cimtile.hdl.chip import verilog_source
    from cimtile.hdl.tile import TOP_NAME
    return verilog_source(chip, tile_module=TOP_NAME)


#: The chip top (module ``cim_chip``), each tile's analog port answered by the testbench.
CHIP_DESIGN = Design("cim_chip", (_tile_verilog, _chip_verilog), chip_ports)
