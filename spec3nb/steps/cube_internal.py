"""cube_build ``coord_system='internal_cal'``: a NIRSpec cube in the IFU's slicer plane.

jwst 3.0.0 builds these engineering cubes (``determine_cube_parameters_internal``,
``set_geometry_slicer``, ``cube_internal_cal.match_det2cube`` and the C
``cube_match_internal``) from ONE exposure of ONE grating/filter, NIRSpec only (its step
refuses MIRI). The axes are the slicer plane's own coordinates, not the sky:

* x (``NRSSLICERX``): across the slices, one column per slice: 30 columns of width
  ``(max - min across-slice coordinate) / 30``;
* y (``NRSSLICERY``): along the slices, spaxels half that width, symmetric about 0 with
  ``ceil(max |along| / cdelt2)`` spaxels each side of the central one;
* wavelength: the cubepar (or user) range and step, centred on the range.

Each detector pixel is the quadrilateral of the slicer coordinates at its "corners"
``(x, y)``, ``(x+1, y)``, ``(x+1, y+1)``, ``(x, y+1)`` (jwst's choice: the pixel centre and
the next ones, i.e. shifted by half a pixel) in the (along-slice, wavelength) plane; its flux
goes to the spaxels of its slice's column in proportion to the overlap area divided by the
quadrilateral's area. No field-of-view DQ flagging is done (the final DQ comes from the
weights alone).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from spec3nb.datamodels.products import Product
from spec3nb.errors import ParameterError
from spec3nb.steps.cube_geometry import STEP, CubeGrid, evaluate, ifu_pixels
from spec3nb.steps.cube_mapping import _good_pixels
from spec3nb.steps.cube_weights import SLIVER, Accumulator, clip_area, overlap_area

#: NIRSpec IFU slices: one cube column each.
NSLICES = 30
#: (pixel, voxel) candidate pairs handled at once (bounds the overlap temporaries).
PAIR_BUDGET = 200_000


@dataclasses.dataclass(frozen=True)
class SlicerPixels:
    """The good pixels of an exposure in the slicer plane.

    ``along`` and ``lam`` are (n, 4) corner coordinates; ``column`` is the pixel's slice
    column in the cube.
    """

    along: np.ndarray
    lam: np.ndarray
    column: np.ndarray
    flux: np.ndarray
    err: np.ndarray


def check_request(instrument: str, cubes: list, files: Mapping) -> None:
    """Refuse what jwst refuses for internal_cal: MIRI, several exposures or bands."""
    if instrument == "MIRI":
        raise ParameterError(STEP, "coord_system", "internal_cal is not valid for MIRI (jwst "
                             "3.0.0 refuses it); use coord_system='ifualign'")
    for cube in cubes:
        if len(cube) > 1:
            raise ParameterError(STEP, "coord_system", "internal_cal cubes are built from a "
                                 "single grating/filter: use output_type='band'")
        if len(files[cube[0]]) > 1:
            raise ParameterError(STEP, "coord_system", f"internal_cal cubes are built from a "
                                 f"single exposure; {len(files[cube[0]])} exposures cover "
                                 f"{'/'.join(cube[0])}: give one")


def _slicer_transform(product: Product) -> Any:
    wcs = product.part.wcs
    if wcs is None or "slicer" not in wcs.available_frames:
        raise ParameterError(STEP, "inputs", f"{product.filename}: the WCS has no 'slicer' "
                             "frame; internal_cal cubes need it")
    return wcs.get_transform(wcs.available_frames[0], "slicer")


def _in_microns(lam: np.ndarray) -> np.ndarray:
    """jwst's unit guess: slicer-frame wavelengths below 1e-4 are metres."""
    finite = lam[np.isfinite(lam)]
    return lam * 1.0e6 if finite.size and float(np.max(finite)) < 0.0001 else lam


