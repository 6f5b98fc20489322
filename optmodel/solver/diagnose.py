"""Infeasibility in the planner's terms, and pre-solve sanity warnings.

When the MILP has no feasible plan, :func:`diagnose` solves an *elastic* copy
of it with HiGHS: the requirement families (``market_min``,
``process_min_load``) get a penalised non-negative slack each, weighted by
``1 / max(1, |bound|)`` so that the smallest *relative* shortfalls are chosen,
and the total weighted slack is minimised.  With every requirement elastic the
zero plan is feasible, so the elastic copy always solves.  Each requirement
with positive slack is mapped back to the input row that set it, e.g.::

    Markets row 14 (Japan, NdPr oxide, 2030) requires ≥ 3,000 t but at most 1,200 t
    can be delivered; all NdPr oxide capacity reachable by 2030 is 1,200 t.

The limits that stand in the way (capacities, build limits, reserves, route
capacities, quotas, budgets ...) are the ones with a non-zero dual in the LP
relaxation of the elastic copy; the strongest few are named after each
shortfall.  Should the elastic copy find no shortfall (an infeasibility that
relaxing requirements cannot explain), every limit family is made elastic
too and the relaxed limits are reported the same way.

:func:`sanity_warnings` lists likely causes before any solve: a market
minimum above all capacity that can reach the market, a product that has no
route to its market, a process whose inputs can never arrive.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optmodel.errors import InfeasibleError, Issue, SolverError
from optmodel.input.tables import ROW
from optmodel.input.targets import normalise_target
from optmodel.model.build import BuiltModel, without_strengthening
from optmodel.model.data import USD_PER_MUSD, ModelData
from optmodel.solver.highs import Csc, MatrixModel, assemble, concat, solve_matrix
from optmodel.solver.options import SolveOptions

log = logging.getLogger(__name__)

#: families whose slack means "a requirement cannot be met"
REQUIREMENTS = ("market_min", "process_min_load")
#: families whose slack means "a limit would have to be raised" (second pass only)
LIMITS = ("process_capacity", "build_limit", "deposit_reserve", "deposit_annual",
          "route_capacity", "market_max", "export_quota", "min_domestic_processing",
          "investment_budget")
TOL = 1e-6
DIAGNOSIS_COLUMNS = ["constraint", "sheet", "row", "key", "year", "bound", "achievable",
                     "violation", "unit", "message"]


@dataclass
class Diagnosis:
    """Sentences for people and the same facts as a table (the Diagnosis sheet)."""

    messages: list[str]
    frame: pd.DataFrame
    details: list[dict[str, Any]] = field(default_factory=list)
    headline: str | None = None  # set when the model turned out unbounded, not infeasible


def diagnose(bm: BuiltModel, time_limit: float = 60.0) -> list[str]:
    """Sentences explaining why ``bm`` has no feasible plan (empty if none found)."""
    return diagnosis(bm, time_limit).messages


# ----------------------------------------------------------------- elastic model


@dataclass
class _Layout:
    """The model as HiGHS gets it (:func:`optmodel.solver.highs.assemble`), with its
    matrix also as (row, column, value) triplets and each row's family."""

    mm: MatrixModel
    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    fam_of_row: np.ndarray

    @property
    def col_off(self) -> dict[str, int]:
        return self.mm.col_offset

    @property
    def row_off(self) -> dict[str, int]:
        return self.mm.row_offset

    @property
    def ncols(self) -> int:
        return self.mm.num_col

    @property
    def nrows(self) -> int:
        return self.mm.num_row

    @property
    def lb(self) -> np.ndarray:
        return self.mm.col_lower

    @property
    def ub(self) -> np.ndarray:
        return self.mm.col_upper

    @property
    def integer(self) -> np.ndarray:
        return self.mm.integer

    @property
    def lower(self) -> np.ndarray:
        return self.mm.row_lower

    @property
    def upper(self) -> np.ndarray:
        return self.mm.row_upper


def _layout(bm: BuiltModel) -> _Layout:
    mm = assemble(bm)
    rows, cols, vals = mm.a.coo()
    fams = [np.full(len(fam), name, dtype=object) for name, fam in bm.cons.items()]
    return _Layout(mm, rows, cols, vals, concat(fams, object))


@dataclass
class _Elastic:
    status: str
    slack_lo: np.ndarray  # per row: shortfall below the lower bound
    slack_hi: np.ndarray  # per row: excess above the upper bound
    row_dual: np.ndarray | None
    col_dual: np.ndarray | None
    col_value: np.ndarray | None


