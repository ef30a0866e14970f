"""Deterministic placement of point labels that never overlap (no extra dependency).

:func:`place_labels` writes one label beside each point, trying a fixed list of positions
around the point (right, left, above, below, the diagonals and the directions between them, then the
same further out). Each
label's box is measured once by the figure's renderer and moved to every position by
arithmetic. The labels are placed first one by one (the nearest free position), then moved in
turn to their best position while that makes the layout better: no label over another label,
a point's marker or the axes' edge, then as few leader lines as possible across labels,
markers and other leaders, then labels as near their points as possible. The same inputs give
the same positions on every run (nothing random), unlike a force-directed placer such as
*adjustText*.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> from jdmstats.plots.labels import label_boxes, place_labels
>>> fig, ax = plt.subplots(figsize=(3, 2))
>>> _ = ax.scatter([1, 1.01, 2], [1, 1.0, 2])
>>> texts = place_labels(ax, [1, 1.01, 2], [1, 1.0, 2], ["Study A", "Study B", "Study C"])
>>> boxes = label_boxes(ax)
>>> any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
False
"""

from __future__ import annotations

import numpy as np

__all__ = ["place_labels", "label_boxes", "LABEL_GID"]

LABEL_GID = "label"
"""``gid`` of every label artist :func:`place_labels` draws."""

# (direction x, direction y, horizontal alignment, vertical alignment)
_DIRECTIONS = (
    (1, 0, "left", "center"), (-1, 0, "right", "center"), (0, 1, "center", "bottom"),
    (0, -1, "center", "top"), (1, 1, "left", "bottom"), (-1, 1, "right", "bottom"),
    (1, -1, "left", "top"), (-1, -1, "right", "top"),
    (2, 1, "left", "bottom"), (-2, 1, "right", "bottom"), (2, -1, "left", "top"),
    (-2, -1, "right", "top"), (1, 2, "left", "bottom"), (-1, 2, "right", "bottom"),
    (1, -2, "left", "top"), (-1, -2, "right", "top"),
)  # fmt: skip
_DISTANCES = (3.0, 6.0, 10.0, 15.0, 21.0, 28.0, 36.0, 46.0, 58.0)
"""Offsets (points) from the point's centre tried in turn, nearest first."""
_LEADER_FROM = 10.0
"""Labels this far (points) from their marker, or overlapping, get a thin leader line."""


def _renderer(fig):
    canvas = fig.canvas
    if hasattr(canvas, "get_renderer"):
        return canvas.get_renderer()
    return fig._get_renderer()  # noqa: SLF001 - matplotlib's documented fallback


