"""The AXI4-Stream interface signature shared by the host adapters and the protocol checker."""

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["AxiStreamSignature"]


class AxiStreamSignature(wiring.Signature):
    """An AXI4-Stream interface, written from the transmitter's side.

    Like :class:`amaranth.lib.stream.Signature`, a receiver takes ``In(AxiStreamSignature(...))``.
    Member names follow the AXI specification so that the generated ports
    (``s_axis_in__tdata``, ...) are found by ``AxiStreamBus.from_prefix(dut, "s_axis_in_")``.

    Parameters
    ----------
    data_width : int
        Width of ``tdata`` in bits; a positive multiple of 8.
    keep : bool
        Whether the interface has ``tkeep`` (one bit per byte). Without it, AXI4-Stream means
        every byte is a data byte.

    Members
    -------
    tdata : ``Out(data_width)``
    tkeep : ``Out(data_width // 8)``
        Only with ``keep``.
    tlast : ``Out(1)``
    tvalid : ``Out(1)``
    tready : ``In(1)``

    Raises
    ------
    TypeError
        If ``data_width`` is not a positive multiple of 8.
    """

    def __init__(self, data_width, *, keep):
        if not isinstance(data_width, int) or data_width <= 0 or data_width % 8:
            raise TypeError(
                f"data_width must be a positive multiple of 8, not {data_width!r}")
        self._data_width = data_width
        self._keep = bool(keep)
        members = {"tdata": Out(data_width)}
        if self._keep:
            members["tkeep"] = Out(data_width // 8)
        members |= {"tlast": Out(1), "tvalid": Out(1), "tready": In(1)}
        super().__init__(members)

    @property
    def data_width(self):
        return self._data_width

    @property
    def keep(self):
        return self._keep

    def __eq__(self, other):
        return (type(other) is type(self) and other.data_width == self.data_width
                and other.keep == self.keep)

    def __repr__(self):
        return f"AxiStreamSignature({self.data_width}, keep={self.keep})"
