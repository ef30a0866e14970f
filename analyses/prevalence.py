"""Question 1: pooled prevalence of calcinosis in juvenile dermatomyositis.

Writes ``tables/prevalence*.csv`` and ``figures/prevalence_*.{pdf,png}`` under ``--out``.

Run from the repository root (no installation needed)::

    python analyses/prevalence.py                      # bundled data, outputs in ./tables, ./figures
    python analyses/prevalence.py --data my/harmonised --out /tmp/results
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable from a fresh clone without installing
    sys.path.insert(0, str(ROOT))


def summary(out: Path) -> None:
    import pandas as pd

    for _, r in pd.read_csv(out / "tables" / "prevalence.csv").iterrows():
        print(
            f"{r['model']:<30} k={r['k']:<3d} {100 * r['estimate']:5.1f}% "
            f"(95% CI {100 * r['ci_low']:.1f}-{100 * r['ci_high']:.1f}; "
            f"PI {100 * r['pi_low']:.1f}-{100 * r['pi_high']:.1f})"
        )


if __name__ == "__main__":
    from jdmstats.outputs.runner import script_main

    raise SystemExit(script_main("prevalence", __doc__, summary=summary))
