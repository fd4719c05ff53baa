"""The ``cimtile`` command: Verilog generation, golden model, co-simulation, benchmark,
parameter sweeps, demo.

Bad input (configuration, weights, inputs, unreadable files) ends with exit status 2 and
one line on stderr, ``cimtile: error: <message>``, naming the field or the file. Outputs are
written atomically once everything has succeeded, so a failed run leaves nothing behind.
A failed build or simulation ends with status 1; so does a co-simulation whose results
differ from the golden model, after writing them and the report.
"""

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .config import ConfigError, load_config, reference_config
from .fpga.commands import add_commands as add_fpga_commands
from .mapping import DataError, check_inputs, check_weights, random_operands
from .metrics import error_metrics
from .tb.runner import BuildError, Scenario, SimulationError, simulate, waves_format

__all__ = ["main"]

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class InputError(ValueError):
    """A command-line argument or input file is unusable; the message names it."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise InputError(f"{message} (see {self.prog} --help)")


_NPY_MAGIC = b"\x93NUMPY"


def _load_array(path, what):
    path = Path(path)
    if path.suffix != ".npy":
        raise InputError(f"{path}: {what} must be a .npy file")
    try:
        with open(path, "rb") as file:
            if file.read(len(_NPY_MAGIC)) != _NPY_MAGIC:
                raise InputError(f"{path}: {what} file is not in .npy format")
            file.seek(0)
            # Refuses object arrays: loading them would unpickle untrusted data.
            return np.load(file, allow_pickle=False)
    except InputError:
        raise
    except OSError as error:
        raise InputError(f"{path}: cannot read {what}: {error.strerror or error}") from None
    except (ValueError, EOFError) as error:
        raise InputError(f"{path}: cannot read {what}: {error}") from None


def _checked(path, what, check, cfg):
    try:
        return check(_load_array(path, what), cfg)
    except DataError as error:
        raise InputError(f"{path}: {error}") from None


def _load_weights(path, cfg):
    return _checked(path, "weights", check_weights, cfg)


def _load_inputs(path, cfg):
    return _checked(path, "inputs", check_inputs, cfg)


def _check_writable(path, option):
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise InputError(f"{path}: {option} directory {parent} does not exist")


def _check_outputs(*outputs):
    """Check every ``(path, option)`` whose path was given, before any work is done."""
    for path, option in outputs:
        if path is not None:
            _check_writable(path, option)


def _stage_json(writes, path, data):
    text = json.dumps(data, indent=2) + "\n"
    writes.stage(path, lambda file: file.write(text.encode()))


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


class _AtomicWrites:
    """Stage output files next to their targets; on leaving the ``with`` block without an
    error, publish them all with os.replace, otherwise delete them."""

    def __init__(self):
        self._staged = []
        self._mode = 0o666 & ~_umask()

    def stage(self, path, write):
        path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                   dir=path.resolve().parent)
        self._staged.append((tmp, path))
        with os.fdopen(fd, "wb") as file:
            write(file)
        os.chmod(tmp, self._mode)

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        for tmp, path in self._staged:
            if kind is None:
                os.replace(tmp, path)
            else:
                os.unlink(tmp)


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
    from .hdl.host import host_verilog
    from .hdl.tile import verilog_source
    cfg = load_config(args.config)
    _check_writable(args.output, "-o")
    text = (host_verilog if args.top == "host" else verilog_source)(cfg)
    with _AtomicWrites() as writes:
        writes.stage(args.output, lambda file: file.write(text.encode()))


def _cmd_regmap(args):
    from .regmap import c_header, markdown
    cfg = load_config(args.config)
    _check_writable(args.out, "--out")
    text = {"md": markdown, "c": c_header}[args.format](cfg)
    with _AtomicWrites() as writes:
        writes.stage(args.out, lambda file: file.write(text.encode()))


def _cmd_golden(args):
    from .golden import golden_mvm
    cfg = load_config(args.config)
    W = _load_weights(args.weights, cfg)
    X = _load_inputs(args.inputs, cfg)
    _check_outputs((args.out, "--out"), (args.report, "--report"))
    start = time.perf_counter()
    Y = golden_mvm(cfg, W, X, args.seed)
    wall_s = time.perf_counter() - start
    report = {"mvms": len(X), "wall_s": round(wall_s, 3)} | error_metrics(Y, X, W)
    with _AtomicWrites() as writes:
        writes.stage(args.out, lambda file: np.save(file, Y))
        if args.report is not None:
            _stage_json(writes, args.report, report)
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
    cfg = load_config(args.config)
    in_bits, adc_shift = _run_time(cfg, args)
    W = _load_weights(args.weights, cfg)
    X = _load_inputs(args.inputs, cfg.replace(in_bits=in_bits))
    _check_outputs((args.out, "--out"), (args.report, "--report"))
    if args.waves is not None:
        try:
            waves_format(args.waves)
        except ValueError as error:
            raise InputError(f"--waves: {error}") from None
        _check_writable(args.waves, "--waves")
    conductances = None
    if args.backend == "emulator":
        from .hdl.crossbar_emulator import emulator_geometry
        from .tb.emulator_runner import simulate_emulator
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
        result = simulate_emulator(cfg, W, X, scenario=Scenario(seed=args.seed, strict=False),
                                   waves=args.waves, verbose=args.verbose)
    else:
        if args.programmed is not None:
            cfg, conductances = _load_programmed(args.programmed, cfg)
        result = simulate(cfg, W, X, scenario=Scenario(seed=args.seed, strict=False),
                          conductances=conductances, in_bits=in_bits, adc_shift=adc_shift,
                          waves=args.waves, verbose=args.verbose)
    at = cfg.replace(in_bits=in_bits, adc_shift=adc_shift)
    report = ({"backend": args.backend, "in_bits": in_bits, "adc_shift": adc_shift}
              | _report(at, result) | error_metrics(result.Y, X, W))
    with _AtomicWrites() as writes:
        writes.stage(args.out, lambda file: np.save(file, result.Y.astype(np.int64)))
        if args.report is not None:
            _stage_json(writes, args.report, report)
    _print_json(report)
    if result.golden_mismatches:
        print(f"cimtile: error: {result.golden_mismatches} of {result.mvms} results differ "
              "from the golden model", file=sys.stderr)
        return EXIT_FAILURE


def _load_programmed(path, cfg):
    """Conductances left by ``cimtile program --state``, and `cfg` with the read-out
    calibrated to the window they were programmed in."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as state:
            missing = [key for key in ("conductance", "window") if key not in state.files]
            if missing:
                raise InputError(f"{path}: programmed state lacks {', '.join(missing)}")
            G, window = state["conductance"], state["window"]
    except InputError:
        raise
    except (OSError, ValueError, EOFError) as error:
        raise InputError(f"{path}: cannot read programmed state: {error}") from None
    shape = (cfg.tile.rows, cfg.cols_phys)
    if G.shape != shape or not np.isfinite(G).all() or G.min(initial=0) < 0:
        raise InputError(f"{path}: conductance must be finite, non-negative and shaped "
                         f"(rows={shape[0]}, cols_phys={shape[1]})")
    if window.shape != (2,) or not 0 <= window[0] < window[1]:
        raise InputError(f"{path}: window must be [g_lo, g_hi] with 0 <= g_lo < g_hi")
    analog = dataclasses.replace(cfg.analog, g_min=float(window[0]), g_max=float(window[1]))
    return dataclasses.replace(cfg, analog=analog), G


