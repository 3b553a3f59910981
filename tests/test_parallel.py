"""Executors: local threads, forked writers, and Dask workers that keep the data between steps."""

from __future__ import annotations

import dataclasses
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spec3nb import pipeline
from spec3nb.datamodels import meta as metatools
from spec3nb.parallel import (
    DaskExecutor,
    LocalExecutor,
    as_executor,
    decode_result,
    encode_result,
    fork_map,
    local_cluster,
)
from spec3nb.session import Spec3Session
from spec3nb.simulate import simulate_to
from tests.factories import make_multislit


def _square(x: int) -> int:
    return x * x


def _flag_first_part(data: pipeline.SourceData) -> pipeline.SourceData:
    """A step-like change: a new dq array on the first part, everything else passed on."""
    product = data.products[0]
    first = product.parts[0]
    changed = first.evolve(arrays={"dq": first.dq | 4})
    new = product.evolve(parts=(changed, *product.parts[1:]))
    return dataclasses.replace(data, products=(new,), outputs=())


def _source(nslits: int = 3) -> pipeline.SourceData:
    product = make_multislit("NRS_MSASPEC", nslits, shape=(20, 300), seed=3)
    return pipeline.SourceData("s1", (product,), (product,))


# ----------------------------------------------------------------- encode / decode


def test_a_result_travels_as_its_changes_and_rebuilds_equal() -> None:
    item = _source()
    result = _flag_first_part(item)
    # The worker's copy of the item is a pickled copy of ours: encode against that.
    worker_item = pickle.loads(pickle.dumps(item))
    worker_result = _flag_first_part(worker_item)
    payload = encode_result(worker_result, worker_item)
    assert len(payload) < len(pickle.dumps(worker_result)) / 3
    decoded = decode_result(payload, item)
    # What was passed on is this process's own object, not a copy.
    assert decoded.exposures[0] is item.exposures[0]
    assert decoded.products[0].parts[1] is item.products[0].parts[1]
    assert decoded.products[0].parts[0].wcs is item.products[0].parts[0].wcs
    assert decoded.products[0].parts[0].arrays["data"] is item.products[0].parts[0].data
    assert np.array_equal(decoded.products[0].parts[0].dq, result.products[0].parts[0].dq)
    assert not np.array_equal(decoded.products[0].parts[0].dq, item.products[0].parts[0].dq)
    assert not decoded.products[0].parts[0].dq.flags.writeable


def test_results_that_plain_pickle_refuses_still_travel() -> None:
    payload = encode_result(lambda: 3, 1)
    assert decode_result(payload, 1)() == 3
    assert decode_result(encode_result({"a": 1}, None), None) == {"a": 1}


# ----------------------------------------------------------------- local executors


def test_local_executor_keeps_item_order() -> None:
    assert LocalExecutor(2).map(_square, range(7)) == [x * x for x in range(7)]
    assert LocalExecutor(1).map(_square, [3]) == [9]


def test_as_executor() -> None:
    assert isinstance(as_executor(None), LocalExecutor)
    with pytest.raises(TypeError, match="no map method"):
        as_executor(object())


def test_fork_map_computes_in_other_processes() -> None:
    pids = fork_map(lambda _: os.getpid(), range(4), processes=2)
    assert len(pids) == 4
    assert fork_map(_square, [1, 2, 3], processes=2) == [1, 4, 9]


_HEAP_HOLES_SCRIPT = """
import os
from spec3nb.parallel import release_free_heap

def resident_mib():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

# 64 KiB blocks (malloc's heap, below its mmap threshold) between small pins (also
# malloc's: over pymalloc's 512 bytes), so that freeing the blocks leaves holes that free()
# itself cannot return. The blocks are filled with ones: zeros may come from calloc, which
# leaves fresh pages untouched, so they would never have been resident.
start = resident_mib()
blocks, pins = [], []
for _ in range(3000):
    blocks.append(b"\\x01" * (64 * 1024))
    pins.append(b"\\x01" * 600)
grown = resident_mib() - start
del blocks
released = release_free_heap()
print(released, grown, resident_mib() - start, len(pins))
"""


def test_release_free_heap_gives_freed_pages_back() -> None:
    # A fresh interpreter: in the test process the heap's earlier history (holes already
    # trimmed, a raised mmap threshold) would decide where the blocks land.
    done = subprocess.run([sys.executable, "-c", _HEAP_HOLES_SCRIPT], capture_output=True,
                          text=True, check=True, cwd=Path(__file__).parents[1])
    released, grown, kept, pins = done.stdout.split()
    assert released == "True"
    assert float(grown) > 180  # the blocks were resident
    # At most the pins' pages stay. How much free() alone would give back depends on
    # where glibc put the blocks (between 0 and 185 MiB have been seen); with the trim, the
    # holes are always gone.
    assert float(kept) < 40
    assert pins == "3000"


# ----------------------------------------------------------------- Dask


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client

    with local_cluster(2) as cluster, Client(cluster) as connected:
        connected.wait_for_workers(2, timeout=120)  # both started, on a loaded machine too
        yield connected


