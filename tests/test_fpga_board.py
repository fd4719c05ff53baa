"""The board core (bridge, host tile, crossbar emulator) in Verilator, driven over its UART
lines by the host code of ``cimtile fpga run``."""

import tomllib
from pathlib import Path

import numpy as np
import pytest

import cimtile.fpga
from cimtile.fpga.board_sim import simulate_board
from cimtile.models.golden import golden_mvm
from cimtile.spec.config import load_config, parse_config
from cimtile.spec.mapping import random_operands, weight_levels
from cimtile.spec.regmap import ID_VALUE, register
from cli_helpers import small_at

ICEBREAKER = Path(cimtile.fpga.__file__).parent / "configs" / "icebreaker.toml"

# 64-bit streams, as the reference tile's (ULX3S build): two cells per result beat, eight
# target levels per target beat; three columns per ADC leave the last ADC one column short.
WIDE = small_at(1, 5, "\n[host]\ndata_width = 64\n")


@pytest.mark.parametrize("cfg", [load_config(ICEBREAKER), parse_config(tomllib.loads(WIDE))],
                         ids=["icebreaker", "wide"])
def test_board_programs_weights_and_computes_batches_over_uart(cfg):
    rng = np.random.default_rng(6)
    W, X = random_operands(cfg, 13, rng)
    # Extreme weights and inputs too: every level, every sign.
    W[0] = 2 ** (cfg.tile.w_bits - 1) - 1
    W[1] = -(2 ** (cfg.tile.w_bits - 1) - 1)
    X[0] = -2 ** (cfg.tile.in_bits - 1)
    batches = [X[:1], X[1:10], X[10:]]     # one vector, more than the input FIFO, a few
    seen, _, _ = simulate_board(cfg, W, batches)

    assert int(seen["ID"]) == ID_VALUE
    assert register("VERSION").unpack(int(seen["VERSION"]))["major"] == 1
    assert register("CAP_ARRAY").unpack(int(seen["CAP_ARRAY"])) == {
        "rows": cfg.tile.rows, "cols": cfg.tile.cols}
    assert int(seen["IRQ_ENABLE"]) == register("IRQ_ENABLE").pack(done=1, error=1)
    # Unmapped addresses answer DECERR: the bridge reports ERROR and stays in step.
    assert str(seen["unmapped_read"]) == "REG_READ 0xffc: bridge status <Status.ERROR: 1>"
    assert str(seen["unmapped_write"]) == "REG_WRITE 0xffc: bridge status <Status.ERROR: 1>"
    assert str(seen["refused"]) == "SETTINGS write 0x00000000 refused (IN_BITS)"

    # The emulator's cells start at level 0 and move one level per pulse.
    levels = weight_levels(W, cfg).reshape(-1)
    np.testing.assert_array_equal(seen["pulses"], levels)
    report = seen["report"]
    assert report["pulses"] == report["pulse_count"] == levels.sum()
    assert report["cells"] == levels.size
    for i, batch in enumerate(batches):
        np.testing.assert_array_equal(seen[f"Y{i}"], golden_mvm(cfg, W, batch))
        np.testing.assert_array_equal(seen[f"Y{i}"], batch @ W)
    assert report["vectors"] == report["mvm_count"] == len(X)
