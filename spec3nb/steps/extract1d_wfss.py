"""extract_1d for WFSS: every cutout of a source summed over its whole area, per order.

jwst 3.0.0 (reference section 3.10.4) reads no EXTRACT1D reference for WFSS: each cutout
(one source, one exposure, one spectral order) is box-extracted over all its
cross-dispersion pixels, with weight 0 where the wavelength is NaN and where the data are
invalid (NaN in any of SCI/ERR/VAR_* or ``DO_NOT_USE``); no background, no source-position
shift. The spectrum's wavelength is each column's mean wavelength over the aperture; columns
without a valid wavelength are dropped. After photom the sums of MJy/sr become Jy (times the
pixel solid angle). Point sources get an aperture correction when an APCORR reference is
given (bilinear in NPIXELS and wavelength, clamped to the table, as jwst's ``ApCorr``). The
spectra of a source are packed into a ``WFSSMultiSpecModel`` with one table per exposure and
order (:mod:`spec3nb.steps.wfss_package`).

The other extraction parameters of jwst's step (``subtract_background``, ``use_source_posn``,
``position_offset``, ``extraction_type``, ``smoothing_length``, ``bkg_fit``, ``bkg_order``)
have no effect on WFSS in jwst 3.0.0 either: without a reference the defaults above are used.
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
from spec3nb.errors import InputFileError
from spec3nb.steps import extract1d_apcorr as apcorr
from spec3nb.steps.spec import COMPLETE, SKIPPED, StepOutput, StepResult
from spec3nb.steps.wfss_package import WfssSpectrum, package_spectra

NOT_APPLICABLE = "N/A"
WFSS_EXPTYPES = frozenset({"NIS_WFSS", "NRC_WFSS", "NRC_GRISM", "MIR_WFSS"})
_VARIANCES = ("var_poisson", "var_rnoise", "var_flat")
_GROUP_KEYS = ("program_number", "observation_number", "visit_number", "visit_group",
               "sequence_id", "activity_id", "exposure_number")


@dataclasses.dataclass(frozen=True)
class Cutout:
    """One cutout with the metadata jwst reads for it (its own, then its exposure's)."""

    part: Part
    top: Mapping[str, Any]
    label: str

    def get(self, path: str, default: Any = None) -> Any:
        """A metadata value of the cutout, else of the product holding it."""
        value = metatools.get(self.part.meta, path)
        if value is None:
            value = metatools.get(self.top, path)
        return default if value is None else value

    @property
    def name(self) -> str:
        """The cutout's name (the source id for WFSS)."""
        return str(self.part.attrs.get("name", self.part.attrs.get("source_id")))


def cutouts_of(product: Product, label: str) -> list[Cutout]:
    """The cutouts of a source product (``MultiExposureModel``) or an exposure
    (``MultiSlitModel``), or the single cutout of a ``SlitModel``."""
    if product.model_type in ("MultiExposureModel", "MultiSlitModel"):
        return [Cutout(p, product.meta, label) for p in product.parts]
    if product.model_type == "SlitModel":
        return [Cutout(product.part, product.meta, label)]
    raise InputFileError(label, f"a {product.model_type} holds no WFSS cutouts "
                                "(MultiExposureModel, MultiSlitModel or SlitModel expected)")


def _wavelength(cut: Cutout) -> np.ndarray:
    """The cutout's WAVELENGTH array, or the WCS's where it is missing or all zero."""
    wave = cut.part.arrays.get("wavelength")
    if wave is not None and wave.size:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            empty = np.nanmin(wave) == 0.0 and np.nanmax(wave) == 0.0
        if not empty:
            return np.asarray(wave, dtype=np.float64)
    if cut.part.wcs is None:
        raise InputFileError(cut.label, "no WAVELENGTH array and no WCS", f"cutout {cut.name}")
    y, x = np.indices(cut.part.data.shape[-2:], dtype=np.float64)
    return np.asarray(cut.part.wcs(x, y)[2], dtype=np.float64)


def _valid_mask(part: Part) -> np.ndarray:
    """Pixels usable for extraction: no NaN in any science array, not ``DO_NOT_USE``."""
    data = part.data
    valid = ~np.isnan(data)
    for key in ("err", *_VARIANCES):
        array = part.arrays.get(key)
        if array is not None and array.shape == data.shape:
            valid &= ~np.isnan(array)
    dq = part.arrays.get("dq")
    if dq is not None and dq.shape == data.shape:
        valid &= (dq & DO_NOT_USE) == 0
    return valid


def _sums(cut: Cutout, dispaxis: int) -> dict[str, np.ndarray]:
    """Column sums over the whole cutout (dispersion along the second axis after a
    transpose for vertical dispersion): flux, variances, weights and mean wavelength."""
    part = cut.part
    wave = _wavelength(cut)
    valid = _valid_mask(part) & np.isfinite(wave)
    arrays = {"data": part.data, **{k: part.arrays.get(k) for k in _VARIANCES}}
    if dispaxis == 2:
        wave, valid = wave.T, valid.T
        arrays = {k: (None if v is None else v.T) for k, v in arrays.items()}
    finite_wave = np.isfinite(wave)
    with np.errstate(invalid="ignore", divide="ignore"):
        count = finite_wave.sum(axis=0)
        mean_wave = np.where(finite_wave, wave, 0.0).sum(axis=0) / count
    out = {"wavelength": np.where(count > 0, mean_wave, np.nan),
           "npixels": valid.sum(axis=0).astype(np.float64),
           "flux": np.where(valid, arrays["data"], 0.0).sum(axis=0, dtype=np.float64)}
    for key in _VARIANCES:
        array = arrays[key]
        shape_ok = array is not None and array.shape == valid.shape
        out[key] = (np.where(valid, array, 0.0).sum(axis=0, dtype=np.float64) if shape_ok
                    else np.zeros(valid.shape[1]))
    out["flux"][np.isclose(out["npixels"], 0.0)] = np.nan
    return out


def _columns(sums: dict[str, np.ndarray], photom: bool, solid_angle: float) -> dict:
    """EXTRACT1D columns from the sums (jwst's units: Jy and MJy/sr after photom)."""
    npix = np.where(sums["npixels"] > 0.0, sums["npixels"], 1.0)
    flux_var = [sums[k] for k in _VARIANCES]
    sb_var = [v / npix**2 for v in flux_var]
    flux = sums["flux"]
    columns = {"SURF_BRIGHT": flux / npix}
    if photom:
        flux = flux * solid_angle * 1.0e6
        flux_var = [v * (solid_angle**2 * 1.0e12) for v in flux_var]
    zeros = np.zeros_like(flux)
    columns.update({"WAVELENGTH": sums["wavelength"], "FLUX": flux,
                    "FLUX_ERROR": np.sqrt(sum(flux_var)), "SB_ERROR": np.sqrt(sum(sb_var)),
                    "BACKGROUND": zeros, "BKGD_ERROR": zeros, "NPIXELS": sums["npixels"],
                    "DQ": np.where(np.isnan(flux), DO_NOT_USE, 0).astype(np.uint32)})
    for name, fv, sv in zip(("POISSON", "RNOISE", "FLAT"), flux_var, sb_var, strict=True):
        columns[f"FLUX_VAR_{name}"] = fv
        columns[f"SB_VAR_{name}"] = sv
        columns[f"BKGD_VAR_{name}"] = zeros
    return columns


def _apcorr_factors(cut: Cutout, reference: Any, columns: dict) -> np.ndarray:
    """Aperture corrections of a point-source spectrum (filter and pupil select the row)."""
    if str(reference.sizeunit).lower().startswith("arcsec"):
        raise InputFileError(reference.path, "WFSS aperture sizes in arcsec are not "
                                             "supported (jwst 3.0.0 cannot convert them "
                                             "through a grism WCS either); give pixels",
                             "APCORR")
    row = apcorr.select_row(reference, {"filter": cut.get("instrument.filter"),
                                        "pupil": cut.get("instrument.pupil")})
    try:
        return apcorr.miri_factors(row, np.asarray(row["size"]), columns["NPIXELS"],
                                   columns["WAVELENGTH"])
    except ValueError as exc:
        raise InputFileError(reference.path, str(exc), "APCORR") from None


def group_id(cut: Cutout, order: int) -> str:
    """The exposure group of a cutout and its order, as jwst builds ``group_id``."""
    obs = {k: cut.get(f"observation.{k}") for k in _GROUP_KEYS}
    if any(v is None for v in obs.values()):
        # jwst raises a KeyError here; the file name identifies the exposure as well.
        return f"{cut.get('filename', cut.label)}_{order}"
    return (f"jw{obs['program_number']}{obs['observation_number']}{obs['visit_number']}"
            f"_{obs['visit_group']}{obs['sequence_id']}{obs['activity_id']}"
            f"_{obs['exposure_number']}_{order}")


def _row_values(part: Part) -> dict[str, Any]:
    attrs = part.attrs
    values = {"SOURCE_ID": attrs.get("source_id")}
    for key in ("source_type", "source_xpos", "source_ypos", "source_ra", "source_dec"):
        values[key.upper()] = attrs.get(key)
    xstart, ystart = attrs.get("xstart"), attrs.get("ystart")
    values["EXTRACT2D_XSTART"], values["EXTRACT2D_YSTART"] = xstart, ystart
    if xstart is not None and ystart is not None:
        values["EXTRACT2D_XSTOP"] = xstart + attrs.get("xsize", 0)
        values["EXTRACT2D_YSTOP"] = ystart + attrs.get("ysize", 0)
    return {k: v for k, v in values.items() if v is not None}


def extract_cutout(cut: Cutout, apcorr_reference: Any = None) -> WfssSpectrum | None:
    """Extract one cutout.

    Parameters
    ----------
    cut : Cutout
        The cutout.
    apcorr_reference : ApcorrReference, optional
        Aperture corrections for point sources.

    Returns
    -------
    WfssSpectrum or None
        The spectrum, or None when the cutout is empty, a direct image (order 0) or has no
        valid wavelength.

    Raises
    ------
    InputFileError
        If DISPAXIS is missing or not 1 or 2, or the apcorr reference does not fit.
    """
    part = cut.part
    if part.data.size == 0:
        return None
    order = cut.get("wcsinfo.spectral_order", 1)
    if order == 0:
        return None
    dispaxis = cut.get("wcsinfo.dispersion_direction")
    if dispaxis not in (1, 2):
        raise InputFileError(cut.label, f"DISPAXIS={dispaxis!r}; it must be 1 or 2",
                             f"cutout {cut.name}")
    sums = _sums(cut, dispaxis)
    keep = np.isfinite(sums["wavelength"])
    if not keep.any():
        return None
    sums = {k: v[keep] for k, v in sums.items()}
    photom = str(cut.get("cal_step.photom", "")).upper() == "COMPLETE"
    solid_angle = cut.get("photometry.pixelarea_steradians", 1.0) if photom else 1.0
    columns = _columns(sums, photom, solid_angle)
    source_type = part.attrs.get("source_type")
    if apcorr_reference is not None and str(source_type).upper() == "POINT":
        columns = apcorr.apply_factors(columns, _apcorr_factors(cut, apcorr_reference, columns))
    return WfssSpectrum(
        columns=columns, values=_row_values(part), group_id=group_id(cut, order),
        filename=cut.get("filename"), spectral_order=int(order),
        dispersion_direction=int(dispaxis),
        exposure_time=cut.get("exposure.exposure_time"),
        integration_time=cut.get("exposure.integration_time"),
        units=tables.spectrum_units(photom, ifu=False))


def _reference(references: Mapping[str, Any] | None, reftype: str) -> Any:
    value = (references or {}).get(reftype)
    return None if value is None or value == NOT_APPLICABLE else value


def _first_meta(product: Product) -> dict[str, Any]:
    """Primary metadata of a source's x1d: its first cutout's (as jwst's first SlitModel)."""
    if product.model_type == "MultiExposureModel" and product.parts:
        merged = metatools.thaw(product.meta)
        for key, value in product.parts[0].meta.items():
            merged[key] = metatools.thaw(value)
        meta = merged
    else:
        meta = metatools.thaw(product.meta)
    meta.pop("wcsinfo", None)
    meta.setdefault("cal_step", {})["extract_1d"] = COMPLETE
    if "target" in meta:
        meta["target"].pop("source_type", None)
    return meta


def extract_wfss(
    inputs: Sequence[Product], *, apply_apcorr: bool = True,
    references: Mapping[str, Any] | None = None, **other: Any,
) -> StepResult:
    """Extract the WFSS cutouts of each input into a ``WFSSMultiSpecModel``.

    Parameters
    ----------
    inputs : Sequence[Product]
        Source products from exp_to_source (``MultiExposureModel``: one source, all its
        exposures and orders), or ``MultiSlitModel`` exposures; each gives one x1d.
    apply_apcorr : bool
        Apply the ``apcorr`` reference to point sources.
    references : Mapping[str, Any], optional
        ``apcorr`` (loaded APCORR reference), ``"N/A"`` or None (no correction).
    **other : Any
        extract_1d's other parameters, which have no effect on WFSS (as in jwst 3.0.0).

    Returns
    -------
    StepResult
        One ``WFSSMultiSpecModel`` (suffix ``x1d``, ``source`` = the source id of a
        one-source input) per input with at least one spectrum; SKIPPED with the inputs and
        the reasons when no cutout gave a spectrum.
    """
    reference = _reference(references, "apcorr") if apply_apcorr else None
    outputs, reasons = [], []
    for i, product in enumerate(inputs):
        label = product.filename or f"input {i}"
        if (product.exp_type or "") not in WFSS_EXPTYPES:
            reasons.append(f"{label}: EXP_TYPE {product.exp_type} is not WFSS")
            continue
        spectra = []
        for cut in cutouts_of(product, label):
            spectrum = extract_cutout(cut, reference)
            if spectrum is None:
                reasons.append(f"{label}: cutout {cut.name} (order "
                               f"{cut.get('wcsinfo.spectral_order', 1)}) has no valid "
                               "wavelength or data; skipped")
            else:
                spectra.append(spectrum)
        if not spectra:
            continue
        x1d = package_spectra(spectra, _first_meta(product))
        ids = {s.source_id for s in spectra}
        source = str(ids.pop()) if len(ids) == 1 else None
        outputs.append(StepOutput(x1d, "x1d", origin=i, source=source))
    if not outputs:
        unchanged = tuple(StepOutput(p, "x1d", origin=i) for i, p in enumerate(inputs))
        return StepResult(unchanged, SKIPPED, "; ".join(reasons) or "no input")
    return StepResult(tuple(outputs), COMPLETE, "; ".join(reasons))
