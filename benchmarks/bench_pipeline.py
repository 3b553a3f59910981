"""Whole Stage-3 runs: jwst 3.0.0's ``calwebb_spec3`` against ``spec3nb run``.

For each mode the simulated dataset (``full`` size unless ``--size small``) is written once;
then jwst's ``Spec3Pipeline`` (offline, :mod:`run_jwst_spec3`) and ``spec3nb run`` process
the same association, alternately (the order flips every repetition), each in a fresh
subprocess so that imports count as a user would see them. Reported: the median wall time
of each, the ratio, and the peak memory of each subprocess tree (:mod:`measure`).

A third command runs in the same alternation: the *floor*, a fresh Python that only imports
stdatamodels and opens every member with its WCS (:data:`FLOOR_SCRIPT`). Both pipelines pay
at least that (the same Python stack and asdf plugins load on the first open), so
``jwst / floor`` bounds the speed-up any stdatamodels-based implementation can reach.

NIRSpec IFU and NIRISS SOSS run with spec3nb alone: jwst's SOSS extraction needs the
``pastasoss``, ``specprofile`` and ``speckernel`` references, which the simulator does not
make; for NIRSpec IFU the issue asks for spec3nb alone (jwst's cube_build needs a NIRSpec
CUBEPAR and its NIRSpec WCS chain, which the simulated data do not carry).

Run ``python benchmarks/bench_pipeline.py [MODE ...] [--size small|full] [--repeat N]
[--profile DIR] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from measure import Measurement, python_command, run_measured, summarize

BENCH = Path(__file__).resolve().parent
JWST_SCRIPT = BENCH / "run_jwst_spec3.py"

#: The floor: import stdatamodels and open every member with its WCS, nothing else.
FLOOR_SCRIPT = (
    "import sys\n"
    "from stdatamodels.jwst import datamodels\n"
    "for path in sys.argv[1:]:\n"
    "    with datamodels.open(path) as model:\n"
    "        model.meta.wcs\n"
)


@dataclasses.dataclass(frozen=True)
class ModeBench:
    """How one mode is benchmarked.

    Parameters
    ----------
    mode : str
        The simulator's mode name.
    jwst : bool
        Whether jwst 3.0.0 runs offline on the simulated data.
    repeat : int, optional
        Repetitions for this mode (default: the command line's).
    options : dict
        Extra ``simulate`` options.
    note : str
        Shown beside the result.
    """

    mode: str
    jwst: bool = True
    repeat: int | None = None
    options: dict = dataclasses.field(default_factory=dict)
    note: str = ""


MODES: dict[str, ModeBench] = {b.mode: b for b in (
    ModeBench("mir_lrs"),
    ModeBench("mir_mrs", note="both with the simulated CUBEPAR and the same IFU extract1d "
                              "reference; ifu_rfcorr off (no reference)"),
    ModeBench("nrs_fs"),
    ModeBench("nrs_mos", repeat=2, note="full: 56 sources + 5 background slitlets, 3 nods; "
                                        "2 repetitions (jwst takes minutes)"),
    ModeBench("nis_wfss"),
    ModeBench("nrc_wfss"),
    ModeBench("nis_soss", jwst=False, note="spec3nb alone: jwst needs pastasoss, specprofile "
                                           "and speckernel references"),
    ModeBench("nrs_ifu", jwst=False, note="spec3nb alone (as the issue asks)"),
)}


def extract1d_ifu_reference(path: Path) -> Path:
    """Write an IFU extract1d reference (ASDF): a 1.5 arcsec circular aperture, no
    background, exact overlaps; both pipelines read the same file."""
    import numpy as np
    from stdatamodels.jwst import datamodels

    model = datamodels.Extract1dIFUModel()
    n = 20
    model.data.wavelength = np.linspace(0.5, 30.0, n).astype(np.float32)
    model.data.radius = np.full(n, 1.5, np.float32)
    model.data.inner_bkg = np.full(n, 2.0, np.float32)
    model.data.outer_bkg = np.full(n, 2.5, np.float32)
    model.data.axis_ratio = np.ones(n, np.float32)
    model.data.axis_pa = np.zeros(n, np.float32)
    model.meta.subtract_background = False
    model.meta.method = "exact"
    model.meta.subpixels = 10
    model.meta.exposure.type = "MIR_MRS"
    model.meta.instrument.name = "MIRI"
    model.meta.reftype = "EXTRACT1D"
    model.meta.description = model.meta.author = "spec3nb benchmark"
    model.meta.pedigree = "DUMMY"
    model.meta.useafter = "2022-01-01T00:00:00"
    model.save(str(path), all_array_storage="inline")
    return path


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A written dataset and the parameters both pipelines get for it."""

    asn: Path
    ours_settings: tuple[str, ...]
    jwst_steps: dict


def prepare(bench: ModeBench, size: str, workdir: Path, seed: int = 1) -> Prepared:
    """Simulate and write `bench`'s dataset under `workdir`; find its reference files.

    Parameters
    ----------
    bench : ModeBench
        The mode.
    size : str
        ``small`` or ``full``.
    workdir : pathlib.Path
        The mode's folder (``data/`` is made inside).
    seed : int
        Simulation seed.

    Returns
    -------
    Prepared
        The association and the ``--set`` / ``steps`` parameters.
    """
    from spec3nb.simulate import simulate_to

    data = workdir / "data"
    if data.exists():
        shutil.rmtree(data)
    asn = simulate_to(data, bench.mode, size=size, seed=seed, **bench.options)
    settings: list[str] = []
    steps: dict[str, dict] = {}
    cubepar = sorted(data.glob("*_cubepar.fits"))
    if cubepar:
        settings.append(f"cube_build.override_cubepar={cubepar[0]}")
        steps["cube_build"] = {"override_cubepar": str(cubepar[0])}
    trace = sorted(data.glob("*_sosstrace.json"))
    if trace:
        settings.append(f"extract_1d.override_sosstrace={trace[0]}")
    if bench.mode == "mir_mrs":
        reference = extract1d_ifu_reference(data / "extract1d_ifu.asdf")
        settings += [f"extract_1d.override_extract1d={reference}",
                     "extract_1d.ifu_rfcorr=false"]
        steps["extract_1d"] = {"override_extract1d": str(reference), "ifu_rfcorr": False}
    return Prepared(asn, tuple(settings), steps)


def ours_command(prepared: Prepared, outdir: Path, *, workers: int | None = None,
                 profile: Path | None = None) -> list[str]:
    """The ``spec3nb run`` command (optionally under cProfile)."""
    head = ["-m", "cProfile", "-o", str(profile)] if profile else []
    cmd = python_command(*head, "-m", "spec3nb", "run", str(prepared.asn), "-o", str(outdir),
                         "-q", "--overwrite")
    if workers:
        cmd += ["--workers", str(workers)]
    for setting in prepared.ours_settings:
        cmd += ["--set", setting]
    return cmd


def jwst_command(prepared: Prepared, outdir: Path, *, profile: Path | None = None
                 ) -> list[str]:
    """The command running jwst's ``calwebb_spec3`` offline on the same association."""
    cmd = python_command(str(JWST_SCRIPT), str(prepared.asn), "-o", str(outdir),
                         "--steps", json.dumps(prepared.jwst_steps))
    if profile:
        cmd += ["--profile", str(profile)]
    return cmd


def floor_command(prepared: Prepared, outdir: Path) -> list[str]:
    """The floor: open the association's science and background members (see
    :data:`FLOOR_SCRIPT`); `outdir` is unused (nothing is written)."""
    asn = json.loads(prepared.asn.read_text())
    members = [prepared.asn.parent / m["expname"] for product in asn["products"]
               for m in product["members"] if m["exptype"] in ("science", "background")]
    return python_command("-c", FLOOR_SCRIPT, *map(str, members))


def _fresh(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def _measure(label: str, command: Callable[[Path], list[str]], workdir: Path,
             rep: int) -> Measurement:
    outdir = _fresh(workdir / f"out_{label}")
    run = run_measured(command(outdir), workdir / f"{label}_{rep}.log")
    if run.returncode != 0:
        raise RuntimeError(f"{label} failed (exit {run.returncode}); see {run.log}")
    return run


def bench_mode(bench: ModeBench, size: str, repeat: int, workdir: Path) -> dict:
    """Simulate once, then alternate the two pipelines; return the mode's results.

    Parameters
    ----------
    bench : ModeBench
        The mode.
    size : str
        ``small`` or ``full``.
    repeat : int
        Repetitions (``bench.repeat`` wins when set and smaller).
    workdir : pathlib.Path
        The mode's scratch folder.

    Returns
    -------
    dict
        ``{"mode", "size", "repeat", "ours": {...}, "jwst": {...} or None, "ratio",
        "products": {"ours": n, "jwst": n}, "note"}``.
    """
    repeat = min(repeat, bench.repeat or repeat)
    prepared = prepare(bench, size, workdir)
    runners = {"ours": lambda out: ours_command(prepared, out),
               "floor": lambda out: floor_command(prepared, out)}
    if bench.jwst:
        runners["jwst"] = lambda out: jwst_command(prepared, out)
    runs: dict[str, list[Measurement]] = {label: [] for label in runners}
    for rep in range(repeat):
        order = list(runners) if rep % 2 == 0 else list(reversed(runners))
        for label in order:
            runs[label].append(_measure(label, runners[label], workdir, rep))
            print(f"  {bench.mode} {label} #{rep + 1}: {runs[label][-1].seconds:.1f} s, "
                  f"{runs[label][-1].peak_mb:.0f} MiB", file=sys.stderr, flush=True)
    result = {"mode": bench.mode, "size": size, "repeat": repeat, "note": bench.note,
              "ours": summarize(runs["ours"]), "jwst": None, "ratio": None,
              "floor": summarize(runs["floor"]),
              "products": {label: len(list((workdir / f"out_{label}").glob("*.fits")))
                           for label in runners if label != "floor"}}
    if bench.jwst:
        result["jwst"] = summarize(runs["jwst"])
        result["ratio"] = result["jwst"]["median_s"] / result["ours"]["median_s"]
    return result


def profile_mode(bench: ModeBench, size: str, workdir: Path, outdir: Path,
                 top: int = 25, reuse_jwst: bool = False) -> dict[str, str]:
    """One extra run of each pipeline under cProfile (spec3nb with one thread, since
    cProfile sees only the main thread); write ``.prof`` files and text summaries.

    With `reuse_jwst`, a jwst profile already in `outdir` is kept (jwst does not change
    between spec3nb's runs, and profiling it takes as long as several runs).

    Returns
    -------
    dict
        ``{"ours": path of the .prof file, "jwst": ...}`` (a ``.txt`` summary beside each).
    """
    import io
    import pstats

    prepared = prepare(bench, size, workdir)
    outdir.mkdir(parents=True, exist_ok=True)
    commands = {"ours": lambda out, prof: ours_command(prepared, out, workers=1,
                                                       profile=prof)}
    if bench.jwst:
        commands["jwst"] = lambda out, prof: jwst_command(prepared, out, profile=prof)
    written = {}
    for label, command in commands.items():
        prof = outdir / f"{bench.mode}_{label}.prof"
        if label == "jwst" and reuse_jwst and prof.exists():
            written[label] = str(prof)
            continue
        _measure(f"profile_{label}", lambda out, c=command, p=prof: c(out, p), workdir, 0)
        text = io.StringIO()
        stats = pstats.Stats(str(prof), stream=text).strip_dirs()
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)
        summary = outdir / f"{bench.mode}_{label}.txt"
        summary.write_text(text.getvalue())
        written[label] = str(prof)
    return written


def table(results: list[dict]) -> str:
    """The Markdown table of :func:`bench_mode` results."""
    lines = ["| mode | size | reps | jwst (s) | spec3nb (s) | jwst / spec3nb | floor (s) "
             "| jwst / floor | jwst peak (MiB) "
             "| spec3nb peak (MiB) | products jwst / spec3nb | note |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        jwst, floor = r["jwst"], r.get("floor")
        cells = [r["mode"], r["size"], str(r["repeat"]),
                 f"{jwst['median_s']:.1f}" if jwst else "—",
                 f"{r['ours']['median_s']:.1f}",
                 f"{r['ratio']:.1f}x" if r["ratio"] else "—",
                 f"{floor['median_s']:.1f}" if floor else "—",
                 f"{jwst['median_s'] / floor['median_s']:.1f}x" if floor and jwst else "—",
                 f"{jwst['peak_mb']:.0f}" if jwst else "—",
                 f"{r['ours']['peak_mb']:.0f}",
                 f"{r['products'].get('jwst', '—')} / {r['products']['ours']}",
                 r["note"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the modes; print the table; optionally save JSON and profiles."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modes", nargs="*", help=f"modes (default: {', '.join(MODES)})")
    parser.add_argument("--size", default="full", choices=("small", "full"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", default="/tmp/spec3nb-bench/pipeline")
    parser.add_argument("--profile", help="also profile modes; write into this folder")
    parser.add_argument("--profile-modes", nargs="*",
                        help="the modes to profile (default: every mode run)")
    parser.add_argument("--reuse-jwst-profiles", action="store_true",
                        help="keep jwst profiles already in the --profile folder")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    results = []
    for name in args.modes or list(MODES):
        bench = MODES[name]
        workdir = Path(args.workdir) / name
        print(f"{name}: simulating ({args.size}) and running ...", file=sys.stderr, flush=True)
        result = bench_mode(bench, args.size, args.repeat, workdir)
        if args.profile and (not args.profile_modes or name in args.profile_modes):
            result["profiles"] = profile_mode(bench, args.size, workdir, Path(args.profile),
                                              reuse_jwst=args.reuse_jwst_profiles)
        results.append(result)
        if args.json:  # after every mode, so a long run keeps what it measured
            Path(args.json).write_text(json.dumps(results, indent=1))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
