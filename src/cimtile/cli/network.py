"""``cimtile run`` and ``cimtile demo``: a network on co-simulated tiles, a user's model
(ONNX or the ``.npz`` perceptron) or the digits MLP trained here (the shipped CNNs with
``--cnn mnist`` or ``--cnn digits``)."""

import time
from pathlib import Path

from cimtile.spec.config import load_config
from cimtile.spec.files import InputError, OutputFiles, check_paths, path_arg

from .options import SEED_MAX, seed_type
from .summary import add_json_option, print_report, stage_json
from .verdicts import exit_status, verdict_line

__all__ = ["add_commands", "load_network"]

#: The largest ``demo --seed``: scikit-learn's random_state is a 32-bit seed.
DEMO_SEED_MAX = 2**32 - 1


def _percent(report, key):
    return f"{100 * report[key]:.2f}", "%"


def _layer_rows(report):
    """One row per layer: its shape, tiles, MVMs and cycles."""
    return [(f"layer {l}: {layer['shape']}",
             f"{layer['tiles']} tile{'s' if layer['tiles'] > 1 else ''}, {layer['mvms']:,} "
             f"MVMs, {layer['cycles']:,} cycles",
             f"(quantized inputs rms error {100 * layer['input_rms_error']:.2f} %)")
            for l, layer in enumerate(report["layer_report"])]


def _optional_rows(report):
    """The rows of the figures only some runs have: the whole test set's accuracies,
    programming and repair, the import time."""
    rows = []
    if "test_set" in report:
        whole = report["test_set"]
        rows.append((f"float / quantized, all {whole['images']} test images",
                     f"{100 * whole['float_accuracy']:.2f} / "
                     f"{100 * whole['quantized_accuracy']:.2f}", "%"))
    if "program_cells" in report:
        rows.append(("cells programmed (converged)",
                     f"{report['program_cells']:,} ({report['program_converged']:,}),",
                     f"{report['program_pulses_mean']:.2f} pulses per cell"))
    if "repaired_columns" in report:
        rows.append(("repaired columns (unrepaired cells)",
                     f"{report['repaired_columns']:,} ({report['unrepaired_cells']:,})", ""))
    if "import_s" in report:
        rows.append(("import, quantize and map", f"{report['import_s']:.2f} + "
                     f"{report['quantize_map_s']:.2f}", "s"))
    return rows


def _rows(report):
    """The figures of a run, for the terminal."""
    energy = report["energy"]
    return [
        ("float accuracy", *_percent(report, "float_accuracy")),
        ("quantized accuracy (exact integers)", *_percent(report, "quantized_accuracy")),
        ("golden-model accuracy", *_percent(report, "golden_accuracy")),
        ("co-simulated accuracy", *_percent(report, "cosim_accuracy")),
        ("agreement co-simulation vs golden", *_percent(report, "agreement")),
        *_optional_rows(report),
        ("tiles per layer", " + ".join(map(str, report["tiles_per_layer"])), ""),
        *_layer_rows(report),
        ("tile MVMs", report["tile_mvms"], ""),
        ("total cycles", report["cycles_total"], ""),
        ("cycles per inference", f"{report['cycles_per_inference']:,.0f}", ""),
        ("co-simulation speed", f"{report['mvm_per_s']:,.0f}", "MVM/s"),
        ("images per second", f"{report['images_per_s']:.2f}", ""),
        ("wall time", f"{report['wall_s']:.1f}", f"s (programming {report['program_s']:.1f} "
                                                 f"s, inference {report['inference_s']:.1f} s)"),
        ("energy per inference", f"{energy['per_inference_pj'] / 1e3:,.1f}",
         f"nJ ({energy['tops_per_w']:.3f} TOPS/W; see cimtile ppa for the tile's breakdown)"),
    ]


def _run_network(args, inputs, cfg, network, x_test, y_test, x_cal, extra=None):
    """Run `network` and write and print its report, with the entries `extra` added."""
    from cimtile.flows.network_run import network_report
    plots = None if args.plots is None else Path(args.plots)
    report, writers, verdicts = network_report(cfg, network, x_test, y_test, x_cal,
                                               seed=args.seed, per_channel=args.per_channel,
                                               plots=plots is not None, verbose=args.verbose)
    report |= extra or {}
    with OutputFiles(inputs) as outputs:
        if args.report is not None:
            stage_json(outputs, args.report, "--report", report)
        if plots is not None:
            outputs.directory(plots, "--plots")
        for name, write in writers:
            outputs.stage(plots / name, "--plots", write)
    print_report(args, report, verdict_line(*verdicts), _rows(report))
    return exit_status(*verdicts)


