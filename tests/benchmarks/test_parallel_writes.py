"""spec3nb.parallel.fork_map and the parallel writes of ``spec3nb run`` (issue 11).

(These belong in tests/test_parallel.py; they live here because this work may only add
files under tests/benchmarks/.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from astropy.io import fits

from spec3nb.parallel import fork_map, fork_safe
from spec3nb.simulate import simulate_to


def _pid_and_square(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


# fork_map forks only from a single-threaded process, and a pytest session may hold threads
# (a Dask client's event loop, for one): the forking cases run in a fresh interpreter.
FRESH = """
import gc, json, os, sys
from spec3nb.parallel import fork_map, fork_safe

def square(x):
    return os.getpid(), x * x, gc.get_freeze_count()

def fail_on_three(x):
    if x == 3:
        raise ValueError("three")
    return x

found = {"safe": fork_safe(), "parent": os.getpid(),
         "results": fork_map(square, list(range(8)), 2)}
try:
    fork_map(fail_on_three, list(range(5)), 2)
except ValueError as exc:
    found["error"] = str(exc)
found["frozen_after"] = gc.get_freeze_count()
print(json.dumps(found))
"""


def test_fork_map_in_a_fresh_process() -> None:
    out = subprocess.run([sys.executable, "-c", FRESH], check=True, capture_output=True,
                         text=True).stdout
    found = json.loads(out)
    assert found["safe"]
    assert [r[1] for r in found["results"]] == [x * x for x in range(8)]  # in item order
    assert found["parent"] not in {r[0] for r in found["results"]}  # in child processes
    assert found["error"] == "three"  # a child's exception is raised in the parent
    # The parent's objects are frozen in the children (their garbage collections leave
    # the shared pages alone), and unfrozen again in the parent afterwards.
    assert all(r[2] > 1000 for r in found["results"]) and found["frozen_after"] == 0


def test_fork_map_runs_in_process_when_other_threads_run() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not fork_safe()
        results = fork_map(_pid_and_square, [1, 2, 3], 2)
    finally:
        stop.set()
        thread.join()
    assert {r[0] for r in results} == {os.getpid()}


def test_run_writes_the_same_products_with_one_or_two_writers(tmp_path: Path) -> None:
    asn = simulate_to(tmp_path / "data", "nrs_fs", seed=3)
    one, two = tmp_path / "one", tmp_path / "two"
    for folder, writers in ((one, "1"), (two, "2")):
        # A fresh `spec3nb run` process: single-threaded when it saves, so it forks.
        subprocess.run([sys.executable, "-m", "spec3nb", "run", str(asn), "-o", str(folder),
                        "-q", "--writers", writers], check=True, capture_output=True)
    names = sorted(p.name for p in one.glob("*.fits"))
    assert names == sorted(p.name for p in two.glob("*.fits")) and len(names) >= 4
    assert not list(two.glob(".spec3nb-*"))  # no staging folder left behind
    for name in names:
        diff = fits.FITSDiff(str(one / name), str(two / name), ignore_keywords=["DATE"],
                             ignore_hdus=["ASDF"])
        assert diff.identical, diff.report()
