"""The HTML report: sentences from the numbers, self-contained page, checked in a real browser.

The browser test runs Debian's Chromium headless. Without Chromium it is skipped with the
reason, except when the environment variable CI is "true": then it fails, so that CI really
runs it (``.ci/run`` installs Chromium).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from jdmstats import pipeline, report
from jdmstats.report import text

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Outputs of a full ``jdmstats run``: the committed ones when present, else a fresh run."""
    if (ROOT / "figures" / "MANIFEST.json").exists() and (ROOT / "tables").is_dir():
        return ROOT
    out = tmp_path_factory.mktemp("results")
    import matplotlib

    matplotlib.use("Agg")
    pipeline.run(out=out, quiet=True)
    return out


@pytest.fixture(scope="module")
def page(results, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    return report.write_report(results=results, out=path)


def _manifest(results: Path) -> dict:
    return json.loads((results / "figures" / "MANIFEST.json").read_text())["files"]


def _expected(results: Path) -> tuple[set[str], set[str]]:
    """Figures the page shows (one per distinct PNG: a byte-identical copy is shown once) and
    the machine tables (``tables/*.csv``, not the publication tables under ``tables/*/``)."""
    files = _manifest(results)
    order = [step for step, _ in report.QUESTIONS]
    pngs = sorted((k for k in files if k.endswith(".png")),
                  key=lambda k: (order.index(files[k]["step"]) if files[k]["step"] in order
                                 else len(order), k))  # fmt: skip
    figs, seen = set(), set()
    for k in pngs:
        if files[k]["sha256"] not in seen:
            seen.add(files[k]["sha256"])
            figs.add(Path(k).name)
    tabs = {Path(k).stem for k in files if k.startswith("tables/") and k.count("/") == 1}
    return figs, tabs


def test_page_is_self_contained_and_has_every_figure_and_table(page, results):
    html = page.read_text(encoding="utf-8")
    figs, tabs = _expected(results)
    shown = re.findall(r'data-figure="([^"]+)"', html)
    assert len(shown) == len(set(shown))  # each figure once
    assert set(shown) == figs
    shown = set(re.findall(r'data-table="[^"]*\(tables/([^"]+)\.csv\)"', html))
    assert tabs <= shown
    assert not re.search(r'src="(https?:)?//', html)  # nothing is loaded from the network
    body = html.split("</header>")[1].split('id="provenance"')[0]
    body = re.sub(r'<section id="references">.*?</section>', "", body, flags=re.S)
    assert not re.search(r'href="(https?:)?//', body)  # links out only in the reference list
    assert "<script" not in html
    for section in ("Methods and results in brief", "Question 1", "Question 2", "Question 3",
                    "PRISMA 2020", "Data provenance and known gaps", "Versions"):  # fmt: skip
        assert section in html
    for package in ("numpy", "scipy", "pandas", "statsmodels", "lifelines", "matplotlib",
                    "python", "jdmstats"):  # fmt: skip
        assert f"<td>{package}</td>" in html


def test_report_is_reproducible(results, tmp_path):
    a = report.write_report(results=results, out=tmp_path / "a.html")
    b = report.write_report(results=results, out=tmp_path / "b.html")
    assert a.read_bytes() == b.read_bytes()


def test_results_paragraph_uses_the_fitted_numbers():
    tables = {
        "prevalence": pd.DataFrame({
            "model": ["glmm_primary", "iv_logit_reml_knha"], "k": [34, 34],
            "n_patients": [2162, 2162], "n_calcinosis": [491, 491],
            "estimate": [0.2624, 0.2794], "ci_low": [0.2035, 0.2180], "ci_high": [0.3314, 0.3504],
            "pi_low": [0.0579, 0.0738], "pi_high": [0.6732, 0.6538], "tau2": [0.774, 0.579],
            "i2": [87.9, 84.5]}),
        "response_by_class": pd.DataFrame({
            "class": ["bisphosphonate", "all"], "episodes": [5, 26], "any_regression": [4, 17],
            "complete": [0, 1], "estimate": [0.8, 0.654], "ci_low": [0.284, 0.443],
            "ci_high": [0.995, 0.828]}),
    }  # fmt: skip
    p = text.paragraphs(tables)
    assert (
        "26.2% of children with JDM (95% CI 20.3% to 33.1%; 34 cohorts, 2,162 children)"
        in (p["results"])
    )
    assert "prediction interval of 5.8% to 67.3%" in p["results"]
    assert "17 of 26 therapy courses" in p["results"]
    assert "tau² = 0.774, I² = 87.9%" in p["prevalence"]
    assert "inverse-variance logit, REML, Hartung-Knapp: 27.9%" in p["prevalence"]
    assert "bisphosphonate 4/5 (80%" in p["response"]
    assert "binomial-normal" in p["methods"]


def test_missing_tables_leave_sentences_out():
    p = text.paragraphs({})
    assert p["results"] == "No analysis results were found."
    assert "prevalence" not in p


def test_markdown_to_html():
    out = report.markdown_html("# Data\n\nSome `code` and **bold**.\n\n- one\n- two\n")
    assert "<h3>Data</h3>" in out and "<code>code</code>" in out and "<strong>bold</strong>" in out
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in out
    # raw HTML in a data README is shown as text, never executed in the page
    assert "&lt;script&gt;" in report.markdown_html("a <script>alert(1)</script> b")


def test_report_without_results_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="jdmstats run"):
        report.build_html(tmp_path)


