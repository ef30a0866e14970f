"""Publication forest plots: proportions (:func:`forest`), generic effects
(:func:`forest_effects`, e.g. mean differences and odds ratios) and Bayesian fits with their
shrinkage estimates (:func:`forest_bayes`).

Layout (left to right, inside the Axes' original box): study label, events/N (proportions),
the plot (point sized by weight with its 95% CI, pooled diamonds, prediction interval), and
the estimate with its CI as text.  Subgroups get a heading and their own diamond.  The height
that fits ``k`` studies is :func:`forest_height`.  Artists carry ``gid`` values so that tests
can count them: ``"studies"`` (the scatter of study points), ``"ci"`` (study intervals),
``"diamond"``, ``"subgroup-diamond"``, ``"pi"``.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from jdmstats.meta.proportions import proportion
>>> from jdmstats.plots.forests import forest
>>> res = proportion([3, 10, 4, 7], [20, 40, 12, 25], model="glmm")
>>> ax = forest(res)
>>> len(ax.collections[0].get_offsets())
4
"""

from __future__ import annotations

import numpy as np

__all__ = ["forest", "forest_bayes", "forest_effects", "forest_height"]

# fractions of the Axes' original width used by the columns
_COLS_PROP = {"label": 0.0, "count": 0.30, "plot": (0.42, 0.76), "text": 0.79, "fs": 6.5}
_COLS_EFF = {"label": 0.0, "count": None, "plot": (0.30, 0.70), "text": 0.73, "fs": 6.5}
# narrow boxes (single column, < 4.5 in): smaller type, wider text columns
_NARROW_PROP = {"label": 0.0, "count": 0.36, "plot": (0.47, 0.71), "text": 0.74, "fs": 5.0}
_NARROW_EFF = {"label": 0.0, "count": None, "plot": (0.32, 0.66), "text": 0.69, "fs": 5.0}


def forest_height(k: int, n_pooled: int = 1, n_groups: int = 0, row: float = 0.16) -> float:
    """Figure height in inches for ``k`` studies, pooled rows and subgroup blocks."""
    rows = k + 2 * n_pooled + 3 * n_groups + 4
    return 0.45 + row * rows


def _pretty(s) -> str:
    s = str(s)
    if s == "not_stated":
        return "Not stated"
    return s.replace("_", " ").capitalize() if s.islower() else s


def _fmt(v, percent: bool, digits: int = 1) -> str:
    if not np.isfinite(v):
        return "NA"
    return f"{100 * v:.{digits}f}" if percent else f"{v:.2f}"


def _ci_text(est, lo, hi, percent):
    return f"{_fmt(est, percent)} [{_fmt(lo, percent)}, {_fmt(hi, percent)}]"


def _glmm_weights(events, totals, tau2):
    """Approximate relative weights ``1 / (v_i + tau^2)`` (escalc PLO variances, 1/2 added to
    zero cells) used only to size the points of a GLMM forest plot."""
    x = np.asarray(events, float)
    n = np.asarray(totals, float)
    zero = (x == 0) | (x == n)
    xa, na = np.where(zero, x + 0.5, x), np.where(zero, n + 1, n)
    v = 1 / xa + 1 / (na - xa)
    w = 1 / (v + (tau2 if np.isfinite(tau2) else 0.0))
    return 100 * w / w.sum()


def _pooled_label(res) -> str:
    if getattr(res, "model", None) == "glmm":
        return "GLMM"
    if getattr(res, "model", None) == "iv":
        kind = {"logit": "Logit", "freeman-tukey": "FT", "arcsine": "Arcsine"}.get(
            res.transform, res.transform
        )
        return f"{kind} IV ({res.method}{', HK' if res.test != 'z' else ''})"
    return "Random effects"


def _setup(ax, width="double", height=None, cols=None, narrow=None):
    import matplotlib.pyplot as plt

    from jdmstats.plots import style

    if ax is None:
        with style.context():
            fig, ax = plt.subplots(figsize=(style.width(width), height or 4.0))
    box = ax.get_position()
    if box.width * ax.figure.get_size_inches()[0] < 4.5:
        cols.update(narrow)
    x0, x1 = cols["plot"]
    ax.set_position([box.x0 + x0 * box.width, box.y0, (x1 - x0) * box.width, box.height])
    return ax, (box, x0, x1)


