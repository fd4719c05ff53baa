"""Formal checks (SymbiYosys on YoWASP tools): the quick subset of ``make formal`` on the
smallest tile, and proof that the properties catch broken designs with a readable
counterexample."""

import pytest
from amaranth.hdl import Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import Out

import cimtile.flows.formal.harness
import cimtile.hdl.chip_scoreboard
import cimtile.hdl.properties.chip_datapath
import cimtile.hdl.host
from cimtile.cli import main
from cimtile.flows.formal.__main__ import main as formal_main
from cimtile.flows.formal.checks import PROPERTY_SETS, PropertySet, formal_configs, run_check
from cimtile.flows.formal.harness import Harness, expose
from cimtile.flows.formal.sby import sby_script
from cimtile.flows.formal.trace import TraceError, cycle_table, read_vcd
from cimtile.hdl.axi_stream import AxiStreamSignature
from cimtile.hdl.chip_datapath import ChipDatapath
from cimtile.hdl.output_framer import OutputFramer
from cimtile.hdl.properties.axi_stream import axi_stream_rules
from cimtile.hdl.properties.handshake import valid_independent_of_ready
from cimtile.spec.config_derived import Config

MINIMAL = formal_configs()["minimal"]
#: Seconds any one check may take here, so that a solver that hangs fails the test.
TIMEOUT = 900


def _check(tmp_path, name, mode, config=MINIMAL, depth=None):
    pset = PROPERTY_SETS[name]
    return run_check(config, pset, mode, depth or pset.depth(config, mode), tmp_path / name,
                     timeout=TIMEOUT)


#: The sequencer's bounded check here: an instruction issued against one in flight takes 5
#: steps, and each step deeper about triples the solver's time (depth 8, ``make formal``:
#: about 3 minutes).
SEQUENCER_DEPTH = 5


@pytest.mark.parametrize("mode", ["bmc", "prove", "cover"])
def test_register_block(tmp_path, mode):
    result = _check(tmp_path, "axi_lite", mode)
    assert result.passed, result.details()
    if mode == "prove":
        # Only the rule that needs the write address held inside the block is bounded.
        assert result.skipped == ["s_axil__bresp_as_regmap"]


@pytest.mark.parametrize("name", ["host_streams", "tile", "tile_latency"])
def test_bounded(tmp_path, name):
    result = _check(tmp_path, name, "bmc")
    assert result.passed, result.details()


#: The minimal tile with one spare column: the remap registers and the table in the datapath.
SPARE = MINIMAL.replace(spare_cols=1)


@pytest.mark.parametrize("name, mode", [("axi_lite", "prove"), ("tile_latency", "bmc")])
def test_with_a_spare_column(tmp_path, name, mode):
    result = _check(tmp_path, name, mode, SPARE)
    assert result.passed, result.details()


@pytest.mark.parametrize("name", ["minimal_pipelined", "stepped_pipelined"])
def test_pipelined_latency_bound_holds_and_is_tight(tmp_path, monkeypatch, name):
    """The bound of Config.result_latency is proven to the default depth, and one cycle
    less is broken."""
    config = formal_configs()[name]
    pset = PROPERTY_SETS["tile_latency"]
    depth = pset.depth(config, "bmc")
    result = run_check(config, pset, "bmc", depth, tmp_path / "bound", timeout=TIMEOUT)
    assert result.passed, result.details()
    bound = Config.result_latency.fget
    monkeypatch.setattr(Config, "result_latency", property(lambda c: bound(c) - 1))
    shorter = run_check(config, pset, "bmc", depth, tmp_path / "shorter", timeout=TIMEOUT)
    assert [rule.name for rule in shorter.failed] == ["result_latency"], shorter.details()


def test_pipelined_tile_rules(tmp_path):
    result = _check(tmp_path, "tile", "bmc", formal_configs()["minimal_pipelined"])
    assert result.passed, result.details()


