"""resample_spec: output grid and product, flux conservation, files, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy.io import fits

from spec3nb.datamodels import Part, write_product
from spec3nb.datamodels.dq import DO_NOT_USE
from spec3nb.steps.exp_to_source import group_by_source
from spec3nb.steps.resample_spec import SPEC, resample_spec
from tests.factories import RA0, direct_slit_wcs, make_multislit, make_slit_model


def _lrs(n: int = 2, *, seed: int = 0, shape=(60, 24), nod: float = 0.0, **meta):
    """MIRI LRS exposures; exposure k pointed `nod * k` arcsec along the slit (in RA)."""
    products = []
    for k in range(n):
        p = make_slit_model(shape, seed=seed + k, **{
            "observation.exposure_number": f"{k + 1:05d}",
            "filename": f"jw01234001001_03101_{k + 1:05d}_mirimage_cal.fits", **meta})
        if nod:
            wcs = direct_slit_wcs(shape, dispaxis=2, ra=RA0 + nod * k / 3600.0)
            p = p.evolve(parts=[p.part.evolve(wcs=wcs)])
        products.append(p)
    return products


def _nirspec_source(nexp: int = 2, *, seed: int = 3, **meta):
    exposures = [make_multislit("NRS_FIXEDSLIT", 2, seed=seed + k, **{
        "observation.exposure_number": f"{k + 1:05d}", **meta}) for k in range(nexp)]
    return next(iter(group_by_source(exposures).values()))


def _with_point_source(product, amplitude: float, x0: float, y0: float, sigma=1.2):
    part = product.part
    y, x = np.indices(part.data.shape)
    star = amplitude * np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma**2))
    clean = np.nan_to_num(np.asarray(part.data) * 0.0) + star
    dq = np.zeros(part.data.shape, np.uint32)
    return product.evolve(parts=[part.evolve(arrays={"data": clean.astype(np.float32),
                                                     "dq": dq})])


def test_declared_parameters_are_jwst_s() -> None:
    from tests.parity.test_param_defaults import mismatches

    assert mismatches(SPEC) == []


def test_lrs_product_has_the_s2d_arrays_and_keywords() -> None:
    inputs = _lrs(2, nod=0.5)
    result = resample_spec(inputs)
    assert result.status == "COMPLETE"
    (out,) = result.outputs
    assert out.suffix == "s2d" and out.origin is None
    part = out.product.part
    assert out.product.model_type == "SlitModel"
    assert {"data", "err", "wht", "con", "var_rnoise", "var_poisson", "var_flat",
            "wavelength"} <= set(part.arrays)
    ny, nx = part.data.shape
    assert nx > 24  # the nod widens the grid along the slit
    assert part.arrays["con"].shape == (1, ny, nx)
    assert out.product.get("resample.pointings") == 2
    assert out.product.get("exposure.exposure_time") == 200.0
    assert out.product.get("cal_step.resample") == "COMPLETE"
    assert out.product.get("photometry.pixelarea_steradians") == pytest.approx(
        inputs[0].get("photometry.pixelarea_steradians"))
    # MIRI keeps dispersion along y: wavelength constant along each row
    wave = part.arrays["wavelength"]
    assert np.all(wave == wave[:, :1])
    assert np.all(np.diff(wave[:, 0]) < 0)
    assert out.product.get("wcsinfo.s_region").startswith("POLYGON ICRS")


def test_source_product_gives_origin_zero_and_nirspec_slit_frame() -> None:
    source = _nirspec_source(3)
    (out,) = resample_spec([source]).outputs
    assert out.origin == 0
    wcs = out.product.part.wcs
    assert wcs.available_frames == ["detector", "slit_frame", "world"]
    ny, nx = out.product.part.data.shape
    wave = out.product.part.arrays["wavelength"]
    assert np.all(wave == wave[:1, :])  # NIRSpec output: dispersion along x
    assert out.product.part.attrs["name"] == source.parts[0].attrs["name"]
    lo, hi = out.product.get("wcsinfo.spectral_region")
    assert lo == pytest.approx(float(np.nanmin(wave))) and hi > lo


def test_written_s2d_reads_in_specutils_with_its_keywords(tmp_path) -> None:
    product = resample_spec(_lrs(2, nod=0.3), pixfrac=0.8).products[0]
    path = write_product(product, tmp_path / "jw_lrs_s2d.fits")
    with fits.open(path) as hdul:
        names = [h.name for h in hdul]
        primary, sci = hdul[0].header, hdul["SCI"].header
        assert {"SCI", "ERR", "WAVELENGTH", "WHT", "CON", "VAR_RNOISE", "ASDF"} <= set(names)
        assert primary["NDRIZ"] == 2 and primary["PIXFRAC"] == 0.8
        assert primary["RESWHT"] == "ivm" and primary["PXSCLRT"] == 1.0
        assert primary["S_RESAMP"] == "COMPLETE"
        assert sci["PIXAR_SR"] == pytest.approx(product.get("photometry.pixelarea_steradians"))
    from specutils import Spectrum

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spectrum = Spectrum.read(str(path), format="JWST s2d")
    np.testing.assert_allclose(spectrum.spectral_axis.to_value("um"),
                               product.part.arrays["wavelength"][:, 0], rtol=1e-6)


@pytest.mark.parametrize("ratio", [1.0, 0.8, 1.3])
def test_point_source_flux_is_conserved_in_surface_brightness(ratio: float) -> None:
    inputs = [_with_point_source(p, 50.0, 11.3, 30.0) for p in _lrs(2, nod=0.0)]
    area_in = inputs[0].get("photometry.pixelarea_steradians")
    before = np.nansum(inputs[0].part.data) * area_in
    out = resample_spec(inputs, pixel_scale_ratio=ratio).products[0]
    after = np.nansum(out.part.data) * out.get("photometry.pixelarea_steradians")
    assert after == pytest.approx(before, rel=0.01)


@pytest.mark.parametrize("ratio", [1.0, 0.7])
def test_point_source_flux_is_conserved_in_flux_density(ratio: float) -> None:
    source = _nirspec_source(2)
    parts = []
    for part in source.parts:
        y, x = np.indices(part.data.shape)
        star = 8.0 * np.exp(-((x - 30.2) ** 2 / 200.0 + (y - 5.6) ** 2 / 2.0))
        parts.append(part.evolve(arrays={"data": star.astype(np.float32),
                                         "dq": np.zeros(star.shape, np.uint32)},
                                 meta={"bunit_data": "MJy"}))
    source = source.evolve(parts=parts)
    before = np.nansum(parts[0].data)
    out = resample_spec([source], pixel_scale_ratio=ratio).products[0]
    assert np.nansum(out.part.data) == pytest.approx(before, rel=0.01)


def test_flagged_pixels_do_not_contribute() -> None:
    inputs = _lrs(2)
    bad = []
    for p in inputs:
        data = np.array(p.part.data)
        dq = np.array(p.part.dq)
        data[20:25, 5:8] = 1e6
        dq[20:25, 5:8] |= DO_NOT_USE
        bad.append(p.evolve(parts=[p.part.evolve(arrays={"data": data, "dq": dq})]))
    out = resample_spec(bad).products[0].part
    assert np.nanmax(out.data) < 100
    assert np.all(np.isnan(out.data[20:25, 6:8]))  # fully covered by the bad block


def test_inputs_are_left_unchanged_and_spec_run_takes_strings() -> None:
    inputs = _lrs(2, nod=0.4)
    before = [np.array(p.part.data) for p in inputs]
    result = SPEC.run(inputs, pixfrac="0.5", kernel="point", weight_type="exptime")
    assert result.products[0].get("resample.weight_type") == "exptime"
    for p, data in zip(inputs, before, strict=True):
        np.testing.assert_array_equal(p.part.data, data)


def test_propagate_dq_adds_the_or_of_contributing_flags() -> None:
    a, b = _lrs(2)
    dq = np.array(a.part.dq)
    dq[30, 10] |= 4  # JUMP_DET: still drizzled, so its flag is carried over
    a = a.evolve(parts=[a.part.evolve(arrays={"dq": dq})])
    out = resample_spec([a, b], propagate_dq=True).products[0].part
    assert "dq" in out.arrays and out.arrays["dq"].dtype == np.uint32
    assert np.any(out.arrays["dq"][29:32, 9:12] & 4)
    assert not np.any(resample_spec([b, b], propagate_dq=True).products[0].part.dq & 4)


def test_pixel_scale_sets_the_ratio() -> None:
    out = resample_spec(_lrs(2), pixel_scale=0.22).products[0]
    assert out.get("resample.pixel_scale_ratio") == pytest.approx(0.5, rel=1e-6)


# ----------------------------------------------------------------------------- bad input


def test_empty_input_is_skipped() -> None:
    result = resample_spec([])
    assert result.status == "SKIPPED" and "no exposures" in result.reason


def test_slit_without_wcs_is_a_clear_error() -> None:
    a, b = _lrs(2)
    b = b.evolve(parts=[b.part.evolve(wcs=None)])
    with pytest.raises(ValueError, match="has no WCS"):
        resample_spec([a, b])


def test_inconsistent_dispaxis_is_a_clear_error() -> None:
    a, b = _lrs(2)
    b = b.evolve(meta={"wcsinfo.dispersion_direction": 1})
    with pytest.raises(ValueError, match="different axes"):
        resample_spec([a, b])


def test_exposure_type_mixture_of_models_is_refused() -> None:
    with pytest.raises(ValueError, match="MultiSlitModel"):
        resample_spec([make_multislit("NRS_FIXEDSLIT", 1)])


def test_all_nan_slit_gives_nan_where_only_it_contributes() -> None:
    a, b = _lrs(2, nod=0.5)
    empty = b.evolve(parts=[b.part.evolve(arrays={
        "data": np.full(b.part.data.shape, np.nan, np.float32)})])
    out = resample_spec([a, empty]).products[0].part
    assert np.isfinite(out.data).any()
    only_b = resample_spec([empty, empty]).products[0].part
    assert np.all(np.isnan(only_b.data))


def test_zero_exposure_time_is_a_clear_error() -> None:
    a, b = _lrs(2, **{"exposure.exposure_time": 0.0})
    with pytest.raises(ValueError, match="exposure time"):
        resample_spec([a, b])


def test_parts_keep_their_own_wcsinfo_in_a_source_product() -> None:
    source = _nirspec_source(2)
    assert isinstance(source.parts[0], Part)
    bad = source.evolve(parts=[source.parts[0],
                               source.parts[1].evolve(meta={"wcsinfo.dispersion_direction":
                                                            2})])
    with pytest.raises(ValueError, match="DISPAXIS"):
        resample_spec([bad])


def test_user_output_wcs_object_is_used_and_left_unchanged() -> None:
    inputs = _lrs(2, nod=0.4)
    grid = resample_spec(inputs).products[0].part.wcs
    shape = grid.array_shape
    out = resample_spec(inputs, output_wcs=grid, output_shape=(20, 50)).products[0]
    assert out.part.data.shape == (50, 20)
    assert grid.array_shape == shape


def test_headers_are_blended_with_a_hdrtab_row_per_exposure() -> None:
    inputs = [p.evolve(meta={"exposure.mid_time": 60400.0 + k, "instrument.detector":
                             f"MIRIMAGE{k}"}) for k, p in enumerate(_lrs(3))]
    product = resample_spec(inputs).products[0]
    assert product.get("exposure.mid_time") == pytest.approx(60401.0)  # the mean
    assert product.get("instrument.detector") == "MULTIPLE"
    table = product.part.arrays["hdrtab"]
    assert list(table["FILENAME"]) == [p.filename for p in inputs]
    assert list(table["EXPMID"]) == [60400.0, 60401.0, 60402.0]


def test_no_blending_when_switched_off_or_for_a_single_exposure() -> None:
    inputs = [p.evolve(meta={"exposure.mid_time": 60400.0 + k}) for k, p in
              enumerate(_lrs(2))]
    for product in (resample_spec(inputs, blendheaders=False).products[0],
                    resample_spec(inputs[:1]).products[0]):
        assert "hdrtab" not in product.part.arrays
        assert product.get("exposure.mid_time") == 60400.0  # the first exposure's


def test_output_wcs_path_is_refused_by_the_step(tmp_path) -> None:
    with pytest.raises(ValueError, match="output_wcs: the step opens no files"):
        resample_spec(_lrs(2), output_wcs=str(tmp_path / "grid.asdf"))
