"""``python -m cimtile.flows.formal``: every property set in every mode, the k-induction proof
included, on each configuration of :func:`~.checks.formal_configs`, and once each set that
does not depend on the tile (what ``make formal`` runs), or those chosen by ``--config`` and
``--set``. Exit status 1 if any check fails.
Interrupted, it ends every tool it started (see :func:`~.sby.run_sby`) and exits 130
(SIGINT) or 143 (SIGTERM) after one line on stderr."""

import argparse
import sys
import time
from pathlib import Path

from ..process_tree import exit_status_on_interrupt
from .checks import PROPERTY_SETS, formal_configs, run_checks
from .sby import FormalToolError


def main(argv=None):
    return exit_status_on_interrupt("formal", lambda: _run(argv))


def _run(argv):
    parser = argparse.ArgumentParser(prog="python -m cimtile.flows.formal", description=__doc__)
    configs = formal_configs()
    parser.add_argument("--out", default="build/formal", metavar="DIR",
                        help="work directory (default build/formal)")
    parser.add_argument("--config", action="append", choices=list(configs), metavar="NAME",
                        help="check only this configuration (repeat for several): "
                        + ", ".join(configs))
    parser.add_argument("--set", action="append", choices=list(PROPERTY_SETS),
                        metavar="NAME", help="check only this property set (repeat for "
                        "several): " + ", ".join(PROPERTY_SETS))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    failed = total = 0
    tile_sets = [n for n in args.set or PROPERTY_SETS if PROPERTY_SETS[n].of_the_tile]
    chip_sets = [n for n in args.set or PROPERTY_SETS if not PROPERTY_SETS[n].of_the_tile]
    runs = []
    if tile_sets:
        runs += [(name, configs[name], tile_sets) for name in args.config or configs]
    # The sets that do not depend on the tile run once: when named, or when no
    # configuration is.
    if chip_sets and (args.set or not args.config):
        runs.append(("chip", next(iter(configs.values())), chip_sets))
    for name, config, sets in runs:
        t = config.tile
        print("the sets that do not depend on the tile" if name == "chip" else
              f"config {name}: rows {t.rows}, cols {t.cols} ({config.cols_phys} physical, "
              f"{config.n_adcs} ADCs of {t.cols_per_adc}), in_bits {t.in_bits}, w_bits "
              f"{t.w_bits} in {config.slices} slices, adc_bits {t.adc_bits}, t_settle "
              f"{config.timing.t_settle}, t_adc {config.timing.t_adc}"
              + (f", {config.timing.adc_per_step} conversions a step"
                 if config.timing.adc_per_step > 1 else "")
              + (", pipelined" if t.pipeline else ""), flush=True)
        try:
            results = run_checks(config, sets=sets, modes=("bmc", "prove", "cover"),
                                 out=Path(args.out) / name)
        except FormalToolError as error:
            print(f"formal: error: {error}", file=sys.stderr)
            return 1
        total += len(results)
        failed += sum(not r.passed for r in results)
    print(f"{total - failed} passed, {failed} failed in {time.perf_counter() - start:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
