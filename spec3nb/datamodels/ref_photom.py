"""Reading a photom reference's ``PHOTOM`` table (used for NIRISS SOSS spectra in spec3).

The table is handed to the step as it is; the SOSS photom step picks its rows
(filter, pupil, order) and interpolates the relative response.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

from spec3nb.errors import InputFileError


def load_photom(path: Path) -> np.ndarray:
    """Return the ``PHOTOM`` table of a photom reference file.

    Parameters
    ----------
    path : pathlib.Path
        The FITS reference.

    Returns
    -------
    numpy.ndarray
        A structured array (with ``dtype.metadata["source"]`` naming the file).

    Raises
    ------
    InputFileError
        If the file is not FITS or has no ``PHOTOM`` table.
    """
    try:
        with fits.open(path) as hdul:
            if "PHOTOM" not in hdul:
                raise InputFileError(path, "no PHOTOM table", "PHOTOM")
            table = np.array(hdul["PHOTOM"].data)
    except (OSError, TypeError, ValueError) as exc:
        raise InputFileError(path, f"not a readable photom reference ({exc})") from None
    dtype = np.dtype(table.dtype.newbyteorder("="), metadata={"source": str(path)})
    return table.astype(dtype)
