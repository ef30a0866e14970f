"""Random-effects meta-analysis (``random_effects``) and subgroup analysis.

The numbers reproduce ``metafor::rma.uni`` / ``predict.rma`` / ``confint.rma.uni`` (3.8-1);
the estimation itself lives in :mod:`jdmstats.meta._solver`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from jdmstats.meta._solver import _METHODS_UPPER, ALL_METHODS, _level, fit_batch, solve_q
from jdmstats.meta.fitstats import FitStatsMixin
from jdmstats.results import FittedMixin, ResultMixin

TESTS = ("z", "t", "knha", "adhoc")


def _check_method_test(method: str, test: str) -> str:
    """The tau^2 estimator in upper case (``FE`` read as ``EE``); a clear error for an unknown
    estimator or test."""
    method = _METHODS_UPPER.get(str(method).upper(), str(method).upper())  # "HSk" keeps its case
    if method not in ALL_METHODS:
        raise ValueError(f"Unknown method {method!r}; accepted: {', '.join(ALL_METHODS)}.")
    if test not in TESTS:
        raise ValueError(f"Unknown test {test!r}; accepted: {', '.join(TESTS)}.")
    return "EE" if method == "FE" else method


def _labels(labels, k):
    if labels is None:
        if k > 10_000:  # cheap default for very large k
            return np.arange(1, k + 1).astype(str)
        return [str(i + 1) for i in range(k)]
    labels = [str(x) for x in labels]
    if len(labels) != k:
        raise ValueError(f"labels has {len(labels)} entries but there are {k} studies.")
    return labels


def _check_inputs(yi, vi, labels):
    """Validate 1-d ``yi``/``vi``; errors name the offending study."""
    yi = np.asarray(yi, dtype=float).ravel()
    vi = np.asarray(vi, dtype=float).ravel()
    if yi.size == 0:
        raise ValueError("No studies: k = 0.")
    if yi.shape != vi.shape:
        raise ValueError(f"yi has {yi.size} values but vi has {vi.size}.")
    labs = _labels(labels, yi.size)
    bad_y = np.flatnonzero(~np.isfinite(yi))
    if bad_y.size:
        i = bad_y[0]
        raise ValueError(f"yi must be finite: study {labs[i]!r} (index {i}) has yi = {yi[i]!r}.")
    bad_v = np.flatnonzero(~(np.isfinite(vi) & (vi > 0)))
    if bad_v.size:
        i = bad_v[0]
        raise ValueError(
            f"vi must be finite and > 0: study {labs[i]!r} (index {i}) has vi = {vi[i]!r}."
        )
    return yi, vi, labs


def _study_table(yi, vi, labels, level, weights=None):
    """The per-study table of a fitted model (``weights`` in percent; omitted when None)."""
    import pandas as pd
    from scipy import stats

    yi = np.asarray(yi, dtype=float)
    se = np.sqrt(np.asarray(vi, dtype=float))
    z = stats.norm.isf((1 - level) / 2)
    cols = {"yi": yi, "vi": se**2, "se": se, "ci_low": yi - z * se, "ci_high": yi + z * se}
    if weights is not None:
        cols["weight"] = np.asarray(weights, dtype=float)
    return pd.DataFrame(cols, index=pd.Index([str(x) for x in labels], name="study"))


def _crit(test, df, level):
    from scipy import stats

    alpha = 1 - level
    if test == "z":
        return stats.norm.isf(alpha / 2)
    return stats.t.isf(alpha / 2, df) if df > 0 else np.nan


def _pvalue(stat, test, df):
    from scipy import stats

    if test == "z":
        return 2 * stats.norm.sf(np.abs(stat))
    return 2 * stats.t.sf(np.abs(stat), df) if df > 0 else np.full_like(stat, np.nan)


def _knha_scale(rss, k, p, test):
    """metafor's s^2 for Hartung-Knapp (0 if RSS <= eps; >= 1 for ``adhoc``; 1 for z and t)."""
    if test in ("z", "t"):
        return 1.0
    s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)
    if test == "adhoc":
        s2w = max(s2w, 1.0)
    return s2w


def qprofile_ci(yi, vi, X, level, tau2_hat):
    """Q-profile CI for tau^2 (Viechtbauer 2007) exactly as ``metafor::confint.rma.uni``.

    Returns ``(lower, upper)``; bounds are searched in ``[0, max(100, 10 tau2)]`` as metafor.
    """
    from scipy import stats

    k, p = X.shape
    alpha = 1 - level
    crit_u = stats.chi2.isf(alpha / 2, k - p)
    crit_l = stats.chi2.ppf(alpha / 2, k - p)
    tmax = max(100.0, 10 * tau2_hat)
    lb, ub = np.minimum(solve_q(yi, vi, [crit_u, crit_l], X=X), tmax)
    return float(lb), float(ub)


