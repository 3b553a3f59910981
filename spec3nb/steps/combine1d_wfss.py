"""combine_1d for WFSS multi-source x1d files: each source combined on its own grid.

A ``WFSSMultiSpecModel`` holds the spectra of many sources (one table per exposure and
order, one row per source). As jwst 3.0.0 does (reference section 3.12, point 8), the rows
are regrouped by source, each source's spectra are combined per spectral order with the
algorithm of :mod:`spec3nb.steps.combine1d` (same grid, same accumulation, same clipping),
and the results are packed into one ``WFSSMultiCombinedSpecModel`` (one table per order, one
row per source sorted by ``SOURCE_ID``; :func:`spec3nb.steps.wfss_package.package_c1d`).

Difference from jwst 3.0.0 (deliberate): jwst gives every spectrum of a source the
exposure (or integration) time of the *first* table of the file, so all spectra of a
source weigh the same whatever their exposure times. Here each spectrum is weighted by the
``EFFEXPTM``/``EFFINTTM`` of its own table (exposure). With equal exposure times, or with
``exptime_key="unit_weight"``, the results are the same. A file with a single source also
gives a ``WFSSMultiCombinedSpecModel`` (jwst returns a plain ``MultiCombinedSpecModel`` for
that intermediate case, which calwebb_spec3 then packs the same way).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from spec3nb.datamodels import tables
from spec3nb.datamodels.products import Part, Product
from spec3nb.steps.combine1d import InputSpectrum, combine_order, weight_source
from spec3nb.steps.spec import COMPLETE, SKIPPED, StepOutput, StepResult
from spec3nb.steps.wfss_package import WfssSpectrum, package_c1d, spectra_of

_WEIGHT_ATTRS = {"exposure.exposure_time": "exposure_time",
                 "exposure.integration_time": "integration_time"}
_COMBINE_COLUMNS = ("WAVELENGTH", "FLUX", "FLUX_ERROR", "SURF_BRIGHT", "SB_ERROR", "DQ")


def _monotonic(wavelength: np.ndarray) -> bool:
    steps = np.diff(wavelength)
    return bool(np.all(steps > 0) or np.all(steps < 0))


def _weight(spectrum: WfssSpectrum, weight_key: str, label: str) -> float:
    if weight_key == "unit_weight":
        return 1.0
    value = getattr(spectrum, _WEIGHT_ATTRS[weight_key])
    if value is None:
        raise ValueError(f"{label}: the table of {spectrum.group_id} has no "
                         f"{_WEIGHT_ATTRS[weight_key]} (EFFEXPTM/EFFINTTM) to weight with")
    return float(value)


def _input_spectrum(spectrum: WfssSpectrum, weight: float, product: Product) -> InputSpectrum:
    values = spectrum.values
    attrs = {"source_id": spectrum.source_id, "spectral_order": spectrum.spectral_order,
             "dispersion_direction": spectrum.dispersion_direction,
             "source_type": values.get("SOURCE_TYPE") or None,
             "source_ra": values.get("SOURCE_RA"), "source_dec": values.get("SOURCE_DEC")}
    columns = {k: np.asarray(spectrum.columns[k]) for k in _COMBINE_COLUMNS}
    return InputSpectrum(columns, weight, product.get("target.ra"), product.get("target.dec"),
                         attrs, spectrum.units)


def source_spectra(products: Sequence[Product], weight_key: str
                   ) -> dict[int, dict[Any, list[InputSpectrum]]]:
    """Usable spectra by source id and spectral order, in input order.

    Spectra without finite flux or with wavelengths not strictly monotonic are left out,
    as combine_1d does.

    Parameters
    ----------
    products : Sequence[Product]
        ``WFSSMultiSpecModel`` products.
    weight_key : str
        What :func:`spec3nb.steps.combine1d.weight_source` returned.

    Returns
    -------
    dict
        Source id -> spectral order -> spectra.
    """
    out: dict[int, dict[Any, list[InputSpectrum]]] = {}
    for product in products:
        label = product.filename or "a WFSS x1d"
        for spectrum in spectra_of(product):
            flux, wave = spectrum.columns["FLUX"], spectrum.columns["WAVELENGTH"]
            if not np.isfinite(flux).any() or not _monotonic(wave):
                continue
            weight = _weight(spectrum, weight_key, label)
            by_order = out.setdefault(spectrum.source_id, {})
            by_order.setdefault(spectrum.spectral_order, []).append(
                _input_spectrum(spectrum, weight, product))
    return out


def combine_source(by_order: Mapping[Any, Sequence[InputSpectrum]], meta: Mapping[str, Any],
                   sigma_clip: float | None) -> Product:
    """Combine one source's spectra, order by order, into a ``MultiCombinedSpecModel``.

    Parameters
    ----------
    by_order : Mapping
        Spectral order -> input spectra (at least one each).
    meta : Mapping[str, Any]
        Metadata of the product.
    sigma_clip : float or None
        Clipping threshold, or None.

    Returns
    -------
    Product
        One combined table per order.
    """
    parts: list[Part] = []
    wcs = None
    for order, spectra in by_order.items():
        part, order_wcs = combine_order(spectra, order, sigma_clip)
        parts.append(part)
        wcs = order_wcs if wcs is None else wcs
    out = tables.primary_meta(meta)
    out.setdefault("cal_step", {})["combine_1d"] = COMPLETE
    return Product("MultiCombinedSpecModel", out, tuple(parts), wcs=wcs)


def combine_wfss(
    inputs: Sequence[Product], *, exptime_key: str = "exposure_time",
    sigma_clip: float | None = None,
) -> StepResult:
    """Combine the spectra of every source of WFSS multi-source x1d products.

    Parameters
    ----------
    inputs : Sequence[Product]
        ``WFSSMultiSpecModel`` products (spectra of the same source in several inputs are
        combined together).
    exptime_key : str
        ``exposure_time`` (EFFEXPTM), ``integration_time`` (EFFINTTM) or ``unit_weight``;
        each spectrum is weighted by its own table's time (see the module notes).
    sigma_clip : float or None
        Clip input pixels farther than this many median absolute deviations from the median.

    Returns
    -------
    StepResult
        One ``WFSSMultiCombinedSpecModel`` (suffix ``c1d``); SKIPPED with the inputs when no
        source has a usable spectrum.
    """
    unchanged = tuple(StepOutput(p, "c1d", origin=i) for i, p in enumerate(inputs))
    wrong = [p for p in inputs if p.model_type != "WFSSMultiSpecModel"]
    if wrong or not inputs:
        what = wrong[0].model_type if wrong else "nothing"
        return StepResult(unchanged, SKIPPED, f"combine_wfss takes WFSSMultiSpecModel "
                                              f"inputs, not {what}")
    try:
        sources = source_spectra(inputs, weight_source(exptime_key))
    except ValueError as exc:
        return StepResult(unchanged, SKIPPED, str(exc))
    if not sources:
        return StepResult(unchanged, SKIPPED, "no WFSS spectrum has valid flux and strictly "
                                              "monotonic wavelengths")
    combined = [combine_source(sources[s], inputs[0].meta, sigma_clip) for s in sorted(sources)]
    return StepResult((StepOutput(package_c1d(combined), "c1d"),), COMPLETE)
