"""The per-question scripts in analyses/ run on their own, from anywhere, without installing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPTS = {
    "prevalence.py": ("tables/prevalence.csv", "glmm_primary"),
    "delay.py": ("tables/delay_metareg.csv", "patient level: not fitted"),
    "time_to_regression.py": ("tables/response_by_class.csv", "regressed"),
}


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_script_runs_alone(script, tmp_path):
    table, headline = SCRIPTS[script]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MPLBACKEND"] = "Agg"
    r = subprocess.run([sys.executable, str(ROOT / "analyses" / script), "--out", str(tmp_path)],
                       capture_output=True, text=True, cwd=tmp_path, env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert headline in r.stdout
    assert (tmp_path / table).stat().st_size > 0
    assert (tmp_path / "figures" / "MANIFEST.json").exists()


def test_script_reports_bad_data_without_traceback(tmp_path, source):
    import yaml

    source["cohorts"][0]["n_patients"] = "many"
    (tmp_path / "Testauthor2010.yaml").write_text(yaml.safe_dump(source))
    r = subprocess.run([sys.executable, str(ROOT / "analyses" / "prevalence.py"), "--data",
                        str(tmp_path), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "n_patients = 'many': must be a whole number" in r.stderr
