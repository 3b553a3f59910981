"""pixel_replace: estimate the values of bad pixels in 2-D spectral images.

As jwst 3.0.0's ``PixelReplaceStep`` (reference section 3.7), an optional step that
calwebb_spec3 skips by default:

* ``mingrad`` (default): every non-finite science pixel away from the array edges takes the
  mean of its two neighbours along the axis (rows or columns) where they differ least;
  ERR the same way, the variances as the square of the mean of their square roots. The
  rows and columns 0 and 1 and the last ones are never touched (jwst's asymmetric edge
  test, kept). DO_NOT_USE is cleared (unless NON_SCIENCE) and FLUX_ESTIMATED set.
* ``fit_profile``: every cross-dispersion vector holding DO_NOT_USE pixels gets a profile
  from the median of the ``n_adjacent_cols`` valid vectors on each side, normalised, scaled
  to the vector by a Nelder-Mead fit of the mean squared difference; IFU images slice by
  slice with the region map.
* ``trace_model``: pixels with a finite trace model (from adaptive_trace_model) take its
  value, then ``mingrad`` does the rest. spec3nb has no adaptive_trace_model, so unless the
  inputs already carry a completed trace model the step falls back to ``mingrad``, as jwst
  does when fitting the trace model fails.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize

from spec3nb.datamodels import meta as metatools
from spec3nb.datamodels.dq import DO_NOT_USE, FLUX_ESTIMATED, NON_SCIENCE
from spec3nb.datamodels.products import Part, Product
from spec3nb.errors import InputFileError
from spec3nb.params import CHOICE, INT, Param
from spec3nb.steps.spec import COMPLETE, SKIPPED, StepOutput, StepResult, StepSpec

log = logging.getLogger(__name__)

SUFFIX = "pixel_replace"
_STATUS = "cal_step.pixel_replace"
ALGORITHMS = ("fit_profile", "mingrad", "trace_model")
#: Arrays the step changes (when present); ERR and the variances follow the data.
ERROR_ARRAYS = ("err", "var_poisson", "var_rnoise", "var_flat")
VARIANCES = ("var_poisson", "var_rnoise", "var_flat")
#: fit_profile: columns replaced together (the neighbour stacks grow with it).
_CHUNK = 256
#: Model types the step works on (others are passed through as FAILED, as in jwst).
SUPPORTED = frozenset({"MultiSlitModel", "MultiExposureModel", "SlitModel", "ImageModel",
                       "IFUImageModel", "CubeModel"})

Arrays = dict[str, np.ndarray]


# ----------------------------------------------------------------------------- mingrad


def mingrad(arrays: Arrays) -> Arrays:
    """Replace non-finite pixels by the mean of their minimum-gradient neighbour pair.

    Parameters
    ----------
    arrays : dict
        ``data`` and ``dq`` (plus any of ``err``, ``var_*``) of one image ``(ny, nx)`` or a
        stack ``(..., ny, nx)``; each plane is treated on its own. Not modified.

    Returns
    -------
    dict
        New arrays with the replaced values and DQ.
    """
    data = arrays["data"]
    ny, nx = data.shape[-2:]
    yy, xx = np.ogrid[:ny, :nx]
    # jwst's strict inequalities with a pad of 1: rows/columns 0, 1 and the last stay.
    inside = (yy > 1) & (yy < ny - 1) & (xx > 1) & (xx < nx - 1)
    idx = np.nonzero(~np.isfinite(data) & inside)
    lead, y, x = idx[:-2], idx[-2], idx[-1]
    left, right = (*lead, y, x - 1), (*lead, y, x + 1)
    below, above = (*lead, y - 1, x), (*lead, y + 1, x)
    # The direction comes from the original data only (later replacements do not count).
    diffs = np.stack([np.abs(data[left] - data[right]), np.abs(data[below] - data[above])])
    diffs[np.isnan(diffs)] = np.inf
    usable = ~np.all(np.isinf(diffs), axis=0)
    vertical = np.argmin(diffs, axis=0)[usable].astype(bool)  # ties go to horizontal
    target = tuple(i[usable] for i in idx)
    pairs = [tuple(i[usable] for i in p) for p in (left, right, below, above)]

    out = {k: np.array(v) for k, v in arrays.items()}
    for name in ("data", *ERROR_ARRAYS):
        if name not in arrays:
            continue
        src = arrays[name]
        values = [src[p] for p in pairs]
        if name in VARIANCES:
            values = [np.sqrt(v) for v in values]  # average as errors, then square
        horiz = (values[0] + values[1]) / 2.0
        vert = (values[2] + values[3]) / 2.0
        chosen = np.where(vertical, vert, horiz)
        out[name][target] = chosen**2 if name in VARIANCES else chosen
    dq = out["dq"]
    old = dq[target]
    clear = ((old & DO_NOT_USE) != 0) & ((old & NON_SCIENCE) == 0)
    dq[target] = np.where(clear, old & ~np.uint32(DO_NOT_USE), old) | FLUX_ESTIMATED
    return out


# ----------------------------------------------------------------------------- fit_profile


def profile_mse(scale: np.ndarray, median: np.ndarray, current: np.ndarray) -> float:
    """Mean squared difference between `current` and `median` scaled by `scale`.

    NaNs of `median` count in the number of points (as in jwst), those of `current` not.
    """
    resid = np.nansum((current - (median * scale)) ** 2.0)
    return resid / (len(median) - np.count_nonzero(np.isnan(current)))


def _column_classes(dq: np.ndarray, rows: slice) -> tuple[np.ndarray, np.ndarray]:
    """(valid, to_replace) booleans of every column (cross-dispersion vector)."""
    sub = dq[rows]
    nonsci = (sub & NON_SCIENCE) != 0
    bad = ((sub & DO_NOT_USE) != 0) & ~nonsci
    n_bad = bad.sum(axis=0)
    valid = (n_bad + nonsci.sum(axis=0)) != sub.shape[0]
    return valid, valid & (n_bad > 0)


def _median_profiles(arrays: Arrays, dq: np.ndarray, cols: np.ndarray, valid: np.ndarray,
                     n_adjacent: int, rows: slice) -> dict[str, Any]:
    """Normalised median profiles of the neighbours of each column in `cols` at once.

    The neighbours of column ``c`` are the valid columns ``c - n ... c + n`` but ``c``;
    missing ones are NaN padding, which the NaN-aware reductions ignore, so each column
    gets the numbers jwst computes from its own neighbours.
    """
    offsets = np.array([o for o in range(-n_adjacent, n_adjacent + 1) if o != 0], dtype=int)
    idx = cols[:, None] + offsets[None, :]  # (m, k)
    inside = (idx >= 0) & (idx < dq.shape[1])
    idx = np.clip(idx, 0, dq.shape[1] - 1)
    present = inside & valid[idx]
    invalid = ((dq[rows][:, idx] & DO_NOT_USE) != 0) | ~present[None]  # (nprof, m, k)
    profile = np.where(invalid, np.nan, arrays["data"][rows][:, idx])
    err = np.where(invalid, np.nan, arrays["err"][rows][:, idx])
    snr = np.abs(profile / err)
    norm = np.nanmax(np.abs(profile), axis=0, keepdims=True)  # (1, m, k)
    low_snr = np.nanmax(snr, axis=(0, 2)) < 5
    norm[:, low_snr, :] = 1.0  # low S/N everywhere: do not normalise to noise
    result = {"median": np.nanmedian(profile / norm, axis=2), "present": present.any(axis=1),
              "normalised": np.nanmedian(norm[0], axis=1) != 1.0, "errors": {}}
    for name in ERROR_ARRAYS:
        if name in arrays:
            values = arrays[name][rows][:, idx]
            if name != "err":
                values = np.sqrt(values)  # variances are combined as errors
            values = np.where(invalid, np.nan, values)
            result["errors"][name] = np.nanmedian(values / norm, axis=2)
    return result


def _fit_scale(median: np.ndarray, cleaned: np.ndarray,
               normalised: bool) -> tuple[Any, Any] | None:
    """(normalised scale, scale) fitting the profile to a column; None without good data."""
    good = np.nonzero(~np.isnan(cleaned))[0]
    if len(good) == 0:
        return None
    min_median = median[good]
    min_current = cleaned[good]
    norm_current = min_current / np.max(min_current)
    # jwst fits only when the profiles were normalised and nothing overflows the fit.
    if (normalised and np.nanmax(np.abs(min_median)) < 1e20
            and np.nanmax(np.abs(norm_current)) < 1e20):
        fit = minimize(profile_mse, x0=np.abs(np.nanmax(norm_current)),
                       args=(np.abs(min_median), np.abs(norm_current)), method="Nelder-Mead")
        return fit.x[0], np.max(min_current)
    return 1.0, 1.0


def _replace_columns(arrays: Arrays, dq0: np.ndarray, cols: np.ndarray, valid: np.ndarray,
                     n_adjacent: int, rows: slice) -> None:
    """Replace the DO_NOT_USE pixels of the columns `cols` (in place)."""
    prof = _median_profiles(arrays, dq0, cols, valid, n_adjacent, rows)
    dq = dq0[rows][:, cols]
    cleaned = np.where(dq & DO_NOT_USE, np.nan, arrays["data"][rows][:, cols])
    fits = [_fit_scale(prof["median"][:, j], cleaned[:, j], prof["normalised"][j])
            if prof["present"][j] else None for j in range(len(cols))]
    # Columns without valid neighbours or without good values stay as they are.
    done = np.array([f is not None for f in fits], dtype=bool)
    # The scales keep the data's precision (Nelder-Mead returns x in x0's float32), so
    # the products below round as jwst's do.
    fits = np.array([f for f in fits if f is not None],
                    dtype=prof["median"].dtype).reshape(-1, 2)
    cols, dq, cleaned = cols[done], dq[:, done], cleaned[:, done]
    replace = ((dq & DO_NOT_USE) ^ (dq & NON_SCIENCE)) == 1
    # Unreplaced DO_NOT_USE pixels of these columns become NaN, as in jwst.
    new = np.where(replace, prof["median"][:, done] * fits[:, 0] * fits[:, 1], cleaned)
    arrays["data"][rows, cols] = new
    arrays["dq"][rows, cols] = np.where(replace & ~np.isnan(new),
                                        dq ^ DO_NOT_USE ^ FLUX_ESTIMATED, dq)
    for name, err in prof["errors"].items():
        estimate = err[:, done] * fits[:, 0] * fits[:, 1]
        if name in VARIANCES:
            estimate = estimate**2
        arrays[name][rows, cols] = np.where(replace, estimate, arrays[name][rows][:, cols])


def fit_profile(arrays: Arrays, dispaxis: int, n_adjacent_cols: int = 3) -> Arrays:
    """Replace DO_NOT_USE pixels from a profile fitted to the neighbouring vectors.

    Parameters
    ----------
    arrays : dict
        ``data``, ``dq`` and ``err`` (plus any ``var_*``) of one 2-D image. Not modified.
    dispaxis : int
        1 when the dispersion runs along x (the profiles are columns), 2 along y (rows).
    n_adjacent_cols : int
        Vectors taken on each side of the one being replaced.

    Returns
    -------
    dict
        New arrays.
    """
    # Work with the profiles as columns; a transposed view gives the same numbers.
    flip = dispaxis == 2
    out = {k: np.array(v.T if flip else v) for k, v in arrays.items()}
    dq0 = out["dq"].copy()
    good_r, good_c = np.nonzero((dq0 & DO_NOT_USE) == 0)
    if good_r.size == 0:
        log.warning("no good pixels in the image; pixel replacement skipped")
        return {k: np.array(v) for k, v in arrays.items()}
    rows = slice(int(good_r.min()), int(good_r.max()) + 1)
    valid, to_replace = _column_classes(dq0, rows)
    # Only columns inside the bounding box of the good pixels take part.
    box = np.zeros(len(valid), dtype=bool)
    box[good_c.min():good_c.max() + 1] = True
    valid &= box
    cols = np.nonzero(to_replace & box)[0]
    if n_adjacent_cols < 1:
        cols = cols[:0]  # no neighbours to build a profile from: nothing changes, as in jwst
    with warnings.catch_warnings():
        for text in ("All-NaN slice", "invalid value", "divide by zero", "overflow"):
            warnings.filterwarnings("ignore", text, RuntimeWarning)
        for start in range(0, len(cols), _CHUNK):  # bounds the (rows, columns, k) stacks
            _replace_columns(out, dq0, cols[start:start + _CHUNK], valid, n_adjacent_cols,
                             rows)
    return {k: (v.T.copy() if flip else v) for k, v in out.items()}


def fit_profile_ifu(arrays: Arrays, regions: np.ndarray, dispaxis: int,
                    n_adjacent_cols: int = 3) -> Arrays:
    """:func:`fit_profile` slice by slice of an IFU image, with the other slices masked.

    Parameters
    ----------
    arrays : dict
        The IFU image's arrays. Not modified.
    regions : numpy.ndarray
        Slice number of every pixel (0 between slices).
    dispaxis : int
        The dispersion direction.
    n_adjacent_cols : int
        Vectors taken on each side.

    Returns
    -------
    dict
        New arrays; pixels outside every slice are unchanged.
    """
    out = {k: np.array(v) for k, v in arrays.items()}
    for number in np.unique(regions[regions > 0]):
        mask = regions == number
        # Everything outside the slice is DO_NOT_USE | NON_SCIENCE for its fit, so cutting
        # the arrays to the slice's bounding box changes nothing and saves time.
        ys, xs = np.nonzero(mask)
        box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
        sub = {k: v[box] for k, v in arrays.items()}
        inside = mask[box]
        sub["dq"] = np.where(inside, sub["dq"], sub["dq"] | DO_NOT_USE | NON_SCIENCE)
        fitted = fit_profile(sub, dispaxis, n_adjacent_cols)
        for name, values in fitted.items():
            out[name][box] = np.where(inside, values, out[name][box])
    return out


# ----------------------------------------------------------------------------- trace_model


def _interp_along_dispersion(values: np.ndarray, bad: np.ndarray, dispaxis: int) -> None:
    """Fill the `bad` pixels of `values` (in place) by linear interpolation along the
    dispersion within their cross-dispersion line, from the line's finite values."""
    lines = values if dispaxis == 1 else values.T  # a view: rows are the lines
    bad_lines = bad if dispaxis == 1 else bad.T
    lines[bad_lines] = np.nan
    positions = np.arange(lines.shape[1])
    for k in np.nonzero(bad_lines.any(axis=1))[0]:
        line = lines[k]
        finite = np.isfinite(line)
        if finite.any():
            todo = bad_lines[k]
            line[todo] = np.interp(positions[todo], positions[finite], line[finite])


