"""The golden chip model's figures for a compiled network: its cycles, images per second
and tiles' utilisation (:mod:`cimtile.models.chip_timing`), its energy per image and area
(:mod:`cimtile.flows.ppa.chip`), and its accuracy beside the float and quantized accuracies
of the tile-by-tile flow."""

import numpy as np

from cimtile.models.chip_batch import image_batch
from cimtile.models.chip_golden import run_chip
from cimtile.models.chip_timing import schedule, timing_report

from .network import accuracy
from .ppa.chip import chip_ppa, tile_inputs
from .quantizer import quantize_graph, quantize_inputs

__all__ = ["chip_images", "chip_report"]


def chip_images(program, chip, x):
    """The quantized images the host streams into the chip: ``x`` at the program's input
    scale, in the activations' signed range."""
    return quantize_inputs(np.asarray(x, np.float64).reshape(len(x), -1), program.x_scale,
                           chip.chip.out_bits)


def chip_report(graph, chip, program, x_test, y_test, x_cal, per_channel=False, *, ppa=True):
    """Figures of `program` (compiled from `graph` for `chip`, with `per_channel` weight
    scales or not) on the test set; the energy and area only with `ppa` (they synthesise
    the chip's blocks: minutes for a large tile on a cold cache).

    Returns
    -------
    dict
        ``tiles``, ``tiles_used``, ``instructions``, ``timing`` (from
        :func:`cimtile.models.chip_timing.timing_report`), ``energy`` and ``area`` (from
        :func:`cimtile.flows.ppa.chip.chip_ppa`, the tiles priced on the inputs the golden
        chip fed them for the test images) and the accuracies: float, quantized (the
        tile-by-tile flow's exact integers, requantised in float), the chip's with exact
        tiles (``Xq @ Wq``) and with the tiles' golden model.
    """
    instructions = program.instructions
    batch = image_batch(chip, program)
    timing = timing_report(chip, instructions, program.layers, schedule(chip, instructions),
                           batch)
    X = chip_images(program, chip, x_test)
    exact, _ = run_chip(chip, program, X, lambda tile, x: x @ program.weights[tile])
    golden, inputs = tile_inputs(chip, program, X)
    cfg = chip.tile.at(in_bits=chip.chip.out_bits)
    qnet = quantize_graph(graph, x_cal, cfg, per_channel)
    quantized, _ = qnet.forward(x_test, cfg, qnet.exact_mvm)
    report = {"tiles": chip.chip.tiles, "tiles_used": len(program.weights),
              "instructions": len(instructions), "images": len(x_test), "timing": timing}
    if ppa:
        report["energy"], report["area"] = chip_ppa(chip, program, inputs, len(X)).sections()
    return report | {"float_accuracy": accuracy(graph.reference_forward(x_test), y_test),
                     "quantized_accuracy": accuracy(quantized, y_test),
                     "chip_exact_accuracy": accuracy(exact, y_test),
                     "chip_golden_accuracy": accuracy(golden, y_test)}
