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
* ``drizzle``: spatial overlap area of the sample's footprint with the spaxel (exact, from
  areas below the grid lines, :func:`_area_below`) times the wavelength overlap.

Arrays of the drizzle kernel keep the samples along their last axis: numpy's loops are then
long and contiguous (on short innermost axes its per-loop overhead dominates).

Each accumulator is float64: flux ``F``, weight ``W``, variance ``V`` and count ``N``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Overlaps below this fraction of a spaxel are recomputed with jwst's clipping.
SLIVER = 1e-5
#: Distance (arcsec) beyond which jwst's rounding (~1e-8 arcsec) cannot create an overlap.
NEAR = 1e-6
#: Pairs (sample, voxel) built at once; bounds the temporary memory (a few hundred bytes a pair).
PAIR_BUDGET = 1_000_000
#: Drizzle: PAIR_BUDGET / DRIZZLE_PAIRS samples a chunk (~12 (column, line) values each).
DRIZZLE_PAIRS = 128


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


def _cells(lo: np.ndarray, hi: np.ndarray, cell_lo: np.ndarray, cell_hi: np.ndarray,
           first: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First index and number of the cells in [first, stop) whose extent overlaps (lo, hi).

    A cell k is kept when ``cell_lo[k] < hi`` and ``cell_hi[k] > lo`` (strict, as the
    bounding-box test before jwst's clipping); both bounds rise with k, so the kept cells
    are one run. NaN extents (samples without corners) keep none.
    """
    start = np.maximum(np.searchsorted(cell_hi, lo, side="right"), first)
    end = np.minimum(np.searchsorted(cell_lo, hi, side="left"), stop)
    return start, np.maximum(end - start, 0)


def _area_below(xs: Sequence[np.ndarray], ys: Sequence[np.ndarray], left: np.ndarray,
                right: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """Signed area of each quadrilateral inside each column and below each line.

    By Green's theorem that area is the integral of ``max(c - y, 0) dx`` along the polygon's
    edges clipped to the column (the column's sides have no x extent). On a clipped edge y
    runs linearly between ``lo`` and ``lo + span``; with ``g = c - lo`` and ``d = clip(g, 0,
    span)`` the integral is ``width * d * (g - d / 2) / span`` (``width * max(g, 0)`` for a
    level edge), free of cancellation. A box's overlap is the difference of two lines'
    values: edges are clipped once per column and rows share their lines.

    Parameters
    ----------
    xs, ys : sequence of numpy.ndarray
        The 4 corners' (n,) coordinates, in order around each polygon (near 0).
    left, right : numpy.ndarray
        (w, n) column bounds.
    lines : numpy.ndarray
        (m, n) line heights.

    Returns
    -------
    numpy.ndarray
        (w, m, n) signed areas (the sign of each polygon's orientation).
    """
    shape = (left.shape[0], lines.shape[0], left.shape[1])
    total = np.zeros(shape)
    g, d = np.empty(shape), np.empty(shape)
    for e in range(4):
        x1, y1, x2, y2 = xs[e], ys[e], xs[(e + 1) % 4], ys[(e + 1) % 4]
        run = x2 - x1
        slope = np.divide(y2 - y1, run, out=np.zeros_like(run), where=run != 0)
        xa = np.minimum(np.maximum(x1, left), right)
        xb = np.minimum(np.maximum(x2, left), right)
        ya, yb = y1 + slope * (xa - x1), y1 + slope * (xb - x1)
        lo = np.minimum(ya, yb)
        span = np.maximum(ya, yb) - lo
        width = xb - xa
        scale = np.divide(width, span, out=np.zeros_like(span), where=span > 0)
        lo, span, scale = lo[:, None], span[:, None], scale[:, None]
        np.subtract(lines, lo, out=g)
        np.maximum(g, 0.0, out=d)
        np.minimum(d, span, out=d)
        # g <- d * (g - d / 2) * scale, in place
        d *= 0.5
        g -= d
        g *= d
        g *= 2.0 * scale
        total += g
        level = (span == 0) & (width[:, None] != 0)
        if level.any():  # a horizontal edge: the integrand is constant along it
            total += np.where(level, width[:, None], 0.0) * np.maximum(lines - lo, 0.0)
    return total


def _apart(xs: Sequence[np.ndarray], ys: Sequence[np.ndarray], box: Sequence[np.ndarray],
           margin: float) -> np.ndarray:
    """Whether each box, grown by `margin`, lies wholly outside its quadrilateral.

    True when one edge of the quadrilateral has the other corners on one side (a supporting
    line) and the whole grown box strictly on the other: a cheap, conservative test (False
    does not mean the two overlap).
    """
    left, right = box[0] - margin, box[1] + margin
    bottom, top = box[2] - margin, box[3] + margin
    apart = np.zeros(left.shape, dtype=bool)
    for e in range(4):
        x1, y1, x2, y2 = xs[e], ys[e], xs[(e + 1) % 4], ys[(e + 1) % 4]
        # side(P) = (x2 - x1)(Py - y1) - (y2 - y1)(Px - x1), linear in P
        a, b = x2 - x1, -(y2 - y1)
        others = [a * (ys[k] - y1) + b * (xs[k] - x1) for k in ((e + 2) % 4, (e + 3) % 4)]
        inner = np.where(others[0] + others[1] >= 0, 1.0, -1.0)
        supporting = (others[0] * inner >= 0) & (others[1] * inner >= 0)
        # the box's largest value of inner * side(P) is at one of its corners
        ai, bi = a * inner, b * inner
        most = ai * (np.where(ai > 0, top, bottom) - y1) + bi * (np.where(bi > 0, right, left)
                                                                - x1)
        apart |= supporting & (most < 0)
    return apart


def _spatial_overlaps(s: Samples, xc: np.ndarray, yc: np.ndarray, cdelt1: float,
                      cdelt2: float) -> tuple[np.ndarray, ...]:
    """(sample, ix, iy, area > 0) of every spaxel a sample's footprint overlaps.

    The candidate spaxels are jwst's (its index range, then the bounding-box test); their
    overlaps come from :func:`_area_below` on the sample's columns and row lines.
    """
    xs, ys = s.corners[0::2], s.corners[1::2]
    xmin = np.minimum(np.minimum(xs[0], xs[1]), np.minimum(xs[2], xs[3]))
    xmax = np.maximum(np.maximum(xs[0], xs[1]), np.maximum(xs[2], xs[3]))
    ymin = np.minimum(np.minimum(ys[0], ys[1]), np.minimum(ys[2], ys[3]))
    ymax = np.maximum(np.maximum(ys[0], ys[1]), np.maximum(ys[2], ys[3]))
    xl, xr = xc - cdelt1 * 0.5, xc + cdelt1 * 0.5
    yl, yr = yc - cdelt2 * 0.5, yc + cdelt2 * 0.5
    x0, nx = _cells(xmin, xmax, xl, xr, *_box_range(xmin, xmax, xc[0], cdelt1, xc.size))
    y0, ny = _cells(ymin, ymax, yl, yr, *_box_range(ymin, ymax, yc[0], cdelt2, yc.size))
    wx, wy = int(np.max(nx, initial=0)), int(np.max(ny, initial=0))
    if wx == 0 or wy == 0:
        return (np.empty(0, dtype=np.int64),) * 3 + (np.empty(0),)
    ix = np.minimum(x0 + np.arange(wx)[:, None], xc.size - 1)
    iy = np.minimum(y0 + np.arange(wy)[:, None], yc.size - 1)
    # local coordinates (origin at each footprint's lower left) keep the sums precise
    ox, oy = (np.where(np.isfinite(v), v, 0.0) for v in (xmin, ymin))
    # row j lies between lines j and j + 1: the rows' lower edges, then the grid's top edge
    lines = np.append(yl, yr[-1])[np.minimum(y0 + np.arange(wy + 1)[:, None], yc.size)] - oy
    below = _area_below([x - ox for x in xs], [y - oy for y in ys], xl[ix] - ox, xr[ix] - ox,
                        lines)
    area = np.abs(below[:, 1:] - below[:, :-1]).ravel()
    valid = ((np.arange(wx)[:, None] < nx)[:, None] & (np.arange(wy)[:, None] < ny)).ravel()
    flat = np.flatnonzero(valid)
    area, n = area[flat], xmin.size
    cell, p = np.divmod(flat, n)
    kx, ky = ix.ravel()[cell // wy * n + p], iy.ravel()[cell % wy * n + p]
    # slivers: whether they count at all follows jwst's rounding (WMAP and DQ depend on it)
    tiny = np.flatnonzero(area < SLIVER * cdelt1 * cdelt2)
    area[tiny] = 0.0  # the sums leave ~1e-18 of rounding where there is no overlap
    box = (xl[kx[tiny]], xr[kx[tiny]], yl[ky[tiny]], yr[ky[tiny]])
    # clearly apart (even with the box grown by NEAR): zero for jwst too
    near = ~_apart([x[p[tiny]] for x in xs], [y[p[tiny]] for y in ys], box, NEAR)
    if near.any():
        t = p[tiny[near]]
        area[tiny[near]] = clip_area(np.stack([x[t] for x in xs], axis=1),
                                     np.stack([y[t] for y in ys], axis=1),
                                     *(b[near] for b in box))
    good = np.flatnonzero(area > 0)
    return p[good], kx[good], ky[good], area[good]


def _wave_overlaps(s: Samples, zc: np.ndarray, cdelt3: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each sample's planes with a wavelength overlap (jwst's tests), packed to the front.

    Returns (m, n) plane indices and overlaps (0 past a sample's last plane), and the
    number of planes of each of the n samples. Samples run along the last axis.
    """
    reach = s.dwave + float(np.max(cdelt3))
    start, offsets = _windows(zc, s.wave - reach, s.wave + reach)
    iz = start + offsets[:, None]
    inside = iz < zc.size
    iz = np.where(inside, iz, 0)
    z, c3 = zc[iz], cdelt3[iz]
    w, dw = s.wave, s.dwave
    near = inside & (np.abs(z - w) < np.abs(dw + c3))
    ptmin, ptmax = w - dw / 2, w + dw / 2
    spxmin, spxmax = z - c3 / 2, z + c3 / 2
    # jwst's overlap of [ptmin, ptmax] with the plane [spxmin, spxmax]
    overlap = np.maximum(np.maximum(spxmax - ptmin, 0.0) - np.maximum(spxmax - ptmax, 0.0)
                         - np.maximum(spxmin - ptmin, 0.0), 0.0)
    ok = near & (overlap > 0)
    rank = np.cumsum(ok, axis=0) - 1
    count = rank[-1] + 1 if rank.size else np.zeros(w.size, dtype=np.int64)
    j, p = np.nonzero(ok)
    m = int(np.max(count, initial=0))
    planes, overlaps = np.zeros((m, w.size), dtype=np.int64), np.zeros((m, w.size))
    r = rank[j, p]
    planes[r, p], overlaps[r, p] = iz[j, p], overlap[j, p]
    return planes, overlaps, count


def drizzle(samples: Samples, xc: np.ndarray, yc: np.ndarray, zc: np.ndarray,
            cdelt3: np.ndarray, cdelt1: float, cdelt2: float, acc: Accumulator) -> None:
    """Accumulate samples with 3-D drizzle weights (jwst ``match_driz``).

    Each spatial overlap of a sample is summed into the cube once per plane its wavelength
    range overlaps: with the sample's first, second ... plane in turn, so the spatial pairs
    are built once and no (sample, voxel) index is expanded.

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
    chunks = _chunks(samples.wave.size, DRIZZLE_PAIRS)
    for start in chunks:
        s = samples.take(slice(start, start + chunks.step))
        sp, kx, ky, area = _spatial_overlaps(s, xc, yc, cdelt1, cdelt2)
        planes, overlaps, count = _wave_overlaps(s, zc, cdelt3)
        spaxel = ky * nx + kx
        flux, err, runs = s.flux[sp], s.err[sp], count[sp]
        for m in range(planes.shape[0]):
            sel = np.flatnonzero(runs > m)
            if sel.size < sp.size:
                q, vox, a, f, e = sp[sel], spaxel[sel], area[sel], flux[sel], err[sel]
            else:
                q, vox, a, f, e = sp, spaxel, area, flux, err
            acc.add(planes[m][q] * nxy + vox, a * overlaps[m][q], f, e)
