"""NIRSpec IFU simulator: ``IFUImageModel`` ``_cal`` files with 30 slices.

Geometry (detector pixels of the 2048 x 2048 NRS1/NRS2 arrays; G395H/F290LP):

* the 30 slices are stacked in y, 28 rows each with 4-row gaps (rows 544-1503); the gaps
  are ``NON_SCIENCE | DO_NOT_USE`` and NaN; ``REGIONS`` holds the slice number 1-30 (0
  elsewhere) as jwst 3.0.0's ``apply_slicemap`` writes it, ``WAVELENGTH`` the wavelength of
  every pixel;
* dispersion runs along x (``DISPAXIS = 1``), linearly over the detector's range
  (NRS1 2.87-4.05 um, NRS2 4.12-5.27 um);
* y runs along the slice (0.1 arcsec per pixel); the slice index sets the across-slice
  position (0.1 arcsec slices);
* the gWCS is ``coordinates -> detector -> slicer -> v2v3 -> world``: ``slicer`` holds
  (across, along, lambda) in arcsec and micron (jwst uses metres there), computed from per-row
  lookups of the slice; ``small`` images are a binned (16 x 4) crop of NRS1 rows 528-1519, the
  ``coordinates -> detector`` transform says where each image pixel lies on the detector.

jwst's own NIRSpec IFU WCS is built per slice from reference files (``nrs_ifu_wcs``) and its
cube_build reads it slice by slice through ``nrs_wcs_set_input`` (see the report in the tests).
"""

from __future__ import annotations

import dataclasses

import astropy.units as u
import numpy as np
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

NSLICES, HEIGHT, PITCH, Y0 = 30, 28, 32, 544
SCALE = 0.1  # arcsec per pixel along the slice, and the slice width
SIZE = 2048
RANGES = {"NRS1": (2.87, 4.05), "NRS2": (4.12, 5.27)}
V2_REF, V3_REF, ROLL = 299.83, -498.04, 138.5
PSF = (0.0317, 0.05)
NIRSPEC_DETECTOR = Detector(read_noise=6.0, gain=1.0, ngroups=20, group_time=14.59,
                            photmjsr=0.02, flat_error=0.005)
SOURCE_LEVEL = 0.5  # mJy
BACKGROUND_LEVEL = 0.3  # MJy/sr


@dataclasses.dataclass(frozen=True)
class Layout:
    """The read-out of one NIRSpec detector.

    Parameters
    ----------
    detector : str
        ``NRS1`` or ``NRS2``.
    binning : tuple[int, int]
        Detector pixels per image pixel in (x, y).
    origin : int
        First detector row of the image.
    rows : int
        Number of image rows.
    """

    detector: str
    binning: tuple[int, int] = (1, 1)
    origin: int = 0
    rows: int = SIZE

    @property
    def shape(self) -> tuple[int, int]:
        """Image shape (ny, nx)."""
        return self.rows, SIZE // self.binning[0]

    @property
    def step(self) -> float:
        """Wavelength step per detector column (micron)."""
        lo, hi = RANGES[self.detector]
        return (hi - lo) / SIZE


def row_slices() -> np.ndarray:
    """Slice number (1-30) of every detector row, 0 in the gaps."""
    labels = np.zeros(SIZE, dtype=np.int32)
    for k in range(NSLICES):
        labels[Y0 + k * PITCH:Y0 + k * PITCH + HEIGHT] = k + 1
    return labels


def row_parameters() -> dict[str, np.ndarray]:
    """Per detector row: the slice centre ``yc`` and the across-slice position (NaN in gaps)."""
    labels = row_slices()
    k = labels - 1
    on = labels > 0
    yc = np.where(on, Y0 + k * PITCH + 0.5 * (HEIGHT - 1), np.nan)
    across = np.where(on, (k - 0.5 * (NSLICES - 1)) * SCALE, np.nan)
    return {"yc": yc, "across": across}


def _row_table(values: np.ndarray) -> models.Tabular1D:
    return models.Tabular1D(points=np.arange(SIZE, dtype=float), lookup_table=values,
                            method="nearest", bounds_error=False, fill_value=np.nan)


def detector_to_slicer(layout: Layout) -> models.Model:
    """``(x, y) -> (across, along, lambda)`` with its inverse (NaN between slices)."""
    par = row_parameters()
    x = models.Mapping((0,), n_inputs=2)
    y = models.Mapping((1,), n_inputs=2)
    lo, step = RANGES[layout.detector][0], layout.step
    across = y | _row_table(par["across"])
    along = (y - (y | _row_table(par["yc"]))) | models.Scale(SCALE)
    gaps = y | _row_table(0.0 * par["across"])  # 0 on the slices, NaN between them
    lam = (x | models.Polynomial1D(1, c0=lo + 0.5 * step, c1=step)) + gaps
    forward = models.Mapping((0, 1, 0, 1, 0, 1)) | across & along & lam
    centres = (np.arange(NSLICES) - 0.5 * (NSLICES - 1)) * SCALE
    points = np.concatenate([[centres[0] - SCALE / 2], centres, [centres[-1] + SCALE / 2]])
    rows = Y0 + PITCH * np.concatenate([[0], np.arange(NSLICES), [NSLICES - 1]])
    slice_row = models.Tabular1D(points=points, lookup_table=rows + 0.5 * (HEIGHT - 1.0),
                                 method="nearest", bounds_error=False, fill_value=-1e4)
    y_of = ((models.Mapping((0,), n_inputs=3) | slice_row)
            + (models.Mapping((1,), n_inputs=3) | models.Scale(1.0 / SCALE)))
    x_of = (models.Mapping((2,), n_inputs=3) | models.Shift(-(lo + 0.5 * step))
            | models.Scale(1.0 / step))
    forward.inverse = models.Mapping((0, 1, 2, 0, 1, 2)) | x_of & y_of
    forward.name = "det2slicer"
    forward.inputs, forward.outputs = ("x", "y"), ("x_slice", "y_slice", "lam")
    return forward


