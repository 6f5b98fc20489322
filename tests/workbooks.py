"""Helpers for the model tests: write input workbooks, read result workbooks.

Everything here follows the workbook contract of docs/model.md §11 (input) and §4
(output); nothing imports the model, so the tests exercise the public path
workbook → loader → model → results workbook.

Builders:

- :func:`write_input_workbook`: dict of sheet name → rows (list of dicts) or
  DataFrame, written with :func:`optmodel.io.write.write_workbook`;
- :func:`facility_location_sheets`: a single-year capacitated facility-location
  problem in the known-optimum form of docs/model.md §3–5, optionally with prices,
  per-tonne opex, existing capacity and node opening costs;
- :func:`cap_instance_workbook`: an OR-Library ``cap`` file in that form;
- :func:`relog_s1_sheets`: the RELOG test instance s1 (see its docstring for
  why the translation is exact);
- :func:`product_balance_residuals`: rebuild every product balance from the
  result tables.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from optmodel.io.write import SheetSpec, write_workbook

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = Path("/work/shared/benchmarks")
ORLIB_CAP = BENCHMARKS / "orlib-cap"
RELOG_S1 = BENCHMARKS / "relog-s1"

Rows = Sequence[Mapping[str, Any]] | pd.DataFrame


# --------------------------------------------------------------------------- writing


def _frame(rows: Rows) -> pd.DataFrame:
    if isinstance(rows, pd.DataFrame):
        return rows.reset_index(drop=True)
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    return pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=columns,
                        dtype=object)


def write_input_workbook(path: Path, sheets: Mapping[str, Rows]) -> Path:
    """Write an input workbook: one sheet per entry, headers from the row dicts."""
    path = Path(path)
    write_workbook(path, [SheetSpec(name, _frame(rows)) for name, rows in sheets.items()])
    return path


def settings_rows(first_year: int, last_year: int, discount_rate: float,
                  **extra: Any) -> list[dict[str, Any]]:
    """Settings sheet rows; salvage is off unless given."""
    values: dict[str, Any] = {"first_year": first_year, "last_year": last_year,
                              "discount_rate": discount_rate, "salvage": "off"}
    values.update(extra)
    return [{"key": k, "value": v} for k, v in values.items()]


# --------------------------------------------------------------------------- reading


def read_result_workbook(path: Path) -> dict[str, pd.DataFrame]:
    """Every sheet of a results workbook as a DataFrame (headers from row 1)."""
    return pd.read_excel(path, sheet_name=None, engine="calamine")


def summary_of(tables: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    """Summary sheet as metric → value."""
    s = tables["Summary"]
    return dict(zip(s["metric"], s["value"], strict=True))


def num(value: Any) -> float:
    """A Summary value as a float (blank → nan)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return math.nan
    return float(value)


def col_sum(frame: pd.DataFrame | None, column: str, **where: Any) -> float:
    """Σ frame[column] over rows matching ``where`` (0 for a missing/empty table)."""
    if frame is None or len(frame) == 0:
        return 0.0
    mask = pd.Series(True, index=frame.index)
    for key, value in where.items():
        mask &= frame[key] == value
    return float(pd.to_numeric(frame.loc[mask, column], errors="coerce").fillna(0.0).sum())


def summary_vs_details(tables: Mapping[str, pd.DataFrame]) -> dict[str, tuple[float, float]]:
    """Summary metric → (Summary value, Σ of its detail rows), docs/model.md §12.

    revenue/purchases = Σ Trade.value_musd on sell/buy rows; export/import
    duties = Σ Trade.duty_musd on sell/buy rows; transport = Σ Flows.cost_musd;
    capex = Σ Builds.capex_musd; fixed O&M = Σ Builds.fixed_om_musd × the
    years each unit is alive is not in a table, so it is left out; opex and
    subsidies = Σ Activity columns; extraction tax = Σ Extraction.tax_musd;
    disposal = Σ Disposal.cost_musd; unmet_demand_t = Σ Trade.unmet_t.
    """
    s = summary_of(tables)
    trade, act = tables["Trade"], tables["Activity"]
    details = {
        "revenue_musd": col_sum(trade, "value_musd", direction="sell"),
        "purchases_musd": col_sum(trade, "value_musd", direction="buy"),
        "export_duties_musd": col_sum(trade, "duty_musd", direction="sell"),
        "import_duties_musd": col_sum(trade, "duty_musd", direction="buy"),
        "transport_musd": col_sum(tables["Flows"], "cost_musd"),
        "capex_musd": col_sum(tables["Builds"], "capex_musd"),
        "opex_musd": col_sum(act, "opex_musd"),
        "subsidies_musd": col_sum(act, "subsidy_musd"),
        "extraction_tax_musd": col_sum(tables.get("Extraction"), "tax_musd"),
        "disposal_musd": col_sum(tables.get("Disposal"), "cost_musd"),
        "unmet_demand_t": col_sum(trade, "unmet_t"),
    }
    return {k: (num(s[k]), v) for k, v in details.items()}


