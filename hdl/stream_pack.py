"""AXI4-Stream beats to and from the tile's one-item-per-transfer streams.

Packing (the host contract): little-endian, element 0 in the lowest lane; an element of
width ``w`` occupies a lane of ``8 * ceil(w / 8)`` bits. Every vector starts on a beat boundary
and its last beat is padded with zeros; target levels and cell results are dense lanes,
padded only after the last one.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Shape, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .axi_stream import AxiStreamSignature
from .parameters import refused

__all__ = ["lane_width", "vector_layout", "CELL_LANE_LAYOUT",
           "BeatsToVectors", "VectorsToBeats", "BeatsToLanes", "LanesToBeats"]

#: One per-cell result lane on the cell-result stream.
CELL_LANE_LAYOUT = data.FlexibleLayout(32, {
    "pulses": data.Field(unsigned(8), 0),
    "converged": data.Field(unsigned(1), 8),
    "code": data.Field(unsigned(16), 16),
})


def lane_width(element_width):
    """Bits of the byte-aligned lane that carries an element of `element_width` bits."""
    return 8 * -(-element_width // 8)


def vector_layout(element_shape, count):
    """Payload of a vector stream: the elements and the batch's ``last`` flag."""
    return data.StructLayout({
        "vector": data.ArrayLayout(element_shape, count),
        "last": unsigned(1),
    })


def _check_positive(name, value):
    if not isinstance(value, int) or value <= 0:
        raise TypeError(f"{name} must be a positive integer, not {value!r}")


