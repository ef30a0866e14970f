"""Structure tests (Agg, no pixels) of jdmstats.plots.survival and jdmstats.plots.therapy."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from test_response import _csv, as_episodes  # noqa: E402

from jdmstats import datasets, response  # noqa: E402
from jdmstats.plots import style  # noqa: E402
from jdmstats.plots.survival import at_risk_counts, survival_curves, swimmer  # noqa: E402
from jdmstats.plots.therapy import response_forest  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


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


def test_swimmer_one_bar_per_course():
    ep = datasets.load_episodes()
    ax = swimmer(ep)
    gids = [p.get_gid() for p in ax.patches if p.get_gid()]
    assert sorted(gids) == sorted(ep["episode_id"].astype(str))
    assert len(ax.get_yticks()) == ep["patient_id"].nunique()


def test_swimmer_synthetic_markers():
    ep = as_episodes(_csv("edge"))
    ep["followup_months"] = 10.0
    ax = swimmer(ep)
    markers = [line.get_marker() for line in ax.get_lines()]
    assert markers.count("o") == (ep["censoring"] == "exact").sum()
    assert markers.count(">") == (ep["censoring"] == "interval").sum()


def test_response_forest_rows_and_counts():
    res = response.response_proportions(as_episodes(_csv("interval")), n_sim=99)
    ax = response_forest(res)
    counts = [t.get_text() for t in ax.texts if t.get_gid() == "counts"]
    assert len(counts) == len(res.table)
    assert counts[0].startswith(f"{res.table['any_regression'][0]}/{res.table['episodes'][0]}")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B", "C", "all"]
    pooled = [p for p in ax.patches if p.get_gid() == "pooled"]
    assert len(pooled) == int(np.isfinite(res.table["pooled_estimate"]).sum())
    ax2 = response_forest(res, which="complete")
    assert ax2.get_xlabel().startswith("Courses followed by complete")
    with pytest.raises(ValueError):
        response_forest(res, which="partial")


def test_bundled_figures_render(tmp_path):
    ep = datasets.load_episodes()
    ax = response_forest(response.response_proportions(ep))
    files = style.save(ax.figure, tmp_path / "forest")
    assert [f.suffix for f in files] == [".pdf", ".png"] and all(f.stat().st_size for f in files)
    ax = survival_curves(response.time_to_regression(ep, n_boot=10))
    assert ax.get_xlabel().startswith("Months")
