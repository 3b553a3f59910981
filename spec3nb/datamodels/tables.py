"""Builders for the tables spec3 writes (``_x1d``, ``_c1d``, the ``_s3d`` WCS table).

Column names, dtypes and fill values are those of the stdatamodels 6.0.0 schemas
(``spectable``, ``mrs_spectable``, ``combinedspectable``, ``wfss_spectable``,
``wfss_combinedspectable``, ``ifucube``); a test checks them against the installed schemas.

Units are not in those schemas: stdatamodels writes ``TUNITn`` from the ``unit`` of each FITS
record column. spec3nb keeps a column's unit with the table, in the metadata of the column's
dtype (``table.dtype["FLUX"].metadata["unit"]``), which survives copies, slices and pickling;
:func:`with_units` sets it, :func:`column_units` reads it, and :mod:`spec3nb.datamodels.io`
turns it into ``TUNITn`` on writing and back on reading. Only numpy and the standard library
are used (besides spec3nb's own products).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from spec3nb.datamodels.products import SPECTRUM_TYPES, Part, Product

NAN = math.nan
_Units = Mapping[str, str | None] | None


class Column(NamedTuple):
    """One column of a spectrum table: its ``name``, numpy ``dtype`` and fill ``default``."""

    name: str
    dtype: str
    default: Any


_VARIANCES = ("VAR_POISSON", "VAR_RNOISE", "VAR_FLAT")


def _cols(names: Iterable[str], dtype: str = "f8", default: Any = NAN) -> tuple[Column, ...]:
    return tuple(Column(name, dtype, default) for name in names)


def _spec_columns(npixels_default: float) -> tuple[Column, ...]:
    return (
        _cols(["WAVELENGTH", "FLUX", "FLUX_ERROR"] + [f"FLUX_{v}" for v in _VARIANCES])
        + _cols(["SURF_BRIGHT", "SB_ERROR"] + [f"SB_{v}" for v in _VARIANCES])
        + (Column("DQ", "u4", 1),)
        + _cols(["BACKGROUND", "BKGD_ERROR"] + [f"BKGD_{v}" for v in _VARIANCES])
        + (Column("NPIXELS", "f8", npixels_default),)
    )


#: The 18 columns of an ``EXTRACT1D`` table (``spectable.schema``).
SPEC_COLUMNS: tuple[Column, ...] = _spec_columns(0.0)

#: MIRI MRS: the 18 columns plus the residual-fringe-corrected ones (``mrs_spectable.schema``).
MRS_SPEC_COLUMNS: tuple[Column, ...] = SPEC_COLUMNS + _cols(
    ["RF_FLUX", "RF_SURF_BRIGHT", "RF_BACKGROUND"])

#: The columns of a ``COMBINE1D`` table (``combinedspectable.schema``).
COMBINED_COLUMNS: tuple[Column, ...] = (
    _cols(["WAVELENGTH", "FLUX", "ERROR", "SURF_BRIGHT", "SB_ERROR"])
    + (Column("DQ", "u4", 1),)
    + _cols(["WEIGHT", "N_INPUT"])
)

_PER_SOURCE = (Column("N_ALONGDISP", "u4", 0), Column("SOURCE_TYPE", "S20", ""))

#: WFSS ``EXTRACT1D`` table (``wfss_spectable.schema``): one row per source; the columns of
#: :data:`SPEC_COLUMNS` hold vectors, the others one value per source.
WFSS_SPEC_COLUMNS: tuple[Column, ...] = (
    (Column("SOURCE_ID", "i4", -999),) + _spec_columns(NAN) + _PER_SOURCE
    + _cols(["SOURCE_XPOS", "SOURCE_YPOS", "SOURCE_RA", "SOURCE_DEC"])
    + _cols([f"EXTRACT2D_{e}" for e in ("XSTART", "YSTART", "XSTOP", "YSTOP")], "u4", 0)
)

#: WFSS ``COMBINE1D`` table (``wfss_combinedspectable.schema``), vector-per-row like the x1d.
WFSS_COMBINED_COLUMNS: tuple[Column, ...] = (
    (Column("SOURCE_ID", "i4", -999),) + COMBINED_COLUMNS + _PER_SOURCE
    + _cols(["SOURCE_RA", "SOURCE_DEC"])
)

#: Units the WFSS schemas give their per-source columns.
WFSS_SCHEMA_UNITS: Mapping[str, str] = {
    **{f"SOURCE_{c}": "pix" for c in ("XPOS", "YPOS")},
    **{f"SOURCE_{c}": "deg" for c in ("RA", "DEC")},
    **{f"EXTRACT2D_{e}": "pix" for e in ("XSTART", "YSTART", "XSTOP", "YSTOP")},
}


def spectrum_units(photom_done: bool, ifu: bool) -> dict[str, str]:
    """Return the units jwst 3.0.0 gives the columns of an ``EXTRACT1D`` table.

    Parameters
    ----------
    photom_done : bool
        Whether the extracted data were flux calibrated (``S_PHOTOM = COMPLETE``).
    ifu : bool
        Whether the spectrum comes from a cube. jwst labels cube spectra in Jy and MJy/sr
        whatever `photom_done` says (cubes are always in surface brightness), writes their
        surface-brightness variances as ``(MJy/sr)^2`` and adds the MRS ``RF_*`` columns.

    Returns
    -------
    dict[str, str]
        Unit string by column name; DQ and NPIXELS have none.
    """
    if ifu:
        flux, flux_var, sb, sb_var = "Jy", "Jy^2", "MJy/sr", "(MJy/sr)^2"
    elif photom_done:
        flux, flux_var, sb, sb_var = "Jy", "Jy^2", "MJy/sr", "MJy^2 / sr^2"
    else:
        flux, flux_var, sb, sb_var = "DN/s", "DN^2 / s^2", "DN/s", "DN^2 / s^2"
    units = {"WAVELENGTH": "um", "FLUX": flux, "FLUX_ERROR": flux}
    units.update({"SURF_BRIGHT": sb, "SB_ERROR": sb, "BACKGROUND": sb, "BKGD_ERROR": sb})
    for var in _VARIANCES:
        units[f"FLUX_{var}"] = flux_var
        units[f"SB_{var}"] = sb_var
        units[f"BKGD_{var}"] = sb_var
    if ifu:
        units.update({"RF_FLUX": flux, "RF_SURF_BRIGHT": sb, "RF_BACKGROUND": sb})
    return units


def combined_units(flux_unit: str | None, sb_unit: str | None) -> dict[str, str]:
    """Return the units combine_1d gives a ``COMBINE1D`` table.

    Parameters
    ----------
    flux_unit, sb_unit : str or None
        Units of the first input's ``FLUX`` and ``SURF_BRIGHT`` columns (also used for
        ``ERROR`` and ``SB_ERROR``); None leaves those columns without a unit.

    Returns
    -------
    dict[str, str]
        Unit string by column name.
    """
    units = {"WAVELENGTH": "um", "FLUX": flux_unit, "ERROR": flux_unit}
    units.update({"SURF_BRIGHT": sb_unit, "SB_ERROR": sb_unit})
    return {name: unit for name, unit in units.items() if unit}


def column_units(table: np.ndarray) -> dict[str, str]:
    """Return ``{column: unit}`` for the columns of structured array `table` that have one.

    Parameters
    ----------
    table : numpy.ndarray
        A structured array.

    Returns
    -------
    dict[str, str]
        The units recorded with the columns.
    """
    metas = {name: table.dtype[name].metadata or {} for name in table.dtype.names or ()}
    return {name: meta["unit"] for name, meta in metas.items() if meta.get("unit")}


def with_units(table: np.ndarray, units: Mapping[str, str | None]) -> np.ndarray:
    """Return a copy of `table` whose columns carry `units` (others keep theirs).

    Parameters
    ----------
    table : numpy.ndarray
        A structured array.
    units : Mapping[str, str or None]
        Units by column name (case-insensitive); names the table lacks are ignored, and None
        removes a column's unit.

    Returns
    -------
    numpy.ndarray
        A new array with the same values.
    """
    wanted = {name.upper(): unit for name, unit in units.items()}
    fields = []
    for name in table.dtype.names:
        sub = table.dtype[name]
        unit = wanted.get(name.upper(), (sub.metadata or {}).get("unit"))
        base = np.dtype(sub.base.str) if sub.shape == () else np.dtype((sub.base.str, sub.shape))
        fields.append((name, np.dtype(base, metadata={"unit": unit}) if unit else base))
    out = np.empty(table.shape, dtype=np.dtype(fields))
    for name in table.dtype.names:
        out[name] = table[name]
    return out


def _row_table(layout: Sequence[Column], wave: Any, units: _Units, columns: dict) -> np.ndarray:
    """One row per wavelength; `columns` by name (any case), the rest the layout's defaults."""
    wave = np.atleast_1d(np.asarray(wave, dtype=np.float64))
    given = {name.upper(): value for name, value in columns.items()}
    known = {col.name for col in layout}
    unknown = sorted(set(given) - known)
    if unknown:
        raise ValueError(f"unknown column(s) {', '.join(unknown)}; expected {sorted(known)}")
    for name, value in given.items():
        if np.ndim(value) and np.size(value) != wave.size:
            raise ValueError(f"column {name} has {np.size(value)} values for {wave.size} "
                             "wavelengths")
    given["WAVELENGTH"] = wave
    table = np.empty(wave.size, dtype=[(col.name, col.dtype) for col in layout])
    for col in layout:
        table[col.name] = np.asarray(given[col.name]) if col.name in given else col.default
    return with_units(table, units) if units else table


