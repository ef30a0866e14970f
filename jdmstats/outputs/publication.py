"""Publication tables (Tables 1-3) and the one summary of counts, from one definition each.

A table is declared once, as a :class:`TableSpec`: its columns (human label with unit, and the
fixed precision of the quantity they hold) and a builder that turns the results tables and the
harmonised data into rows. :func:`build` formats the cells once; :func:`to_csv`,
:func:`to_markdown`, :func:`to_latex` (booktabs) and :func:`to_html` only lay the same cells out,
so the four files of a table always show the same numbers. Notes go to footnotes (letters on
the row they concern), never into a column.

Precision, by quantity:

* percentages: 1 decimal (``24.9``);
* odds ratios and other ratios: 2 decimals (``1.03``);
* p-values: ``<0.001`` below 0.001, otherwise 3 decimals (``0.557``);
* I²: 1 decimal; counts: integers with thousands separators.

:data:`TABLES` lists the tables in their order; another table is added by appending a spec (the
report shows whatever :func:`build_all` returns). :func:`summary_counts` is the single source of
the counts the report states (sources, cohorts, children, classes, PRISMA totals).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from jdmstats.evidence.schema import study_label

__all__ = ["Column", "TableSpec", "PubTable", "TABLES", "build", "build_all", "to_csv",
           "to_markdown", "to_latex", "to_html", "write_publication", "summary_counts",
           "fmt_pct", "fmt_ratio", "fmt_p", "study_label", "PUBLICATION_DIR"]  # fmt: skip

PUBLICATION_DIR = "publication"
"""Folder under ``tables/`` that holds the publication tables."""


# ------------------------------------------------------------------------------- formatting
def _finite(x) -> bool:
    try:
        return x is not None and not isinstance(x, (str, bool)) and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def fmt_pct(p, digits: int = 1) -> str:
    """A proportion as a percentage with 1 decimal (``0.2494`` -> ``"24.9"``); blank if missing."""
    return f"{100 * float(p):.{digits}f}" if _finite(p) else ""


def fmt_ratio(x) -> str:
    """An odds ratio (or other ratio) with 2 decimals; blank if missing."""
    return f"{float(x):.2f}" if _finite(x) else ""


def fmt_p(p) -> str:
    """A p-value: ``"<0.001"`` below 0.001, otherwise 3 decimals; blank if missing."""
    if not _finite(p):
        return ""
    return "<0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def fmt_int(x) -> str:
    return f"{int(round(float(x))):,}" if _finite(x) else ""


def fmt_num(x, digits: int = 1) -> str:
    return f"{float(x):.{digits}f}" if _finite(x) else ""


def _range(lo, hi, f) -> str:
    return f"{f(lo)} to {f(hi)}" if _finite(lo) and _finite(hi) else ""


_WORDS = {"tnf": "TNF", "ivig": "IVIG", "jak": "JAK", "il1": "IL-1", "il6": "IL-6",
          "glmm": "GLMM"}  # fmt: skip


def words(value) -> str:
    """A vocabulary value in words: ``tnf_inhibitor`` -> ``TNF inhibitor``; blank if missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = " ".join(_WORDS.get(w, w) for w in str(value).split("_"))
    return text[:1].upper() + text[1:]


# ------------------------------------------------------------------------------- the layer
@dataclass(frozen=True)
class Column:
    """A column of a publication table: the key of the row dict and its printed label."""

    key: str
    label: str
    align: str = "r"  # "l" or "r"


@dataclass(frozen=True)
class TableSpec:
    """One publication table: name (file stem), number, title, columns and row builder.

    ``rows(results, data)`` returns ``(rows, notes)``: rows are dicts of formatted strings
    (keys of ``columns``, plus ``"_study"``, a study id to link, and ``"_notes"``, a list of
    footnote texts for the row); ``notes`` are footnotes of the whole table.
    """

    name: str
    number: str
    title: str
    columns: tuple[Column, ...]
    rows: Callable[[dict, dict | None], tuple[list[dict], list[str]]]
    needs: tuple[str, ...] = ()
    section: str = "summary"
    mark: int = 0
    link: int = 0
    """``section``: the report section that shows the table (a pipeline step or "summary");
    ``mark``: the column whose cell carries the row's footnote letters; ``link``: the column
    whose cell links to the row's study in the reference list."""


