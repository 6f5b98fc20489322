"""A user's own constraints: ``--extra FILE.py`` and constraints added to ``optmodel.build``.

The reference for "solved like the built-in ones": a cap on concentrate exports
written by the user must give exactly what the same cap written as a Policy
``export_quota_t`` row gives — the same NPV, the same plan and trade, the same
shadow prices, and the user's dual equal to the quota's (the user's in
present-value USD, the quota's divided by d_t).
"""

from __future__ import annotations

import copy
import hashlib
import pickle
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest
from test_base_case_pin import BASE_NPV_USD
from tinycase import tiny_sheets, write_input
from typer.testing import CliRunner
from workbooks import REPO, read_result_workbook

import optmodel
from optmodel.cli.main import app
from optmodel.errors import InputError
from optmodel.model.build import build_model
from optmodel.model.extra import ExtraFile, apply_extra

CAP_T = 20.0
CAP_FILE = f'''
import pyomo.environ as pyo


def extra_constraints(model, data):
    def rule(m, year):
        sold = [m.trade[k] for k in m.trade
                if k[1] == "conc" and k[2] == "sell" and k[3] == "export" and k[4] == year]
        return sum(sold) <= {CAP_T}

    model.conc_cap = pyo.Constraint(data.years, rule=rule)
'''


def _npv(tables) -> float:
    s = tables["Summary"]
    return float(s.loc[s["metric"] == "npv_musd", "value"].iloc[0])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_input(tmp_path_factory.mktemp("tiny") / "tiny.xlsx", tiny_sheets())


@pytest.fixture(scope="module")
def cap_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("extra") / "conc_cap.py"
    path.write_text(CAP_FILE)
    return path


@pytest.fixture(scope="module")
def quota_tables(tmp_path_factory):
    """The same cap as a Policy row (export_quota_t, target conc, every year)."""
    sheets = tiny_sheets()
    sheets["Policy"] = sheets["Policy"] + [dict(instrument="export_quota_t", target="conc",
                                                value=CAP_T)]
    path = write_input(tmp_path_factory.mktemp("quota") / "quota.xlsx", sheets)
    return optmodel.solve(path, mip_gap=0)


def test_extra_file_solves_like_the_builtin_quota(tiny, cap_file, quota_tables) -> None:
    # Conditions: the tiny case exports concentrate freely (unconstrained NPV is higher);
    # the extra file caps those exports at 20 t a year. Expected: everything equals the
    # run with the same cap as an export_quota_t Policy row — NPV (1e-9), trade, builds,
    # shadow prices, and the cap's dual: user dual (PV USD) / d_t = quota dual.
    free = optmodel.solve(tiny, mip_gap=0)
    got = optmodel.solve(tiny, extra=cap_file, mip_gap=0)
    assert _npv(got) < _npv(free) - 1e-6  # the cap binds
    assert _npv(got) == pytest.approx(_npv(quota_tables), rel=1e-9)
    for sheet, cols in (("Trade", ["market", "year", "tonnes"]),
                        ("Builds", ["option", "year", "units"]),
                        ("Prices", ["node", "product", "year", "shadow_price_usd_per_t"])):
        pd.testing.assert_frame_equal(got[sheet][cols].reset_index(drop=True),
                                      quota_tables[sheet][cols].reset_index(drop=True),
                                      check_exact=False, rtol=1e-9, atol=1e-7, obj=sheet)
    b = got["Binding"]
    user = b[b["constraint"] == "conc_cap"].set_index("index")["dual"]
    q = quota_tables["Binding"]
    quota = q[q["constraint"] == "export_quota"].set_index("index")["dual"]
    discount = {2026: 1.0, 2027: 1 / 1.1}
    assert len(user) == 2 and (user > 0).all()
    for year, dual in user.items():
        assert dual / discount[int(year)] == pytest.approx(quota[f"conc|{year}"], rel=1e-9)


def test_python_constraint_equals_the_extra_file(tiny, cap_file) -> None:
    # Conditions: the same cap added in Python to optmodel.build's model.
    # Expected: the same result tables as through --extra (1e-12).
    data = optmodel.load(tiny)
    model = optmodel.build(data)
    model.conc_cap = pyo.Constraint(data.years, rule=lambda m, y: sum(
        m.trade[k] for k in m.trade if k[1] == "conc" and k[3] == "export" and k[4] == y)
        <= CAP_T)
    a = optmodel.solve(model, mip_gap=0)
    b = optmodel.solve(data, extra=cap_file, mip_gap=0)
    for sheet in ("Summary", "Trade", "Builds", "Prices", "Binding"):
        pd.testing.assert_frame_equal(a[sheet], b[sheet], check_exact=False, rtol=1e-12,
                                      obj=sheet)


