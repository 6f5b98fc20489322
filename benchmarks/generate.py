"""Synthetic, structurally realistic input workbooks for the performance benchmark.

The instances follow the shape of the Russian base case (docs/model.md §1, inputs/
base_case.xlsx) at any size: northern mines with an ore chemistry each (ore →
concentrate → mixed carbonate → separated oxides, with a per-chemistry element
split), Urals/Siberian plants and technoparks (cracking, separation, NdPr metal,
NdFeB magnets), ports, domestic and export markets, routes with product lists
and opening years, year rows (price ramps, a commissioning year), policy rows,
deposits with reserves and annual limits.

Two families:

- ``lp``: existing capacity only — no BuildOptions, no opening costs: a pure LP;
- ``mip``: plants, technoparks and some mines have candidate build options
  (one per node and process, so no symmetric duplicates; max_units 1–3, lead
  times 1–4 years), technoparks and some plants an opening cost, a capex relief
  and an investment budget: one integer decision per option and start year.

Everything is drawn from ``numpy.random.default_rng(seed)``: the same size,
family and seed give the same cell values. Usage::

    python benchmarks/generate.py --family lp --scale 22 -o /tmp/lp22.xlsx
    python benchmarks/generate.py --size l --family mip -o /tmp/mip_l.xlsx

Small workbooks go through :func:`optmodel.io.write.write_workbook` (the
project's writer); above ``FAST_WRITE_ROWS`` rows a plain xlsxwriter
``constant_memory`` writer is used (same cells, no styling).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # allow "python benchmarks/generate.py" from a checkout
    sys.path.insert(0, str(ROOT))

FAST_WRITE_ROWS = 5_000
MIP_GAP = 0.01  # a planner's gap: 1 % of NPV
TIME_LIMIT_S = 60  # Settings time_limit_s of every generated instance
FIRST_YEAR = 2026

# Named sizes: the scale factor multiplies every node count (see ``counts``).
# Roughly 4,700 variables per unit of scale at 15 years (lp family).
SIZES: dict[str, float] = {"xs": 0.5, "s": 2, "m": 7, "l": 22, "xl": 45}

ELEMENTS = ("La_oxide", "Ce_oxide", "NdPr_oxide", "DyTb_oxide", "SEGY_oxide")
# mean element distribution of a light-REE ore (loparite/bastnaesite-like), in REO share
ELEMENT_MEAN = np.array([0.25, 0.47, 0.18, 0.01, 0.09])
OXIDE_PRICE = {"La_oxide": 1500.0, "Ce_oxide": 1200.0, "NdPr_oxide": 55000.0,
               "DyTb_oxide": 450000.0, "SEGY_oxide": 5000.0}


@dataclass(frozen=True)
class Counts:
    """Node and item counts for one instance."""

    years: int
    chemistries: int
    mines: int
    plants: int
    technoparks: int
    ports: int
    dom_markets: int
    exp_markets: int


def counts(scale: float, years: int = 15) -> Counts:
    """Node counts for a scale factor (scale 1 ≈ a base case with 2–3 of everything)."""
    def n(k: float, lo: int = 1) -> int:
        return max(lo, int(round(k * scale)))

    return Counts(years=years, chemistries=min(8, 2 + int(scale // 4)), mines=n(2, 2),
                  plants=n(2), technoparks=n(3, 2), ports=n(1, 1) + 1, dom_markets=n(1),
                  exp_markets=4 + n(1))


# ----------------------------------------------------------------- geography


def _km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance (km), broadcasting."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dl = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


def _nearest(dist: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k smallest entries of each row."""
    k = min(k, dist.shape[1])
    return np.argsort(dist, axis=1, kind="stable")[:, :k]


# ------------------------------------------------------------------ instance


