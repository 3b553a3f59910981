"""IPython magics: ``%load_ext spec3nb`` then ``%spec3 PATH`` and ``%spec3_simulate MODE``.

``%spec3`` opens an association (``*_asn.json``), a folder holding one association, a folder
of ``_cal`` files or a list of files; ``%spec3_simulate`` writes a small simulated dataset
(into a temporary folder unless ``--out`` is given) and opens it. Both return the session,
in auto mode, and display its dashboard::

    %load_ext spec3nb
    session = %spec3_simulate mir_lrs --seed 1
    session = %spec3 data/jw01234-o001_spec3_asn.json
    %spec3_close session        # remove its temporary folder now

A temporary folder lives as long as its session: it is removed by ``%spec3_close``, when
the session is garbage-collected, when the extension is unloaded, or at the latest when the
kernel shuts down (an ``atexit`` hook registered with the first folder). Loading the
extension again only registers the same magics again.
"""

from __future__ import annotations

import argparse
import ast
import atexit
import shlex
import shutil
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

#: What the magics can be told about modes (kept in step with spec3nb.simulate.SIM_MODES).
_SIZES = ("small", "full")
_BACKGROUNDS = ("none", "nod", "dedicated")


class _Parser(argparse.ArgumentParser):
    """An argument parser that raises UsageError instead of ending the kernel."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage()}")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise UsageError(message or self.format_help())


def _spec3_parser() -> _Parser:
    parser = _Parser(prog="%spec3", add_help=True,
                     description="Open a Stage-3 association as a reactive session.")
    parser.add_argument("paths", nargs="+", help="association, folder, or _cal files")
    parser.add_argument("--manual", action="store_true", help="do not recompute by itself")
    parser.add_argument("--no-dashboard", action="store_true", help="do not display it")
    return parser


def _simulate_parser() -> _Parser:
    parser = _Parser(prog="%spec3_simulate", add_help=True,
                     description="Simulate a small Stage-3 dataset and open it.")
    parser.add_argument("mode", help="nrs_fs, nrs_mos, mir_lrs, nis_soss, nis_wfss, ...")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", choices=_SIZES, default="small")
    parser.add_argument("--nexp", type=int, default=None)
    parser.add_argument("--nsources", type=int, default=None)
    parser.add_argument("--background", choices=_BACKGROUNDS, default="none")
    parser.add_argument("--moving", action="store_true")
    parser.add_argument("--out", default=None, help="folder (a temporary one by default)")
    parser.add_argument("--manual", action="store_true", help="do not recompute by itself")
    parser.add_argument("--no-dashboard", action="store_true", help="do not display it")
    return parser


def _split(line: str) -> list[str]:
    """Arguments of a magic line; a Python list literal (``['a.fits', 'b.fits']``) works."""
    text = line.strip()
    if text.startswith(("[", "(")):
        end = max(text.rfind("]"), text.rfind(")")) + 1
        try:
            items = ast.literal_eval(text[:end])
        except (ValueError, SyntaxError) as exc:
            raise UsageError(f"%spec3: cannot read the list of files: {exc}") from None
        return [str(i) for i in items] + shlex.split(text[end:])
    return shlex.split(text)


def open_session(paths: list[str], *, auto: bool = True) -> Any:
    """Open a session from what ``%spec3`` was given.

    Parameters
    ----------
    paths : list[str]
        One association, one folder (with one ``*_asn.json``, or with ``*_cal.fits``
        files), or several files.
    auto : bool
        Recompute by itself after every change.

    Returns
    -------
    Spec3Session
        The session.
    """
    from spec3nb.session import Spec3Session

    if len(paths) > 1:
        return Spec3Session.from_files(paths, auto=auto)
    path = Path(paths[0]).expanduser()
    if not path.exists():
        raise UsageError(f"%spec3: {path} does not exist")
    if path.is_dir():
        if len(list(path.glob("*_asn.json"))) == 1:
            return Spec3Session.from_simulation(path, auto=auto)
        cal = sorted(path.glob("*_cal.fits"))
        if not cal:
            raise UsageError(f"%spec3: {path} holds neither one *_asn.json nor _cal files")
        return Spec3Session.from_files(cal, auto=auto)
    if path.name.endswith("_asn.json"):
        return Spec3Session.from_asn(path, auto=auto)
    return Spec3Session.from_files([path], auto=auto)


class TemporaryFolders:
    """The temporary dataset folders of simulated sessions, each tied to its session.

    A folder goes when :meth:`release` is called for its session, when the session is
    garbage-collected, on :meth:`remove_all`, or at interpreter exit (kernel shutdown): the
    first folder registers an ``atexit`` hook, so nothing happens at import time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._finalizers: dict[int, weakref.finalize] = {}
        self._hooked = False

    def add(self, session: Any, folder: Path) -> None:
        """Remove `folder` with `session` (whichever of the triggers above comes first)."""
        finalizer = weakref.finalize(session, shutil.rmtree, folder, True)
        with self._lock:
            self._finalizers = {k: f for k, f in self._finalizers.items() if f.alive}
            self._finalizers[id(session)] = finalizer
            if not self._hooked:
                atexit.register(self.remove_all)
                self._hooked = True

    def folder_of(self, session: Any) -> Path | None:
        """The temporary folder of `session` (None if it has none, or it was removed)."""
        with self._lock:
            finalizer = self._finalizers.get(id(session))
        info = finalizer.peek() if finalizer is not None else None
        return None if info is None or info[0] is not session else Path(info[2][0])

    def release(self, session: Any) -> Path | None:
        """Remove the temporary folder of `session` now; return it (None if it had none)."""
        folder = self.folder_of(session)
        if folder is None:
            return None
        with self._lock:
            finalizer = self._finalizers.pop(id(session))
        finalizer()
        return folder

    def remove_all(self) -> int:
        """Remove every folder still held; return how many there were."""
        with self._lock:
            finalizers, self._finalizers = list(self._finalizers.values()), {}
        alive = [f for f in finalizers if f.alive]
        for finalizer in alive:
            finalizer()
        return len(alive)

    def __len__(self) -> int:
        with self._lock:
            return sum(f.alive for f in self._finalizers.values())

    def __repr__(self) -> str:
        return f"<TemporaryFolders {len(self)} held>"


