"""master_background: known backgrounds removed, the skip rules, parameters and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy.stats import sigma_clipped_stats
from scipy.signal import medfilt

from spec3nb.datamodels import Part, Product, tables
from spec3nb.errors import InputFileError, ParameterError
from spec3nb.steps.master_background import SPEC, master_background
from spec3nb.steps.master_background_2d import background_table, interpolate
from tests.factories import make_multislit, make_slit_model, make_soss_cube
from tests.parity.test_master_background_parity import (
    POINT_ARRAYS,
    simulated,
    with_point_source_arrays,
)
from tests.parity.test_param_defaults import mismatches


def sky(wave):
    """A smooth sky spectrum (MJy/sr)."""
    wave = np.asarray(wave, dtype=float)
    return 5.0 + 0.3 * (wave - 10.0) + 0.2 * np.sin(3.0 * wave)


def background_x1d(wave, sb=None, *, nod=False, exptime=100.0, flux=None, name="b_x1d.fits"):
    """A background member: the sky in SURF_BRIGHT (dedicated) or BACKGROUND (nod)."""
    wave = np.asarray(wave, dtype=float)
    sb = sky(wave) if sb is None else np.asarray(sb, dtype=float)
    flux = np.full(wave.size, 1e-3) if flux is None else flux
    cols = {"flux": flux, "dq": np.zeros(wave.size, "u4")}
    if nod:  # the source in SURF_BRIGHT, the sky beside it in BACKGROUND
        cols.update(surf_bright=np.full(wave.size, 50.0), background=sb,
                    bkgd_error=np.full(wave.size, 0.01))
    else:
        cols.update(surf_bright=sb, sb_error=np.full(wave.size, 0.01))
    table = tables.spec_table(wave, units=tables.spectrum_units(True, False), **cols)
    meta = {"filename": name, "asn": {"exptype": "background"},
            "exposure": {"type": "MIR_LRS-FIXEDSLIT", "exposure_time": exptime},
            "observation": {"bkgdtarg": not nod}}
    part = Part(arrays={"spec_table": table}, attrs={"spectral_order": 1})
    return tables.spectrum_product([part], meta)


def lrs_science(seed=0, **meta):
    """A MIRI LRS exposure holding exactly the sky plus a source in columns 10-13."""
    product = make_slit_model(seed=seed, **{"asn.exptype": "science", **meta})
    part = product.part
    data = sky(part.arrays["wavelength"]).astype(np.float32)
    data[:, 10:14] += 3.0
    return product.evolve(parts=[part.evolve(arrays={"data": data})])


def only(result, suffix):
    """The single output of `result` with `suffix`."""
    (product,) = [o.product for o in result.outputs if o.suffix == suffix]
    return product


FINE = np.arange(8.9, 12.1, 0.01)
NRS_WAVE = np.linspace(2.8, 3.2, 401)


def test_parameters_are_jwsts() -> None:
    assert [p.name for p in SPEC.params] == ["median_kernel", "user_background",
                                             "save_background", "force_subtract"]
    assert mismatches(SPEC) == []


def test_a_known_background_is_removed() -> None:
    science = [lrs_science(0), lrs_science(1)]
    result = SPEC.run([*science, background_x1d(FINE)])
    assert result.status == "COMPLETE"
    assert [(o.suffix, o.origin) for o in result.outputs] == [("mbsub", 0), ("mbsub", 1)]
    for before, after in zip(science, result.products, strict=True):
        level = sky(before.part.arrays["wavelength"])
        residual = after.part.data
        off = np.ones(24, bool)
        off[10:14] = False
        assert np.max(np.abs(residual[:, off]) / level[:, off]) < 1e-4
        np.testing.assert_allclose(after.part.data[:, 10:14], 3.0, atol=1e-3)
        assert after.get("cal_step.master_background") == "COMPLETE"
        for name in ("err", "var_poisson", "var_rnoise", "var_flat"):  # as jwst: unchanged
            np.testing.assert_array_equal(after.part.arrays[name], before.part.arrays[name])


@pytest.mark.parametrize("mode", ["mir_lrs", "nrs_fs"])
def test_simulated_background_residual_under_one_percent(mode: str) -> None:
    """Simulated dedicated backgrounds: off-source residual below 1 % of the sky."""
    from spec3nb.simulate import simulate

    ds = simulate(mode, seed=3, background="dedicated")
    inputs = simulated(mode, "dedicated")
    result = master_background(inputs)
    sky_truth = ds.truth.background_spectrum
    checked = 0
    for e, (before, after) in enumerate(zip(ds.exposures, result.products, strict=True)):
        truth = ds.truth.exposures[e]
        for k, (pb, pa) in enumerate(zip(before.parts, after.parts, strict=True)):
            if pb.attrs.get("source_type") == "POINT" and mode == "nrs_fs":
                continue  # MJy point-source slit: no sky in the simulation
            good = ((pa.dq & 1) == 0) & np.isfinite(pa.data)
            for pixels in (truth.outliers, truth.bad_pixels):
                sel = pixels[pixels[:, 0] == k]
                good[sel[:, 1], sel[:, 2]] = False
            spatial = 1 if mode == "mir_lrs" else 0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # rows outside the slit
                profile = np.nanmedian(np.where(good, pa.data, np.nan), axis=1 - spatial)
            far = np.abs(np.arange(profile.size) - np.nanargmax(profile)) > 8
            off = good & (far[None, :] if spatial == 1 else far[:, None])
            if off.sum() < 1000:
                continue
            level = np.interp(pb.arrays["wavelength"][off], sky_truth.wavelength,
                              sky_truth.value)
            mean, _, _ = sigma_clipped_stats(pa.data[off], sigma=4)
            before_mean, _, _ = sigma_clipped_stats(pb.data[off], sigma=4)
            assert abs(before_mean / level.mean() - 1) < 0.05  # the sky was there
            assert abs(mean) < 0.01 * level.mean(), (pb.attrs.get("name"), mean)
            checked += 1
    assert checked >= 2


def test_nodded_backgrounds_use_the_background_column() -> None:
    science = lrs_science()
    nod = master_background([science, background_x1d(FINE, nod=True)])
    dedicated = master_background([science, background_x1d(FINE)])
    np.testing.assert_array_equal(nod.products[0].part.data, dedicated.products[0].part.data)
    # Without BKGDTARG the member counts as dedicated: SURF_BRIGHT (the source) is used.
    member = background_x1d(FINE, nod=True)
    member = member.evolve(meta={"observation.bkgdtarg": None})
    unknown = master_background([science, member], save_background=True)
    assert np.all(unknown.outputs[1].product.parts[0].table["SURF_BRIGHT"] == 50.0)


def test_backgrounds_are_weighted_by_exposure_time() -> None:
    a = background_x1d(FINE, np.full(FINE.size, 2.0), exptime=100.0)
    b = background_x1d(FINE, np.full(FINE.size, 6.0), exptime=300.0)
    result = master_background([lrs_science(), a, b], save_background=True)
    master = result.outputs[1].product.parts[0].table
    assert result.outputs[1].suffix == "masterbg1d" and result.outputs[1].origin is None
    np.testing.assert_allclose(master["SURF_BRIGHT"], 5.0, rtol=1e-12)


@pytest.mark.parametrize(("kernel", "width"), [(1, 1), (2, 1), (5, 5), (6, 5), (0, 1)])
def test_median_kernel(kernel: int, width: int) -> None:
    rng = np.random.default_rng(1)
    spiky = sky(FINE) + rng.normal(0, 0.05, FINE.size)
    result = master_background([lrs_science(), background_x1d(FINE, spiky)],
                               median_kernel=kernel, save_background=True)
    master = result.outputs[1].product.parts[0].table["SURF_BRIGHT"]
    expected = medfilt(spiky, kernel_size=width) if width > 1 else spiky
    np.testing.assert_allclose(master, expected, rtol=1e-12)


def test_user_background_and_masterbg_keyword() -> None:
    user = background_x1d(FINE, name="/some/where/user_x1d.fits")
    result = master_background([lrs_science(), background_x1d(FINE, sky(FINE) + 9)],
                               user_background=user, median_kernel=5, save_background=True)
    assert [o.suffix for o in result.outputs] == ["mbsub", "masterbg2d"]  # no masterbg1d
    product = result.products[0]
    assert product.get("background.master_background_file") == "user_x1d.fits"
    off = np.ones(24, bool)
    off[10:14] = False
    assert np.max(np.abs(product.part.data[:, off])) < 1e-3  # the user's, not the members'
    np.testing.assert_allclose(result.outputs[1].product.part.data,
                               lrs_science().part.data - product.part.data, atol=1e-5)


def test_user_background_given_as_a_file_name_is_refused() -> None:
    with pytest.raises(ParameterError, match="user_background.*loaded x1d product"):
        master_background([lrs_science()], user_background="user_x1d.fits")
    with pytest.raises(ParameterError, match="user_background.*no row"):
        master_background([lrs_science()],
                          user_background=background_x1d(FINE, np.full(FINE.size, np.nan)))


@pytest.mark.parametrize("which", ["all", "one"])
@pytest.mark.parametrize("keyword", ["bkg_subtract", "master_background"])
def test_already_subtracted_is_skipped_unless_forced(which: str, keyword: str) -> None:
    science = [lrs_science(0), lrs_science(1)]
    marked = [p.evolve(meta={f"cal_step.{keyword}": "COMPLETE"}) for p in science]
    member = background_x1d(FINE)
    if which == "all":  # jwst looks at the background members too
        inputs = [*marked, member.evolve(meta={f"cal_step.{keyword}": "COMPLETE"})]
    else:
        inputs = [marked[0], science[1], member]
    result = master_background(inputs)
    assert result.status == "SKIPPED" and "force_subtract" in result.reason
    assert ("mixture" in result.reason) == (which == "one")
    assert len(result.products) == 2  # the background member is left out
    for before, after in zip(inputs, result.products, strict=False):
        np.testing.assert_array_equal(after.part.data, before.part.data)
        assert after.get("cal_step.master_background") == "SKIPPED"
    forced = master_background(inputs, force_subtract=True)
    assert forced.status == "COMPLETE"
    assert np.nanmax(np.abs(forced.products[0].part.data[:, :10])) < 1e-3


def test_an_already_subtracted_background_member_also_skips() -> None:
    member = background_x1d(FINE).evolve(meta={"cal_step.bkg_subtract": "COMPLETE"})
    assert master_background([lrs_science(), member]).status == "SKIPPED"


def test_partial_coverage_flags_do_not_use_and_subtracts_nothing_there() -> None:
    science = lrs_science()
    result = master_background([science, background_x1d(np.arange(10.0, 12.1, 0.01))])
    after, wave = result.products[0].part, science.part.arrays["wavelength"]
    outside = wave < 10.0
    assert outside.any() and not outside.all()
    assert np.all(after.dq[outside] & 1)
    np.testing.assert_array_equal(after.data[outside], science.part.data[outside])
    assert not np.any(after.dq[~outside] & ~science.part.dq[~outside] & 1)


def test_nan_wavelengths_are_do_not_use_with_zero_background() -> None:
    wave, table = np.array([[np.nan, 10.0], [20.0, 10.5]]), (FINE, sky(FINE))
    values, uncovered = interpolate(wave, *table)
    np.testing.assert_array_equal(uncovered, [[True, False], [True, False]])
    assert values[0, 0] == 0.0 and values[1, 0] == 0.0
    assert values[0, 1] == pytest.approx(sky(10.0), abs=1e-4)


def test_unsorted_background_wavelengths_are_sorted() -> None:
    order = np.random.default_rng(0).permutation(FINE.size)
    wave, sb = background_table(background_x1d(FINE[order]))
    assert np.all(np.diff(wave) > 0)
    np.testing.assert_allclose(sb, sky(wave))


def test_mos_slits_get_no_background() -> None:
    exposures = [make_multislit("NRS_MSASPEC", 2, seed=s, **{"asn.exptype": "science"})
                 for s in (0, 1)]
    member = background_x1d(NRS_WAVE, np.full(NRS_WAVE.size, 7.0))
    result = master_background([*exposures, member])
    assert result.status == "COMPLETE"
    for before, after in zip(exposures, result.products, strict=True):
        for pb, pa in zip(before.parts, after.parts, strict=True):
            np.testing.assert_array_equal(pa.data, pb.data)
            np.testing.assert_array_equal(pa.dq, pb.dq)


def test_nirspec_fs_point_source_correction() -> None:
    exposure = make_multislit("NRS_FIXEDSLIT", 2, seed=0, **{"asn.exptype": "science"})
    exposure = exposure.evolve(parts=[exposure.parts[0],
                                      exposure.parts[1].evolve(attrs={"source_type": "EXTENDED"})])
    corrected = with_point_source_arrays(exposure)
    member = background_x1d(NRS_WAVE, np.full(NRS_WAVE.size, 7.0))
    result = master_background([corrected, member], save_background=True)
    background = only(result, "masterbg2d")
    a = {n: corrected.parts[0].arrays[n].astype(np.float64) for n in POINT_ARRAYS}
    with np.errstate(divide="ignore"):
        factor = (a["pathloss_uniform"] / a["pathloss_point"]
                  * a["flatfield_uniform"] / a["flatfield_point"]
                  * a["photom_point"] / a["photom_uniform"])
    finite = np.isfinite(factor)
    np.testing.assert_allclose(background.parts[0].data[finite], 7.0 * factor[finite],
                               rtol=1e-6)
    assert np.isinf(background.parts[0].data[0, 0])  # pathloss_point 0, as jwst gives
    np.testing.assert_allclose(background.parts[1].data, 7.0)  # extended: no correction
    # Without the arrays the point-source slit gets the plain background.
    plain = master_background([exposure, member], save_background=True)
    np.testing.assert_allclose(only(plain, "masterbg2d").parts[0].data, 7.0)


def test_no_background_members_is_skipped() -> None:
    science = [lrs_science(0), lrs_science(1)]
    result = master_background(science)
    assert result.status == "SKIPPED" and "no background members" in result.reason
    assert [o.origin for o in result.outputs] == [0, 1]
    np.testing.assert_array_equal(result.products[0].part.data, science[0].part.data)


@pytest.mark.parametrize("column", ["FLUX", "SURF_BRIGHT"])
def test_all_nan_background_spectra_are_a_clear_error(column: str) -> None:
    members = []
    for name in ("b1_x1d.fits", "b2_x1d.fits"):
        member = background_x1d(FINE, name=name)
        table = member.parts[0].table.copy()
        table[column] = np.nan
        members.append(member.evolve(parts=[member.parts[0].evolve(
            arrays={"spec_table": table})]))
    with pytest.raises(InputFileError, match="b1_x1d.fits, b2_x1d.fits"):
        master_background([lrs_science(), *members])


def test_background_not_covering_the_science_is_a_clear_error() -> None:
    science = lrs_science(**{"filename": "sci_cal.fits"})
    member = background_x1d(np.arange(14.0, 16.0, 0.01))
    with pytest.raises(InputFileError, match="sci_cal.fits.*covers none"):
        master_background([science, member])


def test_a_slit_without_wcs_or_wavelengths_is_a_clear_error() -> None:
    exposure = make_multislit("NRS_FIXEDSLIT", 2, seed=0,
                              **{"asn.exptype": "science", "filename": "fs_cal.fits"})
    member = background_x1d(NRS_WAVE, np.full(NRS_WAVE.size, 7.0))
    no_wave = exposure.parts[1].evolve(drop=["wavelength"])
    # A WCS alone is enough: the wavelengths come from it, as from the array.
    from_wcs = master_background([exposure.evolve(parts=[exposure.parts[0], no_wave]), member])
    from_array = master_background([exposure, member])
    np.testing.assert_allclose(from_wcs.products[0].parts[1].data,
                               from_array.products[0].parts[1].data, rtol=1e-5)
    broken = exposure.evolve(parts=[exposure.parts[0], no_wave.evolve(wcs=None)])
    with pytest.raises(InputFileError, match="fs_cal.fits slit S200A1.*no WAVELENGTH"):
        master_background([broken, member])


def test_a_background_member_that_is_not_a_spectrum_is_a_clear_error() -> None:
    wrong = lrs_science(**{"asn.exptype": "background", "filename": "oops_cal.fits"})
    with pytest.raises(InputFileError, match="oops_cal.fits.*1-D spectrum"):
        master_background([lrs_science(), wrong])


def test_unsupported_science_products_are_skipped() -> None:
    cube = make_soss_cube().evolve(meta={"asn.exptype": "science"})
    result = master_background([cube, background_x1d(FINE)])
    assert result.status == "SKIPPED" and "CubeModel" in result.reason


def test_inputs_are_not_modified() -> None:
    science, member = lrs_science(), background_x1d(FINE, nod=True)
    data, table = science.part.data.copy(), member.parts[0].table.copy()
    master_background([science, member], save_background=True)
    np.testing.assert_array_equal(science.part.data, data)
    for name in table.dtype.names:
        np.testing.assert_array_equal(member.parts[0].table[name], table[name])
    assert isinstance(science, Product)
