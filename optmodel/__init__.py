"""optmodel: industrial-strategy optimisation (rare earths in Russia), Excel in, Excel out.

From Python (README "Use from Python")::

    import optmodel
    data = optmodel.load("inputs/base_case.xlsx")     # validated input data
    model = optmodel.build(data)                       # a Pyomo ConcreteModel
    model.my_cap = ...                                 # add your own constraints
    tables = optmodel.solve(model)                     # result tables by sheet name

``load``, ``build`` and ``solve`` are imported on first use, so ``import optmodel``
stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
# 1.1: Trade realised and market prices, support; the state's view in the Summary
OUTPUT_SCHEMA_VERSION = "1.1"

__all__ = ["OUTPUT_SCHEMA_VERSION", "__version__", "build", "load", "solve"]


def load(path, scenario: str | None = None):
    """The workbook at ``path`` read and validated (InputError listing every problem),
    with ``scenario`` applied: the model data (:class:`optmodel.model.data.ModelData`,
    read-only; its tables are described in the README)."""
    return _api("optmodel.pipeline", "load_data")(path, scenario)


def build(data) -> Any:
    """The Pyomo ``ConcreteModel`` of ``data``: variables ``act``, ``build``, ``open``,
    ``flow``, ``trade``, ``unmet``, ``dispose`` indexed by their key tuples, one
    ``Constraint`` per constraint family, the objective ``npv`` (USD, maximise).
    Add variables and linear constraints to it, then give it to :func:`solve`."""
    m = importlib.import_module("optmodel.model.pyomo_export")
    return m.to_pyomo(importlib.import_module("optmodel.model.build").build_model(data))


def solve(source, scenario: str | None = None, extra=None, **settings):
    """Solve a workbook path, ``load``'s data or ``build``'s model (with what you added);
    return the result tables, a dict of DataFrames keyed by the results workbook's sheet
    names.  ``extra``: an extra-constraints file (as ``--extra``); ``settings``:
    ``mip_gap``, ``time_limit`` (s), ``threads``."""
    return _api("optmodel.pipeline", "solve_python")(source, scenario, extra, **settings)


def _api(module: str, name: str):
    # imported by name on first use: `import optmodel` loads no pandas, Pyomo or HiGHS
    return getattr(importlib.import_module(module), name)
