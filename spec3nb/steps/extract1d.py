"""extract_1d for slit data: box extraction of NIRSpec FS/MOS and MIRI LRS spectra.

The algorithm is jwst 3.0.0's ``Extract1dStep`` for slit-like inputs (reference section
3.10.2): per slit, the extraction parameters (:mod:`.extract1d_params`), an aperture moved
onto the source when ``use_source_posn``, a box sum with fractional edge pixels and an
optional fitted background (:mod:`.extract1d_box`), units (Jy and MJy/sr once photom has
run), and an aperture correction for point sources (:mod:`.extract1d_apcorr`). Each input
gives one ``_x1d`` ``MultiSpecModel`` with one ``EXTRACT1D`` table per slit.

IFU cubes, NIRISS SOSS and WFSS are extracted by other modules (their parameters are
declared here because jwst has them on the same step); this one skips them.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from spec3nb.datamodels import meta as metatools
from spec3nb.datamodels import tables
from spec3nb.datamodels.dq import DO_NOT_USE
from spec3nb.datamodels.products import Part, Product
from spec3nb.datamodels.ref_extract1d import Extract1dReference
from spec3nb.errors import InputFileError
from spec3nb.params import BOOL, CHOICE, FLOAT, FLOATS, INT, PATH, STR, Param
from spec3nb.steps import extract1d_apcorr as apcorr
from spec3nb.steps.extract1d_box import (
    Calibration,
    Variances,
    aperture_centre,
    box_extract,
    box_profile,
    spectrum_columns,
)
from spec3nb.steps.extract1d_params import (
    HORIZONTAL,
    ExtractParams,
    NoApertureError,
    resolve_parameters,
    source_location,
)
from spec3nb.steps.extract1d_soss import extract_soss
from spec3nb.steps.extract1d_wfss import extract_wfss
from spec3nb.steps.spec import COMPLETE, SKIPPED, StepOutput, StepResult, StepSpec
from spec3nb.steps.spectral_wcs import spectral_wcs

NOT_APPLICABLE = "N/A"
_SLIT_TYPES = frozenset({"SlitModel", "ImageModel", "MultiSlitModel", "MultiExposureModel"})
_WFSS = frozenset({"NIS_WFSS", "NRC_WFSS", "NRC_GRISM", "MIR_WFSS"})
_VARIANCE_KEYS = ("var_rnoise", "var_poisson", "var_flat")
# Slit attributes copied to the spectrum even when empty, and those copied only when set.
_COPIED = ("slitlet_id", "source_id", "ta_xpos", "ta_ypos", "source_xpos", "source_ypos",
           "source_ra", "source_dec", "shutter_state")
_COPIED_IF_SET = ("source_name", "source_alias", "source_type", "stellarity", "quadrant",
                  "slit_xscale", "slit_yscale", "wavelength_corrected",
                  "pathloss_correction_type", "barshadow_corrected")


@dataclasses.dataclass(frozen=True)
class Slit:
    """One 2-D spectrum to extract, with the metadata jwst reads for it.

    ``meta`` is the slit's own metadata (for a slit of a ``MultiSlitModel``) or the
    product's (single-slit products); ``top`` is always the product's.
    """

    name: str
    part: Part
    meta: Mapping[str, Any]
    top: Mapping[str, Any]
    label: str

    def get(self, path: str, default: Any = None) -> Any:
        """A slit metadata value, falling back to the product's for instrument set-up."""
        value = metatools.get(self.meta, path)
        if value is None and path.startswith(("instrument.", "aperture.")):
            value = metatools.get(self.top, path)
        return default if value is None else value


def _fail(slit: Slit, problem: str) -> InputFileError:
    return InputFileError(slit.label, problem, f"slit {slit.name}")


# ----------------------------------------------------------------------------- inputs


def _slit_name(product: Product, part: Part, exp_type: str) -> str:
    """The name jwst matches apertures against for a single-slit product."""
    name = part.attrs.get("name")
    if product.model_type == "ImageModel" and name is not None:
        return name
    if exp_type == "NRS_BRIGHTOBJ" and name is not None:
        return name
    if exp_type == "NRS_FIXEDSLIT":
        return name if name is not None else product.get("instrument.fixed_slit", exp_type)
    return exp_type


