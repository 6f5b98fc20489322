"""Plotly figures from result tables (never from the Pyomo model).

Every builder takes the ``{sheet: DataFrame}`` returned by
:func:`optmodel.io.results_read.read_results` and returns one
:class:`plotly.graph_objects.Figure`. A chart with nothing to show returns a
figure carrying a one-line note, so that the compare report keeps its
charts aligned side by side.

No chart uses a remote base layer: plotly's ``scattergeo`` fetches its
world topojson from ``https://cdn.plot.ly/un/`` (the ``topojsonURL`` config
default in plotly.js 3), so the map draws nodes and flow lines on plain
longitude/latitude axes instead.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from optmodel.io.results_read import summary_values
from optmodel.model.objective import PV_TERM_LINES
from optmodel.report.colours import colour_for, stage_colour, stage_label, with_alpha

log = logging.getLogger(__name__)

Tables = dict[str, pd.DataFrame]

FONT = dict(family="Arial, Helvetica, sans-serif", size=12)
HEIGHT = 560
KIND_SYMBOLS = {
    "mine": "triangle-up",
    "plant": "square",
    "technopark": "diamond",
    "port": "circle",
    "hub": "cross",
    "market": "star",
}
# Objective terms whose present value raises NPV; all others are costs.
POSITIVE_TERMS = ("revenue", "subsidies", "support", "salvage")
TERM_ORDER = (
    "revenue",
    "purchases",
    "opex",
    "fixed_om",
    "transport",
    "extraction_tax",
    "disposal",
    "unmet_penalty",
    "export_duties",
    "import_duties",
    "subsidies",
    "support",
    "capex",
    "opening_cost",
    "salvage",
)


# --------------------------------------------------------------------------- helpers


def _table(tables: Tables, sheet: str) -> pd.DataFrame:
    frame = tables.get(sheet)
    return frame if frame is not None else pd.DataFrame()


def product_stage(tables: Tables) -> dict[str, int]:
    """``{product: stage}`` from the results' Products sheet."""
    prods = _table(tables, "Products")
    out: dict[str, int] = {}
    if prods.empty or "stage" not in prods:
        return out
    for p, s in zip(prods["product"], prods["stage"], strict=True):
        if p is not None and not pd.isna(s):
            out[str(p)] = int(s)
    return out


def product_reo(tables: Tables) -> dict[str, float]:
    """``{product: t REO per t}`` from the results' Products sheet."""
    prods = _table(tables, "Products")
    out: dict[str, float] = {}
    if prods.empty or "reo_content" not in prods:
        return out
    for p, r in zip(prods["product"], prods["reo_content"], strict=True):
        if p is not None and not pd.isna(r):
            out[str(p)] = float(r)
    return out


def _with_reo(frame: pd.DataFrame, tables: Tables) -> tuple[pd.DataFrame, str]:
    """Add ``reo_t`` (tonnes × REO content) and ``stage`` columns.

    Returns the frame and the unit of ``reo_t``: ``"t REO"``, or ``"t"`` when
    the results carry no Products sheet (then ``reo_t`` is plain tonnes).
    """
    frame = frame.copy()
    reo = product_reo(tables)
    stages = product_stage(tables)
    frame["stage"] = frame["product"].map(stages) if len(frame) else pd.Series(dtype=float)
    if not reo:
        frame["reo_t"] = frame["tonnes"].fillna(0.0)
        return frame, "t"
    unknown = sorted({str(p) for p in frame["product"].dropna() if p not in reo})
    if unknown:
        log.warning("products without reo_content are left out of REO totals: %s", unknown)
    frame["reo_t"] = frame["tonnes"].fillna(0.0) * frame["product"].map(reo).fillna(0.0)
    return frame, "t REO"


