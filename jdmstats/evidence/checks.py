"""The validation rules of the harmonised tables, against :mod:`jdmstats.evidence.schema`.

Every check returns :class:`~jdmstats.errors.Problem` objects (file, row, column, value, rule)
instead of raising, so that ``jdmstats validate`` can print all of them, one per line, and the
loaders can raise one :class:`~jdmstats.errors.DataValidationError` carrying the whole list.

A *record* is a ``dict`` mapping column names to typed values (``None`` = blank, "not stated"),
with the key ``"_origin"`` holding ``(file, row)`` for the report.

Examples
--------
>>> from jdmstats import datasets
>>> from jdmstats.evidence import checks
>>> tables, problems = checks.read_harmonised(datasets.data_dir())
>>> problems + checks.check_tables(tables)   # the bundled harmonised tables are clean
[]
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime
import io
import json
import math
import os
import re
from collections import Counter
from pathlib import Path

from jdmstats.errors import FileProblem, Problem
from jdmstats.evidence import schema

ORIGIN = "_origin"
BAD = "_bad"  # columns of a record whose raw value failed its type check (reported once)
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
MISSING_MARKERS = ("nan", "na", "n/a", "null", "none", "nat", "#n/a", "missing")
"""Texts that mean "missing" to spreadsheets and data-frame libraries; never accepted as an id
(compared case-insensitively)."""
ALWAYS_WRITTEN = ("studies", "cohorts", "patients", "episodes", "arms", "exclusions")
"""Tables ``jdmstats harmonise`` writes into every harmonised folder (the others, search_log and
records, only when their inputs exist; then ``datapackage.json`` records their hash)."""


def today() -> datetime.date:
    """Today's date, the latest date a record may carry (replace it in tests to fix the day)."""
    return datetime.date.today()


def is_key(table: schema.Table, column: schema.Column) -> bool:
    """Whether a column holds identifiers: the primary key, a unique or foreign-key column, or
    any ``*_id`` column."""
    return (column.unique or column.name == table.primary_key or column.name.endswith("_id")
            or any(column.name == fk[0] for fk in table.foreign_keys))  # fmt: skip


def is_missing_marker(value) -> bool:
    """Whether ``value`` is a text such as ``"NaN"`` or ``"null"`` (see :data:`MISSING_MARKERS`)."""
    return isinstance(value, str) and value.strip().lower() in MISSING_MARKERS


def padding_rule(raw, table: schema.Table, column: schema.Column) -> str | None:
    """The rule broken by an id or vocabulary value with spaces around it, else ``None``.

    Such values are refused, not normalised: ids and vocabulary values are matched exactly, and
    a space typed by hand is a sign the cell was edited. (The value is read without the spaces,
    so the rest of the checks run as if it were clean and report nothing more.)
    """
    if not isinstance(raw, str) or raw == raw.strip() or not raw.strip():
        return None
    if column.vocab is None and not is_key(table, column):
        return None
    kind = "an id" if is_key(table, column) else "a vocabulary value"
    return f"{kind} with spaces around it: remove them (ids and vocabularies are matched exactly)"


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def problem(record: dict, column: str, value, rule: str) -> Problem:
    """Build a :class:`Problem` located at ``record``'s origin."""
    file, row = record.get(ORIGIN, ("<memory>", ""))
    return Problem(str(file), str(row), column, _fmt(value), rule)


# --------------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------------


def coerce(raw, column: schema.Column):
    """Convert a raw cell (text from CSV or a YAML scalar) to the column's type.

    Returns ``(value, rule)``: ``rule`` is ``None`` on success, else the type rule broken.
    Blank strings become ``None``.
    """
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None, None
    if isinstance(raw, float) and math.isnan(raw):
        return None, None
    kind = column.type
    if kind == "integer":
        if isinstance(raw, bool):
            return None, "must be a whole number"
        try:
            number = float(raw)
        except (TypeError, ValueError):
            return None, "must be a whole number"
        if not number.is_integer():
            return None, "must be a whole number"
        return int(number), None
    if kind == "number":
        if isinstance(raw, bool):
            return None, "must be a number"
        try:
            number = float(raw)
        except (TypeError, ValueError):
            return None, "must be a number"
        if not math.isfinite(number):
            return None, "must be a finite number"
        return number, None
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw, None
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True, None
        if text in _FALSE:
            return False, None
        return None, "must be true or false"
    if kind == "date":
        text = str(raw).strip()
        try:  # fromisoformat alone also takes 20261203 and week dates (Python >= 3.11)
            if not _ISO_DATE.match(text):
                raise ValueError(text)
            datetime.date.fromisoformat(text)
        except ValueError:
            return None, "must be a date YYYY-MM-DD"
        return text, None
    return str(raw).strip(), None


def check_value(value, column: schema.Column) -> list[str]:
    """Rules a typed, non-blank value breaks: vocabulary and range."""
    if value is None:
        return []
    rules = []
    if column.vocab is not None:
        items = str(value).split(";") if column.multi else [value]
        for item in items:
            item = str(item).strip()
            if item not in column.vocab:
                shown = (
                    ", ".join(column.vocab)
                    if len(column.vocab) <= 30
                    else (f"see jdmstats.evidence.schema ({len(column.vocab)} values)")
                )
                rules.append(f"'{item}' is not in the vocabulary{schema.did_you_mean(item, column.vocab)};"
                             f" accepted: {shown}")  # fmt: skip
    if column.minimum is not None and isinstance(value, (int, float)) and value < column.minimum:
        rules.append(f"must be >= {_fmt(column.minimum)}")
    if column.maximum is not None and isinstance(value, (int, float)) and value > column.maximum:
        rules.append(f"must be <= {_fmt(column.maximum)}")
    return rules