def trace_model(arrays: Arrays, trace: np.ndarray | None, dispaxis: int | None) -> Arrays:
    """Take bad pixels from the trace model where it is finite, then run :func:`mingrad`.

    Parameters
    ----------
    arrays : dict
        The image's arrays. Not modified.
    trace : numpy.ndarray or None
        The trace model (adaptive_trace_model's ``TRACEMODEL``); None means mingrad only.
    dispaxis : int or None
        The dispersion direction (the errors are interpolated along it).

    Returns
    -------
    dict
        New arrays.
    """
    if trace is None:
        return mingrad(arrays)
    data = arrays["data"]
    take = ~np.isfinite(data) & np.isfinite(trace)
    if not take.any() or dispaxis not in (1, 2):
        return mingrad(arrays)
    out = {k: np.array(v) for k, v in arrays.items()}
    out["data"][take] = trace[take]
    dq = out["dq"]
    dq[take & ((dq & DO_NOT_USE) > 0)] ^= DO_NOT_USE
    dq[take] |= FLUX_ESTIMATED
    for name in ERROR_ARRAYS:
        if name in out:
            values = out[name] if name == "err" else np.sqrt(out[name])
            _interp_along_dispersion(values, take, dispaxis)
            out[name] = values if name == "err" else values**2
    return mingrad(out)


