"""Upper bounds on activity derived from the data, for a tighter formulation.

:func:`activity_bounds` gives, for every (node, process, year) of the activity
index, a number ``U`` that no plan of the LP relaxation — hence no plan at all —
can exceed.  :func:`optmodel.model.build.process_capacity_cut` turns it into
rows that cut off fractional builds (see there for the rows and their proof).

How ``U`` is found (every step only uses constraints of the model, so every
bound holds for every feasible plan, integer or not):

1. **Capacity**: ``act ≤ existing + Σ_o cap_o · max_units_o`` over the build
   options at the node and process with a start year alive in the year
   (process_capacity with build_limit: the units of one option alive in a year
   are at most its ``max_units``).
2. **Deposits**: a process making a deposit's product at the deposit's node
   makes ``out[k,p]·act ≤ max_per_year_t`` (deposit_annual) and ``≤ reserve_t``
   (deposit_reserve: the reserve caps each year's output too).
3. **Inputs**: a process using product p at node n (and not making p) uses
   ``in[k,p]·act`` ≤ what can be present at n: its local production
   ``Σ_k' out[k',p]·U[n,k']`` plus purchases (buy rows' ``max_t``) plus the net
   inflow.  By product_balance at every other node, the flows of p in a year form a
   network flow whose excess at a node n' is at most that node's production plus
   purchases; so the net inflow into n is at most the **maximum flow** from
   those sources to n over the routes that may carry p in that year, each at
   most its capacity (route_capacity; routes without a capacity are unbounded).
   Capacity shared with other products is counted in full for each product — an
   over-estimate, hence still a bound.
4. **Outputs**: a process making product p at node n (and not using p), where p
   cannot be disposed of at n, makes ``out[k,p]·act`` ≤ what can leave or be
   used at n: local use ``Σ_k' in[k',p]·U[n,k']``, sales (sell rows' ``max_t``)
   and the maximum flow from n to the other nodes' uses, sales and disposal.

On large networks (more than ``_EXACT_NODES`` nodes or ``_EXACT_EDGES`` routes for a
product in a year, or after ``_EXACT_CALLS`` maximum flows) the maximum flow is
replaced by the smaller of two cuts: all the other nodes' production and purchases
(uses and sales), and the routes into (out of) the node — still bounds, only weaker.

Steps 3 and 4 use the bounds of other processes, so they are repeated until no
bound falls any more (each round starts from valid bounds and gives valid
bounds).  Finally every finite bound is raised by a relative 1e-11 (and 1e-9 t) so
that rounding in the sums can never make it too small.  (No more: where a plan
reaches the bound, a larger margin would let one unit minus the margin count as a
whole unit within the solver's integrality tolerance, and pay less capex.)
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pandas as pd

from optmodel.model.data import ModelData

INF = float("inf")
_BIG = 1e18  # stands for "no limit" inside the maximum-flow arithmetic
_ROUNDS = 6
# maximum flows are solved exactly on networks of at most this many nodes and routes, and
# at most this many per model; beyond, the cheapest cuts (all other sources or sinks; the
# routes into or out of the node): still bounds, only weaker
_EXACT_NODES = 80
_EXACT_EDGES = 400
_EXACT_CALLS = 2000
_RESULTS: dict[tuple, np.ndarray] = {}  # the last few results by their inputs (this process)


def max_flow(edges: list[tuple[int, int, float]], source_caps: dict[int, float],
             sink_caps: dict[int, float], n: int) -> float:
    """Maximum flow from a super source (edge to node i of capacity ``source_caps[i]``) to a
    super sink (edge from node i of capacity ``sink_caps[i]``) over ``edges`` (i, j, cap)
    among ``n`` nodes; capacities may be ``inf``.  Edmonds–Karp on the small graphs here.
    Returns ``inf`` when an unlimited path exists."""
    s, t = n, n + 1
    cap: dict[tuple[int, int], float] = {}
    adj: list[set[int]] = [set() for _ in range(n + 2)]

    def add(i: int, j: int, c: float) -> None:
        if c <= 0:
            return
        c = min(c, _BIG)
        cap[(i, j)] = cap.get((i, j), 0.0) + c
        cap.setdefault((j, i), 0.0)
        adj[i].add(j)
        adj[j].add(i)

    for i, c in source_caps.items():
        add(s, i, c)
    for i, c in sink_caps.items():
        add(i, t, c)
    for i, j, c in edges:
        add(i, j, c)
    total = 0.0
    while True:
        prev = {s: s}
        queue = deque([s])
        while queue and t not in prev:
            i = queue.popleft()
            for j in adj[i]:
                if j not in prev and cap[(i, j)] > 1e-12:
                    prev[j] = i
                    queue.append(j)
        if t not in prev:
            return total if total < _BIG / 10 else INF
        push = _BIG
        j = t
        while j != s:
            push = min(push, cap[(prev[j], j)])
            j = prev[j]
        if push >= _BIG / 10:
            return INF
        j = t
        while j != s:
            i = prev[j]
            cap[(i, j)] -= push
            cap[(j, i)] += push
            j = i
        total += push


def _capacity_bound(d: ModelData) -> np.ndarray:
    """Step 1: existing capacity plus every option's max_units alive in the year."""
    a = d.act
    al = d.alive[["option", "node", "process", "year", "unit_capacity"]].drop_duplicates(
        ["option", "year"])
    al = al.merge(d.options[["option", "max_units"]], on="option")
    add = (al.assign(c=al["unit_capacity"] * al["max_units"])
           .groupby(["node", "process", "year"])["c"].sum())
    key = pd.MultiIndex.from_frame(a[["node", "process", "year"]])
    return a["existing_capacity"].to_numpy(dtype=float) + add.reindex(key).fillna(0.0).to_numpy()


