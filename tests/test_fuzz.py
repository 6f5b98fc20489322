"""Fuzzed bad input: every broken workbook ends in exit 0, 1, 2 or 3 with a message.

A seeded generator mutates the valid tiny workbook (tests/tinycase.py) in the
ways planners break workbooks: deleted sheets, renamed headers, blank required
cells, text, dates, booleans, NaN/inf, negative and huge numbers in numeric
cells, duplicate keys, dangling references, merged cells, formulas (with and
without cached values, with error values), odd Settings, shuffled rows, long
and markup-like text; and at file level: truncated, bit-flipped, empty, not a
zip, an old .xls, a zip without a workbook, a zip bomb, a 1,000,000-row sheet.

Each case runs in-process through ``optmodel.pipeline.load_tables`` and, when
it validates, ``solve_workbook`` (results written to a temporary file).  The
outcome must be an :class:`~optmodel.errors.OptmodelError` exit code 0–3 with
a message, never another exception, and the input file's bytes must be
unchanged.  A handful of cases also go through ``python run.py solve``.

The cases run in two spawned worker processes (CI has 2 cores).  Set
``OPTMODEL_FUZZ_CASES`` for more generated cases (default 220) and
``OPTMODEL_FUZZ_SEED`` to move the seed range.  The counts by outcome are
printed in the pytest terminal summary.
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import datetime as _dt
import hashlib
import multiprocessing
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
N_CASES = int(os.environ.get("OPTMODEL_FUZZ_CASES", "220"))
SEED0 = int(os.environ.get("OPTMODEL_FUZZ_SEED", "0"))

Sheets = dict[str, list[dict[str, Any]]]

# ------------------------------------------------------------------ sheet mutations

WEIRD_TEXT = ["abc", "12,5", "1 000", "ten", "—", "1e", "0x10", "½", "∞", "NaN", "nan", "inf",
              "-inf", "1e999", "TRUE", "None", "null", "#N/A", "#DIV/0!", "2026-01-01",
              "[/bold]", "[red]x", "=1+1", "+1", "-", "@x", "a|b", "a,b", "a:b", "*",
              " \t ", "\n", "x" * 5000, "Ünïcödé ✓ 🚀", "שלום", "\x00", "'", '"']
BAD_NUMBERS = [-1, -0.0, -1e9, 1e300, 1.7e308, 1e-300, 0, 2 ** 63, 0.5, 2025.5, 1e15 + 0.5,
               -2 ** 31, 99999, 1e7]


def _schema():
    from optmodel import schema as S

    return S


def _numeric_cols(sheet: str) -> list[str]:
    S = _schema()
    if sheet not in S.SHEETS:
        return []
    return [c.name for c in S.SHEETS[sheet].columns if c.kind in ("number", "integer", "year")]


def _cols(sheet: str, *kinds: str, required: bool | None = None) -> list[str]:
    S = _schema()
    if sheet not in S.SHEETS:
        return []
    return [c.name for c in S.SHEETS[sheet].columns
            if (not kinds or c.kind in kinds) and (required is None or c.required == required)]


def _pick_row(rng: random.Random, s: Sheets, cond=None):
    sheets = [k for k, v in s.items() if v and (cond is None or cond(k))]
    if not sheets:
        return None, None
    name = rng.choice(sheets)
    return name, rng.randrange(len(s[name]))


def m_delete_sheet(rng, s):
    name = rng.choice(list(s))
    del s[name]
    return f"delete sheet {name}"


def m_rename_header(rng, s):
    name = rng.choice([k for k in s if s[k]])
    cols = list(dict.fromkeys(c for r in s[name] for c in r))
    col = rng.choice(cols)
    new = rng.choice([col.upper(), f"  {col} ", col + "x", "", "?", rng.choice(cols),
                      col.replace("_", " "), "note", "Source"])
    for r in s[name]:
        if col in r:
            r[new] = r.pop(col)
    return f"rename header {name}.{col} -> {new!r}"


def m_blank_required(rng, s):
    name, i = _pick_row(rng, s, lambda k: bool(_cols(k, required=True)))
    if name is None:
        return "noop"
    col = rng.choice(_cols(name, required=True))
    s[name][i][col] = rng.choice([None, "", "   "])
    return f"blank required {name}[{i}].{col}"


def m_text_in_number(rng, s):
    name, i = _pick_row(rng, s, lambda k: bool(_numeric_cols(k)))
    if name is None:
        return "noop"
    col = rng.choice(_numeric_cols(name))
    s[name][i][col] = rng.choice(WEIRD_TEXT)
    return f"text in number {name}[{i}].{col}"


def m_bad_number(rng, s):
    name, i = _pick_row(rng, s, lambda k: bool(_numeric_cols(k)))
    if name is None:
        return "noop"
    col = rng.choice(_numeric_cols(name))
    s[name][i][col] = v = rng.choice(BAD_NUMBERS)
    return f"number {v!r} in {name}[{i}].{col}"


def m_text_anywhere(rng, s):
    name, i = _pick_row(rng, s)
    if name is None:
        return "noop"
    col = rng.choice(list(s[name][i]) + ["note", "source"])
    s[name][i][col] = rng.choice(WEIRD_TEXT)
    return f"text in {name}[{i}].{col}"


def m_bool(rng, s):
    name, i = _pick_row(rng, s)
    if name is None:
        return "noop"
    col = rng.choice(list(s[name][i]))
    s[name][i][col] = rng.choice([True, False])
    return f"boolean in {name}[{i}].{col}"


def m_duplicate_row(rng, s):
    name, i = _pick_row(rng, s)
    if name is None:
        return "noop"
    s[name].insert(rng.randrange(len(s[name]) + 1), copy.deepcopy(s[name][i]))
    return f"duplicate row {name}[{i}]"


def m_dangling_ref(rng, s):
    name, i = _pick_row(rng, s, lambda k: bool(_cols(k, "ref")))
    if name is None:
        return "noop"
    col = rng.choice(_cols(name, "ref"))
    s[name][i][col] = rng.choice(["Nowhere", "mine", "MINE", "Mine ", "ore2", "Sep"])
    return f"dangling reference {name}[{i}].{col}"


def m_drop_row(rng, s):
    name, i = _pick_row(rng, s)
    if name is None:
        return "noop"
    del s[name][i]
    return f"drop row {name}[{i}]"


def m_shuffle(rng, s):
    name = rng.choice(list(s))
    rng.shuffle(s[name])
    return f"shuffle rows of {name}"


def m_swap_columns(rng, s):
    name = rng.choice([k for k in s if s[k]])
    cols = list(dict.fromkeys(c for r in s[name] for c in r))
    if len(cols) < 2:
        return "noop"
    a, b = rng.sample(cols, 2)
    for r in s[name]:
        r[a], r[b] = r.get(b), r.get(a)
    return f"swap columns {name}.{a}<->{b}"


def m_scale(rng, s):
    name, i = _pick_row(rng, s, lambda k: bool(_cols(k, "number")))
    if name is None:
        return "noop"
    col = rng.choice(_cols(name, "number"))
    v = s[name][i].get(col)
    if isinstance(v, int | float) and not isinstance(v, bool):
        s[name][i][col] = v * rng.choice([0, 0.01, 10, 1e6])
    return f"scale {name}[{i}].{col}"


def m_settings(rng, s):
    rows = s.setdefault("Settings", [])
    key, value = rng.choice([
        ("first_year", 2030), ("last_year", 2020), ("last_year", 2060), ("discount_rate", -0.5),
        ("discount_rate", 2), ("mip_gap", 5), ("time_limit_s", -1), ("time_limit_s", 0.0001),
        ("threads", 0), ("threads", 100000), ("salvage", "maybe"), ("salvage", "on"),
        ("unmet_penalty_usd_per_t", 1e6), ("unmet_penalty_usd_per_t", -3), ("currency", "=X"),
        ("first_year", "2026.0"), ("colour", "red"), ("first_year", None)])
    for r in rows:
        if r.get("key") == key:
            r["value"] = value
            break
    else:
        rows.append({"key": key, "value": value})
    return f"setting {key}={value!r}"


def m_market_min(rng, s):
    mk = s.get("Markets")
    if not mk:
        return "noop"
    r = rng.choice(mk)
    r["min_t"] = rng.choice([10, 100, 1e4])
    r["max_t"] = rng.choice([None, r["min_t"], r["min_t"] * 2])
    return f"market minimum {r['market']} {r['min_t']}"


def m_year(rng, s):
    name = rng.choice(["Markets", "NodeProcesses", "Policy", "Routes", "BuildOptions"])
    if not s.get(name):
        return "noop"
    col = {"Routes": "first_year", "BuildOptions": "earliest_year"}.get(name, "year")
    i = rng.randrange(len(s[name]))
    s[name][i][col] = rng.choice([2026, 2027, 1999, 2100, 2026.5, "2026", "next year"])
    return f"year {name}[{i}].{col}"


def m_extra_sheet(rng, s):
    name = rng.choice(["Extra", "README", "nodes", " Markets ", "Sheet1", "Policy2"])
    if name.lower() in {k.lower() for k in s}:
        return "noop"  # Excel (and xlsxwriter) refuse two sheets named alike
    s[name] = rng.choice([[], [{"a": 1}], [{"node": "X", "kind": "mine"}]])
    return f"extra sheet {name!r}"


def m_empty_sheet(rng, s):
    name = rng.choice(list(s))
    s[name] = []
    return f"empty sheet {name}"


SHEET_MUTATIONS = [
    (m_delete_sheet, 2), (m_rename_header, 3), (m_blank_required, 4), (m_text_in_number, 5),
    (m_bad_number, 5), (m_text_anywhere, 3), (m_bool, 1), (m_duplicate_row, 3),
    (m_dangling_ref, 3), (m_drop_row, 2), (m_shuffle, 2), (m_swap_columns, 2), (m_scale, 3),
    (m_settings, 4), (m_market_min, 3), (m_year, 3), (m_extra_sheet, 2), (m_empty_sheet, 1),
]

# ------------------------------------------------------------------ file mutations


def f_openpyxl(rng, path: Path) -> str:
    """Merged cells, real dates/times, formulas without cached values, error cells."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = rng.choice(wb.worksheets)
    if ws.max_row < 2:
        return "noop"
    r = rng.randrange(2, ws.max_row + 1)
    c = rng.randrange(1, ws.max_column + 1)
    kind = rng.choice(["merge", "date", "time", "timedelta", "formula", "formula_ref",
                       "merge_header"])
    if kind == "merge":
        ws.merge_cells(start_row=r, start_column=c, end_row=min(r + 1, ws.max_row),
                       end_column=min(c + 1, ws.max_column))
    elif kind == "merge_header":
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(2, ws.max_column))
    elif kind == "date":
        ws.cell(r, c).value = _dt.datetime(2026, 3, 1)
    elif kind == "time":
        ws.cell(r, c).value = _dt.time(12, 30)
    elif kind == "timedelta":
        ws.cell(r, c).value = _dt.timedelta(days=3)
    elif kind == "formula":
        ws.cell(r, c).value = rng.choice(["=1/0", "=2*3", '="a"&"b"', "=NOW()", "=A1"])
    else:
        ws.cell(r, c).value = f"=INDIRECT(\"A{r}\")"
    wb.save(path)
    return f"openpyxl {kind} {ws.title}!R{r}C{c}"


