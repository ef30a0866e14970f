"""Which tables and figures each question writes: one step per question for ``jdmstats run``.

Every step has the form ``step(tables, out, progress=None) -> list[Path]``: it computes the
question's results (layer 3, :mod:`jdmstats.questions`), draws the figures from those results
(layer 4, :mod:`jdmstats.plots`, which never fit) and writes both under ``out/tables`` and
``out/figures``. Impossible analyses leave a row whose ``note`` says why, never a crash.

Each step of :data:`STEPS` is a :class:`Step`: one analysis, then independent parts that each
write some of the files from its result. Called, a step runs them in order; the runner may run
the parts of a step in parallel (:mod:`jdmstats.outputs.runner`), with the same files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from jdmstats.evidence.schema import study_label
from jdmstats.outputs.tables import as_written, write_table

__all__ = ["STEPS", "COST", "STEP_OPTIONS", "OPTION_DEFAULTS", "Step", "step_descriptive",
           "step_prevalence", "step_delay", "step_response", "step_prisma"]  # fmt: skip

STEP_OPTIONS = {"response": ("bootstrap_reps", "seed")}
"""The analysis options (keyword arguments) each step takes; the others take none."""

OPTION_DEFAULTS = {"bootstrap_reps": 500, "seed": 20240611}
"""Defaults of the options: the values the committed ``tables/`` and ``figures/`` were made with
(those of :func:`jdmstats.questions.response.analyse`)."""


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


@dataclass(frozen=True)
class Step:
    """One question's outputs: ``analyse``, then ``parts`` that write files from its result.

    ``analyse(tables, progress=None, **options)`` returns the question's result (a picklable
    object: the runner may hand it to another process); each part ``(name, write)`` writes
    files from it, ``write(result, out) -> list[Path]``, independently of the other parts.
    Calling the step runs the analysis and then every part, in order, and returns the files in
    that order. ``modules`` are the modules its analysis imports and ``part_modules`` those
    its parts import: a parallel run imports them once, before it forks its workers, instead
    of once in every worker (the analysis of the longest step starts once its ``modules`` are
    imported, while the rest are).
    """

    name: str
    analyse: Callable
    parts: tuple[tuple[str, Callable], ...]
    modules: tuple[str, ...] = ()
    part_modules: tuple[str, ...] = ()

    def __call__(self, tables: dict[str, pd.DataFrame], out: Path, progress=None,
                 **options) -> list[Path]:  # fmt: skip
        result = self.analyse(tables, progress=progress, **options)
        return [path for _, write in self.parts for path in write(result, Path(out))]


def _save(fig, path: Path) -> list[Path]:
    from jdmstats.plots import style

    written = style.save(fig, path)
    _pyplot().close(fig)
    return written


# --------------------------------------------------------------------------------- descriptive
def _descriptive_analyse(tables, progress=None):
    from jdmstats.questions import descriptive

    return descriptive.describe(tables)


def _descriptive_tables(res, out: Path) -> list[Path]:
    return [write_table(df, out / "tables" / f"{name}.csv") for name, df in res.items()]


def step_descriptive(tables: dict[str, pd.DataFrame], out: Path, progress=None) -> list[Path]:
    """Descriptive tables of the sources, case patients and therapy episodes."""
    return STEPS["descriptive"](tables, out, progress)


# --------------------------------------------------------------------------------- prevalence
_BUBBLE_X = {"year": "Publication year", "followup_months": "Follow-up (months)",
             "delay_mean_months": "Mean diagnostic delay (months)"}  # fmt: skip


def _prevalence_analyse(tables, progress=None):
    from jdmstats.questions import prevalence

    return prevalence.analyse(tables["cohorts"])


def _prevalence_tables(res, out: Path) -> list[Path]:
    tdir = out / "tables"
    return [write_table(df, tdir / f"{name}.csv") for name, df in (
        ("prevalence", res.models.table), ("prevalence_cohorts", res.cohorts),
        ("prevalence_subgroups", res.subgroups), ("prevalence_small_study", res.small_study),
        ("prevalence_metareg", res.metareg), ("prevalence_leave1out", res.leave1out),
        ("prevalence_exclusions", res.exclusions))]  # fmt: skip


def _prevalence_bayes(res, out: Path) -> list[Path]:
    from jdmstats.questions import bayes_sensitivity

    table = bayes_sensitivity.prevalence_sensitivity(res.subgroups, res.data)
    return [write_table(table, out / "tables" / "bayes_sensitivity_prevalence.csv")]


def _prevalence_figure(draw: Callable) -> Callable:
    """A part drawing one prevalence figure (none for fewer than two cohorts or no GLMM)."""

    def part(res, out: Path) -> list[Path]:
        from jdmstats.plots import style

        glmm = res.models.fits.get("glmm_primary")
        if glmm is None or len(res.data) < 2:
            return []
        with style.context():
            return draw(res, glmm, out / "figures")

    part.__name__ = part.__qualname__ = draw.__name__
    return part


def _prevalence_forest(res, glmm, fdir: Path) -> list[Path]:
    from jdmstats.plots import style
    from jdmstats.plots.forests import forest, forest_height

    data, iv = res.data, res.models.fits.get("iv_logit_reml_knha")
    fig, ax = style.figure("double", forest_height(len(data), n_pooled=2))
    forest(glmm, ax=ax, extra_pooled=[iv] if iv is not None else None, sort_by="year",
           years=data["year"].to_numpy(dtype=float))  # fmt: skip
    return _save(fig, fdir / "prevalence_forest")


def _prevalence_forest_region(res, glmm, fdir: Path) -> list[Path]:
    from jdmstats.plots import style
    from jdmstats.plots.forests import forest, forest_height

    data = res.data
    fig, ax = style.figure("double", forest_height(len(data), n_groups=data["region"].nunique()))
    forest(glmm, ax=ax, groups=data["region"].to_numpy(), subgroup_fits=res.region_fits,
           sort_by="estimate")  # fmt: skip
    return _save(fig, fdir / "prevalence_forest_region")


def _prevalence_funnel(res, glmm, fdir: Path) -> list[Path]:
    from jdmstats.plots import style
    from jdmstats.plots.diagnostics import funnel

    fig, ax = style.figure("single")
    funnel(glmm, ax=ax, against="n")
    return _save(fig, fdir / "prevalence_funnel")


def _prevalence_bubble(mod: str) -> Callable:
    def bubble_plot(res, glmm, fdir: Path) -> list[Path]:
        from jdmstats.plots import style
        from jdmstats.plots.diagnostics import bubble

        if mod not in res.metareg_fits:
            return []
        reg, used = res.metareg_fits[mod]
        fig, ax = style.figure("single")
        bubble(reg, ax=ax, labels=list(used["label"]), xlabel=_BUBBLE_X[mod],
               ylabel="Prevalence of calcinosis", scale="proportion")  # fmt: skip
        return _save(fig, fdir / f"prevalence_bubble_{mod}")

    bubble_plot.__name__ = f"_prevalence_bubble_{mod}"
    return bubble_plot


def _prevalence_leave1out(res, glmm, fdir: Path) -> list[Path]:
    from jdmstats.plots import style
    from jdmstats.plots.diagnostics import leave_one_out_plot
    from jdmstats.plots.forests import forest_height

    loo = res.leave1out
    if "glmm_estimate" not in loo.columns:
        return []
    fig, ax = style.figure("single", forest_height(len(res.data), n_pooled=1, row=0.11))
    leave_one_out_plot(loo["omitted"], as_written(loo["glmm_estimate"]),
                       as_written(loo["glmm_ci_low"]), as_written(loo["glmm_ci_high"]),
                       overall=as_written(glmm.estimate), ax=ax, percent=True)  # fmt: skip
    return _save(fig, fdir / "prevalence_leave1out")


def _prevalence_baujat(res, glmm, fdir: Path) -> list[Path]:
    from jdmstats.plots import style
    from jdmstats.plots.diagnostics import baujat_plot

    if res.baujat is None:
        return []
    fig, ax = style.figure("single")
    baujat_plot(res.baujat, ax=ax)
    return _save(fig, fdir / "prevalence_baujat")


def step_prevalence(tables: dict[str, pd.DataFrame], out: Path, progress=None) -> list[Path]:
    """Question 1: ``prevalence.csv`` (one row per model), ``prevalence_cohorts.csv`` (the
    analysis set with exact CIs), ``prevalence_subgroups.csv``, ``prevalence_small_study.csv``,
    ``prevalence_metareg.csv``, ``prevalence_leave1out.csv``, ``prevalence_exclusions.csv``,
    ``bayes_sensitivity_prevalence.csv`` (each subgroup refitted by the Bayesian model beside its
    GLMM, :mod:`jdmstats.questions.bayes_sensitivity`); forest plots (overall, by region),
    funnel against sample size, bubble, leave-one-out and
    Baujat plots.

    Examples
    --------
    One cohort (fast: no figure is drawn for fewer than two); all eight tables are written:

    >>> import tempfile, warnings
    >>> from jdmstats import datasets
    >>> from jdmstats.outputs import steps
    >>> one = {"cohorts": datasets.load_cohorts().head(1)}
    >>> with warnings.catch_warnings():  # too few cohorts for most analyses: warnings say so
    ...     warnings.simplefilter("ignore")
    ...     paths = steps.step_prevalence(one, Path(tempfile.mkdtemp()))
    >>> sum(p.suffix == ".csv" for p in paths), all(p.exists() for p in paths)
    (8, True)
    """
    return STEPS["prevalence"](tables, out, progress)


# --------------------------------------------------------------------------------- delay
def _delay_analyse(tables, progress=None):
    from jdmstats.questions import delay

    return delay.analyse(tables["cohorts"], tables["patients"])


def _delay_tables(res, out: Path) -> list[Path]:
    tdir = out / "tables"
    return [write_table(df, tdir / f"{name}.csv") for name, df in (
        ("delay_cohorts", res.cohorts), ("delay_metareg", res.metareg),
        ("delay_groups", res.groups), ("delay_ipd", res.ipd),
        ("delay_exclusions", res.exclusions))]  # fmt: skip


def _delay_figures(res, out: Path) -> list[Path]:
    from jdmstats.plots import style
    from jdmstats.plots.forests import forest_effects, forest_height

    # The bubble plot of prevalence on mean delay is drawn once, by the prevalence step
    # (prevalence_bubble_delay_mean_months: the same meta-regression).
    written: list[Path] = []
    md, orr = res.mean_difference, res.odds_ratio
    with style.context():
        reported = None
        if orr.k:
            reported = (orr.studies["or_ci_low"].to_numpy(float),
                        orr.studies["or_ci_high"].to_numpy(float))  # fmt: skip
        for pooled, name, kw in (
            (md, "delay_forest_md", {"xlabel": "Mean difference in delay (months)", "null": 0.0}),
            (orr, "delay_forest_or", {"xlabel": "Odds ratio of calcinosis", "log": True,
                                      "null": 1.0, "ci": reported}),
        ):  # fmt: skip
            if pooled.k == 0:
                continue
            fig, ax = style.figure("double", forest_height(pooled.k, n_pooled=1))
            forest_effects(pooled.studies["yi"], pooled.studies["vi"],
                           labels=[study_label(c) for c in pooled.studies["cohort_id"]],
                           fit=pooled.fit, ax=ax, **kw)  # fmt: skip
            written += _save(fig, out / "figures" / name)
    return written


def step_delay(tables: dict[str, pd.DataFrame], out: Path, progress=None) -> list[Path]:
    """Question 2: ``delay_cohorts.csv`` (every delay with its conversion), ``delay_metareg.csv``
    (main and strict analyses), ``delay_groups.csv`` (per-source and pooled mean differences and
    odds ratios, or why none could be pooled), ``delay_ipd.csv`` (the Firth model, or a row
    stating why no model was fitted), ``delay_exclusions.csv``; forest plots (the bubble plot of
    the same meta-regression is the prevalence step's ``prevalence_bubble_delay_mean_months``).

    Examples
    --------
    >>> import tempfile, warnings
    >>> from jdmstats import datasets
    >>> from jdmstats.outputs import steps
    >>> one = {"cohorts": datasets.load_cohorts().head(1), "patients": datasets.load_patients()}
    >>> with warnings.catch_warnings():  # each analysis that cannot be done warns
    ...     warnings.simplefilter("ignore")
    ...     paths = steps.step_delay(one, Path(tempfile.mkdtemp()))
    >>> [p.stem for p in paths if p.suffix == ".csv"]
    ['delay_cohorts', 'delay_metareg', 'delay_groups', 'delay_ipd', 'delay_exclusions']
    """
    return STEPS["delay"](tables, out, progress)


# --------------------------------------------------------------------------------- response
def _response_analyse(tables, progress=None, bootstrap_reps: int = OPTION_DEFAULTS["bootstrap_reps"],
                      seed: int = OPTION_DEFAULTS["seed"]):  # fmt: skip
    from jdmstats.questions import response

    return response.analyse(tables["episodes"], progress=progress, arms=tables.get("arms"),
                            studies=tables.get("studies"), n_boot=bootstrap_reps,
                            seed=seed)  # fmt: skip


def _response_tables(res, out: Path) -> list[Path]:
    tdir = out / "tables"
    written = [write_table(res.summary(), tdir / "response_by_class.csv"),
               write_table(res.pooled.table, tdir / "response_pooled.csv"),
               write_table(res.pooled.counts, tdir / "response_sources.csv"),
               write_table(res.time_observations, tdir / "time_observations.csv"),
               write_table(res.exclusions, tdir / "response_exclusions.csv")]  # fmt: skip
    return written


def _response_bayes(res, out: Path) -> list[Path]:
    from jdmstats.questions import bayes_sensitivity

    table = bayes_sensitivity.response_sensitivity(res.pooled)
    return [write_table(table, out / "tables" / "bayes_sensitivity_response.csv")]


def _response_time_tables(res, out: Path) -> list[Path]:
    if res.time is None:
        return []
    tdir = out / "tables"
    return [write_table(res.time.table, tdir / "time_to_regression.csv"),
            write_table(res.time.models, tdir / "time_to_regression_models.csv"),
            write_table(res.time.tests, tdir / "time_to_regression_tests.csv")]  # fmt: skip


def _response_forest(res, out: Path) -> list[Path]:
    from jdmstats.plots import style
    from jdmstats.plots.therapy import response_forest

    with style.context():
        n_rows = int((res.pooled.table["assessed"] > 0).sum())
        fig, ax = style.figure("double", height=1.3 + 0.30 * n_rows)
        response_forest(res.pooled, ax=ax)
        return _save(fig, out / "figures" / "response_forest")


def _response_curves(res, out: Path) -> list[Path]:
    from jdmstats.plots import style
    from jdmstats.plots.survival import survival_curves
    from jdmstats.questions.class_response import MIN_TIMED

    counts = res.time.timed["class"].value_counts() if res.time is not None else None
    if counts is None or not (counts >= MIN_TIMED).any():
        return []
    with style.context():
        fig, ax = style.figure("double", height=2.6 + 0.14 * int((counts >= MIN_TIMED).sum()))
        survival_curves(res.time, ax=ax, min_n=MIN_TIMED)
        return _save(fig, out / "figures" / "time_to_regression")


def _response_times(res, out: Path) -> list[Path]:
    from jdmstats.plots import style
    from jdmstats.plots.therapy import time_observations_plot
    from jdmstats.questions.class_response import MIN_TIMED

    obs = res.time_observations
    with style.context():
        fig, ax = style.figure("double", height=1.0 + 0.2 * max(len(obs), 1))
        time_observations_plot(obs, ax=ax, min_n=MIN_TIMED)
        return _save(fig, out / "figures" / "time_observations")


def _response_swimmer(res, out: Path) -> list[Path]:
    from jdmstats.plots import style
    from jdmstats.plots.survival import swimmer

    with style.context():
        n_pat = res.episodes["patient_id"].nunique()
        fig, ax = style.figure("double", height=1.0 + 0.18 * n_pat)
        swimmer(res.episodes, ax=ax)
        return _save(fig, out / "figures" / "swimmer")


def step_response(tables: dict[str, pd.DataFrame], out: Path, progress=None,
                  bootstrap_reps: int = OPTION_DEFAULTS["bootstrap_reps"],
                  seed: int = OPTION_DEFAULTS["seed"]) -> list[Path]:  # fmt: skip
    """Question 3: ``response_by_class.csv`` (courses of case patients), ``response_pooled.csv``
    (children of case patients and therapy arms, pooled over sources, per class),
    ``response_sources.csv`` (the per-source pairs), ``time_observations.csv`` (every reported
    time), ``response_exclusions.csv``, ``bayes_sensitivity_response.csv`` (each class refitted
    by the Bayesian model beside its GLMM or exact CI) and, when any course has a usable time,
    ``time_to_regression.csv``, ``time_to_regression_models.csv``,
    ``time_to_regression_tests.csv``; the response forest plot, the time-to-regression curves
    (only classes with at least 5 timed observations), the plot of every reported time, and
    the swimmer plot. ``bootstrap_reps`` and ``seed`` are the replicates and seed of the
    cluster bootstrap of the Turnbull bands (``jdmstats run --bootstrap-reps N --seed S``).

    Examples
    --------
    One course without a time to regression (the time tables are then not written):

    >>> import tempfile, warnings
    >>> from jdmstats import datasets
    >>> from jdmstats.outputs import steps
    >>> one = {"episodes": datasets.load_episodes().head(1)}
    >>> with warnings.catch_warnings():  # no usable time: a warning says so
    ...     warnings.simplefilter("ignore")
    ...     paths = steps.step_response(one, Path(tempfile.mkdtemp()))
    >>> [p.stem for p in paths if p.suffix == ".csv"][-2:]
    ['response_exclusions', 'bayes_sensitivity_response']
    """
    return STEPS["response"](tables, out, progress, bootstrap_reps=bootstrap_reps, seed=seed)


# --------------------------------------------------------------------------------- PRISMA
def _prisma_analyse(tables, progress=None):
    from jdmstats.questions import prisma

    return prisma.prisma_counts(tables)


def _prisma_table(counts, out: Path) -> list[Path]:
    from jdmstats.questions import prisma

    return [write_table(prisma.counts_table(counts), out / "tables" / "prisma.csv")]


def _prisma_figure(counts, out: Path) -> list[Path]:
    from jdmstats.plots import prisma as draw

    return draw.save_prisma(counts, out / "figures" / "prisma")


def step_prisma(tables: dict[str, pd.DataFrame], out: Path, progress=None) -> list[Path]:
    """PRISMA 2020 flow diagram and its counts, computed from the search log and the tables."""
    return STEPS["prisma"](tables, out, progress)


_FIGURES = ("matplotlib.pyplot", "matplotlib.backends.backend_pdf", "fontTools.subset",
            "pypdfium2", "jdmstats.plots.style")
"""What drawing and saving any figure imports (:func:`jdmstats.plots.style.save`)."""
_ENGINES = ("scipy.stats", "scipy.optimize", "scipy.linalg", "jdmstats.meta")
"""What the meta-analysis engine imports when it fits."""

STEPS: dict[str, Step] = {step.name: step for step in (
    Step("descriptive", _descriptive_analyse, (("tables", _descriptive_tables),),
         ("jdmstats.questions.descriptive",)),
    Step("prevalence", _prevalence_analyse, (
        ("tables", _prevalence_tables), ("bayes", _prevalence_bayes),
        ("forest", _prevalence_figure(_prevalence_forest)),
        ("forest_region", _prevalence_figure(_prevalence_forest_region)),
        ("funnel", _prevalence_figure(_prevalence_funnel)),
        *((f"bubble_{mod}", _prevalence_figure(_prevalence_bubble(mod))) for mod in _BUBBLE_X),
        ("leave1out", _prevalence_figure(_prevalence_leave1out)),
        ("baujat", _prevalence_figure(_prevalence_baujat))),
        ("jdmstats.questions.prevalence", *_ENGINES),
        ("jdmstats.questions.bayes_sensitivity", *_FIGURES, "jdmstats.plots.forests",
         "jdmstats.plots.diagnostics")),
    Step("delay", _delay_analyse, (("tables", _delay_tables), ("figures", _delay_figures)),
         ("jdmstats.questions.delay", "jdmstats.firth", *_ENGINES),
         (*_FIGURES, "jdmstats.plots.forests")),
    Step("response", _response_analyse, (
        ("tables", _response_tables), ("bayes", _response_bayes),
        ("time_tables", _response_time_tables), ("forest", _response_forest),
        ("curves", _response_curves), ("times", _response_times),
        ("swimmer", _response_swimmer)),
        ("jdmstats.questions.response", "lifelines", *_ENGINES),
        ("jdmstats.questions.bayes_sensitivity", *_FIGURES, "jdmstats.plots.survival",
         "jdmstats.plots.therapy")),
    Step("prisma", _prisma_analyse, (("table", _prisma_table), ("figure", _prisma_figure)),
         ("jdmstats.questions.prisma",), (*_FIGURES, "jdmstats.plots.prisma")),
)}  # fmt: skip
"""Analysis steps in the order ``jdmstats run`` runs them (and writes their warnings)."""

COST = {"prevalence": 3, "response": 2}
"""Relative cost of the steps on the bundled data, so that parallel runs start the longest
first (a hint only: any order gives the same files)."""
