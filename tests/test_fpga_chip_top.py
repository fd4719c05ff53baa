"""The chip's board core (UART bridge, chip host, a crossbar emulator per tile) elaborates
for the shipped board chips; its INFO descriptor names the chip it was built for; and
``cimtile fpga build --chip`` refuses a config that is not a chip's before building."""

from pathlib import Path

import pytest
from amaranth.hdl import Fragment

import cimtile.fpga
from cimtile import cli
from cimtile.fpga.chip_top import CHIP_MAGIC, ChipBoardCore, chip_info_bytes
from cimtile.fpga.protocol import PROTOCOL_VERSION
from cimtile.spec.chip_config import load_chip_config

CONFIGS = Path(cimtile.fpga.__file__).parent / "configs"
BOARD_CHIPS = ["chip_ulx3s.toml", "chip_icebreaker.toml"]


@pytest.mark.parametrize("name", BOARD_CHIPS)
def test_board_core_elaborates(name):
    chip = load_chip_config(CONFIGS / name)
    core = ChipBoardCore(chip, divisor=4, timeout=1000)
    Fragment.get(core, None)
    assert set(core.signature.members) == {"rx", "tx", "irq"}
    assert chip.tile.lossless


def test_info_names_the_chip():
    infos = [chip_info_bytes(load_chip_config(CONFIGS / name)) for name in BOARD_CHIPS]
    for info in infos:
        assert info[:4] == CHIP_MAGIC and info[4] == PROTOCOL_VERSION and len(info) == 9
    assert infos[0] != infos[1]
    assert chip_info_bytes(load_chip_config(CONFIGS / BOARD_CHIPS[0])) == infos[0]


def test_build_refuses_a_tile_config_as_a_chip(tmp_path, capsys):
    tile = CONFIGS / "icebreaker.toml"
    status = cli.main(["fpga", "build", "--chip", "--board", "icebreaker", "--config",
                       str(tile), "--out", str(tmp_path / "out")])
    assert status == cli.EXIT_BAD_INPUT
    assert "unknown table [tile]; expected [chip]" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
