"""Tests of jdmstats.questions.prevalence: analysis set, models vs metafor, subgroups, pipeline."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _analyses_reference import checked_reference, cohorts_frame, mc_tol, rel

from jdmstats import datasets, prevalence
from jdmstats.errors import InsufficientDataError
from jdmstats.outputs.steps import step_prevalence


@pytest.fixture(scope="module")
def ref_and_tables():
    ref, folder = checked_reference()
    return ref, datasets.load_all(folder)


@pytest.fixture(scope="module")
def models(ref_and_tables):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prevalence.prevalence_models(ref_and_tables[1]["cohorts"])


def _cohorts(rows):
    return cohorts_frame(rows)


# --------------------------------------------------------------------------- reference
@pytest.mark.reference
def test_analysis_set_matches_reference(ref_and_tables):
    ref, tables = ref_and_tables
    data, excluded = prevalence.analysis_set(tables["cohorts"])
    assert list(data["cohort_id"]) == list(ref["analysis_set"])
    assert set(excluded["cohort_id"]) | set(data["cohort_id"]) == set(
        tables["cohorts"]["cohort_id"]
    )
    assert excluded["reason"].str.len().min() > 0


@pytest.mark.reference
def test_models_match_metafor(ref_and_tables, models):
    ref, _ = ref_and_tables
    if "prevalence" not in ref:
        pytest.skip("fewer than 2 cohorts in the bundled data")
    table = models.table.set_index("model")
    for name, r in ref["prevalence"].items():
        if r is None:
            continue
        tol = 1e-4 if name.startswith("glmm") else 1e-6
        row = table.loc[name]
        assert row["k"] == r["k"]
        for col in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2"):
            assert rel(row[col], r[col]) < tol, (name, col, row[col], r[col])
        fit = models.fits[name]
        assert rel(fit.estimate_t, r["estimate_t"]) < tol
        assert rel(fit.se_t, r["se_t"]) < tol


@pytest.mark.reference
def test_leave_one_out_matches_metafor(ref_and_tables, models):
    ref, _ = ref_and_tables
    if "leave1out" not in ref:
        pytest.skip("fewer than 3 cohorts")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo = prevalence.leave_one_out(models.data)
    r = ref["leave1out"]
    assert len(loo) == len(r["cohort_id"])
    for col in ("iv_estimate", "iv_ci_low", "iv_ci_high", "iv_tau2"):
        np.testing.assert_allclose(loo[col], r[col], rtol=1e-6, atol=1e-10)
    for col in ("glmm_estimate", "glmm_ci_low", "glmm_ci_high"):
        np.testing.assert_allclose(loo[col], r[col], rtol=1e-4)


@pytest.mark.reference
def test_subgroups_match_metafor(ref_and_tables, models):
    ref, _ = ref_and_tables
    if "subgroups" not in ref:
        pytest.skip("fewer than 2 cohorts")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sg = prevalence.subgroups(models.data)
    for var, r in ref["subgroups"].items():
        rows = sg[sg["variable"] == var].set_index("group")
        for group, g in (r["groups"] or {}).items():
            if not g:
                continue
            assert rows.loc[group, "k"] == g["k"]
            for col in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2"):
                assert rel(rows.loc[group, col], g[col]) < 1e-4, (var, group, col)
        t = r["test"]
        if t:
            first = rows.iloc[0]
            assert rel(first["q_between"], t["q_between"]) < 1e-6
            assert rel(first["q_pvalue"], t["q_pvalue"]) < 1e-6
            assert first["q_df"] == t["q_df"]
            if "f_moderator" in t:
                assert rel(first["f_moderator"], t["f_moderator"]) < 1e-6
                assert rel(first["f_pvalue"], t["f_pvalue"]) < 1e-6


def test_region_fits_are_the_subgroup_fits_at_the_analysis_level(ref_and_tables):
    """The regional forest draws the GLMM of every region with >= 2 cohorts, the same fit as its
    row of the subgroups table, and both follow ``level``."""
    cohorts = ref_and_tables[1]["cohorts"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wide, narrow = prevalence.analyse(cohorts), prevalence.analyse(cohorts, level=0.8)
    for res in (wide, narrow):
        rows = res.subgroups[res.subgroups["variable"] == "region"].set_index("group")
        assert sorted(res.region_fits) == sorted(rows.index[rows["k"] >= 2])
        for group, fit in res.region_fits.items():
            assert fit.k == rows.loc[group, "k"] >= 2
            assert (fit.estimate, fit.ci_low, fit.ci_high) == tuple(
                rows.loc[group, ["estimate", "ci_low", "ci_high"]])  # fmt: skip
    for group, fit in narrow.region_fits.items():
        other = wide.region_fits[group]
        assert fit.estimate == other.estimate
        assert other.ci_low < fit.ci_low < fit.ci_high < other.ci_high, group


@pytest.mark.reference
def test_metaregression_matches_metafor(ref_and_tables, models):
    ref, tables = ref_and_tables
    from jdmstats.questions.delay import delay_means

    dm = delay_means(tables["cohorts"])
    data = models.data.merge(dm[["cohort_id", "delay_mean_months"]], on="cohort_id", how="left")
    for mod, r in (ref.get("prevalence_metareg") or {}).items():
        if not r:
            continue
        reg, perm, used = prevalence.metaregression(data, mod)
        c = reg.coef.iloc[1]
        assert reg.k == r["k"]
        for col in ("estimate", "se", "ci_low", "ci_high", "pvalue"):
            assert rel(c[col], r[col]) < 1e-6, (mod, col)
        assert rel(reg.tau2, r["tau2"]) < 1e-6
        assert rel(reg.r2, r["r2"]) < 1e-6 or abs(reg.r2 - r["r2"]) < 1e-8
        # permutation p-values: exact tests agree exactly, random ones within Monte Carlo error
        tol = 1e-10 if r["perm_exact"] else mc_tol(r["pvalue_perm"])
        assert perm.exact == r["perm_exact"]
        assert abs(perm.pvalue.iloc[1] - r["pvalue_perm"]) <= tol


@pytest.mark.reference
def test_small_study_tests_match_regtest(ref_and_tables, models):
    ref, _ = ref_and_tables
    if "small_study" not in ref:
        pytest.skip("fewer than 3 cohorts")
    t = prevalence.small_study_effects(models.data).set_index("test")
    for name, r in ref["small_study"].items():
        for col in ("statistic", "pvalue", "slope"):
            assert rel(t.loc[name, col], r[col]) < 1e-6, (name, col)
        assert t.loc[name, "df"] == r["df"]
    assert "FLAGGED" in t.loc["egger_logit_se", "note"]


# --------------------------------------------------------------------------- behaviour
def test_overlapping_cohorts_counted_once():
    c = _cohorts([{"n_patients": 50}, {"n_patients": 30, "overlaps_with": "Author2000"},
                  {"n_calcinosis": None}, {"include_primary": False,
                                           "exclusion_reason": "selected subgroup"}])  # fmt: skip
    data, excl = prevalence.analysis_set(c)
    assert list(data["cohort_id"]) == ["Author2000"]
    reasons = dict(zip(excl["cohort_id"], excl["reason"], strict=True))
    assert reasons["Author2001"] == "overlaps with Author2000 (counted once)"
    assert reasons["Author2002"] == "number with calcinosis not stated"
    assert reasons["Author2003"] == "selected subgroup"
    assert set(excl["analysis"]) == {"prevalence_primary"}


def test_enrolment_decade_rules():
    mid, dec, basis = prevalence.enrolment_decade(
        [1990, None, 2001, None], [1999, 2012, None, None]
    )
    assert list(dec) == ["1990s", "2010s", "2000s", "not_stated"]
    assert list(basis) == ["midpoint", "end only", "start only", "not_stated"]
    assert mid.iloc[0] == 1994.5


def test_too_few_cohorts_give_notes_not_crashes():
    one = _cohorts([{"n_patients": 40, "n_calcinosis": 10}])
    with pytest.warns(UserWarning):
        m = prevalence.prevalence_models(one)
    row = m.table.set_index("model").loc["glmm_primary"]
    assert row["k"] == 1 and row["estimate"] == pytest.approx(0.25)
    assert "k = 1" in row["note"]
    ab = m.table.set_index("model").loc["glmm_excluding_abstract_only"]
    assert ab["k"] == 0 and np.isnan(ab["estimate"]) and ab["note"].startswith("not fitted")
    with pytest.raises(InsufficientDataError, match="at least 3"):
        prevalence.leave_one_out(m.data)
    with pytest.raises(InsufficientDataError, match="at least 3"):
        prevalence.metaregression(m.data, "year")
    sse = prevalence.small_study_effects(m.data)
    assert sse["note"].str.startswith("not computed").all()
    sg = prevalence.subgroups(m.data, ["region"])
    assert "no test" in sg["note"].iloc[0]


def test_no_events_anywhere_is_reported():
    c = _cohorts([{"n_calcinosis": 0}, {"n_calcinosis": 0}])
    with pytest.warns(UserWarning):
        m = prevalence.prevalence_models(c)
    assert m.table.set_index("model").loc["glmm_primary", "note"].startswith("not fitted")
    assert m.primary is None


def test_pipeline_step_writes_tables_and_figures(tmp_path):
    c = _cohorts([{"n_patients": n, "n_calcinosis": x, "year": y, "region": r,
                   "followup_months": f, "period_start": y - 8, "period_end": y - 2}
                  for n, x, y, r, f in [(40, 10, 2001, "europe", 24.0), (60, 21, 2005, "europe",
                  48.0), (35, 5, 2010, "east_asia", None), (80, 30, 2015, "east_asia", 60.0),
                  (25, 9, 2020, "latin_america", 30.0)]])  # fmt: skip
    tables = {"cohorts": c, "patients": datasets.load_patients()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        files = step_prevalence(tables, tmp_path)
    names = {p.name for p in files}
    for t in ("prevalence.csv", "prevalence_subgroups.csv", "prevalence_exclusions.csv",
              "prevalence_forest.pdf", "prevalence_forest.png", "prevalence_funnel.png"):  # fmt: skip
        assert t in names
    tab = pd.read_csv(tmp_path / "tables" / "prevalence.csv")
    assert list(tab.columns[:11]) == list(prevalence.TABLE_COLUMNS)
    assert list(tab["model"]) == [*prevalence.SENSITIVITY, prevalence.MULTILEVEL]
    # deterministic: a second run gives identical tables
    first = (tmp_path / "tables" / "prevalence_metareg.csv").read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        step_prevalence(tables, tmp_path)
    assert (tmp_path / "tables" / "prevalence_metareg.csv").read_bytes() == first


def test_pipeline_step_with_no_cohorts(tmp_path):
    c = _cohorts([{"include_primary": False}])
    tables = {"cohorts": c, "patients": datasets.load_patients()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        files = step_prevalence(tables, tmp_path)
    tab = pd.read_csv(tmp_path / "tables" / "prevalence.csv")
    assert (tab["k"] == 0).all() and tab["note"].str.startswith("not fitted").all()
    assert all(p.suffix == ".csv" for p in files)


# ------------------------------------------------------------- multilevel sensitivity (#20)
@pytest.mark.reference
def test_multilevel_overlaps_matches_rma_mv(ref_and_tables):
    ref, tables = ref_and_tables
    r = ref["prevalence_multilevel"]
    fit, data, row = prevalence.multilevel_overlaps(tables["cohorts"])
    assert list(data["cohort_id"]) == list(r["cohort_id"])
    assert list(data["group"]) == list(r["group"])
    assert row["k"] == r["k"] == len(data)
    assert rel(fit.estimate, r["estimate_t"]) < 1e-6
    assert rel(fit.se, r["se_t"]) < 1e-6
    np.testing.assert_allclose(fit.sigma2, r["sigma2"], rtol=1e-5)
    for col in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        assert rel(row[col], r[col]) < 1e-6, (col, row[col], r[col])
    assert rel(row["tau2"], sum(r["sigma2"])) < 1e-5


def test_overlap_set_readmits_only_linked_reports():
    cohorts = _cohorts([
        dict(n_patients=50, n_calcinosis=10),
        dict(n_patients=40, n_calcinosis=12),
        dict(n_patients=60, n_calcinosis=15, include_primary=False, overlaps_with="Author2000",
             exclusion_reason="reports the same children as Author2000"),
        dict(n_patients=30, n_calcinosis=3, include_primary=False,
             exclusion_reason="selected subgroup"),
    ])
    data = prevalence.overlap_set(cohorts)
    assert sorted(data["cohort_id"]) == ["Author2000", "Author2001", "Author2002"]
    assert dict(zip(data["cohort_id"], data["group"], strict=True)) == {
        "Author2000": "Author2000", "Author2001": "Author2001", "Author2002": "Author2000"}
    assert dict(zip(data["cohort_id"], data["readmitted"], strict=True)) == {
        "Author2000": False, "Author2001": False, "Author2002": True}


def test_multilevel_overlaps_without_overlaps_is_not_fitted():
    cohorts = _cohorts([dict(n_patients=50, n_calcinosis=10), dict(n_patients=40, n_calcinosis=12)])
    fit, data, row = prevalence.multilevel_overlaps(cohorts)
    assert fit is None and len(data) == 2
    assert row["note"] == "not fitted: no overlapping report to add back"
    assert np.isnan(row["estimate"])
