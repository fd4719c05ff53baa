"""Chip configuration: one TOML file with a ``[chip]`` table, parsed into frozen, validated
dataclasses.

The table names the tile every one of the chip's tiles copies (``tile``, a tile TOML file,
relative to the chip file, read with :func:`cimtile.spec.config.load_config`) and the parts
around the tiles: how many tiles, the activation memory, the interconnect and the widths of
the post-processing unit (:func:`cimtile.models.post_process.post_process`). Every
validation error names the field and its allowed range, as the tile's do.
"""

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .chip_isa import ADDRESS_LIMIT, TILE_LIMIT
from .config import load_config
from .config_derived import Config
from .config_fields import ConfigError, build_table, int_field

__all__ = ["BUFFER_LIMIT", "ChipTable", "ChipConfig", "parse_chip_config", "load_chip_config",
           "CHIP_DEMO_CONFIG", "CHIP_DIGITS4_CONFIG"]

#: Result buffers a tile may have in the datapath (``chip.result_buffers``).
BUFFER_LIMIT = 4


@dataclass(frozen=True)
class ChipTable:
    """The ``[chip]`` table (elaboration-time)."""
    tile: str = field(metadata={"doc": "the tile TOML file every tile copies, relative to "
                                "the chip file"})
    tiles: int = int_field(1, TILE_LIMIT, "tiles, each holding one block of a layer")
    act_memory_bytes: int = int_field(1, ADDRESS_LIMIT, "activation memory, bytes; an "
                                      "activation takes out_bits rounded up to bytes")
    interconnect_width: int = int_field(8, 1024, "bits the interconnect moves per cycle (a "
                                        "multiple of 8)", 64)
    # Post-processing widths (cimtile.hdl.post_process.PostProcess): the accumulator must hold
    # a tile's result, the output is the next layer's input.
    acc_bits: int = int_field(2, 40, "signed accumulator width of the row-block sums", 32)
    out_bits: int = int_field(2, 16, "signed width of a post-processed activation (at "
                              "most the tile's in_bits)", 8)
    mult_bits: int = int_field(2, 20, "signed width of a per-output multiplier", 16)
    bias_bits: int = int_field(2, 60, "signed width of a per-output bias", 32)
    shift_max: int = int_field(0, 31, "largest right shift after the multiplication", 31)
    # A compiled layer takes about three instructions per tile (MVM, ACC, the moves); 256
    # words hold a network spread over 64 tiles.
    program_words: int = int_field(1, 65536, "the sequencer's instruction memory, 64-bit "
                                   "words", 256)
    # The digits MLP needs 64 (54 hidden and 10 scores); 256 hold a layer of 256 outputs.
    param_words: int = int_field(1, 65536, "outputs the post-processing parameter memory "
                                 "holds, a multiplier and a bias each", 256)
    # Two let a tile start its next MVM while the post-processing unit still reads its last
    # result, so images overlap (cimtile.models.chip_batch); one holds the tile until then.
    result_buffers: int = int_field(1, BUFFER_LIMIT, "results of a tile the datapath holds for the "
                                    "post-processing unit", 2)


@dataclass(frozen=True)
class ChipConfig:
    """A whole chip: its ``[chip]`` table and the tile configuration every tile copies.

    Members
    -------
    chip : ChipTable
    tile : Config
        The tile, as :func:`cimtile.spec.config.load_config` reads it.
    """
    chip: ChipTable
    tile: Config

    @property
    def element_bytes(self):
        """Bytes one activation takes in the activation memory."""
        return math.ceil(self.chip.out_bits / 8)

    @property
    def act_elements(self):
        """Activations the activation memory holds."""
        return self.chip.act_memory_bytes // self.element_bytes

    @property
    def clock_mhz(self):
        """The chip's clock: its tiles' (``ppa.clock_mhz``)."""
        return self.tile.ppa.clock_mhz

    def beats(self, count, bits):
        """Interconnect cycles to move `count` values of `bits` bits each."""
        return math.ceil(count * bits / self.chip.interconnect_width)


def parse_chip_config(data, tile):
    """Validate a parsed chip TOML mapping; `tile` is the :class:`Config` its ``chip.tile``
    names.

    Raises
    ------
    ConfigError
        If a table or key is unknown, missing or out of range, or the chip does not suit
        its tile.
    """
    for name in data:
        if name != "chip":
            raise ConfigError(f"unknown table [{name}]; expected [chip]")
    if "chip" not in data:
        raise ConfigError("missing table [chip]")
    chip = build_table(ChipTable, "chip", data["chip"])
    if not isinstance(chip.tile, str) or not chip.tile:
        raise ConfigError(f"chip.tile must be the name of a tile TOML file, not {chip.tile!r}")
    if chip.interconnect_width % 8:
        raise ConfigError(f"chip.interconnect_width must be a multiple of 8, not "
                          f"{chip.interconnect_width}")
    if chip.interconnect_width % chip.out_bits:
        # The datapath moves whole activations a beat.
        raise ConfigError(f"chip.out_bits must divide chip.interconnect_width "
                          f"({chip.interconnect_width}), not {chip.out_bits}")
    if chip.out_bits > tile.tile.in_bits:
        raise ConfigError(f"chip.out_bits must be in 2..{tile.tile.in_bits} (the tile's "
                          f"in_bits), not {chip.out_bits}")
    if chip.acc_bits < tile.result_width:
        raise ConfigError(f"chip.acc_bits must be in {tile.result_width}..40 (at least the "
                          f"tile's result width), not {chip.acc_bits}")
    config = ChipConfig(chip, tile)
    if config.act_elements < tile.tile.rows:
        raise ConfigError(f"chip.act_memory_bytes must hold at least one tile input "
                          f"({tile.tile.rows * config.element_bytes} bytes), not "
                          f"{chip.act_memory_bytes}")
    return config


def load_chip_config(path):
    """Read and validate a chip TOML file and the tile file it names.

    Raises
    ------
    ConfigError
        If either file cannot be read, is not valid TOML or fails validation; the message
        starts with the chip file's name.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {getattr(error, 'strerror', None) or error}")
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: malformed TOML: {error}")
    try:
        name = data.get("chip", {}).get("tile") if isinstance(data.get("chip"), dict) else None
        if not isinstance(name, str) or not name:
            # Validated without a tile, the table names its own error.
            parse_chip_config(data, None)
        try:
            tile = load_config(path.parent / name)
        except ConfigError as error:
            raise ConfigError(f"chip.tile: {error}") from None
        return parse_chip_config(data, tile)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


CHIP_DEMO_CONFIG = Path(__file__).parents[1] / "configs" / "chip_demo.toml"
#: The digits MLP on four tiles of 32 x 64: ``cimtile demo --chip``'s chip.
CHIP_DIGITS4_CONFIG = CHIP_DEMO_CONFIG.with_name("chip_digits4.toml")
