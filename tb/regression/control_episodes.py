"""Episodes of the random scenarios that exercise the register block's control rules.

- :func:`remap_table`: the column remap table written (legal entries, and entries refused
  for a column beyond the data columns or a spare beyond the spares), read back, then a
  batch checked against the golden model reading through the same table;
- :func:`busy_refusals`: every writable register written while the tile is busy, the
  refused ones each with cause BUSY and read back unchanged, the others accepted;
- :func:`arbitration`: events the status and interrupt logic arbitrates raised in the same
  cycle: done and error together (a start the write-verify engine refuses), a soft reset
  written with a start, and W1C clears of done while a batch of one-vector frames raises
  done every few cycles.

Each takes the :class:`~cimtile.tb.regression.scenario_builder.ScenarioBuilder` and the weights.
"""

import numpy as np

from cimtile.spec.regmap import ErrorCause, Mode, register

from ..tops.coverage_bins import BUSY_ACCEPTED, BUSY_REFUSED
from ..runs.host_runner import Op
from .scenario_builder import OKAY, SLVERR

__all__ = ["arbitration", "busy_refusals", "remap_table"]

_CTRL, _IRQ_STATUS = register("CTRL"), register("IRQ_STATUS")
_START, _SOFT_RESET = _CTRL.pack(start=1), _CTRL.pack(soft_reset=1)


# The column remap table.

def _new_table(b):
    """A remap table to write next: a few data columns (often the first or the last) on
    spares, every spare in use when there are enough columns."""
    cfg, rng = b.cfg, b.rng
    data, spares = cfg.cols_data, cfg.tile.spare_cols
    table = np.zeros(data, np.int64)
    columns = list(rng.permutation(data)[:int(rng.integers(1, min(data, spares + 1) + 1))])
    for edge in (0, data - 1):
        if edge not in columns and rng.random() < 0.4:
            columns[int(rng.integers(len(columns)))] = edge
    order = np.resize(rng.permutation(spares) + 1, len(columns))
    table[columns] = order
    return table


def _refused_remap(b):
    """A remap write refused with cause REMAP: a column beyond the data columns, or a spare
    beyond the spares."""
    cfg, rng = b.cfg, b.rng
    if rng.random() < 0.5:
        column = int(rng.choice([cfg.cols_data, cfg.cols_data + 1, 0xFFFF]))
        cause = b.write("REMAP_COL", column)
    else:
        spare = int(rng.choice([cfg.tile.spare_cols + 1, cfg.tile.spare_cols + 2, 0xFFFF]))
        cause = b.write("REMAP_SPARE", spare)
    assert cause is ErrorCause.REMAP
    b.status_cause(cause)


def _load(b, table):
    """Write the entries of `table` that differ from the tile's, in random order, with
    refused writes between them, and read a few entries back."""
    rng = b.rng
    for column in rng.permutation(len(table)):
        if table[column] == b.remap[column]:
            continue
        b.write("REMAP_COL", int(column))
        if rng.random() < 0.3:
            _refused_remap(b)
        b.write("REMAP_SPARE", int(table[column]), int(rng.choice([0xF, 0x1, 0x3])))
    for column in rng.choice(len(table), min(len(table), 3), replace=False):
        b.write("REMAP_COL", int(column))
        b.read("REMAP_SPARE")


def remap_table(b, W):
    """A new table (on a tile without spares, the only legal entry, 0), a batch through
    it; sometimes another table, or every entry cleared, and a batch again."""
    cfg, rng = b.cfg, b.rng
    for again in range(int(rng.integers(1, 3))):
        _refused_remap(b)
        if not cfg.tile.spare_cols:
            b.write("REMAP_SPARE", 0)
        elif again and rng.random() < 0.3:
            _load(b, np.zeros(cfg.cols_data, np.int64))
        else:
            _load(b, _new_table(b))
        in_bits, shift = b.run_settings()
        b.settings(in_bits, shift)
        if rng.random() < 0.5:
            b.pauses()
        n = int(rng.choice([3, 8]))
        b.stream(W, n, int(rng.choice([1, n])), in_bits, shift)


# Writes while busy.

def _write_verify_settings(b, **overrides):
    """Write every WV_* register: valid settings over the whole array, with `overrides`
    (field values by ``REGISTER.field``)."""
    cfg = b.cfg
    fields = {"WV_TOL.tol": 1, "WV_SET.start": 60, "WV_SET.step": 10, "WV_SET.limit": 120,
              "WV_RESET.start": 60, "WV_RESET.step": 10, "WV_RESET.limit": 120,
              "WV_PULSE.max_pulses": 3, "WV_PULSE.width": 5, "WV_ROWS.first": 0,
              "WV_ROWS.last": cfg.tile.rows - 1, "WV_COLS.first": 0,
              "WV_COLS.last": cfg.cols_phys - 1} | overrides
    for name in ("WV_TOL", "WV_SET", "WV_RESET", "WV_PULSE", "WV_ROWS", "WV_COLS"):
        reg = register(name)
        values = {f.name: fields[f"{name}.{f.name}"] for f in reg.fields}
        assert b.write(name, reg.pack(**values)) is None


def _any_word(b, reg):
    """A word for `reg` with every field at a random value, in its range or just above."""
    word = 0
    for f in reg.fields:
        lo, hi = f.valid_range(b.cfg)
        value = int(b.rng.integers(lo, hi + 1))
        if hi < (1 << f.width) - 1 and b.rng.random() < 0.3:
            value = hi + 1
        word |= value << f.lsb
    return word


