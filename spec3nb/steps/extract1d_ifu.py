"""extract_1d for IFU cubes (MIRI MRS and NIRSpec IFU ``_s3d``): jwst 3.0.0's ``ifu.py``.

One spectrum per cube (reference section 3.10.3):

* point sources: a circular aperture per wavelength plane, its radius (and an optional
  background annulus) interpolated from the EXTRACT1D IFU reference (or spec3nb's built-in
  table, :mod:`.extract1d_ifu_defaults`) and converted from arcsec to spaxels, centred on
  ``center_xy``, on the source found by ``ifu_autocen``, or on the spaxel nearest
  TARG_RA/TARG_DEC; the annulus background is sigma-clipped and scaled by the ratio of the
  areas;
* extended sources: the whole field, with a sigma-clipped BACKGROUND column that is
  reported but not subtracted.

Aperture overlaps are photutils' exact (or ``center``/``subpixel``) masks, as jwst uses;
spaxels with ``WMAP == 0`` are left out and areas count ``min(WMAP, 1)``. Sums are in
MJy/sr; FLUX is their product with the spaxel solid angle (Jy). MIRI cubes give an
``MRSMultiSpecModel`` (with the residual-fringe columns RF_*, NaN here), NIRSpec ones a
``MultiSpecModel``. An IFU APCORR reference corrects point sources
(:mod:`.extract1d_ifu_apcorr`).

Differences from jwst 3.0.0 (docs/deviations.md): the 1-D residual-fringe fit
(``ifu_rfcorr``) is not implemented, so RF_* stay NaN (jwst fills them when its fit
succeeds); the cube's WMAP is clipped in a copy, not in place; without a reference (or with
``N/A``) the built-in apertures are used where jwst stops; a cube with no valid wavelength
gives no spectrum (jwst writes an empty one); a reference without ``method``/``subpixels``
means ``exact``/5 (jwst fails).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from spec3nb.datamodels import tables
from spec3nb.datamodels.dq import DO_NOT_USE
from spec3nb.datamodels.products import Part, Product
from spec3nb.errors import InputFileError
from spec3nb.steps import extract1d_ifu_apcorr as ifu_apcorr
from spec3nb.steps.extract1d_ifu_defaults import ApertureTable, aperture_table
from spec3nb.steps.extract1d_ifu_geometry import (
    autocentre,
    plane_coordinates,
    spatial_scale,
    target_spaxel,
)
from spec3nb.steps.spec import COMPLETE, SKIPPED, StepOutput, StepResult
from spec3nb.steps.spectral_wcs import spectral_wcs

NOT_APPLICABLE = "N/A"
POINT, EXTENDED = "POINT", "EXTENDED"
_SINGLE_CHANNELS = ("1", "2", "3", "4")
_SINGLE_BANDS = ("short", "medium", "long")
_VARS = ("POISSON", "RNOISE", "FLAT")


# ----------------------------------------------------------------------------- settings


@dataclasses.dataclass(frozen=True)
class IfuSettings:
    """The step parameters that shape an IFU extraction."""

    center_xy: tuple[float, float] | None
    ifu_autocen: bool
    bkg_sigma_clip: float
    ifu_rfcorr: bool
    ifu_set_srctype: str | None
    ifu_rscale: float | None
    ifu_covar_scale: float
    subtract_background: bool | None


# ----------------------------------------------------------------------------- the cube


@dataclasses.dataclass(frozen=True)
class Cube:
    """The arrays of one cube as jwst's extraction reads them (copies; input untouched)."""

    product: Product
    label: str
    data: np.ndarray
    variances: tuple[np.ndarray, np.ndarray, np.ndarray]
    has_variances: bool
    wmap: np.ndarray  # WMAP clipped at 1 (jwst clips the cube's own array in place)
    wcs: Any

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.data.shape)  # type: ignore[return-value]

    @property
    def instrument(self) -> str:
        return str(self.product.get("instrument.name", "")).upper()


