"""``spec3nb demo``: simulate a small dataset of every mode and run Stage 3 on it.

Prints one row per mode (steps run, products written, seconds): the quickest way to see
that an installation works, and what each mode produces.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from spec3nb.errors import Spec3Error
from spec3nb.simulate import SIM_MODES, simulate_to


def run_mode(mode: str, folder: Path) -> dict[str, object]:
    """Simulate `mode` into `folder`, run the session and save its products.

    Parameters
    ----------
    mode : str
        A simulator mode.
    folder : pathlib.Path
        Where to put the data and the products.

    Returns
    -------
    dict
        ``mode``, ``steps``, ``products`` (count), ``seconds`` (Stage 3 only), ``note``.
    """
    from spec3nb.session import Spec3Session

    asn = simulate_to(folder / "data", mode, seed=1)
    start = time.perf_counter()
    try:
        session = Spec3Session.from_asn(asn)
        written = session.save(folder / "products")
    except Spec3Error as exc:
        return {"mode": mode, "steps": "-", "products": 0, "seconds": None, "note": str(exc)}
    seconds = time.perf_counter() - start
    steps = ", ".join(f"{n.name}{'' if n.status == 'done' else f' ({n.status})'}"
                      for n in session.nodes)
    failed = sum(len(v) for v in session.errors.values())
    note = f"{failed} source(s) failed" if failed else ""
    return {"mode": mode, "steps": steps, "products": len(written), "seconds": seconds,
            "note": note}


def main(outdir: str | os.PathLike[str] | None = None) -> int:
    """Run every mode and print the table; return 0 when every implemented mode ran.

    Parameters
    ----------
    outdir : str or os.PathLike, optional
        Where to keep the data and products (a temporary folder by default).

    Returns
    -------
    int
        The exit status.
    """
    with tempfile.TemporaryDirectory(prefix="spec3nb-demo-") as tmp:
        base = Path(outdir) if outdir else Path(tmp)
        print(f"{'mode':<9} {'seconds':>7} {'products':>8}  steps")
        status = 0
        for mode in SIM_MODES:
            row = run_mode(mode, base / mode)
            seconds = "-" if row["seconds"] is None else f"{row['seconds']:.2f}"
            print(f"{mode:<9} {seconds:>7} {row['products']:>8}  {row['steps']}"
                  f"{'  [' + str(row['note']) + ']' if row['note'] else ''}", flush=True)
            if row["note"] and row["seconds"] is not None:
                status = 1
    return status
