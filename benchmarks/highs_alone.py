"""HiGHS alone on the MPS files that ``run.py solve --write-model`` writes.

    python run.py solve inputs/base_case.xlsx --scenario NAME -o OUT.xlsx --no-report \
        --write-model DIR/NAME.mps                       # once per scenario
    python benchmarks/highs_alone.py DIR/*.mps [--mip-gap 1e-4] [--repeats 3]

For each file: highspy ``readModel`` then ``run`` on 1 thread, random_seed 1, the
given relative MIP gap, HiGHS's root restart off and its sub-MIP heuristics (RINS,
RENS, root reduced cost) off, as optmodel sets them by default
(``SolveOptions.mip_restart`` and ``sub_mip_heuristics``).
Prints the median over ``--repeats`` of the process CPU seconds and wall seconds
of ``run`` (HiGHS on 1 thread, so CPU time is what a quiet machine's wall time
would be), the nodes and LP iterations (these do not depend on the load), the
MIP objective and the LP-relaxation gap (LP relaxation − MIP) / |MIP| with the
relaxation solved by HiGHS on the same file.  Objectives are in the model's
units; the gap is positive when the relaxation is better than the MIP optimum.
Output: one Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import highspy


def _highs(path: Path, gap: float, relax: bool = False) -> highspy.Highs:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 1)  # as optmodel sets it (SolveOptions.random_seed)
    h.setOptionValue("mip_rel_gap", gap)
    for opt in ("mip_heuristic_run_rins", "mip_heuristic_run_rens",
                "mip_heuristic_run_root_reduced_cost"):
        h.setOptionValue(opt, False)
    h.setOptionValue("mip_allow_restart", False)  # off, as optmodel sets it
    if relax:
        h.setOptionValue("solve_relaxation", True)
    h.readModel(str(path))
    return h


def measure(path: Path, gap: float, repeats: int) -> dict:
    cpu, wall = [], []
    for _ in range(repeats):
        h = _highs(path, gap)
        c, w = time.process_time(), time.perf_counter()
        h.run()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
        info = h.getInfo()
        status = h.modelStatusToString(h.getModelStatus())
        mip = float(info.objective_function_value)
        nodes, iters = int(info.mip_node_count), int(info.simplex_iteration_count)
        ncols, nint = h.getNumCol(), sum(
            1 for t in h.getLp().integrality_ if t != highspy.HighsVarType.kContinuous)
    r = _highs(path, gap, relax=True)
    r.run()
    lp = float(r.getInfo().objective_function_value)
    # a relaxation is at least as good as the MIP: above it when maximising, below it otherwise
    sense = 1.0 if r.getLp().sense_ == highspy.ObjSense.kMaximize else -1.0
    gap_rel = sense * (lp - mip) / max(1e-9, abs(mip))
    return {"name": path.stem, "status": status, "cols": ncols, "ints": nint, "mip": mip,
            "gap": gap_rel, "cpu": statistics.median(cpu), "wall": statistics.median(wall),
            "nodes": nodes, "iters": iters}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mps", nargs="+", type=Path)
    ap.add_argument("--mip-gap", type=float, default=1e-4)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    print("| scenario | status | columns | integer | objective | LP gap | HiGHS CPU s | "
          "HiGHS wall s | nodes | LP iterations |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for p in a.mps:
        m = measure(p, a.mip_gap, a.repeats)
        print(f"| {m['name']} | {m['status']} | {m['cols']:,} | {m['ints']} | {m['mip']:,.6g} | "
              f"{m['gap']:.2%} | {m['cpu']:.2f} | {m['wall']:.2f} | {m['nodes']} | "
              f"{m['iters']} |", flush=True)


if __name__ == "__main__":
    main()
