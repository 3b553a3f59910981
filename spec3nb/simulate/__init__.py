"""Synthetic Stage-2 products with known truth, for every calwebb_spec3 mode.

``simulate(mode, ...)`` returns a :class:`SimulatedDataset` (the ``_cal`` products, any
background members, the association's product name and the :class:`Truth`);
``write_dataset`` writes it to a folder as ``_cal`` files, an ``*_asn.json`` and
``truth.json``. All randomness comes from the ``seed``: the same seed gives identical files.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType

from spec3nb.simulate.dataset import SimConfig, SimulatedDataset, write_dataset
from spec3nb.simulate.truth import ExposureTruth, SourceTruth, Truth, read_truth

# mode -> (module, function); imported on first use so that one mode's dependencies do not
# load for another.
_SIMULATORS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "nrs_fs": ("spec3nb.simulate.slit", "simulate_nrs_fs"),
    "nrs_mos": ("spec3nb.simulate.slit", "simulate_nrs_mos"),
    "mir_lrs": ("spec3nb.simulate.slit", "simulate_mir_lrs"),
    "nrs_ifu": ("spec3nb.simulate.ifu", "simulate_nrs_ifu"),
    "mir_mrs": ("spec3nb.simulate.ifu", "simulate_mir_mrs"),
    "nis_soss": ("spec3nb.simulate.slitless", "simulate_nis_soss"),
    "nis_wfss": ("spec3nb.simulate.slitless", "simulate_nis_wfss"),
    "nrc_wfss": ("spec3nb.simulate.slitless", "simulate_nrc_wfss"),
})

#: The modes the simulator can make.
SIM_MODES: tuple[str, ...] = tuple(_SIMULATORS)


def _simulator(mode: str) -> Callable[[SimConfig], SimulatedDataset]:
    if mode not in _SIMULATORS:
        raise ValueError(f"unknown mode {mode!r}; the simulator makes {', '.join(SIM_MODES)}")
    module, name = _SIMULATORS[mode]
    return getattr(importlib.import_module(module), name)


def simulate(
    mode: str,
    *,
    size: str = "small",
    seed: int = 0,
    nexp: int | None = None,
    nsources: int | None = None,
    background: str = "none",
    moving: bool = False,
) -> SimulatedDataset:
    """Simulate a Stage-3 input set of `mode`.

    Parameters
    ----------
    mode : str
        One of :data:`SIM_MODES`.
    size : str
        ``small`` or ``full``.
    seed : int
        Seed of the random generator (the only source of randomness).
    nexp : int, optional
        Number of science exposures (mode default when None).
    nsources : int, optional
        Number of sources (MOS, WFSS; mode default when None).
    background : str
        ``none``, ``nod`` or ``dedicated``.
    moving : bool
        Simulate a moving target.

    Returns
    -------
    SimulatedDataset
        The products and the truth.
    """
    config = SimConfig(mode, size, seed, nexp, nsources, background, moving)
    return _simulator(mode)(config)


def simulate_to(outdir: str | os.PathLike[str], mode: str, *, overwrite: bool = False,
                **options: object) -> Path:
    """Simulate `mode` and write the dataset into `outdir`; return the association path.

    Parameters
    ----------
    outdir : str or os.PathLike
        The folder.
    mode : str
        The mode.
    overwrite : bool
        Replace existing files.
    **options : object
        Passed to :func:`simulate`.

    Returns
    -------
    pathlib.Path
        The association file.
    """
    return write_dataset(simulate(mode, **options), outdir, overwrite=overwrite)


__all__ = [
    "SIM_MODES",
    "ExposureTruth",
    "SimConfig",
    "SimulatedDataset",
    "SourceTruth",
    "Truth",
    "read_truth",
    "simulate",
    "simulate_to",
    "write_dataset",
]
