"""The main job: every analysis on one harmonised data set, written to ``tables/`` and ``figures/``.

``jdmstats run`` calls :func:`run`. Each step is a function ``step(tables, out) -> list[Path]``
registered in :data:`STEPS`; ``--only NAME`` runs one of them. Output is deterministic: tables
are written with a fixed float format and row order, so two runs give byte-identical files.

Examples
--------
>>> from jdmstats import pipeline
>>> written = pipeline.run(out="/tmp/jdmstats-out", quiet=True)   # doctest: +SKIP
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

FLOAT_FORMAT = "%.10g"


def write_table(df: pd.DataFrame, path: Path) -> Path:
    """Write a results table as CSV with LF line ends and a fixed float format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n", float_format=FLOAT_FORMAT)
    return path


def step_descriptive(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """Descriptive tables of the sources, case patients and therapy episodes."""
    from . import descriptive

    return [write_table(df, out / "tables" / f"{name}.csv")
            for name, df in descriptive.describe(tables).items()]  # fmt: skip


STEPS = {"descriptive": step_descriptive}
"""Analysis steps in the order ``jdmstats run`` runs them."""


def resolve_data(data: str | os.PathLike | None, workdir: Path) -> Path:
    """Return a harmonised folder for ``data``: the bundled data, a harmonised folder, or an
    extraction folder (harmonised into ``workdir`` first)."""
    from . import datasets, harmonise

    if data is None:
        return datasets.data_dir()
    folder = Path(data)
    if (folder / "studies.csv").exists():
        return folder
    if (folder / "harmonised" / "studies.csv").exists():
        return folder / "harmonised"
    extraction = folder / "extraction" if (folder / "extraction").is_dir() else folder
    if any(extraction.glob("*.yaml")):
        target = workdir / "harmonised"
        harmonise.harmonise(extraction, target)
        return target
    from .errors import DataValidationError, Problem

    raise DataValidationError([Problem(str(folder), "", "", "", "neither a harmonised folder "
                                       "(studies.csv, ...) nor an extraction folder (*.yaml)")])


def run(data=None, out: str | os.PathLike = ".", only: list[str] | None = None,
        quiet: bool = False) -> list[Path]:  # fmt: skip
    """Run the analyses and write their tables and figures under ``out``.

    Parameters
    ----------
    data : path-like, optional
        Harmonised folder, extraction folder, or ``None`` for the bundled data.
    out : path-like
        Output root; tables go to ``out/tables`` and figures to ``out/figures``.
    only : list of str, optional
        Names of :data:`STEPS` to run (default: all).
    quiet : bool
        Print no progress. Progress is printed only when stderr is a terminal.

    Returns
    -------
    list of Path
        Files written.
    """
    from . import datasets

    unknown = sorted(set(only or ()) - set(STEPS))
    if unknown:
        raise ValueError(f"unknown step(s) {', '.join(unknown)}; accepted: {', '.join(STEPS)}")
    show = not quiet and sys.stderr.isatty()
    out = Path(out)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = resolve_data(data, Path(tmp))
        tables = datasets.load_all(folder)
        for name, step in STEPS.items():
            if only and name not in only:
                continue
            start = time.perf_counter()
            files = step(tables, out)
            written += files
            if show:
                print(f"  {name:<20} {len(files):3d} file(s)  {time.perf_counter() - start:6.2f} s",
                      file=sys.stderr)
    return written
