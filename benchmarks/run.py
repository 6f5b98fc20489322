"""Benchmark: time per phase, peak memory, and the cost of optmodel over HiGHS alone.

    python benchmarks/run.py                     # lp and mip families, sizes xs s m l
    python benchmarks/run.py --sizes s,l --families lp
    python benchmarks/run.py --quick             # lp xs and s, mip xs, one run each (< 1 min)

For each family (``lp``: existing capacity only; ``mip``: build decisions) and
size (benchmarks/generate.py) it

1. writes the instance workbook (cached in the work folder, deterministic);
2. writes the model as MPS the way ``run.py solve --write-model`` does;
3. runs the pipeline in a fresh process (``solve_workbook``) and records the
   time of each phase: import, read workbook, validate, build model data,
   build model, hand to solver, solve, duals, extract results, write workbook;
4. times the command line end to end, ``python run.py solve IN -o OUT
   --no-report``, from outside (wall clock, peak RSS of that process);
5. solves the MPS with HiGHS alone (highspy: readModel + run, threads 1, the
   same gap options, sub-MIP heuristics off as optmodel sets them) in a fresh
   process: read and solve times, peak RSS;
6. for the mip family, solves the same MPS once more with the node_open_link
   coefficients replaced by a plain big-M of 1e6 (``--no-bigm`` skips it).

Every measurement is the median of ``--repeats`` runs (3; 1 with --quick).
Peak memory is the ``ru_maxrss`` of each child process (``os.wait4``).  Then
it prints one table, the ratios end-to-end / HiGHS alone (read MPS + solve),
overhead / HiGHS solve for MIPs, memory ratios, and the fitted exponent b of
build time ≈ a·rows^b over the sizes run.  ``--json FILE`` keeps the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

PHASES = [("import", "import"), ("read", "read workbook"), ("validate", "validate"),
          ("prepare", "build model data"), ("build", "build model"),
          ("handoff", "hand to solver"), ("solve", "solve"), ("duals", "duals"),
          ("extract", "extract results"), ("write", "write workbook")]
DEFAULT_SIZES = ("xs", "s", "m", "l")
QUICK_SIZES = ("xs", "s")

# --------------------------------------------------------------- child helpers


def _child(args: list[str], timeout: float = 3600) -> tuple[float, int, str, str, int]:
    """Run a child process; return (wall s, peak RSS in MB, stdout, stderr, exit code)."""
    t = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    wall = time.perf_counter() - t
    # communicate() already reaped the child: the rusage of that one child comes from
    # the ru_maxrss it reports itself (the phase and HiGHS scripts do), or from wait4
    # in _child_rss for the command line.
    return wall, 0, out, err, proc.returncode


def _child_rss(args: list[str], timeout: float = 3600) -> tuple[float, float, str, int]:
    """Run a child and measure its own peak RSS with wait4 (Linux: ru_maxrss in KB)."""
    t = time.perf_counter()
    with open(os.devnull, "w") as null:
        err_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_err_{os.getpid()}.txt"
        with open(err_path, "w") as errf:
            proc = subprocess.Popen(args, stdout=null, stderr=errf, cwd=ROOT)
            deadline = time.time() + timeout
            while True:
                pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.time() > deadline:
                    proc.kill()
                time.sleep(0.005)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = err_path.read_text(errors="replace")
    err_path.unlink(missing_ok=True)
    return wall, ru.ru_maxrss / 1024.0, err, proc.returncode


PHASE_SCRIPT = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from optmodel.pipeline import solve_workbook
t_import = time.perf_counter() - t0
res = solve_workbook(sys.argv[1], sys.argv[2], report=False)
times = dict(res.times)
times["import"] = t_import
times["wall"] = time.perf_counter() - t0
s = res.summary
print(json.dumps({"times": times, "npv_musd": s["npv_musd"], "status": s["status"],
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))
"""

MPS_SCRIPT = r"""
import json, sys
from optmodel.pipeline import load_tables
from optmodel.model.data import build_model_data
from optmodel.model.build import build_model
from optmodel.solver.highs import assemble, names, write_model
bm = build_model(build_model_data(load_tables(sys.argv[1])))
mm = assemble(bm)  # the matrix every solve hands to HiGHS, written as --write-model does
write_model(names(bm, mm), sys.argv[2])
print(json.dumps({"vars": mm.num_col, "rows": mm.num_row, "nnz": mm.num_nz,
                  "ints": int(mm.integer.sum())}))
"""

