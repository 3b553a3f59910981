"""The rectified output grid of resample_spec, built as jwst 3.0.0 builds it.

Two constructions (reference section 3.8.1):

* NIRSpec slits (:func:`nirspec_output_wcs`): the spatial axis follows a straight line in
  the tangent plane centred on the (flux-weighted) source position, the wavelengths are the
  merged median wavelengths of every input column; frames ``detector -> slit_frame ->
  world`` (the slit frame lets extract_1d locate the planned source); dispersion along x.
* Other slits, i.e. MIRI LRS (:func:`interpolated_output_wcs`): the same straight spatial
  line, wavelengths from the first input extended by the others, tangent point at the
  centre of all inputs; frames ``detector -> world``; the dispersion axis of the inputs
  is kept (y for MIRI).

The wavelength of an output pixel depends only on its dispersion coordinate, so every row
(or column) has identical wavelengths, which is what specutils' "JWST s2d" reader needs.
"""

from __future__ import annotations

import functools
import math
import threading
import warnings
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import astropy.units as u
import numpy as np
from astropy import coordinates as coord
from astropy.modeling.fitting import LinearLSQFitter
from astropy.modeling.models import (
    Const1D,
    Linear1D,
    Mapping,
    Pix2Sky_TAN,
    RotateNative2Celestial,
    Tabular1D,
)
from astropy.stats import sigma_clip
from gwcs import WCS, wcstools
from gwcs import coordinate_frames as cf

from spec3nb.steps.drizzle_utils import SlitExposure, good_mask

# Results that depend on an input WCS alone, kept while that WCS lives: outlier_detection
# and resample_spec build their grids from the same exposures (each evaluating the WCS
# over the whole slit), and the WCS objects pass unchanged from one step to the next.
_WCS_MEMO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_WCS_MEMO_LOCK = threading.Lock()


def _per_wcs(function: Callable[..., Any]) -> Callable[..., Any]:
    """Memoise ``function(wcs, *args)`` on the WCS object (immutable results only)."""
    @functools.wraps(function)
    def memoised(wcs: Any, *args: Any) -> Any:
        key = (function.__name__, args)
        with _WCS_MEMO_LOCK:
            found = _WCS_MEMO.get(wcs, {}).get(key)
        if found is None:
            found = function(wcs, *args)
            with _WCS_MEMO_LOCK:
                _WCS_MEMO.setdefault(wcs, {})[key] = found
        return found
    return memoised


def _bbox(shape: Sequence[int]) -> tuple[tuple[float, float], tuple[float, float]]:
    """Bounding box ``((x), (y))`` covering an array of numpy `shape`."""
    return (-0.5, shape[-1] - 0.5), (-0.5, shape[-2] - 0.5)


def is_sky_like(frame: Any) -> bool:
    """Whether a frame's units include degrees or arcseconds (a celestial output)."""
    if not isinstance(frame, cf.CoordinateFrame):
        return False
    return u.Unit("deg") in frame.unit or u.Unit("arcsec") in frame.unit


def wrap_ra(ra: np.ndarray) -> np.ndarray:
    """Finite RA values all on one side of 0/360 (jwst's ``wrap_ra``; NaNs dropped)."""
    values = np.array(ra)
    values = values[np.isfinite(values)].copy()
    median = np.nanmedian(values)
    far = np.fabs(values - median) > 180.0
    if far.any():
        values[far] += -360.0 if median < 180 else 360.0
    return values


