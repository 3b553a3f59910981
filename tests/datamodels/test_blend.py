"""Header blending: rules read from the stdatamodels schemas, applied to metadata trees."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from spec3nb.datamodels import write_product
from spec3nb.datamodels.blend import (
    HDRTAB,
    blend,
    blend_rules,
    blended_values,
    flatten,
    header_table,
)
from tests.factories import make_slit_model


def _meta(k: int, **extra) -> dict:
    meta = {
        "filename": f"jw01234001001_03101_{k + 1:05d}_nrs1_cal.fits",
        "exposure": {"start_time": 60400.0 + k, "mid_time": 60400.5 + k,
                     "end_time": 60401.0 + k, "exposure_time": 100.0 + k},
        "observation": {"date": f"2024-04-0{3 - k}", "time": "06:00:00.000"},
        "instrument": {"name": "NIRSPEC", "detector": "NRS1", "filter": "F290LP",
                       "filter_wheel_tolerance": "within commanded tolerance"},
        "background": {"subtracted": False},
    }
    for path, value in extra.items():
        node = meta
        *parents, leaf = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return meta


def test_rules_come_from_the_schema() -> None:
    rules = blend_rules("SlitModel")
    assert rules.rules["exposure.mid_time"] == "mean"
    assert rules.rules["exposure.start_time"] == "min"
    assert rules.rules["instrument.detector"] == "multi"
    assert "instrument.name" not in rules.rules  # "first": the first input's value stays
    assert rules.columns["exposure.start_time"] == "EXPSTART"
    assert rules.columns["filename"] == "FILENAME"
    assert blend_rules("IFUImageModel").rules["exposure.exposure_time"] == "sum"


def test_flatten_keeps_scalars_by_dotted_path() -> None:
    flat = flatten({"a": {"b": 1, "c": None, "d": [1, 2]}, "e": "x"})
    assert flat == {"a.b": 1, "e": "x"}


def test_each_rule() -> None:
    metas = [_meta(0), _meta(1), _meta(2, **{
        "instrument.detector": "NRS2",
        "instrument.filter_wheel_tolerance": "outside calibration tolerance"})]
    values = blended_values(metas, "SlitModel")
    assert values["exposure.start_time"] == 60400.0
    assert values["exposure.end_time"] == 60403.0
    assert values["exposure.mid_time"] == pytest.approx(60401.5)
    assert values["exposure.exposure_time"] == pytest.approx(303.0)
    assert values["observation.date"] == "2024-04-01"  # ISO dates: the earliest
    assert values["instrument.detector"] == "MULTIPLE"
    assert values["instrument.filter"] == "F290LP"
    assert values["instrument.filter_wheel_tolerance"] == "outside calibration tolerance"
    assert "exposure.duration" not in values  # no input has it
    assert "instrument.name" not in values


def test_ignored_paths_are_not_blended() -> None:
    values = blended_values([_meta(0), _meta(1)], "SlitModel", ignore=("exposure.",))
    assert not any(path.startswith("exposure.") for path in values)
    assert values["observation.date"] == "2024-04-02"


def test_header_table_rows_and_columns() -> None:
    metas = [_meta(0), _meta(1, **{"exposure.duration": 12.5})]
    table = header_table(metas, "SlitModel")
    assert len(table) == 2
    assert list(table["FILENAME"]) == [m["filename"] for m in metas]
    assert list(table["EXPSTART"]) == [60400.0, 60401.0]
    assert np.isnan(table["DURATION"][0]) and table["DURATION"][1] == 12.5
    assert table["BKGSUB"].dtype == np.int8 and list(table["BKGSUB"]) == [0, 0]
    assert list(table["DATAMODL"]) == ["SlitModel"] * 2  # the given type where none is set
    assert "TMEASURE" not in table.dtype.names  # no input has it


def test_hdrtab_is_written_as_an_extension(tmp_path) -> None:
    product = make_slit_model()
    values, table = blend([_meta(0), _meta(1)], "SlitModel")
    s2d = product.evolve(parts=[product.part.evolve(arrays={**product.part.arrays,
                                                            HDRTAB: table})],
                         meta={"exposure.mid_time": values["exposure.mid_time"]})
    path = write_product(s2d, tmp_path / "jw01234-o001_t001_nirspec_s2d.fits")
    with fits.open(path) as hdul:
        written = hdul["HDRTAB"].data
        assert list(written["FILENAME"]) == list(table["FILENAME"])
        np.testing.assert_array_equal(written["EXPSTART"], table["EXPSTART"])
        assert hdul[0].header["EXPMID"] == pytest.approx(60401.0)


def test_table_schema_takes_tables_read_back_from_files() -> None:
    from spec3nb.datamodels.blend import table_schema

    table = np.array([(b"jw_cal.fits", 1.5, True)],
                     dtype=[("FILENAME", "S11"), ("EXPSTART", ">f8"), ("BKGSUB", "?")])
    schema = table_schema(table)
    assert schema["fits_hdu"] == "HDRTAB"
    assert [f["datatype"] for f in schema["datatype"]] == [["ascii", 11], "float64", "int8"]
