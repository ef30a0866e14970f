"""The main job: every analysis on one harmonised data set, written to ``tables/`` and ``figures/``.

``jdmstats run`` calls :func:`run`. Each step (:data:`jdmstats.outputs.steps.STEPS`; ``--only
NAME`` runs some of them) receives the validated harmonised tables
(:func:`jdmstats.evidence.datasets.load_all`) and the output root, writes its tables to
``out/tables`` and its figures to ``out/figures``, and returns the paths it wrote.

What is printed
---------------
On a terminal, a line per step with a progress bar while it runs. Elsewhere (CI, a log file),
one line per step when it ends (tables and figures written, seconds). Either way, every warning a
step raised is printed under its line, and ``--quiet`` (``quiet=True``) prints nothing.

Parallel steps
--------------
``jdmstats run`` runs independent steps in forked worker processes, one per core
(:func:`default_jobs`; ``--jobs 1`` or ``run(jobs=1)``, the library default, runs them one after
the other). A step (:class:`~jdmstats.outputs.steps.Step`) is an analysis and parts that write
files from its result (its tables, each of its figures): the analyses start first, longest
first, and the parts of a step are queued as soon as its analysis ends, so that one question's
figures are drawn on every core. The modules the steps import are imported once, before the
workers are forked. A step must therefore only write its own files and take its random numbers
from its own seeded generator; the manifest and ``warnings.csv`` are assembled in step order
(and, within a step, in the order of its analysis and parts), so the files are the same for
any number of workers.

Reproducibility
---------------
Tables are written by :func:`jdmstats.outputs.tables.write_table` with a fixed float format, LF
line ends and the row order the step chose; figures by :func:`jdmstats.plots.style.save` (PDF
without dates, fonts embedded). ``figures/MANIFEST.json`` records, for every file written, the
step that wrote it, the SHA-256 of the harmonised data it was made from
(:func:`jdmstats.outputs.manifest.data_fingerprint`), the jdmstats version and the SHA-256 of the
file itself, plus the versions of the dependencies. Two runs on the same data with the same
dependency versions give byte-identical files and manifest.

Examples
--------
>>> from jdmstats.outputs import runner
>>> list(runner.STEPS)
['descriptive', 'prevalence', 'delay', 'response', 'prisma']
>>> written = runner.run(out="/tmp/jdmstats-out", only=["descriptive"], quiet=True)
>>> [p.name for p in written][-2:]
['warnings.csv', 'MANIFEST.json']
"""

from __future__ import annotations

import contextlib
import gc
import operator
import os
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import pandas as pd

from jdmstats.errors import JdmstatsError
from jdmstats.outputs.manifest import (
    NOTES,
    data_files,
    data_fingerprint,
    read_manifest,
    relative,
    sha256_file,
    versions,
    write_manifest,
    write_notes,
)
from jdmstats.outputs.progress import Board, Progress
from jdmstats.outputs.steps import COST, OPTION_DEFAULTS, STEP_OPTIONS, STEPS, Step
from jdmstats.outputs.tables import FLOAT_FORMAT, write_table

__all__ = ["run", "STEPS", "StepError", "resolve_data", "default_jobs", "script_main",
           "write_table", "FLOAT_FORMAT", "versions", "read_manifest", "Progress", "sha256_file",
           "data_files", "data_fingerprint"]  # fmt: skip


class StepError(JdmstatsError):
    """One or more steps could not run (the step failed; the other steps still ran)."""


def resolve_data(data: str | os.PathLike | None, workdir: Path) -> Path:
    """Return a harmonised folder for ``data``: the bundled data, a harmonised folder, or an
    extraction folder (harmonised into ``workdir`` first)."""
    from jdmstats.evidence import datasets, harmonise

    if data is None:
        return datasets.data_dir()
    folder = Path(data)
    if not folder.exists():
        raise FileNotFoundError(f"no such folder: {folder}")
    if not folder.is_dir():
        raise NotADirectoryError(f"not a folder: {folder} (give the folder that holds the data)")
    if (folder / "studies.csv").exists() or (folder / "datapackage.json").exists():
        return folder  # a harmonised folder (load_all reports a missing table)
    if (folder / "harmonised" / "studies.csv").exists():
        return folder / "harmonised"
    extraction = folder / "extraction" if (folder / "extraction").is_dir() else folder
    if harmonise.sources_in(extraction):
        target = workdir / "harmonised"
        harmonise.harmonise(extraction, target)
        return target
    from jdmstats.errors import DataValidationError, Problem

    raise DataValidationError(
        [
            Problem(
                str(folder),
                "",
                "",
                "",
                "neither a harmonised folder (studies.csv, ...) nor an extraction folder (*.yaml)",
            )
        ]
    )


