"""The event log: every status change of every node, as immutable records.

Views and tests read the same log; nothing in it can be changed after it was written.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

STALE, QUEUED, RUNNING, DONE, SKIPPED, ERROR = (
    "stale", "queued", "running", "done", "skipped", "error"
)
STATUSES = (STALE, QUEUED, RUNNING, DONE, SKIPPED, ERROR)


@dataclasses.dataclass(frozen=True)
class Event:
    """One status change.

    Parameters
    ----------
    seq : int
        Position in the log (0, 1, 2 ...).
    time : float
        ``time.monotonic()`` when it happened.
    node : str
        The node's name.
    status : str
        The new status.
    message : str
        Why (the parameter that changed, the error, the skip reason ...).
    """

    seq: int
    time: float
    node: str
    status: str
    message: str = ""


class EventLog:
    """An append-only, thread-safe log of :class:`Event` records.

    Parameters
    ----------
    limit : int
        How many events to keep (the oldest are dropped first).
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._events: list[Event] = []
        self._lock = threading.Lock()
        self._seq = 0
        self._limit = limit
        self._listeners: list[Callable[[Event], None]] = []

    def record(self, node: str, status: str, message: str = "") -> Event:
        """Append an event and tell the listeners; return it."""
        with self._lock:
            event = Event(self._seq, time.monotonic(), node, status, message)
            self._seq += 1
            self._events.append(event)
            if len(self._events) > self._limit:
                del self._events[: len(self._events) - self._limit]
            listeners = tuple(self._listeners)
        for listener in listeners:
            listener(event)
        return event

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """Call `listener` with every new event; return a function that unsubscribes it."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    @property
    def events(self) -> tuple[Event, ...]:
        """A snapshot of the log."""
        with self._lock:
            return tuple(self._events)

    def for_node(self, node: str) -> tuple[Event, ...]:
        """The events of one node."""
        return tuple(e for e in self.events if e.node == node)

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)
