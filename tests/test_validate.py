"""One failing fixture per validation rule; the message names file, row, column, value, rule."""

from __future__ import annotations

import csv

import pytest

from jdmstats import schema
from jdmstats.evidence.validate import validate_path


def only(problems, column=None, contains="", n=1):
    """Assert that exactly the planted problem is reported (``n`` problems, one per row it
    touches, each on ``column`` with a rule containing ``contains``) and return the first."""
    shown = [str(p) for p in problems]
    assert len(problems) == n, f"expected exactly {n} problem(s), got {len(problems)}: {shown}"
    for p in problems:
        assert (column is None or p.column == column) and contains in p.rule, (
            f"expected only problems on {column!r} containing {contains!r}, got: {shown}"
        )
    return problems[0]


def test_valid_source_has_no_problems(source, write_source):
    assert validate_path(write_source(source)) == []


# ---- extraction (YAML) rules -------------------------------------------------------------


def test_yaml_syntax_error_names_line(tmp_path):
    path = tmp_path / "Broken2010.yaml"
    path.write_text("study_id: Broken2010\ncohorts: [\n  - n_patients: 3\n", encoding="utf-8")
    (p,) = validate_path(path)
    assert p.file == str(path) and "YAML syntax error" in p.rule and p.row


def test_not_a_mapping(tmp_path):
    path = tmp_path / "List2010.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    only(validate_path(path), None, "must be a YAML mapping")


def test_unknown_key_did_you_mean(source, write_source):
    source["cohorts"][0]["n_calcinosys"] = 3
    p = only(validate_path(write_source(source)), "n_calcinosys", "unknown key")
    assert "did you mean 'n_calcinosis'" in p.rule
    assert "cohorts[0]" in p.row


def test_study_id_must_match_file_name(source, write_source):
    p = only(validate_path(write_source(source, name="Other2010")), "study_id", "file name")
    assert p.value == "Testauthor2010"


def test_study_id_pattern(source, write_source):
    source["study_id"] = "Al-Test2010"
    only(validate_path(write_source(source)), "study_id", "FirstauthorYYYY")


def test_study_id_year_matches_year(source, write_source):
    source["year"] = 2011
    only(validate_path(write_source(source)), "study_id", "must match year")


def test_required_value_missing(source, write_source):
    del source["cohorts"][0]["n_patients"]
    only(validate_path(write_source(source)), "n_patients", "required value is missing")


def test_count_not_stated_needs_exclusion(source, write_source):
    source["cohorts"][0].update(n_calcinosis=None, calcinosis_pct=None)
    only(validate_path(write_source(source)), "n_calcinosis", "include_primary: false")
    source["cohorts"][0].update(include_primary=False, exclusion_reason="count not stated")
    assert validate_path(write_source(source)) == []


def test_missing_locator(source, write_source):
    del source["patients"][0]["episodes"][0]["locator"]
    p = only(validate_path(write_source(source)), "locator", "required")
    assert "patients[0].episodes[0]" in p.row


def test_source_url_or_doi_required(source, write_source):
    del source["url"], source["doi"]
    # the source's address is every row's: the study, its cohort, its patient, two episodes
    only(validate_path(write_source(source)), "url", "url or a doi", n=5)


def test_integer_type(source, write_source):
    source["cohorts"][0]["n_patients"] = "many"
    p = only(validate_path(write_source(source)), "n_patients", "whole number")
    assert p.value == "many"


def test_calcinosis_not_more_than_patients(source, write_source):
    source["cohorts"][0].update(n_calcinosis=130, calcinosis_pct=None)
    p = only(validate_path(write_source(source)), "n_calcinosis", "<= n_patients")
    assert p.value == "130"


def test_negative_count(source, write_source):
    source["cohorts"][0].update(n_calcinosis=-1, calcinosis_pct=None)
    only(validate_path(write_source(source)), "n_calcinosis", ">= 0")


def test_negative_duration(source, write_source):
    source["cohorts"][0]["followup"]["value"] = -2
    only(validate_path(write_source(source)), "followup_months", ">= 0")


def test_implausible_age(source, write_source):
    source["patients"][0]["age_onset"]["value"] = 25
    only(validate_path(write_source(source)), "age_onset_years", "<= 18")


def test_vocabulary_did_you_mean(source, write_source):
    source["patients"][0]["episodes"][0]["response"] = "partal"
    p = only(validate_path(write_source(source)), "response", "not in the vocabulary")
    assert "did you mean 'partial'" in p.rule and "accepted:" in p.rule


