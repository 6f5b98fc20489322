"""Batches: scenarios, sweeps, shared structure, failed runs, Dask workers (tiny workbook)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from tinycase import ROOT, tiny_sheets, write_input

from optmodel.batch.engine import run_sweep, solve_all_scenarios
from optmodel.errors import InputError
from optmodel.input.scenarios import Override, apply_overrides
from optmodel.input.validate import validate_raw
from optmodel.io.read import read_raw
from optmodel.model.objective import PV_TERM_LINES
from optmodel.pipeline import solve_options, solve_workbook

NPV = "npv_musd"


@pytest.fixture
def tiny_min_t(tmp_path):
    """The tiny workbook with a (zero, hard) minimum on the concentrate market."""
    sheets = tiny_sheets()
    sheets["Markets"][0]["min_t"] = 0
    return write_input(tmp_path / "tiny_min.xlsx", sheets)


def _book(path):
    return pd.read_excel(path, sheet_name=None, engine="calamine")


def _summary(path) -> dict:
    s = pd.read_excel(path, sheet_name="Summary", engine="calamine")
    return dict(zip(s["metric"], s["value"], strict=True))


def test_scenario_all_equals_editing_by_hand(tiny_workbook, tmp_path):
    """duty50 of the batch == the same change typed into a copy of the workbook."""
    out = tmp_path / "res.xlsx"
    code = solve_all_scenarios(tiny_workbook, out, mip_gap=0.0)
    assert code == 0
    sheets = tiny_sheets()
    sheets["Policy"][0]["value"] = 0.5  # the duty50 scenario, by hand
    sheets["Scenarios"] = []
    by_hand = solve_workbook(write_input(tmp_path / "hand.xlsx", sheets), tmp_path / "h.xlsx",
                             mip_gap=0.0)
    batch = _book(tmp_path / "res_duty50.xlsx")
    assert _summary(tmp_path / "res_duty50.xlsx")[NPV] == pytest.approx(
        by_hand.summary[NPV], rel=1e-9, abs=1e-9)
    for sheet in ("Builds", "Trade", "Flows", "Activity"):
        pd.testing.assert_frame_equal(batch[sheet], _book(tmp_path / "h.xlsx")[sheet],
                                      check_dtype=False)
    base = solve_workbook(tiny_workbook, tmp_path / "b.xlsx", mip_gap=0.0)
    assert _summary(tmp_path / "res_base.xlsx")[NPV] == pytest.approx(base.summary[NPV],
                                                                       rel=1e-9, abs=1e-9)


@pytest.mark.slow
def test_batch_runs_equal_fresh_solves_run_by_run(tiny_workbook, tmp_path):
    """Prices, rates, capacities, recipe and domain (binary ↔ integer) changes: each batch
    run (sharing validated sheets and plant data with the runs before it) gives the NPV of
    a solve of freshly validated tables, and its Summary's pv_ lines add up to that NPV."""
    from optmodel.batch.engine import RunSpec, run_batch
    from optmodel.pipeline import solve_tables

    raw = read_raw(tiny_workbook)
    changes = [
        [],
        [Override("Policy", "export_duty_rate|stage<=1|", "value", value=0.5)],  # duty50
        [Override("Markets", "JapanOx|*|*|*|*", "price_usd_per_t", value=8000)],
        [Override("Settings", "discount_rate", "value", value=0.0),
         Override("BuildOptions", "sep1", "max_units", value=1)],
        [Override("Recipes", "sep|oxide|out", "qty_per_activity", value=0.6),
         Override("Deposits", "D", "reserve_t", value=400)],
        [Override("NodeProcesses", "Mine|flot|", "existing_capacity", value=80),
         Override("Markets", "JapanOx|*|*|*|*", "max_t", value=200)],
        [Override("NodeProcesses", "Mine|flot|", "existing_capacity", value=0)],  # new shape
        [Override("BuildOptions", "sep1", "capex_musd", value=0.05)],
    ]
    runs = [RunSpec(f"r{i}", ovs, output=str(tmp_path / f"r{i}.xlsx"))
            for i, ovs in enumerate(changes)]
    out = run_batch(tiny_workbook, runs, tmp_path / "batch.xlsx", workers=1, mip_gap=0.0)
    assert [r.exit_code for r in out.results] == [0] * len(changes)
    for run, ovs in zip(out.results, changes, strict=True):
        tables, issues = validate_raw(apply_overrides(raw, ovs))
        assert not [i for i in issues if i.severity == "error"]
        _, _, sol, fresh = solve_tables(tables, solve_options(tables.settings, mip_gap=0.0))
        assert run.kpis[NPV] == pytest.approx(sol.objective_usd / 1e6, rel=1e-9, abs=1e-9)
        summ = _book(tmp_path / f"{run.name}.xlsx")["Summary"]
        pv = summ.loc[summ.metric.isin(PV_TERM_LINES), "value"].astype(float).sum()
        assert pv == pytest.approx(sol.objective_usd / 1e6, abs=1e-7)  # 9-decimal cells


