"""mrs_imatch: match the sky background of MIRI MRS exposures, channel by channel.

jwst ran this step up to 1.19 (reference 3.4; removed in 1.20, so jwst 3.0.0 has no such
step). For every channel, each exposure is drizzled alone onto one common cube grid, bright
sources are masked by sigma clipping each wavelength plane, and a polynomial in
(RA, Dec, wavelength) of degree ``bkg_degree`` per exposure is fitted so that the
exposures' differences vanish. The polynomials are stored in
``meta.background.polynomial_info`` (``subtracted`` False, and cube_build removes them as
jwst's did up to 1.19) or subtracted from the data with ``subtract=True``.

jwst (through ``wiimatch``) minimised the sum over all *pairs* of exposures of
``(I_n - I_m - P_n + P_m)^2 / (sigma_n^2 + sigma_m^2)``, whose normal equations cost
O(N^2) in the number of exposures (68 exposures ran 60 hours). Here the equivalent joint
model ``I_n = R + P_n`` (a common sky cube R plus one polynomial per exposure) is fitted by
conjugate gradients on the normal equations with R eliminated: each iteration costs O(N).
Eliminating R gives pair weights ``w_n w_m / sum(w)`` instead of ``1 / (sigma_n^2 +
sigma_m^2)``; the two give the same solution where the exposures of a voxel have equal
weights. As in wiimatch, the coefficients sum to zero over the exposures.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from astropy.stats import sigma_clipped_stats
from scipy.sparse.linalg import LinearOperator, cg

from spec3nb.datamodels.products import Product
from spec3nb.errors import ParameterError
from spec3nb.params import BOOL, INT, Param
from spec3nb.steps import cube_geometry, cube_mapping, cube_weights
from spec3nb.steps.cube_build import _corners, _cubepars, _wcsinfo, cube_wcs
from spec3nb.steps.spec import COMPLETE, SKIPPED, StepOutput, StepResult, StepSpec

STEP = "mrs_imatch"
_STATUS = "cal_step.mrs_imatch"
_GRID = {"weighting": "drizzle", "interpolation": "drizzle", "coord_system": "skyalign",
         "linear_wave": True, "scalexy": 0.0, "scalew": 0.0, "rois": 0.0, "roiw": 0.0,
         "weight_power": 2.0, "wavemin": None, "wavemax": None, "ra_center": None,
         "dec_center": None, "nspax_x": None, "nspax_y": None, "cube_pa": None}


def _channel_groups(inputs: Sequence[Product]) -> dict[str, list[int]]:
    """Exposure indices per single channel digit; a digit must belong to one combination."""
    combos: dict[str, list[int]] = {}
    for i, product in enumerate(inputs):
        if product.get("exposure.type") != "MIR_MRS" or product.model_type != "IFUImageModel":
            raise ParameterError(STEP, "inputs", f"{product.filename}: mrs_imatch takes MIRI "
                                 f"MRS IFUImageModel exposures")
        combos.setdefault(str(product.get("instrument.channel", "")), []).append(i)
    single: dict[str, list[int]] = {}
    for combo, members in combos.items():
        for digit in combo:
            if digit in single:
                raise ParameterError(STEP, "inputs", f"channel {digit} appears in several "
                                     f"channel combinations ({sorted(combos)})")
            single[digit] = members
    return single


def _check_background(product: Product) -> None:
    subtracted = product.get("background.subtracted")
    if subtracted is None and product.get("background.level") is not None:
        raise ParameterError(STEP, "inputs", f"{product.filename}: background level set but "
                             "'subtracted' undefined")
    if subtracted:
        raise ParameterError(STEP, "inputs", f"{product.filename}: background already "
                             "subtracted; mrs_imatch cannot run on it")


def single_cubes(products: Sequence[Product], channel: str, cubepars: Any
                 ) -> tuple[np.ndarray, np.ndarray, Any, Any]:
    """Drizzle each exposure alone onto the channel's common grid.

    Returns the (N, nz, ny, nx) flux cubes (0 without data), the matching sample counts
    (jwst's weight maps), the cube setup and the grid.
    """
    files = cube_geometry.band_files(products, "MIRI")
    bands = [(channel, b) for b in cube_geometry.MIRI_BANDS if files.get((channel, b))]
    try:
        setup = cube_geometry.cube_setup(bands, files, cubepars, "MIRI", _GRID)
    except ParameterError:  # bands of different steps: the multi-band wavelength table
        setup = cube_geometry.cube_setup(bands, files, cubepars, "MIRI",
                                         {**_GRID, "linear_wave": False})
    grid = cube_geometry.cube_grid(setup, _corners(setup, products, None, False), _GRID, None)
    nvox = int(np.prod(grid.shape))
    flux = np.zeros((len(products), nvox))
    count = np.zeros((len(products), nvox))
    for band, members in zip(setup.bands, setup.files, strict=True):
        for i in members:
            acc = cube_weights.Accumulator.zeros(nvox)
            # the fit is of the data as they are: no stored background is removed here
            product = products[i].evolve(meta={"background": {}})
            samples = cube_mapping.map_samples(product, band, setup, grid, None)
            if samples is not None:
                cube_weights.drizzle(samples, grid.xcoord, grid.ycoord, grid.zcoord,
                                     grid.cdelt3_normal, grid.cdelt1, grid.cdelt2, acc)
            good = acc.count > 0
            flux[i, good] = acc.flux[good] / acc.weight[good]
            count[i] += acc.count
    shape = (len(products), *grid.shape)
    return flux.reshape(shape), count.reshape(shape), setup, grid


def source_weights(flux: np.ndarray, count: np.ndarray, exptime: np.ndarray) -> np.ndarray:
    """Inverse variances ``exptime * weight map``, 0 off the data and on sources.

    Sources are the voxels more than 3 sigma from the clipped median of their wavelength
    plane (astropy ``sigma_clipped_stats`` with zeros masked), as in jwst.
    """
    tiny = np.finfo(np.float32).tiny
    weight = np.where(count >= tiny, exptime[:, None, None, None] * count, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, median, std = sigma_clipped_stats(flux, mask_value=0.0, axis=(2, 3))
    median, std = np.nan_to_num(median)[:, :, None, None], np.nan_to_num(std)[:, :, None, None]
    weight[np.abs(flux - median) > 3 * std] = 0.0
    return weight


def _monomials(coords: Sequence[np.ndarray], degree: tuple[int, int, int]) -> np.ndarray:
    terms = [coords[0] ** i * coords[1] ** j * coords[2] ** k
             for i in range(degree[0] + 1) for j in range(degree[1] + 1)
             for k in range(degree[2] + 1)]
    return np.stack(terms, axis=1)


def fit_offsets(images: np.ndarray, weights: np.ndarray, coords: Sequence[np.ndarray],
                degree: tuple[int, int, int]) -> np.ndarray:
    """Polynomial coefficients per image so that ``I_n - P_n`` agree (joint model, O(N)).

    Parameters
    ----------
    images, weights : numpy.ndarray
        (N, nvox) values and inverse variances (0 where unused).
    coords : sequence of 3 numpy.ndarray
        (nvox,) coordinates relative to the reference point.
    degree : tuple[int, int, int]
        Polynomial degree in each coordinate.

    Returns
    -------
    numpy.ndarray
        (N, d1+1, d2+1, d3+1) coefficients summing to zero over the images; NaN when the
        system cannot be solved.
    """
    used = np.count_nonzero(weights > 0, axis=0) >= 2  # one exposure alone constrains nothing
    w, img = weights[:, used], images[:, used]
    scale = [float(np.max(np.abs(c[used]))) or 1.0 if used.any() else 1.0 for c in coords]
    x = _monomials([c[used] / s for c, s in zip(coords, scale, strict=True)], degree)
    nimg, ncoef = images.shape[0], x.shape[1]
    total = w.sum(axis=0)
    mean = (w * img).sum(axis=0) / total
    rhs = np.concatenate([x.T @ (w[n] * (img[n] - mean)) for n in range(nimg)])

    def apply(c: np.ndarray) -> np.ndarray:
        poly = c.reshape(nimg, ncoef) @ x.T
        common = (w * poly).sum(axis=0) / total
        return np.concatenate([x.T @ (w[n] * (poly[n] - common)) for n in range(nimg)])

    blocks = [np.linalg.pinv(x.T @ (w[n][:, None] * x)) for n in range(nimg)]

    def precondition(r: np.ndarray) -> np.ndarray:
        parts = r.reshape(nimg, ncoef)
        return np.concatenate([blocks[n] @ parts[n] for n in range(nimg)])

    size = nimg * ncoef
    solution, info = cg(LinearOperator((size, size), apply), rhs, rtol=1e-12, maxiter=50 * size,
                        M=LinearOperator((size, size), precondition))
    if info != 0 or not used.any():
        return np.full((nimg, *[d + 1 for d in degree]), np.nan)
    coef = solution.reshape(nimg, ncoef)
    coef -= coef.mean(axis=0)
    powers = np.array([(i, j, k) for i in range(degree[0] + 1) for j in range(degree[1] + 1)
                       for k in range(degree[2] + 1)])
    coef /= np.prod(np.array(scale)[None, :] ** powers, axis=1)[None, :]
    return coef.reshape(nimg, *[d + 1 for d in degree])


def match_channel(products: Sequence[Product], channel: str, degree: tuple[int, int, int],
                  cubepars: Any) -> tuple[np.ndarray, tuple[float, float, float]]:
    """Fit one channel's background polynomials; return them and the reference point."""
    flux, count, setup, grid = single_cubes(products, channel, cubepars)
    exptime = np.array([float(p.get("exposure.exposure_time") or 1.0) for p in products])
    weights = source_weights(flux, count, exptime)
    nz, ny, nx = grid.shape
    info = _wcsinfo(setup, grid)
    y, x = np.mgrid[:ny, :nx]
    ra, dec, _ = cube_wcs(info, grid)(x.astype(float), y.astype(float), np.zeros((ny, nx)))
    center = (grid.crval1, grid.crval2, grid.crval3)
    shape = (nz, ny, nx)
    coords = [np.broadcast_to(ra - center[0], shape).ravel(),
              np.broadcast_to(dec - center[1], shape).ravel(),
              np.broadcast_to(grid.zcoord[:, None, None] - center[2], shape).ravel()]
    coef = fit_offsets(flux.reshape(len(products), -1), weights.reshape(len(products), -1),
                       coords, degree)
    return coef, center


def _degree(bkg_degree: Any) -> tuple[int, int, int]:
    if np.ndim(bkg_degree) == 0:
        return (int(bkg_degree),) * 3
    if len(bkg_degree) != 3:
        raise ParameterError(STEP, "bkg_degree", "an integer or three integers are needed")
    return tuple(int(d) for d in bkg_degree)


def _subtract(product: Product, polys: Sequence[Mapping[str, Any]]) -> Product:
    part = product.part
    data = np.array(part.data, dtype=part.data.dtype)
    meta = product.evolve(meta={"background.subtracted": False,
                                "background.polynomial_info": list(polys)})
    for info in polys:
        y, x = cube_geometry.channel_pixels(product, info["channel"])
        inside = (x >= 0) & (x < data.shape[1])
        y, x = y[inside], x[inside]
        ra, dec, lam = cube_geometry.evaluate(part.wcs, x.astype(float), y.astype(float))
        ok = np.isfinite(ra) & np.isfinite(dec) & np.isfinite(lam)
        bkg = cube_mapping.stored_background(meta, info["channel"], ra[ok], dec[ok], lam[ok])
        data[y[ok], x[ok]] -= bkg.astype(data.dtype)
    return product.evolve(parts=[part.evolve(arrays={"data": data})])


def mrs_imatch(inputs: Sequence[Product], *, bkg_degree: Any = 1, subtract: bool = False,
               references: Mapping[str, Any] | None = None) -> StepResult:
    """Fit (and optionally subtract) background differences between MRS exposures.

    Parameters
    ----------
    inputs : Sequence[Product]
        MIRI MRS ``IFUImageModel`` exposures.
    bkg_degree : int or three ints
        Polynomial degree in RA, Dec and wavelength.
    subtract : bool
        Subtract the fitted polynomials from the data (else only record them; cube_build
        removes recorded ones).
    references : Mapping[str, Any], optional
        ``cubepar`` for the single-exposure cubes (built-in values when None).

    Returns
    -------
    StepResult
        The exposures with ``meta.background`` filled, suffix ``mrs_imatch``.
    """
    degree = _degree(bkg_degree)
    groups = _channel_groups(inputs)
    for product in inputs:
        _check_background(product)
    cubepars = _cubepars(references or {}, "MIRI")
    polys: list[list[dict[str, Any]]] = [[] for _ in inputs]
    failed = False
    for channel in sorted(groups):
        members = groups[channel]
        coef, center = match_channel([inputs[i] for i in members], channel, degree, cubepars)
        if np.isnan(coef).any():
            failed = True
            continue
        for i, c in zip(members, coef, strict=True):
            polys[i].append({"degree": list(degree), "refpoint": [float(v) for v in center],
                             "coefficients": c.ravel().tolist(), "channel": channel})
    status = SKIPPED if failed else COMPLETE
    outputs = []
    for i, product in enumerate(inputs):
        changes = {"background": {"subtracted": False, "polynomial_info": polys[i]},
                   _STATUS: status}
        result = product.evolve(meta=changes)
        if subtract and polys[i]:
            result = _subtract(result, polys[i]).evolve(meta={"background.subtracted": True})
        outputs.append(StepOutput(result, "mrs_imatch", origin=i))
    reason = "the background fit failed for a channel" if failed else ""
    return StepResult(tuple(outputs), status, reason)


SPEC = StepSpec(
    name="mrs_imatch",
    summary="Match the sky background of MIRI MRS exposures (jwst <= 1.19)",
    function=mrs_imatch,
    params=(
        Param("bkg_degree", INT, 1, "degree of the background polynomial", minimum=0),
        Param("subtract", BOOL, False, "subtract the fitted backgrounds from the data"),
    ),
    reference_types=("cubepar",),
    jwst_class=None,
)
