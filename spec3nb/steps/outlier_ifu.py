"""outlier_detection, IFU mode: pixels persistently unlike their neighbours on the detector.

As jwst 3.0.0's ``outlier_detection/ifu.py`` (reference 3.5.2), detector by detector:

1. for every exposure, the absolute difference of each pixel with its left and right
   neighbours (MIRI: along x, across the slices) or with those above and below (NIRSpec),
   the smaller of the two (``np.diff`` with a 0 prepended, so the first/last pixel is
   compared with 0); DO_NOT_USE pixels are NaN;
2. the minimum over the exposures (a cosmic ray in one exposure disappears there);
3. normalised by its local median (a median filter of ``kernel_size``, jwst's zero-padded
   ``stcal`` ``medfilt`` with the first size on the rows), floored at a third of the
   global median;
4. pixels above the ``threshold_percent`` percentile of the normalised minimum (detector
   edges of 4 pixels excluded from the statistic) are flagged ``DO_NOT_USE | OUTLIER`` in
   every exposure of that detector; with ``ifu_second_check`` also those whose minimum is
   NaN.

jwst's median filter builds a (ny, nx, kx*ky) float64 copy of the image; here the plain
windows are filtered with ``scipy.ndimage.median_filter`` and only the windows that hold a
NaN are recomputed with ``np.nanmedian``, in blocks, so memory stays within a few images.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from scipy import ndimage

from spec3nb.datamodels.dq import DO_NOT_USE, OUTLIER
from spec3nb.datamodels.products import Product
from spec3nb.errors import ParameterError
from spec3nb.steps.drizzle_utils import match_nans_and_flags
from spec3nb.steps.spec import COMPLETE, SKIPPED, StepOutput, StepResult

_STATUS = "cal_step.outlier_detection"
#: Elements (windows x kernel) handled at once by the NaN-aware median.
_BLOCK = 2_000_000


def kernel_shape(kernel_size: Any) -> tuple[int, int]:
    """The median-filter shape from ``kernel_size`` (``"7 7"`` or a pair); even sizes + 1."""
    if isinstance(kernel_size, str):
        kernel_size = kernel_size.split()
    try:
        sizes = [int(v) for v in kernel_size]
    except (TypeError, ValueError):
        raise ParameterError("outlier_detection", "kernel_size",
                             f"two integers are needed, got {kernel_size!r}") from None
    if len(sizes) != 2 or min(sizes) < 1:
        raise ParameterError("outlier_detection", "kernel_size",
                             f"two positive integers are needed, got {kernel_size!r}")
    return tuple(s + 1 if s % 2 == 0 else s for s in sizes)


def neighbour_difference(data: np.ndarray, dq: np.ndarray, axis: int) -> np.ndarray:
    """Smaller absolute difference of each pixel with its two neighbours along `axis`."""
    sci = np.where((dq & DO_NOT_USE) != 0, np.nan, data)
    left = np.abs(np.diff(sci, axis=axis, prepend=0))
    right = np.flip(np.abs(np.diff(np.flip(sci, axis=axis), axis=axis, prepend=0)), axis=axis)
    return np.fmin(left, right)


def nan_median_filter(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """jwst's ``medfilt``: NaN-ignoring median over zero-padded windows of `shape`.

    Parameters
    ----------
    image : numpy.ndarray
        2-D float64 image, NaN where unknown.
    shape : tuple[int, int]
        Odd window sizes along (rows, columns).

    Returns
    -------
    numpy.ndarray
        The filtered image (NaN where a window holds no finite value).
    """
    nan = np.isnan(image)
    # windows without NaN: an exact order statistic, as nanmedian gives for them
    out = ndimage.median_filter(np.where(nan, 0.0, image), size=shape, mode="constant",
                                cval=0.0)
    touched = ndimage.maximum_filter(nan, size=shape, mode="constant", cval=False)
    rows, cols = np.nonzero(touched)
    if rows.size:
        pad = [(k // 2, k // 2) for k in shape]
        windows = np.lib.stride_tricks.sliding_window_view(np.pad(image, pad), shape)
        step = max(1, _BLOCK // (shape[0] * shape[1]))
        for i in range(0, rows.size, step):
            r, c = rows[i:i + step], cols[i:i + step]
            block = windows[r, c]
            # All-NaN windows are NaN without asking nanmedian, whose warning about them
            # could not be silenced here: this runs in threads, and catch_warnings is not
            # thread-safe.
            some = ~np.isnan(block).all(axis=(-2, -1))
            values = np.full(r.size, np.nan, dtype=out.dtype)
            values[some] = np.nanmedian(block[some], axis=(-2, -1))
            out[r, c] = values
    return out


def detector_outliers(exposures: Sequence[Product], axis: int, shape: tuple[int, int],
                      threshold_percent: float) -> tuple[np.ndarray, np.ndarray]:
    """Outlier mask of one detector and its minimum difference image.

    Parameters
    ----------
    exposures : Sequence[Product]
        The exposures of one detector (same image shape).
    axis : int
        Axis of the neighbour differences (1 for MIRI, 0 for NIRSpec).
    shape : tuple[int, int]
        Median-filter window.
    threshold_percent : float
        Percentile above which pixels are outliers.

    Returns
    -------
    tuple[numpy.ndarray, numpy.ndarray]
        The boolean mask and the minimum-difference image.
    """
    minarr = None
    for product in exposures:
        diff = neighbour_difference(product.part.data, product.part.dq, axis)
        minarr = diff if minarr is None else np.fmin(minarr, diff)
    minarr = minarr.astype(np.float64)
    # errstate, unlike catch_warnings, is per thread (detectors run side by side).
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = nan_median_filter(minarr, shape)
        floor = np.nanmedian(minarr) / 3
        norm[norm < floor] = floor
        scaled = minarr / norm
        ny, nx = minarr.shape
        threshold = np.nanpercentile(scaled[4:ny - 4, 4:nx - 4], threshold_percent)
        mask = scaled > threshold
    return mask, minarr


def _flag(product: Product, mask: np.ndarray) -> Product:
    part = product.part
    dq = part.dq | np.where(mask, np.uint32(DO_NOT_USE | OUTLIER), np.uint32(0))
    part = match_nans_and_flags(part.evolve(arrays={"dq": dq}), extra_bad=mask)
    return product.evolve(parts=[part], meta={_STATUS: COMPLETE})


def outlier_detection_ifu(inputs: Sequence[Product], *, kernel_size: Any = (7, 7),
                          threshold_percent: float = 99.8, ifu_second_check: bool = False,
                          **_ignored: Any) -> StepResult:
    """Flag outliers in IFU exposures (MIRI MRS, NIRSpec IFU) as jwst's IFU mode does.

    Parameters
    ----------
    inputs : Sequence[Product]
        ``IFUImageModel`` exposures.
    kernel_size : pair of int or str
        Median-filter size (rows, columns); even values are increased by one.
    threshold_percent : float
        Percentile of the normalised minimum difference above which pixels are flagged.
    ifu_second_check : bool
        Also flag pixels whose minimum difference is NaN in every exposure.
    **_ignored : Any
        The other outlier_detection parameters (unused in IFU mode).

    Returns
    -------
    StepResult
        One ``crf`` output per input (``origin=i``); SKIPPED with fewer than two inputs.
    """
    if len(inputs) < 2:
        outputs = tuple(StepOutput(p.evolve(meta={_STATUS: SKIPPED}), "crf", origin=i)
                        for i, p in enumerate(inputs))
        return StepResult(outputs, SKIPPED, f"IFU outlier detection needs at least two "
                          f"exposures, got {len(inputs)}")
    shape = kernel_shape(kernel_size)
    axis = 1 if str(inputs[0].get("instrument.name", "")).upper() == "MIRI" else 0
    detectors = [str(p.get("instrument.detector", "")).lower() for p in inputs]
    groups = [[i for i, d in enumerate(detectors) if d == name]
              for name in sorted(set(detectors))]
    for members in groups:
        shapes = {inputs[i].part.data.shape for i in members}
        if len(shapes) != 1:
            raise ParameterError("outlier_detection", "inputs", f"exposures of detector "
                                 f"{detectors[members[0]]} have different shapes "
                                 f"{sorted(shapes)}")

    def masks(members: list[int]) -> np.ndarray:
        mask, minarr = detector_outliers([inputs[i] for i in members], axis, shape,
                                         threshold_percent)
        return mask | np.isnan(minarr) if ifu_second_check else mask

    # The detectors are independent, and the median filter releases the GIL: MIRI's two
    # detectors are filtered side by side. catch_warnings is not thread-safe: the outer
    # one restores the warning filters once the threads are done.
    workers = min(len(groups), os.cpu_count() or 1)
    if workers > 1:
        with warnings.catch_warnings(), ThreadPoolExecutor(max_workers=workers) as pool:
            found = list(pool.map(masks, groups))
    else:
        found = [masks(members) for members in groups]
    results: list[Product | None] = [None] * len(inputs)
    for members, mask in zip(groups, found, strict=True):
        for i in members:
            results[i] = _flag(inputs[i], mask)
    return StepResult(tuple(StepOutput(p, "crf", origin=i) for i, p in enumerate(results)))
