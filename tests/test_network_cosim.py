"""Networks on co-simulated tiles (Verilator): exact integers in lossless ideal mode, and
``cimtile demo --quick`` end to end."""

import json

import numpy as np

from cimtile.cli import main
from cimtile.flows.graph import mlp_graph
from cimtile.flows.network import Layer, quant_forward, split
from cimtile.flows.network_run import run_network
from cimtile.spec.config import reference_config


def test_ideal_lossless_tiles_reproduce_the_quantized_network_exactly():
    # 20-13-5 on 16 x 8 tiles: layer 0 needs 2 row blocks by 2 column blocks, none full.
    cfg = reference_config().replace(rows=16, cols=8)
    assert cfg.lossless and not cfg.analog.physical
    rng = np.random.default_rng(5)
    layers = [Layer(rng.normal(size=(20, 13)), rng.normal(size=13)),
              Layer(rng.normal(size=(13, 5)), rng.normal(size=5))]
    x_cal, x = rng.normal(size=(100, 20)), rng.normal(size=(40, 20))
    y = rng.integers(0, 5, 40)
    report, arrays, verdicts = run_network(cfg, mlp_graph(layers), x, y, x_cal, seed=3,
                                         progress=False)
    qlayers = arrays["qlayers"]
    assert [len(split(q.Wq, cfg)) for q in qlayers] == report["tiles_per_layer"] == [4, 1]
    out, integers = quant_forward(qlayers, x, cfg, lambda l, Xq: Xq @ qlayers[l].Wq)
    assert all(not error.any() for error in arrays["layer_errors"])
    assert np.array_equal(arrays["predictions"], np.argmax(out, axis=1))
    assert report["agreement"] == 1.0
    assert report["tile_golden_mismatches"] == 0
    assert report["program_golden_mismatches"] == 0
    assert [(v.noun, v.compared, v.ok) for v in verdicts] == [
        ("tile results", 5 * 40, True), ("images", 40, True),
        ("programmed cells", 5 * cfg.tile.rows * cfg.cols_phys, True)]
    assert report["cosim_accuracy"] == report["quantized_accuracy"]
    assert report["tile_mvms"] == 5 * 40
    assert report["cycles_per_inference"] >= 5 * cfg.analog_cycles_per_mvm


def test_demo_quick_end_to_end(tmp_path, capsys):
    report_path, plots = tmp_path / "r.json", tmp_path / "plots"
    assert main(["demo", "--quick", "--report", str(report_path), "--plots", str(plots)]) == 0
    out = capsys.readouterr().out
    assert "agreement co-simulation vs golden    100.00 %" in out
    report = json.loads(report_path.read_text())
    assert report["analog"] == "physical"
    assert report["images"] == 60
    assert report["layers"] == [[64, 54], [54, 10]]
    assert report["tiles_per_layer"] == [8, 2]
    assert report["agreement"] == report["prediction_agreement"] == 1.0
    assert report["tile_golden_mismatches"] == report["program_golden_mismatches"] == 0
    assert report["cosim_accuracy"] == report["golden_accuracy"] >= 0.85
    assert report["float_accuracy"] >= 0.9
    assert report["tile_mvms"] == 10 * 60
    assert [row[0] for row in report["sweeps"]["adc_bits"]] == [3, 4, 5, 6, 7, 8, 9, 10]
    assert sorted(p.name for p in plots.iterdir()) == [
        "accuracy_vs_adc_bits.png", "accuracy_vs_read_noise.png", "confusion.png",
        "layer_errors.png"]
