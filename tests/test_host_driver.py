"""The host driver's sequences, written once: the transactions they issue, what a refusal
means, and the same sequence answered by both co-simulation ports."""

import numpy as np
import pytest

from cimtile.models.program import Rectangle
from cimtile.spec import host_driver
from cimtile.spec.config import parse_config
from cimtile.spec.host_driver import Compute, Program, Read, Refused, Write, drive
from cimtile.spec.mapping import random_operands
from cimtile.spec.regmap import ErrorCause, Mode, register
from cimtile.tb.runs.host_runner import Op, play
from cimtile.tb.transport.exchange import SimulationError
from cimtile.tb.runs.runner import simulate

CFG = parse_config({
    "tile": dict(rows=12, cols=3, in_bits=6, w_bits=5, bits_per_cell=2, adc_bits=5,
                 adc_shift=0, cols_per_adc=2, spare_cols=2),
    "timing": dict(t_settle=2, t_adc=3),
    "host": dict(data_width=32),
})
STATUS = register("STATUS")


class RecordingPort:
    """Takes every transaction in order; refuses writes to the registers in `refuse` (then
    STATUS reads give `cause`), answers reads of REMAP_SPARE from `table`."""

    def __init__(self, refuse=(), cause=ErrorCause.NONE, table=None):
        self.seen, self.refuse, self.cause, self.table = [], set(refuse), cause, table
        self.selected = 0

    def write(self, name, word):
        self.seen.append(Write(name, word))
        if name == "REMAP_COL":
            self.selected = register("REMAP_COL").unpack(word)["col"]
        return name not in self.refuse

    def read(self, name):
        self.seen.append(Read(name))
        if name == "STATUS":
            return STATUS.pack(error=1, cause=int(self.cause))
        return register("REMAP_SPARE").pack(spare=int(self.table[self.selected]))

    def compute(self, batch):
        self.seen.append(batch)
        return "results"

    def program(self, run):
        self.seen.append(run)
        return "cells"


def test_compute_loads_the_remap_then_the_settings_then_sends_the_batch():
    remap = np.zeros(CFG.cols_data, np.int64)
    remap[2] = 1
    X = np.zeros((2, CFG.tile.rows), np.int64)
    port = RecordingPort()
    answer = drive(host_driver.compute(CFG, X, in_bits=4, remap=remap, frame_vectors=2), port)
    assert answer == "results"
    settings = register("SETTINGS").pack(mode=int(Mode.COMPUTE), in_bits=4, adc_shift=0)
    assert port.seen[:3] == [Write("REMAP_COL", register("REMAP_COL").pack(col=2)),
                             Write("REMAP_SPARE", register("REMAP_SPARE").pack(spare=1)),
                             Write("SETTINGS", settings)]
    batch = port.seen[3]
    assert (batch.in_bits, batch.adc_shift, batch.options) == (4, 0, {"frame_vectors": 2})
    assert batch.X is X and len(port.seen) == 4


def test_a_refused_write_stops_the_sequence_and_names_the_cause():
    port = RecordingPort(refuse={"SETTINGS"}, cause=ErrorCause.IN_BITS)
    word = register("SETTINGS").pack(mode=int(Mode.COMPUTE), in_bits=7, adc_shift=0)
    with pytest.raises(Refused, match=rf"^SETTINGS write 0x{word:08x} refused \(IN_BITS\)$"):
        drive(host_driver.compute(CFG, np.zeros((1, 12), np.int64), in_bits=7), port)
    assert port.seen == [Write("SETTINGS", word), Read("STATUS")]


def test_program_writes_the_settings_once_then_starts_each_run():
    rect = Rectangle(0, 1, 0, 1)
    port = RecordingPort()
    answers = drive(host_driver.program(CFG, np.arange(4), 4, CFG.write_verify, rect,
                                        runs=2, budget=9), port)
    assert answers == ["cells", "cells"]
    writes = [t.name for t in port.seen if isinstance(t, Write)]
    assert writes == ["WV_TOL", "WV_SET", "WV_RESET", "WV_PULSE", "WV_ROWS", "WV_COLS",
                      "SETTINGS"]
    runs = [t for t in port.seen if isinstance(t, Program)]
    assert len(runs) == 2 and runs[0].options == {"budget": 9} and runs[0].rect == rect
    assert not any(isinstance(t, Compute) for t in port.seen)


def test_read_remap_selects_and_reads_every_entry():
    table = np.arange(CFG.cols_data) % 3
    port = RecordingPort(table=table)
    got = drive(host_driver.read_remap(CFG), port)
    assert got.tolist() == table.tolist()
    assert len(port.seen) == 2 * CFG.cols_data


@pytest.mark.parametrize("drive_mode", ["vip", "bulk"])
def test_the_same_sequence_over_both_simulated_ports(drive_mode):
    """The tile refuses more input bits than it was built for: the driver reads the cause
    back, in either drive."""
    W, X = random_operands(CFG, 3, np.random.default_rng(4))
    word = register("SETTINGS").pack(mode=int(Mode.COMPUTE), in_bits=7, adc_shift=0)
    with pytest.raises(SimulationError,
                       match=rf"^SETTINGS write 0x{word:08x} refused \(IN_BITS\)$"):
        simulate(CFG, W, X, in_bits=7, drive=drive_mode)


@pytest.mark.parametrize("drive_mode", ["vip", "bulk"])
def test_remap_loaded_and_read_back_over_both_simulated_ports(drive_mode):
    remap = np.zeros(CFG.cols_data, np.int64)
    remap[[1, 4]] = [2, 1]
    played = play(CFG, [Op.driver("load_remap", {"remap": "remap"}), Op.driver("read_remap")],
                  {"remap": remap}, drive=drive_mode)
    assert played.records[-1]["answer"].tolist() == remap.tolist()
