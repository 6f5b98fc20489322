"""Typed errors that end in exit codes at the command line, and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EXIT_OK = 0
EXIT_INFEASIBLE = 1
EXIT_INPUT = 2
EXIT_NO_SOLUTION = 3
EXIT_OUTPUT = 4
EXIT_INTERRUPTED = 130


class Interrupted(KeyboardInterrupt):
    """Ctrl-C after some files were written; ``message`` says which."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Issue:
    """One problem (or warning) found in an input workbook.

    ``row`` is the row number as Excel shows it (header = 1); None when the
    problem concerns a whole sheet or the file.
    """

    sheet: str
    row: int | None
    column: str | None
    value: Any
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = [self.sheet] if self.sheet else []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        loc = ", ".join(where)
        val = "" if self.value is None else f" (value: {self.value!r})"
        return f"{loc}: {self.message}{val}" if loc else f"{self.message}{val}"


class OptmodelError(Exception):
    """Base class; ``exit_code`` says how the command line ends."""

    exit_code = 1


class InputError(OptmodelError):
    """The input workbook is unreadable or invalid; carries every issue found."""

    exit_code = EXIT_INPUT

    def __init__(self, issues: list[Issue] | str):
        if isinstance(issues, str):
            issues = [Issue("", None, None, None, issues)]
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class InfeasibleError(OptmodelError):
    """The model has no feasible solution (or is unbounded)."""

    exit_code = EXIT_INFEASIBLE


class SolverError(OptmodelError):
    """The solver returned no solution (time limit without incumbent, failure)."""

    exit_code = EXIT_NO_SOLUTION


class OutputError(OptmodelError):
    """An output file cannot be written."""

    exit_code = EXIT_OUTPUT


class InternalError(OptmodelError):
    """The model's own tables do not line up (a bug, never a user mistake): nothing is solved.

    Raised when a constraint family is made and its rows, bounds and terms disagree, so
    that a misaligned table can never reach the solver and give a plausible wrong optimum.
    """

    exit_code = EXIT_NO_SOLUTION

    def __init__(self, message: str):
        super().__init__(f"Internal error, no solve was made: {message} Please report it "
                         "with the input workbook.")