def place_labels(ax, x, y, labels, fontsize: float = 5.0, color: str = "0.3",
                 marker_radius=None, pad: float = 0.8, dpi: float = 300.0) -> list:  # fmt: skip
    """Write ``labels`` beside the points ``(x, y)`` so that no two labels overlap.

    Parameters
    ----------
    ax : matplotlib Axes
        Its limits are frozen first (labels are placed in display coordinates).
    x, y : array_like
        Data coordinates of the points.
    labels : sequence of str
    fontsize : float
        Points.
    color : str
    marker_radius : array_like, optional
        Radius of each point's marker in points (e.g. ``sqrt(s / pi)`` of a scatter's ``s``);
        labels keep clear of every marker's centre region and start outside their own marker.
    pad : float
        Clearance (points) kept around each label box.
    dpi : float
        Resolution the layout is measured at (that of the saved PNG).

    Returns
    -------
    list of matplotlib.text.Annotation
        One per label, each with ``gid`` :data:`LABEL_GID`.

    Notes
    -----
    Deterministic. Points are labelled from left to right (ties by height); each label takes
    the first free position of a fixed list of 16 directions at 9 distances (the one with the
    least overlap when none is free). Then, sweep after sweep until nothing moves, each label
    moves to the position that makes the layout best, compared in this order: the area of
    labels over labels, over the inner half of markers or outside the axes; the number of
    crossings of leader lines with labels, with other markers and with each other; the
    positions' ranks (nearer first). Every move makes the layout strictly better, so the sweeps
    end. A thin leader line joins a label to its point when it sits 10 points or more away, or
    overlaps something.
    """

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    labels = [str(v) for v in labels]
    if not (len(x) == len(y) == len(labels)):
        raise ValueError(f"place_labels: x, y and labels must have the same length "
                         f"(got {len(x)}, {len(y)}, {len(labels)})")  # fmt: skip
    radius = (np.zeros(len(x)) if marker_radius is None
              else np.broadcast_to(np.asarray(marker_radius, dtype=float), x.shape))  # fmt: skip
    fig = ax.figure
    old_dpi = fig.dpi
    fig.set_dpi(dpi)
    try:
        ax.set_xlim(ax.get_xlim())
        ax.set_ylim(ax.get_ylim())
        fig.draw_without_rendering()
        renderer = _renderer(fig)
        px = dpi / 72.0
        frame = ax.get_window_extent(renderer).extents
        centres = ax.transData.transform(np.column_stack([x, y])) if len(x) else np.empty((0, 2))
        # the inner half of each marker is kept free of text (NaN: a point without a marker)
        half = np.where(radius > 0, 0.5 * radius * px, np.nan)[:, None]
        markers = np.hstack([centres - half, centres + half])
        order = sorted(range(len(x)), key=lambda i: (x[i], y[i], labels[i]))
        positions = _positions()
        boxes = np.empty((len(x), len(positions), 4))
        anchors = np.empty((len(x), len(positions), 2))
        for i in range(len(x)):
            # the label's box is measured once, at the first position (see _candidates)
            offset0 = _offset(0.0, radius[i])
            first = _annotate(ax, labels[i], (x[i], y[i]), offset0, 0, fontsize, color)
            box0 = first.get_window_extent(renderer)
            first.remove()
            boxes[i], offsets = _candidates(box0, radius[i], px, pad)
            anchors[i] = centres[i] + offsets * px
        leader = np.array([dist >= _LEADER_FROM for dist, _ in positions])
        near = _nearer_points(boxes, centres, radius * px) * ~leader  # a leader says whose
        choice = _layout(order, boxes, anchors, leader, centres, markers, frame, near)
        texts = []
        for i in order:
            dist, k = positions[choice[i]]
            txt = _annotate(ax, labels[i], (x[i], y[i]), _offset(dist, radius[i], k), k,
                            fontsize, color)  # fmt: skip
            others = np.delete(boxes[np.arange(len(x)), choice], i, axis=0)
            crowded = _overlap(boxes[i, choice[i]][None], np.vstack([others, markers]))[0] > 0
            if crowded or dist >= _LEADER_FROM:  # far or crowded: a leader line to the point
                ax.annotate("", (x[i], y[i]), xytext=txt.get_position(), textcoords=txt.anncoords,
                            arrowprops={"arrowstyle": "-", "lw": 0.3, "color": color})  # fmt: skip
            texts.append(txt)
    finally:
        fig.set_dpi(old_dpi)
    return texts


_MAX_SWEEPS = 50
"""Bound on the improving sweeps of :func:`_layout` (each strictly improves the layout)."""


def _layout(order, boxes, anchors, leader, centres, markers, frame, near=None) -> np.ndarray:
    """The position (index) of each label: greedy placement in ``order``, then improving moves.

    ``boxes`` (labels x positions x 4) and ``anchors`` (labels x positions x 2) are display
    coordinates of each label's padded box and leader end at each position, ``leader`` which
    positions draw a leader line, ``centres`` the points, ``markers`` the boxes labels keep out
    of (NaN rows: none), ``frame`` the axes' extents and ``near`` (labels x positions) how
    many other points' markers are nearer a label there than its own (counted with the leader
    crossings).
    """
    n, m = boxes.shape[:2]
    rank = np.arange(m, dtype=float)
    out = _outside(boxes.reshape(-1, 4), frame).reshape(n, m)
    choice = np.zeros(n, dtype=int)
    for step, i in enumerate(order):  # greedy: the first position free of what is placed
        placed = boxes[order[:step], choice[order[:step]]]
        hard = _local(i, boxes, anchors, leader, centres, markers, out, choice, placed_only=placed)
        free = np.flatnonzero(hard == 0)
        choice[i] = free[0] if free.size else int(np.argmin(hard))
    for _ in range(_MAX_SWEEPS):
        moved = False
        for i in order:
            hard, cross = _local(i, boxes, anchors, leader, centres, markers, out, choice)
            if near is not None:
                cross = cross + near[i]
            best = int(np.lexsort((rank, cross, hard))[0])
            c = choice[i]
            if (hard[best], cross[best], best) < (hard[c], cross[c], c):
                choice[i] = best
                moved = True
        if not moved:
            break
    return choice


