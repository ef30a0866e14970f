"""Meta-analysis of single proportions (prevalence), reported on the proportion scale.

Two models:

* ``model="iv"``: transform the study proportions (logit, arcsine, Freeman-Tukey or raw) with
  :func:`jdmstats.meta.effects.escalc`, pool them with
  :func:`jdmstats.meta.model.random_effects`, back-transform estimate, CI and PI.
* ``model="glmm"``: binomial-normal random-intercept model
  (:func:`jdmstats.meta.glmm.binomial_glmm`), no continuity correction, back-transformed with
  the inverse logit.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jdmstats.meta.effects import (
    FT_WARNING,
    _check_level,
    _counts,
    _measure_for,
    clopper_pearson,
    escalc,
    transf_iarcsin,
    transf_ilogit,
    transf_ipft_hm,
)
from jdmstats.meta.fitstats import DelegatedFitStatsMixin
from jdmstats.results import FittedMixin, ResultMixin, tables_text

__all__ = ["ProportionResult", "proportion", "TRANSFORMS", "MODELS"]

#: Accepted transforms (aliases: "raw"="identity"; "freeman-tukey"="ft"="double-arcsine").
TRANSFORMS = ("logit", "arcsine", "freeman-tukey", "raw")
#: Accepted models.
MODELS = ("iv", "glmm")

_NAMES = {"PLO": "logit", "PAS": "arcsine", "PFT": "freeman-tukey", "PR": "raw"}


@dataclass(frozen=True)
class ProportionResult(FittedMixin, DelegatedFitStatsMixin, ResultMixin):
    """Pooled proportion with back-transformed estimate, CI and prediction interval.

    Attributes
    ----------
    estimate, ci_low, ci_high, pi_low, pi_high : float
        Pooled proportion, its confidence interval and the prediction interval, on the
        proportion scale (back-transformed).
    estimate_t, se_t, ci_low_t, ci_high_t, pi_low_t, pi_high_t : float
        The same on the transformed scale (logit, arcsine, ...), with the standard error.
    pvalue : float
        p-value of the test of the transformed estimate against 0 (as metafor prints it).
    tau2, i2, h2, q, q_pvalue : float
        Heterogeneity on the transformed scale (for ``model="glmm"``, ``q`` is the Wald-type
        test of ``rma.glmm``; the LRT is in ``fit``).
    k : int
        Number of studies.
    events, totals : ndarray
        The data.
    labels : tuple
        Study labels.
    study_prop, study_ci_low, study_ci_high : ndarray
        Observed proportions with exact Clopper-Pearson intervals per study.
    weights : ndarray or None
        Percent weights of the inverse-variance model (None for the GLMM).
    transform, model, method, test : str
        What was fitted (``method`` is ``"ML"`` for the GLMM).
    level : float
    cc_applied : ndarray of bool
        Studies that received the continuity correction (never for the GLMM).
    cc_value : float
        The correction added (0 when none).
    cc_to : str
        metafor's ``to`` rule used.
    fit : RMAResult or GLMMResult
        The transformed-scale fit, kept whole.
    notes : tuple of str
        Warnings raised while fitting (e.g. the Freeman-Tukey caveat).

    ``summary()`` is the pooled estimate (one row), ``studies()`` the per-study table (two
    tables, never mixed); ``loglik``, ``deviance``, ``aic``, ``bic``, ``aicc``,
    ``fit_stats()`` and ``confint()`` are those of the transformed-scale ``fit``.
    """

    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    estimate_t: float
    se_t: float
    ci_low_t: float
    ci_high_t: float
    pi_low_t: float
    pi_high_t: float
    pvalue: float
    tau2: float
    i2: float
    h2: float
    q: float
    q_pvalue: float
    k: int
    events: np.ndarray
    totals: np.ndarray
    labels: tuple
    study_prop: np.ndarray
    study_ci_low: np.ndarray
    study_ci_high: np.ndarray
    weights: Any
    transform: str
    model: str
    method: str
    test: str
    level: float
    cc_applied: np.ndarray
    cc_value: float
    cc_to: str
    fit: Any
    notes: tuple = ()
    _title: str = field(default="Meta-analysis of proportions", repr=False)

    @property
    def cc_studies(self) -> tuple:
        """Labels of the studies that received the continuity correction."""
        return tuple(lab for lab, a in zip(self.labels, self.cc_applied, strict=True) if a)

    def summary(self):
        """The pooled estimate: one row (the model) with ``k``, the total ``events`` and
        ``total`` (integers, Int64), the pooled proportion with its CI and PI, tau^2, I^2 and
        the heterogeneity test.  The studies are in :meth:`studies`.

        Examples
        --------
        >>> from jdmstats.meta.proportions import proportion
        >>> res = proportion([3, 10, 0, 7], [20, 40, 12, 25])
        >>> list(res.summary().index), str(res.summary()["events"].dtype)
        (['Pooled (logit, REML, z)'], 'Int64')
        """
        import pandas as pd

        return pd.DataFrame(
            {
                "k": pd.array([self.k], dtype="Int64"),
                "events": pd.array([int(np.sum(self.events))], dtype="Int64"),
                "total": pd.array([int(np.sum(self.totals))], dtype="Int64"),
                "proportion": [self.estimate],
                "ci_low": [self.ci_low],
                "ci_high": [self.ci_high],
                "pi_low": [self.pi_low],
                "pi_high": [self.pi_high],
                "tau2": [self.tau2],
                "i2": [self.i2],
                "q": [self.q],
                "q_pvalue": [self.q_pvalue],
            },
            index=pd.Index([f"Pooled ({self._model_label()})"], name="model"),
        )

    def studies(self):
        """Per-study table: ``events`` and ``total`` (Int64), the observed ``proportion`` with
        its exact Clopper-Pearson ``ci_low``/``ci_high``, and ``weight`` (percent, the
        inverse-variance model's; metafor ``weights.rma.uni``).

        For ``model="glmm"`` there is no weight column: weights are not defined for the
        binomial-normal model (metafor 3.8-1: ``weights()`` is not available for
        ``rma.glmm``); ``attrs["note"]`` says so and the repr shows it.
        """
        import pandas as pd

        out = pd.DataFrame(
            {
                "events": pd.array(np.asarray(self.events, dtype=np.int64), dtype="Int64"),
                "total": pd.array(np.asarray(self.totals, dtype=np.int64), dtype="Int64"),
                "proportion": self.study_prop,
                "ci_low": self.study_ci_low,
                "ci_high": self.study_ci_high,
            },
            index=pd.Index(list(self.labels), name="study"),
        )
        if self.weights is not None:
            out["weight"] = np.asarray(self.weights, dtype=float)
        else:
            from jdmstats.meta.glmm import GLMM_WEIGHTS_NOTE

            out.attrs["note"] = GLMM_WEIGHTS_NOTE
        return out

    def confint(self, *args, **kwargs):
        """``fit.confint()``: Q-profile (or ``type="PL"``) intervals for tau^2, tau, I^2 and
        H^2 of the inverse-variance model; for the GLMM the Wald interval of the logit (metafor
        has no ``confint`` for ``rma.glmm``)."""
        return self.fit.confint(*args, **kwargs)

    def _model_label(self) -> str:
        if self.model == "glmm":
            return "GLMM, ML"
        return f"{self.transform}, {self.method}, {self.test}"

    def __repr__(self) -> str:
        pct = f"{100 * self.level:g}%"
        if self.model == "glmm":
            head = (
                f"Random-effects meta-analysis of proportions (k = {self.k}); binomial-normal "
                f"GLMM, ML, {self.fit.n_nodes}-node adaptive Gauss-Hermite"
            )
        else:
            head = (
                f"Random-effects meta-analysis of proportions (k = {self.k}); {self.transform} "
                f"transform, tau^2 estimator: {self.method}, test: {self.test}"
            )
        lines = [head, ""]
        lines.append(
            f"tau^2 = {self.tau2:.4f}, I^2 = {self.i2:.2f}%, H^2 = {self.h2:.4f}"
            if np.isfinite(self.tau2)
            else "tau^2, I^2, H^2: undefined (k = 1)"
        )
        if np.isfinite(self.q):
            kind = "Wald-type Q" if self.model == "glmm" else "Q"
            lines.append(f"{kind}(df = {self.k - 1}) = {self.q:.4f}, p = {self.q_pvalue:.4g}")
        lines += [
            "",
            f"Pooled proportion = {self.estimate:.4f}, {pct} CI [{self.ci_low:.4f}, "
            f"{self.ci_high:.4f}], {pct} PI [{self.pi_low:.4f}, {self.pi_high:.4f}]",
            f"(transformed scale: estimate = {self.estimate_t:.4f}, se = {self.se_t:.4f}, "
            f"p = {self.pvalue:.4g})",
        ]
        n_cc = int(np.sum(self.cc_applied))
        if n_cc:
            lines.append(
                f"Continuity correction {self.cc_value:g} ({self.cc_to}) added to {n_cc} "
                f"studies: {', '.join(self.cc_studies)}"
            )
        for note in self.notes:
            lines.append(f"Note: {note}")
        ll = f"logLik = {self.loglik:.4f}, AIC = {self.aic:.4f}, BIC = {self.bic:.4f}"
        lines.append(f"({'marginal ' if self.model == 'glmm' else ''}{ll})")
        lines += ["", tables_text([("Studies", self.studies())])]
        return "\n".join(lines)


def proportion(
    events,
    totals,
    transform: str = "logit",
    method: str = "REML",
    test: str = "z",
    model: str = "iv",
    level: float = 0.95,
    cc: float | None = None,
    cc_to: str = "only0",
    labels=None,
    n_nodes: int = 7,
    control: dict | None = None,
) -> ProportionResult:
    """Pool single proportions (prevalence) and report them on the proportion scale.

    Parameters
    ----------
    events, totals : array_like
        Events and patients per study.
    transform : {"logit", "arcsine", "freeman-tukey", "raw"}
        Scale of the inverse-variance model (``model="iv"``); metafor codes ``"PLO"``,
        ``"PAS"``, ``"PFT"``, ``"PR"`` are accepted.  The GLMM always uses the logit.
        Freeman-Tukey emits a warning about its back-transformation.
    method : str
        tau^2 estimator for ``model="iv"`` (``"REML"``, ``"DL"``, ``"ML"``, ``"PM"``, ``"HE"``,
        ``"SJ"``, ``"EB"``, ``"EE"``).  Ignored for the GLMM (ML).
    test : str
        ``"z"``, ``"knha"`` or ``"adhoc"`` for ``model="iv"``; ``"z"`` or ``"t"`` for the GLMM.
    model : {"iv", "glmm"}
        Inverse-variance random-effects model on transformed proportions, or the
        binomial-normal GLMM.
    level : float
        Confidence level of the CI, PI and per-study intervals.
    cc : float, optional
        Continuity correction for ``model="iv"`` (metafor's ``add``; default 1/2 for logit and
        raw, 0 for arcsine and Freeman-Tukey).  Not used by the GLMM.
    cc_to : {"only0", "all", "if0all", "none"}
        Which studies receive it (metafor's ``to``).
    labels : sequence, optional
        Study labels.
    n_nodes : int
        GLMM quadrature nodes (7 = metafor's default; 1 = Laplace).
    control : dict, optional
        Passed to the estimator.

    Returns
    -------
    ProportionResult
        Back-transformed estimate/CI/PI, per-study Clopper-Pearson intervals, heterogeneity,
        the continuity-correction record and the transformed-scale fit (``fit``).

    Raises
    ------
    ValueError
        Invalid counts (the study is named, e.g. events > totals), unknown transform, model,
        method or test (accepted values listed).

    Notes
    -----
    Back-transformations as metafor's ``predict(res, transf=...)``: ``transf.ilogit`` (logit),
    ``transf.iarcsin`` (arcsine), ``transf.ipft.hm`` with the harmonic mean of the study sizes
    (Freeman-Tukey; Miller 1978) and identity (raw).  The prediction interval is back-
    transformed from ``estimate -/+ crit sqrt(se^2 + tau^2)``.  On the raw scale nothing is
    truncated (as metafor), so a CI or PI may leave [0, 1].  Per-study intervals are
    Clopper-Pearson (exact).  See Schwarzer et al. (2019, Res Synth Methods 10:476-483) on the
    Freeman-Tukey pitfalls and Stijnen et al. (2010) for the GLMM.

    Validated against metafor 3.8-1 ``rma`` + ``predict(transf=)`` (PLO/PAS/PFT/PR; REML, DL,
    ML; z and knha; relative 1e-6) and ``rma.glmm(measure="PLO")`` (relative 1e-4) on
    dat.pritz1997, dat.debruin2009, dat.hannum2020, dat.nielweise2007 and a constructed data set
    with zero- and all-event studies.

    Examples
    --------
    >>> from jdmstats.meta.proportions import proportion
    >>> res = proportion([3, 10, 0, 7], [20, 40, 12, 25])
    >>> 0 < res.ci_low < res.estimate < res.ci_high < 1
    True
    >>> res.cc_studies
    ('3',)
    >>> glmm = proportion([3, 10, 0, 7], [20, 40, 12, 25], model="glmm")
    >>> glmm.cc_studies
    ()
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; accepted: {', '.join(MODELS)}")
    x, n, lab = _counts(events, totals, labels)
    level = _check_level(level)
    k = x.shape[0]
    study_lo, study_hi = clopper_pearson(x, n, level)
    notes: list[str] = []

    if model == "glmm":
        from jdmstats.meta.glmm import binomial_glmm

        if test not in ("z", "t"):
            raise ValueError(
                f"test {test!r} is not available for model='glmm'; accepted: z, t "
                "(t uses k - 1 df, as rma.glmm)"
            )
        tr = _measure_for(transform)
        if tr != "PLO":
            raise ValueError("model='glmm' uses the logit link; use transform='logit'")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = binomial_glmm(
                x, n, level=level, n_nodes=n_nodes, test=test, labels=lab, control=control
            )
        for w in caught:
            notes.append(str(w.message))
            warnings.warn(w.message, w.category, stacklevel=2)
        back = transf_ilogit
        est_t, se_t = fit.estimate, fit.se
        ci_t, pi_t = (fit.ci_low, fit.ci_high), (fit.pi_low, fit.pi_high)
        q, q_p = fit.qe_wald, fit.qe_wald_pvalue
        return _build(
            fit, back, est_t, se_t, ci_t, pi_t, fit.pvalue, fit.tau2, fit.i2, fit.h2, q, q_p,
            x, n, lab, study_lo, study_hi, None, "logit", "glmm", "ML", test, level,
            np.zeros(k, dtype=bool), 0.0, "none", notes,
        )  # fmt: skip

    from jdmstats.meta.model import random_effects

    measure = _measure_for(transform)
    es = escalc(measure, xi=x, ni=n, add=cc, to=cc_to, labels=lab)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = random_effects(
            es.yi,
            es.vi,
            method=method,
            test=test,
            level=level,
            labels=list(lab),
            control=control,
        )
    for w in caught:
        notes.append(str(w.message))
        warnings.warn(w.message, w.category, stacklevel=2)
    if measure == "PLO":
        back = transf_ilogit
    elif measure == "PAS":
        back = transf_iarcsin
    elif measure == "PFT":
        warnings.warn(FT_WARNING, UserWarning, stacklevel=2)
        notes.append(FT_WARNING)

        def back(v):
            return transf_ipft_hm(v, n, warn=False)

    else:

        def back(v):
            return np.asarray(v, dtype=float)

    return _build(
        fit, back, fit.estimate, fit.se, (fit.ci_low, fit.ci_high), (fit.pi_low, fit.pi_high),
        fit.pvalue, fit.tau2, fit.i2, fit.h2, fit.q, fit.q_pvalue, x, n, lab, study_lo,
        study_hi, np.asarray(fit.weights, dtype=float), _NAMES[measure], "iv", fit.method,
        fit.test, level, es.cc_applied, es.cc_value if es.cc_applied.any() else 0.0,
        es.cc_to, notes,
    )  # fmt: skip


def _build(
    fit, back, est_t, se_t, ci_t, pi_t, pvalue, tau2, i2, h2, q, q_p, x, n, lab, study_lo,
    study_hi, weights, transform, model, method, test, level, cc_applied, cc_value, cc_to, notes,
) -> ProportionResult:  # fmt: skip
    def bt(v):
        return float(back(np.asarray(v, dtype=float))) if np.isfinite(v) else float("nan")

    return ProportionResult(
        estimate=bt(est_t),
        ci_low=bt(ci_t[0]),
        ci_high=bt(ci_t[1]),
        pi_low=bt(pi_t[0]),
        pi_high=bt(pi_t[1]),
        estimate_t=float(est_t),
        se_t=float(se_t),
        ci_low_t=float(ci_t[0]),
        ci_high_t=float(ci_t[1]),
        pi_low_t=float(pi_t[0]),
        pi_high_t=float(pi_t[1]),
        pvalue=float(pvalue),
        tau2=float(tau2),
        i2=float(i2),
        h2=float(h2),
        q=float(q),
        q_pvalue=float(q_p),
        k=int(x.shape[0]),
        events=x,
        totals=n,
        labels=tuple(lab),
        study_prop=x / n,
        study_ci_low=study_lo,
        study_ci_high=study_hi,
        weights=weights,
        transform=transform,
        model=model,
        method=method,
        test=test,
        level=level,
        cc_applied=np.asarray(cc_applied, dtype=bool),
        cc_value=float(cc_value),
        cc_to=cc_to,
        fit=fit,
        notes=tuple(dict.fromkeys(notes)),
    )
