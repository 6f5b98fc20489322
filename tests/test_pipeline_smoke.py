"""End-to-end smoke: workbook → validation → model → HiGHS → results workbook."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from tinycase import ROOT

from optmodel.model.objective import PV_TERM_LINES
from optmodel.pipeline import solve_workbook


def test_tiny_solves_and_summary_adds_up(tiny_workbook, tmp_path):
    out = tmp_path / "res.xlsx"
    res = solve_workbook(tiny_workbook, out, mip_gap=0.0)
    s = res.summary
    assert s["status"] == "optimal"
    pv = sum(v for k, v in s.items() if k in PV_TERM_LINES)  # not pv_fiscal_net_musd
    assert pv == pytest.approx(s["npv_musd"], rel=1e-9, abs=1e-9)
    book = pd.read_excel(out, sheet_name=None, engine="calamine")
    for sheet in ("Summary", "Builds", "Activity", "Flows", "Trade", "Disposal", "Extraction",
                  "Depth", "Prices", "Binding", "Run"):
        assert sheet in book
    tr = book["Trade"]
    assert s["revenue_musd"] == pytest.approx(tr.loc[tr.direction == "sell", "value_musd"].sum())
    assert s["transport_musd"] == pytest.approx(book["Flows"]["cost_musd"].sum())


def test_cli_exit_codes(tiny_workbook, tmp_path):
    out = tmp_path / "r.xlsx"
    ok = subprocess.run([sys.executable, str(ROOT / "run.py"), "solve", str(tiny_workbook),
                         "-o", str(out), "--no-report"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    same = subprocess.run([sys.executable, str(ROOT / "run.py"), "solve", str(tiny_workbook),
                           "-o", str(tiny_workbook), "--no-report"], capture_output=True,
                          text=True)
    assert same.returncode == 4 and "input" in same.stderr
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a workbook")
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), "validate", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr + r.stdout


@pytest.mark.slow
def test_results_workbook_opens_in_libreoffice(tiny_workbook, tmp_path):
    """LibreOffice Calc converts the results workbook to csv headless (skips without it)."""
    import shutil

    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        pytest.skip("LibreOffice (soffice) is not on PATH; .ci/run installs it when apt works")
    out = tmp_path / "res.xlsx"
    solve_workbook(tiny_workbook, out)
    profile = (tmp_path / "lo").as_uri()
    proc = subprocess.run([exe, f"-env:UserInstallation={profile}", "--headless", "--norestore",
                           "--convert-to", "csv", "--outdir", str(tmp_path / "csv"), str(out)],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    csv = (tmp_path / "csv" / "res.csv").read_text()
    assert csv.startswith("metric,value,unit") and "npv_musd" in csv


def test_default_command_solves_the_base_case_without_report(tmp_path):
    """`python run.py --no-report` solves inputs/base_case.xlsx into outputs/ (quick start)."""
    import shutil

    work = tmp_path / "proj"
    (work / "inputs").mkdir(parents=True)
    (work / "outputs").mkdir()
    shutil.copy(ROOT / "inputs" / "base_case.xlsx", work / "inputs" / "base_case.xlsx")
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), "--no-report"], cwd=work,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (work / "outputs" / "base_case_results.xlsx").exists()
    assert not (work / "outputs" / "base_case_results.html").exists()
    assert "npv_musd" in r.stdout
