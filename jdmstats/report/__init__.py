"""``jdmstats report``: one self-contained HTML page with every result of ``jdmstats run``.

The report reads what the pipeline wrote (the interface between the two is the output folder):
``tables/*.csv``, the PNG figures in ``figures/`` and ``figures/MANIFEST.json``, which says
which step wrote each file, from which data (SHA-256) and with which versions. It adds a
methods paragraph and a results paragraph written from the fitted numbers in those tables (in
the spirit of metafor's ``reporter()``), the data's provenance and known gaps, and the
versions used. Figures are embedded as base64 PNG, so the file can be mailed or archived on
its own; nothing is loaded from the network. The page carries no date, so the same results
give the same file.

Layout, as a paper: each question opens with a one-line verdict (:func:`text.verdicts`), then
its paragraph, its numbered figures (each shown once; captions state k and n, read from the
results) and its publication tables (:mod:`jdmstats.outputs.publication`, built from one
definition each; a table added to ``publication.TABLES`` appears in its ``section``). The
machine tables follow in a collapsed appendix (``<details>``, scrolling inside their box when
wide), then the reference list of the included studies (``studies.csv``), to which every study
label in the tables links (``#ref-<study_id>``). Every count comes from one summary,
:func:`jdmstats.outputs.publication.summary_counts`; the data README's hand-typed counts are
replaced by it.

Examples
--------
Report on the outputs of an earlier run (here only two quick steps; the page says which
steps produced nothing). ``report.write_report(out="report.html")`` runs every step first.

>>> import tempfile
>>> from pathlib import Path
>>> from jdmstats import pipeline, report
>>> results = Path(tempfile.mkdtemp())
>>> _ = pipeline.run(out=results, only=["descriptive", "prisma"], quiet=True)
>>> path = report.write_report(results=results, out=results / "report.html")
>>> html = path.read_text(encoding="utf-8")
>>> html.count("<img"), "produced no output" in html  # the PRISMA diagram; missing steps said
(1, True)
"""

from __future__ import annotations

import base64
import html
import io
import os
import re
import tempfile
from pathlib import Path

import pandas as pd

from jdmstats.report import text
from jdmstats.tabular import fmt_cell as _fmt_cell
from jdmstats.tabular import to_latex, to_markdown

__all__ = ["build_html", "write_report", "export_tables", "to_markdown", "to_latex", "QUESTIONS"]

