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

import csv
import math
import os
import re
from collections import Counter
from pathlib import Path

from jdmstats.errors import Problem
from jdmstats.evidence import schema

ORIGIN = "_origin"
BAD = "_bad"  # columns of a record whose raw value failed its type check (reported once)
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


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
        import datetime

        try:
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
    for rec in records:
        for col in table.columns:
            if col.inherited:
                continue
            value = rec.get(col.name)
            if value is None:
                if col.required and col.name not in rec.get(BAD, ()):
                    problems.append(problem(rec, col.name, "", "required value is missing"))
                continue
            for rule in check_value(value, col):
                problems.append(problem(rec, col.name, value, rule))
    for col in table.columns:
        if not col.unique:
            continue
        counts = Counter(r.get(col.name) for r in records if r.get(col.name) is not None)
        for rec in records:
            value = rec.get(col.name)
            if value is not None and counts[value] > 1:
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
                    "must look like FirstauthorYYYY (ASCII letters, 4-digit year, optional a/b)",
                )
            )
        elif sid is not None and rec.get("year") is not None:
            digits = re.search(r"([0-9]{4})[a-z]?$", sid).group(1)
            if digits != str(rec["year"]):
                problems.append(
                    problem(
                        rec, "study_id", sid, f"year in study_id must match year ({rec['year']})"
                    )
                )
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
                if v is not None and v not in keys:
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
        other = set()
        for q in tables["search_log"]:
            if re.search(r"seed|other method|citation|reference list|hand search",
                         str(q.get("database")), re.I):  # fmt: skip
                other.update(re.findall(r"[A-Z][A-Za-z]+[0-9]{4}[a-z]?",
                                        str(q.get("included_ids") or "")))  # fmt: skip
        for s in tables["studies"]:
            if s.get("study_id") not in found | other:
                problems.append(problem(s, "study_id", s.get("study_id"),
                                        "included source with no record in the records log and "
                                        "no search-log row of other methods (add its query "
                                        "hits, or a row of the other method)"))  # fmt: skip
    return problems


def check_tables(tables: dict[str, list[dict]]) -> list[Problem]:
    """All checks on a set of harmonised tables (any subset of :data:`schema.TABLES`)."""
    problems = []
    for name, records in tables.items():
        problems += check_table(schema.TABLES[name], records)
    problems += check_rows(tables)
    problems += check_references(tables)
    problems += check_arms(tables)
    problems += check_records(tables)
    return problems


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def read_csv_table(
    path: str | os.PathLike, table: schema.Table
) -> tuple[list[dict], list[Problem]]:
    """Read one harmonised CSV: header and type checks; returns typed records and problems."""
    path = Path(path)
    problems: list[Problem] = []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError as exc:
        return [], [Problem(str(path), "", "", "", f"not UTF-8 text ({exc.reason})")]
    except csv.Error as exc:
        return [], [Problem(str(path), "", "", "", f"malformed CSV: {exc}")]
    if not rows:
        return [], [Problem(str(path), "1", "", "", "empty file: a header row is required")]
    header = [h.strip() for h in rows[0]]
    known = set(table.names)
    for col in header:
        if col not in known:
            problems.append(
                Problem(
                    str(path),
                    "1",
                    col,
                    "",
                    f"unknown column{schema.did_you_mean(col, table.names)}",
                )
            )
    missing = {col.name for col in table.columns if col.required and col.name not in header}
    for col in table.columns:
        if col.name in missing:
            problems.append(Problem(str(path), "1", col.name, "", "required column is missing"))
    dup = [c for c, n in Counter(header).items() if n > 1]
    for col in dup:
        problems.append(Problem(str(path), "1", col, "", "column appears more than once"))
    records = []
    for lineno, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(
                Problem(
                    str(path),
                    str(lineno),
                    "",
                    "",
                    f"has {len(row)} cells, the header has {len(header)}",
                )
            )
            continue
        rec = {ORIGIN: (str(path), str(lineno))}
        if missing:  # reported once, for the column, not again for every row
            rec[BAD] = set(missing)
        for col_name, raw in zip(header, row, strict=True):
            if col_name not in known:
                continue
            column = table.column(col_name)
            value, rule = coerce(raw, column)
            if rule:
                problems.append(Problem(str(path), str(lineno), col_name, raw, rule))
                rec.setdefault(BAD, set()).add(col_name)
            rec[col_name] = value
        records.append(rec)
    return records, problems


def read_harmonised(
    folder: str | os.PathLike, names=None
) -> tuple[dict[str, list[dict]], list[Problem]]:
    """Read the harmonised CSVs present in ``folder`` (all of :data:`schema.TABLES` by default)."""
    folder = Path(folder)
    tables, problems = {}, []
    for name in names or schema.TABLES:
        path = folder / schema.TABLES[name].filename
        if not path.exists():
            continue
        records, probs = read_csv_table(path, schema.TABLES[name])
        tables[name] = records
        problems += probs
    return tables, problems
