"""cube_build's drizzle kernel against brute force: every (sample, spaxel) pair clipped."""

from __future__ import annotations

import numpy as np
import pytest

from spec3nb.steps import cube_weights
from spec3nb.steps.cube_weights import Accumulator, Samples

CDELT = 0.13


def _grid(n: int) -> np.ndarray:
    """Spaxel (or plane) centres as jwst lays them out: symmetric about 0."""
    half = n // 2
    return np.arange(-half * CDELT, (half + 1) * CDELT, CDELT)[:n]


def _quads(rng: np.random.Generator, n: int, extent: float) -> tuple[np.ndarray, np.ndarray]:
    """Random parallelogram footprints (both orientations) around the grid's middle."""
    centre = rng.uniform(-extent, extent, (n, 2))
    angle = rng.uniform(0, 2 * np.pi, n)[:, None]
    skew = rng.uniform(-0.02, 0.02, n)[:, None]
    dx = np.array([-0.1, -0.1, 0.1, 0.1]) + skew * np.array([-1, 1, 1, -1])
    dy = np.array([-0.09, 0.09, 0.09, -0.09])
    flip = np.where(rng.random(n) < 0.5, 1.0, -1.0)[:, None]  # clockwise or not
    dy = dy * flip
    px = centre[:, :1] + dx * np.cos(angle) - dy * np.sin(angle)
    py = centre[:, 1:] + dx * np.sin(angle) + dy * np.cos(angle)
    return px, py


def _samples(px: np.ndarray, py: np.ndarray, wave: np.ndarray, dwave: np.ndarray,
             rng: np.random.Generator) -> Samples:
    n = px.shape[0]
    order = np.argsort(wave, kind="stable")
    corners = tuple(c[order] for i in range(4) for c in (px[:, i], py[:, i]))
    return Samples(coord1=px.mean(1)[order], coord2=py.mean(1)[order], wave=wave[order],
                   flux=rng.uniform(1, 2, n)[order], err=rng.uniform(0.1, 0.2, n)[order],
                   slice_no=np.ones(n), dwave=dwave[order], corners=corners)


def _brute_areas(px, py, xc, yc) -> np.ndarray:
    """(n, ny, nx) overlaps by jwst's clipping, every sample against every spaxel."""
    n = px.shape[0]
    ky, kx = np.meshgrid(np.arange(yc.size), np.arange(xc.size), indexing="ij")
    kx, ky = kx.ravel(), ky.ravel()
    p = np.repeat(np.arange(n), kx.size)
    kx, ky = np.tile(kx, n), np.tile(ky, n)
    box = (xc[kx] - CDELT * 0.5, xc[kx] + CDELT * 0.5, yc[ky] - CDELT * 0.5,
           yc[ky] + CDELT * 0.5)
    area = cube_weights.clip_area(px[p], py[p], *box)
    return area.reshape(n, yc.size, xc.size)


def test_spatial_overlaps_equal_polygon_clipping_on_every_spaxel():
    rng = np.random.default_rng(11)
    xc, yc = _grid(9), _grid(7)
    px, py = _quads(rng, 400, 0.45)
    s = _samples(px, py, np.zeros(400), np.zeros(400), rng)
    p, kx, ky, area = cube_weights._spatial_overlaps(s, xc, yc, CDELT, CDELT)
    order = np.argsort(np.zeros(400), kind="stable")
    truth = _brute_areas(px[order], py[order], xc, yc)
    found = np.zeros(truth.shape, dtype=bool)
    found[p, ky, kx] = True
    # the same (sample, spaxel) pairs as jwst's clipping (WMAP depends on it) ...
    np.testing.assert_array_equal(found, truth > 0)
    assert len(set(zip(p, ky, kx, strict=True))) == p.size
    # ... and the same areas, to jwst's single-precision slope (~1e-7 of a spaxel)
    np.testing.assert_allclose(area, truth[p, ky, kx], rtol=1e-6, atol=1e-9 * CDELT ** 2)
    # against the exact formula the Green's-theorem sums agree to rounding (slivers, taken
    # from jwst's clipping, left out)
    exact = cube_weights.overlap_area(px[order][p], py[order][p], xc[kx] - CDELT / 2,
                                      xc[kx] + CDELT / 2, yc[ky] - CDELT / 2,
                                      yc[ky] + CDELT / 2)
    big = area > 2 * cube_weights.SLIVER * CDELT ** 2
    np.testing.assert_allclose(area[big], exact[big], rtol=1e-12, atol=1e-14 * CDELT ** 2)
    # each footprint's pieces add up to its whole area where it lies inside the grid
    whole = 0.5 * np.abs(np.sum(px * np.roll(py, -1, 1) - np.roll(px, -1, 1) * py, axis=1))
    inside = (np.abs(px) < 0.5).all(1) & (np.abs(py) < 0.35).all(1)
    sums = np.bincount(p, area, minlength=400)
    # (to ~1e-9: slivers carry the single-precision slope of jwst's clipping)
    np.testing.assert_allclose(sums[inside[order]], whole[order][inside[order]], rtol=1e-9)


