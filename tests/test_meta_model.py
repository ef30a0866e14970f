"""Tests of jdmstats.meta.model (random_effects, subgroup_analysis) and the solver.

Reference values come from tests/reference/metafor_core.json, written by
tests/reference/metafor_core.R (metafor 3.8-1); no R is needed to run these tests.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jdmstats.meta._solver import METHODS, fit_batch
from jdmstats.meta.model import random_effects
from jdmstats.meta.subgroups import subgroup_analysis

REF = json.loads((Path(__file__).parent / "reference" / "metafor_core.json").read_text())
RTOL, ATOL = 1e-6, 1e-9
EST_METHODS = ("EE", "DL", "REML", "ML", "PM", "HE", "SJ", "EB")


def _num(x):
    if isinstance(x, (list, tuple, np.ndarray)):
        return np.array([_num(v) for v in np.ravel(np.asarray(x, dtype=object))], dtype=float)
    return np.nan if x is None or x == "NA" else float(x)


def close(actual, expected, rtol=RTOL, atol=ATOL):
    a, e = np.asarray(actual, float), np.asarray(_num(expected), float)
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True)


def _data(name):
    d = REF["datasets"][name]
    return np.asarray(d["yi"], float), np.asarray(d["vi"], float)


UNI = REF["univariate"]
FIELDS = "estimate se statistic pvalue ci_low ci_high tau2 se_tau2 i2 h2 q q_pvalue".split()


# --------------------------------------------------------------------------- reference
@pytest.mark.reference
@pytest.mark.parametrize("row", UNI, ids=[f"{r['dataset']}-{r['method']}-{r['test']}" for r in UNI])
def test_random_effects_matches_metafor(row):
    yi, vi = _data(row["dataset"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = random_effects(yi, vi, method=row["method"], test=row["test"])
    assert fit.k == row["k"]
    for f in FIELDS:
        close(getattr(fit, f), row[f])
    close(fit.weights, row["weights"])
    if row["method"] != "EE":  # metafor's predict gives no PI for EE models
        close(fit.pi_low, row["pi_low"])
        close(fit.pi_high, row["pi_high"])
        for f in ("tau2_ci_low", "tau2_ci_high", "i2_ci_low", "i2_ci_high"):
            close(getattr(fit, f), row[f])
        ci = fit.confint()
        close(ci.loc["H2", "ci_low"], row["h2_ci_low"])
        close(ci.loc["H2", "ci_high"], row["h2_ci_high"])


@pytest.mark.reference
def test_reference_grid_complete():
    g = REF["grid"]
    assert set(g["methods"]) == set(EST_METHODS)
    assert len(g["datasets"]) >= 8
    have = {(r["dataset"], r["method"], r["test"]) for r in UNI}
    for d in g["datasets"]:
        tests = list(g["tests"]) + (["adhoc"] if d in g["adhoc_datasets"] else [])
        for m in g["methods"]:
            for t in tests:
                assert (d, m, t) in have, (d, m, t)
    cases = {(r["case"], r["method"], r["test"]) for r in REF["metareg"]}
    for c in g["metareg_cases"]:
        for m in g["methods"]:
            for t in g["tests"]:
                assert (c, m, t) in cases
    assert {"approx_bcg_ablat_REML", "exact_bcg6_ablat_DL"} <= set(REF["permutation"])
    # several proportion datasets, some with zero events
    measures = " ".join(d["measure"] for d in REF["datasets"].values())
    assert measures.count("PLO") + measures.count("PR") >= 3 and "zero" in measures


@pytest.mark.reference
@pytest.mark.parametrize("row", REF["subgroup"], ids=lambda r: f"{r['method']}-{r['test']}")
def test_subgroup_matches_metafor(row):
    yi, vi = _data("bcg_RR")
    alloc = REF["datasets"]["bcg_RR"]["alloc"]
    res = subgroup_analysis(yi, vi, alloc, method=row["method"], test=row["test"])
    assert res.groups == row["groups"]
    for j, g in enumerate(row["groups"]):
        fit = res.fits[g]
        close(fit.estimate, row["estimate"][j])
        close(fit.se, row["se"][j])
        close(fit.ci_low, row["ci_low"][j])
        close(fit.ci_high, row["ci_high"][j])
        close(fit.tau2, row["tau2"][j])
    close(res.q_between, row["q_between"])
    close(res.q_between_pvalue, row["q_between_pvalue"])
    close(res.qm, row["qm"])
    close(res.qm_pvalue, row["qm_pvalue"])
    assert "subgroup differences" in repr(res)
    assert list(res.summary().index) == row["groups"]


@pytest.mark.reference
@pytest.mark.parametrize("method", ["DL", "REML"])
def test_subgroup_moderator_test_matches_metafor(method):
    """``test="z", moderator_test="knha"``: the subgroup fits and Q_between of metafor's z
    fits, the F test of its knha meta-regression, in one call."""
    yi, vi = _data("bcg_RR")
    alloc = REF["datasets"]["bcg_RR"]["alloc"]
    rows = {r["test"]: r for r in REF["subgroup"] if r["method"] == method}
    res = subgroup_analysis(yi, vi, alloc, method=method, test="z", moderator_test="knha")
    for j, g in enumerate(rows["z"]["groups"]):
        close(res.fits[g].se, rows["z"]["se"][j])
        close(res.fits[g].ci_low, rows["z"]["ci_low"][j])
    close(res.q_between, rows["z"]["q_between"])
    close(res.q_between_pvalue, rows["z"]["q_between_pvalue"])
    close(res.qm, rows["knha"]["qm"])
    close(res.qm_pvalue, rows["knha"]["qm_pvalue"])
    assert (res.test, res.moderator_test) == ("z", "knha")
    assert "Moderator test (common tau^2): F(" in repr(res)
    assert subgroup_analysis(yi, vi, alloc, method=method).moderator_test == "z"


# --------------------------------------------------------------------------- batch solver
@pytest.mark.parametrize("method", METHODS)
def test_batch_equals_single_fits(method):
    """Masked rows of one batch give the same fits as separate calls (leave-one-out)."""
    yi, vi = _data("molloy_ZCOR")
    k = yi.size
    mask = ~np.eye(k, dtype=bool)
    batch = fit_batch(yi, vi, mask=mask, method=method)
    for i in range(k):
        one = fit_batch(np.delete(yi, i), np.delete(vi, i), method=method)
        close(batch.tau2[i], one.tau2[0], rtol=1e-8)
        close(batch.beta[i], one.beta[0], rtol=1e-8)
        close(batch.qe[i], one.qe[0], rtol=1e-8)
        assert batch.weights[i, i] == 0
    assert batch.k.tolist() == [k - 1] * k


def test_large_k_runs_linear_memory():
    rng = np.random.default_rng(1)
    k = 200_000
    vi = rng.uniform(0.01, 0.1, k)
    yi = rng.normal(0.3, np.sqrt(vi + 0.05))
    fit = fit_batch(yi, vi, method="REML")
    assert fit.converged[0]
    assert abs(fit.tau2[0] - 0.05) < 0.005


# --------------------------------------------------------------------------- properties
def _arrays(min_k=3, max_k=12):
    return st.integers(min_k, max_k).flatmap(
        lambda k: st.tuples(
            st.lists(st.floats(-3, 3, allow_nan=False), min_size=k, max_size=k),
            st.lists(st.floats(0.005, 1.0), min_size=k, max_size=k),
        )
    )


PROP = settings(max_examples=25, derandomize=True, deadline=None)


@PROP
@given(_arrays(), st.sampled_from(EST_METHODS), st.randoms(use_true_random=False))
def test_order_invariance(data, method, rnd):
    yi, vi = map(np.array, data)
    idx = list(range(yi.size))
    rnd.shuffle(idx)
    a = random_effects(yi, vi, method=method)
    b = random_effects(yi[idx], vi[idx], method=method)
    close(b.estimate, a.estimate, rtol=1e-7, atol=1e-8)
    close(b.tau2, a.tau2, rtol=1e-6, atol=1e-8)
    close(b.q, a.q, rtol=1e-7, atol=1e-8)


@PROP
@given(_arrays(), st.sampled_from(EST_METHODS), st.floats(-50, 50))
def test_location_equivariance(data, method, shift):
    yi, vi = map(np.array, data)
    a = random_effects(yi, vi, method=method)
    b = random_effects(yi + shift, vi, method=method)
    close(b.estimate, a.estimate + shift, rtol=1e-7, atol=1e-7)
    close(b.tau2, a.tau2, rtol=1e-6, atol=1e-8)
    close(b.se, a.se, rtol=1e-6, atol=1e-8)


@PROP
@given(_arrays(), st.sampled_from(EST_METHODS), st.floats(0.1, 20))
def test_scale_equivariance(data, method, c):
    """yi*c, vi*c^2 -> tau2*c^2 for every estimator (all are scale equivariant)."""
    yi, vi = map(np.array, data)
    a = random_effects(yi, vi, method=method)
    b = random_effects(yi * c, vi * c**2, method=method)
    close(b.estimate, a.estimate * c, rtol=1e-6, atol=1e-8)
    close(b.tau2, a.tau2 * c**2, rtol=1e-5, atol=1e-8)
    close(b.i2, a.i2, rtol=1e-5, atol=1e-7)


@PROP
@given(_arrays(), st.sampled_from(EST_METHODS), st.sampled_from(["z", "knha", "adhoc"]))
def test_intervals_nest(data, method, test):
    yi, vi = map(np.array, data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = random_effects(yi, vi, method=method, test=test)
    assert fit.tau2 >= 0
    assert fit.ci_low <= fit.estimate <= fit.ci_high
    assert fit.pi_low <= fit.ci_low + 1e-12 and fit.ci_high <= fit.pi_high + 1e-12
    if method != "EE":
        assert fit.tau2_ci_low <= fit.tau2_ci_high
    if test == "adhoc":
        wald = random_effects(yi, vi, method=method, test="knha")
        assert fit.ci_high - fit.ci_low >= wald.ci_high - wald.ci_low - 1e-12


# --------------------------------------------------------------------------- edge cases
def test_k1_pooled_is_study_and_heterogeneity_undefined():
    with pytest.warns(UserWarning, match="undefined"):
        fit = random_effects([0.4], [0.04])
    assert fit.estimate == 0.4 and fit.se == pytest.approx(0.2)
    assert np.isnan(fit.tau2) and np.isnan(fit.i2) and np.isnan(fit.q)
    assert fit.ci_low == pytest.approx(0.4 - 1.959963984540054 * 0.2)


@pytest.mark.parametrize("method", EST_METHODS)
def test_identical_effects_give_zero_tau2(method):
    fit = random_effects([0.3] * 5, [0.01, 0.02, 0.05, 0.1, 0.03], method=method)
    assert fit.tau2 == 0
    assert fit.estimate == pytest.approx(0.3)
    assert fit.i2 == 0 and fit.q == pytest.approx(0, abs=1e-20)


def test_zero_and_all_events_proportions_are_finite():
    # logit with 1/2 added to 0 and n events (as escalc PLO, add=1/2, to="only0")
    x = np.array([0, 3, 10, 7]).astype(float)
    n = np.array([10, 12, 10, 20]).astype(float)
    cc = np.where((x == 0) | (x == n), 0.5, 0.0)
    xa, na = x + cc, n + 2 * cc
    yi = np.log(xa / (na - xa))
    vi = 1 / xa + 1 / (na - xa)
    for m in EST_METHODS:
        fit = random_effects(yi, vi, method=m)
        assert np.isfinite([fit.estimate, fit.se, fit.tau2]).all()


def test_huge_and_tiny_variances():
    yi = np.array([0.1, 0.5, 0.3, -0.2, 0.9])
    vi = np.array([1e-6, 1e4, 0.05, 1e-5, 3e3])
    for m in EST_METHODS:
        fit = random_effects(yi, vi, method=m)
        assert np.isfinite([fit.estimate, fit.se, fit.tau2, fit.i2]).all()
        assert fit.tau2 >= 0


def test_nonconvergence_warns_and_falls_back_to_dl():
    yi, vi = _data("bcg_RR")
    with pytest.warns(RuntimeWarning, match="REML.*did not converge.*DL"):
        fit = random_effects(yi, vi, method="REML", control={"maxiter": 1})
    assert fit.fallback == "DL" and not fit.converged
    dl = random_effects(yi, vi, method="DL")
    assert fit.tau2 == pytest.approx(dl.tau2)


@pytest.mark.parametrize(
    "vi, match",
    [([0.1, np.nan, 0.2], r"'b'.*nan"), ([0.1, 0.2, -0.3], r"'c'.*-0\.3")],
)
def test_bad_variances_name_the_study(vi, match):
    with pytest.raises(ValueError, match=match):
        random_effects([0.1, 0.2, 0.3], vi, labels=["a", "b", "c"])


def test_bad_arguments():
    with pytest.raises(ValueError, match="accepted"):
        random_effects([0.1, 0.2], [0.1, 0.1], method="XYZ")
    with pytest.raises(ValueError, match="accepted"):
        random_effects([0.1, 0.2], [0.1, 0.1], test="t2")
    with pytest.raises(ValueError, match="k = 0"):
        random_effects([], [])
    with pytest.raises(ValueError, match="3 values but vi has 2"):
        random_effects([0.1, 0.2, 0.3], [0.1, 0.1])


def test_result_object_behaviour():
    yi, vi = _data("normand_SMD")
    fit = random_effects(yi, vi, method="REML", test="knha")
    assert "tau^2" in repr(fit) and "PI" in repr(fit)
    assert fit.summary().shape[0] == 1
    d = fit.to_dict()
    assert d["method"] == "REML" and isinstance(d["yi"], list)
    assert "<table" in fit._repr_html_()
    assert fit.df == yi.size - 1
    with pytest.raises(AttributeError):
        fit.tau2 = 1.0  # frozen
    assert fit.weights.sum() == pytest.approx(100)


@pytest.mark.reference
@pytest.mark.parametrize("test", ["knha", "adhoc", "z"])
def test_identical_effects_match_metafor(test):
    """All effects identical: knha's scale is 0, so se = 0 and the statistic is infinite (metafor)."""
    ref = json.loads(Path(__file__).with_name("reference").joinpath("metafor_edge.json").read_text())
    case = ref["identical_effects"]
    fit = random_effects(case["yi"], case["vi"], method="REML", test=test)
    for field in ("estimate", "se", "statistic", "pvalue", "ci_low", "ci_high", "tau2"):
        expected = float(case[test][field])  # "Inf" parses to inf
        got = getattr(fit, field)
        if np.isinf(expected):
            assert got == expected, field
        else:
            assert got == pytest.approx(expected, rel=1e-6, abs=1e-12), field
