"""The records log (PRISMA 2020): distinct records built from every query's results.

The curators type two files beside the extraction folder, in ``data/search/``:

* ``hits.csv`` (:data:`~jdmstats.evidence.schema.HITS`): one row per result of a query, with
  its address, title, DOI/PMID when visible, and the decision on it (excluded on screening,
  excluded on eligibility with one coded reason, or included as a ``study_id``);
* ``reruns.csv`` (:data:`~jdmstats.evidence.schema.RERUNS`): for every logged query, whether it
  was run again (``rerun``), not (``not_rerun``), returned nothing (``no_results``), returned
  results that no longer match the log (``differs``), or is new.

:func:`build_records` turns the hits into the ``records`` table, one row per distinct page:
addresses are normalised (scheme, ``www.``, trailing slash and fragment removed; PubMed and
doi.org addresses give their PMID or DOI), and pages that share a DOI or PMID are one article.
The first-seen page of an article carries its decision; its mirrors are duplicates, removed
before screening. When the hits of one article disagree, ``included`` wins over an eligibility
exclusion, which wins over a screening exclusion (the most thorough look decides). A source
that a logged query included but that no hit of a re-run shows (the query was not re-run) gets
one record from the search log itself (``origin = search_log``), so that every included source
has a record and nothing is invented.
"""

from __future__ import annotations

import re
from pathlib import Path

from jdmstats.errors import Problem
from jdmstats.evidence import schema
from jdmstats.evidence.checks import ORIGIN, problem

__all__ = ["normalise_url", "normalise_doi", "article_keys", "build_records",
           "read_search_files", "SEARCH_DIR"]  # fmt: skip

SEARCH_DIR = "search"
"""Folder of ``hits.csv`` and ``reruns.csv``, beside the extraction folder."""

_DOI = re.compile(r"(10\.\d{4,9}/[^\s?#&]+)", re.I)
_PUBMED = re.compile(r"(?:pubmed\.ncbi\.nlm\.nih\.gov/|ncbi\.nlm\.nih\.gov/pubmed/)(\d+)")
_PMC = re.compile(r"ncbi\.nlm\.nih\.gov/pmc/articles/(pmc\d+)|pmc\.ncbi\.nlm\.nih\.gov/articles/(pmc\d+)")
_PRECEDENCE = {"included": 3, "excluded_eligibility": 2, "excluded_screening": 1}


def normalise_url(url: str) -> str:
    """Lower-case host, no scheme, no ``www.``, no fragment, no trailing slash."""
    u = str(url).strip()
    u = re.sub(r"^[a-z]+://", "", u, flags=re.I)
    u = u.split("#", 1)[0]
    host, _, rest = u.partition("/")
    host = host.lower().removeprefix("www.")
    return (host + ("/" + rest if rest else "")).rstrip("/")


def normalise_doi(doi: str | None) -> str | None:
    """A bare lower-case DOI (``10.xxxx/...``), or None."""
    if doi is None or not str(doi).strip():
        return None
    m = _DOI.search(str(doi))
    return m.group(1).lower().rstrip(".") if m else None


def article_keys(url: str, doi: str | None, pmid: str | None) -> list[str]:
    """Identifiers of the article behind a page: ``doi:``, ``pmid:``, ``pmc:`` keys."""
    keys = []
    d = normalise_doi(doi)
    key = normalise_url(url).lower()
    if d is None and ("doi.org/" in key or "/doi/" in key):
        d = normalise_doi(key)
    if d:
        keys.append(f"doi:{d}")
    p = str(pmid).strip() if pmid is not None and str(pmid).strip() else None
    m = _PUBMED.search(key)
    if p is None and m:
        p = m.group(1)
    if p and p.isdigit():
        keys.append(f"pmid:{p}")
    m = _PMC.search(key)
    if m:
        keys.append(f"pmc:{(m.group(1) or m.group(2)).lower()}")
    return keys


def read_search_files(folder: Path) -> tuple[list[dict], list[dict], list[Problem]]:
    """Read ``hits.csv`` and ``reruns.csv`` of a search folder (both optional)."""
    from jdmstats.evidence.checks import check_table, read_csv_table

    hits, reruns, problems = [], [], []
    for name, table, out in (("hits.csv", schema.HITS, hits), ("reruns.csv", schema.RERUNS,
                                                                reruns)):  # fmt: skip
        path = folder / name
        if not path.exists():
            continue
        recs, probs = read_csv_table(path, table)
        problems += probs + check_table(table, recs)
        out += recs
    for h in hits:
        if h.get("decision") != "included" and not h.get("reason"):
            problems.append(problem(h, "reason", "", "an excluded hit needs one coded reason: "
                                    + ", ".join(schema.RECORD_REASONS)))  # fmt: skip
        if h.get("decision") == "included" and not h.get("study_id"):
            problems.append(problem(h, "study_id", "", "an included hit needs its study_id"))
    return hits, reruns, problems


