"""spectral_leak against jwst 3.0.0's SpectralLeakStep on the same x1d products.

The reference is the small MRSPTCORR the factory writes (stdatamodels' model), given to
jwst as ``override_mrsptcorr`` and to spec3nb loaded through ``load_reference``. Compared:
every column of every spectrum bit for bit, and ``S_SPLEAK`` of every product.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spec3nb.datamodels.references import load_reference
from spec3nb.steps.spectral_leak import spectral_leak
from tests.steps.mrsptcorr_factory import write_mrsptcorr
from tests.steps.test_spectral_leak import mrs_x1d

from .harness import assert_tables_match, run_jwst_step


def _band_set(mrs=True, nan_edges=0):
    return [mrs_x1d(c, b, mrs=mrs, nan_edges=nan_edges if (c, b) == ("1", "MEDIUM") else 0)
            for c, b in (("1", "SHORT"), ("1", "MEDIUM"), ("1", "LONG"), ("3", "SHORT"),
                         ("3", "MEDIUM"))]


def _extended(products):
    last = products[-1]
    return [*products[:-1], last.evolve(parts=[last.parts[0].evolve(
        attrs={"source_type": "EXTENDED"})])]


CASES = {
    "MRS band x1d": lambda: _band_set(),
    "MultiSpecModel band x1d": lambda: _band_set(mrs=False),
    "1B with NaN edges": lambda: _band_set(nan_edges=7),
    "1B MultiSpec, 3A MRS (FLUX only)": lambda: [mrs_x1d("1", "MEDIUM", mrs=False),
                                                 mrs_x1d("3", "SHORT")],
    "channel x1d (MULTIPLE)": lambda: [mrs_x1d("1", "MULTIPLE"), mrs_x1d("3", "MULTIPLE")],
    "one multi-channel x1d": lambda: [mrs_x1d("1234", "MULTIPLE")],
    "two 3A: the last wins": lambda: [mrs_x1d("1", "MEDIUM"), mrs_x1d("3", "SHORT"),
                                      mrs_x1d("3", "SHORT", npoints=150)],
    "no 3A (skipped)": lambda: _band_set()[:3],
    "extended (skipped)": lambda: _extended(_band_set()),
}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    return write_mrsptcorr(tmp_path_factory.mktemp("mrsptcorr") / "mrsptcorr.fits")


@pytest.mark.parametrize("case", list(CASES))
def test_same_as_jwst(case: str, reference: Path, jwst_offline) -> None:
    from jwst.spectral_leak import SpectralLeakStep

    inputs = CASES[case]()
    ours = spectral_leak(inputs, references={"mrsptcorr": load_reference("mrsptcorr",
                                                                          reference)})
    theirs = run_jwst_step(SpectralLeakStep, inputs, override_mrsptcorr=str(reference))
    assert ours.status == ("SKIPPED" if "skipped" in case else "COMPLETE")
    assert len(theirs) == len(ours.products) == len(inputs)
    for k, (mine, jwst) in enumerate(zip(ours.products, theirs, strict=True)):
        assert mine.get("cal_step.spectral_leak") == jwst.get("cal_step.spectral_leak"), k
        assert_tables_match(mine.parts[0].table, jwst.parts[0].table, rtol=0.0,
                            name=f"product {k}")
    corrected = [i for i, p in enumerate(ours.products)
                 if p.get("cal_step.spectral_leak") == "COMPLETE"]
    if "skipped" not in case:
        (i,) = corrected
        assert not np.array_equal(ours.products[i].parts[0].table["FLUX"],
                                  inputs[i].parts[0].table["FLUX"], equal_nan=True)
