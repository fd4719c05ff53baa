"""Golden program-and-verify: the write-verify engine's algorithm, every cell at once in numpy.

Each cell's outcome depends only on its own device and its own noise (see
:class:`cimtile.behavioral.device.MemdiodeArray`), so stepping all cells together gives the
same pulses, outcomes and final states as the RTL's cell-by-cell order. The golden run also
lists every verify read and pulse in the RTL's order (:class:`Requests`), which the bulk
co-simulation queues ahead and checks against the requests the RTL issues.
"""

import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from cimtile.behavioral.device import MemdiodeArray
from cimtile.hdl.write_verify import target_code

__all__ = ["Rectangle", "Requests", "ProgramOutcome", "program_golden", "read_back_golden",
           "rectangle_cells", "read_config"]


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


class Requests(NamedTuple):
    """Verify reads and pulses in the order the write-verify engine issues them: cell by
    cell in programming order, each cell's in time order. One entry per request (arrays).

    Members
    -------
    cell : flat cell index (``row * cols_phys + col``)
    pulse : True for a pulse, False for a verify read
    polarity, amplitude : the pulse's (0 for a read)
    code : the read's answer (0 for a pulse)
    """
    cell: np.ndarray
    pulse: np.ndarray
    polarity: np.ndarray
    amplitude: np.ndarray
    code: np.ndarray


@dataclass(frozen=True)
class ProgramOutcome:
    """Per-cell results in the rectangle's row-major order, and every request made."""
    pulses: np.ndarray
    converged: np.ndarray
    requests: Requests


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
    # Per step: (position in the rectangle, step number, pulse?, polarity, amplitude, code).
    steps = []
    step = 0
    while active.size:
        code = device.read(cells[active], adc_bits)
        steps.append((active, step, False, 0, 0, code))
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
        steps.append((active, step + 1, True, new_polarity, amplitude[active], 0))
        step += 2
        pulses[active] += 1
    return ProgramOutcome(pulses=pulses, converged=converged, requests=_in_order(cells, steps))


def read_back_golden(device, rect, *, adc_bits):
    """The codes a read-back of `rect` reports, and its requests (one read per cell)."""
    cells = rectangle_cells(rect, device.shape[1])
    code = device.read(cells, adc_bits)
    zero = np.zeros(cells.size, np.int64)
    return code, Requests(cell=cells, pulse=zero.astype(bool), polarity=zero, amplitude=zero,
                          code=code)


def _in_order(cells, steps):
    """:class:`Requests` of the golden run's `steps`, sorted into the RTL's order."""
    def column(index, dtype):
        return np.concatenate([np.broadcast_to(np.asarray(entry[index], dtype),
                                               entry[0].shape) for entry in steps])
    if not steps:
        zero = np.zeros(0, np.int64)
        return Requests(zero, zero.astype(bool), zero, zero, zero)
    position, step = column(0, np.int64), column(1, np.int64)
    order = np.lexsort((step, position))
    return Requests(cell=cells[position[order]], pulse=column(2, bool)[order],
                    polarity=column(3, np.int64)[order],
                    amplitude=column(4, np.int64)[order], code=column(5, np.int64)[order])


def read_config(cfg):
    """`cfg` with the read-out calibrated to the programming window of the nominal device,
    the window that write-verify spreads the levels over."""
    window = MemdiodeArray(cfg.device, (1, 1), np.random.default_rng(0)).window
    analog = dataclasses.replace(cfg.analog, g_min=window[0], g_max=window[1])
    return dataclasses.replace(cfg, analog=analog)
