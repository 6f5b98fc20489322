"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from tinycase import tiny_sheets, write_input


@pytest.fixture
def tiny_workbook(tmp_path: Path) -> Path:
    return write_input(tmp_path / "tiny.xlsx", tiny_sheets())