@pytest.mark.slow
def test_sweep_writes_the_cli_files(tiny_workbook, tmp_path):
    sets = ["Markets|JapanOx|oxide|sell|export|:price_usd_per_t=5000:30000:3",
            "Settings|discount_rate:value=0:0.2:2"]
    warm = run_sweep(tiny_workbook, sets, out_dir=tmp_path / "w", workers=1, mip_gap=0.0)
    assert warm.exit_code == 0
    # the core sheets differ only by discount rate (2 values): the first run of each builds
    # the plant core, the other runs find it by content
    assert sorted(r.model for r in warm.results) == ["built"] * 2 + ["structure re-used"] * 4
    files = sorted(p.name for p in (tmp_path / "w").iterdir())
    assert files == ["batch.html", "batch.xlsx", "plotly.min.js"] + [
        f"sweep_00{i}.xlsx" for i in range(1, 7)]  # the batch's pages share plotly.min.js
    book = _book(tmp_path / "w" / "batch.xlsx")
    runs = book["Runs"]
    assert list(runs.columns[:3]) == ["scenario", *(s.split("=")[0] for s in sets)]
    for col in ("status", "exit_code", "message", NPV, "processing_depth_index",
                "raw_export_share", "domestic_value_added_musd", "builds", "time_s"):
        assert col in runs.columns
    assert runs[NPV].tolist() == pytest.approx([r.kpis[NPV] for r in warm.results])
    assert runs["builds"].str.contains(r"sep1 ×\d \(20\d\d\)|none").all()
    resp = book["Response 1"]
    assert resp.iloc[:, 0].tolist() == [5000, 17500, 30000]
    assert {"npv_musd_mean", "npv_musd_min", "npv_musd_max"} <= set(resp.columns)
    assert list(book["Response 2"].iloc[:, 0]) == [0, 0.2]
    one = _book(tmp_path / "w" / "sweep_005.xlsx")["Run"]
    assert "override" in set(one["key"]) and "sweep_005" in set(one["value"])


def test_failed_and_infeasible_runs_do_not_stop_the_sweep(tiny_min_t, tmp_path):
    # min_t -1e6: invalid (exit 2); 0: solves; 1e6 (hard, no penalty): infeasible (exit 1)
    out = run_sweep(tiny_min_t, ["Markets|ChinaC|conc|sell|export|:min_t=-1e6:1e6:3"],
                    out_dir=tmp_path / "out", workers=1)
    assert [r.exit_code for r in out.results] == [2, 0, 1]
    assert out.exit_code == 2
    runs = _book(tmp_path / "out" / "batch.xlsx")["Runs"]
    assert runs["status"].tolist() == ["input error", "optimal", "infeasible"]
    assert "min_t" in runs["message"][0] and "infeasible" in runs["message"][2]
    # the infeasible run gets the diagnosis workbook a single solve would write
    assert runs["output"].fillna("").tolist() == ["", "sweep_002.xlsx", "sweep_003.xlsx"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "batch.html", "batch.xlsx", "plotly.min.js", "sweep_002.xlsx", "sweep_003.xlsx"]
    diag = _book(tmp_path / "out" / "sweep_003.xlsx")
    assert set(diag) >= {"Diagnosis", "Run"} and "Summary" not in diag
    assert "ChinaC" in diag["Diagnosis"].to_string()
    assert "Diagnosis written to sweep_003.xlsx" in runs["message"][2]


