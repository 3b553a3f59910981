"""The reactive core: nodes with typed parameter traits, a graph that recomputes only what
a change affects, a result cache and an event log. Knows traitlets, not Jupyter."""

from spec3nb.graph.cache import ResultCache
from spec3nb.graph.events import DONE, ERROR, QUEUED, RUNNING, SKIPPED, STALE, Event, EventLog
from spec3nb.graph.graph import Graph, GraphError
from spec3nb.graph.node import Node, node_class

__all__ = [
    "DONE", "ERROR", "QUEUED", "RUNNING", "SKIPPED", "STALE",
    "Event", "EventLog", "Graph", "GraphError", "Node", "ResultCache", "node_class",
]
