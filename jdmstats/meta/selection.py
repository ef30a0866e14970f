"""Selection models for publication bias: step-function (Vevea & Hedges 1995), beta
(Citkowicz & Vevea 2017) and the one-parameter half-normal, negative-exponential, logistic
and power models (Preston et al. 2004), as ``metafor::selmodel``.

The log-likelihood is metafor's (``.selmodel.ll.stepfun`` / ``.selmodel.ll.cont``):

    ll = sum_i [ log w(p_i) + log phi(y_i; x_i'beta, vi + tau2) - log A_i ],
    A_i = integral of w(p(y)) phi(y; x_i'beta, vi + tau2) dy,

with one-sided p-values ``p_i = 1 - Phi(y_i / sqrt(vi))`` (``alternative="greater"``).  For the
step function ``A_i`` is a closed-form sum of normal probabilities; for the beta model it is
computed by composite Gauss-Legendre quadrature on the p-value range where the weight is not
clamped, plus the closed-form tails where metafor clamps ``p`` to ``[1e-5, 1 - 1e-5]``.
Vectorised over studies.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from jdmstats.meta.fitstats import InformationCriteriaMixin
from jdmstats.results import ResultMixin

__all__ = ["selection_model", "SelectionResult", "selection_loglik"]

#: The one-parameter weight functions ``w(p; delta)`` of metafor's selmodel (``steps = 0``).
CONTINUOUS = {
    "halfnorm": lambda p, d: np.exp(-d * p**2),
    "negexp": lambda p, d: np.exp(-d * p),
    "logistic": lambda p, d: 2 * np.exp(-d * p) / (1 + np.exp(-d * p)),
    "power": lambda p, d: (1 - p) ** d,
}
TYPES = ("stepfun", "beta", *CONTINUOUS)
_BETA_PMIN = 1e-5
#: metafor's pval.min: p-values are clamped to [pmin, 1 - pmin] (0 where not clamped)
_PMIN = {"beta": _BETA_PMIN, "power": 1e-5, "halfnorm": 0.0, "negexp": 0.0, "logistic": 0.0}
_Z_FAR = 8.5  # Phi(-8.5) < 1e-17: beyond it an unclamped weight is its limit


def _norm():
    from scipy import special

    return special.ndtr, special.ndtri


@dataclass(frozen=True)
class SelectionResult(InformationCriteriaMixin, ResultMixin):
    """Result of :func:`selection_model` (fields as metafor's ``selmodel`` object).

    Attributes
    ----------
    type : str
        ``"stepfun"``, ``"beta"``, ``"halfnorm"``, ``"negexp"``, ``"logistic"`` or ``"power"``.
    steps : ndarray or None
        Right ends of the p-value intervals (stepfun; the last is 1).
    alternative : str
    beta, se, statistic, pvalue, ci_low, ci_high : ndarray
        Coefficients adjusted for selection (Wald tests, Hessian-based SEs as metafor).
    tau2, se_tau2 : float
    delta, se_delta : ndarray
        Selection parameters (stepfun: relative likelihood of selection per interval, the
        first fixed at 1 with SE NaN; beta: the two shape parameters).
    loglik : float
    lrt, lrt_df, lrt_pvalue : float
        Likelihood-ratio test of the selection parameters against the model without
        selection (its ML log-likelihood, as metafor ``logLik(x, REML = FALSE)``).
    k : int
    k_per_interval : ndarray or None
        Number of observed p-values per interval (stepfun).
    converged : bool
    """

    type: str
    steps: np.ndarray | None
    alternative: str
    beta: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    pvalue: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    tau2: float
    se_tau2: float
    delta: np.ndarray
    se_delta: np.ndarray
    loglik: float
    lrt: float
    lrt_df: int
    lrt_pvalue: float
    k: int
    k_per_interval: np.ndarray | None
    converged: bool
    level: float = 0.95
    names: list = field(default_factory=list)
    parms: int = 0

    _title = "Selection model"

    @property
    def estimate(self) -> float:
        """The adjusted intercept (pooled effect of an intercept-only model)."""
        return float(self.beta[0])

    def fit_stats(self):
        """metafor's ``fit.stats`` of a selection model: rows ``ll, dev, AIC, BIC, AICc``,
        column ``ML`` (``dev = -2 ll``; ``parms`` = coefficients + tau^2 + estimated
        deltas), and ``REML`` (NaN: not defined).  ``deviance``, ``aic``, ``bic``, ``aicc``
        read the ML column."""
        import pandas as pd

        ll, q = self.loglik, self.parms
        m = max(self.k, q + 2)
        ml = [ll, -2 * ll, -2 * ll + 2 * q, -2 * ll + q * np.log(self.k),
              -2 * ll + 2 * q * m / (m - q - 1)]  # fmt: skip
        return pd.DataFrame({"ML": ml, "REML": np.nan}, index=["ll", "dev", "AIC", "BIC", "AICc"])

    def confint(self):
        """Wald confidence intervals of the selection-adjusted coefficients (DataFrame
        ``estimate, ci_low, ci_high``)."""
        import pandas as pd

        return pd.DataFrame({"estimate": self.beta, "ci_low": self.ci_low,
                             "ci_high": self.ci_high}, index=self.names)  # fmt: skip

    def summary(self):
        """Coefficients, tau^2 and the selection parameters in one DataFrame."""
        import pandas as pd

        rows = {n: (b, s) for n, b, s in zip(self.names, self.beta, self.se, strict=True)}
        rows["tau2"] = (self.tau2, self.se_tau2)
        for j, (d, s) in enumerate(zip(self.delta, self.se_delta, strict=True)):
            rows[f"delta.{j + 1}"] = (d, s)
        return pd.DataFrame.from_dict(rows, orient="index", columns=["estimate", "se"])

    def __repr__(self) -> str:
        lines = [
            f"Selection model ({self.type}, alternative = {self.alternative}; k = {self.k})",
            f"log-likelihood = {self.loglik:.4f}; LRT of selection: X^2({self.lrt_df}) = "
            f"{self.lrt:.4f}, p = {self.lrt_pvalue:.4g}",
            f"AIC = {self.aic:.4f}, BIC = {self.bic:.4f}, AICc = {self.aicc:.4f}",
            "",
            self.summary().to_string(float_format=lambda x: f"{x:.4f}"),
        ]
        return "\n".join(lines)


# --------------------------------------------------------------------------- likelihood
def _pvals(yi, vi, alternative):
    ndtr, _ = _norm()
    z = yi / np.sqrt(vi)
    if alternative == "two.sided":
        return 2 * ndtr(-np.abs(z))
    return ndtr(-z) if alternative == "greater" else ndtr(z)


def _gl_nodes(a, b, panels=16, order=48):
    u, w = np.polynomial.legendre.leggauss(order)
    edges = np.linspace(a, b, panels + 1)
    half = np.diff(edges) / 2
    mid = (edges[:-1] + edges[1:]) / 2
    x = (mid[:, None] + half[:, None] * u[None, :]).ravel()
    wt = (half[:, None] * w[None, :]).ravel()
    return x, wt


_GL = {}


def _beta_w(p, a, b):
    p = np.clip(p, _BETA_PMIN, 1 - _BETA_PMIN)
    return np.exp((a - 1) * np.log(p) + (b - 1) * np.log1p(-p))


def _integral(wfun, pmin, s, sd, yhat, alternative):
    """``A_i = integral w(p(y)) phi(y; yhat_i, sd_i^2) dy`` by composite Gauss-Legendre
    quadrature in ``z = y / s`` on the range where ``p`` is not clamped to ``[pmin, 1 - pmin]``
    (``|z| <= 8.5`` when ``pmin = 0``), plus the closed-form tails where the weight is
    constant.  ``alternative="less"`` mirrors ``z -> -z``; two-sided p-values ``2 Phi(-|z|)``
    are symmetric (a panel edge at ``z = 0``)."""
    ndtr, ndtri = _norm()
    two = alternative == "two.sided"
    m = -yhat if alternative == "less" else yhat
    if two:
        zc = -ndtri(pmin / 2) if pmin > 0 else _Z_FAR
    else:
        zc = -ndtri(pmin) if pmin > 0 else _Z_FAR
    key = (round(float(zc), 12), two)
    if key not in _GL:
        _GL[key] = _gl_nodes(-zc, zc)
    z, wz = _GL[key]
    p = 2 * ndtr(-np.abs(z)) if two else ndtr(-z)
    wv = wfun(p)
    y = s[:, None] * z[None, :]
    phi = np.exp(-0.5 * ((y - m[:, None]) / sd[:, None]) ** 2) / (sd[:, None] * np.sqrt(2 * np.pi))
    mid = (phi * (wv * wz)[None, :]).sum(1) * s
    upper = ndtr(-(s * zc - m) / sd)  # mass beyond +zc (small p)
    lower = ndtr((-s * zc - m) / sd)  # mass beyond -zc (p near 1; two-sided: small p)
    w_small = wfun(np.array(pmin))
    w_large = w_small if two else wfun(np.array(1 - pmin))
    return mid + w_small * upper + w_large * lower


def selection_loglik(yi, vi, X, beta, tau2, delta, type="stepfun", steps=None,
                     alternative="greater"):  # fmt: skip
    """metafor's selection-model log-likelihood at given parameter values.

    Parameters
    ----------
    yi, vi : array_like
    X : array_like (k, p)
    beta : array_like (p,)
    tau2 : float
    delta : array_like
        stepfun: one value per interval (``delta[0]`` is usually 1); beta: ``(a, b)``.
    type, steps, alternative : see :func:`selection_model`.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from jdmstats.meta.selection import selection_loglik
    >>> yi, vi = np.array([0.2, 0.5, 0.1]), np.array([0.04, 0.05, 0.02])
    >>> ll1 = selection_loglik(yi, vi, np.ones((3, 1)), [0.2], 0.01, [1, 1], "stepfun", [0.05, 1])
    >>> from scipy.stats import norm
    >>> bool(np.isclose(ll1, norm.logpdf(yi, 0.2, np.sqrt(vi + 0.01)).sum()))  # no selection
    True
    """
    ndtr, ndtri = _norm()
    yi = np.asarray(yi, float)
    vi = np.asarray(vi, float)
    X = np.asarray(X, float)
    yhat = X @ np.asarray(beta, float)
    tau2 = 0.0 if tau2 < np.finfo(float).eps * 10 else float(tau2)
    delta = np.asarray(delta, float)
    s = np.sqrt(vi)
    sd = np.sqrt(vi + tau2)
    dens = -0.5 * np.log(2 * np.pi) - np.log(sd) - 0.5 * ((yi - yhat) / sd) ** 2
    pv = _pvals(yi, vi, alternative)
    if type == "stepfun":
        steps = np.asarray(steps, float)
        grp = np.searchsorted(steps, pv, side="left")  # first j with p <= steps[j]
        c = np.concatenate([[0.0], steps])  # interval boundaries on the p scale

        def G(cc):  # P(p <= cc) for y ~ N(yhat, sd^2), shape (k, len(cc))
            cc = cc[None, :]
            with np.errstate(divide="ignore", invalid="ignore"):
                if alternative == "greater":
                    q = s[:, None] * ndtri(1 - cc)
                    out = ndtr(-(q - yhat[:, None]) / sd[:, None])
                elif alternative == "less":
                    q = s[:, None] * ndtri(cc)
                    out = ndtr((q - yhat[:, None]) / sd[:, None])
                else:
                    q = s[:, None] * ndtri(1 - cc / 2)
                    out = ndtr(-(q - yhat[:, None]) / sd[:, None]) + ndtr(
                        (-q - yhat[:, None]) / sd[:, None]
                    )
            out = np.where(cc <= 0, 0.0, out)
            return np.where(cc >= 1, 1.0, out)

        Gc = G(c)
        A = (np.diff(Gc, axis=1) * delta[None, :]).sum(1)
        logw = np.log(delta[grp])
    elif type == "beta":
        if alternative == "two.sided":
            raise ValueError("The beta selection model is implemented for one-sided p-values.")
        a, b = delta

        def wfun(p):
            return _beta_w(p, a, b)

        A = _integral(wfun, _BETA_PMIN, s, sd, yhat, alternative)
        logw = np.log(wfun(pv))
    elif type in CONTINUOUS:
        d = float(np.ravel(delta)[0])
        pmin = _PMIN[type]

        def wfun(p):
            return CONTINUOUS[type](np.clip(p, pmin, 1 - pmin), d)

        A = _integral(wfun, pmin, s, sd, yhat, alternative)
        logw = np.log(wfun(pv))
    else:
        raise ValueError(f"Unknown type {type!r}; accepted: {', '.join(TYPES)}.")
    return float(np.sum(logw + dens - np.log(A)))


# --------------------------------------------------------------------------- fitting
def _hessian(f, x, d=0.1, r=4, eps=1e-4):
    """Richardson-extrapolated central-difference Hessian, with numDeriv::hessian's default
    steps (``d = 0.1`` relative, ``eps = 1e-4`` for ``|x| < zero.tol``, ``r = 4`` halvings)."""
    n = x.size
    zero_tol = np.sqrt(np.finfo(float).eps / 7e-7)
    h0 = np.abs(d * x) + eps * (np.abs(x) < zero_tol)
    H = np.zeros((n, n))
    f0 = f(x)
    for i in range(n):
        for j in range(i + 1):
            est = []
            for m in range(r):
                hi, hj = h0[i] / 2**m, h0[j] / 2**m
                if i == j:
                    e = np.zeros(n)
                    e[i] = hi
                    est.append((f(x + e) - 2 * f0 + f(x - e)) / hi**2)
                else:
                    ei = np.zeros(n)
                    ej = np.zeros(n)
                    ei[i], ej[j] = hi, hj
                    est.append((f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej))
                               / (4 * hi * hj))  # fmt: skip
            est = np.array(est)
            for m in range(1, r):  # Richardson with step ratio 2, even powers
                est = (4**m * est[1:] - est[:-1]) / (4**m - 1)
            H[i, j] = H[j, i] = est[0]
    return H


def selection_model(
    fit, type: str = "stepfun", steps=None, alternative: str = "greater", delta=None,
    level: float | None = None,
) -> SelectionResult:  # fmt: skip
    """Fit a selection model to a random-effects model or meta-regression (metafor ``selmodel``).

    Parameters
    ----------
    fit : RMAResult or MetaRegResult
        The model without selection (ML recommended, as in metafor's examples; its ML
        log-likelihood is the reference of the LRT).
    type : {"stepfun", "beta", "halfnorm", "negexp", "logistic", "power"}
        Step function with cut points ``steps`` (Vevea & Hedges 1995), the beta selection
        model ``w(p) = p^(a-1) (1-p)^(b-1)`` (Citkowicz & Vevea 2017), or one of metafor's
        one-parameter weight functions (Preston et al. 2004): half-normal ``exp(-delta p^2)``,
        negative exponential ``exp(-delta p)``, logistic ``2 exp(-delta p) / (1 + exp(-delta
        p))`` and power ``(1 - p)^delta``, with ``delta >= 0`` (0: no selection).
    steps : sequence of float
        stepfun: p-value cut points in (0, 1]; 1 is appended if missing.
    alternative : {"greater", "less", "two.sided"}
        Direction of the p-values (metafor's default ``"greater"``; beta: one-sided only).
    delta : sequence, optional
        Fixed selection parameters (NaN = estimate), as metafor's ``delta``.
    level : float, optional
        Confidence level of the Wald CIs (default: the fit's).

    Returns
    -------
    SelectionResult

    Notes
    -----
    Likelihood and parametrisation of ``metafor::selmodel`` 3.8-1 (tau^2 on the log scale,
    selection parameters mapped logistically onto metafor's ``[delta.min, delta.max]`` =
    ``[0, 100]`` (stepfun) or ``[1e-5, 100]`` (beta), p-values of the beta model clamped to
    ``[1e-5, 1 - 1e-5]``); maximised by BFGS and polished by Nelder-Mead; standard errors from
    a Richardson-extrapolated numerical Hessian of the untransformed log-likelihood, as
    metafor (numDeriv).  Validated against metafor on dat.hackshaw1998 (the selmodel help
    examples): the log-likelihood at fixed parameters to 1e-8, and the fitted models (metafor
    run with tight optimiser and integration controls) -- see tests/test_meta_selection.py
    for the tolerances, which are limited by metafor's optimiser, not by this code.

    The one-parameter models use metafor's ``steps = 0`` (weight 1 at p = 0) and
    ``pval.min`` (p clamped to ``[1e-5, 1 - 1e-5]`` for "power", not clamped otherwise);
    ``A_i`` by the same quadrature as the beta model.  Validated against metafor 3.8-1 on
    dat.hackshaw1998 (one- and two-sided; tests/reference/metafor_selection_cont.json): the
    log-likelihood at fixed parameters to 1e-9 and the fits with integrate(rel.tol = 1e-10).
    The power model with two-sided p-values is not validated: metafor's integrate() fails
    on it at tight tolerance (the weight has a kink where p = 1).

    Examples
    --------
    >>> import numpy as np
    >>> from jdmstats import meta
    >>> rng = np.random.default_rng(1)
    >>> vi = rng.uniform(0.01, 0.1, 30); yi = rng.normal(0.2, np.sqrt(vi + 0.01))
    >>> fit = meta.random_effects(yi, vi, method="ML")
    >>> sel = meta.selection_model(fit, type="stepfun", steps=[0.025, 1])
    >>> float(sel.delta[0]), sel.k
    (1.0, 30)
    """
    from scipy import optimize, stats

    from jdmstats.meta._solver import _Design, _loglik
    from jdmstats.meta.diagnostics import _design
    from jdmstats.meta.model import _level

    if type not in TYPES:
        raise ValueError(f"Unknown type {type!r}; accepted: {', '.join(TYPES)}.")
    if alternative not in ("greater", "less", "two.sided"):
        raise ValueError(
            f"Unknown alternative {alternative!r}; accepted: greater, less, two.sided."
        )
    if type == "beta" and alternative == "two.sided":
        raise ValueError("The beta selection model is implemented for one-sided p-values.")
    if type in CONTINUOUS and steps is not None:
        raise ValueError(
            f"type={type!r} is implemented with metafor's default steps = 0 (the weight "
            "function over the whole p-value range); do not pass steps."
        )
    yi = np.asarray(fit.yi, float)
    vi = np.asarray(fit.vi, float)
    X = _design(fit)
    k, p = X.shape
    level = _level(getattr(fit, "level", 0.95) if level is None else level)
    names = list(fit.coef.index) if hasattr(fit, "coef") else ["intrcpt"]
    pv = _pvals(yi, vi, alternative)
    counts = None
    if type == "stepfun":
        if steps is None:
            raise ValueError("type='stepfun' needs 'steps' (p-value cut points).")
        steps = np.unique(np.asarray(steps, float))
        if np.any((steps < 0) | (steps > 1)):
            raise ValueError("steps must lie in [0, 1].")
        if steps[-1] != 1:
            steps = np.append(steps, 1.0)
        nd = steps.size
        lo_b, hi_b = np.zeros(nd), np.full(nd, 100.0)
        fixed = np.full(nd, np.nan)
        fixed[0] = 1.0
        counts = np.bincount(np.searchsorted(steps, pv, side="left"), minlength=nd)
    elif type == "beta":
        steps = None
        nd = 2
        lo_b, hi_b = np.full(2, 1e-5), np.full(2, 100.0)
        fixed = np.full(2, np.nan)
    else:  # one-parameter weight functions: delta in metafor's [delta.min, delta.max] = [0, 100]
        nd = 1
        lo_b, hi_b = np.zeros(1), np.full(1, 100.0)
        fixed = np.full(1, np.nan)
    if delta is not None:
        dv = np.asarray(delta, float).ravel()
        if dv.size != nd:
            raise ValueError(f"delta must have {nd} values for this selection model.")
        fixed = np.where(np.isfinite(dv), dv, fixed)
    free = ~np.isfinite(fixed)
    if counts is not None and np.any((counts == 0) & free):
        raise ValueError(
            f"One or more p-value intervals contain no observed p-values (counts {counts.tolist()}"
            f" for steps {steps.tolist()}); merge intervals or fix their delta."
        )
    n_free = int(free.sum())
    if k < p + 1 + n_free:
        raise ValueError(f"Too few studies (k = {k}) to fit the selection model.")

    def unpack(theta):
        beta = theta[:p]
        tau2 = np.exp(theta[p])
        d = fixed.copy()
        d[free] = lo_b[free] + (hi_b[free] - lo_b[free]) / (1 + np.exp(-theta[p + 1 :]))
        return beta, tau2, d

    def nll(theta):
        beta, tau2, d = unpack(theta)
        with np.errstate(all="ignore"):
            v = -selection_loglik(yi, vi, X, beta, tau2, d, type, steps, alternative)
        return v if np.isfinite(v) else 1e100

    d_init = np.ones(nd)
    u = (d_init[free] - lo_b[free]) / (hi_b[free] - lo_b[free])
    theta0 = np.concatenate([np.asarray(fit.beta if hasattr(fit, "beta") else [fit.estimate],
                                        float).ravel(),
                             [np.log(float(fit.tau2) + 0.001)], np.log(u / (1 - u))])  # fmt: skip
    res = optimize.minimize(nll, theta0, method="BFGS", options={"gtol": 1e-9, "maxiter": 10000})
    res2 = optimize.minimize(nll, res.x, method="Nelder-Mead",
                             options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 20000,
                                      "maxfev": 40000})  # fmt: skip
    best = res2 if res2.fun <= res.fun else res
    res3 = optimize.minimize(nll, best.x, method="BFGS", options={"gtol": 1e-10})
    best = res3 if res3.fun <= best.fun else best
    converged = bool(res2.success or res3.success)
    beta, tau2, d = unpack(best.x)
    tau2 = 0.0 if tau2 < np.finfo(float).eps * 10 else float(tau2)
    ll = -float(best.fun)
    if np.any(d[free] <= lo_b[free] + np.finfo(float).eps ** 0.25) or np.any(
        d[free] >= hi_b[free] - 100 * np.finfo(float).eps ** 0.25
    ):
        warnings.warn(
            "One or more delta estimates are (almost) at their bound; treat with caution "
            "(metafor's warning).",
            UserWarning,
            stacklevel=2,
        )

    # Hessian of -ll on the raw scale (beta, tau2, free deltas)
    def nll_raw(par):
        dd = fixed.copy()
        dd[free] = par[p + 1 :]
        with np.errstate(all="ignore"):
            return -selection_loglik(yi, vi, X, par[:p], par[p], dd, type, steps, alternative)

    par_hat = np.concatenate([beta, [tau2], d[free]])
    se_b = np.full(p, np.nan)
    se_t = np.nan
    se_d = np.full(nd, np.nan)
    vb = np.full((p, p), np.nan)
    try:
        H = _hessian(nll_raw, par_hat)
        iH = np.linalg.inv(H)
        if np.all(np.isfinite(iH)):
            vb = iH[:p, :p]
            se_b = np.sqrt(np.diag(vb))
            se_t = float(np.sqrt(iH[p, p]))
            se_d[free] = np.sqrt(np.diag(iH)[p + 1 :])
    except (np.linalg.LinAlgError, FloatingPointError, ValueError):
        warnings.warn("Could not invert the Hessian: standard errors are NaN.", UserWarning,
                      stacklevel=2)  # fmt: skip
    crit = stats.norm.isf((1 - level) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = beta / se_b
    ll0 = float(_loglik(_Design(X), yi[None], vi[None], np.ones((1, k)),
                        np.array([float(fit.tau2)]), False)[0])  # fmt: skip
    lrt = max(0.0, -2 * (ll0 - ll))
    return SelectionResult(
        type=type, steps=steps, alternative=alternative, beta=beta, se=se_b, statistic=z,
        pvalue=2 * stats.norm.sf(np.abs(z)), ci_low=beta - crit * se_b,
        ci_high=beta + crit * se_b, tau2=tau2, se_tau2=se_t, delta=d, se_delta=se_d,
        loglik=ll, lrt=lrt, lrt_df=n_free, lrt_pvalue=float(stats.chi2.sf(lrt, n_free)),
        k=k, k_per_interval=counts, converged=converged, level=level, names=names,
        parms=p + 1 + n_free,
    )  # fmt: skip
