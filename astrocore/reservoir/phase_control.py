"""The link-phase controller: astrocytes as perturbation units, trained by MGD at test time.

The authors select a context by rotating every link phase together and
freezing them (a one-parameter search on ``<Phi>``; :mod:`.steering`). Here
each astrocyte is a perturbation unit (the seed paper's future work): the
phases are frozen after ``n_free`` free steps of the observed window, at
``phi_free``, and a few parameters ``theta`` shift them linearly,

    phi(theta) = phi_free + J theta,

``J`` depending on the ``parametrisation``:

- ``"domains"`` (one offset per astrocyte of the ``domains`` graph):
  ``J = P^T``, the link-astrocyte membership, so astrocyte ``d``'s offset is
  added to the phases of every link it binds (a link bound by two astrocytes
  takes the sum of their offsets);
- ``"order"`` (the two parameters of the authors' README, ``<Phi>`` and ``R``):
  ``J = [1, wrap(phi_free - <Phi>_free)]``: ``theta_0`` rotates every phase
  (moves ``<Phi>``), ``theta_1`` widens or narrows their spread about the mean
  (moves ``R``).

The readout stays frozen. ``theta`` is learned by multiplexed gradient
descent with code multiplexing (McCaughan et al. 2023, ALGORITHMS.md
section 2): each iteration measures ``K = n_perturbations`` antithetic pairs
``theta +- a s_j``, ``s_j`` in ``{-1, +1}^P``, all as batch columns of one
frozen-phase reservoir run over the observed window, and correlates the cost
differences with the codes,

    G = (1 / K) sum_j (C(theta + a s_j) - C(theta - a s_j)) / (2 a) s_j,

an estimate of ``grad C`` (unbiased up to ``O(a^2)``), with ``theta`` itself
measured beside the pairs. The step is normalised (its RMS over the
parameters is ``eta``) because the cost's scale varies by orders of
magnitude between contexts; the ``theta`` with the lowest measured cost is
kept (early stopping on the observed window). The cost is the one-step teacher-forced prediction error at the
labelled steps only (one label every ``label_every`` steps; the inputs drive
the reservoir at every step),

    C(theta) = mean over labelled t of ||W_out^T f(n(t + 1; theta)) - u(t + 1)||^2 / sum_i var(u_i),

counting from ``n_free + n_settle`` (the frozen-phase state settles first).
``PhaseController(n_iterations=0)`` is "freeze": the phases at ``phi_free``,
no offset (zero offsets reproduce that run exactly: ``tests/test_phase_control.py``).

On hardware (the model's ``hardware=``, issue 12 part C) the reservoir runs on
its device (programmed weights, node-state bits, phase noise: the model's
own hook points) and the controller reads every cost through the device's
cost read-out (``measure``: noise, ADC over ``[0, cost_range]``), one chip
with the device stream ``controller`` of the controller's seed. The read-out
is calibrated to the window: it measures ``C(theta) / C(0)`` (``C(0)``, the
frozen phases' cost, read once exactly), so its range holds the costs the
controller meets. With no ``measure`` part (``ideal``) nothing changes.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..hardware import Chips
from ..validation import Array, InstanceOf, Integer, InvalidParameterError, Optional, Seed, validate_params
from .controller import PhaseController
from .readout import make_features
from .rhythmic import RhythmicSharing, _RhythmicPlan
from .steering import _check_layout


def _jacobian(model: RhythmicSharing, col_seeds: tuple, phi_free: np.ndarray, parametrisation: str) -> list:
    """``J`` per column (module docstring): the sparse ``P^T`` of its reservoir, or a dense ``(L, 2)``."""
    if parametrisation == "domains":
        if model.astro_mode != "domains":
            raise InvalidParameterError(f"parametrisation='domains' needs a RhythmicSharing with "
                                        f"astro_graph='domains' (one offset per astrocyte), got astro_graph="
                                        f"{model.astro_mode!r}; use parametrisation='order'")
        return [model.domains_[s].T.tocsr() for s in col_seeds]
    mean = np.angle(np.exp(1j * phi_free).sum(axis=1))
    spread = np.angle(np.exp(1j * (phi_free - mean[:, None])))
    return [np.stack([np.ones_like(row), row], axis=1) for row in spread]


def _offsets(jac: list, theta: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``J_b theta_i`` for the rows ``theta (M, P)`` whose column is ``columns (M,)``: ``(M, L)``."""
    return np.stack([jac[b] @ th for b, th in zip(columns, theta)])


