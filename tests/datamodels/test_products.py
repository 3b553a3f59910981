"""Products and parts: immutability, evolve, metadata helpers, product-level WCS."""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.datamodels import Part, Product, read_product, write_product
from spec3nb.datamodels.meta import freeze, get, thaw, updated
from tests.factories import make_c1d, make_multislit, make_slit_model, spectrum_wcs


def test_arrays_are_read_only_copies() -> None:
    source = np.zeros((3, 4), dtype=np.float32)
    part = Part(arrays={"data": source})
    source[0, 0] = 5.0  # the caller's array stays the caller's
    assert part.data[0, 0] == 0.0
    with pytest.raises(ValueError):
        part.data[1, 1] = 1.0


def test_metadata_is_frozen_and_updated_copies() -> None:
    meta = freeze({"exposure": {"type": "MIR_MRS"}, "list": [1, 2]})
    with pytest.raises(TypeError):
        meta["exposure"]["type"] = "NRS_IFU"
    new = updated(meta, {"exposure.type": "NRS_IFU", "cal_step.outlier_detection": "COMPLETE"})
    assert get(meta, "exposure.type") == "MIR_MRS"
    assert get(new, "exposure.type") == "NRS_IFU"
    assert get(new, "cal_step.outlier_detection") == "COMPLETE"
    assert get(new, "missing.path", 3) == 3
    assert thaw(meta) == {"exposure": {"type": "MIR_MRS"}, "list": [1, 2]}


def test_evolve_leaves_the_original() -> None:
    product = make_slit_model()
    changed = product.evolve(
        parts=[product.part.evolve(arrays={"data": np.ones(product.part.data.shape)},
                                   drop=["var_flat"])],
        meta={"cal_step.outlier_detection": "COMPLETE"},
    )
    assert "var_flat" in product.part.arrays and "var_flat" not in changed.part.arrays
    assert not np.all(product.part.data == 1.0) and np.all(changed.part.data == 1.0)
    assert product.get("cal_step.outlier_detection") is None
    assert changed.get("cal_step.outlier_detection") == "COMPLETE"
    assert changed.part.wcs is product.part.wcs


def test_single_part_rules() -> None:
    part = make_slit_model().part
    with pytest.raises(ValueError, match="holds exactly one part, not 2"):
        Product("SlitModel", {}, (part, part))
    with pytest.raises(ValueError, match="belongs to its part"):
        Product("SlitModel", {}, (part,), wcs=part.wcs)
    with pytest.raises(ValueError, match="unsupported model type 'RampModel'"):
        Product("RampModel", {}, (part,))


def test_read_arrays_are_native_endian(tmp_path) -> None:
    product = read_product(write_product(make_multislit(), tmp_path / "a_cal.fits"))
    for part in product.parts:
        for name, array in part.arrays.items():
            assert array.dtype.isnative, name


def test_product_level_wcs_round_trip(tmp_path) -> None:
    c1d = make_c1d(npoints=20)
    wave = np.asarray(c1d.parts[0].table["WAVELENGTH"])
    product = c1d.evolve(wcs=spectrum_wcs(wave))
    back = read_product(write_product(product, tmp_path / "a_c1d.fits"))
    assert back.wcs is not None
    np.testing.assert_allclose(back.wcs(3.0)[2], product.wcs(3.0)[2])


def test_products_pickle_for_other_processes() -> None:
    import pickle

    product = make_multislit()
    back = pickle.loads(pickle.dumps(product))
    assert back.model_type == product.model_type and back.meta == product.meta
    np.testing.assert_array_equal(back.parts[1].data, product.parts[1].data)
    assert not back.parts[1].data.flags.writeable
    assert back.parts[1].attrs == product.parts[1].attrs
    np.testing.assert_allclose(back.parts[0].wcs(3, 4), product.parts[0].wcs(3, 4))
