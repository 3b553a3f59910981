"""cube_build on the sky: detector pixels through the WCS, footprints, tangent plane.

The pixel side of jwst 3.0.0's ``cube_build`` geometry (reference 3.9.3, 3.9.6): which
pixels a band covers (a MIRI channel's detector half, the NIRSpec slices), their sky
positions (the WCS evaluated in bounded chunks), an exposure's footprint corners and
wavelength range, the user's RA/Dec offsets, and the gnomonic projection onto the cube's
tangent plane. :mod:`cube_geometry` builds the cubes' parameters and grids on top of it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from astropy import units as u

from spec3nb.datamodels.products import Product
from spec3nb.errors import ParameterError

STEP = "cube_build"
RAD2ARCSEC = (180.0 * 3600.0) / math.pi
DEG2RAD = math.pi / 180.0

#: MIRI channel -> (first slice, last slice, first detector column, last column, slices).
MIRI_CHANNELS: Mapping[str, tuple[int, int, int, int, int]] = {
    "1": (101, 121, 0, 512, 21), "2": (201, 217, 513, 1031, 17),
    "3": (301, 316, 513, 1031, 16), "4": (401, 412, 0, 512, 12),
}

Band = tuple[str, str]


# ----------------------------------------------------------------------------- projection



def radec2std(crval1: float, crval2: float, ra: Any, dec: Any,
              rot_angle: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gnomonic (tangent-plane) coordinates in arcsec, xi increasing to the east-left.

    Parameters
    ----------
    crval1, crval2 : float
        Tangent point (deg).
    ra, dec : array_like
        Sky positions (deg).
    rot_angle : float, optional
        Rotation of the cube axes (deg).

    Returns
    -------
    xi, eta : numpy.ndarray
        The standard coordinates (arcsec).
    """
    ra0, dec0 = crval1 * DEG2RAD, crval2 * DEG2RAD
    radiff = np.atleast_1d(np.asarray(ra, dtype=np.float64)) * DEG2RAD - ra0
    decr = np.atleast_1d(np.asarray(dec, dtype=np.float64)) * DEG2RAD
    # each sine and cosine once (the same values, in the same expressions, as jwst's)
    sin_dec, cos_dec, cos_dra = np.sin(decr), np.cos(decr), np.cos(radiff)
    h = sin_dec * math.sin(dec0) + cos_dec * math.cos(dec0) * cos_dra
    xi = -(cos_dec * np.sin(radiff) / h) * RAD2ARCSEC
    eta = (sin_dec * math.cos(dec0) - cos_dec * math.sin(dec0) * cos_dra) / h
    eta = eta * RAD2ARCSEC
    if rot_angle is not None:
        c, s = np.cos(-rot_angle * DEG2RAD), np.sin(-rot_angle * DEG2RAD)
        xi, eta = xi * c - eta * s, xi * s + eta * c
    return xi, eta


def wrap_ra(ra: Any) -> np.ndarray:
    """Finite RA values moved to the side of 0/360 where their median lies."""
    values = np.asarray(ra, dtype=np.float64)
    values = values[np.isfinite(values)].copy()
    median = np.nanmedian(values)
    far = np.abs(values - median) > 180.0
    if far.any():
        values[far] += -360.0 if median < 180 else 360.0
    return values


# ----------------------------------------------------------------------------- footprints



#: Points per WCS evaluation: bounds the transforms' temporaries (results are pointwise).
WCS_CHUNK = 131_072


def evaluate(wcs: Any, *args: Any) -> tuple[np.ndarray, ...]:
    """Evaluate a WCS (or transform) quietly, in chunks: NaN outside slices is expected."""
    import warnings

    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in args))
    n = arrays[0].size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if n <= WCS_CHUNK:
            return tuple(np.asarray(v, dtype=np.float64) for v in wcs(*arrays))
        flat = [a.ravel() for a in arrays]
        pieces = [wcs(*(a[i:i + WCS_CHUNK] for a in flat)) for i in range(0, n, WCS_CHUNK)]
    return tuple(np.concatenate([np.asarray(p[k], dtype=np.float64) for p in pieces])
                 .reshape(arrays[0].shape) for k in range(len(pieces[0])))


def miri_columns(wcs: Any, channel: str) -> tuple[int, int]:
    """Image columns [start, end) of a MIRI channel (binned or oversampled images too)."""
    xstart, xend = MIRI_CHANNELS[channel][2:4]
    if wcs is not None and "coordinates" in wcs.available_frames:
        xc, _ = evaluate(wcs.get_transform("detector", "coordinates"),
                         np.array([xstart, xend], dtype=float), np.zeros(2))
        return int(np.floor(xc[0])), int(np.ceil(xc[1]))
    return xstart, xend


