"""How a register is declared: 32-bit words at word-aligned byte addresses, each a tuple
of bit fields with their access, reset value, valid range and the cause an out-of-range
write is flagged with; and what every map built from them shares: the lookup by name, the
constant fields and the bus rules. The tile's map is
:data:`cimtile.spec.register_table.REGISTERS`, the chip's
:data:`cimtile.spec.chip_regmap.REGISTERS`.
"""

from dataclasses import dataclass, field
from enum import Enum

__all__ = ["ADDR_WIDTH", "DATA_WIDTH", "BUS_RULES", "Access", "Field", "Register", "lookup",
           "constants"]

ADDR_WIDTH = 12     # byte addresses; registers are word aligned
DATA_WIDTH = 32

#: The last refusal rules of every map: how the register block answers on the bus.
BUS_RULES = (
    "Any write to a RO register is refused with cause READ_ONLY.",
    "Unmapped addresses: reads and writes answer DECERR (RDATA 0) and flag nothing.",
    "WSTRB: on RW registers only the strobed bytes are written; the resulting whole value "
    "is validated. On W1C and WO registers unstrobed bytes count as 0. The low two address "
    "bits are ignored.",
    "Reads never have side effects; WO registers read as 0.",
    "Events set IRQ_STATUS bits in the same cycle as a W1C clear win over the clear.",
)


class Access(Enum):
    """How the host may access a register."""
    RO = "RO"       # writes are refused (cause READ_ONLY)
    RW = "RW"
    WO = "WO"       # reads return 0
    W1C = "W1C"     # writing 1 to a bit clears it

@dataclass(frozen=True)
class Field:
    """A bit field of a register.

    Parameters
    ----------
    name : str
    lsb, width : int
        Position in the 32-bit register.
    doc : str
    reset : int or callable
        Reset value, or a function of the Config giving it.
    valid : callable or None
        For RW fields: a function of the Config giving the inclusive ``(lo, hi)`` range a write
        must respect; None accepts every value of the width.
    cause : ErrorCause or None
        What an out-of-range write is flagged as; required with ``valid``.
    port : str or None
        The datapath member this field drives, within its register's ``port``; defaults to
        the field name.
    """
    name: str
    lsb: int
    width: int
    doc: str
    reset: object = 0
    valid: object = None
    cause: object = None
    port: str = None

    def __post_init__(self):
        if not 0 <= self.lsb or self.width < 1 or self.lsb + self.width > DATA_WIDTH:
            raise ValueError(f"field {self.name} bits [{self.lsb + self.width - 1}:{self.lsb}] "
                             f"do not fit a {DATA_WIDTH}-bit register")
        if (self.valid is None) != (self.cause is None):
            raise ValueError(f"field {self.name}: valid and cause go together")

    @property
    def mask(self):
        """The field's bits in place."""
        return ((1 << self.width) - 1) << self.lsb

    @property
    def msb(self):
        return self.lsb + self.width - 1

    @property
    def port_name(self):
        return self.port or self.name

    def reset_value(self, cfg):
        value = self.reset(cfg) if callable(self.reset) else self.reset
        if not 0 <= value < 1 << self.width:
            raise ValueError(f"reset value {value} of field {self.name} does not fit "
                             f"{self.width} bits")
        return value

    def valid_range(self, cfg):
        """Inclusive ``(lo, hi)`` of the values a write may give this field."""
        return self.valid(cfg) if self.valid else (0, (1 << self.width) - 1)


@dataclass(frozen=True)
class Register:
    """A 32-bit register.

    Parameters
    ----------
    name : str
    offset : int
        Byte offset, word aligned.
    access : Access
    doc : str
    fields : tuple of Field
    volatile : bool
        The hardware changes the value (status, counters); a RO register that is not volatile
        is a constant (its reset value).
    busy_guarded : bool
        Writes are refused while busy (cause BUSY).
    port : str or None
        For RW registers that drive the datapath: the member of the register block their
        fields drive (``settings`` or ``wv_settings``).
    """
    name: str
    offset: int
    access: Access
    doc: str
    fields: tuple = field(default=())
    volatile: bool = False
    busy_guarded: bool = False
    port: str = None

    def __post_init__(self):
        if self.offset % 4 or not 0 <= self.offset < 1 << ADDR_WIDTH:
            raise ValueError(f"register {self.name}: offset {self.offset:#x} is not a word "
                             f"address below {1 << ADDR_WIDTH:#x}")
        used = 0
        for f in self.fields:
            if used & f.mask:
                raise ValueError(f"register {self.name}: field {f.name} overlaps another")
            used |= f.mask

    def field(self, name):
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"register {self.name} has no field {name!r}; expected one of "
                       f"{', '.join(f.name for f in self.fields)}")

    def reset_value(self, cfg):
        value = 0
        for f in self.fields:
            value |= f.reset_value(cfg) << f.lsb
        return value

    def pack(self, **values):
        """The register value holding the given field values (others 0)."""
        word = 0
        for name, value in values.items():
            f = self.field(name)
            if not isinstance(value, int) or not 0 <= value < 1 << f.width:
                raise ValueError(f"{self.name}.{name} must be an integer in "
                                 f"0..{(1 << f.width) - 1}, not {value!r}")
            word |= int(value) << f.lsb
        return word

    def unpack(self, word):
        """The field values of a register value, by name."""
        return {f.name: (word & f.mask) >> f.lsb for f in self.fields}


def lookup(registers):
    """The function giving the register of `registers` called by a name.

    Raises
    ------
    ValueError
        Two registers share a name or an offset.
    """
    by_name = {r.name: r for r in registers}
    if len(by_name) != len(registers) or len({r.offset for r in registers}) != len(registers):
        raise ValueError("registers must have distinct names and offsets")

    def register(name):
        """The register called ``name``."""
        try:
            return by_name[name]
        except KeyError:
            raise KeyError(f"no register {name!r}; expected one of "
                           f"{', '.join(by_name)}") from None
    return register


def constants(registers, cfg):
    """The constant fields (ID, VERSION, CAP_*) of `registers` for `cfg`, by ``"REG.field"``."""
    return {f"{r.name}.{f.name}": f.reset_value(cfg) for r in registers
            if r.access is Access.RO and not r.volatile for f in r.fields}
