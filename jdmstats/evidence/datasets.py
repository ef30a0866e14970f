"""Loaders for the bundled harmonised data (or a user's own harmonised folder).

Every loader reads the CSV tables, runs the checks of :mod:`jdmstats.evidence.validate` on all the tables
in the folder (types, vocabularies, ranges, references between tables) and raises
:class:`~jdmstats.errors.DataValidationError` listing every problem when the data break a rule.
The returned DataFrames have nullable integers (``Int64``), floats, nullable booleans,
categoricals for vocabulary columns and strings elsewhere; column documentation is generated
from :mod:`jdmstats.evidence.schema` below each loader's description.

Examples
--------
>>> from jdmstats import datasets
>>> cohorts = datasets.load_cohorts()
>>> int(cohorts["n_patients"].min()) >= 1
True
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from jdmstats.errors import DataValidationError, Problem, errors_only
from jdmstats.evidence import schema
from jdmstats.evidence.checks import check_harmonised

__all__ = [
    "data_dir",
    "load_studies",
    "load_cohorts",
    "load_patients",
    "load_episodes",
    "load_arms",
    "load_exclusions",
    "load_search_log",
    "load_records",
    "load_all",
]


def data_dir() -> Path:
    """Folder of the bundled harmonised tables.

    Inside an installed wheel the tables live in ``jdmstats/_data/harmonised``; in a source
    checkout they are read from the repository's ``data/harmonised``.
    """
    from jdmstats.paths import PACKAGED_DATA, REPO_DATA

    if (PACKAGED_DATA / "studies.csv").exists():
        return PACKAGED_DATA
    repo = REPO_DATA / "harmonised"
    if (repo / "studies.csv").exists():
        return repo
    raise FileNotFoundError(
        "bundled data not found: expected jdmstats/_data/harmonised (installed wheel) or "
        "data/harmonised (source checkout); run `jdmstats harmonise` in a checkout"
    )


def _dtype(col: schema.Column):
    if col.vocab is not None and not col.multi:
        return pd.CategoricalDtype(categories=list(col.vocab))
    return {"integer": "Int64", "number": "float64", "boolean": "boolean"}.get(col.type, "string")


def to_frame(table: schema.Table, records: list[dict]) -> pd.DataFrame:
    """Build a typed DataFrame (schema column order) from validated records."""
    data = {}
    for col in table.columns:
        values = [r.get(col.name) for r in records]
        dtype = _dtype(col)
        if dtype == "float64":
            data[col.name] = pd.array(
                [float("nan") if v is None else v for v in values], dtype="float64"
            )
        elif isinstance(dtype, pd.CategoricalDtype):
            data[col.name] = pd.Categorical(values, dtype=dtype)
        else:
            data[col.name] = pd.array(values, dtype=dtype)
    return pd.DataFrame(data)


def load_all(path: str | os.PathLike | None = None) -> dict[str, pd.DataFrame]:
    """Load and validate every harmonised table in ``path`` (default: the bundled data).

    Parameters
    ----------
    path : path-like, optional
        A harmonised folder (with ``studies.csv``, ``cohorts.csv``, ...).

    Returns
    -------
    dict of DataFrame
        Keyed by table name; tables absent from the folder are absent from the dict.

    Raises
    ------
    DataValidationError
        With one :class:`~jdmstats.errors.Problem` per broken rule (the rules of
        :func:`jdmstats.evidence.checks.check_harmonised`: missing or unreadable tables,
        datapackage, rows, keys, references).
    """
    folder = Path(path) if path is not None else data_dir()
    if not folder.is_dir():
        raise DataValidationError(
            [Problem(str(folder), "", "", "", "not a folder of harmonised tables")]
        )
    tables, problems = check_harmonised(folder)
    if errors_only(problems):  # warnings (shown by jdmstats validate) do not stop a load
        raise DataValidationError(errors_only(problems), context=str(folder))
    return {name: to_frame(schema.TABLES[name], recs) for name, recs in tables.items()}


def _load(name: str, path) -> pd.DataFrame:
    folder = Path(path) if path is not None else data_dir()
    if folder.is_dir() and not (folder / schema.TABLES[name].filename).exists():
        raise DataValidationError(
            [Problem(str(folder / schema.TABLES[name].filename), "", "", "", "table not found")]
        )
    return load_all(folder)[name]


def load_studies(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Published sources: one row per article, letter or conference abstract."""
    return _load("studies", path)


def load_cohorts(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Cohorts of children with JDM with their count of calcinosis and diagnostic delay."""
    return _load("cohorts", path)


def load_patients(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Individual patients with calcinosis from case reports and case series."""
    return _load("patients", path)


def load_episodes(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Therapy courses given for calcinosis, with response and (censored) time to regression."""
    return _load("episodes", path)


def load_arms(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Therapy arms: treated groups reported only as totals, with counts per response level."""
    return _load("arms", path)


def load_exclusions(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Records an analysis cannot use, with the reason (written by ``jdmstats harmonise``)."""
    return _load("exclusions", path)


def load_search_log(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The literature search log (queries, records found, screened, included, excluded)."""
    return _load("search_log", path)


def load_records(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The records log: one row per distinct page the searches returned, with its PRISMA
    screening and eligibility decision (written by ``jdmstats harmonise``)."""
    return _load("records", path)


def columns_doc(table: schema.Table) -> str:
    """numpydoc text describing a table's columns, generated from the schema."""
    lines = ["", "    Parameters", "    ----------",
             "    path : path-like, optional",
             "        A harmonised folder; default: the bundled data (:func:`data_dir`).",
             "", "    Returns", "    -------", "    DataFrame", "        Columns:", ""]  # fmt: skip
    for col in table.columns:
        unit = f" [{col.unit}]" if col.unit else ""
        vocab = ""
        if col.vocab is not None and len(col.vocab) <= 15:
            vocab = f" One of: {', '.join(col.vocab)}."
        lines.append(f"        - ``{col.name}`` ({col.type}{unit}): {col.description}{vocab}")
    lines += ["", "    Raises", "    ------", "    DataValidationError",
              "        When the tables break a rule of :mod:`jdmstats.evidence.schema`.", ""]  # fmt: skip
    return "\n".join(lines)


for _name, _func in (("studies", load_studies), ("cohorts", load_cohorts),
                     ("patients", load_patients), ("episodes", load_episodes),
                     ("arms", load_arms), ("exclusions", load_exclusions),
                     ("search_log", load_search_log), ("records", load_records)):  # fmt: skip
    _func.__doc__ = (_func.__doc__ or "") + "\n" + columns_doc(schema.TABLES[_name])
