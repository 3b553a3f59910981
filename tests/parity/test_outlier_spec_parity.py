"""outlier_detection (spec mode) against jwst 3.0.0's OutlierDetectionStep.

Same inputs (the simulator's MIRI LRS nod pair and NIRSpec FS/MOS sources, and factory
exposures with injected cosmic rays), defaults and non-default parameter sets: the same
pixels flagged, DQ identical, identical NaN patterns and values of SCI/ERR/VAR_*.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from spec3nb.datamodels import from_datamodel, to_datamodel
from spec3nb.simulate.noise import add_cosmic_rays
from spec3nb.steps.exp_to_source import group_by_source
from spec3nb.steps.outlier_spec import outlier_detection
from tests.factories import make_multislit, make_slit_model

from .harness import assert_arrays_match, assert_dq_match, offline_jwst, run_jwst_step

PARAMS = {
    "defaults": {},
    "snr 4 3, scale 0.8 0.6": {"snr": "4.0 3.0", "scale": "0.8 0.6"},
    "no resampling": {"resample_data": False},
    "maskpt 0.3, pixfrac 0.5, point": {"maskpt": 0.3, "pixfrac": 0.5, "kernel": "point"},
    "exptime weights": {"weight_type": "exptime"},
    "backg 0.5, turbo": {"backg": 0.5, "kernel": "turbo"},
    "good_bits all": {"good_bits": "0"},
}


def _ours(params: dict) -> dict:
    typed = dict(params)
    for key in ("snr", "scale"):
        if key in typed:
            typed[key] = tuple(float(v) for v in typed[key].split())
    return typed


def _crs(part, rng, count=20):
    arrays = {k: np.array(part.arrays[k]) for k in ("data", "err", "dq")}
    add_cosmic_rays(rng, arrays, count)
    return part.evolve(arrays=arrays)


@pytest.fixture(scope="module")
def simulated() -> dict:
    from spec3nb.simulate import simulate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lrs = list(simulate("mir_lrs", seed=1).exposures)
        fs = group_by_source(list(simulate("nrs_fs", seed=2).exposures))
        mos = group_by_source(list(simulate("nrs_mos", seed=2).exposures))
    return {"lrs": lrs, "fs": next(iter(fs.values())), "mos": next(iter(mos.values()))}


def _factory_lrs() -> list:
    rng = np.random.default_rng(5)
    products = []
    for k in range(3):
        p = make_slit_model((70, 26), seed=k, **{
            "observation.exposure_number": f"{k + 1:05d}",
            "filename": f"jw01234001001_03101_{k + 1:05d}_mirimage_cal.fits"})
        products.append(p.evolve(parts=[_crs(p.part, rng)]))
    return products


def _factory_source():
    rng = np.random.default_rng(6)
    exposures = [make_multislit("NRS_MSASPEC", 2, (14, 80), seed=k, **{
        "observation.exposure_number": f"{k + 1:05d}",
        "filename": f"jw01234001001_03101_{k + 1:05d}_nrs1_cal.fits"}) for k in range(3)]
    source = next(iter(group_by_source(exposures).values()))
    return source.evolve(parts=[_crs(p, rng, 10) for p in source.parts])


def _jwst_parts(inputs, params) -> list:
    from jwst.datamodels import SourceModelContainer
    from jwst.outlier_detection import OutlierDetectionStep

    if inputs[0].model_type != "MultiExposureModel":
        return [p.part for p in run_jwst_step(OutlierDetectionStep, inputs, **params)]
    with warnings.catch_warnings(), offline_jwst():
        warnings.simplefilter("ignore")
        result = OutlierDetectionStep(**params).run(SourceModelContainer(to_datamodel(inputs[0])))
    return [from_datamodel(m).part for m in result]


def _assert_same(inputs, params) -> int:
    result = outlier_detection(inputs, **_ours(params))
    ours = ([p.part for p in result.products] if inputs[0].model_type != "MultiExposureModel"
            else list(result.products[0].parts))
    theirs = _jwst_parts(inputs, params)
    assert len(ours) == len(theirs)
    flagged = 0
    for k, (po, pt) in enumerate(zip(ours, theirs, strict=True)):
        assert_dq_match(po.dq, pt.dq, name=f"exposure {k} dq")
        for name in ("data", "err", "var_rnoise", "var_poisson", "var_flat"):
            assert_arrays_match(po.arrays[name], pt.arrays[name], rtol=0,
                                name=f"exposure {k} {name}")
        flagged += int(np.count_nonzero(po.dq & 16))
    return flagged


@pytest.mark.parametrize("params", sorted(PARAMS))
def test_simulated_lrs(params: str, simulated, jwst_offline) -> None:
    flagged = _assert_same(simulated["lrs"], PARAMS[params])
    assert flagged > 0


@pytest.mark.parametrize("params", ["defaults", "snr 4 3, scale 0.8 0.6", "no resampling",
                                    "maskpt 0.3, pixfrac 0.5, point"])
@pytest.mark.parametrize("case", ["fs", "mos"])
def test_simulated_nirspec_sources(case: str, params: str, simulated, jwst_offline) -> None:
    _assert_same([simulated[case]], PARAMS[params])


@pytest.mark.parametrize("params", ["defaults", "snr 4 3, scale 0.8 0.6", "no resampling"])
def test_factory_lrs_with_cosmic_rays(params: str, jwst_offline) -> None:
    assert _assert_same(_factory_lrs(), PARAMS[params]) >= 50


@pytest.mark.parametrize("params", ["defaults", "exptime weights"])
def test_factory_nirspec_source_with_cosmic_rays(params: str, jwst_offline) -> None:
    assert _assert_same([_factory_source()], PARAMS[params]) >= 25
