"""Vectorised construction of sparse Pyomo variables and linear constraint families.

A constraint family is given as a *term table*: one row per (constraint key,
variable, coefficient).  Rows are grouped with numpy and each constraint body is
made directly as a ``LinearExpression`` — no per-element Python rules over dense
products and no operator overloading in loops.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.core as pyo  # not pyomo.environ: its solver/writer plugins load on use
from pyomo.core.expr.numeric_expr import LinearExpression

from optmodel.errors import InternalError


@dataclass
class VarFamily:
    """A sparse variable family: index table (one row per variable) and its Pyomo component."""

    name: str
    index: pd.DataFrame
    keys: list[str]
    component: pyo.Var | None  # None when built with ``model=None`` (structure only)
    objs: np.ndarray  # VarData objects aligned with ``index`` rows (None when structure only)
    upper: np.ndarray | None = None  # upper bounds as given (NaN/inf = none)
    domains: np.ndarray | None = None  # Pyomo domains as given (None = non-negative reals)

    def __len__(self) -> int:
        return len(self.index)


@dataclass
class ConFamily:
    """A constraint family: key table, bounds, term table and Pyomo component."""

    name: str
    index: pd.DataFrame  # key columns, one row per constraint, in component order
    keys: list[str]
    lower: np.ndarray
    upper: np.ndarray
    terms: pd.DataFrame  # columns: con (row in index), fam, vid, coef
    component: pyo.Constraint | None = None
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.index)

    def check(self, varfams: dict[str, VarFamily]) -> None:
        """Rows, bounds and terms line up, or :class:`InternalError` (nothing is solved).

        One bound pair per row, at least one bound per row, every term on an existing row
        and an existing variable, finite coefficients.
        """
        n = len(self.index)
        problems = []
        if len(self.lower) != n or len(self.upper) != n:
            problems.append(f"{n} rows but {len(self.lower)} lower and {len(self.upper)} "
                            "upper bounds")
        else:
            unbounded = np.isnan(self.lower) & np.isnan(self.upper)
            if unbounded.any():
                key = self.index.iloc[int(np.flatnonzero(unbounded)[0])].tolist()
                problems.append(f"{int(unbounded.sum())} rows without a bound (first: {key})")
        t = self.terms
        con = t["con"].to_numpy(dtype=np.int64)
        if len(con) and (con.min() < 0 or con.max() >= n):
            problems.append("terms on rows that do not exist")
        for fam in pd.unique(t["fam"]):
            if fam not in varfams:
                problems.append(f"terms on an unknown variable family {fam!r}")
                continue
            vid = t.loc[t["fam"] == fam, "vid"].to_numpy(dtype=np.int64)
            if len(vid) and (vid.min() < 0 or vid.max() >= len(varfams[fam])):
                problems.append(f"terms on {fam} variables that do not exist")
        if not np.isfinite(t["coef"].to_numpy(dtype=float)).all():
            problems.append("a coefficient that is not a finite number")
        if problems:
            raise InternalError(f"constraint family {self.name}: " + "; ".join(problems) + ".")


def _tuples(df: pd.DataFrame, keys: list[str]) -> list:
    if len(keys) == 1:
        return df[keys[0]].tolist()
    return list(zip(*(df[k].tolist() for k in keys), strict=True))


def group_keys(frame: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Group rows by ``keys``: each row's group number and the groups' key table.

    The same as ``frame.groupby(keys, sort=True).ngroup()`` and the sorted group
    keys, without pandas' groupby machinery: each key column is factorised in
    sorted order and the codes combine into one integer per row.  Rows with a
    missing key get group −1 (groupby drops them too).
    """
    combined = np.zeros(len(frame), dtype=np.int64)
    missing = np.zeros(len(frame), dtype=bool)
    for k in keys:
        codes, uniques = pd.factorize(frame[k], sort=True)
        missing |= codes < 0
        radix = max(1, len(uniques))
        if combined.max(initial=0) >= (1 << 62) // radix:  # keep the product in int64
            combined = np.unique(combined, return_inverse=True)[1].astype(np.int64)
        combined = combined * radix + codes
    uniq, first, inverse = np.unique(np.where(missing, -1, combined), return_index=True,
                                     return_inverse=True)
    if missing.any():  # group −1 sorts first: drop it and shift the others down
        inverse = inverse - 1
        first = first[1:]
    index = frame[keys].iloc[first].reset_index(drop=True)
    return inverse.astype(np.int64, copy=False), index


