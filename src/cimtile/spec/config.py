"""Tile configuration: one TOML file parsed once into frozen, validated dataclasses.

The TOML tables are ``[tile]`` and ``[timing]`` (elaboration-time: they shape the RTL),
``[adc]`` (the column ADC: its rate, which can give ``[timing] t_adc``, its energy and area),
``[analog]`` (how the behavioural models answer), ``[device]`` and ``[write_verify]``
(programming), ``[host]`` (bus widths) and ``[ppa]`` (technology, clock and the per-event
figures of the energy and area model). Every validation error names the offending
field and the allowed range, so a user can fix the file without reading code.

This module reads the file and checks what no single field can (one key against another);
the tables are declared in :mod:`.config_tables` and :mod:`.config_physics`, the whole
description with its derived figures in :mod:`.config_derived`.
"""

import dataclasses
import tomllib
from pathlib import Path

from .config_adc import AdcConfig, adc_timing

from .config_derived import Config
from .config_fields import ConfigError, build_table
from .config_physics import AnalogConfig, DeviceConfig, PpaConfig
from .config_tables import HostConfig, TileConfig, TimingConfig, WriteVerifyConfig

# ConfigError and WriteVerifyConfig stay importable here for the commands and the benches.
__all__ = ["ConfigError", "WriteVerifyConfig", "load_config", "parse_config",
           "reference_config", "REFERENCE_CONFIG"]


def parse_config(data):
    """Validate a parsed TOML mapping and return a :class:`Config`.

    Raises
    ------
    ConfigError
        If a table or key is unknown, missing or out of range.
    """
    tables = {"tile": TileConfig, "timing": TimingConfig, "analog": AnalogConfig,
              "device": DeviceConfig, "write_verify": WriteVerifyConfig, "host": HostConfig,
              "ppa": PpaConfig, "adc": AdcConfig}
    for name in data:
        if name not in tables:
            raise ConfigError(f"unknown table [{name}]; expected one of "
                              + ", ".join(f"[{t}]" for t in tables))
    for name in ("tile", "timing"):
        if name not in data:
            raise ConfigError(f"missing table [{name}]")
    analog = build_table(AnalogConfig, "analog", data.get("analog", {}))
    tile = build_table(TileConfig, "tile", data["tile"])
    _check_analog(analog, tile)
    write_verify = build_table(WriteVerifyConfig, "write_verify",
                               data.get("write_verify", {}))
    _check_write_verify(write_verify)
    host = build_table(HostConfig, "host", data.get("host", {}))
    if host.data_width % 32:
        raise ConfigError(f"host.data_width must be a multiple of 32, not {host.data_width}")
    device = build_table(DeviceConfig, "device", data.get("device", {}))
    _check_device(device, analog)
    ppa = build_table(PpaConfig, "ppa", data.get("ppa", {}))
    adc = build_table(AdcConfig, "adc", data.get("adc", {}))
    timing = data["timing"]
    if isinstance(timing, dict):
        timing = adc_timing(adc, ppa.clock_mhz, timing)
    # The rate lives on as the cycles (Config.adc_rate_msps), so the parsed configuration,
    # written out, gives the cycles only and parses again.
    return Config(tile, build_table(TimingConfig, "timing", timing), analog, device,
                  write_verify, host, ppa, dataclasses.replace(adc, rate_msps=0.0))


def _check_analog(analog, tile):
    if analog.g_min >= analog.g_max:
        raise ConfigError(f"analog.g_min must be less than analog.g_max ({analog.g_max}), "
                          f"not {analog.g_min}")
    transitions = 2 ** tile.adc_bits - 1
    if analog.adc_inl and len(analog.adc_inl) != transitions:
        raise ConfigError(f"analog.adc_inl must have 2**adc_bits - 1 = {transitions} entries "
                          f"(one per code transition), not {len(analog.adc_inl)}")


def _check_device(device, analog):
    # The read current must leave some voltage across the diode: g_max r_s < 1.
    limit = 1e6 / analog.g_max
    if device.r_s >= limit:
        raise ConfigError(f"device.r_s must be below 1 / analog.g_max = {limit:g} ohm, "
                          f"not {device.r_s}")


def _check_write_verify(settings):
    for polarity in ("set", "reset"):
        start = getattr(settings, f"{polarity}_start")
        limit = getattr(settings, f"{polarity}_limit")
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


REFERENCE_CONFIG = Path(__file__).parents[1] / "configs" / "reference.toml"


def reference_config():
    """The reference tile of the benchmarks (ISAAC-like, 128 x 16 logical)."""
    return load_config(REFERENCE_CONFIG)
