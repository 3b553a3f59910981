"""The benchmark code paths on tiny data: jwst and spec3nb, one repetition each.

These check the structure of the results and the bookkeeping (which nodes re-ran, the
ratio, the merge of results.md), never timings.
"""

from __future__ import annotations

import cProfile
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_incremental  # noqa: E402
import bench_mos_scale  # noqa: E402
import bench_pipeline  # noqa: E402
import profiles  # noqa: E402
import run as bench_run  # noqa: E402
from measure import python_command, run_measured, summarize  # noqa: E402


@pytest.fixture(scope="module")
def lrs(tmp_path_factory) -> dict:
    """MIRI LRS (small): both pipelines once, spec3nb also under the profiler."""
    work = tmp_path_factory.mktemp("lrs")
    result = bench_pipeline.bench_mode(bench_pipeline.MODES["mir_lrs"], "small", 1, work)
    result["profiles"] = bench_pipeline.profile_mode(
        bench_pipeline.ModeBench("mir_lrs", jwst=False), "small", work, work / "prof")
    result["work"] = work
    return result


def test_pipeline_result_structure(lrs: dict) -> None:
    assert lrs["repeat"] == 1 and lrs["size"] == "small"
    for side in ("ours", "jwst"):
        assert len(lrs[side]["runs"]) == 1
        assert lrs[side]["median_s"] > 0 and lrs[side]["peak_mb"] > 50  # a Python + numpy
    assert lrs["ratio"] == pytest.approx(lrs["jwst"]["median_s"] / lrs["ours"]["median_s"])
    # The floor (import stdatamodels, open the members) ran in the same alternation.
    assert len(lrs["floor"]["runs"]) == 1 and lrs["floor"]["median_s"] > 0
    # Both pipelines wrote the same number of products (crf x2, s2d, x1d).
    assert lrs["products"]["ours"] == lrs["products"]["jwst"] >= 4
    table = bench_pipeline.table([lrs])
    assert table.count("\n") == 2 and "| mir_lrs | small | 1 |" in table
    assert "| jwst / floor |" in table.splitlines()[0]


def test_profile_summary(lrs: dict) -> None:
    prof = lrs["profiles"]["ours"]
    split = profiles.phases(prof, "ours")
    assert split["steps"] > 0 and split["write products"] > 0
    assert split["total"] >= max(v for k, v in split.items() if k != "total")
    lines = profiles.markdown("mir_lrs", lrs["profiles"])
    assert any("spec3nb/steps" in line or "steps/" in line for line in lines)


def test_incremental_reruns_only_downstream(lrs: dict) -> None:
    prepared = bench_pipeline.prepare(bench_pipeline.MODES["mir_lrs"], "small",
                                      lrs["work"] / "inc")
    case = bench_incremental.CASES[0]
    assert (case.mode, case.step) == ("mir_lrs", "extract_1d")
    result = bench_incremental.bench_case(case, prepared, 1, lrs["jwst"]["median_s"])
    assert set(result["rerun_nodes"]) <= {"extract_1d", "combine_1d"}
    assert "extract_1d" in result["rerun_nodes"]
    assert result["ratio"] == pytest.approx(lrs["jwst"]["median_s"] / result["median_s"])
    assert "| mir_lrs: extract_1d.extract_width |" in bench_incremental.table([result])


def test_mos_scale_structure(tmp_path: Path) -> None:
    result = bench_mos_scale.bench_sources(2, "small", (1,), tmp_path, jwst=False)
    assert result["nsources"] == 2 and result["slitlets"] == 3  # plus one background
    assert result["products"] > 0 and result["cli_s"] > 0
    assert result["dask"][1]["efficiency"] == pytest.approx(1.0)
    assert result["jwst_s"] is None
    assert "| 2 (3) |" in bench_mos_scale.table([result])
    # A part of the configurations only: the others are None and shown as dashes.
    partial = bench_mos_scale.bench_sources(2, "small", (2,), tmp_path / "partial",
                                            jwst=False, parts=("cli",))
    assert partial["cli_s"] > 0 and partial["threads_s"] is None and partial["dask"] == {}
    row = bench_mos_scale.table([result, partial]).splitlines()[-1]
    assert row.startswith("| 2 (3) |") and row.count("—") >= 4


