"""Question 1: pooled prevalence of calcinosis in juvenile dermatomyositis.

Writes ``tables/prevalence*.csv`` and ``figures/prevalence_*.{pdf,png}`` under ``--out``.

Run from the repository root (no installation needed)::

    python analyses/prevalence.py                      # bundled data, outputs in ./tables, ./figures
    python analyses/prevalence.py --data my/harmonised --out /tmp/results
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
    from jdmstats import datasets, pipeline, prevalence

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
            files = prevalence.pipeline_step(tables, Path(args.out))
    if not args.quiet:
        for w in dict.fromkeys(str(w.message) for w in caught):
            print(f"note: {w}", file=sys.stderr)
        import pandas as pd

        tab = pd.read_csv(Path(args.out) / "tables" / "prevalence.csv")
        for _, r in tab.iterrows():
            print(
                f"{r['model']:<30} k={r['k']:<3d} {100 * r['estimate']:5.1f}% "
                f"(95% CI {100 * r['ci_low']:.1f}-{100 * r['ci_high']:.1f}; "
                f"PI {100 * r['pi_low']:.1f}-{100 * r['pi_high']:.1f})"
            )
        print(f"wrote {len(files)} files under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