def _year_span(tables: Tables) -> str:
    years: list[int] = []
    for sheet in ("Trade", "Flows", "Activity", "Depth"):
        frame = _table(tables, sheet)
        if not frame.empty and "year" in frame:
            years += [int(y) for y in frame["year"].dropna()]
    if not years:
        return "whole horizon"
    lo, hi = min(years), max(years)
    return f"{lo}" if lo == hi else f"{lo}–{hi}"


def _base_layout(fig: go.Figure, title: str, height: int = HEIGHT) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0.01, xanchor="left", font=dict(size=15)),
        template="plotly_white",
        font=FONT,
        height=height,
        margin=dict(l=70, r=30, t=80, b=60),
        legend=dict(font=dict(size=11)),
    )
    return fig


def note_figure(title: str, message: str, height: int = 260) -> go.Figure:
    """An empty chart saying why there is nothing to draw."""
    fig = go.Figure()
    fig.add_annotation(
        text=message,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font=dict(size=14, color="#555"),
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _base_layout(fig, title, height)


def _stage_key(stages: list[int | None]) -> str:
    """Coloured legend text for product stages (sankey and map have no stage legend)."""
    parts = [
        f"<span style='color:{stage_colour(s)}'>■</span> {stage_label(s)}"
        for s in sorted(set(stages), key=lambda s: -1 if s is None else s)
    ]
    return "link colour: " + "  ".join(parts)


# --------------------------------------------------------------------------- sankey


def _chain_links(tables: Tables) -> tuple[list[tuple], str]:
    """Sankey links ``(source key, target key, REO t, products text)`` and the unit.

    Keys are ``("node", name, stage)`` — a node at one product stage — or
    ``("market", label, stage)``. Route flows link (origin, stage) → (destination,
    stage); sales link (node, stage) → market; purchases market → (node, stage);
    disposal (node, stage) → "disposed". Processing at a node appears as links
    (node, input stage) → (node, output stage): the REO a node consumes (net
    inflow of a product) is spread over the stages it produces (net outflow) in
    proportion to their REO, so the chart reads mines → stages → markets even
    though Recipes are not part of the results.
    """
    stages = product_stage(tables)
    flows, unit = _with_reo(_table(tables, "Flows"), tables)
    trade, _ = _with_reo(_table(tables, "Trade"), tables)
    disposal, _ = _with_reo(_table(tables, "Disposal"), tables)
    raw: list[tuple[tuple, tuple, str, float, float]] = []  # src, dst, product, reo, t
    net: dict[tuple[str, str], float] = {}  # (node, product) -> REO out − in

    def stage_of(product: str) -> int | None:
        return stages.get(str(product))

    for r in flows.itertuples(index=False):
        if r.reo_t > 0:
            st = stage_of(r.product)
            raw.append(
                (("node", r.origin, st), ("node", r.destination, st), r.product, r.reo_t, r.tonnes)
            )
            net[(r.origin, r.product)] = net.get((r.origin, r.product), 0.0) + r.reo_t
            net[(r.destination, r.product)] = net.get((r.destination, r.product), 0.0) - r.reo_t
    for r in trade.itertuples(index=False):
        if r.reo_t > 0:
            st = stage_of(r.product)
            market = ("market", f"{r.market} ({r.scope})", None)
            if r.direction == "buy":
                raw.append((market, ("node", r.node, st), r.product, r.reo_t, r.tonnes))
                net[(r.node, r.product)] = net.get((r.node, r.product), 0.0) - r.reo_t
            else:
                raw.append((("node", r.node, st), market, r.product, r.reo_t, r.tonnes))
                net[(r.node, r.product)] = net.get((r.node, r.product), 0.0) + r.reo_t
    for r in disposal.itertuples(index=False):
        if r.reo_t > 0:
            st = stage_of(r.product)
            raw.append((("node", r.node, st), ("disposed", "disposed", None), r.product,
                        r.reo_t, r.tonnes))  # fmt: skip
            net[(r.node, r.product)] = net.get((r.node, r.product), 0.0) + r.reo_t
    # processing inside nodes: consumed stages → produced stages
    by_node: dict[str, tuple[dict, dict]] = {}
    for (node, product), v in net.items():
        consumed, produced = by_node.setdefault(node, ({}, {}))
        st = stage_of(product)
        if v < -1e-9:
            consumed[st] = consumed.get(st, 0.0) - v
        elif v > 1e-9:
            produced[st] = produced.get(st, 0.0) + v
    for node, (consumed, produced) in by_node.items():
        total_out = sum(produced.values())
        for s_in, c in consumed.items():
            for s_out, p in produced.items():
                if s_in != s_out and total_out > 0:
                    raw.append(
                        (("node", node, s_in), ("node", node, s_out), "processing",
                         c * p / total_out, float("nan"))
                    )  # fmt: skip
    agg: dict[tuple, list] = {}
    for src, dst, product, reo, tonnes in raw:
        entry = agg.setdefault((src, dst), [0.0, {}])
        entry[0] += reo
        entry[1][product] = entry[1].get(product, 0.0) + (0.0 if pd.isna(tonnes) else tonnes)
    links = []
    for (src, dst), (reo, products) in agg.items():
        if src[0] == dst[0] == "node" and src[1] == dst[1]:
            what = f"processing at {src[1]}: {stage_label(src[2])} → {stage_label(dst[2])}"
        else:
            what = "<br>".join(f"{p}: {t:,.0f} t" for p, t in sorted(products.items()))
        links.append((src, dst, reo, what))
    return links, unit


def sankey_figure(tables: Tables) -> go.Figure:
    """Value chain mines → processing stages → markets, REO tonnes over the horizon.

    Each Sankey node is a place at one product stage ("Solikamsk · stage 2");
    see :func:`_chain_links`. Link colour = product stage of what moves (for
    processing links, the output stage); node colour = the place's colour.
    """
    links, unit = _chain_links(tables)
    title = f"Value chain, {_year_span(tables)}: {unit} from mines through processing to markets"
    if not links:
        return note_figure(title, "No flows or sales in these results.")
    kinds = _node_kinds(tables)
    keys: list[tuple] = []
    index: dict[tuple, int] = {}
    for src, dst, *_ in links:
        for key in (src, dst):
            if key not in index:
                index[key] = len(keys)
                keys.append(key)
    labels, colours, hovers = [], [], []
    for kind, name, stage in keys:
        if kind == "market":
            labels.append(f"{name} market")
            colours.append(colour_for(name.rsplit(" (", 1)[0]))
            hovers.append(f"market {name}")
        elif kind == "disposed":
            labels.append("disposed")
            colours.append("#7f7f7f")
            hovers.append("removed for good (Disposal sheet)")
        else:
            labels.append(f"{name} · stage {stage if stage is not None else '?'}")
            colours.append(colour_for(name))
            hovers.append(f"{name} ({kinds.get(name, 'node')}), {stage_label(stage)}")
    link_stage = [dst[2] if dst[0] == "node" else src[2] for src, dst, _, _ in links]
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            valueformat=",.0f",
            valuesuffix=f" {unit}",
            node=dict(
                label=labels,
                color=colours,
                customdata=hovers,
                pad=12,
                thickness=14,
                line=dict(color="#444", width=0.5),
                hovertemplate="%{customdata}<br>%{value} throughput<extra></extra>",
            ),
            link=dict(
                source=[index[s] for s, *_ in links],
                target=[index[d] for _, d, *_ in links],
                value=[v for _, _, v, _ in links],
                color=[with_alpha(stage_colour(s), 0.5) for s in link_stage],
                customdata=[w for *_, w in links],
                hovertemplate=(
                    "%{source.label} → %{target.label}<br>%{customdata}<br>%{value}<extra></extra>"
                ),
            ),
        )
    )
    _base_layout(fig, title, height=660)
    fig.update_layout(margin=dict(l=20, r=20, t=80, b=50))
    fig.add_annotation(
        text=_stage_key(link_stage)
        + "   · a node is a place at one product stage; processing links join its stages",
        x=0,
        y=-0.06,
        xref="paper",
        yref="paper",
        xanchor="left",
        showarrow=False,
        font=dict(size=11),
    )
    return fig


