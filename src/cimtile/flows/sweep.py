"""Parameter studies: golden-model error over a grid of configuration values.

A sweep takes a base configuration and one or more parameters, each a dotted key with a list
of values (``analog.read_noise=0,0.01,0.02``). It runs the golden model at every point of the
grid (their Cartesian product) on random in-range weights and inputs, measures the error
against ``X @ W`` (:func:`cimtile.flows.metrics.error_metrics`), optionally co-simulates a few
vectors of every point to check that the RTL still matches the golden model bit for bit, and
writes ``sweep.csv`` and one error-versus-parameter plot per swept parameter.
"""

import csv
import dataclasses
import io
import itertools
import os
import time
import tomllib
from pathlib import Path

import numpy as np

from cimtile.models.golden import golden_mvm
from cimtile.models.verdict import combine, compare
from cimtile.spec.config import ConfigError, parse_config
from cimtile.spec.mapping import random_operands

from .metrics import error_metrics

__all__ = ["SweepError", "COSIM_VECTORS", "parse_param", "config_with", "sweep_points",
           "run_sweep", "write_csv", "plot_sweep", "sweep_files", "write_outputs"]

#: Vectors co-simulated at each point of a sweep with co-simulated spot checks.
COSIM_VECTORS = 8

METRICS = ("rms_error", "max_abs_error", "normalized_rms_error")


class SweepError(ValueError):
    """A sweep parameter is malformed, unknown or out of range; the message names it."""


def _value(text):
    # TOML literal syntax for numbers, booleans and quoted strings; a bare word stays a string
    # (analog.model=ideal,physical), and the configuration's validation judges it.
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_param(spec):
    """Split ``TABLE.KEY=V1,V2,...`` into the key and its list of values.

    Raises
    ------
    SweepError
        If `spec` is not of that form or a value is empty.
    """
    key, sep, values = spec.partition("=")
    key = key.strip()
    table, dot, name = key.partition(".")
    if not sep or not dot or not table or not name:
        raise SweepError(f"--param {spec}: expected TABLE.KEY=V1,V2,... "
                         "(e.g. analog.read_noise=0,0.01)")
    items = [item.strip() for item in values.split(",")]
    if not all(items):
        raise SweepError(f"--param {key}: empty value in {values!r}")
    return key, [_value(item) for item in items]


def config_with(cfg, overrides):
    """`cfg` with dotted keys replaced, validated as a configuration file would be.

    Raises
    ------
    ConfigError
        If a key is unknown or a value is out of range; the message names the key.
    """
    data = dataclasses.asdict(cfg)
    if "adc.rate_msps" in overrides:
        # A swept rate gives the cycles the parsed configuration holds in [timing].
        del data["timing"]["t_adc"], data["timing"]["adc_per_step"]
    for key, value in overrides.items():
        table, _, name = key.partition(".")
        data.setdefault(table, {})[name] = value
    return parse_config(data)


def sweep_points(cfg, params):
    """Every point of the grid of `params` as ``(values, config)``, validated up front.

    Parameters
    ----------
    cfg : Config
    params : list of (key, values)

    Raises
    ------
    SweepError
        If a key repeats, or a value (alone, or in combination) is not a valid setting; the
        message names the key.
    """
    keys = [key for key, _ in params]
    for key in keys:
        if keys.count(key) > 1:
            raise SweepError(f"--param {key}: given more than once")
    for key, values in params:
        for value in values:
            try:
                config_with(cfg, {key: value})
            except ConfigError as error:
                raise SweepError(f"--param {key}: {error}") from None
    points = []
    for combination in itertools.product(*(values for _, values in params)):
        values = dict(zip(keys, combination))
        try:
            points.append((values, config_with(cfg, values)))
        except ConfigError as error:
            where = ", ".join(f"{k}={v}" for k, v in values.items())
            raise SweepError(f"--param {where}: {error}") from None
    return points


def _point(job):
    """One point of a sweep (a job of :func:`cimtile.flows.engine.run_jobs`)."""
    values, cfg, n, seed, cosim = job
    W, X = random_operands(cfg, n, np.random.default_rng(seed))
    start = time.perf_counter()
    Y = golden_mvm(cfg, W, X, seed)
    row = dict(values) | error_metrics(Y, X, W)
    row["golden_s"] = round(time.perf_counter() - start, 4)
    if not cosim:
        return row, []
    from cimtile.tb.runs.runner import Scenario, simulate
    k = min(COSIM_VECTORS, n)
    result = simulate(cfg, W, X[:k], scenario=Scenario(seed=seed, strict=False))
    equal = compare("sweep's golden run", result.Y, Y[:k])
    row["cosim_vectors"] = k
    row["cosim_golden_mismatches"] = result.golden_mismatches
    row["cosim_equals_sweep"] = equal.ok
    return row, [result.verdict, equal]


