"""The ``cimtile`` command: Verilog generation, golden model, co-simulation, benchmark,
parameter sweeps, demo.

Bad input (arguments, configuration, weights, inputs, unreadable files, outputs that cannot
be written or that name an input) ends with exit status 2 and one line on stderr,
``cimtile: error: <message>``, naming the option, field or file; it is refused before any
work starts. Outputs are written atomically once everything has succeeded, so a failed run
leaves nothing behind. A failed build or simulation ends with status 1; so does a
co-simulation whose results differ from the golden model, after writing them and the report.
An interrupt (SIGINT) ends with status 130 and ``cimtile: interrupted``, SIGTERM with 143 and
``cimtile: terminated``, leaving no output either.
"""

import argparse
import dataclasses
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

from cimtile.flows.metrics import error_metrics
from cimtile.flows.process_tree import exit_status_on_interrupt
from cimtile.spec.config import ConfigError, load_config, reference_config
from cimtile.spec.files import (EXIT_BAD_INPUT, EXIT_FAILURE, InputError, OutputFiles, check_paths,
                                load_inputs, load_weights, open_inputs, path_arg, print_error,
                                read_npy, read_npz)
from cimtile.spec.mapping import DataError, check_remap, random_operands
from cimtile.tb.build.build import BuildError, waves_format
from cimtile.tb.transport.exchange import SimulationError
from cimtile.tb.runs.runner import Scenario, simulate

from .cache import add_commands as add_cache_commands
from .formal import add_commands as add_formal_commands
from .fpga import add_commands as add_fpga_commands
from .options import SEED_MAX, add_cluster_options, integer, seed_type
from .ppa import add_commands as add_ppa_commands
from .regress import add_commands as add_regress_commands

__all__ = ["main", "MAX_VECTORS", "SEED_MAX"]

#: The most random vectors ``bench --mvms`` and ``sweep --n`` make: their int64 operands
#: stay under a gigabyte even for the largest tile (1024 rows).
MAX_VECTORS = 100_000
#: The largest ``demo --seed``: scikit-learn's random_state is a 32-bit seed.
DEMO_SEED_MAX = 2**32 - 1
#: The largest conductance a programmed state may hold, uS: the range of analog.g_max.
G_MAX_US = 10**6


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise InputError(f"{message} (see {self.prog} --help)")


def _stage_json(outputs, path, option, data):
    text = json.dumps(data, indent=2) + "\n"
    outputs.stage(path, option, lambda file: file.write(text.encode()))


def _report(cfg, result):
    """The co-simulation report: cycle figures, speed and the golden check."""
    mvms = result.mvms
    return {
        "mvms": mvms,
        "cycles_total": result.cycles_total,
        "cycles_per_mvm": result.cycles_per_mvm,
        "analog_cycles_per_mvm": cfg.analog_cycles_per_mvm,
        "golden_mismatches": result.golden_mismatches,
        "build_s": round(result.build_s, 3),
        "wall_s": round(result.wall_s, 3),
        "mvm_per_s": round(mvms / result.wall_s, 1),
    }


def _print_json(data):
    print(json.dumps(data, indent=2))


def _cmd_verilog(args):
    from cimtile.hdl.host import host_verilog
    from cimtile.hdl.tile import verilog_source
    inputs = [(args.config, "--config")]
    check_paths(inputs, [(args.output, "-o")])
    cfg = load_config(args.config)
    text = (host_verilog if args.top == "host" else verilog_source)(cfg)
    with OutputFiles(inputs) as outputs:
        outputs.stage(args.output, "-o", lambda file: file.write(text.encode()))


def _cmd_regmap(args):
    from cimtile.spec.regmap import c_header, markdown
    inputs = [(args.config, "--config")]
    check_paths(inputs, [(args.out, "--out")])
    cfg = load_config(args.config)
    text = {"md": markdown, "c": c_header}[args.format](cfg)
    with OutputFiles(inputs) as outputs:
        outputs.stage(args.out, "--out", lambda file: file.write(text.encode()))


def _cmd_golden(args):
    from cimtile.models.golden import golden_mvm
    inputs = [(args.config, "--config"), (args.weights, "--weights"),
              (args.inputs, "--inputs")]
    check_paths(inputs, [(args.out, "--out"), (args.report, "--report")])
    cfg = load_config(args.config)
    W = load_weights(args.weights, cfg)
    X = load_inputs(args.inputs, cfg)
    start = time.perf_counter()
    Y = golden_mvm(cfg, W, X, args.seed)
    wall_s = time.perf_counter() - start
    report = {"mvms": len(X), "wall_s": round(wall_s, 3)} | error_metrics(Y, X, W)
    with OutputFiles(inputs) as outputs:
        outputs.stage(args.out, "--out", lambda file: np.save(file, Y))
        if args.report is not None:
            _stage_json(outputs, args.report, "--report", report)
    if args.report is not None:
        _print_json(report)


