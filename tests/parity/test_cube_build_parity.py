"""cube_build against jwst 3.0.0's CubeBuildStep on the simulated MIRI MRS exposures.

Same inputs, same cubepar file; for the default (drizzle), emsm and msm weighting, skyalign,
ifualign and a position angle, band / channel / multi cubes and user spaxel and wavelength
settings: same cube names, shapes, WCS keywords and wavelength table, WMAP equal, DQ equal,
SCI and ERR within 1e-6 relative (drizzle: jwst clips footprints with a single-precision
slope, spec3nb computes exact overlaps; the two agree to ~1e-7), and the same blended
metadata (CHANNEL, BAND = MULTIPLE for a cube of several bands, exposure times) and the
same HDRTAB table.
"""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.datamodels.ref_cubepar import load_cubepar
from spec3nb.simulate import simulate
from spec3nb.simulate.ifu_miri import CUBEPAR_NAME
from spec3nb.steps.cube_build import SPEC

from .harness import (
    assert_arrays_match,
    assert_blended_like_jwst,
    assert_dq_match,
    run_jwst_step,
)

#: Metadata jwst sets on the cube (CHANNEL) or blends over its exposures (the others).
META_KEYS = ("instrument.channel", "instrument.band", "instrument.grating",
             "instrument.filter", "instrument.detector", "exposure.start_time",
             "exposure.mid_time", "exposure.end_time", "exposure.exposure_time",
             "exposure.effective_exposure_time", "observation.date")
WCS_KEYS = ("crval1", "crval2", "crval3", "crpix1", "crpix2", "crpix3", "cdelt1", "cdelt2",
            "cdelt3", "ctype3", "pc1_1", "pc1_2", "pc2_1", "pc2_2")


@pytest.fixture(scope="module")
def mrs(tmp_path_factory):
    dataset = simulate("mir_mrs", seed=21)
    path = tmp_path_factory.mktemp("cubepar") / CUBEPAR_NAME
    path.write_bytes(dataset.references[CUBEPAR_NAME])
    return dataset.exposures, path


def _as_medium(exposures):
    """The exposures again, labelled as MEDIUM-band ones (same pixels, other names)."""
    return [p.evolve(meta={"instrument.band": "MEDIUM", "filename": p.filename.replace(
        "_mirifushort", "_medium_mirifushort")}) for p in exposures]


def _compare_meta(ours, theirs) -> None:
    for key in META_KEYS:
        mine, jwst = ours.get(key), theirs.get(key)
        if isinstance(jwst, float):
            assert mine == pytest.approx(jwst, rel=1e-12), key
        else:
            assert mine == jwst, key


def _compare(ours, theirs) -> dict[str, float]:
    """Assert one cube matches jwst's; return the largest relative SCI/ERR differences."""
    a, b = ours.part, theirs.part
    assert a.data.shape == b.data.shape
    _compare_meta(ours, theirs)
    assert_blended_like_jwst(ours, theirs, "IFUImageModel")
    for key in WCS_KEYS:
        mine, jwst = ours.get(f"wcsinfo.{key}"), theirs.get(f"wcsinfo.{key}")
        if isinstance(jwst, float):
            assert mine == pytest.approx(jwst, rel=1e-12, abs=1e-12), key
        else:
            assert mine == jwst, key
    assert ours.get("wcsinfo.s_region") == theirs.get("wcsinfo.s_region")
    for key in ("weighting", "roi_spatial", "roi_wave", "weight_power"):
        assert ours.get(f"ifu.{key}") == pytest.approx(theirs.get(f"ifu.{key}")), key
    np.testing.assert_array_equal(a.arrays["wavetable"]["wavelength"],
                                  b.arrays["wavetable"]["wavelength"])
    assert_arrays_match(a.arrays["weightmap"], b.arrays["weightmap"], rtol=0, name="WMAP")
    assert_dq_match(a.dq, b.dq, name="DQ")
    worst = {}
    for key in ("data", "err"):
        assert_arrays_match(a.arrays[key], b.arrays[key], rtol=1e-6, name=key)
        x, y = a.arrays[key].astype(float), b.arrays[key].astype(float)
        ok = np.isfinite(y) & (y != 0)
        worst[key] = float(np.max(np.abs(x[ok] - y[ok]) / np.abs(y[ok]), initial=0.0))
    # the WCS objects agree too (pixel -> world)
    z = np.arange(a.data.shape[0], dtype=float)
    x, y = np.full(z.size, 3.0), np.full(z.size, 5.0)
    np.testing.assert_allclose(np.array(ours.part.wcs(x, y, z)),
                               np.array(theirs.part.wcs(x, y, z)), rtol=1e-12)
    return worst


