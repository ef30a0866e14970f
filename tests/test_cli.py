"""Command line: exit codes, one line per problem, no traceback for bad data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def jdmstats(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "jdmstats", *args], capture_output=True, text=True, cwd=cwd or ROOT
    )


def test_validate_bundled_data_is_clean():
    r = jdmstats("validate", "data/")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == ""


def test_validate_broken_file_reports_lines_without_traceback(tmp_path, source):
    source["cohorts"][0].update(n_calcinosis=999, calcinosis_pct=None)
    source["patients"][0]["episodes"][0]["response"] = "better"
    path = tmp_path / "Testauthor2010.yaml"
    path.write_text(yaml.safe_dump(source, sort_keys=False))
    r = jdmstats("validate", str(path))
    assert r.returncode == 1
    assert "Traceback" not in r.stdout + r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 2
    assert any("n_calcinosis = '999'" in line and "<= n_patients" in line for line in lines)
    assert any("response = 'better'" in line for line in lines)
    assert all(line.startswith(str(path)) for line in lines)


def test_run_on_broken_extraction_folder_exits_nonzero(tmp_path, source):
    source["year"] = "soon"
    (tmp_path / "Testauthor2010.yaml").write_text(yaml.safe_dump(source))
    r = jdmstats("run", "--data", str(tmp_path), "--out", str(tmp_path / "out"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "year = 'soon'" in r.stdout


def test_run_writes_descriptive_tables(tmp_path):
    r = jdmstats("run", "--out", str(tmp_path), "--only", "descriptive", "--quiet")
    assert r.returncode == 0, r.stderr
    for name in ("studies_by_country", "studies_by_decade", "case_patients", "episodes_by_class"):
        assert (tmp_path / "tables" / f"{name}.csv").stat().st_size > 0


def test_run_on_user_extraction_folder(tmp_path, source):
    (tmp_path / "ex").mkdir()
    (tmp_path / "ex" / "Testauthor2010.yaml").write_text(yaml.safe_dump(source))
    r = jdmstats(
        "run", "--data", str(tmp_path / "ex"), "--out", str(tmp_path / "o"), "--only", "descriptive"
    )
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "o" / "tables" / "episodes_by_class.csv").read_text()
    assert "bisphosphonate" in text and "calcium_channel_blocker" in text


def test_unknown_step_is_an_error(tmp_path):
    r = jdmstats("run", "--only", "nonsense", "--out", str(tmp_path))
    assert r.returncode == 2 and "accepted:" in r.stderr


def test_harmonise_into_folder(tmp_path, source):
    (tmp_path / "extraction").mkdir()
    (tmp_path / "extraction" / "Testauthor2010.yaml").write_text(yaml.safe_dump(source))
    r = jdmstats(
        "harmonise", "--extraction", str(tmp_path / "extraction"), "--out", str(tmp_path / "h")
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "h" / "datapackage.json").exists()


def test_run_uses_one_blas_thread_unless_the_user_sets_it():
    import os
    import subprocess
    import sys

    code = ("import os, sys; from jdmstats import cli; cli._one_blas_thread(); "
            "print(os.environ.get('OPENBLAS_NUM_THREADS'), 'numpy' in sys.modules)")  # fmt: skip
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()  # fmt: skip
    assert out == ["1", "False"]
    env["OPENBLAS_NUM_THREADS"] = "2"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()  # fmt: skip
    assert out == ["2", "False"]
