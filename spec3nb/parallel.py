"""Executors that run one step over many sources: local threads, or a Dask cluster.

Stage-3 processing of NIRSpec MOS and WFSS is independent per source, so each node maps
its step over the sources through an executor. Locally that is a thread pool (numpy and the
drizzle kernels release the GIL); with ``dask.distributed`` it is the cluster's workers,
which keep each step's results for the next step and send back only what a step changed
(:class:`DaskExecutor`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import io
import multiprocessing
import os
import pickle
import threading
import warnings
import weakref
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
        # catch_warnings is not thread-safe (steps use it): the outer one restores the
        # warning filters once the threads are done.
        with warnings.catch_warnings(), \
                ThreadPoolExecutor(max_workers=min(self.max_workers, len(items))) as pool:
            return list(pool.map(fn, items))

    def __repr__(self) -> str:
        return f"LocalExecutor(max_workers={self.max_workers})"


class DaskExecutor:
    """The workers of a ``dask.distributed`` cluster, keeping the data there between steps.

    Sources go to the workers in small chunks (a few per task, several tasks per worker:
    fewer tasks for the scheduler, which runs in this process, while the load stays
    balanced), each chunk scattered as soon as the previous ones are computing. A step's
    results stay on the worker that computed them (as futures), and the next step runs on
    them where they lie: the products cross to the workers once, when they first enter
    the cluster (after exp_to_source). Every result also comes back to this process (the
    graph holds, caches and shows values, not futures), but only what the step changed
    travels: the products, parts, WCS objects and arrays that a result shares with its
    input are sent as references and rebuilt here from the input this process already
    holds (:func:`encode_result`, :func:`decode_result`). Results are fetched as chunks
    complete, so decoding here overlaps the workers' computing.

    Parameters
    ----------
    client : dask.distributed.Client
        A connected client. Items and results travel between processes, so they must
        pickle (spec3nb products do).
    chunk_size : int, optional
        Items per task (default: about 12 tasks per worker thread, at most 8 items each).

    Notes
    -----
    The worker processes that dask's nanny starts fix glibc's malloc thresholds
    (``MALLOC_TRIM_THRESHOLD_=65536``), which makes every large numpy temporary a fresh
    ``mmap`` and the steps about 1.5x slower there than in this process; clusters made by
    :func:`local_cluster` start their workers without it.
    """

    def __init__(self, client: Any, chunk_size: int | None = None) -> None:
        self.client = client
        self.chunk_size = chunk_size
        # id(result given out) -> (future of its chunk's results on the cluster, index in
        # it). An entry lives as long as the result object does (weakref.finalize).
        self._kept: dict[int, tuple[Any, int]] = {}

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        """Apply `fn` to every item on the cluster; the results stay there as well."""
        items = list(items)
        if not items:
            return []
        try:
            return self._map(fn, items, reuse=True)
        except _lost_errors():
            # A worker that held kept results died: send everything again, once.
            self._kept.clear()
            return self._map(fn, items, reuse=False)

    def _size(self, count: int) -> int:
        if self.chunk_size:
            return self.chunk_size
        slots = max(1, sum(self.client.nthreads().values()))
        return max(1, min(8, -(-count // (12 * slots))))

    def _map(self, fn: Callable[[Any], Any], items: list[Any], reuse: bool) -> list[Any]:
        from dask.distributed import as_completed

        groups: dict[Any, tuple[Any, list[int], list[int]]] = {}
        new = []
        for position, item in enumerate(items):
            entry = self._kept.get(id(item)) if reuse else None
            if entry is None:
                new.append(position)
            else:  # computed by the last step: run where it lies
                group = groups.setdefault(entry[0].key, (entry[0], [], []))
                group[1].append(position)
                group[2].append(entry[1])
        tasks = [self._submit(fn, chunk, positions, indices)
                 for chunk, positions, indices in groups.values()]
        size = self._size(len(new))
        for start in range(0, len(new), size):
            positions = new[start:start + size]
            # Scattered, the items travel straight to a worker (the chunks go round the
            # workers); passed to submit they would go through the scheduler.
            [chunk] = self.client.scatter([[items[p] for p in positions]], hash=False)
            tasks.append(self._submit(fn, chunk, positions, list(range(len(positions)))))
        where = {changes.key: (results, positions) for results, changes, positions in tasks}
        found: list[Any] = [None] * len(items)
        for changes, payloads in as_completed([t[1] for t in tasks], with_results=True):
            if isinstance(payloads, BaseException):
                raise payloads  # as_completed hands a cancelled future's error over
            results, positions = where[changes.key]
            for index, (position, payload) in enumerate(zip(positions, payloads,
                                                            strict=True)):
                found[position] = decode_result(payload, items[position])
                self._keep(found[position], results, index)
        return found

    def _submit(self, fn: Callable[[Any], Any], chunk: Any, positions: list[int],
                indices: list[int]) -> tuple[Any, Any, list[int]]:
        results = self.client.submit(_apply_chunk, fn, chunk, indices, pure=False)
        changes = self.client.submit(_encode_chunk, results, chunk, indices, pure=False)
        return results, changes, positions

    def _keep(self, value: Any, results: Any, index: int) -> None:
        try:
            weakref.finalize(value, self._kept.pop, id(value), None)
        except TypeError:
            return  # not weak-referenceable (a plain tuple, an int): not kept
        self._kept[id(value)] = (results, index)

    def __repr__(self) -> str:
        return f"DaskExecutor({self.client!r})"


def _apply_chunk(fn: Callable[[Any], Any], chunk: Sequence[Any], indices: list[int]
                 ) -> list[Any]:
    """On a worker: `fn` of the chunk's items at `indices`."""
    return [fn(chunk[i]) for i in indices]


