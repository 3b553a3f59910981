"""The IFU simulators (MIRI MRS, NIRSpec IFU): files, WCS, slice maps, truth, options."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from spec3nb.datamodels import read_product
from spec3nb.datamodels.dq import DO_NOT_USE, NON_SCIENCE
from spec3nb.simulate import SimConfig, ifu_miri, ifu_nirspec, read_truth, simulate, write_dataset
from spec3nb.simulate import ifu_common as common

MODES = ("mir_mrs", "nrs_ifu")
MODULES = {"mir_mrs": ifu_miri, "nrs_ifu": ifu_nirspec}


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, Path]:
    folders = {}
    for mode in MODES:
        folder = tmp_path_factory.mktemp(mode)
        write_dataset(simulate(mode, seed=3), folder)
        folders[mode] = folder
    return folders


def _open(path: Path):
    from stdatamodels.jwst import datamodels

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return datamodels.open(str(path))


def _noiseless(mode: str, dataset, index: int) -> tuple[np.ndarray, np.ndarray, object]:
    """Source-only and total noiseless images of exposure `index`, and the footprint."""
    module = MODULES[mode]
    layout = module._layouts(dataset.config)[0]
    product = dataset.exposures[index]
    meta = product.meta
    foot, regions = module.footprint(layout)
    truth = dataset.truth
    target = (meta["target"]["ra"], meta["target"]["dec"])
    position = common.local_position(meta["wcsinfo"]["ra_ref"], meta["wcsinfo"]["dec_ref"],
                                     module.ROLL, *target)
    if mode == "nrs_ifu":
        position = position[::-1]
    fwhm = common.psf_fwhm(foot.wavelength, *module.PSF)
    source = common.point_source_image(foot, truth.sources[0].spectrum, position, fwhm)
    level = truth.exposures[index].background / module.BACKGROUND_LEVEL
    sky = truth.background_spectrum(foot.wavelength) * level
    return source, np.where(regions > 0, source + sky, np.nan), foot


@pytest.mark.parametrize("mode", MODES)
def test_files_open_as_ifu_images_with_invertible_wcs(written, mode):
    files = sorted(written[mode].glob("*_cal.fits"))
    assert len(files) == 4
    with _open(files[0]) as model:
        assert type(model).__name__ == "IFUImageModel"
        assert model.meta.exposure.type == ("MIR_MRS" if mode == "mir_mrs" else "NRS_IFU")
        assert model.meta.bunit_data == "MJy/sr"
        assert model.meta.photometry.pixelarea_steradians > 0
        wcs = model.meta.wcs
        frames = wcs.available_frames
        assert ("alpha_beta" if mode == "mir_mrs" else "slicer") in frames
        assert frames[-1] == "world"
        ny, nx = model.data.shape
        y, x = np.mgrid[0:ny, 0:nx]
        ra, dec, lam = wcs(x, y)
        ok = np.isfinite(ra)
        assert ok.mean() > 0.5
        back_x, back_y = wcs.invert(ra[ok], dec[ok], lam[ok])
        assert np.max(np.hypot(back_x - x[ok], back_y - y[ok])) < 0.01
        assert np.all(np.isnan(wcs(-5.0, -5.0)))  # bounding box


@pytest.mark.parametrize("mode", MODES)
def test_slice_map_matches_the_nan_gaps(written, mode):
    product = read_product(sorted(written[mode].glob("*_cal.fits"))[0])
    part = product.part
    regions = part.arrays["regions"]
    gap = regions == 0
    assert np.all(np.isnan(part.data[gap]))
    assert np.all(part.dq[gap] & (NON_SCIENCE | DO_NOT_USE) == NON_SCIENCE | DO_NOT_USE)
    assert np.all(part.dq[~gap] & NON_SCIENCE == 0)
    expected = (set(range(101, 122)) | set(range(201, 218)) if mode == "mir_mrs"
                else set(range(1, 31)))
    assert set(np.unique(regions[~gap]).tolist()) == expected
    ny, nx = part.data.shape
    y, x = np.mgrid[0:ny, 0:nx]
    assert np.array_equal(np.isfinite(part.wcs(x, y)[2]), ~gap)
    if mode == "nrs_ifu":
        assert np.array_equal(np.isfinite(part.arrays["wavelength"]), ~gap)


@pytest.mark.parametrize("mode", MODES)
def test_noiseless_source_flux_equals_truth(mode):
    dataset = simulate(mode, seed=5)
    source, _, foot = _noiseless(mode, dataset, 1)
    flux = source * foot.solid_angle / common.MJY_PER_MJY  # mJy per pixel
    truth = dataset.truth.sources[0].spectrum
    # integrate over the footprint at each wavelength (rows for MRS, columns for NIRSpec)
    axis = 1 if mode == "mir_mrs" else 0
    if mode == "mir_mrs":  # channel 1 only (channel 2 has other wavelengths on the same row)
        flux = np.where(dataset.exposures[1].part.arrays["regions"] < 200, flux, np.nan)
    total = np.nansum(flux, axis=axis)
    wave = np.nanmean(np.where(np.isfinite(flux), foot.wavelength, np.nan), axis=axis)
    lo = np.nanmin(np.where(np.isfinite(flux), foot.wave_lo, np.nan), axis=axis)
    hi = np.nanmax(np.where(np.isfinite(flux), foot.wave_hi, np.nan), axis=axis)
    expected = common.band_average(truth, lo, hi)
    assert np.nanmax(np.abs(total / expected - 1.0)) < 0.02
    assert abs(np.nanmedian(total / truth(wave)) - 1.0) < 0.02


@pytest.mark.parametrize("mode", MODES)
def test_outliers_are_where_the_truth_says(mode):
    dataset = simulate(mode, seed=7)
    for index, (product, exposure) in enumerate(zip(dataset.exposures, dataset.truth.exposures,
                                                    strict=True)):
        _, signal, _ = _noiseless(mode, dataset, index)
        part = product.part
        _, ys, xs = exposure.outliers.T
        assert len(ys) >= 10 and np.all(exposure.outliers[:, 0] == 0)
        excess = (part.data[ys, xs] - signal[ys, xs]) / part.err[ys, xs]
        assert np.all(excess > 10)
        clean = np.ones(part.data.shape, bool)
        clean[ys, xs] = False
        ok = clean & np.isfinite(part.data)
        pulls = (part.data[ok] - signal[ok]) / part.err[ok]
        assert abs(np.std(pulls) - 1.0) < 0.1
        _, hy, hx = exposure.bad_pixels.T
        assert np.all(np.isnan(part.data[hy, hx])) and np.all(part.dq[hy, hx] & DO_NOT_USE)


@pytest.mark.parametrize("mode", MODES)
def test_small_dataset_is_small(tmp_path, mode):
    write_dataset(simulate(mode, seed=1), tmp_path / "warm")  # imports, not timed
    write_dataset(simulate(mode, seed=2), tmp_path / "timed")
    size = sum(p.stat().st_size for p in (tmp_path / "timed").iterdir())
    assert size < 5e6
    # Speed (under 3 s for small): measured in benchmarks/bench_simulate.py, not here.


@pytest.mark.parametrize("mode", MODES)
def test_deterministic(mode):
    a, b, c = simulate(mode, seed=11), simulate(mode, seed=11), simulate(mode, seed=12)
    for pa, pb in zip(a.exposures, b.exposures, strict=True):
        for key in pa.part.arrays:
            np.testing.assert_array_equal(pa.part.arrays[key], pb.part.arrays[key])
    assert not np.array_equal(a.exposures[0].part.data, c.exposures[0].part.data,
                              equal_nan=True)
    if mode == "mir_mrs":
        assert a.references == b.references


def test_mrs_metadata_cubepar_and_background_levels(written):
    product = read_product(sorted(written["mir_mrs"].glob("*_cal.fits"))[0])
    assert product.get("instrument.channel") == "12"
    assert product.get("instrument.band") == "SHORT"
    assert product.get("instrument.detector") == "MIRIFUSHORT"
    assert product.get("wcsinfo.dispersion_direction") == 2
    assert product.get("cal_step.photom") == "COMPLETE"
    truth = read_truth(written["mir_mrs"])
    levels = [e.background for e in truth.exposures]
    assert len(set(levels)) == len(levels)
    from stdatamodels.jwst import datamodels

    with datamodels.MiriIFUCubeParsModel(str(written["mir_mrs"] / ifu_miri.CUBEPAR_NAME)) as ref:
        rows = {(r["channel"], r["band"]) for r in ref.ifucubepars_table}
        assert {("1", "SHORT"), ("2", "SHORT")} <= rows
        assert len(ref.ifucubepars_multichannel_driz_wavetable) > 100
    asn = next(written["mir_mrs"].glob("*_asn.json")).read_text()
    assert '"jw01234-o001_t001_miri"' in asn


def test_nirspec_metadata(written):
    product = read_product(sorted(written["nrs_ifu"].glob("*_cal.fits"))[0])
    assert product.get("instrument.grating") == "G395H"
    assert product.get("wcsinfo.dispersion_direction") == 1
    # DMS names NIRSpec IFU products after the grating (cube_build adds the filter).
    assert '"name": "jw01234-o001_t001_nirspec_g395h"' in next(
        written["nrs_ifu"].glob("*_asn.json")).read_text()


@pytest.mark.parametrize("mode", MODES)
def test_options_nexp_moving_and_dedicated_background(tmp_path, mode):
    dataset = simulate(mode, nexp=2, moving=True, background="dedicated")
    assert len(dataset.exposures) == 2
    first, second = (p.meta for p in dataset.exposures)
    assert first["target"]["type"] == "MOVING"
    assert first["wcsinfo"]["mt_ra"] != second["wcsinfo"]["mt_ra"]
    assert dataset.exposures[0].get("dither.x_offset") != dataset.exposures[1].get(
        "dither.x_offset")
    assert len(dataset.backgrounds) == 2
    write_dataset(dataset, tmp_path)
    background = read_product(tmp_path / dataset.backgrounds[0].filename)
    assert background.model_type == ("MRSMultiSpecModel" if mode == "mir_mrs"
                                     else "MultiSpecModel")
    table = background.parts[0].table
    wave = table["WAVELENGTH"]
    expected = dataset.truth.background_spectrum(wave)  # the truth sky itself
    assert abs(np.median(table["SURF_BRIGHT"] / expected) - 1.0) < 0.005
    # as jwst's extract_1d writes an extended IFU source: the sky is also the background
    np.testing.assert_array_equal(table["BACKGROUND"], table["SURF_BRIGHT"])
    np.testing.assert_array_equal(table["BKGD_ERROR"], table["SB_ERROR"])
    assert np.all(table["BACKGROUND"] > 0)
    assert '"background"' in next(tmp_path.glob("*_asn.json")).read_text()


@pytest.mark.parametrize("mode", MODES)
def test_full_layout_is_the_real_detectors(mode):
    layouts = MODULES[mode]._layouts(SimConfig(mode, size="full"))
    shapes = {layout.detector: layout.shape for layout in layouts}
    if mode == "mir_mrs":
        assert shapes == {"MIRIFUSHORT": (1024, 1032), "MIRIFULONG": (1024, 1032)}
        labels = layouts[1].column_labels()
        assert set(np.unique(labels[:513]).tolist()) == {0, *range(401, 413)}
        assert set(np.unique(labels[513:]).tolist()) == {0, *range(301, 317)}
    else:
        assert shapes == {"NRS1": (2048, 2048), "NRS2": (2048, 2048)}


def test_full_size_mrs_wcs_starts_with_an_identity_coordinates_frame():
    layout = ifu_miri.Layout("MIRIFUSHORT", "SHORT")
    wcs = ifu_miri.mrs_wcs(layout, 80.0, -69.0)
    assert wcs.available_frames[:2] == ["coordinates", "detector"]
    to_detector = wcs.get_transform("coordinates", "detector")
    np.testing.assert_array_equal(to_detector([0.0, 17.0, 1031.0], [0.0, 3.0, 1023.0]),
                                  [[0.0, 17.0, 1031.0], [0.0, 3.0, 1023.0]])


def test_nirspec_wcs_has_the_archive_slice_map_form(written):
    """The WCS is what jwst's ``apply_slicemap`` builds, and jwst's slice WCSs read it."""
    from gwcs import selector
    from jwst.assign_wcs import nirspec

    path = sorted(written["nrs_ifu"].glob("*_cal.fits"))[0]
    product = read_product(path)
    regions = product.part.arrays["regions"]
    with _open(path) as model:
        wcs = model.meta.wcs
        assert wcs.available_frames == ["coordinates", "detector", "slicer", "v2v3", "world"]
        assert wcs.pipeline[0].transform.name == "coord2det"
        det2slicer = wcs.pipeline[1].transform
        assert isinstance(det2slicer, selector.RegionsSelector)
        assert isinstance(det2slicer.label_mapper, selector.LabelMapperArray)
        np.testing.assert_array_equal(det2slicer.label_mapper.mapper, regions)
        assert sorted(det2slicer.selector) == list(range(1, 31))
        ra, dec, lam = wcs(*np.mgrid[0:regions.shape[0], 0:regions.shape[1]][::-1])
        slice_wcs = nirspec.nrs_ifu_wcs(model)
        assert len(slice_wcs) == 30
        for k, one in enumerate(slice_wcs):
            y, x = np.nonzero(regions == k + 1)
            (x0, x1), (y0, y1) = one.bounding_box
            assert (x0, x1, y0, y1) == (x.min() - 0.5, x.max() + 0.5, y.min() - 0.5,
                                        y.max() + 0.5)
            np.testing.assert_array_equal(np.array(one(x, y)),
                                          np.array([ra[y, x], dec[y, x], lam[y, x]]))


def test_nirspec_slices_follow_the_real_slicer_and_skip_reference_pixels():
    product = simulate("nrs_ifu", seed=4, nexp=1).exposures[0]
    wcs, regions = product.part.wcs, product.part.arrays["regions"]
    to_slicer = wcs.get_transform("coordinates", "slicer")
    across = {}
    for label in range(1, 31):
        y, x = np.nonzero(regions == label)
        across[label] = float(np.unique(to_slicer(x, y)[0]).item())
    # slice i is the SLICEMAP[i]-th across the field: slices 1 and 3 are neighbours
    order = sorted(across, key=across.get)
    assert [order.index(k + 1) for k in range(30)] == list(ifu_nirspec.SLICEMAP)
    assert abs(across[1] - across[3]) == pytest.approx(ifu_nirspec.SCALE)
    # the outer four detector columns are reference pixels, on no slice
    assert not regions[:, 0].any() and not regions[:, -1].any()
    full = ifu_nirspec.slice_map(ifu_nirspec.Layout("NRS1"))
    assert not full[:, :4].any() and not full[:, -4:].any() and full[:, 4:-4].any(axis=0).all()
    # the inverse goes back through the slice picked from the across-slice coordinate
    y, x = np.nonzero(regions > 0)
    back = wcs.backward_transform(*wcs(x, y))
    np.testing.assert_allclose(back, [x, y], atol=1e-6)
