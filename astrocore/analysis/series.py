"""The input series of the reservoir experiments: switching regimes, training series and forecast windows.

- :func:`regime_labels` and :func:`switching_series`: the authors' Thomas
  demonstration (``b`` switching between two values at given times) and the
  constructed regime pairs with the same amplitude and variance but different
  dynamics (``matched``, ``reversed``, ``mirror``, ``speed``), for the regime
  detection and hardware experiments;
- :func:`training_series` and :func:`context_windows`: what every model of the
  adaptation experiment is trained and tested on (``rhythmic_systems_run.ipynb``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import xarray as xr

from astrocore import systems
from astrocore.validation import (POSITIVE, Array, Choice, InstanceOf, Integer, InvalidParameterError, Real,
                                  validate_params)

CASES = ("authors", "matched", "reversed", "mirror", "speed")
"""Cases of :func:`switching_series`."""
TRANSIENT = 500.0
"""Time integrated and dropped before a constructed case's chaotic trajectory (it starts on the attractor)."""

_TIMES = InstanceOf(list, tuple, np.ndarray, example=lambda: [5])
_PAIR = InstanceOf(list, tuple, example=lambda: [0.18, 0.29])
_POINT = Array(1)
_SPEC = InstanceOf(dict, example=dict)


class SwitchingSeries(NamedTuple):
    """A switching input series: ``u (T, 3)``, the context ``b`` at each step, the regime label at each step."""

    u: np.ndarray
    context: np.ndarray
    regime: np.ndarray


def _edges(switch_times, n_steps: int) -> np.ndarray:
    times = list(switch_times)
    if not all(isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in times):
        raise InvalidParameterError(f"switch_times must be integer steps, got {times}")
    edges = np.array([0, *times, n_steps])
    if np.any(np.diff(edges) <= 0):
        raise InvalidParameterError(f"switch_times must be increasing within (0, t_end={n_steps - 1}), got {times}")
    return edges


@validate_params({"switch_times": _TIMES, "n_steps": Integer(2)})
def regime_labels(switch_times, n_steps: int) -> np.ndarray:
    """Labels ``(n_steps,)`` alternating 0, 1, 0, ... at each of ``switch_times`` (0 before the first)."""
    edges = _edges(switch_times, n_steps)
    regime = np.zeros(n_steps, dtype=int)
    for i, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
        regime[a:b] = i % 2
    return regime


@validate_params({"case": Choice(CASES), "t_end": Integer(2), "switch_times": _TIMES, "b_values": _PAIR,
                  "x0": _POINT, "rtol": POSITIVE, "atol": POSITIVE})
def switching_series(case: str, t_end: int, switch_times, b_values, x0, *, rtol: float = 1e-10,
                     atol: float = 1e-12) -> SwitchingSeries:
    """Thomas' system sampled at dt = 1 over t in [0, ``t_end``], in two regimes alternating at ``switch_times``.

    ``authors``: ``b`` switches between ``b_values[0]`` (first) and
    ``b_values[1]`` from ``x0`` (the solver restarts at every switch);
    ``matched``: the same series with each regime rescaled to the first
    regime's mean and standard deviation per coordinate; ``reversed``,
    ``mirror``, ``speed``: one chaotic trajectory at ``b_values[0]`` (after
    :data:`TRANSIENT`) whose every other segment is played backwards, mirrored
    (``y <-> z``) or sampled at twice the speed. For the constructed cases the
    context is ``b_values[0]`` throughout; the labels say which half a segment
    belongs to. ``rtol``, ``atol``: the solver's tolerances.
    """
    if len(b_values) != 2:
        raise InvalidParameterError(f"b_values must hold two values (first and second regime), got {list(b_values)}")
    T = int(t_end) + 1
    edges = _edges(switch_times, T)
    regime = regime_labels(switch_times, T)
    solver = dict(rtol=rtol, atol=atol)
    if case in ("authors", "matched"):
        schedule = systems.Schedule([0, *switch_times], [b_values[i % 2] for i in range(len(switch_times) + 1)])
        sim = systems.simulate("thomas", t_end, 1.0, schedule=schedule, x0=x0, **solver)
        u, context = sim.state.copy(), sim.context
        if case == "matched":
            ref = sim.state[regime == 0]
            for k in (0, 1):
                seg = sim.state[regime == k]
                u[regime == k] = (seg - seg.mean(0)) / seg.std(0) * ref.std(0) + ref.mean(0)
        return SwitchingSeries(u, context, regime)
    base = systems.simulate("thomas", t_end, 1.0, schedule=b_values[0], x0=x0, transient=TRANSIENT, **solver).state
    if case == "speed":
        fast = systems.simulate("thomas", 2 * t_end, 2.0, schedule=b_values[0], x0=x0, transient=TRANSIENT,
                                **solver).state
    u, context = base.copy(), np.full(T, float(b_values[0]))
    for i, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
        if i % 2:
            u[a:b] = {"reversed": base[a:b][::-1], "mirror": base[a:b][:, [0, 2, 1]],
                      "speed": fast[a:b] if case == "speed" else None}[case]
    return SwitchingSeries(u, context, regime)


_SPEC_KEYS = ("dt", "train_steps", "train_switches", "train_contexts", "train_x0", "train_transient",
              "test_contexts", "x0", "transient", "standardise", "lyap_t_total", "lyap_t_renorm", "lyap_transient",
              "chaos_threshold")


