"""The slitless simulators: NIRISS SOSS, NIRISS WFSS and NIRCam WFSS."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from spec3nb.datamodels import write_product
from spec3nb.datamodels.dq import DO_NOT_USE, HOT
from spec3nb.simulate import SimConfig, read_truth, simulate, soss, wfss, write_dataset
from spec3nb.simulate.slitless import simulate_nis_wfss, simulate_nrc_wfss

MODES = ("nis_soss", "nis_wfss", "nrc_wfss")
MJY_TO_MILLIJANSKY = 1e9


@pytest.fixture(scope="module")
def datasets():
    """The small dataset of each mode, seed 3."""
    return {mode: simulate(mode, seed=3) for mode in MODES}


@pytest.fixture(scope="module")
def written(tmp_path_factory, datasets):
    """The small datasets written to disk."""
    out = {}
    for mode, dataset in datasets.items():
        folder = tmp_path_factory.mktemp(mode)
        out[mode] = write_dataset(dataset, folder)
    return out


def _setup(mode: str) -> wfss.GrismSetup:
    return wfss.niriss_setup() if mode == "nis_wfss" else wfss.nircam_setup()


def _source(truth_source) -> wfss.Source:
    return wfss.Source(truth_source.source_id, truth_source.ra, truth_source.dec,
                       truth_source.source_type, truth_source.extra["sigma_pixels"],
                       truth_source.spectrum)


def _cutout(mode, dataset, part):
    """Rebuild a part's cutout from the truth and the part's own attributes."""
    setup = _setup(mode)
    source = _source(dataset.truth.source(part.attrs["source_id"]))
    order = {o.order: o for o in setup.orders}[part.meta["wcsinfo"]["spectral_order"]]
    return setup, wfss.locate(setup, source, order, part.attrs["source_xpos"],
                              part.attrs["source_ypos"])


# ----------------------------------------------------------------------------- files


@pytest.mark.parametrize("mode", ["nis_wfss", "nrc_wfss"])
def test_wfss_files_open_as_multislit_with_wcs(mode, written, datasets):
    from stdatamodels.jwst import datamodels

    dataset = datasets[mode]
    exp_type = mode.upper()
    for product in dataset.exposures:
        path = written[mode].parent / product.filename
        with datamodels.open(str(path)) as model:
            assert type(model).__name__ == "MultiSlitModel"
            assert model.meta.exposure.type == exp_type
            assert model.meta.wcsinfo.s_region.startswith("POLYGON ICRS")
            assert model.meta.photometry.pixelarea_steradians > 0
            assert model.meta.cal_step.photom == "COMPLETE"
            assert len(model.slits) == len(product.parts) > 0
            for slit in model.slits:
                assert slit.meta.wcs is not None
                assert slit.meta.wcs.available_frames == [
                    "grism_slit", "grism_detector", "detector", "world"]
                ny, nx = slit.data.shape
                ra, dec, wave, order = slit.meta.wcs((nx - 1) / 2, (ny - 1) / 2)
                assert abs(ra - slit.source_ra) < 2e-4 and abs(dec - slit.source_dec) < 2e-4
                assert order == slit.meta.wcsinfo.spectral_order
                np.testing.assert_allclose(
                    wave, slit.wavelength[int((ny - 1) / 2), int((nx - 1) / 2)], atol=0.01)
                assert slit.meta.bunit_data == "MJy/sr"
                assert slit.meta.wcsinfo.dispersion_direction == (2 if mode == "nis_wfss" else 1)
                assert 1 <= slit.xstart and slit.xstart + slit.xsize - 1 <= 2048
                assert 1 <= slit.ystart and slit.ystart + slit.ysize - 1 <= 2048


def test_wfss_wcs_inverse_and_bounding_box(datasets):
    part = datasets["nis_wfss"].exposures[0].parts[0]
    ny, nx = part.data.shape
    x, y = np.array([1.0, nx - 2.0]), np.array([2.0, ny - 3.0])
    world = part.wcs(x, y)
    back = part.wcs.invert(*world)
    np.testing.assert_allclose(back, (x, y), atol=1e-6)
    assert np.all(np.isnan(part.wcs(nx + 3.0, 1.0)))
    det2world = part.wcs.get_transform("detector", "world")
    assert det2world.n_inputs == 4 and det2world.inverse is not None


def test_soss_file_opens_as_cube_with_wcs(written, datasets):
    from stdatamodels.jwst import datamodels

    product = datasets["nis_soss"].exposures[0]
    with datamodels.open(str(written["nis_soss"].parent / product.filename)) as model:
        assert type(model).__name__ == "CubeModel"
        assert model.meta.exposure.type == "NIS_SOSS"
        assert model.meta.visit.tsovisit is False
        assert (model.meta.instrument.filter, model.meta.instrument.pupil) == ("CLEAR",
                                                                              "GR700XD")
        assert model.meta.subarray.name == "SUBSTRIP256"
        assert model.meta.wcsinfo.dispersion_direction == 1
        assert model.meta.bunit_data == "DN/s"
        assert len(model.int_times) == model.data.shape[0] == model.meta.exposure.nints
        layout = soss.LAYOUTS["small"]
        x = np.array([10.0, 300.0])
        for order in (1, 2):
            wave = model.meta.wcs(x, np.array([20.0, 20.0]), np.full(2, order))[2]
            expected = soss.trace_wavelength(order, (x + 0.5) / layout.nx)
            np.testing.assert_allclose(wave, expected, rtol=1e-6)


def test_product_names_and_association(written):
    names = {}
    for mode, asn_path in written.items():
        names[mode] = json.loads(Path(asn_path).read_text())["products"][0]["name"]
    assert names == {"nis_soss": "jw01234-o001_t001_niriss_clear-gr700xd-substrip256",
                     "nis_wfss": "jw01234-o001_t001_niriss_gr150r-f150w",
                     "nrc_wfss": "jw01234-o001_t001_nircam_f444w-grismr"}


# ----------------------------------------------------------------------------- truth


@pytest.mark.parametrize("mode", ["nis_wfss", "nrc_wfss"])
def test_wfss_noiseless_flux_matches_truth(mode, datasets):
    dataset = datasets[mode]
    omega = None
    for product in dataset.exposures:
        for part in product.parts:
            setup, cut = _cutout(mode, dataset, part)
            assert cut.origin(setup.dispaxis) == (part.attrs["xstart"] - 1,
                                                   part.attrs["ystart"] - 1)
            assert cut.shape(setup.dispaxis) == part.data.shape
            rate, conversion = wfss.render_cutout(setup, cut)
            omega = part.meta["photometry"]["pixelarea_steradians"]
            axis = 0 if setup.dispaxis == 1 else 1
            flux = np.sum(rate * conversion, axis=axis) * omega * MJY_TO_MILLIJANSKY
            wave = wfss.cutout_wavelength(setup, cut)
            np.testing.assert_allclose(np.nanmean(part.arrays["wavelength"], axis=axis), wave,
                                       rtol=1e-6)
            truth = dataset.truth.source(part.attrs["source_id"]).spectrum(wave)
            mid = slice(len(wave) // 3, 2 * len(wave) // 3)
            np.testing.assert_allclose(flux[mid], truth[mid], rtol=0.02)
    assert omega is not None


@pytest.mark.parametrize("mode", ["nis_wfss", "nrc_wfss"])
def test_wfss_data_summed_match_truth(mode, datasets):
    """The noisy cutouts, summed across the dispersion, average to the truth at mid-band."""
    dataset = datasets[mode]
    ratios = []
    for product in dataset.exposures:
        for part in product.parts:
            axis = 0 if part.meta["wcsinfo"]["dispersion_direction"] == 1 else 1
            omega = part.meta["photometry"]["pixelarea_steradians"]
            flux = np.sum(part.data, axis=axis) * omega * MJY_TO_MILLIJANSKY  # NaN if hit
            wave = np.nanmean(part.arrays["wavelength"], axis=axis)
            truth = dataset.truth.source(part.attrs["source_id"]).spectrum(wave)
            n = len(wave)
            ratios.append(np.nanmedian((flux / truth)[n // 3: 2 * n // 3]))
    assert np.median(ratios) == pytest.approx(1.0, abs=0.02)
    assert np.all(np.abs(np.array(ratios) - 1.0) < 0.15)


def test_wfss_truth_lists_every_cutout(datasets):
    dataset = datasets["nis_wfss"]
    listed = set()
    for source in dataset.truth.sources:
        for entry in source.extra["cutouts"]:
            part = dataset.exposures[entry["exposure"]].parts[entry["part"]]
            assert part.attrs["source_id"] == source.source_id
            assert part.meta["wcsinfo"]["spectral_order"] == entry["order"]
            assert (part.attrs["xstart"], part.attrs["ystart"]) == (entry["xstart"],
                                                                     entry["ystart"])
            listed.add((entry["exposure"], entry["part"]))
    assert listed == {(i, j) for i, p in enumerate(dataset.exposures)
                      for j in range(len(p.parts))}
    # Orders 1 and 2 of NIRISS, and the same sources dithered to other pixels.
    first = dataset.truth.sources[0].extra["cutouts"]
    assert {e["order"] for e in first} == {1, 2}
    starts = {(e["xstart"], e["ystart"]) for e in first if e["order"] == 1}
    assert len(starts) == len(dataset.exposures)


def test_wfss_outliers_and_hot_pixels_where_recorded(datasets):
    for mode in ("nis_wfss", "nrc_wfss"):
        dataset = datasets[mode]
        hits = 0
        for product, truth in zip(dataset.exposures, dataset.truth.exposures, strict=True):
            for part_index, y, x in truth.outliers:
                part = product.parts[part_index]
                setup, cut = _cutout(mode, dataset, part)
                rate, conversion = wfss.render_cutout(setup, cut)
                excess = part.data[y, x] - rate[y, x] * conversion[y, x]
                assert excess > 10 * part.err[y, x]
                hits += 1
            for part_index, y, x in truth.bad_pixels:
                part = product.parts[part_index]
                assert np.isnan(part.data[y, x])
                assert part.dq[y, x] & (HOT | DO_NOT_USE) == HOT | DO_NOT_USE
        assert hits > 0


def test_soss_noiseless_box_matches_truth():
    layout = soss.LAYOUTS["small"]
    dataset = simulate("nis_soss", seed=5)
    star = dataset.truth.sources[0]
    rate, conversions = soss.render(layout, star.spectrum)
    rows = np.arange(layout.ny)[:, None]
    for order in ("1", "2"):
        info = star.extra["orders"][order]
        x, y = np.asarray(info["x"]), np.asarray(info["y"])
        box = np.abs(rows - y[None, :]) <= star.extra["box_width"] / 2
        flux = np.sum(rate[:, x] * box, axis=0) * np.asarray(info["mjy_per_dn_s"])
        truth = star.spectrum(np.asarray(info["wavelength"]))
        mid = slice(int(0.4 * len(x)), int(0.6 * len(x)))
        np.testing.assert_allclose(flux[mid], truth[mid], rtol=0.02)
        np.testing.assert_allclose(info["mjy_per_dn_s"], conversions[int(order)][x])


def test_soss_data_box_matches_truth_and_outliers_recorded(datasets):
    dataset = datasets["nis_soss"]
    star = dataset.truth.sources[0]
    layout = soss.LAYOUTS["small"]
    rate, _ = soss.render(layout, star.spectrum)
    info = star.extra["orders"]["1"]
    x, y = np.asarray(info["x"]), np.asarray(info["y"])
    rows = np.arange(layout.ny)[:, None]
    box = np.abs(rows - y[None, :]) <= star.extra["box_width"] / 2
    for product, truth in zip(dataset.exposures, dataset.truth.exposures, strict=True):
        data = product.part.data
        flux = np.sum(data[0][:, x] * box, axis=0) * np.asarray(info["mjy_per_dn_s"])
        ratio = flux / star.spectrum(np.asarray(info["wavelength"]))
        mid = slice(int(0.3 * len(x)), int(0.7 * len(x)))
        assert np.nanmedian(ratio[mid]) == pytest.approx(1.0, abs=0.02)
        assert len(truth.outliers) > 0
        for integ, yy, xx in truth.outliers:
            assert data[integ, yy, xx] - rate[yy, xx] > 10 * product.part.err[integ, yy, xx]
        for integ, yy, xx in truth.bad_pixels:
            assert np.isnan(data[integ, yy, xx])
            assert product.part.dq[integ, yy, xx] & HOT


# ----------------------------------------------------------------------------- sizes, options


@pytest.mark.parametrize("mode", MODES)
def test_small_dataset_is_small(mode, tmp_path, datasets):
    # Warm up stdatamodels (schemas, ASDF extensions) once: that is not the simulator's time.
    write_product(datasets[mode].exposures[0], tmp_path / "warm" / "warm_cal.fits")
    write_dataset(simulate(mode, seed=11), tmp_path / "data")
    size = sum(p.stat().st_size for p in (tmp_path / "data").iterdir())
    assert size < 5e6
    # Speed (under 3 s for small): measured in benchmarks/bench_simulate.py, not here.


@pytest.mark.parametrize("mode", MODES)
def test_deterministic(mode):
    a, b, c = simulate(mode, seed=7), simulate(mode, seed=7), simulate(mode, seed=8)
    for pa, pb in zip(a.exposures[0].parts, b.exposures[0].parts, strict=True):
        for key in pa.arrays:
            np.testing.assert_array_equal(pa.arrays[key], pb.arrays[key])
    for ta, tb in zip(a.truth.exposures, b.truth.exposures, strict=True):
        np.testing.assert_array_equal(ta.outliers, tb.outliers)
    first_a, first_c = a.exposures[0].parts[0].data, c.exposures[0].parts[0].data
    assert first_a.shape != first_c.shape or not np.array_equal(first_a, first_c,
                                                                 equal_nan=True)


def test_options_exposures_sources_and_moving():
    dataset = simulate("nis_wfss", seed=1, nexp=3, nsources=7, moving=True)
    assert len(dataset.exposures) == 3
    assert len(dataset.truth.sources) == 7
    offsets = {t.offset for t in dataset.truth.exposures}
    assert len(offsets) == 3
    for index, product in enumerate(dataset.exposures):
        assert product.get("target.type") == "MOVING"
        assert product.get("wcsinfo.mt_ra") == pytest.approx(product.get("target.ra"))
        assert product.get("observation.exposure_number") == f"{index + 1:05d}"
    assert simulate("nis_soss", nexp=1).exposures[0].get("target.type") == "FIXED"


def test_grism_and_module_choices():
    config = SimConfig("nis_wfss", seed=2)
    gr150c = simulate_nis_wfss(config, grism="GR150C")
    assert gr150c.exposures[0].get("instrument.filter") == "GR150C"
    part = gr150c.exposures[0].parts[0]
    assert part.meta["wcsinfo"]["dispersion_direction"] == 1
    wave = part.arrays["wavelength"]
    assert np.ptp(wave[:, 0]) == 0 and np.ptp(wave[0, :]) > 0.2  # varies along x only
    module_b = simulate_nrc_wfss(SimConfig("nrc_wfss", seed=2), module="B")
    assert module_b.exposures[0].get("instrument.detector") == "NRCBLONG"
    with pytest.raises(ValueError, match="GR150R or GR150C"):
        simulate_nis_wfss(config, grism="GR700XD")


def test_full_sizes():
    full = simulate("nis_wfss", size="full", seed=4)
    assert len(full.truth.sources) >= 100
    starts = [(p.attrs["xstart"], p.attrs["ystart"], p.data.shape)
              for p in full.exposures[0].parts]
    assert all(1 <= x and 1 <= y and x + s[1] - 1 <= 2048 and y + s[0] - 1 <= 2048
               for x, y, s in starts)
    # Near the edges some sources fall off the detector in one dither but not the other.
    per_source = [len({e["exposure"] for e in s.extra["cutouts"]})
                  for s in full.truth.sources]
    assert 0 < per_source.count(1) < len(per_source)
    cube = simulate("nis_soss", size="full", seed=4, nexp=1)
    assert cube.exposures[0].part.data.shape == (3, 256, 2048)


def test_truth_round_trip(written):
    truth = read_truth(written["nis_soss"])
    star = truth.sources[0]
    assert truth.mode == "nis_soss" and star.spectrum.unit == "mJy"
    assert set(star.extra["orders"]) == {"1", "2"}
    wave1 = np.asarray(star.extra["orders"]["1"]["wavelength"])
    wave2 = np.asarray(star.extra["orders"]["2"]["wavelength"])
    assert 0.84 < wave1.min() < 0.9 and 2.7 < wave1.max() < 2.84
    assert 0.59 < wave2.min() < 0.65 and 1.35 < wave2.max() < 1.43
    assert truth.exposures[0].outliers.shape[1] == 3
