"""jwst 3.0.0 accepts the simulated IFU files: outlier_detection, cube_build, extract_1d.

Facts these tests pin down:

* jwst's IFU outlier detection (reference 3.5.2) flags pixels that differ from their
  neighbours in *every* exposure of a detector (the minimum over exposures); a cosmic ray that
  hits one exposure is not flagged. The simulator's truth lists both kinds: the persistent
  outliers (warm pixels missing from the mask) are the rows common to all exposures of a
  detector, and jwst flags them; the one-exposure hits it mostly leaves alone.
* cube_build runs on the simulated MRS files with the simulator's cubepar file and conserves
  the point source's flux; extract_1d (with a small EXTRACT1D IFU reference written here,
  apcorr and psf 'N/A') recovers the true spectrum.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from spec3nb.simulate import read_truth, simulate, write_dataset
from spec3nb.simulate.ifu_miri import CUBEPAR_NAME


@pytest.fixture(autouse=True)
def _quiet_jwst():
    logging.getLogger("jwst").setLevel(logging.ERROR)
    logging.getLogger("stpipe").setLevel(logging.ERROR)
    yield


@pytest.fixture(scope="module")
def mrs_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("mrs")
    write_dataset(simulate("mir_mrs", seed=21), folder)
    return folder


def _persistent(outliers: list[np.ndarray]) -> set[tuple[int, int]]:
    sets = [{(int(y), int(x)) for _, y, x in rows} for rows in outliers]
    return set.intersection(*sets)


@pytest.mark.parametrize("mode", ["mir_mrs", "nrs_ifu"])
def test_outlier_detection_ifu_mode(tmp_path, jwst_offline, mode):
    from jwst.outlier_detection import OutlierDetectionStep

    asn = write_dataset(simulate(mode, seed=22), tmp_path)
    truth = read_truth(tmp_path)
    result = OutlierDetectionStep().run(str(asn))
    persistent = _persistent([e.outliers for e in truth.exposures])
    assert len(persistent) >= 4
    transient_hits, transient_total = 0, 0
    for model, exposure in zip(result, truth.exposures, strict=True):
        assert model.meta.cal_step.outlier_detection == "COMPLETE"
        flagged = (model.dq & 16) > 0
        assert np.all(np.isnan(model.data[flagged]))
        hits = [flagged[y, x] for y, x in persistent]
        assert np.mean(hits) >= 0.75
        transient = [(y, x) for _, y, x in exposure.outliers if (y, x) not in persistent]
        transient_hits += sum(bool(flagged[y, x]) for y, x in transient)
        transient_total += len(transient)
        # only a small fraction of the detector is flagged (threshold_percent = 99.8)
        assert flagged.sum() < 0.01 * flagged.size
    assert transient_total > 20
    assert transient_hits / transient_total < 0.5  # one-exposure hits are not what it flags


def _extract1d_reference(path: Path) -> Path:
    from stdatamodels.jwst import datamodels

    model = datamodels.Extract1dIFUModel()
    n = 20
    columns = {"wavelength": np.linspace(4.0, 30.0, n), "radius": np.full(n, 1.5),
               "inner_bkg": np.full(n, 2.0), "outer_bkg": np.full(n, 2.5),
               "axis_ratio": np.ones(n), "axis_pa": np.zeros(n)}
    for key, value in columns.items():
        setattr(model.data, key, value.astype(np.float32))
    model.meta.subtract_background = False
    model.meta.method = "exact"
    model.meta.subpixels = 10
    model.meta.exposure.type = "MIR_MRS"
    model.meta.instrument.name = "MIRI"
    model.meta.reftype = "EXTRACT1D"
    model.meta.description = model.meta.author = "spec3nb parity test"
    model.meta.pedigree = "DUMMY"
    model.meta.useafter = "2022-01-01T00:00:00"
    model.save(str(path), all_array_storage="inline")  # read after the file is closed
    return path


def _sky_scale(truth) -> float:
    spectrum = truth.background_spectrum
    mid = 0.5 * (spectrum.wavelength[0] + spectrum.wavelength[-1])
    return float(np.mean([e.background for e in truth.exposures]) / spectrum(mid))


def test_cube_build_and_extract_1d_recover_the_truth(mrs_folder, jwst_offline):
    from jwst.cube_build import CubeBuildStep
    from jwst.extract_1d import Extract1dStep

    truth = read_truth(mrs_folder)
    source, sky = truth.sources[0].spectrum, truth.background_spectrum
    scale = _sky_scale(truth)
    asn = next(mrs_folder.glob("*_asn.json"))
    cubes = CubeBuildStep(override_cubepar=str(mrs_folder / CUBEPAR_NAME)).run(str(asn))
    names = sorted(cube.meta.filename for cube in cubes)
    assert names == ["jw01234-o001_t001_miri_ch1-short", "jw01234-o001_t001_miri_ch2-short"]
    reference = _extract1d_reference(mrs_folder / "extract1d_ifu.asdf")
    for cube in cubes:
        assert cube.meta.cal_step.cube_build == "COMPLETE"
        nwave = cube.data.shape[0]
        wave = cube.meta.wcs(0, 0, np.arange(nwave))[2]
        area = cube.meta.photometry.pixelarea_steradians
        net = cube.data - sky(wave)[:, None, None] * scale
        flux = np.nansum(net, axis=(1, 2)) * area * 1e9  # mJy
        ratio = flux / source(wave)
        assert abs(np.nanmedian(ratio) - 1.0) < 0.02
        assert np.nanpercentile(np.abs(ratio - 1.0), 80) < 0.03

        x1d = Extract1dStep(override_extract1d=str(reference), override_apcorr="N/A",
                            override_psf="N/A", ifu_rfcorr=False).run(cube)
        table = x1d.spec[0].spec_table
        wl = np.asarray(table["WAVELENGTH"])
        background = sky(wl) * scale * table["NPIXELS"] * area * 1e9
        net = np.asarray(table["FLUX"]) * 1e3 - background  # Jy -> mJy
        with np.errstate(invalid="ignore", divide="ignore"):
            snr = np.asarray(table["FLUX"] / table["FLUX_ERROR"])
        good = np.isfinite(net) & (snr > 50)
        assert good.sum() > 0.8 * wl.size
        ratio = net[good] / source(wl[good])
        assert abs(np.median(ratio) - 1.0) < 0.02
        assert np.percentile(np.abs(ratio - 1.0), 90) < 0.05
