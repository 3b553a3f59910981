"""NIRISS and NIRCam wide-field slitless spectroscopy (WFSS) as calwebb_spec2 leaves it.

Every exposure is a ``MultiSlitModel`` ``_cal`` with one slit per (source, spectral order):
the cutout that ``extract_2d`` takes around the source's trace on the 2048 x 2048 detector,
background-subtracted, flat-fielded and calibrated to MJy/sr by ``photom``. Each cutout
carries the source's identity and direct-image position, its spectral order, a
``WAVELENGTH`` array and a gWCS with the frames of the real one:
``grism_slit -> grism_detector -> detector -> world`` (cutout pixels, full-detector pixels
with the source position and order, direct-image pixels with wavelength and order, sky).

A source's light at wavelength ``w`` lands ``along(w) = offset + dispersion * (w - w_ref)``
pixels from its direct-image position along the dispersion and ``cross + tilt * along``
across it, spread over the cross-dispersion pixels by a Gaussian profile integrated over
each pixel; so the cutout summed across the dispersion (times the pixel solid angle) gives
back the source's flux density at each column's wavelength.
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

from spec3nb.datamodels import Part, Product
from spec3nb.simulate import slitless_common as common
from spec3nb.simulate.dataset import SimConfig, SimulatedDataset, exposure_filename
from spec3nb.simulate.noise import Detector
from spec3nb.simulate.spectra import Spectrum, source_spectrum
from spec3nb.simulate.truth import ExposureTruth, SourceTruth, Truth
from spec3nb.simulate.wcs import sky_frame, spectral_frame

NPIX = 2048


@dataclasses.dataclass(frozen=True)
class Order:
    """The trace of one spectral order relative to the source's direct-image position.

    Parameters
    ----------
    order : int
        Spectral order (``SPORDER``).
    dispersion : float
        Pixels per micron along the dispersion.
    offset : float
        Along-dispersion distance (pixels) of the trace at the reference wavelength.
    cross : float
        Cross-dispersion offset (pixels) of the trace at the reference wavelength.
    tilt : float
        Cross-dispersion pixels per along-dispersion pixel.
    throughput : float
        Relative throughput (order 1 of the same grism is 1).
    """

    order: int
    dispersion: float
    offset: float
    cross: float
    tilt: float
    throughput: float

    def along(self, wavelength: np.ndarray, ref: float) -> np.ndarray:
        """Along-dispersion distance (pixels) of `wavelength` (micron)."""
        return self.offset + self.dispersion * (np.asarray(wavelength) - ref)

    def wavelength(self, along: np.ndarray, ref: float) -> np.ndarray:
        """Wavelength (micron) at along-dispersion distance `along` (pixels)."""
        return ref + (np.asarray(along, dtype=float) - self.offset) / self.dispersion


@dataclasses.dataclass(frozen=True)
class GrismSetup:
    """One WFSS instrument configuration.

    Parameters
    ----------
    exp_type : str
        ``NIS_WFSS`` or ``NRC_WFSS``.
    instrument : Mapping[str, Any]
        ``meta.instrument`` values.
    dispaxis : int
        1: dispersion along x (rows), 2: along y (columns).
    scale : float
        Pixel size (arcsec).
    wave_range : tuple[float, float]
        Passband of the blocking filter (micron): the extent of every cutout.
    wave_ref : float
        Reference wavelength of the trace offsets (micron).
    orders : tuple[Order, ...]
        The orders extracted.
    rate_per_mjy : float
        Count rate (DN/s) summed across the dispersion of a 1 mJy source in order 1 at the
        peak of the passband.
    background : float
        Dispersed sky background (DN/s per pixel).
    roll : float
        Position angle of the detector +y axis (degrees).
    dither_step : tuple[float, float]
        Dither step (pixels, x and y).
    default_sources : tuple[int, int]
        Number of sources when not asked, for the small and the full size.
    """

    exp_type: str
    instrument: Mapping[str, Any]
    dispaxis: int
    scale: float
    wave_range: tuple[float, float]
    wave_ref: float
    orders: tuple[Order, ...]
    rate_per_mjy: float
    background: float
    roll: float = 20.0
    dither_step: tuple[float, float] = (23.0, 31.0)
    default_sources: tuple[int, int] = (5, 150)

    def response(self, order: Order, wavelength: np.ndarray) -> np.ndarray:
        """Relative response of `order` at `wavelength` (flat top, softer edges)."""
        lo, hi = self.wave_range
        x = (np.asarray(wavelength, dtype=float) - 0.5 * (lo + hi)) / (0.5 * (hi - lo))
        return order.throughput * (1.0 - 0.5 * np.clip(x, -1.0, 1.0) ** 4)


def niriss_setup(grism: str = "GR150R") -> GrismSetup:
    """NIRISS WFSS with the F150W blocking filter; GR150R disperses along y, GR150C along x.

    Parameters
    ----------
    grism : str
        ``GR150R`` or ``GR150C``.

    Returns
    -------
    GrismSetup
        The configuration.
    """
    if grism not in ("GR150R", "GR150C"):
        raise ValueError(f"NIRISS WFSS grism must be GR150R or GR150C, not {grism!r}")
    orders = (Order(1, 209.0, 90.0, 0.6, 0.004, 1.0),
              Order(2, 418.0, 390.0, 1.8, 0.008, 0.2))
    return GrismSetup(
        exp_type="NIS_WFSS",
        instrument={"name": "NIRISS", "detector": "NIS", "filter": grism, "pupil": "F150W",
                    "filter_position": 0.0, "pupil_position": 0.0},
        dispaxis=2 if grism == "GR150R" else 1, scale=0.0656, wave_range=(1.33, 1.67),
        wave_ref=1.5, orders=orders, rate_per_mjy=40.0, background=0.6,
        roll=20.0 if grism == "GR150R" else 110.0,
    )


def nircam_setup(module: str = "A") -> GrismSetup:
    """NIRCam long-wave GRISMR with F444W: dispersion along x, order 1 only.

    Parameters
    ----------
    module : str
        ``A`` (``NRCALONG``) or ``B`` (``NRCBLONG``).

    Returns
    -------
    GrismSetup
        The configuration.
    """
    if module not in ("A", "B"):
        raise ValueError(f"NIRCam module must be A or B, not {module!r}")
    sign = 1.0 if module == "A" else -1.0  # module B's spectra run the other way
    return GrismSetup(
        exp_type="NRC_WFSS",
        instrument={"name": "NIRCAM", "detector": f"NRC{module}LONG", "filter": "F444W",
                    "pupil": "GRISMR", "module": module, "channel": "LONG"},
        dispaxis=1, scale=0.0629, wave_range=(3.88, 4.98), wave_ref=3.95,
        orders=(Order(1, sign * 1000.0, 0.0, 0.0, 0.002, 1.0),),
        rate_per_mjy=60.0, background=1.2, roll=75.0, dither_step=(17.0, 41.0),
        default_sources=(3, 120),
    )


# ----------------------------------------------------------------------------- sources


@dataclasses.dataclass(frozen=True)
class Source:
    """A simulated field source: identity, sky position, profile width and spectrum."""

    source_id: int
    ra: float
    dec: float
    source_type: str
    sigma: float
    spectrum: Spectrum


def draw_sources(rng: np.random.Generator, setup: GrismSetup, count: int, full: bool,
                 pointing: common.Pointing) -> list[Source]:
    """Draw `count` sources over the field of the first pointing.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness.
    setup : GrismSetup
        The configuration (wavelength range, pixel scale).
    count : int
        Number of sources.
    full : bool
        Whether the field is the whole detector (faint sources too) or the small version
        (bright sources in the middle of it).
    pointing : Pointing
        The first exposure's pointing (positions are drawn in its pixels).

    Returns
    -------
    list[Source]
        Sources with ids 1, 2, ... (as a direct-image catalog numbers them).
    """
    lo, hi = (-150.0, NPIX + 150.0) if full else (500.0, 1500.0)
    to_sky = common.detector_to_sky(pointing.ra, pointing.dec, pointing.roll,
                                    (NPIX / 2 - 0.5, NPIX / 2 - 0.5), setup.scale)
    wl_lo, wl_hi = setup.wave_range
    pad = 0.02 * (wl_hi - wl_lo)
    level_range = (np.log(0.15), np.log(5.0)) if full else (np.log(1.0), np.log(5.0))
    sources = []
    for index in range(count):
        x, y = rng.uniform(lo, hi, size=2)
        ra, dec = to_sky(x, y)
        extended = rng.random() < 0.3
        wide = (1.8, 2.6) if full else (1.3, 1.7)
        sigma = rng.uniform(*wide) if extended else rng.uniform(0.8, 1.1)
        level = float(np.exp(rng.uniform(*level_range)))
        spectrum = source_spectrum(rng, (wl_lo - pad, wl_hi + pad), level=level, unit="mJy")
        sources.append(Source(index + 1, float(ra), float(dec),
                              "EXTENDED" if extended else "POINT", float(sigma), spectrum))
    return sources


# ----------------------------------------------------------------------------- cutouts


@dataclasses.dataclass(frozen=True)
class Cutout:
    """Where one source's order lands on one exposure's detector.

    ``along`` and ``across`` are the 0-based full-detector pixel ranges (stop excluded)
    along and across the dispersion; ``x0``, ``y0`` the direct-image position.
    """

    source: Source
    order: Order
    x0: float
    y0: float
    along: tuple[int, int]
    across: tuple[int, int]

    def origin(self, dispaxis: int) -> tuple[int, int]:
        """0-based (x, y) of the cutout's first pixel on the detector."""
        if dispaxis == 1:
            return self.along[0], self.across[0]
        return self.across[0], self.along[0]

    def shape(self, dispaxis: int) -> tuple[int, int]:
        """``(ny, nx)`` of the cutout."""
        n_along = self.along[1] - self.along[0]
        n_across = self.across[1] - self.across[0]
        return (n_across, n_along) if dispaxis == 1 else (n_along, n_across)


