"""Tile configuration: one TOML file parsed once into frozen, validated dataclasses.

The TOML tables are ``[tile]`` and ``[timing]`` (elaboration-time: they shape the RTL) and
``[analog]`` (how the behavioural models answer). Every validation error names the offending
field and the allowed range, so a user can fix the file without reading code.
"""

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ConfigError", "TileConfig", "TimingConfig", "AnalogConfig", "Config",
           "load_config", "parse_config", "reference_config", "REFERENCE_CONFIG"]


class ConfigError(ValueError):
    """A configuration file or value is invalid; the message names the field."""


def _int_field(lo, hi, doc):
    return field(metadata={"range": (lo, hi), "doc": doc})


def _float_field(default, lo, hi, doc, *, open_low=False):
    """A real-valued key in [lo, hi] (or (lo, hi] with open_low); integers are accepted."""
    return field(default=default,
                 metadata={"real_range": (lo, hi, open_low), "doc": doc})


@dataclass(frozen=True)
class TileConfig:
    """Array geometry and arithmetic precision (elaboration-time)."""
    rows: int = _int_field(1, 1024, "wordlines (rows of the crossbar)")
    cols: int = _int_field(1, 256, "logical output columns")
    in_bits: int = _int_field(1, 16, "input precision, two's complement, applied bit-serially")
    w_bits: int = _int_field(2, 16, "weight precision including sign")
    bits_per_cell: int = _int_field(1, 8, "levels per cell = 2**bits_per_cell")
    adc_bits: int = _int_field(1, 16, "ADC resolution")
    adc_shift: int = _int_field(0, 16, "ADC LSB = 2**adc_shift column counts")
    cols_per_adc: int = _int_field(1, 64, "physical columns multiplexed onto one ADC")


@dataclass(frozen=True)
class TimingConfig:
    """Analog timing contract, in clock cycles, enforced by the RTL's counters."""
    t_settle: int = _int_field(1, 1024, "cycles from wordline drive to sample-and-hold")
    t_adc: int = _int_field(1, 1024, "cycles per ADC conversion")


ANALOG_MODELS = ("ideal",)


@dataclass(frozen=True)
class AnalogConfig:
    """Behaviour of the analog macro (crossbar and ADCs)."""
    model: str = "ideal"


@dataclass(frozen=True)
class Config:
    """A whole tile description, with the quantities derived from it."""
    tile: TileConfig
    timing: TimingConfig
    analog: AnalogConfig = AnalogConfig()

    @property
    def slices(self):
        """Cells per weight magnitude: ceil((w_bits - 1) / bits_per_cell)."""
        return math.ceil((self.tile.w_bits - 1) / self.tile.bits_per_cell)

    @property
    def cols_phys(self):
        """Physical columns: every logical column has `slices` differential pairs."""
        return self.tile.cols * self.slices * 2

    @property
    def n_adcs(self):
        return math.ceil(self.cols_phys / self.tile.cols_per_adc)

    @property
    def max_level(self):
        return 2 ** self.tile.bits_per_cell - 1

    @property
    def max_code(self):
        return 2 ** self.tile.adc_bits - 1

    @property
    def plane_cycles(self):
        """Cycles per bit plane: settle, then each ADC converts its columns in turn."""
        return self.timing.t_settle + self.tile.cols_per_adc * self.timing.t_adc

    @property
    def analog_cycles_per_mvm(self):
        return self.tile.in_bits * self.plane_cycles

    @property
    def result_width(self):
        """Signed width that holds any result this tile can produce."""
        t = self.tile
        per_plane = sum(self.max_code << (s * t.bits_per_cell) for s in range(self.slices))
        bound = (2 ** t.in_bits - 1) * (per_plane << t.adc_shift)
        return bound.bit_length() + 1

    @property
    def lossless(self):
        """True when the ADC never rounds or clips, so results equal X @ W exactly."""
        return (self.tile.adc_shift == 0
                and self.tile.rows * self.max_level <= self.max_code)

    def replace(self, **tile_fields):
        """A copy with some `[tile]` fields changed (validated)."""
        values = dataclasses.asdict(self.tile) | tile_fields
        return Config(_build(TileConfig, "tile", values), self.timing, self.analog)




def _build(cls, table, values):
    if not isinstance(values, dict):
        raise ConfigError(f"[{table}] must be a table, not {type(values).__name__}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in values:
        if key not in known:
            raise ConfigError(f"unknown key {table}.{key}; expected one of {', '.join(known)}")
    kwargs = {}
    for name, f in known.items():
        where = f"{table}.{name}"
        if name not in values:
            if f.default is dataclasses.MISSING:
                raise ConfigError(f"missing key {where}")
            continue
        value = values[name]
        if "range" in f.metadata:
            lo, hi = f.metadata["range"]
            if type(value) is not int or not lo <= value <= hi:
                raise ConfigError(f"{where} must be an integer in {lo}..{hi}, not {value!r}")
        if "real_range" in f.metadata:
            lo, hi, open_low = f.metadata["real_range"]
            above_low = value > lo if open_low else value >= lo
            if type(value) not in (int, float) or not (above_low and value <= hi):
                interval = f"({lo}, {hi}]" if open_low else f"[{lo}, {hi}]"
                raise ConfigError(f"{where} must be a number in {interval}, not {value!r}")
            value = float(value)
        kwargs[name] = value
    return cls(**kwargs)


def parse_config(data):
    """Validate a parsed TOML mapping and return a :class:`Config`.

    Raises
    ------
    ConfigError
        If a table or key is unknown, missing or out of range.
    """
    tables = {"tile": TileConfig, "timing": TimingConfig, "analog": AnalogConfig}
    for name in data:
        if name not in tables:
            raise ConfigError(f"unknown table [{name}]; expected one of "
                              + ", ".join(f"[{t}]" for t in tables))
    for name in ("tile", "timing"):
        if name not in data:
            raise ConfigError(f"missing table [{name}]")
    analog = _build(AnalogConfig, "analog", data.get("analog", {}))
    if analog.model not in ANALOG_MODELS:
        raise ConfigError(f"analog.model must be one of {', '.join(ANALOG_MODELS)}, "
                          f"not {analog.model!r}")
    return Config(_build(TileConfig, "tile", data["tile"]),
                  _build(TimingConfig, "timing", data["timing"]),
                  analog)


def load_config(path):
    """Read and validate a TOML configuration file.

    Raises
    ------
    ConfigError
        If the file cannot be read, is not valid TOML, or fails validation; the message
        starts with the file name.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {getattr(error, 'strerror', None) or error}")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: malformed TOML: {error}")
    try:
        return parse_config(data)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


REFERENCE_CONFIG = Path(__file__).parent / "configs" / "reference.toml"


def reference_config():
    """The reference tile of the benchmarks (ISAAC-like, 128 x 16 logical)."""
    return load_config(REFERENCE_CONFIG)