@dataclass
class PubTable:
    """A built publication table: formatted cells, footnote letters and footnotes."""

    spec: TableSpec
    cells: list[list[str]]
    marks: list[str]
    studies: list[str | None]
    footnotes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def caption(self) -> str:
        return f"Table {self.spec.number}. {self.spec.title}"

    def frame(self) -> pd.DataFrame:
        """The cells as a DataFrame of strings (footnote letters in brackets)."""
        mark = self.spec.mark
        cells = [[c + (f" [{m}]" if j == mark and m else "") for j, c in enumerate(row)]
                 for row, m in zip(self.cells, self.marks, strict=True)]  # fmt: skip
        return pd.DataFrame(cells, columns=[c.label for c in self.spec.columns])


def build(spec: TableSpec, results: dict[str, pd.DataFrame], data: dict | None) -> PubTable | None:
    """Build one table; None when a results table it needs is missing (that step did not run)."""
    if any(n not in results for n in spec.needs):
        return None
    rows, table_notes = spec.rows(results, data)
    if not rows:
        return None
    letters: dict[str, str] = {}
    marks = []
    for r in rows:
        own = []
        for note in r.get("_notes", []):
            note = note.strip()
            note = note[:1].upper() + note[1:] + ("" if note.endswith(".") else ".")
            if note not in letters:
                letters[note] = chr(ord("a") + len(letters))
            own.append(letters[note])
        marks.append(",".join(own))
    foot = [f"{letter}. {note}" for note, letter in letters.items()] + list(table_notes)
    cells = [[str(r.get(c.key, "")) for c in spec.columns] for r in rows]
    return PubTable(spec, cells, marks, [r.get("_study") for r in rows], foot)


def build_all(results: dict[str, pd.DataFrame], data: dict | None) -> list[PubTable]:
    """Every table of :data:`TABLES` whose inputs are present, in order."""
    return [t for t in (build(s, results, data) for s in TABLES) if t is not None]


