"""cube_build mapping: the good detector pixels of an exposure, on the cube's tangent plane.

As jwst 3.0.0's ``map_detector_to_outputframe`` (reference 3.9.6): the pixels of a MIRI
channel's detector half (or of the NIRSpec slices) that are finite and neither DO_NOT_USE
nor NON_SCIENCE are mapped to (RA, Dec, wavelength), with their footprint corners and
wavelength extent for drizzle, projected onto the cube's tangent plane and kept when their
wavelength can reach a plane of the cube. Backgrounds fitted by mrs_imatch and left in the
metadata are removed on the way, as jwst's cube_build did up to 1.19.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spec3nb.datamodels.dq import DO_NOT_USE, NON_SCIENCE
from spec3nb.errors import ParameterError
from spec3nb.steps.cube_geometry import (
    STEP,
    WCS_CHUNK,
    channel_pixels,
    evaluate,
    ifu_pixels,
    offset_radec,
    radec2std,
)
from spec3nb.steps.cube_weights import Samples


def _good_pixels(product: Any, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Mask of the pixels with finite values, neither DO_NOT_USE nor NON_SCIENCE (jwst's
    selection; pixels outside the image, as a binned image's column -1, are left out)."""
    part = product.part
    ny, nx = part.data.shape
    keep = (x >= 0) & (x < nx) & (y >= 0) & (y < ny)
    yi, xi = np.where(keep, y, 0), np.where(keep, x, 0)
    keep &= (part.dq[yi, xi] & (DO_NOT_USE | NON_SCIENCE)) == 0
    # jwst first NaNs every pixel that is NaN in any of these (match_nans_and_flags)
    for name in ("data", "err", "var_poisson", "var_rnoise", "var_flat"):
        values = part.arrays.get(name)
        if values is not None and values.shape == (ny, nx):
            keep &= np.isfinite(values[yi, xi]) if name == "data" else ~np.isnan(values[yi, xi])
    return keep


def _slice_map(product: Any) -> np.ndarray:
    regions = product.part.arrays.get("regions")
    if regions is not None:
        return np.asarray(regions)
    try:
        first = product.part.wcs.available_frames[0]
        return np.asarray(product.part.wcs.get_transform(first, "alpha_beta")
                          .label_mapper.mapper)
    except (AttributeError, ValueError, TypeError):
        raise ParameterError(STEP, "inputs", f"{product.filename}: no slice map (REGIONS "
                             "array or WCS label mapper); cube_build cannot tell the "
                             "slices apart") from None


def slice_width(wcs: Any, x: np.ndarray, y: np.ndarray) -> float:
    """MRS slice width: spacing of the two smallest beta values of the pixels (as jwst)."""
    beta = evaluate(wcs.get_transform(wcs.available_frames[0], "alpha_beta"),
                    x - 0.4999, y)[1]
    betas = np.unique(beta)
    return float(np.abs(betas[1] - betas[0])) if betas.size > 1 else np.nan


