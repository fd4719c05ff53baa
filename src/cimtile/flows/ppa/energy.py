"""Energy of a run: every counted event times its cited per-event figure.

An :class:`Energy` is a list of :class:`Item` s, one per kind of event, each with its count,
the energy of one event and their product; the total is the sum of the items, so the
breakdown adds up to it exactly and every figure traces back to a count and a ``[ppa]``
figure (or, for the cells under a programming pulse, to the memdiode model's current).
"""

import math
from dataclasses import dataclass

from .figures import figures

__all__ = ["Item", "Energy", "compute_energy", "program_energy", "combined"]


@dataclass(frozen=True)
class Item:
    """One kind of event: ``pj = count * pj_per`` (``unit`` names what was counted)."""
    name: str
    count: float
    unit: str
    pj_per: float
    pj: float

    @classmethod
    def of(cls, name, count, unit, pj_per):
        return cls(name, count, unit, pj_per, count * pj_per)

    def as_dict(self):
        return {"count": self.count, "unit": self.unit, "pj_per": self.pj_per, "pj": self.pj}


@dataclass(frozen=True)
class Energy:
    """A breakdown of events and its total (pJ)."""
    items: tuple

    @property
    def total_pj(self):
        return math.fsum(item.pj for item in self.items)

    def pj(self, name):
        """Energy of the item `name`."""
        return next(item.pj for item in self.items if item.name == name)

    def as_dict(self):
        return {"total_pj": self.total_pj,
                "breakdown": {item.name: item.as_dict() for item in self.items}}


def _digital(items, fig, digital, cycles):
    """Digital items, per block: its switching when a toggle count is given, and the
    leakage of its synthesised gates over the run."""
    if digital is None:
        return items
    for block, transitions in digital.ge_toggles.items():
        items.append(Item.of(f"switching_{block}", transitions,
                             "gate-equivalent transitions", fig.ge_toggle_pj))
    for block, ge in digital.ge.items():
        items.append(Item.of(f"leakage_{block}", ge * cycles, "gate-equivalent cycles",
                             fig.ge_leak_cycle_pj))
    if digital.sram_bits:
        items.append(Item.of("leakage_sram", digital.sram_bits * cycles, "bit cycles",
                             fig.sram_leak_cycle_pj))
    return items


def compute_energy(cfg, activity, digital=None):
    """The :class:`Energy` of a :class:`~cimtile.flows.ppa.activity.ComputeActivity`.

    Parameters
    ----------
    digital : DigitalActivity, optional
        Gate equivalents and SRAM bits of the synthesised periphery and, if counted, their
        transitions in this run (:mod:`cimtile.flows.ppa.digital`); every vector writes its
        beats into the input FIFO's SRAM and reads them out. Without it the breakdown has
        the analog periphery and the array only.
    """
    fig = figures(cfg)
    a = activity
    fifo_bits = a.mvms * digital.sram_bits_per_vector if digital else 0
    items = [
        Item.of("crossbar", a.driven_conductance_us * a.drive_cycles, "uS x cycles of driven "
                "cells", fig.conductance_cycle_pj),
        Item.of("wordline_drivers", a.driven_rows, "driven wordlines x planes",
                fig.wl_drive_pj),
        Item.of("sample_hold", a.sampled_columns, "columns x planes", fig.sh_pj),
        Item.of("adcs", sum(a.conversions), "conversions", fig.adc_pj),
    ]
    if fifo_bits:
        items += [Item.of("sram_write", fifo_bits, "bits written", fig.sram_write_pj),
                  Item.of("sram_read", fifo_bits, "bits read", fig.sram_read_pj)]
    return Energy(tuple(_digital(items, fig, digital, a.cycles)))


def program_energy(cfg, activity, digital=None):
    """The :class:`Energy` of a :class:`~cimtile.flows.ppa.activity.ProgramActivity`.

    A pulse's cell energy is the memdiode model's; its driver charges the line to the pulse
    amplitude, so it costs the wordline driver's figure scaled by ``(V / v_read)**2``
    (counted in read-drive equivalents). A verify read drives one cell for ``t_settle +
    t_adc`` cycles, samples it and converts it once.
    """
    fig = figures(cfg)
    a = activity
    mean = a.pulse_energy_pj / a.pulses if a.pulses else 0.0
    items = [
        Item("cell_pulses", a.pulses, "pulses", mean, a.pulse_energy_pj),
        Item.of("pulse_drivers", a.pulse_volts_sq / cfg.analog.v_read ** 2,
                "read-drive equivalents (V / v_read)**2", fig.wl_drive_pj),
        Item.of("verify_read_cells", a.read_conductance_us * a.read_cycles,
                "uS x cycles of read cells", fig.conductance_cycle_pj),
        Item.of("verify_read_drivers", a.verify_reads, "verify reads", fig.wl_drive_pj),
        Item.of("verify_read_sample_hold", a.verify_reads, "verify reads", fig.sh_pj),
        Item.of("verify_read_adcs", a.verify_reads, "conversions", fig.adc_pj),
    ]
    return Energy(tuple(_digital(items, fig, digital, a.cycles)))


def combined(energies):
    """One :class:`Energy` of several runs: each item's counts and energies added."""
    items = {}
    for energy in energies:
        for item in energy.items:
            if item.name in items:
                known = items[item.name]
                item = Item(item.name, known.count + item.count, item.unit, item.pj_per,
                            known.pj + item.pj)
            items[item.name] = item
    return Energy(tuple(items.values()))
