"""Speed measurements behind ``cimtile bench``: co-simulation in each drive against its
ceiling (the same bulk top clocked by a plain C++ main), the all-RTL emulator, the golden
model against a plain numpy emulation, and the analog macro."""

import time

import numpy as np
from threadpoolctl import threadpool_limits

from cimtile.behavioral import AnalogMacro
from cimtile.behavioral.wires import clear_cache
from cimtile.models.golden import golden_mvm
from cimtile.models.verdict import combine
from cimtile.spec.mapping import random_operands, weight_levels

__all__ = ["plane_timing", "plain_bit_serial", "golden_against_numpy", "cosim_speed",
           "ceiling_speed", "cosim_and_ceiling", "ceiling_report", "SIZES", "size_table",
           "VIP_BENCH_MVMS", "emulator_speed", "bench_report"]

#: Vectors the VIP drive runs in ``cimtile bench``: it is the slow reference.
VIP_BENCH_MVMS = 1000
#: Tile sizes (rows, cols) of ``cimtile bench --sizes``.
SIZES = ((128, 16), (256, 32), (512, 64), (1024, 256))


def plane_timing(cfg, planes=2000, seed=0):
    """Time the analog macro of `cfg` answering single bit-plane requests.

    The macro is programmed with random in-range weights; building it (in the physical model
    with IR drop: the factorisation and the transfer matrix, never taken from the cache) is
    timed apart from the requests.

    Returns
    -------
    dict
        ``setup_s``: building the macro; ``plane_us``: mean time of one request, in
        microseconds, over `planes` random bit planes.
    """
    rng = np.random.default_rng(seed)
    w_max = 2 ** (cfg.tile.w_bits - 1) - 1
    W = rng.integers(-w_max, w_max, (cfg.tile.rows, cfg.tile.cols), endpoint=True)
    drive = rng.integers(0, 2, (planes, cfg.tile.rows), dtype=np.uint8)
    clear_cache()
    start = time.perf_counter()
    macro = AnalogMacro.from_weights(cfg, W, np.random.default_rng(seed))
    setup = time.perf_counter() - start
    macro.sample(drive[0])
    start = time.perf_counter()
    for plane in drive:
        macro.sample(plane)
    return {"setup_s": setup, "plane_us": (time.perf_counter() - start) / planes * 1e6}


def plain_bit_serial(cfg, W, X):
    """The ideal tile written plainly in numpy, the yardstick of the golden model: every bit
    plane of every vector against the differential, sliced levels at once, an integer ADC
    (round half up, clip), then shift-and-add."""
    t = cfg.tile
    levels = weight_levels(W, cfg).astype(np.float32)
    bits = (X.astype(np.uint64)[:, None, :] >> np.arange(t.in_bits, dtype=np.uint64)[:, None])
    counts = (bits & np.uint64(1)).astype(np.float32) @ levels
    codes = np.minimum(np.floor(counts / 2.0 ** t.adc_shift + 0.5), cfg.max_code)
    plane = 2.0 ** np.arange(t.in_bits)
    plane[-1] = -plane[-1]
    per_column = np.einsum("nic,i->nc", codes, plane) * 2.0 ** t.adc_shift
    slices = per_column.reshape(len(X), t.cols, cfg.slices, 2)
    weights = 2.0 ** (t.bits_per_cell * np.arange(cfg.slices))
    return np.rint(((slices[..., 0] - slices[..., 1]) * weights).sum(axis=-1)).astype(np.int64)


def golden_against_numpy(cfg, n=100_000, seed=0):
    """MVMs per second of the golden model and of :func:`plain_bit_serial` on the same
    random operands, timed in the same run, and whether they agree (ideal mode)."""
    W, X = random_operands(cfg, n, np.random.default_rng(seed))
    start = time.perf_counter()
    Y = golden_mvm(cfg, W, X, seed)
    golden_s = time.perf_counter() - start
    # On one core, as the golden model runs.
    with threadpool_limits(limits=1, user_api="blas"):
        start = time.perf_counter()
        plain = plain_bit_serial(cfg, W, X)
        plain_s = time.perf_counter() - start
    return {"golden_mvm_per_s": n / golden_s, "numpy_mvm_per_s": n / plain_s,
            "agree": bool(np.array_equal(Y, plain))}


