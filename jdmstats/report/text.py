"""Sentences of the HTML report, written from the numbers in the pipeline's tables.

Like metafor's ``reporter()``: every number in a sentence is read from a results table
(``tables/prevalence.csv`` and the others), so the text changes when the data change. A
sentence whose table or column is missing is left out, never guessed.
"""

from __future__ import annotations

import math

import pandas as pd

CAPTIONS = {
    "prisma": "PRISMA 2020 flow diagram, computed from the search log and the inclusion decisions.",
    "prevalence_forest": "Prevalence of calcinosis per cohort (Clopper-Pearson 95% CI) with the "
                         "pooled estimate and the 95% prediction interval.",
    "prevalence_forest_region": "Prevalence of calcinosis per cohort, by region, with a pooled "
                                "estimate per region.",
    "prevalence_bubble_year": "Meta-regression of logit prevalence on publication year (point "
                              "size by weight) with its 95% confidence band.",
    "prevalence_bubble_followup_months": "Meta-regression of logit prevalence on follow-up "
                                         "(months), point size by weight, with its 95% "
                                         "confidence band.",
    "prevalence_bubble_delay_mean_months": "Meta-regression of logit prevalence on mean "
                                           "diagnostic delay (months), point size by weight, "
                                           "with its 95% confidence band.",
    "delay_forest_or": "Odds ratios of calcinosis by diagnostic delay as reported by the "
                       "sources.",
    "prevalence_funnel": "Funnel plot of the cohort prevalences against sample size.",
    "prevalence_leave1out": "Leave-one-out: pooled prevalence with each cohort omitted.",
    "prevalence_baujat": "Baujat plot: contribution to heterogeneity against influence.",
    "response_forest": "Response of calcinosis per therapy class (any regression), with exact "
                       "95% CIs and counts.",
    "time_to_regression": "Time to regression per therapy class (Turnbull or Kaplan-Meier) with "
                          "the number at risk.",
    "time_observations": "Every reported time to regression, by therapy class (courses and "
                         "series; censored times marked).",
    "swimmer": "Every patient's therapy courses over time, coloured by class, marked where "
               "regression was first seen.",
}  # fmt: skip

TABLE_TITLES = {
    "prevalence": "Pooled prevalence, one row per model",
    "prevalence_subgroups": "Prevalence by subgroup, with the test for subgroup differences",
    "prevalence_metareg": "Meta-regression of logit prevalence",
    "prevalence_small_study": "Small-study effects",
    "prevalence_leave1out": "Leave-one-out",
    "prevalence_cohorts": "Cohorts in the prevalence analysis",
    "prevalence_exclusions": "Cohorts left out of the primary prevalence analysis",
    "bayes_sensitivity_prevalence": "Prevalence by subgroup, Bayesian sensitivity analysis "
                                    "(half-normal(1) prior on tau, logit scale) beside the GLMM",
    "bayes_sensitivity_response": "Response per therapy class, Bayesian sensitivity analysis "
                                  "(half-normal(1) prior on tau, logit scale) beside the GLMM",
    "delay_metareg": "Meta-regression of logit prevalence on diagnostic delay",
    "delay_groups": "Delay by calcinosis group: mean differences and odds ratios",
    "delay_ipd": "Patient-level logistic regression of calcinosis on delay",
    "delay_cohorts": "Cohorts reporting diagnostic delay",
    "delay_exclusions": "Records left out of the delay analyses",
    "response_by_class": "Response per therapy class",
    "response_exclusions": "Therapy courses left out of the response analyses",
    "time_to_regression": "Time to regression per therapy class",
    "time_to_regression_models": "Models of time to regression",
    "time_to_regression_tests": "Tests of time to regression",
    "prisma": "PRISMA 2020 counts",
    "studies_by_country": "Sources by country",
    "studies_by_decade": "Sources by decade of publication",
    "case_patients": "Case patients",
    "episodes_by_class": "Therapy courses per class",
    "warnings": "Warnings raised by the analyses",
}