def _run_time(cfg, args):
    """The config at the run-time settings asked for (`--in-bits`, `--adc-shift`)."""
    in_bits = cfg.tile.in_bits if args.in_bits is None else args.in_bits
    adc_shift = cfg.tile.adc_shift if args.adc_shift is None else args.adc_shift
    if not 1 <= in_bits <= cfg.tile.in_bits:
        raise InputError(f"--in-bits must be in 1..{cfg.tile.in_bits} (the tile's maximum), "
                         f"not {in_bits}")
    if not 0 <= adc_shift <= cfg.adc_shift_max:
        raise InputError(f"--adc-shift must be in 0..{cfg.adc_shift_max} (the tile's "
                         f"maximum), not {adc_shift}")
    if (in_bits, adc_shift) != (cfg.tile.in_bits, cfg.tile.adc_shift) \
            and args.backend != "cosim":
        raise InputError("--in-bits and --adc-shift need --backend cosim")
    return in_bits, adc_shift


def _cmd_sim(args):
    from cimtile.flows.ppa.report import compute_section
    inputs = [(args.config, "--config"), (args.weights, "--weights"),
              (args.inputs, "--inputs"), (args.programmed, "--programmed")]
    check_paths(inputs, [(args.out, "--out"), (args.report, "--report"),
                         (args.waves, "--waves")])
    if args.waves is not None:
        try:
            waves_format(args.waves)
        except ValueError as error:
            raise InputError(f"--waves: {error}") from None
    cfg = load_config(args.config)
    in_bits, adc_shift = _run_time(cfg, args)
    W = load_weights(args.weights, cfg)
    # The bulk co-simulation reads the inputs and writes the results a chunk at a time, so
    # memory does not grow with the run; the other modes hold them.
    streamed = args.backend == "cosim" and args.drive == "bulk"
    X = (open_inputs if streamed else load_inputs)(args.inputs, cfg.replace(in_bits=in_bits))
    conductances = remap = None
    if args.backend == "emulator":
        from cimtile.hdl.crossbar_emulator import emulator_geometry
        from cimtile.tb.runs.emulator_runner import simulate_emulator
        if cfg.analog.physical:
            raise InputError("--backend emulator models the ideal analog mode only; the "
                             "config has analog.model = \"physical\"")
        if args.programmed is not None:
            raise InputError("--programmed needs --backend cosim (the emulator holds "
                             "levels, not conductances)")
        try:
            emulator_geometry(cfg)
        except ConfigError as error:
            raise InputError(f"{args.config}: {error}") from None
    elif args.programmed is not None:
        cfg, conductances, remap = _load_programmed(args.programmed, cfg)
    scenario = Scenario(seed=args.seed, strict=False)
    with OutputFiles(inputs) as outputs:
        waves = None if args.waves is None else outputs.reserve(args.waves, "--waves")
        if args.backend == "emulator":
            result = simulate_emulator(cfg, W, X, scenario=scenario, waves=waves,
                                       verbose=args.verbose)
        else:
            out = outputs.reserve(args.out, "--out") if streamed else None
            result = simulate(cfg, W, X, scenario=scenario, conductances=conductances,
                              in_bits=in_bits, adc_shift=adc_shift, drive=args.drive,
                              out=out, remap=remap, waves=waves, verbose=args.verbose)
        at = cfg.replace(in_bits=in_bits, adc_shift=adc_shift)
        report = ({"backend": args.backend, "drive": args.drive, "in_bits": in_bits,
                   "adc_shift": adc_shift}
                  | _report(at, result) | error_metrics(result.Y, X, W)
                  | {"energy": compute_section(cfg, W, X, seed=args.seed,
                                               conductances=conductances, in_bits=in_bits,
                                               cycles=result.cycles_total)[0]})
        if not streamed:
            outputs.stage(args.out, "--out",
                          lambda file: np.save(file, result.Y.astype(np.int64)))
        if args.report is not None:
            _stage_json(outputs, args.report, "--report", report)
    _print_json(report)
    if result.golden_mismatches:
        return print_error(f"{result.golden_mismatches} of {result.mvms} results differ "
                           "from the golden model", EXIT_FAILURE)


def _real_array(path, key, array):
    # By kind: numpy files timedelta64 under the integers.
    if array.dtype.kind not in "fiu":
        raise InputError(f"{path}: {key} must hold real numbers, not {array.dtype}")
    return array.astype(np.float64)


