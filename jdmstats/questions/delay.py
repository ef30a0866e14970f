"""Question 2: is diagnostic delay associated with calcinosis?

Three levels of evidence, each used where the data allow it:

* **Study level** (:func:`delay_metaregression`): meta-regression of the logit prevalence of
  calcinosis on the cohort's mean diagnostic delay in months (medians converted to means by
  :func:`jdmstats.meta.convert.median_to_mean`, every conversion recorded by
  :func:`delay_means`), REML with Hartung-Knapp and a seeded permutation p-value.
* **Group level**: pooled mean difference in delay between children with and without
  calcinosis (:func:`group_mean_difference`) and pooled odds ratios of calcinosis by delay
  (:func:`pooled_odds_ratio`), where sources report them.
* **Patient level** (:func:`patient_level`): Firth logistic regression of calcinosis on delay
  (adjusted for age at onset and sex where available), errors clustered by source.  Data in
  which every patient has calcinosis (case reports) cannot show an association: the function
  raises :class:`~jdmstats.errors.InsufficientDataError` and fits nothing.

:func:`analyse` runs all of them; ``jdmstats run`` writes its tables and figures
(:mod:`jdmstats.outputs.steps`).

Examples
--------
>>> from jdmstats import datasets, delay
>>> means = delay.delay_means(datasets.load_cohorts())
>>> "conversion" in means.columns
True
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from jdmstats.errors import InsufficientDataError
from jdmstats.questions.durations import convert_measure, delay_means
from jdmstats.results import ResultMixin

__all__ = [
    "delay_means",
    "group_delays",
    "delay_metaregression",
    "group_mean_difference",
    "pooled_odds_ratio",
    "patient_level",
    "DelayMetaregResult",
    "PooledResult",
    "analyse",
    "DelayAnalysis",
    "N_PERMUTATIONS",
    "SEED",
]

N_PERMUTATIONS = 1000
_Z95 = 1.959963984540054
SEED = 20240101


def group_delays(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Delay in children with and without calcinosis, as means and SDs, per cohort.

    Returns one row per cohort reporting either group: ``n_calc``, ``mean_calc``, ``sd_calc``,
    ``conversion_calc`` and the same for ``nocalc``, and ``usable`` (both groups with a mean
    or converted median, an SD and a size).

    Examples
    --------
    >>> from jdmstats import datasets, delay
    >>> groups = delay.group_delays(datasets.load_cohorts())
    >>> list(groups.columns[-2:])
    ['usable', 'reason']
    >>> bool((groups.loc[~groups["usable"], "reason"] != "").all())  # unusable rows say why
    True
    """
    c = cohorts.reset_index(drop=True)
    has = c["delay_calc_months"].notna() | c["delay_nocalc_months"].notna()
    c = c[has].reset_index(drop=True)
    a = convert_measure("delay_calc", c, c["delay_calc_n"])
    b = convert_measure("delay_nocalc", c, c["delay_nocalc_n"])
    out = pd.DataFrame({
        "cohort_id": c["cohort_id"], "study_id": c["study_id"],
        "n_calc": c["delay_calc_n"].astype(float), "mean_calc": a["mean"], "sd_calc": a["sd"],
        "conversion_calc": a["conversion"],
        "n_nocalc": c["delay_nocalc_n"].astype(float), "mean_nocalc": b["mean"],
        "sd_nocalc": b["sd"], "conversion_nocalc": b["conversion"],
        "delay_definition": c["delay_definition"],
    })  # fmt: skip
    ok = (a["usable_mean"] & b["usable_mean"]).to_numpy()
    for col in ("n_calc", "n_nocalc", "sd_calc", "sd_nocalc"):
        ok &= np.isfinite(out[col].to_numpy(dtype=float)) & (out[col].to_numpy(dtype=float) > 0)
    out["usable"] = ok
    reasons = []
    for i in range(len(out)):
        r = []
        for g in ("calc", "nocalc"):
            if not np.isfinite(out.loc[i, f"n_{g}"]):
                r.append(f"group size ({g}) not stated")
            if not np.isfinite(out.loc[i, f"sd_{g}"]):
                r.append(f"no SD, IQR or range ({g}): {out.loc[i, f'conversion_{g}']}")
            elif not (a if g == "calc" else b)["usable_mean"].iloc[i]:
                r.append(f"no mean ({g}): {out.loc[i, f'conversion_{g}']}")
        reasons.append("; ".join(r))
    out["reason"] = reasons
    return out


