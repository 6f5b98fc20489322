"""The input-workbook schema: one table per sheet, the single source of truth.

Reading, validation, defaults, the template workbook and its README sheet are
all driven from :data:`SHEETS`.  Each :class:`Column` says its type, unit,
default, whether it is required and what it means (docs/model.md §11.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

NODE_KINDS = ("mine", "plant", "technopark", "port", "market", "hub")
ROUTE_MODES = ("rail", "road", "river", "sea", "air", "winter_road", "pipeline")
DIRECTIONS = ("in", "out")
MARKET_DIRECTIONS = ("sell", "buy")
MARKET_SCOPES = ("domestic", "export", "import")
SCOPES_BY_DIRECTION = {"sell": ("domestic", "export"), "buy": ("domestic", "import")}
INSTRUMENTS = (
    "export_duty_rate",
    "import_duty_rate",
    "export_quota_t",
    "processing_subsidy_usd_per_activity",
    "capex_relief_rate",
    "min_domestic_processing_share",
    "investment_budget_musd",
    "domestic_demand_support_usd_per_t",
)
FORBIDDEN_NAME_CHARS = "|,:*"
FORMULA_PREFIXES = ("=", "+", "-", "@")

# Column kinds: text (free), name (identifier), ref (identifier naming a row
# of another sheet), number, integer, year, enum, bool, names (comma list), target (a
# Policy target: normalised by optmodel.input.targets before anything else reads it).


@dataclass(frozen=True)
class Column:
    """One input (or results) column: its type, unit, default and meaning."""

    name: str
    kind: str
    required: bool = False
    default: Any = None
    unit: str = ""
    description: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    ref: str | None = None
    number_format: str | None = None  # results columns: the cell format written

    def expected(self) -> str:
        """Plain-language description of an acceptable value."""
        if self.kind == "enum":
            return "one of: " + ", ".join(self.choices)
        if self.kind == "bool":
            return "yes or no"
        if self.kind in ("integer", "year"):
            what = "a whole number" + (" (a year)" if self.kind == "year" else "")
        elif self.kind == "number":
            what = "a number"
        elif self.kind == "ref":
            return f"the name of a row of sheet {self.ref}"
        elif self.kind == "names":
            return "a comma-separated list of names"
        elif self.kind == "name":
            return (
                "a name without the characters | , : * that does not begin with = + - @"
            )
        else:
            return "text"
        if self.minimum is not None and self.maximum is not None:
            what += f" between {_fmt(self.minimum)} and {_fmt(self.maximum)}"
        elif self.minimum is not None:
            what += f" ≥ {_fmt(self.minimum)}"
        elif self.maximum is not None:
            what += f" ≤ {_fmt(self.maximum)}"
        return what


def _fmt(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class Sheet:
    """One input sheet: its columns, identifying key and purpose."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    required: bool = False
    year_column: str | None = None
    extra: tuple[Column, ...] = field(default=())

    # made once per sheet at first use (validation looks columns up thousands of times)
    @cached_property
    def all_columns(self) -> tuple[Column, ...]:
        own = {c.name for c in self.columns}
        return self.columns + tuple(c for c in COMMON_COLUMNS if c.name not in own)

    @cached_property
    def _by_name(self) -> dict[str, Column]:
        by_name: dict[str, Column] = {}
        for c in self.all_columns:
            by_name.setdefault(c.name, c)  # the first of a name, as a search in order finds
        return by_name

    def column(self, name: str) -> Column:
        return self._by_name[name]

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.all_columns)


