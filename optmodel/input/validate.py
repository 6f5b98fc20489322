"""Validate an input workbook against the schema; report every problem at once.

Per-cell types, ranges and enumerations are checked by pydantic(-core) validators
built from :mod:`optmodel.schema`; cross-row and cross-sheet rules (duplicates,
references, horizon, policy targets, ...) are the declared :data:`RULES`.
Each problem is an :class:`~optmodel.errors.Issue` naming sheet, Excel row,
column, value and what was expected.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from pydantic_core import SchemaValidator, ValidationError
from pydantic_core import core_schema as cs

from optmodel import schema as S
from optmodel.errors import InputError, Issue
from optmodel.input.root_causes import sheet_level_issues
from optmodel.input.scenarios import Override, scenario_problems
from optmodel.input.tables import ROW, Tables, clean_cell
from optmodel.input.targets import fold, stage_form
from optmodel.io.read import RawSheet, read_raw
from optmodel.io.read import column_letters as _col_letter

_REF_NOUN = {"Nodes": "node", "Products": "product", "Processes": "process"}
PRODUCT_TARGETED = ("export_duty_rate", "import_duty_rate", "export_quota_t",
                    "domestic_demand_support_usd_per_t")
NAME_PATTERN = r"^[^|,:*=+\-@][^|,:*]*$"


# ---------------------------------------------------------------- cell models


def _cell_schema(col: S.Column) -> cs.CoreSchema:
    """What pydantic checks and converts in one cell of ``col`` (blank = None allowed
    unless the column is required)."""
    if col.kind == "number":
        schema = cs.float_schema(ge=col.minimum, le=col.maximum, allow_inf_nan=False)
    elif col.kind in ("integer", "year"):
        lo = col.minimum if col.kind == "integer" else 1000
        hi = col.maximum if col.kind == "integer" else 9999
        schema = cs.int_schema(ge=lo, le=hi)
    elif col.kind == "bool":
        schema = cs.bool_schema()
    elif col.kind == "enum":
        schema = cs.literal_schema(list(col.choices))
    elif col.kind in ("name", "ref"):
        schema = cs.str_schema(pattern=NAME_PATTERN)
    else:
        schema = cs.str_schema()
    return schema if col.required else cs.nullable_schema(schema)


@cache
def _row_validator(sheet: str) -> SchemaValidator:
    """The validator of a list of ``sheet``'s rows (dicts with a key for every column),
    made once per process at first use, straight from pydantic-core's schema of each
    cell (the checks a typed model of the row would make, without generating the model's
    schema: the 13 sheets in about 1 ms instead of 25)."""
    spec = S.SHEETS[sheet]
    row = cs.typed_dict_schema({c.name: cs.typed_dict_field(_cell_schema(c))
                                for c in spec.all_columns})
    return SchemaValidator(cs.list_schema(row))


def _display(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


# ------------------------------------------------------------------- reading


def load_workbook(path: str | Path, extra_rules: bool = True) -> Tables:
    """Read and validate ``path``; raise :class:`InputError` listing every problem."""
    raw = read_raw(path)
    tables, issues = validate_raw(raw, extra_rules=extra_rules)
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise InputError(errors + [i for i in issues if i.severity != "error"])
    tables.warnings = [i for i in issues if i.severity != "error"]
    return tables


class SheetReader(Protocol):
    """Reads one sheet into its typed frame, adding its cell issues (batch runs keep a
    cache of the base workbook's sheets: :class:`optmodel.batch.cache.SheetCache`)."""

    def read(self, canon: str, sheet: RawSheet, issues: list[Issue]) -> pd.DataFrame: ...


def validate_raw(raw: dict[str, RawSheet], extra_rules: bool = True,
                 cache: SheetReader | None = None) -> tuple[Tables, list[Issue]]:
    """Validate raw sheets; return typed tables and all issues (errors and warnings).

    ``cache`` reads each sheet instead of :func:`read_sheet` (a batch's cache of the
    typed frames of sheets it has seen with the same content).
    """
    issues: list[Issue] = []
    frames: dict[str, pd.DataFrame] = {}
    known = {n.lower(): n for n in S.SHEETS}
    seen: set[str] = set()
    for name, sheet in raw.items():
        canon = known.get(name.lower())
        if canon is None:
            if name.lower() in (s.lower() for s in S.IGNORED_SHEETS):
                continue
            issues.append(
                Issue(name, None, None, None,
                      "unknown sheet; expected one of: " + ", ".join(S.SHEETS) + ", README")
            )
            continue
        seen.add(canon)
        frames[canon] = (read_sheet if cache is None else cache.read)(canon, sheet, issues)
    for spec in S.SHEETS.values():
        if spec.name not in seen:
            if spec.required:
                issues.append(Issue(spec.name, None, None, None, "required sheet is missing"))
            frames[spec.name] = _empty_frame(spec)
    settings = _parse_settings(frames["Settings"], issues)
    tables = Tables(frames, settings)
    if extra_rules:
        # run even when Settings has errors: every problem is reported at once
        _cross_checks(tables, issues)
        _check_scenario_selectors(raw, tables, issues)
    # empty sheets named, follow-on errors collapsed under their root (one place)
    issues = sheet_level_issues(raw, issues)
    return tables, issues


def _empty_frame(spec: S.Sheet) -> pd.DataFrame:
    return pd.DataFrame({**{c: pd.Series(dtype=object) for c in spec.column_names},
                         ROW: pd.Series(dtype="int64")})


def read_sheet(name: str, sheet: RawSheet, issues: list[Issue]) -> pd.DataFrame:
    """One sheet's typed frame (cell-level checks); its problems are added to ``issues``."""
    spec = S.SHEETS[name]
    _cell_level_issues(name, sheet, issues)
    if not sheet.header or all(_is_blank(h) for h in sheet.header):
        if spec.required:
            issues.append(Issue(name, None, None, None,
                                "sheet is empty: row 1 must hold the column headers"))
        return _empty_frame(spec)
    colmap: dict[int, S.Column] = {}
    by_name = {c.name: c for c in spec.all_columns}
    for j, h in enumerate(sheet.header):
        if _is_blank(h):
            if any(j < len(r) and not _is_blank(r[j]) for r in sheet.rows):
                issues.append(Issue(name, 1, _col_letter(j), None,
                                    "a column without a header holds data; add a header"))
            continue
        key = str(h).strip().lower()
        col = by_name.get(key)
        if col is None:
            issues.append(Issue(name, 1, _col_letter(j), h,
                                "unknown column; expected one of: " + ", ".join(spec.column_names)))
            continue
        if any(c.name == col.name for c in colmap.values()):
            issues.append(Issue(name, 1, _col_letter(j), h, "column appears twice"))
            continue
        colmap[j] = col
    present = {c.name for c in colmap.values()}
    for c in spec.all_columns:
        if c.required and c.name not in present:
            issues.append(Issue(name, 1, c.name, None, "required column is missing"))
    records: list[dict[str, Any]] = []
    rownums: list[int] = []
    for i, row in enumerate(sheet.rows):
        if all(_is_blank(v) for v in row):
            continue
        rec = {c.name: None for c in spec.all_columns}
        for j, col in colmap.items():
            rec[col.name] = clean_cell(row[j] if j < len(row) else None, col)
        records.append(rec)
        rownums.append(i + 2)
    if not records:
        return _empty_frame(spec)
    missing_cols = {c.name for c in spec.all_columns if c.required and c.name not in present}
    bad_rows = _check_cells(name, spec, records, rownums, issues, missing_cols)
    out = pd.DataFrame.from_records(records, columns=list(spec.column_names))
    out[ROW] = rownums
    # every column as Python objects, a missing cell as None
    cells = out.to_numpy(dtype=object)
    cells[pd.isna(cells)] = None
    out = pd.DataFrame(cells, columns=out.columns, dtype=object)
    out["_bad"] = [i in bad_rows for i in range(len(records))]
    return out


def _cell_level_issues(name: str, sheet: RawSheet, issues: list[Issue]) -> None:
    """Error values (#DIV/0!, #N/A …) and merged cells would otherwise read as blanks."""
    headers = {}
    for j, h in enumerate(sheet.header):
        letter = _col_letter(j)
        headers[letter] = str(h).strip() if not _is_blank(h) else f"column {letter}"
    for row, letter in sheet.error_cells:
        issues.append(Issue(name, row, headers.get(letter, f"column {letter}"), "#error",
                            "the cell holds an Excel error value (such as #DIV/0! or #N/A); "
                            "enter a value instead"))
    for rng in sheet.merged:
        first = rng.split(":")[0]
        row = int("".join(ch for ch in first if ch.isdigit()))
        issues.append(Issue(name, row, None, rng,
                            "merged cells: unmerge them so that every cell holds its own value"))


def _check_cells(name, spec, records, rownums, issues, missing_cols=frozenset()) -> set[int]:
    """Type/range/enum checks; converts valid cells in place; returns rows with errors."""
    validator = _row_validator(name)
    bad: set[int] = set()
    try:
        validated = validator.validate_python(records)
    except ValidationError as exc:
        errs = exc.errors(include_url=False)
        for e in errs:
            loc = e["loc"]
            if len(loc) < 2:
                continue
            i, colname = loc[0], str(loc[1])
            bad.add(i)
            if colname in missing_cols:
                continue  # reported once, as a missing column
            col = spec.column(colname)
            val = records[i].get(colname)
            if e["type"] == "missing" or val is None:
                msg = "a value is required here"
            else:
                msg = "expected " + col.expected()
            issues.append(Issue(name, rownums[i], colname, _display(val), msg))
        # validate good rows alone to get converted values
        good = [r for k, r in enumerate(records) if k not in bad]
        validated = validator.validate_python(good) if good else []
        it = iter(validated)
        for k in range(len(records)):
            if k in bad:
                continue
            records[k].update(next(it))
        return bad
    for rec, v in zip(records, validated, strict=True):
        rec.update(v)
    return bad


def _is_na(v: Any) -> bool:
    """A missing cell as pandas sees one (None, NaN, NaT, NA)."""
    return v is None or v is pd.NaT or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "") or (
        isinstance(v, float) and math.isnan(v)
    )


