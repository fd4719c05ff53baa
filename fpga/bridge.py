"""The UART bridge's framing engine: bytes in, AXI4-Lite and AXI4-Stream transactions out.

The protocol is documented in :mod:`cimtile.fpga.protocol`. The engine handles one request
at a time: the host waits for each answer before sending the next request, so nothing but
the UART receiver's FIFO has to buffer bytes.
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ..hdl.axi_lite import AxiLiteSignature, AxiResp
from ..hdl.axi_stream import AxiStreamSignature
from .protocol import HEADER_BYTES, LAST, Command, Status
from .uart import UARTRx, UARTTx, check_divisor

__all__ = ["Bridge", "UARTBridge"]


class Bridge(wiring.Component):
    """Framing engine of the UART bridge.

    Parameters
    ----------
    addr_width : int
        AXI4-Lite byte address width.
    sources : dict of str to int
        Streams the bridge sends on, by name, with their ``tdata`` widths; stream number
        ``i`` of ``STREAM_WRITE`` is the ``i``-th entry. Each becomes a member
        ``m_axis_<name>`` (with ``tkeep``, all ones).
    sinks : dict of str to int
        Streams the bridge receives from; members ``s_axis_<name>`` (with ``tkeep``). A
        null beat (``tkeep`` all low: a packet end without data, as the host tile sends to
        close a frame after a soft reset) is consumed without being answered as data, and
        flagged by status ``NULL``.
    info : bytes
        Descriptor answered to ``INFO``.
    timeout : int
        Cycles without progress after which a downstream wait is given up (status
        ``TIMEOUT``) or a half-received request is dropped.

    Members
    -------
    i_stream : ``In(stream.Signature(8))``
        Request bytes from the UART receiver.
    o_stream : ``Out(stream.Signature(8))``
        Answer bytes to the UART transmitter.
    m_axil : ``Out(AxiLiteSignature(addr_width=addr_width, data_width=32))``
        Register initiator (``awprot`` and ``arprot`` 0: unprivileged, secure, data).
    """

    def __init__(self, *, addr_width, sources, sinks, info, timeout):
        if not isinstance(timeout, int) or timeout < 2:
            raise ValueError(f"timeout must be an integer of at least 2 cycles, "
                             f"not {timeout!r}")
        if not sources or not sinks:
            raise ValueError("the bridge needs at least one source and one sink stream")
        if not info:
            raise ValueError("info must hold at least one byte")
        self.addr_width, self.timeout = addr_width, timeout
        self.sources, self.sinks = dict(sources), dict(sinks)
        self.info = bytes(info)
        super().__init__({
            "i_stream": In(stream.Signature(8)),
            "o_stream": Out(stream.Signature(8)),
            **self.downstream_members(addr_width, self.sources, self.sinks),
        })

    @staticmethod
    def downstream_members(addr_width, sources, sinks):
        """The signature members toward the tile: ``m_axil``, ``m_axis_<source>``,
        ``s_axis_<sink>``."""
        members = {"m_axil": Out(AxiLiteSignature(addr_width=addr_width, data_width=32))}
        for name, width in sources.items():
            members[f"m_axis_{name}"] = Out(AxiStreamSignature(width, keep=True))
        for name, width in sinks.items():
            members[f"s_axis_{name}"] = In(AxiStreamSignature(width, keep=True))
        return members

    def elaborate(self, platform):
        m = Module()
        sources = [getattr(self, f"m_axis_{name}") for name in self.sources]
        sinks = [getattr(self, f"s_axis_{name}") for name in self.sinks]
        source_bytes = [width // 8 for width in self.sources.values()]
        sink_bytes = [width // 8 for width in self.sinks.values()]
        unit_max = max(4, *source_bytes, *sink_bytes)
        axil, rx, tx = self.m_axil, self.i_stream, self.o_stream

        header = Signal(8 * HEADER_BYTES)
        header_n = Signal(range(HEADER_BYTES))
        cmd, field, count = header[0:8], header[8:40], header[40:56]
        addr = Signal(32)
        left = Signal(16)                       # words or beats still to do
        stream_n = Signal(range(max(len(sources), len(sinks))))
        buf = Signal(8 * unit_max)              # the word or beat being assembled or sent
        unit = Signal(range(unit_max + 1))      # its bytes
        byte_n = Signal(range(unit_max))
        rx_left = Signal(16 + unit_max.bit_length())    # payload bytes still to consume
        tx_left = Signal(16 + unit_max.bit_length())    # data bytes still to answer
        status = Signal(8)
        aw_done, w_done = Signal(), Signal()

        # Watchdog: cycles since the last handshake on any port.
        idle = Signal(range(self.timeout))
        progress = Signal()
        expired = idle == self.timeout - 1
        m.d.sync += idle.eq(Mux(progress, 0, idle + 1))
        m.d.comb += progress.eq((rx.valid & rx.ready) | (tx.valid & tx.ready))

        push_ready, pull_valid, pull_last, pull_null = Signal(), Signal(), Signal(), Signal()
        pull_data = Signal(len(buf))
        with m.Switch(stream_n):
            for i in range(max(len(sources), len(sinks))):
                with m.Case(i):
                    if i < len(sources):
                        m.d.comb += push_ready.eq(sources[i].tready)
                    if i < len(sinks):
                        m.d.comb += [pull_valid.eq(sinks[i].tvalid),
                                     pull_last.eq(sinks[i].tlast),
                                     pull_null.eq(sinks[i].tkeep == 0),
                                     pull_data.eq(sinks[i].tdata)]
        for source in sources:
            m.d.comb += [source.tdata.eq(buf), source.tkeep.eq(-1),
                         source.tlast.eq(cmd[4] & (left == 1))]
        m.d.comb += [
            axil.awaddr.eq(addr), axil.araddr.eq(addr),
            axil.awprot.eq(0), axil.arprot.eq(0),
            axil.wdata.eq(buf[:32]), axil.wstrb.eq(0xF),
            tx.payload.eq(buf.word_select(byte_n, 8)),
        ]
        info = Array(Const(byte, 8) for byte in self.info)

        def receive_unit(then):
            m.d.comb += rx.ready.eq(1)
            with m.If(rx.valid):
                m.d.sync += [buf.word_select(byte_n, 8).eq(rx.payload),
                             rx_left.eq(rx_left - 1)]
                with m.If(byte_n == unit - 1):
                    m.d.sync += byte_n.eq(0)
                    m.next = then
                with m.Else():
                    m.d.sync += byte_n.eq(byte_n + 1)
            with m.Elif(expired):
                m.next = "HEADER"           # the host broke the request off

        def send_unit(then):
            m.d.comb += tx.valid.eq(1)
            with m.If(tx.ready):
                m.d.sync += tx_left.eq(tx_left - 1)
                with m.If(byte_n == unit - 1):
                    m.d.sync += byte_n.eq(0)
                    next_unit(then)
                with m.Else():
                    m.d.sync += byte_n.eq(byte_n + 1)

        def next_unit(then):
            m.d.sync += left.eq(left - 1)
            with m.If(left == 1):
                m.next = "STATUS"
            with m.Else():
                m.next = then

        def start(first, units, per_unit):
            m.d.sync += [unit.eq(per_unit), units.eq(count * per_unit)]
            m.next = first
            with m.If(count == 0):
                m.next = "STATUS"

        def give_up(then):
            with m.If(expired):
                m.d.sync += status.eq(status | Status.TIMEOUT)
                m.next = then

        with m.FSM(name="bridge"):
            with m.State("HEADER"):
                m.d.comb += rx.ready.eq(1)
                with m.If(rx.valid):
                    m.d.sync += [header.eq(Cat(header[8:], rx.payload)),
                                 header_n.eq(header_n + 1)]
                    with m.If(header_n == HEADER_BYTES - 1):
                        m.d.sync += header_n.eq(0)
                        m.next = "DISPATCH"
                with m.Elif(expired):
                    m.d.sync += header_n.eq(0)

            with m.State("DISPATCH"):
                m.d.comb += progress.eq(1)
                m.d.sync += [status.eq(Status.OK), addr.eq(field), left.eq(count),
                             stream_n.eq(field), byte_n.eq(0),
                             aw_done.eq(0), w_done.eq(0)]
                with m.If(cmd == Command.INFO):
                    m.d.sync += tx_left.eq(len(info))
                    m.next = "INFO"
                with m.Elif(cmd == Command.REG_WRITE):
                    start("W_RECV", rx_left, 4)
                with m.Elif(cmd == Command.REG_READ):
                    start("R_ADDR", tx_left, 4)
                with m.Elif(((cmd & ~LAST) == Command.STREAM_WRITE)
                            & (field < len(sources))):
                    with m.Switch(field):
                        for i, width in enumerate(source_bytes):
                            with m.Case(i):
                                start("S_RECV", rx_left, width)
                with m.Elif((cmd == Command.STREAM_READ) & (field < len(sinks))):
                    with m.Switch(field):
                        for i, width in enumerate(sink_bytes):
                            with m.Case(i):
                                start("S_WAIT", tx_left, width)
                with m.Else():
                    m.d.sync += status.eq(Status.BAD_COMMAND)
                    m.next = "FLUSH"

            with m.State("INFO"):
                m.d.comb += [tx.valid.eq(1), tx.payload.eq(info[len(info) - tx_left])]
                with m.If(tx.ready):
                    m.d.sync += tx_left.eq(tx_left - 1)
                    with m.If(tx_left == 1):
                        m.next = "STATUS"

            with m.State("W_RECV"):
                receive_unit("W_ADDR")
            with m.State("W_ADDR"):
                m.d.comb += [axil.awvalid.eq(~aw_done), axil.wvalid.eq(~w_done)]
                with m.If(axil.awready & ~aw_done):
                    m.d.comb += progress.eq(1)
                    m.d.sync += aw_done.eq(1)
                with m.If(axil.wready & ~w_done):
                    m.d.comb += progress.eq(1)
                    m.d.sync += w_done.eq(1)
                with m.If((aw_done | axil.awready) & (w_done | axil.wready)):
                    m.d.sync += [aw_done.eq(0), w_done.eq(0)]
                    m.next = "W_RESP"
                give_up("DRAIN")
            with m.State("W_RESP"):
                m.d.comb += axil.bready.eq(1)
                with m.If(axil.bvalid):
                    m.d.comb += progress.eq(1)
                    with m.If(axil.bresp != AxiResp.OKAY):
                        m.d.sync += status.eq(status | Status.ERROR)
                    m.d.sync += addr.eq(addr + 4)
                    next_unit("W_RECV")
                give_up("DRAIN")

            with m.State("R_ADDR"):
                m.d.comb += axil.arvalid.eq(1)
                with m.If(axil.arready):
                    m.d.comb += progress.eq(1)
                    m.next = "R_DATA"
                give_up("PAD")
            with m.State("R_DATA"):
                m.d.comb += axil.rready.eq(1)
                with m.If(axil.rvalid):
                    m.d.comb += progress.eq(1)
                    with m.If(axil.rresp != AxiResp.OKAY):
                        m.d.sync += status.eq(status | Status.ERROR)
                    m.d.sync += [buf.eq(axil.rdata), addr.eq(addr + 4)]
                    m.next = "R_SEND"
                give_up("PAD")
            with m.State("R_SEND"):
                send_unit("R_ADDR")

            with m.State("S_RECV"):
                receive_unit("S_PUSH")
            with m.State("S_PUSH"):
                with m.Switch(stream_n):
                    for i, source in enumerate(sources):
                        with m.Case(i):
                            m.d.comb += source.tvalid.eq(1)
                with m.If(push_ready):
                    m.d.comb += progress.eq(1)
                    next_unit("S_RECV")
                give_up("DRAIN")

            with m.State("S_WAIT"):
                with m.Switch(stream_n):
                    for i, sink in enumerate(sinks):
                        with m.Case(i):
                            m.d.comb += sink.tready.eq(1)
                with m.If(pull_valid & pull_null):
                    m.d.comb += progress.eq(1)
                    m.d.sync += status.eq(status | Status.NULL)
                with m.Elif(pull_valid):
                    m.d.comb += progress.eq(1)
                    m.d.sync += buf.eq(pull_data)
                    with m.If((left == 1) & pull_last):
                        m.d.sync += status.eq(status | Status.LAST)
                    m.next = "S_SEND"
                give_up("PAD")
            with m.State("S_SEND"):
                send_unit("S_WAIT")

            # After a timeout: consume the rest of the payload, or answer the rest of the
            # data as zeros, so that the host stays in step.
            with m.State("DRAIN"):
                m.d.comb += rx.ready.eq(rx_left != 0)
                with m.If((rx_left == 0) | expired):
                    m.next = "STATUS"
                with m.Elif(rx.valid):
                    m.d.sync += rx_left.eq(rx_left - 1)
            with m.State("PAD"):
                m.d.comb += [tx.valid.eq(tx_left != 0), tx.payload.eq(0)]
                with m.If(tx_left == 0):
                    m.next = "STATUS"
                with m.Elif(tx.ready):
                    m.d.sync += tx_left.eq(tx_left - 1)
            # An unknown request may carry a payload of unknown length: wait for the line
            # to fall quiet before answering, so that no payload byte is taken for a header.
            with m.State("FLUSH"):
                m.d.comb += rx.ready.eq(1)
                with m.If(expired):
                    m.next = "STATUS"

            with m.State("STATUS"):
                m.d.comb += [tx.valid.eq(1), tx.payload.eq(status)]
                with m.If(tx.ready):
                    m.next = "HEADER"
        return m


class UARTBridge(wiring.Component):
    """The bridge behind a UART: receiver, request FIFO, framing engine, transmitter.

    The FIFO holds the request bytes that keep arriving while the engine waits for the tile
    (a stream beat or a register access), so a request need not be paced by the host.

    Parameters
    ----------
    divisor : int
        Clock cycles per UART bit.
    fifo_depth : int
        Request bytes buffered.
    **bridge
        Parameters of :class:`Bridge`.

    Members
    -------
    rx : ``In(1, init=1)``
    tx : ``Out(1, init=1)``
        The serial lines.
    m_axil, m_axis_<source>, s_axis_<sink>
        As in :class:`Bridge`.
    """

    def __init__(self, *, divisor, fifo_depth=32, **bridge):
        self.divisor = check_divisor(divisor)
        self.fifo_depth = fifo_depth
        self._bridge = bridge
        super().__init__({
            "rx": In(1, init=1),
            "tx": Out(1, init=1),
            **Bridge.downstream_members(bridge["addr_width"], bridge["sources"],
                                        bridge["sinks"]),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart_rx = uart_rx = UARTRx(self.divisor)
        m.submodules.uart_tx = uart_tx = UARTTx(self.divisor)
        m.submodules.requests = requests = fifo.SyncFIFOBuffered(width=8,
                                                                 depth=self.fifo_depth)
        m.submodules.engine = engine = Bridge(**self._bridge)
        m.d.comb += [
            uart_rx.rx.eq(self.rx), self.tx.eq(uart_tx.tx),
            requests.w_data.eq(uart_rx.o_stream.payload),
            requests.w_en.eq(uart_rx.o_stream.valid),
            uart_rx.o_stream.ready.eq(requests.w_rdy),
            engine.i_stream.payload.eq(requests.r_data),
            engine.i_stream.valid.eq(requests.r_rdy),
            requests.r_en.eq(engine.i_stream.ready),
        ]
        wiring.connect(m, engine.o_stream, uart_tx.i_stream)
        for name in self.signature.members:
            if name not in ("rx", "tx"):
                port = getattr(self, name)
                wiring.connect(m, getattr(engine, name), wiring.flipped(port))
        return m