def window_cost(model, plan, u3, x0, coef, scored: np.ndarray):
    """Teacher-force ``u3 (T, B, d)`` from the flat state ``x0``; per column the mean squared one-step
    error at the ``scored`` steps (``(T - 1,)`` mask) and the last state (flat)."""
    xp = backend.xp()
    T, B = u3.shape[0], plan.batch
    total = xp.zeros(B)
    buf = xp.empty((min(model.chunk, T), plan.width))
    prev = x0
    for c0 in range(0, T, model.chunk):
        c1 = min(c0 + model.chunk, T)
        tgt = buf[: c1 - c0]
        prev = plan.run_chunk(plan.drive(u3[c0:c1]), tgt, prev, c0)
        model._check_chunk(tgt, c0, "phase control")
        rows = np.flatnonzero(scored[c0: min(c1, T - 1)])
        if rows.size:
            f = make_features(plan.to_batch_major(tgt[rows]), model.features, model.readout_bias)
            y = f @ coef[0] if coef.shape[0] == 1 else xp.einsum("tbf,bfd->tbd", f, coef)
            total += ((y - u3[c0 + rows + 1]) ** 2).sum(axis=(0, 2))
    n = int(scored.sum())
    return backend.to_host(total) / max(n, 1), xp.array(prev, copy=True)


_MODEL = InstanceOf(RhythmicSharing, example=lambda: RhythmicSharing(10, degree=3, astro_degree=5, n_inputs=1))
_PLAN = InstanceOf(_RhythmicPlan, example=lambda: RhythmicSharing(10, degree=3, astro_degree=5, n_inputs=1)._plan(1))
_CONTROLLER = InstanceOf(PhaseController, example=PhaseController)


class PhaseCost:
    """``C(theta)`` of every window (module docstring) after the free part of the observed window.

    Built by :func:`phase_cost` (or inside :func:`steer_mgd`): holds the free
    phases ``phi_free (B, L)``, the node states after ``n_free`` steps, ``J`` and
    the rest of the window. ``cost(theta)`` evaluates ``theta (B, M, P)`` (``M``
    settings per window) as ``B M`` frozen-phase reservoirs in one batch.
    """

    def __init__(self, model, plan, u3, x_free, phi_free, controller: PhaseController, n_free: int,
                 n_settle: int):
        T = u3.shape[0]
        self.model, self.col_seeds, self.phi_free = model, plan.col_seeds, phi_free
        self.batch = plan.batch
        self.x_free = x_free
        self.nodes_free = plan.nodes(x_free)
        self.jac = _jacobian(model, plan.col_seeds, phi_free, controller.parametrisation)
        self.n_parameters = self.jac[0].shape[1]
        self.rest = u3[n_free:]
        self.scored = controller.scored_steps(T, n_free + n_settle)[n_free:]
        if T - n_free < 2 or not self.scored.any():
            raise InvalidParameterError(
                f"the observed window ({T} steps) leaves no labelled step after n_free + n_settle = "
                f"{n_free + n_settle} with label_every={controller.label_every}; give a longer window or "
                "smaller n_free, n_settle or label_every")
        scale = backend.to_host(u3).var(axis=0).sum(axis=-1)
        self.scale = np.where(scale > 0, scale, 1.0)
        self.coef = model.readout_.coef_for(plan.batch)

    def phases(self, theta: np.ndarray) -> np.ndarray:
        """``phi_free + J theta`` for ``theta (B, M, P)``: ``(B M, L)`` (window-major)."""
        B, M, P = theta.shape
        return np.repeat(self.phi_free, M, axis=0) + _offsets(self.jac, theta.reshape(B * M, P),
                                                              np.repeat(np.arange(B), M))

    def cost(self, theta: np.ndarray) -> np.ndarray:
        """``C`` of ``theta (B, M, P)``: ``(B, M)``."""
        xp = backend.xp()
        B, M, _ = theta.shape
        plan = self.model._plan(tuple(s for s in self.col_seeds for _ in range(M)))
        plan.set_mode("frozen")
        plan.set_phases(self.phases(theta))
        coef = self.coef if self.coef.shape[0] == 1 else xp.repeat(self.coef, M, axis=0)
        x0 = plan.flat(xp.repeat(self.nodes_free, M, axis=0))
        cost, _ = window_cost(self.model, plan, xp.repeat(self.rest, M, axis=1), x0, coef, self.scored)
        return cost.reshape(B, M) / self.scale[:, None]


def _free_part(model, plan, u3, phases, controller, n_free, n_settle) -> tuple:
    """The free dynamics over the first ``n_free`` steps: the :class:`PhaseCost` after them and their order
    sums."""
    xp = backend.xp()
    plan.set_mode("free")
    plan.set_phases(phases)
    _, x_free, sums_free = model._teacher_rs(plan, u3[:n_free], xp.zeros(plan.width), record=False)
    phi_free = backend.to_host(plan.phi).reshape(plan.batch, model.n_links).copy()
    return PhaseCost(model, plan, u3, x_free, phi_free, controller, n_free, n_settle), sums_free


@validate_params({"model": _MODEL, "u_warm": Array(3), "controller": _CONTROLLER, "n_free": Integer(1),
                  "n_settle": Integer(0), "phase_seed": Optional(Seed())})