# --------------------------------------------------------------------------- facility location


@dataclass(frozen=True)
class FacilityProblem:
    """A single-year capacitated facility-location problem.

    Sites i have a buildable unit of ``capacities[i]`` costing ``fixed[i]`` USD
    (plus ``opening[i]`` USD as a node opening cost), optional
    ``existing[i]`` capacity needing no build, and ``opex[i]`` USD per tonne
    supplied; customers j have ``demand[j]`` t, a price ``price[j]`` USD/t
    and take between ``min_share[j]``·demand and demand; ``unit_cost[i][j]``
    is the transport cost in USD/t.
    """

    capacities: Sequence[float]
    fixed: Sequence[float]
    demand: Sequence[float]
    unit_cost: Sequence[Sequence[float]]
    price: Sequence[float] | None = None
    opex: Sequence[float] | None = None
    existing: Sequence[float] | None = None
    opening: Sequence[float] | None = None
    hard_demand: bool = True
    discount_rate: float = 0.0
    year: int = 2025

    @property
    def m(self) -> int:
        return len(self.capacities)

    @property
    def n(self) -> int:
        return len(self.demand)


def site_name(i: int) -> str:
    return f"W{i + 1:03d}"


def customer_name(j: int) -> str:
    return f"C{j + 1:04d}"


def facility_location_sheets(p: FacilityProblem) -> dict[str, list[dict[str, Any]]]:
    """Input sheets for a :class:`FacilityProblem` (docs/model.md §3–5 known-optimum form).

    One product ``goods``; process ``supply`` with no inputs and one output;
    each site a node with a build option (max_units 1, capex = fixed cost,
    unit capacity = site capacity); each customer a node with one sell row
    (price 0 unless given; min_t = max_t = demand when ``hard_demand``, else
    min_t 0 and max_t = demand); a road route from every site to every
    customer with cost_usd_per_t = unit cost.
    """
    zeros = [0.0] * p.m
    price = p.price or [0.0] * p.n
    opex = p.opex or zeros
    existing = p.existing or zeros
    opening = p.opening or zeros
    nodes: list[dict[str, Any]] = []
    builds: list[dict[str, Any]] = []
    node_processes: list[dict[str, Any]] = []
    for i in range(p.m):
        node = {"node": site_name(i), "kind": "plant"}
        if opening[i]:
            node["opening_cost_musd"] = opening[i] / 1e6
        nodes.append(node)
        builds.append({
            "option": f"open_{site_name(i)}", "node": site_name(i), "process": "supply",
            "unit_capacity": p.capacities[i], "capex_musd": p.fixed[i] / 1e6,
            "lead_time_years": 0, "max_units": 1,
        })
        if opex[i] or existing[i]:
            node_processes.append({
                "node": site_name(i), "process": "supply",
                "existing_capacity": existing[i], "opex_usd_per_activity": opex[i],
            })
    markets: list[dict[str, Any]] = []
    routes: list[dict[str, Any]] = []
    for j in range(p.n):
        if p.demand[j] <= 0:
            continue  # a customer with no demand changes nothing
        nodes.append({"node": customer_name(j), "kind": "market"})
        markets.append({
            "market": f"demand_{customer_name(j)}", "node": customer_name(j),
            "product": "goods", "direction": "sell", "scope": "domestic",
            "price_usd_per_t": price[j],
            "min_t": p.demand[j] if p.hard_demand else 0.0, "max_t": p.demand[j],
        })
        for i in range(p.m):
            routes.append({
                "origin": site_name(i), "destination": customer_name(j), "mode": "road",
                "cost_usd_per_t": p.unit_cost[i][j],
            })
    return {
        "Settings": settings_rows(p.year, p.year, p.discount_rate),
        "Nodes": nodes,
        "Products": [{"product": "goods", "stage": 1, "reo_content": 1.0}],
        "Processes": [{"process": "supply", "stage_from": 1, "stage_to": 1}],
        "Recipes": [{"process": "supply", "product": "goods", "direction": "out",
                     "qty_per_activity": 1.0}],
        "NodeProcesses": node_processes,
        "BuildOptions": builds,
        "Routes": routes,
        "Markets": markets,
    }