def _node_kinds(tables: Tables) -> dict[str, str]:
    nodes = _table(tables, "Nodes")
    if nodes.empty:
        return {}
    return {str(n): str(k) for n, k in zip(nodes["node"], nodes["kind"], strict=True) if n and k}


# --------------------------------------------------------------------------- map


def map_figure(tables: Tables) -> go.Figure:
    """Nodes at their coordinates and route flows as lines (width ∝ tonnes).

    Plain longitude/latitude axes with the latitude axis stretched by
    1/cos(mid-latitude), so distances look right near the middle of the map.
    """
    title = f"Network map, {_year_span(tables)}: nodes and route flows (plain lon/lat, no base map)"
    nodes = _table(tables, "Nodes")
    if nodes.empty or nodes[["lat", "lon"]].dropna().empty:
        return note_figure(title, "The results' Nodes sheet has no coordinates (lat, lon).")
    nodes = nodes.dropna(subset=["lat", "lon"])
    where = {
        str(n): (float(lon), float(lat))
        for n, lat, lon in zip(nodes["node"], nodes["lat"], nodes["lon"], strict=True)
    }
    fig = go.Figure()
    flows, _ = _with_reo(_table(tables, "Flows"), tables)
    drawn_stages: set[int | None] = set()
    lines: list[tuple[str, str, str, float, int | None, str]] = []
    if not flows.empty:
        agg = (
            flows.groupby(["origin", "destination", "mode", "product"], dropna=False)[
                ["tonnes", "reo_t"]
            ]
            .sum()
            .reset_index()
        )
        agg = agg[agg["tonnes"] > 1e-9]
        for (o, d, mode), grp in agg.groupby(["origin", "destination", "mode"], dropna=False):
            if o not in where or d not in where:
                continue
            top = grp.sort_values("reo_t", ascending=False).iloc[0]
            stage = product_stage(tables).get(str(top["product"]))
            detail = "<br>".join(
                f"{p}: {t:,.0f} t" for p, t in zip(grp["product"], grp["tonnes"], strict=True)
            )
            lines.append((o, d, mode, float(grp["tonnes"].sum()), stage, detail))
        lines.sort(key=lambda r: -r[3])
        lines = lines[:300]
        tmax = max((r[3] for r in lines), default=0.0)
        mid_x, mid_y, mid_text = [], [], []
        for o, d, mode, tonnes, stage, detail in lines:
            (x0, y0), (x1, y1) = where[o], where[d]
            drawn_stages.add(stage)
            fig.add_trace(
                go.Scatter(
                    x=[x0, x1],
                    y=[y0, y1],
                    mode="lines",
                    line=dict(
                        color=with_alpha(stage_colour(stage), 0.7),
                        width=1.0 + 8.0 * math.sqrt(tonnes / tmax) if tmax else 1.0,
                    ),
                    hoverinfo="skip",
                    showlegend=False,
                )
            )
            mid_x.append(x0 + 0.55 * (x1 - x0))
            mid_y.append(y0 + 0.55 * (y1 - y0))
            mid_text.append(f"{o} → {d} ({mode})<br>{detail}<br>total {tonnes:,.0f} t")
        if mid_x:
            fig.add_trace(
                go.Scatter(
                    x=mid_x,
                    y=mid_y,
                    mode="markers",
                    marker=dict(size=6, color="rgba(60,60,60,0.5)", symbol="triangle-right"),
                    hovertext=mid_text,
                    hoverinfo="text",
                    name="flow (hover: tonnes shipped)",
                )
            )
    for stage in sorted(drawn_stages, key=lambda s: -1 if s is None else s):
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                line=dict(color=stage_colour(stage), width=4),
                name=f"flow of {stage_label(stage)}",
                legendgroup="stages",
            )
        )
    nodes = nodes.assign(kind=nodes["kind"].fillna("node"))
    for kind, grp in nodes.groupby("kind", sort=True):
        fig.add_trace(
            go.Scatter(
                x=grp["lon"],
                y=grp["lat"],
                mode="markers+text",
                text=grp["node"],
                textposition="top center",
                textfont=dict(size=10),
                marker=dict(
                    size=13,
                    symbol=KIND_SYMBOLS.get(str(kind), "circle"),
                    color=[colour_for(n) for n in grp["node"]],
                    line=dict(color="#222", width=1),
                ),
                name=f"{kind} (node)",
                customdata=list(
                    zip(grp["region"].fillna(""), grp["country"].fillna(""), strict=True)
                ),
                hovertemplate=(
                    "%{text}<br>%{customdata[0]} %{customdata[1]}<br>"
                    "%{y:.2f}°N %{x:.2f}°E<extra>" + str(kind) + "</extra>"
                ),
            )
        )
    # zoom on the active network (nodes with flows or trade); double-click shows all nodes
    active = set(flows["origin"]).union(flows["destination"]) if not flows.empty else set()
    trade = _table(tables, "Trade")
    if not trade.empty:
        active |= set(trade.loc[trade["tonnes"].fillna(0) > 0, "node"])
    shown = nodes[nodes["node"].isin(active)] if active & set(nodes["node"]) else nodes
    lon_lo, lon_hi = float(shown["lon"].min()), float(shown["lon"].max())
    lat_lo, lat_hi = float(shown["lat"].min()), float(shown["lat"].max())
    mid_lat = (lat_lo + lat_hi) / 2
    fig.update_xaxes(
        title_text="longitude (°E)",
        showgrid=True,
        zeroline=False,
        range=[lon_lo - 4, lon_hi + 4],
        constrain="domain",
    )
    fig.update_yaxes(
        title_text="latitude (°N)",
        showgrid=True,
        zeroline=False,
        range=[lat_lo - 3, lat_hi + 3],
        scaleanchor="x",
        scaleratio=1.0 / max(math.cos(math.radians(mid_lat)), 0.2),
        constrain="domain",
    )
    _base_layout(fig, title, height=600)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.16, x=0, font=dict(size=10)))
    fig.add_annotation(
        text=f"line width ∝ tonnes shipped over the horizon (thickest ≈ "
        f"{max((r[3] for r in lines), default=0):,.0f} t)"
        if lines
        else "no route flows",
        x=0,
        y=-0.10,
        xref="paper",
        yref="paper",
        xanchor="left",
        showarrow=False,
        font=dict(size=11),
    )
    fig.update_layout(height=680, margin=dict(l=70, r=30, t=80, b=150))
    return fig