# --------------------------------------------------------------------------- study level
@dataclass(frozen=True)
class DelayMetaregResult(ResultMixin):
    """Meta-regression of logit prevalence on mean delay.

    Attributes
    ----------
    fit : MetaRegResult
    permutation : PermutationResult
    data : DataFrame
        Cohorts used, with ``yi``, ``vi``, ``delay_mean_months``, ``conversion``.
    excluded : DataFrame
        Cohorts of the analysis set left out (no delay, or not a usable mean when strict).
    strict : bool
        Only reported means and converted medians were used.
    """

    fit: object
    permutation: object
    data: pd.DataFrame
    excluded: pd.DataFrame
    strict: bool
    _title: str = field(default="Meta-regression of prevalence on diagnostic delay", repr=False)

    @property
    def slope(self) -> float:
        """Change in log odds of calcinosis per month of mean delay."""
        return float(self.fit.coef.iloc[1]["estimate"])

    def summary(self) -> pd.DataFrame:
        c = self.fit.coef.copy()
        c["pvalue_perm"] = np.asarray(self.permutation.pvalue)
        return c


def delay_metaregression(
    cohorts: pd.DataFrame, strict: bool = False, n_iter: int = N_PERMUTATIONS, seed: int = SEED,
    level: float = 0.95,
) -> DelayMetaregResult:  # fmt: skip
    """Meta-regression of the logit prevalence of calcinosis on mean diagnostic delay.

    Parameters
    ----------
    cohorts : DataFrame
        Harmonised cohorts; the prevalence analysis set is used
        (:func:`jdmstats.questions.prevalence.analysis_set`: overlapping cohorts counted once).
    strict : bool
        Use only delays reported as means or medians converted with their IQR/range.
    n_iter, seed : int
        Permutations (the test is exact when there are fewer distinct permutations) and seed.

    Returns
    -------
    DelayMetaregResult

    Raises
    ------
    InsufficientDataError
        Fewer than 3 cohorts with a delay (the model has 2 coefficients and tau^2).

    Notes
    -----
    Inverse-variance logit (escalc PLO, 1/2 added only to zero cells), REML, Hartung-Knapp
    t-test on k - 2 df (Knapp & Hartung 2003) and the permutation test of Higgins & Thompson
    (2004), as ``metafor::rma(yi, vi, mods = ~ delay, test = "knha")`` and ``permutest``.  A
    study-level slope describes cohorts, not children: it is open to ecological bias.

    Examples
    --------
    >>> from jdmstats import datasets, delay
    >>> res = delay.delay_metaregression(datasets.load_cohorts(), n_iter=100)
    >>> list(res.fit.coef.index), res.fit.k == len(res.data), res.strict
    (['intrcpt', 'delay_mean_months'], True, False)
    >>> set(res.excluded["reason"])
    {'diagnostic delay not reported'}
    """
    from jdmstats.questions.prevalence import analysis_set, metaregression

    data, _ = analysis_set(cohorts)
    dm = delay_means(cohorts)
    d = data.merge(dm[["cohort_id", "delay_mean_months", "conversion", "usable_mean"]],
                   on="cohort_id", how="left")  # fmt: skip
    use = d["delay_mean_months"].notna()
    reasons = np.where(use, "", "diagnostic delay not reported")
    if strict:
        bad = use & ~d["usable_mean"].fillna(False).astype(bool)
        reasons = np.where(bad, "delay is not a mean or a convertible median (strict)", reasons)
        use &= ~bad
    excluded = pd.DataFrame({"cohort_id": d.loc[~use, "cohort_id"],
                             "study_id": d.loc[~use, "study_id"],
                             "reason": reasons[~use.to_numpy()]})  # fmt: skip
    reg, perm, used = metaregression(d[use], "delay_mean_months", n_iter=n_iter, seed=seed,
                                     level=level)  # fmt: skip
    return DelayMetaregResult(fit=reg, permutation=perm, data=used.reset_index(drop=True),
                              excluded=excluded.reset_index(drop=True), strict=strict)  # fmt: skip


