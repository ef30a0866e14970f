"""Labels on the bubble plots: deterministic placement whose boxes, measured by the renderer,
never intersect (on every bundled bubble plot and on a crowded synthetic panel)."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from jdmstats import datasets  # noqa: E402
from jdmstats.plots import style  # noqa: E402
from jdmstats.plots.diagnostics import bubble  # noqa: E402
from jdmstats.plots.labels import LABEL_GID, label_boxes, place_labels  # noqa: E402

pytestmark = pytest.mark.usefixtures("close_figures")


@pytest.fixture(scope="module")
def bundled_fits():
    """The meta-regressions behind the bundled bubble plots (as ``jdmstats run`` draws them)."""
    from jdmstats.questions import prevalence

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = prevalence.analyse(datasets.load_cohorts())
    return res.metareg_fits


def _intersections(boxes):
    return [(i, j) for i, a in enumerate(boxes) for j, b in enumerate(boxes[i + 1:], i + 1)
            if a.overlaps(b)]  # fmt: skip


def _draw(reg, used):
    with style.context():
        fig, ax = style.figure("single")
        bubble(reg, ax=ax, labels=list(used["label"]), xlabel="x", ylabel="Prevalence",
               scale="proportion")  # fmt: skip
    return fig, ax


def test_no_two_labels_intersect_on_the_bundled_bubble_plots(bundled_fits):
    labelled = 0
    for mod, (reg, used) in bundled_fits.items():
        fig, ax = _draw(reg, used)
        boxes = label_boxes(ax)
        if len(used) <= 15:  # bubble() labels at most 15 studies
            assert len(boxes) == len(used), mod
            labelled += 1
        assert _intersections(boxes) == [], mod
        frame = ax.get_window_extent(fig.canvas.get_renderer())
        assert frame.width > 0
    assert labelled >= 2  # follow-up and delay plots carry labels (the collisions)


def test_label_placement_is_deterministic(bundled_fits):
    reg, used = bundled_fits["followup_months"]
    pos = []
    for _ in range(2):
        _, ax = _draw(reg, used)
        pos.append([(t.get_text(), t.xyann, t.get_ha(), t.get_va()) for t in ax.texts
                    if t.get_gid() == LABEL_GID])  # fmt: skip
    assert pos[0] == pos[1]


def test_crowded_points_get_separate_labels():
    rng = np.random.default_rng(20261203)
    x = 1 + rng.normal(0, 0.05, 12)
    y = 1 + rng.normal(0, 0.05, 12)
    with style.context():
        fig, ax = style.figure("single")
        ax.scatter(x, y, s=30)
        ax.set_xlim(0, 2)
        ax.set_ylim(0, 2)
        texts = place_labels(ax, x, y, [f"Cohort {i} 20{i:02d}" for i in range(12)],
                             marker_radius=np.sqrt(30 / np.pi))  # fmt: skip
    assert len(texts) == 12
    boxes = label_boxes(ax)
    assert len(boxes) == 12 and _intersections(boxes) == []


def test_mismatched_lengths_are_refused():
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="same length"):
        place_labels(ax, [1, 2], [1], ["a", "b"])


@pytest.mark.parametrize("radius", [0.0, 4.5])
def test_a_label_box_moved_to_each_position_is_the_box_matplotlib_measures_there(radius):
    """place_labels measures a label once and moves its box to the other candidate positions;
    each moved box must be the box matplotlib's renderer measures for the label drawn there."""
    from jdmstats.plots import labels as lab

    with style.context():
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.set_xlim(0, 4)
        ax.set_ylim(0, 4)
        fig.set_dpi(300)
        fig.draw_without_rendering()
        renderer = lab._renderer(fig)
        px = 300 / 72
        offset0 = lab._offset(0.0, radius)
        first = lab._annotate(ax, "Cohort 12 2011 (gy)", (2, 2), offset0, 0, 5.0, "0.3")
        box0 = first.get_window_extent(renderer)
        first.remove()
        for dist in lab._DISTANCES:
            for k in range(len(lab._DIRECTIONS)):
                offset = lab._offset(dist, radius, k)
                txt = lab._annotate(ax, "Cohort 12 2011 (gy)", (2, 2), offset, k, 5.0, "0.3")
                measured = txt.get_window_extent(renderer)
                txt.remove()
                moved = lab._moved(box0, offset0, offset, k, px)
                assert np.allclose(moved.extents, measured.extents, rtol=0, atol=1e-9), (dist, k)
