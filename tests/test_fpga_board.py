"""The board core (bridge, host tile, crossbar emulator) in Verilator, driven over its UART
lines by the host code of ``cimtile fpga run``."""

from pathlib import Path

import cimtile.fpga
from cimtile.config import load_config
from cimtile.fpga.board_sim import simulate_board

ICEBREAKER = Path(cimtile.fpga.__file__).parent / "configs" / "icebreaker.toml"


def test_board_identifies_itself_and_reports_bus_errors():
    results, _, _ = simulate_board(load_config(ICEBREAKER))
    # The host tile answers DECERR at an unmapped address: the bridge reports ERROR.
    assert "REG_READ 0xffc: bridge status" in str(results["unmapped"])
    assert "ERROR" in str(results["unmapped"])