def test_selector_matching_no_row_is_an_input_error(tiny_workbook, tmp_path):
    with pytest.raises(InputError, match="matches no row"):
        run_sweep(tiny_workbook, ["Markets|Nowhere|*|*|*|*:price_usd_per_t=1:2:2"],
                  out_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_bad_scenario_fails_alone(tmp_path):
    sheets = tiny_sheets()
    sheets["Scenarios"].append(dict(scenario="negative", sheet="Markets", key="ChinaC|*|*|*|*",
                                    column="price_usd_per_t", value=-5))
    wb = write_input(tmp_path / "in.xlsx", sheets)
    code = solve_all_scenarios(wb, tmp_path / "r.xlsx")
    assert code == 2  # the worst of 0, 0, 2
    runs = _book(tmp_path / "r_batch.xlsx")["Runs"]
    assert runs["exit_code"].tolist() == [0, 0, 2]
    assert "after applying scenario negative" in runs["message"][2]
    assert not (tmp_path / "r_negative.xlsx").exists()
    # a selector that matches no row stops the batch before any run (exit 2)
    sheets["Scenarios"][-1]["key"] = "Nowhere|*|*|*|*"
    wb = write_input(tmp_path / "in2.xlsx", sheets)
    with pytest.raises(InputError, match="matches no row"):
        solve_all_scenarios(wb, tmp_path / "q.xlsx")


@pytest.mark.slow
def test_dask_local_cluster_two_workers(tiny_min_t, tmp_path):
    sets = ["Markets|JapanOx|oxide|sell|export|:price_usd_per_t=4000:36000:3",
            "Markets|ChinaC|conc|sell|export|:min_t=0:1e6:2"]
    out = run_sweep(tiny_min_t, sets, out_dir=tmp_path / "d", workers=2, mip_gap=0.0)
    ref = run_sweep(tiny_min_t, sets, out_dir=tmp_path / "ref", workers=1, mip_gap=0.0)
    assert [r.name for r in out.results] == [f"sweep_{i:03d}" for i in range(1, 7)]
    assert [r.exit_code for r in out.results] == [0, 1] * 3
    assert out.exit_code == 1
    for a, b in zip(out.results, ref.results, strict=True):
        assert a.exit_code == b.exit_code
        if a.exit_code == 0:
            assert a.kpis[NPV] == pytest.approx(b.kpis[NPV], rel=1e-9, abs=1e-9)
    meta = _book(tmp_path / "d" / "batch.xlsx")["Batch"].set_index("key")["value"]
    assert meta["scheduler"] == "embedded LocalCluster" and int(meta["runs"]) == 6
    books = {p.name: _book(p) for p in (tmp_path / "d").glob("sweep_*.xlsx")}
    assert len(books) == 6  # infeasible runs: diagnosis workbooks
    assert sorted(n for n, b in books.items() if "Diagnosis" in b) == [
        f"sweep_{i:03d}.xlsx" for i in (2, 4, 6)]


@pytest.mark.slow
def test_existing_scheduler_gets_the_runs_and_results_come_back(tiny_min_t, tmp_path,
                                                                 monkeypatch):
    """--scheduler: a running cluster's workers (spawned, not forked) solve; this process
    writes every workbook, the infeasible run's diagnosis included."""
    from dask.distributed import LocalCluster

    monkeypatch.setenv("OPTMODEL_WORKER_START", "spawn")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster:
        out = run_sweep(tiny_min_t, ["Markets|ChinaC|conc|sell|export|:min_t=0:1e6:2"],
                        out_dir=tmp_path / "s", scheduler=cluster.scheduler_address)
    assert [r.exit_code for r in out.results] == [0, 1]
    assert [r.written for r in out.results] == [True, True]
    assert "Summary" in _book(tmp_path / "s" / "sweep_001.xlsx")
    assert "Diagnosis" in _book(tmp_path / "s" / "sweep_002.xlsx")
    meta = _book(tmp_path / "s" / "batch.xlsx")["Batch"].set_index("key")["value"]
    assert meta["scheduler"] == cluster.scheduler_address


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_worker_start_method_can_be_chosen(method, monkeypatch):
    import optmodel.solver.options
    from optmodel.batch.engine import worker_start_method

    monkeypatch.setenv("OPTMODEL_WORKER_START", method)
    assert worker_start_method() == method
    monkeypatch.delenv("OPTMODEL_WORKER_START")
    monkeypatch.setattr(optmodel.solver.options, "_SOLVER_HAS_RUN", False)
    assert worker_start_method() == ("fork" if sys.platform.startswith("linux") else "spawn")
    # after a solve in this process HiGHS may hold threads that a fork would break
    monkeypatch.setattr(optmodel.solver.options, "_SOLVER_HAS_RUN", True)
    assert worker_start_method() == "spawn"


@pytest.mark.slow
def test_cli_scenario_all_and_sweep(tiny_workbook, tmp_path):
    out = tmp_path / "res.xlsx"
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), "solve", str(tiny_workbook),
                        "-o", str(out), "--scenario", "all", "--no-report"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert {p.name for p in tmp_path.glob("res_*.xlsx")} == {
        "res_base.xlsx", "res_duty50.xlsx", "res_batch.xlsx"}
    runs = _book(tmp_path / "res_batch.xlsx")["Runs"]
    assert runs["scenario"].tolist() == ["base", "duty50"]
    assert runs["changes"].fillna("").tolist() == [
        "", "Policy|export_duty_rate|stage<=1|:value=0.5"]
    bad = subprocess.run([sys.executable, str(ROOT / "run.py"), "sweep", str(tiny_workbook),
                          "--set", "Markets|*|oxide:price_usd_per_t=1:2:3"],
                         capture_output=True, text=True)
    assert bad.returncode == 2
    assert "has 5 position(s)" in bad.stderr and "Traceback" not in bad.stderr


