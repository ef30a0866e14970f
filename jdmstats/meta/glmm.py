"""Binomial-normal random-intercept GLMM for single proportions (metafor ``rma.glmm``, PLO).

Model: ``x_i ~ Binomial(n_i, expit(beta + b_i))``, ``b_i ~ N(0, tau^2)``, fitted by maximum
likelihood with the marginal likelihood approximated by adaptive Gauss-Hermite quadrature
(AGHQ) centred at each study's conditional mode, exactly the approximation lme4's ``glmer``
maximises (``nAGQ`` nodes; ``nAGQ=1`` is the Laplace approximation).  Everything is vectorised
over studies; the outer problem has two parameters and is solved by a safeguarded Newton
method with an analytic gradient.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from jdmstats.meta.effects import _check_level, _counts
from jdmstats.meta.fitstats import InformationCriteriaMixin
from jdmstats.results import FittedMixin, ResultMixin, tables_text

__all__ = ["GLMMResult", "binomial_glmm"]

_SQRT2 = np.sqrt(2.0)
_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


@dataclass(frozen=True)
class GLMMResult(FittedMixin, InformationCriteriaMixin, ResultMixin):
    """Fit of the binomial-normal (random-intercept logistic) model, on the logit scale.

    Attributes
    ----------
    events, totals : ndarray
        The data.
    labels : tuple
        Study labels.
    k : int
        Number of studies.
    n_nodes : int
        Quadrature nodes (1 = Laplace; 7 = metafor's default ``nAGQ``).
    test : str
        ``"z"`` or ``"t"`` (t on k - 1 df, as ``rma.glmm(test="t")``).
    level : float
        Confidence level.
    estimate, se, statistic, pvalue, ci_low, ci_high : float
        Pooled logit, its standard error (inverse observed information of (beta, tau), as
        lme4), Wald statistic, p-value and confidence interval.
    pi_low, pi_high : float
        Prediction interval ``estimate -/+ crit * sqrt(se^2 + tau2)`` (as metafor's predict).
    tau2, tau : float
        Between-study variance and SD of the logits.
    i2, h2 : float
        I^2 (percent) and H^2 as ``rma.glmm`` computes them, from the "typical" within-study
        variance ``vt`` of the (continuity-corrected) escalc logits.
    vt : float
        That typical within-study variance.
    qe_wald, qe_wald_pvalue, qe_lrt, qe_lrt_pvalue : float
        Wald-type and likelihood-ratio tests of heterogeneity (saturated vs common-effect
        logistic model), as ``rma.glmm`` reports them (NaN for k = 1).
    qe_df : int
        Their degrees of freedom (k - 1).
    df : float or None
        t degrees of freedom (None for z).
    loglik : float
        Maximised AGHQ log-likelihood (binomial constants included, as lme4's ``logLik``;
        metafor's printed logLik of ``rma.glmm``, and lme4's for nAGQ > 1, differ: see the
        Notes of :func:`binomial_glmm`).
    converged : bool
    iterations : int
    note : str
        Remarks (k = 1, tau^2 on the boundary, ...).
    """

    events: np.ndarray
    totals: np.ndarray
    labels: tuple
    k: int
    n_nodes: int
    test: str
    level: float
    estimate: float
    se: float
    statistic: float
    pvalue: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau2: float
    tau: float
    i2: float
    h2: float
    vt: float
    qe_wald: float
    qe_wald_pvalue: float
    qe_lrt: float
    qe_lrt_pvalue: float
    qe_df: int
    df: float | None
    loglik: float
    converged: bool
    iterations: int
    note: str
    _title: str = field(default="Binomial-normal GLMM (logit)", repr=False)

    def summary(self):
        """One-row DataFrame (the model): estimate, se, statistic, pvalue, CI, PI, tau2, I2,
        H2, the heterogeneity tests and k; the studies are in :meth:`studies`."""
        return self._one_row(
            ("estimate", "se", "statistic", "pvalue", "ci_low", "ci_high", "pi_low", "pi_high",
             "tau2", "i2", "h2", "qe_wald", "qe_wald_pvalue", "qe_lrt", "qe_lrt_pvalue", "k"),
            "intrcpt",
        )  # fmt: skip

    def studies(self):
        """Per-study table: ``events``, ``total`` (integers, Int64), observed ``proportion``
        with its exact Clopper-Pearson ``ci_low``/``ci_high``.

        There is no weight column: study weights are not defined for the binomial-normal
        model (metafor 3.8-1 ``weights(rma.glmm)``: "Method not available for objects of class
        \"rma.glmm\""); the table's ``attrs["note"]`` says so and the repr shows it.
        """
        import pandas as pd

        from jdmstats.meta.effects import clopper_pearson

        lo, hi = clopper_pearson(self.events, self.totals, self.level)
        out = pd.DataFrame(
            {"events": pd.array(np.asarray(self.events, dtype=np.int64), dtype="Int64"),
             "total": pd.array(np.asarray(self.totals, dtype=np.int64), dtype="Int64"),
             "proportion": self.events / self.totals, "ci_low": lo, "ci_high": hi},
            index=pd.Index(list(self.labels), name="study"),
        )  # fmt: skip
        out.attrs["note"] = GLMM_WEIGHTS_NOTE
        return out

    # ---- likelihood and information criteria -------------------------------------------
    @property
    def parms(self) -> int:
        """Number of estimated parameters: beta and tau^2 (1 when k = 1: tau^2 fixed at 0)."""
        return 2 if self.k > 1 else 1

    @property
    def loglik_saturated(self) -> float:
        """Log-likelihood of the saturated binomial model ``sum log dbinom(x, n, x / n)``."""
        from scipy import stats

        return float(np.sum(stats.binom.logpmf(self.events, self.totals, self.events / self.totals)))

    @property
    def loglik_ee(self) -> float:
        """Log-likelihood of the equal-effects (common-effect) logistic model, binomial
        constants included (R ``logLik(glm(cbind(x, n - x) ~ 1, binomial))``; metafor
        ``rma.glmm(method = "EE")``)."""
        from scipy import stats

        pbar = self.events.sum() / self.totals.sum()
        return float(np.sum(stats.binom.logpmf(self.events, self.totals, pbar)))

    @property
    def loglik_conditional(self) -> float:
        """metafor's ``logLik(rma.glmm)``: the binomial log-likelihood at the conditional
        modes of the random effects, ``sum log dbinom(x_i, n_i, expit(beta + b_i))`` (it
        equals ``ll(saturated) - deviance(glmer) / 2``); not a marginal likelihood."""
        return _conditional_loglik(self.events, self.totals, self.estimate, self.tau)

    def fit_stats(self):
        """Log-likelihood, deviance, AIC, BIC and AICc under two conventions (a DataFrame).

        Column ``ML``: from the marginal log-likelihood :attr:`loglik` (what the properties
        ``deviance`` (``-2 (loglik - loglik_saturated)``), ``aic``, ``bic`` and ``aicc``
        return); column ``ML_metafor``: metafor's
        ``fitstats(rma.glmm)``, from :attr:`loglik_conditional`.  Deviance is ``-2 (ll -
        ll_saturated)``; ``parms = 2``; ``AIC = -2 ll + 2 parms``, ``BIC = -2 ll + parms
        log(k)``, ``AICc = -2 ll + 2 parms m / (m - parms - 1)`` with ``m = max(k, parms + 2)``
        (metafor's definitions).  See the Notes of :func:`binomial_glmm`.
        """
        import pandas as pd

        sat = self.loglik_saturated

        def col(ll):
            m = max(self.k, self.parms + 2)
            return [ll, -2 * (ll - sat), -2 * ll + 2 * self.parms,
                    -2 * ll + self.parms * np.log(self.k),
                    -2 * ll + 2 * self.parms * m / (m - self.parms - 1)]  # fmt: skip

        return pd.DataFrame({"ML": col(self.loglik), "ML_metafor": col(self.loglik_conditional)},
                            index=["ll", "dev", "AIC", "BIC", "AICc"])  # fmt: skip

    def confint(self):
        """The Wald confidence interval of the pooled logit (DataFrame ``estimate, ci_low,
        ci_high``, row ``intrcpt``).

        metafor 3.8-1 has no ``confint`` for ``rma.glmm`` ("Method not available"), so no
        interval for tau^2 is offered; the table's ``attrs["note"]`` says so.
        """
        import pandas as pd

        out = pd.DataFrame({"estimate": [self.estimate], "ci_low": [self.ci_low],
                            "ci_high": [self.ci_high]}, index=["intrcpt"])  # fmt: skip
        out.attrs["note"] = ("No confidence interval for tau^2: not defined for the GLMM here "
                             "(metafor 3.8-1: confint() not available for rma.glmm).")  # fmt: skip
        return out

    def __repr__(self) -> str:
        stat = "t" if self.test == "t" else "z"
        df = f" (df = {self.df:g})" if self.df is not None else ""
        quad = "Laplace" if self.n_nodes == 1 else f"adaptive Gauss-Hermite, {self.n_nodes} nodes"
        lines = [
            f"Random-Effects Model (k = {self.k}; tau^2 estimator: ML; {quad})",
            "Model Type: Binomial-Normal (logit link)",
            "",
            f"tau^2 (estimated amount of total heterogeneity): {self.tau2:.4f}",
            f"tau (square root of estimated tau^2 value):      {self.tau:.4f}",
            f"I^2 (total heterogeneity / total variability):   {self.i2:.2f}%",
            f"H^2 (total variability / sampling variability):  {self.h2:.2f}",
            "",
            f"Tests for Heterogeneity (df = {self.qe_df}):",
            f"Wld(df = {self.qe_df}) = {self.qe_wald:.4f}, p-val = {self.qe_wald_pvalue:.4g}",
            f"LRT(df = {self.qe_df}) = {self.qe_lrt:.4f}, p-val = {self.qe_lrt_pvalue:.4g}",
            "",
            f"Model Results (logit scale){df}:",
            f"estimate = {self.estimate:.4f}, se = {self.se:.4f}, {stat} = {self.statistic:.4f}, "
            f"p = {self.pvalue:.4g}",
            f"{100 * self.level:g}% CI: [{self.ci_low:.4f}, {self.ci_high:.4f}]; "
            f"{100 * self.level:g}% PI: [{self.pi_low:.4f}, {self.pi_high:.4f}]",
        ]
        fs = self.fit_stats()
        lines += [
            "",
            f"logLik (marginal) = {self.loglik:.4f}, deviance = {self.deviance:.4f}, "
            f"AIC = {self.aic:.4f}, BIC = {self.bic:.4f}, AICc = {self.aicc:.4f}",
            f"(metafor's convention: logLik = {fs.loc['ll', 'ML_metafor']:.4f}, "
            f"AIC = {fs.loc['AIC', 'ML_metafor']:.4f})",
        ]
        if self.note:
            lines += ["", f"Note: {self.note}"]
        return "\n".join(lines) + "\n\n" + tables_text([("Studies", self.studies())])


GLMM_WEIGHTS_NOTE = (
    "Study weights are not defined for the binomial-normal GLMM (metafor 3.8-1: weights() "
    "is not available for rma.glmm), so none are shown."
)


def _conditional_loglik(x, n, beta, tau) -> float:
    """``sum log dbinom(x, n, expit(beta + tau u_i))`` at the conditional modes ``u_i``."""
    from scipy import stats
    from scipy.special import expit

    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    u = _modes(x, n, float(beta), float(tau)) if tau > 0 else np.zeros_like(x)
    return float(np.sum(stats.binom.logpmf(x, n, expit(beta + tau * u))))


# ---------------------------------------------------------------------------------------------
# AGHQ likelihood
# ---------------------------------------------------------------------------------------------


def _softplus(x):
    return np.logaddexp(0.0, x)


def _modes(x, n, beta, tau, u0=None, tol=1e-13, maxiter=200):
    """Conditional modes of g(u) = x*eta - n*log(1+e^eta) - u^2/2, eta = beta + tau*u.

    Safeguarded Newton (rtsafe), vectorised: the root of g'(u) is bracketed by
    [tau*(x - n), tau*x] because tau*(x - n*p) lies in that interval.  Newton can oscillate
    between the two sides of the root without converging (g' nearly piecewise linear, e.g.
    0 events with tau*|beta| large); a study still moving after ``slow`` iterations bisects
    its bracket from then on.
    """
    from scipy.special import expit

    slow = 30
    lo = np.minimum(tau * (x - n), 0.0) - 1e-12
    hi = np.maximum(tau * x, 0.0) + 1e-12
    u = np.clip(u0, lo, hi) if u0 is not None else np.clip(np.zeros_like(x), lo, hi)
    delta = np.full_like(u, np.inf)
    for it in range(maxiter):
        p = expit(beta + tau * u)
        gu = tau * (x - n * p) - u
        guu = -(tau**2) * n * p * (1 - p) - 1.0
        # shrink bracket using the sign of g'
        lo = np.where(gu > 0, u, lo)
        hi = np.where(gu < 0, u, hi)
        new = u - gu / guu
        outside = (new < lo) | (new > hi)
        if it >= slow:
            outside |= delta > tol * (1.0 + np.abs(u))
        new = np.where(outside, 0.5 * (lo + hi), new)
        delta = np.abs(new - u)
        u = new
        if np.all(delta <= tol * (1.0 + np.abs(u))):
            break
    return u


class _AGHQ:
    """Vectorised AGHQ marginal log-likelihood, its analytic gradient and Hessian."""

    def __init__(self, x, n, n_nodes):
        from scipy.special import gammaln

        self.x = x
        self.n = n
        t, w = np.polynomial.hermite.hermgauss(n_nodes)
        self.t = t  # nodes for weight exp(-t^2)
        self.logw = np.log(w) + t**2  # log(w_j) + t_j^2
        self.const = np.sum(gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1))
        self.u_cache = None
        self.evals = 0

    def _g_parts(self, beta, tau, u):
        from scipy.special import expit

        x, n = self.x[:, None], self.n[:, None]
        eta = beta + tau * u
        p = expit(eta)
        g = x * eta - n * _softplus(eta) - 0.5 * u**2
        return g, p

    def _at_modes(self, beta, tau):
        """The AGHQ log-likelihood at (beta, tau) and what its derivatives reuse: modes
        ``uh``, their probabilities ``ph`` and ``q = ph (1 - ph)``, ``g''`` there (``guu``),
        scales ``s``, nodes ``uj`` with their probabilities ``pj``, and the unnormalised node
        weights ``ea`` with their sums ``tot``."""
        from scipy.special import expit

        self.evals += 1
        x, n = self.x, self.n
        uh = _modes(x, n, beta, tau, self.u_cache)
        self.u_cache = uh
        ph = expit(beta + tau * uh)
        q = ph * (1 - ph)
        guu = -(tau**2) * n * q - 1.0
        s = 1.0 / np.sqrt(-guu)
        uj = uh[:, None] + _SQRT2 * s[:, None] * self.t[None, :]
        g, pj = self._g_parts(beta, tau, uj)
        a = self.logw[None, :] + g
        amax = a.max(axis=1, keepdims=True)
        ea = np.exp(a - amax)
        tot = ea.sum(axis=1)
        li = amax[:, 0] + np.log(tot) + np.log(_SQRT2 * s) - _LOG_SQRT_2PI
        ll = float(np.sum(li) + self.const)
        return ll, uh, ph, q, guu, s, uj, pj, ea, tot

    def value_grad(self, beta, tau, grad=True):
        """Return (loglik, dL/dbeta, dL/dtau)."""
        x, n = self.x, self.n
        ll, uh, ph, q, guu, s, uj, pj, ea, tot = self._at_modes(beta, tau)
        if not grad:
            return ll, np.nan, np.nan
        r = q * (1 - 2 * ph)
        pi = ea / tot[:, None]
        # derivatives at the mode
        res_h = x - n * ph
        g_ub = -tau * n * q
        g_ut = res_h - tau * uh * n * q
        g_uuu = -(tau**3) * n * r
        g_uub = -(tau**2) * n * r
        g_uut = -2 * tau * n * q - tau**2 * n * r * uh
        du_b = -g_ub / guu
        du_t = -g_ut / guu
        ds_b = 0.5 * s**3 * (g_uub + g_uuu * du_b)
        ds_t = 0.5 * s**3 * (g_uut + g_uuu * du_t)
        # derivatives at the nodes
        res_j = x[:, None] - n[:, None] * pj
        gu_j = tau * res_j - uj
        gb_j = res_j
        gt_j = uj * res_j
        ct = _SQRT2 * self.t[None, :]
        dG_b = gb_j + gu_j * (du_b[:, None] + ct * ds_b[:, None])
        dG_t = gt_j + gu_j * (du_t[:, None] + ct * ds_t[:, None])
        db = np.sum(np.sum(pi * dG_b, axis=1) + ds_b / s)
        dt = np.sum(np.sum(pi * dG_t, axis=1) + ds_t / s)
        return ll, float(db), float(dt)

    def value_grad_hess(self, beta, tau):
        """Return (loglik, gradient (2,), Hessian (2, 2)) in (beta, tau), all analytic.

        The log-likelihood is the one :meth:`value_grad` computes.  Per study, with
        ``u_j = u_hat + sqrt(2) t_j s``, ``G_j = g(u_j)``, ``pi_j`` the normalised node
        weights and ``L_i = log sum_j w_j exp(t_j^2 + G_j) + log s + const``::

            d2 L_i / da db = sum_j pi_j d2G_j/dadb + Cov_pi(dG_j/da, dG_j/db)
                             + d2 log(s) / da db,
            dG_j/da     = g_a + g_u u_j,a,       u_j,a = u_hat_a + sqrt(2) t_j s_a,
            d2G_j/dadb  = g_ab + g_ua u_j,b + g_ub u_j,a + g_uu u_j,a u_j,b + g_u u_j,ab,

        (the g-derivatives at u_j).  The mode derivatives come from differentiating
        ``g_u(u_hat) = 0`` twice, ``u_hat_a = -g_ua / g_uu`` and ``u_hat_ab = -(g_uab + g_uua
        u_hat_b + g_uub u_hat_a + g_uuu u_hat_a u_hat_b) / g_uu``; with ``h = g_uu(u_hat)``,
        ``s = (-h)^(-1/2)``: ``h_a = g_uua + g_uuu u_hat_a``, ``h_ab = g_uuab + g_uuua u_hat_b +
        g_uuub u_hat_a + g_uuuu u_hat_a u_hat_b + g_uuu u_hat_ab``, ``s_a = s^3 h_a / 2``,
        ``s_ab = 3 s_a s_b / s + s^3 h_ab / 2`` and ``d2 log(s) = 2 s_a s_b / s^2 + s^2 h_ab / 2``.
        """
        x, n = self.x, self.n
        ll, uh, ph, q, guu, s, uj, pj, ea, tot = self._at_modes(beta, tau)
        nq = n * q
        nr = nq * (1 - 2 * ph)  # n dq/deta
        nr2 = nq * (1 - 6 * q)  # n d2q/deta2
        ct = _SQRT2 * self.t[None, :]
        pi = ea / tot[:, None]

        # partial derivatives of g at the mode; parameter axes (beta, tau) last
        res_h = x - n * ph
        g_ua = np.stack([-tau * nq, res_h - tau * uh * nq], axis=-1)
        g_uua = np.stack([-(tau**2) * nr, -2 * tau * nq - tau**2 * nr * uh], axis=-1)
        g_uuu = -(tau**3) * nr
        g_uuua = np.stack([-(tau**3) * nr2, -3 * tau**2 * nr - tau**3 * nr2 * uh], axis=-1)
        g_uuuu = -(tau**4) * nr2
        g_uab = _sym2(-tau * nr, -nq - tau * nr * uh, -2 * nq * uh - tau * nr * uh**2)
        g_uuab = _sym2(
            -(tau**2) * nr2,
            -2 * tau * nr - tau**2 * nr2 * uh,
            -2 * nq - 4 * tau * nr * uh - tau**2 * nr2 * uh**2,
        )
        # first and second derivatives of the mode and of the scale
        du = -g_ua / guu[:, None]
        dudu = du[:, :, None] * du[:, None, :]
        d2u = -(g_uab + _outer_sym(g_uua, du) + g_uuu[:, None, None] * dudu) / guu[:, None, None]
        ha = g_uua + g_uuu[:, None] * du
        hab = (g_uuab + _outer_sym(g_uuua, du) + g_uuuu[:, None, None] * dudu
               + g_uuu[:, None, None] * d2u)  # fmt: skip
        s3 = s**3
        ds = 0.5 * s3[:, None] * ha
        dsds = ds[:, :, None] * ds[:, None, :]
        d2s = 3 * dsds / s[:, None, None] + 0.5 * s3[:, None, None] * hab
        d2logs = 2 * dsds / (s**2)[:, None, None] + 0.5 * (s**2)[:, None, None] * hab

        # derivatives of g at the nodes (k, J, ...)
        nqj = n[:, None] * pj * (1 - pj)
        res_j = x[:, None] - n[:, None] * pj
        gu_j = tau * res_j - uj
        g_a_j = np.stack([res_j, uj * res_j], axis=-1)
        g_ab_j = _sym2(-nqj, -nqj * uj, -nqj * uj**2)
        g_ua_j = np.stack([-tau * nqj, res_j - tau * uj * nqj], axis=-1)
        g_uu_j = -(tau**2) * nqj - 1.0
        ua_j = du[:, None, :] + ct[..., None] * ds[:, None, :]
        uab_j = d2u[:, None] + ct[..., None, None] * d2s[:, None]
        dG = g_a_j + gu_j[..., None] * ua_j
        d2G = (g_ab_j + _outer_sym(g_ua_j, ua_j)
               + g_uu_j[..., None, None] * ua_j[..., :, None] * ua_j[..., None, :]
               + gu_j[..., None, None] * uab_j)  # fmt: skip
        m = np.einsum("ij,ija->ia", pi, dG)
        dc = dG - m[:, None, :]
        Hi = (np.einsum("ij,ijab->iab", pi, d2G)
              + np.einsum("ij,ija,ijb->iab", pi, dc, dc) + d2logs)  # fmt: skip
        grad = np.sum(m + ds / s[:, None], axis=0)
        H = np.sum(Hi, axis=0)
        return ll, grad, 0.5 * (H + H.T)


def _sym2(bb, bt, tt):
    """Stack three arrays into symmetric 2x2 matrices along two new last axes."""
    return np.stack([np.stack([bb, bt], axis=-1), np.stack([bt, tt], axis=-1)], axis=-2)


def _outer_sym(v, w):
    """``v_a w_b + w_a v_b`` over the last axis (a symmetric 2x2 matrix per entry)."""
    return v[..., :, None] * w[..., None, :] + w[..., :, None] * v[..., None, :]


def _fit(model, beta, tau, tol, maxiter):
    """Maximise the AGHQ log-likelihood over (beta, tau); tau enters only through |tau|."""
    ll, gb, gt = model.value_grad(beta, tau)
    converged = False
    it = 0
    while it < maxiter:
        it += 1
        H = model.value_grad_hess(beta, tau)[2]
        g = np.array([gb, gt])
        # make the Newton matrix negative definite (Levenberg-type shift)
        evals = np.linalg.eigvalsh(H)
        shift = 0.0
        if evals.max() >= -1e-8 * max(1.0, abs(evals.min())):
            shift = evals.max() + 1e-3 * max(1.0, abs(evals).max())
        step = -np.linalg.solve(H - shift * np.eye(2), g)
        lam = 1.0
        accepted = False
        for _ in range(60):
            nb, nt = beta + lam * step[0], tau + lam * step[1]
            nll, ngb, ngt = model.value_grad(nb, nt)
            if np.isfinite(nll) and nll >= ll - 1e-12 * abs(ll):
                accepted = True
                break
            lam *= 0.5
        if not accepted:
            break
        small = np.max(np.abs(lam * step)) <= tol * (1.0 + max(abs(nb), abs(nt)))
        beta, tau, ll, gb, gt = nb, nt, nll, ngb, ngt
        if small or max(abs(gb), abs(gt)) < 1e-12 * max(1.0, abs(ll)):
            converged = True
            break
    return beta, abs(tau), ll, converged, it


# ---------------------------------------------------------------------------------------------
# public function
# ---------------------------------------------------------------------------------------------


def binomial_glmm(
    events,
    totals,
    level: float = 0.95,
    n_nodes: int = 7,
    test: str = "z",
    labels=None,
    control: dict | None = None,
) -> GLMMResult:
    """Binomial-normal random-intercept logistic model for proportions (ML, AGHQ).

    Parameters
    ----------
    events, totals : array_like
        Number of events and patients per study.  Zero-event and all-event studies are used
        as they are (no continuity correction).
    level : float
        Confidence level for the CI and the prediction interval.
    n_nodes : int
        Adaptive Gauss-Hermite nodes.  7 is metafor's default (``rma.glmm(nAGQ=7)``, passed to
        ``lme4::glmer``); 1 gives the Laplace approximation (``nAGQ=1``).
    test : {"z", "t"}
        Normal or t (k - 1 df) reference distribution, as ``rma.glmm(test=)``.
    labels : sequence, optional
        Study labels.
    control : dict, optional
        ``tol`` (default 1e-10, on the parameter step) and ``maxiter`` (default 200).

    Returns
    -------
    GLMMResult
        Results on the logit scale (use :func:`jdmstats.meta.proportions` with
        ``model="glmm"`` for back-transformed proportions).

    Raises
    ------
    ValueError
        Invalid counts (naming the study), all studies with 0 events or all with all events
        (the ML estimate is infinite), bad ``n_nodes``/``test``.

    Warns
    -----
    RuntimeWarning
        When the optimiser does not converge (``converged=False`` in the result) or when k = 1
        (tau^2 is fixed at 0: heterogeneity cannot be estimated from one study).

    Notes
    -----
    The binomial-normal model (Stijnen, Hamza & Ozdemir 2010, Stat Med 29:3046-3067; Hamza et
    al. 2008, J Clin Epidemiol 61:41-51) as fitted by ``metafor::rma.glmm(measure="PLO",
    method="ML")`` (Viechtbauer 2010), which calls ``lme4::glmer(cbind(xi, mi) ~ 1 + (1|study),
    family=binomial, nAGQ=7)``.  The marginal likelihood is the same AGHQ approximation lme4
    maximises (Pinheiro & Bates 1995, J Comput Graph Stat 4:12-35): nodes centred at each
    study's conditional mode and scaled by the curvature there.  The maximisation over
    (beta, tau) is a Newton method with the analytic gradient and Hessian of that likelihood
    (first and second derivatives of the modes and of the quadrature scales by implicit
    differentiation, see ``_AGHQ.value_grad_hess``); the standard error is taken from the
    inverse of the Hessian at the estimate, as lme4's ``vcov`` does for GLMMs (lme4's Hessian
    is a finite-difference one). Being analytic, it has no truncation error and only roundoff,
    so the digits written in tables do not depend on the CPU.  When tau^2 is 0 at the optimum,
    the SE is the common-effect (binomial GLM) one.

    Heterogeneity statistics follow ``rma.glmm``: I^2 = tau^2 / (tau^2 + vt) with
    ``vt = (k-1) sum(w) / ((sum w)^2 - sum(w^2))`` computed from escalc PLO variances (with
    metafor's default continuity correction, used only for this descriptive quantity); the
    Wald-type test is the Wald test of the study-specific logits of the saturated logistic
    model (studies with 0 or all events get zero weight, their fitted logit being infinite);
    the LRT compares the saturated and common-effect logistic models.

    No Python library fits this model with AGHQ; validated against metafor 3.8-1
    ``rma.glmm(measure="PLO", nAGQ=7)`` and ``nAGQ=1`` (lme4 1.1-31, tightened optimiser
    tolerances) on dat.pritz1997, dat.debruin2009, dat.hannum2020, dat.hasselblad1998 and the
    treatment arm of dat.nielweise2007 (zero events), to relative 1e-4.

    Log-likelihood convention: ``loglik`` (and ``deviance``, ``aic``, ``bic``, ``aicc``
    derived from it) is the AGHQ-approximated marginal log-likelihood of the counts, binomial
    coefficients included.  The R printouts differ (measured with metafor 3.8-1 / lme4
    1.1-31, tests/reference/metafor_ext.json and metafor_api.json):

    * lme4 ``logLik(res$res.ML)``: equal to ours for ``nAGQ=1``; for ``nAGQ > 1`` (metafor's
      default 7) lme4 reports it relative to the saturated binomial model, i.e. ours minus
      ``sum(dbinom(xi, ni, xi/ni, log=TRUE))`` -- a data-dependent constant (dat.pritz1997:
      -32.6054 here, -15.0553 in lme4, offset -17.5502).
    * metafor ``logLik()`` / ``fitstats()`` / ``AIC()`` of ``rma.glmm``: ``ll(saturated) -
      deviance(glmer) / 2``, which is the binomial log-likelihood at the conditional modes
      of the random effects, ``sum(dbinom(xi, ni, fitted(glmer), log = TRUE))``: not a
      marginal likelihood and not ours plus a constant (dat.pritz1997: -21.7371 at nAGQ=1
      and -21.6608 at nAGQ=7 against our -32.6565 and -32.6054).  It is reproduced as
      ``loglik_conditional`` and the ``ML_metafor`` column of ``fit_stats()``.
    * metafor's ``rma.glmm(method = "EE")`` reports the marginal (= ordinary ``glm``)
      log-likelihood, so metafor's AIC difference between its ML and EE GLMMs mixes two
      conventions (dat.pritz1997: 47.47 - 79.33 = -31.86); the difference of marginal
      likelihoods -- ``aic - (-2 loglik_ee + 2)``, -10.02 there, which equals lme4's
      ``AIC(glmer, nAGQ = 1) - AIC(glm)`` -- is the one to compare models with.

    Compare AIC/BIC of jdmstats fits with each other, or with metafor's numbers through the
    ``ML_metafor`` column, never across the two.

    Examples
    --------
    >>> from jdmstats.meta.glmm import binomial_glmm
    >>> fit = binomial_glmm([0, 4, 9, 12, 20], [25, 30, 40, 35, 42])
    >>> round(fit.tau2, 3) >= 0
    True
    >>> fit.ci_low < fit.estimate < fit.ci_high
    True
    """
    from scipy import stats

    x, n, lab = _counts(events, totals, labels)
    level = _check_level(level)
    k = x.shape[0]
    if int(n_nodes) != n_nodes or n_nodes < 1 or n_nodes > 100:
        raise ValueError(f"n_nodes must be an integer between 1 and 100, got {n_nodes!r}")
    n_nodes = int(n_nodes)
    if test not in ("z", "t"):
        raise ValueError(f"unknown test {test!r}; accepted: z, t")
    if np.all(x == 0) or np.all(x == n):
        which = "no events" if np.all(x == 0) else "only events"
        raise ValueError(
            f"every study has {which}: the maximum-likelihood logit is infinite; the "
            "binomial-normal model cannot be fitted (use model='iv' with a continuity "
            "correction, or report the exact per-study intervals)"
        )
    control = dict(control or {})
    tol = float(control.pop("tol", 1e-10))
    maxiter = int(control.pop("maxiter", 200))
    if control:
        raise ValueError(f"unknown control options {sorted(control)}; accepted: tol, maxiter")

    model = _AGHQ(x, n, n_nodes)
    pbar = x.sum() / n.sum()
    beta_fe = float(np.log(pbar / (1 - pbar)))
    note = ""
    if k == 1:
        warnings.warn(
            "binomial_glmm: k = 1, tau^2 cannot be estimated and is fixed at 0; heterogeneity "
            "statistics are undefined (NaN)",
            RuntimeWarning,
            stacklevel=2,
        )
        beta, tau, converged, iters = beta_fe, 0.0, True, 0
        ll, _, _ = model.value_grad(beta, 0.0, grad=False)
        note = "k = 1: tau^2 fixed at 0, heterogeneity undefined"
    else:
        # starting values: logits with 1/2 correction, moment estimate of tau
        xc = x + 0.5 * ((x == 0) | (x == n))
        nc = n + 1.0 * ((x == 0) | (x == n))
        yi = np.log(xc / (nc - xc))
        tau0 = max(float(np.std(yi)), 0.3)
        beta, tau, ll, converged, iters = _fit(model, float(np.mean(yi)), tau0, tol, maxiter)
        # the likelihood can have an interior local maximum below its value on the boundary
        # (tau = 0, the common-effect fit): keep whichever is higher, as lme4 does by
        # optimising on the closed range tau >= 0
        ll0, _, _ = model.value_grad(beta_fe, 0.0, grad=False)
        if tau > 0 and ll0 >= ll:
            beta, tau, ll, converged = beta_fe, 0.0, ll0, True
        if not converged:
            warnings.warn(
                f"binomial_glmm: Newton iterations did not converge in {iters} iterations "
                f"(tol={tol:g}); results may be inaccurate",
                RuntimeWarning,
                stacklevel=2,
            )
    tau2 = tau**2
    boundary = tau2 < 1e-10
    if k > 1 and boundary:
        tau2, tau = 0.0, 0.0
        note = "tau^2 estimated at the boundary (0)"
    elif tau > 10:
        note = (
            f"tau^2 = {tau2:.4g} is implausibly large: the likelihood is nearly flat in tau "
            "(e.g. studies with 0 and with all events only); treat the fit with caution"
        )
        warnings.warn(f"binomial_glmm: {note}", RuntimeWarning, stacklevel=2)
    # standard error of beta
    if boundary:
        # common-effect information: sum n p (1 - p)
        info = float(np.sum(n * (np.exp(beta) / (1 + np.exp(beta)) ** 2)))
        beta = beta_fe if k == 1 else beta
        se = 1.0 / np.sqrt(info)
    else:
        H = model.value_grad_hess(beta, tau)[2]
        cov = np.linalg.inv(-H)
        with np.errstate(invalid="ignore"):
            se = float(np.sqrt(cov[0, 0]))
        if not np.isfinite(se) or cov[0, 0] <= 0:
            se = float("nan")
            warnings.warn(
                "binomial_glmm: the observed information is not positive definite at the "
                f"estimate (tau^2 = {tau**2:.4g}); the standard error, CI and PI are undefined "
                "(typically near-separation: almost all studies with 0 or with all events)",
                RuntimeWarning,
                stacklevel=2,
            )
    ll = model.value_grad(beta, tau, grad=False)[0]

    if test == "t":
        df = float(k - 1)
        crit = float(stats.t.ppf((1 + level) / 2, df)) if k > 1 else np.nan
        stat = beta / se
        pval = float(2 * stats.t.sf(abs(stat), df)) if k > 1 else np.nan
    else:
        df = None
        crit = float(stats.norm.ppf((1 + level) / 2))
        stat = beta / se
        pval = float(2 * stats.norm.sf(abs(stat)))
    ci = (beta - crit * se, beta + crit * se)
    spi = np.sqrt(se**2 + tau2)
    pi = (beta - crit * spi, beta + crit * spi)

    # heterogeneity statistics as rma.glmm
    if k > 1:
        zero = (x == 0) | (x == n)
        xc = x + 0.5 * zero
        mc = n - x + 0.5 * zero
        w = 1.0 / (1.0 / xc + 1.0 / mc)
        vt = (k - 1) * w.sum() / (w.sum() ** 2 - np.sum(w**2))
        i2 = 100 * tau2 / (vt + tau2)
        h2 = tau2 / vt + 1
        ok = ~zero
        wq = x[ok] * (n[ok] - x[ok]) / n[ok]
        lq = np.log(x[ok] / (n[ok] - x[ok]))
        qe_wald = float(np.sum(wq * (lq - np.sum(wq * lq) / np.sum(wq)) ** 2)) if ok.any() else 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            p_i = x / n
            ll_sat = np.sum(
                np.where(x > 0, x * np.log(np.where(x > 0, p_i, 1.0)), 0.0)
                + np.where(x < n, (n - x) * np.log(np.where(x < n, 1 - p_i, 1.0)), 0.0)
            )
        ll_fe = np.sum(x * np.log(pbar) + (n - x) * np.log1p(-pbar))
        qe_lrt = float(max(2 * (ll_sat - ll_fe), 0.0))
        qe_df = k - 1
        qw_p = float(stats.chi2.sf(qe_wald, qe_df))
        ql_p = float(stats.chi2.sf(qe_lrt, qe_df))
    else:
        vt = i2 = h2 = qe_wald = qe_lrt = qw_p = ql_p = np.nan
        qe_df = 0

    return GLMMResult(
        events=x,
        totals=n,
        labels=lab,
        k=k,
        n_nodes=n_nodes,
        test=test,
        level=level,
        estimate=float(beta),
        se=float(se),
        statistic=float(stat),
        pvalue=pval,
        ci_low=float(ci[0]),
        ci_high=float(ci[1]),
        pi_low=float(pi[0]),
        pi_high=float(pi[1]),
        tau2=float(tau2),
        tau=float(tau),
        i2=float(i2),
        h2=float(h2),
        vt=float(vt),
        qe_wald=qe_wald,
        qe_wald_pvalue=qw_p,
        qe_lrt=qe_lrt,
        qe_lrt_pvalue=ql_p,
        qe_df=int(qe_df),
        df=df,
        loglik=float(ll),
        converged=bool(converged),
        iterations=int(iters),
        note=note,
    )