def generate(scale: float, family: str = "lp", seed: int = 0, years: int = 15
             ) -> dict[str, pd.DataFrame]:
    """Return {sheet: DataFrame} of a valid input workbook (docs/model.md §11)."""
    if family not in ("lp", "mip"):
        raise ValueError("family must be lp or mip")
    rng = np.random.default_rng(seed)
    c = counts(scale, years)
    mip = family == "mip"
    last = FIRST_YEAR + c.years - 1
    yrs = list(range(FIRST_YEAR, last + 1))
    chems = [f"ch{i + 1}" for i in range(c.chemistries)]

    # ---- products (stage, REO content, disposal)
    products: list[dict] = []
    ore_reo = dict(zip(chems, rng.uniform(0.01, 0.15, len(chems)).round(4), strict=True))
    conc_reo = dict(zip(chems, rng.uniform(0.25, 0.55, len(chems)).round(3), strict=True))
    for ch in chems:
        products += [dict(product=f"ore_{ch}", stage=0, reo_content=ore_reo[ch]),
                     dict(product=f"conc_{ch}", stage=1, reo_content=conc_reo[ch]),
                     dict(product=f"carb_{ch}", stage=2, reo_content=0.43)]
    for e in ELEMENTS:
        products.append(dict(product=e, stage=3, reo_content=1.0,
                             disposal_cost_usd_per_t=100.0 if e in ("La_oxide", "Ce_oxide",
                                                                    "SEGY_oxide") else None))
    products += [dict(product="Nb2O5", stage=3, reo_content=0.0),
                 dict(product="NdPr_metal", stage=4, reo_content=1.17),
                 dict(product="NdFeB_magnet", stage=5, reo_content=0.36)]

    # ---- processes and recipes (element splits per chemistry)
    processes: list[dict] = []
    recipes: list[dict] = []
    for ch in chems:
        processes += [dict(process=f"mine_{ch}", stage_from=0, stage_to=0, activity_unit="t ore"),
                      dict(process=f"conc_{ch}", stage_from=0, stage_to=1,
                           activity_unit="t concentrate"),
                      dict(process=f"crack_{ch}", stage_from=1, stage_to=2,
                           activity_unit="t concentrate"),
                      dict(process=f"sep_{ch}", stage_from=2, stage_to=3,
                           activity_unit="t REO feed")]
        recipes.append(dict(process=f"mine_{ch}", product=f"ore_{ch}", direction="out",
                            qty_per_activity=1.0))
        recipes += [dict(process=f"conc_{ch}", product=f"ore_{ch}", direction="in",
                         qty_per_activity=round(conc_reo[ch] / ore_reo[ch] / 0.85, 4)),
                    dict(process=f"conc_{ch}", product=f"conc_{ch}", direction="out",
                         qty_per_activity=1.0)]
        recipes += [dict(process=f"crack_{ch}", product=f"conc_{ch}", direction="in",
                         qty_per_activity=1.0),
                    dict(process=f"crack_{ch}", product=f"carb_{ch}", direction="out",
                         qty_per_activity=round(conc_reo[ch] * 0.95 / 0.43, 4)),
                    dict(process=f"crack_{ch}", product="Nb2O5", direction="out",
                         qty_per_activity=round(float(rng.uniform(0.0, 0.07)), 4))]
        split = rng.dirichlet(ELEMENT_MEAN * 60)
        recipes.append(dict(process=f"sep_{ch}", product=f"carb_{ch}", direction="in",
                            qty_per_activity=2.33))
        for e, share in zip(ELEMENTS, split, strict=True):
            recipes.append(dict(process=f"sep_{ch}", product=e, direction="out",
                                qty_per_activity=round(float(share) * 0.96, 5)))
    processes += [dict(process="ndpr_metal", stage_from=3, stage_to=4,
                       activity_unit="t NdPr oxide"),
                  dict(process="magnet_making", stage_from=4, stage_to=5,
                       activity_unit="t magnet")]
    recipes += [dict(process="ndpr_metal", product="NdPr_oxide", direction="in",
                     qty_per_activity=1.0),
                dict(process="ndpr_metal", product="NdPr_metal", direction="out",
                     qty_per_activity=0.814),
                dict(process="magnet_making", product="NdPr_metal", direction="in",
                     qty_per_activity=0.3),
                dict(process="magnet_making", product="DyTb_oxide", direction="in",
                     qty_per_activity=0.012),
                dict(process="magnet_making", product="NdFeB_magnet", direction="out",
                     qty_per_activity=1.0)]
    # a crack/conc recipe with a zero Nb output is dropped (a zero row says nothing)
    recipes = [r for r in recipes if r["qty_per_activity"] > 0]

    # ---- nodes with coordinates
    def place(n, lat, lon):
        return rng.uniform(*lat, n).round(2), rng.uniform(*lon, n).round(2)

    nodes: list[dict] = []
    geo: dict[str, tuple[np.ndarray, np.ndarray, list[str]]] = {}
    for kind, n, lat, lon, prefix, country in (
        ("mine", c.mines, (62, 74), (30, 150), "Mine", "Russia"),
        ("plant", c.plants, (54, 61), (50, 95), "Plant", "Russia"),
        ("technopark", c.technoparks, (53, 58), (60, 110), "Park", "Russia"),
        ("port", c.ports, (43, 70), (20, 135), "Port", "Russia"),
        ("market", c.dom_markets, (50, 60), (30, 90), "City", "Russia"),
        ("market", c.exp_markets, (25, 55), (-120, 140), "Abroad", "Abroad"),
    ):
        la, lo = place(n, lat, lon)
        names = [f"{prefix}{i + 1:03d}" for i in range(n)]
        geo[prefix] = (la, lo, names)
        for i, name in enumerate(names):
            nodes.append(dict(node=name, kind=kind, region=f"{prefix} region",
                              country=country, lat=float(la[i]), lon=float(lo[i])))
    if mip:
        for row in nodes:
            if row["kind"] == "technopark" or (row["kind"] == "plant" and rng.random() < 0.4):
                row["opening_cost_musd"] = round(float(rng.uniform(10, 60)), 1)

    mines, plants, parks = geo["Mine"][2], geo["Plant"][2], geo["Park"][2]
    ports, cities, abroad = geo["Port"][2], geo["City"][2], geo["Abroad"][2]
    mine_ch = [chems[i % len(chems)] for i in range(len(mines))]
    rng.shuffle(mine_ch)
    # each plant cracks and separates 1–2 chemistries; each park separates one
    plant_ch = [list(rng.choice(chems, size=min(len(chems), 1 + int(rng.random() < 0.6)),
                                replace=False)) for _ in plants]
    # a park separates a chemistry that its nearest plants make (its carbonate arrives)
    d_pk0 = _km(geo["Plant"][0][:, None], geo["Plant"][1][:, None], geo["Park"][0][None, :],
                geo["Park"][1][None, :])
    near = _nearest(d_pk0, 3)
    arriving: list[set[str]] = [set() for _ in parks]
    for i, js in enumerate(near):
        for j in js:
            arriving[j].update(plant_ch[i])
    park_extra: dict[int, int] = {}  # park → plant that ships to it although not among nearest
    park_ch = []
    for j in range(len(parks)):
        options_ = sorted(arriving[j])
        if not options_:
            i = int(np.argmin(d_pk0[:, j]))
            park_extra[j] = i
            options_ = sorted(plant_ch[i])
        park_ch.append(options_[int(rng.integers(len(options_)))])

    # ---- NodeProcesses (existing capacity) and BuildOptions (mip)
    node_proc: list[dict] = []
    options: list[dict] = []
    mine_cap = rng.uniform(40_000, 300_000, len(mines)).round(-3)

    def capacity_row(node, proc, cap, opex, year=None):
        node_proc.append(dict(node=node, process=proc, year=year, existing_capacity=cap,
                              opex_usd_per_activity=opex))

    def option(node, proc, unit, capex, lead):
        options.append(dict(option=f"{proc}@{node}", node=node, process=proc,
                            unit_capacity=unit, capex_musd=round(capex, 1),
                            fixed_om_musd_per_year=round(capex * 0.03, 2),
                            lead_time_years=lead, max_units=int(rng.integers(1, 4)),
                            lifetime_years=int(rng.integers(20, 26))))

    for i, (m, ch) in enumerate(zip(mines, mine_ch, strict=True)):
        conc_cap = round(float(mine_cap[i] * ore_reo[ch] / conc_reo[ch] * 0.85), -1)
        greenfield = mip and i > 0 and rng.random() < 0.4
        capacity_row(m, f"mine_{ch}", 0.0 if greenfield else float(mine_cap[i]),
                     round(float(rng.uniform(40, 120)), 1))
        capacity_row(m, f"conc_{ch}", 0.0 if greenfield else conc_cap,
                     round(float(rng.uniform(200, 600)), 1))
        if greenfield:
            option(m, f"mine_{ch}", float(mine_cap[i]), float(rng.uniform(50, 150)), 3)
            option(m, f"conc_{ch}", conc_cap, float(rng.uniform(30, 100)), 2)
    for ip, (p, chs) in enumerate(zip(plants, plant_ch, strict=True)):
        for ch in chs:
            crack = round(float(rng.uniform(5_000, 25_000)), -2)
            sep = round(float(rng.uniform(1_000, 6_000)), -2)
            built = not mip or ip == 0 or rng.random() < 0.3
            capacity_row(p, f"crack_{ch}", crack if built else 0.0,
                         round(float(rng.uniform(500, 900)), 1))
            capacity_row(p, f"sep_{ch}", sep if built else 0.0,
                         round(float(rng.uniform(4000, 6000)), 1))
            if built and rng.random() < 0.3:  # a committed project: capacity from year 2
                capacity_row(p, f"sep_{ch}", 0.0, round(float(rng.uniform(4000, 6000)), 1),
                             year=FIRST_YEAR)
            if mip:
                option(p, f"crack_{ch}", crack, crack * 0.004, int(rng.integers(2, 5)))
                option(p, f"sep_{ch}", sep, sep * 0.012, int(rng.integers(2, 4)))
    for k, ch in zip(parks, park_ch, strict=True):
        for proc, lo, hi, opex, cost in ((f"sep_{ch}", 1_000, 5_000, 5000, 0.015),
                                         ("ndpr_metal", 500, 2_000, 3000, 0.012),
                                         ("magnet_making", 500, 2_000, 15000, 0.05)):
            cap = round(float(rng.uniform(lo, hi)), -2)
            capacity_row(k, proc, 0.0 if mip else cap, round(opex * float(rng.uniform(0.9, 1.1)),
                                                             1))
            if mip:
                option(k, proc, cap, cap * cost, int(rng.integers(1, 4)))

    # ---- deposits
    deposits = [dict(deposit=f"Dep_{m}", node=m, product=f"ore_{ch}",
                     reserve_t=round(float(mine_cap[i] * c.years * rng.uniform(0.5, 1.5)), -3),
                     max_per_year_t=round(float(mine_cap[i] * rng.uniform(0.8, 1.2)), -3),
                     extraction_tax_usd_per_t=round(float(rng.uniform(2, 40)), 1))
                for i, (m, ch) in enumerate(zip(mines, mine_ch, strict=True))]

    # ---- routes (nearest neighbours by great-circle distance)
    routes: list[dict] = []
    seen: set[tuple[str, str, str]] = set()

    def route(o, d, mode, km, products_, per_t=0.0, per_tkm=0.022, cap=None, first=None):
        if o == d or (o, d, mode) in seen:
            return
        seen.add((o, d, mode))
        routes.append(dict(origin=o, destination=d, mode=mode, distance_km=round(float(km)),
                           cost_usd_per_t=per_t, cost_usd_per_tkm=per_tkm,
                           capacity_t_per_year=cap, products=",".join(products_),
                           first_year=first))

    def dist(a, b):
        return _km(geo[a][0][:, None], geo[a][1][:, None], geo[b][0][None, :],
                   geo[b][1][None, :]) * 1.3

    oxides = list(ELEMENTS) + ["Nb2O5"]
    d_mp, d_mq = dist("Mine", "Plant"), dist("Mine", "Port")
    at_port: list[set[str]] = [set() for _ in ports]  # products that can reach each port
    for i, m in enumerate(mines):
        ch = mine_ch[i]
        winter = rng.random() < 0.3
        mode = "winter_road" if winter else "rail"
        cap = round(float(mine_cap[i] * rng.uniform(0.5, 1.2)), -3) if winter else None
        first = FIRST_YEAR + int(rng.integers(1, 4)) if winter else None
        ok = [j for j in range(len(plants)) if ch in plant_ch[j]] or list(range(len(plants)))
        for j in sorted(ok, key=lambda j: d_mp[i, j])[:3]:
            route(m, plants[j], mode, d_mp[i, j], [f"conc_{ch}", f"ore_{ch}"], cap=cap,
                  per_tkm=0.15 if winter else 0.022, first=first)
        for j in _nearest(d_mq[i:i + 1], 1)[0]:
            route(m, ports[j], mode, d_mq[i, j], [f"conc_{ch}", f"ore_{ch}"], cap=cap,
                  per_tkm=0.15 if winter else 0.022, first=first)
            at_port[j].update((f"conc_{ch}", f"ore_{ch}"))
    # every chemistry a plant treats has a mine that ships to it
    for j, p in enumerate(plants):
        for ch in plant_ch[j]:
            if not any(r["destination"] == p and f"conc_{ch}" in r["products"] for r in routes):
                i = min((i for i in range(len(mines)) if mine_ch[i] == ch),
                        key=lambda i: d_mp[i, j], default=None)
                if i is not None:
                    route(mines[i], p, "rail", d_mp[i, j], [f"conc_{ch}", f"ore_{ch}"])
    d_pk, d_pq = dist("Plant", "Park"), dist("Plant", "Port")
    for i, p in enumerate(plants):
        carbs = [f"carb_{ch}" for ch in plant_ch[i]]
        for j in near[i]:
            route(p, parks[j], "rail", d_pk[i, j], carbs + oxides)
        for j in _nearest(d_pq[i:i + 1], 2)[0]:
            route(p, ports[j], "rail", d_pq[i, j], carbs + oxides)
            at_port[j].update(carbs + oxides)
    for j, i in park_extra.items():
        route(plants[i], parks[j], "rail", d_pk[i, j], [f"carb_{ch}" for ch in plant_ch[i]]
              + oxides)
    d_kk, d_kq, d_kc = dist("Park", "Park"), dist("Park", "Port"), dist("Park", "City")
    ready = oxides + ["NdPr_metal", "NdFeB_magnet"]
    for i, k in enumerate(parks):
        for j in _nearest(d_kk[i:i + 1], 3)[0]:
            route(k, parks[j], "rail", d_kk[i, j], [f"carb_{park_ch[j]}"] + ready)
        for j in _nearest(d_kq[i:i + 1], 2)[0]:
            route(k, ports[j], "rail", d_kq[i, j], ready)
            at_port[j].update(ready)
        for j in _nearest(d_kc[i:i + 1], 2)[0]:
            route(k, cities[j], "rail", d_kc[i, j], ready)
    for j, city in enumerate(cities):  # every city is served by its nearest park at least
        i = int(np.argmin(d_kc[:, j]))
        route(parks[i], city, "rail", d_kc[i, j], ready)
    d_qa = dist("Port", "Abroad")
    tradeable = ([f"conc_{ch}" for ch in chems] + [f"carb_{ch}" for ch in chems] + ready)
    at_abroad: list[set[str]] = [set() for _ in abroad]
    for i, q in enumerate(ports):
        carried = [p for p in tradeable if p in at_port[i]]
        if not carried:
            continue
        for j in _nearest(d_qa[i:i + 1], 4)[0]:
            route(q, abroad[j], "sea", d_qa[i, j] / 1.3 * 1.6, carried, per_t=20.0,
                  per_tkm=0.025, cap=round(float(rng.uniform(50_000, 200_000)), -3))
            at_abroad[j].update(carried)

    # ---- markets: domestic sells (with a price ramp), imports, exports
    markets: list[dict] = []
    dom_products = ready
    for city in cities:
        for prod in dom_products:
            base = OXIDE_PRICE.get(prod, {"Nb2O5": 29000.0, "NdPr_metal": 70000.0,
                                          "NdFeB_magnet": 85000.0}.get(prod))
            price = round(base * 1.1 * float(rng.uniform(0.9, 1.1)), -1)
            cap = round(float(rng.uniform(50, 2000)), -1)
            markets.append(dict(market=f"Dom_{city}", node=city, product=prod,
                                direction="sell", scope="domestic", price_usd_per_t=price,
                                max_t=cap))
            if prod == "NdPr_oxide":  # a demand ramp over the first years
                for t in range(3):
                    markets.append(dict(market=f"Dom_{city}", node=city, product=prod,
                                        direction="sell", scope="domestic", year=FIRST_YEAR + t,
                                        price_usd_per_t=price,
                                        max_t=round(cap * (0.4 + 0.2 * t), -1)))
        for prod in ("NdPr_oxide", "DyTb_oxide"):
            markets.append(dict(market=f"Imp_{city}", node=city, product=prod, direction="buy",
                                scope="import", price_usd_per_t=round(
                                    OXIDE_PRICE[prod] * 1.15, -1),
                                max_t=round(float(rng.uniform(100, 1000)), -1)))
    for ia, a in enumerate(abroad):
        for prod in tradeable:
            if prod not in at_abroad[ia]:
                continue
            if prod.startswith("conc_"):
                ch = prod[5:]
                base = conc_reo[ch] * 5000.0
            elif prod.startswith("carb_"):
                base = 0.43 * 5500.0
            else:
                base = OXIDE_PRICE.get(prod, {"Nb2O5": 26000.0, "NdPr_metal": 65000.0,
                                              "NdFeB_magnet": 80000.0}.get(prod))
            if rng.random() < 0.15:  # not every buyer takes every product
                continue
            markets.append(dict(market=f"Exp_{a}", node=a, product=prod, direction="sell",
                                scope="export",
                                price_usd_per_t=round(base * float(rng.uniform(0.85, 1.05)), -1),
                                max_t=None if rng.random() < 0.3 else round(
                                    float(rng.uniform(200, 20000)), -1)))

    # ---- policy
    policy = [dict(instrument="export_duty_rate", target="stage<=1", value=0.1),
              dict(instrument="export_duty_rate", target="stage<=2", value=0.05),
              dict(instrument="export_duty_rate", target="stage<=2", year=FIRST_YEAR, value=0.0),
              dict(instrument="import_duty_rate", target=None, value=0.05),
              dict(instrument="export_quota_t", target="stage<=1", value=None),
              dict(instrument="processing_subsidy_usd_per_activity", target="ndpr_metal",
                   value=500.0),
              dict(instrument="min_domestic_processing_share", target="3", value=0.2)]
    if mip:
        policy += [dict(instrument="capex_relief_rate", target="technopark", value=0.1),
                   dict(instrument="investment_budget_musd", target=None,
                        value=round(sum(o["capex_musd"] for o in options) * 0.5, -1))]

    settings = [dict(key="first_year", value=FIRST_YEAR), dict(key="last_year", value=last),
                dict(key="discount_rate", value=0.1), dict(key="salvage", value="on"),
                dict(key="threads", value=1),
                dict(key="mip_gap", value=MIP_GAP if mip else 0.0001),
                dict(key="time_limit_s", value=TIME_LIMIT_S)]
    sources = [dict(source="synthetic", reference="benchmarks/generate.py "
                    f"(family {family}, scale {scale}, seed {seed})", year=2026)]
    sheets = {
        "Settings": settings, "Nodes": nodes, "Products": products, "Processes": processes,
        "Recipes": recipes, "NodeProcesses": node_proc, "BuildOptions": options,
        "Deposits": deposits, "Routes": routes, "Markets": markets, "Policy": policy,
        "Sources": sources,
    }
    del yrs
    return {k: _frame(v) for k, v in sheets.items()}


