"""The ``spec3nb step`` command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from spec3nb.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_names_every_step(capsys) -> None:
    code, out, _ = run(capsys, "step", "--list")
    from spec3nb.steps import STEPS

    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == list(STEPS)
    assert "exp_to_source" in STEPS and "combine_1d" in STEPS


def test_step_help_lists_parameters(capsys) -> None:
    code, out, _ = run(capsys, "step", "exp_to_source", "--help")
    assert code == 0
    assert "Regroup multi-slit exposures" in out
    assert "no parameters" in out


def test_runs_on_an_association(capsys, fs_dataset: Path, tmp_path: Path) -> None:
    code, out, err = run(capsys, "step", "exp_to_source", str(fs_dataset),
                         "-o", str(tmp_path / "out"))
    assert code == 0, err
    written = out.split()
    assert len(written) == 2 and all(Path(p).exists() for p in written)
    assert written[0].endswith("-s000000001_nirspec_f290lp-g395h-s200a1_cal.fits")


@pytest.mark.parametrize("args, message", [
    (["step", "no_such_step", "x.fits"], "parameter 'no_such_step': no such step"),
    (["step", "exp_to_source", "x.fits", "--set", "snr"], "expected PARAM=VALUE"),
    (["step", "exp_to_source", "x.fits", "--set", "snr=5"], "'snr': unknown parameter"),
    (["step", "exp_to_source", "missing_cal.fits"], "missing_cal.fits: file not found"),
    (["step", "exp_to_source"], "no input files given"),
    (["nonsense"], "unknown command 'nonsense'"),
])
def test_errors_are_one_line_with_status_2(capsys, tmp_path: Path, monkeypatch, args,
                                           message) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *args)
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("spec3nb")]
    assert len(lines) == 1 and message in lines[0]


def test_existing_output_refused_then_overwritten(capsys, fs_dataset: Path,
                                                  tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    assert run(capsys, "step", "exp_to_source", str(fs_dataset), "-o", out)[0] == 0
    code, _, err = run(capsys, "step", "exp_to_source", str(fs_dataset), "-o", out)
    assert code == 2 and "exists already (use --overwrite" in err
    assert run(capsys, "step", "exp_to_source", str(fs_dataset), "-o", out,
               "--overwrite")[0] == 0


def test_installed_command(fs_dataset: Path, tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "spec3nb"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([str(exe), "step", "exp_to_source", str(fs_dataset), "-o",
                           str(tmp_path / "o")], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "o").glob("*_cal.fits"))) == 2
    bad = subprocess.run([sys.executable, "-m", "spec3nb", "step", "exp_to_source",
                          str(tmp_path / "nope_cal.fits")], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "nope_cal.fits: file not found" in bad.stderr


def test_help_of_a_step_with_parameters(capsys) -> None:
    code, out, _ = run(capsys, "step", "combine_1d", "--help")
    assert code == 0
    assert "exptime_key (str, default 'exposure_time')" in out
    assert "sigma_clip (float or None, default None)" in out
    assert "median absolute deviations" in out
