"""Plan warnings: findings about a solved plan that would mislead a reader (docs/model.md §12).

They go to the Warnings sheet (sheet Trade, row blank) next to the input warnings
and never change the exit code.
"""

from __future__ import annotations

import pandas as pd

from optmodel.errors import Issue

REEXPORT_TOL_T = 1e-6


def reexport_warnings(trade: pd.DataFrame) -> list[Issue]:
    """A product bought on an import row and sold on an export row in the same year,
    both above 1e-6 t: the plan re-exports what it imports."""
    if trade is None or not len(trade):
        return []
    t = trade[trade["tonnes"] > REEXPORT_TOL_T]
    imp = t[(t["direction"] == "buy") & (t["scope"] == "import")]
    exp = t[(t["direction"] == "sell") & (t["scope"] == "export")]
    if not len(imp) or not len(exp):
        return []
    both = sorted(set(zip(imp["product"], imp["year"], strict=True))
                  & set(zip(exp["product"], exp["year"], strict=True)),
                  key=lambda py: (str(py[0]), int(py[1])))
    out = []
    for product, year in both:
        bought = imp[(imp["product"] == product) & (imp["year"] == year)]
        sold = exp[(exp["product"] == product) & (exp["year"] == year)]
        out.append(Issue(
            "Trade", None, None, None,
            f"{product} is bought on an import row and sold on an export row in {int(year)} "
            f"(imported {_rows(bought)}; exported {_rows(sold)}): the plan re-exports imports; "
            "check prices, duties and whether re-export is allowed", "warning"))
    return out


def _rows(frame: pd.DataFrame) -> str:
    return ", ".join(f"{m} {t:,.1f} t" for m, t in zip(frame["market"], frame["tonnes"],
                                                        strict=True))
