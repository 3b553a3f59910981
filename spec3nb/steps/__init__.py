"""The Stage-3 steps as pure functions over products, and their declarations.

Nothing here reads files, imports traitlets or widgets: a step takes products and
parameters and returns new products. :data:`STEPS` lists every implemented step; later
steps add their ``SPEC`` to the tuple below.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from spec3nb.errors import ParameterError
from spec3nb.steps.spec import COMPLETE, SKIPPED, StepOutput, StepResult, StepSpec

# Step name (jwst alias) -> the module of this package that declares its SPEC, in pipeline
# order. Modules are imported on first use: a MIRI LRS run needs five of the twelve, and
# the others pull in scipy.signal, astropy.modeling fitting and more (about a second).
_MODULES: Mapping[str, str] = {
    "assign_mtwcs": "assign_mtwcs",
    "master_background": "master_background",
    "exp_to_source": "exp_to_source",
    "outlier_detection": "outlier_spec",
    "mrs_imatch": "mrs_imatch",
    "pixel_replace": "pixel_replace",
    "resample_spec": "resample_spec",
    "cube_build": "cube_build",
    "extract_1d": "extract1d",
    "photom": "photom_soss",
    "combine_1d": "combine1d",
    "spectral_leak": "spectral_leak",
}


class _StepRegistry(Mapping[str, StepSpec]):
    """The implemented steps by name; a step's module is imported when it is looked up."""

    def __getitem__(self, name: str) -> StepSpec:
        module = importlib.import_module(f"{__name__}.{_MODULES[name]}")
        return module.SPEC

    def __iter__(self) -> Iterator[str]:
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)

    def __contains__(self, name: object) -> bool:
        return name in _MODULES

    def __repr__(self) -> str:
        return f"<steps: {', '.join(_MODULES)}>"


#: Every implemented step, by jwst alias, in pipeline order.
STEPS: Mapping[str, StepSpec] = _StepRegistry()


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
