"""Where sweep tasks run: serially in this process, on a Dask ``LocalCluster``, or on a
running Dask cluster given by its scheduler's address.

``--scheduler`` takes ``local`` (default: a LocalCluster of one single-threaded worker
process per core), ``none`` (serially here, for debugging: exceptions keep their
tracebacks) or an address such as ``tcp://10.0.0.5:8786``. What every task shares is
sent once per worker (``scatter(..., broadcast=True)``); each task then carries only its
few parameters. A worker that dies has its running task rescheduled by Dask's scheduler on
another worker (``distributed.scheduler.allowed-failures`` times, default 3).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from neurocc.compiler.errors import NeuroccError

LOCAL, SERIAL = "local", "none"


class Executor(Protocol):
    """Runs ``function(item, shared)`` for every item and yields (index, result) as each
    finishes (a lost task yields (index, exception))."""

    description: str

    def run(self, function: Callable[[Any, Any], Any], items: Sequence[Any],
            shared: Any) -> Iterator[tuple[int, Any]]: ...


class SerialExecutor:
    description = "serially in this process"

    def run(self, function: Callable[[Any, Any], Any], items: Sequence[Any],
            shared: Any) -> Iterator[tuple[int, Any]]:
        for index, item in enumerate(items):
            yield index, function(item, shared)


class DaskExecutor:
    """Tasks on a ``distributed.Client``; the shared data scattered to every worker once."""

    def __init__(self, client: Any, description: str) -> None:
        self.client = client
        self.description = description

    def run(self, function: Callable[[Any, Any], Any], items: Sequence[Any],
            shared: Any) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        handle = self.client.scatter(shared, broadcast=True, hash=False)
        futures = {self.client.submit(function, item, handle, pure=False): index
                   for index, item in enumerate(items)}
        try:
            for future in as_completed(futures):
                try:
                    yield futures[future], future.result()
                except Exception as exc:  # a lost task is reported, not fatal
                    yield futures[future], exc
        finally:
            self.client.cancel(list(futures))


def worker_count() -> int:
    """One worker per core the process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        (os.cpu_count() or 1)


@contextlib.contextmanager
def open_executor(scheduler: str | None = LOCAL, n_workers: int | None = None
                  ) -> Iterator[Executor]:
    """The executor ``scheduler`` names (see the module docstring), closed afterwards."""
    scheduler = scheduler or LOCAL
    if scheduler == SERIAL:
        yield SerialExecutor()
        return
    from distributed import Client, LocalCluster

    if scheduler == LOCAL:
        workers = n_workers or worker_count()
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
                Client(cluster) as client:
            yield DaskExecutor(client, f"a LocalCluster of {workers} worker processes")
        return
    try:
        client = Client(scheduler, timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise NeuroccError(f"--scheduler {scheduler}", f"cannot be reached ({exc}).",
                           "Start one with `dask scheduler` and `dask worker ADDRESS`, give "
                           "'local' for a cluster on this machine, or 'none' to run here.")\
            from exc
    with client:
        workers = len(client.scheduler_info().get("workers", {}))
        yield DaskExecutor(client, f"the Dask cluster at {scheduler} ({workers} workers)")
