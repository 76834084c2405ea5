"""Test-time readout adaptation: a fitted reservoir's readout learned further on an observed window.

The reference the link-phase controller (:mod:`astrocore.reservoir.phase_control`)
is measured against: instead of moving the link phases, keep the reservoir
(free phases, as trained) and adapt the readout online from the same labels.
The reservoir is teacher-forced on the observed window ``u (T, B, d)`` from
zero node states (and the model's ``phi(0)``); every column starts from the
fitted ridge readout ``W_0``; at each labelled step ``t`` (``(t + 1) %
label_every == 0``, ``start <= t < T - 1``) the learner takes ``(f(n(t + 1)),
u(t + 1))`` (:mod:`astrocore.online.loop`'s convention); then the closed-loop
forecast runs with each column's adapted readout.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import backend
from ..reservoir import ESN, RhythmicSharing
from ..reservoir.readout import make_features
from ..validation import Array, InstanceOf, Integer, InvalidParameterError, validate_params
from .learners import Learner


class Adapted(NamedTuple):
    """Closed-loop ``prediction (horizon, B, d)`` after adaptation, the adapted ``coef (B, F, d)`` and
    the labels the learner took."""

    prediction: np.ndarray
    coef: np.ndarray
    labels_used: int


@validate_params({"model": InstanceOf(ESN, example=lambda: ESN(10, degree=3, n_inputs=1)), "u_warm": Array(3),
                  "horizon": Integer(1), "learner": InstanceOf(Learner, example=Learner),
                  "label_every": Integer(1), "start": Integer(0)})
def adapt_readout(model, u_warm, horizon: int, learner: Learner, *, label_every: int = 1,
                  start: int = 0) -> Adapted:
    """Adapt ``model``'s fitted readout on ``u_warm (T, B, d)`` with ``learner``, then forecast ``horizon``
    steps in closed loop (module docstring). ``model`` holds one reservoir (one seed)."""
    steps, batch, d = model._input_shape(u_warm, "u_warm")
    model._check_fitted(batch)
    if model.n_reservoirs != 1:
        raise InvalidParameterError(f"model must hold one reservoir (one seed) for adapt_readout, got "
                                    f"{model.n_reservoirs}")
    if start >= steps - 1:
        raise InvalidParameterError(f"start must be < len(u_warm) - 1 = {steps - 1}, got {start}")
    model._check_forecast_memory(u_warm, horizon, batch, d, True)
    xp = backend.xp()
    u3, _ = model._batch_input(u_warm, "u_warm")
    plan = model._plan(batch)
    x0 = model._initial_nodes(plan, None)
    if isinstance(model, RhythmicSharing):
        plan.set_mode("free")
        plan.set_phases(model._initial_phases(plan, None))
        rec, last, _ = model._teacher_rs(plan, u3, x0)
    else:
        rec, last = model._teacher(plan, u3, x0)
    feats = backend.to_host(make_features(plan.to_batch_major(rec), model.features, model.readout_bias))
    target = backend.to_host(u3)
    coef0 = backend.to_host(model.readout_.coef_for(batch))
    state = learner.init(feats.shape[-1], d, batch)
    state["W"][:] = coef0
    t = np.arange(steps - 1)
    labelled = t[((t + 1) % label_every == 0) & (t >= start)]
    for s in labelled:
        learner.update(state, feats[s], target[s + 1])
    coef = xp.asarray(state["W"])
    if isinstance(model, RhythmicSharing):
        pred = model._closed_rs(plan, last, horizon, record=False, coef=coef)[0]
    else:
        pred = model._closed_loop(plan, last, horizon, record=False, coef=coef)[0]
    return Adapted(backend.to_host(pred), np.array(state["W"]), int(labelled.size))