# --------------------------------------------------------------------------- export mix


def export_mix_figure(tables: Tables) -> go.Figure:
    """Exports per year, stacked by destination market (top) and by product stage (bottom)."""
    trade, unit = _with_reo(_table(tables, "Trade"), tables)
    title = f"Export mix by destination and stage, {_year_span(tables)} ({unit} per year)"
    if trade.empty:
        return note_figure(title, "No trade in these results.")
    exports = trade[(trade["direction"] == "sell") & (trade["scope"] == "export")]
    exports = exports[exports["reo_t"] > 1e-9]
    if exports.empty:
        return note_figure(title, "Nothing is exported in these results.")
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.12,
        subplot_titles=("by destination market", "by product stage"),
    )
    by_market = exports.groupby(["market", "year"])[["reo_t", "value_musd"]].sum().reset_index()
    for market, grp in by_market.groupby("market", sort=True):
        fig.add_trace(
            go.Bar(
                x=grp["year"].astype(int),
                y=grp["reo_t"],
                name=str(market),
                marker_color=colour_for(market),
                legendgroup="market",
                legendgrouptitle_text="destination",
                customdata=grp["value_musd"].fillna(0.0),
                hovertemplate=(
                    f"{market}<br>%{{x}}: %{{y:,.0f}} {unit}<br>"
                    "%{customdata:,.1f} MUSD<extra></extra>"
                ),
            ),
            row=1,
            col=1,
        )
    exports = exports.assign(stage_key=exports["stage"].map(lambda s: -1 if pd.isna(s) else s))
    by_stage = exports.groupby(["stage_key", "year"])[["reo_t", "value_musd"]].sum().reset_index()
    for key, grp in by_stage.groupby("stage_key", sort=True):
        stage = None if key == -1 else int(key)
        fig.add_trace(
            go.Bar(
                x=grp["year"].astype(int),
                y=grp["reo_t"],
                name=stage_label(stage),
                marker_color=stage_colour(stage),
                legendgroup="stage",
                legendgrouptitle_text="product stage",
                customdata=grp["value_musd"].fillna(0.0),
                hovertemplate=(
                    f"{stage_label(stage)}<br>%{{x}}: %{{y:,.0f}} {unit}<br>"
                    "%{customdata:,.1f} MUSD<extra></extra>"
                ),
            ),
            row=2,
            col=1,
        )
    fig.update_layout(barmode="stack", legend=dict(groupclick="toggleitem"))
    fig.update_yaxes(title_text=f"{unit} exported", row=1, col=1)
    fig.update_yaxes(title_text=f"{unit} exported", row=2, col=1)
    fig.update_xaxes(title_text="year", dtick=1, row=2, col=1)
    fig.update_xaxes(dtick=1, row=1, col=1)
    return _base_layout(fig, title, height=640)


