"""The template input workbook (``python run.py template FILE.xlsx``).

Everything here is generated from :mod:`optmodel.schema`: one sheet per entry
of :data:`~optmodel.schema.SHEETS` in schema order with exactly its headers,
required headers in red, a comment on every header (meaning, unit, default,
allowed values), drop-down lists on enumerated columns and on references to
the Nodes, Products and Processes sheets, and a first ``README`` sheet (which
the loader ignores) describing every sheet and column.  With ``example=True``
the sheets carry a small, consistent example that validates and solves: one
mine, one plant, one port, an export and a domestic market, ore → concentrate
→ separated oxide, one build option.  Its numbers are illustrative only;
every example row says ``assumption`` in its ``source`` column.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
from xlsxwriter.utility import xl_col_to_name

from optmodel import schema
from optmodel.input.validate import RULES
from optmodel.io.write import SheetSpec, check_writable, write_workbook
from optmodel.schema import SHEETS, Column, Sheet

README = "README"
#: Rows of the referenced sheets that the drop-down lists of references cover.
LIST_ROWS = 1000
#: Rows below the header that carry the data validations.
VALIDATION_ROWS = LIST_ROWS

#: Each Policy instrument: the form of its target, and what its value means (MODEL.md §3.1).
INSTRUMENT_HELP: dict[str, tuple[str, str]] = {
    "export_duty_rate": (
        "a product, stage<=N or stage>=N; blank = every product",
        "Rate 0–1 of the price, charged on export sell rows of the matching products.",
    ),
    "import_duty_rate": (
        "a product, stage<=N or stage>=N; blank = every product",
        "Rate 0–1 of the price, charged on import buy rows of the matching products.",
    ),
    "export_quota_t": (
        "a product, stage<=N or stage>=N; blank = every product",
        "Most tonnes per year on export sell rows of the matching products; blank = no quota.",
    ),
    "processing_subsidy_usd_per_activity": (
        "a process; blank = every process",
        "USD paid per unit of activity of the process (rows for the same process add up).",
    ),
    "capex_relief_rate": (
        "a node or a node kind; blank = every node",
        "Fraction 0–1 of capex waived for builds started in the year (the highest applies).",
    ),
    "min_domestic_processing_share": (
        "an integer stage N",
        "Share 0–1: REO tonnes exported below stage N ≤ (1 − share) × REO tonnes sold.",
    ),
    "domestic_demand_support_usd_per_t": (
        "a product, stage<=N or stage>=N; blank = every product",
        "USD the state pays per tonne sold on domestic sell rows of the matching products "
        "(rows matching one product in a year add up): stimulated domestic demand.",
    ),
    "investment_budget_musd": (
        "no target (leave blank)",
        "Most capex (MUSD, after relief) of builds started in the row's year; a blank year "
        "caps the whole horizon.",
    ),
}

_ASSUMPTION = "assumption"


# --------------------------------------------------------------------------- #
# Column documentation, all derived from the schema
# --------------------------------------------------------------------------- #


def sheet_columns(sheet: Sheet) -> list[str]:
    """The sheet's headers in schema order, each once."""
    return list(dict.fromkeys(sheet.column_names))


def _unique_columns(sheet: Sheet) -> list[Column]:
    seen: dict[str, Column] = {}
    for col in sheet.all_columns:
        seen.setdefault(col.name, col)
    return list(seen.values())


def _fmt_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def default_text(col: Column) -> str:
    """The default of an optional column as a planner reads it ('' if required)."""
    if col.required:
        return ""
    if col.default is not None:
        return _fmt_value(col.default)
    bracket = re.search(r"\[([^\]]+)\]", col.description)
    if bracket:
        return bracket.group(1)
    blank = re.search(r"[Bb]lank = ([^;.]+)", col.description)
    if blank:
        return "blank = " + blank.group(1).strip()
    return "blank"


def allowed_text(col: Column) -> str:
    return col.expected()


