"""Golden program-and-verify: the write-verify engine's algorithm, every cell at once in numpy.

Each cell's outcome depends only on its own device and its own noise (see
:class:`cimtile.behavioral.device.MemdiodeArray`), so stepping all cells together gives the
same pulses, outcomes and final states as the RTL's cell-by-cell order.
"""

from dataclasses import dataclass

import numpy as np

from cimtile.hdl.write_verify import target_code

__all__ = ["Rectangle", "ProgramOutcome", "program_golden", "rectangle_cells"]


@dataclass(frozen=True)
class Rectangle:
    """Cells ``row_first..row_last`` x ``col_first..col_last`` (inclusive, physical columns)."""
    row_first: int
    row_last: int
    col_first: int
    col_last: int

    @classmethod
    def whole(cls, rows, cols_phys):
        return cls(0, rows - 1, 0, cols_phys - 1)

    @property
    def shape(self):
        return (self.row_last - self.row_first + 1, self.col_last - self.col_first + 1)


@dataclass(frozen=True)
class ProgramOutcome:
    """Per-cell results in the rectangle's row-major order."""
    pulses: np.ndarray
    converged: np.ndarray


def rectangle_cells(rect, cols_phys):
    """Flat cell indices of ``rect`` in row-major (programming) order."""
    rows = np.arange(rect.row_first, rect.row_last + 1)
    cols = np.arange(rect.col_first, rect.col_last + 1)
    return (rows[:, None] * cols_phys + cols[None, :]).reshape(-1)


def program_golden(device, levels, rect, settings, *, bits_per_cell, adc_bits):
    """Program ``levels`` (shaped like ``rect``) into ``device`` (modified in place).

    Parameters
    ----------
    device : MemdiodeArray
    levels : integer array, ``rect.shape``
    rect : Rectangle
    settings : WriteVerifyConfig
    """
    s = settings
    max_code = 2 ** adc_bits - 1
    cells = rectangle_cells(rect, device.shape[1])
    target = target_code(np.asarray(levels, np.int64).reshape(-1),
                         bits_per_cell=bits_per_cell, adc_bits=adc_bits)
    low = np.maximum(target - s.tol, 0)
    high = np.minimum(target + s.tol, max_code)
    pulses = np.zeros(cells.size, np.int64)
    converged = np.zeros(cells.size, bool)
    amplitude = np.zeros(cells.size, np.int64)
    polarity = np.full(cells.size, -1)            # no pulse yet: the next one starts afresh
    active = np.arange(cells.size)
    while active.size:
        code = device.read(cells[active], adc_bits)
        inside = (code >= low[active]) & (code <= high[active])
        converged[active[inside]] = True
        keep = ~inside & (pulses[active] < s.max_pulses)
        active, code = active[keep], code[keep]
        if not active.size:
            break
        go_set = code < low[active]
        new_polarity = np.where(go_set, 0, 1)
        stepped = amplitude[active] + np.where(go_set, s.set_step, s.reset_step)
        limit = np.where(go_set, s.set_limit, s.reset_limit)
        start = np.where(go_set, s.set_start, s.reset_start)
        amplitude[active] = np.where(polarity[active] == new_polarity,
                                     np.minimum(stepped, limit), start)
        polarity[active] = new_polarity
        device.pulse(cells[active], new_polarity, amplitude[active],
                     np.full(active.size, s.pulse_width))
        pulses[active] += 1
    return ProgramOutcome(pulses=pulses, converged=converged)
