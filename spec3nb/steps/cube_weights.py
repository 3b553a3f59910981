"""cube_build weighting: detector samples -> cube voxels, with numpy array code.

jwst 3.0.0 loops in C over every detector sample and every candidate voxel (reference
3.9.7). Here the (sample, voxel) pairs inside each sample's region of influence are built as
arrays, chunk by chunk, their weights computed with the same arithmetic as jwst's C code, and
summed into the cube with ``np.bincount`` over the short range of voxels a chunk touches
(samples are processed in wavelength order, so a chunk touches a few wavelength planes).

* ``emsm``: ``w = exp(-(dx^2 + dy^2 + dz^2) / (scalerad / cdelt1))`` with dx, dy, dz in
  spaxel/plane units, for spaxels within ``rois`` (box and circle) and planes within
  ``roiw``;
* ``msm``: ``w = 1 / max(r^p, softrad)``;
* ``drizzle``: spatial overlap area of the sample's footprint with the spaxel (exact,
  see :func:`overlap_area`) times the wavelength overlap.

Each accumulator is float64: flux ``F``, weight ``W``, variance ``V`` and count ``N``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

#: Overlaps below this fraction of a spaxel are recomputed with jwst's clipping.
SLIVER = 1e-5
#: Distance (arcsec) beyond which jwst's rounding (~1e-8 arcsec) cannot create an overlap.
NEAR = 1e-6
#: Pairs (sample, voxel) built at once; bounds the temporary memory (a few hundred bytes a pair).
PAIR_BUDGET = 1_000_000


@dataclasses.dataclass
class Accumulator:
    """Flux, weight, variance and count sums over a flattened cube."""

    flux: np.ndarray
    weight: np.ndarray
    var: np.ndarray
    count: np.ndarray

    @classmethod
    def zeros(cls, size: int) -> Accumulator:
        """Empty sums for a cube of `size` voxels."""
        return cls(*(np.zeros(size, dtype=np.float64) for _ in range(4)))

    def add(self, voxel: np.ndarray, weight: np.ndarray, flux: np.ndarray,
            err: np.ndarray) -> None:
        """Add weighted samples to their voxels (bincount over the touched range)."""
        if voxel.size == 0:
            return
        lo, hi = int(voxel.min()), int(voxel.max()) + 1
        local = voxel - lo
        n = hi - lo
        ew = err * weight
        self.flux[lo:hi] += np.bincount(local, flux * weight, minlength=n)
        self.weight[lo:hi] += np.bincount(local, weight, minlength=n)
        self.var[lo:hi] += np.bincount(local, ew * ew, minlength=n)
        self.count[lo:hi] += np.bincount(local, minlength=n)


@dataclasses.dataclass(frozen=True)
class Samples:
    """Detector samples of one exposure in one band, mapped to the cube frame.

    ``coord1``, ``coord2`` are the tangent-plane coordinates (arcsec) of the pixel centres,
    ``corners`` the four corners (xi1, eta1 ... xi4, eta4) for drizzle; the ROI arrays are
    per sample (constant for linear cubes, from the nearest table row otherwise).
    """

    coord1: np.ndarray
    coord2: np.ndarray
    wave: np.ndarray
    flux: np.ndarray
    err: np.ndarray
    slice_no: np.ndarray
    dwave: np.ndarray | None = None
    corners: tuple[np.ndarray, ...] | None = None
    rois: np.ndarray | None = None
    roiw: np.ndarray | None = None
    power: np.ndarray | None = None
    softrad: np.ndarray | None = None
    scalerad: np.ndarray | None = None

    def take(self, index: np.ndarray) -> Samples:
        """The samples at `index` (all per-sample arrays)."""
        changes: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray):
                changes[field.name] = value[index]
            elif isinstance(value, tuple):
                changes[field.name] = tuple(v[index] for v in value)
        return dataclasses.replace(self, **changes)


def _windows(centres: np.ndarray, lo: np.ndarray, hi: np.ndarray, margin: int = 1
             ) -> tuple[np.ndarray, np.ndarray]:
    """Candidate index ranges of sorted `centres` covering [lo, hi], `margin` more each side.

    Returns the first index and the window width (the same for all samples).
    """
    start = np.searchsorted(centres, lo, side="left") - margin
    stop = np.searchsorted(centres, hi, side="right") + margin
    start = np.clip(start, 0, centres.size)
    stop = np.clip(stop, 0, centres.size)
    width = int(np.max(stop - start)) if start.size else 0
    return start, np.arange(max(width, 0))


def _candidates(centres: np.ndarray, value: np.ndarray, radius: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices i with ``|centres[i] - value| <= radius`` (jwst's test), as (n, w) arrays.

    Returns the index array, a validity mask and the absolute distances.
    """
    # the window is found with the radius widened far beyond rounding (1e-9 relative),
    # and then every candidate gets jwst's exact test: no window margin is needed
    eps = 1e-9 * (float(np.max(np.abs(centres))) + float(np.max(radius)) + 1.0)
    start, offsets = _windows(centres, value - radius - eps, value + radius + eps, margin=0)
    index = start[:, None] + offsets[None, :]
    inside = index < centres.size
    index = np.where(inside, index, 0)
    dist = np.abs(centres[index] - value[:, None])
    ok = inside & (dist <= radius[:, None])
    return index, ok, dist