# --------------------------------------------------------------------------- group level
@dataclass(frozen=True)
class PooledResult(ResultMixin):
    """A pooled group-level effect (mean difference or odds ratio) with its studies.

    ``fit`` is the :class:`~jdmstats.meta.model.RMAResult` (None when k < 2: the single
    study is reported as it is), ``studies`` the per-study effects, ``excluded`` the sources
    left out with the reason, ``scale`` ``"MD"`` (months) or ``"logOR"``.
    """

    measure: str
    fit: object
    studies: pd.DataFrame
    excluded: pd.DataFrame
    note: str
    _title: str = field(default="Pooled group-level effect", repr=False)

    @property
    def k(self) -> int:
        return int(len(self.studies))

    def summary(self) -> pd.DataFrame:
        return self.studies


def group_mean_difference(cohorts: pd.DataFrame, level: float = 0.95) -> PooledResult:
    """Pooled mean difference in delay (months), calcinosis minus no calcinosis.

    Sources reporting both groups with means (or medians convertible with an IQR/range), SDs
    and sizes are pooled by a random-effects model (REML, Hartung-Knapp) on the raw mean
    difference (escalc ``MD``).  Others are listed in ``excluded`` with the reason.  With one
    usable source its difference is reported without pooling (a warning says so); with none,
    ``fit`` is None and ``note`` explains.

    Examples
    --------
    No bundled source reports both groups with SDs, so nothing is pooled:

    >>> import warnings
    >>> from jdmstats import datasets, delay
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     md = delay.group_mean_difference(datasets.load_cohorts())
    >>> md.k, md.fit is None, md.note
    (0, True, 'not estimable: no source reports the data needed')
    """
    from jdmstats.meta.effects import escalc

    g = group_delays(cohorts)
    ok = g[g["usable"]].reset_index(drop=True)
    excluded = g.loc[~g["usable"], ["cohort_id", "study_id", "reason"]].reset_index(drop=True)
    if len(ok):
        es = escalc("MD", m1i=ok["mean_calc"], m2i=ok["mean_nocalc"], sd1i=ok["sd_calc"],
                    sd2i=ok["sd_nocalc"], n1i=ok["n_calc"], n2i=ok["n_nocalc"],
                    labels=list(ok["cohort_id"]))  # fmt: skip
        ok["yi"], ok["vi"] = es.yi, es.vi
    else:
        ok["yi"], ok["vi"] = [], []
    return _pool("MD", ok, excluded, level)


