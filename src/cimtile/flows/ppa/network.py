"""The ``energy`` section of a network run (``cimtile run``, ``cimtile demo``): every tile's
own activity over the test set, added up, and the energy write-verify took to program it."""

import numpy as np

from cimtile.models.golden import golden_mvm

from ..network import quant_forward, tiled_matmul
from .activity import compute_activity
from .area import tile_area
from .digital import WINDOW, TileToggles, digital_activity
from .energy import combined, compute_energy

__all__ = ["network_section"]


def _tile_energy(tile, X, toggles):
    cfg = tile.cfg
    activity = compute_activity(cfg, tile.block.W, X, seed=tile.seed,
                                conductances=tile.conductances)
    window = toggles.measure(tile.block.W, X[:WINDOW], seed=tile.seed,
                             conductances=tile.conductances)
    return compute_energy(cfg, activity, digital_activity(tile_area(cfg), window,
                                                          activity.mvms))


def network_section(cfg, report, arrays, x_test):
    """Energy per inference and TOPS/W of a :func:`cimtile.flows.network_run.run_network` run.

    Each tile's inputs are those of the golden network, which the co-simulated tiles matched
    result for result (the run fails otherwise). Every tile leaks over its busy cycles.
    """
    tiles = arrays["tiles"]
    energies, ops = [], 0
    # One toggle simulator per read configuration (every tile of a run shares one).
    toggles = {}

    def layer_mvm(l, Xq):
        def mvm(i, block, X):
            nonlocal ops
            tile = tiles[l][i]
            if tile.cfg not in toggles:
                toggles[tile.cfg] = TileToggles(tile.cfg)
            energies.append(_tile_energy(tile, X, toggles[tile.cfg]))
            ops += 2 * cfg.tile.rows * cfg.tile.cols * len(X)
            return golden_mvm(tile.cfg, block.W, X, tile.seed, tile.conductances)
        return tiled_matmul(Xq, [t.block for t in tiles[l]], tiles[l][-1].block.col1,
                            cfg.tile.rows, mvm)

    quant_forward(arrays["qlayers"], np.asarray(x_test), cfg, layer_mvm)
    energy = combined(energies)
    images = len(x_test)
    programming = [t.programming["energy"]["total_pj"] for layer in tiles for t in layer
                   if t.programming]
    section = {"per_inference_pj": energy.total_pj / images,
               "tops_per_w": ops / energy.total_pj, "inference_pj": energy.total_pj,
               "breakdown": energy.as_dict()["breakdown"]}
    if programming:
        cells = report["program_cells"]
        section |= {"programming_pj": sum(programming),
                    "per_programmed_cell_pj": sum(programming) / cells}
    return section
