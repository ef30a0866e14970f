"""Question 3: therapy response and time-to-regression of calcinosis, by therapy class.

Writes tables/response_by_class.csv, tables/time_to_regression*.csv, tables/response_exclusions.csv
and figures/response_forest, figures/time_to_regression, figures/swimmer (PDF + PNG).

Usage (from the repository root)::

    python analyses/time_to_regression.py [--data DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable from a fresh clone without installing
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default=None, help="harmonised or extraction folder (default: the bundled data)"
    )
    parser.add_argument(
        "--out",
        default=str(ROOT),
        help="output root for tables/ and figures/ (default: the repository)",
    )
    args = parser.parse_args(argv)

    from jdmstats import datasets, pipeline, response

    with tempfile.TemporaryDirectory() as tmp:
        folder = pipeline.resolve_data(args.data, Path(tmp))
        tables = datasets.load_all(folder)
        written = response.pipeline_step(tables, Path(args.out))
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
