"""Time-to-regression figures: Turnbull/Kaplan-Meier curves per therapy class with a
number-at-risk table, and a swimmer plot of every patient's therapy courses.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from jdmstats import datasets, response
>>> from jdmstats.plots.survival import survival_curves, swimmer
>>> res = response.time_to_regression(datasets.load_episodes(), n_boot=20)
>>> ax = survival_curves(res)
>>> ax = swimmer(datasets.load_episodes())
"""

from __future__ import annotations

import numpy as np

__all__ = ["survival_curves", "swimmer", "at_risk_counts", "class_colours"]


def class_colours(classes) -> dict:
    """The fixed colour of each class (:func:`jdmstats.plots.style.class_style`)."""
    from jdmstats.plots.style import class_style

    return {c: class_style(c)[0] for c in classes}


def at_risk_counts(timed, cls: str, times) -> list[int]:
    """Episodes of ``cls`` not yet seen regressed and still followed at each time.

    Counts episodes whose event time, interval upper end (the visit at which regression was
    first seen) or censoring time is >= t: the usual Kaplan-Meier risk set for exact and
    right-censored times; for interval-censored times an episode leaves the table at the
    visit at which regression was first seen.
    """
    sub = timed[timed["class"] == cls]
    end = np.where(np.isinf(sub["upper"]), sub["lower"], sub["upper"])
    return [int(np.sum(end >= t)) for t in times]


def _turnbull_xy(fit):
    """Survival drawn flat outside innermost intervals and as a straight line across each one
    (where the NPMLE does not say when the mass falls)."""
    x, y = [0.0], [1.0]
    s = 1.0
    for q, p, m in zip(fit.left, fit.right, fit.mass, strict=False):
        if m <= 1e-10:
            continue
        x += [q, p]
        y += [s, s - m]
        s -= m
    return np.array(x), np.array(y)


def month_ticks(tmax: float) -> np.ndarray:
    """Ticks at whole multiples of 6 months (12 beyond 6 years, 24 beyond 12) up to ``tmax``."""
    step = 6 if tmax <= 72 else 12 if tmax <= 144 else 24
    return np.arange(0, tmax + 1e-9, step, dtype=float)