HIGHS_SCRIPT = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import highspy
args = sys.argv[1:] + [None] * 6
mps, gap, limit = args[0], float(args[1]), float(args[2])
bigm, seed, relax = float(args[3] or 0), int(args[4] or 1), args[5] == "relax"
h = highspy.Highs()
h.setOptionValue("output_flag", False)
h.setOptionValue("threads", 1)
h.setOptionValue("random_seed", seed)
h.setOptionValue("mip_rel_gap", gap)
h.setOptionValue("mip_abs_gap", 1e-6 if gap > 0 else 0.0)
h.setOptionValue("time_limit", limit)
for opt in ("mip_heuristic_run_rins", "mip_heuristic_run_rens",
            "mip_heuristic_run_root_reduced_cost"):  # off, as optmodel's SolveOptions has them
    h.setOptionValue(opt, False)
h.setOptionValue("mip_allow_restart", False)  # off, as optmodel sets it
t1 = time.perf_counter()
h.readModel(mps)
t2 = time.perf_counter()
changed = 0
if bigm:  # node_open_link: build[o,t] - M open[n] <= 0 with M = 1e6 instead of max_units
    lp = h.getLp()
    rows = {i for i, n in enumerate(lp.row_names_) if "node_open_link(" in n}
    cols = [j for j, n in enumerate(lp.col_names_) if n.startswith("open(")]
    start, index = list(lp.a_matrix_.start_), list(lp.a_matrix_.index_)
    for j in cols:
        for k in range(start[j], start[j + 1]):
            if index[k] in rows:
                h.changeCoeff(index[k], j, -bigm)
                changed += 1
if relax:  # the LP relaxation without presolve: how tight is the formulation itself
    n = h.getNumCol()
    h.changeColsIntegrality(n, list(range(n)), [highspy.HighsVarType.kContinuous] * n)
    h.setOptionValue("presolve", "off")
