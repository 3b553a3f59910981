"""How calwebb_spec3 moves products from step to step, source by source.

Everything that flows between the session's nodes is a :class:`SourceSet`: the products of
each source (one source, keyed ``""``, before exp_to_source and in single-source modes).
A stage applies one step to every source through an executor; a failure on one source is
recorded on that source and the others go on. The rules of the official pipeline's control
flow (reference section 1.4) live here as small functions, one per kind of stage.
"""

from __future__ import annotations

import dataclasses
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from spec3nb import modes
from spec3nb.datamodels.products import Product
from spec3nb.parallel import Executor
from spec3nb.params import BOOL, Param
from spec3nb.steps.spec import COMPLETE, SKIPPED, StepOutput, StepResult, StepSpec

ERROR = "ERROR"
WHOLE = ""  # the key of the one source before exp_to_source


@dataclasses.dataclass(frozen=True)
class SourceData:
    """The state of one source after a step.

    Parameters
    ----------
    key : str
        The source key (``""`` before exp_to_source or in single-source modes).
    products : tuple[Product, ...]
        What the next step takes.
    exposures : tuple[Product, ...]
        The per-exposure products after the last per-exposure step (what extract_1d and
        combine_1d take when resampling did not complete).
    outputs : tuple[StepOutput, ...]
        What the step made (the products that get saved).
    status : str
        ``COMPLETE``, ``SKIPPED`` or ``ERROR``.
    reason : str
        Why it was skipped, or the error message.
    traceback : str
        The error's traceback.
    resampled : bool
        Whether resample_spec or cube_build completed for this source.
    stem : str
        The file-name stem of the source's combined products (the association's product
        name, with ``{source_id}``/``{slit_name}`` filled for a source of exp_to_source).
    stems, exposure_stems, output_stems : tuple[str, ...]
        The file-name stems of `products`, `exposures` and `outputs`: names follow the
        data (an exposure's products are named after the exposure, a cube's after its band).
    """

    key: str
    products: tuple[Product, ...]
    exposures: tuple[Product, ...] = ()
    outputs: tuple[StepOutput, ...] = ()
    status: str = COMPLETE
    reason: str = ""
    traceback: str = ""
    resampled: bool = False
    stem: str = ""
    stems: tuple[str, ...] = ()
    exposure_stems: tuple[str, ...] = ()
    output_stems: tuple[str, ...] = ()


class SourceSet(Mapping[str, SourceData]):
    """An immutable mapping of source key -> :class:`SourceData`, in source order."""

    def __init__(self, items: Sequence[SourceData], skipped_reason: str = "") -> None:
        self._items = MappingProxyType({item.key: item for item in items})
        self.skipped_reason = skipped_reason

    def __getitem__(self, key: str) -> SourceData:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def errors(self) -> dict[str, str]:
        """Error messages of the sources that failed, by key."""
        return {k: d.reason for k, d in self._items.items() if d.status == ERROR}

    @property
    def status(self) -> str:
        """``SKIPPED`` when every source that has not failed skipped the step."""
        alive = [d for d in self._items.values() if d.status != ERROR]
        if alive and all(d.status == SKIPPED for d in alive):
            return SKIPPED
        return COMPLETE

    @property
    def reason(self) -> str:
        """A one-line summary of skips and failures."""
        errors = self.errors
        if errors:
            first = next(iter(errors.items()))
            return f"{len(errors)} of {len(self)} sources failed ({first[0] or 'all'}: " \
                   f"{first[1]})"
        if self.status == SKIPPED:
            return next(iter(self._items.values())).reason
        return ""

    def __repr__(self) -> str:
        return f"<SourceSet {len(self)} source(s), {len(self.errors)} failed>"


def initial(products: Sequence[Product], stems: Sequence[str], stem: str) -> SourceSet:
    """The source set of an association: one source holding every member's product.

    Parameters
    ----------
    products : Sequence[Product]
        The members' products.
    stems : Sequence[str]
        Each member's file name without its suffix.
    stem : str
        The association's product name.

    Returns
    -------
    SourceSet
        One source, keyed ``""``.
    """
    products, stems = tuple(products), tuple(stems)
    return SourceSet([SourceData(WHOLE, products, products, stem=stem, stems=stems,
                                 exposure_stems=stems)])


