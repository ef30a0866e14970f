"""Tests of jdmstats.questions.response, jdmstats.survival.turnbull and jdmstats.survival.models.

Reference values come from tests/reference/survival_reference.json, written by
tests/reference/survival_reference.R (R survival 3.5) from the synthetic CSVs it writes next to
it and from data/harmonised/episodes.csv; no R is needed to run these tests.

Tolerances: 1e-6 relative (1e-9 absolute) everywhere the algorithms are the same.  Turnbull
curves are compared with R's survfitTurnbull run with its EM stopping threshold lowered from
5e-5 to 1e-13 (the default stops ~1e-4 from the NPMLE: ``test_turnbull_default_r_is_loose``);
AFT variance matrices to 1e-6 (our Hessian is a central difference of the analytic gradient).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jdmstats import response
from jdmstats.errors import InsufficientDataError
from jdmstats.outputs.steps import step_response
from jdmstats.survival import (
    aft_interval,
    cox_cluster,
    innermost_intervals,
    kaplan_meier,
    logrank,
    median_interval,
    quantile_step,
    survival_at,
    turnbull,
)

HERE = Path(__file__).parent
REFDIR = HERE / "reference"
REF = json.loads((REFDIR / "survival_reference.json").read_text())
SYN = REF["synthetic"]
EPISODES_CSV = HERE.parent / "data" / "harmonised" / "episodes.csv"
RTOL, ATOL = 1e-6, 1e-9


def _num(x):
    return np.array([np.nan if v is None else v for v in np.atleast_1d(x)], dtype=float)


def close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(np.asarray(actual, float), _num(expected), rtol=rtol, atol=atol,
                               equal_nan=True)  # fmt: skip


def _csv(name):
    return pd.read_csv(REFDIR / f"survival_{name}.csv")


def _dummies(classes, reference="A"):
    levels = sorted(set(classes) - {reference})
    return np.column_stack([(np.asarray(classes) == c).astype(float) for c in levels]), levels


def as_episodes(d: pd.DataFrame) -> pd.DataFrame:
    """A synthetic (lower, upper, censoring) table as a load_episodes()-like DataFrame."""
    n = len(d)
    upper = d["upper"] if "upper" in d else np.where(d["event"] == 1, d["time"], np.nan)
    lower = d["lower"] if "lower" in d else d["time"]
    cens = d["censoring"] if "censoring" in d else np.where(d["event"] == 1, "exact", "right")
    reg = pd.array(np.asarray(cens) != "right", dtype="boolean")
    return pd.DataFrame({
        "episode_id": d["id"].astype(str), "patient_id": d["patient"].astype(str),
        "study_id": d["study"].astype(str), "sequence": np.arange(1, n + 1),
        "therapy_class": d["class"].astype(str), "response": np.where(reg, "partial", "none"),
        "regressed": reg, "complete": pd.array([False] * n, dtype="boolean"),
        "time_basis": "exact", "time_lower_months": np.asarray(lower, float),
        "time_upper_months": np.asarray(upper, float), "censoring": np.asarray(cens),
        "followup_months": np.nan, "start_months": np.nan,
    })  # fmt: skip


# ============================================================================= reference: R
def test_reference_grid_complete():
    expected = {"km_right", "km_right_log", "km_edge", "turnbull_interval", "turnbull_edge",
                "cox_right_study", "cox_right_patient", "cox_interval_midpoint",
                "weibull_interval", "lognormal_interval", "weibull_right", "logrank_right",
                "logrank_interval_midpoint"}  # fmt: skip
    assert expected <= set(SYN)
    assert {"sha256", "n_timed", "classes"} <= set(REF["bundled"])


def _check_km(ref, data, time, event, conf_type="log-log"):
    tab = pd.DataFrame(ref["table"])
    med = ref["median"]
    for g in sorted(set(np.atleast_1d(med["strata"]))):
        # R labels a single stratum "all" (survfit drops the strata of a one-level factor)
        sub = data if g == "all" else data[data["class"] == g]
        fit = kaplan_meier(sub[time], sub[event], conf_type=conf_type)
        rt = tab[tab["strata"] == g]
        assert len(fit.table) == len(rt)
        for col in ("time", "n_risk", "n_event", "n_censor", "surv", "std_err", "lower", "upper"):
            close(fit.table[col], rt[col].tolist())
        j = list(np.atleast_1d(med["strata"])).index(g)
        close(
            [fit.median, fit.median_low, fit.median_high],
            [_num(med["median"])[j], _num(med["lower"])[j], _num(med["upper"])[j]],
        )


@pytest.mark.reference
def test_kaplan_meier_matches_survfit():
    _check_km(SYN["km_right"], _csv("right"), "time", "event")
    _check_km(SYN["km_right_log"], _csv("right"), "time", "event", conf_type="log")


@pytest.mark.reference
def test_kaplan_meier_edge_cases_match_survfit():
    """Regression at time 0, a zero-length episode, a class with no events, one episode."""
    e = _csv("edge")
    e = e[e["censoring"] != "interval"].assign(event=lambda d: (d["censoring"] == "exact") * 1)
    _check_km(SYN["km_edge"], e, "lower", "event")


@pytest.mark.reference
@pytest.mark.parametrize("name", ["interval", "edge"])
def test_turnbull_matches_survfit(name):
    d = _csv(name)
    for g, ref in SYN[f"turnbull_{name}"].items():
        sub = d[d["class"] == g]
        fit = turnbull(sub["lower"], sub["upper"])
        assert fit.converged and fit.kkt < 1e-8
        close(survival_at(fit, _num(ref["times"])), ref["tight"])


@pytest.mark.reference
def test_turnbull_default_r_is_loose():
    """survfit's own stopping rule leaves ~1e-4 error: why the tight variant is the reference."""
    d = _csv("interval")
    worst = 0.0
    for g, ref in SYN["turnbull_interval"].items():
        fit = turnbull(d.loc[d["class"] == g, "lower"], d.loc[d["class"] == g, "upper"])
        worst = max(worst, np.max(np.abs(survival_at(fit, _num(ref["times"]))
                                         - _num(ref["default"]))))  # fmt: skip
    assert 1e-6 < worst < 1e-3