MODEL_NAMES = {
    "glmm_primary": "binomial-normal GLMM",
    "iv_logit_reml_knha": "inverse-variance logit, REML, Hartung-Knapp",
    "iv_freeman_tukey_reml_knha": "Freeman-Tukey, REML, Hartung-Knapp (flagged)",
    "glmm_excluding_abstract_only": "GLMM excluding abstract-only sources",
    "glmm_excluding_at_diagnosis": "GLMM excluding counts at diagnosis",
    "multilevel_logit_reml_overlaps": "three-level logit model keeping the overlapping reports",
}


def caption(stem: str, t: dict[str, pd.DataFrame] | None = None,
            counts: dict[str, int] | None = None, cohorts: pd.DataFrame | None = None) -> str:
    """Caption of a figure file (its stem without suffix), ending with its k and n.

    k and n are read from the results tables ``t``, the summary of counts ``counts``
    (:func:`jdmstats.outputs.publication.summary_counts`) and the harmonised ``cohorts``
    (sizes of the cohorts a forest shows), never from the figure.
    """
    base = CAPTIONS.get(stem, stem.replace("_", " ").capitalize() + ".")
    kn = figure_kn(stem, t or {}, counts or {}, cohorts)
    return f"{base} {kn}" if kn else base


def figure_kn(stem: str, t: dict[str, pd.DataFrame], c: dict[str, int],
              cohorts: pd.DataFrame | None = None) -> str:
    """``"k = 35 cohorts, n = 2,167 children."`` for a figure, from the results (or "")."""
    def say(k, k_what, n=None, n_what="children"):
        if not _ok(k):
            return ""
        out = f"k = {_int(k)} {k_what}"
        return out + (f", n = {_int(n)} {n_what}." if _ok(n) else ".")

    prev = _row(t.get("prevalence"), "model", "glmm_primary")
    if stem in ("prevalence_forest", "prevalence_forest_region", "prevalence_funnel",
                "prevalence_leave1out", "prevalence_baujat") and prev is not None:
        return say(_get(prev, "k"), "cohorts", _get(prev, "n_patients"))
    if stem.startswith("prevalence_bubble_"):
        mod = stem[len("prevalence_bubble_"):]
        r = _row(t.get("prevalence_metareg"), "moderator", mod)
        if r is None:
            return ""
        n = _get(r, "n_patients")
        if not _ok(n):  # results written before n_patients was a column: the cohorts used
            n = _moderator_children(t, mod, _get(r, "k"))
        return say(_get(r, "k"), "cohorts", n)
    if stem.startswith("delay_forest_"):
        what = "odds_ratio" if stem.endswith("_or") else "mean_difference_months"
        gr = t.get("delay_groups")
        if gr is None or "analysis" not in gr.columns:
            return ""
        g = gr[gr["analysis"].astype(str) == what]
        studies = g[g["row"].astype(str) == "study"]
        n = None
        if cohorts is not None and len(studies):
            hit = cohorts.loc[cohorts["cohort_id"].isin(studies["cohort_id"]), "n_patients"]
            n = pd.to_numeric(hit, errors="coerce").sum() if hit.notna().all() else None
        return say(len(studies), "source" if len(studies) == 1 else "sources", n)
    if stem == "response_forest":
        r = _row(t.get("response_pooled"), "class", "all")
        return say(_get(r, "k_sources"), "sources", _get(r, "assessed"),
                   "children assessed") if r is not None else ""  # fmt: skip
    if stem in ("time_to_regression",):
        tt = t.get("time_to_regression")
        if tt is None:
            return ""
        return say(int((pd.to_numeric(tt["episodes_timed"], errors="coerce") > 0).sum()),
                   "therapy classes", pd.to_numeric(tt["episodes_timed"]).sum(),
                   "timed courses")  # fmt: skip
    if stem == "time_observations":
        to = t.get("time_observations")
        if to is None:
            return ""
        return say(to["study_id"].nunique(), "sources", pd.to_numeric(to["children"]).sum())
    if stem == "swimmer":
        return say(c.get("case_patients"), "case patients", c.get("courses"), "therapy courses")
    if stem == "prisma":
        return say(c.get("prisma_sources"), "sources included", c.get("cohorts"), "cohorts")
    return ""


