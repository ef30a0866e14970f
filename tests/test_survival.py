"""Tests of jdmstats.survival's stratified Cox model, cox.zph test, log-logistic AFT and Turnbull
bootstrap (jdmstats.survival.cox, .bootstrap, .models).

Reference values come from tests/reference/survival_extra.json, written by
tests/reference/survival_extra.R (R survival 3.5, tight controls: coxph eps 1e-12, survreg
rel.tolerance 1e-12, Turnbull EM threshold 1e-13) from survival_strata.csv,
survival_interval2.csv, survival_veteran.csv (written by that script) and the existing
survival_interval.csv / survival_right.csv; no R is needed to run these tests.

Tolerances: Cox and cox.zph 1e-8 relative (same algorithm as R; measured <= 2e-12); AFT 1e-6
(the variance matrix is the inverse of a central-difference Hessian); bootstrap bands 1e-8
absolute on the same resamples.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jdmstats.errors import InsufficientDataError
from jdmstats.survival import (
    CoxModel,
    CoxZph,
    TurnbullBootstrap,
    aft_interval,
    cox,
    cox_cluster,
    cox_zph,
    turnbull,
    turnbull_bootstrap,
)

REFDIR = Path(__file__).parent / "reference"
REF = json.loads((REFDIR / "survival_extra.json").read_text())
RTOL = 1e-8


def _csv(name):
    return pd.read_csv(REFDIR / f"survival_{name}.csv")


def close(actual, expected, rtol=RTOL, atol=1e-12):
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float),
                               rtol=rtol, atol=atol)  # fmt: skip


STRATA, VET, RIGHT = _csv("strata"), _csv("veteran"), _csv("right")
CELLS = sorted(VET["celltype"].unique())[1:]
VET_X = np.column_stack([VET[["trt", "karno", "age"]].to_numpy(float),
                         *[(VET["celltype"] == c).to_numpy(float) for c in CELLS]])  # fmt: skip
VET_NAMES = ["trt", "karno", "age", *[f"celltype[{c}]" for c in CELLS]]
RIGHT_X = np.column_stack([(RIGHT["class"] == c).to_numpy(float) for c in "BC"])

COX_CASES = {
    "strata_cluster": dict(strata="stratum", cluster="cluster"),
    "strata": dict(strata="stratum"),
    "strata_breslow": dict(strata="stratum", cluster="cluster", ties="breslow"),
    "nostrata_cluster": dict(cluster="cluster"),
}


def _cox_fit(key):
    if key in COX_CASES:
        kw = dict(COX_CASES[key])
        for k in ("strata", "cluster"):
            if k in kw:
                kw[k] = STRATA[kw[k]]
        return cox(STRATA["time"], STRATA["event"], STRATA[["x1", "x2"]], names=["x1", "x2"],
                   **kw)  # fmt: skip
    if key == "veteran_strata":
        return cox(VET["time"], VET["status"], VET[["trt", "karno", "age"]],
                   names=["trt", "karno", "age"], strata=VET["celltype"])  # fmt: skip
    if key == "right_class_study":
        return cox(RIGHT["time"], RIGHT["event"], RIGHT_X, names=["B", "C"],
                   cluster=RIGHT["study"])  # fmt: skip
    raise KeyError(key)


def _zph_fit(key):
    """The Cox fit and term grouping behind each cox.zph reference case."""
    if key.startswith("veteran_strata"):
        return _cox_fit("veteran_strata"), None
    if key.startswith("veteran"):
        return cox(VET["time"], VET["status"], VET_X, names=VET_NAMES), {
            "factor(celltype)": VET_NAMES[3:]
        }
    if key.startswith("strata"):
        ties = "breslow" if "breslow" in key else "efron"
        return cox(STRATA["time"], STRATA["event"], STRATA[["x1", "x2"]], names=["x1", "x2"],
                   strata=STRATA["stratum"], ties=ties), None  # fmt: skip
    if key == "right_class_km":
        return cox(RIGHT["time"], RIGHT["event"], RIGHT_X, names=["B", "C"]), {"class": [0, 1]}
    raise KeyError(key)


def _aft_data(key):
    if key.startswith("interval2_"):
        d = _csv("interval2")
        return d["lower"], d["upper"], d[["g", "x"]].to_numpy(float), ["g", "x"]
    d = _csv("interval")
    X = np.column_stack([(d["class"] == c).to_numpy(float) for c in "BC"])
    return d["lower"], d["upper"], X, ["classB", "classC"]


# ============================================================================= reference: R
def test_reference_grid_complete():
    """Every case the tests expect is in the JSON (and nothing is silently skipped)."""
    assert REF["meta"]["survival"].startswith("3.")
    assert set(REF["cox"]) == {*COX_CASES, "veteran_strata", "right_class_study"}
    transforms = {"km", "identity", "rank", "log"}
    assert {REF["zph"][k]["transform"] for k in REF["zph"] if k.startswith("veteran_")} == (
        transforms
    )
    assert set(REF["aft"]) == {f"{d}_{dist}" for d in ("interval", "interval2")
                               for dist in ("weibull", "lognormal", "loglogistic")}  # fmt: skip
    assert set(REF["bootstrap"]) == {"A", "B"}


@pytest.mark.reference
@pytest.mark.parametrize("key", sorted(REF["cox"]))
def test_cox_matches_coxph(key):
    ref = REF["cox"][key]
    fit = _cox_fit(key)
    assert fit.converged and fit.ties == ref["ties"]
    assert fit.n == ref["n"] and fit.n_events == ref["nevent"]
    close(fit.coef, ref["coef"])
    close(fit.naive_se, ref["naive_se"])
    close(fit.se, ref["se"])
    if ref["robust_se"] is None:
        assert fit.robust_se is None
    else:
        close(fit.robust_se, ref["robust_se"])
    close([fit.loglik, fit.loglik_null], [ref["loglik"], ref["loglik_null"]])


@pytest.mark.reference
@pytest.mark.parametrize("key", sorted(REF["zph"]))
def test_cox_zph_matches_r(key):
    ref = REF["zph"][key]
    fit, terms = _zph_fit(key)
    assert fit.ties == ref["ties"]
    z = cox_zph(fit, transform=ref["transform"], terms=terms)
    assert list(z.table.index) == ref["terms"]
    close(z.table["chisq"], ref["chisq"])
    assert z.table["df"].tolist() == ref["df"]
    close(z.table["p"], ref["p"])


@pytest.mark.reference
@pytest.mark.parametrize("key", sorted(REF["aft"]))
def test_aft_three_distributions_match_survreg(key):
    ref = REF["aft"][key]
    lo, hi, X, names = _aft_data(key)
    fit = aft_interval(lo, hi, X, names=names, dist=ref["dist"])
    assert fit.converged and fit.n == ref["n"]
    close(fit.coef, ref["coef"], rtol=1e-6)
    close(fit.log_scale, ref["log_scale"], rtol=1e-6)
    close(fit.loglik, ref["loglik"], rtol=1e-8)
    close(fit.vcov, ref["vcov"], rtol=1e-6, atol=1e-9)


@pytest.mark.reference
@pytest.mark.parametrize("cls", ["A", "B"])
def test_turnbull_bootstrap_matches_r_on_the_same_resamples(cls):
    """Cluster resamples drawn in R (sample.int); each replicate refitted by survfit's Turnbull
    EM (tightened) and the bands by quantile(type = 7): the same bands here."""
    ref = REF["bootstrap"][cls]
    d = _csv("interval")
    sub = d[d["class"] == cls]
    boot = turnbull_bootstrap(sub["lower"], sub["upper"], grid=ref["grid"],
                              indices=ref["indices"], cluster=sub["patient"], tol=1e-12,
                              level=ref["level"])  # fmt: skip
    assert boot.n_boot == len(ref["indices"]) and boot.n_clusters == sub["patient"].nunique()
    close(boot.lower, ref["lower"], rtol=0, atol=1e-8)
    close(boot.upper, ref["upper"], rtol=0, atol=1e-8)


# ============================================================================= Turnbull bootstrap
def _visit_data(rng, n=40):
    t = rng.exponential(6.0, n)
    c = rng.uniform(2, 30, n)
    visit = 2 * np.ceil(t / 2)
    return np.where(t <= c, visit - 2, c), np.where(t <= c, visit, np.inf)


def test_turnbull_bootstrap_coverage_by_simulation():
    """Exponential(mean 6) times seen at 2-monthly visits, uniform censoring: the pointwise 95%
    bands at visit times (where S is identified) cover the true S(t) at about the nominal
    rate (30 data sets x 100 replicates, fixed seed; measured 0.93 over 200 x 200)."""
    rng = np.random.default_rng(20240704)
    grid = np.array([4.0, 6.0, 10.0])
    true = np.exp(-grid / 6.0)
    hits, width = [], []
    for _ in range(30):
        lo, hi = _visit_data(rng)
        b = turnbull_bootstrap(lo, hi, grid=grid, n_boot=100, seed=rng)
        hits.append((b.lower <= true) & (true <= b.upper))
        width.append(b.upper - b.lower)
    coverage = np.mean(hits)
    assert 0.85 <= coverage <= 0.99
    assert np.all(np.mean(width, axis=0) < 0.5)  # informative, not [0, 1]


def test_turnbull_bootstrap_seed_and_shared_generator():
    lo, hi = _visit_data(np.random.default_rng(1), n=25)
    a = turnbull_bootstrap(lo, hi, n_boot=30, seed=5)
    b = turnbull_bootstrap(lo, hi, n_boot=30, seed=5)
    np.testing.assert_array_equal(a.lower, b.lower)
    assert a.median_low == b.median_low
    # a Generator is advanced in place: two calls on one stream = the next draws
    rng = np.random.default_rng(5)
    first = turnbull_bootstrap(lo, hi, n_boot=30, seed=rng)
    second = turnbull_bootstrap(lo, hi, n_boot=30, seed=rng)
    np.testing.assert_array_equal(first.lower, a.lower)
    assert not (np.array_equal(second.lower, first.lower)
                and np.array_equal(second.upper, first.upper))  # fmt: skip
    # explicit indices reproduce the draws (one integers() call per replicate, as drawn)
    g = np.random.default_rng(5)
    idx = np.array([g.integers(0, lo.size, lo.size) for _ in range(30)])
    via = turnbull_bootstrap(lo, hi, indices=idx)
    np.testing.assert_allclose(via.lower, a.lower)
    assert isinstance(a, TurnbullBootstrap)


def test_turnbull_bootstrap_point_estimate_and_band_order():
    lo, hi = _visit_data(np.random.default_rng(2), n=30)
    b = turnbull_bootstrap(lo, hi, n_boot=50, seed=3)
    fit = turnbull(lo, hi)
    assert b.fit.loglik == fit.loglik and b.time[0] == 0 and b.surv[0] == 1
    assert np.all(b.lower <= b.upper + 1e-12) and np.all(np.diff(b.lower) <= 1e-12)
    assert b.median_low <= b.median <= b.median_high
    s = b.summary()
    assert list(s.columns) == ["time", "surv", "lower", "upper"] and len(s) == b.time.size
    assert "TurnbullBootstrap" in repr(b) and "surv" in b.to_markdown()


def test_turnbull_bootstrap_clusters_move_together():
    """With two copies of every observation in one cluster, cluster resampling of the doubled
    data gives the same bands as observation resampling of the original data."""
    lo, hi = _visit_data(np.random.default_rng(4), n=20)
    single = turnbull_bootstrap(lo, hi, n_boot=40, seed=9, grid=[4.0, 8.0])
    doubled = turnbull_bootstrap(np.repeat(lo, 2), np.repeat(hi, 2), n_boot=40, seed=9,
                                 grid=[4.0, 8.0], cluster=np.repeat(np.arange(20), 2))  # fmt: skip
    np.testing.assert_allclose(doubled.lower, single.lower, atol=1e-6)
    np.testing.assert_allclose(doubled.upper, single.upper, atol=1e-6)


def test_turnbull_bootstrap_rejects_bad_input():
    with pytest.raises(ValueError, match="level"):
        turnbull_bootstrap([0, 1], [2, 3], level=1.5)
    with pytest.raises(ValueError, match="cluster"):
        turnbull_bootstrap([0, 1], [2, 3], cluster=["a"])
    with pytest.raises(ValueError, match="indices"):
        turnbull_bootstrap([0, 1], [2, 3], indices=[[0, 2]])
    with pytest.raises(ValueError, match="n_boot"):
        turnbull_bootstrap([0, 1], [2, 3], n_boot=0)


def test_response_uses_the_engine_bootstrap():
    """jdmstats.response's cluster bootstrap is turnbull_bootstrap on the shared stream."""
    from jdmstats import response

    d = _csv("interval")
    sub = d[d["class"] == "A"].rename(columns={"patient": "patient_id"})
    grid = np.array([0.0, 3.0, 6.0, 12.0])
    got = response._bootstrap_turnbull(sub, grid, 25, np.random.default_rng(11), 0.9)
    want = turnbull_bootstrap(sub["lower"], sub["upper"], grid, 25, 11, 0.9,
                              cluster=sub["patient_id"])  # fmt: skip
    np.testing.assert_array_equal(got[0], want.lower)
    np.testing.assert_array_equal(got[1], want.upper)
    assert got[2:] == (want.median_low, want.median_high)


