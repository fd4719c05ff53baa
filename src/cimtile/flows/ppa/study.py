"""Energy, efficiency and area as sweep metrics: ``cimtile sweep --ppa``.

Each point of a sweep gets the same random problem the sweep's error figures come from, and
its energy per MVM, TOPS/W, area and MVM time from the golden model's activity, the
point's synthesised periphery and its simulated switching (:func:`compute_section`).
"""

import io

import numpy as np

from cimtile.spec.mapping import random_operands

from .figures import figures
from .report import compute_section

__all__ = ["METRICS", "point_metrics", "pareto_front", "plot_ppa_sweep"]

#: Columns a point gains, with their plot labels.
METRICS = {"energy_per_mvm_pj": "energy per MVM (pJ)", "tops_per_w": "TOPS/W",
           "area_mm2": "area (mm2)", "mvm_ns": "MVM time (ns)",
           "gops_per_mm2": "GOPS/s/mm2"}


def point_metrics(cfg, n, seed):
    """:data:`METRICS` of `cfg` on the sweep's problem for (`n`, `seed`). The MVM time is
    the tile's schedule, ``Config.analog_cycles_per_mvm``, which the co-simulated RTL meets
    cycle for cycle; the throughput per area is the ops of one MVM per MVM time per mm2."""
    W, X = random_operands(cfg, n, np.random.default_rng(seed))
    section, _, _, area = compute_section(cfg, W, X, seed=seed)
    mvm_ns = cfg.analog_cycles_per_mvm * figures(cfg).cycle_s * 1e9
    area_mm2 = area.total_um2 * 1e-6
    return {"energy_per_mvm_pj": section["per_mvm_pj"], "tops_per_w": section["tops_per_w"],
            "area_mm2": area_mm2, "mvm_ns": mvm_ns,
            "gops_per_mm2": section["ops_per_mvm"] / mvm_ns / area_mm2}


def _png(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def pareto_front(rows):
    """Indices of the `rows` no other row beats: none has at least their TOPS/W and
    GOPS/s/mm2 and at most their normalised RMS error, and is better in one of them."""
    def scores(row):
        return row["tops_per_w"], row["gops_per_mm2"], -row["normalized_rms_error"]

    def beats(a, b):
        return all(x >= y for x, y in zip(a, b)) and a != b

    return [i for i, row in enumerate(rows)
            if not any(beats(scores(other), scores(row)) for other in rows)]


def _pareto_plot(rows, keys, figure):
    """TOPS/W against GOPS/s/mm2, coloured by the error, the Pareto front labelled."""
    ax = figure.subplots()
    points = ax.scatter([row["tops_per_w"] for row in rows],
                        [row["gops_per_mm2"] for row in rows],
                        c=[row["normalized_rms_error"] for row in rows], cmap="viridis")
    figure.colorbar(points, ax=ax, label="normalised RMS error")
    front = pareto_front(rows)
    ax.scatter([rows[i]["tops_per_w"] for i in front], [rows[i]["gops_per_mm2"] for i in front],
               s=120, facecolors="none", edgecolors="red", label="Pareto front")
    for i in front:
        ax.annotate(", ".join(str(rows[i][k]) for k in keys),
                    (rows[i]["tops_per_w"], rows[i]["gops_per_mm2"]), fontsize=7,
                    xytext=(8, -10), textcoords="offset points", ha="right")
    ax.set(xlabel="TOPS/W", ylabel="GOPS/s/mm2", title=", ".join(keys))
    ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)
    return _png(figure)


def plot_ppa_sweep(rows, keys):
    """Plots of a sweep with :data:`METRICS`: per swept key with more than one numeric value,
    ``ppa_vs_<key>.png`` (each metric against the key, one line per combination of the other
    keys), ``error_vs_energy.png`` (normalised RMS error against energy per MVM, one point
    per sweep point) and ``pareto.png`` (TOPS/W against GOPS/s/mm2 and the error, the
    points of :func:`pareto_front` labelled with their keys).

    Returns
    -------
    dict
        ``{file name: PNG bytes}``.
    """
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    plots = {}
    for key in keys:
        values = list(dict.fromkeys(row[key] for row in rows))
        if len(values) < 2 or not all(isinstance(v, (int, float)) for v in values):
            continue
        others = [k for k in keys if k != key]
        groups = {}
        for row in rows:
            groups.setdefault(tuple(row[k] for k in others), []).append(row)
        figure = Figure(figsize=(15, 3.4), dpi=100, layout="constrained")
        axes = figure.subplots(1, len(METRICS))
        for label, group in list(groups.items())[:10]:
            name = ", ".join(f"{k}={v}" for k, v in zip(others, label)) or None
            for ax, metric in zip(axes, METRICS):
                ax.plot([row[key] for row in group], [row[metric] for row in group],
                        marker="o", label=name)
        for ax, title in zip(axes, METRICS.values()):
            ax.set(xlabel=key, ylabel=title)
            ax.grid(True, alpha=0.3)
        if others:
            axes[0].legend(fontsize="small")
        plots[f"ppa_vs_{key}.png"] = _png(figure)
    figure = Figure(figsize=(5, 4), dpi=100, layout="constrained")
    ax = figure.subplots()
    ax.scatter([row["energy_per_mvm_pj"] for row in rows],
               [row["normalized_rms_error"] for row in rows])
    for row in rows:
        ax.annotate(", ".join(str(row[k]) for k in keys),
                    (row["energy_per_mvm_pj"], row["normalized_rms_error"]), fontsize=7)
    ax.set(xlabel="energy per MVM (pJ)", ylabel="normalised RMS error",
           title="accuracy against energy")
    ax.grid(True, alpha=0.3)
    plots["error_vs_energy.png"] = _png(figure)
    plots["pareto.png"] = _pareto_plot(
        rows, keys, Figure(figsize=(6, 4.5), dpi=100, layout="constrained"))
    return plots