def _moderator_children(t: dict[str, pd.DataFrame], mod: str, k) -> float | None:
    """Children in the cohorts of the analysis set with ``mod`` stated (None if unknown or if
    their number is not the meta-regression's k)."""
    co = t.get("prevalence_cohorts")
    if co is None or "total" not in co.columns:
        return None
    if mod not in co.columns:
        dc = t.get("delay_cohorts")
        if dc is None or mod not in dc.columns:
            return None
        co = co.merge(dc[["cohort_id", mod]], on="cohort_id", how="left")
    used = co[pd.to_numeric(co[mod], errors="coerce").notna()]
    return float(used["total"].sum()) if _ok(k) and len(used) == int(k) else None


def verdicts(t: dict[str, pd.DataFrame]) -> dict[str, str]:
    """One line per question saying how firm its answer is (from the results tables)."""
    out = {}
    prev = _row(t.get("prevalence"), "model", "glmm_primary")
    if prev is not None:
        k = _get(prev, "k")
        if _ok(k) and int(k) == 1:
            out["prevalence"] = "Verdict: rests on one cohort only; nothing is pooled."
        else:
            out["prevalence"] = (
                f"Verdict: a firm pooled estimate ({pct(_get(prev, 'estimate'))}, "
                f"{_int(k)} cohorts, {_int(_get(prev, 'n_patients'))} children), but cohorts "
                f"differ widely (I² = {num(_get(prev, 'i2'), 0)}%; a new cohort could lie "
                f"anywhere from {pct(_get(prev, 'pi_low'))} to {pct(_get(prev, 'pi_high'))}).")
    mr = _row(t.get("delay_metareg"), "analysis", "all_delays")
    if mr is not None:
        lo, hi = _get(mr, "ci_low"), _get(mr, "ci_high")
        open_ = _ok(lo) and _ok(hi) and float(lo) < 0 < float(hi)
        bits = [("no association shown" if open_ else "an association")
                + f" across {_int(_get(mr, 'k'))} cohorts (study-level meta-regression)"]
        gr = t.get("delay_groups")
        if gr is not None and "row" in gr.columns:
            pooled = gr[gr["row"].astype(str) == "pooled"]
            for _, r in pooled.iterrows():
                k = _get(r, "k")
                what = nice(_get(r, "analysis", "")).replace(" months", "")
                if _ok(k) and int(k) == 1:
                    bits.append(f"the {what} rests on one source")
                elif _ok(k) and int(k) == 0:
                    bits.append(f"no source gives a {what}")
        out["delay"] = "Verdict: inconclusive: " + "; ".join(bits) + "."
    rp = t.get("response_pooled")
    if rp is not None and "k_sources" in rp.columns:
        cls = rp[rp["class"].astype(str) != "all"]
        k = pd.to_numeric(cls["k_sources"], errors="coerce").fillna(0)
        out["response"] = (
            f"Verdict: weak: case reports and small series only; {int((k <= 1).sum())} of "
            f"{len(cls)} classes with treatment evidence (case courses or therapy arms) rest "
            "on one source or none, and selection of "
            "successes makes every rate an overstatement.")
    return out


def table_title(name: str) -> str:
    return TABLE_TITLES.get(name, name.replace("_", " ").capitalize())


# --------------------------------------------------------------------------------------------
# Number formatting
# --------------------------------------------------------------------------------------------


def _ok(x) -> bool:
    try:
        return x is not None and not (isinstance(x, str)) and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def pct(x, digits: int = 1) -> str:
    return f"{100 * float(x):.{digits}f}%" if _ok(x) else "not estimable"


def num(x, digits: int = 2) -> str:
    return f"{float(x):.{digits}f}" if _ok(x) else "not estimable"


def pval(p) -> str:
    if not _ok(p):
        return "p not available"
    p = float(p)
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _ci(lo, hi, f=pct) -> str:
    if _ok(lo) and _ok(hi):
        return f"95% CI {f(lo)} to {f(hi)}"
    return "CI not estimable"


