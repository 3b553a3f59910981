"""mrs_imatch: background differences between MRS exposures against the truth."""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.datamodels.ref_cubepar import load_cubepar
from spec3nb.errors import ParameterError
from spec3nb.simulate import simulate
from spec3nb.simulate.ifu_miri import CUBEPAR_NAME
from spec3nb.steps import cube_build
from spec3nb.steps.mrs_imatch import SPEC, fit_offsets, mrs_imatch


@pytest.fixture(scope="module")
def mrs(tmp_path_factory):
    dataset = simulate("mir_mrs", seed=21)
    path = tmp_path_factory.mktemp("cp") / CUBEPAR_NAME
    path.write_bytes(dataset.references[CUBEPAR_NAME])
    return dataset, {"cubepar": load_cubepar(path)}


def _expected(dataset, refpoint):
    levels = np.array([e.background for e in dataset.truth.exposures])
    sky = dataset.truth.background_spectrum
    return (levels - levels.mean()) / 3.0 * sky(refpoint[2])  # sky spectrum scales with level


def test_fitted_offsets_match_the_truth(mrs):
    dataset, refs = mrs
    result = SPEC.run(dataset.exposures, references=refs)
    assert result.status == "COMPLETE"
    for channel in "12":
        infos = [next(p for p in o.product.get("background.polynomial_info")
                      if p["channel"] == channel) for o in result.outputs]
        assert all(list(i["degree"]) == [1, 1, 1] and len(i["coefficients"]) == 8 for i in infos)
        constant = np.array([i["coefficients"][0] for i in infos])
        np.testing.assert_allclose(constant, _expected(dataset, infos[0]["refpoint"]),
                                   atol=0.01)
        assert abs(constant.sum()) < 1e-9  # coefficients sum to zero, as in wiimatch
    for output in result.outputs:
        assert output.product.get("background.subtracted") is False
        assert output.product.get("cal_step.mrs_imatch") == "COMPLETE"
        np.testing.assert_array_equal(output.product.part.data,
                                      dataset.exposures[output.origin].part.data)


def test_subtract_equalises_the_exposures(mrs):
    dataset, refs = mrs
    result = mrs_imatch(dataset.exposures, subtract=True, references=refs)
    truth = dataset.truth
    noise = np.nanmedian(dataset.exposures[0].part.err)
    before, after = [], []
    for original, output in zip(dataset.exposures, result.outputs, strict=True):
        assert output.product.get("background.subtracted") is True
        before.append(np.nanmedian(original.part.data))
        after.append(np.nanmedian(output.product.part.data))
    assert np.ptp(before) > 20 * noise / np.sqrt(1000)
    # after matching, the exposures' sky levels agree within the noise of a median
    assert np.ptp(after) < 0.05 * np.ptp(before)
    levels = [e.background for e in truth.exposures]
    assert np.argmax(before) == np.argmax(levels)


def test_cube_build_removes_recorded_backgrounds(mrs):
    dataset, refs = mrs
    matched = [o.product for o in SPEC.run(dataset.exposures, references=refs).outputs]
    subtracted = [o.product for o in mrs_imatch(dataset.exposures, subtract=True,
                                                references=refs).outputs]
    a = cube_build.SPEC.run(matched, references=refs, channel="1").outputs[0].product
    b = cube_build.SPEC.run(subtracted, references=refs, channel="1").outputs[0].product
    np.testing.assert_allclose(a.part.data, b.part.data, rtol=1e-5, atol=1e-5)


def test_least_squares_recovers_exact_offsets():
    rng = np.random.default_rng(2)
    nimg, nvox = 12, 3000
    coords = [rng.uniform(-1, 1, nvox) for _ in range(3)]
    sky = 5 + rng.normal(size=nvox)
    true = rng.normal(size=(nimg, 2, 2, 2)) * 0.1
    true -= true.mean(axis=0)
    images = np.array([sky + np.polynomial.polynomial.polyval3d(*coords, c) for c in true])
    weights = rng.uniform(0.5, 2.0, (nimg, nvox)) * (rng.random((nimg, nvox)) < 0.7)
    fitted = fit_offsets(images, weights, coords, (1, 1, 1))
    np.testing.assert_allclose(fitted, true, atol=1e-8)


def test_bad_input(mrs):
    dataset, refs = mrs
    done = [p.evolve(meta={"background": {"subtracted": True}}) for p in dataset.exposures]
    with pytest.raises(ParameterError, match="already"):
        mrs_imatch(done, references=refs)
    mixed = [dataset.exposures[0].evolve(meta={"instrument.channel": "1"}),
             *dataset.exposures[1:]]
    with pytest.raises(ParameterError, match="channel 1 appears"):
        mrs_imatch(mixed, references=refs)
    nrs = simulate("nrs_ifu", seed=1).exposures
    with pytest.raises(ParameterError, match="MIRI MRS"):
        mrs_imatch(nrs, references=refs)
