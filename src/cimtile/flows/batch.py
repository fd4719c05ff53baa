"""The runs behind ``cimtile golden`` and ``cimtile sim``: one batch of input vectors on the
golden model, or co-simulated (or all-RTL emulated) with its report: cycle figures, speed,
the golden verdict, the error against ``X @ W`` and the energy."""

import time

from cimtile.models.golden import golden_mvm
from cimtile.tb.transport.stimulus import Scenario

from .metrics import error_metrics

__all__ = ["golden_batch", "run_report", "simulate_batch"]


def golden_batch(cfg, W, X, seed=0):
    """``(Y, report)``: the golden results of `X` and their report (``mvms``, ``wall_s``
    and the :func:`~cimtile.flows.metrics.error_metrics`)."""
    start = time.perf_counter()
    Y = golden_mvm(cfg, W, X, seed)
    wall_s = time.perf_counter() - start
    return Y, {"mvms": len(X), "wall_s": round(wall_s, 3)} | error_metrics(Y, X, W)


def run_report(cfg, result):
    """The figures every run of a batch reports: cycles, speed and the golden verdict
    (``golden_mismatches``, and ``golden_first_difference`` when a result differs)."""
    mvms = result.mvms
    return {
        "mvms": mvms,
        "cycles_total": result.cycles_total,
        "cycles_per_mvm": result.cycles_per_mvm,
        "analog_cycles_per_mvm": cfg.analog_cycles_per_mvm,
        **result.verdict.report(),
        "build_s": round(result.build_s, 3),
        "wall_s": round(result.wall_s, 3),
        "mvm_per_s": round(mvms / result.wall_s, 1),
    }


def simulate_batch(cfg, W, X, *, backend="cosim", drive="bulk", seed=0, in_bits=None,
                   adc_shift=None, conductances=None, remap=None, out=None, waves=None,
                   verbose=False, switching="typical"):
    """Run inputs `X` on the tile of `cfg` holding `W` and report it.

    Parameters
    ----------
    backend : str
        ``"cosim"`` (:func:`cimtile.tb.runs.runner.simulate`) or ``"emulator"``
        (:func:`cimtile.tb.runs.emulator_runner.simulate_emulator`, which takes neither
        `conductances`, `remap`, `out` nor run-time settings).
    in_bits, adc_shift : int, optional
        Run-time settings (default: the configured ones).
    drive, seed, conductances, remap, out, waves, verbose
        As for :func:`cimtile.tb.runs.runner.simulate`.
    switching : ``"typical"`` or ``"run"``
        The digital periphery's switching in the energy section: the configuration's,
        measured once and cached, or measured afresh on the run's first vectors (see
        :func:`~cimtile.flows.ppa.report.compute_section`).

    A bulk co-simulation reads each chunk of `X` once and checks it as it streams: its
    error against ``X @ W`` and the rows each plane drove come with the run, and `X` is
    not read again here.

    Returns
    -------
    (HostRun, dict)
        The run and its JSON-ready report.

    Raises
    ------
    BuildError, SimulationError
    """
    from .ppa.report import compute_section
    at = cfg.at(in_bits, adc_shift)
    in_bits, adc_shift = at.tile.in_bits, at.tile.adc_shift
    scenario = Scenario(seed=seed, strict=False)
    if backend == "emulator":
        from cimtile.tb.runs import emulator_runner
        result = emulator_runner.simulate_emulator(cfg, W, X, scenario=scenario, waves=waves,
                                                   verbose=verbose)
    else:
        from cimtile.tb.runs import runner
        result = runner.simulate(cfg, W, X, scenario=scenario, conductances=conductances,
                                 in_bits=in_bits, adc_shift=adc_shift, drive=drive, out=out,
                                 remap=remap, waves=waves, verbose=verbose)
    errors = result.errors
    driven = result.driven
    counted = {} if driven is None else {"driven": driven, "mvms": result.mvms}
    energy, *_ = compute_section(cfg, W, None if counted else X, seed=seed,
                                 conductances=conductances, in_bits=in_bits,
                                 cycles=result.cycles_total, switching=switching, **counted)
    report = ({"backend": backend, "drive": drive, "in_bits": in_bits, "adc_shift": adc_shift}
              | run_report(at, result) | (errors or error_metrics(result.Y, X, W))
              | {"energy": energy})
    return result, report