# ------------------------------------------------------------------ settings

_BOOL_WORDS = {"on": True, "off": False, "yes": True, "no": False, "true": True, "false": False,
               "1": True, "0": False}


def _parse_settings(df: pd.DataFrame, issues: list[Issue]) -> dict[str, Any]:
    out: dict[str, Any] = dict(S.SETTING_DEFAULTS)
    rows = {}
    unparsed: set[str] = set()
    if len(df):
        for rec in df.to_dict("records"):
            if rec.get("_bad") or rec["key"] is None:
                continue
            key = rec["key"]
            if key in rows:
                issues.append(Issue("Settings", rec[ROW], "key", key,
                                    f"duplicate key (also on row {rows[key]})"))
                continue
            rows[key] = rec[ROW]
            val = rec["value"]
            try:
                out[key] = _setting_value(key, val)
            except ValueError as exc:
                unparsed.add(key)
                issues.append(Issue("Settings", rec[ROW], "value", _display(val),
                                    f"{key}: {exc}"))
    for key in S.REQUIRED_SETTINGS:
        if key not in rows:
            issues.append(Issue("Settings", None, "key", key, "required setting is missing"))
        elif out.get(key) is None and key not in unparsed:
            issues.append(Issue("Settings", rows[key], "value", None,
                                f"{key}: a value is required"))
    fy, ly = out.get("first_year"), out.get("last_year")
    if isinstance(fy, int) and isinstance(ly, int) and fy > ly:
        issues.append(Issue("Settings", rows.get("last_year"), "value", ly,
                            f"last_year must be ≥ first_year ({fy})"))
    out["_rows"] = rows
    return out


