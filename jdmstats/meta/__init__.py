"""jdmstats.meta: random-effects meta-analysis checked against R's metafor.

Every name below is imported on first use, so ``import jdmstats.meta`` stays cheap.

Every fitted model (random_effects, metareg, proportion, binomial_glmm, multilevel,
mantel_haenszel, peto, robust) has the same inspection API: ``summary()`` is the model table
(the pooled estimate or the coefficients), ``studies()`` the per-study table (the two are never
mixed; counts are integers), ``confint()``, and ``loglik``, ``deviance``, ``aic``, ``bic``,
``aicc`` and ``fit_stats()``.  In Jupyter each renders every line of its text repr (tau^2,
I^2, H^2, Q with df and p, the CI and PI; QM, QE and R^2 for a meta-regression) above both
tables.

=========================  ===============================================================
random_effects             rma.uni: EE/DL/REML/ML/PM/HE/SJ/EB, HS/HSk/GENQ/GENQM/PMM/DLIT/SJIT,
                           z / t / knha / adhoc, Q-profile
subgroup_analysis          per-subgroup fits and the test for subgroup differences
metareg                    meta-regression (QM, QE, R², knha F-test, predict); formulas
                           "yi ~ year + factor(region)" as metafor's mods = ~ (formulaic)
permutation_test           permutest: vectorised, seeded
proportion                 pooled proportion: inverse-variance (logit/arcsine/FT/raw) or GLMM
binomial_glmm              rma.glmm(measure="PLO"): binomial-normal model, adaptive GH quadrature
escalc                     effect sizes: PR, PLO, PAS, PFT, OR, RR, RD, AS, PETO, YUQ, YUY,
                           IRR, IRD, MD, SMD, ROM, ZCOR
tau2_profile_ci            confint(type = "PL"): profile-likelihood CI for tau^2 (ML, REML)
mantel_haenszel, peto      rma.mh (OR, RR, RD, IRR, IRD; CMH, Breslow-Day, Tarone), rma.peto
clopper_pearson, wilson    per-study confidence intervals for proportions
median_to_mean             medians with IQR/range → means and SDs (Wan 2014, Luo 2018, Shi 2020)
leave_one_out, influence   leave1out, influence.rma.uni
cumulative, baujat         cumul, baujat
egger_test, begg_test      regtest, ranktest
trim_and_fill              trimfill (L0, R0; either side)
fail_safe_n                fsn (Rosenthal (Stouffer/Fisher), Orwin, Rosenberg)
excess_significance        tes (exact / chi2 / binom; tau2 > 0 allowed)
selection_model            selmodel: step-function, beta, half-normal, negative-exponential,
                           logistic and power selection models
anova, fit_statistics      anova (likelihood-ratio test of nested models), fitstats / logLik /
                           AIC / BIC (also .loglik, .aic, .bic, .aicc on every fitted model)
multilevel                 rma.mv: nested random intercepts, known V, REML/ML, profile CIs
robust                     robust(): cluster-robust CR1 (metafor) or CR2 (clubSandwich)
bayes, bayes_proportion    bayesmeta: Bayesian normal-normal model by numerical integration
                           over tau (half-normal/Cauchy/t, uniform, Jeffreys tau priors)
=========================  ===============================================================

Examples
--------
>>> from jdmstats import meta
>>> fit = meta.random_effects([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.01, 0.04], method="REML")
>>> round(fit.estimate, 6), round(fit.tau2, 7)  # metafor, threshold = 1e-13: 0.313523, 0.0077096
(0.313523, 0.0077096)
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "random_effects": "model",
    "RMAResult": "model",
    "subgroup_analysis": "subgroups",
    "SubgroupResult": "subgroups",
    "metareg": "regression",
    "MetaRegResult": "regression",
    "permutation_test": "regression",
    "PermutationResult": "regression",
    "proportion": "proportions",
    "ProportionResult": "proportions",
    "binomial_glmm": "glmm",
    "GLMMResult": "glmm",
    "escalc": "effects",
    "proportion_effects": "effects",
    "EffectSizes": "effects",
    "clopper_pearson": "effects",
    "wilson": "effects",
    "transf_ilogit": "effects",
    "transf_logit": "effects",
    "transf_iarcsin": "effects",
    "transf_pft": "effects",
    "transf_ipft_hm": "effects",
    "median_to_mean": "convert",
    "ConversionResult": "convert",
    "leave_one_out": "diagnostics",
    "influence": "diagnostics",
    "InfluenceResult": "diagnostics",
    "LeaveOneOutResult": "diagnostics",
    "CumulativeResult": "diagnostics",
    "BaujatResult": "diagnostics",
    "FitStatistics": "fitstats",
    "cumulative": "diagnostics",
    "baujat": "diagnostics",
    "egger_test": "bias",
    "EggerResult": "bias",
    "begg_test": "bias",
    "BeggResult": "bias",
    "trim_and_fill": "bias",
    "TrimFillResult": "bias",
    "anova": "comparison",
    "multilevel": "multilevel_models",
    "MultilevelResult": "multilevel_models",
    "robust": "cluster_robust",
    "RobustResult": "cluster_robust",
    "fit_statistics": "fitstats",
    "LRTResult": "comparison",
    "mantel_haenszel": "mh",
    "peto": "mh",
    "MHResult": "mh",
    "tau2_profile_ci": "profile",
    "ProfileCIResult": "profile",
    "fail_safe_n": "failsafe",
    "FailSafeNResult": "failsafe",
    "excess_significance": "failsafe",
    "ExcessSignificanceResult": "failsafe",
    "selection_model": "selection",
    "bayes": "bayesian",
    "bayes_proportion": "bayesian",
    "BayesResult": "bayesian",
    "SelectionResult": "selection",
}

__all__ = sorted(_EXPORTS)



def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jdmstats.meta' has no attribute {name!r}")


def __dir__():
    return __all__
