"""resample_spec: drizzle the 2-D slit exposures of one source onto a rectified grid.

As jwst 3.0.0's ``ResampleSpecStep`` (reference section 3.8): the output WCS is built from
all inputs (:mod:`spec3nb.steps.resample_wcs`), each exposure is drizzled onto it with the
``drizzle`` package (:mod:`spec3nb.steps.drizzle_utils`), and the product is one ``_s2d``
``SlitModel`` with SCI, ERR, WHT, CON, VAR_*, WAVELENGTH, the 2-D WCS and the resampling
keywords (NDRIZ, PIXFRAC, RESWHT, PXSCLRT, S_RESAMP, the output PIXAR_SR/PIXAR_A2).

Inputs are the exposures of one source: ``SlitModel`` (or older ``ImageModel``) products
(MIRI LRS), or one source-based ``MultiExposureModel`` (NIRSpec FS/MOS, from
exp_to_source) whose parts are the exposures.
"""

from __future__ import annotations

import copy
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from gwcs import wcstools

from spec3nb.datamodels import meta as metatools
from spec3nb.datamodels.blend import HDRTAB, blend
from spec3nb.datamodels.grids import read_output_grid
from spec3nb.datamodels.products import Part, Product
from spec3nb.params import BOOL, CHOICE, FLOAT, INTS, PATH, STR, Param
from spec3nb.steps.drizzle_utils import (
    DrizzleSettings,
    SlitDrizzler,
    SlitExposure,
    match_nans_and_flags,
    measurement_time,
)
from spec3nb.steps.resample_wcs import (
    interpolated_output_wcs,
    is_sky_like,
    nirspec_output_wcs,
    output_pixel_ratio,
    spatial_pixel_scale,
    wrap_ra,
)
from spec3nb.steps.spec import COMPLETE, SKIPPED, StepOutput, StepResult, StepSpec

#: DQ bits that stop a pixel from being resampled (fixed in jwst 3.0.0).
GOOD_BITS = "~DO_NOT_USE+NON_SCIENCE"
_SQ_ARCSEC_PER_SR = np.rad2deg(3600) ** 2
_SINGLE = frozenset({"SlitModel", "ImageModel"})


# ----------------------------------------------------------------------------- inputs


def _merged(outer: Mapping[str, Any], inner: Mapping[str, Any]) -> dict[str, Any]:
    """`outer` with `inner` laid over it, recursively (inner values win)."""
    result = metatools.thaw(outer)
    for key, value in inner.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), dict):
            result[key] = _merged(result[key], value)
        else:
            result[key] = metatools.thaw(value)
    return result


def _check_exposure(exposure: SlitExposure) -> None:
    part = exposure.part
    if "data" not in part.arrays or part.data.ndim != 2:
        shape = None if "data" not in part.arrays else part.data.shape
        raise ValueError(f"{exposure.label}: needs a 2-D SCI array, not shape {shape}")
    if part.wcs is None:
        raise ValueError(f"{exposure.label}: has no WCS (run assign_wcs in spec2 first)")
    if exposure.get("wcsinfo.dispersion_direction") not in (1, 2):
        raise ValueError(f"{exposure.label}: DISPAXIS (wcsinfo.dispersion_direction) is "
                         f"{exposure.get('wcsinfo.dispersion_direction')!r}, not 1 or 2")


def slit_exposures(inputs: Sequence[Product]) -> tuple[list[SlitExposure], bool]:
    """Return the exposures of one source, and whether they came as one source product.

    Parameters
    ----------
    inputs : Sequence[Product]
        ``SlitModel``/``ImageModel`` products, or one ``MultiExposureModel``.

    Returns
    -------
    list[SlitExposure], bool
        The exposures (with their exposure metadata merged in) and True for a
        ``MultiExposureModel`` input.

    Raises
    ------
    ValueError
        For other model types, several source products, a slit without WCS or a 2-D SCI
        array, a missing or inconsistent DISPAXIS.
    """
    types = {p.model_type for p in inputs}
    if types == {"MultiExposureModel"}:
        if len(inputs) != 1:
            raise ValueError(f"give the exposures of one source: {len(inputs)} source "
                             f"products were given")
        source = inputs[0]
        exposures = [SlitExposure(part, _merged(source.meta, part.meta),
                                  f"exposure {i} ({part.attrs.get('name') or 'slit'})")
                     for i, part in enumerate(source.parts)]
        single = True
    elif types <= _SINGLE:
        exposures = [SlitExposure(p.part, _merged(p.meta, p.part.meta),
                                  p.filename or f"input {i}") for i, p in enumerate(inputs)]
        single = False
    else:
        raise ValueError(f"resample_spec takes SlitModel products or one MultiExposureModel "
                         f"source product, not {', '.join(sorted(types))}")
    for exposure in exposures:
        _check_exposure(exposure)
    dispaxes = {e.get("wcsinfo.dispersion_direction") for e in exposures}
    if len(dispaxes) > 1:
        raise ValueError(f"the exposures disperse along different axes (DISPAXIS "
                         f"{sorted(dispaxes)}): they cannot share one output grid")
    return exposures, single