def slicer_extent(product: Product) -> tuple[float, float, float, float]:
    """(along min, along max, across min, across max) of the exposure's slice pixels."""
    y, x = ifu_pixels(product)
    across, along, _ = evaluate(_slicer_transform(product), x.astype(float), y.astype(float))
    valid = np.isfinite(along) & np.isfinite(across)
    if not valid.any():
        raise ParameterError(STEP, "inputs", f"{product.filename}: no slice pixel maps to "
                             "the slicer plane")
    return (float(np.min(along[valid])), float(np.max(along[valid])),
            float(np.min(across[valid])), float(np.max(across[valid])))


def _running(start: Any, step: Any, n: int) -> np.ndarray:
    """``start, start + step, ...`` summed one by one as jwst's loops do (same rounding, in
    the precision of `start` and `step`), returned as float64."""
    dtype = np.result_type(start, step)
    terms = np.concatenate([np.array([start], dtype), np.full(max(n - 1, 0), step, dtype)])
    return np.cumsum(terms, dtype=dtype)[:n].astype(np.float64)


def _in_jwst_precision(value: float) -> np.floating:
    """`value` in the precision jwst computes with: single for values from the cubepar.

    jwst keeps the cubepar's wavelength range and step as the table's float32 numbers and,
    for internal_cal, does the wavelength-axis arithmetic with them (NumPy keeps float32
    when a Python float joins), while user values become float64. A value exactly
    representable in single precision is taken for a cubepar value.
    """
    single = np.float32(value)
    return single if float(single) == float(value) else np.float64(value)


def internal_grid(extent: tuple[float, float, float, float], wavemin: float, wavemax: float,
                  cdelt3: float) -> CubeGrid:
    """The slicer-plane grid (jwst's ``setup_ifucube_wcs`` + ``set_geometry_slicer``).

    Parameters
    ----------
    extent : tuple of 4 floats
        Along-slice min/max and across-slice min/max of the exposure's pixels.
    wavemin, wavemax : float
        Wavelength range of the cube (micron).
    cdelt3 : float
        Wavelength step (micron).

    Returns
    -------
    CubeGrid
        x across the slices, y along them; ``crval1/2`` are the lower edges and
        ``crpix1/2 = 0.5``; ``rot_angle`` is None.
    """
    a_min, a_max, b_min, b_max = extent
    cdelt1 = (b_max - b_min) / NSLICES  # one column per slice
    cdelt2 = cdelt1 / 2.0
    n_half = math.ceil(max(abs(a_min), abs(a_max)) / cdelt2)
    a_low = 0.0 - (n_half * cdelt2) - (cdelt2 / 2.0)
    ycoord = _running(a_low + cdelt2 / 2.0, cdelt2, 2 * n_half + 1)
    nx = int(math.ceil((b_max - b_min) / cdelt1))
    b_center = (b_max + b_min) / 2.0
    b_low = b_center - (nx / 2.0) * cdelt1
    xcoord = _running(b_low + cdelt1 / 2.0, cdelt1, nx)
    lo, hi, step = (_in_jwst_precision(v) for v in (wavemin, wavemax, cdelt3))
    nz = int(math.ceil((hi - lo) / step))
    lam_low = (hi + lo) / 2.0 - (nz / 2.0) * step
    zcoord = _running(lam_low + step / 2.0, step, nz)
    if nz < 2 or nx < 1:
        raise ParameterError(STEP, "wavemin", f"the wavelength range [{wavemin}, {wavemax}] "
                             f"gives {nz} plane(s); 2 are needed")
    normal = np.full(nz, cdelt3)
    return CubeGrid(b_low, a_low, 0.5, 0.5, cdelt1, cdelt2, float(zcoord[0]), 1.0, cdelt3,
                    None, xcoord, ycoord, zcoord, normal)


