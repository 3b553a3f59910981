"""MIRI MRS simulator: ``IFUImageModel`` ``_cal`` files with slices, alpha/beta and a cubepar.

Geometry (detector pixels; the real 1032 x 1024 arrays of MIRIFUSHORT/MIRIFULONG):

* each channel's slices lie side by side in x on its half of the detector, as jwst's
  cube_build expects them (channels 1 and 4 in x 0-512, channels 2 and 3 in x 513-1031);
  slice ``k`` of channel ``c`` is labelled ``100 c + k + 1`` (101-121, 201-217, 301-316,
  401-412) in the ``REGIONS`` slice map and the WCS; the columns between slices are
  ``NON_SCIENCE | DO_NOT_USE`` and NaN;
* inside a slice, x runs along the slice (alpha, arcsec) and the slice index sets beta
  (arcsec, the slice centre); the wavelength grows linearly with y (``DISPAXIS = 2``) over the
  band's range;
* the gWCS is ``detector -> alpha_beta -> v2v3 -> world``: a ``RegionsSelector`` picks the
  slice's analytic model from a label mapper on x (its inverse picks the channel by
  wavelength, then the slice by beta); ``alpha_beta -> v2v3`` is a shift to the reference
  point (``V2_REF``, ``V3_REF``) and ``v2v3 -> world`` a gnomonic projection at
  (``RA_REF``, ``DEC_REF``) with ``ROLL_REF``.

Every WCS starts with a ``coordinates -> detector`` transform (image pixel to detector
pixel), the frame jwst 3.0.0 itself uses for oversampled MRS data: ``small`` datasets bin the
detector (2 x 16 detector pixels per image pixel, 516 x 64) and cube_build still finds each
channel at its detector columns; ``full`` ones have the identity there (jwst's cube_build
evaluates pixel corners from the first frame and needs it unit-free).
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Mapping

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.modeling import models
from gwcs import coordinate_frames as cf
from gwcs import wcs as gwcs_wcs

from spec3nb.datamodels import Part, Product
from spec3nb.simulate import ifu_common as common
from spec3nb.simulate.dataset import SimConfig, SimulatedDataset
from spec3nb.simulate.noise import Detector
from spec3nb.simulate.spectra import Spectrum, background_spectrum, source_spectrum
from spec3nb.simulate.truth import ExposureTruth
from spec3nb.simulate.wcs import detector_frame, world_frame

DETECTOR_SHAPE = (1024, 1032)
V2_REF, V3_REF = -503.65, -318.74
ROLL = 252.0
BANDS = ("SHORT", "MEDIUM", "LONG")
#: Cube spaxel size (arcsec) and spectral step factor per channel written to the cubepar.
SPAXEL = {"1": 0.13, "2": 0.17, "3": 0.20, "4": 0.35}
BAND_RANGES: Mapping[str, tuple[tuple[float, float], ...]] = {
    "1": ((4.90, 5.74), (5.66, 6.63), (6.53, 7.65)),
    "2": ((7.51, 8.77), (8.67, 10.13), (10.02, 11.70)),
    "3": ((11.55, 13.47), (13.34, 15.57), (15.41, 17.98)),
    "4": ((17.70, 20.95), (20.69, 24.48), (24.19, 27.90)),
}


@dataclasses.dataclass(frozen=True)
class Channel:
    """Slice layout of one MRS channel on its detector half (detector pixels).

    Parameters
    ----------
    name : str
        ``1`` to ``4``.
    nslices : int
        Number of slices.
    slice_width : float
        Across-slice width (beta step, arcsec).
    alpha_scale : float
        Along-slice pixel scale (arcsec per detector pixel).
    x0, pitch, width : int
        First slice's first column, distance between slice starts, columns per slice.
    """

    name: str
    nslices: int
    slice_width: float
    alpha_scale: float
    x0: int
    pitch: int
    width: int

    def centres(self) -> np.ndarray:
        """Detector x of each slice's centre."""
        return self.x0 + self.pitch * np.arange(self.nslices) + 0.5 * (self.width - 1)

    def betas(self) -> np.ndarray:
        """Beta (arcsec) of each slice's centre."""
        return (np.arange(self.nslices) - 0.5 * (self.nslices - 1)) * self.slice_width

    def label(self, k: int) -> int:
        """Slice number of slice index `k` as jwst numbers MRS slices."""
        return 100 * int(self.name) + k + 1


