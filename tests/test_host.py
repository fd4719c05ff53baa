"""The tile behind its AXI ports, driven only by cocotbext-axi (Verilator).

Every expectation comes from the register map (cimtile.spec.regmap) or the golden model; the
protocol checkers in the simulated top fail any run in which a port breaks an AXI rule.
"""

import dataclasses
import json

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from cocotbext.axi import AxiResp

from cimtile.behavioral.device import MemdiodeArray
from cimtile.models.golden import golden_batches, golden_mvm
from cimtile.models.program import Rectangle, program_golden
from cimtile.spec.axis_frames import pack_vectors
from cimtile.spec.config import parse_config
from cimtile.spec.config_physics import AnalogConfig
from cimtile.spec.host_driver import write_verify_writes
from cimtile.spec.mapping import random_operands, weight_levels
from cimtile.spec.regmap import REGISTERS, Access, ErrorCause, Mode, register
from cimtile.tb.build.sim_top import Design, signature_ports
from cimtile.tb.transport.exchange import SimulationError
from cimtile.tb.runs.host_runner import Op, play
from cimtile.tb.tops.host_top import CheckedHost
from cimtile.tb.runs.runner import simulate

CFG = parse_config({
    "tile": dict(rows=12, cols=3, in_bits=6, w_bits=5, bits_per_cell=2, adc_bits=5,
                 adc_shift=0, cols_per_adc=2),
    "timing": dict(t_settle=2, t_adc=3),
    "host": dict(data_width=32),
})
BUDGET = 20_000
SETTINGS, STATUS, CTRL = register("SETTINGS"), register("STATUS"), register("CTRL")
IRQ_ENABLE, IRQ_STATUS = register("IRQ_ENABLE"), register("IRQ_STATUS")
UNMAPPED = 0xFFC


def operands(n, seed=0, cfg=CFG):
    return random_operands(cfg, n, np.random.default_rng(seed))


def settings(mode=Mode.COMPUTE, in_bits=CFG.tile.in_bits, adc_shift=0):
    return SETTINGS.pack(mode=int(mode), in_bits=in_bits, adc_shift=adc_shift)


def status(record):
    return STATUS.unpack(record["value"])


def test_reset_values_of_every_register():
    played = play(CFG, [Op.read(r.offset) for r in REGISTERS], {})
    for reg, record in zip(REGISTERS, played.records):
        expected = 0 if reg.access is Access.WO else reg.reset_value(CFG)
        assert record["resp"] == AxiResp.OKAY, reg.name
        assert record["value"] == expected, f"{reg.name}: {record['value']:#x}"


REFUSALS = [
    ("in_bits 0", SETTINGS.offset, settings(in_bits=0), AxiResp.SLVERR, ErrorCause.IN_BITS),
    ("in_bits above max", SETTINGS.offset, settings(in_bits=CFG.tile.in_bits + 1),
     AxiResp.SLVERR, ErrorCause.IN_BITS),
    ("adc_shift above max", SETTINGS.offset, settings(adc_shift=CFG.adc_shift_max + 1),
     AxiResp.SLVERR, ErrorCause.ADC_SHIFT),
    ("unknown mode", SETTINGS.offset, settings(mode=3), AxiResp.SLVERR, ErrorCause.MODE),
    ("start in compute mode", CTRL.offset, CTRL.pack(start=1), AxiResp.SLVERR,
     ErrorCause.MODE),
    ("read-only register", register("ID").offset, 0, AxiResp.SLVERR, ErrorCause.READ_ONLY),
    ("unmapped address", UNMAPPED, 1, AxiResp.DECERR, ErrorCause.NONE),
]


