"""The chip behind its host interface, in the Amaranth simulator: a compiled network
loaded, its tiles programmed by write-verify and its images run only through the AXI4-Lite
registers and the AXI4-Stream ports, each tile answered by the crossbar emulator (ideal,
and lossless on this tile); the scores equal the golden chip model's. Every refusal names
its cause, stalled beats are held, and the committed documents are the generator's."""

import subprocess
from pathlib import Path

import numpy as np
import pytest

from cimtile import cli
from cimtile.flows.chip_compile import compile_network
from cimtile.flows.chip_report import chip_images
from cimtile.flows.graph import mlp_graph
from cimtile.flows.network import Layer
from cimtile.hdl.axi_lite import AxiResp
from cimtile.models.chip_golden import run_chip
from cimtile.spec.axis_frames import pack_targets, pack_vectors, unpack_cells, unpack_vectors
from cimtile.spec.chip_config import CHIP_DEMO_CONFIG, load_chip_config
from cimtile.spec.chip_regmap import REGISTERS, Access, ErrorCause, capabilities, register
from cimtile.spec.chip_regmap_docs import FILES
from cimtile.spec.mapping import weight_levels

from amaranth_sim import run
from chip_host_bench import Board, Host
from cli_helpers import small_at
from test_chip_config import CHIP, write

DOCS = Path(__file__).parents[1] / "docs"
#: Two tiles of 12 x 3 whose ADC conversions last 3 cycles, as the emulator needs.
TWO_TILES = CHIP.replace("tiles = 8", "tiles = 2")
CTRL, IRQ_STATUS = register("CTRL"), register("IRQ_STATUS")


@pytest.fixture(scope="module")
def chip(tmp_path_factory):
    return load_chip_config(write(tmp_path_factory.mktemp("chip"), TWO_TILES,
                                  small_at(2, 3)))


def network(chip):
    """A 10-3-3 MLP compiled for the two tiles, and two of its images."""
    rng = np.random.default_rng(5)
    layers = [Layer(rng.normal(size=(10, 3)), rng.normal(size=3)),
              Layer(rng.normal(size=(3, 3)), rng.normal(size=3))]
    program = compile_network(mlp_graph(layers), chip, rng.normal(size=(40, 10)))
    return program, chip_images(program, chip, rng.normal(size=(2, 10)))


async def program_tile(host, chip, t, weights):
    """Program tile `t` with `weights` by write-verify; its per-cell results."""
    levels = weight_levels(weights, chip.tile).ravel()
    dut = host.dut
    assert await host.write("TILE_SEL", tile=t) == AxiResp.OKAY
    assert await host.write("TILE_CTRL", start=1) == AxiResp.OKAY
    frame = await host.stream(dut.s_axis_target, pack_targets(
        levels, len(dut.s_axis_target.tdata)), dut.m_axis_cell)
    return unpack_cells(frame, levels.size, len(dut.m_axis_cell.tdata))


async def load(host, program):
    """The program and its parameters through the registers."""
    assert await host.write("PROG_ADDR", addr=0) == AxiResp.OKAY
    for word in map(int, program.words):
        assert await host.write("PROG_DATA_LO", word & 0xFFFFFFFF) == AxiResp.OKAY
        assert await host.write("PROG_DATA_HI", word >> 32) == AxiResp.OKAY
    assert await host.write("PARAM_ADDR", addr=0) == AxiResp.OKAY
    for mult, bias in zip(map(int, program.mult), map(int, program.bias)):
        await host.write("PARAM_MULT", mult & 0xFFFFFFFF)
        await host.write("PARAM_BIAS_HI", (bias >> 32) & 0xFFFFFFFF)
        assert await host.write("PARAM_BIAS", bias & 0xFFFFFFFF) == AxiResp.OKAY
    await host.write("IMAGE_ADDR", addr=program.input_address)
    await host.write("IMAGE_LEN", length=program.input_length)
    await host.write("SCORE_ADDR", addr=program.output_address)
    assert await host.write("SCORE_LEN", length=program.output_length) == AxiResp.OKAY


