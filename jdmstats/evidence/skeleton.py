"""``jdmstats new``: a commented extraction file for a new source, in a data folder of your own.

A skeleton is the YAML of one source of a given kind (``cohort``: counts for prevalence and
delay; ``case``: a case report's patient and therapy course; ``arm``: an aggregate therapy
series), with every key of ``data/extraction/README.md`` and a comment saying what it takes
(vocabularies from :mod:`jdmstats.evidence.schema`).

Placeholders fail validation until filled
-----------------------------------------
What the source must state (title, address, counts, locators, ...) is written as the
placeholder ``TODO`` (:data:`PLACEHOLDER`). ``jdmstats validate`` and ``jdmstats harmonise``
report every ``TODO`` left, with its line, so a new file cannot enter an analysis half filled.
Optional keys are ``null`` (blank means "not stated"): fill them when the source states them,
or leave them.

The data folder
---------------
:func:`new_source` writes ``<folder>/extraction/<study_id>.yaml``. When the folder does not exist
yet (or is empty), it first copies the bundled data into it (the extraction files, the search
log and the search records of a source checkout), so that the folder holds the bundled data
plus your file and is self-contained: ``jdmstats validate <folder>`` and ``jdmstats run --data
<folder>`` use it as it is. A search log beside the extraction folder gets one row of "other
methods" that includes the new source (the validator asks every included source for a record
of how it was found): edit its ``query`` text to say how you found it.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from jdmstats.evidence import skeleton
>>> text = skeleton.skeleton("cohort", "Demo2099", today="2099-01-01")
>>> print(text.splitlines()[0])
# Extraction file for Demo2099 (a cohort): replace every TODO; see data/extraction/README.md.
>>> made = skeleton.new_source("cohort", "Demo2099", Path(tempfile.mkdtemp()) / "mine",
...                            today="2099-01-01")
>>> made.path.name, made.copied["extraction files"] > 0
('Demo2099.yaml', True)
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from jdmstats.errors import JdmstatsError
from jdmstats.evidence import schema

__all__ = ["KINDS", "PLACEHOLDER", "skeleton", "new_source", "fill", "NewSource"]

KINDS = ("cohort", "case", "arm")
"""Kinds of source ``jdmstats new`` writes a skeleton for."""

PLACEHOLDER = schema.PLACEHOLDER
"""The value of a key the user must fill (``TODO``): validation fails while one is left."""


def _vocab(values) -> str:
    return " | ".join(values)


def _source_block(kind: str, study_id: str, year: int | None, author: str, today: str) -> str:
    design = {"case": "case_report"}.get(kind, PLACEHOLDER)
    return f"""\
study_id: {study_id}
first_author: {author}       # family name as printed; leave out when no author list was read
year: {"null                # not given on any page read (the study_id ends in ND)"
       if year is None else year}
title: {PLACEHOLDER}            # "title of the source", in quotes if it has a colon
journal: null
doi: null                 # bare DOI (10.1234/abcd), no https://doi.org/ prefix
url: {PLACEHOLDER}              # the page where the numbers were read (URL or DOI required)
source_level: {PLACEHOLDER}     # {_vocab(schema.SOURCE_LEVELS)} (what you actually read)
publication_type: article # {_vocab(schema.PUBLICATION_TYPES)}
country: {PLACEHOLDER}          # English country name, or multinational
design: {design}           # {_vocab(schema.DESIGNS)}
setting: not_stated       # {_vocab(schema.SETTINGS)}
period_start: null        # first year of enrolment (year only)
period_end: null
overlaps_with: null       # study_id of another source reporting the same patients
extracted_by: {PLACEHOLDER}     # your initials or name
extracted_on: {today}
notes: null               # short paraphrase in your own words
"""


_MEASURE = ("# a measure: {value: 4, unit: months, stat: median, spread: iqr, low: 2, high: 8}; "
            "units " + _vocab(schema.DURATION_UNITS) + ", stat " + _vocab(schema.STATS))  # fmt: skip

_COHORT = f"""\
cohorts:
  - cohort_id: {{study_id}}
    label: null                   # e.g. "Great Ormond Street 1990-2005"
    n_patients: {PLACEHOLDER}              # children with JDM in the denominator
    n_calcinosis: {PLACEHOLDER}            # of them, with calcinosis
    calcinosis_pct: null          # the percentage, if the source states one
    n_calcinosis_derived: false   # true when the count was computed from a stated percentage
    calcinosis_timing: {PLACEHOLDER}       # {_vocab(schema.CALCINOSIS_TIMING)}
    {_MEASURE}
    age_onset: null
    followup: null
    delay: null                   # also definition: {_vocab(schema.DELAY_DEFINITIONS)}
    delay_calcinosis: null        # delay of the children with calcinosis (add n: group size)
    delay_no_calcinosis: null
    delay_or: null                # {{value: 1.08, ci_low: 1.01, ci_high: 1.16, contrast: "per month"}}
    include_primary: true         # false only with an exclusion_reason
    exclusion_reason: null
    overlaps_with: null           # cohort_id / study_id reporting the same children
    locator: {PLACEHOLDER}                 # where the numbers were read: "abstract; table 1"
    notes: null