def qprofile_signs(yi, vi, X, level, tau2_hat):
    """metafor's ``lb.sign`` / ``ub.sign`` of the Q-profile CI for tau^2.

    ``">"``: the bound lies beyond the search limit ``max(100, 10 tau2)`` and is reported as
    that limit; ``"<"`` (both): ``Q(0)`` is below the lower critical value, the CI is empty
    and reported as ``[0, 0]``; ``""`` otherwise.
    """
    from scipy import stats

    from jdmstats.meta._solver import qe_profile

    k, p = X.shape
    alpha = 1 - level
    crit_u = stats.chi2.isf(alpha / 2, k - p)
    crit_l = stats.chi2.ppf(alpha / 2, k - p)
    tmax = max(100.0, 10 * tau2_hat)
    q_max = qe_profile(tmax, yi, vi, X)
    if qe_profile(0.0, yi, vi, X) < crit_l:
        return "<", "<"
    if q_max > crit_u:
        return ">", ">"
    return "", (">" if q_max > crit_l else "")


@dataclass(frozen=True)
class RMAResult(FittedMixin, ResultMixin, FitStatsMixin):
    """Result of :func:`random_effects` (fields mirror metafor's ``rma.uni`` object).

    ``i2`` is in percent (as metafor); ``weights`` are percentages summing to 100.
    ``df`` is ``k - 1`` for ``test="t"``/``"knha"``/``"adhoc"`` and None for ``"z"``.
    ``summary()`` is the pooled estimate (one row), ``studies()`` the per-study table; the text
    repr shows tau^2, I^2, H^2, Q, the CI and the PI, and the HTML repr shows the same lines
    followed by both tables.
    """

    yi: np.ndarray
    vi: np.ndarray
    labels: list
    method: str
    test: str
    level: float
    k: int
    estimate: float
    se: float
    statistic: float
    pvalue: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau2: float
    se_tau2: float
    tau2_ci_low: float
    tau2_ci_high: float
    i2: float
    i2_ci_low: float
    i2_ci_high: float
    h2: float
    h2_ci_low: float
    h2_ci_high: float
    q: float
    q_df: int
    q_pvalue: float
    weights: np.ndarray
    df: int | None
    converged: bool
    fallback: str | None
    iterations: int
    vt: float
    s2w: float = 1.0
    control: dict = field(default_factory=dict)
    tau2_ci_signs: tuple = ("", "")

    _title = "Random-effects meta-analysis"

    @property
    def tau2_ci_capped(self) -> bool:
        """True when a Q-profile bound exceeds the search limit ``max(100, 10 tau2)`` and is
        reported as that limit (metafor prints it as ``">limit"``)."""
        return ">" in self.tau2_ci_signs

    @property
    def tau(self) -> float:
        """Square root of tau^2."""
        return float(np.sqrt(self.tau2)) if np.isfinite(self.tau2) else np.nan

    def summary(self):
        """One-row DataFrame: pooled estimate, test, CI, PI and heterogeneity."""
        return self._one_row(
            ("k", "estimate", "se", "statistic", "pvalue", "ci_low", "ci_high", "pi_low",
             "pi_high", "tau2", "i2", "h2", "q", "q_pvalue"),
            f"{self.method} ({self.test})",
        )  # fmt: skip

    def studies(self):
        """Per-study table: ``yi``, ``vi``, ``se``, Wald ``ci_low``/``ci_high`` (normal quantile,
        as metafor's ``summary.escalc`` and forest plot) and ``weight`` (percent, as
        ``weights.rma.uni``), indexed by study label.

        Examples
        --------
        >>> from jdmstats.meta.model import random_effects
        >>> fit = random_effects([0.1, 0.5, 0.9, 0.2], [0.02, 0.03, 0.04, 0.01])
        >>> list(fit.studies().columns)
        ['yi', 'vi', 'se', 'ci_low', 'ci_high', 'weight']
        """
        return _study_table(self.yi, self.vi, self.labels, self.level, self.weights)

    def confint(self, type: str = "QP"):
        """Q-profile confidence intervals for tau^2, tau, I^2 (%) and H^2 (metafor ``confint``).

        ``type="PL"``: the profile-likelihood interval of an ML/REML fit instead
        (:func:`jdmstats.meta.profile.tau2_profile_ci`; metafor ``confint(type = "PL")``).

        Examples
        --------
        >>> from jdmstats.meta.model import random_effects
        >>> fit = random_effects([0.1, 0.5, 0.9, 0.2], [0.02, 0.03, 0.04, 0.01])
        >>> list(fit.confint().index)
        ['tau2', 'tau', 'I2', 'H2']
        """
        import pandas as pd

        if type == "PL":
            from jdmstats.meta.profile import tau2_profile_ci

            return tau2_profile_ci(self).summary()
        if type != "QP":
            raise ValueError(f"Unknown type {type!r}; accepted: QP, PL.")
        sq = lambda x: float(np.sqrt(x)) if np.isfinite(x) and x >= 0 else np.nan  # noqa: E731
        rows = {
            "tau2": (self.tau2, self.tau2_ci_low, self.tau2_ci_high),
            "tau": (sq(self.tau2), sq(self.tau2_ci_low), sq(self.tau2_ci_high)),
            "I2": (self.i2, self.i2_ci_low, self.i2_ci_high),
            "H2": (self.h2, self.h2_ci_low, self.h2_ci_high),
        }
        out = pd.DataFrame.from_dict(
            rows, orient="index", columns=["estimate", "ci_low", "ci_high"]
        )
        out.attrs["tau2_ci_signs"] = self.tau2_ci_signs  # metafor's lb.sign / ub.sign
        return out

    def __repr__(self) -> str:
        kind = "Equal-effects" if self.method == "EE" else "Random-effects"
        lines = [f"{kind} model (k = {self.k}; tau^2 estimator: {self.method})", ""]
        if self.method != "EE":
            lines.append(f"tau^2 = {self.tau2:.4f} (SE = {self.se_tau2:.4f}), tau = {self.tau:.4f}")
        lines += [
            f"I^2 = {self.i2:.2f}%, H^2 = {self.h2:.4f}",
            f"Q(df = {self.q_df}) = {self.q:.4f}, p = {self.q_pvalue:.4g}",
            "",
        ]
        stat = "z" if self.test == "z" else f"t(df = {self.df})"
        lines.append(
            f"estimate = {self.estimate:.4f}, se = {self.se:.4f}, {stat} = {self.statistic:.4f}, "
            f"p = {self.pvalue:.4g}"
        )
        pct = round(100 * self.level)
        lines.append(f"{pct}% CI [{self.ci_low:.4f}, {self.ci_high:.4f}]")
        if self.method != "EE":
            lines.append(f"{pct}% PI [{self.pi_low:.4f}, {self.pi_high:.4f}]")
        if self.fallback:
            lines.append(f"(did not converge; fallback = {self.fallback})")
        return "\n".join(lines)


