"""combine_1d: merge the 1-D spectra of one source onto a common wavelength grid.

The algorithm is jwst 3.0.0's (reference section 3.12): an output grid built from the union
of the input wavelengths (clumps of nearly equal wavelengths averaged, gaps filled with
block means), each input pixel assigned to the nearest output pixel, and an exposure-time
weighted mean per output pixel, optionally after clipping against the median.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from spec3nb.datamodels import tables
from spec3nb.datamodels.dq import DO_NOT_USE
from spec3nb.datamodels.products import Part, Product
from spec3nb.params import FLOAT, STR, Param
from spec3nb.steps.combine1d_grid import output_wavelengths
from spec3nb.steps.spec import COMPLETE, SKIPPED, StepOutput, StepResult, StepSpec
from spec3nb.steps.spectral_wcs import spectral_wcs

# Attributes copied from the first input spectrum of an order to the combined spectrum.
_COPIED = ("source_id", "dispersion_direction", "source_type", "source_ra", "source_dec")
_SPEC_NAMES = frozenset(c.name for c in tables.SPEC_COLUMNS)
# Extracted-spectrum products whose spectra of one source are combined together. WFSS
# multi-source x1d files hold many sources and are combined source by source
# (combine1d_wfss).
_COMBINABLE = frozenset({"MultiSpecModel", "MRSMultiSpecModel", "TSOMultiSpecModel"})


@dataclasses.dataclass(frozen=True)
class InputSpectrum:
    """One input spectrum, its weight and where it came from."""

    columns: Mapping[str, np.ndarray]
    weight: float
    ra: float
    dec: float
    attrs: Mapping[str, Any]
    units: Mapping[str, str]

    @property
    def wavelength(self) -> np.ndarray:
        """Wavelengths (micron)."""
        return self.columns["WAVELENGTH"]


def weight_source(exptime_key: str) -> str:
    """Map ``exptime_key`` to the metadata used as weight, as jwst reads it.

    Parameters
    ----------
    exptime_key : str
        ``exposure_time``/``effexptm``, ``integration_time``/``effinttm``, or
        ``unit_weight``; anything else means unit weight.

    Returns
    -------
    str
        ``exposure.exposure_time``, ``exposure.integration_time`` or ``unit_weight``.
    """
    key = exptime_key.lower()
    if key.startswith("integration") or key == "effinttm":
        return "exposure.integration_time"
    if key.startswith("exposure") or key == "effexptm":
        return "exposure.exposure_time"
    return "unit_weight"


def _rows_as_spectra(part: Part) -> list[Part]:
    """Split a table of spectra with one spectrum per row (TSO, WFSS) into parts."""
    table = part.table
    scalar_names = [n for n in table.dtype.names if table.dtype[n].shape == ()]
    units = tables.column_units(table)
    parts = []
    for row in table:
        count = int(row["N_ALONGDISP"])
        columns = {n: row[n][:count] for n in table.dtype.names
                   if table.dtype[n].shape != () and n in _SPEC_NAMES}
        attrs = {**part.attrs, **{n.lower(): row[n].item() for n in scalar_names
                                  if n != "N_ALONGDISP"}}
        spec = tables.spec_table(columns.pop("WAVELENGTH"), units=units, **columns)
        parts.append(Part(arrays={"spec_table": spec}, attrs=attrs, meta=part.meta,
                          wcs=part.wcs))
    return parts


def _input_spectrum(product: Product, part: Part, weight_key: str) -> InputSpectrum:
    table = part.table
    columns = {n: np.asarray(table[n]) for n in
               ("WAVELENGTH", "FLUX", "FLUX_ERROR", "SURF_BRIGHT", "SB_ERROR", "DQ")}
    if weight_key == "unit_weight":
        weight = 1.0
    else:
        weight = product.get(weight_key)
        if weight is None:
            raise ValueError(f"{product.filename or 'an input'} has no {weight_key}")
    if part.wcs is not None:
        ra, dec, _ = part.wcs(0.0)
    else:
        ra, dec = product.get("target.ra"), product.get("target.dec")
    units = tables.column_units(table)
    return InputSpectrum(columns, float(weight), ra, dec, dict(part.attrs), units)


def _monotonic(wavelength: np.ndarray) -> bool:
    steps = np.diff(wavelength)
    return bool(np.all(steps > 0) or np.all(steps < 0))


def collect_spectra(products: Sequence[Product], weight_key: str
                    ) -> dict[Any, list[InputSpectrum]]:
    """Return the usable input spectra grouped by spectral order, in input order.

    Spectra without any finite flux, or whose wavelengths are not strictly monotonic, are
    left out (as jwst does).

    Parameters
    ----------
    products : Sequence[Product]
        x1d products.
    weight_key : str
        What :func:`weight_source` returned.

    Returns
    -------
    dict
        Spectral order -> input spectra.
    """
    by_order: dict[Any, list[InputSpectrum]] = {}
    for product in products:
        if product.model_type not in _COMBINABLE:
            raise TypeError(f"{product.filename or 'an input'} is a {product.model_type}; "
                            f"combine_1d takes {', '.join(sorted(_COMBINABLE))}")
        for part in product.parts:
            vector = part.table.dtype["WAVELENGTH"].shape != ()
            for spectrum in (_rows_as_spectra(part) if vector else [part]):
                table = spectrum.table
                if not np.isfinite(table["FLUX"]).any() or not _monotonic(table["WAVELENGTH"]):
                    continue
                order = spectrum.attrs.get("spectral_order")
                by_order.setdefault(order, []).append(
                    _input_spectrum(product, spectrum, weight_key))
    return by_order


def _output_index(grid: np.ndarray, wavelength: np.ndarray) -> np.ndarray:
    """Nearest output pixel of each input wavelength (-1 outside the grid).

    The pixel position is interpolated linearly in the grid (the inverse of the spectral
    WCS) and rounded half to even, as Python's ``round`` does in jwst.
    """
    position = np.interp(wavelength, grid, np.arange(len(grid), dtype=float),
                         left=np.nan, right=np.nan)
    index = np.full(len(wavelength), -1, dtype=np.int64)
    finite = np.isfinite(position)
    index[finite] = np.rint(position[finite]).astype(np.int64)
    index[(index < 0) | (index >= len(grid))] = -1
    return index


def accumulate(grid: np.ndarray, spectra: Sequence[InputSpectrum]) -> dict[str, np.ndarray]:
    """Place every usable input pixel on its output pixel.

    Pixels flagged ``DO_NOT_USE``, with NaN flux, or off the grid are skipped. Within one
    spectrum, when two pixels land on the same output pixel the later one replaces the
    earlier (as in jwst); the DQ of every placed pixel is OR-ed into the output pixel.

    Parameters
    ----------
    grid : numpy.ndarray
        Output wavelengths.
    spectra : Sequence[InputSpectrum]
        The input spectra.

    Returns
    -------
    dict[str, numpy.ndarray]
        ``flux``, ``error``, ``surf_bright``, ``sb_error``, ``weight``, ``count`` of shape
        (nspectra, ngrid), and ``dq`` of shape (ngrid,).
    """
    shape = (len(spectra), len(grid))
    out = {k: np.zeros(shape) for k in ("flux", "error", "surf_bright", "sb_error",
                                        "weight", "count")}
    dq = np.zeros(len(grid), dtype=np.uint32)
    sources = {"flux": "FLUX", "error": "FLUX_ERROR", "surf_bright": "SURF_BRIGHT",
               "sb_error": "SB_ERROR"}
    for s, spectrum in enumerate(spectra):
        cols = spectrum.columns
        index = _output_index(grid, spectrum.wavelength)
        usable = ((cols["DQ"] & DO_NOT_USE) == 0) & ~np.isnan(cols["FLUX"]) & (index >= 0)
        pixels = np.flatnonzero(usable)
        np.bitwise_or.at(dq, index[pixels], cols["DQ"][pixels].astype(np.uint32))
        # The last pixel that lands on an output pixel wins: keep last occurrences only.
        reversed_index = index[pixels][::-1]
        _, first_in_reversed = np.unique(reversed_index, return_index=True)
        last = pixels[::-1][first_in_reversed]
        for key, column in sources.items():
            out[key][s, index[last]] = cols[column][last]
        out["weight"][s, index[last]] = spectrum.weight
        out["count"][s, index[last]] = 1.0
    out["dq"] = dq
    return out


def _clip(acc: dict[str, np.ndarray], sigma_clip: float) -> None:
    """Drop input pixels farther than `sigma_clip` median absolute deviations (in place)."""
    weighted = acc["flux"] * acc["weight"]
    masked = np.where((acc["count"] < 1) | (weighted == 0.0), np.nan, weighted)
    median = np.nanmedian(masked, axis=0)
    mad = np.nanmedian(np.abs(masked - median))
    clipped = np.abs(weighted - median) > sigma_clip * mad
    for key in ("flux", "error", "surf_bright", "sb_error"):
        acc[key][clipped] = np.nan
    acc["count"][clipped] = 0.0
    acc["weight"][clipped] = 0.0


def combine(acc: dict[str, np.ndarray], sigma_clip: float | None) -> dict[str, np.ndarray]:
    """Weighted means over the input spectra of each output pixel.

    Parameters
    ----------
    acc : dict[str, numpy.ndarray]
        What :func:`accumulate` returned (modified when clipping).
    sigma_clip : float or None
        Clipping threshold in median absolute deviations, or None.

    Returns
    -------
    dict[str, numpy.ndarray]
        1-D ``flux``, ``error``, ``surf_bright``, ``sb_error``, ``weight``, ``n_input``,
        ``dq``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        if sigma_clip is not None:
            _clip(acc, sigma_clip)
        w = acc["weight"]
        total = np.nansum(w, axis=0)
        divisor = np.where(total > 0.0, total, 1.0)
        return {
            "flux": np.nansum(acc["flux"] * w, axis=0) / divisor,
            "error": np.sqrt(np.nansum((acc["error"] * w) ** 2, axis=0)) / divisor,
            "surf_bright": np.nansum(acc["surf_bright"] * w, axis=0) / divisor,
            "sb_error": np.sqrt(np.nansum((acc["sb_error"] * w) ** 2, axis=0)) / divisor,
            "weight": total,
            "n_input": np.nansum(acc["count"], axis=0),
            "dq": acc["dq"],
        }