def check_table(table: schema.Table, records: list[dict]) -> list[Problem]:
    """Per-row checks of one table: required values, vocabularies, ranges, unique keys."""
    problems = []
    keys = [c.name for c in table.columns if is_key(table, c)]
    dates = [c.name for c in table.columns if c.type == "date"]
    now = today()
    for rec in records:
        for col in table.columns:
            if col.inherited:
                continue  # checked against the study it is copied from (check_inherited)
            value = rec.get(col.name)
            if value is None:
                if col.required and col.name not in rec.get(BAD, ()):
                    problems.append(problem(rec, col.name, "", "required value is missing"))
                continue
            if col.name in keys and is_missing_marker(value):
                problems.append(problem(rec, col.name, value, "a missing-value marker is not an "
                                        "id: give the id (ids are never NaN, NA, null or None)"))  # fmt: skip
                continue
            for rule in check_value(value, col):
                problems.append(problem(rec, col.name, value, rule))
        for name in dates:
            value = rec.get(name)
            if value is not None and datetime.date.fromisoformat(value) > now:
                problems.append(problem(rec, name, value, f"date in the future (today is "
                                        f"{now.isoformat()})"))  # fmt: skip
    for col in table.columns:
        if not col.unique:
            continue
        counts = Counter(r.get(col.name) for r in records if r.get(col.name) is not None)
        for rec in records:
            value = rec.get(col.name)
            if value is not None and counts[value] > 1 and not is_missing_marker(value):
                problems.append(
                    problem(rec, col.name, value, f"duplicate {col.name}: ids must be unique")
                )
    return problems


# --------------------------------------------------------------------------------------------
# Rules across columns and tables
# --------------------------------------------------------------------------------------------


def _le(rec, a, b, rule, problems):
    va, vb = rec.get(a), rec.get(b)
    if va is not None and vb is not None and va > vb + 1e-9:
        problems.append(problem(rec, a, va, f"{rule} ({b} = {_fmt(vb)})"))


