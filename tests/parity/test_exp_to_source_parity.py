"""exp_to_source against jwst 3.0.0's multislit_to_container on the same exposures."""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.datamodels import from_datamodel, to_datamodel
from spec3nb.steps.exp_to_source import group_by_source
from tests.factories import make_multislit


def _jwst_sources(exposures):
    from jwst.exp_to_source import multislit_to_container

    containers = multislit_to_container([to_datamodel(e) for e in exposures])
    return {key: [from_datamodel(m) for m in container] for key, container in containers.items()}


@pytest.mark.parametrize("exp_type", ["NRS_FIXEDSLIT", "NRS_MSASPEC", "NIS_WFSS"])
def test_same_sources_same_slits(exp_type: str) -> None:
    exposures = []
    for seed in (3, 4):
        exposure = make_multislit(exp_type, 3, seed=seed)
        if exp_type != "NRS_MSASPEC":  # only MOS slits carry source names
            exposure = exposure.evolve(
                parts=[p.evolve(attrs={"source_name": None}) for p in exposure.parts])
        exposures.append(exposure)
    ours = group_by_source(exposures)
    theirs = _jwst_sources(exposures)
    assert list(ours) == list(theirs)
    for key, source in ours.items():
        jwst_slits = theirs[key]
        assert len(source.parts) == len(jwst_slits)
        for part, jwst_slit in zip(source.parts, jwst_slits, strict=True):
            jwst_part = jwst_slit.part
            for name in ("data", "dq", "err", "var_poisson", "wavelength"):
                np.testing.assert_array_equal(part.arrays[name], jwst_part.arrays[name])
            for attr in ("name", "source_id", "source_type", "xstart", "ystart"):
                assert part.attrs[attr] == jwst_part.attrs[attr]
            for path in ("exposure.type", "instrument.name", "instrument.detector",
                         "wcsinfo.dispersion_direction", "bunit_data", "target.ra"):
                ours_value = _get(part.meta, path)
                assert ours_value == jwst_slit.get(path), path
            x, y = 7.0, 5.0
            np.testing.assert_allclose(part.wcs(x, y), jwst_part.wcs(x, y))


def _get(meta, path):
    from spec3nb.datamodels.meta import get

    return get(meta, path)