def _load_programmed(path, cfg):
    """``(cfg, conductances, remap)`` from the state ``cimtile program --state`` left: `cfg`
    with the read-out calibrated to the window the cells were programmed in, and the column
    remap table of a repaired array (None without one)."""
    from cimtile.flows.sweep import config_with
    state = read_npz(path, "programmed state")
    missing = [key for key in ("conductance", "window") if key not in state]
    if missing:
        raise InputError(f"{path}: programmed state lacks {', '.join(missing)}")
    remap = None
    if "remap" in state:
        if state["remap"].dtype.kind not in "iu":
            raise InputError(f"{path}: remap must hold integers, not {state['remap'].dtype}")
        try:
            remap = check_remap(state["remap"], cfg)
        except DataError as error:
            raise InputError(f"{path}: {error}") from None
    G = _real_array(path, "conductance", state["conductance"])
    window = _real_array(path, "window", state["window"])
    shape = (cfg.tile.rows, cfg.cols_phys)
    if G.shape != shape or not np.isfinite(G).all() or not 0 <= G.min() <= G.max() <= G_MAX_US:
        raise InputError(f"{path}: conductance must be shaped (rows={shape[0]}, "
                         f"cols_phys={shape[1]}) and finite, in [0, {G_MAX_US}] uS")
    if window.shape != (2,) or not np.isfinite(window).all() \
            or not 0 <= window[0] < window[1]:
        raise InputError(f"{path}: window must be [g_lo, g_hi] with 0 <= g_lo < g_hi, "
                         "both finite")
    try:
        cfg = config_with(cfg, {"analog.g_min": float(window[0]),
                                "analog.g_max": float(window[1])})
    except ConfigError as error:
        raise InputError(f"{path}: window: {error}") from None
    return cfg, G, remap


def _load_faults(path, cfg):
    faults = read_npy(path, "faults")
    shape = (cfg.tile.rows, cfg.cols_phys)
    if faults.shape != shape:
        raise InputError(f"{path}: faults: shape must be (rows={shape[0]}, "
                         f"cols_phys={shape[1]}), not {faults.shape}")
    if faults.dtype.kind not in "iu":
        raise InputError(f"{path}: faults: dtype must be integer, not {faults.dtype}")
    bad = np.argwhere((faults < 0) | (faults > 2))
    if len(bad):
        where = list(map(int, bad[0]))
        raise InputError(f"{path}: faults: values must be 0 (healthy), 1 (stuck at g_min) "
                         f"or 2 (stuck at g_max); found {faults[tuple(where)]} at {where}")
    return faults.astype(np.int64)


def _cmd_program(args):
    from cimtile.behavioral.device import MemdiodeArray
    from cimtile.spec.mapping import weight_levels
    from cimtile.flows.program_report import plot_programming, programming_report
    from cimtile.tb.runs.runner import program
    inputs = [(args.config, "--config"), (args.weights, "--weights"),
              (args.faults, "--faults")]
    check_paths(inputs, [(args.report, "--report"), (args.plot, "--plot"),
                         (args.state, "--state")])
    cfg = load_config(args.config)
    if args.repair and not cfg.tile.spare_cols:
        raise InputError(f"{args.config}: --repair needs spare columns ([tile] spare_cols "
                         ">= 1)")
    levels = weight_levels(load_weights(args.weights, cfg), cfg)
    shape = (cfg.tile.rows, cfg.cols_phys)
    faults = (np.zeros(shape, np.int64) if args.faults is None
              else _load_faults(args.faults, cfg))
    remap = np.zeros(cfg.cols_data, np.int64)
    if args.repair:
        from cimtile.flows.program_report import repair_report
        from cimtile.models.repair import repair
        from cimtile.tb.runs.repair_runner import SimulatedArray
        array = SimulatedArray(cfg, faults, seed=args.seed, drive=args.drive,
                               verbose=args.verbose)
        outcome = repair(cfg, levels, array)
        run, levels, remap = array.last, outcome.levels, outcome.remap
        report = repair_report(cfg, levels, faults, args.seed, run, outcome)
        report |= {"failed": outcome.failed_cells, "simulator_runs": array.runs,
                   "wall_s": round(array.wall_s, 3), "build_s": round(array.build_s, 3)}
        # The plot shows each programmed cell once, with its last pass.
        pulses, converged, reached = array.cell_results()
        plotted = (levels[reached], dataclasses.replace(
            run, pulses=pulses[reached], converged=converged[reached],
            conductance=run.conductance[reached]))
    else:
        run = program(cfg, levels, faults=faults, seed=args.seed, drive=args.drive,
                      verbose=args.verbose)
        report = programming_report(cfg, levels, faults, args.seed, run)
        plotted = (levels, run)
    report |= {"drive": args.drive}
    window = MemdiodeArray(cfg.device, (1, 1), np.random.default_rng(0)).window
    with OutputFiles(inputs) as outputs:
        _stage_json(outputs, args.report, "--report", report)
        if args.plot is not None:
            outputs.stage(args.plot, "--plot", lambda file: plot_programming(
                file, cfg, *plotted, window))
        if args.state is not None:
            outputs.stage(args.state, "--state", lambda file: np.savez(
                file, conductance=run.conductance, window=np.array(window), remap=remap))
    _print_json({key: value for key, value in report.items()
                 if key not in ("failed", "pulses_histogram", "remap")}
                | {"failed_cells": len(report["failed"])})
    if report["golden_mismatches"]:
        return print_error(f"{report['golden_mismatches']} of {report['cells']} cells "
                           "differ from the golden model", EXIT_FAILURE)