async def infer(host, chip, program, image):
    """One image in, a run, its scores out."""
    dut, width = host.dut, len(host.dut.s_axis_image.tdata)
    await host.stream(dut.s_axis_image, pack_vectors([image], chip.chip.out_bits, width))
    await host.idle()
    assert await host.write("CTRL", start=1) == AxiResp.OKAY
    frame = await host.stream(receive=dut.m_axis_scores)
    return unpack_vectors(frame, chip.chip.out_bits, program.output_length, width)[0]


def test_a_network_runs_through_the_host_interface(chip):
    program, images = network(chip)
    board = Board(chip)
    dut = board.host
    got = {}

    async def bench(ctx):
        host = Host(ctx, dut, np.random.default_rng(1))
        for t in range(chip.chip.tiles):
            cells = await program_tile(host, chip, t, program.weights[t])
            assert cells.converged.all(), t
        await load(host, program)
        await host.write("IRQ_ENABLE", done=1)
        got["irq"] = [ctx.get(dut.irq)]
        got["scores"] = [await infer(host, chip, program, image) for image in images]
        got["irq"].append(ctx.get(dut.irq))
        got["status"] = await host.status()
        got["violations"] = board.violations(ctx)

    run(board, bench)
    outputs, _ = run_chip(chip, program, images, lambda t, x: x @ program.weights[t])
    assert chip.tile.lossless
    assert np.array_equal(np.array(got["scores"]), outputs)
    assert np.abs(outputs).max() > 0
    assert got["status"]["done"] and not got["status"]["error"], str(got["status"])
    assert got["violations"] == {}
    assert got["irq"] == [0, 1]


def simulate(chip, bench):
    """Run `bench(host)` on the chip host with its emulators, streams unstalled."""
    board = Board(chip)

    async def testbench(ctx):
        await bench(Host(ctx, board.host))
        assert board.violations(ctx) == {}

    run(board, testbench)


def test_reset_values_of_every_register(chip):
    got = []

    async def bench(host):
        got.extend([await host.read(r.offset) for r in REGISTERS])

    simulate(chip, bench)
    for reg, (word, resp) in zip(REGISTERS, got):
        expected = 0 if reg.access is Access.WO else reg.reset_value(chip)
        assert (word, resp) == (expected, AxiResp.OKAY), reg.name
    caps = capabilities(chip)
    assert (caps["CAP_CHIP.tiles"], caps["CAP_ACT.elements"], caps["CAP_PROGRAM.words"],
            caps["CAP_PARAM.words"], caps["CAP_CHIP.out_bits"]) == (2, 64, 256, 256, 4)


