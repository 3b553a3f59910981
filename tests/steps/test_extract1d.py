"""extract_1d for slits: flux, background and variances against known truth; bad input."""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.datamodels import Part, Product
from spec3nb.datamodels.ref_extract1d import Extract1dReference
from spec3nb.errors import InputFileError
from spec3nb.steps.extract1d import SPEC, extract_1d
from tests import factories as fx

OMEGA = 0.11**2 * (np.pi / 180 / 3600) ** 2  # the MIRI-like s2d's pixel solid angle (sr)


def reference(**aperture) -> Extract1dReference:
    return Extract1dReference("test.json", "json", apertures=({"id": "ANY", **aperture},))


def miri_s2d(data, *, var=0.01, source_type="POINT") -> Product:
    """The MIRI LRS-like s2d (dispersion along y) holding `data` (MJy/sr), uniform variances."""
    product = fx.make_s2d("MIR_LRS-FIXEDSLIT", shape=data.shape, source_type=source_type)
    arrays = {"data": data.astype(np.float32), "err": np.full(data.shape, np.sqrt(3 * var)),
              **{k: np.full(data.shape, var, np.float32)
                 for k in ("var_poisson", "var_rnoise", "var_flat")}}
    return product.evolve(parts=[product.part.evolve(arrays=arrays)])


def point_source(shape, flux_jy, *, centre, sigma=1.1, background=0.0, noise=0.0, seed=1):
    """A MIRI-like image (MJy/sr) of a point source of `flux_jy` per row plus background."""
    ny, nx = shape
    x = np.arange(nx)
    psf = np.exp(-0.5 * ((x - centre) / sigma) ** 2)
    psf /= psf.sum()
    image = flux_jy[:, None] * psf[None, :] / (OMEGA * 1e6) + background
    return image + np.random.default_rng(seed).normal(0.0, noise, shape)


def table(result):
    assert result.status == "COMPLETE", result.reason
    return result.products[0].part.table


# ----------------------------------------------------------------------------- truth


def test_point_source_flux_on_flat_background_within_2_percent() -> None:
    shape = (80, 31)
    truth = 2e-3 * (1 + 0.3 * np.sin(np.arange(80) / 7))  # Jy
    level = truth.mean() / (OMEGA * 1e6) * 0.05  # background ~ 5 % of the peak pixel sum
    image = point_source(shape, truth, centre=15.0, background=level, noise=level * 0.01)
    ref = reference(src_coeff=[[10.5], [19.5]], bkg_coeff=[[-0.5], [4.5], [25.5], [30.5]])
    spec = table(extract_1d([miri_s2d(image)], references={"extract1d": ref}))
    np.testing.assert_allclose(spec["FLUX"], truth, rtol=0.02)
    assert np.nanmedian(np.abs(spec["FLUX"] / truth - 1)) < 0.005
    np.testing.assert_allclose(spec["BACKGROUND"], level, rtol=0.02)


@pytest.mark.parametrize("mode", ["mir_lrs", "nrs_fs", "nrs_mos"])
def test_simulated_point_sources_within_2_percent(mode) -> None:
    """The simulator's _cal exposures, cosmic rays masked (outlier_detection's job): every
    column with S/N > 50 and a complete aperture is within 2 % of the true flux."""
    from spec3nb.simulate import simulate

    dataset = simulate(mode, seed=2)
    exposure, truth = dataset.exposures[0], dataset.truth.exposures[0]
    parts = []
    for k, part in enumerate(exposure.parts):
        hits = truth.outliers[truth.outliers[:, 0] == k]
        data = part.data.copy()
        data[hits[:, 1], hits[:, 2]] = np.nan
        parts.append(part.evolve(arrays={"data": data}))
    result = extract_1d([exposure.evolve(parts=parts)])
    sources = {s.source_id: s for s in dataset.truth.sources}
    checked = 0
    for spectrum in result.products[0].parts:
        source = sources.get(spectrum.attrs.get("source_id"), dataset.truth.sources[0])
        t = spectrum.table
        expected = source.spectrum(t["WAVELENGTH"]) * 1e-3  # mJy -> Jy
        good = (np.isfinite(expected) & (t["FLUX"] / t["FLUX_ERROR"] > 50)
                & (t["NPIXELS"] == t["NPIXELS"].max()))
        np.testing.assert_allclose(t["FLUX"][good], expected[good], rtol=0.02)
        checked += int(good.sum())
    assert checked > 100


