"""Executors that run one step over many sources: local threads, or a Dask cluster.

Stage-3 processing of NIRSpec MOS and WFSS is independent per source, so each node maps
its step over the sources through an executor. Locally that is a thread pool (numpy and the
drizzle kernels release the GIL); with ``dask.distributed`` it is the cluster's workers.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol


class Executor(Protocol):
    """What the graph needs from an executor."""

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        """Return ``[fn(item) for item in items]``, computed in any order, in item order."""
        ...


class LocalExecutor:
    """Threads in this process.

    Parameters
    ----------
    max_workers : int, optional
        Threads to use (default: the number of CPUs); 1 runs everything in the caller.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers or os.cpu_count() or 1

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        """Apply `fn` to every item."""
        items = list(items)
        if self.max_workers == 1 or len(items) < 2:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(items))) as pool:
            return list(pool.map(fn, items))

    def __repr__(self) -> str:
        return f"LocalExecutor(max_workers={self.max_workers})"


class DaskExecutor:
    """The workers of a ``dask.distributed`` cluster.

    Parameters
    ----------
    client : dask.distributed.Client
        A connected client. Items and results travel between processes, so they must
        pickle (spec3nb products do).
    """

    def __init__(self, client: Any) -> None:
        self.client = client

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        """Apply `fn` to every item on the cluster."""
        items = list(items)
        if not items:
            return []
        # Scatter first: the items travel straight to the workers, once. Passed to map
        # directly they would be embedded in the task graph, sent to the scheduler and
        # from there to the workers (dask warns about such large graphs).
        scattered = self.client.scatter(items, hash=False)
        futures = self.client.map(fn, scattered, pure=False)
        return self.client.gather(futures)

    def __repr__(self) -> str:
        return f"DaskExecutor({self.client!r})"


def as_executor(executor: Any) -> Executor:
    """Return an executor: None -> local threads; a Dask client -> its cluster; else as is.

    Parameters
    ----------
    executor : Any
        None, a ``dask.distributed.Client``, or an object with ``map(fn, items)``.

    Returns
    -------
    Executor
        Something with a ``map`` that returns a list in item order.
    """
    if executor is None:
        return LocalExecutor()
    if type(executor).__name__ == "Client" and hasattr(executor, "gather"):
        return DaskExecutor(executor)
    if not callable(getattr(executor, "map", None)):
        raise TypeError(f"{executor!r} is not an executor (it has no map method)")
    return executor


# The jobs of the running fork_map, read by the forked children from the memory they
# inherit: the products are never pickled on the way in.
_FORK_JOBS: tuple[Callable[[Any], Any], Sequence[Any]] | None = None
_FORK_LOCK = threading.Lock()


def _fork_job(index: int) -> Any:
    fn, items = _FORK_JOBS  # type: ignore[misc]
    return fn(items[index])


def fork_safe() -> bool:
    """Whether worker processes can be forked from this process now: Linux-like ``fork``
    is available and this is the only thread (forking a process whose other threads may
    hold locks can deadlock the children)."""
    return ("fork" in multiprocessing.get_all_start_methods()
            and threading.active_count() == 1)


def fork_map(fn: Callable[[Any], Any], items: Sequence[Any], processes: int | None = None
             ) -> list[Any]:
    """Return ``[fn(item) for item in items]`` computed in forked worker processes.

    Writing JWST files is Python-bound (schema validation, ASDF and FITS serialisation)
    and holds the GIL, so threads do not speed it up; forked processes do, and they see
    `items` in the memory they inherit. Results travel back pickled, so they should be
    small (paths). Falls back to a plain loop for one process, one item, or when forking
    is unsafe (:func:`fork_safe`).

    Parameters
    ----------
    fn : callable
        Applied to each item (in a child process).
    items : Sequence
        The items.
    processes : int, optional
        Worker processes (default: the number of CPUs).

    Returns
    -------
    list
        The results, in item order; the first exception of a child is raised here.
    """
    global _FORK_JOBS
    processes = min(processes or os.cpu_count() or 1, len(items))
    if processes < 2 or not fork_safe():
        return [fn(item) for item in items]
    with _FORK_LOCK:
        _FORK_JOBS = (fn, items)
        try:
            context = multiprocessing.get_context("fork")
            with context.Pool(processes) as pool:
                return pool.map(_fork_job, range(len(items)), chunksize=1)
        finally:
            _FORK_JOBS = None