def header_comment(col: Column) -> str:
    """Text of the comment on a header cell: meaning, unit, default, allowed values."""
    lines = [f"{col.name} — {'REQUIRED' if col.required else 'optional'}"]
    if col.description:
        lines.append(col.description)
    if col.unit:
        lines.append(f"Unit: {col.unit}")
    if not col.required:
        lines.append(f"Default: {default_text(col)}")
    lines.append(f"Allowed: {allowed_text(col)}")
    return "\n".join(lines)


def _list_source(ref_sheet: str) -> str:
    """A list-validation formula pointing at a sheet's name (first key) column."""
    target = SHEETS[ref_sheet]
    name_col = target.key[0] if target.key else target.columns[0].name
    letter = xl_col_to_name(sheet_columns(target).index(name_col))
    return f"={ref_sheet}!${letter}$2:${letter}${LIST_ROWS}"


def column_validation(col: Column) -> list[str] | str | None:
    """Drop-down list for a column: allowed values or a formula, None if none fits."""
    if col.kind == "enum" and col.choices:
        return list(col.choices)
    if col.kind == "bool":
        return ["yes", "no"]
    if col.kind == "ref" and col.ref in SHEETS:
        return _list_source(col.ref)
    return None


def _validations(sheet: Sheet) -> dict[str, list[str] | str]:
    out: dict[str, list[str] | str] = {}
    for col in _unique_columns(sheet):
        rule = column_validation(col)
        if rule is not None:
            out[col.name] = rule
    if sheet.name == "Scenarios" and "sheet" in sheet.column_names:
        out["sheet"] = [s for s in SHEETS if s != "Scenarios"]
    return out


def _width(col: Column, values: list[Any]) -> float:
    base = {"text": 18, "name": 18, "ref": 18, "names": 22, "enum": 14}.get(col.kind, 12)
    if col.name == "note":
        base = 40
    elif col.name in ("reference", "description"):
        base = 45
    longest = max([len(_fmt_value(v)) for v in values if v is not None] or [0])
    return float(min(max(base, len(col.name) + 3, longest + 2), 60))


# --------------------------------------------------------------------------- #
# README sheet
# --------------------------------------------------------------------------- #

README_COLUMNS = ["sheet", "column", "required", "allowed values", "unit", "default", "meaning"]


def _general_lines() -> list[str]:
    required = [s.name for s in SHEETS.values() if s.required]
    optional = [s.name for s in SHEETS.values() if not s.required]
    yearly = [f"{s.name}.{s.year_column}" for s in SHEETS.values() if s.year_column]
    common = ", ".join(c.name for c in schema.COMMON_COLUMNS)
    return [
        "Input workbook of optmodel (the model chooses where to mine, process and sell rare "
        "earths; see MODEL.md). This README sheet is ignored by the loader.",
        "Headers are in row 1 (case-insensitive, surrounding spaces ignored). Red headers are "
        "required columns, blue ones optional; hover over a header for its meaning, unit, "
        "default and allowed values. A blank cell takes the column default.",
        "Required sheets: " + ", ".join(required) + ". Optional sheets (a missing one is an "
        "empty table): " + ", ".join(optional) + ".",
        f"Every sheet also accepts the columns {common}: "
        + " ".join(c.description for c in schema.COMMON_COLUMNS),
        "Money is MUSD where the column name says musd and USD where it says usd; capacities "
        "are in activity units per year (Processes.activity_unit says what one unit is).",
        "Names are compared case-sensitively after trimming, may not contain the characters "
        + " ".join(schema.FORBIDDEN_NAME_CHARS)
        + " and may not begin with "
        + " ".join(schema.FORMULA_PREFIXES)
        + ".",
        "Year columns (" + ", ".join(yearly) + "): a row with a year applies to that year only "
        "and replaces the blank-year row with the same other key columns (its own blank cells "
        "take the column default); a blank-year row fills every other year; nothing carries "
        "forward.",
        "Drop-down lists: enumerated columns offer their allowed values, and node, product and "
        f"process columns offer the names in rows 2–{LIST_ROWS} of the Nodes, Products and "
        "Processes sheets. Other entries are warned about by Excel, not refused; "
        "`python run.py validate FILE.xlsx` checks the whole workbook.",
    ]


