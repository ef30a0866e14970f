"""Question 2: diagnostic delay and calcinosis (study, group and patient level).

Writes ``tables/delay_*.csv`` and ``figures/delay_*.{pdf,png}`` under ``--out``.

Run from the repository root (no installation needed)::

    python analyses/delay.py                      # bundled data, outputs in ./tables, ./figures
    python analyses/delay.py --data my/harmonised --out /tmp/results
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable from a fresh clone without installing
    sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    from jdmstats import datasets, delay, pipeline

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", default=None, help="harmonised or extraction folder (default: the bundled data)"
    )
    ap.add_argument("--out", default=str(ROOT), help="output root (tables/ and figures/)")
    ap.add_argument("--quiet", action="store_true", help="print nothing but errors")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tables = datasets.load_all(pipeline.resolve_data(args.data, Path(tmp)))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            files = delay.pipeline_step(tables, Path(args.out))
    if not args.quiet:
        for w in dict.fromkeys(str(w.message) for w in caught):
            print(f"note: {w}", file=sys.stderr)
        import pandas as pd

        out = Path(args.out) / "tables"
        for _, r in pd.read_csv(out / "delay_metareg.csv").iterrows():
            print(
                f"metareg {r['analysis']:<28} k={r['k']:<3d} slope={r['estimate']:.4f} "
                f"(95% CI {r['ci_low']:.4f} to {r['ci_high']:.4f}) p={r['pvalue']:.3g} "
                f"p_perm={r['pvalue_perm']:.3g} {r['note'] if isinstance(r['note'], str) else ''}"
            )
        for _, r in pd.read_csv(out / "delay_groups.csv").query("row == 'pooled'").iterrows():
            print(
                f"groups  {r['analysis']:<28} k={r['k']:<3d} {r['estimate']:.3g} "
                f"(95% CI {r['ci_low']:.3g} to {r['ci_high']:.3g}) {r['note']}"
            )
        ipd = pd.read_csv(out / "delay_ipd.csv")
        print(f"patient level: {ipd['status'].iloc[0]}: {ipd['note'].iloc[0]}")
        print(f"wrote {len(files)} files under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
