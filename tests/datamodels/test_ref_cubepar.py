"""Reading CUBEPAR reference files, and the built-in defaults."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from spec3nb.datamodels.ref_cubepar import load_cubepar
from spec3nb.datamodels.references import load_reference
from spec3nb.errors import InputFileError
from spec3nb.simulate import simulate
from spec3nb.simulate.ifu_miri import CUBEPAR_NAME
from spec3nb.steps.cubepar_defaults import default_cubepar


@pytest.fixture(scope="module")
def cubepar_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("ref") / CUBEPAR_NAME
    path.write_bytes(simulate("mir_mrs", seed=1).references[CUBEPAR_NAME])
    return path


def test_miri_file_bands_and_tables(cubepar_file):
    pars = load_cubepar(cubepar_file)
    assert pars.instrument == "MIRI"
    assert len(pars.bands) == 12
    band = pars.band(("1", "short"))
    # single precision of the file, as jwst reads it
    assert band.spaxelsize == float(np.float32(0.13))
    assert band.wavemin == float(np.float32(4.90))
    assert band.msm[2] == 2.0 and band.emsm[0] == band.spaxelsize
    with fits.open(cubepar_file) as hdul:
        assert band.spectralstep == float(hdul["CUBEPAR"].data["SPECTRALSTEP"][0])
    assert set(pars.tables) == {"multichannel_msm", "multichannel_emsm", "multichannel_driz"}
    table = pars.tables["multichannel_emsm"]
    assert set(table) == {"wavelength", "roispatial", "roispectral", "scalerad"}
    assert np.all(np.diff(table["wavelength"]) > 0)


def test_loaded_through_the_reference_registry(cubepar_file):
    assert load_reference("cubepar", cubepar_file).band(("2", "short")).spaxelsize > 0.16
    assert load_reference("cubepar", "N/A") == "N/A"


def test_missing_band_names_the_band(cubepar_file):
    with pytest.raises(KeyError, match="9/short"):
        load_cubepar(cubepar_file).band(("9", "short"))


def test_bad_files_are_refused(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        load_reference("cubepar", tmp_path / "none.fits")
    path = tmp_path / "empty.fits"
    fits.HDUList([fits.PrimaryHDU()]).writeto(path)
    with pytest.raises(InputFileError, match="CUBEPAR"):
        load_cubepar(path)
    garbage = tmp_path / "garbage.fits"
    garbage.write_bytes(b"not a fits file at all")
    with pytest.raises(InputFileError):
        load_cubepar(garbage)


def test_nirspec_file(tmp_path):
    cols = [fits.Column(name="DISPERSER", format="5A", array=["G395H"]),
            fits.Column(name="FILTER", format="6A", array=["F290LP"]),
            fits.Column(name="WAVEMIN", format="E", array=[2.87]),
            fits.Column(name="WAVEMAX", format="E", array=[5.27]),
            fits.Column(name="SPAXELSIZE", format="E", array=[0.1]),
            fits.Column(name="SPECTRALSTEP", format="E", array=[0.000665])]
    table = fits.BinTableHDU.from_columns(cols, name="CUBEPAR")
    wave = fits.BinTableHDU.from_columns(
        [fits.Column(name="WAVELENGTH", format="D", array=[3.0, 4.0])],
        name="MULTICHAN_HIGH_DRIZZLE")
    primary = fits.PrimaryHDU()
    primary.header["INSTRUME"] = "NIRSPEC"
    path = tmp_path / "nrs_cubepar.fits"
    fits.HDUList([primary, table, wave]).writeto(path)
    pars = load_cubepar(path)
    assert pars.instrument == "NIRSPEC"
    assert pars.band(("g395h", "f290lp")).msm is None
    np.testing.assert_array_equal(pars.tables["high_driz"]["wavelength"], [3.0, 4.0])


@pytest.mark.parametrize("instrument", ["MIRI", "NIRSPEC"])
def test_defaults_cover_every_band(instrument):
    pars = default_cubepar(instrument)
    assert pars.instrument == instrument and "defaults" in pars.source
    for band in pars.bands.values():
        assert band.wavemax > band.wavemin > 0 and band.spaxelsize > 0
        assert band.msm is not None and band.emsm is not None
    kinds = {k.split("_")[-1] for k in pars.tables}
    assert kinds == {"msm", "emsm", "driz"}
