"""extract_1d for slits: aperture weights, background fits and box sums with variances.

All arrays here are 2-D images ``(rows, columns)``. The extraction functions take them with
the dispersion along the columns (the second axis); the caller transposes vertically
dispersed slits. The formulas are jwst 3.0.0's (reference section 3.10.2, steps 5-6):
fractional pixel weights at the aperture edges, a per-column polynomial or median background
fitted to the background regions, and variances propagated component by component (read
noise, Poisson, flat), including the exact linear propagation of the fitted background.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence

import numpy as np

from spec3nb.datamodels.dq import DO_NOT_USE
from spec3nb.steps.extract1d_params import HORIZONTAL, ExtractParams

#: Matrices at least this ill-conditioned give a zero background in that column (as jwst).
MAX_CONDITION = 1e10
#: Ratio of the uncertainty of a median to that of a mean, used for median backgrounds.
MEDIAN_ERROR_FACTOR = 1.2


# ----------------------------------------------------------------------------- apertures


def _polynomial(coeffs: Sequence[float], t: np.ndarray) -> np.ndarray:
    """``c0 + c1 t + ...`` by Horner's rule, as astropy's Polynomial1D evaluates it."""
    value = np.full(np.shape(t), coeffs[-1], dtype=np.float64)
    for c in coeffs[-2::-1]:
        value = c + value * t
    return value


def set_weights(profile: np.ndarray, index: np.ndarray, lower, upper,
                partial: bool = True) -> None:
    """Give pixels between `lower` and `upper` (inclusive, in place) weight 1 and, with
    `partial`, the fraction of an edge pixel inside the limits (never lowering a weight)."""
    profile[(index >= lower) & (index <= upper)] = 1.0
    if not partial:
        return
    for fraction in (index - lower + 1, upper - index + 1):
        edge = (fraction > 0) & (fraction < 1) & (profile < fraction)
        profile[edge] = np.broadcast_to(fraction, profile.shape)[edge]


def box_profile(
    shape: tuple[int, int], params: ExtractParams, wavelength: np.ndarray,
    background: bool = False,
) -> tuple[np.ndarray, float, float]:
    """Aperture weights in [0, 1] for every pixel, and the mean lower/upper limits.

    The limits come, in this order, from the (lower, upper) coefficient pairs
    (``src_coeff``, or ``bkg_coeff`` with `background`), the trace +- width/2, the middle of
    the start/stop limits +- width/2, or the start/stop limits. Columns (rows, for vertical
    dispersion) outside the dispersion limits get weight 0.

    Parameters
    ----------
    shape : tuple[int, int]
        The image shape.
    params : ExtractParams
        The extraction parameters.
    wavelength : numpy.ndarray
        Wavelength of each pixel (for ``independent_var = wavelength``).
    background : bool
        Build the background-region profile from ``bkg_coeff``.

    Returns
    -------
    tuple[numpy.ndarray, float, float]
        The weights and the mean lower and upper cross-dispersion limits (0-based).
    """
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    horizontal = params.dispaxis == HORIZONTAL
    across = rows if horizontal else cols
    profile = np.zeros(shape)
    coeffs = params.bkg_coeff if background else params.src_coeff
    if coeffs is not None:
        partial = not (background and params.bkg_fit == "median")
        if params.independent_var.startswith("wavelength"):
            t = wavelength
        else:
            t = (cols if horizontal else rows).astype(np.float32)
        lower_limit = upper_limit = None
        for lower_c, upper_c in zip(coeffs[::2], coeffs[1::2], strict=True):
            # Coefficients put 0 at a pixel centre, start/stop at its lower edge.
            lower = _polynomial(lower_c, t) + 0.5
            upper = _polynomial(upper_c, t) - 0.5
            set_weights(profile, across, lower, upper, partial)
            mean_lower, mean_upper = float(np.mean(lower)), float(np.mean(upper))
            lower_limit = mean_lower if lower_limit is None else min(lower_limit, mean_lower)
            upper_limit = mean_upper if upper_limit is None else max(upper_limit, mean_upper)
    elif params.extract_width is not None:
        width = params.extract_width
        if params.trace is not None:
            trace = params.trace if horizontal else params.trace[:, None]
            lower = np.broadcast_to(trace - (width - 1.0) / 2.0, shape)
            upper = lower + width - 1
            set_weights(profile, across, lower, upper)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                lower_limit, upper_limit = float(np.nanmean(lower)), float(np.nanmean(upper))
        else:
            middle = ((params.ystart + params.ystop) if horizontal
                      else (params.xstart + params.xstop)) / 2.0
            lower_limit = middle - (width - 1.0) / 2.0
            upper_limit = lower_limit + width - 1
            set_weights(profile, across, lower_limit, upper_limit)
    else:
        lower_limit, upper_limit = ((params.ystart, params.ystop) if horizontal
                                    else (params.xstart, params.xstop))
        set_weights(profile, across, lower_limit, upper_limit)
    _zero_outside_dispersion_limits(profile, params)
    return profile, lower_limit, upper_limit


def _zero_outside_dispersion_limits(profile: np.ndarray, params: ExtractParams) -> None:
    # Python slice semantics on purpose: jwst slices with these bounds, so a negative start
    # counts from the end exactly as it does there.
    if params.dispaxis == HORIZONTAL:
        profile[:, : int(np.ceil(params.xstart))] = 0
        profile[:, int(np.floor(params.xstop)) + 1:] = 0
    else:
        profile[: int(np.ceil(params.ystart)), :] = 0
        profile[int(np.floor(params.ystop)) + 1:, :] = 0


def aperture_centre(profile: np.ndarray, dispaxis: int, middle: int | None = None
                    ) -> tuple[float, float]:
    """Profile-weighted mean position (cross-dispersion, dispersion).

    With `middle`, the cross-dispersion centre is that of the `middle` dispersion pixel
    only (uniform weights when the profile is empty there) and the dispersion centre is
    `middle`; for ``dispaxis`` 1 the pair is (y, x), for 2 it is (x, y).
    """
    weights = np.where(profile > 0, profile, 0.0)
    rows, cols = np.mgrid[: profile.shape[0], : profile.shape[1]]
    across, along = (rows, cols) if dispaxis == HORIZONTAL else (cols, rows)
    if middle is not None:
        if dispaxis == HORIZONTAL:
            across, weights = across[:, middle], weights[:, middle]
        else:
            across, weights = across[middle, :], weights[middle, :]
    if np.sum(weights) == 0:
        weights = np.ones_like(weights)
    centre = float(np.average(across, weights=weights))
    return centre, float(middle if middle is not None else np.average(along, weights=weights))


# ----------------------------------------------------------------------------- extraction


@dataclasses.dataclass(frozen=True)
class Variances:
    """The three variance components of an image or a spectrum."""

    rnoise: np.ndarray
    poisson: np.ndarray
    flat: np.ndarray

    def map(self, func) -> Variances:
        """Apply `func` to each component."""
        return Variances(func(self.rnoise), func(self.poisson), func(self.flat))

    def __add__(self, other: Variances) -> Variances:
        return Variances(self.rnoise + other.rnoise, self.poisson + other.poisson,
                         self.flat + other.flat)


@dataclasses.dataclass(frozen=True)
class BoxResult:
    """What a box extraction gives per column: sums, variances, background and weights."""

    flux: np.ndarray
    var: Variances
    background: np.ndarray
    var_background: Variances
    npixels: np.ndarray


def smooth_along_dispersion(image: np.ndarray, length: int) -> np.ndarray:
    """Boxcar-smooth each row over `length` columns (edges extended, NaNs interpolated)."""
    from astropy.convolution import convolve

    kernel = np.ones((1, length)) / length
    return convolve(image, kernel, boundary="extend")


def median_background(image, smoothed, profile, bkg_profile, var: Variances
                      ) -> tuple[np.ndarray, Variances]:
    """Per-column median of the background pixels, and its variance summed over `profile`.

    The variance of the summed background is ``(1.2 n)^2 sum(var) / N^2`` for ``n`` source
    pixels and ``N`` valid background pixels (a median is ~1.2 times noisier than a mean).
    """
    masked = np.where(bkg_profile == 0, np.nan, smoothed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        level = np.nanmedian(masked, axis=0)
        total = var.rnoise + var.poisson + var.flat
        used = np.isfinite(image) & np.isfinite(total) & (bkg_profile != 0)
        share = used / np.sum(used, axis=0)[None, :]
    scale = (MEDIAN_ERROR_FACTOR * np.sum(profile, axis=0)) ** 2
    return level[None, :], var.map(lambda v: scale * np.nansum(v * share**2, axis=0))


def polynomial_background(smoothed, weights, profile, bkg_profile, order: int, var: Variances
                          ) -> tuple[np.ndarray, Variances]:
    """Per-column least-squares polynomial through the background pixels.

    The polynomial is in ``t = linspace(-1, 1, rows)``; pixels count when they are in a
    background region, finite in `smoothed` and have a nonzero `weights`. Its variance,
    summed over `profile`, is propagated exactly through the fit's linear weights.
    """
    nrows = smoothed.shape[0]
    t = np.linspace(-1, 1, nrows)
    design = t[:, None] ** np.arange(order + 1)[None, :]  # (rows, terms)
    used = (bkg_profile != 0) & np.isfinite(smoothed)
    a = design[None, :, :] * (used * weights).T[:, :, None]  # (cols, rows, terms)
    target = np.where(used, smoothed, 0.0) * weights
    normal = np.einsum("crk,crl->ckl", a, a)
    rhs = np.einsum("crk,rc->ck", a, target)
    good = np.linalg.cond(normal) < MAX_CONDITION
    cov = np.zeros_like(normal)
    cov[good] = np.linalg.inv(normal[good])
    # Linear weight of each pixel in each coefficient, then in the background summed over
    # the source profile.
    pixel_weights = weights.T[:, :, None] * np.einsum("clk,crl->crk", cov, a)
    profile_moments = profile.T @ design  # (cols, terms)
    total_weight = np.einsum("ck,crk->cr", profile_moments, pixel_weights)
    coefs = np.einsum("ckl,ck->cl", cov, rhs)
    level = (coefs @ design.T).T  # (rows, cols)
    return level, var.map(lambda v: np.nansum(v.T * total_weight**2, axis=1))


def box_extract(image: np.ndarray, profile: np.ndarray, var: Variances,
                bkg_profile: np.ndarray | None, params: ExtractParams) -> BoxResult:
    """Box-extract one spectrum (dispersion along columns), with optional background.

    Parameters
    ----------
    image : numpy.ndarray
        The image (NaN where invalid).
    profile : numpy.ndarray
        The aperture weights.
    var : Variances
        Variance images.
    bkg_profile : numpy.ndarray or None
        Background regions (nonzero) when the background is subtracted.
    params : ExtractParams
        ``bkg_fit``, ``bkg_order`` and ``smoothing_length`` are used.

    Returns
    -------
    BoxResult
        Per column: flux sum, its variances (background included), the background summed
        over the aperture, the background's variances, and the summed weights.
    """
    ncols = image.shape[1]
    total = var.rnoise + var.poisson + var.flat
    weights = (np.isfinite(total) & np.isfinite(image)).astype(np.float64)
    zeros = Variances(*(np.zeros(ncols) for _ in range(3)))
    level, var_bkg = None, zeros
    if bkg_profile is not None and params.subtract_background:
        smoothed = image
        if params.smoothing_length > 1:
            smoothed = smooth_along_dispersion(image, params.smoothing_length)
        if params.bkg_fit == "median":
            level, var_bkg = median_background(image, smoothed, profile, bkg_profile, var)
        elif params.bkg_fit == "poly" and params.bkg_order >= 0:
            level, var_bkg = polynomial_background(smoothed, weights, profile, bkg_profile,
                                                   int(params.bkg_order), var)
        else:
            raise ValueError(f"bkg_fit must be 'poly', 'mean' or 'median', not "
                             f"{params.bkg_fit!r}")
    subtracted = image - level if level is not None else image
    weight = np.where(np.isfinite(subtracted), profile, 0.0)
    flux = np.sum(np.where(weight == 0, 0.0, subtracted) * weight, axis=0)
    npixels = np.sum(weight, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        var_sum = var.map(lambda v: np.nansum(v * weight**2, axis=0))
        if level is None:
            background = np.zeros(ncols)
        else:
            background = np.sum(level * weight, axis=0)
            background[~np.isfinite(background)] = 0.0
    flux[np.isclose(npixels, 0)] = np.nan
    return BoxResult(flux, var_sum + var_bkg, background, var_bkg, npixels)


# ----------------------------------------------------------------------------- columns


@dataclasses.dataclass(frozen=True)
class Calibration:
    """How sums become calibrated columns: photom status, units, pixel area, point source
    in MJy (NIRSpec point sources after photom)."""

    photom: bool
    solid_angle: float
    megajansky: bool


def spectrum_columns(result: BoxResult, cal: Calibration) -> dict[str, np.ndarray]:
    """The EXTRACT1D columns (all rows) from a box extraction and the calibration."""
    npix = np.where(result.npixels > 0.0, result.npixels, 1.0)
    flux, var = result.flux, result.var
    sb, sb_var = flux / npix, var.map(lambda v: v / npix**2)
    background = result.background / npix
    bkg_var = result.var_background.map(lambda v: v / npix**2)
    if cal.megajansky:
        flux, var = flux * 1.0e6, var.map(lambda v: v * 1.0e12)
        sb, sb_var = np.zeros_like(sb), sb_var.map(np.zeros_like)
        background = background / cal.solid_angle
        bkg_var = bkg_var.map(lambda v: v / cal.solid_angle**2)
    elif cal.photom:
        flux = flux * cal.solid_angle * 1.0e6
        var = var.map(lambda v: v * (cal.solid_angle**2 * 1.0e12))
    columns = {"FLUX": flux, "SURF_BRIGHT": sb, "BACKGROUND": background,
               "NPIXELS": result.npixels}
    for prefix, (error, variances) in {"FLUX": ("FLUX_ERROR", var),
                                       "SB": ("SB_ERROR", sb_var),
                                       "BKGD": ("BKGD_ERROR", bkg_var)}.items():
        columns[error] = np.sqrt(variances.poisson + variances.rnoise + variances.flat)
        columns[f"{prefix}_VAR_POISSON"] = variances.poisson
        columns[f"{prefix}_VAR_RNOISE"] = variances.rnoise
        columns[f"{prefix}_VAR_FLAT"] = variances.flat
    columns["DQ"] = np.where(np.isnan(flux), DO_NOT_USE, 0).astype(np.uint32)
    return columns
