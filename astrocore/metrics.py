"""Metrics shared by the experiments.

Classification accuracy and the cosine between gradient estimates; the
reservoir metrics (valid prediction time, NRMSE, climate distance, regime
accuracy) live here too.
"""

from __future__ import annotations

import numpy as np

from . import backend


def accuracy(outputs, targets) -> float:
    """Fraction of samples classified correctly.

    One output column: the prediction is ``output > 0.5`` against the 0/1
    target. Several columns: ``argmax`` of outputs against ``argmax`` of the
    (one-hot) targets.
    """
    xp = backend.xp()
    outputs, targets = xp.asarray(outputs), xp.asarray(targets)
    if outputs.shape[-1] == 1:
        correct = (outputs[..., 0] > 0.5) == (targets[..., 0] > 0.5)
    else:
        correct = xp.argmax(outputs, axis=-1) == xp.argmax(targets, axis=-1)
    return float(xp.mean(correct))


def cosine(a, b, axis: int = -1):
    """Cosine similarity ``a.b / (|a| |b|)`` along ``axis`` (0 where a norm is 0)."""
    xp = backend.xp()
    a, b = xp.asarray(a), xp.asarray(b)
    num = xp.sum(a * b, axis=axis)
    den = xp.sqrt(xp.sum(a * a, axis=axis) * xp.sum(b * b, axis=axis))
    return xp.where(den > 0, num / xp.where(den > 0, den, 1), 0.0)


def cosine_theory(n_params: int, n_perturbations) -> np.ndarray:
    """Expected cosine of an averaged Rademacher (code-mode) gradient estimate.

    ``(1 + (N - 1) / tau)^(-1/2)`` for ``N`` parameters and ``tau``
    perturbations (McCaughan et al. 2023, ALGORITHMS.md section 2).
    """
    tau = np.asarray(n_perturbations, dtype=float)
    return (1.0 + (n_params - 1) / tau) ** -0.5
