"""Typed step parameters: one declaration drives validation, the command line and widgets.

Names and defaults are those of the jwst 3.0.0 steps; the types are proper Python types
where jwst uses strings (outlier_detection's ``snr`` is a pair of floats here, ``"5.0 4.0"``
in jwst). Both the spec3nb form (``5.0,4.0``) and jwst's string form are accepted.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from typing import Any

BOOL, INT, FLOAT, STR, CHOICE, FLOATS, INTS, PATH = (
    "bool", "int", "float", "str", "choice", "floats", "ints", "path"
)
KINDS = frozenset({BOOL, INT, FLOAT, STR, CHOICE, FLOATS, INTS, PATH})

_TRUE = frozenset({"true", "t", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "off"})
_NONE = frozenset({"none", "null", ""})


@dataclasses.dataclass(frozen=True)
class Param:
    """Declaration of one step parameter.

    Parameters
    ----------
    name : str
        The jwst 3.0.0 parameter name.
    kind : str
        One of ``bool``, ``int``, ``float``, ``str``, ``choice``, ``floats`` (a tuple of
        floats), ``ints`` (a tuple of ints), ``path`` (a file name).
    default : Any
        The jwst 3.0.0 default, in spec3nb's type.
    doc : str
        One line saying what the parameter does (shown by ``--help`` and as a tooltip).
    choices : tuple
        Allowed values of a ``choice``.
    minimum, maximum : float, optional
        Bounds of numbers (and of each element of a list).
    length : int, optional
        Exact number of elements of a list.
    nullable : bool
        Whether None is allowed (jwst's ``default=None``).
    jwst : bool
        Whether jwst 3.0.0's step has this parameter (False for spec3nb's additions, which
        are listed in docs/deviations.md).
    """

    name: str
    kind: str
    default: Any
    doc: str
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    length: int | None = None
    nullable: bool = False
    jwst: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name}: unknown kind {self.kind!r}")
        if (self.default is None or None in self.choices) and not self.nullable:
            object.__setattr__(self, "nullable", True)
        object.__setattr__(self, "default", self.coerce(self.default))

    @property
    def type_name(self) -> str:
        """A short human-readable type, e.g. ``float``, ``2 floats``, ``one of box|optimal``."""
        if self.kind == CHOICE:
            text = "one of " + "|".join(str(c) for c in self.choices)
        elif self.kind in (FLOATS, INTS):
            word = "floats" if self.kind == FLOATS else "ints"
            text = f"{self.length} {word}" if self.length else f"list of {word}"
        else:
            text = self.kind
        return text + (" or None" if self.nullable else "")

    def coerce(self, value: Any) -> Any:
        """Return `value` converted to this parameter's type, or raise ValueError.

        Parameters
        ----------
        value : Any
            A Python value or a string as typed on the command line.

        Returns
        -------
        Any
            The typed value.
        """
        if isinstance(value, str) and self.kind not in (STR, PATH, CHOICE):
            return self.parse(value)
        if value is None:
            if self.nullable:
                return None
            raise ValueError("None is not allowed")
        converter = _CONVERTERS[self.kind]
        return converter(self, value)

    def parse(self, text: str) -> Any:
        """Parse the command-line (or jwst string) form of a value.

        Parameters
        ----------
        text : str
            ``5.0,4.0`` or ``"5.0 4.0"`` for lists, ``true``/``false`` for booleans, ``None``
            for nothing.

        Returns
        -------
        Any
            The typed value.
        """
        stripped = text.strip()
        if stripped.lower() in _NONE and (self.nullable or self.kind not in (STR, PATH)):
            return self.coerce(None)
        if self.kind == BOOL:
            return self.coerce(_parse_bool(stripped))
        if self.kind in (INT, FLOAT):
            return self.coerce(_parse_number(stripped, self.kind))
        if self.kind in (FLOATS, INTS):
            items = [s for s in re.split(r"[,\s]+", stripped.strip("[]()")) if s]
            return self.coerce([_parse_number(s, FLOAT if self.kind == FLOATS else INT)
                                for s in items])
        return self.coerce(stripped)


def _parse_bool(text: str) -> bool:
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"{text!r} is not a boolean (use true or false)")


def _parse_number(text: str, kind: str) -> float | int:
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if kind == INT:
        if not number.is_integer():
            raise ValueError(f"{text!r} is not a whole number")
        return int(number)
    return number


def _check_bounds(param: Param, number: float) -> None:
    if param.kind in (FLOAT, FLOATS) and math.isnan(number):
        raise ValueError("NaN is not allowed")
    if param.minimum is not None and number < param.minimum:
        raise ValueError(f"{number} is below the minimum {param.minimum}")
    if param.maximum is not None and number > param.maximum:
        raise ValueError(f"{number} is above the maximum {param.maximum}")


def _to_bool(param: Param, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"{value!r} is not a boolean")


def _to_number(param: Param, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number")
    if param.kind in (INT, INTS):
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        value = int(value)
    else:
        value = float(value)
    _check_bounds(param, value)
    return value


def _to_list(param: Param, value: Any) -> tuple[Any, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"{value!r} is not a list of numbers")
    items = tuple(_to_number(param, v) for v in value)
    if param.length is not None and len(items) != param.length:
        raise ValueError(f"needs {param.length} values, got {len(items)}")
    return items


def _to_str(param: Param, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a string")
    return value


def _to_path(param: Param, value: Any) -> str:
    import os

    if not isinstance(value, str | os.PathLike):
        raise ValueError(f"{value!r} is not a file name")
    return os.fspath(value)


def _to_choice(param: Param, value: Any) -> Any:
    for choice in param.choices:
        same_text = isinstance(value, str) and isinstance(choice, str)
        if value == choice or (same_text and value.lower() == choice.lower()):
            return choice
    allowed = ", ".join(repr(c) for c in param.choices)
    raise ValueError(f"{value!r} is not one of {allowed}")


_CONVERTERS = {
    BOOL: _to_bool,
    INT: _to_number,
    FLOAT: _to_number,
    FLOATS: _to_list,
    INTS: _to_list,
    STR: _to_str,
    PATH: _to_path,
    CHOICE: _to_choice,
}


def reference_override(reftype: str) -> Param:
    """Return the ``override_<reftype>`` parameter of a step that reads that reference type.

    Parameters
    ----------
    reftype : str
        The CRDS reference type (``cubepar``, ``extract1d``, ``apcorr`` ...).

    Returns
    -------
    Param
        A nullable path parameter; ``N/A`` is accepted where jwst accepts it.
    """
    return Param(
        f"override_{reftype}", PATH, None,
        f"{reftype} reference file to use instead of the built-in default",
    )