def _local(i, boxes, anchors, leader, centres, markers, out, choice, placed_only=None):
    """Label ``i``'s share of the layout's cost at each of its positions, the others where
    ``choice`` puts them: (overlap area, leader crossings); with ``placed_only``, the overlap
    area with those boxes only (the greedy pass)."""
    mine = boxes[i]
    own = np.isnan(markers[:, 0]) | (np.arange(len(markers)) == i)
    hard = out[i] + _overlap(mine, markers[~own])
    if placed_only is not None:
        return hard + _overlap(mine, placed_only)
    others = np.arange(len(boxes)) != i
    theirs = boxes[others, choice[others]]
    hard = hard + _overlap(mine, theirs)
    seg = (anchors[i], np.broadcast_to(centres[i], anchors[i].shape))
    their_leader = leader[choice[others]]
    their_seg = (anchors[others, choice[others]][their_leader], centres[others][their_leader])
    cross = (_crosses_boxes(seg, theirs) + _crosses_boxes(seg, markers[~own])
             + _crosses_segments(seg, their_seg)) * leader  # fmt: skip
    cross = cross + _crossed_by(their_seg, mine)
    return hard, cross


def _nearer_points(boxes, centres, radius) -> np.ndarray:
    """For each label (axis 0) at each position (axis 1), how many other points' markers are
    nearer its box than its own marker (distances from the box to the marker's edge)."""
    dx = np.maximum(np.maximum(boxes[:, :, None, 0] - centres[None, None, :, 0], 0.0),
                    centres[None, None, :, 0] - boxes[:, :, None, 2])
    dy = np.maximum(np.maximum(boxes[:, :, None, 1] - centres[None, None, :, 1], 0.0),
                    centres[None, None, :, 1] - boxes[:, :, None, 3])
    gap = np.hypot(dx, dy) - radius[None, None, :]  # labels x positions x points
    own = np.arange(len(boxes))
    mine = gap[own, :, own]  # labels x positions
    nearer = gap < mine[:, :, None]
    nearer[own, :, own] = False
    return nearer.sum(axis=2)


def _overlap(boxes, others) -> np.ndarray:
    """Summed overlap area of each of ``boxes`` (n x 4) with ``others`` (k x 4)."""
    w = np.minimum(boxes[:, None, 2], others[None, :, 2]) - np.maximum(boxes[:, None, 0],
                                                                          others[None, :, 0])
    h = np.minimum(boxes[:, None, 3], others[None, :, 3]) - np.maximum(boxes[:, None, 1],
                                                                          others[None, :, 1])
    return np.where((w > 0) & (h > 0), w * h, 0.0).sum(axis=1)


def _outside(boxes, frame) -> np.ndarray:
    """Area of each box (n x 4) outside ``frame`` (x0, y0, x1, y1)."""
    inner_w = np.clip(np.minimum(boxes[:, 2], frame[2]) - np.maximum(boxes[:, 0], frame[0]), 0, None)
    inner_h = np.clip(np.minimum(boxes[:, 3], frame[3]) - np.maximum(boxes[:, 1], frame[1]), 0, None)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) - inner_w * inner_h


def _hits(a, b, rect) -> np.ndarray:
    """Whether segments ``a``-``b`` (n x 2 each) pass through boxes ``rect`` (k x 4): (n, k),
    by clipping each segment to each box (Liang-Barsky)."""
    d = (b - a)[:, None, :]
    lo, hi = rect[None, :, :2], rect[None, :, 2:]
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (lo - a[:, None, :]) / d, (hi - a[:, None, :]) / d
    inside = (a[:, None, :] >= lo) & (a[:, None, :] <= hi)  # for a segment parallel to an axis
    t_in = np.where(d == 0, np.where(inside, -np.inf, np.inf), np.minimum(t1, t2))
    t_out = np.where(d == 0, np.where(inside, np.inf, -np.inf), np.maximum(t1, t2))
    enter = np.maximum(t_in.max(axis=2), 0.0)
    leave = np.minimum(t_out.min(axis=2), 1.0)
    return enter < leave


