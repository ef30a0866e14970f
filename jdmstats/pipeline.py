"""The main job: every analysis on one harmonised data set, written to ``tables/`` and ``figures/``.

``jdmstats run`` calls :func:`run`. Each step is a function ``step(tables, out) -> list[Path]``
registered in :data:`STEPS` (``--only NAME`` runs some of them). A step receives the validated
harmonised tables (:func:`jdmstats.datasets.load_all`) and the output root, writes its tables
to ``out/tables`` and its figures to ``out/figures``, and returns the paths it wrote.

Progress
--------
A step that runs a long loop (bootstrap, permutations) can show a bar on the terminal in either
of two ways; both do nothing when progress is not shown (not a terminal, ``--quiet``, or a
call outside ``jdmstats run``):

* accept a ``progress`` keyword: ``def pipeline_step(tables, out, progress=None)``; it is then
  called as ``progress(done, total, label)``;
* or call :func:`progress` / iterate with :func:`track` from anywhere inside the step::

      from jdmstats.pipeline import track
      for b in track(range(n_boot), label="bootstrap"):
          ...

Parallel steps
--------------
``jdmstats run`` runs independent steps in forked worker processes, one per core
(:func:`default_jobs`; ``--jobs 1`` or ``run(jobs=1)``, the library default, runs them one after
the other). A step must therefore only write its own files and take its random numbers from its
own seeded generator; the manifest and ``warnings.csv`` are assembled in step order, so the
files are the same for any number of workers.

Reproducibility
---------------
Tables are written by :func:`write_table` with a fixed float format, LF line ends and the row
order the step chose; figures by :func:`jdmstats.plots.style.save` (PDF without dates, fonts
embedded). ``figures/MANIFEST.json`` records, for every file written, the step that wrote it,
the SHA-256 of the harmonised data it was made from (:func:`data_fingerprint`), the jdmstats
version and the SHA-256 of the file itself, plus the versions of the dependencies. Two runs on
the same data with the same dependency versions give byte-identical files and manifest.

Examples
--------
>>> from jdmstats import pipeline
>>> list(pipeline.STEPS)
['descriptive', 'prevalence', 'delay', 'response', 'prisma']
>>> written = pipeline.run(out="/tmp/jdmstats-out", only=["descriptive"], quiet=True)
>>> [p.name for p in written][-2:]
['warnings.csv', 'MANIFEST.json']
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import importlib
import inspect
import json
import os
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

import pandas as pd

from .errors import JdmstatsError

FLOAT_FORMAT = "%.10g"
MANIFEST = "MANIFEST.json"
DEPENDENCIES = (
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "lifelines",
    "matplotlib",
    "fonttools",
    "pillow",
)
"""Packages whose versions are recorded in the manifest (and in the HTML report)."""


class StepError(JdmstatsError):
    """One or more steps could not run (module missing or broken, or the step failed)."""


# --------------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------------


def _bar(done: int, total: int, width: int) -> str:
    """``[####----] done/total`` for a progress line."""
    fill = int(round(min(max(done / total, 0.0), 1.0) * width))
    return f"[{'#' * fill}{'-' * (width - fill)}] {done}/{total}"


class Progress:
    """Progress of one step: a line on a terminal, with a bar for long loops.

    Call it as ``progress(done, total, label)``. When ``stream`` is ``None`` every call is a
    no-op, so steps can report progress unconditionally.
    """

    def __init__(self, name: str, stream: TextIO | None = None, width: int = 24):
        self.name = name
        self.stream = stream
        self.width = width
        self._last = -1.0
        self._drawn = False

    @property
    def enabled(self) -> bool:
        return self.stream is not None

    def __call__(self, done: int, total: int, label: str = "") -> None:
        if self.stream is None or total <= 0:
            return
        now = time.perf_counter()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        self.stream.write(f"\r  {self.name:<12} {_bar(done, total, self.width)} {label}\x1b[K")
        self.stream.flush()
        self._drawn = True

    def start(self) -> None:
        if self.stream is not None:
            self.stream.write(f"  {self.name:<12} ...")
            self.stream.flush()

    def finish(self, text: str) -> None:
        if self.stream is not None:
            self.stream.write(f"\r  {self.name:<12} {text}\x1b[K\n")
            self.stream.flush()


_CURRENT: contextvars.ContextVar[Progress | None] = contextvars.ContextVar("jdmstats_progress",
                                                                          default=None)  # fmt: skip


def progress(done: int, total: int, label: str = "") -> None:
    """Report progress of the running step (a no-op outside ``jdmstats run``)."""
    current = _CURRENT.get()
    if current is not None:
        current(done, total, label)


def track(iterable: Iterable, total: int | None = None, label: str = "") -> Iterator:
    """Iterate over ``iterable`` and report progress of the running step after each item."""
    if total is None:
        total = len(iterable)  # type: ignore[arg-type]
    progress(0, total, label)
    for i, item in enumerate(iterable, 1):
        yield item
        progress(i, total, label)


# --------------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------------


def write_table(df: pd.DataFrame, path: Path) -> Path:
    """Write a results table as CSV with LF line ends and a fixed float format."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n", float_format=FLOAT_FORMAT)
    return path


def step_descriptive(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """Descriptive tables of the sources, case patients and therapy episodes."""
    from . import descriptive

    return [write_table(df, out / "tables" / f"{name}.csv")
            for name, df in descriptive.describe(tables).items()]  # fmt: skip


def step_prisma(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """PRISMA 2020 flow diagram and its counts, computed from the search log and the tables."""
    from .plots import prisma

    counts = prisma.prisma_counts(tables)
    written = [write_table(prisma.counts_table(counts), out / "tables" / "prisma.csv")]
    written += prisma.save_prisma(counts, out / "figures" / "prisma")
    return written


def _external(module: str, attribute: str = "pipeline_step",
              parts: tuple[str, ...] = ()) -> Callable[..., list[Path]]:  # fmt: skip
    """A step that imports ``jdmstats.<module>`` only when it runs.

    A missing or broken module makes this one step fail with a clear :class:`StepError`;
    it never breaks ``import jdmstats.pipeline`` or the other steps. ``parts`` names functions
    of the module that together write exactly what ``attribute`` writes; parallel runs
    schedule them as separate tasks (``step.parts``), sequential runs call ``attribute``.
    """

    def step(tables: dict[str, pd.DataFrame], out: Path, progress=None) -> list[Path]:
        try:
            mod = importlib.import_module(f"{__package__}.{module}")
            func = getattr(mod, attribute)
        except Exception as exc:  # noqa: BLE001 - any import failure is reported the same way
            raise StepError(f"step {module!r} is not available: jdmstats.{module}."
                            f"{attribute} could not be loaded ({type(exc).__name__}: {exc})"
                            ) from exc  # fmt: skip
        if "progress" in inspect.signature(func).parameters:
            return list(func(tables, out, progress=progress))
        return list(func(tables, out))

    step.__name__ = f"step_{module}"
    step.__doc__ = f"``jdmstats.{module}.{attribute}(tables, out)``, imported when it runs."
    step.parts = tuple(_external(module, part) for part in parts)
    return step


STEPS: dict[str, Callable[..., list[Path]]] = {
    "descriptive": step_descriptive,
    "prevalence": _external("prevalence", parts=("pipeline_step_main", "pipeline_step_sensitivity")),
    "delay": _external("delay"),
    "response": _external("response"),
    "prisma": step_prisma,
}
"""Analysis steps in the order ``jdmstats run`` runs them."""


def resolve_data(data: str | os.PathLike | None, workdir: Path) -> Path:
    """Return a harmonised folder for ``data``: the bundled data, a harmonised folder, or an
    extraction folder (harmonised into ``workdir`` first)."""
    from . import datasets, harmonise

    if data is None:
        return datasets.data_dir()
    folder = Path(data)
    if (folder / "studies.csv").exists():
        return folder
    if (folder / "harmonised" / "studies.csv").exists():
        return folder / "harmonised"
    extraction = folder / "extraction" if (folder / "extraction").is_dir() else folder
    if any(extraction.glob("*.yaml")):
        target = workdir / "harmonised"
        harmonise.harmonise(extraction, target)
        return target
    from .errors import DataValidationError, Problem

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


# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def data_files(folder: str | os.PathLike) -> dict[str, str]:
    """SHA-256 of every harmonised table (``*.csv`` of :data:`jdmstats.schema.TABLES`) in a folder."""
    from . import schema

    folder = Path(folder)
    return {t.filename: sha256_file(folder / t.filename) for t in schema.TABLES.values()
            if (folder / t.filename).exists()}  # fmt: skip


def data_fingerprint(folder: str | os.PathLike) -> str:
    """One SHA-256 for a harmonised data set: the hash of its tables' names and hashes.

    Line ends and row order count: the harmonised CSVs are written deterministically by
    ``jdmstats harmonise``, so the same data always give the same fingerprint.
    """
    text = "".join(f"{name} {h}\n" for name, h in sorted(data_files(folder).items()))
    return hashlib.sha256(text.encode()).hexdigest()


def versions() -> dict[str, str]:
    """Versions of Python (major.minor), the dependencies and jdmstats."""
    from importlib import metadata

    from . import __version__

    out = {"python": "{}.{}".format(*sys.version_info[:2])}
    for name in DEPENDENCIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover
            out[name] = "not installed"
    out["jdmstats"] = __version__
    return out


def read_manifest(out: str | os.PathLike) -> dict:
    """The manifest of an output root (``out/figures/MANIFEST.json``), or an empty one."""
    path = Path(out) / "figures" / MANIFEST
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"files": {}, "data": {}}


def write_manifest(out: Path, entries: dict[str, dict], data: dict[str, dict],
                   replace_steps: set[str] | None) -> Path:  # fmt: skip
    """Write ``out/figures/MANIFEST.json``.

    ``replace_steps`` None: the manifest describes exactly this run. Otherwise the entries of
    those steps replace theirs in the existing manifest and the other steps' entries are kept.
    """
    from . import __version__

    files: dict[str, dict] = {}
    known: dict[str, dict] = {}
    if replace_steps is not None:
        old = read_manifest(out)
        files = {k: v for k, v in old.get("files", {}).items()
                 if v.get("step") not in replace_steps and (out / k).exists()}  # fmt: skip
        known = dict(old.get("data", {}))
    files.update(entries)
    known.update(data)
    used = {v["data_sha256"] for v in files.values()}
    manifest = {
        "about": "Files written by `jdmstats run`: the step that wrote each, the SHA-256 of the "
                 "harmonised data it was made from (data_sha256, see `data`), the jdmstats "
                 "version, and the SHA-256 of the file itself.",
        "jdmstats_version": __version__,
        "versions": versions(),
        "data": {k: known[k] for k in sorted(used) if k in known},
        "files": dict(sorted(files.items())),
    }  # fmt: skip
    path = out / "figures" / MANIFEST
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# Run
# --------------------------------------------------------------------------------------------

NOTES = "warnings.csv"
"""Warnings the steps raised (``step``, ``category``, ``message``), in ``out/tables``."""


def write_notes(out: Path, notes: list[tuple[str, str, str]], replace_steps: set[str] | None
                ) -> Path:  # fmt: skip
    """Write the steps' warnings to ``out/tables/warnings.csv`` (merged with the warnings of
    the steps not re-run when ``replace_steps`` is given)."""
    path = out / "tables" / NOTES
    rows = list(notes)
    if replace_steps is not None and path.exists():
        old = pd.read_csv(path, dtype=str, keep_default_na=False)
        kept = [tuple(r) for r in old[["step", "category", "message"]].itertuples(index=False)
                if r[0] not in replace_steps]  # fmt: skip
        order = {n: i for i, n in enumerate(STEPS)}
        rows = sorted(kept + rows, key=lambda r: order.get(r[0], len(order)))
    return write_table(pd.DataFrame(rows, columns=["step", "category", "message"]), path)


def _rel(path: Path, out: Path) -> str:
    try:
        return Path(os.path.relpath(Path(path).resolve(), out.resolve())).as_posix()
    except ValueError:  # pragma: no cover - other drive on Windows
        return Path(path).as_posix()


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


def _execute(name: str, tables: dict[str, pd.DataFrame], out: Path,
             bar: Callable[..., None], part: int | None = None) -> tuple:  # fmt: skip
    """Run one step with the jdmstats style, its figures closed and its warnings recorded.

    Returns ``(name, files, notes, error, seconds)``; ``error`` is the message of a failure
    (the other steps still run), ``notes`` the ``(step, category, message)`` of each distinct
    :class:`UserWarning` the step raised. ``part`` runs only that part of the step
    (``STEPS[name].parts[part]``).
    """
    from .errors import DataValidationError
    from .plots import style

    step = STEPS[name] if part is None else STEPS[name].parts[part]
    start = time.perf_counter()
    token = _CURRENT.set(bar)
    files: list[Path] = []
    error = None
    try:
        with style.context(), _own_figures(), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if "progress" in inspect.signature(step).parameters:
                files = list(step(tables, out, progress=bar))
            else:
                files = list(step(tables, out))
    except DataValidationError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported per step, the others still run
        if os.environ.get("JDMSTATS_TRACEBACK"):
            raise
        error = str(exc) if isinstance(exc, StepError) else (
            f"step {name!r} failed: {type(exc).__name__}: {exc}")  # fmt: skip
        caught = []
    finally:
        _CURRENT.reset(token)
    notes: list[tuple[str, str, str]] = []
    for w in caught:
        if not issubclass(w.category, UserWarning):
            continue  # library noise (deprecations, numpy floating-point notices)
        row = (name, w.category.__name__, " ".join(str(w.message).split()))
        if row not in notes:
            notes.append(row)
    return (name, [Path(f) for f in files], notes, error, time.perf_counter() - start)


def _summary(outcome: tuple) -> str:
    _, files, _, error, seconds = outcome
    if error is not None:
        return f"FAILED  {error}"
    n_fig = sum(1 for f in files if Path(f).suffix == ".pdf")
    n_tab = sum(1 for f in files if Path(f).suffix == ".csv")
    return f"{n_tab:2d} table(s) {n_fig:2d} figure(s)  {seconds:6.2f} s"


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


# Shared with forked workers (set before the pool starts; never pickled).
_WORK: dict = {}


def _worker(name: str, part: int | None = None) -> tuple:
    queue = _WORK["queue"]

    def bar(done: int, total: int, label: str = "") -> None:
        if queue is not None:
            queue.put((name, done, total, label))

    return _execute(name, _WORK["tables"], _WORK["out"], bar, part)


def _merge(outcomes: list[tuple]) -> tuple:
    """One step's outcome from the outcomes of its parts (in part order)."""
    name = outcomes[0][0]
    files = [f for o in outcomes for f in o[1]]
    notes: list[tuple[str, str, str]] = []
    for o in outcomes:
        notes += [r for r in o[2] if r not in notes]
    errors = [o[3] for o in outcomes if o[3] is not None]
    return (name, files, notes, "; ".join(errors) if errors else None,
            sum(o[4] for o in outcomes))  # fmt: skip


