"""Test-time context selection by steering the mean link phase ``<Phi>``.

Both strategies start like the authors' public code: node states reset to 0,
link phases re-drawn, the observed data of the new context ``u_obs`` fed in
(teacher forcing), the phases following their own dynamics for ``n_free``
steps. A rigid shift of every link phase, ``phi_k <- phi_k + theta``, leaves
``R`` unchanged and moves ``<Phi>`` by ``theta``; freezing the phases fixes the
link strengths ``M``, and the closed-loop forecast then runs in the selected
context. See :meth:`astrocore.reservoir.RhythmicSharing.forecast` for the
options; here are the two drivers.

- :func:`steer_authors` (Kang & Losert's code, their eqs 14-15): after
  ``n_free`` steps ``phi <- phi + omega0`` each step (the Kuramoto update is
  off); freeze for good at the first step where ``<Phi>`` is within
  ``phase_tol`` of the target and the one-step squared error is below
  ``error_tol``.
- :func:`steer_sweep` (ours): evaluate ``K`` rigid offsets covering a full
  turn of ``<Phi>`` in parallel (batch columns), each scored by a windowed
  closed-loop forecast error on the same observed data; keep the best.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import backend
from ..validation import Array, InstanceOf, Integer, InvalidParameterError, Real, validate_params
from .readout import make_features
from .rhythmic import RhythmicSharing, _RhythmicPlan

_MODEL = InstanceOf(RhythmicSharing, example=lambda: RhythmicSharing(10, degree=3, astro_degree=5, n_inputs=1))
_PLAN = InstanceOf(_RhythmicPlan, example=lambda: RhythmicSharing(10, degree=3, astro_degree=5, n_inputs=1)._plan(1))
_U3 = Array(3)
_PHASES = Array(2)


def _check_layout(model, plan, u3, phases) -> None:
    """The observed window and the phases fit the plan: ``u3 (T, B, d)``, ``phases (B, L)``."""
    if u3.shape[1] != plan.batch or u3.shape[2] != model.n_inputs:
        raise InvalidParameterError(f"u3 must have shape (time, {plan.batch}, {model.n_inputs}) for this plan, "
                                    f"got {tuple(u3.shape)}")
    if tuple(phases.shape) != (plan.batch, model.n_links):
        raise InvalidParameterError(f"phases must have shape ({plan.batch}, {model.n_links}), got "
                                    f"{tuple(phases.shape)}")

TWO_PI = 2.0 * np.pi


def _circular_distance(a, b):
    return np.abs(np.angle(np.exp(1j * (np.asarray(a) - b))))


@validate_params({"model": _MODEL, "plan": _PLAN, "u3": _U3, "phases": _PHASES, "target_phase": Real(),
                  "n_free": Integer(0), "omega0": Real(), "phase_tol": Real(0, closed="neither"),
                  "error_tol": Real(0, closed="neither")})
def steer_authors(model, plan, u3, phases, *, target_phase: float, n_free: int, omega0: float,
                  phase_tol: float, error_tol: float):
    """The authors' steering on the observed window ``u3 (T, B, d)``.

    Returns ``(last node state (flat), order sums (T, 2B), info)``; the plan is
    left with the selected phases. Called by :meth:`RhythmicSharing.forecast`,
    which checks the relations between its arguments first.
    """
    _check_layout(model, plan, u3, phases)
    xp = backend.xp()
    B, L, T = plan.batch, model.n_links, u3.shape[0]
    coef = model.readout_.coef_for(B)
    u_host = backend.to_host(u3)
    plan.set_phases(phases)
    gain, shift = xp.ones(B * L), xp.zeros(B * L)
    plan.set_mode("control", gain, shift)
    x, nxt = xp.zeros(plan.width), xp.empty(plan.width)
    osum = xp.zeros((T + 1, 2 * B))
    plan.osum = osum
    frozen = np.zeros(B, dtype=bool)
    frozen_at = np.full(B, -1)
    try:
        for c0 in range(0, T, model.chunk):
            drive = plan.drive(u3[c0: c0 + model.chunk])
            for t, d in enumerate(drive, start=c0):
                if t == n_free:  # from now on: rigid shift only (R fixed, <Phi> sweeps)
                    gain[:] = 0.0
                    shift[:] = omega0
                    for b in np.flatnonzero(frozen):
                        shift[b * L:(b + 1) * L] = 0.0
                plan.step(x, d, nxt, t)
                x, nxt = nxt, x
                if t >= n_free and t + 1 < T and not frozen.all():
                    ph = backend.to_host(plan.phi).reshape(B, L)
                    mean_phase = np.angle(np.exp(1j * ph).sum(axis=1))
                    f = make_features(plan.nodes(x), model.features, model.readout_bias)
                    y = f @ coef[0] if coef.shape[0] == 1 else xp.einsum("bf,bfd->bd", f, coef)
                    h = ((backend.to_host(y) - u_host[t + 1]) ** 2).sum(axis=1)
                    new = (~frozen) & (_circular_distance(mean_phase, target_phase) < phase_tol) \
                        & (h < error_tol)
                    for b in np.flatnonzero(new):
                        frozen[b], frozen_at[b] = True, t + 1
                        shift[b * L:(b + 1) * L] = 0.0
            model._check_chunk(plan.nodes(x)[None], min(c0 + model.chunk, T) - 1, "steering")
        plan.sums(osum[T])
    finally:
        plan.osum = None
    if not frozen.all():
        warnings.warn(
            f"steering='authors' did not meet |<Phi> - {target_phase:.4g}| < {phase_tol:g} and "
            f"one-step error < {error_tol:g} within the observed window for batch column(s) "
            f"{np.flatnonzero(~frozen).tolist()}; their phases are frozen where the window ends",
            RuntimeWarning, stacklevel=3)
    ph = backend.to_host(plan.phi).reshape(B, L)
    info = {"steering": "authors", "target_phase": float(target_phase), "n_free": n_free,
            "omega0": omega0, "phase_tol": phase_tol, "error_tol": error_tol,
            "converged": bool(frozen.all()), "frozen_at": frozen_at,
            "selected_mean_phase": np.angle(np.exp(1j * ph).sum(axis=1))}
    return x, osum[1:], info


@validate_params({"model": _MODEL, "plan": _PLAN, "u3": _U3, "phases": _PHASES, "n_free": Integer(0),
                  "n_candidates": Integer(1), "n_settle": Integer(0), "window": Integer(1)})
def steer_sweep(model, plan, u3, phases, *, n_free: int, n_candidates: int, n_settle: int,
                window: int):
    """Sweep ``<Phi>`` over a full turn and keep the offset with the smallest windowed error.

    Returns ``(last node state (flat), order sums (T, 2B), info)``.
    """
    _check_layout(model, plan, u3, phases)
    xp = backend.xp()
    B, L, K, T = plan.batch, model.n_links, n_candidates, u3.shape[0]
    need = n_free + n_settle + window
    if T < need:
        raise InvalidParameterError(f"u_warm must have at least n_free + n_settle + window = {need} time steps "
                         f"for steering='sweep', got {T}")
    # 1. free dynamics on the first n_free observed steps
    plan.set_mode("free")
    plan.set_phases(phases)
    _, x_free, sums_free = model._teacher_rs(plan, u3[:n_free], xp.zeros(plan.width), record=False)
    phi_free = backend.to_host(plan.phi).reshape(B, L).copy()
    # 2. K rigid offsets per column, frozen, as B*K batch columns (column b*K + j)
    offsets = TWO_PI * np.arange(K) / K
    cplan = model._plan(tuple(s for s in plan.col_seeds for _ in range(K)))
    cphases = (phi_free[:, None, :] + offsets[None, :, None]).reshape(B * K, L)
    cplan.set_mode("frozen")
    cplan.set_phases(cphases)
    x_nodes = xp.repeat(plan.nodes(x_free), K, axis=0)
    uc = xp.repeat(u3[n_free: n_free + n_settle], K, axis=1)
    _, x_settled, _ = model._teacher_rs(cplan, uc, cplan.flat(x_nodes), record=False)
    coef = model.readout_.coef_for(B)
    coef_c = coef if coef.shape[0] == 1 else xp.repeat(coef, K, axis=0)
    pred, _, _, _ = model._closed_rs(cplan, x_settled, window, record=False, coef=coef_c)
    truth = u3[n_free + n_settle: need]
    err = backend.to_host(((pred - xp.repeat(truth, K, axis=1)) ** 2).sum(axis=2).mean(axis=0))
    scale = backend.to_host(u3).var(axis=0).sum(axis=-1)
    scores = err.reshape(B, K) / np.where(scale > 0, scale, 1.0)[:, None]
    best = np.argmin(scores, axis=1)
    # 3. continue the best candidate (frozen) to the end of the observed window
    pick = xp.asarray(np.arange(B) * K + best)
    settled_nodes = cplan.nodes(x_settled)[pick]
    plan.set_mode("frozen")
    plan.set_phases(cphases[backend.to_host(pick)])
    settle_sums = xp.zeros((1, 2 * B))
    plan.sums(settle_sums[0])
    _, x_end, sums_rest = model._teacher_rs(plan, u3[n_free + n_settle:], plan.flat(settled_nodes),
                                            record=False)
    sums = xp.concatenate([sums_free, xp.repeat(settle_sums, n_settle, axis=0), sums_rest])
    ph = backend.to_host(plan.phi).reshape(B, L)
    info = {"steering": "sweep", "n_free": n_free, "n_candidates": K, "n_settle": n_settle,
            "window": window, "offsets": offsets, "scores": scores,
            "best_offset": offsets[best], "best_score": scores[np.arange(B), best],
            "selected_mean_phase": np.angle(np.exp(1j * ph).sum(axis=1))}
    return x_end, sums, info