def check_rows(tables: dict[str, list[dict]]) -> list[Problem]:
    """Rules that involve several columns of a row: counts, intervals, provenance."""
    problems: list[Problem] = []
    for name, records in tables.items():
        table = schema.TABLES[name]
        has_prov = "locator" in table.names
        for rec in records:
            if has_prov and not rec.get("url") and not rec.get("doi"):
                problems.append(
                    problem(rec, "url", "", "every row needs its source: a url or a doi")
                )
            for col in table.names:
                if col.endswith(("_low_months", "_low_years")):
                    high = col.replace("_low_", "_high_")
                    _le(rec, col, high, "lower end must not exceed upper end", problems)
    for rec in tables.get("studies", []):
        sid = rec.get("study_id")
        if sid is not None and not schema.STUDY_ID_PATTERN.match(sid):
            problems.append(
                problem(
                    rec,
                    "study_id",
                    sid,
                    "must look like FirstauthorYYYY (ASCII letters, 4-digit year, optional a/b), "
                    "or FirstauthorND when the year is not stated",
                )
            )
        elif sid is not None and re.search(r"ND[a-z]?$", sid):
            if rec.get("year") is not None:
                problems.append(problem(
                    rec, "study_id", sid,
                    f"a study_id ending in ND means no year; year is {rec['year']}: use "
                    f"FirstauthorYYYY"))  # fmt: skip
        elif sid is not None and rec.get("year") is None:
            problems.append(problem(
                rec, "year", None,
                "year is required (when no page read gives it, leave it blank, say so in notes "
                "and end the study_id in ND, e.g. SmithND)"))  # fmt: skip
        elif sid is not None and rec.get("year") is not None:
            digits = re.search(r"([0-9]{4})[a-z]?$", sid).group(1)
            if digits != str(rec["year"]):
                problems.append(
                    problem(
                        rec, "study_id", sid, f"year in study_id must match year ({rec['year']})"
                    )
                )
        country, region = rec.get("country"), rec.get("region")
        if (country in schema.COUNTRY_REGION and "region" not in rec.get(BAD, ())
                and region != schema.COUNTRY_REGION[country]):  # fmt: skip
            problems.append(problem(rec, "region", region or "", f"must be the region of the "
                                    f"country {country} ({schema.COUNTRY_REGION[country]})"))  # fmt: skip
        _le(
            rec, "period_start", "period_end", "period_start must not be after period_end", problems
        )
        if (
            rec.get("period_end") is not None
            and rec.get("year") is not None
            and rec["period_end"] > rec["year"]
        ):
            problems.append(
                problem(
                    rec,
                    "period_end",
                    rec["period_end"],
                    f"enrolment cannot end after publication ({rec['year']})",
                )
            )
    for rec in tables.get("cohorts", []):
        _le(rec, "n_calcinosis", "n_patients", "n_calcinosis must be <= n_patients", problems)
        n, x, pct = rec.get("n_patients"), rec.get("n_calcinosis"), rec.get("calcinosis_pct")
        if n and x is not None and pct is not None and not rec.get("count_pct_disagree"):
            if abs(100.0 * x / n - pct) > 1.0:
                problems.append(
                    problem(
                        rec,
                        "calcinosis_pct",
                        pct,
                        f"disagrees with {x}/{n} = {100.0 * x / n:.1f}%; "
                        "record the count and set count_pct_disagree: true with a note",
                    )
                )
        if x is None and rec.get("include_primary") is not False:
            problems.append(
                problem(
                    rec,
                    "n_calcinosis",
                    "",
                    "not stated: set include_primary: false with an exclusion_reason",
                )
            )
        if rec.get("include_primary") is False and not rec.get("exclusion_reason"):
            problems.append(
                problem(rec, "exclusion_reason", "", "include_primary is false: give the reason")
            )
        for g in ("delay_calc_n", "delay_nocalc_n"):
            if rec.get(g) is not None and n is not None and rec[g] > n:
                problems.append(problem(rec, g, rec[g], f"group size must be <= n_patients ({n})"))
        orv, lo, hi = rec.get("delay_or"), rec.get("delay_or_ci_low"), rec.get("delay_or_ci_high")
        if orv is not None and lo is not None and hi is not None and not (lo <= orv <= hi):
            problems.append(
                problem(rec, "delay_or", orv, f"must lie within its CI [{_fmt(lo)}, {_fmt(hi)}]")
            )
        if rec.get("delay_months") is not None and rec.get("delay_definition") is None:
            problems.append(
                problem(rec, "delay_definition", "", "a delay needs its definition (or not_stated)")
            )
    for rec in tables.get("patients", []):
        _le(
            rec,
            "age_onset_years",
            "age_diagnosis_years",
            "age at onset must not exceed age at diagnosis",
            problems,
        )
    for rec in tables.get("episodes", []):
        lo, hi, fu = (
            rec.get("time_lower_months"),
            rec.get("time_upper_months"),
            rec.get("followup_months"),
        )
        _le(
            rec,
            "time_lower_months",
            "time_upper_months",
            "time_lower must be <= time_upper",
            problems,
        )
        if hi is not None and fu is not None and hi > fu + 1e-9:
            problems.append(
                problem(
                    rec, "time_upper_months", hi, f"time_upper must be <= follow-up ({_fmt(fu)})"
                )
            )
        if hi is None and lo is not None and fu is not None and lo > fu + 1e-9:
            problems.append(
                problem(
                    rec,
                    "time_lower_months",
                    lo,
                    f"censoring time must be <= follow-up ({_fmt(fu)})",
                )
            )
        cens = rec.get("censoring")
        expected = _censoring(rec)
        if cens is not None and expected is not None and cens != expected:
            problems.append(
                problem(
                    rec,
                    "censoring",
                    cens,
                    f"inconsistent with the times and response (expected '{expected}')",
                )
            )
        if rec.get("time_basis") in ("exact", "by_visit") and rec.get("regressed") and hi is None:
            problems.append(
                problem(
                    rec,
                    "time_upper_months",
                    "",
                    f"time_basis is {rec['time_basis']} but no time of regression is given",
                )
            )
    return problems


def _censoring(rec) -> str | None:
    """The censoring kind implied by an episode's times and response."""
    lo, hi, regressed = (
        rec.get("time_lower_months"),
        rec.get("time_upper_months"),
        rec.get("regressed"),
    )
    if regressed is True:
        if hi is None:
            return "none"
        return "exact" if lo is not None and abs(lo - hi) < 1e-12 else "interval"
    if regressed is False:
        return "right" if lo is not None and hi is None else "none"
    return "none"


def check_references(tables: dict[str, list[dict]]) -> list[Problem]:
    """Foreign keys (episodes → patients → studies, cohorts → studies) and overlaps_with."""
    problems = []
    for name, records in tables.items():
        table = schema.TABLES[name]
        for col, target, target_col in table.foreign_keys:
            if target not in tables:
                continue
            keys = {r.get(target_col) for r in tables[target]}
            for rec in records:
                v = rec.get(col)
                if v is not None and v not in keys and not is_missing_marker(v):
                    hint = schema.did_you_mean(v, sorted(k for k in keys if k))
                    problems.append(problem(rec, col, v, f"no such {target_col} in {target}{hint}"))
    study_ids = {r.get("study_id") for r in tables.get("studies", [])}
    cohort_ids = {r.get("cohort_id") for r in tables.get("cohorts", [])}
    for name in ("studies", "cohorts"):
        if "studies" not in tables:
            break
        for rec in tables.get(name, []):
            v = rec.get("overlaps_with")
            own = rec.get("cohort_id") if name == "cohorts" else rec.get("study_id")
            if v is None:
                continue
            if v == own or (name == "cohorts" and v == rec.get("study_id")):
                problems.append(
                    problem(rec, "overlaps_with", v, "a record cannot overlap with itself")
                )
            elif v not in study_ids and v not in cohort_ids:
                problems.append(
                    problem(
                        rec,
                        "overlaps_with",
                        v,
                        "no such study_id or cohort_id"
                        + schema.did_you_mean(v, sorted(study_ids | cohort_ids)),
                    )
                )
    problems += _same_study(tables)
    if "patients" in tables and "episodes" in tables:
        calcinosis = {r.get("patient_id"): r.get("calcinosis") for r in tables["patients"]}
        for rec in tables["episodes"]:
            if calcinosis.get(rec.get("patient_id")) is False:
                problems.append(
                    problem(
                        rec,
                        "patient_id",
                        rec["patient_id"],
                        "an episode treats calcinosis: its patient must have calcinosis",
                    )
                )
    return problems


