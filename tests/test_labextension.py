"""The JupyterLab extension is installed with the package: prebuilt, enabled and OK."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import spec3nb

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def installed() -> Path:
    """The installed extension folder (share/jupyter/labextensions/spec3nb of this env)."""
    from jupyter_core.paths import jupyter_path

    found = [Path(p) / "spec3nb" for p in jupyter_path("labextensions")
             if (Path(p) / "spec3nb" / "package.json").exists()]
    assert found, "spec3nb's labextension is not installed in any labextensions path"
    return found[0]


def test_labextension_list_shows_spec3nb_enabled_and_ok():
    result = subprocess.run([str(BIN / "jupyter"), "labextension", "list"], capture_output=True,
                            text=True, check=True)
    text = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)  # drop colours
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("spec3nb ")]
    assert lines, text
    assert re.fullmatch(rf"spec3nb v{re.escape(spec3nb.__version__)} enabled OK "
                        r"\(python, spec3nb\)", lines[0]), lines[0]


def test_installed_extension_is_the_prebuilt_one(installed):
    meta = json.loads((installed / "package.json").read_text())
    build = meta["jupyterlab"]["_build"]
    assert meta["name"] == "spec3nb"
    assert meta["version"] == spec3nb.__version__
    # Both entry points: the plugin (commands, launcher) and the MIME renderer.
    assert {"load", "extension", "mimeExtension"} <= set(build)
    assert (installed / build["load"]).is_file()
    assert (installed / "static" / "style.js").is_file()
    install = json.loads((installed / "install.json").read_text())
    assert install["packageName"] == "spec3nb"


def test_extension_version_follows_the_python_package():
    meta = json.loads((ROOT / "labextension" / "package.json").read_text())
    assert meta["version"] == spec3nb.__version__
    lock = json.loads((ROOT / "labextension" / "package-lock.json").read_text())
    assert lock["packages"][""]["version"] == spec3nb.__version__


def test_renderer_mime_type_is_the_session_mime_type():
    from spec3nb.session import MIME_TYPE

    source = (ROOT / "labextension" / "src" / "summary.ts").read_text()
    assert f"export const MIME_TYPE = '{MIME_TYPE}';" in source