CHANNELS: Mapping[str, Channel] = {
    "1": Channel("1", 21, 0.177, 0.196, 8, 24, 16),
    "2": Channel("2", 17, 0.280, 0.196, 520, 28, 20),
    "3": Channel("3", 16, 0.390, 0.2167, 520, 32, 24),
    "4": Channel("4", 12, 0.656, 0.273, 8, 40, 24),
}
DETECTORS = {"MIRIFUSHORT": "12", "MIRIFULONG": "34"}


@dataclasses.dataclass(frozen=True)
class Layout:
    """The simulated read-out of one MRS detector in one band.

    Parameters
    ----------
    detector : str
        ``MIRIFUSHORT`` or ``MIRIFULONG``.
    band : str
        ``SHORT``, ``MEDIUM`` or ``LONG``.
    binning : tuple[int, int]
        Detector pixels per image pixel in (x, y).
    """

    detector: str
    band: str
    binning: tuple[int, int] = (1, 1)

    @property
    def channels(self) -> tuple[Channel, ...]:
        """The two channels on this detector."""
        return tuple(CHANNELS[c] for c in DETECTORS[self.detector])

    @property
    def shape(self) -> tuple[int, int]:
        """Image shape (ny, nx)."""
        return DETECTOR_SHAPE[0] // self.binning[1], DETECTOR_SHAPE[1] // self.binning[0]

    def wave_range(self, channel: Channel) -> tuple[float, float]:
        """Wavelength range (micron) of `channel` in this band."""
        return BAND_RANGES[channel.name][BANDS.index(self.band)]

    def wave_step(self, channel: Channel) -> float:
        """Wavelength step (micron) per detector row."""
        lo, hi = self.wave_range(channel)
        return (hi - lo) / DETECTOR_SHAPE[0]

    def column_labels(self) -> np.ndarray:
        """Slice number of every detector column (0 between slices)."""
        labels = np.zeros(DETECTOR_SHAPE[1], dtype=np.int32)
        for ch in self.channels:
            for k in range(ch.nslices):
                start = ch.x0 + k * ch.pitch
                labels[start:start + ch.width] = ch.label(k)
        return labels

    def image_labels(self) -> np.ndarray:
        """Slice number of every image column (binned columns never straddle a slice edge)."""
        return self.column_labels()[:: self.binning[0]].copy()


# ----------------------------------------------------------------------------- WCS


def _column_table(values: np.ndarray) -> models.Tabular1D:
    """A per-detector-column lookup (nearest column; NaN off the detector)."""
    return models.Tabular1D(points=np.arange(DETECTOR_SHAPE[1], dtype=float),
                            lookup_table=np.asarray(values, dtype=float), method="nearest",
                            bounds_error=False, fill_value=np.nan)


def column_parameters(layout: Layout) -> dict[str, np.ndarray]:
    """Per detector column: slice centre ``xc``, ``scale`` (arcsec/pixel), ``beta``, and the
    wavelength zero point ``c0`` and step ``c1`` of ``lambda = c0 + c1 * y`` (NaN in gaps)."""
    labels = layout.column_labels()
    out = {key: np.full(labels.size, np.nan) for key in ("xc", "scale", "beta", "c0", "c1")}
    for ch in layout.channels:
        k = labels - 100 * int(ch.name) - 1
        on = (labels > 0) & (k >= 0) & (k < ch.nslices)
        kk = np.where(on, k, 0)
        lo, step = layout.wave_range(ch)[0], layout.wave_step(ch)
        for key, value in (("xc", ch.centres()[kk]), ("scale", ch.alpha_scale),
                           ("beta", ch.betas()[kk]), ("c0", lo + 0.5 * step), ("c1", step)):
            out[key] = np.where(on, value, out[key])
    return out