def add_var_family(model: pyo.ConcreteModel, name: str, index: pd.DataFrame, keys: list[str],
                   upper: np.ndarray | None = None,
                   domains: np.ndarray | None = None) -> VarFamily:
    """Add ``name`` indexed by the rows of ``index`` (non-negative, optional upper bounds).

    With ``model=None`` no Pyomo component is made: the family carries only its
    index, bounds and domains (batch runs compare these with a built model's).
    """
    index = index.reset_index(drop=True)
    if model is None:
        return VarFamily(name, index, keys, None, np.full(len(index), None, dtype=object),
                         upper, domains)
    tuples = _tuples(index, keys)
    comp = pyo.Var(tuples, within=pyo.NonNegativeReals, dense=True)
    model.add_component(name, comp)
    objs = np.empty(len(tuples), dtype=object)
    objs[:] = list(comp.values())
    if upper is not None:
        for v, ub in zip(objs, upper, strict=True):
            if ub == ub and ub != np.inf:  # not NaN
                v.setub(float(ub))
    if domains is not None:
        for v, dom in zip(objs, domains, strict=True):
            if dom is not None:
                v.domain = dom
    return VarFamily(name, index, keys, comp, objs, upper, domains)


def terms_for(fam: VarFamily, frame: pd.DataFrame, coef) -> pd.DataFrame:
    """Term rows for variables of ``fam``; ``frame`` must carry the column ``vid``."""
    out = frame.copy()
    out["fam"] = fam.name
    out["coef"] = coef if np.isscalar(coef) else np.asarray(coef, dtype=float)
    return out


def add_con_family(model: pyo.ConcreteModel, name: str, terms: pd.DataFrame, keys: list[str],
                   varfams: dict[str, VarFamily], bounds: pd.DataFrame | None = None,
                   lower: float | None = None, upper: float | None = None) -> ConFamily | None:
    """Group ``terms`` by ``keys`` into one linear constraint per key.

    ``bounds`` (optional) holds the key columns plus ``lower``/``upper`` columns per
    constraint; scalars ``lower``/``upper`` apply to every constraint otherwise.
    Constraints whose terms all have zero coefficients are dropped.
    """
    terms = terms[terms["coef"] != 0]
    if not len(terms):
        return None
    codes, index = group_keys(terms, keys)
    n = len(index)
    lo = np.full(n, np.nan if lower is None else lower, dtype=float)
    hi = np.full(n, np.nan if upper is None else upper, dtype=float)
    if bounds is not None:
        dup = bounds.duplicated(keys)
        if dup.any():
            raise InternalError(f"constraint family {name}: {int(dup.sum())} bound rows repeat "
                                f"a key (first: {bounds.loc[dup, keys].iloc[0].tolist()}).")
        b = index.merge(bounds, on=keys, how="left")
        if "lower" in b:
            lo = b["lower"].to_numpy(dtype=float)
        if "upper" in b:
            hi = b["upper"].to_numpy(dtype=float)
    fam = ConFamily(name, index, keys, lo, hi, pd.DataFrame({
        "con": codes, "fam": terms["fam"].to_numpy(),
        "vid": terms["vid"].to_numpy(dtype=np.int64), "coef": terms["coef"].to_numpy()}))
    fam.check(varfams)  # before anything is made from the tables
    if model is None:  # structure only: index, bounds and terms, no Pyomo component
        return fam
    vars_ = np.empty(len(terms), dtype=object)
    fams = terms["fam"].to_numpy()
    vids = terms["vid"].to_numpy(dtype=np.int64)
    for f in np.unique(fams):
        mask = fams == f
        vars_[mask] = varfams[f].objs[vids[mask]]
    order = np.argsort(codes, kind="stable")
    coefs = terms["coef"].to_numpy(dtype=float)[order]
    vars_ = vars_[order]
    splits = np.flatnonzero(np.diff(codes[order])) + 1
    coef_groups = np.split(coefs, splits)
    var_groups = np.split(vars_, splits)
    tuples = _tuples(index, keys)
    exprs = {}
    for key, c, v, lb, ub in zip(tuples, coef_groups, var_groups, lo, hi, strict=True):
        body = LinearExpression(constant=0.0, linear_coefs=c.tolist(), linear_vars=v.tolist())
        has_lb, has_ub = lb == lb, ub == ub
        if has_lb and has_ub and lb == ub:
            exprs[key] = body == float(lb)
        elif has_lb and has_ub:
            exprs[key] = (float(lb), body, float(ub))
        elif has_ub:
            exprs[key] = body <= float(ub)
        else:
            exprs[key] = body >= float(lb)
    comp = pyo.Constraint(tuples, rule=lambda m, *k: exprs[k[0] if len(k) == 1 else k])
    model.add_component(name, comp)
    fam.component = comp
    return fam
