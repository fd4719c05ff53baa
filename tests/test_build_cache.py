"""The Verilator build cache: damaged entries are rebuilt (bit rot too, on an entry's first
use in a process or when verified again), partial builds and the least recently used
entries (syntheses included) are removed with their lock files, an unusable root is refused
in one line, and an interrupted build or simulation leaves no process and no temporary
files behind.

One real build of the smallest tile is shared by the module; where a test only needs a
build to happen, a stand-in runner copies that build's simulator.
"""

import fcntl
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from cimtile import cli
from cimtile.spec.config import parse_config
from cimtile.tb.build import build
from cimtile.tb.build import cache as build_cache
from cimtile.tb.build.cache import CacheError
from cimtile.tb.build.cache_settings import DEFAULT_MAX_MB
from cimtile.tb.build.sim_top import TOPLEVEL
from cimtile.tb.runs.runner import simulate_tile

# One worker (make test: --dist loadgroup) shares the module's real build.
pytestmark = pytest.mark.xdist_group("build_cache")

TILE = dict(rows=1, cols=1, in_bits=1, w_bits=2, bits_per_cell=1, adc_bits=1, adc_shift=0,
            cols_per_adc=1)
TIMING = dict(t_settle=1, t_adc=1)
W = np.ones((1, 1), np.int64)
X = np.array([[-1], [0], [-1]], np.int64)


def small_config():
    return parse_config({"tile": TILE, "timing": TIMING})


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A cache holding the real build of the small tile, and that build's directory."""
    root = tmp_path_factory.mktemp("pristine-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CIMTILE_CACHE", str(root))
        entry, build_s = build.build(small_config())
    assert build_s > 0
    return root, entry


class CopyingRunner:
    """Stands in for cocotb's runner: a build that copies a real simulator."""

    def __init__(self, simulator):
        self.simulator = simulator
        self.builds = 0

    def __call__(self):
        return self

    def build(self, *, build_dir, **kwargs):
        self.builds += 1
        shutil.copy2(self.simulator, Path(build_dir) / TOPLEVEL)


@pytest.fixture
def copying_runner(pristine, monkeypatch):
    runner = CopyingRunner(pristine[1] / TOPLEVEL)
    monkeypatch.setattr(build, "get_runner", runner)
    return runner


def install(pristine, cache):
    """Copy the real build into `cache` (times kept, so it is as published); its path."""
    entry = cache / pristine[1].name
    shutil.copytree(pristine[1], entry, copy_function=shutil.copy2)
    return entry


def run_ok():
    result = simulate_tile(small_config(), W, X)
    assert np.array_equal(result.Y, X @ W)
    return result


def warnings(caplog):
    return [record.getMessage() for record in caplog.records
            if record.levelno == logging.WARNING]