def _forward(layout: Layout) -> models.Model:
    """``(x, y) -> (alpha, beta, lambda)`` from per-column lookups (NaN between slices)."""
    par = column_parameters(layout)
    x = models.Mapping((0,), n_inputs=2)
    y = models.Mapping((1,), n_inputs=2)
    alpha = (x - (x | _column_table(par["xc"]))) * (x | _column_table(par["scale"]))
    beta = x | _column_table(par["beta"])
    lam = (x | _column_table(par["c0"])) + (x | _column_table(par["c1"])) * y
    return models.Mapping((0, 1, 0, 1, 0, 1)) | alpha & beta & lam


def _channel_inverse(layout: Layout, ch: Channel) -> tuple[models.Model, models.Model]:
    """``(alpha, beta, lambda) -> x`` and ``-> y`` for `ch` (far off the detector outside)."""
    edges = ch.betas()[[0, -1]] + np.array([-0.5, 0.5]) * ch.slice_width
    points = np.concatenate([[edges[0]], ch.betas(), [edges[1]]])
    index = np.concatenate([[0], np.arange(ch.nslices), [ch.nslices - 1]]).astype(float)
    slice_of = models.Tabular1D(points=points, lookup_table=index, method="nearest",
                                bounds_error=False, fill_value=-1e4)
    centre = float(ch.x0 + 0.5 * (ch.width - 1))
    x_slice = (models.Mapping((1,), n_inputs=3) | slice_of | models.Scale(float(ch.pitch))
               | models.Shift(centre))
    x_of = x_slice + (models.Mapping((0,), n_inputs=3) | models.Scale(1.0 / ch.alpha_scale))
    lo, step = layout.wave_range(ch)[0], layout.wave_step(ch)
    y_of = (models.Mapping((2,), n_inputs=3) | models.Shift(-(lo + 0.5 * step))
            | models.Scale(1.0 / step))
    return x_of, y_of


def _inverse(layout: Layout) -> models.Model:
    """``(alpha, beta, lambda) -> (x, y)``: the channel from the wavelength, the slice from beta."""
    first, second = layout.channels
    ranges = [layout.wave_range(first), layout.wave_range(second)]
    order = np.argsort([r[0] for r in ranges])
    points = np.concatenate([ranges[i] for i in order])
    is_first = np.repeat([1.0 if i == 0 else 0.0 for i in order], 2)
    def indicator(values: np.ndarray) -> models.Model:
        return models.Mapping((2,), n_inputs=3) | models.Tabular1D(
            points=points, lookup_table=values, method="nearest", bounds_error=False,
            fill_value=np.nan)

    pick, other = indicator(is_first), indicator(1.0 - is_first)
    x1, y1 = _channel_inverse(layout, first)
    x2, y2 = _channel_inverse(layout, second)
    x = pick * x1 + other * x2
    y = pick * y1 + other * y2
    return models.Mapping((0, 1, 2, 0, 1, 2)) | x & y


def detector_to_alpha_beta(layout: Layout) -> models.Model:
    """The ``detector -> alpha_beta`` transform with its inverse."""
    forward = _forward(layout)
    forward.inverse = _inverse(layout)
    forward.name = "detector_to_abl"
    forward.inputs = ("x", "y")
    forward.outputs = ("alpha", "beta", "lam")
    return forward


def _frames() -> dict[str, cf.CoordinateFrame]:
    def composite(name: str, names: tuple[str, str]) -> cf.CompositeFrame:
        spatial = cf.Frame2D(name=f"{name}_spatial", axes_order=(0, 1),
                             unit=(u.arcsec, u.arcsec), axes_names=names)
        spectral = cf.SpectralFrame(name=f"{name}_spectral", axes_order=(2,),
                                    unit=(u.micron,), axes_names=("lambda",))
        return cf.CompositeFrame([spatial, spectral], name=name)

    return {"alpha_beta": composite("alpha_beta", ("alpha", "beta")),
            "v2v3": composite("v2v3", ("v2", "v3"))}