#: The longest run ``bench --memory`` measures.
MAX_STREAMED = 10_000_000
#: Vectors the VIP drive runs in ``cimtile bench``: it is the slow reference.
VIP_BENCH_MVMS = 1000


def _cmd_bench(args):
    from cimtile.flows.bench import (ceiling_report, cosim_and_ceiling, cosim_speed,
                                     golden_against_numpy, size_table)
    from cimtile.flows.sweep import config_with
    check_paths([(args.config, "--config")])
    if not 2 <= args.mvms <= MAX_VECTORS:
        raise InputError(f"--mvms must be in 2..{MAX_VECTORS}, not {args.mvms}")
    cfg = reference_config() if args.config is None else load_config(args.config)
    if args.analog is not None:
        cfg = config_with(cfg, {"analog.model": args.analog})
    if args.memory is not None:
        return _bench_memory(cfg, args)
    if args.sizes:
        rows = size_table(cfg, args.mvms, min(args.mvms, VIP_BENCH_MVMS),
                          progress=lambda row: print(json.dumps(row), file=sys.stderr))
        _print_json({"analog": cfg.analog.model, "mvms": args.mvms, "sizes": rows})
        return EXIT_FAILURE if any(row["golden_mismatches"] for row in rows) else None
    bulk, ceiling = cosim_and_ceiling(cfg, args.mvms, verbose=args.verbose)
    vip = cosim_speed(cfg, min(args.mvms, VIP_BENCH_MVMS), "vip", verbose=args.verbose)
    report = {"analog": cfg.analog.model, "mvms": args.mvms,
              "analog_cycles_per_mvm": cfg.analog_cycles_per_mvm,
              "cosim_mvm_per_s": bulk["mvm_per_s"], "cosim_wall_s": bulk["wall_s"],
              "cosim_build_s": bulk["build_s"], "wakeups_per_mvm": bulk["wakeups_per_mvm"],
              **ceiling_report(bulk, ceiling), "vip_mvm_per_s": vip["mvm_per_s"],
              "vip_cycles_per_s": vip["cycles_per_s"]}
    mismatches = bulk["golden_mismatches"] + ceiling["golden_mismatches"] \
        + vip["golden_mismatches"]
    W, X = random_operands(cfg, args.mvms, np.random.default_rng(0))
    emulator = _bench_emulator(cfg, W, X, args.verbose)
    report |= emulator
    if "emulator_mvm_per_s" in emulator:
        report["cosim_to_emulator"] = round(bulk["mvm_per_s"] / emulator["emulator_mvm_per_s"],
                                            2)
    mismatches += emulator.get("emulator_golden_mismatches", 0)
    golden = golden_against_numpy(cfg)
    report |= {"golden_mvm_per_s": round(golden["golden_mvm_per_s"]),
               "numpy_mvm_per_s": round(golden["numpy_mvm_per_s"]),
               "golden_to_numpy": round(golden["golden_mvm_per_s"]
                                        / golden["numpy_mvm_per_s"], 2)}
    if cfg.analog.physical:
        from cimtile.flows.bench import plane_timing
        ideal = cosim_speed(config_with(cfg, {"analog.model": "ideal"}), args.mvms, "bulk",
                            verbose=args.verbose)
        mismatches += ideal["golden_mismatches"]
        report["ideal_mvm_per_s"] = ideal["mvm_per_s"]
        report["physical_to_ideal"] = round(bulk["mvm_per_s"] / ideal["mvm_per_s"], 2)
        # One bit-plane request of the macro, as the VIP drive makes it; the one-time setup
        # (with IR drop: factorisation and transfer matrix) is timed apart.
        timing = plane_timing(cfg)
        report["macro_setup_s"] = round(timing["setup_s"], 3)
        report["plane_us"] = round(timing["plane_us"], 1)
        no_drop = config_with(cfg, {"analog.r_wl": 0, "analog.r_bl": 0})
        report["plane_us_without_ir_drop"] = round(plane_timing(no_drop)["plane_us"], 1)
    _print_json(report)
    return EXIT_FAILURE if mismatches else None


