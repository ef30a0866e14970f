"""Question 2: diagnostic delay and calcinosis (study, group and patient level).

Writes ``tables/delay_*.csv`` and ``figures/delay_*.{pdf,png}`` under ``--out``.

Run from the repository root (no installation needed)::

    python analyses/delay.py                      # bundled data, outputs in ./tables, ./figures
    python analyses/delay.py --data my/harmonised --out /tmp/results
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable from a fresh clone without installing
    sys.path.insert(0, str(ROOT))


def summary(out: Path) -> None:
    import pandas as pd

    tables = out / "tables"
    for _, r in pd.read_csv(tables / "delay_metareg.csv").iterrows():
        print(
            f"metareg {r['analysis']:<28} k={r['k']:<3d} slope={r['estimate']:.4f} "
            f"(95% CI {r['ci_low']:.4f} to {r['ci_high']:.4f}) p={r['pvalue']:.3g} "
            f"p_perm={r['pvalue_perm']:.3g} {r['note'] if isinstance(r['note'], str) else ''}"
        )
    for _, r in pd.read_csv(tables / "delay_groups.csv").query("row == 'pooled'").iterrows():
        print(
            f"groups  {r['analysis']:<28} k={r['k']:<3d} {r['estimate']:.3g} "
            f"(95% CI {r['ci_low']:.3g} to {r['ci_high']:.3g}) {r['note']}"
        )
    ipd = pd.read_csv(tables / "delay_ipd.csv")
    print(f"patient level: {ipd['status'].iloc[0]}: {ipd['note'].iloc[0]}")


if __name__ == "__main__":
    from jdmstats.outputs.runner import script_main

    raise SystemExit(script_main("delay", __doc__, summary=summary))
