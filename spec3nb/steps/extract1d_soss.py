"""extract_1d for NIRISS SOSS: box extraction of orders 1 and 2 along their curved traces.

What jwst 3.0.0 does with ``soss_atoca=False`` and ``soss_bad_pix="masking"`` (reference
section 3.10.4, ``soss_extract.run_extract1d``): the trace centre row and wavelength of every
column come from the PASTASOSS reference (its traces rotated to the pupil-wheel position);
a box of ``soss_width`` rows centred on the trace, with fractional weights at both edges,
is summed per column: ``FLUX = sum(w * data)``, ``FLUX_ERROR = sqrt(sum(w * err**2))``,
``NPIXELS = sum(w)``, with masked pixels at weight 0; pixels bad in some integrations only
are filled from the other integrations first. One ``TSOMultiSpecModel`` per exposure, one
table per order with one row per integration, in DN/s.

spec3nb's trace: jwst's PASTASOSS, SPECPROFILE and SPECKERNEL references describe the real
detector and are not available offline; the trace is what box extraction needs from them.
spec3nb therefore takes a small trace reference (:class:`SossTrace`, reference type
``sosstrace``): for each order, columns ``x``, trace centre rows ``y`` and ``wavelength``
(micron), a JSON file such as::

    {"orders": {"1": {"x": [...], "y": [...], "wavelength": [...]}, "2": {...}}}

which :func:`parse_soss_trace` reads (the simulator's truth holds exactly these). The trace
is interpolated linearly to every integer column within the reference's range (jwst
interpolates the PASTASOSS trace with a cubic spline). A trace measured from the data
(centroids) was not chosen: where orders 1 and 2 overlap, and at the faint end of order 2,
centroids are biased, and jwst too takes the trace from a reference, not from the data.

Differences from jwst 3.0.0: all exposures are extracted (jwst extracts the first exposure
of the association only); ATOCA decontamination is not implemented, so ``soss_atoca=True``
(jwst's default) also gives the box extraction, and ``soss_bad_pix="model"`` masks like
``masking`` (both noted in the step's reason); bad pixels of single integrations are filled
with the median of the other integrations (jwst: a running median of 9); ``DQ`` is
``DO_NOT_USE`` where the flux is NaN (jwst writes 0).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from spec3nb.datamodels import meta as metatools
from spec3nb.datamodels import tables
from spec3nb.datamodels.dq import DO_NOT_USE
from spec3nb.datamodels.products import Part, Product
from spec3nb.errors import InputFileError
from spec3nb.steps.spec import COMPLETE, SKIPPED, StepOutput, StepResult

#: Subarrays jwst 3.0.0 extracts (``NIS_SOSS_SUPPORTED_SUBARRAYS``).
SUPPORTED_SUBARRAYS = frozenset({"SUBSTRIP256", "SUBSTRIP96", "FULL", "SUB204STRIPE_SOSS",
                                 "SUB340STRIPE_SOSS", "SUB680STRIPE_SOSS", "SUB2048STRIPE_SOSS",
                                 "SUB1020STRIPE_SOSS"})
_TIME_COLUMNS = (("MJD-BEG", "int_start_MJD_UTC"), ("MJD-AVG", "int_mid_MJD_UTC"),
                 ("MJD-END", "int_end_MJD_UTC"), ("TDB-BEG", "int_start_BJD_TDB"),
                 ("TDB-MID", "int_mid_BJD_TDB"), ("TDB-END", "int_end_BJD_TDB"))


@dataclasses.dataclass(frozen=True)
class OrderTrace:
    """One order's trace: column, centre row and wavelength (micron), by increasing x."""

    x: np.ndarray
    y: np.ndarray
    wavelength: np.ndarray


@dataclasses.dataclass(frozen=True)
class SossTrace:
    """A spec3nb SOSS trace reference (reference type ``sosstrace``)."""

    orders: Mapping[int, OrderTrace]
    source: str = "sosstrace"


def parse_soss_trace(content: Mapping[str, Any], source: str = "sosstrace") -> SossTrace:
    """Build a :class:`SossTrace` from the decoded JSON content.

    Parameters
    ----------
    content : Mapping
        ``{"orders": {"1": {"x": [...], "y": [...], "wavelength": [...]}, ...}}``.
    source : str
        Where it came from (named in errors).

    Returns
    -------
    SossTrace
        The traces, sorted by column.

    Raises
    ------
    InputFileError
        If an order lacks a column, the lengths differ, or values are not finite.
    """
    orders = {}
    for key, entry in dict(content.get("orders", {})).items():
        try:
            arrays = [np.asarray(entry[n], dtype=np.float64) for n in ("x", "y", "wavelength")]
        except (KeyError, TypeError, ValueError) as exc:
            raise InputFileError(source, f"order {key}: needs numeric x, y and wavelength "
                                         f"lists ({exc})") from None
        if len({a.shape for a in arrays}) != 1 or arrays[0].ndim != 1 or arrays[0].size < 2:
            raise InputFileError(source, f"order {key}: x, y and wavelength must be lists "
                                         "of one length (at least 2)")
        if not all(np.isfinite(a).all() for a in arrays):
            raise InputFileError(source, f"order {key}: values must be finite")
        sort = np.argsort(arrays[0])
        orders[int(key)] = OrderTrace(*(a[sort] for a in arrays))
    if not orders:
        raise InputFileError(source, "no order in the SOSS trace reference")
    return SossTrace(orders, source)