def _auto_xlim(vals, null, percent, log):
    """x limits that hold ``vals`` (and the null line), padded for the scale."""
    lo, hi = (float(min(vals)), float(max(vals))) if len(vals) else (0.0, 1.0)
    if null is not None:
        lo, hi = min(lo, null), max(hi, null)
    if percent:
        return 0.0, min(1.0, np.ceil(hi * 10 + 1e-9) / 10)
    if log:
        return lo / 1.2, hi * 1.2
    pad = 0.05 * (hi - lo if hi > lo else 1.0)
    return lo - pad, hi + pad


def _render(ax, rows, geom, cols, percent, xlabel, null, log, xlim, header):
    """Draw ``rows`` (top to bottom) into ``ax``; text columns sit in the original box."""
    import matplotlib.transforms as mtransforms
    from matplotlib.patches import Polygon

    from jdmstats.plots import style

    box, px0, px1 = geom
    n = len(rows)
    ys = np.arange(n, 0, -1, dtype=float)  # top row at y = n
    trans = mtransforms.blended_transform_factory(ax.transAxes, ax.transData)

    def axx(frac):  # fraction of the original box -> axes coordinate of the shrunk axes
        return (frac - px0) / (px1 - px0)

    fs = cols["fs"]
    top = n + 1
    if header:
        ax.text(axx(cols["label"]), top, header[0], transform=trans, ha="left", va="center",
                fontsize=fs, fontweight="bold", clip_on=False)  # fmt: skip
        if cols["count"] is not None:
            ax.text(axx(cols["count"] + 0.08), top, header[1], transform=trans, ha="right",
                    va="center", fontsize=fs, fontweight="bold", clip_on=False)  # fmt: skip
        ax.text(axx(1.0), top, header[2], transform=trans, ha="right", va="center",
                fontsize=fs, fontweight="bold", clip_on=False)  # fmt: skip
    sx, sy, ss, cis = [], [], [], []
    for y, r in zip(ys, rows, strict=True):
        kind = r["kind"]
        bold = kind in ("heading", "diamond")
        ax.text(axx(cols["label"] + (0.015 if kind in ("study", "subgroup", "pi") and r.get(
            "indent") else 0)), y, r["label"], transform=trans, ha="left", va="center",
            fontsize=fs, fontweight="bold" if bold else "normal",
            fontstyle="italic" if kind in ("pi", "note") else "normal", clip_on=False)  # fmt: skip
        if cols["count"] is not None and r.get("count"):
            ax.text(axx(cols["count"] + 0.08), y, r["count"], transform=trans, ha="right",
                    va="center", fontsize=fs, clip_on=False)  # fmt: skip
        if r.get("text"):
            ax.text(axx(1.0), y, r["text"], transform=trans, ha="right", va="center",
                    fontsize=fs, fontweight="bold" if kind == "diamond" else "normal",
                    clip_on=False)  # fmt: skip
        if kind == "study":
            sx.append(r["est"])
            sy.append(y)
            ss.append(r["size"])
            cis.append(((r["lo"], y), (r["hi"], y)))
        elif kind in ("diamond", "subgroup"):
            if not np.isfinite(r["est"]):
                continue
            h = 0.32
            color = r.get("color", style.PALETTE[0])
            poly = Polygon([(r["lo"], y), (r["est"], y + h), (r["hi"], y), (r["est"], y - h)],
                           closed=True, facecolor=color, edgecolor=color, lw=0.6,
                           gid="diamond" if kind == "diamond" else "subgroup-diamond")  # fmt: skip
            ax.add_patch(poly)
        elif kind == "pi" and np.isfinite(r["lo"]):
            ax.plot([r["lo"], r["hi"]], [y, y], color=r.get("color", style.PALETTE[0]), lw=1.0,
                    gid="pi", solid_capstyle="butt")  # fmt: skip
            for xv in (r["lo"], r["hi"]):
                ax.plot([xv, xv], [y - 0.18, y + 0.18], color=r.get("color", style.PALETTE[0]),
                        lw=1.0, gid="pi-cap")  # fmt: skip
    from matplotlib.collections import LineCollection

    ax.scatter(sx, sy, s=ss, marker="s", color="0.15", zorder=3, gid="studies", linewidths=0)
    lc = LineCollection(cis, colors="0.15", linewidths=0.7, gid="ci")
    ax.add_collection(lc)
    if log:
        from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    if xlim is None:
        vals = [v for r in rows for v in (r.get("lo"), r.get("hi"), r.get("est"))
                if v is not None and np.isfinite(v)]  # fmt: skip
        xlim = _auto_xlim(vals, null, percent, log)
    ax.set_xlim(*xlim)
    ax.set_ylim(0.3, n + 1.6)
    if null is not None:
        ax.axvline(null, color=style.GREY, lw=0.6, ls="-", zorder=0)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    if percent:
        from matplotlib.ticker import PercentFormatter

        ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    ax.set_xlabel(xlabel, fontsize=fs + 0.5)
    ax.tick_params(axis="x", labelsize=fs)
    return ax