def test_every_refused_write_changes_nothing_and_is_flagged():
    ops = []
    for _, offset, value, _, _ in REFUSALS:
        ops += [Op.write(offset, value), Op.read(STATUS.offset), Op.read(SETTINGS.offset),
                Op.write(IRQ_STATUS.offset, IRQ_STATUS.pack(error=1)),
                Op.read(STATUS.offset)]
    ops.append(Op.read(UNMAPPED))
    played = play(CFG, ops, {})
    records = iter(played.records)
    for name, _, _, resp, cause in REFUSALS:
        write, flagged, kept, _, cleared = (next(records) for _ in range(5))
        assert write["resp"] == resp, name
        assert status(flagged)["error"] == (cause != ErrorCause.NONE), name
        assert status(flagged)["cause"] == cause, name
        assert kept["value"] == SETTINGS.reset_value(CFG), name
        assert status(cleared)["error"] == 0 and status(cleared)["cause"] == 0, name
    unmapped = next(records)
    assert unmapped["resp"] == AxiResp.DECERR and unmapped["value"] == 0


def test_settings_and_start_refused_while_busy():
    W, X = operands(12)
    program_mode = settings(mode=Mode.PROGRAM)
    ops = [Op.send("X", 12), Op.idle(40),
           Op.write(SETTINGS.offset, program_mode), Op.read(STATUS.offset),
           Op.write(register("WV_TOL").offset, 1),
           Op.collect(1, BUDGET), Op.read(STATUS.offset), Op.read(SETTINGS.offset)]
    played = play(CFG, ops, {"W": W, "X": X})
    _, _, refused, busy, wv_refused, results, idle, kept = played.records
    assert refused["resp"] == AxiResp.SLVERR and wv_refused["resp"] == AxiResp.SLVERR
    assert status(busy)["busy"] and status(busy)["cause"] == ErrorCause.BUSY
    assert (results["Y"] == golden_mvm(CFG, W, X)).all()
    assert not status(idle)["busy"]
    assert kept["value"] == SETTINGS.reset_value(CFG)


@pytest.mark.parametrize("model", ["ideal", "physical"])
def test_run_time_precision_between_batches(model):
    cfg = dataclasses.replace(CFG, analog=AnalogConfig(model=model))
    rng = np.random.default_rng(5)
    W, _ = operands(1, cfg=cfg)
    plan = [(6, 0), (3, 0), (1, 1), (4, cfg.adc_shift_max), (6, 1)]
    batches, ops, arrays = [], [], {"W": W, "seed": 9}
    for index, (in_bits, adc_shift) in enumerate(plan):
        X = rng.integers(-2 ** (in_bits - 1), 2 ** (in_bits - 1), (7, cfg.tile.rows))
        arrays[f"X{index}"] = X
        batches.append((X, in_bits, adc_shift))
        ops += [Op.write(SETTINGS.offset, settings(in_bits=in_bits, adc_shift=adc_shift)),
                Op.stream(f"X{index}", 7, BUDGET)]
    played = play(cfg, ops, arrays)
    expected = golden_batches(cfg, W, batches, seed=9)
    for index, Y in enumerate(expected):
        write, streamed = played.records[2 * index:2 * index + 2]
        assert write["resp"] == AxiResp.OKAY
        assert (streamed["Y"] == Y).all(), f"batch {index}: settings {plan[index]}"
    # Lossless settings reproduce X @ W exactly.
    if model == "ideal":
        assert (played.records[1]["Y"] == batches[0][0] @ W).all()


def test_random_gaps_back_pressure_and_long_batches_keep_their_framing():
    W, X = operands(60, seed=2)
    sizes = [1, 13, 2, 30, 14]
    ops = [Op.pauses(0.4, 5, 0.5, 9)]
    starts = np.cumsum([0] + sizes)
    arrays = {"W": W}
    for index, size in enumerate(sizes):
        arrays[f"X{index}"] = X[starts[index]:starts[index + 1]]
        ops.append(Op.stream(f"X{index}", size, 4 * BUDGET))
    played = play(CFG, ops, arrays)
    Y = np.concatenate([r["Y"] for r in played.records[1:]])
    assert [list(r["frame_vectors"]) for r in played.records[1:]] == [[s] for s in sizes]
    assert (Y == golden_mvm(CFG, W, X)).all()


