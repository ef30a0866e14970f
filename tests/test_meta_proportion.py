"""Tests for jdmstats.meta.proportions (IV and GLMM meta-analysis of proportions)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jdmstats.meta.proportions import ProportionResult, proportion

REF = json.loads((Path(__file__).parent / "reference" / "metafor_proportions.json").read_text())
PROPS = REF["datasets"]["props"]
HYP = settings(max_examples=25, derandomize=True, deadline=None)
TRANSFORM = {"PLO": "logit", "PAS": "arcsine", "PFT": "freeman-tukey", "PR": "raw"}


def _rel(a, b, floor=1e-9):
    return abs(a - b) / max(abs(b), floor) if abs(a - b) > 1e-12 else 0.0


def _fit(d, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return proportion(d["xi"], d["ni"], **kw)


@pytest.mark.reference
@pytest.mark.parametrize(
    "case",
    REF["rma"],
    ids=[f"{c['dataset']}-{c['measure']}-{c['method']}-{c['test']}" for c in REF["rma"]],
)
def test_iv_matches_metafor(case):
    res = _fit(
        PROPS[case["dataset"]],
        transform=TRANSFORM[case["measure"]],
        method=case["method"],
        test=case["test"],
    )
    pairs = {
        "beta": res.estimate_t,
        "se": res.se_t,
        "ci_lb": res.ci_low_t,
        "ci_ub": res.ci_high_t,
        "pval": res.pvalue,
        "QE": res.q,
        "QEp": res.q_pvalue,
        "pi_lb": res.pi_low_t,
        "pi_ub": res.pi_high_t,
        "pred_prop": res.estimate,
        "ci_lb_prop": res.ci_low,
        "ci_ub_prop": res.ci_high,
        "pi_lb_prop": res.pi_low,
        "pi_ub_prop": res.pi_high,
    }
    for name, value in pairs.items():
        assert _rel(value, case[name]) < 1e-6, (name, value, case[name])
    if case["tau2"] < 1e-8:
        # tau^2 on the boundary: metafor stops at ~1e-12 rather than exactly 0
        assert res.tau2 < 1e-8 and res.i2 < 1e-3
    else:
        for name, value in {"tau2": res.tau2, "I2": res.i2, "H2": res.h2}.items():
            assert _rel(value, case[name]) < 1e-6, (name, value, case[name])


@pytest.mark.reference
@pytest.mark.parametrize(
    "case", REF["glmm"], ids=[f"{c['dataset']}-nAGQ{c['nAGQ']}-{c['test']}" for c in REF["glmm"]]
)
def test_glmm_back_transformed_matches_metafor(case):
    res = _fit(PROPS[case["dataset"]], model="glmm", n_nodes=case["nAGQ"], test=case["test"])
    assert _rel(res.estimate, case["pred_prop"]) < 1e-4
    # CI/PI depend on the SE; see test_meta_glmm for the Laplace (nAGQ=1) tolerance
    tol = 1e-4 if case["nAGQ"] == 7 else 1e-3
    for name, value in {
        "ci_lb_prop": res.ci_low,
        "ci_ub_prop": res.ci_high,
        "pi_lb_prop": res.pi_low,
        "pi_ub_prop": res.pi_high,
    }.items():
        assert _rel(value, case[name]) < tol, (name, value, case[name])
    assert _rel(res.q, case["QE_Wld"]) < 1e-4


@pytest.mark.reference
def test_reference_grid_complete():
    g = REF["grid"]
    have = {(c["dataset"], c["measure"], c["method"], c["test"]) for c in REF["rma"]}
    want = {
        (d, m, me, t)
        for d in g["rma_datasets"]
        for m in g["rma_measures"]
        for me in g["rma_methods"]
        for t in g["rma_tests"]
    }
    assert have == want
    assert len(g["rma_datasets"]) >= 4
    assert any(0 in PROPS[d]["xi"] for d in g["rma_datasets"])
    assert any(
        x == n
        for d in g["rma_datasets"]
        for x, n in zip(PROPS[d]["xi"], PROPS[d]["ni"], strict=True)
    )
    for key in ("versions", "escalc", "ci", "glmm", "rma", "conv", "transf"):
        assert key in REF
    assert {"R", "metafor", "metadat", "lme4"} <= set(REF["versions"])


# --------------------------------------------------------------------------- behaviour


def test_result_fields_and_rendering():
    d = PROPS["pritz1997"]
    res = _fit(d)
    assert isinstance(res, ProportionResult)
    assert res.k == len(d["xi"]) and res.model == "iv" and res.transform == "logit"
    assert res.fit.method == "REML"
    np.testing.assert_allclose(res.study_prop, np.array(d["xi"]) / np.array(d["ni"]))
    assert np.all(res.study_ci_low <= res.study_prop) and np.all(
        res.study_prop <= res.study_ci_high
    )
    df = res.summary()  # the pooled estimate only; the studies are in studies()
    assert df.shape[0] == 1 and df.index[0].startswith("Pooled")
    assert res.studies().shape[0] == res.k
    text = repr(res)
    assert "Pooled proportion" in text and "PI" in text and "tau^2" in text
    assert "continuity correction" in text.lower()  # pritz1997 has all-event studies
    assert res.cc_studies == tuple(
        str(i + 1) for i, (x, n) in enumerate(zip(d["xi"], d["ni"], strict=True)) if x == n
    )
    assert set(res.to_dict()) >= {"estimate", "ci_low", "pi_high", "cc_applied"}
    assert "<b>" in res._repr_html_()


def test_glmm_has_no_continuity_correction():
    res = _fit(PROPS["nielweise2007_trt"], model="glmm")
    assert not res.cc_applied.any() and res.cc_value == 0.0 and res.weights is None
    assert res.method == "ML" and res.fit.n_nodes == 7


def test_freeman_tukey_warns():
    d = PROPS["debruin2009"]
    with pytest.warns(UserWarning, match="Freeman-Tukey"):
        res = proportion(d["xi"], d["ni"], transform="freeman-tukey")
    assert any("Freeman-Tukey" in n for n in res.notes)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"study 2 \(label 'C'\).*events larger than total"):
        proportion([1, 2, 9], [5, 5, 8], labels=["A", "B", "C"])
    with pytest.raises(ValueError, match="accepted: iv, glmm"):
        proportion([1, 2], [5, 5], model="bayes")
    with pytest.raises(ValueError, match="accepted: z, t"):
        proportion([1, 2], [5, 5], model="glmm", test="knha")
    with pytest.raises(ValueError, match="accepted"):
        proportion([1, 2], [5, 5], transform="probit")
    with pytest.raises(ValueError, match="k = 0"):
        proportion([], [])


def test_k1():
    with pytest.warns(UserWarning):
        res = proportion([3], [10])
    np.testing.assert_allclose(res.estimate, 0.3)
    assert np.isnan(res.tau2)
    with pytest.warns(RuntimeWarning, match="k = 1"):
        res = proportion([3], [10], model="glmm")
    np.testing.assert_allclose(res.estimate, 0.3)


def test_zero_and_all_events_both_models():
    x, n = [0, 4, 12, 7], [15, 20, 12, 30]
    iv = _fit({"xi": x, "ni": n})
    gl = _fit({"xi": x, "ni": n}, model="glmm")
    for r in (iv, gl):
        assert 0 < r.ci_low < r.estimate < r.ci_high < 1
    assert iv.cc_applied.tolist() == [True, False, True, False]


studies = st.lists(
    st.integers(min_value=1, max_value=300).flatmap(
        lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
    ),
    min_size=2,
    max_size=10,
)


@HYP
@given(
    studies,
    st.sampled_from(["logit", "arcsine", "freeman-tukey", "glmm"]),
    st.sampled_from(["z", "knha"]),
)
def test_properties(data, transform, test):
    x = np.array([a for a, _ in data], float)
    n = np.array([b for _, b in data], float)
    kw = {"transform": transform, "test": test}
    if transform == "glmm":
        if np.all(x == 0) or np.all(x == n):
            return
        kw = {"model": "glmm", "test": "t" if test == "knha" else "z"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = proportion(x, n, **kw)
        perm = proportion(x[::-1], n[::-1], **kw)
    vals = np.array([res.estimate, res.ci_low, res.ci_high, res.pi_low, res.pi_high])
    assert np.all((vals >= 0) & (vals <= 1))
    assert res.ci_low <= res.estimate <= res.ci_high
    assert res.pi_low <= res.ci_low + 1e-12 and res.ci_high <= res.pi_high + 1e-12
    assert res.tau2 >= 0
    if res.fit.converged and perm.fit.converged:
        assert abs(res.estimate - perm.estimate) < 1e-6
