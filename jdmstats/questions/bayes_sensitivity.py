"""Bayesian sensitivity analysis where k is small: prevalence subgroups (Q1) and therapy classes
(Q3), each beside its frequentist fit.

With a handful of sources, the frequentist estimators of the between-source variance are
unstable (often 0 or very large) and the intervals too narrow or undefined.  Here every subgroup
and class is refitted with the normal-normal hierarchical model on the logit scale
(:func:`jdmstats.meta.bayes_proportion`: escalc PLO, 1/2 added to cells of sources with 0 or all
events), by numerical integration as R's bayesmeta, with

* a **half-normal prior with scale 1 on tau** (logit scale), :data:`TAU_SCALE`: prior median
  0.67, 95% below 1.96.  On the logit scale tau = 1 lets the odds of two sources differ by a
  factor of about 7 (95% range ±1.96 tau), which is the order of heterogeneity seen between
  cohorts of different regions and designs (the whole prevalence set: GLMM tau about 0.85; the
  largest subgroup, about 1.4), so the prior is weakly informative: it leaves that range open
  and only makes implausibly large heterogeneity (tau > 3: odds differing 300-fold between
  sources) unlikely.  It is the "fairly large heterogeneity" half-normal(1) of Röver et al.
  (2021, Res Synth Methods 12:448) for log odds;
* an improper uniform prior on mu, so the location is the data's alone.

The table gives the posterior median of the pooled proportion with its 95% central credible
interval (quantiles of mu back-transformed, so the interval is the same on both scales), the
95% predictive interval for a new source, and the posterior median and 95% upper bound of tau.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["prevalence_sensitivity", "response_sensitivity", "TAU_SCALE", "PRIOR", "COLUMNS"]

TAU_SCALE = 1.0
"""Scale of the half-normal prior on tau (logit scale)."""
PRIOR = f"tau ~ half-normal({TAU_SCALE:g}) on the logit scale; mu ~ uniform (improper)"
"""The priors, as printed in the table."""
COLUMNS = ["question", "variable", "group", "k", "n_assessed", "n_events", "prior",
           "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau_median", "tau_ci_high",
           "freq_model", "freq_estimate", "freq_ci_low", "freq_ci_high", "freq_tau2", "note"]  # fmt: skip


def _expit(v):
    return 1.0 / (1.0 + np.exp(-np.asarray(v, float)))


def _bayes_row(events, totals, labels) -> dict:
    from jdmstats.meta.bayesian import bayes_proportion

    fit = bayes_proportion(events, totals, labels=labels, tau_scale=TAU_SCALE)
    t = fit.table
    events, totals = np.asarray(events), np.asarray(totals)
    notes = []
    if fit.k == 1:
        notes.append("one source: the posterior of tau is its prior")
    if np.any((events == 0) | (events == totals)):
        notes.append("1/2 added to the cells of sources with 0 or all events")
    return {
        "note": "; ".join(notes),
        "estimate": float(_expit(t.loc["median", "mu"])),
        "ci_low": float(_expit(t.loc["95% lower (central)", "mu"])),
        "ci_high": float(_expit(t.loc["95% upper (central)", "mu"])),
        "pi_low": float(_expit(t.loc["95% lower (central)", "theta"])),
        "pi_high": float(_expit(t.loc["95% upper (central)", "theta"])),
        "tau_median": float(t.loc["median", "tau"]),
        "tau_ci_high": float(fit.tau_quantile(0.975)),
    }


def prevalence_sensitivity(subgroups: pd.DataFrame, data: pd.DataFrame) -> pd.DataFrame:
    """Bayesian refit of every prevalence subgroup beside its GLMM.

    Parameters
    ----------
    subgroups : DataFrame
        :func:`jdmstats.questions.prevalence.subgroups` (the frequentist rows).
    data : DataFrame
        The analysis set the subgroups were formed from (columns of the subgroup variables,
        ``events``, ``total``, ``label``).

    Returns
    -------
    DataFrame
        :data:`COLUMNS`, one row per (variable, group).
    """
    rows = []
    counts = data[["events", "total", "label"]]  # row selections of the whole table cost more
    coded: dict = {}
    for _, sg in subgroups.iterrows():
        var, group = sg["variable"], sg["group"]
        if var not in coded:
            coded[var] = data[var].astype(object).where(data[var].notna(), "not_stated").astype(str)
        sub = counts[(coded[var] == str(group)).to_numpy()]
        row = {"question": "prevalence", "variable": var, "group": group, "k": int(len(sub)),
               "n_assessed": int(sub["total"].sum()), "n_events": int(sub["events"].sum()),
               "prior": PRIOR, "freq_model": "binomial-normal GLMM (ML)",
               "freq_estimate": sg["estimate"], "freq_ci_low": sg["ci_low"],
               "freq_ci_high": sg["ci_high"], "freq_tau2": sg["tau2"], "note": ""}  # fmt: skip
        if len(sub):
            row.update(_bayes_row(sub["events"].to_numpy(), sub["total"].to_numpy(),
                                  list(sub["label"].astype(str))))  # fmt: skip
            row["note"] = "; ".join(x for x in (row["note"], sg.get("note", "")) if x and x == x)
        else:
            row["note"] = "no cohort"
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def response_sensitivity(pooled) -> pd.DataFrame:
    """Bayesian refit of the response of each therapy class beside its GLMM (or exact CI).

    Parameters
    ----------
    pooled : PooledResponse
        :func:`jdmstats.questions.class_response.pooled_response`.

    Returns
    -------
    DataFrame
        :data:`COLUMNS`, one row per class (sources with no child assessed are left out and
        counted in ``note``).
    """
    rows = []
    counts = pooled.counts
    for _, pr in pooled.table.iterrows():
        cls = pr["class"]
        if cls == "all":
            continue
        by = (counts[counts["class"] == cls].groupby("study_id", sort=True)
              .agg(assessed=("assessed", "sum"), responders=("responders", "sum")))  # fmt: skip
        empty = int((by["assessed"] == 0).sum())
        by = by[by["assessed"] > 0]
        pooled_ok = np.isfinite(pr["pooled_estimate"])
        freq = ("pooled", "binomial-normal GLMM (ML)") if pooled_ok else ("crude", pr["method"])
        row = {"question": "response", "variable": "class", "group": cls, "k": int(len(by)),
               "n_assessed": int(by["assessed"].sum()), "n_events": int(by["responders"].sum()),
               "prior": PRIOR, "freq_model": freq[1],
               "freq_estimate": pr[f"{freq[0]}_estimate"], "freq_ci_low": pr[f"{freq[0]}_ci_low"],
               "freq_ci_high": pr[f"{freq[0]}_ci_high"],
               "freq_tau2": pr["pooled_tau2"] if pooled_ok else np.nan,
               "note": f"{empty} source(s) with no child assessed left out" if empty else ""}  # fmt: skip
        if len(by):
            left_out = row["note"]
            row.update(_bayes_row(by["responders"].to_numpy(int), by["assessed"].to_numpy(int),
                                  [str(s) for s in by.index]))  # fmt: skip
            row["note"] = "; ".join(x for x in (row["note"], left_out) if x)
        else:
            row["note"] = "no child assessed"
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)
