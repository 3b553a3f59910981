"""Files spec3 cannot take are refused with one message naming the file and the problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from spec3nb.datamodels import read_product, write_product
from spec3nb.errors import InputFileError
from tests.factories import make_slit_model


@pytest.fixture
def good_file(tmp_path: Path) -> Path:
    return write_product(make_slit_model(), tmp_path / "lrs_cal.fits")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"absent_cal\.fits: no such file"):
        read_product(tmp_path / "absent_cal.fits")


def test_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not a regular file"):
        read_product(tmp_path)


def test_not_fits(tmp_path: Path) -> None:
    path = tmp_path / "notes_cal.fits"
    path.write_text("these are not the pixels you are looking for\n" * 100)
    with pytest.raises(InputFileError, match=r"notes_cal\.fits: not a FITS file"):
        read_product(path)


@pytest.mark.parametrize("fraction", [0.3, 0.5, 0.77])
def test_truncated(good_file: Path, tmp_path: Path, fraction: float) -> None:
    data = good_file.read_bytes()
    cut = tmp_path / "cut_cal.fits"
    cut.write_bytes(data[: int(len(data) * fraction) // 2880 * 2880 + 100])
    with pytest.raises(InputFileError, match=r"cut_cal\.fits: truncated"):
        read_product(cut)


def test_cut_between_extensions(good_file: Path, tmp_path: Path) -> None:
    with fits.open(good_file) as hdul:
        kept = fits.HDUList([h.copy() for h in hdul if h.name != "ASDF"])
    path = tmp_path / "short_cal.fits"
    kept.writeto(path)
    with pytest.raises(InputFileError, match=r"short_cal\.fits: no ASDF extension: the file "
                                             "is truncated"):
        read_product(path)


def test_without_datamodl(tmp_path: Path) -> None:
    path = tmp_path / "plain_cal.fits"
    hdus = [fits.PrimaryHDU(), fits.ImageHDU(np.zeros((3, 3)), name="SCI"),
            fits.BinTableHDU(name="ASDF")]
    fits.HDUList(hdus).writeto(path)
    with pytest.raises(InputFileError, match=r"plain_cal\.fits \[PRIMARY\]: no DATAMODL"):
        read_product(path)


def test_datamodl_spec3_cannot_take(good_file: Path) -> None:
    with fits.open(good_file, mode="update") as hdul:
        hdul[0].header["DATAMODL"] = "RampModel"
    with pytest.raises(InputFileError, match=r"\[PRIMARY\]: DATAMODL='RampModel' is not a "
                                             "product spec3 takes"):
        read_product(good_file)


def test_without_sci(good_file: Path) -> None:
    with fits.open(good_file) as hdul:
        kept = fits.HDUList([h.copy() for h in hdul if h.name != "SCI"])
    path = good_file.with_name("nosci_cal.fits")
    kept.writeto(path)
    with pytest.raises(InputFileError, match=r"nosci_cal\.fits: no SCI extension"):
        read_product(path)


def test_spectrum_without_table(tmp_path: Path) -> None:
    path = tmp_path / "bkg_x1d.fits"
    header = fits.Header({"DATAMODL": "MultiSpecModel", "TELESCOP": "JWST"})
    fits.HDUList([fits.PrimaryHDU(header=header), fits.BinTableHDU(name="ASDF")]).writeto(path)
    with pytest.raises(InputFileError, match=r"bkg_x1d\.fits: no COMBINE1D or EXTRACT1D"):
        read_product(path)


def test_reading_leaves_the_file_untouched(good_file: Path) -> None:
    before = good_file.read_bytes()
    product = read_product(good_file)
    with pytest.raises(ValueError):
        product.part.data[0, 0] = 1.0  # read-only: a step cannot write into an input
    assert good_file.read_bytes() == before
