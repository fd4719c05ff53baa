"""Accuracy of the demo network against the stuck-cell rate, with and without column repair.

Every tile is programmed by the golden write-verify (the algorithm the RTL runs, bit for
bit) on its own seeded device array and fault map, exactly as ``cimtile demo`` programs it
in co-simulation; with spares, the repair flow of :mod:`cimtile.models.repair` runs on the same
golden array. Inference then runs on the golden model. No simulator is involved, so a whole
sweep takes minutes, not hours.

Run ``python -m cimtile.flows.repair_study --out DIR`` (or ``make repair-study``): it writes
``repair_study.json`` and ``repair_study.png`` to DIR.
"""

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from cimtile.models.program import Rectangle
from cimtile.models.repair import GoldenArray, repair, tile_fault_map
from cimtile.spec.mapping import weight_levels

from .digits import demo_config, digits_split, train_mlp
from .network import accuracy, quant_forward, quantize, split
from cimtile.models.program import read_config

from .network_run import Tile, golden_layer_mvm, tile_seed

__all__ = ["golden_tiles", "study", "main"]

#: Stuck-cell rates swept: none, the literature's 1-2 % default, and HfO2 test-chip levels.
RATES = (0.0, 0.0025, 0.005, 0.01, 0.02, 0.04)
#: Spare columns tried per 64 data columns.
SPARES = (0, 4, 8, 16, 24, 32)


def golden_tiles(cfg, qlayers, seed):
    """Program every block of every layer into its tile on the golden model, repairing
    when `cfg` has spares; tiles as :func:`cimtile.flows.network_run.program_tiles` makes them,
    with ``programming`` holding the repair outcome's report (or the failed cells)."""
    readout = read_config(cfg)
    tiles = []
    for l, q in enumerate(qlayers):
        layer = []
        for i, block in enumerate(split(q.Wq, cfg)):
            tile = Tile(l, i, block, tile_seed(seed, l, i), readout)
            levels = weight_levels(block.W, cfg)
            faults = tile_fault_map(cfg, np.random.default_rng([tile.seed, 1]))
            array = GoldenArray(cfg, faults, tile.seed)
            if cfg.tile.spare_cols:
                outcome = repair(cfg, levels, array)
                tile.remap, tile.programming = outcome.remap, outcome.report()
                failed = {col for _, col in outcome.failed_cells}
            else:
                converged = array.program(levels, Rectangle.whole(*levels.shape))
                failed_cells = np.argwhere(~converged.reshape(levels.shape))
                tile.programming = {"unrepaired_cells": failed_cells.tolist()}
                failed = set(failed_cells[:, 1].tolist())
            tile.programming["failed_columns"] = len(failed)
            tile.conductances = array.device.conductances()
            layer.append(tile)
        tiles.append(layer)
    return tiles


def _with(cfg, fault_rate, spare_cols):
    analog = dataclasses.replace(cfg.analog, fault_rate=fault_rate)
    return dataclasses.replace(cfg, analog=analog).replace(spare_cols=spare_cols)


def study(seed=0, rates=RATES, spares=SPARES, images=None, progress=None):
    """Accuracy of the demo's network for every (fault rate, spare columns) pair.

    Returns
    -------
    dict
        ``points``: one entry per pair with ``fault_rate``, ``spare_cols``, ``accuracy``,
        ``unrepaired_cells``, ``failed_columns`` (data columns with a cell that failed
        write-verify) and ``spares_used`` (totals over the tiles), and the network's
        ``quantized_accuracy`` (exact integers).
    """
    base = demo_config()
    (x_train, y_train), (x_cal, _), (x_test, y_test) = digits_split(seed)
    if images is not None:
        x_test, y_test = x_test[:images], y_test[:images]
    layers = train_mlp(x_train, y_train, seed)
    qlayers = quantize(layers, x_cal, base)
    exact, _ = quant_forward(qlayers, x_test, base, lambda l, Xq: Xq @ qlayers[l].Wq)
    points = []
    for rate in rates:
        for spare_cols in spares:
            if rate == 0 and spare_cols:
                continue
            cfg = _with(base, rate, spare_cols)
            start = time.perf_counter()
            tiles = golden_tiles(cfg, qlayers, seed)
            out, _ = quant_forward(qlayers, x_test, cfg, golden_layer_mvm(tiles, cfg))
            reports = [t.programming for layer in tiles for t in layer]
            point = {"fault_rate": rate, "spare_cols": spare_cols,
                     "accuracy": accuracy(out, y_test),
                     "unrepaired_cells": sum(len(r["unrepaired_cells"]) for r in reports),
                     "failed_columns": sum(r["failed_columns"] for r in reports),
                     "spares_used": sum(len(r.get("spares_used", ())) for r in reports),
                     "tiles": len(reports), "wall_s": round(time.perf_counter() - start, 1)}
            points.append(point)
            if progress:
                progress(point)
    return {"seed": seed, "images": len(x_test), "data_cols": base.cols_data,
            "quantized_accuracy": accuracy(exact, y_test), "points": points}


def plot(result, file):
    """Accuracy against fault rate per spare count, and spares used against fault rate."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot
    points = result["points"]
    figure, (left, right) = pyplot.subplots(1, 2, figsize=(11, 4))
    for spare_cols in sorted({p["spare_cols"] for p in points}):
        mine = [p for p in points if p["spare_cols"] == spare_cols or p["fault_rate"] == 0]
        label = "no repair" if spare_cols == 0 else f"{spare_cols} spares"
        left.plot([100 * p["fault_rate"] for p in mine], [100 * p["accuracy"] for p in mine],
                  marker="o", label=label)
    left.axhline(100 * result["quantized_accuracy"], color="black", linewidth=0.8,
                 linestyle="--", label="exact integers")
    left.set(xlabel="stuck cells (%)", ylabel="test accuracy (%)",
             title=f"digits MLP, {result['images']} images, golden model")
    left.legend(fontsize=8)
    most = max(p["spare_cols"] for p in points)
    rates = sorted({p["fault_rate"] for p in points})

    def per_tile(key, spare_cols):
        return [next(p[key] / p["tiles"] for p in points if p["fault_rate"] == r
                     and p["spare_cols"] == (spare_cols if r else 0)) for r in rates]
    percent = [100 * r for r in rates]
    right.plot(percent, per_tile("failed_columns", 0), marker="o",
               label="data columns with a failed cell (spares needed)")
    right.plot(percent, per_tile("spares_used", most), marker="s",
               label=f"spares used, of {most} (a failing spare is skipped)")
    right.set(xlabel="stuck cells (%)", ylabel="columns per tile",
              title=f"repair of a tile of {result['data_cols']} data columns")
    right.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(file, format="png", dpi=100)
    pyplot.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cimtile.flows.repair_study",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--images", type=int, default=None, help="test images (default all)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    result = study(args.seed, images=args.images,
                   progress=lambda p: print(json.dumps(p), file=sys.stderr, flush=True))
    (args.out / "repair_study.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(result, args.out / "repair_study.png")


if __name__ == "__main__":
    main()
