"""Command line: ``python run.py COMMAND`` and the ``optmodel`` console script."""

from optmodel.cli.main import app, main

__all__ = ["app", "main"]
