"""extract_1d for IFU cubes: flux against known truth (analytic and simulated MIRI MRS
cubes), the built-in apertures, each parameter's effect, and bad input."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from spec3nb.datamodels import to_datamodel
from spec3nb.datamodels.dq import DO_NOT_USE
from spec3nb.datamodels.ref_extract1d import Extract1dReference
from spec3nb.errors import InputFileError
from spec3nb.steps import extract1d_ifu as ifu
from spec3nb.steps import extract1d_ifu_apcorr as apc
from spec3nb.steps.extract1d import SPEC
from spec3nb.steps.extract1d_ifu_defaults import default_ifu_aperture, psf_fwhm
from tests import factories as fx

SHAPE = (20, 31, 33)  # target at spaxel (16, 15)
CDELT = 0.13  # arcsec, the factories' cube spaxel
FLUX_JY = 2.0e-3


def reference(radius=0.8, inner=1.0, outer=1.6, subtract=False, **meta) -> Extract1dReference:
    """An IFU extract1d reference with constant radii (arcsec)."""
    wave = np.array([4.0, 6.0])
    ifu_table = {"subtract_background": subtract, "method": "exact", "subpixels": 10,
                 "wavelength": wave, "radius": np.full(2, radius),
                 "inner_bkg": np.full(2, inner), "outer_bkg": np.full(2, outer), **meta}
    return Extract1dReference("test_ifu.asdf", "ifu", ifu=ifu_table)


def point_cube(*, background=0.3, sigma=1.0, exp_type="MIR_MRS", **meta):
    """A cube (MJy/sr) of a Gaussian point source of FLUX_JY per plane on a flat background,
    centred on the spaxel nearest TARG_RA/TARG_DEC; ERR 0.01, WMAP 2 everywhere."""
    base = fx.make_s3d(SHAPE)
    nw, ny, nx = SHAPE
    yy, xx = np.indices((ny, nx))
    psf = np.exp(-0.5 * (((xx - 16) ** 2 + (yy - 15) ** 2) / sigma**2))
    psf /= psf.sum()
    omega = base.get("photometry.pixelarea_steradians")
    data = FLUX_JY * psf / (omega * 1e6) + background
    arrays = {"data": np.broadcast_to(data, SHAPE).astype(np.float32),
              "err": np.full(SHAPE, 0.01, np.float32), "dq": np.zeros(SHAPE, np.uint32),
              "weightmap": np.full(SHAPE, 2.0, np.float32)}
    instrument = {"MIR_MRS": "MIRI", "NRS_IFU": "NIRSPEC"}[exp_type]
    changes = {"target.source_type": "POINT", "exposure.type": exp_type,
               "instrument.name": instrument, **meta}
    return base.evolve(parts=[base.part.evolve(arrays=arrays)], meta=changes)


def spectrum(result, i=0):
    return result.products[i].parts[0].table


# ----------------------------------------------------------------------------- point sources


def test_point_source_flux_and_background_annulus():
    cube = point_cube()
    result = ifu.extract_ifu([cube], subtract_background=True,
                             references={"extract1d": reference(radius=0.8)})
    table = spectrum(result)
    # radius 0.8" = 6.2 spaxels = 6.2 sigma: all but exp(-19) of the source
    np.testing.assert_allclose(table["FLUX"], FLUX_JY, rtol=1e-6)
    np.testing.assert_allclose(table["BACKGROUND"], 0.3, rtol=1e-6)
    area = np.pi * (0.8 / CDELT) ** 2
    np.testing.assert_allclose(table["NPIXELS"], area, rtol=1e-6)  # WMAP counts as 1
    omega = cube.get("photometry.pixelarea_steradians")
    np.testing.assert_allclose(table["SURF_BRIGHT"], FLUX_JY / (omega * 1e6) / area, rtol=1e-6)
    assert np.all(table["DQ"] == 0)
    attrs = result.products[0].parts[0].attrs
    assert (attrs["extraction_x"], attrs["extraction_y"]) == (16.0, 15.0)
    assert attrs["source_type"] == "POINT" and attrs["name"] == "MIR_MRS"


def test_without_background_subtraction_the_sky_stays_in_the_flux():
    cube = point_cube()
    table = spectrum(ifu.extract_ifu([cube], references={"extract1d": reference()}))
    omega = cube.get("photometry.pixelarea_steradians")
    sky = 0.3 * table["NPIXELS"] * omega * 1e6
    np.testing.assert_allclose(table["FLUX"], FLUX_JY + sky, rtol=1e-6)
    assert np.all(table["BACKGROUND"] == 0) and np.all(table["BKGD_ERROR"] == 0)


def test_reference_switches_background_on_and_parameter_overrides_it():
    cube = point_cube()
    on = spectrum(ifu.extract_ifu([cube], references={"extract1d": reference(subtract=True)}))
    off = spectrum(ifu.extract_ifu([cube], subtract_background=False,
                                   references={"extract1d": reference(subtract=True)}))
    np.testing.assert_allclose(on["FLUX"], FLUX_JY, rtol=1e-6)
    sky = 0.3 * off["NPIXELS"] * cube.get("photometry.pixelarea_steradians") * 1e6
    np.testing.assert_allclose(off["FLUX"], FLUX_JY + sky, rtol=1e-6)
    assert np.all(sky > 1e-3 * FLUX_JY)


def test_errors_from_err_only_cube_and_covariance_scale():
    cube = point_cube()
    plain = spectrum(ifu.extract_ifu([cube], references={"extract1d": reference()}))
    scaled = spectrum(ifu.extract_ifu([cube], ifu_covar_scale=1.5,
                                      references={"extract1d": reference()}))
    omega = cube.get("photometry.pixelarea_steradians")
    expected = np.sqrt(np.float32(0.01) ** 2 * plain["NPIXELS"]) * omega * 1e6
    np.testing.assert_allclose(plain["FLUX_ERROR"], expected, rtol=1e-5)
    # ERR only: the variance columns are zero, the errors are not
    assert np.all(plain["FLUX_VAR_POISSON"] == 0) and np.all(plain["SB_VAR_POISSON"] == 0)
    np.testing.assert_allclose(scaled["FLUX_ERROR"], 1.5 * plain["FLUX_ERROR"], rtol=1e-12)
    np.testing.assert_allclose(scaled["SB_ERROR"], 1.5 * plain["SB_ERROR"], rtol=1e-12)


def test_variance_arrays_are_used_when_the_cube_has_them():
    cube = point_cube()
    var = {k: np.full(SHAPE, v, np.float32) for k, v in
           (("var_poisson", 1e-4), ("var_rnoise", 2e-4), ("var_flat", 3e-4))}
    cube = cube.evolve(parts=[cube.part.evolve(arrays=var)])
    table = spectrum(ifu.extract_ifu([cube], references={"extract1d": reference()}))
    ratio = table["FLUX_VAR_RNOISE"] / table["FLUX_VAR_POISSON"]
    np.testing.assert_allclose(ratio, 2.0, rtol=1e-6)
    total = table["FLUX_VAR_POISSON"] + table["FLUX_VAR_RNOISE"] + table["FLUX_VAR_FLAT"]
    np.testing.assert_allclose(table["FLUX_ERROR"], np.sqrt(total), rtol=1e-12)


def test_center_xy_and_rscale_move_and_shrink_the_aperture():
    cube = point_cube()
    ref = {"extract1d": reference(radius=0.8)}
    moved = ifu.extract_ifu([cube], center_xy=(10.0, 15.0), references=ref)
    assert moved.products[0].parts[0].attrs["extraction_x"] == 10.0
    assert np.all(spectrum(moved)["FLUX"] < spectrum(ifu.extract_ifu([cube], references=ref))
                  ["FLUX"])
    small = spectrum(ifu.extract_ifu([cube], ifu_rscale=1.0, references=ref))
    np.testing.assert_allclose(small["NPIXELS"], np.pi * (0.4 / CDELT) ** 2, rtol=1e-6)
    # ifu_rscale is a MIRI MRS parameter
    nirspec = point_cube(exp_type="NRS_IFU")
    same = spectrum(ifu.extract_ifu([nirspec], ifu_rscale=1.0, references=ref))
    np.testing.assert_allclose(same["NPIXELS"], np.pi * (0.8 / CDELT) ** 2, rtol=1e-6)


def test_autocentre_finds_an_offset_source():
    cube = point_cube(background=0.0)
    shifted = np.roll(cube.part.data, (-3, 4), axis=(1, 2))  # source at (20, 12)
    cube = cube.evolve(parts=[cube.part.evolve(arrays={"data": shifted})])
    result = ifu.extract_ifu([cube], ifu_autocen=True, references={"extract1d": reference()})
    attrs = result.products[0].parts[0].attrs
    assert abs(attrs["extraction_x"] - 20.0) < 0.05 and abs(attrs["extraction_y"] - 12.0) < 0.05
    np.testing.assert_allclose(spectrum(result)["FLUX"], FLUX_JY, rtol=1e-5)


def test_apcorr_multiplies_flux_columns_and_squares_on_variances():
    cube = point_cube()
    wave = np.array([4.0, 6.0])
    radius = np.array([[0.4, 0.4], [1.2, 1.2]])  # arcsec; the aperture is 0.8" -> midway
    correction = np.array([[1.4, 1.4], [1.0, 1.0]])
    ref = apc.IfuApcorrReference("ap.asdf", wave, radius, correction, "arcseconds")
    var = {"var_poisson": np.full(SHAPE, 1e-4, np.float32)}
    cube = cube.evolve(parts=[cube.part.evolve(arrays={
        **var, "var_rnoise": var["var_poisson"], "var_flat": var["var_poisson"]})])
    refs = {"extract1d": reference()}
    plain = spectrum(ifu.extract_ifu([cube], references=refs))
    corrected = spectrum(ifu.extract_ifu([cube], references={**refs, "apcorr": ref}))
    off = spectrum(ifu.extract_ifu([cube], apply_apcorr=False,
                                   references={**refs, "apcorr": ref}))
    for name in ("FLUX", "FLUX_ERROR", "SURF_BRIGHT", "SB_ERROR"):
        np.testing.assert_allclose(corrected[name], 1.2 * plain[name], rtol=1e-6)
    np.testing.assert_allclose(corrected["FLUX_VAR_FLAT"], 1.44 * plain["FLUX_VAR_FLAT"],
                               rtol=1e-6)
    np.testing.assert_array_equal(corrected["BACKGROUND"], plain["BACKGROUND"])
    np.testing.assert_array_equal(off["FLUX"], plain["FLUX"])


def test_apcorr_interpolation_is_scipy_interp1d_with_extrapolation():
    from scipy.interpolate import interp1d

    rng = np.random.default_rng(3)
    xp, fp = np.sort(rng.uniform(0, 10, 7)), rng.normal(size=(3, 7))
    x = np.concatenate([rng.uniform(-3, 13, 20), [np.nan]])
    expected = interp1d(xp, fp, bounds_error=False, fill_value="extrapolate")(x)
    np.testing.assert_allclose(apc.interp_extrapolate(xp[::-1], fp[:, ::-1], x), expected,
                               rtol=1e-12, equal_nan=True)


# ----------------------------------------------------------------------------- extended


def test_extended_source_sums_the_field_and_reports_clipped_background():
    cube = fx.make_s3d()  # extended, first row NaN with WMAP 0
    result = ifu.extract_ifu([cube], subtract_background=True,
                             references={"extract1d": reference()})
    table = spectrum(result)
    data = cube.part.data[:, 1:, :].astype(np.float64)
    npix = data[0].size
    np.testing.assert_allclose(table["NPIXELS"], npix)
    np.testing.assert_allclose(table["SURF_BRIGHT"], data.sum(axis=(1, 2)) / npix, rtol=1e-6)
    omega = cube.get("photometry.pixelarea_steradians")
    np.testing.assert_allclose(table["FLUX"], data.sum(axis=(1, 2)) * omega * 1e6, rtol=1e-6)
    # the background column is the clipped mean; it is not subtracted (extended)
    np.testing.assert_allclose(table["BACKGROUND"], data.mean(axis=(1, 2)), rtol=1e-3)
    attrs = result.products[0].parts[0].attrs
    assert attrs["source_type"] == "EXTENDED"
    assert (attrs["extraction_x"], attrs["extraction_y"]) == (7.0, 6.0)


def test_ifu_set_srctype_applies_to_miri_only():
    for exp_type, expected in (("MIR_MRS", "EXTENDED"), ("NRS_IFU", "POINT")):
        cube = point_cube(exp_type=exp_type)
        result = ifu.extract_ifu([cube], ifu_set_srctype="EXTENDED",
                                 references={"extract1d": reference()})
        assert result.products[0].parts[0].attrs["source_type"] == expected
    odd = point_cube(**{"target.source_type": "UNKNOWN"})
    result = ifu.extract_ifu([odd], references={"extract1d": reference()})
    assert result.products[0].parts[0].attrs["source_type"] == "EXTENDED"


def test_empty_planes_are_flagged_do_not_use():
    cube = point_cube()
    wmap = np.array(cube.part.arrays["weightmap"])
    wmap[3] = 0.0
    cube = cube.evolve(parts=[cube.part.evolve(arrays={"weightmap": wmap})])
    table = spectrum(ifu.extract_ifu([cube], references={"extract1d": reference()}))
    assert table["DQ"][3] == DO_NOT_USE and np.all(np.delete(table["DQ"], 3) == 0)
    assert table["FLUX"][3] == 0.0  # every spaxel left out
    np.testing.assert_allclose(table["NPIXELS"][3], np.pi * (0.8 / CDELT) ** 2)  # geometric


def test_nan_wavelengths_are_flagged_and_trimmed_at_the_ends():
    wave = np.array([np.nan, 5.0, np.nan, 5.2, np.nan, np.nan])
    dq, keep = ifu._trim(wave, np.zeros(6, np.uint32))
    assert keep == slice(1, 4)
    np.testing.assert_array_equal(dq, [1, 0, 1, 0, 1, 1])


# ----------------------------------------------------------------------------- products


def test_products_types_columns_units_and_inputs_untouched():
    miri, nirspec = point_cube(**{"instrument.channel": "1"}), point_cube(exp_type="NRS_IFU")
    before = np.array(miri.part.arrays["weightmap"])
    result = ifu.extract_ifu([miri, nirspec], references={"extract1d": reference()})
    assert [o.origin for o in result.outputs] == [0, 1]
    assert {o.suffix for o in result.outputs} == {"x1d"}
    x1d_miri, x1d_nrs = result.products
    assert x1d_miri.model_type == "MRSMultiSpecModel" and x1d_nrs.model_type == "MultiSpecModel"
    assert "RF_FLUX" in x1d_miri.parts[0].table.dtype.names
    assert "RF_FLUX" not in x1d_nrs.parts[0].table.dtype.names
    assert np.all(np.isnan(x1d_miri.parts[0].table["RF_FLUX"]))
    # the fringe fit was asked for (default), is not implemented, and the reason says so
    assert "ifu_rfcorr" in result.reason
    # jwst fits fringes only in single-band MRS cubes: a channel-12 cube asks for nothing
    assert ifu.extract_ifu([point_cube()], references={"extract1d": reference()}).reason == ""
    assert x1d_miri.get("cal_step.extract_1d") == "COMPLETE"
    np.testing.assert_array_equal(miri.part.arrays["weightmap"], before)  # jwst clips WMAP
    model = to_datamodel(x1d_miri)
    assert model.spec[0].spec_table.columns["flux"].unit == "Jy"
    assert model.spec[0].spec_table.columns["sb_var_flat"].unit == "(MJy/sr)^2"
    wcs_wave = x1d_miri.parts[0].wcs(np.arange(3))[2]
    np.testing.assert_allclose(wcs_wave, x1d_miri.parts[0].table["WAVELENGTH"][:3])


def test_extract_1d_step_dispatches_cubes_here():
    cube = point_cube()
    result = SPEC.run([cube], references={"extract1d": reference(subtract=True)})
    assert result.status == "COMPLETE"
    np.testing.assert_allclose(spectrum(result)["FLUX"], FLUX_JY, rtol=1e-6)


# ----------------------------------------------------------------------------- defaults


def test_builtin_defaults_are_twice_the_fwhm_and_recover_the_flux():
    table = default_ifu_aperture("MIRI")
    np.testing.assert_allclose(table["radius"], 2 * (0.033 * table["wavelength"] + 0.106))
    assert np.all(table["inner_bkg"] > table["radius"])
    assert np.all(table["outer_bkg"] > table["inner_bkg"])
    nrs = default_ifu_aperture("NIRSPEC")
    np.testing.assert_allclose(psf_fwhm("NIRSPEC", 2.0), 2 * 0.0325 + 0.1, rtol=1e-3)
    assert nrs["wavelength"].max() < 6.0
    # no reference (and N/A) -> the defaults: 2 FWHM at ~4.9 um = 0.54" = 4.2 sigma here
    cube = point_cube(sigma=1.0)
    for refs in ({}, {"extract1d": "N/A"}):
        result = ifu.extract_ifu([cube], subtract_background=True, references=refs)
        np.testing.assert_allclose(spectrum(result)["FLUX"], FLUX_JY, rtol=2e-3)


# ----------------------------------------------------------------------------- bad input


def test_bad_inputs_and_references_are_named():
    cube = point_cube()
    json_ref = Extract1dReference("slits.json", "json", apertures=({"id": "ANY"},))
    with pytest.raises(InputFileError, match="slits.json.*ASDF IFU extract1d"):
        ifu.extract_ifu([cube], references={"extract1d": json_ref})
    with pytest.raises(InputFileError, match="not an IFU cube"):
        ifu.extract_ifu([fx.make_s2d("MIR_LRS-FIXEDSLIT")],
                        references={"extract1d": reference()})
    from spec3nb.datamodels.ref_apcorr import ApcorrReference
    slit_apcorr = ApcorrReference("lrs_apcorr.fits", "pixels", ({"size": 1},))
    with pytest.raises(InputFileError, match="lrs_apcorr.fits.*IFU APCORR"):
        ifu.extract_ifu([cube], references={"extract1d": reference(), "apcorr": slit_apcorr})
    with pytest.raises(InputFileError, match="test_ifu.asdf"):
        ifu.extract_ifu([cube], references={"extract1d": reference(radius=-1.0)})
    no_wmap = cube.evolve(parts=[cube.part.evolve(drop=["weightmap"])])
    with pytest.raises(InputFileError, match="WMAP"):
        ifu.extract_ifu([no_wmap], references={"extract1d": reference()})
    with pytest.raises(InputFileError, match="IFU APCORR"):
        apc.load_ifu_apcorr(__file__)


# ----------------------------------------------------------------------------- simulated truth


@pytest.fixture(scope="module")
def mrs_cubes(tmp_path_factory):
    """Band cubes of the simulated MIRI MRS dataset, built by jwst 3.0.0's cube_build with
    the simulator's cubepar reference (as tests/parity/test_simulated_ifu.py does)."""
    from jwst.cube_build import CubeBuildStep

    from spec3nb.datamodels import from_datamodel
    from spec3nb.simulate import read_truth, simulate, write_dataset
    from spec3nb.simulate.ifu_miri import CUBEPAR_NAME
    from tests.parity.harness import offline_jwst

    for name in ("jwst", "stpipe"):
        logging.getLogger(name).setLevel(logging.ERROR)
    folder = tmp_path_factory.mktemp("mrs_truth")
    asn = write_dataset(simulate("mir_mrs", seed=21), folder)
    with offline_jwst():
        cubes = CubeBuildStep(override_cubepar=str(folder / CUBEPAR_NAME)).run(str(asn))
    products = [from_datamodel(cube) for cube in cubes]
    return products, read_truth(folder)