def test_interrupt_on_done_and_clear():
    W, X = operands(3)
    ops = [Op.idle(5), Op.write(IRQ_ENABLE.offset, IRQ_ENABLE.pack(done=1)),
           Op.stream("X", 3, BUDGET), Op.wait_irq(100), Op.read(IRQ_STATUS.offset),
           Op.write(IRQ_STATUS.offset, IRQ_STATUS.pack(done=1)), Op.idle(3),
           Op.read(register("MVM_COUNT").offset)]
    played = play(CFG, ops, {"W": W, "X": X})
    before, _, _, irq, pending, _, after, count = played.records
    assert not before["irq"], "irq before anything was enabled and done"
    assert irq["irq"] and IRQ_STATUS.unpack(pending["value"])["done"] == 1
    assert not after["irq"], "irq stays high after IRQ_STATUS.done was cleared"
    assert count["value"] == 3


def _raw_frame(X, keep_zero_byte=None):
    data = np.frombuffer(pack_vectors(X, CFG.tile.in_bits, CFG.host.data_width), np.uint8)
    keep = np.ones(data.size, np.uint8)
    if keep_zero_byte is not None:
        keep[keep_zero_byte] = 0
    return data, keep


def test_bad_tkeep_and_early_tlast_drop_only_the_vector():
    W, X = operands(4, seed=3)
    beat = CFG.host.data_width // 8
    vector_bytes = -(-CFG.tile.rows // beat) * beat
    # TKEEP low on a byte of vector 1: vectors 0, 2 and 3 come back.
    data, keep = _raw_frame(X, keep_zero_byte=vector_bytes + 1)
    # A frame that ends one beat into a vector, then a good one.
    short, short_keep = _raw_frame(X[:2])
    ops = [Op.send_raw("data", "keep", BUDGET), Op.collect(1, BUDGET), Op.read(STATUS.offset),
           Op.write(IRQ_STATUS.offset, IRQ_STATUS.pack(error=1)),
           Op.send_raw("short", "short_keep", BUDGET), Op.stream("X", 4, BUDGET),
           Op.read(STATUS.offset)]
    arrays = {"W": W, "X": X, "data": data, "keep": keep,
              "short": short[:vector_bytes + beat], "short_keep": short_keep[:vector_bytes + beat]}
    played = play(CFG, ops, arrays)
    _, kept, keep_status, _, _, good, last_status = played.records
    expected = golden_mvm(CFG, W, X)
    assert (kept["Y"] == expected[[0, 2, 3]]).all()
    assert status(keep_status)["cause"] == ErrorCause.STREAM_KEEP
    # The early TLAST lost vector 1 of the short frame; vector 0 came back without TLAST,
    # so it leads the next frame.
    assert (good["Y"] == np.concatenate([expected[:1], expected])).all()
    assert status(last_status)["cause"] == ErrorCause.STREAM_LAST


def test_soft_reset_mid_batch_leaves_nothing_half_written():
    W, X = operands(8, seed=4)
    planes = CFG.tile.in_bits
    ops = [Op.send("X", 8),
           Op.soft_reset_after(2 * planes + 2, CTRL.offset, CTRL.pack(soft_reset=1), BUDGET),
           Op.collect(1, BUDGET), Op.read(STATUS.offset),
           Op.read(register("MVM_COUNT").offset), Op.collect(1, 2000),
           Op.stream("X", 8, BUDGET)]
    played = play(CFG, ops, {"W": W, "X": X})
    _, reset, cut, after, count, nothing, fresh = played.records
    expected = golden_mvm(CFG, W, X)
    assert reset["resp"] == AxiResp.OKAY
    # The cut batch ends with TLAST after whole vectors only, each the right result.
    assert not cut["timeout"] and 1 <= len(cut["Y"]) < len(X)
    assert (cut["Y"] == expected[:len(cut["Y"])]).all()
    assert not status(after)["busy"] and status(after)["error"] == 0
    assert count["value"] <= 1, "counters restart at the soft reset"
    assert nothing["timeout"] and len(nothing["Y"]) == 0, "a stale result followed"
    assert (fresh["Y"] == expected).all()


def test_program_then_read_back_through_the_ports():
    cfg = CFG.replace(rows=4, cols=2)
    W, _ = operands(1, seed=6, cfg=cfg)
    levels = weight_levels(W, cfg)
    rect = Rectangle.whole(cfg.tile.rows, cfg.cols_phys)
    ops = [Op.write(register(name).offset, value)
           for name, value in write_verify_writes(cfg.write_verify, rect)]
    ops += [Op.write(SETTINGS.offset, settings(mode=Mode.PROGRAM)),
            Op.program("targets", levels.size, 50 * BUDGET),
            Op.read(register("PULSE_COUNT").offset),
            Op.write(SETTINGS.offset, settings(mode=Mode.READ_BACK)),
            Op.program(None, levels.size, BUDGET),
            Op.read(register("PULSE_COUNT").offset)]
    played = play(cfg, ops, {"targets": levels.reshape(-1), "faults": np.zeros_like(levels),
                             "seed": 3})
    assert all(r["resp"] == AxiResp.OKAY for op, r in zip(ops, played.records)
               if op["op"] == "write")
    programmed, pulsed, readback, unchanged = (played.records[i] for i in (-5, -4, -2, -1))
    assert programmed["start_resp"] == readback["start_resp"] == AxiResp.OKAY
    expected = program_golden(
        MemdiodeArray(cfg.device, levels.shape, np.random.default_rng(3)), levels, rect,
        cfg.write_verify, bits_per_cell=cfg.tile.bits_per_cell, adc_bits=cfg.tile.adc_bits)
    assert (programmed["pulses"] == expected.pulses).all()
    assert (programmed["converged"] == expected.converged).all()
    assert pulsed["value"] == expected.pulses.sum() == played.arrays["pulses_applied"]
    # Read back: no target, no pulse; every cell answers the code its last verify read gave.
    assert unchanged["value"] == pulsed["value"] and (readback["pulses"] == 0).all()
    assert (readback["code"] == programmed["code"]).all()
    assert not readback["converged"].any()


def test_simulate_through_the_ports_matches_golden_in_physical_mode():
    cfg = dataclasses.replace(CFG, analog=AnalogConfig(model="physical"))
    W, X = operands(10, seed=8, cfg=cfg)
    result = simulate(cfg, W, X)
    assert result.golden_mismatches == 0
    assert result.cycles_per_mvm == cfg.analog_cycles_per_mvm


def test_random_register_traffic_never_hangs_and_soft_reset_recovers():
    """Every access of a random sequence is answered; a soft reset then returns the tile to
    work whatever state the sequence left it in (e.g. programming, waiting for targets)."""
    rng = np.random.default_rng(11)
    W, X = operands(5, seed=12)
    offsets = [r.offset for r in REGISTERS] + [UNMAPPED, 0x050, 0x07C]
    ops = []
    for _ in range(80):
        offset = int(rng.choice(offsets))
        if rng.random() < 0.4:
            ops.append(Op.read(offset))
        else:
            first = int(rng.integers(0, 4))
            last = int(rng.integers(first, 4))
            strobe = sum(1 << lane for lane in range(first, last + 1))
            ops.append(Op.write(offset, int(rng.integers(0, 2 ** 32)), strobe))
    ops += [Op.write(CTRL.offset, CTRL.pack(soft_reset=1)),
            Op.write(SETTINGS.offset, SETTINGS.reset_value(CFG)),
            Op.stream("X", 5, BUDGET)]
    played = play(CFG, ops, {"W": W, "X": X})
    assert all(r["resp"] in (AxiResp.OKAY, AxiResp.SLVERR, AxiResp.DECERR)
               for r in played.records[:-1])
    assert played.records[-2]["resp"] == AxiResp.OKAY
    assert (played.records[-1]["Y"] == golden_mvm(CFG, W, X)).all()


class StretchedSample(wiring.Component):
    """The simulated host top with a fault: ``analog__sample`` held high for two cycles."""

    def __init__(self, config):
        self.checked = CheckedHost(config)
        super().__init__(dict(self.checked.signature.members))

    def elaborate(self, platform):
        m = Module()
        m.submodules.checked = checked = self.checked
        late = Signal()
        m.d.sync += late.eq(checked.analog.sample)
        for (path, member, outer), (_, _, inner) in zip(self.signature.flatten(self),
                                                        checked.signature.flatten(checked)):
            if path == ("analog", "sample"):
                m.d.comb += outer.eq(inner | late)
            elif member.flow == wiring.Out:
                m.d.comb += outer.eq(inner)
            else:
                m.d.comb += inner.eq(outer)
        return m


def stretched_sample_verilog(config):
    return verilog.convert(StretchedSample(config), name="cim_host_stretched", emit_src=False)


def stretched_sample_ports(config):
    return signature_ports(StretchedSample(config))


def test_analog_timing_breach_fails_the_run_naming_request_and_cycle():
    W, X = operands(2, seed=6)
    with pytest.raises(SimulationError, match=r"analog__sample of request 1 \(cycle \d+\) "
                                              r"stayed high for 2 cycles, not 1"):
        play(CFG, [Op.stream("X", 1, BUDGET)], {"W": W, "X": X},
             top=Design("cim_host_stretched", (stretched_sample_verilog,),
                        stretched_sample_ports))


def test_one_vector_through_the_command_line(tmp_path, capsys):
    from cimtile.cli import main
    W, X = operands(1, seed=9)
    (tmp_path / "tile.toml").write_text(
        "[tile]\nrows = 12\ncols = 3\nin_bits = 6\nw_bits = 5\nbits_per_cell = 2\n"
        "adc_bits = 5\nadc_shift = 0\ncols_per_adc = 2\n[timing]\nt_settle = 2\nt_adc = 3\n"
        "[host]\ndata_width = 32\n")
    np.save(tmp_path / "W.npy", W)
    np.save(tmp_path / "X.npy", X)
    status = main(["sim", "--config", str(tmp_path / "tile.toml"), "--weights",
                   str(tmp_path / "W.npy"), "--inputs", str(tmp_path / "X.npy"), "--out",
                   str(tmp_path / "Y.npy"), "--json"])
    assert status == 0, capsys.readouterr().err
    report = json.loads(capsys.readouterr().out)
    assert report["mvms"] == 1 and report["golden_mismatches"] == 0
    # The latency of the one vector from its first sample request (after the first plane's
    # settling): the rest of its planes, then shift-and-add and the output path.
    latency = report["cycles_per_mvm"]
    assert CFG.analog_cycles_per_mvm - CFG.timing.t_settle <= latency < report["cycles_total"]
    assert (np.load(tmp_path / "Y.npy") == golden_mvm(CFG, W, X)).all()


def test_soft_reset_while_a_result_beat_is_stalled_keeps_the_beat():
    # One-column results are one beat each, so the stalled beat is its item's last, without
    # TLAST inside an 8-vector frame: the soft reset must neither change it (the checker in
    # the simulated top watches every stalled cycle) nor leave the frame open.
    cfg = CFG.replace(cols=1)
    W, X = operands(8, seed=13, cfg=cfg)
    planes = cfg.tile.in_bits
    ops = [Op.pauses(out_prob=1.0, out_max=3000), Op.send("X", 8),
           Op.soft_reset_after(2 * planes, CTRL.offset, CTRL.pack(soft_reset=1), BUDGET),
           Op.collect(1, 200_000), Op.pauses(), Op.stream("X", 8, BUDGET)]
    played = play(cfg, ops, {"W": W, "X": X})
    _, _, reset, cut, _, fresh = played.records
    expected = golden_mvm(cfg, W, X)
    assert reset["resp"] == AxiResp.OKAY
    assert not cut["timeout"] and 1 <= len(cut["Y"]) < len(X)
    assert (cut["Y"] == expected[:len(cut["Y"])]).all()
    assert (fresh["Y"] == expected).all()
