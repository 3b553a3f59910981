"""cube_build: spec3nb against jwst 3.0.0 on a full-size four-exposure MIRI MRS dataset.

The simulated dataset (``simulate("mir_mrs", size="full")``: 4 dithers x MIRIFUSHORT and
MIRIFULONG, 8 ``_cal`` files of 1032 x 1024, channels 1-4 SHORT) is written once to a
temporary folder with its cubepar reference. Every run then happens in a fresh Python
process, alternating spec3nb and jwst, so that each run's memory is its own:

* the child reads the ``_cal`` files (spec3nb products, or jwst datamodels with every array
  loaded), then runs the step with the cubepar file and default parameters (one cube per
  band, 4 cubes) and the weighting asked for;
* it reports the wall and CPU time of the step alone, the peak resident memory of the
  process during the step (Linux ``VmHWM``, reset after loading), and the memory resident
  before the step (imports and inputs).

Medians over ``--repeat`` runs (default 3) are printed as a Markdown table. The machine may
be shared: ratios come from runs alternated in the same session.

Run with ``python benchmarks/bench_cube_build.py [--weighting emsm drizzle] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CUBEPAR = "cubepar.fits"


def prepare(folder: Path, seed: int = 1) -> None:
    """Simulate the full-size MRS dataset and write its ``_cal`` files and cubepar."""
    from spec3nb.datamodels.io import write_product
    from spec3nb.simulate import simulate
    from spec3nb.simulate.ifu_miri import CUBEPAR_NAME

    dataset = simulate("mir_mrs", size="full", seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    for product in dataset.exposures:
        write_product(product, folder / product.filename)
    (folder / CUBEPAR).write_bytes(dataset.references[CUBEPAR_NAME])


def _status_kb(field: str) -> int:
    """A memory field of /proc/self/status (kB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    """Restart the peak-RSS count (VmHWM) of this process (Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


def _load(impl: str, folder: Path) -> tuple[list, object]:
    files = sorted(folder.glob("*_cal.fits"))
    if impl == "ours":
        from spec3nb.datamodels.io import read_product
        from spec3nb.datamodels.ref_cubepar import load_cubepar

        return [read_product(f) for f in files], load_cubepar(folder / CUBEPAR)
    from stdatamodels.jwst import datamodels

    models = [datamodels.IFUImageModel(str(f)) for f in files]
    for model in models:  # load every array now, not during the step
        for name in ("data", "err", "dq", "var_poisson", "var_rnoise", "var_flat", "regions"):
            if model.hasattr(name):
                getattr(model, name).sum()
    return models, str(folder / CUBEPAR)


def child(impl: str, weighting: str, folder: Path) -> dict[str, float]:
    """Load the inputs, run one implementation once, and measure it."""
    os.environ.setdefault("STPIPE_DISABLE_CRDS_STEPPARS", "true")
    inputs, cubepar = _load(impl, folder)
    if impl == "ours":
        from spec3nb.steps.cube_build import cube_build

        def run():
            return cube_build(inputs, weighting=weighting, references={"cubepar": cubepar})
    else:
        from jwst.cube_build import CubeBuildStep

        from tests.parity.harness import offline_jwst

        def run():
            with offline_jwst():
                return CubeBuildStep(override_cubepar=cubepar, weighting=weighting).run(inputs)
    gc.collect()
    before = _status_kb("VmRSS")
    _reset_peak()
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = _status_kb("VmHWM")
    cubes = len(result.outputs) if impl == "ours" else len(result)
    return {"wall": wall, "cpu": cpu, "peak_mb": peak / 1024, "before_mb": before / 1024,
            "cubes": cubes}


def _spawn(impl: str, weighting: str, folder: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", impl, "--weighting", weighting,
                          "--data", str(folder)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(weighting: str, folder: Path, repeat: int) -> dict[str, dict[str, float]]:
    """Alternate the two implementations `repeat` times; medians of each measure."""
    runs: dict[str, list[dict[str, float]]] = {"ours": [], "jwst": []}
    for _ in range(repeat):
        for impl in ("ours", "jwst"):
            runs[impl].append(_spawn(impl, weighting, folder))
            print(f"  {weighting} {impl}: {runs[impl][-1]}", file=sys.stderr, flush=True)
    return {impl: {key: statistics.median(r[key] for r in rs) for key in rs[0]}
            for impl, rs in runs.items()}


def main(argv: list[str] | None = None) -> int:
    """Run the comparison (or, with ``--child``, one measured run) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weighting", nargs="+", default=["emsm", "drizzle"],
                        choices=("emsm", "msm", "drizzle"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, help="folder of an already written dataset")
    parser.add_argument("--child", choices=("ours", "jwst"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.weighting[0], args.data)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data or Path(tmp)
        if not any(folder.glob("*_cal.fits")):
            prepare(folder)
        print(f"# cube_build, full-size MIRI MRS (8 x 1032 x 1024, 4 cubes) — "
              f"{platform.node()} ({os.cpu_count()} cores), Python "
              f"{platform.python_version()}, median of {args.repeat}\n")
        print("| weighting | spec3nb (s) | jwst (s) | jwst / spec3nb | spec3nb CPU (s) "
              "| jwst CPU (s) | spec3nb peak RSS (MB) | jwst peak RSS (MB) "
              "| RSS before the step, spec3nb / jwst (MB) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for weighting in args.weighting:
            r = compare(weighting, folder, args.repeat)
            o, j = r["ours"], r["jwst"]
            print(f"| {weighting} | {o['wall']:.1f} | {j['wall']:.1f} | "
                  f"{j['wall'] / o['wall']:.1f}x | {o['cpu']:.1f} | {j['cpu']:.1f} | "
                  f"{o['peak_mb']:.0f} | {j['peak_mb']:.0f} | "
                  f"{o['before_mb']:.0f} / {j['before_mb']:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