def _speed(run, mvms):
    """What :func:`cosim_speed` and :func:`ceiling_speed` report of a
    :class:`~cimtile.tb.transport.results.HostRun` of `mvms` vectors."""
    return {"build_s": round(run.build_s, 1), "wall_s": round(run.wall_s, 2),
            "mvm_per_s": round(mvms / run.stream_s, 1), "cycles": run.cycles_total,
            "cycles_per_s": round(run.cycles_total / run.stream_s),
            "golden_mismatches": run.golden_mismatches, "verdict": run.verdict}


def _cosim(cfg, mvms, drive, seed, verbose):
    from cimtile.tb.runs.host_runner import simulate
    W, X = random_operands(cfg, mvms, np.random.default_rng(seed))
    return simulate(cfg, W, X, seed=seed, drive=drive, verbose=verbose)


def _ceiling(cfg, mvms, seed):
    from cimtile.tb.ceiling.ceiling import simulate_ceiling
    W, X = random_operands(cfg, mvms, np.random.default_rng(seed))
    return simulate_ceiling(cfg, W, X, seed=seed)


def cosim_speed(cfg, mvms, drive, seed=0, verbose=False):
    """One co-simulation of `mvms` random vectors through the host top in `drive`.

    Returns
    -------
    dict
        ``build_s``, ``wall_s`` (the simulator's whole run), ``mvm_per_s`` (vectors over
        the time from the first vector sent to the last result received), ``cycles`` (from
        reset release to the last result), ``cycles_per_s`` (over the same time as MVM/s),
        ``wakeups_per_mvm`` (bulk drive), ``golden_mismatches`` and the ``verdict``.
    """
    run = _cosim(cfg, mvms, drive, seed, verbose)
    return _speed(run, mvms) | {"wakeups_per_mvm": None if run.wakeups is None
                                else round(run.wakeups / mvms, 4)}


def ceiling_speed(cfg, mvms, seed=0):
    """The batch of :func:`cosim_speed` on the ceiling simulator: the bulk co-simulation's
    top clocked by a plain C++ main, every ring half written ahead
    (:func:`cimtile.tb.ceiling.ceiling.simulate_ceiling`). The same keys but ``wakeups_per_mvm``
    (none); the main times itself from its first ring load to the batch's end."""
    return _speed(_ceiling(cfg, mvms, seed), mvms)


def cosim_and_ceiling(cfg, mvms, rounds=2, seed=0, verbose=False):
    """The bulk co-simulation and its ceiling on the same batch, interleaved (`rounds` of
    one run each), so a change in the machine's load reaches both; the fastest run of each
    is kept.

    Returns
    -------
    (dict, dict)
        As :func:`cosim_speed` and :func:`ceiling_speed` report them; ``build_s`` is the
        first round's, ``golden_mismatches`` the sum over the rounds and ``verdict`` their
        combined verdict.

    Raises
    ------
    SimulationError
        If a ceiling run's frames did not end in the co-simulation's cycles.
    """
    from cimtile.tb.transport.exchange import SimulationError
    cosims, ceilings = [], []
    for _ in range(rounds):
        cosim = _cosim(cfg, mvms, "bulk", seed, verbose)
        ceiling = _ceiling(cfg, mvms, seed)
        if not (np.array_equal(cosim.frame_cycles, ceiling.frame_cycles)
                and cosim.first_request == ceiling.first_request):
            raise SimulationError(
                f"the ceiling run took other cycles than the co-simulation: its last result "
                f"at cycle {ceiling.cycles_total} against {cosim.cycles_total}, its first "
                f"analog request at {ceiling.first_request} against {cosim.first_request}")
        cosims.append(_speed(cosim, mvms) | {"wakeups_per_mvm": round(cosim.wakeups / mvms,
                                                                        4)})
        ceilings.append(_speed(ceiling, mvms))

    def fastest(speeds):
        best = max(speeds, key=lambda speed: speed["mvm_per_s"])
        return best | {"build_s": speeds[0]["build_s"],
                       "golden_mismatches": sum(s["golden_mismatches"] for s in speeds),
                       "verdict": combine(s["verdict"] for s in speeds)}

    return fastest(cosims), fastest(ceilings)


