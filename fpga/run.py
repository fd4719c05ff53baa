"""Host side of ``cimtile fpga run``: a board (or its simulation) behind the UART bridge.

The transport is anything with ``write(bytes)`` and ``read(n)``: a pyserial port on real
hardware, the cocotb UART model in the board's co-simulation. :func:`connect` checks that
the board was built for the config and returns a :class:`Board`, which programs weights by
the tile's write-verify engine and computes batches through the host tile's streams.

The host tile buffers little (an input FIFO of ``[host] input_fifo_vectors`` vectors, one result
or cell beat in each output framer) and the bridge serves one request at a time, so the
host interleaves its requests: a request never pushes more than the tile can take while
its outputs wait to be read.
"""

import time

import numpy as np

from cimtile.models.program import Rectangle
from cimtile.models.repair import BoardArray, repair
from cimtile.spec.axis_frames import pack_targets, pack_vectors, unpack_cells, unpack_vectors
from cimtile.spec.host_driver import (SOFT_RESET, START, Refused, compute, drive, load_remap,
                                      program, read_remap, write_register)
from cimtile.spec.mapping import weight_levels
from cimtile.spec.regmap import ErrorCause, register

from ..hdl.write_verify import target_code
from .protocol import (MAGIC, PROTOCOL_VERSION, SINKS, SOURCES, BridgeClient, ProtocolError,
                       Status, config_digest)

__all__ = ["BoardMismatch", "BoardError", "Board", "BridgePort", "connect", "open_serial",
           "run_weights"]

INFO_BYTES = len(MAGIC) + 1 + 4
CELL_BYTES = 4


class BoardMismatch(RuntimeError):
    """The board does not speak the bridge protocol, or was built for another config."""


class BoardError(RuntimeError):
    """The board refused a request or did not do what was asked; the message says which."""


def connect(port, config):
    """The :class:`Board` behind ``port``, after checking that it was built for ``config``.

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
    return Board(client, config)


def open_serial(path, baud, *, timeout=2.0):
    """Open a serial port as the bridge's transport (8N1, no flow control)."""
    import serial
    return serial.Serial(path, baudrate=baud, bytesize=8, parity="N", stopbits=1,
                         timeout=timeout)


