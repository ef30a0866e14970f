"""Columns, types, units and vocabularies of the jdmstats data: the single source of truth.

Everything that knows what a valid value is reads it from here: the validator
(:mod:`jdmstats.evidence.validate`), the harmoniser (:mod:`jdmstats.evidence.harmonise`), the loaders
(:mod:`jdmstats.evidence.datasets`), the Frictionless ``datapackage.json`` and the column documentation.

This module imports nothing heavy (no pandas), so the vocabularies can be used anywhere.

Examples
--------
>>> from jdmstats import schema
>>> schema.therapy_class_of("Pamidronate")
'bisphosphonate'
>>> schema.region_of("Brazil")
'latin_america'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# --------------------------------------------------------------------------------------------
# Vocabularies
# --------------------------------------------------------------------------------------------

ANTIBODIES = (
    "NXP2", "MDA5", "TIF1G", "MI2", "SAE", "SRP", "HMGCR", "JO1", "PMSCL", "other",
    "negative", "not_tested",
)  # fmt: skip
CALCINOSIS_TYPES = (
    "circumscripta", "tumoral", "universalis", "exoskeleton", "milk_of_calcium", "not_stated",
)  # fmt: skip
CALCINOSIS_TIMING = ("at_diagnosis", "cumulative", "current", "not_stated")
RESPONSES = ("complete", "partial", "none", "progression", "not_stated")
TIME_BASIS = ("exact", "by_visit", "not_stated")
CENSORING = ("exact", "interval", "right", "none")
DELAY_DEFINITIONS = ("onset_to_diagnosis", "onset_to_treatment", "untreated_duration", "not_stated")
DESIGNS = (
    "case_report", "case_series", "retrospective_cohort", "prospective_cohort",
    "inception_cohort", "registry", "cross_sectional", "trial", "not_stated",
)  # fmt: skip
SETTINGS = ("single_centre", "multicentre", "national", "international", "not_stated")
PUBLICATION_TYPES = ("article", "letter", "conference_abstract", "review")
SOURCE_LEVELS = ("abstract", "full_text")
SEXES = ("F", "M")
STATS = ("mean", "median", "not_stated")
SPREADS = ("sd", "iqr", "range")
ROUTES = ("iv", "oral", "topical", "intralesional", "subcutaneous", "not_stated")
DURATION_UNITS = {"days": 12 / 365.25, "weeks": 12 * 7 / 365.25, "months": 1.0, "years": 12.0}
"""Factor that converts a duration in the key's unit to months (a month is 365.25/12 days)."""
AGE_UNITS = {"days": 1 / 365.25, "weeks": 7 / 365.25, "months": 1 / 12, "years": 1.0}
"""Factor that converts an age in the key's unit to years."""

RECORD_REASONS = {
    "not_jdm": "another disease (adult dermatomyositis, scleroderma, kidney disease, ...)",
    "adult_only": "adults only",
    "no_calcinosis_data": "JDM, but no calcinosis count or therapy outcome",
    "same_children_as": "reports children already in the data (study_id names the other report)",
    "review_or_guideline": "review, guideline, textbook or survey of physicians",
    "no_outcome": "therapy given, outcome not stated in the text read",
    "text_not_readable": "no usable text, or the text stops before the numbers",
    "out_of_scope": "unrelated to calcinosis in JDM",
    "mixed_not_separable": "mixed series without separate numbers for the JDM children",
    "no_separate_counts": "an aggregate statement without numbers (\"most improved\")",
}
"""Coded reasons for excluding a record (PRISMA 2020), one per excluded record."""
HIT_DECISIONS = ("excluded_screening", "excluded_eligibility", "included")
RERUN_STATUS = ("rerun", "not_rerun", "no_results", "differs", "new")
SCREENING = ("duplicate", "excluded", "assessed")
ELIGIBILITY = ("excluded", "included")

MAX_CHILDREN = 100_000
"""Plausibility bound of any count of children in one source (the largest JDM registries hold a
few thousand children): a larger number is a typing error, not evidence. It bounds every count of
children or rows (n_patients, n_calcinosis, group sizes, n_treated, derived row counts)."""
MAX_MONTHS = 1200.0
"""Plausibility bound of any duration in months (100 years: longer than a life)."""
MAX_YEARS = 100.0
"""Plausibility bound of any age or duration in years."""

REGIONS = (
    "north_america", "latin_america", "europe", "middle_east_north_africa",
    "sub_saharan_africa", "south_asia", "east_asia", "southeast_asia", "oceania",
    "multinational", "not_stated",
)  # fmt: skip