@pytest.mark.reference
@pytest.mark.parametrize("key,cluster", [("cox_right_study", "study"),
                                         ("cox_right_patient", "patient")])  # fmt: skip
def test_cox_cluster_matches_coxph(key, cluster):
    d, ref = _csv("right"), SYN[key]
    X, _ = _dummies(d["class"])
    fit = cox_cluster(d["time"], d["event"], X, d[cluster])
    close(fit.coef, ref["coef"])
    close(fit.robust_se, ref["robust_se"])
    close(fit.naive_se, ref["naive_se"])
    close(fit.loglik, ref["loglik"])
    assert fit.n_events == ref["nevent"]


@pytest.mark.reference
@pytest.mark.parametrize("key,dist,data", [("weibull_interval", "weibull", "interval"),
                                           ("lognormal_interval", "lognormal", "interval"),
                                           ("weibull_right", "weibull", "right")])  # fmt: skip
def test_aft_matches_survreg(key, dist, data):
    d, ref = _csv(data), SYN[key]
    if data == "right":
        lower, upper = d["time"], np.where(d["event"] == 1, d["time"], np.inf)
    else:
        lower, upper = d["lower"], d["upper"]
    X, levels = _dummies(d["class"])
    fit = aft_interval(lower, upper, X, names=levels, dist=dist)
    close(fit.coef, ref["coef"])
    close(fit.log_scale, ref["log_scale"])
    close(fit.loglik, ref["loglik"])
    close(fit.vcov.ravel(), np.asarray(ref["vcov"], float).ravel())


@pytest.mark.reference
def test_logrank_matches_survdiff():
    d = _csv("right")
    chisq, df, p = logrank(d["time"], d["event"], d["class"])
    close([chisq, df, p], [SYN["logrank_right"][k] for k in ("chisq", "df", "pvalue")])