def _sizes(w):
    w = np.asarray(w, float)
    w = np.where(np.isfinite(w), w, np.nanmean(w) if np.isfinite(w).any() else 1.0)
    return 3 + 30 * w / max(w.max(), 1e-12)


def forest(
    result,
    ax=None,
    *,
    extra_pooled=None,
    groups=None,
    subgroup_fits=None,
    sort_by: str | None = None,
    years=None,
    show_pi: bool = True,
    xlim=None,
    xlabel: str = "Prevalence of calcinosis",
    width="double",
):
    """Forest plot of a meta-analysis of proportions.

    Parameters
    ----------
    result : jdmstats.meta.proportions.ProportionResult
        The pooled proportions (GLMM or inverse-variance).
    ax : matplotlib Axes, optional
        Drawn into (its box is split into text columns and the plot); a new figure of the
        given ``width`` and :func:`forest_height` is made when None.
    extra_pooled : list of ProportionResult, optional
        Further pooled models (e.g. the IV logit model) drawn as extra diamonds.
    groups : array_like, optional
        Subgroup of each study: studies are drawn under a heading per group (missing values
        under "Not stated").
    subgroup_fits : dict, optional
        Group -> pooled result of that group's studies (fitted by the caller, e.g.
        :class:`jdmstats.questions.prevalence.PrevalenceAnalysis.region_fits`), drawn as the
        group's subtotal diamond; groups without a fit get none. This function never fits.
    sort_by : {None, "year", "estimate"}
        Order of the studies (within groups); ``"year"`` needs ``years``.
    years : array_like, optional
        Publication year of each study (for ``sort_by="year"``).
    show_pi : bool
        Draw the prediction interval of ``result`` (always recommended).
    xlim : tuple, optional
        Axis limits (proportions); default 0 to the next 10% above the largest upper limit.
    xlabel : str
    width : {"single", "double"} or float
        Width when a new figure is made.

    Returns
    -------
    matplotlib Axes
    """
    from jdmstats.plots import style

    k = result.k
    order = np.arange(k)
    if sort_by == "year":
        if years is None:
            raise ValueError("sort_by='year' needs years (one publication year per study)")
        yrs = np.asarray(years, float)
        if yrs.shape != (k,):
            raise ValueError(f"years has {yrs.size} values but there are {k} studies")
        order = np.lexsort((np.arange(k), yrs))
    elif sort_by == "estimate":
        order = np.lexsort((np.arange(k), result.study_prop))
    elif sort_by is not None:
        raise ValueError(f"unknown sort_by {sort_by!r}; accepted: None, 'year', 'estimate'")
    w = result.weights if result.weights is not None else _glmm_weights(
        result.events, result.totals, result.tau2)  # fmt: skip
    size = _sizes(w)
    lev = int(round(100 * result.level))

    def study_row(i, indent=False):
        return {"kind": "study", "label": str(result.labels[i]), "indent": indent,
                "count": f"{int(result.events[i])}/{int(result.totals[i])}",
                "est": result.study_prop[i], "lo": result.study_ci_low[i],
                "hi": result.study_ci_high[i], "size": size[i],
                "text": _ci_text(result.study_prop[i], result.study_ci_low[i],
                                 result.study_ci_high[i], True)}  # fmt: skip

    rows = []
    if groups is not None:
        g = np.asarray([("not_stated" if v is None or v != v else v) for v in groups], object)
        if g.shape != (k,):
            raise ValueError(f"groups has {g.size} values but there are {k} studies")
        levels = sorted(set(g.tolist()), key=lambda v: (v == "not_stated", str(v)))
        for lv in levels:
            idx = [i for i in order if g[i] == lv]
            rows.append({"kind": "heading", "label": _pretty(lv)})
            rows += [study_row(i, indent=True) for i in idx]
            sub = (subgroup_fits or {}).get(lv)
            if sub is not None:
                ev, tot = int(result.events[idx].sum()), int(result.totals[idx].sum())
                rows.append({"kind": "subgroup", "label": f"Subtotal (k = {len(idx)})",
                             "indent": True, "count": f"{ev}/{tot}", "est": sub.estimate,
                             "lo": sub.ci_low, "hi": sub.ci_high, "color": style.PALETTE[5],
                             "text": _ci_text(sub.estimate, sub.ci_low, sub.ci_high, True)})  # fmt: skip
    else:
        rows += [study_row(i) for i in order]
    ev, tot = int(np.sum(result.events)), int(np.sum(result.totals))
    pooled = [result] + list(extra_pooled or [])
    for j, res in enumerate(pooled):
        rows.append({"kind": "diamond", "label": _pooled_label(res),
                     "count": f"k = {res.k}", "est": res.estimate,
                     "lo": res.ci_low, "hi": res.ci_high,
                     "color": style.PALETTE[0] if j == 0 else style.PALETTE[1],
                     "text": _ci_text(res.estimate, res.ci_low, res.ci_high, True)})  # fmt: skip
    if show_pi:
        pi_ok = np.isfinite(result.pi_low)
        rows.append({"kind": "pi", "label": f"{lev}% prediction interval", "est": np.nan,
                     "lo": result.pi_low, "hi": result.pi_high, "color": style.PALETTE[0],
                     "text": (f"[{_fmt(result.pi_low, True)}, {_fmt(result.pi_high, True)}]"
                              if pi_ok else "not estimable")})  # fmt: skip
    tau = result.tau2
    het = (f"Heterogeneity: tau\u00b2 = {tau:.3f}, I\u00b2 = {result.i2:.0f}%" if np.isfinite(tau)
           else "heterogeneity not estimable (k = 1)")  # fmt: skip
    if ax is None:
        n_g = len(set(groups)) if groups is not None else 0
        import matplotlib.pyplot as plt

        from jdmstats.plots import style as _s

        with _s.context():
            fig, ax = plt.subplots(figsize=(_s.width(width),
                                            forest_height(k, len(pooled), n_g)))  # fmt: skip
    rows.append({"kind": "note", "label": het})
    cols = dict(_COLS_PROP)
    ax, geom = _setup(ax, cols=cols, narrow=_NARROW_PROP)
    _render(ax, rows, geom, cols, True, xlabel, None, False, xlim,
            ("Study", "Events/N", f"% [{lev}% CI]"))  # fmt: skip
    return ax