# The Settings sheet's keys, declared like columns (kind, default, range, meaning): the
# single source for parsing (optmodel.input.validate), the template and its README sheet.
SETTINGS: tuple[Column, ...] = (
    Column("first_year", "year", True, unit="year",
           description="First year of the horizon (whole number)."),
    Column("last_year", "year", True, unit="year",
           description="Last year of the horizon (whole number ≥ first_year)."),
    Column("discount_rate", "number", True, minimum=0.0, maximum=1.0, unit="fraction",
           description="Real discount rate, fraction (0.08 = 8 %)."),
    Column("currency", "text", default="USD", description="Label only [USD]."),
    Column("unmet_penalty_usd_per_t", "number", minimum=0.0, unit="USD/t",
           description="Penalty per tonne of unmet minimum demand; blank = minimums are hard."),
    Column("mip_gap", "number", default=1e-4, minimum=0.0, maximum=1.0, unit="fraction",
           description="Relative MIP gap at which the solver stops [1e-4]."),
    Column("time_limit_s", "number", minimum=0.0, unit="s",
           description="Time limit for the solve in seconds (> 0); blank = none."),
    Column("salvage", "bool", default=False,
           description="on/off: credit the undepreciated capex of plants alive at the end "
           "[off]."),
    Column("threads", "integer", default=1, minimum=1, maximum=1024,
           description="Solver threads [1]."),
    Column("curve_segments", "integer", default=8, minimum=1, maximum=50,
           description="Number of straight pieces that approximate the revenue of a sell row "
           "with an elasticity (whole number 1–50) [8]; more pieces follow the curve more "
           "closely."),
)
SETTINGS_KEYS = tuple(c.name for c in SETTINGS)
REQUIRED_SETTINGS = tuple(c.name for c in SETTINGS if c.required)
SETTING_DEFAULTS: dict[str, Any] = {c.name: c.default for c in SETTINGS if not c.required}
SETTING_HELP: dict[str, str] = {c.name: c.description for c in SETTINGS}


COMMON_COLUMNS = (
    Column("note", "text", description="Free text for the reader; ignored by the model."),
    Column(
        "source",
        "text",
        description="Where the numbers come from: a Sources row name (several comma-separated) "
        "or the word assumption.",
    ),
)

NONNEG = 0.0
RATE = dict(minimum=0.0, maximum=1.0)

