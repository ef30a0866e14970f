"""Question 3: how often and how fast does calcinosis regress under each therapy class?

Two analyses of the therapy episodes (``datasets.load_episodes()``; one row per course given for
calcinosis):

* :func:`response_proportions` — per therapy class, the proportion of courses followed by any
  regression (complete or partial) and by complete regression, with exact Clopper-Pearson
  intervals, and a pooled proportion across sources from a binomial-normal GLMM with a random
  intercept per source (:func:`jdmstats.meta.glmm.binomial_glmm`).
* :func:`time_to_regression` — time from the start of the course to the first report of
  regression: Turnbull's NPMLE per class with cluster-bootstrap bands (Kaplan-Meier when every
  time is exact or right-censored), Weibull AFT (log-normal as a check) for interval-censored
  times with class as covariate, Cox with cluster-robust errors by source (and by patient),
  log-rank test, and a midpoint-imputation sensitivity analysis.

What a sequence-of-therapies design can and cannot attribute
------------------------------------------------------------
Case reports usually describe a child who received several therapies in turn; every course is
an episode, and the episodes of one patient are clustered (same child, same calcinosis, same
authors).  The design can say how often, and how soon, regression was *reported during or
after* a course of a class.  It cannot attribute regression to that therapy: concomitant and
earlier therapies continue (``concomitant``), calcinosis can regress spontaneously as disease
activity settles, a later course starts because the earlier one was judged to fail (so later
courses are given to harder cases, and an earlier course's slow effect may be credited to the
later one), and case reports are published because something worked (publication bias).
Classes are not randomised and are compared across different children, centres and eras.
Proportions and curves here are therefore descriptive; between-class tests and models
(homogeneity test, Cox, AFT, log-rank) treat episodes as independent apart from the
cluster-robust errors, and none of them estimates a causal effect of a therapy.

Examples
--------
>>> from jdmstats import datasets, response
>>> res = response.response_proportions(datasets.load_episodes())
>>> list(res.table.columns[:8])
['class', 'episodes', 'patients', 'any_regression', 'complete', 'estimate', 'ci_low', 'ci_high']
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from jdmstats.errors import InsufficientDataError
from jdmstats.questions.class_response import MIN_TIMED
from jdmstats.results import ResultMixin
from jdmstats.survival import (
    aft_interval,
    cox_cluster,
    kaplan_meier,
    logrank,
    median_interval,
    survival_at,
    turnbull,
    turnbull_bootstrap,
)

__all__ = [
    "ResponseProportions",
    "TimeToRegression",
    "response_proportions",
    "time_to_regression",
    "timed_episodes",
    "analyse",
    "MIN_EPISODES",
    "ZERO_TIME_MONTHS",
]

MIN_EPISODES = 3
"""Classes with fewer episodes are shown (with counts) but not pooled, modelled or tested."""
ZERO_TIME_MONTHS = 12 / 365.25
"""One day in months: a regression reported at time 0 enters the parametric models as
"before one day", (0, 1 day], because log(0) is undefined there."""
SEED = 20240611
MODEL_COLUMNS = ["model", "data", "term", "estimate", "se", "ci_low", "ci_high", "pvalue", "n",
                 "events", "clusters", "se_patient", "se_naive"]  # fmt: skip
EXCLUSION_COLUMNS = ["episode_id", "patient_id", "study_id", "class", "analysis", "reason"]


def _exclusion(row, analysis, reason):
    return {"episode_id": str(row["episode_id"]), "patient_id": str(row["patient_id"]),
            "study_id": str(row["study_id"]), "class": str(row["therapy_class"]),
            "analysis": analysis, "reason": reason}  # fmt: skip


def _class_order(counts: pd.Series) -> list[str]:
    """Classes by number of episodes (descending), then name: a stable row order."""
    df = pd.DataFrame({"c": counts.index.astype(str), "n": counts.to_numpy()})
    return df.sort_values(["n", "c"], ascending=[False, True], kind="stable")["c"].tolist()


# ==============================================================================================
# Response proportions
# ==============================================================================================
@dataclass(frozen=True)
class ResponseProportions(ResultMixin):
    """Response proportions per therapy class.

    Attributes
    ----------
    table : DataFrame
        One row per class (most episodes first) and a final ``all`` row: ``class, episodes,
        patients, any_regression, complete, estimate, ci_low, ci_high`` (any regression,
        Clopper-Pearson), ``complete_estimate, complete_ci_low, complete_ci_high``, ``sources``,
        ``tested`` (>= ``min_episodes`` episodes), ``pooled_estimate, pooled_ci_low,
        pooled_ci_high, pooled_tau2`` (GLMM across sources, any regression), ``not_stated``
        (episodes of the class whose response is not stated: excluded) and ``note``.  A class
        whose every response is unstated has ``episodes = 0`` and NaN estimates.
    exclusions : DataFrame
        Episodes left out (response not stated), with the reason.
    homogeneity_chisq, homogeneity_pvalue : float
        Pearson chi-square across the tested classes (any regression) with a Monte Carlo
        p-value (fixed margins, seeded); NaN with fewer than two tested classes.
    level : float
    min_episodes : int
    """

    table: pd.DataFrame
    exclusions: pd.DataFrame
    homogeneity_chisq: float
    homogeneity_pvalue: float
    level: float
    min_episodes: int
    _title: str = field(default="Response of calcinosis by therapy class", repr=False)

    def summary(self) -> pd.DataFrame:
        return self.table


def _pooled(sub: pd.DataFrame, level: float) -> tuple[float, float, float, float, str]:
    from jdmstats.meta.glmm import binomial_glmm

    by = sub.groupby("study_id", observed=True)["regressed"].agg(["sum", "size"])
    events, totals = by["sum"].to_numpy(int), by["size"].to_numpy(int)
    if events.sum() == 0 or events.sum() == totals.sum():
        what = "no" if events.sum() == 0 else "every"
        return (np.nan,) * 4 + (f"{what} episode regressed: GLMM logit infinite, not pooled",)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = binomial_glmm(events, totals, level=level, labels=list(by.index.astype(str)))
    note = "one source: tau^2 fixed at 0" if len(by) == 1 else ""
    if not fit.converged or not np.isfinite(fit.se) or not np.isfinite(fit.ci_low):
        why = "did not converge" if not fit.converged else "has no finite standard error"
        return (np.nan,) * 4 + (f"GLMM {why} (sources with (nearly) all or no episodes "
                                "regressed): not pooled",)  # fmt: skip
    doubtful = [str(w.message) for w in caught if "implausibly large" in str(w.message)]
    if doubtful:
        # near-separation: the likelihood is flat in tau, so the pooled value means nothing
        return (np.nan,) * 4 + ("GLMM between-source variance implausibly large "
                                f"(tau^2 = {fit.tau2:.3g}; sources with all or no episodes "
                                "regressed): not pooled",)  # fmt: skip
    expit = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    return (float(expit(fit.estimate)), float(expit(fit.ci_low)), float(expit(fit.ci_high)),
            float(fit.tau2), note)  # fmt: skip


def _homogeneity(tested: pd.DataFrame, n_sim: int, seed: int) -> tuple[float, float]:
    """Chi-square for a classes x (regressed, not) table with a Monte Carlo p-value."""
    obs = tested[["any_regression"]].to_numpy(float).ravel()
    tot = tested["episodes"].to_numpy(float)
    if len(obs) < 2 or obs.sum() in (0, tot.sum()):
        return float("nan"), float("nan")

    def chisq(x):
        p = x.sum(axis=-1, keepdims=True) / tot.sum()
        e1, e0 = tot * p, tot * (1 - p)
        return np.sum((x - e1) ** 2 / e1 + ((tot - x) - e0) ** 2 / e0, axis=-1)

    stat = float(chisq(obs[None, :])[0])
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(tot)), tot.astype(int))
    outcome = np.zeros(labels.size)
    outcome[: int(obs.sum())] = 1
    sims = np.empty((n_sim, len(tot)))
    for b in range(n_sim):
        perm = rng.permutation(outcome)
        sims[b] = np.bincount(labels, weights=perm, minlength=len(tot))
    null = chisq(sims)
    pval = (1 + np.sum(null >= stat - 1e-9)) / (n_sim + 1)
    return stat, float(pval)


def response_proportions(
    episodes: pd.DataFrame,
    level: float = 0.95,
    min_episodes: int = MIN_EPISODES,
    n_sim: int = 9999,
    seed: int = SEED,
) -> ResponseProportions:
    """Proportion of therapy courses followed by regression of calcinosis, per therapy class.

    Parameters
    ----------
    episodes : DataFrame
        As returned by :func:`jdmstats.evidence.datasets.load_episodes`.
    level : float
        Confidence level of the exact and pooled intervals.
    min_episodes : int
        Classes with fewer episodes (with a stated response) are shown but get no pooled
        estimate and are left out of the homogeneity test.
    n_sim, seed : int
        Monte Carlo replicates and seed of the homogeneity test.

    Returns
    -------
    ResponseProportions

    Notes
    -----
    "Any regression" is a complete or partial response; progression and no change are not.
    Courses whose response is not stated are excluded from the denominators (listed in
    ``exclusions``).  Per-class intervals are Clopper-Pearson (exact) and treat courses as
    independent; the pooled estimate is the binomial-normal GLMM (logit, ML, 7-node adaptive
    Gauss-Hermite; Stijnen et al. 2010) over sources, which allows between-source variation
    but not the clustering of several courses in one child.  See the module docstring for what
    a sequence of therapies can attribute to one therapy.

    Examples
    --------
    >>> from jdmstats import datasets
    >>> res = response_proportions(datasets.load_episodes())
    >>> int(res.table.loc[res.table["class"] == "all", "episodes"].iloc[0]) >= 1
    True
    """
    from jdmstats.meta.effects import clopper_pearson

    ep = episodes.copy()
    ep["therapy_class"] = ep["therapy_class"].astype(str)
    stated = ep["response"].astype(str).ne("not_stated") & ep["regressed"].notna()
    excl = [_exclusion(r, "response_proportion", "response not stated")
            for _, r in ep[~stated].iterrows()]  # fmt: skip
    not_stated = ep[~stated].groupby("therapy_class").size()
    all_classes = _class_order(ep.groupby("therapy_class").size())
    ep = ep[stated].copy()
    ep["regressed"] = ep["regressed"].astype(bool)
    ep["complete"] = ep["complete"].fillna(False).astype(bool)
    sizes = ep.groupby("therapy_class").size().reindex(all_classes, fill_value=0)
    order = _class_order(sizes)
    rows = []
    for cls in [*order, "all"]:
        sub = ep if cls == "all" else ep[ep["therapy_class"] == cls]
        n, x, c = len(sub), int(sub["regressed"].sum()), int(sub["complete"].sum())
        if n:
            lo, hi = clopper_pearson([x, c], [n, n], level=level)
        else:
            lo = hi = np.array([np.nan, np.nan])
        tested = n >= min_episodes
        row = {"class": cls, "episodes": n, "patients": int(sub["patient_id"].nunique()),
               "any_regression": x, "complete": c, "estimate": x / n if n else np.nan,
               "ci_low": float(lo[0]),
               "ci_high": float(hi[0]), "complete_estimate": c / n if n else np.nan,
               "complete_ci_low": float(lo[1]), "complete_ci_high": float(hi[1]),
               "sources": int(sub["study_id"].nunique()), "tested": bool(tested),
               "not_stated": int(not_stated.sum() if cls == "all" else not_stated.get(cls, 0))}  # fmt: skip
        if tested:
            pe, pl, ph, t2, note = _pooled(sub, level)
        else:
            pe = pl = ph = t2 = np.nan
            note = (
                f"fewer than {min_episodes} episodes with a stated response: shown, not "
                "pooled or tested"
            )
        if cls == "all" and tested:
            note = "all classes together" + (f"; {note}" if note else "")
        row.update(
            pooled_estimate=pe, pooled_ci_low=pl, pooled_ci_high=ph, pooled_tau2=t2, note=note
        )
        rows.append(row)
    if not rows or rows[-1]["episodes"] == 0:
        raise InsufficientDataError("no therapy episode with a stated response: response "
                                    "proportions cannot be estimated")  # fmt: skip
    table = pd.DataFrame(rows)
    tested_rows = table[(table["class"] != "all") & table["tested"].astype(bool)]
    chisq, pval = _homogeneity(tested_rows, n_sim, seed)
    return ResponseProportions(table, pd.DataFrame(excl, columns=EXCLUSION_COLUMNS), chisq,
                               pval, level, min_episodes)  # fmt: skip


# ==============================================================================================
# Time to regression
# ==============================================================================================
def timed_episodes(episodes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Episodes with a usable time, as ``(lower, upper]`` intervals from the course start.

    Returns
    -------
    timed : DataFrame
        ``episode_id, patient_id, study_id, class, censoring, lower, upper, event, midpoint``:
        exact times have ``lower == upper``, "regressed by the visit at T" is ``(0, T]`` (or
        ``(last visit without regression, T]``), right-censored times have ``upper = inf``;
        ``event`` is 1 unless right-censored; ``midpoint`` is the midpoint-imputed time.
    exclusions : DataFrame
        Episodes left out of the time analyses, with the reason.

    Examples
    --------
    >>> from jdmstats import datasets, response
    >>> episodes = datasets.load_episodes()
    >>> timed, excluded = response.timed_episodes(episodes)
    >>> len(timed) + len(excluded) == len(episodes)  # each episode is timed or excluded
    True
    >>> bool(((timed["event"] == 0) == (timed["upper"] == float("inf"))).all())
    True
    """
    rows, excl = [], []
    for _, r in episodes.iterrows():
        cens = str(r["censoring"])
        lo, hi = r["time_lower_months"], r["time_upper_months"]
        if cens == "none":
            why = "time to regression not stated" if str(r["response"]) != "not_stated" \
                else "response and time not stated"  # fmt: skip
            excl.append(_exclusion(r, "time_to_regression", why))
            continue
        if cens == "right" and pd.isna(lo):
            lo = r["followup_months"]
        if pd.isna(lo) or (cens == "exact" and pd.isna(lo) and pd.isna(hi)):
            excl.append(_exclusion(r, "time_to_regression", f"censoring '{cens}' without a time"))
            continue
        if cens == "exact":
            hi = lo if pd.isna(hi) else hi
            lo = hi = float(lo)
        elif cens == "interval":
            if pd.isna(hi) or hi < lo:
                excl.append(_exclusion(r, "time_to_regression", "interval without a valid end"))
                continue
            cens = "exact" if hi == lo else cens
        else:
            hi = np.inf
        rows.append({"episode_id": str(r["episode_id"]), "patient_id": str(r["patient_id"]),
                     "study_id": str(r["study_id"]), "class": str(r["therapy_class"]),
                     "censoring": cens, "lower": float(lo), "upper": float(hi),
                     "event": int(cens != "right"),
                     "midpoint": float(lo) if cens != "interval" else (lo + hi) / 2})  # fmt: skip
    cols = ["episode_id", "patient_id", "study_id", "class", "censoring", "lower", "upper",
            "event", "midpoint"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols), pd.DataFrame(excl, columns=EXCLUSION_COLUMNS)