def binning_model(binning: tuple[int, int]) -> models.Model:
    """``coordinates -> detector``: image pixel to the centre of its detector pixels."""
    bx, by = binning
    return ((models.Scale(bx) | models.Shift(0.5 * (bx - 1)))
            & (models.Scale(by) | models.Shift(0.5 * (by - 1))))


def mrs_wcs(layout: Layout, ra_ref: float, dec_ref: float) -> gwcs_wcs.WCS:
    """The exposure's gWCS (see the module docstring), bounded by the image."""
    frames = _frames()
    ab2v2v3 = models.Shift(V2_REF) & models.Shift(V3_REF) & models.Identity(1)
    pipeline = [
        (detector_frame(), detector_to_alpha_beta(layout)),
        (frames["alpha_beta"], ab2v2v3),
        (frames["v2v3"], common.v2v3_to_world(V2_REF, V3_REF, ra_ref, dec_ref, ROLL)),
        (world_frame(), None),
    ]
    # jwst's cube_build evaluates the pixel corners from the WCS's first frame: give it the
    # image-pixel frame it has for real (oversampled or not) MRS data, an identity when the
    # image is not binned
    coords = cf.Frame2D(name="coordinates", axes_order=(0, 1), unit=(u.pix, u.pix))
    pipeline.insert(0, (coords, binning_model(layout.binning)))
    wcs = gwcs_wcs.WCS(pipeline)
    ny, nx = layout.shape
    wcs.bounding_box = ((-0.5, nx - 0.5), (-0.5, ny - 0.5))
    return wcs


# ----------------------------------------------------------------------------- pixels


def footprint(layout: Layout) -> tuple[common.Footprint, np.ndarray]:
    """Sky footprint of every image pixel and the image's slice map (``REGIONS``)."""
    ny, nx = layout.shape
    bx, by = layout.binning
    labels = layout.image_labels()
    regions = np.broadcast_to(labels, (ny, nx)).astype(np.int32)
    nan = np.full(nx, np.nan)
    a_lo, a_hi, b_lo, b_hi, w0, dw = (nan.copy() for _ in range(6))
    x_lo = bx * np.arange(nx) - 0.5
    for ch in layout.channels:
        k = labels - 100 * int(ch.name) - 1
        on = (k >= 0) & (k < ch.nslices) & (labels > 0)
        kk = np.where(on, k, 0)
        xc, beta = ch.centres()[kk], ch.betas()[kk]
        a_lo = np.where(on, (x_lo - xc) * ch.alpha_scale, a_lo)
        a_hi = np.where(on, (x_lo + bx - xc) * ch.alpha_scale, a_hi)
        b_lo = np.where(on, beta - 0.5 * ch.slice_width, b_lo)
        b_hi = np.where(on, beta + 0.5 * ch.slice_width, b_hi)
        w0 = np.where(on, layout.wave_range(ch)[0], w0)
        dw = np.where(on, layout.wave_step(ch), dw)
    rows = by * np.arange(ny)[:, None]
    shape = (ny, nx)
    foot = common.Footprint(
        np.broadcast_to(a_lo, shape), np.broadcast_to(a_hi, shape),
        np.broadcast_to(b_lo, shape), np.broadcast_to(b_hi, shape),
        w0 + rows * dw, w0 + (rows + by) * dw)
    return foot, regions


def pixel_area_sr(layout: Layout) -> float:
    """Solid angle (sr) of an image pixel of the detector's first channel (``PIXAR_SR``)."""
    ch = layout.channels[0]
    return ch.alpha_scale * layout.binning[0] * ch.slice_width * common.ARCSEC2_SR


# ----------------------------------------------------------------------------- cubepar


