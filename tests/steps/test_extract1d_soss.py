"""NIRISS SOSS box extraction and photom against the simulator's truth, and edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.errors import InputFileError
from spec3nb.simulate import simulate
from spec3nb.steps.combine1d import combine_1d
from spec3nb.steps.extract1d_soss import box_weights, extract_soss, parse_soss_trace
from spec3nb.steps.photom_soss import SPEC as PHOTOM_SPEC
from spec3nb.steps.photom_soss import parse_soss_photom, photom_soss

MIN_SNR = 50.0


def _trace_reference(truth):
    orders = truth.sources[0].extra["orders"]
    return parse_soss_trace({"orders": {k: {n: np.asarray(v[n]).tolist()
                                            for n in ("x", "y", "wavelength")}
                                        for k, v in orders.items()}})


def _photom_reference(truth):
    """photmj = 1e-9 MJy/mJy and relresponse = the simulator's mJy per DN/s."""
    orders = truth.sources[0].extra["orders"]
    width = max(len(v["wavelength"]) for v in orders.values())
    table = np.zeros(len(orders) + 1, dtype=[
        ("filter", "S12"), ("pupil", "S12"), ("order", "i2"), ("photmj", "f4"),
        ("nelem", "i2"), ("wavelength", "f4", width), ("relresponse", "f4", width)])
    for i, (key, entry) in enumerate(sorted(orders.items())):
        n = len(entry["wavelength"])
        table[i] = ("CLEAR", "GR700XD", int(key), 1e-9, n,
                    np.pad(entry["wavelength"], (0, width - n)),
                    np.pad(entry["mjy_per_dn_s"], (0, width - n)))
    table[-1] = ("F277W", "GR700XD", 1, 5.0, 2, np.r_[1.0, 2.0, np.zeros(width - 2)],
                 np.ones(width))
    return parse_soss_photom(table)


@pytest.fixture(scope="module")
def soss():
    dataset = simulate("nis_soss", seed=3, nexp=2)
    truth = dataset.truth
    refs = {"sosstrace": _trace_reference(truth)}
    width = truth.sources[0].extra["box_width"]
    x1d = extract_soss(dataset.exposures, soss_width=width, references=refs)
    calibrated = photom_soss(x1d.products, references={"photom": _photom_reference(truth)})
    return dataset, x1d, calibrated


def test_every_exposure_and_both_orders_are_extracted(soss) -> None:
    dataset, x1d, _ = soss
    assert x1d.status == "COMPLETE" and "ATOCA" in x1d.reason
    assert len(x1d.products) == len(dataset.exposures) == 2
    for product in x1d.products:
        assert product.model_type == "TSOMultiSpecModel"
        assert [p.attrs["spectral_order"] for p in product.parts] == [1, 2]
        table = product.parts[0].table
        assert table.dtype["FLUX"].metadata["unit"] == "DN/s"
        assert (table["N_ALONGDISP"] == table["WAVELENGTH"].shape[1]).all()


def test_combined_order1_flux_matches_truth(soss) -> None:
    dataset, _, calibrated = soss
    assert all(p.get("cal_step.photom") == "COMPLETE" for p in calibrated.products)
    c1d = combine_1d(calibrated.products)
    assert c1d.status == "COMPLETE"
    by_order = {p.attrs["spectral_order"]: p.table for p in c1d.products[0].parts}
    table = by_order[1]
    assert (table["N_INPUT"] == 2).all()
    flux, err = table["FLUX"] * 1e9, table["ERROR"] * 1e9  # MJy -> mJy
    expected = dataset.truth.sources[0].spectrum(table["WAVELENGTH"])
    with np.errstate(invalid="ignore"):
        good = np.isfinite(flux) & (flux / err > MIN_SNR)
    good &= ~_contaminated(dataset.truth, table["WAVELENGTH"])
    assert good.sum() > 100
    ratio = flux[good] / expected[good]
    assert np.median(np.abs(ratio - 1)) < 0.02
    assert np.percentile(np.abs(ratio - 1), 90) < 0.05


def _contaminated(truth, wavelength):
    """Order-1 wavelengths whose box also holds order 2's light (no ATOCA to remove it)."""
    orders = truth.sources[0].extra["orders"]
    one, two = orders["1"], orders["2"]
    y2 = np.interp(one["x"], two["x"], two["y"], left=np.inf, right=np.inf)
    reach = truth.sources[0].extra["box_width"] / 2 + 2.0 + 3 * 1.5  # horns and width
    near = np.abs(one["y"] - y2) < reach
    wave = np.asarray(one["wavelength"])
    lo, hi = (wave[near].min(), wave[near].max()) if near.any() else (np.inf, -np.inf)
    return (wavelength >= lo - 0.01) & (wavelength <= hi + 0.01)