def slicer_pixels(product: Product, grid: CubeGrid) -> SlicerPixels | None:
    """The exposure's good pixels as (along, wavelength) quadrilaterals with their column.

    jwst places slice i in column ``slicemap[i]`` of a fixed table of the real slicer's
    order; here each slice goes to the column its across-slice position falls in, which
    is the same column for the real slicer (and for the simulator, which numbers its slices
    in that order) and stays right for a WCS whose slices are numbered otherwise.
    """
    transform = _slicer_transform(product)
    y, x = ifu_pixels(product)
    keep = _good_pixels(product, y, x)
    y, x = y[keep], x[keep]
    label = np.asarray(product.part.arrays["regions"])[y, x]
    xf, yf = x.astype(float), y.astype(float)
    across, along, _ = evaluate(transform, xf, yf)
    valid = ~np.isnan(along)
    xf, yf, y, x, label, across = (a[valid] for a in (xf, yf, y, x, label, across))
    corners = [evaluate(transform, xf + dx, yf + dy) for dx, dy in
               ((0, 0), (1, 0), (1, 1), (0, 1))]
    a4 = np.stack([c[1] for c in corners], axis=1)
    lam4 = _in_microns(np.stack([c[2] for c in corners], axis=1))
    good = ~np.isnan(a4[:, 1:]).any(axis=1)  # jwst tests corners 2-4 only
    if not good.any():
        return None
    # each slice's column from the median across-slice coordinate of its pixels
    labels, inverse = np.unique(label, return_inverse=True)
    centre = np.array([np.nanmedian(across[label == v]) for v in labels])
    columns = np.clip(np.floor((centre - grid.crval1) / grid.cdelt1), 0,
                      grid.xcoord.size - 1).astype(np.int64)
    part = product.part
    return SlicerPixels(a4[good], lam4[good], columns[inverse][good],
                        part.data[y[good], x[good]].astype(np.float64),
                        part.err[y[good], x[good]].astype(np.float64))