def _rows(tables: dict[str, pd.DataFrame], name: str, *stated: str, true: str = "") -> int:
    """Rows of a table (with any of the ``stated`` columns not blank, ``true`` column true)."""
    frame = tables.get(name)
    if frame is None:
        return 0
    keep = pd.Series(True, index=frame.index)
    if stated:
        keep &= frame[[c for c in stated if c in frame]].notna().any(axis=1)
    if true:
        keep &= frame[true].fillna(False).astype(bool)
    return int(keep.sum())


STEP_NEEDS: dict[str, tuple[str, str, Callable[[dict], int]]] = {
    "descriptive": ("studies", "no source in studies", lambda t: _rows(t, "studies")),
    "prisma": ("studies", "no source in studies", lambda t: _rows(t, "studies")),
    "prevalence": ("cohorts", "no cohort in the primary prevalence analysis (include_primary)",
                   lambda t: _rows(t, "cohorts", true="include_primary")),
    "delay": ("cohorts", "no cohort with a diagnostic delay or a delay odds ratio",
              lambda t: _rows(t, "cohorts", "delay_months", "delay_calc_months", "delay_or")),
    "response": ("episodes", "no therapy episode and no therapy arm",
                 lambda t: _rows(t, "episodes") + _rows(t, "arms")),
}  # fmt: skip
"""What each step needs at least one row of: (table, what is missing, count of usable rows)."""


def empty_steps(tables: dict[str, pd.DataFrame], names: list[str]) -> dict[str, tuple[str, str]]:
    """The steps of ``names`` that would run on nothing: ``{step: (table file, what is
    missing)}``."""
    return {name: (f"{STEP_NEEDS[name][0]}.csv", STEP_NEEDS[name][1]) for name in names
            if name in STEP_NEEDS and not STEP_NEEDS[name][2](tables)}  # fmt: skip


def refuse_empty(tables: dict[str, pd.DataFrame], names: list[str], folder: Path) -> None:
    """Refuse data that would run a selected step on nothing (an empty analysis is not a result).

    Raises
    ------
    DataValidationError
        One problem per step that would be empty, naming the table and how to proceed.
    """
    from jdmstats.errors import DataValidationError, Problem

    problems = [Problem(str(Path(folder) / table), "", "", "", f"{missing}: the {name} step "
                        "would be empty; add the data, or leave the step out (--only)")
                for name, (table, missing) in empty_steps(tables, names).items()]  # fmt: skip
    if problems:
        raise DataValidationError(problems, context=str(folder))


@contextlib.contextmanager
def _own_figures():
    """Close the figures a step opened (and leave the caller's figures alone)."""
    before = set()
    if "matplotlib.pyplot" in sys.modules:
        before = set(sys.modules["matplotlib.pyplot"].get_fignums())
    try:
        yield
    finally:
        if "matplotlib.pyplot" in sys.modules:
            plt = sys.modules["matplotlib.pyplot"]
            for num in set(plt.get_fignums()) - before:
                plt.close(num)


def _tasks(name: str) -> list:
    """The tasks of step ``name``: its analysis, then its parts (a plain function is one task).

    Each task is ``(part, function)``: ``part`` is ``None`` for the analysis, called as
    ``function(tables, out, progress=..., **options)`` like a plain step, else the part's index
    (:class:`~jdmstats.outputs.steps.Step`), called as ``function(result, out)``.
    """
    step = STEPS[name]
    if not isinstance(step, Step):
        return [(None, step)]

    def analyse(tables, out, progress=None, **options):
        return step.analyse(tables, progress=progress, **options)

    return [(None, analyse), *((i, write) for i, (_, write) in enumerate(step.parts))]