def exposures(product: Product) -> list[Product]:
    """Split a source-based ``MultiExposureModel`` into one ``SlitModel`` per exposure (as
    jwst's SourceModelContainer does); other products are returned as they are."""
    if product.model_type != "MultiExposureModel":
        return [product]
    return [Product("SlitModel", part.meta, (Part(part.arrays, part.attrs, {}, part.wcs),))
            for part in product.parts]


def slits_of(product: Product, label: str) -> list[Slit]:
    """The slits of a product, each with its name and metadata."""
    exp_type = product.exp_type or ""
    if product.model_type == "MultiSlitModel":
        return [Slit(str(p.attrs.get("name")), p, p.meta, product.meta, label)
                for p in product.parts]
    part = product.part
    return [Slit(_slit_name(product, part, exp_type), part, product.meta, product.meta, label)]


def _source_type(product: Product, slit: Slit) -> str | None:
    if product.model_type == "ImageModel":
        return product.get("target.source_type")
    value = slit.part.attrs.get("source_type")
    if value is None and product.model_type != "MultiSlitModel":
        value = product.get("target.source_type")
    return value


def _valid_arrays(part: Part) -> tuple[np.ndarray, Variances]:
    """Data and variances with NaN wherever any of them is NaN or DQ says DO_NOT_USE."""
    data = part.data
    names = ["data", "err", *_VARIANCE_KEYS]
    present = [part.arrays[k] for k in names if k in part.arrays
               and part.arrays[k].shape == data.shape]
    invalid = np.zeros(data.shape, bool)
    for array in present:
        invalid |= np.isnan(array)
    if "dq" in part.arrays and part.arrays["dq"].shape == data.shape:
        invalid |= (part.arrays["dq"] & DO_NOT_USE).astype(bool)

    def cleaned(key: str) -> np.ndarray:
        array = part.arrays.get(key)
        if array is None or array.shape != data.shape:
            return np.zeros_like(data)
        return np.where(invalid, np.nan, array).astype(array.dtype)

    return cleaned("data"), Variances(*(cleaned(k) for k in _VARIANCE_KEYS))


def slit_wavelengths(slit: Slit) -> np.ndarray:
    """The slit's WAVELENGTH array, or the WCS's where it is missing or all zero."""
    wave = slit.part.arrays.get("wavelength")
    if wave is not None and wave.size:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            empty = np.nanmin(wave) == 0.0 and np.nanmax(wave) == 0.0
        if not empty:
            return np.array(wave)
    y, x = np.indices(slit.part.data.shape[-2:], dtype=np.float64)
    return np.asarray(slit.part.wcs(x, y)[2])