def _get(row, col, default=None):
    if row is None or col not in row.index:
        return default
    v = row[col]
    return default if (isinstance(v, float) and math.isnan(v)) else v


def _row(df: pd.DataFrame | None, col: str, value) -> pd.Series | None:
    if df is None or col not in df.columns:
        return None
    hit = df[df[col].astype(str) == str(value)]
    return None if hit.empty else hit.iloc[0]


def _int(x) -> str:
    return f"{int(x):,}" if _ok(x) else "?"


MODERATORS = {"year": "publication year", "followup_months": "follow-up in months",
              "delay_mean_months": "mean diagnostic delay in months"}  # fmt: skip
_WORDS = {"tnf": "TNF", "ivig": "IVIG", "jak": "JAK", "il1": "IL-1", "il6": "IL-6",
          "glmm": "GLMM", "followup": "follow-up", "ipd": "patient-level"}  # fmt: skip


def nice(name) -> str:
    """A column or vocabulary value as words: ``tnf_inhibitor`` -> ``TNF inhibitor``."""
    return " ".join(_WORDS.get(w, w) for w in str(name).split("_"))


SMALL_STUDY_TESTS = {
    "peters_inverse_n": "regression on 1/n (Peters-type)",
    "egger_logit_se": "Egger's test on the SE of the logit",
}


# --------------------------------------------------------------------------------------------
# Question by question
# --------------------------------------------------------------------------------------------


def prevalence_text(t: dict[str, pd.DataFrame]) -> str:
    prev = t.get("prevalence")
    if prev is None or prev.empty:
        return ""
    out = []
    main = _row(prev, "model", "glmm_primary")
    if main is None:
        main = prev.iloc[0]
    label = MODEL_NAMES.get(str(_get(main, "model")), str(_get(main, "model")))
    out.append(f"Primary analysis ({label}): pooled prevalence of calcinosis "
               f"{pct(_get(main, 'estimate'))} ({_ci(_get(main, 'ci_low'), _get(main, 'ci_high'))}) "
               f"from {_int(_get(main, 'k'))} cohorts with {_int(_get(main, 'n_patients'))} children, "
               f"{_int(_get(main, 'n_calcinosis'))} of them with calcinosis; tau² = "
               f"{num(_get(main, 'tau2'), 3)}, I² = {num(_get(main, 'i2'), 1)}%; the 95% prediction "
               f"interval for a new cohort runs from {pct(_get(main, 'pi_low'))} to "
               f"{pct(_get(main, 'pi_high'))}.")  # fmt: skip
    others = [r for _, r in prev.iterrows() if _get(r, "model") != _get(main, "model")]
    if others:
        bits = [f"{MODEL_NAMES.get(str(_get(r, 'model')), str(_get(r, 'model')))}: "
                + (f"{pct(_get(r, 'estimate'))} from a single cohort (nothing to pool)"
                   if _get(r, "k") == 1 else
                   f"{pct(_get(r, 'estimate'))} ({_ci(_get(r, 'ci_low'), _get(r, 'ci_high'))}; "
                   f"k = {_int(_get(r, 'k'))})") for r in others]  # fmt: skip
        out.append("Sensitivity analyses gave " + "; ".join(bits) + ".")
    sub = t.get("prevalence_subgroups")
    if sub is not None and not sub.empty and "variable" in sub.columns:
        bits = []
        for var, g in sub.groupby("variable", sort=False):
            r = g.iloc[0]
            if _ok(_get(r, "q_between")):
                bits.append(f"{nice(var)} (Q = {num(_get(r, 'q_between'), 1)} on "
                            f"{_int(_get(r, 'q_df'))} df, {pval(_get(r, 'q_pvalue'))})")  # fmt: skip
        if bits:
            out.append("Tests for subgroup differences: " + "; ".join(bits) + ".")
    mr = t.get("prevalence_metareg")
    if mr is not None and not mr.empty and "moderator" in mr.columns:
        bits = [f"{MODERATORS.get(str(_get(r, 'moderator')), nice(_get(r, 'moderator')))} "
                f"({_get(r, 'unit', '')}, k = "
                f"{_int(_get(r, 'k'))}): {num(_get(r, 'estimate'), 3)} on the logit scale "
                f"({_ci(_get(r, 'ci_low'), _get(r, 'ci_high'), lambda x: num(x, 3))}), "
                f"{pval(_get(r, 'pvalue'))}, permutation {pval(_get(r, 'pvalue_perm'))}"
                for _, r in mr.iterrows()]  # fmt: skip
        out.append("Meta-regression: " + "; ".join(bits) + ".")
    ss = t.get("prevalence_small_study")
    if ss is not None and not ss.empty and "test" in ss.columns:
        bits = [f"{SMALL_STUDY_TESTS.get(str(_get(r, 'test')), nice(_get(r, 'test')))} "
                f"{pval(_get(r, 'pvalue'))}"
                + (" (flagged: misleading for proportions)" if "FLAGGED" in str(_get(r, "note", ""))
                   else "") for _, r in ss.iterrows()]  # fmt: skip
        out.append("Small-study effects: " + "; ".join(bits) + ".")
    loo = t.get("prevalence_leave1out")
    if loo is not None and "estimate" in loo.columns and len(loo):
        est = pd.to_numeric(loo["estimate"], errors="coerce")
        out.append(f"Omitting one cohort at a time, the pooled prevalence ranged from "
                   f"{pct(est.min())} to {pct(est.max())}.")  # fmt: skip
    return " ".join(out)