def _load_faults(path, cfg):
    faults = _load_array(path, "faults")
    shape = (cfg.tile.rows, cfg.cols_phys)
    if faults.shape != shape:
        raise InputError(f"{path}: faults: shape must be (rows={shape[0]}, "
                         f"cols_phys={shape[1]}), not {faults.shape}")
    if faults.dtype == bool or not np.issubdtype(faults.dtype, np.integer):
        raise InputError(f"{path}: faults: dtype must be integer, not {faults.dtype}")
    bad = np.argwhere((faults < 0) | (faults > 2))
    if len(bad):
        where = list(map(int, bad[0]))
        raise InputError(f"{path}: faults: values must be 0 (healthy), 1 (stuck at g_min) "
                         f"or 2 (stuck at g_max); found {faults[tuple(where)]} at {where}")
    return faults.astype(np.int64)


def _cmd_program(args):
    from .behavioral.device import MemdiodeArray
    from .mapping import weight_levels
    from .program_report import plot_programming, programming_report
    from .tb.runner import program
    cfg = load_config(args.config)
    levels = weight_levels(_load_weights(args.weights, cfg), cfg)
    shape = (cfg.tile.rows, cfg.cols_phys)
    faults = _load_faults(args.faults, cfg) if args.faults else np.zeros(shape, np.int64)
    _check_outputs((args.report, "--report"), (args.plot, "--plot"), (args.state, "--state"))
    run = program(cfg, levels, faults=faults, seed=args.seed, verbose=args.verbose)
    report = programming_report(cfg, levels, faults, args.seed, run)
    window = MemdiodeArray(cfg.device, (1, 1), np.random.default_rng(0)).window
    with _AtomicWrites() as writes:
        _stage_json(writes, args.report, report)
        if args.plot is not None:
            writes.stage(args.plot, lambda file: plot_programming(file, cfg, levels, run,
                                                                  window))
        if args.state is not None:
            writes.stage(args.state, lambda file: np.savez(
                file, conductance=run.conductance, window=np.array(window)))
    _print_json({key: value for key, value in report.items()
                 if key not in ("failed", "pulses_histogram")}
                | {"failed_cells": len(report["failed"])})
    if report["golden_mismatches"]:
        print(f"cimtile: error: {report['golden_mismatches']} of {report['cells']} cells "
              "differ from the golden model", file=sys.stderr)
        return EXIT_FAILURE


