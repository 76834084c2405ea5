"""Parameter-aware echo state network (Kong, Fan, Grebogi & Lai, Phys. Rev. Research 3, 013090, 2021).

The system's parameter ``p`` (the "context": Thomas' ``b``, Lorenz' ``rho``)
enters as one more input channel, scaled to [-1, 1] over the trained range
``param_range = (p_lo, p_hi)``::

    c(p) = 2 (p - p_lo) / (p_hi - p_lo) - 1
    n(t+1) = l n(t) + (1 - l) tanh(W n(t) + W_u u(t) + (W_p c(p) + b))

(``W_in = [W_u | W_p]``, the ESN of :mod:`astrocore.reservoir.esn` with
``d + 1`` inputs). The ridge readout maps the node states to the next input
``u(t+1)`` only, never to the parameter. Trained on series at a few values of
``p`` (one readout for all), the network forecasts at a value it has not seen
by holding the channel at ``c(p)`` in closed loop: ``u_hat(t) = W_out f(n(t))``
is fed back into ``W_u`` while ``W_p c(p)`` stays fixed.

The network itself is an :class:`~astrocore.reservoir.ESN` (same recurrent
and input matrices for a given seed, same teacher-forced run and ridge fit);
only the closed loop is this model's own, since the ESN's feeds back every
input channel. It runs on the host (NumPy and SciPy), one reservoir (one
seed) at a time, with a batch of windows as the columns of one state matrix,
each window at its own parameter value. No hardware model: the device hooks
of the ESN do not apply to this closed loop.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..validation import (Array, Bool, Constraint, Integer, InvalidParameterError, Optional, Seed, check_memory,
                          validate_params)
from ._constraints import IndexList
from .esn import ESN
from .readout import make_features
from .results import ReservoirDivergenceError, ReservoirRun, ReservoirState


class ParameterRange(Constraint):
    """Two finite reals ``(low, high)`` with ``low < high``; becomes a tuple of floats."""

    def check(self, name: str, value):
        ok = (isinstance(value, (list, tuple, np.ndarray)) and len(value) == 2
              and all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and math.isfinite(v)
                      for v in value))
        if not ok:
            raise InvalidParameterError(f"{name} must be {self.describe()}, got {value!r}"[:200])
        low, high = float(value[0]), float(value[1])
        if not low < high:
            raise InvalidParameterError(f"{name} must be {self.describe()}, got ({low:g}, {high:g}): low must be "
                                        f"< high")
        return low, high

    def describe(self) -> str:
        return "a pair (low, high) of finite real numbers with low < high"

    def invalid_examples(self) -> list:
        return [None, "0, 1", 0.5, (1.0,), (0.0, 1.0, 2.0), (1.0, 1.0), (2.0, 1.0), (0.0, float("nan")),
                (True, 2.0)]

    def valid_example(self):
        return (0.0, 1.0)


#: The ESN's hyperparameters this model passes on, with the ESN's own declared constraints.
ESN_PARAMETERS = ("degree", "spectral_radius", "leak", "bias", "input_scaling", "input_layout", "input_density",
                  "self_loops", "features", "readout_bias", "ridge", "washout", "chunk")
_ESN_CONSTRAINTS = {name: ESN.__init__.parameter_constraints[name] for name in ESN_PARAMETERS}
_PARAM = Array(ndim=(0, 1))


class ParameterAwareESN:
    """Echo state network told the system's parameter through an extra input channel (module docstring).

    Parameters
    ----------
    n_nodes : int >= 1
        Number of reservoir nodes.
    param_range : (float, float), low < high
        The parameter values mapped to -1 and +1 on the channel (the trained range).
    seed : int >= 0
        The reservoir's seed (one reservoir; its recurrent and input matrices
        are those of ``ESN(n_nodes, seed=seed, ...)`` with ``d + 1`` inputs).
    degree, spectral_radius, leak, bias, input_scaling, input_layout, input_density, self_loops, features, \
