"""Exception and problem types shared by the validator, the harmoniser and the loaders."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the data: where it is, what it is, and the rule it breaks.

    ``str(problem)`` is the one-line report printed by ``jdmstats validate``::

        data/extraction/Smith2010.yaml:14 (cohorts[0]): n_calcinosis = '130': must be <= n_patients (120)

    ``severity`` is ``"error"`` (the data are refused: ``jdmstats validate`` exits with 1 and the
    loaders raise) or ``"warning"`` (the data are used as they are, and the warning says how;
    its line starts with ``warning:`` after the location). A warning is never used where
    numbers would be lost.
    """

    file: str
    row: str
    column: str
    value: str
    rule: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.row}" if self.row else self.file
        rule = f"warning: {self.rule}" if self.severity == "warning" else self.rule
        if not self.column:
            return f"{where}: {rule}"
        val = f" = {self.value!r}" if self.value != "" else ""
        return f"{where}: {self.column}{val}: {rule}"

    def as_dict(self) -> dict[str, str]:
        """The problem as ``{file, row, column, value, rule, severity}`` (machine-readable)."""
        return {"file": self.file, "row": self.row, "column": self.column, "value": self.value,
                "rule": self.rule, "severity": self.severity}  # fmt: skip


class FileProblem(Problem):
    """A problem with a whole file (missing, unreadable, wrong encoding or delimiter, not
    parseable): the rows of the file cannot be read, so no rule about them is checked, and the
    validator reports these first and alone instead of the follow-on errors they would cause."""


def errors_only(problems: list[Problem]) -> list[Problem]:
    """The problems of severity ``"error"`` (the ones that refuse the data)."""
    return [p for p in problems if p.severity == "error"]


class JdmstatsError(Exception):
    """Base class of the errors raised by jdmstats."""


class DataValidationError(JdmstatsError, ValueError):
    """Raised when data break the rules of :mod:`jdmstats.evidence.schema`.

    Attributes
    ----------
    problems : list of Problem
        Every problem found, one per broken rule and cell.
    """

    def __init__(self, problems: list[Problem], context: str = "data"):
        self.problems = list(problems)
        self.context = context
        lines = "\n".join(f"  {p}" for p in self.problems[:50])
        more = f"\n  ... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(f"{len(self.problems)} problem(s) in {context}:\n{lines}{more}")

    def __reduce__(self):
        # rebuilt from its problems (not from its message) when it crosses a process boundary,
        # as from a parallel run's workers
        return type(self), (self.problems, self.context)


class InsufficientDataError(JdmstatsError, ValueError):
    """Raised when the data cannot answer the question asked (e.g. no variation in outcome)."""
