"""Small stand-in steps for wiring tests of the session (module level, so they pickle).

They do simple, checkable things (mark products, take the first exposure as the resampled
product) so that the tests see what flows where; the real steps are tested on their own.
"""

from __future__ import annotations

import collections

import numpy as np

from spec3nb.params import CHOICE, FLOAT, INT, Param
from spec3nb.steps import STEPS
from spec3nb.steps.spec import COMPLETE, SKIPPED, StepOutput, StepResult, StepSpec
from tests.factories import make_x1d

CALLS: collections.Counter = collections.Counter()
FAILING_SOURCE_NAME = "BKG"  # outlier detection fails on sources whose name contains this


def outlier(inputs, *, mode, snr_scale):
    CALLS["outlier_detection"] += 1
    for product in inputs:
        name = str(product.parts[0].attrs.get("source_name") or "")
        if product.model_type == "MultiExposureModel" and FAILING_SOURCE_NAME in name:
            raise ValueError(f"slit {name} has no valid pixels")
    outputs = tuple(StepOutput(p.evolve(meta={"cal_step.outlier_detection": "COMPLETE"}), "crf",
                               origin=i) for i, p in enumerate(inputs))
    return StepResult(outputs, COMPLETE)


def resample(inputs, *, pixfrac, skip):
    CALLS["resample_spec"] += 1
    if skip:
        return StepResult((), SKIPPED, "asked to skip")
    first = inputs[0]
    part = first.parts[0]
    s2d = first.evolve(model_type="SlitModel", parts=[part.evolve(
        arrays={"data": np.full(part.data.shape, pixfrac, dtype=np.float32)})],
        meta={"cal_step.resample": "COMPLETE"})
    origin = 0 if len(inputs) == 1 else None
    return StepResult((StepOutput(s2d, "s2d", origin=origin),), COMPLETE)


def extract(inputs, *, extract_width):
    CALLS["extract_1d"] += 1
    outputs = []
    for i in range(len(inputs)):
        x1d = make_x1d(npoints=30, seed=i, **{"exposure.exposure_time": 100.0})
        x1d = x1d.evolve(meta={"target.proposer_name": f"width {extract_width}"})
        outputs.append(StepOutput(x1d, "x1d", origin=i))
    return StepResult(tuple(outputs), COMPLETE)


DOUBLES = {
    "outlier_detection": StepSpec(
        "outlier_detection", "", outlier,
        params=(Param("mode", CHOICE, "spec", "", choices=("spec", "ifu")),
                Param("snr_scale", FLOAT, 1.0, ""))),
    "resample_spec": StepSpec(
        "resample_spec", "", resample,
        params=(Param("pixfrac", FLOAT, 1.0, ""), Param("skip", CHOICE, False, "",
                                                        choices=(False, True)))),
    "extract_1d": StepSpec("extract_1d", "", extract,
                           params=(Param("extract_width", INT, None, ""),)),
}


def steps() -> dict[str, StepSpec]:
    """The real steps where they exist, these doubles for the three above."""
    return {**STEPS, **DOUBLES}
