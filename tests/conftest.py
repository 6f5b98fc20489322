"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from tinycase import tiny_sheets, write_input


@pytest.fixture
def tiny_workbook(tmp_path: Path) -> Path:
    return write_input(tmp_path / "tiny.xlsx", tiny_sheets())


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "slow: a test that takes more than about 5 s")