END = 0xFFFC
REFUSALS = [
    # (what, setup writes, the refused write, response, cause)
    ("read-only register", [], ("ID", 0), AxiResp.SLVERR, ErrorCause.READ_ONLY),
    ("tile beyond the chip", [], ("TILE_SEL", 2), AxiResp.SLVERR, ErrorCause.TILE),
    ("in_bits 0", [], ("TILE_SETTINGS", register("TILE_SETTINGS").pack(in_bits=0)),
     AxiResp.SLVERR, ErrorCause.IN_BITS),
    ("adc_shift above its max", [], ("TILE_SETTINGS", register("TILE_SETTINGS").pack(
        in_bits=4, adc_shift=31)), AxiResp.SLVERR, ErrorCause.ADC_SHIFT),
    ("rectangle past the array", [], ("WV_ROWS", register("WV_ROWS").pack(last=12)),
     AxiResp.SLVERR, ErrorCause.WV_SETTINGS),
    ("remap column beyond the data columns", [], ("REMAP_COL", 12), AxiResp.SLVERR,
     ErrorCause.REMAP),
    ("spare beyond the spares", [], ("REMAP_SPARE", 1), AxiResp.SLVERR, ErrorCause.REMAP),
    ("program address past the memory", [], ("PROG_ADDR", 256), AxiResp.SLVERR,
     ErrorCause.ADDRESS),
    ("instruction at the memory's end", [("PROG_ADDR", 255), ("PROG_DATA_HI", 0)],
     ("PROG_DATA_HI", 0), AxiResp.SLVERR, ErrorCause.ADDRESS),
    ("parameter at the memory's end", [("PARAM_ADDR", 255), ("PARAM_BIAS", 0)],
     ("PARAM_BIAS", 0), AxiResp.SLVERR, ErrorCause.ADDRESS),
    ("activation at the memory's end", [("ACT_ADDR", 63), ("ACT_DATA", 0)],
     ("ACT_DATA", 0), AxiResp.SLVERR, ErrorCause.ADDRESS),
    ("image length past the memory", [], ("IMAGE_LEN", 65), AxiResp.SLVERR,
     ErrorCause.ADDRESS),
    ("start with scores past the end", [("SCORE_ADDR", 63), ("SCORE_LEN", 2)],
     ("CTRL", CTRL.pack(start=1)), AxiResp.SLVERR, ErrorCause.SPAN),
    ("scores past the end", [("SCORE_ADDR", 60), ("SCORE_LEN", 5)],
     ("CTRL", CTRL.pack(scores=1)), AxiResp.SLVERR, ErrorCause.SPAN),
    ("unmapped address", [], (END, 1), AxiResp.DECERR, ErrorCause.NONE),
]


def test_a_refused_write_changes_nothing_and_is_flagged(chip):
    """Every case of :data:`REFUSALS` in turn, in one simulation."""
    got = []

    async def bench(host):
        for _, setup, (name, word), _, _ in REFUSALS:
            for reg, value in setup:
                assert await host.write(reg, value) == AxiResp.OKAY, reg
            # A refused store would show in its address register.
            watched = [name] + [reg for reg, _ in setup if reg.endswith("_ADDR")]
            before = [await host.read(reg) for reg in watched]
            resp = await host.write(name, word)
            same = [await host.read(reg) for reg in watched] == before
            status = await host.status()
            await host.write("IRQ_STATUS", error=1)
            got.append((resp, same, status, await host.status()))

    simulate(chip, bench)
    for (what, _, _, resp, cause), (got_resp, same, status, cleared) in zip(REFUSALS, got):
        assert (got_resp, same, status["cause"]) == (resp, True, cause), what
        assert status["error"] == (cause != ErrorCause.NONE), what
        assert cleared["cause"] == ErrorCause.NONE and not cleared["error"], what


BUSY_WRITES = [("PROG_ADDR", 0), ("PROG_DATA_HI", 0), ("PARAM_BIAS", 0), ("ACT_DATA", 0),
               ("IMAGE_ADDR", 0), ("SCORE_LEN", 1), ("TILE_SEL", 1), ("TILE_SETTINGS", 0x404),
               ("WV_TOL", 0), ("REMAP_SPARE", 0), ("CTRL", CTRL.pack(start=1)),
               ("CTRL", CTRL.pack(scores=1)), ("TILE_CTRL", 1)]


