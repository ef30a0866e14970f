"""Equal-effects pooling of 2x2 tables and incidence rates without the normal approximation
of each study: Mantel-Haenszel (``metafor::rma.mh``) and Peto's method (``metafor::rma.peto``).

Both keep studies with zero cells without a continuity correction in the pooled estimate
(metafor's two-part ``add``/``to``/``drop00``: the first value is used for the per-study
effect sizes that enter the heterogeneity test, the second for the tables themselves).
Validated against metafor 3.8-1 in ``tests/test_meta_ext.py``
(``tests/reference/metafor_ext.R``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from jdmstats.meta.effects import escalc
from jdmstats.meta.fitstats import InformationCriteriaMixin
from jdmstats.results import FittedMixin, ResultMixin

__all__ = ["mantel_haenszel", "peto", "MHResult"]

MH_MEASURES = ("OR", "RR", "RD", "IRR", "IRD")
_RATIO = ("OR", "RR", "IRR")


@dataclass(frozen=True)
class MHResult(FittedMixin, InformationCriteriaMixin, ResultMixin):
    """Result of :func:`mantel_haenszel` and :func:`peto` (fields as metafor's ``rma.mh``).

    Attributes
    ----------
    method : str
        ``"MH"`` or ``"Peto"``.
    measure : str
        ``"OR"``, ``"RR"``, ``"RD"``, ``"IRR"`` or ``"IRD"`` (Peto: ``"PETO"``, a log odds
        ratio).
    estimate, se, statistic, pvalue, ci_low, ci_high : float
        Pooled estimate (log scale for OR/RR/IRR/PETO), its standard error, Wald z test and CI.
    q, q_df, q_pvalue, i2, h2 : float
        Test of heterogeneity (I^2 in percent), as metafor: for MH, Cochran's Q of the
        per-study effect sizes around the MH estimate; for Peto, the Peto Q statistic.
    k, k_yi, k_pos : int
        Number of tables used, of tables with a finite effect size (the Q test has
        ``k_yi - 1`` df), and (OR: Breslow-Day; Peto: ``Vi > 0``) of informative tables.
    cochran, cochran_pvalue, cmh, cmh_pvalue : float
        OR: Cochran's and the Cochran-Mantel-Haenszel test of no association (NaN otherwise;
        IRR: ``cmh`` is the MH rate test); with a continuity correction if ``correct``.
    breslow_day, breslow_day_pvalue, tarone, tarone_pvalue : float
        OR: Breslow-Day test of homogeneity of the odds ratios, and Tarone's correction
        (chi^2 on ``k_pos - 1`` df; NaN otherwise).
    yi, vi : ndarray
        The per-study effect sizes behind the Q test (NaN for dropped studies).
    """

    method: str
    measure: str
    k: int
    k_yi: int
    k_pos: int
    estimate: float
    se: float
    statistic: float
    pvalue: float
    ci_low: float
    ci_high: float
    q: float
    q_df: int
    q_pvalue: float
    i2: float
    h2: float
    cochran: float
    cochran_pvalue: float
    cmh: float
    cmh_pvalue: float
    breslow_day: float
    breslow_day_pvalue: float
    tarone: float
    tarone_pvalue: float
    level: float
    correct: bool
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    labels: tuple = field(repr=False, default=())

    @property
    def _title(self) -> str:
        return "Mantel-Haenszel method" if self.method == "MH" else "Peto's method"

    @property
    def tau2(self) -> float:
        """0: an equal-effects model."""
        return 0.0

    @property
    def ratio(self) -> bool:
        """True when the estimate is on the log scale (OR, RR, IRR, Peto)."""
        return self.measure in _RATIO or self.measure == "PETO"

    @property
    def estimate_exp(self) -> tuple:
        """``(exp(estimate), exp(ci_low), exp(ci_high))`` for log-scale measures."""
        if not self.ratio:
            raise ValueError(f"measure {self.measure} is not on the log scale.")
        return tuple(float(np.exp(x)) for x in (self.estimate, self.ci_low, self.ci_high))

    def summary(self):
        """One-row DataFrame: estimate, se, z, p, CI, Q test, I^2 and the table tests."""
        return self._one_row(
            ("k", "estimate", "se", "statistic", "pvalue", "ci_low", "ci_high", "q",
             "q_pvalue", "i2", "h2", "cmh", "cmh_pvalue", "breslow_day",
             "breslow_day_pvalue", "tarone", "tarone_pvalue"),
            f"{self.method} ({self.measure})",
        )  # fmt: skip

    def studies(self):
        """Per-study table: the effect sizes behind the Q test (``yi``, ``vi``, ``se``, Wald
        ``ci_low``/``ci_high``; NaN for a table without a finite effect size)."""
        from jdmstats.meta.model import _study_table

        labels = self.labels or [str(i + 1) for i in range(len(self.yi))]
        return _study_table(self.yi, self.vi, labels, self.level)

    def confint(self):
        """Confidence interval of the pooled estimate (metafor ``confint.rma.mh`` /
        ``confint.rma.peto``): DataFrame ``estimate, ci_low, ci_high``, row ``intrcpt``."""
        import pandas as pd

        return pd.DataFrame({"estimate": [self.estimate], "ci_low": [self.ci_low],
                             "ci_high": [self.ci_high]}, index=["intrcpt"])  # fmt: skip

    def fit_stats(self):
        """metafor's ``fit.stats`` of ``rma.mh`` / ``rma.peto``: rows ``ll, dev, AIC, BIC,
        AICc``, columns ``ML`` and ``REML``.

        An equal-effects normal likelihood of the ``k_yi`` finite effect sizes around the
        pooled estimate ``b`` (``parms = 1``): ``ll_ML = -k/2 log(2 pi) - 1/2 sum log vi -
        Q/2`` with ``Q = sum (yi - b)^2 / vi``; ``ll_REML = ll_ML + 1/2 log(2 pi) + 1/2 log k
        - 1/2 log sum(1/vi)``; ``dev_ML = -2 (ll_ML - sum log N(yi; yi, vi))``, ``dev_REML =
        -2 ll_REML``; AIC, BIC and AICc with ``n = k`` (ML) or ``k - 1`` (REML).  Validated
        against metafor 3.8-1 (dat.bcg; tests/reference/metafor_api.json).
        """
        import pandas as pd
        from scipy import stats

        ok = np.isfinite(self.yi) & np.isfinite(self.vi)
        y, v = np.asarray(self.yi)[ok], np.asarray(self.vi)[ok]
        k = y.size
        w = 1 / v
        rss = float(np.sum(w * (y - self.estimate) ** 2))
        ll_ml = -0.5 * k * np.log(2 * np.pi) - 0.5 * np.sum(np.log(v)) - 0.5 * rss
        ll_reml = (-0.5 * (k - 1) * np.log(2 * np.pi) + 0.5 * np.log(k)
                   - 0.5 * np.sum(np.log(v)) - 0.5 * np.log(np.sum(w)) - 0.5 * rss)  # fmt: skip
        sat = float(np.sum(stats.norm.logpdf(y, loc=y, scale=np.sqrt(v))))

        def ics(ll, n):
            m = max(n, 3)
            return [-2 * ll + 2, -2 * ll + np.log(n), -2 * ll + 2 * m / (m - 2)]

        table = pd.DataFrame({"ML": [ll_ml, -2 * (ll_ml - sat), *ics(ll_ml, k)],
                              "REML": [ll_reml, -2 * ll_reml, *ics(ll_reml, k - 1)]},
                             index=["ll", "dev", "AIC", "BIC", "AICc"], dtype=float)  # fmt: skip
        if k < 1:
            table[:] = np.nan
        return table

    @property
    def loglik(self) -> float:
        """Log-likelihood (metafor ``logLik.rma``: the ML column)."""
        return self._fit_stat("ll")

    def __repr__(self) -> str:
        pct = round(100 * self.level)
        lines = [
            f"Equal-effects model, {self._title} (k = {self.k}; measure {self.measure})",
            "",
            f"I^2 = {self.i2:.2f}%, H^2 = {self.h2:.4f}",
            f"Q(df = {self.q_df}) = {self.q:.4f}, p = {self.q_pvalue:.4g}",
            "",
            f"estimate = {self.estimate:.4f}, se = {self.se:.4f}, z = {self.statistic:.4f}, "
            f"p = {self.pvalue:.4g}, {pct}% CI [{self.ci_low:.4f}, {self.ci_high:.4f}]",
        ]
        if self.ratio and np.isfinite(self.estimate):
            e, lo, hi = self.estimate_exp
            lines.append(f"exp: {e:.4f} [{lo:.4f}, {hi:.4f}]")
        if np.isfinite(self.cmh):
            lines.append(f"Cochran-Mantel-Haenszel test: {self.cmh:.4f}, p = {self.cmh_pvalue:.4g}")
        if np.isfinite(self.breslow_day):
            lines.append(
                f"Breslow-Day test: {self.breslow_day:.4f} (df = {self.k_pos - 1}), "
                f"p = {self.breslow_day_pvalue:.4g}; Tarone: {self.tarone:.4f}, "
                f"p = {self.tarone_pvalue:.4g}"
            )
        lines.append(f"logLik = {self.loglik:.4f}, deviance = {self.deviance:.4f}, "
                     f"AIC = {self.aic:.4f}, BIC = {self.bic:.4f}, AICc = {self.aicc:.4f}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- helpers
def _pair(x, name):
    if isinstance(x, (list, tuple)):
        if len(x) != 2:
            raise ValueError(f"{name} must be one value or two (for yi/vi and for the tables).")
        return x[0], x[1]
    return x, None


def _level(level):
    level = float(level)
    if level > 1:
        level /= 100.0
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1) (or a percentage); got {level!r}.")
    return level


def _correct_cells(cells, add, to):
    """Second-stage continuity correction of the tables (metafor's add[2], to[2])."""
    if to not in ("only0", "all", "if0all", "none"):
        raise ValueError(f"unknown to={to!r}; accepted: only0, all, if0all, none")
    add = float(add)
    zero = np.zeros(cells[0].shape, bool)
    for c in cells:
        zero |= c == 0
    if to == "all":
        inc = np.ones(zero.shape, bool)
    elif to == "only0":
        inc = zero
    elif to == "if0all":
        inc = np.full(zero.shape, bool(zero.any()))
    else:
        inc = np.zeros(zero.shape, bool)
    return [c + add * inc for c in cells]


def _het(yi, vi, beta):
    """metafor's Q test of the per-study effect sizes around the pooled estimate."""
    from scipy import stats

    ok = np.isfinite(yi) & np.isfinite(vi)
    k_yi = int(ok.sum())
    if k_yi > 1:
        y, w = yi[ok], 1 / vi[ok]
        q = max(0.0, float(np.sum(w * (y - beta) ** 2))) if np.isfinite(beta) else np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            return (k_yi, q, float(stats.chi2.sf(q, k_yi - 1)),
                    max(0.0, 100 * (q - (k_yi - 1)) / q), q / (k_yi - 1))  # fmt: skip
    return k_yi, 0.0, 1.0, 0.0, 1.0


def _wald(beta, se, level):
    from scipy import stats

    if not (np.isfinite(beta) and np.isfinite(se)):
        return np.nan, np.nan, np.nan, np.nan
    z = beta / se
    crit = stats.norm.isf((1 - level) / 2)
    return z, float(2 * stats.norm.sf(abs(z))), beta - crit * se, beta + crit * se


def _chi2(x, df):
    from scipy import stats

    return float(stats.chi2.sf(x, df)) if np.isfinite(x) and df >= 1 else np.nan


# --------------------------------------------------------------------------- public
def mantel_haenszel(
    ai=None, bi=None, ci=None, di=None, n1i=None, n2i=None,
    x1i=None, x2i=None, t1i=None, t2i=None,
    measure: str = "OR", add=0.5, to="only0", drop00=True, correct: bool = True,
    level: float = 0.95, labels=None,
) -> MHResult:  # fmt: skip
    """Mantel-Haenszel pooled odds ratio, risk ratio, risk difference or rate ratio/difference.

    Parameters
    ----------
    ai, bi, ci, di : array_like
        2x2 tables: events and non-events in group 1 (``ai``, ``bi``) and group 2 (``ci``,
        ``di``); ``n1i``/``n2i`` (group sizes) may replace ``bi``/``di``.
    x1i, x2i, t1i, t2i : array_like
        Rates (IRR, IRD): events and person-time per group.
    measure : {"OR", "RR", "RD", "IRR", "IRD"}
    add, to, drop00 : scalar or pair
        As metafor: the first value applies to the per-study effect sizes (``escalc``; used
        for the Q test only), the second to the tables entering the MH estimator.  Defaults
        ``add = (1/2, 0)``, ``to = ("only0", "none")``, ``drop00 = (True, False)``; a scalar
        sets the first value and keeps the second default.
    correct : bool
        Continuity correction of the Cochran(-Mantel-Haenszel) tests (metafor default True).
    level : float
        Confidence level.
    labels : sequence, optional
        Study labels.

    Returns
    -------
    MHResult

    Notes
    -----
    Mantel & Haenszel (1959); variance of the log OR by Robins, Breslow & Greenland (1986),
    of the log RR and RD by Greenland & Robins (1985); rate measures: Rothman, Greenland & Lash
    (2008).  Breslow-Day test (Breslow & Day 1980) with Tarone's (1985) correction over the
    tables with positive expected counts.  All formulas as ``metafor::rma.mh`` 3.8-1, against
    which this is validated (dat.bcg, dat.yusuf1985 table 9 with zero and double-zero
    tables, dat.hart1999; relative 1e-6, tests/reference/metafor_ext.json).  If the pooled
    ratio is undefined (no events in one group across all tables) the estimate is NaN, as in
    metafor.

    Examples
    --------
    >>> from jdmstats import meta
    >>> res = meta.mantel_haenszel(ai=[4, 6, 3], bi=[119, 300, 228], ci=[11, 29, 11],
    ...                            di=[128, 274, 209])
    >>> round(res.estimate_exp[0], 4)  # metafor rma.mh: 0.2433
    0.2433
    """
    measure = str(measure).upper()
    if measure not in MH_MEASURES:
        raise ValueError(f"Unknown measure {measure!r}; accepted: {', '.join(MH_MEASURES)}.")
    add1, add2 = _pair(add, "add")
    to1, to2 = _pair(to, "to")
    d1, d2 = _pair(drop00, "drop00")
    add2 = 0.0 if add2 is None else add2
    to2 = "none" if to2 is None else to2
    d2 = False if d2 is None else d2
    level = _level(level)
    rates = measure in ("IRR", "IRD")
    if rates:
        es = escalc(measure, x1i=x1i, x2i=x2i, t1i=t1i, t2i=t2i, add=add1, to=to1,
                    drop00=bool(d1), labels=labels)  # fmt: skip
        cells = [np.asarray(x1i, float), np.asarray(x2i, float)]
        t1, t2 = np.asarray(t1i, float), np.asarray(t2i, float)
        dz = (cells[0] == 0) & (cells[1] == 0)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # infinite yi at add = 0: left out of Q, as metafor
            es = escalc(measure, ai=ai, bi=bi, ci=ci, di=di, n1i=n1i, n2i=n2i, add=add1,
                        to=to1, drop00=bool(d1), labels=labels)  # fmt: skip
        a = np.asarray(ai, float)
        c = np.asarray(ci, float)
        b = np.asarray(bi, float) if bi is not None else np.asarray(n1i, float) - a
        d = np.asarray(di, float) if di is not None else np.asarray(n2i, float) - c
        cells = [a, b, c, d]
        dz = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    keep = ~dz if d2 else np.ones(dz.shape, bool)
    cells = [x[keep] for x in cells]
    k = int(keep.sum())
    if k < 1:
        raise ValueError("No tables left (k = 0) after dropping double-zero tables.")
    cells = _correct_cells(cells, add2, to2)
    nan = np.nan
    co = co_p = cmh = cmh_p = bd = bd_p = ta = ta_p = nan
    k_pos = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        if rates:
            x1, x2 = cells
            t1, t2 = t1[keep], t2[keep]
            T = t1 + t2
            if measure == "IRR":
                R, S = np.sum(x1 * t2 / T), np.sum(x2 * t1 / T)
                if x1.sum() == 0 or x2.sum() == 0:
                    beta = se = nan
                else:
                    beta = float(np.log(R / S))
                    se = float(np.sqrt(np.sum((t1 / T) * (t2 / T) * (x1 + x2)) / (R * S)))
                xt = x1 + x2
                if xt.sum() > 0:
                    cmh = float((abs(np.sum(x1 - xt * t1 / T)) - 0.5 * correct) ** 2
                                / np.sum(xt * (t1 / T) * (t2 / T)))  # fmt: skip
                    cmh_p = _chi2(cmh, 1)
            else:
                den = np.sum(t1 / T * t2)
                beta = float(np.sum((x1 * t2 - x2 * t1) / T) / den)
                se = float(np.sqrt(np.sum((t1 / T * t2) ** 2 * (x1 / t1**2 + x2 / t2**2))) / den)
        else:
            a, b, c, d = cells
            n1, n2 = a + b, c + d
            N = n1 + n2
            if measure == "OR":
                P, Q = (a + d) / N, (b + c) / N
                Ri, Si = a / N * d, b / N * c
                R, S = Ri.sum(), Si.sum()
                if R == 0 or S == 0:
                    beta = se = nan
                else:
                    beta = float(np.log(R / S))
                    se = float(np.sqrt(0.5 * (np.sum(P * Ri) / R**2
                                              + np.sum(P * Si + Q * Ri) / (R * S)
                                              + np.sum(Q * Si) / S**2)))  # fmt: skip
                xt, yt = a + c, b + d
                if xt.sum() > 0 and yt.sum() > 0:
                    dev = (abs(np.sum(a - n1 / N * xt)) - 0.5 * correct) ** 2
                    co = float(dev / np.sum(n1 / N * (n2 / N) * (xt * (yt / N))))
                    cmh = float(dev / np.sum(n1 / N * (n2 / N) * (xt * (yt / (N - 1)))))
                    co_p, cmh_p = _chi2(co, 1), _chi2(cmh, 1)
                if np.isfinite(beta):
                    psi = R / S
                    if psi == 1:
                        n11 = n1 / N * xt
                    else:
                        A = psi * (n1 + xt) + (n2 - xt)
                        B = np.sqrt(A**2 - 4 * n1 * xt * psi * (psi - 1))
                        n11 = (A - B) / (2 * (psi - 1))
                    pos = (n11 > 0) & (xt > 0) & (yt > 0)
                    k_pos = int(pos.sum())
                    e11 = n11[pos]
                    e12 = n1[pos] - e11
                    e21 = xt[pos] - e11
                    e22 = e11 - n1[pos] - xt[pos] + N[pos]
                    vinv = 1 / e11 + 1 / e12 + 1 / e21 + 1 / e22
                    dev = a[pos] - e11
                    bd = max(0.0, float(np.sum(dev**2 * vinv)))
                    ta = max(0.0, bd - float(np.sum(dev) ** 2 / np.sum(1 / vinv)))
                    if k_pos > 1:
                        bd_p, ta_p = _chi2(bd, k_pos - 1), _chi2(ta, k_pos - 1)
            elif measure == "RR":
                R, S = np.sum(a * n2 / N), np.sum(c * n1 / N)
                if a.sum() == 0 or c.sum() == 0:
                    beta = se = nan
                else:
                    beta = float(np.log(R / S))
                    se = float(np.sqrt(np.sum(n1 / N * (n2 / N) * (a + c) - a / N * c) / (R * S)))
            else:  # RD
                den = np.sum(n1 * (n2 / N))
                beta = float(np.sum(a * (n2 / N) - c * (n1 / N)) / den)
                se = float(np.sqrt((beta * np.sum(c * (n1 / N) ** 2 - a * (n2 / N) ** 2
                                                  + n1 / N * (n2 / N) * (n2 - n1) / 2)
                                    + np.sum(a * (n2 - c) / N + c * (n1 - a) / N) / 2)
                                   / den**2))  # fmt: skip
    z, p, lo, hi = _wald(beta, se, level)
    k_yi, q, q_p, i2, h2 = _het(es.yi, es.vi, beta)
    return MHResult(
        method="MH", measure=measure, k=k, k_yi=k_yi, k_pos=k_pos if measure == "OR" else 0,
        estimate=float(beta), se=float(se), statistic=float(z), pvalue=p, ci_low=float(lo),
        ci_high=float(hi), q=q, q_df=max(k_yi - 1, 0), q_pvalue=q_p, i2=float(i2),
        h2=float(h2), cochran=co, cochran_pvalue=co_p, cmh=cmh, cmh_pvalue=cmh_p,
        breslow_day=bd, breslow_day_pvalue=bd_p, tarone=ta, tarone_pvalue=ta_p, level=level,
        correct=bool(correct), yi=es.yi, vi=es.vi, labels=es.labels,
    )  # fmt: skip


def peto(
    ai=None, bi=None, ci=None, di=None, n1i=None, n2i=None, add=0.5, to="only0", drop00=True,
    level: float = 0.95, labels=None,
) -> MHResult:  # fmt: skip
    """Peto's one-step pooled log odds ratio, as ``metafor::rma.peto``.

    Parameters
    ----------
    ai, bi, ci, di, n1i, n2i : array_like
        2x2 tables (see :func:`mantel_haenszel`).
    add, to, drop00 : scalar or pair
        As :func:`mantel_haenszel` (the first value for the per-study Peto log odds ratios,
        the second for the tables).
    level : float
        Confidence level.
    labels : sequence, optional
        Study labels.

    Returns
    -------
    MHResult
        ``method="Peto"``, ``measure="PETO"``; ``q`` is Peto's heterogeneity statistic
        ``sum (O - E)^2 / V - (sum (O - E))^2 / sum V`` over the tables with ``V > 0``, on
        ``k_yi - 1`` df (as metafor).

    Notes
    -----
    Yusuf, Peto et al. (1985, Prog Cardiovasc Dis 27:335); ``beta = sum(O - E) / sum(V)``,
    ``se = 1 / sqrt(sum V)`` with the hypergeometric mean ``E`` and variance ``V`` of ``ai``.
    Validated against metafor 3.8-1 ``rma.peto`` on dat.bcg and dat.yusuf1985 (table 9,
    zero and double-zero tables) to relative 1e-6.

    Examples
    --------
    >>> from jdmstats import meta
    >>> res = meta.peto(ai=[4, 6, 3], bi=[119, 300, 228], ci=[11, 29, 11], di=[128, 274, 209])
    >>> res.method, res.k, round(res.estimate, 4)  # metafor rma.peto: -1.2373
    ('Peto', 3, -1.2373)
    """
    add1, add2 = _pair(add, "add")
    to1, to2 = _pair(to, "to")
    d1, d2 = _pair(drop00, "drop00")
    add2 = 0.0 if add2 is None else add2
    to2 = "none" if to2 is None else to2
    d2 = False if d2 is None else d2
    level = _level(level)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es = escalc("PETO", ai=ai, bi=bi, ci=ci, di=di, n1i=n1i, n2i=n2i, add=add1, to=to1,
                    drop00=bool(d1), labels=labels)  # fmt: skip
    a = np.asarray(ai, float)
    c = np.asarray(ci, float)
    b = np.asarray(bi, float) if bi is not None else np.asarray(n1i, float) - a
    d = np.asarray(di, float) if di is not None else np.asarray(n2i, float) - c
    dz = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    keep = ~dz if d2 else np.ones(dz.shape, bool)
    a, b, c, d = _correct_cells([x[keep] for x in (a, b, c, d)], add2, to2)
    k = int(keep.sum())
    n1, n2 = a + b, c + d
    N = n1 + n2
    xt, yt = a + c, b + d
    with np.errstate(divide="ignore", invalid="ignore"):
        E = xt * n1 / N
        V = xt * yt * (n1 / N) * (n2 / N) / (N - 1)
    sv = float(np.nansum(V))
    if sv == 0:
        raise ValueError(
            "One of the two outcomes never occurred in any of the tables: Peto's method "
            "cannot be used."
        )
    beta = float(np.sum(a - E) / sv)
    se = float(1 / np.sqrt(sv))
    z, p, lo, hi = _wald(beta, se, level)
    pos = V > 0
    k_pos = int(pos.sum())
    q = max(0.0, float(np.sum((a - E)[pos] ** 2 / V[pos]) - np.sum(a - E) ** 2 / np.sum(V[pos])))
    k_yi = int(np.sum(np.isfinite(es.yi) & np.isfinite(es.vi)))
    if k_pos > 1:
        q_p = _chi2(q, k_yi - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            i2, h2 = max(0.0, 100 * (q - (k_yi - 1)) / q), q / (k_yi - 1)
    else:
        q_p, i2, h2 = 1.0, 0.0, 1.0
    nan = np.nan
    return MHResult(
        method="Peto", measure="PETO", k=k, k_yi=k_yi, k_pos=k_pos, estimate=beta, se=se,
        statistic=float(z), pvalue=p, ci_low=float(lo), ci_high=float(hi), q=q,
        q_df=max(k_yi - 1, 0), q_pvalue=q_p, i2=float(i2), h2=float(h2), cochran=nan,
        cochran_pvalue=nan, cmh=nan, cmh_pvalue=nan, breslow_day=nan, breslow_day_pvalue=nan,
        tarone=nan, tarone_pvalue=nan, level=level, correct=False, yi=es.yi, vi=es.vi,
        labels=es.labels,
    )  # fmt: skip
