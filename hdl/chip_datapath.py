"""The chip's datapath: the units the sequencer commands (one MVM unit per tile, the ACC unit,
the mover) around the activation memory, the post-processing unit and its parameters."""

import math

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from cimtile.spec.chip_isa import TILE_LIMIT, Opcode

from .chip_sequencer import command_layout
from .parameters import check_positive, refused
from .post_process import PostProcess
from .span_memory import SpanMemory

__all__ = ["param_layout", "chip_post_process", "ChipDatapath"]


def param_layout(chip):
    """One output's post-processing parameters: its multiplier and bias."""
    return data.StructLayout({"mult": signed(chip.chip.mult_bits),
                              "bias": signed(chip.chip.bias_bits)})


def chip_post_process(chip):
    """The chip's post-processing unit: one lane per tile column, partial sums of the
    tile's result width, the chip's widths."""
    c = chip.chip
    return PostProcess(lanes=chip.tile.tile.cols, in_bits=chip.tile.result_width,
                       acc_bits=c.acc_bits, mult_bits=c.mult_bits, bias_bits=c.bias_bits,
                       out_bits=c.out_bits, shift_max=c.shift_max)


class ChipDatapath(wiring.Component):
    """The units of a :class:`~cimtile.spec.chip_config.ChipConfig`'s chip, taking the
    :class:`~.chip_sequencer.ChipSequencer`'s commands and computing what
    :func:`cimtile.models.chip_golden.run_chip` does.

    The activation memory is a :class:`~.span_memory.SpanMemory` of ``act_elements``
    signed ``out_bits`` activations, ``lanes = interconnect_width / out_bits`` of them a
    cycle from any address, with a read port per MVM unit and one for the mover and a
    write port each for the ACC unit and the mover: one interconnect beat a cycle per
    unit, never contended (as :mod:`cimtile.models.chip_timing` assumes).

    - An MVM unit reads ``length`` activations from ``src`` a beat a cycle, the first read
      in the command's cycle, zero-pads them to the tile's rows and offers the vector on
      its ``vector`` stream in the cycle the last beat arrives; it then keeps the tile's
      result in the next of its tile's ``result_buffers`` result buffers, used in turn,
      and raises its ``mvm_done`` bit in that cycle. Cycles from command to completion:
      ``1 + beats(length, out_bits) + L`` when the tile answers ``L`` cycles after taking
      the vector (the model's ``result_latency``), as the model says: its
      ``READ_LATENCY`` is the activation memory's read cycle.
    - The ACC unit reads the ``length`` multipliers and biases from ``param`` in the
      command's cycle, then moves the first ``length`` partial sums of each of its tiles'
      oldest results to the post-processing unit ``interconnect_width`` bits a cycle
      (``beats(length, result_width)`` cycles a tile, the last one straight into
      :class:`~.post_process.PostProcess`), and writes the outputs to ``dst`` a beat a
      cycle: ``count * beats(length, result_width) + 1 + beats(length, out_bits)``
      cycles, as the model says. A tile's buffer is free again once its sums are
      taken; the sequencer counts it free once the ACC completes.
    - The mover reads a beat a cycle from the command's cycle on and writes each the
      cycle after: ``beats(length, out_bits) + 1`` cycles, as the model says. A MOVE
      must not overlap its source and destination
      (:func:`cimtile.models.chip_golden.check_program` refuses it): it reads a beat
      while writing the one before.

    The host writes activations (``host_write``) and parameters (``param_write``) and
    reads activations (``host_read``, the value on ``host_data`` the cycle after) one at
    a time while the units are idle; the host's activation ports are the mover's.

    Parameters
    ----------
    chip : ChipConfig
    param_depth : int
        Outputs the post-processing parameter memory holds (a program's ``len(mult)`` at
        least; :func:`~cimtile.models.chip_golden.check_program` keeps every ACC within
        it).

    Members
    -------
    mvm : ``In(stream.Signature(command_layout(MVM, without=("tile",))))`` array of tiles
    acc : ``In(stream.Signature(command_layout(ACC)))``
    move : ``In(stream.Signature(command_layout(MOVE)))``
    mvm_done : ``Out(tiles)``
    acc_done, move_done : ``Out(1)``
        A unit's completion: high for one cycle, its last busy cycle (the sequencer's
        convention).
    restart : ``In(1)``
        A run starts (the units are idle): every tile's result buffers are emptied, so an
        ACC reads only results of its own run.
    vector : ``Out(stream.Signature(ArrayLayout(signed(in_bits), rows)))`` array of tiles
        Each tile's input vector (its ``i_stream``).
    result : ``In(stream.Signature(ArrayLayout(signed(result_width), cols)))`` array of
        tiles; each tile's result (its ``o_stream``).
    host_write : ``In(StructLayout({"en", "addr", "data"}))``
    host_read : ``In(StructLayout({"en", "addr"}))``
    host_data : ``Out(signed(out_bits))``
    param_write : ``In(StructLayout({"en", "addr", "data": param_layout(chip)}))``

    Raises
    ------
    ValueError
        If `param_depth` is not a positive integer or ``out_bits`` does not divide
        ``interconnect_width``.
    """

    def __init__(self, chip, *, param_depth):
        check_positive(self, param_depth=param_depth)
        c, tile = chip.chip, chip.tile
        if c.interconnect_width % c.out_bits:
            raise refused(self, ValueError(
                f"chip.out_bits ({c.out_bits}) must divide chip.interconnect_width "
                f"({c.interconnect_width})"))
        self.chip, self.param_depth = chip, param_depth
        self.lanes = c.interconnect_width // c.out_bits
        self.act = signed(c.out_bits)
        depth = chip.act_elements
        super().__init__({
            "mvm": In(stream.Signature(command_layout(Opcode.MVM, ("tile",)))).array(c.tiles),
            "acc": In(stream.Signature(command_layout(Opcode.ACC))),
            "move": In(stream.Signature(command_layout(Opcode.MOVE))),
            "mvm_done": Out(c.tiles), "acc_done": Out(1), "move_done": Out(1),
            "restart": In(1),
            "vector": Out(stream.Signature(data.ArrayLayout(
                signed(tile.tile.in_bits), tile.tile.rows))).array(c.tiles),
            "result": In(stream.Signature(data.ArrayLayout(
                signed(tile.result_width), tile.tile.cols))).array(c.tiles),
            "host_write": In(data.StructLayout({"en": 1, "addr": range(depth),
                                                "data": self.act})),
            "host_read": In(data.StructLayout({"en": 1, "addr": range(depth)})),
            "host_data": Out(self.act),
            "param_write": In(data.StructLayout({"en": 1, "addr": range(param_depth),
                                                 "data": param_layout(chip)})),
        })

    def elaborate(self, platform):
        m = Module()
        chip, c = self.chip, self.chip.chip
        tiles = c.tiles
        m.submodules.activations = acts = SpanMemory(
            shape=self.act, lanes=self.lanes, depth=chip.act_elements, readers=tiles + 1,
            writers=2)
        m.submodules.params = params = SpanMemory(
            shape=param_layout(chip), lanes=chip.tile.tile.cols, depth=self.param_depth,
            readers=1, writers=1)
        m.submodules.post_process = post = chip_post_process(chip)
        buffers = [_ResultBuffers(m, self.result[t].payload.shape(), c.result_buffers,
                                  f"result_{t}") for t in range(tiles)]
        for t in range(tiles):
            self._mvm_unit(m, t, acts.read[t], buffers[t])
            with m.If(self.restart):
                buffers[t].clear()
        self._acc_unit(m, buffers, params.read[0], post, acts.write[0])
        self._move_unit(m, acts.read[tiles], acts.write[1])
        m.d.comb += [params.write[0].en.eq(self.param_write.en),
                     params.write[0].addr.eq(self.param_write.addr),
                     params.write[0].count.eq(1),
                     params.write[0].data[0].eq(self.param_write.data)]
        return m

    def _beats(self, length, bits):
        """``ceil(length * bits / interconnect_width)`` of a length signal."""
        width = self.chip.chip.interconnect_width
        return (length * bits + width - 1) // width

    def _mvm_unit(self, m, t, read, buffers):
        """Tile `t`'s MVM unit (class docstring)."""
        lanes, rows = self.lanes, self.chip.tile.tile.rows
        cmd, out, back = self.mvm[t], self.vector[t], self.result[t]
        vector = Signal.like(out.payload, name=f"vector_{t}")
        merged = Signal.like(out.payload, name=f"merged_{t}")
        src = Signal.like(cmd.payload.src, name=f"src_{t}")
        length = Signal.like(cmd.payload.length, name=f"length_{t}")
        beat = Signal(range(rows + 1), name=f"beat_{t}")       # the beat arriving
        last = Signal(name=f"last_{t}")
        m.d.comb += [read.en.eq(0), read.addr.eq(src + (beat + 1) * lanes), merged.eq(vector),
                     last.eq(beat + 1 == self._beats(length, self.chip.chip.out_bits))]
        with m.Switch(beat):
            for b in range(math.ceil(rows / lanes)):
                with m.Case(b):
                    for k in range(min(lanes, rows - b * lanes)):
                        m.d.comb += merged[b * lanes + k].eq(
                            Mux(b * lanes + k < length, read.data[k], 0))
        with m.FSM(name=f"mvm_{t}"):
            with m.State("IDLE"):
                m.d.comb += [cmd.ready.eq(1), read.en.eq(cmd.valid),
                             read.addr.eq(cmd.payload.src)]
                with m.If(cmd.valid):
                    m.d.sync += [src.eq(cmd.payload.src), length.eq(cmd.payload.length),
                                 beat.eq(0), vector.eq(0)]
                    m.next = "READ"
            with m.State("READ"):
                # Beat `beat` arrives and the next one is read; the last one, on the port
                # of the read, stays there while the vector waits for the tile.
                m.d.comb += read.en.eq(~last)
                m.d.sync += vector.eq(merged)
                with m.If(~last):
                    m.d.sync += beat.eq(beat + 1)
                with m.Else():
                    m.d.comb += [out.valid.eq(1), out.payload.eq(merged)]
                    with m.If(out.ready):
                        m.next = "RESULT"
            with m.State("RESULT"):
                m.d.comb += back.ready.eq(1)
                with m.If(back.valid):
                    m.d.comb += self.mvm_done[t].eq(1)
                    buffers.push(back.payload)
                    m.next = "IDLE"

    def _acc_unit(self, m, buffers, params, post, write):
        """The ACC unit (class docstring)."""
        chip, c = self.chip, self.chip.chip
        cols, width, lanes = chip.tile.tile.cols, chip.tile.result_width, self.lanes
        wide = c.interconnect_width
        cmd, inp, out = self.acc, post.i_stream, post.o_stream
        words = math.ceil(cols * width / wide)
        got = Signal.like(cmd.payload)
        block = Signal(range(TILE_LIMIT + 1))      # tiles brought
        beat = Signal(range(words + 1))
        assembly = Signal(words * wide)
        merged = Signal(words * wide)
        word = Signal(wide)
        with m.Switch(got.tile + block):
            for t, tile in enumerate(buffers):
                with m.Case(t):
                    padded = Cat(tile.oldest.as_value(), Const(0, words * wide - cols * width))
                    m.d.comb += word.eq(padded.word_select(beat, wide))
        m.d.comb += [merged.eq(assembly), merged.word_select(beat, wide).eq(word)]
        last_beat = beat + 1 == self._beats(got.length, width)
        last_block = block + 1 == got.count
        m.d.comb += [inp.payload.data.eq(merged[:cols * width]),
                     inp.payload.first.eq(block == 0), inp.payload.last.eq(last_block),
                     post.shift.eq(got.shift), post.relu.eq(got.relu)]
        m.d.comb += [post.mult[i].eq(params.data[i].mult) for i in range(cols)]
        m.d.comb += [post.bias[i].eq(params.data[i].bias) for i in range(cols)]

        # The outputs leave a beat a cycle: lanes of them from `written` on.
        written = Signal(range(cols + lanes + 1))
        left = got.length - written
        m.d.comb += [write.addr.eq(got.dst + written),
                     write.count.eq(Mux(left > lanes, lanes, left))]
        with m.Switch(written):
            for first in range(0, cols, lanes):
                with m.Case(first):
                    for k in range(min(lanes, cols - first)):
                        m.d.comb += write.data[k].eq(out.payload[first + k])

        with m.FSM(name="acc"):
            with m.State("IDLE"):
                m.d.comb += [cmd.ready.eq(1), params.en.eq(cmd.valid),
                             params.addr.eq(cmd.payload.param)]
                with m.If(cmd.valid):
                    m.d.sync += [got.eq(cmd.payload), block.eq(0), beat.eq(0),
                                 written.eq(0)]
                    m.next = "GATHER"
            with m.State("GATHER"):
                # The last beat of a tile goes on to the post-processing unit at once, and
                # is brought again while it waits (its result buffer holds).
                m.d.sync += assembly.eq(merged)
                with m.If(~last_beat):
                    m.d.sync += beat.eq(beat + 1)
                with m.Else():
                    m.d.comb += inp.valid.eq(1)
                    with m.If(inp.ready):
                        m.d.sync += beat.eq(0)
                        with m.Switch(got.tile + block):
                            for t, tile in enumerate(buffers):
                                with m.Case(t):
                                    tile.pop()
                        with m.If(last_block):
                            m.next = "WRITE"
                        with m.Else():
                            m.d.sync += block.eq(block + 1)
            with m.State("WRITE"):
                with m.If(out.valid):
                    m.d.comb += write.en.eq(1)
                    m.d.sync += written.eq(written + lanes)
                    with m.If(left <= lanes):
                        m.d.comb += [out.ready.eq(1), self.acc_done.eq(1)]
                        m.next = "IDLE"

    def _move_unit(self, m, read, write):
        """The mover (class docstring), whose ports the host uses while it is idle."""
        lanes, cmd = self.lanes, self.move
        got = Signal.like(cmd.payload)
        written = Signal.like(cmd.payload.length)
        left = got.length - written
        m.d.comb += [read.addr.eq(got.src + written + lanes),
                     write.addr.eq(got.dst + written),
                     write.count.eq(Mux(left > lanes, lanes, left)),
                     write.data.eq(read.data), self.host_data.eq(read.data[0])]
        with m.FSM(name="move"):
            with m.State("IDLE"):
                m.d.comb += [cmd.ready.eq(1),
                             read.en.eq(cmd.valid | self.host_read.en),
                             read.addr.eq(Mux(cmd.valid, cmd.payload.src,
                                              self.host_read.addr)),
                             write.en.eq(self.host_write.en),
                             write.addr.eq(self.host_write.addr), write.count.eq(1),
                             write.data[0].eq(self.host_write.data)]
                with m.If(cmd.valid):
                    m.d.sync += [got.eq(cmd.payload), written.eq(0)]
                    m.next = "COPY"
            with m.State("COPY"):
                # The beat read last cycle is written; the next one is read.
                m.d.comb += [write.en.eq(1), read.en.eq(left > lanes)]
                m.d.sync += written.eq(written + lanes)
                with m.If(left <= lanes):
                    m.d.comb += self.move_done.eq(1)
                    m.next = "IDLE"


