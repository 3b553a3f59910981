"""The spec3nb SOSS trace reference (``sosstrace``): where orders 1 and 2 fall.

jwst 3.0.0 takes the SOSS traces from the PASTASOSS reference (a spline of a reference trace
rotated to the pupil-wheel position). spec3nb reads a plain JSON table instead:
``{"orders": {"1": {"x": [...], "y": [...], "wavelength": [...]}, "2": {...}}}`` giving the
trace row and the wavelength of detector columns; the simulator writes one beside its data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spec3nb.errors import InputFileError


def load_sosstrace(path: Path) -> dict[str, Any]:
    """Read a ``sosstrace`` JSON reference (checked by the SOSS extraction when used).

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    dict
        The decoded document, with ``source`` set to the file name.

    Raises
    ------
    InputFileError
        If the file is not JSON or has no ``orders`` object.
    """
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(path, f"not a sosstrace JSON reference ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("orders"), dict):
        raise InputFileError(path, "a sosstrace reference needs an 'orders' object")
    document["source"] = str(path)
    return document