def _quad_area(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Shoelace area of (n, 4) quadrilaterals, relative to their minima (as jwst)."""
    qx = px - px.min(axis=1, keepdims=True)
    qy = py - py.min(axis=1, keepdims=True)
    nxt = [1, 2, 3, 0]
    return np.abs(0.5 * np.sum(qx * qy[:, nxt] - qx[:, nxt] * qy, axis=1))


def _ranges(pix: SlicerPixels, grid: CubeGrid) -> tuple[np.ndarray, ...]:
    """jwst's candidate spaxel and plane ranges (C truncation and rounding)."""
    ny, nz = grid.ycoord.size, grid.zcoord.size
    amin, amax = pix.along.min(axis=1), pix.along.max(axis=1)
    wmin, wmax = pix.lam.min(axis=1), pix.lam.max(axis=1)
    ia1 = np.maximum(np.trunc((amin - grid.crval2) / grid.cdelt2), 0).astype(np.int64)
    ia2 = np.minimum(np.trunc((amax - grid.crval2) / grid.cdelt2), ny - 1).astype(np.int64)
    iz1 = np.maximum(np.trunc((wmin - grid.crval3) / grid.cdelt3), 0).astype(np.int64)
    maxw = (wmax - grid.crval3) / grid.cdelt3
    iz2 = (np.sign(maxw) * np.floor(np.abs(maxw) + 0.5)).astype(np.int64)  # C round()
    iz2 = np.where(iz2 < 0, iz1 + 1, iz2)
    iz2 = np.minimum(iz2, nz - 1)
    return ia1, ia2, iz1, iz2


def _overlaps(px: np.ndarray, py: np.ndarray, box: tuple[np.ndarray, ...],
              size: tuple[float, float]) -> np.ndarray:
    """Exact overlap areas; slivers get jwst's clipping, which decides whether they count.

    A pair counts (WMAP) when jwst's clipped area is above zero; where the exact area is a
    sliver and the quadrilateral comes within 1e-7 of a spaxel size of the box, jwst's
    single-precision clipping is reproduced instead.
    """
    area = overlap_area(px, py, *box)
    tiny = np.flatnonzero(area < SLIVER * size[0] * size[1])
    if tiny.size:
        gx, gy = 1e-7 * size[0], 1e-7 * size[1]
        grown = (box[0][tiny] - gx, box[1][tiny] + gx, box[2][tiny] - gy, box[3][tiny] + gy)
        near = tiny[overlap_area(px[tiny], py[tiny], *grown) > 0]
        area[tiny] = 0.0
        area[near] = clip_area(px[near], py[near], *(b[near] for b in box))
    return area


def accumulate(pix: SlicerPixels, grid: CubeGrid, acc: Accumulator) -> None:
    """Add the pixels' area-weighted fluxes to the cube (jwst ``match_detector_cube``).

    Parameters
    ----------
    pix : SlicerPixels
        The exposure's pixels.
    grid : CubeGrid
        The slicer-plane grid.
    acc : Accumulator
        The sums (flux, weight = area fraction, variance, count).
    """
    nx, nxy = grid.xcoord.size, grid.xcoord.size * grid.ycoord.size
    ia1, ia2, iz1, iz2 = _ranges(pix, grid)
    na, nzw = np.maximum(ia2 - ia1 + 1, 0), np.maximum(iz2 - iz1 + 1, 0)
    quad = _quad_area(pix.along, pix.lam)
    n = pix.flux.size
    per_pixel = max(1, int(np.max(na, initial=1)) * int(np.max(nzw, initial=1)))
    chunk = max(1, PAIR_BUDGET // per_pixel)
    for start in range(0, n, chunk):
        rows = slice(start, start + chunk)
        wa, wz = int(np.max(na[rows], initial=0)), int(np.max(nzw[rows], initial=0))
        ka = ia1[rows, None, None] + np.arange(wa)[None, :, None]
        kz = iz1[rows, None, None] + np.arange(wz)[None, None, :]
        on = (ka <= ia2[rows, None, None]) & (kz <= iz2[rows, None, None])
        p, ja, jz = np.nonzero(on)
        a_idx, z_idx = ka[p, ja, 0], kz[p, 0, jz]
        p = p + start
        half_a, half_z = 0.5 * grid.cdelt2, 0.5 * grid.cdelt3
        box = (grid.ycoord[a_idx] - half_a, grid.ycoord[a_idx] + half_a,
               grid.zcoord[z_idx] - half_z, grid.zcoord[z_idx] + half_z)
        area = _overlaps(pix.along[p], pix.lam[p], box, (grid.cdelt2, grid.cdelt3))
        hit = area > 0
        ratio = area[hit] / quad[p[hit]]
        voxel = z_idx[hit] * nxy + a_idx[hit] * nx + pix.column[p[hit]]
        acc.add(voxel, ratio, pix.flux[p[hit]], pix.err[p[hit]])


def internal_wcsinfo(grid: CubeGrid, unit: str) -> dict[str, Any]:
    """The FITS WCS keywords jwst writes for a NIRSpec internal_cal cube."""
    return {
        "crval1": grid.crval1, "crval2": grid.crval2, "crpix1": grid.crpix1,
        "crpix2": grid.crpix2,
        # jwst divides by 3600 and multiplies back: keep its rounding
        "cdelt1": grid.cdelt1 / 3600.0 * 3600.0, "cdelt2": grid.cdelt2 / 3600.0 * 3600.0,
        "ctype1": "NRSSLICERX", "ctype2": "NRSSLICERY", "cunit1": unit, "cunit2": unit,
        "cunit3": "um", "wcsaxes": 3, "pc1_1": 1.0, "pc1_2": 0.0, "pc1_3": 0, "pc2_1": 0.0,
        "pc2_2": 1.0, "pc2_3": 0, "pc3_1": 0, "pc3_2": 0, "pc3_3": 1,
        "crval3": grid.crval3, "cdelt3": grid.cdelt3, "ctype3": "WAVE", "crpix3": grid.crpix3,
    }


def slicer_unit(product: Product) -> str:
    """``meter`` for jwst's slicer frame (metres), else the frame's own unit."""
    try:
        unit = str(product.part.wcs.slicer.unit[0])
    except (AttributeError, IndexError, TypeError):
        return "meter"
    return "meter" if unit in ("m", "meter") else unit
