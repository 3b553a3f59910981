"""The table builders agree with the stdatamodels 6.0.0 schemas and fill what is missing."""

from __future__ import annotations

import math
import pickle
import warnings

import astropy.units as u
import numpy as np
import pytest
from asdf.tags.core.ndarray import asdf_datatype_to_numpy_dtype

from spec3nb.datamodels import Part
from spec3nb.datamodels import tables as tb


def _models():
    from stdatamodels.jwst import datamodels

    return datamodels


def _schema_table(model_class: str) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(_models(), model_class)().schema["properties"]["spec_table"]


def _same_default(ours, theirs) -> bool:
    if isinstance(theirs, str) and theirs.lower() == "nan":
        return isinstance(ours, float) and math.isnan(ours)
    return ours == theirs


@pytest.mark.parametrize(("layout", "model_class"), [
    (tb.SPEC_COLUMNS, "SpecModel"),
    (tb.MRS_SPEC_COLUMNS, "MRSSpecModel"),
    (tb.COMBINED_COLUMNS, "CombinedSpecModel"),
    (tb.WFSS_SPEC_COLUMNS, "WFSSSpecModel"),
    (tb.WFSS_COMBINED_COLUMNS, "WFSSCombinedSpecModel"),
])
def test_layouts_match_the_schemas(layout, model_class) -> None:
    schema = _schema_table(model_class)
    theirs = asdf_datatype_to_numpy_dtype(schema["datatype"])
    ours = np.dtype([(c.name, c.dtype) for c in layout])
    assert ours == theirs
    assert len(schema["default"]) == len(layout)
    for col, default in zip(layout, schema["default"], strict=True):
        assert _same_default(col.default, default), (col.name, col.default, default)
    schema_units = {d["name"]: d["unit"] for d in schema["datatype"] if "unit" in d}
    assert schema_units == {k: v for k, v in tb.WFSS_SCHEMA_UNITS.items() if k in ours.names}


def test_stdatamodels_keeps_our_spec_table_as_is() -> None:
    dm = _models()
    table = tb.spec_table(np.linspace(1, 2, 7), flux=np.arange(7.0),
                          units=tb.spectrum_units(True, False))
    model = dm.MultiSpecModel()
    model.spec.append(dm.SpecModel(spec_table=table))
    stored = model.spec[0].spec_table
    assert stored.dtype == table.dtype
    np.testing.assert_array_equal(stored["FLUX"], np.arange(7.0))


def test_wavetable_matches_ifucube_schema_and_cube_build_shape() -> None:
    schema = _models().IFUCubeModel().schema["properties"]["wavetable"]
    assert schema["fits_hdu"] == "WCS-TABLE"
    (entry,) = schema["datatype"]
    table = tb.wavetable([5.0, 5.1, 5.2])
    assert table.dtype.names == (entry["name"],) and entry["datatype"] == "float32"
    assert table.shape == (1,) and table["wavelength"].shape == (1, 3, 1)
    assert table["wavelength"][0].ndim == entry["ndim"]
    np.testing.assert_array_equal(table["wavelength"][0, :, 0], np.float32([5.0, 5.1, 5.2]))


def test_sci_header_meta_matches_the_spectrum_schemas() -> None:
    def walk(node, path, found):
        if isinstance(node, dict):
            if node.get("fits_hdu") == "SCI" and "fits_keyword" in node:
                found.add(path)
            for key, value in node.get("properties", {}).items():
                walk(value, f"{path}.{key}" if path else key, found)
            for key in ("allOf", "anyOf", "oneOf"):
                for value in node.get(key, []):
                    walk(value, path, found)

    for model_class in ("MultiSpecModel", "MRSMultiSpecModel", "WFSSMultiSpecModel",
                        "MultiCombinedSpecModel", "WFSSMultiCombinedSpecModel"):
        found: set[str] = set()
        walk(getattr(_models(), model_class)().schema, "", found)
        meta_paths = {p[len("meta."):] for p in found if p.startswith("meta.")}
        assert meta_paths == tb.SCI_HEADER_META, model_class