def _execute(name: str, call: Callable[[], object], styled: bool = True) -> tuple:
    """Run one task of step ``name`` with the jdmstats style (unless ``styled`` is false: the
    analysis of a :class:`Step` draws nothing), its figures closed and its warnings recorded:
    ``(value, notes, error, seconds)``.

    ``error`` is the message of a failure (the other steps still run), ``notes`` the
    ``(step, category, message)`` of each distinct :class:`UserWarning` the task raised.
    """
    from jdmstats.errors import DataValidationError

    if styled:
        from jdmstats.plots import style
    start = time.perf_counter()
    value = None
    error = None
    try:
        with (style.context() if styled else contextlib.nullcontext()), _own_figures(), \
                warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = call()
    except DataValidationError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported per step, the others still run
        if os.environ.get("JDMSTATS_TRACEBACK"):
            raise
        error = str(exc) if isinstance(exc, StepError) else (
            f"step {name!r} failed: {type(exc).__name__}: {exc}")  # fmt: skip
        caught = []
    notes: list[tuple[str, str, str]] = []
    for w in caught:
        if not issubclass(w.category, UserWarning):
            continue  # library noise (deprecations, numpy floating-point notices)
        row = (name, w.category.__name__, " ".join(str(w.message).split()))
        if row not in notes:
            notes.append(row)
    return value, notes, error, time.perf_counter() - start


def _call(name: str, part, fn, tables, out: Path, bar, options, result):
    """The zero-argument call of one task of step ``name`` (see :func:`_tasks`)."""
    if part is not None:
        return lambda: fn(result, out)
    opts = _options_of(name, options)
    return lambda: fn(tables, out, progress=bar, **opts)


class _Outcome:
    """What one step did, assembled from its tasks in their declared order."""

    def __init__(self, name: str, n_tasks: int):
        self.name, self.left = name, n_tasks
        self.staged = isinstance(STEPS[name], Step)  # an analysis, then parts
        self.files: list[list[Path]] = [[] for _ in range(n_tasks)]
        self.notes: list[list[tuple[str, str, str]]] = [[] for _ in range(n_tasks)]
        self.error: str | None = None
        self.seconds = 0.0
        self.result = None

    def add(self, index: int, value, notes, error, seconds) -> None:
        """Record task ``index``: its returned value, warnings, error and seconds."""
        self.left -= 1
        self.notes[index] = notes
        self.seconds += seconds
        if error is not None:
            self.error = self.error or error
        elif self.staged and index == 0:  # the analysis: its result is for the parts
            self.result = value
        else:
            self.files[index] = [Path(f) for f in (value or [])]

    def tuple(self) -> tuple:
        """``(name, files, notes, error, seconds)``; no files when a task failed."""
        notes: list[tuple[str, str, str]] = []
        for rows in self.notes:
            notes += [r for r in rows if r not in notes]
        files = [] if self.error else [f for part in self.files for f in part]
        return (self.name, files, notes, self.error, self.seconds)


def _options_of(name: str, options: dict | None) -> dict:
    """The options of ``options`` that step ``name`` takes (:data:`STEP_OPTIONS`)."""
    return {k: v for k, v in (options or {}).items() if k in STEP_OPTIONS.get(name, ())}


def _summary(outcome: tuple) -> str:
    _, files, _, error, seconds = outcome
    if error is not None:
        return f"FAILED  {error}"
    n_fig = sum(1 for f in files if Path(f).suffix == ".pdf")
    n_tab = sum(1 for f in files if Path(f).suffix == ".csv")
    return f"{n_tab:2d} table(s) {n_fig:2d} figure(s)  {seconds:6.2f} s"


def write_publication_tables(out: Path, data: dict[str, pd.DataFrame]) -> list[Path]:
    """Tables 1-3 and the summary of counts (:mod:`jdmstats.outputs.publication`), from the
    results tables under ``out/tables`` and the harmonised ``data``; written to
    ``out/tables/publication/``. Tables whose inputs are missing are not written."""
    from jdmstats.outputs import publication

    folder = Path(out) / "tables"
    results = {p.stem: pd.read_csv(p) for p in sorted(folder.glob("*.csv"))}
    written = publication.write_publication(out, results, data)
    counts = publication.summary_counts(results, data)
    path = folder / publication.PUBLICATION_DIR / "counts.csv"
    write_table(pd.DataFrame({"count": list(counts), "n": list(counts.values())}), path)
    return [*written, path]


