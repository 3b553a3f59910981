"""cube_build DQ plane (jwst 3.0.0 ``cube_dq_utils.c`` and ``set_final_dq_flags``).

Per exposure, jwst first marks the voxels inside the exposure's field of view with
intermediate values (``OVERLAP_FULL`` 2, ``OVERLAP_PARTIAL`` 4); after accumulation, voxels
with weight become good (0), voxels outside every field of view become
``NON_SCIENCE | DO_NOT_USE`` and in-field voxels without weight become holes
(``DO_NOT_USE``), unless they touch the cube edge or a ``NON_SCIENCE`` voxel.

* MIRI: jwst's field-of-view test (``overlap_fov_with_spaxels``) never marks a voxel: its
  pre-filter compares each spaxel's y extent with ``etamin < y < etamax`` while ``etamax`` is
  never raised above ``etamin`` (a ``<`` written for ``>``), so the condition cannot hold.
  The MIRI intermediate plane is therefore all zeros, and the final DQ is decided by the
  weights alone; this module reproduces that outcome directly.
* NIRSpec: each slice's samples near a plane's wavelength are taken as a line from
  (xi_min, eta_min) to (xi_max, eta_max), walked with Bresenham's algorithm (including jwst's
  non-swapping "swap" of coordinates for steep lines and single-precision end points).
"""

from __future__ import annotations

import numpy as np

from spec3nb.datamodels.dq import DO_NOT_USE, NON_SCIENCE

OVERLAP_FULL = 2
OVERLAP_PARTIAL = 4
NO_COVERAGE = NON_SCIENCE | DO_NOT_USE


