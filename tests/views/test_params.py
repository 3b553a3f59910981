"""Parameter forms: the right control per declaration, linked both ways to the node."""

from __future__ import annotations

import ipywidgets as widgets
import pytest

from spec3nb.graph import Graph
from spec3nb.params import BOOL, CHOICE, FLOAT, FLOATS, INT, INTS, PATH, STR, Param
from spec3nb.views.params import ParamForm

PARAMS = (
    Param("width", FLOAT, 2.0, "aperture width", minimum=1.0, maximum=9.0),
    Param("offset", FLOAT, 0.0, "shift of the aperture"),
    Param("order", INT, None, "polynomial order", minimum=0),
    Param("kind", CHOICE, "box", "extraction kind", choices=("box", "optimal", None),
          nullable=True),
    Param("pair", FLOATS, (5.0, 4.0), "two thresholds", length=2),
    Param("levels", INTS, None, "some levels"),
    Param("reference", PATH, None, "reference file"),
    Param("auto_centre", BOOL, None, "centre on the source"),
    Param("save", BOOL, False, "save the profile"),
    Param("label", STR, "x", "a label"),
)


@pytest.fixture
def node():
    graph = Graph(auto=False)
    return graph.add("step", lambda: 1, params=PARAMS)


def test_controls_match_declarations(node) -> None:
    form = ParamForm(node)
    kinds = {name: type(c.control) for name, c in form.controls.items()}
    assert kinds == {
        "width": widgets.FloatSlider, "offset": widgets.FloatText,
        "order": widgets.BoundedIntText, "kind": widgets.Dropdown, "pair": widgets.HBox,
        "levels": widgets.Text, "reference": widgets.Text, "auto_centre": widgets.Dropdown,
        "save": widgets.Checkbox, "label": widgets.Text,
    }
    width = form["width"].control
    assert (width.min, width.max, width.value) == (1.0, 9.0, 2.0)
    assert form["kind"].control.options == (("box", "box"), ("optimal", "optimal"),
                                            ("None (default rule)", None))
    # None toggles only where a dropdown cannot say None itself
    toggles = {n for n, c in form.controls.items() if c.none_toggle is not None}
    assert toggles == {"order", "levels", "reference"}
    assert "aperture width" in form["width"].control.tooltip
    assert "default 2.0" in form["width"].control.tooltip
    # Never on a Box (ipywidgets 8's front end cannot render a Box with a tooltip): on
    # the pair's two boxes instead.
    assert form["pair"].control.tooltip is None
    assert all("two thresholds" in box.tooltip for box in form["pair"].control.children)
    assert form.children[-1] is form.reset_all


def test_control_sets_node(node) -> None:
    form = ParamForm(node)
    form["width"].control.value = 4.5
    form["kind"].control.value = "optimal"
    form["pair"].control.children[1].value = 3.0
    form["auto_centre"].control.value = True
    form["levels"].none_toggle.value = False
    form["levels"].control.value = "1, 2,3"
    form["reference"].none_toggle.value = False
    form["reference"].control.value = "ref.json"
    form["order"].none_toggle.value = False
    form["order"].control.value = 3
    assert node.values == {"width": 4.5, "offset": 0.0, "order": 3, "kind": "optimal",
                           "pair": (5.0, 3.0), "levels": (1, 2, 3), "reference": "ref.json",
                           "auto_centre": True, "save": False, "label": "x"}
    form["order"].none_toggle.value = True
    assert node.order is None
    assert form["order"].control.disabled


def test_node_moves_control(node) -> None:
    form = ParamForm(node)
    node.width = 7.0
    node.pair = "1.5 2.5"
    node.levels = (4, 5)
    node.kind = None
    assert form["width"].control.value == 7.0
    assert [c.value for c in form["pair"].control.children] == [1.5, 2.5]
    assert form["levels"].control.value == "4,5"
    assert form["levels"].none_toggle.value is False
    assert form["kind"].control.value is None
    assert form["width"].label.value == "width *"  # changed from its default


def test_invalid_input_is_shown_not_applied(node) -> None:
    form = ParamForm(node)
    form["levels"].none_toggle.value = False
    form["levels"].control.value = "1, two"
    assert node.levels is None
    assert "not a number" in form["levels"].error.value
    form["levels"].control.value = "7"
    assert node.levels == (7,)
    assert form["levels"].error.value == ""


def test_reset(node) -> None:
    form = ParamForm(node)
    node.width, node.label = 3.0, "changed"
    form["width"].reset_button.click()
    assert node.width == 2.0 and node.label == "changed"
    form.reset_all.click()
    assert node.label == "x"
    assert form["label"].control.value == "x"


def test_stable_repr(node) -> None:
    form = ParamForm(node)
    assert repr(form) == "<ParamForm step: 10 parameters>"
    node.width = 3.0
    assert repr(form) == "<ParamForm step: 10 parameters, changed: width>"
    assert repr(form["width"]) == "<ParamControl step.width FloatSlider = 3.0>"
    assert "0x" not in repr(form) and "0x" not in repr(form["pair"])


def test_form_subset_and_close(node) -> None:
    form = ParamForm(node, names=["kind", "width", "nonexistent"])
    assert list(form.controls) == ["kind", "width"]
    form.close()
    node.width = 5.0
    assert form["width"].control.value == 2.0  # no longer follows the node
    form.close()  # twice is harmless


def test_rows_follow_declaration_order_jwst_first() -> None:
    declared = (
        Param("zeta", FLOAT, 1.0, "spec3nb's own", jwst=False),
        Param("width", FLOAT, 2.0, "first of jwst's"),
        Param("alpha", BOOL, False, "second of jwst's"),
        Param("mid", INT, 0, "third of jwst's"),
        Param("beta", STR, "", "spec3nb's second", jwst=False),
    )
    node = Graph(auto=False).add("ordered", lambda: 1, params=declared)
    assert list(node.params()) == sorted(p.name for p in declared)  # traitlets sorts them
    form = ParamForm(node)
    assert list(form.controls) == ["width", "alpha", "mid", "zeta", "beta"]
    rows = [row.children[0].value for row in form.children[:-1]]
    assert rows == ["width", "alpha", "mid", "zeta", "beta"]


def test_extract_1d_form_in_jwst_order() -> None:
    from spec3nb.steps import STEPS

    spec = STEPS["extract_1d"]
    node = Graph(auto=False).add("extract_1d", lambda: 1,
                                 params=tuple(spec.all_params.values()))
    names = list(ParamForm(node).controls)
    jwst_names = [p.name for p in spec.all_params.values() if p.jwst]
    assert names[: len(jwst_names)] == jwst_names
    assert names[:3] == ["subtract_background", "apply_apcorr", "extraction_type"]
    assert names[-1] == "extract_width"  # spec3nb's addition comes after jwst's
