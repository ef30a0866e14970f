"""Loaders: dtypes, validation on load, the user's own folder."""

from __future__ import annotations

import pandas as pd
import pytest

from jdmstats import datasets, schema
from jdmstats.errors import DataValidationError


@pytest.mark.parametrize("name", ["studies", "cohorts", "patients", "episodes", "exclusions"])
def test_bundled_tables_load_with_schema_dtypes(name):
    df = getattr(datasets, f"load_{name}")()
    table = schema.TABLES[name]
    assert list(df.columns) == list(table.names)
    for col in table.columns:
        dtype = df[col.name].dtype
        if col.vocab is not None and not col.multi:
            assert isinstance(dtype, pd.CategoricalDtype), col.name
        elif col.type == "integer":
            assert dtype == "Int64", col.name
        elif col.type == "number":
            assert dtype == "float64", col.name
        elif col.type == "boolean":
            assert dtype == "boolean", col.name


def test_seed_patients_and_episodes_are_bundled():
    patients = datasets.load_patients().set_index("patient_id")
    for pid in ("Mukamel2001_P1", "Mukamel2001_P2", "Yildirim2021_P1"):
        assert pid in patients.index
    assert patients.loc["Yildirim2021_P1", "antibody"] == "MDA5"
    assert patients.loc["Yildirim2021_P1", "delay_months"] == 24
    e = datasets.load_episodes().set_index("episode_id")
    last = e.loc["Yildirim2021_P1_E3"]
    assert last["time_basis"] == "by_visit" and last["censoring"] == "interval"
    assert (last["time_lower_months"], last["time_upper_months"]) == (0, 12)
    assert e.loc["Yildirim2021_P1_E2", "response"] == "none"
    # nine monthly IVIG doses without regression: right-censored at 8 months (a lower bound)
    assert e.loc["Yildirim2021_P1_E2", "censoring"] == "right"
    assert e.loc["Yildirim2021_P1_E2", "time_lower_months"] == 8
    # the source does not say which child had alendronate: an arm, not a patient's episode
    assert "Mukamel2001_P1_E2" not in e.index
    arm = datasets.load_arms().set_index("arm_id").loc["Mukamel2001_A1"]
    assert (arm["therapy_class"], arm["n_treated"], arm["n_responders"]) == ("bisphosphonate", 1, 1)


def test_loader_on_user_folder(harmonised):
    df = datasets.load_cohorts(harmonised)
    assert df["cohort_id"].tolist() == ["Testauthor2010"]


def test_loader_raises_with_problem_list(harmonised):
    path = harmonised / "cohorts.csv"
    text = path.read_text().replace(",120,36,", ",20,36,")
    path.write_text(text)
    with pytest.raises(DataValidationError) as info:
        datasets.load_cohorts(harmonised)
    (p,) = [p for p in info.value.problems if p.column == "n_calcinosis"]
    assert p.row == "2" and "cohorts.csv" in p.file and "<= n_patients" in p.rule


def test_loader_missing_folder(tmp_path):
    with pytest.raises(DataValidationError, match="not a folder"):
        datasets.load_cohorts(tmp_path / "absent")


def test_docstrings_list_every_column():
    for name, table in schema.TABLES.items():
        doc = getattr(datasets, f"load_{name}").__doc__
        for col in table.names:
            assert f"``{col}``" in doc
