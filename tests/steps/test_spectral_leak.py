"""spectral_leak: what is corrected, what is left alone, when it skips, bad references,
and its place in the MIRI MRS session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spec3nb.datamodels import Part, tables
from spec3nb.datamodels.references import NOT_APPLICABLE, load_reference
from spec3nb.errors import InputFileError
from spec3nb.steps import STEPS
from spec3nb.steps.spec import COMPLETE, StepOutput, StepResult, StepSpec
from spec3nb.steps.spectral_leak import SPEC, spectral_leak
from tests.parity.test_param_defaults import mismatches
from tests.steps.mrsptcorr_factory import leak_fraction, write_mrsptcorr

# Wavelength ranges (micron) of the MRS bands the tests use.
RANGES = {("1", "SHORT"): (4.9, 5.74), ("1", "MEDIUM"): (5.66, 6.63),
          ("1", "LONG"): (6.53, 7.65), ("3", "SHORT"): (11.55, 13.47),
          ("3", "MEDIUM"): (13.34, 15.57), ("1", "MULTIPLE"): (4.9, 7.65),
          ("3", "MULTIPLE"): (11.55, 17.98), ("1234", "MULTIPLE"): (4.9, 27.9)}


def source_flux(wave):
    """A point source's smooth spectrum (Jy)."""
    wave = np.asarray(wave, dtype=float)
    return 0.02 + 0.001 * wave + 0.002 * np.sin(wave)


def mrs_x1d(channel: str, band: str, *, mrs: bool = True, npoints: int = 200,
            source_type: str = "POINT", name: str | None = None, nan_edges: int = 0):
    """An x1d of one MRS band holding :func:`source_flux` (RF_FLUX slightly different)."""
    wave = np.linspace(*RANGES[(channel, band)], npoints)
    flux = source_flux(wave)
    flux[:nan_edges] = np.nan  # extraction edges are often NaN
    columns = {"flux": flux, "flux_error": 0.01 * flux, "surf_bright": 1e3 * flux,
               "dq": np.zeros(npoints, "u4")}
    if mrs:
        columns["rf_flux"] = 1.01 * flux
    table = tables.spec_table(wave, mrs=mrs, units=tables.spectrum_units(True, True),
                              **columns)
    meta = {"filename": name or f"jw01234-o001_t001_miri_ch{channel}-{band.lower()}_x1d.fits",
            "telescope": "JWST",
            "instrument": {"name": "MIRI", "detector": "MIRIFULONG", "channel": channel,
                           "band": band},
            "exposure": {"type": "MIR_MRS"},
            "observation": {"date": "2024-04-15", "time": "06:00:00.000"}}
    part = Part(arrays={"spec_table": table},
                attrs={"source_type": source_type, "spectral_order": 1, "name": "MIR_MRS"})
    return tables.spectrum_product([part], meta,
                                   "MRSMultiSpecModel" if mrs else "MultiSpecModel")


@pytest.fixture(scope="module")
def leakcor(tmp_path_factory):
    path = write_mrsptcorr(tmp_path_factory.mktemp("ref") / "mrsptcorr.fits")
    return load_reference("mrsptcorr", path)


def band_set(mrs: bool = True):
    return [mrs_x1d(c, b, mrs=mrs) for c, b in (("1", "SHORT"), ("1", "MEDIUM"), ("1", "LONG"),
                                               ("3", "SHORT"), ("3", "MEDIUM"))]


def _flux(product, column="FLUX"):
    return np.asarray(product.parts[0].table[column])


def test_no_parameters_but_the_reference_as_jwst() -> None:
    assert [p.name for p in SPEC.params] == []
    assert list(SPEC.all_params) == ["override_mrsptcorr"]
    assert mismatches(SPEC) == []
    assert STEPS["spectral_leak"] is SPEC


def test_channel_3a_is_corrected_by_the_1b_leak(leakcor) -> None:
    inputs = band_set()
    result = spectral_leak(inputs, references={"mrsptcorr": leakcor})
    assert result.status == COMPLETE
    assert [(o.suffix, o.origin) for o in result.outputs] == [("x1d", i) for i in range(5)]
    ch3a = result.products[3]
    wave = _flux(inputs[3], "WAVELENGTH")
    # the 1B flux at half the wavelength (held at its last value beyond 2 x 6.63 um)
    fraction = np.interp(wave, leakcor["wavelength"], leakcor["frac_leak"])
    np.testing.assert_allclose(fraction, leak_fraction(np.clip(wave, 11.5, 13.5)), rtol=0.03,
                               atol=1e-6)  # the table holds the simulated leak
    expected_leak = source_flux(np.clip(wave / 2, 5.66, 6.63)) * fraction
    np.testing.assert_allclose(_flux(inputs[3]) - _flux(ch3a), expected_leak, rtol=2e-4,
                               atol=1e-9)
    np.testing.assert_allclose(_flux(inputs[3], "RF_FLUX") - _flux(ch3a, "RF_FLUX"),
                               1.01 * expected_leak, rtol=2e-4, atol=1e-9)
    assert (_flux(inputs[3]) - _flux(ch3a)).max() > 1e-4  # a visible correction
    assert ch3a.get("cal_step.spectral_leak") == "COMPLETE"
    for column in ("FLUX_ERROR", "SURF_BRIGHT", "WAVELENGTH"):
        np.testing.assert_array_equal(_flux(ch3a, column), _flux(inputs[3], column))