def _padded(nbytes, beat):
    return -(-nbytes // beat) * beat


class BridgePort:
    """The host tile's registers and streams through the UART bridge: the port the host
    driver's sequences (:mod:`cimtile.spec.host_driver`) run over on a board.

    The host tile buffers little, so batches and targets go out in pieces it can always
    take, each followed by reading what it produced."""

    def __init__(self, client, config):
        self.client, self.config = client, config
        self.beat = config.host.data_width // 8

    def read(self, name):
        return self.client.read_regs(register(name).offset, 1)[0]

    def write(self, name, word):
        """Whether the register block took the write."""
        try:
            self.client.write_regs(register(name).offset, [word])
        except ProtocolError as error:
            if error.status != Status.ERROR:
                raise
            return False
        return True

    def check_status(self, what):
        status = register("STATUS").unpack(self.read("STATUS"))
        if status["error"]:
            raise BoardError(f"{what}: the tile flagged {ErrorCause(status['cause']).name}")

    def program(self, run):
        """Start write-verify and send the targets of `run` (a
        :class:`~cimtile.spec.host_driver.Program`) one beat per request, reading the cell
        results each produced, so the tile never waits on a full cell-result framer while
        the bridge pushes.

        Raises
        ------
        BoardError
            The start was refused, the tile flagged an error, or the results did not end
            with TLAST.
        """
        if not self.write("CTRL", START):
            cause = register("STATUS").unpack(self.read("STATUS"))["cause"]
            raise BoardError(str(Refused("CTRL", START, cause)))
        targets, cfg = run.targets, self.config
        frame = pack_targets(targets, cfg.host.data_width)
        answers, read_beats, last = bytearray(), 0, False
        for first in range(0, targets.size, self.beat):
            done = min(first + self.beat, targets.size)
            self.client.stream_write(SOURCES.index("target"), frame[first:first + self.beat],
                                     last=done == targets.size)
            beats = _padded(CELL_BYTES * done, self.beat) // self.beat - read_beats
            data, last = self.client.stream_read(SINKS.index("cell"), beats)
            answers += data
            read_beats += beats
        self.check_status("programming")
        if not last:
            raise BoardError("programming: the cell results did not end with TLAST")
        return unpack_cells(answers, targets.size, cfg.host.data_width)

    def compute(self, batch):
        """Results of `batch` (a :class:`~cimtile.spec.host_driver.Compute`): its vectors go
        out ``[host] input_fifo_vectors`` at a time, the most the tile's input FIFO takes whatever
        its output waits for, and their results are read before the next.

        Raises
        ------
        BoardError
            The tile flagged an error, or the batch's last result came without TLAST.
        """
        cfg, width = self.config, self.config.host.data_width
        X = np.asarray(batch.X, np.int64)
        frame = pack_vectors(X, cfg.tile.in_bits, width)
        in_bytes = len(frame) // len(X)
        out_beats = _padded(cfg.tile.cols * -(-cfg.result_width // 8), self.beat) // self.beat
        answers, last = bytearray(), False
        fifo = cfg.host.input_fifo_vectors
        for first in range(0, len(X), fifo):
            n = min(fifo, len(X) - first)
            self.client.stream_write(SOURCES.index("in"),
                                     frame[first * in_bytes:(first + n) * in_bytes],
                                     last=first + n == len(X))
            data, last = self.client.stream_read(SINKS.index("out"), n * out_beats)
            answers += data
        self.check_status("compute")
        if not last:
            raise BoardError("compute: the batch's last result came without TLAST")
        return unpack_vectors(answers, cfg.result_width, cfg.tile.cols, width)


class Board:
    """The host tile of a board, through its bridge: the host driver's sequences over a
    :class:`BridgePort`.

    Parameters
    ----------
    client : BridgeClient
    config : Config
        The config the board was built for.

    Every method raises :class:`BoardError` when the tile refuses a register write (the
    message gives ``STATUS.cause``) or flags an error.
    """

    def __init__(self, client, config):
        self.client, self.config = client, config
        self.port = BridgePort(client, config)

    def _drive(self, sequence):
        try:
            return drive(sequence, self.port)
        except Refused as refused:
            raise BoardError(str(refused)) from None

    def read(self, name):
        """The value of register ``name``."""
        return self.port.read(name)

    def write(self, name, value):
        """Write ``value`` to register ``name``."""
        self._drive(write_register(name, value))

    def soft_reset(self):
        """Return the datapath to idle and clear the counters, events and errors."""
        self.write("CTRL", SOFT_RESET)

    def load_remap(self, remap):
        """Load every entry of the column remap table `remap` (the tile may hold an
        earlier session's)."""
        self._drive(load_remap(self.config, remap, every=True))

    def read_remap(self):
        """The column remap table the tile holds."""
        return self._drive(read_remap(self.config))

    def program(self, levels):
        """Program cell ``levels`` (rows x physical columns) into the whole array by
        write-verify, with the config's ``[write_verify]`` settings.

        Returns
        -------
        CellResults
            Per cell, row-major: pulses, converged and the last verify read's code.

        Raises
        ------
        BoardError
            Also when a cell did not reach its level (``code`` differs from the level's
            verify code).
        """
        cfg = self.config
        shape = (cfg.tile.rows, cfg.cols_phys)
        if np.shape(levels) != shape:
            raise ValueError(f"levels must be shaped {shape}, not {np.shape(levels)}")
        cells = self.program_rect(levels, Rectangle.whole(*shape))
        targets = np.asarray(levels, np.int64).reshape(-1)
        expected = target_code(targets, bits_per_cell=cfg.tile.bits_per_cell,
                               adc_bits=cfg.tile.adc_bits)
        off = np.flatnonzero((cells.code != expected) | (cells.converged == 0))
        if off.size:
            row, col = divmod(int(off[0]), shape[1])
            raise BoardError(f"programming: {off.size} of {targets.size} cells did not reach "
                             f"their level (first: row {row}, physical column {col})")
        return cells

    def program_rect(self, levels, rect):
        """Program the rectangle `rect` of cell ``levels`` (rows x physical columns) by
        write-verify and return its cells' results (row-major over `rect`), whether they
        converged or not: the repair flow decides what a failed cell means."""
        targets = np.asarray(levels, np.int64)[rect.row_first:rect.row_last + 1,
                                               rect.col_first:rect.col_last + 1].reshape(-1)
        return self._drive(program(self.config, targets, targets.size,
                                   self.config.write_verify, rect))[0]

    def compute(self, X, *, in_bits=None, adc_shift=None):
        """Results (int64, shaped (N, cols)) of the input vectors ``X``, one batch: TLAST
        after the last vector."""
        return self._drive(compute(self.config, X, in_bits=in_bits, adc_shift=adc_shift))


def run_weights(board, W, batches):
    """Program weights ``W`` into ``board`` by write-verify, then compute every batch.

    Parameters
    ----------
    board : Board
    W : array (rows, cols) of int
    batches : list of arrays (N, rows) of int

    With spare columns the weights are programmed by the repair flow
    (:func:`cimtile.models.repair.repair`), which also writes the remap table.

    Returns
    -------
    (list of numpy.ndarray, CellResults or RepairOutcome, dict)
        The results of each batch, the per-cell programming results (the repair's outcome
        with spares), and a report: cells programmed, pulses, vectors, the tile's
        PULSE_COUNT and MVM_COUNT, the wall times of programming and compute, and with
        spares the repair's report and the remap table.
    """
    board.soft_reset()
    start = time.perf_counter()
    levels = weight_levels(W, board.config)
    repaired = {}
    if board.config.tile.spare_cols:
        # The table may hold an earlier session's entries: repair writes every one.
        cells = repair(board.config, levels, BoardArray(board))
        repaired = {"repair": cells.report(), "remap": cells.remap.tolist()}
    else:
        cells = board.program(levels)
    program_s = time.perf_counter() - start
    pulse_count = board.read("PULSE_COUNT")
    start = time.perf_counter()
    results = [board.compute(X) for X in batches]
    compute_s = time.perf_counter() - start
    vectors = sum(len(X) for X in batches)
    report = {
        "cells": board.config.tile.rows * board.config.cols_phys,
        "pulses": int(cells.pulses.sum()) if not repaired else None,
        "pulse_count": pulse_count,
        "vectors": vectors,
        "mvm_count": board.read("MVM_COUNT"),
        "program_s": round(program_s, 3),
        "compute_s": round(compute_s, 3),
        "mvm_per_s": round(vectors / compute_s, 1) if compute_s else None,
    } | repaired
    return results, cells, report
