"""NIRSpec IFU simulator: ``IFUImageModel`` ``_cal`` files with 30 slices.

Geometry (detector pixels of the 2048 x 2048 NRS1/NRS2 arrays; G395H/F290LP):

* the 30 slices are stacked in y, 28 rows each with 4-row gaps (rows 544-1503), over the
  science columns 4-2043 (the outer four columns are reference pixels); everything else is
  ``NON_SCIENCE | DO_NOT_USE`` and NaN; ``REGIONS`` holds the slice number 1-30 (0
  elsewhere) as jwst 3.0.0's ``apply_slicemap`` writes it, ``WAVELENGTH`` the wavelength of
  every pixel;
* dispersion runs along x (``DISPAXIS = 1``), linearly over the detector's range
  (NRS1 2.87-4.05 um, NRS2 4.12-5.27 um);
* y runs along the slice (0.1 arcsec per pixel); the slice sets the across-slice position
  (0.1 arcsec slices) in the order of the real slicer: slice ``i`` (0-based) is the
  ``SLICEMAP[i]``-th slice across the field, so slices 0 and 2 are neighbours in the sky, as
  jwst's cube_build assumes when it measures the slice width;
* the gWCS has the form of an archive ``_cal`` file (jwst 3.0.0 ``apply_slicemap``):
  ``coordinates -> detector`` is an identity, ``detector -> slicer`` a ``RegionsSelector``
  whose ``LabelMapperArray`` is the slice map, with one transform per slice bounded by its
  slice (the bounding box ``nrs_wcs_set_input`` reads) and, for the inverse, a
  ``LabelMapperDict`` keyed on the across-slice coordinate; then ``slicer -> v2v3 ->
  world``. ``slicer`` holds (across, along, lambda) in arcsec and micron (jwst uses metres
  there). ``small`` images are a binned (16 x 4) crop of NRS1 rows 528-1519: the per-slice
  transforms start by placing the image pixel on the detector, so the ``detector`` frame
  of a small file counts image pixels (a detector-sized label map would not fit a small
  file).
"""

from __future__ import annotations

import dataclasses

import astropy.units as u
import numpy as np
from astropy.modeling import bind_bounding_box, models
from gwcs import coordinate_frames as cf
from gwcs import selector
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
#: First and last science column (the outer four columns are reference pixels).
SCIENCE_COLUMNS = (4, SIZE - 5)
#: Place across the field (0 = lowest across-slice coordinate) of slice 0, 1, ... 29: the
#: real slicer's interleaved order (the column table of jwst's internal_cal cubes).
SLICEMAP = (15, 14, 16, 13, 17, 12, 18, 11, 19, 10, 20, 9, 21, 8, 22, 7,
            23, 6, 24, 5, 25, 4, 26, 3, 27, 2, 28, 1, 29, 0)
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

    def science_columns(self) -> np.ndarray:
        """Mask of the image columns made of science (not reference) detector columns."""
        bx = self.binning[0]
        first = bx * np.arange(self.shape[1])
        return (first >= SCIENCE_COLUMNS[0]) & (first + bx - 1 <= SCIENCE_COLUMNS[1])


def row_slices() -> np.ndarray:
    """Slice number (1-30) of every detector row, 0 in the gaps."""
    labels = np.zeros(SIZE, dtype=np.int32)
    for k in range(NSLICES):
        labels[Y0 + k * PITCH:Y0 + k * PITCH + HEIGHT] = k + 1
    return labels


def slice_across(k: int) -> float:
    """Across-slice coordinate (arcsec) of the centre of slice `k` (0-based)."""
    return (SLICEMAP[k] - 0.5 * (NSLICES - 1)) * SCALE


def slice_centre(k: int) -> float:
    """Detector row of the centre of slice `k` (0-based)."""
    return Y0 + k * PITCH + 0.5 * (HEIGHT - 1)


def row_parameters() -> dict[str, np.ndarray]:
    """Per detector row: the slice centre ``yc`` and the across-slice position (NaN in gaps)."""
    labels = row_slices()
    on = labels > 0
    k = np.where(on, labels - 1, 0)
    yc = np.where(on, Y0 + k * PITCH + 0.5 * (HEIGHT - 1), np.nan)
    across = np.where(on, (np.asarray(SLICEMAP)[k] - 0.5 * (NSLICES - 1)) * SCALE, np.nan)
    return {"yc": yc, "across": across}


def slice_map(layout: Layout) -> np.ndarray:
    """The image's slice map (``REGIONS``): slice number 1-30 on the slices, 0 elsewhere."""
    ny, _ = layout.shape
    by = layout.binning[1]
    rows = np.clip(np.round(by * np.arange(ny) + layout.origin + 0.5 * (by - 1)).astype(int),
                   0, SIZE - 1)
    return (row_slices()[rows][:, None] * layout.science_columns()[None, :]).astype(np.int32)


