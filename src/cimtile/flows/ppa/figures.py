"""Per-event energies and per-unit areas of a tile, from its ``[ppa]`` and ``[adc]`` figures.

The tables hold published figures at their sources' resolution and node; this
module turns them into the figures of the configured tile (an ADC of ``adc_bits``, a cell,
gates and SRAM at ``node_nm``), in the units the energy model adds up: pJ per event, um2
per unit.
"""

from dataclasses import dataclass

from cimtile.spec.config_physics import LIBRARY_NODE_NM

__all__ = ["Figures", "figures"]


@dataclass(frozen=True)
class Figures:
    """What one event costs and one unit occupies in a configured tile.

    Members
    -------
    cycle_s : float
        Clock period, s.
    adc_pj : float
        One ADC conversion at ``adc_bits``: the ``[adc]`` table's Walden figure of merit at
        the effective bits (:class:`~cimtile.spec.config_adc.AdcConfig`).
    wl_drive_pj, sh_pj : float
        One driven wordline in one bit plane; one column sampled and held.
    conductance_cycle_pj : float
        One microsiemens of driven cell conductance for one clock cycle at the read voltage:
        ``v_read**2 * 1e-6 S * cycle_s``, in pJ.
    ge_toggle_pj : float
        One gate-equivalent output transition at ``node_nm``.
    ge_leak_cycle_pj : float
        One gate equivalent leaking for one clock cycle at ``node_nm``.
    sram_write_pj, sram_read_pj, sram_leak_cycle_pj : float
        One SRAM bit written, read, and leaking for one clock cycle at ``node_nm``.
    adc_um2, dac_um2, sh_um2, cell_um2, ge_um2, sram_bit_um2 : float
        Area of one ADC at ``adc_bits`` converting every ``t_adc`` cycles, one wordline
        driver, one sample-and-hold, one cell (``cell_area_f2 * node**2``), one gate
        equivalent and one SRAM bit at ``node_nm``.
    """
    cycle_s: float
    adc_pj: float
    wl_drive_pj: float
    sh_pj: float
    conductance_cycle_pj: float
    ge_toggle_pj: float
    ge_leak_cycle_pj: float
    sram_write_pj: float
    sram_read_pj: float
    sram_leak_cycle_pj: float
    adc_um2: float
    dac_um2: float
    sh_um2: float
    cell_um2: float
    ge_um2: float
    sram_bit_um2: float


def figures(cfg):
    """The :class:`Figures` of configuration `cfg`."""
    p = cfg.ppa
    cycle_s = 1e-6 / p.clock_mhz
    # The 45 nm library figures at node_nm, constant supply (PpaConfig says why).
    shrink = p.node_nm / LIBRARY_NODE_NM
    return Figures(
        cycle_s=cycle_s,
        adc_pj=cfg.adc.energy_pj(cfg.tile.adc_bits),
        wl_drive_pj=p.wl_drive_pj,
        sh_pj=p.sh_energy_fj * 1e-3,
        conductance_cycle_pj=cfg.analog.v_read ** 2 * 1e-6 * cycle_s * 1e12,
        ge_toggle_pj=p.ge_toggle_fj * 1e-3 * shrink,
        ge_leak_cycle_pj=p.ge_leak_nw * 1e-9 * cycle_s * 1e12 * shrink,
        sram_write_pj=p.sram_write_fj * 1e-3 * shrink,
        sram_read_pj=p.sram_read_fj * 1e-3 * shrink,
        sram_leak_cycle_pj=p.sram_leak_nw * 1e-9 * cycle_s * 1e12 * shrink,
        adc_um2=cfg.adc.area(cfg.tile.adc_bits, cfg.adc_rate_msps),
        dac_um2=p.dac_area_um2,
        sh_um2=p.sh_area_um2,
        cell_um2=p.cell_area_f2 * (p.node_nm * 1e-3) ** 2,
        ge_um2=p.ge_area_um2 * shrink ** 2,
        sram_bit_um2=p.sram_bit_um2 * shrink ** 2,
    )
