"""Time a full regeneration (``jdmstats run``: every analysis and figure) against its floor.

The floor is a fresh interpreter that only imports the dependencies the run needs (pandas,
statsmodels, lifelines, matplotlib with pyplot); the target (issue 12) is a full run in at most 2x that
floor. Both are timed in this same run, as fresh processes, in turn (floor, run, floor, run,
... after one untimed warm-up of each), so that a machine that speeds up or slows down during
the benchmark moves both alike; the ratio is the median of the ``--repeat`` (default 5)
per-pair ratios. A third process, timed in the same turns, does only the run's setup (CLI, data
and the steps' imports, as before the workers are forked): what the floor leaves of the budget
to the analyses and figures. Prints the times and the ratio; asserts nothing (tests never time
things).

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
    """What a run does before its first analysis: import the CLI, load and check the data, and
    import the modules of the steps (as the parallel runner does before forking)."""
    return ("import matplotlib; matplotlib.use('Agg'); import jdmstats.cli; "
            "from jdmstats.outputs import runner; from jdmstats.evidence import datasets; "
            f"datasets.load_all({data!r}); runner._preload(list(runner.STEPS))")  # fmt: skip


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
    args = parser.parse_args()
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
    print(f"setup of a run (CLI, data, the steps' imports; no analysis): {setup:6.2f} s = "
          f"{setup / floor:.2f}x the floor, so at the {TARGET:.1f}x target the analyses and figures "
          f"have {TARGET * floor - setup:.2f} s of wall time (they take {full - setup:.2f} s)")
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