def _check_spec(spec: dict) -> None:
    missing = [k for k in _SPEC_KEYS if k not in spec]
    if missing:
        raise InvalidParameterError(f"spec lacks {missing} (a rhythmic_systems block of the config)")


def _attrs(system: str, spec: dict) -> dict:
    return {"system": system, "dt": float(spec["dt"]), "param_name": systems.get_system(system).param_name,
            "train_contexts": list(spec["train_contexts"]), "standardise": int(spec["standardise"])}


@validate_params({"system": InstanceOf(str, example=lambda: "thomas"), "spec": _SPEC, "rtol": POSITIVE})
def training_series(system: str, spec: dict, rtol: float = 1e-8) -> xr.Dataset:
    """The training series of ``system``: the context cycling through ``spec["train_contexts"]`` at the steps
    ``spec["train_switches"]``, ``spec["train_steps"]`` steps of ``spec["dt"]`` from ``spec["train_x0"]``
    (solver tolerances ``rtol`` and ``rtol / 100``), with its mean and standard deviation."""
    _check_spec(spec)
    dt = float(spec["dt"])
    values = [spec["train_contexts"][i % len(spec["train_contexts"])] for i in range(len(spec["train_switches"]) + 1)]
    schedule = systems.Schedule([0.0, *[s * dt for s in spec["train_switches"]]], values)
    sim = systems.simulate(system, spec["train_steps"] * dt, dt, schedule=schedule, x0=spec["train_x0"],
                           transient=spec["train_transient"], rtol=rtol, atol=rtol / 100)
    return xr.Dataset(
        {"truth": (("time", "coord"), sim.state, {"long_name": f"{system} training series", "units": "1"}),
         "context": ("time", sim.context, {"long_name": f"context parameter {sim.param_name}", "units": "1"}),
         "input_mean": ("coord", sim.state.mean(0), {"long_name": "mean of the training series", "units": "1"}),
         "input_std": ("coord", sim.state.std(0), {"long_name": "standard deviation of the training series",
                                                   "units": "1"})},
        coords={"time": ("time", sim.time, {"long_name": "time", "units": "1"}), "coord": ["x", "y", "z"]},
        attrs={**_attrs(system, spec), "part": "train", "train_switches": list(spec["train_switches"])})


@validate_params({"system": InstanceOf(str, example=lambda: "thomas"), "context": Real(), "spec": _SPEC,
                  "n_ics": Integer(1), "n_val_ics": Integer(1), "ic_stride": Integer(1), "warmup_steps": Integer(1),
                  "horizon": Integer(1), "rtol": POSITIVE})
def context_windows(system: str, context: float, spec: dict, *, n_ics: int, n_val_ics: int, ic_stride: int,
                    warmup_steps: int, horizon: int, rtol: float = 1e-8) -> xr.Dataset:
    """The test material of ``system`` at ``context``: forecast and validation windows, scale, Lyapunov exponent.

    One trajectory from ``spec["x0"]`` after ``spec["transient"]``; forecast
    window ``k`` starts at step ``k ic_stride`` (``n_ics`` windows of
    ``warmup_steps + horizon`` steps), the ``n_val_ics`` validation windows
    follow without overlap. Scale: each coordinate's standard deviation on the
    attractor; the largest Lyapunov exponent from
    :func:`astrocore.systems.lyapunov_exponent` (8 trajectories); the context
    is chaotic above ``spec["chaos_threshold"]`` (VPT then in Lyapunov times,
    else in time units).
    """
    _check_spec(spec)
    dt = float(spec["dt"])
    span = warmup_steps + horizon
    n_steps = (n_ics - 1) * ic_stride + span + (n_val_ics - 1) * ic_stride + span
    sim = systems.simulate(system, (n_steps - 1) * dt, dt, schedule=float(context), x0=spec["x0"],
                           transient=spec["transient"], rtol=rtol, atol=rtol / 100)
    x = sim.state
    first_val = (n_ics - 1) * ic_stride + span
    test = np.stack([x[k * ic_stride: k * ic_stride + span] for k in range(n_ics)])
    val = np.stack([x[first_val + k * ic_stride: first_val + k * ic_stride + span] for k in range(n_val_ics)])
    lam = systems.lyapunov_exponent(system, float(context), n_trajectories=8, t_total=spec["lyap_t_total"],
                                    t_renorm=spec["lyap_t_renorm"], transient=spec["lyap_transient"])
    chaotic = lam > spec["chaos_threshold"]
    return xr.Dataset(
        {"window": (("ic", "step", "coord"), test, {"long_name": "forecast windows (observed, then predicted)",
                                                    "units": "1"}),
         "val_window": (("val_ic", "step", "coord"), val, {"long_name": "validation windows", "units": "1"}),
         "scale": ("coord", x.std(0), {"long_name": "standard deviation on the attractor", "units": "1"})},
        coords={"step": ("step", np.arange(span), {"long_name": "step within a window", "units": "1"}),
                "coord": ["x", "y", "z"], "ic": np.arange(n_ics), "val_ic": np.arange(n_val_ics)},
        attrs={**_attrs(system, spec), "part": "context", "context": float(context), "lyapunov_exponent": lam,
               "chaotic": int(chaotic), "trained": int(any(np.isclose(float(context), spec["train_contexts"]))),
               "vpt_units": "lyapunov_times" if chaotic else "time_units", "warmup_steps": warmup_steps,
               "horizon": horizon})