SHEETS: dict[str, Sheet] = {
    s.name: s
    for s in (
        Sheet(
            "Settings",
            "Global settings, one key per row.",
            (
                Column("key", "enum", True, choices=SETTINGS_KEYS, description="Setting name."),
                Column("value", "text", False, description="Setting value (see the README sheet)."),
            ),
            key=("key",),
            required=True,
        ),
        Sheet(
            "Nodes",
            "Places: mines, plants, technoparks, ports, markets and hubs.",
            (
                Column("node", "name", True, description="Node name (unique)."),
                Column("kind", "enum", True, choices=NODE_KINDS, description="What the node is."),
                Column("region", "text", description="Region or federal subject."),
                Column(
                    "country",
                    "text",
                    description="Country; Russia or blank counts as domestic for value added.",
                ),
                Column("lat", "number", unit="degrees", minimum=-90, maximum=90,
                       description="Latitude (for maps)."),
                Column("lon", "number", unit="degrees", minimum=-180, maximum=180,
                       description="Longitude (for maps)."),
                Column("opening_cost_musd", "number", default=0.0, unit="MUSD", minimum=NONNEG,
                       description="One-off cost of opening the site, paid once if anything "
                       "is built there; not discounted."),
            ),
            key=("node",),
            required=True,
        ),
        Sheet(
            "Products",
            "Materials along the chain, from ore (stage 0) to magnets (stage 5) and the "
            "components or end products that contain them (stage 6).",
            (
                Column("product", "name", True, description="Product name (unique)."),
                Column("stage", "integer", True, minimum=0, maximum=6,
                       description="Processing stage: 0 ore, 1 concentrate, 2 mixed compounds, "
                       "3 separated oxides, 4 metals, 5 magnets, 6 a component or end product "
                       "that contains REE (motor, generator, catalyst)."),
                Column("reo_content", "number", True, unit="t REO per t", minimum=NONNEG,
                       description="Rare-earth-oxide content (may exceed 1 for metals)."),
                Column("disposal_cost_usd_per_t", "number", unit="USD/t", minimum=NONNEG,
                       description="Cost of disposing of one tonne; blank = cannot be disposed."),
            ),
            key=("product",),
            required=True,
        ),
        Sheet(
            "Processes",
            "Recipes' names and the stages they span.",
            (
                Column("process", "name", True, description="Process name (unique)."),
                Column("stage_from", "integer", minimum=0, maximum=6,
                       description="Stage of the main input (descriptive)."),
                Column("stage_to", "integer", minimum=0, maximum=6,
                       description="Stage of the main output (descriptive)."),
                Column("activity_unit", "text", default="t",
                       description="What one unit of activity is (e.g. t of ore treated)."),
            ),
            key=("process",),
            required=True,
        ),
        Sheet(
            "Recipes",
            "Inputs and outputs of each process per unit of activity.",
            (
                Column("process", "ref", True, ref="Processes", description="Process."),
                Column("product", "ref", True, ref="Products", description="Product."),
                Column("direction", "enum", True, choices=DIRECTIONS,
                       description="in = consumed, out = produced."),
                Column("qty_per_activity", "number", True, unit="t per activity unit",
                       minimum=NONNEG, description="Tonnes per unit of activity."),
            ),
            key=("process", "product", "direction"),
            required=True,
        ),
        Sheet(
            "NodeProcesses",
            "Which process may run where: existing capacity, opex, minimum load.",
            (
                Column("node", "ref", True, ref="Nodes", description="Node."),
                Column("process", "ref", True, ref="Processes", description="Process."),
                Column("year", "year", description="Blank = every year without its own row."),
                Column("existing_capacity", "number", default=0.0,
                       unit="activity units per year", minimum=NONNEG,
                       description="Capacity already in place (no capex)."),
                Column("opex_usd_per_activity", "number", default=0.0, unit="USD per activity unit",
                       minimum=NONNEG, description="Variable operating cost."),
                Column("min_load", "number", default=0.0, unit="fraction", **RATE,
                       description="Minimum utilisation of the capacity in place."),
            ),
            key=("node", "process", "year"),
            year_column="year",
        ),
        Sheet(
            "BuildOptions",
            "Plants that may be built: size, cost, timing.",
            (
                Column("option", "name", True, description="Option name (unique)."),
                Column("node", "ref", True, ref="Nodes", description="Node."),
                Column("process", "ref", True, ref="Processes", description="Process."),
                Column("unit_capacity", "number", True, unit="activity units per year",
                       minimum=NONNEG, description="Capacity of one unit."),
                Column("capex_musd", "number", True, unit="MUSD", minimum=NONNEG,
                       description="Investment per unit, paid in the start year."),
                Column("fixed_om_musd_per_year", "number", default=0.0, unit="MUSD/yr",
                       minimum=NONNEG, description="Fixed O&M per unit alive."),
                Column("lead_time_years", "integer", default=0, unit="years", minimum=0,
                       description="Years from start of construction to first operation."),
                Column("earliest_year", "year", description="Earliest start year "
                       "[first_year]."),
                Column("max_units", "number", default=1, unit="units", minimum=NONNEG,
                       description="Most units that may be started over the horizon "
                       "(whole number unless divisible)."),
                Column("lifetime_years", "integer", default=30, unit="years", minimum=1,
                       description="Operating life of a unit."),
                Column("divisible", "bool", default=False,
                       description="yes = any fraction of a unit may be built."),
            ),
            key=("option",),
        ),
        Sheet(
            "Deposits",
            "Ore bodies: reserve and annual limits on a product output at a node.",
            (
                Column("deposit", "name", True, description="Deposit name (unique)."),
                Column("node", "ref", True, ref="Nodes", description="Node where it is mined."),
                Column("product", "ref", True, ref="Products",
                       description="Product the mining process outputs."),
                Column("reserve_t", "number", True, unit="t", minimum=NONNEG,
                       description="Total tonnes of the product over the horizon."),
                Column("max_per_year_t", "number", unit="t/yr", minimum=NONNEG,
                       description="Annual limit; blank = unlimited."),
                Column("extraction_tax_usd_per_t", "number", default=0.0, unit="USD/t",
                       minimum=NONNEG, description="Mineral extraction tax per tonne output."),
            ),
            key=("deposit",),
        ),
        Sheet(
            "Routes",
            "One-way transport links between nodes.",
            (
                Column("origin", "ref", True, ref="Nodes", description="From node."),
                Column("destination", "ref", True, ref="Nodes", description="To node."),
                Column("mode", "enum", True, choices=ROUTE_MODES, description="Transport mode."),
                Column("distance_km", "number", default=0.0, unit="km", minimum=NONNEG,
                       description="Distance."),
                Column("cost_usd_per_t", "number", default=0.0, unit="USD/t", minimum=NONNEG,
                       description="Fixed cost per tonne (handling, freight)."),
                Column("cost_usd_per_tkm", "number", default=0.0, unit="USD/t-km",
                       minimum=NONNEG, description="Cost per tonne-kilometre."),
                Column("capacity_t_per_year", "number", unit="t/yr", minimum=NONNEG,
                       description="Tonnes per year, all products; blank = unlimited."),
                Column("products", "names", description="Products allowed (comma list); "
                       "blank = all."),
                Column("first_year", "year", description="First year open [first_year]."),
                Column("last_year", "year", description="Last year open [last_year]."),
            ),
            key=("origin", "destination", "mode"),
        ),
        Sheet(
            "Markets",
            "Where products are sold or bought, at what price and in what amounts.",
            (
                Column("market", "name", True, description="Market name."),
                Column("node", "ref", True, ref="Nodes", description="Node where trade happens."),
                Column("product", "ref", True, ref="Products", description="Product."),
                Column("direction", "enum", True, choices=MARKET_DIRECTIONS,
                       description="sell = we sell, buy = we buy."),
                Column("scope", "enum", True, choices=MARKET_SCOPES,
                       description="sell: domestic/export; buy: domestic/import."),
                Column("year", "year", description="Blank = every year without its own row."),
                Column("price_usd_per_t", "number", True, unit="USD/t", minimum=NONNEG,
                       description="Price per tonne of product."),
                Column("min_t", "number", default=0.0, unit="t/yr", minimum=NONNEG,
                       description="Minimum tonnes per year (soft with a Settings penalty)."),
                Column("max_t", "number", unit="t/yr", minimum=NONNEG,
                       description="Maximum tonnes per year; blank = unlimited (on a row with "
                       "an elasticity: half the tonnes at which the price would reach 0, "
                       "−elasticity × market_size_t ÷ 2)."),
                Column("elasticity", "number", unit="fraction",
                       description="Price response of a sell row (< 0): the price falls as "
                       "the row sells more, P(q) = price × (1 + q ÷ (elasticity × "
                       "market_size_t)); price_usd_per_t is then the price at q = 0. "
                       "Blank = a fixed price."),
                Column("market_size_t", "number", unit="t/yr",
                       description="Size of the market the row sells into (> 0), needed "
                       "with an elasticity: selling −elasticity × market_size_t tonnes "
                       "would bring the price to 0."),
            ),
            key=("market", "product", "direction", "scope", "year"),
            year_column="year",
        ),
        Sheet(
            "Policy",
            "Policy instruments: duties, quotas, subsidies, capex relief, processing "
            "share, investment budget, domestic demand support.",
            (
                Column("instrument", "enum", True, choices=INSTRUMENTS, description="Instrument."),
                Column("target", "target", description="Product, stage<=N, stage>=N, process, "
                       "node, node kind or stage N, depending on the instrument; blank = all. "
                       "Compared without case; stage forms without spaces."),
                Column("year", "year", description="Blank = every year without its own row."),
                Column("value", "number", False, minimum=NONNEG,
                       description="Rate, share (fractions 0–1), tonnes, USD or MUSD."),
            ),
            key=("instrument", "target", "year"),
            year_column="year",
        ),
        Sheet(
            "Scenarios",
            "Named what-if changes to rows of other sheets.",
            (
                Column("scenario", "name", True, description="Scenario name (a file-name stem)."),
                Column("sheet", "text", True, description="Sheet whose rows change."),
                Column("key", "text", True, description="Key columns joined by |; * = any."),
                Column("column", "text", True, description="Column to change."),
                Column("value", "text", description="New value (exactly one of value, factor)."),
                Column("factor", "number", description="Multiplier (exactly one of value, "
                       "factor)."),
            ),
        ),
        Sheet(
            "Sources",
            "Where the numbers come from.",
            (
                Column("source", "name", True, description="Short name used in source columns."),
                Column("reference", "text", True, description="Document, table, page or "
                       "address."),
                Column("year", "integer", description="Publication year."),
            ),
            key=("source",),
        ),
    )
}

