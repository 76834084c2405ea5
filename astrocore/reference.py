"""Reference tables: numbers from chaotic runs checked against their measured spread, not as text.

A chaotic run (a reservoir driven by Thomas' or Lorenz' system) gives another
trajectory on another CPU, because last-bit differences between numpy's SIMD
kernels or BLAS builds grow. Its statistics then move within their spread
over seeds and initial conditions, never digit for digit. Each such table of
the study is declared once in :data:`TABLES` (its key columns and the
statistics it reports, each with its spread column and a resolution floor);
:func:`freeze` turns a measured table into a reference file with one
tolerance per value, and :func:`check` compares a rerun with it.

The tolerance of a mean over ``n`` seeds with standard deviation ``s`` is

    tol = max(z * sqrt(2 / n) * max(s, s_pool / 2), floor),       z = 4,

the difference of two independent means being ``N(0, 2 s^2 / n)`` (``n``:
seeds, or forecasts where each forecast's trajectory is what a new numeric
path changes, as for a valid prediction time; a climate distance is a property
of a seed's closed loop, so its ``n`` is the seeds, and so is a valid prediction
time whose forecasts share a seed's phase history, as in the phase-control experiment):
``sqrt(2 / n) s`` is its standard deviation, ``z = 4`` standard deviations
are exceeded by chance with probability 6e-5. ``s_pool`` is the root mean
square of ``s`` over the table's rows of that statistic (rows with the same
units, where a table mixes them: ``TableSpec.pool_by``), so that a row whose
few seeds happened to agree does not get a tolerance of zero (not for the
forecast tables, whose spreads come from 12 to 120 forecasts each and whose
rows differ in scale by orders of magnitude); ``floor`` is
the resolution of the statistic (one scored step of an accuracy, one step of
a valid prediction time). A seed changes the reservoir's weights as well as
its trajectory, so the seed spread bounds what a change of numeric path can
do to the same seed.

Reference files live in ``tests/references/<profile>/<table>.csv`` (profile
``quick``: the CI-sized workflow the tests run; ``default``: the committed
figures). ``python -m astrocore.reference check figures/tables --profile
default`` checks a reader's own ``make figures`` output against the
committed study.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from astrocore.paths import REPO_ROOT

Z = 4.0
POOL_FRACTION = 0.5
PROFILES = ("quick", "default")
REFERENCE_ROOT = REPO_ROOT / "tests" / "references"
NO_SPREAD = "none"
COLUMNS = ("statistic", "reference", "spread", "n", "floor", "tolerance")


@dataclass(frozen=True)
class Statistic:
    """One reported statistic: its mean column, spread column and resolution floor.

    ``mean`` defaults to ``<name>_mean`` and ``spread`` to ``<name>_std``
    (``NO_SPREAD``: the floor alone sets the tolerance); ``n`` names the
    column holding the number of independent runs the mean is over (seeds,
    forecasts), or is an int.
    """

    name: str
    floor: float
    mean: str | None = None
    spread: str | None = None
    n: str | int = "seeds"

    def __post_init__(self):
        if not (math.isfinite(self.floor) and self.floor > 0):
            raise ValueError(f"floor of {self.name!r} must be a finite number > 0, got {self.floor!r}")
        if isinstance(self.n, int) and self.n < 1:
            raise ValueError(f"n of {self.name!r} must be >= 1, got {self.n}")

    @property
    def mean_column(self) -> str:
        return self.mean or f"{self.name}_mean"

    @property
    def spread_column(self) -> str:
        return self.spread or f"{self.name}_std"


@dataclass(frozen=True)
class TableSpec:
    """A table of chaotic statistics: the columns that identify a row and the statistics checked."""

    keys: tuple[str, ...]
    statistics: tuple[Statistic, ...] = field(default_factory=tuple)
    pool_by: tuple[str, ...] = ()   # columns whose rows share units: the pooled spread stays within them
    pool: bool = True               # False where every spread is estimated from many runs (forecasts)


ACCURACY = 0.01      # an accuracy: one point
R_FLOOR = 0.01       # the Kuramoto order parameter R in [0, 1]
NRMSE_FLOOR = 0.01   # a normalised root-mean-square error

TABLES: dict[str, TableSpec] = {
    "regime_detection": TableSpec(("system", "graph", "method"), (
        Statistic("accuracy_all_steps", ACCURACY), Statistic("accuracy_outside_transitions", ACCURACY),
        Statistic("detection_delay", 2.0))),
    "rhythmic_schematic": TableSpec(("time",), (
        Statistic("order_R", R_FLOOR, mean="order_R", spread="order_R_time_std", n=1),
        Statistic("mean_domain_synchrony", R_FLOOR, mean="mean_domain_synchrony", spread="order_R_time_std", n=1),
        Statistic("mean_abs_node_state", 0.1, mean="mean_abs_node_state", spread=NO_SPREAD, n=1),
        Statistic("order_R_regime", R_FLOOR))),
    "hardware_reservoir": TableSpec(("bits", "phase_noise"), (
        Statistic("regime_accuracy", ACCURACY), Statistic("vpt", 0.03, n="forecasts"))),
    "rhythmic_multiregime": TableSpec(("system", "context", "model", "variant"), (
        Statistic("vpt", 0.03, n="forecasts"), Statistic("climate_distance", 0.02)),
        pool=False),
    "reservoir_adaptation": TableSpec(("system", "context", "model", "variant"), (
        Statistic("vpt", 0.03, n="forecasts"), Statistic("climate_distance", 0.02)),
        pool=False),
    "reservoir_adaptation_variants": TableSpec(("system", "model", "variant", "contexts"), (
        Statistic("vpt_fraction", 0.005, n="forecasts"), Statistic("climate_distance", 0.02)), pool=False),
    "rhythmic_inference": TableSpec(("system", "feature_set"), (
        Statistic("cv_r2", 0.05), Statistic("abs_spearman", 0.05))),
    "integration_online": TableSpec(("system", "reservoir", "n_nodes", "learner", "label_every", "hardware"), (
        Statistic("nrmse", NRMSE_FLOOR),), pool_by=("label_every",)),
    # n = seeds for the VPT too: a seed's forecasts share one phase history (the free run, then frozen or
    # controlled phases), so a new numeric path moves them together (measured: the fused kernel moved 9
    # Thomas b = 0.25 means by up to 4.7 forecast-based standard errors, 1.7 seed-based ones)
    "integration_phase_control": TableSpec(("system", "hardware", "context", "method", "window", "label_every"), (
        Statistic("vpt", 0.03, n="seeds"), Statistic("climate_distance", 0.02)), pool=False),
    "rhythmic_inference_features": TableSpec(("system", "value"), (
        Statistic("R", R_FLOOR), Statistic("phase_velocity", 1e-3), Statistic("activity", 0.005),
        Statistic("input_std", 0.05))),
}


class ToleranceError(AssertionError):
    """A rerun's statistic lies outside the tolerance of its reference."""


