"""extract_1d for slits: the extraction parameters of one slit and the source position.

The parameters come from three places, in jwst 3.0.0's order of precedence (reference
section 3.10.2, step 4): the step parameters the user set, the matching aperture of the
EXTRACT1D reference, and built-in defaults (with no reference: the whole cutout, no
background, no source-position correction). :func:`resolve_parameters` returns them as an
:class:`ExtractParams`; :func:`source_location` finds where the WCS puts the source so that
the aperture can be moved onto it (``use_source_posn``).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

HORIZONTAL, VERTICAL = 1, 2
ANY = "ANY"
#: Exposure types whose source position the WCS can give (use_source_posn defaults on).
SRCPOS_EXPTYPES = frozenset({"MIR_LRS-FIXEDSLIT", "NRS_FIXEDSLIT", "NRS_MSASPEC",
                             "NRS_BRIGHTOBJ"})
_NIRSPEC_SRCPOS = frozenset({"NRS_FIXEDSLIT", "NRS_MSASPEC", "NRS_BRIGHTOBJ"})

Coefficients = tuple[tuple[float, ...], ...]


class NoApertureError(LookupError):
    """The EXTRACT1D reference has no aperture for a slit (jwst: "Missing extraction
    parameters")."""


@dataclasses.dataclass(frozen=True)
class ExtractParams:
    """Everything that defines the extraction of one slit (indices are 0-based, inclusive).

    ``dispaxis`` 1 means dispersion along x (columns), 2 along y. ``src_coeff`` and
    ``bkg_coeff`` are (lower, upper) pairs of polynomial coefficients (constant first) in
    the independent variable ``independent_var`` (``pixel`` or ``wavelength``). ``trace``
    is the source's cross-dispersion position per dispersion pixel, when known.
    """

    spectral_order: int
    dispaxis: int
    xstart: float
    xstop: float
    ystart: float
    ystop: float
    src_coeff: Coefficients | None = None
    bkg_coeff: Coefficients | None = None
    independent_var: str = "pixel"
    extract_width: float | None = None
    subtract_background: bool = False
    bkg_fit: str | None = None
    bkg_order: int = 0
    smoothing_length: int = 0
    use_source_posn: bool = False
    position_offset: float = 0.0
    trace: np.ndarray | None = None

    def shifted(self, offset: float, *, move_trace: bool) -> ExtractParams:
        """Move the aperture (limits, coefficient constants, optionally the trace) by
        `offset` pixels across the dispersion."""
        def move(coeffs: Coefficients | None) -> Coefficients | None:
            if coeffs is None:
                return None
            return tuple((c[0] + offset, *c[1:]) for c in coeffs)

        if self.dispaxis == HORIZONTAL:
            limits = {"ystart": self.ystart + offset, "ystop": self.ystop + offset}
        else:
            limits = {"xstart": self.xstart + offset, "xstop": self.xstop + offset}
        trace = self.trace
        if move_trace and trace is not None:
            trace = trace + offset
        return dataclasses.replace(self, src_coeff=move(self.src_coeff),
                                   bkg_coeff=move(self.bkg_coeff), trace=trace, **limits)


def smoothing_length_rule(value: float) -> int:
    """Round a background smoothing length as jwst does: to an integer, 0 below 3, odd."""
    length = int(np.round(value)) if value != int(value) else int(value)
    if length != 0 and length < 3:
        return 0
    if length != 0 and length % 2 == 0:
        return length - 1
    return length


def _find_aperture(apertures, slit_name: str, order: int) -> Mapping[str, Any] | None | str:
    """The first aperture for `slit_name` and `order`; "partial" for a name-only match."""
    partial = False
    for aperture in apertures:
        ident = aperture.get("id")
        if ident is None or ident == "dummy" or ident not in (slit_name, ANY) and \
                slit_name != ANY:
            continue
        if aperture.get("region_type", "target") != "target":
            continue
        partial = True
        if aperture.get("spectral_order", order) in (order, ANY):
            return aperture
    return "partial" if partial else None


def _default_params(shape: tuple[int, ...], order: int, dispaxis: int) -> ExtractParams:
    # No reference: the whole cutout, no background; jwst ignores use_source_posn and
    # position_offset here.
    return ExtractParams(spectral_order=order, dispaxis=dispaxis, xstart=0, xstop=shape[-1] - 1,
                         ystart=0, ystop=shape[-2] - 1)


def _background_choice(aperture, bkg_fit, bkg_order, subtract):
    """(subtract, fit type, order) as jwst combines the step's and the aperture's values."""
    if not subtract:
        fit = None
    elif bkg_fit is None:
        fit = aperture.get("bkg_fit", "poly")
    elif bkg_fit == "mean":
        fit, bkg_order = "poly", 0
    else:
        fit = bkg_fit
    if isinstance(fit, str) and fit.lower() == "mean":
        # jwst 3.0.0 fails on bkg_fit "mean" from a reference; spec3nb reads it as the
        # documented equivalent, a polynomial of order 0 (see the report's deviations).
        fit, bkg_order = "poly", 0
    order = aperture.get("bkg_order", 0) if bkg_order is None else bkg_order
    return bool(subtract), fit if fit is None else fit.lower(), int(order)


def resolve_parameters(
    reference: Any,
    shape: tuple[int, ...],
    slit_name: str,
    order: int,
    dispaxis: int,
    exp_type: str,
    *,
    smoothing_length: int | None = None,
    bkg_fit: str | None = None,
    bkg_order: int | None = None,
    subtract_background: bool | None = None,
    use_source_posn: bool | None = None,
    position_offset: float = 0.0,
) -> ExtractParams | None:
    """Combine step parameters, the reference's aperture and defaults for one slit.

    Parameters
    ----------
    reference : Extract1dReference or None
        The loaded JSON reference; None (or ``"N/A"``) for jwst's defaults.
    shape : tuple[int, ...]
        Shape of the slit's data (the last two axes are used).
    slit_name : str
        The name apertures are matched against (``id``), or ``ANY``.
    order : int
        The spectral order.
    dispaxis : int
        The dispersion direction (1 or 2).
    exp_type : str
        The exposure type (decides the default of `use_source_posn`).
    smoothing_length, bkg_fit, bkg_order, subtract_background, use_source_posn, \
position_offset
        The step parameters (None: take the reference's value or the default).

    Returns
    -------
    ExtractParams or None
        The parameters; None when an aperture has the slit's name but another spectral
        order (jwst skips the slit).

    Raises
    ------
    NoApertureError
        If no aperture of the reference matches the slit name.
    """
    apertures = getattr(reference, "apertures", None)
    if reference is None or apertures is None:
        return _default_params(shape, order, dispaxis)
    if getattr(reference, "kind", "json") != "json":
        raise NoApertureError(f"{reference.path} is an IFU (ASDF) extract1d reference; "
                              "slits need the JSON form")
    aperture = _find_aperture(apertures, slit_name, order)
    if aperture is None:
        ids = sorted({str(a.get("id")) for a in apertures})
        raise NoApertureError(f"no aperture for slit {slit_name!r} (order {order}) in "
                                 f"{reference.path}; its apertures are {', '.join(ids)}")
    if aperture == "partial":
        return None
    bkg_coeff = aperture.get("bkg_coeff")
    if bkg_coeff is not None and subtract_background is None:
        subtract_background = True
    subtract, fit, fit_order = _background_choice(aperture, bkg_fit, bkg_order,
                                                  subtract_background)
    if use_source_posn is None:
        use_source_posn = aperture.get("use_source_posn")
        if use_source_posn is None:
            use_source_posn = exp_type in SRCPOS_EXPTYPES
    smooth = aperture.get("smoothing_length", 0) if smoothing_length is None \
        else smoothing_length
    return ExtractParams(
        spectral_order=order, dispaxis=dispaxis,
        xstart=aperture.get("xstart", 0), xstop=aperture.get("xstop", shape[-1] - 1),
        ystart=aperture.get("ystart", 0), ystop=aperture.get("ystop", shape[-2] - 1),
        src_coeff=_coefficients(aperture.get("src_coeff")), bkg_coeff=_coefficients(bkg_coeff),
        independent_var=str(aperture.get("independent_var", "pixel")).lower(),
        extract_width=aperture.get("extract_width"), subtract_background=subtract,
        bkg_fit=fit, bkg_order=fit_order, smoothing_length=smoothing_length_rule(smooth),
        use_source_posn=bool(use_source_posn), position_offset=float(position_offset),
    )


def _coefficients(value: Any) -> Coefficients | None:
    if value is None:
        return None
    return tuple(tuple(float(c) for c in coeffs) for coeffs in value)


# ----------------------------------------------------------------------------- source position


def bounding_box(wcs: Any, shape: tuple[int, ...]) -> tuple[tuple[float, float], ...]:
    """The WCS bounding box as ``((x0, x1), (y0, y1))``, the array's extent when unset."""
    try:
        box = wcs.bounding_box
    except NotImplementedError:
        box = None
    if box is None:
        return ((-0.5, shape[-1] - 0.5), (-0.5, shape[-2] - 0.5))
    return tuple((float(box[i][0]), float(box[i][1])) for i in range(2))


def middle_of_slit(wcs: Any, box, dispaxis: int) -> tuple[int, float]:
    """The middle dispersion pixel (rounded half to even) and the mean wavelength there."""
    axis = 0 if dispaxis == HORIZONTAL else 1
    width = int(round(box[1 - axis][1]))
    middle = (box[axis][0] + box[axis][1]) / 2.0
    across = np.arange(width, dtype=np.float64)
    along = np.full(width, middle)
    x, y = (along, across) if dispaxis == HORIZONTAL else (across, along)
    wavelengths = np.asarray(wcs(x, y)[2], dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        middle_wl = float(np.nanmean(wavelengths)) if np.isfinite(wavelengths).any() \
            else math.nan
    return int(np.round(middle)), middle_wl


def _trace(box, shape, along: int, to_detector, from_detector) -> np.ndarray:
    """Cross-dispersion position of a fixed source at every pixel along axis `along` (0: x,
    1: y) of the bounding box; `to_detector` maps wavelengths to detector (x, y)."""
    from gwcs.wcstools import grid_from_bounding_box
    from scipy.interpolate import interp1d

    x, y = grid_from_bounding_box(box)
    count = int(box[along][1] - box[along][0])
    waves = np.asarray(from_detector(x, y)[2], dtype=np.float64)
    grid = np.linspace(np.nanmin(waves), np.nanmax(waves), count)
    position = to_detector(grid)
    values = interp1d(position[along], position[1 - along],
                      fill_value="extrapolate")(np.arange(count))
    trace = np.full(shape[-1 - along], np.nan)
    start = int(np.ceil(box[along][0]))
    trace[start:start + count] = values
    return trace


def source_location(
    wcs: Any, shape: tuple[int, ...], dispaxis: int, exp_type: str,
    source_pos: tuple[float | None, float | None],
) -> tuple[int, float, np.ndarray | None] | None:
    """Where the WCS puts the source, across the dispersion, at the middle of the slit.

    Parameters
    ----------
    wcs : gwcs.WCS
        The slit's WCS.
    shape : tuple[int, ...]
        The slit's data shape.
    dispaxis : int
        The dispersion direction.
    exp_type : str
        NIRSpec types use (`source_pos`) = (``SRCXPOS``, ``SRCYPOS``) in the slit frame;
        MIRI LRS fixed slit uses (``DITH_RA``, ``DITH_DEC``) on the sky.
    source_pos : tuple
        The two coordinates (None when unknown).

    Returns
    -------
    tuple or None
        (middle dispersion pixel, cross-dispersion location, trace), or None when the
        position cannot be found or falls outside the bounding box (no correction).
    """
    if exp_type not in _NIRSPEC_SRCPOS and exp_type != "MIR_LRS-FIXEDSLIT":
        return None
    if source_pos[0] is None or source_pos[1] is None:
        return None
    box = bounding_box(wcs, shape)
    middle, middle_wl = middle_of_slit(wcs, box, dispaxis)
    a, b = source_pos
    if exp_type in _NIRSPEC_SRCPOS:
        if "slit_frame" not in wcs.available_frames:
            return None
        to_det = wcs.get_transform("slit_frame", "detector")
        metres = 1e-6 if "gwa" in wcs.available_frames else 1.0
        location = float(to_det(a, b, middle_wl * metres)[1])
        from_det = wcs.get_transform("detector", "slit_frame")

        def project(waves):
            return to_det(np.full(waves.size, a), np.full(waves.size, b), waves)
    else:
        location = float(wcs.backward_transform(a, b, middle_wl)[0])
        from_det = wcs

        def project(waves):
            return wcs.backward_transform(np.full(waves.size, a), np.full(waves.size, b), waves)
    if math.isnan(location):
        return None
    lower, upper = box[1] if dispaxis == HORIZONTAL else box[0]
    if location < lower or location > upper:
        return None
    # NIRSpec traces run along x, MIRI LRS traces along y, whatever DISPAXIS says (as jwst).
    trace = _trace(box, shape, 0 if exp_type in _NIRSPEC_SRCPOS else 1, project, from_det)
    return middle, location, trace
