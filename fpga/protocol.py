"""The UART bridge protocol, and its host side.

Every request is a 7-byte header, then a payload for the write commands::

    cmd (1) | addr (4, little-endian) | count (2, little-endian) | payload

========================  ====  ===========================================================
command                   cmd   meaning
========================  ====  ===========================================================
``INFO``                  0x00  answer the bridge's descriptor bytes (``addr``, ``count``
                                ignored)
``REG_WRITE``             0x01  write ``count`` 32-bit words (payload, little-endian) to the
                                AXI4-Lite registers at ``addr``, ``addr + 4``, ...
``REG_READ``              0x02  read ``count`` words from ``addr``, ``addr + 4``, ...
``STREAM_WRITE``          0x03  send ``count`` beats (payload, ``beat_bytes`` each,
                                little-endian) on source stream number ``addr``
``STREAM_WRITE | LAST``   0x13  the same, with ``tlast`` on the final beat
``STREAM_READ``           0x04  receive ``count`` beats from sink stream number ``addr``
                                (null beats, ``tkeep`` all low, are skipped: status
                                ``NULL``)
========================  ====  ===========================================================

The ``INFO`` descriptor of a cimtile board is ``b"CIMT"``, the protocol version (1) and the
CRC-32 of the board's config (:func:`config_digest`, 4 bytes little-endian). Source stream
0 is ``in`` (input vectors), 1 ``target`` (target levels); sink stream 0 is ``out``
(results), 1 ``cell`` (per-cell results), all packed as in docs/host.md.

Every request is answered by its data (reads: exactly the requested bytes; ``INFO``: the
descriptor), then one status byte (:class:`Status`). A request that times out downstream
still consumes its whole payload and still answers the promised number of data bytes
(zeros after the timeout), so the two sides never lose their framing. A request broken off
mid-header or mid-payload is discarded after ``timeout`` cycles without an answer.
"""

import dataclasses
import enum
import json
import struct
import zlib

__all__ = ["Command", "LAST", "Status", "HEADER_BYTES", "MAX_COUNT", "ProtocolError",
           "request", "BridgeClient", "SOURCES", "SINKS", "MAGIC", "PROTOCOL_VERSION",
           "config_digest", "info_bytes"]

HEADER_BYTES = 7
MAX_COUNT = 0xFFFF
LAST = 0x10


#: Stream numbers of the bridge (``STREAM_WRITE`` / ``STREAM_READ`` address field).
SOURCES = ("in", "target")
SINKS = ("out", "cell")
MAGIC = b"CIMT"
PROTOCOL_VERSION = 1


def config_digest(config):
    """CRC-32 of everything in ``config`` that shapes the hardware: a board built from one
    config refuses to be driven as another."""
    fields = {name: dataclasses.asdict(getattr(config, name))
              for name in ("tile", "timing", "host")}
    return zlib.crc32(json.dumps(fields, sort_keys=True, default=str).encode())


def info_bytes(config):
    """The bridge's ``INFO`` answer: magic, protocol version, config digest (LE)."""
    return MAGIC + bytes([PROTOCOL_VERSION]) + config_digest(config).to_bytes(4, "little")


class Command(enum.IntEnum):
    INFO = 0x00
    REG_WRITE = 0x01
    REG_READ = 0x02
    STREAM_WRITE = 0x03
    STREAM_READ = 0x04


class Status(enum.IntFlag):
    OK = 0x00
    ERROR = 0x01        # an AXI4-Lite response was not OKAY
    TIMEOUT = 0x02      # a downstream handshake did not complete in time
    LAST = 0x04         # STREAM_READ: the final beat carried tlast
    NULL = 0x08         # STREAM_READ: a null beat (tkeep 0, no data) was skipped
    BAD_COMMAND = 0x80  # unknown command or stream number


class ProtocolError(RuntimeError):
    """The bridge answered with an error status or too few bytes.

    Members
    -------
    status : Status or None
        The status byte, or None when the answer was cut short.
    """

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def request(cmd, addr=0, count=0, payload=b""):
    """Bytes of one request."""
    if not 0 <= count <= MAX_COUNT:
        raise ValueError(f"count must be in 0..{MAX_COUNT}, not {count}")
    return struct.pack("<BIH", cmd, addr, count) + bytes(payload)


class BridgeClient:
    """Host side of the bridge over any byte transport with ``write(bytes)`` and
    ``read(n)`` (a :class:`serial.Serial`, or a simulation model).

    Parameters
    ----------
    port : transport
        ``read(n)`` returns up to ``n`` bytes (fewer on a timeout).
    source_bytes, sink_bytes : dict of int to int
        Bytes per beat of each source (``STREAM_WRITE``) and sink (``STREAM_READ``) stream
        number.
    """

    def __init__(self, port, *, source_bytes, sink_bytes):
        self.port = port
        self.source_bytes, self.sink_bytes = dict(source_bytes), dict(sink_bytes)

    def _answer(self, n, what):
        data = self.port.read(n + 1)
        if len(data) != n + 1:
            raise ProtocolError(f"{what}: expected {n + 1} bytes from the bridge, "
                                f"got {len(data)}")
        return data[:n], Status(data[n])

    def _check(self, status, what, allowed=Status.OK):
        if status & ~allowed:
            raise ProtocolError(f"{what}: bridge status {status!r}", status)
        return status

    def info(self, n):
        """The first ``n`` descriptor bytes."""
        self.port.write(request(Command.INFO))
        data, status = self._answer(n, "INFO")
        self._check(status, "INFO")
        return data

    def write_regs(self, addr, words):
        """Write 32-bit ``words`` to consecutive registers from byte address ``addr``."""
        words = list(words)
        payload = struct.pack(f"<{len(words)}I", *words)
        self.port.write(request(Command.REG_WRITE, addr, len(words), payload))
        self._check(self._answer(0, f"REG_WRITE 0x{addr:x}")[1], f"REG_WRITE 0x{addr:x}")

    def read_regs(self, addr, count):
        """Read ``count`` 32-bit words from consecutive registers from ``addr``."""
        self.port.write(request(Command.REG_READ, addr, count))
        data, status = self._answer(4 * count, f"REG_READ 0x{addr:x}")
        self._check(status, f"REG_READ 0x{addr:x}")
        return list(struct.unpack(f"<{count}I", data))

    def stream_write(self, stream, frame, *, last=True):
        """Send ``frame`` (bytes, whole beats, little-endian beats) on source ``stream``;
        ``tlast`` on its final beat if ``last``."""
        width = self.source_bytes[stream]
        if len(frame) % width:
            raise ValueError(f"a frame for stream {stream} must be whole {width}-byte beats, "
                             f"not {len(frame)} bytes")
        cmd = Command.STREAM_WRITE | (LAST if last else 0)
        self.port.write(request(cmd, stream, len(frame) // width, frame))
        self._check(self._answer(0, f"STREAM_WRITE {stream}")[1], f"STREAM_WRITE {stream}")

    def stream_read(self, stream, count):
        """Receive ``count`` beats from sink ``stream``; return their bytes and whether the
        final beat carried ``tlast``."""
        width = self.sink_bytes[stream]
        self.port.write(request(Command.STREAM_READ, stream, count))
        data, status = self._answer(width * count, f"STREAM_READ {stream}")
        self._check(status, f"STREAM_READ {stream}", allowed=Status.LAST | Status.NULL)
        return data, bool(status & Status.LAST)