def _network_outputs(args):
    return dict(outputs=[(args.report, "--report")], directories=[(args.plots, "--plots")])


def load_network(path):
    """The graph of a model file: ONNX by its ``.onnx`` suffix, else the ``.npz`` MLP."""
    from cimtile.flows.graph import mlp_graph
    from cimtile.flows.network import load_model
    if Path(path).suffix.lower() == ".onnx":
        from cimtile.flows.onnx_import import load_onnx
        return load_onnx(path)
    return mlp_graph(load_model(path))


def _cmd_run(args):
    from cimtile.flows.network import ModelError, check_range, load_data
    inputs = [(args.model, "--model"), (args.config, "--config"), (args.data, "--data")]
    if args.chip:
        from .chip import run_on_chip
        return run_on_chip(args, inputs)
    if args.ppa:
        raise InputError("--ppa: only with --chip (cimtile ppa prices a tile)")
    check_paths(inputs, **_network_outputs(args))
    cfg = load_config(args.config)
    start = time.perf_counter()
    network = load_network(args.model)
    import_s = time.perf_counter() - start
    data = load_data(args.data, network.inputs, network.outputs)
    try:
        check_range(network, data[0], data[2], cfg, args.per_channel)
    except ModelError as error:
        raise InputError(f"{args.model} on {args.data}: {error}") from None
    return _run_network(args, inputs, cfg, network, *data, {"import_s": round(import_s, 3)})


def _test_set_accuracy(network, cfg, per_channel, x_test, y_test, x_cal):
    """Float and quantized (exact integers) accuracy on the whole test set."""
    from cimtile.flows.network import accuracy
    from cimtile.flows.quantizer import quantize_graph
    qnet = quantize_graph(network, x_cal, cfg, per_channel)
    quantized, _ = qnet.forward(x_test, cfg, qnet.exact_mvm)
    return {"images": len(x_test),
            "float_accuracy": accuracy(network.reference_forward(x_test), y_test),
            "quantized_accuracy": accuracy(quantized, y_test)}


def _cnn_data(name):
    """The CNN demo `name`: its title, model file, split, and the test images co-simulated
    (all, with ``--quick``)."""
    if name == "digits":
        from cimtile.flows.digits import DIGITS_CNN, QUICK_IMAGES, TEST_SIZE, digits_split
        return "8x8-digits CNN", DIGITS_CNN, digits_split(), (TEST_SIZE, QUICK_IMAGES)
    from cimtile.flows.mnist import CNN_IMAGES, CNN_QUICK_IMAGES, MNIST_CNN, mnist_split
    return "MNIST CNN", MNIST_CNN, mnist_split(), (CNN_IMAGES, CNN_QUICK_IMAGES)


def _cnn_demo(args, cfg):
    from cimtile.flows.onnx_import import load_onnx
    title, path, data, (images, quick_images) = _cnn_data(args.cnn)
    (x_train, _), (x_cal, _), (x_test, y_test) = data
    images = quick_images if args.quick else images
    which = "all" if images == len(x_test) else f"the first {images} of"
    start = time.perf_counter()
    network = load_onnx(path)
    import_s = time.perf_counter() - start
    t = cfg.tile
    if not args.json:
        print(f"{title} ({', '.join(op.describe() for op in network.layers)}; "
              f"{len(x_train)} training, {len(x_cal)} calibration images) on {which} "
              f"{len(x_test)} test images, on {t.rows} x {t.cols} "
              f"{cfg.analog.model} tiles: {t.in_bits}-bit inputs, {t.w_bits}-bit weights in "
              f"{cfg.slices} slices of {t.bits_per_cell}-bit cells, {t.adc_bits}-bit ADCs",
              flush=True)
    return _run_network(args, [], cfg, network, x_test[:images], y_test[:images], x_cal, {
        "import_s": round(import_s, 3),
        "test_set": _test_set_accuracy(network, cfg, args.per_channel, x_test, y_test, x_cal)})


