"""Multiplexed Gradient Descent (MGD).

McCaughan, Buckley, Dienstfrey, Shainline et al., "Multiplexed gradient
descent: fast online training of modern datasets on hardware neural
networks without backpropagation", APL Machine Learning 1, 026118 (2023),
arXiv 2303.03986; ALGORITHMS.md section 2.

Discrete mode, per time step ``t`` (all ``N`` parameters ``theta`` perturbed
at once, the perturbations told apart by multiplexing):

- every ``tau_x`` steps a new input (a minibatch of ``batch_size`` samples);
- every ``tau_p`` steps a new perturbation ``theta~``;
- ``C~ = C(theta + theta~) - C0`` with ``C0 = C(theta)`` measured again when
  the input or theta changes (the ideal high-pass; with ``highpass=True``,
  ``C~`` is instead a first-order high-pass of ``C`` with time constant
  ``tau_hp``, as analog hardware measures it);
- ``G = C~ theta~ / ||theta~||^2`` and ``G_int += G``;
- every ``tau_theta`` steps ``theta <- theta - eta G_int`` (or an optimiser
  applied to ``G_int``), then ``G_int = 0``.

Analog mode: ``C~`` is the high-pass of ``C`` and ``G_int`` a first-order
low-pass of ``G`` with time constant ``tau_theta``; theta is updated every step.

Multiplexing (``||theta~||`` is the ``amplitude``):

- ``time``: one parameter at a time, ``theta~ = amplitude e_i``, ``i`` through
  a shuffled order;
- ``frequency``: ``theta~_i = A sin(2 pi k_i p / T + phi_i)`` with distinct
  integer ``k_i`` in 1..N, period ``T = 2N + 2`` perturbations,
  ``A = amplitude sqrt(2/N)``;
- ``code``: ``theta~_i = +-a`` at random (Rademacher), ``a = amplitude /
  sqrt(N (1 - sparsity))``, with a fraction ``sparsity`` of zeros;
- ``walsh``: rows of the Sylvester-Hadamard matrix of order
  ``M = 2^ceil(log2 N)`` (first N columns), times a random sign per parameter,
  rows in shuffled order, ``a = amplitude / sqrt(N)``.

With this normalisation every mode's ``G`` has expectation ``g / N`` for the
true gradient ``g``, so ``G_int`` over ``tau_theta`` steps estimates
``(tau_theta / N) g``; ``time`` and ``walsh`` give ``g`` exactly (to
finite-difference error) after N (``walsh``: M) perturbations.

Smart directions (ALGORITHMS.md section 3): perturbations built from values
that an astrocyte at a synapse ``i -> j`` can see, the presynaptic activity
``a_i`` and a postsynaptic error term ``d_j``. Layer ``l`` computes
``z_l = a_l W_l + b_l`` with ``a_l = h_{l-1}`` (the bias row sees a constant
input 1, so ``a~ = [a, 1]``); ``M`` is the number of non-input units, ``B``
the batch size, ``s`` independent signs per unit and per sample. Each draw is
one forward pass on the batch that returns the per-sample costs ``L_b``;
``C~_b = (L_b(perturbed) - L_b) / B`` is sample ``b``'s share of the change of
the batch cost ``C = mean_b L_b``.

- ``node`` (node perturbation): every pre-activation is shifted,
  ``z_bj <- z_bj + sigma s_bj`` with ``sigma = amplitude / sqrt(M)`` (the
  perturbation of each sample has norm ``amplitude``). Then
  ``e_bj = C~_b s_bj / sigma`` is an unbiased estimate of ``dC/dz_bj`` to first
  order (``C~_b ~ sigma s_b . dC/dz_b`` and ``E[s s^T] = I``; dividing by
  ``sigma^2`` would be wrong by a factor ``1 / sigma``), and the weight update is
  the outer product with the presynaptic activity,
  ``G_W[i, j] = sum_b a_bi e_bj``, ``G_b[j] = sum_b e_bj``. ``layerwise=True`` perturbs one
  layer per draw, layer ``p mod L`` for draw ``p`` (``sigma = amplitude /
  sqrt(n_l)``, the estimate times L so that a cycle of L draws is unbiased);
  ``per_sample=False`` correlates every ``s_b`` with the whole batch's ``C~``
  only (still unbiased, noisier: what hardware that measures only the batch
  cost can do).
- ``activity``: a weight perturbation confined to the rank-one subspace that an
  astrocyte can generate from local activity, ``W~_l = rho u_b s_b^T`` for
  sample ``b`` with ``u_b = a~_b / ||a~_b||`` (bias row included) and
  ``rho = amplitude / sqrt(M)``, mixed with a Bernoulli (code) perturbation
  ``kappa c`` (``c = +-1`` per parameter, shared by the batch,
  ``kappa = amplitude / sqrt(N)``):
  ``theta~_b = sqrt(1 - mix) r_b + sqrt(mix) kappa c`` (``E||theta~_b||^2 =
  amplitude^2``). The forward pass applies this per-sample weight perturbation
  exactly (the rank-one part moves ``z_b`` by ``rho (a~_b,pert . u_b) s_b``).
  Each sample's weight gradient ``a~_b delta_b^T`` lies in the subspace
  ``{u_b x v}`` that the astrocyte knows, so the estimate is projected onto
  it: ``sum_b P_b Sigma_b^-1 theta~_b C~_b`` with ``Sigma_b`` the second
  moment of ``theta~_b`` (per output unit ``(1-mix) rho^2 u_b u_b^T + mix
  kappa^2 I``) and ``P_b`` the projection on ``u_b``; as ``u_b`` is an
  eigenvector of ``Sigma_b`` (eigenvalue ``lam = (1-mix) rho^2 + mix
  kappa^2``) this is ``G_W = sum_b u_b (x) e_b`` with
  ``e_b = C~_b (u_b^T theta~_b) / lam``: an outer product of local activity
  with a postsynaptic term, unbiased to first order for every ``mix`` in
  [0, 1] (``E[P Sigma^-1 theta~ theta~^T] g_b = P g_b = g_b``). Without the
  projection the unbiased estimate ``Sigma_b^-1 theta~_b C~_b`` would spend
  its variance on the orthogonal complement, where the gradient is zero
  (``1 / mix`` times code mode's noise there). At ``mix = 0`` it is node
  perturbation with a per-sample amplitude ``rho ||a~_b||``; at ``mix = 1``,
  Bernoulli weight perturbations read out through the activity subspace.
- ``astrocyte``: node perturbation whose signs are biased by the astrocyte's
  own running estimate ``d_j`` of each unit's error signal:
  ``P(s_bj = sign(d_j)) = (1 + guide) / 2`` (fair where ``d_j = 0``), with
  ``d <- d + (d_window - d) / tau_d`` after every window, ``d_window`` the
  window's mean batch-summed node error ``sum_b e_bj`` per draw: a leaky
  integral, in windows, of the error the unit has been seeing, which the
  astrocyte can keep from the products ``C~ s_j`` at its own synapses. The
  estimate ``e_b = C~_b s_b / sigma`` is left uncorrected, so
  ``E[e_b] = K dC/dz_b`` with ``K = E[s s^T] = (1 - guide^2) I + guide^2 q q^T``,
  ``q = sign(d)``: positive semi-definite for any ``d``, hence
  ``E[G] . g >= 0`` and ``E[G]`` is a descent direction on average whatever the
  trace holds, with extra weight ``guide^2 (q . dC/dz_b) q`` on the error
  pattern that recent inputs shared (guided evolution strategies,
  Maheswaranathan et al., ICML 2019, sample along a surrogate gradient the
  same way). At ``guide = 0`` it is ``node``.

These three are normalised like the multiplexing modes: a step's ``G`` is the
estimate divided by N, so that ``E[G] = g / N`` for ``node`` and ``activity``
and ``eta`` and ``tau_theta`` mean the same in every mode.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import xarray as xr

from . import backend, metrics
from .hardware import Device
from .hardware.model import HARDWARE, _as_model
from .nets import DTYPES, check_memory_estimate
from .optim import OPTIMIZERS, Optimizer
from .progress import DURATION, MAX_DURATION, RunClock, progress
from .training import (
    MODEL,
    MinibatchStream,
    TrajectoryRecorder,
    _check_seed_memory,
    check_data,
    check_divergence,
    eval_steps,
)
from .validation import (
    NO_VALIDATION,
    AnyOf,
    Array,
    Bool,
    Choice,
    InstanceOf,
    Integer,
    InvalidParameterError,
    Optional,
    Real,
    Seed,
    Seeds,
    check_shape,
    validate_params,
)

MULTIPLEXING = ("time", "frequency", "code", "walsh")
DIRECTIONS = ("node", "activity", "astrocyte")  # smart directions, from local values
MODES = MULTIPLEXING + DIRECTIONS

# the declared constraints of the public entry points (validation.validate_params)
POSITIVE = Real(0, closed="neither")
POSITIVE_INT = Integer(1)
SPARSITY = Real(0, 1, closed="left")
COST_NOISE = Optional(AnyOf(Real(0), InstanceOf(Callable, example=lambda: (lambda gen, shape: np.zeros(shape)))))
SMART_CONSTRAINTS = {"layerwise": Bool(), "per_sample": Optional(Bool()), "mix": Optional(Real(0, 1)),
                     "guide": Optional(Real(0, 1, closed="left"))}
TAU_D = Optional(Real(1))


class _PerturbationMode(Choice):
    def describe(self) -> str:
        return (f"one of {self.options} (parameter perturbations; the smart directions {DIRECTIONS} are drawn "
                "inside train and estimate_gradient)")


# -- perturbation generators ----------------------------------------------------------
def random_signs(gen, shape, dtype, value: float = 1.0):
    """An array of ``+-value`` (``value > 0``) with independent fair signs.

    NumPy path: one random bit per entry, drawn as packed bytes and written
    straight into the IEEE sign bit of ``value`` (two passes over the output,
    no per-entry random numbers or table look-ups).
    """
    xp = backend.xp()
    dtype = np.dtype(dtype)
    if xp is np and dtype in (np.float32, np.float64):
        n = shape[-1]
        packed = gen.integers(0, 256, size=(*shape[:-1], (n + 7) // 8), dtype=np.uint8)
        bits = np.unpackbits(packed, axis=-1, count=n)
        word = np.uint32 if dtype == np.float32 else np.uint64
        out = np.left_shift(bits, 8 * dtype.itemsize - 1, dtype=word)
        out |= np.asarray(value, dtype=dtype).view(word)
        return out.view(dtype)
    table = xp.asarray([value, -value], dtype=dtype)
    return table[(gen.random(shape) < 0.5).astype(xp.int8)]


class Perturbations:
    """Base class: ``draw(count)`` gives each seed's next ``count`` perturbations
    as an array (S, count, N) with nominal norm ``amplitude``."""

    def __init__(self, n_params: int, amplitude: float, generators, dtype):
        self.n, self.amplitude, self.gens, self.dtype = n_params, amplitude, generators, dtype

    def draw(self, count: int):
        xp = backend.xp()
        if len(self.gens) == 1:
            return self._draw_one(0, self.gens[0], count)[None]
        return xp.stack([self._draw_one(s, gen, count) for s, gen in enumerate(self.gens)])

    def prepare(self, theta):
        """Called once per window with the window's parameters (S, N)."""

    def draw_params(self, count: int, theta):
        """``theta + theta~`` for the next ``count`` perturbations: (S, count, N)."""
        return theta[:, None, :] + self.draw(count)

    def _draw_one(self, s, gen, count):  # pragma: no cover - abstract
        raise NotImplementedError


