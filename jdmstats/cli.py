"""Command line: ``jdmstats run | report | validate | new | harmonise``.

Bad data never produce a traceback: they are reported one problem per line (file, row,
column, value, rule) and the command exits with status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _repo_data() -> Path:
    from jdmstats.paths import REPO_DATA

    return REPO_DATA


def cmd_validate(args) -> int:
    from jdmstats.errors import errors_only
    from jdmstats.evidence.validate import validate_path

    problems = []
    for path in args.paths:
        problems += validate_path(path)
    write_problems(problems, args.format, sys.stdout)
    errors = errors_only(problems)
    warned = f", {len(problems) - len(errors)} warning(s)" if len(problems) > len(errors) else ""
    if errors:
        print(f"{len(errors)} problem(s) found{warned}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"ok: no problems found{warned}", file=sys.stderr)
    return 0


FORMATS = ("text", "json", "csv")
"""Output formats of ``jdmstats validate --format``."""


def write_problems(problems, fmt: str, stream) -> None:
    """Write problems as text (one line each), JSON (a list of objects) or CSV (with a header).

    JSON and CSV carry the fields ``file, row, column, value, rule, severity`` of every
    problem; JSON writes ``[]`` and CSV only its header when there is none.
    """
    if fmt == "json":
        import json

        stream.write(json.dumps([p.as_dict() for p in problems], indent=2, ensure_ascii=False)
                     + "\n")  # fmt: skip
    elif fmt == "csv":
        import csv

        writer = csv.DictWriter(stream, fieldnames=["file", "row", "column", "value", "rule",
                                                    "severity"], lineterminator="\n")  # fmt: skip
        writer.writeheader()
        writer.writerows(p.as_dict() for p in problems)
    else:
        for p in problems:
            stream.write(f"{p}\n")


def cmd_harmonise(args) -> int:
    from jdmstats.evidence.harmonise import harmonise

    extraction = Path(args.extraction) if args.extraction else _repo_data() / "extraction"
    out = Path(args.out) if args.out else extraction.parent / "harmonised"
    counts = harmonise(extraction, out, search_log=args.search_log)
    if not args.quiet:
        summary = ", ".join(f"{n} {name}" for name, n in counts.items())
        print(f"wrote {out}: {summary}", file=sys.stderr)
    return 0


def _headless() -> None:
    """Draw figures off screen (the command line never opens a window).

    Before matplotlib is imported, through ``MPLBACKEND``, so that a command imports it only
    when it draws (a parallel run imports it while the first analysis runs).
    """
    import os

    if "matplotlib" in sys.modules:
        sys.modules["matplotlib"].use("Agg")
    else:
        os.environ["MPLBACKEND"] = "Agg"


def _one_blas_thread() -> None:
    """Run numpy's BLAS on one thread in this process and its workers (unless the user set it).

    The matrices of a meta-analysis are tiny (k x k); BLAS threads only compete with the step
    workers for the cores (a 3-level model of 45 cohorts took 10x longer with OpenBLAS's
    threads on a busy 2-core machine), and one thread keeps the floating-point summation order
    the same on every machine. Effective only before numpy is imported, as from the command line.
    """
    import os

    if "numpy" not in sys.modules:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")


def cmd_run(args) -> int:
    _one_blas_thread()
    from jdmstats.outputs.runner import default_jobs, run

    _headless()
    only = [s for item in args.only for s in item] if args.only is not None else None
    jobs = args.jobs if args.jobs is not None else default_jobs()
    files = run(data=args.data, out=args.out, only=only, quiet=args.quiet, jobs=jobs,
                bootstrap_reps=args.bootstrap_reps, seed=args.seed)  # fmt: skip
    if not args.quiet:
        print(f"wrote {len(files)} file(s) under {Path(args.out).resolve()}", file=sys.stderr)
    return 0


def cmd_new(args) -> int:
    from jdmstats.evidence.skeleton import new_source

    made = new_source(args.kind, args.study_id, args.into)
    print(made.path)
    if args.quiet:
        return 0
    say = lambda text: print(text, file=sys.stderr)  # noqa: E731
    if made.copied:
        what = ", ".join(f"{n} {k}" if k != "search log" else "the search log"
                         for k, n in made.copied.items())  # fmt: skip
        say(f"{made.folder} is new: copied the bundled data into it ({what}), so it holds the "
            "bundled data plus your file")
    say(f"wrote a {args.kind} skeleton: replace every TODO (null = not stated)")
    if made.search_log_row:
        say(f"added search-log row {made.search_log_row} (other methods) that includes "
            f"{args.study_id}: edit its query text to say how you found the source")
    say(f"next: jdmstats validate {made.folder}   then   jdmstats run --data {made.folder} "
        "--out DIR")
    return 0


def cmd_report(args) -> int:
    _one_blas_thread()
    from jdmstats.report import write_report

    _headless()
    path = write_report(data=args.data, out=args.out, results=args.results, quiet=args.quiet,
                        tables=[f for item in (args.tables or []) for f in item.split(",") if f])
    if not args.quiet:
        print(f"wrote {path.resolve()}", file=sys.stderr)
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def _step_names(steps):
    """``--only`` value: one or more step names, comma-separated; empty or unknown is an error."""

    def parse(text: str) -> list[str]:
        names = [s.strip() for s in text.split(",") if s.strip()]
        accepted = f"accepted: {', '.join(steps)}"
        if not names:
            raise argparse.ArgumentTypeError(f"names no step ({text!r}); {accepted}")
        unknown = [n for n in names if n not in steps]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown step(s) {', '.join(unknown)}; {accepted}")
        return names

    parse.__name__ = "step names"  # argparse's "invalid <name> value" wording
    return parse


def build_parser() -> argparse.ArgumentParser:
    from jdmstats import __version__

    parser = argparse.ArgumentParser(prog="jdmstats", description="Pooled evidence on calcinosis "
                                     "in juvenile dermatomyositis.")  # fmt: skip
    parser.add_argument("--version", action="version", version=f"jdmstats {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    from jdmstats.outputs.steps import OPTION_DEFAULTS, STEPS

    steps = ", ".join(STEPS)
    p = sub.add_parser("run", help="run every analysis; write tables/ and figures/",
                       description=f"Run the analyses (steps: {steps}) and write tables/ and "
                                   "figures/. Not on a terminal, one line per step (files "
                                   "written, seconds) and every warning go to stderr.")  # fmt: skip
    p.add_argument("--data", help="harmonised or extraction folder (default: bundled data)")
    p.add_argument("--out", default=".", help="output root for tables/ and figures/ (default: .)")
    p.add_argument("--only", action="append", type=_step_names(list(STEPS)), metavar="STEP",
                   help=f"run only these steps (repeat or comma-separate); steps: {steps}. "
                        "Without it, a step the data cannot feed is skipped and said so; a "
                        "step named here is refused instead")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="print nothing (no progress, no warnings)")
    p.add_argument("--bootstrap-reps", type=_positive_int, metavar="N",
                   help="replicates of the cluster bootstrap of the time-to-regression bands "
                        f"(default: {OPTION_DEFAULTS['bootstrap_reps']})")  # fmt: skip
    p.add_argument("--seed", type=_seed, metavar="S",
                   help="seed of that bootstrap (default: "
                        f"{OPTION_DEFAULTS['seed']}); the defaults give the committed files")
    p.add_argument("--jobs", type=_positive_int, metavar="N",
                   help="worker processes for independent steps (default: one per core on "
                        "Linux, else 1); the outputs are the same for any N")  # fmt: skip
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("report", help="write one self-contained HTML report of every result")
    p.add_argument("--data", help="harmonised or extraction folder (default: bundled data)")
    p.add_argument("--out", default="report.html", help="HTML file (default: report.html)")
    p.add_argument("--results", help="report on the outputs of an earlier `jdmstats run --out "
                   "DIR` instead of running the analyses again")  # fmt: skip
    p.add_argument("--tables", action="append", metavar="FORMAT",
                   help="also write every results table as md (Markdown) and/or tex (LaTeX, "
                        "booktabs) into <out>_tables/ (repeat or comma-separate)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="print nothing")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("validate", help="check extraction or harmonised files")
    p.add_argument("paths", nargs="+", help="files or folders")
    p.add_argument("--format", choices=FORMATS, default="text",
                   help="text (one line per problem, default), json (a list of objects with "
                        "file, row, column, value, rule, severity) or csv (with a header)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="print only problems")
    p.set_defaults(func=cmd_validate)

    from jdmstats.evidence.skeleton import KINDS

    p = sub.add_parser("new", help="write a commented extraction file for a new source",
                       description="Write KIND's commented YAML skeleton STUDY_ID.yaml into the "
                       "data folder DIR (into DIR/extraction/). A DIR that does not exist yet "
                       "gets a copy of the bundled data first, so that `jdmstats validate DIR` "
                       "and `jdmstats run --data DIR` use the bundled data plus your file. "
                       "Required values are TODO and fail validation until replaced.")  # fmt: skip
    p.add_argument("kind", choices=KINDS, help="cohort (counts), case (case report), arm "
                   "(aggregate therapy series)")  # fmt: skip
    p.add_argument("study_id", help="FirstauthorYYYY, e.g. Smith2010")
    p.add_argument("--into", required=True, metavar="DIR", help="data folder of your own")
    p.add_argument("--quiet", action="store_true", help="print only the file written")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("harmonise", help="rebuild data/harmonised from data/extraction")
    p.add_argument("--extraction", help="extraction folder (default: the repository's)")
    p.add_argument(
        "--out", help="output folder (default: harmonised/ beside the extraction folder)"
    )
    p.add_argument("--search-log", help="search log CSV (default: search_log.csv beside it)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_harmonise)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``jdmstats`` command."""
    from jdmstats.errors import DataValidationError, JdmstatsError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DataValidationError as exc:
        for p in exc.problems:
            print(p)
        print(f"{len(exc.problems)} problem(s) found", file=sys.stderr)
        return 1
    except (JdmstatsError, FileNotFoundError, FileExistsError, NotADirectoryError,
            ValueError) as exc:
        print(f"jdmstats: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
