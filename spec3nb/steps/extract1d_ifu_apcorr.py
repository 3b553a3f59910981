"""extract_1d for IFU cubes: aperture corrections (``ApCorrRadial`` of jwst 3.0.0).

The IFU APCORR references (MIRI MRS ``MirMrsApcorrModel``, NIRSpec IFU
``NrsIfuApcorrModel``) are ASDF files whose ``apcorr_table`` holds a ``wavelength`` vector
and two arrays of shape (n_radii, n_wavelengths): the aperture ``radius`` (unit in
``radius_units``, arcsec in practice) and the correction ``apcorr`` for that radius.

For a point-source spectrum jwst (reference section 3.10.3):

1. converts the radii to pixels with the cube's spatial scale at (RA, Dec of the cube
   centre, lambda) where lambda is the smallest wavelength (MIRI) or the median (NIRSpec);
2. interpolates every radius row and every correction row linearly to the cube's
   wavelengths, extrapolating beyond the table;
3. at each wavelength, interpolates the correction linearly in radius (extrapolating) at
   the extraction radius of that plane;
4. multiplies FLUX, FLUX_ERROR, SURF_BRIGHT, SB_ERROR (and for MIRI RF_FLUX,
   RF_SURF_BRIGHT) by the correction and the FLUX_VAR_* and SB_VAR_* columns by its square.

The linear interpolations are written with numpy over all wavelengths at once; they give
the values of scipy's ``interp1d(..., fill_value="extrapolate")`` that jwst uses.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from spec3nb.errors import InputFileError

_FLUX_COLUMNS = ("FLUX", "FLUX_ERROR", "SURF_BRIGHT", "SB_ERROR")
_MIRI_RF_COLUMNS = ("RF_FLUX", "RF_SURF_BRIGHT")
_VAR_COLUMNS = tuple(f"{kind}_VAR_{c}" for kind in ("FLUX", "SB")
                     for c in ("POISSON", "RNOISE", "FLAT"))


@dataclasses.dataclass(frozen=True)
class IfuApcorrReference:
    """A loaded IFU APCORR reference.

    Parameters
    ----------
    path : str
        The file it was read from.
    wavelength : numpy.ndarray
        Table wavelengths (micron), 1-D.
    radius : numpy.ndarray
        Aperture radii, (n_radii, n_wavelengths), in `radius_units`.
    apcorr : numpy.ndarray
        Corrections, same shape as `radius`.
    radius_units : str
        ``arcseconds`` (converted to pixels with the cube's scale) or pixels.
    """

    path: str
    wavelength: np.ndarray
    radius: np.ndarray
    apcorr: np.ndarray
    radius_units: str


def load_ifu_apcorr(path: Path | str) -> IfuApcorrReference:
    """Read an IFU APCORR reference (ASDF, ``apcorr_table``).

    Parameters
    ----------
    path : pathlib.Path or str
        The file.

    Returns
    -------
    IfuApcorrReference
        Its table.

    Raises
    ------
    InputFileError
        If the file is not ASDF, has no ``apcorr_table`` or its arrays do not agree in shape.
    """
    import asdf

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with asdf.open(str(path), lazy_load=False, memmap=False) as handle:
                table = handle.tree.get("apcorr_table")
                if not isinstance(table, Mapping):
                    raise InputFileError(path, "no apcorr_table in the IFU APCORR reference")
                # dtypes kept: jwst divides float32 radii in place and interpolates them
                # in float32, which a float64 copy would not reproduce to the last bit.
                arrays = {k: _float_array(table[k])
                          for k in ("wavelength", "radius", "apcorr") if k in table}
                units = str(table.get("radius_units", "arcseconds"))
    except InputFileError:
        raise
    except Exception as exc:  # asdf raises many types for broken files
        raise InputFileError(path, f"not a readable IFU APCORR reference ({exc})") from None
    missing = [k for k in ("wavelength", "radius", "apcorr") if k not in arrays]
    if missing:
        raise InputFileError(path, f"the apcorr_table lacks {', '.join(missing)}")
    wavelength = arrays["wavelength"].ravel()
    radius, apcorr = np.atleast_2d(arrays["radius"]), np.atleast_2d(arrays["apcorr"])
    if radius.shape != apcorr.shape or radius.shape[1] != wavelength.size:
        raise InputFileError(path, f"apcorr_table shapes disagree: wavelength "
                                   f"{wavelength.shape}, radius {radius.shape}, apcorr "
                                   f"{apcorr.shape}")
    return IfuApcorrReference(str(path), wavelength, radius, apcorr, units)


def _float_array(value: Any) -> np.ndarray:
    array = np.array(value)
    if array.dtype.kind != "f":
        array = array.astype(np.float64)
    return array.astype(array.dtype.newbyteorder("="))


def as_ifu_apcorr(reference: Any) -> IfuApcorrReference | None:
    """Return `reference` as an :class:`IfuApcorrReference` (None for none).

    Parameters
    ----------
    reference : Any
        None or ``"N/A"`` (no correction), a loaded :class:`IfuApcorrReference`, or the
        path of an ASDF file (the reference loader of the runner reads APCORR files as FITS
        slit tables, so an IFU file may arrive unread).

    Returns
    -------
    IfuApcorrReference or None
        The reference.

    Raises
    ------
    InputFileError
        For a slit (FITS) APCORR reference, which has no radial table.
    """
    if reference is None or (isinstance(reference, str) and reference.upper() == "N/A"):
        return None
    if isinstance(reference, IfuApcorrReference):
        return reference
    if isinstance(reference, str | Path):
        return load_ifu_apcorr(reference)
    path = getattr(reference, "path", "(apcorr reference)")
    raise InputFileError(path, "IFU cubes need an IFU APCORR reference (ASDF apcorr_table "
                               "with radius and apcorr by wavelength), not a slit table",
                         "APCORR")


def interp_extrapolate(xp: np.ndarray, fp: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Linear interpolation of `fp` (last axis sampled at `xp`) at `x`, extrapolating
    linearly beyond the ends (``interp1d(xp, fp, fill_value="extrapolate")``).

    Parameters
    ----------
    xp : numpy.ndarray
        Sample points (any order; sorted here, as interp1d does).
    fp : numpy.ndarray
        Values, last axis matching `xp`.
    x : numpy.ndarray
        Where to interpolate.

    Returns
    -------
    numpy.ndarray
        Shape ``fp.shape[:-1] + x.shape``, float64; NaN where `x` is NaN.
    """
    # xp and fp keep their dtypes (float32 tables are interpolated in float32 by scipy)
    xp, fp = np.asarray(xp), np.asarray(fp)
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(xp, kind="mergesort")
    xs, ys = xp[order], fp[..., order]
    hi = np.clip(np.searchsorted(xs, x), 1, len(xs) - 1)
    lo = hi - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (ys[..., hi] - ys[..., lo]) / (xs[hi] - xs[lo])
        return (slope * (x - xs[lo]) + ys[..., lo]).astype(np.float64)


def _per_column_interp(xp: np.ndarray, fp: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Interpolate column j of `fp` (sampled at column j of `xp`) at ``x[j]``, extrapolating;
    `xp`, `fp` are (n, m) and `x` is (m,)."""
    order = np.argsort(xp, axis=0, kind="mergesort")
    xs = np.take_along_axis(xp, order, axis=0)
    ys = np.take_along_axis(fp, order, axis=0)
    n = xs.shape[0]
    hi = np.clip(np.sum(xs < x[None, :], axis=0), 1, n - 1)  # searchsorted, column-wise
    lo = hi - 1
    cols = np.arange(xs.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (ys[hi, cols] - ys[lo, cols]) / (xs[hi, cols] - xs[lo, cols])
        return slope * (x - xs[lo, cols]) + ys[lo, cols]


def ifu_apcorr_factors(reference: IfuApcorrReference, wavelength: np.ndarray,
                       radius_pixels: np.ndarray, pixel_scale_arcsec: float) -> np.ndarray:
    """Return the aperture correction of every spectrum row.

    Parameters
    ----------
    reference : IfuApcorrReference
        The IFU APCORR table.
    wavelength : numpy.ndarray
        Wavelength of each row (micron).
    radius_pixels : numpy.ndarray
        Extraction radius (pixels) of each row.
    pixel_scale_arcsec : float
        The cube's spatial scale (arcsec per spaxel) used to convert radii in arcsec.

    Returns
    -------
    numpy.ndarray
        One factor per row.
    """
    radius = reference.radius
    if reference.radius_units.lower().startswith("arcsec"):
        # jwst divides the table in place, keeping its dtype
        radius = (radius / pixel_scale_arcsec).astype(radius.dtype)
    size = interp_extrapolate(reference.wavelength, radius, wavelength)
    correction = interp_extrapolate(reference.wavelength, reference.apcorr, wavelength)
    if size.shape[0] == 1:  # one radius: interp1d cannot interpolate in radius
        return np.full(np.shape(wavelength), np.nan)
    return _per_column_interp(size, correction, np.asarray(radius_pixels, dtype=np.float64))


def apply_ifu_apcorr(columns: Mapping[str, np.ndarray], factors: np.ndarray, miri: bool
                     ) -> dict[str, np.ndarray]:
    """Return `columns` with the aperture correction applied.

    Parameters
    ----------
    columns : Mapping[str, numpy.ndarray]
        Spectrum columns by upper-case name.
    factors : numpy.ndarray
        The correction of each row.
    miri : bool
        Also correct RF_FLUX and RF_SURF_BRIGHT (MIRI MRS).

    Returns
    -------
    dict[str, numpy.ndarray]
        New columns; the input is unchanged.
    """
    out = dict(columns)
    names = _FLUX_COLUMNS + (_MIRI_RF_COLUMNS if miri else ())
    for name in names:
        if name in out:
            out[name] = out[name] * factors
    for name in _VAR_COLUMNS:
        if name in out:
            out[name] = out[name] * (factors * factors)
    return out