@dataclass(frozen=True)
class TimeToRegression(ResultMixin):
    """Time-to-regression analyses.

    Attributes
    ----------
    table : DataFrame
        One row per class with episodes (most first): ``class, episodes, episodes_timed,
        exact, interval, right, events, estimator`` (kaplan_meier / turnbull / none),
        ``median, median_ci_low, median_ci_high`` (months; NaN where not estimable),
        ``median_interval_low, median_interval_high`` (Turnbull: the innermost interval holding
        the median), ``midpoint_median`` (Kaplan-Meier on midpoint-imputed times), model
        columns ``weibull_tr, weibull_tr_ci_low, weibull_tr_ci_high`` (time ratio vs the
        reference class), ``lognormal_tr*``, ``cox_hr, cox_hr_ci_low, cox_hr_ci_high`` (hazard
        ratio, robust by source; exact/right-censored data, else midpoint-imputed: see
        ``cox_data``), ``in_models`` and ``note``.
    models : DataFrame
        Long table of every fitted coefficient: ``model, data, term, estimate, se, ci_low,
        ci_high, pvalue, n, events, clusters`` (Cox: ``se`` robust by source, ``se_patient``
        robust by patient, ``se_naive``).
    tests : DataFrame
        Log-rank tests: ``data, chisq, df, pvalue, n, events``.
    timed, exclusions : DataFrame
        Episodes with times (:func:`timed_episodes`) and episodes left out, with reasons.
    curves : dict of DataFrame
        Per class: ``time, surv, lower, upper`` step curves (Kaplan-Meier pointwise log-log CI
        or Turnbull with bootstrap percentile bands).
    reference : str or None
        Reference class of the models.
    notes : tuple of str
        What could not be estimated, and why.
    """

    table: pd.DataFrame
    models: pd.DataFrame
    tests: pd.DataFrame
    timed: pd.DataFrame
    exclusions: pd.DataFrame
    curves: dict
    reference: str | None
    cox_data: str
    notes: tuple
    level: float
    n_boot: int
    seed: int
    _title: str = field(default="Time to regression of calcinosis by therapy class", repr=False)

    def summary(self) -> pd.DataFrame:
        return self.table


