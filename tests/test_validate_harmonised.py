"""A harmonised folder is checked as thoroughly as an extraction folder (issue 15).

Each test copies the bundled harmonised folder into tmp_path, plants one defect, and asserts
the exact problem reported (file, row, column, rule); the valid variants still pass.
"""

from __future__ import annotations

import csv
import datetime
import shutil
from pathlib import Path

import pytest

from jdmstats.errors import FileProblem, errors_only
from jdmstats.evidence import checks
from jdmstats.evidence.validate import validate_path

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "data" / "harmonised"


@pytest.fixture
def folder(tmp_path):
    """A copy of the bundled harmonised folder (the bundled tables have no multi-line cells,
    so the row of a record is its index + 2)."""
    out = tmp_path / "harmonised"
    shutil.copytree(BUNDLED, out)
    return out


def the_error(problems):
    """Assert exactly one error is reported and return it."""
    errors = errors_only(problems)
    assert len(errors) == 1, [str(p) for p in problems]
    return errors[0]


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def edit(folder, table, key, column, value):
    """Set ``column`` of the row whose first cell is ``key``; return that row's line number."""
    path = folder / f"{table}.csv"
    rows = _rows(path)
    index = next(i for i, r in enumerate(rows) if r[0] == key)
    rows[index][rows[0].index(column)] = value
    _write(path, rows)
    return str(index + 1)


def test_bundled_copy_is_clean(folder):
    assert validate_path(folder) == []


# ---- the 12 defects of issue 15 that passed ------------------------------------------------


def test_header_only_cohorts(folder):
    path = folder / "cohorts.csv"
    _write(path, _rows(path)[:1])
    problems = errors_only(validate_path(folder))
    counts = [p for p in problems if p.file == str(folder / "studies.csv")]
    assert counts and {p.column for p in counts} == {"n_cohorts"}
    assert all(p.rule.startswith("cohorts has 0 row(s) of this study_id") for p in counts)
    # and the logged exclusions of the cohorts now point at nothing
    rest = [p for p in problems if p not in counts]
    assert rest and all(
        (p.file, p.column) in {(str(folder / "exclusions.csv"), "record_id"),
                               (str(folder / "arms.csv"), "cohort_id")}
        and p.rule.startswith("no such cohort_id in cohorts") for p in rest)  # fmt: skip


def test_header_only_studies(folder):
    path = folder / "studies.csv"
    _write(path, _rows(path)[:1])
    p = the_error(validate_path(folder))
    assert (p.file, p.rule) == (str(path), "no rows: the folder holds no source, so every "
                                           "analysis would be empty")


@pytest.mark.parametrize("value", ["2026-13-45", "20261203", "2026-W49-4", "3 Dec 2026"])
def test_dates_are_iso(folder, value):
    row = edit(folder, "studies", "Abdwani2025", "extracted_on", value)
    p = the_error(validate_path(folder))
    assert (p.row, p.column, p.value, p.rule) == (row, "extracted_on", value,
                                                  "must be a date YYYY-MM-DD")


@pytest.mark.parametrize("name", ["cohorts", "studies"])
def test_deleted_table(folder, name):
    (folder / f"{name}.csv").unlink()
    p = the_error(validate_path(folder))
    assert isinstance(p, FileProblem)
    assert (p.file, p.row, p.column) == (str(folder / f"{name}.csv"), "", "")
    assert p.rule.startswith("no such file")


def test_corrupt_datapackage(folder):
    path = folder / "datapackage.json"
    path.write_text(path.read_text(encoding="utf-8")[:500], encoding="utf-8")
    p = the_error(validate_path(folder))
    assert p.file == str(path) and "not valid JSON" in p.rule and p.row


def test_datapackage_inconsistent_with_schema(folder):
    path = folder / "datapackage.json"
    path.write_text(path.read_text(encoding="utf-8").replace('"name": "n_patients"',
                                                             '"name": "n_children"'))
    p = the_error(validate_path(folder))
    assert (p.file, p.value) == (str(path), "n_children (integer)")
    assert p.column == "resources[1].schema.fields" and "differ from jdmstats" in p.rule


def test_episode_study_differs_from_its_patient(folder):
    row = edit(folder, "episodes", "BaderMeunier2011_P3_E1", "study_id", "Mukamel2001")
    p = the_error(validate_path(folder))
    assert (p.file, p.row, p.column, p.value) == (str(folder / "episodes.csv"), row, "study_id",
                                                   "Mukamel2001")
    assert "study_id of its patient_id BaderMeunier2011_P3" in p.rule


