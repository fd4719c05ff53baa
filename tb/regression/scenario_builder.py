"""The builder of a random scenario: operations, their expectations, and what a host knows.

Every expectation comes from a reference the builder keeps beside the operations it
appends, never from the RTL: the register map's values and refusal rules (with the column
remap table behind REMAP_SPARE, and whether the tile is known to be busy), and the golden
model reading the array through the remap table the host has written.
"""

import numpy as np

from cimtile.models.golden import golden_mvm
from cimtile.spec.regmap import REGISTERS, Access, ErrorCause, Mode, register

from ..runs.host_runner import Op

__all__ = ["ScenarioBuilder", "OKAY", "SLVERR", "DECERR"]

OKAY, SLVERR, DECERR = 0, 2, 3
_STATUS, _IRQ_STATUS = register("STATUS"), register("IRQ_STATUS")
_SETTINGS = register("SETTINGS")


class ScenarioBuilder:
    """Appends operations to a :class:`~cimtile.tb.regression.random_scenario.Scenario` with their
    checks, keeping the register state a host would know.

    Parameters
    ----------
    sc : Scenario
        Its ``cfg`` is the tile; its ``arrays`` receive the operations' arrays, and ``G``
        (the cells' conductances, when the scenario sets them) there is what the golden
        model reads.
    rng : numpy.random.Generator

    Members
    -------
    regs : dict of str to int
        The value of every RW register but REMAP_SPARE, as the tile holds it.
    remap : numpy.ndarray
        The column remap table (every entry 0 after a hard reset; a soft reset keeps it).
    busy : bool
        The scenario has made the tile busy until it says otherwise: writes to registers
        refused while busy are expected to be refused with cause BUSY.
    requests : int or None
        Analog requests so far (``Op.soft_reset_after`` counts from the start), while known.
    stale_targets : bool
        A programming run was cut while its targets were being sent: the rest may still
        wait on the target stream, for the next run to take.
    """

    def __init__(self, sc, rng):
        self.sc, self.rng, self.cfg = sc, rng, sc.cfg
        self.regs = {r.name: r.reset_value(sc.cfg) for r in REGISTERS
                     if r.access is Access.RW and r.name != "REMAP_SPARE"}
        self.remap = np.zeros(sc.cfg.cols_data, np.int64)
        self.busy = False
        self.budget = 40 * (sc.cfg.analog_cycles_per_mvm + 64) + 4000
        self.names = 0
        self.requests = 0
        self.stale_targets = False

    # Operations with their checks.

    def op(self, operation, **check):
        self.sc.ops.append(operation)
        if check:
            self.sc.checks.append({"op": len(self.sc.ops) - 1, **check})
        return len(self.sc.ops) - 1

    def array(self, value):
        self.names += 1
        name = f"a{self.names}"
        self.sc.arrays[name] = np.asarray(value)
        return name

    # The register map's reference model.

    def value(self, name):
        """The word register `name` (RW) reads as now."""
        if name == "REMAP_SPARE":
            return int(self.remap[self.regs["REMAP_COL"]])
        return self.regs[name]

    def expected_write(self, reg, value, strobe):
        """``(resp, cause, new value)`` of writing `value` with `strobe` to `reg`."""
        if reg.access is Access.RO:
            return SLVERR, ErrorCause.READ_ONLY, None
        if self.busy and reg.busy_guarded:
            return SLVERR, ErrorCause.BUSY, None
        if reg.access is not Access.RW:
            return OKAY, None, None
        mask = sum(0xFF << 8 * lane for lane in range(4) if strobe >> lane & 1)
        word = (self.value(reg.name) & ~mask) | (value & mask)
        for f in reg.fields:
            lo, hi = f.valid_range(self.cfg)
            if not lo <= (word & f.mask) >> f.lsb <= hi:
                return SLVERR, f.cause, None
        return OKAY, None, word & sum(f.mask for f in reg.fields)

    def write(self, name, value, strobe=0xF):
        """Write register `name`, expecting the model's response; returns the refusal's
        cause, or None."""
        reg = register(name)
        resp, cause, word = self.expected_write(reg, value, strobe)
        self.op(Op.write(reg.offset, value, strobe), kind="resp", expect=resp)
        if word is not None:
            if name == "REMAP_SPARE":
                self.remap[self.regs["REMAP_COL"]] = word
            else:
                self.regs[name] = word
        return cause

    def read(self, name):
        reg = register(name)
        if reg.access is Access.RW:
            self.op(Op.read(reg.offset), kind="read", expect=self.value(name))
        elif reg.access is Access.WO:
            self.op(Op.read(reg.offset), kind="read", expect=0)
        elif not reg.volatile:
            self.op(Op.read(reg.offset), kind="read", expect=reg.reset_value(self.cfg))
        else:
            self.op(Op.read(reg.offset), kind="resp", expect=OKAY)

    def status(self, **fields):
        """Read STATUS expecting exactly `fields` (others 0)."""
        self.op(Op.read(_STATUS.offset), kind="read", expect=_STATUS.pack(**fields))

    def status_cause(self, cause):
        """Read STATUS expecting error set with `cause`, then clear the error."""
        self.op(Op.read(_STATUS.offset), kind="cause", expect=int(cause))
        self.op(Op.write(_IRQ_STATUS.offset, _IRQ_STATUS.pack(error=1)), kind="resp",
                expect=OKAY)

    def settings(self, in_bits, adc_shift, mode=Mode.COMPUTE):
        self.write("SETTINGS", _SETTINGS.pack(mode=int(mode), in_bits=in_bits,
                                              adc_shift=adc_shift))

    # Operands, biased to the corners, and their golden results.

    def inputs(self, n, in_bits):
        lo, hi = -2 ** (in_bits - 1), 2 ** (in_bits - 1) - 1
        rows = self.cfg.tile.rows
        X = self.rng.integers(lo, hi, (n, rows), endpoint=True)
        for i in range(n):
            corner = self.rng.integers(0, 7)
            if corner == 0:
                X[i] = lo                   # every plane all ones
            elif corner == 1:
                X[i] = 0                    # every plane all zero
            elif corner == 2:
                X[i] = hi
            elif corner == 3:
                X[i] = -1                   # all ones, at every in_bits
            elif corner == 4:
                X[i, self.rng.random(rows) < 0.5] = lo
        return X

    def golden(self, W, X, in_bits=None, shift=None):
        """The results the tile must give for `X` now: the golden model on the scenario's
        cells, read through the remap table the host has written."""
        return golden_mvm(self.cfg, W, X, conductances=self.sc.arrays.get("G"),
                          in_bits=in_bits, adc_shift=shift, remap=self.remap.copy())

    def run_settings(self):
        in_max, shift_max = self.cfg.tile.in_bits, self.cfg.adc_shift_max
        in_bits = int(self.rng.choice([1, in_max, self.rng.integers(1, in_max + 1)]))
        shift = int(self.rng.choice([0, shift_max, self.rng.integers(0, shift_max + 1)]))
        return in_bits, shift

    def pauses(self, longest_in=None):
        """Random TVALID gaps and TREADY back-pressure, from none to longer than two MVMs:
        an output held that long fills the result path while vectors keep computing, so
        the controller must hold a converted plane (and, pipelined, the plane sampled
        behind it) until the result path frees."""
        rng = self.rng
        mvm = self.cfg.analog_cycles_per_mvm
        in_max = int(rng.choice([0, 1, 4, longest_in or 2 * mvm + 8]))
        out_max = int(rng.choice([0, 1, 2, 2 * mvm + 8]))
        self.op(Op.pauses(float(rng.choice([0.1, 0.4])) if in_max else 0.0, in_max,
                          float(rng.choice([0.2, 0.6, 0.9])) if out_max else 0.0, out_max))

    def stream(self, W, n, frame, in_bits, shift):
        X = self.inputs(n, in_bits)
        expected = self.golden(W, X, in_bits, shift)
        self.op(Op.stream(self.array(X), frame, self.budget * (1 + n // 8), in_bits, shift),
                kind="results", expect=expected, frames=-(-n // frame))
        self.counted(n * in_bits)
        return X, expected

    def counted(self, requests):
        """Count `requests` more analog requests, while the count is known."""
        if self.requests is not None:
            self.requests += requests