def _cmd_bench(args):
    from .golden import golden_throughput
    from .sweep import config_with
    cfg = load_config(args.config) if args.config else reference_config()
    if args.mvms < 2:
        raise InputError(f"--mvms must be at least 2, not {args.mvms}")
    if args.analog is not None:
        cfg = config_with(cfg, {"analog.model": args.analog})
    W, X = random_operands(cfg, args.mvms, np.random.default_rng(0))
    result = simulate(cfg, W, X, scenario=Scenario(seed=0, strict=False),
                      verbose=args.verbose)
    report = {"analog": cfg.analog.model} | _report(cfg, result)
    report["golden_mvm_per_s"] = round(golden_throughput(cfg), 1)
    mismatches = result.golden_mismatches
    emulator = _bench_emulator(cfg, W, X, args.verbose)
    report |= emulator
    mismatches += emulator.get("emulator_golden_mismatches", 0)
    if cfg.analog.physical:
        from .bench import plane_timing
        ideal = simulate(config_with(cfg, {"analog.model": "ideal"}), W, X,
                         scenario=Scenario(seed=0, strict=False), verbose=args.verbose)
        mismatches += ideal.golden_mismatches
        report["ideal_mvm_per_s"] = round(ideal.mvms / ideal.wall_s, 1)
        # One bit-plane request of the macro, as the co-simulation makes it; the one-time
        # setup (with IR drop: factorisation and transfer matrix) is timed apart.
        timing = plane_timing(cfg)
        report["macro_setup_s"] = round(timing["setup_s"], 3)
        report["plane_us"] = round(timing["plane_us"], 1)
        no_drop = config_with(cfg, {"analog.r_wl": 0, "analog.r_bl": 0})
        report["plane_us_without_ir_drop"] = round(plane_timing(no_drop)["plane_us"], 1)
    _print_json(report)
    return EXIT_FAILURE if mismatches else None


def _bench_emulator(cfg, W, X, verbose):
    """Speed of the all-RTL tile (crossbar emulator in Verilator) on the same vectors, the
    ceiling of co-simulation speed; a note instead when the emulator cannot serve `cfg`."""
    from .hdl.crossbar_emulator import emulator_geometry
    from .sweep import config_with
    from .tb.emulator_runner import simulate_emulator
    ideal = config_with(cfg, {"analog.model": "ideal"})
    try:
        emulator_geometry(ideal)
    except ConfigError as error:
        return {"emulator": f"not run: {error}"}
    run = simulate_emulator(ideal, W, X, scenario=Scenario(seed=0, strict=False),
                            verbose=verbose)
    return {"emulator_mvm_per_s": round(run.mvms / run.wall_s, 1),
            "emulator_build_s": round(run.build_s, 3),
            "emulator_golden_mismatches": run.golden_mismatches}


def _cmd_sweep(args):
    from .sweep import (Progress, SweepError, parse_param, run_sweep, sweep_points,
                        write_outputs)
    cfg = load_config(args.config)
    if args.n < 1:
        raise InputError(f"--n must be at least 1, not {args.n}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: --out must be a directory")
    try:
        params = [parse_param(spec) for spec in args.param]
        points = sweep_points(cfg, params)
    except SweepError as error:
        raise InputError(str(error)) from None
    keys = [key for key, _ in params]
    rows = run_sweep(points, n=args.n, seed=args.seed, cosim=args.cosim,
                     progress=Progress(len(points)))
    paths = write_outputs(out, rows, keys)
    summary = {"points": len(rows), "csv": str(paths[0]), "plots": [str(p) for p in paths[1:]]}
    if args.cosim:
        mismatches = sum(row["cosim_golden_mismatches"] for row in rows)
        summary["cosim_golden_mismatches"] = mismatches
        summary["cosim_equals_sweep"] = all(row["cosim_equals_sweep"] for row in rows)
    _print_json(summary)
    if args.cosim and (mismatches or not summary["cosim_equals_sweep"]):
        print("cimtile: error: co-simulated spot checks differ from the golden model",
              file=sys.stderr)
        return EXIT_FAILURE


