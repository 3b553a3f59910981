"""Drizzling and blotting of slit exposures with the ``drizzle`` package.

Shared by resample_spec and outlier_detection (spec mode): how one input slit exposure is
described (:class:`SlitExposure`), its good-pixel mask and drizzle weight, the pixel map
from its detector grid onto an output grid, and the accumulation of many exposures onto
one output grid (science, weights, context, the drizzled error and the three variance
arrays), following jwst 3.0.0 / stcal 1.20 (reference section 3.8.2).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from typing import Any

import astropy.units as u
import numpy as np
from astropy.nddata.bitmask import bitfield_to_boolean_mask
from drizzle.resample import Drizzle, blot_image

from spec3nb.datamodels import meta as metatools
from spec3nb.datamodels.dq import DO_NOT_USE, FLAGS
from spec3nb.datamodels.products import Part

#: The arrays holding invalid pixels that jwst keeps consistent (match_nans_and_flags).
NAN_ARRAYS = ("data", "err", "var_rnoise", "var_poisson", "var_flat")
#: Variance arrays drizzled into the final s2d, in the order stcal handles them.
VARIANCES = ("var_rnoise", "var_flat", "var_poisson")
_GROUP_KEYS = ("program_number", "observation_number", "visit_number", "visit_group",
               "sequence_id", "activity_id", "exposure_number")


@dataclasses.dataclass(frozen=True)
class SlitExposure:
    """One 2-D slit image to drizzle, with the whole metadata of its exposure.

    Parameters
    ----------
    part : Part
        The arrays, slit attributes and WCS.
    meta : Mapping
        The exposure's metadata merged with the part's own (``wcsinfo``, ``bunit_data``).
    label : str
        How to name it in messages (file name, or input/exposure index).
    """

    part: Part
    meta: Mapping[str, Any]
    label: str

    def get(self, path: str, default: Any = None) -> Any:
        """Look up a dotted metadata path."""
        return metatools.get(self.meta, path, default)

    @property
    def wcs(self) -> Any:
        """The exposure's gwcs."""
        return self.part.wcs

    @property
    def group_id(self) -> str:
        """``meta.group_id``, or the one jwst builds from the observation identifiers.

        Exposures of one group (e.g. the NRS1 and NRS2 cut-outs of an exposure) are
        drizzled together by outlier detection and counted once in exposure times.
        """
        explicit = self.get("group_id")
        if explicit:
            return str(explicit)
        obs = self.get("observation") or {}
        missing = [k for k in _GROUP_KEYS if obs.get(k) is None]
        if missing:
            raise ValueError(f"{self.label}: cannot build a group id, meta.observation lacks "
                             f"{', '.join(missing)}")
        return "jw{}{}{}_{}{}{}_{}".format(*(obs[k] for k in _GROUP_KEYS))


def good_mask(dq: np.ndarray, good_bits: Any) -> np.ndarray:
    """Return the good-pixel mask (1 good, 0 bad, uint8) of `dq` for `good_bits`.

    Parameters
    ----------
    dq : numpy.ndarray
        DQ array.
    good_bits : int, str or None
        As jwst takes it: an integer, ``"4,8"``, ``"~DO_NOT_USE+NON_SCIENCE"``, None (all
        pixels good).

    Returns
    -------
    numpy.ndarray
        uint8 mask of `dq`'s shape.
    """
    try:
        return bitfield_to_boolean_mask(dq, good_bits, good_mask_value=1, dtype=np.uint8,
                                        flag_name_map=FLAGS)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"good_bits {good_bits!r} cannot be interpreted: {exc}") from None


def measurement_time(exposure: SlitExposure) -> float | None:
    """TMEASURE when set, else EFFEXPTM (jwst's exposure-time weight)."""
    tmeasure = exposure.get("exposure.measurement_time")
    return exposure.get("exposure.exposure_time") if tmeasure is None else tmeasure