@dataclass(frozen=True)
class CapInstance:
    """An OR-Library capacitated warehouse location instance (SOURCES.md format)."""

    capacities: list[float]
    fixed: list[float]
    demand: list[float]
    cost: list[list[float]]  # cost[j][i]: serving all of customer j from warehouse i


def read_cap_instance(instance_file: Path, capacity: float | None = None) -> CapInstance:
    """Parse a ``cap`` file; ``capacity`` replaces the literal word ``capacity``."""
    tokens = Path(instance_file).read_text().split()
    m, n = int(tokens[0]), int(tokens[1])
    pos = 2
    capacities: list[float] = []
    fixed: list[float] = []
    for _ in range(m):
        cap_token = tokens[pos]
        if cap_token.lower() == "capacity":
            if capacity is None:
                raise ValueError(f"{instance_file}: capacities are symbolic; give capacity=")
            capacities.append(float(capacity))
        else:
            capacities.append(float(capacity) if capacity is not None else float(cap_token))
        fixed.append(float(tokens[pos + 1]))
        pos += 2
    demand: list[float] = []
    cost: list[list[float]] = []
    for _ in range(n):
        demand.append(float(tokens[pos]))
        cost.append([float(t) for t in tokens[pos + 1: pos + 1 + m]])
        pos += 1 + m
    if pos != len(tokens):
        raise ValueError(f"{instance_file}: {len(tokens) - pos} tokens left over")
    return CapInstance(capacities, fixed, demand, cost)


def cap_instance_workbook(path: Path, instance_file: Path,
                          capacity: float | None = None) -> Path:
    """Write an OR-Library cap instance as an input workbook (known-optimum form).

    Discount 0, first_year = last_year, salvage off, prices 0; each customer a
    hard sell row (min_t = max_t = demand, blank penalty); each warehouse a
    node with a build option (max_units 1, capex = fixed cost, unit capacity =
    warehouse capacity) on the no-input process ``supply``; route cost per
    tonne = cost_ij / demand_j (the file's cost is for all of j's demand).
    The model's NPV is then minus the optimal cost of the splittable problem.
    """
    inst = read_cap_instance(instance_file, capacity)
    m, n = len(inst.capacities), len(inst.demand)
    unit_cost = [[inst.cost[j][i] / inst.demand[j] if inst.demand[j] > 0 else 0.0
                  for j in range(n)] for i in range(m)]
    problem = FacilityProblem(inst.capacities, inst.fixed, inst.demand, unit_cost)
    return write_input_workbook(path, facility_location_sheets(problem))


# --------------------------------------------------------------------------- RELOG s1