class CodePerturbations(Perturbations):
    """Rademacher codes ``+-a`` with an optional fraction ``sparsity`` of zeros."""

    def __init__(self, n_params, amplitude, generators, dtype, sparsity: float = 0.0):
        super().__init__(n_params, amplitude, generators, dtype)
        self.sparsity = sparsity
        self.value = amplitude / math.sqrt(n_params * (1.0 - sparsity))
        self._buffer = self._plus = self._select = None

    def _fused(self) -> bool:
        return (not self.sparsity and backend.xp() is np
                and np.dtype(self.dtype) in (np.float32, np.float64))

    def prepare(self, theta):
        """Bit patterns of ``theta + a`` and ``(theta + a) ^ (theta - a)`` for the window."""
        if not self._fused():
            return
        dtype = np.dtype(self.dtype)
        word = np.uint32 if dtype == np.float32 else np.uint64
        value = np.asarray(self.value, dtype=dtype)
        if self._plus is None:
            self._plus, self._select = (np.empty((len(self.gens), self.n), dtype=word) for _ in range(2))
        np.add(theta, value, out=self._plus.view(dtype))
        np.subtract(theta, value, out=self._select.view(dtype))
        self._select ^= self._plus

    def draw_params(self, count: int, theta):
        """``theta +- a`` drawn straight into the parameter array (NumPy, no sparsity).

        One random bit per entry selects between the bit patterns of
        ``theta + a`` and ``theta - a`` (``(bit * (u+ ^ u-)) ^ u+``, set up by
        :meth:`prepare` for the window's ``theta``): the same numbers as
        ``theta + random_signs(...)``, without materialising the codes and
        adding them in a second pass. The result lives in a buffer reused by
        the next call (large temporaries cost page faults).
        """
        if not self._fused():
            return super().draw_params(count, theta)
        if self._plus is None:
            self.prepare(theta)
        dtype = np.dtype(self.dtype)
        word = self._plus.dtype
        if self._buffer is None or self._buffer.shape[1] < count:
            self._buffer = np.empty((len(self.gens), count, self.n), dtype=word)
        out = self._buffer[:, :count]
        for s, gen in enumerate(self.gens):
            packed = gen.integers(0, 256, size=(count, (self.n + 7) // 8), dtype=np.uint8)
            np.multiply(np.unpackbits(packed, axis=-1, count=self.n), self._select[s], out=out[s], dtype=word)
            out[s] ^= self._plus[s]
        return out.view(dtype)

    def _draw_one(self, s, gen, count):
        codes = random_signs(gen, (count, self.n), self.dtype, self.value)
        if self.sparsity:
            codes *= gen.random((count, self.n)) >= self.sparsity
        return codes


class TimePerturbations(Perturbations):
    """One parameter at a time, ``amplitude e_i``, in a reshuffled order each pass."""

    def __init__(self, n_params, amplitude, generators, dtype):
        super().__init__(n_params, amplitude, generators, dtype)
        self._order = [np.empty(0, dtype=np.int64) for _ in generators]

    def _draw_one(self, s, gen, count):
        xp = backend.xp()
        while self._order[s].size < count:
            self._order[s] = np.concatenate([self._order[s], backend.to_host(gen.permutation(self.n))])
        index, self._order[s] = self._order[s][:count], self._order[s][count:]
        out = xp.zeros((count, self.n), dtype=self.dtype)
        out[xp.arange(count), xp.asarray(index)] = self.amplitude
        return out


class WalshPerturbations(Perturbations):
    """Rows of the Sylvester-Hadamard matrix ``H_rj = (-1)^popcount(r & j)``,
    first N columns, times a fixed random sign per parameter, rows reshuffled
    every pass through all ``M = 2^ceil(log2 N)`` rows."""

    def __init__(self, n_params, amplitude, generators, dtype):
        super().__init__(n_params, amplitude, generators, dtype)
        self.order = 1 << max(0, math.ceil(math.log2(n_params)))
        self._columns = np.arange(n_params, dtype=np.int64)
        self._col_signs = [backend.to_host(random_signs(g, (1, n_params), dtype))[0] for g in generators]
        self._rows = [np.empty(0, dtype=np.int64) for _ in generators]
        self.value = amplitude / math.sqrt(n_params)

    def _draw_one(self, s, gen, count):
        while self._rows[s].size < count:
            self._rows[s] = np.concatenate([self._rows[s], backend.to_host(gen.permutation(self.order))])
        rows, self._rows[s] = self._rows[s][:count], self._rows[s][count:]
        parity = np.bitwise_count(rows[:, None] & self._columns[None, :]) & 1
        codes = np.where(parity, -self.value, self.value).astype(self.dtype) * self._col_signs[s]
        return backend.asarray(codes)


class FrequencyPerturbations(Perturbations):
    """Sinusoids ``A sin(2 pi k_i p / T + phi_i)``: distinct integers ``k_i``
    (a random assignment of 1..N), random phases, period ``T = 2N + 2``."""

    def __init__(self, n_params, amplitude, generators, dtype):
        super().__init__(n_params, amplitude, generators, dtype)
        self.period = 2 * n_params + 2
        self.peak = amplitude * math.sqrt(2.0 / n_params)
        self._k = [backend.to_host(g.permutation(n_params)) + 1 for g in generators]
        self._phase = [backend.to_host(g.uniform(0.0, 2 * np.pi, size=n_params)) for g in generators]
        self._next = [0 for _ in generators]

    def _draw_one(self, s, gen, count):
        p = np.arange(self._next[s], self._next[s] + count)
        self._next[s] += count
        angle = (2 * np.pi / self.period) * np.outer(p % self.period, self._k[s]) + self._phase[s]
        return backend.asarray((self.peak * np.sin(angle)).astype(self.dtype))


@validate_params({"mode": _PerturbationMode(MULTIPLEXING), "n_params": POSITIVE_INT, "amplitude": POSITIVE,
                  "generators": NO_VALIDATION, "dtype": Choice(DTYPES), "sparsity": SPARSITY})
def make_perturbations(mode: str, n_params: int, amplitude: float, generators, dtype,
                       sparsity: float = 0.0) -> Perturbations:
    """The perturbation generator for ``mode`` (one of :data:`MULTIPLEXING`, the
    parameter perturbations; the smart :data:`DIRECTIONS` depend on the
    network's activity and are drawn inside the trainer and estimator).
    ``generators``: a non-empty list of random Generators, one per seed."""
    if isinstance(generators, (str, bytes)) or not hasattr(generators, "__len__") or not len(generators) \
            or not all(hasattr(g, "permutation") for g in generators):
        raise InvalidParameterError(f"generators must be a non-empty list of random Generators, got {generators!r}")
    if sparsity and mode != "code":
        raise InvalidParameterError(f"sparsity applies to mode 'code' only, got mode={mode!r}")
    check_memory_estimate("n_params", n_params, 6 * len(generators) * n_params * 8,
                          f"per-seed perturbation state for {len(generators)} seed(s)")
    return _make_perturbations(mode, n_params, amplitude, generators, dtype, sparsity)


def _make_perturbations(mode, n_params, amplitude, generators, dtype, sparsity=0.0):
    if mode == "code":
        return CodePerturbations(n_params, amplitude, generators, dtype, sparsity)
    return {"time": TimePerturbations, "walsh": WalshPerturbations,
            "frequency": FrequencyPerturbations}[mode](n_params, amplitude, generators, dtype)


def _check_sparsity(mode, sparsity):
    """The cross-field rule the declarations cannot say: sparsity is code mode's."""
    if sparsity and mode != "code":
        raise InvalidParameterError(f"sparsity applies to mode 'code' only, got mode={mode!r}")


def _noise_fn(cost_noise) -> Callable | None:
    """``cost_noise`` (validated by :data:`COST_NOISE`): None, a standard deviation >= 0, or a
    callable (gen, shape) -> noise."""
    if cost_noise is None or (not callable(cost_noise) and cost_noise == 0):
        return None
    if callable(cost_noise):
        return cost_noise
    sigma = float(cost_noise)
    return lambda gen, shape: sigma * gen.standard_normal(shape)


class _WindowKernel:
    """Evaluates MGD windows: all steps between two parameter updates.

    Within a window theta is fixed, so every step's cost ``C(theta +
    theta~_p, x_i)`` is known in advance: the window's distinct (perturbation,
    input) pairs are evaluated in batched forward passes, a chunk of
    perturbations at a time (a chunk of all seeds' perturbed parameter
    vectors fills at most CHUNK_BYTES, to stay in cache). Each step's ``C~``
    (``- C0`` or the causal high-pass, applied in step order) weights its
    perturbation, and ``G_int = sum_t C~_t theta~_t / ||theta~||^2`` is
    accumulated chunk by chunk.
    """

    CHUNK_BYTES = 1 << 22

    def __init__(self, model, perts: Perturbations, generators, noise=None, highpass=None, device=None):
        self.model, self.perts, self.gens = model, perts, generators
        self.noise, self.highpass, self.device = noise, highpass, device
        itemsize = np.dtype(model.dtype).itemsize
        self.chunk = max(1, self.CHUNK_BYTES // (len(generators) * model.n_params * itemsize))
        self.evaluations = 0  # forward passes on a batch, per seed
        self._p_next, self._cached = 0, None

    def _parameters(self, first: int, last: int, theta):
        """Perturbed parameters ``theta + theta~_p`` for p = ``first..last``:
        (S, last-first+1, N); ``first`` may repeat the last perturbation drawn
        (a perturbation held over a parameter update, tau_p > 1)."""
        xp = backend.xp()
        if first == self._p_next - 1:
            held = theta[:, None, :] + self._cached
            block = held if last == first else xp.concatenate(
                [held, self.perts.draw_params(last - first, theta)], axis=1)
        elif first == self._p_next:
            block = self.perts.draw_params(last - first + 1, theta)
        else:
            raise ValueError("perturbations must be requested in increasing order")
        if self.device is not None and self.device.hw.dac_bits is not None:
            block = theta[:, None, :] + self.device.quantize_perturbations(block - theta[:, None, :])
        self._p_next, self._cached = last + 1, block[:, -1:] - theta[:, None, :]
        return block

    def _measure(self, costs):
        """Costs (S, T) as measured: each seed's noise, then the device's cost read-out."""
        if self.noise is not None:
            costs = costs + np.stack([backend.to_host(self.noise(g, (costs.shape[1],))) for g in self.gens])
        return costs if self.device is None else self.device.measure(costs)

    def window(self, theta, p_of_t, x_of_t, xb, yb):
        """``G_int`` (S, N) of one window.

        ``p_of_t``, ``x_of_t``: perturbation and input index of each step
        (non-decreasing); ``xb``, ``yb``: the window's inputs (S, nX, B, d),
        input ``i`` being index ``x_of_t[0] + i``.
        """
        xp = backend.xp()
        model = self.model
        x_of_t = x_of_t - x_of_t[0]
        n_x = xb.shape[1]
        c0 = None
        if self.highpass is None:
            c0 = self._measure(backend.to_host(model._loss(theta[:, None, :], xb, yb)))
            self.evaluations += n_x
        self.perts.prepare(theta)
        G, part = xp.zeros_like(theta), xp.empty_like(theta)
        weight_sum = xp.zeros(theta.shape[0], dtype=theta.dtype)
        for first in range(int(p_of_t[0]), int(p_of_t[-1]) + 1, self.chunk):
            last = min(int(p_of_t[-1]), first + self.chunk - 1)
            block = self._parameters(first, last, theta)
            lo, hi = np.searchsorted(p_of_t, [first, last + 1])
            t_p, t_x = p_of_t[lo:hi] - first, x_of_t[lo:hi]
            pairs, pair_of_t = np.unique(t_p * n_x + t_x, return_inverse=True)
            pair_p, pair_x = pairs // n_x, pairs % n_x
            same = len(pairs) == block.shape[1] and np.array_equal(pair_p, np.arange(len(pairs)))
            params = block if same else block[:, xp.asarray(pair_p)]
            xs = xb if n_x == 1 else xb[:, xp.asarray(pair_x)]
            ys = yb if n_x == 1 else yb[:, xp.asarray(pair_x)]
            costs = self._measure(backend.to_host(model._loss(params, xs, ys))[:, pair_of_t])
            self.evaluations += len(pairs)
            c_tilde = self.highpass(costs) if c0 is None else costs - c0[:, t_x]
            weights = np.zeros((theta.shape[0], block.shape[1]))
            np.add.at(weights, (slice(None), t_p), c_tilde)
            # sum_p w_p theta~_p = sum_p w_p (theta + theta~_p) - (sum_p w_p) theta: the
            # perturbations as applied, without a second array of codes
            w = xp.asarray(weights, dtype=theta.dtype)
            G += xp.einsum("sp,spn->sn", w, block, out=part)
            weight_sum += w.sum(axis=1)
        G -= weight_sum[:, None] * theta
        G /= self.perts.amplitude ** 2
        return G


# -- smart directions: perturbations built from values local to a synapse --------------
SMART_DEFAULTS = {"layerwise": False, "per_sample": True, "mix": 0.0, "guide": 0.5, "tau_d": 10.0}
_SMART_OWNER = {"per_sample": ("node",), "mix": ("activity",), "guide": ("astrocyte",),
                "tau_d": ("astrocyte",)}


def _smart_options(mode, layerwise=False, per_sample=None, mix=None, guide=None, tau_d=None) -> dict | None:
    """The options of a smart direction (each value already checked by its declared
    constraint, :data:`SMART_CONSTRAINTS`); None for the multiplexing modes.

    Each option belongs to the directions named in ``_SMART_OWNER`` (``layerwise``
    to all three); giving it with another mode is an error.
    """
    if layerwise and mode not in DIRECTIONS:
        raise InvalidParameterError(f"layerwise applies to modes {DIRECTIONS} only, got mode={mode!r}")
    given = {"per_sample": per_sample, "mix": mix, "guide": guide, "tau_d": tau_d}
    for name, value in given.items():
        if value is not None and mode not in _SMART_OWNER[name]:
            raise InvalidParameterError(f"{name} applies to mode {_SMART_OWNER[name][0]!r} only, got mode={mode!r}")
    if mode not in DIRECTIONS:
        return None
    options = {**SMART_DEFAULTS, "layerwise": layerwise, **{k: v for k, v in given.items() if v is not None}}
    options["mix"], options["guide"], options["tau_d"] = (float(options[k]) for k in ("mix", "guide", "tau_d"))
    return options


def _outer_sum(a, b):
    """``sum over all middle axes of a_i b_j``: (S, ..., I) and (S, ..., J) -> (S, I, J)."""
    S = a.shape[0]
    return a.reshape(S, -1, a.shape[-1]).swapaxes(1, 2) @ b.reshape(S, -1, b.shape[-1])


class _SmartKernel:
    """Evaluates MGD windows for the smart directions (``node``, ``activity``,
    ``astrocyte``; see the module docstring for their definitions).

    Same contract as :class:`_WindowKernel`: ``window(theta, p_of_t, x_of_t,
    xb, yb)`` returns the window's ``G_int`` (S, N), normalised so that every
    step contributes ``g / N`` on average (``g`` the backprop gradient of the
    step's batch cost) for ``node`` and ``activity``, like the multiplexing
    modes; ``evaluations`` counts forward passes on a batch (one clean pass
    per input, one per distinct (perturbation, input) pair). A perturbation
    draw holds one random sign per sample and unit (S, count, B, M), M the
    number of non-input units; ``activity`` with ``mix > 0`` adds one
    Rademacher code per draw (S, count, N), shared by the batch. All pairs of
    a window go through batched forward passes, CHUNK_BYTES at a time.

    ``trace`` (S, M) is the astrocyte's running error estimate ``d`` per unit
    (updated after every window in ``astrocyte`` mode, else unused).
    """

    def __init__(self, model, mode, amplitude, generators, noise=None, *, layerwise, per_sample, mix, guide,
                 tau_d, device=None):
        xp = backend.xp()
        self.model, self.mode, self.gens, self.noise = model, mode, generators, noise
        self.device = device
        self.layerwise, self.per_sample, self.mix, self.guide, self.tau_d = layerwise, per_sample, mix, guide, tau_d
        self.slices = model.layer_slices()
        self.widths = [n_out for *_, n_out in self.slices]
        self.offsets = np.cumsum([0, *self.widths])
        self.n_units = int(self.offsets[-1])
        self.n_layers = len(self.slices)
        A, N, M = float(amplitude), model.n_params, self.n_units
        # per-layer constants of a draw that perturbs that layer: sigma (node, per-unit
        # amplitude), rho and kappa (activity: rank-one and code entry scales)
        blocks = [(n_in + 1) * n_out for _, _, n_in, n_out in self.slices]
        self.sigma = [A / math.sqrt(n if layerwise else M) for n in self.widths]
        self.rho = list(self.sigma)
        self.kappa = [A / math.sqrt(nb if layerwise else N) for nb in blocks]
        # activity: u_b is an eigenvector of the second moment of theta~_b with eigenvalue lam
        self.lam = [(1 - mix) * r * r + mix * k * k for r, k in zip(self.rho, self.kappa)]
        self.trace = xp.zeros((len(generators), M), dtype=model.dtype)
        self.evaluations = 0
        self._p_next, self._cached, self._batch = 0, None, None

    # -- random draws -------------------------------------------------------------
    def _draw(self, count: int):
        xp = backend.xp()
        dtype, B, M = self.model.dtype, self._batch, self.n_units
        signs, codes = [], []
        for s, gen in enumerate(self.gens):
            if self.mode == "astrocyte":
                p_plus = 0.5 * (1.0 + self.guide * xp.sign(self.trace[s]))
                signs.append(xp.where(gen.random((count, B, M)) < p_plus, 1.0, -1.0).astype(dtype))
            else:
                signs.append(random_signs(gen, (count, B, M), dtype))
            if self.mode == "activity" and self.mix > 0:
                codes.append(random_signs(gen, (count, self.model.n_params), dtype))
        return xp.stack(signs), (xp.stack(codes) if codes else None)

    def _perturbations(self, first: int, last: int):
        """Draws ``first..last``; ``first`` may repeat the last drawn (held over tau_p steps)."""
        xp = backend.xp()
        if first == self._p_next - 1:
            if last > first:
                fresh = self._draw(last - first)
                block = tuple(None if c is None else xp.concatenate([c, f], axis=1)
                              for c, f in zip(self._cached, fresh))
            else:
                block = self._cached
        elif first == self._p_next:
            block = self._draw(last - first + 1)
        else:
            raise ValueError("perturbations must be requested in increasing order")
        self._p_next = last + 1
        self._cached = tuple(None if b is None else b[:, -1:] for b in block)
        return block

    def _measure(self, losses):
        """Per-sample losses (S, P, B) as measured: each seed's noise, then the device's read-out."""
        xp = backend.xp()
        if self.noise is not None:
            losses = losses + xp.stack([xp.asarray(self.noise(g, losses.shape[1:]), dtype=losses.dtype)
                                        for g in self.gens])
        return losses if self.device is None else self.device.measure(losses)

    # -- one window ---------------------------------------------------------------
    def window(self, theta, p_of_t, x_of_t, xb, yb):
        xp = backend.xp()
        model, L = self.model, self.n_layers
        S, N = theta.shape
        x_of_t = x_of_t - x_of_t[0]
        n_x, B = xb.shape[1], xb.shape[2]
        if self._batch is None:
            self._batch = B
        elif B != self._batch:
            raise ValueError(f"batch size changed from {self._batch} to {B} within one run")
        hidden = model._forward(theta[:, None, :], xb, return_hidden=True)  # (S, nX, B, n) per layer
        loss0 = self._measure(model._per_sample_loss(hidden[-1], yb))
        self.evaluations += n_x
        # presynaptic activity a (with the bias's constant input 1), clean: what the astrocyte sees
        ones = xp.ones((S, n_x, B, 1), dtype=theta.dtype)
        pre = [xp.concatenate([h, ones], axis=-1) for h in hidden[:-1]]
        activity = self.mode == "activity"
        if activity:
            pre = [a / xp.sqrt(xp.sum(a * a, axis=-1, keepdims=True)) for a in pre]
        codes_on = activity and self.mix > 0
        E = [xp.zeros((S, n_x, B, n), dtype=theta.dtype) for n in self.widths]
        steps_on = np.zeros(L)
        per_pair = S * np.dtype(model.dtype).itemsize * (2 * B * sum(model.sizes) + (N if codes_on else 0))
        chunk = max(1, _WindowKernel.CHUNK_BYTES // per_pair)
        for first in range(int(p_of_t[0]), int(p_of_t[-1]) + 1, chunk):
            last = min(int(p_of_t[-1]), first + chunk - 1)
            signs, codes = self._perturbations(first, last)
            lo, hi = np.searchsorted(p_of_t, [first, last + 1])
            t_p, t_x = p_of_t[lo:hi] - first, x_of_t[lo:hi]
            pairs, pair_of_t = np.unique(t_p * n_x + t_x, return_inverse=True)
            pair_p, pair_x = pairs // n_x, pairs % n_x
            mult = np.bincount(pair_of_t, minlength=len(pairs)).astype(float)
            ip, ix = xp.asarray(pair_p), xp.asarray(pair_x)
            s_pairs = signs[:, ip]
            if self.layerwise:
                on = [((first + pair_p) % L == index).astype(float) for index in range(L)]
            else:
                on = [np.ones(len(pairs)) for _ in range(L)]
            for index in range(L):
                steps_on[index] += float(mult @ on[index])
            spread = L if self.layerwise else 1
            xs, ys = xb[:, ix], yb[:, ix]
            params = theta[:, None, :]
            if codes_on:
                scale = np.zeros((len(pairs), N))
                for index, (w, b, _, _) in enumerate(self.slices):
                    scale[:, w.start:b.stop] = (math.sqrt(self.mix) * self.kappa[index] * on[index])[:, None]
                code_pert = codes[:, ip] * xp.asarray(scale, dtype=theta.dtype)
                params = params + code_pert
            u_pairs = [a[:, ix] for a in pre] if activity else None

            def hook(index, h, z, s_pairs=s_pairs, on=on, u_pairs=u_pairs):
                s_l = s_pairs[..., self.offsets[index]:self.offsets[index + 1]]
                if activity:
                    if self.mix == 1.0:
                        return z
                    u = u_pairs[index]
                    reach = xp.sum(h * u[..., :-1], axis=-1) + u[..., -1]  # a_pert . u: rank-one weight step
                    amp = xp.asarray(math.sqrt(1 - self.mix) * self.rho[index] * on[index], dtype=z.dtype)
                    return z + (amp[None, :, None] * reach)[..., None] * s_l
                amp = xp.asarray(self.sigma[index] * on[index], dtype=z.dtype)
                return z + amp[None, :, None, None] * s_l

            out = model._forward(params, xs, hook=hook)
            loss = self._measure(model._per_sample_loss(out, ys))
            self.evaluations += len(pairs)
            c = (loss - loss0[:, ix]) / B  # each sample's share of the batch-cost change
            if not self.per_sample:
                c = xp.broadcast_to(xp.sum(c, axis=-1, keepdims=True), c.shape)
            c = c * xp.asarray(mult, dtype=c.dtype)[None, :, None]
            onehot = xp.asarray(np.eye(n_x)[pair_x], dtype=theta.dtype) if n_x > 1 else None
            for index in range(L):
                s_l = s_pairs[..., self.offsets[index]:self.offsets[index + 1]]
                if activity:  # v_b = u_b^T theta~_b per output unit; e_b = C~_b v_b / lam
                    v = s_l * (math.sqrt(1 - self.mix) * self.rho[index])
                    if codes_on:
                        w, b, n_in, n_out = self.slices[index]
                        block = code_pert[..., w.start:b.stop].reshape(S, len(pairs), n_in + 1, n_out)
                        v = v + u_pairs[index] @ block
                    gain = 1.0 / self.lam[index]
                else:  # node errors e = C~ s / sigma
                    v, gain = s_l, 1.0 / self.sigma[index]
                coef = xp.asarray(spread * gain * on[index], dtype=c.dtype)
                e = (c * coef[None, :, None])[..., None] * v
                if n_x == 1:
                    E[index] += xp.sum(e, axis=1, keepdims=True)
                else:
                    E[index] += xp.moveaxis(xp.tensordot(e, onehot, axes=([1], [0])), -1, 1)
        G = xp.zeros_like(theta)
        for index, (w, b, _, _) in enumerate(self.slices):
            block = _outer_sum(pre[index], E[index])
            G[:, w] = block[:, :-1].reshape(S, -1)
            G[:, b] = block[:, -1]
        G /= N
        if self.mode == "astrocyte":
            for index in range(L):
                if steps_on[index]:
                    lo_u, hi_u = self.offsets[index], self.offsets[index + 1]
                    mean_error = xp.sum(E[index], axis=(1, 2)) / steps_on[index]
                    self.trace[:, lo_u:hi_u] += (mean_error - self.trace[:, lo_u:hi_u]) / self.tau_d
        return G


def _check_window_memory(model, n_seeds: int, steps: int, tau_p: int, tau_x: int, batch: int, smart: bool,
                         name: str, value, what: str, batch_name: str = "batch_size") -> None:
    """Refuse a window (all steps between two updates) whose arrays cannot fit, before allocating.

    A window of ``steps`` steps holds its step indices, its ``steps / tau_x``
    minibatches of ``batch`` samples per seed, and one chunk of (perturbation,
    input) pairs at a time: a parameter vector and the activations of the
    batch per pair (chunks as :class:`_WindowKernel` and :class:`_SmartKernel`
    size them). The smallest possible window (one pair, one minibatch) is
    checked first, naming ``batch_name``; then the whole one, naming ``name``.
    """
    itemsize = np.dtype(model.dtype).itemsize
    N, S, width = model.n_params, n_seeds, sum(model.sizes)
    per_pair = S * itemsize * (N + 3 * batch * width)
    if smart:
        chunk = max(1, _WindowKernel.CHUNK_BYTES // (S * itemsize * (2 * batch * width + N)))
    else:
        chunk = max(1, _WindowKernel.CHUNK_BYTES // (S * N * itemsize))
    per_input = S * batch * ((model.n_inputs + model.n_outputs) * itemsize + 8 + (4 * width * itemsize if smart else 0))
    check_memory_estimate(batch_name, batch, per_pair + 2 * per_input,
                          f"one minibatch of {batch} samples and one perturbed pass over it, for {S} seed(s)")
    n_inputs = steps // tau_x + 2
    pairs = min(steps, chunk * (-(-tau_p // tau_x) + 1))
    check_memory_estimate(name, value, 6 * 8 * steps + n_inputs * per_input + pairs * per_pair, what)


@validate_params({"model": MODEL, "theta": Array(1), "X": Array(2), "Y": Array(2), "mode": Choice(MODES),
                  "n_perturbations": Optional(POSITIVE_INT), "amplitude": POSITIVE, "seed": Seed(),
                  "sparsity": SPARSITY, "cost_noise": COST_NOISE, **SMART_CONSTRAINTS,
                  "error_trace": Optional(Array(1)), "hardware": HARDWARE})
def estimate_gradient(model, theta, X, Y, *, mode: str = "code", n_perturbations: int | None = None,
                      amplitude: float = 1e-3, seed: int = 0, sparsity: float = 0.0, cost_noise=None,
                      layerwise: bool = False, per_sample: bool | None = None, mix: float | None = None,
                      guide: float | None = None, error_trace=None, hardware=None):
    """One MGD gradient estimate from ``K = n_perturbations`` perturbations.

    All K perturbed costs are evaluated on the same batch (X, Y) in batched
    forward passes, with one unperturbed cost ``C0``:

    ``g^ = (N / K) sum_k (C(theta + theta~_k) - C0) theta~_k / ||theta~||^2``

    the accumulated ``G_int`` scaled to estimate the gradient itself: unbiased
    for ``code``; exact (to finite-difference error) for ``time`` at K = N and
    ``walsh`` at K = 2^ceil(log2 N); for ``frequency`` take K a multiple of the
    period 2N + 2. ``C0`` subtraction stands for an ideal high-pass here.
    ``K`` defaults to N. Returns an array (N,).

    The smart directions (``node``, ``activity``, ``astrocyte``; module
    docstring) take K draws on the same batch the same way, each one forward
    pass, and are scaled alike: ``node`` and ``activity`` are unbiased to first
    order in the amplitude (``layerwise``: for K a multiple of the number of
    layers), ``astrocyte`` estimates a positive semi-definite preconditioning
    of the gradient. Options: ``layerwise`` (all three), ``per_sample``
    (node), ``mix`` (activity), ``guide`` (astrocyte) and ``error_trace``
    (astrocyte: the running error estimate ``d`` per non-input unit, shape
    (M,), that biases the signs; default zeros, i.e. fair signs).

    ``hardware`` (a :class:`astrocore.hardware.HardwareModel` or preset name)
    writes ``theta`` to a simulated chip (seeded by ``seed``) and measures
    every cost on it; the estimate is then of the ideal model's gradient as
    the device lets MGD see it.

    Every parameter is checked first (its declared constraint); ``theta``
    (N,), ``X`` (B, n_inputs) and ``Y`` (B, n_outputs) must be finite and
    non-empty (integer input becomes the model's float dtype), and a ``K``
    whose arrays cannot fit in memory is refused before anything is allocated.
    """
    theta, X, Y = model._inputs(theta, X, Y)
    _check_sparsity(mode, sparsity)
    smart = _smart_options(mode, layerwise, per_sample, mix, guide)
    if error_trace is not None and mode != "astrocyte":
        raise InvalidParameterError(f"error_trace applies to mode 'astrocyte' only, got mode={mode!r}")
    K = model.n_params if n_perturbations is None else n_perturbations
    _check_window_memory(model, 1, K, 1, K, X.shape[0], smart is not None, "n_perturbations", K,
                         f"{K} perturbations on a batch of {X.shape[0]} samples", batch_name="X")
    gens = [backend._rng(seed)]
    device = None if _as_model(hardware) is None else Device(hardware, model, [seed])
    if device is not None:
        theta = device.program(theta)
        model = device.bind()
    if smart is None:
        perts = _make_perturbations(mode, model.n_params, amplitude, gens, model.dtype, sparsity)
        kernel = _WindowKernel(model, perts, gens, _noise_fn(cost_noise), device=device)
    else:
        kernel = _SmartKernel(model, mode, amplitude, gens, _noise_fn(cost_noise), **smart, device=device)
        if error_trace is not None:
            check_shape("error_trace", error_trace, (kernel.n_units,), "(one value per non-input unit)")
            kernel.trace = error_trace.astype(model.dtype)[None].copy()
    G = kernel.window(theta[None], np.arange(K), np.zeros(K, dtype=np.int64), X[None, None], Y[None, None])
    return G[0] * (model.n_params / K)


# -- training -----------------------------------------------------------------------
class _Highpass:
    """First-order high-pass per seed: y[t] = a (y[t-1] + x[t] - x[t-1]), a = tau/(tau+1)."""

    def __init__(self, tau: float, n_seeds: int):
        self.a = tau / (tau + 1.0)
        self.y = np.zeros(n_seeds)
        self.x_prev = None

    def __call__(self, x):
        """Filter x (S, T) along time; returns (S, T)."""
        if self.x_prev is None:
            self.x_prev = x[:, 0].copy()
        out = np.empty_like(x)
        y, prev, a = self.y, self.x_prev, self.a
        for t in range(x.shape[1]):  # scalar recurrence per seed: T steps of O(S)
            y = a * (y + x[:, t] - prev)
            prev = x[:, t]
            out[:, t] = y
        self.y, self.x_prev = y, prev.copy()
        return out


@validate_params({"model": MODEL, "data": NO_VALIDATION, "mode": Choice(MODES), "eta": POSITIVE, "amplitude": POSITIVE,
                  "tau_p": POSITIVE_INT, "tau_x": POSITIVE_INT, "tau_theta": POSITIVE_INT, "steps": POSITIVE_INT,
                  "seed": Seeds(), "batch_size": Optional(POSITIVE_INT), "optimizer": Choice(OPTIMIZERS),
                  "analog": Bool(), "highpass": Optional(Bool()), "tau_hp": Optional(POSITIVE),
                  "sparsity": SPARSITY, "cost_noise": COST_NOISE, "eval_every": Optional(POSITIVE_INT),
                  "grad_cosine": Bool(), **SMART_CONSTRAINTS, "tau_d": TAU_D, "hardware": HARDWARE,
                  "max_duration": DURATION})
def train(model, data, *, mode: str = "code", eta: float = 0.1, amplitude: float = 1e-2,
          tau_p: int = 1, tau_x: int = 1, tau_theta: int = 1, steps: int = 1000, seed=0,
          batch_size: int | None = 1, optimizer: str = "sgd", analog: bool = False,
          highpass: bool | None = None, tau_hp: float | None = None, sparsity: float = 0.0,
          cost_noise=None, eval_every: int | None = None, grad_cosine: bool = False,
          layerwise: bool = False, per_sample: bool | None = None, mix: float | None = None,
          guide: float | None = None, tau_d: float | None = None, hardware=None,
          max_duration: float | None = MAX_DURATION) -> xr.Dataset:
    """Train ``model`` on ``data`` with MGD; return trajectories by step.

    Parameters follow ALGORITHMS.md section 2 (see the module docstring):
    ``mode`` (time, frequency, code, walsh); ``eta`` learning rate of the
    ``optimizer`` (sgd: ``theta <- theta - eta G_int``; momentum; adam);
    ``amplitude`` = ``||theta~||``; ``tau_p``, ``tau_x``, ``tau_theta`` in
    steps; ``batch_size`` samples per input (None: the whole training set);
    ``analog`` for the high-pass/low-pass form; ``highpass`` (default: on in
    analog mode only; in discrete mode ``C0`` is re-measured instead, which is
    the ideal high-pass: a first-order filter's transient after every
    discrete update swamps the correlation, most of all in frequency mode)
    and ``tau_hp`` (default: the frequency period ``2N+2``, else
    ``tau_theta``); ``sparsity`` of code-mode perturbations;
    ``cost_noise`` a standard deviation or ``callable(gen, shape)`` added to
    every cost measurement (hardware hook).

    ``seed`` may be a list: the seeds run in lockstep (one batched forward
    pass for all), each with its own random stream. Checkpoints every
    ``eval_every`` steps record the full training cost, train and test
    accuracy, cumulative cost evaluations (forward passes on a batch, per
    seed) and, with ``grad_cosine``, the cosine between ``G_int`` and the
    backprop gradient over the same inputs.

    The smart directions (``mode`` node, activity or astrocyte; module
    docstring) run through the same windows and optimiser, discrete mode or
    analog mode with ``highpass=False`` (they measure ``C0`` per sample), with
    their options ``layerwise`` (all three), ``per_sample`` (node), ``mix``
    (activity), ``guide`` and ``tau_d`` (astrocyte); ``cost_noise`` is then
    added to every per-sample cost measurement.

    ``hardware`` (a :class:`astrocore.hardware.HardwareModel` or preset name;
    None or ``"ideal"`` change nothing) trains in the loop on simulated chips,
    one per seed: the parameters are written to the device (clipped,
    quantized, with programming errors), every forward pass reads them through
    it (drift, stuck cells, read noise, converters, neuron variation), every
    cost is measured through it (noise, ADC), and every update is applied
    through it (update noise and granularity, then written again); the
    checkpoints evaluate the network on the device as well.

    Every parameter is checked before anything runs (its declared
    constraint: bools are bools, numbers finite and in range), the data once
    (:func:`astrocore.training.check_data`: finite, non-empty, fitting the
    layers), and the memory a window and the checkpoints need is estimated
    first (an error naming the parameter and the estimate if it cannot fit).
    A run estimated, after its first quarter second, to take longer than
    ``max_duration`` seconds (default a week; None: no limit) is refused with
    an error naming ``steps``; the estimate is logged once, and a progress bar
    with its ETA runs on a terminal (``ASTROCORE_PROGRESS=0`` or ``CI`` turn it off).

    Raises FloatingPointError naming the step and settings if the cost
    becomes NaN or infinite.
    """
    seeds = list(seed)
    check_data(model, data)
    _check_sparsity(mode, sparsity)
    smart = _smart_options(mode, layerwise, per_sample, mix, guide, tau_d)
    noise = _noise_fn(cost_noise)
    highpass = analog if highpass is None else highpass
    if smart is not None and highpass:
        raise InvalidParameterError(f"highpass applies to modes {MULTIPLEXING} only; mode {mode!r} measures C0 "
                                    f"per sample: pass highpass=False (analog={analog!r})")
    xp = backend.xp()
    N, S = model.n_params, len(seeds)
    window = 1 if analog else tau_theta
    _check_seed_memory(model, seeds)
    batch = data.n_train if batch_size is None else min(batch_size, data.n_train)
    _check_window_memory(model, S, window, tau_p, tau_x, batch, smart is not None, "tau_theta", tau_theta,
                         f"one window of {window} steps: {window // tau_x + 1} minibatches of {batch} samples "
                         f"and their perturbed passes, for {S} seed(s)")
    checkpoints = eval_steps(steps, eval_every, stride=window, n_seeds=S)
    gens = [backend._rng(s) for s in seeds]
    theta = xp.stack([model.init_params(seed=s) for s in seeds])
    device = None if _as_model(hardware) is None else Device(hardware, model, seeds)
    if device is not None:
        theta = device.program(theta)
        model = device.bind(model)
    perts = None if smart else _make_perturbations(mode, N, amplitude, gens, model.dtype, sparsity)
    if tau_hp is None:
        tau_hp = perts.period if mode == "frequency" else tau_theta
    stream = MinibatchStream(data.n_train, batch_size, gens)
    Xtr, Ytr = xp.asarray(data.x_train, dtype=model.dtype), xp.asarray(data.y_train, dtype=model.dtype)
    opt = Optimizer(optimizer, eta)
    settings = {"mode": mode, "eta": eta, "amplitude": amplitude, "tau_p": tau_p, "tau_x": tau_x,
                "tau_theta": tau_theta, "optimizer": optimizer, "analog": analog}
    attrs = {"method": "mgd", **settings, "steps": steps, "batch_size": stream.batch_size,
             "highpass": highpass, "tau_hp": tau_hp, "sparsity": sparsity,
             "cost_noise": "none" if noise is None else repr(cost_noise), **(smart or {}),
             **({} if device is None else device.hw.to_attrs())}
    recorder = TrajectoryRecorder(model, data, seeds, with_cosine=grad_cosine)
    started = time.perf_counter()
    initial = recorder.record(0, theta, 0)
    clock = RunClock(steps, name="steps", value=steps, max_duration=max_duration, desc=f"MGD {mode}",
                     extra_seconds=(len(checkpoints) - 1) * (time.perf_counter() - started))
    filt = _Highpass(tau_hp, S) if highpass else None
    kernel = _WindowKernel(model, perts, gens, noise, filt, device=device) if smart is None else \
        _SmartKernel(model, mode, amplitude, gens, noise, **smart, device=device)
    G_int = xp.zeros((S, N), dtype=model.dtype)

    def run_window(t0: int, length: int, want_cosine: bool):
        t = np.arange(t0, t0 + length)
        p_of_t, x_of_t = t // tau_p, t // tau_x
        batch_idx = xp.asarray(stream.indices(x_of_t[0], x_of_t[-1] - x_of_t[0] + 1))
        xb, yb = Xtr[batch_idx], Ytr[batch_idx]  # (S, nX, B, d)
        G = kernel.window(theta, p_of_t, x_of_t, xb, yb)
        cosine = None
        if want_cosine:
            counts = np.bincount(x_of_t - x_of_t[0], minlength=xb.shape[1])
            g_bp = xp.stack([sum(int(c) * model._gradient(theta[s], xb[s, i], yb[s, i])
                                 for i, c in enumerate(counts) if c) for s in range(S)])
            cosine = metrics._cosine(G_int + (G - G_int) / tau_theta if analog else G, g_bp)
        return G, cosine


    def update(G):
        old = None if device is None else theta.copy()
        opt._step(theta, G)
        if device is not None:
            device.update(old, theta)

    done = 0
    with progress(total=steps, desc=f"MGD {mode}", unit="step") as bar:
        for stop in checkpoints[1:]:
            cosine = None
            while done < stop:
                last = done + window >= stop
                G, cos = run_window(done, window, grad_cosine and last)
                if analog:
                    G_int += (G - G_int) / tau_theta
                    update(G_int)
                else:
                    update(G)
                done += window
                if last:
                    cosine = cos
                if not bool(xp.all(xp.isfinite(theta))):
                    check_divergence(np.nan, done, settings)
                clock.tick(done)
                bar.update(min(done, steps) - bar.n)
            cost = recorder.record(done, theta, kernel.evaluations, cosine)
            check_divergence(cost, done, settings, initial)
    return recorder.dataset(theta, attrs)