def locate(setup: GrismSetup, source: Source, order: Order, x0: float,
           y0: float) -> Cutout | None:
    """Return the cutout of `source`'s `order` at direct position (x0, y0), None if off.

    The cutout spans the passband along the dispersion (clipped at the detector edge, as
    ``extract_2d`` clips it) and the trace plus five profile widths across it; a trace
    whose profile is cut by the detector edge, or that keeps fewer than 10 columns, is
    not extracted.
    """
    c_along, c_across = (x0, y0) if setup.dispaxis == 1 else (y0, x0)
    ends = c_along + order.along(np.array(setup.wave_range), setup.wave_ref)
    start, stop = math.ceil(ends.min()), math.floor(ends.max()) + 1
    start, stop = max(start, 0), min(stop, NPIX)
    if stop - start < 10:
        return None
    pixels = np.array([start, stop - 1], dtype=float)
    centre = c_across + order.cross + order.tilt * (pixels - c_along)
    half = math.ceil(4.5 * source.sigma) + 1
    low, high = math.floor(centre.min()) - half, math.ceil(centre.max()) + half + 1
    if low < 0 or high > NPIX:
        return None
    return Cutout(source, order, x0, y0, (start, stop), (low, high))


def cutout_wavelength(setup: GrismSetup, cut: Cutout) -> np.ndarray:
    """Wavelength (micron) of each along-dispersion pixel of the cutout."""
    c_along = cut.x0 if setup.dispaxis == 1 else cut.y0
    pixels = np.arange(*cut.along, dtype=float)
    return cut.order.wavelength(pixels - c_along, setup.wave_ref)