@pytest.mark.parametrize("autocen", [False, True])
def test_simulated_mrs_point_source_flux_within_two_percent(mrs_cubes, autocen):
    cubes, truth = mrs_cubes
    source = truth.sources[0]
    # no reference: the built-in 2-FWHM apertures, background from the annulus
    result = ifu.extract_ifu(cubes, subtract_background=True, ifu_autocen=autocen)
    assert len(result.products) == 2
    for x1d in result.products:
        table = x1d.parts[0].table
        with np.errstate(invalid="ignore", divide="ignore"):
            snr = table["FLUX"] / table["FLUX_ERROR"]
        good = np.isfinite(table["FLUX"]) & (snr > 50) & (table["DQ"] == 0)
        assert good.sum() > 0.8 * len(table)
        ratio = table["FLUX"][good] * 1e3 / source.spectrum(table["WAVELENGTH"][good])
        assert abs(np.median(ratio) - 1.0) < 0.02, np.median(ratio)
        assert np.percentile(np.abs(ratio - 1.0), 90) < 0.03


def test_simulated_mrs_autocentre_position_within_0_05_arcsec(mrs_cubes):
    from astropy.coordinates import angular_separation

    cubes, truth = mrs_cubes
    source = truth.sources[0]
    result = ifu.extract_ifu(cubes, ifu_autocen=True)
    for cube, x1d in zip(cubes, result.products, strict=True):
        attrs = x1d.parts[0].attrs
        nw = cube.part.data.shape[0]
        ra, dec, _ = cube.part.wcs(attrs["extraction_x"], attrs["extraction_y"], nw // 2)
        sep = np.degrees(angular_separation(*np.radians([ra, dec, source.ra, source.dec])))
        assert sep * 3600 < 0.05, sep * 3600