# --------------------------------------------------------------------------- builds


def build_timeline_figure(tables: Tables) -> go.Figure:
    """Each build: a bar from construction start to online year, marker sized by capex."""
    builds = _table(tables, "Builds")
    title = "Capacity builds: construction start → online year (◆ size ∝ capex, MUSD)"
    if builds.empty:
        return note_figure(title, "No new capacity is built in these results.")
    builds = builds.copy()
    builds["start"] = builds["year"].astype(float)
    builds["online"] = builds["online_year"].astype(float).fillna(builds["start"])
    builds["label"] = [
        f"{o} ({n}, {p})"
        for o, n, p in zip(builds["option"], builds["node"], builds["process"], strict=True)
    ]
    builds = builds.sort_values(["start", "node", "option"]).reset_index(drop=True)
    order = list(dict.fromkeys(builds["label"]))
    cmax = float(builds["capex_musd"].fillna(0).abs().max() or 1.0)
    fig = go.Figure()
    for node, grp in builds.groupby("node", sort=True):
        colour = colour_for(node)
        lead = (grp["online"] - grp["start"]).clip(lower=0)
        hover = [
            f"{o}<br>{n} · {p}<br>start {int(s)}, online {int(on)}<br>{u:g} unit(s), "
            f"+{c:,.0f} capacity (activity units/yr)<br>capex {x:,.1f} MUSD"
            for o, n, p, s, on, u, c, x in zip(
                grp["option"],
                grp["node"],
                grp["process"],
                grp["start"],
                grp["online"],
                grp["units"].fillna(0),
                grp["capacity_added"].fillna(0),
                grp["capex_musd"].fillna(0),
                strict=True,
            )
        ]
        fig.add_trace(
            go.Bar(
                y=grp["label"],
                x=lead.where(lead > 0, 0.15),
                base=grp["start"],
                orientation="h",
                marker=dict(color=with_alpha(colour, 0.45), line=dict(color=colour, width=1)),
                name=str(node),
                legendgroup=str(node),
                hovertext=hover,
                hoverinfo="text",
            )
        )
        fig.add_trace(
            go.Scatter(
                y=grp["label"],
                x=grp["online"],
                mode="markers+text",
                marker=dict(
                    symbol="diamond",
                    color=colour,
                    size=[8 + 22 * math.sqrt(abs(x) / cmax) for x in grp["capex_musd"].fillna(0)],
                    line=dict(color="#222", width=0.5),
                ),
                text=[f"{u:g}×" for u in grp["units"].fillna(0)],
                textposition="middle right",
                legendgroup=str(node),
                showlegend=False,
                hovertext=hover,
                hoverinfo="text",
            )
        )
    years = list(builds["start"]) + list(builds["online"])
    fig.update_xaxes(
        title_text="year", dtick=1, range=[min(years) - 0.8, max(years) + 1.2], showgrid=True
    )
    fig.update_yaxes(
        title_text="build option (node, process)",
        categoryorder="array",
        categoryarray=order[::-1],
    )
    fig.update_layout(barmode="overlay", legend=dict(title=dict(text="node")))
    return _base_layout(fig, title, height=max(320, 120 + 34 * len(order)))


