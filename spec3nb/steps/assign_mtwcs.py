"""assign_mtwcs: put the exposures of a moving target in the target's mean frame.

A moving target sits at a different sky position in every exposure (``MT_RA``/``MT_DEC``).
As jwst 3.0.0's ``AssignMTWcsStep`` does (reference section 3.1), each science exposure's
WCS gets one more output frame, ``moving_target``: the old output frame shifted by the
difference between the mean target position over the science exposures and the target's
position in that exposure, so that all exposures line up on the target. The mean is the
plain arithmetic mean of the RAs and of the Decs, and the shifts are in degrees of RA and
Dec directly (no wrap at RA = 0, no cos(Dec)), as in jwst. ``MT_AVRA``/``MT_AVDEC`` record
the mean. For a ``MultiSlitModel`` each slit is shifted with its own ``MT_RA``/``MT_DEC``
and the mean uses the first slit of each exposure.

Like calwebb_spec3, which runs this step only for a moving target, the step does nothing
unless the first input's ``TARGTYPE`` is ``MOVING``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from astropy.modeling.models import Identity, Shift
from gwcs import coordinate_frames as cf
from gwcs import wcs as gwcs_wcs

from spec3nb.datamodels.products import Product
from spec3nb.errors import InputFileError
from spec3nb.steps.spec import COMPLETE, SKIPPED, StepOutput, StepResult, StepSpec

log = logging.getLogger(__name__)

#: Name of the frame the step appends.
FRAME_NAME = "moving_target"
SUFFIX = "assign_mtwcs"


def is_moving_target(product: Product) -> bool:
    """Whether `product`'s target type (``TARGTYPE``) is ``MOVING`` (any case).

    Parameters
    ----------
    product : Product
        An exposure.

    Returns
    -------
    bool
        True for a moving target.
    """
    return str(product.get("target.type", "")).lower() == "moving"


def _is_science(product: Product) -> bool:
    return str(product.get("asn.exptype", "science")).lower() == "science"


def _wcsinfo_position(wcsinfo: Mapping[str, Any] | None) -> tuple[float, float] | None:
    """(MT_RA, MT_DEC) from a wcsinfo mapping, None when either is missing."""
    wcsinfo = wcsinfo or {}
    ra, dec = wcsinfo.get("mt_ra"), wcsinfo.get("mt_dec")
    if ra is None or dec is None:
        return None
    return float(ra), float(dec)


def target_positions(product: Product) -> list[tuple[float, float] | None]:
    """The moving target's position in each WCS of `product` (None where not recorded).

    Parameters
    ----------
    product : Product
        A science exposure.

    Returns
    -------
    list
        One (MT_RA, MT_DEC) per slit of a ``MultiSlitModel`` with slits, else one for the
        exposure.
    """
    if product.model_type == "MultiSlitModel" and product.parts:
        return [_wcsinfo_position(part.meta.get("wcsinfo")) for part in product.parts]
    return [_wcsinfo_position(product.get("wcsinfo"))]


def add_moving_target_frame(wcs: Any, mean_ra: float, mean_dec: float, mt_ra: float,
                            mt_dec: float, where: str = "the exposure") -> gwcs_wcs.WCS:
    """Return a copy of `wcs` ending in a ``moving_target`` frame.

    Parameters
    ----------
    wcs : gwcs.WCS
        The exposure's (or slit's) WCS; left unchanged.
    mean_ra, mean_dec : float
        The target's mean position over the science exposures (deg).
    mt_ra, mt_dec : float
        The target's position in this exposure (deg).
    where : str
        The exposure and slit, for error messages.

    Returns
    -------
    gwcs.WCS
        The old pipeline, then the old output frame with the shift to ``moving_target``.

    Raises
    ------
    InputFileError
        If there is no WCS, or its output frame is neither celestial nor celestial+spectral.
    """
    if wcs is None:
        raise InputFileError(where, "no WCS: cannot add the moving-target frame")
    wcs = copy.deepcopy(wcs)
    old_frame = wcs.output_frame
    shift = Shift(mean_ra - mt_ra) & Shift(mean_dec - mt_dec)
    if isinstance(old_frame, cf.CelestialFrame):
        transform = shift
    elif isinstance(old_frame, cf.CompositeFrame):
        transform = shift & Identity(1)  # the spectral axis is not moved
    else:
        raise InputFileError(where, f"the WCS output frame is a {type(old_frame).__name__}; "
                                    "only celestial or composite frames can be shifted")
    new_frame = copy.deepcopy(old_frame)
    new_frame.name = FRAME_NAME
    steps = [(step.frame, step.transform) for step in wcs.pipeline[:-1]]
    steps += [(old_frame, transform), (new_frame, None)]
    return gwcs_wcs.WCS(steps)


def _shifted(product: Product, mean: tuple[float, float], label: str) -> Product:
    """`product` with the moving-target frame in every WCS and MT_AVRA/MT_AVDEC set."""
    averages = {"wcsinfo.mt_avra": mean[0], "wcsinfo.mt_avdec": mean[1]}
    status = {"cal_step.assign_mtwcs": COMPLETE}
    if product.model_type == "MultiSlitModel":
        parts = []
        for k, part in enumerate(product.parts):
            ra, dec = _wcsinfo_position(part.meta.get("wcsinfo"))
            where = f"{label} slit {part.attrs.get('name', k)}"
            wcs = add_moving_target_frame(part.wcs, *mean, ra, dec, where)
            parts.append(part.evolve(meta=averages, wcs=wcs))
        return product.evolve(parts=parts, meta=status)
    ra, dec = _wcsinfo_position(product.get("wcsinfo"))
    if len(product.parts) != 1:
        raise InputFileError(label, f"a {product.model_type} has no single WCS to shift")
    part = product.part
    wcs = add_moving_target_frame(part.wcs, *mean, ra, dec, label)
    return product.evolve(parts=[part.evolve(wcs=wcs)], meta={**averages, **status})


def _with_status(inputs: Sequence[Product], status: str | None) -> tuple[StepOutput, ...]:
    outputs = []
    for i, product in enumerate(inputs):
        if status is not None:
            product = product.evolve(meta={"cal_step.assign_mtwcs": status})
        outputs.append(StepOutput(product, SUFFIX, origin=i))
    return tuple(outputs)


def assign_mtwcs(inputs: Sequence[Product]) -> StepResult:
    """Add the moving-target frame to the WCS of every science exposure.

    Parameters
    ----------
    inputs : Sequence[Product]
        The association's products; only science members (``asn.exptype`` science, or
        none) are changed.

    Returns
    -------
    StepResult
        One product per input (``origin`` = its index). SKIPPED, with the inputs unchanged,
        when the first input is not a moving target; SKIPPED when a science exposure (or one
        of its slits) lacks ``MT_RA``/``MT_DEC``; then the inputs are unchanged except for
        ``S_MTWCS``, which reads COMPLETE as jwst 3.0.0 leaves it.

    Raises
    ------
    InputFileError
        If a science exposure or slit has no WCS, or one that cannot be shifted.
    """
    if not inputs:
        return StepResult((), SKIPPED, "no inputs")
    if not is_moving_target(inputs[0]):
        return StepResult(_with_status(inputs, None), SKIPPED,
                          f"not a moving target (TARGTYPE={inputs[0].get('target.type')!r})")
    science = [i for i, p in enumerate(inputs) if _is_science(p)]
    firsts = []
    for i in science:
        positions = target_positions(inputs[i])
        if any(p is None for p in positions):
            label = inputs[i].filename or f"input {i}"
            # jwst records FAILED, then its step overwrites that with COMPLETE.
            return StepResult(_with_status(inputs, COMPLETE), SKIPPED,
                              f"{label}: MT_RA/MT_DEC missing; the moving-target WCS is not "
                              "assigned (the exposures will not be aligned on the target)")
        firsts.append(positions[0])
    if not firsts:
        return StepResult(_with_status(inputs, None), SKIPPED, "no science members")
    mean = (float(np.mean([p[0] for p in firsts])), float(np.mean([p[1] for p in firsts])))
    outputs = []
    for i, product in enumerate(inputs):
        if i in science:
            product = _shifted(product, mean, product.filename or f"input {i}")
        else:
            product = product.evolve(meta={"cal_step.assign_mtwcs": COMPLETE})
        outputs.append(StepOutput(product, SUFFIX, origin=i))
    return StepResult(tuple(outputs), COMPLETE)


SPEC = StepSpec(
    name="assign_mtwcs",
    summary="Align the exposures of a moving target on its mean position (moving_target frame)",
    function=assign_mtwcs,
    jwst_class="jwst.assign_mtwcs.AssignMTWcsStep",
)

__all__ = ["SPEC", "add_moving_target_frame", "assign_mtwcs", "is_moving_target"]
