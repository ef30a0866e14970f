"""The built wheel carries the data: install it into a fresh virtual environment and use it."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_repository(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("jdmstats-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    # The new environment sees this environment's dependencies through a .pth file (so no
    # download is needed); jdmstats itself comes only from the wheel.
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "outer-deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    subprocess.run(
        [str(py), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = (
        "import jdmstats, jdmstats.evidence.datasets as d; print(jdmstats.__file__); "
        "print(len(d.load_cohorts()), len(d.load_episodes()))"
    )
    out = subprocess.run([str(py), "-c", code], capture_output=True, text=True, cwd=work, env=env)
    assert out.returncode == 0, out.stderr
    location, counts = out.stdout.strip().splitlines()
    assert str(venv) in location
    assert int(counts.split()[1]) > 0
    run = subprocess.run(
        [str(venv / "bin" / "jdmstats"), "run", "--out", str(work / "out"), "--quiet"],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert (work / "out" / "tables" / "episodes_by_class.csv").exists()
