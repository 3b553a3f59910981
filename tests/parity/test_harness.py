"""The parity harness works, fails when it should, and really runs jwst offline."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from spec3nb.datamodels import read_product, write_product
from spec3nb.datamodels.tables import column_units
from tests.factories import make_s2d, make_x1d
from tests.parity.harness import (
    OFFLINE_CONTEXT,
    OfflineReferenceError,
    assert_arrays_match,
    assert_dq_match,
    assert_products_match,
    assert_tables_match,
    offline_jwst,
    run_jwst_step,
)

# ----------------------------------------------------------------------------- comparisons


def _image() -> np.ndarray:
    image = np.arange(20.0).reshape(4, 5)
    image[1, 2] = np.nan
    return image


def test_equal_arrays_pass() -> None:
    assert_arrays_match(_image(), _image().copy(), rtol=0, atol=0)
    assert_arrays_match(_image(), _image() * (1 + 1e-9), rtol=1e-6)


def test_shifted_nan_fails() -> None:
    other = _image()
    other[1, 2], other[1, 3] = 7.0, np.nan
    with pytest.raises(AssertionError, match=r"2 of 20 pixels differ in NaN-ness.*\(1, 2\)"):
        assert_arrays_match(_image(), other, name="sci")


def test_value_out_of_tolerance_fails_and_names_worst_pixel() -> None:
    other = _image()
    other[3, 4] += 0.5
    other[0, 1] += 0.01
    with pytest.raises(AssertionError, match=r"sci: 2 of 19 values.*worst at \(3, 4\)"):
        assert_arrays_match(_image(), other, rtol=1e-4, name="sci")
    assert_arrays_match(_image(), other, atol=0.6)


def test_shape_mismatch_fails() -> None:
    with pytest.raises(AssertionError, match="shape"):
        assert_arrays_match(np.zeros(3), np.zeros(4))


def test_dq_bits() -> None:
    ours = np.array([[0, 1], [17, 0]], np.uint32)
    theirs = np.array([[0, 1], [1, 512]], np.uint32)
    with pytest.raises(AssertionError, match=r"2 of 4 pixels differ in bits \[16, 512\]"):
        assert_dq_match(ours, theirs)
    assert_dq_match(ours, theirs, bits=1)
    with pytest.raises(AssertionError, match=r"bits \[16\]"):
        assert_dq_match(ours, theirs, bits=[1, 16])


def _table(npoints: int = 20):
    return make_x1d(npoints=npoints).part.table


def test_tables_missing_column_fails() -> None:
    table = _table()
    names = [n for n in table.dtype.names if n != "NPIXELS"]
    fewer = np.empty(table.shape, dtype=[(n, table.dtype[n]) for n in names])
    for name in names:
        fewer[name] = table[name]
    with pytest.raises(AssertionError, match=r"missing in ours \['NPIXELS'\]"):
        assert_tables_match(fewer, table)
    with pytest.raises(AssertionError, match=r"\['NPIXELS'\] missing in ours"):
        assert_tables_match(fewer, table, columns=["FLUX", "NPIXELS"])
    assert_tables_match(fewer, table, columns=["FLUX", "WAVELENGTH"])


def test_tables_report_every_bad_column() -> None:
    table, other = _table(), _table().copy()
    other["FLUX"][3] *= 2
    other["SB_ERROR"][5] = np.nan
    with pytest.raises(AssertionError) as info:
        assert_tables_match(table, other)
    assert "table.FLUX: 1 of 20 values" in str(info.value)
    assert "table.SB_ERROR: 1 of 20 pixels differ in NaN-ness" in str(info.value)


def test_products_match_and_differ() -> None:
    ours = make_s2d(seed=1)
    assert_products_match(ours, make_s2d(seed=1), attrs=["name"], meta=["exposure.type"])
    with pytest.raises(AssertionError, match=r"part 0\.data: \d+ of"):
        assert_products_match(ours, make_s2d(seed=2))
    renamed = ours.evolve(parts=[ours.part.evolve(attrs={"name": "S400A1"})])
    with pytest.raises(AssertionError, match="name: 'S200A1'"):
        assert_products_match(ours, renamed, attrs=["name"])
    fewer = ours.evolve(parts=[ours.part.evolve(drop=["wht"])])
    with pytest.raises(AssertionError, match="arrays"):
        assert_products_match(fewer, ours)


# ----------------------------------------------------------------------------- offline


def test_offline_refuses_crds_and_restores() -> None:
    from stpipe import crds_client

    originals = (crds_client.get_reference_file, crds_client.get_multiple_reference_paths,
                 crds_client.get_context_used)
    before = os.environ.get("STPIPE_DISABLE_CRDS_STEPPARS")
    with offline_jwst():
        assert os.environ["STPIPE_DISABLE_CRDS_STEPPARS"] == "true"
        with pytest.raises(OfflineReferenceError, match="'apcorr'"):
            crds_client.get_reference_file({}, "apcorr", "jwst")
        with pytest.raises(OfflineReferenceError, match="'cubepar', 'extract1d'"):
            crds_client.get_multiple_reference_paths({}, ["cubepar", "extract1d"], "jwst")
        assert crds_client.get_context_used("jwst") == OFFLINE_CONTEXT
    after = (crds_client.get_reference_file, crds_client.get_multiple_reference_paths,
             crds_client.get_context_used)
    assert after == originals
    assert os.environ.get("STPIPE_DISABLE_CRDS_STEPPARS") == before


def test_step_without_override_raises_naming_the_reftype() -> None:
    from jwst.extract_1d import Extract1dStep

    with pytest.raises(OfflineReferenceError, match="override_extract1d"):
        run_jwst_step(Extract1dStep, make_s2d())


def test_session_fixture_keeps_crds_away(jwst_offline: None) -> None:
    from stpipe import crds_client

    with pytest.raises(OfflineReferenceError, match="'psf'"):
        crds_client.get_reference_file({}, "psf", "jwst")


# ----------------------------------------------------------------------------- a real run


def test_combine_1d_on_our_x1d_files(tmp_path: Path) -> None:
    from jwst.combine_1d import Combine1dStep

    first = make_x1d(npoints=40, seed=1, **{"exposure.exposure_time": 100.0})
    second = make_x1d(npoints=40, seed=2, **{"exposure.exposure_time": 300.0})
    paths = [write_product(p, tmp_path / f"in{i}_x1d.fits") for i, p in enumerate((first, second))]
    c1d = run_jwst_step(Combine1dStep, paths, save_to=tmp_path / "out_c1d.fits")

    assert c1d.model_type == "MultiCombinedSpecModel"
    assert read_product(tmp_path / "out_c1d.fits").part.table.dtype.names == (
        "WAVELENGTH", "FLUX", "ERROR", "SURF_BRIGHT", "SB_ERROR", "DQ", "WEIGHT", "N_INPUT")
    table, t1, t2 = c1d.part.table, first.part.table, second.part.table
    assert_arrays_match(table["WAVELENGTH"], t1["WAVELENGTH"], rtol=1e-12, name="wavelength")
    expected = (100.0 * t1["FLUX"] + 300.0 * t2["FLUX"]) / 400.0
    assert_arrays_match(table["FLUX"], expected, rtol=1e-10, name="flux")
    assert_arrays_match(table["N_INPUT"], np.full(40, 2.0), rtol=0, name="n_input")
    assert column_units(table)["FLUX"] == "Jy"
    assert c1d.get("cal_step.combine_1d") == "COMPLETE"


def test_overridden_references_run_and_record_offline_context() -> None:
    from jwst.extract_1d import Extract1dStep

    x1d = run_jwst_step(Extract1dStep, make_s2d(), override_extract1d="N/A",
                        override_apcorr="N/A", override_psf="N/A")
    assert x1d.model_type == "MultiSpecModel"
    assert x1d.get("ref_file.crds.context_used") == OFFLINE_CONTEXT
    assert x1d.get("ref_file.extract1d.name") == "N/A"
