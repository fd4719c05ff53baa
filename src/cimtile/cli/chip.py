"""``cimtile compile`` and ``cimtile isa``: a network compiled into a chip program, with the
golden chip model's figures, and the chip's instruction set as Markdown."""

from cimtile.spec.chip_config import load_chip_config
from cimtile.spec.files import InputError, OutputFiles, check_paths, path_arg

from .network import load_network
from .options import SEED_MAX, seed_type
from .summary import add_json_option, print_report, stage_json
from .verdicts import exit_status, verdict_line

__all__ = ["add_commands", "run_on_chip", "chip_network"]


def _rows(report):
    timing = report["timing"]
    rows = [("tiles used", f"{report['tiles_used']} of {report['tiles']}", ""),
            ("instructions", report["instructions"], "")]
    rows += [(f"layer {layer['layer']}", f"{layer['cycles']:,}",
              f"cycles ({layer['mvms']} MVMs on tiles {layer['tiles'][0]}.."
              f"{layer['tiles'][-1]}, from cycle {layer['start']:,})")
             for layer in timing["layers"]]
    rows += [("cycles per image", timing["cycles_per_image"], "(one image alone)"),
             ("cycles per run", f"{timing['cycles_per_run']:,}",
              f"({timing['images_per_run']} images overlapped, "
              f"{timing['cycles_per_run'] / timing['images_per_run']:.1f} cycles per image)"),
             ("images per second", f"{timing['images_per_s']:,.0f}",
              f"at {timing['clock_mhz']:g} MHz"),
             ("one tile at a time", f"{timing['serial_images_per_s']:,.0f}",
              f"images/s ({timing['speedup_over_serial']:.2f}x fewer)"),
             ("tile utilisation", " ".join(f"{100 * u:.0f}" for u in
                                           timing["tile_utilisation"][:report["tiles_used"]]),
              "%")]
    if "energy" in report:
        rows += _ppa_rows(report["energy"], report["area"])
    rows += [(f"{name} accuracy", f"{100 * report[key]:.2f}", "%") for name, key in (
        ("float", "float_accuracy"), ("quantized (float requantisation)", "quantized_accuracy"),
        ("chip, exact tiles", "chip_exact_accuracy"),
        ("chip, golden tiles (levels not write-verified)", "chip_golden_accuracy"))]
    return rows


def _ppa_rows(energy, area):
    """Energy per image with its breakdown, TOPS/W and area with its parts."""
    total = energy["per_image_pj"]
    rows = [("energy per image", f"{total / 1e3:,.2f}", "nJ"),
            ("TOPS/W", f"{energy['tops_per_w']:.3f}",
             f"({2 * energy['macs_per_image']:,} operations per image)")]
    rows += [(f"  {name}", f"{item['pj'] / 1e3:,.3f}", f"nJ ({100 * item['pj'] / total:.1f} %)")
             for name, item in energy["breakdown"].items()]
    rows.append(("area", f"{area['total_um2'] / 1e6:.3f}", "mm2"))
    rows += [(f"  {name}", f"{um2 / 1e6:.4f}", f"mm2 ({100 * um2 / area['total_um2']:.1f} %)")
             for name, um2 in area["parts_um2"].items()]
    return rows


def _cosim_rows(report):
    """The co-simulation's figures, then the golden chip model's."""
    timing = report["timing"]
    rows = [("co-simulated accuracy", f"{100 * report['cosim_accuracy']:.2f}", "%"),
            ("golden chip accuracy (tiles as programmed)",
             f"{100 * report['programmed_golden_accuracy']:.2f}", "%"),
            ("agreement co-simulation vs golden chip", f"{100 * report['agreement']:.2f}",
             "%"),
            ("co-simulated cycles per run", f"{report['cosim_cycles_per_run']:,}",
             f"(start to done of a run of {timing['images_per_run']} images; the timing "
             f"model's {timing['cycles_per_run']:,} and the fetch)"),
            ("programming", f"{report['program_cycles']:,}",
             f"cycles, every tile at once ({report['program_cells']:,} cells, repaired "
             f"columns per tile {' '.join(map(str, report['repaired_columns']))})"),
            ("wall time", f"{report['simulation_s']:.1f}",
             f"s in one simulator: programming {report['program_s']:.1f} s, inference of "
             f"{report['images']} images {report['inference_s']:.1f} s (compile "
             f"{report['compile_s']:.1f} s, build {report['build_s']:.1f} s)")]
    return rows + _rows(report)