@_per_wcs
def spatial_pixel_scale(wcs: Any, disp_axis: int) -> float:
    """Angular size (deg) of one pixel along the slit at the bounding-box centre.

    The separation on the sky between the centre pixel (found by inverting the world
    coordinates of the box centre) and its neighbour across the dispersion (+1 in y when
    ``disp_axis`` is 1, +1 in x when it is 2); NaN when it cannot be computed.
    """
    cx, cy = np.mean(wcs.bounding_box.bounding_box(order="F"), axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fiducial = wcs(cx, cy)
        crpix = np.array(wcs.invert(*fiducial, with_bounding_box=False))
        axes = np.array(wcs.output_frame.axes_type)
        spatial = np.where(axes == "SPATIAL")[0]
        delta = np.zeros_like(crpix)
        delta[spatial[0]] = 1
        pixels = np.vstack((crpix, crpix + delta, crpix + np.roll(delta, 1))).T
        world = wcs(*pixels, with_bounding_box=False)
    sky = coord.SkyCoord(ra=world[spatial[0]], dec=world[spatial[1]], unit="deg")
    xscale = abs(sky[0].separation(sky[1]).value)
    yscale = abs(sky[0].separation(sky[2]).value)
    return float(yscale if disp_axis == 1 else xscale)


def _tangent_line(x_tan: np.ndarray, y_tan: np.ndarray, ratio: float
                  ) -> tuple[Linear1D, Linear1D]:
    """Straight-line fits of tangent x and y versus *output* pixel index along the slit."""
    fitter = LinearLSQFitter()
    x_tan = x_tan[~np.isnan(x_tan)]
    y_tan = y_tan[~np.isnan(y_tan)]
    x_idx = np.linspace(0, x_tan.shape[0] * ratio, x_tan.shape[0], endpoint=False)
    y_idx = np.linspace(0, y_tan.shape[0] * ratio, y_tan.shape[0], endpoint=False)
    return fitter(Linear1D(), x_idx, x_tan), fitter(Linear1D(), y_idx, y_tan)


def _tangent_extent(wcss: Sequence[Any], to_tan: Any) -> tuple[float, float, float, float]:
    """Minimum and maximum tangent-plane x and y of every pixel of every input."""
    lo, hi = np.array([np.inf, np.inf]), np.array([-np.inf, -np.inf])
    for wcs in wcss:
        ra, dec, _ = wcs(*wcstools.grid_from_bounding_box(wcs.bounding_box))
        good = np.isfinite(ra) & np.isfinite(dec)
        tan = np.array(to_tan(ra[good], dec[good]))
        lo = np.minimum(lo, tan.min(axis=1))
        hi = np.maximum(hi, tan.max(axis=1))
    return lo[0], hi[0], lo[1], hi[1]


def _world_frames(spectral_name: str = "spectral") -> tuple[Any, Any]:
    spec = cf.SpectralFrame(name=spectral_name, axes_order=(2,), unit=(u.micron,),
                            axes_names=("wavelength",))
    sky = cf.CelestialFrame(name="sky", axes_order=(0, 1), reference_frame=coord.ICRS())
    return spec, cf.CompositeFrame([sky, spec], name="world")


# ----------------------------------------------------------------------------- NIRSpec


def _reference_exposure(exposures: Sequence[SlitExposure], good_bits: Any) -> SlitExposure:
    """The first exposure with more than 100 usable pixels (else the first)."""
    for exposure in exposures:
        data = exposure.part.data
        good = np.isfinite(data) & (data != 0) & good_mask(exposure.part.dq, good_bits)
        if np.sum(good) > 100:
            return exposure
    return exposures[0]


def _fiducial(ref: SlitExposure) -> tuple[tuple[float, float], Any]:
    """Flux-weighted slit position -> (ra, dec) of the source, and the slit transforms."""
    wcs = ref.wcs
    frames = wcs.available_frames
    d2s = wcs.get_transform(frames[0], "slit_frame")
    world = "moving_target" if "moving_target" in frames else "world"
    s2w = wcs.get_transform("slit_frame", world)
    w2s = wcs.get_transform(world, "slit_frame")
    data = np.array(ref.part.data, dtype=ref.part.data.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        data -= np.nanmin(data)  # positive weights for the weighted mean
    _, s, lam = np.array(d2s(*wcstools.grid_from_bounding_box(wcs.bounding_box)))
    good = np.isfinite(s) & np.isfinite(lam) & np.isfinite(data)
    data[~good] = np.nan
    # NaNs masked first, so astropy has nothing to warn about: catch_warnings() is not
    # thread-safe, and sources are resampled on parallel threads.
    with np.errstate(over="ignore", invalid="ignore"):  # squares of large float32 values
        weights = np.ma.filled(sigma_clip(np.ma.masked_invalid(data), masked=True,
                                          sigma=100.0), fill_value=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if not np.all(weights == 0.0):
            s_mean = np.average(s[good], weights=weights[good])
        else:
            s_mean = np.nanmean(s)
        lam_mean = np.nanmean(lam)
    ra0, dec0, _ = s2w(0, s_mean, lam_mean)
    return (ra0, dec0), w2s


def _median_wavelengths(wcs: Any) -> list[float]:
    """Sorted median wavelength of every column that has any finite wavelength."""
    return list(_median_column_wavelengths(wcs))


@_per_wcs
def _median_column_wavelengths(wcs: Any) -> tuple[float, ...]:
    _, _, lam = wcs(*wcstools.grid_from_bounding_box(wcs.bounding_box))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return tuple(sorted(np.nanmedian(lam[:, np.any(np.isfinite(lam), axis=0)], axis=0)))


def nirspec_wavelengths(wcss: Sequence[Any]) -> list[float]:
    """Merge the column wavelengths of all inputs into one increasing list.

    Starting from the first input's list, the others are merged in the order of their
    overlap with the current range (largest first): only what extends the range is added.
    Points closer than a tenth of the first input's smallest step are then dropped (the
    minimum step is only taken from the first input, as jwst 3.0.0 does).
    """
    ref = _median_wavelengths(wcss[0])
    if not ref:
        return []
    lam1, lam2 = ref[0], ref[-1]
    min_delta = np.fabs(np.ediff1d(ref).min()) if len(ref) > 1 else np.inf
    others = []
    for wcs in wcss[1:]:
        lam = _median_wavelengths(wcs)
        if lam:
            others.append((lam, np.min(lam), np.max(lam)))
    while others:
        overlaps = [min(lam2, hi) - max(lam1, lo) for _, lo, hi in others]
        lam, lo, hi = others.pop(int(np.argmax(overlaps)))
        if hi < lam1:
            ref, lam1 = lam + ref, lo
        elif lo > lam2:
            ref, lam2 = ref + lam, hi
        else:
            arr = np.array(lam)
            if lo < lam1:
                ref = arr[arr < lam1].tolist() + ref
                lam1 = ref[0]
            if hi > lam2:
                ref = ref + arr[arr > lam2].tolist()
                lam2 = ref[-1]
    close = np.flatnonzero(np.fabs(np.ediff1d(ref)) < max(0.1 * min_delta,
                                                          1e2 * np.finfo(1.0).eps))
    for i in close[::-1]:
        del ref[i]
    return ref


def _wavelength_table(lam: list[float]) -> Tabular1D:
    """Pixel -> wavelength, extrapolated by half a pixel at both ends, NaN beyond."""
    n = len(lam)
    if n > 1:
        points = [-0.5, *range(n), n - 0.5]
        left = lam[0] - 0.5 * (lam[1] - lam[0])
        # jwst 3.0.0 extrapolates the red end from the second-to-last point with the
        # full index (n - 0.5) instead of half a pixel; reproduced so that the inverse
        # (used for pixel maps) is the same
        right = lam[-2] + (lam[-1] - lam[-2]) * (n - 0.5)
        table = [left, *lam, right]
    else:
        points, table = [-0.5, 0, 0.5], 3 * lam
    return Tabular1D(points=points, lookup_table=table, bounds_error=False,
                     fill_value=np.nan)


def nirspec_output_wcs(exposures: Sequence[SlitExposure], good_bits: Any,
                       ratio: float = 1.0) -> WCS:
    """The rectified NIRSpec slit grid covering all `exposures` (dispersion along x).

    Parameters
    ----------
    exposures : Sequence[SlitExposure]
        The slit exposures of one source.
    good_bits : int or str
        DQ bits that count as good when choosing the reference exposure.
    ratio : float
        Input over output spatial pixel scale.

    Returns
    -------
    gwcs.WCS
        With ``detector``, ``slit_frame`` and ``world`` frames, ``array_shape`` and a
        bounding box equal to the array extent.
    """
    ref = _reference_exposure(exposures, good_bits)
    wcss = [ref.wcs] + [e.wcs for e in exposures if e is not ref]
    (ra0, dec0), w2s = _fiducial(ref)
    undist2sky = Pix2Sky_TAN() | RotateNative2Celestial(ra0, dec0, 180)
    grid = wcstools.grid_from_bounding_box(ref.wcs.bounding_box)
    centre = int(np.mean(ref.wcs.bounding_box.bounding_box(order="F"), axis=1)[0])
    ra, dec, _ = np.array(ref.wcs(grid[0][:, centre], grid[1][:, centre]))
    x_tan, y_tan = undist2sky.inverse(ra, dec)
    keep = ~(np.isnan(x_tan) | np.isnan(y_tan))
    to_x, to_y = _tangent_line(x_tan[keep], y_tan[keep], ratio)
    swap_xy = abs(to_x.slope) < abs(to_y.slope)
    lam = nirspec_wavelengths(wcss)
    if not lam:
        raise ValueError("no finite wavelength in the reference slit: cannot build the "
                         "output grid")
    xmin, xmax, ymin, ymax = _tangent_extent(wcss, undist2sky.inverse)
    diff_x, diff_y = abs(xmax - xmin), abs(ymax - ymin)
    slope_x, slope_y = abs(to_x.slope), abs(to_y.slope)
    ny = int(np.ceil((diff_y / slope_y) if swap_xy else (diff_x / slope_x))) + 1
    # centre the data on the integer number of rows
    for line, lo, hi, slope, diff in ((to_y, ymin, ymax, slope_y, diff_y),
                                      (to_x, xmin, xmax, slope_x, diff_x)):
        sign = np.sign(line.slope)
        line.intercept = (lo if sign > 0 else hi) - sign * (ny / 2 * slope - diff / 2)
    wave = _wavelength_table(lam)
    n_lam = len(lam)
    mapping = Mapping((1, 1, 0))
    mapping.inverse = Mapping((2, 1)) if swap_xy else Mapping((2, 0))
    pix2world = mapping | (to_x & to_y | undist2sky) & wave
    # slit y of every output row (at the middle wavelength), for extract_1d
    slit_y = w2s(*pix2world(np.full(ny, n_lam // 2), np.arange(ny)))[1]
    slit_model = Tabular1D(points=np.arange(ny), lookup_table=slit_y, bounds_error=False,
                           fill_value=None)
    to_slit, from_slit = Mapping((0, 1, 0)), Mapping((2, 1), n_inputs=3)
    from_slit.inverse = to_slit
    to_slit.inverse = from_slit
    zero = Const1D(0)
    zero.inverse = zero
    det2slit = to_slit | zero & slit_model & wave
    slit2world = det2slit.inverse | pix2world
    spec, world = _world_frames()
    slit_frame = cf.CompositeFrame(
        [cf.Frame2D(name="slit_spatial", axes_order=(0, 1), unit=("", ""),
                    axes_names=("x_slit", "y_slit")), spec], name="slit_frame")
    det = cf.Frame2D(name="detector", axes_order=(0, 1))
    out = WCS([(det, det2slit), (slit_frame, slit2world), (world, None)])
    out.bounding_box = _bbox((ny, n_lam))
    out.array_shape = (ny, n_lam)
    return out


# ----------------------------------------------------------------------------- MIRI LRS


def _column_wavelengths(lam: np.ndarray, spectral_axis: int) -> np.ndarray:
    """Median wavelength per dispersion pixel (NaNs removed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(lam, axis=spectral_axis)
    return med[~np.isnan(med)]


def _interpolated_wavelengths(parts: list[np.ndarray], exp_type: str | None) -> Tabular1D:
    """The first input's wavelengths extended by the others; pixel -> wavelength table."""
    waves = np.asarray(parts[0], dtype=float)
    for lam in parts[1:]:
        if lam.size and lam.min() < waves.min():
            waves = np.append(waves, lam[lam < waves.min()])
        if lam.size and lam.max() > waves.max():
            waves = np.append(waves, lam[lam > waves.max()])
    waves = np.unique(np.sort(waves[~np.isnan(waves)]))
    if exp_type == "MIR_LRS-FIXEDSLIT":
        waves = waves[::-1]  # keep the detector's orientation (wavelength decreasing)
    index = np.arange(0, waves.shape[0], 1)
    table = Tabular1D(points=index, lookup_table=waves, bounds_error=False,
                      fill_value=None, name="pix2wavelength")
    points, lookup = waves, index
    if not np.all(np.diff(waves) > 0):
        points, lookup = points[::-1], lookup[::-1]
    table.inverse = Tabular1D(points=points, lookup_table=lookup, bounds_error=False,
                              fill_value=None, name="wavelength2pix")
    return table


def interpolated_output_wcs(exposures: Sequence[SlitExposure], ratio: float = 1.0) -> WCS:
    """The rectified grid of non-NIRSpec slits (MIRI LRS) covering all `exposures`.

    Parameters
    ----------
    exposures : Sequence[SlitExposure]
        The exposures; the first sets the spatial sampling, all set the extent.
    ratio : float
        Input over output spatial pixel scale.

    Returns
    -------
    gwcs.WCS
        ``detector -> world``, with ``array_shape`` and a bounding box.
    """
    spectral_axis = int(exposures[0].get("wcsinfo.dispersion_direction")) - 1
    spatial_axis = spectral_axis ^ 1
    waves, all_ra, all_dec = [], [], []
    for i, exposure in enumerate(exposures):
        wcs = exposure.wcs
        bbox = wcs.bounding_box.bounding_box(order="F")
        ra, dec, lam = np.array(wcs(*wcstools.grid_from_bounding_box(wcs.bounding_box)))
        waves.append(_column_wavelengths(lam, spectral_axis))
        if i == 0:
            centre = int((bbox[spectral_axis][1] - bbox[spectral_axis][0]) / 2)
            line = (slice(None), centre) if spatial_axis == 1 else (centre, slice(None))
            ra_c, dec_c = np.nanmean(wrap_ra(ra[line])), np.nanmean(dec[line])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                x_tan, y_tan = (Pix2Sky_TAN() | RotateNative2Celestial(ra_c, dec_c, 180)
                                ).inverse(ra, dec)
            to_x, to_y = _tangent_line(x_tan[line], y_tan[line], ratio)
        all_ra.append(ra[~np.isnan(ra)].ravel())
        all_dec.append(dec[~np.isnan(dec)].ravel())
    pix2wave = _interpolated_wavelengths(waves, exposures[0].get("exposure.type"))
    mapping = Mapping((spatial_axis, spatial_axis, spectral_axis))
    swap_xy = abs(to_x.slope) < abs(to_y.slope)
    if swap_xy:
        mapping.inverse = Mapping((2, 1) if spatial_axis else (1, 2))
    if len(exposures) > 1:
        ras, decs = wrap_ra(np.hstack(all_ra)), np.hstack(all_dec)
        ra_c = (np.amax(ras) + np.amin(ras)) / 2.0
        dec_c = (np.amax(decs) + np.amin(decs)) / 2.0
    undist2sky = Pix2Sky_TAN() | RotateNative2Celestial(ra_c, dec_c, 180)
    xmin, xmax, ymin, ymax = _tangent_extent([e.wcs for e in exposures], undist2sky.inverse)
    slope_x, slope_y = abs(to_x.slope), abs(to_y.slope)
    ny = int(np.ceil(abs(ymax - ymin) / slope_y if swap_xy else abs(xmax - xmin) / slope_x))
    to_y.intercept = -np.sign(to_y.slope) * 0.5 * (ny - 1) * slope_y
    to_x.intercept = -np.sign(to_x.slope) * 0.5 * (ny - 1) * slope_x
    transform = mapping | (to_x & to_y | undist2sky) & pix2wave
    _, world = _world_frames()
    out = WCS([(cf.Frame2D(name="detector", axes_order=(0, 1)), transform), (world, None)])
    size = [0, 0]
    size[spectral_axis] = int(np.ceil(len(pix2wave.lookup_table)))
    size[spatial_axis] = ny
    out.array_shape = size[::-1]
    out.pixel_shape = size
    out.bounding_box = _bbox(size[::-1])
    return out


def output_pixel_ratio(wcs: Any, pixel_area: float | None, nominal_area: float | None,
                       input_scale: float, disp_axis: int) -> tuple[float, float | None]:
    """Pixel scale ratio and output pixel area for a user-supplied output WCS.

    Returns ``(ratio, area)``: the area given with the WCS, or the input area scaled by the
    spatial scales; the ratio is ``nominal_area / area`` (1 when unknown).
    """
    if pixel_area is not None:
        area = pixel_area
    elif nominal_area is None:
        area = None
    else:
        out_scale = 3600.0 * spatial_pixel_scale(wcs, disp_axis)
        if math.isnan(out_scale) or math.isnan(input_scale):
            area = None
        else:
            area = out_scale * nominal_area / input_scale
    return (1.0 if area is None else nominal_area / area), area
