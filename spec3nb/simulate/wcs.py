"""Building blocks of the simulator's analytic WCSs.

The official steps read a gwcs with named frames; these helpers give the frames and the
sky projection every mode shares. Mode modules compose them into their pipelines
(NIRSpec slits ``detector -> slit_frame -> world``, MIRI MRS
``detector -> alpha_beta -> world``, others ``detector -> world``).
"""

from __future__ import annotations

import astropy.units as u
from astropy.coordinates import ICRS
from astropy.modeling import models
from gwcs import coordinate_frames as cf

ARCSEC = 1.0 / 3600.0


def detector_frame() -> cf.Frame2D:
    """The detector pixel frame (``x``, ``y`` in pixels, 0-based)."""
    return cf.Frame2D(name="detector", axes_order=(0, 1), axes_names=("x", "y"),
                      unit=(u.pix, u.pix))


def sky_frame() -> cf.CelestialFrame:
    """ICRS right ascension and declination."""
    return cf.CelestialFrame(reference_frame=ICRS(), name="sky", axes_order=(0, 1),
                             axes_names=("lon", "lat"), unit=(u.deg, u.deg))


def spectral_frame(axis: int = 2) -> cf.SpectralFrame:
    """Wavelength in micron on world axis `axis`."""
    return cf.SpectralFrame(name="spectral", axes_order=(axis,), unit=(u.micron,),
                            axes_names=("wavelength",))


def world_frame() -> cf.CompositeFrame:
    """The ``world`` frame of spectroscopic WCSs: (RA, Dec, wavelength)."""
    return cf.CompositeFrame([sky_frame(), spectral_frame()], name="world")


def sky_projection(ra: float, dec: float, position_angle: float) -> models.Model:
    """Map offsets in arcsec on the sky (x, y) to (RA, Dec) in degrees.

    The y offset points along `position_angle` (degrees east of north) and x 90 degrees
    clockwise from it (west for a position angle of 0, as on a sky image with east to the
    left), through a gnomonic (TAN) projection at (`ra`, `dec`).

    Parameters
    ----------
    ra, dec : float
        The projection centre (degrees).
    position_angle : float
        Direction of +y on the sky, degrees east of north.

    Returns
    -------
    astropy.modeling.Model
        A two-input, two-output model with an analytic inverse.
    """
    scale = models.Scale(ARCSEC) & models.Scale(ARCSEC)
    # Native longitude grows to the east; flipping x makes +x point west.
    rotate = models.Rotation2D(angle=position_angle)
    flip = models.Scale(-1.0) & models.Identity(1)
    tangent = models.Pix2Sky_TAN()
    celestial = models.RotateNative2Celestial(ra, dec, 180.0)
    return scale | rotate | flip | tangent | celestial
