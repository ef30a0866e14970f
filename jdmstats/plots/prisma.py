"""PRISMA 2020 flow diagram, computed from the search log and the inclusion decisions.

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
>>> from jdmstats.plots import prisma
>>> counts = prisma.prisma_counts(datasets.load_all())
>>> counts.sources_included == len(datasets.load_studies())
True
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["PrismaCounts", "prisma_counts", "counts_table", "reason_category", "prisma",
           "save_prisma"]  # fmt: skip

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
        From :func:`jdmstats.datasets.load_all`; ``search_log`` may be absent (the
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


LINE = 1.72
"""Height of one text line at 6.5 pt, in diagram units (the diagram is 100 units wide)."""


def _wrap(text: str, width: int) -> list[str]:
    lines = []
    for para in text.split("\n"):
        indent = "   " if para.startswith("- ") else ""
        lines += textwrap.wrap(para, width, subsequent_indent=indent) or [""]
    return lines


def _box(ax, x, top, w, text, wrap=54, size=6.5, face="white", edge="black", min_lines=0):
    """Draw a box whose top edge is at ``top``; return its bottom edge."""
    from matplotlib.patches import FancyBboxPatch

    lines = _wrap(text, wrap)
    scale = size / 6.5
    h = 2.4 + max(len(lines), min_lines) * LINE * scale
    ax.add_patch(FancyBboxPatch((x, top - h), w, h, boxstyle="round,pad=0,rounding_size=0.8",
                                linewidth=0.6, edgecolor=edge, facecolor=face))  # fmt: skip
    ax.text(x + 1.5, top - 1.2, "\n".join(lines), ha="left", va="top", fontsize=size,
            linespacing=1.25)  # fmt: skip
    return top - h


def _arrow(ax, x0, y0, x1, y1):
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                arrowprops={"arrowstyle": "-|>", "lw": 0.6, "color": "black",
                            "shrinkA": 0, "shrinkB": 0, "mutation_scale": 7})  # fmt: skip


def _phase(ax, label, top, bottom):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (0.5, bottom),
            6.0,
            top - bottom,
            linewidth=0,
            boxstyle="round,pad=0,rounding_size=0.8",
            facecolor="#D6E9F5",
        )
    )
    ax.text(3.5, (top + bottom) / 2, label, rotation=90, ha="center", va="center", fontsize=7,
            fontweight="bold")  # fmt: skip


def _n(x: int) -> str:
    return f"{x:,}"


def prisma(counts: PrismaCounts, ax=None):
    """Draw the PRISMA 2020 flow diagram of ``counts``.

    Parameters
    ----------
    counts : PrismaCounts
        From :func:`prisma_counts`.
    ax : matplotlib Axes, optional
        Drawn into (x from 0 to 100; the y limits are set to fit the boxes and the axes are
        hidden); a new double-column figure when None.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    from . import style

    if ax is None:
        _, ax = plt.subplots(figsize=(style.DOUBLE, style.DOUBLE * 0.8))
    ax.set_axis_off()
    c = counts
    top_dbs = list(c.databases.items())[:3]
    db_lines = "".join(f"\n- {db}: {_n(n)}" for db, n in top_dbs)
    if len(c.databases) > 3:
        rest = sum(n for _, n in list(c.databases.items())[3:])
        db_lines += f"\n- {len(c.databases) - 3} other search tools: {_n(rest)}"
    reason_lines = "".join(f"\n- {r}: {_n(n)}" for r, n in c.reasons.items())
    L, W, R, H, gap = 9.0, 43.0, 57.0, 42.5, 5.0  # main x, width; side x, width; vertical gap
    mid = L + W / 2
    top = 100.0
    # identification
    b1 = _box(ax, L, top, W, f"Records identified by {_n(c.queries)} logged queries "
              f"(n = {_n(c.records_found)}){db_lines}")  # fmt: skip
    b1r = _box(ax, R, top, H, "Records removed before screening\n- repeat hits not screened "
               f"again (found - screened): {_n(c.removed_before_screening)}\nDuplicates noticed "
               "while screening are counted among the excluded reports.", wrap=52)  # fmt: skip
    _arrow(ax, L + W, (top + b1r) / 2, R, (top + b1r) / 2)
    ident_bottom = min(b1, b1r)
    # screening
    t2 = ident_bottom - gap
    b2 = _box(ax, L, t2, W, f"Records screened\n(n = {_n(c.records_screened)})")
    b2r = _box(ax, R, t2, H, f"Records excluded on title and abstract\n"
               f"(n = {_n(c.excluded_at_screening)})", wrap=52)  # fmt: skip
    _arrow(ax, mid, b1, mid, t2)
    _arrow(ax, L + W, (t2 + b2) / 2, R, (t2 + b2) / 2)
    t3 = min(b2, b2r) - gap
    b3 = _box(ax, L, t3, W, f"Reports assessed for eligibility\n(n = {_n(c.reports_assessed)})")
    b3r = _box(ax, R, t3, H, f"Reports excluded (n = {_n(c.reports_excluded)}), reasons as "
               f"logged:{reason_lines}", wrap=52)  # fmt: skip
    _arrow(ax, mid, b2, mid, t3)
    _arrow(ax, L + W, (t3 + b3) / 2, R, (t3 + b3) / 2)
    screen_bottom = min(b3, b3r)
    # included
    t4 = screen_bottom - gap
    incl = (f"Sources included in the review (n = {_n(c.sources_included)})\n"
            f"- from the logged searches: {_n(c.sources_from_searches)}\n"
            f"- identified by other methods (seed reports, reference lists): "
            f"{_n(c.sources_other_methods)}\n"
            f"Cohorts of children with JDM: {_n(c.cohorts)}\n"
            f"- in the primary prevalence analysis: {_n(c.cohorts_primary)} "
            f"({_n(c.children_primary)} children)\n"
            f"Case patients with calcinosis: {_n(c.case_patients)}\n"
            f"- therapy courses (episodes): {_n(c.episodes)}")  # fmt: skip
    b4 = _box(ax, L, t4, W, incl)
    _arrow(ax, mid, b3, mid, t4)
    b4r = b4
    if c.notes:
        b4r = _box(ax, R, t4, H, "Notes\n" + "\n".join(f"- {n}" for n in c.notes), wrap=56,
                   size=5.5, face="#F7F7F7", edge="#7f7f7f")  # fmt: skip
    bottom = min(b4, b4r)
    _phase(ax, "Identification", top, ident_bottom)
    _phase(ax, "Screening", t2, screen_bottom)
    _phase(ax, "Included", t4, bottom)
    ax.set_xlim(0, 100)
    ax.set_ylim(bottom - 0.5, top + 0.5)
    return ax


def figure_height(counts: PrismaCounts, width: float) -> float:
    """Height in inches that keeps the diagram's units square at ``width`` inches."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, width))
    try:
        prisma(counts, ax=ax)
        y0, y1 = ax.get_ylim()
    finally:
        plt.close(fig)
    return width * (y1 - y0) / 100.0


def save_prisma(counts: PrismaCounts, path: str | Path) -> list[Path]:
    """Draw the diagram in the jdmstats style and write it as PDF and 300-dpi PNG."""
    import matplotlib.pyplot as plt

    from . import style

    with style.context():
        height = figure_height(counts, style.DOUBLE)
        fig, ax = plt.subplots(figsize=(style.DOUBLE, height))
        fig.subplots_adjust(left=0, right=1, bottom=0, top=1)
        prisma(counts, ax=ax)
        try:
            return style.save(fig, path)
        finally:
            plt.close(fig)
