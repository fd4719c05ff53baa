"""``cimtile sim``: co-simulate the RTL tile in Verilator (or the all-RTL emulator) on a
batch of input vectors, against the golden model."""

import numpy as np

from cimtile.spec.config import ConfigError, load_config
from cimtile.spec.files import (InputError, OutputFiles, check_paths, load_inputs, load_weights,
                                open_inputs, path_arg)
from cimtile.tb.build.build import waves_format

from .options import SEED_MAX, integer, seed_type
from .summary import add_json_option, error_rows, print_report, run_rows, stage_json
from .verdicts import exit_status, verdict_line

__all__ = ["add_commands"]


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


def _check_emulator(cfg, args):
    """Refuse what the emulator backend cannot run."""
    from cimtile.hdl.crossbar_emulator import emulator_geometry
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


def _rows(report):
    energy = report["energy"]
    return ([("backend", f"{report['backend']} ({report['drive']} drive)", ""),
             ("run-time settings", f"in_bits {report['in_bits']}, adc_shift "
              f"{report['adc_shift']}", "")]
            + run_rows(report) + error_rows(report)
            + [("energy per MVM", energy["per_mvm_pj"] / 1e3, "nJ"),
               ("efficiency", energy["tops_per_w"], "TOPS/W")])


def _cmd_sim(args):
    from cimtile.flows.batch import simulate_batch
    from cimtile.flows.programmed_state import load_programmed
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
    X = (open_inputs if streamed else load_inputs)(args.inputs, cfg.at(in_bits))
    conductances = remap = None
    if args.backend == "emulator":
        _check_emulator(cfg, args)
    elif args.programmed is not None:
        cfg, conductances, remap = load_programmed(args.programmed, cfg)
    with OutputFiles(inputs) as outputs:
        waves = None if args.waves is None else outputs.reserve(args.waves, "--waves")
        out = outputs.reserve(args.out, "--out") if streamed else None
        result, report = simulate_batch(
            cfg, W, X, backend=args.backend, drive=args.drive, seed=args.seed,
            in_bits=in_bits, adc_shift=adc_shift, conductances=conductances, remap=remap,
            out=out, waves=waves, verbose=args.verbose,
            switching="run" if args.measure_switching else "typical")
        if not streamed:
            outputs.stage(args.out, "--out",
                          lambda file: np.save(file, result.Y.astype(np.int64)))
        if args.report is not None:
            stage_json(outputs, args.report, "--report", report)
    print_report(args, report, verdict_line(result.verdict), _rows(report))
    return exit_status(result.verdict)


def add_commands(commands):
    """Add ``sim`` to the ``cimtile`` subparsers ``commands``."""
    p = commands.add_parser("sim", help="co-simulate the RTL tile in Verilator")
    p.add_argument("--config", type=path_arg, required=True, metavar="CFG.toml")
    p.add_argument("--weights", type=path_arg, required=True, metavar="W.npy")
    p.add_argument("--inputs", type=path_arg, required=True, metavar="X.npy")
    p.add_argument("--out", type=path_arg, required=True, metavar="Y.npy")
    p.add_argument("--report", type=path_arg, metavar="R.json",
                   help="write the report as JSON")
    add_json_option(p)
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
    p.add_argument("--measure-switching", action="store_true",
                   help="measure the digital periphery's switching for the energy section on "
                   "this run's first vectors in the Amaranth simulator (default: the "
                   "configuration's, measured once on random operands and cached)")
    p.add_argument("-v", "--verbose", action="store_true", help="show the cocotb log")
    p.set_defaults(run=_cmd_sim)
