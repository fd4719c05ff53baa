"""The host driver: how a tile is programmed, read back and made to compute, written once.

The sequences (:func:`compute`, :func:`program`, :func:`load_remap`, :func:`read_remap`) are
generators that yield bus transactions (:class:`Write`, :class:`Read`, :class:`Compute`,
:class:`Program`) and take each one's answer back, so they run unchanged over any port that
answers them: the co-simulation's VIP and bulk ports (:mod:`cimtile.tb.benches.host_ports`,
awaited inside the simulator) and a board's UART bridge (:mod:`cimtile.fpga.run`, run by
:func:`drive`). A port decides how a batch's frames move (all queued, through rings, a FIFO's
worth at a time); the sequence decides which registers are written, in which order, and what
a refusal means.
"""

from dataclasses import dataclass

import numpy as np

from .mapping import check_remap
from .regmap import ErrorCause, Mode, register

__all__ = ["Write", "Read", "Compute", "Program", "Refused", "drive", "answer", "write_register",
           "load_remap", "read_remap", "compute", "program", "settings_word",
           "write_verify_writes", "program_writes", "remap_writes", "START", "SOFT_RESET"]


@dataclass(frozen=True)
class Write:
    """Write `word` to register `name`; the port answers whether the tile took it."""
    name: str
    word: int


@dataclass(frozen=True)
class Read:
    """Read register `name`; the port answers its word."""
    name: str


@dataclass(frozen=True)
class Compute:
    """Send the input vectors `X` as one batch and collect their results, at the run-time
    settings and with the column `remap` table (None: none) the tile was given; `options`
    are the port's own (e.g. frames, cycle budget)."""
    X: object
    in_bits: int
    adc_shift: int
    remap: object
    options: dict


@dataclass(frozen=True)
class Program:
    """Start write-verify (CTRL.start) on the rectangle the WV_* registers hold, send the
    `targets` (levels in rectangle order; None reads back) and collect the per-cell results;
    the port answers them, or ``None`` if the tile refused the start."""
    targets: object
    cells: int
    settings: object
    rect: object
    options: dict


class Refused(RuntimeError):
    """The tile refused a register write; the message names the register, the word and
    the cause STATUS gave."""

    def __init__(self, name, word, cause):
        super().__init__(f"{name} write 0x{word:08x} refused ({ErrorCause(cause).name})")
        self.name, self.word, self.cause = name, word, cause


def drive(sequence, port):
    """Run `sequence` over a port whose methods ``write``, ``read``, ``compute`` and
    ``program`` answer the transactions; its return value."""
    reply = None
    try:
        while True:
            reply = answer(port, sequence.send(reply))
    except StopIteration as stop:
        return stop.value


def answer(port, transaction):
    """What `port`'s method for `transaction` returns: the answer itself, or an awaitable of
    it from a port inside the simulator."""
    if isinstance(transaction, Write):
        return port.write(transaction.name, transaction.word)
    if isinstance(transaction, Read):
        return port.read(transaction.name)
    if isinstance(transaction, Compute):
        return port.compute(transaction)
    return port.program(transaction)


def write_register(name, word):
    """Write `word` to register `name`.

    Raises
    ------
    Refused
        The tile refused it (the cause read from STATUS)."""
    if not (yield Write(name, word)):
        status = register("STATUS").unpack((yield Read("STATUS")))
        raise Refused(name, word, status["cause"])


def load_remap(cfg, remap, *, every=False):
    """Load the column remap table `remap` (see :func:`remap_writes`)."""
    for name, word in remap_writes(cfg, remap, every=every):
        yield from write_register(name, word)


def read_remap(cfg):
    """The column remap table the tile holds: each entry selected, then read."""
    col, spare = register("REMAP_COL"), register("REMAP_SPARE")
    table = []
    for column in range(cfg.cols_data):
        yield from write_register("REMAP_COL", col.pack(col=column))
        table.append(spare.unpack((yield Read("REMAP_SPARE")))["spare"])
    return np.array(table, np.int64)


def compute(cfg, X, *, in_bits=None, adc_shift=None, remap=None, **options):
    """Compute the batch `X` at the run-time settings (default: the configured ones),
    after loading `remap` if given; the port's answer to the batch."""
    at = cfg.at(in_bits, adc_shift)
    if remap is not None:
        yield from load_remap(cfg, remap)
    yield from write_register("SETTINGS", settings_word(at, Mode.COMPUTE))
    return (yield Compute(X, at.tile.in_bits, at.tile.adc_shift, remap, options))


def program(cfg, targets, cells, settings, rect, *, read_back=False, runs=1, **options):
    """Program the rectangle `rect` with `targets` (or read it back) by write-verify at
    `settings`, `runs` times; the port's answers to the runs."""
    for name, word in program_writes(cfg, settings, rect, read_back=read_back):
        yield from write_register(name, word)
    answers = []
    for _ in range(runs):
        answers.append((yield Program(targets, cells, settings, rect, options)))
    return answers

#: CTRL words.
START = register("CTRL").pack(start=1)
SOFT_RESET = register("CTRL").pack(soft_reset=1)


def settings_word(cfg, mode=Mode.COMPUTE, in_bits=None, adc_shift=None):
    """The SETTINGS word for `mode` at the run-time settings (default: the configured ones)."""
    tile = cfg.at(in_bits, adc_shift).tile
    return register("SETTINGS").pack(mode=int(mode), in_bits=tile.in_bits,
                                     adc_shift=tile.adc_shift)


def write_verify_writes(settings, rect):
    """``(register name, word)`` of every WV_* register for write-verify `settings` over
    the rectangle `rect`."""
    s = settings
    fields = [
        ("WV_TOL", dict(tol=s.tol)),
        ("WV_SET", dict(start=s.set_start, step=s.set_step, limit=s.set_limit)),
        ("WV_RESET", dict(start=s.reset_start, step=s.reset_step, limit=s.reset_limit)),
        ("WV_PULSE", dict(max_pulses=s.max_pulses, width=s.pulse_width)),
        ("WV_ROWS", dict(first=rect.row_first, last=rect.row_last)),
        ("WV_COLS", dict(first=rect.col_first, last=rect.col_last)),
    ]
    return [(name, register(name).pack(**values)) for name, values in fields]


def program_writes(cfg, settings, rect, *, read_back=False):
    """The writes that set up programming (or, with `read_back`, reading back) `rect`;
    each run then starts with CTRL = :data:`START`."""
    mode = Mode.READ_BACK if read_back else Mode.PROGRAM
    return write_verify_writes(settings, rect) + [("SETTINGS", settings_word(cfg, mode))]


def remap_writes(cfg, remap, *, every=False):
    """``(register name, word)`` pairs that load the column remap table `remap` (see
    :func:`cimtile.spec.mapping.check_remap`): REMAP_COL then REMAP_SPARE per entry. After a
    hard reset every entry is 0, so only the others need writing; `every` writes all of
    them, for a tile whose table may hold an earlier run's entries."""
    remap = check_remap(remap, cfg)
    col, spare = register("REMAP_COL"), register("REMAP_SPARE")
    writes = []
    for column in range(cfg.cols_data) if every else map(int, remap.nonzero()[0]):
        writes += [("REMAP_COL", col.pack(col=column)),
                   ("REMAP_SPARE", spare.pack(spare=int(remap[column])))]
    return writes
