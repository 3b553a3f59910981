"""The reactive graph: nodes, edges, invalidation, and running what is stale.

A parameter change or a new upstream result marks a node and its descendants stale and
nothing else. ``run()`` recomputes the stale nodes in topological order in the caller's
thread and raises the first error; in auto mode a debounced background thread does the
same, and a result whose node was invalidated while it was computed is never published.
Results are cached by recipe (node, parameters, upstream results), so going back to an
earlier parameter value is instant.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback as tb
from collections.abc import Iterator, Sequence
from typing import Any

from spec3nb.graph.cache import ResultCache
from spec3nb.graph.events import DONE, ERROR, QUEUED, RUNNING, SKIPPED, STALE, EventLog
from spec3nb.graph.node import Compute, Node, node_class
from spec3nb.params import Param


class GraphError(Exception):
    """A node could not be computed; the original exception is its ``__cause__``."""

    def __init__(self, node: str, error: BaseException) -> None:
        self.node = node
        super().__init__(f"{node}: {type(error).__name__}: {error}")


def _is_skipped(value: Any) -> bool:
    return getattr(value, "status", None) == "SKIPPED"


class Graph:
    """A directed acyclic graph of :class:`Node` objects.

    Parameters
    ----------
    auto : bool
        Recompute stale nodes by themselves, in a background thread.
    debounce : float
        Seconds to wait after the last change before an automatic run starts.
    cache : ResultCache, optional
        Where results are kept (a new one by default).
    """

    def __init__(self, *, auto: bool = False, debounce: float = 0.05,
                 cache: ResultCache | None = None) -> None:
        self._nodes: dict[str, Node] = {}
        self._children: dict[str, list[str]] = {}
        self._lock = threading.RLock()
        self._run_lock = threading.Lock()
        self._hold = 0
        self._timer: threading.Timer | None = None
        self._worker: threading.Thread | None = None
        self.log = EventLog()
        self.cache = cache if cache is not None else ResultCache()
        self.debounce = debounce
        self._auto = auto

    # ------------------------------------------------------------------ structure

    def add(self, name: str, compute: Compute, *, inputs: Sequence[str | Node] = (),
            params: Sequence[Param] = (), **values: Any) -> Node:
        """Add a node computed by ``compute(*upstream_outputs, **parameters)``.

        Parameters
        ----------
        name : str
            A unique name.
        compute : callable
            The computation.
        inputs : Sequence[str or Node]
            Upstream nodes (already in the graph), in argument order.
        params : Sequence[Param]
            Parameter declarations (become traits of the node).
        **values : Any
            Initial parameter values.

        Returns
        -------
        Node
            The new node (stale).
        """
        with self._lock:
            if name in self._nodes:
                raise ValueError(f"the graph has a node named {name!r} already")
            upstream = [self._node(i) for i in inputs]
            node = node_class(tuple(params))(name, compute, upstream, **values)
            self._nodes[name] = node
            self._children[name] = []
            for parent in upstream:
                self._children[parent.name].append(name)
        names = list(node.params())
        if names:
            node.observe(self._on_param, names=names)
        self.log.record(name, STALE, "added")
        self._request_run()
        return node

    def connect(self, upstream: str | Node, downstream: str | Node) -> None:
        """Add an edge; an edge that would close a cycle is refused.

        Parameters
        ----------
        upstream, downstream : str or Node
            The nodes (the downstream one takes the upstream's output as its last input).
        """
        with self._lock:
            up, down = self._node(upstream), self._node(downstream)
            if up is down or up.name in self.descendants(down.name) | {down.name}:
                raise ValueError(f"an edge {up.name} -> {down.name} would make a cycle")
            down.inputs = (*down.inputs, up)
            self._children[up.name].append(down.name)
        self.invalidate(down.name, f"new input {up.name}")

    def _node(self, item: str | Node) -> Node:
        name = item.name if isinstance(item, Node) else item
        if name not in self._nodes:
            raise KeyError(f"no node named {name!r}")
        return self._nodes[name]

    def __getitem__(self, name: str) -> Node:
        return self._node(name)

    def __contains__(self, name: object) -> bool:
        return name in self._nodes

    @property
    def nodes(self) -> tuple[Node, ...]:
        """The nodes in topological order."""
        return tuple(self._nodes[n] for n in self.order())

    def order(self) -> list[str]:
        """Node names in topological order (ties kept in insertion order)."""
        with self._lock:
            pending = {n: len(node.inputs) for n, node in self._nodes.items()}
            ready = [n for n in self._nodes if pending[n] == 0]
            order: list[str] = []
            while ready:
                name = ready.pop(0)
                order.append(name)
                for child in self._children[name]:
                    pending[child] -= 1
                    if pending[child] == 0:
                        ready.append(child)
            return order

    def descendants(self, name: str) -> set[str]:
        """Every node downstream of `name` (not including it)."""
        with self._lock:
            found: set[str] = set()
            stack = list(self._children[name])
            while stack:
                child = stack.pop()
                if child not in found:
                    found.add(child)
                    stack.extend(self._children[child])
            return found

    # ------------------------------------------------------------------ invalidation

    def _set_status(self, node: Node, status: str, message: str = "") -> None:
        if node.status != status or message:
            node.message = message
            node.status = status
            self.log.record(node.name, status, message)

    def invalidate(self, name: str, reason: str = "") -> None:
        """Mark `name` and all its descendants stale (and schedule a run in auto mode)."""
        with self._lock:
            names = [name, *sorted(self.descendants(name), key=self.order().index)]
            for stale in names:
                node = self._nodes[stale]
                node.epoch += 1
                self._set_status(node, STALE, reason if stale == name else f"after {name}")
        self._request_run()

    def _on_param(self, change: dict[str, Any]) -> None:
        if change["old"] != change["new"]:
            self.invalidate(change["owner"].name, f"{change['name']} = {change['new']!r}")

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Make several edits one change: no run starts until the block ends."""
        with self._lock:
            self._hold += 1
        try:
            yield
        finally:
            with self._lock:
                self._hold -= 1
            self._request_run()

    # ------------------------------------------------------------------ running

    @property
    def auto(self) -> bool:
        """Whether stale nodes recompute by themselves."""
        return self._auto

    @auto.setter
    def auto(self, value: bool) -> None:
        self._auto = bool(value)
        self._request_run()

    def stale(self) -> list[str]:
        """Names of the nodes that need computing, in topological order."""
        with self._lock:
            return [n for n in self.order() if self._nodes[n].status in (STALE, QUEUED)]

    def run(self, names: Sequence[str] | None = None) -> None:
        """Compute the stale nodes (or those of `names` and what they need) now.

        Raises
        ------
        GraphError
            The first node that failed (the error also stays on the node).
        """
        with self._run_lock:
            self._run_stale(names, raise_errors=True)

    def _wanted(self, names: Sequence[str] | None) -> list[str]:
        stale = self.stale()
        if names is None:
            return stale
        needed: set[str] = set()
        stack = [self._node(n) for n in names]
        while stack:
            node = stack.pop()
            if node.name not in needed:
                needed.add(node.name)
                stack.extend(node.inputs)
        return [n for n in stale if n in needed]

    def _run_stale(self, names: Sequence[str] | None, raise_errors: bool) -> None:
        wanted = self._wanted(names)
        with self._lock:
            for name in wanted:
                self._set_status(self._nodes[name], QUEUED)
        try:
            for name in wanted:
                node = self._nodes[name]
                if node.status != QUEUED:
                    continue  # invalidated again meanwhile: a newer run will see it
                waiting = [p.name for p in node.inputs if p.status not in (DONE, SKIPPED)]
                if waiting:
                    with self._lock:
                        if node.status == QUEUED:
                            self._set_status(node, STALE, f"waiting for {', '.join(waiting)}")
                    continue
                error = self._compute(node)
                if error is not None and raise_errors:
                    raise GraphError(node.name, error) from error
        finally:
            with self._lock:  # what an error stopped short of stays stale, not queued
                for name in wanted:
                    if self._nodes[name].status == QUEUED:
                        self._set_status(self._nodes[name], STALE, "not run")

    def _compute(self, node: Node) -> BaseException | None:
        with self._lock:
            epoch = node.epoch
            upstream = [p.output for p in node.inputs]
            key = (node.name, tuple(sorted(node.values.items())),
                   tuple(p.result_key for p in node.inputs))
            self._set_status(node, RUNNING)
        found, value = self.cache.get(key)
        start = time.perf_counter()
        error = None
        if not found:
            try:
                value = node.compute(*upstream, **node.values)
            except Exception as exc:  # shown on the node; run() re-raises it
                error = exc
        elapsed = 0.0 if found else time.perf_counter() - start
        self._publish(node, epoch, key, value, error, elapsed, found)
        return error

    def _publish(self, node: Node, epoch: int, key: Any, value: Any,
                 error: BaseException | None, elapsed: float, cached: bool) -> None:
        with self._lock:
            if node.epoch != epoch:
                return  # superseded by a newer change: never publish
            node.duration = elapsed
            if error is not None:
                node.error = f"{type(error).__name__}: {error}"
                node.traceback = "".join(tb.format_exception(error))
                self._set_status(node, ERROR, node.error)
                return
            if not cached:
                self.cache.put(key, value)
            node.result_key, node.error, node.traceback = key, "", ""
            node.output = value
            reason = getattr(value, "reason", "") if _is_skipped(value) else ""
            self._set_status(node, SKIPPED if _is_skipped(value) else DONE,
                             reason or ("cached" if cached else f"{elapsed:.3f} s"))

    # ------------------------------------------------------------------ auto mode

    def _request_run(self) -> None:
        with self._lock:
            if not self._auto or self._hold or not self.stale():
                return
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.debounce, self._start_worker)
            self._timer.daemon = True
            self._timer.start()

    def _start_worker(self) -> None:
        with self._lock:
            if self._worker is not None and self._worker.is_alive():
                return  # the running worker loops until nothing is stale
            self._worker = threading.Thread(target=self._work, name="spec3nb-graph",
                                            daemon=True)
            self._worker.start()

    def _work(self) -> None:
        while True:
            with self._run_lock:
                self._run_stale(None, raise_errors=False)
            with self._lock:
                runnable = [n for n in self.stale() if self._nodes[n].status == STALE
                            and all(p.status in (DONE, SKIPPED)
                                    for p in self._nodes[n].inputs)]
                if not runnable or not self._auto or self._hold:
                    self._worker = None
                    return

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until no automatic run is pending or running; return whether it settled."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                timer_pending = self._timer is not None and self._timer.is_alive()
                busy = self._worker is not None and self._worker.is_alive()
            if not timer_pending and not busy:
                return True
            time.sleep(0.01)
        return False

    def __repr__(self) -> str:
        states = ", ".join(f"{n.name}={n.status}" for n in self.nodes)
        return f"<Graph {'auto' if self._auto else 'manual'}: {states}>"
