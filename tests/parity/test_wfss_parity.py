"""WFSS against jwst 3.0.0 on the same simulated NIRISS and NIRCam WFSS cutouts.

* extract_1d: per-source x1d of jwst's ``Extract1dStep`` on the ``SourceModelContainer``s of
  ``multislit_to_container`` against :func:`extract_wfss` on spec3nb's exp_to_source
  products, without and with an APCORR reference (1e-5; measured: identical).
* the multi-source x1d: ``make_wfss_multiexposure`` of jwst's per-source x1d against
  :func:`package_x1d` of ours.
* combine_1d on the multi-source x1d (jwst's ``Combine1dStep`` WFSS path) for the defaults
  and three other parameter sets, and the calwebb_spec3 c1d (per-source ``Combine1dStep``,
  ``source_ra``/``source_dec`` from the x1d, ``make_wfss_multicombined``) (1e-10). The
  simulated exposures have equal exposure times, so spec3nb's per-exposure weights and
  jwst's first-exposure weights coincide (tests/steps/test_combine1d_wfss.py checks the
  difference).
"""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.datamodels import from_datamodel
from spec3nb.datamodels.ref_apcorr import load_apcorr
from spec3nb.simulate import simulate, write_dataset
from spec3nb.steps.combine1d_wfss import combine_source, combine_wfss, source_spectra
from spec3nb.steps.exp_to_source import exp_to_source
from spec3nb.steps.extract1d_wfss import extract_wfss
from spec3nb.steps.wfss_package import package_c1d, package_x1d

from .harness import assert_tables_match, offline_jwst

X1D_RTOL, C1D_RTOL = 1e-5, 1e-10
SETUPS = {"nis_wfss": ("GR150R", "F150W"), "nrc_wfss": ("F444W", "GRISMR")}


def _write_apcorr(path, filt: str, pupil: str) -> None:
    """A WFSS APCORR reference: corrections rising with wavelength, falling with size."""
    from stdatamodels.jwst import datamodels

    model = datamodels.NisWfssApcorrModel() if filt.startswith("GR") else \
        datamodels.NrcWfssApcorrModel()
    nwl, nsize = 12, 5
    table = np.zeros(2, dtype=[("filter", "S12"), ("pupil", "S15"), ("wavelength", "f4", nwl),
                               ("nelem_wl", "i2"), ("size", "u1", nsize),
                               ("nelem_size", "i2"), ("apcorr", "f4", (nwl, nsize)),
                               ("apcorr_err", "f4", (nwl, nsize))])
    for i, (f, p) in enumerate([(filt, pupil), ("OTHER", pupil)]):
        wave = np.linspace(1.2, 5.2, nwl)
        sizes = np.array([4, 8, 16, 32, 64])
        table["filter"][i], table["pupil"][i] = f, p
        table["wavelength"][i] = wave
        table["nelem_wl"][i], table["nelem_size"][i] = nwl, nsize
        table["size"][i] = sizes
        table["apcorr"][i] = 1.0 + 0.02 * wave[:, None] + 0.5 / sizes[None, :]
        table["apcorr_err"][i] = 0.01
    model.apcorr_table = table
    model.sizeunit = "pixels"
    model.meta.instrument.name = "NIRISS" if filt.startswith("GR") else "NIRCAM"
    model.meta.exposure.type = "NIS_WFSS" if filt.startswith("GR") else "NRC_WFSS"
    model.save(str(path))


@pytest.fixture(scope="module", params=sorted(SETUPS))
def wfss(request, tmp_path_factory):
    """jwst's and spec3nb's per-source x1d (with and without apcorr) for one mode."""
    from jwst.exp_to_source import multislit_to_container
    from jwst.extract_1d import Extract1dStep
    from stdatamodels.jwst import datamodels

    mode = request.param
    folder = tmp_path_factory.mktemp(mode)
    dataset = simulate(mode, seed=21)
    write_dataset(dataset, folder)
    apcorr_path = folder / "apcorr.fits"
    _write_apcorr(apcorr_path, *SETUPS[mode])
    models = [datamodels.open(str(folder / p.filename)) for p in dataset.exposures]
    ours_sources = {o.source: o.product for o in exp_to_source(dataset.exposures).outputs}
    reference = load_apcorr(apcorr_path)
    runs = {}
    with offline_jwst():
        for key, container in multislit_to_container(models).items():
            for label, apcorr in (("plain", "N/A"), ("apcorr", str(apcorr_path))):
                model = Extract1dStep(override_apcorr=apcorr, override_psf="N/A").run(container)
                refs = {"apcorr": reference if label == "apcorr" else "N/A"}
                ours = extract_wfss([ours_sources[key]], references=refs).products[0]
                runs[(key, label)] = (model, ours)
    yield mode, dataset, runs
    for model, _ in runs.values():
        model.close()


