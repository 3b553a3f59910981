"""WFSS multi-source packaging: many 1-D spectra into one ``_x1d`` and one ``_c1d``.

jwst 3.0.0 (reference sections 1.4 and 3.10.4, ``make_wfss_multiexposure`` and
``make_wfss_multicombined``) writes all the sources of a WFSS association into two files:

* ``_x1d`` (``WFSSMultiSpecModel``): one ``EXTRACT1D`` table per exposure and spectral order
  (its ``group_id``), in the order first seen, each with one row per source of the whole
  set (sorted by ``SOURCE_ID``; a source absent from that exposure keeps the schema's fill
  values), spectra padded with the fill values to the longest one of the table and
  ``N_ALONGDISP`` giving each spectrum's length; the union of the exposures' ``S_REGION``
  goes on the first table;
* ``_c1d`` (``WFSSMultiCombinedSpecModel``): one ``COMBINE1D`` table per spectral order with
  one row per combined source, sorted by ``SOURCE_ID``. As in jwst, a source without that
  order leaves a row of fill values (``SOURCE_ID = -999``), which sorts first.

Each table keeps the exposure time of its own exposure (``EFFEXPTM``/``EFFINTTM``); jwst
3.0.0 gives every table the first exposure's (see :mod:`spec3nb.steps.combine1d_wfss`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from spec3nb.datamodels import tables
from spec3nb.datamodels.products import Part, Product

#: Per-source columns of a WFSS x1d table, read from and written to each spectrum's values.
ROW_VALUES = ("SOURCE_ID", "SOURCE_TYPE", "SOURCE_XPOS", "SOURCE_YPOS", "SOURCE_RA",
              "SOURCE_DEC", "EXTRACT2D_XSTART", "EXTRACT2D_YSTART", "EXTRACT2D_XSTOP",
              "EXTRACT2D_YSTOP")
#: Per-source columns of a WFSS c1d table.
COMBINED_ROW_VALUES = ("SOURCE_ID", "SOURCE_TYPE", "SOURCE_RA", "SOURCE_DEC")
_SPEC_NAMES = tuple(c.name for c in tables.SPEC_COLUMNS)
_COMBINED_NAMES = tuple(c.name for c in tables.COMBINED_COLUMNS)


@dataclasses.dataclass(frozen=True)
class WfssSpectrum:
    """One extracted spectrum of one source in one exposure and order.

    Parameters
    ----------
    columns : Mapping[str, numpy.ndarray]
        The ``EXTRACT1D`` columns (upper case), all of one length.
    values : Mapping[str, Any]
        The per-source values (:data:`ROW_VALUES`); missing ones keep the fill values.
    group_id : str
        The exposure group and order (``jw..._<visit group..>_<exposure>_<order>``).
    filename : str or None
        The exposure it came from.
    spectral_order : int
        The spectral order.
    dispersion_direction : int or None
        ``DISPAXIS``.
    exposure_time, integration_time : float or None
        ``EFFEXPTM`` and ``EFFINTTM`` of its exposure.
    units : Mapping[str, str]
        Units of the columns.
    """

    columns: Mapping[str, np.ndarray]
    values: Mapping[str, Any]
    group_id: str
    filename: str | None
    spectral_order: int
    dispersion_direction: int | None
    exposure_time: float | None
    integration_time: float | None
    units: Mapping[str, str]

    @property
    def source_id(self) -> int:
        """The source's id."""
        return int(self.values["SOURCE_ID"])

    @property
    def size(self) -> int:
        """Number of points."""
        return int(np.size(self.columns["WAVELENGTH"]))


def _table_attrs(spectrum: WfssSpectrum) -> dict[str, Any]:
    attrs = {"filename": spectrum.filename, "group_id": spectrum.group_id,
             "dispersion_direction": spectrum.dispersion_direction,
             "spectral_order": spectrum.spectral_order,
             "exposure_time": spectrum.exposure_time,
             "integration_time": spectrum.integration_time}
    return {k: v for k, v in attrs.items() if v is not None}