class _DropsValid(wiring.Component):
    """Offers a beat every other cycle whether or not it was taken: TVALID falls while
    stalled."""
    o: Out(AxiStreamSignature(32, keep=True))

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.o.tvalid.eq(~self.o.tvalid)
        m.d.comb += [self.o.tdata.eq(0x5A), self.o.tkeep.eq(0xF)]
        return m


class _StreamHarness(Harness):
    def build(self, m, rules, platform):
        m.submodules.dut = dut = _DropsValid()
        axi_stream_rules(rules, "o", expose(rules, dut).o)


def test_broken_stream_fails_with_counterexample(tmp_path):
    pset = PropertySet("broken", _StreamHarness, "a transmitter that drops TVALID",
                       {"bmc": lambda config: 8})
    result = run_check(MINIMAL, pset, "bmc", 8, tmp_path, timeout=TIMEOUT)
    assert not result.passed
    assert [rule.name for rule in result.failed] == ["o__valid_held_until_ready"]
    assert result.trace.is_file()
    header, *rows = result.table.splitlines()
    assert header.split() == ["cycle", "rst", "o__tvalid", "o__tready",
                              "past__o__stalled", "past__rst",
                              "assert__o__valid_held_until_ready"]
    # The last cycle breaks the rule: stalled before, TVALID low now.
    last = dict(zip(header.split(), rows[-1].split()))
    assert (last["past__o__stalled"], last["o__tvalid"],
            last["assert__o__valid_held_until_ready"]) == ("1", "0", "0")
    assert "broken: o__valid_held_until_ready" in result.details()
    assert str(result.trace) in result.details()


class _StalledTlastFramer(OutputFramer):
    """The framer as it was before the fix: on a soft reset it raises TLAST on the last beat
    of an item even while that beat is stalled on the bus."""

    def elaborate(self, platform):
        m = Module()
        beat = Signal(range(self.beats_per_item))
        frame_open = Signal()
        closing = Signal()
        last_beat = beat == self.beats_per_item - 1
        under_way = (beat != 0) | self.i.tvalid
        null_beat = closing & ~under_way & frame_open
        m.d.comb += [self.closing.eq(closing),
                     self.hold_reset.eq((closing | self.soft_reset) & ~under_way)]
        with m.If(null_beat):
            m.d.comb += [self.o.tvalid.eq(1), self.o.tlast.eq(1), self.o.tkeep.eq(0)]
        with m.Else():
            m.d.comb += [self.o.tdata.eq(self.i.tdata), self.o.tkeep.eq(self.i.tkeep),
                         self.o.tlast.eq(self.i.tlast | (closing & last_beat)),
                         self.o.tvalid.eq(self.i.tvalid), self.i.tready.eq(self.o.tready)]
        with m.If(self.o.tvalid & self.o.tready):
            m.d.sync += frame_open.eq(~self.o.tlast)
            with m.If(~null_beat):
                m.d.sync += beat.eq(beat + 1)
                with m.If(last_beat):
                    m.d.sync += beat.eq(0)
        with m.If(self.soft_reset):
            m.d.sync += closing.eq(1)
        with m.Elif(closing & ~under_way & (~frame_open | self.o.tready)):
            m.d.sync += closing.eq(0)
        return m


def test_old_framer_fails_on_stalled_beat(tmp_path, monkeypatch):
    monkeypatch.setattr(cimtile.hdl.host, "OutputFramer", _StalledTlastFramer)
    result = _check(tmp_path, "host_streams", "bmc")
    assert not result.passed
    names = [rule.name for rule in result.failed]
    assert len(names) == 1 and names[0].endswith("__tlast_stable_while_stalled"), names
    port = names[0].split("__")[0]
    header, *rows = result.table.splitlines()
    columns = header.split()
    assert "soft_reset" in columns
    cycles = [dict(zip(columns, row.split())) for row in rows]
    # The beat is stalled, a soft reset comes, and the stalled beat's TLAST rises.
    stalled, broken = cycles[-2], cycles[-1]
    assert (stalled[f"{port}__tvalid"], stalled[f"{port}__tready"],
            stalled[f"{port}__tlast"], stalled["soft_reset"]) == ("1", "0", "0", "1")
    assert (broken[f"{port}__tvalid"], broken[f"{port}__tlast"]) == ("1", "1")