def _run_network(args, cfg, layers, x_test, y_test, x_cal):
    from .network_plots import plot_writers
    from .network_run import failures, run_network, summary
    _check_outputs((args.report, "--report"))
    plots = None if args.plots is None else Path(args.plots)
    if plots is not None and plots.exists() and not plots.is_dir():
        raise InputError(f"{plots}: --plots must be a directory")
    report, arrays = run_network(cfg, layers, x_test, y_test, x_cal, seed=args.seed,
                                 verbose=args.verbose)
    writers = [] if plots is None else plot_writers(cfg, report, arrays, x_test, y_test,
                                                    x_cal)
    if plots is not None:
        plots.mkdir(parents=True, exist_ok=True)
    with _AtomicWrites() as writes:
        if args.report is not None:
            _stage_json(writes, args.report, report)
        for name, write in writers:
            writes.stage(plots / name, write)
    print(summary(report))
    problems = failures(report)
    for problem in problems:
        print(f"cimtile: error: {problem}", file=sys.stderr)
    return EXIT_FAILURE if problems else None


def _cmd_run(args):
    from .network import load_data, load_model
    cfg = load_config(args.config)
    layers = load_model(args.model)
    data = load_data(args.data, layers[0].W.shape[0], layers[-1].W.shape[1])
    return _run_network(args, cfg, layers, *data)


def _cmd_demo(args):
    from .digits import QUICK_IMAGES, demo_config, digits_split, train_mlp
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
    return _run_network(args, cfg, layers, x_test, y_test, x_cal)


def _network_options(p):
    p.add_argument("--seed", type=int, default=0, help="training, device and analog model "
                   "seed (default 0)")
    p.add_argument("--report", metavar="R.json", help="write every figure as JSON")
    p.add_argument("--plots", metavar="DIR", help="directory for the accuracy sweeps, "
                   "confusion matrix and per-layer error histograms (created if needed)")
    p.add_argument("-v", "--verbose", action="store_true", help="show the cocotb log")