def forest_effects(
    yi,
    vi,
    labels,
    fit=None,
    ax=None,
    *,
    xlabel: str = "Effect",
    log: bool = False,
    null: float | None = 0.0,
    sort_by: str | None = None,
    show_pi: bool = True,
    xlim=None,
    level: float = 0.95,
    ci=None,
    width="double",
):
    """Forest plot of generic effect sizes (mean differences, log odds ratios, ...).

    Parameters
    ----------
    yi, vi : array_like
        Effects and sampling variances (log scale for ratios: set ``log=True`` to draw and
        print ``exp`` of them on a log axis).
    labels : sequence of str
    fit : RMAResult, optional
        Pooled model (diamond, prediction interval, weights); None draws the studies only
        (with a single study, a note says that there is one source and nothing is pooled).
    ax : Axes, optional
    xlabel : str
    log : bool
        Ratio measure: values are exponentiated and the axis is logarithmic.
    null : float, optional
        Line of no effect (on the drawn scale: 0 for MD, 1 for OR).
    sort_by : {None, "estimate"}
    show_pi : bool
    xlim : tuple, optional
    level : float
        Level of the per-study Wald intervals.
    ci : (array_like, array_like), optional
        Per-study intervals to draw and print instead of the Wald ones, on the drawn scale
        (e.g. the odds-ratio CIs as reported, which rounding makes slightly asymmetric).

    Returns
    -------
    matplotlib Axes
    """
    from scipy import stats

    from jdmstats.plots import style

    yi = np.asarray(yi, float)
    vi = np.asarray(vi, float)
    k = yi.size
    labels = [str(s) for s in labels]
    z = stats.norm.isf((1 - level) / 2)
    back = np.exp if log else (lambda v: np.asarray(v, float))
    order = np.lexsort((np.arange(k), yi)) if sort_by == "estimate" else np.arange(k)
    w = fit.weights if fit is not None else 1 / vi
    size = _sizes(w)

    def txt(e, lo, hi):
        return f"{float(e):.2f} [{float(lo):.2f}, {float(hi):.2f}]"

    rows = []
    if ci is not None:
        ci_lo, ci_hi = (np.asarray(c, float) for c in ci)
    for i in order:
        lo, hi = back(yi[i] - z * np.sqrt(vi[i])), back(yi[i] + z * np.sqrt(vi[i]))
        if ci is not None and np.isfinite(ci_lo[i]) and np.isfinite(ci_hi[i]):
            lo, hi = ci_lo[i], ci_hi[i]
        rows.append({"kind": "study", "label": labels[i], "est": float(back(yi[i])),
                     "lo": float(lo), "hi": float(hi), "size": size[i],
                     "text": txt(back(yi[i]), lo, hi)})  # fmt: skip
    if fit is not None:
        rows.append({"kind": "diamond", "label": f"Pooled ({fit.method}"
                     f"{', HK' if fit.test != 'z' else ''}), k = {fit.k}",
                     "est": float(back(fit.estimate)), "lo": float(back(fit.ci_low)),
                     "hi": float(back(fit.ci_high)), "color": style.PALETTE[0],
                     "text": txt(back(fit.estimate), back(fit.ci_low), back(fit.ci_high))})  # fmt: skip
        if show_pi:
            ok = np.isfinite(fit.pi_low)
            rows.append({"kind": "pi", "label": f"{int(round(100 * fit.level))}% prediction "
                         "interval", "est": np.nan,
                         "lo": float(back(fit.pi_low)) if ok else np.nan,
                         "hi": float(back(fit.pi_high)) if ok else np.nan,
                         "text": (f"[{float(back(fit.pi_low)):.2f}, "
                                  f"{float(back(fit.pi_high)):.2f}]") if ok else "not estimable"})  # fmt: skip
    if ax is None:
        import matplotlib.pyplot as plt

        with style.context():
            fig, ax = plt.subplots(figsize=(style.width(width), forest_height(k, 1)))
    if fit is not None and np.isfinite(fit.tau2):
        rows.append({"kind": "note", "label": f"tau\u00b2 = {fit.tau2:.3g}, "
                     f"I\u00b2 = {fit.i2:.0f}%"})  # fmt: skip
    elif fit is None and k == 1:
        rows.append({"kind": "note", "label": "One source only: shown as reported, not pooled"})
    cols = dict(_COLS_EFF)
    ax, geom = _setup(ax, cols=cols, narrow=_NARROW_EFF)
    lev = int(round(100 * level))
    _render(ax, rows, geom, cols, False, xlabel, null, log, xlim,
            ("Study", "", f"Estimate [{lev}% CI]"))  # fmt: skip
    return ax


