"""The deterministic CSV writer of every results table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["FLOAT_FORMAT", "write_table"]

FLOAT_FORMAT = "%.10g"
"""Float format of every results table (10 significant digits)."""


def write_table(df: pd.DataFrame, path: Path) -> Path:
    """Write a results table as CSV with LF line ends and a fixed float format."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n", float_format=FLOAT_FORMAT)
    return path