def _bootstrap_turnbull(sub, grid, n_boot, rng, level, progress=None):
    """Cluster (patient) bootstrap of the Turnbull curve: pointwise bands and median CI
    (:func:`jdmstats.survival.turnbull_bootstrap`, advancing the shared ``rng``).

    ``progress(done, total, label)``, when given, is called during the replicates (``jdmstats
    run`` passes its progress display)."""
    boot = turnbull_bootstrap(sub["lower"].to_numpy(float), sub["upper"].to_numpy(float), grid,
                              n_boot, rng, level, cluster=sub["patient_id"].to_numpy(),
                              progress=progress)  # fmt: skip
    return boot.lower, boot.upper, boot.median_low, boot.median_high


def _curve_km(fit) -> pd.DataFrame:
    t = fit.table
    start = pd.DataFrame({"time": [0.0], "surv": [1.0], "lower": [1.0], "upper": [1.0]})
    return pd.concat([start, t[["time", "surv", "lower", "upper"]]], ignore_index=True)


def _design(df: pd.DataFrame, classes: list[str], reference: str):
    others = [c for c in classes if c != reference]
    X = np.column_stack([(df["class"] == c).to_numpy(float) for c in others]) if others else None
    return X, [f"class[{c}]" for c in others]


def _coef_rows(model, data, names, est, se, level, n, events, clusters, extra=None):
    from scipy import stats

    z = stats.norm.ppf(0.5 + level / 2)
    rows = []
    for j, name in enumerate(names):
        row = {"model": model, "data": data, "term": name, "estimate": est[j], "se": se[j],
               "ci_low": est[j] - z * se[j], "ci_high": est[j] + z * se[j],
               "pvalue": 2 * stats.norm.sf(abs(est[j] / se[j])), "n": n, "events": events,
               "clusters": clusters}  # fmt: skip
        if extra:
            row.update({k: v[j] for k, v in extra.items()})
        rows.append(row)
    return rows