def _same_study(tables: dict[str, list[dict]]) -> list[Problem]:
    """A row and the row it points at belong to the same source: an episode to its patient's
    study, an arm to its cohort's, an exclusion to its record's; and exclusions name records
    that exist."""
    problems: list[Problem] = []
    for name, col, target, key in (("episodes", "patient_id", "patients", "patient_id"),
                                   ("arms", "cohort_id", "cohorts", "cohort_id")):  # fmt: skip
        if name not in tables or target not in tables:
            continue
        known = {s.get("study_id") for s in tables.get("studies", [])}
        owner = {r.get(key): r.get("study_id") for r in tables[target]}
        for rec in tables[name]:
            ref, sid = rec.get(col), rec.get("study_id")
            # a parent whose own study_id is unknown is reported there, once
            if ref in owner and sid is not None and owner[ref] != sid and owner[ref] in known:
                problems.append(problem(rec, "study_id", sid, f"must be the study_id of its "
                                        f"{col} {ref} in {target} ({owner[ref]})"))  # fmt: skip
    for rec in tables.get("exclusions", []):
        target = rec.get("table")
        if target not in tables or target not in schema.TABLES:
            continue
        key = schema.TABLES[target].primary_key
        owner = {r.get(key): r.get("study_id") for r in tables[target]}
        rid = rec.get("record_id")
        if rid is not None and rid not in owner:
            problems.append(problem(rec, "record_id", rid, f"no such {key} in {target}"
                                    + schema.did_you_mean(rid, sorted(k for k in owner if k))))  # fmt: skip
        elif rid is not None and rec.get("study_id") != owner[rid]:
            problems.append(problem(rec, "study_id", rec.get("study_id"), f"must be the study_id "
                                    f"of {target} {rid} ({owner[rid]})"))  # fmt: skip
    return problems


DERIVED_COUNTS = (("studies", "n_cohorts", "cohorts", "study_id"),
                  ("studies", "n_case_patients", "patients", "study_id"),
                  ("studies", "n_arms", "arms", "study_id"),
                  ("patients", "n_episodes", "episodes", "patient_id"))  # fmt: skip
"""Derived counts of rows in another table: (table, column, counted table, key)."""


def check_inherited(tables: dict[str, list[dict]]) -> list[Problem]:
    """Every column copied from ``studies`` (``inherited`` in the schema: year, country, region,
    design, period, source_level) equals its study's value, and every derived count of rows
    (``studies.n_cohorts``, ``n_case_patients``, ``n_arms``, ``patients.n_episodes``) equals the
    rows present, so that a deleted row or an emptied table is reported where it shows."""
    problems: list[Problem] = []
    if "studies" not in tables:
        return problems
    studies = {s.get("study_id"): s for s in tables["studies"]}
    owner = {p.get("patient_id"): p.get("study_id") for p in tables.get("patients", [])}
    for name, records in tables.items():
        cols = [c.name for c in schema.TABLES[name].columns if c.inherited]
        for rec in records if cols else ():
            # an episode inherits through its patient (a wrong study_id is reported once)
            sid = owner.get(rec.get("patient_id"), rec.get("study_id"))
            study = studies.get(sid if name == "episodes" else rec.get("study_id"))
            if study is None:
                continue
            for col in cols:
                bad = col in rec.get(BAD, ()) or col in study.get(BAD, ())
                expected = study.get(col)
                if col == "region" and study.get("country") in schema.COUNTRY_REGION:
                    expected = schema.COUNTRY_REGION[study["country"]]  # a wrong one: once
                if not bad and rec.get(col) != expected:
                    problems.append(problem(rec, col, rec.get(col), f"must equal its study's "
                                            f"value ({_fmt(expected) or 'blank'}, "
                                            f"{study.get('study_id')} in studies): the column is "
                                            "copied from studies"))  # fmt: skip
    for name, col, counted, key in DERIVED_COUNTS:
        if name not in tables or counted not in tables:
            continue
        problems += _derived_counts(tables[name], col, tables[counted], counted, key)
    return problems