def test_writes_are_refused_while_a_tile_programs(chip):
    """A tile's write-verify waits for its targets: everything a run or a programming
    tile uses is refused meanwhile (BUSY); the addresses and the plain data are not."""
    got = {}

    async def bench(host):
        assert await host.write("WV_ROWS", first=0, last=0) == AxiResp.OKAY
        assert await host.write("TILE_CTRL", start=1) == AxiResp.OKAY
        got["status"] = await host.status()
        got["refused"] = [(await host.write(name, word), (await host.status())["cause"])
                          for name, word in BUSY_WRITES]
        got["taken"] = [await host.write(name, 1) for name in
                        ("ACT_ADDR", "PROG_DATA_LO", "PARAM_MULT", "IRQ_ENABLE")]
        levels = np.zeros(chip.tile.cols_phys, np.int64)
        frame = await host.stream(host.dut.s_axis_target, pack_targets(levels, 64),
                                  host.dut.m_axis_cell)
        got["cells"] = unpack_cells(frame, levels.size, 64)
        got["after"] = await host.status()
        got["irq"] = (await host.read("IRQ_STATUS"))[0]

    simulate(chip, bench)
    assert got["status"]["busy"] and got["status"]["programming"]
    assert got["refused"] == [(AxiResp.SLVERR, ErrorCause.BUSY)] * len(BUSY_WRITES)
    assert got["taken"] == [AxiResp.OKAY] * 4
    assert got["cells"].converged.all()
    assert not got["after"]["busy"]
    assert IRQ_STATUS.unpack(got["irq"]) == {"done": 0, "programmed": 1, "error": 1}


def test_activations_through_the_registers_and_the_score_stream(chip):
    """ACT_DATA writes count ACT_ADDR up and read back sign-extended; CTRL.scores sends
    the SCORE span packed a lane of a byte each."""
    values = [-8, 7, -1, 0, 3, -5, 6, 1, -2, 2, 5]
    got = {}

    async def bench(host):
        await host.write("ACT_ADDR", addr=50)
        for value in values:
            assert await host.write("ACT_DATA", value & 0xFFFFFFFF) == AxiResp.OKAY
        got["addr"] = (await host.read("ACT_ADDR"))[0]
        got["read"] = []
        for k in range(len(values)):
            await host.write("ACT_ADDR", addr=50 + k)
            got["read"].append((await host.read("ACT_DATA"))[0])
        await host.write("ACT_ADDR", addr=63)
        await host.write("ACT_DATA", 1)
        got["end"] = (await host.read("ACT_DATA"))[0]
        await host.write("SCORE_ADDR", addr=50)
        await host.write("SCORE_LEN", length=len(values))
        host.rng = np.random.default_rng(2)
        assert await host.write("CTRL", scores=1) == AxiResp.OKAY
        got["frame"] = await host.stream(receive=host.dut.m_axis_scores)

    simulate(chip, bench)
    assert got["addr"] == 50 + len(values)
    assert got["read"] == [v & 0xFFFFFFFF for v in values] and got["end"] == 0
    assert unpack_vectors(got["frame"], 4, len(values), 64)[0].tolist() == values
    assert len(got["frame"]) == 16


IMAGE_ERRORS = [
    ("a data byte without tkeep", dict(keep=[0xFD], beats=1), ErrorCause.STREAM_KEEP),
    ("tlast early", dict(length=20), ErrorCause.STREAM_LAST),
    ("tlast late", dict(length=6), ErrorCause.STREAM_LAST),
    ("past the memory's end", dict(addr=60), ErrorCause.ADDRESS),
]


def test_image_errors_are_flagged_and_the_next_image_is_whole(chip):
    """Every case of :data:`IMAGE_ERRORS` in turn, each followed by a whole image."""
    image = np.arange(-5, 5)
    got = []

    async def bench(host):
        port = host.dut.s_axis_image
        for _, error, _ in IMAGE_ERRORS:
            await host.write("IMAGE_ADDR", addr=error.get("addr", 0))
            await host.write("IMAGE_LEN", length=error.get("length", 10))
            frame = pack_vectors([image], 4, 64)[:8 * error.get("beats", 2)]
            await host.stream(port, frame, keep=error.get("keep"), last="beats" not in error)
            await host.idle()
            status = await host.status()
            await host.write("IRQ_STATUS", error=1)
            await host.write("IMAGE_ADDR", addr=0)
            await host.write("IMAGE_LEN", length=10)
            await host.stream(port, pack_vectors([image], 4, 64))
            await host.idle()
            after = await host.status()
            memory = []
            for k in range(10):
                await host.write("ACT_ADDR", addr=k)
                memory.append((await host.read("ACT_DATA"))[0])
            await host.write("ACT_ADDR", addr=0)
            for _ in range(10):
                await host.write("ACT_DATA", 0)
            got.append((status, after, memory))

    simulate(chip, bench)
    for (what, _, cause), (status, after, memory) in zip(IMAGE_ERRORS, got):
        assert status["error"] and status["cause"] == cause, what
        assert not after["error"], what
        assert memory == [int(v) & 0xFFFFFFFF for v in image], what