def test_extract_matches_jwst(wfss) -> None:
    mode, _, runs = wfss
    corrected = 0
    for (key, label), (model, ours) in runs.items():
        theirs = from_datamodel(model)
        assert ours.model_type == theirs.model_type == "WFSSMultiSpecModel"
        assert len(ours.parts) == len(theirs.parts) >= 1
        for a, b in zip(ours.parts, theirs.parts, strict=True):
            for attr in ("group_id", "filename", "spectral_order", "dispersion_direction",
                         "exposure_time", "integration_time"):
                assert a.attrs.get(attr) == b.attrs.get(attr), (mode, key, attr)
            assert_tables_match(a.table, b.table, rtol=X1D_RTOL, name=f"{mode} {key} {label}")
        if label == "apcorr":
            plain = runs[(key, "plain")][1]
            ratio = ours.parts[0].table["FLUX"] / plain.parts[0].table["FLUX"]
            corrected += bool(np.nanmax(np.abs(ratio - 1.0)) > 1e-3)
    assert corrected >= 1  # the point sources were corrected


def _jwst_multiexposure(runs, label):
    from jwst.datamodels.utils.wfss_multispec import make_wfss_multiexposure

    models = [m for (k, lab), (m, _) in runs.items() if lab == label]
    return make_wfss_multiexposure(models)


def test_multisource_x1d_matches_jwst(wfss) -> None:
    mode, dataset, runs = wfss
    theirs = from_datamodel(_jwst_multiexposure(runs, "plain"))
    ours = package_x1d([o for (k, lab), (_, o) in runs.items() if lab == "plain"],
                       dataset.exposures)
    assert len(ours.parts) == len(theirs.parts)
    for a, b in zip(ours.parts, theirs.parts, strict=True):
        assert a.attrs["group_id"] == b.attrs["group_id"]
        assert list(a.table["SOURCE_ID"]) == sorted(a.table["SOURCE_ID"])
        assert_tables_match(a.table, b.table, rtol=X1D_RTOL, name=f"{mode} x1d")
    assert ours.parts[0].attrs["s_region"].startswith("POLYGON ICRS")


PARAMS = {"defaults": {}, "sigma clip": {"sigma_clip": 2.0},
          "unit weight": {"exptime_key": "unit_weight"},
          "integration time": {"exptime_key": "integration_time"}}


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_combine_multisource_matches_jwst(wfss, name) -> None:
    from jwst.combine_1d import Combine1dStep

    mode, _, runs = wfss
    multi = _jwst_multiexposure(runs, "apcorr")
    with offline_jwst():
        result = Combine1dStep(**PARAMS[name]).run(multi)
    theirs = from_datamodel(result)
    ours_x1d = package_x1d([o for (k, lab), (_, o) in runs.items() if lab == "apcorr"])
    ours = combine_wfss([ours_x1d], **PARAMS[name]).products[0]
    assert ours.model_type == theirs.model_type == "WFSSMultiCombinedSpecModel"
    assert [p.attrs["spectral_order"] for p in ours.parts] == \
        [p.attrs["spectral_order"] for p in theirs.parts]
    for a, b in zip(ours.parts, theirs.parts, strict=True):
        assert_tables_match(a.table, b.table, rtol=C1D_RTOL, name=f"{mode} {name}")
    assert ours.get("cal_step.combine_1d") == "COMPLETE"


def test_spec3_c1d_matches_jwst(wfss) -> None:
    """The c1d calwebb_spec3 writes: per-source combine, then make_wfss_multicombined."""
    from jwst.combine_1d import Combine1dStep
    from jwst.datamodels.utils.wfss_multispec import make_wfss_multicombined

    mode, _, runs = wfss
    combined, ours_per_source = [], []
    with offline_jwst():
        for (_key, label), (model, ours) in runs.items():
            if label != "plain":
                continue
            comb = Combine1dStep().run(model)
            comb.spec[0].source_ra = model.spec[0].spec_table["SOURCE_RA"][0]
            comb.spec[0].source_dec = model.spec[0].spec_table["SOURCE_DEC"][0]
            combined.append(comb)
            by_source = source_spectra([ours], "exposure.exposure_time")
            (source_id,) = by_source
            ours_per_source.append(combine_source(by_source[source_id], ours.meta, None))
    theirs = from_datamodel(make_wfss_multicombined(combined))
    ours = package_c1d(ours_per_source)
    assert len(ours.parts) == len(theirs.parts)
    for a, b in zip(ours.parts, theirs.parts, strict=True):
        assert a.attrs["spectral_order"] == b.attrs["spectral_order"]
        assert_tables_match(a.table, b.table, rtol=C1D_RTOL, name=f"{mode} spec3 c1d")
