"""resample_spec against jwst 3.0.0's ResampleSpecStep on the same exposures.

MIRI LRS (factory slits with and without a nod, and the simulator's nodded pair) and
NIRSpec FS/MOS source products (factory and simulated, through exp_to_source), for the
defaults and several non-default parameter sets. The output WCS must give the same world
coordinates at every pixel; SCI/ERR/WHT/VAR_*/WAVELENGTH within 1e-5 relative at the median
and 1e-3 at the 99th percentile (they agree far better), identical NaN patterns.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from spec3nb.datamodels import from_datamodel, to_datamodel
from spec3nb.datamodels import meta as metatools
from spec3nb.datamodels.grids import read_output_grid
from spec3nb.steps.exp_to_source import group_by_source
from spec3nb.steps.resample_spec import resample_spec
from tests.factories import RA0, direct_slit_wcs, make_multislit, make_slit_model

from .harness import (
    assert_arrays_match,
    assert_blended_like_jwst,
    offline_jwst,
    run_jwst_step,
)

ARRAYS = ("data", "err", "wht", "con", "var_rnoise", "var_poisson", "var_flat", "wavelength")
PARAMS = {
    "defaults": {},
    "pixfrac 0.5, point kernel": {"pixfrac": 0.5, "kernel": "point"},
    "exptime weights": {"weight_type": "exptime"},
    "pixel_scale_ratio 0.8": {"pixel_scale_ratio": 0.8},
    "pixel_scale 0.2": {"pixel_scale": 0.2},
    "output_shape (ignored without output_wcs)": {"output_shape": [30, 70]},
    "propagate_dq": {"propagate_dq": True},
}


def _lrs_factory(nod: float) -> list:
    products = []
    for k in range(2):
        p = make_slit_model(seed=k + 1, **{
            "observation.exposure_number": f"{k + 1:05d}",
            "filename": f"jw01234001001_03101_{k + 1:05d}_mirimage_cal.fits"})
        if nod:
            wcs = direct_slit_wcs((60, 24), dispaxis=2, ra=RA0 + nod * k / 3600.0)
            p = p.evolve(parts=[p.part.evolve(wcs=wcs)])
        products.append(p)
    return products


@pytest.fixture(scope="module")
def simulated() -> dict:
    from spec3nb.simulate import simulate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lrs = list(simulate("mir_lrs", seed=1).exposures)
        fs = group_by_source(list(simulate("nrs_fs", seed=2).exposures))
        mos = group_by_source(list(simulate("nrs_mos", seed=2).exposures))
    return {"lrs": lrs, "fs": next(iter(fs.values())), "mos": next(iter(mos.values()))}


def _factory_source():
    exposures = [make_multislit("NRS_FIXEDSLIT", 2, seed=3 + k, **{
        "observation.exposure_number": f"{k + 1:05d}"}) for k in range(2)]
    return next(iter(group_by_source(exposures).values()))


def _run_jwst(inputs, params):
    from jwst.datamodels import SourceModelContainer
    from jwst.resample import ResampleSpecStep

    if inputs[0].model_type != "MultiExposureModel":
        return run_jwst_step(ResampleSpecStep, inputs, **params)
    with warnings.catch_warnings(), offline_jwst():
        warnings.simplefilter("ignore")
        result = ResampleSpecStep(**params).run(SourceModelContainer(to_datamodel(inputs[0])))
    return from_datamodel(result)


def _assert_same(ours, theirs) -> None:
    po, pt = ours.part, theirs.part
    assert po.data.shape == pt.data.shape
    y, x = np.indices(pt.data.shape, dtype=float)
    assert_arrays_match(np.array(po.wcs(x, y)), np.array(pt.wcs(x, y)), rtol=1e-12,
                        name="world coordinates")
    names = [n for n in ARRAYS + ("dq",) if n in pt.arrays]
    assert set(names) <= set(po.arrays)
    for name in names:
        a, b = po.arrays[name].astype(float), pt.arrays[name].astype(float)
        assert_arrays_match(a, b, rtol=1e-3, name=name)  # also: identical NaN patterns
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.abs(a - b) / np.abs(b)
        rel = rel[np.isfinite(rel)]
        if rel.size:
            assert np.median(rel) <= 1e-5 and np.percentile(rel, 99) <= 1e-3, name
    for key in ("name", "source_id", "source_type", "source_xpos", "source_ypos"):
        assert po.attrs.get(key) == pytest.approx(pt.attrs.get(key)), key
    for path in ("wcsinfo.s_region", "wcsinfo.dispersion_direction", "resample.pointings",
                 "resample.pixel_scale_ratio", "resample.pixfrac", "resample.weight_type",
                 "resample.kernel", "exposure.exposure_time", "exposure.start_time",
                 "exposure.end_time", "exposure.duration", "bunit_data",
                 "photometry.pixelarea_steradians", "photometry.pixelarea_arcsecsq",
                 "cal_step.resample"):
        assert ours.get(path) == pytest.approx(theirs.get(path)), path
    if theirs.get("wcsinfo.spectral_region") is not None:
        assert list(ours.get("wcsinfo.spectral_region")) == pytest.approx(
            list(theirs.get("wcsinfo.spectral_region")))


@pytest.mark.parametrize("params", sorted(PARAMS))
def test_lrs_factory_nodded(params: str, jwst_offline) -> None:
    inputs = _lrs_factory(nod=0.7)
    _assert_same(resample_spec(inputs, **PARAMS[params]).products[0],
                 _run_jwst(inputs, PARAMS[params]))


@pytest.mark.parametrize("params", ["defaults", "pixel_scale_ratio 0.8"])
def test_lrs_factory_stare(params: str, jwst_offline) -> None:
    inputs = _lrs_factory(nod=0.0)
    _assert_same(resample_spec(inputs, **PARAMS[params]).products[0],
                 _run_jwst(inputs, PARAMS[params]))


@pytest.mark.parametrize("params", ["defaults", "pixfrac 0.5, point kernel",
                                    "exptime weights", "pixel_scale_ratio 0.8"])
@pytest.mark.parametrize("case", ["lrs", "fs", "mos"])
def test_simulated(case: str, params: str, simulated, jwst_offline) -> None:
    inputs = simulated[case] if case == "lrs" else [simulated[case]]
    _assert_same(resample_spec(inputs, **PARAMS[params]).products[0],
                 _run_jwst(inputs, PARAMS[params]))


@pytest.mark.parametrize("case", ["lrs", "fs", "mos"])
def test_blended_headers_and_hdrtab(case: str, simulated, jwst_offline) -> None:
    inputs = simulated[case] if case == "lrs" else [simulated[case]]
    ours = resample_spec(inputs).products[0]
    assert_blended_like_jwst(ours, _run_jwst(inputs, {}), "SlitModel")
    # The blend did something: the mid time is the mean over the exposures, not the first's.
    exposures = inputs if case == "lrs" else inputs[0].parts
    mids = [metatools.get(e.meta, "exposure.mid_time") for e in exposures]
    assert len(set(mids)) > 1
    assert ours.get("exposure.mid_time") == pytest.approx(np.mean(mids), rel=1e-12)


@pytest.mark.parametrize("params", ["defaults", "pixel_scale_ratio 0.8", "propagate_dq"])
def test_nirspec_factory_source(params: str, jwst_offline) -> None:
    source = _factory_source()
    _assert_same(resample_spec([source], **PARAMS[params]).products[0],
                 _run_jwst([source], PARAMS[params]))


@pytest.mark.parametrize("extra", [{}, {"output_shape": [30, 60]}, {"pixel_scale": 0.15}])
def test_user_output_wcs(extra: dict, tmp_path, jwst_offline) -> None:
    import asdf

    inputs = _lrs_factory(nod=0.7)
    grid = resample_spec(inputs, pixel_scale_ratio=0.9).products[0].part.wcs
    path = tmp_path / "grid.asdf"
    tree = {"wcs": grid, **({"pixel_scale": extra["pixel_scale"]} if "pixel_scale" in extra
                            else {})}
    asdf.AsdfFile(tree).write_to(path)
    params = {"output_wcs": str(path),
              **({"output_shape": extra["output_shape"]} if "output_shape" in extra else {})}
    ours = resample_spec(inputs, **{**params, "output_wcs": read_output_grid(path)}).products[0]
    theirs = _run_jwst(inputs, params)
    if "output_shape" in extra:
        assert ours.part.data.shape == tuple(extra["output_shape"][::-1])
    _assert_same(ours, theirs)
