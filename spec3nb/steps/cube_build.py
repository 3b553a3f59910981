"""cube_build: combine IFU exposures (MIRI MRS, NIRSpec IFU) into 3-D spectral cubes.

The step follows jwst 3.0.0's ``CubeBuildStep`` (reference 3.9): the exposures are listed per
band, one cube is made per band (or channel, grating, or one for everything), each on a
tangent-plane grid covering all its exposures, and every good detector pixel is spread over
the voxels within its region of influence with the ``drizzle``, ``emsm`` or ``msm`` weights.
The cube parameters and grid live in :mod:`cube_geometry`, the pixels' sky positions and
footprints in :mod:`cube_sky`, the pixel mapping in :mod:`cube_mapping`, the
weights in :mod:`cube_weights`, the DQ plane in :mod:`cube_dq`; this module holds the step,
its parameters and the output product (``IFUCubeModel`` with SCI, ERR, DQ, WMAP and the
WCS-TABLE wavelength table).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from astropy import coordinates as coords
from astropy import units as u
from gwcs import coordinate_frames as cf
from gwcs import utils as gwutils
from gwcs import wcs as gwcs_wcs

from spec3nb.datamodels import meta as metatools
from spec3nb.datamodels.blend import HDRTAB, blend
from spec3nb.datamodels.dq import DO_NOT_USE
from spec3nb.datamodels.products import Part, Product
from spec3nb.datamodels.ref_cubepar import CubePars
from spec3nb.datamodels.references import NOT_APPLICABLE
from spec3nb.errors import ParameterError
from spec3nb.params import BOOL, CHOICE, FLOAT, INT, PATH, STR, Param
from spec3nb.steps import cube_dq, cube_geometry, cube_internal, cube_mapping, cube_weights
from spec3nb.steps.cube_geometry import STEP, CubeGrid, CubeSetup
from spec3nb.steps.cube_sky import find_corners, offset_radec, s_region_corners, sky_pixels
from spec3nb.steps.cubepar_defaults import default_cubepar
from spec3nb.steps.resample_spec import s_region
from spec3nb.steps.spec import COMPLETE, StepOutput, StepResult, StepSpec

log = logging.getLogger(__name__)

#: Default of the ``max_voxels`` parameter: the largest cube built (voxels); above it the
#: step warns and refuses instead of exhausting memory (jwst issue #9835 proposes warning
#: above 1e8; a typical single-band MRS cube has ~1e6 voxels, a multi-channel one ~3e7).
MAX_VOXELS = 100_000_000

#: Threads building cubes side by side (None: one per CPU; 1 builds them in turn).
CUBE_THREADS: int | None = None

#: Pixel solid angle conversion jwst writes (arcsec^2 -> sr, rounded as in jwst).
ARCSEC2_SR = 2.3504e-11
_WCS_DROP = ("v2_ref", "v3_ref", "ra_ref", "dec_ref", "roll_ref", "v3yangle", "vparity")


# ----------------------------------------------------------------------------- parameters


def _effective(params: dict[str, Any]) -> dict[str, Any]:
    """Apply jwst's parameter rules (coordinate system, weighting, odd nspax, user cube)."""
    p = dict(params)
    if p["coord_system"] == "world":
        p["coord_system"] = "skyalign"
    if p["coord_system"] == "internal_cal":
        p.update(weighting="emsm", output_type="band", linear_wave=True)
    p["interpolation"] = "drizzle" if p["weighting"] == "drizzle" else "pointcloud"
    for key in ("nspax_x", "nspax_y"):
        if p[key] is not None and p[key] % 2 == 0:
            p[key] += 1  # the tangent point sits in the central spaxel
    # jwst 3.0.0 marks a channel/band/grating/filter selection as a "user" cube and then
    # overwrites that with output_type, so a selection only narrows the bands.
    if p["output_type"] == "multi":
        p["linear_wave"] = False
    return p