def _encode_chunk(results: list[Any], chunk: Sequence[Any], indices: list[int]
                  ) -> list[bytes]:
    """On a worker: each result encoded against its input (:func:`encode_result`)."""
    return [encode_result(r, chunk[i]) for r, i in zip(results, indices, strict=True)]


def _lost_errors() -> tuple[type[BaseException], ...]:
    """The exceptions of a future whose data is gone with its worker."""
    import asyncio

    from distributed.client import FutureCancelledError

    return (FutureCancelledError, asyncio.CancelledError)


def local_cluster(n_workers: int, **options: Any) -> Any:
    """A ``dask.distributed.LocalCluster`` of single-threaded worker processes for spec3nb.

    The workers keep glibc's adaptive malloc thresholds (dask's nanny would set
    ``MALLOC_TRIM_THRESHOLD_``, which slows the steps' array temporaries about 1.5x).

    Parameters
    ----------
    n_workers : int
        Worker processes.
    **options
        More ``LocalCluster`` options (they override the defaults here).

    Returns
    -------
    dask.distributed.LocalCluster
        The running cluster (use it as a context manager, or close it).
    """
    import dask
    from dask.distributed import LocalCluster

    settings = {"n_workers": n_workers, "threads_per_worker": 1, "processes": True,
                "dashboard_address": None, **options}
    # A nanny started earlier in this process (any plain LocalCluster) leaves the variable
    # in os.environ, where new workers would inherit it: it is hidden while they start.
    inherited = os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_":
                              None}):
            return LocalCluster(**settings)
    finally:
        if inherited is not None:
            os.environ["MALLOC_TRIM_THRESHOLD_"] = inherited


def _shared(item: Any) -> list[Any]:
    """The objects of `item` a result may share with it, in an order that both copies of
    `item` (on the worker and here) give alike: products, their WCS, parts, their WCS and
    arrays; for a source (``SourceData``) those of its products, exposures and outputs."""
    from spec3nb.datamodels.products import Product

    if isinstance(item, Product):
        products: Iterable[Any] = (item,)
    else:
        outputs = getattr(item, "outputs", ())
        products = (*getattr(item, "products", ()), *getattr(item, "exposures", ()),
                    *(getattr(o, "product", None) for o in outputs))
    found: list[Any] = []
    for product in products:
        if not isinstance(product, Product):
            found.append(None)  # keeps the positions of both copies aligned
            continue
        found += [product, product.wcs]
        for part in product.parts:
            found += [part, part.wcs, *part.arrays.values()]
    return found


