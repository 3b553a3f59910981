"""The session dashboard: graph, tabs, switches, run/save, logs, sources, and layering."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from spec3nb.views.dashboard import COLOURS, Dashboard
from spec3nb.views.image import ImageView
from spec3nb.views.spectrum import SpectrumView
from tests.views import simulated_session


@pytest.fixture(scope="module")
def lrs(tmp_path_factory):
    return simulated_session(tmp_path_factory.mktemp("lrs"))


@pytest.fixture
def board(lrs):
    shown = Dashboard(lrs)
    yield shown
    shown.close()
    lrs.graph.auto = True
    for node in lrs.nodes:
        node.reset()
    lrs.wait(60)


def _log_text(pane) -> str:
    return "".join(o.get("text", "") for o in pane.outputs)


def test_widget_tree(board, lrs) -> None:
    assert board.tabs.titles == tuple(lrs.step_names)
    assert list(board.node_buttons) == list(lrs.step_names)
    for name, button in board.node_buttons.items():
        assert button.style.button_color == COLOURS[lrs[name].status]
    extract = board.panels["extract_1d"]
    assert [type(v) for v in extract.views] == [SpectrumView, ImageView]
    assert extract.views[1].aperture_node is lrs["extract_1d"]
    assert set(extract.form.controls) == set(lrs["extract_1d"].params())
    assert board.source.layout.display == "none"  # one source: no selector
    assert board.auto.value == "auto"
    assert repr(board) == ("<Dashboard MIRI LRS fixed slit, 2 exposures, 1 sources, auto: "
                           "outlier_detection: done, pixel_replace: skipped, "
                           "resample_spec: done, extract_1d: done, combine_1d: skipped>")


def test_views_enter_the_page_when_their_tab_is_shown(board, lrs) -> None:
    # Figures in hidden tabs would be laid out in a zero-sized box by the browser.
    shown = {n: p.views_shown for n, p in board.panels.items()}
    assert shown == {n: n == lrs.step_names[0] for n in lrs.step_names}
    first = board.panels[lrs.step_names[0]]
    assert list(first.view_box.children) == first.views
    extract = board.panels["extract_1d"]
    assert extract.view_box.children == ()
    board.select("extract_1d")
    assert board.tabs.selected_index == lrs.step_names.index("extract_1d")
    assert list(extract.view_box.children) == extract.views
    # The hidden views followed their nodes all along.
    assert len(extract.views[0].line.y) > 0
    board.select(lrs.step_names[0])
    assert list(extract.view_box.children) == extract.views  # shown once, kept
    assert "spec3nb-dashboard" in board._dom_classes
    assert "spec3nb-param-extract_width" in extract.form["extract_width"].widget._dom_classes


def test_form_edit_recomputes_and_redraws(board, lrs) -> None:
    panel = board.panels["extract_1d"]
    spectrum = panel.views[0]
    before = list(spectrum.line.y)
    panel.form["extract_width"].none_toggle.value = False
    panel.form["extract_width"].control.value = 4.0
    assert lrs["extract_1d"].extract_width == 4.0
    assert board.wait(60)
    assert lrs["extract_1d"].status == "done"
    assert list(spectrum.line.y) != before
    assert "extract_width = 4.0" in _log_text(panel.log_pane)


def test_manual_mode_and_run_button(board, lrs) -> None:
    board.auto.value = "manual"
    assert lrs.graph.auto is False
    lrs["extract_1d"].position_offset = 1.0
    assert board.wait(10)
    assert lrs["extract_1d"].status == "stale"
    assert board.node_buttons["extract_1d"].style.button_color == COLOURS["stale"]
    assert "manual" in repr(board)
    board.run_button.click()
    assert board.wait(60)
    assert lrs["extract_1d"].status == "done"
    assert board.node_buttons["extract_1d"].style.button_color == COLOURS["done"]
    assert "extract_1d: done" in board.node_buttons["extract_1d"].tooltip


def test_error_and_traceback_on_demand(board, lrs, tmp_path) -> None:
    panel = board.panels["extract_1d"]
    lrs["extract_1d"].override_extract1d = str(tmp_path / "missing_extract1d.json")
    assert board.wait(60)
    assert lrs["extract_1d"].status == "error"
    assert "missing_extract1d" in panel.error.value
    assert panel.show_traceback.layout.display == ""
    assert panel.traceback.value == ""
    panel.show_traceback.value = True
    assert "Traceback" in panel.traceback.value
    assert board.node_buttons["extract_1d"].style.button_color == COLOURS["error"]
    assert "extract_1d: error" in repr(board)


def test_python_logging_reaches_running_node(board, lrs) -> None:
    panel = board.panels["resample_spec"]
    board._on_event(type("E", (), {"node": "resample_spec", "status": "running",
                                    "message": ""})())
    logging.getLogger("spec3nb.steps.test").warning("a message from a step")
    board.flush()
    assert "WARNING spec3nb.steps.test: a message from a step" in _log_text(panel.log_pane)
    assert "a message from a step" not in _log_text(board.panels["extract_1d"].log_pane)


def test_save_products(board, lrs, tmp_path) -> None:
    board.save_folder.value = str(tmp_path / "out")
    board.save_button.click()
    assert board.wait(60)
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(lrs.products)
    assert board.message.value == f"saved {len(written)} products to out"
    board.save_button.click()  # exists already, no overwrite: said, not raised
    assert board.wait(60)
    assert "exists already" in board.message.value


def test_source_selector_for_mos(tmp_path) -> None:
    session = simulated_session(tmp_path, "nrs_mos")
    board = Dashboard(session)
    try:
        keys = list(session["extract_1d"].output)
        assert [v for _, v in board.source.options] == keys
        assert board.source.layout.display == ""
        board.source.value = keys[2]
        views = [v for p in board.panels.values() for v in p.views]
        assert all(v.source == keys[2] for v in views)
        assert f"source={keys[2]}" in repr(board.panels["extract_1d"].views[0])
    finally:
        board.close()


VIEWS = ["spec3nb.views.params", "spec3nb.views.spectrum", "spec3nb.views.image",
         "spec3nb.views.cube", "spec3nb.views.dashboard"]


def test_views_import_no_numerics() -> None:
    code = (f"import importlib, json, sys; [importlib.import_module(m) for m in {VIEWS!r}]; "
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    loaded = set(json.loads(out))
    forbidden = {m for m in loaded if m.split(".")[0] in ("scipy", "jwst", "stdatamodels",
                                                          "drizzle", "gwcs")
                 or m.startswith(("spec3nb.steps", "spec3nb.pipeline", "spec3nb.session",
                                  "spec3nb.datamodels"))}
    assert not forbidden
    assert "bqplot" in loaded  # the check sees what was imported
    light = subprocess.run([sys.executable, "-c", "import spec3nb.views, sys; "
                            "print('ipywidgets' in sys.modules)"], check=True,
                           capture_output=True, text=True).stdout.strip()
    assert light == "False"


def test_throttle_merges_bursts() -> None:
    import time

    from spec3nb.views import Throttle

    seen: list[int] = []
    state = {"value": 0}
    throttle = Throttle(lambda: seen.append(state["value"]), interval=0.2)
    for i in range(1000):  # a slider dragged across its range
        state["value"] = i
        throttle()
    deadline = time.monotonic() + 5
    while (throttle.pending or not seen or seen[-1] != 999) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen[-1] == 999  # the last state is always drawn
    assert len(seen) <= 3
    throttle()
    throttle.flush()
    assert not throttle.pending
