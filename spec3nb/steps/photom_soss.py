"""photom for NIRISS SOSS spectra: the x1d converted from DN/s to MJy.

calwebb_spec3 runs jwst's ``PhotomStep`` on the SOSS extract_1d result (reference section
3.11). For each spectrum (order), the PHOTOM row matching the filter, pupil and order gives
the scalar ``photmj`` (MJy per DN/s), divided by a time-dependence correction when there is
one, times ``relresponse`` interpolated linearly at each wavelength (0 outside the table).
``FLUX``, ``FLUX_ERROR``, ``BACKGROUND`` and ``BKGD_ERROR`` are multiplied by it, the flux
and background variances by its square; the surface-brightness columns are left alone; the
units become MJy and MJy^2.

The reference is handed over parsed (:func:`parse_soss_photom`, from the ``PHOTOM`` table
of a NIRISS SOSS photom file). Differences from jwst 3.0.0: an order without a matching
row is left in DN/s and named in the reason (jwst stops at the first such order, leaving
the later ones uncalibrated too); NaN wavelengths are not overwritten with -1 (jwst writes
-1 into WAVELENGTH there).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from spec3nb.datamodels import tables
from spec3nb.datamodels.products import Product
from spec3nb.errors import InputFileError
from spec3nb.params import BOOL, STR, Param
from spec3nb.steps.spec import COMPLETE, SKIPPED, StepOutput, StepResult, StepSpec

_FLUX = ("FLUX", "FLUX_ERROR", "BACKGROUND", "BKGD_ERROR")
_SQUARED = tuple(f"{kind}_VAR_{c}" for kind in ("FLUX", "BKGD")
                 for c in ("POISSON", "RNOISE", "FLAT"))
_MICRONS_100 = 1.0e-4  # 100 micron in metres: smaller maxima are wavelengths in metres


@dataclasses.dataclass(frozen=True)
class PhotomRow:
    """One row of a SOSS PHOTOM table."""

    filter: str
    pupil: str
    order: int
    photmj: float
    wavelength: np.ndarray
    relresponse: np.ndarray
    time_correction: float = 1.0


@dataclasses.dataclass(frozen=True)
class SossPhotom:
    """A parsed NIRISS SOSS photom reference."""

    rows: tuple[PhotomRow, ...]
    source: str = "photom"

    def find(self, filt: str, pupil: str, order: int) -> PhotomRow | None:
        """The row of this filter, pupil and order (text compared case-insensitively)."""
        found = [r for r in self.rows if r.filter.upper() == str(filt).upper()
                 and r.pupil.upper() == str(pupil).upper() and r.order == order]
        if len(found) > 1:
            raise InputFileError(self.source, f"{len(found)} PHOTOM rows match filter "
                                              f"{filt}, pupil {pupil}, order {order}")
        return found[0] if found else None


def _text(value: Any) -> str:
    return value.decode().strip() if isinstance(value, bytes | np.bytes_) else str(value).strip()


def parse_soss_photom(table: np.ndarray, corrections: Sequence[float] | None = None,
                      source: str = "photom") -> SossPhotom:
    """Build a :class:`SossPhotom` from a ``PHOTOM`` table.

    Parameters
    ----------
    table : numpy.ndarray
        Structured array with ``filter``, ``pupil``, ``order``, ``photmj``, ``wavelength``,
        ``relresponse`` and optionally ``nelem`` (number of used table entries).
    corrections : Sequence[float], optional
        Time-dependence correction of each row at the exposure's mid-time (1: none).
    source : str
        Where it came from (named in errors).

    Returns
    -------
    SossPhotom
        The rows, wavelengths in micron and increasing.
    """
    names = {n.lower(): n for n in table.dtype.names or ()}
    missing = [n for n in ("filter", "pupil", "order", "photmj", "wavelength", "relresponse")
               if n not in names]
    if missing:
        raise InputFileError(source, f"PHOTOM table lacks column(s) {', '.join(missing)}")
    rows = []
    for i, rec in enumerate(table):
        wave = np.asarray(rec[names["wavelength"]], dtype=np.float64)
        resp = np.asarray(rec[names["relresponse"]], dtype=np.float64)
        if "nelem" in names and int(rec[names["nelem"]]) > 0:
            wave, resp = wave[: int(rec[names["nelem"]])], resp[: int(rec[names["nelem"]])]
        if not np.all(np.diff(wave) > 0):
            sort = np.argsort(wave)
            wave, resp = wave[sort], resp[sort]
        if 0.0 < wave.max() < _MICRONS_100:
            wave = wave * 1.0e6
        rows.append(PhotomRow(_text(rec[names["filter"]]), _text(rec[names["pupil"]]),
                              int(rec[names["order"]]), float(rec[names["photmj"]]), wave,
                              resp, float(corrections[i]) if corrections is not None else 1.0))
    return SossPhotom(tuple(rows), source)


def conversion(row: PhotomRow, wavelength: np.ndarray, apply_time_correction: bool
               ) -> np.ndarray:
    """MJy per DN/s at each wavelength (0 where the response is not tabulated)."""
    scalar = row.photmj
    if apply_time_correction and row.time_correction != 1.0:
        scalar = scalar / row.time_correction
    wave = np.where(np.isnan(wavelength), -1.0, wavelength)
    response = np.interp(wave, row.wavelength, row.relresponse, left=np.nan, right=np.nan)
    return np.where(np.isnan(response), 0.0, scalar * response)


def calibrate_table(table: np.ndarray, row: PhotomRow, apply_time_correction: bool
                    ) -> np.ndarray:
    """A copy of a (TSO or plain) EXTRACT1D table in MJy."""
    out = table.copy()
    factor = conversion(row, np.asarray(table["WAVELENGTH"], dtype=np.float64),
                        apply_time_correction)
    for name in _FLUX:
        out[name] = table[name] * factor
    for name in _SQUARED:
        out[name] = table[name] * factor**2
    units = {n: "MJy" for n in _FLUX} | {n: "MJy^2" for n in _SQUARED}
    return tables.with_units(out, units)


def photom_soss(
    inputs: Sequence[Product], *, inverse: bool = False, source_type: str | None = None,
    apply_time_correction: bool = True, references: Mapping[str, Any] | None = None,
) -> StepResult:
    """Flux-calibrate SOSS x1d products (``TSOMultiSpecModel``) with a photom reference.

    Parameters
    ----------
    inputs : Sequence[Product]
        SOSS x1d products.
    inverse, source_type : optional
        jwst's parameters; for SOSS spectra jwst 3.0.0 uses neither (it always multiplies).
    apply_time_correction : bool
        Divide ``photmj`` by the rows' time-dependence corrections.
    references : Mapping[str, Any], optional
        ``photom``: a :class:`SossPhotom`; ``"N/A"`` or none skips the step (as jwst).

    Returns
    -------
    StepResult
        The calibrated x1d (suffix ``x1d``), one per input; SKIPPED without a reference.
    """
    reference = (references or {}).get("photom")
    if isinstance(reference, np.ndarray):  # a PHOTOM table as read from the file
        source = (reference.dtype.metadata or {}).get("source", "photom")
        reference = parse_soss_photom(reference, source=source)
    unchanged = tuple(StepOutput(p, "x1d", origin=i) for i, p in enumerate(inputs))
    if not isinstance(reference, SossPhotom):
        return StepResult(unchanged, SKIPPED, "no SOSS photom reference")
    outputs, notes = [], []
    for i, product in enumerate(inputs):
        if product.model_type != "TSOMultiSpecModel" or product.exp_type != "NIS_SOSS":
            raise InputFileError(product.filename or f"input {i}", "photom_soss takes NIRISS "
                                 f"SOSS TSOMultiSpecModel x1d, not a {product.model_type} "
                                 f"of {product.exp_type}")
        parts = []
        for part in product.parts:
            order = int(part.attrs.get("spectral_order") or 1)
            row = reference.find(product.get("instrument.filter"),
                                 product.get("instrument.pupil"), order)
            if row is None:
                notes.append(f"{product.filename or f'input {i}'}: no PHOTOM row for order "
                             f"{order}; left in DN/s")
                parts.append(part)
                continue
            table = calibrate_table(part.table, row, apply_time_correction)
            parts.append(part.evolve(arrays={"spec_table": table}))
        calibrated = product.evolve(parts=parts, meta={"cal_step.photom": COMPLETE})
        outputs.append(StepOutput(calibrated, "x1d", origin=i))
    return StepResult(tuple(outputs), COMPLETE, "; ".join(notes))


SPEC = StepSpec(
    name="photom",
    summary="Flux-calibrate NIRISS SOSS 1-D spectra (DN/s to MJy)",
    function=photom_soss,
    params=(
        Param("inverse", BOOL, False, "invert the operation (jwst ignores it for spectra)"),
        Param("source_type", STR, None, "process as this source type (unused for spectra)"),
        Param("apply_time_correction", BOOL, True,
              "apply the reference's time-dependent correction when it has one"),
    ),
    reference_types=("photom", "area"),
    jwst_class="jwst.photom.PhotomStep",
)