def _derived_counts(records: list[dict], col: str, rows: list[dict], counted: str,
                    key: str) -> list[Problem]:  # fmt: skip
    """The records whose ``col`` is not the number of ``rows`` with their ``key``.

    Rows whose key names no record (reported as the cause, "no such ...") belong to some record
    that now counts too few: while such rows can explain every shortfall, shortfalls are not
    reported; a count above the rows present, or more missing rows than unknown keys, is.
    A duplicated key is reported as the cause, not here."""
    n = Counter(r.get(key) for r in rows)
    parents = Counter(r.get(key) for r in records)
    unknown = sum(c for k, c in n.items() if k not in parents)
    checked = [(rec, rec.get(col), n[rec.get(key)]) for rec in records
               if parents[rec.get(key)] == 1 and rec.get(col) is not None
               and col not in rec.get(BAD, ())]  # fmt: skip
    missing = sum(max(0, stated - present) for _, stated, present in checked)
    out = []
    for rec, stated, present in checked:
        if stated == present or (stated > present and missing <= unknown):
            continue
        why = (f" ({unknown} row(s) of {counted} name a {key} that is not there)"
               if unknown and stated > present else "")  # fmt: skip
        out.append(problem(rec, col, stated, f"{counted} has {present} row(s) of this {key}"
                           f"{why}: rows were deleted or added by hand (run jdmstats "
                           "harmonise)"))  # fmt: skip
    return out


ARM_COUNTS = ("n_complete", "n_partial", "n_none", "n_progression", "n_not_stated")


def check_arms(tables: dict[str, list[dict]]) -> list[Problem]:
    """Rules of the therapy arms: the outcome counts add up to ``n_treated``, the derived counts
    agree with them, an arm is no larger than its cohort, every time has its unit, and every
    overlapping patient exists."""
    problems: list[Problem] = []
    cohorts = {r.get("cohort_id"): r for r in tables.get("cohorts", [])}
    patients = {r.get("patient_id") for r in tables.get("patients", [])}
    for rec in tables.get("arms", []):
        treated = rec.get("n_treated")
        counts = {k: rec.get(k) for k in ARM_COUNTS if rec.get(k) is not None}
        responded = rec.get("n_responded")
        if responded is not None and (counts.get("n_complete") is not None
                                      or counts.get("n_partial") is not None):  # fmt: skip
            problems.append(problem(rec, "n_responded", responded,
                                    "give n_responded only when complete and partial are not "
                                    "split (leave n_complete and n_partial blank)"))  # fmt: skip
        total = sum(counts.values()) + (responded or 0)
        if treated is not None and total > treated:
            problems.append(problem(rec, "n_treated", treated,
                                    f"the outcome counts add up to {total}, more than "
                                    "n_treated"))  # fmt: skip
        split = ("n_complete", "n_partial") if responded is None else ()
        full = all(rec.get(k) is not None
                   for k in (*split, "n_none", "n_progression", "n_not_stated"))  # fmt: skip
        if treated is not None and full and total != treated:
            problems.append(problem(rec, "n_treated", treated,
                                    f"the outcome counts add up to {total}, not n_treated"))
        assessed = (treated - counts.get("n_not_stated", 0)
                    if treated is not None and total == treated else None)  # fmt: skip
        if rec.get("n_assessed") != assessed:
            problems.append(problem(rec, "n_assessed", rec.get("n_assessed"),
                                    "must be n_treated - n_not_stated when the outcome counts "
                                    "account for every child, else blank (expected "
                                    f"{_fmt(assessed)})"))  # fmt: skip
        expect = None
        if counts.get("n_complete") is not None or counts.get("n_partial") is not None:
            expect = counts.get("n_complete", 0) + counts.get("n_partial", 0)
        elif responded is not None:
            expect = responded
        if rec.get("n_responders") != expect:
            problems.append(problem(rec, "n_responders", rec.get("n_responders"),
                                    f"must be n_complete + n_partial, or n_responded "
                                    f"(expected {_fmt(expect)})"))  # fmt: skip
        for name in ("followup", "time"):
            if rec.get(f"{name}_months") is not None and not rec.get(f"{name}_unit_raw"):
                problems.append(problem(rec, f"{name}_unit_raw", "",
                                        f"{name}_months is given without the unit it was "
                                        "reported in"))  # fmt: skip
        if rec.get("time_months") is not None and rec.get("time_basis") is None:
            problems.append(problem(rec, "time_basis", "",
                                    "a time to response needs its basis (exact, by_visit or "
                                    "not_stated)"))  # fmt: skip
        cohort = cohorts.get(rec.get("cohort_id"))
        if cohort is not None and treated is not None:
            for col in ("n_calcinosis", "n_patients"):
                bound = cohort.get(col)
                if bound is not None and treated > bound:
                    problems.append(problem(rec, "n_treated", treated,
                                            f"larger than its cohort's {col} ({bound}, cohort "
                                            f"{rec['cohort_id']})"))  # fmt: skip
                    break
        overlap = rec.get("overlaps_with")
        if overlap and "patients" in tables:
            ids = [v for v in re.split(r"\s*;\s*", overlap) if v]
            for pid in ids:
                if pid not in patients:
                    problems.append(problem(rec, "overlaps_with", pid,
                                            "no such patient_id in patients"
                                            + schema.did_you_mean(pid, sorted(patients))))  # fmt: skip
            if treated is not None and len(ids) > treated:
                problems.append(problem(rec, "overlaps_with", overlap,
                                        f"names {len(ids)} patients, more than n_treated"))
            if rec.get("n_overlap") != len(ids):
                problems.append(problem(rec, "n_overlap", rec.get("n_overlap"),
                                        f"must be the number of patients in overlaps_with "
                                        f"({len(ids)})"))  # fmt: skip
    return problems


