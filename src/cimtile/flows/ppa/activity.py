"""What a run did, counted event by event: the activity the energy model charges.

Computing: every bit plane of every vector drives the wordlines of its one bits, samples
and holds every column and converts each through its shared ADC; the driven cells conduct
for as long as the RTL holds the wordlines. Programming: every verify read and pulse the
write-verify engine issued. The counts come from the golden model, which the co-simulation
equals request for request (the bulk drive's analog queue checks every wordline pattern
the RTL drives against the one its answer assumed; programming compares every cell's pulse
count), so one count serves both.
"""

from dataclasses import dataclass

import numpy as np

from cimtile.behavioral import AnalogMacro
from cimtile.behavioral.conductance import level_conductances
from cimtile.spec.mapping import bit_planes, validated_inputs
from cimtile.spec.npy_rows import row_chunks

__all__ = ["ComputeActivity", "ProgramActivity", "read_conductances", "compute_activity",
           "driven_rows", "program_activity"]


@dataclass(frozen=True)
class ComputeActivity:
    """Events of a batch of MVMs on one tile.

    Members
    -------
    mvms, in_bits : int
        Vectors and the run-time input precision they were applied at.
    planes : int
        Sample requests: one per bit plane of every vector.
    driven_rows : int
        Wordlines driven high, summed over the planes (one 1-bit DAC drive each).
    sampled_columns : int
        Columns sampled and held: every physical column in every plane.
    conversions : tuple of int
        Conversions of each ADC (its columns in every plane).
    drive_cycles : int
        Cycles the RTL holds a plane's wordlines (``Config.drive_cycles``): while the plane
        settles and while its columns are converted (``t_settle + cols_per_adc * t_adc``),
        or pipelined only until its sample (``t_settle + 1``).
    driven_conductance_us : float
        Conductance of the driven cells summed over the planes, uS: every cell of every
        driven row, as the columns read it (after programming error, drift and IR drop).
    busy_cycles : int
        Cycles the tile computes: ``planes * plane_cycles``.
    cycles : int
        Cycles of the whole run (busy and idle), for leakage.
    """
    mvms: int
    in_bits: int
    planes: int
    driven_rows: int
    sampled_columns: int
    conversions: tuple
    drive_cycles: int
    driven_conductance_us: float
    busy_cycles: int
    cycles: int


@dataclass(frozen=True)
class ProgramActivity:
    """Events of a write-verify run.

    Members
    -------
    cells, pulses, verify_reads : int
        Cells programmed, pulses applied, verify reads made.
    pulse_energy_pj : float
        Energy the cells took from their pulses (the memdiode model's current at the pulse
        voltage, integrated over each pulse as the state moves), pJ.
    pulse_volts_sq : float
        Squared pulse amplitudes summed over the pulses, V**2.
    read_conductance_us : float
        The read cell's conductance summed over the verify reads, uS.
    read_cycles : int
        Cycles a verify read drives its cell (``t_settle + t_adc``).
    cycles : int
        Cycles of the whole run.
    """
    cells: int
    pulses: int
    verify_reads: int
    pulse_energy_pj: float
    pulse_volts_sq: float
    read_conductance_us: float
    read_cycles: int
    cycles: int


def read_conductances(cfg, crossbar):
    """Conductance (uS) of every cell as the columns read it, shaped (rows, cols_phys): the
    physical model's transfer matrix (programming error, faults, drift, IR drop), the ideal
    model's level conductances."""
    if crossbar.transfer is not None:
        return np.asarray(crossbar.transfer)
    return level_conductances(cfg, crossbar.levels)


def compute_activity(cfg, W, X=None, *, seed=0, conductances=None, in_bits=None, cycles=None,
                     driven=None, mvms=None):
    """The :class:`ComputeActivity` of computing `X` on a tile holding `W`.

    Parameters
    ----------
    cfg : Config
    W, X : integer arrays (rows, cols) and (N, rows); `X` may be an
        :class:`~cimtile.spec.npy_rows.NpyRows`, read a chunk at a time
    seed, conductances, in_bits :
        As for :func:`cimtile.models.golden.golden_mvm`: the same macro, the same conductances.
    cycles : int, optional
        Cycles the run took (e.g. a co-simulation's); default its busy cycles.
    driven, mvms : optional
        Instead of `X`: the planes that drove each row (rows,) and the vectors, as a run
        that read its inputs once counted them.
    """
    at = cfg.at(in_bits)
    in_bits = at.tile.in_bits
    if driven is None:
        driven, mvms = driven_rows(at, X)
    macro = AnalogMacro.for_array(cfg, W, np.random.default_rng(seed), conductances)
    row_conductance = read_conductances(cfg, macro.crossbar).sum(axis=1)
    planes = mvms * in_bits
    cpa = cfg.tile.cols_per_adc
    per_adc = [min(cpa, cfg.cols_phys - a * cpa) for a in range(cfg.n_adcs)]
    drive_cycles = cfg.drive_cycles
    busy = planes * cfg.plane_cycles
    return ComputeActivity(
        mvms=mvms, in_bits=in_bits, planes=planes,
        driven_rows=int(np.sum(driven)),
        sampled_columns=planes * cfg.cols_phys,
        conversions=tuple(planes * n for n in per_adc),
        drive_cycles=drive_cycles,
        driven_conductance_us=float(np.asarray(driven, np.int64) @ row_conductance),
        busy_cycles=busy, cycles=busy if cycles is None else int(cycles))


def driven_rows(cfg, X):
    """``(driven, mvms)``: the bit planes (at `cfg`'s in_bits) that drove each row in
    computing `X`, and its vectors, counted a chunk at a time: the counts are all the energy
    needs, and a long run's planes would not fit in memory."""
    driven = np.zeros(cfg.tile.rows, np.int64)
    mvms = 0
    for x in row_chunks(X, 4096):
        planes = bit_planes(validated_inputs(x, cfg), cfg.tile.in_bits)
        driven += planes.reshape(-1, cfg.tile.rows).sum(axis=0, dtype=np.int64)
        mvms += len(x)
    return driven, mvms


def program_activity(cfg, device, cycles):
    """The :class:`ProgramActivity` of the write-verify run that `device` (a
    :class:`~cimtile.behavioral.device.MemdiodeArray`) went through, taking `cycles`."""
    return ProgramActivity(
        cells=int(device.state.size), pulses=int(device.pulses_applied.sum()),
        verify_reads=int(device.verify_reads.sum()),
        pulse_energy_pj=float(device.pulse_energy.sum()),
        pulse_volts_sq=float(device.pulse_volts_sq.sum()),
        read_conductance_us=float(device.read_conductance.sum()),
        read_cycles=cfg.timing.t_settle + cfg.timing.t_adc, cycles=int(cycles))
