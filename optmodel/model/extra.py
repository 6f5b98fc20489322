"""A user's own variables and constraints (``--extra FILE.py``, the Python API), as tables.

The file defines ``extra_constraints(model, data)`` (docs/model.md §13).  It is called
on the Pyomo model of the built structure (:func:`~optmodel.model.pyomo_export.to_pyomo`)
and may add variables and constraints to it, fix variables or tighten their
bounds.  :func:`absorb` then turns what was added back into term tables — one
:class:`~optmodel.model.linear.VarFamily` per new ``Var`` component, one
:class:`~optmodel.model.linear.ConFamily` per new ``Constraint`` component, each
constraint body read with Pyomo's ``generate_standard_repn`` — and appends them
to the structure.  Every solve hands that structure to HiGHS, so a user's
constraint is part of the MILP, of the fixed-integer LP for shadow prices, of
``--write-model`` and of every batch run, like the built-in families.

Refused, as an :class:`~optmodel.errors.InputError` naming the file (and the line
where there is one): a syntax error, an exception raised by the file, a
constraint that is not linear, a replaced or changed objective ``npv``, a
removed, deactivated or rewritten built-in constraint, a new objective.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pyomo.core as pyo
from pyomo.repn import generate_standard_repn

from optmodel.errors import InputError, InternalError
from optmodel.model.build import BuiltModel
from optmodel.model.data import ModelData
from optmodel.model.extra_file import (  # noqa: F401  (ExtraFile, load_function: re-exported)
    FUNCTION,
    ExtraFile,
    _error,
    _filename,
    _line_in,
    load_function,
)
from optmodel.model.linear import ConFamily, VarFamily
from optmodel.model.pyomo_export import (
    SNAPSHOT_ATTR,
    STRUCTURE_ATTR,
    Snapshot,
    to_pyomo,
    var_state,
)


class _LineRecorder(pyo.ConcreteModel):
    """A ConcreteModel that notes, for each component added or deleted, the line of the
    user's file that did it (``_optmodel_lines``), so that errors found later can name it."""

    def _note(self, name: str) -> None:
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename != self.__dict__.get(
                "_optmodel_file"):
            frame = frame.f_back
        if frame is not None:
            self.__dict__.setdefault("_optmodel_lines", {})[name] = frame.f_lineno

    def add_component(self, name, val):
        self._note(name)
        super().add_component(name, val)

    def del_component(self, name_or_object):
        self._note(getattr(name_or_object, "local_name", str(name_or_object)))
        super().del_component(name_or_object)


def apply_extra(bm: BuiltModel, data: ModelData, extra: ExtraFile | None) -> BuiltModel:
    """``bm`` with the file's variables and constraints appended as families (``bm`` itself
    is not changed); ``bm`` as it is when ``extra`` is None."""
    if extra is None:
        return bm
    if any(f.meta.get("extra") == extra.name for f in (*bm.vars.values(), *bm.cons.values())):
        raise InternalError(f"{extra.name} is already part of this structure (applied twice).")
    fn = load_function(extra)
    model = _LineRecorder(name="optmodel")
    model.__dict__["_optmodel_file"] = _filename(extra)
    model = to_pyomo(bm, model)
    try:
        fn(model, data)
    except Exception as exc:
        raise _error(extra.name, f"{type(exc).__name__}: {exc}",
                     _line_in(exc, _filename(extra))) from None
    return absorb(model, extra.name)


# ------------------------------------------------------------------ Pyomo → tables


