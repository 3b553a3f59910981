"""Reading APCORR reference files (``override_apcorr``) for slit spectra.

An APCORR file is FITS with an ``APCORR`` binary table (one row per instrument set-up) whose
header keyword ``SIZEUNIT`` gives the unit of the aperture sizes (``pixels`` or
``arcsec``). Two layouts matter for slits (stdatamodels ``mirlrs_apcorr`` and
``nrsfs_apcorr``/``nrsmos_apcorr``):

* MIRI LRS: ``subarray``, ``wavelength`` (vector), ``nelem_wl``, ``size`` (vector),
  ``nelem_size``, ``apcorr`` (wavelength x size);
* NIRSpec FS/MOS: ``filter``, ``grating`` (FS also ``slit``), ``wavelength``, ``size``
  (2-D), ``pixphase``, ``apcorr`` (3-D), with ``nelem_*`` columns unused by jwst.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from spec3nb.errors import InputFileError

#: Columns every slit APCORR table must have.
REQUIRED = ("wavelength", "size", "apcorr")


@dataclasses.dataclass(frozen=True)
class ApcorrReference:
    """A loaded APCORR reference.

    Parameters
    ----------
    path : str
        The file it was read from (named in later error messages).
    sizeunit : str
        ``SIZEUNIT`` of the table (``pixels`` when absent).
    rows : tuple[Mapping[str, Any], ...]
        One mapping per table row: column name (lower case) to value; text stripped, arrays
        as read-only float or integer numpy arrays.
    """

    path: str
    sizeunit: str
    rows: tuple[Mapping[str, Any], ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """The column names (lower case)."""
        return tuple(self.rows[0]) if self.rows else ()


def _cell(value: Any) -> Any:
    if isinstance(value, bytes | np.bytes_):
        return value.decode().strip()
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, np.ndarray):
        array = np.array(value)
        if not array.dtype.isnative:
            array = array.astype(array.dtype.newbyteorder("="))
        array.flags.writeable = False
        return array
    return value.item() if isinstance(value, np.generic) else value


def load_apcorr(path: Path) -> ApcorrReference:
    """Read an APCORR reference file (MIRI LRS or NIRSpec FS/MOS layout).

    Parameters
    ----------
    path : pathlib.Path
        The FITS file.

    Returns
    -------
    ApcorrReference
        Its rows and size unit.

    Raises
    ------
    InputFileError
        If the file is not FITS, has no ``APCORR`` table, or lacks a required column.
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path, memmap=False) as hdul:
                if "APCORR" not in hdul:
                    raise InputFileError(path, "no APCORR table extension")
                hdu = hdul["APCORR"]
                table = hdu.data
                sizeunit = str(hdu.header.get("SIZEUNIT", "pixels")).strip()
                if table is None or not table.dtype.names:
                    raise InputFileError(path, "the APCORR extension holds no table",
                                         "APCORR")
                names = [n.lower() for n in table.dtype.names]
                rows = tuple({name: _cell(row[i]) for i, name in enumerate(names)}
                             for row in table)
    except InputFileError:
        raise
    except (OSError, ValueError, TypeError) as exc:
        raise InputFileError(path, f"not a readable APCORR reference ({exc})") from None
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise InputFileError(path, f"the APCORR table lacks column(s) {', '.join(missing)}",
                             "APCORR")
    if not rows:
        raise InputFileError(path, "the APCORR table has no rows", "APCORR")
    return ApcorrReference(str(path), sizeunit, rows)
