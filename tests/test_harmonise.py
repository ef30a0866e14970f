"""Extraction → harmonised: unit conversion, derived fields, exclusions, determinism, hashes."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from jdmstats import datasets, schema
from jdmstats.errors import DataValidationError
from jdmstats.evidence.harmonise import harmonise

ROOT = Path(__file__).resolve().parent.parent
HASHES = Path(__file__).with_name("harmonised_sha256.json")


def test_round_trip(harmonised):
    tables = datasets.load_all(harmonised)
    c = tables["cohorts"].iloc[0]
    assert c["cohort_id"] == "Testauthor2010" and c["n_patients"] == 120
    assert c["followup_months"] == pytest.approx(54.0)  # 4.5 years
    assert c["followup_unit_raw"] == "years" and c["followup_stat"] == "median"
    assert (c["delay_months"], c["delay_low_months"], c["delay_high_months"]) == (4, 2, 8)
    assert c["delay_definition"] == "onset_to_diagnosis" and bool(c["include_primary"])
    assert c["region"] == "europe"
    e = tables["episodes"].set_index("episode_id")
    first, second = e.loc["Testauthor2010_P1_E1"], e.loc["Testauthor2010_P1_E2"]
    assert first["therapy_class"] == "bisphosphonate" and first["censoring"] == "interval"
    assert (first["time_lower_months"], first["time_upper_months"]) == (0, 6)
    assert bool(first["regressed"]) and not bool(first["complete"])
    assert second["therapy_class"] == "calcium_channel_blocker" and second["censoring"] == "right"
    assert second["time_lower_months"] == 12 and pd_isna(second["time_upper_months"])
    p = tables["patients"].iloc[0]
    assert p["patient_id"] == "Testauthor2010_P1" and p["n_episodes"] == 2


def pd_isna(x):
    import pandas as pd

    return bool(pd.isna(x))


def test_units_to_months(source, write_source, tmp_path):
    c = source["cohorts"][0]
    c["delay"] = {"value": 70, "unit": "days", "stat": "mean", "definition": "onset_to_treatment"}
    c["followup"] = {"value": 26, "unit": "weeks", "stat": "mean"}
    write_source(source)
    harmonise(tmp_path / "extraction", tmp_path / "h")
    row = datasets.load_cohorts(tmp_path / "h").iloc[0]
    assert row["delay_months"] == pytest.approx(70 * 12 / 365.25, abs=1e-6)
    assert row["followup_months"] == pytest.approx(26 * 7 * 12 / 365.25, abs=1e-6)


def test_overlap_excludes_from_primary_and_is_logged(source, write_source, tmp_path):
    write_source(source)
    later = dict(
        source,
        study_id="Later2012",
        first_author="Later",
        year=2012,
        title="A later report on the same children",
        doi="10.0000/later",
        overlaps_with="Testauthor2010",
        patients=[],
    )
    write_source(later)
    harmonise(tmp_path / "extraction", tmp_path / "h")
    cohorts = datasets.load_cohorts(tmp_path / "h").set_index("cohort_id")
    assert not bool(cohorts.loc["Later2012", "include_primary"])
    assert "Testauthor2010" in cohorts.loc["Later2012", "exclusion_reason"]
    exc = datasets.load_exclusions(tmp_path / "h")
    row = exc[exc["record_id"] == "Later2012"].iloc[0]
    assert row["analysis"] == "prevalence_primary" and "counted once" in row["reason"]


def test_unusable_episodes_are_logged(source, write_source, tmp_path):
    ep = source["patients"][0]["episodes"]
    ep.append({"agents": "colchicine", "response": "not_stated", "locator": "case 1"})
    ep[1].pop("followup")
    write_source(source)
    harmonise(tmp_path / "extraction", tmp_path / "h")
    exc = datasets.load_exclusions(tmp_path / "h").set_index(["record_id", "analysis"])
    assert "not stated" in exc.loc[("Testauthor2010_P1_E2", "time_to_regression"), "reason"]
    assert (
        exc.loc[("Testauthor2010_P1_E3", "response_proportion"), "reason"] == "response not stated"
    )


def test_combination_class(source, write_source, tmp_path):
    source["patients"][0]["episodes"][0]["agents"] = "pamidronate; cyclophosphamide"
    write_source(source)
    harmonise(tmp_path / "extraction", tmp_path / "h")
    e = datasets.load_episodes(tmp_path / "h").iloc[0]
    assert e["therapy_class"] == "combination"
    assert e["therapy_classes"] == "bisphosphonate;cyclophosphamide"


def test_bad_extraction_writes_nothing(source, write_source, tmp_path):
    source["cohorts"][0]["n_calcinosis"] = 500
    write_source(source)
    with pytest.raises(DataValidationError) as info:
        harmonise(tmp_path / "extraction", tmp_path / "h")
    assert any(p.column == "n_calcinosis" for p in info.value.problems)
    assert not (tmp_path / "h").exists()


def test_extraction_files_are_never_rewritten(harmonised, tmp_path):
    path = tmp_path / "extraction" / "Testauthor2010.yaml"
    before = path.read_bytes()
    harmonise(tmp_path / "extraction", tmp_path / "again")
    assert path.read_bytes() == before


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.suffix in (".csv", ".json")
    }


def test_bundled_harmonise_twice_is_byte_identical(tmp_path):
    extraction = tmp_path / "data" / "extraction"
    shutil.copytree(ROOT / "data" / "extraction", extraction)
    if (ROOT / "data" / "search_log.csv").exists():
        shutil.copy(ROOT / "data" / "search_log.csv", tmp_path / "data" / "search_log.csv")
    if (ROOT / "data" / "search").is_dir():
        shutil.copytree(ROOT / "data" / "search", tmp_path / "data" / "search")
    harmonise(extraction, tmp_path / "one")
    harmonise(extraction, tmp_path / "two")
    assert _digest(tmp_path / "one") == _digest(tmp_path / "two")
    # and identical to the committed tables: data/harmonised is up to date
    assert _digest(tmp_path / "one") == _digest(ROOT / "data" / "harmonised"), (
        "data/harmonised is stale: run `jdmstats harmonise` and commit the result"
    )


def test_pinned_hashes():
    """Harmonised tables change only on purpose: update tests/harmonised_sha256.json with them."""
    pinned = json.loads(HASHES.read_text())
    actual = {k: v for k, v in _digest(ROOT / "data" / "harmonised").items() if k in pinned}
    assert set(pinned) == {
        t.filename
        for t in schema.TABLES.values()
        if (ROOT / "data" / "harmonised" / t.filename).exists()
    }
    assert actual == pinned, "harmonised data changed; if on purpose, update " + json.dumps(
        actual, indent=1
    )


def test_datapackage_describes_every_column():
    dp = json.loads((ROOT / "data" / "harmonised" / "datapackage.json").read_text())
    resources = {r["name"]: r for r in dp["resources"]}
    for table in schema.TABLES.values():
        fields = resources[table.name]["schema"]["fields"]
        assert [f["name"] for f in fields] == list(table.names)
        for f, col in zip(fields, table.columns, strict=True):
            assert f["type"] == col.type and f["description"]
            if col.vocab and not col.multi:
                assert f["constraints"]["enum"] == list(col.vocab)
            if col.unit:
                assert f["unit"] == col.unit