SHEET_ORDER = tuple(SHEETS)
IGNORED_SHEETS = ("README",)


# ------------------------------------------------------- results workbook (docs/model.md §12)
# Every sheet of the results workbook with its columns, declared like the input columns:
# the single source for writing (column order, number formats: optmodel.results.tables)
# and reading results back (types: optmodel.io.results_read).  Kinds: text, number,
# integer, year; "mixed" columns hold text and numbers (Summary and Run values).

_MONEY, _TONNES, _PRICE = "#,##0.000", "#,##0.0", "#,##0.00"


def _t(name: str, description: str = "") -> Column:
    return Column(name, "text", description=description)


def _n(name: str, unit: str, fmt: str | None, description: str = "") -> Column:
    return Column(name, "number", unit=unit, number_format=fmt, description=description)


def _y(name: str = "year", description: str = "") -> Column:
    return Column(name, "year", description=description)


def _i(name: str, description: str = "") -> Column:
    return Column(name, "integer", description=description)


@dataclass(frozen=True)
class OutputSheet:
    """One sheet of the results workbook: its columns and what a row is."""

    name: str
    description: str
    columns: tuple[Column, ...]
    optional: bool = False  # absent from workbooks of older versions: never made up

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


OUTPUT_SHEETS: dict[str, OutputSheet] = {s.name: s for s in (
    OutputSheet("Summary", "One line per result (see the meaning column).", (
        _t("metric"), Column("value", "mixed", number_format="#,##0.######"), _t("unit"),
        _t("meaning"))),
    OutputSheet("Builds", "Units built, by option and start year.", (
        _t("option"), _t("node"), _t("process"), _y(description="start year"),
        _n("units", "units", "0.###"), _n("capacity_added", "activity/yr", _TONNES),
        _y("online_year"), _n("capex_musd", "MUSD", _MONEY),
        _n("fixed_om_musd", "MUSD", _MONEY))),
    OutputSheet("Activity", "Each process's activity by node and year.", (
        _t("node"), _t("process"), _y(), _n("activity", "activity", _TONNES),
        _n("capacity", "activity/yr", _TONNES), _n("utilisation", "fraction", "0.0%"),
        _n("opex_musd", "MUSD", _MONEY), _n("subsidy_musd", "MUSD", _MONEY))),
    OutputSheet("Flows", "Tonnes on each route by product and year.", (
        _t("origin"), _t("destination"), _t("mode"), _t("product"), _y(),
        _n("tonnes", "t", _TONNES), _n("cost_musd", "MUSD", _MONEY))),
    OutputSheet("Trade", "Tonnes sold and bought on each market row and year.", (
        _t("market"), _t("node"), _t("product"), _t("direction"), _t("scope"), _y(),
        _n("tonnes", "t", _TONNES), _n("price_usd_per_t", "USD/t", _PRICE),
        _n("realised_price_usd_per_t", "USD/t", _PRICE),
        _n("market_price_usd_per_t", "USD/t", _PRICE), _n("value_musd", "MUSD", _MONEY),
        _n("duty_musd", "MUSD", _MONEY), _n("support_musd", "MUSD", _MONEY),
        _n("unmet_t", "t", _TONNES))),
    OutputSheet("Disposal", "Tonnes disposed of by node, product and year.", (
        _t("node"), _t("product"), _y(), _n("tonnes", "t", _TONNES),
        _n("cost_musd", "MUSD", _MONEY))),
    OutputSheet("Extraction", "Mining by deposit and year, with the reserve left.", (
        _t("deposit"), _t("node"), _t("product"), _y(), _n("tonnes", "t", _TONNES),
        _n("tax_musd", "MUSD", _MONEY), _n("reserve_left_t", "t", _TONNES))),
    OutputSheet("Depth", "REO tonnes sold at home and exported, by stage and year.", (
        _y(), _i("stage"), _n("reo_t_sold_domestic", "t REO", _TONNES),
        _n("reo_t_exported", "t REO", _TONNES))),
    OutputSheet("Prices", "Shadow price of each product at each node and year.", (
        _t("node"), _t("product"), _y(),
        _n("shadow_price_usd_per_t", "USD/t of that year", _PRICE))),
    OutputSheet("Binding", "Constraints at their limit, with their duals.", (
        _t("constraint"), _t("index"), _n("slack", "", None), _n("dual", "", None),
        _t("dual_unit"))),
    OutputSheet("Warnings", "Input and plan warnings.", (
        _t("sheet"), _i("row"), _t("message"))),
    OutputSheet("Inputs", "The input the run used, one line per non-blank cell.", (
        _t("sheet"), _t("key"), _t("column"), Column("value", "mixed")), optional=True),
    OutputSheet("Run", "Everything needed to reproduce the run.", (
        _t("key"), Column("value", "mixed"))),
    OutputSheet("Nodes", "The input's nodes (for maps).", (
        _t("node"), _t("kind"), _t("region"), _t("country"), _n("lat", "degrees", None),
        _n("lon", "degrees", None))),
    OutputSheet("Products", "The input's products.", (
        _t("product"), _i("stage"), _n("reo_content", "t REO/t", None))),
)}