# Relative cost of the steps on the bundled data, to start the longest first (a hint only:
# any order gives the same files).
COST = {"prevalence": 3, "response": 2}


class _Board:
    """The terminal display of steps running in parallel: a finished line per step and one
    status line (running steps, with a bar for any that reports progress)."""

    def __init__(self, stream: TextIO | None):
        self.stream = stream
        self.running: dict[str, str] = {}
        self.lock = threading.Lock()

    def _status(self) -> None:
        text = "  running: " + ", ".join(f"{n}{v}" for n, v in self.running.items())
        self.stream.write(f"\r{text[:110]}\x1b[K")
        self.stream.flush()

    def started(self, names: list[str]) -> None:
        if self.stream is None:
            return
        with self.lock:
            self.running.update({n: "" for n in names})
            self._status()

    def progress(self, name: str, done: int, total: int, label: str) -> None:
        if self.stream is None or name not in self.running or total <= 0:
            return
        with self.lock:
            self.running[name] = f" {_bar(done, total, 12)} {label}"
            self._status()

    def finished(self, outcome: tuple, notes: list[tuple[str, str, str]]) -> None:
        if self.stream is None:
            return
        with self.lock:
            self.running.pop(outcome[0], None)
            self.stream.write(f"\r  {outcome[0]:<12} {_summary(outcome)}\x1b[K\n")
            for _, category, message in notes:
                self.stream.write(f"      {category}: {message}\n")
            if self.running:
                self._status()
            self.stream.flush()


