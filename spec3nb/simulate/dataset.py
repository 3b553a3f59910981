"""A simulated dataset: Stage-2 exposures, background members, association and truth.

Mode simulators (``slit.py``, ``ifu.py``, ``slitless.py``) build a :class:`SimulatedDataset`
from a :class:`SimConfig`; :func:`write_dataset` writes it as a real dataset would arrive
from the archive: ``_cal`` files, background ``_x1d`` files, one Level-3 association, and the
truth beside them.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from spec3nb.asn import Association, Member, write_association
from spec3nb.datamodels.io import write_product
from spec3nb.datamodels.products import Product
from spec3nb.errors import OutputError
from spec3nb.simulate.noise import Detector
from spec3nb.simulate.truth import Truth, write_truth

SIZES = ("small", "full")
SIMULATION_DATE = "2026-01-01T00:00:00.000"
BACKGROUNDS = ("none", "nod", "dedicated")


@dataclasses.dataclass(frozen=True)
class SimConfig:
    """What to simulate.

    Parameters
    ----------
    mode : str
        ``nrs_fs``, ``nrs_mos``, ``nrs_ifu``, ``mir_lrs``, ``mir_mrs``, ``nis_soss``,
        ``nis_wfss`` or ``nrc_wfss``.
    size : str
        ``small`` (tests, notebooks, Binder: under 5 MB) or ``full`` (real detector sizes).
    seed : int
        Seed of the only random generator used.
    nexp : int, optional
        Number of science exposures (dithers or nods); the mode's default when None.
    nsources : int, optional
        Number of sources (MOS, WFSS); the mode's default when None.
    background : str
        ``none``, ``nod`` (the other nod positions serve as background) or ``dedicated``
        (exposures of an empty field, given as ``_x1d`` background members).
    moving : bool
        Simulate a moving target (``TARGTYPE = MOVING`` with ``MT_RA``/``MT_DEC``).
    """

    mode: str
    size: str = "small"
    seed: int = 0
    nexp: int | None = None
    nsources: int | None = None
    background: str = "none"
    moving: bool = False

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise ValueError(f"size must be one of {', '.join(SIZES)}, not {self.size!r}")
        if self.background not in BACKGROUNDS:
            raise ValueError(
                f"background must be one of {', '.join(BACKGROUNDS)}, not {self.background!r}")
        for name in ("nexp", "nsources"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1, not {value}")

    def rng(self) -> np.random.Generator:
        """Return a new generator seeded with :attr:`seed` (the same sequence every time)."""
        return np.random.default_rng(self.seed)

    @property
    def full(self) -> bool:
        """Whether real detector sizes are wanted."""
        return self.size == "full"


@dataclasses.dataclass(frozen=True)
class SimulatedDataset:
    """A simulated Stage-3 input set.

    Parameters
    ----------
    config : SimConfig
        What was asked for.
    product_name : str
        The association's product-name template (lower case, as DMS writes it).
    exposures : tuple[Product, ...]
        Science ``_cal`` products, each with ``meta.filename`` set.
    truth : Truth
        What the simulator put in.
    backgrounds : tuple[Product, ...]
        Background ``_x1d`` members (``dedicated`` backgrounds), with file names.
    nod_backgrounds : bool
        Whether the science exposures are also listed as background members
        (``<root>_x1d.fits``) as the association rules do for nod patterns.
    asn_id, program, target : str
        Association header values.
    references : Mapping[str, bytes]
        Extra files written beside the data (e.g. a cubepar reference), by file name.
    """

    config: SimConfig
    product_name: str
    exposures: tuple[Product, ...]
    truth: Truth
    backgrounds: tuple[Product, ...] = ()
    nod_backgrounds: bool = False
    asn_id: str = "o001"
    program: str = "01234"
    target: str = "t001"
    references: Mapping[str, bytes] = dataclasses.field(default_factory=dict)

    @property
    def asn_name(self) -> str:
        """File name of the association."""
        return f"jw{self.program}-{self.asn_id}_spec3_00001_asn.json"


def exposure_filename(program: str, observation: int, exposure: int, detector: str,
                      suffix: str = "cal") -> str:
    """Return a Stage-2 file name in the archive's pattern.

    Parameters
    ----------
    program : str
        Five-digit program id.
    observation : int
        Observation number.
    exposure : int
        Exposure number (1-based).
    detector : str
        Detector name (lower-cased in the name).
    suffix : str
        Product suffix.

    Returns
    -------
    str
        ``jw01234001001_03101_00001_nrs1_cal.fits``.
    """
    return (f"jw{program}{observation:03d}001_03101_{exposure:05d}_"
            f"{detector.lower()}_{suffix}.fits")


def _members(dataset: SimulatedDataset, folder: Path) -> list[Member]:
    members = [Member(p.filename, "science", folder / p.filename) for p in dataset.exposures]
    members += [Member(p.filename, "background", folder / p.filename)
                for p in dataset.backgrounds]
    if dataset.nod_backgrounds:
        for product in dataset.exposures:
            name = product.filename.replace("_cal.fits", "_x1d.fits")
            members.append(Member(name, "background", folder / name))
    return members


def write_dataset(
    dataset: SimulatedDataset, outdir: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write the dataset's files into `outdir` and return the association's path.

    Parameters
    ----------
    dataset : SimulatedDataset
        The dataset.
    outdir : str or os.PathLike
        The folder (created when missing).
    overwrite : bool
        Replace existing files.

    Returns
    -------
    pathlib.Path
        The association file.
    """
    folder = Path(outdir)
    folder.mkdir(parents=True, exist_ok=True)
    asn_path = folder / dataset.asn_name
    if asn_path.exists() and not overwrite:
        raise OutputError(f"{asn_path}: exists already (use overwrite to replace it)")
    for product in dataset.exposures + dataset.backgrounds:
        # A fixed DATE: the same seed gives byte-identical files.
        write_product(product, folder / product.filename, overwrite=overwrite,
                      date=SIMULATION_DATE)
    for name, content in dataset.references.items():
        target = folder / name
        if target.exists() and not overwrite:
            raise OutputError(f"{target}: exists already (use overwrite to replace it)")
        target.write_bytes(content)
    write_truth(dataset.truth, folder)
    asn = Association(
        path=None, product_name=dataset.product_name, members=tuple(_members(dataset, folder)),
        asn_id=dataset.asn_id, asn_pool=f"jw{dataset.program}_20260101t000000_pool",
        asn_type="spec3", asn_rule=_ASN_RULES.get(dataset.config.mode, "Asn_Lv3SpectralTarget"),
        program=dataset.program, target=dataset.target,
    )
    return write_association(asn, asn_path, overwrite=overwrite)


