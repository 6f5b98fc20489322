"""The objective's one home: one function per objective term of docs/model.md §3–5.

Each function takes the built model's variable tables and returns a
:class:`Term`: per variable family, the USD each unit of the variable earns or
costs over the horizon **undiscounted** (``amount``) and **discounted** to the
first year (``pv``), both as positive magnitudes, and the term's sign (+1 income,
−1 cost).  Everything that needs a money figure of the plan reads these:

- :func:`objective_coefficients` (the solver's objective, USD) = Σ_terms sign × pv;
- the Summary's ``<term>_musd`` lines = Σ amount·x and its ``pv_<term>_musd``
  lines = sign × Σ pv·x (so the pv lines add up to ``npv_musd`` by construction);
- the state's view (:func:`state_terms`): transfers between the chain and the
  budget, from the same functions plus :func:`relief_given`.

Notation: d_t = (1 + rate)^−(t − t0) the discount factor of year t, L the last
year, x the variable's value.  Variables are those of
:mod:`optmodel.model.build`: ``act``, ``build``, ``open``, ``flow``, ``trade``,
``unmet``, ``dispose`` and ``seg`` (the segments of a price-response row, §2.1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optmodel.model.data import USD_PER_MUSD


@dataclass
class Term:
    """One objective term: USD per unit of each variable, undiscounted and present value."""

    name: str
    sign: float  # +1 income of the chain, −1 a cost
    amount: dict[str, np.ndarray] = field(default_factory=dict)  # undiscounted USD per unit
    pv: dict[str, np.ndarray] = field(default_factory=dict)  # discounted USD per unit

    def add(self, family: str, amount, discount) -> Term:
        """Add ``amount`` (USD per unit, undiscounted) × ``discount`` for ``family``."""
        a = np.asarray(amount, dtype=float)
        self.amount[family] = self.amount.get(family, 0.0) + a
        self.pv[family] = self.pv.get(family, 0.0) + a * np.asarray(discount, dtype=float)
        return self

    def value(self, x: dict[str, np.ndarray], discounted: bool = False) -> float:
        """The term's magnitude (USD) for variable values ``x`` by family."""
        coefs = self.pv if discounted else self.amount
        return float(sum(np.dot(c, x[f]) for f, c in coefs.items() if len(c)))


def _ix(bm, family: str) -> pd.DataFrame:
    return bm.vars[family].index


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    return df[col].to_numpy(dtype=float)


def _fixed_price(tr: pd.DataFrame) -> np.ndarray:
    """1 on fixed-price rows, 0 on price-response rows (their price is on the segments)."""
    if "price_response" not in tr:
        return np.ones(len(tr))
    return (~tr["price_response"].astype(bool)).to_numpy(dtype=float)


def revenue(bm) -> Term:
    """revenue = Σ_t d_t · [Σ_{sell rows, fixed price} price·trade + Σ_{price-response rows}
    Σ_j r_j·s_j] (R̃, §2.1)."""
    tr, sg = _ix(bm, "trade"), _ix(bm, "seg")
    sell = (tr["direction"] == "sell").to_numpy(dtype=float)
    return (Term("revenue", 1.0)
            .add("trade", sell * _fixed_price(tr) * _num(tr, "price_usd_per_t"), _num(tr, "d"))
            .add("seg", _num(sg, "r"), _num(sg, "d")))


def purchases(bm) -> Term:
    """purchases = Σ_t d_t · Σ_{buy rows} price·trade."""
    tr = _ix(bm, "trade")
    buy = (tr["direction"] == "buy").to_numpy(dtype=float)
    return Term("purchases", -1.0).add("trade", buy * _num(tr, "price_usd_per_t"), _num(tr, "d"))


def export_duties(bm) -> Term:
    """export duty = Σ_t d_t · rate × revenue of each export sell row (price·trade, or R̃ on
    a price-response row); rate = the highest export_duty_rate matching the product."""
    tr, sg = _ix(bm, "trade"), _ix(bm, "seg")
    sell = (tr["direction"] == "sell").to_numpy(dtype=float)
    return (Term("export_duties", -1.0)
            .add("trade", sell * _fixed_price(tr) * _num(tr, "duty_rate")
                 * _num(tr, "price_usd_per_t"), _num(tr, "d"))
            .add("seg", _num(sg, "duty_rate") * _num(sg, "r"), _num(sg, "d")))


