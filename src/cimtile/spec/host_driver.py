"""Register words that drive a tile through its host interface.

The co-simulation (:mod:`cimtile.tb.runs.host_runner`) and a board session
(:mod:`cimtile.fpga.run`) program, read back and compute with the same register writes;
they differ only in how a write reaches the bus.
"""

from .mapping import check_remap
from .regmap import Mode, register

__all__ = ["settings_word", "write_verify_writes", "program_writes", "remap_writes",
           "START", "SOFT_RESET"]

#: CTRL words.
START = register("CTRL").pack(start=1)
SOFT_RESET = register("CTRL").pack(soft_reset=1)


def settings_word(cfg, mode=Mode.COMPUTE, in_bits=None, adc_shift=None):
    """The SETTINGS word for `mode` at the run-time settings (default: the configured ones)."""
    tile = cfg.tile
    return register("SETTINGS").pack(
        mode=int(mode), in_bits=tile.in_bits if in_bits is None else in_bits,
        adc_shift=tile.adc_shift if adc_shift is None else adc_shift)


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