def test_nirspec_point_source_in_megajansky() -> None:
    """NIRSpec point sources after photom are in MJy per pixel: FLUX is the sum times 1e6."""
    product = fx.make_s2d("NRS_FIXEDSLIT", shape=(15, 70), source_type="POINT")
    data = np.zeros((15, 70), np.float32)
    data[6:9] = 1e-9  # MJy in three rows
    product = product.evolve(parts=[product.part.evolve(arrays={"data": data})])
    spec = table(extract_1d([product]))
    np.testing.assert_allclose(spec["FLUX"], 3e-3, rtol=1e-6)
    assert np.all(spec["SURF_BRIGHT"] == 0)


@pytest.mark.parametrize(("fit", "order", "slope"), [
    ("poly", 0, 0.0), ("poly", 1, 0.03), ("poly", 2, 0.03), ("median", None, 0.0),
    ("mean", None, 0.0)])
def test_background_is_removed(fit, order, slope) -> None:
    shape = (40, 25)
    x = np.arange(shape[1])
    image = np.broadcast_to(1.5 + slope * x, shape).copy()
    ref = reference(src_coeff=[[8.5], [15.5]], bkg_coeff=[[-0.5], [5.5], [18.5], [24.5]])
    params = {"bkg_fit": fit} | ({"bkg_order": order} if order is not None else {})
    spec = table(extract_1d([miri_s2d(image, source_type="EXTENDED")],
                            references={"extract1d": ref}, **params))
    # Float32 data: zero to 1e-7 of the background's own flux in the aperture.
    np.testing.assert_allclose(spec["FLUX"], 0.0, atol=1e-7 * 1.5 * 7 * OMEGA * 1e6)
    expected = 1.5 + slope * np.arange(9, 16).mean()  # mean background over the aperture
    np.testing.assert_allclose(spec["BACKGROUND"], expected, rtol=1e-6)
    np.testing.assert_allclose(spec["SURF_BRIGHT"], 0.0, atol=1e-6)


def test_variances_propagate_analytically() -> None:
    """Fractional edges weight the variance by the weight squared; an order-0 background
    from N pixels adds npix^2 var / N (and 1.44 times that for a median)."""
    shape, var = (30, 20), 2.0**-6  # exact in float32
    ref = reference(xstart=5.3, xstop=11.6, bkg_coeff=[[-0.5], [3.5], [15.5], [19.5]])
    weights = np.array([0.7] + [1.0] * 6 + [0.6])  # pixels 5..12
    npix, n_bkg = weights.sum(), 8
    for fit, factor in (("poly", 1.0), ("median", 1.2**2)):
        spec = table(extract_1d([miri_s2d(np.ones(shape), var=var, source_type="EXTENDED")],
                                references={"extract1d": ref}, bkg_fit=fit))
        to_jy = OMEGA * 1e6
        expected = (np.sum(weights**2) + factor * npix**2 / n_bkg) * var * to_jy**2
        for comp in ("POISSON", "RNOISE", "FLAT"):
            np.testing.assert_allclose(spec[f"FLUX_VAR_{comp}"], expected, rtol=1e-10)
            np.testing.assert_allclose(spec[f"SB_VAR_{comp}"], expected / to_jy**2 / npix**2,
                                       rtol=1e-10)
            np.testing.assert_allclose(spec[f"BKGD_VAR_{comp}"],
                                       factor * var / n_bkg, rtol=1e-10)
        np.testing.assert_allclose(spec["FLUX_ERROR"], np.sqrt(3 * expected), rtol=1e-10)
        np.testing.assert_allclose(spec["NPIXELS"], npix, rtol=1e-12)


def test_bad_pixels_are_left_out_and_flux_nan_where_nothing_is_left() -> None:
    image = np.ones((20, 9))
    image[3, 4] = np.nan
    image[7, :] = np.nan
    spec = table(extract_1d([miri_s2d(image, source_type="EXTENDED")]))
    assert spec["NPIXELS"][3] == 8 and spec["NPIXELS"][0] == 9
    assert np.isnan(spec["FLUX"][7]) and spec["DQ"][7] == 1
    assert np.count_nonzero(spec["DQ"]) == 1
    np.testing.assert_allclose(np.delete(spec["SURF_BRIGHT"], 7), 1.0)


def test_units_without_photom_are_count_rates() -> None:
    product = fx.make_s2d("MIR_LRS-FIXEDSLIT", source_type="EXTENDED")
    product = product.evolve(meta={"cal_step.photom": "SKIPPED"})
    spec = table(extract_1d([product]))
    from spec3nb.datamodels.tables import column_units

    assert column_units(spec)["FLUX"] == "DN/s"
    np.testing.assert_allclose(spec["FLUX"], spec["SURF_BRIGHT"] * spec["NPIXELS"])


def test_spec_run_and_metadata() -> None:
    result = SPEC.run([fx.make_s2d()], extraction_type="optimal")  # no PSF: box, like jwst
    x1d = result.outputs[0]
    assert (x1d.suffix, x1d.origin) == ("x1d", 0)
    assert x1d.product.get("cal_step.extract_1d") == "COMPLETE"
    assert x1d.product.get("target.source_type") is None
    assert x1d.product.part.attrs["name"] == "S200A1"