def test_multi_vocabulary(source, write_source):
    source["patients"][0]["calcinosis_type"] = ["circumscripta", "tumorall"]
    p = only(validate_path(write_source(source)), "calcinosis_type", "not in the vocabulary")
    assert "tumoral" in p.rule


def test_unknown_country(source, write_source):
    source["country"] = "Brasil"
    p = only(validate_path(write_source(source)), "country", "not in the vocabulary")
    assert "Brazil" in p.rule


def test_unknown_agent(source, write_source):
    source["patients"][0]["episodes"][0]["agents"] = "pamidronat"
    p = only(validate_path(write_source(source)), "agents", "unknown agent")
    assert "pamidronate" in p.rule


def test_measure_unit(source, write_source):
    source["cohorts"][0]["delay"]["unit"] = "fortnights"
    only(validate_path(write_source(source)), "unit", "unit must be one of")


def test_spread_needs_kind(source, write_source):
    del source["cohorts"][0]["delay"]["spread"]
    only(validate_path(write_source(source)), "spread", "iqr or range")


def test_low_not_above_high(source, write_source):
    source["cohorts"][0]["delay"].update(low=9, high=8)
    only(validate_path(write_source(source)), "delay_low_months", "lower end")


def test_exclusion_needs_reason(source, write_source):
    source["cohorts"][0]["include_primary"] = False
    only(validate_path(write_source(source)), "exclusion_reason", "give the reason")


def test_count_and_percentage_disagree(source, write_source):
    source["cohorts"][0]["calcinosis_pct"] = 40.0
    only(validate_path(write_source(source)), "calcinosis_pct", "disagrees")


def test_count_and_percentage_disagreement_can_be_acknowledged(source, write_source):
    source["cohorts"][0].update(calcinosis_pct=40.0, count_pct_disagree=True)
    assert validate_path(write_source(source)) == []


def test_odds_ratio_within_ci(source, write_source):
    source["cohorts"][0]["delay_or"] = {"value": 3.0, "ci_low": 1.1, "ci_high": 2.0}
    only(validate_path(write_source(source)), "delay_or", "within its CI")


def test_period_order(source, write_source):
    source["period_start"] = 2006
    only(validate_path(write_source(source)), "period_start", "after period_end")


def test_overlap_reference(source, write_source):
    source["overlaps_with"] = "Nobody1999"
    # the cohort inherits the source's overlaps_with: both rows name the unknown source
    problems = validate_path(write_source(source))
    only(problems, "overlaps_with", "no such study_id", n=2)
    assert [p.row.split()[-1] for p in problems] == ["1", "(cohorts[0])"]


def test_duplicate_source_under_two_ids(source, write_source):
    write_source(source)
    other = dict(source, study_id="Other2010", first_author="Other", title="Another title")
    write_source(other)
    problems = validate_path(write_source(source).parent)
    only(problems, "doi", "same doi as")


def test_duplicate_patient_ids(source, write_source):
    source["patients"].append(dict(source["patients"][0], episodes=[]))
    # both patients carry the id
    only(validate_path(write_source(source)), "patient_id", "duplicate", n=2)


def test_time_of_regression_after_followup(source, write_source):
    source["patients"][0]["episodes"][0]["time_to_response"]["value"] = 18
    only(validate_path(write_source(source)), "time_upper_months", "<= follow-up")


def test_timed_response_needs_a_time(source, write_source):
    del source["patients"][0]["episodes"][0]["time_to_response"]
    only(validate_path(write_source(source)), "time_upper_months", "no time of regression")


def test_episode_patient_must_have_calcinosis(source, write_source):
    source["patients"][0]["calcinosis"] = False
    # one problem per episode of the patient (two)
    only(validate_path(write_source(source)), "patient_id", "must have calcinosis", n=2)


# ---- harmonised (CSV) rules --------------------------------------------------------------


def _rewrite(path, edit):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    edit(rows)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def test_csv_required_column_missing(harmonised):
    path = harmonised / "cohorts.csv"
    _rewrite(path, lambda rows: [r.pop(rows[0].index("n_patients")) for r in rows[::-1]])
    p = only(validate_path(path), "n_patients", "required column is missing")
    assert p.row == "1"