_NUM_CELL = re.compile(rb'<c r="([A-Z]+)([2-9]|[1-9]\d+)"( s="\d+")?><v>[^<]*</v></c>')


def f_xml_number(rng, path: Path) -> str:
    """Rewrite one numeric cell in the sheet XML: inf, NaN, 1E+999, a formula with a cached
    value, or an error value (#DIV/0!)."""
    with zipfile.ZipFile(path) as z:
        items = [(i, z.read(i)) for i in z.infolist()]
    sheets = [k for k, (i, d) in enumerate(items)
              if i.filename.startswith("xl/worksheets/") and _NUM_CELL.search(d)]
    if not sheets:
        return "noop"
    k = rng.choice(sheets)
    info, data = items[k]
    cells = list(_NUM_CELL.finditer(data))
    m = rng.choice(cells)
    col, row, style = m.group(1), m.group(2), m.group(3) or b""
    ref = col + row
    new = rng.choice([b"<v>inf</v>", b"<v>NaN</v>", b"<v>-INF</v>", b"<v>1E+999</v>",
                      b"<v>-1.7976931348623157E+308</v>", b"<v></v>", b"<v>12abc</v>",
                      b"<f>50*2</f><v>100</v>", b'<f>1/0</f><v>#DIV/0!</v>'])
    typ = b' t="e"' if b"#DIV" in new else b""
    cell = b'<c r="' + ref + b'"' + style + typ + b">" + new + b"</c>"
    data = data[:m.start()] + cell + data[m.end():]
    items[k] = (info, data)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for i, d in items:
            z.writestr(i, d)
    return f"xml cell {info.filename}:{ref.decode()} = {new.decode()}"


