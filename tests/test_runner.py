"""Running one step on files: names, safety, and the products written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from spec3nb.datamodels import read_product
from spec3nb.errors import AssociationError, InputFileError, OutputError, ParameterError
from spec3nb.runner import load_inputs, run_step

EXPECTED = [
    "jw01234-o001_t001-s000000001_nirspec_f290lp-g395h-s200a1_cal.fits",
    "jw01234-o001_t001-s000000002_nirspec_f290lp-g395h-s200a1_cal.fits",
]


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_load_inputs_sets_association_metadata(fs_dataset: Path) -> None:
    inputs = load_inputs([fs_dataset])
    assert len(inputs.science) == 2
    first = inputs.products[0]
    assert first.get("asn.exptype") == "science"
    assert first.get("asn.table_name") == fs_dataset.name
    assert first.get("asn.pool_name") == "jw01234_pool"


def test_exp_to_source_writes_source_based_cal_files(fs_dataset: Path, tmp_path: Path) -> None:
    before = _digests(fs_dataset.parent)
    result, written = run_step("exp_to_source", [fs_dataset], tmp_path / "out")
    assert result.status == "COMPLETE"
    assert [p.name for p in written] == EXPECTED
    product = read_product(written[0])
    assert product.model_type == "MultiExposureModel"
    assert len(product.parts) == 2
    assert product.filename == EXPECTED[0]
    assert _digests(fs_dataset.parent) == before  # inputs untouched


def test_file_list_names_after_first_file(fs_dataset: Path, tmp_path: Path) -> None:
    # The file-list template has no placeholders, so jwst appends the fields in sorted
    # key order: slit_name, then source_id.
    files = sorted(fs_dataset.parent.glob("*_cal.fits"))
    _, written = run_step("exp_to_source", files, tmp_path / "out")
    assert [p.name for p in written] == [
        "jw01234001001_03101_00001_nrs1_s200a1_s000000001_cal.fits",
        "jw01234001001_03101_00001_nrs1_s200a1_s000000002_cal.fits",
    ]


def test_existing_outputs_kept_unless_overwrite(fs_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _, written = run_step("exp_to_source", [fs_dataset], out)
    stamp = written[1].stat().st_mtime_ns
    with pytest.raises(OutputError, match="exists already"):
        run_step("exp_to_source", [fs_dataset], out)
    assert written[1].stat().st_mtime_ns == stamp
    _, again = run_step("exp_to_source", [fs_dataset], out, overwrite=True)
    assert again == written
    assert not list(out.glob(".spec3nb-*"))  # no temporary folders left behind


def test_an_input_is_never_an_output(fs_dataset: Path) -> None:
    # A template that names the output after an input file must be refused, even with
    # overwrite.
    data = json.loads(fs_dataset.read_text())
    data["products"][0]["name"] = "jw01234001001_03101_00001_nrs1"
    members = data["products"][0]["members"]
    data["products"][0]["members"] = members[:1]
    fs_dataset.write_text(json.dumps(data))
    clash = fs_dataset.parent / "jw01234001001_03101_00001_nrs1_s200a1_s000000001_cal.fits"
    clash.write_bytes((fs_dataset.parent / members[0]["expname"]).read_bytes())
    data["products"][0]["members"].append({"expname": clash.name, "exptype": "background"})
    fs_dataset.write_text(json.dumps(data))
    before = clash.read_bytes()
    with pytest.raises(OutputError, match="is an input of this run"):
        run_step("exp_to_source", [fs_dataset], fs_dataset.parent, overwrite=True)
    assert clash.read_bytes() == before


def test_bad_parameter_fails_before_reading(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="exp_to_source: parameter 'snr': unknown"):
        run_step("exp_to_source", [tmp_path / "missing_asn.json"], tmp_path, {"snr": "5"})


def test_member_outside_the_folder_refused(fs_dataset: Path, tmp_path: Path) -> None:
    data = json.loads(fs_dataset.read_text())
    data["products"][0]["members"][0]["expname"] = "../elsewhere_cal.fits"
    fs_dataset.write_text(json.dumps(data))
    with pytest.raises(AssociationError, match="outside"):
        run_step("exp_to_source", [fs_dataset], tmp_path / "out")


def test_combine_1d_on_files_names_after_the_first(tmp_path: Path) -> None:
    from spec3nb.datamodels import write_product
    from tests.parity.test_combine1d_parity import GRID, x1d

    names = ["jw01_00001_mirimage_x1d.fits", "jw01_00002_mirimage_x1d.fits"]
    for seed, name in enumerate(names):
        write_product(x1d(GRID, seed=seed), tmp_path / name)
    result, written = run_step("combine_1d", [tmp_path / n for n in names], tmp_path / "out",
                               {"exptime_key": "unit_weight"})
    assert [p.name for p in written] == ["jw01_00001_mirimage_c1d.fits"]
    combined = read_product(written[0])
    assert combined.model_type == "MultiCombinedSpecModel"
    assert combined.wcs is not None and combined.get("cal_step.combine_1d") == "COMPLETE"


def test_user_background_file_is_read_by_the_runner(tmp_path: Path) -> None:
    from spec3nb.asn import read_association
    from spec3nb.simulate import simulate_to

    asn_path = simulate_to(tmp_path / "data", "mir_lrs", seed=4, background="dedicated")
    asn = read_association(asn_path)
    user = asn.background[0].path
    science = [m.path for m in asn.science]
    result, written = run_step("master_background", science, tmp_path / "out",
                               {"user_background": str(user)})
    assert result.status == "COMPLETE"
    assert [p.name for p in written] == [p.name.replace("_cal", "_mbsub") for p in science]
    product = read_product(written[0])
    assert product.get("background.master_background_file") == user.name
    assert product.get("cal_step.master_background") == "COMPLETE"


def test_output_wcs_file_is_read_by_the_runner(tmp_path: Path) -> None:
    import asdf

    from spec3nb.simulate import simulate_to
    from spec3nb.steps.resample_spec import resample_spec

    asn_path = simulate_to(tmp_path / "data", "mir_lrs", seed=4)
    inputs = load_inputs([asn_path]).products
    built = resample_spec(inputs).products[0].part
    grid = tmp_path / "grid.asdf"
    asdf.AsdfFile({"wcs": built.wcs}).write_to(grid)
    ny, nx = built.data.shape
    result, written = run_step("resample_spec", [asn_path], tmp_path / "out",
                               {"output_wcs": str(grid), "output_shape": f"{nx} {ny + 6}"})
    assert result.status == "COMPLETE"
    assert read_product(written[0]).part.data.shape == (ny + 6, nx)
    with pytest.raises(InputFileError, match="output_wcs file not found"):
        run_step("resample_spec", [asn_path], tmp_path / "out2",
                 {"output_wcs": str(tmp_path / "missing.asdf")})


READERS = """
import json, os, sys
import numpy as np
from spec3nb.parallel import fork_safe
from spec3nb.runner import read_products
from spec3nb.errors import InputFileError