def coordinates_to_detector(layout: Layout) -> models.Model:
    """Image pixel -> detector pixel (identity for full frames)."""
    bx, by = layout.binning
    model = ((models.Scale(bx) | models.Shift(0.5 * (bx - 1)))
             & (models.Scale(by) | models.Shift(0.5 * (by - 1) + layout.origin)))
    model.name = "coord2det"
    return model


def nirspec_wcs(layout: Layout, ra_ref: float, dec_ref: float) -> gwcs_wcs.WCS:
    """The exposure's gWCS (see the module docstring), bounded by the image."""
    def composite(name: str, names: tuple[str, str]) -> cf.CompositeFrame:
        spatial = cf.Frame2D(name=f"{name}_spatial", axes_order=(0, 1),
                             unit=(u.arcsec, u.arcsec), axes_names=names)
        spectral = cf.SpectralFrame(name=f"{name}_spectral", axes_order=(2,),
                                    unit=(u.micron,), axes_names=("wavelength",))
        return cf.CompositeFrame([spatial, spectral], name=name)

    coords = cf.Frame2D(name="coordinates", axes_order=(0, 1), unit=(u.pix, u.pix))
    to_v2v3 = models.Shift(V2_REF) & models.Shift(V3_REF) & models.Identity(1)
    wcs = gwcs_wcs.WCS([
        (coords, coordinates_to_detector(layout)),
        (detector_frame(), detector_to_slicer(layout)),
        (composite("slicer", ("x_slice", "y_slice")), to_v2v3),
        (composite("v2v3", ("v2", "v3")),
         common.v2v3_to_world(V2_REF, V3_REF, ra_ref, dec_ref, ROLL)),
        (world_frame(), None),
    ])
    ny, nx = layout.shape
    wcs.bounding_box = ((-0.5, nx - 0.5), (-0.5, ny - 0.5))
    return wcs


def footprint(layout: Layout) -> tuple[common.Footprint, np.ndarray]:
    """Sky footprint (slicer frame) of every image pixel, and the slice map (``REGIONS``)."""
    ny, nx = layout.shape
    bx, by = layout.binning
    y_lo = by * np.arange(ny) + layout.origin - 0.5
    rows = np.clip(np.round(y_lo + 0.5 * by).astype(int), 0, SIZE - 1)
    labels = row_slices()[rows]
    par = row_parameters()
    yc, across = par["yc"][rows], par["across"][rows]
    lo = RANGES[layout.detector][0]
    x_lo = bx * np.arange(nx) - 0.5
    shape = (ny, nx)

    def cols(values: np.ndarray) -> np.ndarray:
        return np.broadcast_to(values[:, None], shape)

    def lines(values: np.ndarray) -> np.ndarray:
        return np.broadcast_to(values[None, :], shape)

    foot = common.Footprint(
        cols((y_lo - yc) * SCALE), cols((y_lo + by - yc) * SCALE),
        cols(across - SCALE / 2), cols(across + SCALE / 2),
        lines(lo + (x_lo + 0.5) * layout.step), lines(lo + (x_lo + 0.5 + bx) * layout.step))
    regions = np.broadcast_to(labels[:, None], shape).astype(np.int32)
    return foot, regions