def _chunks(n: int, pairs_per_sample: int) -> range:
    step = max(1, PAIR_BUDGET // max(1, pairs_per_sample))
    return range(0, n, step)


# ----------------------------------------------------------------------------- point cloud


def _spatial_pairs(s: Samples, xc: np.ndarray, yc: np.ndarray, cdelt1: float,
                   cdelt2: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sample, spaxel, squared distance in spaxels) of every spaxel in a sample's ROI.

    A spaxel is in the ROI when ``|dx| <= rois``, ``|dy| <= rois`` and
    ``sqrt(dx^2 + dy^2) <= rois`` (jwst's three tests, in arcsec).
    """
    ix, okx, dx = _candidates(xc, s.coord1, s.rois)
    iy, oky, dy = _candidates(yc, s.coord2, s.rois)
    radius = np.sqrt(dx[:, :, None] * dx[:, :, None] + dy[:, None, :] * dy[:, None, :])
    spatial = okx[:, :, None] & oky[:, None, :] & (radius <= s.rois[:, None, None])
    p, jx, jy = np.nonzero(spatial)
    d1 = dx[p, jx] / cdelt1
    d2 = dy[p, jy] / cdelt2
    return p, iy[p, jy] * xc.size + ix[p, jx], d1 * d1 + d2 * d2


def _first_planes(zc: np.ndarray, wave: np.ndarray, roiw: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """First plane and number of planes with ``|zc - wave| <= roiw`` (a contiguous run)."""
    # searchsorted finds the run; the explicit test on its ends keeps jwst's <= exactly
    lo = np.clip(np.searchsorted(zc, wave - roiw, side="left") - 1, 0, zc.size - 1)
    lo = lo + (np.abs(zc[lo] - wave) > roiw)
    hi = np.clip(np.searchsorted(zc, wave + roiw, side="right"), 0, zc.size - 1)
    hi = hi - (np.abs(zc[hi] - wave) > roiw)
    return lo, np.maximum(hi - lo + 1, 0)


def pointcloud(samples: Samples, xc: np.ndarray, yc: np.ndarray, zc: np.ndarray,
               cdelt3: np.ndarray, cdelt1: float, cdelt2: float, weighting: str,
               acc: Accumulator) -> None:
    """Accumulate samples with the (E)MSM weights (jwst ``match_point_emsm``/``msm``).

    A sample's region of influence is a set of spaxels (its spatial pairs) times a run of
    consecutive planes. The spatial pairs are built once; then, for the m-th plane of every
    sample's run, the weights of all spatial pairs are computed and summed into the cube
    with one ``bincount`` over voxel keys that are the same for every m, only shifted by m
    planes. That touches each (sample, voxel) pair once, without building their index.

    Parameters
    ----------
    samples : Samples
        The detector samples (with ROI arrays), sorted by wavelength.
    xc, yc, zc : numpy.ndarray
        Spaxel and plane centres.
    cdelt3 : numpy.ndarray
        Plane widths (``cdelt3_normal``).
    cdelt1, cdelt2 : float
        Spaxel sizes (arcsec).
    weighting : str
        ``emsm`` or ``msm``.
    acc : Accumulator
        The sums to add to.
    """
    n = samples.wave.size
    if n == 0:
        return
    rois_max = float(np.max(samples.rois))
    nxy_guess = (2 * rois_max / cdelt1 + 3) * (2 * rois_max / cdelt2 + 3)
    chunks = _chunks(n, int(nxy_guess) * 4)  # the spatial pairs' arrays, a few per pair
    nxy = xc.size * yc.size
    for start in chunks:
        s = samples.take(slice(start, start + chunks.step))
        k0, nplanes = _first_planes(zc, s.wave, s.roiw)
        p, spaxel, dxy = _spatial_pairs(s, xc, yc, cdelt1, cdelt2)
        # pairs with the longest plane runs first: the pairs of plane m are then a prefix
        order = np.argsort(-nplanes[p], kind="stable")
        p, spaxel, dxy = p[order], spaxel[order], dxy[order]
        runs = nplanes[p]
        if p.size == 0 or runs[0] == 0:
            continue
        key = k0[p] * nxy + spaxel  # voxel in the first plane of the sample's run
        lo = int(key.min())
        pairs = {"p": p, "key": key - lo, "flux": s.flux[p], "err2": s.err[p] * s.err[p]}
        if weighting == "emsm":
            # exp(-(dxy + dz^2)/s) = exp(-dxy/s) exp(-dz^2/s): one exp per spatial pair and
            # one per sample and plane, instead of one per (sample, voxel) pair
            pairs["exy"] = np.exp(-dxy / (s.scalerad[p] / cdelt1))
            scale = s.scalerad / cdelt1
        else:
            pairs["dxy"], pairs["power"], pairs["softrad"] = dxy, s.power[p], s.softrad[p]
        # number of pairs whose run is longer than m (runs is in decreasing order)
        counts = np.searchsorted(-runs, -np.arange(int(runs[0])), side="left")
        for m, count in enumerate(counts.tolist()):
            plane = np.minimum(k0 + m, zc.size - 1)
            dz = (s.wave - zc[plane]) / cdelt3[plane]
            if weighting == "emsm":
                per_sample = np.exp(-(dz * dz) / scale)
            else:
                per_sample = dz * dz
            _add_plane({k: v[:count] for k, v in pairs.items()}, per_sample, weighting,
                       acc, lo + m * nxy)


def _add_plane(pairs: dict[str, np.ndarray], per_sample: np.ndarray, weighting: str,
               acc: Accumulator, offset: int) -> None:
    """Sum the weights of spatial pairs at one plane of their samples' runs into the cube.

    `per_sample` is the spectral factor of the emsm weight, or the squared spectral
    distance (in planes) for msm.
    """
    if weighting == "emsm":
        ww = pairs["exy"] * per_sample[pairs["p"]]
    else:
        w = per_sample[pairs["p"]] + pairs["dxy"]  # jwst's squared distance in spaxels/planes
        ww = 1.0 / np.maximum(np.power(np.sqrt(w), pairs["power"]), pairs["softrad"])
    keys = pairs["key"]
    span = int(keys.max()) + 1
    end = offset + span
    err_w = pairs["err2"] * ww
    acc.flux[offset:end] += np.bincount(keys, pairs["flux"] * ww, minlength=span)
    acc.weight[offset:end] += np.bincount(keys, ww, minlength=span)
    acc.var[offset:end] += np.bincount(keys, err_w * ww, minlength=span)
    acc.count[offset:end] += np.bincount(keys, minlength=span)


# ----------------------------------------------------------------------------- drizzle


def overlap_area(px: np.ndarray, py: np.ndarray, left: np.ndarray, right: np.ndarray,
                 bottom: np.ndarray, top: np.ndarray) -> np.ndarray:
    """Area of the overlap of quadrilaterals with axis-aligned boxes (exact, vectorised).

    The boundary integral of ``clamp(y, bottom, top) - bottom`` along each edge, with x
    limited to [left, right], sums to the signed area of the polygon inside the box. For a
    linear edge the clamp is piecewise linear, so each edge's integral is its x extent times
    the mean of the clamped height, computed from the fractions of the edge below, inside
    and above the box. jwst clips polygons (Sutherland-Hodgman) with a single-precision
    slope; the two agree to about 1e-7 relative.

    Parameters
    ----------
    px, py : numpy.ndarray
        (n, 4) corners of the quadrilaterals, in order around the polygon.
    left, right, bottom, top : numpy.ndarray
        (n,) box edges.

    Returns
    -------
    numpy.ndarray
        (n,) overlap areas.
    """
    lft, r, b, t = (np.asarray(v, dtype=np.float64)[:, None]
                    for v in (left, right, bottom, top))
    nxt = [1, 2, 3, 0]
    x2, y2 = px[:, nxt], py[:, nxt]
    dx = x2 - px
    xa = np.minimum(np.maximum(px, lft), r)
    xb = np.minimum(np.maximum(x2, lft), r)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (y2 - py) / dx
        slope[dx == 0] = 0.0
        ya = py + slope * (xa - px)
        yb = py + slope * (xb - px)
        lo, hi = np.minimum(ya, yb), np.maximum(ya, yb)
        span = hi - lo
        mlo, mhi = np.maximum(lo, b), np.minimum(hi, t)
        inside = np.maximum(mhi - mlo, 0.0)
        above = np.maximum(hi - np.maximum(lo, t), 0.0)
        mean = (inside * (0.5 * (mhi + mlo) - b) + above * (t - b)) / span
        flat = span == 0
        mean[flat] = (np.minimum(np.maximum(lo, b), t) - b)[flat]
    return np.abs(np.sum((xb - xa) * mean, axis=1))


def _intersect(edge: int, x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray,
               bound: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Crossing of segment (1)-(2) with a box edge, as jwst's C (slope in float32)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        slope = np.where(x2 != x1, (y2 - y1) / np.where(x2 != x1, x2 - x1, 1.0), 0.0)
        m = slope.astype(np.float32)
        if edge < 2:  # left, right: x fixed
            return bound, y1 + m.astype(np.float64) * (bound - x1)
        inv = (np.float32(1.0) / m).astype(np.float64)
        x = np.where(x1 != x2, x1 + inv * (bound - y1), x1)
        return x, bound


def clip_area(px: np.ndarray, py: np.ndarray, left: np.ndarray, right: np.ndarray,
              bottom: np.ndarray, top: np.ndarray) -> np.ndarray:
    """Overlap areas by jwst's polygon clipping (Sutherland-Hodgman, float32 slope).

    Slow (a loop over edges and vertices); used only where the overlap is so small that
    whether it is zero depends on jwst's rounding, which decides whether a sample counts
    in a voxel at all (WMAP, and the voxel's DQ).

    Parameters
    ----------
    px, py : numpy.ndarray
        (n, 4) corners of the quadrilaterals, in order.
    left, right, bottom, top : numpy.ndarray
        (n,) box edges.

    Returns
    -------
    numpy.ndarray
        (n,) overlap areas.
    """
    n = px.shape[0]
    rows = np.arange(n)
    xs, ys = np.zeros((n, 10)), np.zeros((n, 10))
    xs[:, :4], ys[:, :4] = px, py
    xs[:, 4], ys[:, 4] = px[:, 0], py[:, 0]
    xnew, ynew = np.zeros((n, 10)), np.zeros((n, 10))
    nv = np.full(n, 4)
    for edge, bound in enumerate((left, right, bottom, top)):
        count = np.zeros(n, dtype=np.int64)
        coord = xs if edge < 2 else ys
        for j in range(int(nv.max()) if n else 0):
            act = j < nv
            if edge in (0, 2):
                in1, in2 = coord[:, j] > bound, coord[:, j + 1] > bound
            else:
                in1, in2 = coord[:, j] < bound, coord[:, j + 1] < bound
            cross = act & (in1 != in2)
            r = rows[cross]
            if r.size:
                xi, yi = _intersect(edge, xs[r, j], ys[r, j], xs[r, j + 1], ys[r, j + 1],
                                    bound[r])
                xnew[r, count[r]], ynew[r, count[r]] = xi, yi
                count[r] += 1
            r = rows[act & in2]  # the segment ends inside: its end point stays
            xnew[r, count[r]], ynew[r, count[r]] = xs[r, j + 1], ys[r, j + 1]
            count[r] += 1
        # close with the first point (a stale one when nothing is left, as jwst's C does)
        xnew[rows, count], ynew[rows, count] = xnew[:, 0], ynew[:, 0]
        nv = count
        xs, ys = xnew.copy(), ynew.copy()
    used = np.arange(10)[None, :] < (nv + 1)[:, None]
    xmin = np.where(used, xs, np.inf).min(1)
    ymin = np.where(used, ys, np.inf).min(1)
    area = np.zeros(n)
    for i in range(9):
        term = ((xs[:, i] - xmin) * (ys[:, i + 1] - ymin)
                - (xs[:, i + 1] - xmin) * (ys[:, i] - ymin))
        area = np.where(i < nv, area + term, area)
    return np.abs(0.5 * area)


def _box_range(lo: np.ndarray, hi: np.ndarray, c0: float, cdelt: float, n: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """jwst's candidate spaxel range (with its ``fabs`` and truncation to int)."""
    half = cdelt / 2.0
    i1 = np.trunc(np.abs((lo - half - c0) / cdelt) - 1).astype(np.int64)
    i2 = np.trunc(np.abs((hi + half - c0) / cdelt) + 1).astype(np.int64)
    return np.maximum(i1, 0), np.minimum(i2, n)


def _spatial_overlaps(s: Samples, xc: np.ndarray, yc: np.ndarray, cdelt1: float,
                      cdelt2: float) -> tuple[np.ndarray, ...]:
    """(sample, ix, iy, area > 0) of every spaxel a sample's footprint overlaps."""
    px = np.stack(s.corners[0::2], axis=1)
    py = np.stack(s.corners[1::2], axis=1)
    xmin, xmax, ymin, ymax = px.min(1), px.max(1), py.min(1), py.max(1)
    ix1, ix2 = _box_range(xmin, xmax, xc[0], cdelt1, xc.size)
    iy1, iy2 = _box_range(ymin, ymax, yc[0], cdelt2, yc.size)
    wx = int(np.max(ix2 - ix1, initial=0))
    wy = int(np.max(iy2 - iy1, initial=0))
    ix = ix1[:, None] + np.arange(max(wx, 0))[None, :]
    iy = iy1[:, None] + np.arange(max(wy, 0))[None, :]
    okx = (ix < ix2[:, None]) & (xc[np.minimum(ix, xc.size - 1)] - cdelt1 * 0.5 < xmax[:, None]) \
        & (xc[np.minimum(ix, xc.size - 1)] + cdelt1 * 0.5 > xmin[:, None])
    oky = (iy < iy2[:, None]) & (yc[np.minimum(iy, yc.size - 1)] - cdelt2 * 0.5 < ymax[:, None]) \
        & (yc[np.minimum(iy, yc.size - 1)] + cdelt2 * 0.5 > ymin[:, None])
    p, jx, jy = np.nonzero(okx[:, :, None] & oky[:, None, :])
    kx, ky = ix[p, jx], iy[p, jy]
    box = (xc[kx] - 0.5 * cdelt1, xc[kx] + 0.5 * cdelt1, yc[ky] - 0.5 * cdelt2,
           yc[ky] + 0.5 * cdelt2)
    area = overlap_area(px[p], py[p], *box)
    # slivers: whether they count at all follows jwst's rounding (WMAP and DQ depend on it)
    tiny = np.flatnonzero(area < SLIVER * cdelt1 * cdelt2)
    if tiny.size:
        # clearly apart (no overlap even with the box grown by NEAR): zero for jwst too
        grown = (box[0][tiny] - NEAR, box[1][tiny] + NEAR, box[2][tiny] - NEAR,
                 box[3][tiny] + NEAR)
        near = tiny[overlap_area(px[p[tiny]], py[p[tiny]], *grown) > 0]
        area[tiny] = 0.0  # the exact formula leaves ~1e-18 of rounding where there is none
        area[near] = clip_area(px[p[near]], py[p[near]], *(b[near] for b in box))
    good = area > 0
    return p[good], kx[good], ky[good], area[good]


def _wave_overlaps(s: Samples, zc: np.ndarray, cdelt3: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sample, plane, overlap > 0) of every plane a sample's wavelength range overlaps."""
    reach = s.dwave + float(np.max(cdelt3))
    start, offsets = _windows(zc, s.wave - reach, s.wave + reach)
    iz = start[:, None] + offsets[None, :]
    inside = iz < zc.size
    iz = np.where(inside, iz, 0)
    z, c3 = zc[iz], cdelt3[iz]
    w, dw = s.wave[:, None], s.dwave[:, None]
    near = inside & (np.abs(z - w) < np.abs(dw + c3))
    ptmin, ptmax = w - dw / 2, w + dw / 2
    spxmin, spxmax = z - c3 / 2, z + c3 / 2
    z1 = np.maximum(spxmax - ptmin, 0.0)
    z2 = np.maximum(spxmax - ptmax, 0.0)
    z3 = np.maximum(spxmin - ptmin, 0.0)
    overlap = np.maximum(z1 - z2 - z3, 0.0)
    p, j = np.nonzero(near & (overlap > 0))
    return p, iz[p, j], overlap[p, j]


def drizzle(samples: Samples, xc: np.ndarray, yc: np.ndarray, zc: np.ndarray,
            cdelt3: np.ndarray, cdelt1: float, cdelt2: float, acc: Accumulator) -> None:
    """Accumulate samples with 3-D drizzle weights (jwst ``match_driz``).

    Parameters
    ----------
    samples : Samples
        The detector samples with their footprint corners and ``dwave``.
    xc, yc, zc : numpy.ndarray
        Spaxel and plane centres.
    cdelt3 : numpy.ndarray
        Plane widths.
    cdelt1, cdelt2 : float
        Spaxel sizes (arcsec).
    acc : Accumulator
        The sums to add to.
    """
    nx, nxy = xc.size, xc.size * yc.size
    n = samples.wave.size
    chunks = _chunks(n, 40)
    for start in chunks:
        s = samples.take(slice(start, start + chunks.step))
        sp, kx, ky, area = _spatial_overlaps(s, xc, yc, cdelt1, cdelt2)
        wp, kz, zov = _wave_overlaps(s, zc, cdelt3)
        # every spatial overlap of a sample times every plane overlap of the same sample
        order = np.argsort(wp, kind="stable")
        wp, kz, zov = wp[order], kz[order], zov[order]
        nplanes = np.bincount(wp, minlength=s.wave.size)
        first = np.concatenate([[0], np.cumsum(nplanes)[:-1]])
        reps = nplanes[sp]
        pair = np.repeat(np.arange(sp.size), reps)
        rank = np.arange(pair.size) - np.repeat(np.cumsum(reps) - reps, reps)
        zpos = first[sp[pair]] + rank
        weight = area[pair] * zov[zpos]
        voxel = kz[zpos] * nxy + ky[pair] * nx + kx[pair]
        acc.add(voxel, weight, s.flux[sp[pair]], s.err[sp[pair]])
