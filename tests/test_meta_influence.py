"""Tests of jdmstats.meta.diagnostics against metafor 3.8-1 (tests/reference/metafor_diagnostics.*)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jdmstats.meta.diagnostics import InfluenceResult, baujat, cumulative, influence, leave_one_out
from jdmstats.meta.model import random_effects

REF = json.loads((Path(__file__).parent / "reference" / "metafor_diagnostics.json").read_text())
CASES = REF["cases"]
IDS = [f"{c['dataset']}-{c['method']}-{c['test']}" for c in CASES]
RTOL = 1e-6
# absolute floors for values that are (numerically) zero: tau^2 on the boundary is ~1e-14 in
# both programs; I^2 is in percent.
ATOL = {"i2": 1e-7, "I2": 1e-7}


def _arr(x):
    return np.array([np.nan if v is None else v for v in np.atleast_1d(x)], dtype=float)


def assert_ref(actual, expected, name=""):
    a = np.asarray(actual, dtype=float)
    b = _arr(expected)
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL.get(name, 1e-9), err_msg=name)


def _fit(case):
    ds = REF["datasets"][case["dataset"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # EE + knha warns (as metafor)
        return random_effects(
            ds["yi"], ds["vi"], method=case["method"], test=case["test"], labels=ds["slab"]
        )


def _stat(case):
    return "statistic"


COLS = [
    ("estimate", "estimate"),
    ("se", "se"),
    (None, "stat"),
    ("pvalue", "pval"),
    ("ci_low", "ci_lb"),
    ("ci_high", "ci_ub"),
    ("q", "Q"),
    ("q_pvalue", "Qp"),
    ("tau2", "tau2"),
    ("i2", "I2"),
    ("h2", "H2"),
]


# --------------------------------------------------------------------------- reference
@pytest.mark.reference
def test_grid_complete():
    grid = REF["grid"]
    assert len(grid["datasets"]) >= 5
    assert set(grid["methods"]) >= {"EE", "DL", "REML"}
    assert set(grid["tests"]) == {"z", "knha"}
    have = {(c["dataset"], c["method"], c["test"]) for c in CASES}
    want = {(d, m, t) for d in grid["datasets"] for m in grid["methods"] for t in grid["tests"]}
    assert have == want
    for c in CASES:
        k = len(REF["datasets"][c["dataset"]]["yi"])
        for part in ("leave1out", "influence", "cumul", "baujat"):
            assert part in c, (c["dataset"], part)
        assert len(c["leave1out"]["estimate"]) == k
        assert len(c["influence"]["rstudent"]) == k
        assert len(c["cumul"]["estimate"]) == k
        assert len(c["baujat"]["x"]) == k
    for key in ("R", "metafor", "metadat"):
        assert REF["versions"][key]


@pytest.mark.reference
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_leave_one_out_matches_metafor(case):
    loo = leave_one_out(_fit(case))
    ref = case["leave1out"]
    assert list(loo.index) == REF["datasets"][case["dataset"]]["slab"]
    for ours, theirs in COLS:
        assert_ref(loo[ours or _stat(case)], ref[theirs], theirs)
    assert (loo["k"] == len(loo) - 1).all()


@pytest.mark.reference
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_influence_matches_metafor(case):
    res = influence(_fit(case))
    assert isinstance(res, InfluenceResult)
    ref = case["influence"]
    pairs = [
        ("rstudent", "rstudent"),
        ("dffits", "dffits"),
        ("cook_d", "cook_d"),
        ("cov_r", "cov_r"),
        ("tau2_del", "tau2_del"),
        ("qe_del", "QE_del"),
        ("hat", "hat"),
        ("weight", "weight"),
        ("dfbs", "dfbs"),
    ]
    for ours, theirs in pairs:
        assert_ref(res.table[ours], ref[theirs], theirs)
    np.testing.assert_array_equal(res.inf, np.asarray(ref["inf"], dtype=bool))
    np.testing.assert_array_equal(res.table["inf"].to_numpy(), res.inf)


@pytest.mark.reference
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cumulative_matches_metafor(case):
    ds = REF["datasets"][case["dataset"]]
    cum = cumulative(_fit(case), order=ds["order_key"])
    ref = case["cumul"]
    np.testing.assert_array_equal(cum["position"].to_numpy() + 1, ref["order"])
    for ours, theirs in COLS:
        col = cum[ours or _stat(case)].to_numpy()
        if theirs in ("Q", "Qp", "tau2", "I2", "H2"):
            # first row is a single study: heterogeneity undefined (NaN), metafor 0/1 by convention
            assert np.isnan(col[0])
            assert_ref(col[1:], ref[theirs][1:], theirs)
        else:
            # single study: metafor uses a z-test even for knha models; so do we
            assert_ref(col, ref[theirs], theirs)


@pytest.mark.reference
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cumulative_last_row_is_metafor_full_fit(case):
    ds = REF["datasets"][case["dataset"]]
    last = cumulative(_fit(case), order=ds["order_key"]).iloc[-1]
    full = case["fit"]
    assert_ref(last["estimate"], full["estimate"], "estimate")
    assert_ref(last["se"], full["se"], "se")
    assert_ref(last["ci_low"], full["ci_lb"], "ci_lb")
    assert_ref(last["ci_high"], full["ci_ub"], "ci_ub")
    assert_ref(last["tau2"], full["tau2"], "tau2")
    assert_ref(last["q"], full["QE"], "QE")
    assert last["k"] == full["k"]


@pytest.mark.reference
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_baujat_matches_metafor(case):
    b = baujat(_fit(case))
    assert_ref(b["x"], case["baujat"]["x"], "x")
    assert_ref(b["y"], case["baujat"]["y"], "y")


@pytest.mark.reference
def test_bcg_influence_documented_example():
    """The example of metafor's influence.rma.uni help page (dat.bcg log RR, rma(yi, vi)):
    metafor (reference JSON) flags no study as influential."""
    case = next(c for c in CASES if (c["dataset"], c["method"], c["test"]) == ("bcg", "REML", "z"))
    res = influence(_fit(case))
    assert not any(case["influence"]["inf"])
    assert not res.inf.any()
    assert res.influential == []
    assert "Influence diagnostics" in repr(res)
    assert isinstance(res.summary(), pd.DataFrame)
    assert set(res.to_dict()) >= {"table", "inf", "k", "method"}


# --------------------------------------------------------------------------- properties
_effects = st.lists(
    st.tuples(
        st.floats(-2, 2, allow_nan=False, allow_infinity=False),
        st.floats(0.01, 1.0, allow_nan=False, allow_infinity=False),
    ),
    min_size=3,
    max_size=10,
)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(data=_effects, method=st.sampled_from(["EE", "DL", "REML"]), seed=st.integers(0, 10**6))
def test_leave_one_out_invariant_to_study_order(data, method, seed):
    yi = np.array([d[0] for d in data])
    vi = np.array([d[1] for d in data])
    labels = [f"s{i}" for i in range(yi.size)]
    perm = np.random.default_rng(seed).permutation(yi.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = leave_one_out(random_effects(yi, vi, method=method, labels=labels))
        b = leave_one_out(
            random_effects(yi[perm], vi[perm], method=method, labels=[labels[i] for i in perm])
        )
    pd.testing.assert_frame_equal(
        a.sort_index(), b.sort_index(), check_exact=False, rtol=1e-7, atol=1e-9
    )


@settings(max_examples=25, deadline=None, derandomize=True)
@given(data=_effects, method=st.sampled_from(["EE", "DL", "REML"]))
def test_cumulative_last_row_matches_model(data, method):
    yi = np.array([d[0] for d in data])
    vi = np.array([d[1] for d in data])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = random_effects(yi, vi, method=method)
        last = cumulative(fit, order=-vi).iloc[-1]
    np.testing.assert_allclose(
        [last["estimate"], last["se"], last["tau2"], last["q"]],
        [fit.estimate, fit.se, fit.tau2, fit.q],
        rtol=1e-7,
        atol=1e-9,
    )


@settings(max_examples=20, deadline=None, derandomize=True)
@given(data=_effects, method=st.sampled_from(["DL", "REML"]))
def test_influence_basic_properties(data, method):
    yi = np.array([d[0] for d in data])
    vi = np.array([d[1] for d in data])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = influence(random_effects(yi, vi, method=method))
    t = res.table
    assert np.isclose(t["hat"].sum(), 1.0)
    assert np.isclose(t["weight"].sum(), 100.0)
    assert (t["cook_d"] >= 0).all()
    assert (t["cov_r"] > 0).all()
    assert (t["tau2_del"] >= 0).all()


# --------------------------------------------------------------------------- edge cases
def test_k2_leave_one_out_gives_single_study_fits():
    yi, vi = np.array([0.2, 0.8]), np.array([0.04, 0.09])
    for test in ("z", "knha"):
        loo = leave_one_out(random_effects(yi, vi, method="REML", test=test))
        # omitting study 1 leaves study 2 (and vice versa): pooled = that study, z-based CI
        np.testing.assert_allclose(loo["estimate"], yi[::-1])
        np.testing.assert_allclose(loo["se"], np.sqrt(vi[::-1]))
        np.testing.assert_allclose(
            loo["ci_high"] - loo["estimate"], 1.959963984540054 * np.sqrt(vi[::-1])
        )
        for col in ("q", "q_pvalue", "tau2", "i2", "h2"):
            assert loo[col].isna().all(), col  # heterogeneity of one study: undefined
        assert (loo["k"] == 1).all()


def test_k2_influence_and_baujat_are_finite():
    yi, vi = np.array([0.2, 0.8]), np.array([0.04, 0.09])
    res = influence(random_effects(yi, vi, method="DL"))
    assert res.table["tau2_del"].isna().all()
    assert np.isfinite(res.table["rstudent"]).all()
    assert np.isfinite(baujat(random_effects(yi, vi, method="DL")).to_numpy()).all()


def test_identical_effects_zero_heterogeneity():
    yi, vi = np.full(5, 0.3), np.array([0.01, 0.02, 0.03, 0.04, 0.05])
    loo = leave_one_out(random_effects(yi, vi, method="REML"))
    np.testing.assert_allclose(loo["estimate"], 0.3)
    np.testing.assert_allclose(loo["tau2"], 0.0, atol=1e-12)
    np.testing.assert_allclose(loo["q"], 0.0, atol=1e-12)


def test_cumulative_default_order_and_bad_order():
    yi, vi = np.array([0.1, 0.5, 0.3]), np.array([0.02, 0.03, 0.04])
    fit = random_effects(yi, vi, method="DL")
    cum = cumulative(fit)
    assert cum["position"].tolist() == [0, 1, 2]
    assert cum["k"].tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="one sort key per study"):
        cumulative(fit, order=[1, 2])
    with pytest.raises(ValueError, match="study index 1"):
        cumulative(fit, order=[1.0, np.nan, 2.0])


def test_not_a_model_raises():
    with pytest.raises(TypeError, match="random_effects"):
        leave_one_out(object())


# ------------------------------------------------------------------ meta-regression models
MR_CASES = REF["influence_metareg"]
MR_IDS = [f"{c['dataset']}~{'+'.join(np.atleast_1d(c['mods']))}{'' if c['intercept'] else '-1'}"
          f"-{c['method']}-{c['test']}" for c in MR_CASES]  # fmt: skip
MR_COLS = [("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_d", "cook_d"),
           ("cov_r", "cov_r"), ("tau2_del", "tau2_del"), ("qe_del", "QE_del"), ("hat", "hat"),
           ("weight", "weight")]  # fmt: skip


def _metareg_fit(case):
    from jdmstats.meta.regression import metareg

    ds = REF["datasets"][case["dataset"]]
    mods = pd.DataFrame({m: ds["mods"][m] for m in np.atleast_1d(case["mods"])})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # EE + knha warns (as metafor)
        return metareg(ds["yi"], ds["vi"], mods, method=case["method"], test=case["test"],
                       labels=ds["slab"], intercept=case["intercept"])  # fmt: skip


@pytest.mark.reference
def test_metareg_influence_grid_complete():
    have = {(c["dataset"], tuple(np.atleast_1d(c["mods"])), c["intercept"], c["method"],
             c["test"]) for c in MR_CASES}  # fmt: skip
    assert len(have) == 5 * 3 * 2
    assert any(not c["intercept"] for c in MR_CASES)  # a model without intercept (p = 1)
    assert {m for _, m, _, _, _ in have} == {("ablat",), ("ablat", "year"), ("year",)}
    assert any(any(c["influence"]["inf"]) for c in MR_CASES)  # the flag is exercised


@pytest.mark.reference
@pytest.mark.parametrize("case", MR_CASES, ids=MR_IDS)
def test_metareg_influence_matches_metafor(case):
    fit = _metareg_fit(case)
    np.testing.assert_allclose(fit.beta, case["beta"], rtol=1e-7, atol=1e-10)
    inf = influence(fit)
    ref = case["influence"]
    for ours, theirs in MR_COLS:
        assert_ref(inf.table[ours].to_numpy(), ref[theirs], theirs)
    names = list(ref["dfbs"])
    assert [c for c in inf.table.columns if c.startswith("dfbs_")] == [f"dfbs_{n}" for n in names]
    for name in names:
        assert_ref(inf.table[f"dfbs_{name}"].to_numpy(), ref["dfbs"][name], f"dfbs {name}")
    np.testing.assert_array_equal(inf.inf, np.asarray(ref["inf"], dtype=bool))
    assert inf.p == fit.X.shape[1] and inf.k == len(ref["hat"])


def test_metareg_influence_hat_values_sum_to_p():
    fit = _metareg_fit(MR_CASES[1])
    inf = influence(fit)
    np.testing.assert_allclose(inf.table["hat"].sum(), inf.p, rtol=1e-12)
    np.testing.assert_allclose(inf.table["weight"].sum(), 100.0, rtol=1e-12)


def test_metareg_influence_needs_residual_df():
    from jdmstats.meta.regression import metareg

    fit = metareg([0.1, 0.5, 0.2], [0.01, 0.02, 0.03], pd.DataFrame({"x": [1.0, 2.0, 4.0]}),
                  method="DL")  # fmt: skip
    with pytest.raises(ValueError, match=r"need at least p \+ 2 = 4 studies \(k = 3\)"):
        influence(fit)


@pytest.mark.parametrize("name", ["leave_one_out", "cumulative", "baujat", "trim_and_fill"])
def test_methods_without_moderators_refuse_a_meta_regression(name):
    """metafor: 'Method only applicable to models without moderators' (never ignore them)."""
    import importlib

    module = "bias" if name == "trim_and_fill" else "diagnostics"
    func = getattr(importlib.import_module(f"jdmstats.meta.{module}"), name)
    fit = _metareg_fit(MR_CASES[0])
    with pytest.raises(ValueError, match="only defined for models without moderators"):
        func(fit)
