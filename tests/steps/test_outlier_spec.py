"""outlier_detection (spec mode): injected cosmic rays, kernels, outputs and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from spec3nb.datamodels.dq import DO_NOT_USE, OUTLIER
from spec3nb.simulate.noise import add_cosmic_rays
from spec3nb.steps.exp_to_source import group_by_source
from spec3nb.steps.outlier_spec import (
    SPEC,
    abs_derivative,
    flag_against_blot,
    outlier_detection,
    weight_threshold,
)
from tests.factories import make_ifu_image, make_multislit, make_slit_model


def _with_crs(part, rng, count):
    arrays = {k: np.array(part.arrays[k]) for k in ("data", "err", "dq")}
    hits = add_cosmic_rays(rng, arrays, count, strength=(30.0, 300.0))
    truth = np.zeros(part.data.shape, bool)
    truth[hits[:, 0], hits[:, 1]] = True
    return part.evolve(arrays=arrays), truth


def _lrs_with_crs(n=5, count=25, seed=0):
    rng = np.random.default_rng(seed)
    products, truths = [], []
    for k in range(n):
        p = make_slit_model((80, 30), seed=seed + k, **{
            "observation.exposure_number": f"{k + 1:05d}",
            "filename": f"jw01234001001_03101_{k + 1:05d}_mirimage_cal.fits"})
        part, truth = _with_crs(p.part, rng, count)
        products.append(p.evolve(parts=[part]))
        truths.append(truth)
    return products, truths


def _nirspec_with_crs(n=4, count=15, seed=0):
    rng = np.random.default_rng(seed)
    exposures = [make_multislit("NRS_MSASPEC", 2, (16, 90), seed=seed + k, **{
        "observation.exposure_number": f"{k + 1:05d}"}) for k in range(n)]
    source = next(iter(group_by_source(exposures).values()))
    parts, truths = [], []
    for part in source.parts:
        new, truth = _with_crs(part, rng, count)
        parts.append(new)
        truths.append(truth)
    return source.evolve(parts=parts), truths


def _score(parts_in, parts_out, truths):
    found = total = false = good = 0
    for pin, pout, truth in zip(parts_in, parts_out, truths, strict=True):
        flagged = (pout.dq & OUTLIER) > 0
        usable = (pin.dq & DO_NOT_USE) == 0
        found += np.count_nonzero(flagged & truth)
        total += np.count_nonzero(truth & usable)
        false += np.count_nonzero(flagged & ~truth & usable)
        good += np.count_nonzero(~truth & usable)
    return found / total, false / good


def test_declared_parameters_are_jwst_s() -> None:
    from tests.parity.test_param_defaults import mismatches

    assert mismatches(SPEC) == []


def test_cosmic_rays_in_lrs_exposures_are_found() -> None:
    inputs, truths = _lrs_with_crs()
    result = outlier_detection(inputs)
    assert result.status == "COMPLETE"
    recall, false_rate = _score([p.part for p in inputs], [p.part for p in result.products],
                                truths)
    assert recall >= 0.95 and false_rate < 1e-3


def test_cosmic_rays_in_a_nirspec_source_are_found() -> None:
    source, truths = _nirspec_with_crs()
    result = outlier_detection([source])
    (out,) = result.outputs
    assert out.product.model_type == "MultiExposureModel" and out.origin == 0
    recall, false_rate = _score(source.parts, out.product.parts, truths)
    assert recall >= 0.95 and false_rate < 1e-3


def test_flagged_pixels_are_nan_and_flagged_in_every_array() -> None:
    inputs, _ = _lrs_with_crs(n=3)
    for out in outlier_detection(inputs).outputs:
        part = out.product.part
        flagged = (part.dq & OUTLIER) > 0
        assert flagged.any() and out.suffix == "crf"
        assert np.all(part.dq[flagged] & DO_NOT_USE)
        for name in ("data", "err", "var_rnoise", "var_poisson", "var_flat"):
            assert np.all(np.isnan(part.arrays[name][flagged])), name
        assert out.product.get("cal_step.outlier_detection") == "COMPLETE"
    assert [o.origin for o in outlier_detection(inputs).outputs] == [0, 1, 2]


def test_without_resampling_the_detector_median_is_used() -> None:
    inputs, truths = _lrs_with_crs(n=5)
    result = outlier_detection(inputs, resample_data=False, snr=(5.0, 4.0))
    recall, false_rate = _score([p.part for p in inputs], [p.part for p in result.products],
                                truths)
    assert recall >= 0.95 and false_rate < 1e-3


def test_abs_derivative_is_the_largest_neighbour_difference() -> None:
    rng = np.random.default_rng(1)
    image = rng.normal(size=(7, 9)).astype(np.float32)
    image[3, 4] = np.nan
    out = abs_derivative(image)
    padded = np.pad(image.astype(float), 1, constant_values=np.nan)
    centre = padded[1:-1, 1:-1]
    diffs = [np.abs(centre - padded[1 + dy:padded.shape[0] - 1 + dy,
                                    1 + dx:padded.shape[1] - 1 + dx])
             for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))]
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nan_to_num(np.nanmax(np.stack(diffs), axis=0))
    expected[np.isnan(image)] = np.nan
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_flag_against_blot_needs_both_thresholds() -> None:
    blotted = np.full((5, 5), 10.0, np.float32)
    data = blotted.copy()
    data[2, 2] = 100.0  # a clear outlier
    data[0, 4] = 10.45  # above snr2 * err only, and no neighbour above snr1 * err
    err = np.full((5, 5), 0.1, np.float32)
    mask = flag_against_blot(data, err, blotted, (5.0, 4.0), (0.0, 0.0), 0.0)
    assert mask[2, 2] and not mask[0, 4] and mask.sum() == 1


def test_weight_threshold_ignores_zero_and_nan_weights() -> None:
    weight = np.array([[0.0, np.nan, 2.0], [2.0, 2.0, 2.0]], np.float32)
    assert weight_threshold(weight, 0.5) == pytest.approx(1.0)


def test_inputs_are_unchanged() -> None:
    inputs, _ = _lrs_with_crs(n=3)
    before = [np.array(p.part.dq) for p in inputs]
    outlier_detection(inputs)
    for p, dq in zip(inputs, before, strict=True):
        np.testing.assert_array_equal(p.part.dq, dq)


# ----------------------------------------------------------------------------- bad input


def test_a_single_exposure_is_skipped() -> None:
    inputs, _ = _lrs_with_crs(n=1)
    result = outlier_detection(inputs)
    assert result.status == "SKIPPED" and "at least two" in result.reason
    assert result.products[0].get("cal_step.outlier_detection") == "SKIPPED"
    np.testing.assert_array_equal(result.products[0].part.dq, inputs[0].part.dq)


def test_a_source_with_one_exposure_is_skipped() -> None:
    exposure = make_multislit("NRS_FIXEDSLIT", 1)
    source = next(iter(group_by_source([exposure]).values()))
    assert outlier_detection([source]).status == "SKIPPED"


def test_empty_input_is_skipped() -> None:
    assert outlier_detection([]).status == "SKIPPED"


def test_ifu_exposures_go_to_the_ifu_mode() -> None:
    result = outlier_detection([make_ifu_image(), make_ifu_image(seed=1)])
    assert result.status == "COMPLETE"
    assert [o.product.model_type for o in result.outputs] == ["IFUImageModel"] * 2
    assert all(o.product.get("cal_step.outlier_detection") == "COMPLETE"
               for o in result.outputs)


def test_other_exposure_types_are_skipped() -> None:
    product = make_slit_model(**{"exposure.type": "NIS_SOSS"})
    assert outlier_detection([product, product]).status == "SKIPPED"


def test_slit_without_wcs_is_a_clear_error() -> None:
    inputs, _ = _lrs_with_crs(n=2)
    broken = inputs[1].evolve(parts=[inputs[1].part.evolve(wcs=None)])
    with pytest.raises(ValueError, match="has no WCS"):
        outlier_detection([inputs[0], broken])


def test_detector_median_needs_one_shape() -> None:
    a = make_slit_model((60, 24), **{"observation.exposure_number": "00001"})
    b = make_slit_model((50, 24), **{"observation.exposure_number": "00002"})
    with pytest.raises(ValueError, match="one shape"):
        outlier_detection([a, b], resample_data=False)


def test_all_nan_exposure_is_harmless() -> None:
    inputs, _ = _lrs_with_crs(n=3)
    empty = inputs[2].evolve(parts=[inputs[2].part.evolve(arrays={
        "data": np.full(inputs[2].part.data.shape, np.nan, np.float32)})])
    result = outlier_detection([inputs[0], inputs[1], empty])
    assert result.status == "COMPLETE"
    assert np.all(np.isnan(result.products[2].part.data))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_nanmedian_is_numpys_bit_for_bit(dtype, n) -> None:
    from spec3nb.steps.outlier_spec import _nanmedian

    rng = np.random.default_rng(n)
    images = [rng.normal(size=(60, 80)).astype(dtype) * dtype(10.0 ** rng.integers(-3, 3))
              for _ in range(n)]
    for image in images:
        image[rng.random(image.shape) < 0.3] = np.nan
        image[rng.random(image.shape) < 0.02] = np.inf
        image[rng.random(image.shape) < 0.02] = -np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanmedian(np.stack(images), axis=0)
    got = _nanmedian(images)
    assert got.dtype == expected.dtype
    assert np.array_equal(got, expected, equal_nan=True)
    assert np.isnan(got).any() and np.isfinite(got).any()
