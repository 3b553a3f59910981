"""How long the simulator takes to make and write each mode's dataset (``small`` and
``full``). Run with ``python benchmarks/bench_simulate.py [--size small|full]``."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spec3nb.simulate import SIM_MODES, simulate, write_dataset


def main(argv: list[str] | None = None) -> int:
    """Print a Markdown table: mode, seconds to simulate, seconds to write, MB written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", choices=("small", "full"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        write_dataset(simulate("mir_lrs"), Path(tmp) / "warm")  # imports and schemas
        print("| mode | simulate (s) | write (s) | MB |\n|---|---|---|---|")
        for mode in SIM_MODES:
            start = time.perf_counter()
            dataset = simulate(mode, size=args.size, seed=1)
            made = time.perf_counter()
            folder = Path(tmp) / mode
            write_dataset(dataset, folder)
            written = time.perf_counter()
            size = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
            print(f"| {mode} | {made - start:.2f} | {written - made:.2f} | {size:.1f} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
