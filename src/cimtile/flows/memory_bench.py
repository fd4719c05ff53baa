"""Peak memory of ``cimtile sim`` against run length, behind ``cimtile bench --memory``.

The command runs as a child process on random inputs written to a file; its whole process
tree (the command, the simulator it starts, any build) is sampled through ``/proc`` and the
largest sum of resident set sizes is reported. Streaming stimulus and results in chunks
should make that figure nearly independent of the number of vectors.
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from cimtile.spec.npy_rows import NpyRowWriter

__all__ = ["tree_rss_mb", "sim_memory", "memory_report"]

#: Seconds between samples of the process tree.
SAMPLE_S = 0.05
_PAGE_KB = 4


def _children():
    """{parent pid: [child pids]} of every process now."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name, in parentheses, may hold spaces: the fields follow its end.
        parent = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    return children


def tree_rss_mb(pid):
    """Resident memory (MB) of process `pid` and all its descendants now."""
    children, pending, total_kb = _children(), [pid], 0
    while pending:
        current = pending.pop()
        pending += children.get(current, [])
        try:
            fields = Path(f"/proc/{current}/statm").read_text().split()
        except OSError:
            continue
        total_kb += int(fields[1]) * _PAGE_KB
    return total_kb / 1024


def _write_operands(cfg, directory, vectors, seed):
    """Random weights and `vectors` random inputs as ``.npy`` files, the inputs written a
    chunk at a time (int8 when they fit, to keep the file small)."""
    rng = np.random.default_rng(seed)
    w_max = 2 ** (cfg.tile.w_bits - 1) - 1
    np.save(directory / "W.npy", rng.integers(-w_max, w_max, (cfg.tile.rows, cfg.tile.cols),
                                              endpoint=True))
    half = 2 ** (cfg.tile.in_bits - 1)
    dtype = np.int8 if cfg.tile.in_bits <= 8 else np.int64
    with NpyRowWriter(directory / "X.npy", dtype, (cfg.tile.rows,)) as writer:
        for start in range(0, vectors, 65536):
            count = min(65536, vectors - start)
            writer.write(rng.integers(-half, half, (count, cfg.tile.rows)).astype(dtype))


def sim_memory(cfg, config_path, vectors, directory, seed=0):
    """Run ``cimtile sim`` on `vectors` random vectors of the tile of `cfg` (from the file
    `config_path`) in `directory`, sampling its process tree.

    Returns
    -------
    dict
        ``vectors``, ``peak_mb`` (largest resident memory of the tree), ``wall_s`` and the
        command's exit status ``status`` (0: every result equal to the golden model).
    """
    directory = Path(directory)
    _write_operands(cfg, directory, vectors, seed)
    command = [sys.executable, "-m", "cimtile.cli", "sim", "--config", str(config_path),
               "--weights", str(directory / "W.npy"), "--inputs", str(directory / "X.npy"),
               "--out", str(directory / "Y.npy"), "--seed", str(seed)]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    peak = 0.0
    while child.poll() is None:
        peak = max(peak, tree_rss_mb(child.pid))
        time.sleep(SAMPLE_S)
    return {"vectors": vectors, "peak_mb": round(peak, 1),
            "wall_s": round(time.perf_counter() - start, 1), "status": child.returncode}


def memory_report(cfg, config_path, lengths, progress=None):
    """:func:`sim_memory` at each run length of `lengths`, after a first short run that
    builds the simulator (whose compilers would otherwise be measured); ``progress(run)``,
    when given, is called after each run.

    Returns
    -------
    dict
        ``runs`` (one :func:`sim_memory` dict per length) and ``peak_ratio``, the last
        peak over the first.
    """
    runs = []
    for vectors in [2] + list(lengths):
        with tempfile.TemporaryDirectory(prefix="cimtile-memory-") as directory:
            runs.append(sim_memory(cfg, config_path, vectors, directory))
        if progress is not None:
            progress(runs[-1])
    runs = runs[1:]
    return {"runs": runs, "peak_ratio": round(runs[-1]["peak_mb"] / runs[0]["peak_mb"], 2)}
