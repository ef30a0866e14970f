"""Curation targets: how much evidence a data set holds, against the curation issue's targets
and the floors the test suite enforces.

    python tools/targets.py [--data DIR]

prints one line per quantity (count, floor, target, and whether the target is reached) for the
bundled data, or for a harmonised or extraction folder given with ``--data`` (as for
``jdmstats run --data``). ``tests/test_data_integrity.py`` fails when a count falls below its
floor (``FLOORS``: the counts reached when the data were last curated); the targets
(``TARGETS``) are goals, reported here and never asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd

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


def report(counts: dict[str, int]) -> str:
    """The lines printed: quantity, count, floor, target, reached or how many are missing."""
    lines = [f"{'quantity':<28} {'count':>5} {'floor':>5} {'target':>6}"]
    for k, target in TARGETS.items():
        state = "reached" if counts[k] >= target else f"{target - counts[k]} to go"
        lines.append(f"{k:<28} {counts[k]:5d} {FLOORS[k]:5d} {target:6d}  {state}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="harmonised or extraction folder (default: the bundled data)")
    args = ap.parse_args(argv)
    from jdmstats.evidence import datasets
    from jdmstats.outputs.runner import resolve_data

    with tempfile.TemporaryDirectory() as tmp:
        folder = resolve_data(args.data, Path(tmp))
        counts = evidence_counts(datasets.load_all(folder))
    print(report(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
