"""Per-event energies and per-unit areas of a tile, from its ``[ppa]`` figures.

The ``[ppa]`` table holds published figures at one resolution and node; this module turns
them into the figures of the configured tile (an ADC of ``adc_bits``, a cell at
``node_nm``), in the units the energy model adds up: pJ per event, um2 per unit.
"""

from dataclasses import dataclass

__all__ = ["Figures", "figures"]


@dataclass(frozen=True)
class Figures:
    """What one event costs and one unit occupies in a configured tile.

    Members
    -------
    cycle_s : float
        Clock period, s.
    adc_pj : float
        One ADC conversion at ``adc_bits``: ``adc_energy_pj * 2**(adc_bits - adc_ref_bits)``
        (a constant Walden figure of merit doubles the energy per bit).
    wl_drive_pj, sh_pj : float
        One driven wordline in one bit plane; one column sampled and held.
    conductance_cycle_pj : float
        One microsiemens of driven cell conductance for one clock cycle at the read voltage:
        ``v_read**2 * 1e-6 S * cycle_s``, in pJ.
    ge_toggle_pj : float
        One gate-equivalent output transition.
    ge_leak_cycle_pj : float
        One gate equivalent leaking for one clock cycle.
    adc_um2, dac_um2, sh_um2, cell_um2, ge_um2 : float
        Area of one ADC at ``adc_bits``, one wordline driver, one sample-and-hold, one cell
        (``cell_area_f2 * node**2``) and one gate equivalent.
    """
    cycle_s: float
    adc_pj: float
    wl_drive_pj: float
    sh_pj: float
    conductance_cycle_pj: float
    ge_toggle_pj: float
    ge_leak_cycle_pj: float
    adc_um2: float
    dac_um2: float
    sh_um2: float
    cell_um2: float
    ge_um2: float


def figures(cfg):
    """The :class:`Figures` of configuration `cfg`."""
    p = cfg.ppa
    cycle_s = 1e-6 / p.clock_mhz
    scale = 2.0 ** (cfg.tile.adc_bits - p.adc_ref_bits)
    return Figures(
        cycle_s=cycle_s,
        adc_pj=p.adc_energy_pj * scale,
        wl_drive_pj=p.wl_drive_pj,
        sh_pj=p.sh_energy_fj * 1e-3,
        conductance_cycle_pj=cfg.analog.v_read ** 2 * 1e-6 * cycle_s * 1e12,
        ge_toggle_pj=p.ge_toggle_fj * 1e-3,
        ge_leak_cycle_pj=p.ge_leak_nw * 1e-9 * cycle_s * 1e12,
        adc_um2=p.adc_area_um2 * scale,
        dac_um2=p.dac_area_um2,
        sh_um2=p.sh_area_um2,
        cell_um2=p.cell_area_f2 * (p.node_nm * 1e-3) ** 2,
        ge_um2=p.ge_area_um2,
    )
