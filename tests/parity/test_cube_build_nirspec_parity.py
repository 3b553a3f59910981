"""cube_build against jwst 3.0.0's CubeBuildStep on simulated NIRSpec IFU exposures.

The simulated ``_cal`` files are written to disk and read back by both pipelines, so the
WCS jwst and spec3nb read is the archive form (``coordinates -> detector`` identity, a
slice-map ``RegionsSelector`` to the slicer frame, per-slice bounding boxes) after its
ASDF round trip. Both get the same CUBEPAR file (spec3nb's built-in NIRSpec values
written in jwst's format, since jwst will not build a cube without one).

Compared per cube, with the issue's tolerances: SCI within a relative difference of 1e-4
at the median and 1e-2 at the 99th percentile (and the same NaN voxels), WMAP equal, DQ
equal on at least 99 % of the voxels; plus the cube names, shapes, FITS WCS keywords and
wavelength table. jwst's cubes recover the simulator's truth as spec3nb's do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from spec3nb.datamodels import read_product
from spec3nb.datamodels.ref_cubepar import load_cubepar
from spec3nb.simulate import simulate, write_dataset
from spec3nb.steps.cube_build import SPEC
from spec3nb.steps.cubepar_defaults import default_cubepar
from tests.steps.test_cube_build import _check_point_source

from .harness import run_jwst_step

CUBEPAR_NAME = "nirspec_ifu_cubepar.fits"
WCS_KEYS = ("crval1", "crval2", "crval3", "crpix1", "crpix2", "crpix3", "cdelt1", "cdelt2",
            "cdelt3", "ctype1", "ctype2", "ctype3")
#: The issue's tolerances.
MEDIAN_RTOL, P99_RTOL, DQ_EQUAL = 1e-4, 1e-2, 0.99
#: What the default cubes reach (measured ~5e-7: jwst clips drizzle footprints in single
#: precision); a regression check well inside the issue's tolerances.
MAX_RTOL = 1e-5


def _table(name: str, columns: dict[str, np.ndarray]) -> fits.BinTableHDU:
    cols = [fits.Column(name=key, format="12A" if np.asarray(value).dtype.kind in "US"
                        else "E", array=np.asarray(value)) for key, value in columns.items()]
    hdu = fits.BinTableHDU.from_columns(cols)
    hdu.header["EXTNAME"] = name
    return hdu


def write_nirspec_cubepar(path: Path) -> Path:
    """spec3nb's built-in NIRSpec cube parameters as a CUBEPAR file jwst reads."""
    pars = default_cubepar("NIRSPEC")
    keys = list(pars.bands)
    bands = [pars.bands[k] for k in keys]
    ident = {"DISPERSER": np.array([g.upper() for g, _ in keys]),
             "FILTER": np.array([f.upper() for _, f in keys])}
    hdus = [fits.PrimaryHDU(),
            _table("CUBEPAR", {**ident,
                               "WAVEMIN": [b.wavemin for b in bands],
                               "WAVEMAX": [b.wavemax for b in bands],
                               "SPAXELSIZE": [b.spaxelsize for b in bands],
                               "SPECTRALSTEP": [b.spectralstep for b in bands]}),
            _table("CUBEPAR_MSM", {**ident, **{name: [b.msm[i] for b in bands] for i, name in
                                               enumerate(("ROISPATIAL", "ROISPECTRAL",
                                                          "POWER", "SOFTRAD"))}}),
            _table("CUBEPAR_EMSM", {**ident, **{name: [b.emsm[i] for b in bands] for i, name
                                                in enumerate(("ROISPATIAL", "ROISPECTRAL",
                                                              "SCALERAD"))}})]
    columns = {"msm": ("WAVELENGTH", "ROISPATIAL", "ROISPECTRAL", "POWER", "SOFTRAD"),
               "emsm": ("WAVELENGTH", "ROISPATIAL", "ROISPECTRAL", "SCALERAD"),
               "driz": ("WAVELENGTH",)}
    for res in ("prism", "med", "high"):
        for kind, ext in (("msm", "MSM"), ("emsm", "EMSM"), ("driz", "DRIZZLE")):
            table = pars.tables[f"{res}_{kind}"]
            hdus.append(_table(f"MULTICHAN_{res.upper()}_{ext}",
                               {name: table[name.lower()] for name in columns[kind]}))
    hdus[0].header.update(REFTYPE="CUBEPAR", INSTRUME="NIRSPEC", DETECTOR="N/A",
                          EXP_TYPE="NRS_IFU", TELESCOP="JWST", PEDIGREE="DUMMY",
                          USEAFTER="2022-01-01T00:00:00", AUTHOR="spec3nb parity test",
                          DESCRIP="spec3nb built-in NIRSpec cube parameters")
    fits.HDUList(hdus).writeto(path)
    return path


@pytest.fixture(scope="module")
def nrs(tmp_path_factory):
    """The simulated files (on disk), spec3nb's reading of them, the truth and the cubepar."""
    folder = tmp_path_factory.mktemp("nrs_ifu")
    dataset = simulate("nrs_ifu", seed=21)
    write_dataset(dataset, folder)
    paths = [folder / p.filename for p in dataset.exposures]
    cubepar = write_nirspec_cubepar(folder / CUBEPAR_NAME)
    return paths, [read_product(p) for p in paths], dataset.truth, cubepar


