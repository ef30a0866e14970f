"""Question 1: how common is calcinosis in juvenile dermatomyositis?

Pooled prevalence of calcinosis across cohort studies, the way a published systematic review
reports it:

* **Primary analysis** (:func:`pooled_prevalence`): binomial-normal GLMM (logit link, ML,
  adaptive Gauss-Hermite, no continuity correction) on the cohorts marked ``include_primary``
  with a stated count, each set of overlapping cohorts counted once (:func:`analysis_set`).
* **Sensitivity analyses** (:func:`prevalence_models`): inverse-variance logit with REML and
  Hartung-Knapp; Freeman-Tukey double arcsine (flagged: its back-transformation misleads when
  study sizes differ); excluding abstract-only sources; excluding cohorts whose count is "at
  diagnosis"; leave-one-out (:func:`leave_one_out`).
* **Subgroups** (:func:`subgroups`) with a test for differences, **meta-regression**
  (:func:`metaregression`) and **small-study effects** (:func:`small_study_effects`).

:func:`analyse` runs every analysis; ``jdmstats run`` writes its tables and figures.

Examples
--------
>>> from jdmstats import datasets, prevalence
>>> cohorts = datasets.load_cohorts()
>>> data, excluded = prevalence.analysis_set(cohorts)
>>> set(excluded.columns) >= {"cohort_id", "analysis", "reason"}
True
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from jdmstats.errors import InsufficientDataError
from jdmstats.evidence.schema import study_label
from jdmstats.results import ResultMixin

__all__ = [
    "analysis_set",
    "enrolment_decade",
    "pooled_prevalence",
    "prevalence_models",
    "leave_one_out",
    "subgroups",
    "metaregression",
    "small_study_effects",
    "PrevalenceModels",
    "overlap_set",
    "multilevel_overlaps",
    "MULTILEVEL",
    "analyse",
    "TABLE_COLUMNS",
    "SUBGROUP_VARIABLES",
    "FOLLOWUP_CUT_MONTHS",
]

TABLE_COLUMNS = (
    "model", "k", "n_patients", "n_calcinosis", "estimate", "ci_low", "ci_high", "pi_low",
    "pi_high", "tau2", "i2",
)  # fmt: skip
"""Columns of ``tables/prevalence.csv`` (a ``note`` column follows them)."""

FOLLOWUP_CUT_MONTHS = 36.0
"""Follow-up subgroups: < 3 years vs >= 3 years (mean or median follow-up as reported)."""

SUBGROUP_VARIABLES = {
    "region": "Region",
    "enrolment_decade": "Decade of enrolment (midpoint of the enrolment period)",
    "design": "Design",
    "followup_group": "Follow-up (mean or median as reported)",
    "calcinosis_timing": "Calcinosis timing (what the count means)",
}
"""Subgroup variables of :func:`subgroups` and their headings."""

NOT_STATED = "not_stated"
ANALYSIS = "prevalence_primary"

_SEED = 20240101


# --------------------------------------------------------------------------- data
def _str(s) -> pd.Series:
    """A column as object strings with missing values as None."""
    return pd.Series(s, dtype=object).where(pd.notna(s), None)


def analysis_set(cohorts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cohorts of the primary prevalence analysis, and the cohorts left out with the reason.

    A cohort is analysed when ``include_primary`` is true and ``n_calcinosis`` is stated.
    Overlapping cohorts are counted once: when an included cohort's ``overlaps_with`` names
    another included cohort (by ``cohort_id`` or ``study_id``), only the larger of the two is
    kept (ties: the one named) and the other is recorded as excluded.

    Parameters
    ----------
    cohorts : DataFrame
        The harmonised cohorts table (:func:`jdmstats.evidence.datasets.load_cohorts`).

    Returns
    -------
    data : DataFrame
        Included cohorts, sorted by publication year then ``cohort_id``, with the derived
        columns ``events``, ``total``, ``enrolment_mid``, ``enrolment_decade``,
        ``followup_group`` and ``label`` (``"Author year"``).
    excluded : DataFrame
        ``cohort_id``, ``study_id``, ``analysis``, ``reason`` for every cohort left out.

    Examples
    --------
    >>> from jdmstats import datasets, prevalence
    >>> data, excluded = prevalence.analysis_set(datasets.load_cohorts())
    >>> {"events", "total", "enrolment_decade", "label"} <= set(data.columns)
    True
    >>> bool(data["cohort_id"].isin(excluded["cohort_id"]).any())  # each cohort in one table
    False
    """
    c = cohorts.copy()
    rows = []
    inc = c["include_primary"].fillna(False).astype(bool)
    for _, r in c[~inc].iterrows():
        reason = r.get("exclusion_reason")
        reason = reason if isinstance(reason, str) and reason else "include_primary is false"
        rows.append((r["cohort_id"], r["study_id"], ANALYSIS, reason))
    keep = c[inc].copy()
    miss = keep["n_calcinosis"].isna()
    for _, r in keep[miss].iterrows():
        rows.append((r["cohort_id"], r["study_id"], ANALYSIS, "number with calcinosis not stated"))
    keep = keep[~miss]
    # overlaps among included cohorts: count once (keep the larger)
    drop: set[str] = set()
    ids = dict(zip(keep["cohort_id"], keep["n_patients"], strict=True))
    by_study = keep.groupby("study_id")["cohort_id"].apply(list).to_dict()
    for _, r in keep.iterrows():
        ov = r.get("overlaps_with")
        if not isinstance(ov, str) or not ov:
            continue
        targets = [ov] if ov in ids else by_study.get(ov, [])
        targets = [t for t in targets if t != r["cohort_id"] and t not in drop]
        if not targets or r["cohort_id"] in drop:
            continue
        other = targets[0]
        loser = r["cohort_id"] if ids[r["cohort_id"]] <= ids[other] else other
        winner = other if loser == r["cohort_id"] else r["cohort_id"]
        drop.add(loser)
        study = keep.loc[keep["cohort_id"] == loser, "study_id"].iloc[0]
        rows.append((loser, study, ANALYSIS, f"overlaps with {winner} (counted once)"))
    keep = keep[~keep["cohort_id"].isin(drop)]
    data = _derive(keep)
    excluded = pd.DataFrame(rows, columns=["cohort_id", "study_id", "analysis", "reason"])
    excluded = excluded.sort_values(["analysis", "cohort_id"], kind="stable").reset_index(drop=True)
    return data, excluded


