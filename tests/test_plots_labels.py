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
        first = lab._annotate(ax, "Cohort 12 2011 (gy)", (2, 2), lab._offset(0.0, radius), 0,
                              5.0, "0.3")  # fmt: skip
        box0 = first.get_window_extent(renderer)
        first.remove()
        boxes, offsets = lab._candidates(box0, radius, px)
        assert len(boxes) == len(lab._positions()) == len(lab._DISTANCES) * len(lab._DIRECTIONS)
        for c, (dist, k) in enumerate(lab._positions()):
            offset = lab._offset(dist, radius, k)
            assert np.allclose(offsets[c], offset, rtol=0, atol=1e-12)
            txt = lab._annotate(ax, "Cohort 12 2011 (gy)", (2, 2), offset, k, 5.0, "0.3")
            measured = txt.get_window_extent(renderer)
            txt.remove()
            assert np.allclose(boxes[c], measured.extents, rtol=0, atol=1e-9), (dist, k)


def _drawn_crossings(ax, dpi=300.0):
    """Leader lines drawn on ``ax`` that pass through another label's box or cross another
    leader, counted from the drawn artists (shapely-free: segments clipped to boxes by hand)."""
    from jdmstats.plots import labels as lab

    fig = ax.figure
    fig.set_dpi(dpi)
    fig.draw_without_rendering()
    renderer = lab._renderer(fig)
    texts = [t for t in ax.texts if t.get_gid() == LABEL_GID]
    boxes = [t.get_window_extent(renderer) for t in texts]
    leaders = []
    for line in (t for t in ax.texts if t.get_gid() != LABEL_GID and t.arrow_patch is not None):
        own = next(i for i, t in enumerate(texts) if np.allclose(t.xy, line.xy))
        start = ax.transData.transform(texts[own].xy) + np.asarray(texts[own].xyann) * dpi / 72
        leaders.append((start, ax.transData.transform(line.xy), own))

    def through(a, b, box):
        pts = a + np.linspace(0, 1, 2001)[:, None] * (b - a)  # sampled: an outside check
        inside = ((pts[:, 0] > box.x0) & (pts[:, 0] < box.x1) & (pts[:, 1] > box.y0)
                  & (pts[:, 1] < box.y1))  # fmt: skip
        return bool(inside.any())

    def cross(p, q):
        (a, b), (c, d) = p, q
        turn = lambda u, v, w: np.sign((v[0] - u[0]) * (w[1] - u[1]) - (v[1] - u[1]) * (w[0] - u[0]))  # noqa: E731
        return turn(a, b, c) * turn(a, b, d) < 0 and turn(c, d, a) * turn(c, d, b) < 0

    n = sum(through(a, b, box) for a, b, own in leaders for j, box in enumerate(boxes) if j != own)
    n += sum(cross(p[:2], q[:2]) for i, p in enumerate(leaders) for q in leaders[i + 1:])
    return n, len(leaders)


def test_the_layout_improves_on_greedy_placement(bundled_fits, monkeypatch):
    """On the crowded follow-up bubble plot, the improving sweeps leave fewer leader lines
    through labels or across each other than the greedy placement they start from, and never
    more on any bundled plot; no label overlaps another either way."""
    from jdmstats.plots import labels as lab

    counts = {}
    for sweeps in (0, lab._MAX_SWEEPS):
        monkeypatch.setattr(lab, "_MAX_SWEEPS", sweeps)
        for mod, (reg, used) in bundled_fits.items():
            _, ax = _draw(reg, used)
            assert _intersections(label_boxes(ax)) == [], (mod, sweeps)
            counts[mod, sweeps] = _drawn_crossings(ax)[0]
    for mod in bundled_fits:
        assert counts[mod, lab._MAX_SWEEPS] <= counts[mod, 0], mod
    assert counts["followup_months", lab._MAX_SWEEPS] < counts["followup_months", 0]


def test_segment_geometry_helpers():
    from jdmstats.plots import labels as lab

    a = np.array([[0.0, 0.0], [0.0, 5.0], [2.0, 2.0]])
    b = np.array([[10.0, 10.0], [10.0, 5.0], [3.0, 2.0]])
    rect = np.array([[4.0, 4.0, 6.0, 6.0], [20.0, 20.0, 21.0, 21.0]])
    # the diagonal and the horizontal line at y = 5 pass through the first box; the short
    # segment passes through neither; nothing reaches the far box
    assert lab._hits(a, b, rect).tolist() == [[True, False], [True, False], [False, False]]
    assert lab._crosses_boxes((a, b), rect).tolist() == [1, 1, 0]
    assert lab._crossed_by((a, b), rect).tolist() == [2, 0]
    other = (np.array([[0.0, 10.0]]), np.array([[10.0, 0.0]]))  # the other diagonal
    assert lab._crosses_segments((a, b), other).tolist() == [1, 1, 0]
    touching = (np.array([[10.0, 10.0]]), np.array([[12.0, 10.0]]))  # shares an end: no cross
    assert lab._crosses_segments((a[:1], b[:1]), touching).tolist() == [0]


def _ambiguous(ax, dpi=300.0) -> int:
    """Labels drawn without a leader line whose box is nearer another point's marker than its
    own (a reader would take them for that point's); gaps measured to the markers' edges."""
    boxes = label_boxes(ax, dpi)  # display units at ``dpi``, as the centres below
    ax.figure.set_dpi(dpi)
    texts = [t for t in ax.texts if t.get_gid() == LABEL_GID]
    led = {tuple(t.xy) for t in ax.texts if t.get_gid() != LABEL_GID}
    scatter = ax.collections[0]
    centres = ax.transData.transform(scatter.get_offsets())
    radius = np.broadcast_to(np.sqrt(scatter.get_sizes() / np.pi) * dpi / 72, (len(centres),))
    n = 0
    for text, box in zip(texts, boxes, strict=True):
        if tuple(text.xy) in led:
            continue
        dx = np.maximum(np.maximum(box.x0 - centres[:, 0], 0), centres[:, 0] - box.x1)
        dy = np.maximum(np.maximum(box.y0 - centres[:, 1], 0), centres[:, 1] - box.y1)
        gaps = np.hypot(dx, dy) - radius
        own = int(np.argmin(np.hypot(*(centres - ax.transData.transform(text.xy)).T)))
        n += bool((np.delete(gaps, own) < gaps[own]).any())
    return n


def test_the_layout_leaves_fewer_labels_nearer_another_point(bundled_fits, monkeypatch):
    """Labels without a leader that sit nearer another point's marker than their own: the
    improving sweeps leave fewer of them on the bundled bubble plots than greedy placement."""
    from jdmstats.plots import labels as lab

    counts = {}
    for sweeps in (0, lab._MAX_SWEEPS):
        monkeypatch.setattr(lab, "_MAX_SWEEPS", sweeps)
        counts[sweeps] = sum(_ambiguous(_draw(reg, used)[1]) for reg, used in bundled_fits.values())
    assert counts[lab._MAX_SWEEPS] < counts[0], counts