def test_a_run_without_halt_sends_no_scores(chip):
    got = {}

    async def bench(host):
        await host.write("PROG_DATA_LO", 0xFFFFFFFF)
        await host.write("PROG_DATA_HI", 0xFFFFFFFF)
        assert await host.write("CTRL", start=1) == AxiResp.OKAY
        await host.idle()
        got["status"] = await host.status()
        got["pc"] = (await host.read("PC"))[0]
        got["scores"] = host.ctx.get(host.dut.m_axis_scores.tvalid)

    simulate(chip, bench)
    status = got["status"]
    assert status["done"] and status["error"] and status["cause"] == ErrorCause.SEQUENCER
    assert status["seq_error"] != 0 and got["pc"] == 0 and not got["scores"]


@pytest.mark.parametrize("name", list(FILES))
def test_committed_documents_are_generated(name):
    assert (DOCS / name).read_text() == FILES[name](load_chip_config(CHIP_DEMO_CONFIG)), \
        f"docs/{name} is stale: regenerate it with cimtile regmap --chip"


@pytest.mark.parametrize("fmt, name", [("md", "chip_registers.md"),
                                       ("c", "cimtile_chip_regs.h")])
def test_cli_regmap_of_a_chip(tmp_path, fmt, name):
    out = tmp_path / name
    assert cli.main(["regmap", "--chip", "--config", str(CHIP_DEMO_CONFIG), "--format", fmt,
                     "--out", str(out)]) == 0
    assert out.read_text() == (DOCS / name).read_text()


def test_c_header_compiles(tmp_path):
    header = tmp_path / "cimtile_chip_regs.h"
    header.write_text(FILES["cimtile_chip_regs.h"](load_chip_config(CHIP_DEMO_CONFIG)))
    subprocess.run(["gcc", "-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-x", "c",
                    str(header)], check=True)


def test_per_tile_settings_and_remap_tables_are_windows(tmp_path):
    """TILE_SETTINGS and REMAP_SPARE reach the entry of the tile TILE_SEL selects (and
    REMAP_COL's column); the other tiles' entries keep theirs."""
    tile = small_at(2, 3).replace("cols_per_adc = 3", "cols_per_adc = 2\nspare_cols = 2")
    spared = load_chip_config(write(tmp_path, TWO_TILES, tile))
    settings, got = register("TILE_SETTINGS"), {}

    async def bench(host):
        await host.write("TILE_SEL", tile=1)
        assert await host.write("TILE_SETTINGS", in_bits=2) == AxiResp.OKAY
        for col, spare in ((0, 2), (5, 1), (11, 2)):
            await host.write("REMAP_COL", col=col)
            assert await host.write("REMAP_SPARE", spare=spare) == AxiResp.OKAY
        assert await host.write("REMAP_SPARE", spare=3) == AxiResp.SLVERR
        got["table"] = {}
        for t in (0, 1):
            await host.write("TILE_SEL", tile=t)
            got[t] = settings.unpack((await host.read("TILE_SETTINGS"))[0])
            for col in (0, 5, 11):
                await host.write("REMAP_COL", col=col)
                got["table"][t, col] = (await host.read("REMAP_SPARE"))[0]

    simulate(spared, bench)
    assert got[0] == {"in_bits": 4, "adc_shift": 0}
    assert got[1] == {"in_bits": 2, "adc_shift": 0}
    assert got["table"] == {(0, 0): 0, (0, 5): 0, (0, 11): 0, (1, 0): 2, (1, 5): 1, (1, 11): 2}
