"""Pieces shared by the slitless simulators (NIRISS SOSS, NIRISS and NIRCam WFSS).

Slitless spectra are the light of a source spread along a trace on the detector. The
simulators here render that light column by column: along the dispersion each detector
column (or row) receives one wavelength, across it the source's profile, integrated over
each pixel so that the sum across the dispersion is exactly the flux put in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
from astropy.modeling import models
from scipy.special import erf

from spec3nb.simulate.dataset import SimConfig, exposure_times
from spec3nb.simulate.noise import Detector, add_bad_pixels, add_cosmic_rays, observe

#: One steradian in square arcseconds.
ARCSEC2_PER_SR = (180.0 / np.pi * 3600.0) ** 2

#: Where the simulated fields are (a quiet high-latitude field).
FIELD_RA, FIELD_DEC = 53.16, -27.79
PROGRAM, ASN_ID, TARGET = "01234", "o001", "t001"


def pixel_area(scale: float) -> dict[str, float]:
    """Return ``meta.photometry`` pixel areas for square pixels of `scale` arcsec.

    Parameters
    ----------
    scale : float
        Pixel size (arcsec).

    Returns
    -------
    dict
        ``pixelarea_arcsecsq`` and ``pixelarea_steradians``.
    """
    a2 = scale * scale
    return {"pixelarea_arcsecsq": a2, "pixelarea_steradians": a2 / ARCSEC2_PER_SR}


def cross_profile(centre: np.ndarray, sigma: float | np.ndarray, npix: int) -> np.ndarray:
    """Fraction of a Gaussian profile that falls in each pixel across the dispersion.

    Parameters
    ----------
    centre : numpy.ndarray
        Centre of the profile at each position along the dispersion (pixels, 0-based), shape
        ``(n,)``.
    sigma : float or numpy.ndarray
        Gaussian width (pixels), scalar or ``(n,)``.
    npix : int
        Number of pixels across the dispersion.

    Returns
    -------
    numpy.ndarray
        ``(npix, n)`` fractions; each column sums to one when the profile lies inside.
    """
    edges = np.arange(npix + 1, dtype=float)[:, None] - 0.5
    z = (edges - np.asarray(centre, dtype=float)[None, :]) / (np.sqrt(2.0) * sigma)
    cdf = 0.5 * (1.0 + erf(z))
    return np.diff(cdf, axis=0)


def detector_to_sky(ra: float, dec: float, roll: float, crpix: tuple[float, float],
                    scale: float) -> models.Model:
    """Direct-image pixels ``(x, y)`` (0-based) to (RA, Dec) through a TAN projection.

    Parameters
    ----------
    ra, dec : float
        Sky position of the reference pixel (degrees).
    roll : float
        Position angle of the detector +y axis (degrees east of north).
    crpix : tuple[float, float]
        Reference pixel (0-based x, y).
    scale : float
        Pixel size (arcsec).

    Returns
    -------
    astropy.modeling.Model
        Two inputs, two outputs, with an analytic inverse.
    """
    # The same mapping as Shift | Scale | sky_projection (x west, y along the roll angle),
    # folded into one affine matrix: four models instead of eleven keeps files small and
    # quick to write.
    angle = np.radians(roll)
    rotate = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = np.diag([-1.0, 1.0]) @ rotate * (scale / 3600.0)
    return (models.Shift(-crpix[0]) & models.Shift(-crpix[1])
            | models.AffineTransformation2D(matrix=matrix)
            | models.Pix2Sky_TAN() | models.RotateNative2Celestial(ra, dec, 180.0))


@dataclasses.dataclass(frozen=True)
class Pointing:
    """Where one exposure points.

    Parameters
    ----------
    ra, dec : float
        Sky position of the reference pixel (degrees).
    roll : float
        Position angle of +y (degrees east of north).
    offset : tuple[float, float]
        Dither offset from the first exposure (arcsec along x, y).
    """

    ra: float
    dec: float
    roll: float
    offset: tuple[float, float]


def dither_pointings(nexp: int, roll: float, scale: float, step: tuple[float, float],
                     *, ra: float = FIELD_RA, dec: float = FIELD_DEC) -> list[Pointing]:
    """Return the pointings of a simple dither pattern that moves sources by whole steps.

    Parameters
    ----------
    nexp : int
        Number of exposures.
    roll : float
        Position angle of +y (degrees).
    scale : float
        Pixel size (arcsec).
    step : tuple[float, float]
        Dither step in pixels (x, y); exposure ``i`` is offset by ``i * step`` (alternating
        in sign along y so the pattern stays compact).
    ra, dec : float
        Pointing of the first exposure.

    Returns
    -------
    list[Pointing]
        One per exposure.
    """
    first = detector_to_sky(ra, dec, roll, (0.0, 0.0), scale)
    pointings = []
    for i in range(nexp):
        dx = i * step[0]
        dy = (-1) ** i * ((i + 1) // 2) * step[1]
        # The pointing moves by -offset so that the sky moves by +offset on the detector.
        pra, pdec = first(-dx, -dy)
        pointings.append(Pointing(float(pra), float(pdec), roll, (dx * scale, dy * scale)))
    return pointings


def exposure_meta(
    config: SimConfig,
    index: int,
    pointing: Pointing,
    *,
    instrument: Mapping[str, Any],
    exp_type: str,
    detector: Detector,
    nints: int = 1,
    subarray: Mapping[str, Any],
) -> dict[str, Any]:
    """Primary-header metadata of one simulated slitless exposure.

    Parameters
    ----------
    config : SimConfig
        The simulation request (for the moving-target option).
    index : int
        0-based exposure index.
    pointing : Pointing
        Where the exposure points.
    instrument : Mapping[str, Any]
        ``meta.instrument`` values (name, detector, filter, pupil ...).
    exp_type : str
        ``EXP_TYPE``.
    detector : Detector
        The read-out (for the timing keywords).
    nints : int
        Number of integrations.
    subarray : Mapping[str, Any]
        ``meta.subarray`` values.

    Returns
    -------
    dict
        The metadata tree (without the WCS).
    """
    times = exposure_times(detector, nints)
    start = 60300.25 + index * (times["duration"] + 120.0) / 86400.0
    end = start + times["duration"] / 86400.0
    exposure = {"type": exp_type, "readpatt": "NIS" if instrument["name"] == "NIRISS"
                else "MEDIUM8", "start_time": start, "mid_time": 0.5 * (start + end),
                "end_time": end, "nresets_at_start": 1, **times}
    tree: dict[str, Any] = {
        "telescope": "JWST", "instrument": dict(instrument), "exposure": exposure,
        "observation": {"date": "2023-12-20", "time": "06:00:00.000",
                        "program_number": PROGRAM, "observation_number": "001",
                        "visit_number": "001", "visit_group": "01", "sequence_id": "1",
                        "activity_id": "01", "exposure_number": f"{index + 1:05d}"},
        "visit": {"tsovisit": False, "type": "PRIME_TARGETED_FIXED"},
        "target": {"proposer_name": "SIMULATED-FIELD", "catalog_name": "SIMULATED-FIELD",
                   "ra": FIELD_RA, "dec": FIELD_DEC, "type": "FIXED"},
        "subarray": dict(subarray),
        "dither": {"primary_type": "WFSS" if exp_type.endswith("WFSS") else "NONE",
                   "position_number": index + 1, "total_points": config.nexp or 1,
                   "x_offset": pointing.offset[0], "y_offset": pointing.offset[1]},
        "wcsinfo": {"ra_ref": pointing.ra, "dec_ref": pointing.dec, "roll_ref": pointing.roll,
                    "v2_ref": 0.0, "v3_ref": 0.0, "v3yangle": 0.0, "vparity": -1},
        "aperture": {"position_angle": pointing.roll},
    }
    if config.moving:
        # A moving target drifts in RA/Dec between exposures (about 0.1 arcsec each).
        drift = index * 0.1 / 3600.0
        tree["target"].update(type="MOVING", ra=FIELD_RA + drift, dec=FIELD_DEC + drift)
        tree["wcsinfo"].update(mt_ra=FIELD_RA + drift, mt_dec=FIELD_DEC + drift)
    return tree


def noisy_arrays(rng: np.random.Generator, rate: np.ndarray, detector: Detector,
                 conversion: np.ndarray | float = 1.0,
                 background: np.ndarray | float = 0.0) -> dict[str, np.ndarray]:
    """Observe a count-rate image and calibrate it; the background is then subtracted.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness.
    rate : numpy.ndarray
        Noiseless count rate (DN/s), background included; NaN where no light falls.
    detector : Detector
        The read-out; its ``photmjsr`` is ignored (the rate is in DN/s).
    conversion : numpy.ndarray or float
        Calibration factor applied to each pixel (calibrated unit per DN/s), as photom
        does; 1 leaves the data in DN/s.
    background : numpy.ndarray or float
        Count rate (DN/s) removed after the noise is drawn, as spec2's background
        subtraction does (Poisson noise of the background stays).

    Returns
    -------
    dict[str, numpy.ndarray]
        ``data``, ``err``, ``var_*`` (float32) and ``dq`` as :func:`observe` gives them.
    """
    raw = observe(rng, rate, dataclasses.replace(detector, photmjsr=1.0))
    conv = np.asarray(conversion, dtype=float)
    out = {"dq": raw["dq"]}
    out["data"] = ((raw["data"] - background) * conv).astype(np.float32)
    out["err"] = (raw["err"] * conv).astype(np.float32)
    for key in ("var_poisson", "var_rnoise", "var_flat"):
        out[key] = (raw[key] * conv * conv).astype(np.float32)
    return out


def add_defects(rng: np.random.Generator, arrays: dict[str, np.ndarray], part: int,
                cosmic_rays: int) -> tuple[np.ndarray, np.ndarray]:
    """Add hot pixels and cosmic rays to one 2-D part; return their truth rows.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness.
    arrays : dict[str, numpy.ndarray]
        Writable 2-D arrays of one part (changed in place).
    part : int
        The part index written in the truth rows.
    cosmic_rays : int
        Number of cosmic-ray hits.

    Returns
    -------
    tuple[numpy.ndarray, numpy.ndarray]
        ``(n, 3)`` rows ``(part, y, x)`` of the cosmic rays and of the hot pixels.
    """
    hot = add_bad_pixels(rng, arrays)
    hits = add_cosmic_rays(rng, arrays, cosmic_rays) if cosmic_rays else np.empty((0, 2), int)
    return with_part(hits, part), with_part(hot, part)


def with_part(rows: np.ndarray, part: int) -> np.ndarray:
    """Prefix ``(n, 2)`` rows ``(y, x)`` with the part index: ``(n, 3)`` rows."""
    rows = np.asarray(rows, dtype=int).reshape(-1, 2)
    return np.column_stack([np.full(len(rows), part, dtype=int), rows])


def stack_rows(rows: list[np.ndarray]) -> np.ndarray:
    """Concatenate ``(n, 3)`` truth rows (an empty ``(0, 3)`` array when there are none)."""
    rows = [r for r in rows if len(r)]
    return np.concatenate(rows).astype(int) if rows else np.empty((0, 3), dtype=int)


def product_name(instrument: str, filt: str, pupil: str, subarray: str = "") -> str:
    """Level-3 product name as the association rules write it (lower case).

    Parameters
    ----------
    instrument : str
        ``niriss`` or ``nircam``.
    filt, pupil : str
        The optical elements (``FILTER`` then ``PUPIL``, as ``get_opt_element`` joins them).
    subarray : str
        Subarray name, appended when not FULL.

    Returns
    -------
    str
        ``jw01234-o001_t001_niriss_gr150r-f150w``.
    """
    name = f"jw{PROGRAM}-{ASN_ID}_{TARGET}_{instrument}_{filt}-{pupil}"
    if subarray and subarray.upper() != "FULL":
        name += f"-{subarray}"
    return name.lower()
