"""``cimtile cache`` and the environment of the build cache: a malformed size cap or an
unusable root is bad input (status 2, one line, nothing written), ``clear`` reports only
what it removed, and the syntheses under ``area/`` are listed and cleared with the rest.

No test builds: a command that would build fails before it does.
"""

import errno
import fcntl
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from cimtile import cli
from cimtile.flows.ppa.area import synthesise
from cimtile.tb.build.cache import CacheError
from cimtile.tb.build.cache_settings import DEFAULT_MAX_MB

SMALL = """\
[tile]
rows = 1
cols = 1
in_bits = 1
w_bits = 2
bits_per_cell = 1
adc_bits = 1
adc_shift = 0
cols_per_adc = 1

[timing]
t_settle = 1
t_adc = 1
"""


@pytest.fixture
def sim_args(tmp_path):
    """Arguments of a ``cimtile sim`` of the smallest tile, writing ``out/Y.npy``."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "small.toml").write_text(SMALL)
    np.save(work / "W.npy", np.ones((1, 1), np.int64))
    np.save(work / "X.npy", np.array([[-1], [0]], np.int64))
    return ["sim", "--config", str(work / "small.toml"), "--weights", str(work / "W.npy"),
            "--inputs", str(work / "X.npy"), "--out", str(work / "Y.npy")]


COMMANDS = ["info", "clear", "sim"]


def command(name, sim_args):
    return sim_args if name == "sim" else ["cache", name]


def fake_entry(cache, key, megabytes, age_s):
    entry = cache / f"verilator-{key}"
    entry.mkdir()
    (entry / "COMPLETE").write_text("{}")
    (entry / "blob").write_bytes(bytes(megabytes << 20))
    when = time.time() - age_s
    os.utime(entry, (when, when))
    return entry


def fake_synthesis(cache, key, megabytes, age_s, suffix=".json"):
    entry = cache / "area" / f"{key}{suffix}"
    entry.parent.mkdir(exist_ok=True)
    entry.write_bytes(bytes(megabytes << 20))
    when = time.time() - age_s
    os.utime(entry, (when, when))
    return entry


def snapshot(path):
    """What is at `path`, recursively: names, kinds, sizes and times."""
    if not os.path.lexists(path):
        return None
    found = {}
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            stat = os.lstat(os.path.join(folder, name))
            found[os.path.relpath(os.path.join(folder, name), path)] = (
                stat.st_mode, stat.st_size, stat.st_mtime_ns)
    stat = os.lstat(path)
    return stat.st_mode, stat.st_size, stat.st_mtime_ns, found


def refused(capsys, status):
    """The one error line of a command that ended with `status`."""
    out, err = capsys.readouterr()
    assert (status, out) == (2, ""), err
    line, = err.splitlines()
    assert line.startswith("cimtile: error: ")
    return line.removeprefix("cimtile: error: ")


@pytest.mark.parametrize("value, shown", [
    ("\u00b2", "'\u00b2'"),         # a digit to str.isdigit, not to int
    ("lots", "'lots'"),
    ("-1", "'-1'"),
    ("1.5", "'1.5'"),
    (" 5", "' 5'"),
    ("1073741825", "'1073741825'"),
    ("9" * 5000, repr("9" * 40) + "..."),
])
@pytest.mark.parametrize("name", COMMANDS)
def test_a_malformed_or_excessive_cap_is_bad_input(value, shown, name, cache, sim_args,
                                                   monkeypatch, capsys):
    fake_entry(cache, "a" * 20, 1, 100)
    before = snapshot(cache)
    monkeypatch.setenv("CIMTILE_CACHE_MAX_MB", value)
    status = cli.main(command(name, sim_args))
    assert refused(capsys, status) == (f"$CIMTILE_CACHE_MAX_MB must be a whole number of "
                                       f"megabytes from 0 to 1073741824, not {shown}")
    assert snapshot(cache) == before
    assert not Path(sim_args[-1]).exists()


@pytest.mark.parametrize("value, cap_mb", [("", DEFAULT_MAX_MB), ("0", 0),
                                           ("1073741824", 1 << 30), ("0010", 10)])
def test_a_cap_in_range_is_taken_and_an_empty_one_is_the_default(value, cap_mb, cache,
                                                                 monkeypatch, capsys):
    monkeypatch.setenv("CIMTILE_CACHE_MAX_MB", value)
    assert cli.main(["cache", "info"]) == 0
    assert capsys.readouterr().out == f"{cache}: 0 entries, 0.0 MB of {cap_mb:.1f} MB\n"


def unusable_root(tmp_path, kind):
    """A cache root of `kind` and the reason it is refused."""
    if kind == "file":
        root = tmp_path / "cache"
        root.write_text("mine")
        return root, "not a directory"
    if kind == "under a file":
        (tmp_path / "file").write_text("mine")
        return tmp_path / "file" / "cache", "Not a directory"
    if kind == "symlink loop":
        root = tmp_path / "loop"
        root.symlink_to("loop")
        return root, "Too many levels of symbolic links"
    if kind == "dangling symlink":
        root = tmp_path / "link"
        root.symlink_to(tmp_path / "gone")
        return root, "a symbolic link to nothing"
    if kind == "unwritable":
        root = tmp_path / "cache"
        root.mkdir(mode=0o500)
        return root, "not writable"
    assert kind == "newline in its name"
    root = tmp_path / "a\nb"
    root.write_text("mine")
    return root, "not a directory"


@pytest.mark.parametrize("kind", [
    "file", "under a file", "symlink loop", "dangling symlink", "newline in its name",
    pytest.param("unwritable", marks=pytest.mark.skipif(
        os.geteuid() == 0, reason="root writes into a directory whatever its mode"))])
@pytest.mark.parametrize("name", COMMANDS)
def test_an_unusable_root_is_bad_input_naming_it(kind, name, tmp_path, sim_args,
                                                 monkeypatch, capsys):
    root, reason = unusable_root(tmp_path, kind)
    monkeypatch.setenv("CIMTILE_CACHE", str(root))
    monkeypatch.delenv("CIMTILE_CACHE_MAX_MB", raising=False)
    before = snapshot(root), snapshot(tmp_path / "file")
    status = cli.main(command(name, sim_args))
    shown = repr(str(root)) if kind == "newline in its name" else str(root)
    assert refused(capsys, status) == (f"build cache {shown} is unusable: {reason} (set "
                                       f"$CIMTILE_CACHE to a writable directory)")
    assert (snapshot(root), snapshot(tmp_path / "file")) == before
    assert not Path(sim_args[-1]).exists()


def test_a_synthesis_refuses_an_unusable_root_before_running_yosys(tmp_path, monkeypatch):
    root, reason = unusable_root(tmp_path, "symlink loop")
    monkeypatch.setenv("CIMTILE_CACHE", str(root))

    def yosys(*args, **kwargs):
        raise AssertionError("yosys ran")

    monkeypatch.setattr(subprocess, "run", yosys)
    with pytest.raises(CacheError) as error:
        synthesise("module m();\nendmodule\n", "m")
    assert str(error.value) == (f"build cache {root} is unusable: {reason} (set "
                                f"$CIMTILE_CACHE to a writable directory)")


def test_info_on_an_absent_root_creates_nothing(tmp_path, monkeypatch, capsys):
    root = tmp_path / "absent"
    monkeypatch.setenv("CIMTILE_CACHE", str(root))
    assert cli.main(["cache", "info"]) == 0
    assert capsys.readouterr().out.startswith(f"{root}: 0 entries, 0.0 MB of ")
    assert not root.exists()


def failing_rmtree(target, monkeypatch):
    """Make removing the directory `target` (under any later name) fail, as a directory
    holding a file that cannot be unlinked does."""
    rmtree = shutil.rmtree

    def fake(path, ignore_errors=False, *args, **kwargs):
        if not Path(path).name.startswith(target.name):
            return rmtree(path, ignore_errors, *args, **kwargs)
        if not ignore_errors:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES),
                                  str(Path(path) / "blob"))
    monkeypatch.setattr(shutil, "rmtree", fake)


def test_clear_reports_only_what_it_removed(cache, monkeypatch, capsys):
    stuck = fake_entry(cache, "a" * 20, 1, 300)
    gone = fake_entry(cache, "b" * 20, 2, 200)
    failing_rmtree(stuck, monkeypatch)
    assert cli.main(["cache", "clear"]) == 1
    out, err = capsys.readouterr()
    assert out == f"{cache}: removed 1 entry (2.0 MB); could not remove 1 (1.0 MB)\n"
    assert err == f"cimtile: error: could not remove {stuck}: Permission denied\n"
    assert not gone.exists()
    assert [path.name for path in cache.iterdir() if path.name.startswith(stuck.name)
            and not path.name.endswith(".lock")] != []


@pytest.mark.skipif(os.geteuid() == 0, reason="root unlinks in a directory whatever its "
                    "mode")
def test_clear_reports_a_synthesis_in_a_read_only_folder(cache, capsys):
    synthesis = fake_synthesis(cache, "c" * 32, 1, 100)
    synthesis.parent.chmod(0o500)
    try:
        assert cli.main(["cache", "clear"]) == 1
    finally:
        synthesis.parent.chmod(0o700)
    out, err = capsys.readouterr()
    assert out == f"{cache}: removed 0 entries (0.0 MB); could not remove 1 (1.0 MB)\n"
    assert err == f"cimtile: error: could not remove {synthesis}: Permission denied\n"
    assert synthesis.is_file()


def test_clear_reports_an_entry_in_use_as_kept(cache, capsys):
    in_use = fake_entry(cache, "a" * 20, 1, 100)
    with open(cache / f"{in_use.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        assert cli.main(["cache", "clear"]) == 0
    assert capsys.readouterr().out == f"{cache}: removed 0 entries (0.0 MB); kept 1 in use\n"
    assert in_use.is_dir()


def test_info_lists_the_syntheses_and_clear_removes_them(cache, capsys):
    entry = fake_entry(cache, "a" * 20, 1, 300)
    synthesis = fake_synthesis(cache, "c" * 32, 2, 100)
    stale = fake_synthesis(cache, "d" * 32, 1, 3600, suffix=".4242.tmp")
    assert cli.main(["cache", "info"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{cache}: 3 entries, 4.0 MB of ")
    assert [line.split()[:2] for line in lines[1:]] == [
        [f"area/{synthesis.name}", "2.0"], [entry.name, "1.0"], [f"area/{stale.name}", "1.0"]]
    assert lines[3].endswith("partial") and not lines[1].endswith("partial")
    assert cli.main(["cache", "clear"]) == 0
    assert capsys.readouterr().out == f"{cache}: removed 3 entries (4.0 MB)\n"
    assert list((cache / "area").iterdir()) == []


def test_clear_spares_a_synthesis_being_written(cache, capsys):
    writing = fake_synthesis(cache, "d" * 32, 1, 0, suffix=f".{os.getpid()}.tmp")
    assert cli.main(["cache", "clear"]) == 0
    assert capsys.readouterr().out == f"{cache}: removed 0 entries (0.0 MB); kept 1 in use\n"
    assert writing.is_file()


def test_lock_files_go_with_their_entries(cache, capsys):
    cleared = fake_entry(cache, "a" * 20, 1, 300)
    in_use = fake_entry(cache, "b" * 20, 1, 200)
    orphan = cache / f"verilator-{'c' * 20}.lock"
    (cache / f"{cleared.name}.lock").touch()
    orphan.touch()
    with open(cache / f"{in_use.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        assert cli.main(["cache", "clear"]) == 0
    assert capsys.readouterr().out == f"{cache}: removed 1 entry (1.0 MB); kept 1 in use\n"
    assert sorted(path.name for path in cache.iterdir()) == [in_use.name,
                                                            f"{in_use.name}.lock"]
