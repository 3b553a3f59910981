"""Re-execute tutorial notebooks and store their outputs as the nbval contract.

    .venv/bin/python notebooks/execute.py notebooks/quickstart.ipynb [...]
    .venv/bin/python notebooks/execute.py --all

Each notebook runs in its own folder (as nbval runs it, so relative paths such as
``products/`` land in the git-ignored ``notebooks/products/``), with the kernel of this
Python. What is stored is what nbval compares later, so the notebook is cleaned the same way
every time: no saved widget state (``metadata.widgets``), no execution timings, execution
counts from 1. Widget outputs keep their ``text/plain`` (the views' stable ``repr``), which
nbval compares, and their model id, which nbval ignores.

``--check`` runs the notebooks without writing them and exits 1 when a cell failed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent

#: Notebooks that are not executed here or in CI (they need data the user downloads).
NOT_EXECUTED = frozenset({"real_data.ipynb"})


def tutorial_notebooks() -> list[Path]:
    """The notebooks that are executed (every notebook here but :data:`NOT_EXECUTED`)."""
    return sorted(p for p in HERE.glob("*.ipynb") if p.name not in NOT_EXECUTED)


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop what must not be committed: widget state, timings, run-specific metadata.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        An executed notebook (changed in place and returned).

    Returns
    -------
    nbformat.NotebookNode
        The same notebook.
    """
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("papermill", None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    language = nb.metadata.get("language_info", {})
    nb.metadata["language_info"] = {"name": language.get("name", "python")}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        cell.metadata.pop("scrolled", None)
    return nb


def execute(path: Path, *, write: bool = True, timeout: int = 600) -> float:
    """Run the notebook at `path` in its folder; store its outputs when `write`.

    Parameters
    ----------
    path : Path
        The notebook.
    write : bool
        Write the executed, cleaned notebook back.
    timeout : int
        Seconds a cell may take.

    Returns
    -------
    float
        Seconds the run took.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            record_timing=False, coalesce_streams=True)
    start = time.perf_counter()
    client.execute()
    took = time.perf_counter() - start
    if write:
        nbformat.validate(nb)
        nbformat.write(clean(nb), path)
    return took


def main(argv: list[str] | None = None) -> int:
    """Command line: execute the given notebooks (or ``--all``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--all", action="store_true", help="every executed tutorial")
    parser.add_argument("--check", action="store_true", help="run without writing")
    args = parser.parse_args(argv)
    paths = tutorial_notebooks() if args.all else args.notebooks
    if not paths:
        parser.error("give notebooks or --all")
    for path in paths:
        if path.name in NOT_EXECUTED:
            print(f"{path.name}: not executed (needs downloaded data)")
            continue
        took = execute(path, write=not args.check)
        print(f"{path.name}: {took:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