def spec(name: str) -> TableSpec:
    if name not in TABLES:
        raise ValueError(f"no reference table named {name!r}; known: {sorted(TABLES)}")
    return TABLES[name]


def reference_path(name: str, profile: str) -> Path:
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    spec(name)
    return REFERENCE_ROOT / profile / f"{name}.csv"


def _require(table: pd.DataFrame, columns, name: str):
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"table {name!r} lacks column(s) {missing}; it has {list(table.columns)}")


def _values(table: pd.DataFrame, stat: Statistic) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = table[stat.mean_column].to_numpy(float)
    spread = (np.zeros(len(table)) if stat.spread == NO_SPREAD else table[stat.spread_column].to_numpy(float))
    n = np.full(len(table), float(stat.n)) if isinstance(stat.n, int) else table[stat.n].to_numpy(float)
    return mean, spread, n


def tolerance(spread, n, floor: float, pooled=0.0):
    """``max(Z sqrt(2/n) max(spread, POOL_FRACTION pooled), floor)`` (see the module docstring)."""
    spread = np.maximum(np.nan_to_num(np.asarray(spread, float)), POOL_FRACTION * pooled)
    return np.maximum(Z * np.sqrt(2.0 / np.asarray(n, float)) * spread, floor)


def freeze(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """The reference of a measured ``table``: one row per (key, statistic) with its tolerance."""
    s = spec(name)
    _require(table, [*s.keys, *(c for st in s.statistics for c in (st.mean_column, st.spread_column)
                                if c != NO_SPREAD), *s.pool_by]
             + [st.n for st in s.statistics if isinstance(st.n, str)], name)
    if table.duplicated(list(s.keys)).any():
        raise ValueError(f"table {name!r} has duplicate rows for the keys {list(s.keys)}")
    parts = []
    for stat in s.statistics:
        mean, spread, n = _values(table, stat)
        if np.any(n < 1):
            raise ValueError(f"table {name!r}: column {stat.n!r} must be >= 1")
        squares = pd.Series(np.where(np.isfinite(spread), spread, np.nan) ** 2, index=table.index)
        groups = [table[c] for c in s.pool_by] if s.pool_by else np.zeros(len(table))
        pooled = np.sqrt(squares.groupby(groups).transform("mean").fillna(0.0).to_numpy()) if s.pool else 0.0
        part = table[list(s.keys)].copy()
        part["statistic"] = stat.name
        part["reference"] = mean
        part["spread"] = spread
        part["n"] = n.astype(int)
        part["floor"] = stat.floor
        part["tolerance"] = tolerance(spread, n, stat.floor, pooled)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def read_reference(name: str, profile: str) -> pd.DataFrame:
    path = reference_path(name, profile)
    if not path.is_file():
        raise FileNotFoundError(f"no {profile} reference for {name!r}: {path} does not exist; make it with "
                                f"`python -m astrocore.reference freeze <table dir> --profile {profile}`")
    ref = pd.read_csv(path)
    _require(ref, [*spec(name).keys, *COLUMNS], f"{path}")
    if not np.all(np.isfinite(ref["tolerance"])) or np.any(ref["tolerance"] <= 0):
        raise ValueError(f"{path}: every tolerance must be a finite number > 0")
    return ref


def _key(frame: pd.DataFrame, keys) -> pd.Series:
    """Row labels that survive a CSV round trip (3300.0 and 3300, True and "True" agree)."""
    def text(column: pd.Series) -> pd.Series:
        if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
            return column.astype(str)
        return column.map(lambda v: f"{float(v):.12g}")
    return pd.concat([text(frame[k]) for k in keys], axis=1).agg(" | ".join, axis=1)


def compare(table: pd.DataFrame, reference: pd.DataFrame, name: str) -> pd.DataFrame:
    """One row per reference value: the measured value, the difference and whether it is within tolerance.

    The tolerance is the reference's, widened where the rerun's own spread is
    larger: ``max(tol, Z sqrt(s_ref^2 / n_ref + s_run^2 / n_run))``, the
    standard deviation of the difference of two means with unequal spreads
    (a heavy-tailed valid prediction time can meet one long forecast in one
    run and none in the other).

    A reference row with no measured row, or a measured row with no reference
    row, is a failure (``within`` False), as is NaN against a number.
    """
    s = spec(name)
    measured = freeze(table, name)
    ref = reference.copy()
    ref["key"], measured["key"] = _key(ref, s.keys), _key(measured, s.keys)
    ref["order_"] = np.arange(len(ref))
    run = measured[["key", "statistic", "reference", "spread", "n"]].rename(
        columns={"reference": "measured", "spread": "measured_spread", "n": "measured_n"})
    merged = ref.merge(run, on=["key", "statistic"], how="outer", indicator=True)
    combined = Z * np.sqrt(np.nan_to_num(merged["spread"]) ** 2 / merged["n"]
                           + np.nan_to_num(merged["measured_spread"]) ** 2 / merged["measured_n"])
    merged["tolerance"] = np.fmax(merged["tolerance"], combined)
    diff = merged["measured"] - merged["reference"]
    both_nan = merged["measured"].isna() & merged["reference"].isna() & (merged["_merge"] == "both")
    merged["difference"] = diff
    merged["within"] = both_nan | ((merged["_merge"] == "both") & (diff.abs() <= merged["tolerance"]))
    merged["problem"] = np.select([merged["_merge"] == "left_only", merged["_merge"] == "right_only"],
                                  ["missing in the rerun", "not in the reference"], "")
    merged = merged.sort_values("order_", na_position="last", kind="stable").reset_index(drop=True)
    return merged.drop(columns=["_merge", "order_"])


def check(table: pd.DataFrame, name: str, profile: str | None = "quick") -> str:
    """Compare ``table`` with the ``profile`` reference of ``name``; raise :class:`ToleranceError` if any value
    lies outside its tolerance. Returns a one-line summary (deterministic: no measured digits), or says that
    nothing was checked when ``profile`` is None."""
    if profile is None:
        return f"{name}: not checked against a reference (reference=None)"
    result = compare(table, read_reference(name, profile), name)
    bad = result[~result["within"]]
    path = reference_path(name, profile).relative_to(REPO_ROOT)
    if len(bad):
        shown = bad[["key", "statistic", "reference", "tolerance", "measured", "difference", "problem"]]
        raise ToleranceError(f"{name}: {len(bad)} of {len(result)} values outside the tolerance of {path}:\n"
                             + shown.to_string(index=False))
    return f"{name}: all {len(result)} values within tolerance of the {profile} reference ({path})"


def _tables(table_dir: Path, names) -> list[tuple[str, Path]]:
    found = [(n, table_dir / f"{n}.csv") for n in (names or TABLES)]
    return [(n, p) for n, p in found if p.is_file() or names]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m astrocore.reference", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("check", "freeze"))
    parser.add_argument("table_dir", type=Path, help="directory holding <table>.csv (figures/tables)")
    parser.add_argument("--profile", choices=PROFILES, required=True)
    parser.add_argument("--tables", nargs="*", default=None, help=f"tables (default: those found of {sorted(TABLES)})")
    args = parser.parse_args(argv)
    tables = _tables(args.table_dir, args.tables)
    if not tables:
        parser.error(f"no reference table found in {args.table_dir}")
    failed = 0
    for name, path in tables:
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist")
        table = pd.read_csv(path)
        if args.action == "freeze":
            out = reference_path(name, args.profile)
            out.parent.mkdir(parents=True, exist_ok=True)
            frozen = freeze(table, name)
            tmp = out.with_suffix(".tmp")
            frozen.to_csv(tmp, index=False)
            tmp.replace(out)
            print(f"{name}: {len(frozen)} reference values -> {out.relative_to(REPO_ROOT)}")
            continue
        try:
            print(check(table, name, args.profile))
        except ToleranceError as error:
            failed += 1
            print(error)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
