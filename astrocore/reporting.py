"""Tables of the study: per-run values summarised as mean and spread over seeds."""

from __future__ import annotations

import pandas as pd


def summarize(runs: pd.DataFrame, by, statistics, *, unit: str = "seed", n_column: str = "seeds") -> pd.DataFrame:
    """Mean and sample standard deviation (ddof = 1; 0 for a single run) of each statistic over the ``unit``
    rows of every ``by`` group, with the number of distinct units in ``n_column``.

    Columns: ``by``, ``n_column``, then ``<stat>_mean``, ``<stat>_std`` per statistic; group order as first seen.
    """
    by, statistics = list(by), list(statistics)
    missing = [c for c in (*by, *statistics, unit) if c not in runs.columns]
    if missing:
        raise ValueError(f"runs lack column(s) {missing}; they have {list(runs.columns)}")
    if runs.empty:
        raise ValueError("runs is empty: nothing to summarise")
    groups = runs.groupby(by, sort=False)
    out = groups[unit].nunique().rename(n_column).to_frame()
    for stat in statistics:
        out[f"{stat}_mean"] = groups[stat].mean()
        out[f"{stat}_std"] = groups[stat].std(ddof=1).fillna(0.0)
    return out.reset_index()
