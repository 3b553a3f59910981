"""The 1-D spectral WCS that jwst attaches to extracted and combined spectra.

Pixel index -> (RA, Dec, wavelength): RA and Dec are constants, the wavelength is a linear
interpolation in the wavelength column; the inverse interpolates the pixel index from the
wavelength (NaN outside the table) and exists only for strictly monotonic wavelengths.
"""

from __future__ import annotations

from typing import Any

import astropy.units as u
import numpy as np
from astropy.coordinates import ICRS
from astropy.modeling import models
from gwcs import coordinate_frames as cf
from gwcs.wcs import WCS


def spectral_wcs(ra: float, dec: float, wavelength: Any) -> WCS:
    """Return the spectral WCS of a 1-D spectrum.

    Parameters
    ----------
    ra, dec : float
        Position of the spectrum on the sky (degrees).
    wavelength : array_like
        Wavelength (micron) of each pixel.

    Returns
    -------
    gwcs.wcs.WCS
        Frames ``pixel_frame`` -> ``world`` (sky + spectral), as jwst writes them.
    """
    wavelength = np.asarray(wavelength, dtype=float)
    pixel = np.arange(len(wavelength), dtype=float)
    pixel_frame = cf.CoordinateFrame(naxes=1, axes_type=("SPATIAL",), axes_order=(0,),
                                     unit=(u.pix,), name="pixel_frame")
    sky = cf.CelestialFrame(name="sky", axes_order=(0, 1), reference_frame=ICRS())
    spectral = cf.SpectralFrame(name="spectral", axes_order=(2,), unit=(u.micron,),
                                axes_names=("wavelength",))
    forward = models.Mapping((0, 0, 0)) | models.Const1D(ra) & models.Const1D(dec) & (
        models.Tabular1D(points=pixel, lookup_table=wavelength, bounds_error=False,
                         fill_value=None))
    forward.name = "pixel_to_world"
    steps = np.diff(wavelength)
    if np.all(steps > 0) or np.all(steps < 0):
        order = slice(None) if np.all(steps > 0) else slice(None, None, -1)
        forward.inverse = models.Mapping((2,)) | models.Tabular1D(
            points=wavelength[order], lookup_table=pixel[order], bounds_error=False)
    return WCS([(pixel_frame, forward), (cf.CompositeFrame([sky, spectral], name="world"),
                                         None)])