# ------------------------------------------------------------------------------- renderers
def to_csv(t: PubTable) -> str:
    """CSV (LF line ends): a header of labels, one line per row, then one line per footnote."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    df = t.frame()
    w.writerow(df.columns)
    w.writerows(df.itertuples(index=False))
    for note in t.footnotes:
        w.writerow([f"Note {note}"])
    return buf.getvalue()


def to_markdown(t: PubTable) -> str:
    """A Markdown pipe table with its caption above and footnotes below."""

    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    df = t.frame()
    rule = "|" + "|".join("--:" if c.align == "r" else ":--" for c in t.spec.columns) + "|"
    out = [f"**{t.caption}**", "", line(df.columns), rule,
           *(line(r) for r in df.itertuples(index=False))]  # fmt: skip
    if t.footnotes:
        out += [""] + [f"{n}  " for n in t.footnotes]
    return "\n".join(out).rstrip() + "\n"


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
        "²": r"\textsuperscript{2}", "τ": r"$\tau$", "≥": r"$\geq$", "–": "--", "<": r"\textless{}",
        ">": r"\textgreater{}"}  # fmt: skip


def _tex(s: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in str(s))


def to_latex(t: PubTable) -> str:
    """A LaTeX ``table`` with a booktabs ``tabular`` and footnotes under the rule.

    Needs ``\\usepackage{booktabs}``.
    """
    spec = "".join(c.align for c in t.spec.columns)
    lines = ["\\begin{table}[ht]", "\\centering", "\\footnotesize",
             f"\\caption{{{_tex(t.caption)}}}", f"\\label{{tab:{t.name}}}",
             f"\\begin{{tabular}}{{{spec}}}", "\\toprule",
             " & ".join(_tex(c.label) for c in t.spec.columns) + " \\\\", "\\midrule"]  # fmt: skip
    for row, mark in zip(t.cells, t.marks, strict=True):
        cells = [_tex(c) for c in row]
        if mark:
            cells[t.spec.mark] += f"\\textsuperscript{{{mark}}}"
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    if t.footnotes:
        lines += ["\\par\\smallskip", "\\begin{minipage}{\\linewidth}\\scriptsize"]
        lines += [_tex(n) + "\\par" for n in t.footnotes]
        lines.append("\\end{minipage}")
    lines.append("\\end{table}")
    return "\n".join(lines) + "\n"


def to_html(t: PubTable, link: Callable[[str], str | None] | None = None) -> str:
    """An HTML table (class ``publication``) with caption and footnotes.

    ``link(study_id)`` gives the anchor a row's study label links to (None: no link).
    """
    esc = html.escape
    cols = t.spec.columns
    head = "".join(f'<th class="{"l" if c.align == "l" else "r"}">{esc(c.label)}</th>' for c in cols)
    body = []
    for row, mark, study in zip(t.cells, t.marks, t.studies, strict=True):
        tds = []
        for j, (c, v) in enumerate(zip(cols, row, strict=True)):
            cell = esc(v)
            if j == t.spec.link:
                href = link(study) if (link is not None and study) else None
                if href:
                    cell = f'<a href="{esc(href)}">{cell}</a>'
            if j == t.spec.mark and mark:
                cell += f"<sup>{esc(mark)}</sup>"
            tds.append(f'<td class="{"l" if c.align == "l" else "r"}">{cell}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    foot = ""
    if t.footnotes:
        foot = ('<div class="footnotes">' + "".join(f"<p>{esc(n)}</p>" for n in t.footnotes)
                + "</div>")  # fmt: skip
    return (f'<div class="table-wrap pub"><table class="publication" data-table="{esc(t.name)}">'
            f"<caption>{esc(t.caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>{foot}</div>")  # fmt: skip


RENDERERS = {"csv": to_csv, "md": to_markdown, "tex": to_latex, "html": to_html}
"""File suffix -> renderer of :func:`write_publication`."""


def write_publication(out: Path, results: dict[str, pd.DataFrame], data: dict | None) -> list[Path]:
    """Write every publication table as CSV, Markdown, LaTeX and HTML to
    ``out/tables/publication/`` (one file per table and format); returns the paths."""
    folder = Path(out) / "tables" / PUBLICATION_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for t in build_all(results, data):
        for suffix, render in RENDERERS.items():
            path = folder / f"{t.name}.{suffix}"
            path.write_text(render(t), encoding="utf-8", newline="\n")
            written.append(path)
    return written


# ------------------------------------------------------------------------------- counts
def summary_counts(results: dict[str, pd.DataFrame], data: dict | None) -> dict[str, int]:
    """The counts the report states, each computed once (from the data and the results).

    Keys: ``sources``, ``sources_abstract``, ``cohorts``, ``cohorts_primary``,
    ``children_primary``, ``calcinosis_primary``, ``case_patients``, ``courses``,
    ``courses_stated``, ``classes_courses`` (classes of the courses, a combination counted
    as the one class "combination"), ``classes_agents`` (classes of every agent given,
    combinations split into their classes), ``countries_named``, ``prisma_*`` (the PRISMA
    items: reports assessed, excluded, included and sources included, from searches, by
    other methods). A count whose table is missing is left out.
    """
    c: dict[str, int] = {}
    data = data or {}
    st, co, ep = data.get("studies"), data.get("cohorts"), data.get("episodes")
    if st is not None:
        c["sources"] = len(st)
        if "source_level" in st.columns:
            c["sources_abstract"] = int((st["source_level"].astype(str) == "abstract").sum())
        named = st.loc[~st["country"].astype(str).isin(["not_stated", "multinational", "nan"]),
                       "country"]  # fmt: skip
        c["countries_named"] = int(named.nunique())
    if co is not None:
        c["cohorts"] = len(co)
        prim = co[co["include_primary"].fillna(False).astype(bool)]
        c["cohorts_primary"] = len(prim)
    prev = results.get("prevalence")
    if prev is not None and len(prev):
        main = prev[prev["model"].astype(str) == "glmm_primary"]
        if len(main):
            c["children_primary"] = int(main["n_patients"].iloc[0])
            c["calcinosis_primary"] = int(main["n_calcinosis"].iloc[0])
            c["k_primary"] = int(main["k"].iloc[0])
    pa = data.get("patients")
    if pa is not None:
        c["case_patients"] = len(pa)
    if ep is not None:
        c["courses"] = len(ep)
        c["courses_stated"] = int((ep["response"].astype(str) != "not_stated").sum())
        c["classes_courses"] = int(ep["therapy_class"].nunique())
        agents = {x for v in ep["therapy_classes"].dropna().astype(str) for x in v.split(";") if x}
        c["classes_agents"] = len(agents | set(ep.loc[ep["therapy_class"] != "combination",
                                                      "therapy_class"].astype(str)))  # fmt: skip
    pr = results.get("prisma")
    if pr is not None and len(pr):
        n = dict(zip(pr["item"].astype(str), pr["n"], strict=False))
        for key, item in (("prisma_assessed", "reports assessed for eligibility"),
                          ("prisma_excluded", "reports excluded"),
                          ("prisma_reports_included", "reports included"),
                          ("prisma_sources", "sources included"),
                          ("prisma_from_searches", "sources from the logged searches"),
                          ("prisma_other_methods", "sources identified by other methods")):  # fmt: skip
            if item in n and _finite(n[item]):
                c[key] = int(n[item])
    return c


# ------------------------------------------------------------------------------- Table 1
def _studies_by_id(data: dict | None) -> dict[str, pd.Series]:
    st = (data or {}).get("studies")
    return {} if st is None else {str(r["study_id"]): r for _, r in st.iterrows()}


def _stat_value(value, stat, lo=None, hi=None) -> str:
    if not _finite(value):
        return ""
    s = fmt_num(value, 1)
    stat = str(stat) if stat is not None and str(stat) != "nan" else ""
    if stat and stat not in ("not_stated",):
        s += f" ({stat})"
    return s


def _table1_rows(results, data):
    co = (data or {}).get("cohorts")
    if co is None:
        return [], []
    co = co.sort_values(["year", "cohort_id"], kind="stable")
    rows = []
    for _, r in co.iterrows():
        years = ""
        if _finite(r.get("period_start")) and _finite(r.get("period_end")):
            years = f"{int(r['period_start'])}–{int(r['period_end'])}"
        calc = ""
        if _finite(r.get("n_calcinosis")) and _finite(r.get("n_patients")) and r["n_patients"]:
            calc = (f"{fmt_int(r['n_calcinosis'])} "
                    f"({fmt_pct(r['n_calcinosis'] / r['n_patients'])})")  # fmt: skip
        notes = []
        inc = r.get("include_primary")
        if not (inc is True or str(inc).lower() == "true"):
            reason = r.get("exclusion_reason")
            notes.append("Not in the primary prevalence analysis"
                         + (f": {reason}" if isinstance(reason, str) and reason else "") + ".")
        rows.append({
            "study": study_label(r["cohort_id"]), "_study": str(r["study_id"]),
            "country": words(r.get("country")) if str(r.get("country")) not in ("not_stated", "nan")
            else "Not stated",
            "design": words(r.get("design")), "years": years,
            "n": fmt_int(r.get("n_patients")), "calc": calc,
            "delay": _stat_value(r.get("delay_months"), r.get("delay_stat")),
            "followup": _stat_value(r.get("followup_months"), r.get("followup_stat")),
            "level": words(r.get("source_level")), "_notes": notes,
        })  # fmt: skip
    return rows, ["Delay and follow-up in months as reported (statistic in brackets); "
                  "calcinosis as n (%) of the children; years are the enrolment period.",
                  "Percentages to 1 decimal."]  # fmt: skip


TABLE1 = TableSpec(
    "table1_studies", "1", "Characteristics of the included cohorts",
    (Column("study", "Study", "l"), Column("country", "Country", "l"),
     Column("design", "Design", "l"), Column("years", "Enrolment years", "l"),
     Column("n", "Children, n"), Column("calc", "Calcinosis, n (%)"),
     Column("delay", "Diagnostic delay, months"), Column("followup", "Follow-up, months"),
     Column("level", "Source read as", "l")),
    _table1_rows,
    needs=(),
    section="descriptive",
)  # fmt: skip


# ------------------------------------------------------------------------------- Table 2
MODEL_LABELS = {
    "glmm_primary": "Binomial-normal GLMM (primary)",
    "iv_logit_reml_knha": "Inverse-variance logit, REML, Hartung-Knapp",
    "iv_freeman_tukey_reml_knha": "Freeman-Tukey, REML, Hartung-Knapp",
    "glmm_excluding_abstract_only": "GLMM without abstract-only sources",
    "glmm_excluding_at_diagnosis": "GLMM without counts at diagnosis",
}


def _note_of(row) -> list[str]:
    v = row.get("note") if hasattr(row, "get") else None
    return [" ".join(str(v).split())] if isinstance(v, str) and v.strip() else []


def _table2_rows(results, data):
    rows = []
    prev = results.get("prevalence")
    if prev is not None:
        for _, r in prev.iterrows():
            single = _finite(r.get("k")) and int(r["k"]) == 1
            notes = _note_of(r) + (["One cohort only: its own proportion, nothing pooled."]
                                   if single else [])  # fmt: skip
            rows.append({"q": "Q1", "analysis": MODEL_LABELS.get(str(r["model"]),
                         words(r["model"])), "measure": "Prevalence, %",
                         "est": fmt_pct(r.get("estimate")),
                         "ci": _range(r.get("ci_low"), r.get("ci_high"), fmt_pct),
                         "pi": "" if single else _range(r.get("pi_low"), r.get("pi_high"), fmt_pct),
                         "k": fmt_int(r.get("k")), "n": fmt_int(r.get("n_patients")),
                         "i2": "" if single else fmt_num(r.get("i2")), "p": "",
                         "_notes": notes})  # fmt: skip
    mr = results.get("delay_metareg")
    if mr is not None:
        for _, r in mr.iterrows():
            orr = r.get("odds_ratio_per_month")
            if not _finite(orr) and _finite(r.get("estimate")):
                orr = math.exp(float(r["estimate"]))
            lo = math.exp(r["ci_low"]) if _finite(r.get("ci_low")) else None
            hi = math.exp(r["ci_high"]) if _finite(r.get("ci_high")) else None
            p = fmt_p(r.get("pvalue"))
            if _finite(r.get("pvalue_perm")):
                p += f" ({fmt_p(r['pvalue_perm'])})"
            rows.append({"q": "Q2", "analysis": "Meta-regression on mean delay, "
                         + words(r.get("analysis")).lower(), "measure": "OR per month",
                         "est": fmt_ratio(orr), "ci": _range(lo, hi, fmt_ratio), "pi": "",
                         "k": fmt_int(r.get("k")), "n": fmt_int(r.get("n_patients")),
                         "i2": fmt_num(r.get("i2")), "p": p,
                         "_notes": _note_of(r)})  # fmt: skip
    gr = results.get("delay_groups")
    if gr is not None and "row" in gr.columns:
        for _, r in gr[gr["row"].astype(str) == "pooled"].iterrows():
            ratio = str(r.get("analysis")) == "odds_ratio"
            f = fmt_ratio if ratio else (lambda v: fmt_num(v, 2))
            what = words(r.get("analysis")).lower()
            study = gr[(gr["row"].astype(str) == "study") & (gr["analysis"] == r.get("analysis"))]
            if _finite(r.get("k")) and int(r["k"]) == 1 and len(study) == 1:
                s_ = study.iloc[0]  # one source: its own value as reported, said so, no pooling
                rows.append({"q": "Q2", "analysis": f"{what.capitalize()}, one source only "
                             f"({study_label(s_['cohort_id'])}), not pooled",
                             "measure": "OR" if ratio else "Mean difference, months",
                             "est": f(s_.get("estimate")),
                             "ci": _range(s_.get("ci_low"), s_.get("ci_high"), f), "pi": "",
                             "k": "1", "n": "", "i2": "", "p": "",
                             "_study": str(s_.get("cohort_id")),
                             "_notes": _note_of(s_)})  # fmt: skip
                continue
            rows.append({"q": "Q2", "analysis": "Pooled " + what,
                         "measure": "OR" if ratio else "Mean difference, months",
                         "est": f(r.get("estimate")),
                         "ci": _range(r.get("ci_low"), r.get("ci_high"), f),
                         "pi": _range(r.get("pi_low"), r.get("pi_high"), f),
                         "k": fmt_int(r.get("k")), "n": "", "i2": fmt_num(r.get("i2")),
                         "p": fmt_p(r.get("pvalue")), "_notes": _note_of(r)})  # fmt: skip
    rp = results.get("response_pooled")
    if rp is not None:
        for _, r in rp[rp["class"].astype(str) == "all"].iterrows():
            pooled = _finite(r.get("pooled_estimate"))
            est = r.get("pooled_estimate") if pooled else r.get("crude_estimate")
            lo = r.get("pooled_ci_low") if pooled else r.get("crude_ci_low")
            hi = r.get("pooled_ci_high") if pooled else r.get("crude_ci_high")
            rows.append({"q": "Q3", "analysis": "Any regression, all therapy classes"
                         + ("" if pooled else " (crude)"), "measure": "Responders, %",
                         "est": fmt_pct(est), "ci": _range(lo, hi, fmt_pct), "pi": "",
                         "k": fmt_int(r.get("k_sources")), "n": fmt_int(r.get("assessed")),
                         "i2": "", "p": "", "_notes": _note_of(r)})  # fmt: skip
    return rows, ["Q1: prevalence of calcinosis; Q2: diagnostic delay and calcinosis; Q3: response "
                  "to therapy. k: cohorts or sources; n: children. CI: 95% confidence interval; PI: 95% "
                  "prediction interval. Percentages to 1 decimal, odds ratios to 2; p-values "
                  "to 3 decimals, below 0.001 as <0.001."]  # fmt: skip


TABLE2 = TableSpec(
    "table2_pooled", "2", "Pooled results per question",
    (Column("q", "Question", "l"), Column("analysis", "Analysis", "l"),
     Column("measure", "Measure", "l"), Column("est", "Estimate"), Column("ci", "95% CI"),
     Column("pi", "95% PI"), Column("k", "k"), Column("n", "n"), Column("i2", "I², %"),
     Column("p", "p (permutation p)")),
    _table2_rows,
    needs=("prevalence",),
    mark=1,
    link=1,
)  # fmt: skip


# ------------------------------------------------------------------------------- Table 3
def _table3_rows(results, data):
    rp = results.get("response_pooled")
    rows = []
    for _, r in rp.iterrows():
        cls = str(r["class"])
        rows.append({
            "cls": "All classes" if cls == "all" else words(cls),
            "k": fmt_int(r.get("k_sources")), "children": fmt_int(r.get("children")),
            "assessed": fmt_int(r.get("assessed")), "resp": fmt_int(r.get("responders")),
            "crude": fmt_pct(r.get("crude_estimate")),
            "crude_ci": _range(r.get("crude_ci_low"), r.get("crude_ci_high"), fmt_pct),
            "pooled": fmt_pct(r.get("pooled_estimate")),
            "pooled_ci": _range(r.get("pooled_ci_low"), r.get("pooled_ci_high"), fmt_pct),
            "_notes": [n for n in str(r.get("note") or "").split(";")
                       if n.strip() and n.strip() != "nan"],
        })  # fmt: skip
    return rows, ["k: sources with a child assessed; responders: any regression (partial or "
                  "complete). Crude: exact (Clopper-Pearson) 95% CI; pooled: binomial-normal "
                  "GLMM over sources. Percentages to 1 decimal."]  # fmt: skip


TABLE3 = TableSpec(
    "table3_response", "3", "Response of calcinosis per therapy class",
    (Column("cls", "Therapy class", "l"), Column("k", "Sources, k"),
     Column("children", "Children"), Column("assessed", "Assessed"),
     Column("resp", "Responders"), Column("crude", "Crude, %"),
     Column("crude_ci", "Exact 95% CI"), Column("pooled", "Pooled, %"),
     Column("pooled_ci", "Pooled 95% CI")),
    _table3_rows,
    needs=("response_pooled",),
    section="response",
)  # fmt: skip

TABLES: list[TableSpec] = [TABLE1, TABLE2, TABLE3]
"""The publication tables, in order (append a :class:`TableSpec` to add one)."""
