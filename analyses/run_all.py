"""Regenerate every table and figure of the paper: the same as ``jdmstats run``.

Run from anywhere: ``python analyses/run_all.py [--data DIR] [--out DIR] [--only STEP]``.
Defaults: the bundled data (``data/harmonised``), outputs in the repository's ``tables/`` and
``figures/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    from jdmstats.cli import main as cli

    argv = list(sys.argv[1:] if argv is None else argv)
    if "--out" not in argv:
        argv += ["--out", str(ROOT)]
    return cli(["run", *argv])


if __name__ == "__main__":
    sys.exit(main())