def read_offsets(path: str | None, inputs: Sequence[Product]) -> dict[str, tuple] | None:
    """Per exposure file name, the (RA, Dec) offset in arcsec from an ``offset_file``.

    The file is an ASDF tree with lists ``filename``, ``raoffset``, ``decoffset`` of equal
    length and ``units: arcsec``; every input must be listed.
    """
    if path is None:
        return None
    import asdf  # the one file this pure step may read: the user's offsets

    try:
        with asdf.open(path) as af:
            names = [str(n) for n in af["filename"]]
            ra = [float(v) for v in af["raoffset"]]
            dec = [float(v) for v in af["decoffset"]]
            units = str(af.tree.get("units", "arcsec"))
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise ParameterError(STEP, "offset_file", f"cannot read {path}: {exc}") from None
    if not len(names) == len(ra) == len(dec):
        raise ParameterError(STEP, "offset_file", f"{path}: filename, raoffset and "
                             "decoffset must have the same length")
    if units != "arcsec":
        raise ParameterError(STEP, "offset_file", f"{path}: units must be arcsec, not {units}")
    missing = [p.filename for p in inputs if p.filename not in names]
    if missing:
        raise ParameterError(STEP, "offset_file", f"{path} lists no offset for {missing}")
    return {n: (r, d) for n, r, d in zip(names, ra, dec, strict=True)}


def _cubepars(references: Mapping[str, Any], instrument: str) -> CubePars:
    ref = references.get("cubepar")
    if ref is None:
        return default_cubepar(instrument)
    if ref == NOT_APPLICABLE:
        raise ParameterError(STEP, "override_cubepar", "cube_build needs cube parameters; "
                             "give a CUBEPAR file or leave it unset for the built-in ones")
    if ref.instrument != instrument:
        raise ParameterError(STEP, "override_cubepar", f"the cubepar reference "
                             f"({ref.source}) is for {ref.instrument}, the data are {instrument}")
    return ref


def _check_inputs(inputs: Sequence[Product]) -> None:
    if not inputs:
        raise ParameterError(STEP, "inputs", "no IFU exposure given")
    for product in inputs:
        if product.model_type != "IFUImageModel":
            raise ParameterError(STEP, "inputs", f"{product.filename}: cube_build takes "
                                 f"IFUImageModel exposures, not {product.model_type}")
        if product.get("cal_step.assign_wcs") != "COMPLETE" or product.part.wcs is None:
            raise ParameterError(STEP, "inputs", f"{product.filename}: assign_wcs has not "
                                 "been run (no WCS)")


# ----------------------------------------------------------------------------- one cube


def _corners(setup: CubeSetup, inputs: Sequence[Product], offsets: dict | None,
             use_region: bool, cache: dict | None = None) -> np.ndarray:
    """RA/Dec footprint corners of every exposure of every band of the cube (see
    :func:`_footprint`)."""
    return _footprint(setup, inputs, offsets, use_region, cache)[0]


def _footprint(setup: CubeSetup, inputs: Sequence[Product], offsets: dict | None,
               use_region: bool, cache: dict | None = None
               ) -> tuple[np.ndarray, tuple[float, float]]:
    """RA/Dec footprint corners of every exposure of every band of the cube, and the
    wavelength range the exposures cover.

    Pixels mapped to the sky for the footprint are kept in `cache` (by input index and
    band) for the weighting, which then need not evaluate the WCS again.
    """
    corners, waves = [], []
    for band, files in zip(setup.bands, setup.files, strict=True):
        for i in files:
            product = inputs[i]
            values = s_region_corners(product) if use_region else None
            if values is None:
                pixels = sky_pixels(product, band, setup.instrument)
                if cache is not None:
                    cache[(i, band)] = pixels
                values = find_corners(product, band, setup.instrument, pixels)
            ra, dec = np.array(values[0:8:2]), np.array(values[1:8:2])
            if offsets is not None:
                ra, dec = offset_radec(ra, dec, offsets[product.filename])
            corners.append(np.column_stack([ra, dec]))
            waves += [float(values[8]), float(values[9])]
    return np.concatenate(corners), (float(np.nanmin(waves)), float(np.nanmax(waves)))


