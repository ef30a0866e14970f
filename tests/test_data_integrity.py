"""Mechanical checks of the bundled evidence (issue: curate the published literature).

What a person cannot be trusted to re-check by eye on every edit: counts agree with stated
percentages, no source is entered twice, every row is traceable to a page, and the size of the
evidence does not silently shrink (``FLOORS`` are the counts reached when the data were last
curated; the issue's targets are in ``TARGETS`` and reported by ``test_targets_report``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from jdmstats import datasets, schema

ROOT = Path(__file__).resolve().parent.parent

TARGETS = {
    "cohorts_with_counts": 40,
    "countries": 15,
    "decades": 5,
    "cohorts_with_delay": 15,
    "case_patients_with_episode": 40,
    "therapy_classes": 8,
    "timed_episodes": 12,
}
FLOORS = {
    "cohorts_with_counts": 39,
    "countries": 20,
    "decades": 5,
    "cohorts_with_delay": 18,
    "case_patients_with_episode": 23,  # Mukamel2001 alendronate moved to an arm (child not identified)
    "therapy_classes": 14,
    "timed_episodes": 2,
}


@pytest.fixture(scope="module")
def tables():
    return datasets.load_all()


def evidence_counts(t: dict[str, pd.DataFrame]) -> dict[str, int]:
    """The quantities the curation issue sets targets for, computed from the tables."""
    cohorts, studies, episodes = t["cohorts"], t["studies"], t["episodes"]
    counted = cohorts[cohorts["n_calcinosis"].notna() & cohorts["overlaps_with"].isna()]
    with_response = episodes[episodes["response"] != "not_stated"]
    named = episodes["therapy_class"].astype(str)
    classes = set(named[~named.isin(["combination", "other"])])
    for joined in episodes["therapy_classes"].dropna():
        classes.update(joined.split(";"))
    classes.discard("other")
    return {
        "cohorts_with_counts": int(len(counted)),
        "countries": int(
            studies.loc[studies["study_id"].isin(counted["study_id"]), "country"]
            .astype(str)
            .replace({"not_stated": pd.NA})
            .dropna()
            .nunique()
        ),
        "decades": int((studies["year"] // 10).nunique()),
        "cohorts_with_delay": int(cohorts["delay_months"].notna().sum()),
        "case_patients_with_episode": int(with_response["patient_id"].nunique()),
        "therapy_classes": len(classes),
        "timed_episodes": int(
            (episodes["censoring"].astype(str).isin(["exact", "interval"])).sum()
        ),
    }


def test_evidence_does_not_shrink(tables):
    counts = evidence_counts(tables)
    shrunk = {k: (counts[k], v) for k, v in FLOORS.items() if counts[k] < v}
    assert not shrunk, f"evidence shrank below the curated floors (now, floor): {shrunk}"


def test_targets_report(tables, capsys):
    """Print the counts against the issue's targets (the floors are what is enforced)."""
    counts = evidence_counts(tables)
    with capsys.disabled():
        for k, target in TARGETS.items():
            print(f"\n  {k:<28} {counts[k]:4d}  (target {target})", end="")
    assert set(counts) == set(TARGETS) == set(FLOORS)


def test_counts_agree_with_stated_percentages(tables):
    c = tables["cohorts"]
    both = c[
        c["calcinosis_pct"].notna()
        & c["n_calcinosis"].notna()
        & ~c["count_pct_disagree"].astype(bool)
    ]
    diff = (
        100 * both["n_calcinosis"].astype(float) / both["n_patients"].astype(float)
        - both["calcinosis_pct"]
    ).abs()
    assert (diff <= 1.0).all(), both.loc[
        diff > 1.0, ["cohort_id", "n_calcinosis", "n_patients", "calcinosis_pct"]
    ]


def test_disagreements_are_explained(tables):
    c = tables["cohorts"]
    flagged = c[c["count_pct_disagree"].astype(bool)]
    assert flagged["notes"].notna().all(), "a count/percentage disagreement needs a note"