def _miri_corners(wcs: Any, x: np.ndarray, y: np.ndarray, wave: np.ndarray, dbeta: float
                  ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """dwave and the four sky corners of each pixel (jwst ``map_miri_pixel_to_sky``)."""
    first = wcs.available_frames[0]
    # jwst calls wcs.transform; the bare transforms give the same numbers for pixels inside
    # the image (and work whatever units the frames carry)
    to_ab = wcs.get_transform(first, "alpha_beta")
    to_sky = wcs.get_transform("alpha_beta", wcs.output_frame.name)
    # the wavelength normally passes unchanged from alpha_beta to the sky: then the
    # shorter transform gives jwst's dwave (checked on a few pixels, else the full WCS)
    probe = slice(0, 64)
    lam_of = to_ab if np.array_equal(evaluate(to_ab, x[probe], y[probe])[2], wave[probe],
                                     equal_nan=True) and x.size else wcs
    wave1 = evaluate(lam_of, x, y - 0.4999)[2]
    wave2 = evaluate(lam_of, x, y + 0.4999)[2]
    alpha1, beta, _ = evaluate(to_ab, x - 0.4999, y)
    alpha2 = evaluate(to_ab, x + 0.4999, y)[0]
    corners = []
    for alpha, sign in ((alpha1, -1), (alpha1, 1), (alpha2, 1), (alpha2, -1)):
        ra, dec, _ = evaluate(to_sky, alpha, beta + sign * dbeta / 2.0, wave)
        corners += [ra, dec]
    return np.abs(wave1 - wave2), tuple(corners)


def _slice_box_centre(product: Any, label: int) -> tuple[float, float] | None:
    """Centre of slice `label`'s bounding box: the selector's (archive WCS), else REGIONS'."""
    wcs = product.part.wcs
    try:
        box = wcs.pipeline[1].transform.selector[label].bounding_box
        return float(np.mean(tuple(box[0]))), float(np.mean(tuple(box[1])))
    except (AttributeError, IndexError, KeyError, NotImplementedError, TypeError):
        pass
    y, x = np.nonzero(_slice_map(product) == label)
    if not y.size:
        return None
    return 0.5 * float(x.min() + x.max()), 0.5 * float(y.min() + y.max())


def nirspec_slice_width(product: Any, to_slicer: Any, across: np.ndarray,
                        slice_no: np.ndarray) -> float:
    """Across-slice width of a NIRSpec slice, as jwst measures it.

    jwst takes the across-slice distance between slices 1 and 3 (which are neighbours on
    the sky), each evaluated at the centre of its bounding box. Where that gives nothing
    usable, the smallest spacing of the slices' median across-slice positions is used.
    """
    centres = [_slice_box_centre(product, label) for label in (1, 3)]
    if all(c is not None for c in centres):
        values = [evaluate(to_slicer, *c)[0] for c in centres]
        width = float(np.abs(values[0] - values[1]))
        if np.isfinite(width) and width > 0:
            return width
    medians = np.array([np.nanmedian(across[slice_no == s]) for s in np.unique(slice_no)])
    steps = np.diff(np.sort(medians[np.isfinite(medians)]))
    return float(np.min(steps[steps > 0])) if np.any(steps > 0) else 0.0


def _nirspec_corners(product: Any, x: np.ndarray, y: np.ndarray, slice_no: np.ndarray
                     ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """dwave and sky corners of NIRSpec pixels: dispersion along x, slices along y
    (jwst ``map_detector_to_outputframe``: the slicer coordinates 0.49 pixel above and
    below the centre, widened by one slice width across)."""
    wcs = product.part.wcs
    first, out = wcs.available_frames[0], wcs.output_frame.name
    dwave = np.abs(evaluate(wcs, x - 0.4999, y)[2] - evaluate(wcs, x + 0.4999, y)[2])
    to_slicer = wcs.get_transform(first, "slicer")
    to_sky = wcs.get_transform("slicer", out)
    across1, along1, lam1 = evaluate(to_slicer, x, y - 0.49)
    across2, along2, lam2 = evaluate(to_slicer, x, y + 0.49)
    width = nirspec_slice_width(product, to_slicer, across1, slice_no)
    corners = []
    for across, along, lam, sign in ((across1, along1, lam1, -1), (across1, along1, lam1, 1),
                                     (across2, along2, lam2, 1), (across2, along2, lam2, -1)):
        ra, dec, _ = evaluate(to_sky, across + sign * width / 2, along, lam)
        corners += [ra, dec]
    return dwave, tuple(corners)


def _roi_arrays(setup: Any, wave: np.ndarray) -> dict[str, np.ndarray]:
    """Per-sample ROI and weighting values (nearest table row for non-linear cubes)."""
    names = ("rois", "roiw", "power", "softrad", "scalerad")
    if setup.linear:  # constants: broadcast views cost no memory
        values = (setup.rois, setup.roiw, setup.weight_power, setup.softrad, setup.scalerad)
        return {n: np.broadcast_to(np.float64(np.nan if v is None else v), wave.shape)
                for n, v in zip(names, values, strict=True)}
    table = setup.tables
    tw = table["wavelength"]
    hi = np.clip(np.searchsorted(tw, wave), 1, tw.size - 1)
    lo = hi - 1
    nearest = np.where(np.abs(tw[lo] - wave) <= np.abs(tw[hi] - wave), lo, hi)
    return {n: table[n][nearest] for n in names}


def stored_background(product: Any, channel: str, ra: np.ndarray, dec: np.ndarray,
                      wave: np.ndarray) -> np.ndarray | None:
    """Background that mrs_imatch fitted for `channel` and left in the metadata, or None.

    Polynomials are recorded in ``meta.background.polynomial_info`` (one per channel) with
    ``subtracted`` False; as jwst's cube_build did up to 1.19, they are evaluated at the
    pixels' (RA, Dec, wavelength) relative to the reference point and removed.
    """
    if product.get("background.subtracted") is not False:
        return None
    for info in product.get("background.polynomial_info") or ():
        if str(info.get("channel")) == str(channel):
            degree = [int(d) + 1 for d in info["degree"]]
            coeffs = np.reshape(np.asarray(info["coefficients"], dtype=np.float64), degree)
            ref = [float(v) for v in info["refpoint"]]
            return np.polynomial.polynomial.polyval3d(ra - ref[0], dec - ref[1],
                                                      wave - ref[2], coeffs)
    return None


def map_samples(product: Any, band: tuple[str, str], setup: Any, grid: Any,
                offset: tuple[float, float] | None,
                pixels: tuple[np.ndarray, ...] | None = None) -> Samples | None:
    """Map the good pixels of one exposure in one band to the cube's tangent plane.

    Parameters
    ----------
    product : Product
        An ``IFUImageModel`` exposure.
    band : tuple[str, str]
        The band (MIRI: its channel digit picks the detector half).
    setup : CubeSetup
        The cube parameters.
    grid : CubeGrid
        The cube grid.
    offset : tuple[float, float] or None
        RA/Dec offset (arcsec) to apply to this exposure.
    pixels : tuple of numpy.ndarray, optional
        (y, x, RA, Dec, λ) of the band's pixels when already computed
        (:func:`~spec3nb.steps.cube_geometry.sky_pixels`).

    Returns
    -------
    Samples or None
        The samples in wavelength order; None when no pixel is usable.
    """
    wcs = product.part.wcs
    miri = setup.instrument == "MIRI"
    if pixels is None:
        y, x = channel_pixels(product, band[0]) if miri else ifu_pixels(product)
        keep = _good_pixels(product, y, x)
        y, x = y[keep], x[keep]
        ra, dec, wave = evaluate(wcs, x.astype(np.float64), y.astype(np.float64))
    else:  # already mapped for the footprint: the same WCS values, pointwise
        keep = _good_pixels(product, pixels[0], pixels[1])
        y, x, ra, dec, wave = (a[keep] for a in pixels)
    xf, yf = x.astype(np.float64), y.astype(np.float64)
    valid = ~np.isnan(wave if not miri else ra)
    xf, yf, x, y, ra, dec, wave = (a[valid] for a in (xf, yf, x, y, ra, dec, wave))
    background = stored_background(product, band[0], ra, dec, wave) if miri else None
    ra, dec = offset_radec(ra, dec, offset)
    slice_no = _slice_map(product)[y, x].astype(np.float64)
    dwave = corners = None
    zc = grid.zcoord
    if setup.interpolation == "drizzle":
        if miri:
            dbeta = slice_width(wcs, xf, yf)
            # in pieces: the transforms' temporaries stay small (results are pointwise)
            pieces = [_miri_corners(wcs, xf[i:i + WCS_CHUNK], yf[i:i + WCS_CHUNK],
                                    wave[i:i + WCS_CHUNK], dbeta)
                      for i in range(0, max(wave.size, 1), WCS_CHUNK)]
            dwave = np.concatenate([p[0] for p in pieces])
            corners = tuple(np.concatenate([p[1][k] for p in pieces]) for k in range(8))
            del pieces
        else:
            dwave, corners = _nirspec_corners(product, xf, yf, slice_no)
        corners = tuple(c for pair in (offset_radec(corners[i], corners[i + 1], offset)
                                       for i in range(0, 8, 2)) for c in pair)
        finite = np.all(np.isfinite(np.stack(corners)), axis=0) | miri
        dmax = float(np.nanmax(dwave)) if dwave.size else 0.0
        tol = (grid.cdelt3 + dmax, grid.cdelt3 + dmax) if setup.linear else \
            (grid.cdelt3_normal[0], grid.cdelt3_normal[-1])
    else:
        finite = np.ones(wave.size, dtype=bool)
        roiw = setup.roiw if setup.linear else float(np.max(setup.tables["roiw"]))
        tol = (roiw, roiw)
    keep = finite & (wave >= zc[0] - tol[0]) & (wave <= zc[-1] + tol[1])
    if not keep.any():
        return None
    order = np.nonzero(keep)[0][np.argsort(wave[keep], kind="stable")]
    part = product.part
    c1, c2 = radec2std(grid.crval1, grid.crval2, ra[order], dec[order], grid.rot_angle)
    if corners is not None:
        corners = tuple(v for i in range(0, 8, 2) for v in radec2std(
            grid.crval1, grid.crval2, corners[i][order], corners[i + 1][order],
            grid.rot_angle))
    w = wave[order]
    flux = part.data[y[order], x[order]].astype(np.float64)
    if background is not None:
        flux = flux - background[order]
    return Samples(
        coord1=c1, coord2=c2, wave=w, flux=flux,
        err=part.err[y[order], x[order]].astype(np.float64),
        slice_no=slice_no[order], dwave=None if dwave is None else dwave[order],
        corners=corners, **_roi_arrays(setup, w))