def test_local_cluster_workers_keep_adaptive_malloc(client, monkeypatch) -> None:
    found = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
    assert len(found) == 2
    assert set(found.values()) == {None}
    # dask's nanny leaves the variable in this process's environment: a later cluster's
    # workers must not inherit it.
    from dask.distributed import Client

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    with local_cluster(1) as cluster, Client(cluster) as other:
        other.wait_for_workers(1, timeout=120)
        assert set(other.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_")).values()) \
            == {None}
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"


def test_dask_executor_keeps_results_on_the_workers(client) -> None:
    executor = as_executor(client)
    assert isinstance(executor, DaskExecutor)
    executor.chunk_size = 2  # two chunks: one of two items, one of one
    scattered = []
    scatter = client.scatter

    def counting_scatter(chunks, **options):
        scattered.extend(len(chunk) for chunk in chunks)
        return scatter(chunks, **options)

    items = [dataclasses.replace(_source(2), key=f"s{i}") for i in range(3)]
    client.scatter = counting_scatter
    try:
        first = executor.map(_flag_first_part, items)
        second = executor.map(_flag_first_part, first)
    finally:
        del client.scatter
    assert sum(scattered) == 3  # the second step ran where the first left its results
    assert [d.key for d in second] == ["s0", "s1", "s2"]
    for item, done in zip(items, second, strict=True):
        expected = _flag_first_part(_flag_first_part(item))
        assert np.array_equal(done.products[0].parts[0].dq, expected.products[0].parts[0].dq)
        assert done.exposures[0] is item.exposures[0]
    assert executor.map(_square, [2, 3]) == [4, 9]  # plain values work too
    assert executor.map(_square, []) == []


def test_dask_executor_forgets_results_that_are_gone(client) -> None:
    executor = DaskExecutor(client)
    results = executor.map(_flag_first_part, [_source(1)])
    assert len(executor._kept) == 1
    del results
    assert executor._kept == {}  # the future is released with the result


def test_dask_executor_sends_again_when_kept_data_is_lost(client) -> None:
    executor = DaskExecutor(client)
    first = executor.map(_flag_first_part, [_source(1)])
    client.cancel([future for future, _ in executor._kept.values()])
    second = executor.map(_flag_first_part, first)
    expected = _flag_first_part(first[0])
    assert np.array_equal(second[0].products[0].parts[0].dq, expected.products[0].parts[0].dq)


# ----------------------------------------------------------------- the whole MOS pipeline


def _assert_same_product(a, b, where: str) -> None:
    assert a.model_type == b.model_type, where
    assert metatools.thaw(a.meta) == metatools.thaw(b.meta), where
    assert len(a.parts) == len(b.parts), where
    for pa, pb in zip(a.parts, b.parts, strict=True):
        assert metatools.thaw(pa.attrs) == metatools.thaw(pb.attrs), where
        assert metatools.thaw(pa.meta) == metatools.thaw(pb.meta), where
        assert list(pa.arrays) == list(pb.arrays), where
        for key, array in pa.arrays.items():
            other = pb.arrays[key]
            assert array.dtype == other.dtype and array.shape == other.shape, (where, key)
            assert array.tobytes() == other.tobytes(), (where, key)  # bit for bit
        assert (pa.wcs is None) == (pb.wcs is None), where
        if pa.wcs is not None and "data" in pa.arrays and pa.data.ndim == 2:
            y, x = np.mgrid[: pa.data.shape[0]:3, : pa.data.shape[1]:97]
            for wa, wb in zip(pa.wcs(x, y), pb.wcs(x, y), strict=True):
                assert np.array_equal(wa, wb, equal_nan=True), where


@pytest.fixture(scope="module")
def mos_asn(tmp_path_factory) -> Path:
    return simulate_to(tmp_path_factory.mktemp("mos"), "nrs_mos", seed=4, nsources=4)


def test_mos_on_two_dask_workers_equals_serial(mos_asn: Path, client) -> None:
    serial = Spec3Session.from_asn(mos_asn, executor=LocalExecutor(1)).run()
    remote = Spec3Session.from_asn(mos_asn, executor=client).run()
    for name in serial.step_names:
        a, b = serial[name].output, remote[name].output
        assert list(a) == list(b), name
        assert len(a) >= 4, name
        for key in a:
            da, db = a[key], b[key]
            for field in ("status", "reason", "stem", "stems", "exposure_stems",
                          "output_stems", "resampled"):
                assert getattr(da, field) == getattr(db, field), (name, key, field)
            for group in ("products", "exposures"):
                for pa, pb in zip(getattr(da, group), getattr(db, group), strict=True):
                    _assert_same_product(pa, pb, f"{name} {key} {group}")
            assert [o.suffix for o in da.outputs] == [o.suffix for o in db.outputs]
            for oa, ob in zip(da.outputs, db.outputs, strict=True):
                _assert_same_product(oa.product, ob.product, f"{name} {key} output")
    assert sorted(serial.products) == sorted(remote.products)


def test_local_threads_leave_the_warning_filters_as_they_were() -> None:
    import time
    import warnings

    from spec3nb.parallel import LocalExecutor

    def quiet(n: int) -> int:
        # What steps do on the pool's threads; interleaved, catch_warnings would restore
        # another thread's filters.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            time.sleep(0.01 * (n % 3))
        return n

    before = list(warnings.filters)
    assert LocalExecutor(4).map(quiet, range(12)) == list(range(12))
    assert warnings.filters == before
