"""Soak: many MVMs through one co-simulation of a tile, every result checked.

Batches of random size follow each other in one run of the bulk drive, each at random
run-time settings (``in_bits``, ``adc_shift``) with its own random TVALID gaps and TREADY
back-pressure, and every few batches the MVM counter is read and a soft reset issued. The
run passes when every batch returns exactly its results, in order, each equal to the golden
model's, in the frames it was sent as, and every MVM_COUNT read equals the results since the
last soft reset. The peak memory of this process and of the simulator are reported, so runs
of different lengths show whether memory grows with the run.

Run as ``python -m cimtile.tb.regression.soak [--mvms N] [--config CFG.toml] [--seed S]`` (``make
soak`` runs 10,000 and 100,000 MVMs on the reference tile); exit status 1 on any
difference.
"""

import argparse
import resource
import sys
import time

import numpy as np

from cimtile.models.golden import golden_mvm
from cimtile.spec.config import load_config, reference_config
from cimtile.spec.host_driver import SOFT_RESET, settings_word
from cimtile.spec.regmap import Mode, register

from ..runs.host_runner import Op, play
from .scenario_check import first_difference

__all__ = ["soak_plan", "soak"]

#: Largest batch of a soak, in vectors.
MAX_BATCH = 2000


def soak_plan(cfg, mvms, rng):
    """Operations, arrays and per-batch expectations of a soak of `mvms` MVMs."""
    ops, arrays, batches = [], {}, []
    since_reset, done = 0, 0
    W = rng.integers(-(2 ** (cfg.tile.w_bits - 1) - 1), 2 ** (cfg.tile.w_bits - 1),
                     (cfg.tile.rows, cfg.tile.cols))
    arrays["W"] = W
    mvm_count, settings = register("MVM_COUNT"), register("SETTINGS")
    while done < mvms:
        n = int(min(mvms - done, rng.integers(1, MAX_BATCH + 1)))
        in_bits = int(rng.integers(1, cfg.tile.in_bits + 1))
        shift = int(rng.integers(0, cfg.adc_shift_max + 1))
        X = rng.integers(-2 ** (in_bits - 1), 2 ** (in_bits - 1), (n, cfg.tile.rows),
                         dtype=np.int8 if cfg.tile.in_bits <= 8 else np.int16)
        name = f"X{len(batches)}"
        arrays[name] = X
        ops.append(Op.write(settings.offset, settings_word(cfg, Mode.COMPUTE, in_bits, shift)))
        ops.append(Op.pauses(float(rng.choice([0.0, 0.05, 0.3])), int(rng.integers(1, 40)),
                             float(rng.choice([0.0, 0.05, 0.3])), int(rng.integers(1, 40))))
        frame = int(rng.choice([1, 7, n]))
        budget = 4 * (n + 4) * (cfg.analog_cycles_per_mvm + 64) + 1000
        ops.append(Op.stream(name, frame, budget, in_bits, shift))
        batches.append((len(ops) - 1, name, in_bits, shift, -(-n // frame)))
        since_reset += n
        done += n
        if rng.random() < 0.25:
            ops.append(Op.read(mvm_count.offset))
            batches.append((len(ops) - 1, None, since_reset, None, None))
            ops.append(Op.write(register("CTRL").offset, SOFT_RESET))
            since_reset = 0
    return ops, arrays, batches


def soak(cfg, mvms, seed=0):
    """Run a soak; return its figures, with ``problems`` (first differences) empty when it
    passed."""
    rng = np.random.default_rng(seed)
    ops, arrays, batches = soak_plan(cfg, mvms, rng)
    start = time.perf_counter()
    played = play(cfg, ops, arrays, drive="bulk")
    wall = time.perf_counter() - start
    problems = list(played.violations)
    checked = 0
    W = arrays["W"]
    for index, name, a, b, frames in batches:
        record = played.records[index]
        if name is None:
            if record["value"] != a:
                problems.append(f"op {index}: MVM_COUNT {record['value']}, expected {a}")
            continue
        expected = golden_mvm(cfg, W, arrays[name], in_bits=a, adc_shift=b)
        difference = first_difference(record["Y"], expected)
        if record.get("timeout") or difference:
            problems.append(f"batch at op {index}: {difference or 'timed out'}")
        elif len(record["frame_vectors"]) != frames:
            problems.append(f"batch at op {index}: {len(record['frame_vectors'])} frames, "
                            f"expected {frames}")
        checked += len(record["Y"])
    return {"mvms": mvms, "batches": sum(1 for b in batches if b[1] is not None),
            "results_checked": checked, "cycles": played.cycles,
            "wall_s": round(wall, 1), "build_s": round(played.build_s, 1),
            "peak_rss_mb_runner": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "peak_rss_mb_simulator":
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024,
            "problems": problems[:10]}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cimtile.tb.regression.soak")
    parser.add_argument("--mvms", type=int, default=100_000)
    parser.add_argument("--config", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.mvms < 1:
        print(f"soak: error: --mvms must be at least 1, not {args.mvms}", file=sys.stderr)
        return 2
    cfg = load_config(args.config) if args.config else reference_config()
    figures = soak(cfg, args.mvms, args.seed)
    for key, value in figures.items():
        if key != "problems":
            print(f"{key:<24} {value}")
    for problem in figures["problems"]:
        print(f"FAIL {problem}")
    return 1 if figures["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