def _output_stems(result: StepResult, stems: Sequence[str], stem: str) -> tuple[str, ...]:
    """Stems of a step's outputs: after their input for per-input ones, else the source's.

    A suffix with a band in front (cube_build's ``ch1-short_s3d``) adds the band.
    """
    found = []
    for output in result.outputs:
        base = stems[output.origin] if output.origin is not None else stem
        band, _, kind = output.suffix.rpartition("_")
        if band and kind in ("s3d", "x1d"):
            # A NIRSpec grating at the end of the product name is replaced by the cube's
            # grating-filter string, as jwst's cube_build names cubes.
            head, _, last = base.rpartition("_")
            if head and last in NIRSPEC_GRATINGS:
                base = head
            found.append(f"{base}_{band}")
        else:
            found.append(base)
    return tuple(found)


NIRSPEC_GRATINGS = frozenset({"g140m", "g235m", "g395m", "g140h", "g235h", "g395h", "prism"})


def first_failures(outputs: Iterable[tuple[str, Any]]) -> dict[str, dict[str, str]]:
    """Per step, the sources that failed there and why, from ``(step, output)`` pairs in
    pipeline order: a source is listed under the first step where it failed only (a
    failed source is not processed further, so later steps repeat its error).

    Parameters
    ----------
    outputs : Iterable[tuple[str, Any]]
        Step name and output; outputs that are not a :class:`SourceSet` are ignored.

    Returns
    -------
    dict[str, dict[str, str]]
        ``{step: {source key: message}}``, only steps with new failures.
    """
    found: dict[str, dict[str, str]] = {}
    seen: set[str] = set()
    for step, output in outputs:
        if not isinstance(output, SourceSet):
            continue
        new = {k: v for k, v in output.errors.items() if k not in seen}
        if new:
            found[step] = new
            seen.update(new)
    return found


def outputs_with_stems(data: SourceData) -> list[tuple[str, StepOutput]]:
    """``(file name, output)`` for every output of a source."""
    named = []
    for stem, output in zip(data.output_stems, data.outputs, strict=True):
        suffix = output.suffix.rpartition("_")[2]
        named.append((f"{stem}_{suffix}.fits", output))
    return named


Run = Callable[[SourceData], SourceData]


def _guarded(run: Run) -> Run:
    """Wrap a per-source function so that an exception becomes that source's error."""
    def guarded(data: SourceData) -> SourceData:
        try:
            return run(data)
        except Exception as exc:  # reported on the source; other sources go on
            return dataclasses.replace(
                data, outputs=(), output_stems=(), status=ERROR,
                reason=f"{type(exc).__name__}: {exc}",
                traceback="".join(traceback.format_exception(exc)))
    return guarded


def map_sources(upstream: SourceSet, run: Run, executor: Executor) -> SourceSet:
    """Apply `run` to every source that has not failed; failed sources stay failed."""
    alive = [d for d in upstream.values() if d.status != ERROR]
    done = {d.key: d for d in executor.map(_guarded(run), alive)}
    # A source that failed upstream stays failed, with nothing made at this step.
    return SourceSet([done.get(k) or dataclasses.replace(d, outputs=(), output_stems=())
                      for k, d in upstream.items()])


def call_step(spec: StepSpec, products: Sequence[Product], params: Mapping[str, Any],
              references: Mapping[str, Any] | None) -> StepResult:
    """Call a step's function with its parameters (and references when it takes them)."""
    extra = {"references": dict(references or {})} if spec.reference_types else {}
    return spec.function(tuple(products), **params, **extra)


