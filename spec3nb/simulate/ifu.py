"""IFU simulators: MIRI MRS (:mod:`~spec3nb.simulate.ifu_miri`) and NIRSpec IFU
(:mod:`~spec3nb.simulate.ifu_nirspec`); shared pieces in :mod:`~spec3nb.simulate.ifu_common`.
"""

from __future__ import annotations

from spec3nb.simulate.ifu_miri import simulate_mir_mrs
from spec3nb.simulate.ifu_nirspec import simulate_nrs_ifu

__all__ = ["simulate_mir_mrs", "simulate_nrs_ifu"]
