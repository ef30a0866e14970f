"""Tests of jdmstats.meta.selection (selection models) against metafor::selmodel 3.8-1.

Reference values: tests/reference/metafor_selection.json, written by
tests/reference/metafor_selection.R; no R is needed to run these tests.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from jdmstats import meta
from jdmstats.meta.selection import selection_loglik

REF = json.loads((Path(__file__).parent / "reference" / "metafor_selection.json").read_text())
YI = np.asarray(REF["data"]["yi"], float)
VI = np.asarray(REF["data"]["vi"], float)
FIXED = REF["fixed"]


def _num(x):
    if isinstance(x, list):
        return np.array([np.nan if v is None else v for v in x], float)
    return np.nan if x is None else float(x)


@pytest.mark.reference
@pytest.mark.parametrize("row", FIXED, ids=[f"{r['type']}-{r['alternative']}-{i}"
                                            for i, r in enumerate(FIXED)])  # fmt: skip
def test_loglik_at_fixed_parameters_matches_metafor(row):
    steps = row["steps"] if row["type"] == "stepfun" else None
    ll = selection_loglik(YI, VI, np.ones((YI.size, 1)), [row["beta"]], row["tau2"],
                          row["delta"], row["type"], steps, row["alternative"])  # fmt: skip
    # stepfun: closed form in both; beta: metafor integrate(rel.tol = 1e-12) vs quadrature
    np.testing.assert_allclose(ll, row["ll"], rtol=1e-9 if row["type"] == "stepfun" else 1e-8)


@pytest.fixture(scope="module")
def ml_fit():
    fit = meta.random_effects(YI, VI, method="ML")
    np.testing.assert_allclose(fit.tau2, REF["ml_fit"]["tau2"], rtol=1e-6)
    np.testing.assert_allclose(fit.loglik, REF["ml_fit"]["ll"], rtol=1e-9)
    return fit


FITS = REF["fits"]


@pytest.mark.reference
@pytest.mark.parametrize("row", FITS, ids=[f"{r['type']}-{i}" for i, r in enumerate(FITS)])
def test_selection_model_fit_matches_metafor(row, ml_fit):
    kw = {"steps": row["steps"]} if row["type"] == "stepfun" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sel = meta.selection_model(ml_fit, type=row["type"], **kw)
    # our maximum is at least as high as metafor's (its BFGS uses finite-difference gradients);
    # ll_tight: metafor's log-likelihood at its estimate with tight integration (selmodel's own
    # ll for the beta model carries integrate()'s default rel.tol error, 3e-5 relative here)
    assert sel.loglik >= row["ll_tight"] - 1e-9
    np.testing.assert_allclose(sel.loglik, row["ll_tight"], rtol=1e-8)
    ll0 = REF["ml_fit"]["ll"]
    np.testing.assert_allclose(sel.lrt, -2 * (ll0 - row["ll_tight"]), rtol=1e-6, atol=1e-8)
    if row["type"] == "stepfun":  # closed-form likelihood: metafor's own ll and LRT are exact
        np.testing.assert_allclose(sel.loglik, row["ll"], rtol=1e-8)
        np.testing.assert_allclose(sel.lrt, row["LRT"], rtol=1e-6)
    assert sel.lrt_df == row["LRTdf"]
    # parameters: metafor's optimum is only ~1e-5 precise on this flat likelihood
    np.testing.assert_allclose(sel.beta, row["beta"], rtol=1e-3, atol=2e-5)
    np.testing.assert_allclose(sel.tau2, row["tau2"], rtol=1e-3, atol=2e-6)
    np.testing.assert_allclose(sel.delta, row["delta"], rtol=1e-3, atol=2e-5)
    # Hessian-based SEs at slightly different optima: 1e-3 (stepfun); for the beta model
    # metafor differentiates a likelihood integrated to rel.tol 1e-4: 2e-2
    se_tol = 1e-3 if row["type"] == "stepfun" else 2e-2
    np.testing.assert_allclose(sel.se, row["se"], rtol=se_tol)
    np.testing.assert_allclose(sel.se_tau2, row["se_tau2"], rtol=se_tol)
    np.testing.assert_allclose(sel.se_delta, _num(row["se_delta"]), rtol=se_tol)
    if row["type"] == "stepfun":
        np.testing.assert_array_equal(sel.k_per_interval, row["ptable"])


def test_no_selection_reduces_to_the_normal_likelihood(ml_fit):
    from scipy import stats

    ll = selection_loglik(YI, VI, np.ones((YI.size, 1)), [0.2], 0.03, [1, 1, 1],
                          "stepfun", [0.025, 0.5, 1])  # fmt: skip
    np.testing.assert_allclose(ll, stats.norm.logpdf(YI, 0.2, np.sqrt(VI + 0.03)).sum(),
                               rtol=1e-12)  # fmt: skip
    llb = selection_loglik(YI, VI, np.ones((YI.size, 1)), [0.2], 0.03, [1, 1], "beta")
    np.testing.assert_allclose(llb, ll, rtol=1e-10)


def test_selection_model_errors(ml_fit):
    with pytest.raises(ValueError, match="steps"):
        meta.selection_model(ml_fit, type="stepfun")
    with pytest.raises(ValueError, match="no observed p-values"):
        meta.selection_model(ml_fit, type="stepfun", steps=[0.3, 0.3000001, 1])
    with pytest.raises(ValueError, match="accepted"):
        meta.selection_model(ml_fit, type="halfnormal")
    with pytest.raises(ValueError, match="do not pass steps"):
        meta.selection_model(ml_fit, type="halfnorm", steps=[0.05])
    with pytest.raises(ValueError, match="one-sided"):
        meta.selection_model(ml_fit, type="beta", alternative="two.sided")


def test_selection_result_rendering(ml_fit):
    sel = meta.selection_model(ml_fit, type="stepfun", steps=[0.05, 1])
    assert "Selection model" in repr(sel)
    assert list(sel.summary().index) == ["intrcpt", "tau2", "delta.1", "delta.2"]
    assert np.isnan(sel.se_delta[0]) and sel.delta[0] == 1.0


# ------------------------------------------------- one-parameter models (metafor_selection_cont)
CONT = json.loads((Path(__file__).parent / "reference"
                   / "metafor_selection_cont.json").read_text())  # fmt: skip


def _first(x):
    return float(np.ravel(x)[0])


@pytest.mark.reference
@pytest.mark.parametrize("row", CONT["fixed"],
                         ids=[f"{r['type']}-{r['alternative']}-{r['delta']}" for r in CONT["fixed"]])
def test_continuous_loglik_at_fixed_parameters_matches_metafor(row):
    yi, vi = np.asarray(CONT["data"]["yi"]), np.asarray(CONT["data"]["vi"])
    ll = selection_loglik(yi, vi, np.ones((yi.size, 1)), [row["beta"]], row["tau2"],
                          [row["delta"]], row["type"], None, row["alternative"])  # fmt: skip
    np.testing.assert_allclose(ll, row["ll"], rtol=1e-9)  # integrate(rel.tol = 1e-12)


def test_continuous_models_cover_every_type():
    assert {r["type"] for r in CONT["fits"]} == {"halfnorm", "negexp", "logistic", "power"}
    assert {r["alternative"] for r in CONT["fits"]} == {"greater", "two.sided"}


@pytest.mark.reference
@pytest.mark.parametrize("row", CONT["fits"], ids=[f"{r['type']}-{r['alternative']}"
                                                   for r in CONT["fits"]])
def test_continuous_selection_model_fit_matches_metafor(row):
    yi, vi = np.asarray(CONT["data"]["yi"]), np.asarray(CONT["data"]["vi"])
    fit = meta.random_effects(yi, vi, method="ML", control={"threshold": 1e-13})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sel = meta.selection_model(fit, type=row["type"], alternative=row["alternative"])
    # the maximised log-likelihood: ours is at least metafor's and within 1e-8 of it
    assert sel.loglik >= row["ll"] - 1e-9
    np.testing.assert_allclose(sel.loglik, row["ll"], rtol=1e-9)
    np.testing.assert_allclose(sel.lrt, row["LRT"], rtol=1e-7)
    assert sel.lrt_df == row["LRTdf"] == 1
    # metafor's optimiser (numerical gradients) stops within ~1e-5 of the maximum
    np.testing.assert_allclose(sel.beta[0], _first(row["beta"]), rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(sel.tau2, row["tau2"], rtol=1e-5)
    np.testing.assert_allclose(sel.delta[0], _first(row["delta"]), rtol=1e-5)
    np.testing.assert_allclose(sel.se[0], _first(row["se"]), rtol=5e-5)
    np.testing.assert_allclose(sel.se_tau2, row["se_tau2"], rtol=5e-5)
    np.testing.assert_allclose(sel.se_delta[0], _first(row["se_delta"]), rtol=5e-5)
    assert sel.parms == row["parms"] == 3
    np.testing.assert_allclose(sel.fit_stats()["ML"], row["fit_stats"], rtol=1e-9)
    np.testing.assert_allclose([sel.deviance, sel.aic, sel.bic, sel.aicc], row["fit_stats"][1:],
                               rtol=1e-9)  # fmt: skip
    assert list(sel.confint().index) == ["intrcpt"]


def test_continuous_model_without_selection_is_the_normal_likelihood(ml_fit):
    X = np.ones((YI.size, 1))
    base = selection_loglik(YI, VI, X, [ml_fit.estimate], ml_fit.tau2, [1, 1], "stepfun",
                            [0.05, 1])  # fmt: skip
    for type_ in ("halfnorm", "negexp", "logistic", "power"):
        for alt in ("greater", "less", "two.sided"):
            ll = selection_loglik(YI, VI, X, [ml_fit.estimate], ml_fit.tau2, [0.0], type_,
                                  None, alt)  # fmt: skip
            np.testing.assert_allclose(ll, base, rtol=1e-12)
