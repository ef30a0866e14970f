"""The records log behind PRISMA: distinct records, de-duplicated, one coded reason per
exclusion; a failing fixture per rule, and boxes that add up."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from jdmstats import datasets
from jdmstats.evidence.harmonise import harmonise
from jdmstats.evidence.records import article_keys, normalise_url
from jdmstats.evidence.validate import validate_path
from jdmstats.questions.prisma import counts_table, prisma_counts

HCOLS = ["query_id", "rank", "url", "title", "doi", "pmid", "decision", "reason", "study_id",
         "note"]  # fmt: skip
LOG = ("query_id,date,database,query,records_found,records_screened,records_included,"
       "included_ids,records_excluded,exclusion_reasons\n"
       "q-1,2026-12-03,pages,jdm calcinosis,3,3,1,Testauthor2010,1,1 review\n"
       "q-2,2026-12-03,pages,jdm calcinosis cohort,2,2,0,,0,\n")  # fmt: skip
HITS = [
    ["q-1", 1, "https://pubmed.ncbi.nlm.nih.gov/123/", "A cohort", "", "", "included", "",
     "Testauthor2010", ""],
    ["q-1", 2, "https://example.org/review", "A review", "", "", "excluded_screening",
     "review_or_guideline", "", ""],
    ["q-1", 3, "https://example.org/adult", "Adults", "", "", "excluded_eligibility",
     "adult_only", "", ""],
    ["q-2", 1, "http://www.ncbi.nlm.nih.gov/pubmed/123", "A cohort (mirror)", "", "",
     "included", "", "Testauthor2010", ""],  # the same article: a duplicate
    ["q-2", 2, "https://example.org/review/", "A review", "", "", "excluded_screening",
     "review_or_guideline", "", ""],  # the same page again: one record, two hits
]  # fmt: skip


def _write(folder: Path, hits, reruns=None):
    (folder / "search_log.csv").write_text(LOG, encoding="utf-8")
    (folder / "search").mkdir(exist_ok=True)
    with (folder / "search" / "hits.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(HCOLS)
        w.writerows(hits)
    rr = reruns or [["q-1", "rerun", 3, ""], ["q-2", "rerun", 2, ""]]
    with (folder / "search" / "reruns.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["query_id", "status", "n_results", "note"])
        w.writerows(rr)


@pytest.fixture
def data(tmp_path, source, write_source):
    write_source(source)
    _write(tmp_path, HITS)
    return tmp_path


def test_normalised_identifiers_merge_mirrors():
    assert normalise_url("https://WWW.Example.org/a/#x") == "example.org/a"
    assert article_keys("https://pubmed.ncbi.nlm.nih.gov/123/", None, None) == ["pmid:123"]
    assert article_keys("http://www.ncbi.nlm.nih.gov/pubmed/123", None, None) == ["pmid:123"]
    assert article_keys("https://doi.org/10.1186/S12969-021-00615-0", None, None) == [
        "doi:10.1186/s12969-021-00615-0"]


def test_records_are_distinct_and_the_boxes_add_up(data):
    harmonise(data / "extraction", data / "h")
    t = datasets.load_all(data / "h")
    rec = t["records"].set_index("url_key")
    assert len(rec) == 4  # five hits: two of one page, two pages of one article
    assert rec.loc["example.org/review", "n_hits"] == 2
    assert rec.loc["example.org/review", "query_ids"] == "q-1;q-2"
    mirror = rec.loc["ncbi.nlm.nih.gov/pubmed/123"]
    assert mirror["screening"] == "duplicate"
    assert mirror["duplicate_of"] == "pubmed.ncbi.nlm.nih.gov/123"
    c = prisma_counts(t)
    assert c.records_found == len(rec) == 4 and c.hits == 5
    assert c.removed_before_screening == 1
    assert c.records_screened == c.records_found - c.removed_before_screening == 3
    assert c.records_screened == c.excluded_at_screening + c.reports_assessed
    assert c.reports_assessed == c.reports_excluded + c.reports_included
    assert c.reports_excluded == sum(c.reasons.values()) and c.reasons == {"adult_only": 1}
    assert c.sources_included == c.sources_from_searches + c.sources_other_methods
    table = counts_table(c).set_index("item")["n"]
    assert table["records identified (distinct)"] == 4
    assert not any("several reasons" in k for k in table.index)


def _problems(data):
    return [p for p in validate_path(data) if "search" in p.file or "records" in p.column
            or p.column in ("reason", "study_id", "duplicate_of", "query_ids")]


def test_an_excluded_hit_needs_a_coded_reason(data):
    hits = [list(h) for h in HITS]
    hits[2][7] = ""
    _write(data, hits)
    probs = [p for p in validate_path(data) if p.column == "reason"]
    assert probs and "coded reason" in probs[0].rule and probs[0].file.endswith("hits.csv")


def test_reasons_are_never_free_text(data):
    hits = [list(h) for h in HITS]
    hits[2][7] = "adults, and also several other things"
    _write(data, hits)
    probs = [p for p in validate_path(data) if p.column == "reason"]
    assert probs and "adult_only" in probs[0].rule  # the vocabulary is listed


def test_an_included_record_names_a_known_source(data):
    hits = [list(h) for h in HITS]
    hits[0][8] = hits[3][8] = "Nobody2010"
    _write(data, hits)
    probs = [p for p in validate_path(data) if p.column == "study_id"]
    assert any("no such study_id" in p.rule for p in probs)


def test_every_included_source_has_a_record(data):
    hits = [h for h in HITS if h[6] != "included"]
    _write(data, hits)
    log = (data / "search_log.csv").read_text().replace(",1,Testauthor2010,", ",0,,")
    (data / "search_log.csv").write_text(log)
    probs = [p for p in validate_path(data) if "no record" in p.rule]
    assert probs and probs[0].value == "Testauthor2010"


def test_an_included_source_of_a_query_not_rerun_gets_its_record_from_the_log(data):
    hits = [h for h in HITS if h[0] == "q-2" and h[6] != "included"]
    _write(data, hits, reruns=[["q-1", "not_rerun", "", ""], ["q-2", "rerun", 2, ""]])
    harmonise(data / "extraction", data / "h")
    rec = datasets.load_all(data / "h")["records"]
    row = rec[rec["study_id"] == "Testauthor2010"].iloc[0]
    assert row["origin"] == "search_log" and row["query_ids"] == "q-1"


def test_unknown_query_in_the_hits(data):
    hits = [list(h) for h in HITS]
    hits[1][0] = "q-9"
    _write(data, hits)
    probs = [p for p in validate_path(data) if p.column == "query_ids"]
    assert probs and "no such query_id" in probs[0].rule


def test_csv_duplicate_must_point_at_the_same_article(data):
    harmonise(data / "extraction", data / "h")
    path = data / "h" / "records.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[df["screening"] == "duplicate", "duplicate_of"] = "example.org/adult"
    df.to_csv(path, index=False, lineterminator="\n")
    probs = [p for p in validate_path(data / "h") if p.column == "duplicate_of"]
    assert probs and "same article" in probs[0].rule and probs[0].file.endswith("records.csv")


def test_bundled_prisma_counts_distinct_records():
    t = datasets.load_all()
    c = prisma_counts(t)
    assert c.from_records and c.records_found == len(t["records"])
    assert c.records_screened == c.excluded_at_screening + c.reports_assessed
    assert c.reports_assessed == c.reports_excluded + c.reports_included
    assert c.reports_excluded == sum(c.reasons.values())
    assert set(c.reasons) <= set(datasets.load_all()["records"]["reason"].dropna())