def _crosses_boxes(seg, rect) -> np.ndarray:
    """How many of boxes ``rect`` each segment of ``seg`` passes through."""
    if not len(rect):
        return np.zeros(len(seg[0]))
    return _hits(seg[0], seg[1], rect).sum(axis=1)


def _crossed_by(segs, boxes) -> np.ndarray:
    """For each of ``boxes`` (n x 4), how many of the segments ``segs`` pass through it."""
    if not len(segs[0]):
        return np.zeros(len(boxes))
    return _hits(segs[0], segs[1], boxes).sum(axis=0)


def _crosses_segments(seg, others) -> np.ndarray:
    """How many of the segments ``others`` each segment of ``seg`` properly crosses."""
    if not len(others[0]):
        return np.zeros(len(seg[0]))
    (a, b), (c, d) = seg, others

    def side(p, q, r):  # sign of the turn p -> q -> r, for all pairs
        return np.sign((q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1])
                       - (q[..., 1] - p[..., 1]) * (r[..., 0] - p[..., 0]))  # fmt: skip

    a, b, c, d = a[:, None], b[:, None], c[None], d[None]
    return ((side(a, b, c) * side(a, b, d) < 0) & (side(c, d, a) * side(c, d, b) < 0)).sum(axis=1)


def _offset(dist: float, radius: float, k: int = 0) -> tuple[float, float]:
    """Offset (points) of the label anchor from its point, at ``dist`` in direction ``k``."""
    dx, dy = _DIRECTIONS[k][:2]
    off = (dist + radius) / np.hypot(dx, dy)
    return dx * off, dy * off


def _annotate(ax, label, xy, offset, k, fontsize, color):
    ha, va = _DIRECTIONS[k][2:]
    return ax.annotate(label, xy, xytext=offset, textcoords="offset points", ha=ha, va=va,
                       fontsize=fontsize, color=color, gid=LABEL_GID, annotation_clip=False)


_SHARE = {"left": 0.0, "bottom": 0.0, "center": 0.5, "right": 1.0, "top": 1.0}
"""Share of the box's width (height) left of (below) the anchor, by alignment."""


def _positions() -> list[tuple[float, int]]:
    """Every candidate position, ``(distance, direction)``, nearest first."""
    return [(d, k) for d in _DISTANCES for k in range(len(_DIRECTIONS))]


def _candidates(box0, radius: float, px: float, pad: float = 0.0):
    """The boxes (positions x 4, display units, padded by ``pad`` points) and the anchor offsets
    (positions x 2, points) of a label at every position of :func:`_positions`, from its box
    ``box0`` measured with the anchor at ``_offset(0, radius)`` (direction 0): each box is that
    box moved with the anchor and realigned (``px`` display units per point)."""
    positions = _positions()
    dist = np.array([d for d, _ in positions])
    unit = np.array([_offset(0.0, 1.0, k) for _, k in positions])
    share = np.array([[_SHARE[_DIRECTIONS[k][2]], _SHARE[_DIRECTIONS[k][3]]]
                      for _, k in positions])  # fmt: skip
    ref = np.array([_SHARE[_DIRECTIONS[0][2]], _SHARE[_DIRECTIONS[0][3]]])
    size = np.array([box0.width, box0.height])
    offsets = (dist + radius)[:, None] * unit
    low = np.array([box0.x0, box0.y0]) + (offsets - _offset(0.0, radius)) * px - (share - ref) * size
    return np.hstack([low - pad * px, low + size + pad * px]), offsets


def label_boxes(ax, dpi: float = 300.0) -> list:
    """Display-space bounding boxes of the labels :func:`place_labels` drew on ``ax``.

    Measured by the figure's renderer at ``dpi`` (that of the saved PNG), for tests and checks.
    """
    fig = ax.figure
    old = fig.dpi
    fig.set_dpi(dpi)
    try:
        fig.draw_without_rendering()
        renderer = _renderer(fig)
        return [t.get_window_extent(renderer) for t in ax.texts if t.get_gid() == LABEL_GID]
    finally:
        fig.set_dpi(old)