def _frame(rows: list[dict]) -> pd.DataFrame:
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    return pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols, dtype=object)


# ------------------------------------------------------------------- writing


def _cell(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def write(sheets: dict[str, pd.DataFrame], path: Path) -> Path:
    """Write the workbook: the project's writer when small, constant_memory when large."""
    path = Path(path)
    rows = sum(len(df) for df in sheets.values())
    if rows <= FAST_WRITE_ROWS:
        from optmodel.io.write import SheetSpec, write_workbook

        write_workbook(path, [SheetSpec(k, v) for k, v in sheets.items()])
        return path
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_urls": False, "strings_to_numbers": False})
    for name, df in sheets.items():
        ws = wb.add_worksheet(name)
        ws.write_row(0, 0, list(df.columns))
        for i, row in enumerate(df.itertuples(index=False), start=1):
            for j, v in enumerate(row):
                v = _cell(v)
                if v is None:
                    continue
                if isinstance(v, str):
                    ws.write_string(i, j, v)
                else:
                    ws.write_number(i, j, v)
    wb.close()
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", choices=("lp", "mip"), default="lp")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--size", choices=sorted(SIZES), help="named size")
    g.add_argument("--scale", type=float, help="scale factor (1 ≈ base-case sized)")
    ap.add_argument("--years", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", type=Path, required=True)
    a = ap.parse_args(argv)
    scale = a.scale if a.scale is not None else SIZES[a.size or "s"]
    write(generate(scale, a.family, a.seed, a.years), a.output)
    print(a.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