def check_records(tables: dict[str, list[dict]]) -> list[Problem]:
    """Rules of the records log: every exclusion coded, every included record a known source,
    every included source a record (or identified by other methods), duplicates pointing at
    an existing record of the same article, query ids that exist."""
    records = tables.get("records")
    if records is None:
        return []
    problems: list[Problem] = []
    by_key = {r.get("url_key"): r for r in records}
    studies = {s.get("study_id") for s in tables.get("studies", [])}
    queries = {q.get("query_id") for q in tables.get("search_log", [])}
    for r in records:
        excluded = r.get("screening") == "excluded" or r.get("eligibility") == "excluded"
        if excluded and not r.get("reason"):
            problems.append(problem(r, "reason", "", "an excluded record needs one coded "
                                    "reason"))  # fmt: skip
        if r.get("screening") == "assessed" and r.get("eligibility") is None:
            problems.append(problem(r, "eligibility", "", "an assessed record is included or "
                                    "excluded"))  # fmt: skip
        if r.get("screening") != "assessed" and r.get("eligibility") is not None:
            problems.append(problem(r, "eligibility", r["eligibility"], "only assessed records "
                                    "have an eligibility decision"))  # fmt: skip
        if r.get("eligibility") == "included":
            sid = r.get("study_id")
            if not sid:
                problems.append(problem(r, "study_id", "", "an included record names its source"))
            elif studies and sid not in studies:
                problems.append(problem(r, "study_id", sid, "no such study_id in studies"
                                        + schema.did_you_mean(sid, sorted(studies))))  # fmt: skip
        dup = r.get("duplicate_of")
        if (r.get("screening") == "duplicate") != (dup is not None):
            problems.append(problem(r, "duplicate_of", dup or "", "a duplicate names the record "
                                    "it duplicates, and only a duplicate does"))  # fmt: skip
        elif dup is not None:
            first = by_key.get(dup)
            if first is None or first.get("record_id") != r.get("record_id"):
                problems.append(problem(r, "duplicate_of", dup, "must be a record of the same "
                                        "article (same record_id)"))  # fmt: skip
        if queries:
            for q in str(r.get("query_ids") or "").split(";"):
                if q and q not in queries:
                    problems.append(problem(r, "query_ids", q, "no such query_id in search_log"))
    if "studies" in tables and tables.get("search_log"):
        found = {r.get("study_id") for r in records if r.get("eligibility") == "included"}
        problems += _other_methods(tables["studies"], tables["search_log"], found,
                                   "no record in the records log")  # fmt: skip
    return problems


OTHER_METHODS = re.compile(schema.OTHER_METHODS, re.I)
"""Compiled :data:`jdmstats.evidence.schema.OTHER_METHODS`."""
_STUDY_IDS = schema.STUDY_ID_IN_TEXT


def _other_methods(studies, log, found: set, missing: str) -> list[Problem]:
    """Warn about every source that no search found and no other-methods row names: PRISMA
    counts it as identified by other methods, which the curator should say (or correct)."""
    other: set[str] = set()
    for q in log:
        if OTHER_METHODS.search(str(q.get("database"))):
            other.update(_STUDY_IDS.findall(str(q.get("included_ids") or "")))
    rule = (f"{missing} and no search-log row of other methods: PRISMA counts this source as "
            "identified by other methods; say so with a search-log row of the other method "
            "(database: 'citation search', 'reference list', ...), or log the query that found "
            "it")  # fmt: skip
    return [dataclasses.replace(problem(s, "study_id", s.get("study_id"), rule),
                                severity="warning")
            for s in studies if s.get("study_id") not in found | other]  # fmt: skip


def check_search_log(tables: dict[str, list[dict]]) -> list[Problem]:
    """Without a records log: every source is named by a logged query (``included_ids``) or a
    row of other methods, else a warning says PRISMA counts it as found by other methods."""
    if "records" in tables or not tables.get("search_log") or "studies" not in tables:
        return []
    found = set()
    for q in tables["search_log"]:
        if not OTHER_METHODS.search(str(q.get("database"))):
            found.update(_STUDY_IDS.findall(str(q.get("included_ids") or "")))
    return _other_methods(tables["studies"], tables["search_log"], found,
                          "named by no logged query")  # fmt: skip