@pytest.mark.parametrize("mode", ["bmc", "cover"])
def test_chip_sequencer(tmp_path, mode):
    result = _check(tmp_path, "chip_sequencer", mode,
                    depth=SEQUENCER_DEPTH if mode == "bmc" else None)
    assert result.passed, result.details()


#: The rules on what a command reads and writes against what is in flight.
SPAN_RULES = {"no_read_after_write", "no_write_after_write", "no_write_after_read"}


def test_sequencer_blind_to_spans_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(cimtile.hdl.chip_scoreboard, "_overlap", lambda a, b: Const(0))
    result = _check(tmp_path, "chip_sequencer", "bmc", depth=SEQUENCER_DEPTH)
    names = {rule.name for rule in result.failed}
    assert names and names <= SPAN_RULES, result.details()


#: The datapath's bounded check here: two MVMs, an ACC of two tiles and a MOVE fit, in
#: seconds (depth 20, ``make formal``: about a minute).
DATAPATH_DEPTH = 12


@pytest.mark.parametrize("mode", ["bmc", "cover"])
def test_chip_datapath(tmp_path, mode):
    result = _check(tmp_path, "chip_datapath", mode,
                    depth=DATAPATH_DEPTH if mode == "bmc" else None)
    assert result.passed, result.details()


def test_datapath_durations_are_tight(tmp_path, monkeypatch):
    """With every transfer a beat longer than the datapath takes, the rules on cycles
    break, and only they."""
    beats = cimtile.hdl.properties.chip_datapath._beats
    monkeypatch.setattr(cimtile.hdl.properties.chip_datapath, "_beats",
                        lambda length, bits, table: beats(length, bits, table) + 1)
    result = _check(tmp_path, "chip_datapath", "bmc", depth=8)
    names = [rule.name for rule in result.failed]
    assert names and all(name.endswith("_on_time") for name in names), result.details()


class _OffersTwice(ChipDatapath):
    """Offers tile 0's vector again while waiting for its result."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        with m.If(self.result[0].ready):
            m.d.comb += self.vector[0].valid.eq(1)
        return m


class _DropsDone(ChipDatapath):
    """Never raises tile 1's ``mvm_done``."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.mvm_done[1].eq(0)
        return m


@pytest.mark.parametrize("datapath, rule", [(_OffersTwice, "mvm_0_vector_for_a_command"),
                                            (_DropsDone, "mvm_1_done_with_result")])
def test_broken_datapath_fails(tmp_path, monkeypatch, datapath, rule):
    monkeypatch.setattr(cimtile.flows.formal.harness, "ChipDatapath", datapath)
    result = _check(tmp_path, "chip_datapath", "bmc", depth=8)
    assert [r.name for r in result.failed] == [rule], result.details()
    header, *rows = result.table.splitlines()
    last = dict(zip(header.split(), rows[-1].split()))
    assert last[f"assert__{rule}"] == "0"


class _WaitsForReady(wiring.Component):
    """Raises valid only once ready is high: a sender that waits for its receiver."""
    o: Out(stream.Signature(8))

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [self.o.valid.eq(self.o.ready), self.o.payload.eq(0x5A)]
        return m


class _TwinHarness(Harness):
    def build(self, m, rules, platform):
        m.submodules.dut = dut = _WaitsForReady()
        m.submodules.twin = twin = _WaitsForReady()
        ready = rules.free(1, "twin__o__ready")
        m.d.comb += twin.o.ready.eq(ready)
        port = expose(rules, dut).o
        valid_independent_of_ready(rules, "o", valid=port.valid, ready=port.ready,
                                   twin_valid=rules.named(twin.o.valid, "twin__o__valid"),
                                   twin_ready=ready)


