"""Parameter forms generated from a node's :class:`~spec3nb.params.Param` declarations.

The same declarations drive the command line, the node traits and these forms: a bounded
number gets a slider, a choice a dropdown, a pair of numbers two boxes, a path a text box, a
nullable value a "None" toggle; the documentation is the tooltip and a button resets the
default. Every control is linked both ways to its node trait: editing the control sets the
trait (which, in auto mode, recomputes the graph), and setting the trait moves the control.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
import traitlets

from spec3nb.params import BOOL, CHOICE, FLOAT, FLOATS, INT, INTS, PATH, Param
from spec3nb.views import unobserve

_NONE_LABEL = "None (default rule)"
_DESC = {"description_width": "14em"}


def _bounded(param: Param) -> bool:
    return param.minimum is not None and param.maximum is not None


def _number_control(param: Param) -> widgets.ValueWidget:
    """A slider within bounds, else a (half-)bounded number box."""
    integer = param.kind in (INT, INTS)
    start = param.default if param.default is not None else (param.minimum or 0)
    if _bounded(param):
        cls = widgets.IntSlider if integer else widgets.FloatSlider
        step = 1 if integer else (param.maximum - param.minimum) / 100
        return cls(value=start, min=param.minimum, max=param.maximum, step=step,
                   continuous_update=False)
    if param.minimum is not None or param.maximum is not None:
        cls = widgets.BoundedIntText if integer else widgets.BoundedFloatText
        big = 2**31 - 1 if integer else 1e30
        low = -big if param.minimum is None else param.minimum
        high = big if param.maximum is None else param.maximum
        return cls(value=start, min=low, max=high)
    cls = widgets.IntText if integer else widgets.FloatText
    return cls(value=start)


def _choice_control(param: Param) -> widgets.Dropdown:
    options = [(_NONE_LABEL if c is None else str(c), c) for c in param.choices]
    return widgets.Dropdown(options=options, value=param.default)


def _bool_control(param: Param) -> widgets.ValueWidget:
    if param.nullable:
        return widgets.Dropdown(options=[(_NONE_LABEL, None), ("True", True),
                                         ("False", False)], value=param.default)
    return widgets.Checkbox(value=bool(param.default), indent=False)


def _list_control(param: Param) -> widgets.Widget:
    """Two number boxes for a pair, else a text box of comma-separated numbers."""
    if param.length == 2:
        cls = widgets.IntText if param.kind == INTS else widgets.FloatText
        start = param.default or (0, 0)
        return widgets.HBox([cls(value=start[0], layout={"width": "7em"}),
                             cls(value=start[1], layout={"width": "7em"})])
    return widgets.Text(value=_format_list(param.default), continuous_update=False)


def _format_list(value: Sequence[Any] | None) -> str:
    return "" if value is None else ",".join(str(v) for v in value)


def make_control(param: Param) -> widgets.Widget:
    """Return the input widget for one parameter (without its None toggle and reset).

    Parameters
    ----------
    param : Param
        The declaration.

    Returns
    -------
    ipywidgets.Widget
        A slider, number box, dropdown, checkbox, pair of boxes or text box.
    """
    if param.kind == BOOL:
        return _bool_control(param)
    if param.kind == CHOICE:
        return _choice_control(param)
    if param.kind in (INT, FLOAT):
        return _number_control(param)
    if param.kind in (FLOATS, INTS):
        return _list_control(param)
    placeholder = "path to a reference file" if param.kind == PATH else ""
    return widgets.Text(value=param.default or "", placeholder=placeholder,
                        continuous_update=False)


class ParamControl:
    """One parameter's row: [None toggle] control [reset], linked both ways to the node.

    Parameters
    ----------
    node : Node
        The node whose trait this edits.
    param : Param
        The trait's declaration.
    """

    def __init__(self, node: Any, param: Param) -> None:
        self.node = node
        self.param = param
        self.name = param.name
        self._lock = threading.RLock()
        self._syncing = False
        self.control = make_control(param)
        tip = f"{param.doc} ({param.type_name}; default {param.default!r})"
        # The tooltip goes on the input boxes: ipywidgets 8's front end fails to render a
        # Box given a tooltip (it reads the Box's missing description).
        for box in self._value_widgets():
            box.tooltip = tip
        self.label = widgets.Label(param.name, tooltip=tip, layout={"width": "14em"})
        self.none_toggle = self._make_none_toggle()
        self.reset_button = widgets.Button(icon="undo", tooltip=f"reset to {param.default!r}",
                                           layout={"width": "3em"})
        self.error = widgets.HTML("")
        parts = [self.label] + ([self.none_toggle] if self.none_toggle else [])
        self.widget = widgets.HBox([*parts, self.control, self.reset_button, self.error])
        self.widget.add_class(f"spec3nb-param-{param.name}")  # a handle for browser tests
        for value_widget in self._value_widgets():
            value_widget.observe(self._from_control, names="value")
        if self.none_toggle is not None:
            self.none_toggle.observe(self._from_control, names="value")
        self.reset_button.on_click(lambda _: self.reset())
        node.observe(self._from_node, names=[param.name])
        self._from_node()

    def _make_none_toggle(self) -> widgets.ToggleButton | None:
        """A toggle for nullable values that a dropdown cannot already say None for."""
        if not self.param.nullable or self.param.kind in (BOOL, CHOICE):
            return None
        return widgets.ToggleButton(value=False, description="None",
                                    tooltip="use None (the pipeline's own rule)",
                                    layout={"width": "5em"})

    def _value_widgets(self) -> list[widgets.ValueWidget]:
        if isinstance(self.control, widgets.HBox):
            return list(self.control.children)
        return [self.control]

    # ------------------------------------------------------------ control <-> node

    @property
    def value(self) -> Any:
        """The value the control shows (None when the None toggle is on)."""
        if self.none_toggle is not None and self.none_toggle.value:
            return None
        if isinstance(self.control, widgets.HBox):
            return tuple(c.value for c in self.control.children)
        value = self.control.value
        if self.param.kind == PATH:
            return value or None if self.param.nullable else value
        if self.param.kind in (FLOATS, INTS):
            return value if value.strip() else None
        return value

    def _from_control(self, _: Any = None) -> None:
        with self._lock:
            if self._syncing:
                return
            try:
                self.node.set_param(self.name, self.value)
            except (traitlets.TraitError, ValueError) as exc:
                self.error.value = f"<span style='color:#b00020'>{exc}</span>"
                return
            self.error.value = ""
            self._show_none()

    def _from_node(self, _: Any = None) -> None:
        value = getattr(self.node, self.name)
        with self._lock:
            self._syncing = True
            try:
                self._show(value)
            finally:
                self._syncing = False
            self.error.value = ""
            self._show_none()

    def _show(self, value: Any) -> None:
        if self.none_toggle is not None:
            self.none_toggle.value = value is None
            if value is None:
                return  # the control keeps its last number; the toggle says None
        if isinstance(self.control, widgets.HBox):
            for box, item in zip(self.control.children, value, strict=True):
                box.value = item
        elif self.param.kind in (FLOATS, INTS):
            self.control.value = _format_list(value)
        elif self.param.kind == PATH or (self.param.kind not in (BOOL, CHOICE)
                                         and isinstance(self.control, widgets.Text)):
            self.control.value = "" if value is None else str(value)
        else:
            self.control.value = value

    def _show_none(self) -> None:
        if self.none_toggle is not None:
            none = self.none_toggle.value
            for box in self._value_widgets():
                box.disabled = none
        changed = getattr(self.node, self.name) != self.param.default
        self.label.value = self.name + (" *" if changed else "")

    def reset(self) -> None:
        """Set the node's parameter back to its default."""
        self.node.reset(self.name)

    def close(self) -> None:
        """Stop following the node."""
        unobserve(self.node, self._from_node, [self.name])

    def __repr__(self) -> str:
        return (f"<ParamControl {getattr(self.node, 'name', '?')}.{self.name} "
                f"{type(self.control).__name__} = {getattr(self.node, self.name)!r}>")