def test_cluster_that_cannot_start_falls_back_to_this_process(tiny_workbook, tmp_path,
                                                              monkeypatch):
    import dask.distributed

    def refuse(*args, **kwargs):
        raise RuntimeError("Nanny failed to start.")

    monkeypatch.setattr(dask.distributed, "LocalCluster", refuse)
    out = run_sweep(tiny_workbook, ["Settings|discount_rate:value=0:0.1:2"],
                    out_dir=tmp_path, workers=2)
    assert out.exit_code == 0 and [r.exit_code for r in out.results] == [0, 0]


def test_cold_batch_run_is_the_single_solve(tiny_workbook, tmp_path):
    """Every sheet but Run equals `solve --scenario duty50`, cell for cell."""
    solve_workbook(tiny_workbook, tmp_path / "one.xlsx", scenario="duty50")
    assert solve_all_scenarios(tiny_workbook, tmp_path / "all.xlsx") == 0
    one, batch = _book(tmp_path / "one.xlsx"), _book(tmp_path / "all_duty50.xlsx")
    assert set(one) == set(batch)
    for sheet in set(one) - {"Run"}:
        pd.testing.assert_frame_equal(one[sheet], batch[sheet], obj=sheet)


def test_ctrl_c_keeps_finished_runs_and_writes_the_batch_workbook(tiny_workbook, tmp_path,
                                                                  monkeypatch):
    """Ctrl-C during the third run: the two finished runs keep their workbooks, batch.xlsx
    lists them and marks the rest interrupted, and the interrupt still ends the command.
    A one-parameter sweep solves its two ends first (LineOrder): runs 1 and 4 are done."""
    import optmodel.batch.engine as batch
    from optmodel.errors import EXIT_INTERRUPTED, Interrupted

    real, calls = batch.solve_run, []

    def interrupt_third(job, run, bracket=None):
        calls.append(run.name)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(job, run, bracket)

    monkeypatch.setattr(batch, "solve_run", interrupt_third)
    with pytest.raises(Interrupted, match="after 2 of 4 runs"):
        run_sweep(tiny_workbook, ["Settings|discount_rate:value=0:0.1:4"],
                  out_dir=tmp_path, workers=1)
    assert calls == ["sweep_001", "sweep_004", "sweep_002"]
    runs = _book(tmp_path / "batch.xlsx")["Runs"]
    assert runs["status"].tolist() == ["optimal", "interrupted", "interrupted", "optimal"]
    assert runs["exit_code"].tolist() == [0, EXIT_INTERRUPTED, EXIT_INTERRUPTED, 0]
    assert sorted(p.name for p in tmp_path.glob("sweep_*.xlsx")) == ["sweep_001.xlsx",
                                                                      "sweep_004.xlsx"]
    meta = _book(tmp_path / "batch.xlsx")["Batch"].set_index("key")["value"]
    assert meta["interrupted"].startswith("yes, after 2 of 4")


