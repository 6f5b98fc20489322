"""Compare results workbooks: what changed between runs, in tables and in one line per KPI.

The first workbook is the baseline; every other one is compared with it.
A numeric cell counts as changed when

    |new − base| > tol × max(1, |base|, |new|)

(absolute below 1, relative above), so solver round-off is not reported as
a change. A row present in one run only compares with zero quantities.

Sheets of the difference workbook, in order:

- ``RunDifferences`` (first when the runs come from different input files,
  input SHA-256 or package/model/schema versions; last otherwise): Run-sheet
  keys whose values differ (times of day and wall times left out);
- ``KPIs``: every Summary metric side by side, with the change and relative
  change of each run against the first;
- ``Builds``: options added, removed, resized (units) or moved in time;
- ``Flows``, ``Trade``, ``Activity``: rows that changed, sorted by their
  undiscounted cash impact (``value_impact_musd``, positive = raises NPV);
- ``Prices``: shadow-price changes;
- ``Narrative``: one "what changed" line per changed KPI, derived from the
  tables above.

Command line (``optmodel compare``)::

    optmodel compare A.xlsx B.xlsx [C.xlsx …] [-o DIFF.xlsx] [--html REPORT.html] [--tol T]

    Compare results workbooks; the first is the baseline. Prints one line per
    changed KPI ("NPV −312 MUSD: Novosibirsk separation no longer built; …")
    and writes the details.

    A.xlsx B.xlsx  results workbooks written by `optmodel solve` (same major
                   output schema version).
    -o, --output   difference workbook to write [none: print the narrative only].
    --html         offline HTML page with the narrative, the KPI table and each
                   chart side by side for every run.
    --tol T        a value counts as changed when |b − a| > T·max(1, |a|, |b|)
                   [1e-6].

    Exit codes: 0 compared (also when there are differences); 2 a file is not
    a results workbook or has a different major output schema version; 4 an
    output cannot be written.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from optmodel.errors import InputError, OutputError
from optmodel.io.results_read import read_results, run_values, summary_units, summary_values
from optmodel.io.write import SheetSpec, atomic_write_bytes, check_writable, write_workbook
from optmodel.model.objective import PV_TERM_LINES
from optmodel.report.figures import product_reo, product_stage

log = logging.getLogger(__name__)

DEFAULT_TOL = 1e-6
MINUS = "−"

# Run keys that say where a result comes from: a difference puts RunDifferences first.
PROVENANCE_KEYS = ("input_file", "input_sha256", "output_schema_version", "package_version")
# Run keys that change on every run and are never differences.
VOLATILE_MARKERS = ("start_time", "end_time", "wall", "elapsed", "duration", "timestamp")
# Run keys listed when they differ but not counted as differences.
INFO_KEYS = ("command_line", "host", "hostname", "user")

TABLE_SPECS: dict[str, dict[str, Any]] = {
    # keys, compared columns (summed over duplicate keys), quantity column
    "Flows": {
        "keys": ["origin", "destination", "mode", "product", "year"],
        "values": ["tonnes", "cost_musd"],
        "quantity": "tonnes",
    },
    "Trade": {
        "keys": ["market", "node", "product", "direction", "scope", "year"],
        "values": ["tonnes", "value_musd", "duty_musd", "unmet_t"],
        "quantity": "tonnes",
        "info": ["price_usd_per_t"],
    },
    "Activity": {
        "keys": ["node", "process", "year"],
        "values": ["activity", "opex_musd", "subsidy_musd"],
        "quantity": "activity",
        "info": ["capacity"],
    },
}
BUILD_ORDER = {
    "removed": 0,
    "added": 1,
    "resized and moved": 2,
    "resized": 3,
    "moved": 4,
    "capex changed": 5,
}


@dataclass
class CompareResult:
    """What :func:`compare_results` found and wrote.

    ``tables`` holds the difference workbook's sheets in workbook order;
    ``narrative`` its lines; ``n_differences`` counts changed KPIs, build
    changes, changed Flows/Trade/Activity/Prices rows and counted Run-sheet
    differences (0 when a workbook is compared with itself).
    """

    paths: list[Path]
    labels: list[str]
    tables: dict[str, pd.DataFrame]
    narrative: list[str]
    n_differences: int
    provenance_differs: bool
    out_xlsx: Path | None = None
    out_html: Path | None = None
    run_tables: list[dict[str, pd.DataFrame]] = field(default_factory=list, repr=False)

    @property
    def identical(self) -> bool:
        """True when nothing differs beyond the tolerance."""
        return self.n_differences == 0


# --------------------------------------------------------------------------- helpers


def differs(a: Any, b: Any, tol: float) -> bool:
    """Whether two cells differ: numbers beyond the mixed tolerance, text when unequal."""
    a_num, b_num = _as_float(a), _as_float(b)
    if a_num is not None or b_num is not None:
        if a_num is None or b_num is None:
            return not (_blank(a) and _blank(b))
        if math.isnan(a_num) or math.isnan(b_num):
            return math.isnan(a_num) != math.isnan(b_num)
        return abs(b_num - a_num) > tol * max(1.0, abs(a_num), abs(b_num))
    return (None if _blank(a) else str(a)) != (None if _blank(b) else str(b))


def _blank(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) or v == ""


def _as_float(v: Any) -> float | None:
    if isinstance(v, bool) or _blank(v):
        return None
    if isinstance(v, int | float):
        return float(v)
    return None


def _changed_mask(a: pd.Series, b: pd.Series, tol: float) -> pd.Series:
    a = a.astype(float).fillna(0.0)
    b = b.astype(float).fillna(0.0)
    scale = pd.concat([a.abs(), b.abs()], axis=1).max(axis=1).clip(lower=1.0)
    return (b - a).abs() > tol * scale


def run_labels(paths: Sequence[Path]) -> list[str]:
    """Short unique labels for runs: file stems, ``#2``… appended to repeats."""
    labels: list[str] = []
    for p in paths:
        base = Path(p).stem or str(p)
        label, n = base, 1
        while label in labels:
            n += 1
            label = f"{base} #{n}"
        labels.append(label)
    return labels