def read_cube(product: Product, label: str) -> Cube:
    """Prepare the arrays of an ``IFUCubeModel`` for extraction."""
    if product.model_type != "IFUCubeModel":
        raise InputFileError(label, f"a {product.model_type} is not an IFU cube")
    part = product.part
    data = part.data
    if data.ndim != 3:
        raise InputFileError(label, f"the cube's SCI array is {data.ndim}-D, not 3-D", "SCI")
    if part.wcs is None:
        raise InputFileError(label, "the cube has no WCS (cube_build must have made it)")
    if "weightmap" not in part.arrays:
        raise InputFileError(label, "the cube has no WMAP array", "WMAP")
    names = ("var_poisson", "var_rnoise", "var_flat")
    has_variances = all(n in part.arrays and part.arrays[n].shape == data.shape for n in names)
    if has_variances:
        variances = tuple(part.arrays[n] for n in names)
    else:  # only ERR: its square travels in the Poisson slot, zeroed again at the end
        err = part.err
        with np.errstate(over="ignore"):
            variances = (err * err, np.zeros_like(data), np.zeros_like(data))
    wmap = np.minimum(part.arrays["weightmap"], 1).astype(part.arrays["weightmap"].dtype)
    return Cube(product, label, data, variances, has_variances, wmap, part.wcs)


# ----------------------------------------------------------------------------- sums


def _window(aperture: Any, shape: tuple[int, int], method: str, subpixels: int) -> Any:
    """The aperture's overlap with a plane: (slices into the plane, weights) or None."""
    mask = aperture.to_mask(method=method, subpixels=subpixels)
    large, small = mask.get_overlap_slices(shape)
    return None if large is None else (large, mask.data[small])


def _sums(window: Any, planes: Sequence[np.ndarray], excluded: np.ndarray) -> np.ndarray:
    """photutils' ``aperture_sum`` of each plane: weights times values over the pixels with
    weight > 0 that are not `excluded` (NaN when the aperture misses the plane)."""
    if window is None:
        return np.full(len(planes), np.nan)
    large, weights = window
    keep = (weights > 0) & ~excluded[large]
    cut = np.stack([plane[large] for plane in planes])
    with np.errstate(invalid="ignore", over="ignore"):
        return (cut * weights)[:, keep].sum(axis=1)