def _solve_elastic(lay: _Layout, elastic: set[str], integer: bool, time_limit: float,
                   duals: bool = False, fixed: np.ndarray | None = None) -> _Elastic:
    """Minimise the weighted slack of the ``elastic`` families; ``fixed`` (column values)
    fixes the integer columns there and solves the rest as an LP."""
    mm = lay.mm
    n, m = lay.ncols, lay.nrows
    is_el = np.array([f in elastic for f in lay.fam_of_row], dtype=bool)
    lo_rows = np.flatnonzero(is_el & np.isfinite(lay.lower))
    hi_rows = np.flatnonzero(is_el & np.isfinite(lay.upper))
    n_slack = len(lo_rows) + len(hi_rows)
    w_lo = 1.0 / np.maximum(1.0, np.abs(lay.lower[lo_rows]))
    w_hi = 1.0 / np.maximum(1.0, np.abs(lay.upper[hi_rows]))
    # slack columns: +1·s_lo in rows with a lower bound, −1·s_hi in rows with an upper one
    a = Csc.from_coo(np.concatenate([lay.rows, lo_rows, hi_rows]),
                     np.concatenate([lay.cols, n + np.arange(n_slack)]),
                     np.concatenate([lay.vals, np.ones(len(lo_rows)), -np.ones(len(hi_rows))]),
                     m, n + n_slack)
    col_integer = mm.integer & integer
    el = replace(mm, col_names=None, row_names=None,
                 a=a,
                 col_cost=np.concatenate([np.zeros(n), w_lo, w_hi]),
                 col_lower=np.concatenate([mm.col_lower, np.zeros(n_slack)]),
                 col_upper=np.concatenate([mm.col_upper, np.full(n_slack, np.inf)]),
                 integer=np.concatenate([col_integer, np.zeros(n_slack, dtype=bool)]),
                 maximize=False, offset=0.0)
    if fixed is not None:
        idx = np.flatnonzero(mm.integer)
        el = el.with_fixed(idx, np.round(fixed[idx]))
    opts = SolveOptions(time_limit=time_limit, threads=1, duals=duals)
    try:
        res = solve_matrix(el, opts, duals=duals, col_duals=duals)
    except (SolverError, InfeasibleError) as exc:
        return _Elastic(f"no solution: {exc}", np.zeros(m), np.zeros(m), None, None, None)
    x = res.x
    s_lo = np.zeros(m)
    s_hi = np.zeros(m)
    s_lo[lo_rows] = x[n:n + len(lo_rows)]
    s_hi[hi_rows] = x[n + len(lo_rows):]
    cd = res.col_dual[:n] if res.col_dual is not None else None
    return _Elastic(res.termination, s_lo, s_hi, res.row_dual, cd, x[:n])


# ----------------------------------------------------------------- input rows


def _original_rows(data: ModelData, sheet: str) -> pd.DataFrame:
    tables = data.tables
    if tables is None or sheet not in tables.frames:
        return pd.DataFrame(columns=[ROW])
    df = tables.frames[sheet]
    if "_bad" in df.columns and len(df):
        df = df[~df["_bad"].astype(bool)]
    return df


class _SheetRows:
    """An input sheet's rows, and an index from key values to [(year, Excel row)] in sheet
    order, built on first use for each key set (so that naming rows in a loop stays linear
    in the number of warnings and rows).  Made for one use, held by its caller."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df
        self._index: dict[tuple[str, ...], dict[tuple, list[tuple[Any, int]]]] = {}

    def index(self, keys: tuple[str, ...], year_col: str | None
              ) -> dict[tuple, list[tuple[Any, int]]]:
        found = self._index.get(keys + (year_col or "",))
        if found is None:
            df, found = self.df, {}
            cols = [df[k].tolist() for k in keys]
            years = (df[year_col].tolist() if year_col is not None and year_col in df.columns
                     else [None] * len(df))
            for *kv, y, r in zip(*cols, years, df[ROW].tolist(), strict=True):
                found.setdefault(tuple(kv), []).append((y, r))
            self._index[keys + (year_col or "",)] = found
        return found


def _row_for(rows: pd.DataFrame | _SheetRows, match: dict[str, Any], year: Any = None,
             year_col: str | None = "year") -> int | None:
    """Excel row of the input row that sets ``match`` in ``year`` (its own year row, else
    the blank-year row); ``rows``: a sheet's rows (wrap them in :class:`_SheetRows` once
    when looking up many)."""
    rows = rows if isinstance(rows, _SheetRows) else _SheetRows(rows)
    df = rows.df
    if not len(df):
        return None
    hits = rows.index(tuple(match), year_col).get(tuple(match.values()))
    if not hits:
        return None
    if year_col is not None and year_col in df.columns and year is not None:
        for y, r in hits:
            if y is not None and y == year:
                return int(r)
        for y, r in hits:
            if y is None or y != y:
                return int(r)
    return int(hits[0][1])


def _policy_row(data: ModelData, instrument: str, target: str, year: Any) -> int | None:
    df = _original_rows(data, "Policy")
    if not len(df):
        return None
    norm = df["target"].map(lambda s: normalise_target(s) or "")  # the one normaliser
    sub = df[(df["instrument"] == instrument) & (norm == target)]
    if year is None or (isinstance(year, float) and np.isnan(year)) or year == "all":
        sub2 = sub[sub["year"].isna()]
        return int(sub2[ROW].iloc[0]) if len(sub2) else None
    return _row_for(sub, {}, int(year))


def _fmt(x: float, unit: str = "") -> str:
    if x is None or not np.isfinite(x):
        return "unlimited"
    x = round(float(x), 6) + 0.0
    ax = abs(x)
    if float(x).is_integer() or ax >= 100:
        s = f"{x:,.0f}"
    else:
        s = f"{x:,.1f}" if ax >= 1 else f"{x:,.3g}"
    return f"{s} {unit}".rstrip()


# ----------------------------------------------------------------- capacity


def reachable_capacity(data: ModelData, product: str, node: str, year: int) -> float:
    """Nominal tonnes of ``product`` per year that could reach ``node`` in ``year``:
    existing capacity plus every build option at full max_units alive by then, at every
    node with a route path carrying the product (or at ``node`` itself), times the
    recipe's output; plus purchases of the product at those nodes (inf if unlimited)."""
    return _Reach(data).capacity(product, node, year)


