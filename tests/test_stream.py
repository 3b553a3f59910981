"""spec3nb.stream: many sources computed and written a batch at a time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from spec3nb import stream
from spec3nb.cli import main
from spec3nb.errors import OutputError
from spec3nb.session import Spec3Session
from spec3nb.simulate import simulate_to
from tests import session_doubles


@pytest.fixture(scope="module")
def mos(tmp_path_factory) -> Path:
    return simulate_to(tmp_path_factory.mktemp("mos"), "nrs_mos", seed=5, nsources=5)


def _same_files(one: Path, two: Path) -> list[str]:
    names = sorted(p.name for p in one.glob("*.fits"))
    assert names == sorted(p.name for p in two.glob("*.fits"))
    for name in names:
        diff = fits.FITSDiff(str(one / name), str(two / name), ignore_keywords=["DATE"],
                             ignore_hdus=["ASDF"])
        assert diff.identical, diff.report()
    return names


def test_batches_give_the_graphs_products(mos: Path, tmp_path: Path) -> None:
    # Fresh processes, so that the writers fork and write while the next batch computes.
    for folder, options in (("whole", ["--batch", "0", "--writers", "1"]),
                            ("batched", ["--batch", "2", "--writers", "2",
                                         "--readers", "3"])):
        subprocess.run([sys.executable, "-m", "spec3nb", "run", str(mos), "-o",
                        str(tmp_path / folder), *options], check=True, capture_output=True)
    names = _same_files(tmp_path / "whole", tmp_path / "batched")
    # 6 sources (5 + the background slitlet), each with cal, crf, s2d and x1d.
    assert len(names) == 24 and len([n for n in names if n.endswith("_x1d.fits")]) == 6
    assert not list((tmp_path / "batched").glob(".spec3nb-*"))


def test_progress_per_batch_and_parameters_apply(mos: Path, tmp_path: Path, capsys) -> None:
    code = main(["run", str(mos), "-o", str(tmp_path / "a"), "--batch", "4",
                 "--set", "extract_1d.extract_width=3"])
    out = capsys.readouterr().out
    assert code == 0
    assert "] sources 1-4 of 6: outlier_detection, pixel_replace, resample_spec, " \
           "extract_1d, combine_1d done" in out
    assert "] sources 5-6 of 6:" in out
    main(["run", str(mos), "-o", str(tmp_path / "b"), "--batch", "0", "-q",
          "--set", "extract_1d.extract_width=3"])
    _same_files(tmp_path / "a", tmp_path / "b")
    x1d = next((tmp_path / "a").glob("*_s0*_x1d.fits"))
    with fits.open(x1d) as hdul:
        # the setting reached the batches: an extraction 3 pixels wide
        assert np.nanmedian(hdul["EXTRACT1D"].data["NPIXELS"]) == pytest.approx(3)


def test_a_failed_source_keeps_the_others(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr("spec3nb.session.STEPS", session_doubles.steps())
    asn = simulate_to(tmp_path / "mos", "nrs_mos", seed=2, nsources=3)
    code = main(["run", str(asn), "-o", str(tmp_path / "out"), "--batch", "1"])
    captured = capsys.readouterr()
    assert code == 1
    assert "sources 1-1 of 4:" in captured.out and "(1 failed)" in captured.out
    assert captured.err.count("outlier_detection failed on source 01234_BKG") == 1
    x1d = list((tmp_path / "out").glob("*_x1d.fits"))
    assert len(x1d) == 3 and all("_s0000" in p.name for p in x1d)


def test_existing_output_stops_the_run(mos: Path, tmp_path: Path) -> None:
    session = Spec3Session.from_asn(mos)
    first = stream.run_streamed(session, tmp_path, batch=2, writers=1)
    assert len(first.paths) == 24 and not first.errors
    victim = sorted(first.paths)[-1]
    before = victim.stat().st_mtime_ns
    with pytest.raises(OutputError, match="exists already"):
        stream.run_streamed(session, tmp_path, batch=2, writers=1)
    assert victim.stat().st_mtime_ns == before
    again = stream.run_streamed(session, tmp_path, batch=2, writers=1, overwrite=True)
    assert sorted(again.paths) == sorted(first.paths)


def test_streams_only_many_source_modes(mos: Path, tmp_path: Path) -> None:
    session = Spec3Session.from_asn(mos)
    assert stream.can_stream(session, 2) and not stream.can_stream(session, 6)
    assert not stream.can_stream(session, 0)
    lrs = Spec3Session.from_asn(simulate_to(tmp_path / "lrs", "mir_lrs", seed=1))
    assert not stream.can_stream(lrs, 1)  # no exp_to_source: one source
    wfss = Spec3Session.from_asn(simulate_to(tmp_path / "wfss", "nis_wfss", seed=1))
    assert not stream.can_stream(wfss, 1)  # one x1d file holds every source


FRESH = """
import json, os, time
from spec3nb.parallel import ForkedJobs, fork_safe

def slow_pid(x):
    time.sleep(0.2)
    return os.getpid(), x + 1

jobs = ForkedJobs(slow_pid, [1, 2, 3, 4], 2)
busy = fork_safe()  # the pool's threads run while the children work
results = jobs.join()
print(json.dumps({"parent": os.getpid(), "busy_safe": busy, "safe_after": fork_safe(),
                  "results": results}))
"""


def test_forked_jobs_run_while_the_parent_goes_on() -> None:
    out = subprocess.run([sys.executable, "-c", FRESH], check=True, capture_output=True,
                         text=True).stdout
    found = json.loads(out)
    assert [r[1] for r in found["results"]] == [2, 3, 4, 5]
    assert found["parent"] not in {r[0] for r in found["results"]}
    # No second fork while the first one's jobs run; forking is safe again after join.
    assert not found["busy_safe"] and found["safe_after"]