def test_other_bands_are_left_alone_and_inputs_not_modified(leakcor) -> None:
    inputs = band_set()
    before = [p.parts[0].table.copy() for p in inputs]
    result = spectral_leak(inputs, references={"mrsptcorr": leakcor})
    for i in (0, 1, 2, 4):
        assert result.products[i] is inputs[i]  # untouched, no status either (as jwst)
        assert result.products[i].get("cal_step.spectral_leak") is None
    for product, table in zip(inputs, before, strict=True):
        np.testing.assert_array_equal(product.parts[0].table["FLUX"], table["FLUX"])


def test_rf_flux_only_when_both_are_mrs_models(leakcor) -> None:
    inputs = [mrs_x1d("1", "MEDIUM", mrs=False), mrs_x1d("3", "SHORT")]
    result = spectral_leak(inputs, references={"mrsptcorr": leakcor})
    ch3a = result.products[1]
    np.testing.assert_array_equal(_flux(ch3a, "RF_FLUX"), _flux(inputs[1], "RF_FLUX"))
    assert not np.array_equal(_flux(ch3a), _flux(inputs[1]))


@pytest.mark.parametrize("channels", [("1", "3"), ("1234",)])
def test_multiple_band_spectra_spanning_6_and_12_micron(leakcor, channels) -> None:
    inputs = [mrs_x1d(c, "MULTIPLE") for c in channels]
    result = spectral_leak(inputs, references={"mrsptcorr": leakcor})
    assert result.status == COMPLETE
    corrected = result.products[-1]
    assert corrected.get("cal_step.spectral_leak") == "COMPLETE"
    removed = _flux(inputs[-1]) - _flux(corrected)
    wave = _flux(inputs[-1], "WAVELENGTH")
    assert np.all(removed >= 0)
    assert 11.7 < wave[np.argmax(removed)] < 12.7  # the leak's peak
    if channels == ("1234",):
        # jwst quirk kept: outside the LEAKCOR range np.interp holds its edge fractions,
        # so a multi-channel spectrum loses frac_leak[0] of its "1B" flux below 11.5 um too
        ch1b = np.interp(wave, 2 * wave, _flux(inputs[0]))
        low = wave < 11.5
        np.testing.assert_allclose(removed[low], ch1b[low] * leakcor["frac_leak"][0],
                                   rtol=1e-12)


@pytest.mark.parametrize("case", ["no 3A", "no 1B", "extended", "not a spectrum",
                                  "multiple not spanning"])
def test_skips_leave_every_input_unchanged(leakcor, case: str) -> None:
    inputs = band_set()
    if case == "no 3A":
        inputs = inputs[:3]
    elif case == "no 1B":
        inputs = inputs[3:]
    elif case == "extended":
        inputs[4] = inputs[4].evolve(parts=[inputs[4].parts[0].evolve(
            attrs={"source_type": "EXTENDED"})])
    elif case == "not a spectrum":
        inputs[0] = inputs[0].evolve(model_type="IFUCubeModel")
    else:  # a channel-1 multi-band spectrum that stops before 6 micron is no 1B
        inputs = [mrs_x1d("1", "SHORT").evolve(meta={"instrument.band": "MULTIPLE"}),
                  mrs_x1d("3", "SHORT")]
    result = spectral_leak(inputs, references={"mrsptcorr": leakcor})
    assert result.status == "SKIPPED"
    assert {"no 3A": "no 3A", "no 1B": "no 1B", "extended": "extended",
            "not a spectrum": "IFUCubeModel", "multiple not spanning": "no 1B"}[case] \
        in result.reason
    for before, after in zip(inputs, result.products, strict=True):
        assert after.get("cal_step.spectral_leak") == "SKIPPED"
        np.testing.assert_array_equal(_flux(after), _flux(before))