# ----------------------------------------------------------------------------- products


def _dispaxis(part: Part, product: Product) -> int | None:
    value = metatools.get(part.meta, "wcsinfo.dispersion_direction")
    if value is None:
        value = product.get("wcsinfo.dispersion_direction")
    return None if value is None else int(value)


def _part_arrays(part: Part) -> Arrays:
    arrays = {k: part.arrays[k] for k in ("data", *ERROR_ARRAYS) if k in part.arrays}
    arrays["dq"] = part.dq
    return arrays


def _region_map(part: Part, product: Product, where: str) -> np.ndarray:
    """The IFU slice map: ``REGIONS``, else (MIRI MRS) the WCS's slice label mapper."""
    if "regions" in part.arrays:
        return part.arrays["regions"]
    if product.exp_type == "MIR_MRS" and part.wcs is not None:
        try:
            first = part.wcs.available_frames[0]
            return np.array(part.wcs.get_transform(first, "alpha_beta").label_mapper.mapper)
        except (AttributeError, ValueError, KeyError, TypeError):
            pass
    raise InputFileError(where, "algorithm='fit_profile' needs the IFU slice map (REGIONS, "
                                "or a MIRI MRS WCS with a slice label mapper); none found")


def _replace_plane(arrays: Arrays, algorithm: str, dispaxis: int | None, n_adjacent: int,
                   trace: np.ndarray | None, regions: np.ndarray | None, where: str) -> Arrays:
    if algorithm == "mingrad":
        return mingrad(arrays)
    if algorithm == "trace_model":
        return trace_model(arrays, trace, dispaxis)
    if dispaxis not in (1, 2):
        raise InputFileError(where, f"algorithm='fit_profile' needs the dispersion direction "
                                    f"(DISPAXIS 1 or 2), found {dispaxis!r}")
    if "err" not in arrays:
        arrays = {**arrays, "err": np.full(arrays["data"].shape, np.nan, np.float32)}
    if regions is not None:
        return fit_profile_ifu(arrays, regions, dispaxis, n_adjacent)
    return fit_profile(arrays, dispaxis, n_adjacent)


