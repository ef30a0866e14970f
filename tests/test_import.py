"""`import jdmstats` stays light: no pandas, matplotlib, statsmodels or lifelines."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pandas", "matplotlib", "statsmodels", "lifelines", "scipy")


def test_import_is_light():
    code = (
        "import sys, jdmstats, jdmstats.evidence.schema; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_submodules_are_reachable_lazily():
    import jdmstats

    assert jdmstats.evidence.schema.therapy_class_of("Zoledronic acid") == "bisphosphonate"


def test_meta_exports_stay_functions_after_every_submodule_is_imported():
    """``metareg``, ``proportion`` and ``influence`` share their names with their modules:
    importing those modules must not replace the public functions on ``jdmstats.meta``."""
    code = (
        "import importlib, pkgutil, jdmstats.meta as meta\n"
        "for m in pkgutil.iter_modules(meta.__path__):\n"
        "    importlib.import_module('jdmstats.meta.' + m.name)\n"
        "bad = [n for n in meta.__all__ if not callable(getattr(meta, n))]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