class _Union:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def build_records(hits: list[dict], search_log: list[dict], studies: list[dict],
                  query_order: list[str] | None = None) -> list[dict]:  # fmt: skip
    """The ``records`` table from the hits (see the module notes)."""
    order = {q: i for i, q in enumerate(query_order or [r["query_id"] for r in search_log])}
    hits = sorted(hits, key=lambda h: (order.get(h["query_id"], len(order)), h["query_id"],
                                       h.get("rank") or 0))  # fmt: skip
    pages: dict[str, dict] = {}
    union = _Union()
    for h in hits:
        url = h.get("url") or ""
        key = normalise_url(url) if url else f"no-address:{h['query_id']}#{h.get('rank')}"
        page = pages.setdefault(key, {"url_key": key, "url": url or None, "title": h.get("title"),
                                      "doi": None, "pmid": None, "query_ids": [], "n_hits": 0,
                                      "hits": [], "keys": set()})  # fmt: skip
        page["n_hits"] += 1
        if h["query_id"] not in page["query_ids"]:
            page["query_ids"].append(h["query_id"])
        page["hits"].append(h)
        page["title"] = page["title"] or h.get("title")
        for k in article_keys(url, h.get("doi"), h.get("pmid")):
            page["keys"].add(k)
            union.union(f"page:{key}", k)
        union.find(f"page:{key}")
        page["doi"] = page["doi"] or normalise_doi(h.get("doi"))
        pid = str(h.get("pmid") or "").strip()
        page["pmid"] = page["pmid"] or (pid if pid.isdigit() else None)
    groups: dict[str, list[str]] = {}
    for key in pages:  # pages in first-seen order
        groups.setdefault(union.find(f"page:{key}"), []).append(key)
    rows = []
    for keys in groups.values():
        ids = set().union(*(pages[k]["keys"] for k in keys))
        dois = sorted(i for i in ids if i.startswith("doi:"))
        pmids = sorted(i for i in ids if i.startswith("pmid:"))
        record_id = dois[0] if dois else pmids[0] if pmids else f"url:{keys[0]}"
        all_hits = [h for k in keys for h in pages[k]["hits"]]
        best = max(all_hits, key=lambda h: _PRECEDENCE[h["decision"]])  # first of the best
        for i, k in enumerate(keys):
            p = pages[k]
            row = {"url_key": k, "record_id": record_id, "url": p["url"], "title": p["title"],
                   "doi": p["doi"] or (dois[0][4:] if dois else None),
                   "pmid": p["pmid"] or (pmids[0][5:] if pmids else None),
                   "query_ids": ";".join(p["query_ids"]), "n_hits": p["n_hits"],
                   "origin": "hits", "note": best.get("note") if i == 0 else None}  # fmt: skip
            if i:
                row.update(duplicate_of=keys[0], screening="duplicate")
            elif best["decision"] == "excluded_screening":
                row.update(screening="excluded", reason=best.get("reason"))
            else:
                row.update(screening="assessed",
                           eligibility="included" if best["decision"] == "included" else "excluded",
                           reason=best.get("reason") if best["decision"] != "included" else None,
                           study_id=best.get("study_id"))  # fmt: skip
            if best.get("reason") == "same_children_as" and i == 0:
                row["study_id"] = best.get("study_id")
            row[ORIGIN] = best.get(ORIGIN, ("<derived>", ""))
            rows.append(row)
    # sources a logged query included but no hit shows (the query was not re-run)
    have = {r.get("study_id") for r in rows if r.get("eligibility") == "included"}
    urls = {r["url_key"] for r in rows}
    by_id = {s["study_id"]: s for s in studies}
    for q in search_log:
        ids = str(q.get("included_ids") or "")
        for sid in schema.STUDY_ID_IN_TEXT.findall(ids):
            s = by_id.get(sid)
            if sid in have or s is None or re.search(schema.OTHER_METHODS, str(q.get("database")),
                                                     re.I):  # fmt: skip
                continue
            url = s.get("url") or (f"https://doi.org/{s['doi']}" if s.get("doi") else None)
            if url is None:
                continue
            key = normalise_url(url)
            if key in urls:
                key = f"{key}#{sid}"
            d = normalise_doi(s.get("doi"))
            rows.append({"url_key": key, "record_id": f"doi:{d}" if d else f"url:{key}",
                         "url": url, "title": s.get("title"), "doi": d, "pmid": None,
                         "query_ids": q["query_id"], "n_hits": 1, "screening": "assessed",
                         "eligibility": "included", "study_id": sid, "origin": "search_log",
                         "note": "the logged query included this source; the query was not "
                                 "re-run, so the record comes from the log",
                         ORIGIN: ("<derived>", "")})  # fmt: skip
            have.add(sid)
            urls.add(key)
    return rows