def test_level_edges_and_footprints_on_the_grid_lines():
    """Axis-aligned footprints: level edges, and edges lying on spaxel boundaries."""
    rng = np.random.default_rng(5)
    xc, yc = _grid(5), _grid(5)
    lo = np.array([-0.195, -0.065, -0.1, 0.0])  # -0.195 and -0.065 are grid lines
    hi = lo + np.array([0.13, 0.26, 0.2, 0.05])
    px = np.stack([lo, lo, hi, hi], axis=1)
    py = np.stack([lo, hi, hi, lo], axis=1)
    s = _samples(px, py, np.zeros(4), np.zeros(4), rng)
    p, kx, ky, area = cube_weights._spatial_overlaps(s, xc, yc, CDELT, CDELT)
    truth = _brute_areas(px, py, xc, yc)
    found = np.zeros(truth.shape, dtype=bool)
    found[p, ky, kx] = True
    np.testing.assert_array_equal(found, truth > 0)
    np.testing.assert_allclose(area, truth[p, ky, kx], rtol=1e-6)
    np.testing.assert_allclose(np.bincount(p, area), (hi - lo) ** 2, rtol=1e-12)


def test_apart_never_drops_a_box_that_clipping_overlaps():
    rng = np.random.default_rng(8)
    n = 20000
    px, py = _quads(rng, n, 0.0)
    # small boxes near the footprints' edges: touching, grazing, just apart
    corner = rng.integers(0, 4, n)
    rows = np.arange(n)
    cx = px[rows, corner] + rng.normal(0, 0.02, n)
    cy = py[rows, corner] + rng.normal(0, 0.02, n)
    box = (cx - 0.01, cx + 0.01, cy - 0.01, cy + 0.01)
    apart = cube_weights._apart([px[:, i] for i in range(4)], [py[:, i] for i in range(4)],
                                box, cube_weights.NEAR)
    clipped = cube_weights.clip_area(px, py, *box)
    assert apart.sum() > n // 10  # the test has teeth
    assert not np.any(apart & (clipped > 0))


def _brute_drizzle(s: Samples, xc, yc, zc, cdelt3) -> Accumulator:
    """jwst's drizzle weights summed pair by pair (spatial clipping x wavelength overlap)."""
    px = np.stack(s.corners[0::2], axis=1)
    py = np.stack(s.corners[1::2], axis=1)
    spatial = _brute_areas(px, py, xc, yc)  # (n, ny, nx)
    w, dw = s.wave[:, None], s.dwave[:, None]
    z, c3 = zc[None, :], cdelt3[None, :]
    overlap = np.maximum(np.maximum(z + c3 / 2 - (w - dw / 2), 0)
                         - np.maximum(z + c3 / 2 - (w + dw / 2), 0)
                         - np.maximum(z - c3 / 2 - (w - dw / 2), 0), 0)
    overlap = np.where(np.abs(z - w) < np.abs(dw + c3), overlap, 0)  # (n, nz)
    weight = overlap[:, :, None, None] * spatial[:, None]  # (n, nz, ny, nx)
    acc = Accumulator.zeros(weight[0].size)
    flat = weight.reshape(weight.shape[0], -1)
    acc.flux += (flat * s.flux[:, None]).sum(0)
    acc.weight += flat.sum(0)
    acc.var += (flat * flat * (s.err * s.err)[:, None]).sum(0)
    acc.count += (flat > 0).sum(0)
    return acc


@pytest.mark.parametrize("linear", [True, False])
def test_drizzle_equals_pair_by_pair_sums(linear, monkeypatch):
    rng = np.random.default_rng(21 + linear)
    n = 600
    xc, yc = _grid(9), _grid(7)  # wider than the footprints: empty spaxels on the edges
    zc = np.linspace(5.0, 5.02, 12) if linear else 5.0 + np.cumsum(np.linspace(1, 2, 12)) * 1e-3
    cdelt3 = np.empty(zc.size)
    cdelt3[:-1] = np.diff(zc)
    cdelt3[-1] = cdelt3[-2]
    px, py = _quads(rng, n, 0.3)
    wave = rng.uniform(zc[0] - 0.003, zc[-1] + 0.003, n)
    s = _samples(px, py, wave, rng.uniform(0.5, 2.5, n) * cdelt3[0], rng)
    # small chunks: many chunk boundaries, each sample in exactly one
    monkeypatch.setattr(cube_weights, "PAIR_BUDGET", 128 * 97)
    acc = Accumulator.zeros(zc.size * yc.size * xc.size)
    cube_weights.drizzle(s, xc, yc, zc, cdelt3, CDELT, CDELT, acc)
    ref = _brute_drizzle(s, xc, yc, zc, cdelt3)
    np.testing.assert_array_equal(acc.count, ref.count)
    assert acc.count.max() > 1 and (acc.count == 0).any()
    for name in ("flux", "weight", "var"):
        np.testing.assert_allclose(getattr(acc, name), getattr(ref, name), rtol=1e-6,
                                   atol=1e-9 * CDELT ** 2)