def _setting_value(key: str, val: Any) -> Any:
    """Parse a Settings value by its declared column (:data:`optmodel.schema.SETTINGS`)."""
    col = next((c for c in S.SETTINGS if c.name == key), None)
    if val is None or col is None:
        return S.SETTING_DEFAULTS.get(key) if val is None else str(val)
    if col.kind in ("year", "integer"):
        lo, hi = (1000, 9999) if col.kind == "year" else (col.minimum, col.maximum)
        x = _as_float(val, "a whole number")
        if not x.is_integer():
            raise ValueError("expected a whole number")
        if not lo <= x <= hi:
            raise ValueError(f"expected a whole number between {lo:g} and {hi:g}")
        return int(x)
    if col.kind == "number":
        lo, hi = col.minimum, col.maximum
        if hi is not None:
            x = _as_float(val, f"a number between {lo:g} and {hi:g}")
            if not lo <= x <= hi:
                raise ValueError(f"expected a number between {lo:g} and {hi:g}")
            return x
        x = _as_float(val, "a number ≥ 0")
        if key == "time_limit_s" and x <= 0:
            raise ValueError("expected a number > 0")
        if x < lo:
            raise ValueError("expected a number ≥ 0")
        return x
    if col.kind == "bool":
        word = str(val).strip().lower()
        if isinstance(val, float) and val in (0.0, 1.0):
            word = str(int(val))
        if word not in _BOOL_WORDS:
            raise ValueError("expected on or off")
        return _BOOL_WORDS[word]
    return str(val)


