"""drizzle_utils: drizzling and blotting only the window that can reach the output."""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.simulate import simulate
from spec3nb.steps import drizzle_utils
from spec3nb.steps.outlier_spec import outlier_detection
from spec3nb.steps.resample_spec import resample_spec


@pytest.fixture(scope="module")
def lrs() -> list:
    return list(simulate("mir_lrs", seed=2).exposures)


def test_window_is_the_bounding_box_with_a_margin(lrs: list) -> None:
    part = lrs[0].part
    ys, xs = drizzle_utils.drizzle_window(part.data.shape, part.wcs)
    xmin, xmax, ymin, ymax = drizzle_utils.resample_range(part.data.shape, part.wcs)
    margin = drizzle_utils.WINDOW_MARGIN
    assert (xs.start, xs.stop) == (max(0, xmin - margin), min(part.data.shape[1],
                                                               xmax + margin + 1))
    assert (ys.start, ys.stop) == (max(0, ymin - margin), min(part.data.shape[0],
                                                               ymax + margin + 1))
    # The slit does not cover the whole detector: that is the point of the window.
    assert (xs.stop - xs.start) * (ys.stop - ys.start) < part.data.size


def test_window_gives_the_full_frame_numbers(lrs: list, monkeypatch) -> None:
    def run() -> tuple[list, object]:
        crfs = [o.product for o in outlier_detection(lrs).outputs]
        return crfs, resample_spec(crfs).outputs[0].product

    windowed = run()
    monkeypatch.setattr(drizzle_utils, "drizzle_window",
                        lambda shape, wcs: (slice(0, shape[0]), slice(0, shape[1])))
    full = run()
    for a, b in zip([*windowed[0], windowed[1]], [*full[0], full[1]], strict=True):
        for pa, pb in zip(a.parts, b.parts, strict=True):
            assert pa.arrays.keys() == pb.arrays.keys()
            for name in pa.arrays:
                if pa.arrays[name].dtype.names:  # the HDRTAB table: its rows as text
                    assert str(pa.arrays[name].tolist()) == str(pb.arrays[name].tolist())
                    continue
                assert np.array_equal(pa.arrays[name], pb.arrays[name], equal_nan=True), name
    assert np.isfinite(windowed[1].parts[0].arrays["data"]).any()