def time_to_regression(
    episodes: pd.DataFrame,
    level: float = 0.95,
    min_episodes: int = MIN_EPISODES,
    n_boot: int = 500,
    seed: int = SEED,
    progress=None,
) -> TimeToRegression:
    """Time from the start of a therapy course to the first report of regression, by class.

    Parameters
    ----------
    episodes : DataFrame
        As returned by :func:`jdmstats.evidence.datasets.load_episodes`.  Times use ``censoring``,
        ``time_lower_months`` and ``time_upper_months`` (see :func:`timed_episodes`); episodes
        with ``censoring = "none"`` are excluded with the reason recorded.
    level : float
        Confidence level of curves, medians and coefficients.
    min_episodes : int
        A class enters the models and tests with at least this many timed episodes and at
        least one regression; smaller classes are shown (curves and counts) but not modelled.
    n_boot, seed : int
        Bootstrap replicates (patients resampled within class) and seed of the Turnbull bands.
    progress : callable, optional
        ``progress(done, total, label)`` is called during the bootstrap (for a progress bar).

    Returns
    -------
    TimeToRegression

    Raises
    ------
    InsufficientDataError
        When no episode has a usable time.  Smaller shortfalls (a class with no events, too
        few classes for a comparison, a model that does not converge) are not errors: the
        affected estimates are NaN and ``notes`` says why.

    Notes
    -----
    * Per class, Kaplan-Meier (pointwise log-log intervals, Brookmeyer-Crowley median CI as
      R's ``quantile.survfit``) when every time is exact or right-censored, otherwise
      Turnbull's NPMLE (:mod:`jdmstats.survival.turnbull`, our own EM) with pointwise percentile bands
      and a median CI from a cluster bootstrap that resamples patients.  A Turnbull median is
      only known to lie in an innermost interval; ``median`` is its midpoint (as R's survfit)
      and ``median_interval_*`` gives the interval.
    * Weibull AFT (log-normal as a check) with class as covariate on all timed episodes of the
      eligible classes (``survreg(Surv(l, r, type = "interval2") ~ class)``); a regression at
      time 0 enters as (0, 1 day] and right-censorings at 0 (zero-length episodes) are dropped
      there (they carry no information).
    * Cox (Efron ties) with robust errors clustered by source (``se``) and by patient
      (``se_patient``); patients are nested in sources, so the source clustering also covers
      repeated courses in one child.  Fitted on exact/right-censored episodes when there are
      enough, else on midpoint-imputed times (``cox_data`` says which).  With few clusters the
      sandwich errors are too small.
    * Log-rank test on exact/right-censored episodes (its assumptions: known event times,
      independent censoring, independent episodes — the last is violated by repeated courses
      in one child); the midpoint-imputed version is reported as a sensitivity analysis only.
    * Sensitivity: ``midpoint_median`` and the ``midpoint`` model rows replace every interval
      by its midpoint; comparing them with the interval-censored results shows how much the
      conclusions depend on the censoring.

    Validated against R's survival package (tests/reference/survival_reference.R).  What the
    sequence-of-therapies design cannot attribute to one therapy is in the module docstring.

    Examples
    --------
    >>> from jdmstats import datasets
    >>> res = time_to_regression(datasets.load_episodes(), n_boot=20)
    >>> int(res.table["episodes_timed"].sum()) == len(res.timed)
    True
    """
    ep = episodes.copy()
    ep["therapy_class"] = ep["therapy_class"].astype(str)
    timed, excl = timed_episodes(ep)
    if timed.empty:
        raise InsufficientDataError(
            "no therapy episode has a usable time to regression (censoring exact, interval or "
            "right with time_lower_months/time_upper_months): time-to-regression analyses "
            f"need at least one; {len(excl)} episode(s) excluded, see timed_episodes()"
        )
    rng = np.random.default_rng(seed)
    notes: list[str] = []
    order = _class_order(ep.groupby("therapy_class").size())
    counts = timed.groupby("class").size()
    events = timed.groupby("class")["event"].sum()
    eligible = [c for c in order if counts.get(c, 0) >= min_episodes and events.get(c, 0) >= 1]
    reference = max(eligible, key=lambda c: (counts[c], -order.index(c))) if eligible else None
    rows, curves = [], {}
    for cls in order:
        sub = timed[timed["class"] == cls]
        row = {"class": cls, "episodes": int((ep["therapy_class"] == cls).sum()),
               "episodes_timed": len(sub),
               **{k: int((sub["censoring"] == k).sum()) for k in ("exact", "interval", "right")},
               "events": int(sub["event"].sum()), "estimator": "none", "median": np.nan,
               "median_ci_low": np.nan, "median_ci_high": np.nan,
               "median_interval_low": np.nan, "median_interval_high": np.nan,
               "midpoint_median": np.nan}  # fmt: skip
        note = []
        if sub.empty:
            note.append("no timed episode")
        elif (sub["censoring"] != "interval").all():
            km = kaplan_meier(sub["lower"], sub["event"], level=level)
            curves[cls] = _curve_km(km)
            row["estimator"] = "kaplan_meier"
            if len(sub) >= min_episodes:
                row.update(
                    median=km.median, median_ci_low=km.median_low, median_ci_high=km.median_high
                )
        else:
            fit = turnbull(sub["lower"], sub["upper"])
            grid = np.unique(np.concatenate([[0.0], fit.left, fit.right,
                                             sub["lower"].to_numpy()]))  # fmt: skip
            grid = grid[np.isfinite(grid)]
            lo_b, hi_b, m_lo, m_hi = _bootstrap_turnbull(sub, grid, n_boot, rng, level, progress)
            curves[cls] = pd.DataFrame(
                {"time": grid, "surv": survival_at(fit, grid), "lower": lo_b, "upper": hi_b}
            )
            curves[cls].attrs["turnbull"] = fit
            row["estimator"] = "turnbull"
            if len(sub) >= min_episodes:
                ilo, ihi = median_interval(fit)
                row.update(
                    median=(ilo + ihi) / 2 if np.isfinite(ihi) else np.nan,
                    median_interval_low=ilo,
                    median_interval_high=ihi,
                    median_ci_low=m_lo if np.isfinite(m_lo) else np.nan,
                    median_ci_high=m_hi if np.isfinite(m_hi) else np.nan,
                )
        if not sub.empty and len(sub) >= min_episodes:
            row["midpoint_median"] = kaplan_meier(sub["midpoint"], sub["event"]).median
        if 0 < len(sub) < min_episodes:
            note.append(f"fewer than {min_episodes} timed episodes: no median, not modelled")
        elif len(sub) and row["events"] == 0:
            note.append("no regression observed: not modelled")
        if 0 < len(sub) < MIN_TIMED:  # the curves figure draws the classes with MIN_TIMED
            note.append(f"curve not drawn (the figure needs {MIN_TIMED} timed episodes)")
        if row["estimator"] != "none" and len(sub) >= min_episodes and np.isnan(row["median"]):
            note.append("median not reached")
        row["in_models"] = cls in eligible
        row["note"] = "; ".join(note)
        rows.append(row)
    table = pd.DataFrame(rows)
    models, tests, cox_data = _models(timed, eligible, reference, level, notes)
    table = _merge_models(table, models, reference)
    return TimeToRegression(table, models, tests, timed, excl, curves, reference, cox_data,
                            tuple(notes), level, n_boot, seed)  # fmt: skip


