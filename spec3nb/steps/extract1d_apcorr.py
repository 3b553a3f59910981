"""extract_1d for slits: aperture corrections from an APCORR reference (point sources).

jwst 3.0.0 (reference section 3.10.2, step 7) selects the one reference row of the set-up
(MIRI LRS: the subarray; NIRSpec FS/MOS: filter and grating, plus the slit for FS), converts
aperture sizes given in arcsec to pixels with the WCS's spatial scale, and interpolates the
correction at each row's (NPIXELS, WAVELENGTH):

* MIRI LRS (``ApCorr``): bilinear in (size, wavelength) over the first ``nelem_size`` x
  ``nelem_wl`` entries, clamped at the table's edges;
* NIRSpec (``ApCorrPhase``): the correction at pixel phase 0.5, sizes interpolated to each
  wavelength, then bilinear in (wavelength, size), clamped; where jwst's interpolators fail
  (wavelength outside the table, sizes not increasing) or give 0, the factor is 1.

The interpolations are written out here with numpy (vectorised over rows); they are the
degree-1 splines and linear interpolators jwst builds with scipy, to rounding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from astropy.coordinates import angular_separation

from spec3nb.errors import InputFileError

PIXEL_PHASE = 0.5
_FLUX_COLUMNS = ("FLUX", "FLUX_ERROR", "SURF_BRIGHT", "SB_ERROR")
_VAR_COLUMNS = tuple(f"{kind}_VAR_{c}" for kind in ("FLUX", "SB")
                     for c in ("POISSON", "RNOISE", "FLAT"))


def match_values(instrument: str, exp_type: str, meta_get, slit_name: str | None
                 ) -> dict[str, Any]:
    """The column values that select the reference row for this set-up.

    Parameters
    ----------
    instrument, exp_type : str
        ``INSTRUME`` and ``EXP_TYPE`` of the input.
    meta_get : callable
        ``meta_get("instrument.filter")`` looks up the input's metadata.
    slit_name : str or None
        The slit name (NIRSpec fixed slits also match the ``slit`` column).

    Returns
    -------
    dict[str, Any]
        Column name -> wanted value.
    """
    if instrument == "MIRI":
        values = {"subarray": meta_get("subarray.name")}
    else:
        values = {"filter": meta_get("instrument.filter"),
                  "grating": meta_get("instrument.grating")}
        if exp_type in ("NRS_FIXEDSLIT", "NRS_BRIGHTOBJ"):
            values["slit"] = slit_name
    return values


def select_row(reference: Any, values: Mapping[str, Any]) -> Mapping[str, Any]:
    """The single reference row matching `values` (text compared case-insensitively).

    Raises
    ------
    InputFileError
        If not exactly one row matches (naming the values looked for).
    """
    rows = []
    for row in reference.rows:
        same = True
        for key, wanted in values.items():
            have = row.get(key)
            if isinstance(wanted, str):
                same &= isinstance(have, str) and have.upper() == wanted.upper()
            else:
                same &= have == wanted
        if same:
            rows.append(row)
    if len(rows) != 1:
        looked = ", ".join(f"{k}={v!r}" for k, v in values.items())
        raise InputFileError(reference.path, f"{len(rows)} APCORR rows match {looked}; "
                                             "exactly one is needed", "APCORR")
    return rows[0]


def spatial_scale(wcs: Any, location: tuple[float, float, float], dispaxis: int) -> float:
    """Pixel scale across the dispersion (arcsec) at sky `location` = (RA, Dec, wavelength).

    The location is mapped to the detector, then the angular distance to the points one
    pixel away is measured; the cross-dispersion one is returned.
    """
    x, y = (float(v) for v in wcs.invert(*location, with_bounding_box=False))
    px = np.array([x, x + 1.0, x])
    py = np.array([y, y, y + 1.0])
    ra, dec = np.asarray(wcs(px, py, with_bounding_box=False)[:2], dtype=np.float64)
    ra, dec = np.radians(ra), np.radians(dec)
    along_x = angular_separation(ra[0], dec[0], ra[1], dec[1])
    along_y = angular_separation(ra[0], dec[0], ra[2], dec[2])
    scale = along_y if dispaxis == 1 else along_x
    return float(np.degrees(abs(scale)) * 3600.0)


def _clamped_bilinear(x_grid, y_grid, values, x, y) -> np.ndarray:
    """Bilinear interpolation of ``values[i, j]`` at (x_grid[i], y_grid[j]), points clamped
    into the grid (a degree-1 FITPACK spline evaluates the same way)."""
    x = np.clip(x, x_grid[0], x_grid[-1])
    y = np.clip(y, y_grid[0], y_grid[-1])
    i = np.clip(np.searchsorted(x_grid, x, side="right") - 1, 0, len(x_grid) - 2)
    j = np.clip(np.searchsorted(y_grid, y, side="right") - 1, 0, len(y_grid) - 2)
    tx = (x - x_grid[i]) / (x_grid[i + 1] - x_grid[i])
    ty = (y - y_grid[j]) / (y_grid[j + 1] - y_grid[j])
    return ((1 - tx) * (1 - ty) * values[i, j] + tx * (1 - ty) * values[i + 1, j]
            + (1 - tx) * ty * values[i, j + 1] + tx * ty * values[i + 1, j + 1])


def _linear_along_last(points: np.ndarray, table: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``table`` interpolated linearly along its last axis (sampled at `points`) at each
    value of `at`; shape ``table.shape[:-1] + at.shape``. NaN outside the points."""
    order = np.argsort(points, kind="stable")
    xs, ys = points[order], table[..., order]
    k = np.clip(np.searchsorted(xs, at, side="left"), 1, len(xs) - 1)
    t = (at - xs[k - 1]) / (xs[k] - xs[k - 1])
    out = ys[..., k - 1] * (1 - t) + ys[..., k] * t
    out[..., (at < xs[0]) | (at > xs[-1])] = np.nan
    return out