def _replace_part(part: Part, product: Product, algorithm: str, n_adjacent: int,
                  where: str) -> Part:
    """One slit, image or stack with its bad pixels replaced."""
    arrays = _part_arrays(part)
    dispaxis = _dispaxis(part, product)
    trace = part.arrays.get("trace_model")
    regions = None
    if product.model_type == "IFUImageModel" and algorithm == "fit_profile":
        regions = _region_map(part, product, where)
    before = np.isfinite(arrays["data"]) & ((arrays["dq"] & FLUX_ESTIMATED) > 0)
    if arrays["data"].ndim == 2:
        new = _replace_plane(arrays, algorithm, dispaxis, n_adjacent, trace, regions, where)
    elif algorithm == "mingrad":
        new = mingrad(arrays)  # vectorised over the integrations too
    else:
        planes = []
        for i in range(arrays["data"].shape[0]):
            plane_trace = trace[i] if trace is not None and trace.ndim == 3 else trace
            planes.append(_replace_plane({k: v[i] for k, v in arrays.items()}, algorithm,
                                         dispaxis, n_adjacent, plane_trace, None,
                                         f"{where} integration {i}"))
        new = {k: np.stack([p[k] for p in planes]) for k in arrays}
    after = np.isfinite(new["data"]) & ((new["dq"] & FLUX_ESTIMATED) > 0)
    log.info("%s: %d pixels replaced", where, int(np.count_nonzero(after & ~before)))
    keep = {k: v for k, v in new.items() if k in part.arrays or k == "dq"}
    return part.evolve(arrays=keep)


