"""Testbench pieces that run without a simulator: bus packing, the scoreboard and the ring
halves written ahead."""

import time

import numpy as np
import pytest

from cimtile.models.verdict import Verdict
from cimtile.spec.config import reference_config
from cimtile.tb.build.build import waves_format
from cimtile.tb.transport.half_files import HalfFiles, HalfReader
from cimtile.tb.transport.memfiles import parse_hex_image
from cimtile.tb.transport.packing import bits_of, pack_fields, unpack_bits, unpack_fields
from cimtile.tb.transport.results import SimResult
from cimtile.tb.benches.scoreboard import Scoreboard


@pytest.mark.parametrize("width", [1, 2, 3, 8, 13, 16, 31, 62])
@pytest.mark.parametrize("count", [1, 5, 128])
def test_fields_round_trip(width, count):
    rng = np.random.default_rng(width * 1000 + count)
    signed = width > 1
    lo, hi = (-2 ** (width - 1), 2 ** (width - 1)) if signed else (0, 2)
    values = rng.integers(lo, hi, (3, count))
    values[0, 0] = lo
    values[1, -1] = hi - 1
    packed = pack_fields(values, width)
    assert packed.shape == (3,)
    for row, word in zip(values, packed):
        assert 0 <= word < 2 ** (width * count)
        assert np.array_equal(unpack_fields(int(word), count, width, signed=signed), row)


def test_field_layout_is_little_endian_twos_complement():
    assert pack_fields(np.array([-3, 2, 1]), 4) == 0x12D
    assert pack_fields(np.array([1, 0, 1, 1]), 1) == 0b1101
    assert unpack_fields(0x7F0, 3, 4).tolist() == [0, 15, 7]
    assert unpack_fields(0x7F0, 3, 4, signed=True).tolist() == [0, -1, 7]


def test_wide_fields_unpack_exactly():
    value = (1 << 69) | 5
    assert unpack_fields(value, 1, 70).tolist() == [value]
    assert unpack_fields(value, 1, 70, signed=True).tolist() == [value - (1 << 70)]


def test_unpack_bits():
    assert unpack_bits(13, 6).tolist() == [1, 0, 1, 1, 0, 0]
    assert unpack_bits(1 << 127, 128).tolist() == [0] * 127 + [1]


def test_bits_of_reads_a_bus_string_bit_0_first():
    assert bits_of("1101").tolist() == [1, 0, 1, 1]
    plane = bits_of("1" + "0" * 127, np.float32)
    assert plane.dtype == np.float32 and plane.tolist() == [0] * 127 + [1]


def test_bits_of_refuses_unknown_bits():
    with pytest.raises(ValueError, match="'1X0' is not a binary number"):
        bits_of("1X0")


def result_word(cfg, row):
    return int(pack_fields(np.asarray(row), cfg.result_width))


def test_scoreboard_counts_mismatches_and_extras():
    cfg = reference_config()
    expected = np.arange(-16, 16).reshape(2, 16)
    board = Scoreboard(cfg, expected)
    board.on_transfer(result_word(cfg, expected[0]), 10)
    assert not board.done.is_set()
    wrong = expected[1].copy()
    wrong[3] += 1
    board.on_transfer(result_word(cfg, wrong), 20)
    assert board.done.is_set()
    board.on_transfer(result_word(cfg, expected[1]), 30)
    assert (board.mismatches, board.extra) == (1, 1)
    assert board.stamps == [10, 20, 30]
    assert np.array_equal(board.results()[:2], [expected[0], wrong])
    assert board.verdict().describe() == ("1 of 2 batch results differ from the golden model, "
                                          "first at [1, 3]: got 4, expected 3")
    assert board.summary() == ["1 unexpected batch results"]


def test_scoreboard_reports_missing_results():
    cfg = reference_config()
    board = Scoreboard(cfg, np.zeros((3, 16), np.int64))
    board.on_transfer(result_word(cfg, np.zeros(16, np.int64)), 1)
    assert board.summary() == ["only 1 of 3 batch results arrived"]
    assert board.verdict().ok and board.verdict().compared == 1


def test_extreme_results_decode_signed():
    cfg = reference_config()
    bound = 2 ** (cfg.result_width - 1)
    row = np.array([-bound, bound - 1] * 8)
    board = Scoreboard(cfg, row[None])
    board.on_transfer(result_word(cfg, row), 0)
    assert board.mismatches == 0


def make_result(out_cycles, in_cycles):
    empty = np.zeros((0, 1), np.int64)
    return SimResult(Y=np.zeros((len(out_cycles), 1), np.int64),
                     in_cycles=np.array(in_cycles), out_cycles=np.array(out_cycles),
                     request_cycles=np.array([]), Y_after_reset=empty,
                     out_cycles_after_reset=np.array([]), stale_outputs=0, cycles_total=0,
                     verdict=Verdict("golden model", len(out_cycles), 0), build_s=0.0,
                     wall_s=1.0)