def pooled_odds_ratio(cohorts: pd.DataFrame, level: float = 0.95) -> PooledResult:
    """Pooled odds ratio of calcinosis by diagnostic delay, from the reported ORs and CIs.

    log OR and its standard error ``(log hi - log lo) / (2 z)`` (z of the reported level,
    default 0.95) are pooled by REML with Hartung-Knapp.  ORs with different contrasts (per
    month, per year, above/below a cut-off) are not on the same scale: when they differ a
    warning and the ``note`` say so.

    Examples
    --------
    One bundled source reports an odds ratio, so it is shown as reported, not pooled:

    >>> import warnings
    >>> from jdmstats import datasets, delay
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     res = delay.pooled_odds_ratio(datasets.load_cohorts())
    >>> res.k, res.fit is None, res.note
    (1, True, 'one source only: reported as it is, not pooled')
    """
    from scipy import stats

    c = cohorts[cohorts["delay_or"].notna()].reset_index(drop=True)
    rows, excl = [], []
    for _, r in c.iterrows():
        lo, hi = r["delay_or_ci_low"], r["delay_or_ci_high"]
        lev = r["delay_or_level"] if pd.notna(r["delay_or_level"]) else 0.95
        if pd.isna(lo) or pd.isna(hi) or not (0 < lo < hi):
            excl.append((r["cohort_id"], r["study_id"], "OR without a usable confidence interval"))
            continue
        se = (np.log(hi) - np.log(lo)) / (2 * stats.norm.isf((1 - lev) / 2))
        rows.append({"cohort_id": r["cohort_id"], "study_id": r["study_id"],
                     "or": r["delay_or"], "or_ci_low": lo, "or_ci_high": hi,
                     "contrast": r["delay_or_contrast"], "adjusted": r["delay_or_adjusted"],
                     "yi": float(np.log(r["delay_or"])), "vi": float(se**2)})  # fmt: skip
    ok = pd.DataFrame(rows, columns=["cohort_id", "study_id", "or", "or_ci_low", "or_ci_high",
                                     "contrast", "adjusted", "yi", "vi"])  # fmt: skip
    excluded = pd.DataFrame(excl, columns=["cohort_id", "study_id", "reason"])
    return _pool("logOR", ok, excluded, level)


def _pool(measure, ok, excluded, level) -> PooledResult:
    from jdmstats.meta.model import random_effects

    k = len(ok)
    note = ""
    fit = None
    if k == 0:
        note = "not estimable: no source reports the data needed"
    elif k == 1:
        note = "one source only: reported as it is, not pooled"
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = random_effects(ok["yi"].to_numpy(), ok["vi"].to_numpy(), method="REML",
                                 test="knha", level=level, labels=list(ok["cohort_id"]))  # fmt: skip
        if measure == "logOR" and ok["contrast"].astype(str).nunique() > 1:
            note = "contrasts differ between sources: the pooled OR mixes scales"
    if note:
        warnings.warn(f"{measure}: {note}", UserWarning, stacklevel=3)
    return PooledResult(measure=measure, fit=fit, studies=ok, excluded=excluded, note=note)


# --------------------------------------------------------------------------- patient level
def patient_level(patients: pd.DataFrame, level: float = 0.95):
    """Firth logistic regression of calcinosis on diagnostic delay, clustered by source.

    Covariates: ``delay_months``, plus ``age_onset_years`` and sex (female = 1) when they are
    stated for every patient with a delay (complete cases; a covariate missing for some is
    dropped rather than shrinking the sample, and a note says so).

    Returns
    -------
    jdmstats.firth.FirthResult

    Raises
    ------
    InsufficientDataError
        When the patients with a stated delay all have calcinosis (or none has): case reports
        and case series select children *because* they have calcinosis, so they cannot show
        whether delay is associated with it; no model is fitted.  Also when fewer than 10
        patients have a stated delay.

    Examples
    --------
    Every bundled patient (from case reports and case series) has calcinosis:

    >>> from jdmstats import datasets, delay
    >>> delay.patient_level(datasets.load_patients())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    jdmstats.errors.InsufficientDataError: all ... patients have calcinosis ...
    """
    from jdmstats.firth import firth_logit

    p = patients.copy()
    y_all = p["calcinosis"].astype("boolean")
    if y_all.notna().any() and y_all.dropna().nunique() < 2:
        state = "have calcinosis" if bool(y_all.dropna().iloc[0]) else "lack calcinosis"
        raise InsufficientDataError(
            f"all {int(y_all.notna().sum())} patients {state} (data from case reports and case "
            "series that select children with calcinosis): the outcome does not vary, so an "
            "association between diagnostic delay and calcinosis cannot be estimated and no "
            "model was fitted"
        )
    d = p[p["delay_months"].notna() & y_all.notna()]
    if len(d) < 10:
        raise InsufficientDataError(
            f"only {len(d)} patient(s) with a stated diagnostic delay and outcome: too few for "
            "a patient-level model (at least 10 needed)"
        )
    if d["calcinosis"].astype(bool).nunique() < 2:
        raise InsufficientDataError(
            f"the {len(d)} patients with a stated delay all have the same outcome: no "
            "association can be estimated"
        )
    X = pd.DataFrame({"delay_months": d["delay_months"].astype(float)})
    if d["age_onset_years"].notna().all():
        X["age_onset_years"] = d["age_onset_years"].astype(float)
    if d["sex"].notna().all() and d["sex"].astype(str).nunique() > 1:
        X["female"] = (d["sex"].astype(str) == "F").astype(float)
    return firth_logit(d["calcinosis"].astype(bool).astype(float).to_numpy(), X,
                       cluster=d["study_id"].astype(str).to_numpy(), level=level)  # fmt: skip


