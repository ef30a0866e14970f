"""jdmstats: pooled evidence on calcinosis in juvenile dermatomyositis.

Importing the package is light: pandas, statsmodels, lifelines and matplotlib are imported
only by the submodules that need them (``jdmstats.datasets``, ``jdmstats.meta``, ...).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "cli",
    "datasets",
    "delay",
    "errors",
    "harmonise",
    "meta",
    "plots",
    "prevalence",
    "report",
    "response",
    "schema",
    "survival",
    "validate",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str):
    """Import submodules lazily so that ``import jdmstats`` stays cheap."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'jdmstats' has no attribute {name!r}")
