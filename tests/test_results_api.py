"""Every public fitting function returns a result object with one shape of API: a readable
repr, ``summary()`` as a DataFrame, ``to_markdown()`` and ``to_latex()`` (on a default install,
with no *tabulate* or *jinja2*), and one vocabulary of column names."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from jdmstats import meta
from jdmstats.results import ResultMixin

YI = [-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01]
VI = [0.33, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004]
YEARS = [1948, 1949, 1960, 1977, 1973, 1953, 1973, 1980]


def _results():
    fit = meta.random_effects(YI, VI, method="REML")
    reg = meta.metareg(YI, VI, YEARS)
    return {
        "random_effects": fit,
        "metareg": reg,
        "proportion": meta.proportion([5, 12, 30], [20, 40, 90], model="glmm"),
        "leave_one_out": meta.leave_one_out(fit),
        "cumulative": meta.cumulative(fit),
        "baujat": meta.baujat(fit),
        "influence": meta.influence(fit),
        "fit_statistics": meta.fit_statistics(fit),
        "egger_test": meta.egger_test(fit),
        "trim_and_fill": meta.trim_and_fill(fit),
        "subgroup_analysis": meta.subgroup_analysis(YI, VI, ["a"] * 4 + ["b"] * 4),
        "anova": meta.anova(meta.metareg(YI, VI, YEARS, method="ML"),
                            meta.random_effects(YI, VI, method="ML")),
        "median_to_mean": meta.median_to_mean([10.0], [30], q1=[5.0], q3=[20.0]),
        "bayes": meta.bayes(YI, VI, tau_prior="halfnormal", tau_scale=0.5),
    }


RESULTS = _results()


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_every_result_has_the_same_api(name, monkeypatch):
    res = RESULTS[name]
    assert isinstance(res, ResultMixin), name
    summary = res.summary()
    assert isinstance(summary, pd.DataFrame) and len(summary)
    text = repr(res)
    assert text and "object at 0x" not in text
    monkeypatch.setitem(sys.modules, "tabulate", None)  # pandas' to_markdown would fail
    monkeypatch.setitem(sys.modules, "jinja2", None)
    md = res.to_markdown()
    assert md.splitlines()[1].startswith("|") and md.count("\n") >= 2
    tex = res.to_latex()
    assert "\\toprule" in tex and "\\bottomrule" in tex
    assert "<table" in res._repr_html_()


def test_one_vocabulary_for_statistics():
    loo = RESULTS["leave_one_out"]
    assert {"statistic", "pvalue", "q", "q_pvalue", "ci_low", "ci_high"} <= set(loo.columns)
    assert not {"zval", "tval", "pval", "qp"} & set(loo.columns)
    assert "statistic" in RESULTS["cumulative"].columns


def test_table_results_read_like_their_table():
    loo = RESULTS["leave_one_out"]
    assert isinstance(loo.table, pd.DataFrame)
    assert len(loo) == len(YI) and loo["estimate"].equals(loo.table["estimate"])
    assert loo.loc[loo.index[0], "k"] == len(YI) - 1
    with pytest.raises(AttributeError):
        loo.no_such_column_or_method  # noqa: B018


def test_package_ships_type_information():
    assert (Path(meta.__file__).parent.parent / "py.typed").exists()