def _models(timed, eligible, reference, level, notes):
    """Weibull/log-normal AFT, Cox (robust) and log-rank on the eligible classes."""
    rows, tests = [], []
    cox_data = "none"
    if not eligible:
        notes.append(f"no class has >= {MIN_EPISODES} timed episodes with a regression: no "
                     "model or test fitted")  # fmt: skip
        return (
            pd.DataFrame(columns=MODEL_COLUMNS),
            pd.DataFrame(columns=["data", "chisq", "df", "pvalue", "n", "events"]),
            cox_data,
        )
    if len(eligible) == 1:
        notes.append(f"only one class ({eligible[0]}) is eligible: models without class "
                     "covariate, no comparison between classes")  # fmt: skip
    d = timed[timed["class"].isin(eligible)].reset_index(drop=True)
    # --- AFT on interval-censored data
    a = d[~((d["censoring"] == "right") & (d["lower"] <= 0))].copy()
    zero = (a["censoring"] == "exact") & (a["lower"] <= 0)
    a.loc[zero, "lower"] = 0.0
    a.loc[zero, "upper"] = ZERO_TIME_MONTHS
    X, names = _design(a, eligible, reference)
    for dist in ("weibull", "lognormal"):
        try:
            fit = aft_interval(a["lower"], a["upper"], X, names=names, dist=dist)
        except InsufficientDataError as exc:
            notes.append(f"{dist} AFT not estimable: {exc}")
            continue
        rows += _coef_rows(f"{dist}_aft", "interval", list(fit.names) + ["log(scale)"],
                           np.append(fit.coef, fit.log_scale), fit.se, level, fit.n,
                           int((a["censoring"] != "right").sum()), np.nan)  # fmt: skip
    # --- Cox and log-rank: exact/right data when possible, else midpoint imputation
    er = d[d["censoring"] != "interval"]
    er_ok = (len(eligible) >= 2 and all(
        (er["class"] == c).sum() >= MIN_EPISODES and er.loc[er["class"] == c, "event"].sum() >= 1
        for c in eligible))  # fmt: skip
    for data_name, frame, time_col in (("exact_right", er, "lower"), ("midpoint", d, "midpoint")):
        if len(eligible) < 2:
            break
        if data_name == "exact_right" and not er_ok:
            notes.append(
                "too few exact or right-censored times per class for the Cox model and "
                "log-rank test without imputation; midpoint-imputed versions only"
            )
            continue
        X, names = _design(frame, eligible, reference)
        try:
            fit = cox_cluster(frame[time_col], frame["event"], X, frame["study_id"], names)
            fit_p = cox_cluster(frame[time_col], frame["event"], X, frame["patient_id"], names)
            rows += _coef_rows(
                "cox",
                data_name,
                names,
                fit.coef,
                fit.robust_se,
                level,
                fit.n,
                fit.n_events,
                fit.n_clusters,
                {"se_patient": fit_p.robust_se, "se_naive": fit.naive_se},
            )
            if cox_data == "none":
                cox_data = data_name
        except InsufficientDataError as exc:
            notes.append(f"Cox model ({data_name}) not estimable: {exc}")
        try:
            chisq, df, pval = logrank(frame[time_col], frame["event"], frame["class"])
            tests.append(
                {
                    "data": data_name,
                    "chisq": chisq,
                    "df": df,
                    "pvalue": pval,
                    "n": len(frame),
                    "events": int(frame["event"].sum()),
                }
            )
        except InsufficientDataError as exc:
            notes.append(f"log-rank ({data_name}) not computed: {exc}")
    models = pd.DataFrame(rows, columns=MODEL_COLUMNS)
    return models, pd.DataFrame(tests, columns=["data", "chisq", "df", "pvalue", "n", "events"]), \
        cox_data  # fmt: skip