def _as_float(val: Any, expected: str) -> float:
    try:
        x = float(val)
    except (TypeError, ValueError):
        raise ValueError(f"expected {expected}") from None
    if math.isnan(x) or math.isinf(x):
        raise ValueError(f"expected {expected}")
    return x


# -------------------------------------------------------------- cross checks


def _good(df: pd.DataFrame) -> pd.DataFrame:
    if "_bad" in df.columns and len(df):
        return df[~df["_bad"].astype(bool)]
    return df


@dataclass(frozen=True)
class Rule:
    """One declared cross-row or cross-sheet check (docs/model.md §11.5).

    ``check(ctx)`` reports through ``ctx.err``; ``severity`` is what it reports (an error
    blocks the run, a warning is listed and never changes the exit code).
    """

    name: str
    sheets: tuple[str, ...]
    severity: str
    description: str
    check: Callable[[RuleContext], None]


@dataclass
class RuleContext:
    """What every rule reads: the tables, their rows without cell errors, the names."""

    tables: Tables
    good: dict[str, pd.DataFrame]  # rows without cell-level errors
    issues: list[Issue]
    severity: str = "error"

    def __post_init__(self) -> None:
        a = self.tables.frames
        # names defined by any row, even one with an error elsewhere: that error is reported
        # once on its own row, not again on every row that refers to the name
        self.nodes = set(a["Nodes"]["node"].dropna())
        self.products = set(a["Products"]["product"].dropna())
        self.processes = set(a["Processes"]["process"].dropna())
        self.sources = set(a["Sources"]["source"].dropna())

    def err(self, sheet, row, col, val, msg) -> None:
        self.issues.append(Issue(sheet, row, col, _display(val), msg, self.severity))


def _cross_checks(t: Tables, issues: list[Issue]) -> None:
    """Run every rule of :data:`RULES` in order; all problems are collected."""
    good = {k: _good(v) for k, v in t.frames.items()}
    ctx = RuleContext(t, good, issues)  # the names are read once, for every rule
    for rule in RULES:
        ctx.severity = rule.severity
        rule.check(ctx)


def _rule_duplicate_keys(c: RuleContext) -> None:
    for name, spec in S.SHEETS.items():
        df = c.good[name]
        if not spec.key or not len(df) or name == "Settings":
            continue
        # str() of each key cell joined with "|", a blank cell as ""
        joined = ["|".join("" if _is_na(v) else str(v) for v in k)
                  for k in zip(*(df[col].tolist() for col in spec.key), strict=True)]
        first: dict[str, int] = {}
        for k, row in zip(joined, df[ROW], strict=True):
            if k in first:
                c.err(name, row, "|".join(spec.key), k, f"duplicate key (also on row {first[k]})")
            else:
                first[k] = row


def _rule_references(c: RuleContext) -> None:
    universe = {"Nodes": c.nodes, "Products": c.products, "Processes": c.processes}
    for name, spec in S.SHEETS.items():
        df = c.good[name]
        if not len(df):
            continue
        for col in spec.columns:
            if col.kind == "ref":
                known = universe[col.ref]
                for v, row in zip(df[col.name], df[ROW], strict=True):
                    if v is not None and v not in known:
                        c.err(name, row, col.name, v, f"unknown {_REF_NOUN[col.ref]}: "
                              f"not a row of sheet {col.ref}")


def _rule_sources(c: RuleContext) -> None:
    for name in S.SHEETS:
        df = c.good[name]
        if not len(df) or "source" not in df.columns or name == "Sources":
            continue
        for v, row in zip(df["source"], df[ROW], strict=True):
            if v is None:
                continue
            for part in str(v).split(","):
                p = part.strip()
                if p and p.lower() != "assumption" and p not in c.sources:
                    c.err(name, row, "source", p,
                          "unknown source: name a row of sheet Sources or write assumption")


