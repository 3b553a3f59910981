"""Run one step on files: load the inputs, call the pure step, write its products.

This is the glue under ``spec3nb step``: association or file list in, JWST-format products
out, with jwst's names. Every output name is checked before anything is written, inputs are
never overwritten, and each product is written atomically.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from spec3nb import naming
from spec3nb.asn import Association, association_from_files, read_association
from spec3nb.datamodels.io import prepare_reading, read_product, write_product
from spec3nb.datamodels.products import Product
from spec3nb.datamodels.references import load_reference
from spec3nb.errors import OutputError
from spec3nb.parallel import fork_map
from spec3nb.steps import get_step
from spec3nb.steps.spec import StepOutput, StepResult, StepSpec


@dataclasses.dataclass(frozen=True)
class Inputs:
    """The association and its members' products, in member order.

    Parameters
    ----------
    association : Association
        The association (built from the file list when files were given).
    products : tuple[Product, ...]
        One product per science or background member, with ``meta.asn`` filled as jwst's
        ModelContainer does (``exptype``, ``table_name``, ``pool_name``).
    """

    association: Association
    products: tuple[Product, ...]

    @property
    def science(self) -> tuple[Product, ...]:
        """The science members' products."""
        return tuple(p for p in self.products if p.get("asn.exptype") == "science")

    @property
    def template(self) -> str:
        """The product-name template of the association."""
        return self.association.product_name


def load_inputs(paths: Sequence[str | os.PathLike[str]], *, allow_outside: bool = False,
                readers: int = 1) -> Inputs:
    """Read an association (one ``.json`` path) or a list of product files.

    Parameters
    ----------
    paths : Sequence[str or os.PathLike]
        One association file, or product files.
    allow_outside : bool
        Accept association members outside the association's folder.
    readers : int
        Read the members in this many forked processes (:func:`read_products`): faster
        where reading dominates (NIRSpec MOS: 18 s to 11 s for 100 sources), but each
        reader holds about two copies of its file while it works (the peak of a 100-source
        MOS run rises from about 1.0 to 1.4 GB), so one reader, here, is the default.

    Returns
    -------
    Inputs
        The association and the members' products (science and background).
    """
    paths = [Path(p) for p in paths]
    if len(paths) == 1 and paths[0].suffix.lower() == ".json":
        asn = read_association(paths[0], allow_outside=allow_outside)
    else:
        asn = association_from_files(paths)
    table_name = asn.table_name
    members = [m for m in asn.members if m.exptype in ("science", "background")]
    products = []
    for member, product in zip(members, read_products([m.path for m in members], readers),
                               strict=True):
        changes: dict[str, Any] = {"asn.exptype": member.exptype}
        if table_name:
            changes["asn.table_name"] = table_name
        if asn.asn_pool:
            changes["asn.pool_name"] = asn.asn_pool
        products.append(product.evolve(meta=changes))
    return Inputs(asn, tuple(products))


def read_products(paths: Sequence[Path], processes: int | None = None) -> list[Product]:
    """Read product files, several at once in forked processes where that is safe.

    Reading is Python-bound (ASDF parsing and validation, building each slit's WCS), so
    threads would not help; a forked reader sends its product back pickled, which costs
    about a tenth of reading it. Where forking is unsafe (other threads running, as in a
    notebook) the files are read here one after the other.

    Parameters
    ----------
    paths : Sequence[Path]
        The files.
    processes : int, optional
        Reader processes (default: one per file, at most twice the CPUs).

    Returns
    -------
    list[Product]
        The products, in the order of `paths`.

    Raises
    ------
    InputFileError
        A file that cannot be read (the first one a reader came upon).
    """
    if len(paths) > 1:
        prepare_reading()  # imported once here, not once per reader
    if processes is None:
        # One reader per file up to twice the CPUs: with 3 files on 2 cores, 3 readers
        # share the cores to the end, where 2 would leave one core idle for a whole file.
        processes = min(len(paths), 2 * (os.cpu_count() or 1))
    return fork_map(read_product, list(paths), processes)


