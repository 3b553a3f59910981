"""Read-only nested metadata.

The metadata of a product mirrors the stdatamodels tree (``meta.exposure.type`` is
``meta["exposure"]["type"]``), so that reading and writing are lossless. It is frozen:
steps build new metadata with :func:`updated` instead of editing what they were given.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

Meta = Mapping[str, Any]
EMPTY: Meta = MappingProxyType({})


def freeze(value: Any) -> Any:
    """Return a read-only deep copy of a metadata tree (dicts become mapping proxies).

    Parameters
    ----------
    value : Any
        A scalar, mapping or sequence from a stdatamodels tree.

    Returns
    -------
    Any
        The same structure with mappings as ``MappingProxyType`` and lists as tuples.
    """
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def thaw(value: Any) -> Any:
    """Return a plain, mutable deep copy (dicts and lists) of a frozen tree.

    Parameters
    ----------
    value : Any
        A frozen metadata tree.

    Returns
    -------
    Any
        Plain dicts and lists, as stdatamodels expects them.
    """
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    return value


def get(meta: Meta, path: str, default: Any = None) -> Any:
    """Look up a dotted path such as ``"exposure.type"``.

    Parameters
    ----------
    meta : Meta
        The metadata tree.
    path : str
        Dotted path of keys.
    default : Any
        Returned when any key on the path is missing or the value is None.

    Returns
    -------
    Any
        The value found, or `default`.
    """
    node: Any = meta
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return default
        node = node[key]
    return default if node is None else node


def updated(meta: Meta, changes: Mapping[str, Any]) -> Meta:
    """Return a frozen copy of `meta` with dotted-path `changes` applied.

    Parameters
    ----------
    meta : Meta
        The metadata tree to start from (left unchanged).
    changes : Mapping[str, Any]
        ``{"cal_step.outlier_detection": "COMPLETE", ...}``.

    Returns
    -------
    Meta
        The new frozen tree.
    """
    tree = thaw(meta)
    for path, value in changes.items():
        node = tree
        *parents, leaf = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = thaw(value)
    return freeze(tree)
