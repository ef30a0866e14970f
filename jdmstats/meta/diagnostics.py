"""Leave-one-out, influence diagnostics, cumulative meta-analysis and Baujat coordinates.

Every function takes a fitted random-/equal-effects model (the result of
:func:`jdmstats.meta.model.random_effects`; :func:`influence` also a meta-regression from
:func:`jdmstats.meta.regression.metareg`) and refits it on subsets of the studies with the
same estimator of tau^2, the same test (``"z"``, ``"knha"`` or ``"adhoc"``) and the same
confidence level.  All subset fits are done at once by :func:`jdmstats.meta._solver.fit_batch`
with a ``(B, k)`` mask (leave-one-out: ``~eye(k)``; cumulative: lower-triangular), so there is
no Python loop over studies.

The definitions are those of metafor 3.8-1 (``leave1out.rma.uni``, ``influence.rma.uni``,
``cumul.rma.uni``, ``baujat.rma``); the values are validated against metafor in
``tests/test_meta_influence.py`` (reference script ``tests/reference/metafor_diagnostics.R``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from jdmstats.results import ResultMixin, TableResult

__all__ = ["leave_one_out", "influence", "cumulative", "baujat", "InfluenceResult"]

_TESTS = ("z", "t", "knha", "adhoc")


# --------------------------------------------------------------------------- helpers
def _model_parts(fit):
    """Pull ``yi, vi, method, test, level, labels`` out of a fitted model (duck-typed)."""
    missing = [a for a in ("yi", "vi", "method", "test", "level") if not hasattr(fit, a)]
    if missing:
        raise TypeError(
            "Expected a fitted model from jdmstats.meta.random_effects (an RMAResult); "
            f"the object of type {type(fit).__name__} has no attribute(s) {missing}."
        )
    yi = np.asarray(fit.yi, dtype=float).ravel()
    vi = np.asarray(fit.vi, dtype=float).ravel()
    if yi.shape != vi.shape:
        raise ValueError(f"yi has {yi.size} studies but vi has {vi.size}.")
    test = str(fit.test)
    if test not in _TESTS:
        raise ValueError(f"Unknown test {test!r}; accepted: {', '.join(_TESTS)}.")
    if getattr(fit, "knha_adhoc", False) and test == "knha":
        test = "adhoc"
    method = str(fit.method).upper()
    method = "EE" if method in ("FE", "CE") else method
    labels = getattr(fit, "labels", None)
    if labels is None:
        labels = [f"Study {i + 1}" for i in range(yi.size)]
    labels = [str(s) for s in labels]
    if len(labels) != yi.size:
        raise ValueError(f"fit.labels has {len(labels)} entries but there are {yi.size} studies.")
    control = getattr(fit, "control", None)
    return yi, vi, method, test, float(fit.level), labels, control


def _design(fit) -> np.ndarray:
    """The model matrix of ``fit``: its ``X``, or a column of ones for an intercept-only model."""
    X = getattr(fit, "X", None)
    if X is None:
        return np.ones((np.size(getattr(fit, "yi", ())), 1))  # not a model: checked later
    X = np.asarray(X, dtype=float)
    return X if X.ndim == 2 else X[:, None]


def _has_moderators(fit) -> bool:
    """True unless the model matrix is the intercept alone."""
    X = _design(fit)
    return not (X.shape[1] == 1 and bool(np.all(X == 1.0)))


def _intercept_only(fit, what: str) -> None:
    """Refuse a model with moderators where the method is defined without them (as metafor)."""
    if _has_moderators(fit):
        raise ValueError(
            f"{what} is only defined for models without moderators (as in metafor); "
            "fit the model with jdmstats.meta.random_effects, or use influence() for a "
            "meta-regression."
        )


def _level(level: float) -> float:
    """Confidence level as a fraction (metafor also accepts percentages such as 95)."""
    return level / 100.0 if level > 1 else level


def _batch(yi, vi, mask, method, control, X=None):
    from jdmstats.meta._solver import fit_batch

    # single-study rows (k = 1) make numpy warn inside the solver; their values are not used
    with np.errstate(divide="ignore", invalid="ignore"):
        return fit_batch(yi, vi, X=X, mask=mask, method=method, control=control or None)


def _summaries(bf, yi, vi, mask, method, test, level):
    """metafor's rma.uni output for a batch of intercept-only fits.

    Returns a dict of ``(B,)`` arrays: estimate, se, stat, pval, ci_low, ci_high, q, qp, tau2,
    i2, h2, vb (variance of the estimate, Hartung-Knapp scaled), s2w, k.  Rows with a single
    study follow metafor's k = 1 rules (test forced to "z": se = sqrt(vi)) except that the
    heterogeneity statistics (tau2, Q, its p-value, I2, H2) are NaN (undefined).
    """
    m = np.asarray(mask, dtype=float)
    k = m.sum(1)
    tau2 = np.asarray(bf.tau2, dtype=float)
    w = m / (vi[None, :] + tau2[:, None])
    sw = w.sum(1)
    est = (w * yi[None, :]).sum(1) / sw
    vb = 1.0 / sw
    dfree = k - 1
    single = dfree < 1
    if test in ("knha", "adhoc"):
        rss = (w * (yi[None, :] - est[:, None]) ** 2).sum(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            s2w = np.where(rss <= np.finfo(float).eps, 0.0, rss / np.where(single, 1, dfree))
        if test == "adhoc":
            s2w = np.maximum(s2w, 1.0)
        s2w = np.where(single, 1.0, s2w)  # metafor: test = "z" when k = 1
    else:
        s2w = np.ones_like(est)
    vb = vb * s2w
    se = np.sqrt(vb)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    lev = _level(level)
    zcrit = stats.norm.isf((1 - lev) / 2)
    if test in ("knha", "adhoc", "t"):  # "t": t(k - 1) without variance adjustment
        ddf = np.where(single, np.nan, dfree)
        pval = np.where(single, 2 * stats.norm.sf(np.abs(stat)), 2 * stats.t.sf(np.abs(stat), ddf))
        crit = np.where(single, zcrit, stats.t.isf((1 - lev) / 2, ddf))
    else:
        pval = 2 * stats.norm.sf(np.abs(stat))
        crit = np.full_like(est, zcrit)
    # heterogeneity (Q with weights 1/vi, I2 and H2 as metafor's i2def = "1")
    q = np.asarray(bf.qe, dtype=float).copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        qp = stats.chi2.sf(q, dfree)
        if method == "EE":
            i2 = np.maximum(0.0, np.nan_to_num(100 * (q - dfree) / q, nan=0.0, neginf=0.0))
            h2 = q / dfree
        else:
            vt = np.asarray(bf.vt, dtype=float)
            i2 = 100 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1
    out = {
        "estimate": est,
        "se": se,
        "stat": stat,
        "pval": pval,
        "ci_low": est - crit * se,
        "ci_high": est + crit * se,
        "q": np.where(single, np.nan, q),
        "qp": np.where(single, np.nan, qp),
        "tau2": np.where(single, np.nan, tau2),
        "i2": np.where(single, np.nan, i2),
        "h2": np.where(single, np.nan, h2),
        "vb": vb,
        "s2w": s2w,
        "k": k.astype(int),
        "converged": np.asarray(bf.converged, dtype=bool),
    }
    return out


def _table(summ, labels, test, k_col=True):
    cols = {
        "estimate": summ["estimate"],
        "se": summ["se"],
        "statistic": summ["stat"],
        "pvalue": summ["pval"],
        "ci_low": summ["ci_low"],
        "ci_high": summ["ci_high"],
        "q": summ["q"],
        "q_pvalue": summ["qp"],
        "tau2": summ["tau2"],
        "i2": summ["i2"],
        "h2": summ["h2"],
    }
    if k_col:
        cols["k"] = summ["k"]
    return pd.DataFrame(cols, index=pd.Index(labels, name="study"))


def _leave_one_out_parts(fit, what: str = "Leave-one-out"):
    yi, vi, method, test, level, labels, control = _model_parts(fit)
    _intercept_only(fit, what)
    k = yi.size
    if k < 2:
        raise ValueError(f"Leave-one-out needs at least 2 studies (k = {k}).")
    mask = ~np.eye(k, dtype=bool)
    bf = _batch(yi, vi, mask, method, control)
    summ = _summaries(bf, yi, vi, mask, method, test, level)
    return yi, vi, method, test, level, labels, control, bf, summ


# --------------------------------------------------------------------------- public API
@dataclass(frozen=True, repr=False)
class LeaveOneOutResult(TableResult):
    """:func:`leave_one_out`: one row per omitted study (reads like its ``table``)."""

    table: pd.DataFrame
    _title: str = field(default="Leave-one-out meta-analysis", repr=False)


@dataclass(frozen=True, repr=False)
class CumulativeResult(TableResult):
    """:func:`cumulative`: one row per step, the last the full model (reads like ``table``)."""

    table: pd.DataFrame
    _title: str = field(default="Cumulative meta-analysis", repr=False)


@dataclass(frozen=True, repr=False)
class BaujatResult(TableResult):
    """:func:`baujat`: the Baujat coordinates ``x`` and ``y`` per study (reads like ``table``)."""

    table: pd.DataFrame
    _title: str = field(default="Baujat plot coordinates", repr=False)


def leave_one_out(fit) -> LeaveOneOutResult:
    """Leave-one-out meta-analysis: refit the model once without each study.

    Parameters
    ----------
    fit : RMAResult
        A model fitted by :func:`jdmstats.meta.random_effects` (intercept only).  The refits use
        its estimator of tau^2, its test and its confidence level.

    Returns
    -------
    LeaveOneOutResult
        Reads like a DataFrame (its ``table``): one row per omitted study (index: study label) with columns ``estimate``, ``se``,
        ``statistic`` (z, or t for ``test="knha"``/``"adhoc"``; metafor's ``zval``/``tval``),
        ``pvalue``, ``ci_low``, ``ci_high``, ``q`` (Cochran's Q of the remaining studies),
        ``q_pvalue`` (its p-value), ``tau2``, ``i2``, ``h2`` and ``k`` (studies in the refit).

    Notes
    -----
    As ``metafor::leave1out.rma.uni`` (Viechtbauer 2010, J Stat Softw 36(3)); the ``k`` refits
    are computed together by ``fit_batch`` with the mask ``~eye(k)``.  For EE models ``tau2``
    is 0 (metafor drops the column).  With ``k = 2`` every refit has a single study: the
    estimate is that study (``se = sqrt(vi)``, z-based CI, as metafor) and the heterogeneity
    columns (``q``, ``qp``, ``tau2``, ``i2``, ``h2``) are NaN because heterogeneity is undefined
    for one study (metafor reports Q = 0, p = 1, tau2 = 0, I2 = 0, H2 = 1).  Validated against
    metafor 3.8-1 ``leave1out`` (6 metadat datasets x EE/DL/REML x z/knha) to 1e-6 relative.

    Examples
    --------
    >>> from jdmstats.meta.model import random_effects
    >>> from jdmstats.meta.diagnostics import leave_one_out
    >>> yi = [-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37, -0.34, 0.45]
    >>> vi = [0.33, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07, 0.01, 0.53]
    >>> loo = leave_one_out(random_effects(yi, vi, method="REML"))
    >>> loo.shape[0], list(loo.columns[:3])
    (12, ['estimate', 'se', 'statistic'])
    """
    parts = _leave_one_out_parts(fit)
    return LeaveOneOutResult(_table(parts[-1], parts[5], parts[3]))


def cumulative(fit, order=None) -> CumulativeResult:
    """Cumulative meta-analysis: add the studies one at a time in a given order.

    Parameters
    ----------
    fit : RMAResult
        A model fitted by :func:`jdmstats.meta.random_effects`.
    order : array_like, optional
        A sort key with one value per study (for example the publication year); studies are
        added in increasing order of the key (ties keep the original order), exactly as
        ``metafor::cumul(x, order = key)``.  Default: the order of the data.

    Returns
    -------
    CumulativeResult
        Reads like a DataFrame (its ``table``): one row per step (index: label of the study added at that step) with the columns of
        :func:`leave_one_out` plus ``position`` (0-based index of the added study in the data).
        The last row is the full model.

    Notes
    -----
    As ``metafor::cumul.rma.uni``; the ``k`` fits are computed together by ``fit_batch`` with
    a lower-triangular mask.  The first row is a single study: estimate = that study,
    ``se = sqrt(vi)`` with a z-based CI (metafor's rule for k = 1, also for knha models), and
    NaN heterogeneity columns (metafor: Q = 0, p = 1, tau2 = 0, I2 = 0, H2 = 1).  Validated
    against metafor 3.8-1 ``cumul`` to 1e-6 relative.

    Examples
    --------
    >>> from jdmstats.meta.model import random_effects
    >>> from jdmstats.meta.diagnostics import cumulative
    >>> yi = [-0.89, -1.59, -1.35, -1.44, -0.22, -0.79]
    >>> vi = [0.33, 0.19, 0.42, 0.02, 0.05, 0.01]
    >>> year = [1948, 1949, 1960, 1977, 1973, 1953]
    >>> cum = cumulative(random_effects(yi, vi, method="DL"), order=year)
    >>> cum["k"].tolist()
    [1, 2, 3, 4, 5, 6]
    """
    yi, vi, method, test, level, labels, control = _model_parts(fit)
    _intercept_only(fit, "Cumulative meta-analysis")
    k = yi.size
    if order is None:
        idx = np.arange(k)
    else:
        key = np.asarray(order)
        if key.shape != (k,):
            raise ValueError(
                f"order has {key.size} values but the model has {k} studies; "
                "give one sort key per study."
            )
        if key.dtype.kind == "f" and np.isnan(key).any():
            bad = int(np.flatnonzero(np.isnan(key))[0])
            raise ValueError(f"order has a missing value at study index {bad} ({labels[bad]}).")
        idx = np.argsort(key, kind="stable")
    mask = np.zeros((k, k), dtype=bool)
    mask[:, idx] = np.tril(np.ones((k, k), dtype=bool))
    bf = _batch(yi, vi, mask, method, control)
    summ = _summaries(bf, yi, vi, mask, method, test, level)
    out = _table(summ, [labels[i] for i in idx], test)
    out["position"] = idx
    return CumulativeResult(out)


@dataclass(frozen=True)
class InfluenceResult(ResultMixin):
    """Case-deletion diagnostics of a random-/equal-effects model (as metafor's ``infl.rma.uni``).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per study: ``rstudent``, ``dffits``, ``cook_d``, ``cov_r``, ``tau2_del``,
        ``qe_del``, ``hat``, ``weight`` (percent), ``dfbs`` (meta-regression: one
        ``dfbs_<coefficient>`` column per coefficient) and ``inf`` (bool).
    inf : ndarray of bool
        metafor's influence flag (the ``*`` in its print-out).
    labels : list of str
    k, p : int
        Studies and model coefficients.
    method, test : str
    tau2, qe : float
        tau^2 and Q of the full model.
    """

    table: pd.DataFrame
    inf: np.ndarray
    labels: list
    k: int
    p: int
    method: str
    test: str
    tau2: float
    qe: float
    _title = "Influence diagnostics"

    def summary(self) -> pd.DataFrame:
        """The per-study diagnostics as a DataFrame (a copy of :attr:`table`)."""
        return self.table.copy()

    @property
    def influential(self) -> list:
        """Labels of the studies flagged as influential."""
        return [lab for lab, f in zip(self.labels, self.inf, strict=True) if f]

    def __repr__(self) -> str:
        t = self.table.copy()
        t["inf"] = np.where(self.inf, "*", "")
        body = t.to_string(float_format=lambda x: f"{x:.4f}")
        return (
            f"Influence diagnostics ({self.method}, test={self.test}, k={self.k})\n\n{body}\n\n"
            "inf '*': |dffits| > 3 sqrt(p/(k-p)), pchisq(cook_d, p) > 0.5, hat > 3p/k "
            "or |dfbs| > 1"
        )


def influence(fit) -> InfluenceResult:
    """Case-deletion (influence) diagnostics of a random-/equal-effects model or meta-regression.

    Parameters
    ----------
    fit : RMAResult or MetaRegResult
        A model fitted by :func:`jdmstats.meta.random_effects` or
        :func:`jdmstats.meta.regression` (then see :func:`_influence_metareg` for the
        definitions with moderators: fitted values replace the pooled estimate, ``dfbs`` has
        one column per coefficient, Cook's distance and ``cov_r`` use all coefficients).

    Returns
    -------
    InfluenceResult
        ``table`` with, for each study ``i`` (``(-i)``: the model refitted without it):

        - ``rstudent``: externally studentised residual
          ``(y_i - mu_(-i)) / sqrt(s2_(-i) (v_i + tau2_(-i)) + Var(mu_(-i)))``;
        - ``dffits``: ``(mu - mu_(-i)) / sqrt(s2_(-i) h_i (tau2_(-i) + v_i))``;
        - ``cook_d``: ``(mu - mu_(-i))^2 / Var(mu)``;
        - ``cov_r``: ``Var(mu_(-i)) / Var(mu)``;
        - ``tau2_del``, ``qe_del``: tau^2 and Q without study ``i``;
        - ``hat``: leverage ``w_i / sum(w)``; ``weight``: ``100 w_i / sum(w)``;
        - ``dfbs``: DFBETAS ``(mu - mu_(-i)) / sqrt(s2_(-i) / sum_j 1/(v_j + tau2_(-i)))``;
        - ``inf``: flagged as influential when ``|dffits| > 3 sqrt(p/(k-p))``,
          ``P(chi2_p <= cook_d) > 0.5``, ``hat > 3p/k`` or ``|dfbs| > 1``.

        ``s2`` is 1 for ``test="z"`` and the Hartung-Knapp scale factor otherwise.

    Notes
    -----
    Definitions of ``metafor::influence.rma.uni`` (Viechtbauer & Cheung 2010, Res Synth Methods
    1:112), including its Hartung-Knapp scaling; the ``k`` deletion fits come from one
    ``fit_batch`` call.  No Python library offers these diagnostics for random-effects models.
    With ``k = 2`` the deleted fits have a single study: ``tau2_del`` and ``qe_del`` are NaN
    (undefined) and the diagnostics use tau^2 = 0 for the single-study fit (metafor's rule).
    Validated against metafor 3.8-1 ``influence`` (6 datasets x EE/DL/REML x z/knha; includes
    the dat.bcg example of the ``influence.rma.uni`` help page) to 1e-6 relative.

    Examples
    --------
    >>> from jdmstats.meta.model import random_effects
    >>> from jdmstats.meta.diagnostics import influence
    >>> yi = [-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37, -0.34, 0.45]
    >>> vi = [0.33, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07, 0.01, 0.53]
    >>> inf = influence(random_effects(yi, vi, method="REML"))
    >>> list(inf.table.columns[:4])
    ['rstudent', 'dffits', 'cook_d', 'cov_r']
    """
    if _has_moderators(fit):
        return _influence_metareg(fit)
    yi, vi, method, test, level, labels, control, bf, loo = _leave_one_out_parts(fit)
    k, p = yi.size, 1
    full_mask = np.ones((1, k), dtype=bool)
    bfull = _batch(yi, vi, full_mask, method, control)
    full = _summaries(bfull, yi, vi, full_mask, method, test, level)
    tau2_f = float(bfull.tau2[0])
    mu = float(full["estimate"][0])
    vb_f = float(full["vb"][0])
    w = 1.0 / (vi + tau2_f)
    hat = w / w.sum()
    weight = 100.0 * hat

    tau2_d = np.asarray(bf.tau2, dtype=float)  # 0 for single-study fits (metafor's k = 1 rule)
    mu_d = loo["estimate"]
    vb_d = loo["vb"]  # Hartung-Knapp scaled variance of mu_(-i)
    s2w_d = loo["s2w"]
    resid = yi - mu_d
    resid = np.where(np.abs(resid) < 100 * np.finfo(float).eps, 0.0, resid)
    rstudent = resid / np.sqrt(vi * s2w_d + vb_d + tau2_d * s2w_d)
    dmu = mu - mu_d
    dffits = dmu / np.sqrt(s2w_d * hat * (tau2_d + vi))
    # dfbetas uses (X' W X)^-1 of all k studies with tau2 of the deletion fit
    vb_del_all = 1.0 / (1.0 / (vi[None, :] + tau2_d[:, None])).sum(1)
    dfbs = dmu / np.sqrt(s2w_d * vb_del_all)
    cook_d = dmu**2 / vb_f
    cov_r = vb_d / vb_f
    with np.errstate(invalid="ignore"):
        flag = (
            (np.abs(dffits) > 3 * np.sqrt(p / (k - p)) if k > p else np.zeros(k, bool))
            | (stats.chi2.cdf(cook_d, p) > 0.5)
            | (hat > 3 * p / k)
            | (np.abs(dfbs) > 1)
        )
    flag = np.asarray(flag, dtype=bool)
    table = pd.DataFrame(
        {
            "rstudent": rstudent,
            "dffits": dffits,
            "cook_d": cook_d,
            "cov_r": cov_r,
            "tau2_del": loo["tau2"],
            "qe_del": loo["q"],
            "hat": hat,
            "weight": weight,
            "dfbs": dfbs,
            "inf": flag,
        },
        index=pd.Index(labels, name="study"),
    )
    return InfluenceResult(
        table=table,
        inf=flag,
        labels=list(labels),
        k=k,
        p=p,
        method=method,
        test=test,
        tau2=tau2_f,
        qe=float(bfull.qe[0]),
    )


def _influence_metareg(fit) -> InfluenceResult:
    """Influence diagnostics of a meta-regression (``metafor::influence.rma.uni`` with mods).

    With ``X`` the model matrix, ``b`` the coefficients, ``W = diag(1 / (v + tau2))`` and
    ``(-i)`` the model refitted without study ``i`` (same estimator and test; the ``k`` refits
    in one ``fit_batch`` call, no Python loop):

    - ``rstudent``: ``(y_i - x_i b_(-i)) / sqrt(s2_(-i) (v_i + tau2_(-i)) + x_i V_(-i) x_i')``;
    - ``dffits``: ``(x_i b - x_i b_(-i)) / sqrt(s2_(-i) h_i (tau2_(-i) + v_i))``;
    - ``cook_d``: ``(b - b_(-i))' V^-1 (b - b_(-i))`` over all ``p`` coefficients;
    - ``cov_r``: ``det V_(-i) / det V``; ``hat``: diagonal of ``X (X'WX)^-1 X'W``;
    - ``dfbs_<coef>``: ``(b - b_(-i)) / sqrt(s2_(-i) diag((X' W_(-i) X)^-1))``, ``W_(-i)``
      with ``tau2_(-i)`` over all ``k`` studies;
    - ``inf``: ``|dffits| > 3 sqrt(p/(k-p))``, ``P(chi2_p <= cook_d) > 0.5``, ``hat > 3p/k`` or
      any ``|dfbs| > 1``.

    ``V`` are the coefficients' covariance matrices (Hartung-Knapp scaled by ``s2`` for
    ``test="knha"``/``"adhoc"``; ``s2 = 1`` for z).  No Python library has these for
    random-effects meta-regression; validated against metafor 3.8-1 (4 models x EE/DL/REML x
    z/knha) in ``tests/test_meta_influence.py``.
    """
    yi, vi, method, test, level, labels, control = _model_parts(fit)
    X = np.asarray(fit.X, dtype=float)
    k, p = X.shape
    if k - 1 <= p:
        raise ValueError(
            f"Influence diagnostics of a meta-regression with p = {p} coefficients need at "
            f"least p + 2 = {p + 2} studies (k = {k}): each deletion fit needs residual df."
        )
    mask = ~np.eye(k, dtype=bool)
    bf = _batch(yi, vi, mask, method, control, X=X)
    tau2_d = np.asarray(bf.tau2, dtype=float)
    if test in ("z", "t"):
        s2w_d = np.ones(k)
    else:
        s2w_d = np.where(bf.rss <= np.finfo(float).eps, 0.0, bf.rss / (k - 1 - p))
        if test == "adhoc":
            s2w_d = np.maximum(s2w_d, 1.0)
    beta_d = np.asarray(bf.beta, dtype=float)  # (k, p)
    vb_d = np.asarray(bf.vb, dtype=float) * s2w_d[:, None, None]  # (k, p, p), scaled
    beta = np.asarray(fit.beta, dtype=float).ravel()
    vb = np.asarray(fit.vb, dtype=float)  # scaled as the fit's test
    tau2 = float(fit.tau2)
    w = 1.0 / (vi + tau2)
    xtwx_inv = np.linalg.inv(X.T @ (w[:, None] * X))
    hat = np.einsum("ij,jk,ik->i", X, xtwx_inv, X) * w
    weight = 100.0 * w / w.sum()
    delpred = np.einsum("ij,ij->i", X, beta_d)
    vdelpred = np.einsum("ij,ijk,ik->i", X, vb_d, X)
    resid = yi - delpred
    resid = np.where(np.abs(resid) < 100 * np.finfo(float).eps, 0.0, resid)
    rstudent = resid / np.sqrt(vi * s2w_d + vdelpred + tau2_d * s2w_d)
    dffits = (X @ beta - delpred) / np.sqrt(s2w_d * hat * (tau2_d + vi))
    w_del = 1.0 / (vi[None, :] + tau2_d[:, None])  # (k, k): all studies, tau2 of fit (-i)
    vb_del_all = np.linalg.inv(np.einsum("ji,bj,jk->bik", X, w_del, X))
    dfb = beta[None, :] - beta_d
    dfbs = dfb / np.sqrt(s2w_d[:, None] * np.einsum("bii->bi", vb_del_all))
    cook_d = np.einsum("bi,ij,bj->b", dfb, np.linalg.inv(vb), dfb)
    cov_r = np.linalg.det(vb_d) / np.linalg.det(vb)
    with np.errstate(invalid="ignore"):
        flag = (
            (np.abs(dffits) > 3 * np.sqrt(p / (k - p)))
            | (stats.chi2.cdf(cook_d, p) > 0.5)
            | (hat > 3 * p / k)
            | (np.abs(dfbs) > 1).any(axis=1)
        )
    names = list(fit.coef.index) if hasattr(fit, "coef") else [f"b{j}" for j in range(p)]
    table = pd.DataFrame(
        {"rstudent": rstudent, "dffits": dffits, "cook_d": cook_d, "cov_r": cov_r,
         "tau2_del": tau2_d, "qe_del": np.asarray(bf.qe, dtype=float), "hat": hat,
         "weight": weight,
         **{f"dfbs_{name}": dfbs[:, j] for j, name in enumerate(names)},
         "inf": np.asarray(flag, dtype=bool)},
        index=pd.Index(labels, name="study"),
    )  # fmt: skip
    return InfluenceResult(table=table, inf=np.asarray(flag, dtype=bool), labels=list(labels),
                           k=k, p=p, method=method, test=test, tau2=tau2,
                           qe=float(fit.qe))  # fmt: skip


def baujat(fit) -> BaujatResult:
    """Coordinates of the Baujat plot (contribution to heterogeneity vs influence).

    Parameters
    ----------
    fit : RMAResult
        A model fitted by :func:`jdmstats.meta.random_effects`.

    Returns
    -------
    BaujatResult
        Reads like a DataFrame (its ``table``). Index: study labels; ``x`` = squared Pearson residual ``(y_i - mu)^2 / (v_i + tau2)``
        (for EE models: the study's contribution to Cochran's Q), ``y`` = influence on the
        overall result ``(mu - mu_(-i))^2 / Var(mu_(-i))``.

    Notes
    -----
    Baujat et al. (2002, Stat Med 21:2641), with the definitions of ``metafor::baujat.rma``
    (which generalises them to random-effects models; ``Var(mu_(-i))`` includes the
    Hartung-Knapp factor for knha models).  Drawing the plot is left to :mod:`jdmstats.plots`.
    Validated against metafor 3.8-1 ``baujat`` (its returned coordinates) to 1e-6 relative.

    Examples
    --------
    >>> from jdmstats.meta.model import random_effects
    >>> from jdmstats.meta.diagnostics import baujat
    >>> yi = [-0.89, -1.59, -1.35, -1.44, -0.22, -0.79]
    >>> vi = [0.33, 0.19, 0.42, 0.02, 0.05, 0.01]
    >>> b = baujat(random_effects(yi, vi, method="EE"))
    >>> list(b.columns)
    ['x', 'y']
    """
    yi, vi, method, test, level, labels, control, bf, loo = _leave_one_out_parts(
        fit, "The Baujat plot (in jdmstats)")
    k = yi.size
    full_mask = np.ones((1, k), dtype=bool)
    bfull = _batch(yi, vi, full_mask, method, control)
    full = _summaries(bfull, yi, vi, full_mask, method, test, level)
    mu = float(full["estimate"][0])
    tau2_f = float(bfull.tau2[0])
    x = (yi - mu) ** 2 / (tau2_f + vi)
    y = (loo["estimate"] - mu) ** 2 / loo["vb"]
    return BaujatResult(pd.DataFrame({"x": x, "y": y}, index=pd.Index(labels, name="study")))