def _check_overlap(setup: CubeSetup, data_range: tuple[float, float]) -> None:
    """Refuse a cube whose wavelength range misses the exposures' wavelengths."""
    lo, hi = data_range
    if hi < setup.wavemin or lo > setup.wavemax:
        name = "/".join("-".join(b) for b in setup.bands)
        raise ParameterError(STEP, "wavemin", f"the {name} cube's wavelength range "
                             f"[{setup.wavemin}, {setup.wavemax}] um is outside the data "
                             f"({lo:.4f}-{hi:.4f} um): no pixel would reach it")


def _use_s_region(setup: CubeSetup, params: Mapping[str, Any], output_type: str,
                  inputs: Sequence[Product]) -> bool:
    """Whether jwst takes the footprint from S_REGION instead of mapping every pixel."""
    if setup.coord_system != "skyalign" or params["cube_pa"] is not None:
        return False
    if setup.instrument == "MIRI" and output_type != "multi" and \
            any(b[0] in ("1", "3") for b in setup.bands):
        return False
    return not any(inputs[i].get("target.type") == "MOVING" for f in setup.files for i in f)


def _accumulate(setup: CubeSetup, grid: CubeGrid, inputs: Sequence[Product],
                offsets: dict | None, flag_dq: bool, cache: dict
                ) -> tuple[cube_weights.Accumulator, np.ndarray]:
    """Map every exposure of every band onto the grid and sum the weighted fluxes."""
    nz, ny, nx = grid.shape
    acc = cube_weights.Accumulator.zeros(nz * ny * nx)
    fov = np.zeros(nz * ny * nx, dtype=np.uint8)
    for band, files in zip(setup.bands, setup.files, strict=True):
        for i in files:
            product = inputs[i]
            offset = offsets[product.filename] if offsets is not None else None
            samples = cube_mapping.map_samples(product, band, setup, grid, offset,
                                               cache.pop((i, band), None))
            if samples is None:
                log.warning("cube_build: no valid data in %s for band %s", product.filename,
                            "/".join(band))
                continue
            if setup.interpolation == "drizzle":
                cube_weights.drizzle(samples, grid.xcoord, grid.ycoord, grid.zcoord,
                                     grid.cdelt3_normal, grid.cdelt1, grid.cdelt2, acc)
                roiw_ave = float(np.nanmean(grid.cdelt3_normal))
            else:
                cube_weights.pointcloud(samples, grid.xcoord, grid.ycoord, grid.zcoord,
                                        grid.cdelt3_normal, grid.cdelt1, grid.cdelt2,
                                        setup.weighting, acc)
                roiw_ave = float(np.mean(samples.roiw))
            if flag_dq and setup.instrument == "NIRSPEC":
                fov |= cube_dq.nirspec_fov(samples, grid.xcoord, grid.ycoord, grid.zcoord,
                                           grid.cdelt1, grid.cdelt2, roiw_ave)
    return acc, fov


def build_cube(setup: CubeSetup, inputs: Sequence[Product], params: Mapping[str, Any],
               offsets: dict | None, max_voxels: int = MAX_VOXELS) -> tuple[Product, str]:
    """Build one cube and return it with its name suffix (``ch1-short``, ``g395h-f290lp``).

    Parameters
    ----------
    setup : CubeSetup
        The cube's parameters.
    inputs : Sequence[Product]
        All exposures (the setup refers to them by index).
    params : Mapping[str, Any]
        The effective step parameters.
    offsets : dict or None
        Per-file RA/Dec offsets.
    max_voxels : int
        Refuse cubes larger than this.

    Returns
    -------
    tuple[Product, str]
        The ``IFUCubeModel`` product and its suffix.
    """
    rot = cube_geometry.rotation_angle(setup, inputs, params["cube_pa"])
    cache: dict = {}
    corners, data_range = _footprint(
        setup, inputs, offsets, _use_s_region(setup, params, params["output_type"], inputs),
        cache)
    _check_overlap(setup, data_range)
    grid = cube_geometry.cube_grid(setup, corners, params, rot)
    _check_size(setup, grid.shape, max_voxels)
    acc, fov = _accumulate(setup, grid, inputs, offsets, not params["skip_dqflagging"],
                           cache)
    return _finish(setup, grid, inputs, acc, fov, _wcsinfo(setup, grid))


