"""Offline HTML reports of results workbooks (plotly, JS embedded once, no network).

- :func:`report_figures` — result tables → ``[(title, plotly Figure)]``;
- :func:`write_report` — results workbook → one self-contained HTML file;
- the compare page is written by :func:`optmodel.compare.compare_results`.

Figures are built from result tables only, never from the Pyomo model.
"""

from .colours import colour_for, stage_colour
from .figures import report_figures
from .single import report_html, write_report

__all__ = ["colour_for", "report_figures", "report_html", "stage_colour", "write_report"]
