"""The import rules of architecture.md section 1, checked in fresh interpreters."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

JUPYTER = ("ipywidgets", "bqplot", "ipyvolume", "IPython", "ipykernel")

# layer -> modules it must not load (directly or through anything it imports)
RULES = {
    "spec3nb": JUPYTER + ("traitlets", "stdatamodels", "jwst"),
    "spec3nb.steps": JUPYTER + ("traitlets", "jwst"),
    "spec3nb.datamodels": JUPYTER + ("traitlets", "jwst"),
    "spec3nb.graph": JUPYTER + ("jwst", "stdatamodels"),
    "spec3nb.simulate": JUPYTER + ("traitlets", "jwst"),
    "spec3nb.asn": JUPYTER + ("traitlets", "numpy", "jwst"),
    "spec3nb.modes": JUPYTER + ("traitlets", "numpy", "jwst"),
    "spec3nb.params": JUPYTER + ("traitlets", "numpy", "jwst"),
    "spec3nb.runner": JUPYTER + ("traitlets", "jwst"),
    "spec3nb.cli": JUPYTER + ("traitlets", "jwst", "stdatamodels", "numpy"),
}


def loaded_modules(module: str) -> set[str]:
    """Import `module` in a fresh interpreter and return the top-level names it loaded."""
    code = (
        f"import importlib, json, sys; importlib.import_module({module!r}); "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    return set(json.loads(out))


@pytest.mark.parametrize("module", sorted(RULES))
def test_layer_imports(module: str) -> None:
    forbidden = set(RULES[module]) & loaded_modules(module)
    assert not forbidden, f"importing {module} loads {sorted(forbidden)}"


def test_rule_detects_a_violation() -> None:
    # The check itself must be able to fail: importing a widget library is seen.
    assert "ipywidgets" in loaded_modules("ipywidgets")