def spec_table(
    wavelength: Any, *, mrs: bool = False, units: _Units = None, **columns: Any
) -> np.ndarray:
    """Build an ``EXTRACT1D`` table (one row per wavelength).

    Parameters
    ----------
    wavelength : array_like
        Wavelengths in micron.
    mrs : bool
        Use the MIRI MRS layout (:data:`MRS_SPEC_COLUMNS`) instead of :data:`SPEC_COLUMNS`.
    units : Mapping[str, str], optional
        Column units, e.g. ``spectrum_units(True, False)``.
    **columns : array_like
        Other columns by name in any case (``flux=...``, ``SB_ERROR=...``); those not given
        hold the schema's fill value (NaN; DQ 1; NPIXELS 0).

    Returns
    -------
    numpy.ndarray
        The table, with the schema's dtypes.

    Raises
    ------
    ValueError
        If a column is not in the layout or its length is not that of `wavelength`.
    """
    return _row_table(MRS_SPEC_COLUMNS if mrs else SPEC_COLUMNS, wavelength, units, columns)


def combined_table(wavelength: Any, *, units: _Units = None, **columns: Any) -> np.ndarray:
    """Build a ``COMBINE1D`` table (one row per wavelength).

    Parameters
    ----------
    wavelength : array_like
        Wavelengths in micron.
    units : Mapping[str, str], optional
        Column units, e.g. ``combined_units("Jy", "MJy/sr")``.
    **columns : array_like
        ``flux``, ``error``, ``surf_bright``, ``sb_error``, ``dq``, ``weight``, ``n_input``;
        those not given hold NaN (DQ 1).

    Returns
    -------
    numpy.ndarray
        The table.
    """
    return _row_table(COMBINED_COLUMNS, wavelength, units, columns)