def ceiling_report(cosim, ceiling):
    """The report's ceiling figures from :func:`cosim_and_ceiling`'s results."""
    return {"cosim_cycles_per_s": cosim["cycles_per_s"],
            "ceiling_mvm_per_s": ceiling["mvm_per_s"],
            "ceiling_cycles_per_s": ceiling["cycles_per_s"],
            "cosim_to_ceiling": round(cosim["mvm_per_s"] / ceiling["mvm_per_s"], 2),
            "ceiling_build_s": ceiling["build_s"]}


def size_table(cfg, mvms, vip_mvms, sizes=SIZES, progress=None):
    """:func:`cosim_and_ceiling` and the VIP drive's :func:`cosim_speed` for each tile size
    (rows, cols) of `cfg`'s other parameters; the VIP drive runs only `vip_mvms` vectors
    (it is the slow one).

    Returns
    -------
    (list of dict, Verdict)
        One row per size, and every run's golden verdict combined.
    """
    rows, verdicts = [], []
    for tile_rows, cols in sizes:
        at = cfg.replace(rows=tile_rows, cols=cols)
        bulk, ceiling = cosim_and_ceiling(at, mvms)
        vip = cosim_speed(at, vip_mvms, "vip")
        rows.append({"rows": tile_rows, "cols": cols, "build_s": bulk["build_s"],
                     "bulk_mvm_per_s": bulk["mvm_per_s"],
                     "bulk_cycles_per_s": bulk["cycles_per_s"],
                     "ceiling_mvm_per_s": ceiling["mvm_per_s"],
                     "ceiling_cycles_per_s": ceiling["cycles_per_s"],
                     "cosim_to_ceiling": round(bulk["mvm_per_s"] / ceiling["mvm_per_s"], 2),
                     "ceiling_build_s": ceiling["build_s"],
                     "vip_mvm_per_s": vip["mvm_per_s"],
                     "vip_cycles_per_s": vip["cycles_per_s"],
                     "wakeups_per_mvm": bulk["wakeups_per_mvm"],
                     "golden_mismatches": bulk["golden_mismatches"]
                     + ceiling["golden_mismatches"] + vip["golden_mismatches"]})
        verdicts += [bulk["verdict"], ceiling["verdict"], vip["verdict"]]
        if progress is not None:
            progress(rows[-1])
    return rows, combine(verdicts)


def emulator_speed(cfg, W, X, verbose=False):
    """Speed of the all-RTL host top (crossbar emulator in Verilator, streamed by the bulk
    top) on the same vectors, measured as the co-simulation's: the ceiling of co-simulation
    speed.

    Returns
    -------
    (dict, Verdict or None)
        The report's ``emulator_*`` figures and the run's golden verdict; a note and None
        when the emulator cannot serve `cfg`.
    """
    from cimtile.hdl.crossbar_emulator import emulator_geometry
    from cimtile.spec.config import ConfigError
    from cimtile.tb.runs.emulator_runner import simulate_emulator
    from cimtile.tb.transport.stimulus import Scenario

    from .sweep import config_with
    ideal = config_with(cfg, {"analog.model": "ideal"})
    try:
        emulator_geometry(ideal)
    except ConfigError as error:
        return {"emulator": f"not run: {error}"}, None
    run = simulate_emulator(ideal, W, X, scenario=Scenario(seed=0, strict=False),
                            verbose=verbose)
    return {"emulator_mvm_per_s": round(run.mvms / run.stream_s, 1),
            "emulator_cycles_per_s": round(run.cycles_total / run.stream_s),
            "emulator_wall_s": round(run.wall_s, 2),
            "emulator_build_s": round(run.build_s, 3),
            "emulator_golden_mismatches": run.golden_mismatches}, run.verdict


