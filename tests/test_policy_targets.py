"""One normaliser for Policy targets (docs/model.md §11.1, §11.4, §11.5) and tables that
must line up.

The seam these tests guard: validation once compared targets as written while the model
normalised them, so `stage<=1` and `Stage <= 1` passed validation as two rows, became one
constraint key with two bounds, and shifted every later row bound in the hand-off to HiGHS
(an optimum for the wrong model, reported as optimal).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from optmodel.errors import EXIT_INPUT, InputError, InternalError
from optmodel.input.targets import normalise_target, product_target_mask
from optmodel.model.linear import ConFamily, VarFamily, con_family, terms_for
from optmodel.pipeline import load_tables, solve_options, solve_tables
from tests.tinycase import tiny_sheets, write_input


@pytest.mark.parametrize(("written", "normal"), [
    ("stage<=1", "stage<=1"), ("Stage <= 1", "stage<=1"), (" STAGE<= 3 ", "stage<=3"),
    ("stage >= 6", "stage>=6"), ("CONC", "conc"), ("  Conc ", "conc"), ("Technopark",
                                                                       "technopark"),
    ("", None), (None, None), (3, "3"),
])
def test_normaliser(written, normal):
    assert normalise_target(written) == normal
    if normal is not None:  # idempotent: normalising twice changes nothing
        assert normalise_target(normal) == normal


def test_product_target_mask():
    product = pd.Series(["ore", "Conc", "oxide"])
    stage = pd.Series([0, 1, 3])
    assert product_target_mask("stage<=1", product, stage).tolist() == [True, True, False]
    assert product_target_mask("stage>=1", product, stage).tolist() == [False, True, True]
    assert product_target_mask("conc", product, stage).tolist() == [False, True, False]
    assert product_target_mask(None, product, stage).tolist() == [True, True, True]


def _policy(tmp_path, rows, name="w.xlsx"):
    sheets = tiny_sheets()
    sheets["Policy"] = rows
    sheets["Scenarios"] = []
    return write_input(tmp_path / name, sheets)


def test_targets_equal_after_normalising_are_duplicates(tmp_path):
    path = _policy(tmp_path, [
        dict(instrument="export_quota_t", target="stage<=1", value=10),
        dict(instrument="export_quota_t", target="Stage <= 1", value=20),
        dict(instrument="investment_budget_musd", value=10)])
    with pytest.raises(InputError) as info:
        load_tables(path)
    dups = [i for i in info.value.issues if "duplicate" in i.message]
    assert len(dups) == 1
    assert dups[0].sheet == "Policy" and dups[0].row == 3 and dups[0].column == (
        "instrument|target|year")
    # and on the command line: exit 2 naming Policy, never a solve
    from optmodel.cli import app

    res = CliRunner().invoke(app, ["validate", str(path)])
    assert res.exit_code == EXIT_INPUT
    assert "Policy" in res.output and "duplicate" in res.output


def _npv(path, scenario=None):
    tables = load_tables(path, scenario)
    _, _, sol, res = solve_tables(tables, solve_options(tables.settings, mip_gap=0.0))
    summary = dict(zip(res["Summary"]["metric"], res["Summary"]["value"], strict=True))
    return summary["npv_musd"], summary


def test_product_target_is_case_folded(tmp_path):
    # `CONC` and `conc` name the same product (§3.1): both spellings give the same model,
    # and the duty really applies (it costs NPV against no duty at all).
    upper = _policy(tmp_path, [dict(instrument="export_duty_rate", target="CONC", value=0.3)],
                    "upper.xlsx")
    lower = _policy(tmp_path, [dict(instrument="export_duty_rate", target="conc", value=0.3)],
                    "lower.xlsx")
    none = _policy(tmp_path, [dict(instrument="export_duty_rate", target="conc", value=0.0)],
                   "none.xlsx")
    npv_upper, s_upper = _npv(upper)
    npv_lower, _ = _npv(lower)
    npv_none, _ = _npv(none)
    assert npv_upper == pytest.approx(npv_lower, rel=1e-12)
    assert npv_upper < npv_none - 1e-6
    assert s_upper["export_duties_musd"] > 0


def test_scenario_selector_compares_normalised_targets(tmp_path):
    # the row says `stage<=1`; the scenario's selector writes `Stage <= 1`
    sheets = tiny_sheets()
    sheets["Scenarios"] = [dict(scenario="duty50", sheet="Policy",
                                key="export_duty_rate|Stage <= 1|", column="value", value=0.5)]
    path = write_input(tmp_path / "sel.xlsx", sheets)
    tables = load_tables(path, "duty50")
    pol = tables["Policy"]
    assert pol["target"].tolist() == ["stage<=1"]
    assert pol["value"].tolist() == [0.5]


def test_names_differing_only_in_case_are_an_error(tmp_path):
    sheets = tiny_sheets()
    sheets["Products"].append(dict(product="Conc", stage=1, reo_content=0.5))
    path = write_input(tmp_path / "case.xlsx", sheets)
    with pytest.raises(InputError) as info:
        load_tables(path)
    assert any(i.sheet == "Products" and "differs only in case" in i.message
               for i in info.value.issues)


# ------------------------------------------------------- families check their own tables


def _one_var_family(n=3) -> dict[str, VarFamily]:
    index = pd.DataFrame({"k": [f"x{i}" for i in range(n)], "vid": np.arange(n)})
    return {"x": VarFamily("x", index, ["k"])}


def test_bounds_that_repeat_a_key_are_an_internal_error():
    v = _one_var_family()
    terms = terms_for(v["x"], v["x"].index.assign(row=["a", "a", "b"])[["row", "vid"]], 1.0)
    bounds = pd.DataFrame({"row": ["a", "a", "b"], "upper": [1.0, 2.0, 3.0]})
    with pytest.raises(InternalError, match="repeat a key"):
        con_family("fam", terms, ["row"], v, bounds=bounds)


def test_rows_without_bounds_are_an_internal_error():
    # a bounds table that misses a row (e.g. keys spelt differently) leaves it unbounded
    v = _one_var_family()
    terms = terms_for(v["x"], v["x"].index.assign(row=["a", "b", "c"])[["row", "vid"]], 1.0)
    bounds = pd.DataFrame({"row": ["a", "B", "c"], "upper": [1.0, 2.0, 3.0]})
    with pytest.raises(InternalError, match="without a bound"):
        con_family("fam", terms, ["row"], v, bounds=bounds)


def test_terms_on_missing_variables_are_an_internal_error():
    v = _one_var_family()
    fam = ConFamily("fam", pd.DataFrame({"row": ["a"]}), ["row"], np.array([np.nan]),
                    np.array([1.0]), pd.DataFrame({"con": [0], "fam": ["x"], "vid": [7],
                                                   "coef": [1.0]}))
    with pytest.raises(InternalError, match="do not exist"):
        fam.check(v)
    fam.terms.loc[0, "vid"] = 0
    fam.check(v)  # now it lines up
    fam.lower = np.array([np.nan, 0.0])
    with pytest.raises(InternalError, match="1 rows but 2 lower"):
        fam.check(v)


def test_validation_rules_are_declared_and_listed_in_the_template():
    # every cross-sheet rule is a named entry of RULES, and the template's README sheet
    # lists each one with its severity, so a planner can read what is checked
    from optmodel.input.template import _readme_frame
    from optmodel.input.validate import RULES

    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    assert {"duplicate_keys", "policy", "names_differ_in_more_than_case"} <= set(names)
    readme = _readme_frame()
    listed = readme[readme["column"].isin(names)]
    assert sorted(listed["column"]) == sorted(names)
    assert set(listed["required"]) <= {"error", "warning"}
