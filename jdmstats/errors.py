"""Exception and problem types shared by the validator, the harmoniser and the loaders."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the data: where it is, what it is, and the rule it breaks.

    ``str(problem)`` is the one-line report printed by ``jdmstats validate``::

        data/extraction/Smith2010.yaml:14 (cohorts[0]): n_calcinosis = '130': must be <= n_patients (120)
    """

    file: str
    row: str
    column: str
    value: str
    rule: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.row}" if self.row else self.file
        if not self.column:
            return f"{where}: {self.rule}"
        val = f" = {self.value!r}" if self.value != "" else ""
        return f"{where}: {self.column}{val}: {self.rule}"


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
        lines = "\n".join(f"  {p}" for p in self.problems[:50])
        more = f"\n  ... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(f"{len(self.problems)} problem(s) in {context}:\n{lines}{more}")


class InsufficientDataError(JdmstatsError, ValueError):
    """Raised when the data cannot answer the question asked (e.g. no variation in outcome)."""