_REGION_COUNTRIES = {
    "north_america": ("United States", "Canada"),
    "latin_america": (
        "Mexico",
        "Brazil",
        "Argentina",
        "Chile",
        "Colombia",
        "Peru",
        "Venezuela",
        "Uruguay",
        "Paraguay",
        "Bolivia",
        "Ecuador",
        "Cuba",
        "Costa Rica",
        "Guatemala",
        "Puerto Rico",
        "Panama",
        "Dominican Republic",
        "Honduras",
        "El Salvador",
        "Nicaragua",
        "Jamaica",
        "Trinidad and Tobago",
    ),
    "europe": (
        "United Kingdom",
        "Ireland",
        "France",
        "Germany",
        "Italy",
        "Spain",
        "Portugal",
        "Netherlands",
        "Belgium",
        "Luxembourg",
        "Switzerland",
        "Austria",
        "Denmark",
        "Norway",
        "Sweden",
        "Finland",
        "Iceland",
        "Poland",
        "Czechia",
        "Slovakia",
        "Hungary",
        "Slovenia",
        "Croatia",
        "Serbia",
        "Bosnia and Herzegovina",
        "Romania",
        "Bulgaria",
        "Greece",
        "Lithuania",
        "Latvia",
        "Estonia",
        "Russia",
        "Ukraine",
        "Belarus",
        "Cyprus",
        "Malta",
        "North Macedonia",
        "Albania",
        "Montenegro",
        "Moldova",
    ),
    "middle_east_north_africa": (
        "Turkey",
        "Israel",
        "Saudi Arabia",
        "Kuwait",
        "Oman",
        "Qatar",
        "Bahrain",
        "United Arab Emirates",
        "Iran",
        "Iraq",
        "Jordan",
        "Lebanon",
        "Syria",
        "Yemen",
        "Egypt",
        "Libya",
        "Tunisia",
        "Algeria",
        "Morocco",
        "Palestine",
    ),
    "sub_saharan_africa": (
        "South Africa",
        "Nigeria",
        "Kenya",
        "Ethiopia",
        "Ghana",
        "Uganda",
        "Tanzania",
        "Zimbabwe",
        "Zambia",
        "Senegal",
        "Cameroon",
        "Sudan",
        "Malawi",
        "Rwanda",
        "Democratic Republic of the Congo",
        "Ivory Coast",
        "Botswana",
        "Namibia",
        "Mozambique",
    ),
    "south_asia": ("India", "Pakistan", "Bangladesh", "Sri Lanka", "Nepal", "Afghanistan"),
    "east_asia": ("China", "Hong Kong", "Taiwan", "Japan", "South Korea", "Mongolia", "Macau"),
    "southeast_asia": (
        "Thailand",
        "Malaysia",
        "Singapore",
        "Vietnam",
        "Indonesia",
        "Philippines",
        "Myanmar",
        "Cambodia",
        "Laos",
        "Brunei",
    ),
    "oceania": ("Australia", "New Zealand", "Fiji", "Papua New Guinea"),
    "multinational": ("multinational",),
    "not_stated": ("not_stated",),
}
COUNTRY_REGION = {c: r for r, cs in _REGION_COUNTRIES.items() for c in cs}
COUNTRIES = tuple(sorted(COUNTRY_REGION))

THERAPY_CLASSES = {
    "bisphosphonate": "Bisphosphonates (alendronate, pamidronate, etidronate, zoledronate, ...)",
    "sodium_thiosulfate": "Sodium thiosulfate, any route",
    "calcium_channel_blocker": "Calcium channel blockers (diltiazem, nifedipine, ...)",
    "probenecid": "Probenecid",
    "aluminium_hydroxide": "Aluminium hydroxide",
    "colchicine": "Colchicine",
    "minocycline": "Minocycline and other tetracyclines",
    "warfarin": "Warfarin (low dose)",
    "thalidomide": "Thalidomide",
    "cimetidine": "Cimetidine (H2-receptor antagonist)",
    "ivig": "Intravenous immunoglobulin",
    "cyclophosphamide": "Cyclophosphamide",
    "tnf_inhibitor": "TNF inhibitors (infliximab, etanercept, adalimumab, ...)",
    "rituximab": "Rituximab",
    "abatacept": "Abatacept",
    "jak_inhibitor": "JAK inhibitors (tofacitinib, baricitinib, ruxolitinib, ...)",
    "il1_inhibitor": "IL-1 blockade (anakinra, canakinumab)",
    "il6_inhibitor": "IL-6 blockade (tocilizumab)",
    "glucocorticoid": "Systemic glucocorticoids (oral or pulse)",
    "intralesional_glucocorticoid": "Glucocorticoid injected into the lesion",
    "conventional_immunosuppressant": "Methotrexate, ciclosporin, mycophenolate, tacrolimus, ...",
    "antimalarial": "Hydroxychloroquine, chloroquine",
    "surgery": "Surgical excision, drainage, curettage or debridement",
    "lithotripsy": "Extracorporeal shock-wave lithotripsy",
    "stem_cell_transplant": "Autologous or allogeneic haematopoietic stem-cell transplantation",
    "physical_therapy": "Physiotherapy, laser or other physical treatment",
    "other": "Any other agent (named in `agents`)",
    "combination": "A course that started agents of two or more classes together",
}

