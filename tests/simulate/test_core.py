"""The simulator's shared pieces: noise model, defects, spectra, truth files, WCS frames."""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.datamodels import dq as dqbits
from spec3nb.simulate.dataset import SimConfig, exposure_filename
from spec3nb.simulate.noise import Detector, add_bad_pixels, add_cosmic_rays, observe
from spec3nb.simulate.spectra import background_spectrum, source_spectrum
from spec3nb.simulate.truth import ExposureTruth, SourceTruth, Truth, read_truth, write_truth
from spec3nb.simulate.wcs import sky_projection


def _signal(shape=(200, 300)) -> np.ndarray:
    signal = np.full(shape, 2.0)
    signal[:, :10] = np.nan  # a region with no light path
    return signal


def test_noise_is_consistent_with_err_and_variances() -> None:
    detector = Detector()
    arrays = observe(np.random.default_rng(1), _signal(), detector)
    total = arrays["var_poisson"] + arrays["var_rnoise"] + arrays["var_flat"]
    np.testing.assert_allclose(arrays["err"] ** 2, total, rtol=1e-5)
    pulls = (arrays["data"] - 2.0) / arrays["err"]
    assert abs(np.nanstd(pulls) - 1.0) < 0.02
    assert abs(np.nanmean(pulls)) < 0.02
    assert all(a.dtype == np.float32 for k, a in arrays.items() if k != "dq")


def test_no_light_is_nan_and_non_science() -> None:
    arrays = observe(np.random.default_rng(1), _signal(), Detector())
    assert np.isnan(arrays["data"][:, :10]).all()
    assert (arrays["dq"][:, :10] == dqbits.NON_SCIENCE | dqbits.DO_NOT_USE).all()
    assert (arrays["dq"][:, 10:] == 0).all()


def test_poisson_variance_scales_with_signal() -> None:
    detector = Detector()
    faint = observe(np.random.default_rng(0), np.full((4, 4), 1.0), detector)
    bright = observe(np.random.default_rng(0), np.full((4, 4), 4.0), detector)
    np.testing.assert_allclose(bright["var_poisson"], 4 * faint["var_poisson"], rtol=1e-6)
    np.testing.assert_allclose(bright["var_rnoise"], faint["var_rnoise"])


def test_bad_pixels_and_cosmic_rays_land_where_recorded() -> None:
    rng = np.random.default_rng(3)
    arrays = observe(rng, _signal(), Detector())
    before = arrays["data"].copy()
    hot = add_bad_pixels(rng, arrays, fraction=1e-3)
    assert np.isnan(arrays["data"][hot[:, 0], hot[:, 1]]).all()
    assert (arrays["dq"][hot[:, 0], hot[:, 1]] & dqbits.HOT).all()
    hits = add_cosmic_rays(rng, arrays, 25)
    assert len(hits) == 25
    jump = arrays["data"][hits[:, 0], hits[:, 1]] - before[hits[:, 0], hits[:, 1]]
    assert (jump >= 29 * arrays["err"][hits[:, 0], hits[:, 1]]).all()
    changed = np.argwhere(np.nan_to_num(arrays["data"]) != np.nan_to_num(before))
    assert {tuple(p) for p in changed} <= {tuple(p) for p in hits} | {tuple(p) for p in hot}


def test_dq_bits_are_jwst_values() -> None:
    from stdatamodels.jwst.datamodels import dqflags

    for name, value in dqbits.FLAGS.items():
        assert dqflags.pixel[name] == value, name


def test_spectra_are_deterministic_and_positive() -> None:
    a = source_spectrum(np.random.default_rng(5), (1.0, 2.0), level=3.0)
    b = source_spectrum(np.random.default_rng(5), (1.0, 2.0), level=3.0)
    np.testing.assert_array_equal(a.value, b.value)
    assert (a.value > 0).all() and a.unit == "mJy"
    assert np.isnan(a(np.array([0.5, 2.5]))).all()
    bkg = background_spectrum((5.0, 12.0), level=10.0)
    assert bkg(8.5) == pytest.approx(10.0, rel=1e-3)
    assert bkg(12.0) > bkg(5.0)


def test_truth_round_trip(tmp_path) -> None:
    spectrum = source_spectrum(np.random.default_rng(2), (5.0, 12.0), level=1.0)
    truth = Truth(
        "mir_lrs", 7, "small",
        (SourceTruth(1, 10.5, -20.25, "POINT", spectrum, "star", {"slit": "LRS"}),),
        (ExposureTruth("a_cal.fits", (1.5, 0.0), 3.0, np.array([[0, 4, 5]]),
                       np.zeros((0, 3), int), {"background_subtracted": True}),),
        "nod", background_spectrum((5.0, 12.0), level=3.0),
    )
    write_truth(truth, tmp_path)
    back = read_truth(tmp_path / "truth.json")
    assert back.mode == "mir_lrs" and back.seed == 7 and back.background_kind == "nod"
    source = back.source(1)
    assert (source.ra, source.dec, source.name, dict(source.extra)) == (
        10.5, -20.25, "star", {"slit": "LRS"})
    np.testing.assert_array_equal(source.spectrum.value, spectrum.value)
    np.testing.assert_array_equal(back.exposures[0].outliers, [[0, 4, 5]])
    assert back.exposures[0].bad_pixels.shape == (0, 3)
    assert back.exposures[0].extra == {"background_subtracted": True}
    assert back.background_spectrum.unit == "MJy/sr"
    with pytest.raises(KeyError, match="no simulated source with id 2"):
        back.source(2)


@pytest.mark.parametrize("kwargs, message", [
    ({"size": "huge"}, "size must be one of small, full"),
    ({"background": "sky"}, "background must be one of none, nod, dedicated"),
    ({"nexp": 0}, "nexp must be at least 1"),
])
def test_config_validation(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        SimConfig("mir_lrs", **kwargs)


def test_config_rng_repeats() -> None:
    config = SimConfig("mir_lrs", seed=11)
    assert config.rng().random() == config.rng().random()


def test_archive_file_names() -> None:
    assert exposure_filename("01234", 2, 3, "NRS1") == "jw01234002001_03101_00003_nrs1_cal.fits"


@pytest.mark.parametrize("pa, along, east_sign, north_sign", [
    (0.0, (0.0, 10.0), 0, 1), (0.0, (10.0, 0.0), -1, 0), (90.0, (0.0, 10.0), 1, 0),
])
def test_sky_projection_orientation(pa, along, east_sign, north_sign) -> None:
    model = sky_projection(150.0, 2.0, pa)
    ra, dec = model(*along)
    d_east = (ra - 150.0) * np.cos(np.radians(2.0)) * 3600
    d_north = (dec - 2.0) * 3600
    assert d_east == pytest.approx(10.0 * east_sign, abs=1e-3)
    assert d_north == pytest.approx(10.0 * north_sign, abs=1e-3)
    np.testing.assert_allclose(model.inverse(ra, dec), along, atol=1e-7)
