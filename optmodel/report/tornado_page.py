"""The sensitivity page: a tornado chart of NPV and the flip points, beside the workbook.

Drawn from the Tornado and Flips tables of ``sensitivity``
(:mod:`optmodel.batch.sensitivity`): one bar pair per parameter, NPV at the low
and the high end of its range around the base NPV, largest swing on top; a ◆ on
parameters whose range changes the plan; then the flip brackets and the note on
what sampling can miss.  Self-contained and offline like every page
(:mod:`optmodel.report.html`).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from optmodel.io.write import atomic_write_bytes
from optmodel.report.figures import FONT, note_figure
from optmodel.report.html import Page, table_html

LO_COLOUR = "#c0504d"
HI_COLOUR = "#1f4e78"


def _num(v: Any) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def tornado_figure(tornado: pd.DataFrame, base_npv: float | None) -> go.Figure:
    """NPV at each parameter's low and high end, bars from the base NPV; largest swing on top."""
    title = "NPV at the ends of each parameter's range (MUSD)"
    rows = tornado[tornado["npv_lo_musd"].notna() | tornado["npv_hi_musd"].notna()]
    if rows.empty:
        return note_figure(title, "No end of any range was solved.")
    centre = base_npv if base_npv is not None else float(pd.concat(
        [rows["npv_lo_musd"], rows["npv_hi_musd"]]).dropna().median())
    names = [("◆ " if r.plan_changes == "yes" else "") + str(r.parameter)
             for r in rows.itertuples()]
    fig = go.Figure()
    for col, end, colour in (("npv_lo_musd", "lo", LO_COLOUR), ("npv_hi_musd", "hi", HI_COLOUR)):
        npv = [_num(v) for v in rows[col]]
        values = rows[end].tolist()
        fig.add_trace(go.Bar(
            y=names, x=[None if v is None else v - centre for v in npv], base=centre,
            orientation="h", name=f"at the {'low' if end == 'lo' else 'high'} end",
            marker_color=colour, opacity=0.8,
            customdata=[[v, n, s] for v, n, s in zip(values, npv, rows["status"], strict=True)],
            hovertemplate="%{y}<br>value %{customdata[0]:,.6g}<br>NPV %{customdata[1]:,.3f} "
                          "MUSD<br>%{customdata[2]}<extra></extra>"))
    fig.add_vline(x=centre, line_color="#555", line_dash="dot")
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title_text="NPV (MUSD)")
    fig.update_layout(title=dict(text=title, x=0.01, xanchor="left", font=dict(size=15)),
                      template="plotly_white", font=FONT, barmode="overlay",
                      height=max(360, 24 * len(rows) + 140),
                      margin=dict(l=20, r=30, t=80, b=50),
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1,
                                  xanchor="right"))
    return fig


def tornado_html(flips: pd.DataFrame, tornado: pd.DataFrame, meta: dict[str, Any]) -> str:
    """The whole page: provenance, the tornado chart, the flips, the note, the runs' status."""
    page = Page(f"optmodel sensitivity: {meta.get('input_file', '')}")
    page.add(f"<h1>Sensitivity: {html.escape(str(meta.get('input_file', '')))}</h1>")
    facts = (f"{meta.get('parameters', '?')} parameters ({meta.get('parameter_source', '')}) · "
             f"{meta.get('points', '?')} points, tol {meta.get('tol', '?')} · "
             f"{meta.get('solves', '?')} solves, {meta.get('failed_solves', 0)} not solved · "
             f"mip_gap {meta.get('mip_gap', '?')} · worst exit code "
             f"{meta.get('worst_exit_code', '?')} · started {meta.get('start_time_utc', '')}")
    page.add(f'<p class="meta">{html.escape(facts)}</p>')
    base = _num(meta.get("base_npv_musd"))
    if base is not None:
        page.add(f'<p class="meta">Base: NPV {base:,.3f} MUSD; plan '
                 f'{html.escape(str(meta.get("base_plan", "")))}</p>')
    page.add("<h2>Tornado</h2>")
    page.add('<p class="meta">◆ the plan changes somewhere in the range (see the flips '
             "below).</p>")
    page.add(page.figure(tornado_figure(tornado, base), "tornado"))
    page.add(f"<h2>Flip points ({len(flips)})</h2>")
    page.add(f'<p class="meta">{html.escape(str(meta.get("note", "")))}</p>')
    shown = flips.copy()  # the bracket ends to six significant digits, as text
    for col in ("below", "above"):
        shown[col] = [f"{v:,.6g}" for v in shown[col]]
    page.add(table_html(shown, text_columns=("parameter", "plan_below", "plan_above")))
    page.add("<h2>All parameters</h2>")
    page.add(table_html(tornado, text_columns=("parameter", "plan_changes", "status"),
                        max_rows=1000))
    return page.render()


def write_tornado_page(path: Path, flips: pd.DataFrame, tornado: pd.DataFrame,
                       meta: dict[str, Any]) -> None:
    """Write :func:`tornado_html` to ``path`` (atomically)."""
    atomic_write_bytes(path, tornado_html(flips, tornado, meta).encode("utf-8"))