def _readme_frame() -> pd.DataFrame:
    rows: list[dict[str, Any]] = []

    def add(**kw: Any) -> None:
        rows.append({c: kw.get(c.replace(" ", "_")) for c in README_COLUMNS})

    for line in _general_lines():
        add(sheet=README, meaning=line)
    for sheet in SHEETS.values():
        rows.append({})
        key = "|".join(sheet.key)
        meaning = sheet.description
        if key:
            meaning += f" Identifying columns (no two rows alike): {key}."
        add(
            sheet=sheet.name,
            column="(sheet)",
            required="yes" if sheet.required else "no",
            meaning=meaning,
        )
        for col in _unique_columns(sheet):
            add(
                sheet=sheet.name,
                column=col.name,
                required="yes" if col.required else "no",
                allowed_values=allowed_text(col),
                unit=col.unit or None,
                default=default_text(col) or None,
                meaning=col.description,
            )
        if sheet.name == "Settings":
            for key_name in schema.SETTINGS_KEYS:
                default = schema.SETTING_DEFAULTS.get(key_name)
                required = key_name in schema.REQUIRED_SETTINGS
                if required:
                    shown = None
                elif default is None:
                    shown = "blank"
                elif isinstance(default, bool):
                    shown = "on" if default else "off"
                else:
                    shown = _fmt_value(default)
                add(
                    sheet=sheet.name,
                    column=f"key = {key_name}",
                    required="yes" if required else "no",
                    default=shown,
                    meaning=schema.SETTING_HELP.get(key_name, ""),
                )
        if sheet.name == "Policy":
            for instrument in schema.INSTRUMENTS:
                target, value = INSTRUMENT_HELP.get(instrument, ("", ""))
                add(
                    sheet=sheet.name,
                    column=f"instrument = {instrument}",
                    allowed_values=f"target: {target}" if target else None,
                    meaning=value,
                )
    rows.append({})
    add(sheet=README, column="(checks)",
        meaning="Besides each column's type, range and allowed values, every workbook is "
        "checked by these rules (an error stops the run; a warning is only listed):")
    for rule in RULES:
        sheets = "all sheets" if rule.sheets == ("*",) else ", ".join(rule.sheets)
        add(sheet=sheets, column=rule.name, required=rule.severity, meaning=rule.description)
    frame = pd.DataFrame(rows, columns=README_COLUMNS, dtype=object)
    return frame.astype(object).where(frame.notna(), None)


def _readme_spec() -> SheetSpec:
    return SheetSpec(
        README,
        _readme_frame(),
        widths={"sheet": 15, "column": 30, "required": 9, "allowed values": 42, "unit": 22,
                "default": 18, "meaning": 90},
        wrap_columns=("allowed values", "meaning", "default"),
        autofilter=True,
        freeze=True,
    )


# --------------------------------------------------------------------------- #
# Example data (illustrative, consistent, solvable)
# --------------------------------------------------------------------------- #