def _run_parallel(names: list[str], tables, out: Path, jobs: int,
                  stream: TextIO | None) -> dict[str, tuple]:  # fmt: skip
    """Run ``names`` in ``jobs`` forked worker processes; outcomes by step name.

    The workers are forked when the first step is submitted, before this process starts any
    thread (the progress listener starts after), so no lock is copied in a held state.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = multiprocessing.get_context("fork")
    board = _Board(stream)
    queue = ctx.SimpleQueue() if stream is not None else None
    _WORK.update(tables=tables, out=out, queue=queue)
    listener = None

    def listen() -> None:
        while True:
            item = queue.get()
            if item is None:
                return
            board.progress(*item)

    tasks = [(n, i) for n in names for i in range(len(getattr(STEPS[n], "parts", ())))]
    tasks += [(n, None) for n in names if not getattr(STEPS[n], "parts", ())]
    tasks.sort(key=lambda t: -COST.get(t[0], 1))  # stable: longest steps start first
    pending = {n: sum(1 for t in tasks if t[0] == n) for n in names}
    done: dict[str, list] = {n: [] for n in names}
    outcomes: dict[str, tuple] = {}
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            futures = {pool.submit(_worker, n, i): (n, i) for n, i in tasks}  # forks the workers
            board.started(names)
            if queue is not None:
                listener = threading.Thread(target=listen, daemon=True)
                listener.start()
            for future in as_completed(futures):
                name, part = futures[future]
                done[name].append((part or 0, future.result()))
                pending[name] -= 1
                if pending[name] == 0:
                    outcome = _merge([o for _, o in sorted(done[name], key=lambda x: x[0])])
                    outcomes[name] = outcome
                    board.finished(outcome, outcome[2])
    finally:
        _WORK.clear()
        if listener is not None:
            queue.put(None)
            listener.join(timeout=5)
    return outcomes


def run(data=None, out: str | os.PathLike = ".", only: list[str] | None = None,
        quiet: bool = False, stream: TextIO | None = None, jobs: int = 1) -> list[Path]:
    """Run the analyses and write their tables and figures under ``out``.

    Parameters
    ----------
    data : path-like, optional
        Harmonised folder, extraction folder, or ``None`` for the bundled data.
    out : path-like
        Output root; tables go to ``out/tables`` and figures to ``out/figures``.
    only : list of str, optional
        Names of :data:`STEPS` to run (default: all).
    quiet : bool
        Print no progress. Progress is printed only when ``stream`` (default: stderr) is a
        terminal.
    stream : file, optional
        Where progress goes (default ``sys.stderr``); progress is shown only on a terminal.
    jobs : int
        Worker processes: 1 (default) runs the steps one after the other in this process;
        more runs independent steps in parallel in forked processes (Linux only; see
        :func:`default_jobs`, which ``jdmstats run`` uses). The files written are the same
        either way: every step seeds its own random numbers and writes its own files, and
        the manifest and warnings are assembled in step order.

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
    from . import __version__, datasets

    unknown = sorted(set(only or ()) - set(STEPS))
    if unknown:
        raise ValueError(f"unknown step(s) {', '.join(unknown)}; accepted: {', '.join(STEPS)}")
    stream = sys.stderr if stream is None else stream
    show = not quiet and hasattr(stream, "isatty") and stream.isatty()
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
        fingerprint = data_fingerprint(folder)
        data_info = {fingerprint: data_files(folder)}
        if jobs > 1:
            outcomes = _run_parallel(names, tables, out, jobs, stream if show else None)
        else:
            outcomes = {}
            for name in names:
                bar = Progress(name, stream if show else None)
                bar.start()
                outcome = _execute(name, tables, out, bar)
                outcomes[name] = outcome
                bar.finish(_summary(outcome))
                if show:
                    for _, category, message in outcome[2]:
                        stream.write(f"      {category}: {message}\n")
    written: list[Path] = []
    entries: dict[str, dict] = {}
    notes: list[tuple[str, str, str]] = []
    failures: list[str] = []
    for name in names:  # step order, whatever order the steps finished in
        _, files, step_notes, error, _ = outcomes[name]
        if error is not None:
            failures.append(error)
            continue
        notes += [r for r in step_notes if r not in notes]
        for f in files:
            entries[_rel(f, out)] = {"step": name, "data_sha256": fingerprint,
                                     "jdmstats_version": __version__,
                                     "sha256": sha256_file(f)}  # fmt: skip
        written += files
    notes_path = write_notes(out, notes, set(names) if only else None)
    entries[_rel(notes_path, out)] = {"step": "pipeline", "data_sha256": fingerprint,
                                      "jdmstats_version": __version__,
                                      "sha256": sha256_file(notes_path)}  # fmt: skip
    written.append(notes_path)
    replace = ({*only, "pipeline"}) if only else None
    if replace is None and not failures:  # a full run: remove outputs it no longer makes
        for rel in read_manifest(out).get("files", {}):
            old = out / rel
            if rel not in entries and old.is_file() and old.parent.name in ("figures", "tables"):
                old.unlink()
    written.append(write_manifest(out, entries, data_info, replace))
    if failures:
        raise StepError("; ".join(failures))
    return written


def script_main(step: str, doc: str, argv: list[str] | None = None, summary=None) -> int:
    """Entry point shared by the per-question scripts in ``analyses/``.

    Parses ``--data``, ``--out`` (default: the repository root, else the current folder) and
    ``--quiet``, runs the one pipeline ``step`` through :func:`run` (so the manifest and
    ``warnings.csv`` stay consistent with ``jdmstats run``), prints the step's warnings as
    notes and then ``summary(out)``, the step's headline numbers.
    """
    import argparse

    repo = Path(__file__).resolve().parent.parent
    default_out = repo if (repo / "data" / "extraction").is_dir() else Path.cwd()
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--data", default=None,
                    help="harmonised or extraction folder (default: the bundled data)")  # fmt: skip
    ap.add_argument("--out", default=str(default_out), help="output root (tables/ and figures/)")
    ap.add_argument("--quiet", action="store_true", help="print nothing but errors")
    args = ap.parse_args(argv)
    from .errors import DataValidationError

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
