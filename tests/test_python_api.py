"""The Python API (README "Use from Python"): optmodel.load, optmodel.build, optmodel.solve."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pyomo.environ as pyo
import pytest
from test_base_case_pin import BASE_NPV_USD
from tinycase import tiny_sheets, write_input
from workbooks import REPO

import optmodel
from optmodel.model.build import build_model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_input(tmp_path_factory.mktemp("tiny") / "tiny.xlsx", tiny_sheets())


def test_import_is_light() -> None:
    # `import optmodel` must not load pandas, Pyomo or HiGHS (they load on first use).
    code = ("import sys, optmodel; print(sorted(m for m in ('pandas', 'pyomo', 'highspy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


def test_build_model_makes_tables_only(tiny) -> None:
    # The structure has no Pyomo components; the Pyomo model is made only by build().
    bm = build_model(optmodel.load(tiny))
    assert bm.model is None and bm.npv_expr is None
    assert all(f.component is None and f.objs is None for f in bm.vars.values())
    assert all(f.component is None for f in bm.cons.values())


def test_built_model_indexes_bounds_and_objective(tiny) -> None:
    # Conditions: the tiny case (Mine, Plant with opening cost 1 MUSD, Port; option sep1
    # with max_units 2; years 2026–2027). Expected: variables indexed by key tuples in
    # docs/model.md §13 order with int years, a single key plain; bounds and domains from the
    # data; one Constraint per family; objective npv maximised in USD.
    data = optmodel.load(tiny)
    m = optmodel.build(data)
    assert isinstance(m, pyo.ConcreteModel)
    assert ("Mine", "mining", 2026) in m.act
    assert all(isinstance(k[2], int) for k in m.act)
    assert set(m.build) == {("sep1", 2026), ("sep1", 2027)}
    assert list(m.open) == ["Plant"] and m.open["Plant"].is_binary()
    b = m.build["sep1", 2026]
    assert b.is_integer() and b.lb == 0 and b.ub == 2
    assert ("ChinaC", "conc", "sell", "export", 2027) in m.trade
    assert ("Mine", "Plant", "rail", "conc", 2026) in m.flow
    assert all(len(k) == 3 for k in m.dispose)
    bm = build_model(data)
    for name, fam in bm.vars.items():
        assert len(m.component(name)) == len(fam), name
    for name, fam in bm.cons.items():
        assert isinstance(m.component(name), pyo.Constraint) and len(m.component(name)) == \
            len(fam), name
    assert m.npv.sense == pyo.maximize
    # the objective is in USD: opening the plant costs 1e6 in it
    coef = {id(v): c for v, c in zip(m.npv.expr.linear_vars, m.npv.expr.linear_coefs,
                                     strict=True)}
    assert coef[id(m.open["Plant"])] == pytest.approx(-1e6)


def test_solve_accepts_path_data_and_model(tiny) -> None:
    # The three sources give the same optimum; settings override Settings; unknown
    # settings are refused.
    data = optmodel.load(tiny)
    by_path = optmodel.solve(tiny, mip_gap=0)
    by_data = optmodel.solve(data, mip_gap=0)
    by_model = optmodel.solve(optmodel.build(data), mip_gap=0)

    def npv(t):
        return t["Summary"].set_index("metric").loc["npv_musd", "value"]

    assert npv(by_path) == pytest.approx(npv(by_data), rel=1e-12)
    assert npv(by_model) == pytest.approx(npv(by_data), rel=1e-12)
    assert {"Summary", "Builds", "Trade", "Prices", "Binding", "Run"} <= set(by_path)
    run = dict(zip(by_path["Run"]["key"], by_path["Run"]["value"], strict=False))
    assert run["mip_gap_setting"] == 0
    with pytest.raises(TypeError, match="unknown setting"):
        optmodel.solve(tiny, gap=0.1)
    with pytest.raises(TypeError):
        optmodel.solve(optmodel.build(data), scenario="duty50")


def test_load_applies_the_scenario(tiny) -> None:
    # duty50 raises the stage≤1 export duty from 0.1 to 0.5 (tiny case's Scenarios sheet).
    base, duty = optmodel.load(tiny), optmodel.load(tiny, scenario="duty50")
    rate = {d: p.loc[p["instrument"] == "export_duty_rate", "value"].iloc[0]
            for d, p in (("base", base.policy), ("duty50", duty.policy))}
    assert rate == {"base": 0.1, "duty50": 0.5}


def _readme_block() -> str:
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Use from Python"):]
    return re.findall(r"```python\n(.*?)```", section, re.S)[0]


def test_readme_example_runs(monkeypatch) -> None:
    # The README's example, run as written from the repository root. Expected: the added
    # constraint holds (no Solikamsk plant starts before 2030) and costs NPV.
    monkeypatch.chdir(REPO)
    namespace: dict = {}
    exec(compile(_readme_block(), "README.md", "exec"), namespace)  # noqa: S102
    tables = namespace["tables"]
    b = tables["Builds"]
    assert not (b["option"].str.endswith("_Solikamsk") & (b["year"] < 2030)).any()
    assert namespace["summary"]["npv_musd"] < BASE_NPV_USD / 1e6 - 1e-6  # the pinned base
    assert namespace["summary"]["status"] == "optimal"
