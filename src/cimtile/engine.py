"""Run independent jobs (regression seeds, sweep points) on Dask, with a progress bar.

By default a :class:`distributed.LocalCluster` of ``workers`` processes, one thread each,
runs the jobs on this machine; given a scheduler address (``tcp://HOST:PORT``) the same jobs
go to an existing Dask cluster instead. Each job is a plain function of one argument,
importable by name on the workers, that returns plain data; the Verilator builds it needs
come from each worker's build cache, so a configuration is built once per machine.
"""

import contextlib
import sys

from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn)

__all__ = ["EngineError", "progress_bar", "run_jobs"]


class EngineError(RuntimeError):
    """The cluster could not be reached or started; the message names the address."""


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
def _client(workers, scheduler):
    from distributed import Client, LocalCluster
    if scheduler:
        try:
            client = Client(scheduler, timeout="3s")
        except (OSError, TimeoutError) as error:
            raise EngineError(f"--scheduler {scheduler}: cannot connect ({error})") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=50) as cluster, \
            Client(cluster) as client:
        yield client


def run_jobs(function, jobs, *, workers=2, scheduler=None, in_flight=None):
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
    with _client(workers, scheduler) as client:
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
