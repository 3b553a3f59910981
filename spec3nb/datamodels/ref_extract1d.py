"""Reading EXTRACT1D reference files (``override_extract1d``).

jwst 3.0.0 reads two forms:

* JSON, for slit-like data (NIRSpec FS/MOS, MIRI LRS ...): an object whose ``apertures`` list
  holds one object per aperture, selected by ``id`` (the slit name or ``ANY``),
  ``region_type`` and ``spectral_order``; its keys (``xstart`` ... ``ystop``, ``src_coeff``,
  ``bkg_coeff``, ``extract_width``, ``bkg_fit``, ``bkg_order``, ``smoothing_length``,
  ``independent_var``, ``use_source_posn``) set the extraction aperture;
* ASDF (``Extract1dIFUModel``), for IFU cubes: radii and background annuli by wavelength.

:func:`load_extract1d` reads either, checks the values jwst would later trip over, and
returns an :class:`Extract1dReference`; errors name the file and the aperture.
"""

from __future__ import annotations

import dataclasses
import json
import numbers
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from spec3nb.datamodels import meta as metatools
from spec3nb.errors import InputFileError

JSON, IFU = "json", "ifu"

_NUMBER_KEYS = ("xstart", "xstop", "ystart", "ystop", "extract_width", "smoothing_length")
_TEXT_CHOICES = {
    "bkg_fit": ("poly", "mean", "median"),
    "independent_var": ("pixel", "wavelength"),
}


@dataclasses.dataclass(frozen=True)
class Extract1dReference:
    """A loaded EXTRACT1D reference.

    Parameters
    ----------
    path : str
        The file it was read from (named in later error messages).
    kind : str
        ``"json"`` (slit apertures) or ``"ifu"`` (an ``Extract1dIFUModel``).
    apertures : tuple[Mapping[str, Any], ...]
        The JSON apertures, in file order, read-only (lists become tuples).
    ifu : Mapping[str, Any] or None
        For the ASDF form: ``subtract_background``, ``method``, ``subpixels`` and the arrays
        ``wavelength``, ``radius``, ``inner_bkg``, ``outer_bkg`` (and any others present).
    """

    path: str
    kind: str
    apertures: tuple[Mapping[str, Any], ...] = ()
    ifu: Mapping[str, Any] | None = None


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_coefficients(path: Path, where: str, key: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(c, list) for c in value):
        raise InputFileError(path, f"{where}: {key} must be a list of coefficient lists")
    if len(value) % 2:
        raise InputFileError(path, f"{where}: {key} must hold pairs of (lower, upper) "
                                   f"coefficient lists, not {len(value)} lists")
    for coeffs in value:
        if not coeffs or not all(_is_number(c) for c in coeffs):
            raise InputFileError(path, f"{where}: {key} has an empty or non-numeric "
                                       f"coefficient list {coeffs!r}")


def _check_aperture(path: Path, index: int, aperture: Any) -> None:
    """Refuse values that jwst would only fail on (or silently misuse) during extraction."""
    if not isinstance(aperture, dict):
        raise InputFileError(path, f"aperture {index} is not a JSON object")
    where = f"aperture {index} (id {aperture.get('id')!r})"
    if "id" in aperture and not isinstance(aperture["id"], str):
        raise InputFileError(path, f"{where}: id must be a string")
    order = aperture.get("spectral_order")
    if order is not None and not (isinstance(order, int) and not isinstance(order, bool)
                                  or order == "ANY"):
        raise InputFileError(path, f"{where}: spectral_order must be an integer or 'ANY'")
    for key in _NUMBER_KEYS:
        if aperture.get(key) is not None and not _is_number(aperture[key]):
            raise InputFileError(path, f"{where}: {key} must be a number, "
                                       f"not {aperture[key]!r}")
    for key, choices in _TEXT_CHOICES.items():
        value = aperture.get(key)
        if value is not None and (not isinstance(value, str) or value.lower() not in choices):
            raise InputFileError(path, f"{where}: {key} must be one of {', '.join(choices)}, "
                                       f"not {value!r}")
    order_value = aperture.get("bkg_order")
    if order_value is not None and (not _is_number(order_value) or order_value < 0
                                    or order_value != int(order_value)):
        raise InputFileError(path, f"{where}: bkg_order must be an integer >= 0, "
                                   f"not {order_value!r}")
    posn = aperture.get("use_source_posn")
    if posn is not None and not isinstance(posn, bool):
        raise InputFileError(path, f"{where}: use_source_posn must be true, false or null")
    for key in ("src_coeff", "bkg_coeff"):
        _check_coefficients(path, where, key, aperture.get(key))


def _load_json(path: Path) -> Extract1dReference:
    try:
        content = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(path, f"not a valid JSON extract1d reference ({exc})") from None
    if not isinstance(content, dict) or not isinstance(content.get("apertures"), list):
        raise InputFileError(path, "an extract1d JSON reference needs an 'apertures' list")
    for index, aperture in enumerate(content["apertures"]):
        _check_aperture(path, index, aperture)
    apertures = tuple(metatools.freeze(a) for a in content["apertures"])
    return Extract1dReference(str(path), JSON, apertures=apertures)


def _load_ifu(path: Path) -> Extract1dReference:
    from stdatamodels.jwst import datamodels

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with datamodels.Extract1dIFUModel(str(path)) as model:
                data = model.data
                if data is None:
                    raise InputFileError(path, "the IFU extract1d reference has no data table")
                # The table is a mapping of columns (an ObjectNode) in current files.
                columns = getattr(data, "instance", data)
                names = data.dtype.names if hasattr(data, "dtype") else tuple(columns)
                arrays = {name: np.array(columns[name]) for name in names}
                ifu = {"subtract_background": model.meta.subtract_background,
                       "method": model.meta.method, "subpixels": model.meta.subpixels,
                       **arrays}
    except InputFileError:
        raise
    except Exception as exc:  # stdatamodels raises many types for broken content
        raise InputFileError(path, f"not a readable IFU extract1d reference ({exc})") from exc
    missing = [k for k in ("wavelength", "radius", "inner_bkg", "outer_bkg") if k not in ifu]
    if missing:
        raise InputFileError(path, f"the IFU extract1d reference lacks {', '.join(missing)}")
    return Extract1dReference(str(path), IFU, ifu=ifu)


def load_extract1d(path: Path) -> Extract1dReference:
    """Read an EXTRACT1D reference file (JSON apertures or the IFU ASDF form).

    Parameters
    ----------
    path : pathlib.Path
        The file. A file starting with ``#ASDF`` is read as an ``Extract1dIFUModel``;
        anything else must be JSON.

    Returns
    -------
    Extract1dReference
        The apertures (JSON) or the IFU table (ASDF).

    Raises
    ------
    InputFileError
        If the file is not valid JSON or ASDF, has no ``apertures`` list, or an aperture
        has a value of the wrong type (the message names the aperture and the key).
    """
    path = Path(path)
    with open(path, "rb") as handle:
        start = handle.read(5)
    if start == b"#ASDF":
        return _load_ifu(path)
    return _load_json(path)
