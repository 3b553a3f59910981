"""master_background on IFU exposures (MIRI MRS, NIRSpec IFU): truth, rules, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.stats import sigma_clipped_stats

from spec3nb.errors import InputFileError
from spec3nb.simulate import simulate
from spec3nb.simulate.ifu_miri import BACKGROUND_LEVEL as MRS_LEVEL
from spec3nb.steps.master_background import master_background
from spec3nb.steps.master_background_2d import ifu_wavelengths
from tests.parity.test_master_background_parity import simulated_ifu, with_pathloss_arrays


def _science(inputs):
    return [p for p in inputs if p.get("asn.exptype") == "science"]


@pytest.mark.parametrize("mode", ["mir_mrs", "nrs_ifu"])
def test_background_only_residual_under_one_percent(mode: str) -> None:
    """After subtraction, what is left of the sky is below 1 % of it.

    The MRS simulator gives every exposure its own sky level (mrs_imatch removes those
    differences later); the dedicated background has the nominal level, so the expected
    residual is ``sky * (level / nominal - 1)``, known from the truth.
    """
    ds = simulate(mode, seed=3, background="dedicated")
    inputs = list(simulated_ifu(mode))
    result = master_background(inputs)
    assert result.status == "COMPLETE"
    sky = ds.truth.background_spectrum
    nominal = MRS_LEVEL if mode == "mir_mrs" else None
    for e, (before, after) in enumerate(zip(ds.exposures, result.products, strict=True)):
        part = before.part
        wave = ifu_wavelengths(part, str(before.get("instrument.name")), "test")
        good = np.isfinite(after.part.data) & ((part.dq & 1) == 0) & np.isfinite(wave)
        truth = ds.truth.exposures[e]
        for pixels in (truth.outliers, truth.bad_pixels):
            good[pixels[:, 1], pixels[:, 2]] = False
        level = np.interp(wave[good], sky.wavelength, sky.value)
        scale = truth.background / nominal - 1.0 if nominal else 0.0
        # The sigma-clipped median over the image is the sky's: the point source fills
        # only a few slices.
        _, residual, _ = sigma_clipped_stats(after.part.data[good] - scale * level, sigma=3)
        _, before_sky, _ = sigma_clipped_stats(part.data[good], sigma=3)
        assert before_sky > 0.5 * level.mean()  # there was a sky to remove
        assert abs(residual) < 0.01 * level.mean(), (e, residual, level.mean())


@pytest.mark.parametrize("mode", ["mir_mrs", "nrs_ifu"])
def test_ifu_dq_and_errors_are_left_alone(mode: str) -> None:
    inputs = list(simulated_ifu(mode))
    result = master_background(inputs, save_background=True)
    subtracted = [o.product for o in result.outputs if o.suffix == "mbsub"]
    for before, after in zip(_science(inputs), subtracted, strict=True):
        for name in ("dq", "err", "var_poisson", "var_rnoise", "var_flat"):
            np.testing.assert_array_equal(after.part.arrays[name], before.part.arrays[name])
        # no background where no wavelength (between slices: NaN data stays NaN)
        gaps = np.isnan(before.part.data)
        assert np.isnan(after.part.data[gaps]).all()
    backgrounds = [o.product for o in result.outputs if o.suffix == "masterbg2d"]
    regions = _science(inputs)[0].part.arrays["regions"]
    assert (backgrounds[0].part.data[regions == 0] == 0).all()
    assert (backgrounds[0].part.data[regions > 0] > 0).mean() > 0.9


def test_nirspec_point_source_background_is_scaled_by_the_pathloss_ratio() -> None:
    inputs = list(simulated_ifu("nrs_ifu"))
    plain = master_background(inputs, save_background=True)
    scaled_inputs = [with_pathloss_arrays(p) if p.get("asn.exptype") == "science" else p
                     for p in inputs]
    scaled = master_background(scaled_inputs, save_background=True)
    part = scaled_inputs[0].part
    with np.errstate(divide="ignore"):
        ratio = part.arrays["pathloss_uniform"] / part.arrays["pathloss_point"]
    b_plain = [o.product for o in plain.outputs if o.suffix == "masterbg2d"][0].part.data
    b_scaled = [o.product for o in scaled.outputs if o.suffix == "masterbg2d"][0].part.data
    ok = np.isfinite(ratio) & (b_plain > 0)
    np.testing.assert_allclose(b_scaled[ok], b_plain[ok] * ratio[ok], rtol=1e-6)
    # an extended source is not scaled
    extended = [p.evolve(meta={"target.source_type": "EXTENDED"}) for p in scaled_inputs]
    same = master_background(extended)
    np.testing.assert_array_equal(same.products[0].part.data, plain.products[0].part.data)


def test_mrs_members_use_their_background_column() -> None:
    """MIRI MRS members are always read as extended: SURF_BRIGHT is ignored."""
    inputs = list(simulated_ifu("mir_mrs"))
    members = []
    for p in inputs:
        if p.get("asn.exptype") == "background":
            table = p.parts[0].table.copy()
            table["SURF_BRIGHT"] = 1e6  # would wreck the result if it were used
            p = p.evolve(parts=[p.parts[0].evolve(arrays={"spec_table": table})])
        members.append(p)
    a = master_background(inputs).products[0].part.data
    b = master_background(members).products[0].part.data
    np.testing.assert_array_equal(a, b)


def test_ifu_without_wcs_or_of_another_instrument_is_a_clear_error() -> None:
    inputs = list(simulated_ifu("mir_mrs"))
    first = inputs[0].evolve(meta={"filename": "mrs_cal.fits"})
    no_wcs = first.evolve(parts=[first.part.evolve(wcs=None)])
    with pytest.raises(InputFileError, match="mrs_cal.fits.*no WCS"):
        master_background([no_wcs, *inputs[1:]])
    other = first.evolve(meta={"instrument.name": "NIRCAM"})
    with pytest.raises(InputFileError, match="mrs_cal.fits.*'NIRCAM'"):
        master_background([other, *inputs[1:]])