# --------------------------------------------------------------------------------------------
# A real browser
# --------------------------------------------------------------------------------------------

CHECK = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images), ok = 0;
  imgs.forEach(function (i) {
    var loaded = i.complete && i.naturalWidth > 0;
    i.setAttribute('data-loaded', loaded ? 'yes' : 'no');
    if (loaded) { ok += 1; }
  });
  document.body.setAttribute('data-images', imgs.length);
  document.body.setAttribute('data-images-ok', ok);
  document.body.setAttribute('data-tables', document.querySelectorAll('table.results').length);
});
</script>"""


def _chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _dump_dom(doc: str, script: str, tmp_path: Path, extra=()) -> subprocess.CompletedProcess:
    """Open ``doc`` with ``script`` added in headless Chromium; the DOM it dumps after load.

    Without Chromium the test is skipped, or fails when CI is "true"."""
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium not found but CI=true: install Debian's chromium package")
        pytest.skip("Chromium not installed (apt-get install chromium); the browser check is "
                    "skipped outside CI")  # fmt: skip
    checked = tmp_path / "checked.html"
    checked.write_text(doc.replace("</body>", script + "</body>"), encoding="utf-8")
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}",
           *extra, "--virtual-time-budget=10000", "--dump-dom", checked.as_uri()]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_report_in_headless_chromium(page, results, tmp_path):
    r = _dump_dom(page.read_text(encoding="utf-8"), CHECK, tmp_path)
    dom = r.stdout
    assert "data-images=" in dom, f"no DOM from Chromium (exit {r.returncode}): {r.stderr[-2000:]}"
    figs, tabs = _expected(results)
    n_img = int(re.search(r'data-images="(\d+)"', dom).group(1))
    n_ok = int(re.search(r'data-images-ok="(\d+)"', dom).group(1))
    n_tab = int(re.search(r'data-tables="(\d+)"', dom).group(1))
    assert n_img == len(figs) > 0
    assert n_ok == n_img, re.findall(r'data-figure="([^"]+)"[^>]*data-loaded="no"', dom)
    assert n_tab >= len(tabs)
    loaded = set(re.findall(r'data-figure="([^"]+)"[^>]*data-loaded="yes"', dom))
    assert loaded == figs


# ------------------------------------------------------------------ Markdown / LaTeX tables
def test_markdown_table_blanks_escapes_and_aligns():
    df = pd.DataFrame({"group": ["a|b", "c"], "est": [0.123456, float("nan")], "k": [3, 12]})
    md = report.to_markdown(df).splitlines()
    assert md[0] == "| group | est | k |"
    assert md[1] == "|:--|--:|--:|"  # text left, numbers right
    assert md[2] == "| a\\|b | 0.1235 | 3 |"  # 4 significant digits, pipe escaped
    assert md[3] == "| c |  | 12 |"  # missing is blank, never 0


def test_latex_table_escapes_every_special_character():
    df = pd.DataFrame({"label": ["50% & more_#1 {x} $y$ ~z^ \\"], "p": [0.00001234]})
    tex = report.to_latex(df, caption="Table_1", label="tab:x")
    body = tex.splitlines()
    assert body[:4] == ["\\begin{table}[ht]", "\\centering", "\\caption{Table\\_1}",
                        "\\label{tab:x}"]  # fmt: skip
    row = next(line for line in body if line.startswith("50"))
    assert row == ("50\\% \\& more\\_\\#1 \\{x\\} \\$y\\$ \\textasciitilde{}z\\textasciicircum{} "
                   "\\textbackslash{} & 1.23e-05 \\\\")  # fmt: skip
    assert "\\begin{tabular}{lr}" in body and body[-1] == "\\end{table}"


def test_export_tables_writes_every_results_table(results, tmp_path):
    written = report.export_tables(results, tmp_path / "t", formats=("md", "tex"))
    names = {p.stem for p in (results / "tables").glob("*.csv")}
    names |= {"table1_studies", "table2_pooled", "table3_response"}  # the publication tables
    assert {p.name for p in written} == {f"{n}.{f}" for n in names for f in ("md", "tex")}
    prev = pd.read_csv(results / "tables" / "prevalence.csv")
    md = (tmp_path / "t" / "prevalence.md").read_text()
    assert md.count("\n") == len(prev) + 2  # header, rule, one line per row
    again = report.export_tables(results, tmp_path / "u", formats=("md", "tex"))
    assert [p.read_bytes() for p in written] == [p.read_bytes() for p in again]


def test_report_cli_writes_tables_next_to_the_page(results, tmp_path):
    from jdmstats import cli

    out = tmp_path / "paper.html"
    assert cli.main(["report", "--results", str(results), "--out", str(out), "--tables",
                     "md,tex", "--quiet"]) == 0  # fmt: skip
    assert out.exists() and (tmp_path / "paper_tables" / "prevalence.tex").exists()
    assert (tmp_path / "paper_tables" / "prevalence.md").exists()


def test_unknown_table_format_is_refused_before_running(tmp_path, capsys):
    from jdmstats import cli

    assert cli.main(["report", "--out", str(tmp_path / "r.html"), "--tables", "docx"]) == 2
    assert "unknown table format(s) docx; accepted: md, tex" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_result_objects_render_as_markdown_and_latex():
    from jdmstats import meta

    fit = meta.random_effects([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.01, 0.04], method="REML")
    md = fit.to_markdown().splitlines()
    assert md[0].startswith("|  | k | estimate |") and md[2].startswith("| REML (z) | 4 |")
    tex = fit.to_latex(label="tab:re")
    assert "\\caption{Random-effects meta-analysis}" in tex and "\\label{tab:re}" in tex
    assert "ci\\_low" in tex  # column names escaped


def test_descriptive_text_counts_named_countries_and_case_patients():
    bc = pd.DataFrame({"country": ["Brazil", "Italy", "multinational", "not_stated"],
                       "region": ["latin_america", "europe", "multinational", "not_stated"],
                       "sources": [2, 1, 1, 3], "cohorts": [2, 1, 1, 0],
                       "cohort_children": [88, 30, 490, 0], "case_patients": [0, 1, 0, 4]})  # fmt: skip
    sentence = text.descriptive_text({"studies_by_country": bc})
    assert sentence.startswith("7 sources from 2 named countries")
    assert "4 cohorts with 608 children, and 5 case patients" in sentence


def test_response_text_names_classes_in_words():
    rb = pd.DataFrame({"class": ["all", "tnf_inhibitor", "ivig"], "episodes": [3, 0, 3],
                       "any_regression": [1, 0, 1], "complete": [0, 0, 0],
                       "estimate": [1 / 3, float("nan"), 1 / 3], "ci_low": [0.01, None, 0.01],
                       "ci_high": [0.9, None, 0.9]})  # fmt: skip
    sentence = text.response_text({"response_by_class": rb})
    assert "TNF inhibitor: no course with a stated response" in sentence
    assert "IVIG 1/3 (33%" in sentence


# ------------------------------------------------------------------ reads like a paper
def _plain(html: str) -> str:
    import html as h

    body = re.sub(r"<style>.*?</style>|<img[^>]*>", " ", html, flags=re.S)
    return " ".join(h.unescape(re.sub(r"<[^>]+>", " ", body)).split())


@pytest.fixture(scope="module")
def harmonised():
    from jdmstats.evidence import datasets

    return datasets.load_all(datasets.data_dir())


def test_publication_tables_have_human_labels(page):
    html = page.read_text(encoding="utf-8")
    for cap in ("Table 1. Characteristics of the included cohorts",
                "Table 2. Pooled results per question",
                "Table 3. Response of calcinosis per therapy class"):  # fmt: skip
        assert f"<caption>{cap}</caption>" in html
    pub = "".join(re.findall(r'<table class="publication".*?</table>', html, flags=re.S))
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", pub)
    assert heads and not [h for h in heads if "_" in h]  # no machine column names
    assert {"Children, n", "Calcinosis, n (%)", "I², %", "95% PI", "Exact 95% CI"} <= set(heads)
    assert "notes" not in {h.lower() for h in heads}  # notes are footnotes
    assert '<div class="footnotes">' in html


def test_machine_tables_are_in_a_collapsed_appendix(page, results):
    html = page.read_text(encoding="utf-8")
    appendix = html.split('<section id="appendix">')[1].split("</section>")[0]
    _, tabs = _expected(results)
    boxes = re.findall(r'<details id="table-([^"]+)"><summary>', appendix)
    assert set(boxes) == tabs - {"warnings"} and "<details open" not in appendix  # warnings: provenance
    before = html.split('<section id="appendix">')[0]
    assert not re.search(r'data-table="[^"]*\(tables/', before)  # none in the question sections


def test_each_question_opens_with_a_verdict(page):
    html = page.read_text(encoding="utf-8")
    for step in ("prevalence", "delay", "response"):
        section = html.split(f'<section id="{step}">')[1]
        assert re.match(r'<h2>[^<]+</h2><p class="verdict">Verdict: ', section), step
    delay = html.split('<section id="delay">')[1].split("</section>")[0]
    assert "the odds ratio rests on one source" in delay


def test_reference_list_and_links(page, harmonised):
    html = page.read_text(encoding="utf-8")
    studies = harmonised["studies"]
    refs = re.findall(r'<li id="ref-([^"]+)"', html)
    assert sorted(refs) == sorted(studies["study_id"].astype(str))
    for doi in studies["doi"].dropna().astype(str):
        assert f'href="https://doi.org/{doi}"' in html
    targets = set(re.findall(r'href="#ref-([^"]+)"', html))
    assert targets and targets <= set(refs)
    table1 = re.search(r'<table class="publication" data-table="table1_studies">.*?</table>', html,
                       flags=re.S).group(0)  # fmt: skip
    rows = table1.count("<tr>") - 1
    assert len(re.findall(r'<a href="#ref-', table1)) == rows == len(harmonised["cohorts"])


def test_counts_agree_across_the_report(page, results, harmonised):
    from jdmstats.outputs import publication

    tables = {p.stem: pd.read_csv(p) for p in (results / "tables").glob("*.csv")}
    c = publication.summary_counts(tables, harmonised)
    text_ = _plain(page.read_text(encoding="utf-8"))
    # sources: the data, PRISMA, the reference list and every sentence agree
    assert c["sources"] == c["prisma_sources"] == len(re.findall(r"\[\w+\] ", text_.split(
        "References of the included studies")[-1].split("Appendix")[0]))  # fmt: skip
    assert c["prisma_from_searches"] + c["prisma_other_methods"] == c["prisma_sources"]
    assert c["prisma_assessed"] - c["prisma_excluded"] == c["prisma_reports_included"]
    said = re.findall(r"(\d+) sources (?:are included|from \d+ named)|data hold (\d+) sources",
                      text_)  # fmt: skip
    assert said and {a or b for a, b in said} == {str(c["sources"])}
    # therapy classes: courses (a combination once) and agents, each said with its meaning
    classes = re.findall(r"(?:in|of) (\d+) therapy classes", text_)
    assert classes and set(classes) == {str(c["classes_courses"])}
    assert f"span {c['classes_agents']} classes" in text_
    assert len(tables["episodes_by_class"]) == c["classes_courses"]
    assert "At the last curation" not in text_  # the README's hand-typed counts are replaced
    # cohorts and children of the primary analysis
    prisma = dict(zip(tables["prisma"]["item"], tables["prisma"]["n"], strict=True))
    assert prisma["cohorts"] == c["cohorts"]
    assert prisma["children in the primary prevalence analysis"] == c["children_primary"]
    assert f"{c['children_primary']:,} children" in text_
    assert f"{c['case_patients']} case patients" in text_


OVERFLOW = """<script>
window.addEventListener('load', function () {
  document.querySelectorAll('details').forEach(function (d) { d.open = true; });
  var bad = [], body = document.body.getBoundingClientRect(), n = 0;
  document.querySelectorAll('table').forEach(function (t) {
    n += 1;
    var wrap = t.closest('.table-wrap') || t.parentElement;
    var w = wrap.getBoundingClientRect(), r = t.getBoundingClientRect();
    var ox = getComputedStyle(wrap).overflowX;
    var fits = r.right <= w.right + 1 && r.left >= w.left - 1;
    var name = t.getAttribute('data-table') || t.className;
    if (w.right > body.right + 1 || w.left < body.left - 1) { bad.push('container:' + name); }
    if (!fits && ox !== 'auto' && ox !== 'scroll') { bad.push('clipped:' + name); }
    if (!fits && t.classList.contains('publication')) { bad.push('publication:' + name); }
    if (!fits) { bad.push('scrolls:' + name); }
  });
  document.body.setAttribute('data-overflow', JSON.stringify(bad));
  document.body.setAttribute('data-ntables', n);
});
</script>"""

A4_PRINT_PX = round((210 - 2 * 15) / 25.4 * 96)
"""Printable width of an A4 page with 15 mm margins (the page's @page rule), in CSS pixels."""


@pytest.mark.parametrize("width", [1400, A4_PRINT_PX])
def test_no_table_overflows_its_container(page, tmp_path, width):
    """Every table (appendix opened) stays inside its container: at 1,400 px a wide machine
    table may scroll inside its box but is never cut off and publication tables fit; at the
    A4 print width (the print rules apply) every table fits without scrolling."""
    import html as h

    doc = page.read_text(encoding="utf-8")
    r = _dump_dom(doc, OVERFLOW, tmp_path, extra=[f"--window-size={width},1000"])
    m = re.search(r'data-overflow="([^"]*)" data-ntables="(\d+)"', r.stdout)
    assert m, f"no DOM from Chromium (exit {r.returncode}): {r.stderr[-2000:]}"
    bad, n = json.loads(h.unescape(m.group(1))), int(m.group(2))
    assert n == doc.count("<table") > 0
    if width == A4_PRINT_PX:
        assert bad == []
    else:
        assert [b for b in bad if not b.startswith("scrolls:")] == []


def test_every_figure_caption_states_k_and_n(page):
    html = page.read_text(encoding="utf-8")
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", html, flags=re.S)
    assert captions
    numbers = []
    for cap in captions:
        m = re.search(r"<strong>Figure (\d+)\.</strong> .*k = [\d,]+ [^,]+, n = [\d,]+ [^.]+\.$",
                      cap)  # fmt: skip
        assert m, cap
        numbers.append(int(m.group(1)))
    assert numbers == list(range(1, len(captions) + 1))


def test_caption_k_and_n_come_from_the_results():
    t = {"prevalence_metareg": pd.DataFrame({"moderator": ["year"], "k": [4], "n_patients": [321]}),
         "prevalence": pd.DataFrame({"model": ["glmm_primary"], "k": [7], "n_patients": [1234]})}
    assert text.caption("prevalence_bubble_year", t).endswith("k = 4 cohorts, n = 321 children.")
    assert text.caption("prevalence_funnel", t).endswith("k = 7 cohorts, n = 1,234 children.")
    assert text.caption("prevalence_funnel") == text.CAPTIONS["prevalence_funnel"]  # no results
