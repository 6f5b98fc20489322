"""group_keys (constraint rows from term tables) against pandas' groupby, on random tables."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from optmodel.model.linear import group_keys

_row = st.tuples(st.sampled_from(["Tomtor", "Solikamsk", "Novosibirsk", "", None]),
                 st.integers(2025, 2030), st.sampled_from(["ore", "oxide", "metal"]))


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(_row, min_size=1, max_size=60), nkeys=st.integers(1, 3))
def test_group_keys_equals_groupby(rows, nkeys):
    df = pd.DataFrame(rows, columns=["node", "year", "product"])
    keys = ["node", "year", "product"][:nkeys]
    g = df.groupby(keys, sort=True, observed=True)
    codes, index = group_keys(df, keys)
    # groupby numbers groups in sorted key order and marks rows with a missing key NaN
    assert codes.tolist() == g.ngroup().fillna(-1).astype(int).tolist()
    assert index.equals(g.size().reset_index()[keys])


def test_group_keys_wide_keys_do_not_overflow():
    """Six key columns of ~4000 distinct values each (4000**6 > 2**63): still exact."""
    rng = np.random.default_rng(1)
    df = pd.DataFrame({k: rng.integers(0, 10**6, 4000) for k in "abcdef"})
    df = pd.concat([df, df.iloc[:500]], ignore_index=True)  # repeated keys share a group
    codes, index = group_keys(df, list("abcdef"))
    assert codes.tolist() == df.groupby(list("abcdef")).ngroup().tolist()
    assert len(index) == len(df.drop_duplicates())
