"""Every declared parameter has jwst 3.0.0's name and default (in spec3nb's types)."""

from __future__ import annotations

import importlib
import math
from typing import Any

from spec3nb.params import FLOAT, STR, Param
from spec3nb.steps import STEPS
from spec3nb.steps.spec import StepResult, StepSpec

# Generic stpipe parameters every jwst step has; spec3nb handles these itself (output
# names, saving) instead of as step parameters.
STPIPE_GENERIC = frozenset({
    "pre_hooks", "post_hooks", "output_file", "output_dir", "output_ext", "output_use_model",
    "output_use_index", "save_results", "skip", "suffix", "search_output_file", "input_dir",
})


def jwst_parameters(dotted: str) -> dict[str, Any]:
    """Return the defaults of a jwst step class, by parameter name (generic ones left out)."""
    module, _, name = dotted.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    step = cls()
    names = [n for n in cls.load_spec_file() if n not in STPIPE_GENERIC]
    return {n: getattr(step, n) for n in names}


def mismatches(spec: StepSpec) -> list[str]:
    """Differences between a declaration and its jwst step (empty when they agree)."""
    theirs = jwst_parameters(spec.jwst_class)
    problems = []
    for name, param in spec.all_params.items():
        if not param.jwst:
            continue  # a spec3nb addition, listed in docs/deviations.md
        if name not in theirs and not name.startswith("override_"):
            problems.append(f"{name}: not a parameter of {spec.jwst_class}")
            continue
        if name.startswith("override_"):
            continue
        expected = param.coerce(theirs[name])
        same = expected == param.default or (
            isinstance(expected, float) and math.isclose(expected, param.default))
        if not same:
            problems.append(f"{name}: default {param.default!r}, jwst {expected!r}")
    return problems


def test_every_step_with_a_jwst_class_matches_it() -> None:
    found = {name: mismatches(spec) for name, spec in STEPS.items() if spec.jwst_class}
    assert found == {name: [] for name in found}


def _noop(inputs, **params):
    return StepResult(())


def test_the_comparison_catches_a_wrong_default_and_a_wrong_name() -> None:
    good = StepSpec("combine_1d", "", _noop, jwst_class="jwst.combine_1d.Combine1dStep",
                    params=(Param("exptime_key", STR, "exposure_time", ""),
                            Param("sigma_clip", FLOAT, None, "")))
    assert mismatches(good) == []
    bad = StepSpec("combine_1d", "", _noop, jwst_class="jwst.combine_1d.Combine1dStep",
                   params=(Param("exptime_key", STR, "integration_time", ""),
                           Param("sigma_clipping", FLOAT, None, "")))
    assert mismatches(bad) == [
        "exptime_key: default 'integration_time', jwst 'exposure_time'",
        "sigma_clipping: not a parameter of jwst.combine_1d.Combine1dStep",
    ]
