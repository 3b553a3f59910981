"""Blotted medians kept between outlier_detection runs on the same inputs."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from spec3nb.steps import outlier_spec
from spec3nb.steps.outlier_memo import BLOTS, BlotMemo
from spec3nb.steps.outlier_spec import outlier_detection
from tests.steps.test_outlier_spec import _lrs_with_crs, _nirspec_with_crs


class _Source:
    """Something the memo can hold a weak reference to."""


def _blots(n: int, size: int = 100) -> list:
    return [(np.ones(size, np.float32), np.ones(size, np.float32)) for _ in range(n)]


def test_blots_come_back_for_the_same_objects_and_settings_only() -> None:
    memo = BlotMemo(10**6)
    a, b = _Source(), _Source()
    blots = _blots(2)
    memo.put([a, b], ("pixfrac", 1.0), blots)
    assert memo.get([a, b], ("pixfrac", 1.0)) is blots
    assert memo.get([a, b], ("pixfrac", 0.5)) is None
    assert memo.get([b, a], ("pixfrac", 1.0)) is None
    assert not blots[0][0].flags.writeable  # a later run cannot alter what it shares


def test_entries_go_with_their_inputs() -> None:
    memo = BlotMemo(10**6)
    a = _Source()
    memo.put([a], "settings", _blots(1))
    assert len(memo) == 1
    del a
    gc.collect()
    assert len(memo) == 0


def test_the_byte_budget_drops_the_least_recently_used() -> None:
    memo = BlotMemo(3 * 800)  # three entries of 2 x 100 float32
    sources = [_Source() for _ in range(4)]
    for s in sources[:3]:
        memo.put([s], "k", _blots(1))
    memo.get([sources[0]], "k")  # used again: the second is now the oldest
    memo.put([sources[3]], "k", _blots(1))
    assert memo.get([sources[1]], "k") is None
    assert all(memo.get([s], "k") is not None for s in (sources[0], sources[2], sources[3]))
    memo.put([sources[1]], "k", _blots(1, size=10_000))  # larger than the budget: not kept
    assert memo.get([sources[1]], "k") is None


@pytest.mark.parametrize("case", ["lrs", "nirspec source"])
def test_new_thresholds_reuse_the_median_and_give_fresh_results(case, monkeypatch) -> None:
    inputs = _lrs_with_crs()[0] if case == "lrs" else [_nirspec_with_crs()[0]]
    BLOTS.clear()
    medians = []
    original = outlier_spec.drizzled_median
    monkeypatch.setattr(outlier_spec, "drizzled_median",
                        lambda *a, **k: medians.append(1) or original(*a, **k))
    outlier_detection(inputs)
    reused = outlier_detection(inputs, snr=(3.0, 2.0), scale=(0.5, 0.3))
    assert len(medians) == 1
    BLOTS.clear()
    fresh = outlier_detection(inputs, snr=(3.0, 2.0), scale=(0.5, 0.3))
    assert len(medians) == 2
    flagged = 0
    for a, b in zip(reused.products, fresh.products, strict=True):
        for pa, pb in zip(a.parts, b.parts, strict=True):
            np.testing.assert_array_equal(pa.dq, pb.dq)
            np.testing.assert_array_equal(pa.data, pb.data)
            flagged += int(np.count_nonzero(pa.dq & 16))
    assert flagged > 0
    outlier_detection(inputs, pixfrac=0.5)  # another drizzle: another median
    assert len(medians) == 3


def test_nothing_is_stored_while_suspended() -> None:
    memo = BlotMemo(10**6)
    a = _Source()
    with memo.suspended():
        memo.put([a], "k", _blots(1))
        assert memo.get([a], "k") is None
    memo.put([a], "k", _blots(1))
    assert memo.get([a], "k") is not None