def _table(name: str, columns: Mapping[str, np.ndarray]) -> fits.BinTableHDU:
    formats = {"CHANNEL": "1A", "BAND": "6A", "POWER": "E"}
    units = {"WAVEMIN": "micron", "WAVEMAX": "micron", "SPAXELSIZE": "arcsec",
             "SPECTRALSTEP": "micron", "ROISPATIAL": "arcsec", "ROISPECTRAL": "micron",
             "SOFTRAD": "arcsec", "SCALERAD": "arcsec", "WAVELENGTH": "micron"}
    cols = [fits.Column(name=key, format=formats.get(key, "E"), array=value,
                        unit=units.get(key)) for key, value in columns.items()]
    hdu = fits.BinTableHDU.from_columns(cols)
    hdu.header["EXTNAME"] = name
    return hdu


def cubepar_steps(layouts: tuple[Layout, ...]) -> dict[tuple[str, str], float]:
    """Spectral step (micron) per (channel, band): the simulated image rows' wavelength step."""
    steps = {}
    for layout in layouts:
        for ch in layout.channels:
            steps[(ch.name, layout.band)] = layout.wave_step(ch) * layout.binning[1]
    return steps


def cubepar_bytes(layouts: tuple[Layout, ...]) -> bytes:
    """A MIRI ``CUBEPAR`` reference file (FITS) that cube_build reads with ``override_cubepar``.

    Every channel and band has a row; the simulated ones get the simulated spectral step so
    that no wavelength plane of a cube falls between image rows.

    Parameters
    ----------
    layouts : tuple[Layout, ...]
        The simulated detectors and bands.

    Returns
    -------
    bytes
        The file's content (CUBEPAR, CUBEPAR_MSM, CUBEPAR_EMSM and the MULTICHANNEL tables).
    """
    steps = cubepar_steps(layouts)
    keys = [(c, b) for c in "1234" for b in BANDS]
    wmin = np.array([BAND_RANGES[c][BANDS.index(b)][0] for c, b in keys])
    wmax = np.array([BAND_RANGES[c][BANDS.index(b)][1] for c, b in keys])
    default_step = np.array([0.001, 0.002, 0.003, 0.006])[[int(c) - 1 for c, _ in keys]]
    step = np.array([steps.get(k, default_step[i]) for i, k in enumerate(keys)])
    spaxel = np.array([SPAXEL[c] for c, _ in keys])
    ident = {"CHANNEL": np.array([c for c, _ in keys]), "BAND": np.array([b for _, b in keys])}
    n = len(keys)
    wave = np.exp(np.arange(np.log(4.8), np.log(28.5), 1.0 / 1500.0))
    roi = np.interp(wave, [4.8, 28.5], [0.10, 0.40])
    primary = fits.PrimaryHDU()
    primary.header.update(REFTYPE="CUBEPAR", INSTRUME="MIRI", DETECTOR="N/A", EXP_TYPE="MIR_MRS",
                          MODELNAM="FM", TELESCOP="JWST", AUTHOR="spec3nb simulator",
                          DESCRIP="Simulated MRS cube parameters", PEDIGREE="DUMMY",
                          USEAFTER="2022-01-01T00:00:00")
    hdus = [
        primary,
        _table("CUBEPAR", {**ident, "WAVEMIN": wmin, "WAVEMAX": wmax, "SPAXELSIZE": spaxel,
                           "SPECTRALSTEP": step}),
        _table("CUBEPAR_MSM", {**ident, "ROISPATIAL": spaxel, "ROISPECTRAL": 2 * step,
                               "POWER": np.full(n, 2.0), "SOFTRAD": np.full(n, 0.01)}),
        _table("CUBEPAR_EMSM", {**ident, "ROISPATIAL": spaxel, "ROISPECTRAL": 2 * step,
                                "SCALERAD": spaxel}),
        _table("MULTICHANNEL_MSM", {"WAVELENGTH": wave, "ROISPATIAL": roi,
                                    "ROISPECTRAL": wave / 1500.0, "POWER": np.full(wave.size, 2.0),
                                    "SOFTRAD": np.full(wave.size, 0.01)}),
        _table("MULTICHANNEL_EMSM", {"WAVELENGTH": wave, "ROISPATIAL": roi,
                                     "ROISPECTRAL": wave / 1500.0, "SCALERAD": roi}),
        _table("MULTICHANNEL_DRIZ", {"WAVELENGTH": wave}),
    ]
    buffer = io.BytesIO()
    fits.HDUList(hdus).writeto(buffer)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- exposures