def package_spectra(spectra: Sequence[WfssSpectrum], meta: Mapping[str, Any],
                    s_region: str | None = None) -> Product:
    """Pack spectra into a ``WFSSMultiSpecModel``: one table per exposure group and order.

    Parameters
    ----------
    spectra : Sequence[WfssSpectrum]
        The spectra (any sources, exposures and orders); tables follow the order in which
        their ``group_id`` is first seen.
    meta : Mapping[str, Any]
        The product's metadata (its primary header).
    s_region : str, optional
        ``S_REGION`` of the first table (the union of the exposures' footprints).

    Returns
    -------
    Product
        The ``_x1d`` product.

    Raises
    ------
    ValueError
        If there is no spectrum.
    """
    if not spectra:
        raise ValueError("no WFSS spectrum to package")
    groups: dict[str, list[WfssSpectrum]] = {}
    for spectrum in spectra:
        groups.setdefault(spectrum.group_id, []).append(spectrum)
    source_ids = np.unique([s.source_id for s in spectra])
    units = spectra[0].units
    parts = []
    for members in groups.values():
        by_source = {s.source_id: s for s in members}  # a later duplicate replaces, as jwst
        rows = []
        for source_id in source_ids:
            spectrum = by_source.get(int(source_id))
            if spectrum is None:
                rows.append({"SOURCE_ID": int(source_id), "N_ALONGDISP": 0})
            else:
                rows.append({**spectrum.columns, **dict(spectrum.values)})
        width = max(s.size for s in members)
        table = tables.wfss_spec_table(rows, width=width, units=units)
        parts.append(Part(arrays={"spec_table": table}, attrs=_table_attrs(members[0])))
    if s_region is not None:
        parts[0] = parts[0].evolve(attrs={"s_region": s_region})
    return tables.spectrum_product(parts, meta, "WFSSMultiSpecModel")


def _text(value: Any) -> Any:
    if isinstance(value, bytes | np.bytes_):
        return value.decode().strip()
    if isinstance(value, np.generic):
        return value.item()
    return value


def spectra_of(product: Product) -> list[WfssSpectrum]:
    """Split a ``WFSSMultiSpecModel`` into its spectra (rows without points are left out).

    Parameters
    ----------
    product : Product
        A WFSS ``_x1d``.

    Returns
    -------
    list[WfssSpectrum]
        Table by table, row by row.
    """
    if product.model_type != "WFSSMultiSpecModel":
        raise TypeError(f"{product.filename or 'an input'} is a {product.model_type}, "
                        "not a WFSSMultiSpecModel")
    out = []
    for part in product.parts:
        table = part.table
        units = tables.column_units(table)
        attrs = part.attrs
        for row in table:
            count = int(row["N_ALONGDISP"])
            if count == 0:
                continue
            out.append(WfssSpectrum(
                columns={n: np.asarray(row[n][:count]) for n in _SPEC_NAMES},
                values={n: _text(row[n]) for n in ROW_VALUES if n in table.dtype.names},
                group_id=str(attrs.get("group_id", "")), filename=attrs.get("filename"),
                spectral_order=int(attrs.get("spectral_order") or 1),
                dispersion_direction=attrs.get("dispersion_direction"),
                exposure_time=attrs.get("exposure_time"),
                integration_time=attrs.get("integration_time"),
                units={k: v for k, v in units.items() if k in _SPEC_NAMES}))
    return out


def package_x1d(products: Iterable[Product], exposures: Sequence[Product] = ()) -> Product:
    """Merge per-source WFSS ``_x1d`` products into the association's single ``_x1d``.

    Parameters
    ----------
    products : Iterable[Product]
        ``WFSSMultiSpecModel`` products (one per source, as :func:`extract_wfss` makes).
    exposures : Sequence[Product]
        The exposures (``MultiSlitModel``) whose ``S_REGION`` union goes on the first table;
        none leaves it unset.

    Returns
    -------
    Product
        The ``_x1d`` product; its metadata is the first input's.
    """
    products = list(products)
    spectra = [s for p in products for s in spectra_of(p)]
    region = sregion_union(exposures) if exposures else None
    return package_spectra(spectra, products[0].meta, region)