def drizzle_weight(exposure: SlitExposure, weight_type: str | None, good_bits: Any
                   ) -> np.ndarray:
    """Return the per-pixel drizzle weight of `exposure` (float32).

    ``ivm``: 1/VAR_RNOISE (non-finite -> 0; ones when VAR_RNOISE is missing or of another
    shape); ``exptime``: TMEASURE or EFFEXPTM; None: 1; all times the good-pixel mask.
    """
    arrays = exposure.part.arrays
    data = arrays["data"]
    mask = good_mask(exposure.part.dq, good_bits)
    if weight_type == "ivm":
        var = arrays.get("var_rnoise")
        if var is not None and var.shape == data.shape:
            with np.errstate(divide="ignore", invalid="ignore"):
                inv = 1.0 / var
            inv[~np.isfinite(inv)] = 0
        else:
            inv = np.ones(data.shape, dtype=np.float32)
        result = inv * mask
    elif weight_type == "exptime":
        result = np.float32(measurement_time(exposure)) * mask
    elif weight_type is None:
        result = mask
    else:
        raise ValueError(f"unknown weight_type {weight_type!r} (ivm, exptime or None)")
    return result.astype(np.float32)


def world_to_pixels(wcs: Any) -> Any:
    """``wcs.invert(..., with_bounding_box=False)`` as a callable built once.

    gwcs composes the backward transform anew on every ``invert`` (milliseconds for a
    NIRSpec slit); an output grid receives several exposures, so it is built once here.
    Transforms that work in quantities keep gwcs's unit handling.
    """
    transform = wcs.backward_transform
    if getattr(transform, "uses_quantity", False):
        return lambda *world: wcs.invert(*world, with_bounding_box=False)
    return lambda *world: transform(*world, with_bounding_box=False)


def pixel_map(wcs_from: Any, wcs_to: Any, shape: tuple[int, int],
              origin: tuple[int, int] = (0, 0), to_pixels: Any = None) -> np.ndarray:
    """Map every pixel centre of a ``shape`` image with `wcs_from` onto `wcs_to` pixels.

    The input WCS's bounding box applies (pixels outside it map to NaN); the output's does
    not, so that pixels falling off the output grid keep their coordinates. `origin`
    ``(y0, x0)`` places the image within the detector (a window of it); `to_pixels` is
    :func:`world_to_pixels` of `wcs_to` when already built.

    Returns
    -------
    numpy.ndarray
        ``(ny, nx, 2)`` float64: output x and y of each input pixel.
    """
    y, x = np.indices(shape, dtype=np.float64)
    y += origin[0]
    x += origin[1]
    to_pixels = to_pixels or world_to_pixels(wcs_to)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        world = wcs_from(x, y)
        xo, yo = to_pixels(*world)
    return np.dstack([np.asarray(getattr(xo, "value", xo), dtype=np.float64),
                      np.asarray(getattr(yo, "value", yo), dtype=np.float64)])


#: Pixels kept around the bounding box when an exposure is cut down to it: drizzle
#: interpolates its pixel map between neighbours, which must be those of the full frame.
WINDOW_MARGIN = 2


def drizzle_window(shape: tuple[int, int], wcs: Any) -> tuple[slice, slice]:
    """The part of an exposure that can reach an output: its bounding box, with a margin.

    Pixels outside the bounding box map to NaN and are never drizzled or blotted, so
    working on this window gives the full frame's numbers (a MIRI LRS slit covers a few
    per cent of its detector) in a fraction of the time and memory.
    """
    xmin, xmax, ymin, ymax = resample_range(shape, wcs)
    return (slice(max(0, ymin - WINDOW_MARGIN), min(shape[0], ymax + WINDOW_MARGIN + 1)),
            slice(max(0, xmin - WINDOW_MARGIN), min(shape[1], xmax + WINDOW_MARGIN + 1)))


