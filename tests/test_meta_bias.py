"""Tests of jdmstats.meta.bias against metafor 3.8-1 (tests/reference/metafor_diagnostics.*)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from jdmstats.meta.bias import (
    BeggResult,
    EggerResult,
    TrimFillResult,
    begg_test,
    egger_test,
    trim_and_fill,
)
from jdmstats.meta.model import random_effects

REF = json.loads((Path(__file__).parent / "reference" / "metafor_diagnostics.json").read_text())
CASES = REF["cases"]
IDS = [f"{c['dataset']}-{c['method']}-{c['test']}" for c in CASES]
RTOL = 1e-6
ATOL = {"I2": 1e-7}


def _arr(x):
    return np.array([np.nan if v is None else v for v in np.atleast_1d(x)], dtype=float)


def assert_ref(actual, expected, name=""):
    np.testing.assert_allclose(
        np.atleast_1d(np.asarray(actual, dtype=float)),
        _arr(expected),
        rtol=RTOL,
        atol=ATOL.get(name, 1e-9),
        err_msg=name,
    )


def _fit(dataset, method="REML", test="z"):
    ds = REF["datasets"][dataset]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return random_effects(ds["yi"], ds["vi"], method=method, test=test, labels=ds["slab"])


# --------------------------------------------------------------------------- reference
@pytest.mark.reference
def test_grid_complete():
    grid = REF["grid"]
    have = {(c["dataset"], c["method"], c["test"]) for c in CASES}
    want = {(d, m, t) for d in grid["datasets"] for m in grid["methods"] for t in grid["tests"]}
    assert have == want
    for c in CASES:
        assert set(c["regtest"]) == set(grid["regtest"]) == {"sei", "vi"}
        assert set(c["trimfill"]) == set(grid["trimfill"])
    assert set(REF["ranktest"]) == set(grid["datasets"])
    # the grid exercises k0 = 0 and k0 > 0 on both sides, with both estimators
    tf = [
        (k.split("_")[0], v["side"], v["k0"] > 0) for c in CASES for k, v in c["trimfill"].items()
    ]
    for est in ("L0", "R0"):
        for side in ("left", "right"):
            assert (est, side, True) in tf
        assert any(e == est and not pos for e, _, pos in tf)


@pytest.mark.reference
@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("predictor", ["sei", "vi"])
def test_egger_matches_metafor_regtest(case, predictor):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # knha with an EE model warns (as metafor)
        res = egger_test(_fit(case["dataset"], case["method"], case["test"]), predictor=predictor)
    ref = case["regtest"][predictor]
    assert isinstance(res, EggerResult)
    assert_ref(res.statistic, ref["zval"], "zval")
    assert_ref(res.pvalue, ref["pval"], "pval")
    assert_ref(res.limit_estimate, ref["est"], "est")
    assert_ref(res.limit_ci_low, ref["ci_lb"], "ci_lb")
    assert_ref(res.limit_ci_high, ref["ci_ub"], "ci_ub")
    assert_ref(res.slope, ref["slope"], "slope")
    assert_ref(res.slope_se, ref["slope_se"], "slope_se")
    assert_ref(res.tau2, ref["tau2"], "tau2")
    if case["test"] == "z":
        assert res.df is None and ref["ddf"] is None
    else:
        assert res.df == ref["ddf"]


@pytest.mark.reference
@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize(
    "key", ["L0_auto", "L0_left", "L0_right", "R0_auto", "R0_left", "R0_right"]
)
def test_trim_and_fill_matches_metafor(case, key):
    estimator, side = key.split("_")
    fit = _fit(case["dataset"], case["method"], case["test"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = trim_and_fill(fit, estimator=estimator, side=None if side == "auto" else side)
    ref = case["trimfill"][key]
    assert isinstance(res, TrimFillResult)
    assert res.k0 == ref["k0"]
    assert res.side == ref["side"]
    assert_ref(res.se_k0, ref["se_k0"], "se_k0")
    assert_ref(res.p_k0, ref["p_k0"], "p_k0")
    assert len(res.filled) == res.k0
    if res.k0:
        assert_ref(res.filled["yi"], ref["fill_yi"], "fill_yi")
        assert_ref(res.filled["vi"], ref["fill_vi"], "fill_vi")
    refit = ref["refit"]
    assert res.fit.k == refit["k"]
    for ours, theirs in [
        ("estimate", "estimate"),
        ("se", "se"),
        ("statistic", "zval"),
        ("pvalue", "pval"),
        ("ci_low", "ci_lb"),
        ("ci_high", "ci_ub"),
        ("tau2", "tau2"),
        ("q", "QE"),
        ("q_pvalue", "QEp"),
        ("i2", "I2"),
        ("h2", "H2"),
    ]:
        assert_ref(getattr(res.fit, ours), refit[theirs], theirs)


@pytest.mark.reference
@pytest.mark.parametrize("dataset", sorted(REF["ranktest"]))
def test_begg_matches_metafor_ranktest(dataset):
    ref = REF["ranktest"][dataset]
    res = begg_test(_fit(dataset))
    assert isinstance(res, BeggResult)
    assert res.exact == ref["exact"]
    assert_ref(res.tau, ref["tau"], "tau")
    assert_ref(res.pvalue, ref["pval"], "pval")
    assert_ref(begg_test(_fit(dataset), exact=False).pvalue, ref["pval_normal"], "pval_normal")


# --------------------------------------------------------------------------- properties
_effects = st.lists(
    st.tuples(
        st.floats(-2, 2, allow_nan=False, allow_infinity=False),
        st.floats(0.01, 1.0, allow_nan=False, allow_infinity=False),
    ),
    min_size=4,
    max_size=12,
    unique_by=(lambda t: t[0], lambda t: t[1]),
)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(data=_effects, seed=st.integers(0, 10**6))
def test_begg_invariant_to_study_order(data, seed):
    yi = np.array([d[0] for d in data])
    vi = np.array([d[1] for d in data])
    perm = np.random.default_rng(seed).permutation(yi.size)
    a = begg_test(random_effects(yi, vi, method="DL"))
    b = begg_test(random_effects(yi[perm], vi[perm], method="DL"))
    assert a.exact == b.exact
    np.testing.assert_allclose([a.tau, a.pvalue], [b.tau, b.pvalue], rtol=1e-10)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(data=_effects, seed=st.integers(0, 10**6), estimator=st.sampled_from(["L0", "R0"]))
def test_trim_and_fill_invariant_to_study_order(data, seed, estimator):
    yi = np.array([d[0] for d in data])
    vi = np.array([d[1] for d in data])
    perm = np.random.default_rng(seed).permutation(yi.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            a = trim_and_fill(random_effects(yi, vi, method="EE"), estimator=estimator)
        except RuntimeError:  # R0 undefined / no convergence: also for the permuted data
            with pytest.raises(RuntimeError):
                trim_and_fill(random_effects(yi[perm], vi[perm], method="EE"), estimator=estimator)
            return
        b = trim_and_fill(random_effects(yi[perm], vi[perm], method="EE"), estimator=estimator)
    assert (a.k0, a.side) == (b.k0, b.side)
    np.testing.assert_allclose(a.fit.estimate, b.fit.estimate, rtol=1e-9, atol=1e-12)
    # filled studies mirror observed ones around the trimmed estimate: same variances
    assert set(np.round(a.filled["vi"], 12)) <= set(np.round(vi, 12))


def test_kendall_exact_distribution_agrees_with_scipy():
    rng = np.random.default_rng(1)
    for n in (5, 9, 14, 30):
        x, y = rng.normal(size=n), rng.normal(size=n)
        from jdmstats.meta.bias import _kendall_exact_p

        tau = stats.kendalltau(x, y).statistic
        ours = _kendall_exact_p(tau, n)
        theirs = stats.kendalltau(x, y, method="exact").pvalue
        np.testing.assert_allclose(ours, theirs, rtol=1e-9)


PRED_CASES = [(dn, pr, model) for dn, preds in REF["regtest_predictors"].items()
              for pr in preds for model in ("lm", "rma")]  # fmt: skip


def _null(x):
    return None if x == {} or x == [] else x


@pytest.mark.reference
@pytest.mark.parametrize("dataset, predictor, model", PRED_CASES,
                         ids=[f"{d}-{p}-{m}" for d, p, m in PRED_CASES])  # fmt: skip
def test_egger_models_and_predictors_match_metafor_regtest(dataset, predictor, model):
    ds = REF["datasets"][dataset]
    ref = REF["regtest_predictors"][dataset][predictor][model]
    res = egger_test(_fit(dataset, "REML", "z"), predictor=predictor, model=model,
                     ni=ds.get("ni"))  # fmt: skip
    assert res.model == model
    assert_ref(res.statistic, ref["zval"], "zval")
    assert_ref(res.pvalue, ref["pval"], "pval")
    assert_ref(res.slope, ref["slope"], "slope")
    assert_ref(res.slope_se, ref["slope_se"], "slope_se")
    assert res.df == _null(ref["ddf"])
    if _null(ref["est"]) is None:  # ni, sqrtni: no limit estimate (as metafor)
        assert np.isnan([res.limit_estimate, res.limit_ci_low, res.limit_ci_high]).all()
    else:
        assert_ref(res.limit_estimate, ref["est"], "est")
        assert_ref(res.limit_ci_low, ref["ci_lb"], "ci_lb")
        assert_ref(res.limit_ci_high, ref["ci_ub"], "ci_ub")


MOD_CASES = REF["regtest_mods"]


@pytest.mark.reference
@pytest.mark.parametrize("ref", MOD_CASES, ids=[
    f"{c['dataset']}~{c['mods']}-{c['test']}-{c['predictor']}-{c['model']}" for c in MOD_CASES])
def test_egger_on_a_meta_regression_adds_the_predictor_to_the_moderators(ref):
    from jdmstats.meta.regression import metareg

    ds = REF["datasets"][ref["dataset"]]
    fit = metareg(ds["yi"], ds["vi"], pd.DataFrame({ref["mods"]: ds["mods"][ref["mods"]]}),
                  method="REML", test=ref["test"])  # fmt: skip
    res = egger_test(fit, predictor=ref["predictor"], model=ref["model"])
    assert_ref(res.statistic, ref["zval"], "zval")
    assert_ref(res.pvalue, ref["pval"], "pval")
    assert_ref(res.slope, ref["slope"], "slope")
    assert_ref(res.slope_se, ref["slope_se"], "slope_se")
    assert res.df == _null(ref["ddf"])
    assert _null(ref["est"]) is None and np.isnan(res.limit_estimate)  # no limit with mods


@pytest.mark.reference
def test_egger_predictor_grid_covers_every_predictor_and_model():
    seen = {(p, m) for _, p, m in PRED_CASES}
    assert seen == {(p, m) for p in ("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")
                    for m in ("lm", "rma")}  # fmt: skip


def test_egger_lm_is_invariant_to_scaling_the_weights():
    """WLS with multiplicative dispersion: the weights 1/vi matter only up to a constant, so
    multiplying every vi by c leaves the t test of a sample-size predictor unchanged
    (a property of lm, not of rma)."""
    ds = REF["datasets"]["bcg"]
    yi, vi = np.array(ds["yi"]), np.array(ds["vi"])
    a = egger_test(random_effects(yi, vi), predictor="ninv", model="lm", ni=ds["ni"])
    b = egger_test(random_effects(yi, 4 * vi), predictor="ninv", model="lm", ni=ds["ni"])
    np.testing.assert_allclose([a.statistic, a.pvalue], [b.statistic, b.pvalue], rtol=1e-10)
    assert np.isnan(a.tau2) and a.method == "lm" and "lm (weighted" in a.summary().index[0]


# --------------------------------------------------------------------------- edge cases
def test_egger_needs_three_studies():
    fit = random_effects([0.1, 0.4], [0.01, 0.02], method="DL")
    with pytest.raises(ValueError, match="at least 3 studies"):
        egger_test(fit)
    fit3 = random_effects([0.1, 0.4, 0.2], [0.01, 0.02, 0.03], method="DL")
    with pytest.raises(ValueError, match="Unknown predictor"):
        egger_test(fit3, predictor="n")
    with pytest.raises(ValueError, match="Unknown model"):
        egger_test(fit3, model="glm")
    with pytest.raises(ValueError, match="needs the sample sizes: pass ni="):
        egger_test(fit3, predictor="ni")
    with pytest.raises(ValueError, match="ni must hold 3 positive sample sizes"):
        egger_test(fit3, predictor="ninv", ni=[10, 0, 12])
    with pytest.raises(ValueError, match="same ni"):
        egger_test(fit3, predictor="ni", ni=[10, 10, 10])


def test_egger_equal_variances_rejected():
    fit = random_effects([0.1, 0.4, 0.2, 0.3], [0.02] * 4, method="DL")
    with pytest.raises(ValueError, match="same sei"):
        egger_test(fit)


def test_trim_and_fill_k0_zero_returns_original_model():
    case = next(c for c in CASES if (c["dataset"], c["method"], c["test"]) == ("bcg", "EE", "z"))
    assert case["trimfill"]["L0_left"]["k0"] == 0  # metafor: nothing to fill on the left
    fit = _fit("bcg", "EE", "z")
    res = trim_and_fill(fit, side="left")
    assert res.k0 == 0
    assert res.filled.empty
    assert res.fit is fit
    assert not res.fill.any()
    s = res.summary()
    assert list(s.index) == ["observed", "filled"]
    assert s.loc["filled", "estimate"] == s.loc["observed", "estimate"]


def test_trim_and_fill_bad_arguments():
    fit = random_effects([0.1, 0.4, 0.2], [0.01, 0.02, 0.03], method="DL")
    with pytest.raises(ValueError, match="Unknown estimator"):
        trim_and_fill(fit, estimator="Q0")
    with pytest.raises(ValueError, match="Unknown side"):
        trim_and_fill(fit, side="up")


def test_trim_and_fill_result_rendering():
    res = trim_and_fill(_fit("hackshaw1998", "REML", "z"), estimator="R0")
    assert res.k0 > 0
    text = repr(res)
    assert "missing studies on the left side" in text and "p =" in text
    assert isinstance(res.summary(), pd.DataFrame)
    assert res.fill.sum() == res.k0
    assert list(res.filled.index) == [f"Filled {i + 1}" for i in range(res.k0)]


def test_begg_with_ties_uses_normal_approximation():
    fit = random_effects([0.1, 0.5, 0.3, 0.9, 0.2], [0.02, 0.02, 0.03, 0.04, 0.05], method="DL")
    res = begg_test(fit)
    assert not res.exact
    tau, p = res
    assert -1 <= tau <= 1 and 0 <= p <= 1
