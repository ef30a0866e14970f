"""Tests of jdmstats.meta.regression (metareg, predict, permutation_test).

Reference values: tests/reference/metafor_core.json (metafor 3.8-1; see metafor_core.R).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jdmstats.meta.model import random_effects
from jdmstats.meta.regression import metareg, permutation_test

REF = json.loads((Path(__file__).parent / "reference" / "metafor_core.json").read_text())
RTOL, ATOL = 1e-6, 1e-9
BCG = REF["datasets"]["bcg_RR"]
YI, VI = np.asarray(BCG["yi"]), np.asarray(BCG["vi"])
MODS = {
    "bcg_ablat_year": pd.DataFrame({"ablat": BCG["ablat"], "year": BCG["year"]}),
    "bcg_alloc": pd.DataFrame({"alloc": BCG["alloc"]}),
}
NEW = {
    "bcg_ablat_year": pd.DataFrame(REF["newmods"]["bcg_ablat_year"]),
    "bcg_alloc": pd.DataFrame({"alloc": REF["newmods"]["bcg_alloc"]}),
}


def _num(x):
    if isinstance(x, (list, tuple, np.ndarray)):
        return np.array([_num(v) for v in np.ravel(np.asarray(x, dtype=object))], dtype=float)
    return np.nan if x is None or x == "NA" else float(x)


def close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(
        np.asarray(actual, float), _num(expected), rtol=rtol, atol=atol, equal_nan=True
    )


ROWS = REF["metareg"]


@pytest.mark.reference
@pytest.mark.parametrize("row", ROWS, ids=[f"{r['case']}-{r['method']}-{r['test']}" for r in ROWS])
def test_metareg_matches_metafor(row):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = metareg(YI, VI, MODS[row["case"]], method=row["method"], test=row["test"])
    c = reg.coef
    assert len(c) == len(row["coef_names"])
    for col, key in [
        ("estimate", "estimate"),
        ("se", "se"),
        ("statistic", "statistic"),
        ("pvalue", "pvalue"),
        ("ci_low", "ci_low"),
        ("ci_high", "ci_high"),
    ]:
        close(c[col], row[key])
    for f in ("tau2", "se_tau2", "qm", "qm_pvalue", "qe", "qe_pvalue", "i2", "h2"):
        close(getattr(reg, f), row[f])
    close(reg.r2, row["r2"], atol=1e-7)  # percent, as metafor
    qdf = [reg.qm_df[0], reg.qm_df[1] if reg.qm_df[1] is not None else np.nan]
    close(qdf, row["qm_df"])
    pr = reg.predict(NEW[row["case"]])
    close(pr["pred"], row["pred"])
    close(pr["se"], row["pred_se"])
    close(pr["ci_low"], row["pred_ci_low"])
    close(pr["ci_high"], row["pred_ci_high"])
    if row["method"] != "EE":
        close(pr["pi_low"], row["pred_pi_low"])
        close(pr["pi_high"], row["pred_pi_high"])


@pytest.mark.reference
def test_permutation_exact_matches_metafor():
    """Exact permutation test (k = 6, 360 distinct permutations: ablat has a tie)."""
    for key in ("exact_bcg6_ablat_DL", "exact_bcg6_ablat_REML_knha"):
        ref = REF["permutation"][key]
        base = REF["permutation"]["exact_bcg6_ablat_DL"]
        reg = metareg(base["yi"], base["vi"], np.asarray(base["ablat"], float),
                      method=ref["method"], test=ref["test"])  # fmt: skip
        res = permutation_test(reg, n_iter=1000)
        assert res.exact and res.n_iter == ref["iter"] == 360
        close(res.statistic, ref["statistic"])
        close(res.qm, ref["qm"])
        close(res.pvalue.to_numpy(), ref["pvalue"], rtol=1e-12)
        close(res.qm_pvalue, ref["qm_pvalue"], rtol=1e-12)


@pytest.mark.reference
def test_permutation_approximate_agrees_within_monte_carlo_error():
    ref = REF["permutation"]["approx_bcg_ablat_REML"]
    reg = metareg(YI, VI, np.asarray(BCG["ablat"], float), method="REML")
    res = permutation_test(reg, n_iter=ref["iter"], seed=1)
    assert not res.exact and res.n_iter == 1000
    close(res.statistic, ref["statistic"])
    close(res.qm, ref["qm"])
    # two independent Monte Carlo estimates: difference within 4 combined SEs
    ours_all = [*res.pvalue, res.qm_pvalue]
    for ours, theirs in zip(ours_all, [*ref["pvalue"], ref["qm_pvalue"]], strict=True):
        pbar = max((ours + theirs) / 2, 1 / 1000)
        assert abs(ours - theirs) <= 4 * np.sqrt(2 * pbar * (1 - pbar) / 1000) + 1e-3
    # reproducible with a seed
    again = permutation_test(reg, n_iter=1000, seed=1)
    assert again.qm_pvalue == res.qm_pvalue


@pytest.mark.reference
def test_permutation_intercept_only_uses_sign_flips():
    ref = REF["permutation"]["exact_intercept_only_DL"]
    reg = metareg(ref["yi"], ref["vi"], np.empty((5, 0)), method="DL")
    res = permutation_test(reg, n_iter=1000)
    assert res.exact and res.n_iter == ref["iter"] == 32
    close(res.statistic, ref["statistic"])
    close(res.pvalue.to_numpy(), ref["pvalue"], rtol=1e-12)
    close(res.qm_pvalue, ref["qm_pvalue"], rtol=1e-12)


def test_metareg_intercept_only_equals_random_effects():
    yi, vi = YI, VI
    reg = metareg(yi, vi, np.empty((yi.size, 0)), method="REML", test="knha")
    fit = random_effects(yi, vi, method="REML", test="knha")
    close(reg.coef["estimate"].iloc[0], fit.estimate, rtol=1e-12)
    close(reg.coef["se"].iloc[0], fit.se, rtol=1e-12)
    assert np.isnan(reg.r2)


def test_categorical_coding_and_names():
    reg = metareg(YI, VI, MODS["bcg_alloc"], method="REML")
    assert list(reg.coef.index) == ["intrcpt", "alloc[random]", "alloc[systematic]"]
    cat = pd.DataFrame(
        {"alloc": pd.Categorical(BCG["alloc"], categories=["systematic", "random", "alternate"])}
    )
    reg2 = metareg(YI, VI, cat, method="REML")
    assert list(reg2.coef.index)[1:] == ["alloc[random]", "alloc[alternate]"]
    close(reg2.qm, reg.qm, rtol=1e-8)  # reference level does not change the omnibus test
    with pytest.raises(ValueError, match="Unknown level"):
        reg.predict(pd.DataFrame({"alloc": ["bogus"]}))


def test_array_moderators_and_predict_defaults():
    X = np.column_stack([BCG["ablat"], BCG["year"]]).astype(float)
    a = metareg(YI, VI, X, method="DL")
    b = metareg(YI, VI, MODS["bcg_ablat_year"], method="DL")
    close(a.coef["estimate"], b.coef["estimate"].to_numpy(), rtol=1e-12)
    fitted = a.predict()
    assert fitted.shape == (YI.size, 6)
    assert "QM" in repr(a) and a.summary() is a.coef


def test_metareg_errors():
    with pytest.raises(ValueError, match="rows but there are"):
        metareg(YI, VI, np.arange(3.0))
    with pytest.raises(ValueError, match="full rank"):
        metareg(YI, VI, np.column_stack([BCG["ablat"], BCG["ablat"]]))
    with pytest.raises(ValueError, match="Too few studies"):
        metareg(YI[:3], VI[:3], np.column_stack([[1.0, 2, 3], [3.0, 1, 2]]))
    bad = np.asarray(BCG["ablat"], float).copy()
    bad[4] = np.nan
    with pytest.raises(ValueError, match="study index 4"):
        metareg(YI, VI, bad)


@settings(max_examples=20, derandomize=True, deadline=None)
@given(st.floats(-10, 10), st.floats(0.2, 5), st.sampled_from(["REML", "DL", "PM", "ML"]))
def test_metareg_equivariance(shift, c, method):
    """Shift of yi moves the intercept only; scaling yi by c scales coefficients by c."""
    x = np.asarray(BCG["ablat"], float)
    a = metareg(YI, VI, x, method=method)
    b = metareg(YI + shift, VI, x, method=method)
    close(b.coef["estimate"].iloc[0], a.coef["estimate"].iloc[0] + shift, rtol=1e-6, atol=1e-7)
    close(b.coef["estimate"].iloc[1], a.coef["estimate"].iloc[1], rtol=1e-6, atol=1e-8)
    s = metareg(YI * c, VI * c**2, x, method=method)
    close(s.coef["estimate"], a.coef["estimate"].to_numpy() * c, rtol=1e-6, atol=1e-8)
    close(s.tau2, a.tau2 * c**2, rtol=1e-5, atol=1e-8)
    close(s.qm, a.qm, rtol=1e-5)
    assert s.tau2 >= 0
