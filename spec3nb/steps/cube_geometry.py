"""cube_build geometry: which bands make which cube, the cube parameters and its grid.

The rules are those of jwst 3.0.0's ``cube_build`` (reference 3.9.2-3.9.5):

* exposures are listed per band: MIRI (channel digit, band) — a channel-"12" exposure under
  channel 1 and channel 2 — and NIRSpec (grating, filter);
* the cube parameters (spaxel size, wavelength step and range, regions of interest) come
  from the CUBEPAR values of the cube's bands, overridden by the user's values;
* the grid is a tangent plane at the centre of the exposures' footprints (or the user's
  centre), optionally rotated (``ifualign`` or ``cube_pa``), with an odd number of spaxels
  on each axis and the tangent point in the central spaxel.
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

STEP = "cube_build"
RAD2ARCSEC = (180.0 * 3600.0) / math.pi
DEG2RAD = math.pi / 180.0

#: MIRI channel -> (first slice, last slice, first detector column, last column, slices).
MIRI_CHANNELS: Mapping[str, tuple[int, int, int, int, int]] = {
    "1": (101, 121, 0, 512, 21), "2": (201, 217, 513, 1031, 17),
    "3": (301, 316, 513, 1031, 16), "4": (401, 412, 0, 512, 12),
}
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

Band = tuple[str, str]


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


def radec2std(crval1: float, crval2: float, ra: Any, dec: Any,
              rot_angle: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gnomonic (tangent-plane) coordinates in arcsec, xi increasing to the east-left.

    Parameters
    ----------
    crval1, crval2 : float
        Tangent point (deg).
    ra, dec : array_like
        Sky positions (deg).
    rot_angle : float, optional
        Rotation of the cube axes (deg).

    Returns
    -------
    xi, eta : numpy.ndarray
        The standard coordinates (arcsec).
    """
    ra0, dec0 = crval1 * DEG2RAD, crval2 * DEG2RAD
    radiff = np.atleast_1d(np.asarray(ra, dtype=np.float64)) * DEG2RAD - ra0
    decr = np.atleast_1d(np.asarray(dec, dtype=np.float64)) * DEG2RAD
    h = np.sin(decr) * math.sin(dec0) + np.cos(decr) * math.cos(dec0) * np.cos(radiff)
    xi = -(np.cos(decr) * np.sin(radiff) / h) * RAD2ARCSEC
    eta = (np.sin(decr) * math.cos(dec0) - np.cos(decr) * math.sin(dec0) * np.cos(radiff)) / h
    eta = eta * RAD2ARCSEC
    if rot_angle is not None:
        c, s = np.cos(-rot_angle * DEG2RAD), np.sin(-rot_angle * DEG2RAD)
        xi, eta = xi * c - eta * s, xi * s + eta * c
    return xi, eta


def wrap_ra(ra: Any) -> np.ndarray:
    """Finite RA values moved to the side of 0/360 where their median lies."""
    values = np.asarray(ra, dtype=np.float64)
    values = values[np.isfinite(values)].copy()
    median = np.nanmedian(values)
    far = np.abs(values - median) > 180.0
    if far.any():
        values[far] += -360.0 if median < 180 else 360.0
    return values


def circmean_deg(a: float, b: float) -> float:
    """Circular mean of two angles (deg), in [0, 360) (astropy's ``circmean``, as jwst)."""
    return float(circmean(np.array([a, b]) * u.deg).value % 360)


# ----------------------------------------------------------------------------- footprints


#: Points per WCS evaluation: bounds the transforms' temporaries (results are pointwise).
WCS_CHUNK = 131_072


def evaluate(wcs: Any, *args: Any) -> tuple[np.ndarray, ...]:
    """Evaluate a WCS (or transform) quietly, in chunks: NaN outside slices is expected."""
    import warnings

    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in args))
    n = arrays[0].size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if n <= WCS_CHUNK:
            return tuple(np.asarray(v, dtype=np.float64) for v in wcs(*arrays))
        flat = [a.ravel() for a in arrays]
        pieces = [wcs(*(a[i:i + WCS_CHUNK] for a in flat)) for i in range(0, n, WCS_CHUNK)]
    return tuple(np.concatenate([np.asarray(p[k], dtype=np.float64) for p in pieces])
                 .reshape(arrays[0].shape) for k in range(len(pieces[0])))


def miri_columns(wcs: Any, channel: str) -> tuple[int, int]:
    """Image columns [start, end) of a MIRI channel (binned or oversampled images too)."""
    xstart, xend = MIRI_CHANNELS[channel][2:4]
    if wcs is not None and "coordinates" in wcs.available_frames:
        xc, _ = evaluate(wcs.get_transform("detector", "coordinates"),
                         np.array([xstart, xend], dtype=float), np.zeros(2))
        return int(np.floor(xc[0])), int(np.ceil(xc[1]))
    return xstart, xend


