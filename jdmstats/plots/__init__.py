"""Publication figures. Every plot function takes ``ax=None`` and returns the Axes.

pyplot is imported inside the functions (never at ``import jdmstats``). Shared sizes, palette
and the PDF/PNG writer live in :mod:`jdmstats.plots.style`.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "forest": "forests",
    "forest_effects": "forests",
    "forest_bayes": "forests",
    "forest_height": "forests",
    "funnel": "diagnostics",
    "bubble": "diagnostics",
    "leave_one_out_plot": "diagnostics",
    "baujat_plot": "diagnostics",
    "survival_curves": "survival",
    "swimmer": "survival",
    "response_forest": "therapy",
    "save_prisma": "prisma",
}
"""Public plot functions and the submodule that defines each (imported on first use)."""



def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    if name in ("style", "forests", "diagnostics", "survival", "therapy", "prisma"):
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'jdmstats.plots' has no attribute {name!r}")
