"""`import jdmstats` stays light: no pandas, matplotlib, statsmodels or lifelines."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pandas", "matplotlib", "statsmodels", "lifelines", "scipy")


def test_import_is_light():
    code = (
        "import sys, jdmstats, jdmstats.schema; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_submodules_are_reachable_lazily():
    import jdmstats

    assert jdmstats.schema.therapy_class_of("Zoledronic acid") == "bisphosphonate"
