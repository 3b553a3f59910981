"""cube_build geometry: which bands make which cube, the cube parameters and its grid.

The rules are those of jwst 3.0.0's ``cube_build`` (reference 3.9.2-3.9.5):

* exposures are listed per band: MIRI (channel digit, band) — a channel-"12" exposure under
  channel 1 and channel 2 — and NIRSpec (grating, filter);
* the cube parameters (spaxel size, wavelength step and range, regions of interest) come
  from the CUBEPAR values of the cube's bands, overridden by the user's values;
* the grid is a tangent plane at the centre of the exposures' footprints (or the user's
  centre), optionally rotated (``ifualign`` or ``cube_pa``), with an odd number of spaxels
  on each axis and the tangent point in the central spaxel.

The pixels' sky positions, footprints and the tangent-plane projection are in
:mod:`cube_sky` (its names stay importable from here).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from astropy import units as u
from astropy.stats import circmean

from spec3nb.datamodels.products import Product
from spec3nb.datamodels.ref_cubepar import BandPars, CubePars
from spec3nb.errors import ParameterError

# the pixel and sky helpers live in cube_sky; the names other modules take from here remain
from spec3nb.steps.cube_sky import (  # noqa: F401
    STEP,
    WCS_CHUNK,
    Band,
    channel_pixels,
    evaluate,
    ifu_pixels,
    offset_radec,
    radec2std,
    sky_pixels,
    wrap_ra,
)

MIRI_BANDS = ("short", "medium", "long", "short-medium", "short-long", "medium-short",
              "medium-long", "long-short", "long-medium")
#: NIRSpec (grating, filter) pairs in the order jwst scans them.
NIRSPEC_BANDS = (
    ("g140m", "f070lp"), ("g140h", "f070lp"), ("g140m", "f100lp"), ("g140h", "f100lp"),
    ("g235m", "f170lp"), ("g235h", "f170lp"), ("g395m", "f290lp"), ("g395h", "f290lp"),
    ("prism", "clear"), ("prism", "opaque"), ("g140m", "opaque"), ("g140h", "opaque"),
    ("g235m", "opaque"), ("g235h", "opaque"), ("g395m", "opaque"), ("g395h", "opaque"),
)
_RESOLUTION = {"prism": "prism", "g140m": "med", "g235m": "med", "g395m": "med",
               "g140h": "high", "g235h": "high", "g395h": "high"}


# ----------------------------------------------------------------------------- bands


def instrument_of(inputs: Sequence[Product]) -> str:
    """The instrument (``MIRI`` or ``NIRSPEC``) of the inputs; mixed inputs are refused."""
    names = {str(p.get("instrument.name", "")).upper() for p in inputs}
    if len(names) != 1 or not names <= {"MIRI", "NIRSPEC"}:
        raise ParameterError(STEP, "inputs", f"IFU exposures of one instrument (MIRI or "
                             f"NIRSpec) are needed, got {sorted(names)}")
    return names.pop()


def band_files(inputs: Sequence[Product], instrument: str) -> dict[Band, list[int]]:
    """Indices of the inputs covering each band (MIRI: each channel digit separately)."""
    files: dict[Band, list[int]] = {}
    for i, product in enumerate(inputs):
        if instrument == "MIRI":
            channel = str(product.get("instrument.channel", ""))
            band = str(product.get("instrument.band", "")).lower()
            keys = [(c, band) for c in channel]
        else:
            keys = [(str(product.get("instrument.grating", "")).lower(),
                     str(product.get("instrument.filter", "")).lower())]
        for key in keys:
            files.setdefault(key, []).append(i)
    return files


def select_bands(files: Mapping[Band, list[int]], instrument: str,
                 selection: Mapping[str, str]) -> list[Band]:
    """The bands in the data that the user's selection keeps, in jwst's order.

    Parameters
    ----------
    files : Mapping[Band, list[int]]
        Inputs per band (:func:`band_files`).
    instrument : str
        ``MIRI`` or ``NIRSPEC``.
    selection : Mapping[str, str]
        The ``channel``, ``band``, ``grating`` and ``filter`` parameters (``all`` for any).

    Returns
    -------
    list[Band]
        The bands of the cubes.
    """
    def chosen(name: str, value: str) -> bool:
        wanted = selection.get(name, "all").lower()
        return wanted == "all" or value == wanted

    if instrument == "MIRI":
        order = [(c, b) for c in "1234" for b in MIRI_BANDS]
        bands = [k for k in order if files.get(k) and chosen("channel", k[0])
                 and chosen("band", k[1])]
        what = "channel/band"
    else:
        grating, filt = (selection.get(k, "all").lower() for k in ("grating", "filter"))
        if (grating == "all") != (filt == "all"):
            raise ParameterError(STEP, "grating" if filt == "all" else "filter",
                                 "NIRSpec cubes need both grating and filter, or neither")
        bands = [k for k in NIRSPEC_BANDS if files.get(k) and chosen("grating", k[0])
                 and chosen("filter", k[1])]
        what = "grating/filter"
    if not bands:
        raise ParameterError(STEP, "channel" if instrument == "MIRI" else "grating",
                             f"the selection {dict(selection)} matches no {what} of the data "
                             f"(present: {sorted(files)})")
    return bands


def cube_bands(bands: Sequence[Band], instrument: str, output_type: str) -> list[list[Band]]:
    """Split the bands into cubes as ``output_type`` says (band, channel, grating, multi/user)."""
    if output_type in ("multi", "user"):
        return [list(bands)]
    if output_type == "channel" and instrument == "MIRI":
        # jwst groups with an unordered set of channels: order them for a stable result
        channels = sorted({b[0] for b in bands})
        return [[b for b in bands if b[0] == c] for c in channels]
    return [[b] for b in bands]


def cube_suffix(bands: Sequence[Band], instrument: str, coord_system: str) -> str:
    """The cube-name suffix jwst gives: ``ch1-short``, ``ch1-2-shortmedium``, ``g395h-f290lp``."""
    if instrument == "MIRI":
        channels = list(dict.fromkeys(b[0] for b in bands))
        names = "".join(sorted({b[1] for b in bands})[::-1])
        suffix = "ch" + "-".join(channels) + "-" + names
    else:
        suffix = "-".join(f"{g}-{f}" for g, f in bands).lower()
    return suffix + ("_internal" if coord_system == "internal_cal" else "")


# ----------------------------------------------------------------------------- parameters


@dataclasses.dataclass(frozen=True)
class CubeSetup:
    """The parameters of one cube (jwst's ``determine_cube_parameters``)."""

    instrument: str
    bands: tuple[Band, ...]
    files: tuple[tuple[int, ...], ...]
    weighting: str
    interpolation: str
    coord_system: str
    linear: bool
    spatial_size: float
    spectral_size: float | None
    wavemin: float
    wavemax: float
    rois: float
    roiw: float
    weight_power: float | None
    softrad: float
    scalerad: float
    tables: Mapping[str, np.ndarray] | None = None

    @property
    def num_files(self) -> int:
        """Exposures summed over bands (an exposure in two bands counts twice)."""
        return sum(len(f) for f in self.files)


def _band_values(pars: BandPars, weighting: str) -> tuple[float, ...]:
    nan = float("nan")
    if weighting == "msm" and pars.msm is not None:
        rois, roiw, power, softrad = pars.msm
        return rois, roiw, power, softrad, nan
    if weighting == "emsm" and pars.emsm is not None:
        rois, roiw, scalerad = pars.emsm
        return rois, roiw, nan, nan, scalerad
    return nan, nan, nan, nan, nan


def _table(cubepars: CubePars, instrument: str, bands: Sequence[Band],
           weighting: str) -> Mapping[str, np.ndarray]:
    kind = {"msm": "msm", "emsm": "emsm"}.get(weighting, "driz")
    name = f"multichannel_{kind}" if instrument == "MIRI" else \
        f"{_RESOLUTION.get(bands[-1][0], 'high')}_{kind}"
    if name not in cubepars.tables:
        raise ParameterError(STEP, "linear_wave", f"the cubepar reference "
                             f"({cubepars.source}) has no {name} table for a non-linear cube")
    return cubepars.tables[name]


def _nonlinear_tables(table: Mapping[str, np.ndarray], wavemin: float, wavemax: float,
                      num_files: int) -> dict[str, np.ndarray]:
    """Rows of the multi-band table covering [wavemin, wavemax], one row further outward."""
    wave = np.asarray(table["wavelength"], dtype=np.float64)
    imin = int(np.abs(wave - wavemin).argmin())
    imax = int(np.abs(wave - wavemax).argmin())
    if imin > 1 and wave[imin] > wavemin:
        imin -= 1
    if imax < wave.size - 1 and wavemax > wave[imax]:
        imax += 1
    rows = slice(imin, imax + 1)
    n = imax - imin + 1
    out = {}
    for key, column in (("wavelength", "wavelength"), ("rois", "roispatial"),
                        ("roiw", "roispectral"), ("power", "power"), ("softrad", "softrad"),
                        ("scalerad", "scalerad")):
        values = table.get(column)
        out[key] = (np.asarray(values[rows], dtype=np.float64) if values is not None
                    else np.full(n, np.nan))
    if num_files < 4:  # the table ROIs assume a 4-point dither (scaled for every weighting)
        out["rois"] = out["rois"] * 1.5
    return out


def cube_setup(bands: Sequence[Band], files: Mapping[Band, list[int]], cubepars: CubePars,
               instrument: str, params: Mapping[str, Any]) -> CubeSetup:
    """Determine the parameters of the cube made of `bands` (jwst's rules, reference 3.9.4).

    Parameters
    ----------
    bands : Sequence[Band]
        The cube's bands.
    files : Mapping[Band, list[int]]
        Inputs per band.
    cubepars : CubePars
        The CUBEPAR values.
    instrument : str
        ``MIRI`` or ``NIRSPEC``.
    params : Mapping[str, Any]
        The step parameters (after the coordinate-system rules).

    Returns
    -------
    CubeSetup
        The cube's parameters.
    """
    weighting = params["weighting"]
    rows = [cubepars.band(b) for b in bands]
    values = np.array([_band_values(r, weighting) for r in rows])  # rois roiw power soft scal
    spaxel = np.array([r.spaxelsize for r in rows])
    spectral = np.array([r.spectralstep for r in rows])
    pick = 0 if np.all(spaxel == spaxel[0]) else int(np.argmin(spaxel))
    spatial_size, spatial_roi = float(spaxel[pick]), float(values[pick, 0])
    wavemin = params["wavemin"] if params["wavemin"] is not None else \
        float(min(r.wavemin for r in rows))
    wavemax = params["wavemax"] if params["wavemax"] is not None else \
        float(max(r.wavemax for r in rows))
    spectral_size = wave_roi = power = softrad = scalerad = None
    if params["scalew"] != 0:
        spectral_size = params["scalew"]
        wave_roi, power, softrad, scalerad = (float(np.min(values[:, i])) for i in (1, 2, 3, 4))
    elif np.all(spectral == spectral[0]):
        spectral_size = float(spectral[0])
        wave_roi, power, softrad, scalerad = (float(values[0, i]) for i in (1, 2, 3, 4))
    num_files = sum(len(files[b]) for b in bands)
    linear = params["linear_wave"]
    tables = None
    if not linear:
        tables = _nonlinear_tables(_table(cubepars, instrument, bands, weighting),
                                   wavemin, wavemax, num_files)
    rois = params["rois"]
    if rois == 0.0:
        rois = spatial_roi
        if num_files < 4 and weighting != "emsm":
            rois *= 1.5  # the reference ROIs assume a 4-point dither
    setup = CubeSetup(
        instrument=instrument, bands=tuple(bands),
        files=tuple(tuple(files[b]) for b in bands), weighting=weighting,
        interpolation=params["interpolation"], coord_system=params["coord_system"],
        linear=linear,
        spatial_size=params["scalexy"] if params["scalexy"] != 0 else spatial_size,
        spectral_size=spectral_size, wavemin=float(wavemin), wavemax=float(wavemax),
        rois=rois, roiw=params["roiw"] if params["roiw"] != 0 else wave_roi,
        weight_power=params["weight_power"] if params["weight_power"] != 0 else power,
        softrad=softrad, scalerad=scalerad, tables=tables)
    _check_setup(setup)
    return setup


def internal_setup(cube: Sequence[Band], files: Mapping[Band, list[int]],
                   cubepars: CubePars, params: Mapping[str, Any]) -> CubeSetup:
    """An internal_cal cube's parameters (jwst's ``determine_cube_parameters_internal``).

    Parameters
    ----------
    cube : Sequence[Band]
        The cube's (single) NIRSpec band.
    files : Mapping[Band, list[int]]
        Inputs per band.
    cubepars : CubePars
        The CUBEPAR values.
    params : Mapping[str, Any]
        The step parameters.

    Returns
    -------
    CubeSetup
        The cube's parameters (emsm weighting on the slicer plane, a linear grid).
    """
    band = cubepars.band(cube[0])
    wavemin = params["wavemin"] if params["wavemin"] is not None else band.wavemin
    wavemax = params["wavemax"] if params["wavemax"] is not None else band.wavemax
    step = params["scalew"] if params["scalew"] != 0 else band.spectralstep
    if not wavemax > wavemin:
        raise ParameterError(STEP, "wavemin", f"empty wavelength range [{wavemin}, {wavemax}]")
    nan = float("nan")
    return CubeSetup(
        instrument="NIRSPEC", bands=tuple(cube), files=(tuple(files[cube[0]]),),
        weighting="emsm", interpolation="area", coord_system="internal_cal", linear=True,
        spatial_size=params["scalexy"] or band.spaxelsize, spectral_size=float(step),
        wavemin=float(wavemin), wavemax=float(wavemax), rois=0.0, roiw=0.0,
        weight_power=0.0, softrad=nan, scalerad=nan)


def _check_setup(setup: CubeSetup) -> None:
    """Refuse NaN or missing essential parameters (jwst's IncorrectParameterError cases)."""
    problems = []

    def bad(value: Any) -> bool:
        return value is None or (not isinstance(value, np.ndarray) and np.isnan(value))

    if setup.linear:
        if setup.spectral_size is None:
            problems.append("the bands have different SPECTRALSTEP values: give scalew "
                            "or linear_wave=False")
        if setup.interpolation == "pointcloud":
            problems += [f"{n} is NaN (missing from the cubepar reference)"
                         for n, v in (("rois", setup.rois), ("roiw", setup.roiw)) if bad(v)]
        if setup.weighting == "msm":
            problems += [f"{n} is NaN" for n, v in (("weight_power", setup.weight_power),
                                                    ("softrad", setup.softrad)) if bad(v)]
        if setup.weighting == "emsm" and bad(setup.scalerad):
            problems.append("scalerad is NaN (missing from the cubepar reference)")
    else:
        names = ["wavelength"]
        if setup.interpolation == "pointcloud":
            names += ["rois", "roiw"]
        names += {"msm": ["softrad", "power"], "emsm": ["scalerad"]}.get(setup.weighting, [])
        problems += [f"the {n} table is all NaN" for n in names
                     if np.isnan(setup.tables[n]).all()]
    if not setup.wavemax > setup.wavemin:
        problems.append(f"empty wavelength range [{setup.wavemin}, {setup.wavemax}]")
    if problems:
        name = "wavemin" if "wavelength range" in problems[0] else "override_cubepar"
        raise ParameterError(STEP, name, "; ".join(problems))


# ----------------------------------------------------------------------------- projection


def circmean_deg(a: float, b: float) -> float:
    """Circular mean of two angles (deg), in [0, 360) (astropy's ``circmean``, as jwst)."""
    return float(circmean(np.array([a, b]) * u.deg).value % 360)


# ----------------------------------------------------------------------------- grid


@dataclasses.dataclass(frozen=True)
class CubeGrid:
    """The cube's output grid (spaxel and plane centres) and FITS WCS values."""

    crval1: float
    crval2: float
    crpix1: float
    crpix2: float
    cdelt1: float
    cdelt2: float
    crval3: float
    crpix3: float
    cdelt3: float | None
    rot_angle: float | None
    xcoord: np.ndarray
    ycoord: np.ndarray
    zcoord: np.ndarray
    cdelt3_normal: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        """(nwave, ny, nx)."""
        return self.zcoord.size, self.ycoord.size, self.xcoord.size


def rotation_angle(setup: CubeSetup, inputs: Sequence[Product],
                   cube_pa: float | None) -> float | None:
    """Rotation of the cube axes: ifualign from the first exposure's slices, or cube_pa."""
    if setup.coord_system == "skyalign":
        return cube_pa
    if setup.coord_system != "ifualign":
        return None
    band = setup.bands[0]
    product = inputs[setup.files[0][0]]
    wcs = product.part.wcs
    first = wcs.available_frames[0]
    if setup.instrument == "MIRI":
        y, x = channel_pixels(product, band[0])
        _, _, lam = evaluate(wcs.get_transform(first, "alpha_beta"), x.astype(float),
                             y.astype(float))
        to_sky = wcs.get_transform("alpha_beta", wcs.output_frame.name)
        step = (2.0, 0.0)
    else:
        y, x = ifu_pixels(product)
        _, _, lam = evaluate(wcs.get_transform(first, "slicer"), x.astype(float),
                             y.astype(float))
        to_sky = wcs.get_transform("slicer", wcs.output_frame.name)
        # jwst steps 0.005 along the slice whatever the frame's unit (5 mm in its own
        # frame, in metres; 0.005 arcsec in the simulator's)
        step = (0.0, 0.005)
    lam_med = float(np.nanmedian(lam))
    ra1, dec1, _ = evaluate(to_sky, 0.0, 0.0, lam_med)
    ra2, dec2, _ = evaluate(to_sky, step[0], step[1], lam_med)
    dra, ddec = (ra2 - ra1) * np.cos(dec1 * np.pi / 180.0), dec2 - dec1
    return float(90 + np.arctan2(dra, ddec) * 180.0 / np.pi)


def cube_grid(setup: CubeSetup, corners: np.ndarray, params: Mapping[str, Any],
              rot_angle: float | None) -> CubeGrid:
    """Lay out the cube on the tangent plane (jwst's ``set_geometry``).

    Parameters
    ----------
    setup : CubeSetup
        The cube parameters.
    corners : numpy.ndarray
        (n, 2) RA/Dec corners of the footprints of every exposure of every band.
    params : Mapping[str, Any]
        ``ra_center``, ``dec_center``, ``nspax_x``, ``nspax_y``.
    rot_angle : float or None
        Rotation of the cube axes (deg).

    Returns
    -------
    CubeGrid
        The grid.
    """
    ra = wrap_ra(corners[:, 0])
    dec = corners[:, 1]
    crval1 = params["ra_center"] if params["ra_center"] is not None else \
        circmean_deg(float(np.min(ra)), float(np.max(ra)))
    crval2 = params["dec_center"] if params["dec_center"] is not None else \
        float((np.min(dec) + np.max(dec)) / 2.0)
    cdelt = setup.spatial_size
    xi, eta = radec2std(crval1, crval2, ra, dec, rot_angle)
    na = math.ceil(max(abs(np.min(xi)), abs(np.max(xi))) / cdelt) + 1
    nb = math.ceil(max(abs(np.min(eta)), abs(np.max(eta))) / cdelt) + 1
    if params["nspax_x"] is not None:
        na = int(params["nspax_x"] / 2)
    if params["nspax_y"] is not None:
        nb = int(params["nspax_y"] / 2)
    xstart = 0.0 - na * cdelt - cdelt / 2.0 + cdelt / 2.0
    ystart = 0.0 - nb * cdelt - cdelt / 2.0 + cdelt / 2.0
    xcoord = np.arange(xstart, xstart + (2 * na + 1) * cdelt, cdelt)[: 2 * na + 1]
    ycoord = np.arange(ystart, ystart + (2 * nb + 1) * cdelt, cdelt)[: 2 * nb + 1]
    if setup.linear:
        cdelt3 = setup.spectral_size
        nz = int(math.ceil((setup.wavemax - setup.wavemin) / cdelt3))
        lam_max = setup.wavemin + nz * cdelt3
        zstart = setup.wavemin + cdelt3 / 2.0
        zcoord = np.arange(zstart, lam_max, cdelt3)[:nz]
        crval3 = zstart
    else:
        cdelt3 = None
        zcoord = np.asarray(setup.tables["wavelength"], dtype=np.float64)
        crval3 = float(zcoord[0])
    if zcoord.size < 2:
        raise ParameterError(STEP, "wavemin", f"the wavelength range [{setup.wavemin}, "
                             f"{setup.wavemax}] gives {zcoord.size} plane(s); 2 are needed")
    normal = np.empty(zcoord.size)
    normal[:-1] = np.diff(zcoord)
    normal[-1] = normal[-2]
    return CubeGrid(float(crval1), float(crval2), float(na) + 1.0, float(nb) + 1.0, cdelt,
                    cdelt, float(crval3), 1.0, cdelt3, rot_angle, xcoord, ycoord, zcoord,
                    normal)
