"""Multilevel (nested random-effects) meta-analysis, as ``metafor::rma.mv``.

:func:`multilevel` fits ``y = X b + u_1 + ... + u_L + e`` with nested random intercepts
(``random = ~ 1 | outer/inner`` in metafor), a known sampling variance vector or full sampling
covariance matrix ``V``, by REML or ML.  No Python package fits ``rma.mv`` models, so the
likelihood, its analytic gradient and Hessian, the optimiser and the profile-likelihood
intervals are written here; the numbers reproduce metafor 3.8-1 (tests/reference/
metafor_multilevel.R).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from jdmstats.meta.model import _crit, _labels, _level, _pvalue
from jdmstats.results import FittedMixin, ResultMixin, tables_text

__all__ = ["multilevel", "MultilevelResult"]

_LOG2PI = float(np.log(2 * np.pi))
_METHODS = ("REML", "ML")
_TESTS = ("z", "t")


# --------------------------------------------------------------------------- input checks
def _check_random(random, k: int, labs):
    """Nested grouping arrays (outermost first) -> component names, indicator matrices, levels."""
    import pandas as pd

    if isinstance(random, pd.DataFrame):
        cols = [(str(c), random[c].to_numpy()) for c in random.columns]
    elif isinstance(random, dict):
        cols = [(str(n), np.asarray(v, dtype=object)) for n, v in random.items()]
    elif isinstance(random, pd.Series):
        cols = [(str(random.name or "level1"), random.to_numpy())]
    else:
        seq = list(random) if isinstance(random, (list, tuple)) else [random]
        if seq and np.ndim(seq[0]) == 0:  # a single grouping array given as a list of labels
            seq = [seq]
        cols = [
            (str(getattr(g, "name", None) or f"level{i + 1}"), np.asarray(g, dtype=object))
            for i, g in enumerate(seq)
        ]
    if not cols:
        raise ValueError(
            "random needs at least one grouping array (outermost first), e.g. "
            "random=[centre, cohort] for metafor's random = ~ 1 | centre/cohort."
        )
    names, Z, nlev, codes = [], [], [], []
    keys = None
    for name, g in cols:
        g = np.asarray(g, dtype=object).ravel()
        if g.size != k:
            raise ValueError(
                f"Grouping {name!r} has {g.size} entries but there are {k} estimates; "
                "every grouping array needs one entry per estimate."
            )
        miss = np.flatnonzero(pd.isna(g))
        if miss.size:
            i = int(miss[0])
            raise ValueError(
                f"Grouping {name!r} is missing for estimate {labs[i]!r} (index {i}); "
                "grouping values must not be NaN/None."
            )
        g = np.array([str(x) for x in g], dtype=object)
        keys = (
            g if keys is None else np.array([a + "\x1f" + b for a, b in zip(keys, g, strict=True)])
        )
        code, uniq = pd.factorize(pd.Series(keys), sort=True)
        names.append(name if not names else names[-1] + "/" + name)
        Zl = np.zeros((k, len(uniq)))
        Zl[np.arange(k), code] = 1.0
        Z.append(Zl)
        nlev.append(len(uniq))
        codes.append(code)
    return names, Z, nlev, codes


def _check_V(V, k: int, labs) -> np.ndarray:
    V = np.asarray(V, dtype=float)
    if V.ndim == 1 or (V.ndim == 2 and 1 in V.shape and V.size == k and k > 1):
        v = V.ravel()
        if v.size != k:
            raise ValueError(f"vi has {v.size} values but there are {k} estimates.")
        bad = np.flatnonzero(~(np.isfinite(v) & (v > 0)))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"vi must be finite and > 0: estimate {labs[i]!r} (index {i}) has vi = {v[i]!r}."
            )
        return np.diag(v)
    if V.ndim != 2 or V.shape != (k, k):
        raise ValueError(
            f"V must be a vector of {k} sampling variances or a {k} x {k} covariance matrix; "
            f"got shape {V.shape}."
        )
    if not np.all(np.isfinite(V)):
        i, j = np.argwhere(~np.isfinite(V))[0]
        raise ValueError(f"V must be finite: V[{i}, {j}] = {V[i, j]!r}.")
    if not np.allclose(V, V.T, rtol=1e-10, atol=1e-14 * np.max(np.abs(V))):
        raise ValueError("V must be symmetric.")
    V = (V + V.T) / 2
    try:
        np.linalg.cholesky(V)
    except np.linalg.LinAlgError:
        ev = float(np.linalg.eigvalsh(V)[0])
        raise ValueError(
            f"V must be positive definite (smallest eigenvalue {ev:.3g}); check the sampling "
            "covariances (|correlations| <= 1 and variances > 0)."
        ) from None
    return V


# --------------------------------------------------------------------------- likelihood
class _Lik:
    """Profiled (RE)ML log-likelihood of the nested model, with analytic derivatives."""

    def __init__(self, y, X, V, Z, reml):
        self.y, self.X, self.V, self.Z, self.reml = y, X, V, Z, reml
        self.ZZ = [Zl @ Zl.T for Zl in Z]
        self.k, self.p = X.shape
        self.logdet_xx = np.linalg.slogdet(X.T @ X)[1]

    def marginal(self, s2):
        M = self.V.copy()
        for s, zz in zip(s2, self.ZZ, strict=True):
            M += s * zz
        return M

    def parts(self, s2):
        """Everything at ``s2``: ll_ML, ll_REML, beta, vb, residuals, M, M^-1, P."""
        from scipy.linalg import cho_factor
        from scipy.linalg.lapack import dpotri

        M = self.marginal(s2)
        c = cho_factor(M, lower=True)
        Minv, info = dpotri(c[0], lower=True)
        if info != 0:
            raise np.linalg.LinAlgError("M is singular")
        Minv = np.tril(Minv) + np.tril(Minv, -1).T
        MX = Minv @ self.X
        XMX = self.X.T @ MX
        vb = np.linalg.inv(XMX)
        vb = (vb + vb.T) / 2
        beta = vb @ (MX.T @ self.y)
        r = self.y - self.X @ beta
        Py = Minv @ r
        rss = float(r @ Py)
        logdet_m = 2 * float(np.sum(np.log(np.diag(c[0]))))
        k, p = self.k, self.p
        ll_ml = -0.5 * (k * _LOG2PI + logdet_m + rss)
        ll_reml = -0.5 * ((k - p) * _LOG2PI - self.logdet_xx + logdet_m
                          + np.linalg.slogdet(XMX)[1] + rss)  # fmt: skip
        P = Minv - MX @ vb @ MX.T
        return dict(ll_ml=ll_ml, ll_reml=float(ll_reml), beta=beta, vb=vb, r=r, Py=Py, M=M,
                    Minv=Minv, P=P)  # fmt: skip

    def derivs(self, s2, hess=True):
        """Log-likelihood, gradient and Hessian with respect to sigma^2."""
        d = self.parts(s2)
        T = d["P"] if self.reml else d["Minv"]
        u = [Zl.T @ d["Py"] for Zl in self.Z]
        g = np.array([-0.5 * (np.sum(T * zz) - uu @ uu) for zz, uu in zip(self.ZZ, u, strict=True)])
        ll = d["ll_reml"] if self.reml else d["ll_ml"]
        if not hess:
            return ll, g, None, d
        L = len(self.Z)
        H = np.empty((L, L))
        for a in range(L):
            for b in range(a, L):
                tzz = self.Z[a].T @ T @ self.Z[b]
                pzz = tzz if self.reml else self.Z[a].T @ d["P"] @ self.Z[b]
                H[a, b] = H[b, a] = 0.5 * np.sum(tzz**2) - u[a] @ pzz @ u[b]
        return ll, g, H, d


def _newton(lik, s2, free, floor, tol, maxiter):
    """Newton steps on the free sigma^2 (step halving, boundary at 0); returns
    ``(s2, converged, iterations)``."""
    L = s2.size
    converged = False
    it = 0
    zero = np.zeros(L, bool)
    while it < maxiter:
        it += 1
        ll, g, H, _ = lik.derivs(s2)
        # boundary: at (near) zero and the likelihood falls when sigma^2 grows
        newzero = free & (s2 <= 10 * floor) & (g <= 0)
        if newzero.any():
            s2[newzero] = 0.0
            zero |= newzero
            ll, g, H, _ = lik.derivs(s2)
        act = free & ~zero
        if not act.any():
            converged = True
            break
        Ha = H[np.ix_(act, act)]
        try:
            step = -np.linalg.solve(Ha, g[act])
            if np.any(np.linalg.eigvalsh(Ha) >= 0):
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            return s2, False, it  # not locally concave: leave it to the quasi-Newton search
        t = 1.0
        cur = s2[act]
        while True:
            cand = cur + t * step
            if np.all(cand >= 0):
                s_new = s2.copy()
                s_new[act] = cand
                try:
                    ll_new = lik.derivs(s_new, hess=False)[0]
                except np.linalg.LinAlgError:
                    ll_new = -np.inf
                if ll_new >= ll - 1e-13 * max(1.0, abs(ll)):
                    break
            t /= 2
            if t < 1e-12:
                cand = cur
                break
        s2[act] = cand
        if np.all(np.abs(t * step) <= tol * np.maximum(cand, floor)):
            converged = True
            break
    return s2, converged, it


def _maximise(lik, s2_init, fixed=None, tol=1e-12, maxiter=500, warm=False):
    """Maximise over sigma^2 >= 0 (components in ``fixed`` held at their values).

    A quasi-Newton search on log sigma^2 (scipy L-BFGS-B, analytic gradient) followed by
    Newton steps on sigma^2 with the analytic Hessian until the relative change is below
    ``tol``; components whose likelihood decreases away from 0 are set to 0 (boundary).
    ``warm=True`` (a start near the optimum, as in the profile) tries Newton alone first.
    """
    from scipy.optimize import minimize

    s2 = np.array(s2_init, dtype=float)
    L = s2.size
    fixed = np.zeros(L, bool) if fixed is None else np.asarray(fixed, bool)
    free = ~fixed
    scale = max(float(np.mean(np.diag(lik.V))), 1e-300)
    floor = 1e-10 * scale
    if warm:
        out, ok, it = _newton(lik, s2.copy(), free, floor, tol, 30)
        if ok:
            return out, ok, it
    if free.any():

        def f(th):
            s = s2.copy()
            s[free] = np.exp(th)
            ll, g, _, _ = lik.derivs(s, hess=False)
            return -ll, -(g[free] * s[free])

        th0 = np.log(np.maximum(s2[free], 10 * floor))
        res = minimize(f, th0, jac=True, method="L-BFGS-B",
                       bounds=[(np.log(floor), np.log(1e6 * scale + 1e3))] * int(free.sum()),
                       options=dict(ftol=1e-15, gtol=1e-12, maxiter=10000))  # fmt: skip
        s2[free] = np.exp(res.x)
    out, ok, it = _newton(lik, s2, free, floor, tol, maxiter)
    if not ok:  # Newton not applicable (e.g. not concave): keep the quasi-Newton solution
        s2[free] = np.exp(res.x) if free.any() else s2[free]
        g = lik.derivs(s2, hess=False)[1]
        ok = bool(np.all(np.abs(g[free] * s2[free]) < 1e-6))
        out = s2
    return out, ok, it


# --------------------------------------------------------------------------- result
@dataclass(frozen=True)
class MultilevelResult(FittedMixin, ResultMixin):
    """Result of :func:`multilevel` (fields mirror metafor's ``rma.mv`` object).

    ``sigma2`` holds one variance component per nesting level, outermost first, named as
    metafor (``"district"``, ``"district/school"``); ``sigma2_nlevels`` counts their levels.
    ``M`` is the fitted marginal covariance ``V + sum sigma2_l Z_l Z_l'`` and ``X`` the model
    matrix (used by :func:`jdmstats.meta.cluster_robust`).  ``df`` is ``k - p`` for ``test="t"``.
    """

    coef: object  # DataFrame: estimate, se, statistic, pvalue, ci_low, ci_high
    sigma2: np.ndarray
    sigma2_names: list
    sigma2_nlevels: list
    beta: np.ndarray
    vb: np.ndarray
    qe: float
    qe_df: int
    qe_pvalue: float
    qm: float
    qm_df: tuple
    qm_pvalue: float
    btt: np.ndarray
    k: int
    p: int
    parms: int
    method: str
    test: str
    level: float
    df: int | None
    fit_table: object = field(repr=False)  # DataFrame ll/dev/AIC/BIC/AICc x ML/REML
    yi: np.ndarray = field(repr=False, default=None)
    V: np.ndarray = field(repr=False, default=None)
    X: np.ndarray = field(repr=False, default=None)
    M: np.ndarray = field(repr=False, default=None)
    groups: list = field(repr=False, default=None)  # integer codes of each component
    labels: list = field(repr=False, default=None)
    intercept: bool = True
    converged: bool = True
    iterations: int = 0
    _Z: list = field(repr=False, default=None)
    _fixed: np.ndarray = field(repr=False, default=None)

    _title = "Multilevel random-effects model"

    # ---- accessors
    @property
    def estimate(self) -> float:
        """The first coefficient (the pooled estimate of an intercept-only model)."""
        return float(self.beta[0])

    @property
    def se(self) -> float:
        return float(self.coef["se"].iloc[0])

    @property
    def ci_low(self) -> float:
        return float(self.coef["ci_low"].iloc[0])

    @property
    def ci_high(self) -> float:
        return float(self.coef["ci_high"].iloc[0])

    def fit_stats(self):
        """Log-likelihood, deviance, AIC, BIC and AICc under ML and REML (metafor fit.stats)."""
        return self.fit_table

    def _stat(self, row):
        return float(self.fit_table.loc[row, "REML" if self.method == "REML" else "ML"])

    @property
    def loglik(self) -> float:
        """Log-likelihood (restricted for REML), as ``logLik.rma``."""
        return self._stat("ll")

    @property
    def deviance(self) -> float:
        return self._stat("dev")

    @property
    def aic(self) -> float:
        return self._stat("AIC")

    @property
    def bic(self) -> float:
        return self._stat("BIC")

    @property
    def aicc(self) -> float:
        return self._stat("AICc")

    def summary(self):
        """The coefficient table (DataFrame); the studies are in :meth:`studies`."""
        return self.coef

    def studies(self):
        """Per-estimate table: ``yi``, ``vi`` (the diagonal of V), ``se``, Wald
        ``ci_low``/``ci_high``, ``weight`` (percent: the diagonal of ``M^-1`` over its sum,
        metafor ``weights.rma.mv``, validated on dat.konstantopoulos2011), ``fitted`` (``X b``)
        and ``residual``."""
        from jdmstats.meta.model import _study_table

        wd = np.diag(np.linalg.inv(np.asarray(self.M, dtype=float)))
        labels = self.labels if self.labels is not None else range(1, self.k + 1)
        out = _study_table(self.yi, np.diag(np.asarray(self.V, dtype=float)) if np.ndim(self.V) == 2
                           else self.V, labels, self.level, 100 * wd / wd.sum())  # fmt: skip
        out["fitted"] = np.asarray(self.X, dtype=float) @ self.beta
        out["residual"] = np.asarray(self.yi, dtype=float) - out["fitted"].to_numpy()
        return out

    def variance_components(self):
        """DataFrame of the variance components: sigma2, sigma, number of levels."""
        import pandas as pd

        return pd.DataFrame(
            {"sigma2": self.sigma2, "sigma": np.sqrt(self.sigma2), "nlevels": self.sigma2_nlevels},
            index=self.sigma2_names,
        )

    def confint(self, level: float | None = None, tol: float = 1e-12):
        """Profile-likelihood confidence intervals of every sigma^2 (``confint.rma.mv``).

        Parameters
        ----------
        level : float, optional
            Defaults to the level of the fit.
        tol : float
            Relative tolerance of the root search.

        Returns
        -------
        DataFrame
            Rows ``sigma2`` names; columns ``estimate, ci_low, ci_high`` (variances) and
            ``sigma, sigma_ci_low, sigma_ci_high`` (their square roots).

        Notes
        -----
        The bound is where ``2 (ll_max - ll_profile(sigma2_j)) = chi^2_{1, level}``, the other
        components re-estimated at every value (same likelihood as the fit).  As metafor, the
        lower bound is 0 when the profile at 0 is still inside the region, and the search for
        the upper bound stops at ``max(10, 100 sigma2_j)`` (returned, with a warning, when the
        bound lies beyond it).  Validated against ``confint(fit, sigma2 = j,
        control = list(tol = 1e-12))`` of metafor 3.8-1 to 1e-4 relative (agreement is
        ~1e-9 on the reference datasets).
        """
        import pandas as pd
        from scipy import optimize, stats

        level = self.level if level is None else _level(level)
        lik = _Lik(self.yi, self.X, self.V, self._Z, self.method == "REML")
        ll_max = lik.derivs(self.sigma2, hess=False)[0]
        crit = float(stats.chi2.ppf(level, 1))
        rows = []
        L = self.sigma2.size
        held = np.zeros(L, bool) if self._fixed is None else np.asarray(self._fixed, bool)
        for j in range(L):
            if held[j]:
                rows.append((0.0, np.nan, np.nan))
                continue
            fixed = held.copy()
            fixed[j] = True
            start = [self.sigma2.copy()]

            def gap(s, j=j, fixed=fixed, start=start):
                s0 = start[0].copy()
                s0[j] = s
                if not fixed.all():  # warm start at the previous profile point
                    s0, _, _ = _maximise(lik, s0, fixed=fixed, tol=1e-10, warm=True)
                    start[0] = s0.copy()
                ll = lik.derivs(s0, hess=False)[0]
                return 2 * (ll_max - ll) - crit

            vc = float(self.sigma2[j])
            lo = 0.0
            if vc > 0 and gap(0.0) > 0:
                lo = optimize.brentq(gap, 0.0, vc, xtol=1e-15, rtol=tol, maxiter=1000)
            vmax = 10.0 if vc <= np.finfo(float).eps ** 0.5 else max(10.0, 100 * vc)
            if gap(vmax) < 0:
                warnings.warn(
                    f"The upper profile-likelihood bound of sigma2 {self.sigma2_names[j]!r} "
                    f"lies above the searched range; reported as {vmax:g} (as metafor).",
                    UserWarning,
                    stacklevel=2,
                )
                hi = vmax
            else:
                hi = optimize.brentq(gap, vc, vmax, xtol=1e-15, rtol=tol, maxiter=1000)
            rows.append((vc, lo, hi))
        out = pd.DataFrame(rows, index=self.sigma2_names, columns=["estimate", "ci_low", "ci_high"])
        out["sigma"] = np.sqrt(out["estimate"])
        out["sigma_ci_low"] = np.sqrt(out["ci_low"])
        out["sigma_ci_high"] = np.sqrt(out["ci_high"])
        return out

    def __repr__(self) -> str:
        lines = [f"Multivariate meta-analysis model (k = {self.k}; method: {self.method})", ""]
        vc = self.variance_components()
        lines.append(vc.to_string(float_format=lambda x: f"{x:.4f}"))
        lines += ["", f"QE(df = {self.qe_df}) = {self.qe:.4f}, p = {self.qe_pvalue:.4g}"]
        if self.test == "z":
            lines.append(f"QM(df = {self.qm_df[0]}) = {self.qm:.4f}, p = {self.qm_pvalue:.4g}")
        else:
            lines.append(f"F(df1 = {self.qm_df[0]}, df2 = {self.qm_df[1]}) = {self.qm:.4f}, "
                         f"p = {self.qm_pvalue:.4g}")  # fmt: skip
        lines.append(f"logLik = {self.loglik:.4f}, deviance = {self.deviance:.4f}, "
                     f"AIC = {self.aic:.4f}, BIC = {self.bic:.4f}, AICc = {self.aicc:.4f}")
        if not self.converged:
            lines.append("(the optimiser did not converge)")
        lines += ["", tables_text([("Model", self.coef)])]
        return "\n".join(lines)


# --------------------------------------------------------------------------- fitting
def multilevel(
    yi,
    vi_or_V,
    *,
    random,
    mods=None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    sparse: bool = False,
    intercept: bool = True,
    labels=None,
) -> MultilevelResult:
    """Multilevel random-effects meta-analysis / meta-regression, as ``metafor::rma.mv``.

    Parameters
    ----------
    yi : array_like (k,)
        Estimates (e.g. logit proportions from :func:`jdmstats.meta.escalc`, measure "PLO").
    vi_or_V : array_like (k,) or (k, k)
        Sampling variances, or the full (positive definite) sampling covariance matrix.
    random : array_like, list of array_like, dict or DataFrame
        Nested grouping variables, **outermost first**: ``[centre, cohort]`` is metafor's
        ``random = ~ 1 | centre/cohort`` and gives one sigma^2 per level (the inner groups are
        the combinations ``centre/cohort``, so cohort labels may repeat across centres).
        Groups may have any size, including 1.  A grouping with a single level gets
        sigma^2 = 0 (fixed, as metafor); a level with as many groups as the one above it
        (all outer groups of size 1) is confounded with it, which is warned about.
    mods : array_like or DataFrame, optional
        Moderators, encoded as in :func:`jdmstats.meta.regression` (categorical columns
        dummy-coded); an intercept is added unless ``intercept=False``.
    method : {"REML", "ML"}
    test : {"z", "t"}
        Wald z / chi^2 tests, or t / F tests on ``k - p`` df (metafor ``test="t"``,
        ``dfs="residual"``).
    level : float
        Confidence level (0.95; 95 accepted).
    sparse : bool
        Accepted for metafor compatibility; the computation is dense (fine for k up to a
        few thousand).
    intercept : bool
        Add an intercept column (``"intrcpt"``).
    labels : sequence, optional
        Labels of the estimates, used in messages.

    Returns
    -------
    MultilevelResult
        ``.sigma2``, ``.coef``, ``.qe``, ``.qm``, ``.loglik``, ``.aic``, ``.bic``,
        ``.aicc``, ``.fit_stats()``, ``.confint()`` (profile likelihood for each sigma^2).

    Notes
    -----
    Written here because no Python library fits ``rma.mv`` models.  The model is
    ``y ~ N(X b, M)``, ``M = V + sum_l sigma2_l Z_l Z_l'`` with ``Z_l`` the indicator matrix of
    the level-``l`` groups (Konstantopoulos 2011; Viechtbauer 2010).  sigma^2 maximises the
    profiled (restricted) log-likelihood: L-BFGS-B on log sigma^2 with the analytic gradient,
    then Newton steps with the analytic Hessian to a relative change below 1e-12; a
    component is set to exactly 0 when the likelihood decreases away from 0 (metafor's
    log-scale optimiser reports a tiny positive value there and treats values below
    ``10 eps`` as 0).  The fixed effects are the GLS estimates with ``vb = (X'M^-1 X)^-1``.
    QE is the test of residual heterogeneity ``(y - X b_V)' V^-1 (y - X b_V)`` with ``b_V``
    the GLS estimate under ``V`` alone; QM tests all coefficients but the intercept.  Fit
    statistics follow metafor's ``rma.mv``: ``parms = p +`` the number of estimated sigma^2; ML deviance against the
    saturated model ``-k/2 log(2 pi) - 1/2 log|V|``; REML deviance ``-2 ll``; BIC and AICc use
    ``n = k`` (ML) or ``k - p`` (REML).  Validated against metafor 3.8-1 ``rma.mv`` (tight
    ``optim`` BFGS control) on dat.konstantopoulos2011 (REML/ML, with and without a moderator,
    z and t tests), dat.assink2016 with a block-diagonal V, logit proportions of
    dat.pritz1997 with groups of size 1 and 2, and dat.bcg with one level (where it equals
    ``rma.uni`` REML/ML), to 1e-6 relative (tests/test_meta_multilevel.py).

    Examples
    --------
    >>> from jdmstats.meta import multilevel
    >>> yi = [0.1, 0.3, 0.2, 0.6, 0.5, 0.9, 0.4]
    >>> vi = [0.02, 0.03, 0.02, 0.04, 0.03, 0.02, 0.05]
    >>> fit = multilevel(yi, vi, random=[["a", "a", "b", "b", "c", "d", "d"], list("1212112")])
    >>> fit.sigma2_names
    ['level1', 'level1/level2']
    """
    import pandas as pd
    from scipy import stats

    method = str(method).upper()
    if method not in _METHODS:
        raise ValueError(f"Unknown method {method!r}; accepted: {', '.join(_METHODS)}.")
    if test not in _TESTS:
        raise ValueError(f"Unknown test {test!r}; accepted: {', '.join(_TESTS)}.")
    level = _level(level)
    y = np.asarray(yi, dtype=float).ravel()
    k = y.size
    if k < 2:
        raise ValueError(f"At least 2 estimates are needed; got k = {k}.")
    labs = _labels(labels, k)
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"yi must be finite: estimate {labs[i]!r} (index {i}) has yi = {y[i]!r}.")
    V = _check_V(vi_or_V, k, labs)
    names, Z, nlev, codes = _check_random(random, k, labs)
    if mods is None:
        Mm, cnames = np.empty((k, 0)), []
    else:
        from jdmstats.meta.regression import _encode

        Mm, enc = _encode(mods, k)
        cnames = enc.names
    X = np.column_stack([np.ones(k), Mm]) if intercept else Mm
    cnames = (["intrcpt"] if intercept else []) + list(cnames)
    p = X.shape[1]
    if p == 0:
        raise ValueError("The model has no columns (no moderators and intercept=False).")
    if np.linalg.matrix_rank(X) < p:
        raise ValueError(f"The model matrix is not of full rank (columns: {cnames}).")
    L = len(Z)
    if k <= p:
        raise ValueError(f"Too few estimates: k = {k} for {p} coefficient(s) and {L} sigma2.")

    # QE and metafor's starting values from the fit under V alone
    from scipy.linalg import cho_factor, cho_solve

    cV = cho_factor(V, lower=True)
    VX = cho_solve(cV, X)
    b_fe = np.linalg.solve(X.T @ VX, VX.T @ y)
    r_fe = y - X @ b_fe
    qe = float(r_fe @ cho_solve(cV, r_fe))
    total = max(0.001 * L, float(np.var(r_fe, ddof=1)) - 1 / np.mean(1 / np.diag(V)))
    lik = _Lik(y, X, V, Z, method == "REML")
    fixed = np.array([n == 1 for n in nlev])
    if fixed.any():
        warnings.warn(
            f"Single-level grouping(s) {[nm for nm, f in zip(names, fixed, strict=True) if f]} "
            "in random: the corresponding sigma2 fixed to 0 (as metafor).",
            UserWarning,
            stacklevel=2,
        )
    same = [names[i] for i in range(1, L) if nlev[i] == nlev[i - 1]]
    if same:
        warnings.warn(
            f"Grouping(s) {same} have as many levels as the level above them (every group of "
            "the outer level holds one inner group): the two variance components are not "
            "separately identifiable, only their sum is.",
            UserWarning,
            stacklevel=2,
        )
    s2, converged, its = _maximise(lik, np.where(fixed, 0.0, total / L), fixed=fixed)
    if not converged:
        warnings.warn("The optimiser did not converge; estimates may be inaccurate.",
                      UserWarning, stacklevel=2)  # fmt: skip
    d = lik.parts(s2)
    beta, vb = d["beta"], d["vb"]
    se = np.sqrt(np.diag(vb))
    stat = beta / se
    df = k - p if test == "t" else None
    pval = _pvalue(stat, test if test == "z" else "t", k - p)
    crit = _crit(test if test == "z" else "t", k - p, level)
    btt = np.arange(1 if (intercept and p > 1) else 0, p)
    m = btt.size
    qm = float(beta[btt] @ np.linalg.solve(vb[np.ix_(btt, btt)], beta[btt]))
    if test == "z":
        qm_df, qm_p = (m, None), float(stats.chi2.sf(qm, m))
    else:
        qm /= m
        qm_df, qm_p = (m, k - p), float(stats.f.sf(qm, m, k - p))
    coef = pd.DataFrame({"estimate": beta, "se": se, "statistic": stat, "pvalue": pval,
                         "ci_low": beta - crit * se, "ci_high": beta + crit * se},
                        index=cnames)  # fmt: skip

    # fit statistics (metafor rma.mv conventions)
    parms = p + int(L - fixed.sum())
    ll_ml, ll_reml = d["ll_ml"], d["ll_reml"]
    ll_qe = -0.5 * k * _LOG2PI - 0.5 * np.linalg.slogdet(V)[1]

    def ics(ll, n):
        mm = max(n, parms + 2)
        return (-2 * ll + 2 * parms, -2 * ll + parms * np.log(n),
                -2 * ll + 2 * parms * mm / (mm - parms - 1))  # fmt: skip

    table = pd.DataFrame({"ML": [ll_ml, -2 * (ll_ml - ll_qe), *ics(ll_ml, k)],
                          "REML": [ll_reml, -2 * ll_reml, *ics(ll_reml, k - p)]},
                         index=["ll", "dev", "AIC", "BIC", "AICc"], dtype=float)  # fmt: skip
    return MultilevelResult(
        coef=coef, sigma2=s2, sigma2_names=names, sigma2_nlevels=nlev, beta=beta, vb=vb,
        qe=qe, qe_df=k - p, qe_pvalue=float(stats.chi2.sf(qe, k - p)), qm=qm, qm_df=qm_df,
        qm_pvalue=qm_p, btt=btt, k=k, p=p, parms=parms, method=method, test=test, level=level,
        df=df, fit_table=table, yi=y, V=V, X=X, M=d["M"], groups=codes, labels=labs,
        intercept=intercept, converged=converged, iterations=its, _Z=Z, _fixed=fixed,
    )  # fmt: skip