# ============================================================================= Cox
def test_cox_without_strata_matches_lifelines():
    """Unstratified Efron fit equals lifelines' CoxPHFitter (via cox_cluster), an independent
    implementation; robust errors equal cox_cluster's."""
    ours = cox(RIGHT["time"], RIGHT["event"], RIGHT_X, cluster=RIGHT["patient"])
    other = cox_cluster(RIGHT["time"], RIGHT["event"], RIGHT_X, RIGHT["patient"])
    close(ours.coef, other.coef, rtol=1e-6)
    close(ours.naive_se, other.naive_se, rtol=1e-6)
    close(ours.robust_se, other.robust_se, rtol=1e-6)
    close(ours.loglik, other.loglik, rtol=1e-8)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shift=st.floats(-50, 50))
def test_cox_invariant_to_row_order_labels_and_centring(seed, shift):
    rng = np.random.default_rng(seed)
    n = 40
    t = rng.integers(1, 8, n).astype(float)  # many ties
    e = (rng.random(n) < 0.7).astype(int)
    e[:3] = 1
    X = np.column_stack([rng.integers(0, 2, n), rng.normal(size=n)])
    s = rng.choice(["a", "b"], n)
    cl = rng.integers(0, 8, n)
    try:
        base = cox(t, e, X, strata=s, cluster=cl)
    except InsufficientDataError:
        return
    perm = rng.permutation(n)
    moved = cox(t[perm], e[perm], X[perm] + shift, strata=np.char.upper(s[perm]),
                cluster=cl[perm] + 100)  # fmt: skip
    close(moved.coef, base.coef, rtol=1e-6, atol=1e-9)
    close(moved.robust_se, base.robust_se, rtol=1e-6, atol=1e-9)
    close(moved.loglik, base.loglik, rtol=1e-9)
    for tr in ("km", "identity"):
        close(cox_zph(moved, tr).table["chisq"], cox_zph(base, tr).table["chisq"], rtol=1e-6,
              atol=1e-9)  # fmt: skip