# --------------------------------------------------------------------------- waterfall


def npv_terms(tables: Tables) -> tuple[list[tuple[str, float]], float | None, str]:
    """Signed present-value terms ``[(term, MUSD)]``, the NPV and a note.

    §4 says the ``pv_<term>_musd`` lines add up to ``npv_musd``; if they do
    not as written but do once costs are negated (costs written as positive
    numbers), the negated signs are used; otherwise the terms are shown as
    written and the note says by how much they miss.
    """
    values = summary_values(tables)
    raw = {
        m[3:-5]: float(v)
        for m, v in values.items()
        if m in PV_TERM_LINES and isinstance(v, float)
    }
    npv = values.get("npv_musd")
    npv = float(npv) if isinstance(npv, float) else None
    rank = {t: i for i, t in enumerate(TERM_ORDER)}
    terms = sorted(raw.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))
    note = ""
    if npv is not None and terms:
        scale = 1e-6 * max(1.0, abs(npv)) + 1e-6
        if abs(sum(v for _, v in terms) - npv) > scale:
            flipped = [(t, abs(v) if t in POSITIVE_TERMS else -abs(v)) for t, v in terms]
            if abs(sum(v for _, v in flipped) - npv) <= scale:
                terms = flipped
            else:
                miss = sum(v for _, v in terms) - npv
                note = f"pv terms miss npv_musd by {miss:,.3f} MUSD"
                log.warning("Summary pv_* terms do not add up to npv_musd (off by %.6g)", miss)
    return terms, npv, note


