"""extract_1d for IFU cubes: where the aperture goes and how big a spaxel is.

The pieces of jwst 3.0.0's ``ifu.py`` that read the cube's WCS (reference section 3.10.3):
the wavelength of each plane, the spaxel nearest the target, the automatic source finding
of ``ifu_autocen`` (photutils' DAOStarFinder, as jwst) and the spaxel scale (stcal's
``compute_scale``) that converts radii in arcsec to spaxels.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from astropy.coordinates import angular_separation

_HUGE_DIST = 1.0e10  # larger than any squared distance on the unit sphere; masks NaN spaxels
_AUTOCEN_MAX_WAVELENGTH = 26.0  # micron; MRS throughput is too low beyond


def plane_coordinates(wcs: Any, shape: tuple[int, int, int]
                      ) -> tuple[float, float, np.ndarray]:
    """RA, Dec and the wavelength of every plane, at spaxel (nx/2, ny/2) as jwst takes them.

    Parameters
    ----------
    wcs : gwcs.WCS
        The cube's WCS (x, y, plane) -> (RA, Dec, wavelength).
    shape : tuple[int, int, int]
        The cube's shape (planes, y, x).

    Returns
    -------
    (float, float, numpy.ndarray)
        RA and Dec (degrees) on the middle plane, and the wavelength (micron) of each plane.
    """
    nw, ny, nx = shape
    x0, y0 = float(nx) / 2.0, float(ny) / 2.0
    ra, dec, wave = wcs(np.full(nw, x0), np.full(nw, y0), np.arange(nw, dtype=np.float64))
    return (float(np.asarray(ra)[nw // 2]), float(np.asarray(dec)[nw // 2]),
            np.asarray(wave, dtype=np.float64))


def _unit_vectors(ra: Any, dec: Any) -> np.ndarray:
    ra, dec = np.radians(ra), np.radians(dec)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)],
                    axis=-1)


def target_spaxel(wcs: Any, shape: tuple[int, int, int], ra: float | None, dec: float | None
                  ) -> tuple[int, int] | None:
    """Return the (x, y) spaxel of the middle plane nearest (RA, Dec).

    Parameters
    ----------
    wcs : gwcs.WCS
        The cube's WCS.
    shape : tuple[int, int, int]
        The cube's shape.
    ra, dec : float or None
        The target (TARG_RA, TARG_DEC), degrees.

    Returns
    -------
    tuple[int, int] or None
        The spaxel; None without a target or when it is on the field's border (spaxels
        without a wavelength never win).
    """
    if ra is None or dec is None:
        return None
    nw, ny, nx = shape
    yy, xx = np.indices((ny, nx))
    ra_i, dec_i, wave = wcs(xx, yy, np.full((ny, nx), nw // 2, dtype=np.float64))
    dist2 = ((_unit_vectors(ra_i, dec_i) - _unit_vectors(ra, dec)) ** 2).sum(axis=-1)
    dist2 = np.where(np.isnan(wave), _HUGE_DIST, dist2)
    j, i = divmod(int(np.argmin(dist2.ravel())), nx)  # argmin stops at a NaN, as jwst's
    if i <= 0 or j <= 0 or i >= nx - 1 or j >= ny - 1:
        return None
    return i, j


def autocentre(wcs: Any, data: np.ndarray) -> tuple[float, float] | None:
    """Find the point source in the cube as jwst's ``ifu_autocen`` does.

    The planes below 26 micron are median-combined; DAOStarFinder (FWHM 3 spaxels,
    threshold 3 sigma of the sigma-clipped image) runs on it; the brightest source wins.

    Parameters
    ----------
    wcs : gwcs.WCS
        The cube's WCS.
    data : numpy.ndarray
        The cube's SCI array.

    Returns
    -------
    tuple[float, float] or None
        The source's (x, y) centroid, or None when nothing is found.
    """
    from astropy.stats import sigma_clipped_stats
    from photutils.detection import DAOStarFinder

    nw = data.shape[0]
    wave = np.asarray(wcs(np.ones(nw), np.ones(nw), np.arange(nw, dtype=np.float64))[2])
    planes = np.flatnonzero(wave < _AUTOCEN_MAX_WAVELENGTH)
    if planes.size == 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        collapse = np.ma.median(np.ma.masked_invalid(data[planes]), axis=0)
        _, median, rms = sigma_clipped_stats(collapse)
        sources = DAOStarFinder(fwhm=3.0, threshold=3 * rms)(collapse - median)
    if sources is None or len(sources) == 0:
        return None
    best = sources[int(np.argmax(sources["flux"].value))]
    return float(best["x_centroid"]), float(best["y_centroid"])


def spatial_scale(wcs: Any, location: tuple[float, float, float], dispaxis: Any) -> float:
    """Return the spaxel size (arcsec) as stcal's ``compute_scale`` measures it.

    Parameters
    ----------
    wcs : gwcs.WCS
        The cube's WCS.
    location : tuple[float, float, float]
        (RA, Dec, wavelength) where to measure.
    dispaxis : int or None
        DISPAXIS: the size along y for 1, along x otherwise (jwst raises for None; cube
        spaxels are square, so x is used).

    Returns
    -------
    float
        The angular distance between the spaxel at `location` and its neighbour.
    """
    x, y, z = (float(v) for v in wcs.invert(*location, with_bounding_box=False))
    ra, dec = np.asarray(wcs(np.array([x, x + 1.0, x]), np.array([y, y, y + 1.0]),
                             np.array([z, z, z]), with_bounding_box=False)[:2], dtype=float)
    ra, dec = np.radians(ra), np.radians(dec)
    along_x = angular_separation(ra[0], dec[0], ra[1], dec[1])
    along_y = angular_separation(ra[0], dec[0], ra[2], dec[2])
    return float(np.degrees(abs(along_y if dispaxis == 1 else along_x)) * 3600.0)