#: The MIRI read-out: FASTR1, 40 groups (Detector noise in electrons and DN).
MIRI_DETECTOR = Detector(read_noise=14.0, gain=5.5, ngroups=40, group_time=2.775,
                         photmjsr=0.1, flat_error=0.005)
CUBEPAR_NAME = "miri_mrs_cubepar.fits"
PSF = (0.033, 0.106)  # FWHM = 0.033 * lambda + 0.106 arcsec (Law et al. 2023)
SOURCE_LEVEL = 5.0  # mJy
BACKGROUND_LEVEL = 3.0  # MJy/sr


@dataclasses.dataclass(frozen=True)
class Scene:
    """What the sky holds: the source, the background, and the warm pixels per detector."""

    spectrum: Spectrum
    background: Spectrum
    levels: np.ndarray
    defects: Mapping[str, common.Defects]


def _meta(config: SimConfig, visit: common.Visit, layout: Layout, nexp: int,
          observation: int = 1) -> dict:
    instrument = {"name": "MIRI", "detector": layout.detector,
                  "channel": DETECTORS[layout.detector], "band": layout.band}
    meta = common.exposure_meta(config, visit, MIRI_DETECTOR, exp_type="MIR_MRS",
                                instrument=instrument, nexp=nexp, observation=observation)
    ny, nx = layout.shape
    half = max(ch.alpha_scale * ch.width for ch in layout.channels) / 2
    meta["wcsinfo"].update(
        dispersion_direction=2, ra_ref=visit.ra_ref, dec_ref=visit.dec_ref, roll_ref=ROLL,
        v2_ref=V2_REF, v3_ref=V3_REF, v3yangle=-4.45, vparity=-1,
        s_region=common.s_region(visit.ra_ref, visit.dec_ref, ROLL, (half, half * 1.15)))
    area = pixel_area_sr(layout)
    meta["photometry"] = {"pixelarea_steradians": area,
                          "pixelarea_arcsecsq": area / common.ARCSEC2_SR}
    meta["subarray"] = {"name": "FULL", "xstart": 1, "ystart": 1,
                        "xsize": DETECTOR_SHAPE[1], "ysize": DETECTOR_SHAPE[0]}
    meta["cal_step"] = {step: "COMPLETE" for step in (
        "assign_wcs", "flat_field", "srctype", "straylight", "fringe", "photom")}
    meta["cal_step"].update(residual_fringe="SKIPPED", pixel_replace="SKIPPED",
                            bkg_subtract="SKIPPED")
    meta["filename"] = common.cal_name(observation, visit.index, layout.detector)
    return meta


def _exposure(rng: np.random.Generator, config: SimConfig, scene: Scene, layout: Layout,
              visit: common.Visit, nexp: int) -> tuple[Product, ExposureTruth]:
    foot, regions = footprint(layout)
    position = common.local_position(visit.ra_ref, visit.dec_ref, ROLL, *visit.target)
    fwhm = common.psf_fwhm(foot.wavelength, *PSF)
    source = common.point_source_image(foot, scene.spectrum, position, fwhm)
    sky = scene.background(foot.wavelength) * (scene.levels[visit.index] / BACKGROUND_LEVEL)
    signal = np.where(regions > 0, source + sky, np.nan)
    arrays, outliers, hot = common.degrade(rng, signal, MIRI_DETECTOR,
                                           scene.defects[layout.detector])
    arrays["regions"] = regions
    meta = _meta(config, visit, layout, nexp)
    wcs = mrs_wcs(layout, visit.ra_ref, visit.dec_ref)
    product = Product("IFUImageModel", meta, [Part(arrays=arrays, wcs=wcs)])
    truth = ExposureTruth(meta["filename"], visit.offset, float(scene.levels[visit.index]),
                          outliers, hot)
    return product, truth


