"""Side-by-side timings of spec3nb steps and the same jwst 3.0.0 steps on the same inputs.

Each case prepares its inputs once (simulated ``full``-size data), then runs spec3nb's step
and jwst's alternately, several times, and reports the median wall time of each, their
ratio and the peak of memory allocated during a run (tracemalloc, which sees numpy arrays).

Run with ``make bench`` or ``python benchmarks/bench_steps.py [CASE ...] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("STPIPE_DISABLE_CRDS_STEPPARS", "true")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.parity.harness import offline_jwst  # noqa: E402

Runner = Callable[[], object]
SETTINGS = {"repeat": 3}  # set by main(): cases that consume inputs prepare this many
CASES: dict[str, Callable[[], tuple[Runner, Runner]]] = {}


def case(name: str):
    """Register a benchmark case: a function returning (spec3nb runner, jwst runner)."""
    def register(fn):
        CASES[name] = fn
        return fn
    return register


def _jwst_container(products):
    from jwst.datamodels import ModelContainer

    from spec3nb.datamodels import to_datamodel

    return ModelContainer([to_datamodel(p) for p in products])


@case("exp_to_source nrs_mos")
def _exp_to_source():
    from jwst.exp_to_source import multislit_to_container

    from spec3nb.datamodels import to_datamodel
    from spec3nb.simulate import simulate
    from spec3nb.steps.exp_to_source import exp_to_source

    exposures = simulate("nrs_mos", size="full", seed=1).exposures
    # jwst's function consumes (closes) its models: build a fresh set for every run in
    # advance, so that only the regrouping itself is timed on both sides.
    prepared = [[to_datamodel(e) for e in exposures] for _ in range(SETTINGS["repeat"])]

    def theirs():
        return multislit_to_container(prepared.pop())

    def ours():
        return exp_to_source(exposures)

    return ours, theirs


@case("combine_1d mir_lrs nod x1d")
def _combine_1d():
    from jwst.combine_1d import Combine1dStep

    from spec3nb.simulate import simulate
    from spec3nb.steps.combine1d import combine_1d

    x1ds = simulate("mir_lrs", size="full", seed=1, nexp=8, background="nod").backgrounds
    container = _jwst_container(x1ds)
    return (lambda: combine_1d(x1ds)), (lambda: Combine1dStep().run(container))


def _lrs_full(nexp: int = 4, background: str = "none"):
    from spec3nb.simulate import simulate

    return simulate("mir_lrs", size="full", seed=2, nexp=nexp, background=background)


def _fs_source():
    """The primary-slit source of a full-size NIRSpec FS dataset (our product, jwst's)."""
    from jwst.exp_to_source import multislit_to_container

    from spec3nb.datamodels import to_datamodel
    from spec3nb.simulate import simulate
    from spec3nb.steps.exp_to_source import group_by_source

    exposures = simulate("nrs_fs", size="full", seed=2).exposures
    ours = group_by_source(exposures)["1"]
    theirs = multislit_to_container([to_datamodel(e) for e in exposures])["1"]
    return ours, theirs


@case("outlier_detection mir_lrs full, 4 exposures")
def _outlier_lrs():
    from jwst.outlier_detection import OutlierDetectionStep

    from spec3nb.steps.outlier_spec import outlier_detection

    exposures = _lrs_full().exposures
    container = _jwst_container(exposures)
    return (lambda: outlier_detection(exposures)), (
        lambda: OutlierDetectionStep().run(container))


@case("outlier_detection nrs_fs full, primary slit")
def _outlier_fs():
    from jwst.outlier_detection import OutlierDetectionStep

    from spec3nb.steps.outlier_spec import outlier_detection

    ours, theirs = _fs_source()
    return (lambda: outlier_detection([ours])), (lambda: OutlierDetectionStep().run(theirs))


@case("resample_spec mir_lrs full, 4 exposures")
def _resample_lrs():
    from jwst.resample import ResampleSpecStep

    from spec3nb.steps.resample_spec import resample_spec

    exposures = _lrs_full().exposures
    container = _jwst_container(exposures)
    return (lambda: resample_spec(exposures)), (lambda: ResampleSpecStep().run(container))


@case("resample_spec nrs_fs full, primary slit")
def _resample_fs():
    from jwst.resample import ResampleSpecStep

    from spec3nb.steps.resample_spec import resample_spec

    ours, theirs = _fs_source()
    return (lambda: resample_spec([ours])), (lambda: ResampleSpecStep().run(theirs))


@case("extract_1d mir_lrs full s2d")
def _extract_lrs():
    from jwst.extract_1d import Extract1dStep

    from spec3nb.datamodels import to_datamodel
    from spec3nb.steps.extract1d import extract_1d
    from spec3nb.steps.resample_spec import resample_spec

    s2d = resample_spec(_lrs_full().exposures).products[0]
    model = to_datamodel(s2d)
    step = Extract1dStep(override_extract1d="N/A", override_apcorr="N/A", override_psf="N/A")
    return (lambda: extract_1d([s2d], references={"apcorr": "N/A"})), (
        lambda: step.run(model))


@case("master_background mir_lrs full, dedicated background")
def _master_background():
    from jwst.master_background import MasterBackgroundStep

    from spec3nb.steps.master_background import master_background

    data = _lrs_full(nexp=2, background="dedicated")
    products = [p.evolve(meta={"asn.exptype": "science"}) for p in data.exposures] + [
        p.evolve(meta={"asn.exptype": "background"}) for p in data.backgrounds]
    container = _jwst_container(products)
    for model, product in zip(container, products, strict=True):
        model.meta.asn.exptype = product.get("asn.exptype")
    return (lambda: master_background(products)), (
        lambda: MasterBackgroundStep().run(container))


def measure(fn: Runner) -> tuple[float, int]:
    """Wall time (s) and peak traced memory (bytes) of one call."""
    gc.collect()
    tracemalloc.start()
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return elapsed, peak


def run_case(name: str, repeat: int) -> dict[str, float]:
    """Alternate the two implementations `repeat` times; return medians and the ratio."""
    ours, theirs = CASES[name]()
    times: dict[str, list[float]] = {"ours": [], "jwst": []}
    peaks: dict[str, int] = {"ours": 0, "jwst": 0}
    with offline_jwst():
        for _ in range(repeat):
            for label, fn in (("ours", ours), ("jwst", theirs)):
                elapsed, peak = measure(fn)
                times[label].append(elapsed)
                peaks[label] = max(peaks[label], peak)
    ours_t, jwst_t = statistics.median(times["ours"]), statistics.median(times["jwst"])
    return {"ours": ours_t, "jwst": jwst_t, "speedup": jwst_t / ours_t,
            "ours_peak_mb": peaks["ours"] / 2**20, "jwst_peak_mb": peaks["jwst"] / 2**20}


def main(argv: list[str] | None = None) -> int:
    """Run the cases and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help="case names (default: all)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    SETTINGS["repeat"] = args.repeat
    names = args.cases or list(CASES)
    print(f"# spec3nb vs jwst 3.0.0 — {platform.node()} ({os.cpu_count()} cores), "
          f"Python {platform.python_version()}\n")
    print("| case | spec3nb (s) | jwst (s) | jwst / spec3nb | spec3nb peak (MB) "
          "| jwst peak (MB) |")
    print("|---|---|---|---|---|---|")
    for name in names:
        r = run_case(name, args.repeat)
        print(f"| {name} | {r['ours']:.3f} | {r['jwst']:.3f} | {r['speedup']:.1f}x "
              f"| {r['ours_peak_mb']:.0f} | {r['jwst_peak_mb']:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