class _ResultBuffers:
    """A tile's results waiting for the ACC unit, oldest first: `count` registers used in
    turn. The sequencer's scoreboard never lets an MVM complete into a full set, nor an ACC
    read an empty one."""

    def __init__(self, m, shape, count, name):
        self._m, self._count = m, count
        self._slots = [Signal(shape, name=f"{name}_{k}") for k in range(count)]
        self._newest = Signal(range(count), name=f"{name}_in")
        self._oldest = Signal(range(count), name=f"{name}_out")
        self.oldest = Signal(shape, name=f"{name}_oldest")
        with m.Switch(self._oldest):
            for k, slot in enumerate(self._slots):
                with m.Case(k):
                    m.d.comb += self.oldest.eq(slot)

    def _next(self, pointer):
        return Mux(pointer == self._count - 1, 0, pointer + 1)

    def push(self, value):
        """Keep `value` as the newest result (in the current control context)."""
        with self._m.Switch(self._newest):
            for k, slot in enumerate(self._slots):
                with self._m.Case(k):
                    self._m.d.sync += slot.eq(value)
        self._m.d.sync += self._newest.eq(self._next(self._newest))

    def pop(self):
        """Let the oldest result go (in the current control context)."""
        self._m.d.sync += self._oldest.eq(self._next(self._oldest))

    def clear(self):
        """Let every result go (in the current control context, while no unit runs)."""
        self._m.d.sync += self._oldest.eq(self._newest)
