"""Offline HTML reports of results workbooks (plotly, JS embedded once, no network).

- :func:`report_figures` — result tables → ``[(title, plotly Figure)]``;
- :func:`write_report` — results workbook → one self-contained HTML file;
- the compare page is written by :func:`optmodel.compare.compare_results`.

Figures are built from result tables only, never from the Pyomo model.
"""

from optmodel.report.colours import colour_for, stage_colour
from optmodel.report.figures import report_figures
from optmodel.report.single import report_html, write_report

__all__ = ["colour_for", "report_figures", "report_html", "stage_colour", "write_report"]