def relog_s1_sheets(instance_dir: Path = RELOG_S1, first_year: int = 2025
                    ) -> dict[str, list[dict[str, Any]]]:
    """RELOG instance s1 in the optmodel contract; NPV = −(RELOG total cost) at the optimum.

    Translation (discount 0, salvage off, one model year per RELOG period):

    - collection centre amounts must all be collected (RELOG sends every
      initial amount to a plant): a no-input process ``collect`` at each
      centre with existing capacity = amount and min_load 1;
    - a plant type with input x and outputs y is a process (in x 1, out y
      q_y), its variable operating cost the NodeProcesses opex;
    - plant sizing: RELOG opens a plant at its minimum size s0 for opening
      cost o0 and expands linearly up to s1 at (o1 − o0)/(s1 − s0) per
      tonne, paying the fixed operating cost f every period it is open. Here
      the node has opening cost o0 + f × (number of periods), a free binary
      build of s0 (when s0 > 0) and a divisible expansion build of s1 − s0
      at that slope. Every optmodel solution maps to a RELOG solution of no
      greater cost (RELOG would open the plant in the first build year and
      pay f only from then on), and a RELOG solution that opens its plants in
      the first period (as the reported optimum does: opening cost is all in
      period 1) has an optmodel solution of equal cost, so the optima agree;
    - sinks (plants with no outputs, opening and fixed cost 0, negative
      variable cost −v, single size s) are sell rows at price v, max_t = s;
    - disposal with a negative cost −v (a revenue) up to a limit is a sell
      row at price v with that max_t; disposal with a positive cost c is a
      process consuming the product into ``<product>_disposed`` (freely
      disposable) with opex c at that node only;
    - transport: one route per arc of routes_derived.csv, distance_km (as
      RELOG rounds it) × cost_usd_per_tkm.
    """
    data = json.loads((instance_dir / "s1.json").read_text())
    periods = int(data["parameters"]["time horizon (years)"])
    last_year = first_year + periods - 1

    def flat(values: Sequence[float], what: str) -> float:
        if len(set(values)) != 1:
            raise NotImplementedError(f"{what} varies by period: {values}")
        return float(values[0])

    products = [{"product": p, "stage": k, "reo_content": 0.0}
                for k, p in enumerate(data["products"])]
    processes = [{"process": "collect", "stage_from": 0, "stage_to": 0}]
    recipes: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    node_processes: list[dict[str, Any]] = []
    builds: list[dict[str, Any]] = []
    markets: list[dict[str, Any]] = []

    source_products = [p for p, d in data["products"].items() if "initial amounts" in d]
    for product in source_products:
        recipes.append({"process": "collect", "product": product, "direction": "out",
                        "qty_per_activity": 1.0})
        for centre, d in data["products"][product]["initial amounts"].items():
            # RELOG's coordinates are fictional (latitude 100); optmodel's lat/lon are
            # for maps only, so they are left out.
            nodes.append({"node": centre, "kind": "hub"})
            node_processes.append({"node": centre, "process": "collect",
                                   "existing_capacity": flat(d["amount (tonne)"], centre),
                                   "min_load": 1.0})
    if len(source_products) != 1:
        raise NotImplementedError("one collected product expected (one collect process)")

    disposed_products: list[str] = []
    for plant, pd_ in data["plants"].items():
        outputs = pd_.get("outputs (tonne/tonne)", {})
        if outputs:
            processes.append({"process": plant})
            recipes.append({"process": plant, "product": pd_["input"], "direction": "in",
                            "qty_per_activity": 1.0})
            for product, q in outputs.items():
                recipes.append({"process": plant, "product": product, "direction": "out",
                                "qty_per_activity": q})
        for loc, ld in pd_["locations"].items():
            sizes = sorted(ld["capacities (tonne)"].items(), key=lambda kv: float(kv[0]))
            s0, d0 = float(sizes[0][0]), sizes[0][1]
            s1, d1 = float(sizes[-1][0]), sizes[-1][1]
            o0 = flat(d0["opening cost ($)"], loc)
            o1 = flat(d1["opening cost ($)"], loc)
            f0 = flat(d0["fixed operating cost ($)"], loc)
            f1 = flat(d1["fixed operating cost ($)"], loc)
            v = flat(d0["variable operating cost ($/tonne)"], loc)
            if f1 != f0 or flat(d1["variable operating cost ($/tonne)"], loc) != v:
                raise NotImplementedError(f"{plant} {loc}: size-dependent operating costs")
            node = {"node": loc, "kind": "plant" if outputs else "market"}
            if not outputs:
                if o0 or f0 or v > 0 or s1 != s0:
                    raise NotImplementedError(f"{plant} {loc}: sink with costs")
                markets.append({"market": f"{plant}_{loc}", "node": loc,
                                "product": pd_["input"], "direction": "sell",
                                "scope": "domestic", "price_usd_per_t": -v, "max_t": s0})
                nodes.append(node)
                continue
            opening = o0 + f0 * periods
            if opening:
                node["opening_cost_musd"] = opening / 1e6
            nodes.append(node)
            node_processes.append({"node": loc, "process": plant, "opex_usd_per_activity": v})
            if s0 > 0:
                builds.append({"option": f"{plant}_{loc}_min", "node": loc, "process": plant,
                               "unit_capacity": s0, "capex_musd": 0.0, "max_units": 1})
            if s1 > s0:
                builds.append({"option": f"{plant}_{loc}_expansion", "node": loc,
                               "process": plant, "unit_capacity": s1 - s0,
                               "capex_musd": (o1 - o0) / 1e6, "max_units": 1,
                               "divisible": "yes"})
            for product, dd in ld.get("disposal", {}).items():
                cost = flat(dd["cost ($/tonne)"], f"{loc} disposal")
                limit = flat(dd["limit (tonne)"], loc) if "limit (tonne)" in dd else None
                if cost <= 0:
                    row = {"market": f"dispose_{product}_{loc}", "node": loc,
                           "product": product, "direction": "sell", "scope": "domestic",
                           "price_usd_per_t": -cost}
                    if limit is not None:
                        row["max_t"] = limit
                    markets.append(row)
                else:
                    proc = f"dispose_{product}_{loc}"
                    waste = f"{product}_disposed"
                    if waste not in disposed_products:
                        disposed_products.append(waste)
                        products.append({"product": waste, "stage": 0, "reo_content": 0.0,
                                         "disposal_cost_usd_per_t": 0.0})
                    processes.append({"process": proc})
                    recipes += [
                        {"process": proc, "product": product, "direction": "in",
                         "qty_per_activity": 1.0},
                        {"process": proc, "product": waste, "direction": "out",
                         "qty_per_activity": 1.0},
                    ]
                    node_processes.append({"node": loc, "process": proc,
                                           "existing_capacity": limit if limit else 1e6,
                                           "opex_usd_per_activity": cost})
    routes = []
    with open(instance_dir / "routes_derived.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            routes.append({"origin": r["origin"], "destination": r["destination"],
                           "mode": "road", "distance_km": float(r["distance_km"]),
                           "cost_usd_per_tkm": float(r["cost_usd_per_tkm"]),
                           "products": r["product"]})
    return {
        "Settings": settings_rows(first_year, last_year, 0.0),
        "Nodes": nodes,
        "Products": products,
        "Processes": processes,
        "Recipes": recipes,
        "NodeProcesses": node_processes,
        "BuildOptions": builds,
        "Routes": routes,
        "Markets": markets,
    }


