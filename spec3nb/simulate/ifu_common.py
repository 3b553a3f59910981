"""Pieces shared by the IFU simulators (MIRI MRS and NIRSpec IFU).

Both IFUs cut the field into slices that the spectrograph lays side by side on the detector.
The simulators describe a slice's footprint on the sky by two local coordinates (along the
slice and across it, arcsec) and a wavelength, integrate a Gaussian point-spread function over
every detector pixel's footprint (exactly, with error functions, so that a noiseless image
conserves the source's flux), add the sky background, and then noise, hot pixels and outliers.

The functions here are geometry-free: the instrument modules give them per-pixel footprints.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from astropy.modeling import models
from scipy.special import erf

from spec3nb.datamodels import Part, Product, tables
from spec3nb.simulate.dataset import (
    SimConfig,
    SimulatedDataset,
    exposure_filename,
    exposure_times,
)
from spec3nb.simulate.noise import Detector, add_bad_pixels, add_cosmic_rays, observe
from spec3nb.simulate.spectra import Spectrum
from spec3nb.simulate.truth import SourceTruth, Truth
from spec3nb.simulate.wcs import ARCSEC, sky_projection

#: Square arcsec in steradians.
ARCSEC2_SR = (np.pi / 180.0 / 3600.0) ** 2
#: MJy per mJy.
MJY_PER_MJY = 1e-9
#: Seconds per day.
DAY = 86400.0
#: Sky position of the simulated field (an empty patch near the south ecliptic pole region).
FIELD_RA, FIELD_DEC = 80.48, -69.49
#: Apparent motion of a simulated moving target (arcsec per hour, in RA*cos(Dec) and Dec).
MOVING_RATE = (12.0, -7.0)


@dataclasses.dataclass(frozen=True)
class Footprint:
    """Where the pixels of an image see the sky, in the IFU's local frame.

    Parameters
    ----------
    along_lo, along_hi : numpy.ndarray
        Along-slice extent of each pixel (arcsec), NaN outside the slices.
    across_lo, across_hi : numpy.ndarray
        Across-slice extent (the slice's edges, arcsec).
    wave_lo, wave_hi : numpy.ndarray
        Wavelength extent of each pixel (micron).
    """

    along_lo: np.ndarray
    along_hi: np.ndarray
    across_lo: np.ndarray
    across_hi: np.ndarray
    wave_lo: np.ndarray
    wave_hi: np.ndarray

    @property
    def wavelength(self) -> np.ndarray:
        """Wavelength at the pixel centres (micron)."""
        return 0.5 * (self.wave_lo + self.wave_hi)

    @property
    def solid_angle(self) -> np.ndarray:
        """Solid angle each pixel sees (sr)."""
        return (np.abs(self.along_hi - self.along_lo)
                * np.abs(self.across_hi - self.across_lo) * ARCSEC2_SR)


def dither_offsets(nexp: int, step: float) -> np.ndarray:
    """Return ``(nexp, 2)`` pointing offsets (arcsec) of a 4-point dither, repeated and scaled.

    Parameters
    ----------
    nexp : int
        Number of exposures.
    step : float
        Half the dither throw (arcsec).

    Returns
    -------
    numpy.ndarray
        Offsets along and across the slices.
    """
    pattern = np.array([[1.0, 0.5], [-1.0, -0.5], [0.5, -1.0], [-0.5, 1.0]])
    index = np.arange(nexp)
    scale = 1.0 - 0.25 * (index // 4 % 3)
    return pattern[index % 4] * (step * scale)[:, None]


def gauss_box(lo: np.ndarray, hi: np.ndarray, centre: Any, sigma: Any) -> np.ndarray:
    """Fraction of a 1-D Gaussian between `lo` and `hi` (element-wise)."""
    root2 = np.sqrt(2.0) * sigma
    return 0.5 * np.abs(erf((hi - centre) / root2) - erf((lo - centre) / root2))


def band_average(spectrum: Spectrum, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Mean of `spectrum` between wavelengths `lo` and `hi` (NaN outside its range).

    Parameters
    ----------
    spectrum : Spectrum
        The tabulated spectrum.
    lo, hi : numpy.ndarray
        Bounds of each pixel's wavelength interval (micron).

    Returns
    -------
    numpy.ndarray
        The average over each interval, what a pixel of that spectral width records.
    """
    wl, value = np.asarray(spectrum.wavelength), np.asarray(spectrum.value)
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (value[1:] + value[:-1]) * np.diff(wl))])
    a, b = np.minimum(lo, hi), np.maximum(lo, hi)
    inside = (a >= wl[0]) & (b <= wl[-1])
    width = np.where(b > a, b - a, 1.0)
    mean = (np.interp(b, wl, cumulative) - np.interp(a, wl, cumulative)) / width
    return np.where(inside, mean, np.nan)


