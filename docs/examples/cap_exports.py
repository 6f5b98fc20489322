"""Extra constraint for `optmodel solve ... --extra docs/examples/cap_exports.py`.

Caps the export of mixed rare-earth carbonate (carbonate_loparite, stage 2) at
CAP_T tonnes a year over all export markets together, and adds a variable that
counts the tonnes of spare cap each year.  The model is the Pyomo model of
README "Use from Python": trade[market, product, direction, scope, year].
"""

import pyomo.environ as pyo

CAP_T = 300.0
PRODUCT = "carbonate_loparite"


def extra_constraints(model, data):
    exports = {}  # year -> that year's export sell variables of PRODUCT
    for market, product, direction, scope, year in model.trade:
        if product == PRODUCT and direction == "sell" and scope == "export":
            exports.setdefault(year, []).append(model.trade[market, product, direction,
                                                            scope, year])
    years = sorted(exports)
    model.spare_export_cap = pyo.Var(years, within=pyo.NonNegativeReals)
    model.cap_carbonate_exports = pyo.Constraint(
        years, rule=lambda m, y: sum(exports[y]) + m.spare_export_cap[y] == CAP_T)
