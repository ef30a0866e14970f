"""Extraction files (one YAML per source) → harmonised tables (CSV + datapackage.json).

``jdmstats harmonise`` reads every ``data/extraction/*.yaml`` file, converts durations to
months and ages to years (keeping the statistic and the raw unit beside each value), maps agents
to therapy classes, derives the censoring of each therapy episode, logs every record an analysis
cannot use in ``exclusions.csv``, validates the result, and writes ``data/harmonised/``.
The output depends only on the input files: running it twice gives byte-identical files.
Extraction files are only read, never written.

Examples
--------
A folder with one extraction file (a made-up cohort), harmonised into another folder:

>>> import tempfile
>>> from jdmstats import harmonise
>>> root = Path(tempfile.mkdtemp())
>>> (root / "extraction").mkdir()
>>> _ = (root / "extraction" / "Demo2020.yaml").write_text('''
... study_id: Demo2020
... first_author: Demo
... year: 2020
... title: A made-up cohort
... journal: Demo J
... url: https://example.org/demo
... source_level: abstract
... country: France
... design: retrospective_cohort
... cohorts:
...   - n_patients: 40
...     n_calcinosis: 10
...     calcinosis_timing: cumulative
...     delay: {value: 6, unit: months, stat: median, definition: onset_to_diagnosis}
...     locator: abstract
... ''')
>>> counts = harmonise.harmonise(root / "extraction", root / "harmonised")
>>> counts["studies"], counts["cohorts"]
(1, 1)
>>> (root / "harmonised" / "cohorts.csv").exists()
True
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from jdmstats.errors import DataValidationError, FileProblem, Problem, errors_only
from jdmstats.evidence import schema
from jdmstats.evidence.checks import (
    BAD,
    ORIGIN,
    check_search_log,
    check_tables,
    coerce,
    padding_rule,
    read_csv_table,
    read_text,
    unreadable,
)
from jdmstats.evidence.records import SEARCH_DIR, build_records, read_search_files

LINE = "__line__"

SOURCE_KEYS = (
    "study_id", "first_author", "year", "title", "journal", "doi", "url", "source_level",
    "publication_type", "country", "countries", "design", "setting", "period_start",
    "period_end", "overlaps_with", "extracted_by", "extracted_on", "notes", "cohorts",
    "patients", "arms",
)  # fmt: skip
COHORT_KEYS = (
    "cohort_id", "label", "n_patients", "n_calcinosis", "calcinosis_pct",
    "n_calcinosis_derived", "count_pct_disagree", "calcinosis_timing", "age_onset", "followup",
    "delay", "delay_calcinosis", "delay_no_calcinosis", "delay_or", "include_primary",
    "exclusion_reason", "overlaps_with", "locator", "notes", "url", "doi",
)  # fmt: skip
MEASURE_KEYS = ("value", "unit", "stat", "sd", "spread", "low", "high", "n", "definition",
                "basis")  # fmt: skip
ARM_KEYS = (
    "arm_id", "label", "agents", "therapy_class", "route", "cohort_id", "n_treated",
    "n_complete", "n_partial", "n_none", "n_progression", "n_not_stated", "n_responded",
    "response_words", "followup", "time_to_response", "overlaps_with", "locator", "notes", "url",
    "doi",
)  # fmt: skip
ARM_COUNTS = ("n_complete", "n_partial", "n_none", "n_progression", "n_not_stated")
OR_KEYS = ("value", "ci_low", "ci_high", "contrast", "adjusted", "level")
PATIENT_KEYS = (
    "id", "sex", "age_onset", "age_onset_derived", "age_diagnosis", "delay", "antibody",
    "calcinosis", "calcinosis_type", "calcinosis_sites", "locator", "notes", "episodes", "url",
    "doi",
)  # fmt: skip
EPISODE_KEYS = (
    "agents", "therapy_class", "route", "concomitant", "start", "response", "response_words",
    "time_basis", "time_to_response", "time_lower", "followup", "locator", "notes", "url", "doi",
)  # fmt: skip
DURATION = {k: v for k, v in schema.DURATION_UNITS.items()}


# --------------------------------------------------------------------------------------------
# Reading YAML with line numbers
# --------------------------------------------------------------------------------------------


def _loader():
    import yaml

    class LineLoader(yaml.SafeLoader):
        """SafeLoader that records the line of every mapping under ``__line__``."""

    def construct_mapping(loader, node, deep=False):
        mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=deep)
        mapping[LINE] = node.start_mark.line + 1
        return mapping

    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    # Keep dates as text (extracted_on: 2026-11-21) instead of datetime.date.
    LineLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)
    return LineLoader


def read_yaml(path: Path) -> tuple[dict | None, list[Problem]]:
    """Parse one extraction file; YAML syntax errors become problems with their line."""
    import yaml

    text, problems = read_text(path, bom="strip")
    if text is None:
        return None, problems
    try:
        doc = yaml.load(text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = str(mark.line + 1) if mark else ""
        msg = getattr(exc, "problem", None) or str(exc)
        return None, [FileProblem(str(path), row, "", "", f"YAML syntax error: {msg}")]
    if not isinstance(doc, dict):
        return None, [FileProblem(str(path), "1", "", "",
                                  "the file must be a YAML mapping (key: value lines)")]
    return doc, problems


VOCABULARY_FILE = "vocabulary.yaml"
"""A data folder's own vocabulary additions, beside its extraction files (not a source)."""
VOCABULARY_KEYS = ("agents",)


