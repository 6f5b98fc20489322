"""Policy targets: the one normaliser (docs/model.md §11.1) and what a target selects.

Every reader of a Policy target goes through :func:`normalise_target` — validation
(including the duplicate check), scenario selectors, the model data and the Inputs
sheet — so two spellings of one target can never become two rows of one constraint.
A stage form is rewritten without spaces in lower case (``Stage <= 1`` → ``stage<=1``);
any other target is trimmed and case-folded, and matches names case-insensitively
(:func:`fold`).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

_STAGE_FORM = re.compile(r"^stage(<=|>=)(\d+)$")


def fold(name: Any) -> str:
    """A name as targets compare it: trimmed and case-folded."""
    return str(name).strip().casefold()


def normalise_target(value: Any) -> str | None:
    """The canonical text of a Policy target; None for a blank cell."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    if not text:
        return None
    compact = re.sub(r"\s+", "", text).casefold()
    m = _STAGE_FORM.match(compact)
    if m:  # N as a plain integer: stage<=05 is stage<=5
        return f"stage{m.group(1)}{int(m.group(2))}"
    return text.casefold()


def stage_form(target: str | None) -> tuple[str, int] | None:
    """``("<=", N)`` or ``(">=", N)`` for a normalised stage target, else None."""
    if not target:
        return None
    m = _STAGE_FORM.match(target)
    return (m.group(1), int(m.group(2))) if m else None


def product_target_mask(target: str | None, product: pd.Series, stage: pd.Series) -> np.ndarray:
    """Which rows (with a product and its stage) a product target selects.

    Blank: every row; ``stage<=N`` / ``stage>=N``: rows whose product's stage is within;
    otherwise rows whose product equals the target, case-insensitively.
    """
    if not target:
        return np.ones(len(product), dtype=bool)
    form = stage_form(target)
    if form is not None:
        op, n = form
        st = stage.to_numpy()
        return st <= n if op == "<=" else st >= n
    return np.asarray([fold(p) == target for p in product.tolist()], dtype=bool)
