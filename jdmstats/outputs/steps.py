"""Which tables and figures each question writes: one step per question for ``jdmstats run``.

Every step has the form ``step(tables, out, progress=None) -> list[Path]``: it computes the
question's results (layer 3, :mod:`jdmstats.questions`), draws the figures from those results
(layer 4, :mod:`jdmstats.plots`, which never fit) and writes both under ``out/tables`` and
``out/figures``. Impossible analyses leave a row whose ``note`` says why, never a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from jdmstats.evidence.schema import study_label
from jdmstats.outputs.tables import as_written, write_table

__all__ = ["STEPS", "COST", "STEP_OPTIONS", "OPTION_DEFAULTS", "step_descriptive",
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


def _save(fig, path: Path) -> list[Path]:
    from jdmstats.plots import style

    written = style.save(fig, path)
    _pyplot().close(fig)
    return written


# --------------------------------------------------------------------------------- descriptive
def step_descriptive(tables: dict[str, pd.DataFrame], out: Path, progress=None) -> list[Path]:
    """Descriptive tables of the sources, case patients and therapy episodes."""
    from jdmstats.questions import descriptive

    return [write_table(df, Path(out) / "tables" / f"{name}.csv")
            for name, df in descriptive.describe(tables).items()]  # fmt: skip


# --------------------------------------------------------------------------------- prevalence
_BUBBLE_X = {"year": "Publication year", "followup_months": "Follow-up (months)",
             "delay_mean_months": "Mean diagnostic delay (months)"}  # fmt: skip


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
    from jdmstats.questions import bayes_sensitivity, prevalence

    out = Path(out)
    tdir = out / "tables"
    res = prevalence.analyse(tables["cohorts"])
    written = [write_table(df, tdir / f"{name}.csv") for name, df in (
        ("prevalence", res.models.table), ("prevalence_cohorts", res.cohorts),
        ("prevalence_subgroups", res.subgroups), ("prevalence_small_study", res.small_study),
        ("prevalence_metareg", res.metareg), ("prevalence_leave1out", res.leave1out),
        ("prevalence_exclusions", res.exclusions),
        ("bayes_sensitivity_prevalence", bayes_sensitivity.prevalence_sensitivity(
            res.subgroups, res.data)))]  # fmt: skip
    return written + _prevalence_figures(res, out / "figures")


def _prevalence_figures(res, fdir: Path) -> list[Path]:
    from jdmstats.plots import style
    from jdmstats.plots.diagnostics import baujat_plot, bubble, funnel, leave_one_out_plot
    from jdmstats.plots.forests import forest, forest_height

    written: list[Path] = []
    data = res.data
    glmm, iv = res.models.fits.get("glmm_primary"), res.models.fits.get("iv_logit_reml_knha")
    if glmm is None or len(data) < 2:
        return written
    k = len(data)
    with style.context():
        fig, ax = style.figure("double", forest_height(k, n_pooled=2))
        forest(glmm, ax=ax, extra_pooled=[iv] if iv is not None else None, sort_by="year",
               years=data["year"].to_numpy(dtype=float))  # fmt: skip
        written += _save(fig, fdir / "prevalence_forest")

        fig, ax = style.figure("double", forest_height(k, n_groups=data["region"].nunique()))
        forest(glmm, ax=ax, groups=data["region"].to_numpy(), subgroup_fits=res.region_fits,
               sort_by="estimate")  # fmt: skip
        written += _save(fig, fdir / "prevalence_forest_region")

        fig, ax = style.figure("single")
        funnel(glmm, ax=ax, against="n")
        written += _save(fig, fdir / "prevalence_funnel")

        for mod, (reg, used) in res.metareg_fits.items():
            fig, ax = style.figure("single")
            bubble(reg, ax=ax, labels=list(used["label"]), xlabel=_BUBBLE_X[mod],
                   ylabel="Prevalence of calcinosis", scale="proportion")  # fmt: skip
            written += _save(fig, fdir / f"prevalence_bubble_{mod}")

        loo = res.leave1out
        if "glmm_estimate" in loo.columns:
            fig, ax = style.figure("single", forest_height(k, n_pooled=1, row=0.11))
            leave_one_out_plot(loo["omitted"], as_written(loo["glmm_estimate"]),
                               as_written(loo["glmm_ci_low"]), as_written(loo["glmm_ci_high"]),
                               overall=as_written(glmm.estimate), ax=ax,
                               percent=True)  # fmt: skip
            written += _save(fig, fdir / "prevalence_leave1out")
        if res.baujat is not None:
            fig, ax = style.figure("single")
            baujat_plot(res.baujat, ax=ax)
            written += _save(fig, fdir / "prevalence_baujat")
    return written


# --------------------------------------------------------------------------------- delay
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
    from jdmstats.questions import delay

    out = Path(out)
    tdir = out / "tables"
    res = delay.analyse(tables["cohorts"], tables["patients"])
    written = [write_table(df, tdir / f"{name}.csv") for name, df in (
        ("delay_cohorts", res.cohorts), ("delay_metareg", res.metareg),
        ("delay_groups", res.groups), ("delay_ipd", res.ipd),
        ("delay_exclusions", res.exclusions))]  # fmt: skip
    return written + _delay_figures(res, out / "figures")


def _delay_figures(res, fdir: Path) -> list[Path]:
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
            written += _save(fig, fdir / name)
    return written


# --------------------------------------------------------------------------------- response
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
    from jdmstats.questions import bayes_sensitivity, response

    out = Path(out)
    tdir = out / "tables"
    res = response.analyse(tables["episodes"], progress=progress, arms=tables.get("arms"),
                           studies=tables.get("studies"), n_boot=bootstrap_reps,
                           seed=seed)  # fmt: skip
    written = [write_table(res.summary(), tdir / "response_by_class.csv"),
               write_table(res.pooled.table, tdir / "response_pooled.csv"),
               write_table(res.pooled.counts, tdir / "response_sources.csv"),
               write_table(res.time_observations, tdir / "time_observations.csv"),
               write_table(res.exclusions, tdir / "response_exclusions.csv"),
               write_table(bayes_sensitivity.response_sensitivity(res.pooled),
                           tdir / "bayes_sensitivity_response.csv")]  # fmt: skip
    if res.time is not None:
        written += [write_table(res.time.table, tdir / "time_to_regression.csv"),
                    write_table(res.time.models, tdir / "time_to_regression_models.csv"),
                    write_table(res.time.tests, tdir / "time_to_regression_tests.csv")]  # fmt: skip
    return written + _response_figures(res, out / "figures")


def _response_figures(res, fdir: Path) -> list[Path]:
    from jdmstats.plots import style
    from jdmstats.plots.survival import survival_curves, swimmer
    from jdmstats.plots.therapy import response_forest, time_observations_plot
    from jdmstats.questions.class_response import MIN_TIMED

    written: list[Path] = []
    with style.context():
        n_rows = int((res.pooled.table["assessed"] > 0).sum())
        fig, ax = style.figure("double", height=1.3 + 0.30 * n_rows)
        response_forest(res.pooled, ax=ax)
        written += _save(fig, fdir / "response_forest")
        counts = res.time.timed["class"].value_counts() if res.time is not None else None
        if counts is not None and (counts >= MIN_TIMED).any():
            fig, ax = style.figure("double", height=2.6 + 0.14 * int((counts >= MIN_TIMED).sum()))
            survival_curves(res.time, ax=ax, min_n=MIN_TIMED)
            written += _save(fig, fdir / "time_to_regression")
        obs = res.time_observations
        fig, ax = style.figure("double", height=1.0 + 0.2 * max(len(obs), 1))
        time_observations_plot(obs, ax=ax, min_n=MIN_TIMED)
        written += _save(fig, fdir / "time_observations")
        n_pat = res.episodes["patient_id"].nunique()
        fig, ax = style.figure("double", height=1.0 + 0.18 * n_pat)
        swimmer(res.episodes, ax=ax)
        written += _save(fig, fdir / "swimmer")
    return written


# --------------------------------------------------------------------------------- PRISMA
def step_prisma(tables: dict[str, pd.DataFrame], out: Path, progress=None) -> list[Path]:
    """PRISMA 2020 flow diagram and its counts, computed from the search log and the tables."""
    from jdmstats.plots import prisma as draw
    from jdmstats.questions import prisma

    out = Path(out)
    counts = prisma.prisma_counts(tables)
    written = [write_table(prisma.counts_table(counts), out / "tables" / "prisma.csv")]
    written += draw.save_prisma(counts, out / "figures" / "prisma")
    return written


STEPS: dict[str, Callable[..., list[Path]]] = {
    "descriptive": step_descriptive,
    "prevalence": step_prevalence,
    "delay": step_delay,
    "response": step_response,
    "prisma": step_prisma,
}
"""Analysis steps in the order ``jdmstats run`` runs them (and writes their warnings)."""

COST = {"prevalence": 3, "response": 2}
"""Relative cost of the steps on the bundled data, so that parallel runs start the longest
first (a hint only: any order gives the same files)."""