def output_names(result: StepResult, inputs: Inputs) -> list[str]:
    """Return the file name of each output of `result`, as jwst names them.

    Parameters
    ----------
    result : StepResult
        The step's result.
    inputs : Inputs
        What the step ran on.

    Returns
    -------
    list[str]
        One file name per output.
    """
    first_exp_type = inputs.science[0].exp_type if inputs.science else None
    names = []
    for output in result.outputs:
        names.append(_output_name(output, inputs, first_exp_type))
    naming.unique_names(names)
    return names


def _output_name(output: StepOutput, inputs: Inputs, exp_type: str | None) -> str:
    if output.origin is not None:
        source = inputs.products[output.origin]
        member_name = source.filename or inputs.association.members[output.origin].expname
        return naming.exposure_output_name(member_name, output.suffix,
                                           inputs.association.asn_id)
    fields = None
    if output.source is not None:
        fields = naming.source_fields(output.source, output.product, exp_type)
    return naming.product_output_name(inputs.template, output.suffix, fields)


def write_outputs(
    result: StepResult, inputs: Inputs, outdir: str | os.PathLike[str], *, overwrite: bool = False
) -> list[Path]:
    """Write every output of `result` into `outdir`.

    All names are checked first (unique, not an input file, not existing unless
    `overwrite`), so a refused run writes nothing.

    Parameters
    ----------
    result : StepResult
        The step's result.
    inputs : Inputs
        What the step ran on (for the names).
    outdir : str or os.PathLike
        The output folder (created when missing).
    overwrite : bool
        Replace existing outputs.

    Returns
    -------
    list[pathlib.Path]
        The files written.
    """
    outdir = Path(outdir)
    targets = [outdir / name for name in output_names(result, inputs)]
    protected = {m.path.resolve() for m in inputs.association.members}
    if inputs.association.path is not None:
        protected.add(inputs.association.path.resolve())
    for target in targets:
        if target.resolve() in protected:
            raise OutputError(f"{target}: is an input of this run and is never overwritten")
        if target.exists() and not overwrite:
            raise OutputError(f"{target}: exists already (use --overwrite to replace it)")
    return [write_product(o.product, t, overwrite=overwrite)
            for o, t in zip(result.outputs, targets, strict=True)]


def load_file_params(spec: StepSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """Read the files a step's path parameters name (``user_background``, ``output_wcs``).

    Parameters
    ----------
    spec : StepSpec
        The step.
    values : Mapping[str, Any]
        Its validated parameters.

    Returns
    -------
    dict[str, Any]
        What was read, by parameter name (only for the paths that were given).
    """
    loaded: dict[str, Any] = {}
    for name in spec.product_params:
        if values.get(name) is not None:
            path = Path(values[name])
            loaded[name] = read_product(path).evolve(meta={"filename": path.name})
    for name, reader in spec.file_params.items():
        value = values.get(name)
        if isinstance(value, str | os.PathLike) and str(value).strip():
            loaded[name] = reader(Path(value))
    return loaded


def run_step(
    name: str,
    paths: Sequence[str | os.PathLike[str]],
    outdir: str | os.PathLike[str],
    params: Mapping[str, Any] | None = None,
    *,
    overwrite: bool = False,
    allow_outside: bool = False,
) -> tuple[StepResult, list[Path]]:
    """Run step `name` on files and write its products.

    Parameters
    ----------
    name : str
        The step's jwst alias.
    paths : Sequence[str or os.PathLike]
        An association file or product files.
    outdir : str or os.PathLike
        Where to write the products.
    params : Mapping[str, Any], optional
        Parameter values (typed or strings).
    overwrite : bool
        Replace existing outputs.
    allow_outside : bool
        Accept association members outside the association's folder.

    Returns
    -------
    tuple[StepResult, list[pathlib.Path]]
        The step's result and the files written.
    """
    spec = get_step(name)
    values = spec.validate(params or {})  # bad parameters fail before any file is read
    references = {r: load_reference(r, values.pop(f"override_{r}"))
                  for r in spec.reference_types}
    values.update(load_file_params(spec, values))
    inputs = load_inputs(paths, allow_outside=allow_outside)
    extra = {"references": references} if spec.reference_types else {}
    result = spec.function(inputs.products, **values, **extra)
    return result, write_outputs(result, inputs, outdir, overwrite=overwrite)
