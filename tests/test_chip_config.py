"""The chip configuration: the shipped example loads with its tile, and every bad value is
refused naming the field and its allowed range."""

import re

import pytest

from cimtile.flows.digits import demo_config
from cimtile.spec.chip_config import CHIP_DEMO_CONFIG, load_chip_config
from cimtile.spec.config import ConfigError

from cli_helpers import SMALL

CHIP = """\
[chip]
tile = "tile.toml"
tiles = 8
act_memory_bytes = 64
out_bits = 4
acc_bits = 16
"""


def test_shipped_examples():
    chip = load_chip_config(CHIP_DEMO_CONFIG)
    assert chip.tile == demo_config()
    assert (chip.chip.tiles, chip.act_elements, chip.element_bytes) == (10, 1024, 1)
    assert chip.chip.result_buffers == 2
    assert chip.beats(54, 8) == 7 and chip.clock_mhz == chip.tile.ppa.clock_mhz
    four = load_chip_config(CHIP_DEMO_CONFIG.with_name("chip_digits4.toml"))
    assert four.tile == demo_config().replace(cols=64, spare_cols=128)
    assert four.chip.tiles == 4


def write(tmp_path, chip=CHIP, tile=SMALL):
    (tmp_path / "tile.toml").write_text(tile)
    (tmp_path / "chip.toml").write_text(chip)
    return tmp_path / "chip.toml"


def test_relative_tile_and_defaults(tmp_path):
    chip = load_chip_config(write(tmp_path))
    assert chip.tile.tile.rows == 12 and chip.chip.interconnect_width == 64
    assert chip.act_elements == 64


@pytest.mark.parametrize("change, message", [
    (("tiles = 8", "tiles = 0"), "chip.tiles must be an integer in 1..64, not 0"),
    (("tiles = 8", "tiles = 8\nresult_buffers = 0"), "chip.result_buffers must be an integer "
     "in 1..4, not 0"),
    (("tiles = 8", "tiles = 8\nresult_buffers = 5"), "chip.result_buffers must be an integer "
     "in 1..4, not 5"),
    (("tiles = 8", "tiles = 8\nlanes = 2"), "unknown key chip.lanes; expected one of tile, "),
    (("out_bits = 4", "out_bits = 8"), "chip.out_bits must be in 2..4 (the tile's in_bits), "
     "not 8"),
    (("acc_bits = 16", "acc_bits = 8"), "chip.acc_bits must be in 14..40 (at least the tile's "
     "result width), not 8"),
    (("out_bits = 4", "out_bits = 3"), "chip.out_bits must divide chip.interconnect_width "
     "(64), not 3"),
    (("act_memory_bytes = 64", "act_memory_bytes = 11"), "chip.act_memory_bytes must hold at "
     "least one tile input (12 bytes), not 11"),
    (("tiles = 8", "tiles = 8\ninterconnect_width = 12"), "chip.interconnect_width must be a "
     "multiple of 8, not 12"),
    (('tile = "tile.toml"\n', ""), "missing key chip.tile"),
    (('tile = "tile.toml"', "tile = 3"), "chip.tile must be the name of a tile TOML file, "
     "not 3"),
    (('tile = "tile.toml"', 'tile = "none.toml"'), "chip.tile: "),
    (("[chip]", "[chips]"), "unknown table [chips]; expected [chip]"),
])
def test_bad_values_are_refused(tmp_path, change, message):
    path = write(tmp_path, CHIP.replace(*change))
    with pytest.raises(ConfigError, match=f"^{re.escape(str(path))}: {re.escape(message)}"):
        load_chip_config(path)


def test_bad_tile_is_named(tmp_path):
    path = write(tmp_path, tile=SMALL.replace("rows = 12", "rows = 0"))
    with pytest.raises(ConfigError, match=re.escape(
            f"{path}: chip.tile: {tmp_path / 'tile.toml'}: tile.rows must be an integer in "
            "1..1024, not 0")):
        load_chip_config(path)


def test_unreadable_and_malformed(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_chip_config(tmp_path / "missing.toml")
    path = write(tmp_path, "[chip\n")
    with pytest.raises(ConfigError, match="malformed TOML"):
        load_chip_config(path)
