"""Structure tests of the forest, funnel, bubble, leave-one-out and Baujat plots (Agg)."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from jdmstats import meta  # noqa: E402
from jdmstats.meta.model import random_effects  # noqa: E402
from jdmstats.meta.proportions import proportion  # noqa: E402
from jdmstats.meta.regression import metareg  # noqa: E402
from jdmstats.plots import style  # noqa: E402
from jdmstats.plots.diagnostics import baujat_plot, bubble, funnel, leave_one_out_plot  # noqa: E402
from jdmstats.plots.forests import forest, forest_effects, forest_height  # noqa: E402

EV = np.array([5, 18, 3, 23, 6, 10, 63, 0])
N = np.array([8, 79, 9, 54, 49, 57, 427, 50])
LABELS = [f"Study {i}" for i in range(8)]
YEARS = np.array([1976, 1998, 2000, 2008, 2009, 2013, 2017, 2020])


pytestmark = pytest.mark.usefixtures("close_figures")


@pytest.fixture(scope="module")
def fits():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        glmm = proportion(EV, N, model="glmm", labels=LABELS)
        iv = proportion(EV, N, model="iv", method="REML", test="knha", labels=LABELS)
    return glmm, iv


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def _by_gid(ax, gid):
    arts = list(ax.patches) + list(ax.lines) + list(ax.collections)
    return [a for a in arts if a.get_gid() == gid]


@pytest.mark.parametrize("width", ["single", "double"])
def test_forest_structure(fits, width):
    glmm, iv = fits
    with style.context():
        fig, ax = style.figure(width, forest_height(8, n_pooled=2))
        out = forest(glmm, ax=ax, extra_pooled=[iv], sort_by="year", years=YEARS)
    assert out is ax
    pts = _by_gid(ax, "studies")[0]
    assert len(pts.get_offsets()) == 8
    assert len(_by_gid(ax, "ci")[0].get_segments()) == 8
    assert len(_by_gid(ax, "diamond")) == 2
    assert len(_by_gid(ax, "pi")) == 1
    texts = _texts(ax)
    for lab in LABELS:
        assert lab in texts
    assert "63/427" in texts and "Events/N" in texts
    assert "GLMM" in texts and "k = 8" in texts
    assert "95% prediction interval" in texts
    # exact per-study CI as text, in percent
    assert "62.5 [24.5, 91.5]" in texts
    lo, hi = ax.get_xlim()
    assert lo == 0 and 0 < hi <= 1
    assert ax.xaxis.get_major_formatter()(0.5, 0) == "50%"
    # sorted by year: first study row at the top
    ys = pts.get_offsets()[:, 1]
    assert np.all(np.diff(ys) < 0)
    # stays inside the figure's width
    assert fig.get_size_inches()[0] == pytest.approx(style.width(width))


def test_forest_sort_by_estimate_and_height_grows(fits):
    glmm, _ = fits
    ax = forest(glmm, sort_by="estimate")
    pts = _by_gid(ax, "studies")[0].get_offsets()
    order = np.argsort(-pts[:, 1])  # top to bottom
    assert np.all(np.diff(pts[order, 0]) >= 0)
    assert forest_height(40) > forest_height(8) > forest_height(2)
    with pytest.raises(ValueError, match="years"):
        forest(glmm, sort_by="year")


def test_forest_subgroups(fits):
    glmm, _ = fits
    groups = ["europe", "europe", "europe", "latin_america", "not_stated", "oceania",
              "multinational", "east_asia"]  # fmt: skip
    europe = proportion(glmm.events[:3], glmm.totals[:3], model="glmm")
    ax = forest(glmm, groups=groups, subgroup_fits={"europe": europe})
    texts = _texts(ax)
    for head in ("Europe", "Latin america", "Not stated", "Oceania", "East asia"):
        assert head in texts
    assert len(_by_gid(ax, "subgroup-diamond")) == 1  # only the group given a fit
    assert "Subtotal (k = 3)" in texts
    assert len(_by_gid(ax, "studies")[0].get_offsets()) == 8


def test_forest_effects_md_and_or():
    yi, vi = np.array([2.0, 4.5, 1.0]), np.array([1.0, 2.0, 0.5])
    fit = random_effects(yi, vi, method="REML", test="knha")
    ax = forest_effects(yi, vi, ["A", "B", "C"], fit=fit, xlabel="MD (months)")
    assert len(_by_gid(ax, "studies")[0].get_offsets()) == 3
    assert len(_by_gid(ax, "diamond")) == 1 and len(_by_gid(ax, "pi")) == 1
    assert ax.get_xlabel() == "MD (months)"
    lo, hi = ax.get_xlim()
    assert lo < 0 < hi  # null line included
    ax2 = forest_effects(np.log([1.2, 2.0]), [0.01, 0.04], ["X", "Y"], fit=None, log=True,
                         null=1.0)  # fmt: skip
    assert ax2.get_xscale() == "log"
    assert "1.20 [0.99, 1.46]" in _texts(ax2)
    assert not _by_gid(ax2, "diamond")
    assert not any(t.startswith("One source only") for t in _texts(ax2))  # two studies


def test_forest_effects_with_one_source_says_so_and_draws_no_diamond():
    ax = forest_effects(np.log([1.2]), [0.01], ["Seshadri 2008"], fit=None, log=True, null=1.0,
                        ci=([1.0], [1.39]))  # fmt: skip
    assert not _by_gid(ax, "diamond") and not _by_gid(ax, "pi")
    assert "One source only: shown as reported, not pooled" in _texts(ax)
    assert "1.20 [1.00, 1.39]" in _texts(ax)


def test_funnel_against_n_and_se(fits):
    glmm, iv = fits
    ax = funnel(glmm)
    assert len(_by_gid(ax, "studies")[0].get_offsets()) == 8
    assert ax.get_yscale() == "log" and ax.get_ylabel().startswith("Sample size")
    assert _by_gid(ax, "pooled")[0].get_xdata()[0] == pytest.approx(glmm.estimate)
    ax2 = funnel(iv, against="se")
    lo, hi = ax2.get_ylim()
    assert lo > hi  # inverted: precise studies on top
    with pytest.raises(ValueError):
        funnel(iv.fit, against="n")


def test_bubble_plot():
    from jdmstats.meta.effects import escalc

    yi, vi = escalc("PLO", xi=EV, ni=N)
    reg = metareg(yi, vi, YEARS.astype(float), method="REML", test="knha")
    ax = bubble(reg, labels=LABELS, scale="proportion", xlabel="Year")
    pts = _by_gid(ax, "studies")[0]
    assert len(pts.get_offsets()) == 8
    sizes = pts.get_sizes()
    assert sizes.max() > sizes.min()  # sized by weight
    line = _by_gid(ax, "fit")[0]
    assert line.get_xdata()[0] == YEARS.min() and line.get_xdata()[-1] == YEARS.max()
    assert len(_by_gid(ax, "ci-band")) == 1
    assert ax.get_ylim()[0] == 0 and ax.get_xlabel() == "Year"
    assert sum(1 for t in ax.texts if t.get_text() in LABELS) == 8


def test_leave_one_out_and_baujat(fits):
    _, iv = fits
    est = np.linspace(0.2, 0.3, 8)
    ax = leave_one_out_plot(LABELS, est, est - 0.05, est + 0.05, overall=0.25)
    assert len(ax.get_yticks()) == 8
    assert ax.get_yticklabels()[0].get_text() == "Omitting Study 0"
    assert ax.get_xlim()[0] >= 0
    ax2 = baujat_plot(meta.baujat(iv.fit))
    assert len(_by_gid(ax2, "studies")[0].get_offsets()) == 8
    assert ax2.get_xlim()[0] == 0 and ax2.get_ylim()[0] == 0


def test_save_is_deterministic(tmp_path, fits):
    glmm, _ = fits
    paths = []
    for i in range(2):
        with style.context():
            fig, ax = style.figure("single", forest_height(8))
            forest(glmm, ax=ax)
            paths.append(style.save(fig, tmp_path / f"f{i}"))
            plt.close(fig)
    assert paths[0][0].read_bytes() == paths[1][0].read_bytes()
