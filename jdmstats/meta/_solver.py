"""Vectorised estimation core for (mixed-effects) meta-analysis and meta-regression.

:func:`fit_batch` fits ``B`` random-effects models at once: the rows of a ``(B, k)`` mask
select which of the ``k`` studies enter each fit (leave-one-out, cumulative meta-analysis,
subgroups) and ``yi``/``vi`` may themselves be ``(B, k)`` (permutation tests).  Every
quantity is computed from weighted cross-products ``X' diag(w) X`` (``p x p``), so memory is
linear in ``k`` and no ``k x k`` matrix is ever formed.

The estimators and their standard errors follow ``metafor::rma.uni`` (version 3.8-1) line by
line; see :func:`fit_batch` for the formulas.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

METHODS = ("EE", "FE", "DL", "REML", "ML", "PM", "HE", "SJ", "EB")
# further metafor 3.8-1 estimators: Hunter-Schmidt (HS, and HSk with the k/(k-p) correction),
# generalised Q with user weights (GENQ, and its median-unbiased GENQM), median-unbiased
# Paule-Mandel (PMM), iterated DL and SJ
METHODS_EXT = ("HS", "HSk", "GENQ", "GENQM", "PMM", "DLIT", "SJIT")
ALL_METHODS = METHODS + METHODS_EXT
_METHODS_UPPER = {m.upper(): m for m in ALL_METHODS}

_DEFAULT_CONTROL = {
    "threshold": 1e-12,  # convergence: |change in tau2| <= threshold * max(1, tau2)
    "maxiter": 1000,
    "stepadj": 1.0,
    "tau2_init": None,
    "ll0check": True,
    "ll0tol": np.finfo(float).eps ** 0.25,  # as metafor's control$tol
    "tau2_max": 100.0,  # upper end of the GENQM root search (metafor's tau2.max)
}


def _level(level: float) -> float:
    level = float(level)
    if level > 1:  # metafor style: 95
        level /= 100.0
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1) (or a percentage); got {level!r}.")
    return level


@dataclass(frozen=True)
class BatchFit:
    """Arrays of ``B`` fitted models (one row per fit).

    Attributes
    ----------
    method : str
        Estimator of tau^2 (``"FE"`` is reported as ``"EE"``).
    tau2 : ndarray (B,)
        Estimated between-study variance (truncated at 0).
    beta : ndarray (B, p)
        Weighted least-squares coefficients with weights ``1 / (vi + tau2)``.
    vb : ndarray (B, p, p)
        Their covariance matrix ``(X' W X)^-1`` (not rescaled for Hartung-Knapp).
    weights : ndarray (B, k)
        Model weights ``1 / (vi + tau2)``; 0 for studies masked out.
    qe : ndarray (B,)
        Cochran's Q (test of residual heterogeneity) with weights ``1 / vi``.
    k : ndarray (B,)
        Number of studies in each fit.
    converged, iterations : ndarray (B,)
        Convergence flag and iteration count of the iterative estimators.
    se_tau2 : ndarray (B,)
        Standard error of tau^2 as metafor (NaN for EE and for ``k <= p``).
    vt : ndarray (B,)
        Typical within-study variance ``(k - p) / tr(P)`` with ``P`` at ``tau2 = 0``.
    rss : ndarray (B,)
        Weighted residual sum of squares ``sum w (y - X beta)^2`` at the final tau^2
        (Hartung-Knapp: ``s^2 = rss / (k - p)``).
    fallback : ndarray (B,) of bool
        True where the iterative estimator did not converge and DL was used instead.
    p : int
        Number of columns of the design matrix.
    """

    method: str
    tau2: np.ndarray
    beta: np.ndarray
    vb: np.ndarray
    weights: np.ndarray
    qe: np.ndarray
    k: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    se_tau2: np.ndarray
    vt: np.ndarray
    rss: np.ndarray
    fallback: np.ndarray
    p: int

    @property
    def se(self) -> np.ndarray:
        """Standard errors ``sqrt(diag(vb))``, shape ``(B, p)``."""
        return np.sqrt(np.einsum("bii->bi", self.vb))


# --------------------------------------------------------------------------- helpers
class _Design:
    """Weighted cross-products with a fixed ``(k, p)`` design matrix."""

    def __init__(self, X: np.ndarray):
        self.X = X
        self.k, self.p = X.shape
        # (k, p*p) outer products: X' diag(w) X == w @ XX for all B rows at once
        self.XX = (X[:, :, None] * X[:, None, :]).reshape(self.k, self.p * self.p)

    def cross(self, w: np.ndarray) -> np.ndarray:
        return np.einsum("bk,kq->bq", w, self.XX).reshape(w.shape[0], self.p, self.p)

    def wls(self, w: np.ndarray, y: np.ndarray):
        """Return ``A = (X'WX)^-1``, ``beta`` and the residuals ``y - X beta``."""
        A = _inv(self.cross(w))
        beta = np.einsum("bij,bj->bi", A, np.einsum("bk,kp->bp", w * y, self.X))
        e = y - np.einsum("bp,kp->bk", beta, self.X)
        return A, beta, e


def _inv(M: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(M)
    except np.linalg.LinAlgError:
        out = np.full_like(M, np.nan)
        for b in range(M.shape[0]):  # rare: only rows whose design is rank deficient
            try:
                out[b] = np.linalg.inv(M[b])
            except np.linalg.LinAlgError:
                pass
        return out


def _tr(A: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Batched ``trace(A @ M)``."""
    return np.einsum("bij,bji->b", A, M)


def _p_traces(des: _Design, A: np.ndarray, w: np.ndarray, v: np.ndarray | None = None):
    """Traces of ``P = W - W X A X' W`` needed by the estimators and their SEs.

    Returns ``tr(P)``, ``tr(PP)`` and, if ``v`` is given, ``tr(PVPV)`` and ``tr(PPV)``.
    """
    w2 = w * w
    B2 = des.cross(w2)
    trP = w.sum(1) - _tr(A, B2)
    AB = A @ B2
    trPP = w2.sum(1) - 2.0 * _tr(A, des.cross(w2 * w)) + _tr(AB, AB)
    if v is None:
        return trP, trPP
    D = des.cross(w2 * v)
    AD = A @ D
    trPVPV = (w2 * v * v).sum(1) - 2.0 * _tr(A, des.cross(w2 * w * v * v)) + _tr(AD, AD)
    trPPV = (w2 * v).sum(1) - 2.0 * _tr(A, des.cross(w2 * w * v)) + _tr(AB, AD)
    return trP, trPP, trPVPV, trPPV


def _as_batch(yi, vi, X, mask):
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    if yi.ndim == 1:
        yi = yi[None, :]
    if vi.ndim == 1:
        vi = vi[None, :]
    if yi.ndim != 2 or vi.ndim != 2 or yi.shape[1] != vi.shape[1]:
        raise ValueError(
            f"yi and vi must have the same number of studies (got shapes {yi.shape} and "
            f"{vi.shape})."
        )
    k = yi.shape[1]
    if k == 0:
        raise ValueError("No studies: k = 0.")
    if mask is None:
        B = max(yi.shape[0], vi.shape[0])
        mask = np.ones((B, k), dtype=bool)
    else:
        mask = np.atleast_2d(np.asarray(mask, dtype=bool))
        if mask.shape[1] != k:
            raise ValueError(f"mask has {mask.shape[1]} columns but there are {k} studies.")
        B = mask.shape[0]
    try:
        yi = np.broadcast_to(yi, (B, k))
        vi = np.broadcast_to(vi, (B, k))
    except ValueError as exc:
        raise ValueError(f"yi, vi and mask rows do not broadcast to ({B}, {k}).") from exc
    for name, arr, bad in (
        ("yi", yi, ~np.isfinite(yi)),
        ("vi", vi, ~(np.isfinite(vi) & (vi > 0))),
    ):
        bad = bad & mask
        if bad.any():
            b, i = np.argwhere(bad)[0]
            what = "finite" if name == "yi" else "finite and > 0"
            raise ValueError(f"{name} must be {what}: study index {i} has {name} = {arr[b, i]!r}.")
    if X is None:
        X = np.ones((k, 1))
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.shape[0] != k:
        raise ValueError(f"X has {X.shape[0]} rows but there are {k} studies.")
    if not np.all(np.isfinite(X)):
        raise ValueError("X (moderators) contains NaN or infinite values.")
    m = mask.astype(float)
    y = np.where(mask, yi, 0.0)
    v = np.where(mask, vi, 1.0)
    return y, v, m, X


def _truncate_step(tau2, adj):
    """metafor's ``while (tau2 + adj < tau2.min) adj <- adj / 2`` with tau2.min = 0."""
    neg = tau2 + adj < 0
    if neg.any():
        a = adj[neg]
        t = tau2[neg]
        with np.errstate(divide="ignore", invalid="ignore"):
            j = np.where(t > 0, np.ceil(np.log2(-a / np.where(t > 0, t, 1.0))), np.inf)
        a = np.where(np.isfinite(j), a / np.exp2(np.maximum(j, 0)), 0.0)
        a = np.where(t + a < 0, a / 2, a)
        a = np.where(t + a < 0, 0.0, a)
        adj = adj.copy()
        adj[neg] = a
    return adj


def _loglik(des, y, v, m, tau2, reml):
    w = m / (v + tau2[:, None])
    A, _, e = des.wls(w, y)
    k = m.sum(1)
    rss = (w * e * e).sum(1)
    ll = -0.5 * np.where(m > 0, np.log(v + tau2[:, None]), 0.0).sum(1) - 0.5 * rss
    if reml:
        ll = ll - 0.5 * (k - des.p) * np.log(2 * np.pi) + 0.5 * np.linalg.slogdet(A)[1]
    else:
        ll = ll - 0.5 * k * np.log(2 * np.pi)
    return ll


def _root_q(des, y, v, m, dfree, thr, maxiter):
    """Solve the generalised Q equation ``Q(tau2) = k - p`` (Paule-Mandel) for every row.

    Safeguarded Newton (``dQ/dtau2 = -y'PPy``) with a bisection fallback; rows with
    ``Q(0) < k - p`` get ``tau2 = 0``.
    """
    B = y.shape[0]
    t = np.zeros(B)
    lo = np.zeros(B)
    hi = np.full(B, np.inf)
    done = np.zeros(B, bool)
    it = np.zeros(B, int)
    for _ in range(maxiter):
        w = m / (v + t[:, None])
        _, _, e = des.wls(w, y)
        we = w * e
        f = (we * e).sum(1) - dfree
        d = (we * we).sum(1)
        first = it == 0
        done |= first & (f <= 0)  # Q(0) below its expectation: tau2 = 0
        act = ~done
        if not act.any():
            break
        it[act] += 1
        lo = np.where(act & (f > 0), t, lo)
        hi = np.where(act & (f < 0), t, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            cand = t + f / d
        bad = ~np.isfinite(cand) | (cand <= lo) | (cand >= hi)
        cand = np.where(bad & np.isfinite(hi), 0.5 * (lo + hi), cand)
        cand = np.where(bad & ~np.isfinite(hi), 2.0 * t + 1.0, cand)
        change = np.abs(cand - t)
        t = np.where(act, cand, t)
        done |= act & ((change <= thr * np.maximum(1.0, t)) | (f == 0))
    return t, done, it


# --------------------------------------------------------------------------- main entry
def fit_batch(yi, vi, X=None, mask=None, method="REML", control=None, weights=None) -> BatchFit:
    """Fit ``B`` random-/fixed-effects (meta-regression) models at once.

    Parameters
    ----------
    yi, vi : array_like, shape (k,) or (B, k)
        Effect sizes and their sampling variances (``vi > 0``).
    X : array_like, shape (k, p), optional
        Design matrix shared by all fits (default: a column of ones).
    mask : array_like of bool, shape (B, k), optional
        ``True`` where a study enters fit ``b`` (default: all studies, one fit per row of
        ``yi``).
    method : {"EE", "FE", "DL", "REML", "ML", "PM", "HE", "SJ", "EB"}
        Estimator of tau^2 (``"FE"`` is an alias of ``"EE"``).
    control : dict, optional
        ``threshold`` (default 1e-12, relative to ``max(1, tau2)``), ``maxiter`` (1000),
        ``stepadj`` (1), ``tau2_init`` (starting value of ML/REML, SJ, SJIT and DLIT),
        ``ll0check`` (True: as metafor, set tau2 = 0 when the ML/REML likelihood is higher
        there), ``tau2_max`` (100: upper end of the GENQM search, metafor's ``tau2.max``).
    weights : array_like, shape (k,), optional
        User weights of the generalised Q estimators (``method="GENQ"``/``"GENQM"``, required;
        ignored by the other estimators).  The WLS fit returned is still the inverse-variance
        one; :func:`jdmstats.meta.random_effects` applies the user weights to the estimate.

    Returns
    -------
    BatchFit

    Notes
    -----
    Formulas of ``metafor::rma.uni`` 3.8-1 (Viechtbauer 2005, J Educ Behav Stat 30:261;
    Viechtbauer 2010, J Stat Softw 36(3)); with ``P = W - W X (X'WX)^-1 X' W``:

    * EE: tau2 = 0.  DL (DerSimonian & Laird 1986): ``(Q - (k-p)) / tr(P)`` at ``w = 1/vi``.
    * HE (Hedges 1983): ``(RSS_OLS - tr(P_OLS V)) / (k - p)``.
    * SJ (Sidik & Jonkman 2005): ``tau0 * y'Py / (k - p)`` with ``tau0 = var(y) (k-1)/k`` and
      ``w = 1/(vi + tau0)`` (one step, as metafor).
    * ML/REML: Fisher scoring from the truncated HE value, steps
      ``(y'PPy - sum w) / sum w^2`` and ``(y'PPy - tr P) / tr(PP)``, halved to stay >= 0.
    * PM (Paule & Mandel 1982) and EB (Morris 1983): root of ``y'Py = k - p``.  metafor solves
      PM with ``uniroot`` and EB by its own fixed-point iteration; both have this root as
      their unique solution, here found by safeguarded Newton steps.  PMM (median-unbiased
      PM, Viechtbauer 2021): root of ``y'Py = qchisq(0.5, k - p)``.
    * HS (Hunter & Schmidt 2004): ``(Q - k) / sum(1/vi)``; HSk: ``(k/(k-p) Q - k) / sum(1/vi)``
      (Brannick et al. 2019).  DLIT: DL iterated to a fixed point, ``tau2 <- (Q(tau2) - (k-p))
      / tr P(tau2)`` from 0 (DerSimonian & Kacker 2007).  SJIT: SJ iterated, ``tau2 <- tau2
      y'P(tau2)y / (k - p)``.  GENQ (DerSimonian & Kacker 2007): ``(y'P_A y - tr(P_A V)) /
      tr(P_A)`` with ``P_A`` built from the user weights ``A``.  GENQM (median-unbiased GENQ,
      Viechtbauer 2021, metafor >= 3.0): the tau^2 at which ``y'P_A y`` is the median of its
      distribution ``sum lam_j chi2_1``, ``lam`` the eigenvalues of ``S P_A S``, ``S =
      diag(sqrt(vi + tau2))`` (0 when it is below the median at tau^2 = 0), by Brent's root
      search with Imhof's (1961) distribution function (metafor: CompQuadForm::farebrother);
      validated against metafor 3.8-1 / CompQuadForm 1.4.3 to 1e-9 relative
      (tests/reference/metafor_genqm.json).  Standard errors of tau^2 as metafor (GENQM: the
      GENQ formula at its estimate).

    As in metafor, the tau^2 estimators use the mean-centred ``yi`` (this only matters for
    models without an intercept).  All tau^2 values are truncated at 0.  Rows whose iterative
    estimator does not converge emit a ``RuntimeWarning`` and fall back to DL
    (``fallback=True``).  Validated against metafor 3.8-1 ``rma.uni`` (tests/reference).

    Examples
    --------
    >>> import numpy as np
    >>> from jdmstats.meta._solver import fit_batch
    >>> yi = np.array([0.1, 0.3, 0.35, 0.65, 0.45]); vi = np.array([0.03, 0.02, 0.05, 0.01, 0.04])
    >>> fit = fit_batch(yi, vi, method="REML")
    >>> fit.tau2.shape, fit.beta.shape
    ((1,), (1, 1))
    >>> loo = fit_batch(yi, vi, mask=~np.eye(5, dtype=bool), method="DL")  # leave-one-out
    >>> loo.k.tolist()
    [4, 4, 4, 4, 4]
    """
    method = _METHODS_UPPER.get(str(method).upper(), str(method))
    if method not in ALL_METHODS:
        raise ValueError(f"Unknown method {method!r}; accepted: {', '.join(ALL_METHODS)}.")
    if method == "FE":
        method = "EE"
    if method in ("GENQ", "GENQM") and weights is None:
        raise ValueError(f"method='{method}' needs the user weights ('weights').")
    con = dict(_DEFAULT_CONTROL)
    if control:
        unknown = set(control) - set(con)
        if unknown:
            raise ValueError(
                f"Unknown control option(s) {sorted(unknown)}; accepted: {sorted(con)}."
            )
        con.update(control)
    thr, maxiter = float(con["threshold"]), int(con["maxiter"])

    y, v, m, X = _as_batch(yi, vi, X, mask)
    des = _Design(X)
    B, p = y.shape[0], des.p
    kb = m.sum(1)
    dfree = kb - p
    ok = dfree >= 1  # tau2 estimable
    # mean-centred y (metafor's ``Ymc``) for the tau2 estimators and QE
    ybar = (m * y).sum(1) / np.maximum(kb, 1)
    yc = m * (y - ybar[:, None])

    converged = np.ones(B, bool)
    iterations = np.zeros(B, int)
    se_tau2 = np.full(B, np.nan)
    fallback = np.zeros(B, bool)
    safe_df = np.where(ok, dfree, np.nan)

    # DL at w = 1/vi (also QE, vt and the fallback)
    w0 = m / v
    A0, _, e0 = des.wls(w0, yc)
    qe = np.maximum(0.0, (w0 * e0 * e0).sum(1))
    trP0, trPP0 = _p_traces(des, A0, w0)
    with np.errstate(divide="ignore", invalid="ignore"):
        vt = np.where(ok, dfree / trP0, 0.0)
        tau2_dl = np.maximum(0.0, (qe - dfree) / trP0)

    def he():
        A, _, e = des.wls(m, yc)
        rss = (m * e * e).sum(1)
        trPV = (m * v).sum(1) - _tr(A, des.cross(m * v))
        return (rss - trPV) / safe_df, A

    if method == "EE":
        tau2 = np.zeros(B)
    elif method == "DL":
        tau2 = tau2_dl
        t = tau2
        se_tau2 = np.sqrt((2 * dfree + 4 * t * trP0 + 2 * t * t * trPP0) / trP0**2)
    elif method == "HE":
        raw, A = he()
        tau2 = np.maximum(0.0, raw)
        t = tau2
        trPV = (m * v).sum(1) - _tr(A, des.cross(m * v))
        _, _, trPVPV, _ = _p_traces(des, A, m, v)
        se_tau2 = np.sqrt((2 * trPVPV + 4 * t * trPV + 2 * t * t * dfree) / safe_df**2)
    elif method == "SJ":
        if con["tau2_init"] is None:
            tau0 = (yc * yc).sum(1) / np.maximum(kb, 1)
        else:
            tau0 = np.full(B, float(con["tau2_init"]))
        w = m / (v + tau0[:, None])
        A, _, e = des.wls(w, yc)
        tau2 = np.maximum(0.0, tau0 * (w * e * e).sum(1) / safe_df)
        _, trPP, trPVPV, trPPV = _p_traces(des, A, w, v)
        t = tau2
        se_tau2 = np.sqrt(tau0**2 / safe_df**2 * (2 * trPVPV + 4 * t * trPPV + 2 * t * t * trPP))
    elif method in ("PM", "EB"):
        tau2, converged, iterations = _root_q(des, yc, v, m, dfree, thr, maxiter)
    elif method in METHODS_EXT:
        tau2, se_tau2, converged, iterations = _more_estimators(
            method, des, yc, v, m, kb, dfree, ok, qe, trP0, trPP0, con, weights
        )
    else:  # ML, REML: Fisher scoring as metafor
        if con["tau2_init"] is None:
            tau2 = np.maximum(0.0, np.nan_to_num(he()[0]))
        else:
            tau2 = np.full(B, float(con["tau2_init"]))
        active = ok.copy()
        converged = ~active
        for _ in range(maxiter):
            # only the rows still iterating are computed (each row's arithmetic is its own)
            idx = np.flatnonzero(active)
            if not idx.size:
                break
            ma, va, ta = m[idx], v[idx], tau2[idx]
            w = ma / (va + ta[:, None])
            A, _, e = des.wls(w, yc[idx])
            we = w * e
            ypppy = (we * we).sum(1)
            if method == "ML":
                adj = (ypppy - w.sum(1)) / (w * w).sum(1)
            else:
                trP, trPP = _p_traces(des, A, w)
                adj = (ypppy - trP) / trPP
            adj = np.nan_to_num(adj * con["stepadj"])
            adj = _truncate_step(ta, adj)
            new = ta + adj
            iterations[idx] += 1
            small = np.abs(adj) <= thr * np.maximum(1.0, new)
            tau2[idx] = new
            converged[idx[small]] = True
            active[idx[small]] = False
        if con["ll0check"]:
            zero = np.zeros(B)
            reml = method == "REML"
            ll0 = _loglik(des, yc, v, m, zero, reml)
            ll1 = _loglik(des, yc, v, m, tau2, reml)
            stuck = converged & ok & (ll0 - ll1 > con["ll0tol"]) & (tau2 > thr)
            if stuck.any():
                warnings.warn(
                    f"{method}: Fisher scoring may have stopped at a local maximum in "
                    f"{int(stuck.sum())} fit(s); tau^2 set to 0 there (as metafor).",
                    RuntimeWarning,
                    stacklevel=2,
                )
                tau2 = np.where(stuck, 0.0, tau2)

    if method in ("REML", "ML", "PM", "EB", "PMM", "DLIT", "SJIT"):
        bad = ok & ~converged
        if bad.any():
            warnings.warn(
                f"The {method} estimator of tau^2 did not converge in {maxiter} iterations "
                f"for {int(bad.sum())} of {B} fit(s); falling back to the DL estimate there "
                "(recorded as fallback='DL').",
                RuntimeWarning,
                stacklevel=2,
            )
            tau2 = np.where(bad, tau2_dl, tau2)
            fallback = bad
    tau2 = np.where(ok, np.maximum(0.0, tau2), 0.0)

    # final weighted least squares on the uncentred y
    w = m / (v + tau2[:, None])
    A, beta, e = des.wls(w, y)
    rss = (w * e * e).sum(1)
    if method == "ML":
        se_tau2 = np.sqrt(2.0 / (w * w).sum(1))
    elif method == "REML":
        se_tau2 = np.sqrt(2.0 / _p_traces(des, A, w)[1])
    elif method in ("PM", "EB", "PMM", "SJIT"):
        se_tau2 = np.sqrt(2 * kb**2 / safe_df / w.sum(1) ** 2)
    se_tau2 = np.where(ok & (method != "EE") & ~fallback, se_tau2, np.nan)
    qe = np.where(ok, qe, 0.0)
    return BatchFit(
        method=method,
        tau2=tau2,
        beta=beta,
        vb=A,
        weights=w,
        qe=qe,
        k=kb.astype(int),
        converged=converged | ~ok,
        iterations=iterations,
        se_tau2=se_tau2,
        vt=vt,
        rss=rss,
        fallback=fallback,
        p=p,
    )


def _more_estimators(method, des, yc, v, m, kb, dfree, ok, qe, trP0, trPP0, con, weights):
    """HS, HSk, GENQ, GENQM, PMM, DLIT and SJIT as ``metafor::rma.uni`` 3.8-1 (see
    :func:`fit_batch`).

    Returns ``tau2`` (untruncated for the closed forms), ``se_tau2``, ``converged`` and
    ``iterations``.
    """
    B = yc.shape[0]
    thr, maxiter = float(con["threshold"]), int(con["maxiter"])
    safe_df = np.where(ok, dfree, np.nan)
    converged = np.ones(B, bool)
    iterations = np.zeros(B, int)
    se = np.full(B, np.nan)
    if method in ("HS", "HSk"):
        sw = (m / v).sum(1)
        rss = qe if method == "HS" else kb / safe_df * qe
        tau2 = (rss - kb) / sw
        t = np.maximum(tau2, 0.0)
        se = np.sqrt(2 * dfree + 4 * t * trP0 + 2 * t * t * trPP0) / sw
        if method == "HSk":
            se = kb / safe_df * se
    elif method in ("GENQ", "GENQM"):
        a = np.asarray(weights, float).ravel()
        if a.shape[0] != yc.shape[1] or not np.all(np.isfinite(a) & (a > 0)):
            raise ValueError(
                f"weights must be {yc.shape[1]} finite positive values (one per study); got "
                f"shape {a.shape}."
            )
        aw = m * a[None, :]
        A, _, e = des.wls(aw, yc)
        rss = (aw * e * e).sum(1)
        trP, trPP, trPVPV, trPPV = _p_traces(des, A, aw, v)
        trPV = (aw * v).sum(1) - _tr(A, des.cross(aw * aw * v))
        tau2 = (rss - trPV) / trP
        if method == "GENQM":
            tau2 = np.array([_genqm_row(des.X[m[b] > 0], yc[b, m[b] > 0], v[b, m[b] > 0],
                                        a[m[b] > 0], float(con["tau2_max"]))
                             if ok[b] else np.nan for b in range(B)])  # fmt: skip
            w = aw  # the GENQ standard error formula at the GENQM estimate (as metafor)
            A, _, _ = des.wls(w, yc)
            trP, trPP, trPVPV, trPPV = _p_traces(des, A, w, v)
        t = np.maximum(tau2, 0.0)
        se = np.sqrt(2 * trPVPV + 4 * t * trPPV + 2 * t * t * trPP) / trP
    elif method == "PMM":
        from scipy import stats

        target = np.where(ok, stats.chi2.ppf(0.5, np.maximum(dfree, 1)), 0.0)
        tau2, converged, iterations = _root_q(des, yc, v, m, target, thr, maxiter)
    else:  # DLIT, SJIT: fixed-point iterations as metafor (|change| <= threshold)
        if con["tau2_init"] is not None:
            tau2 = np.full(B, float(con["tau2_init"]))
        elif method == "DLIT":
            tau2 = np.zeros(B)
        else:
            tau2 = (yc * yc).sum(1) / np.maximum(kb, 1)
        active = ok.copy()
        converged = ~active
        trP = trPP = None
        for _ in range(maxiter):
            if not active.any():
                break
            w = m / (v + tau2[:, None])
            A, _, e = des.wls(w, yc)
            rss = (w * e * e).sum(1)
            if method == "DLIT":
                trP, trPP = _p_traces(des, A, w)
                new = np.maximum(0.0, (rss - dfree) / trP)
            else:
                new = tau2 * rss / safe_df
            iterations[active] += 1
            small = np.abs(new - tau2) <= thr * np.maximum(1.0, new)
            tau2 = np.where(active, new, tau2)
            converged |= active & small
            active &= ~small
        if method == "DLIT":
            w = m / (v + tau2[:, None])
            A, _, _ = des.wls(w, yc)
            trP, trPP = _p_traces(des, A, w)
            se = np.sqrt(2 * dfree + 4 * tau2 * trP + 2 * tau2 * tau2 * trPP) / trP
    return np.nan_to_num(tau2), se, converged, iterations


def _imhof_upper(q: float, lam: np.ndarray) -> float:
    """``P(sum lam_j chi2_1 > q)`` for ``lam_j > 0`` (Imhof 1961) by quadrature of Imhof's
    integral: ``[0, 2]`` directly and the oscillating tail as two Fourier integrals (QUADPACK
    QAWF), after scaling to ``max(lam) = 1``; one weight: the exact ``2 Phi(-sqrt(q / lam))``.

    Accurate to ~1e-9 where the probability is not extreme (checked against chi-square
    distributions and, through GENQM, against CompQuadForm::farebrother); far tails
    (probabilities below ~1e-6 or above 1 - 1e-6) are not, and the result is clipped to
    [0, 1].  QUADPACK's "bad integrand behaviour" messages at the requested 1e-13 absolute
    accuracy are expected and silenced here.  Used for the median of GENQM only.
    """
    import warnings as _w

    from scipy import integrate, special

    lam = np.asarray(lam, float)
    lam = lam[lam > 1e-12 * lam.max()]
    if q <= 0:
        return 1.0
    if lam.size == 1:
        return float(2 * special.ndtr(-np.sqrt(q / lam[0])))
    c = lam.max()
    lam, q = lam / c, q / c

    def f(u):
        if u == 0:
            return 0.5 * (lam.sum() - q)
        theta = 0.5 * np.sum(np.arctan(lam * u)) - 0.5 * q * u
        return np.sin(theta) / (u * np.exp(0.25 * np.sum(np.log1p((lam * u) ** 2))))

    def amp(u, part):  # the tail is sin(c(u) - q u / 2) env(u), c(u) slowly varying
        cu = 0.5 * np.sum(np.arctan(lam * u))
        env = 1.0 / (u * np.exp(0.25 * np.sum(np.log1p((lam * u) ** 2))))
        return env * (np.sin(cu) if part == "cos" else -np.cos(cu))

    with _w.catch_warnings():
        _w.simplefilter("ignore", integrate.IntegrationWarning)
        total = integrate.quad(f, 0.0, 2.0, limit=200, epsabs=1e-15, epsrel=1e-13)[0]
        for part in ("cos", "sin"):
            total += integrate.quad(amp, 2.0, np.inf, args=(part,), weight=part, wvar=0.5 * q,
                                    limlst=200, limit=200, epsabs=1e-13)[0]  # fmt: skip
    return float(min(1.0, max(0.0, 0.5 + total / np.pi)))


def _genqm_row(X, y, v, a, tau2_max):
    """GENQM for one data set (metafor ``method="GENQM"``): the tau^2 at which the generalised
    Q statistic ``y'P_A y`` is the median of its distribution ``sum lam_j(tau2) chi2_1``,
    ``lam`` the eigenvalues of ``S P_A S``, ``S = diag(sqrt(v + tau2))``, ``P_A = A - A X
    (X'AX)^-1 X'A``, ``A = diag(a)``; 0 when ``Q`` is below the median at tau^2 = 0."""
    from scipy import optimize

    k, p = X.shape
    Aw = np.diag(a)
    P = Aw - Aw @ X @ np.linalg.solve(X.T @ Aw @ X, X.T @ Aw)
    P = 0.5 * (P + P.T)
    q = float(y @ P @ y)

    def below_median(t):  # P(Q(t) < q) - 1/2, decreasing in t
        s = np.sqrt(v + t)
        lam = np.linalg.eigvalsh(s[:, None] * P * s[None, :])[::-1][: k - p]
        return (1.0 - _imhof_upper(q, lam)) - 0.5

    if below_median(0.0) < 0:
        return 0.0
    if below_median(tau2_max) > 0:
        raise ValueError(
            f"GENQM: the generalised Q statistic is above its median even at tau2 = {tau2_max:g};"
            " raise control['tau2_max'] or use another method (as metafor)."
        )
    return float(optimize.brentq(below_median, 0.0, tau2_max, xtol=1e-14, rtol=1e-13,
                                 maxiter=500))  # fmt: skip


def solve_q(yi, vi, targets, X=None, control=None) -> np.ndarray:
    """tau^2 values at which the generalised Q statistic equals each of ``targets``.

    ``Q(tau2) = sum w (y - X beta)^2`` with ``w = 1 / (vi + tau2)`` decreases in tau^2; the
    result is 0 where ``Q(0) <= target``.  All targets are solved in one batch (Q-profile CI).

    Examples
    --------
    >>> from jdmstats.meta._solver import solve_q
    >>> yi, vi = [0.1, 0.9, 0.4, 1.2], [0.02, 0.03, 0.05, 0.04]
    >>> bool(solve_q(yi, vi, [3.0])[0] > 0)
    True
    """
    con = dict(_DEFAULT_CONTROL)
    con.update(control or {})
    targets = np.atleast_1d(np.asarray(targets, float))
    y = np.broadcast_to(np.asarray(yi, float), (targets.size, np.size(yi)))
    v = np.broadcast_to(np.asarray(vi, float), y.shape)
    k = y.shape[1]
    Xd = np.ones((k, 1)) if X is None else np.asarray(X, float).reshape(k, -1)
    m = np.ones(y.shape)
    t, _, _ = _root_q(_Design(Xd), y, v, m, targets, float(con["threshold"]), int(con["maxiter"]))
    return t


def qe_profile(tau2: float, yi, vi, X=None) -> float:
    """Generalised Q statistic ``sum w (y - X beta)^2`` with ``w = 1 / (vi + tau2)``.

    Examples
    --------
    >>> from jdmstats.meta._solver import qe_profile
    >>> round(qe_profile(0.0, [0.0, 1.0], [1.0, 1.0]), 3)
    0.5
    """
    y = np.asarray(yi, float)[None]
    v = np.asarray(vi, float)[None]
    Xd = np.ones((y.shape[1], 1)) if X is None else np.asarray(X, float)
    des = _Design(Xd if Xd.ndim == 2 else Xd[:, None])
    w = 1.0 / (v + tau2)
    _, _, e = des.wls(w, y)
    return float((w * e * e).sum())