@pytest.mark.slow
def test_ctrl_c_in_a_terminal_stops_a_parallel_sweep_cleanly(tiny_workbook, tmp_path):
    """SIGINT to the whole process group (what Ctrl-C in a terminal does), workers
    included: exit 130 within seconds, no traceback, batch.xlsx written, no process left."""
    import os
    import signal
    import time

    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "sweep", str(tiny_workbook), "--set",
         "Settings|discount_rate:value=0:0.2:400", "-o", str(out), "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len(list(out.glob("sweep_*.xlsx"))) < 3 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            time.sleep(0.05)
        t = time.perf_counter()
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
        stopped_after = time.perf_counter() - t
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr[-2000:]
    assert stopped_after < 15
    assert "Traceback" not in stdout + stderr and "Interrupted after" in stderr
    runs = _book(out / "batch.xlsx")["Runs"]
    assert (runs["status"] == "interrupted").sum() > 0
    done = runs[runs["status"] == "optimal"]
    assert len(done) >= 1  # workers write a run's file just before its result comes back
    assert all((out / name).is_file() for name in done["output"])
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):  # the group, workers included, is gone
        os.killpg(proc.pid, 0)


@pytest.mark.slow
def test_price_sweep_shares_structure_and_equals_fresh_solves(tiny_workbook, tmp_path):
    """A sweep that changes only Markets re-uses the plant section and its families after
    the first run; every run's NPV and plan equal a solve of freshly validated tables."""
    from optmodel.pipeline import solve_tables

    sets = ["Markets|JapanOx|oxide|sell|export|:price_usd_per_t=4000:36000:5"]
    out = run_sweep(tiny_workbook, sets, out_dir=tmp_path / "p", workers=1, mip_gap=0.0)
    assert [r.model for r in out.results] == ["built"] + ["structure re-used"] * 4
    raw = read_raw(tiny_workbook)
    for run, price in zip(out.results, [4000, 12000, 20000, 28000, 36000], strict=True):
        changed = apply_overrides(raw, [Override("Markets", "JapanOx|oxide|sell|export|",
                                                 "price_usd_per_t", value=price)])
        tables, _ = validate_raw(changed)
        _, _, _, fresh = solve_tables(tables, solve_options(tables.settings, mip_gap=0.0))
        npv = dict(zip(fresh["Summary"]["metric"], fresh["Summary"]["value"], strict=True))
        assert run.kpis[NPV] == pytest.approx(npv[NPV], rel=1e-9, abs=1e-9), run.name
        got = _book(tmp_path / "p" / f"{run.name}.xlsx")
        assert got["Builds"]["units"].sum() == pytest.approx(fresh["Builds"]["units"].sum())
    meta = _book(tmp_path / "p" / "batch.xlsx")["Batch"].set_index("key")["value"]
    assert int(meta["structures_re_used"]) == 4 and int(meta["models_built"]) == 1


