"""Online readout learners: an ``init``/``update`` pair each, batched over columns.

A learner adapts a linear readout ``y_hat = W^T f`` (features ``f`` of length
``F``, outputs of length ``D``, one readout per batch column ``b``) from one
labelled sample ``(f_t, y_t)`` at a time. ``init(n_features, n_outputs,
batch)`` returns the state (a dict of arrays, ``W`` of shape ``(B, F, D)``);
``update(state, f, y)`` with ``f (B, F)``, ``y (B, D)`` changes it in place.
The error is ``e = W^T f - y`` (a priori: the weights before the update). A
bias, when wanted, is a constant feature (``reservoir.readout.make_features``).

:class:`RLS` (recursive least squares with forgetting factor ``lambda``;
Haykin, *Adaptive Filter Theory*, ch. 10; the form of reservoirpy 0.4's
``RLS`` node, Sussillo and Abbott 2009, Waegeman et al. 2012)::

    P f -> k = P f / (lambda + f^T P f),   P <- (P - k (P f)^T) / lambda,
    W <- W - (P f) e^T                     (P after its update),   P(0) = I / alpha

:class:`LMS` (least mean squares, Widrow and Hoff 1960; reservoirpy's
``LMS``)::

    W <- W - mu f e^T

:class:`MGDReadout` (multiplexed gradient descent on the readout, McCaughan et
al. 2023, ALGORITHMS.md section 2; code multiplexing with ``tau_p = 1``): at
each labelled step ``n_perturbations`` perturbed copies of the readout are
measured against the unperturbed one on the same sample; the cost is
``C = |e|^2 / 2``. ``direction="weight"``: ``theta~`` is ``+-amplitude`` on every
weight, ``G += (C(W + theta~) - C(W)) theta~ / amplitude^2``; ``"node"``: the
perturbation ``delta`` (``+-amplitude``) is added to the readout's outputs,
``G += f ((C(y_hat + delta) - C(y_hat)) delta / amplitude^2)^T`` (node
perturbation: the local input ``f`` times the output's estimate, ALGORITHMS.md
section 3). Both are unbiased for the quadratic cost (odd moments of
``theta~`` vanish). After ``tau_theta`` labelled steps ``W <- W - eta G /
(tau_theta n_perturbations)`` and ``G <- 0``. With ``hardware=`` the weights
live on simulated chips, one per batch column (:mod:`astrocore.online.chip`):
written through ``update`` and ``program``, read (``hold``, ``read``) at every
prediction and every measured cost, features through the DAC, outputs
through the ADC, perturbations through ``perturbation``, costs through
``measure``; the estimate is then ``G += (C~(W + theta~) - C~(W)) theta~ /
amplitude^2`` (weight) or ``G += dac(f) (...)^T`` (node) with ``C~`` the
measured costs.

:class:`WindowRidge` (a causal reference that is not a one-sample rule): ridge
refitted every ``refit_every`` labelled steps on the last ``window`` labelled
samples.

Hyperparameters are floats, or one value per batch column (arrays of length
``B``), so a tuning grid runs as extra columns of one batched loop.
"""

from __future__ import annotations

import numpy as np

from scipy.linalg.blas import dsymv as _symv, dsyr as _syr

from .. import backend
from ..hardware import energy as hw_energy
from ..hardware.model import HARDWARE, as_model
from ..validation import (AnyOf, Array, Choice, Integer, InvalidParameterError, Optional, Real, Seed,
                          validate_params)
from ._fused import window_sums
from .chip import ReadoutChip

DIRECTIONS = ("weight", "node")
LEARNERS = ("mgd_weight", "mgd_node", "rls", "lms", "window_ridge")


_RESCALE = 1e100   # RLS folds its scale c into S beyond this (c grows as lambda^-t)
_SHAPE = {"n_features": Integer(1), "n_outputs": Integer(1), "batch": Integer(1)}
_SIZES = {"n_features": Integer(1), "n_outputs": Integer(1)}
_ASSUMPTIONS = hw_energy.EnergyAssumptions()


def _hyper(low: float, high: float | None, closed: str) -> AnyOf:
    """A hyperparameter: a number in its interval, or one per batch column (checked by :func:`_in_interval`)."""
    return AnyOf(Real(low, high, closed=closed), Array(1))


