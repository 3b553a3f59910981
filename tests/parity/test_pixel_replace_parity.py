"""pixel_replace against jwst 3.0.0's PixelReplaceStep on the same inputs.

Simulated MIRI LRS exposures, NIRSpec FS and MOS sources (exp_to_source containers) and
MIRI MRS IFU images, with extra bad pixels injected (NaN + DO_NOT_USE, pairs of adjacent
NaNs, DO_NOT_USE on finite values, NaN without a flag, pixels already FLUX_ESTIMATED),
both algorithms and ``n_adjacent_cols`` 3 and 5: SCI/ERR/VAR_* must agree exactly (the
same float operations), with identical NaN patterns and DQ.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from spec3nb.datamodels import from_datamodel, to_datamodel
from spec3nb.datamodels.dq import DO_NOT_USE, FLUX_ESTIMATED
from spec3nb.steps.exp_to_source import group_by_source
from spec3nb.steps.pixel_replace import pixel_replace

from .harness import assert_arrays_match, assert_dq_match, offline_jwst, run_jwst_step

ARRAYS = ("data", "err", "var_poisson", "var_rnoise", "var_flat")
PARAMS = {
    "defaults": {},
    "fit_profile": {"algorithm": "fit_profile"},
    "fit_profile, 5 columns": {"algorithm": "fit_profile", "n_adjacent_cols": 5},
    "fit_profile, 1 column": {"algorithm": "fit_profile", "n_adjacent_cols": 1},
    "mingrad, 5 columns": {"n_adjacent_cols": 5},
}


def damage(part, seed: int, count: int = 25):
    """`part` with extra bad pixels of every kind the step distinguishes."""
    rng = np.random.default_rng(seed)
    arrays = {k: np.array(part.arrays[k]) for k in ("data", "err", "dq")}
    data, dq = arrays["data"], arrays["dq"]
    ny, nx = data.shape
    inner = np.nonzero(np.isfinite(data[2:-2, 2:-2]))
    pick = rng.choice(len(inner[0]), size=min(4 * count, len(inner[0])), replace=False)
    ys, xs = inner[0][pick] + 2, inner[1][pick] + 2
    groups = np.array_split(np.arange(len(ys)), 4)
    nan_dnu, pairs, dnu_only, odd = (g for g in groups)
    data[ys[nan_dnu], xs[nan_dnu]] = np.nan
    dq[ys[nan_dnu], xs[nan_dnu]] |= DO_NOT_USE
    # Adjacent bad pixels: the neighbour along x is bad too.
    data[ys[pairs], xs[pairs]] = np.nan
    data[ys[pairs], np.minimum(xs[pairs] + 1, nx - 1)] = np.nan
    dq[ys[pairs], xs[pairs]] |= DO_NOT_USE
    dq[ys[pairs], np.minimum(xs[pairs] + 1, nx - 1)] |= DO_NOT_USE
    dq[ys[dnu_only], xs[dnu_only]] |= DO_NOT_USE  # flagged, value kept
    half = len(odd) // 2
    data[ys[odd[:half]], xs[odd[:half]]] = np.nan  # NaN without a flag
    dq[ys[odd[half:]], xs[odd[half:]]] |= FLUX_ESTIMATED | DO_NOT_USE
    data[ys[odd[half:]], xs[odd[half:]]] = np.nan
    # Bad pixels on the edge rows/columns the step never touches.
    data[[0, 1, ny - 1], [3, 4, 5]] = np.nan
    dq[[0, 1, ny - 1], [3, 4, 5]] |= DO_NOT_USE
    return part.evolve(arrays=arrays)


@pytest.fixture(scope="module")
def simulated() -> dict:
    from spec3nb.simulate import simulate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lrs = [p.evolve(parts=[damage(p.part, 10 + k)])
               for k, p in enumerate(simulate("mir_lrs", seed=1).exposures)]
        fs_exposures = list(simulate("nrs_fs", seed=2).exposures)
        fs = next(iter(group_by_source(fs_exposures).values()))
        mos = next(iter(group_by_source(list(simulate("nrs_mos", seed=2).exposures)).values()))
        mrs = list(simulate("mir_mrs", seed=3).exposures)[:2]
    fs = fs.evolve(parts=[damage(p, 20 + k, 12) for k, p in enumerate(fs.parts)])
    mos = mos.evolve(parts=[damage(p, 30 + k, 6) for k, p in enumerate(mos.parts)])
    mrs = [p.evolve(parts=[damage(p.part, 40 + k, 150)]) for k, p in enumerate(mrs)]
    multislit = [e.evolve(parts=[damage(p, 50 + 7 * k + j, 10) for j, p in enumerate(e.parts)])
                 for k, e in enumerate(fs_exposures[:2])]
    return {"lrs": lrs, "fs": [fs], "mos": [mos], "mrs": mrs, "fs exposures": multislit}


def _jwst_parts(inputs, params) -> list:
    from jwst.datamodels import SourceModelContainer
    from jwst.pixel_replace import PixelReplaceStep

    params = {"skip": False, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if inputs[0].model_type != "MultiExposureModel":
            result = run_jwst_step(PixelReplaceStep, inputs, **params)
            return ([part for p in result for part in p.parts],
                    [p.get("cal_step.pixel_replace") for p in result])
        with offline_jwst():
            result = PixelReplaceStep(**params).run(SourceModelContainer(to_datamodel(inputs[0])))
            products = [from_datamodel(m) for m in result]
    return [p.part for p in products], [p.get("cal_step.pixel_replace") for p in products]


def _assert_same(inputs, params) -> int:
    result = pixel_replace(inputs, **params)
    assert result.status == "COMPLETE"
    if inputs[0].model_type == "MultiExposureModel":
        ours = list(result.products[0].parts)
        statuses = [p.meta["cal_step"]["pixel_replace"] for p in ours]
    else:
        ours = [part for p in result.products for part in p.parts]
        statuses = [p.get("cal_step.pixel_replace") for p in result.products]
    theirs, their_status = _jwst_parts(inputs, params)
    assert statuses == their_status
    assert set(statuses) == {"COMPLETE"}
    assert len(ours) == len(theirs)
    replaced = 0
    for k, (po, pt) in enumerate(zip(ours, theirs, strict=True)):
        assert_dq_match(po.dq, pt.dq, name=f"part {k} dq")
        for name in ARRAYS:
            assert_arrays_match(po.arrays[name], pt.arrays[name], rtol=0,
                                name=f"part {k} {name}")
        replaced += int(np.count_nonzero(po.dq & FLUX_ESTIMATED))
    return replaced


@pytest.mark.parametrize("params", sorted(PARAMS))
@pytest.mark.parametrize("case", ["lrs", "fs", "mos", "mrs", "fs exposures"])
def test_simulated(case: str, params: str, simulated, jwst_offline) -> None:
    inputs = simulated[case]
    before = sum(int(np.count_nonzero(part.dq & FLUX_ESTIMATED))
                 for p in inputs for part in p.parts)
    assert _assert_same(inputs, PARAMS[params]) > before
