"""resample_wcs: results memoised per input WCS (shared by outlier_detection and resample)."""

from __future__ import annotations

import copy
import gc

from spec3nb.simulate import simulate
from spec3nb.steps import resample_wcs


def test_wcs_results_are_computed_once_per_wcs_and_forgotten_with_it() -> None:
    wcs = copy.deepcopy(simulate("nrs_fs", seed=1).exposures[0].parts[0].wcs)
    first = resample_wcs._median_wavelengths(wcs)
    assert len(first) > 10 and first == sorted(first)
    memo = resample_wcs._WCS_MEMO[wcs]
    assert ("_median_column_wavelengths", ()) in memo
    # A second call returns the stored result (a fresh list: callers may extend it).
    again = resample_wcs._median_wavelengths(wcs)
    assert again == first and again is not first
    scale = resample_wcs.spatial_pixel_scale(wcs, 1)
    assert memo[("spatial_pixel_scale", (1,))] == scale > 0
    before = len(resample_wcs._WCS_MEMO)
    del wcs, memo
    gc.collect()
    assert len(resample_wcs._WCS_MEMO) == before - 1
