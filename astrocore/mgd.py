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
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import xarray as xr

from . import backend, metrics
from .optim import Optimizer, check_positive
from .training import (
    MinibatchStream,
    TrajectoryRecorder,
    as_seed_list,
    check_finite,
    check_fits,
    eval_steps,
    progress,
)

MODES = ("time", "frequency", "code", "walsh")


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

    def _draw_one(self, s, gen, count):  # pragma: no cover - abstract
        raise NotImplementedError


class CodePerturbations(Perturbations):
    """Rademacher codes ``+-a`` with an optional fraction ``sparsity`` of zeros."""

    def __init__(self, n_params, amplitude, generators, dtype, sparsity: float = 0.0):
        super().__init__(n_params, amplitude, generators, dtype)
        self.sparsity = sparsity
        self.value = amplitude / math.sqrt(n_params * (1.0 - sparsity))

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


def make_perturbations(mode: str, n_params: int, amplitude: float, generators, dtype,
                       sparsity: float = 0.0) -> Perturbations:
    """The perturbation generator for ``mode`` (one of :data:`MODES`)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "code":
        return CodePerturbations(n_params, amplitude, generators, dtype, sparsity)
    return {"time": TimePerturbations, "walsh": WalshPerturbations,
            "frequency": FrequencyPerturbations}[mode](n_params, amplitude, generators, dtype)


def _check_common(mode, amplitude, sparsity):
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    check_positive("amplitude", amplitude)
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity!r}")
    if sparsity and mode != "code":
        raise ValueError(f"sparsity applies to mode 'code' only, got mode={mode!r}")


def _noise_fn(cost_noise) -> Callable | None:
    """``cost_noise``: None, a standard deviation, or a callable (gen, shape) -> noise."""
    if cost_noise is None or (not callable(cost_noise) and cost_noise == 0):
        return None
    if callable(cost_noise):
        return cost_noise
    sigma = float(cost_noise)
    if not sigma > 0 or not math.isfinite(sigma):
        raise ValueError(f"cost_noise must be None, a standard deviation >= 0, or a callable, got {cost_noise!r}")
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

    def __init__(self, model, perts: Perturbations, generators, noise=None, highpass=None):
        self.model, self.perts, self.gens = model, perts, generators
        self.noise, self.highpass = noise, highpass
        itemsize = np.dtype(model.dtype).itemsize
        self.chunk = max(1, self.CHUNK_BYTES // (len(generators) * model.n_params * itemsize))
        self.evaluations = 0  # forward passes on a batch, per seed
        self._p_next, self._cached = 0, None

    def _perturbations(self, first: int, last: int):
        """Perturbations ``first..last`` (S, last-first+1, N); ``first`` may repeat the last drawn."""
        xp = backend.xp()
        if first == self._p_next - 1:
            fresh = self.perts.draw(last - first) if last > first else None
            block = self._cached if fresh is None else xp.concatenate([self._cached, fresh], axis=1)
        elif first == self._p_next:
            block = self.perts.draw(last - first + 1)
        else:
            raise ValueError("perturbations must be requested in increasing order")
        self._p_next, self._cached = last + 1, block[:, -1:]
        return block

    def _measure(self, costs):
        """Add the cost-measurement noise of each seed to costs (S, T)."""
        if self.noise is None:
            return costs
        return costs + np.stack([backend.to_host(self.noise(g, (costs.shape[1],))) for g in self.gens])

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
            c0 = self._measure(backend.to_host(model.loss(theta[:, None, :], xb, yb)))
            self.evaluations += n_x
        G = xp.zeros_like(theta)
        for first in range(int(p_of_t[0]), int(p_of_t[-1]) + 1, self.chunk):
            last = min(int(p_of_t[-1]), first + self.chunk - 1)
            pert = self._perturbations(first, last)
            lo, hi = np.searchsorted(p_of_t, [first, last + 1])
            t_p, t_x = p_of_t[lo:hi] - first, x_of_t[lo:hi]
            pairs, pair_of_t = np.unique(t_p * n_x + t_x, return_inverse=True)
            pair_p, pair_x = pairs // n_x, pairs % n_x
            same = len(pairs) == pert.shape[1] and np.array_equal(pair_p, np.arange(len(pairs)))
            params = theta[:, None, :] + (pert if same else pert[:, xp.asarray(pair_p)])
            xs = xb if n_x == 1 else xb[:, xp.asarray(pair_x)]
            ys = yb if n_x == 1 else yb[:, xp.asarray(pair_x)]
            costs = self._measure(backend.to_host(model.loss(params, xs, ys))[:, pair_of_t])
            self.evaluations += len(pairs)
            c_tilde = self.highpass(costs) if c0 is None else costs - c0[:, t_x]
            weights = np.zeros((theta.shape[0], pert.shape[1]))
            np.add.at(weights, (slice(None), t_p), c_tilde)
            G += xp.einsum("sp,spn->sn", xp.asarray(weights, dtype=theta.dtype), pert)
        G /= self.perts.amplitude ** 2
        return G


def estimate_gradient(model, theta, X, Y, *, mode: str = "code", n_perturbations: int | None = None,
                      amplitude: float = 1e-3, seed: int = 0, sparsity: float = 0.0, cost_noise=None):
    """One MGD gradient estimate from ``K = n_perturbations`` perturbations.

    All K perturbed costs are evaluated on the same batch (X, Y) in batched
    forward passes, with one unperturbed cost ``C0``:

    ``g^ = (N / K) sum_k (C(theta + theta~_k) - C0) theta~_k / ||theta~||^2``

    the accumulated ``G_int`` scaled to estimate the gradient itself: unbiased
    for ``code``; exact (to finite-difference error) for ``time`` at K = N and
    ``walsh`` at K = 2^ceil(log2 N); for ``frequency`` take K a multiple of the
    period 2N + 2. ``C0`` subtraction stands for an ideal high-pass here.
    ``K`` defaults to N. Returns an array (N,).
    """
    xp = backend.xp()
    theta = xp.asarray(theta, dtype=model.dtype)
    if theta.ndim != 1 or theta.shape[0] != model.n_params:
        raise ValueError(f"theta must have shape ({model.n_params},), got {tuple(theta.shape)}")
    X, Y = xp.asarray(X, dtype=model.dtype), xp.asarray(Y, dtype=model.dtype)
    model._check_xy(X, Y)
    _check_common(mode, amplitude, sparsity)
    K = model.n_params if n_perturbations is None else check_positive(
        "n_perturbations", n_perturbations, integer=True)
    gens = [backend.rng(seed)]
    perts = make_perturbations(mode, model.n_params, amplitude, gens, model.dtype, sparsity)
    kernel = _WindowKernel(model, perts, gens, _noise_fn(cost_noise))
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


def train(model, data, *, mode: str = "code", eta: float = 0.1, amplitude: float = 1e-2,
          tau_p: int = 1, tau_x: int = 1, tau_theta: int = 1, steps: int = 1000, seed=0,
          batch_size: int | None = 1, optimizer: str = "sgd", analog: bool = False,
          highpass: bool | None = None, tau_hp: float | None = None, sparsity: float = 0.0,
          cost_noise=None, eval_every: int | None = None, grad_cosine: bool = False) -> xr.Dataset:
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

    Raises FloatingPointError naming the step and settings if the cost
    becomes NaN or infinite.
    """
    seeds = as_seed_list(seed)
    check_fits(model, data)
    _check_common(mode, amplitude, sparsity)
    check_positive("eta", eta)
    tau_p, tau_x, tau_theta = (check_positive(name, value, integer=True) for name, value in
                               (("tau_p", tau_p), ("tau_x", tau_x), ("tau_theta", tau_theta)))
    steps = check_positive("steps", steps, integer=True)
    if tau_hp is not None:
        check_positive("tau_hp", tau_hp)
    noise = _noise_fn(cost_noise)
    highpass = bool(analog) if highpass is None else bool(highpass)
    xp = backend.xp()
    N, S = model.n_params, len(seeds)
    gens = [backend.rng(s) for s in seeds]
    theta = xp.stack([model.init_params(seed=s) for s in seeds])
    perts = make_perturbations(mode, N, amplitude, gens, model.dtype, sparsity)
    if tau_hp is None:
        tau_hp = perts.period if mode == "frequency" else tau_theta
    stream = MinibatchStream(data.n_train, batch_size, gens)
    Xtr, Ytr = xp.asarray(data.x_train, dtype=model.dtype), xp.asarray(data.y_train, dtype=model.dtype)
    opt = Optimizer(optimizer, eta)
    settings = {"mode": mode, "eta": eta, "amplitude": amplitude, "tau_p": tau_p, "tau_x": tau_x,
                "tau_theta": tau_theta, "optimizer": optimizer, "analog": analog}
    attrs = {"method": "mgd", **settings, "steps": steps, "batch_size": stream.batch_size,
             "highpass": highpass, "tau_hp": tau_hp, "sparsity": sparsity,
             "cost_noise": "none" if noise is None else repr(cost_noise)}
    recorder = TrajectoryRecorder(model, data, seeds, with_cosine=grad_cosine)
    window = 1 if analog else tau_theta
    checkpoints = eval_steps(steps, eval_every, stride=window)
    initial = recorder.record(0, theta, 0)
    filt = _Highpass(tau_hp, S) if highpass else None
    kernel = _WindowKernel(model, perts, gens, noise, filt)
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
            g_bp = xp.stack([sum(int(c) * model.gradient(theta[s], xb[s, i], yb[s, i])
                                 for i, c in enumerate(counts) if c) for s in range(S)])
            cosine = metrics.cosine(G_int + (G - G_int) / tau_theta if analog else G, g_bp)
        return G, cosine


    done = 0
    with progress(total=steps, desc=f"MGD {mode}", unit="step") as bar:
        for stop in checkpoints[1:]:
            cosine = None
            while done < stop:
                last = done + window >= stop
                G, cos = run_window(done, window, grad_cosine and last)
                if analog:
                    G_int += (G - G_int) / tau_theta
                    opt.step(theta, G_int)
                else:
                    opt.step(theta, G)
                done += window
                if last:
                    cosine = cos
                if not bool(xp.all(xp.isfinite(theta))):
                    check_finite(np.nan, done, settings)
            bar.update(stop - bar.n)
            cost = recorder.record(done, theta, kernel.evaluations, cosine)
            check_finite(cost, done, settings, initial)
    return recorder.dataset(theta, attrs)
