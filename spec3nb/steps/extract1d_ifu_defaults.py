"""IFU extraction apertures: the EXTRACT1D IFU reference's table, or built-in defaults.

:func:`aperture_table` gives the table extract_1d uses for a cube: the loaded
``Extract1dIFUModel`` reference's, or, when there is none, the built-in one below.

jwst 3.0.0 cannot extract a cube without an ``Extract1dIFUModel`` reference from CRDS;
extracting one with none is a spec3nb addition. The built-in table has the same content as
such a reference (``subtract_background``, ``method``, ``subpixels`` and, by wavelength in
micron, ``radius``, ``inner_bkg`` and ``outer_bkg`` in arcsec) and goes through exactly the
same code as a loaded reference.

Where the numbers come from:

* The radius is twice the PSF's full width at half maximum: jwst documents 2 x FWHM as the
  default extraction size of its MIRI MRS references (the ``ifu_rscale`` parameter scales
  the reference radius by ``ifu_rscale / 2`` for that reason). For a near-Gaussian core this
  encloses all but a fraction of a percent of a point source's flux.
* MIRI MRS FWHM: ``0.033 * lambda + 0.106`` arcsec (lambda in micron), the fit of Law et
  al. (2023, AJ 166, 45) to the MRS PSF.
* NIRSpec IFU FWHM: the diffraction limit ``1.025 lambda / D`` of the 6.5 m telescope
  (0.0325 arcsec per micron) plus one 0.1 arcsec cube spaxel for the broadening by the
  slicer sampling and cube building (a simple rule, not a calibrated one).
* The background annulus runs from 2.5 to 4 FWHM, clear of the aperture and within the
  field of view of a band cube. Background subtraction is off by default (background is
  normally removed by master_background); ``subtract_background=True`` turns it on.
* ``method="exact"`` (exact overlap of the circle with each spaxel) as in jwst's references.

The radius scales linearly with wavelength, so two table points define it exactly; jwst
interpolates (and extrapolates) the table linearly, so any wavelength gets the rule's value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from spec3nb.errors import InputFileError

#: FWHM(lambda) = slope * lambda + floor (arcsec, lambda in micron), by instrument.
FWHM_RULES: Mapping[str, tuple[float, float]] = MappingProxyType({
    "MIRI": (0.033, 0.106),
    "NIRSPEC": (1.025 * 1e-6 / 6.5 * 206264.806, 0.1),
})

#: Wavelength range (micron) the tables span (extrapolated outside, as jwst does).
WAVELENGTH_RANGES: Mapping[str, tuple[float, float]] = MappingProxyType({
    "MIRI": (4.5, 28.5),
    "NIRSPEC": (0.6, 5.3),
})

RADIUS_FWHM = 2.0
INNER_BKG_FWHM = 2.5
OUTER_BKG_FWHM = 4.0
SOURCE = "(built-in IFU extraction defaults)"


def psf_fwhm(instrument: str, wavelength: Any) -> np.ndarray:
    """Return the PSF FWHM (arcsec) the defaults assume.

    Parameters
    ----------
    instrument : str
        ``MIRI`` or ``NIRSPEC`` (case-insensitive); any other gets the NIRSpec rule.
    wavelength : array_like
        Wavelengths in micron.

    Returns
    -------
    numpy.ndarray
        The FWHM at each wavelength.
    """
    slope, floor = FWHM_RULES.get(str(instrument).upper(), FWHM_RULES["NIRSPEC"])
    return slope * np.asarray(wavelength, dtype=np.float64) + floor


def default_ifu_aperture(instrument: str, npoints: int = 25) -> dict[str, Any]:
    """Return the built-in IFU extraction table for `instrument`.

    Parameters
    ----------
    instrument : str
        ``MIRI`` or ``NIRSPEC``.
    npoints : int
        Number of wavelengths in the table (the rule is linear, so any number >= 2 gives
        the same apertures).

    Returns
    -------
    dict
        The keys of a loaded ``Extract1dIFUModel``
        (:attr:`spec3nb.datamodels.ref_extract1d.Extract1dReference.ifu`):
        ``subtract_background``, ``method``, ``subpixels``, ``wavelength``, ``radius``,
        ``inner_bkg``, ``outer_bkg``.
    """
    low, high = WAVELENGTH_RANGES.get(str(instrument).upper(), WAVELENGTH_RANGES["NIRSPEC"])
    wavelength = np.linspace(low, high, max(int(npoints), 2))
    fwhm = psf_fwhm(instrument, wavelength)
    return {
        "subtract_background": False,
        "method": "exact",
        "subpixels": 10,
        "wavelength": wavelength,
        "radius": RADIUS_FWHM * fwhm,
        "inner_bkg": INNER_BKG_FWHM * fwhm,
        "outer_bkg": OUTER_BKG_FWHM * fwhm,
    }


@dataclasses.dataclass(frozen=True)
class ApertureTable:
    """The IFU extraction table (from the reference or the built-in defaults)."""

    source: str
    subtract_background: bool
    method: str
    subpixels: int
    wavelength: np.ndarray
    radius: np.ndarray
    inner_bkg: np.ndarray
    outer_bkg: np.ndarray


def aperture_table(reference: Any, instrument: str) -> ApertureTable:
    """Return the extraction table of an EXTRACT1D reference (None or N/A: the defaults).

    Parameters
    ----------
    reference : Extract1dReference, None or "N/A"
        The loaded reference; it must be the IFU (ASDF) form.
    instrument : str
        ``MIRI`` or ``NIRSPEC``, which selects the built-in defaults.

    Returns
    -------
    ApertureTable
        The table.

    Raises
    ------
    InputFileError
        If the reference is a JSON (slit) reference.
    """
    if reference is None or (isinstance(reference, str) and reference.upper() == "N/A"):
        values, source = default_ifu_aperture(instrument), SOURCE
    elif getattr(reference, "kind", None) != "ifu" or reference.ifu is None:
        raise InputFileError(getattr(reference, "path", "(extract1d reference)"),
                             "IFU cubes need the ASDF IFU extract1d reference "
                             "(Extract1dIFUModel), not JSON slit apertures")
    else:
        values, source = reference.ifu, reference.path

    def flat(key: str) -> np.ndarray:
        return np.asarray(values[key]).ravel()

    method = values.get("method") or "exact"
    subpixels = values.get("subpixels")
    return ApertureTable(source, bool(values.get("subtract_background")), str(method),
                         5 if subpixels is None else int(subpixels), flat("wavelength"),
                         flat("radius"), flat("inner_bkg"), flat("outer_bkg"))
