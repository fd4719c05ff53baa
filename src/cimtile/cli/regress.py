"""The ``cimtile regress`` command: constrained-random seeds, coverage, JUnit XML.

``--seeds N`` runs seeds ``FIRST..FIRST+N-1``; ``--until-covered`` runs seeds from FIRST on
until every declared bin is hit (or ``--time-budget`` is spent); ``--seed S`` runs one seed
in this process, with ``--waves FILE`` recording it: the command every failure prints.
Bad options or output paths exit with status 2 and one line before any work; a failing
seed, or holes left by ``--until-covered``, exit with status 1.
"""

from cimtile.flows.regress import MAX_SEEDS
from cimtile.spec.files import EXIT_FAILURE, InputError, OutputFiles, check_paths

from .options import SEED_MAX, add_cluster_options, bounded_int, seconds, seed_type

__all__ = ["add_commands"]

#: Seeds run when neither --seeds, --until-covered nor --seed is given.
DEFAULT_SEEDS = 8


def _one_seed(args):
    from cimtile.flows.coverage import Coverage
    from cimtile.tb.regression.scenario_check import run_seed
    result = run_seed(args.seed, waves=args.waves, mutant=args.mutant)
    coverage = Coverage(result["coverage"]).add(result["coverage"])
    status = "passed" if result["passed"] else f"FAILED: {result['message']}"
    print(f"seed {args.seed} (config {result['config']}, {result['drive']}): {status}")
    print(f"coverage of this seed: {coverage.hit}/{coverage.total} bins")
    return 0 if result["passed"] else EXIT_FAILURE


def _cmd_regress(args):
    if args.waves is not None and args.seed is None:
        raise InputError("--waves records one seed: give it with --seed")
    check_paths(outputs=[(args.junit, "--junit"), (args.coverage, "--coverage"),
                         (args.waves, "--waves")])
    if args.waves is not None:
        from cimtile.tb.build.build import waves_format
        try:
            waves_format(args.waves)
        except ValueError as error:
            raise InputError(f"--waves: {error}") from None
    from cimtile.tb.tops.mutants import MUTANTS
    if args.mutant is not None and args.mutant not in MUTANTS:
        raise InputError(f"--mutant must be one of {', '.join(MUTANTS)}, not {args.mutant!r}")
    if args.seed is not None:
        return _one_seed(args)
    from cimtile.flows.engine import EngineError, progress_bar
    from cimtile.flows.regress import junit_xml, regress, report
    count = MAX_SEEDS if args.until_covered else args.seeds or DEFAULT_SEEDS
    last = args.first_seed + count - 1
    if last > SEED_MAX:
        raise InputError(f"--first-seed {args.first_seed}: its {count} seeds would pass the "
                         f"largest seed, {SEED_MAX}")
    seeds = range(args.first_seed, last + 1)
    with progress_bar("regress", None if args.until_covered else count) as advance:
        try:
            outcome = regress(seeds, until_covered=args.until_covered,
                              time_budget=args.time_budget, workers=args.workers,
                              scheduler=args.scheduler, dashboard=args.dashboard,
                              mutant=args.mutant,
                              stop_on_failure=args.stop_on_failure, progress=advance)
        except EngineError as error:
            raise InputError(str(error)) from None
    print(report(outcome))
    with OutputFiles() as outputs:
        if args.junit:
            outputs.stage(args.junit, "--junit", lambda f: f.write(junit_xml(outcome).encode()))
        if args.coverage:
            text = outcome.coverage.to_json(seeds=[r["seed"] for r in outcome.results],
                                             failed=[r["seed"] for r in outcome.failures])
            outputs.stage(args.coverage, "--coverage", lambda f: f.write(text.encode()))
    holes = args.until_covered and outcome.coverage.holes()
    return EXIT_FAILURE if outcome.failures or holes else 0


def add_commands(commands):
    """Add ``regress`` to the ``cimtile`` subparsers ``commands``."""
    p = commands.add_parser("regress", help="constrained-random co-simulation seeds with "
                            "functional coverage, on Dask")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--seeds", type=bounded_int(1, MAX_SEEDS), default=None, metavar="N",
                       help=f"run N seeds, 1..{MAX_SEEDS} (default {DEFAULT_SEEDS})")
    which.add_argument("--until-covered", action="store_true",
                       help="run seeds until every declared bin is hit")
    which.add_argument("--seed", type=seed_type(), default=None, metavar="S",
                       help=f"run seed S (0..{SEED_MAX}) alone in this process (the "
                       "reproduce command)")
    p.add_argument("--first-seed", type=seed_type(), default=0, metavar="K",
                   help="first seed of --seeds or --until-covered (default 0)")
    p.add_argument("--time-budget", type=seconds, default=None, metavar="S",
                   help="submit no seed after S seconds (at most a week)")
    p.add_argument("--junit", default=None, metavar="FILE.xml", help="JUnit XML report")
    p.add_argument("--coverage", default=None, metavar="FILE.json",
                   help="merged coverage, every bin's count")
    add_cluster_options(p, min_workers=1)
    p.add_argument("--waves", default=None, metavar="FILE",
                   help="with --seed: record a VCD or FST trace")
    from cimtile.tb.tops.mutants import MUTANTS
    p.add_argument("--mutant", default=None, metavar="NAME",
                   help="run against the RTL with a deliberate bug (mutation analysis): "
                   + ", ".join(MUTANTS))
    p.add_argument("--stop-on-failure", action="store_true",
                   help="stop at the first failing seed")
    p.set_defaults(run=_cmd_regress)