def test_cycles_per_mvm_is_the_median_output_spacing():
    assert make_result([10, 20, 30, 45], [1, 2, 3, 4]).cycles_per_mvm == 10
    # One result: its latency from the input transfer.
    assert make_result([30], [4]).cycles_per_mvm == 26


@pytest.mark.parametrize("name, kind", [("a.fst", "fst"), ("dir/b.VCD", "vcd")])
def test_waves_format(name, kind):
    assert waves_format(name) == kind


def test_waves_format_refuses_other_names():
    with pytest.raises(ValueError, match=r"w\.ghw: waveform file name must end in .fst or .vcd"):
        waves_format("w.ghw")


def _image_rows(path, width):
    """The entries of a ``$fread`` file as little-endian rows."""
    return np.frombuffer(path.read_bytes(), np.uint8).reshape(-1, width)[:, ::-1]


def test_half_files_cut_every_ring_into_halves_written_ahead(tmp_path):
    rng = np.random.default_rng(0)
    beats = [rng.integers(0, 256, (n, 3), dtype=np.uint8) for n in (5, 2, 9)]
    answers = [rng.integers(0, 256, (n, 2), dtype=np.uint8) for n in (7, 7, 7)]
    files = HalfFiles(zip(beats, answers), ["in", "analog"], {"in": 4, "analog": 6}, tmp_path)
    for name, chunks, width, half in [("in", beats, 3, 4), ("analog", answers, 2, 6)]:
        taken = list(iter(lambda: files.take(name), None))
        total = sum(map(len, chunks))
        assert [entries for _, entries in taken] == [half] * (total // half) + (
            [total % half] if total % half else [])
        written = np.concatenate([_image_rows(path, width) for path, _ in taken])
        assert np.array_equal(written, np.concatenate(chunks))


def test_half_files_stay_a_few_halves_ahead_of_the_rings(tmp_path):
    made = []

    def chunks():
        for k in range(50):
            made.append(k)
            yield (np.full((4, 1), k, np.uint8),)

    files = HalfFiles(chunks(), ["in"], {"in": 4}, tmp_path, ahead=2)
    path, _ = files.take("in")
    # One half taken, two written ahead, and the chunk of a third one made: then it waits.
    deadline = time.monotonic() + 30
    while len(made) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    assert len(made) == 4 and _image_rows(path, 1)[0, 0] == 0
    files.take("in")
    while len(made) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(made) == 5
    files.close()


def test_half_files_raise_what_making_the_entries_raised(tmp_path):
    def chunks():
        yield (np.zeros((4, 1), np.uint8),)
        raise ValueError("no more inputs")

    files = HalfFiles(chunks(), ["in"], {"in": 4}, tmp_path)
    assert files.take("in")[1] == 4
    with pytest.raises(ValueError, match="no more inputs"):
        files.take("in")


def test_half_reader_hands_dumped_halves_over_in_order(tmp_path):
    got = []
    reader = HalfReader(got.append, 2)
    for k, words in enumerate([["0102", "0304", "0506"], ["0708"]]):
        path = tmp_path / "bulk_out_0.hex"
        path.write_text("@0\n" + "\n".join(words) + "\n")
        reader.read(path, [2, 1][k])
        assert not path.exists()
    reader.finish()
    assert [rows.tolist() for rows in got] == [[[2, 1], [4, 3]], [[8, 7]]]
    assert list(tmp_path.iterdir()) == []


def test_half_reader_raises_what_its_sink_raised(tmp_path):
    def sink(rows):
        raise ValueError("result file is full")

    reader = HalfReader(sink, 1)
    (tmp_path / "half.hex").write_text("01\n")
    reader.read(tmp_path / "half.hex", 1)
    with pytest.raises(ValueError, match="result file is full"):
        reader.finish()


@pytest.mark.parametrize("bits", [1, 17, 105, 112])
def test_a_writememh_file_parses_to_its_entries_in_either_form(bits):
    rng = np.random.default_rng(bits)
    entry_bytes = -(-bits // 8)
    values = [int(v) for v in rng.integers(0, 2 ** 62, 300)]
    values = [(v << 50 | v) & ((1 << bits) - 1) for v in values]
    entries = np.array([list(v.to_bytes(entry_bytes, "little")) for v in values], np.uint8)
    # As Verilator writes it: every entry zero-padded to the memory's width.
    lines = [f"{v:0{-(-bits // 4)}x}" for v in values]
    verilator = "".join(f"{line}\n" for line in lines).encode()
    assert np.array_equal(parse_hex_image(verilator, entry_bytes), entries)
    # With an address, a comment, upper case and unpadded words.
    other = "@0\n// dumped\n" + "\n".join(f"{v:X}" for v in values) + "\n"
    assert np.array_equal(parse_hex_image(other.encode(), entry_bytes), entries)