def coordinates_to_detector(layout: Layout) -> models.Model:
    """Image pixel -> detector pixel (identity for full frames)."""
    bx, by = layout.binning
    model = ((models.Scale(bx) | models.Shift(0.5 * (bx - 1)))
             & (models.Scale(by) | models.Shift(0.5 * (by - 1) + layout.origin)))
    model.name = "coord2det"
    return model


def slice_transform(layout: Layout, k: int, regions: np.ndarray) -> models.Model:
    """Image pixel -> (across, along, lambda) on slice `k`, bounded by its pixels.

    Along-slice position and wavelength are linear in the image pixel (the binning folded
    into the coefficients, which keeps the serialised WCS small); the inverse goes back to
    image pixels, so that the selector has a full inverse.
    """
    lo, step = RANGES[layout.detector][0], layout.step
    (bx, by), shift_x = layout.binning, 0.5 * (layout.binning[0] - 1)
    shift_y = 0.5 * (by - 1) + layout.origin - slice_centre(k)
    along = models.Linear1D(slope=SCALE * by, intercept=SCALE * shift_y)
    lam = models.Linear1D(slope=step * bx, intercept=lo + step * (0.5 + shift_x))
    forward = models.Mapping((0, 1, 0)) | models.Const1D(slice_across(k)) & along & lam
    forward.inverse = models.Mapping((2, 1), n_inputs=3) | lam.inverse & along.inverse
    forward.name = f"slice{k + 1}"
    forward.inputs, forward.outputs = ("x", "y"), ("x_slice", "y_slice", "lam")
    y, x = np.nonzero(regions == k + 1)
    bind_bounding_box(forward, ((x.min() - 0.5, x.max() + 0.5), (y.min() - 0.5, y.max() + 0.5)),
                      order="F")
    return forward


def detector_to_slicer(layout: Layout, regions: np.ndarray) -> selector.RegionsSelector:
    """The slice-map selector jwst's ``apply_slicemap`` builds (see the module docstring)."""
    transforms = {k + 1: slice_transform(layout, k, regions) for k in range(NSLICES)}
    label_mapper = selector.LabelMapperArray(regions)
    # gwcs widens the map to int64; labels 0-30 fit a byte, which keeps small files small
    # (gwcs reads it back as int64; the labels are the same)
    label_mapper._mapper = np.asarray(regions, dtype=np.int8)
    # the inverse picks the slice from the across-slice coordinate, as jwst's does
    label_mapper.inverse = selector.LabelMapperDict(
        inputs=("x_slice", "y_slice", "lam"),
        mapper={round(slice_across(k), 5): models.Mapping((0,), n_inputs=3)
                | models.Const1D(k + 1) for k in range(NSLICES)},
        inputs_mapping=models.Mapping((0,), n_inputs=3), atol=1e-4)
    det2slicer = selector.RegionsSelector(
        ("x", "y"), ("x_slice", "y_slice", "lam"), label_mapper=label_mapper,
        selector=transforms, name="det2slicer")
    det2slicer.inputs, det2slicer.outputs = ("x", "y"), ("x_slice", "y_slice", "lam")
    return det2slicer


def nirspec_wcs(layout: Layout, ra_ref: float, dec_ref: float,
                regions: np.ndarray | None = None) -> gwcs_wcs.WCS:
    """The exposure's gWCS (see the module docstring), bounded by the image."""
    def composite(name: str, names: tuple[str, str]) -> cf.CompositeFrame:
        spatial = cf.Frame2D(name=f"{name}_spatial", axes_order=(0, 1),
                             unit=(u.arcsec, u.arcsec), axes_names=names)
        spectral = cf.SpectralFrame(name=f"{name}_spectral", axes_order=(2,),
                                    unit=(u.micron,), axes_names=("wavelength",))
        return cf.CompositeFrame([spatial, spectral], name=name)

    regions = slice_map(layout) if regions is None else regions
    coords = cf.Frame2D(name="coordinates", axes_order=(0, 1), unit=(u.pix, u.pix))
    # an identity first step, as in jwst: the top-level bounding box is bound to it
    identity = models.Identity(2, name="coord2det")
    identity.inputs, identity.outputs = ("x", "y"), ("x", "y")
    to_v2v3 = models.Shift(V2_REF) & models.Shift(V3_REF) & models.Identity(1)
    wcs = gwcs_wcs.WCS([
        (coords, identity),
        (detector_frame(), detector_to_slicer(layout, regions)),
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
    return foot, slice_map(layout)


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
    wcs = nirspec_wcs(layout, visit.ra_ref, visit.dec_ref, regions)
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
