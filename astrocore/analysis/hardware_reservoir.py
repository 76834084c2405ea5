"""Rhythmic Sharing on imperfect hardware: one bit width, every phase-noise level (``hardware_reservoir_run``).

Each point is a device (:func:`device`): ``bits`` bits for the recurrent and
input weights (levels over each matrix's own range) and for the node states
(levels over [-1, 1]), ``bits = 0`` meaning float64; phase noise
``phi_k <- phi_k + sigma e_k(t)``, ``e_k(t) ~ N(0, 1)``, on every link every
step. Two tasks (:func:`run`): regime detection on the authors' Thomas
series (the run records ``R(t)`` and ``<Phi>(t)``; :func:`table` scores them
with the cross-fitted classifier of :mod:`astrocore.analysis.regimes`) and
closed-loop forecasting of the standardised Lorenz system (valid prediction
time in Lyapunov times).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from astrocore import metrics, reporting, systems
from astrocore.analysis import regimes, series
from astrocore.hardware import HardwareModel
from astrocore.reservoir import RhythmicSharing
from astrocore.validation import POSITIVE, Array, Choice, InstanceOf, Integer, Real, Seeds, validate_params

LORENZ_TRANSIENT = 20.0
"""Time integrated and dropped before the Lorenz series (it starts on the attractor)."""


@validate_params({"bits": Integer(0), "phase_noise": Real(0)})
def device(bits: int, phase_noise: float) -> HardwareModel:
    """The device of one point: weights and node states on ``2^bits`` levels (none for ``bits = 0``), phase noise
    ``phase_noise`` rad per step."""
    quantized = dict(weight_bits=bits, weight_clip=1.0, state_bits=bits) if bits else {}
    return HardwareModel(phase_noise=phase_noise, name=f"bits-{bits}_phase-noise-{phase_noise:g}", **quantized)


@validate_params({"bits": Integer(0), "phase_noise": Array(1), "seeds": Seeds(), "n_nodes": Integer(1),
                  "t_end": Integer(2), "switch_times": InstanceOf(list, tuple, example=lambda: [5]),
                  "b_values": InstanceOf(list, tuple, example=lambda: [0.18, 0.29]), "x0": Array(1),
                  "warmup": Integer(0), "transition": Integer(0),
                  "features": Choice(("states", "states_squares")), "dt": POSITIVE, "train_steps": Integer(2),
                  "n_ics": Integer(1), "warmup_steps": Integer(1), "horizon": Integer(1),
                  "lyapunov_exponent": POSITIVE, "rtol": POSITIVE})
def run(bits: int, phase_noise, seeds, *, n_nodes: int, t_end: int, switch_times, b_values, x0, warmup: int,
        transition: int, features: str, dt: float, train_steps: int, n_ics: int, warmup_steps: int, horizon: int,
        lyapunov_exponent: float, rtol: float = 1e-8) -> xr.Dataset:
    """Both tasks for every level of ``phase_noise`` at ``bits``, one reservoir per seed (one batch).

    Regimes: ``RhythmicSharing(n_nodes)`` on the device, driven by Thomas'
    system switching between ``b_values`` at ``switch_times`` (t in [0, ``t_end``],
    from ``x0``); records ``order_R`` and ``mean_phase``, the labels and the
    steps scored (from ``warmup``, outside the ``transition`` steps after each
    switch). Forecasts: a second reservoir with the same device and seeds and
    readout features ``features`` fitted on ``train_steps`` steps of the
    standardised Lorenz system (``dt``), then ``n_ics`` forecasts of ``horizon``
    steps, each after ``warmup_steps`` observed steps; ``vpt`` in Lyapunov times
    (``lyapunov_exponent``). Solver tolerances ``rtol``, ``rtol / 100``.
    """
    T = int(t_end) + 1
    thomas = series.switching_series("authors", t_end, switch_times, b_values, x0, rtol=rtol, atol=rtol / 100)
    regime, u_thomas = thomas.regime, thomas.u
    scored = regimes.outside_transitions(regime, warmup, transition)
    window = warmup_steps + horizon
    n_lorenz = train_steps + n_ics * window
    lorenz = systems.simulate("lorenz", (n_lorenz - 1) * dt, dt, transient=LORENZ_TRANSIENT, rtol=rtol,
                              atol=rtol / 100).state
    lorenz = (lorenz - lorenz[:train_steps].mean(0)) / lorenz[:train_steps].std(0)
    scale = lorenz[:train_steps].std(0)
    starts = train_steps + window * np.arange(n_ics)

    S, P = len(seeds), len(phase_noise)
    order_R, mean_phase = np.empty((P, S, T)), np.empty((P, S, T))
    vpt = np.empty((P, S, n_ics))
    for p, sigma in enumerate(phase_noise):
        hw = device(bits, float(sigma))
        reservoir = RhythmicSharing(n_nodes, seed=list(seeds), hardware=hw)
        rec = reservoir.run(u_thomas[:, None].repeat(S, 1) if S > 1 else u_thomas, record_states=False)
        order_R[p], mean_phase[p] = np.reshape(rec.order_R.T, (S, T)), np.reshape(rec.mean_phase.T, (S, T))
        model = RhythmicSharing(n_nodes, features=features, seed=list(seeds), hardware=hw).fit(lorenz[:train_steps])
        for i, a in enumerate(starts):
            fc = model.forecast(lorenz[a: a + warmup_steps], horizon, record_states=False)
            truth = lorenz[a + warmup_steps: a + window]
            pred = fc.prediction if fc.batched else fc.prediction[:, None]
            vpt[p, :, i] = metrics.valid_prediction_time(pred, np.broadcast_to(truth[:, None], pred.shape), dt,
                                                         lyapunov_exponent, scale=scale)

    dims = ("phase_noise", "seed")
    return xr.Dataset(
        {"vpt": (dims + ("ic",), vpt, {"long_name": "valid prediction time of Lorenz forecasts",
                                       "units": "Lyapunov times"}),
         "order_R": (dims + ("time",), order_R, {"long_name": "Kuramoto order parameter R of the link phases",
                                                 "units": "1"}),
         "mean_phase": (dims + ("time",), mean_phase, {"long_name": "mean link phase <Phi>", "units": "rad"}),
         "regime": ("time", regime, {"long_name": "regime label (0: b_values[0], 1: b_values[1])", "units": "1"}),
         "scored": ("time", scored.astype(np.int8), {"long_name": "step scored by the regime accuracy (1) or not (0)",
                                                     "units": "1"})},
        coords={"bits": ((), bits, {"long_name": "weight and state bits (0: float64, unquantized)", "units": "bit"}),
                "phase_noise": ("phase_noise", np.asarray(phase_noise, dtype=float),
                                {"long_name": "link phase noise sigma", "units": "rad per step"}),
                "seed": list(seeds), "ic": np.arange(n_ics),
                "time": ("time", np.arange(T, dtype=float), {"long_name": "time",
                                                            "units": "1 (Thomas time units, one step each)"})},
        attrs={"experiment": "hardware_reservoir", "system_regimes": "thomas", "system_forecast": "lorenz",
               **{f"model_{k}": v for k, v in model.get_params().items() if k not in ("seed", "hardware")},
               **device(bits, 0.0).to_attrs()})


@validate_params({"runs": InstanceOf(list, tuple, example=list), "warmup": Integer(0), "transition": Integer(0),
                  "smooth_window": Integer(1)})
def table(runs, *, warmup: int, transition: int, smooth_window: int) -> pd.DataFrame:
    """Per (bits, phase noise): regime accuracy (:func:`regimes.regime_accuracy`) mean and std over seeds,
    VPT mean and std over every forecast (seeds x windows), sorted by bits and phase noise."""
    per_seed = pd.DataFrame([
        dict(bits=int(r.bits), phase_noise=float(sigma), seed=int(seed),
             regime_accuracy=regimes.regime_accuracy(
                 r.order_R.sel(phase_noise=sigma, seed=seed).values, r.mean_phase.sel(phase_noise=sigma, seed=seed).values,
                 r.regime.values, warmup=warmup, transition=transition, window=smooth_window))
        for r in runs for sigma in r.phase_noise.values for seed in r.seed.values])
    per_forecast = pd.concat([r.vpt.to_dataframe().reset_index().assign(bits=int(r.bits)) for r in runs])
    vpt = (per_forecast.groupby(["bits", "phase_noise"])
           .agg(forecasts=("vpt", "size"), vpt_mean=("vpt", "mean"), vpt_std=("vpt", "std")).reset_index())
    return (reporting.summarize(per_seed, ["bits", "phase_noise"], ["regime_accuracy"])
            .merge(vpt, on=["bits", "phase_noise"]).sort_values(["bits", "phase_noise"]).reset_index(drop=True))


@validate_params({"bits": Integer(0)})
def bits_label(bits: int) -> str:
    """``float64`` for 0 bits (no quantization), else the number of bits."""
    return "float64" if bits == 0 else f"{bits}"