def cleaned(exposures: Sequence[SlitExposure]) -> list[SlitExposure]:
    """The exposures with NaNs and DO_NOT_USE made consistent (jwst's first step)."""
    return [SlitExposure(match_nans_and_flags(e.part), e.meta, e.label) for e in exposures]


# ----------------------------------------------------------------------------- output grid


def output_grid(exposures: Sequence[SlitExposure], *, good_bits: Any,
                pixel_scale_ratio: float = 1.0, pixel_scale: float | None = None,
                output_wcs: Any = None) -> tuple[Any, float, float | None]:
    """Build (or take) the output WCS; return it, the pixel scale ratio and pixel area (sr).

    Parameters
    ----------
    exposures : Sequence[SlitExposure]
        The exposures of one source.
    good_bits : int or str
        DQ bits counted good when choosing NIRSpec's reference exposure.
    pixel_scale_ratio : float
        Input over output spatial scale (ignored when `pixel_scale` is given).
    pixel_scale : float, optional
        Output spatial scale in arcsec (needs the input PIXAR_SR).
    output_wcs : dict, optional
        A user grid: ``{"wcs": gwcs.WCS, "pixel_scale": arcsec, "pixel_area": ...}``.

    Returns
    -------
    tuple
        ``(wcs, ratio, output pixel area in sr or None)``.
    """
    first = exposures[0]
    disp_axis = first.get("wcsinfo.dispersion_direction")
    input_scale = 3600.0 * spatial_pixel_scale(first.wcs, disp_axis)
    nominal_area = first.get("photometry.pixelarea_steradians")
    pixel_area = None
    if output_wcs is not None:
        pixel_scale = output_wcs.get("pixel_scale")
        pixel_area = output_wcs.get("pixel_area")
        if pixel_scale is None and pixel_area is not None:
            pixel_scale = math.sqrt(pixel_area)
        elif pixel_scale is not None and pixel_area is None:
            pixel_area = pixel_scale**2  # jwst compares it with PIXAR_SR as it is
    if np.isnan(input_scale) or nominal_area is None:
        pixel_scale = pixel_area = None
    if output_wcs is not None:
        ratio, area = output_pixel_ratio(output_wcs["wcs"], pixel_area, nominal_area,
                                         input_scale, disp_axis)
        return output_wcs["wcs"], ratio, area
    ratio = pixel_scale_ratio if pixel_scale is None else input_scale / pixel_scale
    if not is_sky_like(first.wcs.output_frame):
        raise ValueError(f"{first.label}: the WCS output frame is not celestial (NIRSpec "
                         f"lamp data); resample_spec handles sky data only")
    if first.get("instrument.name") == "NIRSPEC":
        wcs = nirspec_output_wcs(exposures, good_bits, ratio)
    else:
        wcs = interpolated_output_wcs(exposures, ratio)
    return wcs, ratio, (None if nominal_area is None else nominal_area / ratio)


def groups(exposures: Sequence[SlitExposure]) -> dict[str, list[SlitExposure]]:
    """Exposures by group id, in first-seen order."""
    result: dict[str, list[SlitExposure]] = {}
    for exposure in exposures:
        result.setdefault(exposure.group_id, []).append(exposure)
    return result


