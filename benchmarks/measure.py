"""Measure a command in a fresh subprocess: wall time and peak memory of its process tree.

Peak memory is taken two ways and the larger is reported:

* the ``ru_maxrss`` of the command, which covers it and any descendants it waited for (the
  largest single process). Linux records, at ``exec``, the peak of the memory the new
  process came from; a command forked straight from a big benchmark process would report
  that process's size. So the command is started by a tiny launcher (:data:`LAUNCHER`, a
  bare interpreter) that spawns it and hands back its ``ru_maxrss``; and
* the sum of the proportional set sizes (PSS: a page shared by k processes counts 1/k in
  each, so forked writers sharing their parent's pages are not counted twice) of the
  command and all its live descendants, read from ``/proc/PID/smaps_rollup`` every
  ``poll`` seconds (a tree of worker processes shares the machine's memory).

Also: the machine description (CPU model, cores, memory from ``/proc``) and the versions the
results tables print.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Started as ``python -S -c LAUNCHER RUSAGE_FILE CMD...``: spawns CMD, waits, writes its
#: ``ru_maxrss`` (KiB) into RUSAGE_FILE and exits with its status.
LAUNCHER = (
    "import os, sys\n"
    "pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One run of a command.

    Parameters
    ----------
    seconds : float
        Wall time from start to exit.
    peak_mb : float
        Peak memory of the process tree (MiB).
    returncode : int
        The exit status.
    log : str
        The file holding the command's stdout and stderr.
    """

    seconds: float
    peak_mb: float
    returncode: int
    log: str


def _memory(process) -> int:
    """PSS of one process (RSS where PSS cannot be read).

    Read from ``/proc/PID/smaps_rollup``, which the kernel sums up: psutil's
    ``memory_full_info`` parses the whole ``smaps`` in Python, about 40 ms per sample of a
    1 GB process, so polling a tree of three processes every 50 ms kept a core busy and
    slowed the measured command by 15-25 % (the results before 2026-11-26 suffer from it).
    """
    try:
        with open(f"/proc/{process.pid}/smaps_rollup", "rb") as rollup:
            for line in rollup:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return process.memory_info().rss


def _tree_rss(proc) -> int:
    """Proportional-set bytes of the live descendants of `proc` (the launcher excluded)."""
    import psutil

    total = 0
    try:
        family = proc.children(recursive=True)
    except psutil.Error:
        return 0
    for member in family:
        try:
            total += _memory(member)
        except psutil.Error:  # exited between listing and reading
            continue
    return total


def run_measured(cmd: Sequence[str], log: str | os.PathLike[str], *,
                 cwd: str | os.PathLike[str] | None = None, poll: float = 0.5,
                 env: dict[str, str] | None = None) -> Measurement:
    """Run `cmd` to completion in a new process; measure its wall time and peak memory.

    Parameters
    ----------
    cmd : Sequence[str]
        The command.
    log : str or os.PathLike
        File that receives its stdout and stderr (overwritten).
    cwd : str or os.PathLike, optional
        Its working directory.
    poll : float
        Seconds between two memory samples of the process tree. A sample costs the kernel
        about 20 ms per GB-sized process (it walks the page tables), taken from the
        measured command's cores: more often than this slows the command measurably.
    env : dict, optional
        Its environment (default: this process's).

    Returns
    -------
    Measurement
        Seconds, peak MiB, exit status and the log's path.
    """
    import psutil

    log = Path(log)
    usage_file = log.with_name(log.name + ".maxrss")
    usage_file.unlink(missing_ok=True)
    launcher = [sys.executable, "-S", "-c", LAUNCHER, str(usage_file), *cmd]
    with open(log, "wb") as out:
        start = time.perf_counter()
        child = subprocess.Popen(launcher, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                 env=env)
        proc = psutil.Process(child.pid)
        sampled = 0
        while True:
            sampled = max(sampled, _tree_rss(proc))
            try:
                child.wait(timeout=poll)  # returns as soon as the command exits
                break
            except subprocess.TimeoutExpired:
                continue
        seconds = time.perf_counter() - start
    try:
        maxrss = int(usage_file.read_text()) * 1024  # KiB on Linux
    except (OSError, ValueError):  # the launcher could not spawn the command
        maxrss = 0
    return Measurement(seconds, max(sampled, maxrss) / 2**20, child.returncode, str(log))


def summarize(runs: Sequence[Measurement]) -> dict[str, float]:
    """Median seconds and the largest peak of a list of runs.

    Parameters
    ----------
    runs : Sequence[Measurement]
        Successful runs.

    Returns
    -------
    dict
        ``{"median_s", "peak_mb", "runs": [seconds ...]}``.
    """
    return {"median_s": statistics.median(r.seconds for r in runs),
            "peak_mb": max(r.peak_mb for r in runs),
            "runs": [round(r.seconds, 3) for r in runs]}


def python_command(*args: str) -> list[str]:
    """``[this python, *args]``: the venv's interpreter, so both pipelines see the same
    packages."""
    return [sys.executable, *args]


def machine() -> dict[str, str]:
    """CPU model, logical cores, memory and load average, from ``/proc``.

    Returns
    -------
    dict
        ``{"cpu", "cores", "memory", "load"}`` as text.
    """
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    try:
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load = "unknown"
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": memory, "load": load}


def versions() -> dict[str, str]:
    """Versions of Python, numpy, jwst, drizzle, dask and the spec3nb commit.

    Returns
    -------
    dict
        Name -> version text.
    """
    from importlib import metadata

    found = {"python": platform.python_version()}
    for name in ("numpy", "jwst", "stcal", "drizzle", "dask", "distributed"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["spec3nb"] = _commit()
    return found


def _commit() -> str:
    """The spec3nb commit (read-only git query), with ``+changes`` for a modified tree."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain",
                                "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+changes" if dirty else head