# The association rule that makes each mode's spec3 association (reference section 2.2).
_ASN_RULES: Mapping[str, str] = {
    "nrs_fs": "Asn_Lv3NRSFSS",
    "nrs_mos": "Asn_Lv3SpectralSource",
    "nis_wfss": "Asn_Lv3WFSSNIS",
    "nrc_wfss": "Asn_Lv3WFSSNRC",
    "nis_soss": "Asn_Lv3SlitlessSpectral",
    "mir_mrs": "Asn_Lv3MIRMRS",
    "nrs_ifu": "Asn_Lv3NRSIFU",
}


def exposure_times(detector: Detector, nints: int = 1) -> dict[str, Any]:
    """Return the ``meta.exposure`` timing values of a read-out.

    Parameters
    ----------
    detector : Detector
        The read-out.
    nints : int
        Number of integrations.

    Returns
    -------
    dict
        ``ngroups``, ``nints``, ``group_time``, ``integration_time``, ``exposure_time``,
        ``effective_exposure_time``, ``duration``, ``measurement_time`` ...
    """
    t = detector.exposure_time
    return {
        "nints": nints, "ngroups": detector.ngroups, "nframes": 1, "groupgap": 0,
        "group_time": detector.group_time, "frame_time": detector.group_time,
        "integration_time": t, "effective_integration_time": t,
        "exposure_time": t * nints, "effective_exposure_time": t * nints,
        "measurement_time": t * nints, "duration": (t + detector.group_time) * nints,
        "elapsed_exposure_time": t * nints,
    }