# --------------------------------------------------------------------------- the whole question
@dataclass(frozen=True)
class DelayAnalysis(ResultMixin):
    """Everything question 2 computes: the tables of ``jdmstats run`` and the fits behind its
    figures.

    Attributes
    ----------
    cohorts : DataFrame
        Every reported delay with its conversion (``delay_cohorts.csv``).
    metareg : DataFrame
        Main and strict meta-regressions (``delay_metareg.csv``).
    groups : DataFrame
        Per-source and pooled mean differences and odds ratios (``delay_groups.csv``).
    ipd : DataFrame
        The patient-level Firth model, or a row saying why none was fitted (``delay_ipd.csv``).
    exclusions : DataFrame
        ``delay_exclusions.csv``.
    metareg_fits : dict
        Name -> DelayMetaregResult (``"all_delays"``, ``"means_and_converted_medians"``).
    mean_difference, odds_ratio : PooledResult
    """

    cohorts: pd.DataFrame
    metareg: pd.DataFrame
    groups: pd.DataFrame
    ipd: pd.DataFrame
    exclusions: pd.DataFrame
    metareg_fits: dict
    mean_difference: PooledResult
    odds_ratio: PooledResult
    _title: str = field(default="Diagnostic delay and calcinosis: every analysis", repr=False)

    def summary(self) -> pd.DataFrame:
        return self.metareg


