"""Tests of jdmstats.meta.bayes (Bayesian random-effects meta-analysis) against R's bayesmeta 3.4.

Reference values: tests/reference/bayesmeta_reference.json, written by
tests/reference/bayesmeta_reference.R (bayesmeta defaults: integrate/uniroot tolerance 1.5e-11,
DIRECT grid delta = 0.01, epsilon = 1e-4; shortest intervals and modes recomputed there at tight
tolerance from bayesmeta's own density, cdf and quantile functions); no R is needed here.
Posterior quantiles, means and sds are asserted to 1e-5 relative (the issue's tolerance).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jdmstats import meta

REF = json.loads((Path(__file__).parent / "reference" / "bayesmeta_reference.json").read_text())
CASES = {c["name"]: c for c in REF["cases"]}
RTOL = 1e-5
ATOL = 1e-9  # for bounds that are exactly 0 in R


def _num(x):
    return np.array([np.nan if v is None else v for v in np.ravel(x)], float).reshape(np.shape(x))


def _matrix(m):
    return _num(m["values"])


def _kwargs(case):
    tp, mp = case["tau_prior"], case["mu_prior"]
    kw = {"delta": case["delta"], "epsilon": case["epsilon"]}
    if tp["type"] == "exponential":
        rate = tp["rate"]
        kw["tau_prior"] = lambda t: rate * np.exp(-rate * np.asarray(t))
    else:
        kw["tau_prior"] = tp["type"]
        for key, arg in (("scale", "tau_scale"), ("df", "tau_df"), ("upper", "tau_upper")):
            if key in tp:
                kw[arg] = tp[key]
    if mp["type"] == "normal":
        kw["mu_prior"] = ("normal", mp["mean"], mp["sd"])
    return kw


_FITS: dict = {}


def _fit(name):
    if name not in _FITS:
        case = CASES[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # bcg3_jeffreys: sd of tau is NaN
            _FITS[name] = meta.bayes(
                case["y"], sei=case["sigma"], labels=case["labels"], **_kwargs(case)
            )
    return _FITS[name]


NAMES = sorted(CASES)
ROWS = ["mode", "median", "mean", "sd", "lower", "upper"]  # bayesmeta's $summary rows


@pytest.mark.reference
@pytest.mark.parametrize("name", NAMES)
def test_summary_matches_bayesmeta(name):
    case, fit = CASES[name], _fit(name)
    central = _matrix(case["summary_central"])  # rows mode, median, mean, sd, lower, upper
    got = fit.table.to_numpy()
    # median, mean, sd and central interval: rows 1-5 of both tables
    np.testing.assert_allclose(got[1:6], central[1:6], rtol=RTOL, atol=ATOL)
    for j, col in enumerate(("tau", "mu", "theta")):
        tight = case["tight"][col]  # mode, lower, upper at tight tolerance
        np.testing.assert_allclose(got[6:8, j], tight[1:3], rtol=RTOL, atol=ATOL)
        scale = max(abs(tight[0]), got[3, j] if np.isfinite(got[3, j]) else got[1, j])
        assert abs(got[0, j] - tight[0]) <= 1e-5 * scale, (col, got[0, j], tight[0])
        # bayesmeta's own shortest bounds and mode use optimize() at tolerance 1.2e-4
        loose = _matrix(case["summary_shortest"])[:, j]
        np.testing.assert_allclose(got[6:8, j], loose[4:6], rtol=2e-3, atol=2e-3 * scale)
        assert abs(got[0, j] - loose[0]) <= 2e-3 * scale


@pytest.mark.reference
@pytest.mark.parametrize("name", NAMES)
def test_shrinkage_matches_bayesmeta(name):
    case, fit = CASES[name], _fit(name)
    theta = _matrix(case["theta_central"]).T  # studies x (y, sigma, mode, median, mean, sd, lo, hi)
    got = fit.shrinkage.to_numpy()
    np.testing.assert_allclose(got[:, :2], theta[:, :2], rtol=1e-15)
    np.testing.assert_allclose(got[:, 3:8], theta[:, 3:8], rtol=RTOL, atol=ATOL)
    tight = case["tight"]
    np.testing.assert_allclose(got[:, 8], tight["shrink_lower"], rtol=RTOL)
    np.testing.assert_allclose(got[:, 9], tight["shrink_upper"], rtol=RTOL)
    scale = np.maximum(np.abs(tight["shrink_mode"]), got[:, 5])
    assert np.all(np.abs(got[:, 2] - tight["shrink_mode"]) <= 1e-5 * scale)
    assert list(fit.shrinkage.index) == case["labels"]


@pytest.mark.reference
@pytest.mark.parametrize("name", NAMES)
def test_direct_grid_and_weights_match_bayesmeta(name):
    case, fit = CASES[name], _fit(name)
    np.testing.assert_allclose(fit.support["tau"], case["support"]["tau"], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(fit.support["weight"], case["support"]["weight"], rtol=1e-7)
    np.testing.assert_allclose(fit.weights.to_numpy(), case["weights"], rtol=1e-7)


@pytest.mark.reference
@pytest.mark.parametrize("name", NAMES)
def test_posterior_functions_match_bayesmeta(name):
    case, fit = CASES[name], _fit(name)
    p = np.asarray(case["probs"])
    np.testing.assert_allclose(fit.tau_quantile(p), case["tau_quantiles"], rtol=RTOL)
    np.testing.assert_allclose(fit.mu_quantile(p), case["mu_quantiles"], rtol=RTOL)
    np.testing.assert_allclose(fit.theta_quantile(p), case["theta_quantiles"], rtol=RTOL)
    tp, mp = np.asarray(case["tau_points"]), np.asarray(case["mu_points"])
    np.testing.assert_allclose(fit.tau_density(tp), case["tau_density"], rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(fit.tau_cdf(tp), case["tau_cdf"], rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(fit.mu_density(mp), case["mu_density"], rtol=1e-8)
    np.testing.assert_allclose(fit.mu_cdf(mp), case["mu_cdf"], rtol=1e-8)
    np.testing.assert_allclose(fit.theta_density(mp), case["theta_density"], rtol=1e-8)
    np.testing.assert_allclose(fit.likelihood(tp), case["likelihood_tau"], rtol=1e-10)


@pytest.mark.reference
@pytest.mark.parametrize("name", NAMES)
def test_marginal_likelihood_and_bayes_factors_match_bayesmeta(name):
    case, fit = CASES[name], _fit(name)
    assert fit.tau_prior_proper == case["tau_prior_proper"]
    ml = _num(case["marginal_likelihood"])
    if np.isnan(ml):
        assert np.isnan(fit.marginal_likelihood) and fit.marginal_likelihood_note
    else:
        np.testing.assert_allclose(fit.marginal_likelihood, ml, rtol=1e-8)
    bf = _matrix(case["bayes_factor"])  # rows actual, minimum; columns tau=0, mu=0
    got = fit.bayes_factor.to_numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(bf))
    np.testing.assert_allclose(got[0], bf[0], rtol=1e-8)  # integrals
    np.testing.assert_allclose(got[1], bf[1], rtol=1e-6)  # at bayesmeta's optimize() maximum


@pytest.mark.reference
def test_sd_of_tau_is_nan_where_bayesmeta_cannot_integrate_it():
    case = CASES["bcg3_jeffreys"]
    assert np.isnan(_matrix(case["summary_central"])[3, 0])  # R: NA
    with pytest.warns(RuntimeWarning, match="variance of tau does not converge"):
        fit = meta.bayes(case["y"], sei=case["sigma"], **_kwargs(case))
    assert np.isnan(fit.table.loc["sd", "tau"]) and np.isfinite(fit.table.loc["mean", "tau"])


@pytest.mark.reference
def test_bayes_proportion_is_the_logit_fit_back_transformed():
    case = CASES["pritz_plo_halfnormal"]
    fit = meta.bayes_proportion(REF["pritz"]["xi"], REF["pritz"]["ni"], tau_scale=1.0)
    assert fit.measure == "PLO"
    np.testing.assert_allclose(fit.yi, case["y"], rtol=1e-14)
    np.testing.assert_allclose(fit.sei, case["sigma"], rtol=1e-14)
    central = _matrix(case["summary_central"])
    back = fit.summary(back_transform=True)
    np.testing.assert_allclose(
        back.loc["median", "mu"], 1 / (1 + np.exp(-central[1, 1])), rtol=RTOL
    )
    np.testing.assert_allclose(back.iloc[2:4]["mu"], 1 / (1 + np.exp(-central[4:6, 1])), rtol=RTOL)
    assert "mean" not in back.index and "proportion" in repr(fit)
    with pytest.raises(ValueError, match="bayes_proportion"):
        _fit("crins_halfnormal").summary(back_transform=True)


def test_result_api():
    fit = _fit("crins_halfnormal")
    assert list(fit.table.columns) == ["tau", "mu", "theta"]
    assert "half-normal(scale=0.5)" in repr(fit) and "<table" in fit._repr_html_()
    assert "\\toprule" in fit.to_latex() and fit.to_markdown().startswith("|")
    d = fit.to_dict()
    assert "_model" not in d and d["k"] == 6
    json.dumps({k: v for k, v in d.items() if k not in ("table", "shrinkage", "bayes_factor",
                                                        "support", "weights")})  # fmt: skip


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"vi": [0.1, 0.2]}, "yi has 3 values but vi has 2"),
        ({"vi": [0.1, 0.2, 0.0]}, "vi must be finite and > 0"),
        ({}, "exactly one of vi"),
        ({"vi": [0.1] * 3, "sei": [0.1] * 3}, "exactly one of vi"),
        ({"vi": [0.1] * 3, "tau_prior": "gamma"}, "tau_prior='gamma' is not understood"),
        ({"vi": [0.1] * 3, "tau_prior": "halft"}, "needs tau_df"),
        ({"vi": [0.1] * 3, "tau_prior": "uniform"}, "needs tau_upper"),
        ({"vi": [0.1] * 3, "tau_scale": -1}, "tau_scale must be"),
        ({"vi": [0.1] * 3, "mu_prior": ("normal", 0, 0)}, "mu_prior"),
        ({"vi": [0.1] * 3, "level": 1.5}, "level must lie"),
        ({"vi": [0.1] * 3, "tau_prior_proper": True}, "callable tau_prior only"),
    ],
)
def test_bad_input_is_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        meta.bayes([0.1, 0.2, 0.3], **kwargs)


def test_improper_posterior_is_refused():
    with pytest.raises(ValueError, match="improper"):
        meta.bayes([0.1], [0.04], tau_prior=lambda t: np.ones_like(t), tau_prior_proper=False)


studies = st.lists(st.tuples(st.floats(-3, 3), st.floats(0.05, 1.5)), min_size=2, max_size=8)


@pytest.mark.filterwarnings("ignore:meta.bayes. the posterior variance of tau:RuntimeWarning")
@settings(max_examples=15, deadline=None)
@given(studies, st.sampled_from(["halfnormal", "halfcauchy"]), st.floats(0.1, 2.0))
def test_invariants(data, prior, scale):
    y = np.array([d[0] for d in data])
    s = np.array([d[1] for d in data])
    fit = meta.bayes(y, sei=s, tau_prior=prior, tau_scale=scale)
    t = fit.table
    for col in ("tau", "mu", "theta"):  # the shortest interval is never wider than the central
        assert t[col].iloc[7] - t[col].iloc[6] <= (t[col].iloc[5] - t[col].iloc[4]) * (1 + 1e-9)
    # uniform mu prior: given tau, mu is a weighted mean of the y_i
    lo, hi = y.min() - 1e-9, y.max() + 1e-9
    assert lo <= t.loc["median", "mu"] <= hi and lo <= t.loc["mean", "mu"] <= hi
    assert np.all((fit.shrinkage["mean"] >= lo) & (fit.shrinkage["mean"] <= hi))
    assert t.loc["sd", "theta"] >= t.loc["sd", "mu"]
    p = np.array([0.05, 0.3, 0.7, 0.95])
    np.testing.assert_allclose(fit.tau_cdf(fit.tau_quantile(p)), p, atol=1e-10)
    np.testing.assert_allclose(fit.mu_cdf(fit.mu_quantile(p)), p, atol=1e-10)
    assert abs(float(fit.support["weight"].sum()) - 1) < 1e-12
