"""The slit-mode simulator (NIRSpec FS/MOS, MIRI LRS) against its own truth and stdatamodels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from spec3nb.datamodels.dq import DO_NOT_USE, HOT
from spec3nb.simulate import read_truth, simulate, write_dataset
from spec3nb.simulate import slit_common as common

MODES = ("nrs_fs", "nrs_mos", "mir_lrs")
CLASSES = {"nrs_fs": "MultiSlitModel", "nrs_mos": "MultiSlitModel", "mir_lrs": "SlitModel"}


def _open(path: Path):
    from stdatamodels.jwst import datamodels

    return datamodels.open(str(path))


def _slits(model) -> list:
    return list(model.slits) if hasattr(model, "slits") else [model]


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, tuple[Path, object]]:
    out = {}
    for mode in MODES:
        folder = tmp_path_factory.mktemp(mode)
        dataset = simulate(mode)
        write_dataset(dataset, folder)
        out[mode] = (folder, dataset)
    return out


@pytest.mark.parametrize("mode", MODES)
def test_files_open_as_the_right_model_with_invertible_wcs(written, mode: str) -> None:
    folder, dataset = written[mode]
    for product in dataset.exposures:
        with _open(folder / product.filename) as model:
            assert type(model).__name__ == CLASSES[mode]
            assert model.meta.cal_step.photom == "COMPLETE"
            for slit in _slits(model):
                wcs = slit.meta.wcs
                assert wcs is not None and wcs.bounding_box is not None
                (x0, x1), (y0, y1) = wcs.bounding_box
                y, x = np.mgrid[y0 + 1:y1 - 1:5j, x0 + 1:x1 - 1:7j]
                world = wcs(x, y)
                assert np.all(np.isfinite(world))
                back = wcs.invert(*world)
                np.testing.assert_allclose(back[0], x, atol=0.01)
                np.testing.assert_allclose(back[1], y, atol=0.01)
                if mode != "mir_lrs":
                    assert "slit_frame" in wcs.available_frames
                assert slit.meta.wcsinfo.dispersion_direction == (2 if mode == "mir_lrs" else 1)
                assert slit.meta.photometry.pixelarea_steradians > 0


def test_nirspec_fs_names_ids_and_units(written) -> None:
    folder, dataset = written["nrs_fs"]
    with _open(folder / dataset.exposures[0].filename) as model:
        assert model.meta.exposure.type == "NRS_FIXEDSLIT"
        assert model.meta.instrument.fixed_slit == "S200A1"
        ids = {s.name: s.source_id for s in model.slits}
        assert ids == {"S200A1": 1, "S200A2": 12, "S400A1": 13, "S1600A1": 14}
        units = {s.name: (s.source_type, s.meta.bunit_data) for s in model.slits}
        assert units["S200A1"] == ("POINT", "MJy")
        assert units["S400A1"] == ("EXTENDED", "MJy/sr")
    assert dataset.product_name == (
        "jw01234-o001_t001-{source_id}_nirspec_f290lp-g395m-{slit_name}")
    asn = json.loads((folder / dataset.asn_name).read_text())
    assert asn["products"][0]["name"] == dataset.product_name


def _fs_location(part, wavelength: float) -> float:
    slit2det = part.wcs.get_transform("slit_frame", "detector")
    return float(slit2det(0.0, part.attrs["source_ypos"], wavelength)[1])


@pytest.mark.parametrize("mode", ["nrs_fs", "mir_lrs"])
def test_point_source_flux_matches_truth(written, mode: str) -> None:
    """The noiseless model at the file's source position, and the data, sum to the truth."""
    _, dataset = written[mode]
    source = dataset.truth.sources[0]
    for product in dataset.exposures:
        part = product.parts[0]
        wave = np.asarray(part.arrays["wavelength"], float)
        data = np.asarray(part.data, float)
        if mode == "nrs_fs":
            column = wave.shape[1] // 2
            centre = _fs_location(part, float(np.nanmean(wave[:, column])))
            cross = np.indices(wave.shape)[0].astype(float)
            axis, omega_out, scale = 0, 1.0, 0.1
        else:
            wave, data = wave.T, data.T  # dispersion along the first axis after transposing
            centre = float(part.wcs.invert(source.ra, source.dec, 8.0)[0])
            cross = np.indices(wave.shape)[0].astype(float)
            scale = 0.11
            omega_out = scale**2 * common.SR_PER_ARCSEC2
            axis = 0
        model = common.slit_signal(wave, cross, centre, scale=scale,
                                   spectrum=source.spectrum, sky=None)
        omega = scale**2 * common.SR_PER_ARCSEC2
        middle = slice(wave.shape[1] * 2 // 5, wave.shape[1] * 3 // 5)
        lam = np.nanmean(wave[:, middle], axis=0)
        truth_mjy = source.spectrum(lam) * common.MJY_PER_MILLIJY
        noiseless = np.nansum(model[:, middle], axis=axis) * omega
        np.testing.assert_allclose(noiseless, truth_mjy, rtol=0.02)
        measured = np.nanmedian(np.nansum(np.nan_to_num(data[:, middle]), axis=axis)
                                * omega_out / truth_mjy)
        assert measured == pytest.approx(1.0, rel=0.03)


@pytest.mark.parametrize("mode", MODES)
def test_cosmic_rays_and_hot_pixels_are_where_the_truth_says(written, mode: str) -> None:
    folder, dataset = written[mode]
    truth = read_truth(folder)
    total = 0
    for product, exp in zip(dataset.exposures, truth.exposures, strict=True):
        assert exp.filename == product.filename
        for part_index, y, x in exp.outliers:
            part = product.parts[part_index]
            data = np.asarray(part.data, float)
            local = np.nanmedian(data[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2])
            assert data[y, x] - local > 10 * part.err[y, x] or data[y, x] > 25 * part.err[y, x]
            total += 1
        for part_index, y, x in exp.bad_pixels:
            part = product.parts[part_index]
            assert np.isnan(part.data[y, x])
            assert part.dq[y, x] & (HOT | DO_NOT_USE) == HOT | DO_NOT_USE
    assert total >= 10


@pytest.mark.parametrize("mode", MODES)
def test_small_dataset_is_small(tmp_path: Path, mode: str) -> None:
    simulate(mode)  # warm the imports
    write_dataset(simulate(mode), tmp_path)
    size = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert size < 5e6
    # Speed (under 3 s for small): measured in benchmarks/bench_simulate.py, not here.


@pytest.mark.parametrize("mode", MODES)
def test_same_seed_same_files(tmp_path: Path, mode: str) -> None:
    from astropy.io import fits

    for name in ("a", "b"):
        write_dataset(simulate(mode, seed=7, background="nod"), tmp_path / name)
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert (tmp_path / "a/truth.json").read_bytes() == (tmp_path / "b/truth.json").read_bytes()
    for name in files:
        if not name.endswith(".fits"):
            continue
        with fits.open(tmp_path / "a" / name) as one, fits.open(tmp_path / "b" / name) as two:
            for hdu_a, hdu_b in zip(one, two, strict=True):
                if hdu_a.name in ("SCI", "ERR", "DQ", "VAR_POISSON", "WAVELENGTH",
                                  "EXTRACT1D"):
                    assert hdu_a.data.tobytes() == hdu_b.data.tobytes()
    other = simulate(mode, seed=8)
    first = simulate(mode, seed=7)
    assert not np.array_equal(np.nan_to_num(other.exposures[0].parts[0].data),
                              np.nan_to_num(first.exposures[0].parts[0].data))


def test_options_nexp_nsources_and_background_slitlets() -> None:
    fs = simulate("nrs_fs", nexp=5)
    assert len(fs.exposures) == 5 and len(fs.truth.exposures) == 5
    ypos = [p.parts[0].attrs["source_ypos"] for p in fs.exposures]
    assert len(set(np.round(ypos, 6))) == 3  # the 3-point nod moves the source
    mos = simulate("nrs_mos", nsources=6)
    names = [p.attrs["source_name"] for p in mos.exposures[0].parts]
    assert len(mos.truth.sources) == 6
    assert sum("BKG" in n for n in names) >= 1
    states = {p.parts[0].attrs["shutter_state"] for p in mos.exposures}
    assert states == {"1x1", "11x", "x11"}
    assert mos.product_name == "jw01234-o001_{source_id}_nirspec_f290lp-g395m"


def test_lrs_nod_background_writes_x1d_members(tmp_path: Path) -> None:
    dataset = simulate("mir_lrs", background="nod")
    assert not dataset.nod_backgrounds
    expected = [p.filename.replace("_cal.fits", "_x1d.fits") for p in dataset.exposures]
    assert [b.filename for b in dataset.backgrounds] == expected
    asn_path = write_dataset(dataset, tmp_path)
    members = json.loads(asn_path.read_text())["products"][0]["members"]
    assert sorted(m["expname"] for m in members if m["exptype"] == "background") == expected
    sky = dataset.truth.exposures[0].background
    for name in expected:
        with _open(tmp_path / name) as model:
            assert type(model).__name__ == "MultiSpecModel"
            assert model.meta.observation.bkgdtarg is False
            bkg = model.spec[0].spec_table["BACKGROUND"]
            wave = model.spec[0].spec_table["WAVELENGTH"]
            middle = np.abs(wave - 8.65) < 0.5
            assert np.median(bkg[middle]) == pytest.approx(sky, rel=0.05)


def test_dedicated_background_members() -> None:
    for mode in MODES:
        dataset = simulate(mode, background="dedicated")
        assert dataset.backgrounds
        assert all(b.get("observation.bkgdtarg") is True for b in dataset.backgrounds)
        assert dataset.truth.exposures[0].background > 0
        assert dataset.truth.background_spectrum is not None


@pytest.mark.parametrize("mode", MODES)
def test_moving_target_keywords(mode: str) -> None:
    dataset = simulate(mode, moving=True)
    mt = []
    for product in dataset.exposures:
        assert product.get("target.type") == "MOVING"
        mt.append((product.get("wcsinfo.mt_ra"), product.get("wcsinfo.mt_dec")))
        for part in product.parts:
            if mode != "mir_lrs":
                assert part.meta["wcsinfo"]["mt_ra"] == mt[-1][0]
    assert len(set(mt)) == len(mt)  # the target moves between exposures
    assert simulate(mode).exposures[0].get("target.type") == "FIXED"
