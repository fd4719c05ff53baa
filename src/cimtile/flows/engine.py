"""Run independent jobs (regression seeds, sweep points) on Dask, with a progress bar.

By default a :class:`distributed.LocalCluster` of ``workers`` processes, one thread each,
runs the jobs on this machine; given a scheduler address (``tcp://HOST:PORT``) the same jobs
go to an existing Dask cluster instead. Each job is a plain function of one argument,
importable by name on the workers, that returns plain data; the Verilator builds it needs
come from each worker's build cache, so a configuration is built once per machine.

A local cluster shares nothing with other clusters on the machine: it listens on loopback
only, on ports the system picks, serves its dashboard only when asked, keeps its scratch
files in a temporary directory of its own (removed when it stops), and its library warnings
(a dashboard port taken, say) never reach the user.
"""

import contextlib
import re
import shutil
import sys
import tempfile
import warnings

from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn)

from .process_tree import no_descendants_left

__all__ = ["EngineError", "check_address", "progress_bar", "run_jobs"]

_ADDRESS = re.compile(r"(tcp://)?(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])"
                      r":(?P<port>[0-9]{1,5})")


class EngineError(RuntimeError):
    """The cluster could not be reached or started; the message names the address."""


def check_address(text):
    """`text` if it is ``[tcp://]HOST:PORT`` with a port in 1..65535, else ValueError: a
    malformed address is refused before any work, not deep inside Dask."""
    match = _ADDRESS.fullmatch(text)
    if match is None or not 1 <= int(match["port"]) <= 65535:
        raise ValueError(f"must be [tcp://]HOST:PORT with a port in 1..65535, not {text!r}")
    return text


@contextlib.contextmanager
def progress_bar(label, total, *, enabled=None, stream=None):
    """A progress bar on `stream` (standard error) when it is a terminal.

    Yields a function ``advance(text="", amount=1)`` to call as jobs finish.
    """
    stream = sys.stderr if stream is None else stream
    if enabled is None:
        enabled = stream.isatty()
    if not enabled:
        yield lambda text="", amount=1: None
        return
    from rich.console import Console
    columns = (TextColumn(f"{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[text]}"))
    with Progress(*columns, console=Console(file=stream), transient=False) as bar:
        task = bar.add_task(label, total=total, text="")
        yield lambda text="", amount=1: bar.update(task, advance=amount, text=str(text))


@contextlib.contextmanager
def _client(workers, scheduler, dashboard):
    from distributed import Client
    if scheduler:
        try:
            client = Client(scheduler, timeout="3s")
        except (OSError, TimeoutError, ValueError) as error:
            raise EngineError(f"--scheduler {scheduler}: cannot connect ({error})") from None
        with client:
            yield client
        return
    with _local_cluster(workers, dashboard) as cluster, Client(cluster) as client:
        yield client


@contextlib.contextmanager
def _local_cluster(workers, dashboard):
    import dask
    from distributed import LocalCluster
    # Without a dashboard the scheduler still serves HTTP (health, metrics): on port 0, so
    # it never contends for the dashboard's well-known port.
    http = dict(dashboard_address=dashboard) if dashboard else \
        dict(dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    # The workers' temporary files go there too: a worker stopped mid-job cannot clean up.
    # Builds and simulators of a worker stopped mid-job are killed with it.
    scratch = tempfile.mkdtemp(prefix="cimtile-dask-")
    try:
        with no_descendants_left():
            with warnings.catch_warnings(), \
                    dask.config.set({"temporary-directory": scratch}):
                warnings.simplefilter("ignore")
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                       processes=True, host="127.0.0.1",
                                       env={"TMPDIR": scratch}, silence_logs=50, **http)
            with cluster:
                if dashboard:
                    print(f"cimtile: dashboard at {cluster.dashboard_link}", file=sys.stderr)
                yield cluster
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_jobs(function, jobs, *, workers=2, scheduler=None, dashboard=None, in_flight=None):
    """Run ``function(job)`` for every job of the iterable `jobs` on Dask.

    At most `in_flight` jobs (default: twice the workers) are submitted ahead, so `jobs` may
    be endless and the caller may stop early by closing the generator, which cancels the
    jobs still running.

    Parameters
    ----------
    function : callable
        A module-level function (workers import it by name).
    jobs : iterable
    workers : int
        Processes of the local cluster (ignored with `scheduler`); 0 runs the jobs one
        after another in this process, without Dask.
    scheduler : str, optional
        Address of an existing Dask scheduler.
    dashboard : str, optional
        ``HOST:PORT`` of the local cluster's dashboard (none by default), announced on
        standard error with its link.

    Yields
    ------
    (job, result)
        In the order the jobs finish.

    Raises
    ------
    EngineError
        If `scheduler` cannot be reached.
    """
    jobs = iter(jobs)
    if not workers and not scheduler:
        for job in jobs:
            yield job, function(job)
        return
    from distributed import as_completed
    with _client(workers, scheduler, dashboard) as client:
        limit = in_flight or 2 * max(1, sum(client.nthreads().values()) or workers)
        running = {}

        def submit():
            for job in jobs:
                future = client.submit(function, job, pure=False)
                running[future] = job
                return future
            return None

        pending = as_completed([f for f in (submit() for _ in range(limit)) if f is not None])
        try:
            for future in pending:
                job = running.pop(future)
                result = future.result()
                follow = submit()
                if follow is not None:
                    pending.add(follow)
                yield job, result
        finally:
            for future in running:
                future.cancel()