def channel_pixels(product: Product, channel: str) -> tuple[np.ndarray, np.ndarray]:
    """Flattened (y, x) of every image pixel of a MIRI channel's detector half."""
    ny = product.part.data.shape[0]
    x0, x1 = miri_columns(product.part.wcs, channel)
    y, x = np.mgrid[:ny, x0:x1]
    return y.ravel(), x.ravel()


def ifu_pixels(product: Product) -> tuple[np.ndarray, np.ndarray]:
    """Flattened (y, x) of the pixels of a NIRSpec exposure that lie on a slice."""
    regions = product.part.arrays.get("regions")
    if regions is None:
        raise ParameterError(STEP, "inputs", f"{product.filename}: NIRSpec IFU exposure "
                             "without a slice map (REGIONS); spec3nb needs it")
    y, x = np.nonzero(np.asarray(regions) > 0)
    return y, x


def _extremes(a: np.ndarray, b: np.ndarray, lam: np.ndarray) -> tuple[float, ...]:
    """jwst's footprint: min/max of each coordinate with the other at that point."""
    i1, i2, j1, j2 = np.argmin(a), np.argmax(a), np.argmin(b), np.argmax(b)
    return (float(a[i1]), float(b[i1]), float(a[i2]), float(b[i2]),
            float(a[j1]), float(b[j1]), float(a[j2]), float(b[j2]),
            float(np.nanmin(lam)), float(np.nanmax(lam)))


def sky_pixels(product: Product, band: Band, instrument: str) -> tuple[np.ndarray, ...]:
    """(y, x, RA, Dec, λ) of every pixel of an exposure's band (MIRI channel half, or the
    NIRSpec slices)."""
    if instrument == "MIRI":
        y, x = channel_pixels(product, band[0])
        regions = product.part.arrays.get("regions")
        if regions is not None and regions.shape == product.part.data.shape:
            # pixels between slices map to NaN: skip their (costly) WCS evaluation; columns
            # beyond the image (a binned image's -1) are evaluated, as jwst does
            nx = regions.shape[1]
            inside = (x >= 0) & (x < nx)
            on = ~inside | (np.asarray(regions)[y, np.clip(x, 0, nx - 1)] != 0)
            y, x = y[on], x[on]
    else:
        y, x = ifu_pixels(product)
    ra, dec, lam = evaluate(product.part.wcs, x.astype(float), y.astype(float))
    return y, x, ra, dec, lam


def find_corners(product: Product, band: Band, instrument: str,
                 pixels: tuple[np.ndarray, ...] | None = None) -> tuple[float, ...]:
    """Sky footprint of an exposure in one band: 4 (RA, Dec) corners and the λ range."""
    _, _, ra, dec, lam = pixels if pixels is not None else sky_pixels(product, band,
                                                                      instrument)
    valid = np.isfinite(ra) & np.isfinite(dec)
    if not valid.any():
        raise ParameterError(STEP, "inputs", f"{product.filename}: no pixel of band "
                             f"{'/'.join(band)} maps to the sky")
    corners = list(_extremes(wrap_ra(ra[valid]), dec[valid], lam[valid]))
    for i in (0, 2, 4, 6):
        corners[i] %= 360
    return tuple(corners)


def _s_region_corners(product: Product) -> tuple[float, ...] | None:
    region = product.get("wcsinfo.s_region")
    spectral = product.get("wcsinfo.spectral_region")
    if not region or spectral is None:
        return None
    s = str(region).split(" ")
    values = [float(s[i]) for i in range(3, 11)]
    return (*values, float(spectral[0]), float(spectral[1]))


def offset_radec(ra: Any, dec: Any, offset: tuple[float, float] | None) -> tuple[Any, Any]:
    """Apply an (RA, Dec) offset in arcsec as jwst does (``spherical_offsets_by``)."""
    if offset is None:
        return ra, dec
    from astropy.coordinates import SkyCoord

    moved = SkyCoord(ra, dec, unit="deg").spherical_offsets_by(offset[0] * u.arcsec,
                                                              offset[1] * u.arcsec)
    return moved.ra.value, moved.dec.value


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
        # jwst steps 5 mm along the slice (its slicer frame is in metres); 1 arcsec otherwise
        step = (0.0, 0.005 if _slicer_in_metres(wcs) else 1.0)
    lam_med = float(np.nanmedian(lam))
    ra1, dec1, _ = evaluate(to_sky, 0.0, 0.0, lam_med)
    ra2, dec2, _ = evaluate(to_sky, step[0], step[1], lam_med)
    dra, ddec = (ra2 - ra1) * np.cos(dec1 * np.pi / 180.0), dec2 - dec1
    return float(90 + np.arctan2(dra, ddec) * 180.0 / np.pi)


def _slicer_in_metres(wcs: Any) -> bool:
    try:
        frame = wcs.slicer
        return str(frame.unit[0]) in ("m", "meter")
    except (AttributeError, IndexError, TypeError):
        return True


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
