"""Notebook views of a session: parameter forms, the dashboard, spectrum, image and cube viewers.

Views only render node outputs and link their controls to node traits; they never run a
step. Node observers fire on the graph's worker thread, so every view refreshes through a
:class:`Throttle` (at most one redraw per interval, the last change always drawn). The view
classes are imported on first use so that ``import spec3nb.views`` stays light::

    from spec3nb.views import Dashboard, ParamForm, SpectrumView, ImageView, CubeView
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from typing import Any

_LAZY = {
    "ParamForm": "spec3nb.views.params",
    "ParamControl": "spec3nb.views.params",
    "Dashboard": "spec3nb.views.dashboard",
    "SpectrumView": "spec3nb.views.spectrum",
    "ImageView": "spec3nb.views.image",
    "CubeView": "spec3nb.views.cube",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'spec3nb.views' has no attribute {name!r}")


def nanmean(values: Any, axis: int | tuple[int, ...]) -> Any:
    """Mean over `axis` skipping NaNs; NaN where nothing is finite, and no warning.

    Views redraw on timer threads, where ``warnings.catch_warnings()`` is not safe (it swaps
    the process-wide filter list), so ``np.nanmean``'s empty-slice warning could not be
    silenced there and would land in a random notebook cell.
    """
    import numpy as np

    finite = np.isfinite(values)
    count = finite.sum(axis=axis)
    total = np.where(finite, values, 0.0).sum(axis=axis)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


class Throttle:
    """Call a function at most once per `interval` seconds, always after the last request.

    Requests may come from any thread (node observers run on the graph's worker thread);
    calls are serialised by a lock, so a view is never redrawn by two threads at once.

    Parameters
    ----------
    function : callable
        What to call (no arguments).
    interval : float
        Seconds to wait after a request before calling; requests meanwhile are merged.
    """

    def __init__(self, function: Callable[[], None], interval: float = 0.05) -> None:
        self.function = function
        self.interval = interval
        self.calls = 0
        self._lock = threading.Lock()
        self._call_lock = threading.RLock()
        self._timer: threading.Timer | None = None
        self._last = -float("inf")

    def __call__(self, *_: Any) -> None:
        """Request a call (arguments, such as a trait change, are ignored).

        The first request after a quiet `interval` is served at once (on a timer thread, so
        never inside the caller's locks); later ones wait for the interval to end.
        """
        with self._lock:
            if self._timer is not None:
                return  # a call is already pending: it will see the latest state
            delay = max(0.0, self.interval - (time.monotonic() - self._last))
            self._timer = threading.Timer(delay, self._fire)
            self._timer.daemon = True
            self._timer.start()

    @property
    def pending(self) -> bool:
        """Whether a call is waiting for its timer."""
        with self._lock:
            return self._timer is not None

    def _fire(self) -> None:
        # Hold the call lock from the moment the timer fires, so flush() can wait for it.
        with self._call_lock:
            with self._lock:
                self._timer = None
            self.now()

    def now(self) -> None:
        """Call the function at once (from the caller's thread)."""
        with self._call_lock:
            self.calls += 1
            self._last = time.monotonic()
            self.function()

    def flush(self) -> None:
        """Cancel a pending timer and call the function now if a call was pending; in any
        case return only after a call running on another thread has finished."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            self.now()
        else:
            with self._call_lock:  # a timer may have fired just before: let it finish
                pass

    def cancel(self) -> None:
        """Drop a pending call."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()


def unobserve(obj: Any, handler: Callable[..., Any], names: list[str]) -> None:
    """Stop `handler` observing `names` of `obj` (nothing happens if it was not observing).

    Parameters
    ----------
    obj : traitlets.HasTraits
        The observed object.
    handler : callable
        The observer.
    names : list[str]
        The trait names.
    """
    try:
        obj.unobserve(handler, names=names)
    except ValueError:
        pass  # already removed (close() runs again when the widget is collected)


def sources_of(node: Any) -> list[str]:
    """The source keys of a node's output (``[]`` before it ran or when it holds none).

    Parameters
    ----------
    node : Node
        A session node whose output is a source set (a mapping key -> source data).

    Returns
    -------
    list[str]
        The keys, in source order.
    """
    output = getattr(node, "output", None)
    if output is None or not hasattr(output, "keys"):
        return []
    return list(output.keys())


def source_data(node: Any, source: str | None) -> Any:
    """The source data of `source` in a node's output (the first source when None).

    Parameters
    ----------
    node : Node
        The node.
    source : str or None
        The source key.

    Returns
    -------
    SourceData or None
        None when the node has no output or no such source.
    """
    keys = sources_of(node)
    if not keys:
        return None
    key = keys[0] if source is None or source not in keys else source
    return node.output[key]


def source_label(key: str | None) -> str:
    """How a source key is shown (``""`` is the whole association)."""
    return "all" if not key else str(key)


__all__ = ["CubeView", "Dashboard", "ImageView", "ParamControl", "ParamForm", "SpectrumView",
           "Throttle", "source_data", "source_label", "sources_of", "unobserve"]