def f_bytes(rng, path: Path) -> str:
    data = bytearray(path.read_bytes())
    kind = rng.choice(["truncate", "flip", "prepend", "empty", "text"])
    if kind == "truncate":
        data = data[:rng.randrange(len(data))]
    elif kind == "flip":
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == "prepend":
        data = bytearray(b"garbage") + data
    elif kind == "empty":
        data = bytearray()
    else:
        data = bytearray(b"node,kind\nMine,mine\n")
    path.write_bytes(bytes(data))
    return f"bytes {kind}"


# ------------------------------------------------------------------ fixed cases


def _replace_member(src: Path, dst: Path, member: str, chunks, **open_kw) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED,
                                                      compresslevel=1) as zout:
        for info in zin.infolist():
            if info.filename == member:
                with zout.open(member, "w", **open_kw) as fh:
                    for c in chunks:
                        fh.write(c)
            else:
                zout.writestr(info, zin.read(info))


_SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
               b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')


def fixed_case(kind: str, base: Path, path: Path) -> str:
    """Hand-made broken files (not random)."""
    sheet = "xl/worksheets/sheet2.xml"  # Nodes
    if kind == "not_a_zip":
        path.write_text("this is not a workbook")
    elif kind == "empty_file":
        path.write_bytes(b"")
    elif kind == "old_xls":
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    elif kind == "zip_without_workbook":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("hello.txt", "hi")
    elif kind == "zip_bomb":
        # 250 MB of sheet XML compresses to ~1 MB: refused by its unpacked size
        block = b"<row><c><v>1</v></c></row>" * 40_000
        n = 250 * 2 ** 20 // len(block)
        _replace_member(base, path, sheet, [_SHEET_HEAD + b"<sheetData>",
                                            *(block for _ in range(n)),
                                            b"</sheetData></worksheet>"], force_zip64=True)
    elif kind in ("million_rows", "million_rows_no_dimension"):
        dim = b'<dimension ref="A1:B1000000"/>' if kind == "million_rows" else b""
        row = b'<row><c t="inlineStr"><is><t>Mine</t></is></c><c t="inlineStr"><is><t>mine'
        row += b"</t></is></c></row>"
        header = (b'<row><c t="inlineStr"><is><t>node</t></is></c>'
                  b'<c t="inlineStr"><is><t>kind</t></is></c></row>')
        _replace_member(base, path, sheet, [_SHEET_HEAD + dim + b"<sheetData>" + header,
                                            *(row * 10_000 for _ in range(100)),
                                            b"</sheetData></worksheet>"])
    elif kind == "lying_zip_sizes":
        _replace_member(base, path, sheet, [_SHEET_HEAD + b"<sheetData>",
                                            b"<row><c><v>1</v></c></row>" * 2_000_000,
                                            b"</sheetData></worksheet>"])
        data = bytearray(path.read_bytes())
        name = sheet.encode()
        i = data.find(b"PK\x01\x02")
        while i != -1:  # central directory: claim the sheet unpacks to 1,000 bytes
            n = int.from_bytes(data[i + 28:i + 30], "little")
            if bytes(data[i + 46:i + 46 + n]) == name:
                data[i + 24:i + 28] = (1000).to_bytes(4, "little")
            i = data.find(b"PK\x01\x02", i + 4)
        path.write_bytes(bytes(data))
    elif kind == "folder":
        path.mkdir()
    elif kind == "missing_file":
        pass
    elif kind == "csv_named_xlsx":
        path.write_text("key,value\nfirst_year,2026\n")
    else:
        raise ValueError(kind)
    return kind