#: The folders of ``%spec3_simulate`` sessions (one registry per process, as there is
#: one kernel: the magics, unload and the exit hook must all see the same folders).
TEMPORARY = TemporaryFolders()


def simulate_session(mode: str, *, out: str | None = None, auto: bool = True,
                     folders: TemporaryFolders | None = None, **options: Any) -> Any:
    """Simulate `mode` into `out` (a temporary folder tied to the session, if None) and
    open it.

    Parameters
    ----------
    mode : str
        The simulated mode.
    out : str, optional
        The folder.
    auto : bool
        Recompute by itself after every change.
    folders : TemporaryFolders, optional
        Who removes the temporary folder (:data:`TEMPORARY` by default).
    **options : Any
        Passed to :func:`spec3nb.simulate.simulate` (seed, size, nexp ...).

    Returns
    -------
    Spec3Session
        The session of the simulated dataset.
    """
    from spec3nb.session import Spec3Session
    from spec3nb.simulate import SIM_MODES, simulate_to

    if mode not in SIM_MODES:
        raise UsageError(f"%spec3_simulate: unknown mode {mode!r} "
                         f"(one of {', '.join(SIM_MODES)})")
    folder = Path(out) if out else Path(tempfile.mkdtemp(prefix=f"spec3nb-{mode}-"))
    try:
        simulate_to(folder, mode, **options)
        session = Spec3Session.from_simulation(folder, auto=auto)
    except BaseException:
        if out is None:  # nothing will own the folder: do not leave it behind
            shutil.rmtree(folder, ignore_errors=True)
        raise
    if out is None:
        (TEMPORARY if folders is None else folders).add(session, folder)
    return session


def _show(session: Any) -> None:
    from IPython.display import display

    from spec3nb.views.dashboard import Dashboard

    display(Dashboard(session))


@magics_class
class Spec3Magics(Magics):
    """The ``%spec3`` and ``%spec3_simulate`` line magics."""

    @line_magic
    def spec3(self, line: str) -> Any:
        """Open an association, a folder or files: ``session = %spec3 PATH [--manual]``."""
        args = _spec3_parser().parse_args(_split(line))
        session = open_session(args.paths, auto=not args.manual)
        if not args.no_dashboard:
            _show(session)
        return session

    @line_magic
    def spec3_simulate(self, line: str) -> Any:
        """Simulate and open: ``session = %spec3_simulate MODE [--seed N --size small]``."""
        args = _simulate_parser().parse_args(shlex.split(line))
        session = simulate_session(args.mode, out=args.out, auto=not args.manual,
                                   seed=args.seed, size=args.size, nexp=args.nexp,
                                   nsources=args.nsources, background=args.background,
                                   moving=args.moving)
        if not args.no_dashboard:
            _show(session)
        return session

    @line_magic
    def spec3_close(self, line: str) -> None:
        """Remove the temporary folder of a simulated session: ``%spec3_close session``."""
        name = line.strip()
        if not name:
            raise UsageError("%spec3_close: give the session's variable name")
        if name not in self.shell.user_ns:
            raise UsageError(f"%spec3_close: no variable {name!r}")
        session = self.shell.user_ns[name]
        session.graph.auto = False  # its inputs are going: do not recompute from them
        folder = TEMPORARY.release(session)
        if folder is None:
            print(f"{name} has no temporary folder")

    def __repr__(self) -> str:
        return "<Spec3Magics %spec3, %spec3_simulate, %spec3_close>"


def load_ipython_extension(ipython: Any) -> None:
    """Register the spec3nb magics (``%load_ext spec3nb``); loading twice is harmless.

    Parameters
    ----------
    ipython : IPython.core.interactiveshell.InteractiveShell
        The shell.
    """
    ipython.register_magics(Spec3Magics)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext spec3nb``: remove the temporary folders of simulated sessions.

    Parameters
    ----------
    ipython : IPython.core.interactiveshell.InteractiveShell
        The shell.
    """
    TEMPORARY.remove_all()
