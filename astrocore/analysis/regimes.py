"""Regime detectors: which regime a driven reservoir is in, read from one statistic per step.

Every detector is causal in its statistic (moving averages over past steps
only) and cross-fitted in its one learned parameter: the series is cut in
two halves at ``split``, the detector is fitted on the scored steps of one
half and labels the other, so no step is labelled by a rule fitted on it.
This is the regime detector behind ``figures/regime_detection.png`` and the
regime accuracy of ``figures/hardware_reservoir.png`` (:func:`regime_accuracy`). Unlike clustering,
it cannot land on a partition unrelated to the regimes (k-means on
``(R, <Phi>)`` did, for one seed of four, at chance).

- a scalar statistic: the single threshold (and side) that best separates
  the two labels on the fitting half (:func:`best_threshold`);
- a feature array ``(time, k)``: a depth-3 decision tree (scikit-learn).
"""

from __future__ import annotations

import numpy as np

import pandas as pd

from astrocore import backend
from astrocore.validation import Array, Constraint, InstanceOf, Integer, InvalidParameterError, validate_params

METHODS = ("R threshold", "(R, <Phi>) classifier", "input-norm baseline", "input-std baseline",
           "mean-activity baseline")
"""The detectors of :func:`detector_statistics`, synchrony first."""
SYNCHRONY, BASELINES = METHODS[:2], METHODS[2:]


class _Flags(Constraint):
    """A 1-d array of flags: bools, or numbers that are all 0 or 1; becomes a bool array."""

    def check(self, name: str, value):
        if value is None or isinstance(value, (str, bytes, dict)):
            raise InvalidParameterError(f"{name} must be {self.describe()}, got {value!r}"[:200])
        arr = np.asarray(backend.to_host(value))
        if arr.dtype.kind not in "biuf" or arr.ndim != 1:
            raise InvalidParameterError(f"{name} must be {self.describe()}, got dtype {arr.dtype} and shape "
                                        f"{arr.shape}")
        if arr.dtype.kind != "b" and not np.all((arr == 0) | (arr == 1)):
            bad = int(np.flatnonzero((arr != 0) & (arr != 1))[0])
            raise InvalidParameterError(f"{name} must hold only True/False (or 0/1), got {arr[bad]} at index "
                                        f"({bad},)")
        return arr.astype(bool)

    def describe(self) -> str:
        return "a 1-d array of bools (or of 0/1)"

    def invalid_examples(self) -> list:
        return [None, "mask", np.array([0.5, 1.0]), np.zeros((2, 2), dtype=bool)]

    def valid_example(self):
        return np.array([True, False])


class _Labels(Constraint):
    """A non-empty 1-d array of integer class labels (ints, bools, or whole-valued finite floats); becomes int."""

    def check(self, name: str, value):
        arr = Array(1).check(name, value) if not (isinstance(value, np.ndarray) and value.dtype.kind in "iu") \
            else Array(1, integer=True).check(name, value)
        arr = np.asarray(backend.to_host(arr))
        if arr.dtype.kind == "f" and not np.all(arr == np.round(arr)):
            bad = int(np.flatnonzero(arr != np.round(arr))[0])
            raise InvalidParameterError(f"{name} must hold whole-number class labels, got {arr[bad]} at index "
                                        f"({bad},)")
        return arr.astype(int)

    def describe(self) -> str:
        return "a non-empty 1-d array of integer class labels"

    def invalid_examples(self) -> list:
        return [None, "labels", np.array([0.5, 1.0]), np.array([0.0, np.nan]), np.zeros(0), np.zeros((2, 2))]

    def valid_example(self):
        return np.array([0, 1])