def _example_rows() -> dict[str, list[dict[str, Any]]]:
    first, last = 2026, 2035
    settings_values: dict[str, Any] = {
        "first_year": first,
        "last_year": last,
        "discount_rate": 0.08,
        "currency": "USD",
        "mip_gap": 1e-4,
        "salvage": "on",
        "threads": 1,
    }
    return {
        "Settings": _settings_rows(settings_values),
        "Nodes": [
            {"node": "Tomtor", "kind": "mine", "region": "Sakha (Yakutia)", "country": "Russia",
             "lat": 71.0, "lon": 116.5, "note": "Example mine with a beneficiation plant."},
            {"node": "Krasnoyarsk", "kind": "plant", "region": "Krasnoyarsk krai",
             "country": "Russia", "lat": 56.01, "lon": 92.87,
             "note": "Site where a separation plant may be built."},
            {"node": "Vladivostok", "kind": "port", "region": "Primorsky krai",
             "country": "Russia", "lat": 43.12, "lon": 131.89},
            {"node": "Japan", "kind": "market", "country": "Japan", "lat": 35.44, "lon": 139.64,
             "note": "Export market (Yokohama)."},
        ],
        "Products": [
            {"product": "ore", "stage": 0, "reo_content": 0.10},
            {"product": "concentrate", "stage": 1, "reo_content": 0.40},
            {"product": "oxide", "stage": 3, "reo_content": 0.99,
             "note": "Separated rare-earth oxides (a basket)."},
        ],
        "Processes": [
            {"process": "mining", "stage_from": 0, "stage_to": 0, "activity_unit": "t ore mined"},
            {"process": "beneficiation", "stage_from": 0, "stage_to": 1,
             "activity_unit": "t ore treated"},
            {"process": "separation", "stage_from": 1, "stage_to": 3,
             "activity_unit": "t concentrate treated"},
        ],
        "Recipes": [
            {"process": "mining", "product": "ore", "direction": "out", "qty_per_activity": 1.0},
            {"process": "beneficiation", "product": "ore", "direction": "in",
             "qty_per_activity": 1.0},
            {"process": "beneficiation", "product": "concentrate", "direction": "out",
             "qty_per_activity": 0.2, "note": "80 % REO recovery: 0.2 t at 40 % from 1 t at 10 %."},
            {"process": "separation", "product": "concentrate", "direction": "in",
             "qty_per_activity": 1.0},
            {"process": "separation", "product": "oxide", "direction": "out",
             "qty_per_activity": 0.35},
        ],
        "NodeProcesses": [
            {"node": "Tomtor", "process": "mining", "existing_capacity": 60000,
             "opex_usd_per_activity": 30},
            {"node": "Tomtor", "process": "beneficiation", "existing_capacity": 60000,
             "opex_usd_per_activity": 40},
            {"node": "Krasnoyarsk", "process": "separation", "existing_capacity": 0,
             "opex_usd_per_activity": 1500, "note": "No plant yet: capacity comes from builds."},
        ],
        "BuildOptions": [
            {"option": "Krasnoyarsk separation 5 kt", "node": "Krasnoyarsk",
             "process": "separation", "unit_capacity": 5000, "capex_musd": 120,
             "fixed_om_musd_per_year": 4, "lead_time_years": 1, "earliest_year": first,
             "max_units": 2, "lifetime_years": 20, "divisible": "no"},
        ],
        "Deposits": [
            {"deposit": "Tomtor ore", "node": "Tomtor", "product": "ore", "reserve_t": 500000,
             "max_per_year_t": 50000, "extraction_tax_usd_per_t": 5},
        ],
        "Routes": [
            {"origin": "Tomtor", "destination": "Krasnoyarsk", "mode": "river",
             "distance_km": 3000, "cost_usd_per_t": 40, "cost_usd_per_tkm": 0.05,
             "capacity_t_per_year": 20000, "products": "concentrate"},
            {"origin": "Krasnoyarsk", "destination": "Vladivostok", "mode": "rail",
             "distance_km": 4900, "cost_usd_per_t": 20, "cost_usd_per_tkm": 0.04,
             "products": "oxide"},
            {"origin": "Vladivostok", "destination": "Japan", "mode": "sea",
             "distance_km": 1900, "cost_usd_per_t": 30, "cost_usd_per_tkm": 0.01,
             "products": "oxide"},
        ],
        "Markets": [
            {"market": "Japan oxide", "node": "Japan", "product": "oxide", "direction": "sell",
             "scope": "export", "price_usd_per_t": 25000, "max_t": 3000},
            {"market": "Domestic oxide", "node": "Krasnoyarsk", "product": "oxide",
             "direction": "sell", "scope": "domestic", "price_usd_per_t": 22000,
             "elasticity": -0.5, "market_size_t": 2000,
             "note": "Magnet and alloy makers in Russia. The price falls as more is sold: "
             "22 000 USD/t for the first tonne, 11 000 at 2 000 t; max_t blank = 500 t."},
        ],
        "Policy": [
            {"instrument": "export_duty_rate", "target": "stage<=1", "value": 0,
             "note": "Neutral lever (no duty) that the scenario below raises."},
            {"instrument": "domestic_demand_support_usd_per_t", "target": "stage>=3",
             "value": 0, "note": "Neutral lever: state support per tonne of separated oxide "
             "or deeper sold in Russia; the scenario below sets it."},
        ],
        "Scenarios": [
            {"scenario": "concentrate_duty", "sheet": "Policy",
             "key": "export_duty_rate|stage<=1|", "column": "value", "value": 0.3,
             "note": "30 % export duty on ore and concentrate."},
            {"scenario": "demand_support", "sheet": "Policy",
             "key": "domestic_demand_support_usd_per_t|stage>=3|", "column": "value",
             "value": 3000, "note": "3 000 USD/t support for domestic sales of oxide and "
             "deeper products."},
        ],
        "Sources": [],
    }