def sources_in(folder: str | os.PathLike) -> list[Path]:
    """The extraction files of a folder: every ``*.yaml`` but :data:`VOCABULARY_FILE`."""
    return sorted(p for p in Path(folder).glob("*.yaml") if p.name != VOCABULARY_FILE)


def read_vocabulary(path: str | os.PathLike) -> tuple[dict[str, str], list[Problem]]:
    """Read a folder's ``vocabulary.yaml``: agent names the package does not know, each with
    the therapy class it belongs to.

    The file is a mapping ``agents: {agent name: therapy_class}``. Every class must be one of
    :data:`~jdmstats.evidence.schema.THERAPY_CLASSES` (the classes are fixed; the agents are
    not), and an agent the package already knows may be listed only with its own class (it
    cannot be moved to another class). Names are matched as in ``agents`` (lower case, spaces
    collapsed).

    Returns
    -------
    agents : dict
        Normalised agent name → therapy class (only the valid entries).
    problems : list of Problem
        One per invalid entry, at its line.
    """
    import yaml

    path = Path(path)
    text, problems = read_text(path, bom="strip")
    if text is None:
        return {}, problems
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return {}, [FileProblem(str(path), str(mark.line + 1) if mark else "", "", "",
                                f"YAML syntax error: {getattr(exc, 'problem', None) or exc}")]
    if node is None:
        return {}, []
    if not isinstance(node, yaml.MappingNode):
        return {}, [FileProblem(str(path), "1", "", "", "must be a mapping: agents: {agent "
                                "name: therapy_class}")]  # fmt: skip
    agents: dict[str, str] = {}
    for key, value in node.value:
        line = str(key.start_mark.line + 1)
        if key.value not in VOCABULARY_KEYS:
            problems.append(Problem(str(path), line, str(key.value), "", "unknown key"
                                    + schema.did_you_mean(str(key.value), VOCABULARY_KEYS)
                                    + f"; accepted: {', '.join(VOCABULARY_KEYS)}"))  # fmt: skip
            continue
        if not isinstance(value, yaml.MappingNode):
            problems.append(Problem(str(path), line, "agents", "", "must be a mapping of agent "
                                    "name to therapy class"))  # fmt: skip
            continue
        for k, v in value.value:
            line = str(k.start_mark.line + 1)
            if not isinstance(k, yaml.ScalarNode) or not isinstance(v, yaml.ScalarNode):
                problems.append(Problem(str(path), line, "agents", "", "each entry is one line "
                                        "'agent name: therapy_class'"))  # fmt: skip
                continue
            agent, cls = schema.normalise_agent(str(k.value)), str(v.value).strip()
            known = schema.AGENT_CLASS.get(agent)
            if not agent:
                problems.append(Problem(str(path), line, "agents", "", "an agent needs a name"))
            elif cls not in schema.THERAPY_CLASSES:
                problems.append(Problem(str(path), line, agent, cls, "not a therapy class"
                                        + schema.did_you_mean(cls, schema.THERAPY_CLASSES)
                                        + "; accepted: " + ", ".join(schema.THERAPY_CLASSES)))  # fmt: skip
            elif known is not None and known != cls:
                problems.append(Problem(str(path), line, agent, cls, f"the package already "
                                        f"classes {agent} as {known}: an addition cannot move a "
                                        "known agent to another class"))  # fmt: skip
            elif agents.get(agent, cls) != cls:
                problems.append(Problem(str(path), line, agent, cls, f"listed twice, first as "
                                        f"{agents[agent]}"))  # fmt: skip
            else:
                agents[agent] = cls
    return agents, problems


