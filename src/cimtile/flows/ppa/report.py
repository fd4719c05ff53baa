"""Energy, latency and area reports: the ``energy`` sections of ``sim``, ``program``, ``run``
and ``demo``, and the whole report of ``cimtile ppa``."""

import io

from cimtile.spec.npy_rows import row_chunks

from .activity import compute_activity, program_activity
from .area import tile_area
from .digital import (WINDOW, digital_activity, program_toggles, tile_toggles,
                      typical_toggles)
from .energy import compute_energy, program_energy
from .figures import figures

__all__ = ["compute_section", "program_section", "summary_of", "power_mw", "ppa_report",
           "ppa_workload", "ppa_text", "plot_ppa"]


def summary_of(cfg, energy, mvms):
    """Energy per MVM and efficiency of `mvms` MVMs that took `energy`: ``ops`` counts a
    multiply and an add per weight (``2 * rows * cols`` per MVM), so TOPS/W is ops per pJ."""
    ops = 2 * cfg.tile.rows * cfg.tile.cols * mvms
    total = energy.total_pj
    return {"mvms": mvms, "total_pj": total,
            "per_mvm_pj": total / mvms if mvms else 0.0,
            "ops_per_mvm": 2 * cfg.tile.rows * cfg.tile.cols,
            "tops_per_w": ops / total if total else 0.0}


def compute_section(cfg, W, X=None, *, seed=0, conductances=None, in_bits=None, cycles=None,
                    driven=None, mvms=None, switching="run"):
    """The ``energy`` section of a computing run, from its own activity.

    The counts are the golden model's for the same inputs, seed and conductances, which the
    co-simulated RTL drove and sampled plane for plane (a run that differed would have
    failed), or the counts the run made itself (`driven`, `mvms`, as a bulk co-simulation
    reads its inputs once); the digital periphery's gates come from its synthesis and leak
    for the run's `cycles` (default: the busy cycles). Their switching is measured in the
    simulated RTL on a window of the run's first vectors (`switching` ``"run"``), or is the
    configuration's, measured once on random operands and cached (``"typical"``).

    Returns
    -------
    (dict, ComputeActivity, Energy, Area)
    """
    at = cfg.at(in_bits)
    activity = compute_activity(cfg, W, X, seed=seed, conductances=conductances,
                                in_bits=in_bits, cycles=cycles, driven=driven, mvms=mvms)
    area = tile_area(cfg)
    toggles = None
    if activity.mvms and switching == "typical":
        toggles = typical_toggles(at)
    elif activity.mvms:
        toggles = tile_toggles(at, W, next(row_chunks(X, WINDOW)), seed=seed,
                               conductances=conductances)
    energy = compute_energy(at, activity, digital_activity(area, toggles, activity.mvms))
    section = summary_of(cfg, energy, activity.mvms) | {
        "breakdown": energy.as_dict()["breakdown"],
        "activity": {"planes": activity.planes, "driven_rows": activity.driven_rows,
                     "conversions": sum(activity.conversions),
                     "drive_cycles_per_plane": activity.drive_cycles,
                     "busy_cycles": activity.busy_cycles, "cycles": activity.cycles,
                     "digital_ge": round(area.ge, 1), "switching": switching}}
    return section, activity, energy, area


def power_mw(energy, activity, cfg):
    """Average power (mW) of each item over the run's cycles."""
    seconds = activity.cycles * figures(cfg).cycle_s
    return {item.name: item.pj * 1e-12 / seconds * 1e3 for item in energy.items}


def program_section(cfg, device, run, levels=None, *, seed=0, faults=None):
    """The ``energy`` section of a write-verify run whose golden twin is `device` (a
    programmed :class:`~cimtile.behavioral.device.MemdiodeArray`) and whose co-simulation is
    `run` (:class:`~cimtile.tb.transport.results.ProgramRun`): it also says whether both issued the
    same numbers of verify reads and pulses. Given the `levels` (rows, cols_phys) the run
    programmed into a device array of `seed` with stuck-at map `faults`, the digital
    switching per cell is measured on its first cells in the simulated RTL; without them
    the digital periphery only leaks."""
    activity = program_activity(cfg, device, run.cycles_total)
    toggles = (None if levels is None
               else program_toggles(cfg, levels, seed=seed, faults=faults))
    energy = program_energy(cfg, activity, digital_activity(tile_area(cfg), toggles,
                                                            activity.cells))
    total = energy.total_pj
    return {"total_pj": total, "per_cell_pj": total / activity.cells,
            "pulses": activity.pulses, "verify_reads": activity.verify_reads,
            "cosim_requests_agree": (run.pulses_applied == activity.pulses
                                     and run.reads == activity.verify_reads),
            "breakdown": energy.as_dict()["breakdown"]}