def clip_bounds(cube: Cube, sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per plane, the range mean +- sigma * std of the sigma-clipped spaxels with
    ``WMAP >= 1`` (astropy's ``sigma_clipped_stats``, 5 iterations), and whether the plane
    has such spaxels. Values outside the range are left out of background sums."""
    from astropy.stats import sigma_clipped_stats

    nw = cube.shape[0]
    covered = cube.wmap == 1
    valid = covered.any(axis=(1, 2))
    low = np.full(nw, np.nan, dtype=cube.data.dtype)
    high = low.copy()
    if valid.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mean, _, std = sigma_clipped_stats(cube.data[valid], mask=~covered[valid],
                                               sigma=sigma, maxiters=5, axis=(1, 2))
        low[valid] = mean - sigma * std
        high[valid] = mean + sigma * std
    return low, high, valid


@dataclasses.dataclass
class Sums:
    """Per-plane results of the aperture photometry (jwst's ``extract_ifu`` outputs)."""

    flux: np.ndarray
    f_var: np.ndarray  # (3, nw): Poisson, read noise, flat
    background: np.ndarray
    b_var: np.ndarray
    npixels: np.ndarray
    npixels_bkg: np.ndarray
    dq: np.ndarray

    @classmethod
    def empty(cls, nw: int) -> Sums:
        return cls(np.zeros(nw), np.zeros((3, nw)), np.zeros(nw), np.zeros((3, nw)),
                   np.ones(nw), np.ones(nw), np.zeros(nw, dtype=np.uint32))

    def trimmed(self, keep: slice) -> Sums:
        """The sums of the planes in `keep`."""
        return Sums(self.flux[keep], self.f_var[:, keep], self.background[keep],
                    self.b_var[:, keep], self.npixels[keep], self.npixels_bkg[keep],
                    self.dq[keep])

    def source(self, k: int, window: Any, cube: Cube, excluded: np.ndarray,
               fallback_area: float) -> None:
        """Aperture area (``min(WMAP, 1)`` summed), flux and variances of plane k."""
        planes = (cube.wmap[k], cube.data[k]) + tuple(v[k] for v in cube.variances)
        area, self.flux[k], *self.f_var[:, k] = _sums(window, planes, excluded)
        if area == 0:
            self.dq[k] = DO_NOT_USE
            if fallback_area > 0:  # keeps the divisions finite; the row is flagged
                area = fallback_area
        self.npixels[k] = area


def extract_point(cube: Cube, centre: tuple[float, float], radius: np.ndarray,
                  annulus: tuple[np.ndarray, np.ndarray], subtract: bool, table: ApertureTable,
                  sigma: float) -> Sums:
    """Circular-aperture photometry of every plane, minus the annulus background."""
    from photutils.aperture import CircularAnnulus, CircularAperture

    nw, ny, nx = cube.shape
    sums = Sums.empty(nw)
    bounds = clip_bounds(cube, sigma) if subtract else None
    inner, outer = annulus
    for k in range(nw):
        aperture = CircularAperture(centre, r=radius[k])
        if inner[k] <= 0.0 or outer[k] <= 0.0 or inner[k] >= outer[k]:
            subtract = False  # jwst turns it off for this and every later plane
        excluded = cube.wmap[k] == 0
        window = _window(aperture, (ny, nx), table.method, table.subpixels)
        sums.source(k, window, cube, excluded, aperture.area)
        sums.npixels_bkg[k] = 0.0
        if not subtract:
            continue
        ring = CircularAnnulus(centre, r_in=inner[k], r_out=outer[k])
        ring_window = _window(ring, (ny, nx), table.method, table.subpixels)
        planes = (cube.wmap[k],) + tuple(v[k] for v in cube.variances)
        ring_area, *ring_var = _sums(ring_window, planes, excluded)
        if ring_area == 0 and ring.area > 0:
            ring_area = ring.area
        sums.npixels_bkg[k] = ring_area
        if not ring_area > 0.0:
            continue
        norm = sums.npixels[k] / ring_area
        low, high, valid = (b[k] for b in bounds)
        clipped = excluded
        if valid:
            with np.errstate(invalid="ignore"):
                clipped = (cube.data[k] < low) | (cube.data[k] > high) | excluded
        sums.background[k] = _sums(ring_window, (cube.data[k],), clipped)[0]
        sums.flux[k] = sums.flux[k] - sums.background[k] * norm
        sums.b_var[:, k] = ring_var
        sums.f_var[:, k] += sums.b_var[:, k] * norm * norm
    return sums


def extract_extended(cube: Cube, table: ApertureTable, sigma: float) -> Sums:
    """Photometry of the whole field of every plane, with a sigma-clipped background
    column (not subtracted)."""
    from photutils.aperture import RectangularAperture

    nw, ny, nx = cube.shape
    sums = Sums.empty(nw)
    aperture = RectangularAperture((nx / 2.0 - 0.5, ny / 2.0 - 0.5), float(nx), float(ny),
                                   theta=0.0)
    window = _window(aperture, (ny, nx), table.method, table.subpixels)
    low, high, valid = clip_bounds(cube, sigma)
    for k in range(nw):
        excluded = cube.wmap[k] == 0
        sums.source(k, window, cube, excluded, aperture.area)
        sums.npixels_bkg[k] = 0.0
        if not valid[k]:
            continue
        with np.errstate(invalid="ignore"):
            clipped = (cube.data[k] < low[k]) | (cube.data[k] > high[k]) | excluded
        planes = (cube.data[k], cube.wmap[k]) + tuple(v[k] for v in cube.variances)
        sums.background[k], sums.npixels_bkg[k], *sums.b_var[:, k] = _sums(
            window, planes, clipped)
    return sums


# ----------------------------------------------------------------------------- one cube


@dataclasses.dataclass(frozen=True)
class Centre:
    """Where the aperture goes and which sky position sets the spaxel scale."""

    x: float
    y: float
    on_target: bool  # centred from TARG_RA/TARG_DEC (the scale is measured there)
    note: str = ""


def find_centre(cube: Cube, source_type: str, settings: IfuSettings) -> Centre:
    """The aperture centre: for a point source ``center_xy``, else the autocentroid (when
    asked and found), else the spaxel nearest TARG_RA/TARG_DEC, else the field's middle;
    for an extended source the middle of the field."""
    nw, ny, nx = cube.shape
    if source_type == EXTENDED:  # the whole field, whatever center_xy says
        return Centre(nx / 2.0 - 0.5, ny / 2.0 - 0.5, False)
    if settings.center_xy is not None:
        return Centre(float(settings.center_xy[0]), float(settings.center_xy[1]), False)
    note = ""
    if settings.ifu_autocen:
        found = autocentre(cube.wcs, cube.data)
        if found is not None:
            return Centre(found[0], found[1], False)
        note = "ifu_autocen found no source; centred from TARG_RA/TARG_DEC"
    spaxel = target_spaxel(cube.wcs, cube.shape, cube.product.get("target.ra"),
                           cube.product.get("target.dec"))
    if spaxel is None:
        note = (note + "; " if note else "") + ("no target spaxel inside the field; "
                                                 "the aperture is centred on the field")
        return Centre(float(nx) / 2.0, float(ny) / 2.0, False, note)
    return Centre(float(spaxel[0]), float(spaxel[1]), True, note)


def _point_radii(cube: Cube, table: ApertureTable, settings: IfuSettings, centre: Centre,
                 wavelength: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Radius, inner and outer annulus radii (spaxels) of each plane."""
    radius = table.radius
    if cube.instrument == "MIRI" and settings.ifu_rscale is not None:
        radius = radius * settings.ifu_rscale / 2.0  # the reference radius is 2 FWHM
    if centre.on_target:
        at = (cube.product.get("target.ra"), cube.product.get("target.dec"))
    else:
        at = (cube.product.get("wcsinfo.crval1"), cube.product.get("wcsinfo.crval2"))
    if at[0] is None or at[1] is None:
        raise InputFileError(cube.label, "no CRVAL1/CRVAL2 to measure the spaxel scale at")
    # jwst raises without DISPAXIS; cubes have square spaxels, so x is used then
    scale = spatial_scale(cube.wcs, (float(at[0]), float(at[1]), float(wavelength[0])),
                          cube.product.get("wcsinfo.dispersion_direction"))
    interp = ifu_apcorr.interp_extrapolate
    return (interp(table.wavelength, radius, wavelength) / scale,
            interp(table.wavelength, table.inner_bkg, wavelength) / scale,
            interp(table.wavelength, table.outer_bkg, wavelength) / scale)


def _trim(wavelength: np.ndarray, dq: np.ndarray) -> tuple[np.ndarray, slice]:
    """DO_NOT_USE where the wavelength is NaN, and the slice without NaN ends."""
    bad = np.isnan(wavelength)
    dq = np.where(bad, dq | DO_NOT_USE, dq).astype(np.uint32)
    good = np.flatnonzero(~bad)
    if good.size == 0:
        return dq, slice(0)
    return dq, slice(int(good[0]), int(good[-1]) + 1)


def spectrum_columns(cube: Cube, sums: Sums, wavelength: np.ndarray, covar_scale: float
                     ) -> dict[str, np.ndarray]:
    """The EXTRACT1D columns from the per-plane sums (jwst's unit conversions)."""
    npix = np.where(sums.npixels > 0.0, sums.npixels, 1.0)
    npix_bkg = np.where(sums.npixels_bkg > 0.0, sums.npixels_bkg, 1.0)
    area = cube.product.get("photometry.pixelarea_steradians")
    area = 1.0 if area is None else float(area)
    f_var = sums.f_var * (area**2 * 1.0e12)  # (MJy/sr)^2 -> Jy^2
    sb_var = sums.f_var / npix / npix
    b_var = sums.b_var / npix_bkg / npix_bkg
    cols = {"WAVELENGTH": wavelength, "FLUX": sums.flux * area * 1.0e6,
            "FLUX_ERROR": np.sqrt(f_var.sum(axis=0)), "SURF_BRIGHT": sums.flux / npix,
            "SB_ERROR": np.sqrt(sb_var.sum(axis=0)), "DQ": sums.dq,
            "BACKGROUND": sums.background / npix_bkg, "BKGD_ERROR": np.sqrt(b_var.sum(axis=0)),
            "NPIXELS": sums.npixels}
    if not cube.has_variances:  # ERR travelled as the Poisson variance; only errors keep it
        f_var[0] = sb_var[0] = b_var[0] = 0.0
    if covar_scale != 1.0:
        for name in ("FLUX_ERROR", "SB_ERROR", "BKGD_ERROR"):
            cols[name] = cols[name] * covar_scale
        f_var, sb_var, b_var = (v * (covar_scale * covar_scale) for v in (f_var, sb_var, b_var))
    for i, kind in enumerate(_VARS):
        cols[f"FLUX_VAR_{kind}"], cols[f"SB_VAR_{kind}"] = f_var[i], sb_var[i]
        cols[f"BKGD_VAR_{kind}"] = b_var[i]
    if cube.instrument == "MIRI":  # residual-fringe correction not implemented (see module)
        for name in ("RF_FLUX", "RF_SURF_BRIGHT", "RF_BACKGROUND"):
            cols[name] = np.full(wavelength.shape, np.nan)
    return cols


def resolve_source_type(product: Product, override: str | None) -> str:
    """SRCTYPE, or ``ifu_set_srctype`` for MIRI MRS; anything but POINT is EXTENDED."""
    value = product.get("target.source_type")
    if override is not None and product.exp_type == "MIR_MRS":
        value = override
    value = None if value is None else str(value).upper()
    return value if value in (POINT, EXTENDED) else EXTENDED


def rfcorr_requested(product: Product, ifu_rfcorr: bool) -> bool:
    """Whether jwst would run the 1-D residual-fringe fit (MIRI MRS single-band cubes)."""
    if not ifu_rfcorr or product.exp_type != "MIR_MRS":
        return False
    channel = product.get("instrument.channel")
    band = str(product.get("instrument.band")).lower()
    return channel in _SINGLE_CHANNELS and band in _SINGLE_BANDS


def extract_cube(product: Product, label: str, settings: IfuSettings, extract_ref: Any,
                 apcorr_ref: Any) -> tuple[Part | None, list[str]]:
    """Extract the spectrum of one cube.

    Parameters
    ----------
    product : Product
        An ``IFUCubeModel``.
    label : str
        How errors and notes name the cube.
    settings : IfuSettings
        The step parameters.
    extract_ref : Extract1dReference, None or "N/A"
        The IFU EXTRACT1D reference (None or N/A: built-in defaults).
    apcorr_ref : IfuApcorrReference or None
        The IFU aperture correction, applied to point sources.

    Returns
    -------
    (Part or None, list[str])
        The spectrum (None when no plane has a wavelength) and notes on what was done
        differently from the request.
    """
    cube = read_cube(product, label)
    source_type = resolve_source_type(product, settings.ifu_set_srctype)
    ra, dec, wavelength = plane_coordinates(cube.wcs, cube.shape)
    centre = find_centre(cube, source_type, settings)
    notes = [f"{label}: {centre.note}"] if centre.note else []
    sums, radius = _photometry(cube, aperture_table(extract_ref, cube.instrument), settings,
                               source_type, centre, wavelength)
    dq, keep = _trim(wavelength, sums.dq)
    sums = dataclasses.replace(sums.trimmed(keep), dq=dq[keep])
    wavelength = wavelength[keep]
    if wavelength.size == 0:
        return None, notes + [f"{label}: no plane has a wavelength"]
    columns = spectrum_columns(cube, sums, wavelength, settings.ifu_covar_scale)
    if source_type == POINT and apcorr_ref is not None:
        columns = _apply_apcorr(cube, columns, apcorr_ref, (ra, dec), radius[keep])
    if rfcorr_requested(product, settings.ifu_rfcorr):
        notes.append(f"{label}: ifu_rfcorr: the 1-D residual-fringe correction is not "
                     "implemented; RF_FLUX, RF_SURF_BRIGHT and RF_BACKGROUND are NaN")
    wave = columns.pop("WAVELENGTH")
    spec = tables.spec_table(wave, mrs=cube.instrument == "MIRI",
                             units=tables.spectrum_units(True, ifu=True), **columns)
    attrs = {"slit_ra": ra, "slit_dec": dec, "detector": product.get("instrument.detector"),
             "source_type": source_type, "extraction_x": centre.x, "extraction_y": centre.y,
             "position_angle": product.get("aperture.position_angle")}
    if product.exp_type not in (None, "ANY"):
        attrs["name"] = product.exp_type
    attrs = {k: v for k, v in attrs.items() if v is not None}
    return Part(arrays={"spec_table": spec}, attrs=attrs,
                wcs=spectral_wcs(ra, dec, spec["WAVELENGTH"])), notes


def _photometry(cube: Cube, table: ApertureTable, settings: IfuSettings, source_type: str,
                centre: Centre, wavelength: np.ndarray) -> tuple[Sums, np.ndarray | None]:
    """The per-plane sums, and the radius of each plane (spaxels; point sources only)."""
    subtract = table.subtract_background
    if settings.subtract_background is not None:
        subtract = settings.subtract_background and source_type != EXTENDED
    try:
        if source_type != POINT:
            return extract_extended(cube, table, settings.bkg_sigma_clip), None
        radius, inner, outer = _point_radii(cube, table, settings, centre, wavelength)
        return extract_point(cube, (centre.x, centre.y), radius, (inner, outer), subtract,
                             table, settings.bkg_sigma_clip), radius
    except ValueError as exc:  # photutils refuses negative radii, unknown methods ...
        raise InputFileError(cube.label, f"IFU aperture from {table.source}: {exc}") from None


def _apply_apcorr(cube: Cube, columns: dict[str, np.ndarray], reference: Any,
                  sky: tuple[float, float], radius: np.ndarray) -> dict[str, np.ndarray]:
    """Columns with the IFU aperture correction; the table's radii are converted with the
    spaxel scale at the cube centre's sky position and the smallest (MIRI) or median
    (NIRSpec) wavelength, as jwst does."""
    wave = columns["WAVELENGTH"]
    at = float(np.median(wave)) if cube.instrument == "NIRSPEC" else float(np.min(wave))
    scale = spatial_scale(cube.wcs, (sky[0], sky[1], at),
                          cube.product.get("wcsinfo.dispersion_direction"))
    factors = ifu_apcorr.ifu_apcorr_factors(reference, wave, radius, scale)
    return ifu_apcorr.apply_ifu_apcorr(columns, factors, cube.instrument == "MIRI")


# ----------------------------------------------------------------------------- the step


def _reference(references: Mapping[str, Any] | None, reftype: str) -> Any:
    value = (references or {}).get(reftype)
    if isinstance(value, str) and value.upper() == NOT_APPLICABLE:
        return None
    return value


def extract_ifu(
    inputs: Sequence[Product],
    *,
    center_xy: Sequence[float] | None = None,
    ifu_autocen: bool = False,
    bkg_sigma_clip: float = 3.0,
    ifu_rfcorr: bool = True,
    ifu_set_srctype: str | None = None,
    ifu_rscale: float | None = None,
    ifu_covar_scale: float = 1.0,
    subtract_background: bool | None = None,
    apply_apcorr: bool = True,
    references: Mapping[str, Any] | None = None,
    **_other: Any,
) -> StepResult:
    """Extract one 1-D spectrum from each IFU cube (``_s3d``).

    Parameters
    ----------
    inputs : Sequence[Product]
        ``IFUCubeModel`` products (MIRI MRS or NIRSpec IFU).
    center_xy : (float, float), optional
        Aperture centre (x, y in spaxels, 0-based) of a point source, overriding the
        target position.
    ifu_autocen : bool
        Find the point source in the cube (DAOStarFinder on the median image below 26 um).
    bkg_sigma_clip : float
        Sigma-clipping threshold of the background spaxels.
    ifu_rfcorr : bool
        Ask for the 1-D residual-fringe correction (MIRI MRS single bands). spec3nb does not
        implement it: the RF_* columns stay NaN and the result's reason says so.
    ifu_set_srctype : str, optional
        ``POINT`` or ``EXTENDED`` replacing SRCTYPE (MIRI MRS only).
    ifu_rscale : float, optional
        MIRI MRS: extraction radius in PSF FWHM (0.5-3; the reference radius is 2 FWHM).
    ifu_covar_scale : float
        Factor on all errors (and its square on the variances) for spaxel covariance.
    subtract_background : bool, optional
        Subtract the annulus background of point sources (None: as the reference says);
        never for extended sources.
    apply_apcorr : bool
        Apply the IFU APCORR reference to point sources.
    references : Mapping[str, Any], optional
        ``extract1d``: the IFU (ASDF) EXTRACT1D reference, None or ``"N/A"`` for spec3nb's
        built-in apertures (:mod:`.extract1d_ifu_defaults`; jwst needs a reference);
        ``apcorr``: an :class:`~.extract1d_ifu_apcorr.IfuApcorrReference` or the path of
        an IFU APCORR file, None or ``"N/A"`` for no correction.
    **_other : Any
        The step's other parameters (slit, SOSS ...), which IFU extraction does not use.

    Returns
    -------
    StepResult
        One x1d per cube (``MRSMultiSpecModel`` for MIRI, ``MultiSpecModel`` for NIRSpec,
        suffix ``x1d``, ``origin`` = the cube's index); the reason lists what was not done
        as asked. SKIPPED (inputs returned) when no cube had a wavelength.

    Raises
    ------
    InputFileError
        For an input that is not a 3-D cube with a WCS and WMAP, a slit (JSON) extract1d
        reference or a slit APCORR reference, or an aperture photutils refuses.
    """
    settings = IfuSettings(
        None if center_xy is None else (float(center_xy[0]), float(center_xy[1])),
        bool(ifu_autocen), float(bkg_sigma_clip), bool(ifu_rfcorr), ifu_set_srctype,
        ifu_rscale, float(ifu_covar_scale), subtract_background)
    extract_ref = _reference(references, "extract1d")
    apcorr_ref = (ifu_apcorr.as_ifu_apcorr(_reference(references, "apcorr"))
                  if apply_apcorr else None)
    outputs, notes = [], []
    for i, product in enumerate(inputs):
        label = product.filename or f"input {i}"
        part, why = extract_cube(product, label, settings, extract_ref, apcorr_ref)
        notes.extend(why)
        if part is None:
            continue
        meta = tables.primary_meta(product.meta)
        meta.setdefault("cal_step", {})["extract_1d"] = COMPLETE
        model_type = "MRSMultiSpecModel" if product.get(
            "instrument.name", "").upper() == "MIRI" else "MultiSpecModel"
        outputs.append(StepOutput(tables.spectrum_product([part], meta, model_type), "x1d",
                                  origin=i))
    if not outputs:
        return StepResult(tuple(StepOutput(p, "x1d", origin=i) for i, p in enumerate(inputs)),
                          SKIPPED, "; ".join(notes) or "no input")
    return StepResult(tuple(outputs), COMPLETE, "; ".join(notes))