def enrolment_decade(period_start, period_end) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Midpoint of the enrolment period, its decade label and how it was obtained.

    The midpoint is ``(period_start + period_end) / 2``; when only one end is stated that year
    is used (``basis = "start only"`` / ``"end only"``); when neither is stated the decade is
    ``"not_stated"`` (the publication year is *not* used: it says little about when the
    children were seen).  Decades are labelled ``"1990s"`` etc.

    Examples
    --------
    >>> from jdmstats.questions.prevalence import enrolment_decade
    >>> mid, decade, basis = enrolment_decade([1990, None, 2001, None], [1999, 2005, None, None])
    >>> mid.tolist()
    [1994.5, 2005.0, 2001.0, nan]
    >>> decade.tolist()
    ['1990s', '2000s', '2000s', 'not_stated']
    >>> basis.tolist()
    ['midpoint', 'end only', 'start only', 'not_stated']
    """
    s = pd.to_numeric(pd.Series(period_start), errors="coerce").astype(float)
    e = pd.to_numeric(pd.Series(period_end), errors="coerce").astype(float)
    mid = np.where(s.notna() & e.notna(), (s + e) / 2, np.where(s.notna(), s, e))
    mid = pd.Series(mid, index=s.index, dtype=float)
    basis = np.select(
        [s.notna() & e.notna(), s.notna(), e.notna()],
        ["midpoint", "start only", "end only"],
        NOT_STATED,
    )
    dec = [f"{int(np.floor(m / 10) * 10)}s" if np.isfinite(m) else NOT_STATED for m in mid]
    return mid, pd.Series(dec, index=s.index, dtype=object), pd.Series(basis, index=s.index)


def _derive(keep: pd.DataFrame) -> pd.DataFrame:
    d = keep.copy()
    d["events"] = d["n_calcinosis"].astype("Int64").astype(int)
    d["total"] = d["n_patients"].astype("Int64").astype(int)
    mid, dec, basis = enrolment_decade(d["period_start"], d["period_end"])
    d["enrolment_mid"] = mid.to_numpy()
    d["enrolment_decade"] = dec.to_numpy()
    d["enrolment_basis"] = basis.to_numpy()
    fu = d["followup_months"].astype(float)
    d["followup_group"] = np.select(
        [fu < FOLLOWUP_CUT_MONTHS, fu >= FOLLOWUP_CUT_MONTHS], ["< 3 years", ">= 3 years"],
        NOT_STATED,
    )  # fmt: skip
    for col in ("region", "design", "calcinosis_timing"):
        d[col] = _str(d[col]).fillna(NOT_STATED).to_numpy()
    d["label"] = [study_label(cid) for cid in d["cohort_id"]]
    d = d.sort_values(["year", "cohort_id"], kind="stable").reset_index(drop=True)
    return d


# --------------------------------------------------------------------------- models
def _fit(events, totals, labels, *, model="glmm", transform="logit", method="REML",
         test="z", level=0.95):  # fmt: skip
    """proportion() with warnings collected into notes; errors become InsufficientDataError."""
    from jdmstats.meta.proportions import proportion

    k = len(events)
    if k == 0:
        raise InsufficientDataError("no cohorts to pool (k = 0)")
    kw = {"model": model, "transform": transform, "level": level, "labels": labels}
    if model == "iv":
        kw.update(method=method, test=test)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = proportion(events, totals, **kw)
        except ValueError as err:
            raise InsufficientDataError(str(err)) from err
        except ZeroDivisionError as err:  # meta.model with identical effects and knha
            raise InsufficientDataError(
                "the model is degenerate (every cohort has the same transformed proportion, "
                "so the Hartung-Knapp standard error is 0)"
            ) from err
    return res, tuple(dict.fromkeys(str(w.message) for w in caught))


def pooled_prevalence(
    cohorts: pd.DataFrame,
    model: str = "glmm",
    transform: str = "logit",
    method: str = "REML",
    test: str | None = None,
    level: float = 0.95,
    primary_only: bool = True,
):
    """Pooled prevalence of calcinosis (the primary analysis by default).

    Parameters
    ----------
    cohorts : DataFrame
        Harmonised cohorts.
    model : {"glmm", "iv"}
        Binomial-normal GLMM (default) or inverse-variance model on transformed proportions.
    transform, method : str
        Transformation and tau^2 estimator of the inverse-variance model.
    test : str, optional
        ``"z"`` for the GLMM (default), ``"knha"`` for the inverse-variance model (default).
    level : float
        Confidence level.
    primary_only : bool
        Use :func:`analysis_set` (default); otherwise every cohort with a count.

    Returns
    -------
    jdmstats.meta.proportions.ProportionResult

    Raises
    ------
    InsufficientDataError
        No cohort to pool, or a model that cannot be fitted (e.g. no cohort with an event).

    Examples
    --------
    >>> from jdmstats import datasets, prevalence
    >>> res = prevalence.pooled_prevalence(datasets.load_cohorts())
    >>> res.model, 0 < res.ci_low < res.estimate < res.ci_high < 1
    ('glmm', True)
    """
    if primary_only:
        data, _ = analysis_set(cohorts)
    else:
        data = _derive(cohorts[cohorts["n_calcinosis"].notna()])
    test = test or ("z" if model == "glmm" else "knha")
    res, notes = _fit(data["events"].to_numpy(), data["total"].to_numpy(), list(data["label"]),
                      model=model, transform=transform, method=method, test=test,
                      level=level)  # fmt: skip
    for n in notes:
        warnings.warn(n, UserWarning, stacklevel=2)
    return res


def _row(name, res, data, note="") -> dict:
    base = {
        "model": name,
        "k": int(len(data)),
        "n_patients": int(data["total"].sum()) if len(data) else 0,
        "n_calcinosis": int(data["events"].sum()) if len(data) else 0,
    }
    if res is None:
        base.update({c: np.nan for c in TABLE_COLUMNS[4:]})
    else:
        base.update(
            estimate=res.estimate, ci_low=res.ci_low, ci_high=res.ci_high, pi_low=res.pi_low,
            pi_high=res.pi_high, tau2=res.tau2, i2=res.i2,
        )  # fmt: skip
        if res.k < 2:  # one cohort: heterogeneity and the prediction interval are undefined
            base.update(pi_low=np.nan, pi_high=np.nan, tau2=np.nan, i2=np.nan)
    base["note"] = note
    return base


SENSITIVITY = {
    "glmm_primary": ("Binomial-normal GLMM (ML), primary analysis", {"model": "glmm"}, None),
    "iv_logit_reml_knha": (
        "Inverse-variance logit, REML, Hartung-Knapp",
        {"model": "iv", "transform": "logit", "method": "REML", "test": "knha"},
        None,
    ),
    "iv_freeman_tukey_reml_knha": (
        "Inverse-variance Freeman-Tukey, REML, Hartung-Knapp (flagged)",
        {"model": "iv", "transform": "freeman-tukey", "method": "REML", "test": "knha"},
        None,
    ),
    "glmm_excluding_abstract_only": (
        "GLMM excluding sources read as abstract only",
        {"model": "glmm"},
        lambda d: d["source_level"].astype(str) != "abstract",
    ),
    "glmm_excluding_at_diagnosis": (
        "GLMM excluding counts at diagnosis",
        {"model": "glmm"},
        lambda d: d["calcinosis_timing"].astype(str) != "at_diagnosis",
    ),
}
"""Models of ``tables/prevalence.csv``: name -> (description, fit options, cohort filter)."""


@dataclass(frozen=True)
class PrevalenceModels(ResultMixin):
    """Primary and sensitivity models of the pooled prevalence.

    Attributes
    ----------
    fits : dict
        Model name -> :class:`~jdmstats.meta.proportions.ProportionResult` (or None when the
        model could not be fitted; the reason is in ``table["note"]``).
    table : DataFrame
        One row per model with :data:`TABLE_COLUMNS` and ``note``.
    data : DataFrame
        The analysis set (:func:`analysis_set`).
    excluded : DataFrame
        Cohorts left out with the reason.
    """

    fits: dict
    table: pd.DataFrame
    data: pd.DataFrame
    excluded: pd.DataFrame
    _title: str = field(default="Pooled prevalence of calcinosis", repr=False)

    @property
    def primary(self):
        """The primary (GLMM) fit."""
        return self.fits.get("glmm_primary")

    def summary(self) -> pd.DataFrame:
        return self.table


MULTILEVEL = "multilevel_logit_reml_overlaps"
"""Name of the sensitivity model that keeps every report of overlapping cohorts."""


def overlap_set(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Every report of the primary cohorts, overlapping reports included, with its group.

    The primary analysis (:func:`analysis_set`) counts children once, so a later or earlier
    report on the same children is left out. This set keeps them: a cohort with a stated count
    is added back when it was left out only for an overlap, i.e. when its ``overlaps_with``
    links it, directly or through other reports (by ``cohort_id`` or ``study_id``), to a
    cohort of the analysis set; the smaller of two overlapping included cohorts, which
    :func:`analysis_set` drops, comes back the same way.  Each report is put in a ``group``
    with the reports it overlaps (a connected component of the ``overlaps_with`` links),
    named after the first cohort of the analysis set in it.

    Returns
    -------
    DataFrame
        The derived columns of :func:`analysis_set` plus ``group`` and ``readmitted`` (True for
        a report that the primary analysis leaves out), sorted as the analysis set.
    """
    data, excluded = analysis_set(cohorts)
    primary = set(data["cohort_id"])
    c = cohorts[cohorts["n_calcinosis"].notna()]
    by_study = c.groupby("study_id")["cohort_id"].apply(list).to_dict()
    parent = {cid: cid for cid in c["cohort_id"]}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for cid, ov in zip(c["cohort_id"], c["overlaps_with"], strict=True):
        if not isinstance(ov, str) or not ov.strip():
            continue
        for t in [ov] if ov in parent else by_study.get(ov, []):
            a, b = find(cid), find(t)
            if a != b:
                parent[a] = b
    roots = {find(cid) for cid in primary}
    out = _derive(c[[cid in primary or find(cid) in roots for cid in c["cohort_id"]]])
    first = {}  # group name: the first primary cohort (in analysis-set order) of the component
    for cid in data["cohort_id"]:
        first.setdefault(find(cid), cid)
    groups = {cid: first[find(cid)] for cid in out["cohort_id"]}
    out["group"] = out["cohort_id"].map(groups)
    out["readmitted"] = ~out["cohort_id"].isin(primary)
    return out.reset_index(drop=True)