def render_cutout(setup: GrismSetup, cut: Cutout) -> tuple[np.ndarray, np.ndarray]:
    """Noiseless source count rate (DN/s) and calibration (MJy/sr per DN/s) of a cutout.

    Parameters
    ----------
    setup : GrismSetup
        The configuration.
    cut : Cutout
        The cutout.

    Returns
    -------
    tuple[numpy.ndarray, numpy.ndarray]
        ``(ny, nx)`` count rate of the source alone, and ``(ny, nx)`` conversion factor such
        that ``rate * conversion`` is the calibrated surface brightness.
    """
    wave = cutout_wavelength(setup, cut)
    c_along, c_across = (cut.x0, cut.y0) if setup.dispaxis == 1 else (cut.y0, cut.x0)
    pixels = np.arange(*cut.along, dtype=float)
    centre = c_across + cut.order.cross + cut.order.tilt * (pixels - c_along) - cut.across[0]
    profile = common.cross_profile(centre, cut.source.sigma, cut.across[1] - cut.across[0])
    counts_per_mjy = setup.rate_per_mjy * setup.response(cut.order, wave)
    rate = profile * (cut.source.spectrum(wave) * counts_per_mjy)[None, :]
    omega = common.pixel_area(setup.scale)["pixelarea_steradians"]
    conversion = np.broadcast_to(1e-9 / omega / counts_per_mjy, rate.shape)
    if setup.dispaxis == 2:
        rate, conversion = rate.T, conversion.T
    return np.ascontiguousarray(rate), np.ascontiguousarray(conversion)


