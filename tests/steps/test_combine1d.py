"""combine_1d on spectra whose combination is known exactly."""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.steps import get_step
from spec3nb.steps.combine1d import combine_1d, weight_source
from spec3nb.steps.combine1d_grid import output_wavelengths
from tests.factories import make_slit_model, make_wfss_x1d
from tests.parity.test_combine1d_parity import GRID, x1d


def test_identical_grids_give_the_weighted_mean() -> None:
    a, b = x1d(GRID, seed=1, exptime=100.0), x1d(GRID, seed=2, exptime=300.0)
    table = combine_1d([a, b]).products[0].parts[0].table
    fa, fb = a.parts[0].table["FLUX"], b.parts[0].table["FLUX"]
    np.testing.assert_allclose(table["WAVELENGTH"], GRID, rtol=1e-12)
    np.testing.assert_allclose(table["FLUX"], (100 * fa + 300 * fb) / 400, rtol=1e-12)
    np.testing.assert_allclose(table["ERROR"], np.sqrt(100**2 + 300**2) * 2e-5 / 400)
    assert (table["WEIGHT"] == 400).all() and (table["N_INPUT"] == 2).all()


def test_do_not_use_and_nan_pixels_are_left_out_and_dq_ored() -> None:
    a = x1d(GRID, seed=1, dq_bad=[5], other_bits=[9])
    b = x1d(GRID, seed=2, nan_at=[6])
    table = combine_1d([a, b]).products[0].parts[0].table
    assert table["N_INPUT"][5] == 1
    assert table["FLUX"][5] == pytest.approx(b.parts[0].table["FLUX"][5])
    index6 = np.argmin(abs(table["WAVELENGTH"] - GRID[6]))
    assert table["N_INPUT"][index6] == 1
    assert table["FLUX"][index6] == pytest.approx(a.parts[0].table["FLUX"][6])
    index9 = np.argmin(abs(table["WAVELENGTH"] - GRID[9]))
    assert table["DQ"][index9] == 4


def test_output_pixels_without_input_are_dropped() -> None:
    a = x1d(GRID, seed=1, dq_bad=[5])
    b = x1d(GRID, seed=2, dq_bad=[5])
    table = combine_1d([a, b]).products[0].parts[0].table
    assert len(table) == len(GRID) - 1
    assert not np.isclose(table["WAVELENGTH"], GRID[5]).any()


def test_grid_of_shifted_inputs_lies_between_them() -> None:
    grid = output_wavelengths([GRID, GRID + 0.01])
    assert len(grid) >= len(GRID)
    assert np.all(np.diff(grid) > 0)
    assert grid[0] >= GRID[0] and grid[-1] <= GRID[-1] + 0.01


def test_sigma_clipping_removes_a_spike() -> None:
    inputs = [x1d(GRID, seed=s, spike=17 if s == 2 else None) for s in range(1, 5)]
    clipped = combine_1d(inputs, sigma_clip=3.0).products[0].parts[0].table
    plain = combine_1d(inputs).products[0].parts[0].table
    assert clipped["N_INPUT"][17] == 3 and plain["N_INPUT"][17] == 4
    clean = np.mean([p.parts[0].table["FLUX"][17] for i, p in enumerate(inputs) if i != 1])
    assert clipped["FLUX"][17] == pytest.approx(clean, rel=1e-9)


@pytest.mark.parametrize("key, path", [
    ("exposure_time", "exposure.exposure_time"), ("EFFEXPTM", "exposure.exposure_time"),
    ("integration", "exposure.integration_time"), ("effinttm", "exposure.integration_time"),
    ("unit weight", "unit_weight"), ("anything", "unit_weight"),
])
def test_weight_keys(key: str, path: str) -> None:
    assert weight_source(key) == path


def test_nothing_usable_is_skipped_with_a_reason() -> None:
    result = combine_1d([x1d(GRID, nan_at=list(range(len(GRID))))])
    assert result.status == "SKIPPED" and "no input spectrum has valid flux" in result.reason
    wrong = combine_1d([make_slit_model()])
    assert wrong.status == "SKIPPED" and "is a SlitModel; combine_1d takes" in wrong.reason
    wfss = combine_1d([make_wfss_x1d()])  # WFSS multi-source x1d: combined source by source
    assert wfss.status == "COMPLETE"
    assert wfss.products[0].model_type == "WFSSMultiCombinedSpecModel"


def test_inputs_are_unchanged() -> None:
    inputs = [x1d(GRID, seed=1), x1d(GRID + 0.003, seed=2)]
    tables_before = [p.parts[0].table.copy() for p in inputs]
    combine_1d(inputs, sigma_clip=2.0)
    for product, before in zip(inputs, tables_before, strict=True):
        assert product.parts[0].table.tobytes() == before.tobytes()


def test_declared_parameters() -> None:
    spec = get_step("combine_1d")
    assert spec.defaults() == {"exptime_key": "exposure_time", "sigma_clip": None}
    assert spec.validate({"sigma_clip": "3"})["sigma_clip"] == 3.0
