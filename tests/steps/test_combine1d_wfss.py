"""combine_1d of WFSS multi-source x1d: per-exposure weights, packaging and bad inputs."""

from __future__ import annotations

import numpy as np

from spec3nb.steps.combine1d_wfss import combine_wfss
from spec3nb.steps.wfss_package import package_c1d, package_x1d, spectra_of
from tests.factories import make_wfss_x1d


def _with(product, exposure_times=None, edit=None):
    """`product` with new table exposure times and/or rows edited by ``edit(k, table)``."""
    parts = []
    for k, part in enumerate(product.parts):
        attrs = {} if exposure_times is None else {"exposure_time": exposure_times[k]}
        table = part.table.copy()
        if edit is not None:
            edit(k, table)
        parts.append(part.evolve(arrays={"spec_table": table}, attrs=attrs))
    return product.evolve(parts=parts)


def _rows(product):
    (part,) = product.parts
    return {int(r["SOURCE_ID"]): r for r in part.table}


def test_each_spectrum_weighs_its_own_exposure_time() -> None:
    x1d = _with(make_wfss_x1d(nsources=3, nexposures=2), exposure_times=[100.0, 300.0])
    rows = _rows(combine_wfss([x1d]).products[0])
    for j, source_id in enumerate((100, 101, 102)):
        a, b = x1d.parts[0].table[j], x1d.parts[1].table[j]
        n = int(a["N_ALONGDISP"])
        row = rows[source_id]
        assert int(row["N_ALONGDISP"]) == n
        np.testing.assert_allclose(row["FLUX"][:n], (100 * a["FLUX"][:n] + 300 * b["FLUX"][:n])
                                   / 400, rtol=1e-12)
        np.testing.assert_allclose(row["WEIGHT"][:n], 400.0)
        assert (row["N_INPUT"][:n] == 2).all()
        # jwst 3.0.0 would weigh both by the first table's 100 s: the plain mean.
        plain = (a["FLUX"][:n] + b["FLUX"][:n]) / 2
        assert not np.allclose(row["FLUX"][:n], plain, rtol=1e-6)


def test_equal_times_equal_unit_weights_and_rows_sorted() -> None:
    x1d = make_wfss_x1d(nsources=4, nexposures=2)
    timed = combine_wfss([x1d]).products[0]
    unit = combine_wfss([x1d], exptime_key="unit_weight").products[0]
    assert timed.model_type == "WFSSMultiCombinedSpecModel"
    a, b = timed.parts[0].table, unit.parts[0].table
    np.testing.assert_allclose(a["FLUX"], b["FLUX"], rtol=1e-12)
    np.testing.assert_array_equal(a["SOURCE_ID"], [100, 101, 102, 103])
    assert timed.get("cal_step.combine_1d") == "COMPLETE"


def test_source_in_one_exposure_only_and_non_monotonic_spectra() -> None:
    def edit(k, table):
        if k == 1:
            table["N_ALONGDISP"][0] = 0  # source 100 missing from exposure 2
            table["WAVELENGTH"][1][5] = table["WAVELENGTH"][1][3]  # 101 not monotonic
    rows = _rows(combine_wfss([_with(make_wfss_x1d(), edit=edit)]).products[0])
    for source_id in (100, 101):
        n = int(rows[source_id]["N_ALONGDISP"])
        assert (rows[source_id]["N_INPUT"][:n] == 1).all()
    n = int(rows[102]["N_ALONGDISP"])
    assert (rows[102]["N_INPUT"][:n] == 2).all()


def test_orders_missing_for_some_sources_leave_placeholder_rows() -> None:
    x1d = make_wfss_x1d(nsources=3, nexposures=2)
    parts = list(x1d.parts)
    order2 = parts[1].evolve(attrs={"spectral_order": 2, "group_id": "g_2"})
    table = order2.table.copy()
    table["N_ALONGDISP"][1:] = 0  # only source 100 has order 2
    parts[1] = order2.evolve(arrays={"spec_table": table})
    c1d = combine_wfss([x1d.evolve(parts=parts)]).products[0]
    orders = {p.attrs["spectral_order"]: p.table for p in c1d.parts}
    assert set(orders) == {1, 2}
    assert list(orders[1]["SOURCE_ID"]) == [100, 101, 102]
    assert list(orders[2]["SOURCE_ID"]) == [-999, -999, 100]  # as jwst 3.0.0 sorts them
    assert (orders[2]["N_ALONGDISP"][:2] == 0).all()


def test_nothing_usable_or_wrong_input_is_skipped_with_a_reason() -> None:
    def blank(k, table):
        table["FLUX"][:] = np.nan
    result = combine_wfss([_with(make_wfss_x1d(), edit=blank)])
    assert result.status == "SKIPPED" and "valid flux" in result.reason
    c1d = combine_wfss([make_wfss_x1d()]).products[0]
    wrong = combine_wfss([c1d])
    assert wrong.status == "SKIPPED" and "WFSSMultiCombinedSpecModel" in wrong.reason
    no_time = _with(make_wfss_x1d(), exposure_times=[None, None])
    missing = combine_wfss([no_time])
    assert missing.status == "SKIPPED" and "EFFEXPTM" in missing.reason


def test_packaging_round_trips() -> None:
    x1d = make_wfss_x1d(nsources=3, nexposures=2)
    again = package_x1d([x1d])
    assert len(again.parts) == 2
    for a, b in zip(again.parts, x1d.parts, strict=True):
        assert a.table.tobytes() == b.table.tobytes()
    assert len(spectra_of(again)) == 6
    c1d = combine_wfss([x1d]).products[0]
    merged = package_c1d([c1d, c1d])
    assert len(merged.parts[0].table) == 6