def test_cox_strata_are_separate_baselines():
    """Two strata with no shared time ordering: the stratified log-likelihood is the sum of
    the per-stratum ones at the same beta (checked at the stratified estimate via the
    null log-likelihoods, which depend on the risk sets only)."""
    d = STRATA
    both = cox(d["time"], d["event"], d[["x1", "x2"]], strata=d["stratum"])
    parts = [cox(g["time"], g["event"], g[["x1", "x2"]]) for _, g in d.groupby("stratum")]
    close(both.loglik_null, sum(p.loglik_null for p in parts), rtol=1e-12)


def test_cox_summary_repr_and_tables():
    fit = _cox_fit("strata_cluster")
    s = fit.summary()
    assert list(s.index) == ["x1", "x2"]
    assert {"coef", "exp_coef", "se", "naive_se", "z", "pvalue", "hr_ci_low"} <= set(s.columns)
    assert np.all(s["hr_ci_low"] < s["exp_coef"]) and np.all(s["exp_coef"] < s["hr_ci_high"])
    assert "3 strata" in repr(fit) and "18 clusters" in repr(fit)
    assert "x1" in fit.to_markdown() and "\\begin{tabular}" in fit.to_latex()
    assert isinstance(fit, CoxModel) and "naive_se" not in _cox_fit("strata").summary()


