"""Reference files given as override_<reftype>: none, N/A, missing, unknown type."""

from __future__ import annotations

import pytest

from spec3nb.datamodels.references import NOT_APPLICABLE, load_reference
from spec3nb.errors import InputFileError, ParameterError
from spec3nb.steps.spec import StepResult, StepSpec


def test_none_means_default_and_na_means_none() -> None:
    assert load_reference("extract1d", None) is None
    assert load_reference("apcorr", "n/a") == NOT_APPLICABLE


def test_missing_and_unreadable(tmp_path) -> None:
    with pytest.raises(InputFileError, match=r"nope\.json: extract1d reference file not found"):
        load_reference("extract1d", tmp_path / "nope.json")
    odd = tmp_path / "odd.fits"
    odd.write_bytes(b"x")
    with pytest.raises(InputFileError, match="spec3nb cannot read flat reference files"):
        load_reference("flat", odd)


def test_step_takes_loaded_references_not_paths() -> None:
    seen = {}

    def step(inputs, *, references):
        seen.update(references)
        return StepResult(())

    spec = StepSpec("demo", "", step, reference_types=("apcorr",))
    spec.run([], references={"apcorr": NOT_APPLICABLE})
    assert seen == {"apcorr": NOT_APPLICABLE}
    with pytest.raises(ParameterError, match="override_apcorr.*references= instead"):
        spec.run([], override_apcorr="some.fits")


def test_mrsptcorr_loads_its_leak_table(tmp_path) -> None:
    from tests.steps.mrsptcorr_factory import write_mrsptcorr

    table = load_reference("mrsptcorr", write_mrsptcorr(tmp_path / "leak.fits"))
    assert table.dtype.names == ("wavelength", "frac_leak", "err_leak")
    assert load_reference("mrsptcorr", "N/A") == NOT_APPLICABLE
