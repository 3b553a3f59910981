"""``spec3nb run`` writes the same files (names and datamodel types) as jwst 3.0.0's
calwebb_spec3 on the same association."""

from __future__ import annotations

from pathlib import Path

import pytest
from astropy.io import fits

from spec3nb.cli import main
from spec3nb.datamodels import read_product
from spec3nb.simulate import simulate_to

from .harness import assert_tables_match

NA = "N/A"
# Offline, every reference type the pipeline prefetches must be overridden.
JWST_STEPS = {
    "extract_1d": {"override_extract1d": NA, "override_apcorr": NA, "override_psf": NA,
                   "override_pastasoss": NA, "override_speckernel": NA,
                   "override_specprofile": NA},
    "cube_build": {"override_cubepar": NA}, "spectral_leak": {"override_mrsptcorr": NA},
    "photom": {"override_photom": NA, "override_area": NA},
}


def _types(folder: Path) -> dict[str, str]:
    return {p.name: fits.getval(p, "DATAMODL") for p in sorted(folder.glob("*.fits"))}


@pytest.mark.parametrize("mode", ["mir_lrs", "nrs_fs"])
def test_same_products_as_calwebb_spec3(mode: str, tmp_path: Path, jwst_offline,
                                        monkeypatch) -> None:
    from jwst.pipeline import Spec3Pipeline

    asn = simulate_to(tmp_path / "data", mode, seed=1)
    theirs, ours = tmp_path / "jwst", tmp_path / "ours"
    theirs.mkdir()
    monkeypatch.chdir(tmp_path)
    Spec3Pipeline.call(str(asn), output_dir=str(theirs), save_results=True, steps=JWST_STEPS)
    assert main(["run", str(asn), "-o", str(ours), "-q"]) == 0
    assert _types(ours) == _types(theirs)
    assert len(_types(ours)) >= 4
    for x1d in sorted(theirs.glob("*_x1d.fits")):
        mine, ref = read_product(ours / x1d.name), read_product(x1d)
        for a, b in zip(mine.parts, ref.parts, strict=True):
            assert_tables_match(a.table, b.table, rtol=1e-6, atol=0.0,
                                columns=["WAVELENGTH", "FLUX", "FLUX_ERROR", "SURF_BRIGHT",
                                         "DQ", "NPIXELS"])


def test_mrs_same_products_as_calwebb_spec3(tmp_path: Path, jwst_offline, monkeypatch) -> None:
    """MIRI MRS: the cube and x1d names and types equal jwst's (extraction with the same
    IFU extract1d reference on both sides)."""
    from jwst.pipeline import Spec3Pipeline

    from tests.parity.test_simulated_ifu import _extract1d_reference

    asn = simulate_to(tmp_path / "data", "mir_mrs", seed=1)
    cubepar = next((tmp_path / "data").glob("*_cubepar.fits"))
    reference = _extract1d_reference(tmp_path / "extract1d_ifu.asdf")
    steps = {**JWST_STEPS, "cube_build": {"override_cubepar": str(cubepar)},
             "extract_1d": {**JWST_STEPS["extract_1d"], "override_extract1d": str(reference),
                            "ifu_rfcorr": False}}
    theirs, ours = tmp_path / "jwst", tmp_path / "ours"
    theirs.mkdir()
    monkeypatch.chdir(tmp_path)
    Spec3Pipeline.call(str(asn), output_dir=str(theirs), save_results=True, steps=steps)
    assert main(["run", str(asn), "-o", str(ours), "-q",
                 "--set", f"cube_build.override_cubepar={cubepar}",
                 "--set", f"extract_1d.override_extract1d={reference}",
                 "--set", "extract_1d.ifu_rfcorr=false"]) == 0
    assert _types(ours) == _types(theirs)
    assert any(name.endswith("_s3d.fits") for name in _types(ours))
