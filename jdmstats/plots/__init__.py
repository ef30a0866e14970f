"""Publication figures. Every plot function takes ``ax=None`` and returns the Axes.

pyplot is imported inside the functions (never at ``import jdmstats``). Shared sizes, palette
and the PDF/PNG writer live in :mod:`jdmstats.plots.style`.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "forest": "forest",
    "forest_effects": "forest",
    "forest_height": "forest",
    "funnel": "meta",
    "bubble": "meta",
    "leave_one_out_plot": "meta",
    "baujat_plot": "meta",
    "survival_curves": "survival",
    "swimmer": "survival",
    "response_forest": "response",
    "prisma_counts": "prisma",
    "save_prisma": "prisma",
}
"""Public plot functions and the submodule that defines each (imported on first use)."""


# ``forest`` is both a submodule and its main function; importing the submodule binds the
# package attribute to the module, so the function is bound here, after it (numpy only).
from .forest import forest  # noqa: E402, F401


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    if name in ("style", "meta", "survival", "response", "prisma"):
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'jdmstats.plots' has no attribute {name!r}")
