"""Batch caches (optmodel.batch.cache): sheets and plant cores found again by content give
the same tables, issues, model data and constraint families as making them afresh, for
valid and invalid overrides alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optmodel.batch.cache import CoreCache, SheetCache
from optmodel.input.scenarios import Override, apply_overrides
from optmodel.input.validate import validate_raw
from optmodel.io.read import read_raw
from optmodel.schema import SHEETS

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
    cache = SheetCache()
    validate_raw(raw, cache=cache)  # the base workbook's sheets are remembered
    run = apply_overrides(raw, changes)
    fresh_tables, fresh_issues = validate_raw(run)
    hits = cache.hits
    cached_tables, cached_issues = validate_raw(run, cache=cache)
    # every sheet the overrides leave alone is found again by its content
    changed = {o.sheet for o in changes}
    data_sheets = [k for k in run if k in SHEETS]  # README is not a data sheet
    assert cache.hits - hits == len(data_sheets) - len(changed)
    assert _issues(cached_issues) == _issues(fresh_issues)
    assert fresh_tables.settings == cached_tables.settings
    for name, frame in fresh_tables.frames.items():
        pd.testing.assert_frame_equal(cached_tables.frames[name], frame)
    if changes and changes[0].value == -1:
        assert any(i.sheet == "Markets" and i.severity == "error" for i in cached_issues)


def test_cache_hands_out_copies():
    """A run that changes its tables cannot change what the next run gets."""
    raw = {k: v for k, v in read_raw(BASE).items() if k.lower() != "scenarios"}
    cache = SheetCache()
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


def test_model_data_from_the_core_cache_equals_a_fresh_build():
    """Runs in batch order, one cache: every run's model data and constraint families equal
    a build without it, and the core is shared exactly when the core sheets' content is one
    seen before (whatever object holds it)."""
    from optmodel.model.build import build_model
    from optmodel.model.data import build_model_data

    raw = {k: v for k, v in read_raw(BASE).items() if k.lower() != "scenarios"}
    cores = CoreCache()
    seen_core_change = set()
    # one round covers every path (the first run fills the cache, later ones use it); the
    # first run again at the end finds it filled
    for i, (changes, core_unchanged) in enumerate(RUNS + RUNS[:1]):
        run = apply_overrides(raw, changes)
        tables, _ = validate_raw(run)
        fresh, _ = validate_raw(run)
        a, bm_a, shared = cores.model(run, tables)
        b = build_model_data(fresh)
        key = None if core_unchanged else repr(changes)
        expect_shared = (i > 0 if core_unchanged else key in seen_core_change)
        seen_core_change.add(key)
        assert shared == expect_shared, (i, changes)
        for name in MODEL_FRAMES:
            pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
        _assert_same_structure(bm_a, build_model(b))


def test_shared_core_is_never_changed_by_a_run():
    """A run that changes its model data cannot change what the next run gets."""
    raw = {k: v for k, v in read_raw(BASE).items() if k.lower() != "scenarios"}
    cores = CoreCache()
    tables, _ = validate_raw(raw)
    first, _, _ = cores.model(raw, tables)
    first.act.loc[:, "existing_capacity"] = -1.0
    second, _, shared = cores.model(raw, validate_raw(raw)[0])
    assert shared and (second.act["existing_capacity"] >= 0).all()


def test_a_cell_written_back_to_its_base_value_shares_the_core():
    """Content, not object identity: a copied sheet with the base's values is the same."""
    raw = {k: v for k, v in read_raw(BASE).items() if k.lower() != "scenarios"}
    cores = CoreCache()
    cores.model(raw, validate_raw(raw)[0])
    same = apply_overrides(raw, [Override("BuildOptions", "*", "capex_musd", factor=1.0)])
    assert same["BuildOptions"] is not raw["BuildOptions"]
    _, _, shared = cores.model(same, validate_raw(same)[0])
    assert shared


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


def test_a_price_change_shares_every_constraint_family_and_a_quantity_change_none():
    """Two runs that differ only in Markets prices share every constraint family (the same
    objects: prices enter only the objective), while their objectives differ; a change of
    a Markets quantity (max_t) makes the market families afresh, equal to a fresh build."""
    from optmodel.model.build import build_model
    from optmodel.model.data import build_model_data
    from optmodel.model.objective import objective_coefficients

    raw = {k: v for k, v in read_raw(BASE).items() if k.lower() != "scenarios"}
    cores = CoreCache()
    price = [Override("Markets", "*|NdPr_oxide|sell|export|*", "price_usd_per_t", value=90000)]
    qty = [Override("Markets", "Japan|NdPr_metal|sell|export|", "max_t", value=50)]
    _, first, _ = cores.model(raw, validate_raw(raw)[0])
    run = apply_overrides(raw, price)
    _, second, _ = cores.model(run, validate_raw(run)[0])
    assert all(second.cons[n] is first.cons[n] for n in first.cons)
    c1, c2 = objective_coefficients(first), objective_coefficients(second)
    assert any(not np.array_equal(c1[f], c2[f]) for f in c1)
    run = apply_overrides(raw, qty)
    tables = validate_raw(run)[0]
    _, third, _ = cores.model(run, tables)
    assert third.cons["market_max"] is not first.cons["market_max"]
    _assert_same_structure(third, build_model(build_model_data(validate_raw(run)[0])))
