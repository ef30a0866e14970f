"""Mechanical checks of the bundled evidence (issue: curate the published literature).

What a person cannot be trusted to re-check by eye on every edit: counts agree with stated
percentages, no source is entered twice, every row is traceable to a page, and the size of the
evidence does not silently shrink (``FLOORS`` are the counts reached when the data were last
curated; the issue's targets are in ``TARGETS``). Both, and the counts, live in
``tools/targets.py``, which reports the counts against the targets.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jdmstats import datasets, schema

ROOT = Path(__file__).resolve().parent.parent


def _targets_tool():
    """``tools/targets.py``, which holds the counts, floors and targets (tools/ is no package)."""
    spec = importlib.util.spec_from_file_location("jdmstats_targets_tool", ROOT / "tools" /
                                                  "targets.py")  # fmt: skip
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


targets = _targets_tool()
FLOORS, TARGETS, evidence_counts = targets.FLOORS, targets.TARGETS, targets.evidence_counts


@pytest.fixture(scope="module")
def tables():
    return datasets.load_all()


def test_evidence_does_not_shrink(tables):
    counts = evidence_counts(tables)
    shrunk = {k: (counts[k], v) for k, v in FLOORS.items() if counts[k] < v}
    assert not shrunk, f"evidence shrank below the curated floors (now, floor): {shrunk}"


def test_targets_tool_reports_every_quantity(tables):
    """``python tools/targets.py`` prints each count with its floor and target."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's jdmstats and data
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "targets.py")], cwd=ROOT, env=env,
                       capture_output=True, text=True, stdin=subprocess.DEVNULL)  # fmt: skip
    assert r.returncode == 0, r.stderr
    counts = evidence_counts(tables)
    assert set(counts) == set(TARGETS) == set(FLOORS)
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["quantity", "count", "floor", "target"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert list(rows) == list(TARGETS)
    for k, (count, floor, target, *state) in rows.items():
        assert (int(count), int(floor), int(target)) == (counts[k], FLOORS[k], TARGETS[k])
        reached = counts[k] >= TARGETS[k]
        assert state == (["reached"] if reached else [str(TARGETS[k] - counts[k]), "to", "go"])


def test_targets_tool_reads_a_data_folder(tmp_path, source):
    source.pop("patients")
    (tmp_path / "ex").mkdir()
    (tmp_path / "ex" / "Testauthor2010.yaml").write_text(yaml.safe_dump(source))
    assert targets.main(["--data", str(tmp_path / "ex")]) == 0


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
