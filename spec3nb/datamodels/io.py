"""Reading and writing JWST-format FITS files through stdatamodels.

This is the only module that touches product files. Reading copies everything into a
:class:`~spec3nb.datamodels.products.Product` and closes the file; writing builds the
stdatamodels model from a product and saves it atomically (into a temporary folder beside
the target, then renamed), so a crash never leaves half a file under the final name.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from spec3nb.datamodels.meta import thaw
from spec3nb.datamodels.products import (
    MODEL_TYPES,
    PART_LISTS,
    SPECTRUM_TYPES,
    Part,
    Product,
)
from spec3nb.datamodels.tables import column_units, with_units
from spec3nb.errors import InputFileError, OutputError

# Tree entries that belong to ASDF bookkeeping, not to the product.
_ASDF_BOOKKEEPING = frozenset({"asdf_library", "history", "_fits_hash", "extra_fits"})


def _datamodels():
    # Imported lazily: stdatamodels pulls in asdf and its extensions (about a second).
    from stdatamodels.jwst import datamodels

    return datamodels


def _is_array(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


def _copy_array(value: Any) -> np.ndarray:
    """Copy an array out of a model; a table's column units (TUNITn) go into its dtype."""
    array = np.array(value)
    if array.dtype.names is None and not array.dtype.isnative:
        # FITS stores big-endian numbers; numeric code is faster on native ones.
        array = array.astype(array.dtype.newbyteorder("="))
    columns = getattr(value, "columns", None)
    if array.dtype.names and columns is not None:
        units = {col.name: col.unit for col in columns if col.unit}
        if units:
            array = with_units(array, units)
    return array


def _set_table_units(node: Any, part: Part) -> None:
    """Give the model's tables the column units recorded in the part's arrays."""
    for key, array in part.arrays.items():
        units = column_units(array) if array.dtype.names else {}
        if not units:
            continue
        setattr(node, key, np.array(array))  # stdatamodels casts it to a FITS record
        columns = getattr(node, key).columns
        for name, unit in units.items():
            columns[name].unit = unit


def _split_level(tree: Mapping[str, Any], skip: frozenset[str] = frozenset()) -> Part:
    """Turn one level of a datamodel tree (top level or a list item) into a Part."""
    arrays: dict[str, np.ndarray] = {}
    attrs: dict[str, Any] = {}
    for key, value in tree.items():
        if key == "meta" or key in skip or key in _ASDF_BOOKKEEPING:
            continue
        if _is_array(value):
            arrays[key] = _copy_array(value)
        elif not isinstance(value, Mapping | list):
            attrs[key] = value
    # A deep copy loads what the embedded ASDF holds lazily (the WCS's lookup tables), which
    # would be unreadable once the file is closed.
    meta = copy.deepcopy(dict(tree.get("meta") or {}))
    wcs = meta.pop("wcs", None)
    return Part(arrays=arrays, attrs=attrs, meta=meta, wcs=wcs)


def from_datamodel(model: Any) -> Product:
    """Copy a stdatamodels model into a spec3nb product.

    Parameters
    ----------
    model : stdatamodels.DataModel
        An open model of one of the supported types.

    Returns
    -------
    Product
        A product that no longer depends on the model or its file.
    """
    model_type = type(model).__name__
    tree = model.instance
    list_key = PART_LISTS.get(model_type)
    if list_key:
        parts = tuple(_split_level(item) for item in tree.get(list_key, []))
        meta = copy.deepcopy(dict(tree.get("meta") or {}))
        wcs = meta.pop("wcs", None)
    else:
        top = _split_level(tree)
        meta, parts, wcs = top.meta, (Part(top.arrays, top.attrs, {}, top.wcs),), None
    return Product(model_type=model_type, meta=thaw(meta), parts=parts, wcs=wcs)


def _level_tree(part: Part) -> dict[str, Any]:
    tree: dict[str, Any] = {k: np.array(v) for k, v in part.arrays.items()}
    tree.update(thaw(part.attrs))
    return tree