def _bench_memory(cfg, args):
    """``bench --memory``: peak memory of ``cimtile sim`` at each run length."""
    import tempfile
    from cimtile.spec.config import REFERENCE_CONFIG
    from cimtile.flows.memory_bench import sim_memory
    if not re.fullmatch(r"[0-9]+(,[0-9]+)*", args.memory):
        raise InputError(f"--memory must be vector counts separated by commas, not "
                         f"{args.memory!r}")
    lengths = [int(n) for n in args.memory.split(",")]
    if not lengths or any(not 1 <= n <= MAX_STREAMED for n in lengths):
        raise InputError(f"--memory: every count must be in 1..{MAX_STREAMED}")
    runs = []
    # A first short run builds the simulator, whose compilers would otherwise be measured.
    for vectors in [2] + lengths:
        with tempfile.TemporaryDirectory(prefix="cimtile-memory-") as directory:
            runs.append(sim_memory(cfg, args.config or REFERENCE_CONFIG, vectors, directory))
        print(json.dumps(runs[-1]), file=sys.stderr)
    runs = runs[1:]
    _print_json({"runs": runs, "peak_ratio": round(runs[-1]["peak_mb"] / runs[0]["peak_mb"],
                                                   2)})
    return EXIT_FAILURE if any(run["status"] for run in runs) else None


def _bench_emulator(cfg, W, X, verbose):
    """Speed of the all-RTL host top (crossbar emulator in Verilator, streamed by the bulk
    top) on the same vectors, measured as the co-simulation's: the ceiling of co-simulation
    speed; a note instead when the emulator cannot serve `cfg`."""
    from cimtile.hdl.crossbar_emulator import emulator_geometry
    from cimtile.flows.sweep import config_with
    from cimtile.tb.runs.emulator_runner import simulate_emulator
    ideal = config_with(cfg, {"analog.model": "ideal"})
    try:
        emulator_geometry(ideal)
    except ConfigError as error:
        return {"emulator": f"not run: {error}"}
    run = simulate_emulator(ideal, W, X, scenario=Scenario(seed=0, strict=False),
                            verbose=verbose)
    return {"emulator_mvm_per_s": round(run.mvms / run.stream_s, 1),
            "emulator_cycles_per_s": round(run.cycles_total / run.stream_s),
            "emulator_wall_s": round(run.wall_s, 2),
            "emulator_build_s": round(run.build_s, 3),
            "emulator_golden_mismatches": run.golden_mismatches}


def _cmd_sweep(args):
    from cimtile.flows.engine import EngineError, progress_bar
    from cimtile.flows.sweep import (SweepError, parse_param, plot_sweep, run_sweep, sweep_points,
                                     write_csv)
    inputs = [(args.config, "--config")]
    check_paths(inputs, directories=[(args.out, "--out")])
    if not 1 <= args.n <= MAX_VECTORS:
        raise InputError(f"--n must be in 1..{MAX_VECTORS}, not {args.n}")
    cfg = load_config(args.config)
    try:
        params = [parse_param(spec) for spec in args.param]
        points = sweep_points(cfg, params)
    except SweepError as error:
        raise InputError(str(error)) from None
    keys = [key for key, _ in params]
    with progress_bar("sweep", len(points)) as advance:
        try:
            rows = run_sweep(points, n=args.n, seed=args.seed, cosim=args.cosim,
                             workers=args.workers, scheduler=args.scheduler,
                             dashboard=args.dashboard, progress=advance)
        except EngineError as error:
            raise InputError(str(error)) from None
    plots = plot_sweep(rows, keys)
    if args.ppa:
        from cimtile.flows.ppa.study import plot_ppa_sweep, point_metrics
        for row, (_, point) in zip(rows, points):
            row |= point_metrics(point, args.n, args.seed)
        plots |= plot_ppa_sweep(rows, keys)
    files = {"sweep.csv": write_csv(rows).encode()} | plots
    out = Path(args.out)
    with OutputFiles(inputs) as outputs:
        outputs.directory(out, "--out")
        for name, data in files.items():
            outputs.stage(out / name, "--out", lambda file, data=data: file.write(data))
    paths = [str(out / name) for name in files]
    summary = {"points": len(rows), "csv": paths[0], "plots": paths[1:]}
    if args.cosim:
        mismatches = sum(row["cosim_golden_mismatches"] for row in rows)
        summary["cosim_golden_mismatches"] = mismatches
        summary["cosim_equals_sweep"] = all(row["cosim_equals_sweep"] for row in rows)
    _print_json(summary)
    if args.cosim and (mismatches or not summary["cosim_equals_sweep"]):
        return print_error("co-simulated spot checks differ from the golden model",
                           EXIT_FAILURE)


