"""The chip sequencer: runs a program from its instruction memory, issuing each instruction
to its unit once the data it needs and the unit are free, without the host."""

from amaranth.hdl import Cat, Module, Signal, unsigned
from amaranth.lib import data, enum, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from cimtile.spec.chip_config import BUFFER_LIMIT
from cimtile.spec.chip_isa import FORMATS, OPCODE_BITS, TILE_LIMIT, WORD_BITS, Opcode

from .chip_scoreboard import Scoreboard, tile_mask
from .parameters import check_at_most, check_positive

__all__ = ["SequencerError", "command_layout", "ChipSequencer"]


class SequencerError(enum.Enum, shape=3):
    """Why a run stopped without its HALT; ``NONE`` after a HALT."""
    NONE = 0
    #: The word's opcode is none of :class:`~cimtile.spec.chip_isa.Opcode`.
    OPCODE = 1
    #: The word sets a bit outside its opcode's format.
    RESERVED = 2
    #: The last word of the memory issued and was not a HALT.
    END = 3
    #: An MVM names a tile, or an ACC a tile range, beyond the chip's tiles.
    TILE = 4
    #: An MVM names a tile whose result buffers all hold results no ACC has read: it would
    #: wait forever.
    UNREAD = 5
    #: An ACC reads a tile that holds no result (no MVM since its last ACC).
    NO_RESULT = 6


def command_layout(op, without=()):
    """The payload of `op`'s command: each operand of its format (but those in `without`)
    by value, not by encoding (a length of 1..1024 takes 11 bits)."""
    return data.StructLayout({f.name: range(f.low, f.high + 1) for f in FORMATS[op]
                              if f.name not in without})


def _word_layout(op):
    """An `op` instruction's word: its operand fields where the format puts them."""
    return data.FlexibleLayout(WORD_BITS, {f.name: data.Field(unsigned(f.width), f.lsb)
                                           for f in FORMATS[op]})


def _reserved(op):
    """The bits of an `op` word that must be zero."""
    used = (1 << OPCODE_BITS) - 1
    for f in FORMATS[op]:
        used |= ((1 << f.width) - 1) << f.lsb
    return ((1 << WORD_BITS) - 1) & ~used