def test_cox_rejects_bad_input():
    t, e, X = [1.0, 2.0, 3.0], [1, 0, 1], [[0.0], [1.0], [0.0]]
    with pytest.raises(ValueError, match="ties"):
        cox(t, e, X, ties="exact")
    with pytest.raises(ValueError, match="differ in length"):
        cox(t, e[:2], X)
    with pytest.raises(ValueError, match="0/1"):
        cox(t, [1, 2, 0], X)
    with pytest.raises(ValueError, match="strata"):
        cox(t, e, X, strata=["a"])
    with pytest.raises(ValueError, match="cluster"):
        cox([1.0, 2.0, 3.0, 4.0], [1, 1, 0, 1], [0.0, 1.0, 0.0, 1.0], cluster=["a"])
    with pytest.raises(InsufficientDataError, match="no event"):
        cox(t, [0, 0, 0], X)
    with pytest.raises(InsufficientDataError):  # all events in the x = 1 group first
        cox([1.0, 2.0, 3.0, 4.0], [1, 1, 1, 1], [1.0, 1.0, 0.0, 0.0])


# ============================================================================= cox.zph
def test_cox_zph_result_and_errors():
    fit, terms = _zph_fit("veteran_km")
    z = cox_zph(fit, terms=terms)
    assert isinstance(z, CoxZph) and z.transform == "km"
    assert z.table.index[-1] == "GLOBAL" and z.table["df"].iloc[-1] == VET_X.shape[1]
    assert z.information.shape == (2 * VET_X.shape[1],) * 2
    assert "GLOBAL" in repr(z) and "chisq" in z.to_markdown()
    assert "GLOBAL" not in cox_zph(fit, global_test=False).table.index
    with pytest.raises(ValueError, match="transform"):
        cox_zph(fit, transform="sqrt")
    with pytest.raises(ValueError, match="CoxModel"):
        cox_zph(cox_cluster(RIGHT["time"], RIGHT["event"], RIGHT_X, RIGHT["study"]))