class _Reader:
    """Collects problems while turning one parsed YAML document into table records."""

    def __init__(self, path: Path, agents: dict[str, str] | None = None):
        self.path = path
        self.problems: list[Problem] = []
        self.agents = agents or {}  # the folder's own additions (vocabulary.yaml)

    def origin(self, mapping: dict, where: str) -> tuple[str, str]:
        line = mapping.get(LINE, "")
        return (str(self.path), f"{line} ({where})" if where else str(line))

    def add(self, mapping: dict, where: str, column: str, value, rule: str):
        file, row = self.origin(mapping, where)
        shown = "" if value is None else str(value)
        self.problems.append(Problem(file, row, column, shown, rule))

    def keys(self, mapping, allowed, where):
        if not isinstance(mapping, dict):
            self.problems.append(
                Problem(
                    str(self.path), "", where, str(mapping)[:40], "must be a mapping (key: value)"
                )
            )
            return False
        for key in mapping:
            if key != LINE and key not in allowed:
                self.add(
                    mapping,
                    where,
                    key,
                    "",
                    f"unknown key{schema.did_you_mean(key, allowed)}; accepted: {', '.join(allowed)}",
                )
        return True

    def measure(self, mapping, name, where, *, age=False):
        """Flatten a measure block into ``{name}_{unit}``, ``_stat``, ``_sd`` ... columns."""
        out = {}
        block = mapping.get(name)
        if block is None:
            return out
        here = f"{where}.{name}"
        if not isinstance(block, dict):
            self.add(
                mapping,
                here,
                name,
                block,
                "must be a mapping like {value: 4, unit: months, stat: median}",
            )
            return out
        self.keys(block, MEASURE_KEYS, here)
        unit = block.get("unit")
        units = schema.AGE_UNITS if age else DURATION
        target = "years" if age else "months"
        if block.get("value") is None:
            self.add(
                block,
                here,
                "value",
                None,
                "a measure needs a value (leave the whole block out when not stated)",
            )
            return out
        if unit not in units:
            self.add(
                block,
                here,
                "unit",
                unit,
                f"unit must be one of {', '.join(units)}{schema.did_you_mean(str(unit), units)}",
            )
            return out
        factor = units[unit]
        for key, col in (
            ("value", f"{name}_{target}"),
            ("sd", f"{name}_sd_{target}"),
            ("low", f"{name}_low_{target}"),
            ("high", f"{name}_high_{target}"),
        ):
            raw = block.get(key)
            if raw is None:
                continue
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                self.add(block, here, key, raw, "must be a number")
                continue
            out[col] = round(float(raw) * factor, 6)
        out[f"{name}_stat"] = block.get("stat", "not_stated")
        out[f"{name}_spread"] = block.get("spread")
        if block.get("sd") is not None:
            out[f"{name}_spread"] = out[f"{name}_spread"] or "sd"
        if (block.get("low") is not None or block.get("high") is not None) and block.get(
            "spread"
        ) not in ("iqr", "range"):
            self.add(
                block, here, "spread", block.get("spread"), "low/high need spread: iqr or range"
            )
        out[f"{name}_unit_raw"] = unit
        if block.get("n") is not None:
            out[f"{name}_n"] = block["n"]
        if block.get("definition") is not None:
            out["definition"] = block["definition"]
        if block.get("basis") is not None:
            if name != "time_to_response":
                self.add(block, here, "basis", block["basis"],
                         "basis belongs only on an arm's time_to_response")  # fmt: skip
            out["basis"] = block["basis"]
        return out


