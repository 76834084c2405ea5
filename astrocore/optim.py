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

OPTIMIZERS = ("sgd", "momentum", "adam")


class Optimizer:
    """In-place update rule ``step(theta, g)`` with learning rate ``eta``."""

    def __init__(self, name: str = "sgd", eta: float = 0.1, momentum: float = 0.9,
                 beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        if name not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")
        check_positive("eta", eta)
        for label, value in (("momentum", momentum), ("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{label} must be in [0, 1), got {value!r}")
        self.name, self.eta, self.mu = name, float(eta), float(momentum)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self._m = self._v = None
        self._t = 0

    def step(self, theta, g):
        """Apply one update to ``theta`` in place and return it."""
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


def check_positive(name: str, value, integer: bool = False):
    """Raise ValueError unless ``value`` is a positive number (an int if ``integer``)."""
    import numbers  # noqa: PLC0415

    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0 or value != value:
        what = "a positive integer" if integer else "a number > 0"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return int(value) if integer else float(value)