def test_box_weights_have_fractional_edges() -> None:
    weights = box_weights(np.array([5.0, 5.3]), 4.0, 12)
    np.testing.assert_allclose(weights.sum(axis=0), 4.0)
    np.testing.assert_allclose(weights[3:8, 0], [0.5, 1, 1, 1, 0.5])
    np.testing.assert_allclose(weights[3:9, 1], [0.2, 1, 1, 1, 0.8, 0])


def test_bad_pixels_are_masked_or_filled() -> None:
    dataset = simulate("nis_soss", seed=4, nexp=1)
    refs = {"sosstrace": _trace_reference(dataset.truth)}
    product = dataset.exposures[0]
    part = product.part
    data = np.array(part.data)
    data[:, :, 100] = np.nan  # a whole column bad in every integration
    bad = product.evolve(parts=[part.evolve(arrays={"data": data})])
    table = extract_soss([bad], soss_width=16.0, references=refs).products[0].parts[0].table
    assert np.isnan(table["FLUX"][:, 100]).all()
    assert (table["DQ"][:, 100] == 1).all() and (table["NPIXELS"][:, 100] == 0).all()
    assert np.isfinite(table["FLUX"][:, 99]).all()


def test_refusals_are_explained() -> None:
    dataset = simulate("nis_soss", seed=4, nexp=1)
    product = dataset.exposures[0]
    no_trace = extract_soss([product])
    assert no_trace.status == "SKIPPED" and "trace reference" in no_trace.reason
    refs = {"sosstrace": _trace_reference(dataset.truth)}
    f277w = product.evolve(meta={"instrument.filter": "F277W"})
    result = extract_soss([f277w], references=refs)
    assert result.status == "SKIPPED" and "only CLEAR" in result.reason
    with pytest.raises(InputFileError, match="order 1"):
        parse_soss_trace({"orders": {"1": {"x": [1, 2], "y": [1.0]}}})


def test_photom_without_reference_skips_and_missing_order_is_named(soss) -> None:
    _, x1d, _ = soss
    assert photom_soss(x1d.products).status == "SKIPPED"
    table = np.zeros(1, dtype=[("filter", "S12"), ("pupil", "S12"), ("order", "i2"),
                               ("photmj", "f4"), ("wavelength", "f4", 2),
                               ("relresponse", "f4", 2)])
    table[0] = ("CLEAR", "GR700XD", 1, 2.0, [0.5e-6, 3e-6], [1.0, 1.0])  # metres
    result = photom_soss(x1d.products[:1], references={"photom": parse_soss_photom(table)})
    assert "order 2" in result.reason
    before, after = x1d.products[0].parts, result.products[0].parts
    np.testing.assert_allclose(after[0].table["FLUX"], 2.0 * before[0].table["FLUX"])
    assert after[0].table.dtype["FLUX"].metadata["unit"] == "MJy"
    np.testing.assert_array_equal(after[1].table["FLUX"], before[1].table["FLUX"])


def test_photom_parameters_match_jwst() -> None:
    from tests.parity.test_param_defaults import mismatches

    assert mismatches(PHOTOM_SPEC) == []


def test_photom_reference_file_through_the_runner(tmp_path) -> None:
    from astropy.io import fits

    from spec3nb.datamodels.references import load_reference
    from spec3nb.simulate import read_truth, simulate_to

    folder = tmp_path / "soss"
    simulate_to(folder, "nis_soss", seed=5)
    truth = read_truth(folder)
    orders = truth.sources[0].extra["orders"]
    width = max(len(v["wavelength"]) for v in orders.values())
    rows = np.zeros(len(orders), dtype=[
        ("filter", "S12"), ("pupil", "S12"), ("order", "i2"), ("photmj", "f4"),
        ("nelem", "i2"), ("wavelength", "f4", width), ("relresponse", "f4", width)])
    for i, (key, entry) in enumerate(sorted(orders.items())):
        n = len(entry["wavelength"])
        rows[i] = ("CLEAR", "GR700XD", int(key), 1e-9, n,
                   np.pad(entry["wavelength"], (0, width - n)),
                   np.pad(entry["mjy_per_dn_s"], (0, width - n)))
    path = tmp_path / "photom.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(rows, name="PHOTOM")]).writeto(path)
    loaded = load_reference("photom", path)
    from spec3nb.session import Spec3Session

    session = Spec3Session.from_simulation(folder)
    session["photom"].override_photom = str(path)
    session.run()
    assert loaded.dtype.names[0].lower() == "filter"
    assert session["photom"].status == "done"
    x1d = next(p for n, p in session.products.items() if n.endswith("_x1d.fits"))
    assert x1d.get("cal_step.photom") == "COMPLETE"
