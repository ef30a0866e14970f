"""Publication tables (Tables 1-3) and the summary of counts: one definition, four formats."""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from jdmstats.evidence import datasets
from jdmstats.outputs import publication as pub

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def data():
    return datasets.load_all(datasets.data_dir())


@pytest.fixture(scope="module")
def results():
    return {p.stem: pd.read_csv(p) for p in sorted((ROOT / "tables").glob("*.csv"))}


@pytest.fixture(scope="module")
def built(results, data):
    return {t.name: t for t in pub.build_all(results, data)}


def test_precision_rules():
    assert pub.fmt_pct(0.249367) == "24.9" and pub.fmt_pct(1.0) == "100.0"
    assert pub.fmt_ratio(1.026877) == "1.03" and pub.fmt_ratio(0.9963) == "1.00"
    assert pub.fmt_p(0.000999) == "<0.001" and pub.fmt_p(0.001) == "0.001"
    assert pub.fmt_p(0.55741) == "0.557" and pub.fmt_p(float("nan")) == ""
    assert pub.fmt_pct(None) == "" and pub.fmt_ratio("x") == ""


def test_three_tables_with_human_labels(built, data):
    assert list(built) == ["table1_studies", "table2_pooled", "table3_response"]
    for t in built.values():
        labels = [c.label for c in t.spec.columns]
        assert not [lab for lab in labels if "_" in lab], t.name
        assert t.caption.startswith(f"Table {t.spec.number}. ")
    assert len(built["table1_studies"].cells) == len(data["cohorts"])


def _column(t, label):
    j = [c.label for c in t.spec.columns].index(label)
    return [row[j] for row in t.cells if row[j]]


def test_fixed_precision_per_quantity(built):
    t1, t2, t3 = built["table1_studies"], built["table2_pooled"], built["table3_response"]
    pct1 = re.compile(r"^\d+\.\d$")
    assert all(re.fullmatch(r"[\d,]+ \(\d+\.\d\)", v) for v in _column(t1, "Calcinosis, n (%)"))
    for label in ("Crude, %", "Pooled, %"):
        assert all(pct1.match(v) for v in _column(t3, label))
    for v in _column(t3, "Exact 95% CI"):
        assert re.fullmatch(r"\d+\.\d to \d+\.\d", v)
    measures = dict(zip(range(len(t2.cells)), _column(t2, "Measure"), strict=False))
    for i, row in enumerate(t2.cells):
        est = row[3]
        if est and "%" in measures[i]:
            assert pct1.match(est)
        elif est and measures[i].startswith("OR"):
            assert re.fullmatch(r"\d+\.\d\d", est)
    assert all(re.fullmatch(r"(<0\.001|\d\.\d{3})( \((<0\.001|\d\.\d{3})\))?", v)
               for v in _column(t2, "p (permutation p)"))  # fmt: skip


def test_notes_are_footnotes_with_letters(built):
    t3 = built["table3_response"]
    letters = {m for marks in t3.marks for m in marks.split(",") if m}
    assert letters and all(any(f.startswith(f"{x}. ") for f in t3.footnotes) for x in letters)
    one = [row for row, _ in zip(t3.cells, t3.marks, strict=True) if row[1] == "1"]
    assert one and all(row[7] == "" for row in one)  # a single source is never "pooled"


def _html_cells(text):
    rows = re.findall(r"<tr>(.*?)</tr>", text, flags=re.S)[1:]
    strip = lambda c: re.sub(r"<sup>.*?</sup>|<[^>]+>", "", c)  # noqa: E731
    import html

    return [[html.unescape(strip(c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", r)] for r in rows]


def test_four_formats_show_the_same_cells(built):
    for t in built.values():
        plain = t.cells
        rows = list(csv.reader(io.StringIO(pub.to_csv(t))))
        n = len(plain)
        as_csv = [[re.sub(r" \[[a-z,]+\]$", "", c) for c in r] for r in rows[1:n + 1]]
        assert as_csv == plain
        assert rows[n + 1:] == [[f"Note {f}"] for f in t.footnotes]
        assert _html_cells(pub.to_html(t)) == plain
        md = [line for line in pub.to_markdown(t).splitlines() if line.startswith("| ")][1:]
        assert len(md) == n
        tex = pub.to_latex(t)
        assert "\\toprule" in tex and "\\bottomrule" in tex and tex.count("\\\\\n") == n + 1


def test_written_by_the_runner_deterministically(tmp_path, data):
    from jdmstats.outputs.runner import write_publication_tables

    for out in (tmp_path / "a", tmp_path / "b"):
        shutil.copytree(ROOT / "tables", out / "tables")
    a = write_publication_tables(tmp_path / "a", data)
    b = write_publication_tables(tmp_path / "b", data)
    assert {p.name for p in a} == {f"{n}.{s}" for n in ("table1_studies", "table2_pooled",
                                                        "table3_response")
                                   for s in ("csv", "md", "tex", "html")} | {"counts.csv"}
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    counts = pd.read_csv(tmp_path / "a" / "tables" / "publication" / "counts.csv")
    assert dict(zip(counts["count"], counts["n"], strict=True))["sources"] == len(data["studies"])


def test_summary_counts_explain_the_class_counts(results, data):
    c = pub.summary_counts(results, data)
    ep = data["episodes"]
    assert c["classes_courses"] == ep["therapy_class"].nunique()
    split = {x for v in ep["therapy_classes"].dropna() for x in str(v).split(";")}
    assert c["classes_agents"] == len(split | set(ep["therapy_class"]) - {"combination"})
    assert c["classes_agents"] >= c["classes_courses"] - 1


def test_a_table_added_to_the_list_is_built(monkeypatch, results, data):
    extra = pub.TableSpec("table4_extra", "4", "Extra", (pub.Column("a", "A", "l"),),
                          lambda r, d: ([{"a": "x"}], []), section="prevalence")  # fmt: skip
    monkeypatch.setattr(pub, "TABLES", [*pub.TABLES, extra])
    names = [t.name for t in pub.build_all(results, data)]
    assert names[-1] == "table4_extra"
