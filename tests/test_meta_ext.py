"""Tests of the metafor extensions of jdmstats.meta (issue #20): further escalc measures,
Mantel-Haenszel and Peto pooling, test="t", further tau^2 estimators, profile-likelihood CIs,
fail-safe N / excess significance and edge-case flags.

Reference values come from tests/reference/metafor_ext.json, written by
tests/reference/metafor_ext.R (metafor 3.8-1); no R is needed to run these tests.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jdmstats import meta

REF = json.loads((Path(__file__).parent / "reference" / "metafor_ext.json").read_text())
RTOL, ATOL = 1e-6, 1e-10
DATA = REF["data"]


def _num(x):
    if isinstance(x, (list, tuple)):
        return np.array([_num(v) for v in x], dtype=float)
    return np.nan if x is None or x == "NA" else float(x)


def close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(
        np.asarray(actual, float), _num(expected), rtol=rtol, atol=atol, equal_nan=True
    )


def _opts(row, keys=("add", "to", "drop00", "vtype", "level")):
    return {k: row[k] for k in keys if k in row}


def _source(name):
    for group in ("tables", "rates", "means"):
        if name in DATA[group]:
            return {k: np.asarray(v, float) for k, v in DATA[group][name].items()}
    raise KeyError(name)


def _id(row, keys):
    return (
        "-".join(str(row.get(k)) for k in keys)
        + "-"
        + "-".join(f"{k}={row[k]}" for k in ("add", "to", "drop00", "vtype", "level") if k in row)
    )


# --------------------------------------------------------------------------- 1. escalc
ES = REF["escalc"]


@pytest.mark.reference
@pytest.mark.parametrize("row", ES, ids=[_id(r, ("dataset", "measure")) for r in ES])
def test_escalc_matches_metafor(row):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es = meta.escalc(row["measure"], **_source(row["dataset"]), **_opts(row))
    close(es.yi, row["yi"])
    close(es.vi, row["vi"])


def test_escalc_zero_cells_recorded():
    t = _source("yusuf9")
    es = meta.escalc("RR", **t)
    zero = (t["ai"] == 0) | (t["bi"] == 0) | (t["ci"] == 0) | (t["di"] == 0)
    np.testing.assert_array_equal(es.cc_applied, zero)
    np.testing.assert_array_equal(es.ni, t["ai"] + t["bi"] + t["ci"] + t["di"])
    dropped = meta.escalc("RR", **t, drop00=True)
    dz = ((t["ai"] == 0) & (t["ci"] == 0)) | ((t["bi"] == 0) & (t["di"] == 0))
    np.testing.assert_array_equal(dropped.dropped, dz)
    assert np.isnan(dropped.yi[dz]).all() and not dropped.cc_applied[dz].any()


def test_escalc_infinite_values_become_nan_with_warning():
    with pytest.warns(UserWarning, match="Inf"):
        es = meta.escalc("OR", ai=[0, 3], bi=[10, 7], ci=[2, 4], di=[8, 6], to="none")
    assert np.isnan(es.yi[0]) and np.isfinite(es.yi[1])


@pytest.mark.parametrize(
    ("measure", "kwargs", "match"),
    [
        ("IRR", {"x1i": [1, -1], "x2i": [2, 2], "t1i": [5, 5], "t2i": [5, 5]}, "negative"),
        ("IRR", {"x1i": [1, 1], "x2i": [2, 2], "t1i": [5, 0], "t2i": [5, 5]}, "person-time"),
        ("IRR", {"x1i": [1, 1], "x2i": [2, 2], "t1i": [5, 5]}, "'t2i' is required"),
        (
            "ROM",
            {
                "m1i": [1, -2],
                "m2i": [2, 2],
                "sd1i": [1, 1],
                "sd2i": [1, 1],
                "n1i": [5, 5],
                "n2i": [5, 5],
            },
            "same sign",
        ),  # fmt: skip
        ("RR", {"ai": [1], "bi": [2], "ci": [3], "di": [4], "vtype": "UB"}, "vtype"),
    ],
)
def test_escalc_bad_input(measure, kwargs, match):
    with pytest.raises(ValueError, match=match):
        meta.escalc(measure, **kwargs)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(*[st.integers(0, 30)] * 4), min_size=1, max_size=8))
def test_escalc_group_swap_flips_sign(cells):
    a, b, c, d = (np.array(x, float) + 1 for x in zip(*cells, strict=True))
    for m in ("OR", "RR", "RD", "AS", "PETO", "YUQ", "YUY"):
        e1 = meta.escalc(m, ai=a, bi=b, ci=c, di=d)
        e2 = meta.escalc(m, ai=c, bi=d, ci=a, di=b)
        np.testing.assert_allclose(e1.yi, -e2.yi, atol=1e-12)
        np.testing.assert_allclose(e1.vi, e2.vi, rtol=1e-12)


# --------------------------------------------------------------------------- 2. MH / Peto
MH = REF["mh"]
_MH_FIELDS = {
    "estimate": "estimate", "se": "se", "zval": "statistic", "pval": "pvalue",
    "ci_low": "ci_low", "ci_high": "ci_high", "q": "q", "q_pvalue": "q_pvalue", "i2": "i2",
    "h2": "h2", "k": "k", "k_yi": "k_yi",
}  # fmt: skip
_MH_TESTS = {"CO": "cochran", "COp": "cochran_pvalue", "MH": "cmh", "MHp": "cmh_pvalue",
             "BD": "breslow_day", "BDp": "breslow_day_pvalue", "TA": "tarone",
             "TAp": "tarone_pvalue"}  # fmt: skip


@pytest.mark.reference
@pytest.mark.parametrize("row", MH, ids=[_id(r, ("dataset", "measure", "correct")) for r in MH])
def test_mantel_haenszel_matches_metafor(row):
    res = meta.mantel_haenszel(**_source(row["dataset"]), measure=row["measure"],
                               correct=row["correct"], **_opts(row))  # fmt: skip
    for r_name, name in _MH_FIELDS.items():
        close(getattr(res, name), row[r_name])
    for r_name, name in _MH_TESTS.items():
        if row[r_name] is not None:
            close(getattr(res, name), row[r_name])
    if row["measure"] == "OR":
        assert res.k_pos == row["k_pos"]


PETO = REF["peto"]


@pytest.mark.reference
@pytest.mark.parametrize("row", PETO, ids=[_id(r, ("dataset",)) for r in PETO])
def test_peto_matches_metafor(row):
    res = meta.peto(**_source(row["dataset"]), **_opts(row))
    for r_name, name in _MH_FIELDS.items():
        close(getattr(res, name), row[r_name])
    assert res.k_pos == row["k_pos"]


def test_mh_result_rendering_and_errors():
    t = _source("bcg")
    res = meta.mantel_haenszel(**t)
    assert "Breslow-Day" in repr(res) and res.summary().shape[0] == 1
    assert res.estimate_exp[0] == pytest.approx(np.exp(res.estimate))
    assert "|" in res.to_markdown()
    with pytest.raises(ValueError, match="accepted"):
        meta.mantel_haenszel(**t, measure="SMD")
    with pytest.raises(ValueError, match="not on the log scale"):
        _ = meta.mantel_haenszel(**t, measure="RD").estimate_exp
    with pytest.raises(ValueError, match="never occurred"):
        meta.peto(ai=[0, 0], bi=[5, 5], ci=[0, 0], di=[5, 6])


# --------------------------------------------------------------------------- 3./4. rma.uni
UNI = REF["uni"]
_UNI_FIELDS = ("estimate", "se", "statistic", "pvalue", "ci_low", "ci_high", "pi_low", "pi_high",
               "tau2", "se_tau2", "i2", "h2", "q", "q_pvalue", "weights")  # fmt: skip


def _uni_data(name):
    d = REF["uni_data"][name]
    return np.asarray(d["yi"], float), np.asarray(d["vi"], float)


def _method_kwargs(method, vi):
    if method == "GENQ":
        return {"method": "GENQ", "weights": 1 / np.sqrt(vi)}
    if method == "GENQ_ivw":
        return {"method": "GENQ", "weights": 1 / vi}
    return {"method": method}


@pytest.mark.reference
@pytest.mark.parametrize("row", UNI, ids=[_id(r, ("dataset", "method", "test")) for r in UNI])
def test_random_effects_new_estimators_and_t_match_metafor(row):
    yi, vi = _uni_data(row["dataset"])
    kw = _method_kwargs(row["method"], vi)
    if "error" in row:  # metafor stops: "Iterative DL estimator did not converge."
        assert row["method"] == "DLIT"
        with pytest.warns(RuntimeWarning, match="did not converge"):
            fit = meta.random_effects(yi, vi, test=row["test"], **kw)
        assert fit.fallback == "DL"
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = meta.random_effects(yi, vi, test=row["test"], **kw)
    for f in _UNI_FIELDS:
        close(getattr(fit, f), row[f])
    if "tau2_ci_low" in row:
        close(fit.tau2_ci_low, row["tau2_ci_low"])
        close(fit.tau2_ci_high, row["tau2_ci_high"])
    assert fit.df == (None if row["test"] == "z" else row["k"] - 1)


REG = REF["metareg"]


@pytest.mark.reference
@pytest.mark.parametrize("row", REG, ids=[_id(r, ("method", "test")) for r in REG])
def test_metareg_new_estimators_and_t_match_metafor(row):
    import pandas as pd

    d = REF["reg_data"]
    mods = pd.DataFrame({"ablat": d["ablat"], "year": d["year"]})
    kw = {"method": row["method"]}
    if row["method"] in ("GENQ", "DL_w"):  # user weights 1 / sqrt(vi)
        kw = {"method": row["method"][:2] if row["method"] == "DL_w" else "GENQ",
              "weights": 1 / np.sqrt(np.asarray(d["vi"], float))}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = meta.metareg(d["yi"], d["vi"], mods, test=row["test"], **kw)
    close(reg.coef["estimate"], row["coef"])
    for f in ("se", "statistic", "pvalue", "ci_low", "ci_high"):
        close(reg.coef[f], row[f])
    for f in ("qm", "qm_pvalue", "qe", "tau2", "se_tau2", "r2", "i2", "h2"):
        close(getattr(reg, f), row[f])


def test_t_differs_from_knha_and_z():
    yi, vi = _uni_data("bcg_RR")
    z, t, kh = (meta.random_effects(yi, vi, test=s) for s in ("z", "t", "knha"))
    assert z.se == t.se != kh.se
    assert t.ci_high - t.ci_low > z.ci_high - z.ci_low
    assert t.s2w == 1.0


def test_weighted_metareg_refuses_permutation_test():
    d = REF["reg_data"]
    reg = meta.metareg(d["yi"], d["vi"], d["ablat"], method="DL", weights=np.ones(len(d["yi"])))
    with pytest.raises(ValueError, match="user weights"):
        meta.permutation_test(reg)


def test_genq_needs_weights_and_method_names_are_metafors():
    yi, vi = _uni_data("bcg_RR")
    with pytest.raises(ValueError, match="weights"):
        meta.random_effects(yi, vi, method="GENQ")
    with pytest.raises(ValueError, match="weights"):
        meta.random_effects(yi, vi, method="DL", weights=np.ones(3))
    assert meta.random_effects(yi, vi, method="hsk").method == "HSk"
    with pytest.raises(ValueError, match="GENQM.*weights"):
        meta.random_effects(yi, vi, method="GENQM")
    with pytest.raises(ValueError, match="accepted"):
        meta.random_effects(yi, vi, method="GENQX")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(-2, 2), st.floats(0.01, 1)), min_size=3, max_size=12))
def test_genq_with_inverse_variance_weights_is_dl(data):
    yi, vi = (np.array(x) for x in zip(*data, strict=True))
    dl = meta.random_effects(yi, vi, method="DL")
    gq = meta.random_effects(yi, vi, method="GENQ", weights=1 / vi)
    np.testing.assert_allclose(gq.tau2, dl.tau2, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("method", ["HS", "HSk", "PMM", "DLIT", "SJIT"])
def test_batch_equals_single_fits_new_estimators(method):
    from jdmstats.meta._solver import fit_batch

    yi, vi = _uni_data("molloy_ZCOR")
    k = yi.size
    batch = fit_batch(yi, vi, mask=~np.eye(k, dtype=bool), method=method)
    for i in range(k):
        one = fit_batch(np.delete(yi, i), np.delete(vi, i), method=method)
        np.testing.assert_allclose(batch.tau2[i], one.tau2[0], rtol=1e-8, atol=1e-14)
        np.testing.assert_allclose(batch.se_tau2[i], one.se_tau2[0], rtol=1e-8)


# --------------------------------------------------------------------------- 8. edge cases
EDGE = REF["edge"]


@pytest.mark.reference
@pytest.mark.parametrize("method", ["DL", "REML"])
def test_qprofile_bound_beyond_search_limit_is_flagged(method):
    ref = EDGE[f"wide_{method}"]
    with pytest.warns(UserWarning, match="search limit"):
        fit = meta.random_effects([0, 30, 60], [1, 1, 1], method=method)
    close(fit.tau2, ref["tau2"])
    close(fit.tau2_ci_low, ref["tau2_ci_low"])
    close(fit.tau2_ci_high, ref["tau2_ci_high"])
    assert fit.tau2_ci_signs == (ref["lb_sign"], ref["ub_sign"])
    assert fit.tau2_ci_capped and fit.confint().attrs["tau2_ci_signs"] == ("", ">")


def test_qprofile_not_flagged_normally():
    yi, vi = _uni_data("bcg_RR")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = meta.random_effects(yi, vi)
    assert fit.tau2_ci_signs == ("", "") and not fit.tau2_ci_capped


@pytest.mark.reference
def test_r2_undefined_when_tau2_numerically_zero_in_both_models():
    lau = EDGE["lau"]
    # metafor's R^2 here depends on the convergence control: it is noise
    assert abs(lau["r2_default"] - lau["r2_tight"]) > 10
    assert max(lau["tau2_0_default"], lau["tau2_0_tight"]) < 1e-6
    reg = meta.metareg(lau["yi"], lau["vi"], np.asarray(lau["year"], float), method="ML")
    assert np.isnan(reg.r2)
    assert "numerically zero" in reg.r2_note and "R^2 undefined" in repr(reg)
    # REML finds tau2 > 0 without moderators: R^2 stays defined
    reml = meta.metareg(lau["yi"], lau["vi"], np.asarray(lau["year"], float), method="REML")
    assert np.isfinite(reml.r2) and reml.r2_note is None


GLMM_LL = EDGE["glmm_loglik"]


@pytest.mark.reference
@pytest.mark.parametrize("row", GLMM_LL, ids=[f"{r['dataset']}-nAGQ{r['nAGQ']}" for r in GLMM_LL])
def test_glmm_loglik_conventions(row):
    fit = meta.binomial_glmm(row["xi"], row["ni"], n_nodes=row["nAGQ"])
    rel = 1e-6 if row["nAGQ"] == 1 else 1e-5
    if row["nAGQ"] == 1:  # lme4's Laplace logLik includes the binomial constants: ours
        close(fit.loglik, row["loglik_lme4"], rtol=rel)
    else:  # lme4's AGHQ logLik is relative to the saturated binomial model
        close(fit.loglik - row["ll_saturated"], row["loglik_lme4"], rtol=rel)
    # metafor prints ll(saturated) - deviance(glmer) / 2: not the marginal likelihood
    close(row["ll_saturated"] - row["deviance_lme4"] / 2, row["loglik_metafor"], rtol=1e-10)
    assert fit.loglik - row["loglik_metafor"] < -5


# --------------------------------------------------------------------------- 5. PL CIs
PL = REF["profile"]


@pytest.mark.reference
@pytest.mark.parametrize("row", PL, ids=[_id(r, ("dataset", "method")) for r in PL])
def test_profile_likelihood_ci_matches_metafor(row):
    if row["dataset"] == "bcg_metareg":
        import pandas as pd

        d = REF["reg_data"]
        mods = pd.DataFrame({"ablat": d["ablat"], "year": d["year"]})
        fit = meta.metareg(d["yi"], d["vi"], mods, method=row["method"])
    elif row["dataset"] == "wide":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = meta.random_effects([0, 30, 60], [1, 1, 1], method=row["method"])
    else:
        yi, vi = _uni_data(row["dataset"])
        fit = meta.random_effects(yi, vi, method=row["method"], level=row["level"])
    if row["ub_sign"] == ">":
        with pytest.warns(UserWarning, match="search limit"):
            ci = meta.tau2_profile_ci(fit)
    else:
        ci = meta.tau2_profile_ci(fit)
    close(ci.tau2, row["tau2"])
    close(ci.ci_low, row["tau2_ci_low"])
    close(ci.ci_high, row["tau2_ci_high"])
    assert ci.signs == (row["lb_sign"], row["ub_sign"])
    if row["dataset"] not in ("bcg_metareg",):
        tab = fit.confint(type="PL") if row["ub_sign"] != ">" else ci.summary()
        close(tab.loc["I2", ["ci_low", "ci_high"]], [row["i2_ci_low"], row["i2_ci_high"]])
        close(tab.loc["H2", ["ci_low", "ci_high"]], [row["h2_ci_low"], row["h2_ci_high"]])


def test_profile_ci_needs_ml_or_reml():
    yi, vi = _uni_data("bcg_RR")
    with pytest.raises(ValueError, match="ML or REML"):
        meta.tau2_profile_ci(meta.random_effects(yi, vi, method="DL"))
    with pytest.raises(ValueError, match="accepted"):
        meta.random_effects(yi, vi).confint(type="Wald")


# --------------------------------------------------------------------------- 6. fsn / tes
FSN = REF["fsn"]


@pytest.mark.reference
@pytest.mark.parametrize("row", FSN, ids=[f"{r['dataset']}-{i}" for i, r in enumerate(FSN)])
def test_fail_safe_n_matches_metafor(row):
    yi, vi = _uni_data(row["dataset"])
    kw = {k: row[k] for k in ("type", "test", "alpha", "target", "weighted") if k in row}
    res = meta.fail_safe_n(yi, vi, **kw)
    assert res.fsnum == row["fsnum"]
    close(res.pvalue, row["pval"])
    close(res.mean_effect, row["meanes"])
    close(res.target, row["target_out"])


TES = REF["tes"]


@pytest.mark.reference
@pytest.mark.parametrize("row", TES, ids=[f"{r['dataset']}-{i}" for i, r in enumerate(TES)])
def test_excess_significance_matches_metafor(row):
    yi, vi = _uni_data(row["dataset"])
    kw = {k: row[k] for k in ("test", "alternative", "alpha", "H0") if k in row}
    if "tes.alternative" in row:
        kw["tes_alternative"] = row["tes.alternative"]
    if row["with_tau2"]:
        kw["tau2"] = row["tau2"]
    if row["theta_used"] is not None:
        kw["theta"] = row["theta_used"]
    res = meta.excess_significance(yi, vi, **kw)
    assert res.observed == row["O"] and res.test == row["test_used"]
    np.testing.assert_array_equal(res.significant, row["sig"])
    close(res.power, row["power"])
    close(res.expected, row["E"])
    close(res.ratio, row["OEratio"])
    close(res.statistic, row["X2"])
    close(res.pvalue, row["pval"])


def test_excess_significance_from_fit_uses_estimate_and_tau2():
    yi, vi = _uni_data("bcg_RR")
    fit = meta.random_effects(yi, vi)
    a = meta.excess_significance(fit)
    b = meta.excess_significance(yi, vi, theta=fit.estimate, tau2=fit.tau2)
    np.testing.assert_allclose(a.power, b.power, rtol=1e-14)
    assert "Excess" in repr(a) and a.summary().shape == (1, 6)


def test_fail_safe_n_errors_and_rendering():
    with pytest.raises(ValueError, match="accepted"):
        meta.fail_safe_n([1, 2], [1, 1], type="REM")
    with pytest.raises(ValueError, match="vi"):
        meta.fail_safe_n([1, 2], type="Rosenthal")
    res = meta.fail_safe_n([0.3, 0.5], type="Orwin")  # unweighted Orwin needs no variances
    assert res.fsnum == 2 and "Orwin" in repr(res)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.01, 0.99), min_size=1, max_size=10))
def test_poisson_binomial_is_a_distribution(p):
    from jdmstats.meta.failsafe import _poisson_binomial

    d = _poisson_binomial(np.array(p))
    assert d.min() >= -1e-15 and abs(d.sum() - 1) < 1e-12
    np.testing.assert_allclose(np.arange(d.size) @ d, np.sum(p), rtol=1e-10)


# --------------------------------------------------------------------------- 3. diagnostics, t
TDIAG = REF["t_diagnostics"]


@pytest.mark.reference
@pytest.mark.parametrize("row", TDIAG, ids=[f"{r['dataset']}-{r['method']}" for r in TDIAG])
def test_diagnostics_of_t_test_fits_match_metafor(row):
    yi, vi = _uni_data(row["dataset"])
    fit = meta.random_effects(yi, vi, method=row["method"], test="t")
    l1 = meta.leave_one_out(fit)
    for col, ref in (("estimate", "l1_estimate"), ("se", "l1_se"), ("statistic", "l1_tval"),
                     ("pvalue", "l1_pval"), ("ci_low", "l1_ci_low"), ("ci_high", "l1_ci_high"),
                     ("tau2", "l1_tau2")):  # fmt: skip
        close(l1[col], row[ref])
    cu = meta.cumulative(fit)
    close(cu["estimate"], row["cu_estimate"])
    close(cu["ci_low"], row["cu_ci_low"])
    close(cu["pvalue"], row["cu_pval"])
    inf = meta.influence(fit).summary()
    for col, ref in (("rstudent", "inf_rstudent"), ("dffits", "inf_dffits"),
                     ("cook_d", "inf_cook"), ("cov_r", "inf_covr")):  # fmt: skip
        close(inf[col], row[ref])
    eg = meta.egger_test(fit)
    close(eg.statistic, row["reg_stat"])
    close(eg.pvalue, row["reg_pval"])
    assert eg.df == row["reg_df"]


# --------------------------------------------------------------------------- GENQM
GENQM = json.loads((Path(__file__).parent / "reference" / "metafor_genqm.json").read_text())


def _genqm_fit(case):
    ds = GENQM["datasets"][case["dataset"]]
    yi, vi = np.asarray(ds["yi"]), np.asarray(ds["vi"])
    w = {"isqrt": 1 / np.sqrt(vi), "unit": np.ones_like(vi), "ivw": 1 / vi}[case["weights"]]
    if case["mods"]:
        return meta.metareg(yi, vi, np.asarray(ds["ablat"]), method="GENQM", weights=w,
                            test=case["test"])  # fmt: skip
    return meta.random_effects(yi, vi, method="GENQM", weights=w, test=case["test"])


@pytest.mark.reference
@pytest.mark.parametrize("case", GENQM["cases"], ids=[
    f"{c['dataset']}-{c['weights']}-{c['test']}{'-mods' if c['mods'] else ''}"
    for c in GENQM["cases"]])  # fmt: skip
def test_genqm_matches_metafor(case):
    fit = _genqm_fit(case)
    assert fit.tau2 == pytest.approx(case["tau2"], rel=1e-9, abs=1e-14)
    assert fit.se_tau2 == pytest.approx(case["se_tau2"], rel=1e-9)
    b = fit.beta if case["mods"] else [fit.estimate]
    se = fit.coef["se"] if case["mods"] else [fit.se]
    np.testing.assert_allclose(b, case["b"], rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(se, case["se"], rtol=1e-9)
    assert fit.i2 == pytest.approx(case["I2"], rel=1e-8, abs=1e-12)


def test_imhof_matches_known_distributions():
    from scipy import stats

    from jdmstats.meta._solver import _imhof_upper

    for q in (0.3, 2.0, 7.5):  # equal weights: a scaled chi-square with n df
        for n in (2, 3, 7):
            assert _imhof_upper(q, np.full(n, 1.7)) == pytest.approx(
                stats.chi2.sf(q / 1.7, n), rel=1e-9)
    # two weights 1 and 2: P(X1 + 2 X2 > q) by direct numerical convolution
    q = 4.0
    ref = stats.chi2.sf(q, 1) + _quad_conv(q)
    assert _imhof_upper(q, np.array([1.0, 2.0])) == pytest.approx(ref, rel=1e-8)


def _quad_conv(q):
    """P(X1 + 2 X2 > q, X1 <= q) = int_0^q f1(x) P(X2 > (q - x) / 2) dx (chi2_1 variables)."""
    from scipy import integrate, stats

    return integrate.quad(lambda x: stats.chi2.pdf(x, 1) * stats.chi2.sf((q - x) / 2, 1), 0, q,
                          epsabs=1e-14, epsrel=1e-12, limit=200)[0]  # fmt: skip


@settings(max_examples=8, deadline=None)
@given(st.lists(st.tuples(st.floats(-2, 2), st.floats(0.01, 1), st.floats(0.1, 10)),
                min_size=4, max_size=9), st.floats(0.01, 100))
def test_genqm_is_invariant_to_the_scale_of_the_weights(data, c):
    yi, vi, w = (np.array(x) for x in zip(*data, strict=True))
    a = meta.random_effects(yi, vi, method="GENQM", weights=w)
    b = meta.random_effects(yi, vi, method="GENQM", weights=c * w)
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-7, abs=1e-10)
    assert a.tau2 >= 0
