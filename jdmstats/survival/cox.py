"""Stratified Cox proportional-hazards model with cluster-robust errors, and the
proportional-hazards score test of ``survival::cox.zph``.

Our own Newton-Raphson fit of the (stratified) partial likelihood with Efron or Breslow ties,
vectorised over the "sub-events" of Efron's approximation (a tie of ``d`` deaths contributes
``d`` terms in which the deaths' risk is down-weighted by ``k / d``, ``k = 0..d-1``).  Validated
against R's ``coxph`` and ``cox.zph`` (survival 3.5; ``tests/reference/survival_extra.R``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from jdmstats.errors import InsufficientDataError
from jdmstats.results import ResultMixin

__all__ = ["CoxModel", "CoxZph", "cox", "cox_zph"]


@dataclass(frozen=True)
class _Events:
    """Risk-set sums at every sub-event (one row per death under Efron)."""

    den: np.ndarray  # (m,) weighted risk of the risk set
    xbar: np.ndarray  # (m, p) risk-weighted mean of x
    var: np.ndarray  # (m, p, p) risk-weighted covariance of x
    group: np.ndarray  # (m,) index of the tied-death group of the sub-event
    frac: np.ndarray  # (m,) k / d (0 for Breslow)


def _prepare(time, event, X, strata):
    t = np.asarray(time, dtype=float).ravel()
    e = np.asarray(event).ravel()
    Xm = np.asarray(X, dtype=float)
    if Xm.ndim == 1:
        Xm = Xm[:, None]
    n = t.size
    if e.size != n or Xm.shape[0] != n:
        raise ValueError(
            f"time ({n}), event ({e.size}) and X ({Xm.shape[0]} rows) differ in length"
        )
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("times must be finite numbers >= 0")
    if not np.all(np.isin(e, (0, 1, True, False))):
        raise ValueError("event must be 0/1 (or boolean)")
    if not np.all(np.isfinite(Xm)):
        raise ValueError("X must be finite (no missing covariate values)")
    e = e.astype(int)
    if strata is None:
        s = np.zeros(n, dtype=int)
        levels = np.array(["all"])
    else:
        sv = np.asarray(strata).ravel()
        if sv.size != n:
            raise ValueError(f"strata has {sv.size} labels for {n} observations")
        levels, s = np.unique(sv.astype(str), return_inverse=True)
    return t, e, Xm, s, levels


def _groups(t, e, s):
    """Tied-death groups (stratum, time) with their at-risk index sets, as integer arrays."""
    # order: stratum, then time descending; the risk set of a time t in stratum s is then the
    # prefix of the stratum's block up to the last row with time >= t
    order = np.lexsort((-t, s))
    ts, ss, es = t[order], s[order], e[order]
    key_change = np.r_[True, (ts[1:] != ts[:-1]) | (ss[1:] != ss[:-1])]
    block = np.cumsum(key_change) - 1  # (stratum, time) block of each sorted row
    last = np.r_[np.flatnonzero(key_change)[1:] - 1, ts.size - 1][block]  # end of its block
    s_start = np.r_[True, ss[1:] != ss[:-1]]
    start = np.maximum.accumulate(np.where(s_start, np.arange(ts.size), 0))
    return order, ts, ss, es, block, last, start


def _sums(risk, X, g):
    """Risk-set sums S0, S1, S2 and death sums E0, E1, E2 for every death group."""
    order, ts, ss, es, block, last, start = g
    r = risk[order]
    Xs = X[order]
    n, p = Xs.shape
    XX = Xs[:, :, None] * Xs[:, None, :]
    c0 = np.r_[0.0, np.cumsum(r)]
    c1 = np.vstack([np.zeros((1, p)), np.cumsum(r[:, None] * Xs, axis=0)])
    c2 = np.concatenate([np.zeros((1, p, p)), np.cumsum(r[:, None, None] * XX, axis=0)])
    dead = np.flatnonzero(es == 1)
    blocks, first_dead = np.unique(block[dead], return_index=True)
    row = dead[first_dead]  # a death row of each death group
    hi, lo = last[row] + 1, start[row]
    S0, S1, S2 = c0[hi] - c0[lo], c1[hi] - c1[lo], c2[hi] - c2[lo]
    gi = np.searchsorted(blocks, block[dead])  # death group of each death row
    d = np.bincount(gi, minlength=blocks.size).astype(float)
    E0 = np.bincount(gi, weights=r[dead], minlength=blocks.size)
    E1 = np.zeros((blocks.size, p))
    E2 = np.zeros((blocks.size, p, p))
    np.add.at(E1, gi, r[dead, None] * Xs[dead])
    np.add.at(E2, gi, r[dead, None, None] * XX[dead])
    return dead, gi, d, (S0, S1, S2), (E0, E1, E2)


def _events(beta, X, g, efron):
    risk = np.exp(X @ beta)
    dead, gi, d, (S0, S1, S2), (E0, E1, E2) = _sums(risk, X, g)
    # sub-event k of a group of d deaths: k / d of the deaths' risk removed (Efron)
    k = np.arange(gi.size) - np.r_[0, np.cumsum(d)[:-1]].astype(int)[gi]
    frac = k / d[gi] if efron else np.zeros(gi.size)
    den = S0[gi] - frac * E0[gi]
    a = S1[gi] - frac[:, None] * E1[gi]
    xbar = a / den[:, None]
    var = (S2[gi] - frac[:, None, None] * E2[gi]) / den[:, None, None]
    var = var - xbar[:, :, None] * xbar[:, None, :]
    return dead, _Events(den, xbar, var, gi, frac)


def _loglik(beta, X, g, efron):
    """Partial log-likelihood, score and information at beta."""
    order = g[0]
    dead, ev = _events(beta, X, g, efron)
    Xd = X[order][dead]
    ll = float(np.sum(Xd @ beta) - np.sum(np.log(ev.den)))
    u = Xd.sum(axis=0) - ev.xbar.sum(axis=0)
    info = ev.var.sum(axis=0)
    return ll, u, info


def _score_residuals(beta, X, g, efron):
    """Score residuals (``residuals(fit, "score")``), in the original row order."""
    order, ts, ss, es, block, last, start = g
    dead, ev = _events(beta, X, g, efron)
    Xs = X[order]
    r = np.exp(Xs @ beta)
    n, p = Xs.shape
    ng = int(ev.group.max()) + 1
    h = 1.0 / ev.den
    # per death group: sum over sub-events of 1/den and xbar/den, with weight 1 (at risk, not
    # dying at this time) or 1 - k/d (dying at this time, Efron)
    H = np.bincount(ev.group, weights=h, minlength=ng)
    HX = np.zeros((ng, p))
    np.add.at(HX, ev.group, ev.xbar * h[:, None])
    wd = 1.0 - ev.frac
    Hd = np.bincount(ev.group, weights=wd * h, minlength=ng)
    HXd = np.zeros((ng, p))
    np.add.at(HXd, ev.group, ev.xbar * (wd * h)[:, None])
    XB = np.zeros((ng, p))
    np.add.at(XB, ev.group, ev.xbar)
    dcount = np.bincount(ev.group, minlength=ng).astype(float)
    first = np.unique(ev.group, return_index=True)[1]  # first death row of each group
    gtime, gstrat = ts[dead][first], ss[dead][first]
    resid = np.zeros((n, p))
    for st in np.unique(ss):
        gs = np.flatnonzero(gstrat == st)  # death groups of the stratum, time descending
        rows = np.flatnonzero(ss == st)
        if gs.size == 0:
            continue
        gs = gs[::-1]  # ascending in time
        tg = gtime[gs]
        cH = np.r_[0.0, np.cumsum(H[gs])]
        cHX = np.vstack([np.zeros((1, p)), np.cumsum(HX[gs], axis=0)])
        tj = ts[rows]
        before = np.searchsorted(tg, tj, side="left")  # groups strictly earlier
        own = (before < tg.size) & (tg[np.minimum(before, tg.size - 1)] == tj)
        og = gs[np.minimum(before, tg.size - 1)]
        is_dead = es[rows] == 1
        Hj = cH[before] + np.where(own, np.where(is_dead, Hd[og], H[og]), 0.0)
        HXj = cHX[before] + np.where(own[:, None], np.where(is_dead[:, None], HXd[og], HX[og]), 0)
        xr = Xs[rows]
        res = -r[rows, None] * (xr * Hj[:, None] - HXj)
        res += np.where(is_dead[:, None], xr - XB[og] / dcount[og, None], 0.0)
        resid[rows] = res
    out = np.empty_like(resid)
    out[order] = resid
    return out


@dataclass(frozen=True, repr=False)
class CoxModel(ResultMixin):
    """Fitted (stratified) Cox model.

    Attributes
    ----------
    coef : ndarray
        Log hazard ratios.
    se : ndarray
        Standard errors used for inference: robust when a cluster was given, else model-based.
    naive_se, robust_se : ndarray
        Model-based (inverse information) and cluster-robust standard errors (``robust_se`` is
        None without ``cluster``).
    vcov, naive_vcov : ndarray
        Variance matrix used for inference, and the inverse information.
    loglik, loglik_null : float
        Partial log-likelihood at the estimate and at ``beta = 0`` (R's ``fit$loglik``).
    names, ties, strata_levels : tuple, str, tuple
    n, n_events, n_clusters, iterations : int
    converged : bool
    level : float
        Confidence level of ``summary()``.
    """

    coef: np.ndarray
    se: np.ndarray
    naive_se: np.ndarray
    robust_se: np.ndarray | None
    vcov: np.ndarray
    naive_vcov: np.ndarray
    loglik: float
    loglik_null: float
    names: tuple
    ties: str
    strata_levels: tuple
    n: int
    n_events: int
    n_clusters: int | None
    iterations: int
    converged: bool
    level: float = 0.95
    data: tuple = field(default=(), compare=False)  # (time, event, X, stratum codes)
    _title = "Cox proportional-hazards model"

    def summary(self) -> pd.DataFrame:
        """One row per coefficient: coef, exp(coef), se (and naive se), z, p, CI of the HR."""
        from scipy import stats

        z = self.coef / self.se
        q = stats.norm.ppf(0.5 + self.level / 2)
        out = {"coef": self.coef, "exp_coef": np.exp(self.coef), "se": self.se}
        if self.robust_se is not None:
            out["naive_se"] = self.naive_se
        out.update(z=z, pvalue=2 * stats.norm.sf(np.abs(z)),
                   hr_ci_low=np.exp(self.coef - q * self.se),
                   hr_ci_high=np.exp(self.coef + q * self.se))  # fmt: skip
        return pd.DataFrame(out, index=pd.Index(self.names))

    def __repr__(self) -> str:
        strata = f", {len(self.strata_levels)} strata" if len(self.strata_levels) > 1 else ""
        clus = f", robust se over {self.n_clusters} clusters" if self.robust_se is not None else ""
        head = (f"Cox model ({self.ties} ties{strata}{clus}): n = {self.n}, events = "
                f"{self.n_events}, loglik = {self.loglik:.4f}")  # fmt: skip
        return head + "\n" + self.summary().to_string(float_format=lambda x: f"{x:.4f}")


def cox(time, event, X, names=None, strata=None, cluster=None, ties: str = "efron",
        tol: float = 1e-12, max_iter: int = 100, level: float = 0.95) -> CoxModel:  # fmt: skip
    """Cox proportional-hazards model, optionally stratified, with cluster-robust errors.

    Parameters
    ----------
    time, event : array_like
        Follow-up times (>= 0) and event indicators (1 = event, 0 = right-censored).
    X : array_like, shape (n, p)
        Covariates (no intercept); ``names`` their names.
    strata : array_like, optional
        Stratum labels: each stratum has its own baseline hazard (R's ``strata(s)``).
    cluster : array_like, optional
        Cluster labels for the robust (sandwich) variance (R's ``cluster(id)``).
    ties : {"efron", "breslow"}
    tol : float
        Newton-Raphson stops when the relative change of the log-likelihood is below ``tol``
        (and then takes one more step, as ``coxph``).
    max_iter : int
    level : float
        Confidence level of ``summary()``.

    Returns
    -------
    CoxModel

    Raises
    ------
    InsufficientDataError
        No event, or a coefficient running off to infinity (monotone likelihood), or a
        singular information matrix (a covariate constant within every stratum).

    Notes
    -----
    Newton-Raphson with step halving from ``beta = 0``, as ``coxph``.  Robust variance
    ``D'D`` with ``D`` the dfbeta residuals (score residuals times the inverse information)
    summed within clusters (Lin & Wei 1989), without small-sample correction.  Validated
    against ``coxph(Surv(t, e) ~ x + strata(s) + cluster(id), ties = "efron")`` (survival
    3.5, ``coxph.control(eps = 1e-12)``): coefficients, naive and robust standard errors and
    log-likelihoods to 1e-8 relative.

    Examples
    --------
    >>> fit = cox([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 0], [[0], [1], [0], [1], [0], [1]])
    >>> round(float(fit.coef[0]), 4)  # coxph: -0.2739478173
    -0.2739
    """
    if ties not in ("efron", "breslow"):
        raise ValueError(f"unknown ties {ties!r}; accepted: efron, breslow")
    t, e, Xm, s, levels = _prepare(time, event, X, strata)
    n, p = Xm.shape
    cols = tuple(names) if names is not None else tuple(f"x{j}" for j in range(p))
    if len(cols) != p:
        raise ValueError(f"{len(cols)} names for {p} columns of X")
    if e.sum() == 0:
        raise InsufficientDataError("no event: the Cox model cannot be fitted")
    Xc = Xm - Xm.mean(axis=0)  # centred, as coxph (the partial likelihood is unchanged)
    g = _groups(t, e, s)
    efron = ties == "efron"
    beta = np.zeros(p)
    ll0, u, info = _loglik(beta, Xc, g, efron)
    ll = ll0
    converged, it = False, 0
    for it in range(1, max_iter + 1):  # noqa: B007 (reported)
        try:
            step = np.linalg.solve(info, u)
        except np.linalg.LinAlgError as exc:
            raise InsufficientDataError("singular information matrix: a covariate is constant "
                                        "within every stratum or collinear") from exc  # fmt: skip
        new = beta + step
        ll_new, u_new, info_new = _loglik(new, Xc, g, efron)
        halvings = 0
        while not ll_new >= ll - 1e-12 * abs(ll) and halvings < 30:  # step halving
            step /= 2
            new = beta + step
            ll_new, u_new, info_new = _loglik(new, Xc, g, efron)
            halvings += 1
        done = abs(ll_new - ll) <= tol * max(abs(ll_new), 1.0)
        beta, ll, u, info = new, ll_new, u_new, info_new
        if done and np.max(np.abs(step)) < 1e-6:
            converged = True
            break
    try:
        naive = np.linalg.inv(info)
    except np.linalg.LinAlgError as exc:
        raise InsufficientDataError("singular information matrix at the estimate") from exc
    if np.max(np.abs(beta)) > 25 or not np.all(np.isfinite(naive)) or not converged:
        raise InsufficientDataError("a Cox coefficient is infinite (monotone likelihood: a group "
                                    "with no events or with all events first)")  # fmt: skip
    robust = robust_se = None
    n_clusters = None
    if cluster is not None:
        labels = np.asarray(cluster).ravel()
        if labels.size != n:
            raise ValueError(f"cluster has {labels.size} labels for {n} observations")
        dfbeta = _score_residuals(beta, Xc, g, efron) @ naive
        _, cl = np.unique(labels.astype(str), return_inverse=True)
        summed = np.zeros((cl.max() + 1, p))
        np.add.at(summed, cl, dfbeta)
        robust = summed.T @ summed
        robust_se = np.sqrt(np.diag(robust))
        n_clusters = int(cl.max() + 1)
    vcov = robust if robust is not None else naive
    return CoxModel(beta, np.sqrt(np.diag(vcov)), np.sqrt(np.diag(naive)), robust_se, vcov,
                    naive, ll, ll0, cols, ties, tuple(levels.tolist()), n, int(e.sum()),
                    n_clusters, it, converged, level, (t, e, Xm, s))  # fmt: skip


# ------------------------------------------------------------------------------ cox.zph
@dataclass(frozen=True, repr=False)
class CoxZph(ResultMixin):
    """Score test of proportional hazards (``cox.zph``).

    Attributes
    ----------
    table : DataFrame
        ``chisq, df, p`` per term and (last row, ``"GLOBAL"``) for all terms together.
    transform : str
        Time transform ``g(t)`` of the test.
    score : ndarray
        Score for the ``x * g(t)`` terms at ``beta`` (``p`` elements).
    information : ndarray
        ``2p x 2p`` information matrix of ``(x, x * g(t))`` at ``(beta, 0)``.
    """

    table: pd.DataFrame
    transform: str
    score: np.ndarray
    information: np.ndarray
    _title = "Test of proportional hazards (Grambsch-Therneau score test)"

    def summary(self) -> pd.DataFrame:
        return self.table

    def __repr__(self) -> str:
        body = self.table.to_string(float_format=lambda x: f"{x:.4g}")
        return f"{self._title}, transform {self.transform!r}\n{body}"


def _time_transform(t, e, transform):
    from scipy import stats

    if transform == "identity":
        return t.copy()
    if transform == "rank":
        return stats.rankdata(t)  # average ranks of ties, as R's rank()
    if transform == "log":
        with np.errstate(divide="ignore"):
            return np.log(t)
    if transform == "km":
        # 1 - S(t-) of the Kaplan-Meier curve of all observations (strata ignored)
        ut, inv = np.unique(t, return_inverse=True)
        n_risk = t.size - np.r_[0, np.cumsum(np.bincount(inv))[:-1]]
        d = np.bincount(inv, weights=e, minlength=ut.size)
        surv = np.cumprod(1.0 - d / n_risk)
        idx = np.searchsorted(ut, t, side="left")
        return 1.0 - np.r_[1.0, surv][idx]
    raise ValueError(f"unknown transform {transform!r}; accepted: km, identity, rank, log")


def cox_zph(fit: CoxModel, transform: str = "km", terms=None, global_test: bool = True) -> CoxZph:
    """Test of the proportional-hazards assumption of a Cox model, as ``survival::cox.zph``.

    Parameters
    ----------
    fit : CoxModel
        A fit from :func:`cox` (its data are kept on the fit).
    transform : {"km", "identity", "rank", "log"}
        ``g(t)``: ``"km"`` (default, as R) is one minus the left-continuous Kaplan-Meier curve
        of all observations, pooled over strata.
    terms : dict of str to list, optional
        Group columns into terms tested jointly (e.g. the dummies of one factor), as
        ``{"class": ["class[B]", "class[C]"]}`` (names or 0-based column indices).  Columns not
        named form one term each.  Default: one term per column.
    global_test : bool
        Add the ``"GLOBAL"`` row (all columns jointly).

    Returns
    -------
    CoxZph

    Notes
    -----
    The score test, at the fitted ``beta``, of adding ``x * (g(t) - mean g)`` (mean over the
    event times) to the model, with the full ``2p x 2p`` information (survival >= 3.0; the
    Grambsch & Therneau 1994 approximation of survival 2.x is not used).  Ties as in the fit
    (Efron or Breslow), strata as in the fit.  Validated against ``cox.zph`` (survival 3.5) for
    all four transforms, with and without strata, Efron and Breslow ties, single- and
    multi-column terms, to 1e-8 relative.
    """
    from scipy import stats

    if not isinstance(fit, CoxModel) or not fit.data:
        raise ValueError("cox_zph needs a CoxModel returned by jdmstats.survival.cox")
    t, e, X, s = fit.data
    p = X.shape[1]
    ttimes = _time_transform(t, e, transform)
    gt = ttimes - ttimes[e == 1].mean()
    g = _groups(t, e, s)
    Xc = X - X.mean(axis=0)
    dead, ev = _events(fit.coef, Xc, g, fit.ties == "efron")
    gd = gt[g[0]][dead]  # g(t) of each death row = of its sub-event
    Xd = Xc[g[0]][dead]
    u2 = (gd[:, None] * (Xd - ev.xbar)).sum(axis=0)
    V = ev.var
    info = np.block([[V.sum(0), (gd[:, None, None] * V).sum(0)],
                     [(gd[:, None, None] * V).sum(0), (gd[:, None, None] ** 2 * V).sum(0)]])  # fmt: skip
    groups = {}
    named = set()
    for name, cols in (terms or {}).items():
        idx = [fit.names.index(c) if isinstance(c, str) else int(c) for c in cols]
        groups[name] = idx
        named.update(idx)
    order = [(fit.names[j], [j]) for j in range(p) if j not in named]
    items = sorted([*order, *groups.items()], key=lambda kv: min(kv[1]))
    rows = []
    for name, jj in items:
        kk = [*range(p), *(p + np.asarray(jj))]
        u = np.r_[np.zeros(p), u2[jj]]
        rows.append((name, float(u @ np.linalg.solve(info[np.ix_(kk, kk)], u)), len(jj)))
    if global_test:
        u = np.r_[np.zeros(p), u2]
        rows.append(("GLOBAL", float(u @ np.linalg.solve(info, u)), p))
    tab = pd.DataFrame(rows, columns=["term", "chisq", "df"]).set_index("term")
    tab["p"] = stats.chi2.sf(tab["chisq"], tab["df"])
    tab.index.name = None
    return CoxZph(tab, transform, u2, info)
