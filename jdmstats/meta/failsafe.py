"""Fail-safe N (``metafor::fsn``) and the test of excess significance (``metafor::tes``).

Validated against metafor 3.8-1 in ``tests/test_meta_ext.py``
(``tests/reference/metafor_ext.R``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import comb

import numpy as np

from jdmstats.results import ResultMixin

__all__ = ["fail_safe_n", "FailSafeNResult", "excess_significance", "ExcessSignificanceResult"]

FSN_TYPES = ("Rosenthal", "Orwin", "Rosenberg")


def _yi_vi(x, vi, sei):
    if vi is None and sei is None and hasattr(x, "yi") and hasattr(x, "vi"):
        return np.asarray(x.yi, float), np.asarray(x.vi, float)
    yi = np.asarray(x, float).ravel()
    if vi is None:
        if sei is None:
            raise ValueError("Give 'vi' or 'sei' (or a fitted model as the first argument).")
        vi = np.asarray(sei, float).ravel() ** 2
    vi = np.asarray(vi, float).ravel()
    if yi.shape != vi.shape:
        raise ValueError(f"yi has {yi.size} values but vi has {vi.size}.")
    if yi.size == 0:
        raise ValueError("No studies: k = 0.")
    bad = ~(np.isfinite(yi) & np.isfinite(vi) & (vi > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"yi must be finite and vi finite and > 0: study index {i} has yi = {yi[i]!r}, "
            f"vi = {vi[i]!r}."
        )
    return yi, vi


def _round_fsn(x: float) -> float:
    """metafor: round up unless within sqrt(eps) of an integer."""
    if np.isinf(x):
        return x
    return float(np.ceil(x)) if abs(x - round(x)) >= np.finfo(float).eps ** 0.5 else float(round(x))


_R_TOL = np.finfo(float).eps ** 0.25  # uniroot's default tol


def _zeroin(f, ax, bx, tol=_R_TOL, maxit=1000):
    """R's ``uniroot`` (``R_zeroin2``, Brent 1973) step for step.

    Used where the objective is a step function (Rosenthal/Fisher fail-safe N: R's
    ``rep(0.5, n)`` truncates ``n``), so that the root found is the one metafor finds.
    """
    eps = np.finfo(float).eps
    a, b = ax, bx
    fa, fb = f(a), f(b)
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(maxit + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * eps * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


@dataclass(frozen=True)
class FailSafeNResult(ResultMixin):
    """Result of :func:`fail_safe_n` (fields as metafor's ``fsn`` object).

    Attributes
    ----------
    type : str
        ``"Rosenthal"``, ``"Orwin"`` or ``"Rosenberg"``.
    fsnum : float
        Fail-safe N (rounded up as metafor; ``inf`` for Orwin with target 0).
    alpha : float
    pvalue : float
        Rosenthal: p-value of the combined test (one-sided Stouffer, or Fisher); Rosenberg:
        two-sided p-value of the equal-effects estimate; NaN for Orwin.
    mean_effect : float
        Orwin and Rosenberg: the (weighted) mean effect; NaN for Rosenthal.
    target : float
        Orwin: the target mean effect; NaN otherwise.
    test : str
        Rosenthal: ``"Stouffer"`` or ``"Fisher"``.
    """

    type: str
    fsnum: float
    alpha: float
    pvalue: float
    mean_effect: float
    target: float
    test: str
    k: int

    _title = "Fail-safe N"

    def summary(self):
        """One-row DataFrame."""
        return self._one_row(("k", "fsnum", "alpha", "pvalue", "mean_effect", "target"),
                             f"{self.type}" + (f" ({self.test})" if self.type == "Rosenthal"
                                               else ""))  # fmt: skip

    def __repr__(self) -> str:
        out = f"Fail-safe N calculation using the {self.type} approach"
        if self.type == "Rosenthal":
            out += f" ({self.test})\n\nObserved significance level: {self.pvalue:.4g}"
            out += f"\nTarget significance level:   {self.alpha:g}"
        elif self.type == "Orwin":
            out += f"\n\nAverage effect size: {self.mean_effect:.4f}\nTarget effect size:  "
            out += f"{self.target:.4f}"
        else:
            out += f"\n\nAverage effect size:         {self.mean_effect:.4f}"
            out += f"\nObserved significance level: {self.pvalue:.4g}"
            out += f"\nTarget significance level:   {self.alpha:g}"
        return out + f"\n\nFail-safe N: {self.fsnum:g}"


def fail_safe_n(
    x, vi=None, sei=None, type: str = "Rosenthal", alpha: float = 0.05, target=None,
    weighted: bool = False, test: str = "Stouffer",
) -> FailSafeNResult:  # fmt: skip
    """Fail-safe N: how many null studies would overturn the result (metafor ``fsn``).

    Parameters
    ----------
    x : array_like or fitted model
        Effect sizes ``yi`` (or a fit from :func:`~jdmstats.meta.random_effects`, whose
        ``yi``/``vi`` are used).
    vi, sei : array_like, optional
        Sampling variances or standard errors.
    type : {"Rosenthal", "Orwin", "Rosenberg"}
        Rosenthal (1979): number of studies with z = 0 bringing the combined one-sided
        p-value above ``alpha`` (``test="Stouffer"``: sum of z / sqrt(k); ``"Fisher"``:
        Fisher's combination with p = 0.5 for the added studies, where metafor's objective
        counts only ``floor(n)`` added p-values but ``2 (k + n)`` df -- a step function, solved
        here with a port of R's ``uniroot`` so that the same N is found).  Orwin (1983): number of
        studies with effect 0 bringing the (weighted, if ``weighted``) mean effect down to
        ``target`` (default half the mean).  Rosenberg (2005): number of studies with effect 0
        and average weight making the equal-effects estimate non-significant (two-sided).
    alpha : float
        Target significance level.
    target : float, optional
        Orwin's target effect (sign matched to the mean effect, as metafor).
    weighted : bool
        Orwin: inverse-variance weighted mean (needs ``vi``).
    test : {"Stouffer", "Fisher"}
        Rosenthal's combination test (metafor's hidden ``test`` argument).

    Returns
    -------
    FailSafeNResult

    Notes
    -----
    Formulas of ``metafor::fsn`` 3.8-1, against which this is validated (dat.bcg log risk
    ratios, dat.hackshaw1998, dat.raudenbush1985: every type, both tests, weighted Orwin,
    given targets; relative 1e-6).  metafor's ``type="REM"`` (Bayesian-free simulation based
    on a random-effects model) is not implemented: its answer depends on 10^5 random draws.
    The fail-safe N is widely criticised (Becker 2005) and shown here for completeness.

    Examples
    --------
    >>> from jdmstats import meta
    >>> res = meta.fail_safe_n([0.5, 0.3, 0.8, 0.2], [0.04, 0.02, 0.1, 0.03])
    >>> res.type, res.fsnum >= 0
    ('Rosenthal', True)
    """
    from scipy import stats

    if type not in FSN_TYPES:
        raise ValueError(f"Unknown type {type!r}; accepted: {', '.join(FSN_TYPES)}.")
    if test not in ("Stouffer", "Fisher"):
        raise ValueError(f"Unknown test {test!r}; accepted: Stouffer, Fisher.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}.")
    if type == "Orwin" and not weighted and vi is None and sei is None and not hasattr(x, "vi"):
        yi = np.asarray(x, float).ravel()
        vi_ = np.ones_like(yi)
    else:
        yi, vi_ = _yi_vi(x, vi, sei)
    k = yi.size
    nan = np.nan
    pval = meanes = tgt = nan
    if type == "Rosenthal":
        zi = yi / np.sqrt(vi_)
        if test == "Stouffer":
            z_avg = abs(zi.sum() / np.sqrt(k))
            pval = float(stats.norm.sf(z_avg))
            fsnum = max(0.0, k * (z_avg / stats.norm.isf(alpha)) ** 2 - k)
        else:
            pi = stats.norm.sf(np.abs(zi))
            base = -2 * np.sum(np.log(pi))

            def fisher(n):
                # metafor: -2 sum(log(c(pi, rep(0.5, n)))) on 2 (k + n) df; rep() truncates n
                return stats.chi2.sf(base + 2 * np.floor(n) * np.log(2), 2 * (k + n)) - alpha

            pval = float(fisher(0.0) + alpha)
            if pval >= alpha:
                fsnum = 0.0
            else:
                hi = 1000.0
                while fisher(hi) < 0:
                    hi *= 2
                # a step function: R's uniroot algorithm, so that the same crossing is found
                fsnum = _zeroin(fisher, 0.0, hi)
    elif type == "Orwin":
        meanes = float(np.sum(yi / vi_) / np.sum(1 / vi_)) if weighted else float(np.mean(yi))
        tgt = meanes / 2 if target is None else float(target)
        if tgt == 0:
            fsnum = np.inf
        else:
            if np.sign(tgt) != np.sign(meanes):
                tgt = -tgt
            fsnum = max(0.0, k * (meanes - tgt) / tgt)
    else:  # Rosenberg
        wi = 1 / vi_
        meanes = float(np.sum(wi * yi) / np.sum(wi))
        zval = meanes / np.sqrt(1 / np.sum(wi))
        wp = (np.sum(wi * yi) / stats.norm.isf(alpha / 2)) ** 2 - np.sum(wi)
        pval = float(2 * stats.norm.sf(abs(zval)))
        fsnum = max(0.0, k * wp / np.sum(wi))
    return FailSafeNResult(
        type=type, fsnum=_round_fsn(float(fsnum)), alpha=float(alpha), pvalue=pval,
        mean_effect=meanes, target=tgt, test=test, k=k,
    )  # fmt: skip


# --------------------------------------------------------------------------- tes
@dataclass(frozen=True)
class ExcessSignificanceResult(ResultMixin):
    """Result of :func:`excess_significance` (metafor ``tes``).

    Attributes
    ----------
    observed, expected : float
        Number of significant studies O and its expectation E = sum of the studies' power.
    k : int
    ratio : float
        O / E.
    power : ndarray
        Power of each study to detect ``theta`` at level ``alpha``.
    significant : ndarray of bool
    test : str
        ``"exact"`` (Poisson-binomial distribution of O), ``"chi2"`` or ``"binom"``.
    statistic : float
        The chi^2 statistic (NaN for the other tests).
    pvalue : float
    theta : ndarray
        The assumed true effect per study.
    """

    observed: int
    expected: float
    k: int
    ratio: float
    power: np.ndarray = field(repr=False)
    significant: np.ndarray = field(repr=False)
    test: str
    statistic: float
    pvalue: float
    theta: np.ndarray = field(repr=False)
    alternative: str
    tes_alternative: str
    alpha: float

    _title = "Test of excess significance"

    def summary(self):
        """One-row DataFrame."""
        return self._one_row(("k", "observed", "expected", "ratio", "statistic", "pvalue"),
                             f"tes ({self.test}, {self.tes_alternative})")  # fmt: skip

    def __repr__(self) -> str:
        stat = "" if not np.isfinite(self.statistic) else f"X^2 = {self.statistic:.4f}, "
        return (
            "Test of Excess Significance\n\n"
            f"Observed number of significant findings: {self.observed} (out of {self.k})\n"
            f"Expected number of significant findings: {self.expected:.4f}\n"
            f"Observed number / Expected number:       {self.ratio:.4f}\n\n"
            f"Test of excess significance ({self.test}): {stat}p = {self.pvalue:.4g}"
        )


def _power(theta, sei, h0, crit, alternative, tau2):
    """Power per study; with tau2 > 0 averaged over N(theta, tau2) truncated at +-5 tau
    (metafor integrates over that range), by 200-node Gauss-Legendre quadrature."""
    from scipy import stats

    def pw(mu, s):
        d = (mu - h0) / s
        if alternative == "two.sided":
            return stats.norm.sf(crit - d) + stats.norm.cdf(-crit - d)
        if alternative == "greater":
            return stats.norm.sf(crit - d)
        return stats.norm.cdf(crit - d)

    if tau2 is None or tau2 <= 0:
        return pw(theta, sei)
    tau = np.sqrt(tau2)
    u, wq = np.polynomial.legendre.leggauss(200)
    z = 5 * u  # standard units on [-5, 5]
    phi = np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)
    vals = pw(theta[:, None] + tau * z[None, :], sei[:, None])  # (k, 200)
    return (vals * (5 * wq * phi)[None, :]).sum(1)


def _poisson_binomial(p):
    """P(O = j), j = 0..k, for independent Bernoulli(p_i) (dynamic programming)."""
    dist = np.zeros(p.size + 1)
    dist[0] = 1.0
    for i, pi in enumerate(p):  # O(k^2) convolution, k small in practice
        dist[1 : i + 2] = dist[1 : i + 2] * (1 - pi) + dist[: i + 1] * pi
        dist[0] *= 1 - pi
    return dist


def excess_significance(
    x, vi=None, sei=None, H0: float = 0.0, alternative: str = "two.sided",
    alpha: float = 0.05, theta=None, tau2=None, test: str | None = None,
    tes_alternative: str = "greater",
) -> ExcessSignificanceResult:  # fmt: skip
    """Test of excess significance (Ioannidis & Trikalinos 2007), as metafor ``tes``.

    Parameters
    ----------
    x : array_like or fitted model
        Effect sizes, or a fit from :func:`~jdmstats.meta.random_effects` /
        :func:`~jdmstats.meta.regression` (then ``theta`` is the pooled estimate or the fitted
        values and ``tau2`` the fit's tau^2, as metafor's ``tes(rma_fit)``).
    vi, sei : array_like, optional
        Sampling variances or standard errors.
    H0 : float
        Null value of the per-study tests.
    alternative : {"two.sided", "greater", "less"}
        Sidedness of the per-study tests at level ``alpha``.
    theta : float or array_like, optional
        Assumed true effect(s); default the inverse-variance (``1/(vi + tau2)``) mean.
    tau2 : float, optional
        Heterogeneity: the power is averaged over N(theta, tau2).
    test : {"exact", "chi2", "binom"}, optional
        Default as metafor: exact when the number of combinations is at most 10^6, else chi2.
    tes_alternative : {"greater", "two.sided", "less"}
        Alternative of the excess-significance test (default: more significant results than
        expected).

    Returns
    -------
    ExcessSignificanceResult

    Notes
    -----
    O is the number of studies significant at ``alpha``, E the sum of their power at
    ``theta``.  The exact test uses the Poisson-binomial distribution of O (metafor sums
    over all combinations; the probabilities are identical), chi2 is R's ``prop.test(O, k,
    E/k, correct=FALSE)`` and binom ``binom.test(O, k, E/k)``.  Validated against metafor 3.8-1
    ``tes`` (dat.bcg, dat.hackshaw1998; tau2 = 0 and > 0; the three tests and alternatives;
    relative 1e-6, metafor run with ``rel.tol = 1e-12`` for its power integral).  metafor's
    ``theta.lim`` (the theta at which the test has p = tes.alpha) is not computed.

    Examples
    --------
    >>> from jdmstats import meta
    >>> res = meta.excess_significance([0.5, 0.3, 0.8, 0.2], [0.04, 0.02, 0.1, 0.03])
    >>> res.observed, res.k
    (3, 4)
    """
    from scipy import stats

    for name, val in (("alternative", alternative), ("tes_alternative", tes_alternative)):
        if val not in ("two.sided", "greater", "less"):
            raise ValueError(f"Unknown {name} {val!r}; accepted: two.sided, greater, less.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}.")
    if vi is None and sei is None and hasattr(x, "yi"):
        fit = x
        yi, vi_ = np.asarray(fit.yi, float), np.asarray(fit.vi, float)
        if theta is None:
            if hasattr(fit, "predict") and hasattr(fit, "X"):
                theta = np.asarray(fit.X @ np.asarray(fit.beta), float)
            else:
                theta = float(fit.estimate)
        if tau2 is None:
            tau2 = float(fit.tau2)
    else:
        yi, vi_ = _yi_vi(x, vi, sei)
    k = yi.size
    sei_ = np.sqrt(vi_)
    zi = (yi - H0) / sei_
    if alternative == "two.sided":
        crit = stats.norm.isf(alpha / 2)
    elif alternative == "greater":
        crit = stats.norm.isf(alpha)
    else:
        crit = stats.norm.ppf(alpha)
    wi = 1 / vi_ if tau2 is None or tau2 <= 0 else 1 / (vi_ + tau2)
    if theta is None:
        theta = np.full(k, np.sum(wi * yi) / np.sum(wi))
    theta = np.broadcast_to(np.asarray(theta, float), (k,)).copy()
    pow_ = _power(theta, sei_, H0, crit, alternative, tau2)
    if alternative == "two.sided":
        sig = np.abs(zi) >= crit
    elif alternative == "greater":
        sig = zi >= crit
    else:
        sig = zi <= crit
    n_exp = float(pow_.sum())
    n_obs = int(sig.sum())
    js = {
        "two.sided": range(0, k + 1),
        "greater": range(n_obs, k + 1),
        "less": range(0, n_obs + 1),
    }[tes_alternative]
    if test is None:
        test = "exact" if sum(comb(k, j) for j in js) <= 10**6 else "chi2"
    if test not in ("exact", "chi2", "binom"):
        raise ValueError(f"Unknown test {test!r}; accepted: exact, chi2, binom.")
    x2 = np.nan
    p0 = n_exp / k
    if test == "chi2":
        x2 = float((n_obs - k * p0) ** 2 / (k * p0 * (1 - p0)))
        if tes_alternative == "two.sided":
            pval = float(stats.chi2.sf(x2, 1))
        else:
            z = np.sign(n_obs / k - p0) * np.sqrt(x2)
            pval = float(stats.norm.sf(z) if tes_alternative == "greater" else stats.norm.cdf(z))
    elif test == "binom":
        pval = float(stats.binomtest(n_obs, k, p0, alternative=tes_alternative).pvalue)
    else:
        dist = _poisson_binomial(pow_)
        if tes_alternative == "two.sided":
            pval = float(np.sum(dist[dist <= dist[n_obs] + np.finfo(float).eps ** 0.5]))
        elif tes_alternative == "greater":
            pval = float(dist[n_obs:].sum())
        else:
            pval = float(dist[: n_obs + 1].sum())
        pval = min(pval, 1.0)
    return ExcessSignificanceResult(
        observed=n_obs, expected=n_exp, k=k, ratio=n_obs / n_exp if n_exp > 0 else np.nan,
        power=pow_,
        significant=sig, test=test, statistic=x2, pvalue=pval, theta=theta,
        alternative=alternative, tes_alternative=tes_alternative, alpha=float(alpha),
    )  # fmt: skip
