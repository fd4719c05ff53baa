"""The AXI4-Lite interface signature and response codes shared by the register block and the
host top."""

from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["AxiResp", "AxiLiteSignature"]


class AxiResp(enum.Enum, shape=2):
    """BRESP / RRESP codes (AMBA AXI, A3.4.4)."""
    OKAY = 0
    EXOKAY = 1
    SLVERR = 2
    DECERR = 3


class AxiLiteSignature(wiring.Signature):
    """An AXI4-Lite interface, written from the initiator's (manager's) side.

    A subordinate takes ``In(AxiLiteSignature(...))``. Member names follow the AXI specification
    so that the generated ports (``s_axil__awaddr``, ...) are found by
    ``AxiLiteBus.from_prefix(dut, "s_axil_")``.

    Parameters
    ----------
    addr_width : int
        Width of the byte addresses ``awaddr`` and ``araddr``.
    data_width : int
        Width of ``wdata`` and ``rdata``: 32 or 64 (AXI4-Lite allows no other).

    Members
    -------
    awaddr, awprot, awvalid : ``Out(addr_width)``, ``Out(3)``, ``Out(1)``
    awready : ``In(1)``
    wdata, wstrb, wvalid : ``Out(data_width)``, ``Out(data_width // 8)``, ``Out(1)``
    wready : ``In(1)``
    bresp, bvalid : ``In(AxiResp)``, ``In(1)``
    bready : ``Out(1)``
    araddr, arprot, arvalid : ``Out(addr_width)``, ``Out(3)``, ``Out(1)``
    arready : ``In(1)``
    rdata, rresp, rvalid : ``In(data_width)``, ``In(AxiResp)``, ``In(1)``
    rready : ``Out(1)``

    Raises
    ------
    TypeError
        If ``addr_width`` is not a positive integer or ``data_width`` is not 32 or 64.
    """

    def __init__(self, *, addr_width, data_width):
        if not isinstance(addr_width, int) or addr_width <= 0:
            raise TypeError(f"addr_width must be a positive integer, not {addr_width!r}")
        if data_width not in (32, 64):
            raise TypeError(f"data_width must be 32 or 64, not {data_width!r}")
        self._addr_width, self._data_width = addr_width, data_width
        super().__init__({
            "awaddr": Out(addr_width), "awprot": Out(3), "awvalid": Out(1), "awready": In(1),
            "wdata": Out(data_width), "wstrb": Out(data_width // 8), "wvalid": Out(1),
            "wready": In(1),
            "bresp": In(AxiResp), "bvalid": In(1), "bready": Out(1),
            "araddr": Out(addr_width), "arprot": Out(3), "arvalid": Out(1), "arready": In(1),
            "rdata": In(data_width), "rresp": In(AxiResp), "rvalid": In(1), "rready": Out(1),
        })

    @property
    def addr_width(self):
        return self._addr_width

    @property
    def data_width(self):
        return self._data_width

    def __eq__(self, other):
        return (type(other) is type(self) and other.addr_width == self.addr_width
                and other.data_width == self.data_width)

    def __repr__(self):
        return f"AxiLiteSignature(addr_width={self.addr_width}, data_width={self.data_width})"
