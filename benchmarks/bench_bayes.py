"""Benchmark jdmstats.meta.bayes against R's bayesmeta (Bayesian random-effects meta-analysis).

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_bayes.py [--k 1000] [--r-k 10,20] [--r-full]

Simulated data (fixed seed), half-normal(0.5) prior on tau, uniform prior on mu, bayesmeta's
defaults.  The same data are fitted by bayesmeta in the same run (``Rscript``, timed inside R
with ``proc.time``), and the ratio R / Python is printed.  Target (issue 17): k = 1,000 in at
most 1 s.  bayesmeta's time grows as k^2 (it integrates the k x k shrinkage weights one by one
and loops over studies and grid points in R: 8.5 s at k = 10, 114 s at k = 40 on the
development machine), so at k = 1,000 it would take hours; by default it is timed at the small
``--r-k`` values only, and at ``--k`` with ``--r-full`` (up to ``--r-timeout`` seconds).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _timing import best_of  # noqa: E402

from jdmstats.meta.bayesian import bayes  # noqa: E402

R_CODE = r"""
.libPaths(c("/work/Rlib", .libPaths()))
suppressPackageStartupMessages(library(bayesmeta))
d <- read.csv("{csv}")
t0 <- proc.time()[["elapsed"]]
bm <- bayesmeta(d$y, d$s, tau.prior = function(t) dhalfnormal(t, scale = 0.5))
el <- proc.time()[["elapsed"]] - t0
cat(sprintf("R %.17g %.17g %.17g\n", el, bm$summary["median", "mu"], bm$summary["median", "tau"]))
"""


def simulate(k: int, seed: int = 17):
    rng = np.random.default_rng(seed)
    s = rng.uniform(0.1, 0.6, k)
    y = -0.5 + 0.3 * rng.standard_normal(k) + s * rng.standard_normal(k)
    return y, s


def time_r(y, s, timeout: float):
    """(seconds, mu median, tau median) from bayesmeta, or None (no R / timeout / error)."""
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        csv.write_text("y,s\n" + "\n".join(f"{float(a)!r},{float(b)!r}" for a, b in zip(y, s, strict=True)))
        try:
            out = subprocess.run(
                ["Rscript", "-e", R_CODE.format(csv=csv.as_posix())],
                capture_output=True, text=True, check=False, timeout=timeout,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return "timeout"
    for line in out.stdout.splitlines():
        if line.startswith("R "):
            return tuple(float(x) for x in line.split()[1:])
    print("Rscript failed:\n" + out.stderr[-2000:])
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--r-k", default="10,20", help="comma-separated k for bayesmeta")
    ap.add_argument("--r-full", action="store_true", help="also time bayesmeta at --k")
    ap.add_argument("--r-timeout", type=float, default=3600.0)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args(argv)
    ks = [int(x) for x in args.r_k.split(",") if x]
    print("Bayesian random-effects meta-analysis, half-normal(0.5) tau prior, uniform mu prior")
    print(f"{'k':>6} {'jdmstats [s]':>13} {'bayesmeta [s]':>14} {'ratio R/py':>11} "
          f"{'|d mu median|':>14} {'|d tau median|':>15}")  # fmt: skip
    bayes(*simulate(5))  # warm-up (imports)
    for k in sorted(set(ks + [args.k])):
        y, s = simulate(k)
        t_py = best_of(lambda y=y, s=s: bayes(y, sei=s), repeat=args.reps)
        fit = bayes(y, sei=s)
        r = time_r(y, s, args.r_timeout) if (k in ks or args.r_full) else None
        if isinstance(r, tuple):
            t_r, mu, tau = r
            d_mu = abs(fit.table.loc["median", "mu"] - mu)
            d_tau = abs(fit.table.loc["median", "tau"] - tau)
            print(f"{k:>6} {t_py:>13.4f} {t_r:>14.2f} {t_r / t_py:>10.0f}x {d_mu:>14.2e} "
                  f"{d_tau:>15.2e}")  # fmt: skip
        else:
            note = f"> {args.r_timeout:.0f}" if r == "timeout" else "not run"
            print(f"{k:>6} {t_py:>13.4f} {note:>14} {'-':>11}")


if __name__ == "__main__":
    main()