def npv_waterfall_figure(tables: Tables) -> go.Figure:
    """NPV built up from its present-value terms (Summary ``pv_*_musd`` lines)."""
    terms, npv, note = npv_terms(tables)
    title = "NPV waterfall: present value of each objective term (MUSD, discounted)"
    if not terms:
        return note_figure(title, "The Summary sheet has no pv_*_musd lines.")
    shown = [(t, v) for t, v in terms if abs(v) > 1e-9] or terms
    labels = [t.replace("_", " ") for t, _ in shown]
    total = npv if npv is not None else sum(v for _, v in shown)
    fig = go.Figure(
        go.Waterfall(
            x=labels + ["NPV"],
            y=[v for _, v in shown] + [total],
            measure=["relative"] * len(shown) + ["total"],
            text=[f"{v:+,.1f}" for _, v in shown] + [f"{total:,.1f}"],
            textposition="outside",
            connector=dict(line=dict(color="#999", width=1)),
            increasing=dict(marker=dict(color="#2ca02c")),
            decreasing=dict(marker=dict(color="#d62728")),
            totals=dict(marker=dict(color="#1f4e78")),
            hovertemplate="%{x}: %{y:,.2f} MUSD<extra></extra>",
        )
    )
    fig.update_yaxes(title_text="MUSD (present value)")
    fig.update_xaxes(title_text="objective term")
    _base_layout(fig, title + (f" — {note}" if note else ""))
    fig.update_layout(showlegend=False)
    return fig


