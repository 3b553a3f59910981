"""The header-only FITS checks, the indexed HDU list, and files identical to stdatamodels' save."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import asdf
import numpy as np
import pytest
from astropy.io import fits

from spec3nb.datamodels import read_product, to_datamodel, write_product
from spec3nb.datamodels.fits_check import IndexedHDUList
from spec3nb.datamodels.io import _fix_date
from spec3nb.errors import InputFileError
from tests import factories as fx

DATE = "2025-01-01T00:00:00.000"


@pytest.fixture(scope="module")
def mos_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fits_check")
    return write_product(fx.make_multislit("NRS_MSASPEC", 4), folder / "mos_cal.fits")


def _data_blocks(path: Path) -> list[int]:
    """Block numbers strictly inside some HDU's data (a cut there leaves the data short)."""
    with fits.open(path) as hdul:
        spans = [(hdul.fileinfo(i)["datLoc"], hdul.fileinfo(i)["datSpan"])
                 for i in range(len(hdul))]
    return [(start + span) // 2880 - 1 for start, span in spans if span > 2880]


def test_cut_on_a_block_inside_the_data_is_truncated(mos_file: Path, tmp_path: Path) -> None:
    data = mos_file.read_bytes()
    blocks = _data_blocks(mos_file)
    assert blocks, "the file should have multi-block extensions"
    for block in blocks:
        cut = tmp_path / "cut_cal.fits"
        cut.write_bytes(data[: block * 2880])
        with pytest.raises(InputFileError, match=r"cut_cal\.fits: truncated: its headers "
                                                 r"declare \d+ bytes but it holds \d+"):
            read_product(cut)


def test_cut_inside_a_header_is_refused(mos_file: Path, tmp_path: Path) -> None:
    data = mos_file.read_bytes()
    with fits.open(mos_file) as hdul:
        header_start = hdul.fileinfo(1)["hdrLoc"]
    cut = tmp_path / "cut_cal.fits"
    cut.write_bytes(data[: header_start + 2880])  # half of the SCI header (2 blocks or more)
    with pytest.raises(InputFileError, match=r"cut_cal\.fits: "):
        read_product(cut)


def _astropy_index(hdul: fits.HDUList, key: object) -> int | str:
    try:
        return fits.HDUList.index_of(hdul, key)
    except KeyError:
        return "missing"


def _indexed_index(hdul: IndexedHDUList, key: object) -> int | str:
    try:
        return hdul.index_of(key)
    except KeyError:
        return "missing"


def test_indexed_hdu_list_finds_what_astropy_finds() -> None:
    hdul = IndexedHDUList([fits.PrimaryHDU()])
    keys = ["SCI", ("SCI", 1), ("SCI", 2), ("sci ", 3), "DQ", ("DQ", 2), "PRIMARY",
            ("PRIMARY", 1), "ASDF", 0, 2]

    def check() -> None:
        for key in keys:
            assert _indexed_index(hdul, key) == _astropy_index(hdul, key), key

    check()
    for ver in (1, 2, 2):  # a duplicate (SCI, 2): the first one wins
        hdu = fits.ImageHDU(np.zeros(2), name="SCI", ver=ver)
        hdul.append(hdu)
        check()
    hdul.append(fits.ImageHDU(np.zeros(2), name="DQ", ver=2))
    check()
    hdul.remove(hdul[1])  # everything shifts down
    check()
    hdul.insert(1, fits.ImageHDU(np.zeros(2), name="SCI", ver=3))
    check()
    hdul.pop(-1)
    hdul.append(fits.BinTableHDU(name="ASDF"))
    check()


@pytest.mark.parametrize("build", [
    lambda: fx.make_multislit("NRS_MSASPEC", 5), fx.make_multiexposure, fx.make_s2d,
    lambda: fx.make_x1d(3), fx.make_s3d, fx.make_c1d,
], ids=["multislit", "multiexposure", "s2d", "x1d", "s3d", "c1d"])
def test_written_file_is_what_stdatamodels_save_writes(build, tmp_path: Path) -> None:
    """Same header cards, data and ASDF tree as the model's own ``save`` (the former path)."""
    product = build()
    ours = write_product(product, tmp_path / "ours" / "p_cal.fits", date=DATE)
    model = to_datamodel(product)
    _fix_date(model, DATE)
    theirs = tmp_path / "theirs" / "p_cal.fits"
    theirs.parent.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(str(theirs))
    with fits.open(ours) as a, fits.open(theirs) as b:
        assert [h.name for h in a] == [h.name for h in b]
        for hdu_a, hdu_b in zip(a, b, strict=True):
            if hdu_a.name == "ASDF":
                continue
            assert [c.image for c in hdu_a.header.cards] == [
                c.image for c in hdu_b.header.cards], hdu_a.name
            assert hdu_a.data is None and hdu_b.data is None or (
                hdu_a.data.tobytes() == hdu_b.data.tobytes()), hdu_a.name
        tree_a = _asdf_tree(a["ASDF"].data.tobytes())
        tree_b = _asdf_tree(b["ASDF"].data.tobytes())
    assert tree_a == tree_b
    assert ours.read_bytes() == theirs.read_bytes()


def _asdf_tree(raw: bytes) -> dict:
    """The YAML tree of an embedded ASDF, as tagged plain data (no objects built)."""
    with asdf.open(io.BytesIO(raw), _force_raw_types=True, lazy_load=False) as af:
        return _plain(af.tree)


def _plain(node: object) -> object:
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_plain(v) for v in node]
    if isinstance(node, np.ndarray):
        return node.tolist()
    return node
