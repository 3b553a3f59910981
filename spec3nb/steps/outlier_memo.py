"""Blotted medians kept between outlier_detection runs on the same inputs.

Most of outlier detection's time goes into drizzling the exposures, taking their median and
blotting it back; ``snr``, ``scale`` and ``backg`` only decide which pixels are then
flagged. When a notebook user moves one of those, the step runs again on the very same
input products (they are immutable), so the blotted medians of the previous run can serve
again. They are kept by the identity of the input products and the parameters they depend
on, and dropped as soon as the inputs are gone or when the memo outgrows its byte budget
(least recently used first). One-shot runs (``spec3nb run``) store nothing.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

import numpy as np

#: Blotted (median, median error) per exposure of one run.
Blots = list[tuple[np.ndarray, np.ndarray]]


class BlotMemo:
    """A byte-bounded, thread-safe store of blotted medians by input products.

    Parameters
    ----------
    max_bytes : int
        The most the stored arrays may hold together.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[tuple[weakref.ref, ...], Blots, int]] = (
            OrderedDict())
        self._lock = threading.Lock()
        self._suspended = 0

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        """Store nothing meanwhile: for one-shot runs (``spec3nb run``), where nothing runs
        again on the same inputs and the stored blots would only add to the peak memory."""
        with self._lock:
            self._suspended += 1
        try:
            yield
        finally:
            with self._lock:
                self._suspended -= 1

    @staticmethod
    def _key(sources: Sequence[Any], settings: Hashable) -> Hashable:
        return tuple(id(s) for s in sources), settings

    def _drop_dead(self) -> None:
        """Forget entries whose inputs no longer exist (their ids may be reused)."""
        dead = [k for k, (refs, _, _) in self._entries.items()
                if any(r() is None for r in refs)]
        for key in dead:
            del self._entries[key]

    def get(self, sources: Sequence[Any], settings: Hashable) -> Blots | None:
        """The blots stored for these very input objects and settings, or None."""
        key = self._key(sources, settings)
        with self._lock:
            self._drop_dead()
            entry = self._entries.get(key)
            if entry is None or any(r() is not s for r, s in zip(entry[0], sources,
                                                                  strict=True)):
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, sources: Sequence[Any], settings: Hashable, blots: Blots) -> None:
        """Store `blots` (made read-only) for the input objects and settings."""
        size = sum(a.nbytes + b.nbytes for a, b in blots)
        if size > self.max_bytes or self._suspended:
            return
        for pair in blots:
            for array in pair:
                array.flags.writeable = False
        refs = tuple(weakref.ref(s) for s in sources)
        with self._lock:
            self._drop_dead()
            self._entries[self._key(sources, settings)] = (refs, blots, size)
            total = sum(entry[2] for entry in self._entries.values())
            while total > self.max_bytes:
                _, (_, _, dropped) = self._entries.popitem(last=False)
                total -= dropped

    def __len__(self) -> int:
        with self._lock:
            self._drop_dead()
            return len(self._entries)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()


#: The memo outlier_detection's spec mode uses (256 MiB: a few sources of full-size data).
BLOTS = BlotMemo(256 * 2**20)