@pytest.mark.reference
def test_time_to_regression_models_match_r():
    """The whole analysis on the interval data: AFT, midpoint Cox and log-rank as in R."""
    ep = as_episodes(_csv("interval"))
    res = response.time_to_regression(ep, n_boot=20)
    assert res.reference == "A" and res.cox_data == "midpoint"
    m = res.models
    for model, key in (("weibull_aft", "weibull_interval"), ("lognormal_aft",
                                                             "lognormal_interval")):  # fmt: skip
        rows = m[m["model"] == model]
        close(rows["estimate"], [*SYN[key]["coef"], SYN[key]["log_scale"]])
        close(rows["se"], np.sqrt(np.diag(np.asarray(SYN[key]["vcov"], float))))
    cox = m[(m["model"] == "cox") & (m["data"] == "midpoint")]
    close(cox["estimate"], SYN["cox_interval_midpoint"]["coef"])
    close(cox["se"], SYN["cox_interval_midpoint"]["robust_se"])
    lr = res.tests[res.tests["data"] == "midpoint"].iloc[0]
    close([lr["chisq"], lr["pvalue"]], [SYN["logrank_interval_midpoint"][k]
                                        for k in ("chisq", "pvalue")])  # fmt: skip
    tab = res.table.set_index("class")
    close(tab.loc[["B", "C"], "weibull_tr"], np.exp(SYN["weibull_interval"]["coef"][1:]))
    close(tab.loc[["B", "C"], "cox_hr"], np.exp(SYN["cox_interval_midpoint"]["coef"]))


@pytest.mark.reference
def test_time_to_regression_km_medians_match_r():
    res = response.time_to_regression(as_episodes(_csv("right")), n_boot=20)
    tab = res.table.set_index("class")
    med = SYN["km_right"]["median"]
    assert (tab["estimator"] == "kaplan_meier").all() and res.cox_data == "exact_right"
    close(tab.loc[med["strata"], "median"], med["median"])
    close(tab.loc[med["strata"], "median_ci_low"], med["lower"])
    close(tab.loc[med["strata"], "median_ci_high"], med["upper"])
    cox = res.models[(res.models["model"] == "cox") & (res.models["data"] == "exact_right")]
    close(cox["estimate"], SYN["cox_right_study"]["coef"])
    close(cox["se"], SYN["cox_right_study"]["robust_se"])
    close(cox["se_patient"], SYN["cox_right_patient"]["robust_se"])


# ----------------------------------------------------------------------------- bundled data
@pytest.mark.reference
def test_bundled_reference_is_current():
    digest = hashlib.sha256(EPISODES_CSV.read_bytes()).hexdigest()
    assert digest == REF["bundled"]["sha256"], (
        "tests/reference/survival_reference.json is stale: data/harmonised/episodes.csv changed."
        " Re-run `Rscript tests/reference/survival_reference.R` from the repository root."
    )


@pytest.mark.reference
def test_bundled_data_match_r():
    from jdmstats import datasets

    bundled = REF["bundled"]
    if hashlib.sha256(EPISODES_CSV.read_bytes()).hexdigest() != bundled["sha256"]:
        pytest.fail("stale reference JSON: re-run Rscript tests/reference/survival_reference.R")
    res = response.time_to_regression(datasets.load_episodes(), n_boot=20)
    assert len(res.timed) == bundled["n_timed"]
    assert sorted(res.timed["class"].unique()) == sorted(np.atleast_1d(bundled["classes"]))
    ran = dict.fromkeys(BUNDLED_BRANCHES, 0)
    for g, ref in bundled.get("turnbull", {}).items():
        sub = res.timed[res.timed["class"] == g]
        close(survival_at(turnbull(sub["lower"], sub["upper"]), _num(ref["times"])), ref["tight"])
        ran["turnbull"] += 1
    if "km" in bundled:
        er = res.timed[res.timed["censoring"] != "interval"]
        _check_km(bundled["km"], er, "lower", "event")
        ran["km"] += 1
    eligible = sorted(np.atleast_1d(bundled.get("eligible", [])))
    assert sorted(res.table.loc[res.table["in_models"], "class"]) == eligible
    ran["eligible_classes"] = len(eligible)
    for model, key in (("weibull_aft", "weibull"), ("lognormal_aft", "lognormal")):
        rows = res.models[res.models["model"] == model]
        if isinstance(bundled.get(key), dict):
            close(rows["estimate"], [*bundled[key]["coef"], bundled[key]["log_scale"]])
            ran[key] += 1
        else:
            assert rows.empty, f"R fitted no {key} model on the bundled data, nor may we"
    cox = res.models[(res.models["model"] == "cox") & (res.models["data"] == "midpoint")]
    if isinstance(bundled.get("cox_midpoint"), dict):
        close(cox["estimate"], bundled["cox_midpoint"]["coef"])
        close(cox["se"], bundled["cox_midpoint"]["robust_se"])
        ran["cox_midpoint"] += 1
    else:
        assert cox.empty, "R fitted no Cox model on the bundled data, nor may we"
    assert ran == BUNDLED_BRANCHES