class ChipSequencer(wiring.Component):
    """Runs the program in its instruction memory: fetches, decodes and issues in order, at
    most one instruction a cycle, each to its unit's command port, waiting exactly as
    :func:`cimtile.models.chip_timing.schedule` does (the hazards are the
    :class:`~.chip_scoreboard.Scoreboard`'s).

    The host writes the program through ``w_en``/``w_addr``/``w_data`` while the
    sequencer is idle (writes while it runs are ignored, so a run sees one program), then
    pulses ``start``. ``busy`` is high from the next cycle until the run ends; then ``done``
    is high, and ``error`` says why the run ended, until the next ``start``.

    Timing: the word at an address is read a cycle before it can issue, the next one while
    it issues, so the first instruction can issue the cycle after ``start`` (a fetch
    latency of one cycle) and each next one the cycle after its predecessor: instruction i
    issues at ``start cycle + 1 + schedule(...).start[i]`` when every unit is ready and
    completes as the model says. A HALT issues once nothing is in flight, and ``done``
    rises the cycle after: at ``start cycle + 2 + schedule(...).cycles``.

    Commands: an MVM goes to its tile's port of ``mvm`` (payload ``src`` and ``length``),
    an ACC to ``acc``, a MOVE to ``move`` (payloads: every operand of the format, by value,
    :func:`command_layout`). A command is offered once its hazards are clear and issues
    on the transfer; its valid and payload hold until then, whatever ``ready`` does.

    Completions: a unit raises its ``done`` bit for one cycle, its last busy cycle (the one
    in which it writes its last output), so the instruction's completion cycle in the
    model's sense (the first cycle a dependent may issue) is the cycle after. A unit
    completing its commands ``d`` cycles after issue thus raises ``done`` ``d - 1``
    cycles after the transfer.

    No program hangs the sequencer, as long as the units complete what they take: on an
    illegal word, a bad tile, a wait that could never end or the end of the memory it
    issues nothing more, waits until the instructions in flight complete, and
    ends with ``done`` and ``error`` (:class:`SequencerError`); ``pc`` is then the
    offending word's address. Operands against the units' sizes (lengths against a tile's
    rows, addresses against the activation memory) are for the program's loader
    (:func:`cimtile.models.chip_golden.check_program`) to check.

    Parameters
    ----------
    tiles : int
        Tiles, 1..64.
    depth : int
        Words of the instruction memory.
    buffers : int
        Result buffers per tile in the datapath, 1..4 (``chip.result_buffers``): a tile
        takes its next MVM while the ACC unit still reads an earlier result, if a buffer is
        free.

    Members
    -------
    w_en : ``In(1)``
    w_addr : ``In(range(depth))``
    w_data : ``In(64)``
    start : ``In(1)``
    restart : ``Out(1)``
        High in the cycle ``start`` starts a run: the results the last run left unread are
        dropped (the datapath empties its result buffers).
    busy, done : ``Out(1)``
    error : ``Out(SequencerError)``
    pc : ``Out(range(depth))``
        Address of the instruction waiting to issue.
    mvm : ``Out(stream.Signature(command_layout(MVM, without=("tile",))))`` array of `tiles`
    acc : ``Out(stream.Signature(command_layout(ACC)))``
    move : ``Out(stream.Signature(command_layout(MOVE)))``
    mvm_done : ``In(tiles)``
    acc_done, move_done : ``In(1)``

    Raises
    ------
    ValueError
        If `tiles` is not in 1..64, `depth` not positive or `buffers` not in 1..4.
    """

    def __init__(self, *, tiles, depth, buffers):
        check_positive(self, tiles=tiles, depth=depth, buffers=buffers)
        check_at_most(self, tiles=(tiles, TILE_LIMIT), buffers=(buffers, BUFFER_LIMIT))
        self.tiles, self.depth, self.buffers = tiles, depth, buffers
        super().__init__({
            "w_en": In(1), "w_addr": In(range(depth)), "w_data": In(WORD_BITS),
            "start": In(1), "restart": Out(1), "busy": Out(1), "done": Out(1),
            "error": Out(SequencerError),
            "pc": Out(range(depth)),
            "mvm": Out(stream.Signature(command_layout(Opcode.MVM, ("tile",)))).array(tiles),
            "acc": Out(stream.Signature(command_layout(Opcode.ACC))),
            "move": Out(stream.Signature(command_layout(Opcode.MOVE))),
            "mvm_done": In(tiles), "acc_done": In(1), "move_done": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.scoreboard = board = Scoreboard(tiles=self.tiles, buffers=self.buffers)
        m.submodules.program = program = memory.Memory(shape=WORD_BITS, depth=self.depth,
                                                       init=[])
        write = program.write_port()
        fetch = program.read_port(transparent_for=[write])
        m.d.comb += fetch.en.eq(0)    # the head holds until it issues
        m.d.comb += [write.en.eq(self.w_en & ~self.busy), write.addr.eq(self.w_addr),
                     write.data.eq(self.w_data)]

        # Decode the fetched word by each opcode's format: what it reads (src), writes
        # (dst) and which tiles it names (tile, count).
        word = fetch.data
        op = word[:OPCODE_BITS]
        values = {}
        head = board.head
        m.d.comb += head.op.eq(op)
        with m.Switch(op):
            for code in Opcode:
                view = _word_layout(code)(word)
                values[code] = v = {f.name: getattr(view, f.name) + f.offset
                                    for f in FORMATS[code]}
                with m.Case(code):
                    for name, span in (("src", head.reads), ("dst", head.writes)):
                        if name in v:
                            m.d.comb += [span.first.eq(v[name]),
                                         span.end.eq(v[name] + v["length"])]
                    if "tile" in v:
                        m.d.comb += [head.tile.eq(v["tile"]),
                                     head.tile_end.eq(v["tile"] + v.get("count", 1))]
        is_op = {code: op == code.value for code in Opcode}

        fault = Signal(SequencerError)
        named = tile_mask(head.tile, head.tile_end, self.tiles)
        with m.If(~Cat(is_op.values()).any()):
            m.d.comb += fault.eq(SequencerError.OPCODE)
        for code in Opcode:
            with m.Elif(is_op[code] & (word & _reserved(code)).any()):
                m.d.comb += fault.eq(SequencerError.RESERVED)
        with m.Elif((is_op[Opcode.MVM] | is_op[Opcode.ACC]) & (head.tile_end > self.tiles)):
            m.d.comb += fault.eq(SequencerError.TILE)
        with m.Elif(is_op[Opcode.MVM] & (named & board.full).any()):
            m.d.comb += fault.eq(SequencerError.UNREAD)
        with m.Elif(is_op[Opcode.ACC] & (named & ~board.holding).any()):
            m.d.comb += fault.eq(SequencerError.NO_RESULT)

        # Offer the head to its unit; it issues on the transfer (a BARRIER once all is idle).
        running = Signal()
        offer = Signal()
        m.d.comb += offer.eq(running & (fault == SequencerError.NONE) & ~board.wait)
        ports = [(port, Opcode.MVM, head.tile == t) for t, port in enumerate(self.mvm)]
        ports += [(self.acc, Opcode.ACC, 1), (self.move, Opcode.MOVE, 1)]
        for port, code, mine in ports:
            m.d.comb += port.valid.eq(offer & is_op[code] & mine)
            for name in port.payload.shape().members:
                m.d.comb += getattr(port.payload, name).eq(values[code][name])
        issue = board.issue
        m.d.comb += [
            issue.eq(Cat(port.valid & port.ready
                         for port in (*self.mvm, self.acc, self.move)).any()
                     | offer & is_op[Opcode.BARRIER]),
            board.mvm_done.eq(self.mvm_done), board.acc_done.eq(self.acc_done),
            board.move_done.eq(self.move_done),
        ]

        # The word at pc + 1 is read as pc's issues, so it is the head the cycle after.
        with m.FSM(name="seq"):
            with m.State("IDLE"):
                m.d.comb += [fetch.en.eq(self.start), fetch.addr.eq(0)]
                m.d.comb += [board.restart.eq(self.start), self.restart.eq(self.start)]
                with m.If(self.start):
                    m.d.sync += [self.pc.eq(0), self.done.eq(0),
                                 self.error.eq(SequencerError.NONE)]
                    m.next = "RUN"
            with m.State("RUN"):
                m.d.comb += [self.busy.eq(1), running.eq(1), fetch.addr.eq(self.pc + 1)]
                with m.If(fault != SequencerError.NONE):
                    m.d.sync += self.error.eq(fault)
                    m.next = "DRAIN"
                with m.Elif(is_op[Opcode.HALT]):
                    with m.If(board.idle):
                        m.d.sync += self.done.eq(1)
                        m.next = "IDLE"
                with m.Elif(issue):
                    with m.If(self.pc == self.depth - 1):
                        m.d.sync += self.error.eq(SequencerError.END)
                        m.next = "DRAIN"
                    with m.Else():
                        m.d.comb += fetch.en.eq(1)
                        m.d.sync += self.pc.eq(self.pc + 1)
            with m.State("DRAIN"):
                m.d.comb += self.busy.eq(1)
                with m.If(board.idle):
                    m.d.sync += self.done.eq(1)
                    m.next = "IDLE"
        return m