def box_weights(centre: np.ndarray, width: float, nrows: int) -> np.ndarray:
    """Weights ``(nrows, ncols)`` of a box of `width` rows centred on `centre` per column.

    Rows wholly inside get 1; the two edge rows get the fraction of them inside.
    """
    rows = np.arange(nrows, dtype=np.float64)[:, None]
    low, high = centre[None, :] - width / 2.0, centre[None, :] + width / 2.0
    # Overlap of the pixel [row - 0.5, row + 0.5] with [low, high].
    return np.clip(np.minimum(rows + 0.5, high) - np.maximum(rows - 0.5, low), 0.0, 1.0)


def _filled(data: np.ndarray, err: np.ndarray, bad: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fill pixels bad in some integrations from the others; mask those bad in all."""
    masked = np.where(bad, np.nan, data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(masked, axis=0)
        median_err = np.nanmedian(np.where(bad, np.nan, err), axis=0)
    all_bad = bad.all(axis=0)
    data = np.where(bad, median[None], data)
    err = np.where(bad, 10.0 * median_err[None], err)  # filled values are uncertain
    return data, err, all_bad


def _order_columns(trace: OrderTrace, shape: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """Columns covered by the trace and the image, their trace rows and wavelengths."""
    cols = np.arange(shape[1])
    cols = cols[(cols >= trace.x[0]) & (cols <= trace.x[-1])]
    return (cols, np.interp(cols, trace.x, trace.y),
            np.interp(cols, trace.x, trace.wavelength))


def extract_order(data: np.ndarray, err: np.ndarray, mask: np.ndarray, trace: OrderTrace,
                  width: float) -> dict[str, np.ndarray]:
    """Box-extract one order from every integration.

    Parameters
    ----------
    data, err : numpy.ndarray
        ``(nints, ny, nx)`` count rates and errors (filled).
    mask : numpy.ndarray
        ``(ny, nx)`` pixels not to use.
    trace : OrderTrace
        The order's trace.
    width : float
        Box width (rows).

    Returns
    -------
    dict[str, numpy.ndarray]
        ``WAVELENGTH`` (ncols,), ``FLUX``, ``FLUX_ERROR``, ``NPIXELS`` (nints, ncols).
    """
    cols, centre, wave = _order_columns(trace, data.shape[-2:])
    weights = box_weights(centre, width, data.shape[-2])
    weights = np.where(mask[:, cols], 0.0, weights)
    inside = weights > 0
    d = np.where(inside, data[:, :, cols], 0.0)
    e = np.where(inside, err[:, :, cols], 0.0)
    flux = np.einsum("ryx,yx->rx", d, weights)
    variance = np.einsum("ryx,yx->rx", e**2, weights)
    npix = np.broadcast_to(weights.sum(axis=0), flux.shape)
    empty = npix <= 0
    return {"WAVELENGTH": wave, "FLUX": np.where(empty, np.nan, flux),
            "FLUX_ERROR": np.where(empty, np.nan, np.sqrt(variance)), "NPIXELS": npix}


def _tso_table(columns: Mapping[str, np.ndarray], int_nums: np.ndarray, segment: int,
               times: np.ndarray | None) -> np.ndarray:
    """A TSO ``EXTRACT1D`` table: one row per integration, the spectrum as vectors."""
    nints, ncols = columns["FLUX"].shape
    names = [c.name for c in tables.SPEC_COLUMNS]
    dtype = ([("INT_NUM", "i4")] + [(c.name, c.dtype, (ncols,)) for c in tables.SPEC_COLUMNS]
             + [("N_ALONGDISP", "u4"), ("SEGMENT", "i4")]
             + [(name, "f8") for name, _ in _TIME_COLUMNS])
    table = np.zeros(nints, dtype=dtype)
    table["INT_NUM"] = int_nums
    table["WAVELENGTH"] = columns["WAVELENGTH"][None, :]
    for name in ("FLUX", "FLUX_ERROR", "NPIXELS"):
        table[name] = columns[name]
    table["DQ"] = np.where(np.isnan(columns["FLUX"]), DO_NOT_USE, 0)
    table["N_ALONGDISP"], table["SEGMENT"] = ncols, segment
    if times is not None:
        for name, source in _TIME_COLUMNS:
            table[name] = times[source]
    units = {n: u for n, u in tables.spectrum_units(False, False).items() if n in names}
    return tables.with_units(table, units)


def _integration_times(product: Product, int_nums: np.ndarray) -> np.ndarray | None:
    table = product.part.arrays.get("int_times")
    if table is None or "integration_number" not in (table.dtype.names or ()):
        return None
    index = {int(n): i for i, n in enumerate(table["integration_number"])}
    if not all(int(n) in index for n in int_nums):
        return None
    return table[[index[int(n)] for n in int_nums]]


def extract_exposure(product: Product, trace: SossTrace, width: float) -> Product:
    """Extract every order of the trace reference from one SOSS exposure.

    Parameters
    ----------
    product : Product
        A ``CubeModel`` (or ``ImageModel``) SOSS exposure in DN/s.
    trace : SossTrace
        The traces.
    width : float
        ``soss_width``.

    Returns
    -------
    Product
        A ``TSOMultiSpecModel`` with one table per order.
    """
    part = product.part
    data = part.data if part.data.ndim == 3 else part.data[None]
    err = part.err if part.err.ndim == 3 else part.err[None]
    dq = part.dq if part.dq.ndim == 3 else part.dq[None]
    bad = ~np.isfinite(data) | ~np.isfinite(err) | ((dq & DO_NOT_USE) != 0) | ~(err > 0)
    data, err, mask = _filled(data, err, bad)
    start = product.get("exposure.integration_start") or 1
    int_nums = np.arange(start, start + data.shape[0])
    times = _integration_times(product, int_nums)
    segment = product.get("exposure.segment_number") or 1
    parts = []
    for order in sorted(trace.orders):
        columns = extract_order(data, err, mask, trace.orders[order], width)
        table = _tso_table(columns, int_nums, segment, times)
        attrs = {"spectral_order": order, "dispersion_direction": 1}
        parts.append(Part(arrays={"spec_table": table}, attrs=attrs))
    meta = metatools.thaw(product.meta)
    meta.setdefault("cal_step", {})["extract_1d"] = COMPLETE
    meta["soss_extract1d"] = {"width": width, "apply_decontamination": False,
                              "bad_pix": "masking"}
    meta.get("target", {}).pop("source_type", None)
    return tables.spectrum_product(parts, meta, "TSOMultiSpecModel")


def _refusal(product: Product) -> str | None:
    """Why jwst 3.0.0 would not extract this exposure (None when it would)."""
    if product.exp_type != "NIS_SOSS":
        return f"EXP_TYPE {product.exp_type} is not NIS_SOSS"
    if product.model_type not in ("CubeModel", "ImageModel"):
        return f"a {product.model_type} is not a SOSS exposure (CubeModel expected)"
    if str(product.get("instrument.filter", "")).upper() != "CLEAR":
        return f"filter {product.get('instrument.filter')}: only CLEAR is extracted"
    if str(product.get("subarray.name", "")).upper() not in SUPPORTED_SUBARRAYS:
        return f"subarray {product.get('subarray.name')} is not supported"
    return None


def extract_soss(
    inputs: Sequence[Product], *, soss_width: float = 40.0, soss_atoca: bool = True,
    soss_bad_pix: str = "masking", references: Mapping[str, Any] | None = None,
    **other: Any,
) -> StepResult:
    """Box-extract orders 1 and 2 of every NIRISS SOSS exposure.

    Parameters
    ----------
    inputs : Sequence[Product]
        SOSS exposures (``CubeModel``; all are extracted).
    soss_width : float
        Box width (rows).
    soss_atoca, soss_bad_pix : optional
        Accepted for compatibility; ATOCA and bad-pixel modelling are not implemented
        (box extraction with masking is done; the reason says so).
    references : Mapping[str, Any], optional
        ``sosstrace``: a :class:`SossTrace` (required).
    **other : Any
        extract_1d's other parameters (no effect on SOSS box extraction).

    Returns
    -------
    StepResult
        One ``TSOMultiSpecModel`` (suffix ``x1d``) per extracted exposure; SKIPPED with the
        reasons when none could be extracted.
    """
    trace = (references or {}).get("sosstrace")
    if isinstance(trace, Mapping):  # a loaded sosstrace document
        trace = parse_soss_trace(trace, str(trace.get("source", "sosstrace")))
    unchanged = tuple(StepOutput(p, "x1d", origin=i) for i, p in enumerate(inputs))
    if not isinstance(trace, SossTrace):
        return StepResult(unchanged, SKIPPED, "SOSS extraction needs a trace reference "
                                              "(override_sosstrace): spec3nb does not read "
                                              "the PASTASOSS/SPECPROFILE/SPECKERNEL references")
    if soss_width <= 0:
        raise InputFileError("parameters", f"soss_width={soss_width} must be positive")
    notes = []
    if soss_atoca:
        notes.append("ATOCA decontamination is not implemented: box extraction only")
    if soss_bad_pix == "model":
        notes.append("soss_bad_pix='model' needs ATOCA models: bad pixels are masked")
    outputs = []
    for i, product in enumerate(inputs):
        why = _refusal(product)
        if why is not None:
            notes.append(f"{product.filename or f'input {i}'}: {why}; skipped")
            continue
        outputs.append(StepOutput(extract_exposure(product, trace, soss_width), "x1d",
                                  origin=i))
    if not outputs:
        return StepResult(unchanged, SKIPPED, "; ".join(notes))
    return StepResult(tuple(outputs), COMPLETE, "; ".join(notes))