def import_duties(bm) -> Term:
    """import duty = Σ_t d_t · rate × price·trade on buy rows of scope import."""
    tr = _ix(bm, "trade")
    buy = (tr["direction"] == "buy").to_numpy(dtype=float)
    return Term("import_duties", -1.0).add(
        "trade", buy * _num(tr, "duty_rate") * _num(tr, "price_usd_per_t"), _num(tr, "d"))


def opex(bm) -> Term:
    """opex = Σ_t d_t · opex_usd_per_activity × act."""
    a = _ix(bm, "act")
    return Term("opex", -1.0).add("act", _num(a, "opex_usd_per_activity"), _num(a, "d"))


def subsidies(bm) -> Term:
    """subsidy = Σ_t d_t · value × act of the target process (rows for one process add up)."""
    a = _ix(bm, "act")
    return Term("subsidies", 1.0).add("act", _num(a, "subsidy"), _num(a, "d"))


def support(bm) -> Term:
    """support = Σ_t d_t · value × trade on domestic sell rows of matching products (rows
    matching one product in a year add up; §2.1)."""
    tr = _ix(bm, "trade")
    col = _num(tr, "support") if "support" in tr else np.zeros(len(tr))
    return Term("support", 1.0).add("trade", col, _num(tr, "d"))


def fixed_om(bm) -> Term:
    """fixed O&M = Σ_t d_t · fixed_om_musd_per_year × units alive in t (per unit started in
    τ: the sum over its alive years)."""
    b = _ix(bm, "build")
    amount = _num(b, "fom_usd")
    pv = _num(b, "pv_fom_usd")
    term = Term("fixed_om", -1.0)
    term.amount["build"], term.pv["build"] = amount, pv
    return term


def transport(bm) -> Term:
    """transport = Σ_t d_t · (cost_usd_per_t + cost_usd_per_tkm × distance_km) × flow."""
    f = _ix(bm, "flow")
    return Term("transport", -1.0).add("flow", _num(f, "unit_cost"), _num(f, "d"))


def extraction_tax(bm) -> Term:
    """extraction tax = Σ_t d_t · extraction_tax_usd_per_t × the deposit's gross output
    (out[k, p] × act of every process at its node that outputs its product)."""
    a = _ix(bm, "act")
    return Term("extraction_tax", -1.0).add("act", _num(a, "tax_per_act"), _num(a, "d"))


def disposal(bm) -> Term:
    """disposal = Σ_t d_t · disposal_cost_usd_per_t × dispose."""
    dp = _ix(bm, "dispose")
    return Term("disposal", -1.0).add("dispose", _num(dp, "disposal_cost_usd_per_t"),
                                      _num(dp, "d"))


def unmet_penalty(bm) -> Term:
    """unmet penalty = Σ_t d_t · unmet_penalty_usd_per_t × unmet."""
    u = _ix(bm, "unmet")
    return Term("unmet_penalty", -1.0).add("unmet", _num(u, "penalty"), _num(u, "d"))


def capex(bm) -> Term:
    """capex = Σ_{o,τ} d_τ · capex_musd × (1 − relief_τ) × build[o,τ]."""
    b = _ix(bm, "build")
    return Term("capex", -1.0).add("build", _num(b, "capex_usd"), _num(b, "d"))


def opening_cost(bm) -> Term:
    """opening cost = Σ_n opening_cost_musd × open[n], paid once, not discounted."""
    o = _ix(bm, "open")
    return Term("opening_cost", -1.0).add("open", _num(o, "opening_cost_musd") * USD_PER_MUSD,
                                          1.0)


def salvage(bm) -> Term:
    """salvage (Settings salvage on) = Σ capex_musd × (1 − relief_τ) × build[o,τ] × R /
    lifetime × d_L, R = min(lifetime, max(0, τ + lead + lifetime − 1 − L))."""
    b = _ix(bm, "build")
    d_last = float(bm.data.discount[bm.data.last_year])
    return Term("salvage", 1.0).add("build", _num(b, "salvage_usd"), d_last)