@pytest.mark.parametrize(("column", "value", "rule"), [
    ("year", "2099", "must equal its study's value (2017, AlMayouf2017 in studies)"),
    ("region", "atlantis", "must equal its study's value (multinational, AlMayouf2017 in studies)"),
])  # fmt: skip
def test_inherited_column_contradicts_study(folder, column, value, rule):
    row = edit(folder, "cohorts", "AlMayouf2017", column, value)
    p = the_error(validate_path(folder))
    assert (p.file, p.row, p.column, p.value) == (str(folder / "cohorts.csv"), row, column, value)
    assert p.rule == rule + ": the column is copied from studies"


def test_study_region_must_match_country(folder):
    row = edit(folder, "studies", "Abdwani2025", "region", "europe")
    p = the_error(validate_path(folder))
    assert (p.file, p.row, p.column) == (str(folder / "studies.csv"), row, "region")
    assert "region of the country Oman (middle_east_north_africa)" in p.rule


def test_date_in_the_future(folder, monkeypatch):
    monkeypatch.setattr(checks, "today", lambda: datetime.date(2026, 12, 3))
    row = edit(folder, "studies", "Abdwani2025", "extracted_on", "2026-12-04")
    p = the_error(validate_path(folder))
    assert (p.file, p.row, p.column) == (str(folder / "studies.csv"), row, "extracted_on")
    assert p.rule == "date in the future (today is 2026-12-03)"


def test_implausible_magnitude(folder):
    row = edit(folder, "cohorts", "AlMayouf2017", "n_patients", str(10**15))
    p = the_error(validate_path(folder))
    assert (p.file, p.row, p.column) == (str(folder / "cohorts.csv"), row, "n_patients")
    assert p.rule == "must be <= 100000"


@pytest.mark.parametrize("marker", ["NaN", "nan", "NA", "null", "None"])
def test_missing_marker_as_key(folder, marker):
    row = edit(folder, "cohorts", "AlMayouf2017", "cohort_id", marker)
    p = the_error(validate_path(folder))
    assert (p.file, p.row, p.column, p.value) == (str(folder / "cohorts.csv"), row, "cohort_id",
                                                   marker)
    assert "missing-value marker is not an id" in p.rule


@pytest.mark.parametrize(("column", "value", "kind"), [("cohort_id", " AlMayouf2017", "an id"),
                                                       ("study_id", "AlMayouf2017 ", "an id"),
                                                       ("calcinosis_timing", " cumulative",
                                                        "a vocabulary value")])  # fmt: skip
def test_surrounding_spaces_refused(folder, column, value, kind):
    row = edit(folder, "cohorts", "AlMayouf2017", column, value)
    p = the_error(validate_path(folder))
    assert (p.file, p.row, p.column, p.value) == (str(folder / "cohorts.csv"), row, column, value)
    assert p.rule.startswith(f"{kind} with spaces around it")


def test_directory_in_place_of_a_table(folder):
    (folder / "cohorts.csv").unlink()
    (folder / "cohorts.csv").mkdir()
    p = the_error(validate_path(folder))
    assert (p.file, p.rule) == (str(folder / "cohorts.csv"), "is a folder, not a file")


def test_unreadable_table(folder, monkeypatch):
    target = folder / "cohorts.csv"
    real = Path.read_bytes

    def read_bytes(self):
        if self == target:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    p = the_error(validate_path(folder))
    assert (p.file, p.rule) == (str(target), "permission denied: the file cannot be read")


# ---- references and derived counts ---------------------------------------------------------


def test_exclusion_names_unknown_record(folder):
    path = folder / "exclusions.csv"
    rows = _rows(path)
    rows[1][rows[0].index("record_id")] = "Nobody2001"
    _write(path, rows)
    p = the_error(validate_path(folder))
    assert (p.file, p.row, p.column, p.value) == (str(path), "2", "record_id", "Nobody2001")
    assert p.rule.startswith("no such")


def test_deleted_episode_row(folder):
    path = folder / "episodes.csv"
    rows = _rows(path)
    pid = rows[1][rows[0].index("patient_id")]
    gone = rows[1][0]
    left = sum(r[rows[0].index("patient_id")] == pid for r in rows[2:])
    _write(path, rows[:1] + rows[2:])
    problems = errors_only(validate_path(folder))
    counts = [p for p in problems if p.column == "n_episodes"]
    assert len(counts) == 1 and counts[0].file == str(folder / "patients.csv")
    assert counts[0].rule.startswith(f"episodes has {left} row(s) of this patient_id")
    # the exclusions that named the deleted episode are reported too: they point at nothing
    assert all(p.column == "record_id" and p.value == gone for p in problems if p not in counts)


