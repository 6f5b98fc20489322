"""Sheet-level validation (docs/model.md §11.5): empty sheets named, follow-on errors collapsed,
``validate`` prints the warnings and survives a closed pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from tinycase import ROOT, tiny_sheets

from optmodel import schema as S
from optmodel.input.validate import validate_raw
from optmodel.io.read import read_raw
from optmodel.io.write import SheetSpec, write_workbook


def _write(path: Path, sheets: dict[str, list[dict]], empty: tuple[str, ...] = (),
           drop: dict[str, str] | None = None) -> Path:
    """The workbook of ``sheets``; sheets in ``empty`` keep their headers but lose their rows;
    ``drop`` removes one column of a sheet."""
    specs = []
    for name, rows in sheets.items():
        frame = pd.DataFrame(rows)
        if name in empty:
            cols = [c for c in S.SHEETS[name].column_names if c not in ("note", "source")]
            frame = pd.DataFrame(columns=cols)
        if drop and name in drop:
            frame = frame.drop(columns=[drop[name]])
        specs.append(SheetSpec(name, frame))
    write_workbook(path, specs)
    return path


def _validate_cli(path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "400"}
    return subprocess.run([sys.executable, str(ROOT / "run.py"), "validate", str(path)],
                          capture_output=True, text=True, env=env, timeout=120)


def test_empty_optional_sheet_is_warned_by_validate(tmp_path):
    sheets = tiny_sheets()
    del sheets["Scenarios"]
    p = _write(tmp_path / "no_markets.xlsx", sheets, empty=("Markets",))
    r = _validate_cli(p)
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stderr.split())
    assert "warning Markets: sheet is present but has no data rows" in text
    assert "NPV 0" in text
    # the warnings that follow from it (products made but not sold) are told under it
    assert [ln.split(" ", 2)[1] for ln in r.stderr.splitlines()
            if ln.startswith("warning ")] == ["Markets:"]
    assert "it explains 1 further warning: is made by a process but is neither sold" in text


def test_empty_sheet_with_follow_on_errors_keeps_them_errors(tmp_path):
    # the Scenarios row changes the emptied Policy sheet: its selector matches no row
    p = _write(tmp_path / "no_policy.xlsx", tiny_sheets(), empty=("Policy",))
    _, issues = validate_raw(read_raw(p))
    assert [(i.sheet, i.severity) for i in issues] == [("Policy", "warning"),
                                                       ("Policy", "error")]
    assert "1 error follow" in issues[1].message and "Scenarios" in issues[1].message
    r = _validate_cli(p)
    assert r.returncode == 2
    assert "sheet is present but has no data rows" in " ".join(r.stderr.split())


def test_missing_column_is_one_error(tmp_path):
    # without Nodes.node every reference to a node would fail: one error says so
    p = _write(tmp_path / "no_node_col.xlsx", tiny_sheets(), drop={"Nodes": "node"})
    _, issues = validate_raw(read_raw(p))
    errors = [i for i in issues if i.severity == "error"]
    assert len(errors) == 1
    e = errors[0]
    assert (e.sheet, e.column) == ("Nodes", "node")
    assert e.message.startswith("required column is missing")
    # tiny case: 3 NodeProcesses, 1 BuildOptions, 1 Deposits, 6 Routes (origin and
    # destination), 2 Markets rows name a node
    assert "13 further problems" in e.message and "unknown node" in e.message


def test_emptied_required_sheet_collapses(tmp_path):
    p = _write(tmp_path / "no_products.xlsx", tiny_sheets(), empty=("Products",))
    _, issues = validate_raw(read_raw(p))
    assert issues[0].sheet == "Products" and issues[0].severity == "warning"
    errors = [i for i in issues if i.severity == "error"]
    assert len(errors) == 1 and "unknown product" in errors[0].message


def test_valid_workbook_has_no_sheet_level_issue(tmp_path):
    p = _write(tmp_path / "ok.xlsx", tiny_sheets())
    _, issues = validate_raw(read_raw(p))
    assert issues == []


def test_validate_into_a_closed_pipe_exits_0(tmp_path):
    # `optmodel validate … | head` : the reader goes away before validate writes
    p = _write(tmp_path / "ok.xlsx", tiny_sheets())
    r, w = os.pipe()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "validate", str(p)],
                            stdout=w, stderr=subprocess.PIPE, env=env)
    os.close(w)
    os.close(r)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert b"Traceback" not in stderr