def _vector_table(
    layout: Sequence[Column], vectors: Iterable[str], rows: Sequence[Mapping], width: int | None
) -> np.ndarray:
    """One row per source; `vectors` columns padded to a common width with their defaults."""
    vector_names = set(vectors)
    rows = [{name.upper(): value for name, value in row.items()} for row in rows]
    lengths = [np.size(row.get("WAVELENGTH", ())) for row in rows]
    width = max(lengths, default=0) if width is None else width
    if any(n > width for n in lengths):
        raise ValueError(f"a spectrum has {max(lengths)} points, more than width={width}")
    known = {col.name for col in layout}
    dtype = [(c.name, c.dtype, (width,)) if c.name in vector_names else (c.name, c.dtype)
             for c in layout]
    table = np.empty(len(rows), dtype=dtype)
    for col in layout:
        table[col.name] = col.default
    for i, (row, length) in enumerate(zip(rows, lengths, strict=True)):
        unknown = sorted(set(row) - known)
        if unknown:
            raise ValueError(f"row {i}: unknown column(s) {', '.join(unknown)}")
        for name, value in row.items():
            if name in vector_names:
                table[name][i, : np.size(value)] = np.ravel(value)
            else:
                table[name][i] = value
        if "N_ALONGDISP" not in row:
            table["N_ALONGDISP"][i] = length
    return table


def wfss_spec_table(
    rows: Sequence[Mapping[str, Any]], *, width: int | None = None, units: _Units = None
) -> np.ndarray:
    """Build a WFSS ``EXTRACT1D`` table: one row per source, spectra as padded vectors.

    Parameters
    ----------
    rows : Sequence[Mapping[str, Any]]
        One mapping per source (names in any case): the columns of :data:`SPEC_COLUMNS` as
        1-D arrays of one length (``WAVELENGTH`` required) and the per-source values
        (``SOURCE_ID``, ``SOURCE_TYPE``, ``SOURCE_RA`` ...).
    width : int, optional
        Length of the vectors; by default the longest spectrum's.
    units : Mapping[str, str], optional
        Units of the spectrum columns; the per-source columns always get the schema's.

    Returns
    -------
    numpy.ndarray
        The table. Padding and missing values hold the schema defaults (NaN, DQ 1,
        SOURCE_ID -999); ``N_ALONGDISP`` is each spectrum's length unless given.

    Raises
    ------
    ValueError
        If a row has an unknown column or a spectrum longer than `width`.
    """
    table = _vector_table(WFSS_SPEC_COLUMNS, [c.name for c in SPEC_COLUMNS], rows, width)
    return with_units(table, {**WFSS_SCHEMA_UNITS, **(units or {})})


