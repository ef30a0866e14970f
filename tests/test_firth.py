"""Tests of jdmstats.firth (Firth logistic regression)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _analyses_reference import reference

from jdmstats.errors import InsufficientDataError
from jdmstats.firth import firth_logit


def _endometrial():
    ref = reference()["firth_endometrial"]
    d = pd.DataFrame(ref["data"])
    return ref, d


@pytest.mark.reference
def test_endometrial_matches_brglm2_and_profile():
    ref, d = _endometrial()
    fit = firth_logit(d["HG"], d[["NV", "PI", "EH"]], cluster=d["cl"])
    c = fit.coef
    assert list(c.index) == ["intercept", "NV", "PI", "EH"]
    np.testing.assert_allclose(c["estimate"], ref["estimate"], rtol=1e-6)
    np.testing.assert_allclose(c["se"], ref["se"], rtol=1e-6)
    np.testing.assert_allclose(c["ci_low"], ref["ci_low"], rtol=1e-6)
    np.testing.assert_allclose(c["ci_high"], ref["ci_high"], rtol=1e-6)
    np.testing.assert_allclose(c["pvalue"], ref["pvalue"], rtol=1e-5)
    np.testing.assert_allclose(c["robust_se"], ref["robust_se"], rtol=1e-6)
    assert fit.penalised_loglik == pytest.approx(ref["penalised_loglik"], rel=1e-8)
    assert fit.n_clusters == 8
    assert any("8 clusters" in n for n in fit.notes)


@pytest.mark.reference
def test_endometrial_published_logistf_values():
    """Heinze & Schemper (2002, Stat Med 21:2409), Table: NV 2.93 (0.61, 7.85)."""
    _, d = _endometrial()
    fit = firth_logit(d["HG"], d[["NV", "PI", "EH"]])
    row = fit.coef.loc["NV"]
    assert round(row["estimate"], 2) == 2.93
    assert round(row["ci_low"], 2) == 0.61
    assert round(row["ci_high"], 2) == 7.85
    assert "robust_se" not in fit.coef.columns


def test_refuses_when_every_observation_has_the_outcome():
    with pytest.raises(InsufficientDataError, match="no variation in the outcome"):
        firth_logit(np.ones(12), np.arange(12.0))
    with pytest.raises(InsufficientDataError, match="lacks the outcome"):
        firth_logit(np.zeros(12), np.arange(12.0))


def test_other_impossible_inputs():
    y = np.array([0, 1, 0, 1, 1, 0])
    with pytest.raises(InsufficientDataError, match="do not vary"):
        firth_logit(y, np.ones(6), names=["c"])
    with pytest.raises(InsufficientDataError, match="too few"):
        firth_logit(y[:2], np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="complete"):
        firth_logit(y, np.array([1.0, np.nan, 2, 3, 4, 5]))
    with pytest.raises(ValueError, match="0/1"):
        firth_logit(np.array([0, 2, 0, 1, 1, 0]), np.arange(6.0))


def test_finite_under_complete_separation():
    x = np.arange(10.0)
    y = (x > 4.5).astype(float)
    fit = firth_logit(y, x)
    assert np.isfinite(fit.coef.loc["x1", "estimate"])
    assert fit.coef.loc["x1", "ci_low"] > 0
    assert fit.converged


def test_odds_ratios_and_summary():
    rng = np.random.default_rng(1)
    x = rng.normal(size=60)
    y = (rng.random(60) < 1 / (1 + np.exp(-(0.3 + 0.8 * x)))).astype(int)
    fit = firth_logit(y, pd.DataFrame({"x": x}), cluster=np.repeat(np.arange(12), 5))
    assert fit.summary() is fit.coef
    assert np.allclose(fit.odds_ratios["odds_ratio"], np.exp(fit.coef["estimate"]))
    assert fit.n == 60 and fit.n_clusters == 12 and fit.notes == ()
    lo, hi = fit.coef.loc["x", ["ci_low", "ci_high"]]
    assert lo < fit.coef.loc["x", "estimate"] < hi
