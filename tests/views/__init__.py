"""Helpers of the view tests: nodes holding given products, and a small simulated session."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from spec3nb.graph import Graph, Node
from spec3nb.pipeline import SourceData, SourceSet
from spec3nb.steps.spec import StepOutput


def source_set(outputs: dict[str, Sequence[tuple[Any, str, int | None]]]) -> SourceSet:
    """A source set: source key -> [(product, suffix, origin)]."""
    items = []
    for key, made in outputs.items():
        outs = tuple(StepOutput(p, suffix, origin) for p, suffix, origin in made)
        items.append(SourceData(key, tuple(o.product for o in outs), outputs=outs))
    return SourceSet(items)


def product_node(name: str, outputs: dict[str, Sequence[tuple[Any, str, int | None]]],
                 graph: Graph | None = None) -> Node:
    """A computed node (in a manual graph) whose output holds `outputs`."""
    graph = graph if graph is not None else Graph(auto=False)
    value = source_set(outputs)
    node = graph.add(name, lambda: value)
    graph.run()
    return node


def simulated_session(folder: Path, mode: str = "mir_lrs", *, auto: bool = True) -> Any:
    """A session of a small simulated dataset (settled when `auto`)."""
    from spec3nb.session import Spec3Session
    from spec3nb.simulate import simulate_to

    simulate_to(folder, mode, seed=1)
    session = Spec3Session.from_simulation(folder, auto=auto)
    if auto:
        assert session.wait(120)
    return session
