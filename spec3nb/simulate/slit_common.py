"""Pieces shared by the slit-mode simulators (NIRSpec FS/MOS and MIRI LRS).

* the images: a point source's line-spread profile across the slit, the noiseless surface
  brightness of a slit cutout, and the noisy ``_cal`` arrays made from it;
* the metadata every Stage-2 product carries (exposure, observation, target, dither,
  photometry, ``cal_step`` ...);
* the ``_x1d`` spectra calwebb_spec2 writes beside nodded exposures, and their 1-D WCS.

Units: surface brightness in MJy/sr, point-source flux density in mJy (truth) or MJy per
pixel (NIRSpec point-source slits, as NIRSpec's photom writes them), wavelengths in micron.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import astropy.units as u
import numpy as np
from astropy.modeling import models
from gwcs import coordinate_frames as cf
from gwcs import wcs as gwcs_wcs
from scipy.special import erf

from spec3nb.datamodels import Part, Product, tables
from spec3nb.simulate.dataset import exposure_times
from spec3nb.simulate.noise import Detector, add_bad_pixels, add_cosmic_rays, observe
from spec3nb.simulate.spectra import Spectrum
from spec3nb.simulate.wcs import world_frame

#: Steradians per square arcsecond.
SR_PER_ARCSEC2 = (math.pi / 180.0 / 3600.0) ** 2
#: mJy in MJy.
MJY_PER_MILLIJY = 1e-9
#: Telescope diameter (m), for the diffraction-limited profile width.
DIAMETER = 6.5
PROGRAM = "01234"
START_MJD = 60400.25


def pixel_area(scale: float) -> dict[str, float]:
    """Return ``meta.photometry`` pixel areas of square pixels of `scale` arcsec."""
    area = scale * scale
    return {"pixelarea_arcsecsq": area, "pixelarea_steradians": area * SR_PER_ARCSEC2}


def profile_sigma(wavelength: np.ndarray, scale: float, floor: float = 0.45) -> np.ndarray:
    """Gaussian sigma (pixels) of the line-spread profile across the slit.

    Parameters
    ----------
    wavelength : numpy.ndarray
        Wavelength (micron).
    scale : float
        Pixel scale (arcsec).
    floor : float
        Detector and optics blur added in quadrature (pixels).

    Returns
    -------
    numpy.ndarray
        Sigma in pixels: the diffraction FWHM ``1.03 lambda / D`` over 2.355.
    """
    fwhm = 1.03 * wavelength * 1e-6 / DIAMETER * 206264.806 / scale
    return np.sqrt((fwhm / 2.3548) ** 2 + floor**2)


def point_profile(cross: np.ndarray, centre: Any, sigma: np.ndarray) -> np.ndarray:
    """Fraction of a Gaussian profile that falls in each pixel (it sums to 1 over a column).

    Parameters
    ----------
    cross : numpy.ndarray
        Cross-dispersion pixel index of every pixel.
    centre : float or numpy.ndarray
        Cross-dispersion position of the source (pixels, 0-based pixel centres).
    sigma : numpy.ndarray
        Profile sigma (pixels) of every pixel.

    Returns
    -------
    numpy.ndarray
        The pixel-integrated profile.
    """
    root2 = np.sqrt(2.0) * sigma
    return 0.5 * (erf((cross + 0.5 - centre) / root2) - erf((cross - 0.5 - centre) / root2))


def slit_signal(
    wavelength: np.ndarray,
    cross: np.ndarray,
    centre: Any,
    *,
    scale: float,
    spectrum: Spectrum | None,
    sky: Spectrum | None,
) -> np.ndarray:
    """Noiseless surface brightness (MJy/sr) of a slit cutout.

    Parameters
    ----------
    wavelength : numpy.ndarray
        Wavelength image (micron), NaN where no light falls.
    cross : numpy.ndarray
        Cross-dispersion pixel index of every pixel.
    centre : float or numpy.ndarray
        Cross-dispersion position of the point source.
    scale : float
        Pixel scale (arcsec); the pixel solid angle is ``scale**2``.
    spectrum : Spectrum or None
        The point source's flux density (mJy), or None for an empty slit.
    sky : Spectrum or None
        The sky surface brightness (MJy/sr), or None.

    Returns
    -------
    numpy.ndarray
        MJy/sr, NaN where `wavelength` is NaN.
    """
    out = np.zeros(wavelength.shape)
    if spectrum is not None:
        omega = scale * scale * SR_PER_ARCSEC2
        flux = spectrum(wavelength) * MJY_PER_MILLIJY / omega
        sigma = profile_sigma(np.nan_to_num(wavelength, nan=1.0), scale)
        out = out + flux * point_profile(cross, centre, sigma)
    if sky is not None:
        out = out + sky(wavelength)
    return np.where(np.isfinite(wavelength), out, np.nan)


@dataclasses.dataclass(frozen=True)
class NoisyPart:
    """The noisy arrays of one cutout and the defects put into it.

    Parameters
    ----------
    arrays : dict[str, numpy.ndarray]
        ``data``, ``dq``, ``err``, ``var_*`` and ``wavelength``.
    bad : numpy.ndarray
        ``(n, 2)`` ``(y, x)`` of hot pixels.
    hits : numpy.ndarray
        ``(n, 2)`` ``(y, x)`` of cosmic rays.
    """

    arrays: dict[str, np.ndarray]
    bad: np.ndarray
    hits: np.ndarray


def noisy_part(
    rng: np.random.Generator,
    signal: np.ndarray,
    wavelength: np.ndarray,
    detector: Detector,
    *,
    ncosmic: int,
    omega: float | None = None,
) -> NoisyPart:
    """Observe `signal` and add hot pixels and cosmic rays.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness.
    signal : numpy.ndarray
        Noiseless surface brightness (MJy/sr).
    wavelength : numpy.ndarray
        Wavelength image (stored as the ``WAVELENGTH`` array).
    detector : Detector
        Read-out properties.
    ncosmic : int
        Cosmic-ray hits to add.
    omega : float, optional
        Pixel solid angle (sr): when given the arrays are converted to MJy per pixel (NIRSpec
        point-source calibration), variances by its square.

    Returns
    -------
    NoisyPart
        The arrays and defects.
    """
    arrays = observe(rng, signal, detector)
    if omega is not None:
        for key in ("data", "err"):
            arrays[key] = (arrays[key] * omega).astype(np.float32)
        for key in ("var_poisson", "var_rnoise", "var_flat"):
            arrays[key] = (arrays[key] * omega**2).astype(np.float32)
    bad = add_bad_pixels(rng, arrays, fraction=5e-4)
    hits = add_cosmic_rays(rng, arrays, ncosmic, flag_fraction=0.1)
    arrays["wavelength"] = wavelength.astype(np.float32)
    return NoisyPart(arrays, bad, hits)


def rows_with_part(index: int, pixels: np.ndarray) -> np.ndarray:
    """Prefix ``(y, x)`` rows with the part index: ``(n, 3)`` integer rows."""
    pixels = np.asarray(pixels, dtype=int).reshape(-1, 2)
    return np.column_stack([np.full(len(pixels), index, dtype=int), pixels])


def sky_offset(ra: float, dec: float, east: float, north: float) -> tuple[float, float]:
    """Return (RA, Dec) `east`/`north` arcsec away from (`ra`, `dec`) (small offsets)."""
    ddec = north / 3600.0
    dra = east / 3600.0 / math.cos(math.radians(dec))
    return ra + dra, dec + ddec


def along_slit(pa: float, along: float, across: float = 0.0) -> tuple[float, float]:
    """East and north arcsec of an offset `along` position angle `pa` (+`across` west)."""
    t = math.radians(pa)
    east = along * math.sin(t) - across * math.cos(t)
    north = along * math.cos(t) + across * math.sin(t)
    return east, north


def exposure_meta(
    *,
    filename: str,
    index: int,
    nexp: int,
    detector: Detector,
    instrument: Mapping[str, Any],
    exp_type: str,
    readpatt: str,
    target: tuple[float, float],
    moving: bool,
    subarray: Mapping[str, Any],
    dither: Mapping[str, Any],
) -> dict[str, Any]:
    """Primary-header metadata of one simulated Stage-2 exposure.

    Parameters
    ----------
    filename : str
        ``meta.filename``.
    index : int
        0-based exposure index (sets times and ``exposure_number``).
    nexp : int
        Number of exposures.
    detector : Detector
        The read-out (exposure times).
    instrument : Mapping[str, Any]
        ``meta.instrument``.
    exp_type : str
        ``EXP_TYPE``.
    readpatt : str
        ``READPATT``.
    target : tuple[float, float]
        Target (RA, Dec) at the exposure's mid time (degrees).
    moving : bool
        Moving target (``TARGTYPE = MOVING``).
    subarray : Mapping[str, Any]
        ``meta.subarray``.
    dither : Mapping[str, Any]
        ``meta.dither``.

    Returns
    -------
    dict
        The metadata tree.
    """
    times = exposure_times(detector)
    start = START_MJD + index * (times["duration"] + 120.0) / 86400.0
    end = start + times["duration"] / 86400.0
    times.update(type=exp_type, readpatt=readpatt, start_time=start, end_time=end,
                 mid_time=0.5 * (start + end), nresets_at_start=1)
    ra, dec = target
    return {
        "filename": filename, "telescope": "JWST", "instrument": dict(instrument),
        "exposure": times,
        "observation": {
            "date": "2024-04-02", "time": "06:00:00.000", "program_number": PROGRAM,
            "observation_number": "001", "visit_number": "001", "visit_group": "03",
            "sequence_id": "1", "activity_id": "01", "exposure_number": f"{index + 1:05d}",
            "bkgdtarg": False, "visit_id": f"{PROGRAM}001001",
        },
        "target": {"proposer_name": "SIM-TARGET", "catalog_name": "SIM-TARGET", "ra": ra,
                   "dec": dec, "type": "MOVING" if moving else "FIXED",
                   "source_type": "POINT", "source_type_apt": "POINT"},
        "subarray": dict(subarray), "dither": dict(dither),
        "cal_step": {step: "COMPLETE" for step in (
            "assign_wcs", "flat_field", "photom", "srctype", "dq_init", "saturation",
            "ramp_fit", "jump", "linearity", "dark_sub", "refpix", "gain_scale")},
        "bunit_data": "MJy/sr", "bunit_err": "MJy/sr",
        "background": {"subtracted": False},
    }


def wcsinfo(ra: float, dec: float, pa: float, dispaxis: int, moving: bool,
            target: tuple[float, float], s_region: str | None = None) -> dict[str, Any]:
    """``meta.wcsinfo`` of an exposure or slit (with ``mt_ra/mt_dec`` for moving targets)."""
    info: dict[str, Any] = {
        "dispersion_direction": dispaxis, "ra_ref": ra, "dec_ref": dec, "roll_ref": pa,
        "v2_ref": 378.6, "v3_ref": -428.6, "v3yangle": 138.5, "vparity": -1,
        "velosys": 0.0, "radesys": "ICRS",
    }
    if s_region:
        info["s_region"] = s_region
    if moving:
        info["mt_ra"], info["mt_dec"] = target
    return info


def polygon(corners: np.ndarray) -> str:
    """An ``S_REGION`` ``POLYGON ICRS`` string (two spaces after ``ICRS``, as jwst writes)."""
    return "POLYGON ICRS  " + " ".join(f"{a:.9f} {b:.9f}" for a, b in corners)


def spectrum_wcs(wavelength: np.ndarray, ra: float, dec: float) -> gwcs_wcs.WCS:
    """The 1-D WCS of an extracted spectrum: index to (RA, Dec, wavelength)."""
    index = np.arange(wavelength.size, dtype=float)
    forward = models.Mapping((0, 0, 0)) | (
        models.Const1D(ra) & models.Const1D(dec)
        & models.Tabular1D(points=index, lookup_table=wavelength, bounds_error=False,
                           fill_value=None))
    order = np.argsort(wavelength)
    forward.inverse = models.Mapping((2,), n_inputs=3) | models.Tabular1D(
        points=wavelength[order], lookup_table=index[order], bounds_error=False)
    pixel = cf.CoordinateFrame(naxes=1, axes_type=("SPATIAL",), axes_order=(0,),
                               unit=(u.pix,), name="pixel_frame")
    return gwcs_wcs.WCS([(pixel, forward), (world_frame(), None)])


def x1d_product(
    meta: Mapping[str, Any],
    attrs: Mapping[str, Any],
    columns: Mapping[str, np.ndarray],
    position: tuple[float, float],
) -> Product:
    """A one-spectrum ``_x1d`` product as calwebb_spec2 writes it.

    Parameters
    ----------
    meta : Mapping[str, Any]
        The exposure's metadata (``filename`` already the x1d name).
    attrs : Mapping[str, Any]
        Spectrum attributes (``name``, ``source_id``, ``source_type`` ...).
    columns : Mapping[str, numpy.ndarray]
        ``wavelength`` and the other table columns.
    position : tuple[float, float]
        (RA, Dec) of the extraction.

    Returns
    -------
    Product
        A ``MultiSpecModel`` product in Jy and MJy/sr.
    """
    cols = dict(columns)
    wave = np.asarray(cols.pop("wavelength"), dtype=float)
    table = tables.spec_table(wave, units=tables.spectrum_units(True, False), **cols)
    part = Part(arrays={"spec_table": table}, attrs={"spectral_order": 1, **attrs},
                wcs=spectrum_wcs(wave, *position))
    tree = dict(meta)
    tree["cal_step"] = {**tree.get("cal_step", {}), "extract_1d": "COMPLETE"}
    return tables.spectrum_product([part], tree, "MultiSpecModel")
