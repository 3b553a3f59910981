"""Reading a user's output grid: the ASDF file that resample_spec's ``output_wcs`` names.

Steps open no files: the runner (or the session) reads the file with
:func:`read_output_grid` and hands the step what it holds.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from spec3nb.errors import InputFileError

#: The tree entries jwst reads from an output-grid file besides the WCS.
GRID_KEYS = ("wcs", "pixel_area", "pixel_scale", "pixel_shape", "array_shape")


def read_output_grid(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read an output grid: a gWCS under ``wcs`` and optionally its pixel size and shape.

    Parameters
    ----------
    path : str or os.PathLike
        An ASDF file.

    Returns
    -------
    dict[str, Any]
        ``{"wcs": ..., "pixel_area": ..., "pixel_scale": ..., "pixel_shape": ...,
        "array_shape": ...}`` (None for entries the file does not have).

    Raises
    ------
    InputFileError
        If the file is missing, not ASDF, or has no ``wcs``.
    """
    import asdf

    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "output_wcs file not found")
    try:
        with asdf.open(path) as af:
            grid = {key: copy.deepcopy(af.tree.get(key)) for key in GRID_KEYS}
    except (ValueError, OSError) as exc:
        raise InputFileError(path, f"not an ASDF file ({exc})") from None
    if grid["wcs"] is None:
        raise InputFileError(path, "no 'wcs' entry in the ASDF tree (output_wcs)")
    return grid
