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

import json
from typing import NamedTuple

import numpy as np
import xarray as xr

from astrocore import systems
from astrocore.validation import Choice, InstanceOf, Integer, InvalidParameterError, Optional, validate_params

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


@validate_params({"name": Choice(STREAMS), "steps": Optional(Integer(10)),
                  "ics": InstanceOf(list, tuple, example=lambda: [0, 1]), "drift_every": Integer(1)})
def streams_dataset(name: str, *, steps: int | None = None, ics=(0, 1), drift_every: int = 50) -> xr.Dataset:
    """:func:`nonstationary_stream` ``name`` at every initial condition of ``ics``, as one Dataset
    (``u (ic, time, coord)``, ``context (ic, time)``; attrs ``stream``, ``system``, ``dt``,
    ``switches``, ``drift_every``): the file each stream is simulated into once, read back
    exactly by :func:`streams_from_dataset`."""
    if not ics or any(not isinstance(ic, (int, np.integer)) or isinstance(ic, bool) or ic < 0 for ic in ics) \
            or len(set(ics)) != len(ics):
        raise InvalidParameterError(f"ics must be distinct integers >= 0, got {list(ics)}")
    runs = [nonstationary_stream(name, steps=steps, ic=int(ic), drift_every=drift_every) for ic in ics]
    first = runs[0]
    return xr.Dataset(
        {"u": (("ic", "time", "coord"), np.stack([r.u for r in runs]), {"long_name": f"{first.system} state"}),
         "context": (("ic", "time"), np.stack([r.context for r in runs]),
                     {"long_name": "system parameter"})},
        coords={"ic": [int(ic) for ic in ics], "time": np.arange(len(first.u)), "coord": ["x", "y", "z"]},
        attrs={"stream": name, "system": first.system, "dt": first.dt, "switches": list(first.switches),
               "drift_every": drift_every})


@validate_params({"ds": InstanceOf(xr.Dataset, example=lambda: streams_dataset("roessler_switch", steps=20))})
def streams_from_dataset(ds: xr.Dataset) -> dict:
    """The streams of a :func:`streams_dataset` file, ``{ic: Stream}``."""
    missing = [v for v in ("u", "context") if v not in ds] + [a for a in ("stream", "system", "dt")
                                                              if a not in ds.attrs]
    if missing:
        raise InvalidParameterError(f"a streams file needs variables u, context and attrs stream, system, dt "
                                    f"(streams_dataset); missing {missing}")
    switches = ds.attrs.get("switches", ())
    if isinstance(switches, str):  # an empty list is stored as JSON text (netCDF has no empty attribute)
        switches = json.loads(switches)
    switches = tuple(int(s) for s in np.atleast_1d(switches))
    return {int(ic): Stream(np.asarray(ds.u.sel(ic=ic).values), np.asarray(ds.context.sel(ic=ic).values), switches,
                            float(ds.attrs["dt"]), str(ds.attrs["system"])) for ic in ds.ic.values}