def _layouts(config: SimConfig) -> tuple[Layout, ...]:
    if config.full:
        return (Layout("NRS1"), Layout("NRS2"))
    return (Layout("NRS1", (16, 4), Y0 - 16, (NSLICES * PITCH + 32) // 4),)


@dataclasses.dataclass(frozen=True)
class Scene:
    """The source and background spectra, and the warm pixels per detector."""

    spectrum: Spectrum
    background: Spectrum
    defects: dict


def _meta(config: SimConfig, visit: common.Visit, layout: Layout, nexp: int,
          observation: int = 1) -> dict:
    instrument = {"name": "NIRSPEC", "detector": layout.detector, "grating": "G395H",
                  "filter": "F290LP", "lamp_state": "NONE"}
    meta = common.exposure_meta(config, visit, NIRSPEC_DETECTOR, exp_type="NRS_IFU",
                                instrument=instrument, nexp=nexp, observation=observation)
    meta["wcsinfo"].update(
        dispersion_direction=1, ra_ref=visit.ra_ref, dec_ref=visit.dec_ref, roll_ref=ROLL,
        v2_ref=V2_REF, v3_ref=V3_REF, v3yangle=138.7, vparity=-1,
        s_region=common.s_region(visit.ra_ref, visit.dec_ref, ROLL, (1.5, 1.5)))
    area = SCALE * SCALE * layout.binning[1] * common.ARCSEC2_SR
    meta["photometry"] = {"pixelarea_steradians": area,
                          "pixelarea_arcsecsq": area / common.ARCSEC2_SR}
    meta["subarray"] = {"name": "FULL", "xstart": 1, "ystart": 1, "xsize": SIZE, "ysize": SIZE}
    meta["cal_step"] = {step: "COMPLETE" for step in (
        "assign_wcs", "msa_flagging", "nsclean", "flat_field", "pathloss", "srctype",
        "photom")}
    meta["cal_step"].update(imprint="SKIPPED", bkg_subtract="SKIPPED", pixel_replace="SKIPPED")
    meta["filename"] = common.cal_name(observation, visit.index, layout.detector)
    return meta


def _exposure(rng: np.random.Generator, config: SimConfig, scene: Scene, layout: Layout,
              visit: common.Visit, nexp: int) -> tuple[Product, ExposureTruth]:
    foot, regions = footprint(layout)
    position = common.local_position(visit.ra_ref, visit.dec_ref, ROLL, *visit.target)
    # slicer (across, along) = sky (x, y); the footprint is (along = y, across = x)
    fwhm = common.psf_fwhm(foot.wavelength, *PSF)
    source = common.point_source_image(foot, scene.spectrum, position[::-1], fwhm)
    signal = np.where(regions > 0, source + scene.background(foot.wavelength), np.nan)
    arrays, outliers, hot = common.degrade(rng, signal, NIRSPEC_DETECTOR,
                                           scene.defects[layout.detector])
    arrays["regions"] = regions
    arrays["wavelength"] = np.where(regions > 0, foot.wavelength, np.nan).astype(np.float32)
    meta = _meta(config, visit, layout, nexp)
    wcs = nirspec_wcs(layout, visit.ra_ref, visit.dec_ref)
    product = Product("IFUImageModel", meta, [Part(arrays=arrays, wcs=wcs)])
    return product, ExposureTruth(meta["filename"], visit.offset, BACKGROUND_LEVEL, outliers, hot)


def _scene(rng: np.random.Generator, layouts: tuple[Layout, ...]) -> Scene:
    lo = min(RANGES[lay.detector][0] for lay in layouts) - 0.05
    hi = max(RANGES[lay.detector][1] for lay in layouts) + 0.05
    spectrum = source_spectrum(rng, (lo, hi), level=SOURCE_LEVEL, nlines=3 * len(layouts))
    background = background_spectrum((lo, hi), level=BACKGROUND_LEVEL)
    defects = {}
    for layout in layouts:
        _, regions = footprint(layout)
        defects[layout.detector] = common.draw_warm_pixels(rng, regions > 0, 1e-4, 20.0)
    return Scene(spectrum, background, defects)


def _background_members(rng: np.random.Generator, config: SimConfig, scene: Scene,
                        layouts: tuple[Layout, ...]) -> tuple[Product, ...]:
    members = []
    for visit in common.plan_visits(config, 2, 0.3, ROLL, NIRSPEC_DETECTOR):
        visit = dataclasses.replace(visit, target=(visit.target[0] + 0.02, visit.target[1]))
        for layout in layouts:
            lo, hi = RANGES[layout.detector]
            wave = np.arange(lo, hi, layout.step * layout.binning[0])
            meta = _meta(config, visit, layout, 2, observation=2)
            meta["filename"] = common.cal_name(2, visit.index, layout.detector, "x1d")
            meta["target"]["source_type"] = "EXTENDED"
            members.append(common.background_x1d(
                rng, wave, scene.background(wave), 0.01, meta, mrs=False,
                pixel_sr=SCALE * SCALE * common.ARCSEC2_SR))
    return tuple(members)


def simulate_nrs_ifu(config: SimConfig) -> SimulatedDataset:
    """Simulate a 4-point dithered NIRSpec IFU observation (G395H/F290LP) of a point source.

    ``small``: NRS1, a binned 128 x 248 crop around the slices; ``full``: NRS1 and NRS2,
    2048 x 2048.

    Parameters
    ----------
    config : SimConfig
        What to simulate (``nexp`` dithers, default 4; ``background``; ``moving``).

    Returns
    -------
    SimulatedDataset
        The ``_cal`` files and the truth.
    """
    rng = config.rng()
    nexp = config.nexp or 4
    layouts = _layouts(config)
    scene = _scene(rng, layouts)
    visits = common.plan_visits(config, nexp, 0.25, ROLL, NIRSPEC_DETECTOR)
    # DMS names NIRSpec IFU products after the grating; cube_build replaces it with the
    # grating-filter string of each cube (jw..._nirspec_g395h-f290lp_s3d).
    return common.assemble(config, rng, scene, layouts, visits, _exposure, _background_members,
                           "jw01234-o001_t001_nirspec_g395h", PSF)
