"""combine_1d against jwst 3.0.0's Combine1dStep on the same x1d inputs (1e-10)."""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.datamodels import Part, tables
from spec3nb.steps.combine1d import combine_1d
from tests.factories import exposure_meta, spectrum_wcs

from .harness import assert_tables_match, run_jwst_step


def x1d(wave, *, seed=0, exptime=100.0, order=1, dq_bad=(), nan_at=(), other_bits=(),
        spike=None, exp_type="MIR_LRS-FIXEDSLIT"):
    """One MultiSpecModel x1d with one spectrum per wavelength array in `wave`."""
    rng = np.random.default_rng(seed)
    waves = wave if isinstance(wave, list) else [wave]
    orders = order if isinstance(order, list) else [order] * len(waves)
    parts = []
    for w, o in zip(waves, orders, strict=True):
        w = np.asarray(w, dtype=float)
        flux = 1e-3 * (1 + 0.1 * np.sin(w)) + rng.normal(0, 2e-5, len(w))
        dq = np.zeros(len(w), dtype=np.uint32)
        dq[list(dq_bad)] = 1
        dq[list(other_bits)] |= 4
        flux[list(nan_at)] = np.nan
        if spike is not None:
            flux[spike] *= 50
        cols = dict(flux=flux, flux_error=np.full(len(w), 2e-5), surf_bright=flux * 3,
                    sb_error=np.full(len(w), 6e-5), dq=dq, npixels=np.full(len(w), 5.0))
        table = tables.spec_table(w, units=tables.spectrum_units(True, False), **cols)
        attrs = {"name": "S", "source_id": 7, "source_type": "POINT", "spectral_order": o,
                 "dispersion_direction": 2, "source_ra": 10.0, "source_dec": 20.0}
        parts.append(Part(arrays={"spec_table": table}, attrs=attrs, wcs=spectrum_wcs(w)))
    meta = exposure_meta(exp_type, **{"exposure.exposure_time": exptime,
                                      "exposure.integration_time": exptime / 4})
    return tables.spectrum_product(parts, meta)


GRID = 5.0 + 0.02 * np.arange(80)
CASES = {
    "identical grids, exposure-time weights": (
        [x1d(GRID, seed=1, exptime=100), x1d(GRID, seed=2, exptime=300)], {}),
    "shifted grids (gap filling)": (
        [x1d(GRID, seed=1), x1d(GRID + 0.007, seed=2), x1d(GRID + 0.013, seed=3)], {}),
    "partial overlap, DQ and NaN": (
        [x1d(GRID[:60], seed=1, dq_bad=[3, 4], other_bits=[10]),
         x1d(GRID[20:] + 0.001, seed=2, nan_at=[5], other_bits=[11, 30]),
         x1d(GRID[::2] + 0.004, seed=3)], {}),
    "decreasing wavelengths": (
        [x1d(GRID[::-1], seed=1), x1d(GRID + 0.003, seed=2)], {}),
    "two orders": (
        [x1d([GRID, GRID * 0.5], seed=1, order=[1, 2]),
         x1d([GRID + 0.002, GRID * 0.5 + 0.001], seed=2, order=[1, 2])], {}),
    "sigma clipping": (
        [x1d(GRID, seed=s, spike=17 if s == 2 else None) for s in range(1, 5)],
        {"sigma_clip": 3.0}),
    "integration time": ([x1d(GRID, seed=1, exptime=50), x1d(GRID, seed=2, exptime=80)],
                         {"exptime_key": "integration_time"}),
    "unit weight": ([x1d(GRID, seed=1, exptime=50), x1d(GRID, seed=2, exptime=80)],
                    {"exptime_key": "unit_weight"}),
    "unknown key means unit weight": (
        [x1d(GRID, seed=1, exptime=50), x1d(GRID, seed=2, exptime=80)],
        {"exptime_key": "nonsense"}),
    "fine and coarse sampling": (
        [x1d(5.0 + 0.01 * np.arange(160), seed=1), x1d(GRID + 0.005, seed=2)], {}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_as_jwst(case: str, jwst_offline) -> None:
    from jwst.combine_1d import Combine1dStep

    inputs, params = CASES[case]
    ours = combine_1d(inputs, **params)
    theirs = run_jwst_step(Combine1dStep, inputs, **params)
    assert ours.status == "COMPLETE"
    product = ours.products[0]
    assert product.model_type == theirs.model_type == "MultiCombinedSpecModel"
    assert len(product.parts) == len(theirs.parts)
    for mine, ref in zip(product.parts, theirs.parts, strict=True):
        assert mine.attrs["spectral_order"] == ref.attrs["spectral_order"]
        assert mine.attrs["source_id"] == ref.attrs["source_id"]
        assert_tables_match(mine.table, ref.table, rtol=1e-10, atol=0.0)
        assert tables.column_units(mine.table) == tables.column_units(ref.table)
    pixels = np.arange(5.0)
    np.testing.assert_allclose(product.wcs(pixels), theirs.wcs(pixels), rtol=1e-12)
    assert product.get("cal_step.combine_1d") == theirs.get("cal_step.combine_1d")


def _tso_product(nint: int = 3):
    """A TSOMultiSpecModel (one row per integration), built with jwst's own helper."""
    from jwst.datamodels.utils.tso_multispec import make_tso_specmodel
    from stdatamodels.jwst import datamodels

    from spec3nb.datamodels import from_datamodel, to_datamodel

    specs = [to_datamodel(x1d(GRID + 0.001 * i, seed=i)).spec[0] for i in range(nint)]
    model = datamodels.TSOMultiSpecModel()
    model.update(to_datamodel(x1d(GRID)), only="PRIMARY")
    model.meta.exposure.exposure_time = 120.0
    model.spec.append(make_tso_specmodel(specs))
    return from_datamodel(model)


def test_time_series_rows_are_separate_spectra(jwst_offline) -> None:
    from jwst.combine_1d import Combine1dStep

    product = _tso_product()
    assert product.model_type == "TSOMultiSpecModel"
    ours = combine_1d([product]).products[0]
    theirs = run_jwst_step(Combine1dStep, product)
    assert_tables_match(ours.parts[0].table, theirs.parts[0].table, rtol=1e-10, atol=0.0)
    assert ours.parts[0].table["N_INPUT"].max() == 3
