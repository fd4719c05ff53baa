"""Host side of ``cimtile fpga run``: a board (or its simulation) behind the UART bridge.

The transport is anything with ``write(bytes)`` and ``read(n)``: a pyserial port on real
hardware, the cocotb UART model in the board's co-simulation.
"""

from .protocol import (MAGIC, PROTOCOL_VERSION, SINKS, SOURCES, BridgeClient, ProtocolError,
                       config_digest)

__all__ = ["BoardMismatch", "connect", "open_serial"]

INFO_BYTES = len(MAGIC) + 1 + 4


class BoardMismatch(RuntimeError):
    """The board does not speak the bridge protocol, or was built for another config."""


def connect(port, config):
    """A :class:`BridgeClient` for the board behind ``port``, after checking that it was
    built for ``config``.

    Raises
    ------
    BoardMismatch
        No bridge answered, or its protocol version or config digest differ.
    """
    beat = config.host.data_width // 8
    client = BridgeClient(port, source_bytes={i: beat for i in range(len(SOURCES))},
                          sink_bytes={i: beat for i in range(len(SINKS))})
    try:
        info = client.info(INFO_BYTES)
    except ProtocolError as error:
        raise BoardMismatch(f"no cimtile bridge answered ({error})") from None
    if info[:len(MAGIC)] != MAGIC:
        raise BoardMismatch(f"no cimtile bridge answered (descriptor {info.hex()})")
    if info[len(MAGIC)] != PROTOCOL_VERSION:
        raise BoardMismatch(f"bridge protocol version {info[len(MAGIC)]}, this host speaks "
                            f"{PROTOCOL_VERSION}")
    digest = int.from_bytes(info[len(MAGIC) + 1:], "little")
    if digest != config_digest(config):
        raise BoardMismatch(f"the board was built for another config (digest {digest:08x}, "
                            f"this config's is {config_digest(config):08x})")
    return client


def open_serial(path, baud, *, timeout=2.0):
    """Open a serial port as the bridge's transport (8N1, no flow control)."""
    import serial
    return serial.Serial(path, baudrate=baud, bytesize=8, parity="N", stopbits=1,
                         timeout=timeout)