def fmt_delta(value: float, unit: str = "") -> str:
    """Signed, readable change: ``−312 MUSD``, ``+0.25``, ``+1,200 t``."""
    a = abs(value)
    if a >= 100:
        text = f"{a:,.0f}"
    elif a >= 10:
        text = f"{a:,.1f}"
    elif a >= 1:
        text = f"{a:,.2f}"
    else:
        text = f"{a:.2g}"
    sign = MINUS if value < 0 else "+"
    return f"{sign}{text}" + (f" {unit}" if unit else "")


METRIC_LABELS = {
    "npv_musd": "NPV",
    "fixed_om_musd": "fixed O&M",
    "capex_musd": "capex",
    "opex_musd": "opex",
    "unmet_demand_t": "unmet demand",
    "support_musd": "domestic demand support",
    "relief_given_musd": "capex relief given",
    "fiscal_net_musd": "fiscal balance",
    "pv_fiscal_net_musd": "fiscal balance (present value)",
    "national_npv_musd": "national NPV",
}


def metric_label(metric: str) -> str:
    """``npv_musd`` → ``NPV``; ``export_duties_musd`` → ``export duties``."""
    if metric in METRIC_LABELS:
        return METRIC_LABELS[metric]
    name = metric
    for suffix in ("_musd", "_t"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name.replace("_", " ")


def metric_unit(metric: str, unit: str) -> str:
    """Short unit for a narrative line: the Summary unit without its remark, else guessed.

    ``"MUSD (discounted to first_year)"`` → ``"MUSD"``; ``"fraction"`` stays.
    """
    unit = (unit or "").split("(", 1)[0].strip()
    if unit:
        return unit
    if metric.endswith("_musd"):
        return "MUSD"
    if metric.endswith("_t"):
        return "t"
    return ""


# --------------------------------------------------------------------------- KPIs


def kpi_table(runs: list[dict[str, pd.DataFrame]], labels: list[str], tol: float) -> pd.DataFrame:
    """Summary metrics side by side with change and relative change against the first run."""
    values = [summary_values(t) for t in runs]
    units: dict[str, str] = {}
    metrics: list[str] = []
    for t in runs:
        for m, u in summary_units(t).items():
            units.setdefault(m, u)
            if m not in metrics:
                metrics.append(m)
    rows = []
    for m in metrics:
        row: dict[str, Any] = {"metric": m, "unit": units.get(m, "")}
        base = values[0].get(m)
        any_change = False
        for label, vals in zip(labels, values, strict=True):
            row[f"value: {label}"] = vals.get(m)
        for label, vals in zip(labels[1:], values[1:], strict=True):
            new = vals.get(m)
            bf, nf = _as_float(base), _as_float(new)
            change = nf - bf if bf is not None and nf is not None else None
            row[f"change: {label}"] = change
            row[f"rel change: {label}"] = (
                change / abs(bf) if change is not None and bf not in (None, 0.0) else None
            )
            if differs(base, new, tol):
                any_change = True
        row["changed"] = "yes" if any_change else ""
        rows.append(row)
    cols = ["metric", "unit"] + [f"value: {lb}" for lb in labels]
    for lb in labels[1:]:
        cols += [f"change: {lb}", f"rel change: {lb}"]
    cols.append("changed")
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------- builds


def _build_summary(builds: pd.DataFrame) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    if builds.empty:
        return out
    for option, g in builds.groupby("option", sort=True, dropna=True):
        g = g.sort_values("year")
        sched = [
            (int(y) if not pd.isna(y) else None, float(u) if not pd.isna(u) else 0.0)
            for y, u in zip(g["year"], g["units"], strict=True)
        ]
        out[str(option)] = {
            "node": g["node"].dropna().iloc[0] if g["node"].notna().any() else None,
            "process": g["process"].dropna().iloc[0] if g["process"].notna().any() else None,
            "units": float(g["units"].fillna(0).sum()),
            "capacity": float(g["capacity_added"].fillna(0).sum()),
            "capex": float(g["capex_musd"].fillna(0).sum()),
            "schedule": sched,
            "start": "; ".join(f"{y} ×{u:g}" for y, u in sched),
            "online": "; ".join(str(int(y)) for y in g["online_year"].dropna().drop_duplicates()),
        }
    return out


def builds_diff(base: pd.DataFrame, new: pd.DataFrame, label: str, tol: float) -> pd.DataFrame:
    """Options added, removed, resized (total units) or moved (start years) between two runs."""
    a, b = _build_summary(base), _build_summary(new)
    rows = []
    for option in sorted(set(a) | set(b)):
        x, y = a.get(option), b.get(option)
        if x is None:
            change = "added"
        elif y is None:
            change = "removed"
        else:
            resized = differs(x["units"], y["units"], tol) or differs(
                x["capacity"], y["capacity"], tol
            )
            moved = [s for s, _ in x["schedule"]] != [s for s, _ in y["schedule"]]
            if resized and moved:
                change = "resized and moved"
            elif resized:
                change = "resized"
            elif moved or any(
                differs(u, v, tol)
                for (_, u), (_, v) in zip(x["schedule"], y["schedule"], strict=True)
            ):
                change = "moved"
            elif differs(x["capex"], y["capex"], tol):
                change = "capex changed"
            else:
                continue
        ref = x or y
        assert ref is not None
        cx = x["capex"] if x else 0.0
        cy = y["capex"] if y else 0.0
        rows.append(
            {
                "run": label,
                "option": option,
                "node": ref["node"],
                "process": ref["process"],
                "change": change,
                "units_base": x["units"] if x else 0.0,
                "units_new": y["units"] if y else 0.0,
                "capacity_base": x["capacity"] if x else 0.0,
                "capacity_new": y["capacity"] if y else 0.0,
                "start_base": x["start"] if x else "",
                "start_new": y["start"] if y else "",
                "online_base": x["online"] if x else "",
                "online_new": y["online"] if y else "",
                "capex_base_musd": cx,
                "capex_new_musd": cy,
                "capex_change_musd": cy - cx,
            }
        )
    cols = [
        "run", "option", "node", "process", "change", "units_base", "units_new",
        "capacity_base", "capacity_new", "start_base", "start_new", "online_base",
        "online_new", "capex_base_musd", "capex_new_musd", "capex_change_musd",
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=cols)
    if frame.empty:
        return frame
    frame["_o"] = frame["change"].map(BUILD_ORDER)
    frame["_c"] = -frame["capex_change_musd"].abs()
    return (
        frame.sort_values(["_o", "_c", "option"]).drop(columns=["_o", "_c"]).reset_index(drop=True)
    )


# --------------------------------------------------------------------------- tables


def _aggregate(frame: pd.DataFrame, keys: list[str], values: list[str], info: list[str]):
    if frame.empty:
        return pd.DataFrame(columns=keys + values + info)
    f = frame[keys + values + info].copy()
    for k in keys:
        if k == "year":
            f[k] = f[k].astype("Int64")
        else:
            f[k] = f[k].astype(object).where(f[k].notna(), "")
    agg = {v: "sum" for v in values} | {i: "mean" for i in info}
    return f.groupby(keys, dropna=False, sort=True).agg(agg).reset_index()


def _value_impact(sheet: str, m: pd.DataFrame) -> pd.Series:
    """Undiscounted change in cash flow (MUSD, positive = raises NPV) of each merged row."""

    def d(col: str) -> pd.Series:
        return m[f"{col}_new"].fillna(0.0) - m[f"{col}_base"].fillna(0.0)

    if sheet == "Flows":
        return -d("cost_musd")
    if sheet == "Trade":
        sign = m["direction"].map(lambda s: -1.0 if s == "buy" else 1.0)
        return sign * d("value_musd") - d("duty_musd")
    return -d("opex_musd") + d("subsidy_musd")


def table_diff(
    sheet: str, base: pd.DataFrame, new: pd.DataFrame, label: str, tol: float
) -> pd.DataFrame:
    """Rows of Flows/Trade/Activity that changed beyond ``tol``, by |value impact|."""
    spec = TABLE_SPECS[sheet]
    keys, values, info = spec["keys"], spec["values"], spec.get("info", [])
    a = _aggregate(base, keys, values, info)
    b = _aggregate(new, keys, values, info)
    m = a.merge(b, on=keys, how="outer", suffixes=("_base", "_new"), indicator=True)
    out_cols = ["run", *keys, "status"]
    for v in values:
        out_cols += [f"{v}_base", f"{v}_new", f"{v}_change"]
    out_cols += [f"{i}_{s}" for i in info for s in ("base", "new")]
    out_cols.append("value_impact_musd")
    if m.empty:
        return pd.DataFrame(columns=out_cols)
    mask = pd.Series(False, index=m.index)
    for v in values:
        mask |= _changed_mask(m[f"{v}_base"], m[f"{v}_new"], tol)
    m = m[mask].copy()
    if m.empty:
        return pd.DataFrame(columns=out_cols)
    q = spec["quantity"]
    qa, qb = m[f"{q}_base"].fillna(0.0), m[f"{q}_new"].fillna(0.0)
    m["status"] = "changed"
    m.loc[(qa.abs() <= tol) & (qb.abs() > tol), "status"] = "new"
    m.loc[(qa.abs() > tol) & (qb.abs() <= tol), "status"] = "gone"
    for v in values:
        m[f"{v}_base"] = m[f"{v}_base"].fillna(0.0)
        m[f"{v}_new"] = m[f"{v}_new"].fillna(0.0)
        m[f"{v}_change"] = m[f"{v}_new"] - m[f"{v}_base"]
    m["value_impact_musd"] = _value_impact(sheet, m)
    m["run"] = label
    m["_i"] = -m["value_impact_musd"].abs()
    m["_q"] = -m[f"{q}_change"].abs()
    m = m.sort_values(["_i", "_q", *keys], kind="stable")
    return m[out_cols].reset_index(drop=True)


def prices_diff(base: pd.DataFrame, new: pd.DataFrame, label: str, tol: float) -> pd.DataFrame:
    """Shadow prices that changed (or exist in one run only), by |change|."""
    keys = ["node", "product", "year"]
    col = "shadow_price_usd_per_t"
    cols = ["run", *keys, f"{col}_base", f"{col}_new", f"{col}_change"]
    a = _aggregate(base, keys, [], [col])
    b = _aggregate(new, keys, [], [col])
    m = a.merge(b, on=keys, how="outer", suffixes=("_base", "_new"))
    if m.empty:
        return pd.DataFrame(columns=cols)
    keep = [differs(x, y, tol) for x, y in zip(m[f"{col}_base"], m[f"{col}_new"], strict=True)]
    m = m[keep].copy()
    if m.empty:
        return pd.DataFrame(columns=cols)
    m[f"{col}_change"] = m[f"{col}_new"] - m[f"{col}_base"]
    m["run"] = label
    m["_c"] = -m[f"{col}_change"].abs().fillna(math.inf)
    return m.sort_values(["_c", *keys], kind="stable")[cols].reset_index(drop=True)


# --------------------------------------------------------------------------- run sheet


def _is_volatile(key: str) -> bool:
    """Times of day and wall times (``start_time_utc``, ``time_solve_s``…), not ``time_limit_s``."""
    k = key.lower()
    if re.fullmatch(r"time_(?!limit).*_s", k):
        return True
    return any(marker in k for marker in VOLATILE_MARKERS)


def _is_provenance(key: str) -> bool:
    return key in PROVENANCE_KEYS or "version" in key.lower()


def run_differences(
    runs: list[dict[str, pd.DataFrame]], labels: list[str]
) -> tuple[pd.DataFrame, bool, int]:
    """Run-sheet keys whose values differ; whether provenance differs; how many count."""
    vals = [run_values(t) for t in runs]
    keys: list[str] = []
    for v in vals:
        keys += [k for k in v if k not in keys]
    rows = []
    counted = 0
    provenance = False
    for k in keys:
        if _is_volatile(k):
            continue
        cells = [v.get(k, "") for v in vals]
        if len(set(cells)) <= 1:
            continue
        if _is_provenance(k):
            kind = "provenance"
            provenance = True
        elif k in INFO_KEYS:
            kind = "info"
        else:
            kind = "setting"
        if kind != "info":
            counted += 1
        rows.append(
            {"key": k, "kind": kind}
            | {f"value: {lb}": c for lb, c in zip(labels, cells, strict=True)}
        )
    cols = ["key", "kind"] + [f"value: {lb}" for lb in labels]
    frame = pd.DataFrame(rows, columns=cols)
    if not frame.empty:
        order = {"provenance": 0, "setting": 1, "info": 2}
        frame = frame.sort_values("kind", key=lambda s: s.map(order), kind="stable")
    return frame.reset_index(drop=True), provenance, counted


# --------------------------------------------------------------------------- narrative


def _build_phrases(builds: pd.DataFrame, limit: int = 3) -> list[str]:
    out = []
    for r in builds.head(limit).itertuples(index=False):
        what = " ".join(str(x) for x in (r.node, r.process) if x) or str(r.option)
        if r.change == "removed":
            out.append(f"{what} no longer built")
        elif r.change == "added":
            first = str(r.start_new).split(" ×")[0]
            out.append(f"{what} newly built ({r.units_new:g} unit(s) from {first})")
        elif r.change.startswith("resized"):
            out.append(f"{what} resized {r.units_base:g}→{r.units_new:g} units")
        elif r.change == "moved":
            out.append(f"{what} moved {_years(r.start_base)} → {_years(r.start_new)}")
        else:
            out.append(f"{what} capex {fmt_delta(r.capex_change_musd, 'MUSD')}")
    return out


def _years(schedule: str) -> str:
    """``"2026 ×1; 2030 ×2"`` → ``"2026; 2030 ×2"`` (single units need no count)."""
    return re.sub(r" ×1(?=;|$)", "", schedule)


def _trade_phrases(trade: pd.DataFrame, limit: int = 2) -> list[str]:
    """Largest trade shifts, summed over years, as phrases."""
    if trade.empty:
        return []
    keys = ["market", "product", "direction", "scope"]
    g = (
        trade.groupby(keys, dropna=False)[
            ["tonnes_base", "tonnes_new", "tonnes_change", "value_impact_musd"]
        ]
        .sum()
        .reset_index()
    )
    g = g.reindex(g["value_impact_musd"].abs().sort_values(ascending=False).index)
    any_gone = bool(((g["tonnes_new"] <= 0) & (g["tonnes_base"] > 0)).any())
    out = []
    for r in g.head(limit).itertuples(index=False):
        verb = {
            ("sell", "export"): ("exported to", "exports to"),
            ("sell", "domestic"): ("sold in", "sales in"),
            ("buy", "import"): ("imported from", "imports from"),
            ("buy", "domestic"): ("bought in", "purchases in"),
        }.get((r.direction, r.scope), ("traded with", "trade with"))
        if r.tonnes_base <= 0 < r.tonnes_new:
            out.append(f"{r.product} {verb[0]} {r.market}" + (" instead" if any_gone else ""))
        elif r.tonnes_new <= 0 < r.tonnes_base:
            out.append(f"{r.product} no longer {verb[0]} {r.market}")
        else:
            out.append(f"{r.product} {verb[1]} {r.market} {fmt_delta(r.tonnes_change, 't')}")
    return out


def _collapse_years(frame: pd.DataFrame, sheet: str) -> pd.DataFrame:
    """Changed rows summed over years (status new/gone only when so in every year)."""
    if frame.empty:
        return frame
    keys = [k for k in TABLE_SPECS[sheet]["keys"] if k != "year"]
    q = TABLE_SPECS[sheet]["quantity"]
    g = frame.groupby(keys, dropna=False, sort=False)
    out = g[[f"{q}_base", f"{q}_new", f"{q}_change", "value_impact_musd"]].sum()
    out["status"] = g["status"].agg(lambda s: s.iloc[0] if s.nunique() == 1 else "changed")
    out = out.reset_index()
    return out.reindex(out["value_impact_musd"].abs().sort_values(ascending=False).index)


def _row_phrases(frame: pd.DataFrame, sheet: str, describe, limit: int = 2) -> list[str]:
    rows = _collapse_years(frame, sheet)
    return [describe(r) for r in rows.head(limit).itertuples(index=False)]


def _flow_phrase(r) -> str:
    if r.status == "new":
        return f"{r.product} now shipped {r.origin} → {r.destination} ({r.mode})"
    if r.status == "gone":
        return f"{r.product} no longer shipped {r.origin} → {r.destination}"
    return f"{r.product} {r.origin} → {r.destination} {fmt_delta(r.tonnes_change, 't')}"


def _activity_phrase(r) -> str:
    if r.status == "new":
        return f"{r.node} {r.process} starts running"
    if r.status == "gone":
        return f"{r.node} {r.process} stops"
    return f"{r.node} {r.process} activity {fmt_delta(r.activity_change)}"


def _stage_phrases(
    trade: pd.DataFrame, stages: dict[str, int], reo: dict[str, float], exports_only: bool
) -> list[str]:
    """Largest changes of REO tonnes sold (or exported) per product stage."""
    if trade.empty:
        return []
    t = trade[trade["direction"] == "sell"]
    if exports_only:
        t = t[t["scope"] == "export"]
    if t.empty:
        return []
    unit = "t REO" if reo else "t"
    factor = t["product"].map(reo).fillna(0.0) if reo else 1.0
    t = t.assign(stage=t["product"].map(stages), reo_change=t["tonnes_change"] * factor)
    g = t.groupby("stage", dropna=False)["reo_change"].sum()
    g = g[g.abs() > 0].sort_values(key=lambda s: -s.abs())
    what = "exports" if exports_only else "sales"
    return [
        f"stage {int(s) if not pd.isna(s) else '?'} {what} {fmt_delta(v, unit)}"
        for s, v in g.head(2).items()
    ]


def _pv_phrase(kpis: pd.DataFrame, label: str, tol: float) -> str:
    col = f"change: {label}"
    pv = kpis[kpis["metric"].isin(PV_TERM_LINES) & kpis[col].notna()]
    pv = pv[pv[col].abs() > tol]
    if pv.empty:
        return ""
    pv = pv.reindex(pv[col].abs().sort_values(ascending=False).index).head(3)
    parts = [
        f"{m[3:-5].replace('_', ' ')} {fmt_delta(v)}"
        for m, v in zip(pv["metric"], pv[col], strict=True)
    ]
    return "largest present-value shifts: " + ", ".join(parts)


def narrative_lines(
    kpis: pd.DataFrame,
    label: str,
    builds: pd.DataFrame,
    diffs: dict[str, pd.DataFrame],
    stages: dict[str, int],
    reo: dict[str, float],
    tol: float,
) -> list[dict[str, Any]]:
    """One line per changed KPI of run ``label`` (pv_* lines fold into the NPV line)."""
    col = f"change: {label}"
    base_col = kpis.columns[2]
    new_col = f"value: {label}"
    b = builds[builds["run"] == label] if not builds.empty else builds
    sub = {k: (v[v["run"] == label] if not v.empty else v) for k, v in diffs.items()}
    build_p = _build_phrases(b)
    trade_p = _trade_phrases(sub["Trade"])
    flow_p = _row_phrases(sub["Flows"], "Flows", _flow_phrase)
    act_p = _row_phrases(sub["Activity"], "Activity", _activity_phrase)
    reasons_for = {
        "npv_musd": build_p + trade_p,
        "objective_bound_musd": build_p[:1] + trade_p[:1],
        "capex_musd": build_p,
        "fixed_om_musd": build_p,
        "opening_cost_musd": build_p,
        "salvage_musd": build_p,
        "revenue_musd": trade_p,
        "purchases_musd": trade_p,
        "export_duties_musd": trade_p,
        "import_duties_musd": trade_p,
        "unmet_penalty_musd": trade_p,
        "unmet_demand_t": trade_p,
        "domestic_value_added_musd": trade_p,
        "transport_musd": flow_p,
        "opex_musd": act_p,
        "subsidies_musd": act_p,
        "support_musd": trade_p,
        "relief_given_musd": build_p,
        "fiscal_net_musd": trade_p[:2] + act_p[:1] + build_p[:1],
        "pv_fiscal_net_musd": trade_p[:2] + act_p[:1] + build_p[:1],
        "national_npv_musd": build_p + trade_p,
        "processing_depth_index": _stage_phrases(sub["Trade"], stages, reo, exports_only=False),
        "raw_export_share": _stage_phrases(sub["Trade"], stages, reo, exports_only=True),
    }
    lines = []
    for _, row in kpis.iterrows():
        metric = row["metric"]
        if metric in PV_TERM_LINES or not differs(row[base_col], row[new_col], tol):
            continue
        change = row[col]
        unit = metric_unit(metric, row["unit"] or "")
        if change is None or (isinstance(change, float) and math.isnan(change)):
            head = f"{metric_label(metric)} {row[base_col]} → {row[new_col]}"
        else:
            head = f"{metric_label(metric)} {fmt_delta(float(change), unit)}"
        reasons = list(reasons_for.get(metric, []))
        if metric == "npv_musd":
            pv = _pv_phrase(kpis, label, tol)
            if pv:
                reasons.append(pv)
        text = head + (": " + "; ".join(reasons) if reasons else "")
        lines.append({"run": label, "metric": metric, "change": change, "line": text})
    order = {"npv_musd": 0}
    lines.sort(key=lambda d: order.get(d["metric"], 1))
    if not lines:
        details = build_p + trade_p + flow_p + act_p
        if details:
            lines.append(
                {
                    "run": label,
                    "metric": "",
                    "change": None,
                    "line": "No KPI changed beyond the tolerance, but: " + "; ".join(details),
                }
            )
    return lines


# --------------------------------------------------------------------------- main


def compare_tables(
    runs: list[dict[str, pd.DataFrame]],
    labels: list[str],
    tol: float = DEFAULT_TOL,
) -> tuple[dict[str, pd.DataFrame], list[str], int, bool]:
    """Difference sheets of read runs: ``(sheets, narrative, n_differences, provenance)``."""
    if len(runs) < 2:
        raise InputError("compare needs at least two results workbooks.")
    kpis = kpi_table(runs, labels, tol)
    base = runs[0]
    builds = pd.concat(
        [
            builds_diff(base["Builds"], r["Builds"], lb, tol)
            for r, lb in zip(runs[1:], labels[1:], strict=True)
        ],
        ignore_index=True,
    )
    diffs = {
        sheet: pd.concat(
            [
                table_diff(sheet, base[sheet], r[sheet], lb, tol)
                for r, lb in zip(runs[1:], labels[1:], strict=True)
            ],
            ignore_index=True,
        )
        for sheet in TABLE_SPECS
    }
    prices = pd.concat(
        [
            prices_diff(base["Prices"], r["Prices"], lb, tol)
            for r, lb in zip(runs[1:], labels[1:], strict=True)
        ],
        ignore_index=True,
    )
    rundiff, provenance, run_counted = run_differences(runs, labels)
    stages = product_stage(base)
    reo = product_reo(base)
    narrative: list[dict[str, Any]] = []
    if provenance:
        prov = rundiff[rundiff["kind"] == "provenance"]
        narrative.append(
            {
                "run": "all",
                "metric": "",
                "change": None,
                "line": "Runs come from different inputs or versions ("
                + ", ".join(prov["key"])
                + "): differences may reflect data, not only decisions.",
            }
        )
    for lb in labels[1:]:
        narrative += narrative_lines(kpis, lb, builds, diffs, stages, reo, tol)
    n_kpi = int((kpis["changed"] == "yes").sum())
    n = n_kpi + len(builds) + sum(len(d) for d in diffs.values()) + len(prices) + run_counted
    if n == 0:
        narrative.append(
            {
                "run": "all",
                "metric": "",
                "change": None,
                "line": "No differences beyond the tolerance.",
            }
        )
    narr = pd.DataFrame(narrative, columns=["run", "metric", "change", "line"])
    sheets: dict[str, pd.DataFrame] = {}
    if provenance:
        sheets["RunDifferences"] = rundiff
    sheets["KPIs"] = kpis
    sheets["Builds"] = builds
    sheets.update(diffs)
    sheets["Prices"] = prices
    sheets["Narrative"] = narr
    if not provenance:
        sheets["RunDifferences"] = rundiff
    return sheets, list(narr["line"]), n, provenance


def _sheet_specs(sheets: dict[str, pd.DataFrame]) -> list[SheetSpec]:
    specs = []
    for name, frame in sheets.items():
        fmts: dict[str, str] = {}
        for c in frame.columns:
            if c.startswith("rel change"):
                fmts[c] = "0.0%"
            elif c in ("year",) or c.startswith("online") or c.startswith("start"):
                continue
            elif frame[c].dtype.kind == "f":
                fmts[c] = "#,##0.000"
        widths = {"line": 110} if name == "Narrative" else {}
        specs.append(
            SheetSpec(
                name=name,
                frame=frame,
                number_formats=fmts,
                widths=widths,
                wrap_columns=("line",) if name == "Narrative" else (),
            )
        )
    return specs


def compare_results(
    paths: list[Path],
    out_xlsx: Path | None = None,
    out_html: Path | None = None,
    tol: float = DEFAULT_TOL,
) -> CompareResult:
    """Compare results workbooks (the first is the baseline) and write the differences.

    Reads every workbook (InputError for a file that is not an optmodel
    results workbook or has a different major output schema version),
    builds the difference sheets described in this module's docstring,
    writes them to ``out_xlsx`` and an offline side-by-side HTML page to
    ``out_html`` when given (OutputError when either cannot be written or
    would overwrite an input), and returns a :class:`CompareResult`.

    >>> res = compare_results([Path("a.xlsx"), Path("a.xlsx")])  # doctest: +SKIP
    >>> res.identical
    True
    """
    paths = [Path(p) for p in paths]
    if len(paths) < 2:
        raise InputError("compare needs at least two results workbooks.")
    if tol < 0 or math.isnan(tol):
        raise InputError(f"--tol must be a number ≥ 0 (got {tol}).")
    for out in (out_xlsx, out_html):
        if out is not None:
            check_writable(Path(out), inputs=paths)
    if out_xlsx is not None and out_html is not None and Path(out_xlsx) == Path(out_html):
        raise OutputError(f"The difference workbook and the HTML page cannot both be {out_xlsx}.")
    runs = [read_results(p) for p in paths]
    labels = run_labels(paths)
    sheets, narrative, n, provenance = compare_tables(runs, labels, tol)
    for line in narrative:
        log.info("%s", line)
    result = CompareResult(
        paths=paths,
        labels=labels,
        tables=sheets,
        narrative=narrative,
        n_differences=n,
        provenance_differs=provenance,
        run_tables=runs,
    )
    if out_xlsx is not None:
        write_workbook(Path(out_xlsx), _sheet_specs(sheets), title="optmodel compare")
        result.out_xlsx = Path(out_xlsx)
    if out_html is not None:
        from optmodel.report.compare_page import compare_html

        atomic_write_bytes(Path(out_html), compare_html(result).encode("utf-8"))
        result.out_html = Path(out_html)
    return result
