"""The deterministic CSV writer of every results table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["FLOAT_FORMAT", "as_written", "write_table"]

FLOAT_FORMAT = "%.10g"
"""Float format of every results table (10 significant digits)."""


def write_table(df: pd.DataFrame, path: Path) -> Path:
    """Write a results table as CSV with LF line ends and a fixed float format."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n", float_format=FLOAT_FORMAT)
    return path


def as_written(x):
    """A number or array rounded as the tables write it (:data:`FLOAT_FORMAT`).

    Figures that draw iteratively fitted values (GLMM leave-one-out fits, say) draw them at the
    precision of their table, so that the last digits of an optimiser, which differ between
    machines and BLAS builds, do not change the figure's bytes.
    """
    import numpy as np

    arr = np.asarray(x, dtype=float)
    out = np.vectorize(lambda v: float(FLOAT_FORMAT % v), otypes=[float])(arr)
    return float(out) if out.ndim == 0 else out
