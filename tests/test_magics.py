"""The IPython extension: %spec3 and %spec3_simulate in an InteractiveShell."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from spec3nb.magics import (
    TEMPORARY,
    Spec3Magics,
    TemporaryFolders,
    load_ipython_extension,
    simulate_session,
    unload_ipython_extension,
)


@pytest.fixture(scope="module")
def shell():
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "spec3nb.magics")
    return ip


def test_load_ext_spec3nb_itself() -> None:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "spec3nb")
    assert "spec3_simulate" in ip.magics_manager.magics["line"]


def test_loading_twice_is_harmless(shell) -> None:
    load_ipython_extension(shell)
    load_ipython_extension(shell)
    line = shell.magics_manager.magics["line"]
    assert "spec3" in line and "spec3_simulate" in line
    assert repr(Spec3Magics(shell)) == "<Spec3Magics %spec3, %spec3_simulate, %spec3_close>"


@pytest.fixture(scope="module")
def simulated(shell, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sim")
    with capture_output() as captured:
        session = shell.run_line_magic("spec3_simulate", f"mir_lrs --seed 2 --out {folder}")
    return session, folder, captured


def test_simulate_returns_auto_session_and_shows_dashboard(simulated) -> None:
    session, _, captured = simulated
    assert session.graph.auto is True
    assert session.mode.name == "mir_lrs"
    assert session.wait(120)
    assert session["extract_1d"].status == "done"
    shown = [o.data.get("text/plain", "") for o in captured.outputs]
    assert any(s.startswith("<Dashboard MIRI LRS fixed slit, 2 exposures") for s in shown)


def test_spec3_folder_asn_and_files(shell, simulated) -> None:
    _, folder, _ = simulated
    by_folder = shell.run_line_magic("spec3", f"{folder} --no-dashboard")
    assert by_folder.graph.auto and by_folder.mode.name == "mir_lrs"
    asn = next(folder.glob("*_asn.json"))
    by_asn = shell.run_line_magic("spec3", f"{asn} --manual --no-dashboard")
    assert by_asn.graph.auto is False
    cal = sorted(str(p) for p in folder.glob("*_cal.fits"))
    by_list = shell.run_line_magic("spec3", f"{cal!r} --manual --no-dashboard")
    assert len(by_list.inputs.science) == len(cal) == 2
    by_files = shell.run_line_magic("spec3", " ".join(cal) + " --manual --no-dashboard")
    assert by_files.mode.name == "mir_lrs"


def test_temporary_folder_goes_with_the_session(shell) -> None:
    session = shell.run_line_magic("spec3_simulate", "mir_lrs --no-dashboard --manual")
    folder = session.inputs.association.path.parent
    assert folder.name.startswith("spec3nb-mir_lrs-") and folder.exists()
    assert str(folder) not in repr(session)
    del session
    import gc

    gc.collect()
    assert not folder.exists()


def test_spec3_close_removes_the_folder_now(shell) -> None:
    session = shell.run_line_magic("spec3_simulate", "mir_lrs --no-dashboard --manual")
    shell.user_ns["closing"] = session
    folder = TEMPORARY.folder_of(session)
    assert folder is not None and folder.exists()
    shell.run_line_magic("spec3_close", "closing")
    assert not folder.exists()  # while the session is still referenced
    assert TEMPORARY.folder_of(session) is None
    assert session.graph.auto is False
    with capture_output() as captured:
        shell.run_line_magic("spec3_close", "closing")  # twice: said, harmless
    assert "closing has no temporary folder" in captured.stdout
    with pytest.raises(UsageError, match="no variable 'nothing_here'"):
        shell.run_line_magic("spec3_close", "nothing_here")
    del shell.user_ns["closing"]


def test_unload_and_registry(tmp_path) -> None:
    folders = TemporaryFolders()
    sessions = [simulate_session("mir_lrs", auto=False, folders=folders, seed=k)
                for k in range(2)]
    held = [folders.folder_of(s) for s in sessions]
    assert all(f is not None and f.exists() for f in held) and len(folders) == 2
    assert repr(folders) == "<TemporaryFolders 2 held>"
    assert folders.release(sessions[0]) == held[0] and not held[0].exists()
    assert folders.release(sessions[0]) is None
    assert folders.remove_all() == 1 and not held[1].exists() and len(folders) == 0
    # the extension's unload removes the shared registry's folders
    shell = InteractiveShell.instance()
    session = simulate_session("mir_lrs", auto=False)
    folder = TEMPORARY.folder_of(session)
    unload_ipython_extension(shell)
    assert not folder.exists()
    # an out folder is the user's: never registered
    kept = simulate_session("mir_lrs", auto=False, out=str(tmp_path / "mine"))
    assert TEMPORARY.folder_of(kept) is None and (tmp_path / "mine").exists()


def test_folder_removed_at_kernel_exit(tmp_path) -> None:
    # A session still referenced when the interpreter ends: the exit hook removes it.
    code = ("from IPython.core.interactiveshell import InteractiveShell\n"
            "ip = InteractiveShell.instance()\n"
            "ip.run_line_magic('load_ext', 'spec3nb.magics')\n"
            "ip.user_ns['s'] = ip.run_line_magic('spec3_simulate', "
            "'mir_lrs --no-dashboard --manual')\n"
            "print(ip.user_ns['s'].inputs.association.path.parent)\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, cwd=tmp_path).stdout.strip().splitlines()[-1]
    folder = Path(out)
    assert folder.name.startswith("spec3nb-mir_lrs-")
    assert not folder.exists()


def test_usage_errors(shell, tmp_path) -> None:
    with pytest.raises(UsageError, match="unknown mode 'nope'"):
        shell.run_line_magic("spec3_simulate", "nope --no-dashboard")
    with pytest.raises(UsageError, match="does not exist"):
        shell.run_line_magic("spec3", f"{tmp_path / 'missing'}")
    with pytest.raises(UsageError, match="neither"):
        shell.run_line_magic("spec3", str(tmp_path))
    with pytest.raises(UsageError, match="invalid int value"):
        shell.run_line_magic("spec3_simulate", "mir_lrs --seed x")


def test_magics_module_is_light() -> None:
    out = subprocess.run([sys.executable, "-c", "import spec3nb.magics, sys; "
                          "print(sorted(m for m in ('ipywidgets', 'bqplot', 'ipyvolume', "
                          "'numpy') if m in sys.modules))"], check=True,
                         capture_output=True, text=True).stdout.strip()
    assert out == "[]"
