"""The step registry (spec3nb/steps/__init__.py): names, declarations, lazy imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from spec3nb.errors import ParameterError
from spec3nb.steps import STEPS, get_step


def test_every_name_gives_its_own_declaration() -> None:
    assert list(STEPS)[:3] == ["assign_mtwcs", "master_background", "exp_to_source"]
    assert len(STEPS) == len(list(STEPS)) == 12
    for name in STEPS:
        assert name in STEPS
        assert STEPS[name].name == name
        assert get_step(name) is STEPS[name]


def test_unknown_step_names_the_available_ones() -> None:
    assert "tweakreg" not in STEPS
    with pytest.raises(ParameterError, match="no such step.*extract_1d"):
        get_step("tweakreg")


def test_a_step_module_is_imported_only_when_looked_up() -> None:
    code = (
        "import sys\n"
        "from spec3nb.steps import STEPS\n"
        "loaded = lambda: sorted(m for m in sys.modules if m.startswith('spec3nb.steps.'))\n"
        "before = loaded()\n"
        "STEPS['extract_1d']\n"
        "print(before, 'spec3nb.steps.extract1d' in loaded(),"
        " 'spec3nb.steps.cube_build' in loaded())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["['spec3nb.steps.spec']", "True", "False"]
