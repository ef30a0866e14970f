"""Benchmark: binomial-normal GLMM (jdmstats.meta.binomial_glmm vs metafor::rma.glmm).

Fits the random-intercept logistic model to k = 200 simulated studies (fixed seed) with
``nAGQ = 7`` (metafor's default) and ``nAGQ = 1`` (Laplace) in both implementations, in the same
run, and prints the timings and the speed ratio (R time / Python time).  R timings are taken
inside R with ``proc.time()``; metafor is run with its default settings (no tightened
tolerances) so that the comparison is with what a user gets.

Usage:  python benchmarks/bench_glmm.py [--k 200] [--reps 5]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jdmstats.meta.glmm import binomial_glmm  # noqa: E402

R_CODE = r"""
suppressPackageStartupMessages(library(metafor))
d <- read.csv("{csv}")
for (q in c(7, 1)) {{
  invisible(rma.glmm(measure = "PLO", xi = d$xi, ni = d$ni, nAGQ = q))  # warm-up
  t0 <- proc.time()[["elapsed"]]
  for (r in seq_len({reps})) res <- rma.glmm(measure = "PLO", xi = d$xi, ni = d$ni, nAGQ = q)
  el <- (proc.time()[["elapsed"]] - t0) / {reps}
  cat(sprintf("R %d %.17g %.17g %.17g\n", q, el, res$beta, res$tau2))
}}
"""


def simulate(k: int, seed: int = 20240601):
    rng = np.random.default_rng(seed)
    n = rng.integers(10, 300, size=k)
    logit = -1.2 + 0.9 * rng.standard_normal(k)
    x = rng.binomial(n, 1 / (1 + np.exp(-logit)))
    return x, n


def time_python(x, n, nodes, reps):
    binomial_glmm(x, n, n_nodes=nodes)  # warm-up (imports)
    t0 = time.perf_counter()
    for _ in range(reps):
        fit = binomial_glmm(x, n, n_nodes=nodes)
    return (time.perf_counter() - t0) / reps, fit


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--k", type=int, default=200)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args(argv)
    x, n = simulate(args.k)
    py = {q: time_python(x, n, q, args.reps) for q in (7, 1)}
    r = {}
    if shutil.which("Rscript"):
        with tempfile.TemporaryDirectory() as tmp:
            csv = Path(tmp) / "d.csv"
            csv.write_text(
                "xi,ni\n" + "\n".join(f"{a},{b}" for a, b in zip(x, n, strict=True)) + "\n"
            )
            out = subprocess.run(
                ["Rscript", "-e", R_CODE.format(csv=csv.as_posix(), reps=args.reps)],
                capture_output=True,
                text=True,
                check=False,
            )
        for line in out.stdout.splitlines():
            if line.startswith("R "):
                _, q, el, beta, tau2 = line.split()
                r[int(q)] = (float(el), float(beta), float(tau2))
        if not r:
            print("Rscript failed:\n" + out.stderr[-2000:])
    else:
        print("Rscript not found: printing jdmstats timings only")

    print(f"Binomial-normal GLMM, k = {args.k} studies, {args.reps} repetitions")
    print(
        f"{'nAGQ':>5} {'jdmstats [s]':>13} {'metafor [s]':>12} {'ratio R/py':>11} "
        f"{'|d beta|':>10} {'|d tau2|':>10}"
    )
    for q in (7, 1):
        t_py, fit = py[q]
        if q in r:
            t_r, beta, tau2 = r[q]
            print(
                f"{q:>5} {t_py:>13.4f} {t_r:>12.4f} {t_r / t_py:>10.1f}x "
                f"{abs(fit.estimate - beta):>10.2e} {abs(fit.tau2 - tau2):>10.2e}"
            )
        else:
            print(f"{q:>5} {t_py:>13.4f} {'-':>12} {'-':>11}")


if __name__ == "__main__":
    main()