def psf_fwhm(wavelength: np.ndarray, slope: float, floor: float) -> np.ndarray:
    """FWHM (arcsec) of the simulated PSF: ``slope * wavelength + floor``."""
    return slope * np.asarray(wavelength) + floor


def point_source_image(
    foot: Footprint, spectrum: Spectrum, position: tuple[float, float], fwhm: np.ndarray
) -> np.ndarray:
    """Noiseless surface brightness (MJy/sr) of a point source on the pixels of `foot`.

    Parameters
    ----------
    foot : Footprint
        The pixels' footprints.
    spectrum : Spectrum
        Flux density of the source (mJy).
    position : tuple[float, float]
        The source's (along, across) position in the IFU frame (arcsec).
    fwhm : numpy.ndarray
        PSF FWHM at each pixel (arcsec).

    Returns
    -------
    numpy.ndarray
        Surface brightness; NaN where the footprint is undefined.
    """
    sigma = fwhm / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    fraction = (gauss_box(foot.along_lo, foot.along_hi, position[0], sigma)
                * gauss_box(foot.across_lo, foot.across_hi, position[1], sigma))
    flux = band_average(spectrum, foot.wave_lo, foot.wave_hi)
    return flux * fraction * MJY_PER_MJY / foot.solid_angle


def pointing(ra: float, dec: float, pa: float, offset: Sequence[float]) -> tuple[float, float]:
    """Sky position of the IFU centre when the telescope is offset by `offset` (arcsec)."""
    ra_ref, dec_ref = sky_projection(ra, dec, pa)(-offset[0], -offset[1])
    return float(ra_ref), float(dec_ref)


def local_position(ra_ref: float, dec_ref: float, pa: float, ra: float,
                   dec: float) -> tuple[float, float]:
    """Position (arcsec, IFU frame) of sky position (`ra`, `dec`) for a pointing."""
    along, across = sky_projection(ra_ref, dec_ref, pa).inverse(ra, dec)
    return float(along), float(across)


def v2v3_to_world(v2_ref: float, v3_ref: float, ra_ref: float, dec_ref: float,
                  pa: float) -> models.Model:
    """``(v2, v3, lambda) -> (RA, Dec, lambda)``: the telescope frame projected on the sky."""
    spatial = (models.Shift(-v2_ref) & models.Shift(-v3_ref)) | sky_projection(
        ra_ref, dec_ref, pa)
    return spatial & models.Identity(1)


def target_positions(config: SimConfig, nexp: int, times: np.ndarray) -> np.ndarray:
    """``(nexp, 2)`` RA, Dec of the target at each exposure (it moves when `config.moving`)."""
    if not config.moving:
        return np.tile([FIELD_RA, FIELD_DEC], (nexp, 1))
    hours = (times - times[0]) * 24.0
    dra = MOVING_RATE[0] * ARCSEC * hours / np.cos(np.radians(FIELD_DEC))
    ddec = MOVING_RATE[1] * ARCSEC * hours
    return np.column_stack([FIELD_RA + dra, FIELD_DEC + ddec])


def start_times(nexp: int, duration: float, start: float = 60400.25) -> np.ndarray:
    """MJD start times of `nexp` consecutive exposures of `duration` seconds (+60 s slews)."""
    return start + np.arange(nexp) * (duration + 60.0) / DAY