def _check_size(setup: CubeSetup, shape: tuple[int, ...], max_voxels: int) -> None:
    """Warn and refuse a cube above the voxel limit, before any of its memory is taken."""
    voxels = int(np.prod(shape))
    if voxels > max_voxels:
        name = "/".join("-".join(b) for b in setup.bands)
        message = (f"the {name} cube would have {tuple(shape)} = {voxels:,} voxels, above the "
                   f"limit of {max_voxels:,} (max_voxels); use larger scalexy/scalew, a "
                   "narrower wavemin/wavemax, or raise max_voxels")
        log.warning("cube_build: %s", message)
        raise ParameterError(STEP, "max_voxels", message)


def _finish(setup: CubeSetup, grid: CubeGrid, inputs: Sequence[Product],
            acc: cube_weights.Accumulator, fov: np.ndarray,
            info: dict[str, Any]) -> tuple[Product, str]:
    """Fluxes, variances and DQ from the sums, and the cube product with its suffix."""
    good = acc.count > 0
    flux = np.zeros_like(acc.flux)
    var = np.zeros_like(acc.var)
    flux[good] = acc.flux[good] / acc.weight[good]
    var[good] = acc.var[good] / (acc.weight[good] * acc.weight[good])
    dq = cube_dq.final_dq(fov, acc.weight, grid.shape)
    flux, var, wmap = (a.reshape(grid.shape) for a in (flux, var, acc.count))
    if setup.instrument == "MIRI":
        cube_dq.spectral_tear(flux, wmap, var, dq)
    dnu = (dq & DO_NOT_USE) != 0
    flux[dnu] = np.nan
    var[dnu] = np.nan
    first = inputs[setup.files[0][0]]
    used = [inputs[i] for f in setup.files for i in f]
    suffix = cube_geometry.cube_suffix(setup.bands, setup.instrument, setup.coord_system)
    arrays = {"data": flux.astype(np.float32), "err": np.sqrt(var).astype(np.float32),
              "dq": dq, "weightmap": wmap.astype(np.float32),
              "wavetable": _wavetable(grid)}
    return _cube_product(first, used, setup, grid, arrays, len(inputs), info), suffix


def build_internal_cube(setup: CubeSetup, inputs: Sequence[Product],
                        max_voxels: int = MAX_VOXELS) -> tuple[Product, str]:
    """Build one NIRSpec ``internal_cal`` cube (slicer-plane axes) from one exposure.

    Parameters
    ----------
    setup : CubeSetup
        The cube's parameters (one band, one exposure).
    inputs : Sequence[Product]
        All exposures (the setup refers to them by index).
    max_voxels : int
        Refuse cubes larger than this.

    Returns
    -------
    tuple[Product, str]
        The ``IFUCubeModel`` product and its suffix (``g395h-f290lp_internal``).
    """
    product = inputs[setup.files[0][0]]
    grid = cube_internal.internal_grid(cube_internal.slicer_extent(product), setup.wavemin,
                                       setup.wavemax, setup.spectral_size)
    _check_size(setup, grid.shape, max_voxels)
    nz, ny, nx = grid.shape
    acc = cube_weights.Accumulator.zeros(nz * ny * nx)
    pixels = cube_internal.slicer_pixels(product, grid)
    if pixels is None:
        log.warning("cube_build: no valid data in %s", product.filename)
    else:
        cube_internal.accumulate(pixels, grid, acc)
    fov = np.zeros(nz * ny * nx, dtype=np.uint8)
    info = cube_internal.internal_wcsinfo(grid, cube_internal.slicer_unit(product))
    return _finish(setup, grid, inputs, acc, fov, info)