def delay_text(t: dict[str, pd.DataFrame]) -> str:
    out = []
    mr = t.get("delay_metareg")
    if mr is not None and not mr.empty:
        for _, r in mr.iterrows():
            orr = _get(r, "odds_ratio_per_month")
            lo, hi = _get(r, "ci_low"), _get(r, "ci_high")
            if not _ok(orr) and _ok(_get(r, "estimate")):
                orr = math.exp(float(_get(r, "estimate")))
            ci = _ci(math.exp(lo) if _ok(lo) else None, math.exp(hi) if _ok(hi) else None,
                     lambda x: num(x, 2))  # fmt: skip
            out.append(f"Meta-regression of logit prevalence on mean delay "
                       f"({nice(_get(r, 'analysis', ''))}, k = {_int(_get(r, 'k'))}):"
                       f" odds ratio {num(orr, 2)} per month of delay ({ci}), "
                       f"{pval(_get(r, 'pvalue'))}, permutation {pval(_get(r, 'pvalue_perm'))}"
                       f" ({_int(_get(r, 'n_perm'))} permutations).")  # fmt: skip
    gr = t.get("delay_groups")
    if gr is not None and not gr.empty and "row" in gr.columns:
        for _, r in gr[gr["row"].astype(str) == "pooled"].iterrows():
            what = nice(_get(r, "analysis", ""))
            if _ok(_get(r, "estimate")):
                out.append(f"Pooled {what}: {num(_get(r, 'estimate'))} "
                           f"({_ci(_get(r, 'ci_low'), _get(r, 'ci_high'), num)}; k = "
                           f"{_int(_get(r, 'k'))}).")  # fmt: skip
            else:
                out.append(f"Pooled {what}: {_get(r, 'note', 'not estimable')} "
                           f"(k = {_int(_get(r, 'k'))}).")  # fmt: skip
    ipd = t.get("delay_ipd")
    if ipd is not None and not ipd.empty:
        r = ipd.iloc[0]
        if str(_get(r, "status", "")).startswith("not"):
            out.append(f"Patient-level regression: not fitted: {_get(r, 'note', '')}.")
        else:
            rows = ipd[ipd.get("term", pd.Series(dtype=str)).astype(str) == "delay_months"]
            r = rows.iloc[0] if len(rows) else r
            est = _get(r, "odds_ratio", _get(r, "estimate"))
            out.append(f"Patient-level Firth logistic regression ({_int(_get(r, 'n'))} patients): "
                       f"{_get(r, 'term', 'delay')} {num(est)} "
                       f"({_ci(_get(r, 'ci_low'), _get(r, 'ci_high'), num)}).")  # fmt: skip
    return " ".join(out)