def test_csv_unknown_column(harmonised):
    path = harmonised / "cohorts.csv"
    _rewrite(path, lambda rows: rows[0].__setitem__(rows[0].index("label"), "lable"))
    p = only(validate_path(path), "lable", "unknown column")
    assert "did you mean 'label'" in p.rule


def test_csv_ragged_row(harmonised):
    path = harmonised / "studies.csv"
    _rewrite(path, lambda rows: rows[1].append("extra"))
    p = only(validate_path(path), None, "cells, the header has")
    assert p.row == "2"


def test_csv_number_type_row_and_value(harmonised):
    path = harmonised / "episodes.csv"
    col = schema.EPISODES.names.index("followup_months")
    _rewrite(path, lambda rows: rows[2].__setitem__(col, "twelve"))
    p = only(validate_path(path), "followup_months", "must be a number")
    assert (p.row, p.value) == ("3", "twelve")


def test_csv_time_lower_above_upper(harmonised):
    path = harmonised / "episodes.csv"
    lo = schema.EPISODES.names.index("time_lower_months")
    _rewrite(path, lambda rows: rows[1].__setitem__(lo, "9"))
    only(validate_path(path), "time_lower_months", "time_lower must be <= time_upper")


def test_csv_episode_references_unknown_patient(harmonised):
    path = harmonised / "episodes.csv"
    col = schema.EPISODES.names.index("patient_id")
    _rewrite(path, lambda rows: rows[1].__setitem__(col, "Testauthor2010_P9"))
    p = only(validate_path(harmonised), "patient_id", "no such patient_id in patients")
    assert "did you mean 'Testauthor2010_P1'" in p.rule


def test_csv_patient_references_unknown_study(harmonised):
    path = harmonised / "patients.csv"
    col = schema.PATIENTS.names.index("study_id")
    _rewrite(path, lambda rows: rows[1].__setitem__(col, "Nobody2001"))
    only(validate_path(harmonised), "study_id", "no such study_id in studies")


def test_csv_censoring_consistent(harmonised):
    path = harmonised / "episodes.csv"
    col = schema.EPISODES.names.index("censoring")
    _rewrite(path, lambda rows: rows[1].__setitem__(col, "right"))
    only(validate_path(path), "censoring", "expected 'interval'")


def test_csv_unknown_table_name(tmp_path):
    path = tmp_path / "cohort.csv"
    path.write_text("a\n1\n", encoding="utf-8")
    only(validate_path(path), None, "did you mean 'cohorts'")


def test_missing_path(tmp_path):
    only(validate_path(tmp_path / "nope"), None, "no such file")


def test_problem_line_format(source, write_source):
    source["cohorts"][0]["n_patients"] = "many"
    path = write_source(source)
    (p,) = [p for p in validate_path(path) if p.column == "n_patients"]
    assert str(p).startswith(f"{path}:") and "n_patients = 'many': must be a whole number" in str(p)


@pytest.mark.parametrize("table", list(schema.TABLES.values()), ids=list(schema.TABLES))
def test_every_vocabulary_column_rejects_unknown_values(table):
    from jdmstats.evidence.validate import check_value

    for col in table.columns:
        if col.vocab is not None:
            assert check_value("certainly-not-a-value", col), col.name


def test_blank_year_needs_an_nd_study_id(source, write_source):
    del source["year"]
    only(validate_path(write_source(source)), "year", "end the study_id in ND")


def test_nd_study_id_with_blank_year_is_valid(source, write_source):
    del source["year"]
    source["study_id"] = "TestauthorND"
    assert validate_path(write_source(source, name="TestauthorND")) == []


def test_nd_study_id_must_not_have_a_year(source, write_source):
    source["study_id"] = "TestauthorND"
    only(validate_path(write_source(source, name="TestauthorND")), "study_id", "means no year")


def test_study_label_of_an_id_without_year():
    from jdmstats.evidence.schema import study_label

    assert study_label("ShehataND") == "Shehata n.d."
    assert study_label("Pachman1998") == "Pachman 1998"
    assert study_label("Wang2021_B") == "Wang 2021 B"
    assert study_label("Smithson") == "Smithson"


def test_study_id_in_text_finds_nd_ids():
    from jdmstats.evidence.schema import STUDY_ID_IN_TEXT

    assert STUDY_ID_IN_TEXT.findall("Mukamel2001;ShehataND;Yildirim2021") == [
        "Mukamel2001", "ShehataND", "Yildirim2021"]
