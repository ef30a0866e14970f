"""PRISMA 2020 flow counts, computed from the search log and the inclusion decisions
(drawn by :mod:`jdmstats.plots.prisma`).

Nothing in the diagram is typed by hand: every number comes from the harmonised tables.

* **Identification**: records found by the logged database queries (``search_log.records_found``, by
  database). Records a query returned but did not screen (``records_found -
  records_screened``) are repeat hits removed before screening: results already seen in an
  earlier query of the same search. Duplicates that the curators noticed only while screening
  are counted among the excluded reports ("duplicate or already included"), as they logged them.
* **Screening**: records screened (``records_screened``); records excluded on title and
  abstract, i.e. neither included nor listed as a relevant exclusion (``records_screened -
  records_included - records_excluded``); reports assessed for eligibility
  (``records_included + records_excluded``); reports excluded (``records_excluded``) with
  their reasons, grouped by :func:`reason_category` from the logged ``exclusion_reasons``.
* **Included**: sources in ``studies`` (those named in a query's ``included_ids``, and those
  identified by other methods: the log rows whose ``database`` matches :data:`OTHER_METHODS`,
  such as the seed reports, and sources named by no query), cohorts and how many enter the
  primary prevalence analysis (``cohorts.include_primary``), case patients and therapy
  courses; the records left out of an analysis are listed in ``exclusions``.

Examples
--------
>>> from jdmstats import datasets
>>> from jdmstats.questions import prisma
>>> counts = prisma.prisma_counts(datasets.load_all())
>>> counts.sources_included == len(datasets.load_studies())
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["PrismaCounts", "prisma_counts", "counts_table", "reason_category"]

REASONS = (
    ("duplicate or already included", ("duplicate", "already", "again", "copies", "repeat",
                                       "done by lead", "same children", "same patients")),
    ("not JDM or off topic", ("not jdm", "non-jdm", "no jdm", "adult", "scleroderma", "osteopor",
                              "unrelated", "irrelevant", "off topic", "off-topic", "not relevant",
                              "tendon", "sle", "other disease", "veterinary", "code/apps")),
    ("review, guideline, book or survey", ("review", "guideline", "textbook", "book", "chapter",
                                           "survey", "news", "patient info", "editorial")),
    ("no usable numbers in the text read", ("without", "no calcinosis", "not in text",
                                            "not in the text", "truncated", "cut off",
                                            "not returned", "not stated", "aggregate", "no author",
                                            "no per-patient", "not extractable", "only", "no ")),
    ("cohort or registry without the data needed", ("cohort", "registry", "trial")),
)  # fmt: skip
"""Reason categories (first match wins) and the words that assign a logged reason to them."""
OTHER_METHODS = r"seed|other method|citation|reference list|hand search"
"""A log row whose ``database`` matches this is identification by other methods (PRISMA 2020's
second column), e.g. the seed reports the project started from."""
_STUDY_ID = re.compile(r"\b[A-Z][A-Za-z]+[0-9]{4}[a-z]?\b")
OTHER = "several reasons logged together, not counted apart"


def reason_category(text: str) -> str:
    """Group one logged exclusion reason into a category of :data:`REASONS`.

    >>> reason_category("3 duplicates of Meher2014")
    'duplicate or already included'
    >>> reason_category("2 reviews")
    'review, guideline, book or survey'
    """
    low = f" {str(text).lower()} "
    for category, words in REASONS:
        if any(w in low for w in words):
            return category
    return OTHER


def _split_reasons(text: str, n_excluded: int) -> dict[str, int]:
    """Share one query's ``records_excluded`` among reason categories.

    Segments are separated by ``;``. A segment that starts with a number counts that many
    records; the records not itemised go to the category of the unnumbered segments when they
    all share one, else to :data:`OTHER`.
    """
    out: dict[str, int] = {}
    if n_excluded <= 0:
        return out
    segments = [s.strip() for s in re.split(r";", str(text or "")) if s.strip()]
    counted = 0
    loose: list[str] = []
    for seg in segments:
        m = re.match(r"^(\d+)\s+\S", seg)
        if m and counted + int(m.group(1)) <= n_excluded:
            cat = reason_category(seg)
            out[cat] = out.get(cat, 0) + int(m.group(1))
            counted += int(m.group(1))
        else:
            loose.append(reason_category(seg))
    rest = n_excluded - counted
    if rest > 0:
        cats = set(loose)
        cat = cats.pop() if len(cats) == 1 else OTHER
        out[cat] = out.get(cat, 0) + rest
    return out


@dataclass(frozen=True)
class PrismaCounts:
    """The numbers of a PRISMA 2020 flow diagram (see the module notes for each definition)."""

    queries: int
    databases: dict[str, int]
    records_found: int
    removed_before_screening: int
    records_screened: int
    excluded_at_screening: int
    reports_assessed: int
    reports_excluded: int
    reasons: dict[str, int]
    sources_from_searches: int
    sources_other_methods: int
    sources_included: int
    cohorts: int
    cohorts_primary: int
    children_primary: int
    case_patients: int
    episodes: int
    notes: tuple[str, ...] = field(default=())


def _int(series) -> int:
    return int(pd.to_numeric(series, errors="coerce").fillna(0).sum())


def prisma_counts(tables: dict[str, pd.DataFrame]) -> PrismaCounts:
    """Compute the PRISMA 2020 counts from loaded harmonised tables.

    Parameters
    ----------
    tables : dict of DataFrame
        From :func:`jdmstats.evidence.datasets.load_all`; ``search_log`` may be absent (the
        identification and screening boxes are then zero and a note says so).

    Returns
    -------
    PrismaCounts
    """
    log = tables.get("search_log")
    studies = tables["studies"]
    notes: list[str] = []
    if log is None or len(log) == 0:
        log = pd.DataFrame(columns=["query_id", "database", "records_found", "records_screened",
                                    "records_included", "included_ids", "records_excluded",
                                    "exclusion_reasons"])  # fmt: skip
        notes.append("no search log in the data: identification and screening not recorded")
    other_rows = log["database"].astype(str).str.contains(OTHER_METHODS, case=False, regex=True)
    other_log, log = log[other_rows], log[~other_rows]
    other_ids = set()
    for cell in other_log["included_ids"].dropna():
        other_ids.update(_STUDY_ID.findall(str(cell)))
    found = _int(log["records_found"])
    screened = _int(log["records_screened"])
    included_records = _int(log["records_included"])
    excluded = _int(log["records_excluded"])
    excluded_at_screening = screened - included_records - excluded
    if excluded_at_screening < 0:
        notes.append("the log lists more included + excluded records than screened records; "
                     "excluded on title and abstract set to 0")  # fmt: skip
        excluded_at_screening = 0
    reasons: dict[str, int] = {}
    for text, n in zip(log["exclusion_reasons"], log["records_excluded"], strict=True):
        n = 0 if pd.isna(n) else int(n)
        for cat, k in _split_reasons("" if pd.isna(text) else str(text), n).items():
            reasons[cat] = reasons.get(cat, 0) + k
    order = [c for c, _ in REASONS] + [OTHER]
    reasons = {c: reasons[c] for c in order if reasons.get(c)}
    ids = set()
    for cell in log["included_ids"].dropna():
        ids.update(_STUDY_ID.findall(str(cell)))
    study_ids = set(studies["study_id"].astype(str))
    from_searches = len(study_ids & (ids - other_ids))
    not_kept = sorted((ids | other_ids) - study_ids)
    if not_kept:
        notes.append(f"{len(not_kept)} source(s) named as included in the log are not in the "
                     f"studies table (merged or renamed): {', '.join(not_kept)}")  # fmt: skip
    cohorts = tables.get("cohorts", pd.DataFrame(columns=["include_primary", "n_patients"]))
    primary = cohorts[cohorts["include_primary"].fillna(False).astype(bool)]
    dbs = log.groupby(log["database"].astype(str))["records_found"].apply(_int)
    dbs = dbs.sort_values(ascending=False, kind="stable")
    return PrismaCounts(
        queries=int(len(log)),
        databases={str(k): int(v) for k, v in dbs.items()},
        records_found=found,
        removed_before_screening=max(found - screened, 0),
        records_screened=screened,
        excluded_at_screening=excluded_at_screening,
        reports_assessed=included_records + excluded,
        reports_excluded=excluded,
        reasons=reasons,
        sources_from_searches=from_searches,
        sources_other_methods=len(study_ids - (ids - other_ids)),
        sources_included=len(study_ids),
        cohorts=int(len(cohorts)),
        cohorts_primary=int(len(primary)),
        children_primary=_int(primary["n_patients"]),
        case_patients=int(len(tables.get("patients", ()))),
        episodes=int(len(tables.get("episodes", ()))),
        notes=tuple(notes),
    )


def counts_table(counts: PrismaCounts) -> pd.DataFrame:
    """The diagram's numbers as a table (``box``, ``item``, ``n``), in the diagram's order."""
    rows = [
        ("identification", "queries", counts.queries),
        ("identification", "records found", counts.records_found),
    ]
    rows += [("identification", f"records found: {db}", n) for db, n in counts.databases.items()]
    rows += [
        ("identification", "removed before screening (repeat hits)",
         counts.removed_before_screening),
        ("screening", "records screened", counts.records_screened),
        ("screening", "excluded on title and abstract", counts.excluded_at_screening),
        ("screening", "reports assessed for eligibility", counts.reports_assessed),
        ("screening", "reports excluded", counts.reports_excluded),
    ]  # fmt: skip
    rows += [("screening", f"reports excluded: {r}", n) for r, n in counts.reasons.items()]
    rows += [
        ("included", "sources included", counts.sources_included),
        ("included", "sources from the logged searches", counts.sources_from_searches),
        ("included", "sources identified by other methods", counts.sources_other_methods),
        ("included", "cohorts", counts.cohorts),
        ("included", "cohorts in the primary prevalence analysis", counts.cohorts_primary),
        ("included", "children in the primary prevalence analysis", counts.children_primary),
        ("included", "case patients", counts.case_patients),
        ("included", "therapy courses (episodes)", counts.episodes),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["box", "item", "n"])