@pytest.mark.parametrize("damage", ["emptied", "truncated", "garbage"])
def test_a_damaged_simulator_is_rebuilt_and_the_run_succeeds(damage, pristine, cache,
                                                             copying_runner, caplog):
    entry = install(pristine, cache)
    simulator = entry / TOPLEVEL
    size = simulator.stat().st_size
    with open(simulator, "r+b") as file:
        if damage == "emptied":
            file.truncate(0)
        elif damage == "truncated":
            file.truncate(size // 2)
        else:
            file.write(np.random.default_rng(0).bytes(size))
    result = run_ok()
    assert copying_runner.builds == 1 and result.build_s > 0
    message, = warnings(caplog)
    assert message.startswith(f"build cache entry {entry} is damaged (cim_tile_sim changed")
    assert "\n" not in message and message.endswith("; rebuilding")
    assert build.build(small_config()) == (entry, 0.0)


def test_a_simulator_with_a_new_time_but_its_content_is_kept(pristine, cache,
                                                             copying_runner, caplog):
    entry = install(pristine, cache)
    os.utime(entry / TOPLEVEL)
    assert build.build(small_config()) == (entry, 0.0)
    assert copying_runner.builds == 0 and warnings(caplog) == []


def test_a_missing_simulator_is_rebuilt(pristine, cache, copying_runner, caplog):
    entry = install(pristine, cache)
    (entry / TOPLEVEL).unlink()
    run_ok()
    assert copying_runner.builds == 1
    assert warnings(caplog) == [f"build cache entry {entry} is damaged (cim_tile_sim "
                                f"missing); rebuilding"]


def test_a_build_directory_replaced_by_a_file_is_rebuilt_by_verilator(pristine, cache,
                                                                     caplog):
    entry = cache / pristine[1].name
    entry.write_text("not a build")
    result = run_ok()
    assert result.build_s > 0 and (entry / TOPLEVEL).is_file()
    assert warnings(caplog) == [f"build cache entry {entry} is damaged (not a directory); "
                                f"rebuilding"]


def test_partial_builds_left_by_killed_builders_are_removed(pristine, cache, copying_runner):
    key = pristine[1].name.removeprefix("verilator-")
    own = cache / f"verilator-{key}.x1y2z3.tmp"
    other = cache / "verilator-0123456789abcdef0123.a1b2c3.tmp"
    live = cache / "verilator-fedcba9876543210fedc.d4e5f6.tmp"
    for partial in (own, other, live):
        partial.mkdir()
        (partial / "Vtop__ALL.o").write_bytes(bytes(1000))
    with open(cache / "verilator-fedcba9876543210fedc.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # its builder is alive
        build.build(small_config())
    assert not own.exists() and not other.exists() and live.is_dir()
    assert copying_runner.builds == 1


def fake_entry(cache, key, megabytes, age_s):
    entry = cache / f"verilator-{key}"
    entry.mkdir()
    (entry / "COMPLETE").write_text("{}")
    (entry / "blob").write_bytes(bytes(megabytes << 20))
    when = time.time() - age_s
    os.utime(entry, (when, when))
    return entry


def test_least_recently_used_entries_beyond_the_cap_are_evicted(cache, copying_runner,
                                                                monkeypatch):
    monkeypatch.setenv("CIMTILE_CACHE_MAX_MB", "3")
    oldest = fake_entry(cache, "a" * 20, 1, 300)
    older = fake_entry(cache, "b" * 20, 1, 200)
    newer = fake_entry(cache, "c" * 20, 1, 100)
    with open(cache / f"verilator-{'a' * 20}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)  # a simulation is using it
        built, _ = build.build(small_config())
    assert built.is_dir() and oldest.is_dir() and newer.is_dir()
    assert not older.exists()


def test_a_use_marks_the_entry_recently_used(pristine, cache):
    entry = install(pristine, cache)
    os.utime(entry, (1, 1))
    build.build(small_config())
    assert time.time() - entry.stat().st_mtime < 60


def flip_a_byte(path):
    """Change one byte of `path` in the middle, keeping its size and times."""
    stat = path.stat()
    with open(path, "r+b") as file:
        file.seek(stat.st_size // 2)
        byte = file.read(1)
        file.seek(-1, os.SEEK_CUR)
        file.write(bytes([byte[0] ^ 0x40]))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_bit_rot_is_found_on_the_first_use_in_a_process(pristine, cache, copying_runner,
                                                        caplog):
    entry = install(pristine, cache)
    flip_a_byte(entry / TOPLEVEL)
    run_ok()
    assert copying_runner.builds == 1
    message, = warnings(caplog)
    assert message.startswith(f"build cache entry {entry} is damaged (cim_tile_sim changed")


def test_verify_finds_bit_rot_in_an_entry_already_used(pristine, cache, copying_runner,
                                                       caplog):
    entry = install(pristine, cache)
    assert build.build(small_config()) == (entry, 0.0)
    assert build_cache.verify(entry) is None
    flip_a_byte(entry / TOPLEVEL)
    assert build.build(small_config()) == (entry, 0.0)  # checked by size and time only
    assert build_cache.verify(entry).startswith("cim_tile_sim changed since it was built")
    assert warnings(caplog) == []
    run_ok()
    assert copying_runner.builds == 1
    message, = warnings(caplog)
    assert message.startswith(f"build cache entry {entry} is damaged (cim_tile_sim changed")


def test_a_run_that_dies_on_an_unchanged_looking_build_rechecks_it(pristine, cache,
                                                                   copying_runner, caplog):
    entry = install(pristine, cache)
    run_ok()                                   # hashed on its first use in this process
    simulator = entry / TOPLEVEL
    stat = simulator.stat()
    with open(simulator, "r+b") as file:       # no longer an executable, same size
        file.write(b"\0\0\0\0")
    os.utime(simulator, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    run_ok()
    assert copying_runner.builds == 1
    message, = warnings(caplog)
    assert message.startswith(f"build cache entry {entry} is damaged (cim_tile_sim changed")


def fake_synthesis(cache, key, megabytes, age_s):
    entry = cache / "area" / f"{key}.json"
    entry.parent.mkdir(exist_ok=True)
    entry.write_bytes(bytes(megabytes << 20))
    when = time.time() - age_s
    os.utime(entry, (when, when))
    return entry


def test_least_recently_used_syntheses_count_in_the_cap(cache, copying_runner,
                                                        monkeypatch):
    monkeypatch.setenv("CIMTILE_CACHE_MAX_MB", "3")
    oldest = fake_synthesis(cache, "a" * 32, 1, 300)
    older = fake_entry(cache, "b" * 20, 1, 200)
    newer = fake_synthesis(cache, "c" * 32, 1, 100)
    build.build(small_config())
    assert not oldest.exists() and older.is_dir() and newer.is_file()


def test_evicted_entries_take_their_lock_files_along(cache, copying_runner, monkeypatch):
    monkeypatch.setenv("CIMTILE_CACHE_MAX_MB", "1")
    evicted = [fake_entry(cache, key * 20, 1, age) for key, age in (("a", 300), ("b", 200))]
    for entry in evicted:
        (cache / f"{entry.name}.lock").touch()
    built, _ = build.build(small_config())
    assert sorted(path.name for path in cache.iterdir()) == [built.name,
                                                            f"{built.name}.lock"]


def files_open_at(path):
    return sum(os.path.realpath(f"/proc/self/fd/{fd}") == str(path)
               for fd in os.listdir("/proc/self/fd"))


def test_a_lock_file_removed_while_waited_for_is_locked_anew(pristine, cache,
                                                             copying_runner):
    """A process waiting for a key's lock while another removes the entry and its lock
    file must lock the file now at the path, which others see held."""
    entry = install(pristine, cache)
    path = cache / f"{entry.name}.lock"
    held, release = threading.Event(), threading.Event()

    def use():
        with build.building(small_config()):
            held.set()
            release.wait(60)

    with open(path, "a") as clearing:
        fcntl.flock(clearing, fcntl.LOCK_EX)
        user = threading.Thread(target=use)
        user.start()
        deadline = time.monotonic() + 60
        while files_open_at(path) < 2:  # the user waits for the lock
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(0.1)
        path.unlink()
    try:
        assert held.wait(60)
        with open(path, "a") as other:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        release.set()
        user.join()


def refusal(error):
    message = str(error)
    assert "\n" not in message
    return message


def test_a_cache_root_that_is_a_file_is_refused_in_one_line(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    root.write_text("")
    monkeypatch.setenv("CIMTILE_CACHE", str(root))
    with pytest.raises(CacheError) as error:
        build.build(small_config())
    assert refusal(error.value) == (f"build cache {root} is unusable: not a directory (set "
                                    f"$CIMTILE_CACHE to a writable directory)")
    monkeypatch.setenv("CIMTILE_CACHE", str(root / "sub"))
    with pytest.raises(CacheError) as error:
        build.build(small_config())
    assert refusal(error.value) == (f"build cache {root / 'sub'} is unusable: Not a "
                                    f"directory (set $CIMTILE_CACHE to a writable directory)")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a directory whatever its "
                    "mode")
def test_an_unwritable_cache_root_is_refused_in_one_line(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    root.mkdir(mode=0o500)
    monkeypatch.setenv("CIMTILE_CACHE", str(root))
    with pytest.raises(CacheError) as error:
        build.build(small_config())
    assert refusal(error.value) == (f"build cache {root} is unusable: not writable (set "
                                    f"$CIMTILE_CACHE to a writable directory)")


def test_a_malformed_cap_is_refused_in_one_line(cache, monkeypatch):
    monkeypatch.setenv("CIMTILE_CACHE_MAX_MB", "2G")
    with pytest.raises(CacheError) as error:
        build.build(small_config())
    assert refusal(error.value) == ("$CIMTILE_CACHE_MAX_MB must be a whole number of "
                                    "megabytes from 0 to 1073741824, not '2G'")


def test_cache_info_and_clear_commands(pristine, cache, capsys):
    entry = install(pristine, cache)
    when = time.time() - 50
    os.utime(entry, (when, when))
    partial = cache / "verilator-0123456789abcdef0123.a1b2c3.tmp"
    partial.mkdir()
    (partial / "Vtop.mk").write_bytes(bytes(1 << 20))
    in_use = fake_entry(cache, "c" * 20, 1, 100)
    assert cli.main(["cache", "info"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{cache}: 3 entries, ") and lines[0].endswith(
        f" of {DEFAULT_MAX_MB:.1f} MB")
    assert [line.split()[0] for line in lines[1:]] == [partial.name, entry.name, in_use.name]
    assert lines[1].endswith("partial") and "  1.0 MB  last used " in lines[3]
    with open(cache / f"verilator-{'c' * 20}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        assert cli.main(["cache", "clear"]) == 0
    assert capsys.readouterr().out.startswith(f"{cache}: removed 2 entries (")
    assert not entry.exists() and not partial.exists() and in_use.is_dir()
    assert cli.main(["cache", "clear"]) == 0
    assert capsys.readouterr().out == f"{cache}: removed 1 entry (1.0 MB)\n"


# Runs the small tile on `sys.argv[1]` inputs, turning SIGTERM into an exception as the
# command line does.
SCRIPT = f"""
import signal, sys
import numpy as np
from cimtile.spec.config import parse_config
from cimtile.tb.runs.runner import simulate_tile

def stop(signum, frame):
    raise SystemExit(128 + signum)

signal.signal(signal.SIGTERM, stop)
cfg = parse_config({{"tile": {TILE}, "timing": {TIMING}}})
simulate_tile(cfg, np.ones((1, 1), np.int64), np.zeros((int(sys.argv[1]), 1), np.int64))
"""


def processes_under(directory):
    """``{pid: command name}`` of the live processes working under `directory`."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            name, _, rest = (proc / "stat").read_text().rpartition(")")
            # A process whose working directory was removed still counts.
            cwd = os.readlink(proc / "cwd").removesuffix(" (deleted)")
        except (OSError, ValueError):
            continue
        if rest.split()[0] not in "ZX" and Path(cwd).is_relative_to(directory):
            found[int(proc.name)] = name.partition("(")[2]
    return found


def interrupt(tmp_path, cache_root, signum, watched, ready, inputs):
    """Run the script until a process named `ready` works under `watched`, send it
    `signum`, and wait for it to end."""
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(SCRIPT))
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = dict(os.environ, TMPDIR=str(tmpdir), CIMTILE_CACHE=str(cache_root))
    # SIGINT may be ignored by the process running the tests (a background job), which
    # the child would inherit; the run's own behaviour is under test.
    process = subprocess.Popen([sys.executable, str(script), str(inputs)], cwd=tmp_path,
                               env=env, stderr=subprocess.DEVNULL,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while ready not in processes_under(watched).values():
            assert process.poll() is None, "the run ended before it could be interrupted"
            assert time.monotonic() < deadline, f"no {ready} started"
            time.sleep(0.05)
        process.send_signal(signum)
        assert process.wait(timeout=60) != 0
    finally:
        process.kill()
        process.wait()
    return tmpdir


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_simulation_leaves_no_simulator_and_no_files(signum, pristine,
                                                                    tmp_path):
    tmpdir = tmp_path / "tmp"
    interrupt(tmp_path, pristine[0], signum, tmpdir, TOPLEVEL, 2_000_000)
    assert processes_under(tmpdir) == {}
    assert list(tmpdir.iterdir()) == []


def test_an_interrupted_build_leaves_no_compiler_and_no_partial_build(tmp_path):
    cache = tmp_path / "cache"
    interrupt(tmp_path, cache, signal.SIGTERM, cache, "cc1plus", 10)
    assert processes_under(cache) == {}
    assert list(cache.glob("*.tmp")) == []
