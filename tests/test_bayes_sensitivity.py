"""The Bayesian sensitivity tables (prevalence subgroups, therapy classes) on the bundled data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from jdmstats import datasets
from jdmstats.questions import bayes_sensitivity, prevalence
from jdmstats.questions.class_response import pooled_response


@pytest.fixture(scope="module")
def tables():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data, _ = prevalence.analysis_set(datasets.load_cohorts())
        sg = prevalence.subgroups(data)
        t = datasets.load_all()
        pr = pooled_response(t["episodes"], t["arms"], t["studies"])
    return (
        sg,
        bayes_sensitivity.prevalence_sensitivity(sg, data),
        pr,
        (bayes_sensitivity.response_sensitivity(pr)),
    )


def test_prevalence_rows_sit_beside_their_glmm(tables):
    sg, ps, _, _ = tables
    assert list(ps.columns) == bayes_sensitivity.COLUMNS
    assert list(ps["group"]) == list(sg["group"]) and list(ps["k"]) == list(sg["k"])
    np.testing.assert_array_equal(ps["freq_estimate"], sg["estimate"])
    assert (ps["prior"] == bayes_sensitivity.PRIOR).all() and "half-normal(1)" in ps["prior"][0]
    ok = ps["k"] > 0
    assert ((ps.loc[ok, "ci_low"] <= ps.loc[ok, "estimate"])
            & (ps.loc[ok, "estimate"] <= ps.loc[ok, "ci_high"])).all()  # fmt: skip
    assert ((ps.loc[ok, "pi_low"] <= ps.loc[ok, "ci_low"])
            & (ps.loc[ok, "ci_high"] <= ps.loc[ok, "pi_high"])).all()  # fmt: skip


def test_one_source_leaves_tau_at_its_prior(tables):
    # k = 1 with a uniform prior on mu: the likelihood of tau is flat, the posterior is the prior
    _, ps, _, rs = tables
    median = stats.halfnorm.ppf(0.5, scale=bayes_sensitivity.TAU_SCALE)
    for tab in (ps, rs):
        one = tab[tab["k"] == 1]
        assert len(one)
        np.testing.assert_allclose(one["tau_median"], median, rtol=1e-9)
        assert one["note"].str.contains("posterior of tau is its prior").all()


def test_response_rows_are_classes_with_counts(tables):
    _, _, pr, rs = tables
    classes = [c for c in pr.table["class"] if c != "all"]
    assert list(rs["group"]) == classes
    assert (rs["n_events"] <= rs["n_assessed"]).all()
    none = rs["k"] == 0
    assert rs.loc[none, "estimate"].isna().all() and rs.loc[~none, "estimate"].notna().all()