def _run_network(args, inputs, cfg, layers, x_test, y_test, x_cal):
    from cimtile.flows.network_plots import plot_writers
    from cimtile.flows.network_run import failures, run_network, summary
    from cimtile.flows.ppa.network import network_section
    report, arrays = run_network(cfg, layers, x_test, y_test, x_cal, seed=args.seed,
                                 verbose=args.verbose)
    report["energy"] = network_section(cfg, report, arrays, x_test)
    plots = None if args.plots is None else Path(args.plots)
    writers = [] if plots is None else plot_writers(cfg, report, arrays, x_test, y_test,
                                                    x_cal)
    with OutputFiles(inputs) as outputs:
        if args.report is not None:
            _stage_json(outputs, args.report, "--report", report)
        if plots is not None:
            outputs.directory(plots, "--plots")
        for name, write in writers:
            outputs.stage(plots / name, "--plots", write)
    text = summary(report)
    print(text)
    # Aligned with the summary's values, which start after its longest label.
    width = len(re.match(r".*?\S {2,}", text).group()) - 2
    energy = report["energy"]
    print(f"{'energy per inference':<{width}}  {energy['per_inference_pj'] / 1e3:,.1f} nJ "
          f"({energy['tops_per_w']:.3f} TOPS/W; see cimtile ppa for the tile's breakdown)")
    problems = failures(report)
    for problem in problems:
        print_error(problem, EXIT_FAILURE)
    return EXIT_FAILURE if problems else None


def _network_outputs(args):
    return dict(outputs=[(args.report, "--report")], directories=[(args.plots, "--plots")])


def _cmd_run(args):
    from cimtile.flows.network import ModelError, check_range, load_data, load_model
    inputs = [(args.model, "--model"), (args.config, "--config"), (args.data, "--data")]
    check_paths(inputs, **_network_outputs(args))
    cfg = load_config(args.config)
    layers = load_model(args.model)
    data = load_data(args.data, layers[0].W.shape[0], layers[-1].W.shape[1])
    try:
        check_range(layers, data[0], data[2], cfg)
    except ModelError as error:
        raise InputError(f"{args.model} on {args.data}: {error}") from None
    return _run_network(args, inputs, cfg, layers, *data)


def _cmd_demo(args):
    from cimtile.flows.digits import QUICK_IMAGES, demo_config, digits_split, train_mlp
    check_paths(**_network_outputs(args))
    cfg = demo_config()
    (x_train, y_train), (x_cal, _), (x_test, y_test) = digits_split(args.seed)
    if args.quick:
        x_test, y_test = x_test[:QUICK_IMAGES], y_test[:QUICK_IMAGES]
    t = cfg.tile
    print(f"64-54-10 MLP on 8x8 digits ({len(x_train)} training, {len(x_cal)} calibration, "
          f"{len(x_test)} test images) on {t.rows} x {t.cols} {cfg.analog.model} tiles: "
          f"{t.in_bits}-bit inputs, {t.w_bits}-bit weights in {cfg.slices} slices of "
          f"{t.bits_per_cell}-bit cells, {t.adc_bits}-bit ADCs", flush=True)
    layers = train_mlp(x_train, y_train, args.seed)
    return _run_network(args, [], cfg, layers, x_test, y_test, x_cal)


def _network_options(p, seed_max):
    p.add_argument("--seed", type=seed_type(seed_max), default=0, help="training, device "
                   f"and analog model seed, 0..{seed_max} (default 0)")
    p.add_argument("--report", type=path_arg, metavar="R.json",
                   help="write every figure as JSON")
    p.add_argument("--plots", type=path_arg, metavar="DIR",
                   help="directory for the accuracy sweeps, confusion matrix and per-layer "
                   "error histograms (created if needed)")
    p.add_argument("-v", "--verbose", action="store_true", help="show the cocotb log")


