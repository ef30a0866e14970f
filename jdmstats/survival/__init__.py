"""Survival engine (layer 2): domain-free estimators for right- and interval-censored times.

Everything here works on plain arrays and knows nothing of JDM; each function is validated
against R's survival package (``tests/reference/survival_reference.R``).

* :func:`kaplan_meier`, :func:`quantile_step` — Kaplan–Meier with survfit's intervals and quantiles.
* :func:`turnbull`, :func:`survival_at`, :func:`median_interval`, :func:`innermost_intervals` —
  Turnbull's NPMLE for interval-censored times.
* :func:`aft_interval` — parametric accelerated-failure-time models for interval-censored times.
* :func:`cox_cluster` — Cox model with cluster-robust errors; :func:`logrank` — log-rank test.
"""

from __future__ import annotations

from jdmstats.survival.bootstrap import TurnbullBootstrap, turnbull_bootstrap
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
    "AFTFit", "CoxFit", "KMFit", "TurnbullFit", "aft_interval", "cox_cluster",
    "innermost_intervals", "kaplan_meier", "logrank", "median_interval", "quantile_step",
    "survival_at", "turnbull", "TurnbullBootstrap", "turnbull_bootstrap",
]  # fmt: skip
