"""The functional coverage model of the host tile: which bins there are, for a tile.

Declared once, by :func:`declare_bins`, for a configuration: the RTL monitor
(:mod:`cimtile.tb.tops.coverage_monitor`) builds one counter per declared bin and refuses to
elaborate if its conditions and this list differ, and the regression merges and reports
counts by these names. Bins that no stimulus can reach on a tile are not declared for it
(the top ADC code where no count reaches it, see :func:`clip_reachable`; the remap table's
entries on a tile without spare columns; the other schedule's bins, see
:func:`schedule_bins`).
"""

from typing import NamedTuple

from cimtile.spec.regmap import REGISTERS, Access, ErrorCause, Mode

__all__ = ["ARBITRATED", "BUSY_ACCEPTED", "BUSY_REFUSED", "Bin", "COUNT_BITS", "MANY",
           "MODES", "SOFT_RESET_STATES", "clip_reachable", "declare_bins", "schedule_bins",
           "unpack_counts"]

#: Bits of each bin's saturating counter.
COUNT_BITS = 16
#: Where a soft reset can land, as far as the ports show it.
SOFT_RESET_STATES = ("idle", "computing", "out_stalled", "in_full", "programming",
                     "pulse_wait", "read_back", "cell_stalled")
#: Names of the modes in bin names.
MODES = {Mode.COMPUTE: "compute", Mode.PROGRAM: "program", Mode.READ_BACK: "read_back"}
#: Cycles a stalled output beat waits before its stall counts as "many".
MANY = 8
#: What a write while busy is refused for (CTRL only for its start), and the writable
#: registers a write to which is accepted while busy.
BUSY_REFUSED = tuple(r.name for r in REGISTERS if r.busy_guarded) + ("CTRL.start",)
BUSY_ACCEPTED = tuple(r.name for r in REGISTERS
                      if r.access in (Access.RW, Access.W1C) and not r.busy_guarded)
#: Events the status and interrupt logic arbitrates that a scenario can raise in one cycle.
ARBITRATED = ("done and error in one cycle", "soft reset and start in one write",
              "done and its W1C clear in one cycle")


class Bin(NamedTuple):
    """One coverage bin: ``group`` (the table's row) and ``name`` within it."""
    group: str
    name: str

    def __str__(self):
        return f"{self.group}/{self.name}"


def declare_bins(cfg):
    """The bins the monitor counts for a tile of `cfg`, in counter order."""
    in_max, shift_max = cfg.tile.in_bits, cfg.adc_shift_max
    bins = [("settings", f"in_bits={i},adc_shift={s}")
            for i in range(1, in_max + 1) for s in range(shift_max + 1)]
    bins += [("settings", f"mode {MODES[a]}->{MODES[b]}")
             for a in Mode for b in Mode if a != b]
    bins += [("settings", name) for name in (
        "refused in_bits=0", f"refused in_bits={in_max + 1}",
        f"refused adc_shift={shift_max + 1}", "refused mode=3")]
    bins += [("arithmetic", f"code 0 at adc_shift={s}") for s in range(shift_max + 1)]
    bins += [("arithmetic", f"code max (clipped) at adc_shift={s}")
             for s in range(shift_max + 1) if clip_reachable(cfg, s)]
    bins += [("arithmetic", name) for name in (
        "plane all zero", "plane all ones", "input most negative", "input most positive")]
    bins += [("stream", name) for name in (
        "input gap", "input fifo full", "input empty mid-batch", "output stall 0",
        "output stall 1", f"output stall 2..{MANY - 1}", f"output stall >={MANY}",
        "batch of 1", f"batch 2..{MANY - 1}", f"batch >={MANY}", "frame closed by null beat",
        "tkeep error", "early tlast")]
    bins += [("reset", f"soft reset while {state}") for state in SOFT_RESET_STATES]
    bins += [("registers", f"read {r.name}") for r in REGISTERS]
    bins += [("registers", f"write {r.name}") for r in REGISTERS]
    bins += [("registers", name) for name in ("read unmapped", "write unmapped")]
    bins += [("registers", f"cause {c.name}") for c in ErrorCause if c != ErrorCause.NONE]
    bins += [("interrupts", name) for name in (
        "irq raised on done", "irq raised on error", "irq raised, both enabled",
        "irq cleared by W1C", "irq cleared by soft reset", "done and error pending",
        "one of two cleared, other kept")]
    bins += [("write_verify", name) for name in (
        "converged with 0 pulses", "converged after pulses", "failed at max_pulses",
        "SET pulses only", "RESET pulses only", "polarity flip", "SET amplitude at limit",
        "RESET amplitude at limit", "run with tol=0", "run with max_pulses=1",
        "single-cell rectangle", "read-back run")]
    bins += [("busy", f"{name} refused while busy") for name in BUSY_REFUSED]
    bins += [("busy", f"{name} accepted while busy") for name in BUSY_ACCEPTED]
    bins += [("arbitration", name) for name in ARBITRATED]
    bins += [("schedule", name) for name in schedule_bins(cfg)]
    bins += [("remap", name) for name in ("refused: column beyond the data columns",
                                          "refused: spare beyond the spares")]
    spares = cfg.tile.spare_cols
    if spares:
        bins += [("remap", f"entry set to spare {k}") for k in range(1, spares + 1)]
        bins += [("remap", name) for name in (
            "entry cleared", "first data column remapped", "last data column remapped",
            "MVM with a remapped column", "MVM with every spare in use")]
    return [Bin(*b) for b in bins]


def schedule_bins(cfg):
    """The ``schedule`` bins of a tile of `cfg`, ``{name: paced}``, named by its analog
    schedule. A paced bin is hit by a sample ``plane_cycles`` after the previous one, the
    steady-state pace of that schedule and conversion rate, so a tile that runs its planes
    slower (or never back to back) leaves it at 0: one for the schedule, one where a step
    converts several columns and one where the last step converts fewer. The other is hit
    by a vector's plane sampled later than that pace after its previous plane, which only
    a full result path does (the controller holds a converted plane until the result path
    frees)."""
    t = cfg.tile
    schedule = "pipelined" if t.pipeline else "unpipelined"
    bins = {f"{schedule}, planes back to back": True,
            f"{schedule}, a plane held back by a full result path": False}
    per_step = cfg.timing.adc_per_step
    if min(per_step, t.cols_per_adc) > 1:
        bins["several conversions a cycle, planes back to back"] = True
        if t.cols_per_adc % per_step:
            bins["short last step, planes back to back"] = True
    return bins


def clip_reachable(cfg, adc_shift):
    """Whether the largest column count (every wordline on, every cell at its top level)
    reaches the ADC's top code at `adc_shift` (round half up, as the ideal ADC does): at the
    largest shifts it may not, and that bin is then not declared."""
    count = cfg.tile.rows * cfg.max_level
    return (count + (1 << adc_shift >> 1)) >> adc_shift >= cfg.max_code


def unpack_counts(value, count):
    """The `count` counters packed in the integer `value` of ``cov__counts`` (bin 0 lowest)."""
    mask = (1 << COUNT_BITS) - 1
    return [(value >> (COUNT_BITS * i)) & mask for i in range(count)]