@pytest.mark.slow
def test_batch_page_draws_every_solved_run(tiny_min_t, tmp_path):
    """batch.html: one panel per KPI and parameter with a point per solved run (the
    values of the Runs sheet), failed runs listed, nothing fetched from the network."""
    import json
    import re

    from optmodel.report.batch_page import KPI_LABELS, response_figure, scenario_figure

    sets = ["Markets|JapanOx|oxide|sell|export|:price_usd_per_t=4000:36000:3",
            "Markets|ChinaC|conc|sell|export|:min_t=0:1e6:2"]
    run_sweep(tiny_min_t, sets, out_dir=tmp_path / "b", workers=1)
    runs = _book(tmp_path / "b" / "batch.xlsx")["Runs"]
    labels = [c for c in runs.columns if c.startswith("Markets|")]
    solved = runs[runs["exit_code"] == 0]
    assert len(solved) == 3 and len(runs) == 6
    fig = response_figure(runs, labels[0], labels, grid=True)
    npv = [t for t in fig.data if t.yaxis in (None, "y")]  # the first panel: NPV
    xs = sorted(x for t in npv for x in t.x)
    assert xs == sorted(solved[labels[0]].tolist())
    ys = sorted(y for t in npv for y in t.y)
    assert ys == pytest.approx(sorted(solved["npv_musd"].tolist()))
    assert len(fig.data) == len(KPI_LABELS) * len(
        {*map(tuple, solved[labels[1:]].values.tolist())})
    page = (tmp_path / "b" / "batch.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "Runs that did not solve (3)" in page
    for label in KPI_LABELS.values():
        assert label in page
    body = re.sub(r"<script type=\"text/javascript\">.*?</script>", "", page, count=1,
                  flags=re.S)  # plotly.js itself
    assert not re.search(r"(src|href)=[\"']https?://", body)
    # scenarios: a bar per solved scenario and KPI
    bars = scenario_figure(runs)
    assert [len(t.y) for t in bars.data] == [3] * len(KPI_LABELS)
    assert json.loads(bars.to_json())["data"][0]["orientation"] == "h"


@pytest.mark.slow
def test_forked_workers_give_the_in_process_results(tiny_min_t, tmp_path):
    """A fresh `run.py sweep --workers 2` process forks its workers (Linux) or spawns them;
    either way every run matches the same sweep solved in this process."""
    sets = ["Markets|JapanOx|oxide|sell|export|:price_usd_per_t=4000:36000:4",
            "Markets|ChinaC|conc|sell|export|:min_t=0:1e6:2"]
    cmd = [sys.executable, str(ROOT / "run.py"), "sweep", str(tiny_min_t), "-o",
           str(tmp_path / "cli"), "--workers", "2", "--mip-gap", "0", "--no-report"]
    for s in sets:
        cmd += ["--set", s]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 1, r.stderr[-2000:]  # the min_t = 1e6 runs are infeasible
    ref = run_sweep(tiny_min_t, sets, out_dir=tmp_path / "ref", workers=1, mip_gap=0.0)
    got = _book(tmp_path / "cli" / "batch.xlsx")["Runs"]
    assert got["scenario"].tolist() == [x.name for x in ref.results]
    assert got["exit_code"].tolist() == [x.exit_code for x in ref.results]
    for npv, x in zip(got["npv_musd"], ref.results, strict=True):
        if x.exit_code == 0:
            assert npv == pytest.approx(x.kpis[NPV], rel=1e-9, abs=1e-9)
    meta = _book(tmp_path / "cli" / "batch.xlsx")["Batch"].set_index("key")["value"]
    assert meta["scheduler"] == "embedded LocalCluster"
    assert "Traceback" not in r.stderr
