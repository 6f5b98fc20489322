"""What every command shares: the typer app, the consoles, error-to-exit-code mapping."""

from __future__ import annotations

import gc
import logging
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from optmodel.errors import (
    EXIT_INTERRUPTED,
    EXIT_NO_SOLUTION,
    InputError,
    OptmodelError,
)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INPUT = Path("inputs/base_case.xlsx")
DEFAULT_OUTPUT_DIR = Path("outputs")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    invoke_without_command=True,
    help="optmodel: where to mine, process and sell rare earths (Pyomo + HiGHS, Excel in/out).",
    pretty_exceptions_enable=False,
)
class _Console(Console):
    """A rich console that, when its reader has gone (``optmodel validate … | head``),
    discards the rest of its output and lets the command end with its own exit code
    (rich's default ends the process with exit code 1)."""

    def on_broken_pipe(self) -> None:
        import os

        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self.file.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        os.close(devnull)


err = _Console(stderr=True)
out = _Console()
log = logging.getLogger("optmodel")


def silence_closed_pipes() -> None:
    """After a reader such as ``head`` closed our output: send the rest to /dev/null, so
    that neither the remaining prints nor the final flush at exit fail (exit code kept)."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    os.close(devnull)


def fail(exc: BaseException) -> None:
    try:
        _print_failure(exc)
    except BrokenPipeError:
        silence_closed_pipes()
    raise typer.Exit(getattr(exc, "exit_code", 1))


def _print_failure(exc: BaseException) -> None:
    if isinstance(exc, InputError):
        n = sum(1 for i in exc.issues if i.severity == "error")
        err.print(f"[bold red]Input problems ({n}):[/]" if n > 1 else "[bold red]Input problem:[/]")
        for issue in exc.issues:
            tag = "[yellow]warning[/]" if issue.severity != "error" else "[red]error[/]"
            err.print(f"  {tag} {escape(str(issue))}", markup=True, highlight=False,
                      soft_wrap=True)
    elif isinstance(exc, OptmodelError):
        err.print(f"[bold red]{escape(str(exc))}[/]", highlight=False, soft_wrap=True)


def guard(fn):
    """Run a command body; map errors to exit codes and sentences."""
    try:
        result = fn()
        sys.stdout.flush()  # a closed pipe shows here, inside the guard
        return result
    except OptmodelError as exc:
        fail(exc)
    except KeyboardInterrupt as exc:
        text = getattr(exc, "message", "Interrupted: nothing was written.")
        err.print(f"[bold red]{escape(text)}[/]")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except typer.Exit:
        raise
    except BrokenPipeError:  # `optmodel validate … | head`: the reader has what it wanted
        silence_closed_pipes()
        raise typer.Exit(0) from None
    except Exception as exc:  # last resort: a sentence, never a traceback
        log.debug("unexpected error", exc_info=True)
        err.print(f"[bold red]Unexpected error ({type(exc).__name__}): {escape(str(exc))}[/]\n"
                  "Please report it with the input workbook; rerun with OPTMODEL_DEBUG=1 for "
                  "details.", highlight=False)
        if debug_on():
            raise
        raise typer.Exit(EXIT_NO_SOLUTION) from None


@contextmanager
def loading_libraries() -> Iterator[None]:
    """Import a command's libraries without garbage collection, then freeze what they made.

    Importing pandas, pydantic, HiGHS and the model code makes several hundred thousand
    objects that live as long as the process, and next to no garbage.  Python's cyclic
    garbage collector would walk them repeatedly while they load and again at each full
    collection of the run: 0.08 s of a base-case solve (docs/performance.md).
    ``gc.freeze`` moves them to the permanent generation, which collections skip; the
    collector is on again for the command's own work.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_on:
            gc.enable()


def debug_on() -> bool:
    import os

    return bool(os.environ.get("OPTMODEL_DEBUG"))


def command_line() -> str:
    return " ".join(shlex.quote(a) for a in [Path(sys.argv[0]).name, *sys.argv[1:]])


def default_output(input_path: Path, suffix: str = "_results") -> Path:
    folder = DEFAULT_OUTPUT_DIR if DEFAULT_OUTPUT_DIR.is_dir() else input_path.parent
    return folder / f"{input_path.stem}{suffix}.xlsx"


EXTRA_HELP = ("A Python file defining extra_constraints(model, data): your own variables "
              "and linear constraints, added to the Pyomo model before it is solved "
              "(README \"Use from Python\"). Part of every solve of the command.")


def read_extra(path: Path | None):
    """The ``--extra`` file (name, text, SHA-256), or None; unreadable → InputError."""
    if path is None:
        return None
    from optmodel.model.extra_file import ExtraFile

    return ExtraFile.read(path)
