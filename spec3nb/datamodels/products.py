"""spec3nb's light in-memory products.

A :class:`Product` is what one JWST datamodel file holds: its model type (the ``DATAMODL``
keyword), the exposure-level metadata, and one or more :class:`Part` objects. A part is a
group of arrays that share a WCS: the single image of a ``SlitModel``, ``IFUImageModel`` or
``IFUCubeModel``, one slit of a ``MultiSlitModel``, one exposure of a ``MultiExposureModel``,
or one spectrum table of an ``_x1d``/``_c1d`` file. Keys mirror the stdatamodels tree
(``data``, ``dq``, ``err``, ``var_poisson``, ``spec_table`` ...), which keeps reading and
writing lossless and lets real archive files pass through untouched.

Products are immutable: arrays are read-only and metadata frozen, so a step can never alter
what it was given; it returns new products built with :meth:`Part.evolve` and
:meth:`Product.evolve`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from spec3nb.datamodels import meta as metatools
from spec3nb.datamodels.meta import Meta

#: Model types whose parts live in a list, and the name of that list in the tree.
PART_LISTS: Mapping[str, str] = {
    "MultiSlitModel": "slits",
    "MultiExposureModel": "exposures",
    "MultiSpecModel": "spec",
    "MRSMultiSpecModel": "spec",
    "TSOMultiSpecModel": "spec",
    "WFSSMultiSpecModel": "spec",
    "MultiCombinedSpecModel": "spec",
    "WFSSMultiCombinedSpecModel": "spec",
}

#: Model types that hold one part at the top level of the tree.
SINGLE_PART_TYPES: frozenset[str] = frozenset(
    {"SlitModel", "ImageModel", "IFUImageModel", "CubeModel", "IFUCubeModel"}
)

#: Every model type spec3nb reads or writes.
MODEL_TYPES: frozenset[str] = frozenset(PART_LISTS) | SINGLE_PART_TYPES

#: Model types that are 1-D spectra (the parts are tables).
SPECTRUM_TYPES: frozenset[str] = frozenset(k for k, v in PART_LISTS.items() if v == "spec")


def readonly(array: Any) -> np.ndarray:
    """Return a read-only numpy array holding `array`'s values (a copy when writable).

    Parameters
    ----------
    array : array_like
        The values.

    Returns
    -------
    numpy.ndarray
        An array that raises on any attempt to write into it.
    """
    arr = np.asarray(array)
    if arr.flags.writeable or arr.base is not None:
        arr = arr.copy()
    arr.flags.writeable = False
    return arr


@dataclasses.dataclass(frozen=True, eq=False)
class Part:
    """Arrays that share one WCS, with their attributes.

    Parameters
    ----------
    arrays : Mapping[str, numpy.ndarray]
        Arrays by tree name (``data``, ``dq``, ``err``, ``wavelength``, ``spec_table`` ...).
    attrs : Meta
        Scalar attributes at this level of the tree (``name``, ``source_id`` ...).
    meta : Meta
        Metadata of this part (for a slit: ``wcsinfo`` ...), without the WCS.
    wcs : gwcs.WCS or None
        The part's WCS.
    """

    arrays: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)
    attrs: Meta = dataclasses.field(default_factory=dict)
    meta: Meta = dataclasses.field(default_factory=dict)
    wcs: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "arrays", MappingProxyType(
                {k: readonly(v) for k, v in self.arrays.items()})
        )
        object.__setattr__(self, "attrs", metatools.freeze(self.attrs))
        object.__setattr__(self, "meta", metatools.freeze(self.meta))

    def __reduce__(self) -> tuple[Any, ...]:
        # Frozen mappings do not pickle; rebuild from plain copies (executors send parts to
        # other processes).
        return (Part, (dict(self.arrays), metatools.thaw(self.attrs),
                       metatools.thaw(self.meta), self.wcs))

    def __repr__(self) -> str:
        shape = self.shape
        name = self.attrs.get("name")
        label = f" name={name!r}" if name else ""
        return f"<Part{label} shape={shape} arrays={sorted(self.arrays)}>"

    @property
    def shape(self) -> tuple[int, ...] | None:
        """Shape of ``data`` (or of the spectrum table), None when there is neither."""
        for key in ("data", "spec_table"):
            if key in self.arrays:
                return tuple(self.arrays[key].shape)
        return None

    @property
    def data(self) -> np.ndarray:
        """The science array (``SCI``)."""
        return self.arrays["data"]

    @property
    def dq(self) -> np.ndarray:
        """The data-quality array (zeros of the data's shape when the file has none)."""
        if "dq" in self.arrays:
            return self.arrays["dq"]
        return readonly(np.zeros(self.data.shape, dtype=np.uint32))

    @property
    def err(self) -> np.ndarray:
        """The error array (NaN when the file has none)."""
        if "err" in self.arrays:
            return self.arrays["err"]
        return readonly(np.full(self.data.shape, np.nan, dtype=np.float32))

    @property
    def table(self) -> np.ndarray:
        """The spectrum table of an x1d/c1d part."""
        return self.arrays["spec_table"]

    def evolve(
        self,
        arrays: Mapping[str, Any] | None = None,
        attrs: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
        wcs: Any = dataclasses.MISSING,
        drop: Iterable[str] = (),
    ) -> Part:
        """Return a new part with some arrays, attributes or metadata replaced.

        Parameters
        ----------
        arrays : Mapping[str, array_like], optional
            Arrays to add or replace.
        attrs : Mapping[str, Any], optional
            Attributes to add or replace.
        meta : Mapping[str, Any], optional
            Dotted metadata paths to set (see :func:`spec3nb.datamodels.meta.updated`).
        wcs : gwcs.WCS, optional
            A new WCS.
        drop : Iterable[str]
            Names of arrays to leave out.

        Returns
        -------
        Part
            The new part; this one is unchanged.
        """
        new_arrays = {k: v for k, v in self.arrays.items() if k not in set(drop)}
        new_arrays.update(arrays or {})
        new_attrs = {**self.attrs, **(attrs or {})}
        return Part(
            arrays=new_arrays,
            attrs=new_attrs,
            meta=metatools.updated(self.meta, meta or {}),
            wcs=self.wcs if wcs is dataclasses.MISSING else wcs,
        )


@dataclasses.dataclass(frozen=True, eq=False)
class Product:
    """The content of one JWST datamodel file.

    Parameters
    ----------
    model_type : str
        The stdatamodels class name, as in the ``DATAMODL`` keyword.
    meta : Meta
        Exposure-level metadata (the tree under ``meta``, without the WCS).
    parts : tuple[Part, ...]
        The parts; exactly one for single-part model types.
    wcs : gwcs.WCS, optional
        A WCS of the whole product, for model types whose parts are a list (e.g. the
        spectral WCS of a ``_c1d``); single-part products keep theirs on the part.
    """

    model_type: str
    meta: Meta
    parts: tuple[Part, ...]
    wcs: Any = None

    def __post_init__(self) -> None:
        if self.model_type not in MODEL_TYPES:
            raise ValueError(f"unsupported model type {self.model_type!r}")
        object.__setattr__(self, "meta", metatools.freeze(self.meta))
        object.__setattr__(self, "parts", tuple(self.parts))
        if self.model_type in SINGLE_PART_TYPES:
            if len(self.parts) != 1:
                raise ValueError(
                    f"a {self.model_type} holds exactly one part, not {len(self.parts)}")
            if self.wcs is not None:
                raise ValueError(f"the WCS of a {self.model_type} belongs to its part")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Product, (self.model_type, metatools.thaw(self.meta), self.parts, self.wcs))

    def __repr__(self) -> str:
        return (
            f"<{self.model_type} {self.filename or '(unsaved)'} "
            f"exp_type={self.exp_type} parts={len(self.parts)}>"
        )

    @property
    def filename(self) -> str | None:
        """The file name recorded in the metadata (``FILENAME``)."""
        return metatools.get(self.meta, "filename")

    @property
    def exp_type(self) -> str | None:
        """The exposure type (``EXP_TYPE``)."""
        return metatools.get(self.meta, "exposure.type")

    @property
    def part(self) -> Part:
        """The only part of a single-part product."""
        if len(self.parts) != 1:
            raise ValueError(f"{self!r} has {len(self.parts)} parts, not one")
        return self.parts[0]

    @property
    def is_multi(self) -> bool:
        """Whether the parts are a list in the file (slits, exposures or spectra)."""
        return self.model_type in PART_LISTS

    def get(self, path: str, default: Any = None) -> Any:
        """Look up a dotted metadata path (``"exposure.type"``)."""
        return metatools.get(self.meta, path, default)

    def evolve(
        self,
        parts: Iterable[Part] | None = None,
        meta: Mapping[str, Any] | None = None,
        model_type: str | None = None,
        wcs: Any = dataclasses.MISSING,
    ) -> Product:
        """Return a new product with parts, metadata or type replaced.

        Parameters
        ----------
        parts : Iterable[Part], optional
            The new parts.
        meta : Mapping[str, Any], optional
            Dotted metadata paths to set.
        model_type : str, optional
            A new model type.
        wcs : gwcs.WCS, optional
            A new product-level WCS.

        Returns
        -------
        Product
            The new product; this one is unchanged.
        """
        return Product(
            model_type=model_type or self.model_type,
            meta=metatools.updated(self.meta, meta or {}),
            parts=tuple(self.parts if parts is None else parts),
            wcs=self.wcs if wcs is dataclasses.MISSING else wcs,
        )