# ----------------------------------------------------------------------------- output


def _wavetable(grid: CubeGrid) -> np.ndarray:
    if grid.cdelt3 is not None:
        pixels = np.arange(grid.zcoord.size)
        wave = grid.crval3 + (pixels + 1 - grid.crpix3) * grid.cdelt3
    else:
        wave = grid.zcoord
    wave = np.asarray(wave, dtype=np.float32)
    table = np.zeros(1, dtype=[("wavelength", "<f4", (wave.size, 1))])
    table["wavelength"][0] = wave[:, None]
    return table


def _wcsinfo(setup: CubeSetup, grid: CubeGrid) -> dict[str, Any]:
    theta = (grid.rot_angle or 0.0) * np.pi / 180.0
    info = {
        "crval1": grid.crval1, "crval2": grid.crval2, "crpix1": grid.crpix1,
        "crpix2": grid.crpix2, "cdelt1": grid.cdelt1 / 3600.0, "cdelt2": grid.cdelt2 / 3600.0,
        "ctype1": "RA---TAN", "ctype2": "DEC--TAN", "cunit1": "deg", "cunit2": "deg",
        "cunit3": "um", "wcsaxes": 3, "pc1_1": -np.cos(theta), "pc1_2": np.sin(theta),
        "pc1_3": 0, "pc2_1": np.sin(theta), "pc2_2": np.cos(theta), "pc2_3": 0,
        "pc3_1": 0, "pc3_2": 0, "pc3_3": 1,
    }
    if grid.cdelt3 is not None:
        info.update(crval3=grid.crval3, cdelt3=grid.cdelt3, ctype3="WAVE", crpix3=grid.crpix3)
    else:
        info.update(ctype3="WAVE-TAB", ps3_0="WCS-TABLE", ps3_1="wavelength", crval3=1.0,
                    crpix3=1.0, cdelt3=None)
    return info


def cube_wcs(info: Mapping[str, Any], grid: CubeGrid) -> gwcs_wcs.WCS:
    """The cube's gWCS from its FITS keywords (as jwst's ``create_fitswcs``)."""
    from astropy.modeling import models

    keys = ("crpix", "crval", "cdelt", "ctype", "cunit")
    defaults = {"crpix": 0, "crval": 0, "cdelt": 1.0, "ctype": "", "cunit": u.Unit("")}
    wcsinfo = {k.upper(): np.array([info.get(f"{k}{a}", defaults[k]) if info.get(f"{k}{a}")
                                    is not None else defaults[k] for a in (1, 2, 3)])
               for k in keys}
    wcsinfo["WCSAXES"] = 3
    wcsinfo["PC"] = np.array([[info[f"pc{i}_{j}"] for j in (1, 2, 3)] for i in (1, 2, 3)],
                             dtype=float)
    wcsinfo["RADESYS"] = "ICRS"
    wcsinfo["has_cd"] = False
    transform = gwutils.make_fitswcs_transform(wcsinfo)
    if grid.cdelt3 is not None:
        spectral = (models.Shift(-(grid.crpix3 - 1)) | models.Scale(grid.cdelt3)
                    | models.Shift(grid.crval3))
    else:
        spectral = models.Tabular1D(lookup_table=_wavetable(grid)["wavelength"].ravel())
    transform = transform & spectral
    detector = cf.CoordinateFrame(name="detector", naxes=3, axes_order=(0, 1, 2),
                                  unit=(u.pix, u.pix, u.pix),
                                  axes_type=["SPATIAL", "SPATIAL", "SPECTRAL"],
                                  axes_names=("x", "y", "z"), axis_physical_types=None)
    spec = cf.SpectralFrame(name="spectral", axes_order=(2,), unit=(u.um,),
                            axes_names=("wavelength",))
    if str(info["ctype1"]).startswith("RA"):
        sky = cf.CelestialFrame(name="sky", axes_order=(0, 1), reference_frame=coords.ICRS(),
                                unit=(u.deg, u.deg), axes_names=("RA", "DEC"))
        frames = [sky, spec]
    else:  # internal_cal: the slicer plane, in the order jwst's frame_from_model gives
        names = (str(info["ctype1"]), str(info["ctype2"]))
        plane = cf.Frame2D(name="_".join(names), axes_order=(0, 1),
                           unit=(u.Unit(info["cunit1"]), u.Unit(info["cunit2"])),
                           axes_names=names)
        frames = [spec, plane]
    wcs = gwcs_wcs.WCS([(detector, transform), (cf.CompositeFrame(frames, name="world"), None)])
    nz, ny, nx = grid.shape
    wcs.bounding_box = ((0, nx - 1), (0, ny - 1), (0, nz - 1))
    return wcs


