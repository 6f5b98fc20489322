"""A tiny three-stage workbook written through the public writer (shared by tests)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from optmodel.io.write import SheetSpec, write_workbook

ROOT = Path(__file__).resolve().parent.parent


def write_input(path: Path, sheets: dict[str, list[dict]]) -> Path:
    """Write an input workbook from {sheet: rows}."""
    write_workbook(path, [SheetSpec(k, pd.DataFrame(v)) for k, v in sheets.items()])
    return path


def tiny_sheets() -> dict[str, list[dict]]:
    """Mine → concentrate → oxide; a plant to build; concentrate or oxide exported."""
    return {
        "Settings": [dict(key="first_year", value=2026), dict(key="last_year", value=2027),
                     dict(key="discount_rate", value=0.1)],
        "Nodes": [dict(node="Mine", kind="mine", country="Russia"),
                  dict(node="Plant", kind="plant", opening_cost_musd=1, country="Russia"),
                  dict(node="Port", kind="port", country="Russia")],
        "Products": [dict(product="ore", stage=0, reo_content=0.1),
                     dict(product="conc", stage=1, reo_content=0.5),
                     dict(product="oxide", stage=3, reo_content=1.0)],
        "Processes": [dict(process="mining"), dict(process="flot"), dict(process="sep")],
        "Recipes": [
            dict(process="mining", product="ore", direction="out", qty_per_activity=1),
            dict(process="flot", product="ore", direction="in", qty_per_activity=5),
            dict(process="flot", product="conc", direction="out", qty_per_activity=1),
            dict(process="sep", product="conc", direction="in", qty_per_activity=2),
            dict(process="sep", product="oxide", direction="out", qty_per_activity=0.9)],
        "NodeProcesses": [
            dict(node="Mine", process="mining", existing_capacity=1000, opex_usd_per_activity=10),
            dict(node="Mine", process="flot", existing_capacity=200, opex_usd_per_activity=20),
            dict(node="Plant", process="sep", opex_usd_per_activity=100)],
        "BuildOptions": [dict(option="sep1", node="Plant", process="sep", unit_capacity=100,
                              capex_musd=0.5, max_units=2)],
        "Deposits": [dict(deposit="D", node="Mine", product="ore", reserve_t=1500,
                          extraction_tax_usd_per_t=1)],
        "Routes": [
            dict(origin="Mine", destination="Plant", mode="rail", distance_km=100,
                 cost_usd_per_tkm=0.1),
            dict(origin="Mine", destination="Port", mode="rail", distance_km=100,
                 cost_usd_per_tkm=0.1, products="conc"),
            dict(origin="Plant", destination="Port", mode="rail", distance_km=50,
                 cost_usd_per_t=5)],
        "Markets": [
            dict(market="ChinaC", node="Port", product="conc", direction="sell", scope="export",
                 price_usd_per_t=2000),
            dict(market="JapanOx", node="Port", product="oxide", direction="sell",
                 scope="export", price_usd_per_t=20000, max_t=50)],
        "Policy": [dict(instrument="export_duty_rate", target="stage<=1", value=0.1)],
        "Scenarios": [dict(scenario="duty50", sheet="Policy", key="export_duty_rate|stage<=1|",
                           column="value", value=0.5)],
    }
