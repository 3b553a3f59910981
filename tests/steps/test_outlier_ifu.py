"""IFU outlier detection against the simulator's truth, its pieces and edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.errors import ParameterError
from spec3nb.simulate import simulate
from spec3nb.steps.outlier_ifu import (
    kernel_shape,
    nan_median_filter,
    neighbour_difference,
    outlier_detection_ifu,
)


@pytest.mark.parametrize("mode", ["mir_mrs", "nrs_ifu"])
def test_persistent_outliers_flagged_transients_left(mode):
    dataset = simulate(mode, seed=22)
    result = outlier_detection_ifu(dataset.exposures)
    assert result.status == "COMPLETE"
    rows = [{(int(y), int(x)) for _, y, x in e.outliers} for e in dataset.truth.exposures]
    persistent = set.intersection(*rows)
    assert len(persistent) >= 4
    for output, truth_rows, original in zip(result.outputs, rows, dataset.exposures,
                                            strict=True):
        assert output.suffix == "crf" and output.product.get(
            "cal_step.outlier_detection") == "COMPLETE"
        flagged = (output.product.part.dq & 16) > 0
        assert np.mean([flagged[p] for p in persistent]) >= 0.75
        assert np.all(np.isnan(output.product.part.data[flagged]))
        assert np.all(output.product.part.dq[flagged] & 1)
        assert flagged.sum() < 0.01 * flagged.size
        # a cosmic ray in one exposure only is not what this algorithm finds
        transient = truth_rows - persistent
        assert np.mean([flagged[p] for p in transient]) < 0.5
        assert not np.any(original.part.dq & 16)  # the inputs are untouched


def test_second_check_flags_pixels_nan_everywhere():
    exposures = simulate("mir_mrs", seed=5).exposures
    plain = outlier_detection_ifu(exposures)
    checked = outlier_detection_ifu(exposures, ifu_second_check=True)
    a = (plain.outputs[0].product.part.dq & 16) > 0
    b = (checked.outputs[0].product.part.dq & 16) > 0
    assert np.all(b[a]) and b.sum() > a.sum()
    nan_everywhere = np.all([np.isnan(p.part.data) for p in exposures], axis=0)
    assert np.all(b[nan_everywhere])


def test_fewer_than_two_exposures_skip():
    exposures = simulate("nrs_ifu", seed=5).exposures[:1]
    result = outlier_detection_ifu(exposures)
    assert result.status == "SKIPPED" and "two" in result.reason
    assert result.outputs[0].product.get("cal_step.outlier_detection") == "SKIPPED"


def test_kernel_shape_bumps_even_sizes():
    assert kernel_shape("7 7") == (7, 7)
    assert kernel_shape((4, 6)) == (5, 7)
    with pytest.raises(ParameterError, match="kernel_size"):
        kernel_shape("7")
    with pytest.raises(ParameterError, match="kernel_size"):
        kernel_shape("a b")


def test_median_filter_equals_jwst_windows():
    rng = np.random.default_rng(1)
    image = rng.normal(size=(40, 50))
    image[rng.random(image.shape) < 0.2] = np.nan
    image[:, 17] = np.nan
    image[5:12, 30:40] = np.nan  # windows with no finite value at all
    for shape in ((7, 7), (3, 9)):
        pad = np.pad(image, [(k // 2, k // 2) for k in shape])
        windows = np.lib.stride_tricks.sliding_window_view(pad, shape)
        with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
            expected = np.nanmedian(windows, axis=(-2, -1))
        np.testing.assert_array_equal(nan_median_filter(image, shape), expected)


def test_neighbour_difference_edges_and_bad_pixels():
    data = np.array([[1.0, 2.0, 10.0, 3.0]], dtype=np.float32)
    dq = np.array([[0, 0, 0, 1]], dtype=np.uint32)
    diff = neighbour_difference(data, dq, axis=1)
    # first pixel: compared with 0 (prepend) and its right neighbour; last is DO_NOT_USE
    np.testing.assert_array_equal(diff, [[1.0, 1.0, 8.0, np.nan]])