def multilevel_overlaps(cohorts: pd.DataFrame, level: float = 0.95):
    """Three-level sensitivity model that keeps the overlapping reports (metafor ``rma.mv``).

    Logit proportions (escalc ``PLO``) of :func:`overlap_set`, with random intercepts for the
    group of reports on the same children and for the report within its group (metafor
    ``rma.mv(yi, vi, random = ~ 1 | group/cohort, method = "REML")``), back-transformed with
    the inverse logit.  The prediction interval uses both variance components.  The sampling
    errors of two reports on the same children are taken as independent (their covariance is
    not reported), so the CI is, if anything, too narrow; the model shows whether the primary
    estimate depends on which report of an overlapping cohort was kept.

    Returns
    -------
    (MultilevelResult or None, DataFrame, dict)
        The fit (None when fewer than 2 reports), the data set of :func:`overlap_set`, and the
        row of ``tables/prevalence.csv`` (``tau2`` is the sum of the two components; ``i2``
        is left blank: metafor defines no I^2 for rma.mv).
    """
    from jdmstats.meta.effects import escalc
    from jdmstats.meta.multilevel_models import multilevel

    data = overlap_set(cohorts)
    k, ng = len(data), int(data["group"].nunique()) if len(data) else 0
    nre = int(data["readmitted"].sum()) if len(data) else 0
    if k < 2 or nre == 0:
        why = "fewer than 2 reports" if k < 2 else "no overlapping report to add back"
        return None, data, _row(MULTILEVEL, None, data, f"not fitted: {why}")
    es = escalc("PLO", xi=data["events"].to_numpy(), ni=data["total"].to_numpy())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = multilevel(es.yi, es.vi, random=[data["group"].to_numpy(),
                                               data["cohort_id"].to_numpy()],
                         method="REML", level=level, labels=list(data["label"]))  # fmt: skip
    from scipy import stats

    z = float(stats.norm.ppf(0.5 + level / 2))
    s2 = float(np.sum(fit.sigma2))
    half = z * np.sqrt(fit.se**2 + s2)
    expit = lambda x: float(1 / (1 + np.exp(-x)))  # noqa: E731
    row = {"model": MULTILEVEL, "k": k, "n_patients": int(data["total"].sum()),
           "n_calcinosis": int(data["events"].sum()), "estimate": expit(fit.estimate),
           "ci_low": expit(fit.ci_low), "ci_high": expit(fit.ci_high),
           "pi_low": expit(fit.estimate - half), "pi_high": expit(fit.estimate + half),
           "tau2": s2, "i2": np.nan}  # fmt: skip
    notes = [f"{k} reports in {ng} groups of the same children ({nre} overlapping reports "
             "added back; n_patients sums the reports, so their children count once per report); sigma2 group "
             f"{fit.sigma2[0]:.4g}, report {fit.sigma2[1]:.4g}; sampling errors of overlapping "
             "reports taken as independent"]  # fmt: skip
    notes += list(dict.fromkeys(str(w.message) for w in caught))
    row["note"] = "; ".join(notes)
    return fit, data, row