def response_text(t: dict[str, pd.DataFrame]) -> str:
    out = []
    rb = t.get("response_by_class")
    if rb is not None and not rb.empty and "class" in rb.columns:
        allr = _row(rb, "class", "all")
        if allr is not None:
            out.append(
                f"Across all therapy courses with a stated response, calcinosis regressed "
                f"(partly or completely) in {_int(_get(allr, 'any_regression'))} of "
                f"{_int(_get(allr, 'episodes'))} ({pct(_get(allr, 'estimate'))}, "
                f"{_ci(_get(allr, 'ci_low'), _get(allr, 'ci_high'))}); complete regression "
                f"in {_int(_get(allr, 'complete'))}. Pooled across sources (GLMM, random "
                f"effect per source): {pct(_get(allr, 'pooled_estimate'))} "
                f"({_ci(_get(allr, 'pooled_ci_low'), _get(allr, 'pooled_ci_high'))})."
            )
        bits = [f"{nice(_get(r, 'class'))} {_int(_get(r, 'any_regression'))}/"
                f"{_int(_get(r, 'episodes'))} ({pct(_get(r, 'estimate'), 0)}, "
                f"{_ci(_get(r, 'ci_low'), _get(r, 'ci_high'), lambda x: pct(x, 0))})"
                if _ok(_get(r, "episodes")) and _get(r, "episodes") > 0
                else f"{nice(_get(r, 'class'))}: no course with a stated response"
                for _, r in rb.iterrows() if str(_get(r, "class")) != "all"]  # fmt: skip
        if bits:
            out.append("By class (any regression / courses): " + "; ".join(bits) + ".")
    tt = t.get("time_to_regression")
    if tt is not None and not tt.empty and "class" in tt.columns:
        timed = pd.to_numeric(tt.get("episodes_timed"), errors="coerce").fillna(0)
        events = pd.to_numeric(tt.get("events"), errors="coerce").fillna(0)
        with_median = [r for _, r in tt.iterrows() if _ok(_get(r, "median"))]
        out.append(f"Time to regression could be analysed for {_int(timed.sum())} courses with a "
                   f"usable time ({_int(events.sum())} regressions observed).")  # fmt: skip
        if with_median:
            out.append("Median time to regression: " + "; ".join(
                f"{nice(_get(r, 'class'))} {num(_get(r, 'median'), 1)} months"
                for r in with_median) + ".")  # fmt: skip
        else:
            out.append("No therapy class had enough timed courses for a median time to "
                       "regression.")  # fmt: skip
    return " ".join(out)


def descriptive_text(t: dict[str, pd.DataFrame], counts: dict[str, int] | None = None) -> str:
    bc = t.get("studies_by_country")
    ep = t.get("episodes_by_class")
    out = []
    if bc is not None and not bc.empty and "sources" in bc.columns:
        named = bc.loc[~bc["country"].astype(str).isin(["not_stated", "multinational"]),
                       "country"].nunique()  # fmt: skip
        out.append(f"{_int(bc['sources'].sum())} sources from {_int(named)} named countries "
                   f"(plus multinational and unstated): {_int(bc['cohorts'].sum())} cohorts with "
                   f"{_int(bc['cohort_children'].sum())} children, and "
                   f"{_int(bc['case_patients'].sum())} case patients.")  # fmt: skip
    if ep is not None and not ep.empty and "episodes" in ep.columns:
        agents = (counts or {}).get("classes_agents")
        out.append(f"{_int(ep['episodes'].sum())} therapy courses in {len(ep)} therapy classes "
                   "(a course that started agents of several classes together counts once, as "
                   "'combination'"
                   + (f"; counting each agent of a combination in its own class, the courses "
                      f"span {_int(agents)} classes" if _ok(agents) else "") + ").")  # fmt: skip
    return " ".join(out)


