"""The model's structure as tables: sparse variable families and linear constraint families.

A variable family is an index table (one row per variable, its key columns)
with bounds and domains.  A constraint family is a key table (one row per
constraint), row bounds and a *term table*: one row per (constraint, variable
family, variable id, coefficient).  These tables are the model: the HiGHS
exporter (:mod:`optmodel.solver.highs`) and the Pyomo exporter
(:mod:`optmodel.model.pyomo_export`) both read them.  Nothing here makes a
solver or Pyomo object: a variable's domain is a plain label of :data:`DOMAINS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optmodel.errors import InternalError

# A variable's domain: (lower, upper, integer).  The exporters translate the labels (HiGHS
# bounds and integrality; Pyomo's sets), so building the tables needs no Pyomo.
DOMAINS: dict[str, tuple[float, float, bool]] = {
    "nonnegative_real": (0.0, np.inf, False),
    "real": (-np.inf, np.inf, False),
    "binary": (0.0, 1.0, True),
    "nonnegative_integer": (0.0, np.inf, True),
    "integer": (-np.inf, np.inf, True),
}


@dataclass
class VarFamily:
    """A sparse variable family: index table (one row per variable), bounds and domains.

    ``component`` and ``objs`` are set only on the copy the Pyomo exporter makes
    (:func:`optmodel.model.pyomo_export.export`): the Pyomo ``Var`` and its
    ``VarData`` objects aligned with ``index`` rows.
    """

    name: str
    index: pd.DataFrame
    keys: list[str]
    component: object | None = None  # the Pyomo Var (exported copies only)
    objs: np.ndarray | None = None  # VarData aligned with ``index`` rows (exported copies)
    upper: np.ndarray | None = None  # upper bounds (NaN/inf = none)
    domains: np.ndarray | None = None  # labels of DOMAINS (None = non-negative reals)
    lower: np.ndarray | None = None  # lower bounds (None = 0; NaN/−inf = none)
    meta: dict = field(default_factory=dict)  # e.g. {"extra": file} for a user's family

    def __len__(self) -> int:
        return len(self.index)


@dataclass
class ConFamily:
    """A constraint family: key table, bounds and term table (and, exported, its component)."""

    name: str
    index: pd.DataFrame  # key columns, one row per constraint, in component order
    keys: list[str]
    lower: np.ndarray
    upper: np.ndarray
    terms: pd.DataFrame  # columns: con (row in index), fam, vid, coef
    component: object | None = None  # the Pyomo Constraint (exported copies only)
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
        fams, vids = t["fam"].to_numpy(), t["vid"].to_numpy(dtype=np.int64)
        for fam in pd.unique(fams):
            if fam not in varfams:
                problems.append(f"terms on an unknown variable family {fam!r}")
                continue
            vid = vids[fams == fam]
            if len(vid) and (vid.min() < 0 or vid.max() >= len(varfams[fam])):
                problems.append(f"terms on {fam} variables that do not exist")
        if not np.isfinite(t["coef"].to_numpy(dtype=float)).all():
            problems.append("a coefficient that is not a finite number")
        if problems:
            raise InternalError(f"constraint family {self.name}: " + "; ".join(problems) + ".")



def key_tuples(df: pd.DataFrame, keys: list[str]) -> list:
    """The rows' keys as Python values: plain values for one key, tuples for several."""
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


def var_family(name: str, index: pd.DataFrame, keys: list[str],
               upper: np.ndarray | None = None, domains: np.ndarray | None = None,
               lower: np.ndarray | None = None) -> VarFamily:
    """The family ``name`` indexed by the rows of ``index`` (non-negative unless ``lower``)."""
    index = index.reset_index(drop=True)
    n = len(index)
    for what, arr in (("upper", upper), ("domains", domains), ("lower", lower)):
        if arr is not None and len(arr) != n:
            raise InternalError(f"variable family {name}: {len(arr)} {what} for {n} variables.")
    return VarFamily(name, index, keys, upper=upper, domains=domains, lower=lower)


def terms_for(fam: VarFamily, frame: pd.DataFrame, coef) -> pd.DataFrame:
    """Term rows for variables of ``fam``; ``frame`` must carry the column ``vid``."""
    out = frame.copy()
    out["fam"] = fam.name
    out["coef"] = coef if np.isscalar(coef) else np.asarray(coef, dtype=float)
    return out


def con_family(name: str, terms: pd.DataFrame, keys: list[str],
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
    return fam