FIXED = ["not_a_zip", "empty_file", "old_xls", "zip_without_workbook", "zip_bomb",
         "million_rows", "million_rows_no_dimension", "lying_zip_sizes", "folder",
         "missing_file", "csv_named_xlsx"]

# ------------------------------------------------------------------ running a case


def _sha(path: Path) -> str | None:
    if not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_case(seed: int, folder: Path) -> tuple[Path, list[str]]:
    """Write the workbook of generated case ``seed``; return its path and what was done."""
    sys.path.insert(0, str(TESTS))
    from tinycase import tiny_sheets, write_input

    rng = random.Random(seed)
    s = tiny_sheets()
    s["Sources"] = [{"source": "USGS", "reference": "USGS MCS 2025"}]
    done = []
    weights = [w for _, w in SHEET_MUTATIONS]
    funcs = [f for f, _ in SHEET_MUTATIONS]
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
        done.append(rng.choices(funcs, weights)[0](rng, s))
    path = folder / f"case_{seed}.xlsx"
    write_input(path, s)
    u = rng.random()
    if u < 0.22:
        done.append(f_openpyxl(rng, path))
    elif u < 0.40:
        done.append(f_xml_number(rng, path))
    elif u < 0.45:
        done.append(f_bytes(rng, path))
    return path, done