def prevalence_models(cohorts: pd.DataFrame, level: float = 0.95) -> PrevalenceModels:
    """Fit the primary model and every sensitivity model of :data:`SENSITIVITY`.

    A model that cannot be fitted (k = 0, or no events at all) gives a row of NaN whose
    ``note`` says why; warnings (k = 1, Freeman-Tukey caveat, ...) are kept in ``note`` too.

    Returns
    -------
    PrevalenceModels

    Examples
    --------
    >>> from jdmstats import datasets, prevalence
    >>> models = prevalence.prevalence_models(datasets.load_cohorts())
    >>> list(models.table["model"]) == [*prevalence.SENSITIVITY, prevalence.MULTILEVEL]
    True
    >>> models.primary.k == len(models.data)
    True
    """
    data, excluded = analysis_set(cohorts)
    fits, rows = {}, []
    for name, (_desc, kw, filt) in SENSITIVITY.items():
        sub = data[filt(data)] if filt is not None else data
        try:
            res, notes = _fit(sub["events"].to_numpy(), sub["total"].to_numpy(),
                              list(sub["label"]), level=level, **kw)  # fmt: skip
            note = "; ".join(notes)
            if kw.get("transform") == "freeman-tukey":
                note = "FLAGGED: " + (note or "Freeman-Tukey back-transformation")
        except InsufficientDataError as err:
            res, note = None, f"not fitted: {err}"
            warnings.warn(f"prevalence model {name}: {note}", UserWarning, stacklevel=2)
        fits[name] = res
        rows.append(_row(name, res, sub, note))
    fits[MULTILEVEL], _, ml_row = multilevel_overlaps(cohorts, level=level)
    rows.append(ml_row)
    table = pd.DataFrame(rows, columns=[*TABLE_COLUMNS, "note"])
    return PrevalenceModels(fits=fits, table=table, data=data, excluded=excluded)


