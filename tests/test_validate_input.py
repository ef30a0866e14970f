"""A user's own files (issue 19, "Adding one's own data"; issue 16.3): encoding and delimiter
reported once and first, the folder's own vocabulary, PRISMA's "other methods", machine-readable
validation, stable class styles."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jdmstats.errors import FileProblem
from jdmstats.evidence import harmonise as harmonise_mod
from jdmstats.evidence.validate import validate_path

ROOT = Path(__file__).resolve().parent.parent


def the_problem(problems):
    """Assert exactly one problem (error or warning) is reported and return it."""
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


@pytest.fixture
def folder(tmp_path):
    """A copy of the bundled harmonised folder."""
    out = tmp_path / "harmonised"
    shutil.copytree(ROOT / "data" / "harmonised", out)
    return out


@pytest.fixture
def data(tmp_path):
    """A copy of the bundled inputs: extraction files, search log and records log."""
    out = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "extraction", out / "extraction")
    shutil.copy(ROOT / "data" / "search_log.csv", out / "search_log.csv")
    shutil.copytree(ROOT / "data" / "search", out / "search")
    return out


def jdmstats(*args):
    return subprocess.run([sys.executable, "-m", "jdmstats", *args], capture_output=True,
                          text=True, cwd=ROOT)  # fmt: skip


# ---- encoding and delimiter: one problem naming the cause -----------------------------------


def test_csv_latin1_is_one_problem_at_its_line(folder):
    path = folder / "cohorts.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[5] = lines[5].replace(",", ",Müller ", 1)
    path.write_bytes("".join(lines).encode("latin-1"))
    p = the_problem(validate_path(folder))
    assert isinstance(p, FileProblem) and (p.file, p.row, p.value) == (str(path), "6", "0xfc")
    assert p.rule.startswith("not UTF-8 text: byte 0xfc ('ü' in latin-1 / Windows-1252)")


def test_csv_semicolons_are_one_problem(folder):
    path = folder / "studies.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=";", lineterminator="\n").writerows(rows)
    p = the_problem(validate_path(folder))
    assert (p.file, p.row, p.value) == (str(path), "1", ";")
    assert p.rule.startswith("columns are separated by semicolons, not commas")


def test_csv_bom_is_accepted_with_one_warning(folder):
    path = folder / "studies.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    p = the_problem(validate_path(folder))
    assert (p.file, p.row, p.severity) == (str(path), "1", "warning")
    assert "byte-order mark" in p.rule and "ignored" in p.rule
    from jdmstats.evidence import datasets

    assert len(datasets.load_studies(folder)) == len(datasets.load_studies())  # loads as usual


def test_yaml_latin1_is_one_problem_in_a_full_folder(data, source):
    source["title"] = "Calcinose chez l'enfant: étude"
    path = data / "extraction" / "Testauthor2010.yaml"
    path.write_bytes(yaml.safe_dump(source, sort_keys=False, allow_unicode=True)
                     .encode("latin-1"))  # fmt: skip
    p = the_problem(validate_path(data))
    assert (p.file, p.row, p.value) == (str(path), "4", "0xe9")
    assert p.rule.startswith("not UTF-8 text")


# ---- PRISMA: a source no search found is counted as "other methods" ------------------------


def test_source_without_a_record_is_a_warning(data, source, write_source):
    shutil.copy(write_source(source), data / "extraction")
    p = the_problem(validate_path(data / "extraction"))
    assert (p.column, p.value, p.severity) == ("study_id", "Testauthor2010", "warning")
    assert p.rule.startswith("no record in the records log and no search-log row of other "
                             "methods: PRISMA counts this source as identified by other methods")
    assert p.file == str(data / "extraction" / "Testauthor2010.yaml")


def test_source_named_by_no_logged_query_is_a_warning(tmp_path, source, write_source):
    write_source(source)
    log = tmp_path / "search_log.csv"
    log.write_text("query_id,date,database,query,records_found,records_screened,"
                   "records_included,included_ids\n"
                   "q1,2026-01-02,PubMed,calcinosis JDM,10,10,0,\n")  # fmt: skip
    p = the_problem(validate_path(tmp_path / "extraction"))
    assert (p.value, p.severity) == ("Testauthor2010", "warning")
    assert p.rule.startswith("named by no logged query and no search-log row of other methods")
    log.write_text(log.read_text() + "q2,2026-01-02,reference list,(hand),1,1,1,Testauthor2010\n")
    assert validate_path(tmp_path / "extraction") == []


# ---- the folder's own vocabulary -------------------------------------------------------------


NEW_AGENT = "novelumab"


def test_unknown_agent_points_to_the_folders_vocabulary(source, write_source):
    source["patients"][0]["episodes"][0]["agents"] = NEW_AGENT
    path = write_source(source)
    p = the_problem(validate_path(path))
    assert (p.column, p.value) == ("agents", NEW_AGENT)
    assert f"add it to {path.parent / 'vocabulary.yaml'}" in p.rule
    assert "jdmstats.evidence.schema" not in p.rule


def test_new_agent_validates_harmonises_and_runs(tmp_path, source, write_source):
    source["patients"][0]["episodes"][0]["agents"] = f"{NEW_AGENT}; pamidronate"
    source["patients"][0]["episodes"][1]["agents"] = NEW_AGENT.upper()
    path = write_source(source)
    (path.parent / "vocabulary.yaml").write_text(f"agents:\n  {NEW_AGENT}: jak_inhibitor\n")
    assert validate_path(path.parent) == []
    assert validate_path(path) == []
    harmonise_mod.harmonise(path.parent, tmp_path / "h")
    from jdmstats.evidence import datasets

    episodes = datasets.load_episodes(tmp_path / "h")
    assert list(episodes["therapy_class"]) == ["combination", "jak_inhibitor"]
    assert list(episodes["therapy_classes"]) == ["bisphosphonate;jak_inhibitor", "jak_inhibitor"]
    assert validate_path(tmp_path / "h") == []
    from jdmstats.outputs.runner import run

    run(data=path.parent, out=tmp_path / "o", only=["descriptive"], quiet=True, jobs=1)
    text = (tmp_path / "o" / "tables" / "episodes_by_class.csv").read_text()
    assert "jak_inhibitor" in text


@pytest.mark.parametrize(("text", "row", "column", "rule"), [
    ("agents:\n  novelumab: jak_inhibtor\n", "2", "novelumab", "not a therapy class (did you "
     "mean 'jak_inhibitor'?)"),
    ("agents:\n  Pamidronate: glucocorticoid\n", "2", "pamidronate", "the package already "
     "classes pamidronate as bisphosphonate"),
    ("agent:\n  novelumab: jak_inhibitor\n", "1", "agent", "unknown key (did you mean "
     "'agents'?)"),
    ("agents:\n  novelumab: jak_inhibitor\n  Novelumab: ivig\n", "3", "novelumab",
     "listed twice, first as jak_inhibitor"),
    ("agents: [novelumab]\n", "1", "agents", "must be a mapping of agent name to therapy class"),
])  # fmt: skip
def test_vocabulary_problems_are_located(source, write_source, text, row, column, rule):
    path = write_source(source)
    vocab = path.parent / "vocabulary.yaml"
    vocab.write_text(text)
    for target in (vocab, path.parent):
        p = the_problem(validate_path(target))
        assert (p.file, p.row, p.column) == (str(vocab), row, column)
        assert p.rule.startswith(rule)


def test_known_agent_with_its_own_class_is_accepted(source, write_source):
    path = write_source(source)
    (path.parent / "vocabulary.yaml").write_text("agents:\n  pamidronate: bisphosphonate\n")
    assert validate_path(path.parent) == []


# ---- jdmstats validate --format ----------------------------------------------------------------


def _broken(tmp_path, source):
    source["cohorts"][0].update(n_calcinosis=999, calcinosis_pct=None)
    source["patients"][0]["episodes"][0]["response"] = "better"
    path = tmp_path / "Testauthor2010.yaml"
    path.write_text(yaml.safe_dump(source, sort_keys=False))
    return path


FIELDS = ["file", "row", "column", "value", "rule", "severity"]


def test_validate_format_json(tmp_path, source):
    path = _broken(tmp_path, source)
    r = jdmstats("validate", "--format", "json", str(path))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    got = json.loads(r.stdout)
    assert [list(p) for p in got] == [FIELDS, FIELDS]
    assert {(p["column"], p["value"], p["severity"]) for p in got} == {
        ("n_calcinosis", "999", "error"), ("response", "better", "error")}
    assert all(p["file"] == str(path) and p["rule"] for p in got)
    text = jdmstats("validate", str(path)).stdout.splitlines()
    from jdmstats.errors import Problem

    assert [str(Problem(**p)) for p in got] == text  # the same problems as the text format


def test_validate_format_csv(tmp_path, source):
    path = _broken(tmp_path, source)
    r = jdmstats("validate", "--format", "csv", str(path))
    assert r.returncode == 1
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert list(rows[0]) == FIELDS and len(rows) == 2
    assert {(p["column"], p["value"]) for p in rows} == {("n_calcinosis", "999"),
                                                          ("response", "better")}


def test_validate_format_clean_and_warnings(tmp_path, source, write_source):
    path = write_source(source)
    r = jdmstats("validate", "--format", "json", str(path))
    assert (r.returncode, json.loads(r.stdout)) == (0, [])
    r = jdmstats("validate", "--format", "csv", str(path))
    assert (r.returncode, r.stdout) == (0, ",".join(FIELDS) + "\n")
    shutil.copytree(ROOT / "data" / "harmonised", tmp_path / "h")
    studies = tmp_path / "h" / "studies.csv"
    studies.write_bytes(b"\xef\xbb\xbf" + studies.read_bytes())
    r = jdmstats("validate", str(tmp_path / "h"))  # a warning alone does not fail
    assert r.returncode == 0 and r.stdout.startswith(f"{studies}:1: warning: ")
    assert "ok: no problems found, 1 warning(s)" in r.stderr


def test_validate_rejects_an_unknown_format(tmp_path, source):
    r = jdmstats("validate", "--format", "xml", str(_broken(tmp_path, source)))
    assert r.returncode == 2 and "invalid choice: 'xml'" in r.stderr


# ---- stable colours --------------------------------------------------------------------------


def test_adding_a_therapy_class_keeps_every_other_style(monkeypatch):
    from jdmstats.evidence import schema
    from jdmstats.plots import style

    before = {c: style.class_style(c) for c in schema.THERAPY_CLASSES}
    monkeypatch.setattr(schema, "THERAPY_CLASSES", {**schema.THERAPY_CLASSES,
                                                    "new_class": "A class added later"})
    after = {c: style.class_style(c) for c in schema.THERAPY_CLASSES}
    assert {c: after[c] for c in before} == before
    assert after["new_class"] not in before.values()
    assert style.class_style("new_class") == style.class_style("new_class")  # deterministic


def test_semicolon_search_log_beside_the_extraction_is_one_problem(data):
    path = data / "search_log.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    p = the_problem(validate_path(data))
    assert (p.file, p.row) == (str(path), "1") and "separated by semicolons" in p.rule


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.binary(max_size=400))
def test_any_bytes_as_a_table_give_problems_not_exceptions(tmp_path_factory, content):
    from jdmstats.evidence import checks, schema

    path = tmp_path_factory.mktemp("fuzz") / "cohorts.csv"
    path.write_bytes(b"cohort_id,study_id,n_patients\n" + content)
    records, problems = checks.read_csv_table(path, schema.COHORTS)  # never raises
    assert problems and all(p.file == str(path) for p in problems)  # required columns missing
    assert all(r["_origin"][0] == str(path) for r in records)