def run_case(path: Path, out: Path) -> tuple[int, str]:
    """The outcome as the command line would see it: (exit code, message)."""
    from optmodel.errors import OptmodelError
    from optmodel.pipeline import load_tables, solve_workbook

    try:
        load_tables(path)
    except OptmodelError as exc:
        return exc.exit_code, str(exc)
    try:
        res = solve_workbook(path, out, time_limit=10.0, report=False)
    except OptmodelError as exc:
        return exc.exit_code, str(exc)
    return res.exit_code, str(res.summary.get("status"))


def worker(task: tuple[str, Any]) -> dict[str, Any]:
    """One case in a worker process; every failure is returned, not raised."""
    kind, arg = task
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="optmodel-fuzz-") as tmp:
        folder = Path(tmp)
        try:
            if kind == "generated":
                path, done = make_case(arg, folder)
            else:
                sys.path.insert(0, str(TESTS))
                from tinycase import tiny_sheets, write_input

                base = write_input(folder / "base.xlsx", tiny_sheets())
                path = folder / f"{arg}.xlsx"
                done = [fixed_case(arg, base, path)]
        except Exception:
            return {"task": task, "done": [], "code": None, "message": "",
                    "error": "case generation failed:\n" + traceback.format_exc(),
                    "seconds": time.perf_counter() - t0}
        before = _sha(path)
        out = folder / "results.xlsx"
        code, message, error = None, "", None
        try:
            code, message = run_case(path, out)
        except BaseException:  # an uncaught exception is exactly what must not happen
            error = traceback.format_exc()
        problems = []
        if error is None:
            if code not in (0, 1, 2, 3):
                problems.append(f"exit code {code}")
            if code != 0 and not message.strip():
                problems.append("no message")
            if "Traceback" in message:
                problems.append("traceback in message")
            if _sha(path) != before:
                problems.append("input file changed")
            if code == 0 and not out.is_file():
                problems.append("exit 0 without a results workbook")
            if code in (2, 3) and out.exists():
                problems.append(f"exit {code} but a results file was written")
            leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".")]
            if leftovers:
                problems.append(f"temporary files left: {leftovers}")
        if problems:
            error = "; ".join(problems) + f" (message: {message[:300]!r})"
        keep = None
        if kind == "generated" and error is not None:
            keep = Path(tempfile.gettempdir()) / f"optmodel-fuzz-failing-{arg}.xlsx"
            try:
                keep.write_bytes(path.read_bytes())
            except OSError:
                keep = None
        return {"task": task, "done": done, "code": code, "message": message[:500],
                "error": error, "seconds": time.perf_counter() - t0,
                "kept": str(keep) if keep else None}


# ------------------------------------------------------------------ the tests