def _blend(first: Product, used: Sequence[Product]) -> tuple[dict[str, Any], np.ndarray]:
    """Keywords combined over the cube's exposures with jwst's blend rules (every other
    keyword is the first exposure's) and their HDRTAB table."""
    changes, table = blend([p.meta for p in used], first.model_type, ignore=("filename",))
    mt = first.get("wcsinfo.mt_avra"), first.get("wcsinfo.mt_avdec")
    if mt[0] is not None:  # a moving target: the cube is centred on its mean position
        changes.update({"wcsinfo.mt_ra": mt[0], "wcsinfo.mt_dec": mt[1],
                        "target.ra": mt[0], "target.dec": mt[1]})
    return changes, table


def _cube_product(first: Product, used: Sequence[Product], setup: CubeSetup, grid: CubeGrid,
                  arrays: dict[str, np.ndarray], ninputs: int, info: dict[str, Any]) -> Product:
    meta = metatools.thaw(first.meta)
    meta.pop("filename", None)
    wcsinfo = {k: v for k, v in meta.get("wcsinfo", {}).items() if k not in _WCS_DROP}
    wcsinfo.update({k: v for k, v in info.items() if v is not None})
    wcsinfo.pop("cdelt3", None) if info["cdelt3"] is None else None
    meta["wcsinfo"] = wcsinfo
    changes: dict[str, Any] = {}
    if ninputs > 1:  # jwst blends when the step was given several exposures
        changes, arrays[HDRTAB] = _blend(first, used)
    area = grid.cdelt1 * grid.cdelt2
    drizzle = setup.interpolation == "drizzle"
    changes.update({
        "photometry.pixelarea_arcsecsq": area,
        "photometry.pixelarea_steradians": area * ARCSEC2_SR,
        "ifu.flux_extension": "SCI", "ifu.error_extension": "ERR", "ifu.error_type": "ERR",
        "ifu.dq_extension": "DQ",
        "ifu.weighting": "drizzle" if drizzle else setup.weighting,
        "ifu.weight_power": 0 if drizzle else setup.weight_power,
        "ifu.roi_spatial": 0 if drizzle else float(setup.rois) if setup.linear else None,
        "ifu.roi_wave": 0 if drizzle else (float(setup.roiw) if setup.linear
                                           else float(np.mean(setup.tables["roiw"]))),
        "cal_step.cube_build": COMPLETE,
    })
    if setup.instrument == "MIRI":
        channels = "".join(sorted({b[0] for b in setup.bands}))
        changes["instrument.channel"] = channels
    wcs = cube_wcs(info, grid)
    footprint = wcs.footprint(axis_type="spatial")
    region = s_region([tuple(c) for c in footprint])
    if region is not None:
        changes["wcsinfo.s_region"] = region
    meta = metatools.updated(meta, {k: v for k, v in changes.items() if v is not None})
    return Product("IFUCubeModel", meta, [Part(arrays=arrays, wcs=wcs)])


