"""Every mode that spec3nb completes, end to end on simulated data with the real steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spec3nb.datamodels import read_product
from spec3nb.session import Spec3Session
from spec3nb.simulate import read_truth, simulate_to

# mode -> suffixes of the products written (counts checked against the data below)
EXPECTED = {
    "mir_lrs": {"crf", "s2d", "x1d"},
    "nrs_fs": {"cal", "crf", "s2d", "x1d"},
    "nrs_mos": {"cal", "crf", "s2d", "x1d"},
    "nis_soss": {"x1d", "c1d"},
    "nis_wfss": {"x1d", "c1d"},
    "nrc_wfss": {"x1d", "c1d"},
    "mir_mrs": {"crf", "s3d", "x1d"},
    "nrs_ifu": {"crf", "s3d", "x1d"},
}


@pytest.mark.parametrize("mode", sorted(EXPECTED))
def test_mode_end_to_end(mode: str, tmp_path: Path) -> None:
    simulate_to(tmp_path / "data", mode, seed=7)
    session = Spec3Session.from_simulation(tmp_path / "data")
    written = session.save(tmp_path / "out")
    assert session.errors == {}
    suffixes = {p.stem.rsplit("_", 1)[1] for p in written}
    assert suffixes == EXPECTED[mode]
    for path in written:
        assert read_product(path).model_type  # every file opens as a product
    if mode == "mir_mrs":
        assert sorted(p.name for p in written if p.name.endswith("_s3d.fits")) == [
            "jw01234-o001_t001_miri_ch1-short_s3d.fits",
            "jw01234-o001_t001_miri_ch2-short_s3d.fits"]
    if mode == "nrs_ifu":
        assert "jw01234-o001_t001_nirspec_g395h-f290lp_s3d.fits" in {p.name for p in written}
    if session.mode.kind == "wfss":
        assert len(written) == 2  # all sources in one x1d and one c1d, as calwebb_spec3
        c1d = read_product(next(p for p in written if p.name.endswith("_c1d.fits")))
        nsources = len(read_truth(tmp_path / "data").sources)
        assert max(len(part.table) for part in c1d.parts) >= min(nsources, 3)


def test_lrs_flux_matches_the_truth(tmp_path: Path) -> None:
    simulate_to(tmp_path / "data", "mir_lrs", seed=8)
    truth = read_truth(tmp_path / "data").sources[0]
    session = Spec3Session.from_simulation(tmp_path / "data").run()
    x1d = next(p for n, p in session.products.items() if n.endswith("_x1d.fits"))
    table = x1d.parts[0].table
    good = (table["FLUX"] / table["FLUX_ERROR"] > 50) & np.isfinite(table["FLUX"])
    expected = truth.spectrum(table["WAVELENGTH"][good]) * 1e-3  # mJy -> Jy
    ratio = table["FLUX"][good] / expected
    assert good.sum() > 50
    assert abs(np.median(ratio) - 1) < 0.02


# The nodes of every mode's session, in order (the step table plus what jwst 3.0.0 adds).
WIRING = {
    "nrs_fs": ["exp_to_source", "outlier_detection", "pixel_replace", "resample_spec",
               "extract_1d", "combine_1d"],
    "nrs_mos": ["exp_to_source", "outlier_detection", "pixel_replace", "resample_spec",
                "extract_1d", "combine_1d"],
    "mir_lrs": ["outlier_detection", "pixel_replace", "resample_spec", "extract_1d",
                "combine_1d"],
    "nrs_ifu": ["outlier_detection", "pixel_replace", "cube_build", "extract_1d"],
    "mir_mrs": ["mrs_imatch", "outlier_detection", "pixel_replace", "cube_build", "extract_1d",
                "spectral_leak"],
    "nis_soss": ["pixel_replace", "extract_1d", "photom", "combine_1d"],
    "nis_wfss": ["exp_to_source", "pixel_replace", "extract_1d", "combine_1d"],
    "nrc_wfss": ["exp_to_source", "pixel_replace", "extract_1d", "combine_1d"],
}


@pytest.mark.parametrize("mode", sorted(WIRING))
def test_wiring_of_every_mode(mode: str, tmp_path: Path) -> None:
    simulate_to(tmp_path, mode, seed=1, nexp=2)
    session = Spec3Session.from_simulation(tmp_path)
    assert list(session.step_names) == WIRING[mode]
    assert session.graph.order() == ["inputs", *WIRING[mode]]


def test_moving_target_and_background_add_their_steps(tmp_path: Path) -> None:
    simulate_to(tmp_path, "mir_lrs", seed=1, moving=True, background="dedicated")
    session = Spec3Session.from_simulation(tmp_path)
    assert session.step_names[:2] == ("assign_mtwcs", "master_background")
