"""From validated tables to model data: year expansion, defaults, sparse index sets.

Everything here is plain pandas; no Pyomo.  The :class:`ModelData` holds one
DataFrame per variable family (its index columns plus objective coefficients
and bounds) and the parameter tables the constraint builders need, so that the
model only ever indexes combinations that exist (docs/model.md §3–5, §11.3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from optmodel import schema as S
from optmodel.input.tables import ROW, Tables
from optmodel.input.targets import fold, normalise_target, product_target_mask

USD_PER_MUSD = 1e6


@dataclass(frozen=True)
class ModelData:
    """Validated, expanded and indexed data for one model instance (read-only: nothing
    after :func:`build_model_data` assigns to it; batch caches live in the batch layer)."""

    settings: dict[str, Any]
    years: list[int]
    discount: pd.Series  # year -> d_t
    nodes: pd.DataFrame
    products: pd.DataFrame
    processes: pd.DataFrame
    recipes: pd.DataFrame
    node_processes: pd.DataFrame  # expanded by year
    options: pd.DataFrame
    builds: pd.DataFrame  # (option, year=start) + coefficients
    alive: pd.DataFrame  # (option, start, year)
    act: pd.DataFrame  # (node, process, year) + existing, opex, min_load, subsidy
    flows: pd.DataFrame  # (origin, destination, mode, product, year) + unit cost
    routes: pd.DataFrame  # (origin, destination, mode, year) + capacity
    trade: pd.DataFrame  # (market, product, direction, scope, year) + node, price, ...
    dispose: pd.DataFrame  # (node, product, year) + cost
    deposits: pd.DataFrame
    policy: pd.DataFrame  # expanded
    opening: pd.DataFrame  # nodes with an opening cost that gate builds
    # segments of price-response sell rows (docs/model.md §6–8): trade row × segment 1…K
    segments: pd.DataFrame = field(default_factory=pd.DataFrame)
    tables: Tables | None = field(default=None, repr=False)

    @property
    def first_year(self) -> int:
        return self.years[0]

    @property
    def last_year(self) -> int:
        return self.years[-1]


def apply_defaults(df: pd.DataFrame, sheet: str) -> pd.DataFrame:
    """Fill blank cells with the schema's column defaults (docs/model.md §11.1)."""
    df = df.copy()
    for col in S.SHEETS[sheet].columns:
        if col.default is not None and col.name in df.columns:
            df[col.name] = df[col.name].where(df[col.name].notna(), col.default)
    return df


def expand_years(df: pd.DataFrame, keys: list[str], years: list[int],
                 year_col: str = "year") -> pd.DataFrame:
    """One row per year: a year row replaces the blank-year row with the same keys (§3.3).

    The year column comes last; rows are sorted by ``keys`` then year.
    """
    if not len(df):
        return df.assign(**{year_col: pd.Series(dtype="int64")})
    isna = df[year_col].isna().to_numpy()
    cols = [c for c in df.columns if c != year_col]
    blank, spec = df.loc[isna, cols], df.loc[~isna, cols]
    yrs = np.asarray(years, dtype="int64")
    filled = blank.iloc[np.repeat(np.arange(len(blank)), len(yrs))].reset_index(drop=True)
    filled[year_col] = np.tile(yrs, len(blank))
    spec = spec.assign(**{year_col: df.loc[~isna, year_col].astype("int64").to_numpy()})
    if len(spec) and len(filled):  # a year row replaces the blank row's value for its year
        given = set(zip(*(spec[c].tolist() for c in [*keys, year_col]), strict=True))
        keep = [k not in given for k in
                zip(*(filled[c].tolist() for c in [*keys, year_col]), strict=True)]
        filled = filled[keep]
    out = pd.concat([filled, spec], ignore_index=True)
    return out.sort_values(keys + [year_col], kind="stable").reset_index(drop=True)


