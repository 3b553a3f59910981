"""jwst 3.0.0 accepts the simulated slit-mode files and recovers their truth.

resample_spec (NIRSpec FS, MIRI LRS), outlier_detection in spec mode (FS, MOS, LRS),
extract_1d on the s2d (flux against the truth) and master_background on a MIRI LRS nod set,
all run offline on the files the simulator writes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from spec3nb.simulate import simulate, write_dataset

pytestmark = pytest.mark.usefixtures("jwst_offline")

EXTRACT = {"override_extract1d": "N/A", "override_apcorr": "N/A", "override_psf": "N/A"}


@pytest.fixture(autouse=True)
def _quiet() -> None:
    logging.getLogger("stpipe").setLevel(logging.WARNING)
    logging.getLogger("jwst").setLevel(logging.WARNING)


def _write(tmp_path_factory, mode: str, **options):
    dataset = simulate(mode, **options)
    folder = tmp_path_factory.mktemp(mode)
    write_dataset(dataset, folder)
    return folder, dataset


def _models(folder: Path, names):
    from stdatamodels.jwst import datamodels

    return [datamodels.open(str(folder / name)) for name in names]


def _sources(folder: Path, dataset):
    from jwst.exp_to_source import multislit_to_container

    return multislit_to_container(_models(folder, [p.filename for p in dataset.exposures]))


def _clean_outliers(dataset, exposure: int, part: int, trace_distance: float):
    """Injected hits seen on the sky by every exposure and away from the source's trace."""
    rows = []
    product = dataset.exposures[exposure]
    wcs = product.parts[part].wcs
    for p, y, x in dataset.truth.exposures[exposure].outliers:
        if p != part or trace_distance(product, part, y, x) < 5:
            continue
        world = wcs(x, y)
        seen = True
        for other in dataset.exposures:
            ox, oy = other.parts[part].wcs.invert(*world, with_bounding_box=False)
            good = np.isfinite(other.parts[part].arrays["wavelength"])
            iy, ix = int(round(float(oy))), int(round(float(ox)))
            box = good[max(iy - 1, 0):iy + 2, max(ix - 1, 0):ix + 2]
            seen &= 0 < iy < good.shape[0] - 1 and 0 < ix < good.shape[1] - 1 and box.all()
        if seen:
            rows.append((y, x))
    return rows


def _nirspec_trace_distance(part, y, x) -> float:
    if part.attrs["source_type"] != "POINT":
        return np.inf
    slit2det = part.wcs.get_transform("slit_frame", "detector")
    return abs(y - float(slit2det(0.0, part.attrs["source_ypos"], 4.0)[1]))


def _lrs_trace_distance(product, part, y, x) -> float:
    return abs(x - product.part.attrs["source_xpos"])


def _slit_trace_distance(product, part, y, x) -> float:
    return _nirspec_trace_distance(product.parts[part], y, x)


def _flagged_fraction(dataset, results, trace_distance) -> tuple[int, int]:
    """(flagged, total) over the clean hits; `results` maps (exposure, part) to a DQ."""
    hit = total = 0
    for (exposure, part), dq in results.items():
        for y, x in _clean_outliers(dataset, exposure, part, trace_distance):
            total += 1
            hit += bool(dq[y, x] & 16)
    return hit, total