class _RefPickler(pickle.Pickler):
    """Pickles objects of the input as their position in :func:`_shared`."""

    def __init__(self, file: io.BytesIO, positions: dict[int, int]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._positions = positions

    def persistent_id(self, obj: Any) -> int | None:
        return self._positions.get(id(obj))


class _RefUnpickler(pickle.Unpickler):
    """Rebuilds the references of :class:`_RefPickler` from this process's input."""

    def __init__(self, file: io.BytesIO, shared: list[Any]) -> None:
        super().__init__(file)
        self._shared = shared

    def persistent_load(self, pid: Any) -> Any:
        return self._shared[pid]


def encode_result(result: Any, item: Any) -> bytes:
    """Pickle `result` with what it shares with `item` (its input) as references.

    Runs on the worker. Whatever a step passed on unchanged (the exposures after
    resample_spec, the WCS and untouched arrays of an evolved part ...) costs a few bytes.

    Parameters
    ----------
    result : Any
        What ``fn(item)`` returned.
    item : Any
        The input it was computed from.

    Returns
    -------
    bytes
        For :func:`decode_result`.
    """
    positions = {id(obj): n for n, obj in enumerate(_shared(item)) if obj is not None}
    buffer = io.BytesIO()
    buffer.write(b"R")
    try:
        _RefPickler(buffer, positions).dump(result)
    except (pickle.PicklingError, TypeError, AttributeError):
        # Something plain pickle cannot do (a local function ...): the whole result.
        import cloudpickle

        return b"C" + cloudpickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    return buffer.getvalue()


def decode_result(payload: bytes, item: Any) -> Any:
    """Rebuild a result from :func:`encode_result`'s bytes and this process's copy of
    its input `item` (equal to the worker's, so the references resolve to equal objects).

    Parameters
    ----------
    payload : bytes
        The encoded result.
    item : Any
        The input, as held here.

    Returns
    -------
    Any
        The result.
    """
    if payload[:1] == b"C":
        return pickle.loads(payload[1:])
    return _RefUnpickler(io.BytesIO(payload[1:]), _shared(item)).load()


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


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def release_free_heap() -> bool:
    """Give the C heap's free pages back to the operating system (glibc only).

    The steps allocate and free many mid-sized arrays; glibc keeps the freed pages mapped
    for reuse, so a long batch run's resident memory creeps up although its live data does
    not. Forked children would share those pages, and they count in the run's peak.

    Returns
    -------
    bool
        Whether anything was released (False where there is no ``malloc_trim``).
    """
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False


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
    `items` in the memory they inherit. Results travel back pickled (cheap for paths;
    a read product costs about a tenth of reading it). Falls back to a plain loop for one
    process, one item, or when forking is unsafe (:func:`fork_safe`).

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
    return ForkedJobs(fn, items, processes).join()


class ForkedJobs:
    """:func:`fork_map` started in the background: this process goes on meanwhile.

    The children are forked at once, so they see `items` as they are now; :meth:`join`
    waits for them and returns the results. While the jobs run this process has the
    pool's helper threads, so no other fork can start (:func:`fork_safe`) before `join`.

    Parameters
    ----------
    fn : callable
        Applied to each item (in a child process).
    items : Sequence
        The items.
    processes : int, optional
        Worker processes (default: the number of CPUs). With one process, one item, or
        where forking is unsafe, the jobs run here, before the constructor returns.
    """

    def __init__(self, fn: Callable[[Any], Any], items: Sequence[Any],
                 processes: int | None = None) -> None:
        global _FORK_JOBS
        self._results: list[Any] | None = None
        self._pool: Any = None
        self._pending: Any = None
        processes = min(processes or os.cpu_count() or 1, len(items))
        if processes < 2 or not fork_safe():
            self._results = [fn(item) for item in items]
            return
        release_free_heap()  # the children start from (and share) a smaller heap
        with _FORK_LOCK:
            _FORK_JOBS = (fn, items)
            # Objects made so far move to a permanent generation: the children's garbage
            # collections then leave them alone instead of writing to (and so copying)
            # every page that holds one, which would add the parent's heap to each child.
            # The children keep that state; this process thaws at once (unless its
            # caller froze objects before: unfreezing cannot tell them apart).
            frozen_before = gc.get_freeze_count()
            gc.freeze()
            try:
                self._pool = multiprocessing.get_context("fork").Pool(processes)
            finally:
                if not frozen_before:
                    gc.unfreeze()
                _FORK_JOBS = None
        self._pending = self._pool.map_async(_fork_job, range(len(items)), chunksize=1)

    def join(self) -> list[Any]:
        """Wait for the jobs; return their results in item order (or raise the first
        exception of a child)."""
        if self._results is None:
            try:
                self._results = self._pending.get()
            finally:  # every job is done, or one failed: stop the children either way
                self._pool.terminate()
                self._pool.join()
                self._pool = self._pending = None
        return self._results
