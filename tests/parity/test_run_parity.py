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