def _rule_node_not_a_kind(c: RuleContext) -> None:
    f = c.good["Nodes"]
    for v, row in zip(f["node"], f[ROW], strict=True):
        if v in S.NODE_KINDS:
            c.err("Nodes", row, "node", v, "a node may not be named like a node kind")


def _rule_names_differ_in_more_than_case(c: RuleContext) -> None:
    for sheet, col in (("Products", "product"), ("Processes", "process"), ("Nodes", "node")):
        df = c.good[sheet]
        first: dict[str, tuple[str, int]] = {}
        for name, row in zip(df[col], df[ROW], strict=True):
            if name is None:
                continue
            other = first.setdefault(fold(name), (name, row))
            if other[0] != name:
                c.err(sheet, row, col, name, f"differs only in case from {other[0]!r} "
                      f"(row {other[1]}): Policy targets compare names without case")


def _rule_processes(c: RuleContext) -> None:
    a = c.tables.frames
    has_out = set(a["Recipes"].loc[a["Recipes"]["direction"] == "out", "process"])
    for rec in c.good["Processes"].to_dict("records"):
        sf, st = rec["stage_from"], rec["stage_to"]
        if sf is not None and st is not None and sf > st:
            c.err("Processes", rec[ROW], "stage_to", st,
                  f"stage_to must be ≥ stage_from ({_display(sf)})")
        if rec["process"] not in has_out:
            c.err("Processes", rec[ROW], "process", rec["process"],
                  "process has no output: add a Recipes row with direction out")


def _rule_deposits(c: RuleContext) -> None:
    a = c.tables.frames
    outputs = a["Recipes"][a["Recipes"]["direction"] == "out"]
    pairs = set(zip(a["NodeProcesses"]["node"], a["NodeProcesses"]["process"], strict=True))
    pairs |= set(zip(a["BuildOptions"]["node"], a["BuildOptions"]["process"], strict=True))
    out_by_proc: dict[str, set[str]] = {}
    for k, p in zip(outputs["process"], outputs["product"], strict=True):
        out_by_proc.setdefault(k, set()).add(p)
    node_outputs: dict[str, set[str]] = {}
    for n, k in pairs:
        node_outputs.setdefault(n, set()).update(out_by_proc.get(k, ()))
    seen_dep: dict[tuple, int] = {}
    for rec in c.good["Deposits"].to_dict("records"):
        n, p = rec["node"], rec["product"]
        if n in c.nodes and p in c.products and p not in node_outputs.get(n, set()):
            c.err("Deposits", rec[ROW], "product", p,
                  f"no process at node {n} outputs this product (NodeProcesses/BuildOptions)")
        if (n, p) in seen_dep:
            c.err("Deposits", rec[ROW], "product", p,
                  f"a second deposit for node {n} and this product (first on row "
                  f"{seen_dep[(n, p)]}); at most one is allowed")
        seen_dep.setdefault((n, p), rec[ROW])


def _rule_whole_units(c: RuleContext) -> None:
    for rec in c.good["BuildOptions"].to_dict("records"):
        mu = rec["max_units"] if rec["max_units"] is not None else 1
        if not rec["divisible"] and not float(mu).is_integer():
            c.err("BuildOptions", rec[ROW], "max_units", mu,
                  "expected a whole number of units (or set divisible to yes)")


def _rule_routes(c: RuleContext) -> None:
    for rec in c.good["Routes"].to_dict("records"):
        if rec["origin"] is not None and rec["origin"] == rec["destination"]:
            c.err("Routes", rec[ROW], "destination", rec["destination"],
                  "a route may not lead from a node to itself")
        if rec["products"]:
            for part in str(rec["products"]).split(","):
                p = part.strip()
                if p and p not in c.products:
                    c.err("Routes", rec[ROW], "products", p,
                          "unknown product: not a row of sheet Products")
        first, last = rec["first_year"], rec["last_year"]
        if first is not None and last is not None and first > last:
            c.err("Routes", rec[ROW], "last_year", last,
                  f"last_year must be ≥ first_year ({_display(first)})")