def _blank_to_str(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    df = df.copy()
    for c in cols:
        df[c] = df[c].astype(object).where(df[c].notna(), "")
    return df


# the sheets the plant section of build_model_data reads (not Markets, not Routes) …
PLANT_SHEETS = ("Settings", "Nodes", "Products", "Processes", "Recipes", "NodeProcesses",
                "BuildOptions", "Policy", "Deposits")
# … and those its core reads: every index of the plant section, and its coefficients
# except the Policy ones (capex relief, processing subsidies)
CORE_SHEETS = tuple(s for s in PLANT_SHEETS if s != "Policy")


def plant_core(tables: Tables) -> dict[str, pd.DataFrame]:
    """Everything derived from :data:`CORE_SHEETS` alone: the plant section without its
    Policy coefficients.  Batch runs whose core sheets have the same content share it
    (:mod:`optmodel.batch.cache`)."""
    years, discount = _horizon(tables.settings)
    return _plant_core(tables, years, discount)


def _horizon(st: dict[str, Any]) -> tuple[list[int], pd.Series]:
    years = list(range(int(st["first_year"]), int(st["last_year"]) + 1))
    rate = float(st["discount_rate"])
    discount = pd.Series([(1.0 + rate) ** -(t - years[0]) for t in years], index=years,
                         dtype=float)
    return years, discount


def build_model_data(tables: Tables, core: dict[str, pd.DataFrame] | None = None
                     ) -> ModelData:
    """Derive every sparse index set and coefficient from validated tables.

    The plant section (nodes, processes, builds, activity …) reads only
    :data:`PLANT_SHEETS`, and its core (all of it but the Policy coefficients)
    only :data:`CORE_SHEETS`.  ``core`` is that core as :func:`plant_core` made it for
    tables whose core sheets have the same content (a batch run's shared copy; it is
    not modified: the frames are copied); without it the core is derived here.
    """
    st = tables.settings
    years, discount = _horizon(st)
    t0, last = years[0], years[-1]
    core = _plant_core(tables, years, discount) if core is None else _copies(core)
    plant = _with_policy(core, _expand_policy(_frame(tables, "Policy"), years), st,
                         discount, last)
    nodes, products, recipes, policy, act = (plant[k] for k in (
        "nodes", "products", "recipes", "policy", "act"))

    # ---- markets expanded by year, with duties, demand support and price response
    mk = apply_defaults(_frame(tables, "Markets"), "Markets")
    for c in ("elasticity", "market_size_t"):
        if c not in mk.columns:
            mk[c] = None
    mk = expand_years(mk[["market", "node", "product", "direction", "scope", "year",
                          "price_usd_per_t", "min_t", "max_t", "elasticity", "market_size_t"]],
                      ["market", "product", "direction", "scope"], years)
    for c in ("price_usd_per_t", "min_t"):
        mk[c] = mk[c].astype(float)
    for c in ("max_t", "elasticity", "market_size_t"):
        mk[c] = pd.to_numeric(mk[c], errors="coerce").astype(float)
    mk = mk.merge(products[["product", "stage", "reo_content"]], on="product", how="left")
    duty = _duties(policy, products, years)
    mk = mk.merge(duty, on=["product", "year"], how="left")
    mk["export_duty"] = mk["export_duty"].fillna(0.0)
    mk["import_duty"] = mk["import_duty"].fillna(0.0)
    mk["duty_rate"] = np.where(
        (mk["direction"] == "sell") & (mk["scope"] == "export"), mk["export_duty"],
        np.where((mk["direction"] == "buy") & (mk["scope"] == "import"), mk["import_duty"], 0.0))
    mk = mk.drop(columns=["export_duty", "import_duty"])
    mk = mk.merge(_support(policy, products), on=["product", "year"], how="left")
    mk["support"] = np.where((mk["direction"] == "sell") & (mk["scope"] == "domestic"),
                             mk["support"].fillna(0.0), 0.0)
    # price response: a sell row with an elasticity (validated < 0, with market_size_t > 0);
    # its max_t defaults to −ε·S/2 (docs/model.md §6–8)
    mk["price_response"] = (mk["direction"] == "sell") & mk["elasticity"].notna()
    mk.loc[~mk["price_response"], ["elasticity", "market_size_t"]] = np.nan
    default_max = -mk["elasticity"] * mk["market_size_t"] / 2.0
    mk["max_t"] = mk["max_t"].where(mk["max_t"].notna() | ~mk["price_response"], default_max)
    mk["d"] = mk["year"].map(discount)
    penalty = st.get("unmet_penalty_usd_per_t")
    mk["penalty"] = penalty if penalty is not None else np.nan
    mk = mk.reset_index(drop=True)
    segments = _segments(mk, int(st.get("curve_segments") or 8))

    # ---- routes, flows (pruned by product reachability), disposal
    routes = apply_defaults(_frame(tables, "Routes"), "Routes")
    routes["first_year"] = routes["first_year"].where(routes["first_year"].notna(), t0)
    routes["last_year"] = routes["last_year"].where(routes["last_year"].notna(), last)
    for c in ("distance_km", "cost_usd_per_t", "cost_usd_per_tkm"):
        routes[c] = routes[c].astype(float)
    routes["capacity_t_per_year"] = pd.to_numeric(routes["capacity_t_per_year"],
                                                  errors="coerce").astype(float)
    routes["unit_cost"] = routes["cost_usd_per_t"] + routes["cost_usd_per_tkm"] * routes[
        "distance_km"]
    flows, route_years = _flows(routes, products, recipes, act, mk, years)
    flows["d"] = flows["year"].map(discount)
    dispose = _dispose(products, recipes, act, flows, mk, years)
    dispose["d"] = dispose["year"].map(discount)

    return ModelData(
        settings=st, years=years, discount=discount, nodes=nodes, products=products,
        processes=plant["processes"], recipes=recipes, node_processes=plant["node_processes"],
        options=plant["options"], builds=plant["builds"], alive=plant["alive"], act=act,
        flows=flows.reset_index(drop=True), routes=route_years, trade=mk,
        dispose=dispose.reset_index(drop=True), deposits=plant["deposits"], policy=policy,
        opening=plant["opening"], segments=segments, tables=tables,
    )


def _frame(tables: Tables, sheet: str) -> pd.DataFrame:
    return tables.frames[sheet].drop(columns=["_bad"], errors="ignore")


def _copies(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {k: v.copy() for k, v in frames.items()}


def _plant_core(tables: Tables, years: list[int], discount: pd.Series
                ) -> dict[str, pd.DataFrame]:
    """Everything derived from :data:`CORE_SHEETS` alone (no Policy)."""
    t0, last = years[0], years[-1]
    nodes = apply_defaults(_frame(tables, "Nodes"), "Nodes")
    nodes["opening_cost_musd"] = nodes["opening_cost_musd"].astype(float)
    products = _frame(tables, "Products")
    products["stage"] = products["stage"].astype(int)
    products["reo_content"] = products["reo_content"].astype(float)
    processes = _frame(tables, "Processes")
    recipes = _frame(tables, "Recipes")[["process", "product", "direction",
                                         "qty_per_activity"]].copy()
    recipes["qty_per_activity"] = recipes["qty_per_activity"].astype(float)

    # ---- node processes (expanded by year; blank cells took defaults)
    np_ = apply_defaults(_frame(tables, "NodeProcesses"), "NodeProcesses")
    np_ = expand_years(np_[["node", "process", "year", "existing_capacity",
                            "opex_usd_per_activity", "min_load"]], ["node", "process"], years)
    for c in ("existing_capacity", "opex_usd_per_activity", "min_load"):
        np_[c] = np_[c].astype(float)

    # ---- build options and their start years
    opts = apply_defaults(_frame(tables, "BuildOptions"), "BuildOptions")
    opts["earliest_year"] = opts["earliest_year"].where(opts["earliest_year"].notna(), t0)
    for c in ("earliest_year", "lead_time_years", "lifetime_years"):
        opts[c] = opts[c].astype(int)
    for c in ("unit_capacity", "capex_musd", "fixed_om_musd_per_year", "max_units"):
        opts[c] = opts[c].astype(float)
    opts["divisible"] = opts["divisible"].astype(bool)
    opts = opts.merge(nodes[["node", "kind", "opening_cost_musd"]], on="node", how="left")
    builds = _build_starts(opts, years, last)
    builds["d"] = builds["year"].map(discount)
    alive = _alive(builds, last)
    alive["d"] = alive["year"].map(discount)
    fom = (alive.assign(pv=alive["d"] * alive["fixed_om_musd_per_year"] * USD_PER_MUSD)
           .groupby(["option", "start"], sort=False)["pv"].sum().to_dict())
    builds["pv_fom_usd"] = [fom.get((o, y), 0.0) for o, y in
                            zip(builds["option"], builds["year"], strict=True)]
    fom_years = alive.groupby(["option", "start"], sort=False)["year"].size().to_dict()
    builds["fom_usd"] = [fom_years.get((o, y), 0) * f * USD_PER_MUSD for o, y, f in
                         zip(builds["option"], builds["year"], builds["fixed_om_musd_per_year"],
                             strict=True)]

    # ---- activity index: (node, process, year) where capacity can be > 0
    act = _activity_index(np_, alive, opts, years)

    # ---- deposits and extraction tax on the deposit product's gross output
    deposits = apply_defaults(_frame(tables, "Deposits"), "Deposits")
    deposits["reserve_t"] = deposits["reserve_t"].astype(float)
    deposits["extraction_tax_usd_per_t"] = deposits["extraction_tax_usd_per_t"].astype(float)

    # extraction tax per activity: out[k, p] of the deposit's product at its node
    out = recipes[recipes["direction"] == "out"]
    tax = deposits[["node", "product", "extraction_tax_usd_per_t"]].merge(out, on="product")
    tax = (tax.assign(tax_per_act=tax["extraction_tax_usd_per_t"] * tax["qty_per_activity"])
           .groupby(["node", "process"], as_index=False)["tax_per_act"].sum()
           if len(deposits) else pd.DataFrame(columns=["node", "process", "tax_per_act"]))
    act = act.merge(tax, on=["node", "process"], how="left")
    act["tax_per_act"] = act["tax_per_act"].astype(float).fillna(0.0)
    act["d"] = act["year"].map(discount)

    opening = nodes[(nodes["opening_cost_musd"] > 0) & nodes["node"].isin(opts["node"])][
        ["node", "opening_cost_musd"]].reset_index(drop=True)
    return {"nodes": nodes, "products": products, "processes": processes, "recipes": recipes,
            "node_processes": np_, "options": opts, "builds": builds.reset_index(drop=True),
            "alive": alive, "act": act.reset_index(drop=True), "deposits": deposits,
            "opening": opening}


def _with_policy(core: dict[str, pd.DataFrame], policy: pd.DataFrame, st: dict[str, Any],
                 discount: pd.Series, last: int) -> dict[str, pd.DataFrame]:
    """The plant section: the core plus the Policy coefficients of builds and activity
    (capex relief, processing subsidies) and the expanded policy table."""
    nodes, builds, act = core["nodes"], core["builds"], core["act"]
    relief = _relief(policy, nodes)
    builds = builds.merge(relief, on=["node", "year"], how="left")
    builds["relief"] = builds["relief"].fillna(0.0)
    builds["capex_usd"] = builds["capex_musd"] * USD_PER_MUSD * (1.0 - builds["relief"])
    remaining = np.minimum(builds["lifetime_years"], np.maximum(
        0, builds["year"] + builds["lead_time_years"] + builds["lifetime_years"] - 1 - last))
    # the share of a unit's capex still undepreciated at the end (0 with salvage off)
    builds["salvage_share"] = (remaining / builds["lifetime_years"] if st.get("salvage")
                               else 0.0)
    builds["salvage_usd"] = builds["capex_usd"] * builds["salvage_share"]
    subsidy = _subsidy(policy, core["processes"])
    act = act.merge(subsidy, on=["process", "year"], how="left")
    act["subsidy"] = act["subsidy"].fillna(0.0)
    return {**core, "policy": policy, "builds": builds.reset_index(drop=True),
            "act": act.reset_index(drop=True)}


def _expand_policy(pol: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    pol = _blank_to_str(pol[["instrument", "target", "year", "value", ROW]], ["target"])
    pol["target"] = pol["target"].map(lambda t: normalise_target(t) or "")
    budget_blank = pol[(pol["instrument"] == "investment_budget_musd") & pol["year"].isna()]
    rest = pol.drop(budget_blank.index)
    exp = expand_years(rest, ["instrument", "target"], years)
    budget_blank = budget_blank.assign(year=pd.NA)
    out = pd.concat([exp, budget_blank], ignore_index=True)
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype(float)
    return out


def _product_matches(target: str, products: pd.DataFrame) -> list[str]:
    mask = product_target_mask(target, products["product"], products["stage"])
    return products.loc[mask, "product"].tolist()


def _per_target(sub: pd.DataFrame, col: str, match) -> pd.DataFrame:
    """Policy rows × the names each row's target selects: (col, year, value[, instrument]).

    ``match(target)`` lists the names a (case-folded) target selects; it runs once
    per distinct target, not once per expanded year row.
    """
    targets = pd.unique(sub["target"])
    pairs = pd.DataFrame([(t, n) for t in targets for n in match(t)],
                         columns=["target", col])
    out = sub[["instrument", "target", "year", "value"]].merge(pairs, on="target")
    out["year"] = out["year"].astype("int64")
    return out


def _duties(policy: pd.DataFrame, products: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    kinds = {"export_duty_rate": "export_duty", "import_duty_rate": "import_duty"}
    sub = policy[policy["instrument"].isin(list(kinds))]
    if not len(sub):
        return pd.DataFrame(columns=["product", "year", "export_duty", "import_duty"]).astype(
            {"year": "int64", "export_duty": float, "import_duty": float})
    df = _per_target(sub, "product", lambda t: _product_matches(t, products))
    df["kind"] = df["instrument"].map(kinds)
    wide = df.groupby(["product", "year", "kind"])["value"].max().unstack("kind")
    wide = wide.reindex(columns=["export_duty", "import_duty"]).reset_index()
    wide.columns.name = None
    return wide


def _support(policy: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Domestic demand support per (product, year), USD/t: rows matching one product in a
    year add up (docs/model.md §6–8)."""
    sub = policy[policy["instrument"] == "domestic_demand_support_usd_per_t"]
    df = (_per_target(sub, "product", lambda t: _product_matches(t, products))
          if len(sub) else sub.iloc[:0])
    if not len(df):
        return pd.DataFrame({"product": pd.Series(dtype=object),
                             "year": pd.Series(dtype="int64"),
                             "support": pd.Series(dtype=float)})
    return (df.rename(columns={"value": "support"})
            .groupby(["product", "year"], as_index=False)["support"].sum())


def _segments(mk: pd.DataFrame, k: int) -> pd.DataFrame:
    """The K segments of every price-response row (docs/model.md §6–8).

    Segment j covers Q_{j−1} … Q_j with Q_j = j·max_t/K and earns, per tonne,
    r_j = price × (1 + (Q_{j−1} + Q_j)/(ε·S)): the average of P(q) = price ×
    (1 + q/(ε·S)) over the segment, so Σ_j r_j·s_j equals q·P(q) at every
    breakpoint.  ``upper`` = max_t/K is the segment variable's bound and
    ``trade_row`` the row of ``mk`` (the trade variable) the segment belongs to.
    """
    pr = mk[mk["price_response"]]
    cols = ["market", "product", "direction", "scope", "year", "segment", "trade_row", "node",
            "d", "duty_rate", "price_usd_per_t", "r", "upper"]
    if not len(pr):
        return pd.DataFrame({c: pd.Series(dtype=object if c in (
            "market", "product", "direction", "scope", "node") else float) for c in cols}
        ).astype({"year": "int64", "segment": "int64", "trade_row": "int64"})
    rep = np.repeat(np.arange(len(pr)), k)
    seg = pr.iloc[rep].reset_index().rename(columns={"index": "trade_row"})
    j = np.tile(np.arange(1, k + 1, dtype=np.int64), len(pr))
    width = seg["max_t"].to_numpy(dtype=float) / k
    es = (seg["elasticity"] * seg["market_size_t"]).to_numpy(dtype=float)
    seg["segment"] = j
    seg["upper"] = width
    seg["r"] = seg["price_usd_per_t"].to_numpy(dtype=float) * (
        1.0 + ((j - 1) * width + j * width) / es)
    return seg[cols].reset_index(drop=True)


def _relief(policy: pd.DataFrame, nodes: pd.DataFrame) -> pd.DataFrame:
    sub = policy[policy["instrument"] == "capex_relief_rate"]
    names, lower, kinds = (nodes[c].tolist() for c in ("node", "node", "kind"))
    lower = [fold(n) for n in lower]

    def match(target: str) -> list[str]:
        return [n for n, lo, k in zip(names, lower, kinds, strict=True)
                if target == "" or lo == target or k == target]

    df = _per_target(sub, "node", match) if len(sub) else sub.iloc[:0]
    if not len(df):
        return pd.DataFrame({"node": pd.Series(dtype=object), "year": pd.Series(dtype="int64"),
                             "relief": pd.Series(dtype=float)})
    return (df.rename(columns={"value": "relief"})
            .groupby(["node", "year"], as_index=False)["relief"].max())


def _subsidy(policy: pd.DataFrame, processes: pd.DataFrame) -> pd.DataFrame:
    sub = policy[policy["instrument"] == "processing_subsidy_usd_per_activity"]
    names = processes["process"].tolist()
    df = (_per_target(sub, "process", lambda t: [k for k in names
                                                 if t == "" or fold(k) == t])
          if len(sub) else sub.iloc[:0])
    if not len(df):
        return pd.DataFrame({"process": pd.Series(dtype=object),
                             "year": pd.Series(dtype="int64"),
                             "subsidy": pd.Series(dtype=float)})
    return (df.rename(columns={"value": "subsidy"})
            .groupby(["process", "year"], as_index=False)["subsidy"].sum())


def _build_starts(opts: pd.DataFrame, years: list[int], last: int) -> pd.DataFrame:
    """Start years earliest_year … last_year − lead for each option."""
    if not len(opts):
        cols = list(opts.columns) + ["year"]
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols}).astype({"year": "int64"})
    yrs = pd.DataFrame({"year": np.asarray(years, dtype="int64")})
    b = opts.merge(yrs, how="cross")
    b = b[(b["year"] >= b["earliest_year"]) & (b["year"] <= last - b["lead_time_years"])]
    return b.sort_values(["option", "year"], kind="stable").reset_index(drop=True)


def _alive(builds: pd.DataFrame, last: int) -> pd.DataFrame:
    """(option, start, year) for every year a unit started in ``start`` operates."""
    if not len(builds):
        return pd.DataFrame({"option": pd.Series(dtype=object), "start": pd.Series(dtype="int64"),
                             "year": pd.Series(dtype="int64"), "node": pd.Series(dtype=object),
                             "process": pd.Series(dtype=object),
                             "unit_capacity": pd.Series(dtype=float),
                             "fixed_om_musd_per_year": pd.Series(dtype=float)})
    first_on = (builds["year"] + builds["lead_time_years"]).to_numpy()
    last_on = np.minimum(first_on + builds["lifetime_years"].to_numpy() - 1, last)
    n = np.maximum(last_on - first_on + 1, 0)
    rep = np.repeat(np.arange(len(builds)), n)
    offs = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    b = builds.iloc[rep]
    return pd.DataFrame({
        "option": b["option"].to_numpy(), "start": b["year"].to_numpy(),
        "year": first_on[rep] + offs, "node": b["node"].to_numpy(),
        "process": b["process"].to_numpy(), "unit_capacity": b["unit_capacity"].to_numpy(),
        "fixed_om_musd_per_year": b["fixed_om_musd_per_year"].to_numpy(),
    })


def _activity_index(np_: pd.DataFrame, alive: pd.DataFrame, opts: pd.DataFrame,
                    years: list[int]) -> pd.DataFrame:
    """Years in which (node, process) can have capacity: existing > 0 or a build alive."""
    ex = np_[np_["existing_capacity"] > 0][["node", "process", "year"]]
    bl = alive[["node", "process", "year"]].drop_duplicates()
    idx = pd.concat([ex, bl], ignore_index=True).drop_duplicates()
    idx = idx.merge(np_[["node", "process", "year", "existing_capacity", "opex_usd_per_activity",
                         "min_load"]], on=["node", "process", "year"], how="left")
    idx["existing_capacity"] = idx["existing_capacity"].astype(float).fillna(0.0)
    idx["opex_usd_per_activity"] = idx["opex_usd_per_activity"].astype(float).fillna(0.0)
    idx["min_load"] = idx["min_load"].astype(float).fillna(0.0)
    idx["year"] = idx["year"].astype("int64")
    return idx.sort_values(["node", "process", "year"], kind="stable").reset_index(drop=True)


def _reachable(start: set[tuple[str, str]], edges: dict[tuple[str, str], set[str]]
               ) -> set[tuple[str, str]]:
    """Fixpoint over (node, product) pairs along directed product edges."""
    seen = set(start)
    stack = list(start)
    while stack:
        n, p = stack.pop()
        for m in edges.get((n, p), ()):
            if (m, p) not in seen:
                seen.add((m, p))
                stack.append((m, p))
    return seen


def _flows(routes, products, recipes, act, mk, years):
    """Flow index (route × allowed product × open year), pruned to products that can be
    present at the origin and have a use at or beyond the destination."""
    allp = list(products["product"])
    rp_rows = []
    for r in routes.itertuples(index=False):
        plist = ([s.strip() for s in str(r.products).split(",") if s.strip()]
                 if r.products else allp)
        for p in plist:
            rp_rows.append((r.origin, r.destination, r.mode, p))
    rp = pd.DataFrame(rp_rows, columns=["origin", "destination", "mode", "product"])
    pairs = act[["node", "process"]].drop_duplicates().merge(recipes, on="process")
    supply = set(zip(pairs.loc[pairs["direction"] == "out", "node"],
                     pairs.loc[pairs["direction"] == "out", "product"], strict=True))
    buys = mk[mk["direction"] == "buy"]
    supply |= set(zip(buys["node"], buys["product"], strict=True))
    demand = set(zip(pairs.loc[pairs["direction"] == "in", "node"],
                     pairs.loc[pairs["direction"] == "in", "product"], strict=True))
    sells = mk[mk["direction"] == "sell"]
    demand |= set(zip(sells["node"], sells["product"], strict=True))
    fwd: dict[tuple[str, str], set[str]] = {}
    bwd: dict[tuple[str, str], set[str]] = {}
    ods = list(zip(*(rp[c].tolist() for c in ("origin", "destination", "product")),
                   strict=True))  # plain lists: iterating pandas string arrays is slow
    for o, d, p in ods:
        fwd.setdefault((o, p), set()).add(d)
        bwd.setdefault((d, p), set()).add(o)
    sup = _reachable(supply, fwd)
    disposable = set(products.loc[products["disposal_cost_usd_per_t"].notna(), "product"])
    dem = _reachable(demand | {(n, p) for (n, p) in sup if p in disposable}, bwd)
    keep = np.array([(o, p) in sup and (d, p) in dem for o, d, p in ods], dtype=bool)
    rp = rp[keep]  # a boolean array, also when there are no pairs (a list [] would select
    # columns)
    yrs = pd.DataFrame({"year": np.asarray(years, dtype="int64")})
    ry = routes.merge(yrs, how="cross")
    ry = ry[(ry["year"] >= ry["first_year"]) & (ry["year"] <= ry["last_year"])]
    route_years = ry[["origin", "destination", "mode", "year", "capacity_t_per_year",
                      "distance_km", "unit_cost"]].reset_index(drop=True)
    fl = rp.merge(route_years[["origin", "destination", "mode", "year", "unit_cost"]],
                  on=["origin", "destination", "mode"])
    fl = fl.sort_values(["origin", "destination", "mode", "product", "year"], kind="stable")
    return fl.reset_index(drop=True), route_years


def _dispose(products, recipes, act, flows, mk, years) -> pd.DataFrame:
    """(node, product, year) where a disposable product can be present."""
    disp = products[products["disposal_cost_usd_per_t"].notna()][
        ["product", "disposal_cost_usd_per_t"]]
    pairs = act[["node", "process", "year"]].merge(recipes[recipes["direction"] == "out"],
                                                   on="process")[["node", "product", "year"]]
    arr = flows[["destination", "product", "year"]].rename(columns={"destination": "node"})
    buys = mk[mk["direction"] == "buy"][["node", "product", "year"]]
    idx = pd.concat([pairs, arr, buys], ignore_index=True).drop_duplicates()
    out = idx.merge(disp, on="product")
    out["disposal_cost_usd_per_t"] = out["disposal_cost_usd_per_t"].astype(float)
    return out.sort_values(["node", "product", "year"], kind="stable")