t3 = time.perf_counter()
h.run()
t4 = time.perf_counter()
info = h.getInfo()
print(json.dumps({"import": t1 - t0, "read": t2 - t1, "solve": t4 - t3,
                  "status": h.modelStatusToString(h.getModelStatus()),
                  "objective": info.objective_function_value,
                  "bound": info.mip_dual_bound, "nodes": info.mip_node_count,
                  "lp_iterations": info.simplex_iteration_count,
                  "changed": changed,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))
"""


def _json_child(args: list[str]) -> dict:
    wall, _, out, err, code = _child(args)
    if code != 0:
        raise RuntimeError(f"{' '.join(args[:3])} … failed ({code}):\n{err[-3000:]}")
    rec = json.loads(out.strip().splitlines()[-1])
    rec["wall"] = rec.get("wall", wall)
    rec["proc_wall"] = wall
    return rec


def _median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")


# ------------------------------------------------------------------ one case


def bench_case(family: str, size: str, work: Path, repeats: int, bigm: bool,
               seed: int = 0, phase_repeats: int | None = None) -> dict:
    """All measurements for one (family, size)."""
    from generate import MIP_GAP, SIZES, TIME_LIMIT_S, generate, write

    inp = work / f"{family}_{size}_s{seed}.xlsx"
    if not inp.exists():
        write(generate(SIZES[size], family, seed), inp)
    mps = work / f"{family}_{size}_s{seed}.mps"
    out = work / f"{family}_{size}_s{seed}_results.xlsx"
    py = sys.executable
    stats = _json_child([py, "-c", MPS_SCRIPT, str(inp), str(mps)])
    gap, limit = str(MIP_GAP if family == "mip" else 1e-4), str(TIME_LIMIT_S)
    rec: dict = {"family": family, "size": size, **stats, "phases": {}, "runs": {}}
    phase_runs, e2e_runs, highs_runs = [], [], []
    for k in range(repeats):
        if k < (repeats if phase_repeats is None else phase_repeats):
            phase_runs.append(_json_child([py, "-c", PHASE_SCRIPT, str(inp), str(out)]))
        wall, rss, err, code = _child_rss([py, "run.py", "solve", str(inp), "-o", str(out),
                                           "--no-report"])
        if code != 0:
            raise RuntimeError(f"run.py solve failed ({code}): {err[-2000:]}")
        e2e_runs.append((wall, rss))
        highs_runs.append(_json_child([py, "-c", HIGHS_SCRIPT, str(mps), gap, limit]))
    for key, _ in PHASES:
        rec["phases"][key] = _median([r["times"].get(key) for r in phase_runs])
    rec["pipeline_wall"] = _median([r["wall"] for r in phase_runs])
    rec["pipeline_rss_mb"] = _median([r["rss_mb"] for r in phase_runs])
    rec["npv_musd"] = phase_runs[0]["npv_musd"]
    rec["status"] = phase_runs[0]["status"]
    rec["e2e"] = _median([w for w, _ in e2e_runs])
    rec["e2e_rss_mb"] = _median([m for _, m in e2e_runs])
    rec["highs_read"] = _median([r["read"] for r in highs_runs])
    rec["highs_solve"] = _median([r["solve"] for r in highs_runs])
    rec["highs_proc_wall"] = _median([r["proc_wall"] for r in highs_runs])
    rec["highs_rss_mb"] = _median([r["rss_mb"] for r in highs_runs])
    rec["highs_objective"] = highs_runs[0]["objective"]
    rec["highs_status"] = highs_runs[0]["status"]
    rec["runs"] = {"phases": phase_runs, "e2e": e2e_runs, "highs": highs_runs}
    if bigm and family == "mip":
        # same MPS, data big-M (max_units) vs a plain 1e6, HiGHS seeds 0..k-1: solve time,
        # nodes (deterministic work) and the root LP relaxation without presolve
        seeds = range(repeats if phase_repeats is None else phase_repeats)
        for tag, m in (("tight", "0"), ("bigm", "1e6")):
            runs = [_json_child([py, "-c", HIGHS_SCRIPT, str(mps), gap, limit, m, str(k)])
                    for k in seeds]
            relax = _json_child([py, "-c", HIGHS_SCRIPT, str(mps), gap, limit, m, "0",
                                 "relax"])
            rec[f"{tag}_solve"] = _median([r["solve"] for r in runs])
            rec[f"{tag}_nodes"] = _median([r["nodes"] for r in runs])
            rec[f"{tag}_objective"] = runs[0]["objective"]
            rec[f"{tag}_status"] = runs[0]["status"]
            rec[f"{tag}_relaxation"] = relax["objective"]
            rec[f"{tag}_changed"] = runs[0]["changed"]
    return rec


# -------------------------------------------------------------------- report


def _num(x) -> float:
    """A phase time, 0 where the path has no such phase (NaN or missing)."""
    return 0.0 if x is None or x != x else float(x)


def _fit_exponent(rows: list[float], times: list[float]) -> float:
    x, y = np.log(np.asarray(rows, float)), np.log(np.asarray(times, float))
    if len(x) < 2 or np.ptp(x) == 0:
        return float("nan")
    return float(np.polyfit(x, y, 1)[0])


def report(recs: list[dict]) -> str:
    lines = []
    head = (f"{'case':<8}{'vars':>8}{'rows':>8}{'ints':>6} |" +
            "".join(f"{k[:7]:>8}" for k, _ in PHASES) +
            f" |{'e2e':>8}{'H.read':>8}{'H.solve':>8}{'ratio':>7}{'ovh/sol':>8}"
            f" |{'MB':>6}{'H.MB':>6}{'mem':>5}")
    lines.append(head)
    lines.append("-" * len(head))
    for r in recs:
        p = r["phases"]
        highs = r["highs_read"] + r["highs_solve"]
        ratio = r["e2e"] / highs if highs > 0 else float("nan")
        # our overhead: end-to-end minus our own solver run, per second of HiGHS-alone solve
        ovh = ((r["e2e"] - _num(p.get("solve"))) / r["highs_solve"] if r["highs_solve"]
               else float("nan"))
        lines.append(
            f"{r['family'] + '-' + r['size']:<8}{r['vars']:>8}{r['rows']:>8}{r['ints']:>6} |"
            + "".join(f"{p.get(k, float('nan')):>8.3f}" for k, _ in PHASES)
            + f" |{r['e2e']:>8.2f}{r['highs_read']:>8.2f}{r['highs_solve']:>8.2f}"
            f"{ratio:>7.2f}{ovh:>8.2f} |{r['e2e_rss_mb']:>6.0f}{r['highs_rss_mb']:>6.0f}"
            f"{r['e2e_rss_mb'] / r['highs_rss_mb']:>5.1f}")
    lines.append("")
    lines.append("ratio = end-to-end `run.py solve --no-report` wall / HiGHS alone (read MPS + "
                 "solve); ovh/sol = (end-to-end − our own solve phase) / HiGHS-alone solve; "
                 "mem = peak RSS of run.py / of HiGHS alone.")
    for r in recs:
        rel = abs(r["npv_musd"] * 1e6 - r["highs_objective"]) / max(1.0, abs(r["npv_musd"]
                                                                           * 1e6))
        lines.append(f"{r['family']}-{r['size']}: npv {r['npv_musd']:.6f} MUSD ({r['status']}), "
                     f"HiGHS alone {r['highs_objective'] / 1e6:.6f} ({r['highs_status']}), "
                     f"rel. diff {rel:.1e}")
        if "bigm_solve" in r:
            lines.append(
                f"   node_open_link M = max_units vs M = 1e6 ({r['bigm_changed']} coefficients; "
                f"median over HiGHS seeds): solve {r['tight_solve']:.2f} vs "
                f"{r['bigm_solve']:.2f} s, nodes {r['tight_nodes']:.0f} vs "
                f"{r['bigm_nodes']:.0f}, root LP (no presolve) "
                f"{r['tight_relaxation'] / 1e6:.3f} vs {r['bigm_relaxation'] / 1e6:.3f} MUSD, "
                f"objective {r['tight_objective'] / 1e6:.6f} vs "
                f"{r['bigm_objective'] / 1e6:.6f} MUSD")
    for fam in sorted({r["family"] for r in recs}):
        rs = [r for r in recs if r["family"] == fam and r["rows"] > 0]
        if len(rs) >= 2:
            rows = [r["rows"] for r in rs]
            span = max(rows) / min(rows)
            b_build = _fit_exponent(rows, [r["phases"]["build"] for r in rs])
            b_all = _fit_exponent(rows, [r["phases"]["prepare"] + r["phases"]["build"]
                                         + _num(r["phases"].get("handoff")) for r in rs])
            lines.append(f"{fam}: build-time exponent over a {span:.0f}× range of rows: "
                         f"build model {b_build:.2f}; model data + build + hand-off "
                         f"{b_all:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=None, help="comma list of sizes (generate.SIZES)")
    ap.add_argument("--families", default="lp,mip")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--quick", action="store_true", help="small sizes, one run each")
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp"))
                    / "optmodel_bench")
    ap.add_argument("--json", type=Path, default=None, help="write raw numbers here")
    ap.add_argument("--no-bigm", action="store_true", help="skip the big-M 1e6 comparison")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--phase-repeats", type=int, default=None,
                    help="runs of the per-phase pipeline and of the big-M variant "
                         "[--repeats]; 1 saves time on time-limited MIPs")
    a = ap.parse_args(argv)
    def sizes_for(fam: str) -> list[str]:
        if a.sizes:
            return a.sizes.split(",")
        if a.quick:
            return list(QUICK_SIZES) if fam == "lp" else ["xs"]
        return list(DEFAULT_SIZES)

    repeats = a.repeats if a.repeats is not None else (1 if a.quick else 3)
    a.work.mkdir(parents=True, exist_ok=True)
    recs = []
    for fam in a.families.split(","):
        for size in sizes_for(fam):
            t = time.perf_counter()
            rec = bench_case(fam, size, a.work, repeats, not a.no_bigm, a.seed,
                             a.phase_repeats)
            recs.append(rec)
            print(f"# {fam}-{size}: {rec['vars']} vars, {rec['rows']} rows, "
                  f"{time.perf_counter() - t:.0f} s of benchmarking", file=sys.stderr)
    print(report(recs))
    if a.json:
        a.json.write_text(json.dumps(recs, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
