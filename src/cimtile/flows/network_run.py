"""A quantized network on co-simulated tiles: program every tile, then infer layer by layer.

Each block of each layer (:func:`cimtile.flows.network.split`) is one tile with its own seed. The
tile is programmed by the co-simulated write-verify engine
(:func:`cimtile.tb.runs.runner.program`); in physical mode it then computes with the conductances
that programming left, read out over the device's programming window (as
``cimtile sim --programmed`` does); the ideal model follows the arithmetic contract on the
weights' levels. Inference makes one co-simulation per tile per layer, carrying every MVM of
the layer (one per sample, or per output pixel of a convolution), and the golden model runs
the same network beside it with the same seeds and conductances: the two must agree bit for
bit on every sample.
"""

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from cimtile.models.golden import GOLDEN, golden_mvm
from cimtile.models.program import read_config
from cimtile.models.repair import repair, tile_fault_map
from cimtile.models.verdict import Verdict, combine, compare
from cimtile.spec.mapping import weight_levels
from cimtile.tb.runs.repair_runner import SimulatedArray
from cimtile.tb.runs.runner import Scenario, program, simulate

from .engine import progress_bar
from .network import accuracy, split, tiled_matmul
from .program_report import programming_report, repair_report
from .quantizer import quantize_graph

__all__ = ["Tile", "tile_seed", "program_tiles", "golden_layer_mvm",
           "run_network", "network_report"]


@dataclass
class Tile:
    """One programmed tile: which block of which layer it holds and how it reads.

    Members
    -------
    layer, index : int
        Layer and block number (:func:`cimtile.flows.network.split` order).
    block : Block
    seed : int
        Seeds its device array, analog macro and stimulus, in co-simulation and golden model.
    cfg : Config
        The configuration its results are read with.
    conductances : ndarray (rows, cols_phys) or None
        What write-verify left in the cells, when the physical model reads them.
    programming : dict or None
        :func:`cimtile.flows.program_report.programming_report` of its write-verify run, or with
        spare columns :func:`cimtile.flows.program_report.repair_report` of its repair.
    remap : ndarray (cols_data,) or None
        The column remap table its repair wrote (with spare columns).
    verdict : Verdict or None
        Its programming against the golden program-and-verify (or repair).
    """
    layer: int
    index: int
    block: object
    seed: int
    cfg: object
    conductances: np.ndarray = None
    programming: dict = None
    remap: np.ndarray = None
    verdict: Verdict = None


def tile_seed(seed, layer, index):
    """A tile's own seed, derived from the run's seed and the tile's place."""
    return int(np.random.SeedSequence([seed, layer, index]).generate_state(1)[0])


def program_tiles(cfg, qlayers, seed, *, write_verify=True, progress=None, verbose=False):
    """Program every block of every layer into its tile.

    Stuck cells are drawn per tile from ``analog.fault_rate`` in physical mode. With spare
    columns each tile is repaired (:func:`cimtile.models.repair.repair`): the columns whose cells
    failed write-verify move to spares. With `write_verify` false the tiles hold their
    ideal levels and nothing is co-simulated.

    Returns
    -------
    list of list of Tile
        Per layer, per block.
    """
    physical = cfg.analog.physical
    readout = read_config(cfg) if physical and write_verify else cfg
    tiles = []
    for l, q in enumerate(qlayers):
        layer = []
        for i, block in enumerate(split(q.Wq, cfg)):
            tile = Tile(l, i, block, tile_seed(seed, l, i), readout)
            if write_verify:
                levels = weight_levels(block.W, cfg)
                faults = (tile_fault_map(cfg, np.random.default_rng([tile.seed, 1])) if physical
                          else np.zeros(levels.shape, np.int8))
                if cfg.tile.spare_cols:
                    array = SimulatedArray(cfg, faults, seed=tile.seed, verbose=verbose)
                    outcome = repair(cfg, levels, array)
                    run, tile.remap = array.last, outcome.remap
                    tile.programming, tile.verdict = repair_report(cfg, levels, faults,
                                                                   tile.seed, run, outcome)
                    tile.programming |= {"wall_s": array.wall_s}
                else:
                    run = program(cfg, levels, faults=faults, seed=tile.seed,
                                  verbose=verbose)
                    tile.programming, tile.verdict = programming_report(
                        cfg, levels, faults, tile.seed, run)
                if physical:
                    tile.conductances = run.conductance
                if progress is not None:
                    progress(f"layer {l} tile {i}")
            layer.append(tile)
        tiles.append(layer)
    return tiles


def golden_layer_mvm(tiles, cfg, layer_cfg=None):
    """``layer_mvm`` for :func:`cimtile.flows.network.quant_forward` on the golden model.

    `layer_cfg` (a function of the layer number) may override each layer's read
    configuration, for sweeps; by default every tile reads with its own.
    """
    def layer_mvm(l, Xq):
        def mvm(i, block, X):
            tile = tiles[l][i]
            tile_cfg = tile.cfg if layer_cfg is None else layer_cfg(l)
            return golden_mvm(tile_cfg, block.W, X, tile.seed, tile.conductances,
                              remap=tile.remap)
        n_out = tiles[l][-1].block.col1
        return tiled_matmul(Xq, [t.block for t in tiles[l]], n_out, cfg.tile.rows, mvm)
    return layer_mvm


