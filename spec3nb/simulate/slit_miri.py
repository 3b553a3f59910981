"""MIRI LRS fixed-slit (``mir_lrs``) Stage-2 products.

Each exposure is a ``SlitModel`` ``_cal`` (EXP_TYPE ``MIR_LRS-FIXEDSLIT``, MIRIMAGE, P750L,
DISPAXIS 2) in MJy/sr with a gwcs ``detector -> world``: x runs along the 4.7 arcsec slit
(0.11 arcsec pixels), y is the dispersion, the wavelength falling from about 12.5 micron at
the bottom of the trace to 4.8 micron at the top as on the instrument (a tabulated,
exactly invertible curve). ``S_REGION`` is the slit footprint and ``meta.dither.dithered_ra/
dec`` the target position (both read by the official steps). The default pattern is an
along-slit two-point nod; with ``background='nod'`` the ``_x1d`` of each exposure (the 1-D
extraction calwebb_spec2 writes, whose ``BACKGROUND`` column is the sky) is written as the
background member ``<science root>_x1d.fits``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from astropy.modeling import models
from gwcs import wcs as gwcs_wcs

from spec3nb.datamodels import Part, Product
from spec3nb.simulate import slit_common as common
from spec3nb.simulate.dataset import SimConfig, SimulatedDataset, exposure_filename
from spec3nb.simulate.noise import Detector
from spec3nb.simulate.spectra import Spectrum, background_spectrum, source_spectrum
from spec3nb.simulate.truth import ExposureTruth, SourceTruth, Truth
from spec3nb.simulate.wcs import detector_frame, sky_projection, world_frame

SCALE = 0.11
SLIT = (0.51, 4.7)  # width, length (arcsec)
WAVE_RANGE = (4.8, 12.5)
SPECTRUM_RANGE = (4.5, 13.0)
DETECTOR = Detector(read_noise=14.0, gain=3.1, ngroups=50, group_time=2.775,
                    photmjsr=5.0, flat_error=0.005)
TARGET = (80.4875, -69.4983)
PA = 75.0
NODS = (1.1, -1.1)  # arcsec along the slit (ALONG-SLIT-NOD)
SKY_LEVEL = 8.0  # MJy/sr at mid band
PRODUCT = f"jw{common.PROGRAM}-o001_t001_miri_p750l"


@dataclasses.dataclass(frozen=True)
class LrsLayout:
    """The array and where the slit and the trace are in it.

    Parameters
    ----------
    shape : tuple[int, int]
        ``(ny, nx)`` of the array.
    xstart, ystart : int
        1-based full-frame origin of the array.
    xc : float
        Column of the slit centre.
    ytrace : tuple[float, float]
        Rows of the red (12.5 micron) and blue (4.8 micron) ends of the trace.
    """

    shape: tuple[int, int]
    xstart: int
    ystart: int
    xc: float
    ytrace: tuple[float, float]

    @property
    def bounding_box(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """``((x0, x1), (y0, y1))``: the slit along x, the trace along y."""
        half = 0.5 * SLIT[1] / SCALE
        return ((self.xc - half, self.xc + half), (self.ytrace[0], self.ytrace[1]))


def layout_for(full: bool) -> LrsLayout:
    """The real full-frame geometry, or a small cutout of it."""
    if full:
        return LrsLayout((1024, 1032), 1, 1, 325.5, (7.5, 396.5))
    return LrsLayout((168, 56), 300, 230, 27.5, (4.5, 162.5))


def _wavelength_model(layout: LrsLayout) -> models.Model:
    """Row to wavelength (micron), decreasing with y, with its exact tabulated inverse."""
    y0, y1 = layout.ytrace
    rows = np.linspace(y0 - 1.0, y1 + 1.0, 400)
    t = (rows - y0) / (y1 - y0)
    wave = WAVE_RANGE[1] - (WAVE_RANGE[1] - WAVE_RANGE[0]) * (0.7 * t + 0.3 * t * t)
    forward = models.Tabular1D(points=rows, lookup_table=wave, bounds_error=False,
                               fill_value=np.nan)
    forward.inverse = models.Tabular1D(points=wave[::-1], lookup_table=rows[::-1],
                                       bounds_error=False, fill_value=np.nan)
    return forward


def lrs_wcs(layout: LrsLayout, target: tuple[float, float], offset: float) -> gwcs_wcs.WCS:
    """The ``detector -> world`` WCS of one exposure.

    Parameters
    ----------
    layout : LrsLayout
        The array geometry.
    target : tuple[float, float]
        (RA, Dec) of the target (the tangent point), degrees.
    offset : float
        Nod offset: the target sits `offset` arcsec along the slit from its centre.

    Returns
    -------
    gwcs.WCS
        The WCS with an inverse and a bounding box.
    """
    along = models.Shift(-layout.xc) | models.Scale(SCALE) | models.Shift(-offset)
    wave = _wavelength_model(layout)
    sky = sky_projection(target[0], target[1], PA)
    spatial = models.Const1D(0.0) & along
    forward = models.Mapping((0, 0, 1)) | spatial & wave | sky & models.Identity(1)
    forward.inverse = (sky.inverse & wave.inverse | models.Mapping((1, 2))
                       | along.inverse & models.Identity(1))
    wcs = gwcs_wcs.WCS(forward, input_frame=detector_frame(), output_frame=world_frame())
    wcs.bounding_box = layout.bounding_box
    return wcs


def slit_region(target: tuple[float, float], offset: float) -> str:
    """``S_REGION`` of the slit footprint on the sky (counter-clockwise corners)."""
    half_w, half_l = 0.5 * SLIT[0], 0.5 * SLIT[1]
    across = np.array([-half_w, half_w, half_w, -half_w])
    along = np.array([-half_l, -half_l, half_l, half_l]) - offset
    ra, dec = sky_projection(target[0], target[1], PA)(across, along)
    return common.polygon(np.column_stack([ra, dec]))


def _images(layout: LrsLayout, wcs: gwcs_wcs.WCS, source: Spectrum | None,
            sky: Spectrum | None, offset: float) -> tuple[np.ndarray, np.ndarray]:
    """Wavelength image and noiseless surface brightness of one exposure."""
    y, x = np.indices(layout.shape, dtype=float)
    wave = np.asarray(wcs(x, y)[2], dtype=float)
    centre = layout.xc + offset / SCALE
    signal = common.slit_signal(wave, x, centre, scale=SCALE, spectrum=source, sky=sky)
    return wave, signal


def _meta(config: SimConfig, k: int, nexp: int, target: tuple, offset: float,
          layout: LrsLayout) -> dict[str, Any]:
    ny, nx = layout.shape
    subarray = {"name": "FULL", "xstart": 1, "ystart": 1, "xsize": 1032, "ysize": 1024,
                "fastaxis": 1, "slowaxis": 2}
    dither = {"primary_type": "ALONG-SLIT-NOD", "position_number": k % 2 + 1,
              "total_points": 2, "x_offset": 0.0, "y_offset": offset,
              "dithered_ra": target[0], "dithered_dec": target[1]}
    instrument = {"name": "MIRI", "detector": "MIRIMAGE", "filter": "P750L",
                  "band": "N/A", "channel": "N/A"}
    meta = common.exposure_meta(
        filename=exposure_filename(common.PROGRAM, 1, k + 1, "mirimage"), index=k,
        nexp=nexp, detector=DETECTOR, instrument=instrument, exp_type="MIR_LRS-FIXEDSLIT",
        readpatt="FASTR1", target=target, moving=config.moving, subarray=subarray,
        dither=dither)
    meta["wcsinfo"] = common.wcsinfo(*target, PA, 2, config.moving, target,
                                     slit_region(target, offset))
    meta["photometry"] = {**common.pixel_area(SCALE),
                          "conversion_megajanskys": DETECTOR.photmjsr}
    return meta


def _exposure(config: SimConfig, rng: np.random.Generator, k: int, nexp: int,
              source: SourceTruth, sky: Spectrum | None) -> tuple[Product, ExposureTruth]:
    layout = layout_for(config.full)
    drift = 0.05 * k if config.moving else 0.0
    target = common.sky_offset(*TARGET, 0.6 * drift, 0.8 * drift)
    offset = NODS[k % len(NODS)]
    wcs = lrs_wcs(layout, target, offset)
    wave, signal = _images(layout, wcs, source.spectrum, sky, offset)
    ncosmic = 150 if config.full else 30
    noisy = common.noisy_part(rng, signal, wave, DETECTOR, ncosmic=ncosmic)
    meta = _meta(config, k, nexp, target, offset, layout)
    ny, nx = layout.shape
    attrs = {"name": "MIR_LRS-FIXEDSLIT", "source_id": 1, "source_name": "SIM-TARGET",
             "source_type": "POINT", "source_ra": target[0], "source_dec": target[1],
             "source_xpos": layout.xc + offset / SCALE, "source_ypos": 0.5 * sum(layout.ytrace),
             "xstart": layout.xstart, "ystart": layout.ystart, "xsize": nx, "ysize": ny}
    product = Product("SlitModel", meta, [Part(noisy.arrays, attrs, {}, wcs)])
    level = float(sky(np.array([np.mean(WAVE_RANGE)]))[0]) if sky else 0.0
    truth = ExposureTruth(meta["filename"], (offset, 0.0), level,
                          common.rows_with_part(0, noisy.hits),
                          common.rows_with_part(0, noisy.bad))
    return product, truth


def extract_nod(product: Product, *, half_width: int = 4, gap: int = 8) -> Product:
    """The ``_x1d`` calwebb_spec2 writes for one nod exposure (box extraction, sky beside).

    Parameters
    ----------
    product : Product
        A simulated LRS ``_cal`` exposure.
    half_width : int
        Half width (pixels) of the source aperture around the trace.
    gap : int
        Columns within this distance of the trace are left out of the sky.

    Returns
    -------
    Product
        A ``MultiSpecModel`` named ``<root>_x1d.fits``: ``FLUX`` (Jy) and ``SURF_BRIGHT``
        (MJy/sr) of the sky-subtracted source, ``BACKGROUND`` the sky (MJy/sr) per row.
    """
    part = product.part
    data, wave = np.asarray(part.data, float), np.asarray(part.arrays["wavelength"], float)
    var = sum(np.asarray(part.arrays[k], float) for k in ("var_poisson", "var_rnoise",
                                                            "var_flat"))
    cols = np.arange(data.shape[1])[None, :]
    distance = np.abs(cols - part.attrs["source_xpos"])
    valid = np.isfinite(data) & np.isfinite(var)
    in_src, in_sky = valid & (distance <= half_width), valid & (distance > gap)
    nsky = np.maximum(in_sky.sum(axis=1), 1)
    bkg = np.where(in_sky, data, 0.0).sum(axis=1) / nsky
    bkg_var = np.where(in_sky, var, 0.0).sum(axis=1) / nsky**2
    npix = in_src.sum(axis=1)
    flux = np.where(in_src, data - bkg[:, None], 0.0).sum(axis=1)
    flux_var = np.where(in_src, var, 0.0).sum(axis=1) + npix**2 * bkg_var
    row_wave = np.where(in_src, np.nan_to_num(wave), 0.0).sum(axis=1) / np.maximum(
        in_src.sum(axis=1), 1)
    keep = (npix > 0) & (row_wave > 0) & (in_sky.sum(axis=1) > 0)
    omega = part.meta.get("photometry", {}).get("pixelarea_steradians") or \
        product.get("photometry.pixelarea_steradians")
    n = npix[keep].astype(float)
    columns = {"wavelength": row_wave[keep], "flux": flux[keep] * omega * 1e6,
               "flux_error": np.sqrt(flux_var[keep]) * omega * 1e6,
               "surf_bright": flux[keep] / n, "sb_error": np.sqrt(flux_var[keep]) / n,
               "background": bkg[keep], "bkgd_error": np.sqrt(bkg_var[keep]),
               "dq": np.zeros(n.size, np.uint32), "npixels": n}
    meta = dict(product.meta)
    meta["filename"] = product.filename.replace("_cal.fits", "_x1d.fits")
    attrs = {"name": part.attrs["name"], "source_id": 1, "source_type": "POINT",
             "dispersion_direction": 2, "source_name": part.attrs["source_name"]}
    position = (product.get("dither.dithered_ra"), product.get("dither.dithered_dec"))
    return common.x1d_product(meta, attrs, columns, position)


def _dedicated(exposure: Product, sky: Spectrum, rng: np.random.Generator) -> Product:
    """An ``_x1d`` of an empty-sky exposure (``BKGDTARG = T``): the sky in SURF_BRIGHT."""
    wave = np.linspace(WAVE_RANGE[1], WAVE_RANGE[0], 300)
    npix = SLIT[1] / SCALE
    err = DETECTOR.flat_error * sky(wave) / np.sqrt(npix)
    sb = sky(wave) + rng.standard_normal(wave.size) * err
    omega = common.pixel_area(SCALE)["pixelarea_steradians"]
    meta = dict(exposure.meta)
    meta["filename"] = exposure_filename(common.PROGRAM, 2, 1, "mirimage", "x1d")
    meta["observation"] = {**meta["observation"], "observation_number": "002",
                           "bkgdtarg": True}
    columns = {"wavelength": wave, "surf_bright": sb, "sb_error": err,
               "flux": sb * omega * npix * 1e6, "flux_error": err * omega * npix * 1e6,
               "background": np.zeros(wave.size), "bkgd_error": np.zeros(wave.size),
               "dq": np.zeros(wave.size, np.uint32), "npixels": np.full(wave.size, npix)}
    attrs = {"name": "MIR_LRS-FIXEDSLIT", "source_id": 1, "source_type": "EXTENDED",
             "dispersion_direction": 2}
    return common.x1d_product(meta, attrs, columns, TARGET)


def simulate_mir_lrs(config: SimConfig) -> SimulatedDataset:
    """Simulate a MIRI LRS fixed-slit along-slit nod.

    Parameters
    ----------
    config : SimConfig
        What to simulate (``nexp`` exposures alternating between the two nods, default 2;
        ``background`` ``nod`` or ``dedicated`` puts sky in the data and writes the
        ``_x1d`` background members).

    Returns
    -------
    SimulatedDataset
        The ``_cal`` exposures, background members and truth.
    """
    rng = config.rng()
    nexp = config.nexp or 2
    spectrum = source_spectrum(rng, SPECTRUM_RANGE, level=1.0)
    sky = None
    if config.background != "none":
        sky = background_spectrum(SPECTRUM_RANGE, level=SKY_LEVEL)
    source = SourceTruth(1, TARGET[0], TARGET[1], "POINT", spectrum, "SIM-TARGET",
                         {"slit": "MIR_LRS-FIXEDSLIT", "nods_arcsec": NODS})
    pairs = [_exposure(config, rng, k, nexp, source, sky) for k in range(nexp)]
    exposures = tuple(p for p, _ in pairs)
    backgrounds: tuple[Product, ...] = ()
    if config.background == "nod":
        backgrounds = tuple(extract_nod(p) for p in exposures)
    elif config.background == "dedicated" and sky is not None:
        backgrounds = (_dedicated(exposures[0], sky, rng),)
    truth = Truth("mir_lrs", config.seed, config.size, (source,),
                  tuple(t for _, t in pairs), config.background, sky)
    return SimulatedDataset(config, PRODUCT, exposures, truth, backgrounds=backgrounds)