def _months(reader: _Reader, mapping: dict, key: str, where: str) -> float | None:
    block = mapping.get(key)
    if block is None:
        return None
    here = f"{where}.{key}"
    if not isinstance(block, dict) or block.get("value") is None:
        reader.add(mapping, here, key, block, "must be {value: N, unit: days|weeks|months|years}")
        return None
    reader.keys(block, ("value", "unit"), here)
    if block.get("unit") not in DURATION:
        reader.add(
            block, here, "unit", block.get("unit"), f"unit must be one of {', '.join(DURATION)}"
        )
        return None
    value = block["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        reader.add(block, here, "value", value, "must be a number")
        return None
    return round(float(value) * DURATION[block["unit"]], 6)


def _typed(reader: _Reader, table: schema.Table, raw: dict, origin) -> dict:
    """Coerce raw values to the table's column types; type errors become problems."""
    rec = {ORIGIN: origin}
    for col in table.columns:
        value, rule = coerce(raw.get(col.name), col)
        rule = rule or padding_rule(raw.get(col.name), table, col)
        if rule:
            reader.problems.append(
                Problem(origin[0], origin[1], col.name, str(raw.get(col.name)), rule)
            )
            rec.setdefault(BAD, set()).add(col.name)
        rec[col.name] = value
    return rec


def _join(values) -> str | None:
    if values is None:
        return None
    if isinstance(values, str):
        return values
    return ";".join(str(v) for v in values)


def _source_records(path: Path, doc: dict, reader: _Reader) -> dict[str, list[dict]]:
    reader.keys(doc, SOURCE_KEYS, "")
    sid = doc.get("study_id")
    if sid != path.stem:
        reader.add(doc, "", "study_id", sid, f"must equal the file name ({path.stem})")
    country = doc.get("country")
    study_raw = {k: doc.get(k) for k in SOURCE_KEYS if k not in ("cohorts", "patients", "arms")}
    study_raw["countries"] = _join(doc.get("countries"))
    study_raw["region"] = schema.region_of(country) if isinstance(country, str) else None
    study_raw["locator"] = "citation"
    study = _typed(reader, schema.STUDIES, study_raw, reader.origin(doc, ""))
    inherit = {k: study.get(k) for k in ("year", "country", "region", "design", "period_start",
                                          "period_end", "source_level")}  # fmt: skip
    prov = {"url": doc.get("url"), "doi": doc.get("doi")}
    cohorts = []
    for i, c in enumerate(doc.get("cohorts") or []):
        where = f"cohorts[{i}]"
        if not reader.keys(c, COHORT_KEYS, where):
            continue
        raw = {**inherit, **prov, **{k: c.get(k) for k in COHORT_KEYS if k in c}}
        raw["cohort_id"] = c.get("cohort_id") or (sid if i == 0 else f"{sid}_{i + 1}")
        raw["study_id"] = sid
        for name, col in (
            ("age_onset", "age_onset"),
            ("followup", "followup"),
            ("delay", "delay"),
            ("delay_calcinosis", "delay_calc"),
            ("delay_no_calcinosis", "delay_nocalc"),
        ):
            flat = reader.measure(c, name, where, age=(name == "age_onset"))
            definition = flat.pop("definition", None)
            if name == "delay" and flat:
                raw["delay_definition"] = definition or "not_stated"
            elif definition is not None and name.startswith("delay_"):
                reader.add(
                    c,
                    f"{where}.{name}",
                    "definition",
                    definition,
                    "give the definition on the cohort's `delay` block",
                )
            raw.update({k.replace(name, col, 1): v for k, v in flat.items()})
        if c.get("delay") is None and (c.get("delay_calcinosis") or c.get("delay_no_calcinosis")):
            raw["delay_definition"] = "not_stated"
        odds = c.get("delay_or")
        if odds is not None and reader.keys(odds, OR_KEYS, f"{where}.delay_or"):
            for key in OR_KEYS:
                raw["delay_or" if key == "value" else f"delay_or_{key}"] = odds.get(key)
            if raw.get("delay_or_level") is None and odds.get("ci_low") is not None:
                raw["delay_or_level"] = 0.95
        overlap = c.get("overlaps_with") or doc.get("overlaps_with")
        raw["overlaps_with"] = overlap
        if overlap:
            raw["include_primary"] = False
            raw["exclusion_reason"] = (
                c.get("exclusion_reason")
                or f"reports the same children as {overlap} (counted once)"
            )
        elif raw.get("include_primary") is None:
            raw["include_primary"] = True
        raw["n_calcinosis_derived"] = bool(c.get("n_calcinosis_derived", False))
        raw["count_pct_disagree"] = bool(c.get("count_pct_disagree", False))
        raw["calcinosis_timing"] = c.get("calcinosis_timing") or "not_stated"
        cohorts.append(_typed(reader, schema.COHORTS, raw, reader.origin(c, where)))
    patients, episodes = [], []
    for i, p in enumerate(doc.get("patients") or []):
        where = f"patients[{i}]"
        if not reader.keys(p, PATIENT_KEYS, where):
            continue
        label = str(p.get("id") or f"P{i + 1}")
        pid = f"{sid}_{label}"
        raw = {**inherit, **prov, **{k: p.get(k) for k in ("sex", "antibody", "calcinosis",
                                                             "calcinosis_sites", "locator",
                                                             "notes", "age_onset_derived",
                                                             "url", "doi") if k in p}}  # fmt: skip
        raw.update(patient_id=pid, study_id=sid, patient_label=label)
        raw["calcinosis_type"] = _join(p.get("calcinosis_type"))
        for name in ("age_onset", "age_diagnosis"):
            flat = reader.measure(p, name, where, age=True)
            raw[f"{name}_years"] = flat.get(f"{name}_years")
        flat = reader.measure(p, "delay", where)
        raw["delay_months"] = flat.get("delay_months")
        if flat:
            raw["delay_definition"] = flat.get("definition", "not_stated")
        raw["calcinosis"] = p.get("calcinosis", True)
        eps = p.get("episodes") or []
        raw["n_episodes"] = len(eps)
        patients.append(_typed(reader, schema.PATIENTS, raw, reader.origin(p, where)))
        for j, e in enumerate(eps):
            ewhere = f"{where}.episodes[{j}]"
            if not reader.keys(e, EPISODE_KEYS, ewhere):
                continue
            episodes.append(_episode(reader, e, ewhere, pid, sid, j + 1, inherit, prov))
    arms = []
    for i, a in enumerate(doc.get("arms") or []):
        where = f"arms[{i}]"
        if reader.keys(a, ARM_KEYS, where):
            arms.append(_arm(reader, a, where, sid, i + 1, inherit, prov))
    study["n_cohorts"] = len(cohorts)  # derived: the rows this source contributes
    study["n_case_patients"] = len(patients)
    study["n_arms"] = len(arms)
    return {"studies": [study], "cohorts": cohorts, "patients": patients, "episodes": episodes,
            "arms": arms}  # fmt: skip


def _classes(reader, e, where) -> dict:
    """``therapy_class`` and ``therapy_classes`` of an episode or arm from its ``agents``.

    Every agent of a class that is not the override's own is kept in ``therapy_classes``; an
    override (``therapy_class``) must be one of them, or ``other``/``combination``."""
    agents = schema.split_agents(str(e.get("agents") or ""))
    classes = []
    for agent in agents:
        cls = schema.therapy_class_of(agent) or reader.agents.get(agent)
        if cls is None:
            if e.get("therapy_class") is None:
                vocab = reader.path.parent / VOCABULARY_FILE
                reader.add(e, where, "agents", agent, "unknown agent"
                           + schema.did_you_mean(agent, [*schema.AGENT_CLASS, *reader.agents])
                           + f": add it to {vocab} (agents: {{{agent}: therapy_class}}; see "
                           "data/extraction/README.md), or set therapy_class")  # fmt: skip
            cls = "other"
        if cls not in classes:
            classes.append(cls)
    override = e.get("therapy_class")
    known = override in schema.THERAPY_CLASSES  # an unknown one is reported by its vocabulary
    if override and known and classes and override not in ("combination", *classes):
        if classes == ["other"]:
            classes = [override]  # the override names the class of an agent not in the list
        else:
            reader.add(e, where, "therapy_class", override,
                       f"contradicts the classes of the agents ({';'.join(sorted(classes))}): "
                       "leave it out, or correct the agents")  # fmt: skip
    return {"therapy_classes": ";".join(sorted(classes)) or None,
            "therapy_class": override or (classes[0] if len(classes) == 1
                                          else "combination" if classes else None)}  # fmt: skip


def _arm(reader, a, where, sid, seq, inherit, prov) -> dict:
    """One therapy-arm record: counts as stated, responders and assessed children derived."""
    raw = {**{k: inherit[k] for k in ("year", "country", "source_level")}, **prov}
    raw.update({k: a.get(k) for k in ("label", "agents", "route", "cohort_id", "n_treated",
                                      *ARM_COUNTS, "n_responded", "response_words", "locator",
                                      "notes", "url", "doi") if k in a})  # fmt: skip
    raw["arm_id"] = f"{sid}_{a.get('arm_id') or f'A{seq}'}"
    raw["study_id"] = sid
    raw.update(_classes(reader, a, where))
    # derived counts; the rules on the counts are checked once, on the record (checks.py)
    ints = {k: a.get(k) for k in ("n_treated", *ARM_COUNTS, "n_responded")}
    ok = {k: v for k, v in ints.items() if isinstance(v, int) and not isinstance(v, bool)}
    complete, partial, responded = ok.get("n_complete"), ok.get("n_partial"), ok.get("n_responded")
    if complete is not None or partial is not None:
        raw["n_responders"] = (complete or 0) + (partial or 0)
    elif responded is not None:
        raw["n_responders"] = responded
    treated = ok.get("n_treated")
    total = sum(ok[k] for k in ARM_COUNTS if k in ok) + (responded or 0)
    if treated is not None and total == treated:  # every child accounted for
        raw["n_assessed"] = treated - ok.get("n_not_stated", 0)
    for name, col in (("followup", "followup"), ("time_to_response", "time")):
        flat = reader.measure(a, name, where)
        basis = flat.pop("basis", None)
        if name == "time_to_response" and flat:
            raw["time_basis"] = basis or "not_stated"
        raw.update({k.replace(name, col, 1): v for k, v in flat.items()})
    overlap = a.get("overlaps_with")
    if overlap:
        ids = schema.split_agents(overlap) if isinstance(overlap, str) else [str(v) for v in overlap]
        raw["overlaps_with"] = ";".join(ids)
        raw["n_overlap"] = len(ids)
    return _typed(reader, schema.ARMS, raw, reader.origin(a, where))


def _episode(reader, e, where, pid, sid, seq, inherit, prov) -> dict:
    raw = {**{k: inherit[k] for k in ("year", "country", "source_level")}, **prov}
    raw.update({k: e.get(k) for k in ("agents", "route", "concomitant", "response",
                                      "response_words", "locator", "notes", "url", "doi") if k in e})  # fmt: skip
    raw.update(episode_id=f"{pid}_E{seq}", patient_id=pid, study_id=sid, sequence=seq)
    raw.update(_classes(reader, e, where))
    response = e.get("response") or "not_stated"
    raw["response"] = response
    regressed = {"complete": True, "partial": True, "none": False, "progression": False}.get(
        response
    )
    raw["regressed"] = regressed
    raw["complete"] = None if regressed is None else response == "complete"
    basis = e.get("time_basis") or "not_stated"
    raw["time_basis"] = basis
    t = _months(reader, e, "time_to_response", where)
    t_low = _months(reader, e, "time_lower", where)
    fu = _months(reader, e, "followup", where)
    raw["start_months"] = _months(reader, e, "start", where)
    raw["followup_months"] = fu
    lower = upper = None
    censoring = "none"
    if regressed is True and t is not None and basis == "exact":
        lower = upper = t
        censoring = "exact"
    elif regressed is True and t is not None and basis == "by_visit":
        lower, upper = (t_low or 0.0), t
        censoring = "exact" if lower == upper else "interval"
    elif regressed is False:
        last = fu if fu is not None else t
        if last is not None:
            lower, censoring = last, "right"
    if t_low is not None and basis != "by_visit":
        reader.add(
            e, where, "time_lower", t_low, "time_lower is only used with time_basis: by_visit"
        )
    raw.update(time_lower_months=lower, time_upper_months=upper, censoring=censoring)
    return _typed(reader, schema.EPISODES, raw, reader.origin(e, where))


def _exclusions(tables: dict[str, list[dict]]) -> list[dict]:
    rows = []
    for c in tables["cohorts"]:
        if c.get("include_primary") is False:
            rows.append(
                {
                    "table": "cohorts",
                    "record_id": c["cohort_id"],
                    "study_id": c["study_id"],
                    "analysis": "prevalence_primary",
                    "reason": c.get("exclusion_reason"),
                }
            )
            if c.get("exclusion_reason") is None:  # reported on the cohort, not again here
                rows[-1][BAD] = {"reason"}
    for e in tables["episodes"]:
        rid, sid = e["episode_id"], e["study_id"]
        if e.get("response") == "not_stated":
            rows.append(
                {
                    "table": "episodes",
                    "record_id": rid,
                    "study_id": sid,
                    "analysis": "response_proportion",
                    "reason": "response not stated",
                }
            )
        if e.get("censoring") == "none":
            if e.get("response") == "not_stated":
                why = "response not stated"
            elif e.get("regressed"):
                why = "regressed, but the time of regression is not stated"
            else:
                why = "not regressed, and the time of the last assessment is not stated"
            rows.append(
                {
                    "table": "episodes",
                    "record_id": rid,
                    "study_id": sid,
                    "analysis": "time_to_regression",
                    "reason": why,
                }
            )
    return rows


def build_tables(paths) -> tuple[dict[str, list[dict]], list[Problem]]:
    """Read extraction files and build the harmonised records, with every problem found.

    Parameters
    ----------
    paths : iterable of path-like
        Extraction ``.yaml`` files. The agents listed in the ``vocabulary.yaml`` of their
        folder (:func:`read_vocabulary`) are known too.

    Returns
    -------
    tables : dict
        ``{"studies": [...], "cohorts": [...], "patients": [...], "episodes": [...],
        "exclusions": [...]}``, records sorted by source and order within the source.
    problems : list of Problem
        Structural, type and rule problems (empty when the files are clean).
    """
    tables = {name: [] for name in ("studies", "cohorts", "patients", "episodes", "arms")}
    problems: list[Problem] = []
    vocabularies: dict[Path, dict[str, str]] = {}
    for path in sorted(Path(p) for p in paths):
        if path.parent not in vocabularies:  # the folder's own additions, read once
            vocab = path.parent / VOCABULARY_FILE
            agents, probs = read_vocabulary(vocab) if vocab.exists() else ({}, [])
            vocabularies[path.parent] = agents
            problems += probs
        if path.name == VOCABULARY_FILE:
            continue
        doc, probs = read_yaml(path)
        problems += probs
        if doc is None:
            continue
        left = _placeholders(path)
        if left:  # a skeleton not filled yet: its other problems would only echo these
            problems += left
            continue
        reader = _Reader(path, vocabularies[path.parent])
        for name, records in _source_records(path, doc, reader).items():
            tables[name] += records
        problems += reader.problems
    if unreadable(problems):  # report the files that cannot be read, not their follow-on errors
        return tables, unreadable(problems)
    tables["exclusions"] = [
        {ORIGIN: ("<derived>", str(i + 2)), **r} for i, r in enumerate(_exclusions(tables))
    ]
    problems += check_tables(tables)
    problems += _duplicate_sources(tables["studies"])
    return tables, problems


def _placeholders(path: Path) -> list[Problem]:
    """Every :data:`~jdmstats.evidence.schema.PLACEHOLDER` value left in an extraction file
    (``key: TODO``), with its line."""
    mark = re.escape(schema.PLACEHOLDER)
    pattern = re.compile(rf"^\s*(?:-\s+)?([A-Za-z_][A-Za-z0-9_]*):\s*(['\"]?){mark}\2\s*(?:#.*)?$")
    found = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        m = pattern.match(line)
        if m:
            found.append(Problem(str(path), str(i), m.group(1), schema.PLACEHOLDER,
                                 "placeholder left from `jdmstats new`: replace it with what the "
                                 "source states (null when it does not say); the file is "
                                 "checked further once none is left"))  # fmt: skip
    return found


def _duplicate_sources(studies: list[dict]) -> list[Problem]:
    """The same DOI or title under two study ids is the same source extracted twice."""
    from jdmstats.evidence.checks import problem

    problems, seen = [], {}
    for rec in studies:
        for key in ("doi", "title"):
            value = rec.get(key)
            if not value:
                continue
            norm = " ".join(str(value).lower().split())
            other = seen.get((key, norm))
            if other and other != rec["study_id"]:
                problems.append(
                    problem(rec, key, value, f"same {key} as {other}: one source, one file")
                )
            seen.setdefault((key, norm), rec["study_id"])
    return problems


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def write_csv(path: Path, table: schema.Table, records: list[dict]) -> None:
    """Write records in the table's column order with a fixed format (LF, minimal quoting)."""
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(table.names)
        for rec in records:
            writer.writerow([_cell(rec.get(c)) for c in table.names])


def datapackage(folder: Path) -> dict:
    """The Frictionless data package descriptor of the harmonised tables in ``folder``."""
    import jdmstats

    resources = []
    for table in schema.TABLES.values():
        path = folder / table.filename
        fields = []
        for col in table.columns:
            f = {"name": col.name, "type": col.type, "description": col.description}
            if col.unit:
                f["unit"] = col.unit
            cons = {}
            if col.required:
                cons["required"] = True
            if col.unique:
                cons["unique"] = True
            if col.vocab and not col.multi:
                cons["enum"] = list(col.vocab)
            if col.minimum is not None:
                cons["minimum"] = col.minimum
            if col.maximum is not None:
                cons["maximum"] = col.maximum
            if cons:
                f["constraints"] = cons
            if col.multi:
                f["allowedValues"] = list(col.vocab or ())
                f["separator"] = ";"
            fields.append(f)
        tschema = {"fields": fields, "missingValues": [""]}
        if table.primary_key:
            tschema["primaryKey"] = [table.primary_key]
        if table.foreign_keys:
            tschema["foreignKeys"] = [{"fields": [c], "reference": {"resource": t, "fields": [tc]}}
                                      for c, t, tc in table.foreign_keys]  # fmt: skip
        res = {"name": table.name, "path": table.filename, "profile": "tabular-data-resource",
               "format": "csv", "encoding": "utf-8", "description": table.description, "schema": tschema}  # fmt: skip
        if path.exists():
            res["hash"] = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
        resources.append(res)
    return {
        "profile": "tabular-data-package",
        "name": "jdmstats-calcinosis",
        "title": "Calcinosis in juvenile dermatomyositis: harmonised published evidence",
        "version": jdmstats.__version__,
        "licenses": [{"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/"}],
        "resources": resources,
    }


def build_all(extraction: str | os.PathLike, search_log: str | os.PathLike | None = None
              ) -> tuple[dict[str, list[dict]], list[Problem]]:  # fmt: skip
    """Every harmonised table, in memory: the extraction files, the search log beside them
    (``search_log.csv``) and, when ``search/hits.csv`` is there too, the records log."""
    extraction = Path(extraction)
    tables, problems = build_tables(sources_in(extraction))
    if unreadable(problems):
        return tables, problems
    log_path = Path(search_log) if search_log else extraction.parent / "search_log.csv"
    if log_path.exists():
        log, probs = read_csv_table(log_path, schema.SEARCH_LOG)
        if unreadable(probs):
            return tables, unreadable(probs)
        problems += probs + check_tables({"search_log": log})
        tables["search_log"] = log
        search = log_path.parent / SEARCH_DIR
        if not (search / "hits.csv").exists():
            problems += check_search_log({"studies": tables["studies"], "search_log": log})
        else:
            hits, reruns, probs = read_search_files(search)
            if unreadable(probs):
                return tables, unreadable(probs)
            problems += probs
            status = {r["query_id"]: r["status"] for r in reruns}
            for q in log:
                q["rerun"] = status.get(q["query_id"], q.get("rerun"))
            tables["records"] = build_records(hits, log, tables["studies"])
            problems += check_tables({k: tables[k] for k in ("studies", "search_log", "records")})
    return tables, problems


def harmonise(extraction: str | os.PathLike, out: str | os.PathLike,
              search_log: str | os.PathLike | None = None) -> dict[str, int]:  # fmt: skip
    """Rebuild the harmonised tables from the extraction files.

    Parameters
    ----------
    extraction : path-like
        Folder of ``*.yaml`` extraction files.
    out : path-like
        Output folder (created if needed); its tables are replaced.
    search_log : path-like, optional
        The search log CSV; defaults to ``search_log.csv`` beside the extraction folder.

    Returns
    -------
    dict
        Number of rows written per table.

    Raises
    ------
    DataValidationError
        When any extraction file breaks a rule; nothing is written then.
    """
    extraction, out = Path(extraction), Path(out)
    if not sources_in(extraction):
        raise DataValidationError(
            [Problem(str(extraction), "", "", "", "no .yaml extraction files found")]
        )
    tables, problems = build_all(extraction, search_log)
    if errors_only(problems):  # warnings do not stop it (jdmstats validate shows them)
        raise DataValidationError(errors_only(problems), context=str(extraction))
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, table in schema.TABLES.items():
        if name not in tables:
            continue
        write_csv(out / table.filename, table, tables[name])
        counts[name] = len(tables[name])
    text = json.dumps(datapackage(out), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    (out / "datapackage.json").write_text(text, encoding="utf-8")
    return counts