# ----------------------------------------------------------------------------- step


def cube_build(inputs: Sequence[Product], *, channel: str = "all", band: str = "all",
               grating: str = "all", filter: str = "all", output_type: str = "band",
               linear_wave: bool = True, scalexy: float = 0.0, scalew: float = 0.0,
               weighting: str = "drizzle", coord_system: str = "skyalign",
               ra_center: float | None = None, dec_center: float | None = None,
               cube_pa: float | None = None, nspax_x: int | None = None,
               nspax_y: int | None = None, rois: float = 0.0, roiw: float = 0.0,
               weight_power: float = 2.0, wavemin: float | None = None,
               wavemax: float | None = None, skip_dqflagging: bool = False,
               offset_file: str | None = None, debug_spaxel: str = "-1 -1 -1",
               references: Mapping[str, Any] | None = None,
               max_voxels: int = MAX_VOXELS) -> StepResult:
    """Build IFU cubes from MIRI MRS or NIRSpec IFU exposures (jwst ``CubeBuildStep``).

    Parameters
    ----------
    inputs : Sequence[Product]
        ``IFUImageModel`` exposures with their WCS.
    channel, band, grating, filter, output_type, linear_wave, scalexy, scalew, weighting, \
coord_system, ra_center, dec_center, cube_pa, nspax_x, nspax_y, rois, roiw, weight_power, \
wavemin, wavemax, skip_dqflagging, offset_file, debug_spaxel
        jwst 3.0.0's parameters (see :data:`SPEC`); ``debug_spaxel`` is accepted and ignored.
    references : Mapping[str, Any], optional
        ``cubepar``: a loaded :class:`~spec3nb.datamodels.ref_cubepar.CubePars`, or None for
        the built-in values.
    max_voxels : int
        Refuse (with a warning in the log) any cube with more voxels than this, before its
        memory is allocated (spec3nb only; jwst builds whatever is asked, see jwst issue
        #9835). Every cube's parameters are checked before the first is built.

    Returns
    -------
    StepResult
        One ``IFUCubeModel`` per cube, suffix ``<bands>_s3d`` (e.g. ``ch1-short_s3d``).
    """
    params = _effective({k: v for k, v in locals().items()
                         if k not in ("inputs", "references", "max_voxels")})
    _check_inputs(inputs)
    instrument = cube_geometry.instrument_of(inputs)
    internal = params["coord_system"] == "internal_cal"
    if internal and instrument == "MIRI":
        cube_internal.check_request(instrument, [], {})
    cubepars = _cubepars(references or {}, instrument)
    offsets = read_offsets(params["offset_file"], inputs)
    files = cube_geometry.band_files(inputs, instrument)
    bands = cube_geometry.select_bands(files, instrument, params)
    cubes = cube_geometry.cube_bands(bands, instrument, params["output_type"])
    if internal:
        cube_internal.check_request(instrument, cubes, files)
        setups = [cube_geometry.internal_setup(cube, files, cubepars, params)
                  for cube in cubes]
    else:
        setups = [cube_geometry.cube_setup(cube, files, cubepars, instrument, params)
                  for cube in cubes]
    # every cube's parameters are checked (and its plane count against the voxel limit)
    # before the first one is built: a refused request costs little and returns nothing
    for setup in setups:
        _check_size(setup, (_plane_count(setup),), max_voxels)

    def build(setup: CubeSetup) -> tuple[Product, str]:
        if internal:
            return build_internal_cube(setup, inputs, max_voxels)
        return build_cube(setup, inputs, params, offsets, max_voxels)

    # The cubes are independent: on several cores they are built side by side (the WCS
    # evaluations and weights are numpy work that releases the GIL). catch_warnings is not
    # thread-safe: the outer one restores the warning filters once the threads are done.
    workers = min(len(setups), CUBE_THREADS or os.cpu_count() or 1)
    if workers > 1:
        with warnings.catch_warnings(), ThreadPoolExecutor(max_workers=workers) as pool:
            built = list(pool.map(build, setups))
    else:
        built = [build(setup) for setup in setups]
    outputs = [StepOutput(product, f"{suffix}_s3d") for product, suffix in built]
    return StepResult(tuple(outputs), COMPLETE)