def _merge_models(table, models, reference):
    cols = {"weibull_tr": ("weibull_aft", "interval"), "lognormal_tr": ("lognormal_aft",
            "interval")}  # fmt: skip
    for col in ("weibull_tr", "lognormal_tr", "cox_hr"):
        for suffix in ("", "_ci_low", "_ci_high"):
            table[col + suffix] = np.nan
    if models.empty:
        return table
    cox = models[models["model"] == "cox"]
    cox_data = cox["data"].iloc[0] if not cox.empty else None
    for i, cls in enumerate(table["class"]):
        if cls == reference:
            for col in ("weibull_tr", "lognormal_tr", "cox_hr"):
                has = (col != "cox_hr" and not models[models["model"] == cols.get(col, ("",))[0]]
                       .empty) or (col == "cox_hr" and cox_data)  # fmt: skip
                if has:
                    table.loc[i, col] = 1.0
            continue
        term = f"class[{cls}]"
        for col, key in (("weibull_tr", cols["weibull_tr"]), ("lognormal_tr", cols["lognormal_tr"]),
                         ("cox_hr", ("cox", cox_data))):  # fmt: skip
            m = models[(models["model"] == key[0]) & (models["data"] == key[1])
                       & (models["term"] == term)]  # fmt: skip
            if not m.empty:
                r = m.iloc[0]
                table.loc[i, [col, col + "_ci_low", col + "_ci_high"]] = np.exp(
                    [r["estimate"], r["ci_low"], r["ci_high"]]
                )
    return table