def _rule_markets(c: RuleContext) -> None:
    for rec in c.good["Markets"].to_dict("records"):
        d, sc = rec["direction"], rec["scope"]
        if d in S.SCOPES_BY_DIRECTION and sc not in S.SCOPES_BY_DIRECTION[d]:
            c.err("Markets", rec[ROW], "scope", sc,
                  f"expected one of: {', '.join(S.SCOPES_BY_DIRECTION[d])} for a {d} row")
        mn, mx = rec["min_t"], rec["max_t"]
        if mn is not None and mx is not None and mn > mx:
            c.err("Markets", rec[ROW], "min_t", mn, f"min_t must be ≤ max_t ({_display(mx)})")


def _rule_policy(c: RuleContext) -> None:
    for rec in c.good["Policy"].to_dict("records"):
        _check_policy(rec, c.products, c.processes, c.nodes, c.err)


def _horizon(c: RuleContext) -> tuple[int, int] | None:
    fy, ly = c.tables.settings.get("first_year"), c.tables.settings.get("last_year")
    return (fy, ly) if isinstance(fy, int) and isinstance(ly, int) else None


def _rule_horizon(c: RuleContext) -> None:
    h = _horizon(c)
    if h is None:
        return
    fy, ly = h
    for sheet, col in (("NodeProcesses", "year"), ("Markets", "year"), ("Policy", "year"),
                       ("BuildOptions", "earliest_year"), ("Routes", "first_year"),
                       ("Routes", "last_year")):
        df = c.good[sheet]
        for v, row in zip(df[col], df[ROW], strict=True):
            if v is not None and not fy <= v <= ly:
                c.err(sheet, row, col, v, f"year outside the horizon {fy}–{ly}")


def _rule_never_online(c: RuleContext) -> None:
    h = _horizon(c)
    if h is None:
        return
    fy, ly = h
    for rec in c.good["BuildOptions"].to_dict("records"):
        ey = rec["earliest_year"] if rec["earliest_year"] is not None else fy
        lead = rec["lead_time_years"] or 0
        if ey + lead > ly:
            c.err("BuildOptions", rec[ROW], "lead_time_years", lead,
                  f"this option can never come online inside the horizon (earliest "
                  f"{ey} + lead {lead} > {ly})")


def _rule_scenarios(c: RuleContext) -> None:
    """Structure of Scenarios rows (selectors are matched in optmodel.input.scenarios)."""
    for rec in c.good["Scenarios"].to_dict("records"):
        has_v, has_f = rec["value"] is not None, rec["factor"] is not None
        if has_v == has_f:
            c.err("Scenarios", rec[ROW], "value", rec["value"],
                  "give exactly one of value and factor")
        sheet = rec["sheet"]
        spec = next((s for s in S.SHEETS.values() if s.name.lower() == str(sheet).lower()), None)
        if spec is None or spec.name in ("Scenarios", "Sources"):
            c.err("Scenarios", rec[ROW], "sheet", sheet,
                  "expected a data sheet name: " + ", ".join(
                      s for s in S.SHEETS if s not in ("Scenarios", "Sources")))
            continue
        colname = str(rec["column"]).strip().lower()
        if colname not in spec.column_names or colname in ("note", "source"):
            c.err("Scenarios", rec[ROW], "column", rec["column"],
                  f"expected a column of sheet {spec.name}")
        elif colname in spec.key:
            c.err("Scenarios", rec[ROW], "column", rec["column"],
                  "a scenario may not change a key column")
        if not re.fullmatch(r"[A-Za-z0-9_.()\[\] -]+", str(rec["scenario"])):
            c.err("Scenarios", rec[ROW], "scenario", rec["scenario"],
                  "a scenario name must be usable as a file name (letters, digits, _ . - space)")


