"""Binder: a fresh environment built from ``binder/`` alone runs the quickstart tutorial.

repo2docker clones the repository (no ``.venv``, no ``node_modules``, no built extension:
they are git-ignored), picks the Python of ``binder/runtime.txt`` and runs
``pip install -r binder/requirements.txt`` from the repository root. This test does the
same in a temporary folder: it copies the files git knows about (tracked, or new and not
ignored), creates a virtual environment with that Python, installs the requirements (pip's
cache is used; the extension is built with npm from its lock file), checks that JupyterLab
lists the spec3nb extension as enabled and OK, and runs ``notebooks/quickstart.ipynb`` with
nbval against its stored outputs. It takes minutes (the install); nothing is skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run a command; fail the test with the end of its output when it fails."""
    done = subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout[-6000:]}")
    return done.stdout


def _repository_files() -> list[Path]:
    """What a clone holds: tracked files (still present) and new files git does not ignore."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=REPO, stdout=subprocess.PIPE,
                            check=True).stdout.decode().split("\0")
    return [Path(p) for p in listed if p and (REPO / p).is_file()]


def _python_of_runtime() -> str:
    """An interpreter of the version binder/runtime.txt asks for (not this .venv's)."""
    wanted = re.fullmatch(r"python-(\d+\.\d+)\s*", (BINDER / "runtime.txt").read_text())
    assert wanted, "binder/runtime.txt must read python-X.Y"
    version = wanted.group(1)
    base = getattr(sys, "_base_executable", sys.executable)
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return base
    found = shutil.which(f"python{version}")
    assert found, f"no python{version} on this machine for binder/runtime.txt"
    return found


def _clean_environment(venv: Path) -> dict[str, str]:
    """This process's environment without any trace of the project's .venv."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "JUPYTER_PATH",
                        "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR")}
    project_bin = str(REPO / ".venv" / "bin")
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != project_bin]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *path])
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory) -> tuple[Path, Path, dict[str, str]]:
    """A copy of the repository and a virtual environment built from its binder/ folder."""
    root = tmp_path_factory.mktemp("binder")
    clone = root / "repo"
    for relative in _repository_files():
        target = clone / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / relative, target)
    assert not (clone / ".venv").exists() and not (clone / "spec3nb" / "labextension").exists()
    venv = root / "venv"
    env = _clean_environment(venv)
    _run([_python_of_runtime(), "-m", "venv", str(venv)], root, env)
    python = str(venv / "bin" / "python")
    _run([python, "-m", "pip", "install", "-r", "binder/requirements.txt"], clone, env)
    return clone, venv, env


def test_binder_folder_holds_only_what_repo2docker_needs() -> None:
    names = sorted(p.name for p in BINDER.iterdir())
    assert names == ["requirements.txt", "runtime.txt"]
    lines = [s.strip() for s in (BINDER / "requirements.txt").read_text().splitlines()]
    assert [s for s in lines if s and not s.startswith("#")] == ["."]


def test_extension_is_enabled_in_the_binder_environment(binder_env) -> None:
    clone, venv, env = binder_env
    listing = _run([str(venv / "bin" / "jupyter"), "labextension", "list"], clone, env)
    listing = re.sub(r"\x1b\[[0-9;]*m", "", listing)  # its colours
    assert re.search(r"spec3nb v\S+ enabled\s+OK", listing), listing
    # The extension is the one installed in the fresh environment, not the project's.
    assert str(venv) in listing and str(REPO / ".venv") not in listing


def test_quickstart_runs_in_the_binder_environment(binder_env) -> None:
    clone, venv, env = binder_env
    python = str(venv / "bin" / "python")
    # nbval is the test's tool, not a Binder requirement: added after the Binder install.
    _run([python, "-m", "pip", "install", "nbval"], clone, env)
    out = _run([python, "-m", "pytest", "-p", "no:cacheprovider", "--nbval",
                "--nbval-current-env", "--nbval-sanitize-with",
                "notebooks/nbval_sanitize.cfg", "notebooks/quickstart.ipynb"], clone, env)
    assert re.search(r"\b\d+ passed\b", out) and "failed" not in out, out[-3000:]
    assert (clone / "notebooks" / "products" / "quickstart").is_dir()