def ppa_report(cfg, W, X, run, *, seed=0):
    """The report of ``cimtile ppa``: area, energy per MVM, efficiency, latency and
    throughput at the configured clock, each with its breakdown, for the co-simulated
    `run` (a :class:`~cimtile.tb.transport.results.HostRun`) of `X` on weights `W`."""
    section, activity, energy, area = compute_section(cfg, W, X, seed=seed,
                                                      cycles=run.cycles_total)
    fig = figures(cfg)
    cycles_per_mvm = run.cycles_per_mvm
    # The first sample request comes t_settle cycles after the wordlines are driven.
    latency = int(run.frame_cycles[0]) - run.first_request + cfg.timing.t_settle
    mvm_per_s = 1 / (cycles_per_mvm * fig.cycle_s)
    ops = section["ops_per_mvm"]
    breakdown = {"settle": cfg.tile.in_bits * cfg.timing.t_settle,
                 "conversion": cfg.tile.in_bits * cfg.conversion_cycles,
                 "pipeline": latency - cfg.analog_cycles_per_mvm}
    if cfg.tile.pipeline:
        # Settle and conversion cycles that run at once: settle + conversion - overlap +
        # pipeline is the latency.
        breakdown["overlap"] = (breakdown["settle"] + breakdown["conversion"]
                                - cfg.analog_cycles_per_mvm)
    return {
        "tile": {"rows": cfg.tile.rows, "cols": cfg.tile.cols, "cols_phys": cfg.cols_phys,
                 "adcs": cfg.n_adcs, "analog": cfg.analog.model},
        "clock_mhz": cfg.ppa.clock_mhz, "node_nm": cfg.ppa.node_nm, "mvms": activity.mvms,
        "seed": seed, **run.verdict.report(),
        "energy": section,
        "power_mw": power_mw(energy, activity, cfg),
        "latency": {"cycles": latency, "ns": latency * fig.cycle_s * 1e9,
                    "breakdown_cycles": breakdown},
        "throughput": {"cycles_per_mvm": cycles_per_mvm, "mvm_per_s": mvm_per_s,
                       "tops": ops * mvm_per_s / 1e12},
        "area": {"total_mm2": area.total_um2 * 1e-6, "parts_um2": area.parts,
                 "digital_ge": area.digital_ge,
                 "gops_per_mm2": ops * mvm_per_s / 1e9 / (area.total_um2 * 1e-6)},
    }


def _grouped(breakdown):
    """Energy (pJ) of the breakdown's analog items, and of its digital switching and
    leakage each summed over the blocks."""
    groups = {}
    for name, item in breakdown.items():
        group = ("digital switching" if name.startswith("switching_")
                 else "leakage" if name.startswith("leakage_") else name)
        groups[group] = groups.get(group, 0.0) + item["pj"]
    return groups


def _shares(parts):
    total = sum(parts.values())
    return ", ".join(f"{name} {100 * value / total:.1f} %"
                     for name, value in sorted(parts.items(), key=lambda kv: -kv[1])
                     if value)


def ppa_workload(cfg, n, *, seed=0, drive="bulk", verbose=False):
    """Co-simulate `n` random vectors on the tile of `cfg` and report them
    (:func:`ppa_report`).

    Uniform weights and inputs over their whole ranges: about half of every bit plane's
    wordlines driven, cells spread over every level.

    Returns
    -------
    (dict, Verdict)
        The report and the run's golden verdict.
    """
    import numpy as np

    from cimtile.spec.mapping import random_operands
    from cimtile.tb.runs import runner
    W, X = random_operands(cfg, n, np.random.default_rng(seed))
    run = runner.simulate(cfg, W, X, scenario=runner.Scenario(seed=seed, strict=False),
                          drive=drive, verbose=verbose)
    return ppa_report(cfg, W, X, run, seed=seed), run.verdict


def ppa_text(report):
    """A few lines for the terminal: each figure with its breakdown."""
    e, t, a = report["energy"], report["throughput"], report["area"]
    tile = report["tile"]
    return "\n".join([
        f"tile {tile['rows']} x {tile['cols']} ({tile['cols_phys']} physical columns, "
        f"{tile['adcs']} ADCs, {tile['analog']}), {report['node_nm']:g} nm, "
        f"{report['clock_mhz']:g} MHz, {report['mvms']} random MVMs",
        f"energy per MVM  {e['per_mvm_pj'] / 1e3:.3f} nJ: " + _shares(_grouped(e["breakdown"])),
        f"efficiency      {e['tops_per_w']:.3f} TOPS/W ({e['ops_per_mvm']} ops per MVM)",
        f"latency         {report['latency']['cycles']} cycles = "
        f"{report['latency']['ns']:.1f} ns: "
        + ", ".join(f"{k} {v}" for k, v in report["latency"]["breakdown_cycles"].items()),
        f"throughput      {t['mvm_per_s']:,.0f} MVM/s = {t['tops']:.4f} TOPS "
        f"({t['cycles_per_mvm']:g} cycles per MVM)",
        f"area            {a['total_mm2']:.4f} mm2 ({a['gops_per_mm2']:.1f} GOPS/s/mm2): "
        + _shares(a["parts_um2"]),
    ])


def plot_ppa(report):
    """Stacked energy-per-MVM and area breakdowns, as PNG bytes."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    energy = {k: pj / report["mvms"] for k, pj in _grouped(report["energy"]["breakdown"]).items()}
    area = report["area"]["parts_um2"]
    figure, axes = pyplot.subplots(1, 2, figsize=(10, 4.5))
    colours = pyplot.get_cmap("tab20").colors
    for ax, parts, label in ((axes[0], energy, "energy per MVM (pJ)"),
                             (axes[1], area, "area (um2)")):
        bottom = 0.0
        for i, (name, value) in enumerate(sorted(parts.items(), key=lambda kv: -kv[1])):
            ax.bar(0, value, bottom=bottom, width=0.5, label=name, color=colours[i % 20])
            bottom += value
        ax.set(ylabel=label, xticks=[], xlim=(-0.6, 1.6))
        ax.legend(loc="upper right", fontsize=8)
    tile = report["tile"]
    figure.suptitle(f"{tile['rows']} x {tile['cols']} tile, {report['node_nm']:g} nm, "
                    f"{report['clock_mhz']:g} MHz: {report['energy']['tops_per_w']:.2f} "
                    f"TOPS/W, {report['area']['total_mm2']:.3f} mm2")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    pyplot.close(figure)
    return buffer.getvalue()