BUNDLED_BRANCHES = {"turnbull": 3, "km": 1, "eligible_classes": 0, "weibull": 0, "lognormal": 0,
                    "cox_midpoint": 0}  # fmt: skip
"""How often each comparison of test_bundled_data_match_r runs on the bundled data (the classes
with interval-censored times get a Turnbull curve, the others share one Kaplan-Meier set; no
class has enough timed episodes and events for the parametric and Cox models). A data change
that switches a comparison on or off must update this, so that it is seen to run."""


# ============================================================================= Turnbull
def test_turnbull_equals_lifelines_km_without_intervals():
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(1)
    t = np.round(rng.exponential(5, 40), 1)
    e = rng.random(40) < 0.7
    fit = turnbull(t, np.where(e, t, np.inf))
    km = KaplanMeierFitter().fit(t, e)
    grid = np.unique(t)
    np.testing.assert_allclose(
        survival_at(fit, grid), km.survival_function_at_times(grid).to_numpy(), atol=1e-10
    )


def test_turnbull_kkt_on_random_intervals():
    rng = np.random.default_rng(7)
    lo = np.floor(rng.uniform(0, 10, 60))
    hi = lo + rng.integers(0, 6, 60)
    hi = np.where(rng.random(60) < 0.2, np.inf, hi)
    fit = turnbull(lo, hi)
    assert fit.converged and abs(fit.kkt) < 1e-8
    assert np.all(fit.mass >= 0) and fit.mass.sum() <= 1 + 1e-12


def test_innermost_intervals_half_open():
    # a regression seen at the 12-month visit and a right-censoring at 12 share no mass
    q, p, alpha = innermost_intervals([0, 12, 3], [12, np.inf, 3])
    assert list(zip(q, p, strict=False)) == [(3.0, 3.0), (12.0, np.inf)]
    assert alpha.tolist() == [[True, False], [False, True], [True, False]]


def test_turnbull_median_interval_and_flat_half():
    fit = turnbull([0, 2, 0, 5], [4, 2, 6, np.inf])
    lo, hi = median_interval(fit)
    assert lo <= hi
    exact = turnbull([1, 2], [1, 2])  # S = 0.5 between 1 and 2: R's midpoint rule
    assert median_interval(exact) == (1.0, 2.0)


def test_turnbull_rejects_bad_intervals():
    with pytest.raises(ValueError, match="below left"):
        turnbull([5], [3])
    with pytest.raises(ValueError, match=">= 0"):
        turnbull([-1], [3])


def test_quantile_step_flat_at_half():
    assert quantile_step([1, 2, 3], [0.75, 0.5, 0.25]) == 2.5
    assert np.isnan(quantile_step([1, 2], [0.9, 0.8]))


# ============================================================================= edge cases
def _edge():
    return as_episodes(_csv("edge"))


