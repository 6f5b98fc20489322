"""The model file is a pure function of the data (docs/model.md §12 reproducibility, §5 CLI).

`python run.py solve IN.xlsx -o OUT.xlsx --mip-gap 0 --no-report --write-model
M.mps` is run twice on the same workbook in separate processes with different
PYTHONHASHSEED values (so any dependence on set/dict-of-string iteration order
shows up), and the two MPS files must be byte-identical.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from test_chain_by_hand import chain_sheets
from test_properties import random_network
from workbooks import REPO, num, read_result_workbook, summary_of, write_input_workbook


def _run_solve(inp: Path, out: Path, model: Path, hashseed: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": hashseed}
    return subprocess.run(
        [sys.executable, str(REPO / "run.py"), "solve", str(inp), "-o", str(out),
         "--mip-gap", "0", "--no-report", "--write-model", str(model)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )


@pytest.mark.parametrize("case", ["chain", "random_network"])
def test_write_model_twice_gives_identical_mps(case: str, tmp_path: Path) -> None:
    # Conditions: the hand-checked chain (one integer build, lead time, duties)
    # and a random two-mine network with builds; same workbook, two processes,
    # PYTHONHASHSEED 1 and 2. Expected: exit code 0 both times, a non-empty MPS
    # file with ROWS and COLUMNS sections, identical bytes, and identical NPV.
    sheets = chain_sheets() if case == "chain" else random_network(random.Random(5))
    inp = write_input_workbook(tmp_path / f"{case}.xlsx", sheets)
    runs = []
    for k, seed in enumerate(("1", "2")):
        out, model = tmp_path / f"{case}_{k}.xlsx", tmp_path / f"{case}_{k}.mps"
        proc = _run_solve(inp, out, model, seed)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert model.exists() and out.exists()
        runs.append((model.read_bytes(), num(summary_of(read_result_workbook(out))["npv_musd"])))
    (mps_a, npv_a), (mps_b, npv_b) = runs
    assert b"ROWS" in mps_a and b"COLUMNS" in mps_a
    assert mps_a == mps_b
    assert npv_a == npv_b
