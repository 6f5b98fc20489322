"""What a batch worker keeps between runs, keyed by the content of the sheets it came from.

A batch changes a few cells of a few sheets per run.  A worker therefore keeps

- the typed frame (and cell issues) of every sheet it has validated, found again when a
  run's sheet has the same header and rows (:class:`SheetCache`), and
- the plant core of the model data (:func:`optmodel.model.data.plant_core`) and the
  constraint families made from it alone (:data:`optmodel.model.build.CORE_FAMILIES`),
  found again when a run's core sheets (:data:`optmodel.model.data.CORE_SHEETS`) have
  the same content (:class:`CoreCache`), and
- every constraint family of a run, found again when a run's sheets differ from that
  run's at most in the Markets prices, which enter only the objective (a price sweep:
  the model is then the same but for its objective); its variables must come out
  the same too, or nothing is shared.

Keys are the sheets' contents themselves (header and rows as tuples, compared for
equality), never object identities: a run that writes back the base value of a cell
shares the cache, and no two different contents can share an entry.  The validated
tables and the model data stay read-only; what is shared is handed out as copies or used
as it is without being changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optmodel import schema as S
from optmodel.errors import Issue
from optmodel.input.tables import Tables
from optmodel.input.validate import read_sheet
from optmodel.io.read import RawSheet
from optmodel.model.build import BuiltModel, build_model
from optmodel.model.data import CORE_SHEETS, ModelData, build_model_data, plant_core
from optmodel.model.linear import ConFamily

SheetKey = tuple[str, tuple, tuple]


def sheet_key(canon: str, sheet: RawSheet) -> SheetKey:
    """A sheet's content as a dictionary key: its name, header and rows."""
    return canon, tuple(sheet.header), tuple(tuple(r) for r in sheet.rows)


def _canonical(raw: dict[str, RawSheet]) -> dict[str, RawSheet]:
    known = {n.lower(): n for n in S.SHEETS}
    return {known[k.lower()]: v for k, v in raw.items() if k.lower() in known}


class SheetCache:
    """Typed frames of sheets already validated, found again by their content.

    Passed to :func:`optmodel.input.validate.validate_raw` as its ``cache``: a sheet with
    the header and rows of one seen before gets a copy of that typed frame and its cell
    issues; any other sheet is read afresh and remembered.  Cross-sheet rules always run.
    """

    def __init__(self, limit: int = 256):
        self._entries: dict[SheetKey, tuple[pd.DataFrame, list[Issue]]] = {}
        self._limit = limit
        self.hits = 0

    def read(self, canon: str, sheet: RawSheet, issues: list[Issue]) -> pd.DataFrame:
        key = sheet_key(canon, sheet)
        hit = self._entries.get(key)
        if hit is not None:
            self.hits += 1
            issues.extend(hit[1])
            return hit[0].copy()
        found: list[Issue] = []
        frame = read_sheet(canon, sheet, found)
        issues.extend(found)
        if len(self._entries) >= self._limit:  # a long sweep of one sheet: keep the first
            return frame
        self._entries[key] = (frame.copy(), found)
        return frame


@dataclass
class _CoreEntry:
    core: dict[str, pd.DataFrame]
    families: dict[str, ConFamily] = field(default_factory=dict)


PRICE_COLUMN = ("markets", "price_usd_per_t")  # the one column a shared structure may differ in


def structure_key(raw: dict[str, RawSheet]) -> tuple:
    """Every sheet's content with the Markets prices left out: two runs with the same key
    have the same model but for its objective."""
    sheets = _canonical(raw)
    out = []
    for name in sorted(sheets):
        sheet = sheets[name]
        skip = [j for j, h in enumerate(sheet.header)
                if (name.lower(), str(h).strip().lower()) == PRICE_COLUMN]
        rows = tuple(tuple(None if j in skip else v for j, v in enumerate(r))
                     for r in sheet.rows) if skip else tuple(tuple(r) for r in sheet.rows)
        out.append((name, tuple(sheet.header), rows))
    return tuple(out)


def variable_keys(bm: BuiltModel) -> dict[str, list[np.ndarray]]:
    """The variables of ``bm``: each family's key columns, in order."""
    return {name: [fam.index[k].to_numpy() for k in fam.keys] for name, fam in bm.vars.items()}


def same_variables(a: dict[str, list[np.ndarray]], b: dict[str, list[np.ndarray]]) -> bool:
    """Whether two structures have the same variables, key for key in the same order (a
    missing key that compares unequal to itself only makes them differ: nothing shared)."""
    return list(a) == list(b) and all(
        len(x) == len(y) and all(len(u) == len(v) and np.array_equal(u, v)
                                 for u, v in zip(x, y, strict=True))
        for x, y in zip(a.values(), b.values(), strict=True))


class CoreCache:
    """The plant core and its constraint families, by the content of the core sheets; and a
    run's whole structure, by the content of all sheets but the Markets prices."""

    def __init__(self, limit: int = 8):
        self._entries: dict[tuple, _CoreEntry] = {}
        self._limit = limit
        # structure key → (variable keys, constraint families); the last few structures
        self._structures: dict[tuple, tuple[dict, dict[str, ConFamily]]] = {}

    def _entry(self, raw: dict[str, RawSheet], tables: Tables) -> tuple[_CoreEntry, bool]:
        sheets = _canonical(raw)
        key = tuple(sheet_key(name, sheets[name]) if name in sheets else (name,)
                    for name in CORE_SHEETS)
        entry = self._entries.get(key)
        if entry is not None:
            return entry, True
        entry = _CoreEntry(plant_core(tables))
        if len(self._entries) < self._limit:
            self._entries[key] = entry
        return entry, False

    def model(self, raw: dict[str, RawSheet], tables: Tables
              ) -> tuple[ModelData, BuiltModel, bool]:
        """Model data and structure of the run whose (overridden) sheets are ``raw`` and
        validated tables ``tables``, and whether its core was shared with an earlier run
        (whose core sheets had the same content); everything else is made for this run."""
        entry, shared = self._entry(raw, tables)
        data = build_model_data(tables, core=entry.core)
        key = structure_key(raw)
        held = self._structures.get(key)
        if held is not None:
            bm = build_model(data, core_families=entry.families, all_families=dict(held[1]))
            if same_variables(variable_keys(bm), held[0]):  # same columns, so the same rows
                return data, bm, True
        families: dict[str, ConFamily] = {}
        bm = build_model(data, core_families=entry.families, all_families=families)
        if len(self._structures) >= 4:
            self._structures.pop(next(iter(self._structures)))
        self._structures[key] = (variable_keys(bm), families)
        return data, bm, shared

    def __len__(self) -> int:
        return len(self._entries)