# ==============================================================================================
# Pipeline
# ==============================================================================================
RESPONSE_COLUMNS = ["class", "episodes", "patients", "any_regression", "complete", "estimate",
                    "ci_low", "ci_high", "complete_estimate", "complete_ci_low",
                    "complete_ci_high", "sources", "tested", "pooled_estimate", "pooled_ci_low",
                    "pooled_ci_high", "pooled_tau2", "not_stated", "note"]  # fmt: skip


@dataclass(frozen=True)
class ResponseAnalysis(ResultMixin):
    """Everything question 3 computes (the tables of ``jdmstats run`` and what its figures draw).

    Attributes
    ----------
    proportions : ResponseProportions
        Response per therapy class (``response_by_class.csv`` is ``proportions.table``).
    time : TimeToRegression or None
        None when no course has a usable time (the reason is in ``time_note``).
    exclusions : DataFrame
        Courses left out of an analysis, with the reason (``response_exclusions.csv``).
    episodes : DataFrame
        The courses analysed (for the swimmer plot).
    pooled : PooledResponse
        Response per class from case patients and therapy arms, pooled over sources
        (:func:`jdmstats.questions.class_response.pooled_response`).
    time_observations : DataFrame
        Every reported time to response (:func:`~jdmstats.questions.class_response.time_observations`).
    """

    proportions: ResponseProportions
    time: TimeToRegression | None
    exclusions: pd.DataFrame
    episodes: pd.DataFrame
    pooled: object = None
    time_observations: pd.DataFrame | None = None
    time_note: str = ""
    _title: str = field(default="Therapy response: every analysis", repr=False)

    def summary(self) -> pd.DataFrame:
        return self.proportions.table[RESPONSE_COLUMNS]