AGENT_CLASS = {
    # bisphosphonates
    "alendronate": "bisphosphonate", "alendronic acid": "bisphosphonate",
    "pamidronate": "bisphosphonate", "etidronate": "bisphosphonate",
    "zoledronate": "bisphosphonate", "zoledronic acid": "bisphosphonate",
    "risedronate": "bisphosphonate", "ibandronate": "bisphosphonate",
    "bisphosphonate": "bisphosphonate", "bisphosphonates": "bisphosphonate",
    "neridronate": "bisphosphonate", "clodronate": "bisphosphonate",
    "ethanehydroxydiphosphonate": "bisphosphonate", "ehdp": "bisphosphonate",
    "disodium etidronate": "bisphosphonate",
    # sodium thiosulfate
    "sodium thiosulfate": "sodium_thiosulfate", "sodium thiosulphate": "sodium_thiosulfate",
    "sts": "sodium_thiosulfate", "thiosulfate": "sodium_thiosulfate",
    "topical sodium thiosulfate": "sodium_thiosulfate",
    "intralesional sodium thiosulfate": "sodium_thiosulfate",
    "intravenous sodium thiosulfate": "sodium_thiosulfate",
    # calcium channel blockers
    "diltiazem": "calcium_channel_blocker", "nifedipine": "calcium_channel_blocker",
    "verapamil": "calcium_channel_blocker", "amlodipine": "calcium_channel_blocker",
    "calcium channel blocker": "calcium_channel_blocker",
    "calcium channel blockers": "calcium_channel_blocker",
    # others
    "probenecid": "probenecid",
    "aluminium hydroxide": "aluminium_hydroxide", "aluminum hydroxide": "aluminium_hydroxide",
    "colchicine": "colchicine",
    "minocycline": "minocycline", "doxycycline": "minocycline",
    "warfarin": "warfarin",
    "thalidomide": "thalidomide",
    "cimetidine": "cimetidine",
    "ivig": "ivig", "intravenous immunoglobulin": "ivig", "immunoglobulin": "ivig",
    "intravenous immune globulin": "ivig", "scig": "ivig",
    "subcutaneous immunoglobulin": "ivig",
    "cyclophosphamide": "cyclophosphamide",
    "infliximab": "tnf_inhibitor", "etanercept": "tnf_inhibitor", "adalimumab": "tnf_inhibitor",
    "certolizumab": "tnf_inhibitor", "golimumab": "tnf_inhibitor",
    "anti-tnf alpha agent": "tnf_inhibitor", "anti-tnf agent": "tnf_inhibitor",
    "tnf inhibitor": "tnf_inhibitor",
    "rituximab": "rituximab",
    "abatacept": "abatacept",
    "tofacitinib": "jak_inhibitor", "baricitinib": "jak_inhibitor",
    "ruxolitinib": "jak_inhibitor", "upadacitinib": "jak_inhibitor",
    "anakinra": "il1_inhibitor", "canakinumab": "il1_inhibitor",
    "tocilizumab": "il6_inhibitor",
    "prednisone": "glucocorticoid", "prednisolone": "glucocorticoid",
    "methylprednisolone": "glucocorticoid", "pulse methylprednisolone": "glucocorticoid",
    "intravenous methylprednisolone": "glucocorticoid", "corticosteroids": "glucocorticoid",
    "corticosteroid": "glucocorticoid", "glucocorticoids": "glucocorticoid",
    "steroids": "glucocorticoid", "dexamethasone": "glucocorticoid",
    "intralesional corticosteroid": "intralesional_glucocorticoid",
    "intralesional triamcinolone": "intralesional_glucocorticoid",
    "triamcinolone": "intralesional_glucocorticoid",
    "methotrexate": "conventional_immunosuppressant",
    "cyclosporine": "conventional_immunosuppressant",
    "ciclosporin": "conventional_immunosuppressant",
    "cyclosporin": "conventional_immunosuppressant",
    "mycophenolate": "conventional_immunosuppressant",
    "mycophenolate mofetil": "conventional_immunosuppressant",
    "tacrolimus": "conventional_immunosuppressant",
    "azathioprine": "conventional_immunosuppressant",
    "sirolimus": "conventional_immunosuppressant",
    "hydroxychloroquine": "antimalarial", "chloroquine": "antimalarial",
    "surgery": "surgery", "surgical excision": "surgery", "excision": "surgery",
    "surgical drainage": "surgery", "drainage": "surgery", "debridement": "surgery",
    "curettage": "surgery", "aspiration": "surgery", "surgical removal": "surgery",
    "ultrasound-guided drainage": "surgery",
    "lithotripsy": "lithotripsy", "shock-wave lithotripsy": "lithotripsy",
    "shock wave lithotripsy": "lithotripsy",
    "extracorporeal shock wave lithotripsy": "lithotripsy",
    "extracorporeal shock-wave lithotripsy": "lithotripsy", "eswl": "lithotripsy",
    "autologous stem cell transplantation": "stem_cell_transplant",
    "hematopoietic stem cell transplantation": "stem_cell_transplant",
    "stem cell transplantation": "stem_cell_transplant",
    "physiotherapy": "physical_therapy", "co2 laser": "physical_therapy",
}  # fmt: skip
"""Agent name (lower case, as typed in ``agents``) → therapy class."""


