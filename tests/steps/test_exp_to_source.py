"""exp_to_source: one source-based product per source, inputs untouched."""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.datamodels import Product
from spec3nb.steps import get_step
from spec3nb.steps.exp_to_source import exp_to_source, group_by_source, source_key
from tests.factories import make_multislit, make_slit_model


def _without_source_names(product: Product) -> Product:
    return product.evolve(parts=[p.evolve(attrs={"source_name": None}) for p in product.parts])


def _fs_exposures(n: int = 2, nslits: int = 3) -> list[Product]:
    return [
        _without_source_names(make_multislit("NRS_FIXEDSLIT", nslits, seed=10 * i,
                                             **{"filename": f"e{i}_cal.fits"}))
        for i in range(n)
    ]


def test_groups_fixed_slits_by_source_id_in_first_seen_order() -> None:
    exposures = _fs_exposures()
    sources = group_by_source(exposures)
    assert list(sources) == ["1", "2", "3"]
    for index, (key, source) in enumerate(sources.items()):
        assert source.model_type == "MultiExposureModel"
        assert len(source.parts) == 2
        for exp_index, part in enumerate(source.parts):
            np.testing.assert_array_equal(part.data, exposures[exp_index].parts[index].data)
            assert str(part.attrs["source_id"]) == key


def test_mos_groups_by_source_name() -> None:
    exposures = [make_multislit("NRS_MSASPEC", 2, seed=s) for s in (1, 2)]
    renamed = exposures[1].evolve(parts=list(reversed(exposures[1].parts)))
    sources = group_by_source([exposures[0], renamed])
    assert list(sources) == ["src0", "src1"]
    np.testing.assert_array_equal(sources["src0"].parts[1].data, exposures[1].parts[0].data)


def test_exposure_metadata_merged_without_overriding_the_slit() -> None:
    exposure = _fs_exposures(1, 1)[0]
    slit_wcsinfo = dict(exposure.parts[0].meta["wcsinfo"])
    part = group_by_source([exposure])["1"].parts[0]
    assert part.meta["instrument"]["name"] == "NIRSPEC"
    assert part.meta["exposure"]["type"] == "NRS_FIXEDSLIT"
    assert dict(part.meta["wcsinfo"]) == slit_wcsinfo  # the slit's own, not the exposure's
    assert part.meta["bunit_data"] == "MJy/sr"
    assert part.wcs is exposure.parts[0].wcs


def test_fixed_slit_inside_mos_exposure_takes_its_own_exp_type() -> None:
    mos = make_multislit("NRS_MSASPEC", 2)
    fs_slit = mos.parts[1].evolve(meta={"exposure.type": "NRS_FIXEDSLIT"})
    sources = group_by_source([mos.evolve(parts=[mos.parts[0], fs_slit])])
    assert sources["src1"].exp_type == "NRS_FIXEDSLIT"
    assert sources["src0"].exp_type == "NRS_MSASPEC"


def test_source_product_has_no_filename_and_inputs_are_unchanged() -> None:
    exposures = _fs_exposures()
    before = [(e.meta, e.parts, [p.data.copy() for p in e.parts]) for e in exposures]
    result = exp_to_source(exposures)
    assert result.status == "COMPLETE"
    assert all(o.suffix == "cal" and o.origin is None for o in result.outputs)
    assert [o.source for o in result.outputs] == ["1", "2", "3"]
    assert all(o.product.filename is None for o in result.outputs)
    for exposure, (meta, parts, data) in zip(exposures, before, strict=True):
        assert exposure.meta is meta and exposure.parts is parts
        assert exposure.filename is not None
        for part, saved in zip(exposure.parts, data, strict=True):
            np.testing.assert_array_equal(part.data, saved)
            assert not part.data.flags.writeable


def test_background_members_are_left_to_master_background() -> None:
    science = _fs_exposures(1, 2)[0].evolve(meta={"asn.exptype": "science"})
    background = _fs_exposures(1, 1)[0].evolve(meta={"asn.exptype": "background"})
    result = exp_to_source([science, background])
    assert [len(o.product.parts) for o in result.outputs] == [1, 1]


def test_refuses_non_multislit_input_naming_it() -> None:
    lrs = make_slit_model()
    with pytest.raises(ValueError, match="takes MultiSlitModel exposures.*is a SlitModel"):
        exp_to_source([lrs])


def test_source_key_falls_back_to_source_id_for_blank_names() -> None:
    part = make_multislit("NIS_WFSS", 1).parts[0]
    assert source_key(part.evolve(attrs={"source_name": "  "})) == str(part.attrs["source_id"])


def test_registered_without_parameters() -> None:
    spec = get_step("exp_to_source")
    assert spec.all_params == {}
    assert len(spec.run(_fs_exposures()).outputs) == 3