def wfss_combined_table(
    rows: Sequence[Mapping[str, Any]], *, width: int | None = None, units: _Units = None
) -> np.ndarray:
    """Build a WFSS ``COMBINE1D`` table (as :func:`wfss_spec_table`, combined columns).

    Parameters
    ----------
    rows : Sequence[Mapping[str, Any]]
        One mapping per source: the columns of :data:`COMBINED_COLUMNS` as 1-D arrays and
        ``SOURCE_ID``, ``SOURCE_TYPE``, ``SOURCE_RA``, ``SOURCE_DEC``.
    width : int, optional
        Length of the vectors; by default the longest spectrum's.
    units : Mapping[str, str], optional
        Units of the spectrum columns (``SOURCE_RA``/``SOURCE_DEC`` are always deg).

    Returns
    -------
    numpy.ndarray
        The table.
    """
    table = _vector_table(WFSS_COMBINED_COLUMNS, [c.name for c in COMBINED_COLUMNS], rows, width)
    schema_units = {k: v for k, v in WFSS_SCHEMA_UNITS.items() if k in table.dtype.names}
    return with_units(table, {**schema_units, **(units or {})})


def wavetable(wavelength: Any) -> np.ndarray:
    """Build the ``WCS-TABLE`` of an ``_s3d`` cube.

    Parameters
    ----------
    wavelength : array_like
        The wavelength of each cube plane, in micron.

    Returns
    -------
    numpy.ndarray
        One row with one float32 column ``wavelength`` whose cell has numpy shape
        ``(nwave, 1)``, which FITS records as ``TDIM = '(1,nwave)'`` (as cube_build writes it).
    """
    wave = np.asarray(wavelength, dtype=np.float32).ravel()
    table = np.empty(1, dtype=[("wavelength", "<f4", (wave.size, 1))])
    table["wavelength"][0] = wave[:, None]
    return table


#: Exposure metadata that spectrum schemas put in a ``SCI`` header. jwst copies only primary
#: metadata into ``_x1d``/``_c1d`` products; these would make stdatamodels write an empty SCI.
SCI_HEADER_META: frozenset[str] = frozenset(
    {"target.source_type"}
    | {f"exposure.{w}_time_{s}" for w in ("start", "mid", "end") for s in ("mjd", "tdb")}
    | {"exposure.effective_exposure_time", "exposure.elapsed_exposure_time"}
    | {"ephemeris.reference_frame", "ephemeris.type", "ephemeris.time"}
    | {f"ephemeris.{q}_{c}_{o}" for q in ("spatial", "velocity") for c in "xyz"
       for o in ("bary", "geo")}
)


def primary_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Return a plain copy of `meta` without the entries of :data:`SCI_HEADER_META`.

    Parameters
    ----------
    meta : Mapping[str, Any]
        Exposure metadata (say, of the ``_s2d`` a spectrum was extracted from).

    Returns
    -------
    dict
        What a spectrum product's primary header takes.
    """

    def copy(node: Mapping[str, Any], prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            path = f"{prefix}{key}"
            if path in SCI_HEADER_META:
                continue
            out[key] = copy(value, path + ".") if isinstance(value, Mapping) else value
        return out

    return copy(meta, "")


def spectrum_product(
    parts: Iterable[Part], meta: Mapping[str, Any], model_type: str = "MultiSpecModel"
) -> Product:
    """Build a 1-D spectrum product (``_x1d`` or ``_c1d``).

    Parameters
    ----------
    parts : Iterable[Part]
        One part per table; each holds ``arrays["spec_table"]``.
    meta : Mapping[str, Any]
        The exposure-level metadata; what belongs to a ``SCI`` header
        (:data:`SCI_HEADER_META`) is left out.
    model_type : str
        One of the spectrum model types (``MultiSpecModel``, ``MRSMultiSpecModel``,
        ``WFSSMultiSpecModel``, ``MultiCombinedSpecModel``, ``WFSSMultiCombinedSpecModel``).

    Returns
    -------
    Product
        The product.

    Raises
    ------
    ValueError
        If `model_type` is not a spectrum type, or a part has no ``spec_table``.
    """
    if model_type not in SPECTRUM_TYPES:
        raise ValueError(f"{model_type!r} is not a spectrum model type")
    parts = tuple(parts)
    for i, part in enumerate(parts):
        if "spec_table" not in part.arrays:
            raise ValueError(f"part {i} has no spec_table")
    return Product(model_type=model_type, meta=primary_meta(meta), parts=parts)
