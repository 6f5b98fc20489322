"""build_model(data): the MILP of docs/model.md §3–5 as tables (the model's structure).

Pure: no files, no Excel, no solver, no Pyomo components.  Reads like a table of
contents — sets are the index tables of :class:`~optmodel.model.data.ModelData`;
then variables, each constraint family (one function each, math in the
docstring); the objective coefficients come from :mod:`optmodel.model.objective`
(USD, reported in MUSD, for numerical accuracy).  Exporters read these tables: to HiGHS
(:mod:`optmodel.solver.highs`) and to Pyomo (:mod:`optmodel.model.pyomo_export`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from optmodel.input.targets import product_target_mask
from optmodel.model.data import USD_PER_MUSD, ModelData
from optmodel.model.linear import ConFamily, VarFamily, con_family, terms_for, var_family

# the default of build_model(strengthen=...): False gives the plain formulation
# (docs/model.md §3–5)
STRENGTHEN = True


@dataclass
class BuiltModel:
    """The model's structure: variable and constraint families as tables.

    ``model`` and ``npv_expr`` are set only on the copy the Pyomo exporter makes
    (:func:`optmodel.model.pyomo_export.export`); ``build_model`` leaves them None.
    """

    model: object | None
    data: ModelData
    vars: dict[str, VarFamily]
    cons: dict[str, ConFamily] = field(default_factory=dict)
    npv_expr: object = None  # Pyomo LinearExpression of the NPV in USD (exported copies)
    strengthen: bool = True  # add the valid inequalities of STRENGTHENING_FAMILIES

    def add(self, fam: ConFamily | None) -> None:
        if fam is not None:
            self.cons[fam.name] = fam


def build_model(data: ModelData, core_families: dict[str, ConFamily] | None = None,
                strengthen: bool | None = None,
                all_families: dict[str, ConFamily] | None = None) -> BuiltModel:
    """Assemble the structure in a fixed order: variables, then constraint families.

    The objective is :func:`objective_coefficients`.  ``core_families`` holds the
    families of :data:`CORE_FAMILIES` made for data whose plant core has the same
    content (a batch run's shared copy, :mod:`optmodel.batch.cache`): those found
    there are used as they are, the others are made and added to it.
    ``all_families`` does the same for every constraint family, for data that differ
    from those it was made for at most in market prices (which enter the objective
    only: no constraint family reads them).
    ``strengthen`` adds the valid inequalities of :data:`STRENGTHENING_FAMILIES` (same
    optimum, tighter LP relaxation); None takes :data:`STRENGTHEN` (True).
    """
    bm = BuiltModel(None, data, _add_variables(data),
                    strengthen=STRENGTHEN if strengthen is None else bool(strengthen))
    for family in FAMILIES:
        name = family.__name__
        if all_families is not None and name in all_families:
            bm.add(all_families[name])
            continue
        if core_families is not None and family in CORE_FAMILIES:
            if name not in core_families:
                core_families[name] = family(bm)
            made = core_families[name]
        else:
            made = family(bm)
        if all_families is not None:
            all_families[name] = made
        bm.add(made)
    return bm


def without_strengthening(bm: BuiltModel) -> BuiltModel:
    """``bm`` without the rows of :data:`STRENGTHENING_FAMILIES` (a shallow copy; the
    same variables).  An infeasibility diagnosis relaxes limits one by one, and a
    valid inequality derived from a relaxed limit would still enforce it."""
    if not any(name in bm.cons for name in STRENGTHENING_FAMILIES):
        return bm
    return replace(bm, cons={k: v for k, v in bm.cons.items()
                             if k not in STRENGTHENING_FAMILIES})


# ------------------------------------------------------------------ variables


def _with_vid(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reset_index(drop=True).copy()
    df["vid"] = np.arange(len(df), dtype=np.int64)
    return df


def _domains(labels: list[str]) -> np.ndarray:
    """Domain labels (:data:`optmodel.model.linear.DOMAINS`) as a 1-D object array."""
    return np.array(labels, dtype=object)


def _add_variables(d: ModelData) -> dict[str, VarFamily]:
    v: dict[str, VarFamily] = {}
    v["act"] = var_family("act", _with_vid(d.act), ["node", "process", "year"])
    b = _with_vid(d.builds)
    dom = _domains(["nonnegative_real" if div else ("binary" if mu == 1 else
                                                     "nonnegative_integer")
                    for div, mu in zip(b["divisible"], b["max_units"], strict=True)])
    v["build"] = var_family("build", b, ["option", "year"],
                            upper=b["max_units"].to_numpy(dtype=float), domains=dom)
    o = _with_vid(d.opening)
    v["open"] = var_family("open", o, ["node"], upper=np.ones(len(o)),
                           domains=_domains(["binary"] * len(o)))
    v["flow"] = var_family("flow", _with_vid(d.flows),
                           ["origin", "destination", "mode", "product", "year"])
    tr = _with_vid(d.trade)
    v["trade"] = var_family("trade", tr, ["market", "product", "direction", "scope", "year"])
    un = tr[(tr["direction"] == "sell") & (tr["min_t"] > 0) & tr["penalty"].notna()]
    un = _with_vid(un.rename(columns={"vid": "trade_vid"}))
    v["unmet"] = var_family("unmet", un, ["market", "product", "direction", "scope", "year"],
                            upper=un["min_t"].to_numpy(dtype=float))
    v["dispose"] = var_family("dispose", _with_vid(d.dispose), ["node", "product", "year"])
    # segments of price-response sell rows (docs/model.md §6–8): 0 ≤ s_j ≤ max_t/K
    sg = _with_vid(d.segments)
    v["seg"] = var_family("seg", sg, [*_MKEYS, "segment"],
                          upper=sg["upper"].to_numpy(dtype=float))
    return v


# ----------------------------------------------------------- constraint families


def product_balance(bm: BuiltModel) -> ConFamily | None:
    """product_balance[n,p,t]: Σ_k in[k,p]·act + outflows + sales + dispose
    − Σ_k out[k,p]·act − inflows − purchases = 0 over every (n,p,t) with a term.

    Written as use − supply so that its dual is the NPV gain of one more tonne."""
    v, d = bm.vars, bm.data
    act = v["act"].index.merge(d.recipes, on="process")
    act_t = terms_for(v["act"], act[["node", "product", "year", "vid"]],
                      np.where(act["direction"] == "in", 1.0, -1.0) * act["qty_per_activity"])
    fl = v["flow"].index
    out_t = terms_for(v["flow"], fl.rename(columns={"origin": "node"})[
        ["node", "product", "year", "vid"]], 1.0)
    in_t = terms_for(v["flow"], fl.rename(columns={"destination": "node"})[
        ["node", "product", "year", "vid"]], -1.0)
    tr = v["trade"].index
    tr_t = terms_for(v["trade"], tr[["node", "product", "year", "vid"]],
                     np.where(tr["direction"] == "sell", 1.0, -1.0))
    dp_t = terms_for(v["dispose"], v["dispose"].index[["node", "product", "year", "vid"]], 1.0)
    terms = pd.concat([act_t, out_t, in_t, tr_t, dp_t], ignore_index=True)
    return con_family("product_balance", terms, ["node", "product", "year"],
                      v, lower=0.0, upper=0.0)


def _capacity_terms(bm: BuiltModel, scale: pd.Series | None = None) -> pd.DataFrame:
    """−unit_capacity × units alive (times ``scale`` per (node, process, year))."""
    v = bm.vars
    alive = bm.data.alive.merge(v["build"].index[["option", "year", "vid"]].rename(
        columns={"year": "start"}), on=["option", "start"])
    coef = -alive["unit_capacity"].to_numpy(dtype=float)
    if scale is not None:
        alive = alive.merge(scale, on=["node", "process", "year"])
        coef = -(alive["unit_capacity"] * alive["min_load"]).to_numpy(dtype=float)
    return terms_for(v["build"], alive[["node", "process", "year", "vid"]], coef)


def process_capacity(bm: BuiltModel) -> ConFamily | None:
    """process_capacity[n,k,t]: act − Σ_o cap_o · units alive ≤ existing[n,k,t]."""
    a = bm.vars["act"].index
    terms = pd.concat([terms_for(bm.vars["act"], a[["node", "process", "year", "vid"]], 1.0),
                       _capacity_terms(bm)], ignore_index=True)
    bounds = a[["node", "process", "year"]].assign(upper=a["existing_capacity"].to_numpy())
    return con_family("process_capacity", terms, ["node", "process", "year"],
                      bm.vars, bounds=bounds)


def process_min_load(bm: BuiltModel) -> ConFamily | None:
    """process_min_load[n,k,t]: act − min_load·Σ_o cap_o·alive ≥ min_load·existing
    (only where min_load > 0)."""
    a = bm.vars["act"].index
    a = a[a["min_load"] > 0]
    if not len(a):
        return None
    scale = a[["node", "process", "year", "min_load"]]
    terms = pd.concat([terms_for(bm.vars["act"], a[["node", "process", "year", "vid"]], 1.0),
                       _capacity_terms(bm, scale)], ignore_index=True)
    bounds = a[["node", "process", "year"]].assign(
        lower=(a["min_load"] * a["existing_capacity"]).to_numpy())
    return con_family("process_min_load", terms, ["node", "process", "year"],
                      bm.vars, bounds=bounds)


def process_capacity_cut(bm: BuiltModel) -> ConFamily | None:
    """process_capacity_cut[n,k,t,o]: a valid strengthening of process_capacity
    (docs/model.md §3–5 is unchanged: it cuts off fractional builds, never an integer plan).

    For a whole-unit option o at (n,k) with unit capacity c, let u = Σ_τ build[o,τ] over
    the start years alive in t (an integer), E = existing[n,k,t], Q = Σ_{o'≠o} cap_o'·
    units alive of the other options, and U the bound on act[n,k,t] of
    :func:`optmodel.model.bounds.activity_bounds` (what capacity, deposits, inputs that
    can arrive and outputs that can leave allow).  With R = U − E > 0,
    q = ⌊R/c⌋ and r = R − q·c, the row is

        act − Q − r·u ≤ E + q·(c − r)          (added where 0 < r < c and q < max_units)

    Proof (mixed-integer rounding).  Let s = act − E − Q.  process_capacity gives
    s ≤ c·u; act ≤ U and Q ≥ 0 give s ≤ R.  If u ≤ q: r·u + q·(c − r) − s ≥
    r·u + q·(c − r) − c·u = (q − u)·(c − r) ≥ 0.  If u ≥ q + 1: r·u + q·(c − r) ≥
    r·(q + 1) + q·(c − r) = q·c + r = R ≥ s.  So every plan with integer u meets it;
    only fractional u can violate it.  For q = 0 it reads act ≤ E + Q + (U − E)·u: the
    unit's capacity replaced by the activity that can really happen (one unit already
    covers it).  With q ≥ max_units the row is implied by process_capacity, so it is left
    out.  Only in the model when built with ``strengthen=True`` (the default)."""
    if not bm.strengthen:
        return None
    from optmodel.model.bounds import activity_bounds

    d = bm.data
    b = bm.vars["build"].index
    alive = d.alive[["option", "start", "year", "node", "process", "unit_capacity"]].merge(
        b[["option", "year", "vid", "divisible", "max_units"]].rename(
            columns={"year": "start"}), on=["option", "start"])
    whole = alive[~alive["divisible"].astype(bool)][
        ["option", "node", "process", "year", "unit_capacity", "max_units"]].drop_duplicates(
        ["option", "year"])
    if not len(whole):  # no whole-unit option: nothing to round, no bounds to compute
        return None
    a = bm.vars["act"].index[["node", "process", "year", "vid", "existing_capacity"]].copy()
    a["U"] = activity_bounds(d)
    cand = whole.merge(a[["node", "process", "year", "vid", "existing_capacity", "U"]],
                       on=["node", "process", "year"])
    c = cand["unit_capacity"].to_numpy(dtype=float)
    rr = cand["U"].to_numpy(dtype=float) - cand["existing_capacity"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.floor(rr / c)
        r = rr - q * c
    keep = (np.isfinite(rr) & (rr > 0) & (c > 0) & (r > 1e-6 * c) & (c - r > 1e-6 * c)
            & (q < cand["max_units"].to_numpy(dtype=float)))
    cand = cand[keep].assign(q=q[keep], r=r[keep])
    if not len(cand):
        return None
    keys = ["node", "process", "year", "option"]
    t_act = terms_for(bm.vars["act"], cand[keys + ["vid"]], 1.0)
    cap = alive[["node", "process", "year", "option", "vid", "unit_capacity"]].rename(
        columns={"option": "unit_option"}).merge(
        cand[keys + ["r"]], on=["node", "process", "year"])
    coef = np.where(cap["unit_option"] == cap["option"], -cap["r"], -cap["unit_capacity"])
    t_cap = terms_for(bm.vars["build"], cap[keys + ["vid"]], coef)
    bounds = cand[keys].assign(upper=(cand["existing_capacity"] + cand["q"] * (
        cand["unit_capacity"] - cand["r"])).to_numpy(dtype=float))
    return con_family("process_capacity_cut", pd.concat([t_act, t_cap], ignore_index=True),
                      keys, bm.vars, bounds=bounds)


def build_limit(bm: BuiltModel) -> ConFamily | None:
    """build_limit[o]: Σ_τ build[o,τ] ≤ max_units, and ≤ max_units·open[n] at nodes with an
    opening cost (a valid strengthening of node_open_link: one open fraction covers every
    start year in the LP relaxation).  Options with one start year at an ungated node are
    bounded by the variable's upper bound instead."""
    b = bm.vars["build"].index
    o = bm.vars["open"].index[["node", "vid"]].rename(columns={"vid": "open_vid"})
    b = b.merge(o, on="node", how="left")
    counts = b.groupby("option")["vid"].transform("size")
    b = b[(counts > 1) | b["open_vid"].notna()]
    first = b.drop_duplicates("option")
    gated = first[first["open_vid"].notna()]
    t_open = terms_for(bm.vars["open"], gated[["option"]].assign(
        vid=gated["open_vid"].astype("int64")), -gated["max_units"].to_numpy(dtype=float))
    ungated = first[first["open_vid"].isna()]
    bounds = pd.concat([ungated[["option"]].assign(upper=ungated["max_units"].to_numpy()),
                        gated[["option"]].assign(upper=0.0)], ignore_index=True)
    terms = pd.concat([terms_for(bm.vars["build"], b[["option", "vid"]], 1.0), t_open],
                      ignore_index=True)
    return con_family("build_limit", terms, ["option"], bm.vars, bounds=bounds)


def node_open_link(bm: BuiltModel) -> ConFamily | None:
    """node_open_link[o,τ]: build[o,τ] − max_units·open[n] ≤ 0 for nodes with an opening cost."""
    b = bm.vars["build"].index
    o = bm.vars["open"].index
    b = b.merge(o[["node", "vid"]].rename(columns={"vid": "open_vid"}), on="node")
    if not len(b):
        return None
    t1 = terms_for(bm.vars["build"], b[["option", "year", "vid"]], 1.0)
    t2 = terms_for(bm.vars["open"], b[["option", "year", "open_vid"]].rename(
        columns={"open_vid": "vid"}), -b["max_units"].to_numpy(dtype=float))
    return con_family("node_open_link", pd.concat([t1, t2], ignore_index=True),
                      ["option", "year"], bm.vars, upper=0.0)


def _deposit_output_terms(bm: BuiltModel) -> pd.DataFrame:
    """Gross output of each deposit's product by all processes at its node, per year."""
    d = bm.data
    out = d.recipes[d.recipes["direction"] == "out"]
    dep = d.deposits[["deposit", "node", "product"]].merge(out, on="product")
    a = bm.vars["act"].index[["node", "process", "year", "vid"]].merge(
        dep, on=["node", "process"])
    return terms_for(bm.vars["act"], a[["deposit", "year", "vid"]], a["qty_per_activity"])


def deposit_reserve(bm: BuiltModel) -> ConFamily | None:
    """deposit_reserve[d]: Σ_t Σ_k out[k,p]·act[n,k,t] ≤ reserve_t."""
    t = _deposit_output_terms(bm)
    bounds = bm.data.deposits[["deposit", "reserve_t"]].rename(columns={"reserve_t": "upper"})
    return con_family("deposit_reserve", t[["deposit", "fam", "vid", "coef"]],
                      ["deposit"], bm.vars, bounds=bounds)


def deposit_annual(bm: BuiltModel) -> ConFamily | None:
    """deposit_annual[d,t]: Σ_k out[k,p]·act[n,k,t] ≤ max_per_year_t (where given)."""
    dep = bm.data.deposits
    lim = dep[dep["max_per_year_t"].notna()][["deposit", "max_per_year_t"]]
    t = _deposit_output_terms(bm)
    t = t[t["deposit"].isin(lim["deposit"])]
    bounds = t[["deposit", "year"]].drop_duplicates().merge(lim, on="deposit").rename(
        columns={"max_per_year_t": "upper"})
    return con_family("deposit_annual", t, ["deposit", "year"], bm.vars,
                      bounds=bounds)


def route_capacity(bm: BuiltModel) -> ConFamily | None:
    """route_capacity[r,t]: Σ_p flow[r,p,t] ≤ capacity_t_per_year (where given)."""
    keys = ["origin", "destination", "mode", "year"]
    r = bm.data.routes
    lim = r[r["capacity_t_per_year"].notna()][keys + ["capacity_t_per_year"]].rename(
        columns={"capacity_t_per_year": "upper"})
    f = bm.vars["flow"].index.merge(lim[keys], on=keys)
    return con_family("route_capacity", terms_for(bm.vars["flow"],
                      f[keys + ["vid"]], 1.0), keys, bm.vars, bounds=lim)


_MKEYS = ["market", "product", "direction", "scope", "year"]


def market_max(bm: BuiltModel) -> ConFamily | None:
    """market_max[m,t]: trade[m,t] ≤ max_t (where given; not on a price-response row, whose
    segment bounds do its work)."""
    tr = bm.vars["trade"].index
    tr = tr[tr["max_t"].notna() & ~tr["price_response"].astype(bool)]
    return con_family("market_max", terms_for(bm.vars["trade"],
                      tr[_MKEYS + ["vid"]], 1.0), _MKEYS, bm.vars,
                      bounds=tr[_MKEYS].assign(upper=tr["max_t"].to_numpy()))


def market_min(bm: BuiltModel) -> ConFamily | None:
    """market_min[m,t]: trade + unmet ≥ min_t (sell rows; unmet only with a penalty);
    trade ≥ min_t (buy rows); only where min_t > 0."""
    tr = bm.vars["trade"].index
    tr = tr[tr["min_t"] > 0]
    un = bm.vars["unmet"].index
    terms = pd.concat([terms_for(bm.vars["trade"], tr[_MKEYS + ["vid"]], 1.0),
                       terms_for(bm.vars["unmet"], un[_MKEYS + ["vid"]], 1.0)],
                      ignore_index=True)
    return con_family("market_min", terms, _MKEYS, bm.vars,
                      bounds=tr[_MKEYS].assign(lower=tr["min_t"].to_numpy()))


def price_response_link(bm: BuiltModel) -> ConFamily | None:
    """price_response_link[m,t]: trade[m,t] − Σ_j s_j[m,t] = 0 on every price-response row
    (docs/model.md §6–8), so that ``trade`` is the row's tonnes for every other family."""
    sg = bm.vars["seg"].index
    if not len(sg):
        return None
    tr = bm.vars["trade"].index
    tr = tr[tr["price_response"].astype(bool)]
    terms = pd.concat([terms_for(bm.vars["trade"], tr[_MKEYS + ["vid"]], 1.0),
                       terms_for(bm.vars["seg"], sg[_MKEYS + ["vid"]], -1.0)],
                      ignore_index=True)
    return con_family("price_response_link", terms, _MKEYS, bm.vars, lower=0.0, upper=0.0)


def _policy_rows(bm: BuiltModel, instrument: str) -> pd.DataFrame:
    p = bm.data.policy
    return p[(p["instrument"] == instrument) & p["value"].notna()]


def export_quota(bm: BuiltModel) -> ConFamily | None:
    """export_quota[target,t]: Σ tonnes on export sell rows of matching products ≤ value."""
    rows = _policy_rows(bm, "export_quota_t")
    if not len(rows):
        return None
    tr = bm.vars["trade"].index
    ex = tr[(tr["direction"] == "sell") & (tr["scope"] == "export")]
    parts = []
    for target, year in zip(rows["target"], rows["year"], strict=True):
        sel = ex[ex["year"] == year]
        sel = sel[product_target_mask(target, sel["product"], sel["stage"])]
        parts.append(terms_for(bm.vars["trade"], sel[["vid"]].assign(target=target,
                                                                      year=int(year)), 1.0))
    bounds = rows[["target", "year"]].assign(year=rows["year"].astype("int64"),
                                             upper=rows["value"].to_numpy())
    return con_family("export_quota", pd.concat(parts, ignore_index=True),
                      ["target", "year"], bm.vars, bounds=bounds)


def min_domestic_processing(bm: BuiltModel) -> ConFamily | None:
    """min_domestic_processing[N,t]: Σ REO on export sell rows with stage < N
    − (1 − share)·Σ REO on all sell rows ≤ 0."""
    rows = _policy_rows(bm, "min_domestic_processing_share")
    if not len(rows):
        return None
    tr = bm.vars["trade"].index
    sell = tr.loc[tr["direction"] == "sell", ["vid", "year", "scope", "stage", "reo_content"]]
    # one term per (policy row, sell row of its year), in sell-row order within each row
    pol = rows[["target", "year", "value"]].assign(year=rows["year"].astype("int64"))
    t = pol.merge(sell, on="year")
    low = ((t["scope"] == "export").to_numpy()
           & (t["stage"].to_numpy() < t["target"].astype(int).to_numpy())).astype(float)
    coef = t["reo_content"].to_numpy(dtype=float) * (low - (1.0 - t["value"].to_numpy(float)))
    terms = terms_for(bm.vars["trade"], t[["vid", "target", "year"]], coef)
    return con_family("min_domestic_processing", terms, ["target", "year"],
                      bm.vars, upper=0.0)


def investment_budget(bm: BuiltModel) -> ConFamily | None:
    """investment_budget[year]: Σ capex after relief of builds started in the year ≤ value;
    a blank year ("all") caps the whole horizon."""
    rows = _policy_rows(bm, "investment_budget_musd")
    if not len(rows):
        return None
    b = bm.vars["build"].index
    parts, bounds = [], []
    for year, value in zip(rows["year"], rows["value"], strict=True):
        key = "all" if pd.isna(year) else str(int(year))
        sel = b if key == "all" else b[b["year"] == int(year)]
        parts.append(terms_for(bm.vars["build"], sel[["vid"]].assign(period=key),
                               sel["capex_usd"].to_numpy(dtype=float)))
        bounds.append((key, float(value) * USD_PER_MUSD))
    return con_family("investment_budget", pd.concat(parts, ignore_index=True),
                      ["period"], bm.vars,
                      bounds=pd.DataFrame(bounds, columns=["period", "upper"]))


# constraint families in model order (the order of rows handed to the solver)
FAMILIES = (product_balance, process_capacity, process_min_load, build_limit, node_open_link,
            deposit_reserve, deposit_annual, route_capacity, market_max, market_min,
            export_quota, min_domestic_processing, investment_budget, price_response_link,
            process_capacity_cut)
# families that only strengthen the formulation (valid inequalities, no new limit): they
# are left out of the shadow-price LP, the Binding sheet and the infeasibility diagnosis
STRENGTHENING_FAMILIES = ("process_capacity_cut",)
# the families over act, build and open made from the core of the plant section alone
# (optmodel.model.data.CORE_SHEETS; investment_budget reads Policy and relieved capex)
CORE_FAMILIES = (process_capacity, process_min_load, build_limit, node_open_link,
                 deposit_reserve, deposit_annual)
