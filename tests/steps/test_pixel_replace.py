"""pixel_replace: the mingrad and fit_profile rules, the products, and the truth."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from spec3nb.datamodels.dq import DO_NOT_USE, FLUX_ESTIMATED, HOT, NON_SCIENCE
from spec3nb.datamodels.products import Part, Product
from spec3nb.errors import InputFileError
from spec3nb.steps.pixel_replace import SPEC, fit_profile, mingrad, pixel_replace
from tests.factories import (
    make_ifu_image,
    make_multiexposure,
    make_multislit,
    make_slit_model,
    make_soss_cube,
    make_x1d,
)
from tests.parity.test_param_defaults import mismatches


def _image(ny: int = 8, nx: int = 9) -> dict[str, np.ndarray]:
    yy, xx = np.mgrid[:ny, :nx]
    data = (10.0 + xx + 3.0 * yy).astype(np.float32)  # steeper along y than along x
    return {"data": data, "dq": np.zeros((ny, nx), np.uint32),
            "err": np.full((ny, nx), 0.5, np.float32),
            "var_rnoise": (0.1 + 0.01 * xx).astype(np.float32)}


# ----------------------------------------------------------------------------- mingrad


def test_mingrad_uses_the_flatter_axis_and_averages_variances_as_errors() -> None:
    arrays = _image()
    arrays["data"][4, 4] = np.nan
    arrays["dq"][4, 4] = DO_NOT_USE | HOT
    out = mingrad(arrays)
    assert out["data"][4, 4] == pytest.approx(10 + 4 + 12)  # mean of x-neighbours
    var = arrays["var_rnoise"]
    expected = ((np.sqrt(var[4, 3]) + np.sqrt(var[4, 5])) / 2) ** 2
    assert out["var_rnoise"][4, 4] == pytest.approx(expected, rel=1e-6)
    assert out["var_rnoise"][4, 4] != pytest.approx((var[4, 3] + var[4, 5]) / 2, rel=1e-6)
    assert out["dq"][4, 4] == HOT | FLUX_ESTIMATED  # DO_NOT_USE cleared
    assert np.isnan(arrays["data"][4, 4])  # input untouched


def test_mingrad_goes_vertical_when_a_horizontal_neighbour_is_bad() -> None:
    arrays = _image()
    arrays["data"][3, 4] = np.nan
    arrays["data"][3, 5] = np.nan
    out = mingrad(arrays)
    # Both pixels take the mean of their y-neighbours (the gradient along x is NaN).
    assert out["data"][3, 4] == pytest.approx(10 + 4 + 9)
    assert out["data"][3, 5] == pytest.approx(10 + 5 + 9)


def test_mingrad_ties_go_horizontal_and_isolated_pairs_stay() -> None:
    arrays = _image()
    arrays["data"][:] = 1.0
    arrays["data"][4, 3] = 5.0  # left neighbour: horizontal pair 5 and 1, vertical 1 and 1
    arrays["data"][4, 4] = np.nan
    arrays["data"][2, 6] = arrays["data"][2, 7] = arrays["data"][3, 6] = np.nan
    arrays["data"][1, 6] = np.nan
    out = mingrad(arrays)
    assert out["data"][4, 4] == 1.0  # vertical, the smaller difference
    # (2, 6): left 1, right NaN; up NaN (row 1), down NaN (row 3) -> nothing usable.
    assert np.isnan(out["data"][2, 6]) and out["dq"][2, 6] == 0
    flat = _image()
    flat["data"][:] = 2.0
    flat["data"][5, 5] = np.nan
    flat["err"][5, 4], flat["err"][5, 6] = 1.0, 3.0  # horizontal pair of errors
    assert mingrad(flat)["err"][5, 5] == 2.0  # equal gradients: horizontal wins


def test_mingrad_edge_rule_is_jwsts_asymmetric_one() -> None:
    ny, nx = 8, 9
    arrays = _image(ny, nx)
    spots = [(1, 4), (4, 1), (ny - 1, 4), (4, nx - 1), (0, 4), (2, 4), (ny - 2, 4),
             (4, 2), (4, nx - 2)]
    for y, x in spots:
        arrays["data"][y, x] = np.nan
    out = mingrad(arrays)
    for y, x in spots[:5]:
        assert np.isnan(out["data"][y, x]), (y, x)
    for y, x in spots[5:]:
        assert np.isfinite(out["data"][y, x]), (y, x)


def test_mingrad_keeps_do_not_use_on_non_science_and_ignores_flag_only_pixels() -> None:
    arrays = _image()
    arrays["data"][4, 4] = np.nan
    arrays["dq"][4, 4] = DO_NOT_USE | NON_SCIENCE
    arrays["dq"][5, 5] = DO_NOT_USE  # finite value: not a candidate
    out = mingrad(arrays)
    assert out["dq"][4, 4] == DO_NOT_USE | NON_SCIENCE | FLUX_ESTIMATED
    assert out["dq"][5, 5] == DO_NOT_USE and out["data"][5, 5] == arrays["data"][5, 5]


def test_mingrad_on_a_stack_treats_each_plane_alone() -> None:
    cube = make_soss_cube((3, 20, 30), seed=4)
    out = pixel_replace([cube]).products[0].part
    for i in range(3):
        plane = {k: cube.part.arrays[k][i] for k in ("data", "dq", "err", "var_poisson",
                                                       "var_rnoise", "var_flat")}
        expected = mingrad(plane)
        for name, values in expected.items():
            np.testing.assert_array_equal(out.arrays[name][i], values)
    assert np.count_nonzero(out.dq & FLUX_ESTIMATED) > 0


# ----------------------------------------------------------------------------- fit_profile


def test_fit_profile_along_either_axis_gives_transposed_results() -> None:
    rng = np.random.default_rng(3)
    ny, nx = 40, 15
    yy, xx = np.mgrid[:ny, :nx]
    data = (100 * np.exp(-0.5 * ((xx - 7.2) / 1.6) ** 2) * (1 + 0.01 * yy)
            + rng.normal(0, 0.2, (ny, nx))).astype(np.float32)
    dq = np.zeros((ny, nx), np.uint32)
    bad = ([5, 12, 20, 30], [7, 6, 9, 8])
    dq[bad] = DO_NOT_USE
    data[bad] = np.nan
    arrays = {"data": data, "dq": dq, "err": np.full((ny, nx), 0.2, np.float32)}
    along_y = fit_profile(arrays, 2, 3)
    along_x = fit_profile({k: v.T for k, v in arrays.items()}, 1, 3)
    for name in along_y:
        np.testing.assert_array_equal(along_y[name], along_x[name].T)
    assert np.all(along_y["dq"][bad] == FLUX_ESTIMATED)
    assert np.all(np.isfinite(along_y["data"][bad]))


def test_fit_profile_without_neighbours_changes_nothing() -> None:
    product = _smooth_slit(seed=1)[0]
    ours = pixel_replace([product], algorithm="fit_profile", n_adjacent_cols=0)
    for name, values in product.part.arrays.items():
        np.testing.assert_array_equal(ours.products[0].part.arrays[name], values)


def test_fit_profile_needs_a_dispersion_direction_and_an_ifu_slice_map() -> None:
    slit = make_slit_model((30, 12))
    slit = slit.evolve(meta={"wcsinfo.dispersion_direction": None})
    with pytest.raises(InputFileError, match="DISPAXIS"):
        pixel_replace([slit], algorithm="fit_profile")
    assert pixel_replace([slit]).status == "COMPLETE"  # mingrad does not need it
    ifu = make_ifu_image("NRS_IFU")
    ifu = ifu.evolve(parts=[ifu.part.evolve(drop=["regions"])])
    with pytest.raises(InputFileError, match="slice map"):
        pixel_replace([ifu], algorithm="fit_profile")


def test_fit_profile_on_an_ifu_image_stays_inside_each_slice() -> None:
    ifu = make_ifu_image("MIR_MRS", (40, 36), seed=2)
    out = pixel_replace([ifu], algorithm="fit_profile").products[0].part
    regions = ifu.part.arrays["regions"]
    outside = regions == 0
    np.testing.assert_array_equal(out.data[outside], ifu.part.data[outside])
    np.testing.assert_array_equal(out.dq[outside], ifu.part.dq[outside])
    replaced = (out.dq & FLUX_ESTIMATED) > 0
    assert replaced.any() and not (replaced & outside).any()


# ----------------------------------------------------------------------------- products


def test_outputs_status_and_suffix_for_every_input_type() -> None:
    inputs = [make_slit_model((30, 12), seed=1), make_multislit("NRS_MSASPEC", 2, (14, 40)),
              make_multiexposure(2, (12, 40)), make_ifu_image("NRS_IFU"),
              make_soss_cube((2, 16, 30))]
    result = SPEC.run(inputs, algorithm="fit_profile", n_adjacent_cols="2")
    assert result.status == "COMPLETE"
    assert [o.origin for o in result.outputs] == list(range(len(inputs)))
    assert {o.suffix for o in result.outputs} == {"pixel_replace"}
    for product, source in zip(result.products, inputs, strict=True):
        assert product.model_type == source.model_type
        assert product.get("cal_step.pixel_replace") == "COMPLETE"
    assert all(p.meta["cal_step"]["pixel_replace"] == "COMPLETE"
               for p in result.products[2].parts)
    assert all(p.get("cal_step.pixel_replace") is None for p in inputs)


def test_products_it_has_no_algorithm_for_are_skipped_with_a_reason() -> None:
    x1d = make_x1d()
    result = pixel_replace([x1d])
    assert result.status == "SKIPPED" and "MultiSpecModel" in result.reason
    assert result.products[0].get("cal_step.pixel_replace") == "FAILED"
    assert pixel_replace([]).status == "SKIPPED"
    mixed = pixel_replace([make_slit_model((30, 12)), x1d])
    assert mixed.status == "COMPLETE"
    assert [p.get("cal_step.pixel_replace") for p in mixed.products] == ["COMPLETE", "FAILED"]


def test_parameters_are_jwsts() -> None:
    assert mismatches(SPEC) == []
    assert SPEC.defaults() == {"algorithm": "mingrad", "n_adjacent_cols": 3}
    with pytest.raises(Exception, match="algorithm"):
        SPEC.run([make_slit_model((30, 12))], algorithm="nearest")


def test_trace_model_falls_back_to_mingrad_without_adaptive_trace_model(caplog) -> None:
    product = make_slit_model((30, 12), seed=5)
    with caplog.at_level(logging.WARNING, logger="spec3nb.steps.pixel_replace"):
        fallback = pixel_replace([product], algorithm="trace_model")
    assert "mingrad" in caplog.text
    expected = pixel_replace([product])
    for name, values in expected.products[0].part.arrays.items():
        np.testing.assert_array_equal(fallback.products[0].part.arrays[name], values)


def test_trace_model_values_are_used_after_adaptive_trace_model() -> None:
    product = make_slit_model((30, 12), seed=6)
    trace = np.full(product.part.data.shape, 7.5, np.float32)
    part = product.part.evolve(arrays={"trace_model": trace})
    product = product.evolve(parts=[part], meta={"cal_step.adaptive_trace_model": "COMPLETE"})
    out = pixel_replace([product], algorithm="trace_model").products[0].part
    bad = ~np.isfinite(product.part.data)
    assert np.all(out.data[bad] == 7.5)
    assert np.all(out.dq[bad] & FLUX_ESTIMATED) and not np.any(out.dq[bad] & DO_NOT_USE)
    assert np.all(np.isfinite(out.err[bad]))


# ----------------------------------------------------------------------------- truth


def _smooth_slit(seed: int = 0, noise: float = 0.003) -> tuple[Product, np.ndarray, tuple]:
    """A MIRI LRS-like slit (dispersion along y) with a smooth point-source spectrum.

    Returns the product, the noiseless truth and the (rows, columns) of the NaN'd pixels.
    """
    ny, nx = 120, 40
    yy, xx = np.mgrid[:ny, :nx].astype(float)
    spectrum = 1.0 + 0.3 * np.sin(yy / 15.0)
    truth = 50 * spectrum * np.exp(-0.5 * ((xx - 19.6 - 0.01 * yy) / 1.8) ** 2) + 0.5
    rng = np.random.default_rng(seed)
    err = noise * truth.max() * np.ones_like(truth)
    data = truth + rng.normal(0, 1, truth.shape) * err
    dq = np.zeros(truth.shape, np.uint32)
    ys = rng.choice(np.arange(4, ny - 4, 3), 12, replace=False)  # never adjacent
    xs = np.round(19.6 + 0.01 * ys + rng.integers(-3, 4, 12)).astype(int)
    data[ys, xs] = np.nan
    dq[ys, xs] = DO_NOT_USE | HOT
    arrays = {"data": data.astype(np.float32), "dq": dq, "err": err.astype(np.float32),
              "var_rnoise": (err**2).astype(np.float32)}
    product = make_slit_model((ny, nx))
    part = Part(arrays=arrays, attrs=product.part.attrs, meta=product.part.meta,
                wcs=product.part.wcs)
    return product.evolve(parts=[part]), truth, (ys, xs)


@pytest.mark.parametrize("algorithm", ["mingrad", "fit_profile"])
def test_replaced_values_are_close_to_the_noiseless_truth(algorithm: str) -> None:
    product, truth, (ys, xs) = _smooth_slit(seed=11)
    out = pixel_replace([product], algorithm=algorithm).products[0].part
    replaced = out.data[ys, xs]
    assert np.all(out.dq[ys, xs] == HOT | FLUX_ESTIMATED)
    # Within 3 % of the column's peak everywhere, and of the pixel itself on the trace.
    peak = truth.max(axis=1)[ys]
    assert np.max(np.abs(replaced - truth[ys, xs]) / peak) < 0.03
    core = truth[ys, xs] > 0.3 * peak
    assert core.sum() >= 4
    rel = np.abs(replaced[core] / truth[ys, xs][core] - 1)
    assert np.max(rel) < 0.04
    good = (product.part.dq & DO_NOT_USE) == 0
    np.testing.assert_array_equal(out.data[good], product.part.data[good])
