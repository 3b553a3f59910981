"""Summaries of the cProfile files that ``bench_pipeline.py --profile`` writes.

For each run: where the time went by phase (imports, reading, the steps, writing) and the
functions of the pipelines' own packages with the largest cumulative time, plus the
largest own ("tottime") costs anywhere, which is where an optimisation would act.
"""

from __future__ import annotations

import pstats
from pathlib import Path

# (phase, file suffix, function) whose cumulative time is the phase's; recursive imports
# are counted once by cProfile's cumulative time.
PHASES = {
    "ours": (("imports", "<frozen importlib._bootstrap>", "_find_and_load"),
             ("read inputs", "runner.py", "load_inputs"),
             ("steps", "graph.py", "run"),
             ("write products", "session.py", "save")),
    "jwst": (("imports", "<frozen importlib._bootstrap>", "_find_and_load"),
             ("read inputs", "core.py", "prepare_output"),
             ("whole pipeline", "calwebb_spec3.py", "process"),
             ("write products", "model_base.py", "save")),
}
OWN = {"ours": ("/spec3nb/steps/", "/spec3nb/datamodels/"), "jwst": ("/jwst/", "/stcal/")}


def _stats(path: str | Path) -> dict:
    return pstats.Stats(str(path)).stats  # {(file, line, func): (cc, nc, tt, ct, callers)}


def phases(path: str | Path, label: str) -> dict[str, float]:
    """Cumulative seconds of each phase of :data:`PHASES` (0 when not found)."""
    stats = _stats(path)
    found = {}
    for phase, suffix, func in PHASES[label]:
        found[phase] = max((v[3] for (f, _, fn), v in stats.items()
                            if fn == func and f.endswith(suffix)), default=0.0)
    found["total"] = max(v[3] for v in stats.values())
    return found


def top(path: str | Path, label: str, n: int = 8, *, own: bool = True
        ) -> list[tuple[str, float, int]]:
    """The `n` functions with the largest cumulative (`own`: in the pipeline's packages)
    or own time: ``(file:line(function), seconds, calls)``."""
    stats = _stats(path)
    rows = []
    for (file, line, func), (_, calls, tottime, cumtime, _) in stats.items():
        if own and not any(part in file for part in OWN[label]):
            continue
        short = "/".join(Path(file).parts[-2:])
        rows.append((f"{short}:{line}({func})", cumtime if own else tottime, calls))
    return sorted(rows, key=lambda r: -r[1])[:n]


def markdown(mode: str, files: dict[str, str]) -> list[str]:
    """Markdown lines for one mode's profiles (``files``: label -> .prof path)."""
    out = [f"**{mode}**", ""]
    for label, path in files.items():
        if not Path(path).exists():
            continue
        split = phases(path, label)
        name = "spec3nb" if label == "ours" else "jwst"
        out.append(f"- {name} ({split.pop('total'):.1f} s under the profiler; phases overlap, "
                   "e.g. imports made while reading): " + ", ".join(
            f"{k} {v:.1f} s" for k, v in split.items()))
        out.append("  - largest cumulative, own packages: " + "; ".join(
            f"`{f}` {s:.1f} s ({c} calls)" for f, s, c in top(path, label, 6)))
        out.append("  - largest own time, anywhere: " + "; ".join(
            f"`{f}` {s:.1f} s" for f, s, _ in top(path, label, 5, own=False)))
    return [*out, ""]