class _Reach:
    """Lookups for :func:`reachable_capacity`, built once per model."""

    def __init__(self, data: ModelData):
        fl = data.flows
        self.into: dict[tuple[str, int], dict[str, set[str]]] = {}
        for o, d, p, t in zip(fl["origin"], fl["destination"], fl["product"], fl["year"],
                              strict=True):
            self.into.setdefault((p, int(t)), {}).setdefault(d, set()).add(o)
        out = data.recipes[data.recipes["direction"] == "out"]
        self.qty: dict[str, dict[str, float]] = {}
        for k, p, q in zip(out["process"], out["product"], out["qty_per_activity"],
                           strict=True):
            self.qty.setdefault(p, {})[k] = float(q)
        # nominal capacity per (node, process, year): existing + max_units × unit capacity
        cap: dict[tuple[str, str, int], float] = {}
        npr = data.node_processes
        for n, k, t, e in zip(npr["node"], npr["process"], npr["year"],
                              npr["existing_capacity"], strict=True):
            cap[(n, k, int(t))] = cap.get((n, k, int(t)), 0.0) + float(e)
        al = data.alive.drop_duplicates(["option", "year"])
        mu = dict(zip(data.options["option"], data.options["max_units"], strict=True))
        for o, n, k, t, u in zip(al["option"], al["node"], al["process"], al["year"],
                                 al["unit_capacity"], strict=True):
            cap[(n, k, int(t))] = cap.get((n, k, int(t)), 0.0) + float(u) * float(mu[o])
        self.cap_by: dict[tuple[str, int], list[tuple[str, str, float]]] = {}
        for (n, k, t), c in cap.items():
            self.cap_by.setdefault((n, int(t)), []).append((n, k, c))
        tr = data.trade
        b = tr[tr["direction"] == "buy"]
        self.buy: dict[tuple[str, str, int], float] = {}
        for n, p, t, mx in zip(b["node"], b["product"], b["year"], b["max_t"], strict=True):
            v = float("inf") if pd.isna(mx) else float(mx)
            self.buy[(n, p, int(t))] = self.buy.get((n, p, int(t)), 0.0) + v

    def capacity(self, product: str, node: str, year: int) -> float:
        into = self.into.get((product, year), {})
        nodes = {node}
        stack = [node]
        while stack:
            for o in into.get(stack.pop(), ()):
                if o not in nodes:
                    nodes.add(o)
                    stack.append(o)
        qty = self.qty.get(product, {})
        total = 0.0
        for n in nodes:
            for _, k, c in self.cap_by.get((n, year), ()):
                if k in qty:
                    total += c * qty[k]
            total += self.buy.get((n, product, year), 0.0)
        return total


# ----------------------------------------------------------------- diagnosis


