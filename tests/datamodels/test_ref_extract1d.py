"""EXTRACT1D (JSON and IFU ASDF) and APCORR reference files: reading and validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from spec3nb.datamodels.ref_apcorr import load_apcorr
from spec3nb.datamodels.ref_extract1d import IFU, JSON, load_extract1d
from spec3nb.datamodels.references import load_reference
from spec3nb.errors import InputFileError


def write(path: Path, content) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


APERTURE = {"id": "S200A1", "region_type": "target", "spectral_order": 1, "xstart": 3,
            "xstop": 60, "ystart": 2.5, "ystop": 10, "bkg_coeff": [[0.5], [2], [12], [14.5]],
            "bkg_fit": "poly", "bkg_order": 1, "smoothing_length": 5,
            "independent_var": "pixel", "use_source_posn": False, "extract_width": 4,
            "description": "ignored extra key"}


def test_json_apertures_in_file_order(tmp_path) -> None:
    path = write(tmp_path / "x.json", {"apertures": [APERTURE, {"id": "ANY"}]})
    ref = load_reference("extract1d", path)
    assert ref.kind == JSON and ref.path == str(path)
    assert [a["id"] for a in ref.apertures] == ["S200A1", "ANY"]
    assert ref.apertures[0]["bkg_coeff"] == ((0.5,), (2,), (12,), (14.5,))
    with pytest.raises(TypeError):
        ref.apertures[0]["id"] = "other"  # read-only


@pytest.mark.parametrize(("change", "message"), [
    ({"bkg_fit": "spline"}, "bkg_fit must be one of poly, mean, median"),
    ({"bkg_order": -1}, "bkg_order must be an integer >= 0"),
    ({"bkg_order": 1.5}, "bkg_order must be an integer >= 0"),
    ({"src_coeff": [[1.0], [2.0], [3.0]]}, "pairs of .lower, upper."),
    ({"src_coeff": [[1.0], []]}, "empty or non-numeric"),
    ({"bkg_coeff": "wide"}, "bkg_coeff must be a list of coefficient lists"),
    ({"spectral_order": 1.5}, "spectral_order must be an integer or 'ANY'"),
    ({"xstart": "3"}, "xstart must be a number"),
    ({"use_source_posn": "yes"}, "use_source_posn must be true, false or null"),
    ({"independent_var": "time"}, "independent_var must be one of pixel, wavelength"),
    ({"id": 7}, "id must be a string"),
])
def test_bad_aperture_values_are_named(tmp_path, change, message) -> None:
    path = write(tmp_path / "x.json", {"apertures": [{"id": "ANY"}, {**APERTURE, **change}]})
    with pytest.raises(InputFileError, match=f"x.json: aperture 1 .*{message}"):
        load_extract1d(path)


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not a valid JSON extract1d reference"),
    ({"apertures": {"id": "ANY"}}, "needs an 'apertures' list"),
    ([1, 2], "needs an 'apertures' list"),
    ({"apertures": ["ANY"]}, "aperture 0 is not a JSON object"),
])
def test_bad_json_files(tmp_path, content, message) -> None:
    with pytest.raises(InputFileError, match=message):
        load_extract1d(write(tmp_path / "x.json", content))


def test_ifu_asdf_reference(tmp_path) -> None:
    from stdatamodels.jwst import datamodels

    model = datamodels.Extract1dIFUModel()
    model.meta.subtract_background, model.meta.method, model.meta.subpixels = True, "exact", 10
    ones = np.ones(3, np.float32)
    model.data = {"wavelength": np.array([4.0, 10.0, 30.0], np.float32), "radius": ones,
                  "inner_bkg": 2 * ones, "outer_bkg": 3 * ones, "axis_ratio": ones,
                  "axis_pa": 0 * ones}
    model.save(str(tmp_path / "x.asdf"))
    ref = load_extract1d(tmp_path / "x.asdf")
    assert ref.kind == IFU and ref.ifu["method"] == "exact"
    assert ref.ifu["subtract_background"] is True
    np.testing.assert_array_equal(ref.ifu["outer_bkg"], 3 * ones)


def test_broken_asdf_reference(tmp_path) -> None:
    path = tmp_path / "x.asdf"
    path.write_bytes(b"#ASDF 1.0.0\nnot really\n")
    with pytest.raises(InputFileError, match="not a readable IFU extract1d reference"):
        load_extract1d(path)


def _apcorr_file(path: Path, columns: dict, sizeunit: str | None = "arcsec") -> Path:
    hdu = fits.table_to_hdu(Table(columns))
    hdu.header["EXTNAME"] = "APCORR"
    if sizeunit:
        hdu.header["SIZEUNIT"] = sizeunit
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
    return path


LRS = {"subarray": ["FULL", "SLITLESSPRISM"], "wavelength": [[5.0, 10.0]] * 2,
       "nelem_wl": [2, 2], "size": np.array([[2, 4], [2, 4]], np.uint8),
       "nelem_size": [2, 2], "apcorr": np.ones((2, 2, 2), np.float32)}


def test_apcorr_rows_and_unit(tmp_path) -> None:
    ref = load_reference("apcorr", _apcorr_file(tmp_path / "a.fits", LRS))
    assert ref.sizeunit == "arcsec" and len(ref.rows) == 2
    assert ref.rows[1]["subarray"] == "SLITLESSPRISM"
    assert ref.rows[0]["size"].dtype == np.uint8 and not ref.rows[0]["size"].flags.writeable
    assert set(ref.columns) >= {"wavelength", "size", "apcorr", "nelem_wl"}
    plain = load_apcorr(_apcorr_file(tmp_path / "b.fits", LRS, sizeunit=None))
    assert plain.sizeunit == "pixels"


def test_bad_apcorr_files(tmp_path) -> None:
    no_size = {k: v for k, v in LRS.items() if k != "size"}
    with pytest.raises(InputFileError, match=r"\[APCORR\]: the APCORR table lacks .*size"):
        load_apcorr(_apcorr_file(tmp_path / "a.fits", no_size))
    fits.HDUList([fits.PrimaryHDU()]).writeto(tmp_path / "b.fits")
    with pytest.raises(InputFileError, match="no APCORR table extension"):
        load_apcorr(tmp_path / "b.fits")
    (tmp_path / "c.fits").write_text("not fits")
    with pytest.raises(InputFileError, match="not a readable APCORR reference"):
        load_apcorr(tmp_path / "c.fits")
