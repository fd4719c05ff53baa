"""An AXI4-Stream port (ARM IHI 0051): TVALID held until TREADY, TDATA, TKEEP and TLAST
stable while stalled, TVALID low after reset; TREADY is the receiver's to choose, so a sink
may stall forever."""

from .handshake import channel_rules

__all__ = ["axi_stream_rules"]


def axi_stream_rules(rules, name, port, *, assume=False):
    """Add the transmitter's rules for `port` (any object with ``tvalid``, ``tready``,
    ``tdata``, ``tlast`` and maybe ``tkeep``): asserted for a port the design drives,
    assumed (``assume=True``) for one the environment drives.

    Returns
    -------
    Value
        The transfer condition.
    """
    payload = {"tdata": port.tdata}
    if hasattr(port, "tkeep"):
        payload["tkeep"] = port.tkeep
    payload["tlast"] = port.tlast
    transfer = channel_rules(rules, name, valid=port.tvalid, ready=port.tready,
                             payload=payload, assume=assume, words=("TVALID", "TREADY"))
    rules.cover(f"{name}__last_transfer", transfer & port.tlast,
                f"{name}: a transfer with TLAST", [port.tvalid, port.tready, port.tlast])
    return transfer
