"""Shared fixtures: a minimal valid extraction file that tests break one rule at a time."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

VALID_SOURCE = {
    "study_id": "Testauthor2010",
    "first_author": "Testauthor",
    "year": 2010,
    "title": "A made-up cohort used only by the test-suite",
    "journal": "Test J",
    "doi": "10.0000/test.2010",
    "url": "https://example.org/test2010",
    "source_level": "abstract",
    "country": "United Kingdom",
    "design": "retrospective_cohort",
    "period_start": 1990,
    "period_end": 2005,
    "cohorts": [
        {
            "n_patients": 120,
            "n_calcinosis": 36,
            "calcinosis_pct": 30.0,
            "calcinosis_timing": "cumulative",
            "delay": {
                "value": 4,
                "unit": "months",
                "stat": "median",
                "spread": "iqr",
                "low": 2,
                "high": 8,
                "definition": "onset_to_diagnosis",
            },
            "followup": {"value": 4.5, "unit": "years", "stat": "median"},
            "locator": "abstract",
        }
    ],
    "patients": [
        {
            "id": "P1",
            "sex": "F",
            "age_onset": {"value": 6, "unit": "years"},
            "calcinosis": True,
            "calcinosis_type": ["circumscripta"],
            "locator": "case 1",
            "episodes": [
                {
                    "agents": "pamidronate",
                    "response": "partial",
                    "time_basis": "by_visit",
                    "time_to_response": {"value": 6, "unit": "months"},
                    "followup": {"value": 12, "unit": "months"},
                    "locator": "case 1",
                },
                {
                    "agents": "diltiazem",
                    "response": "none",
                    "time_basis": "not_stated",
                    "followup": {"value": 1, "unit": "years"},
                    "locator": "case 1",
                },
            ],
        }
    ],
}


@pytest.fixture
def source():
    """A deep copy of the valid source, to be broken by the test."""
    return copy.deepcopy(VALID_SOURCE)


@pytest.fixture
def write_source(tmp_path):
    """Write a source dict to ``tmp_path/extraction/<study_id>.yaml`` and return the path."""

    def _write(doc, name=None):
        folder = tmp_path / "extraction"
        folder.mkdir(exist_ok=True)
        path = folder / f"{name or doc['study_id']}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def harmonised(tmp_path, source, write_source):
    """A harmonised folder built from the valid source."""
    from jdmstats.evidence.harmonise import harmonise

    write_source(source)
    out = tmp_path / "harmonised"
    harmonise(tmp_path / "extraction", out)
    return out



@pytest.fixture
def close_figures():
    """Close every matplotlib figure a test opened (the plot test modules use it throughout)."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