def _per_column(name: str, value, batch: int, low: float, high: float | None = None,
                closed: str = "both") -> np.ndarray:
    """``value`` as ``(batch, 1, 1)``: a number or one per column, each in its interval."""
    arr = _in_interval(name, value, low, high, closed)
    if arr.ndim == 0:
        arr = np.full(batch, float(arr))
    if arr.shape != (batch,):
        raise InvalidParameterError(f"{name} must be a number or one value per batch column ({batch}), "
                                    f"got shape {arr.shape}")
    return arr.reshape(batch, 1, 1)


def _in_interval(name: str, value, low: float, high: float | None, closed: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    lo_ok = arr >= low if closed in ("both", "left") else arr > low
    hi_ok = True if high is None else (arr <= high if closed in ("both", "right") else arr < high)
    ok = np.atleast_1d(np.isfinite(arr) & lo_ok & hi_ok)
    if arr.ndim > 1 or not np.all(ok):
        if arr.ndim > 1:
            raise InvalidParameterError(f"{name} must be a number or a 1-d array, got shape {arr.shape}")
        bad = np.atleast_1d(arr)[~ok][0]
        interval = f"{'[' if closed in ('both', 'left') else '('}{low}, {high if high is not None else 'inf'}" \
                   f"{']' if closed in ('both', 'right') and high is not None else ')'}"
        raise InvalidParameterError(f"{name} must lie in {interval}, got {bad}")
    return arr


class Learner:
    """Base: the readout's prediction and the bookkeeping every learner shares."""

    name = "learner"
    #: cost evaluations (readout passes measured for a cost) per labelled step
    evaluations_per_update = 0

    @validate_params(_SHAPE)
    def init(self, n_features: int, n_outputs: int, batch: int) -> dict:
        return {"W": np.zeros((batch, n_features, n_outputs))}

    @staticmethod
    def predict(state: dict, f):
        """``y_hat = W^T f`` for ``f (..., B, F)``: ``(..., B, D)``."""
        return np.einsum("...bf,bfd->...bd", f, state["W"])

    def update(self, state: dict, f, y) -> None:
        raise NotImplementedError

    @validate_params(_SIZES)
    def macs_per_update(self, n_features: int, n_outputs: int) -> dict:
        """Multiply-accumulates and memory words per labelled update (digital arithmetic)."""
        raise NotImplementedError


class RLS(Learner):
    """Recursive least squares with a forgetting factor (module docstring).

    Per column, ``P`` is kept as ``c S`` with a scalar ``c`` and one
    triangle of the symmetric ``S`` (BLAS ``symv`` and ``syr``: two passes
    over ``F^2 / 2`` numbers per label, no temporary): with ``g = P f`` and
    ``d = lambda + f^T g``, ``S <- S - g g^T / (d c)``, ``c <- c / lambda``, and
    the gain ``P_new f = g / d`` (since ``1 - f^T g / d = lambda / d``).
    """

    name = "rls"

    @validate_params({"forgetting": _hyper(0, 1, "right"), "alpha": Real(0, closed="neither")})
    def __init__(self, forgetting=1.0, alpha: float = 1e-6):
        _in_interval("forgetting", forgetting, 0.0, 1.0, "right")
        self.forgetting = forgetting
        self.alpha = alpha

    @validate_params(_SHAPE)
    def init(self, n_features: int, n_outputs: int, batch: int) -> dict:
        state = super().init(n_features, n_outputs, batch)
        state["S"] = np.broadcast_to(np.eye(n_features), (batch, n_features, n_features)).copy()
        state["c"] = np.full(batch, 1.0 / self.alpha)
        state["lam"] = _per_column("forgetting", self.forgetting, batch, 0.0, 1.0, "right")[:, 0, 0]
        return state

    @staticmethod
    def covariance(state: dict) -> np.ndarray:
        """The full ``P (B, F, F)`` of the state (its upper triangle mirrored, times ``c``)."""
        S = np.triu(state["S"])
        return state["c"][:, None, None] * (S + np.swapaxes(np.triu(S, 1), 1, 2))

    def update(self, state: dict, f, y) -> None:
        S, c, lam, W = state["S"], state["c"], state["lam"], state["W"]
        e = np.einsum("bf,bfd->bd", f, W) - y
        for b in range(len(c)):
            # S[b] is C-ordered: its transpose is the Fortran matrix BLAS updates in place (S is symmetric)
            g = c[b] * _symv(1.0, S[b].T, f[b])
            d = lam[b] + f[b] @ g
            _syr(-1.0 / (d * c[b]), g, a=S[b].T, overwrite_a=True)
            c[b] /= lam[b]
            if c[b] > _RESCALE:
                S[b] *= c[b]
                c[b] = 1.0
            W[b] -= np.outer(g / d, e[b])

    @validate_params(_SIZES)
    def macs_per_update(self, n_features: int, n_outputs: int) -> dict:
        F, D = n_features, n_outputs
        # P f, its rank-one downdate (one triangle each), f^T P f, the error and the weight update
        return {"macs": F * F + 2 * F + 2 * F * D, "words": 3 * F * F // 2 + 2 * F * D}


class LMS(Learner):
    """Least mean squares (module docstring)."""

    name = "lms"

    @validate_params({"learning_rate": _hyper(0, None, "neither")})
    def __init__(self, learning_rate=1e-3):
        _in_interval("learning_rate", learning_rate, 0.0, None, "neither")
        self.learning_rate = learning_rate

    @validate_params(_SHAPE)
    def init(self, n_features: int, n_outputs: int, batch: int) -> dict:
        state = super().init(n_features, n_outputs, batch)
        state["mu"] = _per_column("learning_rate", self.learning_rate, batch, 0.0, None, "neither")
        return state

    def update(self, state: dict, f, y) -> None:
        W = state["W"]
        e = np.einsum("bf,bfd->bd", f, W) - y
        W -= state["mu"] * f[:, :, None] * e[:, None, :]

    @validate_params(_SIZES)
    def macs_per_update(self, n_features: int, n_outputs: int) -> dict:
        F, D = n_features, n_outputs
        return {"macs": 2 * F * D, "words": 2 * F * D}


class MGDReadout(Learner):
    """Multiplexed gradient descent on the readout from the cost at labelled steps (module docstring).

    ``hardware``: None, a preset name (``ideal``, ``digital8``, ``pcm``,
    ``rram``) or a :class:`astrocore.hardware.HardwareModel`; the readout's
    weights then live on one simulated chip per batch column, drawing from
    the stream :func:`astrocore.backend.device_stream` ``(seed, "readout",
    column)`` (:class:`astrocore.online.chip.ReadoutChip`). None and the ideal
    model run the plain arithmetic (bit for bit the learner without hardware).
    """

    @validate_params({"direction": Choice(DIRECTIONS), "eta": _hyper(0, None, "neither"),
                      "amplitude": Real(0, closed="neither"), "tau_theta": Integer(1),
                      "n_perturbations": Integer(1), "seed": Seed(), "hardware": HARDWARE})
    def __init__(self, direction: str = "node", eta=1e-2, amplitude: float = 1e-2, tau_theta: int = 1,
                 n_perturbations: int = 1, seed: int = 0, hardware=None):
        _in_interval("eta", eta, 0.0, None, "neither")
        self.direction = direction
        self.eta = eta
        self.amplitude = amplitude
        self.tau_theta = tau_theta
        self.n_perturbations = n_perturbations
        self.seed = seed
        self.hardware = as_model(hardware)

    @property
    def name(self) -> str:
        return f"mgd_{self.direction}"

    @property
    def evaluations_per_update(self) -> int:
        return self.n_perturbations + 1

    @validate_params(_SHAPE)
    def init(self, n_features: int, n_outputs: int, batch: int) -> dict:
        state = super().init(n_features, n_outputs, batch)
        state["G"] = np.zeros_like(state["W"])
        state["eta"] = _per_column("eta", self.eta, batch, 0.0, None, "neither")
        state["count"] = 0
        state["rng"] = backend.stream(self.seed, "perturbations", host=True)
        state["chip"] = None
        if self.hardware is not None:
            state["chip"] = ReadoutChip(self.hardware, self.seed, batch, n_features, n_outputs)
            state["W"] = state["chip"].program(state["W"])
        return state

    @staticmethod
    def predict(state: dict, f):
        """``y_hat = W^T f`` for ``f (..., B, F)``, on the chips when there are (``adc(read(W)^T dac(f))``)."""
        chip = state.get("chip")
        return Learner.predict(state, f) if chip is None else chip.forward(state["W"], f)

    def _signs(self, rng, shape) -> np.ndarray:
        return (rng.integers(0, 2, size=shape, dtype=np.int8) * 2 - 1).astype(np.float64)

    def estimate(self, state: dict, f, y) -> np.ndarray:
        """The gradient estimate ``(B, F, D)`` of one labelled sample, summed over its perturbations."""
        if state.get("chip") is not None:
            return self._estimate_on_chip(state, f, y)
        W, a, rng = state["W"], self.amplitude, state["rng"]
        e0 = np.einsum("bf,bfd->bd", f, W) - y
        c0 = 0.5 * np.einsum("bd,bd->b", e0, e0)
        B, F, D = W.shape
        G = np.zeros_like(W)
        for _ in range(self.n_perturbations):
            if self.direction == "weight":
                s = self._signs(rng, (B, F, D))
                e = e0 + a * np.einsum("bf,bfd->bd", f, s)
                dc = 0.5 * np.einsum("bd,bd->b", e, e) - c0
                G += (dc / a)[:, None, None] * s
            else:
                s = self._signs(rng, (B, D))
                e = e0 + a * s
                dc = 0.5 * np.einsum("bd,bd->b", e, e) - c0
                G += f[:, :, None] * ((dc / a)[:, None] * s)[:, None, :]
        return G

    def _estimate_on_chip(self, state: dict, f, y) -> np.ndarray:
        """:meth:`estimate` with every read, conversion and cost on the chips (module docstring)."""
        W, a, rng, chip = state["W"], self.amplitude, state["rng"], state["chip"]
        B, F, D = W.shape
        fq = chip.dac(f)

        def cost(y_hat):
            e = y_hat - y
            return chip.measure(0.5 * np.einsum("bd,bd->b", e, e))

        c0 = cost(chip.outputs(chip.read(W), fq))
        G = np.zeros_like(W)
        for _ in range(self.n_perturbations):
            if self.direction == "weight":
                s = self._signs(rng, (B, F, D))
                dc = cost(chip.outputs(chip.read(W + chip.perturbation(a * s)), fq)) - c0
                G += (dc / a)[:, None, None] * s
            else:
                s = self._signs(rng, (B, D))
                dc = cost(chip.outputs(chip.read(W), fq, chip.perturbation(a * s))) - c0
                G += fq[:, :, None] * ((dc / a)[:, None] * s)[:, None, :]
        return G

    def update(self, state: dict, f, y) -> None:
        state["G"] += self.estimate(state, f, y)
        state["count"] += 1
        if state["count"] == self.tau_theta:
            if state.get("chip") is None:
                state["W"] -= state["eta"] * state["G"] / (self.tau_theta * self.n_perturbations)
            else:
                delta = -state["eta"] * state["G"] / (self.tau_theta * self.n_perturbations)
                state["W"][...] = state["chip"].update(state["W"], delta)
            state["G"][...] = 0.0
            state["count"] = 0

    @validate_params(_SIZES)
    def macs_per_update(self, n_features: int, n_outputs: int) -> dict:
        F, D, K = n_features, n_outputs, self.n_perturbations
        local = F * D * (K + 1) if self.direction == "weight" else F * D + K * D
        return {"macs": (K + 1) * F * D + local + F * D / self.tau_theta, "words": (K + 2) * F * D}

    @validate_params({"n_features": Integer(2), "n_outputs": Integer(1),
                      "writes_per_update": Optional(Real(0)), "assumptions": hw_energy.ASSUMPTIONS})
    def energy_per_update(self, n_features: int, n_outputs: int, *, writes_per_update: float | None = None,
                          assumptions: hw_energy.EnergyAssumptions = _ASSUMPTIONS) -> dict:
        """Energy (pJ, by component and ``"total"``) of one labelled update on the learner's hardware.

        The readout is one layer of ``n_features`` rows (the constant feature
        as the bias row) and ``n_outputs`` columns, and a labelled update one
        MGD step of :func:`astrocore.hardware.energy.training_step_energy`
        ``((n_features - 1, n_outputs), hardware, "mgd", batch=K, tau_x=K,
        tau_theta)``: ``K + 1`` passes (the perturbed ones and ``C0``), the
        local perturbation and integration, ``F D / tau_theta`` weight
        updates, on the technology of
        :func:`astrocore.hardware.energy.technology` (None and ``ideal``:
        ``fp32``; ``digital8``: ``int8``; ``pcm``: ``pcm``); the same total as
        :func:`astrocore.analysis.online.energy_per_update`. On an analog
        technology each update rewrites every cell (a programming pulse,
        ``pcm_write``/``rram_write``); a chip's measured
        ``writes_per_update`` (:attr:`~astrocore.online.chip.ReadoutChip.writes_per_update`:
        the cells whose level changed) replaces that count, ``update =
        writes_per_update E_write / tau_theta`` (digital technologies ignore
        it: the arithmetic of ``W - eta G`` runs on every weight).
        """
        K = self.n_perturbations
        out = hw_energy.training_step_energy((n_features - 1, n_outputs), self.hardware, "mgd", batch=K, tau_x=K,
                                             tau_theta=self.tau_theta, assumptions=assumptions)
        tech = hw_energy.technology(self.hardware)
        if writes_per_update is not None and tech in hw_energy.ANALOG:
            pulse = assumptions.pcm_write if tech == "pcm" else assumptions.rram_write
            out["update"] = writes_per_update * pulse / self.tau_theta
            out["total"] = sum(v for k, v in out.items() if k != "total")
        return out


class WindowRidge(Learner):
    """Ridge on the last ``window`` labelled samples, refitted every ``refit_every`` labels (causal).

    The Gram matrix and right-hand side are kept as running sums (the new
    sample added, the one leaving the window subtracted), so a label costs
    ``O(F^2)`` and a refit one ``O(F^3)`` solve.
    """

    name = "window_ridge"

    @validate_params({"window": Integer(1), "ridge": Real(0, closed="neither"), "refit_every": Integer(1)})
    def __init__(self, window: int = 500, ridge: float = 1e-6, refit_every: int = 50):
        self.window = window
        self.ridge = ridge
        self.refit_every = refit_every

    @validate_params(_SHAPE)
    def init(self, n_features: int, n_outputs: int, batch: int) -> dict:
        state = super().init(n_features, n_outputs, batch)
        state["fbuf"] = np.zeros((self.window, batch, n_features))
        state["ybuf"] = np.zeros((self.window, batch, n_outputs))
        state["gram"] = np.zeros((batch, n_features, n_features))
        state["rhs"] = np.zeros((batch, n_features, n_outputs))
        state["seen"] = 0
        return state

    def update(self, state: dict, f, y) -> None:
        i = state["seen"] % self.window
        old_f, old_y = state["fbuf"][i], state["ybuf"][i]
        window_sums(state["gram"], state["rhs"], f, y, old_f, old_y)
        state["fbuf"][i], state["ybuf"][i] = f, y
        state["seen"] += 1
        if state["seen"] % self.refit_every == 0:
            F = f.shape[1]
            state["W"][...] = np.linalg.solve(state["gram"] + self.ridge * np.eye(F), state["rhs"])

    @validate_params(_SIZES)
    def macs_per_update(self, n_features: int, n_outputs: int) -> dict:
        F, D, r = n_features, n_outputs, self.refit_every
        return {"macs": 2 * F * F + 2 * F * D + (F ** 3 / 3 + F * F * D) / r, "words": 2 * F * F + 2 * F * D}


@validate_params({"name": Choice(LEARNERS)})
def make_learner(name: str, **params) -> Learner:
    """A learner by its table name (``mgd_weight``, ``mgd_node``, ``rls``, ``lms``, ``window_ridge``)."""
    if name.startswith("mgd_"):
        return MGDReadout(direction=name[4:], **params)
    return {"rls": RLS, "lms": LMS, "window_ridge": WindowRidge}[name](**params)