def miri_factors(row: Mapping[str, Any], sizes: np.ndarray, npixels, wavelength
                 ) -> np.ndarray:
    """MIRI LRS corrections at (NPIXELS, WAVELENGTH), clamped to the table."""
    nwl, nsize = int(row["nelem_wl"]), int(row["nelem_size"])
    wave = np.asarray(row["wavelength"], dtype=np.float64)[:nwl]
    table = np.asarray(row["apcorr"], dtype=np.float64)[:nwl, :nsize]
    order = np.argsort(wave)
    size_grid = np.asarray(sizes, dtype=np.float64)[:nsize]
    if np.any(np.diff(size_grid) <= 0) or np.any(np.diff(wave[order]) <= 0) or nsize < 2 \
            or nwl < 2:
        raise ValueError("the APCORR sizes and wavelengths must increase strictly")
    return _clamped_bilinear(size_grid, wave[order], table[order].T, npixels, wavelength)


def nirspec_factors(row: Mapping[str, Any], sizes: np.ndarray, npixels, wavelength
                    ) -> np.ndarray:
    """NIRSpec corrections at (WAVELENGTH, NPIXELS); 1 where jwst's interpolation fails."""
    ones = np.ones(len(wavelength))
    wave = np.asarray(row["wavelength"], dtype=np.float64)
    phase = np.asarray(row["pixphase"], dtype=np.float64)
    table = np.asarray(row["apcorr"], dtype=np.float64)
    sizes = np.asarray(sizes, dtype=np.float64)
    if (table.shape[-1] != phase.size or sizes.shape[-1] != wave.size or phase.size < 2
            or wave.size < 2 or not phase.min() <= PIXEL_PHASE <= phase.max()):
        return ones
    at_phase = _linear_along_last(phase, table, np.array([PIXEL_PHASE]))[..., 0]
    order = np.argsort(wave)
    wave_sorted = wave[order]
    if at_phase.ndim != 2 or at_phase.shape[1] != wave.size or \
            at_phase.shape[0] != sizes.shape[0] or np.any(np.diff(wave_sorted) <= 0):
        return ones
    grid = at_phase[:, order].T  # (wavelength, size)
    size_at_wave = _linear_along_last(wave, sizes, np.asarray(wavelength)).T  # (rows, sizes)
    # jwst's spline needs at least two strictly increasing sizes (False for NaN too).
    usable = np.all(np.diff(size_at_wave, axis=1) > 0, axis=1) & (size_at_wave.shape[1] > 1)
    factors = ones.copy()
    if np.any(usable):
        values = _wave_rows(wave_sorted, grid, np.asarray(wavelength)[usable])
        factors[usable] = _rows_clamped(size_at_wave[usable], values,
                                        np.asarray(npixels, dtype=np.float64)[usable])
    factors[factors == 0] = 1.0  # jwst treats a zero correction as no correction
    return factors


def _wave_rows(wave_sorted, grid, wavelength) -> np.ndarray:
    """`grid` (wavelength x size) interpolated linearly, clamped, at each wavelength."""
    w = np.clip(wavelength, wave_sorted[0], wave_sorted[-1])
    i = np.clip(np.searchsorted(wave_sorted, w, side="right") - 1, 0, len(wave_sorted) - 2)
    t = (w - wave_sorted[i]) / (wave_sorted[i + 1] - wave_sorted[i])
    return grid[i] * (1 - t)[:, None] + grid[i + 1] * t[:, None]


def _rows_clamped(xs: np.ndarray, ys: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Row by row, ``ys[r]`` sampled at increasing ``xs[r]`` interpolated linearly at
    ``x[r]``, clamped to the row's end values."""
    rows = np.arange(len(x))
    x = np.clip(x, xs[:, 0], xs[:, -1])
    k = np.clip(np.sum(xs <= x[:, None], axis=1) - 1, 0, xs.shape[1] - 2)
    t = (x - xs[rows, k]) / (xs[rows, k + 1] - xs[rows, k])
    return ys[rows, k] * (1 - t) + ys[rows, k + 1] * t


def apply_factors(columns: dict[str, np.ndarray], factors: np.ndarray) -> dict[str, np.ndarray]:
    """Return `columns` with flux-like columns times `factors` and variances times its
    square (BACKGROUND and NPIXELS untouched)."""
    out = dict(columns)
    for name in _FLUX_COLUMNS:
        out[name] = columns[name] * factors
    for name in _VAR_COLUMNS:
        out[name] = columns[name] * factors**2
    return out