def _parser():
    parser = _Parser(prog="cimtile", description="Memristive compute-in-memory tile: RTL "
                     "generation, golden model and co-simulation.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=_Parser)

    p = commands.add_parser("verilog", help="write the tile's Verilog")
    p.add_argument("--config", type=path_arg, required=True, metavar="CFG.toml")
    p.add_argument("-o", "--output", type=path_arg, required=True, metavar="tile.v")
    p.add_argument("--top", choices=("host", "tile"), default="host",
                   help="host: the tile behind AXI4-Lite and AXI4-Stream (module cim_host, "
                   "default); tile: the bare tile core (module cim_tile)")
    p.set_defaults(run=_cmd_verilog)

    p = commands.add_parser("regmap", help="the host register map as Markdown or a C header")
    p.add_argument("--config", type=path_arg, required=True, metavar="CFG.toml")
    p.add_argument("--format", required=True, choices=("md", "c"))
    p.add_argument("--out", type=path_arg, required=True, metavar="FILE")
    p.set_defaults(run=_cmd_regmap)

    p = commands.add_parser("golden", help="results of the golden model")
    p.add_argument("--config", type=path_arg, required=True, metavar="CFG.toml")
    p.add_argument("--weights", type=path_arg, required=True, metavar="W.npy")
    p.add_argument("--inputs", type=path_arg, required=True, metavar="X.npy")
    p.add_argument("--out", type=path_arg, required=True, metavar="Y.npy")
    p.add_argument("--seed", type=seed_type(SEED_MAX), default=0, help="analog model "
                   f"seed, 0..{SEED_MAX} (default 0)")
    p.add_argument("--report", type=path_arg, metavar="R.json",
                   help="write (and print) the error against X @ W as JSON")
    p.set_defaults(run=_cmd_golden)

    p = commands.add_parser("sim", help="co-simulate the RTL tile in Verilator")
    p.add_argument("--config", type=path_arg, required=True, metavar="CFG.toml")
    p.add_argument("--weights", type=path_arg, required=True, metavar="W.npy")
    p.add_argument("--inputs", type=path_arg, required=True, metavar="X.npy")
    p.add_argument("--out", type=path_arg, required=True, metavar="Y.npy")
    p.add_argument("--report", type=path_arg, metavar="R.json",
                   help="write the report as JSON")
    p.add_argument("--waves", type=path_arg, metavar="FILE.fst",
                   help="record a waveform (FST, or VCD for a .vcd name)")
    p.add_argument("--seed", type=seed_type(SEED_MAX), default=0, help="analog model "
                   f"seed, 0..{SEED_MAX} (default 0)")
    p.add_argument("--in-bits", type=integer, metavar="N", help="run-time input precision, "
                   "written to the SETTINGS register (default: [tile] in_bits)")
    p.add_argument("--adc-shift", type=integer, metavar="N", help="run-time ADC range select "
                   "(default: [tile] adc_shift)")
    p.add_argument("--programmed", type=path_arg, metavar="S.npz",
                   help="cells hold the conductances that cimtile program --state wrote, not "
                   "the ideal levels")
    p.add_argument("--backend", choices=("cosim", "emulator"), default="cosim",
                   help="cosim: behavioural analog models in Python (default); emulator: "
                   "the synthesizable crossbar emulator in Verilator (ideal mode only)")
    p.add_argument("--drive", choices=("bulk", "vip"), default="bulk",
                   help="bulk: vectors, results and analog answers cross into the simulator "
                   "in bulk (default); vip: cocotbext-axi drives every beat and the analog "
                   "model answers every bit plane from Python (same results, same cycles)")
    p.add_argument("-v", "--verbose", action="store_true", help="show the cocotb log")
    p.set_defaults(run=_cmd_sim)

    p = commands.add_parser("program", help="program the weights into the co-simulated "
                            "tile by write-verify")
    p.add_argument("--config", type=path_arg, required=True, metavar="CFG.toml")
    p.add_argument("--weights", type=path_arg, required=True, metavar="W.npy")
    p.add_argument("--faults", type=path_arg, metavar="F.npy",
                   help="stuck-at map (rows, cols_phys): 0 healthy, 1 stuck at g_min, 2 stuck "
                   "at g_max")
    p.add_argument("--report", type=path_arg, required=True, metavar="R.json")
    p.add_argument("--plot", type=path_arg, metavar="P.png",
                   help="pulse histogram and target-vs-programmed conductance")
    p.add_argument("--state", type=path_arg, metavar="S.npz",
                   help="programmed conductances, for cimtile sim --programmed")
    p.add_argument("--seed", type=seed_type(SEED_MAX), default=0, help="device model "
                   f"seed, 0..{SEED_MAX} (default 0)")
    p.add_argument("--drive", choices=("bulk", "vip"), default="bulk",
                   help="bulk: targets, cell results and the device's answers cross into the "
                   "simulator in bulk, every request checked in RTL (default); vip: "
                   "cocotbext-axi drives every beat and the device model answers every read "
                   "and pulse from Python (same results, same cycles)")
    p.add_argument("--repair", action="store_true", help="repair the columns with failed "
                   "cells on spare columns (needs [tile] spare_cols): reports "
                   "repaired_columns, spares_used and unrepaired_cells")
    p.add_argument("-v", "--verbose", action="store_true", help="show the cocotb log")
    p.set_defaults(run=_cmd_program)

    p = commands.add_parser("bench", help="co-simulation against its C++ ceiling, all-RTL "
                            "emulator and golden-model speed")
    p.add_argument("--config", type=path_arg, metavar="CFG.toml",
                   help="default: the reference tile")
    p.add_argument("--mvms", type=integer, default=4000, help="vectors to co-simulate, "
                   f"2..{MAX_VECTORS} (default 4000)")
    p.add_argument("--analog", choices=("ideal", "physical"), help="analog model (default: "
                   "the config's); physical also co-simulates the ideal one for comparison "
                   "and times single bit-plane requests")
    p.add_argument("--sizes", action="store_true", help="tabulate build time, MVM/s and "
                   "cycles/s per drive and of the ceiling, and Python wake-ups per MVM over "
                   "tile sizes from 128 x 16 to 1024 x 256 (minutes: two builds per size)")
    p.add_argument("--memory", metavar="N1,N2,...", help="peak memory of the process tree "
                   "of cimtile sim on N1, N2, ... random vectors streamed from a file, and "
                   "the last peak over the first")
    p.add_argument("-v", "--verbose", action="store_true", help="show the cocotb log")
    p.set_defaults(run=_cmd_bench)

    p = commands.add_parser("sweep", help="golden-model error over a grid of parameter "
                            "values: CSV and plots")
    p.add_argument("--config", type=path_arg, required=True, metavar="CFG.toml")
    p.add_argument("--param", required=True, action="append", metavar="TABLE.KEY=V1,V2,...",
                   help="a swept key and its values (repeat for a grid), e.g. "
                   "analog.read_noise=0,0.01,0.02")
    p.add_argument("--out", type=path_arg, required=True, metavar="DIR",
                   help="directory for sweep.csv and error_vs_KEY.png (created if needed)")
    p.add_argument("--cosim", action="store_true", help="also co-simulate a few vectors of "
                   "every point and check them against the golden model")
    p.add_argument("--ppa", action="store_true", help="also energy per MVM, TOPS/W, area and "
                   "MVM time of every point (each distinct tile synthesised once), plotted "
                   "in ppa_vs_KEY.png and error_vs_energy.png")
    p.add_argument("--n", type=integer, default=256, help="random input vectors per point, "
                   f"1..{MAX_VECTORS} (default 256)")
    p.add_argument("--seed", type=seed_type(SEED_MAX), default=0, help="data and analog "
                   f"model seed, 0..{SEED_MAX} (default 0)")
    add_cluster_options(p, min_workers=0)
    p.set_defaults(run=_cmd_sweep)

    p = commands.add_parser("run", help="a multilayer perceptron on co-simulated tiles: "
                            "quantize, split, program, infer")
    p.add_argument("--model", type=path_arg, required=True, metavar="MODEL.npz",
                   help="W0, b0, W1, b1, ... (see the README)")
    p.add_argument("--config", type=path_arg, required=True, metavar="CFG.toml")
    p.add_argument("--data", type=path_arg, required=True, metavar="DATA.npz",
                   help="x_test, y_test and the held-out calibration inputs x_cal")
    _network_options(p, SEED_MAX)
    p.set_defaults(run=_cmd_run)

    p = commands.add_parser("demo", help="the digits MLP, trained here, on co-simulated "
                            "physical tiles")
    p.add_argument("--quick", action="store_true", help="only the first 60 test images")
    _network_options(p, DEMO_SEED_MAX)
    p.set_defaults(run=_cmd_demo)

    add_fpga_commands(commands)
    add_cache_commands(commands)
    add_formal_commands(commands)
    add_regress_commands(commands)
    add_ppa_commands(commands)
    return parser


def main(argv=None):
    """Run the ``cimtile`` command line; return the exit status."""
    return exit_status_on_interrupt("cimtile", lambda: _run(argv))


def _run(argv):
    try:
        args = _parser().parse_args(argv)
        return args.run(args) or 0
    except (InputError, ConfigError, DataError) as error:
        return print_error(error, EXIT_BAD_INPUT)
    except (BuildError, SimulationError) as error:
        return print_error(error, EXIT_FAILURE)


if __name__ == "__main__":
    sys.exit(main())