def absorb(model: pyo.ConcreteModel, origin: str = "the model") -> BuiltModel:
    """The structure of an exported ``model`` (:func:`to_pyomo`) with what was added to it
    since: new variables and constraints as families, changed bounds of built-in variables
    in their families.  ``origin`` names the file in error messages."""
    pbm: BuiltModel | None = getattr(model, STRUCTURE_ATTR, None)
    snap: Snapshot | None = getattr(model, SNAPSHOT_ATTR, None)
    if pbm is None or snap is None:
        raise _error(origin, "not a model made by optmodel.build (or to_pyomo)")
    _check_objective(model, pbm, snap, origin)
    _check_builtin_constraints(model, pbm, snap, origin)
    _check_unsupported(model, origin)
    out = BuiltModel(None, pbm.data, {name: _builtin_vars(fam, snap, origin)
                                      for name, fam in pbm.vars.items()},
                     {name: replace(fam, component=None) for name, fam in pbm.cons.items()})
    column = {id(v): (name, i) for name, fam in pbm.vars.items()
              for i, v in enumerate(fam.objs)}
    builtin = {id(fam.component) for fam in pbm.cons.values()}
    groups: dict[int, list] = {}
    for c in model.component_data_objects(pyo.Constraint, active=True, descend_into=True):
        comp = c.parent_component()
        if id(comp) not in builtin:
            groups.setdefault(id(comp), []).append(c)
    new_vars: dict[int, list] = {}  # id(Var component) → VarData in first-use order
    families = [_user_constraints(rows, column, new_vars, model, origin)
                for rows in groups.values()]
    for comp_vars in new_vars.values():
        fam = _user_var_family(comp_vars, origin)
        if fam.name in out.vars:
            raise _error(origin, f"variable {fam.name} clashes with a built-in family name")
        out.vars[fam.name] = fam
    for fam in families:
        fam.terms["fam"] = fam.terms["fam"].map(lambda f: f if isinstance(f, str) else
                                                _var_name(f))
        fam.check(out.vars)
        out.add(fam)
    return out


def _err(model, origin: str, message: str, name: str | None = None) -> InputError:
    """An InputError naming ``origin`` and, where known, the line that added (or deleted)
    the top-level component ``name``."""
    lines = model.__dict__.get("_optmodel_lines", {})
    line = lines.get(name.split(".")[0].split("[")[0]) if name else None
    return _error(origin, message, line)


def _var_name(comp) -> str:
    return comp.getname(fully_qualified=True)


def _check_objective(model, pbm: BuiltModel, snap: Snapshot, origin: str) -> None:
    npv = model.component("npv")
    active = list(model.component_data_objects(pyo.Objective, active=True, descend_into=True))
    if (npv is not pbm.model.npv or not npv.active or npv.expr is not snap.objective_expr
            or npv.sense != pyo.maximize):
        raise _err(model, origin, "the objective npv was replaced or changed; add "
                   "constraints instead (the objective stays the NPV)", "npv")
    if len(active) != 1:
        other = next((o.name for o in active if o is not npv), None)
        raise _err(model, origin, f"a second objective ({other}) was added; only npv may be "
                   "active", other)


def _check_builtin_constraints(model, pbm: BuiltModel, snap: Snapshot, origin: str) -> None:
    for name, fam in pbm.cons.items():
        comp = fam.component
        if model.component(comp.local_name) is not comp:
            raise _err(model, origin, f"the built-in constraint {name} was removed or "
                       "replaced", name)
        exprs = snap.con_exprs[name]
        datas = list(comp.values())
        if len(datas) != len(exprs):
            raise _error(origin, f"rows of the built-in constraint {name} were added or removed")
        for c, e in zip(datas, exprs, strict=True):
            if not c.active:
                raise _error(origin, f"the built-in constraint {c.name} was deactivated")
            if c.expr is not e:
                raise _error(origin, f"the built-in constraint {c.name} was changed; add a "
                                     "new constraint instead")


def _check_unsupported(model, origin: str) -> None:
    for ctype in (pyo.SOSConstraint, pyo.LogicalConstraint):
        for comp in model.component_objects(ctype, active=True, descend_into=True):
            raise _err(model, origin, f"{comp.name}: {ctype.__name__} is not supported; "
                       "write linear constraints (integer variables are allowed)", comp.name)


