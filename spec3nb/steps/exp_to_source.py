"""exp_to_source: regroup multi-slit exposures into one product per source.

NIRSpec fixed slit and MOS, and the WFSS modes, deliver one ``MultiSlitModel`` per exposure
holding many slits or cutouts. Stage 3 works source by source, so every slit is moved into
a ``MultiExposureModel`` gathering that source's slits from all exposures. The key is the
slit's ``source_name`` when it has one (MOS) and its ``source_id`` otherwise (fixed slits,
WFSS), in the order first seen, as in jwst 3.0.0's ``multislit_to_container``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from spec3nb.datamodels import meta as metatools
from spec3nb.datamodels.products import Part, Product
from spec3nb.steps.spec import COMPLETE, StepOutput, StepResult, StepSpec

# Slit-level values that the exposure's metadata must not override when merged.
_SLIT_OWN = ("bunit_data", "bunit_err", "model_type", "wcsinfo")


def source_key(slit: Part) -> str:
    """Return the key that groups `slit` with the same source's other slits.

    Parameters
    ----------
    slit : Part
        One slit of a ``MultiSlitModel``.

    Returns
    -------
    str
        ``source_name`` when it is set (MOS), else ``source_id``.
    """
    name = slit.attrs.get("source_name")
    if name is not None and str(name).strip():
        return str(name)
    return str(slit.attrs.get("source_id"))


def _merge_missing(own: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Return `own` with what only `extra` has added, recursively (own values win)."""
    merged = metatools.thaw(own)
    for key, value in extra.items():
        if key not in merged or merged[key] is None:
            merged[key] = metatools.thaw(value)
        elif isinstance(merged[key], dict) and isinstance(value, Mapping):
            merged[key] = _merge_missing(merged[key], value)
    return merged


def _exposure_part(slit: Part, exposure: Product) -> Part:
    """The slit as one exposure of a source product: its own metadata plus the exposure's."""
    meta = _merge_missing(slit.meta, exposure.meta)
    for key in _SLIT_OWN:
        if key in slit.meta:
            meta[key] = metatools.thaw(slit.meta[key])
        elif key == "model_type":
            meta[key] = "SlitModel"
    slit_exp_type = metatools.get(slit.meta, "exposure.type")
    if slit_exp_type:
        meta.setdefault("exposure", {})["type"] = slit_exp_type
    return Part(arrays=slit.arrays, attrs=slit.attrs, meta=meta, wcs=slit.wcs)


def group_by_source(exposures: Sequence[Product]) -> dict[str, Product]:
    """Return one ``MultiExposureModel`` product per source, keyed as :func:`source_key`.

    Parameters
    ----------
    exposures : Sequence[Product]
        ``MultiSlitModel`` exposures.

    Returns
    -------
    dict[str, Product]
        Source products in the order their sources were first seen.
    """
    parts: dict[str, list[Part]] = {}
    tops: dict[str, dict[str, Any]] = {}
    for exposure in exposures:
        if exposure.model_type != "MultiSlitModel":
            raise ValueError(
                f"exp_to_source takes MultiSlitModel exposures; "
                f"{exposure.filename or 'an input'} is a {exposure.model_type}"
            )
        for slit in exposure.parts:
            key = source_key(slit)
            part = _exposure_part(slit, exposure)
            parts.setdefault(key, []).append(part)
            top = tops.setdefault(key, metatools.thaw(exposure.meta))
            slit_exp_type = metatools.get(slit.meta, "exposure.type")
            if slit_exp_type:
                top.setdefault("exposure", {})["type"] = slit_exp_type
    result = {}
    for key, source_parts in parts.items():
        top = tops[key]
        top.pop("filename", None)  # the merged product does not come from one file
        result[key] = Product("MultiExposureModel", top, tuple(source_parts))
    return result


def exp_to_source(inputs: Sequence[Product]) -> StepResult:
    """Regroup exposure-based multi-slit products into source-based products.

    Parameters
    ----------
    inputs : Sequence[Product]
        ``MultiSlitModel`` exposures (NIRSpec FS/MOS, WFSS).

    Returns
    -------
    StepResult
        One output per source, suffix ``cal``, with its source key.
    """
    # Background members (x1d files) belong to master_background, not to a source.
    sources = group_by_source([p for p in inputs if p.get("asn.exptype") != "background"])
    outputs = tuple(
        StepOutput(product, "cal", source=key) for key, product in sources.items()
    )
    return StepResult(outputs, COMPLETE)


SPEC = StepSpec(
    name="exp_to_source",
    summary="Regroup multi-slit exposures into one source-based product per source",
    function=exp_to_source,
)
