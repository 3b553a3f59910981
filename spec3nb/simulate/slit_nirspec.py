"""NIRSpec fixed-slit (``nrs_fs``) and MOS (``nrs_mos``) Stage-2 products.

Each exposure is a ``MultiSlitModel`` ``_cal`` on NRS1, G395M/F290LP, dispersion along x
(DISPAXIS 1). Every slit cutout has a gwcs ``detector -> slit_frame -> world``:

* ``detector -> slit_frame``: ``x_slit = 0`` (the slit centre line), ``y_slit`` in slit units
  (FS: slit lengths, -0.5..0.5; MOS: shutter pitches, -1.5..1.5 over a three-shutter
  slitlet), wavelength in micron linear in x;
* ``slit_frame -> world``: slit units to arcsec offsets in the slit-aligned tangent plane of
  the exposure's pointing, then a TAN projection to ICRS (RA, Dec), wavelength unchanged.

The bounding box covers the cutout (jwst's resample_spec assumes it does); the first and last
rows lie outside the slit (NaN ``WAVELENGTH`` and data, ``NON_SCIENCE | DO_NOT_USE``), as in
real cutouts. Point sources are in MJy per pixel
(``BUNIT = MJy``, what NIRSpec's photom writes for point sources); empty or background slits
are EXTENDED in MJy/sr. Nods move the pointing along the slit, so the source moves on the
detector while staying put on the sky.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from astropy.modeling import models
from gwcs import coordinate_frames as cf
from gwcs import wcs as gwcs_wcs

from spec3nb.datamodels import Part, Product
from spec3nb.simulate import slit_common as common
from spec3nb.simulate.dataset import SimConfig, SimulatedDataset, exposure_filename
from spec3nb.simulate.noise import Detector
from spec3nb.simulate.spectra import Spectrum, background_spectrum, source_spectrum
from spec3nb.simulate.truth import ExposureTruth, SourceTruth, Truth
from spec3nb.simulate.wcs import detector_frame, sky_projection, spectral_frame, world_frame

SCALE = 0.1  # arcsec per pixel
WAVE_RANGE = (2.87, 5.27)  # G395M/F290LP
SPECTRUM_RANGE = (2.6, 5.6)
DETECTOR = Detector(read_noise=14.0, gain=1.05, ngroups=20, group_time=14.5889,
                    photmjsr=2.0, flat_error=0.005)
TARGET = (150.1163, 2.2055)
PA = 62.0
SKY_LEVEL = 0.4  # MJy/sr at mid band (dedicated backgrounds)
#: Fixed slits: number (FIXED_SLIT_NUMS), width, length (arcsec), across/along offset of the
#: slit centre from the primary slit's (arcsec), full-frame ystart on NRS1.
FS_SLITS: Mapping[str, tuple[int, float, float, float, float, int]] = {
    "S200A1": (1, 0.2, 3.3, 0.0, 0.0, 1012),
    "S200A2": (2, 0.2, 3.3, -3.1, 0.0, 1068),
    "S400A1": (3, 0.4, 3.8, -7.9, 0.0, 950),
    "S1600A1": (4, 1.6, 1.6, -11.8, 0.0, 905),
    "S200B1": (5, 0.2, 3.3, 21.0, 0.0, 1160),
}
PITCH = (0.27, 0.53)  # MSA shutter pitch across / along the slitlet (arcsec)
FS_NODS = (0.0, 1.0, -1.0)  # arcsec along the slit (3-POINT-NOD)
MOS_NODS = (0.0, 1.0, -1.0)  # shutter pitches (3-SHUTTER-SLITLET)


@dataclasses.dataclass(frozen=True)
class SlitLayout:
    """Where one slit is and what it holds (the same in every exposure).

    Parameters
    ----------
    attrs : Mapping[str, Any]
        Slit attributes without the per-exposure ones (``name``, ``source_id`` ...).
    width, yunit : float
        Arcsec per slit-frame x unit (slit width) and y unit (slit length or shutter pitch).
    ny, nx, xstart, ystart : int
        Cutout shape and 1-based full-frame origin.
    wave0, dwave : float
        Wavelength at x = 0 and per column (micron).
    across, along : float
        Offset (arcsec) of the slit centre from the target at the nominal pointing.
    source : SourceTruth or None
        The point source in the slit.
    source_along : float
        Offset (arcsec, along the slit) of the source from the slit centre at nod 0.
    """

    attrs: Mapping[str, Any]
    width: float
    yunit: float
    ny: int
    nx: int
    xstart: int
    ystart: int
    wave0: float
    dwave: float
    across: float
    along: float
    source: SourceTruth | None = None
    source_along: float = 0.0


def slit_wcs(layout: SlitLayout, centre: tuple[float, float], offset: float) -> gwcs_wcs.WCS:
    """The ``detector -> slit_frame -> world`` WCS of a slit in one exposure.

    Parameters
    ----------
    layout : SlitLayout
        The slit.
    centre : tuple[float, float]
        (RA, Dec) of the target in this exposure: the tangent point (degrees).
    offset : float
        Nod offset (arcsec along the slit) of this exposure: the source moves by `offset`.

    Returns
    -------
    gwcs.WCS
        The WCS, with inverses and a bounding box.
    """
    yc = (layout.ny - 1) / 2.0
    wave = models.Scale(layout.dwave) | models.Shift(layout.wave0)
    rows = models.Shift(-yc) | models.Scale(SCALE / layout.yunit)
    det2slit = models.Mapping((0, 1, 0)) | models.Const1D(0.0) & rows & wave
    det2slit.inverse = models.Mapping((2, 1)) | wave.inverse & rows.inverse
    spatial = (models.Scale(layout.width) & models.Scale(layout.yunit)
               | models.Shift(layout.across) & models.Shift(layout.along - offset)
               | sky_projection(centre[0], centre[1], PA))
    slit2world = spatial & models.Identity(1)
    slit_frame = cf.CompositeFrame(
        [cf.Frame2D(name="slit_spatial", axes_order=(0, 1), unit=("", ""),
                    axes_names=("x_slit", "y_slit")), spectral_frame()], name="slit_frame")
    wcs = gwcs_wcs.WCS([(detector_frame(), det2slit), (slit_frame, slit2world),
                        (world_frame(), None)])
    wcs.bounding_box = ((-0.5, layout.nx - 0.5), (-0.5, layout.ny - 0.5))
    return wcs


def _wavelength_image(wcs: gwcs_wcs.WCS, shape: tuple[int, int]) -> np.ndarray:
    """The WCS wavelengths, NaN on the first and last row (outside the slit)."""
    y, x = np.indices(shape, dtype=float)
    wave = np.asarray(wcs(x, y)[2], dtype=float)
    wave[[0, -1], :] = np.nan
    return wave


def _slit_part(
    rng: np.random.Generator, layout: SlitLayout, exp: dict[str, Any], sky: Spectrum | None,
    ncosmic: int,
) -> tuple[Part, common.NoisyPart]:
    """Build one slit of one exposure; `exp` holds ``target``, ``offset``, ``moving``."""
    wcs = slit_wcs(layout, exp["target"], exp["offset"])
    shape = (layout.ny, layout.nx)
    wave = _wavelength_image(wcs, shape)
    cross = np.indices(shape)[0].astype(float)
    source = layout.source
    ypos = (layout.source_along + exp["offset"]) / layout.yunit
    centre = (layout.ny - 1) / 2.0 + ypos * layout.yunit / SCALE
    signal = common.slit_signal(wave, cross, centre, scale=SCALE,
                                spectrum=source.spectrum if source else None, sky=sky)
    point = source is not None
    omega = common.pixel_area(SCALE)["pixelarea_steradians"]
    noisy = common.noisy_part(rng, signal, wave, DETECTOR, ncosmic=ncosmic,
                              omega=omega if point else None)
    attrs = {**layout.attrs, "source_type": "POINT" if point else "EXTENDED",
             "source_xpos": 0.0, "source_ypos": float(ypos) if point else 0.0,
             "xstart": layout.xstart, "ystart": layout.ystart, "xsize": layout.nx,
             "ysize": layout.ny, "slit_ymin": -0.5 * (layout.ny - 2) * SCALE / layout.yunit,
             "slit_ymax": 0.5 * (layout.ny - 2) * SCALE / layout.yunit}
    if "shutter_state" in layout.attrs:
        attrs["shutter_state"] = _shutter_state(exp["offset"] / layout.yunit)
    unit = "MJy" if point else "MJy/sr"
    meta = {"bunit_data": unit, "bunit_err": unit, "photometry": common.pixel_area(SCALE),
            "wcsinfo": common.wcsinfo(*exp["target"], PA, 1, exp["moving"], exp["target"])}
    return Part(arrays=noisy.arrays, attrs=attrs, meta=meta, wcs=wcs), noisy


def _shutter_state(nod: float) -> str:
    """Three-shutter state string with ``x`` at the shutter holding the source."""
    states = ["1", "1", "1"]
    states[int(round(1 + nod))] = "x"
    return "".join(states)


def _exposure(
    rng: np.random.Generator, layouts: list[SlitLayout], meta: dict[str, Any],
    exp: dict[str, Any], sky: Spectrum | None,
) -> tuple[Product, ExposureTruth]:
    parts, outliers, bad = [], [], []
    for index, layout in enumerate(layouts):
        ncosmic = max(2, int(round(layout.ny * layout.nx * 1.5e-3)))
        part, noisy = _slit_part(rng, layout, exp, sky, ncosmic)
        parts.append(part)
        outliers.append(common.rows_with_part(index, noisy.hits))
        bad.append(common.rows_with_part(index, noisy.bad))
    level = float(sky(np.array([np.mean(WAVE_RANGE)]))[0]) if sky else 0.0
    truth = ExposureTruth(meta["filename"], (exp["offset"], 0.0), level,
                          np.concatenate(outliers), np.concatenate(bad))
    return Product("MultiSlitModel", meta, parts), truth


def _exposure_meta(config: SimConfig, index: int, nexp: int, exp: dict[str, Any],
                   exp_type: str, pattern: Mapping[str, Any]) -> dict[str, Any]:
    instrument = {"name": "NIRSPEC", "detector": "NRS1", "filter": "F290LP",
                  "grating": "G395M"}
    if exp_type == "NRS_FIXEDSLIT":
        instrument["fixed_slit"] = "S200A1"
    else:
        instrument.update(msa_metadata_file=f"jw{common.PROGRAM}001001_01_msa.fits",
                          msa_metadata_id=1, msa_configuration_id=1)
    subarray = {"name": "FULL", "xstart": 1, "ystart": 1, "xsize": 2048, "ysize": 2048,
                "fastaxis": 2, "slowaxis": 1}
    ra, dec = common.sky_offset(*exp["target"], *common.along_slit(PA, -exp["offset"]))
    dither = {**pattern, "position_number": index + 1, "total_points": nexp,
              "x_offset": 0.0, "y_offset": exp["offset"], "dithered_ra": exp["target"][0],
              "dithered_dec": exp["target"][1]}
    meta = common.exposure_meta(
        filename=exposure_filename(common.PROGRAM, 1, index + 1, "nrs1"), index=index,
        nexp=nexp, detector=DETECTOR, instrument=instrument, exp_type=exp_type,
        readpatt="NRSIRS2RAPID", target=exp["target"], moving=config.moving,
        subarray=subarray, dither=dither)
    meta["wcsinfo"] = common.wcsinfo(ra, dec, PA, 1, config.moving, exp["target"])
    meta["cal_step"].update(extract_2d="COMPLETE", wavecorr="COMPLETE",
                            pathloss="COMPLETE", barshadow="COMPLETE")
    if config.background == "nod":
        meta["cal_step"]["bkg_subtract"] = "COMPLETE"
    meta["photometry"] = common.pixel_area(SCALE)
    return meta


def _pointings(config: SimConfig, nexp: int, nods: tuple[float, ...], unit: float) -> list:
    """Per exposure: target position (moving targets drift 0.05 arcsec each) and nod offset."""
    out = []
    for k in range(nexp):
        drift = 0.05 * k if config.moving else 0.0
        target = common.sky_offset(*TARGET, drift * 0.6, drift * 0.8)
        out.append({"target": target, "offset": nods[k % len(nods)] * unit,
                    "moving": config.moving})
    return out


def _dataset(config: SimConfig, layouts: list[SlitLayout], exp_type: str,
             nods: tuple[float, ...], unit: float, pattern: Mapping[str, Any],
             rng: np.random.Generator) -> tuple[list[Product], list[ExposureTruth], Any]:
    nexp = config.nexp or 3
    sky = None
    if config.background == "dedicated":
        sky = background_spectrum(SPECTRUM_RANGE, level=SKY_LEVEL)
    exposures, truths = [], []
    for k, exp in enumerate(_pointings(config, nexp, nods, unit)):
        meta = _exposure_meta(config, k, nexp, exp, exp_type, pattern)
        product, truth = _exposure(rng, layouts, meta, exp, sky)
        exposures.append(product)
        truths.append(truth)
    return exposures, truths, sky


def _point_source(rng: np.random.Generator, source_id: int, name: str, radec: tuple,
                  level: float, extra: Mapping[str, Any]) -> SourceTruth:
    spectrum = source_spectrum(rng, SPECTRUM_RANGE, level=level)
    return SourceTruth(source_id, radec[0], radec[1], "POINT", spectrum, name, dict(extra))


def _fs_layouts(config: SimConfig, rng: np.random.Generator) -> list[SlitLayout]:
    names = list(FS_SLITS) if config.full else ["S200A1", "S200A2", "S400A1", "S1600A1"]
    nx = 1300 if config.full else 128
    dwave = (WAVE_RANGE[1] - WAVE_RANGE[0]) / nx
    source = _point_source(rng, 1, "SIM-TARGET", TARGET, 0.3,
                           {"slit": "S200A1", "source_xpos": 0.0, "nods_arcsec": FS_NODS})
    layouts = []
    for name in names:
        number, width, length, across, along, ystart = FS_SLITS[name]
        primary = name == "S200A1"
        attrs = {"name": name, "slitlet_id": -100 - number, "shutter_id": number - 1,
                 "source_id": 1 if primary else 10 + number, "quadrant": 5,
                 "stellarity": 1.0 if primary else 0.0, "xcen": 0, "ycen": 0,
                 "source_ra": TARGET[0] if primary else 0.0,
                 "source_dec": TARGET[1] if primary else 0.0}
        ny = int(round(length / SCALE)) + 2
        ystart_used = ystart if config.full else 1 + 40 * (number - 1)
        layouts.append(SlitLayout(attrs, width, length, ny, nx, 300, ystart_used,
                                  WAVE_RANGE[0], dwave, across, along,
                                  source if primary else None))
    return layouts


#: FS product-name template (Asn_Lv3NRSFSS): both placeholders left for the pipeline.
FS_PRODUCT = f"jw{common.PROGRAM}-o001_t001-{{source_id}}_nirspec_f290lp-g395m-{{slit_name}}"


def simulate_nrs_fs(config: SimConfig) -> SimulatedDataset:
    """Simulate a NIRSpec fixed-slit 3-point nod on S200A1 (the primary slit).

    Parameters
    ----------
    config : SimConfig
        What to simulate (``nexp`` nods, default 3; ``background`` ``dedicated`` adds sky and
        empty-sky ``_x1d`` members; ``nod`` marks the sky as removed by spec2).

    Returns
    -------
    SimulatedDataset
        The ``_cal`` exposures, any background members and the truth.
    """
    rng = config.rng()
    layouts = _fs_layouts(config, rng)
    pattern = {"primary_type": "3-POINT-NOD", "nod_type": "NONE"}
    exposures, truths, sky = _dataset(config, layouts, "NRS_FIXEDSLIT", FS_NODS, 1.0,
                                      pattern, rng)
    backgrounds = _dedicated(config, exposures, layouts, sky, rng)
    truth = Truth("nrs_fs", config.seed, config.size, (layouts[0].source,), tuple(truths),
                  config.background, sky)
    return SimulatedDataset(config, FS_PRODUCT.lower(), tuple(exposures), truth,
                            backgrounds=backgrounds)


def _mos_layouts(config: SimConfig, rng: np.random.Generator) -> list[SlitLayout]:
    nsources = config.nsources or (56 if config.full else 4)
    nbkg = max(1, nsources // 10)
    nx = 1300 if config.full else 128
    dwave = (WAVE_RANGE[1] - WAVE_RANGE[0]) / nx
    field = 90.0 if config.full else 20.0
    ny = int(round(3 * PITCH[1] / SCALE)) + 4
    layouts = []
    for i in range(nsources + nbkg):
        slitlet = 10 + 3 * i
        across, along = rng.uniform(-field, field, 2)
        wave0 = WAVE_RANGE[0] + rng.uniform(-0.05, 0.05)
        xstart = 300 + int(round((WAVE_RANGE[0] - wave0) / dwave))
        ystart = 40 + 32 * i if config.full else 1 + 24 * i
        attrs = {"name": str(slitlet), "slitlet_id": slitlet, "shutter_id": 1000 + slitlet,
                 "quadrant": 1 + i % 4, "xcen": 100 + i, "ycen": 50 + 2 * i,
                 "shutter_state": "1x1", "stellarity": 1.0, "source_alias": ""}
        source, delta = None, 0.0
        if i < nsources:
            sid = 1001 + 17 * i
            radec = common.sky_offset(*TARGET, *common.along_slit(PA, along, across))
            delta = float(rng.uniform(-0.15, 0.15)) * PITCH[1]
            source = _point_source(rng, sid, f"{common.PROGRAM}_{sid}", radec,
                                   float(rng.uniform(0.1, 0.5)),
                                   {"slit": str(slitlet), "source_xpos": 0.0,
                                    "nods_shutters": MOS_NODS})
            attrs.update(source_id=sid, source_name=source.name,
                         source_ra=radec[0], source_dec=radec[1])
        else:
            attrs.update(source_id=slitlet, source_name=f"{common.PROGRAM}_BKG{slitlet}",
                         stellarity=0.0, source_ra=0.0, source_dec=0.0)
        layouts.append(SlitLayout(attrs, PITCH[0], PITCH[1], ny, nx, xstart, ystart,
                                  wave0, dwave, across, along - delta, source, delta))
    return layouts


def simulate_nrs_mos(config: SimConfig) -> SimulatedDataset:
    """Simulate a NIRSpec MOS 3-shutter-slitlet nod with sources and background slitlets.

    Parameters
    ----------
    config : SimConfig
        What to simulate (``nsources`` sources, default 4 small / 56 full, plus one
        background slitlet per ten sources; ``nexp`` nods, default 3).

    Returns
    -------
    SimulatedDataset
        The ``_cal`` exposures and the truth.
    """
    rng = config.rng()
    layouts = _mos_layouts(config, rng)
    pattern = {"primary_type": "NONE", "nod_type": "3-SHUTTER-SLITLET"}
    exposures, truths, sky = _dataset(config, layouts, "NRS_MSASPEC", MOS_NODS, PITCH[1],
                                      pattern, rng)
    backgrounds = _dedicated(config, exposures, layouts, sky, rng)
    sources = tuple(lay.source for lay in layouts if lay.source is not None)
    truth = Truth("nrs_mos", config.seed, config.size, sources, tuple(truths),
                  config.background, sky)
    name = f"jw{common.PROGRAM}-o001_{{source_id}}_nirspec_f290lp-g395m"
    return SimulatedDataset(config, name.lower(), tuple(exposures), truth,
                            backgrounds=backgrounds)


def _dedicated(config: SimConfig, exposures: list[Product], layouts: list[SlitLayout],
               sky: Spectrum | None, rng: np.random.Generator) -> tuple[Product, ...]:
    """Background ``_x1d`` members of an empty-sky exposure (``dedicated`` only)."""
    if config.background != "dedicated" or sky is None:
        return ()
    layout = layouts[0]
    wave = layout.wave0 + layout.dwave * np.arange(layout.nx)
    npix = layout.ny - 2
    omega = common.pixel_area(SCALE)["pixelarea_steradians"]
    out = []
    for k in range(len(exposures) if exposures else 1):
        sb = sky(wave)
        err = DETECTOR.flat_error * sb + 0.01 * SKY_LEVEL / math.sqrt(npix)
        sb = sb + rng.standard_normal(sb.size) * err
        meta = dict(exposures[0].meta)
        meta.update(filename=exposure_filename(common.PROGRAM, 2, k + 1, "nrs1", "x1d"))
        meta["observation"] = {**meta["observation"], "observation_number": "002",
                               "bkgdtarg": True}
        columns = {"wavelength": wave, "surf_bright": sb, "sb_error": err,
                   "flux": sb * omega * npix * 1e6, "flux_error": err * omega * npix * 1e6,
                   "dq": np.zeros(wave.size, np.uint32), "npixels": np.full(wave.size, npix),
                   "background": np.zeros(wave.size), "bkgd_error": np.zeros(wave.size)}
        attrs = {"name": layout.attrs["name"], "source_id": 0, "source_type": "EXTENDED",
                 "dispersion_direction": 1}
        out.append(common.x1d_product(meta, attrs, columns, TARGET))
    return tuple(out)