# ----------------------------------------------------------------------------- WCS


def _poly(c00: float, c10: float, c01: float) -> models.Polynomial2D:
    return models.Polynomial2D(1, c0_0=c00, c1_0=c10, c0_1=c01)


def _const(value: float) -> models.Const1D:
    model = models.Const1D(value)
    model.inverse = models.Const1D(value)
    return model


def _dispersion_model(setup: GrismSetup, cut: Cutout) -> models.Model:
    """``grism_detector -> detector``: (x, y, x0, y0, order) -> (xd, yd, wavelength, order)."""
    o, ref = cut.order, setup.wave_ref
    base = o.offset - o.dispersion * ref  # along = base + dispersion * wavelength
    c_along = cut.x0 if setup.dispaxis == 1 else cut.y0
    to_wave = models.Shift(-c_along - o.offset) | models.Scale(1.0 / o.dispersion) | \
        models.Shift(ref)
    # Direct-image coordinate across the dispersion of a pixel (along a, across c):
    # c - cross - tilt * (a - c_along).
    across = _poly(o.tilt * c_along - o.cross, -o.tilt, 1.0)  # inputs (a, c)
    back_along = _poly(base, 1.0, o.dispersion)  # (direct along, wavelength) -> a
    back_across = _poly(o.cross + o.tilt * base, 1.0, o.tilt * o.dispersion)
    if setup.dispaxis == 1:
        forward = models.Mapping((2, 0, 1, 0, 4)) | (
            models.Identity(1) & across & to_wave & models.Identity(1))
        backward = models.Mapping((0, 2, 1, 2, 0, 1, 3)) | (
            back_along & back_across & models.Identity(3))
    else:
        forward = models.Mapping((1, 0, 3, 1, 4)) | (
            across & models.Identity(1) & to_wave & models.Identity(1))
        backward = models.Mapping((0, 2, 1, 2, 0, 1, 3)) | (
            back_across & back_along & models.Identity(3))
    forward.inverse = backward
    return forward


def cutout_wcs(setup: GrismSetup, cut: Cutout, pointing: common.Pointing) -> gwcs_wcs.WCS:
    """The gWCS of a cutout: ``grism_slit -> grism_detector -> detector -> world``.

    Parameters
    ----------
    setup : GrismSetup
        The configuration.
    cut : Cutout
        The cutout.
    pointing : Pointing
        The exposure's pointing.

    Returns
    -------
    gwcs.WCS
        Two inputs (cutout pixels), four outputs (RA, Dec, wavelength, order), with an
        inverse and a bounding box equal to the cutout.
    """
    xmin, ymin = cut.origin(setup.dispaxis)
    to_full = models.Mapping((0, 1, 0, 0, 0)) | (
        models.Shift(xmin) & models.Shift(ymin) & _const(cut.x0) & _const(cut.y0)
        & _const(float(cut.order.order)))
    to_sky = common.detector_to_sky(pointing.ra, pointing.dec, pointing.roll,
                                    (NPIX / 2 - 0.5, NPIX / 2 - 0.5), setup.scale)
    pix = (u.pix, u.pix)
    grism_slit = cf.Frame2D(name="grism_slit", axes_order=(0, 1), unit=pix,
                            axes_names=("x_grism", "y_grism"))
    grism_detector = cf.Frame2D(name="grism_detector", axes_order=(0, 1), unit=pix,
                                axes_names=("x_grism", "y_grism"))
    direct = cf.CompositeFrame(
        [cf.Frame2D(name="detectorspatial", axes_order=(0, 1), unit=pix,
                    axes_names=("x", "y")), spectral_frame()], name="detector")
    world = cf.CompositeFrame([sky_frame(), spectral_frame()], name="world")
    wcs = gwcs_wcs.WCS([
        (grism_slit, to_full), (grism_detector, _dispersion_model(setup, cut)),
        (direct, to_sky & models.Identity(2)), (world, None)])
    ny, nx = cut.shape(setup.dispaxis)
    wcs.bounding_box = ((-0.5, nx - 0.5), (-0.5, ny - 0.5))
    return wcs


