"""The --set grammar and the runs a sweep makes (no solver)."""

from __future__ import annotations

import pytest

from optmodel.batch.sweep import SweepParam, parse_set, sweep_runs
from optmodel.errors import InputError


def test_parse_markets_example():
    p = parse_set("Markets|*|NdPr oxide|sell|export|*:price_usd_per_t=40000:140000:11")
    assert (p.sheet, p.selector, p.column) == ("Markets", "*|NdPr oxide|sell|export|*",
                                               "price_usd_per_t")
    assert (p.start, p.stop, p.count, p.integer) == (40000, 140000, 11, False)
    assert p.grid() == [40000 + 10000 * i for i in range(11)]
    assert p.label == "Markets|*|NdPr oxide|sell|export|*:price_usd_per_t"


def test_parse_key_with_equals_sign_blank_position_and_spaces():
    # the Policy target 'stage<=1' contains '=': the target ends at the first ':' + column=
    p = parse_set("  policy|export_duty_rate|stage<=1| : Value = 0 : 0.5 : 6 ")
    assert (p.sheet, p.selector, p.column) == ("Policy", "export_duty_rate|stage<=1|", "value")
    assert p.grid() == pytest.approx([0, 0.1, 0.2, 0.3, 0.4, 0.5])


def test_parse_settings_single_value_and_negative_exponent():
    p = parse_set("Settings|discount_rate:value=5e-2")
    assert p.grid() == [0.05]
    q = parse_set("Settings|discount_rate:value=-0.01:1e-1:3")
    assert q.grid() == pytest.approx([-0.01, 0.045, 0.1])


def test_integer_column_rounds_and_dedupes():
    p = parse_set("BuildOptions|sep1:lead_time_years=1:3:5")
    assert p.integer and p.grid() == [1, 2, 3]
    assert not parse_set("BuildOptions|sep1:max_units=1:3:5").integer  # divisible allows 1.5
    assert isinstance(p.value(2.4), int) and p.value(2.4) == 2


@pytest.mark.parametrize("text, words", [
    ("Markets|*|oxide|sell|export|*", "expected SHEET|KEY:column=start:stop:count"),
    ("Markets:price_usd_per_t=1:2:3", "needs a sheet and a key"),
    ("Nowhere|x:value=1:2:3", "unknown sheet 'Nowhere'"),
    ("Markets|*|oxide:price_usd_per_t=1:2:3", "has 5 position(s)"),
    ("Markets|*|oxide|sell|export|*:price=1:2:3", "no column 'price'"),
    ("Markets|*|oxide|sell|export|*:product=1:2:3", "key column"),
    ("Markets|*|oxide|sell|export|*:price_usd_per_t=a:2:3", "start 'a' is not a number"),
    ("Markets|*|oxide|sell|export|*:price_usd_per_t=1:2:0", "count '0' must be a whole"),
    ("Markets|*|oxide|sell|export|*:price_usd_per_t=1:2:2.5", "count '2.5'"),
    ("Markets|*|oxide|sell|export|*:price_usd_per_t=1:2:3:4", "has 4 parts"),
    ("Markets|*|oxide|sell|export|*:price_usd_per_t=", "the value '' is not a number"),
    ("Nodes|Mine:kind=1:2:3", "needs a numeric column"),
    ("Scenarios|a|b|c:value=1:2:3", "cannot change the Scenarios sheet"),
])
def test_bad_strings_say_what_is_wrong(text, words):
    with pytest.raises(InputError) as e:
        parse_set(text)
    msg = str(e.value)
    assert words in msg, msg
    assert e.value.issues[0].sheet == "--set"


def test_grid_is_cartesian_first_set_slowest():
    params, runs = sweep_runs(["Settings|discount_rate:value=0:0.1:2",
                               "Markets|*|oxide|sell|export|*:max_t=10:30:3"])
    assert [r.name for r in runs] == [f"sweep_00{i}" for i in range(1, 7)]
    assert [tuple(r.params.values()) for r in runs] == [
        (0, 10), (0, 20), (0, 30), (0.1, 10), (0.1, 20), (0.1, 30)]
    assert runs[4].overrides[1].value == 20 and runs[4].overrides[1].sheet == "Markets"
    assert all(o.factor is None for r in runs for o in r.overrides)


def test_samples_are_uniform_independent_and_seeded():
    sets = ["Settings|discount_rate:value=0.02:0.12", "BuildOptions|sep1:capex_musd=1:2:99"]
    _, a = sweep_runs(sets, samples=200, seed=7)
    _, b = sweep_runs(sets, samples=200, seed=7)
    _, c = sweep_runs(sets, samples=200, seed=8)
    assert [r.params for r in a] == [r.params for r in b] != [r.params for r in c]
    rates = [r.params["Settings|discount_rate:value"] for r in a]
    capex = [r.params["BuildOptions|sep1:capex_musd"] for r in a]
    assert 0.02 <= min(rates) and max(rates) <= 0.12 and len(set(rates)) == 200
    assert 1 <= min(capex) and max(capex) <= 2
    assert a[0].name == "sweep_001" and a[-1].name == "sweep_200"


def test_sweep_level_errors_are_collected():
    with pytest.raises(InputError) as e:
        sweep_runs(["Bad", "Markets|x:price_usd_per_t=1:2:3"])
    assert len(e.value.issues) == 2
    with pytest.raises(InputError, match="a grid needs start:stop:count"):
        sweep_runs(["Settings|discount_rate:value=0:1"])
    with pytest.raises(InputError, match="--seed needs --samples"):
        sweep_runs(["Settings|discount_rate:value=0:1:2"], seed=3)
    with pytest.raises(InputError, match="swept twice"):
        sweep_runs(["Settings|discount_rate:value=0:1:2", "settings|discount_rate:value=0:1:3"])
    with pytest.raises(InputError, match="at least one --set"):
        sweep_runs([])
    assert isinstance(parse_set("Settings|discount_rate:value=0:1"), SweepParam)