def analyse(cohorts: pd.DataFrame, patients: pd.DataFrame, level: float = 0.95) -> DelayAnalysis:
    """Run every analysis of question 2 (no file is written).

    Each analysis that cannot be done warns and leaves a row whose ``note`` says why.

    Examples
    --------
    One cohort: too few for a model; every table is still there.

    >>> import warnings
    >>> from jdmstats import datasets, delay
    >>> with warnings.catch_warnings():  # each analysis that cannot be done warns
    ...     warnings.simplefilter("ignore")
    ...     res = delay.analyse(datasets.load_cohorts().head(1), datasets.load_patients())
    >>> list(res.metareg["note"].str[:11])
    ['not fitted:', 'not fitted:']
    """
    from jdmstats.questions.prevalence import metareg_row

    excl_rows = []
    dm = delay_means(cohorts)
    dm = dm[dm["delay_reported_months"].notna()].reset_index(drop=True)

    rows, fits = [], {}
    for strict, name in ((False, "all_delays"), (True, "means_and_converted_medians")):
        try:
            res = delay_metaregression(cohorts, strict=strict)
            fits[name] = res
            n_col = "total" if "total" in res.data.columns else "n_patients"
            rows.append(metareg_row(name, "delay_mean_months", "log odds per month", res.fit,
                                     res.permutation, res.fit.k,
                                     n_patients=int(res.data[n_col].sum())))  # fmt: skip
            for _, e in res.excluded.iterrows():
                excl_rows.append((e["cohort_id"], e["study_id"], f"delay_metareg_{name}",
                                  e["reason"]))  # fmt: skip
        except InsufficientDataError as err:
            warnings.warn(f"delay meta-regression ({name}): {err}", UserWarning, stacklevel=2)
            rows.append(metareg_row(name, "delay_mean_months", "log odds per month", None,
                                     None, 0, f"not fitted: {err}"))  # fmt: skip
    mr = pd.DataFrame(rows)
    mr["odds_ratio_per_month"] = np.exp(mr["estimate"])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        md, orr = group_mean_difference(cohorts), pooled_odds_ratio(cohorts)
    grows = []
    for res, what in ((md, "mean_difference_months"), (orr, "odds_ratio")):
        back = np.exp if res.measure == "logOR" else (lambda v: v)
        for _, s in res.studies.iterrows():
            se = np.sqrt(s["vi"])
            if res.measure == "logOR":  # the OR and CI as reported
                est, lo, hi = s["or"], s["or_ci_low"], s["or_ci_high"]
                note = f"reported; contrast: {s['contrast']}"
            else:
                est, lo, hi = s["yi"], s["yi"] - _Z95 * se, s["yi"] + _Z95 * se
                note = f"calcinosis {s['conversion_calc']}; no calcinosis {s['conversion_nocalc']}"
            grows.append({"analysis": what, "row": "study", "cohort_id": s["cohort_id"],
                          "k": 1, "estimate": est, "ci_low": lo, "ci_high": hi, "pi_low": np.nan,
                          "pi_high": np.nan, "tau2": np.nan, "i2": np.nan, "pvalue": np.nan,
                          "note": note})  # fmt: skip
        f = res.fit
        grows.append({"analysis": what, "row": "pooled", "cohort_id": "",
                      "k": res.k, "estimate": back(f.estimate) if f else np.nan,
                      "ci_low": back(f.ci_low) if f else np.nan,
                      "ci_high": back(f.ci_high) if f else np.nan,
                      "pi_low": back(f.pi_low) if f else np.nan,
                      "pi_high": back(f.pi_high) if f else np.nan,
                      "tau2": f.tau2 if f else np.nan, "i2": f.i2 if f else np.nan,
                      "pvalue": f.pvalue if f else np.nan,
                      "note": res.note or "REML, Hartung-Knapp"})  # fmt: skip
        for _, e in res.excluded.iterrows():
            excl_rows.append((e["cohort_id"], e["study_id"], f"delay_groups_{what}", e["reason"]))

    try:
        fit = patient_level(patients)
        c = fit.coef.reset_index()
        c.insert(0, "status", "fitted")
        c["n"] = fit.n
        c["events"] = fit.events
        c["n_clusters"] = fit.n_clusters
        c["note"] = "; ".join(fit.notes)
        ipd = c
    except InsufficientDataError as err:
        warnings.warn(f"patient-level model: {err}", UserWarning, stacklevel=2)
        y = patients["calcinosis"].astype("boolean")
        ipd = pd.DataFrame([{
            "status": "not fitted", "term": "delay_months", "n": int(len(patients)),
            "events": int(y.fillna(False).sum()),
            "n_with_delay": int(patients["delay_months"].notna().sum()),
            "n_clusters": int(patients["study_id"].nunique()), "note": str(err),
        }])  # fmt: skip

    excl = pd.DataFrame(excl_rows, columns=["cohort_id", "study_id", "analysis", "reason"])
    excl = excl.sort_values(["analysis", "cohort_id"], kind="stable").reset_index(drop=True)
    return DelayAnalysis(cohorts=dm, metareg=mr, groups=pd.DataFrame(grows), ipd=ipd,
                         exclusions=excl, metareg_fits=fits, mean_difference=md,
                         odds_ratio=orr)  # fmt: skip