def _plane_count(setup: CubeSetup) -> int:
    if not setup.linear:
        return int(np.size(setup.tables["wavelength"]))
    return int(np.ceil((setup.wavemax - setup.wavemin) / setup.spectral_size))


_CHANNELS = ("1", "2", "3", "4", "all")
_BANDS = ("short", "medium", "long", "short-medium", "short-long", "medium-short",
          "medium-long", "long-short", "long-medium", "all")

SPEC = StepSpec(
    name="cube_build",
    summary="Combine IFU exposures into 3-D spectral cubes (s3d)",
    function=cube_build,
    params=(
        Param("channel", CHOICE, "all", "MIRI channel to build", choices=_CHANNELS),
        Param("band", CHOICE, "all", "MIRI band (sub-channel) to build", choices=_BANDS),
        Param("grating", CHOICE, "all", "NIRSpec grating to build",
              choices=("prism", "g140m", "g140h", "g235m", "g235h", "g395m", "g395h", "all")),
        Param("filter", CHOICE, "all", "NIRSpec filter to build",
              choices=("clear", "f100lp", "f070lp", "f170lp", "f290lp", "all")),
        Param("output_type", CHOICE, "band", "one cube per band, channel, grating, or one",
              choices=("band", "channel", "grating", "multi")),
        Param("linear_wave", BOOL, True, "linear wavelength axis (False: cubepar table)"),
        Param("scalexy", FLOAT, 0.0, "spaxel size (arcsec); 0 takes the cubepar value",
              minimum=0.0),
        Param("scalew", FLOAT, 0.0, "wavelength step (micron); 0 takes the cubepar value",
              minimum=0.0),
        Param("weighting", CHOICE, "drizzle", "weighting of detector pixels",
              choices=("emsm", "msm", "drizzle")),
        Param("coord_system", CHOICE, "skyalign", "cube axes: sky, IFU slices or internal",
              choices=("skyalign", "world", "internal_cal", "ifualign")),
        Param("ra_center", FLOAT, None, "RA of the cube centre (deg)"),
        Param("dec_center", FLOAT, None, "Dec of the cube centre (deg)"),
        Param("cube_pa", FLOAT, None, "position angle of the cube (deg E of N)"),
        Param("nspax_x", INT, None, "odd number of spaxels along x", minimum=1),
        Param("nspax_y", INT, None, "odd number of spaxels along y", minimum=1),
        Param("rois", FLOAT, 0.0, "spatial region of interest (arcsec); 0 from cubepar",
              minimum=0.0),
        Param("roiw", FLOAT, 0.0, "spectral region of interest (micron); 0 from cubepar",
              minimum=0.0),
        Param("weight_power", FLOAT, 2.0, "MSM weighting power (0 from cubepar)"),
        Param("wavemin", FLOAT, None, "minimum wavelength of the cube (micron)"),
        Param("wavemax", FLOAT, None, "maximum wavelength of the cube (micron)"),
        Param("skip_dqflagging", BOOL, False, "skip the field-of-view DQ flagging"),
        Param("offset_file", PATH, None, "ASDF file of per-exposure RA/Dec offsets (arcsec)"),
        Param("debug_spaxel", STR, "-1 -1 -1", "jwst debugging aid (ignored)"),
        Param("max_voxels", INT, MAX_VOXELS, "refuse (and warn about) cubes with more voxels "
              "than this instead of exhausting memory (spec3nb only)", minimum=1, jwst=False),
    ),
    reference_types=("cubepar",),
    jwst_class="jwst.cube_build.CubeBuildStep",
)
