"""How a step is declared: its parameters, its pure function and what it produces.

The declaration is the single source of truth for a step's parameters: the command line,
the graph nodes (traits) and the widgets are all generated from :attr:`StepSpec.params`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from spec3nb.datamodels.products import Product
from spec3nb.errors import ParameterError
from spec3nb.params import Param, reference_override

COMPLETE, SKIPPED = "COMPLETE", "SKIPPED"


@dataclasses.dataclass(frozen=True)
class StepOutput:
    """One product a step made.

    Parameters
    ----------
    product : Product
        The product.
    suffix : str
        The file-name suffix jwst gives it (``crf``, ``s2d``, ``x1d``, ``cal`` ...).
    origin : int, optional
        Index of the input it was made from, for per-exposure products (named after that
        input); None for products that combine inputs (named after the association product).
    source : str, optional
        The source key (``source_id``, or ``source_name`` for MOS) of a per-source product,
        from which the product-name template's ``{source_id}`` and ``{slit_name}`` are filled.
    """

    product: Product
    suffix: str
    origin: int | None = None
    source: str | None = None


@dataclasses.dataclass(frozen=True)
class StepResult:
    """What a step returned: its outputs, whether it ran, and why not if it was skipped.

    Parameters
    ----------
    outputs : tuple[StepOutput, ...]
        The products (for a skipped step: usually the inputs, unchanged).
    status : str
        ``COMPLETE`` or ``SKIPPED``.
    reason : str
        Why the step was skipped (empty when it ran).
    """

    outputs: tuple[StepOutput, ...]
    status: str = COMPLETE
    reason: str = ""

    @property
    def products(self) -> tuple[Product, ...]:
        """The output products, in order."""
        return tuple(o.product for o in self.outputs)


StepFunction = Callable[..., StepResult]


@dataclasses.dataclass(frozen=True)
class StepSpec:
    """Declaration of one Stage-3 step.

    Parameters
    ----------
    name : str
        The jwst step alias (``outlier_detection``, ``extract_1d`` ...).
    summary : str
        One line describing the step.
    function : callable
        ``function(inputs: Sequence[Product], **params) -> StepResult``; pure: it never
        modifies its inputs and touches no files. A step with `reference_types` also takes
        ``references: Mapping[str, Any]``: the loaded reference of each type, ``"N/A"`` for
        none, or None for the built-in default (the caller loads the files).
    params : tuple[Param, ...]
        The step's own parameters.
    reference_types : tuple[str, ...]
        CRDS reference types the step reads; each adds an ``override_<reftype>`` parameter.
    jwst_class : str, optional
        Dotted path of the jwst 3.0.0 step class, whose defaults the tests compare with ours.
    product_params : tuple[str, ...]
        Path parameters whose file is a product the caller reads and passes to the
        function instead of the path (master_background's ``user_background``).
    file_params : Mapping[str, Callable]
        Other path parameters whose file the caller reads, each with its reader, and passes
        to the function instead of the path (resample_spec's ``output_wcs``).
    """

    name: str
    summary: str
    function: StepFunction
    params: tuple[Param, ...] = ()
    reference_types: tuple[str, ...] = ()
    jwst_class: str | None = None
    product_params: tuple[str, ...] = ()
    file_params: Mapping[str, Callable[[Path], Any]] = dataclasses.field(
        default_factory=lambda: MappingProxyType({}))

    @property
    def all_params(self) -> Mapping[str, Param]:
        """Every parameter, own ones first, then the reference overrides, by name."""
        params = list(self.params) + [reference_override(r) for r in self.reference_types]
        return MappingProxyType({p.name: p for p in params})

    def defaults(self) -> dict[str, Any]:
        """Return the default value of every parameter."""
        return {name: p.default for name, p in self.all_params.items()}

    def validate(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Return the full, typed parameter set with `values` applied over the defaults.

        Parameters
        ----------
        values : Mapping[str, Any]
            Parameter values, typed or as strings (``"5.0 4.0"``, ``"true"``).

        Returns
        -------
        dict[str, Any]
            Every parameter with its typed value.

        Raises
        ------
        ParameterError
            For an unknown name (with the known ones listed) or a bad value.
        """
        params = self.all_params
        result = self.defaults()
        for name, value in values.items():
            if name not in params:
                known = ", ".join(params) or "none"
                raise ParameterError(self.name, name, f"unknown parameter (known: {known})")
            try:
                result[name] = params[name].coerce(value)
            except ValueError as exc:
                raise ParameterError(self.name, name, str(exc)) from None
        return result

    def run(self, inputs: Sequence[Product], references: Mapping[str, Any] | None = None,
            **values: Any) -> StepResult:
        """Validate the parameters and run the step function.

        Parameters
        ----------
        inputs : Sequence[Product]
            The input products.
        references : Mapping[str, Any], optional
            Loaded references by type (see
            :func:`spec3nb.datamodels.references.load_reference`).
        **values : Any
            Parameter values (see :meth:`validate`), without ``override_<reftype>``.

        Returns
        -------
        StepResult
            What the step produced.
        """
        values = self.validate(values)
        for reftype in self.reference_types:
            if values.pop(f"override_{reftype}") is not None:
                raise ParameterError(self.name, f"override_{reftype}",
                                     "give the loaded reference in references= instead")
        extra = {"references": dict(references or {})} if self.reference_types else {}
        return self.function(tuple(inputs), **values, **extra)