def test_declared_defaults_are_jwsts() -> None:
    from tests.parity.test_param_defaults import mismatches

    assert mismatches(SPEC) == []
    assert SPEC.reference_types == ("extract1d", "apcorr", "sosstrace")


def test_multiexposure_gives_one_x1d_per_exposure() -> None:
    result = extract_1d([fx.make_multiexposure(nexp=3)])
    assert [o.origin for o in result.outputs] == [0, 0, 0]
    assert all(o.product.model_type == "MultiSpecModel" for o in result.outputs)


# ----------------------------------------------------------------------------- bad input


def _with(product: Product, **changes) -> Product:
    return product.evolve(parts=[product.part.evolve(**changes)])


def test_all_nan_slit_is_skipped_with_a_reason() -> None:
    product = fx.make_s2d()
    nan = np.full(product.part.data.shape, np.nan, np.float32)
    result = extract_1d([_with(product, arrays={"data": nan})])
    assert result.status == "SKIPPED"
    assert "every pixel is NaN" in result.reason and "S200A1" in result.reason


def test_one_bad_slit_of_several() -> None:
    product = fx.make_multislit("NRS_MSASPEC", nslits=3)
    parts = list(product.parts)
    parts[1] = parts[1].evolve(arrays={"data": np.full(parts[1].data.shape, np.nan)})
    result = extract_1d([product.evolve(parts=parts)])
    assert result.status == "COMPLETE"
    assert [p.attrs["name"] for p in result.products[0].parts] == ["11", "13"]
    assert "slit 12" in result.reason


def test_slit_without_wcs() -> None:
    with pytest.raises(InputFileError, match="slit S200A1.*no WCS"):
        extract_1d([_with(fx.make_s2d(), wcs=None)])


def test_reference_without_matching_aperture() -> None:
    ref = Extract1dReference("ref.json", "json", apertures=({"id": "S400A1"},))
    with pytest.raises(InputFileError, match="no aperture for slit 'S200A1'.*S400A1"):
        extract_1d([fx.make_s2d()], references={"extract1d": ref})


def test_ifu_reference_for_a_slit() -> None:
    ref = Extract1dReference("ifu.asdf", "ifu", ifu={"method": "exact"})
    with pytest.raises(InputFileError, match="ifu.asdf is an IFU .ASDF. extract1d reference"):
        extract_1d([fx.make_s2d()], references={"extract1d": ref})


def test_aperture_for_another_order_skips() -> None:
    ref = Extract1dReference("ref.json", "json", apertures=({"id": "ANY",
                                                             "spectral_order": 2},))
    result = extract_1d([fx.make_s2d()], references={"extract1d": ref})
    assert result.status == "SKIPPED" and "order 1" in result.reason


@pytest.mark.parametrize(("dispaxis", "message"), [
    (2, "DISPAXIS=2 but the wavelength changes faster along x"), (3, "DISPAXIS=3")])
def test_inconsistent_dispaxis(dispaxis, message) -> None:
    product = fx.make_s2d().evolve(meta={"wcsinfo.dispersion_direction": dispaxis})
    with pytest.raises(InputFileError, match=message):
        extract_1d([product])


def test_missing_dispaxis_skips_like_jwst() -> None:
    product = fx.make_s2d().evolve(meta={"wcsinfo.dispersion_direction": None})
    result = extract_1d([product])
    assert result.status == "SKIPPED" and "no DISPAXIS" in result.reason


def test_other_modes_go_to_their_own_extraction() -> None:
    from spec3nb.errors import InputFileError

    wfss = extract_1d([fx.make_multislit("NIS_WFSS", 2)])
    assert wfss.products[0].model_type == "WFSSMultiSpecModel"
    soss = extract_1d([fx.make_soss_cube()])  # no trace reference given
    assert soss.status == "SKIPPED" and "trace reference" in soss.reason
    cube = extract_1d([fx.make_s3d()])  # IFU cubes: the IFU extraction
    assert cube.status == "COMPLETE"
    assert cube.products[0].model_type in ("MRSMultiSpecModel", "MultiSpecModel")
    with pytest.raises(InputFileError, match="one kind of data at a time"):
        extract_1d([fx.make_slit_model(), fx.make_multislit("NIS_WFSS", 1)])


def test_input_is_not_modified() -> None:
    product = fx.make_slit_model()
    before = {k: v.copy() for k, v in product.part.arrays.items()}
    extract_1d([product])
    for key, value in before.items():
        np.testing.assert_array_equal(product.part.arrays[key], value)
    assert isinstance(product.part, Part)
