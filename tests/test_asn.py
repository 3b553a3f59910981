"""Tests of spec3nb.asn: reading, validating, building, writing and naming associations."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from spec3nb.asn import (
    EXPTYPES,
    Association,
    Member,
    association_from_files,
    format_product,
    product_name,
    read_association,
    slit_name_string,
    source_id_string,
    write_association,
)
from spec3nb.errors import AssociationError, InputFileError, OutputError

SCI = ["jw01530005001_03103_00001_mirimage_cal.fits", "jw01530005001_03103_00002_mirimage_cal.fits"]
BKG = ["jw01530005001_03103_00001_mirimage_x1d.fits", "jw01530005001_03103_00002_mirimage_x1d.fits"]


def touch(folder: Path, *names: str) -> list[Path]:
    """Create empty member files (asn.py only checks that they exist)."""
    paths = []
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        paths.append(path)
    return paths


def asn_doc(members: list[dict[str, Any]], name: str = "jw01530-o005_t004_miri_p750l") -> dict:
    return {
        "asn_type": "spec3",
        "asn_rule": "candidate_Asn_Lv3SpectralTarget",
        "asn_id": "o005",
        "program": "01530",
        "target": "t004",
        "asn_pool": "jw01530_20221202t204827_pool",
        "version_id": None,
        "products": [{"name": name, "members": members}],
    }


def write_json(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def nod_asn(folder: Path) -> Path:
    """The 2-point nod example of the reference document, with its files."""
    touch(folder, *SCI, *BKG)
    members = [{"expname": n, "exptype": "science"} for n in SCI]
    members += [{"expname": n, "exptype": "background"} for n in BKG]
    return write_json(folder / "jw01530-o005_spec3_00001_asn.json", asn_doc(members))


def expect_error(path: Path, *fragments: str, **kwargs: Any) -> AssociationError:
    """Read `path`, expect an AssociationError naming the file and every fragment."""
    with pytest.raises(AssociationError) as info:
        read_association(path, **kwargs)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    return info.value


# ------------------------------------------------------------------------------------------
# Good associations
# ------------------------------------------------------------------------------------------


def test_read_nod_example(tmp_path: Path) -> None:
    asn = read_association(nod_asn(tmp_path))
    assert asn.product_name == "jw01530-o005_t004_miri_p750l"
    assert [m.expname for m in asn.science] == SCI
    assert [m.expname for m in asn.background] == BKG
    assert all(m.path == (tmp_path / m.expname).resolve() for m in asn.members)
    assert all(m.path.is_absolute() for m in asn.members)
    assert (asn.asn_id, asn.asn_pool, asn.asn_type) == (
        "o005",
        "jw01530_20221202t204827_pool",
        "spec3",
    )
    assert (asn.program, asn.target, asn.asn_rule) == (
        "01530",
        "t004",
        "candidate_Asn_Lv3SpectralTarget",
    )
    assert dict(asn.extra) == {"version_id": None}
    assert asn.table_name == "jw01530-o005_spec3_00001_asn.json"
    assert asn.folder == tmp_path.absolute()


def test_members_relative_to_asn_folder_not_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "data"
    touch(folder / "sub", "a_cal.fits")
    asn_path = write_json(
        folder / "asn.json", asn_doc([{"expname": "sub/a_cal.fits", "exptype": "science"}])
    )
    monkeypatch.chdir(tmp_path)
    asn = read_association(Path("data") / "asn.json")
    assert asn.members[0].path == (folder / "sub" / "a_cal.fits").resolve()
    assert asn.path == asn_path.absolute()


def test_exptype_case_insensitive_and_other_types_kept(tmp_path: Path) -> None:
    names = ["a_cal.fits", "b_cal.fits", "c_cal.fits", "d_cal.fits", "e_x1d.fits"]
    touch(tmp_path, *names)
    types = ["SCIENCE", "psf", "Target_Acquisition", "autowave", "Background"]
    members = [{"expname": n, "exptype": t} for n, t in zip(names, types, strict=True)]
    asn = read_association(write_json(tmp_path / "asn.json", asn_doc(members)))
    assert [m.exptype for m in asn.members] == [
        "science",
        "psf",
        "target_acquisition",
        "autowave",
        "background",
    ]
    assert [m.expname for m in asn.science] == ["a_cal.fits"]
    assert [m.expname for m in asn.background] == ["e_x1d.fits"]
    assert len(asn.members) == 5


def test_only_first_product_used(tmp_path: Path) -> None:
    touch(tmp_path, "a_cal.fits")
    doc = asn_doc([{"expname": "a_cal.fits", "exptype": "science"}], name="first")
    # The second product is broken on purpose: it must not even be looked at.
    doc["products"].append(
        {"name": "../second", "members": [{"expname": "/nope", "exptype": "bad"}]}
    )
    asn = read_association(write_json(tmp_path / "asn.json", doc))
    assert asn.product_name == "first"
    assert [m.expname for m in asn.members] == ["a_cal.fits"]


def test_member_extra_keys_kept(tmp_path: Path) -> None:
    touch(tmp_path, "a_cal.fits")
    member = {"expname": "a_cal.fits", "exptype": "science", "exposerr": None, "group_id": "g1"}
    asn = read_association(write_json(tmp_path / "asn.json", asn_doc([member])))
    assert dict(asn.members[0].extra) == {"exposerr": None, "group_id": "g1"}
    with pytest.raises(TypeError):
        asn.members[0].extra["group_id"] = "x"  # type: ignore[index]


def test_missing_optional_header_fields(tmp_path: Path) -> None:
    touch(tmp_path, "a_cal.fits")
    doc = {
        "products": [{"name": "p", "members": [{"expname": "a_cal.fits", "exptype": "science"}]}]
    }
    asn = read_association(write_json(tmp_path / "asn.json", doc))
    assert (asn.asn_id, asn.asn_pool, asn.asn_type, asn.program, asn.target) == (None,) * 5


def test_check_files_false_allows_missing_members(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "asn.json", asn_doc([{"expname": "gone_cal.fits", "exptype": "science"}])
    )
    asn = read_association(path, check_files=False)
    assert asn.members[0].path == (tmp_path / "gone_cal.fits").resolve()


def test_dataclasses_frozen_and_hashable(tmp_path: Path) -> None:
    asn = read_association(nod_asn(tmp_path))
    with pytest.raises(AttributeError):
        asn.product_name = "x"  # type: ignore[misc]
    assert hash(asn) == hash(read_association(nod_asn(tmp_path)))
    assert asn == read_association(nod_asn(tmp_path))


def test_association_built_by_hand(tmp_path: Path) -> None:
    members = (
        Member("a.fits", "Science", tmp_path / "a.fits"),
        Member("b.fits", "imprint", tmp_path / "b.fits"),
        Member("c.fits", "background", tmp_path / "c.fits"),
    )
    asn = Association(tmp_path / "x" / "my_asn.json", "p", list(members))  # type: ignore[arg-type]
    assert asn.members == members
    assert [m.expname for m in asn.science] == ["a.fits"]
    assert [m.expname for m in asn.background] == ["c.fits"]
    assert asn.folder == tmp_path.absolute() / "x"
    assert asn.table_name == "my_asn.json"


def test_member_rejects_unknown_exptype(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="dark"):
        Member("a.fits", "dark", tmp_path / "a.fits")
    assert Member("a.fits", "PSF", tmp_path / "a.fits").exptype == "psf"


# ------------------------------------------------------------------------------------------
# Bad associations: one clear error each
# ------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    expect_error(tmp_path / "nope_asn.json", "file not found")


def test_malformed_json_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "asn.json"
    path.write_text('{"products": [\n  {"name": "x",, "members": []}]}\n', encoding="utf-8")
    expect_error(path, "malformed JSON", "line 2", "column 16")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "asn.json"
    path.write_bytes(b'{"products": "\xff\xfe"}')
    expect_error(path, "UTF-8")


@pytest.mark.parametrize(
    ("doc", "kind"), [([], "array"), ("x", "string"), (3, "number"), (None, "null")]
)
def test_top_level_not_object(tmp_path: Path, doc: object, kind: str) -> None:
    expect_error(write_json(tmp_path / "asn.json", doc), "top level", kind, "not an object")


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ({"asn_id": "o001"}, "no 'products'"),
        ({"products": []}, "'products' is empty"),
        ({"products": {"name": "x"}}, "not a list"),
        ({"products": ["x"]}, "products[0] is not an object"),
        ({"products": [{"name": "x"}]}, "products[0] has no 'members'"),
        ({"products": [{"name": "x", "members": []}]}, "products[0] has empty"),
    ],
)
def test_bad_products(tmp_path: Path, doc: dict, fragment: str) -> None:
    expect_error(write_json(tmp_path / "asn.json", doc), fragment)


@pytest.mark.parametrize(
    ("member", "fragment"),
    [
        ({"exptype": "science"}, "members[1] has no 'expname'"),
        ({"expname": "b_cal.fits"}, "members[1] has no 'exptype'"),
        ({"expname": "", "exptype": "science"}, "members[1] has no 'expname'"),
        ({"expname": 5, "exptype": "science"}, "members[1] has no 'expname'"),
        ("b_cal.fits", "members[1] is not an object"),
    ],
)
def test_bad_member_entries(tmp_path: Path, member: object, fragment: str) -> None:
    touch(tmp_path, "a_cal.fits", "b_cal.fits")
    doc = asn_doc([{"expname": "a_cal.fits", "exptype": "science"}, member])  # type: ignore[list-item]
    expect_error(write_json(tmp_path / "asn.json", doc), fragment)


def test_unknown_exptype_named_with_known_list(tmp_path: Path) -> None:
    touch(tmp_path, "a_cal.fits")
    doc = asn_doc([{"expname": "a_cal.fits", "exptype": "dark"}])
    err = expect_error(write_json(tmp_path / "asn.json", doc), "unknown exptype 'dark'")
    assert all(name in err.problem for name in EXPTYPES)


def test_absolute_expname(tmp_path: Path) -> None:
    (member,) = touch(tmp_path, "a_cal.fits")
    path = write_json(
        tmp_path / "asn.json", asn_doc([{"expname": str(member), "exptype": "science"}])
    )
    expect_error(path, "members[0]", "absolute path", str(member))
    assert read_association(path, allow_outside=True).members[0].path == member.resolve()


def test_dotdot_escape(tmp_path: Path) -> None:
    (outside,) = touch(tmp_path, "outside_cal.fits")
    folder = tmp_path / "asn"
    folder.mkdir()
    doc = asn_doc([{"expname": "../outside_cal.fits", "exptype": "science"}])
    path = write_json(folder / "asn.json", doc)
    expect_error(path, "members[0]", "'../outside_cal.fits'", "outside")
    assert read_association(path, allow_outside=True).members[0].path == outside.resolve()


def test_dotdot_that_stays_inside_is_fine(tmp_path: Path) -> None:
    touch(tmp_path, "a_cal.fits")
    (tmp_path / "sub").mkdir()
    doc = asn_doc([{"expname": "sub/../a_cal.fits", "exptype": "science"}])
    asn = read_association(write_json(tmp_path / "asn.json", doc))
    assert asn.members[0].path == (tmp_path / "a_cal.fits").resolve()


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_symlink_escape(tmp_path: Path) -> None:
    (outside,) = touch(tmp_path / "elsewhere", "real_cal.fits")
    folder = tmp_path / "asn"
    folder.mkdir()
    (folder / "link_cal.fits").symlink_to(outside)
    path = write_json(
        folder / "asn.json", asn_doc([{"expname": "link_cal.fits", "exptype": "science"}])
    )
    expect_error(path, "members[0]", "'link_cal.fits'", "outside")
    assert read_association(path, allow_outside=True).members[0].path == outside.resolve()


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_association_reached_through_symlinked_folder(tmp_path: Path) -> None:
    real = tmp_path / "real"
    touch(real, "a_cal.fits")
    write_json(real / "asn.json", asn_doc([{"expname": "a_cal.fits", "exptype": "science"}]))
    (tmp_path / "alias").symlink_to(real, target_is_directory=True)
    asn = read_association(tmp_path / "alias" / "asn.json")
    assert asn.members[0].path == (real / "a_cal.fits").resolve()


@pytest.mark.parametrize("name", ["../up", "sub/name", "sub\\name", "a..b", ".."])
def test_product_name_with_path_parts(tmp_path: Path, name: str) -> None:
    touch(tmp_path, "a_cal.fits")
    path = write_json(
        tmp_path / "asn.json", asn_doc([{"expname": "a_cal.fits", "exptype": "science"}], name)
    )
    expect_error(path, "product name", repr(name), "path separator or '..'")
    assert read_association(path, allow_outside=True).product_name == name


@pytest.mark.parametrize("product", [{}, {"name": ""}, {"name": 3}])
def test_missing_product_name(tmp_path: Path, product: dict) -> None:
    touch(tmp_path, "a_cal.fits")
    product["members"] = [{"expname": "a_cal.fits", "exptype": "science"}]
    expect_error(write_json(tmp_path / "asn.json", {"products": [product]}), "no 'name'")


def test_missing_member_file_named(tmp_path: Path) -> None:
    touch(tmp_path, SCI[0])
    members = [{"expname": SCI[0], "exptype": "science"}, {"expname": SCI[1], "exptype": "science"}]
    path = write_json(tmp_path / "asn.json", asn_doc(members))
    expect_error(path, "members[1]", repr(SCI[1]), "does not exist")


def test_member_that_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "dir_cal.fits").mkdir()
    path = write_json(
        tmp_path / "asn.json", asn_doc([{"expname": "dir_cal.fits", "exptype": "science"}])
    )
    expect_error(path, "members[0]", "not a regular file")


def test_header_field_of_wrong_type(tmp_path: Path) -> None:
    touch(tmp_path, "a_cal.fits")
    doc = asn_doc([{"expname": "a_cal.fits", "exptype": "science"}])
    doc["asn_id"] = 5
    expect_error(write_json(tmp_path / "asn.json", doc), "'asn_id' must be a string")


# ------------------------------------------------------------------------------------------
# association_from_files
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("jw001_nrs1_cal.fits", "jw001_nrs1"),
        ("jw01530005001_03103_00001_mirimage_cal.fits", "jw01530005001_03103_00001_mirimage"),
        ("a_b_cal.v2.fits", "a_b"),
        ("a_cal.fits.gz", "a"),
        ("plain.fits", "plain"),
    ],
)
def test_from_files_default_name(tmp_path: Path, filename: str, expected: str) -> None:
    first, _ = touch(tmp_path, filename, "zz_other_cal.fits")
    asn = association_from_files([first, tmp_path / "zz_other_cal.fits"])
    assert asn.product_name == expected
    assert asn.path is None and asn.table_name is None and asn.folder is None
    assert [m.path for m in asn.members] == [
        first.resolve(),
        (tmp_path / "zz_other_cal.fits").resolve(),
    ]
    assert all(m.exptype == "science" and Path(m.expname).is_absolute() for m in asn.members)


def test_from_files_name_and_exptypes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    touch(tmp_path, *SCI, BKG[0])
    monkeypatch.chdir(tmp_path)
    asn = association_from_files(
        [*SCI, BKG[0]], product_name="mine", exptypes=["science", "Science", "BACKGROUND"]
    )
    assert asn.product_name == "mine"
    assert [m.path for m in asn.science] == [(tmp_path / n).resolve() for n in SCI]
    assert [m.path for m in asn.background] == [(tmp_path / BKG[0]).resolve()]


def test_from_files_errors(tmp_path: Path) -> None:
    (a,) = touch(tmp_path, "a_cal.fits")
    with pytest.raises(AssociationError, match="no input files"):
        association_from_files([])
    with pytest.raises(AssociationError, match="1 exptypes given for 2 files"):
        association_from_files([a, a], exptypes=["science"])
    with pytest.raises(AssociationError, match="unknown exptype 'dark'"):
        association_from_files([a], exptypes=["dark"])
    with pytest.raises(AssociationError, match="path separator"):
        association_from_files([a], product_name="out/name")
    with pytest.raises(InputFileError) as info:
        association_from_files([a, tmp_path / "missing_cal.fits"])
    assert "missing_cal.fits" in str(info.value) and "not found" in str(info.value)
    assert (
        association_from_files([tmp_path / "missing_cal.fits"], check_files=False).product_name
        == "missing"
    )


# ------------------------------------------------------------------------------------------
# write_association
# ------------------------------------------------------------------------------------------


def test_write_round_trip(tmp_path: Path) -> None:
    asn = read_association(nod_asn(tmp_path))
    out = write_association(asn, tmp_path / "copy_asn.json")
    assert out == (tmp_path / "copy_asn.json").absolute()
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["asn_type"] == "spec3"
    assert doc["products"][0]["members"][0] == {"expname": SCI[0], "exptype": "science"}
    back = read_association(out)
    assert back.members == asn.members
    assert (back.product_name, back.asn_id, back.asn_pool, back.program) == (
        asn.product_name,
        asn.asn_id,
        asn.asn_pool,
        asn.program,
    )
    assert dict(back.extra) == dict(asn.extra)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_write_from_files_relative_and_absolute(tmp_path: Path) -> None:
    inside = touch(tmp_path / "out" / "sub", "a_cal.fits")[0]
    outside = touch(tmp_path / "other", "b_cal.fits")[0]
    asn = association_from_files([inside, outside])
    out = write_association(asn, tmp_path / "out" / "asn.json")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["asn_type"] == "spec3" and doc["asn_pool"] == "none"
    assert doc["products"][0] == {
        "name": "a",
        "members": [
            {"expname": "sub/a_cal.fits", "exptype": "science"},
            {"expname": str(outside.resolve()), "exptype": "science"},
        ],
    }
    with pytest.raises(AssociationError, match="absolute path"):
        read_association(out)
    assert [m.path for m in read_association(out, allow_outside=True).members] == [
        inside.resolve(),
        outside.resolve(),
    ]


def test_write_refuses_overwrite(tmp_path: Path) -> None:
    asn = read_association(nod_asn(tmp_path))
    target = tmp_path / "asn_copy.json"
    target.write_text("keep me", encoding="utf-8")
    with pytest.raises(OutputError, match="exists"):
        write_association(asn, target)
    assert target.read_text(encoding="utf-8") == "keep me"
    write_association(asn, target, overwrite=True)
    assert read_association(target).product_name == asn.product_name


def test_write_bad_targets(tmp_path: Path) -> None:
    asn = read_association(nod_asn(tmp_path))
    with pytest.raises(OutputError, match="does not exist"):
        write_association(asn, tmp_path / "no" / "such" / "asn.json")
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        write_association(asn, tmp_path / "folder.json", overwrite=True)


@pytest.mark.skipif(not hasattr(os, "umask"), reason="POSIX permissions only")
def test_written_file_respects_umask(tmp_path: Path) -> None:
    asn = read_association(nod_asn(tmp_path))
    old = os.umask(0o022)
    try:
        out = write_association(asn, tmp_path / "perm_asn.json")
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644


# ------------------------------------------------------------------------------------------
# Product names: literal expectations from the reference document
# ------------------------------------------------------------------------------------------


def test_format_product_literals() -> None:
    assert format_product("test", source_id="s000000002") == "test_s000000002"
    template = "jw01345-o066_{source_id}_nirspec_f170lp-g235m"
    assert (
        format_product(template, source_id="s000004385")
        == "jw01345-o066_s000004385_nirspec_f170lp-g235m"
    )
    assert format_product(template) == template
    fs = "jw01309-o022_{source_id}_nirspec_f290lp-g395h-{slit_name}"
    assert (
        format_product(fs, source_id="s000000001", slit_name="s200a2-allslits")
        == "jw01309-o022_s000000001_nirspec_f290lp-g395h-s200a2-allslits"
    )
    assert format_product("t", z="1", a="2", m=None) == "t_2_1"
    assert format_product("x_{source_id}_y", source_id=None) == "x__y"


def test_format_product_rejects_positional_fields() -> None:
    with pytest.raises(ValueError, match="named fields"):
        format_product("a_{}", source_id="s1")


def test_product_name_keeps_case() -> None:
    assert product_name("MyTarget_{source_id}", source_id="s000000007") == "MyTarget_s000000007"
    assert product_name("T", slit_name="s200a1") == "T_s200a1"


def test_source_id_string_literals() -> None:
    assert source_id_string(2, exp_type="NIS_WFSS") == "s000000002"
    assert source_id_string(4385, exp_type="NRS_MSASPEC", source_name="4385_S") == "s000004385"
    assert source_id_string(12, exp_type="NRS_MSASPEC", source_name="12_BKG") == "b000000012"
    assert source_id_string(-42, exp_type="nrs_msaspec", source_name="slit_v42") == "v000000042"
    assert source_id_string(-42, exp_type="NRS_FIXEDSLIT") == "s000000-42"
    assert source_id_string(12, exp_type="NRS_FIXEDSLIT", source_name="BKG") == "s000000012"
    assert source_id_string(1234567890, exp_type="NRS_MSASPEC") == "s1234567890"


def test_slit_name_string_literal() -> None:
    assert slit_name_string(["S200A2", "S200A1", "S200A2", "s200a1"]) == "s200a2-s200a1"


# ------------------------------------------------------------------------------------------
# Parity with jwst 3.0.0
# ------------------------------------------------------------------------------------------

FORMAT_CASES: list[tuple[str, dict[str, Any]]] = [
    ("test", {"source_id": "s000000002"}),
    ("jw01345-o066_{source_id}_nirspec_f170lp-g235m", {"source_id": "s000004385"}),
    ("jw01345-o066_{source_id}_nirspec_f170lp-g235m", {}),
    (
        "jw1-o1_{target}-{source_id}_nirspec_clear-{slit_name}",
        {"source_id": "s1", "slit_name": "s200a1"},
    ),
    ("jw1-o1_{target}-{source_id}_nirspec_clear-{slit_name}", {"source_id": "s1"}),
    ("jw1_{source_id}", {"source_id": None}),
    ("jw1", {"source_id": None, "slit_name": "s200a1"}),
    ("t", {"z": "1", "a": "2", "m": "3"}),
    ("t", {"slit_name": "b", "source_id": "a"}),
    ("t_{expspcin}", {"expspcin": 3}),
    ("t", {"expspcin": 7}),
    ("t_{expspcin}", {"expspcin": "123"}),
    ("t_{n}", {"n": 5}),
    ("t_{n}", {"n": 5.0}),
    ("t", {"flag": True}),
    ("", {"source_id": "s1"}),
    ("", {}),
    ("t_{source_id:>12}", {}),
    ("t_{source_id:>12}", {"source_id": "s1"}),
    ("t_{source_id!r}", {"source_id": "x"}),
    ("t_{source_id}{source_id}", {"source_id": "x"}),
    ("{{lit}}_{a}", {"a": "xy", "b": "5"}),
    ("{a:{b}}", {"a": "xy", "b": "5"}),
    ("{a[0]}", {"a": "xy"}),
    ("{a[0]}", {}),
    ("MixedCase_{Source}", {"Source": "ID"}),
]


@pytest.fixture(scope="module")
def jwst_format_product() -> Any:
    jwst = pytest.importorskip("jwst")
    assert jwst.__version__.startswith("3.0.0")
    from jwst.associations.lib.rules_level3_base import format_product as reference

    return reference


@pytest.mark.parametrize(("template", "values"), FORMAT_CASES)
def test_format_product_parity(
    jwst_format_product: Any, template: str, values: dict[str, Any]
) -> None:
    assert format_product(template, **values) == jwst_format_product(template, **values)


@pytest.fixture(scope="module")
def spec3_pipeline() -> Any:
    pytest.importorskip("jwst")
    from jwst.pipeline.calwebb_spec3 import Spec3Pipeline

    return Spec3Pipeline


@pytest.mark.parametrize(
    ("source_id", "source_name"),
    [
        (1, "1_S"),
        (4385, "jw_4385"),
        (7, "7_BKG"),
        (-3, "slit_v3"),
        (-12345, "BKG_v"),
        (0, "0"),
        (123456789, "x"),
        (1234567890, "y"),
        (5, "bkg_lower"),
    ],
)
def test_mos_source_id_parity(spec3_pipeline: Any, source_id: int, source_name: str) -> None:
    slit = SimpleNamespace(source_id=source_id, source_name=source_name)
    # The method does not use `self`; it reads the first model of the source container.
    expected = spec3_pipeline._create_nrsmos_source_id(None, [slit])
    assert source_id_string(source_id, exp_type="NRS_MSASPEC", source_name=source_name) == expected


@pytest.mark.parametrize("source_id", [1, 42, 123456789, 9876543210])
@pytest.mark.parametrize("exp_type", ["NRS_FIXEDSLIT", "NIS_WFSS", "NRC_WFSS", "MIR_WFSS"])
def test_other_source_id_parity(spec3_pipeline: Any, source_id: int, exp_type: str) -> None:
    pytest.importorskip("jwst")
    import inspect

    # In 3.0.0 the pipeline builds FS/WFSS ids inline from the container key, str(source_id).
    source = inspect.getsource(spec3_pipeline.process)
    assert 'srcid = f"s{source_id:>09s}"' in source
    key = str(source_id)
    assert source_id_string(source_id, exp_type=exp_type) == f"s{key:>09s}"


@pytest.mark.parametrize(
    "names", [["S200A1"], ["S200A2", "S200A1", "S200A2"], ["s1600a1", "S1600A1", "S200B1"]]
)
def test_slit_name_parity(spec3_pipeline: Any, names: list[str]) -> None:
    models = [SimpleNamespace(name=n) for n in names]
    assert slit_name_string(names) == spec3_pipeline._create_nrsfs_slit_name(None, models)


def _save_tiny_model(path: Path) -> None:
    datamodels = pytest.importorskip("stdatamodels.jwst.datamodels")
    np = pytest.importorskip("numpy")
    with datamodels.ImageModel(np.zeros((2, 2), dtype="f4")) as model:
        model.save(path)


@pytest.mark.parametrize("filename", ["jw001_nrs1_cal.fits", "a_b_cal.v2.fits", "x_y_z_s2d.fits"])
def test_from_files_name_parity(tmp_path: Path, filename: str) -> None:
    pytest.importorskip("jwst")
    from jwst.datamodels import ModelContainer

    _save_tiny_model(tmp_path / filename)
    with ModelContainer([str(tmp_path / filename)]) as container:
        expected = container.asn_table["products"][0]["name"]
    assert association_from_files([tmp_path / filename]).product_name == expected


def test_written_association_opens_in_jwst(tmp_path: Path) -> None:
    pytest.importorskip("jwst")
    from jwst.datamodels import ModelContainer

    for name in [*SCI, BKG[0]]:
        _save_tiny_model(tmp_path / name)
    asn = association_from_files(
        [tmp_path / n for n in [*SCI, BKG[0]]],
        product_name="prod",
        exptypes=["science", "science", "background"],
    )
    out = write_association(asn, tmp_path / "prod_asn.json")
    with ModelContainer(out, asn_exptypes=["science"]) as container:
        assert len(container) == 2
        assert container.asn_table_name == "prod_asn.json"
        assert container.asn_table["products"][0]["name"] == "prod"
        assert [Path(m.meta.filename).name for m in container] == SCI
    ours = read_association(out)
    assert [m.expname for m in ours.science] == SCI
    assert [m.path for m in ours.members] == [m.path for m in asn.members]
    assert [m.exptype for m in ours.members] == ["science", "science", "background"]