# ============================================================================= AFT
def test_aft_loglogistic_interval_likelihood_is_stable_far_in_the_tails():
    """log(S(l) - S(r)) for intervals far in either tail stays finite (no cancellation)."""
    from jdmstats.survival.models import _dist

    _, _, _, log_diff = _dist("loglogistic")
    zl, zr = np.array([-60.0, 40.0, -np.inf]), np.array([-59.0, 41.0, 0.0])
    got = log_diff(zl, zr)
    assert np.all(np.isfinite(got))
    # S(z) = 1/(1+e^z): lower tail F(zr) - F(zl) ~ e^zr - e^zl; upper tail e^-zl - e^-zr
    close(got[:2], [np.log(np.exp(-59.0) - np.exp(-60.0)), np.log(np.exp(-40.0) - np.exp(-41.0))],
          rtol=1e-10)  # fmt: skip
    close(got[2], np.log(0.5), rtol=1e-12)


def test_aft_summary_and_unknown_dist():
    lo, hi, X, names = _aft_data("interval2_loglogistic")
    fit = aft_interval(lo, hi, X, names=names, dist="loglogistic")
    s = fit.summary()
    assert list(s.index) == ["(Intercept)", "g", "x", "Log(scale)"]
    assert "loglogistic AFT" in repr(fit) and "Log(scale)" in fit.to_markdown()
    with pytest.raises(ValueError, match="loglogistic"):
        aft_interval(lo, hi, X, dist="gamma")
