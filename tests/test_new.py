"""``jdmstats new KIND STUDY_ID --into DIR``: a commented skeleton that fails validation until
filled, in a self-contained data folder (bundled data + the user's file) that ``jdmstats
validate`` and ``jdmstats run --data`` use without any edit to the package."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from jdmstats.evidence import skeleton
from jdmstats.paths import REPO_DATA

ROOT = Path(__file__).resolve().parent.parent

# A clearly fictitious source (the year is 2099): what a user would type into the skeleton.
COMMON = {"title": "Fictitious demo study (not a real source)",
          "url": "https://example.org/fictitious-demo-2099", "source_level": "full_text",
          "country": "Norway", "extracted_by": "test-suite"}  # fmt: skip
FILLED = {
    "cohort": {**COMMON, "design": "retrospective_cohort", "n_patients": 80, "n_calcinosis": 20,
               "calcinosis_timing": "cumulative", "locator": "table 1"},
    "case": {**COMMON, "agents": "pamidronate", "response": "complete", "time_basis": "exact",
             "time_to_response": {"value": 6, "unit": "months"}, "locator": "case 1"},
    "arm": {**COMMON, "design": "case_series", "agents": "pamidronate", "n_treated": 6,
            "locator": "table 2"},
}  # fmt: skip


def jdmstats(*args):
    return subprocess.run([sys.executable, "-m", "jdmstats", *args], cwd=ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)  # fmt: skip


def _new(kind: str, folder: Path, study_id: str = "Demo2099") -> Path:
    r = jdmstats("new", kind, study_id, "--into", str(folder))
    assert r.returncode == 0, r.stderr
    path = Path(r.stdout.strip())
    assert path == folder / "extraction" / f"{study_id}.yaml"
    return path


def _fill(path: Path, values: dict) -> None:
    text = skeleton.fill(path.read_text(encoding="utf-8"), values)
    if "time_to_response" in values:  # an optional key: null in the skeleton, set by the user
        value = skeleton.fill("time_to_response: TODO", values).split(": ", 1)[1]
        text = text.replace("time_to_response: null", f"time_to_response: {value}", 1)
    path.write_text(text, encoding="utf-8")


def test_new_folder_gets_the_bundled_data_and_says_so(tmp_path):
    folder = tmp_path / "mine"
    r = jdmstats("new", "cohort", "Demo2099", "--into", str(folder))
    assert r.returncode == 0, r.stderr
    bundled = sorted(p.name for p in (REPO_DATA / "extraction").glob("*.yaml"))
    assert sorted(p.name for p in (folder / "extraction").glob("*.yaml")) == sorted(
        bundled + ["Demo2099.yaml"])
    for rel in ("search/hits.csv", "search/reruns.csv"):
        assert (folder / rel).read_bytes() == (REPO_DATA / rel).read_bytes()
    assert f"copied the bundled data into it ({len(bundled)} extraction files" in r.stderr
    log = list(csv.DictReader((folder / "search_log.csv").open(encoding="utf-8")))
    bundled_log = list(csv.DictReader((REPO_DATA / "search_log.csv").open(encoding="utf-8")))
    assert log[:-1] == bundled_log
    assert log[-1]["query_id"] == "other-Demo2099" and log[-1]["included_ids"] == "Demo2099"
    assert "other method" in log[-1]["database"]
    assert "added search-log row other-Demo2099" in r.stderr
    assert not (REPO_DATA / "extraction" / "Demo2099.yaml").exists()


@pytest.mark.parametrize("kind", skeleton.KINDS)
def test_every_placeholder_fails_validation_until_filled(tmp_path, kind):
    path = _new(kind, tmp_path / "d")
    text = path.read_text(encoding="utf-8")
    assert yaml.safe_load(text)["study_id"] == "Demo2099"
    todo = [i for i, line in enumerate(text.splitlines(), 1) if re.search(r":\s*TODO\b", line)]
    r = jdmstats("validate", str(tmp_path / "d"))
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert [int(line.split(":")[1]) for line in lines] == todo, "one problem per placeholder"
    assert all("placeholder left from `jdmstats new`" in line for line in lines)

    _fill(path, FILLED[kind])
    r = jdmstats("validate", str(tmp_path / "d"))
    assert (r.returncode, r.stdout) == (0, ""), r.stdout


def test_a_half_filled_skeleton_reports_only_what_is_left(tmp_path):
    path = _new("cohort", tmp_path / "d")
    _fill(path, {k: v for k, v in FILLED["cohort"].items() if k != "n_calcinosis"})
    r = jdmstats("validate", str(tmp_path / "d"))
    assert r.returncode == 1
    (line,) = r.stdout.splitlines()
    assert "n_calcinosis = 'TODO': placeholder left" in line


def test_existing_extraction_folder_gets_only_the_file(tmp_path, source):
    (tmp_path / "ex").mkdir()
    (tmp_path / "ex" / "Testauthor2010.yaml").write_text(yaml.safe_dump(source))
    r = jdmstats("new", "arm", "Demo2099", "--into", str(tmp_path / "ex"))
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()) == tmp_path / "ex" / "Demo2099.yaml"
    assert sorted(p.name for p in (tmp_path / "ex").iterdir()) == ["Demo2099.yaml",
                                                                  "Testauthor2010.yaml"]
    assert "copied" not in r.stderr


def test_new_never_overwrites_and_rejects_bad_names(tmp_path):
    path = _new("case", tmp_path / "d")
    before = path.read_text()
    r = jdmstats("new", "cohort", "Demo2099", "--into", str(tmp_path / "d"))
    assert r.returncode == 2 and "exists already" in r.stderr
    assert path.read_text() == before
    r = jdmstats("new", "cohort", "demo", "--into", str(tmp_path / "d"))
    assert r.returncode == 2 and "is not FirstauthorYYYY" in r.stderr
    r = jdmstats("new", "trial", "Demo2099", "--into", str(tmp_path / "d"))
    assert r.returncode == 2 and "invalid choice: 'trial'" in r.stderr


def test_run_uses_the_folder_as_it_is(tmp_path):
    path = _new("cohort", tmp_path / "d")
    _fill(path, FILLED["cohort"])
    r = jdmstats("run", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "o"),
                 "--only", "descriptive,prisma", "--quiet")  # fmt: skip
    assert r.returncode == 0, r.stderr
    from jdmstats import datasets
    from jdmstats.questions import prisma

    def counts(table: pd.DataFrame) -> dict:
        return {item: int(n) for item, n in zip(table["item"], table["n"], strict=True)}

    mine = counts(pd.read_csv(tmp_path / "o" / "tables" / "prisma.csv"))
    bundled = counts(prisma.counts_table(prisma.prisma_counts(datasets.load_all())))
    for item in ("sources included", "sources identified by other methods", "cohorts"):
        assert mine[item] == bundled[item] + 1, item
    countries = pd.read_csv(tmp_path / "o" / "tables" / "studies_by_country.csv")
    studies = datasets.load_studies()
    norway = countries.set_index("country").loc["Norway", "sources"]
    assert norway == (studies["country"] == "Norway").sum() + 1


@pytest.mark.slow
def test_filled_sources_reach_the_prevalence_forest_and_response_tables(tmp_path, monkeypatch):
    import matplotlib.text

    from jdmstats import datasets
    from jdmstats.evidence.schema import study_label
    from jdmstats.outputs import runner, steps
    from jdmstats.questions import prevalence

    path = _new("cohort", tmp_path / "d")
    _fill(path, FILLED["cohort"])
    case = _new("case", tmp_path / "d", "Democase2099")
    _fill(case, {**FILLED["case"], "title": "Fictitious demo case report (not a real source)",
                 "url": "https://example.org/fictitious-case-2099"})
    r = jdmstats("validate", str(tmp_path / "d"))
    assert r.returncode == 0, r.stdout

    drawn: dict[str, list[str]] = {}
    save = steps._save

    def spy(fig, where):
        drawn[Path(where).name] = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
        return save(fig, where)

    monkeypatch.setattr(steps, "_save", spy)
    runner.run(data=tmp_path / "d", out=tmp_path / "o", only=["prevalence", "response"],
               quiet=True, bootstrap_reps=20)  # fmt: skip
    tables = tmp_path / "o" / "tables"

    k0 = len(prevalence.analysis_set(datasets.load_cohorts())[0])
    cohorts = pd.read_csv(tables / "prevalence_cohorts.csv")
    assert len(cohorts) == k0 + 1
    row = cohorts.set_index("cohort_id").loc["Demo2099"]
    assert (row["events"], row["total"], row["region"]) == (20, 80, "europe")
    glmm = pd.read_csv(tables / "prevalence.csv").set_index("model").loc["glmm_primary"]
    assert glmm["k"] == k0 + 1
    label = study_label("Demo2099")
    assert label in drawn["prevalence_forest"], "the forest plot has a row for the new cohort"
    assert label in drawn["prevalence_forest_region"]

    sources = pd.read_csv(tables / "response_sources.csv")
    new = sources[sources["study_id"] == "Democase2099"]
    assert list(new[["class", "kind", "children", "responders", "complete"]].itertuples(
        index=False, name=None)) == [("bisphosphonate", "patients", 1, 1, 1)]  # fmt: skip


def test_skeleton_for_a_source_without_year():
    from jdmstats.evidence.skeleton import skeleton

    doc = yaml.safe_load(skeleton("cohort", "DemoND", today="2026-12-03"))
    assert doc["study_id"] == "DemoND"
    assert doc["first_author"] == "Demo"
    assert doc["year"] is None