def _builtin_vars(fam: VarFamily, snap: Snapshot, origin: str) -> VarFamily:
    """The family's table, with the bounds and integrality a user changed (fix, setlb, …)."""
    lb0, ub0, int0 = snap.var_state[fam.name]
    lb, ub, integer = var_state(fam.objs)
    table = replace(fam, component=None, objs=None)
    same = ((lb == lb0) | (np.isnan(lb) & np.isnan(lb0))) & \
        ((ub == ub0) | (np.isnan(ub) & np.isnan(ub0))) & (integer == int0)
    if same.all():
        return table
    bad = [fam.objs[i].name for i in np.flatnonzero(~same)
           if fam.objs[i].fixed and fam.objs[i].value is None]
    if bad:
        raise _error(origin, f"{bad[0]} is fixed without a value")
    return replace(table, lower=lb, upper=ub,
                   domains=_domains(integer))


def _domains(integer: np.ndarray) -> np.ndarray:
    """"integer" or "real" per variable (the bounds carry the rest, e.g. of a Binary)."""
    return np.array(["integer" if i else "real" for i in integer], dtype=object)


def _user_constraints(rows: list, column: dict, new_vars: dict[int, list], model,
                      origin: str) -> ConFamily:
    """One family from the ConstraintData of one new Constraint component."""
    comp = rows[0].parent_component()
    name = comp.getname(fully_qualified=True)
    con, fams, vids, coefs, lower, upper, keys = [], [], [], [], [], [], []
    for i, c in enumerate(rows):
        repn = generate_standard_repn(c.body, compute_values=True, quadratic=False)
        if not repn.is_linear():
            raise _err(model, origin, f"constraint {c.name} is not linear (only linear "
                       "constraints can be added)", name)
        const = float(repn.constant)
        lower.append(np.nan if c.lb is None else float(c.lb) - const)
        upper.append(np.nan if c.ub is None else float(c.ub) - const)
        keys.append(c.index())
        for v, a in zip(repn.linear_vars, repn.linear_coefs, strict=True):
            where = column.get(id(v))
            if where is None:
                where = _new_column(v, column, new_vars, model, origin)
            con.append(i)
            fams.append(where[0])
            vids.append(where[1])
            coefs.append(float(a))
    index, key_cols, scalar = _key_table(keys)
    terms = pd.DataFrame({"con": np.asarray(con, dtype=np.int64),
                          "fam": pd.Series(fams, dtype=object),
                          "vid": np.asarray(vids, dtype=np.int64),
                          "coef": np.asarray(coefs, dtype=float)})
    return ConFamily(name, index, key_cols, np.asarray(lower, dtype=float),
                     np.asarray(upper, dtype=float), terms,
                     meta={"extra": origin, "scalar": scalar})


def _new_column(v, column: dict, new_vars: dict[int, list], model, origin: str
                ) -> tuple[Any, int]:
    """Register a variable the user added: its family is its Var component."""
    comp = v.parent_component()
    if comp.model() is not model:
        raise _err(model, origin, f"variable {v.name} is used in a constraint but not added "
                   "to the model (add it as a model component)")
    members = new_vars.setdefault(id(comp), [])
    where = (comp, len(members))
    members.append(v)
    column[id(v)] = where
    return where


def _user_var_family(members: list, origin: str) -> VarFamily:
    comp = members[0].parent_component()
    lb, ub, integer = var_state(np.array(members, dtype=object))
    if any(v.fixed and v.value is None for v in members):
        raise _error(origin, f"a variable of {comp.name} is fixed without a value")
    index, key_cols, scalar = _key_table([v.index() for v in members])
    return VarFamily(_var_name(comp), index, key_cols, lower=lb, upper=ub,
                     domains=_domains(integer),
                     meta={"extra": origin, "scalar": scalar})


def _key_table(keys: list) -> tuple[pd.DataFrame, list[str], bool]:
    """Index table of a user's component: one column per position of a tuple index
    (``index_1``, …), else one column ``index``; a scalar component's index is ''."""
    if len(keys) == 1 and keys[0] is None:
        return pd.DataFrame({"index": [""]}), ["index"], True
    widths = {len(k) if isinstance(k, tuple) else 0 for k in keys}
    if len(widths) == 1 and (w := widths.pop()) > 0:
        cols = [f"index_{j + 1}" for j in range(w)]
        return pd.DataFrame([list(k) for k in keys], columns=cols), cols, False
    s = pd.Series(keys, dtype=object)
    return pd.DataFrame({"index": s}), ["index"], False