def resample_range(shape: tuple[int, int], wcs: Any) -> tuple[int, int, int, int]:
    """Input pixel range ``(xmin, xmax, ymin, ymax)`` inside the rounded bounding box."""
    bbox = getattr(wcs, "bounding_box", None)
    if bbox is None:
        return 0, max(shape[1] - 1, 0), 0, max(shape[0] - 1, 0)
    (x1, x2), (y1, y2) = bbox.bounding_box(order="F")
    xmin = max(0, int(x1 + 0.5))
    ymin = max(0, int(y1 + 0.5))
    xmax = max(xmin, min(shape[1] - 1, int(x2 + 0.5)))
    ymax = max(ymin, min(shape[0] - 1, int(y2 + 0.5)))
    return xmin, xmax, ymin, ymax


def is_flux_density(bunit: Any) -> bool:
    """Whether `bunit` is a flux density (equivalent to Jy), e.g. NIRSpec point-source MJy."""
    try:
        return u.Unit(bunit).is_equivalent(u.Jy)
    except (ValueError, TypeError):
        return False


@dataclasses.dataclass(frozen=True)
class DrizzleSettings:
    """Drizzle parameters shared by every exposure added to one output grid."""

    pixfrac: float = 1.0
    kernel: str = "square"
    fillval: Any = "NAN"
    weight_type: str | None = "ivm"
    good_bits: Any = 0
    pixel_scale_ratio: float = 1.0