def leave_one_out(data: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Leave-one-out estimates of the GLMM and the IV logit (REML, Hartung-Knapp) models.

    Parameters
    ----------
    data : DataFrame
        The analysis set (:func:`analysis_set`).

    Returns
    -------
    DataFrame
        One row per omitted cohort: ``omitted``, ``k``, GLMM ``glmm_estimate``/``ci_low``/
        ``ci_high``/``tau2`` and IV ``iv_estimate``/``ci_low``/``ci_high``/``tau2``/``i2``
        (proportions).

    Raises
    ------
    InsufficientDataError
        With fewer than 3 cohorts (each refit needs at least 2).

    Examples
    --------
    >>> from jdmstats import datasets, prevalence
    >>> data, _ = prevalence.analysis_set(datasets.load_cohorts())
    >>> loo = prevalence.leave_one_out(data.head(10))  # ten cohorts keep the example fast
    >>> len(loo), bool((loo["k"] == 9).all())
    (10, True)
    """
    from jdmstats.meta.effects import transf_ilogit

    k = len(data)
    if k < 3:
        raise InsufficientDataError(f"leave-one-out needs at least 3 cohorts (k = {k})")
    x, n, lab = data["events"].to_numpy(), data["total"].to_numpy(), list(data["label"])
    rows = []
    for i in range(k):
        keep = np.arange(k) != i
        row = {"omitted": lab[i], "k": k - 1}
        try:
            g, _ = _fit(x[keep], n[keep], [lab[j] for j in np.flatnonzero(keep)], level=level)
            row.update(glmm_estimate=g.estimate, glmm_ci_low=g.ci_low, glmm_ci_high=g.ci_high,
                       glmm_tau2=g.tau2)  # fmt: skip
        except InsufficientDataError:
            row.update(glmm_estimate=np.nan, glmm_ci_low=np.nan, glmm_ci_high=np.nan,
                       glmm_tau2=np.nan)  # fmt: skip
        rows.append(row)
    out = pd.DataFrame(rows)
    iv, _ = _fit(x, n, lab, model="iv", method="REML", test="knha", level=level)
    from jdmstats.meta.diagnostics import leave_one_out as loo

    t = loo(iv.fit)
    out["iv_estimate"] = transf_ilogit(t["estimate"].to_numpy())
    out["iv_ci_low"] = transf_ilogit(t["ci_low"].to_numpy())
    out["iv_ci_high"] = transf_ilogit(t["ci_high"].to_numpy())
    out["iv_tau2"] = t["tau2"].to_numpy()
    out["iv_i2"] = t["i2"].to_numpy()
    return out


# --------------------------------------------------------------------------- subgroups
def subgroups(data: pd.DataFrame, variables=None, level: float = 0.95,
              fits: dict | None = None) -> pd.DataFrame:  # fmt: skip
    """Pooled prevalence by subgroup with tests for subgroup differences.

    Parameters
    ----------
    data : DataFrame
        The analysis set (:func:`analysis_set`).
    variables : sequence of str, optional
        Columns of ``data`` (default: :data:`SUBGROUP_VARIABLES`).
    level : float
        Confidence level of the intervals.
    fits : dict, optional
        If given, receives the GLMM result of every group that could be fitted, keyed by
        ``(variable, group)`` (:func:`analyse` draws the region forest from them).

    Returns
    -------
    DataFrame
        One row per (variable, group): ``k``, counts, the GLMM estimate with CI and PI,
        ``tau2``, ``i2``; and per variable the test for differences: ``q_between`` (df,
        p-value) from the IV logit REML subgroup estimates (separate tau^2) and the
        Hartung-Knapp F test of the meta-regression on the group factor (common tau^2),
        ``f_moderator``/``f_df1``/``f_df2``/``f_pvalue``.  Groups "not_stated" are shown
        but left out of the tests (they mix unknown categories).  A group of one cohort
        shows that cohort (tau^2 undefined); a variable with fewer than two stated groups
        has no test, and ``note`` says so.

    Notes
    -----
    The per-group estimates use the primary model (GLMM); the tests use the inverse-variance
    logit model, because a GLMM with moderators is not part of :mod:`jdmstats.meta`
    (metafor's ``rma.glmm(mods=)`` would give a likelihood-ratio test instead).

    Examples
    --------
    >>> from jdmstats import datasets, prevalence
    >>> data, _ = prevalence.analysis_set(datasets.load_cohorts())
    >>> by_region = prevalence.subgroups(data, variables=["region"])
    >>> list(by_region.columns[:3])
    ['variable', 'group', 'k']
    >>> int(by_region["k"].sum()) == len(data)  # every cohort is in one group
    True
    """
    from jdmstats.meta.effects import escalc
    from jdmstats.meta.subgroups import subgroup_analysis

    variables = list(variables or SUBGROUP_VARIABLES)
    counts = data[["events", "total", "label"]]  # row selections of the whole table cost more
    rows = []
    for var in variables:
        g = _str(data[var]).fillna(NOT_STATED)
        levels = sorted(set(g), key=lambda v: (v == NOT_STATED, str(v)))
        test = {"q_between": np.nan, "q_df": np.nan, "q_pvalue": np.nan,
                "f_moderator": np.nan, "f_df1": np.nan, "f_df2": np.nan, "f_pvalue": np.nan}  # fmt: skip
        tested = (g != NOT_STATED).to_numpy()
        stated = [lv for lv in levels if lv != NOT_STATED]
        var_note = ""
        if len(stated) >= 2:
            sub = counts[tested]
            es = escalc("PLO", xi=sub["events"].to_numpy(), ni=sub["total"].to_numpy())
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sg = subgroup_analysis(es.yi, es.vi, g[tested].to_numpy(), method="REML",
                                       test="z", level=level, moderator_test="knha")  # fmt: skip
            test.update(q_between=sg.q_between, q_df=sg.q_between_df,
                        q_pvalue=sg.q_between_pvalue, f_moderator=sg.qm,
                        f_df1=sg.qm_df[0], f_df2=sg.qm_df[1], f_pvalue=sg.qm_pvalue)  # fmt: skip
            if not np.isfinite(sg.qm):
                var_note = "moderator F test needs more cohorts than groups"
        else:
            var_note = "fewer than two stated groups: no test for differences"
        for lv in levels:
            sub = counts[(g == lv).to_numpy()]
            row = {"variable": var, "group": lv}
            try:
                res, notes = _fit(sub["events"].to_numpy(), sub["total"].to_numpy(),
                                  list(sub["label"]), level=level)  # fmt: skip
                note = "; ".join(notes)
            except InsufficientDataError as err:
                res, note = None, f"not fitted: {err}"
            if fits is not None and res is not None:
                fits[(var, lv)] = res
            r = _row("glmm", res, sub, note)
            r.pop("model")
            row.update(r)
            row.update(test)
            if var_note:
                row["note"] = "; ".join(x for x in (row["note"], var_note) if x)
            if lv == NOT_STATED:
                row["note"] = "; ".join(x for x in (row["note"], "not in the test") if x)
            rows.append(row)
    cols = ["variable", "group", "k", "n_patients", "n_calcinosis", "estimate", "ci_low",
            "ci_high", "pi_low", "pi_high", "tau2", "i2", "q_between", "q_df", "q_pvalue",
            "f_moderator", "f_df1", "f_df2", "f_pvalue", "note"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------- meta-regression
def metaregression(
    data: pd.DataFrame, moderator: str, n_iter: int = 1000, seed: int = _SEED,
    level: float = 0.95,
):  # fmt: skip
    """Meta-regression of the logit prevalence on one numeric moderator.

    Inverse-variance logit model (escalc PLO, 1/2 added to zero cells), REML, Hartung-Knapp,
    with a permutation p-value (``n_iter`` permutations, seeded; exact when there are fewer
    distinct permutations).  Cohorts with the moderator missing are left out.

    Returns
    -------
    (MetaRegResult, PermutationResult, DataFrame)
        The fit, the permutation test and the cohorts used (with ``yi``, ``vi``).

    Raises
    ------
    InsufficientDataError
        Fewer than 3 cohorts with the moderator, or a moderator that does not vary.

    Examples
    --------
    >>> from jdmstats import datasets, prevalence
    >>> data, _ = prevalence.analysis_set(datasets.load_cohorts())
    >>> reg, perm, used = prevalence.metaregression(data, "year", n_iter=100)
    >>> list(reg.coef.index), reg.k == len(used)
    (['intrcpt', 'year'], True)
    """
    from jdmstats.meta.effects import escalc
    from jdmstats.meta.regression import metareg, permutation_test

    d = data[pd.to_numeric(data[moderator], errors="coerce").notna()].copy()
    k = len(d)
    if k < 3:
        raise InsufficientDataError(
            f"meta-regression on {moderator} needs at least 3 cohorts with it stated (k = {k})"
        )
    x = pd.to_numeric(d[moderator]).astype(float).to_numpy()
    if np.ptp(x) == 0:
        raise InsufficientDataError(f"{moderator} is the same in every cohort")
    es = escalc("PLO", xi=d["events"].to_numpy(), ni=d["total"].to_numpy(),
                labels=list(d["label"]))  # fmt: skip
    d["yi"], d["vi"] = es.yi, es.vi
    reg = metareg(es.yi, es.vi, pd.DataFrame({moderator: x}), method="REML", test="knha",
                  level=level, labels=list(d["label"]))  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        perm = permutation_test(reg, n_iter=n_iter, seed=seed)
    return reg, perm, d


def metareg_row(name, moderator, unit, reg, perm, k, note="", n_patients=np.nan):
    """One row of a meta-regression table (``n_patients``: children in the ``k`` cohorts)."""
    if reg is None:
        return {"analysis": name, "moderator": moderator, "unit": unit, "k": k,
                "n_patients": n_patients,
                "estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                "pvalue": np.nan, "pvalue_perm": np.nan, "perm_exact": np.nan,
                "n_perm": np.nan, "intercept": np.nan, "tau2": np.nan, "i2": np.nan,
                "r2": np.nan, "note": note}  # fmt: skip
    c = reg.coef.iloc[1]
    return {
        "analysis": name, "moderator": moderator, "unit": unit, "k": reg.k,
        "n_patients": n_patients, "estimate": c["estimate"], "se": c["se"], "ci_low": c["ci_low"], "ci_high": c["ci_high"],
        "pvalue": c["pvalue"], "pvalue_perm": float(perm.pvalue.iloc[1]),
        "perm_exact": bool(perm.exact), "n_perm": int(perm.n_iter),
        "intercept": float(reg.coef.iloc[0]["estimate"]), "tau2": reg.tau2, "i2": reg.i2,
        "r2": reg.r2, "note": note,
    }  # fmt: skip


# --------------------------------------------------------------------------- small studies
def small_study_effects(data: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Tests for small-study effects appropriate to proportions.

    Returns
    -------
    DataFrame
        One row per test: ``test``, ``predictor``, ``k``, ``statistic``, ``df``, ``pvalue``,
        ``slope``, ``note``.  The recommended test regresses the logit prevalence on the
        inverse sample size (``1/n``; Peters et al. 2006 adapted to single proportions,
        REML + Hartung-Knapp, as ``metafor::regtest(predictor = "ninv")``).  Egger's test on
        the standard error of the logit is shown only for comparison and flagged.

    Notes
    -----
    Why the logit-vs-standard-error funnel (and Egger's test on it) misleads for proportions:
    the standard error of a logit proportion, ``sqrt(1/(n p) + 1/(n (1 - p)))``, depends on the
    proportion itself, so studies with proportions far from 1/2 have larger standard errors
    whatever their size.  Estimate and precision are then correlated without any selective
    publication, and the funnel looks asymmetric and Egger's test rejects too often
    (Hunter et al. 2014, J Clin Epidemiol 67:897-903; Peters et al. 2006, JAMA 295:676).
    Sample size is independent of the estimate under no bias, hence the funnel against ``n``
    and the regression on ``1/n``.  Prevalence studies are, moreover, rarely suppressed for
    their result, so "asymmetry" describes small-study effects, not proof of publication bias.

    Examples
    --------
    >>> from jdmstats import datasets, prevalence
    >>> data, _ = prevalence.analysis_set(datasets.load_cohorts())
    >>> sse = prevalence.small_study_effects(data)
    >>> sse[["test", "predictor"]].values.tolist()
    [['peters_inverse_n', '1/n'], ['egger_logit_se', 'SE of logit']]
    """
    from jdmstats.meta.bias import egger_test
    from jdmstats.meta.effects import escalc
    from jdmstats.meta.model import random_effects

    k = len(data)
    rows = []
    cols = ["test", "predictor", "k", "statistic", "df", "pvalue", "slope", "note"]
    if k < 3:
        note = f"not computed: needs at least 3 cohorts (k = {k})"
        return pd.DataFrame(
            [["peters_inverse_n", "1/n", k, np.nan, np.nan, np.nan, np.nan, note],
             ["egger_logit_se", "SE of logit", k, np.nan, np.nan, np.nan, np.nan, note]],
            columns=cols,
        )  # fmt: skip
    x, n = data["events"].to_numpy(), data["total"].to_numpy()
    es = escalc("PLO", xi=x, ni=n, labels=list(data["label"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = random_effects(es.yi, es.vi, method="REML", test="knha", level=level)
        peters = egger_test(fit, predictor="ninv", ni=n)
        eg = egger_test(fit)
    rows.append(["peters_inverse_n", "1/n", k, peters.statistic, peters.df, peters.pvalue,
                 peters.slope, "recommended for proportions (funnel against sample size)"])  # fmt: skip
    rows.append(["egger_logit_se", "SE of logit", k, eg.statistic, eg.df, eg.pvalue, eg.slope,
                 "FLAGGED: misleading for proportions (SE depends on the proportion)"])  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------- the whole question
@dataclass(frozen=True)
class PrevalenceAnalysis(ResultMixin):
    """Everything question 1 computes: the tables of ``jdmstats run`` and the fits behind its
    figures (figures draw these, they never fit).

    Attributes
    ----------
    models : PrevalenceModels
        Primary and sensitivity models (``tables/prevalence.csv`` is ``models.table``).
    cohorts : DataFrame
        The analysis set with Clopper-Pearson CIs (``prevalence_cohorts.csv``).
    subgroups, small_study, metareg, leave1out, exclusions : DataFrame
        ``prevalence_subgroups.csv``, ``prevalence_small_study.csv``, ``prevalence_metareg.csv``,
        ``prevalence_leave1out.csv``, ``prevalence_exclusions.csv``.
    metareg_fits : dict
        Moderator -> (MetaRegResult, the cohorts used), for the bubble plots.
    region_fits : dict
        Region -> GLMM ProportionResult of that region's cohorts (regions with >= 2 cohorts),
        for the subgroup diamonds of the regional forest plot.
    baujat : DataFrame or None
        Baujat coordinates of the IV logit model (k >= 3).
    """

    models: PrevalenceModels
    cohorts: pd.DataFrame
    subgroups: pd.DataFrame
    small_study: pd.DataFrame
    metareg: pd.DataFrame
    leave1out: pd.DataFrame
    exclusions: pd.DataFrame
    metareg_fits: dict
    region_fits: dict
    baujat: pd.DataFrame | None
    _title: str = field(default="Prevalence of calcinosis: every analysis", repr=False)

    @property
    def data(self) -> pd.DataFrame:
        """The analysis set (:func:`analysis_set`)."""
        return self.models.data

    def summary(self) -> pd.DataFrame:
        return self.models.table


def _cohort_table(data: pd.DataFrame) -> pd.DataFrame:
    from jdmstats.meta.effects import clopper_pearson

    if len(data):
        lo, hi = clopper_pearson(data["events"].to_numpy(), data["total"].to_numpy())
    else:
        lo = hi = np.array([])
    return pd.DataFrame({
        "cohort_id": data["cohort_id"], "study_id": data["study_id"], "year": data["year"],
        "events": data["events"], "total": data["total"],
        "proportion": data["events"] / data["total"] if len(data) else [], "ci_low": lo,
        "ci_high": hi, "region": data["region"], "design": data["design"],
        "calcinosis_timing": data["calcinosis_timing"], "source_level": data["source_level"],
        "enrolment_mid": data["enrolment_mid"], "enrolment_basis": data["enrolment_basis"],
        "enrolment_decade": data["enrolment_decade"], "followup_months": data["followup_months"],
        "followup_group": data["followup_group"],
    })  # fmt: skip


def analyse(cohorts: pd.DataFrame, level: float = 0.95) -> PrevalenceAnalysis:
    """Run every analysis of question 1 on a cohorts table (no file is written).

    Impossible analyses (too few cohorts) give a row whose ``note`` says why and a warning,
    never a crash.

    Examples
    --------
    One cohort: the models table says what could not be fitted.

    >>> import warnings
    >>> from jdmstats import datasets, prevalence
    >>> with warnings.catch_warnings():  # too few cohorts for most analyses: warnings say so
    ...     warnings.simplefilter("ignore")
    ...     res = prevalence.analyse(datasets.load_cohorts().head(1))
    >>> res.models.primary.k, len(res.leave1out), res.baujat is None
    (1, 1, True)
    """
    from jdmstats.questions.durations import delay_means

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = prevalence_models(cohorts, level=level)
    for _, r in models.table.iterrows():
        if str(r["note"]).startswith("not fitted"):
            warnings.warn(f"prevalence model {r['model']}: {r['note']}", UserWarning, stacklevel=2)
    data = models.data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        group_fits: dict = {}
        sg = (subgroups(data, level=level, fits=group_fits) if len(data)
              else pd.DataFrame(columns=["variable", "group"]))  # fmt: skip
    excl = models.excluded.copy()
    dm = delay_means(cohorts)
    data_m = data.merge(dm[["cohort_id", "delay_mean_months"]], on="cohort_id", how="left")
    mr_rows, fits_mr = [], {}
    for mod, unit in (("year", "per year"), ("followup_months", "per month"),
                      ("delay_mean_months", "per month")):  # fmt: skip
        try:
            reg, perm, used = metaregression(data_m, mod)
            fits_mr[mod] = (reg, used)
            mr_rows.append(metareg_row("prevalence_logit", mod, unit, reg, perm, reg.k,
                                       n_patients=int(used["total"].sum())))  # fmt: skip
            for cid in data_m.loc[~data_m["cohort_id"].isin(used["cohort_id"]), "cohort_id"]:
                excl.loc[len(excl)] = [cid, _study(data_m, cid), f"prevalence_metareg_{mod}",
                                       f"{mod} not stated"]  # fmt: skip
        except InsufficientDataError as err:
            warnings.warn(str(err), UserWarning, stacklevel=2)
            k = int(pd.to_numeric(data_m[mod], errors="coerce").notna().sum())
            mr_rows.append(metareg_row("prevalence_logit", mod, unit, None, None, k,
                                       f"not fitted: {err}"))  # fmt: skip
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loo = leave_one_out(data, level=level)
    except InsufficientDataError as err:
        warnings.warn(f"leave-one-out: {err}", UserWarning, stacklevel=2)
        loo = pd.DataFrame({"omitted": [None], "note": [f"not computed: {err}"]})
    excl = excl.sort_values(["analysis", "cohort_id"], kind="stable").reset_index(drop=True)
    iv = models.fits.get("iv_logit_reml_knha")
    baujat = None
    if iv is not None and len(data) >= 3:
        from jdmstats.meta.diagnostics import baujat as _baujat

        baujat = _baujat(iv.fit)
    return PrevalenceAnalysis(
        models=models, cohorts=_cohort_table(data), subgroups=sg,
        small_study=small_study_effects(data), metareg=pd.DataFrame(mr_rows), leave1out=loo,
        exclusions=excl, metareg_fits=fits_mr,
        region_fits={group: fit for (var, group), fit in sorted(group_fits.items())
                     if var == "region" and fit.k >= 2},
        baujat=baujat,
    )  # fmt: skip


def _study(d, cid):
    return d.loc[d["cohort_id"] == cid, "study_id"].iloc[0]
