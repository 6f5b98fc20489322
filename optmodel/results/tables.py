"""Result tables (docs/model.md §12) from a solved model, and the results workbook.

Tables are tidy, keyed like the inputs, and built with vectorised pandas from
the solution arrays; Summary money lines are sums of these detail rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optmodel import schema as S
from optmodel.io.write import SheetSpec, write_workbook
from optmodel.model.build import STRENGTHENING_FAMILIES, BuiltModel
from optmodel.model.data import USD_PER_MUSD
from optmodel.model.objective import fiscal_net, objective_terms
from optmodel.solver.options import SolveOutcome

TOL = 1e-9
# the results workbook's sheets and number formats, from the one declaration
RESULT_SHEETS = tuple(S.OUTPUT_SHEETS)
NUMBER_FORMATS: dict[str, str] = {}
for _sheet in S.OUTPUT_SHEETS.values():
    for _col in _sheet.columns:
        if _col.number_format:
            NUMBER_FORMATS.setdefault(_col.name, _col.number_format)


def _clean(x: np.ndarray) -> np.ndarray:
    """Zero out solver noise so that identical solves print identical tables."""
    x = np.where(np.abs(x) < TOL, 0.0, x)
    return np.round(x, 9) + 0.0


def extract_tables(bm: BuiltModel, sol: SolveOutcome) -> dict[str, pd.DataFrame]:
    """Every detail sheet of §4 (Summary and Run are made by :func:`summary_table`)."""
    d, v = bm.data, bm.vars
    val = {k: _clean(x) for k, x in sol.values.items()}
    out: dict[str, pd.DataFrame] = {}

    # Builds
    b = v["build"].index.assign(units=val["build"])
    b = b[b["units"] > TOL]
    alive_years = (np.minimum(b["year"] + b["lead_time_years"] + b["lifetime_years"] - 1,
                              d.last_year) - (b["year"] + b["lead_time_years"]) + 1).clip(lower=0)
    out["Builds"] = pd.DataFrame({
        "option": b["option"], "node": b["node"], "process": b["process"], "year": b["year"],
        "units": b["units"], "capacity_added": b["units"] * b["unit_capacity"],
        "online_year": b["year"] + b["lead_time_years"],
        "capex_musd": b["units"] * b["capex_usd"] / USD_PER_MUSD,
        "fixed_om_musd": b["units"] * b["fixed_om_musd_per_year"] * alive_years,
    }).reset_index(drop=True)

    # Activity with capacity in place
    a = v["act"].index.assign(activity=val["act"])
    alive = d.alive.merge(v["build"].index[["option", "year", "vid"]].rename(
        columns={"year": "start"}), on=["option", "start"])
    alive["cap"] = alive["unit_capacity"] * val["build"][alive["vid"].to_numpy()]
    built = alive.groupby(["node", "process", "year"], as_index=False)["cap"].sum()
    a = a.merge(built, on=["node", "process", "year"], how="left")
    a["capacity"] = a["existing_capacity"] + a["cap"].fillna(0.0)
    a = a[(a["activity"] > TOL) | (a["capacity"] > TOL)]
    out["Activity"] = pd.DataFrame({
        "node": a["node"], "process": a["process"], "year": a["year"],
        "activity": a["activity"], "capacity": a["capacity"],
        "utilisation": np.where(a["capacity"] > TOL, a["activity"] / a["capacity"].where(
            a["capacity"] > TOL, 1.0), np.nan),
        "opex_musd": a["activity"] * a["opex_usd_per_activity"] / USD_PER_MUSD,
        "subsidy_musd": a["activity"] * a["subsidy"] / USD_PER_MUSD,
    }).reset_index(drop=True)

    # Flows
    f = v["flow"].index.assign(tonnes=val["flow"])
    f = f[f["tonnes"] > TOL]
    out["Flows"] = pd.DataFrame({
        "origin": f["origin"], "destination": f["destination"], "mode": f["mode"],
        "product": f["product"], "year": f["year"], "tonnes": f["tonnes"],
        "cost_musd": f["tonnes"] * f["unit_cost"] / USD_PER_MUSD,
    }).reset_index(drop=True)

    # Trade (with unmet); a price-response row's revenue is R̃ = Σ_j r_j·s_j (docs/model.md §6–8)
    t = v["trade"].index.assign(tonnes=val["trade"], unmet_t=0.0)
    un = v["unmet"].index
    if len(un):
        t.loc[un["trade_vid"].to_numpy(), "unmet_t"] = val["unmet"]
    price = t["price_usd_per_t"].to_numpy(dtype=float)
    pr = t["price_response"].astype(bool).to_numpy()
    revenue = t["tonnes"].to_numpy(dtype=float) * price
    sg = v["seg"].index
    if len(sg):
        seg_rev = np.bincount(sg["trade_row"].to_numpy(dtype=np.int64),
                              weights=sg["r"].to_numpy(dtype=float) * val["seg"],
                              minlength=len(t))
        revenue = np.where(pr, seg_rev, revenue)
    es = (t["elasticity"] * t["market_size_t"]).to_numpy(dtype=float)
    market_price = np.where(pr, price * (1.0 + t["tonnes"].to_numpy(dtype=float)
                                         / np.where(pr, es, 1.0)), price)
    t = t.assign(value_usd=revenue, market_price=market_price)
    t = t[(t["tonnes"] > TOL) | (t["unmet_t"] > TOL)]
    realised = np.where(t["tonnes"] > TOL, t["value_usd"] / t["tonnes"].where(
        t["tonnes"] > TOL, 1.0), np.nan)
    out["Trade"] = pd.DataFrame({
        "market": t["market"], "node": t["node"], "product": t["product"],
        "direction": t["direction"], "scope": t["scope"], "year": t["year"],
        "tonnes": t["tonnes"], "price_usd_per_t": t["price_usd_per_t"],
        "realised_price_usd_per_t": _clean(realised),
        "market_price_usd_per_t": _clean(t["market_price"].to_numpy(dtype=float)),
        "value_musd": t["value_usd"] / USD_PER_MUSD,
        "duty_musd": t["value_usd"] * t["duty_rate"] / USD_PER_MUSD,
        "support_musd": t["tonnes"] * t["support"] / USD_PER_MUSD,
        "unmet_t": t["unmet_t"],
    }).reset_index(drop=True)

    # Disposal
    dp = v["dispose"].index.assign(tonnes=val["dispose"])
    dp = dp[dp["tonnes"] > TOL]
    out["Disposal"] = pd.DataFrame({
        "node": dp["node"], "product": dp["product"], "year": dp["year"], "tonnes": dp["tonnes"],
        "cost_musd": dp["tonnes"] * dp["disposal_cost_usd_per_t"] / USD_PER_MUSD,
    }).reset_index(drop=True)

    out["Extraction"] = _extraction(bm, val)
    out["Depth"] = _depth(bm, out["Trade"])
    out["Prices"] = _prices(bm, sol)
    out["Binding"] = _binding(bm, sol, val)
    return out


def _extraction(bm: BuiltModel, val) -> pd.DataFrame:
    d, v = bm.data, bm.vars
    out = d.recipes[d.recipes["direction"] == "out"]
    dep = d.deposits[["deposit", "node", "product", "reserve_t",
                      "extraction_tax_usd_per_t"]].merge(out, on="product")
    a = v["act"].index[["node", "process", "year", "vid"]].merge(dep, on=["node", "process"])
    a["tonnes"] = a["qty_per_activity"] * val["act"][a["vid"].to_numpy()]
    g = a.groupby(["deposit", "node", "product", "year"], as_index=False).agg(
        tonnes=("tonnes", "sum"), reserve_t=("reserve_t", "first"),
        tax=("extraction_tax_usd_per_t", "first"))
    g = g.sort_values(["deposit", "year"], kind="stable")
    g["reserve_left_t"] = g["reserve_t"] - g.groupby("deposit")["tonnes"].cumsum()
    g = g[g["tonnes"] > TOL]
    return pd.DataFrame({
        "deposit": g["deposit"], "node": g["node"], "product": g["product"], "year": g["year"],
        "tonnes": g["tonnes"], "tax_musd": g["tonnes"] * g["tax"] / USD_PER_MUSD,
        "reserve_left_t": _clean(g["reserve_left_t"].to_numpy(dtype=float)),
    }).reset_index(drop=True)


def _depth(bm: BuiltModel, trade: pd.DataFrame) -> pd.DataFrame:
    s = trade[trade["direction"] == "sell"].merge(
        bm.data.products[["product", "stage", "reo_content"]], on="product")
    s = s.assign(reo=s["tonnes"] * s["reo_content"])
    s["dom"] = np.where(s["scope"] == "domestic", s["reo"], 0.0)
    s["exp"] = np.where(s["scope"] == "export", s["reo"], 0.0)
    g = s.groupby(["year", "stage"], as_index=False)[["dom", "exp"]].sum()
    return g.rename(columns={"dom": "reo_t_sold_domestic", "exp": "reo_t_exported"})


def _prices(bm: BuiltModel, sol: SolveOutcome) -> pd.DataFrame:
    fam = bm.cons.get("product_balance")
    if fam is None or "product_balance" not in sol.duals:
        return pd.DataFrame(columns=["node", "product", "year", "shadow_price_usd_per_t"])
    idx = fam.index.copy()
    dt = idx["year"].map(bm.data.discount).to_numpy(dtype=float)
    idx["shadow_price_usd_per_t"] = _clean(sol.duals["product_balance"] / dt)
    return idx.reset_index(drop=True)


# what one more unit of a constraint's right-hand side is, for the Binding sheet's dual_unit
DUAL_PER = {
    "process_capacity": "activity unit of capacity", "process_min_load": "activity unit",
    "build_limit": "unit of the option", "node_open_link": "unit built",
    "deposit_reserve": "t of reserve", "deposit_annual": "t per year",
    "route_capacity": "t of route capacity", "market_max": "t", "market_min": "t",
    "export_quota": "t of quota", "min_domestic_processing": "t REO",
    "investment_budget": "USD of budget",
}


def dual_unit(name: str, yearly: bool) -> str:
    """The unit of a Binding dual: USD of NPV (of that year when the constraint has a
    year, present value otherwise) per unit of the right-hand side."""
    money = "USD of that year" if yearly else "USD (present value)"
    return f"{money} per {DUAL_PER.get(name, 'unit of the constraint')}"


def _binding(bm: BuiltModel, sol: SolveOutcome, val) -> pd.DataFrame:
    rows = []
    units: dict[str, str] = {}
    for name, fam in bm.cons.items():
        units[name] = dual_unit(name, "year" in fam.keys)
        t = fam.terms
        x = np.zeros(len(t))
        for f in t["fam"].unique():
            mask = (t["fam"] == f).to_numpy()
            x[mask] = val[f][t["vid"].to_numpy()[mask]]
        body = np.bincount(t["con"].to_numpy(), weights=t["coef"].to_numpy() * x,
                           minlength=len(fam))
        slack_hi = np.where(np.isnan(fam.upper), np.inf, fam.upper - body)
        slack_lo = np.where(np.isnan(fam.lower), np.inf, body - fam.lower)
        slack = np.minimum(slack_hi, slack_lo)
        rhs = np.where(slack_hi <= slack_lo, fam.upper, fam.lower)
        tight = slack <= 1e-6 * np.maximum(1.0, np.abs(np.nan_to_num(rhs)))
        if name == "product_balance" or name in STRENGTHENING_FAMILIES:
            continue  # reported as Prices; valid inequalities are no limits
        if not tight.any():
            continue
        duals = sol.duals.get(name)
        if "year" in fam.keys:
            dt = fam.index["year"].map(bm.data.discount).to_numpy(dtype=float)
        else:
            dt = np.ones(len(fam))
        rows_tight = np.flatnonzero(tight)
        # "|"-joined keys of the binding rows only (str() of each key, as astype(str))
        keys = [fam.index[k].to_numpy(dtype=object)[rows_tight].tolist() for k in fam.keys]
        idx_str = ["|".join(map(str, key)) for key in zip(*keys, strict=True)]
        for n_i, i in enumerate(rows_tight.tolist()):
            dual = float(duals[i] / dt[i]) if duals is not None else np.nan
            rows.append((name, idx_str[n_i], float(max(slack[i], 0.0)), dual))
    df = pd.DataFrame(rows, columns=["constraint", "index", "slack", "dual"])
    df["slack"] = _clean(df["slack"].to_numpy(dtype=float))
    df["dual"] = _clean(df["dual"].to_numpy(dtype=float))
    df["dual_unit"] = df["constraint"].map(units)
    return df


# -------------------------------------------------------------------- summary


def summary_table(bm: BuiltModel, sol: SolveOutcome, tables: dict[str, pd.DataFrame]
                  ) -> pd.DataFrame:
    """Summary sheet: KPIs, undiscounted money lines, the state's view and pv_* terms.

    Every money line comes from the objective's own term functions
    (:mod:`optmodel.model.objective`) applied to the plan: ``<term>_musd`` = Σ amount·x
    and ``pv_<term>_musd`` = sign × Σ pv·x, so the pv lines add up to ``npv_musd``.
    """
    x = {k: _clean(np.asarray(v, dtype=float)) for k, v in sol.values.items()}
    for name, fam in bm.vars.items():
        x.setdefault(name, np.zeros(len(fam)))
    terms = objective_terms(bm)
    relief, fiscal, pv_fiscal = fiscal_net(bm, x)
    npv = sol.objective_usd / USD_PER_MUSD
    sell = tables["Trade"][tables["Trade"]["direction"] == "sell"]
    kpis = kpi_values(bm, tables)
    rows: list[tuple[str, Any, str]] = [
        ("npv_musd", npv, "MUSD (discounted to first_year)"),
        ("objective_bound_musd", sol.bound_usd / USD_PER_MUSD, "MUSD"),
        ("mip_gap", sol.gap, "fraction"),
        ("status", sol.status, ""),
    ]
    rows += [(f"{t.name}_musd", t.value(x) / USD_PER_MUSD, "MUSD (undiscounted sum over years)")
             for t in terms]
    rows += [
        ("processing_depth_index", kpis["processing_depth_index"], "stage (REO-weighted)"),
        ("raw_export_share", kpis["raw_export_share"], "fraction"),
        ("domestic_value_added_musd", kpis["domestic_value_added_musd"], "MUSD (undiscounted)"),
        ("unmet_demand_t", float(sell["unmet_t"].sum()), "t"),
        ("relief_given_musd", relief / USD_PER_MUSD, "MUSD (undiscounted)"),
        ("fiscal_net_musd", fiscal / USD_PER_MUSD, "MUSD (undiscounted; + = the budget gains)"),
        ("pv_fiscal_net_musd", pv_fiscal / USD_PER_MUSD,
         "MUSD (discounted; + = the budget gains)"),
        ("national_npv_musd", npv + pv_fiscal / USD_PER_MUSD,
         "MUSD (discounted; npv_musd + pv_fiscal_net_musd)"),
    ]
    rows += [(f"pv_{t.name}_musd", t.sign * t.value(x, discounted=True) / USD_PER_MUSD,
              "MUSD (discounted; costs negative)") for t in terms]
    df = pd.DataFrame(rows, columns=["metric", "value", "unit"])
    df["value"] = [(_round(x) if isinstance(x, float) else x) for x in df["value"]]
    return df


def _round(x: float) -> float | None:
    if x != x:
        return None
    return float(np.round(x, 9)) + 0.0


def kpi_values(bm: BuiltModel, tables: dict[str, pd.DataFrame]) -> dict[str, float | None]:
    """Derived results of docs/model.md §3–5 (undiscounted, whole horizon)."""
    d = bm.data
    tr = tables["Trade"].merge(d.products[["product", "stage", "reo_content"]], on="product")
    sell = tr[tr["direction"] == "sell"]
    reo = sell["tonnes"] * sell["reo_content"]
    depth = float((reo * sell["stage"]).sum() / reo.sum()) if reo.sum() > TOL else None
    raw_exp = float(reo[(sell["scope"] == "export") & (sell["stage"] <= 2)].sum())
    ex = tables["Extraction"].merge(d.products[["product", "reo_content"]], on="product")
    mined = float((ex["tonnes"] * ex["reo_content"]).sum())
    raw_share = raw_exp / mined if mined > TOL else None
    # every sale (domestic and export) minus every purchase (docs/model.md §3–5)
    sign = np.where(tr["direction"] == "sell", 1.0, -1.0)
    dva = float((sign * tr["value_musd"]).sum())
    return {"processing_depth_index": depth, "raw_export_share": raw_share,
            "domestic_value_added_musd": dva}


# --------------------------------------------------------------------- writing


def with_meanings(summary: pd.DataFrame) -> pd.DataFrame:
    """The Summary with its fourth column ``meaning`` (one sentence per line, from
    :func:`optmodel.schema.summary_meaning`)."""
    from optmodel.schema import summary_meaning

    out = summary.drop(columns=["meaning"], errors="ignore")
    return out.assign(meaning=[summary_meaning(str(m)) for m in out["metric"]])


def _specs(tables: dict[str, pd.DataFrame]) -> list[SheetSpec]:
    specs = []
    for name in RESULT_SHEETS:
        if name not in tables:
            continue
        df = tables[name]
        if name == "Summary":
            specs.append(summary_spec(df))
            continue
        specs.append(SheetSpec(name, df, number_formats={
            k: f for k, f in NUMBER_FORMATS.items() if k in df.columns},
            widths={"value": 22} if name in ("Summary", "Run") else {},
            wrap_columns=("message",) if name == "Warnings" else ()))
    return specs


def summary_spec(summary: pd.DataFrame) -> SheetSpec:
    """The Summary as written: with ``meaning``, printed on one page."""
    return SheetSpec("Summary", with_meanings(summary), number_formats={"value": "#,##0.######"},
                     widths={"metric": 28, "value": 16, "unit": 34, "meaning": 80},
                     wrap_columns=("meaning",), one_page=True)


def write_results(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Write the results workbook atomically, sheets in contract order."""
    write_workbook(path, _specs(tables), title="optmodel results")
