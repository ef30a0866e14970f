"""Deterministic placement of point labels that never overlap (no extra dependency).

:func:`place_labels` writes one label beside each point, trying a fixed list of positions
around the point (right, left, above, below, the diagonals, then the same further out) and
keeping the first whose box, measured by the figure's renderer, overlaps no label placed
before it, no point marker and stays inside the axes. The same inputs give the same
positions on every run (nothing random, no iteration to convergence), unlike a force-directed
placer such as *adjustText*.

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
)  # fmt: skip
_DISTANCES = (3.0, 6.0, 10.0, 15.0, 21.0, 28.0)
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
    Greedy and deterministic: points are labelled from left to right (ties by height); each
    label takes the first free position of a fixed list of 8 directions at 6 distances. When
    none is free (very crowded panels), the position with the smallest overlap is used. A
    thin leader line joins a label to its point when it sits 10 points or more away.
    """
    from matplotlib.transforms import Bbox

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
        frame = ax.get_window_extent(renderer)
        centres = ax.transData.transform(np.column_stack([x, y])) if len(x) else np.empty((0, 2))
        # the inner half of each marker is kept free of text
        obstacles = [Bbox.from_bounds(cx - 0.5 * r * px, cy - 0.5 * r * px, r * px, r * px)
                     for (cx, cy), r in zip(centres, radius, strict=True) if r > 0]  # fmt: skip
        placed: list = []
        texts = []
        order = sorted(range(len(x)), key=lambda i: (x[i], y[i], labels[i]))
        for i in order:
            # the label's box is measured once, at the first position; the box at any other
            # position is that box moved with the anchor and the alignment
            offset0 = _offset(0.0, radius[i])
            first = _annotate(ax, labels[i], (x[i], y[i]), offset0, 0, fontsize, color)
            box0 = first.get_window_extent(renderer)
            first.remove()
            best = None
            for dist in _DISTANCES:
                for k in range(len(_DIRECTIONS)):
                    box = _moved(box0, offset0, _offset(dist, radius[i], k), k, px).padded(
                        pad * px)  # fmt: skip
                    cost = _overlap(box, placed) + _overlap(box, obstacles) + _outside(box, frame)
                    if best is None or cost < best[0]:
                        best = (cost, k, box, dist)
                    if cost == 0:
                        break
                if best[0] == 0:
                    break
            cost, k, box, dist = best
            txt = _annotate(ax, labels[i], (x[i], y[i]), _offset(dist, radius[i], k), k,
                            fontsize, color)  # fmt: skip
            if cost > 0 or dist >= _LEADER_FROM:  # far or crowded: a leader line to the point
                ax.annotate("", (x[i], y[i]), xytext=txt.get_position(), textcoords=txt.anncoords,
                            arrowprops={"arrowstyle": "-", "lw": 0.3, "color": color})  # fmt: skip
            placed.append(box)
            texts.append(txt)
    finally:
        fig.set_dpi(old_dpi)
    return texts


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


def _moved(box0, offset0, offset, k, px):
    """The box of a label measured with its anchor at ``offset0`` (points, direction 0), for
    the anchor at ``offset`` in direction ``k``: moved with the anchor and realigned."""
    from matplotlib.transforms import Bbox

    (_, _, ha0, va0), (_, _, ha, va) = _DIRECTIONS[0], _DIRECTIONS[k]
    x0 = box0.x0 + (offset[0] - offset0[0]) * px - (_SHARE[ha] - _SHARE[ha0]) * box0.width
    y0 = box0.y0 + (offset[1] - offset0[1]) * px - (_SHARE[va] - _SHARE[va0]) * box0.height
    return Bbox.from_bounds(x0, y0, box0.width, box0.height)


def _overlap(box, others) -> float:
    total = 0.0
    for o in others:
        w = min(box.x1, o.x1) - max(box.x0, o.x0)
        h = min(box.y1, o.y1) - max(box.y0, o.y0)
        if w > 0 and h > 0:
            total += w * h
    return total


def _outside(box, frame) -> float:
    inner_w = max(0.0, min(box.x1, frame.x1) - max(box.x0, frame.x0))
    inner_h = max(0.0, min(box.y1, frame.y1) - max(box.y0, frame.y0))
    return box.width * box.height - inner_w * inner_h


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