def test_spec_table_fills_missing_columns_with_schema_defaults() -> None:
    table = tb.spec_table([1.0, 1.1, 1.2], flux=[1, 2, 3], DQ=[0, 4, 0])
    assert table.dtype.names == tuple(c.name for c in tb.SPEC_COLUMNS)
    np.testing.assert_array_equal(table["FLUX"], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(table["DQ"], [0, 4, 0])
    assert np.isnan(table["SURF_BRIGHT"]).all() and np.isnan(table["BKGD_VAR_FLAT"]).all()
    np.testing.assert_array_equal(table["NPIXELS"], 0.0)
    assert tb.column_units(table) == {}
    assert np.isnan(tb.spec_table([2.0], mrs=True)["RF_FLUX"]).all()
    np.testing.assert_array_equal(tb.combined_table([1.0, 2.0])["DQ"], [1, 1])


def test_spec_table_rejects_bad_columns() -> None:
    with pytest.raises(ValueError, match="unknown column.*FLUXX"):
        tb.spec_table([1.0, 2.0], fluxx=[1, 2])
    with pytest.raises(ValueError, match="FLUX has 3 values for 2"):
        tb.spec_table([1.0, 2.0], flux=[1, 2, 3])
    with pytest.raises(ValueError, match="RF_FLUX"):
        tb.spec_table([1.0], rf_flux=[1.0])


def test_units_travel_with_the_table() -> None:
    units = tb.spectrum_units(photom_done=True, ifu=False)
    table = tb.spec_table(np.arange(5.0), units=units)
    assert tb.column_units(table) == units
    part = Part(arrays={"spec_table": table})
    assert tb.column_units(part.table[1:3]) == units
    assert part.table["FLUX"].dtype.metadata["unit"] == "Jy"
    assert tb.column_units(pickle.loads(pickle.dumps(part.table))) == units
    relabelled = tb.with_units(table, {"flux": "DN/s", "WAVELENGTH": None})
    assert tb.column_units(relabelled)["FLUX"] == "DN/s"
    assert "WAVELENGTH" not in tb.column_units(relabelled)
    np.testing.assert_array_equal(relabelled["WAVELENGTH"], table["WAVELENGTH"])


@pytest.mark.parametrize(("photom", "ifu", "flux", "sb_var"), [
    (True, False, "Jy", "MJy^2 / sr^2"), (False, False, "DN/s", "DN^2 / s^2"),
    (True, True, "Jy", "(MJy/sr)^2"), (False, True, "Jy", "(MJy/sr)^2")])
def test_spectrum_units(photom: bool, ifu: bool, flux: str, sb_var: str) -> None:
    units = tb.spectrum_units(photom, ifu)
    assert units["WAVELENGTH"] == "um" and units["FLUX"] == units["FLUX_ERROR"] == flux
    assert units["SB_VAR_POISSON"] == units["BKGD_VAR_FLAT"] == sb_var
    assert "DQ" not in units and "NPIXELS" not in units
    assert ("RF_FLUX" in units) == ifu
    for unit in units.values():  # what specutils parses, after its own rewrite of (MJy/sr)^2
        u.Unit(unit.replace("(MJy/sr)^2", "MJy2 sr-2"), parse_strict="raise")


def test_wfss_spec_table_pads_and_counts() -> None:
    rows = [
        {"wavelength": [1.0, 1.1, 1.2], "flux": [5, 6, 7], "dq": [0, 0, 2], "source_id": 7,
         "source_type": "POINT", "source_ra": 10.0},
        {"WAVELENGTH": [2.0, 2.1], "FLUX": [8, 9], "SOURCE_ID": 9, "N_ALONGDISP": 5},
    ]
    table = tb.wfss_spec_table(rows, units={"FLUX": "Jy"})
    assert table.dtype.names == tuple(c.name for c in tb.WFSS_SPEC_COLUMNS)
    assert table["WAVELENGTH"].shape == (2, 3)
    np.testing.assert_array_equal(table["SOURCE_ID"], [7, 9])
    np.testing.assert_array_equal(table["N_ALONGDISP"], [3, 5])
    np.testing.assert_array_equal(table["DQ"], [[0, 0, 2], [1, 1, 1]])
    assert np.isnan(table["FLUX"][1, 2]) and np.isnan(table["NPIXELS"]).all()
    assert table["SOURCE_TYPE"][0] == b"POINT" and table["SOURCE_TYPE"][1] == b""
    assert np.isnan(table["SOURCE_RA"][1]) and table["EXTRACT2D_XSTART"][1] == 0
    units = tb.column_units(table)
    assert units["FLUX"] == "Jy" and units["SOURCE_RA"] == "deg" and units["SOURCE_XPOS"] == "pix"
    assert tb.wfss_spec_table(rows, width=6)["FLUX"].shape == (2, 6)
    with pytest.raises(ValueError, match="more than width"):
        tb.wfss_spec_table(rows, width=2)
    with pytest.raises(ValueError, match="row 0: unknown column"):
        tb.wfss_spec_table([{"wavelength": [1.0], "colour": 3}])


def test_wfss_combined_table() -> None:
    rows = [{"wavelength": [1.0, 1.5], "flux": [1, 2], "n_input": [2, 2], "source_id": 4,
             "source_type": "EXTENDED", "source_dec": -5.0}]
    table = tb.wfss_combined_table(rows, units=tb.combined_units("Jy", "MJy/sr"))
    assert table.dtype.names == tuple(c.name for c in tb.WFSS_COMBINED_COLUMNS)
    assert table["N_ALONGDISP"][0] == 2 and table["SOURCE_DEC"][0] == -5.0
    assert tb.column_units(table) == {"WAVELENGTH": "um", "FLUX": "Jy", "ERROR": "Jy",
                                      "SURF_BRIGHT": "MJy/sr", "SB_ERROR": "MJy/sr",
                                      "SOURCE_RA": "deg", "SOURCE_DEC": "deg"}


def test_spectrum_product_keeps_only_primary_metadata() -> None:
    part = Part(arrays={"spec_table": tb.spec_table([1.0])})
    meta = {"telescope": "JWST", "target": {"ra": 1.0, "source_type": "POINT"},
            "exposure": {"type": "NRS_FIXEDSLIT", "start_time_mjd": 6e4,
                         "effective_exposure_time": 9.0}}
    product = tb.spectrum_product([part], meta)
    assert product.model_type == "MultiSpecModel"
    assert dict(product.meta["target"]) == {"ra": 1.0}
    assert dict(product.meta["exposure"]) == {"type": "NRS_FIXEDSLIT"}
    assert meta["target"]["source_type"] == "POINT"  # the input is left alone
    with pytest.raises(ValueError, match="not a spectrum model type"):
        tb.spectrum_product([part], meta, "SlitModel")
    with pytest.raises(ValueError, match="part 0 has no spec_table"):
        tb.spectrum_product([Part(arrays={"data": np.zeros((2, 2))})], meta)
