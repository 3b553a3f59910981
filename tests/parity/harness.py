"""Run jwst 3.0.0 steps offline on spec3nb products and compare the results with ours.

* :func:`offline_jwst` makes every CRDS look-up raise (naming the reference type) instead of
  reaching the network, which without a cache ends the interpreter.
* :func:`run_jwst_step` runs ``Step(**params).run(model)`` on products or files and gives
  back products.
* ``assert_*_match`` compare arrays, DQ planes, tables and whole products and fail with a
  message that says where and by how much.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from spec3nb.datamodels import Product, from_datamodel, read_product, to_datamodel
from spec3nb.datamodels import meta as metatools

#: What ``get_context_used`` reports while offline (it ends up in ``CRDS_CTX``).
OFFLINE_CONTEXT = "jwst_offline.pmap"

_STEPPARS = "STPIPE_DISABLE_CRDS_STEPPARS"


class OfflineReferenceError(RuntimeError):
    """A jwst step asked CRDS for a reference file while offline."""

    def __init__(self, reftypes: Iterable[str]) -> None:
        self.reftypes = tuple(reftypes)
        names = ", ".join(repr(r) for r in self.reftypes) or "(none)"
        hints = ", ".join(f"override_{r}=<path or 'N/A'>" for r in self.reftypes)
        super().__init__(f"offline: CRDS look-up of reference type {names} refused; pass {hints}")


def _refuse_one(parameters: Any, reference_file_type: str, observatory: str) -> str:
    raise OfflineReferenceError([reference_file_type])


def _refuse_many(parameters: Any, reference_file_types: Sequence[str], observatory: str) -> dict:
    if not reference_file_types:
        return {}  # a pipeline's prefetch of nothing asks for nothing
    raise OfflineReferenceError(reference_file_types)


def _fixed_context(observatory: str) -> str:
    return OFFLINE_CONTEXT


@contextlib.contextmanager
def offline_jwst() -> Iterator[None]:
    """Let jwst steps run without CRDS for the duration of the block.

    Sets ``STPIPE_DISABLE_CRDS_STEPPARS=true`` and replaces ``get_reference_file`` and
    ``get_multiple_reference_paths`` of ``stpipe.crds_client`` with functions raising
    :class:`OfflineReferenceError`, and ``get_context_used`` with one returning
    :data:`OFFLINE_CONTEXT`. Everything is restored on exit (blocks may nest).

    Yields
    ------
    None
        Control, while offline.
    """
    from stpipe import crds_client

    patches = {
        "get_reference_file": _refuse_one,
        "get_multiple_reference_paths": _refuse_many,
        "get_context_used": _fixed_context,
    }
    saved = {name: getattr(crds_client, name) for name in patches}
    saved_env = os.environ.get(_STEPPARS)
    os.environ[_STEPPARS] = "true"
    for name, func in patches.items():
        setattr(crds_client, name, func)
    try:
        yield
    finally:
        for name, func in saved.items():
            setattr(crds_client, name, func)
        if saved_env is None:
            os.environ.pop(_STEPPARS, None)
        else:
            os.environ[_STEPPARS] = saved_env


def _open_input(item: Product | str | os.PathLike[str]) -> Any:
    from stdatamodels.jwst import datamodels

    if isinstance(item, Product):
        return to_datamodel(item)
    return datamodels.open(str(item))


def _to_products(result: Any) -> Product | list[Product]:
    from jwst.datamodels import ModelContainer

    if isinstance(result, ModelContainer | list | tuple):
        return [from_datamodel(model) for model in result]
    return from_datamodel(result)


def run_jwst_step(
    step_class: type,
    inputs: Product | str | os.PathLike[str] | Sequence[Product | str | os.PathLike[str]],
    *,
    save_to: str | os.PathLike[str] | None = None,
    **params: Any,
) -> Product | list[Product]:
    """Run a jwst step offline on spec3nb products or files.

    Parameters
    ----------
    step_class : type
        A ``jwst`` step class, e.g. ``jwst.combine_1d.Combine1dStep``.
    inputs : Product, path, or a sequence of them
        One input (converted with ``to_datamodel`` or opened with stdatamodels) or several,
        passed as a ``ModelContainer``.
    save_to : path, optional
        Also save the step's (single) result there with jwst's own writer, and return what
        :func:`~spec3nb.datamodels.read_product` reads back from that file.
    **params : Any
        Step parameters, including ``override_<reftype>``.

    Returns
    -------
    Product or list[Product]
        The result; a list when the step returns a container.
    """
    from jwst.datamodels import ModelContainer

    if isinstance(inputs, Product | str | os.PathLike):
        model = _open_input(inputs)
    else:
        model = ModelContainer([_open_input(item) for item in inputs])
    with offline_jwst():
        result = step_class(**params).run(model)
    try:
        if save_to is not None:
            result.save(str(save_to))
            return read_product(Path(save_to))
        return _to_products(result)
    finally:
        for obj in {id(result): result, id(model): model}.values():
            with contextlib.suppress(Exception):
                obj.close()


# ----------------------------------------------------------------------------- comparisons


def _where(mask: np.ndarray, limit: int = 5) -> str:
    found = np.argwhere(mask)[:limit]
    return ", ".join(str(tuple(int(i) for i in idx)) for idx in found)


def assert_arrays_match(
    ours: Any, theirs: Any, *, rtol: float = 1e-6, atol: float = 0.0, name: str = "array"
) -> None:
    """Assert two arrays have the same shape, the same NaNs and values within tolerance.

    Parameters
    ----------
    ours, theirs : array_like
        The arrays (numeric).
    rtol, atol : float
        Finite values must satisfy ``|ours - theirs| <= atol + rtol * |theirs|``.
    name : str
        What the arrays are, for the message.

    Raises
    ------
    AssertionError
        Naming the shapes, the number of pixels that are NaN in one array only, or the number
        of values out of tolerance and the worst one.
    """
    a, b = np.asarray(ours), np.asarray(theirs)
    if a.shape != b.shape:
        raise AssertionError(f"{name}: shape {a.shape} (ours) != {b.shape} (theirs)")
    a, b = a.astype(np.float64), b.astype(np.float64)
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    differ = nan_a != nan_b
    if differ.any():
        raise AssertionError(
            f"{name}: {int(differ.sum())} of {a.size} pixels differ in NaN-ness "
            f"({int((nan_a & ~nan_b).sum())} NaN only in ours, "
            f"{int((nan_b & ~nan_a).sum())} only in theirs), first at {_where(differ)}"
        )
    both = ~nan_a
    with np.errstate(invalid="ignore"):
        diff = np.where(both, np.abs(a - b), 0.0)
        same_inf = np.isinf(a) & (a == b)
        bad = both & ~same_inf & ~(diff <= atol + rtol * np.abs(b))
    if bad.any():
        excess = np.where(bad, diff - rtol * np.abs(b), -np.inf)
        worst = np.unravel_index(int(np.argmax(excess)), a.shape)
        raise AssertionError(
            f"{name}: {int(bad.sum())} of {int(both.sum())} values out of tolerance "
            f"(rtol={rtol}, atol={atol}); worst at {tuple(int(i) for i in worst)}: "
            f"ours={a[worst]!r} theirs={b[worst]!r} |diff|={diff[worst]!r}"
        )


def assert_dq_match(
    ours: Any, theirs: Any, *, bits: int | Iterable[int] | None = None, name: str = "dq"
) -> None:
    """Assert two DQ arrays are equal, optionally only in some bits.

    Parameters
    ----------
    ours, theirs : array_like
        Integer DQ arrays.
    bits : int or Iterable[int], optional
        A mask (``1 | 16``) or flag values to OR together; all bits by default.
    name : str
        What the arrays are, for the message.

    Raises
    ------
    AssertionError
        Naming the number of differing pixels, the first ones, and which bits differ.
    """
    a, b = np.asarray(ours).astype(np.uint64), np.asarray(theirs).astype(np.uint64)
    if a.shape != b.shape:
        raise AssertionError(f"{name}: shape {a.shape} (ours) != {b.shape} (theirs)")
    if bits is None:
        mask = np.uint64(0xFFFFFFFF)
    elif isinstance(bits, int | np.integer):
        mask = np.uint64(bits)
    else:
        mask = np.uint64(np.bitwise_or.reduce([int(x) for x in bits]))
    xor = (a ^ b) & mask
    if xor.any():
        flags = int(np.bitwise_or.reduce(xor.ravel()))
        values = [1 << i for i in range(32) if flags >> i & 1]
        first = tuple(int(i) for i in np.argwhere(xor)[0])
        raise AssertionError(
            f"{name}: {int(np.count_nonzero(xor))} of {a.size} pixels differ in bits "
            f"{values}; first at {first}: ours={int(a[first])} theirs={int(b[first])}"
        )


def assert_tables_match(
    ours: np.ndarray,
    theirs: np.ndarray,
    *,
    columns: Iterable[str] | None = None,
    rtol: float = 1e-6,
    atol: float = 0.0,
    name: str = "table",
) -> None:
    """Assert two structured arrays have the same columns and matching values.

    Parameters
    ----------
    ours, theirs : numpy.ndarray
        Structured arrays (spectrum tables).
    columns : Iterable[str], optional
        Compare only these columns (each must be in both); by default the column names must
        be the same and all are compared.
    rtol, atol : float
        Tolerance of numeric columns (see :func:`assert_arrays_match`).
    name : str
        What the tables are, for the message.

    Raises
    ------
    AssertionError
        Listing missing or extra columns, or every column that differs and how.
    """
    names_a, names_b = tuple(ours.dtype.names or ()), tuple(theirs.dtype.names or ())
    if columns is None:
        if set(names_a) != set(names_b):
            raise AssertionError(
                f"{name}: columns differ; missing in ours {sorted(set(names_b) - set(names_a))},"
                f" extra in ours {sorted(set(names_a) - set(names_b))}"
            )
        columns = names_b
    columns = list(columns)
    for which, names in (("ours", names_a), ("theirs", names_b)):
        missing = [c for c in columns if c not in names]
        if missing:
            raise AssertionError(f"{name}: column(s) {missing} missing in {which}")
    if ours.shape != theirs.shape:
        raise AssertionError(f"{name}: {ours.shape} rows (ours) != {theirs.shape} (theirs)")
    problems = []
    for col in columns:
        a, b = ours[col], theirs[col]
        try:
            if a.dtype.kind in "SUO" or b.dtype.kind in "SUO":
                _assert_text_equal(a, b, f"{name}.{col}")
            else:
                assert_arrays_match(a, b, rtol=rtol, atol=atol, name=f"{name}.{col}")
        except AssertionError as exc:
            problems.append(str(exc))
    if problems:
        raise AssertionError("\n".join(problems))


def _assert_text_equal(a: np.ndarray, b: np.ndarray, name: str) -> None:
    def text(x: np.ndarray) -> np.ndarray:
        return np.char.strip(np.char.decode(x) if x.dtype.kind == "S" else x.astype(str))

    differ = text(a) != text(b)
    if np.any(differ):
        raise AssertionError(f"{name}: {int(np.sum(differ))} values differ, first at "
                             f"{_where(differ, 1)}")


def assert_products_match(
    ours: Product,
    theirs: Product,
    *,
    arrays: Iterable[str] | None = None,
    rtol: float = 1e-6,
    atol: float = 0.0,
    dq_bits: int | Iterable[int] | None = None,
    attrs: Iterable[str] = (),
    meta: Iterable[str] = (),
) -> None:
    """Assert two products match: type, parts, arrays, DQ, tables and chosen metadata.

    Parameters
    ----------
    ours, theirs : Product
        The products.
    arrays : Iterable[str], optional
        Array names to compare in every part; by default the parts must hold the same names
        and all are compared.
    rtol, atol : float
        Tolerance for numeric values.
    dq_bits : int or Iterable[int], optional
        Compare DQ arrays in these bits only.
    attrs : Iterable[str]
        Part attributes that must be equal (``name``, ``source_id`` ...).
    meta : Iterable[str]
        Dotted product metadata paths that must be equal.

    Raises
    ------
    AssertionError
        Describing the first difference found.
    """
    if ours.model_type != theirs.model_type:
        raise AssertionError(f"model type {ours.model_type} (ours) != {theirs.model_type}")
    if len(ours.parts) != len(theirs.parts):
        raise AssertionError(f"{len(ours.parts)} parts (ours) != {len(theirs.parts)} (theirs)")
    for path in meta:
        a, b = metatools.get(ours.meta, path), metatools.get(theirs.meta, path)
        if a != b:
            raise AssertionError(f"meta.{path}: {a!r} (ours) != {b!r} (theirs)")
    for i, (pa, pb) in enumerate(zip(ours.parts, theirs.parts, strict=True)):
        _assert_parts_match(pa, pb, f"part {i}", arrays, rtol, atol, dq_bits, attrs)


def _assert_parts_match(pa, pb, label, arrays, rtol, atol, dq_bits, attrs) -> None:
    if arrays is None:
        if set(pa.arrays) != set(pb.arrays):
            raise AssertionError(
                f"{label}: arrays {sorted(pa.arrays)} (ours) != {sorted(pb.arrays)} (theirs)"
            )
        names = sorted(pb.arrays)
    else:
        names = list(arrays)
    for key in attrs:
        if pa.attrs.get(key) != pb.attrs.get(key):
            raise AssertionError(
                f"{label}.{key}: {pa.attrs.get(key)!r} (ours) != {pb.attrs.get(key)!r}"
            )
    for key in names:
        for which, part in (("ours", pa), ("theirs", pb)):
            if key not in part.arrays:
                raise AssertionError(f"{label}: no array {key!r} in {which}")
        a, b = pa.arrays[key], pb.arrays[key]
        if a.dtype.names or b.dtype.names:
            assert_tables_match(a, b, rtol=rtol, atol=atol, name=f"{label}.{key}")
        elif key == "dq" or key.endswith("_dq"):
            assert_dq_match(a, b, bits=dq_bits, name=f"{label}.{key}")
        else:
            assert_arrays_match(a, b, rtol=rtol, atol=atol, name=f"{label}.{key}")


def _text(values: np.ndarray) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def assert_blended_like_jwst(ours: Product, theirs: Product, input_type: str) -> None:
    """Same blended header keywords and the same ``HDRTAB`` table as jwst's product.

    Every keyword with a blend rule in the `input_type` schema must agree; the tables must
    have the same columns (jwst may add ``DATE``, the time its in-memory inputs were made)
    and values. jwst's boolean columns come back as the FITS character codes of its round
    trip ('F' is 70, 'T' is 84), ours as 0 and 1 (docs/deviations.md).
    """
    from spec3nb.datamodels.blend import HDRTAB, blend_rules

    for path in blend_rules(input_type).rules:
        mine, jwst = ours.get(path), theirs.get(path)
        if isinstance(jwst, float):
            assert mine is not None and np.isclose(mine, jwst, rtol=1e-12, atol=0), path
        else:
            assert mine == jwst, f"{path}: {mine!r} != jwst's {jwst!r}"
    a, b = ours.part.arrays[HDRTAB], theirs.part.arrays[HDRTAB]
    assert len(a) == len(b)
    assert set(a.dtype.names) <= set(b.dtype.names)
    assert set(b.dtype.names) - set(a.dtype.names) <= {"DATE"}
    for name in a.dtype.names:
        mine, jwst = a[name], b[name]
        if name == "DATE":
            continue
        if jwst.dtype.kind in "SUO":
            assert _text(mine) == _text(jwst), name
        elif jwst.dtype == np.int8 and set(jwst.tolist()) <= {70, 84}:
            assert mine.astype(bool).tolist() == (jwst == 84).tolist(), name
        else:
            assert np.allclose(mine, jwst, rtol=1e-12, atol=0, equal_nan=True), name
