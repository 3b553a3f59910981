"""Shared fixtures: small datasets written to disk for command-line and runner tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spec3nb.datamodels import write_product
from tests.factories import make_multislit

FS_TEMPLATE = "jw01234-o001_t001-{source_id}_nirspec_f290lp-g395h-{slit_name}"


@pytest.fixture
def fs_dataset(tmp_path: Path) -> Path:
    """Two NIRSpec fixed-slit exposures with two slits each, and their association."""
    folder = tmp_path / "data"
    names = []
    for index in range(2):
        exposure = make_multislit("NRS_FIXEDSLIT", 2, seed=index)
        exposure = exposure.evolve(
            parts=[p.evolve(attrs={"source_name": None}) for p in exposure.parts])
        name = f"jw01234001001_0310{index + 1}_00001_nrs1_cal.fits"
        write_product(exposure, folder / name)
        names.append(name)
    asn = {
        "asn_type": "spec3", "asn_id": "o001", "asn_pool": "jw01234_pool", "program": "01234",
        "products": [{"name": FS_TEMPLATE, "members": [
            {"expname": n, "exptype": "science"} for n in names]}],
    }
    path = folder / "jw01234-o001_spec3_asn.json"
    path.write_text(json.dumps(asn, indent=1))
    return path
