"""jdmstats.meta: random-effects meta-analysis checked against R's metafor.

Every name below is imported on first use, so ``import jdmstats.meta`` stays cheap.

=========================  ===============================================================
random_effects             rma.uni: EE/DL/REML/ML/PM/HE/SJ/EB, z / knha / adhoc, Q-profile
subgroup_analysis          per-subgroup fits and the test for subgroup differences
metareg                    meta-regression (QM, QE, R², knha F-test, predict)
permutation_test           permutest: vectorised, seeded
proportion                 pooled proportion: inverse-variance (logit/arcsine/FT/raw) or GLMM
binomial_glmm              rma.glmm(measure="PLO"): binomial-normal model, adaptive GH quadrature
escalc                     effect sizes: PR, PLO, PAS, PFT, OR, RD, MD, SMD, ZCOR
clopper_pearson, wilson    per-study confidence intervals for proportions
median_to_mean             medians with IQR/range → means and SDs (Wan 2014, Luo 2018, Shi 2020)
leave_one_out, influence   leave1out, influence.rma.uni
cumulative, baujat         cumul, baujat
egger_test, begg_test      regtest, ranktest
trim_and_fill              trimfill (L0, R0; either side)
anova, fit_statistics      anova (likelihood-ratio test of nested models), fitstats / logLik /
                           AIC / BIC (also .loglik, .aic, .bic, .aicc on every fitted model)
multilevel                 rma.mv: nested random intercepts, known V, REML/ML, profile CIs
robust                     robust(): cluster-robust CR1 (metafor) or CR2 (clubSandwich)
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
    "subgroup_analysis": "model",
    "SubgroupResult": "model",
    "metareg": "metareg",
    "MetaRegResult": "metareg",
    "permutation_test": "metareg",
    "PermutationResult": "metareg",
    "proportion": "proportion",
    "ProportionResult": "proportion",
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
    "leave_one_out": "influence",
    "influence": "influence",
    "InfluenceResult": "influence",
    "cumulative": "influence",
    "baujat": "influence",
    "egger_test": "bias",
    "EggerResult": "bias",
    "begg_test": "bias",
    "BeggResult": "bias",
    "trim_and_fill": "bias",
    "TrimFillResult": "bias",
    "anova": "fitstats",
    "multilevel": "multilevel",
    "MultilevelResult": "multilevel",
    "robust": "robust",
    "RobustResult": "robust",
    "fit_statistics": "fitstats",
    "LRTResult": "fitstats",
}

__all__ = sorted(_EXPORTS)


# Three public functions share their name with the module that defines them (``metareg``,
# ``proportion``, ``influence``). Importing a submodule binds the package attribute to the
# module, so these are bound eagerly here, after their modules are loaded, and the function wins.
from .influence import influence  # noqa: E402, F401
from .metareg import metareg  # noqa: E402, F401
from .multilevel import multilevel  # noqa: E402, F401  (same clash: module multilevel)
from .proportion import proportion  # noqa: E402, F401
from .robust import robust  # noqa: E402, F401  (same clash: module robust)


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jdmstats.meta' has no attribute {name!r}")


def __dir__():
    return __all__
