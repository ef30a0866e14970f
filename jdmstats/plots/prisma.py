"""PRISMA 2020 flow diagram: draws the counts of :func:`jdmstats.questions.prisma.prisma_counts`.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from jdmstats import datasets
>>> from jdmstats.plots import prisma
>>> from jdmstats.questions.prisma import prisma_counts
>>> ax = prisma.prisma(prisma_counts(datasets.load_all()))
>>> bool(ax.get_xlim()[1] > 0)
True
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jdmstats.questions.prisma import PrismaCounts

__all__ = ["prisma", "save_prisma", "figure_height"]


LINE = 1.72
"""Height of one text line at 6.5 pt, in diagram units (the diagram is 100 units wide)."""


def _wrap(text: str, width: int) -> list[str]:
    lines = []
    for para in text.split("\n"):
        indent = "   " if para.startswith("- ") else ""
        lines += textwrap.wrap(para, width, subsequent_indent=indent) or [""]
    return lines


def _box(ax, x, top, w, text, wrap=54, size=6.5, face="white", edge="black", min_lines=0):
    """Draw a box whose top edge is at ``top``; return its bottom edge."""
    from matplotlib.patches import FancyBboxPatch

    lines = _wrap(text, wrap)
    scale = size / 6.5
    h = 2.4 + max(len(lines), min_lines) * LINE * scale
    ax.add_patch(FancyBboxPatch((x, top - h), w, h, boxstyle="round,pad=0,rounding_size=0.8",
                                linewidth=0.6, edgecolor=edge, facecolor=face))  # fmt: skip
    ax.text(x + 1.5, top - 1.2, "\n".join(lines), ha="left", va="top", fontsize=size,
            linespacing=1.25)  # fmt: skip
    return top - h


def _arrow(ax, x0, y0, x1, y1):
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                arrowprops={"arrowstyle": "-|>", "lw": 0.6, "color": "black",
                            "shrinkA": 0, "shrinkB": 0, "mutation_scale": 7})  # fmt: skip


def _phase(ax, label, top, bottom):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (0.5, bottom),
            6.0,
            top - bottom,
            linewidth=0,
            boxstyle="round,pad=0,rounding_size=0.8",
            facecolor="#D6E9F5",
        )
    )
    ax.text(3.5, (top + bottom) / 2, label, rotation=90, ha="center", va="center", fontsize=7,
            fontweight="bold")  # fmt: skip


def _n(x: int) -> str:
    return f"{x:,}"


def prisma(counts: PrismaCounts, ax=None):
    """Draw the PRISMA 2020 flow diagram of ``counts``.

    Parameters
    ----------
    counts : PrismaCounts
        From :func:`prisma_counts`.
    ax : matplotlib Axes, optional
        Drawn into (x from 0 to 100; the y limits are set to fit the boxes and the axes are
        hidden); a new double-column figure when None.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    from jdmstats.plots import style

    if ax is None:
        _, ax = plt.subplots(figsize=(style.DOUBLE, style.DOUBLE * 0.8))
    ax.set_axis_off()
    c = counts
    top_dbs = list(c.databases.items())[:3]
    db_lines = "".join(f"\n- {db}: {_n(n)}" for db, n in top_dbs)
    if len(c.databases) > 3:
        rest = sum(n for _, n in list(c.databases.items())[3:])
        db_lines += f"\n- {len(c.databases) - 3} other search tools: {_n(rest)}"
    reason_lines = "".join(f"\n- {r.replace('_', ' ')}: {_n(n)}" for r, n in c.reasons.items())
    L, W, R, H, gap = 9.0, 43.0, 57.0, 42.5, 5.0  # main x, width; side x, width; vertical gap
    mid = L + W / 2
    top = 100.0
    # identification
    if c.from_records:
        b1 = _box(ax, L, top, W, f"Records identified by {_n(c.queries)} queries (n = "
                  f"{_n(c.records_found)} distinct pages, from {_n(c.hits)} results)"
                  f"{db_lines}")  # fmt: skip
        b1r = _box(ax, R, top, H, "Records removed before screening\n- duplicates (other pages "
                   f"of an article already identified): {_n(c.removed_before_screening)}",
                   wrap=52)  # fmt: skip
    else:
        b1 = _box(ax, L, top, W, f"Records identified by {_n(c.queries)} logged queries "
                  f"(n = {_n(c.records_found)}){db_lines}")  # fmt: skip
        b1r = _box(ax, R, top, H, "Records removed before screening\n- repeat hits not "
                   f"screened again (found - screened): {_n(c.removed_before_screening)}",
                   wrap=52)  # fmt: skip
    _arrow(ax, L + W, (top + b1r) / 2, R, (top + b1r) / 2)
    ident_bottom = min(b1, b1r)
    # screening
    t2 = ident_bottom - gap
    b2 = _box(ax, L, t2, W, f"Records screened\n(n = {_n(c.records_screened)})")
    b2r = _box(ax, R, t2, H, f"Records excluded on title and abstract\n"
               f"(n = {_n(c.excluded_at_screening)})", wrap=52)  # fmt: skip
    _arrow(ax, mid, b1, mid, t2)
    _arrow(ax, L + W, (t2 + b2) / 2, R, (t2 + b2) / 2)
    t3 = min(b2, b2r) - gap
    b3 = _box(ax, L, t3, W, f"Reports assessed for eligibility\n(n = {_n(c.reports_assessed)})")
    b3r = _box(ax, R, t3, H, f"Reports excluded (n = {_n(c.reports_excluded)}), one coded "
               f"reason each:{reason_lines}", wrap=52)  # fmt: skip
    _arrow(ax, mid, b2, mid, t3)
    _arrow(ax, L + W, (t3 + b3) / 2, R, (t3 + b3) / 2)
    screen_bottom = min(b3, b3r)
    # included
    t4 = screen_bottom - gap
    incl = ((f"Reports included (n = {_n(c.reports_included)})\n" if c.from_records else "")
            + f"Sources included in the review (n = {_n(c.sources_included)})\n"
            f"- from the logged searches: {_n(c.sources_from_searches)}\n"
            f"- identified by other methods (seed reports, reference lists): "
            f"{_n(c.sources_other_methods)}\n"
            f"Cohorts of children with JDM: {_n(c.cohorts)}\n"
            f"- in the primary prevalence analysis: {_n(c.cohorts_primary)} "
            f"({_n(c.children_primary)} children)\n"
            f"Case patients with calcinosis: {_n(c.case_patients)}\n"
            f"- therapy courses (episodes): {_n(c.episodes)}")  # fmt: skip
    b4 = _box(ax, L, t4, W, incl)
    _arrow(ax, mid, b3, mid, t4)
    b4r = b4
    if c.notes:
        b4r = _box(ax, R, t4, H, "Notes\n" + "\n".join(f"- {n}" for n in c.notes), wrap=56,
                   size=5.5, face="#F7F7F7", edge="#7f7f7f")  # fmt: skip
    bottom = min(b4, b4r)
    _phase(ax, "Identification", top, ident_bottom)
    _phase(ax, "Screening", t2, screen_bottom)
    _phase(ax, "Included", t4, bottom)
    ax.set_xlim(0, 100)
    ax.set_ylim(bottom - 0.5, top + 0.5)
    return ax


def figure_height(counts: PrismaCounts, width: float) -> float:
    """Height in inches that keeps the diagram's units square at ``width`` inches."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, width))
    try:
        prisma(counts, ax=ax)
        y0, y1 = ax.get_ylim()
    finally:
        plt.close(fig)
    return width * (y1 - y0) / 100.0


def save_prisma(counts: PrismaCounts, path: str | Path) -> list[Path]:
    """Draw the diagram in the jdmstats style and write it as PDF and 300-dpi PNG."""
    import matplotlib.pyplot as plt

    from jdmstats.plots import style

    with style.context():
        height = figure_height(counts, style.DOUBLE)
        fig, ax = plt.subplots(figsize=(style.DOUBLE, height))
        fig.subplots_adjust(left=0, right=1, bottom=0, top=1)
        prisma(counts, ax=ax)
        try:
            return style.save(fig, path)
        finally:
            plt.close(fig)
