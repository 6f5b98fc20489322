"""Thin entry point: `python run.py [COMMAND] ...` (same as the `optmodel` console script)."""

from optmodel.cli import main

if __name__ == "__main__":
    main()