def test_new_variables_and_fixed_builds(tiny) -> None:
    # Conditions: the file adds an integer variable z ≤ 3 with 2·z = tonnes of
    # concentrate exported in 2026 (so those tonnes are even, here ≤ 6), and fixes the
    # 2026 build of sep1 at 0. Expected: 2026 conc exports in {0, 2, 4, 6} and equal to
    # 2·z, no sep1 build in 2026; the variable family is integer.
    extra = ExtraFile.from_text('''
import pyomo.environ as pyo


def extra_constraints(model, data):
    model.z = pyo.Var(within=pyo.NonNegativeIntegers, bounds=(0, 3))
    sold = [model.trade[k] for k in model.trade
            if k[1] == "conc" and k[3] == "export" and k[4] == 2026]
    model.even = pyo.Constraint(expr=sum(sold) == 2 * model.z)
    model.build["sep1", 2026].fix(0)
''', "even.py")
    data = optmodel.load(tiny)
    bm = apply_extra(build_model(data), data, extra)
    assert list(bm.vars)[-1] == "z" and bm.vars["z"].meta["scalar"]
    assert bm.vars["z"].domains[0] == "integer" and bm.vars["z"].upper[0] == 3
    assert bm.vars["build"].upper[0] == 0 and bm.vars["build"].lower[0] == 0
    tables = optmodel.solve(data, extra=extra, mip_gap=0)
    tr = tables["Trade"]
    sold = float(tr.loc[(tr["product"] == "conc") & (tr["year"] == 2026), "tonnes"].sum())
    assert sold in (0.0, 2.0, 4.0, 6.0)
    builds = tables["Builds"]
    assert not ((builds["option"] == "sep1") & (builds["year"] == 2026)).any()


def test_extra_does_not_change_the_structure_it_extends(tiny, cap_file) -> None:
    # Conditions: apply_extra on a structure. Expected: the structure given keeps its
    # families (no user family leaks into it); the result has them appended, last.
    data = optmodel.load(tiny)
    bm = build_model(data)
    before = (list(bm.vars), list(bm.cons))
    out = apply_extra(bm, data, ExtraFile.read(cap_file))
    assert (list(bm.vars), list(bm.cons)) == before
    assert list(out.cons) == before[1] + ["conc_cap"]
    assert out.cons["conc_cap"].keys == ["index"] and len(out.cons["conc_cap"]) == 2