def _physical_figures(cfg, mvms, bulk, verbose):
    """The ideal model's speed beside the physical one's, and the macro's bit-plane time."""
    from .sweep import config_with
    ideal = cosim_speed(config_with(cfg, {"analog.model": "ideal"}), mvms, "bulk",
                        verbose=verbose)
    # One bit-plane request of the macro, as the VIP drive makes it; the one-time setup
    # (with IR drop: factorisation and transfer matrix) is timed apart.
    timing = plane_timing(cfg)
    no_drop = config_with(cfg, {"analog.r_wl": 0, "analog.r_bl": 0})
    return {"ideal_mvm_per_s": ideal["mvm_per_s"],
            "physical_to_ideal": round(bulk["mvm_per_s"] / ideal["mvm_per_s"], 2),
            "macro_setup_s": round(timing["setup_s"], 3),
            "plane_us": round(timing["plane_us"], 1),
            "plane_us_without_ir_drop": round(plane_timing(no_drop)["plane_us"], 1)}, \
        ideal["verdict"]


def bench_report(cfg, mvms, verbose=False):
    """``cimtile bench``: the bulk co-simulation against its ceiling, the VIP drive, the
    all-RTL emulator and the golden model against plain numpy, on `mvms` random vectors
    (the VIP drive on at most :data:`VIP_BENCH_MVMS`); with the physical model also the
    ideal one and the macro's bit-plane time.

    Returns
    -------
    (dict, Verdict)
        The JSON-ready report, and every run's golden verdict combined.
    """
    bulk, ceiling = cosim_and_ceiling(cfg, mvms, verbose=verbose)
    vip = cosim_speed(cfg, min(mvms, VIP_BENCH_MVMS), "vip", verbose=verbose)
    report = {"analog": cfg.analog.model, "mvms": mvms,
              "analog_cycles_per_mvm": cfg.analog_cycles_per_mvm,
              "cosim_mvm_per_s": bulk["mvm_per_s"], "cosim_wall_s": bulk["wall_s"],
              "cosim_build_s": bulk["build_s"], "wakeups_per_mvm": bulk["wakeups_per_mvm"],
              **ceiling_report(bulk, ceiling), "vip_mvm_per_s": vip["mvm_per_s"],
              "vip_cycles_per_s": vip["cycles_per_s"]}
    verdicts = [bulk["verdict"], ceiling["verdict"], vip["verdict"]]
    W, X = random_operands(cfg, mvms, np.random.default_rng(0))
    emulator, verdict = emulator_speed(cfg, W, X, verbose)
    report |= emulator
    if verdict is not None:
        report["cosim_to_emulator"] = round(bulk["mvm_per_s"]
                                            / emulator["emulator_mvm_per_s"], 2)
        verdicts.append(verdict)
    golden = golden_against_numpy(cfg)
    report |= {"golden_mvm_per_s": round(golden["golden_mvm_per_s"]),
               "numpy_mvm_per_s": round(golden["numpy_mvm_per_s"]),
               "golden_to_numpy": round(golden["golden_mvm_per_s"]
                                        / golden["numpy_mvm_per_s"], 2)}
    if cfg.analog.physical:
        physical, verdict = _physical_figures(cfg, mvms, bulk, verbose)
        report |= physical
        verdicts.append(verdict)
    return report, combine(verdicts)