def _settings_rows(values: dict[str, Any], every_key: bool = False) -> list[dict[str, Any]]:
    """Settings rows in schema order with their help text as the note: the keys given
    values, or every key (blank values) when ``every_key``."""
    return [
        {"key": k, "value": values.get(k), "note": schema.SETTING_HELP.get(k)}
        for k in schema.SETTINGS_KEYS
        if every_key or k in values
    ]


def example_frames() -> dict[str, pd.DataFrame]:
    """The example tables, one per schema sheet (empty frames where no rows)."""
    rows = _example_rows()
    frames = {}
    for name, sheet in SHEETS.items():
        records = [
            {**r, "source": r.get("source", _ASSUMPTION)} for r in rows.get(name, [])
        ]
        frames[name] = _frame(sheet, records)
    return frames


def _frame(sheet: Sheet, records: list[dict[str, Any]]) -> pd.DataFrame:
    columns = sheet_columns(sheet)
    unknown = {k for r in records for k in r} - set(columns)
    if unknown:  # a programming error: the example drifted from the schema
        raise ValueError(f"{sheet.name}: example uses unknown columns {sorted(unknown)}")
    data = [[r.get(c) for c in columns] for r in records]
    return pd.DataFrame(data, columns=columns, dtype=object)


# --------------------------------------------------------------------------- #
# Writing
# --------------------------------------------------------------------------- #


def template_specs(example: bool = True) -> list[SheetSpec]:
    """The README sheet and one styled sheet per schema sheet, in schema order."""
    if example:
        frames = example_frames()
    else:  # headers only, but list every Settings key for the planner to fill in
        frames = {name: _frame(sheet, []) for name, sheet in SHEETS.items()}
        frames["Settings"] = _frame(SHEETS["Settings"], _settings_rows({}, every_key=True))
    specs = [_readme_spec()]
    for name, sheet in SHEETS.items():
        frame = frames[name]
        cols = _unique_columns(sheet)
        specs.append(
            SheetSpec(
                name,
                frame,
                widths={c.name: _width(c, frame[c.name].tolist()) for c in cols},
                required_columns=[c.name for c in cols if c.required],
                comments={c.name: header_comment(c) for c in cols},
                validations=_validations(sheet),
                validation_rows=VALIDATION_ROWS,
                wrap_columns=("note",),
            )
        )
    return specs


def write_template(path: Path, example: bool = True) -> None:
    """Write the template input workbook to ``path`` (atomically, replacing it).

    Raises :class:`~optmodel.errors.OutputError` when the file cannot be written.
    """
    path = Path(path)
    check_writable(path)
    write_workbook(path, template_specs(example), title="optmodel input template")
