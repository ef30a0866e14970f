"""Forest plot of response proportions by therapy class.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from jdmstats import datasets, response
>>> from jdmstats.plots.therapy import response_forest
>>> ax = response_forest(response.response_proportions(datasets.load_episodes()))
"""

from __future__ import annotations

import numpy as np

__all__ = ["response_forest"]


def response_forest(result, ax=None, which: str = "any"):
    """Proportion of courses followed by regression, per class, with counts beside each row.

    Parameters
    ----------
    result : jdmstats.questions.response.ResponseProportions
    ax : matplotlib Axes, optional
    which : {"any", "complete"}
        Any regression (complete or partial) or complete regression.

    Returns
    -------
    matplotlib Axes
        One row per class (most episodes at the top) and an ``all`` row: a square and the
        Clopper-Pearson interval; a diamond for the pooled GLMM estimate (any regression, where
        pooled).  Classes below ``min_episodes`` are grey and marked "not tested".  The counts
        column is a set of ``Text`` objects with ``gid="counts"``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon
    from matplotlib.transforms import blended_transform_factory

    from jdmstats.plots.style import GREY, PALETTE

    if which not in ("any", "complete"):
        raise ValueError(f"unknown which {which!r}; accepted: any, complete")
    if ax is None:
        _, ax = plt.subplots(figsize=(3.35, 0.9 + 0.22 * len(result.table)))
    t = result.table.reset_index(drop=True)
    pre = "" if which == "any" else "complete_"
    count_col = "any_regression" if which == "any" else "complete"
    tr = blended_transform_factory(ax.transAxes, ax.transData)
    for i, r in t.iterrows():
        y = float(i)
        colour = PALETTE[0] if r["tested"] else GREY
        if r["class"] == "all":
            colour = "black"
        est, lo, hi = r[f"{pre}estimate"], r[f"{pre}ci_low"], r[f"{pre}ci_high"]
        if not r["episodes"]:
            ax.text(
                0.02,
                y,
                f"response not stated ({int(r['not_stated'])} courses)",
                va="center",
                ha="left",
                fontsize=6,
                color=GREY,
                gid="counts",
            )
            continue
        ax.plot([lo, hi], [y, y], color=colour, linewidth=1.0)
        size = 3 + 3 * np.sqrt(r["episodes"] / max(t["episodes"].max(), 1))
        ax.plot(est, y, "s", color=colour, markersize=size)
        pe = r["pooled_estimate"] if which == "any" else np.nan
        if np.isfinite(pe):
            pl, ph = r["pooled_ci_low"], r["pooled_ci_high"]
            ax.add_patch(Polygon([[pl, y + 0.32], [pe, y + 0.45], [ph, y + 0.32], [pe, y + 0.19]],
                                 closed=True, color=PALETTE[1], gid="pooled"))  # fmt: skip
        txt = f"{int(r[count_col])}/{int(r['episodes'])}   {100 * est:.0f}% ({100 * lo:.0f}-" \
              f"{100 * hi:.0f})"  # fmt: skip
        if not r["tested"]:
            txt += "  not tested"
        ax.text(1.03, y, txt, transform=tr, va="center", ha="left", fontsize=6, gid="counts")
    ax.set_yticks(range(len(t)))
    ax.set_yticklabels([str(c).replace("_", " ") for c in t["class"]])
    ax.set_ylim(len(t) - 0.4, -0.6)
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_xticklabels(["0", "25", "50", "75", "100"])
    label = "any regression" if which == "any" else "complete regression"
    ax.set_xlabel(f"Courses followed by {label} (%)")
    ax.text(1.03, -0.9, "events/courses  % (exact CI)", transform=tr, va="center", ha="left",
            fontsize=6, fontweight="bold")  # fmt: skip
    ax.axhline(len(t) - 1.5, color=GREY, linewidth=0.4, linestyle=":")
    return ax
