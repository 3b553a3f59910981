"""Streamed runs: many sources computed and written a batch at a time.

A session's graph keeps every node's output, which is what makes a re-run after a
parameter change cheap. A batch run of hundreds of NIRSpec MOS sources has no use for
that: it would hold every source's products until the last step and only then write them.
Here the graph runs up to exp_to_source once; each batch of sources then goes through the
remaining steps (the nodes' own compute functions, with the nodes' current parameters, so
the numbers are the graph's), and the batch's products are written by forked writers
while the next batch computes. Only a batch or two of products is in memory at a time,
and the writing overlaps the computing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spec3nb import pipeline
from spec3nb.datamodels.io import write_job
from spec3nb.errors import OutputError
from spec3nb.graph import GraphError
from spec3nb.parallel import ForkedJobs

#: Sources per batch in ``spec3nb run``: a few keep the threads busy; a larger
#: batch only costs memory (56 MOS sources: 8 per batch peaked about 40 MiB higher, and
#: above jwst's, for 1 s less).
DEFAULT_BATCH = 4


@dataclass
class BatchDone:
    """Progress of a streamed run: one batch computed.

    Attributes
    ----------
    first, last : int
        1-based positions of the batch's first and last source.
    total : int
        Sources in the run.
    failed : dict[str, dict[str, str]]
        Failures of this batch: ``{step: {source: message}}``.
    """

    first: int
    last: int
    total: int
    failed: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class StreamReport:
    """What a streamed run wrote and which sources failed where."""

    paths: list[Path] = field(default_factory=list)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)


def can_stream(session: Any, batch: int) -> bool:
    """Whether `session` would gain from a streamed run in batches of `batch` sources:
    a mode with exp_to_source (not WFSS, whose products hold every source) and more
    sources than one batch.

    Parameters
    ----------
    session : Spec3Session
        The session (nothing is computed beyond exp_to_source).
    batch : int
        Sources per batch (0 or less: never stream).
    """
    if batch <= 0 or "exp_to_source" not in session.step_names or \
            session.mode.kind == "wfss":
        return False
    session.graph.run(["exp_to_source"])
    return len(session["exp_to_source"].output) > batch


def later_steps(session: Any) -> list[str]:
    """The steps a batch goes through: those after exp_to_source, in order."""
    names = session.step_names
    return list(names[names.index("exp_to_source") + 1:])


def _batches(sources: pipeline.SourceSet, batch: int) -> Iterator[pipeline.SourceSet]:
    keys = list(sources)
    for start in range(0, len(keys), batch):
        yield pipeline.SourceSet([sources[k] for k in keys[start:start + batch]],
                                 sources.skipped_reason)


def _compute_batch(session: Any, steps: list[str], sources: pipeline.SourceSet
                   ) -> dict[str, Any]:
    """Run `steps` in order on one batch; return each step's output."""
    outputs: dict[str, Any] = {"exp_to_source": sources}
    upstream = sources
    for name in steps:
        node = session[name]
        try:
            upstream = node.compute(upstream, **node.values)
        except Exception as exc:  # a step failed as a whole: as GraphError in session.run
            raise GraphError(name, exc) from exc
        outputs[name] = upstream
    return outputs


def run_streamed(session: Any, outdir: str | os.PathLike[str], *, batch: int = DEFAULT_BATCH,
                 overwrite: bool = False, writers: int | None = None,
                 progress: Callable[[BatchDone], None] | None = None) -> StreamReport:
    """Run the steps after exp_to_source batch by batch and write every batch's products.

    Parameters
    ----------
    session : Spec3Session
        The session, with its parameters set.
    outdir : str or os.PathLike
        Where to write.
    batch : int
        Sources per batch.
    overwrite : bool
        Replace existing files (otherwise an existing file stops the run with
        :class:`~spec3nb.errors.OutputError`; the batches before it are written).
    writers : int, optional
        Forked writer processes (None: one per CPU; 1 writes in this process, between
        the batches).
    progress : callable, optional
        Called with a :class:`BatchDone` after each batch is computed.

    Returns
    -------
    StreamReport
        The files written, and ``{step: {source: message}}`` for the sources that failed
        (their other products are still written).

    Raises
    ------
    GraphError
        A step failed as a whole (not for one source); what was computed is written first.
    """
    session.graph.run(["exp_to_source"])
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)  # once, not raced by the writers
    steps = later_steps(session)
    sources = session["exp_to_source"].output
    report = StreamReport()
    writing: ForkedJobs | None = None
    position = 0
    try:
        for part in _batches(sources, batch):
            outputs = _compute_batch(session, steps, part)
            failed = pipeline.first_failures((s, outputs.get(s)) for s in session.step_names)
            for step, found in failed.items():
                report.errors.setdefault(step, {}).update(found)
            if progress is not None:
                progress(BatchDone(position + 1, position + len(part), len(sources), failed))
            position += len(part)
            done = {s for s, o in outputs.items() if o.status != pipeline.SKIPPED}
            products = session.products_of(outputs, done)
            jobs = [(p, outdir / n, overwrite) for n, p in products.items()]
            if writing is not None:  # the previous batch, written while this one computed
                report.paths.extend(writing.join())
                writing = None
            for _, path, _ in jobs:
                if path.exists() and not overwrite:
                    raise OutputError(f"{path}: exists already (use overwrite)")
            writing = ForkedJobs(write_job, jobs, writers)
    finally:
        if writing is not None:
            report.paths.extend(writing.join())
    return report

