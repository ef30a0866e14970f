"""Question 3 on all the treatment evidence: response per therapy class, pooled over sources,
from case patients and therapy arms alike, and the reported times to response.

Each source contributes one (responders, children assessed) pair per therapy class:

* **case patients** of the source are aggregated per class: a child counts once per class,
  as a responder when any of his or her courses of that class was followed by complete or
  partial regression, and as assessed when any course of the class has a stated response;
* **therapy arms** (aggregate series, ``arms`` table) give their counts directly: responders
  are ``n_responders`` (complete + partial, or ``n_responded``), assessed ``n_assessed``
  (``n_treated - n_not_stated``). Case patients that an arm names in ``overlaps_with`` are
  counted in the arm only (nobody is counted twice; the dropped courses are listed).

Per class the pairs are pooled with the binomial-normal GLMM (:func:`jdmstats.meta.binomial_glmm`,
exact ML with adaptive Gauss-Hermite quadrature) when at least two sources contribute; with one
source the exact (Clopper-Pearson) interval of its proportion is given and nothing is pooled.
A sensitivity analysis leaves out the case reports (``design = case_report``).

Case reports and small series select for success (a striking response is what gets written up
and published), so these proportions overstate how often calcinosis regresses under a therapy:
read them as the published experience, not as response rates.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from jdmstats.errors import InsufficientDataError
from jdmstats.results import ResultMixin

__all__ = ["source_counts", "pooled_response", "PooledResponse", "time_observations",
           "SELECTION_NOTE", "MIN_TIMED"]  # fmt: skip

SELECTION_NOTE = ("case reports and small series select for success: these proportions "
                  "describe the published experience and overstate response rates")  # fmt: skip
"""The caveat printed with every response table and in the report."""

MIN_TIMED = 5
"""A class gets a survival curve or model only with at least this many timed observations."""

POOLED_COLUMNS = ["class", "k_sources", "k_case_sources", "k_arm_sources", "children",
                  "assessed", "responders", "complete", "crude_estimate", "crude_ci_low",
                  "crude_ci_high", "pooled_estimate", "pooled_ci_low", "pooled_ci_high",
                  "pooled_tau2", "k_without_case_reports", "without_case_reports_estimate",
                  "without_case_reports_ci_low", "without_case_reports_ci_high",
                  "method", "note"]  # fmt: skip


def _ids(text) -> list[str]:
    if text is None or (isinstance(text, float) and np.isnan(text)) or text is pd.NA:
        return []
    return [v.strip() for v in str(text).split(";") if v.strip()]


def source_counts(episodes: pd.DataFrame, arms: pd.DataFrame | None = None,
                  studies: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """One row per (therapy class, source, kind): children, assessed, responders, complete.

    Parameters
    ----------
    episodes, arms, studies : DataFrame
        The harmonised tables (``arms`` and ``studies`` may be None or empty); ``studies``
        supplies the design (for the sensitivity analysis without case reports).

    Returns
    -------
    counts : DataFrame
        ``class``, ``study_id``, ``kind`` (``patients`` or ``arm``), ``design``, ``children``,
        ``assessed``, ``responders``, ``complete``.
    exclusions : DataFrame
        Courses left out because an arm of the data already counts their child.
    """
    ep = episodes.copy()
    ep["therapy_class"] = ep["therapy_class"].astype(str)
    arms = arms if arms is not None else pd.DataFrame(columns=["arm_id", "study_id"])
    covered: dict[str, str] = {}
    for _, a in arms.iterrows():
        for pid in _ids(a.get("overlaps_with")):
            covered[pid] = a["arm_id"]
    dropped = ep["patient_id"].astype(str).map(covered)
    excl = ep[dropped.notna()].assign(reason=[f"child counted in arm {a}" for a in dropped.dropna()])
    ep = ep[dropped.isna()]
    stated = ep["response"].astype(str).ne("not_stated") & ep["regressed"].notna()
    ep = ep.assign(
        _stated=stated,
        _reg=ep["regressed"].astype("boolean").fillna(False).astype(bool) & stated,
        _comp=ep["complete"].astype("boolean").fillna(False).astype(bool) & stated)  # fmt: skip
    per_child = ep.groupby(["therapy_class", "study_id", "patient_id"], observed=True).agg(
        assessed=("_stated", "any"), responder=("_reg", "any"), complete=("_comp", "any"))
    rows = []
    for (cls, sid), g in per_child.groupby(level=[0, 1], observed=True):
        rows.append({"class": cls, "study_id": sid, "kind": "patients", "children": len(g),
                     "assessed": int(g["assessed"].sum()),
                     "responders": int(g["responder"].sum()),
                     "complete": int(g["complete"].sum())})  # fmt: skip
    for _, a in arms.iterrows():
        assessed = a.get("n_assessed")
        rows.append({"class": str(a["therapy_class"]), "study_id": a["study_id"], "kind": "arm",
                     "children": int(a["n_treated"]),
                     "assessed": int(assessed) if pd.notna(assessed) else 0,
                     "responders": int(a["n_responders"]) if pd.notna(a["n_responders"]) else 0,
                     "complete": int(a["n_complete"]) if pd.notna(a.get("n_complete")) else 0,
                     "arm_id": a["arm_id"]})  # fmt: skip
    counts = pd.DataFrame(rows, columns=["class", "study_id", "kind", "children", "assessed",
                                         "responders", "complete", "arm_id"])  # fmt: skip
    # a source with an arm and case patients of the same class contributes one pair
    design = {}
    if studies is not None and len(studies):
        design = dict(zip(studies["study_id"], studies["design"].astype(str), strict=True))
    counts["design"] = counts["study_id"].map(design).fillna("not_stated")
    exclusions = pd.DataFrame({
        "episode_id": excl["episode_id"].astype(str), "patient_id": excl["patient_id"].astype(str),
        "study_id": excl["study_id"].astype(str), "class": excl["therapy_class"].astype(str),
        "analysis": "response_pooled", "reason": excl["reason"]})  # fmt: skip
    return counts.sort_values(["class", "study_id", "kind"], kind="stable").reset_index(
        drop=True), exclusions


def _by_source(counts: pd.DataFrame) -> pd.DataFrame:
    return counts.groupby("study_id", sort=True).agg(
        assessed=("assessed", "sum"), responders=("responders", "sum"),
        design=("design", "first")).reset_index()  # fmt: skip


def _glmm(by: pd.DataFrame, level: float) -> tuple[float, float, float, float, str]:
    from jdmstats.meta.glmm import binomial_glmm

    by = by[by["assessed"] > 0]
    x, n = by["responders"].to_numpy(int), by["assessed"].to_numpy(int)
    if len(by) < 2:
        return (np.nan,) * 4 + ("one source: exact CI only, nothing pooled",)
    if (n == 1).all():
        return (np.nan,) * 4 + ("every source contributes one child: the between-source "
                                "variance is not identifiable, not pooled",)  # fmt: skip
    if x.sum() in (0, n.sum()):
        what = "no" if x.sum() == 0 else "every"
        return (np.nan,) * 4 + (f"{what} child responded: GLMM logit infinite, not pooled",)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = binomial_glmm(x, n, level=level, labels=list(by["study_id"].astype(str)))
    doubtful = any("implausibly large" in str(w.message) for w in caught)
    if not fit.converged or not np.isfinite(fit.ci_low) or doubtful:
        return (np.nan,) * 4 + ("GLMM not estimable (sources with all or no responders): "
                                "not pooled",)  # fmt: skip
    expit = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    return (float(expit(fit.estimate)), float(expit(fit.ci_low)), float(expit(fit.ci_high)),
            float(fit.tau2), "binomial-normal GLMM over sources")  # fmt: skip


@dataclass(frozen=True)
class PooledResponse(ResultMixin):
    """Response per therapy class from case patients and therapy arms, pooled over sources.

    Attributes
    ----------
    table : DataFrame
        One row per class (:data:`POOLED_COLUMNS`), then ``all``.
    counts : DataFrame
        The per-source pairs behind it (:func:`source_counts`).
    exclusions : DataFrame
        Courses not counted (their child is in an arm).
    level : float
    """

    table: pd.DataFrame
    counts: pd.DataFrame
    exclusions: pd.DataFrame
    level: float
    _title: str = field(default="Response per therapy class, case patients and arms pooled",
                        repr=False)  # fmt: skip

    def summary(self) -> pd.DataFrame:
        return self.table


def pooled_response(episodes: pd.DataFrame, arms: pd.DataFrame | None = None,
                    studies: pd.DataFrame | None = None, level: float = 0.95) -> PooledResponse:  # fmt: skip
    """Response of calcinosis per therapy class, pooled over sources (patients and arms).

    Returns
    -------
    PooledResponse

    Notes
    -----
    ``crude_*`` is the total responders over the total assessed with its Clopper-Pearson
    interval; ``pooled_*`` the binomial-normal GLMM over sources (k >= 2), validated against
    metafor ``rma.glmm(measure = "PLO")`` in ``tests/test_meta_glmm.py``. With k = 1 only the
    exact interval is given. The ``without_case_reports_*`` columns repeat the analysis on the
    sources whose design is not ``case_report`` (exact interval when k = 1). Every row carries
    :data:`SELECTION_NOTE`.

    Examples
    --------
    >>> from jdmstats import datasets
    >>> from jdmstats.questions.class_response import pooled_response
    >>> t = datasets.load_all()
    >>> res = pooled_response(t["episodes"], t["arms"], t["studies"])
    >>> bool((res.table["responders"] <= res.table["assessed"]).all())
    True
    """
    from jdmstats.meta.effects import clopper_pearson

    counts, exclusions = source_counts(episodes, arms, studies)
    if counts["assessed"].sum() == 0:
        raise InsufficientDataError("no child with a stated response in the episodes or arms: "
                                    "response per class cannot be estimated")  # fmt: skip
    sizes = counts.groupby("class")["assessed"].sum().sort_values(ascending=False, kind="stable")
    order = sorted(sizes.index, key=lambda c: (-sizes[c], c))
    rows = []
    for cls in [*order, "all"]:
        sub = counts if cls == "all" else counts[counts["class"] == cls]
        by = _by_source(sub)
        n, x = int(sub["assessed"].sum()), int(sub["responders"].sum())
        if n:
            lo, hi = clopper_pearson([x], [n], level=level)
            crude = (x / n, float(lo[0]), float(hi[0]))
        else:
            crude = (np.nan,) * 3
        k = int((by["assessed"] > 0).sum())
        if cls == "all":
            pooled = (np.nan,) * 4 + ("all classes together, not pooled (classes differ)",)
        else:
            pooled = _glmm(by, level)
        no_cr = by[(by["design"] != "case_report") & (by["assessed"] > 0)]
        if len(no_cr) >= 2 and cls != "all":
            s = _glmm(no_cr, level)[:3]
        elif len(no_cr) == 1 or (cls == "all" and len(no_cr)):
            xs, ns = int(no_cr["responders"].sum()), int(no_cr["assessed"].sum())
            lo2, hi2 = clopper_pearson([xs], [ns], level=level)
            s = (xs / ns, float(lo2[0]), float(hi2[0]))
        else:
            s = (np.nan,) * 3
        note = SELECTION_NOTE if not pooled[4] else f"{pooled[4]}; {SELECTION_NOTE}"
        rows.append({
            "class": cls, "k_sources": k,
            "k_case_sources": int(sub.loc[sub["kind"] == "patients", "study_id"].nunique()),
            "k_arm_sources": int(sub.loc[sub["kind"] == "arm", "study_id"].nunique()),
            "children": int(sub["children"].sum()), "assessed": n, "responders": x,
            "complete": int(sub["complete"].sum()),
            "crude_estimate": crude[0], "crude_ci_low": crude[1], "crude_ci_high": crude[2],
            "pooled_estimate": pooled[0], "pooled_ci_low": pooled[1],
            "pooled_ci_high": pooled[2], "pooled_tau2": pooled[3],
            "k_without_case_reports": int(len(no_cr)),
            "without_case_reports_estimate": s[0], "without_case_reports_ci_low": s[1],
            "without_case_reports_ci_high": s[2],
            "method": ("GLMM" if np.isfinite(pooled[0]) else
                       "exact (one source)" if k == 1 else "exact (crude, not pooled)"),
            "note": note})  # fmt: skip
    return PooledResponse(pd.DataFrame(rows, columns=POOLED_COLUMNS), counts, exclusions, level)


TIME_COLUMNS = ["class", "study_id", "record_id", "kind", "children", "statistic", "value_months",
                "low_months", "high_months", "spread", "censoring", "basis", "note"]  # fmt: skip


def time_observations(episodes: pd.DataFrame, arms: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every reported time to response, per class: intervals and censoring times of single
    courses, and the time summaries (median, mean, range) of therapy arms.

    Episodes: ``kind`` is ``course``, ``censoring`` exact / interval / right with
    ``low_months``-``high_months`` the interval (``high`` blank when right-censored). Arms:
    ``kind`` is ``arm``, the summary statistic in ``statistic`` and ``value_months`` with its
    spread; an arm's follow-up is given when no time to response is (a censoring summary).

    Examples
    --------
    >>> from jdmstats import datasets
    >>> from jdmstats.questions.class_response import time_observations
    >>> t = datasets.load_all()
    >>> obs = time_observations(t["episodes"], t["arms"])
    >>> set(obs["kind"]) <= {"course", "arm"}
    True
    """
    rows = []
    ep = episodes[episodes["censoring"].astype(str) != "none"]
    for _, e in ep.iterrows():
        rows.append({"class": str(e["therapy_class"]), "study_id": e["study_id"],
                     "record_id": e["episode_id"], "kind": "course", "children": 1,
                     "statistic": "", "value_months": np.nan,
                     "low_months": e["time_lower_months"], "high_months": e["time_upper_months"],
                     "spread": "", "censoring": str(e["censoring"]),
                     "basis": str(e["time_basis"]), "note": ""})  # fmt: skip
    arms = arms if arms is not None else pd.DataFrame()
    for _, a in arms.iterrows():
        for what, col, note in (("time", "time", "time from start to response"),
                                ("followup", "followup", "follow-up from start")):  # fmt: skip
            if pd.isna(a.get(f"{col}_months")):
                continue
            rows.append({"class": str(a["therapy_class"]), "study_id": a["study_id"],
                         "record_id": a["arm_id"], "kind": "arm", "children": int(a["n_treated"]),
                         "statistic": str(a.get(f"{col}_stat") or "not_stated"),
                         "value_months": a[f"{col}_months"],
                         "low_months": a.get(f"{col}_low_months"),
                         "high_months": a.get(f"{col}_high_months"),
                         "spread": str(a.get(f"{col}_spread") or ""),
                         "censoring": "summary" if what == "time" else "followup_summary",
                         "basis": str(a.get("time_basis") or "") if what == "time" else "",
                         "note": note})  # fmt: skip
    out = pd.DataFrame(rows, columns=TIME_COLUMNS)
    return out.sort_values(["class", "study_id", "record_id", "censoring"],
                           kind="stable").reset_index(drop=True)  # fmt: skip
