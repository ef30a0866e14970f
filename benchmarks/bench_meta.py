"""Benchmark jdmstats.meta against metafor: REML (k = 2,000 and 1,000,000) and permutations.

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_meta.py

The same simulated data are written to a temporary CSV and fitted by metafor in the same run
(``Rscript``, timed inside R with ``proc.time``).  Targets (issue 4): REML k = 2,000 at least
100x faster than metafor; REML k = 1,000,000 under 2 s with memory linear in k; a
1,000-iteration permutation test at k = 50 at least 10x faster than ``permutest``.
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from _timing import best_of, run_r

from jdmstats.meta._solver import fit_batch
from jdmstats.meta.model import random_effects
from jdmstats.meta.regression import metareg, permutation_test


def simulate(k: int, seed: int = 1, slope: float = 0.0):
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.2, k)
    x = rng.normal(size=k)
    yi = rng.normal(0.3 + slope * x, np.sqrt(vi + 0.05))
    return yi, vi, x


def first(times: list[float] | None) -> float | None:
    return None if times is None else times[0]


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    ctrl = "control=list(threshold=1e-10, maxiter=1000)"

    # 1. REML, k = 2,000 -------------------------------------------------------------
    yi, vi, _ = simulate(2000)
    f = tmp / "k2000.csv"
    np.savetxt(f, np.column_stack([yi, vi]), delimiter=",", header="yi,vi", comments="")
    reps = 1  # metafor needs ~1.5 min per fit at k = 2,000 (k x k matrices)
    r_sec = first(
        run_r(
            f"suppressMessages(library(metafor)); d <- read.csv('{f}');"
            f"t <- proc.time(); for (i in 1:{reps}) r <- rma(yi, vi, data=d, method='REML', {ctrl});"
            f"cat((proc.time() - t)[['elapsed']] / {reps}, '\\n')"
        )
    )
    py_fit = best_of(lambda: fit_batch(yi, vi, method="REML"), 20)
    py_full = best_of(lambda: random_effects(yi, vi, method="REML"), 10)
    print("REML, k = 2,000")
    print(f"  jdmstats fit_batch      : {py_fit * 1e3:9.2f} ms")
    print(f"  jdmstats random_effects : {py_full * 1e3:9.2f} ms  (incl. Q-profile CI, PI, I^2)")
    if r_sec is not None:
        print(f"  metafor rma.uni         : {r_sec * 1e3:9.2f} ms")
        print(f"  ratio metafor / jdmstats: {r_sec / py_fit:9.1f}x (fit_batch), "
              f"{r_sec / py_full:.1f}x (random_effects)   target >= 100x")  # fmt: skip

    # 2. REML, k = 1,000,000 ------------------------------------------------------------
    yi, vi, _ = simulate(1_000_000, seed=2)
    fit_batch(yi[:1000], vi[:1000], method="REML")  # warm-up
    tracemalloc.start()
    t0 = time.perf_counter()
    fit = fit_batch(yi, vi, method="REML")
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    random_effects(yi[:1000], vi[:1000], method="REML")  # warm-up (imports scipy.stats)
    t_full = best_of(lambda: random_effects(yi, vi, method="REML"), 2)
    print("\nREML, k = 1,000,000")
    print(f"  fit_batch: {elapsed:.3f} s, {int(fit.iterations[0])} Fisher-scoring iterations, "
          f"peak traced memory {peak / 2**20:.0f} MiB "
          f"({peak / (8 * 1_000_000):.1f} doubles per study)   target < 2 s")  # fmt: skip
    print(f"  random_effects (incl. Q-profile CI): {t_full:.3f} s")

    # 3. permutation test, 1,000 iterations, k = 50 ------------------------------------------
    yi, vi, x = simulate(50, seed=3, slope=0.1)
    f = tmp / "k50.csv"
    np.savetxt(f, np.column_stack([yi, vi, x]), delimiter=",", header="yi,vi,x", comments="")
    r_sec = first(
        run_r(
            f"suppressMessages(library(metafor)); d <- read.csv('{f}');"
            f"r <- rma(yi, vi, mods=~x, data=d, method='REML', {ctrl}); set.seed(1);"
            "t <- proc.time(); p <- permutest(r, iter=1000, progbar=FALSE);"
            "cat((proc.time() - t)[['elapsed']], '\\n')"
        )
    )
    reg = metareg(yi, vi, x, method="REML")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        py = best_of(lambda: permutation_test(reg, n_iter=1000, seed=1), 3)
    print("\nPermutation test, 1,000 iterations, k = 50 (REML, one moderator)")
    print(f"  jdmstats permutation_test: {py * 1e3:9.1f} ms")
    if r_sec is not None:
        print(f"  metafor permutest        : {r_sec * 1e3:9.1f} ms")
        print(f"  ratio metafor / jdmstats : {r_sec / py:9.1f}x   target >= 10x")


if __name__ == "__main__":
    main()