def _same_length(**arrays) -> None:
    """Every array has the same length (first axis for 1-d, as given for others)."""
    lengths = {name: int(arr.shape[0]) for name, arr in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise InvalidParameterError("need one entry per step in each of " + ", ".join(lengths)
                                    + ", got lengths " + ", ".join(f"{k}={v}" for k, v in lengths.items()))


def _check_warmup(warmup: int, steps: int) -> None:
    if warmup > steps - 2:
        raise InvalidParameterError(f"warmup must be <= {steps - 2} (the number of steps {steps} less 2), so that "
                                    f"both halves of the cross-fit have scored steps, got {warmup}")


@validate_params({"x": Array(ndim=None), "window": Integer(1)})
def causal_mean(x, window: int) -> np.ndarray:
    """Causal moving average over the last axis: mean of the last ``window`` steps (fewer at the start)."""
    x = np.asarray(backend.to_host(x), dtype=float)
    c = np.cumsum(x, axis=-1)
    out = c.copy()
    out[..., window:] = c[..., window:] - c[..., :-window]
    return out / np.minimum(np.arange(1, x.shape[-1] + 1), window)


@validate_params({"mean_phase": Array(ndim=None)})
def phase_velocity(mean_phase) -> np.ndarray:
    """Backward difference of the unwrapped mean phase along the last axis (0 at the first step), rad per step."""
    phi = np.asarray(backend.to_host(mean_phase), dtype=float)
    return np.diff(np.unwrap(phi, axis=-1), axis=-1, prepend=phi[..., :1])


@validate_params({"x": Array(1), "y": _Labels(), "mask": _Flags()})
def best_threshold(x, y, mask) -> np.ndarray:
    """Labels (0/1) from the single threshold and side with the highest accuracy on the ``mask`` steps.

    Exhaustive over the sorted values: label 1 above the cut, or below it,
    whichever agrees with more of ``y[mask]``; the cut is midway between
    distinct neighbours (never between equal values, which no cut separates).
    """
    x = np.asarray(backend.to_host(x), float)
    _same_length(x=x, y=y, mask=mask)
    if not np.isin(y, (0, 1)).all():
        raise InvalidParameterError(f"y must hold the labels 0 and 1 only, got {np.unique(y)[:10].tolist()}")
    xs, ys = x[mask], y[mask]
    if xs.size == 0:
        raise InvalidParameterError("mask must select at least one fitting step, got none")
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    below1 = np.concatenate([[0], np.cumsum(ys)])
    k = np.arange(xs.size + 1)
    acc_up = ((k - below1) + (ys.sum() - below1)) / xs.size
    legal = np.r_[True, xs[1:] > xs[:-1], True]      # no cut between equal values
    i = int(np.argmax(np.where(legal, np.maximum(acc_up, 1 - acc_up), -1.0)))
    cut = xs[0] - 1 if i == 0 else xs[-1] + 1 if i == xs.size else 0.5 * (xs[i - 1] + xs[i])
    return ((x > cut) == (acc_up[i] >= 1 - acc_up[i])).astype(int)


@validate_params({"features": Array(2), "y": _Labels(), "mask": _Flags()})
def tree_classifier(features, y, mask) -> np.ndarray:
    """Labels from a depth-3 decision tree (``random_state=0``) fitted on the ``mask`` steps."""
    from sklearn.tree import DecisionTreeClassifier  # noqa: PLC0415

    features = np.asarray(backend.to_host(features), float)
    _same_length(features=features, y=y, mask=mask)
    if not mask.any():
        raise InvalidParameterError("mask must select at least one fitting step, got none")
    model = DecisionTreeClassifier(max_depth=3, random_state=0)
    model.fit(features[mask], y[mask])
    return model.predict(features)


@validate_params({"statistic": Array((1, 2)), "y": _Labels(), "scored": _Flags(), "split": Integer()})
def cross_fitted(statistic, y, scored, split: int) -> np.ndarray:
    """Labels of each half (steps before and from ``split``) from the detector fitted on the other half's
    ``scored`` steps: :func:`best_threshold` for a 1-d statistic, :func:`tree_classifier` for ``(time, k)``."""
    statistic = np.asarray(backend.to_host(statistic), float)
    if statistic.shape[0] != y.size or scored.size != y.size:
        raise InvalidParameterError(f"statistic, labels and scored need one entry per step ({y.size}), got "
                                    f"{statistic.shape[0]} and {scored.size}")
    if not 0 < split < y.size:
        raise InvalidParameterError(f"split must lie inside the series (0, {y.size}), got {split}")
    fit = tree_classifier if statistic.ndim == 2 else best_threshold
    first = np.arange(y.size) < split
    return np.where(first, fit(statistic, y, scored & ~first), fit(statistic, y, scored & first))


@validate_params({"pred": _Labels(), "regime": _Labels(), "first": Integer(0), "persist": Integer(1)})
def detection_delays(pred, regime, first: int, persist: int) -> list[int]:
    """Steps from each switch (at or after ``first``) until ``persist`` consecutive steps are labelled right
    (the segment's length when that never happens)."""
    _same_length(pred=pred, regime=regime)
    switches = np.flatnonzero(np.diff(regime)) + 1
    switches = switches[switches >= first]
    out = []
    for s, e in zip(switches, [*switches[1:], regime.size]):
        ok = (pred[s:e] == regime[s]).astype(int)
        need = min(persist, e - s)
        hits = np.flatnonzero(np.convolve(ok, np.ones(need, dtype=int), "valid") == need)
        out.append(int(hits[0]) if hits.size else int(e - s))
    return out


@validate_params({"regime": _Labels(), "warmup": Integer(0), "transition": Integer(0)})
def outside_transitions(regime, warmup: int, transition: int) -> np.ndarray:
    """Steps from ``warmup`` on, less the ``transition`` steps after each switch of ``regime``."""
    keep = np.arange(regime.size) >= warmup
    for s in np.flatnonzero(np.diff(regime)) + 1:
        keep[s: s + transition] = False
    return keep


@validate_params({"order_R": Array((1, 2)), "mean_phase": Array((1, 2)), "window": Integer(1)})
def synchrony_features(order_R, mean_phase, window: int) -> np.ndarray:
    """``(time, 2)``: R and the causal ``window``-step mean of the phase velocity d<Phi>/dt."""
    if tuple(order_R.shape) != tuple(mean_phase.shape):
        raise InvalidParameterError(f"order_R and mean_phase must have the same shape, got {tuple(order_R.shape)} "
                                    f"and {tuple(mean_phase.shape)}")
    r = np.asarray(backend.to_host(order_R), dtype=float)
    return np.stack([r, causal_mean(phase_velocity(mean_phase), window)], axis=-1)


@validate_params({"order_R": Array(1), "mean_phase": Array(1), "regime": _Labels(), "warmup": Integer(0),
                  "transition": Integer(0), "window": Integer(1)})
def regime_accuracy(order_R, mean_phase, regime, *, warmup: int, transition: int, window: int) -> float:
    """The regime accuracy: accuracy of the cross-fitted (R, <Phi>) classifier outside transitions (one run: 1-d R
    and <Phi>)."""
    _same_length(order_R=order_R, mean_phase=mean_phase, regime=regime)
    _check_warmup(warmup, regime.size)
    scored = np.arange(regime.size) >= warmup
    pred = cross_fitted(synchrony_features(order_R, mean_phase, window), regime, scored,
                        (warmup + regime.size) // 2)
    keep = outside_transitions(regime, warmup, transition)
    return float((pred == regime)[keep].mean())


@validate_params({"u": Array(2), "order_R": Array(2), "mean_phase": Array(2), "mean_activity": Array(2),
                  "std_window": Integer(1), "norm_window": Integer(1), "smooth_window": Integer(1)})
def detector_statistics(u, order_R, mean_phase, mean_activity, *, std_window: int, norm_window: int,
                        smooth_window: int) -> dict[str, np.ndarray]:
    """Per-step statistic of every regime detector of the regime-detection experiment.

    ``u``: the input ``(time, coord)``; ``order_R``, ``mean_phase``,
    ``mean_activity``: ``(seed, time)``. Returns, per method, an array with a
    leading seed axis (length 1 for the input baselines, which no seed
    changes): ``R threshold`` (R), ``(R, <Phi>) classifier``
    (:func:`synchrony_features`), ``input-norm baseline`` (causal mean of
    ``|u|``), ``input-std baseline`` (causal moving standard deviation of each
    coordinate, averaged), ``mean-activity baseline`` (causal mean of
    ``(1/N) sum |n_i|``).
    """
    shapes = {name: tuple(a.shape) for name, a in
              (("order_R", order_R), ("mean_phase", mean_phase), ("mean_activity", mean_activity))}
    if len(set(shapes.values())) > 1 or shapes["order_R"][1] != u.shape[0]:
        raise InvalidParameterError(f"order_R, mean_phase and mean_activity must have shape (seed, time) with the "
                                    f"{u.shape[0]} steps of u, got {shapes}")
    u = np.asarray(backend.to_host(u), float)
    mean = causal_mean(u.T, std_window)
    std = np.sqrt(np.maximum(causal_mean((u ** 2).T, std_window) - mean ** 2, 0)).mean(axis=0)
    R = np.asarray(order_R, float)
    return {"R threshold": R,
            "(R, <Phi>) classifier": synchrony_features(R, mean_phase, smooth_window),
            "input-norm baseline": causal_mean(np.linalg.norm(u, axis=1), norm_window)[None],
            "input-std baseline": std[None],
            "mean-activity baseline": causal_mean(mean_activity, smooth_window)}


@validate_params({"statistics": InstanceOf(dict, example=lambda: {"R": np.zeros((1, 4))}), "regime": _Labels(),
                  "warmup": Integer(0), "transition": Integer(0), "persist": Integer(1)})
def score_detectors(statistics: dict, regime, *, warmup: int, transition: int, persist: int):
    """Per method and seed: accuracy over all steps from ``warmup``, accuracy outside transitions, the median
    detection delay over switches; and the first seed's labels per method.

    Returns ``(rows, labels)``: rows are dicts (method, seed index, accuracy_all_steps,
    accuracy_outside_transitions, detection_delay); each detector is cross-fitted on the halves split at
    ``(warmup + T) // 2``.
    """
    y = regime
    _check_warmup(warmup, y.size)
    for method, stat in statistics.items():
        stat = Array((2, 3)).check(f"statistics[{method!r}]", stat)
        if stat.shape[1] != y.size:
            raise InvalidParameterError(f"statistics[{method!r}] must have shape (seed, time[, k]) with the "
                                        f"{y.size} steps of regime, got {tuple(stat.shape)}")
    scored = np.arange(y.size) >= warmup
    outside = outside_transitions(y, warmup, transition)
    split = (warmup + y.size) // 2
    rows, labels = [], {}
    for method, stat in statistics.items():
        for s, column in enumerate(stat):
            pred = cross_fitted(column, y, scored, split)
            if s == 0:
                labels[method] = pred
            rows.append(dict(method=method, seed_index=s, accuracy_all_steps=float((pred == y)[scored].mean()),
                             accuracy_outside_transitions=float((pred == y)[outside].mean()),
                             detection_delay=float(np.median(detection_delays(pred, y, warmup, persist)))))
    return rows, labels


@validate_params({"regime": _Labels()})
def regime_spans(regime) -> list[tuple[int, int]]:
    """The ``(first, last)`` steps of every stretch labelled 1 (the last step clipped to the series' end)."""
    edges = np.flatnonzero(np.diff(np.r_[0, regime, 0]))
    return [(int(a), int(min(e, regime.size - 1))) for a, e in zip(edges[::2], edges[1::2])]


@validate_params({"table": InstanceOf(pd.DataFrame, example=lambda: pd.DataFrame(
    {"system": ["thomas"] * 5, "method": list(METHODS), "accuracy_all_steps_mean": [0.5] * 5,
     "accuracy_all_steps_std": [0.0] * 5}))})
def best_detectors(table: pd.DataFrame) -> pd.DataFrame:
    """Per system of a regime-detection table (one graph): the best synchrony detector's accuracy over all steps
    (mean, std over seeds, method) and the best baseline's (mean, method)."""
    missing = [c for c in ("system", "method", "accuracy_all_steps_mean", "accuracy_all_steps_std")
               if c not in table.columns]
    if missing:
        raise InvalidParameterError(f"table lacks column(s) {missing}; it has {list(table.columns)}")
    rows = []
    for system, part in table.groupby("system", sort=False):
        r = part.set_index("method")
        absent = [m for m in METHODS if m not in r.index]
        if absent or r.index.duplicated().any():
            raise InvalidParameterError(f"table must hold each method of {METHODS} once per system; {system!r} "
                                        f"lacks {absent} or repeats one (select one graph)")
        sync, base = r.loc[list(SYNCHRONY), "accuracy_all_steps_mean"], r.loc[list(BASELINES),
                                                                             "accuracy_all_steps_mean"]
        best = sync.idxmax()
        rows.append(dict(system=system, synchrony=sync.max(), synchrony_std=r.loc[best, "accuracy_all_steps_std"],
                         synchrony_method=best, baseline=base.max(), baseline_method=base.idxmax()))
    return pd.DataFrame(rows).set_index("system")


@validate_params({"runs": InstanceOf(dict, example=dict), "std_window": Integer(1), "norm_window": Integer(1),
                  "smooth_window": Integer(1), "warmup": Integer(0), "transition": Integer(0), "persist": Integer(1)})
def score_runs(runs: dict, *, std_window: int, norm_window: int, smooth_window: int, warmup: int, transition: int,
               persist: int):
    """Every detector of :func:`detector_statistics` scored (:func:`score_detectors`) on every astrocyte graph of
    every regime run (``rhythmic_regimes_run.ipynb`` files, keyed by case).

    Returns ``(statistics, per_seed)``: the per-step statistics keyed by
    ``(case, graph)``, and one row per (system, graph, method, seed index), the
    system being ``thomas`` for the authors' case and ``thomas_<case>`` otherwise.
    """
    statistics, per_seed = {}, []
    for case, ds in runs.items():
        missing = [v for v in ("truth", "regime", "order_R", "mean_phase", "mean_activity") if v not in ds.variables]
        if missing:
            raise InvalidParameterError(f"runs[{case!r}] lacks {missing} of a rhythmic_regimes_run file")
        system = "thomas" if case == "authors" else f"thomas_{case}"
        for graph in map(str, ds.graph.values):
            statistics[case, graph] = detector_statistics(
                ds.truth.values, ds.order_R.sel(graph=graph).values, ds.mean_phase.sel(graph=graph).values,
                ds.mean_activity.sel(graph=graph).values, std_window=std_window, norm_window=norm_window,
                smooth_window=smooth_window)
            rows, _ = score_detectors(statistics[case, graph], ds.regime.values, warmup=warmup,
                                      transition=transition, persist=persist)
            per_seed += [dict(row, system=system, graph=graph) for row in rows]
    return statistics, pd.DataFrame(per_seed)
