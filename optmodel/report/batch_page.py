"""The batch page: how the KPIs respond to a sweep's parameters, or differ by scenario.

Written next to the batch workbook (``batch.html`` of a sweep, ``OUT_batch.html``
of ``solve --scenario all``) from its Runs table: one panel per KPI, a marker per
solved run (hover: the run, its parameter values and its builds), and a table of
the runs that failed.  Self-contained and offline like every page
(:mod:`optmodel.report.html`).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from optmodel.io.write import atomic_write_bytes
from optmodel.report.colours import colour_for
from optmodel.report.figures import FONT, note_figure
from optmodel.report.html import Page, table_html

KPI_LABELS = {
    "npv_musd": "NPV (MUSD)",
    "processing_depth_index": "processing depth index",
    "raw_export_share": "raw-export share",
    "domestic_value_added_musd": "domestic value added (MUSD)",
    "national_npv_musd": "national NPV (MUSD)",
    "pv_fiscal_net_musd": "fiscal balance, present value (MUSD)",
}
ROWS = (len(KPI_LABELS) + 1) // 2  # panels two to a row
DELTA_LABELS = {  # the Against base columns drawn as bars
    "d_chain_npv_musd": "Δ chain NPV",
    "d_national_npv_musd": "Δ national NPV",
    "d_fiscal_balance_musd": "Δ fiscal balance",
}
MAX_GROUPS = 8  # colour groups (combinations of the other parameters) before one colour


def _solved(runs: pd.DataFrame) -> pd.DataFrame:
    ok = runs[runs["exit_code"] == 0].copy()
    for k in KPI_LABELS:
        if k not in ok:
            ok[k] = None
        ok[k] = pd.to_numeric(ok[k], errors="coerce")
    return ok


def _setting(label: str, value: Any) -> str:
    """``label = value`` with numbers to six significant digits."""
    return f"{label} = {value:,.6g}" if isinstance(value, int | float) else f"{label} = {value}"


def _hover(frame: pd.DataFrame, labels: list[str]) -> list[str]:
    parts = []
    for _, r in frame.iterrows():
        params = "<br>".join(html.escape(_setting(p, r[p])) for p in labels)
        parts.append(f"<b>{html.escape(str(r['scenario']))}</b><br>{params}<br>"
                     f"builds: {html.escape(str(r['builds']))}")
    return parts


def response_figure(runs: pd.DataFrame, label: str, labels: list[str], grid: bool
                    ) -> go.Figure:
    """Each KPI against ``label``: one line (grid) or cloud (samples) per combination of
    the other swept parameters."""
    title = f"KPIs against {label}"
    ok = _solved(runs)
    ok = ok[ok[labels].notna().all(axis=1)]  # not the base run of a policy sweep
    if ok.empty:
        return note_figure(title, "No run of this batch was solved.")
    others = [p for p in labels if p != label]
    if others and ok[others].drop_duplicates().shape[0] <= MAX_GROUPS:
        groups = list(ok.groupby(others, sort=True, dropna=False))
    else:
        groups = [((), ok)]
    fig = make_subplots(rows=ROWS, cols=2, subplot_titles=list(KPI_LABELS.values()),
                        horizontal_spacing=0.09, vertical_spacing=0.3 / ROWS)
    for key, frame in groups:
        key = key if isinstance(key, tuple) else (key,)
        name = ", ".join(_setting(p, v) for p, v in zip(others, key, strict=False)) or "runs"
        frame = frame.sort_values(label, kind="stable")
        colour = colour_for(name) if len(groups) > 1 else "#1f4e78"
        text = _hover(frame, labels)
        for i, kpi in enumerate(KPI_LABELS):
            fig.add_trace(go.Scatter(
                x=frame[label], y=frame[kpi], mode="lines+markers" if grid else "markers",
                name=name, legendgroup=name, showlegend=i == 0 and len(groups) > 1,
                marker=dict(color=colour, size=8), line=dict(color=colour),
                text=text, hovertemplate="%{text}<br>" + KPI_LABELS[kpi]
                + ": %{y:,.4g}<extra></extra>"), row=i // 2 + 1, col=i % 2 + 1)
    for i in range(len(KPI_LABELS)):
        fig.update_xaxes(title_text=label, row=i // 2 + 1, col=i % 2 + 1)
    fig.update_layout(title=dict(text=title, x=0.01, xanchor="left", font=dict(size=15)),
                      template="plotly_white", font=FONT, height=360 * ROWS,
                      margin=dict(l=70, r=30, t=90, b=60))
    return fig


def scenario_figure(runs: pd.DataFrame) -> go.Figure:
    """Each KPI by scenario (solved runs), one bar per scenario."""
    title = "KPIs by scenario"
    ok = _solved(runs)
    if ok.empty:
        return note_figure(title, "No run of this batch was solved.")
    fig = make_subplots(rows=ROWS, cols=2, subplot_titles=list(KPI_LABELS.values()),
                        horizontal_spacing=0.22, vertical_spacing=0.24 / ROWS)
    names = ok["scenario"].astype(str).tolist()
    colours = [colour_for(n) for n in names]
    text = _hover(ok, [])
    for i, kpi in enumerate(KPI_LABELS):
        fig.add_trace(go.Bar(
            y=names, x=ok[kpi], orientation="h", marker_color=colours, showlegend=False,
            text=text, hovertemplate="%{text}<br>" + KPI_LABELS[kpi]
            + ": %{x:,.4g}<extra></extra>", textposition="none"),
            row=i // 2 + 1, col=i % 2 + 1)
        fig.update_yaxes(autorange="reversed", row=i // 2 + 1, col=i % 2 + 1)
    fig.update_layout(title=dict(text=title, x=0.01, xanchor="left", font=dict(size=15)),
                      template="plotly_white", font=FONT,
                      height=max(520, ROWS * (22 * len(names) + 120)),
                      margin=dict(l=160, r=30, t=90, b=50))
    return fig


def against_base_figure(versus: pd.DataFrame) -> go.Figure:
    """Δ chain NPV, Δ national NPV and Δ fiscal balance of each run against base, grouped
    bars (the base run itself left out)."""
    title = "Each run against base: who gains, the chain or the country"
    rows = versus[versus["scenario"] != "base"]
    if rows.empty:
        return note_figure(title, "Only the base run was solved.")
    names = rows["scenario"].astype(str).tolist()
    fig = go.Figure()
    for col, label in DELTA_LABELS.items():
        fig.add_trace(go.Bar(y=names, x=rows[col], name=label, orientation="h",
                             marker_color=colour_for(label),
                             hovertemplate="%{y}<br>" + label + ": %{x:,.4g} MUSD<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title=dict(text=title, x=0.01, xanchor="left", font=dict(size=15)),
                      barmode="group", template="plotly_white", font=FONT,
                      xaxis_title="MUSD (present value) against base",
                      height=max(360, 70 * len(names) + 160),
                      margin=dict(l=160, r=30, t=80, b=60))
    return fig


def _against_base_section(page: Page, versus: pd.DataFrame, notes: dict[str, str]) -> None:
    page.add("<h2>Against base: chain, country and budget</h2>")
    page.add(page.figure(against_base_figure(versus), "versus"))
    page.add(table_html(versus, text_columns=("scenario",)))
    items = "".join(f"<li><b>{html.escape(c)}</b>: {html.escape(d)}</li>"
                    for c, d in notes.items())
    page.add(f'<ul class="meta">{items}</ul>')


def batch_html(runs: pd.DataFrame, labels: list[str], meta: dict[str, Any],
               grid: bool = True, versus: pd.DataFrame | None = None,
               notes: dict[str, str] | None = None) -> str:
    """The whole page: provenance, the response (sweep) or scenario panels, each run against
    base (``versus``, its column definitions ``notes``), failed runs."""
    page = Page(f"optmodel batch: {meta.get('input_file', '')}")
    page.add(f"<h1>Batch of {len(runs)} runs: {html.escape(str(meta.get('input_file', '')))}"
             "</h1>")
    facts = (f"{meta.get('batch', 'batch')} · solved {meta.get('solved', '?')}, failed "
             f"{meta.get('failed', '?')} · worst exit code {meta.get('worst_exit_code', '?')}"
             f" · started {meta.get('start_time_utc', '')} · input SHA-256 "
             f"{str(meta.get('input_sha256', ''))[:16]}…")
    page.add(f'<p class="meta">{html.escape(facts)}</p>')
    if meta.get("interrupted"):
        page.add(f'<p class="meta"><b>Interrupted:</b> '
                 f'{html.escape(str(meta["interrupted"]))}</p>')
    if labels:
        for j, label in enumerate(labels):
            page.add(f"<h2>Response to {html.escape(label)}</h2>")
            page.add(page.figure(response_figure(runs, label, labels, grid), f"resp{j}"))
    else:
        page.add("<h2>Scenarios</h2>")
        page.add(page.figure(scenario_figure(runs), "scen"))
    if versus is not None:
        _against_base_section(page, versus, notes or {})
    bad = runs[runs["exit_code"] != 0]
    page.add(f"<h2>Runs that did not solve ({len(bad)})</h2>")
    page.add(table_html(bad[["scenario", "status", "exit_code", "message"]],
                        text_columns=("scenario", "status", "message")))
    cols = ["scenario", *labels, "status", *KPI_LABELS, "builds", "time_s"]
    page.add("<h2>All runs</h2>")
    page.add(table_html(runs[[c for c in cols if c in runs.columns]],
                        text_columns=("scenario", "status", "builds")))
    return page.render()


def write_batch_page(path: Path, runs: pd.DataFrame, labels: list[str],
                     meta: dict[str, Any], grid: bool = True,
                     versus: pd.DataFrame | None = None,
                     notes: dict[str, str] | None = None) -> None:
    """Write :func:`batch_html` to ``path`` (atomically)."""
    atomic_write_bytes(path, batch_html(runs, labels, meta, grid, versus, notes).encode("utf-8"))
