"""Board tops of a chip: the chip host behind the UART bridge, each tile answered by a
crossbar emulator.

:class:`ChipBoardCore` is platform independent (two serial lines and an interrupt), as the
tile's :class:`~.top.BoardCore` is; :class:`ChipBoardTop` wires it to a board's UART and
LED through an amaranth-boards platform. The bridge's source streams are ``image`` (0) and
``target`` (1), its sinks ``scores`` (0) and ``cell`` (1), packed as docs/chip_host.md
says; its ``INFO`` answer is :func:`chip_info_bytes`.
"""

import dataclasses
import json
import zlib

from amaranth.hdl import Module
from amaranth.lib import wiring

from ..hdl.chip_host import ChipHost
from ..hdl.crossbar_emulator import CrossbarEmulator
from .protocol import PROTOCOL_VERSION
from .top import DEFAULT_BAUD, OnBoard, SerialCore

__all__ = ["CHIP_MAGIC", "CHIP_SOURCES", "CHIP_SINKS", "chip_info_bytes", "ChipBoardCore",
           "ChipBoardTop"]

CHIP_MAGIC = b"CIMC"
#: Stream numbers of the bridge (``STREAM_WRITE`` / ``STREAM_READ`` address field).
CHIP_SOURCES = ("image", "target")
CHIP_SINKS = ("scores", "cell")


def chip_info_bytes(chip):
    """The bridge's ``INFO`` answer: magic, protocol version and the CRC-32 of everything
    in `chip` that shapes the hardware (little-endian), so that a board built for one
    chip refuses to be driven as another."""
    fields = {"chip": dataclasses.asdict(chip.chip)} | {
        name: dataclasses.asdict(getattr(chip.tile, name)) for name in ("tile", "timing", "host")}
    fields["chip"].pop("tile")      # the file's name: its contents are in the others
    digest = zlib.crc32(json.dumps(fields, sort_keys=True, default=str).encode())
    return CHIP_MAGIC + bytes([PROTOCOL_VERSION]) + digest.to_bytes(4, "little")


class ChipBoardCore(SerialCore):
    """UART bridge, chip host and a crossbar emulator per tile.

    Parameters
    ----------
    chip : ChipConfig
    divisor, timeout : int
        As :class:`~.top.SerialCore`'s.
    """

    def __init__(self, chip, *, divisor, timeout):
        self.chip = chip
        super().__init__(divisor=divisor, timeout=timeout)

    def elaborate(self, platform):
        m = Module()
        m.submodules.host = host = ChipHost(self.chip)
        lines = self._bridge(m, host, width=self.chip.tile.host.data_width,
                             sources=CHIP_SOURCES, sinks=CHIP_SINKS,
                             info=chip_info_bytes(self.chip))
        for t in range(self.chip.chip.tiles):
            m.submodules[f"emulator{t}"] = emulator = CrossbarEmulator(self.chip.tile)
            wiring.connect(m, host.analog[t], emulator.analog)
            m.d.comb += emulator.l_stream.valid.eq(0)
        m.d.comb += lines
        return m


class ChipBoardTop(OnBoard):
    """:class:`ChipBoardCore` on a board.

    Parameters
    ----------
    chip : ChipConfig
    baud : int
        As :class:`~.top.OnBoard`'s.
    """

    def __init__(self, chip, *, baud=DEFAULT_BAUD):
        self.chip = chip
        super().__init__(baud=baud)

    def _core(self, *, divisor, timeout):
        return ChipBoardCore(self.chip, divisor=divisor, timeout=timeout)
