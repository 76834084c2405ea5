"""Non-stationary input streams for online learning: a system whose parameter switches or drifts.

Four streams (issue 12, part A), each a :class:`Stream` of ``u (T, 3)``, the
context at each step and the steps where it switches:

``thomas_switch``
    Thomas, ``b`` alternating 0.18 / 0.29 on the authors' schedule (dt = 1,
    7,500 steps; the rhythmic_regimes experiment's series, case ``authors``).
``thomas_drift``
    Thomas, ``b`` drifting linearly 0.18 -> 0.29 over the first half and back
    over the second, held piecewise constant over ``drift_every`` steps (the
    solver restarts at each step of the staircase); no switches.
``lorenz_steps``
    Lorenz, ``rho`` stepping 28 -> 32 -> 36 -> 28 at quarters of the stream
    (dt = 0.02).
``roessler_switch``
    Roessler (a = b = 0.2), ``c`` alternating between 2.5 (a period-1 limit
    cycle) and 5.7 (the chaotic attractor) at quarters (dt = 0.1).

``ic`` selects the initial condition: ``x0 + ic * (0.5, -0.5, 0.5)``; ``ic =
0`` is the test stream, another ``ic`` a separate validation stream. Every
stream starts after ``transient`` time units at its first context value.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from astrocore import systems
from astrocore.validation import Choice, Integer, InvalidParameterError, Optional, validate_params

STREAMS = ("thomas_switch", "thomas_drift", "lorenz_steps", "roessler_switch")
"""The names of :func:`nonstationary_stream`."""

AUTHORS_SWITCHES = (500, 1200, 1500, 1800, 2400, 2600, 3400, 4200, 4800, 5000, 5500, 6000, 6700)
"""The authors' Thomas schedule (steps at dt = 1; config/default.yaml, rhythmic_regimes)."""

_SPECS = {
    "thomas_switch": {"system": "thomas", "dt": 1.0, "steps": 7500, "values": (0.18, 0.29),
                      "x0": (10.0, 10.0, 1.0), "transient": 0.0},
    "thomas_drift": {"system": "thomas", "dt": 1.0, "steps": 7500, "values": (0.18, 0.29),
                     "x0": (10.0, 10.0, 1.0), "transient": 0.0},
    "lorenz_steps": {"system": "lorenz", "dt": 0.02, "steps": 8000, "values": (28.0, 32.0, 36.0, 28.0),
                     "x0": (1.0, 1.0, 1.0), "transient": 20.0},
    "roessler_switch": {"system": "roessler", "dt": 0.1, "steps": 8000, "values": (2.5, 5.7, 2.5, 5.7),
                        "x0": (1.0, 1.0, 0.0), "transient": 100.0},
}
_IC_STEP = np.array([0.5, -0.5, 0.5])


class Stream(NamedTuple):
    """A non-stationary stream: ``u (T, 3)``, ``context (T,)``, ``switches`` (steps), ``dt``, the system's name."""

    u: np.ndarray
    context: np.ndarray
    switches: tuple
    dt: float
    system: str


def _schedule(name: str, spec: dict, steps: int, drift_every: int) -> tuple[list, list]:
    if name == "thomas_switch":
        times = [t for t in AUTHORS_SWITCHES if t < steps]
        return [0, *times], [spec["values"][i % 2] for i in range(len(times) + 1)]
    if name == "thomas_drift":
        lo, hi = spec["values"]
        starts = list(range(0, steps, drift_every))
        half = steps / 2
        return starts, [lo + (hi - lo) * (1 - abs(s + drift_every / 2 - half) / half) for s in starts]
    quarters = [round(i * steps / 4) for i in range(4)]
    return quarters, list(spec["values"])


@validate_params({"name": Choice(STREAMS), "steps": Optional(Integer(10)), "ic": Integer(0), "drift_every": Integer(1)})
def nonstationary_stream(name: str, *, steps: int | None = None, ic: int = 0, drift_every: int = 50) -> Stream:
    """The stream ``name`` (module docstring): ``steps`` samples (default: the stream's own length)."""
    spec = _SPECS[name]
    steps = spec["steps"] if steps is None else steps
    if name == "thomas_drift" and drift_every >= steps:
        raise InvalidParameterError(f"drift_every must be below steps ({steps}), got {drift_every}")
    starts, values = _schedule(name, spec, steps, drift_every)
    dt = spec["dt"]
    schedule = systems.Schedule([s * dt for s in starts], values)
    x0 = np.asarray(spec["x0"]) + ic * _IC_STEP
    run = systems.simulate(spec["system"], (steps - 1) * dt, dt, schedule=schedule, x0=x0,
                           transient=spec["transient"])
    switches = () if name == "thomas_drift" else tuple(starts[1:])
    return Stream(run.state[:steps], run.context[:steps], switches, dt, spec["system"])