@pytest.mark.parametrize("reference", [None, NOT_APPLICABLE])
def test_without_a_reference_it_skips_and_says_how_to_give_one(reference) -> None:
    result = spectral_leak(band_set(), references={"mrsptcorr": reference})
    assert result.status == "SKIPPED" and "override_mrsptcorr" in result.reason


def test_an_x1d_without_spectrum_is_a_clear_error(leakcor) -> None:
    empty = mrs_x1d("1", "MEDIUM").evolve(parts=[], meta={"filename": "empty_x1d.fits"})
    with pytest.raises(InputFileError, match="empty_x1d.fits.*without a spectrum"):
        spectral_leak([empty, mrs_x1d("3", "SHORT")], references={"mrsptcorr": leakcor})


# ------------------------------------------------------------------------ the reference

def test_the_reference_loads_in_the_schema_precision(tmp_path: Path) -> None:
    path = write_mrsptcorr(tmp_path / "ref.fits")
    table = load_reference("mrsptcorr", path)
    assert table.dtype["frac_leak"] == np.float32 and table.size == 81
    assert table.dtype.metadata["source"] == str(path)
    np.testing.assert_allclose(table["frac_leak"], leak_fraction(table["wavelength"]),
                               rtol=1e-5, atol=1e-9)


def test_bad_references_are_clear_errors(tmp_path: Path) -> None:
    from astropy.io import fits

    junk = tmp_path / "junk.fits"
    junk.write_bytes(b"not fits at all")
    with pytest.raises(InputFileError, match="junk.fits.*MRSPTCORR"):
        load_reference("mrsptcorr", junk)
    other = tmp_path / "other.fits"
    fits.HDUList([fits.PrimaryHDU()]).writeto(other)
    with pytest.raises(InputFileError, match=r"other.fits \[LEAKCOR\]: no LEAKCOR table"):
        load_reference("mrsptcorr", other)
    columns = tmp_path / "columns.fits"
    hdu = fits.BinTableHDU.from_columns([fits.Column("wavelength", "E", array=[12.0, 13.0])],
                                        name="LEAKCOR")
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(columns)
    with pytest.raises(InputFileError, match=r"\[LEAKCOR\]: column\(s\) frac_leak missing"):
        load_reference("mrsptcorr", columns)
    unsorted = write_mrsptcorr(tmp_path / "unsorted.fits", wave=np.array([12.0, 11.0, 13.0]),
                               frac=np.array([0.01, 0.02, 0.03]))
    with pytest.raises(InputFileError, match="unsorted.fits.*do not increase"):
        load_reference("mrsptcorr", unsorted)
    with pytest.raises(InputFileError, match="mrsptcorr reference file not found"):
        load_reference("mrsptcorr", tmp_path / "missing.fits")


# ---------------------------------------------------------------------- in the session

def _label_as_1b_3a(inputs):
    """extract_1d stand-in: one x1d per cube, the first labelled 1B, the second 3A."""
    labels = [("1", "MEDIUM"), ("3", "SHORT")]
    outputs = [StepOutput(mrs_x1d(*labels[i % 2]), "x1d", origin=i)
               for i in range(len(inputs))]
    return StepResult(tuple(outputs), COMPLETE)


def test_mrs_session_with_band_cubes_runs_it_when_given_a_reference(tmp_path: Path) -> None:
    from spec3nb.session import Spec3Session
    from spec3nb.simulate import simulate_to

    simulate_to(tmp_path / "data", "mir_mrs", seed=1, nexp=2)
    steps = {**STEPS, "extract_1d": StepSpec("extract_1d", "", _label_as_1b_3a)}
    session = Spec3Session.from_simulation(tmp_path / "data", steps=steps)
    assert session.step_names[-2:] == ("extract_1d", "spectral_leak")
    session["cube_build"].set_param("output_type", "band")
    session.run()
    node = session["spectral_leak"]
    assert node.status == "skipped"  # no reference: nothing to correct with
    assert "override_mrsptcorr" in node.output.reason
    reference = write_mrsptcorr(tmp_path / "mrsptcorr.fits")
    node.set_param("override_mrsptcorr", str(reference))
    session.run()
    assert node.status == "done"
    (source,) = node.output.values()
    extracted = next(iter(session["extract_1d"].output.values()))
    # the two band cubes (ch1-short, ch2-short) gave the two x1d; the second is "3A"
    assert len(source.outputs) == len(extracted.outputs) == 2
    assert source.output_stems == extracted.output_stems
    assert source.output_stems[0].endswith("_ch1-short")
    first, second = (o.product for o in source.outputs)
    assert first.get("cal_step.spectral_leak") is None
    assert second.get("cal_step.spectral_leak") == "COMPLETE"
    assert not np.array_equal(_flux(second), _flux(extracted.outputs[1].product))
