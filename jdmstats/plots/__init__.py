"""Publication figures. Every plot function takes ``ax=None`` and returns the Axes.

pyplot is imported inside the functions (never at ``import jdmstats``). Shared sizes, palette
and the PDF/PNG writer live in :mod:`jdmstats.plots.style`.
"""

from __future__ import annotations

import importlib

_EXPORTS = {}  # name -> submodule; filled as plot modules are added


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    if name in ("style",):
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'jdmstats.plots' has no attribute {name!r}")