def _parser():
    parser = _Parser(prog="cimtile", description="Memristive compute-in-memory tile: RTL "
                     "generation, golden model and co-simulation.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=_Parser)

    p = commands.add_parser("verilog", help="write the tile's Verilog")
    p.add_argument("--config", required=True, metavar="CFG.toml")
    p.add_argument("-o", "--output", required=True, metavar="tile.v")
    p.add_argument("--top", choices=("host", "tile"), default="host",
                   help="host: the tile behind AXI4-Lite and AXI4-Stream (module cim_host, "
                   "default); tile: the bare tile core (module cim_tile)")
    p.set_defaults(run=_cmd_verilog)

    p = commands.add_parser("regmap", help="the host register map as Markdown or a C header")
    p.add_argument("--config", required=True, metavar="CFG.toml")
    p.add_argument("--format", required=True, choices=("md", "c"))
    p.add_argument("--out", required=True, metavar="FILE")
    p.set_defaults(run=_cmd_regmap)

    p = commands.add_parser("golden", help="results of the golden model")
    p.add_argument("--config", required=True, metavar="CFG.toml")
    p.add_argument("--weights", required=True, metavar="W.npy")
    p.add_argument("--inputs", required=True, metavar="X.npy")
    p.add_argument("--out", required=True, metavar="Y.npy")
    p.add_argument("--seed", type=int, default=0, help="analog model seed (default 0)")
    p.add_argument("--report", metavar="R.json", help="write (and print) the error "
                   "against X @ W as JSON")
    p.set_defaults(run=_cmd_golden)

    p = commands.add_parser("sim", help="co-simulate the RTL tile in Verilator")
    p.add_argument("--config", required=True, metavar="CFG.toml")
    p.add_argument("--weights", required=True, metavar="W.npy")
    p.add_argument("--inputs", required=True, metavar="X.npy")
    p.add_argument("--out", required=True, metavar="Y.npy")
    p.add_argument("--report", metavar="R.json", help="write the report as JSON")
    p.add_argument("--waves", metavar="FILE.fst", help="record a waveform (FST, or VCD "
                   "for a .vcd name)")
    p.add_argument("--seed", type=int, default=0, help="analog model seed (default 0)")
    p.add_argument("--in-bits", type=int, metavar="N", help="run-time input precision, "
                   "written to the SETTINGS register (default: [tile] in_bits)")
    p.add_argument("--adc-shift", type=int, metavar="N", help="run-time ADC range select "
                   "(default: [tile] adc_shift)")
    p.add_argument("--programmed", metavar="S.npz", help="cells hold the conductances "
                   "that cimtile program --state wrote, not the ideal levels")
    p.add_argument("--backend", choices=("cosim", "emulator"), default="cosim",
                   help="cosim: behavioural analog models in Python (default); emulator: "
                   "the synthesizable crossbar emulator in Verilator (ideal mode only)")
    p.add_argument("-v", "--verbose", action="store_true", help="show the cocotb log")
    p.set_defaults(run=_cmd_sim)

    p = commands.add_parser("program", help="program the weights into the co-simulated "
                            "tile by write-verify")
    p.add_argument("--config", required=True, metavar="CFG.toml")
    p.add_argument("--weights", required=True, metavar="W.npy")
    p.add_argument("--faults", metavar="F.npy", help="stuck-at map (rows, cols_phys): "
                   "0 healthy, 1 stuck at g_min, 2 stuck at g_max")
    p.add_argument("--report", required=True, metavar="R.json")
    p.add_argument("--plot", metavar="P.png", help="pulse histogram and target-vs-"
                   "programmed conductance")
    p.add_argument("--state", metavar="S.npz", help="programmed conductances, for "
                   "cimtile sim --programmed")
    p.add_argument("--seed", type=int, default=0, help="device model seed (default 0)")
    p.add_argument("-v", "--verbose", action="store_true", help="show the cocotb log")
    p.set_defaults(run=_cmd_program)

    p = commands.add_parser("bench", help="co-simulation, all-RTL emulator and golden-model "
                            "speed")
    p.add_argument("--config", metavar="CFG.toml", help="default: the reference tile")
    p.add_argument("--mvms", type=int, default=4000, help="vectors to co-simulate "
                   "(default 4000)")
    p.add_argument("--analog", choices=("ideal", "physical"), help="analog model (default: "
                   "the config's); physical also co-simulates the ideal one for comparison "
                   "and times single bit-plane requests")
    p.add_argument("-v", "--verbose", action="store_true", help="show the cocotb log")
    p.set_defaults(run=_cmd_bench)

    p = commands.add_parser("sweep", help="golden-model error over a grid of parameter "
                            "values: CSV and plots")
    p.add_argument("--config", required=True, metavar="CFG.toml")
    p.add_argument("--param", required=True, action="append", metavar="TABLE.KEY=V1,V2,...",
                   help="a swept key and its values (repeat for a grid), e.g. "
                   "analog.read_noise=0,0.01,0.02")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for sweep.csv "
                   "and error_vs_KEY.png (created if needed)")
    p.add_argument("--cosim", action="store_true", help="also co-simulate a few vectors of "
                   "every point and check them against the golden model")
    p.add_argument("--n", type=int, default=256, help="random input vectors per point "
                   "(default 256)")
    p.add_argument("--seed", type=int, default=0, help="data and analog model seed "
                   "(default 0)")
    p.set_defaults(run=_cmd_sweep)

    p = commands.add_parser("run", help="a multilayer perceptron on co-simulated tiles: "
                            "quantize, split, program, infer")
    p.add_argument("--model", required=True, metavar="MODEL.npz", help="W0, b0, W1, b1, ... "
                   "(see the README)")
    p.add_argument("--config", required=True, metavar="CFG.toml")
    p.add_argument("--data", required=True, metavar="DATA.npz", help="x_test, y_test and "
                   "the held-out calibration inputs x_cal")
    _network_options(p)
    p.set_defaults(run=_cmd_run)

    p = commands.add_parser("demo", help="the digits MLP, trained here, on co-simulated "
                            "physical tiles")
    p.add_argument("--quick", action="store_true", help="only the first 60 test images")
    _network_options(p)
    p.set_defaults(run=_cmd_demo)

    add_fpga_commands(commands)
    return parser


def main(argv=None):
    """Run the ``cimtile`` command line; return the exit status."""
    try:
        args = _parser().parse_args(argv)
        return args.run(args) or 0
    except (InputError, ConfigError, DataError) as error:
        print(f"cimtile: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (BuildError, SimulationError) as error:
        print(f"cimtile: error: {error}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
