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

__all__ = ["ConfigError", "TileConfig", "TimingConfig", "AnalogConfig", "DeviceConfig",
           "WriteVerifyConfig", "Config",
           "load_config", "parse_config", "reference_config", "REFERENCE_CONFIG"]


class ConfigError(ValueError):
    """A configuration file or value is invalid; the message names the field."""


def _int_field(lo, hi, doc, default=dataclasses.MISSING):
    return field(default=default, metadata={"range": (lo, hi), "doc": doc})


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


@dataclass(frozen=True)
class DeviceConfig:
    """Dynamic memdiode model of one memristor (Miranda et al.; Aguirre et al., Front. Phys.
    9, 548, 2021). State lambda in [0, 1]; read current
    I = I0(lambda) [exp(beta alpha (V - I r_s)) - exp(-(1 - beta) alpha (V - I r_s))],
    I0 = i_min + (i_max - i_min) lambda; during a pulse of amplitude V,
    dlambda/dt = (1 - lambda) / tau_S (SET) or -lambda / tau_R (RESET), with
    tau_S = tau0 exp(-eta_set (V - v_set)) and tau_R = tau0 exp(-eta_res (V - v_res)).
    """
    # Current prefactors and series resistance: the fitted HfO2 device of Aguirre et al. 2021.
    i_min: float = _float_field(1.8, 0, 1e6, "I0 at lambda = 0, uA", open_low=True)
    i_max: float = _float_field(95.8, 0, 1e6, "I0 at lambda = 1, uA", open_low=True)
    r_s: float = _float_field(30.0, 0, 1e6, "series resistance, ohm")
    alpha: float = _float_field(5.0, 0, 100, "I-V exponent, 1/V", open_low=True)
    beta: float = _float_field(0.5, 0, 1, "I-V asymmetry (0.5 = symmetric, as in the source)")
    v_read: float = _float_field(0.1, 0, 1, "verify-read voltage, V (0.1-0.2 V)", open_low=True)
    # Switching kinetics: amplitudes near v_set / |v_res| switch in about tau0, each 0.1 V
    # more (NeuRRAM's ISPP increment) about e times faster.
    eta_set: float = _float_field(10.0, 0, 100, "SET voltage sensitivity, 1/V", open_low=True)
    eta_res: float = _float_field(10.0, 0, 100, "RESET voltage sensitivity, 1/V",
                                  open_low=True)
    v_set: float = _float_field(1.0, 0, 10, "SET threshold, V", open_low=True)
    v_res: float = _float_field(1.0, 0, 10, "RESET threshold magnitude, V", open_low=True)
    tau0: float = _float_field(1e-6, 0, 1, "switching time at threshold, s", open_low=True)
    v_per_code: float = _float_field(0.01, 0, 1, "pulse DAC step, V per amplitude code",
                                     open_low=True)
    cycle_s: float = _float_field(1e-8, 0, 1, "clock period, s (pulse width unit)",
                                  open_low=True)
    # Variability: device-to-device sigma 0.05-0.3 is the range swept in the literature.
    d2d_sigma: float = _float_field(0.1, 0, 2, "lognormal sigma of each device's switching rate")
    c2c_sigma: float = _float_field(0.05, 0, 2, "lognormal sigma of each pulse's effect")
    initial_state: float = _float_field(0.0, 0, 1, "lambda of a fresh device (0 = HRS)")


@dataclass(frozen=True)
class WriteVerifyConfig:
    """Run-time program-and-verify settings (NeuRRAM-style ISPP; EMBER keeps the same knobs).

    Amplitudes are pulse DAC codes (device.v_per_code volts each); the defaults start at
    0.8 V and step by 0.1 V, as NeuRRAM does, up to 2.0 V.
    """
    tol: int = _int_field(0, 65535, "verify window half-width, ADC codes", 2)
    set_start: int = _int_field(0, 255, "first SET amplitude, DAC codes", 80)
    set_step: int = _int_field(1, 255, "SET amplitude increment per pulse", 10)
    set_limit: int = _int_field(0, 255, "largest SET amplitude", 200)
    reset_start: int = _int_field(0, 255, "first RESET amplitude, DAC codes", 80)
    reset_step: int = _int_field(1, 255, "RESET amplitude increment per pulse", 10)
    reset_limit: int = _int_field(0, 255, "largest RESET amplitude", 200)
    max_pulses: int = _int_field(1, 255, "pulses per cell before it is declared failed", 64)
    pulse_width: int = _int_field(1, 65535, "pulse width, cycles", 10)


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
    device: DeviceConfig = DeviceConfig()
    write_verify: WriteVerifyConfig = WriteVerifyConfig()

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
        return dataclasses.replace(self, tile=_build(TileConfig, "tile", values))




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
    tables = {"tile": TileConfig, "timing": TimingConfig, "analog": AnalogConfig,
              "device": DeviceConfig, "write_verify": WriteVerifyConfig}
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
    tile = _build(TileConfig, "tile", data["tile"])
    write_verify = _build(WriteVerifyConfig, "write_verify", data.get("write_verify", {}))
    _check_write_verify(write_verify)
    return Config(tile, _build(TimingConfig, "timing", data["timing"]), analog,
                  _build(DeviceConfig, "device", data.get("device", {})), write_verify)


def _check_write_verify(settings):
    for polarity in ("set", "reset"):
        start, limit = getattr(settings, f"{polarity}_start"), getattr(settings, f"{polarity}_limit")
        if start > limit:
            raise ConfigError(f"write_verify.{polarity}_start must not exceed "
                              f"write_verify.{polarity}_limit ({limit}), not {start}")



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