class _Summary:
    """Prints the fuzz counts in the pytest terminal summary."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.lines:
            terminalreporter.section("fuzzed bad input")
            for line in self.lines:
                terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def summary(request) -> _Summary:
    s = _Summary()
    request.config.pluginmanager.register(s, "optmodel-fuzz-summary")
    return s


@pytest.fixture(scope="module")
def fuzz_results() -> list[dict[str, Any]]:
    tasks = [("fixed", k) for k in FIXED] + [("generated", SEED0 + i) for i in range(N_CASES)]
    # the slow fixed cases first, so that they overlap with the many quick ones
    ctx = multiprocessing.get_context("spawn")
    workers = max(1, min(2, os.cpu_count() or 1))
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        return list(pool.map(worker, tasks, chunksize=1))


@pytest.mark.slow
def test_fuzzed_workbooks_end_cleanly(fuzz_results, summary) -> None:
    codes = Counter(r["code"] for r in fuzz_results if r["error"] is None)
    failures = [r for r in fuzz_results if r["error"] is not None]
    gen = [r for r in fuzz_results if r["task"][0] == "generated"]
    fixed = [r for r in fuzz_results if r["task"][0] == "fixed"]
    names = {0: "solved", 1: "infeasible/unbounded", 2: "invalid input", 3: "no solution"}
    summary.lines.append(
        f"{len(fuzz_results)} cases ({len(gen)} generated, {len(fixed)} hand-made): "
        + ", ".join(f"exit {c} ({names.get(c, '?')}) {n}" for c, n in sorted(codes.items()))
        + f", uncaught or wrong {len(failures)}")
    gen_codes = Counter(r["code"] for r in gen if r["error"] is None)
    summary.lines.append("generated by exit code: " + ", ".join(
        f"{c}: {n}" for c, n in sorted(gen_codes.items())))
    summary.lines.append("hand-made: " + ", ".join(
        f"{r['task'][1]} → {r['code']}" for r in fixed))
    slow = sorted(fuzz_results, key=lambda r: -r["seconds"])[:3]
    summary.lines.append("slowest: " + ", ".join(
        f"{r['task'][1]} {r['seconds']:.1f}s" for r in slow))
    assert len(gen) == N_CASES  # ≥ 200 by default
    assert not failures, "\n\n".join(
        f"{r['task']} after {r['done']} (kept: {r.get('kept')}):\n{r['error']}"
        for r in failures[:10])
    # the generator reaches every outcome a planner can meet
    assert {0, 1, 2} <= set(gen_codes), gen_codes


@pytest.mark.slow
def test_hand_made_files_are_refused_as_input_errors(fuzz_results) -> None:
    by = {r["task"][1]: r for r in fuzz_results if r["task"][0] == "fixed"}
    for kind in FIXED:
        r = by[kind]
        assert r["code"] == 2, (kind, r["message"], r["error"])
    assert "above the 200 MB limit" in by["zip_bomb"]["message"]
    assert "row limit" in by["million_rows"]["message"]
    assert "row limit" in by["million_rows_no_dimension"]["message"]
    assert "not an Excel .xlsx workbook" in by["not_a_zip"]["message"]
    assert "old-format .xls" in by["old_xls"]["message"]
    assert by["million_rows"]["seconds"] < 30


@pytest.mark.slow
def test_a_handful_through_the_command_line(tmp_path: Path, fuzz_results) -> None:
    """The same outcome, exit code and no traceback from ``python run.py solve``."""
    picks: dict[int, int] = {}
    for r in fuzz_results:  # one case per outcome whose outcome does not depend on timing
        if (r["task"][0] == "generated" and r["error"] is None and r["code"] in (0, 1, 2)
                and r["code"] not in picks and not any("time_limit" in d for d in r["done"])):
            picks[r["code"]] = r["task"][1]
    cases = []
    for code, seed in sorted(picks.items()):
        path, _ = make_case(seed, tmp_path)
        cases.append((code, path))
    base = tmp_path / "base.xlsx"
    sys.path.insert(0, str(TESTS))
    from tinycase import tiny_sheets, write_input

    write_input(base, tiny_sheets())
    for kind in ("zip_bomb", "not_a_zip"):
        p = tmp_path / f"{kind}.xlsx"
        fixed_case(kind, base, p)
        cases.append((2, p))
    procs = []
    for code, path in cases:
        before = _sha(path)
        out = tmp_path / f"{path.stem}_results.xlsx"
        p = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "solve", str(path), "-o",
                              str(out), "--no-report", "--time-limit", "10"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append((code, path, before, out, p))
    for code, path, before, _out, p in procs:
        stdout, stderr = p.communicate(timeout=180)
        assert p.returncode == code, (path.name, stdout, stderr)
        assert "Traceback" not in stdout + stderr
        if code:
            assert stderr.strip()
        assert _sha(path) == before


# The fast suite's share of the fuzz (the full run above is marked slow): the hand-made
# files that cost nothing to make and the first generated cases, one after another in
# this process, under the same checks (exit code 0–3 with a message, no other exception,
# input bytes unchanged, no results file on exit 2 or 3).
FAST_FIXED = ["not_a_zip", "empty_file", "old_xls", "zip_without_workbook", "folder",
              "missing_file", "csv_named_xlsx"]
FAST_GENERATED = 12


def test_a_fuzz_sample_ends_cleanly() -> None:
    tasks = ([("fixed", k) for k in FAST_FIXED]
             + [("generated", SEED0 + i) for i in range(FAST_GENERATED)])
    results = [worker(task) for task in tasks]
    failures = [r for r in results if r["error"] is not None]
    assert not failures, "\n\n".join(
        f"{r['task']} after {r['done']} (kept: {r.get('kept')}):\n{r['error']}"
        for r in failures)
    assert all(r["code"] == 2 for r in results if r["task"][0] == "fixed"), [
        (r["task"][1], r["code"], r["message"]) for r in results if r["task"][0] == "fixed"]