def default_jobs() -> int:
    """Worker processes ``jdmstats run`` uses by default: one per core, at most one per step.

    Steps run in parallel only where processes can be forked (Linux) from a process with no
    other threads; elsewhere (and inside Jupyter, whose kernel runs threads) they run one
    after the other. ``JDMSTATS_JOBS`` overrides the default.
    """
    env = os.environ.get("JDMSTATS_JOBS")
    if env:
        return max(1, int(env))
    if not sys.platform.startswith("linux") or threading.active_count() > 1:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, len(STEPS)))


def _preload(names: list[str], parts: bool = True) -> None:
    """Import what the steps' tasks import (:attr:`Step.modules`, and :attr:`Step.part_modules`
    with the style the drawing tasks run in, unless ``parts`` is false), once, before forking.

    The cyclic garbage collector is paused meanwhile: imports make long-lived objects (modules,
    classes, functions); its collections there took about 0.15 s, and the imports take about
    0.06 s less of their 1.0-1.1 s.
    """
    import importlib

    enabled = gc.isenabled()
    gc.disable()
    try:
        for name in names:
            step = STEPS[name]
            for module in (*getattr(step, "modules", ()),
                           *(getattr(step, "part_modules", ()) if parts else ())):  # fmt: skip
                importlib.import_module(module)
        if parts:
            importlib.import_module("jdmstats.plots.style").register_fonts()  # see _execute
    finally:
        if enabled:
            gc.enable()


# Shared with forked workers (set before the pool starts; never pickled).
_WORK: dict = {}


def _worker(name: str, part, result) -> tuple:
    queue = _WORK["queue"]

    def bar(done: int, total: int, label: str = "") -> None:
        if queue is not None:
            queue.put((name, done, total, label))

    fn = dict(_tasks(name))[part]
    return _execute(name, _call(name, part, fn, _WORK["tables"], _WORK["out"], bar,
                                _WORK["options"], result), _styled(name, part))  # fmt: skip


def _styled(name: str, part) -> bool:
    """Whether a task draws (all but the analysis of a :class:`Step`; see :func:`_tasks`)."""
    return part is not None or not isinstance(STEPS[name], Step)


def _early(name: str, conn) -> None:
    """Run the analysis of step ``name`` (in a process forked before the other modules are
    imported) and send ``(True, outcome)``, or ``(False, exception)``, to ``conn``."""
    try:
        payload = (True, _worker(name, None, None))
    except BaseException as exc:  # noqa: BLE001 - raised again in the parent
        payload = (False, exc)
    try:
        conn.send(payload)
    except Exception as exc:  # noqa: BLE001 - an outcome or exception that cannot be pickled
        conn.send((False, RuntimeError(f"step {name!r}: its analysis's outcome could not be "
                                       f"sent to the parent process: {exc}")))  # fmt: skip
    conn.close()


def _relay(future, conn, process, name: str) -> None:
    """Wait for :func:`_early`'s message on ``conn`` and settle ``future`` with it."""
    try:
        ok, value = conn.recv()
    except (EOFError, OSError):
        process.join(5)
        ok, value = False, RuntimeError(
            f"step {name!r}: the process running its analysis ended without a result "
            f"(exit code {process.exitcode})")  # fmt: skip
    finally:
        conn.close()
    (future.set_result if ok else future.set_exception)(value)


