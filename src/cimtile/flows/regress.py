"""The regression: constrained-random seeds run on Dask, coverage merged, JUnit XML written.

Each seed is one co-simulation of a random scenario (:mod:`cimtile.tb.regression.random_scenario`),
checked against the register map, the golden model and the golden write-verify
(:mod:`cimtile.tb.regression.scenario_check`), with the coverage monitor's counters read out at its
end. Seeds are independent, so they run on any worker of a Dask cluster
(:mod:`cimtile.flows.engine`); their coverage adds up bin by bin (:mod:`cimtile.flows.coverage`).
The declared bins are the union over the configuration pool, since a bin such as
``in_bits=6`` exists only on tiles that have it.
"""

import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field

from .coverage import Coverage

__all__ = ["RegressionResult", "declared_coverage", "regress", "junit_xml", "report"]

#: Seeds ``--until-covered`` tries at most when no time budget stops it first.
MAX_SEEDS = 5000


def declared_coverage():
    """An empty :class:`Coverage` of every bin the pool's tiles declare."""
    from cimtile.tb.regression.random_scenario import POOL_SIZE
    from cimtile.tb.regression.scenario_check import declared_bins
    names = []
    for index in range(POOL_SIZE):
        names += [name for name in declared_bins(index) if name not in names]
    return Coverage(names)


@dataclass
class RegressionResult:
    """Seeds run, their outcomes and the merged coverage."""
    results: list = field(default_factory=list)
    coverage: Coverage = None
    wall_s: float = 0.0
    mutant: str = None

    @property
    def failures(self):
        return [r for r in self.results if not r["passed"]]


def _seed_job(job):
    from cimtile.tb.regression.scenario_check import run_seed
    seed, mutant = job
    return run_seed(seed, mutant=mutant)


def regress(seeds, *, until_covered=False, time_budget=None, workers=2, scheduler=None,
            dashboard=None, mutant=None, stop_on_failure=False, progress=None):
    """Run `seeds` (an iterable of ints) and merge their coverage.

    With `until_covered`, stop as soon as every declared bin is hit; with
    `stop_on_failure`, at the first failing seed; with `time_budget` (seconds), submit no
    seed after it is spent. `workers`, `scheduler` and `dashboard` are as for
    :func:`cimtile.flows.engine.run_jobs`. `mutant` names a deliberate RTL bug
    (:data:`cimtile.tb.tops.mutants.MUTANTS`) to run the seeds against. Returns a
    :class:`RegressionResult`.
    """
    from .engine import run_jobs
    start = time.perf_counter()
    outcome = RegressionResult(coverage=declared_coverage())

    def seed_stream():
        for seed in seeds:
            if time_budget is not None and time.perf_counter() - start > time_budget:
                return
            yield seed, mutant

    outcome.mutant = mutant
    jobs = run_jobs(_seed_job, seed_stream(), workers=workers, scheduler=scheduler,
                    dashboard=dashboard)
    try:
        for (seed, _), result in jobs:
            outcome.results.append(result)
            outcome.coverage.add(result["coverage"])
            if progress:
                progress(f"seed {seed} {'ok' if result['passed'] else 'FAIL'}, "
                         f"{outcome.coverage.percent:.1f} % covered")
            if until_covered and not outcome.coverage.holes():
                break
            if stop_on_failure and not result["passed"]:
                break
    finally:
        jobs.close()
    outcome.results.sort(key=lambda r: r["seed"])
    outcome.wall_s = time.perf_counter() - start
    return outcome


def junit_xml(outcome):
    """JUnit XML text: one testcase per seed, each failure with its message and the command
    that reproduces it."""
    from cimtile.tb.regression.scenario_check import repro_command
    suite = ElementTree.Element("testsuite", name="cimtile.flows.regress",
                                tests=str(len(outcome.results)),
                                failures=str(len(outcome.failures)), errors="0",
                                time=f"{outcome.wall_s:.3f}")
    for r in outcome.results:
        case = ElementTree.SubElement(suite, "testcase",
                                      classname=f"regress.config{r['config']}.{r['drive']}",
                                      name=f"seed {r['seed']}", time=f"{r['wall_s']:.3f}")
        if not r["passed"]:
            failure = ElementTree.SubElement(case, "failure", message=r["message"],
                                             type="CheckFailed")
            failure.text = (f"{r['message']}\nreproduce: "
                            f"{repro_command(r['seed'], outcome.mutant)}\n")
    ElementTree.SubElement(suite, "properties")
    prop = suite.find("properties")
    ElementTree.SubElement(prop, "property", name="coverage_percent",
                           value=f"{outcome.coverage.percent:.2f}")
    root = ElementTree.Element("testsuites")
    root.append(suite)
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def report(outcome):
    """The text a regression prints: failures with their reproduce commands, the coverage
    table and a summary line."""
    from cimtile.tb.regression.scenario_check import repro_command
    lines = []
    for r in outcome.failures:
        lines.append(f"FAIL seed {r['seed']} (config {r['config']}, {r['drive']}): "
                     f"{r['message']}")
        lines.append(f"  reproduce: {repro_command(r['seed'], outcome.mutant)}")
    lines.append(outcome.coverage.table())
    passed = len(outcome.results) - len(outcome.failures)
    mvms = sum(r["mvms"] for r in outcome.results)
    lines.append(f"{len(outcome.results)} seeds: {passed} passed, {len(outcome.failures)} "
                 f"failed; {mvms} MVMs checked; coverage {outcome.coverage.hit}/"
                 f"{outcome.coverage.total} bins ({outcome.coverage.percent:.1f} %) in "
                 f"{outcome.wall_s:.1f} s")
    return "\n".join(lines)
