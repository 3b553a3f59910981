"""assign_mtwcs against jwst 3.0.0's AssignMTWcsStep on the same moving-target exposures."""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.datamodels import Product, from_datamodel, to_datamodel
from spec3nb.steps.assign_mtwcs import assign_mtwcs
from tests.factories import make_multislit, make_slit_model, make_x1d

from .harness import offline_jwst

MOVING = {"target.type": "MOVING", "asn.exptype": "science"}


def run_jwst(products: list[Product]) -> list[Product]:
    """AssignMTWcsStep on a container of `products`; its ModelLibrary back as products."""
    from jwst.assign_mtwcs import AssignMTWcsStep
    from jwst.datamodels import ModelContainer

    with offline_jwst():
        library = AssignMTWcsStep().run(ModelContainer([to_datamodel(p) for p in products]))
    out = []
    with library:
        for i in range(len(library)):
            model = library.borrow(i)
            out.append(from_datamodel(model))
            library.shelve(model, i, modify=False)
    return out


def lrs_exposures(n: int = 3, wrap: bool = False) -> list[Product]:
    """MIRI LRS moving-target exposures; `wrap` puts the target across RA = 0."""
    ras = [359.9995, 0.0003, 0.0011] if wrap else [53.1601, 53.1609, 53.1622]
    return [make_slit_model(seed=i, **MOVING, **{"wcsinfo.mt_ra": ras[i],
                                                 "wcsinfo.mt_dec": -27.78 - 3e-4 * i})
            for i in range(n)]


def fs_exposures(n: int = 2) -> list[Product]:
    """NIRSpec FS moving-target exposures whose slits each record their own MT position."""
    out = []
    for i in range(n):
        exposure = make_multislit("NRS_FIXEDSLIT", 2, seed=i, **MOVING)
        parts = [p.evolve(meta={"wcsinfo.mt_ra": 53.16 + 4e-4 * i + 1e-5 * k,
                                "wcsinfo.mt_dec": -27.78 + 2e-4 * i - 1e-5 * k})
                 for k, p in enumerate(exposure.parts)]
        out.append(exposure.evolve(parts=parts))
    return out


def assert_same_world(ours: Product, theirs: Product) -> None:
    """Same frames, same world coordinates (incl. moving_target) and the same MT_AV*."""
    for path in ("wcsinfo.mt_avra", "wcsinfo.mt_avdec", "cal_step.assign_mtwcs"):
        assert ours.get(path) == theirs.get(path), path
    for po, pt in zip(ours.parts, theirs.parts, strict=True):
        assert po.wcs.available_frames == pt.wcs.available_frames
        for key in ("mt_avra", "mt_avdec"):
            assert po.meta.get("wcsinfo", {}).get(key) == pt.meta.get("wcsinfo", {}).get(key)
        ny, nx = po.data.shape
        y, x = np.mgrid[0:ny, 0:nx].astype(float)
        np.testing.assert_array_equal(np.array(po.wcs(x, y)), np.array(pt.wcs(x, y)))
        if "moving_target" in po.wcs.available_frames:
            back = po.wcs.invert(*po.wcs(x[1:-1, 1:-1], y[1:-1, 1:-1]))
            np.testing.assert_allclose(back[1], y[1:-1, 1:-1], atol=1e-6)


@pytest.mark.parametrize("case", ["lrs", "lrs across RA=0", "fs", "with a background member",
                                  "MT_DEC missing"])
def test_same_as_jwst(case: str) -> None:
    if case == "fs":
        inputs = fs_exposures()
    elif case == "lrs across RA=0":
        inputs = lrs_exposures(wrap=True)
    elif case == "with a background member":
        inputs = [make_x1d(**{"asn.exptype": "background", "target.type": "MOVING"}),
                  *lrs_exposures(2)]
    elif case == "MT_DEC missing":
        inputs = lrs_exposures(2)
        inputs[1] = inputs[1].evolve(meta={"wcsinfo.mt_dec": None})
    else:
        inputs = lrs_exposures()
    ours = assign_mtwcs(inputs)
    theirs = run_jwst(inputs)
    assert ours.status == ("SKIPPED" if case == "MT_DEC missing" else "COMPLETE")
    assert len(ours.products) == len(theirs)
    for mine, jwst in zip(ours.products, theirs, strict=True):
        if mine.model_type == "MultiSpecModel":  # background members keep their WCS
            assert mine.get("cal_step.assign_mtwcs") == jwst.get("cal_step.assign_mtwcs")
            assert mine.parts[0].wcs is inputs[0].parts[0].wcs
            continue
        assert_same_world(mine, jwst)