# ---------------------------------------------------------------- results: Summary meanings
# One sentence per Summary line (the results workbook's `meaning` column, docs/model.md §12, and
# the README's KPI section).  Money lines are undiscounted sums over the horizon unless
# they say otherwise.
OBJECTIVE_TERM_MEANINGS: dict[str, str] = {
    "revenue": "Money from every sell row: price × tonnes (the realised revenue on a "
               "price-response row), before duty and support.",
    "purchases": "Money paid on every buy row: price × tonnes.",
    "export_duties": "Export duty paid: rate × value on export sell rows of the products a "
                     "duty row targets (highest rate when several apply).",
    "import_duties": "Import duty paid: rate × value on import buy rows of the products a "
                     "duty row targets.",
    "opex": "Variable operating cost of processes: opex per activity unit × activity.",
    "subsidies": "Processing subsidies received: subsidy per activity unit × activity of "
                 "the targeted processes.",
    "support": "Domestic demand support received from the state: value per tonne × tonnes "
               "on domestic sell rows of the targeted products.",
    "fixed_om": "Fixed operation and maintenance of built units, for every year they are "
                "alive.",
    "transport": "Shipping cost on routes: tonnes × (cost per tonne + cost per tonne-km × "
                 "distance).",
    "extraction_tax": "Extraction tax on the gross output of deposits.",
    "disposal": "Cost of disposing of products that are removed for good.",
    "unmet_penalty": "Penalty for demand below a sell row's minimum (with a Settings "
                     "penalty).",
    "capex": "Investment in built units after capex relief, paid in the start year.",
    "opening_cost": "One-off cost of opening new sites (not discounted, no relief).",
    "salvage": "Value of the unused lifetime of units still alive at the end of the horizon "
               "(when Settings salvage is on).",
}
SUMMARY_MEANINGS: dict[str, str] = {
    "npv_musd": "Net present value of the chain: every income minus every cost, discounted "
                "to first_year; the number the model maximises.",
    "objective_bound_musd": "Best NPV the solver could still prove possible; equal to "
                            "npv_musd when the solve is optimal.",
    "mip_gap": "Relative distance between npv_musd and the bound (0 = proven optimal).",
    "status": "How the solve ended: optimal, or time_limit with the best plan found.",
    **{f"{k}_musd": v for k, v in OBJECTIVE_TERM_MEANINGS.items()},
    "processing_depth_index": "Average stage of what is sold, weighted by tonnes of REO "
                              "content (0 ore … 5 magnet, 6 end product); higher = deeper "
                              "processing.",
    "raw_export_share": "REO tonnes exported as ore, concentrate or mixed compounds (stage "
                        "≤ 2) divided by REO tonnes mined.",
    "domestic_value_added_musd": "Revenue on every sell row minus purchases on every buy "
                                 "row: the gross value the chain adds to what it buys.",
    "unmet_demand_t": "Tonnes by which sales fall short of sell rows' minimums, over all "
                      "years.",
    "relief_given_musd": "Capex relief the state gives up (less the salvage that relief "
                         "removed).",
    "fiscal_net_musd": "The state's net receipts: duties + extraction tax − subsidies − "
                       "support − relief given.",
    "pv_fiscal_net_musd": "fiscal_net_musd with each item discounted as in the NPV.",
    "national_npv_musd": "npv_musd + pv_fiscal_net_musd: the plan's value to the country, "
                         "as if every transfer between state and chain were zero.",
}


def summary_meaning(metric: str) -> str:
    """The one-sentence meaning of a Summary line ("" for an unknown line)."""
    if metric in SUMMARY_MEANINGS:
        return SUMMARY_MEANINGS[metric]
    if metric.startswith("pv_") and metric.endswith("_musd"):
        term = metric[3:-5]
        if term in OBJECTIVE_TERM_MEANINGS:
            return (f"{term.replace('_', ' ').capitalize()}, discounted, income + and "
                    "costs −; the pv_ lines add up to npv_musd.")
    return ""
