"""Graph nodes: a step's parameters as traits, its status, its output and its error.

A node class is made per parameter declaration, so every parameter is a real trait with
jwst's name, type and default (``snr`` is a tuple of two floats); values are checked by the
same :class:`~spec3nb.params.Param` that checks the command line. Nodes compute nothing
themselves: the :class:`~spec3nb.graph.graph.Graph` runs them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import traitlets

from spec3nb.graph.events import STALE, STATUSES
from spec3nb.params import Param

Compute = Callable[..., Any]


class ParamTrait(traitlets.TraitType):
    """A trait that holds one step parameter, checked by its :class:`Param`.

    Values are converted as on the command line (``"5.0 4.0"`` becomes ``(5.0, 4.0)``), so a
    text box, a slider and a script all set the same typed value.
    """

    def __init__(self, param: Param) -> None:
        super().__init__(default_value=param.default, allow_none=param.nullable,
                         help=param.doc)
        self.param = param
        self.info_text = param.type_name
        self.metadata["param"] = param

    def validate(self, obj: Any, value: Any) -> Any:
        """Return the typed value or raise TraitError naming the node and parameter."""
        try:
            return self.param.coerce(value)
        except ValueError as exc:
            owner = getattr(obj, "name", type(obj).__name__)
            raise traitlets.TraitError(f"{owner}.{self.param.name}: {exc}") from None


class Node(traitlets.HasTraits):
    """A node of the reactive graph.

    Attributes (traits)
    -------------------
    status : str
        ``stale``, ``queued``, ``running``, ``done``, ``skipped`` or ``error``.
    output : Any
        The last published result (None until the first run).
    error : str
        The last error's message ("" when none).
    traceback : str
        The last error's traceback.
    duration : float or None
        Seconds the last computation took (0 for a cache hit).
    """

    status = traitlets.Enum(STATUSES, default_value=STALE)
    output = traitlets.Any(None, allow_none=True)
    error = traitlets.Unicode("")
    traceback = traitlets.Unicode("")
    duration = traitlets.Float(None, allow_none=True)
    message = traitlets.Unicode("")

    def __init__(self, name: str, compute: Compute, inputs: Sequence[Node] = (),
                 **values: Any) -> None:
        super().__init__()
        self.name = name
        self.compute = compute
        self.inputs: tuple[Node, ...] = tuple(inputs)
        self.epoch = 0  # bumped by every invalidation; stale results never publish
        self.result_key: Any = None
        for key, value in values.items():
            self.set_param(key, value)

    @classmethod
    def params(cls) -> dict[str, Param]:
        """The parameter declarations of this node class, by name."""
        return {name: trait.metadata["param"]
                for name, trait in cls.class_traits().items() if "param" in trait.metadata}

    @property
    def values(self) -> dict[str, Any]:
        """Current parameter values, by name."""
        return {name: getattr(self, name) for name in self.params()}

    def set_param(self, name: str, value: Any) -> None:
        """Set one parameter (strings are parsed as on the command line)."""
        if name not in self.params():
            known = ", ".join(self.params()) or "none"
            raise AttributeError(f"{self.name} has no parameter {name!r} (known: {known})")
        setattr(self, name, value)

    def reset(self, name: str | None = None) -> None:
        """Set one parameter (or all of them) back to the jwst default."""
        for key, param in self.params().items():
            if name is None or key == name:
                setattr(self, key, param.default)

    def __repr__(self) -> str:
        changed = [f"{k}={v!r}" for k, v in self.values.items()
                   if v != self.params()[k].default]
        extra = f" ({', '.join(changed)})" if changed else ""
        return f"<Node {self.name}: {self.status}{extra}>"


@functools.cache
def node_class(params: tuple[Param, ...]) -> type[Node]:
    """Return a :class:`Node` subclass with one trait per parameter.

    Parameters
    ----------
    params : tuple[Param, ...]
        The declarations (a step's ``all_params`` values).

    Returns
    -------
    type[Node]
        The class (made once per declaration tuple).
    """
    names = [p.name for p in params]
    clash = set(names) & set(Node.class_trait_names()) | {"name", "compute", "inputs"} & set(
        names)
    if clash:
        raise ValueError(f"parameter names clash with node attributes: {sorted(clash)}")
    body: dict[str, Any] = {p.name: ParamTrait(p) for p in params}
    return type("StepNode", (Node,), body)
