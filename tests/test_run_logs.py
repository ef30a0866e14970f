"""``jdmstats run`` off a terminal (CI, a log file): one line per step and every warning on
stderr, ``--quiet`` silences them, bad ``--only``/``--data`` values are clear errors, and the
bootstrap's replicates and seed are options whose defaults give the same files.

Every command runs in a subprocess whose stdin, stdout and stderr are not a terminal.
"""

from __future__ import annotations

import filecmp
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
STEP_NAMES = ("descriptive", "prevalence", "delay", "response", "prisma")


def jdmstats(*args):
    return subprocess.run([sys.executable, "-m", "jdmstats", *args], cwd=ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)  # fmt: skip


def _logged_warnings(out: Path) -> list[str]:
    notes = pd.read_csv(out / "tables" / "warnings.csv", dtype=str, keep_default_na=False)
    return list(notes["message"])


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_off_a_terminal_each_step_logs_a_line_and_every_warning(tmp_path, jobs):
    r = jdmstats("run", "--only", "descriptive,delay", "--out", str(tmp_path), "--jobs", jobs)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    for step, n_tables in (("descriptive", 4), ("delay", 5)):
        line = next(x for x in lines if x.split()[:1] == [step])
        assert f"{n_tables} table(s)" in line and line.rstrip().endswith(" s")
    assert "\r" not in r.stderr and "\x1b" not in r.stderr, "no terminal control codes in logs"
    messages = _logged_warnings(tmp_path)
    assert any(m.startswith("patient-level model: all") for m in messages)
    for message in messages:  # every warning of warnings.csv is in the log
        assert f"UserWarning: {message}" in r.stderr
    assert lines[-1].startswith("wrote ") and str(tmp_path) in lines[-1]


def test_quiet_prints_nothing_not_even_warnings(tmp_path):
    r = jdmstats("run", "--only", "delay", "--out", str(tmp_path), "--quiet")
    assert r.returncode == 0, r.stderr
    assert (r.stdout, r.stderr) == ("", "")
    assert _logged_warnings(tmp_path), "the warnings are still in tables/warnings.csv"


def test_a_course_without_time_warns_in_the_log(tmp_path, source):
    """"time to regression not analysed" is a data warning: it reaches the log (it was a
    RuntimeWarning, which runs drop as library noise)."""
    source.pop("cohorts")
    for e in source["patients"][0]["episodes"]:
        e.update(time_basis="not_stated", time_to_response=None, followup=None)
    (tmp_path / "ex").mkdir()
    (tmp_path / "ex" / "Testauthor2010.yaml").write_text(yaml.safe_dump(source))
    r = jdmstats("run", "--data", str(tmp_path / "ex"), "--out", str(tmp_path / "o"),
                 "--only", "response", "--jobs", "1")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "UserWarning: time to regression not analysed:" in r.stderr
    assert any(m.startswith("time to regression not analysed") for m in
               _logged_warnings(tmp_path / "o"))  # fmt: skip


@pytest.mark.parametrize("only", ["", ",", " , "])
def test_only_naming_no_step_is_rejected(tmp_path, only):
    r = jdmstats("run", "--only", only, "--out", str(tmp_path))
    assert r.returncode == 2
    assert "--only: names no step" in r.stderr and "accepted: descriptive, prevalence" in r.stderr
    assert not (tmp_path / "tables").exists(), "nothing ran"


def test_only_with_an_unknown_step_is_rejected(tmp_path):
    r = jdmstats("run", "--only", "descriptive,prevalance", "--out", str(tmp_path))
    assert r.returncode == 2
    assert "unknown step(s) prevalance; accepted:" in r.stderr
    assert not (tmp_path / "tables").exists()


def test_library_run_rejects_an_empty_only(tmp_path):
    from jdmstats.outputs.runner import run

    with pytest.raises(ValueError, match="no step named.*accepted: descriptive"):
        run(out=tmp_path, only=[], quiet=True)


def test_run_help_lists_the_steps():
    from jdmstats.outputs.steps import STEPS

    assert tuple(STEPS) == STEP_NAMES
    r = jdmstats("run", "--help")
    assert r.returncode == 0
    text = " ".join(r.stdout.split())
    assert "steps: descriptive, prevalence, delay, response, prisma" in text
    assert "--bootstrap-reps N" in text and "--seed S" in text


