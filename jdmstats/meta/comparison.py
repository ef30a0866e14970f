"""Comparing nested models: likelihood-ratio tests as metafor's ``anova.rma``.

Kept apart from :mod:`jdmstats.meta.fitstats` (which the model classes use) because it refits
models, so it imports the model modules; this keeps the engine free of import cycles.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from jdmstats.meta.fitstats import _ROWS, _parms, _parts, fit_statistics
from jdmstats.results import ResultMixin

__all__ = ["anova", "LRTResult"]


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
    from jdmstats.meta.model import random_effects
    from jdmstats.meta.regression import metareg

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
        Models of :func:`jdmstats.meta.random_effects` / :func:`jdmstats.meta.regression` on the
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
    >>> from jdmstats.meta.comparison import anova
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
