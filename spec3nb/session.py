"""Spec3Session: the calwebb_spec3 pipeline of one association as a reactive graph.

The session detects the mode from the first science member, asks :mod:`spec3nb.modes` which
steps that mode runs, and wires one node per step (plus an ``inputs`` node). Each node maps
its step over the sources (:mod:`spec3nb.pipeline`); changing a parameter re-runs that node
and what depends on it, nothing else. ``save`` writes the products calwebb_spec3 writes,
with its names.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from spec3nb import modes, naming, pipeline
from spec3nb.datamodels.io import write_job
from spec3nb.datamodels.products import Product
from spec3nb.datamodels.references import load_reference
from spec3nb.errors import ModeError, OutputError
from spec3nb.graph import Graph, Node
from spec3nb.parallel import as_executor, fork_map
from spec3nb.runner import Inputs, load_file_params, load_inputs
from spec3nb.steps import STEPS
from spec3nb.steps.spec import StepSpec

#: The MIME type of the session summary (rendered by the spec3nb JupyterLab extension).
MIME_TYPE = "application/vnd.spec3nb.session+json"

# Reference files the simulator writes beside its data, and the parameter each one fills.
_REFERENCE_FILES = (
    ("*_cubepar.fits", "cube_build", "override_cubepar"),
    ("*_sosstrace.json", "extract_1d", "override_sosstrace"),
)

#: Steps whose products calwebb_spec3 saves (master_background, assign_mtwcs and
#: mrs_imatch products are intermediate).
SAVED_STEPS = frozenset({"exp_to_source", "outlier_detection", "resample_spec", "cube_build",
                         "extract_1d", "photom", "combine_1d", "spectral_leak"})


class Spec3Session:
    """The Stage-3 pipeline of one association, as a graph of step nodes.

    Parameters
    ----------
    inputs : Inputs
        The association and its members' products (see :func:`spec3nb.runner.load_inputs`).
    executor : Any, optional
        Where per-source work runs: None (local threads), a ``dask.distributed.Client``, or
        an object with ``map(fn, items)``.
    auto : bool
        Recompute by itself after every change (notebooks); False waits for :meth:`run`.
    steps : Mapping[str, StepSpec], optional
        The step implementations (default: every implemented step).
    """

    def __init__(self, inputs: Inputs, *, executor: Any = None, auto: bool = False,
                 steps: Mapping[str, StepSpec] | None = None) -> None:
        self.inputs = inputs
        self.executor = as_executor(executor)
        self._steps = STEPS if steps is None else steps
        science = inputs.science
        tso = bool(science and science[0].get("visit.tsovisit"))
        self.mode = modes.detect_mode([p.exp_type for p in science], tso=tso)
        moving = bool(science) and str(science[0].get("target.type", "")).lower() == "moving"
        background = any(p.get("asn.exptype") == "background" for p in inputs.products)
        names = pipeline.session_steps(self.mode, moving=moving, background=background,
                                       available=self._steps)
        self.step_names = names
        missing = [s for s in self.step_names if s not in self._steps]
        if missing:
            raise ModeError(f"{self.mode.label}: spec3nb does not implement "
                            f"{', '.join(missing)} yet")
        self.graph = Graph(auto=False)
        self._build()
        self.graph.auto = auto

    # ---------------------------------------------------------------- construction

    @classmethod
    def from_asn(cls, path: str | os.PathLike[str], *, allow_outside: bool = False,
                 readers: int = 1, **options: Any) -> Spec3Session:
        """Open a Level-3 association (``*_asn.json``); `readers` forked processes read its
        members (see :func:`spec3nb.runner.load_inputs`)."""
        return cls(load_inputs([path], allow_outside=allow_outside, readers=readers),
                   **options)

    @classmethod
    def from_files(cls, paths: Sequence[str | os.PathLike[str]], **options: Any
                   ) -> Spec3Session:
        """Open a list of ``_cal`` files (all science members)."""
        return cls(load_inputs(paths), **options)

    @classmethod
    def from_simulation(cls, folder_or_asn: str | os.PathLike[str], **options: Any
                        ) -> Spec3Session:
        """Open a dataset written by ``spec3nb simulate`` (its folder or its association)."""
        path = Path(folder_or_asn)
        if path.is_dir():
            found = sorted(path.glob("*_asn.json"))
            if len(found) != 1:
                raise ModeError(f"{path}: expected one *_asn.json, found {len(found)}")
            path = found[0]
        auto = options.pop("auto", False)
        session = cls.from_asn(path, **options)
        session.use_references(path.parent)  # before any run, so nothing runs twice
        session.graph.auto = auto
        return session

    def use_references(self, folder: str | os.PathLike[str]) -> dict[str, str]:
        """Point the steps at reference files found in `folder` (``*_cubepar.fits``,
        ``*_sosstrace.json``, as the simulator writes them); return what was set.

        Parameters
        ----------
        folder : str or os.PathLike
            Where to look.

        Returns
        -------
        dict[str, str]
            ``{"step.override_<reftype>": path}`` for each file used.
        """
        used = {}
        with self.hold():
            for pattern, step, param in _REFERENCE_FILES:
                found = sorted(Path(folder).glob(pattern))
                if found and step in self.step_names and param in self[step].params():
                    self[step].set_param(param, str(found[0]))
                    used[f"{step}.{param}"] = str(found[0])
        return used

    def _build(self) -> None:
        members = [m for m in self.inputs.association.members
                   if m.exptype in ("science", "background")]
        pairs = list(zip(self.inputs.products, members, strict=True))
        if "master_background" not in self.step_names:
            # Background members are for master_background only; without it they go.
            pairs = [(p, m) for p, m in pairs if m.exptype == "science"]
        products = [p for p, _ in pairs]
        stems = [naming.file_root(m.expname) for _, m in pairs]
        template = self.inputs.template
        self.graph.add("inputs", lambda: pipeline.initial(products, stems, template))
        upstream = "inputs"
        for name in self.step_names:
            spec = self._steps[name]
            params = tuple(spec.all_params.values())
            if name in pipeline.OPTIONAL_STEPS:
                params = (*params, pipeline.SKIP_PARAM)
            self.graph.add(name, self._compute(name, spec), inputs=[upstream], params=params,
                           **self._pipeline_settings(spec))
            upstream = name

    def _source_stem(self, key: str, source: Product) -> str:
        fields = naming.source_fields(key, source, self.mode.exp_type)
        return naming.format_product(self.inputs.template, **fields)

    def _pipeline_settings(self, spec: StepSpec) -> dict[str, Any]:
        """Parameter values the official pipeline sets itself (outlier_detection's mode)."""
        if spec.name == "outlier_detection" and "mode" in spec.all_params:
            return {"mode": "ifu" if self.mode.kind == "ifu" else "spec"}
        return {}

    def _compute(self, name: str, spec: StepSpec):
        executor, slitless = self.executor, self.mode.slitless
        source_stem = self._source_stem

        def compute(upstream: pipeline.SourceSet, **values: Any) -> pipeline.SourceSet:
            references = {r: load_reference(r, values.pop(f"override_{r}"))
                          for r in spec.reference_types}
            values.update(load_file_params(spec, values))
            if name in pipeline.OPTIONAL_STEPS and values.pop("skip"):
                return pipeline.map_sources(upstream, pipeline.skipped_stage(name), executor)
            if name == "exp_to_source":
                return pipeline.split_sources(spec, upstream, source_stem)
            stage = _stage_for(name, slitless)(spec, values, references)
            return pipeline.map_sources(upstream, stage, executor)

        compute.__name__ = f"compute_{name}"
        return compute

    # ---------------------------------------------------------------- use

    def __getitem__(self, step: str) -> Node:
        """The node of `step` (``session["extract_1d"].extract_width = 7``)."""
        if step not in self.graph:
            raise KeyError(f"{self.mode.label} has no step {step!r} "
                           f"(steps: {', '.join(self.step_names)})")
        return self.graph[step]

    @property
    def nodes(self) -> tuple[Node, ...]:
        """The step nodes, in pipeline order."""
        return tuple(self.graph[n] for n in self.step_names)

    def hold(self) -> contextlib.AbstractContextManager[None]:
        """Make several parameter edits one change."""
        return self.graph.hold()

    def run(self) -> Spec3Session:
        """Compute everything that is stale now (raises the first node error)."""
        self.graph.run()
        return self

    def wait(self, timeout: float = 60.0) -> bool:
        """In auto mode, wait until the graph has settled."""
        return self.graph.wait(timeout)

    @property
    def errors(self) -> dict[str, dict[str, str]]:
        """Per step, the sources that failed there and why (each source under the step
        where it failed; a failed source is not processed further)."""
        return pipeline.first_failures((n.name, n.output) for n in self.nodes)

    @property
    def products(self) -> dict[str, Product]:
        """The products calwebb_spec3 would save, by file name (after :meth:`run`)."""
        if self.mode.kind == "wfss":
            return self._wfss_products()
        return self.products_of({n.name: n.output for n in self.nodes},
                                done={n.name for n in self.nodes if n.status == "done"})

    def products_of(self, outputs: Mapping[str, Any], done: set[str]) -> dict[str, Product]:
        """The products to save from the given step outputs (not for WFSS, which packs
        all sources into one file).

        Parameters
        ----------
        outputs : Mapping[str, Any]
            Step name -> its output (a :class:`~spec3nb.pipeline.SourceSet` of some or all
            sources; other values are ignored).
        done : set[str]
            The steps that completed (not skipped, not failed as a whole).

        Returns
        -------
        dict[str, Product]
            File name -> product.
        """
        found: dict[str, Product] = {}
        names: list[str] = []
        asn_id = self.inputs.association.asn_id
        for step in self.step_names:
            output = outputs.get(step)
            if step not in SAVED_STEPS or not isinstance(output, pipeline.SourceSet):
                continue
            if step == "extract_1d" and ({"photom", "spectral_leak"} & done):
                # The calibrated x1d (photom's) or the 3A-corrected ones (spectral_leak's)
                # replace the extracted ones.
                continue
            for data in output.values():
                for name, saved in pipeline.outputs_with_stems(data):
                    if saved.suffix == "crf" and asn_id and not name.startswith(data.stem):
                        # Exposure-based crf files carry the association id, as in jwst.
                        name = f"{name[: -len('_crf.fits')]}_{asn_id}_crf.fits"
                    names.append(naming.check_file_name(name))
                    found[name] = saved.product
        naming.unique_names(names)
        return found

    def _wfss_products(self) -> dict[str, Product]:
        """WFSS: one x1d and one c1d holding every source, as calwebb_spec3 packs them."""
        from spec3nb.steps.wfss_package import package_c1d, package_x1d

        found: dict[str, Product] = {}
        template = self.inputs.template
        for step, suffix, pack in (("extract_1d", "x1d", package_x1d),
                                   ("combine_1d", "c1d", package_c1d)):
            output = self[step].output
            if not isinstance(output, pipeline.SourceSet):
                continue
            products = [o.product for d in output.values() for o in d.outputs]
            if not products:
                continue
            if suffix == "x1d":
                found[f"{template}_x1d.fits"] = pack(products, self.inputs.science)
            else:
                found[f"{template}_c1d.fits"] = pack(products)
        return found

    def save(self, outdir: str | os.PathLike[str], *, overwrite: bool = False,
             processes: int | None = 1) -> list[Path]:
        """Write the products into `outdir` (after running what is stale).

        Parameters
        ----------
        outdir : str or os.PathLike
            The folder.
        overwrite : bool
            Replace existing files.
        processes : int, optional
            Write in this many forked processes (None: one per CPU; ``spec3nb run
            --writers N``, where that is the default; writing is
            Python-bound, threads would not help, and each process adds the memory of the
            products it converts). Ignored where forking is unsafe, e.g. with other threads
            running (notebooks).

        Returns
        -------
        list[pathlib.Path]
            The files written.
        """
        self.run()
        outdir = Path(outdir)
        products = self.products
        for name in products:
            if (outdir / name).exists() and not overwrite:
                raise OutputError(f"{outdir / name}: exists already (use overwrite)")
        jobs = [(p, outdir / n, overwrite) for n, p in products.items()]
        outdir.mkdir(parents=True, exist_ok=True)  # once, not raced by the writers
        return fork_map(write_job, jobs, processes)

    def summary(self) -> list[dict[str, Any]]:
        """One row per step: status, seconds, message."""
        return [{"step": n.name, "status": n.status, "seconds": n.duration,
                 "message": n.message} for n in self.nodes]

    def summary_document(self) -> dict[str, Any]:
        """The session as plain data: what the ``application/vnd.spec3nb.session+json``
        output holds (the pipeline with node statuses and the products), so that a saved
        notebook still shows the pipeline when its widgets are gone.

        Returns
        -------
        dict
            ``{"version": 1, "mode": ..., "mode_label": ..., "association": ...,
            "exposures": n, "nodes": [{"name", "status", "seconds", "message",
            "errors": {source: message}}], "products": [file names]}``.
        """
        products = []
        with contextlib.suppress(Exception):  # products of a half-run graph may not exist
            products = sorted(self.products)
        nodes = []
        for node in self.nodes:
            errors = node.output.errors if isinstance(node.output, pipeline.SourceSet) else {}
            nodes.append({"name": node.name, "status": node.status,
                          "seconds": node.duration, "message": node.message,
                          "errors": dict(errors)})
        asn = self.inputs.association
        return {"version": 1, "mode": self.mode.name, "mode_label": self.mode.label,
                "association": asn.path.name if asn.path else None,
                "product_name": self.inputs.template,
                "exposures": len(self.inputs.science), "nodes": nodes, "products": products}

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {MIME_TYPE: self.summary_document(), "text/plain": repr(self)}

    def __repr__(self) -> str:
        steps = ", ".join(f"{n.name}: {n.status}" for n in self.nodes)
        return f"<Spec3Session {self.mode.label}, {len(self.inputs.science)} exposures: {steps}>"


def _stage_for(name: str, slitless: bool):
    """The kind of stage a step is in the pipeline's control flow."""
    if name == "master_background":
        return pipeline.background_stage
    if name in ("resample_spec", "cube_build"):
        return pipeline.resample_stage
    if name == "extract_1d":
        return pipeline.extract_stage
    if name == "spectral_leak":
        return pipeline.leak_stage
    if name == "combine_1d":
        return lambda spec, values, refs: pipeline.combine_stage(
            spec, values, refs, always=slitless)
    return pipeline.passthrough_stage