def test_edge_cases_do_not_crash():
    """Zero-length episode, regression at time 0, a class with no events, a single episode."""
    res = response.time_to_regression(_edge(), n_boot=50)
    tab = res.table.set_index("class")
    assert tab.loc["B", "events"] == 0 and np.isnan(tab.loc["B", "median"])
    assert "no regression" in tab.loc["B", "note"]
    assert tab.loc["C", "episodes_timed"] == 1 and np.isnan(tab.loc["C", "median"])
    assert tab.loc["A", "estimator"] == "turnbull"
    # regression at time 0 puts mass at 0
    assert res.curves["A"].attrs["turnbull"].left[0] == 0.0
    assert set(tab.index[tab["in_models"]]) == {"A", "D"}


def test_regression_at_time_zero_enters_aft_as_first_day():
    ep = as_episodes(_csv("interval"))
    ep.loc[0, ["time_lower_months", "time_upper_months", "censoring"]] = [0.0, 0.0, "exact"]
    ep.loc[1, ["time_lower_months", "time_upper_months", "censoring"]] = [0.0, np.nan, "right"]
    res = response.time_to_regression(ep, n_boot=10)
    w = res.models[res.models["model"] == "weibull_aft"]
    assert np.all(np.isfinite(w["estimate"])) and w["n"].iloc[0] == len(ep) - 1


def test_single_episode():
    ep = _edge().iloc[[2]]
    res = response.time_to_regression(ep, n_boot=10)
    assert len(res.table) == 1 and res.models.empty and res.tests.empty
    assert any("no class" in n for n in res.notes)
    prop = response.response_proportions(ep)
    assert prop.table["episodes"].tolist() == [1, 1]
    assert not prop.table["tested"].iloc[0]


def test_no_timed_episode_raises_clear_error():
    ep = _edge().assign(censoring="none", time_lower_months=np.nan, time_upper_months=np.nan)
    with pytest.raises(InsufficientDataError, match="no therapy episode has a usable time"):
        response.time_to_regression(ep)


def test_aft_and_cox_refuse_unidentified_models():
    with pytest.raises(InsufficientDataError):
        aft_interval([1, 2, 3], [np.inf, np.inf, np.inf])
    with pytest.raises(InsufficientDataError):
        cox_cluster([1, 2, 3, 4], [0, 0, 0, 0], [[0], [1], [0], [1]], [1, 2, 3, 4])
    with pytest.raises(InsufficientDataError):  # class 1 has no events: beta -> -inf
        cox_cluster(
            [1, 2, 3, 4, 5, 6],
            [1, 1, 1, 0, 0, 0],
            [[0], [0], [0], [1], [1], [1]],
            [1, 2, 3, 4, 5, 6],
        )


def test_timed_episodes_conversion():
    ep = _edge()
    timed, excl = response.timed_episodes(ep)
    assert len(timed) == len(ep) and excl.empty
    row = timed.set_index("episode_id").loc["e04"]
    assert (row["lower"], row["upper"], row["event"], row["midpoint"]) == (0.0, 6.0, 1, 3.0)
    assert np.isinf(timed.set_index("episode_id").loc["e02", "upper"])


# ============================================================================= proportions
def test_response_proportions_counts_and_exclusions():
    ep = as_episodes(_csv("interval"))
    ep.loc[:2, "response"] = "not_stated"
    ep.loc[:2, "regressed"] = pd.NA
    ep.loc[5:7, "complete"] = True
    res = response.response_proportions(ep, n_sim=199)
    tab = res.table.set_index("class")
    assert tab.loc["A", "episodes"] == 12 and tab.loc["A", "not_stated"] == 3
    assert len(res.exclusions) == 3
    assert set(res.exclusions["reason"]) == {"response not stated"}
    from scipy import stats

    x, n = int(tab.loc["B", "any_regression"]), int(tab.loc["B", "episodes"])
    ci = stats.binomtest(x, n).proportion_ci(method="exact")
    close([tab.loc["B", "ci_low"], tab.loc["B", "ci_high"]], [ci.low, ci.high])
    assert tab.loc["A", "complete"] == 3
    for cls, r in tab.drop(index="all").iterrows():
        if 0 < r["any_regression"] < r["episodes"]:
            assert np.isfinite(r["pooled_estimate"]), cls
        else:
            assert np.isnan(r["pooled_estimate"]) and "not pooled" in r["note"]
    assert "not pooled" in tab.loc["A", "note"]  # GLMM degenerate there (se not finite)
    assert np.isfinite(tab.loc["all", "pooled_estimate"])
    assert 0 <= res.homogeneity_pvalue <= 1
    assert list(res.table.columns[:8]) == [
        "class",
        "episodes",
        "patients",
        "any_regression",
        "complete",
        "estimate",
        "ci_low",
        "ci_high",
    ]