def s_region(setup: GrismSetup, pointing: common.Pointing) -> str:
    """``S_REGION`` of an exposure: the detector's corners on the sky."""
    to_sky = common.detector_to_sky(pointing.ra, pointing.dec, pointing.roll,
                                    (NPIX / 2 - 0.5, NPIX / 2 - 0.5), setup.scale)
    corners = np.array([[-0.5, -0.5], [NPIX - 0.5, -0.5], [NPIX - 0.5, NPIX - 0.5],
                        [-0.5, NPIX - 0.5]])
    ra, dec = to_sky(corners[:, 0], corners[:, 1])
    return "POLYGON ICRS  " + " ".join(f"{a:.9f} {d:.9f}" for a, d in zip(ra, dec, strict=True))


# ----------------------------------------------------------------------------- products


def _cutout_part(rng: np.random.Generator, setup: GrismSetup, cut: Cutout,
                 pointing: common.Pointing, detector: Detector,
                 region: str) -> tuple[Part, dict[str, np.ndarray]]:
    """Noisy calibrated arrays and attributes of one cutout (defects are added later)."""
    rate, conversion = render_cutout(setup, cut)
    arrays = common.noisy_arrays(rng, rate + setup.background, detector, conversion,
                                 setup.background)
    wave = cutout_wavelength(setup, cut)
    ny, nx = rate.shape
    arrays["wavelength"] = (np.broadcast_to(wave[None, :], (ny, nx)) if setup.dispaxis == 1
                            else np.broadcast_to(wave[:, None], (ny, nx))).astype(np.float32)
    xmin, ymin = cut.origin(setup.dispaxis)
    source = cut.source
    attrs = {"name": str(source.source_id), "source_id": source.source_id,
             "source_type": source.source_type, "is_extended": source.source_type == "EXTENDED",
             "source_ra": source.ra, "source_dec": source.dec,
             "source_xpos": cut.x0, "source_ypos": cut.y0,
             "xstart": xmin + 1, "ystart": ymin + 1, "xsize": nx, "ysize": ny}
    mid = float(conversion.flat[conversion.size // 2])
    meta = {"bunit_data": "MJy/sr", "bunit_err": "MJy/sr",
            "photometry": {**common.pixel_area(setup.scale), "conversion_megajanskys": mid},
            "wcsinfo": {"spectral_order": cut.order.order, "dispersion_direction": setup.dispaxis,
                        "s_region": region}}
    return Part(attrs=attrs, meta=meta, wcs=cutout_wcs(setup, cut, pointing)), arrays


def _direct_position(setup: GrismSetup, source: Source,
                     pointing: common.Pointing) -> tuple[float, float]:
    to_sky = common.detector_to_sky(pointing.ra, pointing.dec, pointing.roll,
                                    (NPIX / 2 - 0.5, NPIX / 2 - 0.5), setup.scale)
    x, y = to_sky.inverse(source.ra, source.dec)
    return float(x), float(y)


def _exposure(rng: np.random.Generator, config: SimConfig, setup: GrismSetup, index: int,
              pointing: common.Pointing, sources: list[Source],
              ) -> tuple[Product, ExposureTruth, list[dict[str, Any]]]:
    """One ``_cal`` exposure, its truth, and the (source, order, part) of its cutouts."""
    detector = Detector()
    region = s_region(setup, pointing)
    parts, outliers, hot, located = [], [], [], []
    for source in sources:
        x0, y0 = _direct_position(setup, source, pointing)
        for order in setup.orders:
            cut = locate(setup, source, order, x0, y0)
            if cut is None:
                continue
            part, arrays = _cutout_part(rng, setup, cut, pointing, detector, region)
            n_cr = int(rng.poisson(1e-3 * arrays["data"].size))
            hits, bad = common.add_defects(rng, arrays, len(parts), n_cr)
            outliers.append(hits)
            hot.append(bad)
            located.append({"source_id": source.source_id, "order": order.order,
                            "part": len(parts), "xstart": part.attrs["xstart"],
                            "ystart": part.attrs["ystart"]})
            parts.append(part.evolve(arrays=arrays))
    meta = _exposure_meta(config, setup, index, pointing, detector, region)
    filename = exposure_filename(common.PROGRAM, 1, index + 1, setup.instrument["detector"])
    meta["filename"] = filename
    background = setup.background * float(
        1e-9 / common.pixel_area(setup.scale)["pixelarea_steradians"]
        / (setup.rate_per_mjy * setup.response(setup.orders[0], setup.wave_ref)))
    truth = ExposureTruth(filename, pointing.offset, background, common.stack_rows(outliers),
                          common.stack_rows(hot))
    return Product("MultiSlitModel", meta, parts), truth, located


def _exposure_meta(config: SimConfig, setup: GrismSetup, index: int,
                   pointing: common.Pointing, detector: Detector, region: str) -> dict:
    subarray = {"name": "FULL", "xstart": 1, "ystart": 1, "xsize": NPIX, "ysize": NPIX,
                "fastaxis": -2 if setup.exp_type == "NIS_WFSS" else -1,
                "slowaxis": -1 if setup.exp_type == "NIS_WFSS" else 2}
    meta = common.exposure_meta(config, index, pointing, instrument=setup.instrument,
                                exp_type=setup.exp_type, detector=detector, subarray=subarray)
    meta["wcsinfo"].update(dispersion_direction=setup.dispaxis, s_region=region,
                           specsys="BARYCENT")
    meta["photometry"] = common.pixel_area(setup.scale)
    meta["target"]["source_type"] = "POINT"
    meta["cal_step"] = {step: "COMPLETE" for step in (
        "assign_wcs", "bkg_subtract", "extract_2d", "flat_field", "srctype", "photom")}
    meta["cal_step"].update(wfss_contam="SKIPPED")
    meta["bunit_data"], meta["bunit_err"] = "MJy/sr", "MJy/sr"
    return meta


def simulate_wfss(config: SimConfig, setup: GrismSetup) -> SimulatedDataset:
    """Simulate a WFSS Stage-3 input set with the instrument configuration `setup`.

    Parameters
    ----------
    config : SimConfig
        Size, seed, number of exposures (default 2) and of sources (default from `setup`),
        moving target.
    setup : GrismSetup
        The instrument configuration.

    Returns
    -------
    SimulatedDataset
        One ``MultiSlitModel`` per exposure and the truth: each source's spectrum (mJy),
        position and the cutouts holding it (``extra["cutouts"]``: exposure, file, order,
        part, ``xstart``/``ystart``).
    """
    rng = config.rng()
    nexp = config.nexp or 2
    count = config.nsources or setup.default_sources[config.full]
    pointings = common.dither_pointings(nexp, setup.roll, setup.scale, setup.dither_step)
    sources = draw_sources(rng, setup, count, config.full, pointings[0])
    exposures, exposure_truths = [], []
    where: dict[int, list[dict[str, Any]]] = {s.source_id: [] for s in sources}
    for index, pointing in enumerate(pointings):
        product, truth, located = _exposure(rng, config, setup, index, pointing, sources)
        exposures.append(product)
        exposure_truths.append(truth)
        for entry in located:
            where[entry["source_id"]].append(
                {"exposure": index, "filename": truth.filename, **entry})
    source_truths = tuple(
        SourceTruth(s.source_id, s.ra, s.dec, s.source_type, s.spectrum, extra={
            "cutouts": where[s.source_id], "sigma_pixels": s.sigma,
            "dispersion_direction": setup.dispaxis,
            "note": "data are background-subtracted (spec2 bkg_subtract); the exposure "
                    "background is the subtracted level of order 1 (MJy/sr)"})
        for s in sources)
    instrument = setup.instrument
    name = common.product_name(instrument["name"], instrument["filter"], instrument["pupil"])
    truth = Truth(config.mode, config.seed, config.size, source_truths, tuple(exposure_truths))
    return SimulatedDataset(config, name, tuple(exposures), truth, program=common.PROGRAM,
                            asn_id=common.ASN_ID, target=common.TARGET)