def prisma_text(t: dict[str, pd.DataFrame]) -> str:
    pr = t.get("prisma")
    if pr is None or pr.empty:
        return ""
    n = dict(zip(pr["item"].astype(str), pr["n"], strict=False))
    found = n.get("records identified (distinct)", n.get("records found"))
    return (f"{_int(n.get('queries'))} logged queries returned {_int(found)} distinct "
            f"records; {_int(n.get('records screened'))} were screened, "
            f"{_int(n.get('reports assessed for eligibility'))} assessed for eligibility and "
            f"{_int(n.get('reports excluded'))} excluded with a logged reason. "
            f"{_int(n.get('sources included'))} sources are included "
            f"({_int(n.get('sources from the logged searches'))} from the logged searches, "
            f"{_int(n.get('sources identified by other methods'))} by other methods).")  # fmt: skip


# --------------------------------------------------------------------------------------------
# Methods and results paragraphs
# --------------------------------------------------------------------------------------------


def methods_text(t: dict[str, pd.DataFrame]) -> str:
    s = []
    prev = t.get("prevalence")
    if prev is not None and not prev.empty:
        models = set(prev["model"].astype(str)) if "model" in prev.columns else set()
        s.append("The prevalence of calcinosis was pooled across the cohorts included in the "
                 "primary analysis (overlapping cohorts counted once) with a binomial-normal "
                 "generalised linear mixed model (logit link, random intercept per cohort, "
                 "maximum likelihood with adaptive Gauss-Hermite quadrature, no continuity "
                 "correction). Heterogeneity is reported as tau², I² and a 95% prediction "
                 "interval.")  # fmt: skip
        if len(models) > 1:
            s.append("Sensitivity analyses: " + "; ".join(
                MODEL_NAMES.get(m, nice(m)) for m in prev["model"].astype(str)
                if m != "glmm_primary") + ".")  # fmt: skip
    if t.get("prevalence_subgroups") is not None:
        vars_ = t["prevalence_subgroups"].get("variable", pd.Series(dtype=str)).astype(str)
        s.append("Subgroups (" + ", ".join(dict.fromkeys(nice(v) for v in vars_))
                 + ") were compared with a test for subgroup differences.")  # fmt: skip
    if t.get("prevalence_metareg") is not None or t.get("delay_metareg") is not None:
        s.append("Meta-regressions of logit prevalence used REML with the Hartung-Knapp "
                 "adjustment and permutation p-values.")  # fmt: skip
    if t.get("prevalence_small_study") is not None:
        s.append("Small-study effects were assessed against sample size (the logit-versus-SE "
                 "funnel misleads for proportions).")  # fmt: skip
    if t.get("delay_groups") is not None or t.get("delay_ipd") is not None:
        s.append("Diagnostic delay was related to calcinosis at the study level (means, with "
                 "medians converted to means), by pooling group differences and reported odds "
                 "ratios, and at the patient level by Firth-penalised logistic regression where "
                 "the outcome varies.")  # fmt: skip
    if t.get("response_by_class") is not None:
        s.append(
            "Responses to each therapy class are proportions of courses with any "
            "regression, with Clopper-Pearson 95% CIs and a binomial GLMM with a random "
            "effect per source; classes with fewer than 3 courses are shown, not tested."
        )
    if t.get("time_to_regression") is not None:
        s.append("Time to regression runs from the start of each therapy course: interval-"
                 "censored when regression was first seen at a visit, right-censored at the last "
                 "follow-up without regression (Turnbull and Kaplan-Meier estimators, Weibull and "
                 "Cox models with errors clustered by source and patient).")  # fmt: skip
    return " ".join(s) or "No analysis results were found."


