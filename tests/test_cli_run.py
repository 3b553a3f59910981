"""``spec3nb run``: settings, progress, partial failures and their exit status."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec3nb.cli import main
from spec3nb.simulate import simulate_to
from tests import session_doubles


@pytest.fixture(scope="module")
def lrs(tmp_path_factory) -> Path:
    return simulate_to(tmp_path_factory.mktemp("lrs"), "mir_lrs", seed=3)


def test_runs_with_settings_and_reports_progress(lrs: Path, tmp_path: Path, capsys) -> None:
    code = main(["run", str(lrs), "-o", str(tmp_path), "--set",
                 "extract_1d.extract_width=5", "--set", "outlier_detection.snr=4.0 3.0"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("MIRI LRS fixed slit: 2 exposures; steps: outlier_detection, "
                          "pixel_replace, resample_spec, extract_1d, combine_1d")
    assert "] pixel_replace: skipped - pixel_replace is skipped by default" in out
    assert "] extract_1d: done" in out and "] combine_1d: skipped" in out
    assert (tmp_path / "jw01234-o001_t001_miri_p750l_x1d.fits").exists()


@pytest.mark.parametrize("setting, message", [
    ("extract_width=5", "expected STEP.PARAM=VALUE"),
    ("cube_build.scalexy=0.1", "has no step 'cube_build'"),
    ("extract_1d.width=5", "has no parameter 'width'"),
    ("outlier_detection.snr=4", "needs 2 values"),
])
def test_bad_settings_are_one_line(lrs: Path, tmp_path: Path, capsys, setting, message):
    assert main(["run", str(lrs), "-o", str(tmp_path), "--set", setting]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not list(tmp_path.glob("*.fits"))


def test_a_failed_source_gives_status_1_and_keeps_the_others(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("spec3nb.session.STEPS", session_doubles.steps())
    asn = simulate_to(tmp_path / "mos", "nrs_mos", seed=2, nsources=3)
    code = main(["run", str(asn), "-o", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 1
    assert "] outlier_detection: done [4 sources, 1 failed]" in captured.out
    assert "] pixel_replace: skipped [4 sources, 1 failed]" in captured.out
    assert "outlier_detection failed on source 01234_BKG" in captured.err
    x1d = list((tmp_path / "out").glob("*_x1d.fits"))
    assert len(x1d) == 3 and all("_s0000" in p.name for p in x1d)