def sregion_union(exposures: Sequence[Product]) -> str | None:
    """The union of the exposures' footprints, as calwebb_spec3 computes it for WFSS.

    The ``S_REGION`` of the first cutout of every exposure is combined by polygon union in
    the detector pixels of the first cutout's ``detector -> world`` transform
    (``stcal.alignment.combine_sregions``).

    Parameters
    ----------
    exposures : Sequence[Product]
        ``MultiSlitModel`` exposures.

    Returns
    -------
    str or None
        The ``POLYGON ICRS ...`` string; None when an exposure has no ``S_REGION`` or the
        union fails (jwst then leaves it unset too).
    """
    from astropy.modeling.models import Mapping as AxisMapping
    from stcal.alignment import combine_sregions

    regions = []
    for product in exposures:
        if not product.parts:
            return None
        region = product.parts[0].meta.get("wcsinfo", {}).get("s_region")
        if region is None:
            return None
        regions.append(region)
    wcs = exposures[0].parts[0].wcs
    frame = "moving_target" if "moving_target" in wcs.available_frames else "world"
    to_world = wcs.get_transform("detector", frame)
    widen = AxisMapping((0, 1, 0, 1))
    widen.inverse = AxisMapping((0, 1), n_inputs=4)
    narrow = AxisMapping((0, 1), n_inputs=4)
    narrow.inverse = AxisMapping((0, 1, 0, 1))
    try:
        return combine_sregions(regions, widen | to_world | narrow)
    except ValueError:
        return None


# ----------------------------------------------------------------------------- c1d


def _combined_rows(part: Part) -> list[dict[str, Any]]:
    """The per-source rows of a combined part (plain ``COMBINE1D`` or WFSS vector table)."""
    table = part.table
    if table.dtype["WAVELENGTH"].shape == ():
        attrs = part.attrs
        row = {n: np.asarray(table[n]) for n in _COMBINED_NAMES}
        row.update({"SOURCE_ID": attrs.get("source_id"), "SOURCE_TYPE": attrs.get("source_type"),
                    "SOURCE_RA": attrs.get("source_ra"), "SOURCE_DEC": attrs.get("source_dec")})
        return [{k: v for k, v in row.items() if v is not None}]
    rows = []
    for rec in table:
        count = int(rec["N_ALONGDISP"])
        if count == 0:
            continue
        row = {n: np.asarray(rec[n][:count]) for n in _COMBINED_NAMES}
        row.update({n: _text(rec[n]) for n in COMBINED_ROW_VALUES})
        rows.append(row)
    return rows


def package_c1d(products: Sequence[Product]) -> Product:
    """Merge combined spectra of many sources into one ``WFSSMultiCombinedSpecModel``.

    Parameters
    ----------
    products : Sequence[Product]
        Per-source ``MultiCombinedSpecModel`` products, or ``WFSSMultiCombinedSpecModel``
        ones (their rows are taken as separate sources), in source order.

    Returns
    -------
    Product
        One ``COMBINE1D`` table per spectral order (first-seen order), one row per source
        sorted by ``SOURCE_ID``; the metadata is the first input's.

    Raises
    ------
    ValueError
        If there is nothing to package.
    """
    sources: list[dict[Any, dict[str, Any]]] = []
    units, dispaxis = None, None
    for product in products:
        per_order: dict[Any, list[dict[str, Any]]] = {}
        for part in product.parts:
            order = part.attrs.get("spectral_order")
            for row in _combined_rows(part):
                per_order.setdefault(order, []).append(row)
                if units is None:
                    units = tables.column_units(part.table)
                    dispaxis = part.attrs.get("dispersion_direction")
        count = max((len(v) for v in per_order.values()), default=0)
        for k in range(count):
            sources.append({o: rows[k] for o, rows in per_order.items() if k < len(rows)})
    if not sources:
        raise ValueError("no combined WFSS spectrum to package")
    orders = list(dict.fromkeys(o for s in sources for o in s))
    parts = []
    for order in orders:
        rows = [s.get(order, {"N_ALONGDISP": 0}) for s in sources]
        width = max(np.size(r.get("WAVELENGTH", ())) for r in rows)
        table = tables.wfss_combined_table(rows, width=width, units=units)
        table = np.sort(table, order=["SOURCE_ID"], kind="stable")
        attrs = {"spectral_order": order, "dispersion_direction": dispaxis}
        parts.append(Part(arrays={"spec_table": table},
                          attrs={k: v for k, v in attrs.items() if v is not None}))
    return tables.spectrum_product(parts, products[0].meta, "WFSSMultiCombinedSpecModel")