def test_pooled_matches_glmm_on_source_counts():
    from jdmstats.meta.glmm import binomial_glmm

    ep = as_episodes(_csv("interval"))
    res = response.response_proportions(ep, n_sim=99)
    sub = ep[ep["therapy_class"] == "C"]
    by = sub.groupby("study_id")["regressed"].agg(["sum", "size"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = binomial_glmm(by["sum"].to_numpy(int), by["size"].to_numpy(int))
    est = res.table.set_index("class").loc["C", "pooled_estimate"]
    if np.isfinite(est):
        close(est, 1 / (1 + np.exp(-fit.estimate)))


def test_response_all_not_stated_raises():
    ep = _edge().assign(response="not_stated", regressed=pd.array([pd.NA] * 12, "boolean"))
    with pytest.raises(InsufficientDataError, match="stated response"):
        response.response_proportions(ep)


# ============================================================================= pipeline
def test_pipeline_step_deterministic(tmp_path):
    from jdmstats import datasets

    tables = datasets.load_all()
    a = step_response(tables, tmp_path / "a")
    b = step_response(tables, tmp_path / "b")
    names = sorted(p.relative_to(tmp_path / "a").as_posix() for p in a)
    assert "tables/response_by_class.csv" in names and "figures/swimmer.pdf" in names
    assert "tables/time_to_regression.csv" in names
    for p in a:
        if p.suffix == ".csv":
            assert p.read_bytes() == (tmp_path / "b" / p.relative_to(tmp_path / "a")).read_bytes()
    assert len(a) == len(b)
    head = (tmp_path / "a" / "tables" / "response_by_class.csv").read_text().splitlines()[0]
    assert head.startswith("class,episodes,patients,any_regression,complete,estimate,ci_low,")


def test_bootstrap_is_seeded():
    ep = as_episodes(_csv("interval"))
    r1 = response.time_to_regression(ep, n_boot=30, seed=3)
    r2 = response.time_to_regression(ep, n_boot=30, seed=3)
    pd.testing.assert_frame_equal(r1.curves["A"], r2.curves["A"])
    pd.testing.assert_frame_equal(r1.table, r2.table)


def test_notes_say_which_classes_the_curves_figure_leaves_out():
    """A class with fewer timed episodes than the curves figure needs is said to be left out of
    it, and the figure draws exactly the other classes with a curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from jdmstats import datasets
    from jdmstats.plots.survival import survival_curves
    from jdmstats.questions.class_response import MIN_TIMED

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = response.time_to_regression(datasets.load_episodes(), n_boot=10)
    table = res.table.set_index("class")
    left_out = table.index[table["note"].str.contains("curve not drawn", regex=False)]
    few = table.index[(table["episodes_timed"] > 0) & (table["episodes_timed"] < MIN_TIMED)]
    assert list(left_out) == list(few) and len(few) > 0
    assert not table["note"].str.contains("curve shown", regex=False).any()
    fig, ax = plt.subplots()
    try:
        survival_curves(res, ax=ax, min_n=MIN_TIMED)
        drawn = {line.get_label().split(" (")[0] for line in ax.get_lines()
                 if not line.get_label().startswith("_")}  # fmt: skip
    finally:
        plt.close(fig)
    with_curve = set(res.curves) - set(few)
    assert drawn == with_curve and drawn