def channel_pixels(product: Product, channel: str) -> tuple[np.ndarray, np.ndarray]:
    """Flattened (y, x) of every image pixel of a MIRI channel's detector half."""
    ny = product.part.data.shape[0]
    x0, x1 = miri_columns(product.part.wcs, channel)
    y, x = np.mgrid[:ny, x0:x1]
    return y.ravel(), x.ravel()


def ifu_pixels(product: Product) -> tuple[np.ndarray, np.ndarray]:
    """Flattened (y, x) of the pixels of a NIRSpec exposure that lie on a slice."""
    regions = product.part.arrays.get("regions")
    if regions is None:
        raise ParameterError(STEP, "inputs", f"{product.filename}: NIRSpec IFU exposure "
                             "without a slice map (REGIONS); spec3nb needs it")
    y, x = np.nonzero(np.asarray(regions) > 0)
    return y, x


def _extremes(a: np.ndarray, b: np.ndarray, lam: np.ndarray) -> tuple[float, ...]:
    """jwst's footprint: min/max of each coordinate with the other at that point."""
    i1, i2, j1, j2 = np.argmin(a), np.argmax(a), np.argmin(b), np.argmax(b)
    return (float(a[i1]), float(b[i1]), float(a[i2]), float(b[i2]),
            float(a[j1]), float(b[j1]), float(a[j2]), float(b[j2]),
            float(np.nanmin(lam)), float(np.nanmax(lam)))


def sky_pixels(product: Product, band: Band, instrument: str) -> tuple[np.ndarray, ...]:
    """(y, x, RA, Dec, λ) of every pixel of an exposure's band (MIRI channel half, or the
    NIRSpec slices)."""
    if instrument == "MIRI":
        y, x = channel_pixels(product, band[0])
        regions = product.part.arrays.get("regions")
        if regions is not None and regions.shape == product.part.data.shape:
            # pixels between slices map to NaN: skip their (costly) WCS evaluation; columns
            # beyond the image (a binned image's -1) are evaluated, as jwst does
            nx = regions.shape[1]
            inside = (x >= 0) & (x < nx)
            on = ~inside | (np.asarray(regions)[y, np.clip(x, 0, nx - 1)] != 0)
            y, x = y[on], x[on]
    else:
        y, x = ifu_pixels(product)
    ra, dec, lam = evaluate(product.part.wcs, x.astype(float), y.astype(float))
    # cube_build keeps these for every file of a cube: 32-bit indices save a fifth
    return y.astype(np.int32), x.astype(np.int32), ra, dec, lam


def find_corners(product: Product, band: Band, instrument: str,
                 pixels: tuple[np.ndarray, ...] | None = None) -> tuple[float, ...]:
    """Sky footprint of an exposure in one band: 4 (RA, Dec) corners and the λ range."""
    _, _, ra, dec, lam = pixels if pixels is not None else sky_pixels(product, band,
                                                                      instrument)
    valid = np.isfinite(ra) & np.isfinite(dec)
    if not valid.any():
        raise ParameterError(STEP, "inputs", f"{product.filename}: no pixel of band "
                             f"{'/'.join(band)} maps to the sky")
    corners = list(_extremes(wrap_ra(ra[valid]), dec[valid], lam[valid]))
    for i in (0, 2, 4, 6):
        corners[i] %= 360
    return tuple(corners)


def s_region_corners(product: Product) -> tuple[float, ...] | None:
    """Footprint corners and wavelength range from S_REGION and SPECTRAL_REGION, if set."""
    region = product.get("wcsinfo.s_region")
    spectral = product.get("wcsinfo.spectral_region")
    if not region or spectral is None:
        return None
    s = str(region).split(" ")
    values = [float(s[i]) for i in range(3, 11)]
    return (*values, float(spectral[0]), float(spectral[1]))


def offset_radec(ra: Any, dec: Any, offset: tuple[float, float] | None) -> tuple[Any, Any]:
    """Apply an (RA, Dec) offset in arcsec as jwst does (``spherical_offsets_by``)."""
    if offset is None:
        return ra, dec
    from astropy.coordinates import SkyCoord

    moved = SkyCoord(ra, dec, unit="deg").spherical_offsets_by(offset[0] * u.arcsec,
                                                              offset[1] * u.arcsec)
    return moved.ra.value, moved.dec.value