def _rule_price_response(c: RuleContext) -> None:
    """Markets rows with a price response (docs/model.md §6–8, §11.5): ``elasticity`` only on sell
    rows, < 0 (never 0), always with ``market_size_t`` > 0, and the effective max_t (blank =
    −elasticity × market_size_t ÷ 2) at most −elasticity × market_size_t, where the price
    reaches 0; min_t is checked against that effective max_t."""
    for rec in c.good["Markets"].to_dict("records"):
        row, eps, size = rec[ROW], rec["elasticity"], rec["market_size_t"]
        if eps is None:
            continue
        if rec["direction"] == "buy":
            c.err("Markets", row, "elasticity", eps,
                  "an elasticity is allowed on sell rows only; leave it blank on a buy row")
            continue
        if eps >= 0:
            c.err("Markets", row, "elasticity", eps,
                  "expected a number < 0 (the price falls as the row sells more); leave it "
                  "blank for a fixed price")
            continue
        if size is None or size <= 0:
            c.err("Markets", row, "market_size_t", size,
                  "a row with an elasticity needs market_size_t > 0 (the size of the market "
                  "it sells into)")
            continue
        limit = -eps * size
        mx = rec["max_t"] if rec["max_t"] is not None else limit / 2
        if mx > limit * (1 + 1e-12):
            c.err("Markets", row, "max_t", mx,
                  f"expected max_t ≤ −elasticity × market_size_t = {limit:g} t (beyond it the "
                  "price would be negative)")
        elif rec["max_t"] is None and rec["min_t"] is not None and rec["min_t"] > mx:
            c.err("Markets", row, "min_t", rec["min_t"],
                  f"min_t must be ≤ max_t ({mx:g}, the default −elasticity × market_size_t "
                  "÷ 2 of a row with an elasticity)")


def _rule_market_size_without_elasticity(c: RuleContext) -> None:
    for rec in c.good["Markets"].to_dict("records"):
        if rec["elasticity"] is None and rec["market_size_t"] is not None:
            c.err("Markets", rec[ROW], "market_size_t", rec["market_size_t"],
                  "market_size_t without an elasticity is ignored (the row keeps a fixed "
                  "price); give an elasticity < 0 or leave market_size_t blank")


def _check_scenario_selectors(raw: dict[str, RawSheet], t: Tables, issues: list[Issue]) -> None:
    """Dry-run each scenario on the raw rows: a selector that matches no row, or a factor on a
    cell without a number, is an input error even when the scenario is not being run (§3.4)."""
    sc = _good(t.frames["Scenarios"])
    if not len(sc):
        return
    flagged = {i.row for i in issues if i.sheet == "Scenarios" and i.severity == "error"}
    by_name: dict[str, list] = {}
    for rec in sc.to_dict("records"):
        if rec[ROW] in flagged or rec["scenario"] is None:
            continue
        by_name.setdefault(rec["scenario"], []).append(
            Override(rec["sheet"], rec["key"], rec["column"], rec["value"], rec["factor"],
                     rec[ROW]))
    issues.extend(scenario_problems(raw, by_name))


def _check_policy(rec, products, processes, nodes, err) -> None:
    """Target form and value range of one Policy row (its target already normalised)."""
    inst, tgt, val, row = rec["instrument"], rec["target"], rec["value"], rec[ROW]
    if inst is None:
        return
    folded = {k: {fold(n) for n in names} for k, names in
              (("products", products), ("processes", processes), ("nodes", nodes))}
    form = stage_form(tgt)
    if inst in PRODUCT_TARGETED:
        if tgt is not None and tgt not in folded["products"] and (
                form is None or not 0 <= form[1] <= 6):
            err("Policy", row, "target", tgt,
                "expected a product name, stage<=N, stage>=N (N 0–6) or blank")
    elif inst == "processing_subsidy_usd_per_activity":
        if tgt is not None and tgt not in folded["processes"]:
            err("Policy", row, "target", tgt, "expected a process name or blank")
    elif inst == "capex_relief_rate":
        if tgt is not None and tgt not in folded["nodes"] and tgt not in S.NODE_KINDS:
            err("Policy", row, "target", tgt, "expected a node name, a node kind or blank")
    elif inst == "min_domestic_processing_share":
        if tgt is None or not re.fullmatch(r"\d+", tgt) or not 0 <= int(tgt) <= 6:
            err("Policy", row, "target", tgt, "expected an integer stage N (0–6)")
    elif inst == "investment_budget_musd":
        if tgt is not None:
            err("Policy", row, "target", tgt, "expected a blank target")
    if val is None:
        if inst not in ("export_quota_t", "investment_budget_musd"):
            err("Policy", row, "value", None, "a value is required here")
    elif inst.endswith("_rate") or inst.endswith("_share"):
        if not 0 <= val <= 1:
            err("Policy", row, "value", val, "expected a fraction between 0 and 1")


