"""jdmstats: pooled evidence on calcinosis in juvenile dermatomyositis.

Importing the package is light: pandas, statsmodels, lifelines and matplotlib are imported
only by the submodules that need them (``jdmstats.evidence.datasets``, ``jdmstats.meta``, ...).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    # layer packages
    "evidence",
    "meta",
    "survival",
    "firth",
    "questions",
    "plots",
    "outputs",
    "report",
    "cli",
    "errors",
    "results",
    # the public short names of the documented API (aliases of their layer's modules)
    "datasets",
    "schema",
    "harmonise",
    "validate",
    "descriptive",
    "prevalence",
    "delay",
    "response",
    "pipeline",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str):
    """Import submodules lazily so that ``import jdmstats`` stays cheap."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'jdmstats' has no attribute {name!r}")
