"""Incremental re-runs: the time from a parameter change to the updated product, in one
:class:`~spec3nb.session.Spec3Session`, against a full jwst 3.0.0 re-run.

Cases (each on its mode's simulated dataset):

* ``extract_1d.extract_width`` (MIRI LRS and NIRSpec FS): only extract_1d (and the
  combine_1d node, which skips itself) re-run;
* ``outlier_detection.snr`` (MIRI LRS): outlier_detection and everything after it;
* ``cube_build.scalexy`` (MIRI MRS): cube_build and extract_1d.

Every repetition sets a value not used before, so the session's result cache cannot answer
(setting a parameter back to an earlier value is a cache hit, which would be faster still).
The time counts the parameter change, the re-run of the stale nodes and building the
products dictionary (the updated product in memory, as a notebook shows it). jwst has no
incremental mode: the comparison is its whole ``calwebb_spec3`` run on the same data, taken
from ``bench_pipeline``'s results of the same invocation (``--jwst-json``) or measured here
once per mode.

Run ``python benchmarks/bench_incremental.py [--size small|full] [--repeat N]
[--jwst-json FILE] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

import bench_pipeline
from measure import run_measured


@dataclasses.dataclass(frozen=True)
class Case:
    """One parameter change.

    Parameters
    ----------
    mode : str
        The simulated mode.
    step, param : str
        What is changed.
    values : tuple
        The successive new values (one per repetition; none equal to the default).
    """

    mode: str
    step: str
    param: str
    values: tuple

    @property
    def name(self) -> str:
        """``mode: step.param``."""
        return f"{self.mode}: {self.step}.{self.param}"


CASES = (
    Case("mir_lrs", "extract_1d", "extract_width", (5, 7, 9, 11, 13)),
    Case("nrs_fs", "extract_1d", "extract_width", (3, 5, 7, 9, 11)),
    Case("mir_lrs", "outlier_detection", "snr",
         ("4.0 3.0", "4.5 3.5", "5.5 4.5", "6.0 5.0", "6.5 5.5")),
    Case("mir_mrs", "cube_build", "scalexy", (0.2, 0.25, 0.3, 0.35, 0.4)),
)


def open_session(prepared: bench_pipeline.Prepared):
    """A session on the prepared association with the same settings ``spec3nb run`` gets."""
    from spec3nb.cli import apply_settings
    from spec3nb.session import Spec3Session

    session = Spec3Session.from_asn(prepared.asn)
    apply_settings(session, prepared.ours_settings)
    return session


def time_change(session, case: Case, value) -> tuple[float, dict[str, float]]:
    """Change one parameter, re-run, build the products; return the seconds and the
    seconds of each node that recomputed."""
    before = {n.name: n.epoch for n in session.nodes}
    start = time.perf_counter()
    session[case.step].set_param(case.param, value)
    session.run()
    products = session.products
    seconds = time.perf_counter() - start
    if not products:
        raise RuntimeError(f"{case.name}={value!r}: no products after the re-run")
    rerun = {n.name: round(n.duration or 0.0, 4) for n in session.nodes
             if n.epoch != before[n.name]}
    return seconds, rerun


def jwst_full_run(prepared: bench_pipeline.Prepared, workdir: Path) -> float:
    """Seconds of one whole jwst ``calwebb_spec3`` run on `prepared` (fresh subprocess)."""
    out = workdir / "out_jwst_incremental"
    out.mkdir(parents=True, exist_ok=True)
    run = run_measured(bench_pipeline.jwst_command(prepared, out), workdir / "jwst_inc.log")
    if run.returncode != 0:
        raise RuntimeError(f"jwst failed (exit {run.returncode}); see {run.log}")
    return run.seconds


def bench_case(case: Case, prepared: bench_pipeline.Prepared, repeat: int,
               jwst_seconds: float) -> dict:
    """Open a session, run it once, then time `repeat` changes of the case's parameter.

    Returns
    -------
    dict
        ``{"case", "first_run_s", "median_s", "runs", "rerun_nodes", "jwst_s", "ratio"}``.
    """
    session = open_session(prepared)
    start = time.perf_counter()
    session.run()
    first = time.perf_counter() - start
    times, rerun = [], {}
    for value in case.values[:repeat]:
        seconds, rerun = time_change(session, case, value)
        times.append(seconds)
    median = statistics.median(times)
    return {"case": case.name, "first_run_s": first, "median_s": median,
            "runs": [round(t, 4) for t in times], "rerun_nodes": rerun,
            "jwst_s": jwst_seconds, "ratio": jwst_seconds / median}


def _known_jwst(path: str | None, size: str) -> dict[str, float]:
    if not path or not Path(path).exists():
        return {}
    return {r["mode"]: r["jwst"]["median_s"] for r in json.loads(Path(path).read_text())
            if r.get("jwst") and r["size"] == size}


def run_cases(size: str, repeat: int, workdir: Path, jwst_json: str | None = None
              ) -> list[dict]:
    """Run every case; measure jwst once per mode unless `jwst_json` has its time.

    Returns
    -------
    list[dict]
        One :func:`bench_case` result per case.
    """
    known = _known_jwst(jwst_json, size)
    prepared: dict[str, bench_pipeline.Prepared] = {}
    results = []
    for case in CASES:
        folder = workdir / case.mode
        if case.mode not in prepared:
            prepared[case.mode] = bench_pipeline.prepare(bench_pipeline.MODES[case.mode],
                                                         size, folder)
        if case.mode not in known:
            print(f"{case.mode}: one jwst run for the comparison ...", file=sys.stderr,
                  flush=True)
            known[case.mode] = jwst_full_run(prepared[case.mode], folder)
        result = bench_case(case, prepared[case.mode], repeat, known[case.mode])
        print(f"  {case.name}: {result['median_s']:.3f} s ({result['ratio']:.0f}x)",
              file=sys.stderr, flush=True)
        results.append(result)
    return results


def table(results: list[dict]) -> str:
    """The Markdown table of :func:`run_cases` results."""
    lines = ["| change | spec3nb first run in session (s) | spec3nb update (s), median "
             "| nodes re-run (s each) | jwst full re-run (s) | jwst / spec3nb update |",
             "|---|---|---|---|---|---|"]
    for r in results:
        nodes = ", ".join(f"{k} {v:.3f}" for k, v in r["rerun_nodes"].items())
        lines.append(f"| {r['case']} | {r['first_run_s']:.2f} | {r['median_s']:.3f} "
                     f"| {nodes} | {r['jwst_s']:.1f} | {r['ratio']:.0f}x |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the cases and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="full", choices=("small", "full"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", default="/tmp/spec3nb-bench/incremental")
    parser.add_argument("--jwst-json", help="bench_pipeline results holding jwst's times")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    results = run_cases(args.size, min(args.repeat, 5), Path(args.workdir), args.jwst_json)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
