"""Data for the browser tests, written into the folder given as the only argument:

- ``mir_lrs/``: a simulated MIRI LRS dataset (``spec3nb simulate mir_lrs``) with its
  association, for the "Open in spec3nb" context menu;
- ``saved_session.ipynb``: a notebook whose one output is the
  ``application/vnd.spec3nb.session+json`` summary of a Stage-3 run of that dataset (as a
  saved notebook holds it once its widgets are gone);
- ``summary.json``: the same summary, what the tests compare the rendered page with.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from spec3nb.session import MIME_TYPE, Spec3Session


def main(out: Path) -> None:
    """Write the fixtures into `out` (replacing what was there).

    Parameters
    ----------
    out : Path
        The folder to (re)create.
    """
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    data = out / "mir_lrs"
    subprocess.run([sys.executable, "-m", "spec3nb", "simulate", "mir_lrs", "-o", str(data),
                    "--seed", "1"], check=True, stdout=subprocess.DEVNULL)
    session = Spec3Session.from_simulation(data)
    session.run()
    summary = session.summary_document()
    if not summary["products"] or any(n["status"] != "done" and n["status"] != "skipped"
                                      for n in summary["nodes"]):
        raise SystemExit(f"the mir_lrs run did not complete: {summary}")
    (out / "summary.json").write_text(json.dumps(summary, indent=1))

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("A spec3nb session saved after a run (no live widgets)."),
        nbformat.v4.new_code_cell(
            "session", execution_count=3,
            outputs=[nbformat.v4.new_output("execute_result", execution_count=3, data={
                MIME_TYPE: summary, "text/plain": repr(session)})]),
    ]
    nbformat.validate(nb)
    nbformat.write(nb, out / "saved_session.ipynb")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