def random_effects(
    yi,
    vi,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    labels=None,
    knha_adhoc: bool = False,
    control: dict | None = None,
    weights=None,
) -> RMAResult:
    """Random-effects (or equal-effects) meta-analysis, as ``metafor::rma.uni``.

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and sampling variances (``vi > 0``).
    method : {"REML", "EE", "FE", "DL", "ML", "PM", "HE", "SJ", "EB", "HS", "HSk", "GENQ", \
"GENQM", "PMM", "DLIT", "SJIT"}
        Estimator of tau^2 (metafor names; GENQ and GENQM need ``weights``).
    test : {"z", "t", "knha", "adhoc"}
        Wald z-test; ``"t"``: the same statistic against t(k - 1), no variance adjustment
        (metafor ``test="t"``); Hartung-Knapp(-Sidik-Jonkman) t-test on k - 1 df with
        metafor's s^2 scaling, or ``"adhoc"``: Hartung-Knapp never narrower than the Wald
        interval (s^2 floored at 1, metafor ``test="adhoc"``).
    level : float
        Confidence level (0.95; 95 is accepted as well).
    labels : sequence of str, optional
        Study labels used in messages and outputs.
    knha_adhoc : bool
        Shortcut: with ``test="knha"``, use the ad hoc correction (same as ``test="adhoc"``).
    control : dict, optional
        Passed to the solver (``threshold``, ``maxiter``, ``stepadj``, ``tau2_init``).
    weights : array_like, optional
        User weights (metafor's ``weights``): the pooled estimate is ``sum(a y) / sum(a)``
        with variance ``sum(a^2 (vi + tau2)) / sum(a)^2``; they are also the weights of the
        GENQ estimator.  Hartung-Knapp still scales by the inverse-variance residuals, as
        metafor.  Q, I^2 and H^2 are unaffected.

    Returns
    -------
    RMAResult

    Notes
    -----
    tau^2 estimators: see :func:`jdmstats.meta._solver.fit_batch` (DerSimonian-Laird 1986,
    REML/ML by Fisher scoring (Viechtbauer 2005), Paule-Mandel 1982, Hedges 1983,
    Sidik-Jonkman 2005, empirical Bayes (Morris 1983)).  Hartung-Knapp: Hartung & Knapp
    (2001), Sidik & Jonkman (2002); ad hoc variant: Knapp & Hartung (2003), Roever et al.
    (2015).  The prediction interval is ``estimate +- crit sqrt(se^2 + tau^2)`` with ``crit``
    from N(0,1) (z) or t(k-1) (knha), as ``metafor::predict.rma``.  I^2 and H^2 use the
    typical within-study variance ``(k-1)/tr(P)`` (Higgins & Thompson 2002; metafor).  The
    tau^2 CI is the Q-profile interval (Viechtbauer 2007), as ``metafor::confint``.
    Validated against metafor 3.8-1 (``rma``, ``predict``, ``confint``) on 8 metadat datasets
    to 1e-6 relative (tests/reference/metafor_core.json).  The iterative estimators stop when
    tau^2 changes by less than ``1e-12 * max(1, tau2)``; metafor's default (``threshold =
    1e-5``) stops earlier, so its default-control tau^2 can differ from ours in the fourth
    significant digit (e.g. 0.0077122 vs 0.0077096 in the :mod:`jdmstats.meta` example); with
    ``control = list(threshold = 1e-13)`` metafor gives our values for the Fisher-scoring
    estimators (ML, REML, EB) and DLIT/SJIT.  Paule-Mandel (PM, PMM) is solved by
    ``uniroot`` in metafor, whose precision is set by ``tol`` (default
    ``.Machine$double.eps^0.25``), not ``threshold``: use ``control = list(tol = 1e-13)``
    there.  A Q-profile bound beyond the search limit ``max(100, 10 tau2)`` is reported as
    the limit with a warning and ``tau2_ci_capped = True`` (metafor prints ``">limit"``).

    GENQM (with ``weights``) is validated against metafor 3.8-1 with CompQuadForm 1.4.3 on 4
    metadat datasets (three weightings, z and knha, a meta-regression; relative 1e-9,
    tests/reference/metafor_genqm.json).
    The estimators HS, HSk, GENQ (with ``weights``), PMM, DLIT and SJIT, ``test="t"`` and user
    weights are validated against metafor 3.8-1 on 6 metadat datasets (z, t, knha; relative
    1e-6, tests/reference/metafor_ext.json).  Where metafor's iterated DL oscillates and stops
    with an error (e.g. dat.hackshaw1998), a RuntimeWarning is emitted and DL is used
    (``fallback="DL"``).

    With k = 1 the pooled estimate is the single study (Wald CI from its own variance); tau^2,
    I^2, H^2 and Q are undefined and returned as NaN with a warning (metafor reports
    tau^2 = 0, I^2 = 0, H^2 = 1 there).

    Examples
    --------
    >>> from jdmstats.meta.model import random_effects
    >>> fit = random_effects([0.10, 0.30, 0.35, 0.65, 0.45], [0.03, 0.02, 0.05, 0.01, 0.04])
    >>> round(fit.estimate, 4), fit.k  # metafor rma(yi, vi): 0.3926
    (0.3926, 5)
    >>> fit.ci_low < fit.estimate < fit.ci_high
    True
    """
    method = _check_method_test(method, test)
    if knha_adhoc and test == "knha":
        test = "adhoc"
    level = _level(level)
    yi, vi, labs = _check_inputs(yi, vi, labels)
    k = yi.size
    nan = float("nan")
    if weights is not None:
        weights = np.asarray(weights, dtype=float).ravel()
        if weights.shape != yi.shape or not np.all(np.isfinite(weights) & (weights > 0)):
            raise ValueError(
                f"weights must be {k} finite positive values (one per study); got {weights!r}."
            )
    elif method in ("GENQ", "GENQM"):
        raise ValueError(f"method='{method}' needs user weights: pass weights=...")

    if k == 1:
        warnings.warn(
            "Only one study (k = 1): the pooled estimate is that study; tau^2, I^2, H^2 and "
            "the Q test are undefined and reported as NaN.",
            UserWarning,
            stacklevel=2,
        )
        se = float(np.sqrt(vi[0]))
        df = 0 if test != "z" else None
        crit = _crit(test, 0, level)
        stat = yi[0] / se
        return RMAResult(
            yi=yi, vi=vi, labels=labs, method=method, test=test, level=level, k=1,
            estimate=float(yi[0]), se=se, statistic=float(stat),
            pvalue=float(_pvalue(np.array(stat), test, 0)),
            ci_low=float(yi[0] - crit * se), ci_high=float(yi[0] + crit * se),
            pi_low=nan, pi_high=nan, tau2=nan, se_tau2=nan, tau2_ci_low=nan,
            tau2_ci_high=nan, i2=nan, i2_ci_low=nan, i2_ci_high=nan, h2=nan, h2_ci_low=nan,
            h2_ci_high=nan, q=nan, q_df=0, q_pvalue=nan, weights=np.array([100.0]), df=df,
            converged=True, fallback=None, iterations=0, vt=nan, control=dict(control or {}),
        )  # fmt: skip

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_batch(yi, vi, method=method, control=control, weights=weights)
    for w in caught:
        warnings.warn(w.message, w.category, stacklevel=2)
    p = 1
    tau2 = float(fit.tau2[0])
    est = float(fit.beta[0, 0])
    if method == "EE" and test != "z":
        warnings.warn(
            "The Knapp & Hartung method is not meant to be used with an EE model.",
            UserWarning,
            stacklevel=2,
        )
    s2w = _knha_scale(float(fit.rss[0]), k, p, test)
    se = float(np.sqrt(s2w * fit.vb[0, 0, 0]))
    if weights is not None:  # metafor: weighted estimate with its sandwich variance
        est = float(np.sum(weights * yi) / np.sum(weights))
        se = float(np.sqrt(s2w * np.sum(weights**2 * (vi + tau2)) / np.sum(weights) ** 2))
    df = k - p if test != "z" else None
    crit = _crit(test, k - p, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = float(np.float64(est) / np.float64(se))  # se = 0 (knha, identical yi) -> inf, as metafor
    pval = float(_pvalue(np.array(stat), test, k - p))
    from scipy import stats

    qe = float(fit.qe[0])
    q_p = float(stats.chi2.sf(qe, k - p))
    vt = float(fit.vt[0])
    signs = ("", "")
    if method == "EE":
        i2 = max(0.0, 100 * (qe - (k - p)) / qe) if qe > 0 else 0.0
        h2 = qe / (k - p)
        t_lo = t_hi = nan
        pi_low, pi_high = est - crit * se, est + crit * se
    else:
        i2 = 100 * tau2 / (vt + tau2)
        h2 = tau2 / vt + 1
        half = crit * np.sqrt(se**2 + tau2)
        pi_low, pi_high = est - half, est + half
        t_lo, t_hi = qprofile_ci(yi, vi, np.ones((k, 1)), level, tau2)
        signs = qprofile_signs(yi, vi, np.ones((k, 1)), level, tau2)
        if ">" in signs:
            warnings.warn(
                f"The Q-profile {'interval' if signs[0] == '>' else 'upper bound'} for tau^2 "
                f"lies beyond the search limit max(100, 10 tau2) = {max(100.0, 10 * tau2):g} "
                "and is reported as that limit (metafor prints '>limit'); see "
                "RMAResult.tau2_ci_capped.",
                UserWarning,
                stacklevel=2,
            )
    w = fit.weights[0] if weights is None else weights
    fb = "DL" if fit.fallback[0] else None
    return RMAResult(
        yi=yi, vi=vi, labels=labs, method=method, test=test, level=level, k=k,
        estimate=est, se=se, statistic=float(stat), pvalue=pval,
        ci_low=float(est - crit * se), ci_high=float(est + crit * se), pi_low=float(pi_low),
        pi_high=float(pi_high), tau2=tau2, se_tau2=float(fit.se_tau2[0]),
        tau2_ci_low=t_lo, tau2_ci_high=t_hi,
        i2=float(i2), i2_ci_low=float(100 * t_lo / (vt + t_lo)), i2_ci_high=float(100 * t_hi / (vt + t_hi)),
        h2=float(h2), h2_ci_low=float(t_lo / vt + 1), h2_ci_high=float(t_hi / vt + 1),
        q=qe, q_df=k - p, q_pvalue=q_p, weights=100 * w / w.sum(), df=df,
        converged=bool(fit.converged[0]), fallback=fb, iterations=int(fit.iterations[0]),
        vt=vt, s2w=float(s2w), control=dict(control or {}), tau2_ci_signs=signs,
    )  # fmt: skip