def relief_given(bm) -> Term:
    """The capex relief the state gives (§2.1, not an objective term): Σ capex_musd × relief_τ
    × build[o,τ] (at d_τ), less, with salvage on, the salvage that relief removed (capex_musd
    × relief_τ × build × R/lifetime, at d_L).  Its sign is that of a cost to the state."""
    b = _ix(bm, "build")
    full = _num(b, "capex_musd") * USD_PER_MUSD * _num(b, "relief")
    share = _num(b, "salvage_share")
    d_last = float(bm.data.discount[bm.data.last_year])
    term = Term("relief_given", 1.0)
    term.amount["build"] = full * (1.0 - share)
    term.pv["build"] = full * (_num(b, "d") - share * d_last)
    return term


# the objective terms in docs/model.md §3–5 order (the Summary's order)
TERMS: tuple[Callable, ...] = (revenue, purchases, export_duties, import_duties, opex,
                               subsidies, support, fixed_om, transport, extraction_tax,
                               disposal, unmet_penalty, capex, opening_cost, salvage)

# the state's view (§2.1): each transfer's sign in fiscal_net (+ the budget receives)
FISCAL: tuple[tuple[Callable, float], ...] = (
    (export_duties, 1.0), (import_duties, 1.0), (extraction_tax, 1.0), (subsidies, -1.0),
    (support, -1.0), (relief_given, -1.0))


_OBJECTIVE_ORDER = ("act", "build", "open", "flow", "trade", "dispose", "unmet", "seg")


def objective_terms(bm) -> list[Term]:
    """Every objective term of the model, in §2 order."""
    return [f(bm) for f in TERMS]


def objective_coefficients(bm) -> dict[str, np.ndarray]:
    """Objective coefficient (USD, discounted) of every variable, by family: Σ_terms sign·pv.

    Families in a fixed order (the order of the objective's terms handed to the solvers,
    which decides the column order of the variables only in the objective); a family no
    term touches gets zeros.
    """
    order = [f for f in _OBJECTIVE_ORDER if f in bm.vars]
    order += [f for f in bm.vars if f not in order]
    coefs = {name: np.zeros(len(bm.vars[name])) for name in order}
    for term in objective_terms(bm):
        for fam, pv in term.pv.items():
            if fam in coefs:
                coefs[fam] = coefs[fam] + term.sign * np.broadcast_to(pv, coefs[fam].shape)
    return coefs


def fiscal_net(bm, x: dict[str, np.ndarray]) -> tuple[float, float, float]:
    """(relief_given, fiscal_net, pv_fiscal_net) in USD for variable values ``x``:
    fiscal_net = export duties + import duties + extraction tax − subsidies − support −
    relief_given (undiscounted), pv_fiscal_net the same with each item discounted."""
    net = pv = 0.0
    relief = 0.0
    for f, s in FISCAL:
        term = f(bm)
        net += s * term.value(x)
        pv += s * term.value(x, discounted=True)
        if f is relief_given:
            relief = term.value(x)
    return relief, net, pv


# the Summary's present-value lines of the objective terms: they add up to npv_musd
# (pv_fiscal_net_musd is the state's view, not one of them)
PV_TERM_LINES: frozenset[str] = frozenset(f"pv_{f.__name__}_musd" for f in TERMS)


def national_coefficients(bm) -> dict[str, np.ndarray]:
    """Coefficients (USD, discounted) of national_npv = npv + pv_fiscal_net: the objective
    with every transfer (duties, extraction tax, subsidies, support, relief) set to zero."""
    coefs = objective_coefficients(bm)
    for f, s in FISCAL:
        for fam, pv in f(bm).pv.items():
            if fam in coefs:
                coefs[fam] = coefs[fam] + s * np.broadcast_to(pv, coefs[fam].shape)
    return coefs


def value_added_coefficients(bm) -> dict[str, np.ndarray]:
    """Coefficients (USD, undiscounted) of domestic value added = revenue (every sell row,
    R̃ on a price-response row) − purchases (every buy row), docs/model.md §3–5."""
    coefs: dict[str, np.ndarray] = {}
    for term in (revenue(bm), purchases(bm)):
        for fam, a in term.amount.items():
            coefs[fam] = coefs.get(fam, 0.0) + term.sign * a
    return coefs
