"""Executors that run one step over many sources: local threads, or a Dask cluster.

Stage-3 processing of NIRSpec MOS and WFSS is independent per source, so each node maps
its step over the sources through an executor. Locally that is a thread pool (numpy and the
drizzle kernels release the GIL); with ``dask.distributed`` it is the cluster's workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
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
        futures = self.client.map(fn, items, pure=False)
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