def time_meta(exposures: Sequence[SlitExposure]) -> dict[str, Any]:
    """Exposure-time keywords of the combination (each group counted once)."""
    firsts = [members[0] for members in groups(exposures).values()]
    total = sum(e.get("exposure.exposure_time") or 0.0 for e in firsts)
    tmeasures = [e.get("exposure.measurement_time") for e in firsts]
    duration = sum(e.get("exposure.duration") or 0.0 for e in firsts)
    starts = [e.get("exposure.start_time") for e in firsts if e.get("exposure.start_time")
              is not None]
    ends = [e.get("exposure.end_time") for e in firsts if e.get("exposure.end_time")
            is not None]
    return {
        "exposure.exposure_time": total, "exposure.effective_exposure_time": total,
        "exposure.start_time": min(starts) if starts else None,
        "exposure.end_time": max(ends) if ends else None,
        "exposure.duration": duration, "exposure.elapsed_exposure_time": duration,
        "exposure.measurement_time": (sum(float(measurement_time(e)) for e in firsts)
                                      if all(t is not None for t in tmeasures) else None),
        "resample.pointings": len(firsts),
    }


# ----------------------------------------------------------------------------- metadata


def _lrs_s_region(first_region: str, wcs: Any) -> str | None:
    """S_REGION of a resampled MIRI LRS slit: its centre line widened by the slit width."""
    values = first_region.split(" ")
    corners = [SkyCoord(float(values[i]), float(values[i + 1]), unit="deg")
               for i in (3, 5, 7, 9)]
    width = min(corners[i].separation(corners[(i + 1) % 4]).deg for i in range(4))
    ra, dec, _ = np.array(wcs(*_grid(wcs)))
    ra, dec = ra.ravel(), dec.ravel()
    start = SkyCoord(ra[0], dec[0], unit="deg", frame="icrs")
    end = SkyCoord(ra[-1], dec[-1], unit="deg", frame="icrs")
    across = start.position_angle(end).deg - 90.0
    half = width / 2 * u.deg
    c1, c2 = (start.directional_offset_by(across * u.deg, s * half) for s in (1, -1))
    c3, c4 = (end.directional_offset_by(across * u.deg, s * half) for s in (1, -1))
    return s_region([(c.ra.deg, c.dec.deg) for c in (c1, c3, c4, c2)])


def _grid(wcs: Any) -> np.ndarray:
    return wcstools.grid_from_bounding_box(wcs.bounding_box)


def s_region(corners: Sequence[tuple[float, float]]) -> str | None:
    """An S_REGION polygon string as jwst writes it; None when a corner is NaN."""
    text = "POLYGON ICRS  " + " ".join(f"{a:.9f} {b:.9f}" for a, b in corners)
    return None if "nan" in text else text


def _spectral_s_region(wcs: Any) -> tuple[str | None, list[float]]:
    """S_REGION (RA/Dec box of all output pixels) and the wavelength range."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ra, dec, lam = wcs(*_grid(wcs))
        ra = wrap_ra(ra)
        lo, hi = np.nanmin(ra), np.nanmax(ra)
    lo, hi = lo + 360.0 if lo < 0 else lo, hi - 360.0 if hi >= 360.0 else hi
    dlo, dhi = np.nanmin(dec), np.nanmax(dec)
    region = s_region([(lo, dlo), (hi, dlo), (hi, dhi), (lo, dhi)])
    return region, [float(np.nanmin(lam)), float(np.nanmax(lam))]


def _source_position(first: SlitExposure, attrs: dict[str, Any], wcs: Any) -> None:
    """MIRI LRS SRCXPOS/SRCYPOS are detector pixels: carry them onto the output grid."""
    x_in, y_in = attrs.get("source_xpos"), attrs.get("source_ypos")
    if x_in is None or y_in is None:
        return
    world = first.wcs(x_in, y_in)
    x_out, y_out = wcs.invert(world[0], world[1], world[2])
    attrs["source_xpos"], attrs["source_ypos"] = float(x_out), float(y_out)


def _product(first: SlitExposure, arrays: dict[str, np.ndarray], wcs: Any,
             changes: dict[str, Any]) -> Product:
    """The s2d product: the first exposure's metadata and slit attributes, updated."""
    attrs = dict(first.part.attrs)
    meta = metatools.thaw(first.meta)
    meta.pop("filename", None)
    if first.get("exposure.type") == "MIR_LRS-FIXEDSLIT":
        region = first.get("wcsinfo.s_region")
        changes["wcsinfo.s_region"] = _lrs_s_region(region, wcs) if region else None
        _source_position(first, attrs, wcs)
    elif is_sky_like(wcs.output_frame):
        region, spectral = _spectral_s_region(wcs)
        if region is not None:
            changes["wcsinfo.s_region"] = region
        changes["wcsinfo.spectral_region"] = spectral
    else:
        changes["wcsinfo.s_region"] = None
    y, x = np.indices(arrays["data"].shape, dtype=np.float64)
    arrays["wavelength"] = np.asarray(wcs(x, y)[2], dtype=np.float32)
    meta = metatools.updated(meta, changes)
    return Product("SlitModel", meta, [Part(arrays=arrays, attrs=attrs, wcs=wcs)])