def _check_dispaxis(slit: Slit, dispaxis: Any, wave: np.ndarray) -> None:
    """Refuse a DISPAXIS that is not 1 or 2, or that the wavelengths contradict."""
    if dispaxis not in (1, 2):
        raise _fail(slit, f"DISPAXIS={dispaxis!r}; it must be 1 (along x) or 2 (along y)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        along_x = np.nanmedian(np.abs(np.diff(wave, axis=1))) if wave.shape[1] > 1 else 0.0
        along_y = np.nanmedian(np.abs(np.diff(wave, axis=0))) if wave.shape[0] > 1 else 0.0
    disp, cross = (along_x, along_y) if dispaxis == HORIZONTAL else (along_y, along_x)
    if np.isfinite(disp) and np.isfinite(cross) and cross > disp:
        raise _fail(slit, f"DISPAXIS={dispaxis} but the wavelength changes faster along "
                          f"{'y' if dispaxis == HORIZONTAL else 'x'} ({cross:.3g} um/pixel) "
                          f"than along the dispersion ({disp:.3g} um/pixel)")


# ----------------------------------------------------------------------------- aperture


@dataclasses.dataclass(frozen=True)
class Aperture:
    """The aperture of one slit and what it implies for the output spectrum."""

    params: ExtractParams
    profile: np.ndarray
    bkg_profile: np.ndarray | None
    wavelength: np.ndarray
    ra: float | None
    dec: float | None
    limits: tuple[Any, Any, Any, Any]


def _source_coordinates(slit: Slit, exp_type: str) -> tuple[Any, Any]:
    if exp_type == "MIR_LRS-FIXEDSLIT":
        return slit.get("dither.dithered_ra"), slit.get("dither.dithered_dec")
    return slit.part.attrs.get("source_xpos"), slit.part.attrs.get("source_ypos")


def define_aperture(slit: Slit, params: ExtractParams, wave: np.ndarray, exp_type: str
                    ) -> Aperture:
    """Place the aperture (on the source when asked) and derive the spectrum's wavelengths
    and sky position.

    Parameters
    ----------
    slit : Slit
        The slit.
    params : ExtractParams
        Its extraction parameters.
    wave : numpy.ndarray
        Wavelength of each pixel.
    exp_type : str
        The exposure type.

    Returns
    -------
    Aperture
        The aperture.
    """
    shape = slit.part.data.shape[-2:]
    wcs = slit.part.wcs
    trace = None
    if params.use_source_posn:
        found = source_location(wcs, shape, params.dispaxis, exp_type,
                                _source_coordinates(slit, exp_type))
        if found is not None:
            middle, location, trace = found
            nominal = box_profile(shape, params, wave)[0]
            centre, _ = aperture_centre(nominal, params.dispaxis, middle)
            params = params.shifted(location - centre, move_trace=False)
    params = dataclasses.replace(params, trace=trace)
    if params.position_offset != 0.0:
        params = params.shifted(params.position_offset, move_trace=True)
    profile, lower, upper = box_profile(shape, params, wave)
    profile[~np.isfinite(wave)] = 0.0
    used = np.flatnonzero(np.sum(profile, axis=params.dispaxis - 1) > 0)
    left, right = (int(used[0]), int(used[-1])) if used.size else (None, None)
    bkg_profile = None
    if params.subtract_background and params.bkg_coeff is not None:
        bkg_profile = box_profile(shape, params, wave, background=True)[0]
    masked = np.isnan(wave) | (profile <= 0)
    weights = np.where(masked, 0.0, profile)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        axis = 0 if params.dispaxis == HORIZONTAL else 1
        wavelength = (np.sum(np.where(masked, 0.0, wave) * weights, axis=axis)
                      / np.sum(weights, axis=axis))
    wavelength[np.all(masked, axis=axis)] = np.nan
    centre_y, centre_x = aperture_centre(profile, HORIZONTAL)
    coords = np.asarray(wcs(centre_x, centre_y), dtype=np.float64)
    ra, dec = (None, None) if np.any(np.isnan(coords)) else (float(coords[0]),
                                                              float(coords[1]))
    return Aperture(params, profile, bkg_profile, wavelength, ra, dec,
                    (lower, upper, left, right))


# ----------------------------------------------------------------------------- spectrum


def _calibration(slit: Slit, source_type: str | None) -> Calibration:
    photom = str(metatools.get(slit.top, "cal_step.photom", "")).upper() == "COMPLETE"
    area = slit.get("photometry.pixelarea_steradians") if photom else None
    instrument = str(slit.get("instrument.name", "")).upper()
    megajansky = photom and source_type == "POINT" and instrument == "NIRSPEC"
    return Calibration(photom, 1.0 if area is None else float(area), megajansky)


def _apcorr_factors(slit: Slit, product: Product, reference, aperture: Aperture,
                    columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """Aperture-correction factor of every row (see :mod:`.extract1d_apcorr`)."""
    instrument = str(product.get("instrument.name", "")).upper()
    exp_type = product.exp_type or ""
    name = None if product.model_type == "ImageModel" else slit.name
    row = apcorr.select_row(reference, apcorr.match_values(
        instrument, exp_type, product.get, name))
    sizes = np.asarray(row["size"])
    wave, npix = columns["WAVELENGTH"], columns["NPIXELS"]
    if reference.sizeunit.lower().startswith("arcsec"):
        at = float(np.median(wave)) if instrument == "NIRSPEC" else float(np.min(wave))
        if aperture.ra is None:
            raise _fail(slit, "no sky position for the aperture, so the APCORR sizes in "
                              "arcsec cannot be converted to pixels")
        scale = apcorr.spatial_scale(slit.part.wcs, (aperture.ra, aperture.dec, at),
                                     aperture.params.dispaxis)
        # jwst divides the table's column in place, so float32 sizes stay float32.
        kind = sizes.dtype if sizes.dtype.kind == "f" else np.float64
        sizes = (sizes / scale).astype(kind)
    if instrument == "NIRSPEC":
        return apcorr.nirspec_factors(row, sizes, npix, wave)
    try:
        return apcorr.miri_factors(row, sizes, npix, wave)
    except ValueError as exc:
        raise InputFileError(reference.path, str(exc), "APCORR") from None


def _attrs(slit: Slit, product: Product, aperture: Aperture, order: int) -> dict[str, Any]:
    lower, upper, left, right = aperture.limits

    def one(value):  # 1-based, as jwst writes them
        return None if value is None else value + 1

    along = {"start": one(left), "stop": one(right)}
    across = {"start": one(lower), "stop": one(upper)}
    x, y = (along, across) if aperture.params.dispaxis == HORIZONTAL else (across, along)
    attrs: dict[str, Any] = {
        "slit_ra": aperture.ra, "slit_dec": aperture.dec, "spectral_order": order,
        "dispersion_direction": aperture.params.dispaxis,
        "detector": product.get("instrument.detector"),
        "position_angle": slit.get("aperture.position_angle"),
        "extraction_xstart": x["start"], "extraction_xstop": x["stop"],
        "extraction_ystart": y["start"], "extraction_ystop": y["stop"],
    }
    if slit.name != "ANY":
        attrs["name"] = slit.name
    for key in _COPIED + _COPIED_IF_SET:
        if slit.part.attrs.get(key) is not None:
            attrs[key] = slit.part.attrs[key]
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in attrs.items()
            if v is not None}


def extract_slit(slit: Slit, product: Product, settings: Mapping[str, Any], references
                 ) -> Part | str:
    """Extract one slit.

    Parameters
    ----------
    slit : Slit
        The slit.
    product : Product
        The product it belongs to.
    settings : Mapping[str, Any]
        Step parameters: ``smoothing_length``, ``bkg_fit``, ``bkg_order``,
        ``subtract_background``, ``use_source_posn``, ``position_offset``.
    references : tuple
        (extract1d reference or None, apcorr reference or None).

    Returns
    -------
    Part or str
        The spectrum, or why the slit was skipped.

    Raises
    ------
    InputFileError
        For a slit jwst cannot extract (no WCS, DISPAXIS neither 1 nor 2 or contradicted by
        the wavelengths, 3-D data) or an EXTRACT1D reference with no aperture for it.
    """
    exp_type = product.exp_type or ""
    extract_ref, apcorr_ref = references
    data = slit.part.data
    if data.size == 0:
        return f"slit {slit.name}: no data"
    if data.ndim != 2:
        raise _fail(slit, f"{data.ndim}-D data; slit extraction takes 2-D images")
    order = slit.get("wcsinfo.spectral_order", 1)
    if order == 0 and not _is_prism(product):
        return f"slit {slit.name}: spectral order 0 is a direct image"
    source_type = _source_type(product, slit)
    dispaxis = slit.get("wcsinfo.dispersion_direction")
    params = _slit_parameters(slit, exp_type, order, dispaxis, source_type, settings,
                              extract_ref)
    if isinstance(params, str):
        return params
    if slit.part.wcs is None:
        raise _fail(slit, "no WCS: assign_wcs must have run on the input")
    wave = slit_wavelengths(slit)
    _check_dispaxis(slit, dispaxis, wave)
    image, var = _valid_arrays(slit.part)
    if not np.isfinite(image).any():
        return f"slit {slit.name}: every pixel is NaN or DO_NOT_USE"
    aperture = define_aperture(slit, params, wave, exp_type)
    valid = np.isfinite(aperture.wavelength)
    if not valid.any():
        return f"slit {slit.name}: no valid wavelength in the aperture"

    def flip(array):  # the extraction wants the dispersion along the columns
        return array if dispaxis == HORIZONTAL or array is None else array.T

    result = box_extract(flip(image), flip(aperture.profile), var.map(flip),
                         flip(aperture.bkg_profile), aperture.params)
    cal = _calibration(slit, source_type)
    columns = {k: v[valid] for k, v in spectrum_columns(result, cal).items()}
    columns["WAVELENGTH"] = aperture.wavelength[valid]
    if apcorr_ref is not None and str(source_type).upper() == "POINT":
        columns = apcorr.apply_factors(
            columns, _apcorr_factors(slit, product, apcorr_ref, aperture, columns))
    table = tables.spec_table(columns.pop("WAVELENGTH"),
                              units=tables.spectrum_units(cal.photom, ifu=False), **columns)
    wcs = spectral_wcs(aperture.ra, aperture.dec, table["WAVELENGTH"])
    return Part(arrays={"spec_table": table}, attrs=_attrs(slit, product, aperture, order),
                wcs=wcs)


def _slit_parameters(slit: Slit, exp_type: str, order: int, dispaxis: Any,
                     source_type: str | None, settings: Mapping[str, Any], reference: Any
                     ) -> ExtractParams | str:
    """The slit's extraction parameters, or why jwst skips the slit."""
    options = dict(settings)
    if (source_type != "POINT" or exp_type in _WFSS) and options["use_source_posn"] is None:
        options["use_source_posn"] = False
    try:
        params = resolve_parameters(reference, slit.part.data.shape, slit.name, order,
                                    dispaxis or 1, exp_type, **options)
    except NoApertureError as exc:
        raise _fail(slit, str(exc)) from None
    if params is None:
        return f"slit {slit.name}: the extract1d reference has no aperture for order {order}"
    if dispaxis is None:
        return f"slit {slit.name}: no DISPAXIS (dispersion direction)"
    return params


def slit_aperture(slit: Slit, product: Product, settings: Mapping[str, Any], reference: Any
                  ) -> Aperture | str:
    """The aperture extract_1d uses on one slit (parameters resolved, placed on the source
    and offset), or why the slit is skipped; what the s2d viewer draws.

    Parameters
    ----------
    slit : Slit
        The slit.
    product : Product
        The product it belongs to.
    settings : Mapping[str, Any]
        The step parameters, as for :func:`extract_slit`.
    reference : Extract1dReference or None
        The extract1d reference (with ``extract_width`` applied).

    Returns
    -------
    Aperture or str
        The aperture (``params.bkg_coeff`` are the placed background regions).
    """
    exp_type = product.exp_type or ""
    order = slit.get("wcsinfo.spectral_order", 1)
    dispaxis = slit.get("wcsinfo.dispersion_direction")
    params = _slit_parameters(slit, exp_type, order, dispaxis, _source_type(product, slit),
                              settings, reference)
    if isinstance(params, str):
        return params
    return define_aperture(slit, params, slit_wavelengths(slit), exp_type)


def _is_prism(product: Product) -> bool:
    instrument = str(product.get("instrument.name", "")).upper()
    return ((instrument == "MIRI" and "P750L" in str(product.get("instrument.filter", "")))
            or (instrument == "NIRSPEC"
                and "PRISM" in str(product.get("instrument.grating", "")).upper()))


def extract_product(product: Product, label: str, settings: Mapping[str, Any], references
                    ) -> tuple[Product | None, list[str]]:
    """Extract every slit of one product; (the x1d product or None, reasons for skips)."""
    parts, reasons = [], []
    for slit in slits_of(product, label):
        outcome = extract_slit(slit, product, settings, references)
        if isinstance(outcome, str):
            reasons.append(f"{label}: {outcome}")
        else:
            parts.append(outcome)
    if not parts:
        return None, reasons
    meta = tables.primary_meta(product.meta)
    meta.setdefault("cal_step", {})["extract_1d"] = COMPLETE
    return tables.spectrum_product(parts, meta), reasons


def _reference(references: Mapping[str, Any], reftype: str) -> Any:
    value = references.get(reftype)
    return None if value is None or value == NOT_APPLICABLE else value


def _input_kind(inputs: Sequence[Product]) -> str:
    """``slit``, ``wfss``, ``soss`` or ``ifu``: which extraction the inputs need (one kind)."""
    kinds = set()
    for product in inputs:
        exp_type = (product.exp_type or "").upper()
        if exp_type in _WFSS:
            kinds.add("wfss")
        elif exp_type == "NIS_SOSS":
            kinds.add("soss")
        elif product.model_type == "IFUCubeModel":
            kinds.add("ifu")
        else:
            kinds.add("slit")
    if len(kinds) > 1:
        raise InputFileError("(inputs)", f"extract_1d takes one kind of data at a time, not "
                             f"{' and '.join(sorted(kinds))}")
    return kinds.pop() if kinds else "slit"


def _extract_ifu(inputs: Sequence[Product], **settings: Any) -> StepResult:
    """IFU cubes go to the IFU extraction (its own modules)."""
    from spec3nb.steps.extract1d_ifu import extract_ifu

    return extract_ifu(inputs, **settings)


def with_extract_width(reference: Any, extract_width: float | None) -> Any:
    """The extract1d reference with every aperture's ``extract_width`` set (spec3nb's
    ``extract_width`` parameter; jwst has it only in the reference).

    Without a reference the result is a one-aperture reference that sets only the width,
    so the box is placed exactly as jwst places it for such a reference.
    """
    if extract_width is None:
        return reference
    if reference is None or reference == NOT_APPLICABLE:
        return Extract1dReference(path="(extract_width parameter)", kind="json",
                                  apertures=({"id": "ANY", "extract_width": extract_width},))
    apertures = tuple({**a, "extract_width": extract_width} for a in reference.apertures)
    return dataclasses.replace(reference, apertures=apertures)


def extract_1d(
    inputs: Sequence[Product],
    *,
    subtract_background: bool | None = None,
    apply_apcorr: bool = True,
    extraction_type: str | None = "box",
    use_source_posn: bool | None = None,
    position_offset: float = 0.0,
    smoothing_length: int | None = None,
    bkg_fit: str | None = None,
    bkg_order: int | None = None,
    extract_width: float | None = None,
    references: Mapping[str, Any] | None = None,
    **other: Any,
) -> StepResult:
    """Extract 1-D spectra from slit products (``_s2d``, or ``_cal`` when not resampled).

    Parameters
    ----------
    inputs : Sequence[Product]
        ``SlitModel``, ``ImageModel`` (old MIRI LRS), ``MultiSlitModel`` or source-based
        ``MultiExposureModel`` products (the last gives one x1d per exposure).
    subtract_background : bool or None
        Subtract the background regions of the reference (None: when it has some).
    apply_apcorr : bool
        Apply the APCORR reference's correction to point sources.
    extraction_type : str or None
        ``box``; ``optimal`` needs a PSF reference, which spec3nb does not take, so it falls
        back to ``box`` as jwst does without one.
    use_source_posn : bool or None
        Move the aperture onto the source position from the WCS (None: for point sources of
        NIRSpec FS/MOS and MIRI LRS when the reference does not say).
    position_offset : float
        Extra cross-dispersion shift of the aperture (pixels).
    smoothing_length, bkg_fit, bkg_order : optional
        Background smoothing (odd, pixels), fit type (poly, mean, median) and polynomial
        order, overriding the reference.
    extract_width : float or None
        Box width in pixels replacing the extract1d reference's (a spec3nb addition: with
        no reference it acts as a reference aperture that sets only the width).
    references : Mapping[str, Any], optional
        ``extract1d`` and ``apcorr`` references (loaded), ``"N/A"`` or None.
    **other : Any
        The step's other parameters (optimal extraction, saving, IFU and SOSS ones), which
        slit box extraction does not use.

    Returns
    -------
    StepResult
        One ``MultiSpecModel`` (suffix ``x1d``) per input (per exposure of a
        ``MultiExposureModel``); SKIPPED with the inputs when nothing could be extracted.
    """
    kind = _input_kind(inputs)
    if kind == "wfss":
        return extract_wfss(inputs, apply_apcorr=apply_apcorr, references=references)
    if kind == "soss":
        return extract_soss(inputs, references=references, **{
            k: other[k] for k in ("soss_width", "soss_atoca", "soss_bad_pix") if k in other})
    if kind == "ifu":
        return _extract_ifu(inputs, subtract_background=subtract_background,
                            apply_apcorr=apply_apcorr, references=references, **other)
    references = references or {}
    refs = (with_extract_width(_reference(references, "extract1d"), extract_width),
            _reference(references, "apcorr") if apply_apcorr else None)
    settings = {"smoothing_length": smoothing_length, "bkg_fit": bkg_fit,
                "bkg_order": bkg_order, "subtract_background": subtract_background,
                "use_source_posn": use_source_posn, "position_offset": position_offset}
    outputs, reasons = [], []
    for i, product in enumerate(inputs):
        label = product.filename or f"input {i}"
        if product.model_type not in _SLIT_TYPES or (product.exp_type or "") in _WFSS:
            reasons.append(f"{label}: a {product.model_type} of {product.exp_type} is not "
                           "slit data (IFU, SOSS and WFSS extraction are separate)")
            continue
        for exposure in exposures(product):
            x1d, why = extract_product(exposure, label, settings, refs)
            reasons.extend(why)
            if x1d is not None:
                outputs.append(StepOutput(x1d, "x1d", origin=i))
    if not outputs:
        return StepResult(tuple(StepOutput(p, "x1d", origin=i) for i, p in enumerate(inputs)),
                          SKIPPED, "; ".join(reasons) or "no input")
    return StepResult(tuple(outputs), COMPLETE, "; ".join(reasons))


def _param(name: str, kind: str, default: Any, doc: str, **kw: Any) -> Param:
    return Param(name, kind, default, doc, **kw)


SPEC = StepSpec(
    name="extract_1d",
    summary="Extract 1-D spectra from 2-D slit spectra (box aperture, background, apcorr)",
    function=extract_1d,
    params=(
        Param("extract_width", FLOAT, None,
              "width of the box aperture in pixels, replacing the extract1d reference's "
              "(spec3nb only: jwst takes it from the reference file)", minimum=1.0,
              jwst=False),
        _param("subtract_background", BOOL, None,
               "subtract the reference's background regions (None: when it has some)"),
        _param("apply_apcorr", BOOL, True, "apply the APCORR aperture correction"),
        _param("extraction_type", CHOICE, "box", "box or optimal (optimal needs a PSF "
               "reference; without one, box)", choices=("box", "optimal", None)),
        _param("use_source_posn", BOOL, None, "centre the aperture on the source position "
               "from the WCS (None: on for point sources of NIRSpec FS/MOS and MIRI LRS)"),
        _param("position_offset", FLOAT, 0.0, "extra cross-dispersion shift of the "
               "aperture (pixels)"),
        _param("model_nod_pair", BOOL, True, "optimal extraction: model the negative nod"),
        _param("optimize_psf_location", BOOL, True, "optimal extraction: fit the source "
               "location"),
        _param("smoothing_length", INT, None, "boxcar length (pixels, odd) smoothing the "
               "background along the dispersion"),
        _param("bkg_fit", CHOICE, None, "background fit per column: poly, mean or median",
               choices=("poly", "mean", "median", None)),
        _param("bkg_order", INT, None, "order of the background polynomial", minimum=0),
        _param("log_increment", INT, 50, "log progress every this many integrations"),
        _param("save_profile", BOOL, False, "save the spatial profile"),
        _param("save_scene_model", BOOL, False, "save the scene model"),
        _param("save_residual_image", BOOL, False, "save the residual image"),
        _param("center_xy", FLOATS, None, "IFU: extraction centre (x, y)", length=2),
        _param("ifu_autocen", BOOL, False, "IFU: find the point source automatically"),
        _param("bkg_sigma_clip", FLOAT, 3.0, "IFU: background sigma-clipping threshold"),
        _param("ifu_rfcorr", BOOL, True, "IFU: residual fringe correction (MIRI MRS)"),
        _param("ifu_set_srctype", CHOICE, None, "IFU: override the source type",
               choices=("POINT", "EXTENDED", None)),
        _param("ifu_rscale", FLOAT, None, "IFU: extraction radius in PSF FWHM",
               minimum=0.5, maximum=3.0),
        _param("ifu_covar_scale", FLOAT, 1.0, "IFU: error scaling for cube covariance"),
        _param("soss_atoca", BOOL, True, "SOSS: use the ATOCA algorithm"),
        _param("soss_threshold", FLOAT, 0.01, "SOSS: trace-model threshold"),
        _param("soss_n_os", INT, 2, "SOSS: oversampling of the wavelength grid"),
        _param("soss_wave_grid_in", PATH, None, "SOSS: input wavelength grid"),
        _param("soss_wave_grid_out", STR, None, "SOSS: output wavelength grid file"),
        _param("soss_estimate", PATH, None, "SOSS: spectrum estimate for the grid"),
        _param("soss_rtol", FLOAT, 1.0e-4, "SOSS: relative tolerance of the pixel model"),
        _param("soss_max_grid_size", INT, 20000, "SOSS: largest wavelength grid"),
        _param("soss_tikfac", FLOAT, None, "SOSS: regularisation factor"),
        _param("soss_width", FLOAT, 40.0, "SOSS: box aperture width (pixels)"),
        _param("soss_bad_pix", CHOICE, "masking", "SOSS: bad pixels: model or masking",
               choices=("model", "masking")),
        _param("soss_modelname", STR, None, "SOSS: file name of the optional trace model"),
        _param("soss_order_3", BOOL, True, "SOSS: include spectral order 3"),
    ),
    reference_types=("extract1d", "apcorr", "sosstrace"),
    jwst_class="jwst.extract_1d.Extract1dStep",
)
