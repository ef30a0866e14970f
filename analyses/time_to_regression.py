"""Question 3: therapy response and time-to-regression of calcinosis, by therapy class.

Writes tables/response_by_class.csv, tables/time_to_regression*.csv, tables/response_exclusions.csv
and figures/response_forest, figures/time_to_regression, figures/swimmer (PDF + PNG).

Usage (from the repository root)::

    python analyses/time_to_regression.py [--data DIR] [--out DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable from a fresh clone without installing
    sys.path.insert(0, str(ROOT))


def summary(out: Path) -> None:
    import pandas as pd

    for _, r in pd.read_csv(out / "tables" / "response_by_class.csv").iterrows():
        est = (
            ""
            if pd.isna(r["estimate"])
            else (
                f"{100 * r['estimate']:.0f}% (95% CI {100 * r['ci_low']:.0f}-{100 * r['ci_high']:.0f})"
            )
        )
        print(f"{r['class']:<26} {r['any_regression']:>3}/{r['episodes']:<3} regressed {est}")


if __name__ == "__main__":
    from jdmstats.outputs.runner import script_main

    raise SystemExit(script_main("response", __doc__, summary=summary))