def combine_order(spectra: Sequence[InputSpectrum], order: Any,
                  sigma_clip: float | None) -> tuple[Part, Any]:
    """Combine the spectra of one spectral order.

    Parameters
    ----------
    spectra : Sequence[InputSpectrum]
        The order's input spectra (at least one).
    order : Any
        The spectral order (None when the inputs have none).
    sigma_clip : float or None
        Clipping threshold, or None.

    Returns
    -------
    tuple[Part, gwcs.WCS]
        The combined spectrum and its spectral WCS.
    """
    grid = output_wavelengths([s.wavelength for s in spectra])
    result = combine(accumulate(grid, spectra), sigma_clip)
    kept = result["n_input"] > 0  # output pixels that no input reached are dropped
    first = spectra[0]
    units = tables.combined_units(first.units.get("FLUX"), first.units.get("SURF_BRIGHT"))
    table = tables.combined_table(grid[kept], units=units,
                                  **{k: v[kept] for k, v in result.items()})
    attrs = {k: first.attrs.get(k) for k in _COPIED if first.attrs.get(k) is not None}
    attrs["spectral_order"] = order
    return Part(arrays={"spec_table": table}, attrs=attrs), spectral_wcs(first.ra, first.dec,
                                                                       grid)


def combine_1d(
    inputs: Sequence[Product], *, exptime_key: str = "exposure_time",
    sigma_clip: float | None = None,
) -> StepResult:
    """Combine the 1-D spectra of one source into a ``_c1d`` product.

    Parameters
    ----------
    inputs : Sequence[Product]
        x1d products (``MultiSpecModel``, ``MRSMultiSpecModel``, ``TSOMultiSpecModel``).
    exptime_key : str
        Which exposure time weights each spectrum (see :func:`weight_source`).
    sigma_clip : float or None
        Clip input pixels farther than this many median absolute deviations from the median.

    Returns
    -------
    StepResult
        One ``MultiCombinedSpecModel`` (one spectrum per spectral order), or SKIPPED when
        no input spectrum is usable.
    """
    if inputs and all(p.model_type == "WFSSMultiSpecModel" for p in inputs):
        from spec3nb.steps.combine1d_wfss import combine_wfss

        return combine_wfss(inputs, exptime_key=exptime_key, sigma_clip=sigma_clip)
    weight_key = weight_source(exptime_key)
    try:
        by_order = collect_spectra(inputs, weight_key)
    except (TypeError, ValueError) as exc:
        return StepResult(_unchanged(inputs), SKIPPED, str(exc))
    if not by_order:
        return StepResult(_unchanged(inputs), SKIPPED, "no input spectrum has valid flux")
    parts, wcs = [], None
    for order, spectra in by_order.items():
        part, order_wcs = combine_order(spectra, order, sigma_clip)
        parts.append(part)
        wcs = order_wcs if wcs is None else wcs
    meta = tables.primary_meta(inputs[0].meta)
    meta.setdefault("cal_step", {})["combine_1d"] = COMPLETE
    product = Product("MultiCombinedSpecModel", meta, tuple(parts), wcs=wcs)
    return StepResult((StepOutput(product, "c1d"),), COMPLETE)


def _unchanged(inputs: Sequence[Product]) -> tuple[StepOutput, ...]:
    return tuple(StepOutput(p, "c1d", origin=i) for i, p in enumerate(inputs))


SPEC = StepSpec(
    name="combine_1d",
    summary="Combine the 1-D spectra of a source onto one wavelength grid",
    function=combine_1d,
    params=(
        Param("exptime_key", STR, "exposure_time",
              "metadata used to weight each spectrum: exposure_time (EFFEXPTM), "
              "integration_time (EFFINTTM) or unit_weight"),
        Param("sigma_clip", FLOAT, None,
              "clip input pixels farther than this many median absolute deviations from "
              "the median of all inputs (None: no clipping)", minimum=0.0),
    ),
    jwst_class="jwst.combine_1d.Combine1dStep",
)
