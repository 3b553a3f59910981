"""What the simulator knows: the truth a test checks Stage-3 results against.

Written as ``truth.json`` (positions, units, outliers, backgrounds) beside
``truth_arrays.npz`` (the spectra), and read back with :func:`read_truth`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from spec3nb.simulate.spectra import Spectrum

TRUTH_JSON = "truth.json"
TRUTH_ARRAYS = "truth_arrays.npz"


@dataclasses.dataclass(frozen=True)
class SourceTruth:
    """One simulated source.

    Parameters
    ----------
    source_id : int
        The source id written into the files (``SOURCEID``).
    ra, dec : float
        Sky position (degrees).
    source_type : str
        ``POINT`` or ``EXTENDED``.
    spectrum : Spectrum
        Flux density (mJy) or surface brightness (MJy/sr) against wavelength (micron).
    name : str
        The source name (``SRCNAME``), empty when the mode has none.
    extra : Mapping[str, Any]
        Mode-specific facts (slit, order, position in the slit ...).
    """

    source_id: int
    ra: float
    dec: float
    source_type: str
    spectrum: Spectrum
    name: str = ""
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ExposureTruth:
    """What was put into one exposure.

    Parameters
    ----------
    filename : str
        The ``_cal`` file.
    offset : tuple[float, float]
        Dither or nod offset of the pointing (arcsec, along and across the slit or x, y).
    background : float
        Background surface brightness at the middle of the range (MJy/sr).
    outliers : numpy.ndarray
        ``(n, 3)`` rows of ``(part, y, x)``: the cosmic rays injected (the pixels Stage-3
        outlier detection should flag).
    bad_pixels : numpy.ndarray
        ``(n, 3)`` rows of ``(part, y, x)`` flagged ``DO_NOT_USE`` in the file.
    extra : Mapping[str, Any]
        Mode-specific facts (for example which outliers are persistent, or whether the
        background was already subtracted and in which unit).
    """

    filename: str
    offset: tuple[float, float]
    background: float
    outliers: np.ndarray
    bad_pixels: np.ndarray
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Truth:
    """Everything a test needs to check results against.

    Parameters
    ----------
    mode : str
        The simulated mode.
    seed : int
        The seed used.
    size : str
        ``small`` or ``full``.
    sources : tuple[SourceTruth, ...]
        The sources.
    exposures : tuple[ExposureTruth, ...]
        One entry per science exposure.
    background_kind : str
        ``none``, ``nod`` or ``dedicated``.
    background_spectrum : Spectrum, optional
        The sky background (MJy/sr).
    """

    mode: str
    seed: int
    size: str
    sources: tuple[SourceTruth, ...]
    exposures: tuple[ExposureTruth, ...]
    background_kind: str = "none"
    background_spectrum: Spectrum | None = None

    def source(self, source_id: int) -> SourceTruth:
        """Return the source with `source_id`."""
        for source in self.sources:
            if source.source_id == source_id:
                return source
        raise KeyError(f"no simulated source with id {source_id}")


def _spectrum_entry(key: str, spectrum: Spectrum, arrays: dict[str, np.ndarray]) -> dict:
    arrays[f"{key}_wavelength"] = np.asarray(spectrum.wavelength, dtype=float)
    arrays[f"{key}_value"] = np.asarray(spectrum.value, dtype=float)
    return {"arrays": key, "unit": spectrum.unit, "wavelength_unit": "um"}


def _json_value(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


def truth_document(truth: Truth) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Return the JSON document and the arrays that describe `truth`.

    Parameters
    ----------
    truth : Truth
        The truth.

    Returns
    -------
    tuple[dict, dict[str, numpy.ndarray]]
        ``truth.json`` content and ``truth_arrays.npz`` content.
    """
    arrays: dict[str, np.ndarray] = {}
    doc: dict[str, Any] = {
        "mode": truth.mode, "seed": truth.seed, "size": truth.size,
        "units": {"wavelength": "um", "point_source": "mJy", "extended_source": "MJy/sr",
                  "background": "MJy/sr", "offset": "arcsec", "position": "deg"},
        "sources": [], "exposures": [], "background": {"kind": truth.background_kind},
    }
    for source in truth.sources:
        entry = {"source_id": source.source_id, "name": source.name, "ra": source.ra,
                 "dec": source.dec, "source_type": source.source_type,
                 "extra": _json_value(dict(source.extra))}
        entry["spectrum"] = _spectrum_entry(f"source_{source.source_id}", source.spectrum, arrays)
        doc["sources"].append(entry)
    for exposure in truth.exposures:
        doc["exposures"].append({
            "filename": exposure.filename, "offset": list(exposure.offset),
            "background": exposure.background,
            "outliers": _json_value(exposure.outliers.astype(int)),
            "bad_pixels": _json_value(exposure.bad_pixels.astype(int)),
            "extra": _json_value(dict(exposure.extra)),
        })
    if truth.background_spectrum is not None:
        doc["background"]["spectrum"] = _spectrum_entry(
            "background", truth.background_spectrum, arrays)
    return doc, arrays


def write_truth(truth: Truth, folder: str | os.PathLike[str]) -> Path:
    """Write ``truth.json`` and ``truth_arrays.npz`` into `folder`; return the JSON path."""
    folder = Path(folder)
    doc, arrays = truth_document(truth)
    np.savez(folder / TRUTH_ARRAYS, **arrays)
    path = folder / TRUTH_JSON
    path.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    return path


def _spectrum_from(entry: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Spectrum:
    key = entry["arrays"]
    return Spectrum(arrays[f"{key}_wavelength"], arrays[f"{key}_value"], entry["unit"])


def read_truth(folder: str | os.PathLike[str]) -> Truth:
    """Read the truth written by :func:`write_truth`.

    Parameters
    ----------
    folder : str or os.PathLike
        The dataset folder (or the ``truth.json`` path).

    Returns
    -------
    Truth
        The truth.
    """
    folder = Path(folder)
    if folder.is_file():
        folder = folder.parent
    doc = json.loads((folder / TRUTH_JSON).read_text())
    with np.load(folder / TRUTH_ARRAYS) as npz:
        arrays = {k: npz[k] for k in npz.files}
    sources = tuple(
        SourceTruth(s["source_id"], s["ra"], s["dec"], s["source_type"],
                    _spectrum_from(s["spectrum"], arrays), s["name"], s["extra"])
        for s in doc["sources"]
    )
    exposures = tuple(
        ExposureTruth(e["filename"], tuple(e["offset"]), e["background"],
                      np.array(e["outliers"], dtype=int).reshape(-1, 3),
                      np.array(e["bad_pixels"], dtype=int).reshape(-1, 3),
                      e.get("extra", {}))
        for e in doc["exposures"]
    )
    bkg = doc["background"]
    spectrum = _spectrum_from(bkg["spectrum"], arrays) if "spectrum" in bkg else None
    return Truth(doc["mode"], doc["seed"], doc["size"], sources, exposures, bkg["kind"],
                 spectrum)
