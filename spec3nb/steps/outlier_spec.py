"""outlier_detection: flag cosmic rays and other outliers in slit exposures (spec mode).

As jwst 3.0.0's ``OutlierDetectionStep`` in its ``spec`` mode (reference section 3.5.1):
each exposure group is drizzled onto the common rectified grid resample_spec would build,
low-weight pixels are masked, the median of the groups is blotted back onto every
exposure's detector grid (with the median of the drizzled errors), and pixels that differ
from it by more than ``snr`` times the error plus ``scale`` times the local derivative are
flagged ``DO_NOT_USE | OUTLIER`` and set to NaN. With ``resample_data=False`` the median
is taken directly over the detector images.

The mode comes from EXP_TYPE as jwst guesses it standalone; only ``spec`` is implemented
here, the IFU mode is dispatched through :data:`MODES` by name once it exists.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from astropy.stats import sigma_clip
from scipy import ndimage

from spec3nb.datamodels.dq import DO_NOT_USE, OUTLIER
from spec3nb.datamodels.products import Product
from spec3nb.params import BOOL, CHOICE, FLOAT, FLOATS, INT, INTS, STR, Param
from spec3nb.steps.drizzle_utils import (
    DrizzleSettings,
    SlitDrizzler,
    SlitExposure,
    blot,
    drizzle_weight,
    match_nans_and_flags,
)
from spec3nb.steps.outlier_ifu import outlier_detection_ifu
from spec3nb.steps.outlier_memo import BLOTS, Blots
from spec3nb.steps.resample_spec import groups, output_grid, slit_exposures
from spec3nb.steps.spec import COMPLETE, SKIPPED, StepOutput, StepResult, StepSpec

#: Exposure types by outlier-detection mode, as jwst 3.0.0 sorts them.
SLIT_SPEC_MODES = frozenset({"NRC_WFSS", "MIR_LRS-FIXEDSLIT", "NRS_FIXEDSLIT",
                             "NRS_MSASPEC", "NIS_WFSS"})
IFU_SPEC_MODES = frozenset({"NRS_IFU", "MIR_MRS"})
_STATUS = "cal_step.outlier_detection"


# ----------------------------------------------------------------------------- kernels


def weight_threshold(weight: np.ndarray, maskpt: float) -> float:
    """``maskpt`` times the 3-sigma-clipped mean of the finite, non-zero weights.

    The float32 weights can be large enough for their squares (in the clipping's variance)
    to overflow, as in jwst; np.errstate silences that per thread, which catch_warnings
    cannot do reliably when sources run on several threads.
    """
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        values = weight[np.isfinite(weight) & (weight != 0)]
        clipped = sigma_clip(values, sigma=3, maxiters=5, masked=False, copy=False)
        return float(np.mean(clipped, dtype="f8") * maskpt)


def abs_derivative(image: np.ndarray) -> np.ndarray:
    """Largest absolute difference of each pixel to its four neighbours.

    Differences involving a NaN neighbour are ignored (0 when none is left); NaN pixels
    stay NaN.
    """
    out = np.zeros_like(image)
    rows = np.abs(np.diff(image, axis=0))
    cols = np.abs(np.diff(image, axis=1))
    out[1:] = np.fmax(out[1:], rows)
    out[:-1] = np.fmax(out[:-1], rows)
    out[:, 1:] = np.fmax(out[:, 1:], cols)
    out[:, :-1] = np.fmax(out[:, :-1], cols)
    out[np.isnan(image)] = np.nan
    return out


def flag_against_blot(data: np.ndarray, err: np.ndarray, blotted: np.ndarray,
                      snr: Sequence[float], scale: Sequence[float], backg: float
                      ) -> np.ndarray:
    """Outliers of `data` against the blotted median (boolean mask).

    A pixel is an outlier when ``|data - blot - backg|`` exceeds ``scale2 * deriv + snr2 *
    err`` and it, or one of its 8 neighbours, exceeds ``scale1 * deriv + snr1 * err``
    (``deriv`` from :func:`abs_derivative` of the blot). NaN pixels are never flagged.
    """
    err = np.nan_to_num(err)
    deriv = abs_derivative(blotted)
    with np.errstate(invalid="ignore"):
        diff = np.abs(data - blotted - backg)
        first = diff > scale[0] * deriv + snr[0] * err
        second = diff > scale[1] * deriv + snr[1] * err
    grown = ndimage.maximum_filter(first, size=3, mode="nearest")
    return grown & second


def _nanmedian(stack: list[np.ndarray]) -> np.ndarray:
    """``np.nanmedian(np.stack(stack), axis=0)``, bit for bit, without its per-pixel cost.

    For a few images numpy goes through masked arrays and warns once per all-NaN pixel
    (a second per MOS source); sorting puts the NaNs last, so the median of the finite
    values is read at the middle of each pixel's count, averaged as numpy does
    (``(low + high) / 2`` in the data type, with ``low = high`` for odd counts).
    """
    cube = np.sort(np.stack(stack), axis=0)
    count = np.count_nonzero(~np.isnan(cube), axis=0)
    last = cube.shape[0] - 1
    high = np.take_along_axis(cube, np.minimum(count // 2, last)[None], axis=0)[0]
    low = np.take_along_axis(cube, np.maximum(count // 2 - 1, 0)[None], axis=0)[0]
    low = np.where(count % 2 == 1, high, low)
    with np.errstate(over="ignore", invalid="ignore"):
        median = (low + high) / cube.dtype.type(2)
    median[count == 0] = np.nan
    return median


# ----------------------------------------------------------------------------- medians


def drizzled_median(exposures: Sequence[SlitExposure], settings: DrizzleSettings,
                    maskpt: float) -> tuple[np.ndarray, np.ndarray, Any, list[np.ndarray]]:
    """Median (and median error) of the exposure groups drizzled onto the common grid.

    Returns
    -------
    tuple
        ``(median, median_err, output_wcs, pixmaps)``: `pixmaps` maps each exposure (in
        order) onto the grid, as :func:`~spec3nb.steps.drizzle_utils.blot` takes it.
    """
    wcs, _, _ = output_grid(exposures, good_bits=settings.good_bits)
    images, errors, pixmaps = [], [], {}
    for members in groups(exposures).values():
        drizzler = SlitDrizzler(wcs, settings, len(members), context=False,
                                variances=False, driz_err=True)
        for exposure in members:
            pixmaps[id(exposure)] = drizzler.add(exposure)
        out = drizzler.finish()
        low = out["wht"] < weight_threshold(out["wht"], maskpt)
        images.append(np.where(low, np.nan, out["data"]).astype(out["data"].dtype))
        errors.append(np.where(low, np.nan, out["err"]).astype(out["err"].dtype))
    return (_nanmedian(images), _nanmedian(errors), wcs,
            [pixmaps[id(e)] for e in exposures])


def detector_median(exposures: Sequence[SlitExposure], weight_type: str, good_bits: Any,
                    maskpt: float) -> tuple[np.ndarray, np.ndarray]:
    """Median (and median error) of the detector images, each masked at low weight."""
    shapes = {e.part.data.shape for e in exposures}
    if len(shapes) > 1:
        raise ValueError(f"resample_data=False needs inputs of one shape, got "
                         f"{sorted(shapes)}")
    images, errors = [], []
    for exposure in exposures:
        weight = drizzle_weight(exposure, weight_type, good_bits)
        low = weight < weight_threshold(weight, maskpt)
        images.append(np.where(low, np.nan, exposure.part.data))
        errors.append(np.where(low, np.nan, exposure.part.err))
    return _nanmedian(images), _nanmedian(errors)


# ----------------------------------------------------------------------------- spec mode


def _background(exposure: SlitExposure, backg: float) -> float:
    """The recorded sky level when it was not subtracted, else the `backg` parameter."""
    level = exposure.get("background.level")
    if exposure.get("background.subtracted") is False and level is not None:
        return level
    return backg


def _blots(exposures: Sequence[SlitExposure], settings: DrizzleSettings, maskpt: float,
           sources: Sequence[Product] | None) -> Blots:
    """The median of the drizzled exposures (and its error) blotted back onto each one,
    from the memo when these inputs were seen with these settings."""
    key = (settings, maskpt)
    found = BLOTS.get(sources, key) if sources is not None else None
    if found is not None:
        return found
    median, median_err, wcs, pixmaps = drizzled_median(exposures, settings, maskpt)
    # The exposure's map onto the median grid serves both blots (WCS evaluation is the
    # costly part of outlier detection).
    blots = [(blot(median, wcs, e, pixmap), blot(median_err, wcs, e, pixmap))
             for e, pixmap in zip(exposures, pixmaps, strict=True)]
    if sources is not None:
        BLOTS.put(sources, key, blots)
    return blots


def spec_outliers(exposures: Sequence[SlitExposure], *, weight_type: str, pixfrac: float,
                  kernel: str, fillval: str, maskpt: float, snr: Sequence[float],
                  scale: Sequence[float], backg: float, resample_data: bool,
                  good_bits: Any, sources: Sequence[Product] | None = None
                  ) -> list[np.ndarray]:
    """Return the outlier mask of every exposure (spec-mode algorithm).

    `sources` are the input products the exposures come from; given, the blotted medians
    are kept for a run with other ``snr``, ``scale`` or ``backg`` on the same products
    (:mod:`spec3nb.steps.outlier_memo`).
    """
    masks = []
    if resample_data:
        settings = DrizzleSettings(pixfrac, kernel, fillval, weight_type, good_bits, 1.0)
        blots = _blots(exposures, settings, maskpt, sources)
        for exposure, (blotted, blotted_err) in zip(exposures, blots, strict=True):
            masks.append(flag_against_blot(exposure.part.data, blotted_err, blotted, snr,
                                           scale, _background(exposure, backg)))
    else:
        median, median_err = detector_median(exposures, weight_type, good_bits, maskpt)
        threshold = snr[0] * np.nan_to_num(median_err)
        for exposure in exposures:
            with np.errstate(invalid="ignore"):
                masks.append(np.abs(exposure.part.data - median) > threshold)
    return masks


def _flagged(exposure: SlitExposure, mask: np.ndarray):
    """The exposure's part with outliers flagged and NaNs/DO_NOT_USE made consistent."""
    part = exposure.part
    dq = part.dq | (mask.astype(np.uint32) * np.uint32(DO_NOT_USE | OUTLIER))
    return match_nans_and_flags(part.evolve(arrays={"dq": dq}), extra_bad=mask)


def _with_status(inputs: Sequence[Product], status: str) -> tuple[Product, ...]:
    result = []
    for product in inputs:
        parts = product.parts
        if product.model_type == "MultiExposureModel":
            parts = [p.evolve(meta={_STATUS: status}) for p in parts]
        result.append(product.evolve(parts=parts, meta={_STATUS: status}))
    return tuple(result)


def _outputs(inputs: Sequence[Product], products: Sequence[Product]) -> tuple[StepOutput, ...]:
    return tuple(StepOutput(p, "crf", origin=i) for i, p in enumerate(products))


def guess_mode(inputs: Sequence[Product]) -> str | None:
    """``spec`` or ``ifu`` from the first input's EXP_TYPE (None when neither)."""
    first = inputs[0]
    exp_type = first.exp_type
    if first.model_type == "MultiExposureModel" and first.parts:
        exp_type = first.parts[0].meta.get("exposure", {}).get("type") or exp_type
    if exp_type in SLIT_SPEC_MODES:
        return "spec"
    if exp_type in IFU_SPEC_MODES:
        return "ifu"
    return None


def _run_spec(inputs: Sequence[Product], **params: Any) -> StepResult:
    exposures, is_source = slit_exposures(inputs)
    if len(exposures) < 2:
        return StepResult(_outputs(inputs, _with_status(inputs, SKIPPED)), SKIPPED,
                          f"outlier detection needs at least two exposures, got "
                          f"{len(exposures)}")
    masks = spec_outliers(exposures, **params, sources=tuple(inputs))
    parts = [_flagged(e, m) for e, m in zip(exposures, masks, strict=True)]
    if is_source:
        products = [inputs[0].evolve(parts=parts)]
    else:
        products = [p.evolve(parts=[part]) for p, part in zip(inputs, parts, strict=True)]
    return StepResult(_outputs(inputs, _with_status(products, COMPLETE)))


#: Mode name -> implementation; the IFU mode will be registered here.
MODES: dict[str, Callable[..., StepResult]] = {"spec": _run_spec,
                                                "ifu": outlier_detection_ifu}


def outlier_detection(
    inputs: Sequence[Product],
    *,
    weight_type: str = "ivm",
    pixfrac: float = 1.0,
    kernel: str = "square",
    fillval: str = "NAN",
    maskpt: float = 0.7,
    snr: Sequence[float] = (5.0, 4.0),
    scale: Sequence[float] = (1.2, 0.7),
    backg: float = 0.0,
    kernel_size: Sequence[int] = (7, 7),
    threshold_percent: float = 99.8,
    rolling_window_width: int = 25,
    ifu_second_check: bool = False,
    save_intermediate_results: bool = False,
    resample_data: bool = True,
    good_bits: str = "~DO_NOT_USE",
    in_memory: bool = True,
    pixmap_stepsize: float = 1.0,
    pixmap_order: int = 1,
    mode: str | None = None,
) -> StepResult:
    """Flag outliers in the exposures of one source (spec mode).

    Parameters
    ----------
    inputs : Sequence[Product]
        ``SlitModel`` exposures (MIRI LRS), or one ``MultiExposureModel`` source product
        (NIRSpec FS/MOS).
    weight_type, pixfrac, kernel, fillval, good_bits : see :data:`SPEC`
        How the exposures are drizzled.
    maskpt, snr, scale, backg, resample_data : see :data:`SPEC`
        The masking and flagging thresholds.
    kernel_size, threshold_percent, ifu_second_check : see :data:`SPEC`
        IFU-mode parameters (unused in spec mode).
    rolling_window_width, save_intermediate_results, in_memory : see :data:`SPEC`
        Unused here (TSO only; files are never written by steps; always in memory).
    pixmap_stepsize, pixmap_order : float, int
        Ignored in spec mode (jwst evaluates every pixel, order 1).
    mode : str, optional
        ``spec`` or ``ifu``; guessed from EXP_TYPE when None (jwst's pipeline sets it).

    Returns
    -------
    StepResult
        One ``crf`` output per input product (``origin=i``); SKIPPED for fewer than two
        exposures or an exposure type without an outlier mode.
    """
    if not inputs or all(not p.parts for p in inputs):
        return StepResult((), SKIPPED, "no exposures to check for outliers")
    mode = mode or guess_mode(inputs)
    if mode is None:
        return StepResult(_outputs(inputs, _with_status(inputs, SKIPPED)), SKIPPED,
                          f"no outlier-detection mode for EXP_TYPE {inputs[0].exp_type}")
    if mode not in MODES:
        raise NotImplementedError(f"outlier_detection mode {mode!r} is not implemented "
                                  f"yet (available: {', '.join(MODES)})")
    if mode == "ifu":
        return MODES[mode](inputs, kernel_size=kernel_size, threshold_percent=threshold_percent,
                           ifu_second_check=ifu_second_check)
    if len(snr) != 2 or len(scale) != 2:
        raise ValueError("snr and scale each need two values")
    return MODES[mode](inputs, weight_type=weight_type, pixfrac=pixfrac, kernel=kernel,
                       fillval=fillval, maskpt=maskpt, snr=tuple(snr), scale=tuple(scale),
                       backg=backg, resample_data=resample_data, good_bits=good_bits)


SPEC = StepSpec(
    name="outlier_detection",
    summary="Flag cosmic rays and other outliers against the median of all exposures",
    function=outlier_detection,
    params=(
        Param("weight_type", CHOICE, "ivm", "drizzle weighting: inverse read-noise "
              "variance (ivm) or exposure time (exptime)", choices=("ivm", "exptime")),
        Param("pixfrac", FLOAT, 1.0, "drizzle pixel shrink factor", minimum=0.0,
              maximum=1.0),
        Param("kernel", CHOICE, "square", "drizzle kernel",
              choices=("square", "point", "turbo")),
        Param("fillval", STR, "NAN", "value of drizzled pixels without input"),
        Param("maskpt", FLOAT, 0.7, "fraction of the mean drizzle weight below which "
              "pixels are left out of the median"),
        Param("snr", FLOATS, (5.0, 4.0), "signal-to-noise thresholds before and after "
              "growing the mask", length=2),
        Param("scale", FLOATS, (1.2, 0.7), "multiples of the blot derivative added to the "
              "thresholds", length=2),
        Param("backg", FLOAT, 0.0, "background level added to the blotted median"),
        Param("kernel_size", INTS, (7, 7), "IFU mode: median filter size", length=2),
        Param("threshold_percent", FLOAT, 99.8, "IFU mode: percentile threshold"),
        Param("rolling_window_width", INT, 25, "TSO mode: rolling median width"),
        Param("ifu_second_check", BOOL, False, "IFU mode: second neighbour check"),
        Param("save_intermediate_results", BOOL, False,
              "accepted for compatibility; steps write no files"),
        Param("resample_data", BOOL, True, "drizzle the exposures before the median"),
        Param("good_bits", STR, "~DO_NOT_USE", "DQ flags allowed in the drizzle"),
        Param("in_memory", BOOL, True, "keep models in memory (always the case here)"),
        Param("pixmap_stepsize", FLOAT, 1.0, "pixel-map step (ignored in spec mode)"),
        Param("pixmap_order", INT, 1, "pixel-map spline order (ignored in spec mode)"),
    ),
    jwst_class="jwst.outlier_detection.OutlierDetectionStep",
)