QUESTIONS = (
    ("prevalence", "Question 1. How common is calcinosis?"),
    ("delay", "Question 2. Is diagnostic delay associated with calcinosis?"),
    ("response", "Question 3. How often and how fast does calcinosis regress under each therapy?"),
    ("descriptive", "The evidence: sources, case patients and therapy courses"),
    ("prisma", "Search and selection (PRISMA 2020)"),
)
"""Report sections: the pipeline step whose files each shows, and its heading."""

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:62rem;
margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.5}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{border-bottom:2px solid #0072B2;padding-bottom:.2rem;
margin-top:2.5rem}h3{margin-top:1.6rem}
p.lead{color:#444}nav ol{columns:2}
figure{margin:1.2rem 0;text-align:center}figure img{max-width:100%;height:auto;
border:1px solid #ddd}figcaption{font-size:.9rem;color:#444}
.table-wrap{overflow-x:auto;margin:.8rem 0 1.2rem}
table.results{border-collapse:collapse;font-size:.82rem;font-variant-numeric:tabular-nums}
table.results th,table.results td{border-bottom:1px solid #ddd;padding:.2rem .5rem;
text-align:right;vertical-align:top}
table.results th{background:#f2f6fa}
table.results td:first-child,table.results th:first-child{text-align:left}
caption{caption-side:top;text-align:left;font-weight:600;padding:.3rem 0}
.note{background:#fff8e5;border-left:4px solid #E69F00;padding:.5rem .8rem}
.muted{color:#666;font-size:.9rem}code{background:#f4f4f4;padding:0 .2rem}
p.verdict{font-weight:600;border-left:4px solid #0072B2;padding:.3rem .8rem;background:#f2f6fa}
.table-wrap{max-width:100%}
table.publication{border-collapse:collapse;font-size:.8rem;font-variant-numeric:tabular-nums;
border-top:2px solid #1a1a1a;border-bottom:2px solid #1a1a1a}
table.publication th{border-bottom:1px solid #1a1a1a;padding:.25rem .4rem;vertical-align:bottom}
table.publication td{padding:.15rem .4rem;vertical-align:top}
table.publication .l{text-align:left}table.publication .r{text-align:right}table.publication td.r{white-space:nowrap}
.footnotes p{font-size:.75rem;color:#333;margin:.1rem 0}
details{margin:.4rem 0;border:1px solid #ddd;padding:.2rem .6rem}
details summary{cursor:pointer;font-weight:600}
ol.references li{margin:.2rem 0;font-size:.9rem}ol.references li:target{background:#fff8e5}
@media print, (max-width: 60rem){
body{max-width:none;margin:0;padding:0 .3rem}
table.results,table.publication{font-size:6.5pt}
table.results td,table.results th,table.publication td,table.publication th{padding:.1rem .2rem;
overflow-wrap:anywhere;word-break:break-word;white-space:normal}
.table-wrap{overflow-x:visible}figure img{max-width:100%!important;width:auto!important}}
@media print{details{border:none}@page{size:A4;margin:15mm}}
"""


# --------------------------------------------------------------------------------------------
# Reading the pipeline's outputs
# --------------------------------------------------------------------------------------------


def _read_tables(results: Path) -> dict[str, pd.DataFrame]:
    folder = results / "tables"
    return {p.stem: pd.read_csv(p, keep_default_na=True) for p in sorted(folder.glob("*.csv"))}


def _files_by_step(manifest: dict, results: Path) -> dict[str, dict[str, list[str]]]:
    """``{step: {"figures": [png paths], "tables": [table names]}}`` in the manifest's order."""
    out: dict[str, dict[str, list[str]]] = {}
    for rel, info in manifest.get("files", {}).items():
        step = info.get("step", "other")
        entry = out.setdefault(step, {"figures": [], "tables": []})
        path = Path(rel)
        if path.suffix == ".png" and (results / rel).exists():
            entry["figures"].append(rel)
        elif path.suffix == ".csv" and path.parent.name == "tables":
            entry["tables"].append(path.stem)
    return out


def _png_data_uri(path: Path, max_width: int = 1600) -> tuple[str, int, int, float]:
    """A PNG as a data URI, downscaled to ``max_width`` pixels (deterministically).

    Returns the URI, its pixel size and the figure's printed width in inches (at 300 dpi).
    """
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        w, h = im.size
        inches = w / 300.0
        if w > max_width:
            h = round(h * max_width / w)
            w = max_width
            im = im.convert("RGBA").resize((w, h), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, format="PNG", optimize=True)
    uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return uri, w, h, inches


FIGURE_ORDER = ("forest", "funnel", "bubble", "leave1out", "baujat", "time_to_regression",
                "swimmer")  # fmt: skip
"""Figures of a section are shown in this order of name fragments (then alphabetically)."""


def _figure_key(rel: str) -> tuple[int, str]:
    stem = Path(rel).stem
    hits = [i for i, frag in enumerate(FIGURE_ORDER) if frag in stem]
    return (hits[0] if hits else len(FIGURE_ORDER), stem)


# --------------------------------------------------------------------------------------------
# HTML pieces
# --------------------------------------------------------------------------------------------


TABLE_FORMATS = {"md": to_markdown, "tex": to_latex}
"""Formats :func:`export_tables` writes (file suffix -> formatter)."""


def export_tables(results: str | os.PathLike, out: str | os.PathLike,
                  formats=("md", "tex"), data: str | os.PathLike | None = None) -> list[Path]:  # fmt: skip
    """Write every results table (``results/tables/*.csv``) and the publication Tables 1-3
    (:mod:`jdmstats.outputs.publication`) as Markdown and/or LaTeX.

    One file per table and format, ``out/<table>.<md|tex>``, in the same order and with the
    same numbers as the HTML report, ready to paste into a manuscript. ``data``: the
    harmonised folder the results were made from (default: the bundled data), for Table 1.
    """
    unknown = sorted(set(formats) - set(TABLE_FORMATS))
    if unknown:
        raise ValueError(f"unknown table format(s) {', '.join(unknown)}; accepted: md, tex")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in _read_tables(Path(results)).items():
        for fmt in formats:
            text = (to_latex(df, caption=f"{name} (tables/{name}.csv)", label=f"tab:{name}")
                    if fmt == "tex" else to_markdown(df))  # fmt: skip
            path = out / f"{name}.{fmt}"
            path.write_text(text + "\n", encoding="utf-8")
            written.append(path)
    from jdmstats.evidence import datasets
    from jdmstats.outputs import publication

    try:
        harmonised = datasets.load_all(Path(data) if data is not None else datasets.data_dir())
    except Exception:  # noqa: BLE001 - Tables 2 and 3 need only the results
        harmonised = None
    render = {"md": publication.to_markdown, "tex": publication.to_latex}
    for t in publication.build_all(_read_tables(Path(results)), harmonised):
        for fmt in formats:
            path = out / f"{t.name}.{fmt}"
            path.write_text(render[fmt](t), encoding="utf-8")
            written.append(path)
    return written


LINKED_COLUMNS = ("study_id", "cohort_id")
"""Columns whose values link to the study's entry in the reference list."""


def table_html(df: pd.DataFrame, caption: str, max_rows: int = 200, link=None) -> str:
    """A DataFrame as an HTML table (numbers to 4 significant digits, blanks for missing).

    ``link(value)`` gives the anchor a ``study_id`` or ``cohort_id`` cell links to (or None).
    """
    shown = df.head(max_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    linked = [link is not None and c in LINKED_COLUMNS for c in shown.columns]

    def cell(v, on):
        text_ = html.escape(_fmt_cell(v))
        href = link(str(v)) if on and text_ else None
        return f'<td><a href="{html.escape(href)}">{text_}</a></td>' if href else f"<td>{text_}</td>"

    body = "".join("<tr>" + "".join(cell(v, on) for v, on in zip(row, linked, strict=True))
                   + "</tr>" for row in shown.itertuples(index=False))  # fmt: skip
    more = ""
    if len(df) > max_rows:
        more = f'<p class="muted">First {max_rows} of {len(df)} rows; all in the CSV.</p>'
    return (f'<div class="table-wrap"><table class="results" data-table="{html.escape(caption)}">'
            f"<caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></div>{more}")  # fmt: skip


def figure_html(path: Path, caption: str, number: int | None = None) -> str:
    uri, w, h, inches = _png_data_uri(path)
    shown = round(inches * 140)  # on screen: about 1.5x the printed size
    label = f"<strong>Figure {number}.</strong> " if number is not None else ""
    return (f'<figure id="fig-{html.escape(path.stem)}"><img src="{uri}" width="{w}" '
            f'height="{h}" style="width:{shown}px" alt="{html.escape(caption)}" '
            f'data-figure="{html.escape(path.name)}"><figcaption>{label}{html.escape(caption)}'
            f"</figcaption></figure>")  # fmt: skip


def _author_list(v) -> str:
    if v is None or (isinstance(v, float) and v != v) or not str(v).strip():
        return ""
    return str(v).strip()


def references_html(studies: pd.DataFrame | None) -> str:
    """The reference list of the included studies (``studies.csv``), one anchor per study.

    Each entry: first author where known (with "et al."), year, title, journal, and the DOI
    (linked) or the URL. Entries are sorted by author (or study id) and year; each ``<li>`` has
    the id ``ref-<study_id>`` that the study labels of the tables link to.
    """
    if studies is None or studies.empty:
        return "<p>The harmonised studies table was not available to the report.</p>"

    def field(r, col):
        v = r.get(col)
        return "" if v is None or (isinstance(v, float) and v != v) else str(v).strip()

    rows = sorted(studies.to_dict("records"),
                  key=lambda r: ((field(r, "first_author") or field(r, "study_id")).lower(),
                                 field(r, "year"), field(r, "study_id")))  # fmt: skip
    items = []
    for r in rows:
        sid = field(r, "study_id")
        author = _author_list(r.get("first_author"))
        who = f"{html.escape(author)} et al." if author else "[No author list in the text read]"
        bits = [who, f"({html.escape(field(r, 'year'))})"]
        if field(r, "title"):
            bits.append(html.escape(field(r, "title").rstrip(".")) + ".")
        if field(r, "journal"):
            bits.append(f"<em>{html.escape(field(r, 'journal'))}</em>.")
        doi, url = field(r, "doi"), field(r, "url")
        if doi:
            bits.append(f'doi:<a href="https://doi.org/{html.escape(doi)}">{html.escape(doi)}</a>')
        elif url:
            bits.append(f'<a href="{html.escape(url)}">{html.escape(url)}</a>')
        items.append(f'<li id="ref-{html.escape(sid)}"><span class="muted">[{html.escape(sid)}]'
                     f"</span> " + " ".join(bits) + "</li>")  # fmt: skip
    return f'<ol class="references">{"".join(items)}</ol>'


FIGURE_SECTION = {"prevalence_bubble_delay_mean_months": "delay"}
"""Figures shown in another section than that of the step that drew them."""

COUNTS_BLOCK = re.compile(r"At the last curation.*?(?=\n## |\Z)", re.S)
"""The hand-written counts of the data README, replaced in the report by computed counts."""


def markdown_html(md: str) -> str:
    """Markdown (CommonMark with pipe tables) to HTML, rendered by markdown-it-py.

    Raw HTML in the text is escaped, not passed through; headings move down two levels (the
    page's own ``h1``/``h2`` frame them), and tables get the page's ``md`` class.

    Examples
    --------
    >>> print(markdown_html("| a | b |\\n|---|---|\\n| `x` | 2 |"))
    <table class="md">
    <thead>
    <tr>
    <th>a</th>
    <th>b</th>
    </tr>
    </thead>
    <tbody>
    <tr>
    <td><code>x</code></td>
    <td>2</td>
    </tr>
    </tbody>
    </table>
    <BLANKLINE>
    """
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = parser.parse(md)
    for tok in tokens:
        if tok.type in ("heading_open", "heading_close"):
            tok.tag = f"h{min(int(tok.tag[1]) + 2, 6)}"
        elif tok.type == "table_open":
            tok.attrSet("class", "md")
    return parser.renderer.render(tokens, parser.options, {})


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _data_readme(data_folder: Path | None) -> Path | None:
    if data_folder is None:
        return None
    for candidate in (data_folder / "README.md", data_folder.parent / "README.md"):
        if candidate.exists():
            return candidate
    return None


def _provenance_html(tables: dict[str, pd.DataFrame], data: dict[str, pd.DataFrame] | None,
                     readme: Path | None, manifest: dict, counts=None, link=None) -> str:  # fmt: skip
    parts = []
    computed = (text.data_counts(data, counts) if data else
                "The harmonised tables were not available to the report.")  # fmt: skip
    if readme is not None:
        parts.append(f'<p class="muted">From <code>{html.escape(readme.name)}</code> of the data '
                     "folder (its hand-written counts replaced by the computed ones):</p>")  # fmt: skip
        md = COUNTS_BLOCK.sub(lambda _: f"Counts computed from these data: {computed}\n",
                              readme.read_text(encoding="utf-8"))  # fmt: skip
        parts.append(markdown_html(md))
    parts.append("<h3>Counts generated from the data</h3>")
    parts.append(f"<p>{html.escape(computed)}</p>")
    if data and "exclusions" in data and len(data["exclusions"]):
        ex = data["exclusions"]
        summary = (ex.assign(reason=ex["reason"].astype(str)).groupby(["analysis", "reason"],
                   observed=True).size().rename("records").reset_index()
                   .sort_values(["analysis", "records", "reason"], ascending=[True, False, True],
                                kind="stable"))  # fmt: skip
        parts.append(table_html(summary, "Records left out of an analysis, by reason "
                                "(exclusions.csv)", link=link))  # fmt: skip
    notes = tables.get("warnings")
    if notes is not None and len(notes):
        parts.append("<h3>Warnings raised by the analyses</h3>")
        parts.append(table_html(notes, "Warnings (tables/warnings.csv)"))
    data_hashes = manifest.get("data", {})
    if data_hashes:
        rows = [(h[:16], name, fh[:16]) for h, files in data_hashes.items()
                for name, fh in files.items()]  # fmt: skip
        parts.append(
            table_html(
                pd.DataFrame(rows, columns=["data_sha256", "table", "sha256"]),
                "Data the results were made from (SHA-256, first 16 digits)",
            )
        )
    return "\n".join(parts)


def _versions_html(manifest: dict) -> str:
    from jdmstats.outputs.runner import versions

    now = versions()
    made = manifest.get("versions", {})
    rows = [(k, made.get(k, ""), now.get(k, "")) for k in now]
    df = pd.DataFrame(rows, columns=["package", "results made with", "report made with"])
    return table_html(df, "Versions")


def build_html(results: str | os.PathLike, data: str | os.PathLike | None = None) -> str:
    """Build the report's HTML from a pipeline output folder.

    Parameters
    ----------
    results : path-like
        Output root of ``jdmstats run`` (with ``tables/`` and ``figures/MANIFEST.json``).
    data : path-like, optional
        The harmonised folder the results were made from (default: the bundled data); used
        for the provenance section (its README and counts).

    Returns
    -------
    str
        A complete HTML document.
    """
    from jdmstats import __version__
    from jdmstats.evidence import datasets
    from jdmstats.outputs import publication
    from jdmstats.outputs.runner import read_manifest

    results = Path(results)
    manifest = read_manifest(results)
    if not manifest.get("files"):
        raise FileNotFoundError(f"{results / 'figures' / 'MANIFEST.json'} not found or empty: "
                                "run `jdmstats run --out DIR` first")  # fmt: skip
    tables = _read_tables(results)
    folder = Path(data) if data is not None else datasets.data_dir()
    try:
        harmonised = datasets.load_all(folder)
    except Exception:  # noqa: BLE001 - the report still shows the results
        harmonised = None
    by_step = _files_by_step(manifest, results)
    counts = publication.summary_counts(tables, harmonised)
    studies = harmonised.get("studies") if harmonised else None
    known = set(studies["study_id"].astype(str)) if studies is not None else set()
    cohort_study = ({str(c): str(s_) for c, s_ in zip(harmonised["cohorts"]["cohort_id"],
                                                      harmonised["cohorts"]["study_id"],
                                                      strict=True)}
                    if harmonised and "cohorts" in harmonised else {})  # fmt: skip

    def link(value: str) -> str | None:
        sid = value if value in known else cohort_study.get(value)
        return f"#ref-{sid}" if sid in known else None

    pubs = publication.build_all(tables, harmonised)
    pub_by_section: dict[str, list] = {}
    for t in pubs:
        pub_by_section.setdefault(t.spec.section, []).append(t)

    def pub_html(section: str) -> list[str]:
        return [publication.to_html(t, link=link) for t in pub_by_section.get(section, [])]

    # every figure once: moved figures, and a figure identical (SHA-256) to one shown, skipped
    figures_of: dict[str, list[str]] = {step: [] for step, _ in QUESTIONS}
    seen: set[str] = set()
    files_info = manifest.get("files", {})
    for step, _ in QUESTIONS:
        for rel in sorted(by_step.get(step, {"figures": []})["figures"], key=_figure_key):
            digest = files_info.get(rel, {}).get("sha256", rel)
            if digest in seen:
                continue
            seen.add(digest)
            figures_of.setdefault(FIGURE_SECTION.get(Path(rel).stem, step), []).append(rel)
    sections, toc = [], []
    paragraphs = text.paragraphs(tables, counts)
    verdicts = text.verdicts(tables)
    toc.append('<li><a href="#summary">Methods and results in brief</a></li>')
    sections.append(
        '<section id="summary"><h2>Methods and results in brief</h2>'
        f"<h3>Methods</h3><p>{html.escape(paragraphs['methods'])}</p>"
        f"<h3>Results</h3><p>{html.escape(paragraphs['results'])}</p>"
        + "".join(pub_html("summary")) + "</section>"
    )
    machine: list[tuple[str, str]] = []
    number = 0
    notes = tables.get("warnings")
    skipped = ({} if notes is None else dict(  # the steps a run skipped, with why
        notes.loc[notes["category"] == "SkippedStep", ["step", "message"]].itertuples(
            index=False)))  # fmt: skip
    for step, heading in QUESTIONS:
        files = by_step.get(step, {"figures": [], "tables": []})
        body = []
        if step in verdicts:
            body.append(f'<p class="verdict">{html.escape(verdicts[step])}</p>')
        if step in paragraphs:
            body.append(f"<p>{html.escape(paragraphs[step])}</p>")
        if not files["figures"] and not files["tables"]:
            reason = skipped.get(step)
            body.append(f'<p class="note">This step was {html.escape(reason)}.</p>'
                        if reason else '<p class="note">This step produced no output in these '
                        "results (it was not run, or it failed).</p>")  # fmt: skip
        for rel in figures_of.get(step, []):
            number += 1
            cap = text.caption(Path(rel).stem, tables, counts,
                               harmonised.get("cohorts") if harmonised else None)
            body.append(figure_html(results / rel, cap, number))
        body += pub_html(step)
        shown = [n for n in files["tables"] if n in tables]
        if shown:
            body.append('<p class="muted">Machine-readable tables of this step: '
                        + ", ".join(f'<a href="#table-{html.escape(n)}"><code>{html.escape(n)}'
                                    "</code></a>" for n in shown) + " (appendix).</p>")  # fmt: skip
        machine += [(n, step) for n in shown]
        toc.append(f'<li><a href="#{step}">{html.escape(heading)}</a></li>')
        sections.append(f'<section id="{step}"><h2>{html.escape(heading)}</h2>'
                        + "\n".join(body) + "</section>")  # fmt: skip
    toc.append('<li><a href="#references">References of the included studies</a></li>')
    sections.append('<section id="references"><h2>References of the included studies</h2>'
                    + references_html(studies) + "</section>")  # fmt: skip
    appendix = ['<p class="muted">Every table as the analyses wrote it (<code>tables/*.csv</code>'
                "), for scripts and checking; click a title to open it.</p>"]
    for name, _step in machine:
        appendix.append(f'<details id="table-{html.escape(name)}"><summary>'
                        f"{html.escape(text.table_title(name))} (tables/{html.escape(name)}.csv)"
                        "</summary>" + table_html(tables[name], f"{text.table_title(name)} "
                                                  f"(tables/{name}.csv)", link=link)
                        + "</details>")  # fmt: skip
    toc.append('<li><a href="#appendix">Appendix: machine-readable tables</a></li>')
    sections.append('<section id="appendix"><h2>Appendix: machine-readable tables</h2>'
                    + "\n".join(appendix) + "</section>")  # fmt: skip
    readme = _data_readme(folder)
    toc.append('<li><a href="#provenance">Data provenance and known gaps</a></li>')
    sections.append(
        '<section id="provenance"><h2>Data provenance and known gaps</h2>'
        + _provenance_html(tables, harmonised, readme, manifest, counts, link)
        + "</section>"
    )
    toc.append('<li><a href="#versions">Versions</a></li>')
    sections.append('<section id="versions"><h2>Versions</h2>' + _versions_html(manifest)
                    + "</section>")  # fmt: skip
    fingerprint = ", ".join(h[:16] for h in manifest.get("data", {})) or "unknown"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>jdmstats report: calcinosis in juvenile dermatomyositis</title>"
        f"<style>{CSS}</style></head><body>"
        "<header><h1>Calcinosis in juvenile dermatomyositis: pooled evidence</h1>"
        f'<p class="lead">Report of <code>jdmstats run</code> (jdmstats {html.escape(__version__)}'
        f"); data SHA-256 {html.escape(fingerprint)}&hellip;. Every number below is read from the "
        "tables the analyses wrote; the figures are the same files as in <code>figures/</code>."
        "</p></header>"
        f"<nav><h2>Contents</h2><ol>{''.join(toc)}</ol></nav>"
        + "\n".join(sections)
        + "</body></html>\n"
    )  # fmt: skip


def write_report(data: str | os.PathLike | None = None, out: str | os.PathLike = "report.html",
                 results: str | os.PathLike | None = None, quiet: bool = True,
                 tables=()) -> Path:  # fmt: skip
    """Write the HTML report.

    Parameters
    ----------
    data : path-like, optional
        Harmonised or extraction folder (default: the bundled data).
    out : path-like
        The HTML file to write.
    results : path-like, optional
        Output root of an earlier ``jdmstats run`` to report on. By default the analyses are
        run into a temporary folder first.
    quiet : bool
        Passed to :func:`jdmstats.outputs.runner.run`.
    tables : sequence of {"md", "tex"}
        Also write every results table in these formats (:func:`export_tables`) to the
        folder ``<out without suffix>_tables/`` next to the HTML file.

    Returns
    -------
    Path
        ``out``.
    """
    from jdmstats.outputs import runner as pipeline

    unknown = sorted(set(tables) - set(TABLE_FORMATS))
    if unknown:  # before any analysis runs
        raise ValueError(f"unknown table format(s) {', '.join(unknown)}; accepted: md, tex")
    out = Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        folder = pipeline.resolve_data(data, Path(tmp) / "data")
        if results is None:
            results = Path(tmp) / "results"
            try:
                pipeline.run(data=folder, out=results, quiet=quiet)
            except pipeline.StepError as exc:  # report what did run; the page says what did not
                import warnings

                warnings.warn(f"report made from incomplete results: {exc}", stacklevel=2)
        page = build_html(results, data=folder)
        if tables:
            export_tables(results, out.with_name(f"{out.stem}_tables"), formats=tuple(tables),
                          data=folder)  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
