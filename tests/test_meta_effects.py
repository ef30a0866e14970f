"""Tests for jdmstats.meta.effects (escalc, per-study CIs, back-transformations)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jdmstats.meta.effects import (
    EffectSizes,
    clopper_pearson,
    escalc,
    proportion_effects,
    transf_iarcsin,
    transf_ilogit,
    transf_ipft_hm,
    transf_logit,
    transf_pft,
    wilson,
)

REF = json.loads((Path(__file__).parent / "reference" / "metafor_proportions.json").read_text())
DATA = REF["datasets"]
HYP = settings(max_examples=60, derandomize=True, deadline=None)


def _close(actual, expected, rtol=1e-9, atol=1e-12):
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray([np.nan if v is None else v for v in np.atleast_1d(expected)], float)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)


def _escalc_case(case):
    m = case["measure"]
    kw = {"to": case["to"], "vtype": case["vtype"]}
    if case["add"] is not None:
        kw["add"] = case["add"]
    name = case["dataset"]
    if m in ("PR", "PLO", "PAS", "PFT"):
        d = DATA["props"][name]
        return escalc(m, xi=d["xi"], ni=d["ni"], **kw)
    if m in ("OR", "RD"):
        d = DATA["twogroup"][name]
        return escalc(m, ai=d["ai"], n1i=d["n1i"], ci=d["ci"], n2i=d["n2i"], **kw)
    if m in ("MD", "SMD"):
        d = DATA["means"][name]
        return escalc(m, **d, **kw)
    d = DATA["cors"][name]
    return escalc(m, ri=d["ri"], ni=d["ni"], **kw)


@pytest.mark.reference
@pytest.mark.parametrize(
    "case",
    REF["escalc"],
    ids=[f"{c['dataset']}-{c['measure']}-{c['to']}-{c['vtype']}-{c['add']}" for c in REF["escalc"]],
)
def test_escalc_matches_metafor(case):
    es = _escalc_case(case)
    _close(es.yi, case["yi"])
    _close(es.vi, case["vi"])


@pytest.mark.reference
def test_escalc_grid_complete():
    g = REF["grid"]
    seen = {(c["dataset"], c["measure"]) for c in REF["escalc"]}
    for ds in g["prop_datasets"]:
        for m in ("PR", "PLO", "PAS", "PFT"):
            assert (ds, m) in seen
    for ds in g["twogroup_datasets"]:
        assert (ds, "OR") in seen and (ds, "RD") in seen
    for ds in g["mean_datasets"]:
        assert (ds, "MD") in seen and (ds, "SMD") in seen
    for ds in g["cor_datasets"]:
        assert (ds, "ZCOR") in seen
    cis = {(c["dataset"], c["level"]) for c in REF["ci"]}
    assert cis == {(d, lev) for d in g["prop_datasets"] for lev in g["ci_levels"]}


@pytest.mark.reference
@pytest.mark.parametrize("case", REF["ci"], ids=[f"{c['dataset']}-{c['level']}" for c in REF["ci"]])
def test_per_study_cis_match_r(case):
    d = DATA["props"][case["dataset"]]
    lo, hi = clopper_pearson(d["xi"], d["ni"], case["level"])
    _close(lo, case["cp_lower"], rtol=1e-9)
    _close(hi, case["cp_upper"], rtol=1e-9)
    lo, hi = wilson(d["xi"], d["ni"], case["level"])
    _close(lo, case["wilson_lower"], rtol=1e-9)
    _close(hi, case["wilson_upper"], rtol=1e-9)


@pytest.mark.reference
def test_back_transformations_match_metafor():
    t = REF["transf"]
    _close(transf_ilogit(t["x_logit"]), t["ilogit"])
    _close(transf_iarcsin(t["x_asin"]), t["iarcsin"])
    with pytest.warns(UserWarning, match="Freeman-Tukey"):
        out = transf_ipft_hm(t["x_asin"], t["ni"])
    _close(out, t["ipft_hm"])


# --------------------------------------------------------------------------- edge cases


def test_events_larger_than_totals_names_the_study():
    with pytest.raises(ValueError, match=r"study 1 \(label 'B'\).*events larger than total"):
        escalc("PLO", xi=[1, 12], ni=[10, 10], labels=["A", "B"])
    with pytest.raises(ValueError, match="study 2"):
        clopper_pearson([1, 2, 5], [3, 3, 4])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"xi": [1, -1], "ni": [5, 5]}, "negative"),
        ({"xi": [1, np.nan], "ni": [5, 5]}, "not finite"),
        ({"xi": [1, 2], "ni": [5]}, "length"),
        ({"xi": [1, 2], "ni": [5, 0]}, "must be > 0"),
    ],
)
def test_bad_counts(kwargs, match):
    with pytest.raises(ValueError, match=match):
        escalc("PR", **kwargs)


def test_unknown_names_list_accepted_values():
    with pytest.raises(ValueError, match="accepted: PR, PLO"):
        escalc("XYZ", xi=[1], ni=[2])
    with pytest.raises(ValueError, match="only0"):
        escalc("PLO", xi=[1], ni=[2], to="sometimes")
    with pytest.raises(ValueError, match="vtype"):
        escalc("PLO", xi=[1], ni=[2], vtype="UB")
    with pytest.raises(ValueError, match="freeman-tukey"):
        proportion_effects([1], [2], transform="probit")


def test_continuity_correction_record():
    es = escalc("PLO", xi=[0, 4, 10], ni=[10, 20, 10], labels=["a", "b", "c"])
    assert isinstance(es, EffectSizes)
    assert es.cc_applied.tolist() == [True, False, True]
    assert es.cc_studies == ("a", "c")
    assert es.cc_value == 0.5 and es.cc_to == "only0"
    assert "continuity correction 0.5" in repr(es)
    # no correction: infinite logits for 0/all events (metafor gives -Inf/Inf too)
    es = escalc("PLO", xi=[0, 4], ni=[10, 20], to="none")
    assert not es.cc_applied.any() and np.isneginf(es.yi[0])
    # PAS / PFT: no correction by default (metafor sets add=0)
    for m in ("PAS", "PFT"):
        es = escalc(m, xi=[0, 4], ni=[10, 20])
        assert not es.cc_applied.any()
        assert np.isfinite(es.yi).all()
    # if0all: everyone once any study has a zero cell
    es = escalc("OR", ai=[0, 3], n1i=[10, 10], ci=[2, 4], n2i=[10, 10], to="if0all")
    assert es.cc_applied.all()


def test_unpacking_and_summary():
    yi, vi = escalc("ZCOR", ri=[0.1, 0.5], ni=[20, 40])
    assert yi.shape == vi.shape == (2,)
    df = escalc("ZCOR", ri=[0.1, 0.5], ni=[20, 40]).summary()
    assert list(df.columns) == ["yi", "vi", "sei", "ni", "cc_applied"]


def test_zcor_small_n_warns():
    with pytest.warns(UserWarning, match="ni <= 3"):
        es = escalc("ZCOR", ri=[0.1, 0.5], ni=[3, 40])
    assert np.isnan(es.vi[0]) and np.isfinite(es.vi[1])


def test_single_study_and_all_events():
    es = escalc("PR", xi=[7], ni=[7])
    assert es.k == 1 and es.cc_applied[0]
    lo, hi = clopper_pearson([7], [7])
    assert hi[0] == 1.0 and 0 < lo[0] < 1
    lo, hi = wilson([0], [7])
    assert lo[0] == 0.0


# --------------------------------------------------------------------------- properties

counts = st.integers(min_value=1, max_value=400).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
)


@HYP
@given(counts, st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_cis_contain_point_estimates(xn, level):
    x, n = xn
    cp_lo, cp_hi = clopper_pearson([x], [n], level)
    w_lo, w_hi = wilson([x], [n], level)
    p = x / n
    assert 0 <= cp_lo[0] <= p <= cp_hi[0] <= 1
    assert 0 <= w_lo[0] <= p <= w_hi[0] <= 1
    # Clopper-Pearson is conservative: it contains Wilson's point estimate (x/n) and centre
    z2 = (w_hi[0] - w_lo[0]) > 0
    centre = 0.5 * (w_lo[0] + w_hi[0]) if z2 else p
    assert cp_lo[0] <= centre <= cp_hi[0]


@HYP
@given(st.lists(counts, min_size=1, max_size=15))
def test_back_transforms_invert(xns):
    x = np.array([a for a, _ in xns], float)
    n = np.array([b for _, b in xns], float)
    p = x / n
    np.testing.assert_allclose(
        transf_ilogit(transf_logit(np.clip(p, 1e-9, 1 - 1e-9))),
        np.clip(p, 1e-9, 1 - 1e-9),
        rtol=1e-9,
    )
    pas = escalc("PAS", xi=x, ni=n)
    np.testing.assert_allclose(transf_iarcsin(pas.yi), p, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ft = transf_pft(p, n)
        back = transf_ipft_hm(ft, n)
    assert np.all((back >= 0) & (back <= 1))
    assert np.all(np.diff(back[np.argsort(ft)]) >= -1e-12)  # monotone in the FT value


@HYP
@given(st.lists(counts, min_size=2, max_size=12), st.sampled_from(["PR", "PLO", "PAS", "PFT"]))
def test_escalc_study_order_invariant(xns, measure):
    x = np.array([a for a, _ in xns], float)
    n = np.array([b for _, b in xns], float)
    perm = np.arange(len(x))[::-1]
    a = escalc(measure, xi=x, ni=n)
    b = escalc(measure, xi=x[perm], ni=n[perm])
    np.testing.assert_allclose(a.yi[perm], b.yi)
    np.testing.assert_allclose(a.vi[perm], b.vi)
    assert np.all(a.vi > 0)