# --------------------------------------------------------------------------- depth


def depth_by_year(tables: Tables) -> pd.DataFrame:
    """Per year: depth index (Σ stage·REO / Σ REO) of all, domestic and exported sales."""
    depth = _table(tables, "Depth")
    cols = ["year", "all_sales", "domestic", "exported", "reo_t"]
    if depth.empty:
        return pd.DataFrame(columns=cols)
    d = depth.dropna(subset=["year", "stage"]).copy()
    d["dom"] = d["reo_t_sold_domestic"].fillna(0.0)
    d["exp"] = d["reo_t_exported"].fillna(0.0)
    d["all"] = d["dom"] + d["exp"]
    rows = []
    for year, g in d.groupby("year", sort=True):
        s = g["stage"].astype(float)

        def index(col: str, g: pd.DataFrame = g, s: pd.Series = s) -> float | None:
            tot = float(g[col].sum())
            return float((s * g[col]).sum()) / tot if tot > 0 else None

        rows.append((int(year), index("all"), index("dom"), index("exp"), float(g["all"].sum())))
    return pd.DataFrame(rows, columns=cols)


def depth_index_figure(tables: Tables) -> go.Figure:
    """Processing-depth index per year for all, domestic and exported sales (Depth sheet)."""
    title = "Processing-depth index per year (REO-weighted mean stage: 0 ore … 5 magnet)"
    per_year = depth_by_year(tables)
    if per_year.empty or per_year["all_sales"].isna().all():
        return note_figure(title, "No sales recorded in the Depth sheet.")
    fig = go.Figure()
    styles = {
        "all_sales": ("all sales", "#222222", "solid"),
        "domestic": ("sold domestically", "#2ca02c", "dash"),
        "exported": ("exported", "#d62728", "dot"),
    }
    for col, (name, colour, dash) in styles.items():
        fig.add_trace(
            go.Scatter(
                x=per_year["year"],
                y=per_year[col],
                name=name,
                mode="lines+markers",
                line=dict(color=colour, dash=dash, width=2.5 if col == "all_sales" else 1.8),
                connectgaps=False,
                customdata=per_year["reo_t"],
                hovertemplate=(
                    f"{name}<br>%{{x}}: index %{{y:.2f}}<br>"
                    "all sales %{customdata:,.0f} t REO<extra></extra>"
                ),
            )
        )
    whole = summary_values(tables).get("processing_depth_index")
    if isinstance(whole, float):
        fig.add_hline(
            y=whole,
            line=dict(color="#1f4e78", width=1, dash="longdash"),
            annotation_text=f"whole horizon {whole:.2f}",
            annotation_position="top left",
        )
    fig.update_yaxes(title_text="depth index (stage, 0–6)", range=[-0.1, 6.3], dtick=1)
    fig.update_xaxes(title_text="year", dtick=1)
    return _base_layout(fig, title, height=460)


# --------------------------------------------------------------------------- all

FIGURE_BUILDERS: list[tuple[str, Callable[[Tables], go.Figure]]] = [
    ("Value chain (Sankey)", sankey_figure),
    ("Network map", map_figure),
    ("NPV waterfall", npv_waterfall_figure),
    ("Export mix by destination and stage", export_mix_figure),
    ("Capacity build timeline", build_timeline_figure),
    ("Processing-depth index over time", depth_index_figure),
]


def report_figures(tables: Tables) -> list[tuple[str, go.Figure]]:
    """All report charts for one results workbook, in report order: ``[(title, figure)]``.

    Always returns one entry per chart (a note figure when a chart has no
    data), so two runs' lists line up chart by chart.
    """
    out = []
    for title, build in FIGURE_BUILDERS:
        out.append((title, build(tables)))
    return out
