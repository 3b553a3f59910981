"""Run jwst 3.0.0's ``calwebb_spec3`` (``Spec3Pipeline``) offline on one association.

The benchmarks start this script in a fresh subprocess so that jwst's wall time and peak
memory are measured exactly as a user running ``strun calwebb_spec3`` would see them
(imports included), on the same association that ``spec3nb run`` reads::

    python benchmarks/run_jwst_spec3.py ASN -o OUTDIR [--steps JSON] [--profile FILE]

``--steps`` is a JSON object of per-step parameters (``{"cube_build": {"override_cubepar":
"..."}}``) merged over :data:`OFFLINE_STEPS`, the overrides every reference look-up needs
when CRDS cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ["STPIPE_DISABLE_CRDS_STEPPARS"] = "true"
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NA = "N/A"

#: Offline, every reference type Spec3Pipeline prefetches must be overridden ("N/A" where
#: the step accepts running without it).
OFFLINE_STEPS: dict[str, dict[str, object]] = {
    "extract_1d": {"override_extract1d": NA, "override_apcorr": NA, "override_psf": NA,
                   "override_pastasoss": NA, "override_speckernel": NA,
                   "override_specprofile": NA},
    "cube_build": {"override_cubepar": NA},
    "spectral_leak": {"override_mrsptcorr": NA},
    "photom": {"override_photom": NA, "override_area": NA},
}


def merged_steps(extra: dict[str, dict[str, object]] | None) -> dict[str, dict[str, object]]:
    """The offline overrides with `extra` merged in (per step, `extra` wins).

    Parameters
    ----------
    extra : dict, optional
        Step name -> parameters.

    Returns
    -------
    dict
        Step name -> parameters for ``Spec3Pipeline.call(steps=...)``.
    """
    steps = {name: dict(values) for name, values in OFFLINE_STEPS.items()}
    for name, values in (extra or {}).items():
        steps.setdefault(name, {}).update(values)
    return steps


def run_spec3(asn: str | os.PathLike[str], outdir: str | os.PathLike[str],
              extra: dict[str, dict[str, object]] | None = None) -> list[Path]:
    """Run ``Spec3Pipeline`` offline on `asn`, saving its products into `outdir`.

    Parameters
    ----------
    asn : str or os.PathLike
        The Level-3 association.
    outdir : str or os.PathLike
        Where jwst writes its products (created when missing).
    extra : dict, optional
        Step parameters on top of :data:`OFFLINE_STEPS`.

    Returns
    -------
    list[pathlib.Path]
        The FITS files in `outdir` afterwards.
    """
    from jwst.pipeline import Spec3Pipeline

    from tests.parity.harness import offline_jwst

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    with offline_jwst():
        Spec3Pipeline.call(str(asn), output_dir=str(outdir), save_results=True,
                           steps=merged_steps(extra))
    return sorted(outdir.glob("*.fits"))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: run, optionally under cProfile; print the products' count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("asn")
    parser.add_argument("-o", "--output-dir", required=True)
    parser.add_argument("--steps", default="{}", help="JSON: step -> parameters")
    parser.add_argument("--profile", help="write cProfile statistics to this file")
    args = parser.parse_args(argv)
    extra = json.loads(args.steps)
    profile = Path(args.profile).resolve() if args.profile else None
    # The pipeline resolves relative member paths against the association's folder, and
    # some steps write beside the working directory: run from the output folder.
    Path(args.output_dir).mkdir(parents=True, exist_ok=True)
    os.chdir(args.output_dir)
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        products = profiler.runcall(run_spec3, Path(args.asn).resolve(), ".", extra)
        profiler.dump_stats(str(profile))
    else:
        products = run_spec3(Path(args.asn).resolve(), ".", extra)
    print(f"jwst calwebb_spec3: {len(products)} products")
    return 0 if products else 1


if __name__ == "__main__":
    sys.exit(main())