def test_missing_data_folder_says_no_such_folder(tmp_path):
    missing = tmp_path / "nowhere"
    r = jdmstats("run", "--data", str(missing), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"no such folder: {missing}" in r.stderr


def test_data_that_is_a_file_is_an_error(tmp_path):
    (tmp_path / "f.csv").write_text("x\n")
    r = jdmstats("run", "--data", str(tmp_path / "f.csv"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "not a folder" in r.stderr


@pytest.mark.parametrize("args, message", [
    (["--bootstrap-reps", "0"], "--bootstrap-reps: expected a whole number >= 1"),
    (["--bootstrap-reps", "many"], "--bootstrap-reps: expected a whole number >= 1"),
    (["--seed", "-3"], "--seed: expected a whole number >= 0"),
])  # fmt: skip
def test_bad_bootstrap_options_are_rejected(tmp_path, args, message):
    r = jdmstats("run", "--only", "response", "--out", str(tmp_path), *args)
    assert r.returncode == 2 and message in r.stderr


def test_library_run_checks_the_options(tmp_path):
    from jdmstats.outputs.runner import run

    with pytest.raises(ValueError, match="bootstrap_reps must be a whole number >= 1"):
        run(out=tmp_path, only=["descriptive"], bootstrap_reps=0, quiet=True)
    with pytest.raises(ValueError, match="seed must be a whole number >= 0"):
        run(out=tmp_path, only=["descriptive"], seed=1.5, quiet=True)


def test_option_defaults_are_those_of_the_analysis():
    from jdmstats.outputs.steps import OPTION_DEFAULTS, step_response
    from jdmstats.questions import response

    params = inspect.signature(response.analyse).parameters
    assert OPTION_DEFAULTS == {"bootstrap_reps": params["n_boot"].default,
                               "seed": params["seed"].default}  # fmt: skip
    step = inspect.signature(step_response).parameters
    assert {k: step[k].default for k in OPTION_DEFAULTS} == OPTION_DEFAULTS


def _case_series(source: dict, n: int = 8) -> dict:
    """A case series of ``n`` children on pamidronate, each seen to regress between two visits
    (interval-censored times: a Turnbull curve with bootstrap bands and median CI)."""
    source.pop("cohorts")
    source["design"] = "case_series"
    template = source["patients"][0]
    source["patients"] = []
    for i in range(1, n + 1):
        patient = {k: v for k, v in template.items() if k != "episodes"}
        patient["id"] = f"P{i}"
        patient["episodes"] = [{"agents": "pamidronate", "response": "partial",
                                "time_basis": "by_visit", "locator": f"case {i}",
                                "time_lower": {"value": i, "unit": "months"},
                                "time_to_response": {"value": 2 * i + 1 + i % 3, "unit": "months"}}]
        source["patients"].append(patient)
    return source


def test_seed_and_replicates_reach_the_bootstrap(tmp_path, source):
    (tmp_path / "ex").mkdir()
    (tmp_path / "ex" / "Testauthor2010.yaml").write_text(yaml.safe_dump(_case_series(source)))
    tables, bands = {}, {}
    for name, args in (("a", ["--seed", "1"]), ("b", ["--seed", "2"]),
                       ("c", ["--seed", "1", "--bootstrap-reps", "5"])):  # fmt: skip
        r = jdmstats("run", "--data", str(tmp_path / "ex"), "--only", "response", "--quiet",
                     "--out", str(tmp_path / name), "--bootstrap-reps", "10", *args)  # fmt: skip
        assert r.returncode == 0, r.stderr
        tables[name] = pd.read_csv(tmp_path / name / "tables" / "time_to_regression.csv")
        bands[name] = (tmp_path / name / "figures" / "time_to_regression.pdf").read_bytes()
    row = {k: t.set_index("class").loc["bisphosphonate"] for k, t in tables.items()}
    assert row["a"]["estimator"] == "turnbull" and row["a"]["episodes_timed"] == 8
    assert row["a"]["median"] == row["b"]["median"], "the NPMLE does not depend on the seed"
    # the bootstrap bands (drawn in the figure, which is byte-deterministic) change
    assert bands["a"] != bands["b"], "another seed: another bootstrap"
    assert bands["a"] != bands["c"], "other replicates: another bootstrap"
    manifest = json.loads((tmp_path / "b" / "figures" / "MANIFEST.json").read_text())
    assert manifest["files"]["tables/time_to_regression.csv"]["options"] == {
        "bootstrap_reps": 10, "seed": 2}
    assert "options" not in manifest["files"]["tables/warnings.csv"]


@pytest.mark.slow
def test_default_options_give_byte_identical_files(tmp_path):
    r1 = jdmstats("run", "--only", "response", "--out", str(tmp_path / "a"), "--quiet")
    r2 = jdmstats("run", "--only", "response", "--out", str(tmp_path / "b"), "--quiet",
                  "--bootstrap-reps", "500", "--seed", "20240611")  # fmt: skip
    assert r1.returncode == r2.returncode == 0, r1.stderr + r2.stderr
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*")
                   if p.is_file())  # fmt: skip
    assert Path("tables/time_to_regression.csv") in files
    assert Path("figures/MANIFEST.json") in files
    for rel in files:
        assert filecmp.cmp(tmp_path / "a" / rel, tmp_path / "b" / rel, shallow=False), rel
