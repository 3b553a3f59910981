"""WFSS cutout extraction against the simulator's truth, and bad cutouts."""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.errors import InputFileError
from spec3nb.simulate import simulate
from spec3nb.steps.combine1d_wfss import combine_wfss
from spec3nb.steps.exp_to_source import exp_to_source
from spec3nb.steps.extract1d_wfss import extract_wfss
from spec3nb.steps.wfss_package import package_x1d, spectra_of

MIN_SNR = 50.0


@pytest.fixture(scope="module", params=["nis_wfss", "nrc_wfss"])
def run(request):
    dataset = simulate(request.param, seed=5, nexp=3)
    sources = exp_to_source(dataset.exposures).outputs
    x1d = [extract_wfss([o.product]) for o in sources]
    return dataset, sources, x1d


def _interior(wave: np.ndarray) -> np.ndarray:
    n = wave.size
    index = np.arange(n)
    return (index > n // 8) & (index < n - n // 8)


def test_one_x1d_per_source_with_one_table_per_exposure_and_order(run) -> None:
    dataset, sources, x1d = run
    for output, result in zip(sources, x1d, strict=True):
        assert result.status == "COMPLETE"
        (out,) = result.outputs
        assert out.source == output.source and out.suffix == "x1d"
        cutouts = dataset.truth.source(int(output.source)).extra["cutouts"]
        assert len(out.product.parts) == len(cutouts)
        assert {p.attrs["filename"] for p in out.product.parts} == \
            {c["filename"] for c in cutouts}


def test_combined_flux_matches_truth(run) -> None:
    dataset, sources, x1d = run
    c1d = combine_wfss([package_x1d(r.products[0] for r in x1d)]).products[0]
    checked = 0
    for part in c1d.parts:
        for row in part.table:
            n = int(row["N_ALONGDISP"])
            if row["SOURCE_ID"] < 0 or n == 0:
                continue
            wave, flux, err = row["WAVELENGTH"][:n], row["FLUX"][:n], row["ERROR"][:n]
            use = _interior(wave) & np.isfinite(flux)
            if np.median(flux[use] / err[use]) < MIN_SNR:
                continue
            expected = dataset.truth.source(int(row["SOURCE_ID"])).spectrum(wave) * 1e-3
            ratio = flux[use] / expected[use]
            # Cosmic rays stay in WFSS spectra (no outlier detection in spec3): medians.
            assert np.median(ratio) == pytest.approx(1.0, abs=0.02)
            assert np.percentile(np.abs(ratio - 1), 75) < 0.05
            assert row["N_INPUT"][:n].max() == 3
            checked += 1
    assert checked >= 3


def _source(dataset):
    return exp_to_source(dataset.exposures).outputs[0].product


def test_cutout_without_valid_wavelengths_is_skipped_with_a_reason() -> None:
    dataset = simulate("nrc_wfss", seed=6)
    product = _source(dataset)
    first = product.parts[0]
    blank = first.evolve(arrays={"wavelength": np.full(first.data.shape, np.nan, "f4")})
    result = extract_wfss([product.evolve(parts=[blank, *product.parts[1:]])])
    assert result.status == "COMPLETE" and "no valid wavelength" in result.reason
    assert len(result.products[0].parts) == len(product.parts) - 1
    alone = extract_wfss([product.evolve(parts=[blank])])
    assert alone.status == "SKIPPED" and "no valid wavelength" in alone.reason


def test_invalid_pixels_and_dispaxis() -> None:
    dataset = simulate("nis_wfss", seed=6)
    product = _source(dataset)
    part = product.parts[0]
    data = np.array(part.data)
    # Spectral element 3: a row for dispersion along y, a column for dispersion along x.
    column = (3, slice(None)) if part.meta["wcsinfo"]["dispersion_direction"] == 2 else \
        (slice(None), 3)
    data[column] = np.nan
    broken = product.evolve(parts=[part.evolve(arrays={"data": data})])
    table = extract_wfss([broken]).products[0].parts[0].table
    row = table[0]
    n = int(row["N_ALONGDISP"])
    assert np.isnan(row["FLUX"][3]) and row["DQ"][3] == 1 and row["NPIXELS"][3] == 0
    assert np.isfinite(row["FLUX"][:n][4:]).all()
    bad_axis = product.evolve(parts=[part.evolve(meta={"wcsinfo.dispersion_direction": 3})])
    with pytest.raises(InputFileError, match="DISPAXIS"):
        extract_wfss([bad_axis])


def test_not_wfss_is_skipped_and_inputs_unchanged() -> None:
    dataset = simulate("nrc_wfss", seed=6)
    product = _source(dataset)
    before = product.parts[0].data.copy()
    result = extract_wfss([product.evolve(meta={"exposure.type": "NRS_MSASPEC"})])
    assert result.status == "SKIPPED" and "not WFSS" in result.reason
    extract_wfss([product])
    np.testing.assert_array_equal(product.parts[0].data, before)


def test_extracted_spectra_round_trip_through_the_package() -> None:
    dataset = simulate("nis_wfss", seed=6)
    x1d = extract_wfss([_source(dataset)]).products[0]
    spectra = spectra_of(x1d)
    assert len(spectra) == len(x1d.parts)
    assert all(s.exposure_time == dataset.exposures[0].get("exposure.exposure_time")
               for s in spectra)