def _run_both(nrs, nexp: int, **params):
    from jwst.cube_build import CubeBuildStep

    paths, products, _, cubepar = nrs
    theirs = run_jwst_step(CubeBuildStep, [str(p) for p in paths[:nexp]],
                           override_cubepar=str(cubepar), **params)
    ours = SPEC.run(products[:nexp], references={"cubepar": load_cubepar(cubepar)}, **params)
    assert len(ours.outputs) == len(theirs) == 1
    output, cube = ours.outputs[0], theirs[0]
    # jwst names the cube after the first input (no association); the band part is ours
    assert cube.filename.endswith("_" + output.suffix.removesuffix("_s3d"))
    assert output.product.get("cal_step.cube_build") == "COMPLETE"
    return output.product, cube


def _relative(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    a, b = ours.astype(np.float64), theirs.astype(np.float64)
    ok = np.isfinite(a) & np.isfinite(b) & (b != 0)
    return np.abs(a[ok] - b[ok]) / np.abs(b[ok])


def _compare(ours, theirs) -> dict[str, float]:
    """Assert the issue's tolerances (WMAP and empty voxels equal); return SCI statistics."""
    a, b = ours.part, theirs.part
    assert a.data.shape == b.data.shape
    for key in WCS_KEYS:
        mine, jwst = ours.get(f"wcsinfo.{key}"), theirs.get(f"wcsinfo.{key}")
        if isinstance(jwst, float):
            assert mine == pytest.approx(jwst, rel=1e-12, abs=1e-15), key
        else:
            assert mine == jwst, key
    np.testing.assert_array_equal(a.arrays["wavetable"]["wavelength"],
                                  b.arrays["wavetable"]["wavelength"])
    np.testing.assert_array_equal(np.isnan(a.data), np.isnan(b.data))
    assert np.isfinite(b.data).sum() > 0.02 * b.data.size  # a cube with something in it
    sci = _relative(a.data, b.data)
    stats = {"median": float(np.median(sci)), "p99": float(np.percentile(sci, 99)),
             "max": float(sci.max()), "err_max": float(_relative(a.err, b.err).max())}
    assert stats["median"] <= MEDIAN_RTOL and stats["p99"] <= P99_RTOL, stats
    np.testing.assert_array_equal(a.arrays["weightmap"], b.arrays["weightmap"])
    assert np.mean(a.dq == b.dq) >= DQ_EQUAL
    return stats


CASES = {
    "defaults (drizzle)": (4, {}),
    "emsm": (4, {"weighting": "emsm"}),
    "grating and filter selection, scalexy, wavelength range": (
        4, {"grating": "g395h", "filter": "f290lp", "scalexy": 0.15, "wavemin": 3.2,
            "wavemax": 3.8}),
    "msm with rois, roiw, weight_power": (
        2, {"weighting": "msm", "rois": 0.15, "roiw": 0.004, "weight_power": 1.5,
            "wavemin": 3.3, "wavemax": 3.6}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_sky_cubes_equal_jwst(nrs, jwst_offline, case):
    nexp, params = CASES[case]
    ours, theirs = _run_both(nrs, nexp, **params)
    stats = _compare(ours, theirs)
    assert stats["max"] < MAX_RTOL and stats["err_max"] < MAX_RTOL, stats
    if params.get("scalexy"):
        assert ours.get("wcsinfo.cdelt1") == pytest.approx(params["scalexy"] / 3600.0)
    if not params:
        # jwst's cube of the simulated files recovers the truth as spec3nb's does
        # (binned 16 columns per pixel: see test_nirspec_cube_against_the_truth)
        _check_point_source(theirs, nrs[2], block=14, pct=80)
        _check_point_source(ours, nrs[2], block=14, pct=80)


def test_internal_cal_cube_equals_jwst(nrs, jwst_offline):
    ours, theirs = _run_both(nrs, 1, coord_system="internal_cal")
    assert ours.get("wcsinfo.ctype1") == theirs.get("wcsinfo.ctype1") == "NRSSLICERX"
    assert ours.part.data.shape[2] == 30  # one column per slice, in jwst's slice order
    stats = _compare(ours, theirs)
    assert stats["max"] < MAX_RTOL and stats["err_max"] < MAX_RTOL, stats


def test_ifualign_cube_within_the_tolerances(nrs, jwst_offline):
    """ifualign: the same rotation as jwst's and the cube within the issue's tolerances.

    jwst measures the slicer's direction with a 0.005 step along the slice whatever the
    frame's unit; spec3nb takes the same step, so the two grids coincide.
    """
    ours, theirs = _run_both(nrs, 2, coord_system="ifualign", wavemin=3.3, wavemax=3.6)
    for key in ("pc1_1", "pc1_2", "pc2_1", "pc2_2"):
        assert ours.get(f"wcsinfo.{key}") == pytest.approx(theirs.get(f"wcsinfo.{key}"),
                                                           abs=1e-12), key
    assert abs(ours.get("wcsinfo.pc1_2")) > 0.1  # a rotated cube
    _compare(ours, theirs)