def _cosim_layer_mvm(tiles, cfg, stats, progress, verbose):
    def layer_mvm(l, Xq):
        def mvm(i, block, X):
            tile = tiles[l][i]
            result = simulate(tile.cfg, block.W, X, scenario=Scenario(seed=tile.seed,
                                                                     strict=False),
                              conductances=tile.conductances, remap=tile.remap,
                              verbose=verbose)
            stats["tile_mvms"] += result.mvms
            stats["cycles_total"] += result.cycles_total
            stats["layer_mvms"][l] += result.mvms
            stats["layer_cycles"][l] += result.cycles_total
            stats["sim_wall_s"] += result.wall_s
            stats["build_s"] += result.build_s
            stats["tile_verdicts"].append(result.verdict)
            if progress is not None:
                progress(f"layer {l} tile {i}", len(X))
            return result.Y
        n_out = tiles[l][-1].block.col1
        return tiled_matmul(Xq, [t.block for t in tiles[l]], n_out, cfg.tile.rows, mvm)
    return layer_mvm


def _programming_summary(tiles):
    reports = [t.programming for layer in tiles for t in layer if t.programming]
    if not reports:
        return {}
    cells = sum(r["cells"] for r in reports)
    return {
        "program_cells": cells,
        "program_converged": sum(r["converged"] for r in reports),
        "program_pulses_mean": round(sum(r["pulses_total"] for r in reports) / cells, 3),
        "program_cycles_total": sum(r["cycles_total"] for r in reports),
        "program_wall_s": round(sum(r["wall_s"] for r in reports), 3),
        "program_golden_mismatches": sum(r["golden_mismatches"] for r in reports),
    } | ({
        "repaired_columns": sum(len(r["repaired_columns"]) for r in reports),
        "spares_used": sum(len(r["spares_used"]) for r in reports),
        "unrepaired_cells": sum(len(r["unrepaired_cells"]) for r in reports),
    } if "repaired_columns" in reports[0] else {})


def _rms(error, scale):
    return float(np.sqrt(np.mean(np.square(error)))) / max(float(scale), np.finfo(float).tiny)


def _exact_run(qnet, x_test, cfg):
    """The quantized network with exact integers: outputs, and per layer the relative RMS
    error of its quantized inputs against the float network's."""
    _, float_inputs = qnet.graph.float_forward(x_test)
    errors = []

    def layer_mvm(l, Xq):
        q, patches = qnet[l], qnet[l].op.patches(float_inputs[l])
        errors.append(_rms(Xq * q.x_scale - patches, np.abs(patches).max()))
        return Xq @ q.Wq
    out, _ = qnet.forward(x_test, cfg, layer_mvm)
    return out, errors


def _layer_report(network, tiles, stats, arrays, input_errors):
    """Per layer: what it is, its tiles, MVMs and cycles, its quantized inputs' error
    against the float network and its co-simulated results' error against the exact
    integers (both relative RMS)."""
    return [{"layer": node.kind, "shape": op.describe(), "matrix": list(op.matrix.shape),
             "tiles": len(layer), "mvms": mvms, "cycles": cycles,
             "input_rms_error": round(input_error, 6),
             "cosim_rms_error": round(_rms(error, top), 6)}
            for node, op, layer, mvms, cycles, input_error, error, top in zip(
                network.layer_nodes, network.layers, tiles, stats["layer_mvms"],
                stats["layer_cycles"], input_errors, arrays["layer_errors"],
                arrays["layer_ranges"])]


def _infer(qnet, tiles, cfg, x_test, progress, verbose):
    """Co-simulate the test set: outputs, integer results and inputs of every layer, and
    the run's counts."""
    stats = dict(tile_mvms=0, cycles_total=0, sim_wall_s=0.0, build_s=0.0, tile_verdicts=[],
                 layer_mvms=[0] * len(qnet), layer_cycles=[0] * len(qnet))
    inputs = []
    _, exact = qnet.forward(x_test[:1], cfg, qnet.exact_mvm)
    total = sum(len(layer) * len(Y) for layer, Y in zip(tiles, exact)) * len(x_test)
    with progress_bar("infer  ", total, enabled=None if progress else False) as bar:
        cosim = _cosim_layer_mvm(tiles, cfg, stats, bar, verbose)

        def record_inputs(l, Xq):
            inputs.append(Xq)
            return cosim(l, Xq)
        out, ints = qnet.forward(x_test, cfg, record_inputs)
    return out, ints, inputs, stats