def _check_vector_params(data_width, element_width, count):
    # The signature validates data_width; the others are checked here, before it is built.
    _check_positive("element_width", element_width)
    _check_positive("count", count)
    return lane_width(element_width), -(-count * lane_width(element_width) // data_width)


class BeatsToVectors(wiring.Component):
    """Collects AXI4-Stream beats into vectors, one vector per output transfer.

    The beats of a vector are shifted into one register, which is also the output payload,
    so the block holds one vector; it accepts a beat every cycle while the output is ready
    and stalls (``tready`` low) while a finished vector waits.

    A vector is dropped whole when any byte that carries element bits has ``tkeep`` 0
    (``keep_error``); bytes of the last beat past the elements are padding whose content and
    ``tkeep`` are ignored. ``tlast`` on a beat that is not a vector's last beat drops the
    partial vector (``last_error``), and the next beat starts a new vector. Both error
    outputs are high for the one cycle after the offending beat.

    Parameters
    ----------
    data_width : int
        ``tdata`` width; a positive multiple of 8.
    element_width : int
        Element width ``w``: the element is the low ``w`` bits of its lane.
    count : int
        Elements per vector.
    signed : bool
        Whether the output elements are ``signed(w)`` (else ``unsigned(w)``).

    Members
    -------
    i_axis : ``In(AxiStreamSignature(data_width, keep=True))``
    o_stream : ``Out(stream.Signature(vector_layout(element, count)))``
        ``last`` is the ``tlast`` of the vector's last beat.
    keep_error, last_error : ``Out(1)``
    """

    def __init__(self, data_width, element_width, count, *, signed=False):
        axis = AxiStreamSignature(data_width, keep=True)
        self.lane_width, self.beats = _check_vector_params(data_width, element_width, count)
        self.data_width, self.element_width, self.count = data_width, element_width, count
        shape = Shape(element_width, signed=signed)
        super().__init__({
            "i_axis": In(axis),
            "o_stream": Out(stream.Signature(vector_layout(shape, count))),
            "keep_error": Out(1),
            "last_error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        dw, w, lane, beats = self.data_width, self.element_width, self.lane_width, self.beats
        axis, out = self.i_axis, self.o_stream
        # Bytes of the vector's last beat that carry element bits.
        tail_bytes = (self.count * lane) // 8 - (beats - 1) * (dw // 8)
        last_mask = Const((1 << tail_bytes) - 1, dw // 8)

        shift = Signal(beats * dw, reset_less=True)
        index = Signal(range(beats))
        full = Signal()
        last = Signal()
        bad = Signal()              # an earlier beat of this vector lacked a data byte
        final = Signal()
        required = Signal(dw // 8)
        missing = Signal()
        m.d.comb += [
            final.eq(index == beats - 1),
            required.eq(Mux(final, last_mask, (1 << dw // 8) - 1)),
            missing.eq((~axis.tkeep & required).any()),
            axis.tready.eq(~full | out.ready),
            out.valid.eq(full),
            out.payload.vector.eq(Cat(*(shift[e * lane:e * lane + w]
                                        for e in range(self.count)))),
            out.payload.last.eq(last),
        ]

        m.d.sync += [self.keep_error.eq(0), self.last_error.eq(0)]
        with m.If(out.valid & out.ready):
            m.d.sync += full.eq(0)
        with m.If(axis.tvalid & axis.tready):
            m.d.sync += shift.eq(Cat(shift[dw:], axis.tdata))
            with m.If(final):
                m.d.sync += [index.eq(0), bad.eq(0)]
                with m.If(bad | missing):
                    m.d.sync += self.keep_error.eq(1)
                with m.Else():
                    m.d.sync += [full.eq(1), last.eq(axis.tlast)]
            with m.Elif(axis.tlast):
                m.d.sync += [index.eq(0), bad.eq(0), self.last_error.eq(1)]
            with m.Else():
                m.d.sync += [index.eq(index + 1), bad.eq(bad | missing)]
        return m


class VectorsToBeats(wiring.Component):
    """Sends result vectors as AXI4-Stream beats, each element sign-extended to its lane.

    The vector is loaded into a register that shifts out one beat per transfer; the last beat
    is padded with zeros and carries ``tlast`` when the vector's ``last`` is set. The next
    vector is taken in the cycle its predecessor's last beat leaves, so beats flow every
    cycle while the receiver is ready.

    Parameters
    ----------
    data_width : int
        ``tdata`` width; a positive multiple of 8.
    element_width : int
        Width of the signed elements.
    count : int
        Elements per vector.

    Members
    -------
    i_stream : ``In(stream.Signature(vector_layout(signed(element_width), count)))``
    o_axis : ``Out(AxiStreamSignature(data_width, keep=False))``
    """

    def __init__(self, data_width, element_width, count):
        axis = AxiStreamSignature(data_width, keep=False)
        self.lane_width, self.beats = _check_vector_params(data_width, element_width, count)
        self.data_width, self.element_width, self.count = data_width, element_width, count
        super().__init__({
            "i_stream": In(stream.Signature(vector_layout(signed(element_width), count))),
            "o_axis": Out(axis),
        })

    def elaborate(self, platform):
        m = Module()
        dw, w, lane, beats = self.data_width, self.element_width, self.lane_width, self.beats
        vector, axis = self.i_stream.payload.vector, self.o_axis

        shift = Signal(beats * dw, reset_less=True)
        index = Signal(range(beats))
        full = Signal()
        last = Signal()
        final = Signal()
        raw = vector.as_value()
        lanes = Cat(*(Cat(raw[e * w:(e + 1) * w], raw[(e + 1) * w - 1].replicate(lane - w))
                      for e in range(self.count)))
        m.d.comb += [
            final.eq(index == beats - 1),
            axis.tvalid.eq(full),
            axis.tdata.eq(shift[:dw]),
            axis.tlast.eq(last & final),
            self.i_stream.ready.eq(~full | (final & axis.tready)),
        ]
        with m.If(axis.tvalid & axis.tready):
            m.d.sync += shift.eq(shift[dw:])
            with m.If(final):
                m.d.sync += [full.eq(0), index.eq(0)]
            with m.Else():
                m.d.sync += index.eq(index + 1)
        with m.If(self.i_stream.valid & self.i_stream.ready):
            m.d.sync += [shift.eq(lanes), full.eq(1), last.eq(self.i_stream.payload.last),
                         index.eq(0)]
        return m


def _check_lane_params(data_width, lane):
    if data_width % lane:
        raise ValueError(f"data_width must be a multiple of the {lane}-bit lane, "
                         f"not {data_width}")
    return data_width // lane


class BeatsToLanes(wiring.Component):
    """Splits AXI4-Stream beats into dense lanes, one element per output transfer.

    Used for target levels: a run (the programmed rectangle) is a dense sequence of lanes,
    padded only after its last one, with ``tlast`` on the beat holding the last lane. The
    consumer says which lane is the run's last with ``last``, sampled at the output transfer
    (the tile's ``prog_fetch_last``). After that lane the rest of the beat is padding and the
    next beat starts the next run.

    Errors (each high for one cycle): a lane with any ``tkeep`` bit 0 is dropped with the
    rest of its beat, flagged ``keep_error``, or ``last_error`` when the beat has ``tlast``
    (the frame ended early); a beat with ``tlast`` that runs out before the run's last lane
    (``last_error``, early); the run's last lane on a beat without ``tlast`` (``last_error``,
    late; the next beat still starts afresh). The block never waits for anything but the
    consumer's ``ready`` and the host's ``tvalid``, so no sequence of beats can hang it.

    Parameters
    ----------
    data_width : int
        ``tdata`` width; a positive multiple of the lane.
    element_width : int
        Element width ``w``: the element is the low ``w`` bits of its lane of
        ``8 * ceil(w / 8)`` bits.

    Members
    -------
    i_axis : ``In(AxiStreamSignature(data_width, keep=True))``
    o_stream : ``Out(stream.Signature(unsigned(element_width)))``
    last : ``In(1)``
        The lane being taken is the run's last.
    keep_error, last_error : ``Out(1)``
    """

    def __init__(self, data_width, element_width):
        axis = AxiStreamSignature(data_width, keep=True)
        _check_positive("element_width", element_width)
        self.lane_width = lane_width(element_width)
        self.lanes = _check_lane_params(data_width, self.lane_width)
        self.data_width, self.element_width = data_width, element_width
        super().__init__({
            "i_axis": In(axis),
            "o_stream": Out(stream.Signature(unsigned(element_width))),
            "last": In(1),
            "keep_error": Out(1),
            "last_error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        lane, lane_bytes = self.lane_width, self.lane_width // 8
        axis, out = self.i_axis, self.o_stream

        # The beat shifts down one lane per element, so lane 0 is always the current one.
        tdata = Signal(self.data_width, reset_less=True)
        tkeep = Signal(self.data_width // 8, reset_less=True)
        tlast = Signal()
        index = Signal(range(self.lanes))
        full = Signal()
        kept = Signal()
        done = Signal()             # the beat is finished this cycle
        m.d.comb += [
            kept.eq(tkeep[:lane_bytes].all()),
            out.valid.eq(full & kept),
            out.payload.eq(tdata[:self.element_width]),
            axis.tready.eq(~full | done),
        ]

        m.d.sync += [self.keep_error.eq(0), self.last_error.eq(0)]
        with m.If(full & ~kept):
            m.d.comb += done.eq(1)
            m.d.sync += [self.keep_error.eq(~tlast), self.last_error.eq(tlast)]
        with m.Elif(out.valid & out.ready):
            with m.If(self.last):
                m.d.comb += done.eq(1)
                m.d.sync += self.last_error.eq(~tlast)
            with m.Elif(index == self.lanes - 1):
                m.d.comb += done.eq(1)
                m.d.sync += self.last_error.eq(tlast)
            with m.Else():
                m.d.sync += [tdata.eq(tdata[lane:]), tkeep.eq(tkeep[lane_bytes:]),
                             index.eq(index + 1)]
        with m.If(done):
            m.d.sync += full.eq(0)
        with m.If(axis.tvalid & axis.tready):
            m.d.sync += [tdata.eq(axis.tdata), tkeep.eq(axis.tkeep), tlast.eq(axis.tlast),
                         index.eq(0), full.eq(1)]
        return m


class LanesToBeats(wiring.Component):
    """Packs a stream of lanes densely into AXI4-Stream beats.

    Used for per-cell results: each item fills the next lane; an item with ``last`` set
    closes the beat (remaining lanes zero) and gives it ``tlast``. A lane is taken every cycle
    while the receiver is ready.

    Parameters
    ----------
    data_width : int
        ``tdata`` width; a multiple of the lane width.
    lane_shape : shape-like
        Shape of one lane (e.g. :data:`CELL_LANE_LAYOUT`); its width a multiple of 8.

    Members
    -------
    i_stream : ``In(stream.Signature(StructLayout({"lane": lane_shape, "last": 1})))``
    o_axis : ``Out(AxiStreamSignature(data_width, keep=False))``
    """

    def __init__(self, data_width, lane_shape):
        try:
            axis = AxiStreamSignature(data_width, keep=False)
            lane = Shape.cast(lane_shape).width
            if lane <= 0 or lane % 8:
                raise ValueError(f"lane width must be a positive multiple of 8, not {lane}")
            self.lanes = _check_lane_params(data_width, lane)
        except (TypeError, ValueError) as error:
            raise refused(self, error) from None
        self.lane_width = lane
        self.data_width = data_width
        super().__init__({
            "i_stream": In(stream.Signature(data.StructLayout({
                "lane": lane_shape, "last": unsigned(1)}))),
            "o_axis": Out(axis),
        })

    def elaborate(self, platform):
        m = Module()
        axis, inp = self.o_axis, self.i_stream
        tdata = Signal(self.data_width, reset_less=True)
        index = Signal(range(self.lanes))
        full = Signal()
        tlast = Signal()
        lane = Signal(self.lane_width)
        m.d.comb += [
            lane.eq(inp.payload.lane),
            axis.tvalid.eq(full),
            axis.tdata.eq(tdata),
            axis.tlast.eq(tlast),
            inp.ready.eq(~full | axis.tready),
        ]
        with m.If(axis.tvalid & axis.tready):
            m.d.sync += full.eq(0)
        with m.If(inp.valid & inp.ready):
            # The first lane of a beat clears the rest, so a closed beat is zero-padded.
            with m.If(index == 0):
                m.d.sync += tdata.eq(lane)
            with m.Else():
                m.d.sync += tdata.word_select(index, self.lane_width).eq(lane)
            with m.If(inp.payload.last | (index == self.lanes - 1)):
                m.d.sync += [full.eq(1), tlast.eq(inp.payload.last), index.eq(0)]
            with m.Else():
                m.d.sync += index.eq(index + 1)
        return m