# --------------------------------------------------------------------------- balances


def product_balance_residuals(recipes: Rows, tables: Mapping[str, pd.DataFrame]
                              ) -> dict[tuple[str, str, int], tuple[float, float]]:
    """Rebuild product_balance[n,p,t] from the result tables.

    Returns (n, p, t) → (residual, scale), residual = produced + inflows +
    purchases − consumed − outflows − sales − disposed (docs/model.md §3–5 constraint
    1), scale = the sum of the absolute terms. Production and consumption are
    Activity.activity × Recipes.qty_per_activity.
    """
    rec = _frame(recipes)
    coef: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for r in rec.itertuples(index=False):
        sign = 1.0 if str(r.direction).strip().lower() == "out" else -1.0
        coef[str(r.process)].append((str(r.product), sign * float(r.qty_per_activity)))
    res: dict[tuple[str, str, int], float] = defaultdict(float)
    scale: dict[tuple[str, str, int], float] = defaultdict(float)

    def add(key: tuple[str, str, int], value: float) -> None:
        res[key] += value
        scale[key] += abs(value)

    act = tables.get("Activity")
    if act is not None:
        for r in act.itertuples(index=False):
            for product, q in coef[str(r.process)]:
                add((str(r.node), product, int(r.year)), q * float(r.activity))
    flows = tables.get("Flows")
    if flows is not None:
        for r in flows.itertuples(index=False):
            add((str(r.destination), str(r.product), int(r.year)), float(r.tonnes))
            add((str(r.origin), str(r.product), int(r.year)), -float(r.tonnes))
    trade = tables.get("Trade")
    if trade is not None:
        for r in trade.itertuples(index=False):
            sign = 1.0 if str(r.direction) == "buy" else -1.0
            add((str(r.node), str(r.product), int(r.year)), sign * float(r.tonnes))
    disposal = tables.get("Disposal")
    if disposal is not None:
        for r in disposal.itertuples(index=False):
            add((str(r.node), str(r.product), int(r.year)), -float(r.tonnes))
    return {k: (res[k], scale[k]) for k in res}


def assert_balances_close(recipes: Rows, tables: Mapping[str, pd.DataFrame],
                          tol: float = 1e-6) -> int:
    """Assert every rebuilt balance closes to tol × max(1, scale); returns how many."""
    residuals = product_balance_residuals(recipes, tables)
    bad = {k: v for k, v in residuals.items() if abs(v[0]) > tol * max(1.0, v[1])}
    assert not bad, f"product balances that do not close (residual, scale): {bad}"
    return len(residuals)