def normalise_agent(name: str) -> str:
    """Lower-case an agent name and collapse whitespace (``" IVIG "`` → ``"ivig"``)."""
    return re.sub(r"\s+", " ", name.strip().lower())


def split_agents(text: str) -> list[str]:
    """Split the raw ``agents`` text on ``;`` (or `` + ``) into normalised agent names."""
    parts = re.split(r"\s*(?:;|\+)\s*", text or "")
    return [normalise_agent(p) for p in parts if p.strip()]


def therapy_class_of(agent: str) -> str | None:
    """Return the therapy class of one agent name, or ``None`` when it is not in the vocabulary."""
    return AGENT_CLASS.get(normalise_agent(agent))


def region_of(country: str) -> str | None:
    """Return the region of a country name in :data:`COUNTRIES`, or ``None``."""
    return COUNTRY_REGION.get(country)


def did_you_mean(value: str, choices) -> str:
    """A ``" (did you mean 'x'?)"`` hint for a near-miss vocabulary value, or ``""``."""
    import difflib

    lowered = {str(c).lower(): str(c) for c in choices}
    match = difflib.get_close_matches(str(value).lower(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean '{lowered[match[0]]}'?)" if match else ""


# --------------------------------------------------------------------------------------------
# Harmonised tables
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a harmonised table.

    ``type`` is a Frictionless type (string, integer, number, boolean, date). ``vocab`` lists
    the allowed values; ``multi`` means the cell holds several ``;``-separated values.
    """

    name: str
    type: str
    description: str
    unit: str | None = None
    required: bool = False
    unique: bool = False
    vocab: tuple[str, ...] | None = None
    multi: bool = False
    minimum: float | None = None
    maximum: float | None = None
    inherited: bool = False
    """Copied from the studies table by the harmoniser (checked there, not again per row)."""


@dataclass(frozen=True)
class Table:
    """A harmonised table: its file name, columns, primary key and foreign keys."""

    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: str | None = None
    foreign_keys: tuple[tuple[str, str, str], ...] = field(default=())  # (column, table, column)

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _provenance() -> tuple[Column, ...]:
    return (
        Column("url", "string", "Page where the numbers were read (URL or DOI required)."),
        Column("doi", "string", "DOI of the source, bare (10.xxxx/...)."),
        Column("locator", "string", "Where in the source the numbers are.", required=True),
        Column("notes", "string", "Curator's short paraphrased notes."),
    )


def _measure(name: str, label: str, unit: str, *, group_n: bool = False) -> tuple[Column, ...]:
    """Columns for a summary measure: value, statistic, SD or spread (IQR/range), raw unit."""
    lo, hi = 0.0, MAX_MONTHS if unit == "months" else MAX_YEARS
    cols = [
        Column(f"{name}_{unit}", "number", f"{label}, converted to {unit}.", unit=unit, minimum=lo,
               maximum=hi),
        Column(f"{name}_stat", "string", f"Statistic of {name}_{unit}.", vocab=STATS),
        Column(f"{name}_sd_{unit}", "number", f"SD of {label}.", unit=unit, minimum=lo,
               maximum=hi),
        Column(f"{name}_spread", "string", f"Kind of interval in {name}_low/high.", vocab=SPREADS),
        Column(f"{name}_low_{unit}", "number", f"Lower end of the IQR or range of {label}.",
               unit=unit, minimum=lo, maximum=hi),
        Column(f"{name}_high_{unit}", "number", f"Upper end of the IQR or range of {label}.",
               unit=unit, minimum=lo, maximum=hi),
        Column(f"{name}_unit_raw", "string", f"Unit in which {label} was reported.",
               vocab=tuple(DURATION_UNITS)),
    ]  # fmt: skip
    if group_n:
        cols.append(Column(f"{name}_n", "integer", f"Group size for {label}.", minimum=0,
                           maximum=MAX_CHILDREN))
    return tuple(cols)


STUDIES = Table(
    "studies",
    "One row per published source (article, letter or conference abstract).",
    (
        Column("study_id", "string", "FirstauthorYYYY (+a/b).", required=True, unique=True),
        Column("first_author", "string", "Family name of the first author; blank when no author "
               "list was in the text read (the study_id then names the cohort, e.g. "
               "CarraLegacy2018, and the DOI identifies the source)."),
        Column("year", "integer", "Publication year; blank only when no page read gives it "
               "(the study_id then ends in ND).", minimum=1900, maximum=2100),
        Column("title", "string", "Title of the source.", required=True),
        Column("journal", "string", "Journal or meeting."),
        Column("publication_type", "string", "Kind of publication.", vocab=PUBLICATION_TYPES),
        Column("country", "string", "Country of the patients, or multinational.", required=True,
               vocab=COUNTRIES),
        Column("countries", "string", "Countries of a multinational source (;-separated)."),
        Column("region", "string", "Region derived from country.", vocab=REGIONS),
        Column("design", "string", "Study design.", required=True, vocab=DESIGNS),
        Column("setting", "string", "Setting.", vocab=SETTINGS),
        Column("period_start", "integer", "First year of enrolment.", minimum=1900, maximum=2100),
        Column("period_end", "integer", "Last year of enrolment.", minimum=1900, maximum=2100),
        Column("source_level", "string", "What the curator read.", required=True,
               vocab=SOURCE_LEVELS),
        Column("overlaps_with", "string", "study_id of a source reporting the same patients."),
        Column("n_cohorts", "integer", "Cohort rows from this source (derived).", minimum=0,
               maximum=MAX_CHILDREN),
        Column("n_case_patients", "integer", "Patient rows from this source (derived).",
               minimum=0, maximum=MAX_CHILDREN),
        Column("n_arms", "integer", "Therapy-arm rows from this source (derived).", minimum=0,
               maximum=MAX_CHILDREN),
        Column("extracted_by", "string", "Who extracted the source."),
        Column("extracted_on", "date", "Date of extraction (YYYY-MM-DD, not in the future)."),
        *_provenance(),
    ),
    primary_key="study_id",
)  # fmt: skip

COHORTS = Table(
    "cohorts",
    "One row per cohort of children with JDM with a count of calcinosis.",
    (
        Column("cohort_id", "string", "Cohort identifier.", required=True, unique=True),
        Column("study_id", "string", "Source.", required=True),
        Column("label", "string", "Short description of the cohort."),
        Column("n_patients", "integer", "Children with JDM.", required=True, minimum=1,
               maximum=MAX_CHILDREN),
        Column("n_calcinosis", "integer", "Children with calcinosis (blank: not stated; then the "
               "cohort is out of the primary analysis).", minimum=0, maximum=MAX_CHILDREN),
        Column("calcinosis_pct", "number", "Percentage stated by the source.", unit="percent",
               minimum=0, maximum=100),
        Column("n_calcinosis_derived", "boolean", "Count derived from a stated percentage."),
        Column("count_pct_disagree", "boolean", "Source's count and percentage disagree (noted)."),
        Column("calcinosis_timing", "string", "What the count means.", required=True,
               vocab=CALCINOSIS_TIMING),
        *_measure("age_onset", "age at onset", "years"),
        *_measure("followup", "follow-up", "months"),
        *_measure("delay", "diagnostic delay", "months"),
        Column("delay_definition", "string", "What the delay measures.", vocab=DELAY_DEFINITIONS),
        *_measure("delay_calc", "delay in children with calcinosis", "months", group_n=True),
        *_measure("delay_nocalc", "delay in children without calcinosis", "months", group_n=True),
        Column("delay_or", "number", "Odds ratio for calcinosis by delay.", minimum=0),
        Column("delay_or_ci_low", "number", "Lower CI limit of delay_or.", minimum=0),
        Column("delay_or_ci_high", "number", "Upper CI limit of delay_or.", minimum=0),
        Column("delay_or_level", "number", "Confidence level of the OR CI.", minimum=0,
               maximum=1),
        Column("delay_or_contrast", "string", "What the OR compares (e.g. per month)."),
        Column("delay_or_adjusted", "boolean", "Whether the OR is adjusted."),
        Column("include_primary", "boolean", "In the primary prevalence analysis.",
               required=True),
        Column("exclusion_reason", "string", "Why not in the primary analysis."),
        Column("overlaps_with", "string", "Cohort reporting the same children."),
        Column("year", "integer", "Publication year (from studies).", inherited=True, minimum=1900,
               maximum=2100),
        Column("country", "string", "Country (from studies).", inherited=True, vocab=COUNTRIES),
        Column("region", "string", "Region (from studies).", inherited=True, vocab=REGIONS),
        Column("design", "string", "Design (from studies).", inherited=True, vocab=DESIGNS),
        Column("period_start", "integer", "First year of enrolment (from studies).", inherited=True,
               minimum=1900, maximum=2100),
        Column("period_end", "integer", "Last year of enrolment (from studies).", inherited=True, minimum=1900,
               maximum=2100),
        Column("source_level", "string", "From studies.", inherited=True, vocab=SOURCE_LEVELS),
        *_provenance(),
    ),
    primary_key="cohort_id",
    foreign_keys=(("study_id", "studies", "study_id"),),
)  # fmt: skip

PATIENTS = Table(
    "patients",
    "One row per individual patient with calcinosis from a case report or case series.",
    (
        Column("patient_id", "string", "study_id + _ + patient label.", required=True,
               unique=True),
        Column("study_id", "string", "Source.", required=True),
        Column("patient_label", "string", "Label in the source (P1 = patient 1).",
               required=True),
        Column("sex", "string", "Sex.", vocab=SEXES),
        Column("age_onset_years", "number", "Age at first JDM symptoms.", unit="years",
               minimum=0, maximum=18),
        Column("age_onset_derived", "boolean", "Age at onset derived from other numbers."),
        Column("age_diagnosis_years", "number", "Age at JDM diagnosis.", unit="years",
               minimum=0, maximum=21),
        Column("delay_months", "number", "Diagnostic delay.", unit="months", minimum=0,
               maximum=MAX_MONTHS),
        Column("delay_definition", "string", "What the delay measures.", vocab=DELAY_DEFINITIONS),
        Column("antibody", "string", "Myositis-specific antibody.", vocab=ANTIBODIES),
        Column("calcinosis", "boolean", "Has calcinosis.", required=True),
        Column("calcinosis_type", "string", "Types (;-separated).", vocab=CALCINOSIS_TYPES,
               multi=True),
        Column("calcinosis_sites", "string", "Sites, as text."),
        Column("n_episodes", "integer", "Therapy episodes of the patient (derived).", minimum=0,
               maximum=MAX_CHILDREN),
        Column("country", "string", "Country (from studies).", inherited=True, vocab=COUNTRIES),
        Column("year", "integer", "Publication year (from studies).", inherited=True, minimum=1900,
               maximum=2100),
        Column("source_level", "string", "From studies.", inherited=True, vocab=SOURCE_LEVELS),
        *_provenance(),
    ),
    primary_key="patient_id",
    foreign_keys=(("study_id", "studies", "study_id"),),
)  # fmt: skip

EPISODES = Table(
    "episodes",
    "One row per therapy course given for calcinosis.",
    (
        Column("episode_id", "string", "patient_id + _E + sequence.", required=True,
               unique=True),
        Column("patient_id", "string", "Patient.", required=True),
        Column("study_id", "string", "Source.", required=True),
        Column("sequence", "integer", "Order of the course for the patient.", required=True,
               minimum=1),
        Column("agents", "string", "Agents as reported (;-separated).", required=True),
        Column("therapy_class", "string", "Class (derived from agents unless overridden).",
               required=True, vocab=tuple(THERAPY_CLASSES)),
        Column("therapy_classes", "string", "Classes of all agents (;-separated).",
               vocab=tuple(THERAPY_CLASSES), multi=True),
        Column("route", "string", "Route.", vocab=ROUTES),
        Column("concomitant", "string", "Therapies continued from before."),
        Column("start_months", "number", "Start of the course after JDM diagnosis.",
               unit="months", minimum=0,
               maximum=MAX_MONTHS),
        Column("response", "string", "Response of the calcinosis.", required=True,
               vocab=RESPONSES),
        Column("response_words", "string", "Authors' key word(s) behind the coding."),
        Column("regressed", "boolean", "complete or partial (blank when not stated)."),
        Column("complete", "boolean", "complete regression (blank when not stated)."),
        Column("time_basis", "string", "How the time was reported.", required=True,
               vocab=TIME_BASIS),
        Column("time_lower_months", "number", "Lower end of the time to regression or "
               "censoring time.", unit="months", minimum=0,
               maximum=MAX_MONTHS),
        Column("time_upper_months", "number", "Upper end of the time to regression; blank "
               "when right-censored.", unit="months", minimum=0,
               maximum=MAX_MONTHS),
        Column("censoring", "string", "exact, interval, right, or none (no usable time).",
               required=True, vocab=CENSORING),
        Column("followup_months", "number", "Course start to last assessment.", unit="months",
               minimum=0,
               maximum=MAX_MONTHS),
        Column("country", "string", "Country (from studies).", inherited=True, vocab=COUNTRIES),
        Column("year", "integer", "Publication year (from studies).", inherited=True, minimum=1900,
               maximum=2100),
        Column("source_level", "string", "From studies.", inherited=True, vocab=SOURCE_LEVELS),
        *_provenance(),
    ),
    primary_key="episode_id",
    foreign_keys=(("patient_id", "patients", "patient_id"), ("study_id", "studies", "study_id")),
)  # fmt: skip

ARMS = Table(
    "arms",
    "One row per therapy arm: a treated group that a source reports only as totals "
    "(\"5 of 8 improved on pamidronate\").",
    (
        Column("arm_id", "string", "study_id + _A + sequence (or the extraction's arm_id).",
               required=True, unique=True),
        Column("study_id", "string", "Source.", required=True),
        Column("cohort_id", "string", "Cohort of the same source the arm is drawn from, if any."),
        Column("label", "string", "Short description of the arm."),
        Column("agents", "string", "Agents as reported (;-separated).", required=True),
        Column("therapy_class", "string", "Class (derived from agents unless overridden).",
               required=True, vocab=tuple(THERAPY_CLASSES)),
        Column("therapy_classes", "string", "Classes of all agents (;-separated).",
               vocab=tuple(THERAPY_CLASSES), multi=True),
        Column("route", "string", "Route.", vocab=ROUTES),
        Column("n_treated", "integer", "JDM children with calcinosis given the therapy.",
               required=True, minimum=1, maximum=MAX_CHILDREN),
        Column("n_complete", "integer", "Of them, complete regression (blank: not stated).",
               minimum=0, maximum=MAX_CHILDREN),
        Column("n_partial", "integer", "Partial regression (improved, reduced).", minimum=0,
               maximum=MAX_CHILDREN),
        Column("n_none", "integer", "No change.", minimum=0, maximum=MAX_CHILDREN),
        Column("n_progression", "integer", "Worsened.", minimum=0, maximum=MAX_CHILDREN),
        Column("n_not_stated", "integer", "Outcome not stated.", minimum=0, maximum=MAX_CHILDREN),
        Column("n_responded", "integer", "Any regression, when the source does not split "
               "complete from partial (then both are blank).", minimum=0,
               maximum=MAX_CHILDREN),
        Column("n_responders", "integer", "Any regression: n_complete + n_partial, or "
               "n_responded (derived; blank when neither is stated).", minimum=0,
               maximum=MAX_CHILDREN),
        Column("n_assessed", "integer", "Children with a stated outcome: n_treated - "
               "n_not_stated (derived; blank when the counts are incomplete).", minimum=0,
               maximum=MAX_CHILDREN),
        Column("response_words", "string", "Authors' key word(s) behind the counts."),
        *_measure("followup", "follow-up from the start of the therapy", "months"),
        *_measure("time", "time from the start of the therapy to response", "months"),
        Column("time_basis", "string", "How the time to response was reported.",
               vocab=TIME_BASIS),
        Column("overlaps_with", "string", "patient_ids (;-separated) of case patients in the "
               "data who are among these children (counted once, as patients)."),
        Column("n_overlap", "integer", "How many patients overlaps_with names (derived).",
               minimum=0, maximum=MAX_CHILDREN),
        Column("country", "string", "Country (from studies).", inherited=True, vocab=COUNTRIES),
        Column("year", "integer", "Publication year (from studies).", inherited=True, minimum=1900,
               maximum=2100),
        Column("source_level", "string", "From studies.", inherited=True, vocab=SOURCE_LEVELS),
        *_provenance(),
    ),
    primary_key="arm_id",
    foreign_keys=(("study_id", "studies", "study_id"), ("cohort_id", "cohorts", "cohort_id")),
)  # fmt: skip

RECORDS = Table(
    "records",
    "One row per distinct record (page) the logged searches returned, de-duplicated, with its "
    "screening and eligibility decision (PRISMA 2020).",
    (
        Column("url_key", "string", "Normalised address of the page (scheme, www. and trailing "
               "slash removed).", required=True, unique=True),
        Column("record_id", "string", "Normalised identifier of the article: doi:..., else "
               "pmid:..., else url:... (mirrors of one article share it).", required=True),
        Column("url", "string", "Address as the search returned it (first seen; blank when the "
               "search showed a result without an address)."),
        Column("title", "string", "Title as shown."),
        Column("doi", "string", "DOI, when visible."),
        Column("pmid", "string", "PubMed id, when visible."),
        Column("query_ids", "string", "search_log queries that returned this page "
               "(;-separated).", required=True),
        Column("n_hits", "integer", "How often the queries returned this page.", required=True,
               minimum=1),
        Column("duplicate_of", "string", "url_key of the first-seen page of the same article "
               "(this page is a duplicate, removed before screening)."),
        Column("screening", "string", "duplicate (removed before screening), excluded (on "
               "title and abstract) or assessed.", required=True, vocab=SCREENING),
        Column("eligibility", "string", "For assessed records: included or excluded.",
               vocab=ELIGIBILITY),
        Column("reason", "string", "Coded reason of an exclusion.", vocab=tuple(RECORD_REASONS)),
        Column("study_id", "string", "Source the record became (included), or the source "
               "already holding its children (same_children_as)."),
        Column("origin", "string", "hits (a re-run or new query returned it) or search_log (the "
               "included source of a logged query that was not re-run).", required=True,
               vocab=("hits", "search_log")),
        Column("note", "string", "Curator's note."),
    ),
    primary_key="url_key",
)  # fmt: skip

HITS = Table(
    "search_hits",
    "Input (typed by the curators, data/search/hits.csv): one row per result of a query.",
    (
        Column("query_id", "string", "search_log query.", required=True),
        Column("rank", "integer", "Position in the results.", required=True, minimum=1),
        Column("url", "string", "Address as returned (blank when none was shown: the record "
               "is then identified by its query and rank)."),
        Column("title", "string", "Title as shown."),
        Column("doi", "string", "DOI, when visible."),
        Column("pmid", "string", "PubMed id, when visible."),
        Column("decision", "string", "Screening decision.", required=True, vocab=HIT_DECISIONS),
        Column("reason", "string", "Coded reason (required unless included).",
               vocab=tuple(RECORD_REASONS)),
        Column("study_id", "string", "Source, for included (or same_children_as)."),
        Column("note", "string", "Curator's note."),
    ),
)  # fmt: skip

RERUNS = Table(
    "search_reruns",
    "Input (data/search/reruns.csv): whether each logged query was run again and matched.",
    (
        Column("query_id", "string", "search_log query.", required=True, unique=True),
        Column("status", "string", "rerun, not_rerun (not run again), no_results, differs "
               "(results no longer match the log), new (first run in this log).",
               required=True, vocab=RERUN_STATUS),
        Column("n_results", "integer", "Results returned by the re-run.", minimum=0),
        Column("note", "string", "Curator's note."),
    ),
    primary_key="query_id",
)  # fmt: skip

EXCLUSIONS = Table(
    "exclusions",
    "Every record an analysis cannot use, with the reason.",
    (
        Column("table", "string", "Table of the record.", required=True,
               vocab=("studies", "cohorts", "patients", "episodes", "arms")),
        Column("record_id", "string", "Identifier of the record.", required=True),
        Column("study_id", "string", "Source.", required=True),
        Column("analysis", "string", "Analysis the record is left out of.", required=True,
               vocab=("prevalence_primary", "response_proportion", "time_to_regression",
                      "delay_groups", "delay_metareg", "response_pooled")),
        Column("reason", "string", "Why.", required=True),
    ),
)  # fmt: skip

SEARCH_LOG = Table(
    "search_log",
    "Every literature query with its yield (PRISMA 2020 identification and screening).",
    (
        Column("query_id", "string", "Identifier.", required=True, unique=True),
        Column("date", "date", "Date of the query.", required=True),
        Column("database", "string", "Where the query was run.", required=True),
        Column("query", "string", "Query text.", required=True),
        Column("records_found", "integer", "Records returned.", required=True, minimum=0),
        Column("records_screened", "integer", "Records screened.", required=True, minimum=0),
        Column("records_included", "integer", "New sources included.", required=True, minimum=0),
        Column("included_ids", "string", "study_ids included (;-separated)."),
        Column("records_excluded", "integer", "Relevant records excluded.", minimum=0),
        Column("exclusion_reasons", "string", "Reasons, with counts (free text, as logged)."),
        Column("rerun", "string", "Whether the query was run again for the records log.",
               vocab=RERUN_STATUS),
    ),
    primary_key="query_id",
)  # fmt: skip

TABLES: dict[str, Table] = {
    t.name: t for t in (STUDIES, COHORTS, PATIENTS, EPISODES, ARMS, EXCLUSIONS, SEARCH_LOG,
                           RECORDS)
}
"""The harmonised tables, in dependency order."""

STUDY_ID_PATTERN = re.compile(r"^[A-Z][A-Za-z]+(?:[0-9]{4}|ND)[a-z]?$")
"""``FirstauthorYYYY`` (optional a/b suffix), or ``FirstauthorND`` when no page read gives the
publication year (``year`` is then blank: a missing year is a note, never a reason to exclude)."""

STUDY_ID_IN_TEXT = re.compile(r"\b[A-Z][A-Za-z]+(?:[0-9]{4}|ND)[a-z]?\b")
"""A study_id inside free text (the ``included_ids`` of a search-log row, say)."""
OTHER_METHODS = r"seed|other method|citation|reference list|hand search"
"""A search-log row whose ``database`` matches this (case-insensitive) is identification by
other methods (PRISMA 2020's second column), e.g. the seed reports the project started from."""


def study_label(study_id) -> str:
    """``"Pachman1998"`` -> ``"Pachman 1998"``, ``"ShehataND"`` -> ``"Shehata n.d."`` (no year
    stated), ``"Wang2021_B"`` -> ``"Wang 2021 B"``; other ids are kept as they are."""
    m = re.match(r"^([A-Za-z]+?)(\d{4}|ND(?=[a-z]?(?:_|$)))([a-z]?)(.*)$", str(study_id))
    if not m:
        return str(study_id)
    year = "n.d." if m.group(2) == "ND" else m.group(2)
    return f"{m.group(1)} {year}{m.group(3)}{m.group(4).replace('_', ' ')}"

PLACEHOLDER = "TODO"
"""A value still to be filled in an extraction file (the skeletons of ``jdmstats new``): every
one left is a validation problem."""
