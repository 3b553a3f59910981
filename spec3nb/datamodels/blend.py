"""Header blending: the metadata of a product made from several exposures.

jwst 3.0.0 gives a resampled 2-D spectrum (``_s2d``) and an IFU cube (``_s3d``) the first
input's metadata, with the keywords whose stdatamodels schema entry carries a
``blend_rule`` combined over all inputs (the earliest start, the latest end, the mean mid
time, summed exposure times, ``MULTIPLE`` for differing detectors or filters, ...), and a
``HDRTAB`` table: one row per input, one column per keyword flagged ``blend_table``.

The rules live in the stdatamodels schemas, so they are read from there (once per model
type) rather than listed here; this module applies them to spec3nb's metadata trees.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spec3nb.datamodels.meta import Meta

#: Where the table goes in a product (a part array) and the FITS extension it becomes.
HDRTAB = "hdrtab"
HDRTAB_EXTNAME = "HDRTAB"


def _multi(values: list[Any]) -> Any:
    """The common value, or ``MULTIPLE`` when the inputs differ."""
    distinct = set(values)
    return values[0] if len(distinct) == 1 else "MULTIPLE"


def _wheel_tolerance(values: list[Any]) -> str:
    """Outside tolerance as soon as one input was."""
    outside = "outside calibration tolerance"
    return outside if outside in values else "within commanded tolerance"


def _number(reduce: Callable[[np.ndarray], Any]) -> Callable[[list[Any]], Any]:
    def rule(values: list[Any]) -> Any:
        return reduce(np.asarray(values)).item()

    return rule


#: The schemas' rule names. ISO dates and times sort as text in time order, so the old
#: ``*date``/``*time`` rules are plain min and max.
RULES: dict[str, Callable[[list[Any]], Any]] = {
    "multi": _multi,
    "wheeltol": _wheel_tolerance,
    "mean": _number(np.mean),
    "sum": _number(np.sum),
    "min": _number(np.min),
    "max": _number(np.max),
    **{f"{end}{kind}": (min if end == "min" else max)
       for end in ("min", "max") for kind in ("date", "time", "datetime")},
}


@dataclass(frozen=True)
class BlendRules:
    """What a model type's schema says about blending.

    Attributes
    ----------
    rules : dict
        Dotted metadata path (without ``meta.``) to rule name, ``first`` left out.
    columns : dict
        Dotted metadata path to the ``HDRTAB`` column (its FITS keyword).
    skipped : tuple
        Paths that are arrays in the schema (never blended).
    """

    rules: Mapping[str, str]
    columns: Mapping[str, str]
    skipped: tuple[str, ...]


def _collect(schema: Mapping[str, Any]) -> BlendRules:
    from stdatamodels import schema as dm_schema

    rules: dict[str, str] = {}
    columns: dict[str, str] = {}
    skipped: list[str] = []

    def visit(node: Mapping[str, Any], path: Sequence[str], *_: Any) -> None:
        if len(path) < 2 or path[0] != "meta" or "items" in path or node.get("properties"):
            return
        cut = [i for i, key in enumerate(path) if key in ("anyOf", "oneOf")]
        path = path[:cut[0]] if cut else path
        name = ".".join(path[1:])
        if node.get("type") == "array":
            skipped.append(name)
            return
        if node.get("blend_rule", "first") != "first":
            rules[name] = node["blend_rule"]
        if node.get("blend_table"):
            columns[name] = node.get("fits_keyword", "meta." + name)

    dm_schema.walk_schema(schema, visit, None)
    return BlendRules(rules, columns, tuple(skipped))


@functools.cache
def blend_rules(model_type: str) -> BlendRules:
    """The blending rules of a stdatamodels model type, read from its schema (cached).

    Parameters
    ----------
    model_type : str
        A stdatamodels class name (``SlitModel``, ``IFUImageModel``...).

    Returns
    -------
    BlendRules
        Its rules, table columns and skipped paths.
    """
    from stdatamodels.jwst import datamodels

    return _collect(getattr(datamodels, model_type)().schema)


def flatten(meta: Meta, prefix: str = "") -> dict[str, Any]:
    """The scalar leaves of a metadata tree by dotted path (None values left out).

    Parameters
    ----------
    meta : Meta
        A metadata tree.
    prefix : str
        Path of `meta` itself (empty at the top).

    Returns
    -------
    dict
        ``{"exposure.start_time": 60123.4, ...}``.
    """
    flat: dict[str, Any] = {}
    for key, value in meta.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, path + "."))
        elif value is not None and not isinstance(value, list | tuple) and np.isscalar(value):
            flat[path] = value
    return flat


def _ignored(path: str, ignore: Iterable[str]) -> bool:
    return any(path.startswith(prefix) for prefix in ignore)


def _flat_inputs(metas: Sequence[Meta], model_type: str) -> list[dict[str, Any]]:
    """Each input's flattened metadata, with what every file of `model_type` holds though a
    product made in memory may not yet (see io.to_datamodel)."""
    written = {"model_type": model_type, "telescope": "JWST"}
    return [written | flatten(meta) for meta in metas]


def _values(flats: Sequence[Mapping[str, Any]], rules: BlendRules,
            ignore: Iterable[str]) -> dict[str, Any]:
    ignore = (*ignore, "wcs", *rules.skipped)
    result = {}
    for path, rule in rules.rules.items():
        values = [flat[path] for flat in flats if path in flat]
        if values and not _ignored(path, ignore):
            result[path] = RULES[rule](values)
    return result


def _table(flats: Sequence[Mapping[str, Any]], columns: Mapping[str, str]) -> np.ndarray:
    arrays, names = [], []
    for path, name in columns.items():
        values = [flat.get(path) for flat in flats]
        if all(v is None for v in values):
            continue
        column = np.array([np.nan if v is None else v for v in values])
        arrays.append(column.astype(np.int8) if column.dtype == bool else column)
        names.append(name)
    return np.rec.fromarrays(arrays, names=names).view(np.ndarray)


def blended_values(metas: Sequence[Meta], model_type: str,
                   ignore: Iterable[str] = ()) -> dict[str, Any]:
    """The blended keywords of several inputs' metadata.

    Parameters
    ----------
    metas : Sequence[Meta]
        The inputs' metadata trees, in input order.
    model_type : str
        The inputs' model type (its schema holds the rules).
    ignore : Iterable[str]
        Dotted paths (prefixes) not to blend.

    Returns
    -------
    dict
        Dotted path to blended value, for each rule some input has a value for.
    """
    return _values(_flat_inputs(metas, model_type), blend_rules(model_type), ignore)


def header_table(metas: Sequence[Meta], model_type: str) -> np.ndarray:
    """The ``HDRTAB`` table: a row per input, a column per ``blend_table`` keyword.

    Columns no input has a value for are left out; a missing value in a column is NaN
    (as text in a text column), as in jwst.

    Parameters
    ----------
    metas : Sequence[Meta]
        The inputs' metadata trees (with their ``filename``), in input order.
    model_type : str
        The inputs' model type (also the ``DATAMODL`` of a row whose tree has none;
        ``TELESCOP`` is JWST then too).

    Returns
    -------
    numpy.ndarray
        A structured array.
    """
    return _table(_flat_inputs(metas, model_type), blend_rules(model_type).columns)


def table_schema(table: np.ndarray) -> dict[str, Any]:
    """The stdatamodels schema entry that writes `table` as the ``HDRTAB`` extension.

    Parameters
    ----------
    table : numpy.ndarray
        A table from :func:`header_table`.

    Returns
    -------
    dict
        ``{"fits_hdu": "HDRTAB", "datatype": [...]}``.
    """
    fields = []
    for name in table.dtype.names:
        dtype = table.dtype[name]
        if dtype.kind in "US":  # text (bytes once read back from a file)
            kind: Any = ["ascii", dtype.itemsize // (4 if dtype.kind == "U" else 1)]
        else:  # by name: FITS tables are big-endian, which ASDF spells separately
            kind = "int8" if dtype.kind == "b" else dtype.name
        fields.append({"name": name, "datatype": kind})
    return {"title": "Combined header table", "fits_hdu": HDRTAB_EXTNAME, "datatype": fields}


def blend(metas: Sequence[Meta], model_type: str, ignore: Iterable[str] = ()
          ) -> tuple[dict[str, Any], np.ndarray]:
    """Blended keywords and the ``HDRTAB`` table of several inputs.

    Parameters
    ----------
    metas : Sequence[Meta]
        The inputs' metadata trees, in input order.
    model_type : str
        The inputs' model type.
    ignore : Iterable[str]
        Dotted paths not to blend (they stay in the table).

    Returns
    -------
    tuple
        ``(values, table)``: see :func:`blended_values` and :func:`header_table`.
    """
    flats = _flat_inputs(metas, model_type)  # flattened once for both
    rules = blend_rules(model_type)
    return _values(flats, rules, ignore), _table(flats, rules.columns)