def _mistype_patient_of(folder, episode):
    """Give ``episode`` a patient_id that no patient has; return its episodes.csv line."""
    return edit(folder, "episodes", episode, "patient_id", "Nobody2001_P1")


def test_mistyped_key_is_the_one_error_not_the_count_it_leaves_short(folder):
    line = _mistype_patient_of(folder, "AbataceptSts2012_P1_E1")
    p = the_error(validate_path(folder))  # not also AbataceptSts2012_P1's n_episodes
    assert (p.file, p.row, p.column, p.value) == (
        str(folder / "episodes.csv"), line, "patient_id", "Nobody2001_P1")  # fmt: skip
    assert p.rule.startswith("no such patient_id")


def test_mistyped_key_does_not_hide_rows_added_elsewhere(folder):
    _mistype_patient_of(folder, "AbataceptSts2012_P1_E1")
    line = edit(folder, "patients", "BaderMeunier2011_P2", "n_episodes", "1")  # it has 2 rows
    counts = [p for p in errors_only(validate_path(folder)) if p.column == "n_episodes"]
    assert [(p.row, p.value) for p in counts] == [(line, "1")]
    assert counts[0].rule.startswith("episodes has 2 row(s) of this patient_id: rows were")


def test_more_rows_missing_than_mistyped_keys_reports_every_short_count(folder):
    _mistype_patient_of(folder, "AbataceptSts2012_P1_E1")
    path = folder / "episodes.csv"
    rows = _rows(path)
    _write(path, [r for r in rows if r[0] != "AbataceptIntramuscular2020_P1_E1"])
    counts = [p for p in errors_only(validate_path(folder)) if p.column == "n_episodes"]
    assert sorted(p.row for p in counts) == ["2", "3"]  # both patients: 2 missing, 1 unknown key
    assert all(p.rule.startswith("episodes has 0 row(s) of this patient_id (1 row(s) of episodes "
                                 "name a patient_id that is not there)") for p in counts)  # fmt: skip


# ---- valid variants ------------------------------------------------------------------------


def test_crlf_line_endings_pass(folder):
    for path in folder.glob("*.csv"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert errors_only(validate_path(folder)) == []


def test_quoted_newline_and_blank_line_pass(folder):
    path = folder / "cohorts.csv"
    rows = _rows(path)
    rows[2][rows[0].index("notes")] = "first line,\nsecond line"
    _write(path, rows)
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "\n", encoding="utf-8")  # a blank line at the end
    lines = text.splitlines(keepends=True)
    path.write_text("".join(lines[:4]) + "\n" + "".join(lines[4:]), encoding="utf-8")
    assert errors_only(validate_path(folder)) == []


def test_quoted_newline_keeps_row_numbers(folder):
    path = folder / "cohorts.csv"
    rows = _rows(path)
    rows[1][rows[0].index("notes")] = "a note\nover two lines"
    rows[3][rows[0].index("n_patients")] = "many"
    _write(path, rows)
    p = the_error(validate_path(folder))
    assert (p.row, p.column) == ("5", "n_patients")  # line 5: row 4 starts after the 2-line cell


def test_study_with_one_child_passes(tmp_path, source, write_source):
    from jdmstats.evidence.harmonise import harmonise

    source["cohorts"][0].update(n_patients=1, n_calcinosis=1, calcinosis_pct=100.0)
    write_source(source)
    harmonise(tmp_path / "extraction", tmp_path / "h")
    assert validate_path(tmp_path / "h") == []


# ---- jdmstats run --data validates first ---------------------------------------------------


def _jdmstats(*args):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "jdmstats", *args], capture_output=True,
                          text=True, cwd=ROOT)  # fmt: skip


def test_run_refuses_an_emptied_cohorts_table(folder, tmp_path):
    path = folder / "cohorts.csv"
    _write(path, _rows(path)[:1])
    r = _jdmstats("run", "--data", str(folder), "--out", str(tmp_path / "o"), "--only",
                  "prevalence")
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr
    assert f"{folder / 'studies.csv'}:" in r.stdout and "cohorts has 0 row(s)" in r.stdout
    assert not (tmp_path / "o" / "tables").exists()


