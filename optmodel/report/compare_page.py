"""The compare page: narrative, KPI changes, NPV deltas by term, and every chart side by side."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from optmodel.model.objective import PV_TERM_LINES
from optmodel.report.colours import colour_for
from optmodel.report.figures import FONT, note_figure, npv_terms, report_figures
from optmodel.report.html import Page, table_html
from optmodel.report.single import run_line


def npv_delta_figure(runs: list[dict[str, pd.DataFrame]], labels: list[str]) -> go.Figure:
    """Change of each present-value term against the first run (MUSD), one bar group per run."""
    title = f"NPV change by present-value term vs {labels[0]} (MUSD, discounted)"
    base_terms, base_npv, _ = npv_terms(runs[0])
    base = dict(base_terms)
    fig = go.Figure()
    drawn = False
    for tables, label in zip(runs[1:], labels[1:], strict=True):
        terms, npv, _ = npv_terms(tables)
        new = dict(terms)
        names = list(dict.fromkeys([t for t, _ in base_terms] + [t for t, _ in terms]))
        deltas = [(t, new.get(t, 0.0) - base.get(t, 0.0)) for t in names]
        if npv is not None and base_npv is not None:
            deltas.append(("NPV", npv - base_npv))
        if not deltas:
            continue
        drawn = True
        fig.add_trace(
            go.Bar(
                x=[t.replace("_", " ") for t, _ in deltas],
                y=[v for _, v in deltas],
                name=label,
                marker_color=colour_for(label),
                text=[f"{v:+,.1f}" if abs(v) > 1e-9 else "" for _, v in deltas],
                textposition="outside",
                hovertemplate=f"{label}<br>%{{x}}: %{{y:+,.2f}} MUSD<extra></extra>",
            )
        )
    if not drawn:
        return note_figure(title, "The Summary sheets have no pv_*_musd lines.")
    fig.update_layout(
        title=dict(text=title, x=0.01, xanchor="left", font=dict(size=15)),
        template="plotly_white",
        font=FONT,
        height=460,
        barmode="group",
        margin=dict(l=70, r=30, t=80, b=60),
    )
    fig.update_yaxes(title_text="change, MUSD (present value)", zeroline=True, zerolinecolor="#444")
    fig.update_xaxes(title_text="objective term")
    return fig


def _bar_stack_extent(fig: go.Figure) -> dict[str, tuple[float, float]]:
    """Per y-axis: lowest and highest stacked bar total (stacked bars, any sign)."""
    pos: dict[tuple[str, object], float] = {}
    neg: dict[tuple[str, object], float] = {}
    for tr in fig.data:
        if tr.type != "bar" or tr.y is None:
            continue
        axis = tr.yaxis or "y"
        for x, y in zip(tr.x, tr.y, strict=False):
            if y is None:
                continue
            book = pos if y >= 0 else neg
            book[(axis, x)] = book.get((axis, x), 0.0) + float(y)
    out: dict[str, tuple[float, float]] = {}
    for (axis, _), v in list(pos.items()) + list(neg.items()):
        lo, hi = out.get(axis, (0.0, 0.0))
        out[axis] = (min(lo, v), max(hi, v))
    return out


def _waterfall_extent(fig: go.Figure) -> tuple[float, float] | None:
    for tr in fig.data:
        if tr.type == "waterfall":
            run, lo, hi = 0.0, 0.0, 0.0
            for y, m in zip(tr.y, tr.measure, strict=True):
                run = float(y) if m == "total" else run + float(y)
                lo, hi = min(lo, run), max(hi, run)
            return lo, hi
    return None


def _x_extent(fig: go.Figure) -> tuple[float, float] | None:
    xs = [float(x) for tr in fig.data if tr.x is not None for x in tr.x if x is not None]
    return (min(xs), max(xs)) if xs else None


def _pad(lo: float, hi: float, frac: float) -> list[float]:
    span = (hi - lo) or 1.0
    return [lo - (frac * span if lo < 0 else 0.0), hi + frac * span]


def align_side_by_side(title: str, figs: list[go.Figure]) -> None:
    """Give the same chart of several runs the same value axes, so bars compare by eye.

    Waterfall and stacked bars share their y range; year axes share their x
    range. The Sankey (relative widths) and the map (fixed by node
    coordinates) need nothing.
    """
    figs = [f for f in figs if f.data]
    if len(figs) < 2:
        return
    if title == "NPV waterfall":
        ext = [e for e in (_waterfall_extent(f) for f in figs) if e]
        if ext:
            rng = _pad(min(e[0] for e in ext), max(e[1] for e in ext), 0.12)
            for f in figs:
                f.update_yaxes(range=rng)
    elif title == "Export mix by destination and stage":
        per_axis: dict[str, tuple[float, float]] = {}
        for f in figs:
            for axis, (lo, hi) in _bar_stack_extent(f).items():
                a, b = per_axis.get(axis, (0.0, 0.0))
                per_axis[axis] = (min(a, lo), max(b, hi))
        xs = [e for e in (_x_extent(f) for f in figs) if e]
        for f in figs:
            for axis, (lo, hi) in per_axis.items():
                f.layout["yaxis" + axis[1:]].range = _pad(lo, hi, 0.06)
            if xs:
                f.update_xaxes(range=[min(e[0] for e in xs) - 0.5, max(e[1] for e in xs) + 0.5])
    elif title in ("Capacity build timeline", "Processing-depth index over time"):
        ranges = [f.layout.xaxis.range for f in figs if f.layout.xaxis.range]
        xs = [e for e in (_x_extent(f) for f in figs) if e]
        if ranges:
            rng = [min(r[0] for r in ranges), max(r[1] for r in ranges)]
        elif xs:
            rng = [min(e[0] for e in xs) - 0.3, max(e[1] for e in xs) + 0.3]
        else:
            return
        for f in figs:
            f.update_xaxes(range=rng)


def _kpi_display(kpis: pd.DataFrame) -> tuple[pd.DataFrame, list[bool]]:
    shown = kpis[~kpis["metric"].isin(PV_TERM_LINES)].copy()
    changed = list(shown["changed"] == "yes")
    for c in shown.columns:
        if c.startswith("rel change"):
            shown[c] = [
                "" if v is None or pd.isna(v) else f"{v * 100:+.1f}%".replace("-", "−")
                for v in shown[c]
            ]
    return shown.drop(columns=["changed"]), changed


def compare_html(result: Any) -> str:
    """The compare page for a :class:`~optmodel.compare.CompareResult` (duck-typed: the
    report layer does not import the compare layer above it)."""
    labels = result.labels
    runs = result.run_tables
    title = "optmodel compare: " + " vs ".join(labels)
    pg = Page(title)
    parts = [f"<h1>{html.escape(title)}</h1>"]
    for label, tables in zip(labels, runs, strict=True):
        role = "baseline" if label == labels[0] else "compared"
        parts.append(
            f'<p class="meta"><b>{html.escape(label)}</b> ({role}) — {run_line(tables)}</p>'
        )
    parts.append("<h2>What changed</h2>")
    parts.append(
        '<ul class="narrative">'
        + "".join(f"<li>{html.escape(line)}</li>" for line in result.narrative)
        + "</ul>"
    )
    rundiff = result.tables.get("RunDifferences")
    if rundiff is not None and not rundiff.empty:
        parts.append("<h2>Run differences</h2>")
        parts.append(table_html(rundiff))
    kpis, changed = _kpi_display(result.tables["KPIs"])
    parts.append("<h2>KPIs (changed rows highlighted)</h2>")
    parts.append(table_html(kpis, text_columns=("metric", "unit"), changed=changed))
    builds = result.tables.get("Builds")
    if builds is not None and not builds.empty:
        parts.append("<h2>Build changes</h2>")
        cols = [
            "run",
            "option",
            "node",
            "process",
            "change",
            "units_base",
            "units_new",
            "start_base",
            "start_new",
            "capex_change_musd",
        ]
        parts.append(table_html(builds[cols], max_rows=50))
    parts.append("<h2>NPV change by term</h2>")
    parts.append(f'<div class="chart">{pg.figure(npv_delta_figure(runs, labels), "delta")}</div>')
    per_run = [report_figures(t) for t in runs]
    for i, (chart_title, _) in enumerate(per_run[0]):
        align_side_by_side(chart_title, [figs[i][1] for figs in per_run])
    for i, (chart_title, _) in enumerate(per_run[0]):
        parts.append(f"<h2>{html.escape(chart_title)}</h2>")
        cols_html = []
        for j, (label, figs) in enumerate(zip(labels, per_run, strict=True)):
            fig = figs[i][1]
            cols_html.append(
                f'<div class="col"><h3>{html.escape(label)}</h3>'
                f'<div class="chart">{pg.figure(fig, f"chart-{i}-{j}")}</div></div>'
            )
        parts.append(f'<div class="row">{"".join(cols_html)}</div>')
    parts.append(
        '<p class="meta">Written by optmodel compare; works offline (plotly.js embedded, no '
        "network requests). Colours are fixed per node, market and stage across all charts.</p>"
    )
    for part in parts:
        pg.add(part)
    return pg.render()
