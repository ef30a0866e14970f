"""Shared loader of tests/reference/analyses_reference.json (written by the R script beside it).

The JSON records the sha256 of the ``cohorts.csv`` it was computed from.  The reference tests
use the bundled harmonised data (or the folder in the environment variable
``JDMSTATS_REFERENCE_DATA``) and fail with a clear message when the data have changed since
the JSON was written.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

REF = Path(__file__).resolve().parent / "reference" / "analyses_reference.json"
RERUN = "Rscript tests/reference/analyses_reference.R"


def reference() -> dict:
    if not REF.exists():
        pytest.fail(f"{REF} is missing: run `{RERUN}` from the repository root")
    return json.loads(REF.read_text(encoding="utf-8"))


def data_folder() -> Path:
    from jdmstats import datasets

    env = os.environ.get("JDMSTATS_REFERENCE_DATA")
    return Path(env) if env else datasets.data_dir()


def checked_reference() -> tuple[dict, Path]:
    """The reference JSON and the data folder, after checking the data hash."""
    ref = reference()
    folder = data_folder()
    sha = hashlib.sha256((folder / "cohorts.csv").read_bytes()).hexdigest()
    if sha != ref["cohorts_sha256"]:
        pytest.fail(
            f"tests/reference/analyses_reference.json is stale: it was computed from a "
            f"cohorts.csv with sha256 {ref['cohorts_sha256'][:12]}..., but {folder}/cohorts.csv "
            f"has {sha[:12]}...; re-run `{RERUN}` (or `{RERUN} {folder}`) from the repository "
            "root"
        )
    return ref, folder


def rel(a, b) -> float:
    """Relative difference (absolute below 1e-12 in magnitude)."""
    a, b = float(a), float(b)
    return abs(a - b) / max(abs(b), 1e-12) if abs(b) > 1e-12 else abs(a - b)


def mc_tol(p: float, n_iter: int = 1000) -> float:
    """Allowed gap between two independent approximate permutation p-values (R's and ours,
    ``n_iter`` permutations each, different random streams): 4.5 Monte Carlo SDs."""
    p = min(max(float(p), 0.01), 0.99)
    return 4.5 * (2 * p * (1 - p) / n_iter) ** 0.5


def cohorts_frame(rows, n_patients: int = 20, n_calcinosis: int = 5):
    """A minimal cohorts table, typed like the loader's, from a list of dicts of overrides."""
    from jdmstats import schema
    from jdmstats.evidence.datasets import to_frame

    base = {"n_patients": n_patients, "n_calcinosis": n_calcinosis, "include_primary": True,
            "calcinosis_timing": "cumulative", "year": 2010, "region": "europe",
            "design": "retrospective_cohort", "source_level": "abstract", "locator": "x"}  # fmt: skip
    recs = [dict(base, cohort_id=f"Author{2000 + i}", study_id=f"Author{2000 + i}", **r)
            for i, r in enumerate(rows)]  # fmt: skip
    return to_frame(schema.COHORTS, recs)
