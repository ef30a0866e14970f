"""Time a full regeneration (``jdmstats run``: every analysis and figure) against its floor.

The floor is a fresh interpreter that only imports the dependencies the run needs (pandas,
statsmodels, lifelines, matplotlib with pyplot); the target (issue 12) is a full run in at most 2x that
floor. Both are timed in this same run, as fresh processes, in turn (floor, run, floor, run,
... after one untimed warm-up of each), so that a machine that speeds up or slows down during
the benchmark moves both alike; the ratio is the median of the ``--repeat`` (default 5)
per-pair ratios. A third process, timed in the same turns, does only what a run does before its
first analysis starts (CLI, data and the imports of the longest step's analysis, see
:func:`jdmstats.outputs.runner._run_parallel`): the part of the run that uses one core. Prints
the times and the ratio; asserts nothing (tests never time things).

The floor's libraries are imported from their compiled bytecode (``__pycache__``, written when
they were installed); so that jdmstats is too, its package is byte-compiled first (as Python does
on the first import unless ``PYTHONDONTWRITEBYTECODE`` is set; it cost this machine about 0.1x
the floor per run). ``--no-compile`` times the run as it is.

``jdmstats run`` runs independent steps in parallel worker processes (one per core on Linux,
see :func:`jdmstats.outputs.runner.default_jobs`); ``--jobs 1`` times the sequential run as well.

Run: ``python benchmarks/bench_run.py [--repeat N] [--data DIR] [--jobs N]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR = ("import pandas, statsmodels.api, lifelines, matplotlib; matplotlib.use('Agg'); "
         "import matplotlib.pyplot")  # fmt: skip
TARGET = 2.0


def wall(cmd: list[str]) -> float:
    """Seconds of one fresh process."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def alternated(cmds: list[list[str]], repeat: int) -> list[tuple[float, ...]]:
    """Seconds of each command, ``repeat`` times in turn, after one untimed warm-up of each."""
    for cmd in cmds:
        wall(cmd)
    return [tuple(wall(cmd) for cmd in cmds) for _ in range(repeat)]


def setup_code(data: str | None) -> str:
    """What a parallel run does before its first analysis starts: import the CLI, load and
    check the data, and import the modules of the longest step's analysis."""
    return ("from jdmstats import cli; cli._headless(); from jdmstats.outputs import runner; "
            "from jdmstats.evidence import datasets; "
            f"datasets.load_all({data!r}); "
            "runner._preload(sorted(runner.STEPS, key=lambda n: -runner.COST.get(n, 1))[:1], "
            "parts=False)")  # fmt: skip


def compile_package() -> int:
    """Byte-compile the jdmstats package (files whose bytecode is missing or stale); the
    number of source files."""
    import compileall

    import jdmstats

    folder = Path(jdmstats.__file__).parent
    compileall.compile_dir(str(folder), quiet=1)
    return sum(1 for _ in folder.rglob("*.py"))


def step_times(data: str | None) -> dict[str, dict[str, float]]:
    """Seconds of each step's analysis and of each of its parts, in one process (after one
    untimed pass, so that imports and first-call costs are not counted)."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    from jdmstats.evidence import datasets
    from jdmstats.outputs import steps
    from jdmstats.plots import style

    out: dict[str, dict[str, float]] = {}
    tables = datasets.load_all(data)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for timed in (False, True):
            for name, step in steps.STEPS.items():
                times = out.setdefault(name, {})
                start = time.perf_counter()
                try:
                    result = step.analyse(tables)
                    times["analysis"] = time.perf_counter() - start
                    for part, write in step.parts:
                        start = time.perf_counter()
                        with style.context():
                            write(result, Path(tmp))
                        times[part] = time.perf_counter() - start
                except Exception as exc:  # noqa: BLE001
                    if timed:
                        print(f"  {name}: failed ({exc})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", help="harmonised folder (default: the bundled data)")
    parser.add_argument("--jobs", type=int, help="worker processes (default: jdmstats's own)")
    parser.add_argument("--no-compile", action="store_true",
                        help="do not byte-compile jdmstats first")  # fmt: skip
    args = parser.parse_args()
    if not args.no_compile:
        print(f"jdmstats byte-compiled ({compile_package()} source files; see --no-compile)")
    from jdmstats.outputs.runner import default_jobs

    jobs = args.jobs or default_jobs()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "jdmstats", "run", "--quiet", "--out", tmp, "--jobs", str(jobs)]
        if args.data:
            cmd += ["--data", args.data]
        times = alternated([[sys.executable, "-c", FLOOR], cmd,
                            [sys.executable, "-c", setup_code(args.data)]], args.repeat)  # fmt: skip
    floor, full, setup = (statistics.median(t[i] for t in times) for i in range(3))
    ratios = [r / f for f, r, _ in times]
    print(f"import floor (pandas, statsmodels, lifelines, matplotlib): {floor:6.2f} s (median)")
    print(f"jdmstats run --jobs {jobs} (all analyses and figures):         {full:6.2f} s (median)")
    print("per pair (floor, run, ratio): " + "; ".join(
        f"{f:.2f} {r:.2f} {r / f:.2f}x" for f, r, _ in times))  # fmt: skip
    print(f"before the first analysis (CLI, data, its imports; one core): {setup:6.2f} s = "
          f"{setup / floor:.2f}x the floor, so at the {TARGET:.1f}x target the rest has "
          f"{TARGET * floor - setup:.2f} s of wall time (it takes {full - setup:.2f} s)")
    print("per step, in one process (analysis, then its parts; the sum is the work the "
          "workers share):")
    total = 0.0
    for name, times in step_times(args.data).items():
        total += sum(times.values())
        parts = ", ".join(f"{k} {v:.2f}" for k, v in times.items() if k != "analysis")
        print(f"  {name:<12} {sum(times.values()):6.2f} s = analysis "
              f"{times.get('analysis', float('nan')):.2f} + {parts}")
    print(f"  {'total':<12} {total:6.2f} s")
    ratio = statistics.median(ratios)
    verdict = "within" if ratio < TARGET else "over"
    print(f"ratio: {ratio:.2f}x the import floor, median of {len(ratios)} pairs "
          f"(range {min(ratios):.2f}-{max(ratios):.2f}; {verdict} the {TARGET:.1f}x target)")


if __name__ == "__main__":
    main()