def _layouts(config: SimConfig) -> tuple[Layout, ...]:
    if config.full:
        return (Layout("MIRIFUSHORT", "SHORT"), Layout("MIRIFULONG", "SHORT"))
    return (Layout("MIRIFUSHORT", "SHORT", (2, 16)),)


def _scene(rng: np.random.Generator, layouts: tuple[Layout, ...], nexp: int) -> Scene:
    ranges = [layout.wave_range(ch) for layout in layouts for ch in layout.channels]
    lo, hi = min(r[0] for r in ranges) - 0.05, max(r[1] for r in ranges) + 0.05
    spectrum = source_spectrum(rng, (lo, hi), level=SOURCE_LEVEL, nlines=3 * len(ranges) // 2)
    background = background_spectrum((lo, hi), level=BACKGROUND_LEVEL)
    levels = BACKGROUND_LEVEL * (1.0 + 0.3 * rng.uniform(-1.0, 1.0, nexp))
    defects = {}
    for layout in layouts:
        _, regions = footprint(layout)
        defects[layout.detector] = common.draw_warm_pixels(rng, regions > 0, 1e-4, 200.0)
    return Scene(spectrum, background, levels, defects)


def _background_members(rng: np.random.Generator, config: SimConfig, scene: Scene,
                        layouts: tuple[Layout, ...]) -> tuple[Product, ...]:
    members = []
    visits = common.plan_visits(config, 2, 0.5, ROLL, MIRI_DETECTOR)
    for visit in visits:
        visit = dataclasses.replace(visit, ra_ref=visit.ra_ref + 0.02, target=(
            visit.target[0] + 0.02, visit.target[1]))
        for layout in layouts:
            waves = [np.arange(*layout.wave_range(ch), layout.wave_step(ch) * layout.binning[1])
                     for ch in layout.channels]
            wave = np.concatenate(waves)
            meta = _meta(config, visit, layout, 2, observation=2)
            meta["filename"] = common.cal_name(2, visit.index, layout.detector, "x1d")
            meta["target"]["source_type"] = "EXTENDED"
            level = scene.background(wave)  # the truth sky itself
            members.append(common.background_x1d(
                rng, wave, level, 0.01, meta, mrs=True,
                pixel_sr=(SPAXEL[layout.channels[0].name]) ** 2 * common.ARCSEC2_SR))
    return tuple(members)


def simulate_mir_mrs(config: SimConfig) -> SimulatedDataset:
    """Simulate a 4-point dithered MIRI MRS observation of a point source.

    ``small``: MIRIFUSHORT (channels 1 and 2), band SHORT, binned 516 x 64 image, 4 exposures;
    ``full``: MIRIFUSHORT and MIRIFULONG (channels 1-4), band SHORT, 1032 x 1024.

    Parameters
    ----------
    config : SimConfig
        What to simulate (``nexp`` dithers, default 4; ``background``; ``moving``).

    Returns
    -------
    SimulatedDataset
        ``_cal`` files, the truth and the cubepar reference (``miri_mrs_cubepar.fits``).
    """
    rng = config.rng()
    nexp = config.nexp or 4
    layouts = _layouts(config)
    scene = _scene(rng, layouts, nexp)
    visits = common.plan_visits(config, nexp, 0.5, ROLL, MIRI_DETECTOR)
    return common.assemble(config, rng, scene, layouts, visits, _exposure, _background_members,
                           "jw01234-o001_t001_miri", PSF,
                           extra={"bands": [lay.band for lay in layouts]},
                           references={CUBEPAR_NAME: cubepar_bytes(layouts)})