"""

_CASE = f"""\
patients:
  - id: P1                        # as numbered in the source ("Patient 1" -> P1)
    sex: null                     # {_vocab(schema.SEXES)}
    age_onset: null               # {{value: 6, unit: years}}: age at first JDM symptoms
    age_diagnosis: null
    delay: null                   # {{value: 2, unit: months, definition: onset_to_diagnosis}}
    antibody: null                # {_vocab(schema.ANTIBODIES)}
    calcinosis: true
    calcinosis_type: null         # a list of: {_vocab(schema.CALCINOSIS_TYPES)}
    calcinosis_sites: null
    locator: {PLACEHOLDER}                 # "case description"
    notes: null
    episodes:                     # one per therapy course given for the calcinosis, in order
      - agents: {PLACEHOLDER}              # as reported, ";"-separated: "pamidronate; IVIG"
        therapy_class: null       # normally derived from the agents
        route: null               # {_vocab(schema.ROUTES)}
        concomitant: null
        start: null               # {{value: 0, unit: months}} from JDM diagnosis
        response: {PLACEHOLDER}            # {_vocab(schema.RESPONSES)}
        response_words: null      # the authors' key word(s)
        time_basis: {PLACEHOLDER}          # {_vocab(schema.TIME_BASIS)}
        time_to_response: null    # {{value: 6, unit: months}} from the course start
        time_lower: null          # by_visit only: the last visit WITHOUT regression
        followup: null            # from the course start to the last assessment
        locator: {PLACEHOLDER}
        notes: null
"""

_ARM = f"""\
arms:
  - arm_id: A1
    label: null                   # short, your own words: "IV pamidronate"
    agents: {PLACEHOLDER}                  # as reported, ";"-separated; the class is derived
    therapy_class: null
    route: null                   # {_vocab(schema.ROUTES)}
    cohort_id: null               # a cohort of this file the arm is drawn from
    n_treated: {PLACEHOLDER}               # JDM children with calcinosis treated
    n_complete: null              # resolved; leave out a level the source does not state
    n_partial: null               # improved, reduced
    n_none: null                  # no change, stable
    n_progression: null           # worsened
    n_not_stated: null
    n_responded: null             # only for "X improved" without complete/partial
    response_words: null
    followup: null                # {{value: 24, unit: months, stat: median}}
    time_to_response: null        # {{value: 6, unit: months, stat: median, basis: exact}}
    overlaps_with: null           # patient_ids of case patients among these children
    locator: {PLACEHOLDER}
    notes: null
"""

_BLOCKS = {"cohort": _COHORT, "case": _CASE, "arm": _ARM}


def _check(kind: str, study_id: str) -> int | None:
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}{schema.did_you_mean(kind, KINDS)}; "
                         f"accepted: {', '.join(KINDS)}")  # fmt: skip
    if not schema.STUDY_ID_PATTERN.match(study_id):
        raise ValueError(f"study_id {study_id!r} is not FirstauthorYYYY (ASCII letters, a "
                         "four-digit year, optional a/b suffix), e.g. Smith2010 or Smith2010b, "
                         "or FirstauthorND when no page gives the year")  # fmt: skip
    digits = re.search(r"[0-9]{4}", study_id)
    return int(digits.group()) if digits else None


def skeleton(kind: str, study_id: str, today: str | None = None) -> str:
    """The commented YAML of a new source.

    Parameters
    ----------
    kind : {"cohort", "case", "arm"}
        What the source reports: a cohort's counts, a case report (one patient, one therapy
        course; copy the blocks for more), or an aggregate therapy arm.
    study_id : str
        ``FirstauthorYYYY`` (the year and first author are taken from it).
    today : str, optional
        ``extracted_on`` (default: today's date, ISO format).

    Returns
    -------
    str
        The file's text; required values are :data:`PLACEHOLDER`, optional ones ``null``.
    """
    year = _check(kind, study_id)
    today = today or datetime.date.today().isoformat()
    author = re.match(r"[A-Za-z]+?(?=[0-9]{4}|ND[a-z]?$)", study_id).group()
    head = (f"# Extraction file for {study_id} (a {kind}): replace every {PLACEHOLDER}; see "
            "data/extraction/README.md.\n# Blank (null) means \"not stated\": never write 0 for "
            "it. `jdmstats validate` lists what is left.\n")  # fmt: skip
    body = _source_block(kind, study_id, year, author, today) + _BLOCKS[kind]
    return head + _align(body.replace("{study_id}", study_id))


def _align(text: str, column: int = 30) -> str:
    """Put the comments after the values in one column."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^(\s*[^#\s].*?)\s+(# .*)$", line)
        out.append(m.group(1).ljust(column - 1) + " " + m.group(2) if m else line)
    return "\n".join(out) + "\n"