def phase_cost(model, u_warm, *, controller: PhaseController, n_free: int, n_settle: int,
               phase_seed=None) -> PhaseCost:
    """The :class:`PhaseCost` of the windows ``u_warm (T, B, d)`` as :meth:`RhythmicSharing.forecast`
    meets them with ``steering=controller`` (phases drawn from the steering stream, ``phase_seed``)."""
    steps, batch, _ = model._input_shape(u_warm, "u_warm")
    model._check_fitted(batch)
    if n_free + 1 >= steps:
        raise InvalidParameterError(f"n_free must be < len(u_warm) - 1 = {steps - 1}, got {n_free}")
    u3, _ = model._batch_input(u_warm, "u_warm")
    plan = model._plan(batch)
    phases = model._initial_phases(plan, None, "steer" if phase_seed is None else phase_seed)
    return _free_part(model, plan, u3, phases, controller, n_free, n_settle)[0]


@validate_params({"model": _MODEL, "plan": _PLAN, "controller": _CONTROLLER, "n_free": Integer(1),
                  "n_settle": Integer(0)})
def steer_mgd(model, plan, u3, phases, *, controller: PhaseController, n_free: int, n_settle: int):
    """Free dynamics for ``n_free`` steps, then MGD on the phase offsets, then the observed window to its
    end with the learned phases frozen.

    Returns ``(last node state (flat), order sums (T, 2B), info)`` as the other
    steering drivers (:mod:`.steering`); the plan is left with the selected
    phases, frozen. Each iteration evaluates ``theta_i`` itself beside its
    ``2 K`` perturbed copies (``2 K + 1`` cost evaluations); the ``theta_i``
    with the lowest cost is kept. ``info`` holds ``theta`` ``(B, P)`` (the kept
    offsets), ``cost`` ``(n_iterations + 1, B)`` (row ``i < n``: ``C(theta_i)``;
    last row: ``C`` of the kept ``theta``), ``labels_used`` and
    ``cost_evaluations`` (per window).
    """
    _check_layout(model, plan, u3, phases)
    c, B, K = controller, plan.batch, controller.n_perturbations
    problem, sums_free = _free_part(model, plan, u3, phases, c, n_free, n_settle)
    theta = np.zeros((B, problem.n_parameters))
    history = np.full((c.n_iterations + 1, B), np.nan)
    best, best_cost = theta.copy(), np.full(B, np.inf)
    rng = backend._stream(c.seed, "phase_control", host=True)
    readout = () if model.hardware is None else model.hardware.at("measure")
    site = Chips([backend._device_stream(c.seed, "controller", (0,))], hardware=model.hardware) if readout else None
    reference = None
    for it in range(c.n_iterations):
        codes = rng.integers(0, 2, size=(B, K, problem.n_parameters)).astype(float) * 2.0 - 1.0
        trial = np.concatenate([theta[:, None], theta[:, None] + c.amplitude * codes,
                                theta[:, None] - c.amplitude * codes], axis=1)
        cost = problem.cost(trial)
        if readout:
            reference = cost[:, :1].copy() if reference is None else reference
            cost = cost / np.where(reference > 0, reference, 1.0)
            for part in readout:
                cost = part.measure(cost, site)
        history[it] = cost[:, 0]
        better = cost[:, 0] < best_cost
        best[better], best_cost[better] = theta[better], cost[better, 0]
        grad = np.einsum("bk,bkp->bp", (cost[:, 1:K + 1] - cost[:, K + 1:]) / (2.0 * c.amplitude), codes) / K
        rms = np.sqrt((grad ** 2).mean(axis=1, keepdims=True))
        theta = theta - c.eta * grad / np.where(rms > 0, rms, 1.0)
    xp = backend.xp()
    plan.set_mode("frozen")
    plan.set_phases(problem.phases(best[:, None]) if c.n_iterations else problem.phi_free)
    frozen_sums = xp.zeros((problem.rest.shape[0] + 1, 2 * B))
    plan.osum = frozen_sums
    try:
        final_cost, x_end = window_cost(model, plan, problem.rest, problem.x_free, problem.coef, problem.scored)
        plan.sums(frozen_sums[-1])
    finally:
        plan.osum = None
    history[-1] = final_cost / problem.scale
    if reference is not None:  # measured C / C(0) back to the units of the last row, C / sum_i var(u_i)
        history[:-1] *= reference[:, 0]
    sums = xp.concatenate([sums_free, frozen_sums[1:]])
    info = {"steering": "mgd", **c.get_params(), "n_free": n_free, "n_settle": n_settle, "theta": best,
            "cost": history, "labels_used": int(problem.scored.sum()),
            "cost_evaluations": (2 * K + 1) * c.n_iterations + 1}
    return x_end, sums, info
