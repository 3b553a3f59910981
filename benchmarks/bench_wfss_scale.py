"""NIRCam WFSS at scale: 1,000 sources and 4 exposures through exp_to_source, extract_1d
and combine_1d (issue 6's target: under one minute on a 2-core machine).

Run with ``python benchmarks/bench_wfss_scale.py [--nsources N] [--nexp N]``. The time to
simulate the data is reported separately and is not part of the Stage-3 time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spec3nb.simulate import simulate
from spec3nb.steps.combine1d_wfss import combine_wfss
from spec3nb.steps.exp_to_source import exp_to_source
from spec3nb.steps.extract1d_wfss import extract_wfss
from spec3nb.steps.wfss_package import package_x1d


def main(argv: list[str] | None = None) -> int:
    """Print the time of each stage and the total."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nsources", type=int, default=1000)
    parser.add_argument("--nexp", type=int, default=4)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    data = simulate("nrc_wfss", seed=1, size="full", nsources=args.nsources, nexp=args.nexp)
    cutouts = sum(len(p.parts) for p in data.exposures)
    print(f"simulated {args.nsources} sources x {args.nexp} exposures ({cutouts} cutouts) "
          f"in {time.perf_counter() - start:.1f} s")
    times = {}
    t = time.perf_counter()
    sources = exp_to_source(data.exposures).outputs
    times["exp_to_source"] = time.perf_counter() - t
    t = time.perf_counter()
    x1ds = [extract_wfss([o.product]).products[0] for o in sources]
    times["extract_1d"] = time.perf_counter() - t
    t = time.perf_counter()
    packaged = package_x1d(x1ds, data.exposures)
    times["package x1d"] = time.perf_counter() - t
    t = time.perf_counter()
    combine_wfss([packaged])
    times["combine_1d"] = time.perf_counter() - t
    print("| stage | seconds |\n|---|---|")
    for name, seconds in times.items():
        print(f"| {name} | {seconds:.1f} |")
    print(f"| total ({len(sources)} sources) | {sum(times.values()):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
