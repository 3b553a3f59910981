"""Reading the reference files that steps take through ``override_<reftype>``.

Steps are pure functions and never open files: the runner (or the graph) turns each
``override_<reftype>`` path into the loaded reference with :func:`load_reference` and passes
it to the step in ``references``. A path of ``N/A`` means "no reference" (jwst's way to turn
an optional correction off); no path at all means "use the built-in default".
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from spec3nb.errors import InputFileError

#: The value that asks for no reference at all.
NOT_APPLICABLE = "N/A"

# reftype -> (module, function); each loader takes a Path and returns the loaded reference.
_LOADERS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "extract1d": ("spec3nb.datamodels.ref_extract1d", "load_extract1d"),
    "apcorr": ("spec3nb.datamodels.ref_apcorr", "load_apcorr"),
    "cubepar": ("spec3nb.datamodels.ref_cubepar", "load_cubepar"),
    "sosstrace": ("spec3nb.datamodels.ref_soss", "load_sosstrace"),
    "photom": ("spec3nb.datamodels.ref_photom", "load_photom"),
    "mrsptcorr": ("spec3nb.datamodels.ref_mrsptcorr", "load_mrsptcorr"),
})


def load_reference(reftype: str, path: str | os.PathLike[str] | None) -> Any:
    """Load the `reftype` reference at `path`.

    Parameters
    ----------
    reftype : str
        The CRDS reference type (``extract1d``, ``apcorr``, ``cubepar`` ...).
    path : str, os.PathLike or None
        The file, ``"N/A"`` for none, or None for the built-in default.

    Returns
    -------
    Any
        The loaded reference; :data:`NOT_APPLICABLE` for ``N/A``; None for the default.

    Raises
    ------
    InputFileError
        If the file is missing or not a valid reference of that type.
    """
    if path is None:
        return None
    if str(path).strip().upper() == NOT_APPLICABLE:
        return NOT_APPLICABLE
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, f"{reftype} reference file not found")
    if reftype not in _LOADERS:
        raise InputFileError(path, f"spec3nb cannot read {reftype} reference files")
    module, name = _LOADERS[reftype]
    return getattr(importlib.import_module(module), name)(path)