def _plane_pairs(wave: np.ndarray, zc: np.ndarray, roiw_ave: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(sample, plane) pairs with ``|zc - wave| < roiw_ave``."""
    start = np.clip(np.searchsorted(zc, wave - roiw_ave) - 1, 0, zc.size)
    stop = np.clip(np.searchsorted(zc, wave + roiw_ave, side="right") + 1, 0, zc.size)
    width = int(np.max(stop - start, initial=0))
    iz = start[:, None] + np.arange(width)[None, :]
    inside = iz < zc.size
    iz = np.where(inside, iz, 0)
    near = inside & (np.abs(zc[iz] - wave[:, None]) < roiw_ave)
    p, j = np.nonzero(near)
    return p, iz[p, j]


def _slice_extents(samples, zc: np.ndarray, roiw_ave: float
                   ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """Per (plane, slice) with samples: min/max xi and eta of those samples."""
    p, plane = _plane_pairs(samples.wave, zc, roiw_ave)
    islice = samples.slice_no[p].astype(np.int64) - 1
    ok = (islice >= 0) & (islice < 30)
    p, plane, islice = p[ok], plane[ok], islice[ok]
    key = plane * 30 + islice
    order = np.argsort(key, kind="stable")
    key, p = key[order], p[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    c1, c2 = samples.coord1[p], samples.coord2[p]
    ext = tuple(f.reduceat(c, starts) if starts.size else np.empty(0)
                for c in (c1, c2) for f in (np.minimum, np.maximum))
    return key[starts] // 30, key[starts] % 30, ext


def nirspec_fov(samples, xc: np.ndarray, yc: np.ndarray, zc: np.ndarray, cdelt1: float,
                cdelt2: float, roiw_ave: float) -> np.ndarray:
    """Intermediate DQ plane of one NIRSpec exposure (jwst ``dq_nirspec``).

    Parameters
    ----------
    samples : Samples
        The exposure's samples.
    xc, yc, zc : numpy.ndarray
        Spaxel and plane centres.
    cdelt1, cdelt2 : float
        Spaxel sizes.
    roiw_ave : float
        Wavelength half-window that selects a plane's samples.

    Returns
    -------
    numpy.ndarray
        (nz * ny * nx,) intermediate flags (0 or ``OVERLAP_PARTIAL``).
    """
    nx, ny = xc.size, yc.size
    dq = np.zeros(zc.size * ny * nx, dtype=np.uint8)
    if samples is None or samples.wave.size == 0:
        return dq
    plane, _, (c1min, c1max, c2min, c2max) = _slice_extents(samples, zc, roiw_ave)
    ok = (c1min != c1max) & (c2min != c2max)
    plane = plane[ok]
    # jwst passes the end points and the grid origin through single precision
    f32 = [np.float32(v[ok]).astype(np.float64) for v in (c1min, c2min, c1max, c2max)]
    x0, y0 = float(np.float32(xc[0])), float(np.float32(yc[0]))
    x1 = np.trunc((f32[0] - x0) / cdelt1).astype(np.int64)
    y1 = np.trunc((f32[1] - y0) / cdelt2).astype(np.int64)
    x2 = np.trunc((f32[2] - x0) / cdelt1).astype(np.int64)
    y2 = np.trunc((f32[3] - y0) / cdelt2).astype(np.int64)
    steep = np.abs(y2 - y1) > np.abs(x2 - x1)
    # jwst's "swap" assigns in sequence: x takes y's value and y keeps its own
    x1, x2 = np.where(steep, y1, x1), np.where(steep, y2, x2)
    back = x1 > x2
    x1, y1 = np.where(back, x2, x1), np.where(back, y2, y1)
    dx, dy = x2 - x1, y2 - y1
    error = np.trunc(dx / 2.0).astype(np.int64)
    ystep = np.where(y1 < y2, 1, -1)
    y = y1.copy()
    for t in range(int(np.max(dx, initial=-1)) + 1):
        active = t <= dx
        x = x1 + t
        xuse, yuse = np.where(steep, y, x), np.where(steep, x, y)
        index = yuse * nx + xuse
        valid = active & (index >= 0) & (index < nx * ny)
        dq[plane[valid] * nx * ny + index[valid]] = OVERLAP_PARTIAL
        error = np.where(active, error - np.abs(dy), error)
        step = active & (error < 0)
        y = np.where(step, y + ystep, y)
        error = np.where(step, error + dx, error)
    return dq


def final_dq(fov: np.ndarray, weight: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """The cube's DQ from the intermediate flags and the weights (``set_final_dq_flags``).

    Parameters
    ----------
    fov : numpy.ndarray
        OR of the exposures' intermediate flags (flattened cube).
    weight : numpy.ndarray
        Sum of weights (flattened cube).
    shape : tuple[int, int, int]
        (nz, ny, nx).

    Returns
    -------
    numpy.ndarray
        (nz, ny, nx) uint32 DQ: 0, ``DO_NOT_USE`` (hole) or ``NON_SCIENCE | DO_NOT_USE``.
    """
    dq = fov.astype(np.int64).copy()
    dq[weight > 0] = OVERLAP_PARTIAL
    dq[dq == 0] = NO_COVERAGE
    dq[(dq & (OVERLAP_FULL | OVERLAP_PARTIAL)) != 0] = 0
    dq[(dq == 0) & (weight == 0)] = DO_NOT_USE
    dq = dq.reshape(shape)
    holes = dq == DO_NOT_USE
    if holes.any():
        dq[_holes_to_fill(dq, holes)] = NO_COVERAGE
    return dq.astype(np.uint32)


def _holes_to_fill(dq: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """Holes that jwst turns into NON_SCIENCE: on the cube edge, or next to NON_SCIENCE.

    jwst visits holes in index order and updates in place, so a converted hole converts the
    holes after it (right and up); the left/down neighbours are only checked from the
    second column/row on. The sequential result is the fixed point computed here.
    """
    nz, ny, nx = dq.shape
    ns = (dq & NON_SCIENCE) == NON_SCIENCE
    yy, xx = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    edge = (xx == 0) | (xx == nx - 1) | (yy == 0) | (yy == ny - 1)
    later = np.zeros_like(holes)
    later[:, :, :-1] |= ns[:, :, 1:]
    later[:, :-1, :] |= ns[:, 1:, :]
    fixed = holes & (edge[None] | later)
    left_ok, down_ok = (xx >= 2)[None], (yy >= 2)[None]
    for _ in range(nx * ny + 1):
        state = ns | fixed
        left = np.zeros_like(holes)
        left[:, :, 1:] = state[:, :, :-1]
        down = np.zeros_like(holes)
        down[:, 1:, :] = state[:, :-1, :]
        grown = fixed | (holes & ((left & left_ok) | (down & down_ok)))
        if np.array_equal(grown, fixed):
            break
        fixed = grown
    return fixed


def spectral_tear(flux: np.ndarray, wmap: np.ndarray, var: np.ndarray,
                  dq: np.ndarray) -> int:
    """Blank the MIRI planes with too few good spaxels (in place); return how many.

    Planes whose count of good spaxels is above 0 but below 75 % of the 3rd percentile of
    the non-zero counts get flux, weight map and variance 0 and DQ ``NON_SCIENCE |
    DO_NOT_USE`` (jwst's fix for tears at band ends).
    """
    ngood = np.count_nonzero(dq == 0, axis=(1, 2))
    if not np.any(ngood > 0):
        return 0
    threshold = np.percentile(ngood[ngood > 0], 3)
    low = (ngood > 0) & (ngood < 0.75 * threshold)
    flux[low], wmap[low], var[low] = 0, 0, 0
    dq[low] = NO_COVERAGE
    return int(low.sum())
