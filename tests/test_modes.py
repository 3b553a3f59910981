"""EXP_TYPE -> mode and the mode -> steps table."""

from __future__ import annotations

import pytest

from spec3nb.errors import ModeError
from spec3nb.modes import MODES, detect_mode, mode_for_exp_type, steps_for


@pytest.mark.parametrize("exp_type, name", [
    ("NRS_FIXEDSLIT", "nrs_fs"), ("NRS_MSASPEC", "nrs_mos"), ("NRS_IFU", "nrs_ifu"),
    ("MIR_LRS-FIXEDSLIT", "mir_lrs"), ("MIR_MRS", "mir_mrs"), ("NIS_SOSS", "nis_soss"),
    ("NIS_WFSS", "nis_wfss"), ("NRC_WFSS", "nrc_wfss"), ("mir_wfss", "mir_wfss"),
])
def test_exp_type_to_mode(exp_type: str, name: str) -> None:
    assert mode_for_exp_type(exp_type).name == name


@pytest.mark.parametrize("exp_type", ["NRS_BRIGHTOBJ", "NRC_TSGRISM", "MIR_LRS-SLITLESS"])
def test_tso_refused_with_pointer_to_tso3(exp_type: str) -> None:
    with pytest.raises(ModeError, match="time-series.*calwebb_tso3"):
        mode_for_exp_type(exp_type)


def test_soss_time_series_refused() -> None:
    with pytest.raises(ModeError, match="calwebb_tso3"):
        detect_mode(["NIS_SOSS"], tso=True)


def test_unknown_and_missing_refused() -> None:
    with pytest.raises(ModeError, match="NRC_IMAGE is not a Stage-3 spectroscopic mode.*image3"):
        mode_for_exp_type("NRC_IMAGE")
    with pytest.raises(ModeError, match="no EXP_TYPE"):
        mode_for_exp_type(None)
    with pytest.raises(ModeError, match="no science exposures"):
        detect_mode([])


def test_mixed_types_refused_naming_both() -> None:
    with pytest.raises(ModeError, match="first is NRS_IFU but others are MIR_MRS"):
        detect_mode(["NRS_IFU", "NRS_IFU", "MIR_MRS"])


def test_first_member_decides() -> None:
    assert detect_mode(["nrs_msaspec", "NRS_MSASPEC"]).name == "nrs_mos"


# The table of architecture.md section 3, written out independently of modes.py.
EXPECTED = {
    "nrs_fs": ["exp_to_source", "outlier_detection", "resample_spec", "extract_1d"],
    "nrs_mos": ["exp_to_source", "outlier_detection", "resample_spec", "extract_1d"],
    "nrs_ifu": ["outlier_detection", "cube_build", "extract_1d"],
    "mir_lrs": ["outlier_detection", "resample_spec", "extract_1d"],
    "mir_mrs": ["mrs_imatch", "outlier_detection", "cube_build", "extract_1d", "spectral_leak"],
    "nis_soss": ["extract_1d", "combine_1d"],
    "nis_wfss": ["exp_to_source", "extract_1d", "combine_1d"],
    "nrc_wfss": ["exp_to_source", "extract_1d", "combine_1d"],
}
BACKGROUND_MODES = {"nrs_fs", "nrs_ifu", "mir_lrs", "mir_mrs"}


@pytest.mark.parametrize("mode", sorted(EXPECTED))
def test_step_table(mode: str) -> None:
    assert list(steps_for(mode)) == EXPECTED[mode]
    moving = steps_for(MODES[mode], moving=True, background=True)
    assert moving[0] == "assign_mtwcs"
    assert ("master_background" in moving) == (mode in BACKGROUND_MODES)


def test_unknown_mode_name() -> None:
    with pytest.raises(ModeError, match="unknown mode 'nrs_xx'"):
        steps_for("nrs_xx")