class SlitDrizzler:
    """Accumulate slit exposures onto one output grid and return the finished arrays.

    Parameters
    ----------
    output_wcs : gwcs.WCS
        The output WCS (its ``array_shape`` is the output shape).
    settings : DrizzleSettings
        Kernel, pixfrac, fill value, weighting and the pixel scale ratio.
    n_inputs : int
        How many exposures will be added (sizes the context planes).
    context, variances, driz_err, propagate_dq : bool
        Which outputs to make: the context image, the three drizzled variance arrays (and
        the error from them), the drizzled ERR array, the OR of contributing DQ values.
    """

    def __init__(self, output_wcs: Any, settings: DrizzleSettings, n_inputs: int, *,
                 context: bool = True, variances: bool = True, driz_err: bool = False,
                 propagate_dq: bool = False) -> None:
        self.wcs = output_wcs
        self._to_pixels = world_to_pixels(output_wcs)
        self.shape = tuple(output_wcs.array_shape)
        self.settings = settings
        self._variances = variances
        self._propagate_dq = propagate_dq
        self._sci = Drizzle(kernel=settings.kernel, fillval=settings.fillval,
                            out_shape=self.shape, begin_ctx_id=0,
                            max_ctx_id=max(n_inputs - 1, 0), disable_ctx=not context)
        self._err = (Drizzle(kernel=settings.kernel, fillval=settings.fillval,
                             out_shape=self.shape, disable_ctx=True) if driz_err else None)
        self._var_sum = {n: np.full(self.shape, np.nan, np.float32) for n in VARIANCES}
        self._var_wt = {n: np.zeros(self.shape, np.float32) for n in VARIANCES}
        self._last_var: dict[str, np.ndarray] = {}

    def _intensity_scale(self, exposure: SlitExposure) -> float:
        # Flux densities (not surface brightnesses) spread over more or fewer output
        # pixels along the slit when the spatial scale changes.
        if exposure.get("photometry.pixelarea_steradians") and is_flux_density(
                exposure.get("bunit_data")):
            return 1.0 / self.settings.pixel_scale_ratio
        return 1.0

    def add(self, exposure: SlitExposure) -> np.ndarray:
        """Drizzle one exposure (science, and the error/variances when asked).

        Returns the pixel map of its :func:`drizzle_window` onto the output grid, which
        :func:`blot` can reuse for the same exposure and grid.
        """
        part, s = exposure.part, self.settings
        data = np.asarray(part.data)
        exptime = exposure.get("exposure.exposure_time")
        if exptime is None or not exptime > 0:
            raise ValueError(f"{exposure.label}: the exposure time (EFFEXPTM) must be a "
                             f"positive number to drizzle, not {exptime!r}")
        ys, xs = drizzle_window(data.shape, exposure.wcs)
        data = data[ys, xs]
        level = exposure.get("background.level")
        if not exposure.get("background.subtracted", False) and level is not None:
            data = data - level
        pixmap = pixel_map(exposure.wcs, self.wcs, data.shape, (ys.start, xs.start),
                           self._to_pixels)
        xmin, xmax, ymin, ymax = resample_range(part.data.shape, exposure.wcs)
        kwargs = dict(exptime=exptime, pixmap=pixmap, iscale=self._intensity_scale(exposure),
                      pixel_scale_ratio=s.pixel_scale_ratio,
                      weight_map=drizzle_weight(exposure, s.weight_type, s.good_bits)[ys, xs],
                      wht_scale=1.0, pixfrac=s.pixfrac, in_units="cps",
                      xmin=xmin - xs.start, xmax=xmax - xs.start,
                      ymin=ymin - ys.start, ymax=ymax - ys.start)
        dq = part.dq[ys, xs] if self._propagate_dq else None
        self._sci.add_image(data, dq=dq, **kwargs)
        if self._err is not None:
            self._err.add_image(part.err[ys, xs], **kwargs)
        if self._variances:
            self._add_variances(exposure, kwargs, (ys, xs))
        return pixmap

    def _add_variances(self, exposure: SlitExposure, kwargs: dict[str, Any],
                       window: tuple[slice, slice]) -> None:
        """Drizzle sqrt(var) of each variance array and accumulate var * W**2 and W."""
        arrays = exposure.part.arrays
        present = [n for n in VARIANCES if n in arrays
                   and arrays[n].size and arrays[n].shape == arrays["data"].shape]
        for name in present:
            driz = Drizzle(out_shape=self.shape, kernel=self.settings.kernel,
                           fillval=np.nan, disable_ctx=True)
            with np.errstate(invalid="ignore"):
                driz.add_image(np.sqrt(arrays[name][window]), **kwargs)
            self._last_var[name] = driz.out_img ** 2
        if self.settings.weight_type == "exptime":
            weight = np.full(self.shape, measurement_time(exposure), dtype=np.float64)
        elif self.settings.weight_type is None:
            # jwst 3.0.0 fails on weight_type=None; equal weights are the natural meaning
            weight = np.ones(self.shape)
        else:
            # ivm: the output weight is the inverse of the drizzled read-noise variance
            rn_var = self._last_var.get("var_rnoise")
            weight = np.zeros(self.shape)
            if rn_var is not None:
                ok = (rn_var > 0) & np.isfinite(rn_var)
                weight[ok] = np.reciprocal(rn_var[ok])
        for name in present:
            var, wsum = self._last_var[name], self._var_sum[name]
            ok = (var >= 0) & np.isfinite(var) & (weight > 0)
            with np.errstate(over="ignore"):
                wsum[ok] = np.nansum([wsum[ok], var[ok] * weight[ok] * weight[ok]], axis=0)
            self._var_wt[name][ok] += weight[ok]

    def finish(self) -> dict[str, np.ndarray]:
        """Return the output arrays: ``data``, ``wht``, and ``con``/``err``/``var_*``/``dq``.

        Variances are ``sum(var W^2) * ratio / sum(W)^2`` (spectral scaling); the drizzled
        error is multiplied by ``sqrt(ratio)``; the error from variances is the square root
        of their NaN-sum, NaN where all three are NaN.
        """
        ratio = self.settings.pixel_scale_ratio
        out = {"data": self._sci.out_img, "wht": self._sci.out_wht}
        if self._sci.out_ctx is not None:
            out["con"] = self._sci.out_ctx
        if self._propagate_dq and self._sci.out_dq is not None:
            out["dq"] = self._sci.out_dq
        if self._err is not None:
            out["err"] = self._err.out_img / (1.0 / np.sqrt(ratio))
        if self._variances:
            with np.errstate(invalid="ignore", divide="ignore"):
                for name in VARIANCES:
                    wt = self._var_wt[name]
                    out[name] = (self._var_sum[name] * ratio / wt / wt).astype(np.float32)
            stack = [out[n] for n in VARIANCES]
            err = np.sqrt(np.nansum(stack, axis=0))
            err[np.all(np.isnan(stack), axis=0)] = np.nan
            out["err"] = err
        return out


