"""What a reservoir run returns, and its conversion to an :class:`xarray.Dataset`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import backend
from ..validation import InstanceOf, InvalidParameterError, Optional, Real, validate_params


class ReservoirDivergenceError(FloatingPointError):
    """A run produced NaN or inf; the message names the step and the hyperparameters."""


@dataclass
class ReservoirState:
    """Node states ``(B, N)`` and link phases ``(B, L)`` (``None`` for a plain ESN)."""

    nodes: object
    phases: object = None


@dataclass
class ReservoirRun:
    """Arrays of one run, all on the host; a leading ``time`` axis.

    Shapes carry a ``batch`` axis only when the run was batched (batched input
    or several seeds): ``states (T, [B], N)``, ``order_R`` and ``mean_phase``
    ``(T, [B])``, ``prediction`` and ``truth`` ``(T, [B], d)``. Entry ``t`` of every
    array belongs to sample index ``first_index + t`` of the input series: a
    run on ``u[0:T]`` holds ``n(t + 1)`` (the state after input ``t``, which
    predicts ``u[t + 1]``) at entry ``t``, so ``first_index = 1``; a forecast
    after ``T_w`` warm-up samples starts at ``first_index = T_w``.
    """

    states: np.ndarray | None = None
    order_R: np.ndarray | None = None
    mean_phase: np.ndarray | None = None
    prediction: np.ndarray | None = None
    truth: np.ndarray | None = None
    first_index: int = 1
    batched: bool = False
    final_state: ReservoirState | None = None
    info: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    warmup: ReservoirRun | None = None

    @property
    def n_steps(self) -> int:
        for arr in (self.states, self.prediction, self.order_R):
            if arr is not None:
                return int(arr.shape[0])
        return 0


_ATTRS = {
    "state": ("reservoir node state n_i", "1"),
    "order_R": ("Kuramoto order parameter R of the link phases", "1"),
    "mean_phase": ("mean link phase <Phi> (argument of the order parameter)", "rad"),
    "prediction": ("reservoir prediction", "1"),
    "truth": ("observed (true) trajectory", "1"),
}


@validate_params({"run": InstanceOf(ReservoirRun, example=ReservoirRun), "dt": Real(0, closed="neither"),
                  "time_units": InstanceOf(str, example=lambda: "1"), "coord_names": Optional(InstanceOf(list, tuple, example=list)),
                  "data_units": InstanceOf(str, example=lambda: "1"), "attrs": Optional(InstanceOf(dict, example=dict))})
def to_dataset(run: ReservoirRun, *, dt: float = 1.0, time_units: str = "1",
               coord_names=None, data_units: str = "1", attrs: dict | None = None):
    """An :class:`xarray.Dataset` of ``run`` with named dims ``time``, ``batch``, ``node``, ``coord``.

    Variables (those present): ``state``, ``order_R``, ``mean_phase``,
    ``prediction``, ``truth``, each with ``long_name`` and ``units``. The
    ``batch`` dim is always present (size 1 for an unbatched run). ``time`` is
    ``(first_index + t) * dt`` in ``time_units``; ``coord`` is labelled by
    ``coord_names`` (default ``x, y, z, ...``). Dataset attrs: the model's
    hyperparameters, steering information and ``attrs``; astrocore.store adds
    provenance when the file is written.
    """
    import xarray as xr  # noqa: PLC0415

    t = run.n_steps
    time = (run.first_index + np.arange(t)) * float(dt)

    def batch3(arr):
        arr = backend.to_host(arr)
        return arr if run.batched else arr[:, None]

    data_vars = {}
    if run.states is not None:
        data_vars["state"] = (("time", "batch", "node"), batch3(run.states))
    for name in ("order_R", "mean_phase"):
        arr = getattr(run, name)
        if arr is not None:
            data_vars[name] = (("time", "batch"), batch3(arr))
    d = None
    for name in ("prediction", "truth"):
        arr = getattr(run, name)
        if arr is not None:
            data_vars[name] = (("time", "batch", "coord"), batch3(arr))
            d = data_vars[name][1].shape[-1]
    coords = {"time": ("time", time, {"long_name": "time", "units": time_units})}
    if d is not None and coord_names is not None and len(coord_names) != d:
        raise InvalidParameterError(f"coord_names must name the {d} coordinates of the run, got {list(coord_names)}")
    if d is not None:
        names = list(coord_names) if coord_names is not None else list("xyzuvw"[:d]) if d <= 6 \
            else [f"u{i}" for i in range(d)]
        coords["coord"] = ("coord", names, {"long_name": "coordinate of the system"})
    if run.states is not None:
        coords["node"] = ("node", np.arange(run.states.shape[-1]), {"long_name": "reservoir node"})
    ds = xr.Dataset(data_vars, coords=coords)
    ds["batch"] = ("batch", np.arange(ds.sizes.get("batch", 1)), {"long_name": "batch column"})
    for name, (long_name, units) in _ATTRS.items():
        if name in ds:
            ds[name].attrs = {"long_name": long_name,
                              "units": data_units if name in ("prediction", "truth") else units}
    ds.attrs.update({k: v for k, v in run.params.items()})
    ds.attrs.update({f"steering_{k}": v for k, v in run.info.items() if np.isscalar(v) or v is None})
    ds.attrs.update(attrs or {})
    return ds