def _check_flux(x1d, source, *, rtol: float) -> None:
    table = x1d.spec[0].spec_table
    wave, flux, err = table["WAVELENGTH"], table["FLUX"], table["FLUX_ERROR"]
    truth_jy = source.spectrum(wave) * 1e-3
    middle = slice(len(wave) // 5, 4 * len(wave) // 5)
    assert np.nanmedian(flux[middle] / err[middle]) > 50
    assert np.nanmedian(flux[middle] / truth_jy[middle]) == pytest.approx(1.0, rel=rtol)


def test_nrs_fs_outliers_resample_extract(tmp_path_factory) -> None:
    from jwst.extract_1d import Extract1dStep
    from jwst.outlier_detection import OutlierDetectionStep
    from jwst.resample import ResampleSpecStep

    folder, dataset = _write(tmp_path_factory, "nrs_fs")
    sources = _sources(folder, dataset)
    assert list(sources) == ["1", "12", "13", "14"]
    names = [p.attrs["name"] for p in dataset.exposures[0].parts]
    results = {}
    for key in ("13", "1"):  # an empty slit (most hits are clean there) and the target's
        crf = OutlierDetectionStep().run(sources[key])
        assert crf[0].meta.cal_step.outlier_detection == "COMPLETE"
        results.update({(e, names.index(m.name)): m.dq.copy() for e, m in enumerate(crf)})
    hit, total = _flagged_fraction(dataset, results, _slit_trace_distance)
    assert total >= 5 and hit >= 0.8 * total
    s2d = ResampleSpecStep().run(crf)
    assert s2d.meta.cal_step.resample == "COMPLETE"
    assert "slit_frame" in s2d.meta.wcs.available_frames
    assert s2d.meta.wcsinfo.dispersion_direction == 1
    x1d = Extract1dStep(**EXTRACT).run(s2d)
    _check_flux(x1d, dataset.truth.sources[0], rtol=0.03)


def test_nrs_mos_outliers(tmp_path_factory) -> None:
    from jwst.outlier_detection import OutlierDetectionStep

    folder, dataset = _write(tmp_path_factory, "nrs_mos", nsources=2)
    sources = _sources(folder, dataset)
    background = [key for key in sources if "BKG" in key]
    assert background and len(sources) == 3
    names = [p.attrs["name"] for p in dataset.exposures[0].parts]
    results = {}
    for key in (background[0], next(iter(sources))):  # sky-only slitlet and a source
        crf = OutlierDetectionStep().run(sources[key])
        for e, model in enumerate(crf):
            assert model.meta.cal_step.outlier_detection == "COMPLETE"
            results[(e, names.index(model.name))] = model.dq.copy()

    hit, total = _flagged_fraction(dataset, results, _slit_trace_distance)
    assert total >= 3 and hit >= 0.8 * total


def test_mir_lrs_outliers_resample_extract(tmp_path_factory) -> None:
    from jwst.datamodels import ModelContainer
    from jwst.extract_1d import Extract1dStep
    from jwst.outlier_detection import OutlierDetectionStep
    from jwst.resample import ResampleSpecStep

    # Four exposures (two per nod): a median of two cannot reject anything.
    folder, dataset = _write(tmp_path_factory, "mir_lrs", nexp=4)
    models = ModelContainer(_models(folder, [p.filename for p in dataset.exposures]))
    crf = OutlierDetectionStep().run(models)
    results = {(e, 0): model.dq.copy() for e, model in enumerate(crf)}
    hit, total = _flagged_fraction(dataset, results, _lrs_trace_distance)
    assert total >= 10 and hit >= 0.8 * total
    s2d = ResampleSpecStep().run(crf)
    assert s2d.meta.cal_step.resample == "COMPLETE"
    assert s2d.meta.wcsinfo.s_region.startswith("POLYGON ICRS")
    wave = s2d.wavelength[:, s2d.data.shape[1] // 2]
    assert wave[0] > wave[-1]  # MIRI keeps wavelength decreasing with y
    x1d = Extract1dStep(**EXTRACT).run(s2d)
    _check_flux(x1d, dataset.truth.sources[0], rtol=0.03)


def test_mir_lrs_master_background_nod(tmp_path_factory) -> None:
    from jwst.datamodels import ModelContainer
    from jwst.master_background import MasterBackgroundStep

    folder, dataset = _write(tmp_path_factory, "mir_lrs", background="nod")
    science = _models(folder, [p.filename for p in dataset.exposures])
    background = _models(folder, [p.filename for p in dataset.backgrounds])
    for model in science:
        model.meta.asn.exptype = "science"
    for model in background:
        model.meta.asn.exptype = "background"
    before = [np.array(m.data) for m in science]
    result = MasterBackgroundStep().run(ModelContainer(science + background))
    assert len(result) == len(dataset.exposures)
    for model, data, exposure in zip(result, before, dataset.truth.exposures, strict=True):
        assert model.meta.cal_step.master_background == "COMPLETE"
        sky_columns = np.abs(np.arange(data.shape[1]) - model.source_xpos) > 10
        wave = model.wavelength[:, sky_columns]
        middle = np.abs(wave - 8.65) < 1.0
        removed = (data[:, sky_columns] - model.data[:, sky_columns])[middle]
        sky = dataset.truth.background_spectrum(wave[middle])
        assert np.nanmedian(removed / sky) == pytest.approx(1.0, rel=0.02)
        residual = model.data[:, sky_columns][middle]
        assert abs(np.nanmedian(residual)) < 0.02 * exposure.background
