"""The strictly causal online loop: predict with the past, then learn from a revealed label.

At every step ``t`` the readout predicts ``y_hat_t = W_t^T f_t`` with the
weights ``W_t`` learned from labels ``(f_s, y_s)``, ``s < t``, only; then, if
``t`` is a labelled step (``t = offset, offset + k, offset + 2k, ...``: one label
every ``k = label_every`` steps, a fraction ``1/k`` of supervision), the
learner takes ``(f_t, y_t)``. For one-step-ahead prediction ``y_t = u_{t+1}``,
which is revealed at ``t + 1``, before the next prediction: nothing read at or
before ``t`` depends on a sample after ``u_{t+1}`` (``tests/test_online.py``
shuffles the future and checks the past predictions do not move).

The weights are constant between labels, so the predictions of a stretch
between two labels are one batched product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import Array, Bool, InstanceOf, Integer, InvalidParameterError, validate_params
from .learners import Learner


@dataclass
class OnlineRun:
    """One online pass: ``prediction (T, B, D)``; ``labelled (T,)`` the steps whose label the learner took."""

    prediction: np.ndarray
    labelled: np.ndarray
    state: dict
    labels_used: int
    cost_evaluations: int


@validate_params({"features": Array(3), "targets": Array(3), "learner": InstanceOf(Learner, example=Learner),
                  "label_every": Integer(1), "offset": Integer(0), "check_finite": Bool()})
def run_online(features, targets, learner: Learner, *, label_every: int = 1, offset: int = 0,
               check_finite: bool = True) -> OnlineRun:
    """Run ``learner`` over ``features (T, B, F)`` and ``targets (T, B, D)`` (module docstring).

    Returns the a-priori predictions (each made before its own label is seen),
    which steps were labelled, the final state, the number of labels and of
    cost evaluations used (``labels x learner.evaluations_per_update``).
    A prediction that is not finite stops the run with a FloatingPointError
    naming the step (``check_finite=False``: returned as is, for tuning grids
    where some columns are meant to diverge).
    """
    T, B, F = features.shape
    if targets.shape[:2] != (T, B):
        raise InvalidParameterError(f"targets must have shape ({T}, {B}, D) to match features {features.shape}, "
                                    f"got {targets.shape}")
    if offset >= T:
        raise InvalidParameterError(f"offset must be below the stream's length {T}, got {offset}")
    state = learner.init(F, targets.shape[2], B)
    prediction = np.empty(targets.shape)
    labels = np.arange(offset, T, label_every)
    start = 0
    for t in labels:
        prediction[start:t + 1] = learner.predict(state, features[start:t + 1])
        learner.update(state, features[t], targets[t])
        start = t + 1
    if start < T:
        prediction[start:] = learner.predict(state, features[start:])
    labelled = np.zeros(T, bool)
    labelled[labels] = True
    if check_finite and not np.all(np.isfinite(prediction)):
        bad = int(np.argmax(~np.all(np.isfinite(prediction), axis=(1, 2))))
        raise FloatingPointError(f"the online readout ({learner.name}) diverged: prediction not finite at step {bad}; "
                                 "lower its learning rate (eta, learning_rate) or raise forgetting")
    return OnlineRun(prediction, labelled, state, len(labels), len(labels) * learner.evaluations_per_update)