def blot(median: np.ndarray, median_wcs: Any, exposure: SlitExposure,
         pixmap: np.ndarray | None = None) -> np.ndarray:
    """Interpolate `median` (on `median_wcs`) back onto `exposure`'s detector pixels.

    Bilinear interpolation (drizzle ``tblot``, ``interp="linear"``); pixels mapping off the
    median grid, or outside the exposure's bounding box, get NaN. `pixmap` is the
    exposure's window mapped onto `median_wcs` when already known (what
    :meth:`SlitDrizzler.add` returned for that grid); it is not modified.
    """
    shape = exposure.part.data.shape
    # Each output pixel is interpolated on its own: outside the bounding box it is NaN
    # (fillval) either way, so only the window is blotted.
    ys, xs = drizzle_window(shape, exposure.wcs)
    window = (ys.stop - ys.start, xs.stop - xs.start)
    if pixmap is None:
        pixmap = pixel_map(exposure.wcs, median_wcs, window, (ys.start, xs.start))
    # tblot cannot take NaN coordinates; -1 lies off the grid (what jwst passes too)
    pixmap = np.where(np.isnan(pixmap), -1.0, pixmap)
    out = np.full(shape, np.nan, dtype=np.float32)
    cut = np.full(window, np.nan, dtype=np.float32)
    blot_image(np.asarray(median, dtype=np.float32), pixmap, out_img=cut, fillval=np.nan,
               iscale=1.0, interp="linear")
    out[ys, xs] = cut
    return out


def invalid_pixels(arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    """Pixels NaN in any of SCI/ERR/VAR_* (of SCI's shape) or flagged DO_NOT_USE."""
    shape = arrays["data"].shape
    bad = np.zeros(shape, dtype=bool)
    for name in NAN_ARRAYS:
        if name in arrays and arrays[name].shape == shape:
            bad |= np.isnan(arrays[name])
    if "dq" in arrays and arrays["dq"].shape == shape:
        bad |= (arrays["dq"] & DO_NOT_USE).astype(bool)
    return bad


def match_nans_and_flags(part: Part, extra_bad: np.ndarray | None = None) -> Part:
    """Return `part` with invalid pixels NaN in SCI/ERR/VAR_* and DO_NOT_USE in DQ.

    `extra_bad` pixels (e.g. outliers) are invalid too.
    """
    arrays = part.arrays
    bad = invalid_pixels(arrays)
    if extra_bad is not None:
        bad |= extra_bad
    if not bad.any():
        return part
    # An array already NaN (DQ already DO_NOT_USE) wherever `bad` is set is shared with
    # the input rather than copied: many sources' exposures stay in memory at once.
    new: dict[str, np.ndarray] = {}
    shape = arrays["data"].shape
    for name in NAN_ARRAYS:
        array = arrays.get(name)
        if array is not None and array.shape == shape:
            change = bad & ~np.isnan(array)
            if change.any():
                new[name] = array.copy()
                new[name][change] = np.nan
    dq = arrays.get("dq")
    if dq is not None and dq.shape == shape:
        change = bad & ((dq & np.uint32(DO_NOT_USE)) == 0)
        if change.any():
            new["dq"] = dq | np.where(change, np.uint32(DO_NOT_USE), np.uint32(0))
    return part.evolve(arrays=new) if new else part

