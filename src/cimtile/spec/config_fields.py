"""The kinds of configuration key: how a table's field is declared, and how a TOML table
is checked against its dataclass.

A field's metadata says what values it takes (an integer range, a real interval, a choice,
a list of numbers); :func:`build_table` enforces it, so every error names the field and
its allowed range.
"""

import dataclasses
from dataclasses import field

__all__ = ["ConfigError", "bool_field", "build_table", "choice_field", "float_field",
           "int_field", "real_table_field"]


class ConfigError(ValueError):
    """A configuration file or value is invalid; the message names the field."""


def int_field(lo, hi, doc, default=dataclasses.MISSING):
    """An integer key in lo..hi; without a default the key is required."""
    return field(default=default, metadata={"range": (lo, hi), "doc": doc})


def float_field(default, lo, hi, doc, *, open_low=False):
    """A real-valued key in [lo, hi] (or (lo, hi] with open_low); integers are accepted."""
    return field(default=default,
                 metadata={"real_range": (lo, hi, open_low), "doc": doc})


def bool_field(default, doc):
    """A key that is true or false (TOML booleans only: 0 and 1 are refused)."""
    return field(default=default, metadata={"bool": True, "doc": doc})


def choice_field(default, choices, doc):
    """A key that takes one of the strings `choices`."""
    return field(default=default, metadata={"choices": choices, "doc": doc})


def real_table_field(lo, hi, doc):
    """A list of numbers, each in [lo, hi]; empty by default."""
    return field(default=(), metadata={"real_table": (lo, hi), "doc": doc})


def _in_real_range(value, lo, hi, open_low):
    # The type test comes first: comparing a string with a number would raise TypeError.
    if type(value) not in (int, float):
        return False
    return (value > lo if open_low else value >= lo) and value <= hi


def build_table(cls, table, values):
    """The dataclass `cls` from the TOML table `values` (named `table` in errors), each key
    checked against its field's declared range.

    Raises
    ------
    ConfigError
        If `values` is not a table, or a key is unknown, missing or out of range.
    """
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
        if "bool" in f.metadata and type(value) is not bool:
            raise ConfigError(f"{where} must be true or false, not {value!r}")
        if "real_range" in f.metadata:
            lo, hi, open_low = f.metadata["real_range"]
            if not _in_real_range(value, lo, hi, open_low):
                interval = f"({lo}, {hi}]" if open_low else f"[{lo}, {hi}]"
                raise ConfigError(f"{where} must be a number in {interval}, not {value!r}")
            value = float(value)
        if "choices" in f.metadata:
            choices = f.metadata["choices"]
            if value not in choices:
                raise ConfigError(f"{where} must be one of {', '.join(choices)}, "
                                  f"not {value!r}")
        if "real_table" in f.metadata:
            lo, hi = f.metadata["real_table"]
            if (not isinstance(value, (list, tuple))
                    or not all(_in_real_range(v, lo, hi, False) for v in value)):
                raise ConfigError(f"{where} must be a list of numbers in [{lo}, {hi}], "
                                  f"not {value!r}")
            value = tuple(float(v) for v in value)
        kwargs[name] = value
    return cls(**kwargs)

