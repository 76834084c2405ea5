"""Optimisers that turn a gradient (or MGD's integrated estimate G_int) into a step.

Each works on a parameter array of any shape (one vector, or one row per
seed) and keeps its state in arrays of the same shape:

- ``sgd``:      theta <- theta - eta g
- ``momentum``: v <- mu v + g;  theta <- theta - eta v            (mu = 0.9)
- ``adam``:     m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
                theta <- theta - eta m^ / (sqrt(v^) + eps), with bias-corrected
                m^, v^ (Kingma and Ba 2015; b1 0.9, b2 0.999, eps 1e-8).

The 2025 MGD follow-up (Oripov et al., arXiv 2501.15403) applies Adam to the
perturbative estimate in the same way.
"""

from __future__ import annotations

from . import backend
from .validation import Array, Choice, InvalidParameterError, Real, validate_params

OPTIMIZERS = ("sgd", "momentum", "adam")
DECAY = Real(0, 1, closed="left")


class Optimizer:
    """In-place update rule ``step(theta, g)`` with learning rate ``eta``.

    ``name`` one of :data:`OPTIMIZERS`; ``eta`` and ``eps`` finite and > 0;
    ``momentum``, ``beta1``, ``beta2`` in [0, 1).
    """

    @validate_params({"name": Choice(OPTIMIZERS), "eta": Real(0, closed="neither"), "momentum": DECAY,
                      "beta1": DECAY, "beta2": DECAY, "eps": Real(0, closed="neither")})
    def __init__(self, name: str = "sgd", eta: float = 0.1, momentum: float = 0.9,
                 beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.name, self.eta, self.mu = name, eta, momentum
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self._m = self._v = None
        self._t = 0

    @validate_params({"theta": Array(), "g": Array()})
    def step(self, theta, g):
        """Apply one update to ``theta`` (a finite floating array, updated in place) and return it.

        ``g`` (finite) has ``theta``'s shape. Trainers' inner loops call the
        unchecked :meth:`_step`.
        """
        if g.shape != theta.shape:
            raise InvalidParameterError(f"g must have theta's shape {tuple(theta.shape)}, got {tuple(g.shape)}")
        return self._step(theta, g)

    def _step(self, theta, g):
        xp = backend.xp()
        if self.name == "sgd":
            theta -= self.eta * g
            return theta
        if self._m is None:
            self._m = xp.zeros_like(theta)
            self._v = xp.zeros_like(theta) if self.name == "adam" else None
        if self.name == "momentum":
            self._m *= self.mu
            self._m += g
            theta -= self.eta * self._m
            return theta
        self._t += 1
        self._m *= self.beta1
        self._m += (1 - self.beta1) * g
        self._v *= self.beta2
        self._v += (1 - self.beta2) * g * g
        rate = self.eta * (1 - self.beta2 ** self._t) ** 0.5 / (1 - self.beta1 ** self._t)
        theta -= rate * self._m / (xp.sqrt(self._v) + self.eps)
        return theta