# Not blended by jwst's resampling: each input's own name and its pixel area.
_NOT_BLENDED = ("filename", "photometry.pixelarea_steradians", "photometry.pixelarea_arcsecsq")


# ----------------------------------------------------------------------------- step


def _load_output_wcs(output_wcs: Any, output_shape: Sequence[int] | None) -> dict | None:
    """A user output grid from a WCS object or a ``{"wcs": ...}`` dict (the content of an
    output-grid file, :func:`~spec3nb.datamodels.grids.read_output_grid`)."""
    if output_wcs is None or (isinstance(output_wcs, str) and not output_wcs.strip()):
        return None
    if isinstance(output_wcs, str | os.PathLike):
        raise ValueError(f"output_wcs: the step opens no files; give the grid that "
                         f"spec3nb.datamodels.grids.read_output_grid reads from "
                         f"{os.fspath(output_wcs)!r}")
    if isinstance(output_wcs, Mapping):
        grid = copy.deepcopy(dict(output_wcs))  # never alter the caller's WCS
    else:
        grid = {"wcs": copy.deepcopy(output_wcs)}
    wcs = grid["wcs"]
    if output_shape is not None:
        wcs.array_shape = tuple(output_shape)[::-1]
    elif wcs.array_shape is None:
        shape = grid.get("array_shape") or (grid.get("pixel_shape") or [None])[::-1]
        if shape and shape[0] is not None:
            wcs.array_shape = tuple(shape)
        elif getattr(wcs, "bounding_box", None) is not None:
            wcs.array_shape = tuple(int(hi + 0.5) for _, hi in
                                    wcs.bounding_box.bounding_box(order="C"))
        else:
            raise ValueError("output_wcs has no array_shape, pixel_shape or bounding box: "
                             "give output_shape")
    if grid.get("pixel_scale") is None and grid.get("pixel_area") is not None:
        grid["pixel_scale"] = float(np.sqrt(grid["pixel_area"]))
    return grid