def test_run_refuses_a_folder_with_a_directory_for_a_table(folder, tmp_path):
    (folder / "cohorts.csv").unlink()
    (folder / "cohorts.csv").mkdir()
    r = _jdmstats("run", "--data", str(folder), "--out", str(tmp_path / "o"))
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr
    assert r.stdout.strip() == f"{folder / 'cohorts.csv'}: is a folder, not a file"


def test_run_skips_a_step_that_would_be_empty_and_says_so(tmp_path, source, write_source):
    """A full run skips a step whose data are missing (printed, in warnings.csv, in the report)
    and removes that step's files of an earlier run; a step named with --only is refused."""
    import json

    import pandas as pd

    from jdmstats.evidence.harmonise import harmonise
    from jdmstats.report import build_html

    write_source(source)
    harmonise(tmp_path / "extraction", tmp_path / "h")
    out = tmp_path / "o"
    r = _jdmstats("run", "--data", str(tmp_path / "h"), "--out", str(out), "--only",
                  "prevalence", "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (out / "tables" / "prevalence.csv").is_file()  # the earlier run's files

    source["cohorts"][0].update(include_primary=False, exclusion_reason="a test")
    write_source(source)
    harmonise(tmp_path / "extraction", tmp_path / "h")
    assert validate_path(tmp_path / "h") == []  # valid data: the analysis is what is empty
    why = "cohorts.csv: no cohort in the primary prevalence analysis (include_primary)"
    r = _jdmstats("run", "--data", str(tmp_path / "h"), "--out", str(out), "--only",
                  "descriptive,prevalence")
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr
    assert r.stdout.strip() == (f"{tmp_path / 'h' / 'cohorts.csv'}: no cohort in the primary "
                                "prevalence analysis (include_primary): the prevalence step "
                                "would be empty; add the data, or leave the step out (--only)")

    r = _jdmstats("run", "--data", str(tmp_path / "h"), "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr.splitlines()[0] == f"prevalence: skipped: {why} (the step would be empty)"
    notes = pd.read_csv(out / "tables" / "warnings.csv", dtype=str, keep_default_na=False)
    skipped = notes[notes["category"] == "SkippedStep"]
    assert skipped[["step", "message"]].values.tolist() == [
        ["prevalence", f"not run (it would be empty): {why}"]]
    files = json.loads((out / "figures" / "MANIFEST.json").read_text())["files"]
    assert not [f for f, e in files.items() if e["step"] == "prevalence"]
    assert not (out / "tables" / "prevalence.csv").exists()  # the earlier run's file is gone
    assert {e["step"] for e in files.values()} >= {"descriptive", "response", "prisma"}
    page = build_html(out, tmp_path / "h")
    section = page[page.index('<section id="prevalence">'):]
    section = section[:section.index("</section>")]
    assert f"This step was not run (it would be empty): {why}." in section


def test_run_refuses_data_on_which_every_step_would_be_empty(harmonised, tmp_path, monkeypatch):
    from jdmstats.errors import DataValidationError
    from jdmstats.outputs import runner

    nothing = ("studies", "nothing usable", lambda tables: 0)
    monkeypatch.setattr(runner, "STEP_NEEDS", {name: nothing for name in runner.STEPS})
    with pytest.raises(DataValidationError) as info:
        runner.run(harmonised, tmp_path / "o", quiet=True)
    assert [p.rule for p in info.value.problems] == [
        f"nothing usable: the {name} step would be empty; add the data, or leave the step out "
        "(--only)" for name in runner.STEPS]
    assert not (tmp_path / "o").exists()


# ---- the datapackage, checked by frictionless (a test extra; the library never imports it) --


def test_bundled_datapackage_is_valid_for_frictionless():
    import frictionless

    report = frictionless.validate(str(BUNDLED / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:20]


def test_frictionless_and_jdmstats_find_the_same_planted_defect(folder):
    import frictionless

    row = edit(folder, "cohorts", "AlMayouf2017", "n_patients", str(10**15))
    ours = the_error(validate_path(folder))
    report = frictionless.validate(str(folder / "datapackage.json"))
    theirs = [e for e in report.flatten(["rowNumber", "fieldName", "type"]) if e[2] != "hash-count"]
    assert theirs == [[int(row), "n_patients", "constraint-error"]]
    assert (ours.row, ours.column) == (row, "n_patients")