def _run_parallel(names: list[str], tables, out: Path, jobs: int, stream: TextIO | None,
                  lines: bool = False, options: dict | None = None) -> dict[str, tuple]:  # fmt: skip
    """Run the tasks of ``names`` in ``jobs`` forked worker processes; outcomes by step name.

    The analyses start first, longest first; when one ends, the parts of its step are queued
    with its result (pickled), so that the figures of one question are drawn in parallel. Only
    ``jobs`` tasks are handed to the pool at a time, the next by priority (analyses, then the
    parts of the longest steps), so parts released late do not wait behind short ones.
    The workers are forked when the first task is submitted, before this process starts any
    thread (the progress listener starts after), so no lock is copied in a held state.

    The analysis of the longest step starts earlier, in a process of its own forked as soon
    as that analysis's modules are imported (:func:`_early`): it runs while this process
    imports the modules of the other steps and of the figures (about 0.5 s, which would
    otherwise leave a core idle), and it counts as one of the ``jobs`` tasks in flight.
    """
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

    if len(names) < 2:  # the pool must fork at its first task, before any thread starts
        raise ValueError("_run_parallel runs two or more steps (run() runs one in-process)")
    ctx = multiprocessing.get_context("fork")
    board = Board(stream, lines=lines)
    queue = ctx.SimpleQueue() if stream is not None else None
    _WORK.update(tables=tables, out=out, queue=queue, options=options)
    order = sorted(names, key=lambda n: -COST.get(n, 1))  # stable: longest steps start first
    records = {n: _Outcome(n, len(_tasks(n))) for n in names}
    outcomes: dict[str, tuple] = {}
    # tasks not yet handed to a worker, by priority: analyses first (they release parts), then
    # the parts of the longest steps; only ``jobs`` tasks are in flight, so that a step's parts
    # released late still go before those of the shorter steps
    waiting = [((0, order.index(n), 0), n, 0, None, None) for n in order[1:]]
    running: dict = {}
    early = listener = None

    def listen() -> None:
        while True:
            item = queue.get()
            if item is None:
                return
            board.progress(*item)

    def feed() -> None:
        waiting.sort(key=operator.itemgetter(0))
        while waiting and len(running) < jobs:
            _, name, index, part, result = waiting.pop(0)
            running[pool.submit(_worker, name, part, result)] = (name, index)

    try:
        _preload(order[:1], parts=False)
        receive, send = ctx.Pipe(duplex=False)
        early = ctx.Process(target=_early, args=(order[0], send), daemon=True)
        early.start()
        send.close()
        settled = Future()  # the early analysis's, settled by a thread started after the fork
        running[settled] = (order[0], 0)
        _preload(names)
        # the objects imported so far move to a permanent generation, so that the workers'
        # garbage collections neither scan them nor write to their pages (copy-on-write)
        gc.freeze()
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            feed()  # forks the workers
            threading.Thread(target=_relay, args=(settled, receive, early, order[0]),
                             daemon=True).start()  # fmt: skip
            board.started(names)
            if queue is not None:
                listener = threading.Thread(target=listen, daemon=True)
                listener.start()
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: order.index(running[f][0])):
                    name, index = running.pop(future)
                    rec = records[name]
                    rec.add(index, *future.result())
                    if index == 0 and rec.error is None and rec.left:
                        waiting.extend(((1, order.index(name), i), name, i, part, rec.result)
                                       for i, (part, _) in enumerate(_tasks(name)[1:], start=1))  # fmt: skip
                        rec.result = None
                    if rec.left == 0 or (index == 0 and rec.error is not None):
                        outcomes[name] = rec.tuple()
                        board.finished(name, _summary(outcomes[name]), outcomes[name][2])
                feed()
    finally:
        if early is not None:  # it has sent its outcome, unless the run failed before
            early.join(1)
            if early.is_alive():
                early.kill()
                early.join()
        gc.unfreeze()
        _WORK.clear()
        if listener is not None:
            queue.put(None)
            listener.join(timeout=5)
    return outcomes


def _run_sequential(names: list[str], tables, out: Path, stream: TextIO | None, tty: bool,
                    options: dict | None = None) -> dict[str, tuple]:  # fmt: skip
    """Run the tasks of ``names`` one after the other in this process; outcomes by name."""
    outcomes: dict[str, tuple] = {}
    for name in names:
        bar = Progress(name, stream, live=tty)
        bar.start()
        tasks = _tasks(name)
        rec = _Outcome(name, len(tasks))
        for index, (part, fn) in enumerate(tasks):
            rec.add(index, *_execute(name, _call(name, part, fn, tables, out, bar, options,
                                                 rec.result), _styled(name, part)))  # fmt: skip
            if rec.error is not None:
                break
        outcomes[name] = rec.tuple()
        bar.finish(_summary(outcomes[name]))
        if stream is not None:
            for _, category, message in outcomes[name][2]:
                stream.write(f"      {category}: {message}\n")
    return outcomes


