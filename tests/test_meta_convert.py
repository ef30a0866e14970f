"""Tests for jdmstats.meta.convert.median_to_mean (Luo 2018 / Wan 2014 / Shi 2020)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jdmstats.meta.convert import ConversionResult, median_to_mean

REF = json.loads((Path(__file__).parent / "reference" / "metafor_proportions.json").read_text())[
    "conv"
]
HYP = settings(max_examples=60, derandomize=True, deadline=None)


def _nan(v):
    return np.array([np.nan if x is None else x for x in v], dtype=float)


@pytest.mark.reference
def test_matches_reference():
    inp = REF["input"]
    res = median_to_mean(
        _nan(inp["median"]),
        _nan(inp["n"]),
        q1=_nan(inp["q1"]),
        q3=_nan(inp["q3"]),
        minimum=_nan(inp["min"]),
        maximum=_nan(inp["max"]),
    )
    np.testing.assert_allclose(res.mean, _nan(REF["mean"]), rtol=1e-10)
    np.testing.assert_allclose(res.sd, _nan(REF["sd"]), rtol=1e-10)
    # the reference covers all three scenarios
    assert set(res.scenario) == {"S1", "S2", "S3"}


def test_record_per_study():
    res = median_to_mean(
        [10.0, 12.0, 8.0],
        [40, 25, 60],
        q1=[7.0, np.nan, 6.0],
        q3=[14.0, np.nan, 11.0],
        minimum=[np.nan, 5.0, 1.0],
        maximum=[np.nan, 30.0, 20.0],
        labels=["a", "b", "c"],
    )
    assert isinstance(res, ConversionResult)
    assert list(res.scenario) == ["S2", "S1", "S3"]
    assert list(res.mean_method) == ["Luo 2018 eq. 11", "Luo 2018 eq. 7", "Luo 2018 eq. 15"]
    assert list(res.sd_method) == ["Wan 2014 eq. 16", "Wan 2014 eq. 9", "Shi 2020 eq. 10"]
    df = res.summary()
    assert list(df.index) == ["a", "b", "c"] and "skewed" in df.columns
    assert "Median -> mean/SD" in repr(res)


def test_small_n_and_missing_summary_warn():
    with pytest.warns(UserWarning, match="no estimate"):
        res = median_to_mean([5.0, 5.0], [3, 30], q1=[4, np.nan], q3=[6, np.nan])
    assert np.isnan(res.mean).all()
    assert list(res.note) == ["n < 5", "insufficient summary"]


def test_order_violation_names_study():
    with pytest.raises(ValueError, match=r"study 1 \(label '2'\).*min <= q1"):
        median_to_mean([5.0, 5.0], [30, 30], q1=[4, 6], q3=[6, 7])


def test_unknown_method():
    with pytest.raises(ValueError, match="accepted: luo/wan/shi, wan"):
        median_to_mean([5.0], [30], q1=[4], q3=[6], method="hozo")


def test_exclude_skewed():
    # strongly right-skewed range around the median
    res = median_to_mean([2.0], [50], minimum=[1.0], maximum=[40.0], exclude_skewed=True)
    assert res.skewed[0] and np.isnan(res.mean[0]) and res.note[0] == "skewed"


def test_wan_option_is_the_published_formula():
    # Wan et al. (2014) S2 mean (q1 + m + q3) / 3 and S1 mean (a + 2m + b) / 4
    res = median_to_mean(
        [10.0, 12.0],
        [40, 25],
        q1=[7, np.nan],
        q3=[16, np.nan],
        minimum=[np.nan, 4.0],
        maximum=[np.nan, 30.0],
        method="wan",
    )
    np.testing.assert_allclose(res.mean, [(7 + 10 + 16) / 3, (4 + 24 + 30) / 4])


five = st.tuples(
    st.floats(-50, 50),
    st.floats(0.1, 10),
    st.floats(0.1, 10),
    st.floats(0.1, 10),
    st.floats(0.1, 10),
    st.integers(5, 2000),
)


@HYP
@given(five, st.floats(0.1, 10), st.floats(-100, 100))
def test_location_scale_equivariance(v, a, b):
    med, d1, d2, d3, d4, n = v
    q1, q3 = med - d2, med + d3
    lo, hi = q1 - d1, q3 + d4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r1 = median_to_mean(
            [med] * 3,
            [n] * 3,
            q1=[q1, q1, np.nan],
            q3=[q3, q3, np.nan],
            minimum=[lo, np.nan, lo],
            maximum=[hi, np.nan, hi],
        )
        r2 = median_to_mean(
            [a * med + b] * 3,
            [n] * 3,
            q1=[a * q1 + b, a * q1 + b, np.nan],
            q3=[a * q3 + b, a * q3 + b, np.nan],
            minimum=[a * lo + b, np.nan, a * lo + b],
            maximum=[a * hi + b, np.nan, a * hi + b],
        )
    np.testing.assert_allclose(r2.mean, a * r1.mean + b, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(r2.sd, a * r1.sd, rtol=1e-9, atol=1e-12)
    assert np.all(r1.sd > 0)
    # the estimated mean lies within the reported range / IQR
    assert lo - 1e-9 <= r1.mean[0] <= hi + 1e-9
    assert q1 - 1e-9 <= r1.mean[1] <= q3 + 1e-9


@HYP
@given(st.floats(-20, 20), st.floats(0.1, 5), st.floats(0.1, 5), st.integers(5, 500))
def test_symmetric_summary_gives_mean_equal_median(med, d_in, d_out, n):
    res = median_to_mean(
        [med],
        [n],
        q1=[med - d_in],
        q3=[med + d_in],
        minimum=[med - d_in - d_out],
        maximum=[med + d_in + d_out],
    )
    np.testing.assert_allclose(res.mean, [med], atol=1e-9)