def busy_refusals(b, W):
    """A write-verify run started with no target to take stays busy until a soft reset
    ends it, however long the writes take; meanwhile every writable register is written
    (the busy check comes before the range checks, so values out of range are refused
    with cause BUSY too). Not after a cut programming run, whose unsent targets the run
    would take."""
    cfg, rng = b.cfg, b.rng
    if b.stale_targets:
        return
    _write_verify_settings(b)
    b.settings(cfg.tile.in_bits, 0, Mode.PROGRAM)
    b.write("IRQ_STATUS", _IRQ_STATUS.pack(done=1, error=1))
    b.op(Op.write(_CTRL.offset, _START), kind="resp", expect=OKAY)
    b.busy = True
    b.status(busy=1)
    for name in rng.permutation(BUSY_REFUSED + BUSY_ACCEPTED):
        if name == "CTRL.start":
            b.op(Op.write(_CTRL.offset, _START), kind="resp", expect=SLVERR)
            b.status_cause(ErrorCause.BUSY)
        elif name in BUSY_REFUSED:
            assert b.write(name, _any_word(b, register(name))) is ErrorCause.BUSY
            b.status_cause(ErrorCause.BUSY)
        elif name == "IRQ_STATUS":
            b.write(name, _IRQ_STATUS.pack(done=1, error=1))
        elif name == "REMAP_COL":
            b.write(name, int(rng.integers(cfg.cols_data)))
            b.read("REMAP_SPARE")
        else:
            b.write(name, _any_word(b, register(name)))
        b.status(busy=1)
    for name in BUSY_REFUSED:
        if name != "CTRL.start":
            b.read(name)
    b.op(Op.write(_CTRL.offset, _SOFT_RESET), kind="resp", expect=OKAY)
    b.busy = False
    b.op(Op.idle(8))
    b.status()
    b.settings(cfg.tile.in_bits, 0)


# Events raised in the same cycle.

def _invalid_write_verify(b):
    """WV_* settings each in its field's range but refused together by the write-verify
    engine at start."""
    cfg, rng = b.cfg, b.rng
    choices = [{"WV_SET.start": 130}, {"WV_RESET.start": 130}, {"WV_SET.step": 0},
               {"WV_RESET.step": 0}, {"WV_PULSE.max_pulses": 0}, {"WV_PULSE.width": 0}]
    if cfg.tile.rows > 1:
        choices.append({"WV_ROWS.first": 1, "WV_ROWS.last": 0})
    if cfg.cols_phys > 1:
        choices.append({"WV_COLS.first": 1, "WV_COLS.last": 0})
    _write_verify_settings(b, **choices[int(rng.integers(len(choices)))])


def _done_and_error(b, W):
    """A start the write-verify engine refuses ends the run at once: done and error in
    the same cycle, both kept, the cause WV_SETTINGS."""
    _invalid_write_verify(b)
    b.settings(b.cfg.tile.in_bits, 0, Mode(int(b.rng.choice([Mode.PROGRAM, Mode.READ_BACK]))))
    b.write("IRQ_STATUS", _IRQ_STATUS.pack(done=1, error=1))
    b.op(Op.write(_CTRL.offset, _START), kind="resp", expect=OKAY)
    b.op(Op.idle(4))
    b.status(done=1, error=1, cause=int(ErrorCause.WV_SETTINGS))
    b.op(Op.read(_IRQ_STATUS.offset), kind="read", expect=_IRQ_STATUS.pack(done=1, error=1))
    b.write("IRQ_STATUS", _IRQ_STATUS.pack(done=1, error=1))


def _reset_with_start(b, W):
    """A soft reset written with a start wins: no run starts (one would wait for targets,
    busy), and no flag is left."""
    _write_verify_settings(b)
    b.settings(b.cfg.tile.in_bits, 0, Mode.PROGRAM)
    b.op(Op.write(_CTRL.offset, _START | _SOFT_RESET), kind="resp", expect=OKAY)
    b.op(Op.idle(8))
    b.status()


def _clears_beside_done(b, W):
    """One-vector frames raise done every MVM while the host clears done again and again
    (a VIP write every 4 cycles, over part of the batch): some clears land on a done's
    cycle, where the done must win."""
    cfg, rng = b.cfg, b.rng
    in_bits = int(rng.choice([1, cfg.tile.in_bits]))
    b.settings(in_bits, 0)
    b.op(Op.pauses())
    n = int(rng.integers(8, 17))
    X = b.inputs(n, in_bits)
    b.op(Op.send(b.array(X), 1))
    mvm = in_bits * cfg.plane_cycles
    for _ in range(n * (mvm + 8) // 10 + 1):
        b.op(Op.write(_IRQ_STATUS.offset, _IRQ_STATUS.pack(done=1)), kind="resp", expect=OKAY)
    b.op(Op.collect(n, b.budget * (1 + n // 8)), kind="results",
         expect=b.golden(W, X, in_bits, 0), frames=n)
    b.counted(n * in_bits)
    b.write("IRQ_STATUS", _IRQ_STATUS.pack(done=1, error=1))


def arbitration(b, W):
    """Done and error together, a soft reset with a start, and (VIP drive: sending
    without waiting is the VIP's) clears beside done, in random order."""
    parts = [_done_and_error, _reset_with_start]
    if b.sc.drive == "vip":
        parts.append(_clears_beside_done)
    for index in b.rng.permutation(len(parts)):
        parts[index](b, W)
    b.settings(b.cfg.tile.in_bits, 0)
