"""Tests for jdmstats.meta.glmm.binomial_glmm (metafor rma.glmm, measure="PLO")."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jdmstats.meta.glmm import _AGHQ, GLMMResult, binomial_glmm

REF = json.loads((Path(__file__).parent / "reference" / "metafor_proportions.json").read_text())
PROPS = REF["datasets"]["props"]
HYP = settings(max_examples=25, derandomize=True, deadline=None)

# quantities whose value does not depend on the Hessian
_POINT = {
    "beta": "estimate",
    "tau2": "tau2",
    "I2": "i2",
    "H2": "h2",
    "QE_Wld": "qe_wald",
    "QE_LRT": "qe_lrt",
    "QEp_Wld": "qe_wald_pvalue",
    "QEp_LRT": "qe_lrt_pvalue",
}
_SE = {
    "se": "se",
    "zval": "statistic",
    "pval": "pvalue",
    "ci_lb": "ci_low",
    "ci_ub": "ci_high",
    "pi_lb": "pi_low",
    "pi_ub": "pi_high",
}


def _rel(a, b):
    return abs(a - b) / max(abs(b), 1e-9)


@pytest.mark.reference
@pytest.mark.parametrize(
    "case", REF["glmm"], ids=[f"{c['dataset']}-nAGQ{c['nAGQ']}-{c['test']}" for c in REF["glmm"]]
)
def test_matches_rma_glmm(case):
    d = PROPS[case["dataset"]]
    fit = binomial_glmm(d["xi"], d["ni"], n_nodes=case["nAGQ"], test=case["test"])
    assert fit.converged
    for r_name, py_name in _POINT.items():
        assert _rel(getattr(fit, py_name), case[r_name]) < 1e-4, (r_name, case[r_name])
    # Laplace (nAGQ=1): lme4's finite-difference Hessian of a deviance whose inner PIRLS
    # modes are only converged to ~1e-7 is noisy; our Hessian of the same (exact) Laplace
    # likelihood differs by up to 6e-4 in the SE.  nAGQ=7 (metafor's default) agrees to 1e-4.
    tol = 1e-4 if case["nAGQ"] == 7 else 1e-3
    for r_name, py_name in _SE.items():
        if r_name == "pval" and case[r_name] < 1e-12:
            continue
        assert _rel(getattr(fit, py_name), case[r_name]) < tol, (r_name, case[r_name])
    assert fit.qe_df == case["QE_df"]
    if case["nAGQ"] == 1:
        # lme4's logLik matches ours for the Laplace approximation (binomial constants incl.)
        assert _rel(fit.loglik, case["loglik_lme4"]) < 1e-6


@pytest.mark.reference
def test_glmm_grid_complete():
    g = REF["grid"]
    have = {(c["dataset"], c["nAGQ"], c["test"]) for c in REF["glmm"]}
    want = {(d, q, t) for d in g["glmm_datasets"] for q in g["glmm_nAGQ"] for t in g["glmm_tests"]}
    assert have == want
    assert len(g["glmm_datasets"]) >= 4
    zero = [d for d in g["glmm_datasets"] if 0 in PROPS[d]["xi"]]
    assert zero, "a dataset with zero-event studies is part of the grid"


def test_analytic_gradient_matches_finite_differences():
    d = PROPS["edge"]
    for nodes in (1, 7):
        m = _AGHQ(np.array(d["xi"], float), np.array(d["ni"], float), nodes)
        for beta, tau in [(-0.5, 0.7), (0.4, 1.8)]:
            _, gb, gt = m.value_grad(beta, tau)
            h = 1e-5
            fb = m.value_grad(beta + h, tau, False)[0] - m.value_grad(beta - h, tau, False)[0]
            ft = m.value_grad(beta, tau + h, False)[0] - m.value_grad(beta, tau - h, False)[0]
            np.testing.assert_allclose([gb, gt], [fb / (2 * h), ft / (2 * h)], rtol=1e-5, atol=1e-7)


def _count(n):
    """Events for a study of n: 0, n or anything in between."""
    return st.one_of(st.just(0), st.just(n), st.integers(min_value=0, max_value=n))


hess_data = st.lists(
    st.integers(min_value=1, max_value=500).flatmap(lambda n: st.tuples(_count(n), st.just(n))),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    hess_data,
    st.floats(min_value=-4, max_value=3),
    st.floats(min_value=0.05, max_value=3),
    st.sampled_from([1, 7, 15]),
)
def test_analytic_hessian_matches_richardson_differences(data, beta, tau, nodes):
    """value_grad_hess: the same log-likelihood and gradient as value_grad, and a Hessian
    equal to Richardson-extrapolated central differences of value_grad's analytic gradient
    (steps h and h/2, h = 2e-4 max(1, tau): truncation O(h^4) stays below 1e-9 down to
    tau = 0.05, where h = 1e-3 reached 2e-7)."""
    x = np.array([a for a, _ in data], float)
    n = np.array([b for _, b in data], float)
    m = _AGHQ(x, n, nodes)
    ll, grad, H = m.value_grad_hess(beta, tau)
    ll0, gb, gt = m.value_grad(beta, tau)
    assert abs(ll - ll0) <= 1e-12 * max(1.0, abs(ll0))
    np.testing.assert_allclose(grad, [gb, gt], rtol=1e-10, atol=1e-10)
    assert H.shape == (2, 2) and H[0, 1] == H[1, 0]

    def fd(h):
        out = np.empty((2, 2))
        for j, (db, dt) in enumerate(((h, 0.0), (0.0, h))):
            g1 = np.array(m.value_grad(beta + db, tau + dt)[1:])
            g0 = np.array(m.value_grad(beta - db, tau - dt)[1:])
            out[:, j] = (g1 - g0) / (2 * h)
        return 0.5 * (out + out.T)

    h = 2e-4 * max(1.0, tau)
    ref = (4.0 * fd(h / 2) - fd(h)) / 3.0
    assert np.max(np.abs(H - ref) / np.maximum(1.0, np.abs(ref))) < 1e-7


def test_modes_converge_where_newton_oscillates():
    """0 events out of 215 with beta = 2.68, tau = 1.22: plain Newton on g'(u) alternates
    between u ~ -12 and u ~ 0 (g' nearly piecewise linear); the bisection fallback finds the
    root."""
    from scipy.special import expit

    from jdmstats.meta.glmm import _modes

    x, n, beta, tau = np.array([0.0]), np.array([215.0]), 2.676266953228475, 1.222766069722223
    u = _modes(x, n, beta, tau)
    assert abs(tau * (x - n * expit(beta + tau * u)) - u)[0] < 1e-10


def test_more_nodes_converge():
    d = PROPS["pritz1997"]
    a = binomial_glmm(d["xi"], d["ni"], n_nodes=15)
    b = binomial_glmm(d["xi"], d["ni"], n_nodes=31)
    assert _rel(a.estimate, b.estimate) < 1e-6 and _rel(a.tau2, b.tau2) < 1e-5


def test_zero_and_all_events_work():
    fit = binomial_glmm([0, 0, 5, 10, 12], [10, 15, 20, 10, 30])
    assert isinstance(fit, GLMMResult) and fit.converged
    assert np.isfinite([fit.estimate, fit.se, fit.tau2, fit.qe_wald, fit.qe_lrt]).all()


def test_all_zero_events_refused():
    with pytest.raises(ValueError, match="no events"):
        binomial_glmm([0, 0, 0], [10, 20, 30])
    with pytest.raises(ValueError, match="only events"):
        binomial_glmm([10, 20], [10, 20])


def test_events_larger_than_totals():
    with pytest.raises(ValueError, match=r"study 1 .*events larger than total"):
        binomial_glmm([1, 30], [10, 20])


def test_k1_warns_and_fixes_tau2():
    with pytest.warns(RuntimeWarning, match="k = 1"):
        fit = binomial_glmm([4], [20])
    assert fit.tau2 == 0 and np.isnan(fit.i2) and np.isnan(fit.qe_wald)
    np.testing.assert_allclose(fit.estimate, np.log(4 / 16))
    np.testing.assert_allclose(fit.se, np.sqrt(1 / 4 + 1 / 16))


def test_homogeneous_data_boundary():
    fit = binomial_glmm([10, 10, 10, 10], [50, 50, 50, 50])
    assert fit.tau2 == 0.0 and "boundary" in fit.note
    np.testing.assert_allclose(fit.estimate, np.log(40 / 160))
    np.testing.assert_allclose(fit.se, np.sqrt(1 / (200 * 0.2 * 0.8)))


def test_nonconvergence_warns():
    d = PROPS["hannum2020"]
    with pytest.warns(RuntimeWarning, match="did not converge"):
        fit = binomial_glmm(d["xi"], d["ni"], control={"maxiter": 1})
    assert not fit.converged


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_nodes"):
        binomial_glmm([1, 2], [5, 5], n_nodes=0)
    with pytest.raises(ValueError, match="accepted: z, t"):
        binomial_glmm([1, 2], [5, 5], test="knha")
    with pytest.raises(ValueError, match="control"):
        binomial_glmm([1, 2], [5, 5], control={"threshold": 1})


def test_repr_and_summary():
    d = PROPS["debruin2009"]
    fit = binomial_glmm(d["xi"], d["ni"])
    text = repr(fit)
    assert "Binomial-Normal" in text and "tau^2" in text and "LRT" in text
    assert list(fit.summary().index) == ["intrcpt"]
    assert set(fit.to_dict()) >= {"estimate", "tau2", "qe_wald"}


studies = st.lists(
    st.integers(min_value=2, max_value=200).flatmap(
        lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
    ),
    min_size=2,
    max_size=12,
).filter(lambda s: len({a == 0 for a, _ in s}) > 1 or any(0 < a < b for a, b in s))


@HYP
@given(studies)
def test_properties(data):
    x = np.array([a for a, _ in data], float)
    n = np.array([b for _, b in data], float)
    if np.all(x == n):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = binomial_glmm(x, n)
        rev = binomial_glmm(x[::-1], n[::-1])
    assert fit.tau2 >= 0
    assert fit.ci_low <= fit.estimate <= fit.ci_high
    assert fit.pi_low <= fit.ci_low and fit.ci_high <= fit.pi_high
    if fit.converged and rev.converged and abs(fit.estimate) < 8:
        assert abs(fit.estimate - rev.estimate) < 1e-6 * max(1, abs(fit.estimate))
        assert abs(fit.tau2 - rev.tau2) < 1e-5 * max(1, fit.tau2)


def test_boundary_maximum_beats_an_interior_local_maximum():
    """x = 18/79, 1/31, 31/184: the likelihood has an interior local maximum (tau^2 ~ 0.049,
    logL ~ -9.5913) below its boundary value (tau^2 = 0, logL ~ -9.5806). metafor 3.8-1
    rma.glmm(measure="PLO", method="ML", bobyqa rhoend 1e-12) gives tau^2 = 0 and these values
    (the north_america subgroup of tests/reference/analyses_reference.json, 2026-12-03)."""
    import warnings

    from jdmstats.meta.proportions import proportion

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = proportion([18, 1, 31], [79, 31, 184], model="glmm")
    assert fit.tau2 == 0.0
    assert abs(fit.estimate / 0.170068027590367 - 1) < 1e-6
    assert abs(fit.ci_low / 0.131312543697094 - 1) < 1e-6
    assert abs(fit.ci_high / 0.217399215821793 - 1) < 1e-6


@pytest.mark.parametrize("name", sorted(PROPS))
def test_standard_error_does_not_depend_on_the_order_of_the_studies(name):
    """The SE comes from the Hessian at the estimate; with one central difference of the
    gradient (h = 1e-5) its roundoff reached 1e-11 relative between orderings of the same
    studies (and between CPUs), enough to change the 10th digit written in the tables.  The
    analytic Hessian keeps it below 1e-12."""
    d = PROPS[name]
    x, n = np.asarray(d["xi"]), np.asarray(d["ni"])
    rng = np.random.default_rng(7)
    fits = [binomial_glmm(x[p], n[p]) for p in (rng.permutation(x.size) for _ in range(8))]
    se = np.array([f.se for f in fits])
    assert fits[0].tau2 > 0 and np.all(np.isfinite(se))  # the SE is the Hessian's
    assert (se.max() - se.min()) / se.mean() < 1e-12