def analyse(episodes: pd.DataFrame, level: float = 0.95, n_boot: int = 500, seed: int = SEED,
            progress=None, arms: pd.DataFrame | None = None,
            studies: pd.DataFrame | None = None) -> ResponseAnalysis:  # fmt: skip
    """Run every analysis of question 3 on an episodes table (no file is written).

    Examples
    --------
    One course without a time to regression: there is no time analysis, and a note says why.

    >>> import warnings
    >>> from jdmstats import datasets, response
    >>> with warnings.catch_warnings():  # no usable time: a warning says so
    ...     warnings.simplefilter("ignore")
    ...     res = response.analyse(datasets.load_episodes().head(1))
    >>> res.time is None, res.time_note[:12]
    (True, 'not analysed')
    """
    prop = response_proportions(episodes, level=level)
    note = ""
    try:
        ttr = time_to_regression(episodes, level=level, n_boot=n_boot, seed=seed,
                                 progress=progress)  # fmt: skip
    except InsufficientDataError as exc:
        ttr, note = None, f"not analysed: {exc}"
        warnings.warn(f"time to regression not analysed: {exc}", UserWarning, stacklevel=2)
    _, time_excl = timed_episodes(episodes.assign(therapy_class=episodes["therapy_class"]
                                                  .astype(str)))  # fmt: skip
    from jdmstats.questions.class_response import pooled_response, time_observations

    pooled = pooled_response(episodes, arms, studies, level=level)
    excl = pd.concat([prop.exclusions, time_excl, pooled.exclusions], ignore_index=True)
    excl = excl.sort_values(["analysis", "episode_id"], kind="stable")
    return ResponseAnalysis(proportions=prop, time=ttr, exclusions=excl, episodes=episodes,
                            pooled=pooled, time_observations=time_observations(episodes, arms),
                            time_note=note)  # fmt: skip