def forest_bayes(
    result,
    ax=None,
    *,
    interval: str = "shortest",
    xlabel: str | None = None,
    null: float | None = 0.0,
    log: bool = False,
    xlim=None,
    width="double",
):
    """Forest plot of a Bayesian meta-analysis (:func:`jdmstats.meta.bayes`) with shrinkage.

    Each study shows its estimate with the ``result.level`` Wald interval (square, black) and,
    just below, its shrinkage estimate (posterior median of theta_i with its credible interval;
    orange circle, ``gid="shrinkage"``); then the posterior of mu (diamond: median and
    interval) and the predictive interval of theta.  The result is drawn, never fitted.

    Parameters
    ----------
    result : BayesResult
    ax : Axes, optional
    interval : {"shortest", "central"}
        Which credible intervals to draw and print.
    xlabel : str, optional
        Default "Effect" ("Proportion" for :func:`jdmstats.meta.bayes_proportion` fits, drawn
        back-transformed on a percent axis).
    null : float, optional
        Line of no effect (drawn scale); None for none (proportions default to none).
    log : bool
        Ratio measure: exponentiate and draw on a log axis (``null`` is then 1).
    xlim : tuple, optional
    width : "single" or "double"

    Returns
    -------
    matplotlib Axes
    """
    from statistics import NormalDist

    from jdmstats.plots import style

    if interval not in ("shortest", "central"):
        raise ValueError(
            f"forest_bayes: interval must be 'shortest' or 'central', got {interval!r}"
        )
    percent = getattr(result, "measure", "GEN") == "PLO"
    if percent:
        back = lambda v: 1 / (1 + np.exp(-np.asarray(v, float)))  # noqa: E731
        null = None if null == 0.0 else null
        log = False
    else:
        back = np.exp if log else (lambda v: np.asarray(v, float))
        if log and null == 0.0:
            null = 1.0
    xlabel = xlabel or ("Proportion" if percent else "Effect")
    lev = int(round(100 * result.level))
    z = NormalDist().inv_cdf(1 - (1 - result.level) / 2)
    pct = f"{100 * result.level:g}%"
    lo_row, hi_row = f"{pct} lower ({interval})", f"{pct} upper ({interval})"
    yi, sei = np.asarray(result.yi, float), np.asarray(result.sei, float)
    shr = result.shrinkage
    size = _sizes(np.asarray(result.weights, float)[: yi.size])

    def txt(e, lo, hi):
        return _ci_text(float(e), float(lo), float(hi), percent)

    rows = []
    for i, lab in enumerate(result.labels):
        lo, hi = back(yi[i] - z * sei[i]), back(yi[i] + z * sei[i])
        rows.append({"kind": "study", "label": str(lab), "est": float(back(yi[i])),
                     "lo": float(lo), "hi": float(hi), "size": size[i],
                     "text": txt(back(yi[i]), lo, hi)})  # fmt: skip
    t = result.table
    rows.append({"kind": "diamond", "label": f"mu (posterior median), k = {result.k}",
                 "est": float(back(t.loc["median", "mu"])), "lo": float(back(t.loc[lo_row, "mu"])),
                 "hi": float(back(t.loc[hi_row, "mu"])), "color": style.PALETTE[0],
                 "text": txt(back(t.loc["median", "mu"]), back(t.loc[lo_row, "mu"]),
                             back(t.loc[hi_row, "mu"]))})  # fmt: skip
    rows.append({"kind": "pi", "label": f"{lev}% prediction interval (theta)", "est": np.nan,
                 "lo": float(back(t.loc[lo_row, "theta"])),
                 "hi": float(back(t.loc[hi_row, "theta"])),
                 "text": f"[{_fmt(float(back(t.loc[lo_row, 'theta'])), percent)}, "
                         f"{_fmt(float(back(t.loc[hi_row, 'theta'])), percent)}]"})  # fmt: skip
    rows.append({"kind": "note", "label": f"tau median {t.loc['median', 'tau']:.3g}; prior "
                 f"{result.tau_prior}; shrinkage estimates in orange"})  # fmt: skip
    if ax is None:
        import matplotlib.pyplot as plt

        with style.context():
            fig, ax = plt.subplots(figsize=(style.width(width), forest_height(yi.size, 2)))
    cols = dict(_COLS_EFF)
    ax, geom = _setup(ax, cols=cols, narrow=_NARROW_EFF)
    if xlim is None:
        vals = np.concatenate([back(yi - z * sei), back(yi + z * sei),
                               back(shr[lo_row]), back(shr[hi_row]),
                               back(np.array([t.loc[lo_row, "theta"], t.loc[hi_row, "theta"]]))])  # fmt: skip
        xlim = _auto_xlim(vals[np.isfinite(vals)], null, percent, log)
    _render(ax, rows, geom, cols, percent, xlabel, null, log, xlim,
            ("Study", "", f"Estimate [{lev}% CI]"))  # fmt: skip
    from matplotlib.collections import LineCollection

    n = len(rows)
    ys = np.arange(n, 0, -1, dtype=float)[: yi.size] - 0.3
    med = back(shr["median"].to_numpy())
    segs = [((float(a), y), (float(b), y)) for a, b, y in
            zip(back(shr[lo_row].to_numpy()), back(shr[hi_row].to_numpy()), ys, strict=True)]  # fmt: skip
    color = style.PALETTE[1]
    ax.add_collection(LineCollection(segs, colors=color, linewidths=0.7, gid="shrinkage-ci"))
    ax.scatter(med, ys, s=10, marker="o", color=color, zorder=3, gid="shrinkage", linewidths=0)
    return ax
