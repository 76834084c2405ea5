"""Settings of the MGD link-phase controller (:mod:`.phase_control`), apart so the model can declare them."""

from __future__ import annotations

import numpy as np

from ..validation import Choice, Integer, Real, Seed, validate_params

PARAMETRISATIONS = ("domains", "order")
"""One offset per astrocyte, or the two order-parameter controls (module docstring)."""


class PhaseController:
    """Settings of the MGD link-phase controller (module docstring); pass as ``forecast(steering=...)``.

    Parameters
    ----------
    parametrisation : {"domains", "order"}
        One phase offset per astrocyte (needs ``astro_graph="domains"``), or
        control of ``<Phi>`` and ``R`` only.
    label_every : int
        One label (a measured prediction error) every ``label_every`` steps.
    n_iterations : int
        MGD iterations (0: freeze the phases at ``phi_free``).
    n_perturbations : int
        Antithetic code pairs per iteration (``2 n_perturbations`` cost
        evaluations per iteration and window).
    amplitude : float
        Perturbation amplitude ``a`` (rad).
    eta : float
        RMS of each step (rad).
    seed : int
        Seed of the controller's code stream.
    """

    @validate_params({"parametrisation": Choice(PARAMETRISATIONS), "label_every": Integer(1),
                      "n_iterations": Integer(0), "n_perturbations": Integer(1),
                      "amplitude": Real(0, closed="neither"), "eta": Real(0), "seed": Seed()})
    def __init__(self, parametrisation: str = "domains", *, label_every: int = 1, n_iterations: int = 20,
                 n_perturbations: int = 8, amplitude: float = 0.3, eta: float = 0.1, seed: int = 0):
        self.parametrisation = parametrisation
        self.label_every = label_every
        self.n_iterations = n_iterations
        self.n_perturbations = n_perturbations
        self.amplitude = amplitude
        self.eta = eta
        self.seed = seed

    def get_params(self) -> dict:
        return {k: getattr(self, k) for k in ("parametrisation", "label_every", "n_iterations",
                                              "n_perturbations", "amplitude", "eta", "seed")}

    def __repr__(self) -> str:
        return "PhaseController(" + ", ".join(f"{k}={v!r}" for k, v in self.get_params().items()) + ")"

    def scored_steps(self, n_steps: int, start: int) -> np.ndarray:
        """Mask ``(n_steps - 1,)`` of the steps ``t`` whose label ``u(t + 1)`` is revealed and scored:
        ``(t + 1) % label_every == 0`` and ``t >= start``."""
        t = np.arange(n_steps - 1)
        return ((t + 1) % self.label_every == 0) & (t >= start)
