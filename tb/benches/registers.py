"""Register access for cocotb testbenches, by name, through a cocotbext-axi AxiLiteMaster.

Names, offsets and field positions all come from :mod:`cimtile.spec.regmap`.
"""

from cocotbext.axi import AxiResp

from cimtile.spec.regmap import Access, register

__all__ = ["RegisterError", "HostRegisters"]


class RegisterError(RuntimeError):
    """An access by name was answered with an error response.

    Attributes
    ----------
    resp : AxiResp
    """

    def __init__(self, message, resp):
        super().__init__(message)
        self.resp = resp


class HostRegisters:
    """Reads and writes the host registers by name.

    cocotbext-axi's ``AxiLiteMaster.read/write`` return the response code and do not raise:
    :meth:`read` and :meth:`write` raise :class:`RegisterError` on anything but OKAY, while
    :meth:`read_raw` and :meth:`write_raw` return it, for tests of the refusal paths.

    Parameters
    ----------
    master : cocotbext.axi.AxiLiteMaster
    base : int
        Byte address of the register block on ``master``'s bus.
    """

    def __init__(self, master, base=0):
        self.master, self.base = master, base

    async def read_raw(self, offset):
        """``(value, resp)`` of a 32-bit read at ``offset``."""
        answer = await self.master.read(self.base + offset, 4)
        return int.from_bytes(answer.data, "little"), AxiResp(answer.resp)

    async def write_raw(self, offset, value, strobe=0xF):
        """Write ``value`` at ``offset`` with byte strobes ``strobe``; return the response.

        cocotbext-axi derives WSTRB from the address and length of the data, so only the
        strobed bytes are sent, from the lowest to the highest.

        Raises
        ------
        ValueError
            If ``strobe`` is 0 or its bytes are not contiguous (cocotbext-axi cannot send
            such a strobe).
        """
        lanes = [i for i in range(4) if strobe >> i & 1]
        if not lanes or lanes != list(range(lanes[0], lanes[-1] + 1)) or strobe >> 4:
            raise ValueError(f"strobe must select contiguous bytes of 4, not {strobe:#x}")
        data = int(value).to_bytes(4, "little")[lanes[0]:lanes[-1] + 1]
        answer = await self.master.write(self.base + offset + lanes[0], data)
        return AxiResp(answer.resp)

    async def read(self, name, *, fields=True):
        """The fields of register ``name`` as a dict (or its whole value with
        ``fields=False``).

        Raises
        ------
        RegisterError
            If the response is not OKAY.
        """
        reg = register(name)
        value, resp = await self.read_raw(reg.offset)
        if resp != AxiResp.OKAY:
            raise RegisterError(f"read of {name} answered {resp.name}", resp)
        return reg.unpack(value) if fields else value

    async def write(self, name, value=None, **fields):
        """Write register ``name``: a whole ``value``, or the given fields.

        With fields, the others keep their value in RW registers (read-modify-write) and are
        0 in CTRL and IRQ_STATUS (a 0 there does nothing).

        Raises
        ------
        RegisterError
            If the write is refused (SLVERR) or not decoded (DECERR).
        ValueError
            If both ``value`` and fields, or neither, are given, or a field does not fit.
        """
        reg = register(name)
        if (value is None) == (not fields):
            raise ValueError(f"write {name}: give a whole value or fields, not "
                             f"{'both' if fields else 'neither'}")
        if value is None:
            current = await self.read(name) if reg.access is Access.RW else {}
            value = reg.pack(**(current | fields))
        resp = await self.write_raw(reg.offset, value)
        if resp != AxiResp.OKAY:
            raise RegisterError(f"write of {name} = {value:#010x} answered {resp.name}", resp)