def fill(text: str, values: dict) -> str:
    """Replace the placeholders of a skeleton, as you would in an editor.

    Every line ``key: TODO`` whose key is in ``values`` gets the value (JSON-formatted, which
    YAML reads: numbers, ``true``, quoted strings, ``{"value": 6, "unit": "years"}``); the
    comments stay. Keys absent from ``values`` keep their placeholder.

    >>> fill("n_patients: TODO   # children\\ntitle: TODO", {"n_patients": 80})
    'n_patients: 80   # children\\ntitle: TODO'
    """
    for key, value in values.items():
        pattern = re.compile(rf"^(\s*(?:- )?{re.escape(key)}:[ \t]*){PLACEHOLDER}\b", re.M)
        shown = json.dumps(value)
        text = pattern.sub(lambda m, shown=shown: m.group(1) + shown, text)
    return text


@dataclass(frozen=True)
class NewSource:
    """What :func:`new_source` did."""

    path: Path
    """The extraction file written."""
    folder: Path
    """The data folder (``jdmstats validate`` / ``jdmstats run --data`` it)."""
    copied: dict[str, int] = field(default_factory=dict)
    """Bundled files copied into a new folder, by kind (empty when the folder existed)."""
    search_log_row: str | None = None
    """``query_id`` of the search-log row added for the source, if a search log is there."""


def _copy_bundled(folder: Path) -> dict[str, int]:
    from jdmstats.paths import REPO_DATA, in_checkout

    if not in_checkout():
        raise JdmstatsError(
            "the bundled extraction files ship with the source checkout, not with the installed "
            "package: pass --into an existing extraction folder (or work in a clone)")  # fmt: skip
    extraction = folder / "extraction"
    extraction.mkdir(parents=True, exist_ok=True)
    yamls = sorted((REPO_DATA / "extraction").glob("*.yaml"))
    for f in [*yamls, REPO_DATA / "extraction" / "README.md"]:
        if f.exists():
            shutil.copy2(f, extraction / f.name)
    copied = {"extraction files": len(yamls)}
    if (REPO_DATA / "search_log.csv").exists():
        shutil.copy2(REPO_DATA / "search_log.csv", folder / "search_log.csv")
        copied["search log"] = 1
    search = sorted((REPO_DATA / "search").glob("*.csv"))
    if search:
        (folder / "search").mkdir(exist_ok=True)
        for f in search:
            shutil.copy2(f, folder / "search" / f.name)
        copied["search files"] = len(search)
    return copied


def _log_row(log: Path, study_id: str, today: str) -> str | None:
    """Append a search-log row of other methods that includes ``study_id`` (unless one does)."""
    with log.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
        header = list(rows[0].keys()) if rows else None
    if header is None:
        with log.open(newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh), None)
    if not header or "included_ids" not in header:
        return None
    if any(study_id in str(r.get("included_ids") or "").split(";") for r in rows):
        return None
    query_id = f"other-{study_id}"
    row = {k: "" for k in header}
    row.update(query_id=query_id, date=today, database="other methods (added with jdmstats new)",
               query=f"how {study_id} was found: replace this text (reference list of ..., "
                     "hand search, citation search)",
               records_found="1", records_screened="1", records_included="1",
               included_ids=study_id, records_excluded="0")  # fmt: skip
    text = log.read_text(encoding="utf-8")
    with log.open("a", newline="", encoding="utf-8") as fh:
        if text and not text.endswith("\n"):
            fh.write("\n")
        csv.DictWriter(fh, fieldnames=header, lineterminator="\n").writerow(row)
    return query_id


def new_source(kind: str, study_id: str, into: str | os.PathLike,
               today: str | None = None) -> NewSource:  # fmt: skip
    """Write the skeleton of a new source into a data folder.

    Parameters
    ----------
    kind, study_id, today
        As for :func:`skeleton`.
    into : path-like
        The data folder. When it does not exist (or is empty) the bundled data are copied into
        it first (``extraction/``, ``search_log.csv``, ``search/``; source checkout only). The
        file goes to ``into/extraction/`` when that folder exists or ``into`` holds no
        ``*.yaml``, else into ``into`` itself (an extraction folder).

    Returns
    -------
    NewSource

    Raises
    ------
    FileExistsError
        When ``<study_id>.yaml`` is there already (it is never overwritten).
    ValueError
        For an unknown kind or a ``study_id`` that is not ``FirstauthorYYYY``.
    """
    text = skeleton(kind, study_id, today)
    today = today or datetime.date.today().isoformat()
    folder = Path(into)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"not a folder: {folder}")
    copied = {}
    if not folder.exists() or not any(folder.iterdir()):
        copied = _copy_bundled(folder)
    if (folder / "extraction").is_dir() or not any(folder.glob("*.yaml")):
        extraction = folder / "extraction"
    else:
        extraction = folder
    path = extraction / f"{study_id}.yaml"
    if path.exists():
        raise FileExistsError(f"{path} exists already: edit it, or choose another study_id")
    extraction.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    log = extraction.parent / "search_log.csv"
    row = _log_row(log, study_id, today) if log.exists() else None
    return NewSource(path=path, folder=extraction.parent if extraction != folder else folder,
                     copied=copied, search_log_row=row)  # fmt: skip
