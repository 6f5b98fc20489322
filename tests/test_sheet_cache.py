"""Batch validation re-uses unchanged sheets (SheetCache): the same tables and issues as
validating every sheet afresh, for valid and invalid overrides alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optmodel.input.scenarios import Override, apply_overrides
from optmodel.input.validate import SheetCache, validate_raw
from optmodel.io.read import read_raw

BASE = Path(__file__).resolve().parent.parent / "inputs" / "base_case.xlsx"

CHANGES = [
    [],  # nothing changed: every sheet from the cache
    [Override("Markets", "*|NdPr_oxide|sell|export|*", "price_usd_per_t", value=55000)],
    [Override("Markets", "*|NdPr_oxide|sell|export|*", "price_usd_per_t", value=-1)],  # error
    [Override("Markets", "*|NdPr_oxide|sell|export|*", "price_usd_per_t", value="cheap")],
    [Override("Settings", "last_year", "value", value=2030),  # a cross-sheet consequence
     Override("BuildOptions", "*", "capex_musd", factor=1.5)],
]


def _issues(issues):
    return [(i.sheet, i.row, i.column, i.value, i.message, i.severity) for i in issues]


@pytest.mark.parametrize("changes", CHANGES, ids=["none", "price", "negative", "text",
                                                  "two sheets"])
def test_cached_validation_equals_fresh(changes):
    raw = {k: v for k, v in read_raw(BASE).items() if k.lower() != "scenarios"}
    cache = SheetCache(raw)
    run = apply_overrides(raw, changes)
    fresh_tables, fresh_issues = validate_raw(run)
    cached_tables, cached_issues = validate_raw(run, cache=cache)
    assert _issues(cached_issues) == _issues(fresh_issues)
    assert fresh_tables.settings == cached_tables.settings
    for name, frame in fresh_tables.frames.items():
        pd.testing.assert_frame_equal(cached_tables.frames[name], frame)
    if changes and changes[0].value == -1:
        assert any(i.sheet == "Markets" and i.severity == "error" for i in cached_issues)


def test_cache_hands_out_copies():
    """A run that changes its tables cannot change what the next run gets."""
    raw = {k: v for k, v in read_raw(BASE).items() if k.lower() != "scenarios"}
    cache = SheetCache(raw)
    first, _ = validate_raw(raw, cache=cache)
    first.frames["Markets"].loc[:, "price_usd_per_t"] = 0.0
    second, _ = validate_raw(raw, cache=cache)
    assert (pd.to_numeric(second.frames["Markets"]["price_usd_per_t"]) > 0).any()


MODEL_FRAMES = ("nodes", "products", "processes", "recipes", "node_processes", "options",
                "builds", "alive", "act", "flows", "routes", "trade", "dispose", "deposits",
                "policy", "opening")
RUNS = [  # (changes, whether the plant core may come from the memo)
    ([Override("Markets", "*|NdPr_oxide|sell|export|*", "price_usd_per_t", value=55000)], True),
    ([Override("Routes", "*|*|*", "cost_usd_per_t", factor=2.0)], True),
    ([Override("BuildOptions", "*", "capex_musd", factor=0.5)], False),
    ([Override("Policy", "export_duty_rate|stage<=1|", "value", value=0.3)], True),
    # the Policy coefficients of the plant section: relief, subsidy, budget
    ([Override("Policy", "capex_relief_rate|technopark|", "value", value=0.4),
      Override("Policy", "processing_subsidy_usd_per_activity|magnet_making|", "value",
               value=3000),
      Override("Policy", "investment_budget_musd||", "value", value=500)], True),
    ([Override("Settings", "discount_rate", "value", value=0.05)], False),
    ([], True),
]


def test_model_data_from_the_memo_equals_a_fresh_build():
    """Runs in batch order, one memo: every run's model data and constraint families equal
    a build without it, and only runs that leave the core sheets alone use it."""
    from optmodel.model.build import build_model
    from optmodel.model.data import CORE_SHEETS, build_model_data

    raw = {k: v for k, v in read_raw(BASE).items() if k.lower() != "scenarios"}
    cache = SheetCache(raw)
    validate_raw(raw, cache=cache)[0]  # nothing recorded until a run builds model data
    for changes, memo_ok in RUNS * 2:  # the second round finds the memo filled
        run = apply_overrides(raw, changes)
        cached, _ = validate_raw(run, cache=cache)
        fresh, _ = validate_raw(run)
        assert (set(CORE_SHEETS) <= cached.unchanged) == memo_ok
        had_core = "core" in cache.memo
        a, b = build_model_data(cached), build_model_data(fresh)
        assert a.plant_from_memo == (memo_ok and had_core) and not b.plant_from_memo
        for name in MODEL_FRAMES:
            pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
        _assert_same_structure(build_model(a),
                               build_model(b))
    assert {"core", "plant", "families"} <= set(cache.memo)
    assert "process_capacity" in cache.memo["families"]
    assert "investment_budget" not in cache.memo["families"]  # reads Policy: never shared


def _assert_same_structure(x, y):
    """The same variables and constraint rows, coefficients and bounds, in the same order."""
    assert list(x.vars) == list(y.vars) and list(x.cons) == list(y.cons)
    for name, fam in x.vars.items():
        pd.testing.assert_frame_equal(fam.index, y.vars[name].index)
    for name, con in x.cons.items():
        other = y.cons[name]
        pd.testing.assert_frame_equal(con.index, other.index)
        pd.testing.assert_frame_equal(con.terms, other.terms)
        np.testing.assert_array_equal(con.lower, other.lower)
        np.testing.assert_array_equal(con.upper, other.upper)
