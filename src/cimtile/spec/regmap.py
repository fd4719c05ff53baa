"""The host register map, declared once; the one place its users import it from.

Everything else is generated from :data:`REGISTERS`: the AXI4-Lite register block
(``cimtile.hdl.registers``), docs/registers.md (:func:`markdown`), the firmware C header
(:func:`c_header`) and the testbench accessor (``cimtile.tb.benches.registers``). A reset
value or a valid range may depend on the tile's :class:`~cimtile.spec.config_derived.Config`,
so every generator takes one. The parts: how a register is declared
(:mod:`.register_model`), the map (:mod:`.register_table`), the documents
(:mod:`.regmap_docs`).
"""

from .register_model import ADDR_WIDTH, DATA_WIDTH, Access, Field, Register
from .register_table import (ID_VALUE, REFUSAL_RULES, REGISTERS, ErrorCause, Mode,
                             capabilities, register)
from .regmap_docs import c_header, markdown

__all__ = ["Access", "ErrorCause", "Mode", "Field", "Register", "REGISTERS", "ADDR_WIDTH",
           "DATA_WIDTH", "ID_VALUE", "REFUSAL_RULES", "register", "capabilities", "markdown",
           "c_header"]
