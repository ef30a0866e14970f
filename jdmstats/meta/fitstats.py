"""Fit statistics and likelihood-ratio tests of nested models (metafor ``fitstats``,
``logLik``, ``AIC``, ``BIC`` and ``anova(full, reduced)``).

Every fitted model of :func:`jdmstats.meta.random_effects` and :func:`jdmstats.meta.regression`
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

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from jdmstats.results import TableResult

__all__ = ["fit_statistics", "FitStatistics", "FitStatsMixin"]

_ROWS = ("ll", "dev", "AIC", "BIC", "AICc")


def _parts(fit):
    """``yi, vi, X, beta, tau2, method`` of a fitted model (intercept-only or regression)."""
    from jdmstats.meta.diagnostics import _design, _model_parts

    yi, vi, method, *_ = _model_parts(fit)
    X = _design(fit)
    beta = (np.asarray(fit.beta, dtype=float).ravel() if getattr(fit, "X", None) is not None
            else np.array([float(fit.estimate)]))  # fmt: skip
    tau2 = 0.0 if method == "EE" else float(fit.tau2)
    return yi, vi, X, beta, tau2, method


def _parms(p: int, method: str) -> int:
    return p + (0 if method == "EE" else 1)


@dataclass(frozen=True, repr=False)
class FitStatistics(TableResult):
    """:func:`fit_statistics`: rows ``ll``, ``dev``, ``AIC``, ``BIC``, ``AICc``, columns ``ML``
    and ``REML`` (reads like its ``table``)."""

    table: pd.DataFrame
    _title: str = field(default="Fit statistics (metafor fitstats)", repr=False)


def fit_statistics(fit) -> FitStatistics:
    """metafor's ``fit.stats``: log-likelihood, deviance, AIC, BIC and AICc under ML and REML.

    Parameters
    ----------
    fit : RMAResult or MetaRegResult

    Returns
    -------
    FitStatistics
        Reads like a DataFrame (its ``table``): rows ``ll``, ``dev``, ``AIC``, ``BIC``, ``AICc``; columns ``ML`` and ``REML``.  NaN when
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
    return FitStatistics(table)


class InformationCriteriaMixin:
    """``deviance``, ``aic``, ``bic``, ``aicc`` read from the ``_fit_stats_column`` column of
    ``self.fit_stats()`` (rows ``ll, dev, AIC, BIC, AICc``)."""

    _fit_stats_column = "ML"

    def _fit_stat(self, row: str) -> float:
        return float(self.fit_stats().loc[row, self._fit_stats_column])

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


class FitStatsTableMixin(InformationCriteriaMixin):
    """:class:`InformationCriteriaMixin` with ``loglik`` from the same table."""

    @property
    def loglik(self) -> float:
        """Log-likelihood (restricted for REML)."""
        return self._fit_stat("ll")


class FitStatsMixin(FitStatsTableMixin):
    """``loglik``, ``deviance``, ``aic``, ``bic``, ``aicc`` and ``fit_stats()`` of a model
    (REML column for a REML fit, ML column otherwise, as metafor's ``logLik`` and ``AIC``)."""

    def fit_stats(self) -> pd.DataFrame:
        """Log-likelihood, deviance, AIC, BIC and AICc under ML and REML (:func:`fit_statistics`)."""
        return fit_statistics(self)

    @property
    def _fit_stats_column(self) -> str:
        return "REML" if str(self.method).upper() == "REML" else "ML"


def _from_fit(name: str):
    return property(lambda self: float(getattr(self.fit, name)),
                    doc=f"``{name}`` of the model ``fit``.")  # fmt: skip


class DelegatedFitStatsMixin:
    """``loglik``, ``deviance``, ``aic``, ``bic``, ``aicc`` and ``fit_stats()`` of the model
    held in ``self.fit`` (results that wrap a fit: proportions, cluster-robust inference)."""

    loglik = _from_fit("loglik")
    deviance = _from_fit("deviance")
    aic = _from_fit("aic")
    bic = _from_fit("bic")
    aicc = _from_fit("aicc")

    def fit_stats(self) -> pd.DataFrame:
        """The fit statistics of the model ``fit`` (its ``fit_stats()``)."""
        return self.fit.fit_stats()