def run_sweep(points, n=256, seed=0, cosim=False, *, workers=0, scheduler=None,
              dashboard=None, progress=None):
    """Evaluate every point of a sweep, on Dask (see :func:`cimtile.flows.engine.run_jobs`:
    `workers` local processes, or the cluster at `scheduler`; 0 workers run here;
    `dashboard` serves the local cluster's dashboard there).

    Each point gets its own random problem from `seed` (equal for points of equal shape) and
    runs the golden model with analog seed `seed`. With `cosim`, the first
    :data:`COSIM_VECTORS` vectors are also co-simulated through the RTL
    (:func:`cimtile.tb.runs.runner.simulate`) and compared with the golden results.
    ``progress(text)``, when given, is called after each point.

    Returns
    -------
    (list of dict, list of Verdict)
        Per point, in the order of `points`: the swept values, the
        :func:`~cimtile.flows.metrics.error_metrics`, ``golden_s`` and, with `cosim`,
        ``cosim_vectors``, ``cosim_golden_mismatches`` (result vectors that differ from the
        golden model) and ``cosim_equals_sweep`` (the co-simulated results equal this
        process's golden run). With `cosim` also the two verdicts over every point's spot
        checks: against the golden model and against this process's golden run.
    """
    from .engine import run_jobs
    jobs = [(index, (values, cfg, n, seed, cosim))
            for index, (values, cfg) in enumerate(points)]
    rows, checks = [None] * len(jobs), [None] * len(jobs)
    for (index, job), (row, verdicts) in run_jobs(_indexed_point, jobs, workers=workers,
                                                  scheduler=scheduler, dashboard=dashboard):
        rows[index], checks[index] = row, verdicts
        if progress is not None:
            progress(", ".join(f"{key}={value}" for key, value in job[0].items()))
    if not cosim:
        return rows, []
    return rows, [combine(point, noun="co-simulated spot checks") for point in zip(*checks)]


def _indexed_point(indexed):
    return _point(indexed[1])


def write_csv(rows):
    """The sweep table as CSV text (one row per point)."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


def _numeric(values):
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def plot_sweep(rows, keys):
    """One PNG per swept key with more than one value: normalised RMS error and max abs error
    against the key, one line per combination of the other keys.

    Returns
    -------
    dict
        ``{file name: PNG bytes}``, file names ``error_vs_<key>.png``.
    """
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    plots = {}
    for key in keys:
        values = list(dict.fromkeys(row[key] for row in rows))
        if len(values) < 2:
            continue
        others = [k for k in keys if k != key]
        groups = {}
        for row in rows:
            groups.setdefault(tuple(row[k] for k in others), []).append(row)
        figure = Figure(figsize=(9, 3.6), dpi=100, layout="constrained")
        axes = figure.subplots(1, 2)
        numeric = _numeric(values)
        for label, group in list(groups.items())[:10]:
            x = [row[key] for row in group] if numeric else [values.index(row[key])
                                                              for row in group]
            name = ", ".join(f"{k}={v}" for k, v in zip(others, label)) or None
            for ax, metric in zip(axes, ("normalized_rms_error", "max_abs_error")):
                ax.plot(x, [row[metric] for row in group], marker="o", label=name)
        for ax, title in zip(axes, ("normalised RMS error", "max abs error")):
            ax.set_xlabel(key)
            ax.set_ylabel(title)
            ax.grid(True, alpha=0.3)
            if not numeric:
                ax.set_xticks(range(len(values)), [str(v) for v in values])
        axes[0].set_title("RMS error / range of X @ W")
        axes[1].set_title("max |Y - X @ W|")
        if others:
            axes[0].legend(fontsize="small")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        plots[f"error_vs_{key}.png"] = buffer.getvalue()
    return plots


def sweep_files(rows, points, keys, *, ppa=False, n=256, seed=0):
    """The files of ``cimtile sweep --out``: ``{name: bytes}``, ``sweep.csv`` first, then
    the error plots and, with `ppa`, each point's energy, area and speed (added to its row,
    see :func:`cimtile.flows.ppa.study.point_metrics`) and their plots."""
    plots = plot_sweep(rows, keys)
    if ppa:
        from .ppa.study import plot_ppa_sweep, point_metrics
        for row, (_, point) in zip(rows, points):
            row |= point_metrics(point, n, seed)
        plots |= plot_ppa_sweep(rows, keys)
    return {"sweep.csv": write_csv(rows).encode()} | plots


def write_outputs(out_dir, rows, keys):
    """Write ``sweep.csv`` and the plots into `out_dir` (created if needed); return the paths.

    Each file is written under a temporary name and renamed, so a reader never sees half of
    one.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"sweep.csv": write_csv(rows).encode()} | plot_sweep(rows, keys)
    paths = []
    for name, data in files.items():
        path = out_dir / name
        tmp = out_dir / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, path)
        paths.append(path)
    return paths