def _replace_product(product: Product, algorithm: str, n_adjacent: int,
                     label: str) -> Product:
    parts = []
    for k, part in enumerate(product.parts):
        where = label if len(product.parts) == 1 and not product.is_multi else (
            f"{label} {'slit' if product.model_type == 'MultiSlitModel' else 'exposure'} "
            f"{part.attrs.get('name', k)}")
        part = _replace_part(part, product, algorithm, n_adjacent, where)
        if product.model_type == "MultiExposureModel":
            part = part.evolve(meta={_STATUS: COMPLETE})  # each is a SlitModel in jwst
        parts.append(part)
    return product.evolve(parts=parts, meta={_STATUS: COMPLETE})


def _trace_model_available(first: Product) -> bool:
    """Whether adaptive_trace_model completed on the inputs (jwst checks the first)."""
    meta = first.parts[0].meta if first.model_type == "MultiExposureModel" and first.parts \
        else first.meta
    status = metatools.get(meta, "cal_step.adaptive_trace_model")
    if status is None:
        status = first.get("cal_step.adaptive_trace_model")
    return str(status).upper() == COMPLETE


def pixel_replace(inputs: Sequence[Product], *, algorithm: str = "mingrad",
                  n_adjacent_cols: int = 3) -> StepResult:
    """Estimate bad pixels of 2-D spectral images (jwst's ``PixelReplaceStep``).

    Parameters
    ----------
    inputs : Sequence[Product]
        ``MultiSlitModel``, ``MultiExposureModel`` (a source), ``SlitModel``,
        ``ImageModel``, ``IFUImageModel`` or ``CubeModel`` products.
    algorithm : {'mingrad', 'fit_profile', 'trace_model'}
        Replacement method. ``trace_model`` needs the inputs to have been through
        adaptive_trace_model; otherwise it falls back to ``mingrad`` with a warning.
    n_adjacent_cols : int
        ``fit_profile``: vectors on each side used to build the profile.

    Returns
    -------
    StepResult
        One product per input (``origin`` = its index, suffix ``pixel_replace``) with
        ``S_PXREPL`` = COMPLETE; products of other types are passed through with FAILED,
        as jwst records them. SKIPPED when no input can be processed.

    Raises
    ------
    InputFileError
        For ``fit_profile`` on an image without a dispersion direction, or on an IFU
        image without a slice map.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"pixel_replace: algorithm {algorithm!r} is not one of {ALGORITHMS}")
    if not inputs:
        return StepResult((), SKIPPED, "no inputs")
    if algorithm == "trace_model" and not _trace_model_available(inputs[0]):
        log.warning("algorithm 'trace_model' needs adaptive_trace_model, which has not run "
                    "(spec3nb has no such step); using 'mingrad' instead, as jwst does when "
                    "the trace model fails")
        algorithm = "mingrad"
    outputs = []
    for i, product in enumerate(inputs):
        label = product.filename or f"input {i}"
        if product.model_type not in SUPPORTED:
            log.error("%s: pixel_replace has no algorithm for a %s; skipped", label,
                      product.model_type)
            outputs.append(StepOutput(product.evolve(meta={_STATUS: "FAILED"}), SUFFIX, i))
            continue
        outputs.append(StepOutput(_replace_product(product, algorithm, n_adjacent_cols,
                                                   label), SUFFIX, origin=i))
    if all(o.product.get(_STATUS) == "FAILED" for o in outputs):
        kinds = sorted({p.model_type for p in inputs})
        return StepResult(tuple(outputs), SKIPPED,
                          f"pixel_replace has no algorithm for {', '.join(kinds)}")
    return StepResult(tuple(outputs), COMPLETE)


SPEC = StepSpec(
    name="pixel_replace",
    summary="Estimate bad pixels of 2-D spectra from their neighbours or a fitted profile",
    function=pixel_replace,
    params=(
        Param("algorithm", CHOICE, "mingrad", "replacement method: minimum-gradient "
              "neighbours, a profile fitted to adjacent columns, or the trace model",
              choices=ALGORITHMS),
        Param("n_adjacent_cols", INT, 3, "fit_profile: columns on each side used to build "
              "the profile"),
    ),
    jwst_class="jwst.pixel_replace.PixelReplaceStep",
)

__all__ = ["SPEC", "fit_profile", "fit_profile_ifu", "mingrad", "pixel_replace",
           "profile_mse", "trace_model"]