def _deposit_bound(d: ModelData, u: np.ndarray) -> np.ndarray:
    """Step 2: deposit_annual and deposit_reserve per process making a deposit's product."""
    dep = d.deposits
    if not len(dep):
        return u
    out = d.recipes[(d.recipes["direction"] == "out") & (d.recipes["qty_per_activity"] > 0)]
    lim = dep[["node", "product", "reserve_t", "max_per_year_t"]].merge(out, on="product")
    lim["cap"] = np.fmin(lim["reserve_t"].astype(float),
                         pd.to_numeric(lim["max_per_year_t"], errors="coerce").astype(float)
                         ) / lim["qty_per_activity"]
    lim = lim.groupby(["node", "process"])["cap"].min()
    key = pd.MultiIndex.from_frame(d.act[["node", "process"]])
    return np.fmin(u, lim.reindex(key).to_numpy(dtype=float))


def activity_bounds(d: ModelData) -> np.ndarray:
    """``U`` per row of ``d.act`` (``inf`` where no bound is found); see the module text."""
    a = d.act
    if not len(a):
        return np.zeros(0)
    u = _deposit_bound(d, _capacity_bound(d))
    rec = d.recipes[d.recipes["qty_per_activity"] > 0]
    ins: dict[str, dict[str, float]] = {}
    outs: dict[str, dict[str, float]] = {}
    for k, p, direction, q in rec[["process", "product", "direction",
                                   "qty_per_activity"]].itertuples(index=False):
        (ins if direction == "in" else outs).setdefault(k, {})[p] = float(q)
    names = sorted(set(d.nodes["node"]) | set(a["node"]) | set(d.trade["node"])
                   | set(d.flows["origin"]) | set(d.flows["destination"]))
    pos = {n: i for i, n in enumerate(names)}
    rows_by_year: dict[int, list[int]] = {}
    for i, t in enumerate(a["year"].tolist()):
        rows_by_year.setdefault(int(t), []).append(i)
    nodes, procs = a["node"].tolist(), a["process"].tolist()
    # per year: the edges of each product (route capacity where given), purchases and sales
    def cols(df, names_):
        return zip(*(df[c].tolist() for c in names_), strict=True)

    rcap = {(o, dd, m, int(t)): (float(c) if c == c else INF) for o, dd, m, t, c in
            cols(d.routes, ["origin", "destination", "mode", "year", "capacity_t_per_year"])}
    edges: dict[tuple[str, int], list[tuple[int, int, float]]] = {}
    for o, dd, m, p, t in cols(d.flows, ["origin", "destination", "mode", "product", "year"]):
        edges.setdefault((p, int(t)), []).append(
            (pos[o], pos[dd], rcap.get((o, dd, m, int(t)), INF)))
    buy: dict[tuple[str, str, int], float] = {}
    sell: dict[tuple[str, str, int], float] = {}
    for n, p, direction, t, mx in cols(d.trade, ["node", "product", "direction", "year",
                                                 "max_t"]):
        box = buy if direction == "buy" else sell
        key = (n, p, int(t))
        box[key] = box.get(key, 0.0) + (float(mx) if mx == mx else INF)
    disposable = {(n, p, int(t)) for n, p, t in cols(d.dispose, ["node", "product", "year"])}
    graphs = {k: tuple(v) for k, v in edges.items()}
    # the same inputs give the same bounds: a batch of price runs computes them once
    key = (tuple(names), tuple(nodes), tuple(procs), tuple(a["year"].tolist()),
           tuple(u.tolist()), tuple(sorted(graphs.items())), tuple(sorted(buy.items())),
           tuple(sorted(sell.items())), tuple(sorted(disposable)),
           tuple(sorted((k, tuple(sorted(v.items()))) for k, v in ins.items())),
           tuple(sorted((k, tuple(sorted(v.items()))) for k, v in outs.items())))
    if key in _RESULTS:
        return _RESULTS[key].copy()
    memo: dict[tuple, float] = {}

    distinct: dict[tuple, int] = {}  # years with the same routes share their maximum flows
    graph_id = {k: distinct.setdefault(g, len(distinct)) for k, g in graphs.items()}

    def flow(p: str, t: int, src: dict[int, float], snk: dict[int, float]) -> float:
        k = (graph_id.get((p, t), -1), tuple(sorted(src.items())), tuple(sorted(snk.items())))
        if k not in memo:
            memo[k] = max_flow(list(graphs.get((p, t), ())), src, snk, len(names))
        return memo[k]

    # routes into and out of each node per (product, year): the cheap cuts
    into: dict[tuple[str, int], dict[int, float]] = {}
    outof: dict[tuple[str, int], dict[int, float]] = {}
    for key_, graph in graphs.items():
        ii, oo = into.setdefault(key_, {}), outof.setdefault(key_, {})
        for i, j, c in graph:
            ii[j] = ii.get(j, 0.0) + c
            oo[i] = oo.get(i, 0.0) + c
    exact_ok = len(names) <= _EXACT_NODES

    def others(total: tuple[float, int], mine: float) -> float:
        """The sum over every node but one: (finite sum, count of unlimited) minus it."""
        finite, unlimited = total
        if unlimited - (mine == INF) > 0:
            return INF
        return max(0.0, finite - (0.0 if mine == INF else mine))

    def totals(values: dict[str, float]) -> tuple[float, int]:
        vals = list(values.values())
        return (sum(v for v in vals if v != INF), sum(v == INF for v in vals))

    # purchases, sales and disposal of each year, in the order above (the sums below add
    # them in that order)
    buy_in: dict[int, list[tuple[str, str, float]]] = {}
    sell_in: dict[int, list[tuple[str, str, float]]] = {}
    for box, by_year in ((buy, buy_in), (sell, sell_in)):
        for (n, p, tt), v in box.items():
            by_year.setdefault(tt, []).append((n, p, v))
    disposable_in: dict[int, list[tuple[str, str]]] = {}
    for (n, p, tt) in disposable:
        disposable_in.setdefault(tt, []).append((n, p))

    # A year's new bounds depend only on that year's bounds.  Where those are the ones the
    # previous round started from, this round would work out what that round did (the same
    # maximum flows, found in the memo while it is not full) and keep the year's bounds as
    # they are: the year is skipped.
    year_rows = {t: np.asarray(rows) for t, rows in rows_by_year.items()}
    before: np.ndarray | None = None  # the bounds the previous round started from
    for _ in range(_ROUNDS):
        new = u.copy()
        for t, rows in rows_by_year.items():
            if (before is not None and len(memo) < _EXACT_CALLS
                    and np.array_equal(u[year_rows[t]], before[year_rows[t]])):
                continue
            make: dict[tuple[str, str], float] = {}  # (node, product) → most made there
            use: dict[tuple[str, str], float] = {}
            for i in rows:
                k, n = procs[i], nodes[i]
                for p, q in outs.get(k, {}).items():
                    make[(n, p)] = make.get((n, p), 0.0) + q * u[i]
                for p, q in ins.get(k, {}).items():
                    use[(n, p)] = use.get((n, p), 0.0) + q * u[i]
            supply: dict[str, dict[str, float]] = {}  # product → node → made + bought
            demand: dict[str, dict[str, float]] = {}  # product → node → used + sold (+inf)
            for (n, p), v in make.items():
                supply.setdefault(p, {})[n] = v
            for n, p, v in buy_in.get(t, ()):
                box = supply.setdefault(p, {})
                box[n] = box.get(n, 0.0) + v
            for (n, p), v in use.items():
                demand.setdefault(p, {})[n] = v
            for n, p, v in sell_in.get(t, ()):
                box = demand.setdefault(p, {})
                box[n] = box.get(n, 0.0) + v
            for n, p in disposable_in.get(t, ()):
                demand.setdefault(p, {})[n] = INF
            for i in rows:
                k, n = procs[i], nodes[i]
                kin, kout = ins.get(k, {}), outs.get(k, {})
                for p, q in kin.items():
                    if p in kout:
                        continue
                    sp = supply.get(p, {})
                    here = sp.get(n, 0.0)
                    graph = graphs.get((p, t), ())
                    if exact_ok and len(graph) <= _EXACT_EDGES and len(memo) < _EXACT_CALLS:
                        src = {pos[m]: c for m, c in sp.items() if m != n and c > 0}
                        inflow = flow(p, t, src, {pos[n]: INF})
                    else:
                        inflow = min(others(totals(sp), here),
                                     into.get((p, t), {}).get(pos[n], 0.0))
                    new[i] = min(new[i], (here + inflow) / q)
                for p, q in kout.items():
                    if p in kin or (n, p, t) in disposable:
                        continue
                    dp = demand.get(p, {})
                    here = dp.get(n, 0.0)
                    graph = graphs.get((p, t), ())
                    if exact_ok and len(graph) <= _EXACT_EDGES and len(memo) < _EXACT_CALLS:
                        snk = {pos[m]: c for m, c in dp.items() if m != n and c > 0}
                        outflow = flow(p, t, {pos[n]: INF}, snk)
                    else:
                        outflow = min(others(totals(dp), here),
                                      outof.get((p, t), {}).get(pos[n], 0.0))
                    new[i] = min(new[i], (here + outflow) / q)
        done = np.isclose(new, u, rtol=1e-9, atol=1e-9) | (np.isinf(new) & np.isinf(u))
        before, u = u, new
        if np.all(done):
            break
    out = np.where(np.isfinite(u), u * (1 + 1e-11) + 1e-9, INF)
    if len(_RESULTS) >= 8:
        _RESULTS.pop(next(iter(_RESULTS)))
    _RESULTS[key] = out.copy()
    return out