def test_peak_memory_of_a_process_tree(tmp_path: Path) -> None:
    # The child allocates 300 MB in a grandchild: the tree's peak must see it.
    code = ("import subprocess, sys; subprocess.run([sys.executable, '-c', "
            "'import numpy as np, time; a = np.ones(300 * 2**20 // 8); time.sleep(0.5)'],"
            " check=True)")
    run = run_measured(python_command("-c", code), tmp_path / "log", poll=0.02)
    assert run.returncode == 0
    assert run.peak_mb > 300
    small = run_measured(python_command("-c", "pass"), tmp_path / "log2")
    assert small.peak_mb < run.peak_mb - 250
    assert summarize([run, small])["peak_mb"] == run.peak_mb


def test_failed_command_reports_its_status(tmp_path: Path) -> None:
    run = run_measured(python_command("-c", "raise SystemExit(3)"), tmp_path / "log")
    assert run.returncode == 3


def _fake_results(folder: Path) -> None:
    summary = {"median_s": 10.0, "peak_mb": 100.0, "runs": [10.0]}
    pipeline = [{"mode": "mir_lrs", "size": "full", "repeat": 1, "note": "",
                 "ours": {**summary, "median_s": 4.0, "peak_mb": 120.0}, "jwst": summary,
                 "ratio": 2.5, "products": {"ours": 4, "jwst": 4}}]
    incremental = [{"case": "mir_lrs: extract_1d.extract_width", "first_run_s": 1.0,
                    "median_s": 0.05, "runs": [0.05], "rerun_nodes": {"extract_1d": 0.04},
                    "jwst_s": 10.0, "ratio": 200.0}]
    mos = [{"nsources": 600, "slitlets": 660, "load_s": 1, "save_s": 2, "serial_s": 3,
            "threads_s": 3, "products": 1, "cli_s": 700.0, "jwst_s": None,
            "dask": {"1": {"seconds": 10.0, "startup_s": 1, "efficiency": 1.0},
                     "2": {"seconds": 8.0, "startup_s": 1, "efficiency": 0.625}}}]
    for name, data in (("pipeline", pipeline), ("incremental", incremental),
                       ("mos_scale_600", mos)):
        (folder / f"{name}.json").write_text(json.dumps(data))


def test_results_markdown_keeps_steps_and_cube_build(tmp_path: Path) -> None:
    _fake_results(tmp_path)
    old = ("# Step benchmarks: spec3nb against jwst 3.0.0\n\n| case | s |\n|---|---|\n"
           "| x | 1 |\n\n## cube_build (issue 5)\n\ncube table here\n")
    previous = bench_run.split_previous(old)
    assert previous["cube"].startswith("## cube_build (issue 5)")
    context = {"machine": {"cpu": "cpu", "cores": "2", "memory": "1 GiB", "load": "0"},
               "versions": {"jwst": "3.0.0"}, "quick": True, "date": "2026-01-01",
               "load_start": "1", "load_end": "2"}
    text = bench_run.render(tmp_path, previous, {"pipeline": ["python", "x"]}, context)
    assert text.rstrip().endswith("cube table here")
    assert "## Step benchmarks: spec3nb against jwst 3.0.0" in text  # demoted, kept
    assert "mir_lrs: >= 5x faster: MISSED (2.5x of 5x)" in text
    assert "peak memory <= jwst's: MISSED (1.20x jwst's)" in text
    assert "update >= 100x faster than a jwst re-run: met" in text
    assert "< 10 min: MISSED (11.7 min)" in text and "2 workers > 70%: MISSED (62%)" in text
    # A second rewrite keeps the same sections once each (markers, not duplication).
    again = bench_run.render(tmp_path, bench_run.split_previous(text), {}, context)
    assert again.count("| x | 1 |") == 1 and again.count("cube table here") == 1


def test_profile_top_reads_a_profile(tmp_path: Path) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(sorted, list(range(100000, 0, -1)))
    path = tmp_path / "p.prof"
    profiler.dump_stats(str(path))
    rows = profiles.top(path, "ours", 3, own=False)
    assert rows and rows[0][1] >= rows[-1][1]
    assert profiles.top(path, "ours", 3) == []  # nothing of spec3nb in it
