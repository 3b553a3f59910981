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

from spec3nb.datamodels.blend import HDRTAB, table_schema
from spec3nb.datamodels.fits_check import IndexedHDUList, open_checked
from spec3nb.datamodels.meta import thaw
from spec3nb.datamodels.products import (
    PART_LISTS,
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


def prepare_reading() -> None:
    """Import stdatamodels and load asdf's extensions now (about a second, paid once per
    process: forked readers started afterwards inherit them)."""
    import asdf

    _datamodels()
    asdf.get_config().extensions  # noqa: B018 - loading the entry points is the point


def _is_array(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


def _copy_array(value: Any) -> np.ndarray:
    """Copy an array out of a model; a table's column units (TUNITn) go into its dtype.

    Plain arrays come back read-only and owning their memory, which a :class:`Part` keeps
    as it is instead of copying it once more.
    """
    array = np.asarray(value)
    if array.dtype.names is None:
        # FITS stores big-endian numbers; numeric code is faster on native ones.
        array = array.astype(array.dtype.newbyteorder("="), copy=True)
        array.flags.writeable = False
        return array
    array = np.array(array)
    columns = getattr(value, "columns", None)
    if columns is not None:
        units = {col.name: col.unit for col in columns if col.unit}
        if units:
            array = with_units(array, units)
    return array


_PLAIN = (str, bytes, int, float, bool, type(None), np.generic)


def _copy_meta(value: Any) -> Any:
    """Copy a metadata tree: containers rebuilt, plain values shared, other objects deep-copied.

    Objects (the WCS above all) are deep-copied because the embedded ASDF loads some of their
    arrays lazily (the lookup tables of tabular transforms), which could not be read once
    the file is closed; a deep copy reads them now.
    """
    if isinstance(value, Mapping):
        return {key: _copy_meta(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_copy_meta(item) for item in value]
    if isinstance(value, _PLAIN):
        return value
    return copy.deepcopy(value)


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
    meta = _copy_meta(tree.get("meta") or {})
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
        meta = _copy_meta(tree.get("meta") or {})
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
        header_table = tree.pop(HDRTAB, None)
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
        if not list_key and header_table is not None:
            # No model schema has the table: jwst adds the entry to the model it writes.
            model.add_schema_entry(HDRTAB, table_schema(header_table))
            setattr(model, HDRTAB, header_table)
    return model


def _fix_date(model: Any, date: str) -> None:
    """Make `model` record `date` when saved (stdatamodels stamps the current time)."""
    stamp = model.on_save

    def on_save(path: Any = None) -> None:
        stamp(path)
        model.meta.date = date

    # Set on the instance itself: DataModel's own __setattr__ would put it into the tree.
    object.__setattr__(model, "on_save", on_save)


def _save_fits(model: Any, path: Path) -> None:
    """Write `model` to `path` as ``model.save`` does, into an indexed HDU list.

    stdatamodels looks every extension up by name while building the file; in a plain HDU
    list each look-up reads the header of every HDU before it, which is quadratic in the
    number of extensions (hundreds for a NIRSpec MOS product).
    """
    from stdatamodels import fits_support

    model.on_save(str(path))
    hdulist = IndexedHDUList()
    hdulist.append(fits.PrimaryHDU())
    hdulist = fits_support.to_fits(model._instance, model._schema, hdulist=hdulist)
    hdulist.writeto(str(path), overwrite=True)


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
    hdul = open_checked(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # The class DATAMODL names (checked above), as datamodels.open would choose it,
            # given the open HDU list so that the data are read once.
            cls = getattr(_datamodels(), hdul[0].header["DATAMODL"])
            with cls(hdul) as model:
                product = from_datamodel(model)
    except InputFileError:
        raise
    except Exception as exc:  # stdatamodels raises many types for broken content
        raise InputFileError(path, f"stdatamodels cannot read it ({exc})") from exc
    finally:
        hdul.close()
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
            _save_fits(model, staged)
        model.close()
        os.replace(staged, path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return path


def write_job(job: tuple[Product, Path, bool]) -> Path:
    """:func:`write_product` of one ``(product, path, overwrite)`` job (what the forked
    writers of :func:`spec3nb.parallel.fork_map` run)."""
    product, path, overwrite = job
    return write_product(product, path, overwrite=overwrite)
