"""Projection of a 1-D master background spectrum onto the pixels of 2-D science data.

Every science pixel gets the master spectrum's surface brightness at that pixel's
wavelength (linear interpolation in the spectrum's ``SURF_BRIGHT`` column). This is what
jwst 3.0.0's ``expand_to_2d`` does (reference section 3.2):

* pixels whose wavelength is NaN or outside the spectrum's wavelength range get a
  background of 0 and, for slits, ``DO_NOT_USE`` in the background's DQ;
* NIRSpec MOS slits get a background of 0 and no DQ (spec3 does not do MOS master
  background; that is spec2's ``master_background_mos``);
* NIRSpec fixed-slit point sources get the background scaled by the ratio of the uniform to
  the point-source pathloss, flat-field and photometric conversions (when the slit holds
  those six arrays), so that it matches the point-source calibration of the science data;
* IFU images (MIRI MRS, NIRSpec IFU) get a background of 0 where the WCS gives no
  wavelength or the spectrum does not reach, and no DQ flag; a NIRSpec IFU point source
  (``TARGET.SOURCE_TYPE`` POINT) gets the background scaled by ``pathloss_uniform /
  pathloss_point`` when the image holds both arrays.

The subtraction changes ``SCI`` and ``DQ`` only: as in jwst, ``ERR`` and the variance
arrays are left as they were (the master background's noise is not propagated).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from spec3nb.datamodels.dq import DO_NOT_USE
from spec3nb.datamodels.products import Part, Product
from spec3nb.errors import InputFileError

log = logging.getLogger(__name__)

#: Model types whose background is built pixel by pixel here, per part.
SLIT_TYPES = frozenset({"MultiSlitModel", "SlitModel", "ImageModel"})

#: The arrays of the NIRSpec fixed-slit point-source correction (uniform / point ratios).
POINT_SOURCE_ARRAYS = ("pathloss_point", "pathloss_uniform", "flatfield_point",
                       "flatfield_uniform", "photom_point", "photom_uniform")


def background_table(spectrum: Product) -> tuple[np.ndarray, np.ndarray]:
    """Return the wavelengths and surface brightnesses of a master background spectrum.

    The first spectrum of the product is used (as jwst does; a warning is logged when
    there are more), sorted by wavelength unless the wavelengths already increase strictly.

    Parameters
    ----------
    spectrum : Product
        An x1d (``MultiSpecModel`` ...) or c1d (``MultiCombinedSpecModel``) product.

    Returns
    -------
    tuple[numpy.ndarray, numpy.ndarray]
        Wavelengths (micron) and surface brightness, as float64.

    Raises
    ------
    ValueError
        If the product holds no spectrum table, or no row with a finite wavelength and
        surface brightness.
    """
    label = spectrum.filename or "the master background"
    if not spectrum.parts or "spec_table" not in spectrum.parts[0].arrays:
        raise ValueError(f"{label} ({spectrum.model_type}) holds no 1-D spectrum table")
    if len(spectrum.parts) > 1:
        log.warning("%s holds %d spectra; only the first is used", label, len(spectrum.parts))
    table = spectrum.parts[0].table
    names = {n.upper(): n for n in table.dtype.names}
    if table.dtype[names["WAVELENGTH"]].shape != ():
        raise ValueError(f"{label}: a table of one spectrum per row cannot be a master "
                         "background")
    wave = np.array(table[names["WAVELENGTH"]], dtype=np.float64)
    surf_bright = np.array(table[names["SURF_BRIGHT"]], dtype=np.float64)
    if not np.any(np.isfinite(wave) & np.isfinite(surf_bright)):
        raise ValueError(f"{label}: no row has both a finite WAVELENGTH and SURF_BRIGHT")
    if not np.all(np.diff(wave) > 0):
        order = np.argsort(wave)  # np.interp needs increasing abscissae
        wave, surf_bright = wave[order], surf_bright[order]
    return wave, surf_bright


def part_wavelengths(part: Part, where: str) -> np.ndarray:
    """Return the wavelength of every pixel of `part` (float64, the data's last two axes).

    The ``wavelength`` array is used when present and not all zero (an all-zero array is
    how a missing one reads from a file); otherwise the WCS is evaluated at the pixel
    centres.

    Parameters
    ----------
    part : Part
        A slit or a single-part image.
    where : str
        Where the part is, for error messages (exposure and slit).

    Returns
    -------
    numpy.ndarray
        Wavelengths in micron (NaN where there is none).

    Raises
    ------
    InputFileError
        If the part has neither a usable wavelength array nor a WCS.
    """
    if "data" not in part.arrays or part.data.ndim < 2:
        raise InputFileError(where, "no 2-D science array to subtract a background from")
    wave = part.arrays.get("wavelength")
    if wave is not None and wave.size:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN arrays
            empty = np.nanmin(wave) == 0.0 and np.nanmax(wave) == 0.0
        if not empty:
            return np.array(wave, dtype=np.float64)
    if part.wcs is None:
        raise InputFileError(where, "no WAVELENGTH array and no WCS: the pixel wavelengths "
                                    "needed to place the master background are unknown")
    y, x = np.indices(part.data.shape[-2:], dtype=np.float64)
    try:
        world = part.wcs(x, y)
    except Exception as exc:  # a broken WCS can raise almost anything
        raise InputFileError(where, f"its WCS cannot be evaluated ({exc})") from exc
    return np.array(world[-1], dtype=np.float64)


def interpolate(wave: np.ndarray, tab_wave: np.ndarray, tab_sb: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Background at each wavelength, and where the spectrum does not cover it.

    Parameters
    ----------
    wave : numpy.ndarray
        Pixel wavelengths (NaN allowed).
    tab_wave, tab_sb : numpy.ndarray
        The master spectrum, wavelengths increasing.

    Returns
    -------
    tuple[numpy.ndarray, numpy.ndarray]
        The background (0 where uncovered) and the uncovered mask (NaN wavelength or outside
        ``[min, max]`` of `tab_wave`).
    """
    # NaN wavelengths are moved below any table wavelength first, so that they count as
    # uncovered; uncovered pixels then get np.interp's `left` value, 0.
    wave = np.where(np.isnan(wave), -1.0, wave)
    with np.errstate(invalid="ignore"):
        uncovered = (wave > np.amax(tab_wave)) | (wave < np.amin(tab_wave))
    inside = np.where(uncovered, -1.0, wave)
    return np.interp(inside, tab_wave, tab_sb, left=0.0, right=0.0), uncovered


def point_source_factor(part: Part) -> np.ndarray | None:
    """The NIRSpec fixed-slit point-source scaling of the background, or None.

    ``(pathloss_uniform / pathloss_point) * (flatfield_uniform / flatfield_point) *
    (photom_point / photom_uniform)``, in the arrays' own precision; None (with a warning)
    when any of the six arrays is missing.

    Parameters
    ----------
    part : Part
        A NIRSpec fixed slit holding a point source.

    Returns
    -------
    numpy.ndarray or None
        The factor per pixel.
    """
    missing = [name for name in POINT_SOURCE_ARRAYS if name not in part.arrays]
    if missing:
        log.warning("slit %s: %s missing; the background gets no point-source correction",
                    part.attrs.get("name"), ", ".join(missing))
        return None
    # The arrays are float32 in a file; computing in their precision matches jwst.
    a = {name: np.asarray(part.arrays[name], dtype=np.float32) for name in POINT_SOURCE_ARRAYS}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return ((a["pathloss_uniform"] / a["pathloss_point"])
                * (a["flatfield_uniform"] / a["flatfield_point"])
                * (a["photom_point"] / a["photom_uniform"]))


def _covered(wave: np.ndarray, uncovered: np.ndarray) -> int:
    """How many pixels with a wavelength the master spectrum covers."""
    return int(np.count_nonzero(~uncovered & np.isfinite(wave)))


def _slit_background(part: Part, exp_type: str | None, where: str,
                     table: tuple[np.ndarray, np.ndarray]) -> tuple[Part, int | None]:
    """The 2-D background of one slit, and how many of its pixels the spectrum covers.

    The background is a copy of the slit with data and DQ replaced; the count is None for
    a MOS slit, whose background is always 0.
    """
    wave = part_wavelengths(part, where)
    values, uncovered = interpolate(wave, *table)
    covered: int | None = _covered(wave, uncovered)
    dtype = part.data.dtype if part.data.dtype.kind == "f" else np.dtype(np.float32)
    background = np.broadcast_to(values.astype(dtype), part.data.shape).copy()
    dq = part.dq | np.where(uncovered, np.uint32(DO_NOT_USE), np.uint32(0))
    if exp_type == "NRS_MSASPEC":
        log.warning("%s: master background is not done for NIRSpec MOS in spec3 (spec2's "
                    "master_background_mos does it); background set to 0", where)
        background[...] = 0.0
        dq = np.zeros_like(part.dq)
        covered = None
    elif exp_type == "NRS_FIXEDSLIT" and str(part.attrs.get("source_type")).upper() == "POINT":
        factor = point_source_factor(part)
        if factor is not None:
            with np.errstate(invalid="ignore", over="ignore"):
                background *= factor.astype(background.dtype, copy=False)
    return part.evolve(arrays={"data": background, "dq": dq.astype(np.uint32)}), covered


def ifu_wavelengths(part: Part, instrument: str, where: str) -> np.ndarray:
    """Return the WCS wavelength of every pixel of an IFU image (NaN where it has none).

    MIRI: the WCS is evaluated on the whole image, as jwst does. NIRSpec: jwst evaluates
    each of the 30 slice WCSs on the integer pixels of the slice's bounding box; the
    coordinate-based WCS of jwst 3.0.0 (and the simulator's) already picks the slice of
    every pixel from the slice map and gives NaN between slices, so evaluating the full WCS
    on the pixels of the slice map (``REGIONS`` > 0, every pixel when there is no map) gives
    the same wavelengths without 30 passes over the image.

    Parameters
    ----------
    part : Part
        The image (with its gWCS).
    instrument : str
        ``MIRI`` or ``NIRSPEC``.
    where : str
        The exposure, for error messages.

    Returns
    -------
    numpy.ndarray
        Wavelengths (micron, float64), shaped as the image.

    Raises
    ------
    InputFileError
        Without a WCS, or when the WCS cannot be evaluated.
    """
    if part.wcs is None:
        raise InputFileError(where, "no WCS: the pixel wavelengths needed to place the "
                                    "master background are unknown")
    shape = part.data.shape[-2:]
    wave = np.full(shape, np.nan)
    regions = part.arrays.get("regions")
    if instrument == "NIRSPEC" and regions is not None and regions.shape == shape:
        y, x = np.nonzero(np.asarray(regions) > 0)
    else:
        y, x = (a.ravel() for a in np.indices(shape))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NaN between slices
            world = part.wcs(x.astype(np.float64), y.astype(np.float64))
    except Exception as exc:  # a broken WCS can raise almost anything
        raise InputFileError(where, f"its WCS cannot be evaluated ({exc})") from exc
    wave[y, x] = np.asarray(world[-1], dtype=np.float64)
    return wave


def nirspec_ifu_point_factor(part: Part) -> np.ndarray | None:
    """``pathloss_uniform / pathloss_point`` of a NIRSpec IFU point source, or None.

    None (with a warning) when either array is missing, as jwst then leaves the
    background as it is.

    Parameters
    ----------
    part : Part
        The NIRSpec IFU image.

    Returns
    -------
    numpy.ndarray or None
        The factor per pixel (float32, the arrays' precision in a file).
    """
    missing = [n for n in ("pathloss_point", "pathloss_uniform") if n not in part.arrays]
    if missing:
        log.warning("%s missing; the IFU background gets no point-source pathloss update",
                    " and ".join(missing))
        return None
    uniform = np.asarray(part.arrays["pathloss_uniform"], dtype=np.float32)
    point = np.asarray(part.arrays["pathloss_point"], dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return uniform / point


def _ifu_background(part: Part, product: Product, where: str,
                    table: tuple[np.ndarray, np.ndarray]) -> tuple[Part, int]:
    """The 2-D background of an IFU image, and how many pixels the spectrum covers.

    Pixels without a wavelength or outside the spectrum get 0 and, unlike slits, no DQ
    flag (jwst leaves the IFU DQ alone). NIRSpec point sources get the pathloss update.
    """
    instrument = str(product.get("instrument.name", "")).upper()
    if instrument not in ("MIRI", "NIRSPEC"):
        raise InputFileError(where, f"an IFU image of instrument {instrument or '(none)'!r}:"
                                    " master_background knows MIRI MRS and NIRSpec IFU only")
    wave = ifu_wavelengths(part, instrument, where)
    values, uncovered = interpolate(wave, *table)
    dtype = part.data.dtype if part.data.dtype.kind == "f" else np.dtype(np.float32)
    background = values.astype(dtype)
    if instrument == "NIRSPEC" and product.get("target.source_type") == "POINT":
        factor = nirspec_ifu_point_factor(part)
        if factor is not None:
            with np.errstate(invalid="ignore", over="ignore"):
                background *= factor.astype(dtype, copy=False)
    return part.evolve(arrays={"data": background}), _covered(wave, uncovered)


def expand_to_2d(product: Product, table: tuple[np.ndarray, np.ndarray],
                 label: str) -> tuple[Product, int | None]:
    """Return the 2-D background of a science product.

    Parameters
    ----------
    product : Product
        A ``MultiSlitModel``, ``SlitModel``, ``ImageModel`` or ``IFUImageModel`` (MIRI MRS
        or NIRSpec IFU).
    table : tuple[numpy.ndarray, numpy.ndarray]
        The master spectrum, from :func:`background_table`.
    label : str
        The product's name, for messages.

    Returns
    -------
    tuple[Product, int or None]
        A copy of `product` whose ``data`` is the background and whose ``dq`` has
        ``DO_NOT_USE`` added where the spectrum does not cover the pixel's wavelength (the
        other arrays are the science product's, as jwst's ``_masterbg2d`` has them); and
        the number of pixels the spectrum covers (None when all slits are MOS slits).

    Raises
    ------
    InputFileError
        If a slit's wavelengths cannot be found.
    TypeError
        For a model type that has no 2-D background.
    """
    if product.model_type == "IFUImageModel":
        part, covered = _ifu_background(product.part, product, label, table)
        return product.evolve(parts=[part]), covered
    if product.model_type not in SLIT_TYPES:
        raise TypeError(f"{label}: a {product.model_type} cannot have a master background "
                        "subtracted")
    parts, counts = [], []
    for k, part in enumerate(product.parts):
        exp_type = part.meta.get("exposure", {}).get("type") or product.exp_type
        where = label if product.model_type != "MultiSlitModel" else (
            f"{label} slit {part.attrs.get('name', k)}")
        background, covered = _slit_background(
            part, exp_type if product.is_multi else None, where, table)
        parts.append(background)
        counts.append(covered)
    known = [c for c in counts if c is not None]
    return product.evolve(parts=parts), (sum(known) if known else None)


def subtract(product: Product, background: Product) -> Product:
    """Return `product` minus its 2-D `background` (``SCI`` minus, ``DQ`` or-ed).

    Parameters
    ----------
    product : Product
        The science product.
    background : Product
        What :func:`expand_to_2d` made of it.

    Returns
    -------
    Product
        The subtracted product; ``ERR`` and the variances are unchanged.
    """
    parts: list[Part] = []
    for part, bkg in zip(product.parts, background.parts, strict=True):
        arrays: dict[str, Any] = {"data": part.data - bkg.data}
        if "dq" in part.arrays or "dq" in bkg.arrays:
            arrays["dq"] = part.dq | bkg.dq
        parts.append(part.evolve(arrays=arrays))
    return product.evolve(parts=parts)


def check_parts(products: Sequence[Product]) -> None:
    """Raise TypeError if a product's model type cannot take a master background.

    Parameters
    ----------
    products : Sequence[Product]
        The science products.
    """
    for product in products:
        if product.model_type not in SLIT_TYPES | {"IFUImageModel"}:
            raise TypeError(f"{product.filename or 'a science input'} is a "
                            f"{product.model_type}; master_background takes MultiSlitModel, "
                            "SlitModel, ImageModel or IFUImageModel science products")