def run(data=None, out: str | os.PathLike = ".", only: list[str] | None = None,
        quiet: bool = False, stream: TextIO | None = None, jobs: int = 1,
        bootstrap_reps: int | None = None, seed: int | None = None) -> list[Path]:
    """Run the analyses and write their tables and figures under ``out``.

    Parameters
    ----------
    data : path-like, optional
        Harmonised folder, extraction folder, or ``None`` for the bundled data.
    out : path-like
        Output root; tables go to ``out/tables`` and figures to ``out/figures``.
    only : list of str, optional
        Names of :data:`STEPS` to run (default, ``None``: all; an empty list is an error).
        By default, a step whose data are missing (:data:`STEP_NEEDS`: for example no cohort
        with a diagnostic delay) is skipped: the skip is printed and written to
        ``tables/warnings.csv`` (category ``SkippedStep``), and that step's files from an
        earlier run in ``out`` are removed. A step named in ``only`` is run or refused (the
        data are refused when it would be empty), as is a run in which every step would be.
    quiet : bool
        Print nothing. Otherwise a terminal ``stream`` shows a progress line per step, and any
        other stream (a log, CI) one line per finished step; both print every warning.
    stream : file, optional
        Where progress and warnings go (default ``sys.stderr``).
    jobs : int
        Worker processes: 1 (default) runs the steps one after the other in this process;
        more runs independent steps in parallel in forked processes (Linux only; see
        :func:`default_jobs`, which ``jdmstats run`` uses). The files written are the same
        either way: every step seeds its own random numbers and writes its own files, and
        the manifest and warnings are assembled in step order.
    bootstrap_reps, seed : int, optional
        Replicates and seed of the cluster bootstrap of the time-to-regression curves (step
        ``response``); ``None`` keeps the defaults
        (:data:`~jdmstats.outputs.steps.OPTION_DEFAULTS`), whose files are byte-identical to a
        run without them. Values other than the defaults are recorded in the manifest entry
        (``options``) of every file the step wrote.

    Returns
    -------
    list of Path
        Files written, ``figures/MANIFEST.json`` last.

    Raises
    ------
    DataValidationError
        When the data break a rule (nothing is run).
    StepError
        When a step could not run; the other steps have run and the manifest lists their files.
    """
    from jdmstats import __version__
    from jdmstats.evidence import datasets

    if only is not None and not [n for n in only if n]:
        raise ValueError(f"no step named (only={list(only)!r}); accepted: {', '.join(STEPS)}")
    unknown = sorted(set(only or ()) - set(STEPS))
    if unknown:
        raise ValueError(f"unknown step(s) {', '.join(unknown)}; accepted: {', '.join(STEPS)}")
    options = _check_options(bootstrap_reps=bootstrap_reps, seed=seed)
    stream = sys.stderr if stream is None else stream
    tty = hasattr(stream, "isatty") and stream.isatty()
    show = not quiet
    out = Path(out)
    names = [n for n in STEPS if not only or n in only]
    jobs = max(1, min(int(jobs), len(names)))
    if jobs > 1:
        import multiprocessing

        if "fork" not in multiprocessing.get_all_start_methods():
            jobs = 1
    with tempfile.TemporaryDirectory() as tmp:
        folder = resolve_data(data, Path(tmp))
        tables = datasets.load_all(folder)
        skipped = empty_steps(tables, names) if only is None else {}
        if only is not None or len(skipped) == len(names):
            refuse_empty(tables, names, folder)
        names = [n for n in names if n not in skipped]
        jobs = min(jobs, len(names))
        if show:
            for name, (table, missing) in skipped.items():
                stream.write(f"{name}: skipped: {table}: {missing} (the step would be empty)\n")
        fingerprint = data_fingerprint(folder)
        data_info = {fingerprint: data_files(folder)}
        if jobs > 1:
            outcomes = _run_parallel(names, tables, out, jobs, stream if show else None,
                                     lines=not tty, options=options)  # fmt: skip
        else:
            outcomes = _run_sequential(names, tables, out, stream if show else None, tty,
                                       options)  # fmt: skip
    written: list[Path] = []
    entries: dict[str, dict] = {}
    notes: list[tuple[str, str, str]] = [
        (name, "SkippedStep", f"not run (it would be empty): {table}: {missing}")
        for name, (table, missing) in skipped.items()]  # fmt: skip
    failures: list[str] = []
    for name in names:  # step order, whatever order the steps finished in
        _, files, step_notes, error, _ = outcomes[name]
        if error is not None:
            failures.append(error)
            continue
        notes += [r for r in step_notes if r not in notes]
        used = {k: v for k, v in _options_of(name, options).items() if v != OPTION_DEFAULTS[k]}
        for f in files:
            entries[relative(f, out)] = {"step": name, "data_sha256": fingerprint,
                                     "jdmstats_version": __version__,
                                     "sha256": sha256_file(f)}  # fmt: skip
            if used:
                entries[relative(f, out)]["options"] = used
        written += files
    for f in write_publication_tables(out, tables):
        entries[relative(f, out)] = {"step": "publication", "data_sha256": fingerprint,
                                     "jdmstats_version": __version__,
                                     "sha256": sha256_file(f)}  # fmt: skip
        written.append(f)
    order = list(STEPS)
    notes.sort(key=lambda row: order.index(row[0]))  # stable: a skipped step in its place
    notes_path = write_notes(out, notes, set(names) if only else None, order)
    entries[relative(notes_path, out)] = {"step": "pipeline", "data_sha256": fingerprint,
                                      "jdmstats_version": __version__,
                                      "sha256": sha256_file(notes_path)}  # fmt: skip
    written.append(notes_path)
    replace = ({*only, "pipeline", "publication"}) if only else None
    if replace is None and not failures:  # a full run: remove outputs it no longer makes
        for rel in read_manifest(out).get("files", {}):
            old = out / rel
            if rel not in entries and old.is_file() and old.parent.name in ("figures", "tables"):
                old.unlink()
    written.append(write_manifest(out, entries, data_info, replace))
    if failures:
        raise StepError("; ".join(failures))
    return written


