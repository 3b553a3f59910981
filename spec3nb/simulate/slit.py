"""Slit modes of the simulator: NIRSpec fixed slit and MOS, MIRI LRS fixed slit.

The registry in :mod:`spec3nb.simulate` calls the three functions below; the work is done
in :mod:`~spec3nb.simulate.slit_nirspec` and :mod:`~spec3nb.simulate.slit_miri`, with the
images, metadata and ``_x1d`` builders they share in :mod:`~spec3nb.simulate.slit_common`.
"""

from __future__ import annotations

from spec3nb.simulate.slit_miri import simulate_mir_lrs
from spec3nb.simulate.slit_nirspec import simulate_nrs_fs, simulate_nrs_mos

__all__ = ["simulate_mir_lrs", "simulate_nrs_fs", "simulate_nrs_mos"]
