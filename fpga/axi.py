"""The AXI4-Lite signature, written from the initiator's side.

Port names follow the AXI specification in lower case (``awaddr``, ...), so a component's
``s_axil`` member becomes the Verilog ports ``s_axil__awaddr`` and so on.
"""

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["RESP_OKAY", "AXI4LiteSignature"]

RESP_OKAY = 0


class AXI4LiteSignature(wiring.Signature):
    """AXI4-Lite, 32-bit data, seen from the initiator.

    Parameters
    ----------
    addr_width : int
        Byte address width.
    """

    def __init__(self, addr_width):
        if not isinstance(addr_width, int) or addr_width < 2:
            raise ValueError(f"addr_width must be an integer of at least 2, not {addr_width!r}")
        self.addr_width = addr_width
        super().__init__({
            "awaddr": Out(addr_width), "awvalid": Out(1), "awready": In(1),
            "wdata": Out(32), "wstrb": Out(4), "wvalid": Out(1), "wready": In(1),
            "bresp": In(2), "bvalid": In(1), "bready": Out(1),
            "araddr": Out(addr_width), "arvalid": Out(1), "arready": In(1),
            "rdata": In(32), "rresp": In(2), "rvalid": In(1), "rready": Out(1),
        })

    def __eq__(self, other):
        return type(other) is type(self) and other.addr_width == self.addr_width

    def __repr__(self):
        return f"AXI4LiteSignature({self.addr_width})"