@dataclasses.dataclass(frozen=True)
class Defects:
    """What the detector adds to an exposure besides noise.

    Parameters
    ----------
    cr_density : float
        Cosmic-ray hits per pixel.
    warm : numpy.ndarray
        ``(n, 2)`` ``(y, x)`` of warm pixels missing from the bad-pixel mask: they are bright
        in every exposure (the outliers the IFU mode of outlier detection looks for).
    warm_level : numpy.ndarray
        Their excess (MJy/sr).
    """

    cr_density: float
    warm: np.ndarray
    warm_level: np.ndarray


def draw_warm_pixels(rng: np.random.Generator, valid: np.ndarray, fraction: float,
                     level: float) -> Defects:
    """Pick unmasked warm pixels among `valid` pixels (same for every exposure of a detector)."""
    good = np.argwhere(valid)
    count = max(4, int(round(fraction * valid.size)))
    chosen = good[rng.choice(len(good), size=min(count, len(good)), replace=False)]
    levels = level * rng.uniform(1.0, 4.0, size=len(chosen))
    return Defects(5e-4, chosen, levels)


def degrade(
    rng: np.random.Generator, signal: np.ndarray, detector: Detector, defects: Defects
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Observe `signal` and add hot pixels, cosmic rays and warm pixels.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness.
    signal : numpy.ndarray
        Noiseless surface brightness (MJy/sr), NaN outside the slices.
    detector : Detector
        The read-out.
    defects : Defects
        Cosmic-ray rate and warm pixels.

    Returns
    -------
    tuple
        The arrays of :func:`~spec3nb.simulate.noise.observe`, the ``(n, 3)`` outliers
        ``(0, y, x)`` (cosmic rays, then warm pixels) and the ``(n, 3)`` hot pixels.
    """
    arrays = observe(rng, signal, detector)
    hot = add_bad_pixels(rng, arrays)
    ys, xs = defects.warm[:, 0], defects.warm[:, 1]
    arrays["data"][ys, xs] += defects.warm_level.astype(np.float32)
    count = max(10, int(round(defects.cr_density * signal.size)))
    hits = add_cosmic_rays(rng, arrays, count)
    outliers = np.unique(np.concatenate([hits, defects.warm]), axis=0)
    outliers = outliers[(arrays["dq"][outliers[:, 0], outliers[:, 1]] & 1) == 0]
    return arrays, _with_part(outliers), _with_part(hot)


def _with_part(yx: np.ndarray) -> np.ndarray:
    yx = np.asarray(yx, dtype=int).reshape(-1, 2)
    return np.column_stack([np.zeros(len(yx), dtype=int), yx])


def s_region(ra_ref: float, dec_ref: float, pa: float, half: tuple[float, float]) -> str:
    """``POLYGON ICRS`` of a rectangle of half sizes `half` (arcsec) around a pointing."""
    sx, sy = half
    corners = np.array([[-sx, -sy], [sx, -sy], [sx, sy], [-sx, sy]])
    ra, dec = sky_projection(ra_ref, dec_ref, pa)(corners[:, 0], corners[:, 1])
    return "POLYGON ICRS " + " ".join(f"{a:.9f} {d:.9f}" for a, d in zip(ra, dec, strict=True))


@dataclasses.dataclass(frozen=True)
class Visit:
    """Pointing and timing of one exposure.

    Parameters
    ----------
    index : int
        0-based exposure index.
    offset : tuple[float, float]
        Dither offset (arcsec).
    ra_ref, dec_ref : float
        Where the IFU centre points.
    target : tuple[float, float]
        RA, Dec of the target during the exposure.
    start : float
        MJD start time.
    """

    index: int
    offset: tuple[float, float]
    ra_ref: float
    dec_ref: float
    target: tuple[float, float]
    start: float


def plan_visits(config: SimConfig, nexp: int, step: float, pa: float,
                detector: Detector) -> list[Visit]:
    """Return the exposures' pointings (a dither around the target) and times."""
    times = start_times(nexp, detector.exposure_time)
    targets = target_positions(config, nexp, times)
    offsets = dither_offsets(nexp, step)
    visits = []
    for j in range(nexp):
        ra_ref, dec_ref = pointing(*targets[j], pa, offsets[j])
        visits.append(Visit(j, (float(offsets[j][0]), float(offsets[j][1])), ra_ref, dec_ref,
                            (float(targets[j][0]), float(targets[j][1])), float(times[j])))
    return visits


def exposure_meta(config: SimConfig, visit: Visit, detector: Detector, *,
                  exp_type: str, instrument: dict[str, Any], nexp: int,
                  observation: int = 1) -> dict[str, Any]:
    """Primary metadata of a simulated IFU ``_cal`` (without WCS-specific values).

    Parameters
    ----------
    config : SimConfig
        What is simulated (``moving`` decides the target type).
    visit : Visit
        The exposure's pointing and time.
    detector : Detector
        Its read-out (exposure times).
    exp_type : str
        ``MIR_MRS`` or ``NRS_IFU``.
    instrument : dict
        ``meta.instrument``.
    nexp : int
        Number of exposures in the dither.
    observation : int
        Observation number.

    Returns
    -------
    dict
        The metadata tree.
    """
    times = exposure_times(detector)
    start = visit.start
    end = start + times["duration"] / DAY
    target = {"proposer_name": "SIM-IFU-1", "catalog_name": "SIM-IFU-1",
              "ra": visit.target[0], "dec": visit.target[1], "type": "FIXED",
              "source_type": "POINT", "description": "simulated point source"}
    wcsinfo: dict[str, Any] = {}
    if config.moving:
        target["type"] = "MOVING"
        wcsinfo.update(mt_ra=visit.target[0], mt_dec=visit.target[1])
    return {
        "instrument": instrument,
        "exposure": {"type": exp_type, "start_time": start, "mid_time": 0.5 * (start + end),
                     "end_time": end, "readpatt": "FASTR1" if exp_type == "MIR_MRS"
                     else "NRSIRS2RAPID", **times},
        "observation": {"date": "2024-04-15", "time": "06:00:00.000", "program_number": "01234",
                        "observation_number": f"{observation:03d}", "visit_number": "001",
                        "visit_group": "03", "sequence_id": "1", "activity_id": "01",
                        "exposure_number": f"{visit.index + 1:05d}",
                        "bkgdtarg": observation != 1},
        "target": target,
        "dither": {"primary_type": "4-POINT", "total_points": nexp,
                   "position_number": visit.index % 4 + 1, "x_offset": visit.offset[0],
                   "y_offset": visit.offset[1]},
        "wcsinfo": wcsinfo,
        "velocity_aberration": {"scale_factor": 1.0},
        "background": {"subtracted": False},
        "bunit_data": "MJy/sr", "bunit_err": "MJy/sr",
    }


def background_x1d(
    rng: np.random.Generator, wavelength: np.ndarray, sb: np.ndarray, sb_err: float,
    meta: dict[str, Any], *, mrs: bool, pixel_sr: float, npixels: float = 400.0
) -> Product:
    """An ``_x1d`` of an empty-sky exposure: the background as ``SURF_BRIGHT`` (MJy/sr).

    As jwst's extract_1d does for an extended IFU source, the same sky is also in
    ``BACKGROUND``/``BKGD_ERROR`` (the sigma-clipped mean of the field), which is where
    master_background reads an IFU background from.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness.
    wavelength : numpy.ndarray
        Wavelengths (micron), increasing.
    sb : numpy.ndarray
        True background surface brightness (MJy/sr).
    sb_err : float
        Relative noise of the extracted background.
    meta : dict
        Metadata of the background exposure.
    mrs : bool
        Build an ``MRSMultiSpecModel`` (else a ``MultiSpecModel``).
    pixel_sr : float
        Solid angle of one extracted spaxel (sr).
    npixels : float
        Number of spaxels extracted.

    Returns
    -------
    Product
        The spectrum product.
    """
    err = np.abs(sb) * sb_err
    value = sb + rng.standard_normal(sb.shape) * err
    flux = value * npixels * pixel_sr * 1e6  # MJy/sr * sr -> Jy
    columns = {"flux": flux, "flux_error": err * npixels * pixel_sr * 1e6,
               "surf_bright": value, "sb_error": err, "dq": np.zeros(sb.shape, np.uint32),
               "background": value, "bkgd_error": err,
               "npixels": np.full(sb.shape, npixels)}
    table = tables.spec_table(wavelength, mrs=mrs,
                              units=tables.spectrum_units(photom_done=True, ifu=True), **columns)
    attrs = {"name": meta["exposure"]["type"], "source_type": "EXTENDED",
             "dispersion_direction": meta["wcsinfo"]["dispersion_direction"],
             "spectral_order": 1}
    part = Part(arrays={"spec_table": table}, attrs=attrs)
    meta = {**meta, "cal_step": {**meta.get("cal_step", {}), "extract_1d": "COMPLETE"}}
    return tables.spectrum_product([part], meta, "MRSMultiSpecModel" if mrs else "MultiSpecModel")


def cal_name(observation: int, index: int, detector: str, suffix: str = "cal") -> str:
    """File name of exposure `index` (0-based) of `observation` on `detector`."""
    return exposure_filename("01234", observation, index + 1, detector, suffix)


def assemble(config: SimConfig, rng: np.random.Generator, scene: Any, layouts: Sequence[Any],
             visits: Sequence[Visit], exposure: Callable[..., tuple[Product, Any]],
             background_members: Callable[..., tuple[Product, ...]], name: str,
             psf: tuple[float, float], extra: Mapping[str, Any] | None = None,
             references: Mapping[str, bytes] | None = None) -> SimulatedDataset:
    """Observe every layout at every visit and package the dataset with its truth.

    The draws from `rng` happen in a fixed order (exposures visit by visit, detector by
    detector, then the dedicated backgrounds), so a seed always gives the same files.

    Parameters
    ----------
    config : SimConfig
        What to simulate.
    rng : numpy.random.Generator
        The dataset's random generator (already used for the scene).
    scene : Any
        The instrument's scene (``spectrum`` and ``background`` attributes).
    layouts : Sequence
        The detectors read out at each visit.
    visits : Sequence[Visit]
        The dithered pointings.
    exposure : callable
        ``exposure(rng, config, scene, layout, visit, nexp) -> (Product, ExposureTruth)``.
    background_members : callable
        ``background_members(rng, config, scene, layouts) -> tuple[Product, ...]``.
    name : str
        Product name of the association.
    psf : tuple[float, float]
        The PSF's FWHM law (slope per micron, floor; arcsec).
    extra : Mapping[str, Any], optional
        More truth about the source, after its PSF and dither positions.
    references : Mapping[str, bytes], optional
        Reference files that come with the dataset.

    Returns
    -------
    SimulatedDataset
        The exposures, backgrounds, truth and references.
    """
    products, exposures = [], []
    for visit in visits:
        for layout in layouts:
            product, truth = exposure(rng, config, scene, layout, visit, len(visits))
            products.append(product)
            exposures.append(truth)
    backgrounds = ()
    if config.background == "dedicated":
        backgrounds = background_members(rng, config, scene, layouts)
    targets = np.array([v.target for v in visits])
    source = SourceTruth(
        1, float(targets[:, 0].mean()), float(targets[:, 1].mean()), "POINT", scene.spectrum,
        "SIM-IFU-1", {"psf_fwhm_arcsec": {"slope_per_um": psf[0], "floor": psf[1]},
                      "positions": targets.tolist(), **(extra or {})})
    truth = Truth(config.mode, config.seed, config.size, (source,), tuple(exposures),
                  config.background, scene.background)
    return SimulatedDataset(config, name, tuple(products), truth, backgrounds=backgrounds,
                            references=dict(references or {}))
