"""Fit statistics and likelihood-ratio tests against metafor 3.8-1
(tests/reference/metafor_fitstats.*)."""

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
from jdmstats.meta.comparison import LRTResult, anova
from jdmstats.meta.fitstats import fit_statistics

REF = json.loads((Path(__file__).parent / "reference" / "metafor_fitstats.json").read_text())
CASES = REF["cases"]
IDS = [f"{c['dataset']}~{'+'.join(np.atleast_1d(c['mods'])) or '1'}-{c['method']}" for c in CASES]
RTOL = 1e-8


def _fit(dataset, mods, method):
    ds = REF["datasets"][dataset]
    mods = [str(m) for m in np.atleast_1d(mods)] if mods else []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if mods:
            return meta.metareg(ds["yi"], ds["vi"], pd.DataFrame({m: ds["mods"][m] for m in mods}),
                                method=method)  # fmt: skip
        return meta.random_effects(ds["yi"], ds["vi"], method=method)


@pytest.mark.reference
def test_grid_covers_methods_and_models():
    have = {(c["dataset"], bool(np.atleast_1d(c["mods"]).size), c["method"]) for c in CASES}
    assert {m for _, _, m in have} == {"EE", "DL", "REML", "ML", "PM"}
    assert {(d, mods) for d, mods, _ in have} >= {("bcg", True), ("bcg", False),
                                                   ("pritz1997", False)}  # fmt: skip


@pytest.mark.reference
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fit_statistics_match_metafor(case):
    fit = _fit(case["dataset"], case["mods"], case["method"])
    fs = fit_statistics(fit)
    assert list(fs.index) == case["rows"] == ["ll", "dev", "AIC", "BIC", "AICc"]
    np.testing.assert_allclose(fs["ML"], case["ML"], rtol=RTOL, atol=1e-9)
    np.testing.assert_allclose(fs["REML"], case["REML"], rtol=RTOL, atol=1e-9)
    np.testing.assert_allclose([fit.loglik, fit.aic, fit.bic, fit.aicc],
                               [case["logLik"], case["AIC"], case["BIC"], case["AICc"]],
                               rtol=RTOL)  # fmt: skip
    column = "REML" if case["method"] == "REML" else "ML"
    assert fit.deviance == pytest.approx(fs.loc["dev", column])


@pytest.mark.reference
@pytest.mark.parametrize("case", REF["anova"], ids=[a["name"] for a in REF["anova"]])
@pytest.mark.parametrize("swap", [False, True])
def test_anova_matches_metafor(case, swap):
    full = _fit(case["dataset"], case["full"], case["method"])
    reduced = _fit(case["dataset"], case["reduced"], case["method"])
    args = (reduced, full) if swap else (full, reduced)  # the order does not matter
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for valid comparisons (refit when REML)
        res = anova(*args, refit=case["refit"])
    ref = case["res"]
    assert isinstance(res, LRTResult) and res.method == ref["method"]
    np.testing.assert_allclose([res.lrt, res.pvalue, res.r2, res.qe_full, res.qe_reduced],
                               [ref["LRT"], ref["pval"], ref["R2"], ref["QE_f"], ref["QE_r"]],
                               rtol=1e-7)  # fmt: skip
    np.testing.assert_allclose([res.tau2_full, res.tau2_reduced], [ref["tau2_f"], ref["tau2_r"]],
                               rtol=1e-7, atol=1e-12)  # fmt: skip
    assert (res.parms_full, res.parms_reduced) == (ref["parms_f"], ref["parms_r"])
    assert res.df == ref["parms_f"] - ref["parms_r"]
    np.testing.assert_allclose(res.fit_full, ref["fit_f"], rtol=1e-9)
    np.testing.assert_allclose(res.fit_reduced, ref["fit_r"], rtol=1e-9)
    assert list(res.summary().index) == ["full", "reduced"]


# ------------------------------------------------------------------ errors and warnings
def test_anova_refuses_models_that_cannot_be_compared():
    ml = _fit("bcg", "ablat", "ML")
    with pytest.raises(ValueError, match="both models have 3 parameters"):
        anova(ml, ml)
    with pytest.raises(ValueError, match="mismatch of ML and REML"):
        anova(ml, _fit("bcg", None, "REML"))
    with pytest.raises(ValueError, match="equal-effects model and the reduced model a "
                                         "random-effects"):  # fmt: skip
        anova(_fit("bcg", ["ablat", "year"], "EE"), _fit("bcg", None, "ML"))
    with pytest.raises(ValueError, match="same yi and vi"):
        anova(ml, _fit("hackshaw1998", None, "ML"))


def test_anova_warns_for_reml_with_different_fixed_effects_and_moment_estimators():
    with pytest.warns(UserWarning, match="REML comparisons are not meaningful"):
        anova(_fit("bcg", "ablat", "REML"), _fit("bcg", None, "REML"))
    with pytest.warns(UserWarning, match="should be based on ML or REML fits"):
        anova(_fit("bcg", "ablat", "DL"), _fit("bcg", None, "DL"))


# ------------------------------------------------------------------ properties
@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-2, 2), st.floats(0.01, 1.0)), min_size=3, max_size=12),
       st.sampled_from(["EE", "DL", "REML", "ML"]))  # fmt: skip
def test_information_criteria_follow_from_the_log_likelihood(data, method):
    yi, vi = zip(*data, strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = meta.random_effects(list(yi), list(vi), method=method)
    fs = fit_statistics(fit)
    parms = 1 if method == "EE" else 2
    k = len(yi)
    np.testing.assert_allclose(fs.loc["AIC"], -2 * fs.loc["ll"] + 2 * parms)
    np.testing.assert_allclose(fs.loc["BIC", "ML"], -2 * fs.loc["ll", "ML"] + parms * np.log(k))
    np.testing.assert_allclose(fs.loc["dev", "REML"], -2 * fs.loc["ll", "REML"])
    assert fs.loc["dev", "ML"] >= -1e-9  # the saturated model fits at least as well
