"""Turnbull's nonparametric maximum-likelihood estimator for interval-censored times.

Observations are half-open intervals ``(left, right]`` in which the event happened; an exact
time ``t`` is ``left == right == t`` (the degenerate interval ``[t, t]``), a right-censored time
``c`` is ``(c, inf)``, and "seen regressed at the visit at T" is ``(0, T]``.  This is the
convention of R's ``Surv(left, right, type = "interval2")``.

The NPMLE puts all its mass on the *innermost intervals* (Turnbull 1976, J R Stat Soc B
38:290-295): intervals ``(q, p]`` whose left end is the left end of some observation and whose
right end is the right end of some observation, with no other end point in between.  The
masses are found by the self-consistency (EM) algorithm, iterated to a tight tolerance, and
the result is certified by the Kuhn-Tucker conditions of the NPMLE (Gentleman & Geyer 1994,
Biometrika 81:618-623): with ``d_j = sum_i w_i alpha_ij / P_i``, ``d_j <= sum(w)`` for every
innermost interval, with equality where the mass is positive.

This module is our own implementation: lifelines' ``fit_interval_censoring`` treats intervals
as closed ``[l, r]`` (so a right-censoring at 12 months and a regression seen at the 12-month
visit would share mass at 12), and R's ``survfitTurnbull`` stops its accelerated EM when the
survival curve changes by less than 5e-5.  Validated against R's survfit (``type =
"interval2"``) with that stopping threshold lowered (``tests/reference/survival_reference.R``).

Within an innermost interval the NPMLE does not say where the mass lies ("representational
non-uniqueness"): the survival function is determined only outside the innermost intervals.
Like R, point summaries (median) use the interval's midpoint, and the interval itself is
reported alongside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jdmstats.results import ResultMixin

__all__ = ["TurnbullFit", "innermost_intervals", "turnbull", "survival_at", "median_interval"]


@dataclass(frozen=True)
class TurnbullFit(ResultMixin):
    """NPMLE of the distribution of an interval-censored time.

    Attributes
    ----------
    left, right : ndarray
        End points of the innermost intervals ``(left, right]`` (``left == right`` for a
        point mass at an exact time), in increasing order; finite (mass beyond the last end
        point, after the last right-censoring, is ``1 - sum(mass)``).
    mass : ndarray
        Probability mass of each innermost interval (sums to 1 unless some mass lies beyond the
        largest finite end point, i.e. on ``(c, inf)`` after the last right-censoring).
    survival : ndarray
        ``S`` just after each innermost interval: ``1 - cumsum(mass)``.
    n : float
        Number (sum of weights) of observations.
    loglik : float
        Log-likelihood at the estimate.
    iterations : int
    converged : bool
    kkt : float
        ``max_j d_j / n - 1`` (<= 0 up to rounding at the NPMLE; a certificate of optimality).
    """

    left: np.ndarray
    right: np.ndarray
    mass: np.ndarray
    survival: np.ndarray
    n: float
    loglik: float
    iterations: int
    converged: bool
    kkt: float
    _title = "Turnbull NPMLE"

    def summary(self):
        """One row per innermost interval: left, right, mass, survival after it."""
        import pandas as pd

        return pd.DataFrame({"left": self.left, "right": self.right, "mass": self.mass,
                             "survival": self.survival})  # fmt: skip

    def __repr__(self) -> str:
        return (f"<TurnbullFit: n = {self.n:g}, {self.mass.size} innermost intervals, "
                f"loglik = {self.loglik:.4f}, converged = {self.converged} after "
                f"{self.iterations} iterations, KKT {self.kkt:.1e}>")  # fmt: skip


def _as_bounds(left, right) -> tuple[np.ndarray, np.ndarray]:
    lo = np.asarray(left, dtype=float).ravel()
    hi = np.asarray(right, dtype=float).ravel()
    if lo.shape != hi.shape:
        raise ValueError(f"left and right differ in length ({lo.size} vs {hi.size})")
    hi = np.where(np.isnan(hi), np.inf, hi)
    if np.any(np.isnan(lo)) or np.any(lo < 0):
        raise ValueError("left end points must be numbers >= 0 (use 0 for 'before the visit')")
    if np.any(hi < lo):
        bad = int(np.flatnonzero(hi < lo)[0])
        raise ValueError(f"observation {bad}: right end {hi[bad]} is below left end {lo[bad]}")
    return lo, hi


def innermost_intervals(left, right) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Innermost intervals of half-open observations ``(left, right]`` (exact when equal).

    Returns
    -------
    q, p : ndarray
        Left and right ends of the innermost intervals (``q == p``: a point mass; ``p = inf``
        for the last one when a right-censoring follows every other end point).
    alpha : ndarray of bool, shape (n_obs, n_intervals)
        ``alpha[i, j]`` is True when innermost interval ``j`` lies inside observation ``i``.
    """
    lo, hi = _as_bounds(left, right)
    exact = lo == hi
    # Order the end points on an extended line where t- < t < t+: the left end of (l, r] is
    # l+, the left end of an exact time t is t-, every right end r is r itself.
    lkey = np.where(exact, 0, 2)
    points = np.concatenate([lo, hi])
    sub = np.concatenate([lkey, np.ones_like(lkey)])
    is_left = np.concatenate([np.ones(lo.size, bool), np.zeros(hi.size, bool)])
    order = np.lexsort((sub, points))
    pts, sb, isl = points[order], sub[order], is_left[order]
    q, p, qk = [], [], []
    for a in range(len(pts) - 1):
        if isl[a] and not isl[a + 1]:
            q.append(pts[a])
            p.append(pts[a + 1])
            qk.append(sb[a])
    q_arr, p_arr, qk_arr = np.array(q, float), np.array(p, float), np.array(qk)
    # observation i contains (q_j, p_j] when its left key <= q_j's key and p_j <= right end.
    lcmp = (lo[:, None] < q_arr[None, :]) | (
        (lo[:, None] == q_arr[None, :]) & (lkey[:, None] <= qk_arr[None, :])
    )
    alpha = lcmp & (p_arr[None, :] <= hi[:, None])
    return q_arr, p_arr, alpha


