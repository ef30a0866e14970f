"""Figures of question 3: response per therapy class, and the individual reported times.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from jdmstats import datasets
>>> from jdmstats.questions.class_response import pooled_response
>>> from jdmstats.plots.therapy import response_forest
>>> t = datasets.load_all()
>>> ax = response_forest(pooled_response(t["episodes"], t["arms"], t["studies"]))
"""

from __future__ import annotations

import numpy as np

__all__ = ["response_forest", "time_observations_plot"]


def _pct(v) -> str:
    return "NA" if not np.isfinite(v) else f"{100 * v:.0f}"


def response_forest(result, ax=None):
    """Children whose calcinosis regressed, per therapy class, with k and counts on every row.

    Parameters
    ----------
    result : jdmstats.questions.class_response.PooledResponse
        Drawn as computed (this function never fits).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        Per class: a square at the crude proportion (responders / children assessed) with its
        exact (Clopper-Pearson) interval, and, where two or more sources were pooled, a diamond
        for the GLMM estimate drawn on its own line under the square (no diamond for one
        source). Left of the plot the class; right of it ``k`` (sources), responders/assessed
        and the percentages. The text columns are ``Text`` objects with ``gid="counts"``; the
        diamonds are patches with ``gid="pooled"``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon
    from matplotlib.transforms import blended_transform_factory

    from jdmstats.plots.style import GREY, PALETTE

    t = result.table.reset_index(drop=True)
    t = t[t["assessed"] > 0].reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.7, 1.2 + 0.32 * len(t)))
    fig = ax.figure
    box = ax.get_position()
    ax.set_position([box.x0 + 0.22 * box.width, box.y0, 0.45 * box.width, box.height])
    tr = blended_transform_factory(ax.transAxes, ax.transData)
    lev = int(round(100 * result.level))
    for i, r in t.iterrows():
        y = float(i)
        colour = "black" if r["class"] == "all" else PALETTE[0]
        ax.plot([r["crude_ci_low"], r["crude_ci_high"]], [y - 0.12] * 2, color=colour, lw=1.0)
        size = 3 + 3 * np.sqrt(r["assessed"] / max(t["assessed"].max(), 1))
        ax.plot(r["crude_estimate"], y - 0.12, "s", color=colour, markersize=size)
        pooled = np.isfinite(r["pooled_estimate"])
        if pooled:
            pe, pl, ph = r["pooled_estimate"], r["pooled_ci_low"], r["pooled_ci_high"]
            yd = y + 0.22
            ax.add_patch(Polygon([[pl, yd], [pe, yd + 0.13], [ph, yd], [pe, yd - 0.13]],
                                 closed=True, color=PALETTE[1], gid="pooled"))  # fmt: skip
        text = (f"{int(r['k_sources'])}    {int(r['responders'])}/{int(r['assessed'])}    "
                f"{_pct(r['crude_estimate'])} ({_pct(r['crude_ci_low'])}-"
                f"{_pct(r['crude_ci_high'])})")  # fmt: skip
        if pooled:
            text += (f"    {_pct(r['pooled_estimate'])} ({_pct(r['pooled_ci_low'])}-"
                     f"{_pct(r['pooled_ci_high'])})")  # fmt: skip
        elif r["class"] != "all":
            text += "    one source" if r["k_sources"] == 1 else "    not pooled*"
        ax.text(1.04, y, text, transform=tr, va="center", ha="left", fontsize=6, gid="counts")
    ax.set_yticks(range(len(t)))
    ax.set_yticklabels([str(c).replace("_", " ") for c in t["class"]])
    ax.set_ylim(len(t) - 0.4, -1.0)
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_xticklabels(["0", "25", "50", "75", "100"])
    ax.set_xlabel("Children whose calcinosis regressed (%)")
    ax.text(1.04, -0.75, f"k    n/N    % ({lev}% exact CI)    pooled % ({lev}% CI)",
            transform=tr, va="center", ha="left", fontsize=6, fontweight="bold")  # fmt: skip
    ax.axhline(len(t) - 1.5, color=GREY, linewidth=0.4, linestyle=":")
    fig.text(box.x0, max(box.y0 - 0.16, 0.0), "\n".join([
        "k: sources; n/N: children who responded / children with a stated outcome. Squares: "
        "exact CI of n/N; diamonds: binomial-normal GLMM over sources (k >= 2).",
        "* not pooled: the GLMM is not estimable when every or no child responded, or when the "
        "sources are all-or-none.",
        "Case reports select for success: read these as the published experience, not as "
        "response rates."]), fontsize=5, color="0.3", va="top", gid="footnote")  # fmt: skip
    return ax


def time_observations_plot(obs, ax=None, min_n: int = 5):
    """Every reported time to response, one row per observation: no curve, just the data.

    Parameters
    ----------
    obs : DataFrame
        :func:`jdmstats.questions.class_response.time_observations`.
    min_n : int
        Stated in the figure: below this number of timed observations per class no curve is
        estimated.

    Returns
    -------
    matplotlib Axes
        Courses: an interval (0, T] as a line ending in ``>`` (regression first seen at the
        visit at T), an exact time as ``o``, a right-censored follow-up as a line ending in
        ``|`` (no regression yet). Arms: their median or mean time as ``D`` with the range or
        IQR as a line. Rows are grouped by class (fixed colours and markers).
    """
    import matplotlib.pyplot as plt

    from jdmstats.plots.style import GREY, class_style
    from jdmstats.plots.survival import month_ticks

    if ax is None:
        _, ax = plt.subplots(figsize=(6.7, 1.0 + 0.22 * max(len(obs), 1)))
    tmax = 1.0
    labels = []
    for i, r in obs.reset_index(drop=True).iterrows():
        colour, _ = class_style(str(r["class"]))
        lo, hi, val = r["low_months"], r["high_months"], r["value_months"]
        if r["kind"] == "course":
            lo = 0.0 if not np.isfinite(lo) else lo
            if r["censoring"] == "exact":
                ax.plot(lo, i, "o", color=colour, markersize=4)
            elif r["censoring"] == "interval":
                ax.plot([lo, hi], [i, i], color=colour, lw=1.2)
                ax.plot(hi, i, ">", color=colour, markersize=4)
            else:  # right-censored
                ax.plot([0, lo], [i, i], color=colour, lw=1.2, ls=":")
                ax.plot(lo, i, "|", color=colour, markersize=7)
            tmax = max(tmax, np.nanmax([lo, hi if np.isfinite(hi) else 0]))
        else:
            if np.isfinite(lo) and np.isfinite(hi):
                ax.plot([lo, hi], [i, i], color=colour, lw=1.2)
                tmax = max(tmax, hi)
            ax.plot(val, i, "D", color=colour, markersize=4)
            tmax = max(tmax, val)
        what = {"exact": "regressed", "interval": "regression seen by visit",
                "right": "no regression yet", "summary": f"arm, {r['statistic']} time",
                "followup_summary": f"arm, {r['statistic']} follow-up"}.get(r["censoring"], "")
        n = f", n = {int(r['children'])}" if r["kind"] == "arm" else ""
        labels.append(f"{str(r['class']).replace('_', ' ')}: {r['study_id']} ({what}{n})")
    ax.set_yticks(range(len(obs)))
    ax.set_yticklabels(labels, fontsize=6)
    ax.set_ylim(len(obs) - 0.5, -0.5)
    ax.set_xlim(0, tmax * 1.08)
    ax.set_xticks(month_ticks(tmax * 1.08))
    ax.set_xlabel("Months from the start of the therapy course")
    if len(obs) == 0:
        ax.text(0.5, 0.5, "no reported time to response", transform=ax.transAxes,
                ha="center", va="center", color=GREY)  # fmt: skip
    ax.set_title(f"Every reported time to response (a class needs at least {min_n} timed "
                 "observations for a curve)", fontsize=7, loc="left")  # fmt: skip
    return ax
