"""assign_mtwcs: the moving-target frame, its averages, the skip rules and bad input."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.modeling import models as m
from gwcs import coordinate_frames as cf
from gwcs import wcs as gwcs_wcs

from spec3nb.errors import InputFileError
from spec3nb.steps.assign_mtwcs import SPEC, add_moving_target_frame, assign_mtwcs
from tests.factories import make_x1d
from tests.parity.test_assign_mtwcs_parity import fs_exposures, lrs_exposures
from tests.parity.test_param_defaults import mismatches


def test_parameters_are_jwsts() -> None:
    assert SPEC.params == ()
    assert mismatches(SPEC) == []


def test_each_target_position_lands_on_the_mean() -> None:
    inputs = lrs_exposures(3)
    result = SPEC.run(inputs)
    assert result.status == "COMPLETE"
    mean_ra = np.mean([p.get("wcsinfo.mt_ra") for p in inputs])
    mean_dec = np.mean([p.get("wcsinfo.mt_dec") for p in inputs])
    for before, output in zip(inputs, result.outputs, strict=True):
        after = output.product
        assert output.suffix == "assign_mtwcs" and output.origin == inputs.index(before)
        assert after.get("wcsinfo.mt_avra") == pytest.approx(mean_ra, abs=1e-12)
        assert after.get("wcsinfo.mt_avdec") == pytest.approx(mean_dec, abs=1e-12)
        assert after.get("cal_step.assign_mtwcs") == "COMPLETE"
        wcs = after.part.wcs
        assert wcs.output_frame.name == "moving_target"
        assert wcs.available_frames[-2:] == ["world", "moving_target"]
        # The target, wherever it was in this exposure, is at the mean in the new frame.
        shift = wcs.get_transform("world", "moving_target")
        ra, dec, lam = shift(before.get("wcsinfo.mt_ra"), before.get("wcsinfo.mt_dec"), 9.0)
        assert (ra, dec) == pytest.approx((mean_ra, mean_dec), abs=1e-12)
        assert lam == 9.0
        # The old output frame is still reachable, unchanged.
        old = before.part.wcs
        x, y = np.meshgrid(np.arange(4.0), np.arange(5.0))
        np.testing.assert_array_equal(wcs.get_transform("detector", "world")(x, y), old(x, y))


def test_slits_are_shifted_with_their_own_position() -> None:
    inputs = fs_exposures(2)
    result = assign_mtwcs(inputs)
    firsts = [p.parts[0].meta["wcsinfo"] for p in inputs]
    mean_ra = np.mean([w["mt_ra"] for w in firsts])
    for before, after in zip(inputs, result.products, strict=True):
        assert after.get("wcsinfo.mt_avra") is None  # recorded per slit, as jwst does
        for slit_before, slit in zip(before.parts, after.parts, strict=True):
            assert slit.meta["wcsinfo"]["mt_avra"] == pytest.approx(mean_ra, abs=1e-12)
            shift = slit.wcs.get_transform("world", "moving_target")
            ra = shift(slit_before.meta["wcsinfo"]["mt_ra"], 0.0, 3.0)[0]
            assert ra == pytest.approx(mean_ra, abs=1e-12)


def test_inputs_are_not_modified_and_backgrounds_keep_their_wcs() -> None:
    background = make_x1d(**{"asn.exptype": "background", "target.type": "MOVING"})
    inputs = [*lrs_exposures(2), background]
    frames = [p.parts[0].wcs.available_frames for p in inputs]
    result = assign_mtwcs(inputs)
    assert [p.parts[0].wcs.available_frames for p in inputs] == frames
    assert result.products[2].parts[0].wcs is background.parts[0].wcs
    assert result.products[0].part.wcs is not inputs[0].part.wcs


def test_not_a_moving_target_is_skipped_unchanged() -> None:
    inputs = [p.evolve(meta={"target.type": "FIXED"}) for p in lrs_exposures(2)]
    result = assign_mtwcs(inputs)
    assert result.status == "SKIPPED" and "not a moving target" in result.reason
    assert all(a is b for a, b in zip(result.products, inputs, strict=True))


@pytest.mark.parametrize("key", ["mt_ra", "mt_dec"])
def test_missing_position_skips_with_the_exposure_named(key: str) -> None:
    inputs = lrs_exposures(2)
    inputs[1] = inputs[1].evolve(meta={f"wcsinfo.{key}": None, "filename": "b_cal.fits"})
    result = assign_mtwcs(inputs)
    assert result.status == "SKIPPED"
    assert "b_cal.fits" in result.reason and "MT_RA/MT_DEC" in result.reason
    for product in result.products:
        assert product.part.wcs.output_frame.name == "world"


def test_missing_position_in_one_slit_skips() -> None:
    inputs = fs_exposures(2)
    parts = list(inputs[0].parts)
    parts[1] = parts[1].evolve(meta={"wcsinfo.mt_dec": None})
    inputs[0] = inputs[0].evolve(parts=parts)
    assert assign_mtwcs(inputs).status == "SKIPPED"


def test_a_slit_without_wcs_is_a_clear_error() -> None:
    inputs = fs_exposures(2)
    parts = list(inputs[1].parts)
    parts[0] = parts[0].evolve(wcs=None)
    inputs[1] = inputs[1].evolve(parts=parts, meta={"filename": "x_cal.fits"})
    with pytest.raises(InputFileError, match="x_cal.fits slit S200A1.*no WCS"):
        assign_mtwcs(inputs)


def test_a_frame_that_cannot_be_shifted_is_a_clear_error() -> None:
    detector = cf.Frame2D(name="detector", unit=(u.pix, u.pix))
    focal = cf.Frame2D(name="focal", unit=(u.arcsec, u.arcsec))
    wcs = gwcs_wcs.WCS(m.Shift(1) & m.Shift(2), input_frame=detector, output_frame=focal)
    with pytest.raises(InputFileError, match="Frame2D"):
        add_moving_target_frame(wcs, 1.0, 2.0, 1.0, 2.0, "e_cal.fits")


def test_no_inputs_and_no_science() -> None:
    assert assign_mtwcs([]).status == "SKIPPED"
    only_bkg = [make_x1d(**{"asn.exptype": "background", "target.type": "MOVING"})]
    result = assign_mtwcs(only_bkg)
    assert result.status == "SKIPPED" and "no science" in result.reason
