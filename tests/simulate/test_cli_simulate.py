"""``spec3nb simulate`` for every mode: a complete, readable, deterministic dataset."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from spec3nb.asn import read_association
from spec3nb.cli import main
from spec3nb.datamodels import read_product
from spec3nb.modes import detect_mode
from spec3nb.simulate import SIM_MODES, read_truth

MODEL = {
    "nrs_fs": "MultiSlitModel", "nrs_mos": "MultiSlitModel", "nis_wfss": "MultiSlitModel",
    "nrc_wfss": "MultiSlitModel", "nrs_ifu": "IFUImageModel", "mir_mrs": "IFUImageModel",
    "mir_lrs": "SlitModel", "nis_soss": "CubeModel",
}


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("mode", SIM_MODES)
def test_every_mode_from_the_command_line(mode: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / mode
    assert main(["simulate", mode, "-o", str(out), "--seed", "3"]) == 0
    asn_path = Path(capsys.readouterr().out.strip())
    asn = read_association(asn_path)
    assert asn.product_name == asn.product_name.lower()
    products = [read_product(m.path) for m in asn.science]
    assert {p.model_type for p in products} == {MODEL[mode]}
    assert detect_mode([p.exp_type for p in products]).name == mode
    assert all(part.wcs is not None for p in products for part in p.parts)
    truth = read_truth(out)
    assert truth.mode == mode and truth.seed == 3 and truth.sources
    assert [e.filename for e in truth.exposures] == [p.filename for p in products]
    size = sum(p.stat().st_size for p in out.iterdir())
    assert size < 5 * 2**20, f"{mode}: {size / 2**20:.1f} MB"


@pytest.mark.parametrize("mode", ["mir_lrs", "nrs_fs"])
def test_same_seed_same_bytes(mode: str, tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert main(["simulate", mode, "-o", str(tmp_path / name), "--seed", "5"]) == 0
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    assert main(["simulate", mode, "-o", str(tmp_path / "c"), "--seed", "6"]) == 0
    assert _digests(tmp_path / "a") != _digests(tmp_path / "c")


def test_refuses_to_overwrite(tmp_path: Path, capsys) -> None:
    assert main(["simulate", "mir_lrs", "-o", str(tmp_path)]) == 0
    assert main(["simulate", "mir_lrs", "-o", str(tmp_path)]) == 2
    assert "exists already" in capsys.readouterr().err
    assert main(["simulate", "mir_lrs", "-o", str(tmp_path), "--overwrite"]) == 0


def test_bad_options_are_one_line(tmp_path: Path, capsys) -> None:
    assert main(["simulate", "mir_lrs", "-o", str(tmp_path), "--nexp", "0"]) == 2
    err = capsys.readouterr().err
    assert "nexp must be at least 1" in err and err.count("\n") == 1


def test_full_sizes_are_real_detector_sizes() -> None:
    from spec3nb.simulate import simulate

    lrs = simulate("mir_lrs", size="full", nexp=1).exposures[0]
    assert lrs.part.data.shape == (1024, 1032)
    mrs = simulate("mir_mrs", size="full", nexp=1).exposures
    assert {p.part.data.shape for p in mrs} == {(1024, 1032)}
    assert {p.get("instrument.detector") for p in mrs} == {"MIRIFUSHORT", "MIRIFULONG"}
    ifu = simulate("nrs_ifu", size="full", nexp=1).exposures
    assert {p.part.data.shape for p in ifu} == {(2048, 2048)}
    assert {p.get("instrument.detector") for p in ifu} == {"NRS1", "NRS2"}
    fs = simulate("nrs_fs", size="full", nexp=1).exposures[0]
    for slit in fs.parts:
        a = slit.attrs
        assert a["xstart"] >= 1 and a["xstart"] + a["xsize"] - 1 <= 2048
        assert a["ystart"] >= 1 and a["ystart"] + a["ysize"] - 1 <= 2048
    soss = simulate("nis_soss", size="full", nexp=1).exposures[0]
    assert soss.part.data.shape[1:] == (256, 2048)