BAD = {
    "syntax": ("def extra_constraints(model, data):\n    x = (\n", "line 2: syntax error"),
    "raises": ("def extra_constraints(model, data):\n    y = 1\n    raise ValueError('no')\n",
               "line 3: ValueError: no"),
    "nonlinear": ("import pyomo.environ as pyo\n\ndef extra_constraints(model, data):\n"
                  "    v = model.act[next(iter(model.act))]\n"
                  "    model.sq = pyo.Constraint(expr=v * v <= 4)\n",
                  "line 5: constraint sq is not linear"),
    "objective": ("import pyomo.environ as pyo\n\ndef extra_constraints(model, data):\n"
                  "    model.del_component(model.npv)\n"
                  "    model.npv = pyo.Objective(expr=0)\n", "line 5: the objective npv"),
    "second objective": ("import pyomo.environ as pyo\n\ndef extra_constraints(model, data):\n"
                         "    model.other = pyo.Objective(expr=model.open['Plant'])\n",
                         "line 4: a second objective"),
    "deactivated": ("def extra_constraints(model, data):\n"
                    "    model.product_balance.deactivate()\n", "product_balance"),
    "no function": ("x = 1\n", "defines no function extra_constraints"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_errors_in_the_file_are_input_errors(case, tiny, tmp_path) -> None:
    # Expected: InputError naming the file and the line (a deactivated built-in constraint
    # and a missing function have no line of their own).
    text, message = BAD[case]
    path = tmp_path / "bad_extra.py"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        optmodel.solve(tiny, extra=path)
    assert str(err.value).startswith("bad_extra.py: ") and message in str(err.value)


def test_cli_exit_code_2_names_file_and_line(tiny, tmp_path) -> None:
    path = tmp_path / "oops.py"
    path.write_text("def extra_constraints(model, data):\n    return model.nothing_here\n")
    res = CliRunner().invoke(app, ["solve", str(tiny), "-o", str(tmp_path / "o.xlsx"),
                                   "--no-report", "--extra", str(path)])
    assert res.exit_code == 2
    assert "oops.py" in res.output and "line 2" in res.output


@pytest.mark.slow
def test_cli_solve_with_the_shipped_example(tmp_path) -> None:
    # Conditions: the base case with docs/examples/cap_exports.py (carbonate exports ≤
    # 300 t a year; the base case exports more in its first year). Expected: exit 0, the
    # cap holds every year, the NPV is below the base case's, the Run sheet names the
    # file with its SHA-256, the model file written with --write-model holds the cap.
    example = REPO / "docs" / "examples" / "cap_exports.py"
    out, lp = tmp_path / "capped.xlsx", tmp_path / "capped.lp"
    res = CliRunner().invoke(app, ["solve", str(REPO / "inputs" / "base_case.xlsx"),
                                   "-o", str(out), "--no-report", "--extra", str(example),
                                   "--write-model", str(lp)])
    assert res.exit_code == 0, res.output
    tables = read_result_workbook(out)
    tr = tables["Trade"]
    carb = tr[(tr["product"] == "carbonate_loparite") & (tr["scope"] == "export")]
    assert (carb.groupby("year")["tonnes"].sum() <= 300 + 1e-6).all()
    assert _npv(tables) < BASE_NPV_USD / 1e6 - 1e-6  # below the pinned base NPV: the cap binds
    run = dict(zip(tables["Run"]["key"], tables["Run"]["value"], strict=False))
    assert run["extra_file"] == "cap_exports.py"
    assert run["extra_sha256"] == hashlib.sha256(example.read_bytes()).hexdigest()
    assert "cap_carbonate_exports" in lp.read_text()


def test_sweep_runs_carry_the_file_text(tiny, tmp_path) -> None:
    # Conditions: a two-run sweep of the ChinaC price, in this process, with the extra
    # file deleted after it was read (runs get its text, not its path). Expected: both
    # runs solved, each with the cap holding and the file recorded in its Run sheet.
    from optmodel.batch.engine import run_sweep

    path = tmp_path / "conc_cap.py"
    path.write_text(CAP_FILE)
    extra = ExtraFile.read(path)
    path.unlink()
    # what a Dask worker receives: the job pickled, the file's text inside it
    from optmodel.batch.engine import BatchJob

    job = pickle.loads(pickle.dumps(BatchJob(str(tiny), tiny.name, "0", extra=extra)))
    assert job.extra == extra and "conc_cap" in job.extra.source
    outcome = run_sweep(tiny, ["Markets|ChinaC|conc|sell|export|:price_usd_per_t=1500:2500:2"],
                        out_dir=tmp_path / "sweep", workers=1, page=False, extra=extra)
    assert outcome.exit_code == 0
    for r in outcome.results:
        tables = read_result_workbook(Path(r.output))
        tr = tables["Trade"]
        assert (tr[tr["product"] == "conc"].groupby("year")["tonnes"].sum()
                <= CAP_T + 1e-6).all()
        run = dict(zip(tables["Run"]["key"], tables["Run"]["value"], strict=False))
        assert run["extra_sha256"] == extra.sha256


def test_robust_blocks_get_the_file(tiny) -> None:
    # Conditions: robust over base and duty50 with the cap. Expected: the robust plan's
    # operations respect the cap in both scenarios, and the Run records the file.
    from optmodel.strategy.robust import robust_solve

    extra = ExtraFile.from_text(CAP_FILE, "conc_cap.py")
    res = robust_solve(tiny, "base,duty50", extra=extra)
    assert res.engine == "extensive form"  # two scenarios: --engine auto's choice
    for s in ("base", "duty50"):
        tr = res.robust[s].tables["Trade"]
        assert (tr[tr["product"] == "conc"].groupby("year")["tonnes"].sum()
                <= CAP_T + 1e-6).all()
        assert "conc_cap" in res.robust[s].tables["Binding"]["constraint"].tolist()
    assert res.opts.extra is extra


def test_random_cap_matches_quota(tmp_path) -> None:
    # Conditions: random caps (seeded) on concentrate exports of the tiny case.
    # Expected: the extra file and the Policy quota give the same NPV (1e-9).
    rng = random.Random(7)
    for cap in (rng.uniform(0, 40) for _ in range(2)):
        sheets = copy.deepcopy(tiny_sheets())
        path = write_input(tmp_path / "t.xlsx", sheets)
        sheets["Policy"].append(dict(instrument="export_quota_t", target="conc", value=cap))
        quota = write_input(tmp_path / "q.xlsx", sheets)
        extra = ExtraFile.from_text(CAP_FILE.replace(str(CAP_T), repr(cap)))
        got = optmodel.solve(path, extra=extra, mip_gap=0)
        assert _npv(got) == pytest.approx(_npv(optmodel.solve(quota, mip_gap=0)), rel=1e-9)
        assert np.isfinite(_npv(got))


def test_extra_joins_a_batch_runs_prepared_structure_without_touching_the_shared_core(
        tiny) -> None:
    # Conditions: a batch worker's CoreCache makes the tiny case's data and structure twice
    # (same sheets, so the second run shares the first's core families); the cap file is
    # applied to the first run's prepared structure by pipeline.run_structure, the function
    # every run's structure goes through. Expected: the first run's structure gains
    # conc_cap and solves to the NPV of optmodel.solve(path, extra=...); the prepared
    # structure and the shared core families are unchanged (same objects, same terms), so
    # the second run, without the file, solves to the uncapped NPV.
    from optmodel.batch.cache import CoreCache
    from optmodel.input.validate import validate_raw
    from optmodel.io.read import read_raw
    from optmodel.model.build import CORE_FAMILIES
    from optmodel.pipeline import run_structure, solve_options
    from optmodel.solver.solve import solve

    extra = ExtraFile.from_text(CAP_FILE, "conc_cap.py")
    raw = {k: v for k, v in read_raw(tiny).items() if k.lower() != "scenarios"}
    cores = CoreCache()
    tables, _ = validate_raw(raw)
    data, bm, shared = cores.model(raw, tables)
    assert not shared
    core_names = [f.__name__ for f in CORE_FAMILIES if f.__name__ in bm.cons]
    assert core_names  # the tiny case has plant families to share
    before = {n: (bm.cons[n], bm.cons[n].terms.copy()) for n in core_names}
    cons_before = list(bm.cons)
    opts = solve_options(tables.settings, mip_gap=0, extra=extra)
    capped = run_structure(data, opts, bm)
    assert "conc_cap" in capped.cons and "conc_cap" not in bm.cons
    assert list(bm.cons) == cons_before
    for n, (fam, terms) in before.items():
        assert bm.cons[n] is fam and capped.cons[n].terms is fam.terms
        pd.testing.assert_frame_equal(fam.terms, terms)
    npv_capped = solve(capped, opts).objective_usd / 1e6
    assert npv_capped == pytest.approx(_npv(optmodel.solve(tiny, extra=extra, mip_gap=0)),
                                       rel=1e-9)
    data2, bm2, shared2 = cores.model(raw, validate_raw(raw)[0])
    assert shared2 and "conc_cap" not in bm2.cons
    free = solve(run_structure(data2, solve_options(tables.settings, mip_gap=0), bm2),
                 solve_options(tables.settings, mip_gap=0)).objective_usd / 1e6
    assert free == pytest.approx(_npv(optmodel.solve(tiny, mip_gap=0)), rel=1e-9)
    assert free > npv_capped + 1e-6  # the cap binds in the tiny case


def test_the_same_file_applied_twice_is_an_internal_error(tiny) -> None:
    # Conditions: a structure that already holds the file's families. Expected: applying
    # the file again is refused (it would duplicate its constraints), not done silently.
    from optmodel.errors import InternalError

    extra = ExtraFile.from_text(CAP_FILE, "conc_cap.py")
    data = optmodel.load(tiny)
    once = apply_extra(build_model(data), data, extra)
    with pytest.raises(InternalError, match="applied twice"):
        apply_extra(once, data, extra)


@pytest.mark.slow
def test_sensitivity_runs_get_the_file(tmp_path) -> None:
    # Conditions: the one-option workbook of tests/test_sensitivity.py (building B earns
    # 100·p − 1e6 USD, so the plan flips at p* = 10,000 USD/t), the price swept over
    # 6,000…15,000, with a file that forbids every build. Expected: without the file the
    # price has a flip; with it nothing is built at any price (NPV 0 at both ends, no
    # flip), and the Run sheet records the file's SHA-256.
    from test_sensitivity import PRICE, one_option_sheets

    from optmodel.batch.sensitivity import run_sensitivity

    book = write_input(tmp_path / "one.xlsx", one_option_sheets())
    path = tmp_path / "no_builds.py"
    path.write_text("import pyomo.environ as pyo\n\n\ndef extra_constraints(model, data):\n"
                    "    model.no_builds = pyo.Constraint(\n"
                    "        expr=sum(model.build[k] for k in model.build) == 0)\n")
    sets = [f"{PRICE}=6000:15000"]
    free = run_sensitivity(book, sets, points=3, output=tmp_path / "free.xlsx", workers=1)
    assert len(free.flips) == 1
    got = run_sensitivity(book, sets, points=3, output=tmp_path / "extra.xlsx", workers=1,
                          extra=path)
    assert got.exit_code == 0 and got.flips.empty
    row = got.tornado.iloc[0]
    assert (row["npv_lo_musd"], row["npv_hi_musd"]) == pytest.approx((0.0, 0.0), abs=1e-9)
    assert row["plan_changes"] == "no"
    assert got.meta["extra_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