def declaration_order(node: Any) -> list[Param]:
    """A node's parameter declarations in the order they were declared, jwst's first.

    traitlets lists a class's traits alphabetically; the node class keeps its traits in its
    ``__dict__`` in declaration order (the step's ``params`` tuple, then the reference
    overrides), which is also the order of jwst's spec. Parameters spec3nb adds
    (``jwst=False``) follow jwst's, in their own declaration order.

    Parameters
    ----------
    node : Node
        The node.

    Returns
    -------
    list[Param]
        Every declaration of ``node.params()``.
    """
    params = node.params()
    ordered: list[str] = []
    for cls in reversed(type(node).__mro__):
        for name, value in vars(cls).items():
            declared = getattr(value, "metadata", {}).get("param") if isinstance(
                value, traitlets.TraitType) else None
            if declared is not None and name in params and name not in ordered:
                ordered.append(name)
    ordered += [n for n in params if n not in ordered]  # anything declared elsewhere
    found = [params[n] for n in ordered]
    return [p for p in found if p.jwst] + [p for p in found if not p.jwst]


class ParamForm(widgets.VBox):
    """The parameter form of one node: a row per parameter and a reset-all button.

    Rows follow the declaration order (jwst's order), spec3nb-only parameters last.

    Parameters
    ----------
    node : Node
        The node (its ``params()`` declarations make the rows).
    names : Sequence[str], optional
        Only these parameters (all by default), in this order.
    """

    def __init__(self, node: Any, names: Sequence[str] | None = None, **kwargs: Any) -> None:
        params = node.params()
        chosen = ([p.name for p in declaration_order(node)] if names is None
                  else [n for n in names if n in params])
        self.node = node
        self.controls = {n: ParamControl(node, params[n]) for n in chosen}
        self.reset_all = widgets.Button(description="Reset all", icon="undo",
                                        tooltip="every parameter back to its default")
        self.reset_all.on_click(lambda _: node.reset())
        rows = [c.widget for c in self.controls.values()]
        if not rows:
            rows = [widgets.HTML("<i>no parameters</i>")]
        super().__init__(children=[*rows, self.reset_all], **kwargs)

    def __getitem__(self, name: str) -> ParamControl:
        return self.controls[name]

    def close(self) -> None:
        """Stop following the node and close the widgets."""
        for control in self.controls.values():
            control.close()
        super().close()

    def __repr__(self) -> str:
        changed = [n for n, c in self.controls.items()
                   if getattr(self.node, n) != c.param.default]
        extra = f", changed: {', '.join(changed)}" if changed else ""
        return (f"<ParamForm {getattr(self.node, 'name', '?')}: {len(self.controls)} "
                f"parameters{extra}>")
