"""Timing helpers shared by the benchmark scripts (imported as ``_timing``: scripts run from
``benchmarks/`` have it on ``sys.path``)."""

from __future__ import annotations

import shutil
import subprocess
import time


def best_of(fn, repeat: int = 5) -> float:
    """Smallest wall time of ``repeat`` calls of ``fn()``, in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run_r(code: str) -> list[float] | None:
    """Run R code whose last printed line holds seconds (space-separated); None without Rscript."""
    if shutil.which("Rscript") is None:
        return None
    out = subprocess.run(
        ["Rscript", "-e", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    return [float(x) for x in out.splitlines()[-1].split()]
