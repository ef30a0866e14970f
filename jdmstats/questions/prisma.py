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

import dataclasses
import re
from dataclasses import dataclass, field

import pandas as pd

from jdmstats.evidence import schema

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
OTHER_METHODS = schema.OTHER_METHODS
"""A log row whose ``database`` matches this is identification by other methods (PRISMA 2020's
second column), e.g. the seed reports the project started from (:mod:`~jdmstats.evidence.schema`)."""
_STUDY_ID = schema.STUDY_ID_IN_TEXT
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
    reports_included: int = 0
    hits: int = 0
    queries_rerun: int = 0
    queries_not_rerun: int = 0
    from_records: bool = False


def _int(series) -> int:
    return int(pd.to_numeric(series, errors="coerce").fillna(0).sum())


def prisma_counts(tables: dict[str, pd.DataFrame]) -> PrismaCounts:
    """The PRISMA 2020 counts, from the records log when the data have one.

    With a ``records`` table (one row per distinct page the queries returned, see
    :mod:`jdmstats.evidence.records`): records identified = its rows; removed before screening
    = the duplicates (other pages of an article already in the log); screened = identified -
    duplicates; excluded on title and abstract; reports assessed = screened - excluded; reports
    excluded, with a count per coded reason; reports included = assessed - excluded; sources
    included from the searches = the distinct sources of the included reports, and by other
    methods = the remaining sources of ``studies``. Every box is the sum of the boxes below it
    (checked here). Without a records table the counts come from the search log's per-query
    numbers, and a note says that they count repeat hits.

    Parameters
    ----------
    tables : dict of DataFrame
        From :func:`jdmstats.evidence.datasets.load_all`.

    Returns
    -------
    PrismaCounts
    """
    records = tables.get("records")
    if records is None or len(records) == 0:
        counts = _counts_from_log(tables)
        note = ("no records log in the data: boxes count the per-query hits of the search log, "
                "repeat hits included")  # fmt: skip
        return dataclasses.replace(counts, notes=(*counts.notes, note))
    log = tables.get("search_log", pd.DataFrame(columns=["query_id", "database", "rerun"]))
    studies = tables["studies"]
    r = records
    screening, eligibility = r["screening"].astype(str), r["eligibility"].astype(str)
    identified = len(r)
    duplicates = int((screening == "duplicate").sum())
    screened = identified - duplicates
    excluded_screen = int((screening == "excluded").sum())
    assessed = screened - excluded_screen
    excluded = r[eligibility == "excluded"]
    included = r[eligibility == "included"]
    reasons = excluded["reason"].astype(str).value_counts()
    reasons = {k: int(reasons[k]) for k in sorted(reasons.index, key=lambda k: (-reasons[k], k))}
    study_ids = set(studies["study_id"].astype(str))
    from_searches = len(set(included["study_id"].astype(str)) & study_ids)
    rerun = log["rerun"].astype(str) if "rerun" in log else pd.Series(dtype=str)
    ran = rerun.isin(["rerun", "differs", "new", "no_results"])
    notes = [f"{int(ran.sum())} of {len(log)} logged queries were run (again) and their results "
             f"recorded; {int((rerun == 'not_rerun').sum())} were not run again"]  # fmt: skip
    by_log = int((r["origin"].astype(str) == "search_log").sum())
    if by_log:
        notes.append(f"{by_log} included record(s) come from the search log of a query not run "
                     "again")  # fmt: skip
    if assessed != len(excluded) + len(included) or screened != excluded_screen + assessed:
        raise AssertionError("PRISMA boxes do not add up: the records table is inconsistent "
                             "(run jdmstats validate)")  # fmt: skip
    cohorts = tables.get("cohorts", pd.DataFrame(columns=["include_primary", "n_patients"]))
    primary = cohorts[cohorts["include_primary"].fillna(False).astype(bool)]
    hits = int(pd.to_numeric(r["n_hits"], errors="coerce").fillna(0).sum())
    dbs = log.loc[ran.to_numpy(), "database"].astype(str).value_counts() if len(log) else {}
    return PrismaCounts(
        queries=int(ran.sum()),
        databases={str(k): int(v) for k, v in dict(dbs).items()},
        records_found=identified,
        removed_before_screening=duplicates,
        records_screened=screened,
        excluded_at_screening=excluded_screen,
        reports_assessed=assessed,
        reports_excluded=int(len(excluded)),
        reasons=reasons,
        sources_from_searches=from_searches,
        sources_other_methods=len(study_ids) - from_searches,
        sources_included=len(study_ids),
        cohorts=int(len(cohorts)),
        cohorts_primary=int(len(primary)),
        children_primary=_int(primary["n_patients"]),
        case_patients=int(len(tables.get("patients", ()))),
        episodes=int(len(tables.get("episodes", ()))),
        notes=tuple(notes),
        reports_included=int(len(included)),
        hits=hits,
        queries_rerun=int(ran.sum()),
        queries_not_rerun=int((rerun == "not_rerun").sum()),
        from_records=True,
    )


def _counts_from_log(tables: dict[str, pd.DataFrame]) -> PrismaCounts:
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
    c = counts
    found = "records identified (distinct)" if c.from_records else "records found"
    rows = [("identification", "queries", c.queries), ("identification", found, c.records_found)]
    if c.from_records:
        rows.append(("identification", "hits (results of the queries, repeats included)", c.hits))
    rows += [("identification", f"queries: {db}", n) for db, n in c.databases.items()]
    rows += [
        ("identification", "removed before screening (duplicates)" if c.from_records
         else "removed before screening (repeat hits)", c.removed_before_screening),
        ("screening", "records screened", c.records_screened),
        ("screening", "excluded on title and abstract", c.excluded_at_screening),
        ("screening", "reports assessed for eligibility", c.reports_assessed),
        ("screening", "reports excluded", c.reports_excluded),
    ]  # fmt: skip
    rows += [("screening", f"reports excluded: {r}", n) for r, n in c.reasons.items()]
    if c.from_records:
        rows.append(("included", "reports included", c.reports_included))
    rows += [
        ("included", "sources included", c.sources_included),
        ("included", "sources from the logged searches", c.sources_from_searches),
        ("included", "sources identified by other methods", c.sources_other_methods),
        ("included", "cohorts", c.cohorts),
        ("included", "cohorts in the primary prevalence analysis", c.cohorts_primary),
        ("included", "children in the primary prevalence analysis", c.children_primary),
        ("included", "case patients", c.case_patients),
        ("included", "therapy courses (episodes)", c.episodes),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["box", "item", "n"])
