"""Descriptive tables of the evidence: sources by country and decade, case patients, episodes.

Examples
--------
>>> from jdmstats import datasets, descriptive
>>> tables = descriptive.describe(datasets.load_all())
>>> sorted(tables)
['case_patients', 'episodes_by_class', 'studies_by_country', 'studies_by_decade']
"""

from __future__ import annotations

import pandas as pd


def _decade(year: pd.Series) -> pd.Series:
    return (year // 10 * 10).astype("Int64").astype(str) + "s"


def studies_by(studies: pd.DataFrame, cohorts: pd.DataFrame, key: str) -> pd.DataFrame:
    """Count sources, cohorts, cohort children and case patients per ``key`` of studies."""
    s = studies.assign(decade=_decade(studies["year"]))
    keys = [key, "region"] if key == "country" else [key]
    c = cohorts.drop(columns=[k for k in keys if k in cohorts]).merge(
        s[["study_id", *keys]], on="study_id", how="left"
    )
    out = s.groupby(keys, observed=True).agg(
        sources=("study_id", "nunique"), case_patients=("n_case_patients", "sum")
    )
    cc = c.groupby(keys, observed=True).agg(
        cohorts=("cohort_id", "size"), cohort_children=("n_patients", "sum")
    )
    out = out.join(cc, how="left").fillna(0).astype("int64").reset_index()
    for k in keys:
        out[k] = out[k].astype(str)
    cols = [*keys, "sources", "cohorts", "cohort_children", "case_patients"]
    return out[cols].sort_values(keys, kind="stable").reset_index(drop=True)


def case_patients(patients: pd.DataFrame) -> pd.DataFrame:
    """Characteristics of the case-report patients: sex, antibody, calcinosis type (counts)."""
    rows = []
    for label, col in (("sex", "sex"), ("antibody", "antibody")):
        counts = patients[col].astype("string").fillna("not stated").value_counts()
        rows += [(label, str(k), int(v)) for k, v in counts.items()]
    types = patients["calcinosis_type"].fillna("not stated").str.split(";").explode()
    rows += [("calcinosis_type", str(k), int(v)) for k, v in types.value_counts().items()]
    ages = patients["age_onset_years"].dropna()
    rows.append(("age_onset_years", "patients with age stated", int(ages.size)))
    out = pd.DataFrame(rows, columns=["characteristic", "level", "patients"])
    return out.sort_values(["characteristic", "level"], kind="stable").reset_index(drop=True)


def episodes_by_class(episodes: pd.DataFrame) -> pd.DataFrame:
    """Therapy episodes per class: patients, sources, responses and timing available."""
    e = episodes.assign(therapy_class=episodes["therapy_class"].astype(str))
    g = e.groupby("therapy_class")
    out = pd.DataFrame({
        "episodes": g.size(),
        "patients": g["patient_id"].nunique(),
        "sources": g["study_id"].nunique(),
        "complete": g["response"].apply(lambda r: int((r == "complete").sum())),
        "partial": g["response"].apply(lambda r: int((r == "partial").sum())),
        "none": g["response"].apply(lambda r: int((r == "none").sum())),
        "progression": g["response"].apply(lambda r: int((r == "progression").sum())),
        "not_stated": g["response"].apply(lambda r: int((r == "not_stated").sum())),
        "with_timing": g["censoring"].apply(lambda c: int((c.astype(str) != "none").sum())),
    })  # fmt: skip
    return out.reset_index().sort_values("therapy_class", kind="stable").reset_index(drop=True)


def describe(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """All descriptive tables from loaded harmonised tables (see :func:`jdmstats.evidence.datasets.load_all`)."""
    studies, cohorts = tables["studies"], tables["cohorts"]
    return {
        "studies_by_country": studies_by(studies, cohorts, "country"),
        "studies_by_decade": studies_by(studies, cohorts, "decade"),
        "case_patients": case_patients(tables["patients"]),
        "episodes_by_class": episodes_by_class(tables["episodes"]),
    }
