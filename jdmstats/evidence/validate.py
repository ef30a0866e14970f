"""``jdmstats validate``: check extraction files, harmonised tables, or folders of them.

The rules live in :mod:`jdmstats.evidence.checks` (harmonised tables) and
:mod:`jdmstats.evidence.harmonise` (extraction files, checked by harmonising them in memory).

Examples
--------
>>> from jdmstats import datasets, validate
>>> validate.validate_path(datasets.data_dir())   # the bundled harmonised tables are clean
[]
"""

from __future__ import annotations

import os
from pathlib import Path

from jdmstats.errors import FileProblem, Problem
from jdmstats.evidence import harmonise, schema
from jdmstats.evidence.checks import (  # noqa: F401 - re-exported: the validation API
    BAD,
    ORIGIN,
    check_folder,
    check_harmonised,
    check_references,
    check_rows,
    check_table,
    check_tables,
    check_value,
    coerce,
    problem,
    read_csv_table,
    read_harmonised,
)


def is_harmonised_folder(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` is (or was meant to be) a harmonised folder: it has a
    ``datapackage.json`` or one of the tables ``jdmstats harmonise`` always writes."""
    from jdmstats.evidence.checks import ALWAYS_WRITTEN

    folder = Path(folder)
    names = ["datapackage.json", *(schema.TABLES[n].filename for n in ALWAYS_WRITTEN)]
    return any((folder / n).exists() or (folder / n).is_symlink() for n in names)


def validate_path(path: str | os.PathLike) -> list[Problem]:
    """Validate a file or a folder: extraction YAML files and/or harmonised CSV tables.

    A folder is searched recursively. Extraction files are harmonised in memory and checked
    with the same rules as the harmonised tables (problems point back at the YAML line). A
    harmonised folder (one with ``datapackage.json`` or its tables) is checked as a whole
    (:func:`~jdmstats.evidence.checks.check_harmonised`): every table present and readable,
    the datapackage consistent with the schema, then every row, key and reference.

    Parameters
    ----------
    path : str or path-like
        ``*.yaml`` extraction file, harmonised ``*.csv`` table, or a folder of them.

    Returns
    -------
    list of Problem
        Empty when the data are clean. Problems of severity ``"warning"`` do not make the data
        invalid (see :func:`jdmstats.errors.errors_only`).
    """
    path = Path(path)
    if not path.exists():
        return [Problem(str(path), "", "", "", "no such file or folder")]
    if path.is_file():
        if path.name == harmonise.VOCABULARY_FILE:
            return harmonise.read_vocabulary(path)[1]
        if path.suffix in (".yaml", ".yml"):
            return harmonise.build_tables([path])[1]
        if path.suffix == ".csv":
            name = path.stem
            if name not in schema.TABLES:
                return [
                    Problem(
                        str(path),
                        "",
                        "",
                        "",
                        f"not a jdmstats table name{schema.did_you_mean(name, schema.TABLES)}; "
                        f"accepted: {', '.join(t.filename for t in schema.TABLES.values())}",
                    )
                ]
            records, problems = read_csv_table(path, schema.TABLES[name])
            return problems + check_tables({name: records})
        return [
            Problem(
                str(path), "", "", "", "expected a .yaml extraction file, a .csv table or a folder"
            )
        ]
    problems: list[Problem] = []
    yamls = sorted(p for p in path.rglob("*.y*ml") if p.suffix in (".yaml", ".yml"))
    for folder in sorted({p.parent for p in yamls}):
        problems += harmonise.build_all(folder)[1]
    found = {p.parent for p in path.rglob("*.csv") if p.stem in schema.TABLES}
    found |= {p.parent for p in path.rglob("datapackage.json")}
    for folder in sorted(found):
        if is_harmonised_folder(folder):
            problems += check_harmonised(folder)[1]
        else:  # loose tables (e.g. search_log.csv beside an extraction folder)
            tables, probs = read_harmonised(folder)
            problems += probs + check_tables(tables)
    if not yamls and not found:
        problems.append(
            Problem(str(path), "", "", "", "no extraction (.yaml) or harmonised (.csv) files found")
        )
    # once each (search_log.csv is read with its extraction folder and as a table), and the
    # files that cannot be read first: they are the cause of whatever else is reported
    problems = list(dict.fromkeys(problems))
    return sorted(problems, key=lambda p: not isinstance(p, FileProblem))