def run_on_chip(args, inputs):
    """``cimtile run --chip``: compile the model for the chip and co-simulate every image
    through the chip in one simulator."""
    from cimtile.flows.network import load_data
    check_paths(inputs, [(args.report, "--report")])
    chip = load_chip_config(args.config)
    network = load_network(args.model)
    x_test, y_test, x_cal = load_data(args.data, network.inputs, network.outputs)
    return chip_network(args, inputs, chip, network, x_test, y_test, x_cal,
                        f"{args.model} on {args.config}", ppa=args.ppa)


def chip_network(args, inputs, chip, network, x_test, y_test, x_cal, name, *, ppa=False):
    """Run `network` (called `name` in errors) on the co-simulated `chip` (with its energy
    and area if `ppa`), write and print its report, and return the exit status."""
    from cimtile.flows.chip_compile import FitError
    from cimtile.flows.chip_run import chip_run_report
    if args.plots is not None:
        raise InputError("--plots: not available with --chip")
    try:
        report, verdicts = chip_run_report(network, chip, x_test, y_test, x_cal,
                                           seed=args.seed, per_channel=args.per_channel,
                                           ppa=ppa,
                                           verbose=args.verbose)
    except FitError as error:
        raise InputError(f"{name}: {error}") from None
    with OutputFiles(inputs) as outputs:
        if args.report is not None:
            stage_json(outputs, args.report, "--report", report)
    print_report(args, report, verdict_line(*verdicts), _cosim_rows(report))
    return exit_status(*verdicts)


def _cmd_compile(args):
    from cimtile.flows.chip_compile import FitError, compile_network
    from cimtile.flows.chip_report import chip_report
    from cimtile.flows.network import load_data
    from cimtile.spec.chip_program import save_program
    inputs = [(args.model, "--model"), (args.config, "--config"), (args.data, "--data")]
    check_paths(inputs, [(args.output, "-o"), (args.report, "--report")])
    chip = load_chip_config(args.config)
    network = load_network(args.model)
    x_test, y_test, x_cal = load_data(args.data, network.inputs, network.outputs)
    try:
        program = compile_network(network, chip, x_cal, args.seed, args.per_channel)
    except FitError as error:
        raise InputError(f"{args.model} on {args.config}: {error}") from None
    report = chip_report(network, chip, program, x_test, y_test, x_cal, args.per_channel)
    with OutputFiles(inputs) as outputs:
        outputs.stage(args.output, "-o", lambda file: save_program(file, program))
        if args.report is not None:
            stage_json(outputs, args.report, "--report", report)
    print_report(args, report, f"compiled {args.model} for {args.config}: "
                 f"{report['instructions']} instructions", _rows(report))


def _cmd_isa(args):
    from cimtile.spec.chip_isa_docs import markdown
    check_paths([], [(args.out, "--out")])
    text = markdown()
    with OutputFiles() as outputs:
        outputs.stage(args.out, "--out", lambda file: file.write(text.encode()))


def add_commands(commands):
    """Add ``compile`` and ``isa`` to the ``cimtile`` subparsers ``commands``."""
    p = commands.add_parser("compile", help="map a network onto a chip's tiles: the "
                            "sequencer's program, the weights and the golden chip figures")
    p.add_argument("--model", type=path_arg, required=True, metavar="MODEL",
                   help="an ONNX model (.onnx) or a multilayer perceptron (.npz) of dense "
                   "layers, each followed by at most a ReLU")
    p.add_argument("--config", type=path_arg, required=True, metavar="CHIP.toml",
                   help="a chip configuration (a [chip] table naming its tile's TOML)")
    p.add_argument("--data", type=path_arg, required=True, metavar="DATA.npz",
                   help="x_cal calibrates the quantizer; x_test and y_test give the "
                   "accuracies")
    p.add_argument("-o", "--output", type=path_arg, required=True, metavar="PROGRAM.npz",
                   help="the program: its words, the tiles' weights and seeds, the "
                   "post-processing memory, scales and addresses")
    p.add_argument("--seed", type=seed_type(SEED_MAX), default=0, help="derives each "
                   f"tile's analog-model seed as cimtile run does, 0..{SEED_MAX} (default 0)")
    p.add_argument("--per-channel", action="store_true", help="one weight scale, and so "
                   "one multiplier, per output of a layer instead of one per layer")
    p.add_argument("--report", type=path_arg, metavar="R.json",
                   help="write every figure as JSON")
    add_json_option(p)
    p.set_defaults(run=_cmd_compile)

    p = commands.add_parser("isa", help="the chip's instruction set as Markdown")
    p.add_argument("--out", type=path_arg, required=True, metavar="FILE.md")
    p.set_defaults(run=_cmd_isa)