def results_text(t: dict[str, pd.DataFrame]) -> str:
    s = []
    prev = t.get("prevalence")
    main = _row(prev, "model", "glmm_primary")
    if main is not None:
        s.append(
            f"Calcinosis affected {pct(_get(main, 'estimate'))} of children with JDM "
            f"({_ci(_get(main, 'ci_low'), _get(main, 'ci_high'))}; "
            f"{_int(_get(main, 'k'))} cohorts, {_int(_get(main, 'n_patients'))} children), "
            f"with a 95% prediction interval of {pct(_get(main, 'pi_low'))} to "
            f"{pct(_get(main, 'pi_high'))} (I² = {num(_get(main, 'i2'), 0)}%)."
        )
    mr = t.get("delay_metareg")
    if mr is not None and not mr.empty:
        r = mr.iloc[0]
        orr = _get(r, "odds_ratio_per_month")
        if not _ok(orr) and _ok(_get(r, "estimate")):
            orr = math.exp(float(_get(r, "estimate")))
        lo, hi = _get(r, "ci_low"), _get(r, "ci_high")
        s.append(f"Across {_int(_get(r, 'k'))} cohorts, each month of mean diagnostic delay "
                 f"changed the odds of calcinosis by a factor of {num(orr)} "
                 f"({_ci(math.exp(lo) if _ok(lo) else None, math.exp(hi) if _ok(hi) else None, num)}"
                 f"; permutation {pval(_get(r, 'pvalue_perm'))}).")  # fmt: skip
    ipd = t.get("delay_ipd")
    if ipd is not None and not ipd.empty and str(_get(ipd.iloc[0], "status", "")).startswith("not"):
        s.append("Patient-level data could not test the association: every case patient has "
                 "calcinosis.")  # fmt: skip
    rb = t.get("response_by_class")
    allr = _row(rb, "class", "all")
    if allr is not None:
        s.append(f"Calcinosis regressed in {_int(_get(allr, 'any_regression'))} of "
                 f"{_int(_get(allr, 'episodes'))} therapy courses with a stated response "
                 f"({pct(_get(allr, 'estimate'))}), completely in {_int(_get(allr, 'complete'))}; "
                 "these case reports cannot attribute regression to one therapy.")  # fmt: skip
    return " ".join(s) or "No analysis results were found."


def paragraphs(t: dict[str, pd.DataFrame], counts: dict[str, int] | None = None) -> dict[str, str]:
    """Methods, results and per-question paragraphs from the results tables (by table name)
    and the summary of counts (:func:`jdmstats.outputs.publication.summary_counts`)."""
    out = {"methods": methods_text(t), "results": results_text(t)}
    for key, func in (("prevalence", prevalence_text), ("delay", delay_text),
                      ("response", response_text),
                      ("descriptive", lambda x: descriptive_text(x, counts)),
                      ("prisma", prisma_text)):  # fmt: skip
        try:
            txt = func(t)
        except Exception as exc:  # noqa: BLE001 - a surprising table must not sink the report
            txt = f"(The summary sentence could not be written: {type(exc).__name__}: {exc}.)"
        if txt:
            out[key] = txt
    return out


def data_counts(data: dict[str, pd.DataFrame], counts: dict[str, int] | None = None) -> str:
    """A sentence of counts and gaps generated from the harmonised tables (the class counts
    from the summary of counts, when given)."""
    st = data.get("studies", pd.DataFrame())
    co = data.get("cohorts", pd.DataFrame())
    pa = data.get("patients", pd.DataFrame())
    ep = data.get("episodes", pd.DataFrame())
    bits = [f"{len(st)} sources"]
    if "source_level" in st.columns:
        abstract = int((st["source_level"].astype(str) == "abstract").sum())
        bits.append(f"{abstract} of them read as abstract only")
    if len(co):
        prim = int(co["include_primary"].fillna(False).astype(bool).sum())
        delay = int(co["delay_months"].notna().sum()) if "delay_months" in co.columns else 0
        bits.append(f"{len(co)} cohorts ({prim} in the primary prevalence analysis, {delay} "
                    "reporting a diagnostic delay)")  # fmt: skip
    if len(pa):
        bits.append(f"{len(pa)} case patients")
    if len(ep):
        timed = int((ep["censoring"].astype(str) != "none").sum()) if "censoring" in ep else 0
        stated = int((ep["response"].astype(str) != "not_stated").sum())
        bits.append(f"{len(ep)} therapy courses ({stated} with a stated response, {timed} with "
                    "a usable time to regression)")  # fmt: skip
        c = counts or {}
        if _ok(c.get("classes_courses")) and _ok(c.get("classes_agents")):
            bits.append(f"{c['classes_courses']} therapy classes of courses (a combination "
                        f"counted once), {c['classes_agents']} counting each agent of a "
                        "combination in its own class")  # fmt: skip
    return "The data hold " + ", ".join(bits) + "."
