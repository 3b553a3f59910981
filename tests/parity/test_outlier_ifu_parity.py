"""IFU outlier detection against jwst 3.0.0's OutlierDetectionStep (ifu mode): same flags.

On the simulated MIRI MRS and NIRSpec IFU exposures, for the defaults and two other
parameter sets (an even kernel size that jwst bumps, a lower threshold, the second check),
every exposure's DQ array and NaN pattern are identical.
"""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.simulate import simulate
from spec3nb.steps.outlier_ifu import outlier_detection_ifu

from .harness import assert_dq_match, run_jwst_step

CASES = [
    {},
    {"kernel_size": "5 9", "threshold_percent": 99.0},
    {"kernel_size": "4 6", "threshold_percent": 99.5, "ifu_second_check": True},
]


@pytest.fixture(scope="module", params=["mir_mrs", "nrs_ifu"])
def exposures(request):
    return simulate(request.param, seed=22).exposures


@pytest.mark.parametrize("params", CASES, ids=["defaults", "5x9-99", "4x6-second-check"])
def test_same_flags_as_jwst(exposures, jwst_offline, params):
    from jwst.outlier_detection import OutlierDetectionStep

    theirs = run_jwst_step(OutlierDetectionStep, list(exposures), **params)
    ours = outlier_detection_ifu(exposures, **params)
    assert ours.status == "COMPLETE"
    flagged = 0
    for output, model in zip(ours.outputs, theirs, strict=True):
        assert_dq_match(output.product.part.dq, model.part.dq)
        np.testing.assert_array_equal(np.isnan(output.product.part.data),
                                      np.isnan(model.part.data))
        np.testing.assert_array_equal(np.isnan(output.product.part.err),
                                      np.isnan(model.part.err))
        flagged += int(np.count_nonzero(output.product.part.dq & 16))
    assert flagged > 0