CASES = [
    {},
    {"weighting": "emsm"},
    {"weighting": "msm", "cube_pa": 30.0},
    {"coord_system": "ifualign"},
    {"output_type": "channel", "weighting": "emsm"},
    {"output_type": "multi"},
    {"scalexy": 0.2, "scalew": 0.02, "weighting": "emsm"},
    {"wavemin": 5.0, "wavemax": 5.5, "channel": "1"},
    {"weighting": "msm", "rois": 0.3, "roiw": 0.03, "weight_power": 1.5},
]


@pytest.mark.parametrize("params", CASES, ids=lambda p: ",".join(f"{k}={v}" for k, v in
                                                                  p.items()) or "defaults")
def test_cubes_equal_jwst(mrs, jwst_offline, params):
    from jwst.cube_build import CubeBuildStep

    exposures, cubepar = mrs
    theirs = run_jwst_step(CubeBuildStep, list(exposures), override_cubepar=str(cubepar),
                           **params)
    ours = SPEC.run(exposures, references={"cubepar": load_cubepar(cubepar)}, **params)
    # jwst names cubes after the first input here (no association); compare by band suffix
    by_suffix = {c.filename.split("mirifushort_")[1]: c for c in theirs}
    assert sorted(o.suffix for o in ours.outputs) == sorted(f"{k}_s3d" for k in by_suffix)
    for output in ours.outputs:
        cube = by_suffix[output.suffix.removesuffix("_s3d")]
        worst = _compare(output.product, cube)
        assert worst["data"] < 1e-6 and worst["err"] < 1e-6
        assert output.product.get("cal_step.cube_build") == "COMPLETE"


@pytest.mark.parametrize("output_type", ["multi", "channel"])
def test_cubes_of_several_bands_have_jwst_metadata(mrs, jwst_offline, output_type):
    """SHORT and MEDIUM exposures in one cube: BAND = MULTIPLE, CHANNEL the channels."""
    from jwst.cube_build import CubeBuildStep

    exposures, cubepar = mrs
    mixed = list(exposures) + _as_medium(exposures)
    # one linear wavelength step for the two bands (their cubepar steps differ)
    params = {"output_type": output_type, "weighting": "emsm", "scalew": 0.002}
    theirs = run_jwst_step(CubeBuildStep, mixed, override_cubepar=str(cubepar), **params)
    ours = SPEC.run(mixed, references={"cubepar": load_cubepar(cubepar)}, **params)
    assert len(ours.outputs) == len(theirs) == (1 if output_type == "multi" else 2)
    by_channel = {c.get("instrument.channel"): c for c in theirs}
    for output in ours.outputs:
        cube = output.product
        assert cube.get("instrument.band") == "MULTIPLE"
        _compare_meta(cube, by_channel[cube.get("instrument.channel")])
    assert {o.product.get("instrument.channel") for o in ours.outputs} == \
        ({"12"} if output_type == "multi" else {"1", "2"})


def test_internal_cal_is_refused_for_miri_by_both(mrs, jwst_offline):
    from jwst.cube_build import CubeBuildStep

    from spec3nb.errors import ParameterError

    exposures, cubepar = mrs
    with pytest.raises(ValueError, match="not supported for MIRI"):
        run_jwst_step(CubeBuildStep, list(exposures), override_cubepar=str(cubepar),
                      coord_system="internal_cal")
    with pytest.raises(ParameterError, match="not valid for MIRI"):
        SPEC.run(exposures, references={"cubepar": load_cubepar(cubepar)},
                 coord_system="internal_cal")
