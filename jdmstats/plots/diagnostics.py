"""Diagnostic plots of meta-analyses: funnel, bubble (meta-regression), leave-one-out, Baujat.

Every function takes ``ax=None`` (a single-column figure is made when None) and returns the
Axes.  Artists carry ``gid`` values for tests: ``"studies"`` (scatter of the studies),
``"fit"`` (regression line), ``"ci-band"``, ``"pooled"``.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from jdmstats.meta.proportions import proportion
>>> from jdmstats.plots.diagnostics import funnel
>>> ax = funnel(proportion([3, 10, 4, 7], [20, 40, 12, 25], model="glmm"))
>>> len(ax.collections[0].get_offsets())
4
"""

from __future__ import annotations

import numpy as np

__all__ = ["funnel", "bubble", "leave_one_out_plot", "baujat_plot"]


def _ax(ax, height_ratio=0.8):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    from jdmstats.plots import style

    with style.context():
        _, ax = plt.subplots(figsize=(style.SINGLE, height_ratio * style.SINGLE))
    return ax


def _percent(ax, axis="x"):
    from matplotlib.ticker import PercentFormatter

    fmt = PercentFormatter(xmax=1.0, decimals=0)
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def funnel(result, ax=None, against: str = "n", contours: bool = True):
    """Funnel plot.

    Parameters
    ----------
    result : ProportionResult or RMAResult
        For proportions the default is the observed proportion (x, percent) against the sample
        size (y, log scale), with the pooled estimate as a vertical line and, when
        ``contours``, the 95% binomial limits around it (exact, as a function of n): the
        display appropriate to proportions (Hunter et al. 2014).
    against : {"n", "se"}
        ``"se"`` draws the classical effect-vs-standard-error funnel (for proportions: logit
        vs its SE, shown for comparison only: it is distorted because the SE of a logit
        depends on the proportion).
    ax : Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    from scipy import stats

    from jdmstats.plots import style

    ax = _ax(ax)
    is_prop = hasattr(result, "study_prop")
    if against == "n":
        if not is_prop:
            raise ValueError("against='n' needs a ProportionResult (events and totals)")
        n = np.asarray(result.totals, float)
        ax.scatter(result.study_prop, n, s=12, color=style.PALETTE[0], gid="studies", zorder=3,
                   linewidths=0)  # fmt: skip
        ax.axvline(result.estimate, color="0.2", lw=0.8, gid="pooled")
        if contours and 0 < result.estimate < 1:
            grid = np.geomspace(max(2.0, n.min() * 0.8), n.max() * 1.25, 120)
            p0 = result.estimate
            half = stats.norm.isf(0.025) / np.sqrt(grid * p0 * (1 - p0))
            logit = np.log(p0 / (1 - p0))
            lo = 1 / (1 + np.exp(-(logit - half)))
            hi = 1 / (1 + np.exp(-(logit + half)))
            ax.plot(lo, grid, color=style.GREY, lw=0.6, ls="--", gid="limits")
            ax.plot(hi, grid, color=style.GREY, lw=0.6, ls="--")
        ax.set_yscale("log")
        ax.set_xlim(0, min(1.0, max(0.1, np.max(result.study_prop) * 1.15)))
        _percent(ax)
        ax.set_xlabel("Observed proportion")
        ax.set_ylabel("Sample size (log scale)")
        return ax
    if against != "se":
        raise ValueError(f"unknown against {against!r}; accepted: 'n', 'se'")
    fit = result.fit if is_prop else result
    if not hasattr(fit, "yi"):
        raise ValueError("against='se' needs a model with study effects yi and variances vi "
                         "(an inverse-variance fit); a GLMM has none: use against='n'")
    yi, vi, est = np.asarray(fit.yi), np.asarray(fit.vi), fit.estimate
    se = np.sqrt(vi)
    ax.scatter(yi, se, s=12, color=style.PALETTE[0], gid="studies", zorder=3, linewidths=0)
    smax = se.max() * 1.1
    ax.plot([est - 1.96 * smax, est, est + 1.96 * smax], [smax, 0, smax], color=style.GREY,
            lw=0.6, ls="--", gid="limits")  # fmt: skip
    ax.axvline(est, color="0.2", lw=0.8, gid="pooled")
    ax.set_ylim(smax, 0)
    ax.set_xlabel("Logit proportion" if is_prop else "Effect size")
    ax.set_ylabel("Standard error")
    return ax


def bubble(
    reg, ax=None, labels=None, xlabel: str = "Moderator", ylabel: str = "Effect",
    scale: str = "identity", column: int = 1, level: float | None = None, annotate: bool = True,
    max_labels: int = 15,
):  # fmt: skip
    """Bubble plot of a meta-regression on one moderator with its CI band.

    Parameters
    ----------
    reg : MetaRegResult
        Fitted with an intercept and one numeric moderator (``column`` picks another column
        of the design when there are several; the others are held at their mean).
    labels : sequence of str, optional
        Study labels written beside the bubbles when ``annotate`` and there are at most
        ``max_labels`` studies, placed so that no two overlap
        (:func:`jdmstats.plots.labels.place_labels`; call it last, the axis limits are
        frozen when the labels are placed).
    scale : {"identity", "proportion"}
        ``"proportion"`` back-transforms logits (y axis in percent).
    level : float, optional
        Level of the band (default the fit's).

    Returns
    -------
    matplotlib Axes

    Notes
    -----
    Bubble area is proportional to the random-effects weight ``1 / (v_i + tau^2)``; the line
    and band are ``reg.predict`` (CI of the mean, t-based for Hartung-Knapp fits).
    """
    import pandas as pd
    from scipy.special import expit as transf_ilogit

    from jdmstats.plots import style

    ax = _ax(ax)
    X = np.asarray(reg.X)
    if X.shape[1] < 2:
        raise ValueError("bubble() needs a meta-regression with at least one moderator")
    x = X[:, column]
    back = transf_ilogit if scale == "proportion" else (lambda v: np.asarray(v, float))
    w = 1 / (np.asarray(reg.vi) + max(reg.tau2, 0.0))
    size = 10 + 140 * w / w.max()
    ax.scatter(x, back(reg.yi), s=size, facecolor=style.PALETTE[0], alpha=0.45,
               edgecolor=style.PALETTE[0], linewidths=0.5, gid="studies", zorder=3)  # fmt: skip
    grid = np.linspace(x.min(), x.max(), 101)
    means = X[:, 1:].mean(axis=0)
    newX = np.tile(means, (grid.size, 1))
    newX[:, column - 1] = grid
    names = [c for c, _ in reg.encoding.columns]
    pred = reg.predict(pd.DataFrame(newX, columns=names), level=level)
    ax.plot(grid, back(pred["pred"]), color=style.PALETTE[3], lw=1.0, gid="fit")
    ax.fill_between(grid, back(pred["ci_low"]), back(pred["ci_high"]), color=style.PALETTE[3],
                    alpha=0.15, lw=0, gid="ci-band")  # fmt: skip
    if scale == "proportion":
        _percent(ax, "y")
        ax.set_ylim(bottom=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if annotate and labels is not None and len(labels) <= max_labels:
        from jdmstats.plots.labels import place_labels

        place_labels(ax, x, back(reg.yi), labels, fontsize=5, color="0.3",
                     marker_radius=np.sqrt(size / np.pi))  # fmt: skip
    return ax


def leave_one_out_plot(labels, estimate, ci_low, ci_high, overall=None, ax=None,
                       percent: bool = True, xlabel: str = "Pooled prevalence without the study"):  # fmt: skip
    """Leave-one-out plot: the pooled estimate and CI with each study omitted.

    Parameters
    ----------
    labels : sequence of str
        The omitted study of each row.
    estimate, ci_low, ci_high : array_like
    overall : float, optional
        The estimate with all studies (vertical line).
    percent : bool
        Axis in percent (proportions).

    Returns
    -------
    matplotlib Axes
    """
    from matplotlib.collections import LineCollection

    from jdmstats.plots import style

    ax = _ax(ax, 1.2)
    est = np.asarray(estimate, float)
    lo, hi = np.asarray(ci_low, float), np.asarray(ci_high, float)
    k = est.size
    y = np.arange(k, 0, -1)
    ax.add_collection(LineCollection([((a, b), (c, b)) for a, c, b in zip(lo, hi, y, strict=True)],
                                     colors="0.2", linewidths=0.7, gid="ci"))  # fmt: skip
    ax.scatter(est, y, s=10, color=style.PALETTE[0], zorder=3, gid="studies", linewidths=0)
    if overall is not None and np.isfinite(overall):
        ax.axvline(overall, color=style.PALETTE[3], lw=0.8, ls="--", gid="pooled")
    ax.set_yticks(y)
    ax.set_yticklabels([f"Omitting {s}" for s in labels], fontsize=5.5)
    ax.set_ylim(0.3, k + 0.7)
    finite = np.concatenate([lo[np.isfinite(lo)], hi[np.isfinite(hi)]])
    if finite.size:
        pad = 0.05 * (finite.max() - finite.min() or 1)
        left = max(0.0, finite.min() - pad) if percent else finite.min() - pad
        ax.set_xlim(left, finite.max() + pad)
    if percent:
        _percent(ax)
    ax.set_xlabel(xlabel)
    return ax


def baujat_plot(coords, ax=None, annotate: bool = True, n_labels: int = 4):
    """Baujat plot: contribution to heterogeneity (x) against influence on the result (y).

    Parameters
    ----------
    coords : DataFrame
        Columns ``x`` and ``y``, one row per study indexed by its label, as computed by
        :func:`jdmstats.meta.baujat` (this function never fits).

    annotate, n_labels : bool, int
        Label the ``n_labels`` studies with the largest coordinate on each axis.

    Returns
    -------
    matplotlib Axes
    """
    from jdmstats.plots import style

    ax = _ax(ax)
    b = coords
    ax.scatter(b["x"], b["y"], s=12, color=style.PALETTE[0], gid="studies", zorder=3,
               linewidths=0)  # fmt: skip
    if annotate:
        # label the studies that stand out (largest on either axis), not all of them
        top = set(b["x"].nlargest(n_labels).index) | set(b["y"].nlargest(n_labels).index)
        for lab, row in b.loc[[i for i in b.index if i in top]].iterrows():
            ax.annotate(str(lab), (row["x"], row["y"]), xytext=(3, 2),
                        textcoords="offset points", fontsize=5, color="0.3")  # fmt: skip
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("Contribution to overall heterogeneity")
    ax.set_ylabel("Influence on overall result")
    return ax