def to_datamodel(product: Product) -> Any:
    """Build the stdatamodels model that holds `product`.

    Parameters
    ----------
    product : Product
        The product to convert.

    Returns
    -------
    stdatamodels.DataModel
        A new model of class ``product.model_type`` (arrays are copies).
    """
    meta = thaw(product.meta)
    meta["telescope"] = "JWST"
    meta["model_type"] = product.model_type
    list_key = PART_LISTS.get(product.model_type)
    if list_key:
        items = []
        for part in product.parts:
            item = _level_tree(part)
            item_meta = thaw(part.meta)
            if list_key in ("slits", "exposures"):
                # jwst reads each slit's own model type (real files always carry it).
                item_meta.setdefault("model_type", "SlitModel")
            if part.wcs is not None:
                item_meta["wcs"] = part.wcs
            item["meta"] = item_meta
            items.append(item)
        if product.wcs is not None:
            meta["wcs"] = product.wcs
        tree = {"meta": meta, list_key: items}
    else:
        part = product.part
        tree = _level_tree(part)
        meta.update(thaw(part.meta))
        if part.wcs is not None:
            meta["wcs"] = part.wcs
        tree["meta"] = meta
    cls = getattr(_datamodels(), product.model_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        model = cls(tree)
        nodes = getattr(model, list_key) if list_key else [model]
        for node, part in zip(nodes, product.parts, strict=True):
            _set_table_units(node, part)
    return model


def _check_fits(path: Path) -> fits.Header:
    """Open `path` just enough to tell whether spec3 can read it; return the primary header."""
    if not path.exists():
        raise InputFileError(path, "no such file")
    if not path.is_file():
        raise InputFileError(path, "not a regular file")
    with open(path, "rb") as handle:
        if handle.read(9) != b"SIMPLE  =":
            raise InputFileError(path, "not a FITS file (it does not start with SIMPLE)")
    if path.stat().st_size % 2880:
        raise InputFileError(path, "truncated: its size is not a whole number of FITS blocks")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with fits.open(path, memmap=False, lazy_load_hdus=False) as hdul:
                hdul.verify("exception")
                names = {hdu.name for hdu in hdul}
                header = hdul[0].header.copy()
                for hdu in hdul:
                    _ = hdu.data
    except (OSError, ValueError, TypeError, fits.VerifyError) as exc:
        raise InputFileError(path, f"not a readable FITS file ({exc})") from None
    # astropy pads a truncated file with zeros and only warns: refuse it instead.
    truncated = [w for w in caught if "truncated" in str(w.message)]
    if truncated:
        raise InputFileError(path, f"not a readable FITS file ({truncated[0].message})")
    if "ASDF" not in names:
        # Every JWST pipeline product ends with the ASDF extension that holds its WCS.
        raise InputFileError(path, "no ASDF extension: the file is truncated or was not "
                                   "written by the JWST pipeline")
    model_type = header.get("DATAMODL")
    if model_type is None:
        raise InputFileError(path, "no DATAMODL keyword: not a JWST datamodel file", "PRIMARY")
    if model_type not in MODEL_TYPES:
        raise InputFileError(
            path,
            f"DATAMODL={model_type!r} is not a product spec3 takes "
            f"(expected one of {', '.join(sorted(MODEL_TYPES))})",
            "PRIMARY",
        )
    wanted = {"EXTRACT1D", "COMBINE1D"} if model_type in SPECTRUM_TYPES else {"SCI"}
    if not names & wanted:
        raise InputFileError(path, f"no {' or '.join(sorted(wanted))} extension")
    return header


def _fix_date(model: Any, date: str) -> None:
    """Make `model` record `date` when saved (stdatamodels stamps the current time)."""
    stamp = model.on_save

    def on_save(path: Any = None) -> None:
        stamp(path)
        model.meta.date = date

    # Set on the instance itself: DataModel's own __setattr__ would put it into the tree.
    object.__setattr__(model, "on_save", on_save)


def read_product(path: str | os.PathLike[str]) -> Product:
    """Read a JWST-format FITS file into a product.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    Product
        Its content; the file is closed and never written to.

    Raises
    ------
    InputFileError
        If the file is missing, truncated, not FITS, has no ``SCI`` (or spectrum table), or is
        of a ``DATAMODL`` spec3 cannot take.
    """
    path = Path(path)
    _check_fits(path)
    datamodels = _datamodels()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with datamodels.open(str(path)) as model:
                product = from_datamodel(model)
    except InputFileError:
        raise
    except Exception as exc:  # stdatamodels raises many types for broken content
        raise InputFileError(path, f"stdatamodels cannot read it ({exc})") from exc
    return product


def write_product(
    product: Product, path: str | os.PathLike[str], *, overwrite: bool = False,
    date: str | None = None,
) -> Path:
    """Write `product` to `path` atomically.

    The file is saved in a temporary folder beside `path` (under its final base name, which
    stdatamodels records as ``FILENAME``) and then renamed into place.

    Parameters
    ----------
    product : Product
        What to write.
    path : str or os.PathLike
        The destination.
    overwrite : bool
        Replace an existing file; without it an existing file is an error.
    date : str, optional
        The file's ``DATE`` (ISO time); by default the time of writing. A fixed date makes
        the same product always give the same bytes.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    OutputError
        If `path` exists and `overwrite` is false.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputError(f"{path}: exists already (use overwrite to replace it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    model = to_datamodel(product)
    if date is not None:
        _fix_date(model, date)
    tmpdir = Path(tempfile.mkdtemp(prefix=".spec3nb-", dir=path.parent))
    try:
        staged = tmpdir / path.name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.save(str(staged))
        model.close()
        os.replace(staged, path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return path
