"""Survival engine (layer 2): domain-free estimators for right- and interval-censored times.

Everything here works on plain arrays and knows nothing of JDM; each function is validated
against R's survival package (``tests/reference/survival_reference.R`` and
``tests/reference/survival_extra.R``).

* :func:`kaplan_meier`, :func:`quantile_step` — Kaplan–Meier with survfit's intervals and quantiles.
* :func:`turnbull`, :func:`survival_at`, :func:`median_interval`, :func:`innermost_intervals` —
  Turnbull's NPMLE for interval-censored times; :func:`turnbull_bootstrap` — its (cluster)
  bootstrap percentile bands and median interval.
* :func:`aft_interval` — Weibull, log-normal and log-logistic accelerated-failure-time models
  for interval-censored times.
* :func:`cox` — Cox model with strata, Efron/Breslow ties and cluster-robust errors;
  :func:`cox_zph` — its proportional-hazards score test (``cox.zph``); :func:`cox_cluster` —
  the unstratified Cox model used by :mod:`jdmstats.response`; :func:`logrank` — log-rank test.
"""

from __future__ import annotations

from jdmstats.survival.bootstrap import TurnbullBootstrap, turnbull_bootstrap
from jdmstats.survival.cox import CoxModel, CoxZph, cox, cox_zph
from jdmstats.survival.models import (
    AFTFit,
    CoxFit,
    KMFit,
    aft_interval,
    cox_cluster,
    kaplan_meier,
    logrank,
    quantile_step,
)
from jdmstats.survival.turnbull import (
    TurnbullFit,
    innermost_intervals,
    median_interval,
    survival_at,
    turnbull,
)

__all__ = [
    "AFTFit", "CoxFit", "CoxModel", "CoxZph", "KMFit", "TurnbullBootstrap", "TurnbullFit",
    "aft_interval", "cox", "cox_cluster", "cox_zph", "innermost_intervals", "kaplan_meier",
    "logrank", "median_interval", "quantile_step", "survival_at", "turnbull",
    "turnbull_bootstrap",
]  # fmt: skip
