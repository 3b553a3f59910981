"""Data for the browser tests, written into the folder given as the only argument:

- ``mir_lrs/``: a simulated MIRI LRS dataset (``spec3nb simulate mir_lrs``) with its
  association, for the "Open in spec3nb" context menu;
- ``saved_session.ipynb``: a notebook whose one output is the
  ``application/vnd.spec3nb.session+json`` summary of a Stage-3 run of that dataset (as a
  saved notebook holds it once its widgets are gone);
- ``summary.json``: the same summary, what the tests compare the rendered page with;
- ``quickstart.ipynb``: a stand-in for ``notebooks/quickstart.ipynb`` with the same content
  (a small MIRI LRS session with its dashboard, a spectrum view, an s2d view with its
  aperture, an ``extract_width`` change and a small MIRI MRS cube with its 3-D view), used
  only while the real one does not exist;
- ``lrs_extract1d.json``: an EXTRACT1D reference for the simulated MIRI LRS data with two
  background regions, which the browser test types into the dashboard's form.
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
    nbformat.write(quickstart(), out / "quickstart.ipynb")
    (out / "lrs_extract1d.json").write_text(json.dumps(BACKGROUND_REFERENCE, indent=1))


#: A 10-pixel box at x 25..34 of the MIRI LRS s2d and two 4-pixel background regions.
BACKGROUND_REFERENCE = {"apertures": [{"id": "ANY", "xstart": 25, "xstop": 34,
                                       "bkg_coeff": [[20.5], [24.5], [35.5], [39.5]]}]}

_QUICKSTART_CELLS = (
    ("markdown", "# spec3nb quickstart (test stand-in)"),
    ("code", "%load_ext spec3nb"),
    ("code", "session = %spec3_simulate mir_lrs --seed 1"),
    ("code", "session.wait(120)\nfrom spec3nb.views import CubeView, ImageView, SpectrumView\n"
             "SpectrumView([session['extract_1d']])"),
    ("code", "ImageView(session['resample_spec'], aperture_node=session['extract_1d'])"),
    ("code", "session['extract_1d'].extract_width = 6\nsession.wait(60)\n"
             "session['extract_1d']"),
    ("code", "mrs = %spec3_simulate mir_mrs --seed 1 --no-dashboard\nmrs.wait(300)\n"
             "cube = CubeView(mrs['cube_build'])\ncube.show_volume()\ncube"),
)


def quickstart() -> nbformat.NotebookNode:
    """The stand-in quickstart notebook (no outputs)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    make = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    nb.cells = [make[kind](source) for kind, source in _QUICKSTART_CELLS]
    nbformat.validate(nb)
    return nb


if __name__ == "__main__":
    main(Path(sys.argv[1]))