def check_tables(tables: dict[str, list[dict]]) -> list[Problem]:
    """All checks on a set of harmonised tables (any subset of :data:`schema.TABLES`)."""
    problems = []
    for name, records in tables.items():
        problems += check_table(schema.TABLES[name], records)
    problems += check_rows(tables)
    problems += check_references(tables)
    problems += check_inherited(tables)
    problems += check_arms(tables)
    problems += check_records(tables)
    problems += check_search_log(tables)
    return problems


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def read_text(path: str | os.PathLike, *, bom: str = "warn") -> tuple[str | None, list[Problem]]:
    """Read a data file as UTF-8 text; a file that cannot be read gives one :class:`FileProblem`.

    A folder in place of the file, a missing file, a file without read permission, and bytes
    that are not UTF-8 (typically latin-1 / Windows-1252 from an old editor or Excel) are each
    reported once, naming the cause; the text is then ``None``. Legacy encodings are refused,
    not guessed: a wrong guess would change names silently. A UTF-8 byte-order mark (Excel's
    "CSV UTF-8") is removed with a warning (``bom="warn"``) or silently (``bom="strip"``, for
    YAML, whose specification allows it).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        return None, [FileProblem(str(path), "", "", "", "is a folder, not a file")]
    except FileNotFoundError:
        return None, [FileProblem(str(path), "", "", "", "no such file")]
    except PermissionError:
        return None, [FileProblem(str(path), "", "", "", "permission denied: the file cannot "
                                  "be read")]  # fmt: skip
    except OSError as exc:
        return None, [FileProblem(str(path), "", "", "", f"cannot be read: {exc.strerror or exc}")]
    notes: list[Problem] = []
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
        if bom == "warn":
            notes.append(Problem(str(path), "1", "", "", "the file starts with a UTF-8 byte-order "
                                 "mark (as Excel's 'CSV UTF-8' writes): it was ignored; save the "
                                 "file without it to silence this warning", severity="warning"))  # fmt: skip
    try:
        return data.decode("utf-8"), notes
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start]
        shown = bytes([byte]).decode("cp1252", errors="replace")
        return None, [FileProblem(str(path), str(line), "", f"0x{byte:02x}",
                                  f"not UTF-8 text: byte 0x{byte:02x} ('{shown}' in latin-1 / "
                                  "Windows-1252) shows the file was saved in a legacy encoding; "
                                  "save it as UTF-8 (nothing else in the file was checked)")]  # fmt: skip


_DELIMITERS = ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars"))


def _wrong_delimiter(path: Path, text: str, table: schema.Table) -> Problem | None:
    """A problem when the header splits into more known columns on ``;`` (or a tab, ``|``)
    than on commas: a CSV saved with another separator (Excel in many locales uses ``;``)."""
    first = text.splitlines()[0] if text else ""
    known = set(table.names)

    def hits(sep):
        return len({c.strip() for c in next(csv.reader([first], delimiter=sep), [])} & known)

    comma = hits(",")
    for sep, name in _DELIMITERS:
        if sep in first and hits(sep) > comma:
            return FileProblem(str(path), "1", "", sep, f"columns are separated by {name}, not "
                               "commas: jdmstats tables are comma-separated CSV; save the file "
                               "as CSV with commas (nothing else in the file was checked)")  # fmt: skip
    return None


def _read_csv(path: Path, table: schema.Table) -> tuple[list[dict] | None, list[Problem]]:
    """Records of one CSV (``None`` when the file cannot be read at all) and the problems."""
    text, problems = read_text(path)
    if text is None:
        return None, problems
    wrong = _wrong_delimiter(path, text, table)
    if wrong is not None:
        return None, [wrong]
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    try:
        start = 1
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        return None, problems + [FileProblem(str(path), str(reader.line_num), "", "",
                                             f"malformed CSV: {exc}")]  # fmt: skip
    if not rows:
        return None, problems + [FileProblem(str(path), "1", "", "", "empty file: a header row "
                                             "is required")]  # fmt: skip
    header = [h.strip() for h in rows[0][1]]
    known = set(table.names)
    for col in header:
        if col not in known:
            problems.append(Problem(str(path), "1", col, "",
                                    f"unknown column{schema.did_you_mean(col, table.names)}"))
    missing = {col.name for col in table.columns if col.required and col.name not in header}
    for col in table.columns:
        if col.name in missing:
            problems.append(Problem(str(path), "1", col.name, "", "required column is missing"))
    for col in [c for c, n in Counter(header).items() if n > 1]:
        problems.append(Problem(str(path), "1", col, "", "column appears more than once"))
    records = []
    for lineno, row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        if len(row) != len(header):
            problems.append(Problem(str(path), str(lineno), "", "",
                                    f"has {len(row)} cells, the header has {len(header)}"))
            continue
        rec = {ORIGIN: (str(path), str(lineno))}
        if missing:  # reported once, for the column, not again for every row
            rec[BAD] = set(missing)
        for col_name, raw in zip(header, row, strict=True):
            if col_name not in known:
                continue
            column = table.column(col_name)
            value, rule = coerce(raw, column)
            rule = rule or padding_rule(raw, table, column)
            if rule:
                problems.append(Problem(str(path), str(lineno), col_name, raw, rule))
                rec.setdefault(BAD, set()).add(col_name)
            rec[col_name] = value
        records.append(rec)
    return records, problems


def read_csv_table(
    path: str | os.PathLike, table: schema.Table
) -> tuple[list[dict], list[Problem]]:
    """Read one harmonised CSV: header and type checks; returns typed records and problems.

    The row of a problem is the line of the file where the record starts (a quoted cell may
    span lines). Blank lines are skipped; CRLF and LF line endings are both accepted. A file
    that cannot be read at all (see :func:`read_text`; or separated by ``;``) gives one
    :class:`~jdmstats.errors.FileProblem` and no records.
    """
    records, problems = _read_csv(Path(path), table)
    return records or [], problems


def read_harmonised(
    folder: str | os.PathLike, names=None
) -> tuple[dict[str, list[dict]], list[Problem]]:
    """Read the harmonised CSVs present in ``folder`` (all of :data:`schema.TABLES` by default).

    A table whose file cannot be read is left out of the result (its problem says why), so
    that the checks across tables report no follow-on errors about it.
    """
    folder = Path(folder)
    tables, problems = {}, []
    for name in names or schema.TABLES:
        path = folder / schema.TABLES[name].filename
        if not path.exists() and not path.is_symlink():
            continue
        records, probs = _read_csv(path, schema.TABLES[name])
        if records is not None:
            tables[name] = records
        problems += probs
    return tables, problems


def check_folder(folder: str | os.PathLike) -> list[Problem]:
    """Rules of a harmonised folder as a whole: ``datapackage.json`` is there, is JSON and
    describes the tables as :mod:`jdmstats.evidence.schema` does (same tables, same columns in
    the same order, same types); every table ``jdmstats harmonise`` writes is there (those of
    :data:`ALWAYS_WRITTEN`, and search_log and records when the datapackage records them);
    ``studies.csv`` has rows. Missing files are :class:`~jdmstats.errors.FileProblem`.
    """
    folder = Path(folder)
    problems: list[Problem] = []
    dp_path = folder / "datapackage.json"
    required = list(ALWAYS_WRITTEN)
    text, probs = read_text(dp_path, bom="strip")
    if text is None:
        rule = probs[0].rule
        if rule == "no such file":
            rule = "no such file: a harmonised folder has its datapackage.json (jdmstats " \
                   "harmonise writes it)"
        problems.append(FileProblem(str(dp_path), probs[0].row, "", probs[0].value, rule))
    else:
        try:
            dp = json.loads(text)
        except json.JSONDecodeError as exc:
            dp = None
            problems.append(FileProblem(str(dp_path), str(exc.lineno), "", "",
                                        f"not valid JSON: {exc.msg} (column {exc.colno})"))
        if dp is not None:
            problems += _check_datapackage(dp_path, dp, required)
    for name in required:
        path = folder / schema.TABLES[name].filename
        if not path.exists() and not path.is_symlink():
            problems.append(FileProblem(str(path), "", "", "", f"no such file: the {name} table "
                                        "of the harmonised folder is missing"))  # fmt: skip
    return problems


def _check_datapackage(path: Path, dp, required: list[str]) -> list[Problem]:
    """Compare a parsed datapackage with the schema; add the tables it records to ``required``."""
    problems: list[Problem] = []
    resources = dp.get("resources") if isinstance(dp, dict) else None
    if not isinstance(resources, list):
        return [Problem(str(path), "", "resources", "", "a data package lists its tables in "
                        "'resources' (a list)")]  # fmt: skip
    seen = set()
    for i, res in enumerate(resources):
        where = f"resources[{i}]"
        name = res.get("name") if isinstance(res, dict) else None
        if name not in schema.TABLES:
            problems.append(Problem(str(path), "", f"{where}.name", str(name), "not a jdmstats "
                                    "table" + schema.did_you_mean(str(name), schema.TABLES)))  # fmt: skip
            continue
        seen.add(name)
        table = schema.TABLES[name]
        if res.get("path") != table.filename:
            problems.append(Problem(str(path), "", f"{where}.path", str(res.get("path")),
                                    f"must be {table.filename}"))
        fields = (res.get("schema") or {}).get("fields") if isinstance(res.get("schema"), dict) \
            else None
        got = [(f.get("name"), f.get("type")) for f in fields or () if isinstance(f, dict)]
        want = [(c.name, c.type) for c in table.columns]
        if got != want:
            diff = next((f"{g[0]} ({g[1]})" for g, w in zip(got, want, strict=False) if g != w),
                        f"{len(got)} fields, the schema has {len(want)}")  # fmt: skip
            problems.append(Problem(str(path), "", f"{where}.schema.fields", diff,
                                    f"the fields of {name} differ from jdmstats.evidence.schema "
                                    "(names, order and types must match; run jdmstats "
                                    "harmonise)"))  # fmt: skip
        if res.get("hash") and name not in required:
            required.append(name)
    for name in schema.TABLES:
        if name not in seen:
            problems.append(Problem(str(path), "", "resources", name, "the table is not "
                                    "described (run jdmstats harmonise)"))  # fmt: skip
    return problems


def unreadable(problems: list[Problem]) -> list[Problem]:
    """The :class:`~jdmstats.errors.FileProblem` among ``problems``."""
    return [p for p in problems if isinstance(p, FileProblem)]


def check_harmonised(folder: str | os.PathLike) -> tuple[dict[str, list[dict]], list[Problem]]:
    """Read and check a harmonised folder: the folder rules, then every table and row.

    When a file is missing or cannot be read, only those problems are returned (first and
    once), not the follow-on errors of the tables that refer to it.

    Returns
    -------
    tables : dict
        The records of the readable tables.
    problems : list of Problem
        Errors and warnings, empty when the folder is clean.
    """
    folder = Path(folder)
    problems = check_folder(folder)
    tables, probs = read_harmonised(folder)
    problems += probs
    if unreadable(problems):
        return tables, unreadable(problems)
    if "studies" in tables and not tables["studies"]:  # every other row would lack its study
        return tables, [FileProblem(str(folder / "studies.csv"), "", "", "", "no rows: the "
                                    "folder holds no source, so every analysis would be "
                                    "empty")]  # fmt: skip
    return tables, problems + check_tables(tables)
