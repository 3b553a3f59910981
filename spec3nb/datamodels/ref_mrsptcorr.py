"""Reading the spectral-leak table of a MIRI MRS ``MRSPTCORR`` reference file.

The file (stdatamodels' ``MirMrsPtCorrModel``) also holds the across-slice tables that
spec2 uses; spec3's spectral_leak step needs only ``LEAKCOR``: the fraction of the
channel 1B flux at half the wavelength that leaks into channel 3A, per wavelength. The
columns are read in the schema's precision (float32), as jwst reads them, so that the
interpolation gives the same numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

from spec3nb.errors import InputFileError

#: The ``LEAKCOR`` columns the step needs.
LEAK_COLUMNS = ("wavelength", "frac_leak")


def load_mrsptcorr(path: Path) -> np.ndarray:
    """Return the ``LEAKCOR`` table of an MRSPTCORR reference.

    Parameters
    ----------
    path : pathlib.Path
        The FITS reference.

    Returns
    -------
    numpy.ndarray
        A structured array with float32 ``wavelength``, ``frac_leak`` (and ``err_leak``
        when present), wavelengths increasing; ``dtype.metadata["source"]`` names the file.

    Raises
    ------
    InputFileError
        If the file is not FITS, has no ``LEAKCOR`` table or its columns, no finite row,
        or wavelengths that do not increase (the interpolation needs them increasing).
    """
    try:
        with fits.open(path) as hdul:
            if "LEAKCOR" not in hdul:
                raise InputFileError(path, "no LEAKCOR table: not an MRSPTCORR reference",
                                     "LEAKCOR")
            data = hdul["LEAKCOR"].data
            names = {n.lower(): n for n in (data.names if data is not None else ())}
            missing = [c for c in LEAK_COLUMNS if c not in names]
            if missing:
                raise InputFileError(path, f"column(s) {', '.join(missing)} missing",
                                     "LEAKCOR")
            wanted = [c for c in (*LEAK_COLUMNS, "err_leak") if c in names]
            columns = {c: np.asarray(data[names[c]], dtype=np.float32) for c in wanted}
    except (OSError, TypeError, ValueError) as exc:
        raise InputFileError(path, f"not a readable MRSPTCORR reference ({exc})") from None
    wave, frac = columns["wavelength"], columns["frac_leak"]
    if wave.ndim != 1 or not np.any(np.isfinite(wave) & np.isfinite(frac)):
        raise InputFileError(path, "no row with a finite wavelength and frac_leak", "LEAKCOR")
    if wave.size > 1 and not np.all(np.diff(wave) > 0):
        raise InputFileError(path, "wavelengths do not increase row by row", "LEAKCOR")
    dtype = np.dtype([(c, np.float32) for c in columns], metadata={"source": str(path)})
    table = np.zeros(wave.size, dtype=dtype)
    for name, values in columns.items():
        table[name] = values
    return table
