"""Tests of jdmstats.questions.delay: conversions, meta-regression vs metafor, group level, IPD refusal."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _analyses_reference import checked_reference, cohorts_frame, mc_tol, rel

from jdmstats import datasets, delay
from jdmstats.errors import InsufficientDataError
from jdmstats.outputs.steps import step_delay


@pytest.fixture(scope="module")
def ref_and_tables():
    ref, folder = checked_reference()
    return ref, datasets.load_all(folder)


def _cohorts(rows):
    return cohorts_frame(rows, n_patients=40, n_calcinosis=10)


# --------------------------------------------------------------------------- reference
@pytest.mark.reference
def test_delay_conversions_match_r_transcription(ref_and_tables):
    ref, tables = ref_and_tables
    dm = delay.delay_means(tables["cohorts"])
    r = pd.DataFrame(ref["delay_means"]).set_index("cohort_id")
    dm = dm.set_index("cohort_id")
    np.testing.assert_allclose(dm["delay_mean_months"], r.loc[dm.index, "mean"].astype(float),
                               rtol=1e-10)  # fmt: skip
    np.testing.assert_allclose(dm["delay_sd_months"], r.loc[dm.index, "sd"].astype(float),
                               rtol=1e-10)  # fmt: skip
    assert list(dm["usable_mean"]) == list(r.loc[dm.index, "usable"])
    conv = dm.loc[dm["delay_reported_months"].notna(), "conversion"]
    assert (conv.str.len() > 0).all()


@pytest.mark.reference
def test_delay_metaregression_matches_metafor(ref_and_tables):
    ref, tables = ref_and_tables
    for name, strict in (("all_delays", False), ("means_and_converted_medians", True)):
        r = (ref.get("delay_metareg") or {}).get(name)
        if not r:
            with pytest.raises(InsufficientDataError):
                delay.delay_metaregression(tables["cohorts"], strict=strict)
            continue
        res = delay.delay_metaregression(tables["cohorts"], strict=strict)
        c = res.fit.coef.iloc[1]
        assert res.fit.k == r["k"]
        for col in ("estimate", "se", "ci_low", "ci_high", "pvalue"):
            assert rel(c[col], r[col]) < 1e-6, (name, col)
        assert rel(res.fit.tau2, r["tau2"]) < 1e-6
        assert rel(res.fit.coef.iloc[0]["estimate"], r["intercept"]) < 1e-6
        assert res.permutation.exact == r["perm_exact"]
        tol = 1e-10 if r["perm_exact"] else mc_tol(r["pvalue_perm"])
        assert abs(res.permutation.pvalue.iloc[1] - r["pvalue_perm"]) <= tol
        assert res.slope == pytest.approx(c["estimate"])
        assert "pvalue_perm" in res.summary().columns


@pytest.mark.reference
def test_group_level_matches_reference(ref_and_tables):
    ref, tables = ref_and_tables
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        md = delay.group_mean_difference(tables["cohorts"])
        orr = delay.pooled_odds_ratio(tables["cohorts"])
    assert md.k == ref["group_md_k"]
    assert orr.k == ref["group_or_k"]
    ran = {}
    for res, key, back in ((md, "group_md", float), (orr, "group_or", np.exp)):
        ran[key] = key in ref  # R pools (and writes the key) only from k >= 2
        if ran[key]:
            assert rel(back(res.fit.estimate), ref[key]["estimate"]) < 1e-6
        else:
            assert res.k < 2 and res.fit is None, f"{key}: R pooled nothing, nor may we"
    # What runs on the bundled data (k = 0 and 1: neither effect is pooled). A data change
    # that starts pooling one must update this line, so the comparison above is seen to run.
    assert (md.k, orr.k, ran) == (0, 1, {"group_md": False, "group_or": False})


# --------------------------------------------------------------------------- patient level
def test_patient_level_refuses_case_reports():
    patients = datasets.load_patients()
    assert patients["calcinosis"].all()
    with pytest.raises(InsufficientDataError, match="cannot be estimated and no model was fitted"):
        delay.patient_level(patients)


def test_patient_level_fits_when_outcome_varies():
    rng = np.random.default_rng(3)
    n = 60
    d = pd.DataFrame({
        "patient_id": [f"P{i}" for i in range(n)],
        "study_id": np.repeat([f"S{j}" for j in range(12)], 5),
        "delay_months": rng.gamma(2.0, 4.0, n),
        "age_onset_years": rng.uniform(2, 14, n),
        "sex": rng.choice(["F", "M"], n),
    })  # fmt: skip
    eta = -1.5 + 0.12 * d["delay_months"]
    d["calcinosis"] = rng.random(n) < 1 / (1 + np.exp(-eta))
    fit = delay.patient_level(d)
    assert list(fit.coef.index) == ["intercept", "delay_months", "age_onset_years", "female"]
    assert fit.n_clusters == 12 and "robust_se" in fit.coef.columns
    d.loc[0, "age_onset_years"] = np.nan  # missing for one: covariate dropped, sample kept
    fit2 = delay.patient_level(d)
    assert "age_onset_years" not in fit2.coef.index and fit2.n == n


def test_patient_level_too_few_with_delay():
    d = pd.DataFrame({"patient_id": ["a", "b", "c"], "study_id": ["S1", "S1", "S2"],
                      "delay_months": [1.0, np.nan, 5.0], "age_onset_years": np.nan,
                      "sex": None, "calcinosis": [True, False, True]})  # fmt: skip
    with pytest.raises(InsufficientDataError, match="too few"):
        delay.patient_level(d)


# --------------------------------------------------------------------------- group level
def _group_rows():
    return [
        {"delay_calc_months": 12.0, "delay_calc_stat": "mean", "delay_calc_sd_months": 8.0,
         "delay_calc_n": 10, "delay_nocalc_months": 6.0, "delay_nocalc_stat": "mean",
         "delay_nocalc_sd_months": 5.0, "delay_nocalc_n": 30},
        {"delay_calc_months": 9.0, "delay_calc_stat": "median", "delay_calc_spread": "iqr",
         "delay_calc_low_months": 5.0, "delay_calc_high_months": 15.0, "delay_calc_n": 12,
         "delay_nocalc_months": 4.0, "delay_nocalc_stat": "median", "delay_nocalc_spread": "iqr",
         "delay_nocalc_low_months": 2.0, "delay_nocalc_high_months": 8.0, "delay_nocalc_n": 40},
        {"delay_calc_months": 30.6, "delay_calc_stat": "not_stated", "delay_calc_n": 5,
         "delay_nocalc_months": 6.0, "delay_nocalc_stat": "not_stated", "delay_nocalc_n": 30},
    ]  # fmt: skip


def test_group_mean_difference_pools_usable_sources():
    from jdmstats.meta.convert import median_to_mean
    from jdmstats.meta.model import random_effects

    c = _cohorts(_group_rows())
    md = delay.group_mean_difference(c)
    assert md.k == 2 and list(md.excluded["cohort_id"]) == ["Author2002"]
    assert "no SD" in md.excluded["reason"].iloc[0]
    a = median_to_mean([9.0], [12], q1=[5.0], q3=[15.0])
    b = median_to_mean([4.0], [40], q1=[2.0], q3=[8.0])
    yi = [6.0, a.mean[0] - b.mean[0]]
    vi = [64 / 10 + 25 / 30, a.sd[0] ** 2 / 12 + b.sd[0] ** 2 / 40]
    ref = random_effects(yi, vi, method="REML", test="knha")
    assert md.fit.estimate == pytest.approx(ref.estimate, rel=1e-12)


def test_group_level_k0_and_k1_warn():
    c = _cohorts(_group_rows()[2:])
    with pytest.warns(UserWarning, match="not estimable"):
        md = delay.group_mean_difference(c)
    assert md.fit is None and md.k == 0
    c = _cohorts([{"delay_or": 1.2, "delay_or_ci_low": 1.0, "delay_or_ci_high": 1.39,
                   "delay_or_contrast": "per month"}])  # fmt: skip
    with pytest.warns(UserWarning, match="one source only"):
        orr = delay.pooled_odds_ratio(c)
    assert orr.k == 1 and orr.fit is None


def test_pooled_odds_ratio_warns_on_mixed_contrasts():
    c = _cohorts([{"delay_or": 1.2, "delay_or_ci_low": 1.0, "delay_or_ci_high": 1.4,
                   "delay_or_contrast": "per month"},
                  {"delay_or": 3.0, "delay_or_ci_low": 1.2, "delay_or_ci_high": 7.5,
                   "delay_or_contrast": "> 6 months vs <= 6 months"},
                  {"delay_or": 2.0}])  # fmt: skip
    with pytest.warns(UserWarning, match="contrasts differ"):
        orr = delay.pooled_odds_ratio(c)
    assert orr.k == 2 and orr.fit is not None
    assert list(orr.excluded["reason"]) == ["OR without a usable confidence interval"]


# --------------------------------------------------------------------------- pipeline
def test_pipeline_step_writes_tables(tmp_path):
    rows = _group_rows()
    for i, r in enumerate(rows):
        r.update(delay_months=[3.0, 6.0, 12.0][i], delay_stat="mean", n_calcinosis=5 + 4 * i)
    rows.append({"delay_months": 9.0, "delay_stat": "median", "n_calcinosis": 20})
    tables = {"cohorts": _cohorts(rows), "patients": datasets.load_patients()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        files = step_delay(tables, tmp_path)
    names = {p.name for p in files}
    for t in ("delay_metareg.csv", "delay_groups.csv", "delay_ipd.csv", "delay_cohorts.csv",
              "delay_exclusions.csv", "delay_forest_md.pdf"):  # fmt: skip
        assert t in names
    assert "delay_bubble.png" not in names  # drawn once, by the prevalence step
    ipd = pd.read_csv(tmp_path / "tables" / "delay_ipd.csv")
    assert ipd.loc[0, "status"] == "not fitted"
    assert "cannot be estimated" in ipd.loc[0, "note"]
    mr = pd.read_csv(tmp_path / "tables" / "delay_metareg.csv")
    assert list(mr["analysis"]) == ["all_delays", "means_and_converted_medians"]
    assert mr.loc[0, "k"] == 4 and mr.loc[1, "k"] == 3
    co = tables["cohorts"]
    assert mr.loc[0, "n_patients"] == co.loc[co["delay_months"].notna(), "n_patients"].sum()
    groups = pd.read_csv(tmp_path / "tables" / "delay_groups.csv")
    pooled = groups[groups["row"] == "pooled"].set_index("analysis")
    assert pooled.loc["mean_difference_months", "k"] == 2
    assert pooled.loc["odds_ratio", "note"].startswith("not estimable")
    conv = pd.read_csv(tmp_path / "tables" / "delay_cohorts.csv")
    assert "median used as the mean" in conv["conversion"].iloc[-1]
