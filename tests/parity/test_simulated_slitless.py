"""jwst 3.0.0, offline, on the simulated slitless datasets: its spectra against the truth.

WFSS: the simulated ``_cal`` exposures are opened with stdatamodels, grouped by source with
jwst's ``multislit_to_container`` (as ``Spec3Pipeline`` does), extracted by
``Extract1dStep`` (no EXTRACT1D reference for WFSS; ``apcorr`` and ``psf`` given as N/A)
and combined by ``Combine1dStep``. SOSS: the extraction needs the ``pastasoss``,
``specprofile`` and ``speckernel`` references even without ATOCA, which the simulator does
not write; the test pins that.
"""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.simulate import read_truth, simulate, write_dataset
from tests.parity.harness import OfflineReferenceError

MIN_SNR = 50.0


@pytest.fixture(scope="module", params=["nis_wfss", "nrc_wfss"])
def wfss_run(request, tmp_path_factory):
    """Per-source x1d and c1d from jwst on a simulated WFSS dataset, and the truth."""
    from jwst.combine_1d import Combine1dStep
    from jwst.exp_to_source import multislit_to_container
    from jwst.extract_1d import Extract1dStep
    from stdatamodels.jwst import datamodels

    from tests.parity.harness import offline_jwst

    folder = tmp_path_factory.mktemp(request.param)
    dataset = simulate(request.param, seed=21)
    write_dataset(dataset, folder)
    models = [datamodels.open(str(folder / p.filename)) for p in dataset.exposures]
    results = {}
    with offline_jwst():
        for key, container in multislit_to_container(models).items():
            x1d = Extract1dStep(override_apcorr="N/A", override_psf="N/A").run(container)
            c1d = Combine1dStep().run(x1d)
            results[int(key)] = (x1d, c1d)
    yield request.param, dataset, read_truth(folder), results
    for x1d, c1d in results.values():
        x1d.close()
        c1d.close()


def _mid(wave: np.ndarray) -> np.ndarray:
    finite = np.flatnonzero(np.isfinite(wave))
    lo, hi = finite[0], finite[-1]
    index = np.arange(wave.size)
    return (index > lo + (hi - lo) // 4) & (index < hi - (hi - lo) // 4)


def test_wfss_extract1d_matches_truth(wfss_run):
    mode, dataset, truth, results = wfss_run
    assert set(results) == {s.source_id for s in truth.sources}
    checked = 0
    for source_id, (x1d, _) in results.items():
        assert type(x1d).__name__ == "WFSSMultiSpecModel"
        cutouts = truth.source(source_id).extra["cutouts"]
        assert len(x1d.spec) == len(cutouts)
        for spec in x1d.spec:
            row = spec.spec_table[0]
            assert row["SOURCE_ID"] == source_id
            wave, flux, err = row["WAVELENGTH"], row["FLUX"], row["FLUX_ERROR"]
            mid = _mid(wave) & np.isfinite(flux)
            entry = [c for c in cutouts if c["order"] == spec.spectral_order
                     and (c["xstart"], c["ystart"]) == (row["EXTRACT2D_XSTART"],
                                                        row["EXTRACT2D_YSTART"])]
            assert len(entry) == 1 and entry[0]["filename"] == spec.filename
            expected = truth.source(source_id).spectrum(wave) * 1e-3  # mJy -> Jy
            if np.nanmedian(flux[mid] / err[mid]) < MIN_SNR:
                continue
            ratio = flux[mid] / expected[mid]
            # Cosmic rays stay in WFSS spectra (spec3 runs no outlier detection): medians.
            assert np.median(ratio) == pytest.approx(1.0, abs=0.02), (mode, source_id)
            assert np.percentile(np.abs(ratio - 1.0), 75) < 0.05
            checked += 1
    assert checked >= 3


def test_wfss_combine1d_matches_truth(wfss_run):
    mode, dataset, truth, results = wfss_run
    orders = {o for s in truth.sources for c in s.extra["cutouts"] for o in [c["order"]]}
    checked = 0
    for source_id, (_, c1d) in results.items():
        assert c1d.meta.cal_step.combine_1d == "COMPLETE"
        assert {spec.spectral_order for spec in c1d.spec} <= orders
        for spec in c1d.spec:
            table = spec.spec_table
            wave, flux, err = table["WAVELENGTH"], table["FLUX"], table["ERROR"]
            assert np.all(np.diff(wave) > 0)
            assert table["N_INPUT"].max() == 2  # both dithers
            mid = _mid(wave) & np.isfinite(flux)
            if np.nanmedian(flux[mid] / err[mid]) < MIN_SNR:
                continue
            ratio = flux[mid] / (truth.source(source_id).spectrum(wave[mid]) * 1e-3)
            assert np.median(ratio) == pytest.approx(1.0, abs=0.02), (mode, source_id)
            checked += 1
    assert checked >= 2


def test_wfss_sregion_union_as_spec3_does(wfss_run):
    """calwebb_spec3 combines the exposures' S_REGION through the first slit's WCS."""
    from astropy.modeling.models import Mapping
    from stcal.alignment import combine_sregions

    mode, dataset, truth, results = wfss_run
    wcs = dataset.exposures[0].parts[0].wcs
    det2world = wcs.get_transform("detector", "world")
    mapping1 = Mapping((0, 1, 0, 1))
    mapping1.inverse = Mapping((0, 1), n_inputs=4)
    mapping2 = Mapping((0, 1), n_inputs=4)
    mapping2.inverse = Mapping((0, 1, 0, 1))
    regions = [p.parts[0].meta["wcsinfo"]["s_region"] for p in dataset.exposures]
    union = combine_sregions(regions, mapping1 | det2world | mapping2)
    assert union.startswith("POLYGON ICRS")
    corners = np.array(union.split()[2:], dtype=float).reshape(-1, 2)
    assert len(corners) >= 4
    ra, dec = truth.sources[0].ra, truth.sources[0].dec
    assert corners[:, 0].min() < ra < corners[:, 0].max()
    assert corners[:, 1].min() < dec < corners[:, 1].max()


def test_soss_extract1d_needs_soss_references(jwst_offline):
    """Box extraction (soss_atoca=False) still reads pastasoss, specprofile, speckernel."""
    from jwst.extract_1d import Extract1dStep

    from spec3nb.datamodels import to_datamodel

    dataset = simulate("nis_soss", seed=2, nexp=1)
    model = to_datamodel(dataset.exposures[0])
    with pytest.raises(OfflineReferenceError) as info:
        Extract1dStep(soss_atoca=False, override_apcorr="N/A", override_psf="N/A").run(model)
    assert info.value.reftypes == ("pastasoss",)