def run_network(cfg, network, x_test, y_test, x_cal, *, seed=0, per_channel=False,
                write_verify=True, progress=True, verbose=False):
    """Quantize the :class:`~cimtile.flows.graph.Graph` `network` (per-channel weight scales
    with `per_channel`), program its layers into tiles and infer `x_test` on the
    co-simulated tiles.

    Returns
    -------
    (dict, dict, list of Verdict)
        The JSON-ready report (every figure, ``layer_report`` per layer); the arrays behind
        the plots: ``tiles``, ``qlayers``, ``predictions`` (co-simulation), ``labels``,
        ``layer_errors`` (per layer, the co-simulated integer results less the exact
        ``Xq @ Wq``) and ``layer_ranges`` (per layer, the largest exact magnitude); and the
        verdicts: every tile's results against the golden model, every image's integer
        results of every layer against the golden network's, and (after write-verify) every
        programmed cell against the golden program-and-verify.
    """
    start = time.perf_counter()
    qlayers = quantize_graph(network, x_cal, cfg, per_channel)
    n_tiles = sum(len(split(q.Wq, cfg)) for q in qlayers)
    quantize_map_s = time.perf_counter() - start
    float_out = network.reference_forward(x_test)
    exact_out, input_errors = _exact_run(qlayers, x_test, cfg)
    program_start = time.perf_counter()
    with progress_bar("program", n_tiles, enabled=None if progress else False) as bar:
        tiles = program_tiles(cfg, qlayers, seed, write_verify=write_verify, progress=bar,
                              verbose=verbose)
    program_s = time.perf_counter() - program_start
    golden_out, golden_ints = qlayers.forward(x_test, cfg, golden_layer_mvm(tiles, cfg))
    infer_start = time.perf_counter()
    cosim_out, cosim_ints, inputs, stats = _infer(qlayers, tiles, cfg, x_test, progress,
                                                  verbose)
    infer_s = time.perf_counter() - infer_start
    tiles_verdict = combine(stats["tile_verdicts"], check=GOLDEN, noun="tile results")
    # An image agrees when every layer's integer results equal the golden network's.
    images = compare(GOLDEN, _per_image(cosim_ints, len(x_test)),
                     _per_image(golden_ints, len(x_test)), noun="images")
    n = len(x_test)
    predictions = np.argmax(cosim_out, axis=1)
    arrays = {
        "tiles": tiles,
        "qlayers": qlayers,
        "predictions": predictions,
        "labels": y_test,
        "layer_errors": [Y - Xq @ q.Wq for Y, Xq, q in zip(cosim_ints, inputs, qlayers)],
        "layer_ranges": [int(np.abs(Xq @ q.Wq).max()) for Xq, q in zip(inputs, qlayers)],
    }
    report = {
        "analog": cfg.analog.model,
        "tile": dataclasses.asdict(cfg.tile),
        "layers": [list(op.matrix.shape) for op in network.layers],
        "tiles_per_layer": [len(layer) for layer in tiles],
        "per_channel": per_channel,
        "images": n,
        "seed": seed,
        "float_accuracy": accuracy(float_out, y_test),
        "quantized_accuracy": accuracy(exact_out, y_test),
        "golden_accuracy": accuracy(golden_out, y_test),
        "cosim_accuracy": accuracy(cosim_out, y_test),
        "agreement": (n - images.differ) / n,
        "prediction_agreement": float(np.mean(predictions == np.argmax(golden_out, axis=1))),
        **tiles_verdict.report("tile_golden"),
        "tile_mvms": stats["tile_mvms"],
        "cycles_total": stats["cycles_total"],
        "cycles_per_inference": stats["cycles_total"] / n,
        "mvm_per_s": round(stats["tile_mvms"] / stats["sim_wall_s"], 1),
        "images_per_s": round(n / infer_s, 2),
        "build_s": round(stats["build_s"], 3),
        "quantize_map_s": round(quantize_map_s, 3),
        "program_s": round(program_s, 3),
        "inference_s": round(infer_s, 3),
        "wall_s": round(time.perf_counter() - start, 3),
        "layer_report": _layer_report(network, tiles, stats, arrays, input_errors),
    } | _programming_summary(tiles)
    programmed = [t.verdict for layer in tiles for t in layer if t.verdict is not None]
    verdicts = [tiles_verdict, images] + ([combine(
        programmed, check="golden program-and-verify", noun="programmed cells")]
        if programmed else [])
    return report, arrays, verdicts


def _per_image(integers, n):
    """Every layer's integer results, one row per image (a convolution's pixels side by
    side)."""
    return np.hstack([Y.reshape(n, -1) for Y in integers])


def network_report(cfg, network, x_test, y_test, x_cal, *, seed=0, per_channel=False,
                   plots=False, verbose=False):
    """:func:`run_network` with the ``energy`` section of its report
    (:func:`cimtile.flows.ppa.network.network_section`).

    Returns
    -------
    (dict, list, list of Verdict)
        The report, with `plots` the plot writers (``(file name, write(file))``, see
        :func:`cimtile.flows.network_plots.plot_writers`; none without), and the verdicts.
    """
    from .network_plots import plot_writers
    from .ppa.network import network_section
    report, arrays, verdicts = run_network(cfg, network, x_test, y_test, x_cal, seed=seed,
                                           per_channel=per_channel, verbose=verbose)
    report["energy"] = network_section(cfg, report, arrays, x_test)
    writers = plot_writers(cfg, report, arrays, x_test, y_test, x_cal) if plots else []
    return report, writers, verdicts