paths = sys.argv[1:]
forked = read_products(paths)  # one forked reader per file
serial = read_products(paths, processes=1)
same = all(
    a.model_type == b.model_type and a.meta == b.meta and len(a.parts) == len(b.parts)
    and all(np.array_equal(pa.arrays[k], pb.arrays[k], equal_nan=True)
            and str(pa.wcs) == str(pb.wcs) for pa, pb in zip(a.parts, b.parts)
            for k in pa.arrays)
    for a, b in zip(forked, serial))
bad = paths[0] + ".broken"
open(bad, "wb").write(open(paths[0], "rb").read()[:5000])
try:
    read_products([paths[1], bad])
except InputFileError as exc:
    error = [type(exc).__name__, exc.path, str(exc)]
print(json.dumps({"safe": fork_safe(), "same": same, "n": len(forked), "error": error}))
"""


def test_read_products_in_forked_readers(fs_dataset: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    paths = [str(tmp_path / p.name) for p in sorted(fs_dataset.parent.glob("*_cal.fits"))]
    for path, original in zip(paths, sorted(fs_dataset.parent.glob("*_cal.fits")),
                              strict=True):
        Path(path).write_bytes(original.read_bytes())
    # A fresh interpreter: single-threaded, so the readers are forked.
    out = subprocess.run([sys.executable, "-c", READERS, *paths], check=True,
                         capture_output=True, text=True).stdout
    found = json.loads(out)
    assert found["safe"] and found["n"] == len(paths) >= 2
    assert found["same"]  # the pickled products equal those read here
    # The reader's error crosses back whole: its class, the file, the message.
    assert found["error"][0] == "InputFileError"
    assert found["error"][1].endswith(".broken") and "truncated" in found["error"][2]


def test_errors_pickle_with_their_fields() -> None:
    import pickle

    from spec3nb.errors import InputFileError

    error = pickle.loads(pickle.dumps(InputFileError("/x/a.fits", "truncated", "SCI")))
    assert (error.path, error.problem, error.extension) == ("/x/a.fits", "truncated", "SCI")
    assert str(error) == "/x/a.fits [SCI]: truncated"
    parameter = pickle.loads(pickle.dumps(ParameterError("extract_1d", "width", "bad")))
    assert str(parameter) == "extract_1d: parameter 'width': bad"
    association = pickle.loads(pickle.dumps(AssociationError("/x/asn.json", "empty")))
    assert association.problem == "empty"