def turnbull(left, right, weights=None, tol: float = 1e-12, max_iter: int = 200_000) -> TurnbullFit:
    """Turnbull NPMLE by the EM (self-consistency) algorithm.

    Parameters
    ----------
    left, right : array_like
        Observation intervals ``(left, right]``; ``right = inf`` or NaN when right-censored,
        ``left == right`` for an exact time, ``left = 0`` when only "by the visit at right" is
        known.
    weights : array_like, optional
        Case weights (default 1).
    tol : float
        Stop when no mass changes by more than ``tol`` between iterations.
    max_iter : int

    Returns
    -------
    TurnbullFit

    Notes
    -----
    Turnbull (1976); EM as in R's ``survival:::survfitTurnbull`` but without its Aitken
    acceleration and with a much tighter stopping rule.  Right-censored observations whose
    interval contains no innermost interval with a finite right end (censored after every
    event) carry their mass beyond the last end point: ``sum(mass) < 1`` then, exactly as the
    Kaplan-Meier curve does not reach 0.  With only exact and right-censored times the result
    equals the Kaplan-Meier estimate.

    Examples
    --------
    >>> fit = turnbull([0, 0, 2, 4], [3, 6, 2, np.inf])
    >>> [round(float(s), 4) for s in fit.survival]
    [0.3333, 0.0]
    """
    lo, hi = _as_bounds(left, right)
    if lo.size == 0:
        raise ValueError("no observations")
    w = np.ones(lo.size) if weights is None else np.asarray(weights, dtype=float).ravel()
    q, p, alpha = innermost_intervals(lo, hi)
    a = alpha.astype(float)
    n = float(w.sum())
    finite = np.isfinite(p)
    if not finite.any():  # nothing but right-censoring
        empty = np.zeros(0)
        return TurnbullFit(empty, empty, empty, empty, n, 0.0, 0, True, 0.0)
    s = np.full(p.size, 1.0 / p.size)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (it is reported)
        denom = a @ s
        new = s * ((w / denom) @ a) / n
        change = float(np.max(np.abs(new - s)))
        s = new
        if change < tol:
            converged = True
            break
    denom = a @ s
    d = (w / denom) @ a
    kkt = float(np.max(d) / n - 1.0)
    q, p, mass = q[finite], p[finite], s[finite]
    loglik = float(np.sum(w * np.log(denom)))
    surv = np.clip(1.0 - np.cumsum(mass), 0.0, 1.0)
    return TurnbullFit(q, p, mass, surv, n, loglik, it, converged, kkt)


def survival_at(fit: TurnbullFit, times) -> np.ndarray:
    """``S(t)`` of the NPMLE, counting an innermost interval's mass once ``t >= right``.

    Outside the innermost intervals this is the (unique) NPMLE of ``S``; inside one it is the
    upper end of the range of NPMLEs.
    """
    t = np.atleast_1d(np.asarray(times, dtype=float))
    cum = np.concatenate([[0.0], np.cumsum(fit.mass)])
    idx = np.searchsorted(fit.right, t, side="right")
    return np.clip(1.0 - cum[idx], 0.0, 1.0)


def median_interval(fit: TurnbullFit, p: float = 0.5, tol: float = 1.4901161193847656e-08):
    """Innermost interval in which ``S`` falls to ``1 - p`` (default: the median).

    Returns ``(low, high)``; ``(nan, nan)`` when ``S`` never falls below ``1 - p``.  When ``S``
    equals ``1 - p`` exactly on a flat stretch, ``(end of the stretch's interval, start of the
    next one)`` is returned, as R's ``quantile.survfit`` averages over such a stretch.
    """
    cum = np.cumsum(fit.mass)
    hit = np.flatnonzero(cum >= p - tol)
    if hit.size == 0:
        return float("nan"), float("nan")
    j = int(hit[0])
    if abs(cum[j] - p) < tol:
        later = np.flatnonzero((fit.mass > tol) & (np.arange(cum.size) > j))
        if later.size == 0:
            return float(fit.left[j]), float("inf")
        return float(fit.right[j]), float(fit.left[later[0]])
    return float(fit.left[j]), float(fit.right[j])