def passthrough_stage(spec: StepSpec, params: Mapping[str, Any],
                      references: Mapping[str, Any] | None = None) -> Run:
    """A per-exposure step (assign_mtwcs, mrs_imatch, outlier_detection ...).

    Its outputs replace the source's products and exposures; a skipped step passes the
    products on unchanged.
    """
    def run(data: SourceData) -> SourceData:
        result = call_step(spec, data.products, params, references)
        if result.status == SKIPPED:
            return dataclasses.replace(data, outputs=(), output_stems=(), status=SKIPPED,
                                       reason=result.reason)
        products = result.products
        stems = _output_stems(result, data.stems, data.stem)
        return dataclasses.replace(data, products=products, exposures=products, stems=stems,
                                   exposure_stems=stems, outputs=result.outputs,
                                   output_stems=stems, status=COMPLETE, reason="")
    return run


def science_only(products: Sequence[Product]) -> tuple[Product, ...]:
    """Drop the association's background members (the pipeline does after master_background)."""
    return tuple(p for p in products if p.get("asn.exptype") != "background")


def background_stage(spec: StepSpec, params: Mapping[str, Any],
                     references: Mapping[str, Any] | None = None) -> Run:
    """master_background: science and background members in, background-subtracted science out."""
    def run(data: SourceData) -> SourceData:
        result = call_step(spec, data.products, params, references)
        keep = [i for i, p in enumerate(data.products) if p.get("asn.exptype") != "background"]
        science = tuple(data.products[i] for i in keep)
        science_stems = tuple(data.stems[i] for i in keep)
        if result.status == SKIPPED:
            return dataclasses.replace(data, products=science, exposures=science,
                                       stems=science_stems, exposure_stems=science_stems,
                                       outputs=(), output_stems=(), status=SKIPPED,
                                       reason=result.reason)
        stems = _output_stems(result, data.stems, data.stem)
        subtracted = tuple(o.product for o in result.outputs if o.suffix == "mbsub")
        sub_stems = tuple(st for st, o in zip(stems, result.outputs, strict=True)
                          if o.suffix == "mbsub")
        return dataclasses.replace(data, products=subtracted, exposures=subtracted,
                                   stems=sub_stems, exposure_stems=sub_stems,
                                   outputs=result.outputs, output_stems=stems,
                                   status=COMPLETE, reason="")
    return run


def resample_stage(spec: StepSpec, params: Mapping[str, Any],
                   references: Mapping[str, Any] | None = None) -> Run:
    """resample_spec or cube_build: exposures in, one or more resampled products out."""
    def run(data: SourceData) -> SourceData:
        result = call_step(spec, data.products, params, references)
        if result.status == SKIPPED:
            return dataclasses.replace(data, outputs=(), output_stems=(), status=SKIPPED,
                                       reason=result.reason, resampled=False)
        # Resampled products are named after the source (and a cube after its band too).
        stems = _output_stems(result, [data.stem] * len(data.products), data.stem)
        return dataclasses.replace(data, products=result.products, stems=stems,
                                   outputs=result.outputs, output_stems=stems,
                                   status=COMPLETE, reason="", resampled=True)
    return run


def extract_stage(spec: StepSpec, params: Mapping[str, Any],
                  references: Mapping[str, Any] | None = None) -> Run:
    """extract_1d: on the resampled products when resampling completed, else on exposures."""
    def run(data: SourceData) -> SourceData:
        inputs, stems = ((data.products, data.stems) if data.resampled
                         else (data.exposures, data.exposure_stems))
        result = call_step(spec, inputs, params, references)
        status = SKIPPED if result.status == SKIPPED else COMPLETE
        out_stems = _output_stems(result, stems, data.stem)
        return dataclasses.replace(data, products=result.products, stems=out_stems,
                                   outputs=result.outputs, output_stems=out_stems,
                                   status=status, reason=result.reason)
    return run


def combine_stage(spec: StepSpec, params: Mapping[str, Any],
                  references: Mapping[str, Any] | None = None, *,
                  always: bool = False) -> Run:
    """combine_1d: always for slitless modes; for the others only when resampling failed."""
    def run(data: SourceData) -> SourceData:
        if data.resampled and not always:
            return dataclasses.replace(data, outputs=(), output_stems=(), status=SKIPPED,
                                       reason="resampling completed: nothing to combine")
        result = call_step(spec, data.products, params, references)
        if result.status == SKIPPED:
            return dataclasses.replace(data, outputs=(), output_stems=(), status=SKIPPED,
                                       reason=result.reason)
        stems = (data.stem,) * len(result.outputs)
        return dataclasses.replace(data, products=result.products, stems=stems,
                                   outputs=result.outputs, output_stems=stems,
                                   status=COMPLETE, reason="")
    return run


