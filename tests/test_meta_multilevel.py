"""Multilevel models (rma.mv) and cluster-robust inference (robust) against metafor 3.8-1 and
clubSandwich 0.6.0 (tests/reference/metafor_multilevel.*)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jdmstats import meta
from jdmstats.meta.cluster_robust import RobustResult, robust
from jdmstats.meta.multilevel_models import MultilevelResult, multilevel

REF = json.loads((Path(__file__).parent / "reference" / "metafor_multilevel.json").read_text())
CASES = REF["cases"]
RTOL = 1e-6  # metafor's rma.mv optimiser (numerical gradients) is accurate to ~5e-7 here
CI_RTOL = 1e-4


def _mods(mods):
    return [str(m) for m in np.atleast_1d(mods)] if mods else []


def _id(c):
    return f"{c['dataset']}~{'+'.join(_mods(c['mods'])) or '1'}-{c['method']}-{c['test']}"


def _fit(dataset, mods, method="REML", test="z"):
    ds = REF["datasets"][dataset]
    mods = _mods(mods)
    M = pd.DataFrame({m: ds["mods"][m] for m in mods}) if mods else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pritz1997_single: single-level grouping (expected)
        return multilevel(ds["yi"], np.array(ds["V"]), random=list(ds["groups"].values()),
                          mods=M, method=method, test=test)  # fmt: skip


def _num(x):
    return np.array([np.nan if v in (None, "NA") else v for v in np.atleast_1d(x)], dtype=float)


def _close_sigma2(ours, ref, rtol=RTOL):
    # metafor optimises log(sigma2): a component on the boundary comes out as ~1e-9, ours as 0
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=1e-8)


# --------------------------------------------------------------------------- reference
@pytest.mark.reference
def test_reference_grid_is_complete():
    have = {(c["dataset"], len(_mods(c["mods"])), c["method"], c["test"]) for c in CASES}
    assert {
        ("konstantopoulos2011", m, meth, "z") for m in (0, 1) for meth in ("REML", "ML")
    } <= have
    assert ("konstantopoulos2011", 1, "REML", "t") in have
    assert {("assink2016", 1, "REML", "z"), ("pritz1997", 0, "REML", "z"),
            ("bcg", 0, "REML", "z"), ("bcg", 0, "ML", "z")} <= have  # fmt: skip
    assert len(REF["robust"]) >= 3
    assert {r["kind"] for r in REF["robust"]} == {"uni", "mv"}


@pytest.mark.reference
@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_multilevel_matches_metafor(case):
    fit = _fit(case["dataset"], case["mods"], case["method"], case["test"])
    assert fit.converged
    assert fit.sigma2_nlevels == list(np.atleast_1d(case["s_nlevels"]))
    assert (fit.k, fit.p, fit.parms) == (case["k"], case["p"], case["parms"])
    _close_sigma2(fit.sigma2, case["sigma2"])
    c = fit.coef
    np.testing.assert_allclose(c["estimate"], case["beta"], rtol=RTOL)
    np.testing.assert_allclose(c["se"], case["se"], rtol=RTOL)
    np.testing.assert_allclose(c["statistic"], case["zval"], rtol=RTOL)
    np.testing.assert_allclose(c["pvalue"], case["pval"], rtol=RTOL)
    np.testing.assert_allclose(c["ci_low"], case["ci_lb"], rtol=RTOL)
    np.testing.assert_allclose(c["ci_high"], case["ci_ub"], rtol=RTOL)
    np.testing.assert_allclose(fit.vb, np.atleast_2d(case["vb"]), rtol=RTOL)
    np.testing.assert_allclose([fit.qe, fit.qe_pvalue], [case["QE"], case["QEp"]], rtol=RTOL)
    np.testing.assert_allclose([fit.qm, fit.qm_pvalue], [case["QM"], case["QMp"]], rtol=RTOL)
    assert fit.qm_df[0] == _num(case["QMdf"])[0]
    if case["test"] == "t":
        assert fit.df == fit.qm_df[1] == _num(case["QMdf"])[1] == _num(case["ddf"])[0]
    else:
        assert fit.df is None and fit.qm_df[1] is None
    fs = fit.fit_stats()
    np.testing.assert_allclose(fs["ML"], case["fit_ML"], rtol=RTOL)
    np.testing.assert_allclose(fs["REML"], case["fit_REML"], rtol=RTOL)
    np.testing.assert_allclose([fit.loglik, fit.aic, fit.bic, fit.aicc],
                               [case["logLik"], case["AIC"], case["BIC"], case["AICc"]],
                               rtol=RTOL)  # fmt: skip


@pytest.mark.reference
@pytest.mark.parametrize("case", [c for c in CASES if c["test"] == "z"],
                         ids=[_id(c) for c in CASES if c["test"] == "z"])  # fmt: skip
def test_profile_confint_matches_metafor(case):
    fit = _fit(case["dataset"], case["mods"], case["method"])
    ci = fit.confint()
    ref = np.array([_num(row) for row in case["sigma2_ci"]])
    np.testing.assert_allclose(ci[["ci_low", "ci_high"]].to_numpy(), ref[:, 1:], rtol=CI_RTOL,
                               atol=1e-10)  # fmt: skip
    est = ci.dropna()
    assert np.all(est["ci_low"] <= est["estimate"]) and np.all(est["estimate"] <= est["ci_high"])
    np.testing.assert_allclose(ci["sigma_ci_high"] ** 2, ci["ci_high"])


@pytest.mark.reference
@pytest.mark.parametrize("method", ["REML", "ML"])
def test_one_level_equals_random_effects(method):
    """One level, diagonal V: multilevel and random_effects both reproduce rma.uni (the
    Fisher-scoring reference, threshold 1e-13) to 1e-8."""
    b = REF["datasets"]["bcg"]
    ref = REF["rma_uni"][method]
    ml = multilevel(b["yi"], b["V"], random=b["groups"]["trial"], method=method)
    re = meta.random_effects(b["yi"], b["V"], method=method)
    for fit_tau2, fit in ((ml.sigma2[0], ml), (re.tau2, re)):
        np.testing.assert_allclose(
            [fit_tau2, fit.estimate, fit.se, fit.loglik],
            [ref["tau2"], ref["beta"], ref["se"], ref["logLik"]], rtol=1e-8,
        )  # fmt: skip


@pytest.mark.reference
def test_logit_proportions_from_escalc_with_groups_of_one_and_two():
    """The prevalence sensitivity analysis: escalc PLO, random = ~ 1 | group/report."""
    ds = REF["datasets"]["pritz1997"]
    es = meta.escalc("PLO", xi=ds["xi"], ni=ds["ni"])
    np.testing.assert_allclose(es.yi, ds["yi"], rtol=1e-12)
    group, report = ds["groups"]["group"], ds["groups"]["report"]
    assert set(pd.Series(group).value_counts()) == {1, 2}
    fit = multilevel(es.yi, es.vi, random={"group": group, "report": report})
    case = next(c for c in CASES if c["dataset"] == "pritz1997" and c["method"] == "REML")
    assert fit.sigma2_names == ["group", "group/report"]
    _close_sigma2(fit.sigma2, case["sigma2"])
    assert fit.estimate == pytest.approx(np.atleast_1d(case["beta"])[0], rel=RTOL)
    assert fit.sigma2[1] == 0.0  # boundary estimate: reported as exactly 0


def _rob_fit(r):
    ds = REF["datasets"][r["dataset"]]
    mods = _mods(r["mods"])
    M = pd.DataFrame({m: ds["mods"][m] for m in mods}) if mods else None
    if r["kind"] == "uni":
        if M is None:
            return meta.random_effects(ds["yi"], ds["V"], method="REML")
        return meta.metareg(ds["yi"], ds["V"], M, method="REML")
    return _fit(r["dataset"], r["mods"])


ROB = [(r, t) for r in REF["robust"] for t in ("CR0", "CR1", "CR2")]


@pytest.mark.reference
@pytest.mark.parametrize("r,vtype", ROB, ids=[f"{r['name']}-{t}" for r, t in ROB])
def test_robust_matches_metafor(r, vtype):
    fit = _rob_fit(r)
    kw = {"CR0": dict(adjust=False), "CR1": {}, "CR2": dict(clubsandwich=True)}[vtype]
    res = robust(fit, r["cluster"], **kw)
    R = r[vtype]
    assert res.vcov_type == R["vbest"] == vtype
    assert res.n_clusters == R["n"]
    c = res.coef
    np.testing.assert_allclose(c["estimate"], R["beta"], rtol=RTOL)
    np.testing.assert_allclose(c["se"], R["se"], rtol=RTOL)
    np.testing.assert_allclose(c["statistic"], R["zval"], rtol=RTOL)
    np.testing.assert_allclose(c["pvalue"], R["pval"], rtol=RTOL)
    np.testing.assert_allclose(c["ci_low"], R["ci_lb"], rtol=RTOL)
    np.testing.assert_allclose(c["ci_high"], R["ci_ub"], rtol=RTOL)
    np.testing.assert_allclose(res.vb, np.atleast_2d(R["vb"]), rtol=RTOL, atol=1e-14)
    np.testing.assert_allclose(res.df, np.broadcast_to(_num(R["dfs"]), res.df.shape), rtol=RTOL)
    np.testing.assert_allclose([res.qm, res.qm_pvalue], [R["QM"], R["QMp"]], rtol=RTOL)
    np.testing.assert_allclose(res.qm_df, _num(R["QMdf"]), rtol=RTOL)


# --------------------------------------------------------------------------- properties
def _toy(seed=3, n_outer=6):
    rng = np.random.default_rng(seed)
    outer = np.repeat(np.arange(n_outer), rng.integers(1, 4, n_outer))
    k = outer.size
    inner = np.concatenate([np.arange((outer == g).sum()) for g in range(n_outer)])
    u = rng.normal(0, 0.4, n_outer)[outer] + rng.normal(0, 0.2, k)
    vi = rng.uniform(0.01, 0.08, k)
    yi = 0.3 + u + rng.normal(0, np.sqrt(vi))
    return yi, vi, outer, inner, rng.normal(size=k)


def test_row_order_invariance():
    yi, vi, outer, inner, x = _toy()
    f1 = multilevel(yi, vi, random=[outer, inner], mods=x)
    perm = np.random.default_rng(7).permutation(yi.size)
    f2 = multilevel(yi[perm], np.diag(vi)[np.ix_(perm, perm)], random=[outer[perm], inner[perm]],
                    mods=x[perm])  # fmt: skip
    np.testing.assert_allclose(f2.sigma2, f1.sigma2, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(f2.beta, f1.beta, rtol=1e-8)
    assert f2.loglik == pytest.approx(f1.loglik, rel=1e-12)
    r1 = robust(f1, outer, clubsandwich=True)
    r2 = robust(f2, outer[perm], clubsandwich=True)
    np.testing.assert_allclose(r2.coef["se"], r1.coef["se"], rtol=1e-7)
    np.testing.assert_allclose(r2.df, r1.df, rtol=1e-7)


def test_inner_labels_may_repeat_across_outer_groups():
    yi, vi, outer, inner, _ = _toy()
    unique_inner = [f"{o}-{i}" for o, i in zip(outer, inner, strict=True)]
    f1 = multilevel(yi, vi, random=[outer, inner])
    f2 = multilevel(yi, vi, random=[outer, unique_inner])
    np.testing.assert_allclose(f1.sigma2, f2.sigma2, rtol=1e-10)
    assert f1.sigma2_nlevels == f2.sigma2_nlevels == [6, yi.size]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_one_level_agrees_with_random_effects_on_random_data(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(4, 15))
    vi = rng.uniform(0.01, 0.2, k)
    yi = rng.normal(0, np.sqrt(vi + rng.uniform(0, 0.3)))
    ml = multilevel(yi, vi, random=np.arange(k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        re = meta.random_effects(yi, vi, method="REML")
    assert ml.sigma2[0] == pytest.approx(re.tau2, rel=1e-7, abs=1e-10)
    assert ml.estimate == pytest.approx(re.estimate, rel=1e-7, abs=1e-10)


def test_result_object_renders():
    yi, vi, outer, inner, x = _toy()
    fit = multilevel(yi, vi, random=pd.DataFrame({"centre": outer, "cohort": inner}), mods=x)
    assert isinstance(fit, MultilevelResult)
    assert fit.sigma2_names == ["centre", "centre/cohort"]
    assert list(fit.summary().index) == ["intrcpt", "x1"]
    assert "centre/cohort" in repr(fit) and "|" in fit.to_markdown()
    assert list(fit.variance_components().columns) == ["sigma2", "sigma", "nlevels"]
    res = robust(fit, outer)
    assert isinstance(res, RobustResult) and "CR1" in repr(res)
    assert sum(res.cluster_sizes.values()) == yi.size


def test_cr2_reduces_to_cr0_shape_and_adjust():
    yi, vi, outer, inner, _ = _toy()
    fit = multilevel(yi, vi, random=[outer, inner])
    r0 = robust(fit, outer, adjust=False)
    r1 = robust(fit, outer)
    n, p = r0.n_clusters, 1
    np.testing.assert_allclose(r1.vb, r0.vb * n / (n - p), rtol=1e-12)


# --------------------------------------------------------------------------- bad input
def test_bad_input_messages():
    yi, vi, outer, inner, _ = _toy()
    with pytest.raises(ValueError, match="entries but there are"):
        multilevel(yi, vi, random=[outer[:-1]])
    g = outer.astype(object)
    g[2] = np.nan
    with pytest.raises(ValueError, match="missing for estimate"):
        multilevel(yi, vi, random=[g])
    y2 = yi.copy()
    y2[0] = np.nan
    with pytest.raises(ValueError, match="yi must be finite"):
        multilevel(y2, vi, random=[outer])
    with pytest.raises(ValueError, match="vi must be finite and > 0"):
        multilevel(yi, np.r_[0.0, vi[1:]], random=[outer])
    V = np.diag(vi)
    V[0, 1] = V[1, 0] = 10.0
    with pytest.raises(ValueError, match="positive definite"):
        multilevel(yi, V, random=[outer])
    V = np.diag(vi)
    V[0, 1] = 0.001
    with pytest.raises(ValueError, match="symmetric"):
        multilevel(yi, V, random=[outer])
    with pytest.raises(ValueError, match="covariance matrix"):
        multilevel(yi, np.eye(3), random=[outer])
    with pytest.raises(ValueError, match="Unknown method"):
        multilevel(yi, vi, random=[outer], method="DL")
    with pytest.raises(ValueError, match="Unknown test"):
        multilevel(yi, vi, random=[outer], test="knha")
    with pytest.raises(ValueError, match="at least one grouping"):
        multilevel(yi, vi, random=[])


def test_robust_bad_input():
    yi, vi, outer, inner, _ = _toy()
    fit = multilevel(yi, vi, random=[outer, inner])
    with pytest.raises(ValueError, match="entries but the model has"):
        robust(fit, outer[:-1])
    with pytest.raises(ValueError, match="must be larger than the number of fixed effects"):
        robust(fit, np.zeros(yi.size))
    split = np.arange(yi.size) % 2  # clusters that cut through the outer groups
    with pytest.raises(ValueError, match="not nested"):
        robust(fit, split, clubsandwich=True)


def test_single_level_and_confounded_groupings_warn():
    yi, vi, outer, inner, _ = _toy()
    with pytest.warns(UserWarning, match="Single-level"):
        fit = multilevel(yi, vi, random=[np.zeros(yi.size), outer])
    assert fit.sigma2[0] == 0.0 and fit.parms == 2
    assert np.isnan(fit.confint().loc["level1", "ci_low"])
    ids = np.arange(yi.size)
    with pytest.warns(UserWarning, match="not separately identifiable"):
        both = multilevel(yi, vi, random=[ids, ids])
    one = multilevel(yi, vi, random=[ids])
    assert both.sigma2.sum() == pytest.approx(one.sigma2[0], rel=1e-7)
    assert both.loglik == pytest.approx(one.loglik, rel=1e-10)
