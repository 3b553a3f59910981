"""NIRSpec MOS at scale: 10, 100 and 600 sources, one process and on a Dask cluster.

For each number of sources a full-size MOS dataset (1300-column slitlets of three shutters
on the 2048-column detector, three nods, one background slitlet per ten sources) is written
once. Then, in this process, one :class:`~spec3nb.session.Spec3Session` per configuration
runs the whole pipeline on the same loaded inputs:

* ``serial``: one thread (``LocalExecutor(1)``);
* ``threads``: the default local thread pool (one thread per CPU);
* ``dask N``: a ``dask.distributed`` ``LocalCluster`` of N single-threaded worker
  processes, made by :func:`spec3nb.parallel.local_cluster` (workers with glibc's adaptive
  malloc thresholds; dask's nanny default makes the steps about 1.5x slower there), run
  through :class:`spec3nb.parallel.DaskExecutor` (results stay on the workers between steps;
  only what a step changed comes back). Cluster start-up and the workers' first import of
  the steps are not counted; they are reported.

Parallel efficiency of ``dask N`` is ``T(dask 1) / (N * T(dask N))``; its speed-up is
``T(serial) / T(dask N)`` (the honest measure: dask 1 pays for moving data that serial does
not). The CPU seconds of this process and of the workers are recorded for every dask run,
with the machine's load average before it (the machine may be shared: a load above zero
before a run means other work competed for the cores). Reading the files and
writing the products (in this process, one at a time) are timed once each, and the
whole ``spec3nb run`` command (read, run with threads, write) is timed in a subprocess.
jwst's ``calwebb_spec3`` runs on the 10-source dataset only, to state its per-source cost.

Run ``python benchmarks/bench_mos_scale.py [--nsources 10 100 600] [--workers 1 2 4]
[--size full|small] [--parts cli serial threads save dask] [--no-jwst] [--json FILE]``
(``--parts`` and ``--json`` let a long case, e.g. 600 sources, run with fewer
configurations and be merged with the others: the JSON is a list, one entry per number of
sources).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

import bench_pipeline
from measure import run_measured


def _timed_run(inputs, executor) -> tuple[float, object]:
    from spec3nb.session import Spec3Session

    session = Spec3Session(inputs, executor=executor)
    start = time.perf_counter()
    session.run()
    seconds = time.perf_counter() - start
    failed = sum(len(v) for v in session.errors.values())
    if failed:
        raise RuntimeError(f"{failed} sources failed: {session.errors}")
    return seconds, session


def _warm_worker() -> None:
    import spec3nb.pipeline
    import spec3nb.steps  # noqa: F401


def _cpu_seconds() -> float:
    return time.process_time()


def dask_run(inputs, workers: int) -> dict[str, float]:
    """Run on a fresh LocalCluster of `workers` single-threaded processes.

    Returns
    -------
    dict
        ``{"seconds": run time, "startup_s": cluster start-up, "client_cpu_s": CPU seconds
        of this process during the run, "workers_cpu_s": of all workers, "load": the 1-min
        load average before the run}``.
    """
    from dask.distributed import Client

    from spec3nb.parallel import local_cluster

    start = time.perf_counter()
    # Worker processes, one thread each: the scaling measured is that of processes, not of
    # threads sharing one interpreter. No dashboard (no port to open).
    with local_cluster(workers) as cluster, Client(cluster) as client:
        # Workers import the steps once, as a long-lived cluster would have: that import
        # is start-up, not per-run work.
        client.run(_warm_worker)
        startup = time.perf_counter() - start
        load = os.getloadavg()[0]
        before = sum(client.run(_cpu_seconds).values())
        client_before = time.process_time()
        seconds, _ = _timed_run(inputs, client)
        client_cpu = time.process_time() - client_before
        workers_cpu = sum(client.run(_cpu_seconds).values()) - before
    return {"seconds": seconds, "startup_s": startup, "client_cpu_s": client_cpu,
            "workers_cpu_s": workers_cpu, "load": load}


PARTS = ("cli", "serial", "threads", "save", "dask")


def _subprocess_runs(prepared, workdir: Path, parts: set[str], jwst: bool) -> dict:
    """The ``spec3nb run`` command and (when asked) jwst, each in a fresh process."""
    found: dict = {"cli_s": None, "cli_peak_mb": None, "jwst_s": None}
    runs = [("cli", bench_pipeline.ours_command)] if "cli" in parts else []
    runs += [("jwst", bench_pipeline.jwst_command)] if jwst else []
    for label, command in runs:
        out = bench_pipeline._fresh(workdir / f"out_{label}")
        run = run_measured(command(prepared, out), workdir / f"{label}.log")
        if run.returncode != 0:
            raise RuntimeError(f"{label} failed (exit {run.returncode}); see {run.log}")
        found[f"{label}_s"], found[f"{label}_peak_mb"] = run.seconds, run.peak_mb
        print(f"  {label}: {run.seconds:.1f} s", file=sys.stderr, flush=True)
    return found


def bench_sources(nsources: int, size: str, workers: tuple[int, ...], workdir: Path,
                  jwst: bool, parts: tuple[str, ...] = PARTS) -> dict:
    """The configurations `parts` (and jwst when `jwst`) on one dataset of `nsources`.

    Returns
    -------
    dict
        ``{"nsources", "slitlets", "load_s", "serial_s", "threads_s", "save_s",
        "products", "dask": {n: {"seconds", "startup_s", "efficiency"}}, "cli_s",
        "cli_peak_mb", "jwst_s"}``; what was not run is None (``dask``: empty).
    """
    from spec3nb.parallel import LocalExecutor
    from spec3nb.runner import load_inputs

    parts = set(parts)
    bench = bench_pipeline.ModeBench("nrs_mos", options={"nsources": nsources})
    prepared = bench_pipeline.prepare(bench, size, workdir)
    result = {"nsources": nsources, **_subprocess_runs(prepared, workdir, parts, jwst)}
    start = time.perf_counter()
    inputs = load_inputs([prepared.asn])
    result.update(load_s=time.perf_counter() - start, slitlets=len(inputs.science[0].parts),
                  serial_s=None, threads_s=None, save_s=None, products=None, dask={})
    if "serial" in parts:
        result["serial_load"] = os.getloadavg()[0]
        cpu = time.process_time()
        result["serial_s"], _ = _timed_run(inputs, LocalExecutor(1))
        result["serial_cpu_s"] = time.process_time() - cpu
    if parts & {"threads", "save"}:
        result["threads_s"], session = _timed_run(inputs, LocalExecutor())
        if "save" in parts:
            out = Path(tempfile.mkdtemp(dir=workdir))
            start = time.perf_counter()  # in this process, one file at a time
            result["products"] = len(session.save(out))
            result["save_s"] = time.perf_counter() - start
            shutil.rmtree(out)
        del session
    for n in workers if "dask" in parts else ():
        result["dask"][n] = dask_run(inputs, n)
        print(f"  {nsources} sources, dask {n}: {result['dask'][n]['seconds']:.1f} s",
              file=sys.stderr, flush=True)
    base = result["dask"].get(1, {}).get("seconds")
    for n, entry in result["dask"].items():
        entry["efficiency"] = base / (n * entry["seconds"]) if base else None
        serial = result["serial_s"]
        entry["speedup"] = serial / entry["seconds"] if serial else None
    return result


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def table(results: list[dict]) -> str:
    """The Markdown scaling table."""
    workers = sorted({int(n) for r in results for n in r["dask"]})
    head = ["sources (slitlets)", "read (s)", "serial (s)", "threads (s)"]
    head += [f"dask {n} (s, eff., vs serial)" for n in workers]
    head += ["write (s)", "`spec3nb run` total (s)", "jwst (s)", "jwst per source (s)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [f"{r['nsources']} ({r['slitlets']})", _cell(r["load_s"]),
                 _cell(r.get("serial_s")), _cell(r.get("threads_s"))]
        for n in workers:
            entry = r["dask"].get(n) or r["dask"].get(str(n))
            if not entry:
                cells.append("—")
                continue
            notes = [f"{entry['efficiency']:.0%}"] if entry.get("efficiency") else []
            notes += [f"{entry['speedup']:.2f}x"] if entry.get("speedup") else []
            cells.append(f"{entry['seconds']:.1f}" + (f" ({', '.join(notes)})" if notes else ""))
        jwst = r.get("jwst_s")
        cells += [_cell(r.get("save_s")), _cell(r.get("cli_s")), _cell(jwst),
                  f"{jwst / r['nsources']:.1f}" if jwst else "—"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cpu_table(results: list[dict]) -> str:
    """CPU seconds of the runs (this process; the workers) and the load average before each:
    what a shared machine does to the wall times shows here."""
    lines = ["| sources | configuration | wall (s) | CPU here (s) | CPU workers (s) | load |",
             "|---|---|---|---|---|---|"]
    for r in results:
        if r.get("serial_s") is not None:
            lines.append(f"| {r['nsources']} | serial | {r['serial_s']:.1f} | "
                         f"{r.get('serial_cpu_s', 0):.1f} | — | {r.get('serial_load', 0):.2f} |")
        for n, e in sorted(r["dask"].items(), key=lambda item: int(item[0])):
            if "client_cpu_s" in e:
                lines.append(f"| {r['nsources']} | dask {n} | {e['seconds']:.1f} | "
                             f"{e['client_cpu_s']:.1f} | {e['workers_cpu_s']:.1f} | "
                             f"{e['load']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the scaling benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nsources", type=int, nargs="+", default=[10, 100, 600])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--size", default="full", choices=("small", "full"))
    parser.add_argument("--no-jwst", action="store_true", help="skip the jwst run")
    parser.add_argument("--jwst-sources", type=int, default=10,
                        help="run jwst on this number of sources only (default 10)")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="what to time (default: all)")
    parser.add_argument("--workdir", default="/tmp/spec3nb-bench/mos_scale")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    os.environ.setdefault("STPIPE_DISABLE_CRDS_STEPPARS", "true")
    results = []
    for n in args.nsources:
        print(f"nrs_mos, {n} sources ({args.size}) ...", file=sys.stderr, flush=True)
        jwst = not args.no_jwst and n == args.jwst_sources
        results.append(bench_sources(n, args.size, tuple(args.workers),
                                     Path(args.workdir) / f"n{n}", jwst, tuple(args.parts)))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1))
    print(table(results))
    print()
    print(cpu_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