def resample_spec(
    inputs: Sequence[Product],
    *,
    pixfrac: float = 1.0,
    kernel: str = "square",
    fillval: str = "NAN",
    weight_type: str | None = "ivm",
    output_shape: Sequence[int] | None = None,
    pixel_scale_ratio: float = 1.0,
    pixel_scale: float | None = None,
    output_wcs: Any = "",
    single: bool = False,
    blendheaders: bool = True,
    in_memory: bool = True,
    propagate_dq: bool = False,
) -> StepResult:
    """Resample the slit exposures of one source onto one rectified 2-D grid.

    Parameters
    ----------
    inputs : Sequence[Product]
        ``SlitModel``/``ImageModel`` exposures, or one ``MultiExposureModel`` source.
    pixfrac, kernel, fillval, weight_type : see :data:`SPEC`
        Drizzle settings.
    output_shape : (nx, ny), optional
        Shape of a user `output_wcs` (jwst ignores it for the built grid).
    pixel_scale_ratio, pixel_scale : float
        Input over output spatial scale, or the output scale in arcsec.
    output_wcs : gwcs.WCS or dict
        A user output grid: a WCS, or what
        :func:`~spec3nb.datamodels.grids.read_output_grid` read from the file the parameter
        names ('' or None for the built grid).
    single : bool
        Resample only the first exposure group, with drizzled errors (jwst's quirk).
    blendheaders : bool
        Blend the inputs' headers (:mod:`spec3nb.datamodels.blend`) and add their
        ``HDRTAB`` table, as jwst does for a list or source of exposures (not for a single
        exposure product).
    in_memory : bool
        Accepted for compatibility (everything is in memory).
    propagate_dq : bool
        Add a DQ array: the OR of the contributing input DQ values.

    Returns
    -------
    StepResult
        One ``s2d`` output; ``origin=0`` for a source product, None for a list.
    """
    if not inputs or all(not p.parts for p in inputs):
        return StepResult(tuple(StepOutput(p, "s2d", origin=i) for i, p in enumerate(inputs)),
                          SKIPPED, "no exposures to resample")
    exposures, is_source = slit_exposures(inputs)
    exposures = cleaned(exposures)
    user_grid = _load_output_wcs(output_wcs, output_shape)
    wcs, ratio, area = output_grid(exposures, good_bits=GOOD_BITS,
                                   pixel_scale_ratio=pixel_scale_ratio,
                                   pixel_scale=pixel_scale, output_wcs=user_grid)
    settings = DrizzleSettings(pixfrac, kernel, fillval, weight_type, GOOD_BITS, ratio)
    used = list(groups(exposures).values())[0] if single else exposures
    drizzler = SlitDrizzler(wcs, settings, len(used), context=True, variances=not single,
                            driz_err=single, propagate_dq=propagate_dq)
    for exposure in used:
        drizzler.add(exposure)
    arrays = drizzler.finish()
    changes = time_meta(used)
    changes.update({
        "photometry.pixelarea_steradians": area,
        "photometry.pixelarea_arcsecsq": None if area is None else area * _SQ_ARCSEC_PER_SR,
        "resample.pixel_scale_ratio": pixel_scale_ratio if pixel_scale is None else ratio,
        "resample.pixfrac": pixfrac, "resample.kernel": kernel, "resample.fillval": fillval,
        "resample.weight_type": weight_type, "background.level": None,
        "background.subtracted": None, "cal_step.resample": COMPLETE,
        "bunit_data": exposures[0].get("bunit_data"),
    })
    if blendheaders and (is_source or len(inputs) > 1):
        # Every exposure is a SlitModel to jwst; the resampling's own keywords win.
        values, arrays[HDRTAB] = blend([e.meta for e in used], "SlitModel", _NOT_BLENDED)
        changes = values | changes
    product = _product(exposures[0], arrays, wcs, changes)
    return StepResult((StepOutput(product, "s2d", origin=0 if is_source else None),))


SPEC = StepSpec(
    name="resample_spec",
    summary="Drizzle the 2-D slit exposures of a source onto one rectified grid",
    function=resample_spec,
    params=(
        Param("pixfrac", FLOAT, 1.0, "pixel shrink factor: the fraction of an input pixel "
              "whose flux is drizzled", minimum=0.0, maximum=1.0),
        Param("kernel", CHOICE, "square", "flux distribution kernel",
              choices=("square", "point")),
        Param("fillval", STR, "NAN", "value of output pixels that receive no input"),
        Param("weight_type", CHOICE, "ivm", "input weighting: inverse read-noise variance "
              "(ivm), exposure time (exptime) or None (equal)", choices=("ivm", "exptime"),
              nullable=True),
        Param("output_shape", INTS, None, "[nx, ny] of a user output_wcs", length=2,
              minimum=1),
        Param("pixel_scale_ratio", FLOAT, 1.0, "input over output spatial pixel scale"),
        Param("pixel_scale", FLOAT, None, "output spatial pixel scale in arcsec "
              "(overrides pixel_scale_ratio)"),
        Param("output_wcs", PATH, "", "ASDF file with a custom output gwcs under 'wcs'"),
        Param("single", BOOL, False, "resample only the first exposure group, alone"),
        Param("blendheaders", BOOL, True, "blend the input headers and add their HDRTAB "
              "table"),
        Param("in_memory", BOOL, True, "keep images in memory (always the case here)"),
        Param("propagate_dq", BOOL, False, "add a DQ array: OR of contributing input DQs"),
    ),
    jwst_class="jwst.resample.ResampleSpecStep",
    file_params=MappingProxyType({"output_wcs": read_output_grid}),
)