def test_valid_waiting_for_ready_fails(tmp_path):
    pset = PropertySet("broken", _TwinHarness, "a sender whose valid waits for ready",
                       {"bmc": lambda config: 4})
    result = run_check(MINIMAL, pset, "bmc", 4, tmp_path, timeout=TIMEOUT)
    assert [rule.name for rule in result.failed] == ["o__valid_independent_of_ready"]
    header, *rows = result.table.splitlines()
    last = dict(zip(header.split(), rows[-1].split()))
    # The twins agreed so far; their readies differ now, and so do their valids.
    assert last["o__twin_agreed"] == "1"
    assert last["o__ready"] != last["twin__o__ready"]
    assert last["o__valid"] != last["twin__o__valid"]


def _formal(argv, capsys):
    status = main(["formal", *argv])
    return status, capsys.readouterr()


def _write_minimal(path):
    t = MINIMAL.tile
    path.write_text(
        "[tile]\n" + "".join(f"{k} = {getattr(t, k)}\n" for k in
                             ("rows", "cols", "in_bits", "w_bits", "bits_per_cell", "adc_bits",
                              "adc_shift", "cols_per_adc"))
        + "[timing]\nt_settle = 1\nt_adc = 1\n[host]\ndata_width = 32\n")
    return path


def test_command_runs_checks(tmp_path, capsys):
    config = _write_minimal(tmp_path / "tile.toml")
    status, out = _formal(["--config", str(config), "--set", "axi_lite", "--prove",
                           "--out", str(tmp_path / "out")], capsys)
    assert status == 0, out
    lines = out.out.splitlines()
    assert [line.split()[:5] for line in lines] == [
        ["PASS", "axi_lite", "depth", "16", "(bmc)"],
        ["PASS", "axi_lite", "depth", "4", "(prove)"],
        ["PASS", "axi_lite", "depth", "8", "(cover)"]]
    assert all(line.endswith(" s") for line in lines)


def test_command_refuses_file_as_out(tmp_path, capsys):
    config = _write_minimal(tmp_path / "tile.toml")
    status, out = _formal(["--config", str(config), "--out", str(config)], capsys)
    assert status == 2
    assert out.err == f"cimtile: error: {config}: --out must be a directory\n"


def test_make_formal_refuses_a_configuration_it_does_not_have(capsys):
    with pytest.raises(SystemExit) as stop:
        formal_main(["--config", "huge", "--set", "tile_latency"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "argument --config: invalid choice: 'huge'" in err
    assert "'stepped_pipelined'" in err


def test_sby_script_refuses_bad_mode_and_depth():
    with pytest.raises(ValueError, match=r"^mode must be one of bmc, prove, cover, not 'live'$"):
        sby_script(mode="live", depth=4, top="formal_top")
    with pytest.raises(ValueError, match=r"^depth must be a positive integer, not 0$"):
        sby_script(mode="bmc", depth=0, top="formal_top")


def test_trace_table(tmp_path):
    vcd = tmp_path / "trace.vcd"
    vcd.write_text("$version Generated by Yosys-SMTBMC $end\n$timescale 1ns $end\n"
                   "$var integer 32 t smt_step $end\n$var event 1 ! smt_clock $end\n"
                   "$scope module formal_top $end\n$var wire 1 n0 clk $end\n"
                   "$var wire 1 n1 rst $end\n$var wire 12 n2 data $end\n$upscope $end\n"
                   "$enddefinitions $end\n"
                   "#0\n1!\nb0 t\nb1 n0\nb1 n1\nb000000000000 n2\n#5\nb0 n0\n"
                   "#10\n1!\nb1 t\nb1 n0\nb0 n1\nb101010111100 n2\n#15\nb0 n0\n"
                   "#20\n1!\nb10 t\nb1 n0\n")
    trace = read_vcd(vcd)
    assert trace.cycles == 2
    assert cycle_table(trace, ["rst", "data", "absent"]).splitlines() == [
        "cycle  rst   data", "    0    1  0x000", "    1    0  0xabc"]
    (tmp_path / "bad.vcd").write_text("$enddefinitions $end\n")
    with pytest.raises(TraceError, match="not a yosys-smtbmc trace"):
        read_vcd(tmp_path / "bad.vcd")