def _check_options(**given) -> dict:
    """The analysis options given (not ``None``), checked: whole numbers, replicates >= 1 and
    seeds >= 0."""
    options = {}
    for key, value in given.items():
        if value is None:
            continue
        low = 1 if key == "bootstrap_reps" else 0
        try:
            number = None if isinstance(value, bool) else operator.index(value)
        except TypeError:
            number = None
        if number is None or number < low:
            raise ValueError(f"{key} must be a whole number >= {low}, got {value!r}")
        options[key] = number
    return options


def script_main(step: str, doc: str, argv: list[str] | None = None, summary=None) -> int:
    """Entry point shared by the per-question scripts in ``analyses/``.

    Parses ``--data``, ``--out`` (default: the repository root, else the current folder) and
    ``--quiet``, runs the one pipeline ``step`` through :func:`run` (so the manifest and
    ``warnings.csv`` stay consistent with ``jdmstats run``), prints the step's warnings as
    notes and then ``summary(out)``, the step's headline numbers.
    """
    import argparse

    from jdmstats.paths import REPO, in_checkout

    default_out = REPO if in_checkout() else Path.cwd()
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--data", default=None,
                    help="harmonised or extraction folder (default: the bundled data)")  # fmt: skip
    ap.add_argument("--out", default=str(default_out), help="output root (tables/ and figures/)")
    ap.add_argument("--quiet", action="store_true", help="print nothing but errors")
    args = ap.parse_args(argv)
    from jdmstats.errors import DataValidationError

    try:
        files = run(data=args.data, out=args.out, only=[step], quiet=args.quiet)
    except DataValidationError as exc:
        for p in exc.problems:
            print(p, file=sys.stderr)
        return 1
    if not args.quiet:
        notes = Path(args.out) / "tables" / NOTES
        if notes.exists():
            for _, row in pd.read_csv(notes).iterrows():
                if row["step"] == step:
                    print(f"note: {row['message']}", file=sys.stderr)
        if summary is not None:
            summary(Path(args.out))
        print(f"wrote {len(files)} files under {args.out}")
    return 0
