"""The one-run report: key figures and the standard charts in one offline HTML file."""

from __future__ import annotations

import html
import logging
from pathlib import Path

import pandas as pd

from optmodel.errors import OutputError
from optmodel.io.results_read import read_results, run_values, summary_units, summary_values
from optmodel.io.write import atomic_write_bytes, check_writable
from optmodel.report.figures import Tables, report_figures
from optmodel.report.html import Page, format_number, table_html

log = logging.getLogger(__name__)

KEY_METRICS = (
    "status",
    "npv_musd",
    "mip_gap",
    "revenue_musd",
    "capex_musd",
    "export_duties_musd",
    "subsidies_musd",
    "support_musd",
    "relief_given_musd",
    "fiscal_net_musd",
    "processing_depth_index",
    "raw_export_share",
    "domestic_value_added_musd",
    "unmet_demand_t",
)
RUN_KEYS = ("scenario", "input_file", "input_sha256", "package_version", "solver", "start_time_utc")


def run_line(tables: Tables) -> str:
    """One escaped line of provenance: scenario, input file, SHA-256 prefix, versions."""
    run = run_values(tables)
    parts = []
    for key in RUN_KEYS:
        value = run.get(key)
        if value:
            if key == "input_sha256":
                value = value[:12] + "…"
            parts.append(f"{key.replace('_', ' ')}: {value}")
    return html.escape(" · ".join(parts))


def key_figures(tables: Tables) -> pd.DataFrame:
    """The headline Summary lines (metric, value, unit) shown at the top of a report."""
    values = summary_values(tables)
    units = summary_units(tables)
    rows = [(m, values[m], units.get(m, "")) for m in KEY_METRICS if m in values]
    return pd.DataFrame(rows, columns=["metric", "value", "unit"])


STATE_VIEW = (
    ("npv_musd", "chain NPV (MUSD)"),
    ("national_npv_musd", "national NPV (MUSD)"),
    ("pv_fiscal_net_musd", "fiscal balance, present value (MUSD)"),
    ("fiscal_net_musd", "fiscal balance, undiscounted (MUSD)"),
)


def state_view(tables: Tables) -> pd.DataFrame | None:
    """Chain NPV, national NPV and fiscal balance side by side (one row; None when the
    workbook predates the state's view)."""
    values = summary_values(tables)
    if "national_npv_musd" not in values:
        return None
    return pd.DataFrame([[values.get(m) for m, _ in STATE_VIEW]],
                        columns=[label for _, label in STATE_VIEW])


STATE_NOTE = (
    "Chain NPV is what the value chain earns. National NPV is the same plan valued with every "
    "transfer between the chain and the budget (duties, extraction tax, subsidies, demand "
    "support, capex relief) taken out: the value to the country. Fiscal balance is what the "
    "budget receives less what it pays; chain NPV + fiscal balance (present value) = national "
    "NPV. A policy that raises chain NPV but not national NPV moves money from the budget to "
    "the chain."
)


def report_html(tables: Tables, name: str) -> str:
    """The report page for one run's tables (``name`` is shown as its title)."""
    pg = Page(f"optmodel results: {name}")
    pg.add(f"<h1>optmodel results: {html.escape(name)}</h1>")
    pg.add(f'<p class="meta">{run_line(tables)}</p>')
    state = state_view(tables)
    if state is not None:
        pg.add("<h2>The chain and the state</h2>")
        pg.add(table_html(state))
        pg.add(f'<p class="meta">{html.escape(STATE_NOTE)}</p>')
    pg.add(table_html(key_figures(tables), text_columns=("metric", "unit")))
    warnings = tables.get("Warnings")
    if warnings is not None and not warnings.empty:
        pg.add(
            f'<p class="meta">{len(warnings)} warning(s) in the Warnings sheet of the workbook.</p>'
        )
    for i, (title, fig) in enumerate(report_figures(tables)):
        pg.add(f"<h2>{html.escape(title)}</h2>")
        pg.add(f'<div class="chart">{pg.figure(fig, f"chart-{i}")}</div>')
    pg.add(
        '<p class="meta">Written by optmodel from the results workbook; works offline '
        "(plotly.js embedded, no network requests). Money in MUSD (million US dollars, "
        "constant prices); REO = rare-earth oxide equivalent.</p>"
    )
    return pg.render()


def write_report(results_path: Path, out_html: Path) -> None:
    """Write the offline HTML report of one results workbook.

    Raises InputError when ``results_path`` is not a readable results
    workbook of this major output schema version, OutputError when
    ``out_html`` cannot be written (missing folder, no permission, same file
    as the input).

    Command line (``optmodel report``)::

        optmodel report RESULTS.xlsx [-o REPORT.html]

        Draw the charts of one results workbook into a single HTML file that
        opens offline in any browser: value-chain Sankey (mines → processing →
        markets, t REO), network map (plain lon/lat, no base map), NPV
        waterfall of present-value terms, export mix by destination and stage,
        capacity build timeline, processing-depth index per year.

        RESULTS.xlsx  a results workbook written by `optmodel solve`.
        -o, --output  HTML file to write [RESULTS.html next to RESULTS].

        Exit codes: 0 written; 2 not a results workbook or a different major
        output schema version; 4 the HTML cannot be written.
    """
    results_path = Path(results_path)
    out_html = Path(out_html)
    if out_html.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        raise OutputError(f"Refusing to write the HTML report to {out_html}: use a .html name.")
    check_writable(out_html, inputs=[results_path])
    tables = read_results(results_path)
    text = report_html(tables, results_path.name)
    atomic_write_bytes(out_html, text.encode("utf-8"))
    log.info("report written to %s", out_html)


__all__ = ["format_number", "key_figures", "report_html", "run_line", "state_view",
           "write_report"]
