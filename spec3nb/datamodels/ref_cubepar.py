"""The CUBEPAR reference file of cube_build (MIRI MRS and NIRSpec IFU).

A CUBEPAR file is a FITS file of binary tables (``MiriIFUCubeParsModel`` /
``NirspecIFUCubeParsModel`` in stdatamodels):

* ``CUBEPAR``: one row per band (MIRI ``CHANNEL``, ``BAND``; NIRSpec ``DISPERSER``,
  ``FILTER``) with ``WAVEMIN``, ``WAVEMAX`` (micron), ``SPAXELSIZE`` (arcsec) and
  ``SPECTRALSTEP`` (micron);
* ``CUBEPAR_MSM`` (``ROISPATIAL``, ``ROISPECTRAL``, ``POWER``, ``SOFTRAD``) and
  ``CUBEPAR_EMSM`` (``ROISPATIAL``, ``ROISPECTRAL``, ``SCALERAD``) per band;
* wavelength tables for cubes of several bands (non-linear wavelength axis): MIRI
  ``MULTICHANNEL_{MSM,EMSM,DRIZ}``, NIRSpec ``MULTICHAN_{PRISM,MED,HIGH}_{MSM,EMSM,DRIZZLE}``.

Values keep the precision of the file (single precision) converted to Python floats, as
jwst's reader does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np
from astropy.io import fits

from spec3nb.errors import InputFileError

#: Extension name -> table key of the multi-band wavelength tables.
TABLE_EXTENSIONS: Mapping[str, str] = MappingProxyType({
    "MULTICHANNEL_MSM": "multichannel_msm",
    "MULTICHANNEL_EMSM": "multichannel_emsm",
    "MULTICHANNEL_DRIZ": "multichannel_driz",
    **{f"MULTICHAN_{res}_{kind}": f"{res.lower()}_{key}"
       for res in ("PRISM", "MED", "HIGH")
       for kind, key in (("MSM", "msm"), ("EMSM", "emsm"), ("DRIZZLE", "driz"))},
})


@dataclasses.dataclass(frozen=True)
class BandPars:
    """Cube parameters of one band (MIRI channel/band or NIRSpec grating/filter).

    Parameters
    ----------
    wavemin, wavemax : float
        Default wavelength range of a cube of this band (micron).
    spaxelsize : float
        Spaxel size (arcsec).
    spectralstep : float
        Wavelength step (micron).
    msm : tuple of 4 floats, optional
        ``(rois, roiw, power, softrad)`` of the modified Shepard weighting.
    emsm : tuple of 3 floats, optional
        ``(rois, roiw, scalerad)`` of the exponential modified Shepard weighting.
    """

    wavemin: float
    wavemax: float
    spaxelsize: float
    spectralstep: float
    msm: tuple[float, float, float, float] | None = None
    emsm: tuple[float, float, float] | None = None


@dataclasses.dataclass(frozen=True)
class CubePars:
    """A loaded CUBEPAR reference.

    Parameters
    ----------
    instrument : str
        ``MIRI`` or ``NIRSPEC``.
    bands : Mapping[tuple[str, str], BandPars]
        Per band, keyed by lower-case ``(channel, band)`` (MIRI, e.g. ``("1", "short")``) or
        ``(grating, filter)`` (NIRSpec, e.g. ``("g395h", "f290lp")``).
    tables : Mapping[str, Mapping[str, numpy.ndarray]]
        Multi-band wavelength tables by key (``multichannel_emsm``, ``high_driz`` ...), each a
        mapping of lower-case column name to values.
    source : str
        Where the values come from (a file name, or the built-in defaults' source).
    """

    instrument: str
    bands: Mapping[tuple[str, str], BandPars]
    tables: Mapping[str, Mapping[str, np.ndarray]]
    source: str = ""

    def band(self, key: tuple[str, str]) -> BandPars:
        """Return the parameters of `key`, or raise KeyError naming the band and the file."""
        try:
            return self.bands[key]
        except KeyError:
            raise KeyError(f"cubepar {self.source or '(built in)'} has no row for band "
                           f"{key[0]}/{key[1]}") from None


def _float(value: object) -> float:
    return float(np.asarray(value).item())


def _band_keys(table: fits.FITS_rec, instrument: str) -> list[tuple[str, str]]:
    names = ("CHANNEL", "BAND") if instrument == "MIRI" else ("DISPERSER", "FILTER")
    first = [str(v).strip().lower() for v in table[names[0]]]
    second = [str(v).strip().lower() for v in table[names[1]]]
    return list(zip(first, second, strict=True))


def _rows(hdul: fits.HDUList, name: str, instrument: str,
          columns: tuple[str, ...]) -> dict[tuple[str, str], tuple[float, ...]]:
    """Per band, the values of `columns` in extension `name` (last row of a band wins)."""
    if name not in hdul:
        return {}
    table = hdul[name].data
    result = {}
    for i, key in enumerate(_band_keys(table, instrument)):
        result[key] = tuple(_float(table[c][i]) for c in columns)
    return result


def _instrument(hdul: fits.HDUList, path: Path) -> str:
    name = str(hdul[0].header.get("INSTRUME", "")).strip().upper()
    if name in ("MIRI", "NIRSPEC"):
        return name
    if "CUBEPAR" in hdul:
        columns = {c.upper() for c in hdul["CUBEPAR"].columns.names}
        return "MIRI" if "CHANNEL" in columns else "NIRSPEC"
    raise InputFileError(path, "not a cubepar reference file (no CUBEPAR table)")


def load_cubepar(path: Path) -> CubePars:
    """Read a CUBEPAR reference file.

    Parameters
    ----------
    path : Path
        The FITS file.

    Returns
    -------
    CubePars
        Its band parameters and wavelength tables.

    Raises
    ------
    InputFileError
        If the file cannot be read or lacks the ``CUBEPAR`` table.
    """
    path = Path(path)
    try:
        with fits.open(path, memmap=False) as hdul:
            instrument = _instrument(hdul, path)
            if "CUBEPAR" not in hdul:
                raise InputFileError(path, "no CUBEPAR table", "CUBEPAR")
            base = _rows(hdul, "CUBEPAR", instrument,
                         ("WAVEMIN", "WAVEMAX", "SPAXELSIZE", "SPECTRALSTEP"))
            msm = _rows(hdul, "CUBEPAR_MSM", instrument,
                        ("ROISPATIAL", "ROISPECTRAL", "POWER", "SOFTRAD"))
            emsm = _rows(hdul, "CUBEPAR_EMSM", instrument,
                         ("ROISPATIAL", "ROISPECTRAL", "SCALERAD"))
            tables = {}
            for ext, key in TABLE_EXTENSIONS.items():
                if ext in hdul:
                    data = hdul[ext].data
                    tables[key] = MappingProxyType(
                        {c.lower(): np.array(data[c]) for c in data.columns.names})
    except (OSError, KeyError, ValueError) as exc:
        raise InputFileError(path, f"cannot read the cubepar reference: {exc}") from None
    bands = {key: BandPars(*values, msm=msm.get(key), emsm=emsm.get(key))
             for key, values in base.items()}
    return CubePars(instrument, MappingProxyType(bands), MappingProxyType(tables),
                    source=path.name)
