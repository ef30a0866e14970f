"""PRISMA 2020 flow diagram: every number computed from the tables."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from jdmstats import datasets  # noqa: E402
from jdmstats.plots import prisma as draw  # noqa: E402
from jdmstats.questions import prisma  # noqa: E402


def _tables():
    log = pd.DataFrame({
        "query_id": ["q1", "q2", "seed"],
        "database": ["db A", "db B", "seed reports"],
        "records_found": [10, 6, 2],
        "records_screened": [8, 6, 2],
        "records_included": [2, 0, 2],
        "included_ids": ["Alpha2001;Beta2002 (patients added)", None, "Seed2020; Gamma2003"],
        "records_excluded": [5, 4, 0],
        "exclusion_reasons": ["3 reviews; 2 duplicates of Alpha2001", "adult cases", None],
    })  # fmt: skip
    studies = pd.DataFrame({"study_id": ["Alpha2001", "Beta2002", "Seed2020", "Other2010"]})
    cohorts = pd.DataFrame({"include_primary": [True, False, True], "n_patients": [40, 10, 25]})
    patients = pd.DataFrame({"patient_id": ["a", "b"]})
    episodes = pd.DataFrame({"episode_id": ["a1", "a2", "b1"]})
    return {"search_log": log, "studies": studies, "cohorts": cohorts, "patients": patients,
            "episodes": episodes}  # fmt: skip


def test_counts_follow_the_log_and_the_tables():
    c = prisma.prisma_counts(_tables())
    # the "seed reports" row is identification by other methods, not a database search
    assert c.queries == 2 and c.records_found == 16
    assert c.databases == {"db A": 10, "db B": 6}
    assert c.removed_before_screening == 2  # found - screened
    assert c.records_screened == 14
    assert c.reports_assessed == 2 + 9 and c.reports_excluded == 9
    assert c.excluded_at_screening == 14 - 2 - 9
    assert c.reasons == {"duplicate or already included": 2,
                         "not JDM or off topic": 4,
                         "review, guideline, book or survey": 3}  # fmt: skip
    assert c.sources_included == 4
    assert c.sources_from_searches == 2  # Alpha, Beta (annotations in the cell ignored)
    assert c.sources_other_methods == 2  # Seed2020 (seed row) and Other2010 (named nowhere)
    assert c.cohorts == 3 and c.cohorts_primary == 2 and c.children_primary == 65
    assert c.case_patients == 2 and c.episodes == 3
    assert any("Gamma2003" in n for n in c.notes)  # named in the log, not in studies


def test_without_a_search_log_the_diagram_says_so():
    t = _tables()
    del t["search_log"]
    c = prisma.prisma_counts(t)
    assert c.records_found == 0 and c.sources_other_methods == 4
    assert any("no search log" in n for n in c.notes)


@pytest.mark.parametrize("text, category", [
    ("3 duplicates of Meher2014", "duplicate or already included"),
    ("2 reviews", "review, guideline, book or survey"),
    ("all adult (scleroderma)", "not JDM or off topic"),
    ("cohort abstract without calcinosis count", "no usable numbers in the text read"),
    ("something else entirely", prisma.OTHER),
])  # fmt: skip
def test_reason_categories(text, category):
    assert prisma.reason_category(text) == category


def test_unitemised_reasons_of_mixed_kinds_are_not_guessed():
    assert prisma._split_reasons("1 review; duplicates/reviews; adult cases", 5) == {
        "review, guideline, book or survey": 1,
        prisma.OTHER: 4,
    }


def test_diagram_shows_the_numbers():
    import matplotlib.pyplot as plt

    ax = draw.prisma(prisma.prisma_counts(_tables()))
    texts = "\n".join(t.get_text() for t in ax.texts)
    for phrase in ("Identification", "Screening", "Included", "(n = 16)", "Records screened",
                   "(n = 14)", "Reports excluded (n = 9)", "Sources included in the review (n = 4)",
                   "in the primary prevalence analysis: 2 (65 children)"):  # fmt: skip
        assert phrase in texts, phrase
    plt.close(ax.figure)


def test_counts_table_matches_the_bundled_data():
    tables = datasets.load_all()
    c = prisma.prisma_counts(tables)
    table = prisma.counts_table(c)
    n = dict(zip(table["item"], table["n"], strict=True))
    assert n["sources included"] == len(tables["studies"])
    assert n["cohorts"] == len(tables["cohorts"])
    assert n["case patients"] == len(tables["patients"])
    assert n["cohorts in the primary prevalence analysis"] == int(
        tables["cohorts"]["include_primary"].fillna(False).sum()
    )
