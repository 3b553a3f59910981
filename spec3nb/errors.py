"""Exceptions raised by spec3nb.

Every error names what is wrong and where (the file, the extension, the parameter), so that
the command line can print it as one line and the notebook can show it on the node that
failed.
"""

from __future__ import annotations

from typing import Any


class Spec3Error(Exception):
    """Base class of every error spec3nb raises on purpose."""


class InputFileError(Spec3Error):
    """An input file is missing, unreadable or not a product spec3 can take."""

    def __init__(self, path: object, problem: str, extension: str | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        self.extension = extension
        where = f"{self.path} [{extension}]" if extension else self.path
        super().__init__(f"{where}: {problem}")

    def __reduce__(self) -> tuple[Any, ...]:  # pickled by the arguments (forked readers)
        return type(self), (self.path, self.problem, self.extension)


class AssociationError(Spec3Error):
    """A Level-3 association is malformed or points where it may not."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"association {self.path}: {problem}")

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.path, self.problem)


class ModeError(Spec3Error):
    """The exposures belong to no mode spec3 handles (TSO, mixed or unknown EXP_TYPE)."""


class ParameterError(Spec3Error):
    """A step parameter has an unknown name or a value of the wrong type or range."""

    def __init__(self, step: str, name: str, problem: str) -> None:
        self.step = step
        self.name = name
        self.problem = problem
        super().__init__(f"{step}: parameter '{name}': {problem}")

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.step, self.name, self.problem)


class OutputError(Spec3Error):
    """An output cannot be written (it exists, or its name is not allowed)."""
