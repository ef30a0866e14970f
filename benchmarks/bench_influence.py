"""Benchmark jdmstats.meta leave-one-out / influence diagnostics against metafor.

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_influence.py

The same simulated data (k = 200 studies) are written to a temporary CSV and analysed by
metafor in the same run (``Rscript``; the work is timed inside R with ``proc.time``, so R's
start-up is not counted).  Target (issue 4): ``leave_one_out`` at k = 200 (REML) at least
20x faster than ``metafor::leave1out``.  Also reported: ``influence`` vs
``metafor::influence`` and ``cumulative`` vs ``metafor::cumul``.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
from _timing import best_of, run_r

from jdmstats.meta.diagnostics import cumulative, influence, leave_one_out
from jdmstats.meta.model import random_effects

K = 200


def simulate(k: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.2, k)
    yi = rng.normal(0.3, np.sqrt(vi + 0.05))
    return yi, vi


def main() -> None:
    yi, vi = simulate(K)
    tmp = Path(tempfile.mkdtemp())
    csv = tmp / "dat.csv"
    np.savetxt(csv, np.column_stack([yi, vi]), delimiter=",", header="yi,vi", comments="")
    fit = random_effects(yi, vi, method="REML")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_loo = best_of(lambda: leave_one_out(fit))
        t_inf = best_of(lambda: influence(fit))
        t_cum = best_of(lambda: cumulative(fit, order=vi))

    r_code = f"""
suppressPackageStartupMessages(library(metafor))
d <- read.csv("{csv.as_posix()}")
ctrl <- list(threshold = 1e-10, maxiter = 1000)
res <- rma(yi, vi, data = d, method = "REML", control = ctrl)
best <- function(f, n = 3) min(replicate(n, {{ t0 <- proc.time(); f(); (proc.time() - t0)[3] }}))
t1 <- best(function() leave1out(res), n = 1)
t2 <- best(function() influence(res), n = 1)
t3 <- best(function() cumul(res, order = d$vi), n = 1)
cat(t1, t2, t3, "\\n")
"""
    r_times = run_r(r_code)
    print(f"k = {K}, REML, test = z")
    rows = [("leave_one_out vs leave1out", t_loo), ("influence vs influence", t_inf),
            ("cumulative vs cumul", t_cum)]  # fmt: skip
    for i, (name, t_py) in enumerate(rows):
        if r_times is None:
            print(f"{name:32s} jdmstats {t_py * 1e3:8.2f} ms   (Rscript not available)")
        else:
            t_r = r_times[i]
            print(
                f"{name:32s} jdmstats {t_py * 1e3:8.2f} ms   metafor {t_r * 1e3:9.1f} ms   "
                f"ratio {t_r / t_py:7.1f}x"
            )
    if r_times is not None:
        ok = r_times[0] / t_loo >= 20
        print(f"target leave-one-out >= 20x: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
