"""Sheet-level findings and their follow-ons (docs/model.md §11.5).

Two rules that look at whole sheets rather than cells, applied once, after every
other rule, by :func:`sheet_level_issues` (called from
:func:`optmodel.input.validate.validate_raw`):

- a data sheet that is present but has no data rows is named in a warning that says
  what its emptiness means (an optional sheet — NodeProcesses, BuildOptions, Deposits,
  Routes, Markets, Policy — or a required one, whose emptiness the rules below then
  turn into errors);
- errors that follow from one root — a missing or emptied sheet, a missing column —
  are reported under that root, not one per row: the root's message says how many
  follow and of what kind, and the follow-ons are not listed one by one.  Follow-on
  errors of a root that is only a warning (an emptied optional sheet) stay errors: they
  become one error line under the warning, so the exit code does not change.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

from optmodel import schema as S
from optmodel.errors import Issue
from optmodel.io.read import RawSheet

EMPTY_OPTIONAL_MEANING = {
    "NodeProcesses": "no process runs on existing capacity; only build options can produce",
    "BuildOptions": "nothing can be built",
    "Deposits": "no deposit limits mining (sources are limited by their capacity only)",
    "Routes": "nothing can be shipped between nodes",
    "Markets": "nothing can be sold or bought, so the plan does nothing (NPV 0)",
    "Policy": "no policy instrument applies (no duty, quota, subsidy, relief or budget)",
}
EMPTY_REQUIRED_MEANING = {
    "Settings": "every setting takes its default and the required ones are missing",
    "Nodes": "the chain has no places",
    "Products": "the chain has no products",
    "Processes": "the chain has no processes",
    "Recipes": "no process has inputs or outputs",
}
# a root on one of these sheets (missing, emptied, or its name column missing) makes every
# reference to its names fail; the follow-ons are recognised by their message
_NAME_SHEETS = {"Nodes": "node", "Products": "product", "Processes": "process",
                "Sources": "source"}
_FOLLOW_ON_MESSAGES: dict[str, tuple[str, ...]] = {
    "Nodes": ("unknown node", "expected a node name"),
    "Products": ("unknown product", "expected a product name", "no process at node"),
    "Processes": ("unknown process", "expected a process name", "process has no output"),
    "Sources": ("unknown source",),
    "Recipes": ("process has no output", "no process at node"),
    "Settings": ("required setting is missing",),
    "Markets": ("is made by a process but is neither sold", "is an input of a process but is "
                                                            "neither made nor bought"),
}
_ROOT_MESSAGES = ("required sheet is missing", "required column is missing",
                  "sheet is empty: row 1 must hold the column headers",
                  "required sheet is present but has no data rows",
                  "sheet is present but has no data rows")


def sheet_level_issues(raw: dict[str, RawSheet], issues: list[Issue]) -> list[Issue]:
    """``issues`` with empty-sheet findings added and follow-on errors collapsed."""
    return collapse_follow_ons(issues + empty_sheet_issues(raw))


def _has_data(sheet: RawSheet) -> bool:
    return any(not _blank(v) for row in sheet.rows for v in row)


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (
        isinstance(v, float) and math.isnan(v))


def empty_sheet_issues(raw: dict[str, RawSheet]) -> list[Issue]:
    """Data sheets that are present, have headers, but no data rows."""
    known = {n.lower(): n for n in S.SHEETS}
    out = []
    for name, sheet in raw.items():
        canon = known.get(name.lower())
        if canon is None or not sheet.header or all(_blank(h) for h in sheet.header):
            continue  # unknown sheets and header-less sheets are reported elsewhere
        if _has_data(sheet):
            continue
        if canon in EMPTY_OPTIONAL_MEANING:
            out.append(Issue(canon, None, None, None,
                             "sheet is present but has no data rows: "
                             + EMPTY_OPTIONAL_MEANING[canon], "warning"))
        elif canon in EMPTY_REQUIRED_MEANING:
            out.append(Issue(canon, None, None, None,
                             "required sheet is present but has no data rows: "
                             + EMPTY_REQUIRED_MEANING[canon], "warning"))
    return out


def _is_root(i: Issue) -> bool:
    return i.row in (None, 1) and i.message.startswith(_ROOT_MESSAGES) and bool(i.sheet)


def _follows(root: Issue) -> Callable[[Issue], bool]:
    """A test: does an issue follow from ``root``?"""
    # a missing required column makes every row of its sheet invalid, so its rows drop out
    # of the cross-sheet rules as if the sheet were empty
    sheet, col = root.sheet, root.column
    prefixes = _FOLLOW_ON_MESSAGES.get(sheet, ())

    def test(i: Issue) -> bool:
        if i is root or _is_root(i):
            return False
        if prefixes and i.message.startswith(prefixes):
            return True
        if i.sheet == "Scenarios" and (f"of sheet {sheet}" in i.message
                                       or f"in sheet {sheet}" in i.message):
            return True  # a scenario selector or column on the emptied sheet or column
        return col is not None and i.sheet == sheet and i.column == col
    return test


def _kinds(follow: list[Issue]) -> str:
    c = Counter((_short(i.message), i.sheet) for i in follow)
    by_msg: dict[str, list[str]] = {}
    for (msg, sheet), n in c.most_common():
        by_msg.setdefault(msg, []).append(f"{n} in {sheet}")
    return "; ".join(f"{msg} ({', '.join(parts)})" for msg, parts in by_msg.items())


def _short(message: str) -> str:
    head = message.split(":", 1)[0]
    if head.startswith("scenario "):
        return "Scenarios rows that refer to it"
    if head.startswith("no process at node"):
        return "deposits whose product no process outputs"
    return head


def collapse_follow_ons(issues: list[Issue]) -> list[Issue]:
    """Replace the issues that follow from a root by one mention under that root."""
    roots = [i for i in issues if _is_root(i)]
    if not roots:
        return issues
    taken: dict[int, list[Issue]] = {}
    claimed: set[int] = set()
    for r in roots:
        test = _follows(r)
        mine = [i for i in issues if id(i) not in claimed and test(i)]
        claimed.update(id(i) for i in mine)
        taken[id(r)] = mine
    out: list[Issue] = []
    for i in issues:
        if id(i) in claimed:
            continue
        follow = taken.get(id(i))
        if not follow:
            out.append(i)
            continue
        errors = [f for f in follow if f.severity == "error"]
        warnings = [f for f in follow if f.severity != "error"]
        if i.severity == "error":
            n = len(follow)
            out.append(Issue(i.sheet, i.row, i.column, i.value,
                             f"{i.message}; {n} further problem{'s' if n > 1 else ''} follow "
                             f"from it and are not listed one by one: {_kinds(follow)}",
                             i.severity))
            continue
        text = i.message
        if warnings:
            text += f"; it explains {len(warnings)} further warning" + (
                "s" if len(warnings) > 1 else "") + f": {_kinds(warnings)}"
        out.append(Issue(i.sheet, i.row, i.column, i.value, text, i.severity))
        if errors:
            out.append(Issue(i.sheet, None, None, None,
                             f"{len(errors)} error{'s' if len(errors) > 1 else ''} follow from "
                             f"this sheet having no data rows: {_kinds(errors)}"))
    return out