def _cmd_demo(args):
    from cimtile.flows.digits import QUICK_IMAGES, demo_config, digits_split, train_mlp
    from cimtile.flows.graph import mlp_graph
    check_paths(**_network_outputs(args))
    cfg = demo_config()
    if args.cnn:
        if args.chip:
            raise InputError("--cnn: not available with --chip")
        return _cnn_demo(args, cfg)
    (x_train, y_train), (x_cal, _), (x_test, y_test) = digits_split(args.seed)
    if args.quick:
        x_test, y_test = x_test[:QUICK_IMAGES], y_test[:QUICK_IMAGES]
    if args.chip:
        return _chip_demo(args, x_train, y_train, x_test, y_test, x_cal)
    t = cfg.tile
    if not args.json:
        print(f"64-54-10 MLP on 8x8 digits ({len(x_train)} training, {len(x_cal)} "
              f"calibration, {len(x_test)} test images) on {t.rows} x {t.cols} "
              f"{cfg.analog.model} tiles: {t.in_bits}-bit inputs, {t.w_bits}-bit weights in "
              f"{cfg.slices} slices of {t.bits_per_cell}-bit cells, {t.adc_bits}-bit ADCs",
              flush=True)
    network = mlp_graph(train_mlp(x_train, y_train, args.seed))
    return _run_network(args, [], cfg, network, x_test, y_test, x_cal)


def _chip_demo(args, x_train, y_train, x_test, y_test, x_cal):
    """The digits MLP on the four-tile chip, every image in one co-simulation."""
    from cimtile.flows.digits import train_mlp
    from cimtile.flows.graph import mlp_graph
    from cimtile.spec.chip_config import CHIP_DIGITS4_CONFIG, load_chip_config
    from .chip import chip_network
    chip = load_chip_config(CHIP_DIGITS4_CONFIG)
    t = chip.tile.tile
    if not args.json:
        print(f"64-54-10 MLP on 8x8 digits ({len(x_train)} training, {len(x_cal)} "
              f"calibration, {len(x_test)} test images) on a chip of {chip.chip.tiles} "
              f"{t.rows} x {t.cols} {chip.tile.analog.model} tiles "
              f"({CHIP_DIGITS4_CONFIG.name}), all in one co-simulation", flush=True)
    network = mlp_graph(train_mlp(x_train, y_train, args.seed))
    return chip_network(args, [], chip, network, x_test, y_test, x_cal,
                        f"the digits MLP on {CHIP_DIGITS4_CONFIG.name}")


def _network_options(p, seed_max):
    p.add_argument("--seed", type=seed_type(seed_max), default=0, help="training, device "
                   f"and analog model seed, 0..{seed_max} (default 0)")
    p.add_argument("--report", type=path_arg, metavar="R.json",
                   help="write every figure as JSON")
    p.add_argument("--per-channel", action="store_true", help="one weight scale per output "
                   "of a layer instead of one per layer")
    add_json_option(p)
    p.add_argument("--plots", type=path_arg, metavar="DIR",
                   help="directory for the accuracy sweeps, confusion matrix and per-layer "
                   "error histograms (created if needed)")
    p.add_argument("-v", "--verbose", action="store_true", help="show the cocotb log")


def add_commands(commands):
    """Add ``run`` and ``demo`` to the ``cimtile`` subparsers ``commands``."""
    p = commands.add_parser("run", help="a network on co-simulated tiles: quantize, split, "
                            "program, infer")
    p.add_argument("--model", type=path_arg, required=True, metavar="MODEL",
                   help="an ONNX model (.onnx) or a multilayer perceptron (.npz: W0, b0, W1, "
                   "b1, ...; see the README)")
    p.add_argument("--config", type=path_arg, required=True, metavar="CFG.toml")
    p.add_argument("--data", type=path_arg, required=True, metavar="DATA.npz",
                   help="x_test, y_test and the held-out calibration inputs x_cal")
    p.add_argument("--chip", action="store_true", help="--config is a chip: compile the "
                   "network for it and run every image through the whole chip in one "
                   "co-simulation (no --plots)")
    p.add_argument("--ppa", action="store_true", help="with --chip: the energy per image and "
                   "area from the PPA model too (synthesises the chip's blocks: minutes for "
                   "a large tile on a cold cache)")
    _network_options(p, SEED_MAX)
    p.set_defaults(run=_cmd_run)

    p = commands.add_parser("demo", help="the digits MLP, trained here, on co-simulated "
                            "physical tiles")
    p.add_argument("--quick", action="store_true", help="only the first 60 test images (20 "
                   "with --cnn mnist)")
    p.add_argument("--chip", action="store_true", help="the digits MLP on the four-tile chip "
                   "(configs/chip_digits4.toml), every image in one co-simulation of the "
                   "whole chip")
    p.add_argument("--cnn", nargs="?", const="mnist", choices=["mnist", "digits"],
                   help="a shipped CNN (ONNX) instead of the digits MLP: mnist (--cnn "
                   "alone) on the first 200 of its 1,000 test images, digits on all 360 "
                   "test images of the 8x8 digits")
    _network_options(p, DEMO_SEED_MAX)
    p.set_defaults(run=_cmd_demo)
