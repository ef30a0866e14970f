"""Fit statistics and likelihood-ratio tests of nested models (metafor ``fitstats``,
``logLik``, ``AIC``, ``BIC`` and ``anova(full, reduced)``).

Every fitted model of :func:`jdmstats.meta.random_effects` and :func:`jdmstats.meta.metareg`
has ``.loglik``, ``.deviance``, ``.aic``, ``.bic``, ``.aicc`` and ``.fit_stats()`` (from
:class:`FitStatsMixin`); :func:`anova` compares two nested models.  Definitions are metafor's
(``rma.uni``): with ``W = diag(1 / (v + tau2))``, ``b`` the coefficients, ``p`` their number,
``RSS = sum W (y - X b)^2`` and ``parms = p + 1`` (``p`` for an equal-effects model):

* ``ll_ML = -k/2 log(2 pi) - 1/2 sum log(v + tau2) - RSS / 2``;
* ``ll_REML = -(k-p)/2 log(2 pi) + 1/2 log|X'X| - 1/2 sum log(v + tau2) - 1/2 log|X'WX| - RSS/2``;
* ``dev_ML = -2 (ll_ML - sum log N(y_i; y_i, v_i))`` (0 when ``k = p``), ``dev_REML = -2 ll_REML``;
* ``AIC = -2 ll + 2 parms``, ``BIC = -2 ll + parms log(n)``,
  ``AICc = -2 ll + 2 parms max(n, parms+2) / (max(n, parms+2) - parms - 1)``, with ``n = k``
  (ML) or ``k - p`` (REML).

The model's own statistics use the REML column for a REML fit and the ML column otherwise
(including DL, PM and the other moment estimators, whose tau^2 is plugged into the ML
likelihood, as in metafor).  Written here because statsmodels has no random-effects
meta-analysis likelihood; validated against metafor 3.8-1 in ``tests/test_meta_fitstats.py``
(reference script ``tests/reference/metafor_fitstats.R``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from jdmstats.meta._results import ResultMixin

__all__ = ["fit_statistics", "anova", "LRTResult", "FitStatsMixin"]

_ROWS = ("ll", "dev", "AIC", "BIC", "AICc")


def _parts(fit):
    """``yi, vi, X, beta, tau2, method`` of a fitted model (intercept-only or regression)."""
    from jdmstats.meta.influence import _design, _model_parts

    yi, vi, method, *_ = _model_parts(fit)
    X = _design(fit)
    beta = (np.asarray(fit.beta, dtype=float).ravel() if getattr(fit, "X", None) is not None
            else np.array([float(fit.estimate)]))  # fmt: skip
    tau2 = 0.0 if method == "EE" else float(fit.tau2)
    return yi, vi, X, beta, tau2, method


def _parms(p: int, method: str) -> int:
    return p + (0 if method == "EE" else 1)


def fit_statistics(fit) -> pd.DataFrame:
    """metafor's ``fit.stats``: log-likelihood, deviance, AIC, BIC and AICc under ML and REML.

    Parameters
    ----------
    fit : RMAResult or MetaRegResult

    Returns
    -------
    DataFrame
        Rows ``ll``, ``dev``, ``AIC``, ``BIC``, ``AICc``; columns ``ML`` and ``REML``.  NaN when
        tau^2 is undefined (k = 1).

    Examples
    --------
    >>> from jdmstats.meta import random_effects
    >>> from jdmstats.meta.fitstats import fit_statistics
    >>> fs = fit_statistics(random_effects([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.01, 0.04]))
    >>> list(fs.index), list(fs.columns)
    (['ll', 'dev', 'AIC', 'BIC', 'AICc'], ['ML', 'REML'])
    """
    yi, vi, X, beta, tau2, method = _parts(fit)
    k, p = X.shape
    parms = _parms(p, method)
    w = 1.0 / (vi + tau2)
    rss = float(np.sum(w * (yi - X @ beta) ** 2))
    slog = float(np.sum(np.log(vi + tau2)))
    ll_ml = -0.5 * k * np.log(2 * np.pi) - 0.5 * slog - 0.5 * rss
    logdet_xx = np.linalg.slogdet(X.T @ X)[1]
    logdet_xwx = np.linalg.slogdet(X.T @ (w[:, None] * X))[1]
    ll_reml = (-0.5 * (k - p) * np.log(2 * np.pi) + 0.5 * logdet_xx - 0.5 * slog
               - 0.5 * logdet_xwx - 0.5 * rss)  # fmt: skip
    if k > p:
        sat = float(np.sum(stats.norm.logpdf(yi, loc=yi, scale=np.sqrt(vi)))) if np.all(
            vi > 0) else 0.0  # fmt: skip
        dev_ml = -2 * (ll_ml - sat)
    else:
        dev_ml = 0.0

    def ics(ll, n):
        m = max(n, parms + 2)
        return (-2 * ll + 2 * parms, -2 * ll + parms * np.log(n),
                -2 * ll + 2 * parms * m / (m - parms - 1))  # fmt: skip

    ml = [ll_ml, dev_ml, *ics(ll_ml, k)]
    reml = [ll_reml, -2 * ll_reml, *ics(ll_reml, k - p)]
    table = pd.DataFrame({"ML": ml, "REML": reml}, index=list(_ROWS), dtype=float)
    if not np.isfinite(tau2):
        table[:] = np.nan
    return table


class FitStatsMixin:
    """``loglik``, ``deviance``, ``aic``, ``bic``, ``aicc`` and ``fit_stats()`` of a model
    (REML column for a REML fit, ML column otherwise, as metafor's ``logLik`` and ``AIC``)."""

    def fit_stats(self) -> pd.DataFrame:
        """Log-likelihood, deviance, AIC, BIC and AICc under ML and REML (:func:`fit_statistics`)."""
        return fit_statistics(self)

    def _fit_stat(self, row: str) -> float:
        col = "REML" if str(self.method).upper() == "REML" else "ML"
        return float(fit_statistics(self).loc[row, col])

    @property
    def loglik(self) -> float:
        """Log-likelihood (restricted for REML)."""
        return self._fit_stat("ll")

    @property
    def deviance(self) -> float:
        """Deviance (ML: against the saturated model; REML: ``-2 loglik``)."""
        return self._fit_stat("dev")

    @property
    def aic(self) -> float:
        """Akaike's information criterion."""
        return self._fit_stat("AIC")

    @property
    def bic(self) -> float:
        """Bayesian information criterion."""
        return self._fit_stat("BIC")

    @property
    def aicc(self) -> float:
        """AIC with the small-sample correction."""
        return self._fit_stat("AICc")


@dataclass(frozen=True)
class LRTResult(ResultMixin):
    """Likelihood-ratio test of two nested models (metafor ``anova(full, reduced)``).

    Attributes
    ----------
    lrt, df, pvalue : float, int, float
        ``deviance(reduced) - deviance(full)`` (floored at 0), the difference in the number
        of parameters, and the chi-square p-value.
    fit_full, fit_reduced : Series
        ``ll``, ``dev``, ``AIC``, ``BIC``, ``AICc`` of each model (the column of its method).
    parms_full, parms_reduced : int
    qe_full, qe_reduced, tau2_full, tau2_reduced : float
    r2 : float
        Percentage of heterogeneity accounted for: ``100 max(0, 1 - tau2_full/tau2_reduced)``
        (equal-effects models: the same with the residual variances ``QE / (k - p)``).
    method : str
        Estimation method of the compared fits (``"ML"`` after ``refit=True``).
    """

    lrt: float
    df: int
    pvalue: float
    fit_full: pd.Series
    fit_reduced: pd.Series
    parms_full: int
    parms_reduced: int
    qe_full: float
    qe_reduced: float
    tau2_full: float
    tau2_reduced: float
    r2: float
    method: str
    _title = "Likelihood-ratio test of nested models"

    def summary(self) -> pd.DataFrame:
        """Two rows (full, reduced): parameters, fit statistics, LRT, p-value, QE, tau^2, R^2."""
        rows = [{"df": parms, **{k: float(fs[k]) for k in _ROWS}, "lrt": np.nan,
                 "pvalue": np.nan, "qe": qe, "tau2": tau2, "r2": np.nan}
                for fs, parms, qe, tau2 in (
                    (self.fit_full, self.parms_full, self.qe_full, self.tau2_full),
                    (self.fit_reduced, self.parms_reduced, self.qe_reduced, self.tau2_reduced))]
        rows[1].update(lrt=self.lrt, pvalue=self.pvalue, r2=self.r2)
        return pd.DataFrame(rows, index=pd.Index(["full", "reduced"]))


def _refit_ml(fit):
    """The same model refitted by maximum likelihood."""
    from jdmstats.meta.metareg import metareg
    from jdmstats.meta.model import random_effects

    kw = {"method": "ML", "test": fit.test, "level": fit.level, "labels": fit.labels}
    if getattr(fit, "X", None) is None:
        return random_effects(fit.yi, fit.vi, **kw)
    X = np.asarray(fit.X, dtype=float)
    mods = X[:, 1:] if fit.intercept else X
    return metareg(fit.yi, fit.vi, mods, intercept=fit.intercept, **kw)


def anova(full, reduced, refit: bool = False) -> LRTResult:
    """Likelihood-ratio test of two nested models fitted to the same data.

    Parameters
    ----------
    full, reduced : RMAResult or MetaRegResult
        Models of :func:`jdmstats.meta.random_effects` / :func:`jdmstats.meta.metareg` on the
        same ``yi`` and ``vi``; the one with more parameters is taken as the full model.
    refit : bool
        REML likelihoods are comparable only between models with the same fixed effects;
        with ``refit=True`` two REML models with different moderators are refitted by ML
        first (metafor ``anova(..., refit = TRUE)``); otherwise a warning says so.

    Returns
    -------
    LRTResult

    Raises
    ------
    ValueError
        Different data, the same number of parameters, an equal-effects full model against a
        random-effects reduced model, or ML against REML.

    Notes
    -----
    As ``metafor::anova.rma(full, reduced)``: LRT = ``dev(reduced) - dev(full)`` in the column
    of the models' method, on ``parms_full - parms_reduced`` df.  A warning is issued when the
    models were not fitted by ML, REML or EE (moment estimators have no likelihood basis).

    Examples
    --------
    >>> import pandas as pd
    >>> from jdmstats.meta import metareg, random_effects
    >>> from jdmstats.meta.fitstats import anova
    >>> yi = [-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37, -0.34, 0.45]
    >>> vi = [0.33, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07, 0.01, 0.53]
    >>> lat = [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33]
    >>> res = anova(metareg(yi, vi, pd.DataFrame({"lat": lat}), method="ML"),
    ...             random_effects(yi, vi, method="ML"))
    >>> res.df, res.method
    (1, 'ML')
    """
    f_parts, r_parts = _parts(full), _parts(reduced)
    if not (np.array_equal(f_parts[0], r_parts[0]) and np.array_equal(f_parts[1], r_parts[1])):
        raise ValueError("the two models were not fitted to the same yi and vi")
    pf, pr = _parms(f_parts[2].shape[1], f_parts[5]), _parms(r_parts[2].shape[1], r_parts[5])
    if pf == pr:
        raise ValueError(f"both models have {pf} parameters: a likelihood-ratio test needs "
                         "nested models with different numbers of parameters")  # fmt: skip
    if pf < pr:
        full, reduced, f_parts, r_parts, pf, pr = reduced, full, r_parts, f_parts, pr, pf
    mf, mr = f_parts[5], r_parts[5]
    if mf == "EE" and mr != "EE":
        raise ValueError("the full model is an equal-effects model and the reduced model a "
                         "random-effects model")  # fmt: skip
    if {mf, mr} == {"ML", "REML"}:
        raise ValueError(f"mismatch of ML and REML estimation ({mf} full, {mr} reduced)")
    if not {mf, mr} <= {"EE", "ML", "REML"}:
        warnings.warn("likelihood-ratio tests should be based on ML or REML fits "
                      f"(full: {mf}, reduced: {mr})", UserWarning, stacklevel=2)  # fmt: skip
    same_x = f_parts[2].shape == r_parts[2].shape and np.array_equal(f_parts[2], r_parts[2])
    if mf == "REML" and not same_x:
        if refit:
            full, reduced = _refit_ml(full), _refit_ml(reduced)
            f_parts, r_parts, mf = _parts(full), _parts(reduced), "ML"
        else:
            warnings.warn("REML comparisons are not meaningful for models with different "
                          "fixed effects (use refit=True to refit both by ML)", UserWarning,
                          stacklevel=2)  # fmt: skip
    col = "REML" if mf == "REML" else "ML"
    fs_f, fs_r = fit_statistics(full)[col], fit_statistics(reduced)[col]
    lrt = max(0.0, float(fs_r["dev"] - fs_f["dev"]))
    df = pf - pr
    qe_f, qe_r = float(_qe(full)), float(_qe(reduced))
    tau2_f, tau2_r = f_parts[4], r_parts[4]
    if mf == "EE":
        kf, kr = f_parts[2].shape, r_parts[2].shape
        s2_f, s2_r = qe_f / (kf[0] - kf[1]), qe_r / (kr[0] - kr[1])
        r2 = 100 * max(0.0, (s2_r - s2_f) / s2_r) if s2_r > 0 else 0.0
    else:
        r2 = 0.0 if tau2_r == 0 else 100 * max(0.0, (tau2_r - tau2_f) / tau2_r)
    return LRTResult(lrt=lrt, df=int(df), pvalue=float(stats.chi2.sf(lrt, df)),
                     fit_full=fs_f, fit_reduced=fs_r, parms_full=int(pf),
                     parms_reduced=int(pr), qe_full=qe_f, qe_reduced=qe_r,
                     tau2_full=float(tau2_f), tau2_reduced=float(tau2_r), r2=float(r2),
                     method=mf)  # fmt: skip


def _qe(fit) -> float:
    return float(getattr(fit, "qe", getattr(fit, "q", np.nan)))
