"""Chaotic flows with a context parameter, and their largest Lyapunov exponent.

Three systems, each with one parameter that plays the role of the context
(held piecewise constant by a :class:`Schedule`):

- Lorenz (context ``rho``; ``sigma = 10``, ``beta = 8/3``)::

      x' = sigma (y - x),  y' = x (rho - z) - y,  z' = x y - beta z

- Thomas' cyclically symmetric system (context ``b``; the authors' example
  switches between 0.18, chaotic, and 0.29, a limit cycle)::

      x' = sin y - b x,  y' = sin z - b y,  z' = sin x - b z

- Roessler (context ``c``; ``a = b = 0.2``)::

      x' = -y - z,  y' = x + a y,  z' = b + z (x - c)

:func:`simulate` integrates with :func:`scipy.integrate.solve_ivp` (DOP853,
``rtol = 1e-10``, ``atol = 1e-12`` by default), restarting the solver at every
parameter switch so the discontinuity in the vector field is resolved
exactly, and samples at a fixed ``dt``. :func:`lyapunov_exponent` estimates
the largest Lyapunov exponent by Benettin's method in tangent space.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp

from . import numeric_path


def _check_real(name: str, value, *, low=None, low_open=False) -> float:
    """A finite real number, ``> low`` (``low_open``) or ``>= low``; ValueError naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {float(value):g}")
    return float(value)