def leak_stage(spec: StepSpec, params: Mapping[str, Any],
               references: Mapping[str, Any] | None = None) -> Run:
    """spectral_leak (MIRI MRS): on the cubes' x1d products, only when cube_build completed
    (jwst runs it in that branch only); its x1d products keep extract_1d's names."""
    correct = passthrough_stage(spec, params, references)

    def run(data: SourceData) -> SourceData:
        if not data.resampled:
            return dataclasses.replace(data, outputs=(), output_stems=(), status=SKIPPED,
                                       reason="cube_build did not complete: no x1d to correct")
        return correct(data)
    return run


def split_sources(spec: StepSpec, upstream: SourceSet,
                  source_stem: Callable[[str, Product], str]) -> SourceSet:
    """exp_to_source: the one source of the association becomes one source per slit source.

    Parameters
    ----------
    spec : StepSpec
        The exp_to_source step.
    upstream : SourceSet
        The association's one source.
    source_stem : callable
        ``source_stem(key, source_product)``: the file-name stem of a source's products.

    Returns
    -------
    SourceSet
        One source per key.
    """
    whole = upstream[WHOLE]
    if whole.status == ERROR:
        return upstream
    result = call_step(spec, science_only(whole.products), {}, None)
    items = []
    for output in result.outputs:
        products = (output.product,)
        stem = source_stem(output.source, output.product)
        items.append(SourceData(output.source, products, products, (output,), stem=stem,
                                stems=(stem,), exposure_stems=(stem,), output_stems=(stem,)))
    if not items:
        raise ValueError("exp_to_source found no sources in the exposures")
    return SourceSet(items)


#: Steps the official pipeline has but skips unless asked (``skip=False``): pixel_replace,
#: and mrs_imatch, which jwst skipped by default from 1.16 until it removed the step.
OPTIONAL_STEPS = frozenset({"pixel_replace", "mrs_imatch"})
SKIP_PARAM = Param("skip", BOOL, True, "skip this step (as calwebb_spec3 does by default)")


def skipped_stage(name: str) -> Run:
    """A stage that passes the products on untouched (an optional step left off)."""
    def run(data: SourceData) -> SourceData:
        return dataclasses.replace(data, outputs=(), output_stems=(), status=SKIPPED,
                                   reason=f"{name} is skipped by default (set skip=False)")
    return run


def session_steps(mode: modes.Mode, *, moving: bool, background: bool,
                  available: Mapping[str, StepSpec]) -> tuple[str, ...]:
    """The nodes of a mode's session, in order: the step table plus what jwst 3.0.0 adds.

    Parameters
    ----------
    mode : Mode
        The mode.
    moving, background : bool
        Moving target; background members in the association.
    available : Mapping[str, StepSpec]
        The implemented steps (optional steps appear only when implemented).

    Returns
    -------
    tuple[str, ...]
        Step names.
    """
    names = list(modes.steps_for(mode, moving=moving, background=background))
    if "resample_spec" in names and "combine_1d" not in names:
        # The official fallback: when resampling does not complete, the exposures are
        # extracted one by one and combined (the node skips itself otherwise).
        names.append("combine_1d")
    if mode.name == "nis_soss" and "photom" not in names:
        names.insert(names.index("extract_1d") + 1, "photom")  # SOSS x1d calibrated in spec3
    if "pixel_replace" in available:
        # pixel_replace runs after outlier detection (before extraction in slitless modes).
        anchor = "outlier_detection" if "outlier_detection" in names else None
        at = names.index(anchor) + 1 if anchor else names.index("extract_1d")
        names.insert(at, "pixel_replace")
    return tuple(names)
