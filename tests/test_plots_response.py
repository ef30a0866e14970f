"""Structure tests (Agg, no pixels) of jdmstats.plots.survival and jdmstats.plots.therapy."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from test_response import _csv, as_episodes  # noqa: E402

from jdmstats import datasets, response  # noqa: E402
from jdmstats.plots import style  # noqa: E402
from jdmstats.plots.survival import at_risk_counts, survival_curves, swimmer  # noqa: E402
from jdmstats.plots.therapy import response_forest  # noqa: E402

pytestmark = pytest.mark.usefixtures("close_figures")


@pytest.fixture(scope="module")
def interval_result():
    return response.time_to_regression(as_episodes(_csv("interval")), n_boot=20)


def test_survival_curves_structure(interval_result):
    fig, ax = style.figure("double")
    out = survival_curves(interval_result, ax=ax, times=[0, 6, 12, 24])
    assert out is ax
    labels = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert labels == ["A (n = 15)", "B (n = 15)", "C (n = 15)"]
    risk = [t for t in ax.texts if t.get_gid() == "at_risk"]
    assert len(risk) == 3 * 4
    assert [int(t.get_text()) for t in risk[:4]] == at_risk_counts(
        interval_result.timed, "A", [0, 6, 12, 24]
    )
    assert ax.get_ylim() == (-0.02, 1.02)


def test_survival_curves_km_and_new_axes():
    res = response.time_to_regression(as_episodes(_csv("right")), n_boot=10)
    ax = survival_curves(res, at_risk=False)
    assert not [t for t in ax.texts if t.get_gid() == "at_risk"]
    assert len([c for c in ax.collections]) >= 3  # confidence bands


def test_at_risk_counts_kaplan_meier_risk_set():
    res = response.time_to_regression(as_episodes(_csv("right")), n_boot=10)
    sub = res.timed[res.timed["class"] == "A"]
    assert at_risk_counts(res.timed, "A", [0.0])[0] == len(sub)


def test_swimmer_one_bar_per_timed_course_and_no_bar_for_untimed():
    ep = datasets.load_episodes()
    ax = swimmer(ep)
    bars = [p.get_gid() for p in ax.patches if p.get_gid()]
    untimed = [ln.get_gid().removeprefix("untimed:") for ln in ax.get_lines()
               if (ln.get_gid() or "").startswith("untimed:")]  # fmt: skip
    assert sorted(bars + untimed) == sorted(ep["episode_id"].astype(str))  # each course once
    timed = ep["followup_months"].notna() | ep["time_upper_months"].notna() | ep[
        "time_lower_months"].gt(0)  # fmt: skip
    assert set(bars) == set(ep.loc[timed, "episode_id"].astype(str))
    assert all(ln.get_xdata()[0] < 0 for ln in ax.get_lines()
               if (ln.get_gid() or "").startswith("untimed:"))  # left of time zero: no length
    assert len(ax.get_yticks()) == ep["patient_id"].nunique()


def test_class_styles_are_distinct_and_stable():
    from jdmstats.evidence.schema import THERAPY_CLASSES

    looks = {c: style.class_style(c) for c in THERAPY_CLASSES}
    assert len(set(looks.values())) == len(looks)  # every class its own colour and marker
    assert all(colour != "#F0E442" for colour, _ in looks.values())  # no yellow on white
    # a class's look does not depend on which other classes a figure shows
    ep = datasets.load_episodes()
    one = swimmer(ep[ep["therapy_class"] == "rituximab"])
    colours = {p.get_facecolor()[:3] for p in one.patches if p.get_gid()}
    assert colours == {matplotlib.colors.to_rgb(looks["rituximab"][0])}


def test_swimmer_synthetic_markers():
    ep = as_episodes(_csv("edge"))
    ep["followup_months"] = 10.0
    ax = swimmer(ep)
    markers = [line.get_marker() for line in ax.get_lines()]
    assert markers.count("o") == (ep["censoring"] == "exact").sum()
    assert markers.count(">") == (ep["censoring"] == "interval").sum()


def test_response_forest_rows_counts_and_no_diamond_for_one_source():
    from jdmstats.questions.class_response import pooled_response

    t = datasets.load_all()
    res = pooled_response(t["episodes"], t["arms"], t["studies"])
    ax = response_forest(res)
    shown = res.table[res.table["assessed"] > 0].reset_index(drop=True)
    counts = [x.get_text() for x in ax.texts if x.get_gid() == "counts"]
    assert len(counts) == len(shown)
    for text, (_, r) in zip(counts, shown.iterrows(), strict=True):  # k and n/N on every row
        assert text.startswith(f"{int(r['k_sources'])}    {int(r['responders'])}/{int(r['assessed'])}")
    diamonds = [p for p in ax.patches if p.get_gid() == "pooled"]
    assert len(diamonds) == int(np.isfinite(shown["pooled_estimate"]).sum())
    assert all(r["k_sources"] >= 2 for _, r in shown[np.isfinite(shown["pooled_estimate"])].iterrows())
    one = [t for t, (_, r) in zip(counts, shown.iterrows(), strict=True) if r["k_sources"] == 1]
    assert one and all(t.endswith("one source") for t in one)
    assert any(x.get_gid() == "footnote" for x in ax.figure.texts)  # "not pooled" explained


def test_bundled_figures_render(tmp_path):
    from jdmstats.questions.class_response import pooled_response

    t = datasets.load_all()
    ep = t["episodes"]
    ax = response_forest(pooled_response(ep, t["arms"], t["studies"]))
    files = style.save(ax.figure, tmp_path / "forest")
    assert [f.suffix for f in files] == [".pdf", ".png"] and all(f.stat().st_size for f in files)
    ax = survival_curves(response.time_to_regression(ep, n_boot=10))
    assert ax.get_xlabel().startswith("Months")


def test_no_curve_for_classes_with_too_few_timed_observations():
    ep = datasets.load_episodes()
    res = response.time_to_regression(ep, n_boot=10)
    counts = res.timed["class"].value_counts()
    ax = survival_curves(res, min_n=5)
    drawn = [ln.get_label().split(" (n")[0].replace(" ", "_") for ln in ax.get_lines()
             if not ln.get_label().startswith("_")]  # fmt: skip
    assert drawn and all(counts[c] >= 5 for c in drawn)
    assert set(counts[counts < 5].index).isdisjoint(drawn)  # never a curve through n = 1
    assert [t % 6 for t in ax.get_xticks()] == [0] * len(ax.get_xticks())  # 0, 6, 12, ...
    none = survival_curves(res, min_n=100)
    assert any(t.get_gid() == "too_few" for t in none.texts)


def test_time_observations_plot_one_row_per_observation():
    from jdmstats.plots.therapy import time_observations_plot
    from jdmstats.questions.class_response import time_observations

    t = datasets.load_all()
    obs = time_observations(t["episodes"], t["arms"])
    ax = time_observations_plot(obs)
    assert len(ax.get_yticks()) == len(obs)
    assert ax.get_xlim()[0] == 0
