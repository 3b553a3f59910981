"""A bounded cache of node results keyed by what produced them.

The key of a result is its recipe: the node, its parameter values and the keys of its
upstream results. Setting a parameter back to an earlier value therefore finds the earlier
result again without recomputing anything.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import numpy as np


def _nbytes(value: Any, seen: set[int] | None = None) -> int:
    """Rough memory size of a result: its numpy arrays, found through common containers."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, dict):
        return sum(_nbytes(v, seen) for v in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return sum(_nbytes(v, seen) for v in value)
    if hasattr(value, "__dataclass_fields__"):
        return sum(_nbytes(getattr(value, f), seen) for f in value.__dataclass_fields__)
    if hasattr(value, "items") and callable(value.items):
        return sum(_nbytes(v, seen) for _, v in value.items())
    return sys.getsizeof(value, 64)


class ResultCache:
    """Least-recently-used results within a memory budget.

    Parameters
    ----------
    max_bytes : int
        Memory budget; the least recently used results are evicted beyond it.
    max_items : int
        Most results kept, whatever their size.
    """

    def __init__(self, max_bytes: int = 2 << 30, max_items: int = 256) -> None:
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._bytes = 0
        self.max_bytes = max_bytes
        self.max_items = max_items
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> tuple[bool, Any]:
        """Return ``(found, value)``."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return True, self._items[key][0]
            self.misses += 1
            return False, None

    def put(self, key: Hashable, value: Any) -> None:
        """Store `value` under `key`, evicting old results beyond the budget."""
        size = _nbytes(value)
        with self._lock:
            if key in self._items:
                self._bytes -= self._items.pop(key)[1]
            self._items[key] = (value, size)
            self._bytes += size
            while self._items and (self._bytes > self.max_bytes
                                   or len(self._items) > self.max_items):
                _, (_, old) = self._items.popitem(last=False)
                self._bytes -= old

    @property
    def nbytes(self) -> int:
        """Memory held (as estimated)."""
        with self._lock:
            return self._bytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def clear(self) -> None:
        """Forget every result."""
        with self._lock:
            self._items.clear()
            self._bytes = 0