def _check_int(name: str, value, *, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class System:
    """A 3-D flow ``x' = f(x; p)`` with one context parameter ``p``."""

    name: str
    param_name: str
    default_param: float
    constants: dict
    x0: tuple
    _rhs: object = field(repr=False)
    _jvp: object = field(repr=False)

    def rhs(self, x, p, constants=None):
        """``f(x; p)`` for ``x`` of shape ``(..., 3)``."""
        return self._rhs(np.asarray(x, dtype=float), p, {**self.constants, **(constants or {})})

    def jvp(self, x, v, p, constants=None):
        """Jacobian-vector product ``Df(x; p) v`` for ``x, v`` of shape ``(..., 3)``."""
        return self._jvp(np.asarray(x, dtype=float), np.asarray(v, dtype=float), p,
                         {**self.constants, **(constants or {})})


def _lorenz(x, rho, k):
    out = np.empty_like(x)
    out[..., 0] = k["sigma"] * (x[..., 1] - x[..., 0])
    out[..., 1] = x[..., 0] * (rho - x[..., 2]) - x[..., 1]
    out[..., 2] = x[..., 0] * x[..., 1] - k["beta"] * x[..., 2]
    return out


def _lorenz_jvp(x, v, rho, k):
    out = np.empty_like(v)
    out[..., 0] = k["sigma"] * (v[..., 1] - v[..., 0])
    out[..., 1] = (rho - x[..., 2]) * v[..., 0] - v[..., 1] - x[..., 0] * v[..., 2]
    out[..., 2] = x[..., 1] * v[..., 0] + x[..., 0] * v[..., 1] - k["beta"] * v[..., 2]
    return out


def _thomas(x, b, k):
    return np.sin(np.roll(x, -1, axis=-1)) - b * x


def _thomas_jvp(x, v, b, k):
    return np.cos(np.roll(x, -1, axis=-1)) * np.roll(v, -1, axis=-1) - b * v


def _roessler(x, c, k):
    out = np.empty_like(x)
    out[..., 0] = -x[..., 1] - x[..., 2]
    out[..., 1] = x[..., 0] + k["a"] * x[..., 1]
    out[..., 2] = k["b"] + x[..., 2] * (x[..., 0] - c)
    return out


def _roessler_jvp(x, v, c, k):
    out = np.empty_like(v)
    out[..., 0] = -v[..., 1] - v[..., 2]
    out[..., 1] = v[..., 0] + k["a"] * v[..., 1]
    out[..., 2] = x[..., 2] * v[..., 0] + (x[..., 0] - c) * v[..., 2]
    return out


LORENZ = System("lorenz", "rho", 28.0, {"sigma": 10.0, "beta": 8.0 / 3.0}, (1.0, 1.0, 1.0),
                _lorenz, _lorenz_jvp)
THOMAS = System("thomas", "b", 0.18, {}, (0.1, 0.0, -0.1), _thomas, _thomas_jvp)
ROESSLER = System("roessler", "c", 5.7, {"a": 0.2, "b": 0.2}, (1.0, 1.0, 0.0),
                  _roessler, _roessler_jvp)
SYSTEMS = {"lorenz": LORENZ, "thomas": THOMAS, "roessler": ROESSLER}


def get_system(system) -> System:
    """A :class:`System` from itself or its name (``lorenz``, ``thomas``, ``roessler``)."""
    if isinstance(system, System):
        return system
    name = str(system).lower().replace("ö", "oe").replace("rossler", "roessler")
    if name not in SYSTEMS:
        raise ValueError(f"system must be one of {tuple(SYSTEMS)}, got {system!r}")
    return SYSTEMS[name]


@dataclass(frozen=True)
class Schedule:
    """Piecewise-constant context: ``values[i]`` holds on ``[times[i], times[i+1])``.

    ``values[0]`` also holds before ``times[0]`` and ``values[-1]`` after the
    last time. ``times`` must be strictly increasing.
    """

    times: tuple
    values: tuple

    def __init__(self, times, values):
        times = np.atleast_1d(np.asarray(times, dtype=float))
        values = np.atleast_1d(np.asarray(values, dtype=float))
        if times.ndim != 1 or values.ndim != 1 or times.size != values.size or times.size == 0:
            raise ValueError(f"schedule times and values must be 1-D and of equal, nonzero length, "
                             f"got {times.size} times and {values.size} values")
        if not np.all(np.isfinite(times)) or not np.all(np.isfinite(values)):
            raise ValueError("schedule times and values must be finite")
        if np.any(np.diff(times) <= 0):
            raise ValueError(f"schedule times must be strictly increasing, got {times.tolist()}")
        object.__setattr__(self, "times", tuple(times.tolist()))
        object.__setattr__(self, "values", tuple(values.tolist()))

    @classmethod
    def constant(cls, value: float, t0: float = 0.0) -> Schedule:
        return cls([t0], [value])

    def value_at(self, t):
        """The context value at time(s) ``t``."""
        idx = np.searchsorted(np.asarray(self.times), np.asarray(t, dtype=float), side="right") - 1
        return np.asarray(self.values)[np.clip(idx, 0, len(self.values) - 1)]

    def pieces(self, t_start: float, t_end: float):
        """``[(a, b, value), ...]`` covering ``[t_start, t_end]``."""
        cuts = [t for t in self.times if t_start < t < t_end]
        edges = [t_start, *cuts, t_end]
        return [(a, b, float(self.value_at(a))) for a, b in zip(edges[:-1], edges[1:])]


@dataclass
class SystemRun:
    """A sampled trajectory: ``time (T,)``, ``state (T, 3)``, ``context (T,)``."""

    system: str
    param_name: str
    time: np.ndarray
    state: np.ndarray
    context: np.ndarray
    dt: float
    attrs: dict = field(default_factory=dict)

    def segment_starts(self) -> list[int]:
        """Sample indices where the context value changes (for the readout washout)."""
        return (np.flatnonzero(np.diff(self.context) != 0) + 1).tolist()

    def to_dataset(self):
        """An :class:`xarray.Dataset` with ``truth (time, coord)`` and ``context (time)``."""
        import xarray as xr  # noqa: PLC0415

        return xr.Dataset(
            {"truth": (("time", "coord"), self.state,
                       {"long_name": f"{self.system} trajectory", "units": "1"}),
             "context": ("time", self.context,
                         {"long_name": f"context parameter {self.param_name}", "units": "1"})},
            coords={"time": ("time", self.time, {"long_name": "time", "units": "1"}),
                    "coord": ("coord", ["x", "y", "z"])},
            attrs={"system": self.system, "param_name": self.param_name, "dt": self.dt,
                   **self.attrs})


def _integrate(system: System, x0, t_span, p, constants, t_eval, rtol, atol, method):
    fun = lambda t, y: system.rhs(y, p, constants)  # noqa: E731
    sol = solve_ivp(fun, t_span, x0, method=method, t_eval=t_eval, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed for {system.name} ({system.param_name}={p:g}) on "
                           f"[{t_span[0]:g}, {t_span[1]:g}]: {sol.message}")
    return sol


def simulate(system="lorenz", t_end: float = 100.0, dt: float = 0.025, *, schedule=None,
             x0=None, t_start: float = 0.0, transient: float = 0.0, constants: dict | None = None,
             rtol: float = 1e-10, atol: float = 1e-12, method: str = "DOP853") -> SystemRun:
    """Integrate ``system`` under a piecewise-constant context and sample every ``dt``.

    Samples at ``t_start + k dt`` for ``k = 0 .. floor((t_end - t_start)/dt)``.
    ``schedule``: a :class:`Schedule`, a number (constant context), or None
    (the system's default parameter). ``transient`` time units are integrated
    first at the initial context value and dropped. ``x0`` defaults to the
    system's reference point. The solver restarts at every switch.
    """
    sys_ = get_system(system)
    dt = _check_real("dt", dt, low=0, low_open=True)
    t_start = _check_real("t_start", t_start)
    t_end = _check_real("t_end", t_end)
    if t_end <= t_start:
        raise ValueError(f"t_end must be > t_start ({t_start:g}), got {t_end:g}")
    transient = _check_real("transient", transient, low=0)
    rtol = _check_real("rtol", rtol, low=0, low_open=True)
    atol = _check_real("atol", atol, low=0, low_open=True)
    if schedule is None:
        schedule = Schedule.constant(sys_.default_param, t_start)
    elif not isinstance(schedule, Schedule):
        schedule = Schedule.constant(_check_real(sys_.param_name, schedule), t_start)
    x = numeric_path.nudge(np.asarray(sys_.x0 if x0 is None else x0, dtype=float))
    if x.shape != (3,) or not np.all(np.isfinite(x)):
        raise ValueError(f"x0 must be 3 finite numbers, got {x0!r}")
    if transient > 0:
        p0 = float(schedule.value_at(t_start))
        x = _integrate(sys_, x, (t_start - transient, t_start), p0, constants, None,
                       rtol, atol, method).y[:, -1]
    n = int(np.floor((t_end - t_start) / dt + 1e-9)) + 1
    times = t_start + dt * np.arange(n)
    states = np.empty((n, 3))
    pieces = schedule.pieces(t_start, max(t_end, times[-1]))
    for i, (a, b, p) in enumerate(pieces):
        last = i == len(pieces) - 1
        sel = np.flatnonzero((times >= a) & ((times <= b) if last else (times < b)))
        t_eval = np.concatenate([times[sel], [b]]) if (sel.size == 0 or times[sel[-1]] < b) \
            else times[sel]
        sol = _integrate(sys_, x, (a, b), p, constants, t_eval, rtol, atol, method)
        states[sel] = sol.y[:, : sel.size].T
        x = sol.y[:, -1]
    return SystemRun(sys_.name, sys_.param_name, times, states, schedule.value_at(times), dt,
                     attrs={"rtol": rtol, "atol": atol, "method": method,
                            "schedule_times": list(schedule.times),
                            "schedule_values": list(schedule.values),
                            **{k: v for k, v in {**sys_.constants, **(constants or {})}.items()}})


def lyapunov_exponent(system="lorenz", param: float | None = None, *, constants: dict | None = None,
                      n_trajectories: int = 40, t_total: float = 200.0, t_renorm: float = 1.0,
                      transient: float = 20.0, rtol: float = 1e-8, atol: float = 1e-10,
                      seed: int = 0, return_stderr: bool = False):
    """Largest Lyapunov exponent by Benettin's method in tangent space.

    ``n_trajectories`` initial points near the reference point (seeded
    perturbations) are integrated for ``transient`` onto the attractor, then
    each carries a unit tangent vector ``v`` under ``x' = f(x)``,
    ``v' = Df(x) v`` (all trajectories vectorised in one ``solve_ivp`` call per
    interval); every ``t_renorm`` the growth ``log |v|`` is accumulated and ``v``
    renormalised. The estimate is the mean over trajectories of
    ``sum log |v| / t_total``; with ``return_stderr`` also its standard error.
    The defaults give Lorenz (rho = 28) 0.90 in a few seconds.
    """
    sys_ = get_system(system)
    p = sys_.default_param if param is None else _check_real(sys_.param_name, param)
    k = _check_int("n_trajectories", n_trajectories, low=1)
    t_total = _check_real("t_total", t_total, low=0, low_open=True)
    t_renorm = _check_real("t_renorm", t_renorm, low=0, low_open=True)
    rng = np.random.default_rng(seed)
    x = np.asarray(sys_.x0, dtype=float) + rng.normal(0.0, 0.1, (k, 3))
    if transient > 0:
        fun0 = lambda t, y: sys_.rhs(y.reshape(k, 3), p, constants).ravel()  # noqa: E731
        sol = solve_ivp(fun0, (0.0, transient), x.ravel(), method="DOP853", rtol=rtol, atol=atol)
        x = sol.y[:, -1].reshape(k, 3)
    v = rng.normal(size=(k, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)

    def fun(t, y):
        y = y.reshape(k, 6)
        out = np.empty_like(y)
        out[:, :3] = sys_.rhs(y[:, :3], p, constants)
        out[:, 3:] = sys_.jvp(y[:, :3], y[:, 3:], p, constants)
        return out.ravel()

    y = np.concatenate([x, v], axis=1)
    growth = np.zeros(k)
    n_int = max(1, int(round(t_total / t_renorm)))
    tau = t_total / n_int
    for _ in range(n_int):
        sol = solve_ivp(fun, (0.0, tau), y.ravel(), method="DOP853", rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(f"solve_ivp failed in lyapunov_exponent: {sol.message}")
        y = sol.y[:, -1].reshape(k, 6)
        norms = np.linalg.norm(y[:, 3:], axis=1)
        growth += np.log(norms)
        y[:, 3:] /= norms[:, None]
    per_traj = growth / (n_int * tau)
    mean = float(per_traj.mean())
    if return_stderr:
        return mean, float(per_traj.std(ddof=1) / np.sqrt(k)) if k > 1 else float("nan")
    return mean