def _rule_products_go_somewhere(c: RuleContext) -> None:
    f = c.good
    rec = f["Recipes"]
    made = set(rec[rec["direction"] == "out"]["product"])
    used = set(rec[rec["direction"] == "in"]["product"])
    sold = set(f["Markets"][f["Markets"]["direction"] == "sell"]["product"])
    disposable = set(f["Products"][f["Products"]["disposal_cost_usd_per_t"].notna()]["product"])
    prow = dict(zip(f["Products"]["product"], f["Products"][ROW], strict=True))
    for p in sorted(made - used - sold - disposable):
        c.err("Products", prow.get(p), "product", p,
              "is made by a process but is neither sold, used nor disposable: any output of "
              "it will force its process to stop")


def _rule_inputs_come_from_somewhere(c: RuleContext) -> None:
    f = c.good
    rec = f["Recipes"]
    made = set(rec[rec["direction"] == "out"]["product"])
    used = set(rec[rec["direction"] == "in"]["product"])
    bought = set(f["Markets"][f["Markets"]["direction"] == "buy"]["product"])
    prow = dict(zip(f["Products"]["product"], f["Products"][ROW], strict=True))
    for p in sorted(used - made - bought):
        c.err("Products", prow.get(p), "product", p,
              "is an input of a process but is neither made nor bought")


# The cross-row and cross-sheet rules, in the order they run and are listed (README sheet
# of the template, docs).  Cell-level rules (types, ranges, enumerations, required cells)
# come from the schema's columns.
RULES: tuple[Rule, ...] = (
    Rule("duplicate_keys", ("*",), "error",
         "Two rows of a sheet may not share their identifying columns (Policy targets "
         "compared after normalising).", _rule_duplicate_keys),
    Rule("references", ("*",), "error",
         "Node, product and process names must be rows of their sheets.", _rule_references),
    Rule("sources", ("*",), "error",
         "A source names a Sources row or says assumption.", _rule_sources),
    Rule("node_not_a_kind", ("Nodes",), "error",
         "A node may not be named like a node kind.", _rule_node_not_a_kind),
    Rule("names_differ_in_more_than_case", ("Products", "Processes", "Nodes"), "error",
         "Product, process and node names may not differ only in case.",
         _rule_names_differ_in_more_than_case),
    Rule("processes", ("Processes", "Recipes"), "error",
         "stage_from ≤ stage_to, and every process has an output.", _rule_processes),
    Rule("deposits", ("Deposits", "NodeProcesses", "BuildOptions", "Recipes"), "error",
         "A deposit's product is output by a process at its node; one deposit per node and "
         "product.", _rule_deposits),
    Rule("whole_units", ("BuildOptions",), "error",
         "max_units is a whole number unless the option is divisible.", _rule_whole_units),
    Rule("routes", ("Routes",), "error",
         "A route leads to another node, lists known products, and first_year ≤ last_year.",
         _rule_routes),
    Rule("markets", ("Markets",), "error",
         "Scopes fit the direction (sell: domestic/export; buy: domestic/import); "
         "min_t ≤ max_t.", _rule_markets),
    Rule("price_response", ("Markets",), "error",
         "A row with an elasticity is a sell row, its elasticity is < 0, it has a "
         "market_size_t > 0, and its max_t (blank = −elasticity × market_size_t ÷ 2) is at "
         "most −elasticity × market_size_t.", _rule_price_response),
    Rule("market_size_without_elasticity", ("Markets",), "warning",
         "market_size_t without an elasticity is ignored.",
         _rule_market_size_without_elasticity),
    Rule("policy", ("Policy",), "error",
         "Each instrument's target has the right form and its value the right range.",
         _rule_policy),
    Rule("horizon", ("NodeProcesses", "Markets", "Policy", "BuildOptions", "Routes"), "error",
         "Years lie inside the horizon first_year–last_year.", _rule_horizon),
    Rule("never_online", ("BuildOptions",), "warning",
         "A build option that cannot come online inside the horizon.", _rule_never_online),
    Rule("scenarios", ("Scenarios",), "error",
         "Scenario rows name a data sheet and a non-key column, give value or factor, and "
         "have file-name-safe names.", _rule_scenarios),
    Rule("products_go_somewhere", ("Products", "Recipes", "Markets"), "warning",
         "A product that is made is sold, used or disposable.", _rule_products_go_somewhere),
    Rule("inputs_come_from_somewhere", ("Products", "Recipes", "Markets"), "warning",
         "A process input is made or bought.", _rule_inputs_come_from_somewhere),
)
