"""The Stage-3 steps as pure functions over products, and their declarations.

Nothing here reads files, imports traitlets or widgets: a step takes products and
parameters and returns new products. :data:`STEPS` lists every implemented step; later
steps add their ``SPEC`` to the tuple below.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from spec3nb.errors import ParameterError
from spec3nb.steps import (
    assign_mtwcs,
    combine1d,
    cube_build,
    exp_to_source,
    extract1d,
    master_background,
    mrs_imatch,
    outlier_spec,
    photom_soss,
    pixel_replace,
    resample_spec,
    spectral_leak,
)
from spec3nb.steps.spec import COMPLETE, SKIPPED, StepOutput, StepResult, StepSpec

STEPS: Mapping[str, StepSpec] = MappingProxyType({
    spec.name: spec for spec in (
        assign_mtwcs.SPEC, master_background.SPEC, exp_to_source.SPEC, outlier_spec.SPEC,
        mrs_imatch.SPEC, pixel_replace.SPEC,
        resample_spec.SPEC, cube_build.SPEC, extract1d.SPEC, photom_soss.SPEC, combine1d.SPEC,
        spectral_leak.SPEC,
    )
})


def get_step(name: str) -> StepSpec:
    """Return the declaration of step `name`.

    Parameters
    ----------
    name : str
        The step's jwst alias.

    Returns
    -------
    StepSpec
        The declaration.

    Raises
    ------
    ParameterError
        If no such step is implemented (the message lists those that are).
    """
    if name not in STEPS:
        known = ", ".join(STEPS)
        raise ParameterError("spec3nb step", name, f"no such step (available: {known})")
    return STEPS[name]


__all__ = [
    "COMPLETE",
    "SKIPPED",
    "STEPS",
    "StepOutput",
    "StepResult",
    "StepSpec",
    "get_step",
]
