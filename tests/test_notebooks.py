"""The tutorial notebooks as committed: clean, listed, executed, and compared meaningfully.

nbval (``make nbval``) runs them and compares outputs; these tests check what nbval takes
for granted: that the stored outputs exist and are the contract (every tutorial executed,
no errors, no saved widget state, nothing run-specific left in them), that the sanitising
is limited to what varies, and that the list of notebooks run in CI is the documented one.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
SANITIZE = NOTEBOOKS / "nbval_sanitize.cfg"
NOT_EXECUTED = "real_data.ipynb"
WIDGET = "application/vnd.jupyter.widget-view+json"

ALL = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
TUTORIALS = [n for n in ALL if n != NOT_EXECUTED]

# What must never be in a stored output: temporary folders, absolute paths of this
# machine, memory addresses, timings.
RUN_SPECIFIC = {
    "temporary path": re.compile(r"/tmp/|spec3nb-[a-z_]+-\w{8}"),
    "absolute path": re.compile(re.escape(str(REPO))),
    "memory address": re.compile(r"0x[0-9a-fA-F]{6,}"),
    "timing": re.compile(r"\d+(\.\d+)? ?(s|ms|seconds)\b"),
}


def read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def texts(nb: nbformat.NotebookNode) -> list[str]:
    """Every text that nbval compares in the notebook's outputs."""
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                found.append(output.text)
            for key, value in output.get("data", {}).items():
                if key != WIDGET and isinstance(value, str):
                    found.append(value)
    return found


def sanitize_patterns() -> list[tuple[str, str]]:
    """The (regex, replacement) pairs of the sanitize file, read as nbval reads them."""
    return re.findall(r"^regex: (.*)$\n^replace: (.*)$", SANITIZE.read_text(), flags=re.M)


def makefile_notebooks() -> list[str]:
    text = (REPO / "Makefile").read_text().replace("\\\n", " ")
    names = re.search(r"^NOTEBOOKS := (.*)$", text, flags=re.M).group(1).split()
    return sorted(f"{n}.ipynb" for n in names)


def test_every_tutorial_is_run_by_make_and_listed() -> None:
    assert len(TUTORIALS) == 9  # quickstart + the eight modes
    assert makefile_notebooks() == TUTORIALS
    readme = (NOTEBOOKS / "README.md").read_text()
    for name in ALL:
        assert f"]({name})" in readme, f"{name} missing from notebooks/README.md"
    assert "not executed in CI" in readme


@pytest.mark.parametrize("name", ALL)
def test_no_saved_widget_state_or_timings(name: str) -> None:
    nb = read(name)
    assert "widgets" not in nb.metadata
    assert nb.metadata.kernelspec.name == "python3"
    for cell in nb.cells:
        assert "execution" not in cell.metadata


@pytest.mark.parametrize("name", TUTORIALS)
def test_tutorial_is_executed_without_errors(name: str) -> None:
    nb = read(name)
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), "run it top to bottom (execute.py)"
    for cell in code:
        for output in cell.outputs:
            assert output.output_type != "error", cell.source
            assert output.get("name") != "stderr", f"stderr output in {name}: {output.text}"
    assert sum(bool(c.outputs) for c in code) >= len(code) // 2


@pytest.mark.parametrize("name", TUTORIALS)
def test_tutorial_is_deterministic_and_saves_under_products(name: str) -> None:
    source = "\n".join(c.source for c in read(name).cells if c.cell_type == "code")
    simulations = re.findall(r"%spec3_simulate (\w+)([^\n]*)", source)
    assert simulations, "a tutorial simulates its data"
    for _, options in simulations:
        assert re.search(r"--seed \d+", options), "fixed seeds only"
        assert "--out" not in options  # the data go to a temporary folder
    saves = re.findall(r"\.save\(\"([^\"]+)\"", source)
    assert saves and all(s.startswith("products/") for s in saves)
    assert "notebooks/products/" in (REPO / ".gitignore").read_text().splitlines()


@pytest.mark.parametrize("name", TUTORIALS)
def test_outputs_hold_nothing_run_specific(name: str) -> None:
    for text in texts(read(name)):
        for what, pattern in RUN_SPECIFIC.items():
            assert not pattern.search(text), f"{what} in {name}: {text[:200]}"


@pytest.mark.parametrize("name", TUTORIALS)
def test_widget_outputs_are_compared_through_their_repr(name: str) -> None:
    """nbval skips the widget-view MIME type; the text/plain beside it is what it checks."""
    widgets = [o for c in read(name).cells for o in c.get("outputs", [])
               if WIDGET in o.get("data", {})]
    assert widgets, "each tutorial shows the dashboard and viewers"
    for output in widgets:
        text = output.data["text/plain"]
        assert re.match(r"<(Dashboard|SpectrumView|ImageView|CubeView) ", text), text


def test_real_data_notebook_is_not_executed() -> None:
    nb = read(NOT_EXECUTED)
    assert "not executed" in nb.cells[0].source
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert any("session = %spec3 " in c.source for c in code)
    assert NOT_EXECUTED not in makefile_notebooks()


def test_sanitize_patterns_are_needed_and_narrow() -> None:
    patterns = sanitize_patterns()
    assert patterns
    stored = [t for name in TUTORIALS for t in texts(read(name))]
    for regex, _ in patterns:
        compiled = re.compile(regex)
        hits = [t for t in stored if compiled.search(t)]
        assert hits, f"{regex!r} matches no stored output: remove it"
        # Never the statuses after session.wait(): those are compared in full.
        assert not any(compiled.search(t) for t in stored if t.startswith("<Spec3Session"))


def test_sanitize_keeps_what_is_stable_in_the_dashboard_text() -> None:
    (regex, replace), = sanitize_patterns()
    running = ("<Dashboard MIRI MRS, 4 exposures, 0 sources, auto: mrs_imatch: running, "
               "outlier_detection: queued, pixel_repla\u2026")
    done = ("<Dashboard MIRI MRS, 4 exposures, 1 sources, auto: mrs_imatch: done, "
            "outlier_detection: done, pixel_replace: skipped\u2026")
    assert re.sub(regex, replace, running) == re.sub(regex, replace, done)
    kept = re.sub(regex, replace, done)
    assert kept.startswith("<Dashboard MIRI MRS, 4 exposures") and kept.endswith("auto")
    manual = re.sub(regex, replace, done.replace("auto:", "manual:"))
    other = re.sub(regex, replace, done.replace("4 exposures", "2 exposures"))
    assert manual != kept and other != kept