def survival_curves(result, ax=None, at_risk: bool = True, classes=None, times=None,
                    bands: bool = True, min_n: int = 5):  # fmt: skip
    """Probability of no regression yet, per therapy class, with a number-at-risk table.

    Parameters
    ----------
    result : jdmstats.questions.response.TimeToRegression
    ax : matplotlib Axes, optional
        Drawn into a new single-column-width figure when None.
    at_risk : bool
        Write the number at risk (:func:`at_risk_counts`) under the plot, one row per class.
    classes : list of str, optional
        Classes to draw (default: every class with a curve).
    times : array_like, optional
        Times of the at-risk table and ticks (default: every 6 months, :func:`month_ticks`).
    min_n : int
        A class is drawn only with at least this many timed observations: no curve is ever
        drawn through one or two children. With none left, the axes say so.
    bands : bool
        Shade the pointwise confidence interval (Kaplan-Meier log-log) or bootstrap band
        (Turnbull).

    Returns
    -------
    matplotlib Axes
        The curves are ``Line2D`` objects labelled by class (with the number of episodes); the
        at-risk numbers are ``Text`` objects with ``gid="at_risk"``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.transforms import blended_transform_factory

    from jdmstats.plots.style import GREY

    if ax is None:
        _, ax = plt.subplots(figsize=(3.35, 2.8))
    n_timed = result.timed["class"].value_counts()
    classes = [c for c in (classes or list(result.curves))
               if c in result.curves and n_timed.get(c, 0) >= min_n]  # fmt: skip
    colours = class_colours(classes)
    timed = result.timed
    finite = np.concatenate([timed["lower"].to_numpy(), timed["upper"].to_numpy()])
    finite = finite[np.isfinite(finite)]
    tmax = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    for cls in classes:
        cur = result.curves[cls]
        n = int((timed["class"] == cls).sum())
        colour = colours[cls]
        label = f"{cls.replace('_', ' ')} (n = {n})"
        fit = cur.attrs.get("turnbull")
        if fit is not None:
            x, y = _turnbull_xy(fit)
            x, y = np.append(x, tmax), np.append(y, y[-1])
            ax.plot(x, y, color=colour, label=label)
            if bands:
                ax.fill_between(cur["time"], cur["lower"], cur["upper"], step="post",
                                color=colour, alpha=0.15, linewidth=0)  # fmt: skip
        else:
            t = np.append(cur["time"].to_numpy(), tmax)
            s = np.append(cur["surv"].to_numpy(), cur["surv"].iloc[-1])
            ax.step(t, s, where="post", color=colour, label=label)
            if bands:
                lo = np.append(cur["lower"].to_numpy(), cur["lower"].iloc[-1])
                hi = np.append(cur["upper"].to_numpy(), cur["upper"].iloc[-1])
                ax.fill_between(t, lo, hi, step="post", color=colour, alpha=0.15, linewidth=0)
            cens = timed[(timed["class"] == cls) & (timed["event"] == 0)]["lower"].to_numpy()
            if cens.size:
                sc = np.interp(cens, cur["time"], cur["surv"], left=1.0)
                idx = np.searchsorted(cur["time"].to_numpy(), cens, side="right") - 1
                sc = cur["surv"].to_numpy()[np.clip(idx, 0, None)]
                ax.plot(cens, sc, "|", color=colour, markersize=5)
    ax.set_xlim(0, tmax * 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("Months from start of therapy course")
    ax.set_ylabel("Not yet regressed")
    if classes:
        ax.legend(frameon=False, loc="upper right")
    else:
        ax.text(0.5, 0.5, f"too few timed observations to estimate a curve\n(fewer than "
                f"{min_n} in every therapy class)", transform=ax.transAxes, ha="center",
                va="center", color=GREY, gid="too_few")  # fmt: skip
    ticks = month_ticks(tmax) if times is None else np.asarray(times, dtype=float)
    ax.set_xticks(ticks)
    if at_risk and classes:
        times = ticks
        tr = blended_transform_factory(ax.transData, ax.transAxes)
        tr_lab = ax.transAxes
        top = -0.30
        step = 0.085
        ax.text(0.0, top + step * 0.9, "Number at risk", transform=tr_lab, ha="left",
                va="center", fontsize=6.5, fontweight="bold", gid="at_risk_title")  # fmt: skip
        for i, cls in enumerate(classes):
            yy = top - i * step
            ax.text(-0.02, yy, cls.replace("_", " "), transform=tr_lab, ha="right",
                    va="center", fontsize=6, color=colours[cls])  # fmt: skip
            for t, n in zip(times, at_risk_counts(timed, cls, times), strict=False):
                ax.text(t, yy, str(n), transform=tr, ha="center", va="center", fontsize=6,
                        gid="at_risk")  # fmt: skip
    return ax


def swimmer(episodes, ax=None, classes=None):
    """Every patient's therapy courses over time, coloured by class, with regression marked.

    One row per patient (grouped by source); each course is a bar from its start to the end of
    its follow-up.  Courses start at ``start_months`` (months after JDM diagnosis, shifted so
    that the patient's first course starts at 0) when stated; otherwise courses are laid end to
    end in ``sequence`` order.  A course without a stated duration gets no bar: it is a hollow
    marker of its class in a column left of time zero, so that no duration can be read into
    it.  Each class has a fixed colour and marker (:func:`jdmstats.plots.style.class_style`).
    Markers: ``o`` regression at an exact time, ``>`` regression first seen at a visit (drawn at
    the visit), ``|`` follow-up ended without regression.

    Parameters
    ----------
    episodes : DataFrame
        As :func:`jdmstats.evidence.datasets.load_episodes`.
    ax : matplotlib Axes, optional
    classes : list of str, optional
        Order of classes for the colours (default: by number of courses).

    Returns
    -------
    matplotlib Axes
        One ``Rectangle`` patch per timed course (``gid`` = episode_id) and one hollow marker
        per untimed course (``gid`` = ``untimed:<episode_id>``).
    """
    import matplotlib.pyplot as plt
    import pandas as pd

    from jdmstats.plots.style import GREY

    if ax is None:
        _, ax = plt.subplots(figsize=(3.35, 2.8))
    ep = episodes.copy()
    ep["therapy_class"] = ep["therapy_class"].astype(str)
    if classes is None:
        counts = ep.groupby("therapy_class").size()
        classes = sorted(counts.index, key=lambda c: (-counts[c], c))
    from jdmstats.plots.style import class_style

    styles = {c: class_style(c) for c in classes}
    ep = ep.sort_values(["study_id", "patient_id", "sequence"], kind="stable")
    patients = list(dict.fromkeys(ep["patient_id"].astype(str)))
    durations = []
    for _, r in ep.iterrows():
        d = r["followup_months"]
        if pd.isna(d):
            cand = [v for v in (r["time_upper_months"], r["time_lower_months"]) if pd.notna(v)]
            d = max(cand) if cand else np.nan
        durations.append(d)
    ep["_dur"] = durations
    xmax = 1.0
    for y, pid in enumerate(patients):
        rows = ep[ep["patient_id"].astype(str) == pid]
        starts = rows["start_months"]
        base = starts.min() if starts.notna().any() else 0.0
        cursor = 0.0
        untimed = 0
        for _, r in rows.iterrows():
            x0 = float(r["start_months"] - base) if pd.notna(r["start_months"]) else cursor
            dur = r["_dur"]
            colour, marker = styles.get(r["therapy_class"], (GREY, "o"))
            if not (pd.notna(dur) and dur > 0):
                # no duration stated: a hollow marker in a column left of the time axis, so
                # that no length (time) can be read into it
                ax.plot(-1.2 - 1.1 * untimed, y, marker, markerfacecolor="white",
                        markeredgecolor=colour, markersize=4, linestyle="",
                        gid=f"untimed:{r['episode_id']}")  # fmt: skip
                untimed += 1
                continue
            bar = ax.barh(y, float(dur), left=x0, height=0.6, color=colour, edgecolor=colour,
                          linewidth=0.5)  # fmt: skip
            bar.patches[0].set_gid(str(r["episode_id"]))
            ax.plot(x0 + 0.4, y, marker, color="white", markersize=2.5, linestyle="")
            cens = str(r["censoring"])
            if cens == "exact":
                ax.plot(x0 + r["time_lower_months"], y, "o", color="black", markersize=3)
            elif cens == "interval":
                ax.plot(x0 + r["time_upper_months"], y, ">", color="black", markersize=3)
            elif cens == "right":
                ax.plot(x0 + float(dur), y, "|", color="black", markersize=6)
            cursor = x0 + float(dur)
            xmax = max(xmax, cursor)
    ax.set_yticks(range(len(patients)))
    ax.set_yticklabels([p.replace("_", " ") for p in patients])
    ax.invert_yaxis()
    ax.axvline(0, color=GREY, linewidth=0.4)
    ax.set_xlim(-1.2 - 1.1 * 3.5, xmax * 1.05)
    ax.set_xticks([t for t in ax.get_xticks() if t >= 0])
    ax.set_xlabel("Months from the patient's first timed course (hollow markers, left: courses "
                  "whose duration is not stated)")  # fmt: skip
    handles = [plt.Line2D([], [], marker=styles[c][1], linestyle="", color=styles[c][0],
                          markersize=4, label=c.replace("_", " ")) for c in classes]  # fmt: skip
    handles += [plt.Line2D([], [], marker=m, linestyle="", color="black", markersize=3, label=t)
                for m, t in (("o", "regressed (exact time)"), (">", "regression first seen"),
                             ("|", "no regression at last follow-up"))]  # fmt: skip
    ax.legend(handles=handles, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return ax