readout_bias, ridge, washout, chunk
        As for :class:`~astrocore.reservoir.ESN` (same constraints and defaults).

    Attributes: ``esn_`` (the :class:`~astrocore.reservoir.ESN`; its ``W_``,
    ``W_in_`` and ``readout_`` after :meth:`fit`), ``n_inputs`` (``d``, the
    system's dimension, known after :meth:`fit`).
    """

    model_name = "parameter_aware_esn"

    @validate_params({"n_nodes": Integer(1), "param_range": ParameterRange(), "seed": Seed(), **_ESN_CONSTRAINTS})
    def __init__(self, n_nodes: int = 100, *, param_range, degree: float = 10,
                 spectral_radius: float = 0.6, leak: float = 0.0, bias: float = 0.0, input_scaling: float = 1.2,
                 input_layout: str = "block", input_density: float = 0.1, self_loops: bool = True,
                 features: str = "states", readout_bias: bool = False, ridge: float = 1e-6, washout: int = 200,
                 seed: int = 0, chunk: int = 256):
        self.param_range = param_range
        self.n_inputs = None
        self.esn_ = ESN(n_nodes, degree=degree, spectral_radius=spectral_radius, leak=leak, bias=bias,
                        input_scaling=input_scaling, input_layout=input_layout, input_density=input_density,
                        self_loops=self_loops, features=features, readout_bias=readout_bias, ridge=ridge,
                        washout=washout, seed=seed, chunk=chunk)

    def get_params(self) -> dict:
        """Hyperparameters (for provenance attrs and reprs)."""
        params = {k: v for k, v in self.esn_.get_params().items() if k not in ("hardware", "n_inputs")}
        return {**params, "model": self.model_name, "n_inputs": self.n_inputs,
                "param_range": list(self.param_range)}

    def __repr__(self) -> str:
        p = self.get_params()
        return (f"{type(self).__name__}(n_nodes={p['n_nodes']!r}, param_range={self.param_range!r}, "
                f"seed={p['seed']!r})")

    @validate_params({"p": _PARAM})
    def channel(self, p) -> np.ndarray:
        """The channel's value ``2 (p - low) / (high - low) - 1`` for parameter value(s) ``p``."""
        return self._channel(p)

    def _channel(self, p) -> np.ndarray:
        p_lo, p_hi = self.param_range
        return 2.0 * (np.asarray(p, dtype=float) - p_lo) / (p_hi - p_lo) - 1.0

    @validate_params({"u": Array(2), "p": _PARAM, "segment_starts": Optional(IndexList()),
                      "washout": Optional(Integer(0))})
    def fit(self, u, p, *, segment_starts=None, washout: int | None = None):
        """Fit the readout on the series ``u (T, d)`` driven at parameter ``p`` (one value, or ``(T,)``: the
        value at each step, for a series that switches between contexts).

        The network is driven with ``[u(t), c(p(t))]`` for ``t < T - 1``; the state
        after step ``t`` is fitted to ``u(t + 1)``, dropping ``washout`` rows
        (default: the model's) after the start and after each of
        ``segment_starts`` (:meth:`ESN.fit`). Returns ``self``.
        """
        if p.ndim == 1 and p.shape[0] != u.shape[0]:
            raise InvalidParameterError(f"p must be one value or one per time step of u ({u.shape[0]}), got "
                                        f"{p.shape[0]} values")
        if u.shape[0] < 2:
            raise InvalidParameterError(f"u must have at least 2 time steps to fit next-step targets, got shape "
                                        f"{tuple(u.shape)}")
        chan = np.broadcast_to(self._channel(p), (u.shape[0],))
        self.esn_.fit(np.c_[u, chan][:-1], y=u[1:], segment_starts=segment_starts, washout=washout)
        self.n_inputs = int(u.shape[1])
        return self

    def _check_forecast(self, u_warm, p, horizon: int) -> tuple[int, bool]:
        if self.n_inputs is None:
            raise InvalidParameterError("the model is not fitted: call fit(u, p) before forecast")
        if u_warm.shape[-1] != self.n_inputs:
            raise InvalidParameterError(f"u_warm must have n_inputs={self.n_inputs} features in its last axis, got "
                                        f"shape {tuple(u_warm.shape)}")
        batched = u_warm.ndim == 3
        batch = u_warm.shape[1] if batched else 1
        if p.ndim == 1 and (p.shape[0] != batch or not batched):
            raise InvalidParameterError(f"p must be one value, or one per batch column of u_warm ({batch}) for a "
                                        f"batched u_warm (time, batch, d), got {p.shape[0]} values")
        n = self.esn_.n_nodes
        check_memory("horizon", horizon, 8.0 * horizon * batch * (self.n_inputs + n),
                     f"predictions and node states of {horizon:.3g} steps x {batch} batch column(s)")
        return batch, batched

    @validate_params({"u_warm": Array((2, 3)), "p": _PARAM, "horizon": Integer(1), "record_states": Bool()})
    def forecast(self, u_warm, p, horizon: int, *, record_states: bool = True) -> ReservoirRun:
        """Warm up on ``u_warm`` at parameter ``p``, then predict ``horizon`` steps in closed loop with the channel
        held at ``c(p)``.

        ``u_warm``: ``(T_w, d)``, or ``(T_w, B, d)`` for ``B`` windows run
        together; ``p``: one value, or ``(B,)`` (one per window). Returns a
        :class:`~astrocore.reservoir.ReservoirRun` with ``prediction (horizon,
        [B], d)`` (``prediction[h]`` estimates ``u[T_w + h]``), the node states
        whose readout it is (``record_states``) and the final state.
        """
        batch, batched = self._check_forecast(u_warm, p, horizon)
        obs = u_warm if batched else u_warm[:, None]
        chan_p = np.broadcast_to(self._channel(p), (batch,))
        prediction, states, nodes = self._closed_loop(obs, chan_p, horizon, record_states)
        if not np.isfinite(prediction).all():
            bad = int(np.argmin(np.isfinite(prediction).reshape(horizon, -1).all(axis=1)))
            raise ReservoirDivergenceError(f"{type(self).__name__} diverged to NaN/inf at closed-loop step {bad}; "
                                           f"hyperparameters: {self.get_params()}")

        def squeeze(arr):
            return arr if batched or arr is None else arr[:, 0]

        return ReservoirRun(states=squeeze(states), prediction=squeeze(prediction), first_index=obs.shape[0],
                            batched=batched, final_state=ReservoirState(nodes.T.copy()), params=self.get_params())

    def _closed_loop(self, obs, chan_p, horizon: int, record: bool):
        """Predictions ``(H, B, d)``, states ``(H, B, N)`` (or None) and the last nodes ``(N, B)``."""
        esn, d = self.esn_, self.n_inputs
        chan = np.broadcast_to(chan_p[None, :, None], (obs.shape[0], obs.shape[1], 1))
        n = esn.run(np.concatenate([obs, chan], axis=2), record_states=False).final_state.nodes.T.copy()
        A, W_in, coef, leak = esn.W_[0], esn.W_in_[0], esn.readout_.coef_[0], esn.leak
        drive_p = W_in[:, d:] @ chan_p[None, :] + esn.bias
        out = np.empty((horizon, obs.shape[1], d))
        states = np.empty((horizon, obs.shape[1], esn.n_nodes)) if record else None
        for h in range(horizon):
            if record:
                states[h] = n.T
            out[h] = make_features(n.T, esn.features, esn.readout_bias, xp=np) @ coef
            if h == horizon - 1:
                break
            n = leak * n + (1 - leak) * np.tanh(A @ n + W_in[:, :d] @ out[h].T + drive_p)
        return out, states, n