def diagnosis(bm: BuiltModel, time_limit: float = 60.0) -> Diagnosis:
    """Elastic re-solve of an infeasible model; see the module docstring."""
    bm = without_strengthening(bm)  # valid inequalities would hide which limit binds
    lay = _layout(bm)
    req = {f for f in REQUIREMENTS if f in bm.cons}
    el = _solve_elastic(lay, req, integer=True, time_limit=time_limit)
    if el.col_value is None:  # MIP elastic found nothing in time: LP relaxation
        el = _solve_elastic(lay, req, integer=False, time_limit=time_limit)
    relaxed_limits = False
    if el.col_value is None or (el.slack_lo.max(initial=0) <= TOL
                                and el.slack_hi.max(initial=0) <= TOL):
        relaxed_limits = True
        el = _solve_elastic(lay, req | {f for f in LIMITS if f in bm.cons}, integer=True,
                            time_limit=time_limit)
    if el.col_value is None:
        msg = ("No feasible plan, and the elastic re-solve used to explain why ended "
               f"without a solution ({el.status}).")
        return Diagnosis([msg], pd.DataFrame([{"message": msg}], columns=DIAGNOSIS_COLUMNS))
    details = []
    for name, fam in bm.cons.items():
        off = lay.row_off[name]
        for i in range(len(fam)):
            lo_s, hi_s = el.slack_lo[off + i], el.slack_hi[off + i]
            bound_lo, bound_hi = lay.lower[off + i], lay.upper[off + i]
            scale = max(1.0, abs(bound_lo) if lo_s > 0 else abs(bound_hi))
            if lo_s > TOL * scale:
                details.append(_describe(bm, name, fam.index.iloc[i], "lower", bound_lo, lo_s))
            if hi_s > TOL * scale:
                details.append(_describe(bm, name, fam.index.iloc[i], "upper", bound_hi, hi_s))
    details.sort(key=lambda d: (-round(d["weight"], 9), d["sheet"] or "", d["row"] or 0,
                                d["year"] or 0))
    blockers: list[dict[str, Any]] = []
    if details:
        # limits in the way: duals of the LP relaxation of the same elastic problem
        elastic_fams = req | ({f for f in LIMITS if f in bm.cons} if relaxed_limits else set())
        lp = _solve_elastic(lay, elastic_fams, integer=False, time_limit=time_limit, duals=True)
        blockers = _blockers(bm, lay, lp, elastic_fams) if lp.row_dual is not None else []
        if lay.integer.any():
            # integer builds matter when the LP relaxation needs less slack: fix the builds at
            # the elastic MIP's choice, take that LP's duals, and ask what stops one more unit
            fx = _solve_elastic(lay, elastic_fams, integer=False, time_limit=time_limit,
                                duals=True, fixed=el.col_value)
            if fx.row_dual is not None:
                more = _blockers(bm, lay, fx, elastic_fams, columns=False)
                more += _build_blockers(bm, lay, fx, el.col_value)
                have = {(b["sheet"], b["row"], b["message"]) for b in blockers}
                for b in more:
                    k = (b["sheet"], b["row"], b["message"])
                    if k not in have:
                        have.add(k)
                        blockers.append(b)
    messages = []
    for d in details:
        messages.append(d["message"])
    if blockers:
        names = "; ".join(b["message"] for b in blockers[:5])
        more = f" (and {len(blockers) - 5} more)" if len(blockers) > 5 else ""
        messages.append(f"Limits in the way: {names}{more}.")
        for b in blockers:
            details.append({**b, "constraint": b["constraint"], "weight": 0.0})
    if not details:
        unb = _unbounded(bm, lay, time_limit)
        if unb:
            frame = pd.DataFrame([{k: d.get(k) for k in DIAGNOSIS_COLUMNS} for d in unb],
                                 columns=DIAGNOSIS_COLUMNS)
            return Diagnosis([d["message"] for d in unb], frame, unb,
                             headline="The model is unbounded: some quantities can grow "
                                      "without limit and make the NPV infinite.")
        messages.append("No feasible plan, but no single requirement or limit explains it "
                        "(integer builds or numerical trouble); check the Warnings.")
    frame = pd.DataFrame([{k: d.get(k) for k in DIAGNOSIS_COLUMNS} for d in details]
                         or [{"message": messages[-1]}], columns=DIAGNOSIS_COLUMNS)
    if blockers:
        frame = pd.concat([frame, pd.DataFrame([{"message": messages[-1]}],
                                               columns=DIAGNOSIS_COLUMNS)], ignore_index=True)
    return Diagnosis(messages, _tidy(frame), details)


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Whole numbers for rows and years; solver noise rounded away (reproducible cells)."""
    frame = frame.copy()
    for c in ("row", "year"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("Int64")
    for c in ("bound", "achievable", "violation"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce").round(6)
    return frame


_SHEET_OF = {
    "market_min": "Markets", "market_max": "Markets", "process_capacity": "NodeProcesses",
    "process_min_load": "NodeProcesses", "build_limit": "BuildOptions",
    "deposit_reserve": "Deposits", "deposit_annual": "Deposits", "route_capacity": "Routes",
    "export_quota": "Policy", "min_domestic_processing": "Policy",
    "investment_budget": "Policy",
}


def _locate(bm: BuiltModel, fam: str, key: pd.Series) -> tuple[str | None, int | None, str, Any]:
    """(sheet, Excel row, readable key, year) of the input row behind a constraint."""
    d = bm.data
    sheet = _SHEET_OF.get(fam)
    year = key.get("year") if "year" in key.index else None
    year = int(year) if year is not None and not pd.isna(year) else None
    if fam in ("market_min", "market_max"):
        df = _original_rows(d, "Markets")
        row = _row_for(df, {c: key[c] for c in ("market", "product", "direction", "scope")},
                       year)
        label = f"{key['market']}, {key['product']}, {year}"
    elif fam in ("process_capacity", "process_min_load"):
        df = _original_rows(d, "NodeProcesses")
        row = _row_for(df, {"node": key["node"], "process": key["process"]}, year)
        if row is None:
            sheet = "BuildOptions"
            row = _row_for(_original_rows(d, "BuildOptions"),
                           {"node": key["node"], "process": key["process"]}, None, None)
        label = f"{key['node']}, {key['process']}, {year}"
    elif fam == "build_limit":
        row = _row_for(_original_rows(d, "BuildOptions"), {"option": key["option"]}, None, None)
        label = str(key["option"])
    elif fam in ("deposit_reserve", "deposit_annual"):
        row = _row_for(_original_rows(d, "Deposits"), {"deposit": key["deposit"]}, None, None)
        label = str(key["deposit"]) + (f", {year}" if year is not None else "")
    elif fam == "route_capacity":
        row = _row_for(_original_rows(d, "Routes"), {c: key[c] for c in
                                                    ("origin", "destination", "mode")},
                       None, None)
        label = f"{key['origin']} → {key['destination']}, {key['mode']}, {year}"
    elif fam in ("export_quota", "min_domestic_processing"):
        inst = "export_quota_t" if fam == "export_quota" else "min_domestic_processing_share"
        row = _policy_row(d, inst, key["target"], year)
        label = f"{inst}, {key['target'] or 'all products'}, {year}"
    elif fam == "investment_budget":
        period = key["period"]
        row = _policy_row(d, "investment_budget_musd", "", None if period == "all"
                          else int(period))
        year = None if period == "all" else int(period)
        label = "investment_budget_musd, " + ("whole horizon" if period == "all" else period)
    else:
        row, label = None, ", ".join(str(v) for v in key.to_numpy())
    return sheet, row, label, year


def _where(sheet, row, label) -> str:
    if sheet is None:
        return label
    return f"{sheet} row {row} ({label})" if row is not None else f"{sheet} ({label})"


def _describe(bm: BuiltModel, fam: str, key: pd.Series, side: str, bound: float,
              slack: float) -> dict[str, Any]:
    d = bm.data
    sheet, row, label, year = _locate(bm, fam, key)
    where = _where(sheet, row, label)
    unit = "t"
    if fam == "market_min":
        achievable = bound - slack
        if key["direction"] == "sell":
            cap = _reach(d).capacity(key["product"], _market_node(d, key), year)
            msg = (f"{where} requires ≥ {_fmt(bound, 't')} but at most "
                   f"{_fmt(achievable, 't')} can be delivered")
            if np.isfinite(cap):
                msg += (f"; all {key['product']} capacity reachable by {year} is "
                        f"{_fmt(cap, 't')}")
        else:
            msg = (f"{where} requires buying ≥ {_fmt(bound, 't')} but only "
                   f"{_fmt(achievable, 't')} can be used, sold or disposed of")
        msg += "."
    elif fam == "process_min_load":
        unit = "activity units"
        achievable = bound - slack
        msg = (f"{where} requires a minimum load of {_fmt(bound, unit)} but only "
               f"{_fmt(achievable, unit)} can run (inputs or outlets are missing).")
    else:
        unit = _unit(fam)
        scale = USD_PER_MUSD if fam == "investment_budget" else 1.0
        if side == "upper":
            achievable = bound + slack
            msg = (f"{where} allows at most {_fmt(bound / scale, unit)}, but a feasible "
                   f"plan needs {_fmt(achievable / scale, unit)}.")
        else:
            achievable = bound - slack
            msg = (f"{where} requires at least {_fmt(bound / scale, unit)}, but at most "
                   f"{_fmt(achievable / scale, unit)} is possible.")
        bound, achievable, slack = bound / scale, achievable / scale, slack / scale
    return {"constraint": fam, "sheet": sheet, "row": row, "key": label, "year": year,
            "bound": float(bound), "achievable": float(achievable), "violation": float(slack),
            "unit": unit, "message": msg, "weight": slack / max(1.0, abs(bound))}


_BIG = 1e9


def _unbounded(bm: BuiltModel, lay: _Layout, time_limit: float) -> list[dict[str, Any]]:
    """Maximise the NPV with every variable capped at 1e9: variables that run to the cap
    are the unbounded directions; each is mapped to the input row that lacks a limit."""
    from optmodel.model.objective import objective_coefficients

    coefs = objective_coefficients(bm)
    c = np.zeros(lay.ncols)
    for name, off in lay.col_off.items():
        if name in coefs:
            c[off:off + len(coefs[name])] = coefs[name]
    ub = np.minimum(np.where(np.isfinite(lay.ub), lay.ub, _BIG), _BIG)
    capped = replace(lay.mm, col_cost=c, col_upper=ub, maximize=True,
                     integer=np.zeros(lay.ncols, dtype=bool), col_names=None, row_names=None)
    try:
        res = solve_matrix(capped, SolveOptions(time_limit=time_limit, duals=False))
    except (SolverError, InfeasibleError):
        return []
    x = res.x
    out, seen = [], set()
    sheet_of = {"trade": "Markets", "flow": "Routes", "act": "NodeProcesses",
                "dispose": "Products"}
    for name, fam in bm.vars.items():
        if name not in sheet_of:
            continue
        off = lay.col_off[name]
        for i in np.flatnonzero(x[off:off + len(fam)] >= 0.5 * _BIG):
            key = fam.index.iloc[i]
            sheet = sheet_of[name]
            if name == "trade":
                row = _row_for(_original_rows(bm.data, sheet), {
                    k: key[k] for k in ("market", "product", "direction", "scope")},
                    int(key["year"]))
                label = f"{key['market']}, {key['product']}, {key['direction']}"
                fix = "give it a max_t"
            elif name == "flow":
                row = _row_for(_original_rows(bm.data, sheet), {
                    k: key[k] for k in ("origin", "destination", "mode")}, None, None)
                label = f"{key['origin']} → {key['destination']}, {key['product']}"
                fix = "give it a capacity_t_per_year"
            elif name == "act":
                row = _row_for(_original_rows(bm.data, sheet),
                               {"node": key["node"], "process": key["process"]},
                               int(key["year"]))
                label = f"{key['node']}, {key['process']}"
                fix = "check its capacity"
            else:
                row = _row_for(_original_rows(bm.data, sheet), {"product": key["product"]},
                               None, None)
                label = f"{key['node']}, {key['product']}"
                fix = "check its disposal cost"
            if (sheet, row) in seen:
                continue
            seen.add((sheet, row))
            out.append({"constraint": f"unbounded {name}", "sheet": sheet, "row": row,
                        "key": label, "year": int(key["year"]) if "year" in key else None,
                        "bound": None, "achievable": None, "violation": None, "unit": "t",
                        "message": f"{_where(sheet, row, label)} can grow without limit "
                                   f"and raise the NPV without bound: {fix}."})
    return out


def _reach(d: ModelData) -> _Reach:
    """One :class:`_Reach` per model data (cached on the object)."""
    r = getattr(d, "_reach_cache", None)
    if r is None:
        r = _Reach(d)
        object.__setattr__(d, "_reach_cache", r)
    return r


def _unit(fam: str) -> str:
    return {"process_capacity": "activity units", "build_limit": "units",
            "investment_budget": "MUSD", "min_domestic_processing": "t REO"}.get(fam, "t")


def _market_node(d: ModelData, key: pd.Series) -> str:
    tr = d.trade
    sel = tr[(tr["market"] == key["market"]) & (tr["product"] == key["product"])]
    return str(sel["node"].iloc[0]) if len(sel) else ""


def _blockers(bm: BuiltModel, lay: _Layout, lp: _Elastic, elastic: set[str],
              columns: bool = True) -> list[dict[str, Any]]:
    """Hard limits whose dual in the elastic LP is non-zero: raising them would shrink the
    shortfall.  Product balances are physics, not inputs, and are left out."""
    out = []
    rd = lp.row_dual
    for name, fam in bm.cons.items():
        if name in elastic or name not in _SHEET_OF:
            continue
        off = lay.row_off[name]
        duals = rd[off:off + len(fam)]
        for i in np.flatnonzero(np.abs(duals) > 1e-9):
            key = fam.index.iloc[i]
            sheet, row, label, year = _locate(bm, name, key)
            bound = lay.upper[off + i] if np.isfinite(lay.upper[off + i]) else lay.lower[off + i]
            scale = USD_PER_MUSD if name == "investment_budget" else 1.0
            unit = _unit(name)
            if name == "min_domestic_processing":  # its bound is 0; the input is the share
                bound, unit = _share_value(bm, key), "share"
            elif name == "build_limit":  # 0 at nodes gated by open[n]; the input is max_units
                bound = _max_units(bm, key["option"])
            out.append({"constraint": name, "sheet": sheet, "row": row, "key": label,
                        "year": year, "bound": float(bound / scale), "achievable": None,
                        "violation": 0.0, "unit": unit, "strength": abs(duals[i]),
                        "message": f"{_where(sheet, row, label)} {_LIMIT_WORD[name]} "
                                   f"{_fmt(bound / scale, '' if unit == 'share' else unit)}"})
    # build upper bounds (max_units of an option with a single start year) and unmet caps
    cd = lp.col_dual  # (not with builds fixed: then the fixing binds, not max_units)
    if columns and cd is not None and "build" in bm.vars:
        fam = bm.vars["build"]
        off = lay.col_off["build"]
        for i in np.flatnonzero(cd[off:off + len(fam)] < -1e-9):
            opt = fam.index["option"].iloc[i]
            row = _row_for(_original_rows(bm.data, "BuildOptions"), {"option": opt}, None,
                           None)
            out.append({"constraint": "build_max_units", "sheet": "BuildOptions", "row": row,
                        "key": str(opt), "year": int(fam.index["year"].iloc[i]),
                        "bound": float(lay.ub[off + i]), "achievable": None, "violation": 0.0,
                        "unit": "units", "strength": abs(cd[off + i]),
                        "message": f"{_where('BuildOptions', row, opt)} max_units "
                                   f"{_fmt(lay.ub[off + i], 'units')}"})
    out.sort(key=lambda b: (-b["strength"], b["sheet"] or "", b["row"] or 0))
    # one entry per input row
    seen, uniq = set(), []
    for b in out:
        k = (b["sheet"], b["row"], b["message"].split(") ", 1)[-1])
        if k not in seen:
            seen.add(k)
            uniq.append(b)
    return uniq


def _max_units(bm: BuiltModel, option: str) -> float:
    o = bm.data.options
    sel = o[o["option"] == option]
    return float(sel["max_units"].iloc[0]) if len(sel) else float("nan")


def _share_value(bm: BuiltModel, key: pd.Series) -> float:
    p = bm.data.policy
    sel = p[(p["instrument"] == "min_domestic_processing_share") & (p["target"] == key["target"])
            & (p["year"] == key["year"])]
    return float(sel["value"].iloc[0]) if len(sel) else float("nan")


def _build_blockers(bm: BuiltModel, lay: _Layout, fx: _Elastic, x: np.ndarray
                    ) -> list[dict[str, Any]]:
    """For capacities that limit the fixed-build LP: what stops one more unit of a build
    option feeding them (an investment budget, build_limit or max_units)?"""
    if "process_capacity" not in bm.cons or "build" not in bm.vars:
        return []
    off = lay.row_off["process_capacity"]
    fam = bm.cons["process_capacity"]
    tight = set((off + np.flatnonzero(np.abs(fx.row_dual[off:off + len(fam)]) > 1e-9))
                .tolist())
    b0, nb = lay.col_off["build"], len(bm.vars["build"])
    is_build = (lay.cols >= b0) & (lay.cols < b0 + nb)
    cand = np.unique(lay.cols[is_build & np.isin(lay.rows, list(tight))])
    if not len(cand):
        return []
    activity = np.zeros(lay.nrows)
    np.add.at(activity, lay.rows, lay.vals * x[lay.cols])
    out: list[dict[str, Any]] = []
    limit_rows = {f: lay.row_off[f] for f in ("investment_budget", "build_limit")
                  if f in lay.row_off}
    for j in cand:
        step = 1.0
        if x[j] + step > lay.ub[j] + 1e-9:
            i = j - b0
            opt = bm.vars["build"].index["option"].iloc[i]
            row = _row_for(_original_rows(bm.data, "BuildOptions"), {"option": opt}, None,
                           None)
            out.append({"constraint": "build_max_units", "sheet": "BuildOptions", "row": row,
                        "key": str(opt), "year": None, "bound": float(lay.ub[j]),
                        "achievable": None, "violation": 0.0, "unit": "units", "strength": 1.0,
                        "message": f"{_where('BuildOptions', row, opt)} max_units "
                                   f"{_fmt(lay.ub[j], 'units')}"})
        mask = lay.cols == j
        opt = bm.vars["build"].index["option"].iloc[j - b0]
        for r, a in zip(lay.rows[mask], lay.vals[mask], strict=True):
            f = lay.fam_of_row[r]
            if f not in limit_rows:
                continue
            key = bm.cons[f].index.iloc[r - limit_rows[f]]
            if f == "build_limit":  # the node may be opened too: only max_units can stop it
                bound = _max_units(bm, opt)
                starts = np.flatnonzero(bm.vars["build"].index["option"].to_numpy() == opt)
                blocked = x[b0 + starts].sum() + step > bound + 1e-9
            else:
                bound = lay.upper[r]
                blocked = activity[r] + a * step > bound * (1 + 1e-9) + 1e-9
            if blocked:
                sheet, row, label, year = _locate(bm, f, key)
                scale = USD_PER_MUSD if f == "investment_budget" else 1.0
                out.append({"constraint": f, "sheet": sheet, "row": row, "key": label,
                            "year": year, "bound": float(bound / scale),
                            "achievable": None, "violation": 0.0, "unit": _unit(f),
                            "strength": 1.0,
                            "message": f"{_where(sheet, row, label)} {_LIMIT_WORD[f]} "
                                       f"{_fmt(bound / scale, _unit(f))}"})
    return out


_LIMIT_WORD = {
    "process_capacity": "existing capacity", "build_limit": "max_units",
    "deposit_reserve": "reserve",
    "deposit_annual": "max per year", "route_capacity": "capacity", "market_max": "max_t",
    "export_quota": "quota", "min_domestic_processing": "minimum domestic share",
    "investment_budget": "budget", "process_min_load": "minimum load",
    "market_min": "min_t",
}


def diagnosis_text(diag: Diagnosis) -> str:
    return "\n".join(f"  - {m}" for m in diag.messages)


# ----------------------------------------------------------------- sanity warnings


def sanity_warnings(data: ModelData) -> list[Issue]:
    """Pre-solve warnings (never errors): see the module docstring."""
    issues: list[Issue] = []
    rec = data.recipes
    ins = rec[rec["direction"] == "in"].groupby("process")["product"].apply(list).to_dict()
    outs = rec[rec["direction"] == "out"].groupby("process")["product"].apply(list).to_dict()
    # (node, process) pairs that can ever run: existing capacity in some year or a build
    pairs = set(zip(data.act["node"], data.act["process"], strict=True))
    tr = data.trade
    avail: set[tuple[str, str]] = set(zip(tr.loc[tr["direction"] == "buy", "node"],
                                          tr.loc[tr["direction"] == "buy", "product"],
                                          strict=True))
    routes = _route_products(data)
    running: set[tuple[str, str]] = set()
    changed = True
    while changed:
        changed = False
        for n, k in pairs:
            if (n, k) in running:
                continue
            if all((n, q) in avail for q in ins.get(k, [])):
                running.add((n, k))
                for p in outs.get(k, []):
                    if (n, p) not in avail:
                        avail.add((n, p))
                        changed = True
        for (o, dst), prods in routes.items():
            for p in prods if prods is not None else {p for (nn, p) in avail if nn == o}:
                if (o, p) in avail and (dst, p) not in avail:
                    avail.add((dst, p))
                    changed = True
    npr = _SheetRows(_original_rows(data, "NodeProcesses"))
    bo = _SheetRows(_original_rows(data, "BuildOptions"))
    for n, k in sorted(pairs - running):
        missing = [q for q in ins.get(k, []) if (n, q) not in avail]
        row = _row_for(npr, {"node": n, "process": k}, None, None)
        sheet = "NodeProcesses"
        if row is None:
            sheet, row = "BuildOptions", _row_for(bo, {"node": n, "process": k}, None, None)
        issues.append(Issue(sheet, row, "process", k,
                            f"process {k} at {n} can never run: its input "
                            f"{', '.join(missing)} can never arrive at {n} (no process, "
                            "purchase or route brings it there)", "warning"))
    mk = _SheetRows(_original_rows(data, "Markets"))
    reach: _Reach | None = None  # built on the first minimum to check
    soft = data.settings.get("unmet_penalty_usd_per_t") is not None
    sell = tr[tr["direction"] == "sell"]
    no_route: set[tuple[str, str, str]] = set()
    seen_rows: set[int | None] = set()
    for m, n, p, sc, t, mn in zip(sell["market"], sell["node"], sell["product"], sell["scope"],
                                  sell["year"], sell["min_t"], strict=True):
        if (n, p) not in avail:
            if (m, p, sc) not in no_route:
                no_route.add((m, p, sc))
                row = _row_for(mk, {"market": m, "product": p, "direction": "sell",
                                    "scope": sc}, int(t))
                issues.append(Issue("Markets", row, "product", p,
                                    f"nothing can deliver {p} to {n}: no process or purchase "
                                    "makes it there and no route carries it there", "warning"))
            continue
        if mn > 0:
            reach = reach if reach is not None else _Reach(data)
            cap = reach.capacity(p, n, int(t))
            if cap < mn * (1 - 1e-9):
                row = _row_for(mk, {"market": m, "product": p, "direction": "sell",
                                    "scope": sc}, int(t))
                if row in seen_rows:
                    continue
                seen_rows.add(row)
                issues.append(Issue(
                    "Markets", row, "min_t", _num(mn),
                    f"requires ≥ {_fmt(mn, 't')} of {p} in {int(t)} but all {p} capacity "
                    f"reachable by {int(t)} is {_fmt(cap, 't')}"
                    + ("; the shortfall will be unmet (penalised)" if soft
                       else "; the model will be infeasible"), "warning"))
    return issues


def _num(x: float) -> Any:
    return int(x) if float(x).is_integer() else float(x)


def _route_products(data: ModelData) -> dict[tuple[str, str], set[str] | None]:
    """(origin, destination) → products allowed (None = all) over any open year."""
    tables = data.tables
    out: dict[tuple[str, str], set[str] | None] = {}
    if tables is None:
        return out
    r = _original_rows(data, "Routes")
    for o, d, prods in zip(r["origin"], r["destination"], r["products"], strict=True):
        allowed = None if prods is None else {s.strip() for s in str(prods).split(",")
                                              if s.strip()}
        cur = out.get((o, d), set())
        out[(o, d)] = None if cur is None or allowed is None else cur | allowed
    return out


# ----------------------------------------------------------------- workbook


def write_diagnosis_workbook(path: Path, diag: Diagnosis, run: pd.DataFrame,
                             warnings: pd.DataFrame | None = None) -> None:
    """The results workbook of an infeasible run: Diagnosis (+ Warnings) and Run."""
    from optmodel.io.write import SheetSpec, write_workbook

    specs = [SheetSpec("Diagnosis", diag.frame, wrap_columns=("message",),
                       widths={"message": 90})]
    if warnings is not None and len(warnings):
        specs.append(SheetSpec("Warnings", warnings, wrap_columns=("message",)))
    specs.append(SheetSpec("Run", run, widths={"value": 22}))
    write_workbook(path, specs, title="optmodel results (infeasible)")