def test_derived_counts_keep_their_percentage(tables):
    c = tables["cohorts"]
    derived = c[c["n_calcinosis_derived"].astype(bool)]
    # a count derived otherwise (e.g. summed from stated subgroup counts) says how in its notes
    assert derived.loc[derived["calcinosis_pct"].isna(), "notes"].notna().all()
    derived = derived[derived["calcinosis_pct"].notna()]
    # the derived count is the unique integer matching the stated percentage at 0.5-point precision
    for _, row in derived.iterrows():
        n, pct = int(row["n_patients"]), float(row["calcinosis_pct"])
        matches = [x for x in range(n + 1) if abs(100 * x / n - pct) < 0.5 + 1e-9]
        assert int(row["n_calcinosis"]) in matches, row["cohort_id"]


def test_no_source_twice(tables):
    s = tables["studies"]
    doi = s["doi"].dropna().str.lower()
    assert not doi.duplicated().any(), doi[doi.duplicated()].tolist()
    title = s["title"].str.lower().str.replace(r"[^a-z0-9]", "", regex=True)
    assert not title.duplicated().any(), s.loc[title.duplicated(), "study_id"].tolist()


def test_overlapping_cohorts_are_counted_once(tables):
    c = tables["cohorts"]
    overlapping = c[c["overlaps_with"].notna()]
    assert not overlapping["include_primary"].astype(bool).any()


@pytest.mark.parametrize("name", ["studies", "cohorts", "patients", "episodes"])
def test_every_row_traceable(tables, name):
    df = tables[name]
    has_source = df["url"].notna() | df["doi"].notna()
    assert has_source.all(), df.loc[~has_source].iloc[:, 0].tolist()
    assert df["locator"].notna().all() and (df["locator"].str.strip() != "").all()


def test_source_level_recorded(tables):
    assert tables["studies"]["source_level"].notna().all()


def test_response_words_kept_for_audit(tables):
    e = tables["episodes"]
    coded = e[e["response"] != "not_stated"]
    assert coded["response_words"].notna().all(), coded.loc[
        coded["response_words"].isna(), "episode_id"
    ].tolist()


def test_every_study_is_in_the_search_log(tables):
    log = tables.get("search_log")
    assert log is not None, "data/search_log.csv must be harmonised with the data"
    logged = set()
    for ids in log["included_ids"].dropna():
        logged.update(i.strip() for i in ids.split(";") if i.strip())
    missing = sorted(set(tables["studies"]["study_id"]) - logged)
    assert not missing, f"studies not traceable to a logged search: {missing}"
    unknown = sorted(logged - set(tables["studies"]["study_id"]))
    assert not unknown, f"search log includes ids with no extraction file: {unknown}"


def test_extraction_file_per_study(tables):
    files = {p.stem for p in (ROOT / "data" / "extraction").glob("*.yaml")}
    assert files == set(tables["studies"]["study_id"])


def test_vocabularies_hold(tables):
    for name, df in tables.items():
        for col in schema.TABLES[name].columns:
            if col.vocab is None or col.multi:
                continue
            values = set(df[col.name].dropna().astype(str))
            assert values <= set(col.vocab), (name, col.name, values - set(col.vocab))


def test_derived_row_counts_of_each_source(tables):
    """studies.n_cohorts / n_case_patients are the rows each source contributes."""
    studies = tables["studies"].set_index("study_id")
    cohorts = tables["cohorts"].groupby("study_id").size()
    patients = tables["patients"].groupby("study_id").size()
    expected_c = cohorts.reindex(studies.index, fill_value=0)
    expected_p = patients.reindex(studies.index, fill_value=0)
    assert (studies["n_cohorts"].astype(int) == expected_c).all()
    assert (studies["n_case_patients"].astype(int) == expected_p).all()
    assert studies["n_case_patients"].sum() == len(tables["patients"])
