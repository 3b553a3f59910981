"""Spec3Session: wiring per mode, reactive re-runs, names of saved products, failures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from spec3nb.datamodels import read_product
from spec3nb.errors import ModeError
from spec3nb.session import Spec3Session
from spec3nb.simulate import simulate_to
from tests import session_doubles
from tests.session_doubles import CALLS


@pytest.fixture(scope="module")
def lrs_asn(tmp_path_factory) -> Path:
    return simulate_to(tmp_path_factory.mktemp("lrs"), "mir_lrs", seed=2)


@pytest.fixture(scope="module")
def mos_asn(tmp_path_factory) -> Path:
    return simulate_to(tmp_path_factory.mktemp("mos"), "nrs_mos", seed=2, nsources=3)


def session(path, **options) -> Spec3Session:
    return Spec3Session.from_asn(path, steps=session_doubles.steps(), **options)


def test_lrs_wiring_run_and_names(lrs_asn: Path, tmp_path: Path) -> None:
    s = session(lrs_asn)
    assert s.mode.name == "mir_lrs"
    assert s.step_names == ("outlier_detection", "pixel_replace", "resample_spec",
                            "extract_1d", "combine_1d")
    assert s["outlier_detection"].mode == "spec"  # set as the official pipeline sets it
    s.run()
    assert s["combine_1d"].status == "skipped"
    assert "resampling completed" in s["combine_1d"].message
    names = sorted(s.products)
    members = [m.expname.replace("_cal.fits", "") for m in s.inputs.association.science]
    assert names == sorted([f"{m}_o001_crf.fits" for m in members]
                           + ["jw01234-o001_t001_miri_p750l_s2d.fits",
                              "jw01234-o001_t001_miri_p750l_x1d.fits"])
    written = s.save(tmp_path)
    assert {p.name for p in written} == set(names)
    assert read_product(tmp_path / "jw01234-o001_t001_miri_p750l_s2d.fits").model_type == \
        "SlitModel"


def test_a_parameter_change_reruns_only_what_depends_on_it(lrs_asn: Path) -> None:
    s = session(lrs_asn)
    s.run()
    before = dict(CALLS)
    s["extract_1d"].extract_width = 7
    assert [n.name for n in s.nodes if n.status == "stale"] == ["extract_1d", "combine_1d"]
    s.run()
    assert CALLS["extract_1d"] == before["extract_1d"] + 1
    assert CALLS["resample_spec"] == before["resample_spec"]
    assert CALLS["outlier_detection"] == before["outlier_detection"]
    x1d = s.products["jw01234-o001_t001_miri_p750l_x1d.fits"]
    assert x1d.get("target.proposer_name") == "width 7"
    s["resample_spec"].pixfrac = 0.5
    assert [n.name for n in s.nodes if n.status == "stale"] == [
        "resample_spec", "extract_1d", "combine_1d"]


def test_when_resampling_is_skipped_combine_1d_combines_exposures(lrs_asn: Path) -> None:
    steps = session_doubles.steps()
    from spec3nb import modes

    s = Spec3Session.from_asn(lrs_asn, steps=steps)
    s["resample_spec"].skip = True
    s.run()
    assert s["resample_spec"].status == "skipped"
    assert "combine_1d" not in modes.steps_for("mir_lrs")  # the seed table's rows
    members = [m.expname.replace("_cal.fits", "") for m in s.inputs.association.science]
    assert sorted(n for n in s.products if n.endswith("_x1d.fits")) == sorted(
        f"{m}_x1d.fits" for m in members)  # each exposure extracted
    assert s["combine_1d"].status == "done"
    c1d = s.products["jw01234-o001_t001_miri_p750l_c1d.fits"]
    assert c1d.parts[0].table["N_INPUT"].max() == 2


def test_mos_one_failing_source_does_not_lose_the_others(mos_asn: Path, tmp_path) -> None:
    s = session(mos_asn)
    assert s.step_names[0] == "exp_to_source"
    s.run()
    errors = s.errors
    assert list(errors) == ["outlier_detection"]
    (key, message), = errors["outlier_detection"].items()
    assert "BKG" in key and "has no valid pixels" in message
    products = s.products
    cal = [n for n in products if n.endswith("_cal.fits")]
    x1d = [n for n in products if n.endswith("_x1d.fits")]
    assert len(cal) == len(s["exp_to_source"].output)
    assert len(x1d) == len(cal) - 1  # every source but the failed one
    assert all("_s0000" in n for n in x1d)  # the background slitlet (b...) failed
    assert any("_b0000" in n for n in cal)
    assert "1 of" in s["outlier_detection"].output.reason


def test_dask_local_cluster_gives_the_same_products(mos_asn: Path) -> None:
    from dask.distributed import Client, LocalCluster

    local = session(mos_asn).run().products
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        remote = session(mos_asn, executor=client).run().products
    assert sorted(remote) == sorted(local)
    for name in local:
        a, b = local[name], remote[name]
        assert a.model_type == b.model_type
        assert all(np.array_equal(pa.data, pb.data, equal_nan=True)
                   for pa, pb in zip(a.parts, b.parts, strict=True) if "data" in pa.arrays)


def test_refuses_mixed_modes_and_missing_steps(lrs_asn: Path, mos_asn: Path, tmp_path) -> None:
    lrs = json.loads(lrs_asn.read_text())
    mos = json.loads(mos_asn.read_text())
    member = mos["products"][0]["members"][0]
    member["expname"] = str(mos_asn.parent / member["expname"])
    lrs["products"][0]["members"].append(member)
    mixed = lrs_asn.parent / "mixed_asn.json"
    mixed.write_text(json.dumps(lrs))
    with pytest.raises(ModeError, match="mixed exposure types"):
        Spec3Session.from_asn(mixed, steps=session_doubles.steps(), allow_outside=True)
    with pytest.raises(ModeError, match="does not implement .*resample_spec"):
        Spec3Session.from_asn(lrs_asn, steps={})


def test_unknown_step_name(lrs_asn: Path) -> None:
    with pytest.raises(KeyError, match="MIRI LRS fixed slit has no step 'cube_build'"):
        session(lrs_asn)["cube_build"]


def test_summary_document_for_the_lab_extension(lrs_asn: Path) -> None:
    from spec3nb.session import MIME_TYPE

    s = session(lrs_asn)
    before = s.summary_document()
    assert [n["status"] for n in before["nodes"]] == ["stale"] * 5
    s.run()
    bundle = s._repr_mimebundle_()
    doc = bundle[MIME_TYPE]
    assert doc["mode"] == "mir_lrs" and doc["exposures"] == 2
    assert [n["name"] for n in doc["nodes"]] == list(s.step_names)
    assert doc["nodes"][0]["status"] == "done" and doc["nodes"][-1]["status"] == "skipped"
    assert "jw01234-o001_t001_miri_p750l_x1d.fits" in doc["products"]
    assert bundle["text/plain"].startswith("<Spec3Session MIRI LRS fixed slit")
    json.dumps(doc)  # plain data


def test_optional_steps_are_skipped_until_asked(lrs_asn: Path) -> None:
    from spec3nb.steps.spec import StepSpec

    calls = []

    def replace(inputs):
        calls.append(len(inputs))
        return session_doubles.outlier(inputs, mode="spec", snr_scale=1.0)

    steps = {**session_doubles.steps(), "pixel_replace": StepSpec("pixel_replace", "", replace)}
    s = Spec3Session.from_asn(lrs_asn, steps=steps)
    assert s.step_names[:3] == ("outlier_detection", "pixel_replace", "resample_spec")
    s.run()
    assert s["pixel_replace"].status == "skipped" and calls == []
    assert "skipped by default" in s["pixel_replace"].message
    s["pixel_replace"].skip = False
    assert [n.name for n in s.nodes if n.status == "stale"][0] == "pixel_replace"
    s.run()
    assert s["pixel_replace"].status == "done" and calls == [2]
