"""Infeasible and unbounded models explained in input terms (optmodel.solver.diagnose).

The tiny chain (tests/tinycase.py): the mine's flotation makes at most 200 t
of concentrate a year; separation (2 t concentrate → 0.9 t oxide per unit of
activity) can be built at the plant, 2 units × 100 = 200 activity/yr, so the
nominal oxide capacity is 180 t/yr; the deposit holds 1,500 t of ore
(= 300 t concentrate = 135 t oxide over the two years).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from tinycase import ROOT, tiny_sheets, write_input

from optmodel.errors import InfeasibleError
from optmodel.model.build import build_model
from optmodel.model.data import build_model_data
from optmodel.pipeline import load_tables, solve_workbook
from optmodel.solver.diagnose import diagnose, sanity_warnings


def _workbook(tmp_path: Path, change, name: str = "case.xlsx") -> Path:
    sheets = tiny_sheets()
    change(sheets)
    return write_input(tmp_path / name, sheets)


def _japan_min(min_t: float, max_t: float):
    return lambda s: s["Markets"][1].update(min_t=min_t, max_t=max_t)


def test_market_minimum_above_capacity_is_explained(tmp_path: Path) -> None:
    # JapanOx (Markets row 3) must take ≥ 300 t/yr; all oxide that can reach Port is 180 t/yr.
    inp = _workbook(tmp_path, _japan_min(300, 400))
    out = tmp_path / "res.xlsx"
    with pytest.raises(InfeasibleError) as info:
        solve_workbook(inp, out)
    text = str(info.value)
    assert "infeasible" in text
    assert ("Markets row 3 (JapanOx, oxide, 2026) requires ≥ 300 t but at most" in text), text
    assert "all oxide capacity reachable by 2026 is 180 t" in text
    assert info.value.exit_code == 1
    # the results workbook holds the diagnosis and the Run sheet, nothing else pretends a plan
    wb = openpyxl.load_workbook(out, read_only=True)
    assert wb.sheetnames[0] == "Diagnosis" and "Run" in wb.sheetnames
    assert "Summary" not in wb.sheetnames
    rows = list(wb["Diagnosis"].iter_rows(values_only=True))
    header = rows[0]
    first = dict(zip(header, rows[1], strict=True))
    assert first["sheet"] == "Markets" and first["row"] == 3 and first["bound"] == 300
    assert first["constraint"] == "market_min"
    run_rows = list(wb["Run"].iter_rows(min_row=2, values_only=True))
    run = dict(run_rows)
    assert run["status"] == "infeasible" and len(run["input_sha256"]) == 64
    # the pre-solve check saw it coming, and says so in the Run and Warnings sheets
    assert any(k == "warning" and "reachable by 2026 is 180 t" in v for k, v in run_rows)
    warned = [r[2] for r in wb["Warnings"].iter_rows(min_row=2, values_only=True)]
    assert any("reachable by 2026 is 180 t" in m for m in warned)


def test_limits_in_the_way_are_named(tmp_path: Path) -> None:
    # 100 t/yr of oxide needs 111 activity of separation per year, but the deposit's 1,500 t
    # of ore give only 135 t of oxide over both years: the reserve is what stands in the way.
    inp = _workbook(tmp_path, _japan_min(100, 200))
    tables = load_tables(inp)
    bm = build_model(build_model_data(tables))
    with pytest.raises(InfeasibleError):
        from optmodel.solver.options import SolveOptions
        from optmodel.solver.solve import solve

        solve(bm, SolveOptions())
    msgs = diagnose(bm)
    assert any(m.startswith("Markets row 3 (JapanOx, oxide, 2026) requires ≥ 100 t")
               for m in msgs), msgs
    assert any("Limits in the way" in m and "Deposits row 2 (D) reserve 1,500 t" in m
               for m in msgs), msgs
    # shortfalls add up to what the reserve cannot give: 2 × 100 − 135 = 65 t
    short = [float(m.split("at most ")[1].split(" t")[0]) for m in msgs if "at most" in m]
    assert 200 - sum(short) == pytest.approx(65, abs=1e-6)


def test_investment_budget_named_as_the_limit(tmp_path: Path) -> None:
    # a 0.3 MUSD budget cannot pay for one 0.5 MUSD separation unit: no oxide at all
    def change(s):
        s["Markets"][1].update(min_t=10, max_t=50)
        s["Policy"].append(dict(instrument="investment_budget_musd", value=0.3))

    inp = _workbook(tmp_path, change)
    with pytest.raises(InfeasibleError) as info:
        solve_workbook(inp, None)
    text = str(info.value)
    assert "Markets row 3 (JapanOx, oxide, 2026) requires ≥ 10 t but at most 0 t" in text, text
    assert "Policy row 3 (investment_budget_musd, whole horizon) budget 0.3 MUSD" in text, text


def test_cli_infeasible_exit_1_prints_diagnosis(tmp_path: Path) -> None:
    inp = _workbook(tmp_path, _japan_min(300, 400))
    out = tmp_path / "cli.xlsx"
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), "solve", str(inp), "-o", str(out),
                        "--no-report"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    text = " ".join((r.stdout + r.stderr).split())
    assert "Traceback" not in text
    assert "Markets row 3 (JapanOx, oxide, 2026) requires ≥ 300 t" in text
    assert f"Diagnosis written to {out}" in text
    assert out.exists()


def test_unbounded_names_the_row_without_a_limit(tmp_path: Path) -> None:
    # oxide bought at 1,000 USD/t with no max, sold at 20,000 USD/t with no max
    def change(s):
        s["Markets"][1]["max_t"] = None
        s["Markets"].append(dict(market="Imp", node="Port", product="oxide", direction="buy",
                                 scope="import", price_usd_per_t=1000))

    inp = _workbook(tmp_path, change)
    with pytest.raises(InfeasibleError) as info:
        solve_workbook(inp, tmp_path / "u.xlsx")
    text = str(info.value)
    assert "unbounded" in text
    assert "Markets row 4 (Imp, oxide, buy) can grow without limit" in text
    assert "give it a max_t" in text


# ------------------------------------------------------------------ sanity warnings


def test_sanity_warnings(tmp_path: Path) -> None:
    def change(s):
        s["Markets"][1].update(min_t=300, max_t=400)  # above the 180 t/yr reachable
        s["Markets"].append(dict(market="Local", node="Mine", product="oxide",
                                 direction="sell", scope="domestic", price_usd_per_t=1))
        s["Products"].append(dict(product="acid", stage=0, reo_content=0))
        s["Processes"].append(dict(process="leach"))
        s["Recipes"] += [dict(process="leach", product="acid", direction="in",
                              qty_per_activity=1),
                         dict(process="leach", product="conc", direction="out",
                              qty_per_activity=1)]
        s["NodeProcesses"].append(dict(node="Plant", process="leach", existing_capacity=10))

    inp = _workbook(tmp_path, change)
    tables = load_tables(inp)
    warns = sanity_warnings(build_model_data(tables))
    text = [str(w) for w in warns]
    assert all(w.severity == "warning" for w in warns)
    assert any(w.sheet == "Markets" and w.row == 3 and w.column == "min_t"
               and "all oxide capacity reachable by 2026 is 180 t" in w.message
               for w in warns), text
    assert any(w.sheet == "Markets" and w.row == 4 and "nothing can deliver oxide to Mine"
               in w.message for w in warns), text
    assert any(w.sheet == "NodeProcesses" and w.row == 5 and "leach at Plant can never run"
               in w.message and "acid" in w.message for w in warns), text
    # warnings never change the exit code of validate
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), "validate", str(inp)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0
    assert "can never run" in " ".join(r.stderr.split())


def test_no_warnings_on_the_tiny_case(tmp_path: Path) -> None:
    tables = load_tables(write_input(tmp_path / "ok.xlsx", tiny_sheets()))
    assert sanity_warnings(build_model_data(tables)) == []


@pytest.mark.parametrize(("change", "requirement", "limit"), [
    # mining at full load (1,000 t ore/yr) for two years needs 2,000 t; the deposit has 1,500
    (lambda s: s["NodeProcesses"][0].update(min_load=1),
     "NodeProcesses row 2 (Mine, mining, 2026) requires a minimum load of 1,000 activity "
     "units but only 500 activity units can run", "Deposits row 2 (D) reserve 1,500 t"),
    # an export quota of 10 t of oxide against a 40 t minimum
    (lambda s: (s["Policy"].append(dict(instrument="export_quota_t", target="oxide",
                                        value=10)), s["Markets"][1].update(min_t=40)),
     "Markets row 3 (JapanOx, oxide, 2026) requires ≥ 40 t but at most 10 t",
     "Policy row 3 (export_quota_t, oxide, 2026) quota 10 t"),
    # 90 % of REO sold must be stage ≥ 3, yet 40 t of concentrate must be exported
    (lambda s: (s["Policy"].append(dict(instrument="min_domestic_processing_share",
                                        target="3", value=0.9)),
                s["Markets"][0].update(min_t=40)),
     "Markets row 2 (ChinaC, conc, 2026) requires ≥ 40 t but at most 11.1 t",
     "Policy row 3 (min_domestic_processing_share, 3, 2026) minimum domestic share 0.9"),
    # 50 t/yr of concentrate by rail to the plant: 25 activity of separation → 22.5 t oxide
    (lambda s: (s["Routes"][0].update(capacity_t_per_year=50),
                s["Markets"][1].update(min_t=40)),
     "Markets row 3 (JapanOx, oxide, 2026) requires ≥ 40 t but at most 22.5 t",
     "Routes row 2 (Mine → Plant, rail, 2026) capacity 50 t"),
    # plenty of concentrate, but two separation units make at most 2 × 100 × 0.9 = 180 t
    (lambda s: (s["Markets"][1].update(min_t=190, max_t=200),
                s["NodeProcesses"][0].update(existing_capacity=5000),
                s["NodeProcesses"][1].update(existing_capacity=1000),
                s["Deposits"][0].update(reserve_t=1e6)),
     "Markets row 3 (JapanOx, oxide, 2026) requires ≥ 190 t but at most 180 t",
     "BuildOptions row 2 (sep1) max_units 2 units"),
], ids=["min_load", "export_quota", "domestic_share", "route_capacity", "max_units"])
def test_each_limit_family_is_named(tmp_path: Path, change, requirement, limit) -> None:
    inp = _workbook(tmp_path, change)
    with pytest.raises(InfeasibleError) as info:
        solve_workbook(inp, None)
    text = str(info.value)
    assert requirement in text, text
    assert limit in text, text
