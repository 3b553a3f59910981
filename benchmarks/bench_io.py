"""Time ``read_product`` and ``write_product`` on full-size NIRSpec MOS data.

Reads the ``_cal`` exposures of a simulated association and writes a set of products, each
set several times (median reported), optionally against another version of
``spec3nb/datamodels/io.py`` imported from a file (``--baseline /tmp/io_old.py``), the two
alternating so that load from other users of the machine falls on both alike::

    python benchmarks/bench_io.py --baseline /tmp/io_old.py \\
        [--inputs DIR_WITH_CAL_FILES] [--products DIR_WITH_PRODUCTS] [--repeat 3]

Without ``--inputs`` the association is simulated (``nrs_mos``, ``full``) into a temporary
folder; without ``--products`` the products written are those read from the inputs.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
import types
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spec3nb.datamodels import io as current_io


def load_io(path: str) -> types.ModuleType:
    """Import a version of ``io.py`` from `path` under a name of its own."""
    spec = importlib.util.spec_from_file_location("bench_io_baseline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _write_all(io: types.ModuleType, products: Sequence, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, product in products:
        io.write_product(product, folder / name, overwrite=True, date="2025-01-01T00:00:00")


def _median_table(times: dict[str, dict[str, list[float]]]) -> str:
    lines = ["| operation | version | median (s) | runs (s) | baseline / current |",
             "|---|---|---|---|---|"]
    for operation, by_version in times.items():
        medians = {v: statistics.median(t) for v, t in by_version.items()}
        for version, runs in by_version.items():
            ratio = ""
            if version == "current" and "baseline" in medians:
                ratio = f"{medians['baseline'] / medians['current']:.2f}x"
            runs_text = ", ".join(f"{t:.2f}" for t in runs)
            lines.append(f"| {operation} | {version} | {medians[version]:.2f} | {runs_text} "
                         f"| {ratio} |")
    return "\n".join(lines)


def _inputs(folder: str | None, tmp: Path) -> list[Path]:
    if folder is None:
        from spec3nb.simulate import simulate_to

        simulate_to(tmp / "inputs", "nrs_mos", size="full")
        folder = str(tmp / "inputs")
    return sorted(Path(folder).glob("*_cal.fits"))


def main(argv: list[str] | None = None) -> int:
    """Print a Markdown table of median read and write times (and baseline ratios)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="another io.py to compare with")
    parser.add_argument("--inputs", help="folder of _cal files to read")
    parser.add_argument("--products", help="folder of products to read once and write")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    versions = {"current": current_io}
    if args.baseline:
        versions = {"baseline": load_io(args.baseline), **versions}
    with tempfile.TemporaryDirectory(prefix="bench_io-") as tmpdir:
        tmp = Path(tmpdir)
        inputs = _inputs(args.inputs, tmp)
        sources = sorted(Path(args.products).glob("*.fits")) if args.products else inputs
        products = [(p.name, current_io.read_product(p)) for p in sources]
        for io in versions.values():  # imports, schemas, caches
            io.read_product(inputs[0])
            _write_all(io, products[:1], tmp / "warm")
        times: dict[str, dict[str, list[float]]] = {
            f"read {len(inputs)} files": {v: [] for v in versions},
            f"write {len(products)} products": {v: [] for v in versions},
        }
        read_key, write_key = times
        for _ in range(args.repeat):
            for version, io in versions.items():
                times[read_key][version].append(
                    _timed(lambda io=io: [io.read_product(p) for p in inputs]))
                times[write_key][version].append(
                    _timed(lambda io=io, v=version: _write_all(io, products, tmp / v)))
        print(_median_table(times))
    return 0


if __name__ == "__main__":
    sys.exit(main())
