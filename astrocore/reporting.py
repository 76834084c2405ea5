"""Tables of the study: per-run values summarised as mean and spread over seeds."""

from __future__ import annotations

import pandas as pd

from .validation import AnyOf, InstanceOf, InvalidParameterError, Real, validate_params

_NAMES = AnyOf(InstanceOf(str, example=lambda: "g"), InstanceOf(list, tuple, example=lambda: ["g"]))


@validate_params({"runs": InstanceOf(pd.DataFrame, example=lambda: pd.DataFrame({"g": [0], "x": [1.0],
                                                                                  "seed": [0]})),
                  "by": _NAMES, "statistics": _NAMES, "unit": InstanceOf(str, example=lambda: "seed"),
                  "n_column": InstanceOf(str, example=lambda: "seeds")})
def summarize(runs: pd.DataFrame, by, statistics, *, unit: str = "seed", n_column: str = "seeds") -> pd.DataFrame:
    """Mean and sample standard deviation (ddof = 1; 0 for a single run) of each statistic over the ``unit``
    rows of every ``by`` group, with the number of distinct units in ``n_column``.

    ``by`` and ``statistics``: a column name or a list of them (a string is one name, never its letters).
    Columns: ``by``, ``n_column``, then ``<stat>_mean``, ``<stat>_std`` per statistic; group order as first seen.
    """
    by = [by] if isinstance(by, str) else list(by)
    statistics = [statistics] if isinstance(statistics, str) else list(statistics)
    missing = [c for c in (*by, *statistics, unit) if c not in runs.columns]
    if missing:
        raise InvalidParameterError(f"runs lack column(s) {missing}; they have {list(runs.columns)}")
    if runs.empty:
        raise InvalidParameterError("runs is empty: nothing to summarise")
    if not by:
        raise InvalidParameterError("by must name at least one column, got []")
    clash = sorted({n_column, *(f"{s}_{k}" for s in statistics for k in ("mean", "std"))} & set(by))
    if clash:
        raise InvalidParameterError(f"n_column and the statistics' output columns must differ from by, got {clash}")
    groups = runs.groupby(by, sort=False)
    out = groups[unit].nunique().rename(n_column).to_frame()
    for stat in statistics:
        out[f"{stat}_mean"] = groups[stat].mean()
        out[f"{stat}_std"] = groups[stat].std(ddof=1).fillna(0.0)
    return out.reset_index()


@validate_params({"value": Real(0)})
def format_energy(value: float) -> str:
    """An energy given in pJ, in engineering units: ``"4.65 mJ"``, ``"23.1 nJ"``, ``"447 pJ"``, ``"9.64 fJ"``."""
    for scale, unit in ((1e9, "mJ"), (1e6, "uJ"), (1e3, "nJ"), (1.0, "pJ")):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value * 1e3:.3g} fJ"
