"""Offline HTML pages: plotly.js embedded once (or, for the pages of a batch, one shared
``plotly.min.js`` beside them); no request leaves the machine.

The page carries a Content-Security-Policy that forbids every network
fetch (``default-src 'none'``), so even a plotly feature that would reach
for a CDN (geo topojson, map tiles, icon sprites) fails closed instead of
phoning out.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

log = logging.getLogger(__name__)

CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; connect-src 'none'"
)
# a batch's pages load one plotly.js file from their own folder ('self': the same folder's
# file, or the same server); still nothing is fetched from elsewhere
CSP_SHARED_JS = CSP.replace("script-src 'unsafe-inline'", "script-src 'self' 'unsafe-inline'")
PLOTLY_JS = "plotly.min.js"
PLOT_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "toImageButtonOptions": {"format": "png", "scale": 2},
}
CSS = """
body { font-family: Arial, Helvetica, sans-serif; margin: 18px 24px; color: #222; }
h1 { font-size: 22px; margin: 4px 0 6px; }
h2 { font-size: 17px; margin: 26px 0 4px; border-bottom: 1px solid #ccc; padding-bottom: 3px; }
h3 { font-size: 14px; margin: 6px 0 2px; color: #1f4e78; }
p.meta { color: #555; font-size: 12px; margin: 2px 0 12px; }
table.kv { border-collapse: collapse; font-size: 12.5px; margin: 6px 0 10px; }
table.kv th, table.kv td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
table.kv th { background: #1f4e78; color: #fff; font-weight: normal; }
table.kv td.t { text-align: left; }
tr.changed td { background: #fff4d6; }
ul.narrative { font-size: 13.5px; line-height: 1.5; }
.row { display: flex; gap: 14px; align-items: flex-start; }
.col { flex: 1 1 0; min-width: 0; }
.chart { width: 100%; }
"""


class Page:
    """An HTML page being assembled: body fragments plus one plot call per figure.

    Figures are drawn by scripts placed after all the markup, so a chart in
    a side-by-side row is sized to its column, not to the page width the
    row had before its neighbours were parsed.
    """

    def __init__(self, title: str):
        self.title = title
        self.parts: list[str] = []
        self.scripts: list[str] = []

    def add(self, fragment: str) -> None:
        """Append trusted (already escaped) HTML."""
        self.parts.append(fragment)

    def figure(self, fig: go.Figure, div_id: str) -> str:
        """A placeholder ``<div>`` for ``fig``; its plot call is queued for the page end."""
        height = int(fig.layout.height or 500)
        spec = pio.to_json(fig, validate=False)  # escapes < > / so it cannot close the script
        self.scripts.append(
            f'try {{ var s = {spec}; Plotly.newPlot("{div_id}", s.data, s.layout, CONFIG); }} '
            f'catch (e) {{ console.error("chart {div_id} failed: " + e); }}'
        )
        return (
            f'<div id="{div_id}" class="plotly-graph-div" '
            f'style="height:{height}px; width:100%;"></div>'
        )

    def render(self, plotly_src: str | None = None) -> str:
        """The complete document: plotly.js inlined once in the head (or, with
        ``plotly_src``, loaded from that file beside the page), plots at the end."""
        config = json.dumps(PLOT_CONFIG)
        plots = "\n".join(self.scripts)
        if plotly_src is None:
            csp, js = CSP, f'<script type="text/javascript">{get_plotlyjs()}</script>\n'
        else:
            csp = CSP_SHARED_JS
            js = (f'<script type="text/javascript" src="{html.escape(plotly_src)}"></script>\n'
                  f'<script type="text/javascript">if (typeof Plotly === "undefined") '
                  f'document.write("<p><b>The charts need the file {html.escape(plotly_src)} '
                  f'in the folder of this page.</b></p>");</script>\n')
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(self.title)}</title>\n<style>{CSS}</style>\n"
            + js +
            "</head>\n<body>\n"
            + "\n".join(self.parts)
            + f'\n<script type="text/javascript">\nvar CONFIG = {config};\n{plots}\n</script>\n'
            "</body>\n</html>\n"
        )


def ensure_plotly_js(folder: Path) -> Path:
    """``folder/plotly.min.js``, written (atomically) unless it already holds this plotly
    version's file: the one copy a batch's pages share."""
    from optmodel.io.write import atomic_write_bytes

    path = Path(folder) / PLOTLY_JS
    data = get_plotlyjs().encode("utf-8")
    try:
        same = path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        same = False
    if not same:
        atomic_write_bytes(path, data)
    return path


def format_number(value: object, digits: int = 3) -> str:
    """Readable number for tables (thousands separators, ≤ ``digits`` significant decimals)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    v = float(value)
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 100:
        text = f"{v:,.0f}"
    elif a >= 1:
        text = f"{v:,.2f}"
    else:
        text = f"{v:.{digits}g}"
    return text.replace("-", "−")


def table_html(
    frame: pd.DataFrame,
    text_columns: Sequence[str] = (),
    changed: Sequence[bool] = (),
    max_rows: int = 200,
) -> str:
    """An escaped HTML table of a DataFrame (first ``max_rows`` rows)."""
    if frame.empty:
        return '<p class="meta">(none)</p>'
    cols = list(frame.columns)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    rows = []
    flags = list(changed) + [False] * len(frame)
    for i, rec in enumerate(frame.head(max_rows).itertuples(index=False)):
        cells = []
        for c, v in zip(cols, rec, strict=True):
            cls = ' class="t"' if c in text_columns or isinstance(v, str) else ""
            text = v if isinstance(v, str) else format_number(v)
            cells.append(f"<td{cls}>{html.escape(str(text))}</td>")
        tr = ' class="changed"' if flags[i] else ""
        rows.append(f"<tr{tr}>{''.join(cells)}</tr>")
    more = (
        f'<p class="meta">… {len(frame) - max_rows} more rows in the workbook.</p>'
        if len(frame) > max_rows
        else ""
    )
    return f'<table class="kv"><tr>{head}</tr>{"".join(rows)}</table>{more}'
