"""A user's extra-constraints file (``--extra FILE.py``, docs/model.md §13): its text and the
function it defines.  Plain Python, no Pyomo: the text travels to batch workers, and a
run without ``--extra`` never imports Pyomo (:mod:`optmodel.model.extra` applies it)."""

from __future__ import annotations

import hashlib
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optmodel.errors import InputError, Issue

FUNCTION = "extra_constraints"


@dataclass(frozen=True)
class ExtraFile:
    """A user's extra-constraints file: its name, text and SHA-256 (the text travels to batch
    workers, so they need not see the file)."""

    name: str  # the file name as the user gave it (messages, Run sheet)
    source: str
    sha256: str

    @classmethod
    def read(cls, path: Path | str) -> ExtraFile:
        """Read ``path``; a missing or unreadable file is an InputError."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise _error(path.name, "cannot read the extra-constraints file: "
                                    f"{exc.strerror or exc}") from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _error(path.name, "the extra-constraints file is not UTF-8 text") from None
        return cls(path.name, text, hashlib.sha256(raw).hexdigest())

    @classmethod
    def from_text(cls, source: str, name: str = "extra.py") -> ExtraFile:
        return cls(name, source, hashlib.sha256(source.encode("utf-8")).hexdigest())


def _error(name: str, message: str, line: int | None = None) -> InputError:
    where = f"line {line}: " if line is not None else ""
    return InputError([Issue(name, None, None, None, where + message)])


def _filename(extra: ExtraFile) -> str:
    return f"<optmodel extra {extra.name}>"  # what tracebacks of the file's code show


def _line_in(exc: BaseException, filename: str) -> int | None:
    """The last line of the user's file in the traceback of ``exc``."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == filename:
            line = frame.lineno
    return line


def load_function(extra: ExtraFile):
    """The file's ``extra_constraints`` function (the file run once, as a module)."""
    filename = _filename(extra)
    try:
        code = compile(extra.source, filename, "exec")
    except SyntaxError as exc:
        raise _error(extra.name, f"syntax error: {exc.msg}", exc.lineno) from None
    namespace: dict[str, Any] = {"__name__": "optmodel_extra", "__file__": extra.name}
    try:
        exec(code, namespace)  # noqa: S102 - the user's own model code, run as asked
    except Exception as exc:
        raise _error(extra.name, f"{type(exc).__name__}: {exc}",
                     _line_in(exc, filename)) from None
    fn = namespace.get(FUNCTION)
    if not callable(fn):
        raise _error(extra.name, f"the file defines no function {FUNCTION}(model, data)")
    return fn
