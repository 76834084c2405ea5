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
  the input or theta changes (``frequency`` mode: ``C~`` = a first-order
  high-pass of ``C`` with time constant ``tau_hp`` instead);
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
MAX_CHUNK_ELEMENTS = 1 << 24  # parameter entries per batched evaluation


# -- perturbation generators ----------------------------------------------------------
def random_signs(gen, shape, dtype, value: float = 1.0):
    """An array of ``+-value`` with independent fair signs.

    NumPy path: one random bit per entry (packed bytes unpacked), mapped
    through a two-entry table, about 8x fewer random numbers than drawing one
    per entry.
    """
    xp = backend.xp()
    table = xp.asarray([-value, value], dtype=dtype)
    if xp is np:
        n = shape[-1]
        packed = gen.integers(0, 256, size=(*shape[:-1], (n + 7) // 8), dtype=np.uint8)
        bits = np.unpackbits(packed, axis=-1, count=n)
        return table[bits]
    return table[(gen.random(shape) < 0.5).astype(xp.int8)]


class Perturbations:
    """Base class: ``draw(count)`` gives each seed's next ``count`` perturbations
    as an array (S, count, N) with nominal norm ``amplitude``."""

    def __init__(self, n_params: int, amplitude: float, generators, dtype):
        self.n, self.amplitude, self.gens, self.dtype = n_params, amplitude, generators, dtype

    def draw(self, count: int):
        xp = backend.xp()
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


# -- cost evaluation ----------------------------------------------------------------
def perturbed_costs(model, theta, perturbations, X, Y):
    """``C(theta_s + theta~_sk)`` for every seed s and perturbation k: (S, K).

    ``theta`` (S, N), ``perturbations`` (S, K, N), ``X`` (S, K or 1, B, d),
    ``Y`` likewise. Evaluated in chunks of at most MAX_CHUNK_ELEMENTS
    parameter entries, each chunk one batched forward pass.
    """
    xp = backend.xp()
    S, K, N = perturbations.shape
    chunk = max(1, MAX_CHUNK_ELEMENTS // max(1, S * N))
    out = xp.empty((S, K), dtype=np.float64)
    for start in range(0, K, chunk):
        stop = min(K, start + chunk)
        params = perturbations[:, start:stop] + theta[:, None, :]
        xs = X if X.shape[1] == 1 else X[:, start:stop]
        ys = Y if Y.shape[1] == 1 else Y[:, start:stop]
        outputs = model.forward(params, xs)
        out[:, start:stop] = xp.mean(model.per_sample_loss(outputs, ys), axis=-1)
    return out


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
    gen = backend.rng(seed)
    noise = _noise_fn(cost_noise)
    perts = make_perturbations(mode, model.n_params, amplitude, [gen], model.dtype, sparsity)
    theta2 = theta[None]
    c0 = model.loss(theta, X, Y)
    if noise is not None:
        c0 = c0 + noise(gen, ())
    total = xp.zeros(model.n_params, dtype=np.float64)
    chunk = max(1, MAX_CHUNK_ELEMENTS // model.n_params)
    for start in range(0, K, chunk):
        count = min(chunk, K - start)
        pert = perts.draw(count)
        costs = perturbed_costs(model, theta2, pert, X[None, None], Y[None, None])[0]
        if noise is not None:
            costs = costs + noise(gen, costs.shape)
        total += (costs - c0) @ pert[0]
    return (total * (model.n_params / (K * amplitude**2))).astype(model.dtype)


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
    ``analog`` for the high-pass/low-pass form; ``highpass`` (default: only in
    frequency mode) and ``tau_hp`` (default: the frequency period ``2N+2``,
    else ``tau_theta``); ``sparsity`` of code-mode perturbations;
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
    highpass = (mode == "frequency") if highpass is None else bool(highpass)
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
    filt = _Highpass(tau_hp, S) if (highpass or analog) else None
    state = {"p_next": 0, "p_cached": -1, "cached": None, "evaluations": 0,
             "G_int": xp.zeros((S, N), dtype=model.dtype)}

    def run_window(t0: int, length: int, want_cosine: bool):
        t = np.arange(t0, t0 + length)
        p_of_t, x_of_t = t // tau_p, t // tau_x
        p_lo, p_hi = p_of_t[0], p_of_t[-1]
        fresh = perts.draw(p_hi - state["p_next"] + 1) if p_hi >= state["p_next"] else None
        if p_lo == state["p_cached"]:
            pert = state["cached"] if fresh is None else xp.concatenate([state["cached"], fresh], axis=1)
        else:
            pert = fresh
        state["p_next"], state["p_cached"], state["cached"] = p_hi + 1, p_hi, pert[:, -1:]
        x_lo = x_of_t[0]
        batch_idx = stream.indices(x_lo, x_of_t[-1] - x_lo + 1)  # (S, nX, B)
        xb, yb = Xtr[xp.asarray(batch_idx)], Ytr[xp.asarray(batch_idx)]  # (S, nX, B, d)
        pair_key = (p_of_t - p_lo) * (x_of_t[-1] - x_lo + 1) + (x_of_t - x_lo)
        pairs, pair_of_t = np.unique(pair_key, return_inverse=True)
        pair_p, pair_x = pairs // (x_of_t[-1] - x_lo + 1), pairs % (x_of_t[-1] - x_lo + 1)
        if len(pairs) == pert.shape[1] and np.array_equal(pair_p, np.arange(len(pairs))):
            pair_pert = pert
        else:
            pair_pert = pert[:, xp.asarray(pair_p)]
        xs = xb if (xb.shape[1] == 1) else xb[:, xp.asarray(pair_x)]
        ys = yb if (yb.shape[1] == 1) else yb[:, xp.asarray(pair_x)]
        costs = backend.to_host(perturbed_costs(model, theta, pair_pert, xs, ys))[:, pair_of_t]
        state["evaluations"] += len(pairs)
        if noise is not None:
            costs = costs + backend.to_host(xp.stack([noise(g, (length,)) for g in gens]))
        if filt is not None:
            c_tilde = filt(costs)
        else:
            c0 = backend.to_host(model.loss(theta[:, None, :], xb, yb))  # (S, nX)
            state["evaluations"] += c0.shape[1]
            if noise is not None:
                c0 = c0 + backend.to_host(xp.stack([noise(g, (c0.shape[1],)) for g in gens]))
            c_tilde = costs - c0[:, x_of_t - x_lo]
        weights = np.zeros((S, pert.shape[1]))
        np.add.at(weights, (slice(None), p_of_t - p_lo), c_tilde)
        G = xp.einsum("sp,spn->sn", xp.asarray(weights, dtype=model.dtype), pert) / amplitude**2
        cosine = None
        if want_cosine:
            counts = np.bincount(x_of_t - x_lo, minlength=xb.shape[1])
            g_bp = xp.stack([sum(int(c) * model.gradient(theta[s], xb[s, i], yb[s, i])
                                 for i, c in enumerate(counts) if c) for s in range(S)])
            cosine = metrics.cosine(G if not analog else state["G_int"], g_bp)
        return G, costs, cosine

    done = 0
    with progress(total=steps, desc=f"MGD {mode}", unit="step") as bar:
        for stop in checkpoints[1:]:
            cosine = None
            while done < stop:
                last = done + window >= stop
                G, costs, cos = run_window(done, window, grad_cosine and last)
                if analog:
                    state["G_int"] += (G - state["G_int"]) / tau_theta
                    opt.step(theta, state["G_int"])
                else:
                    opt.step(theta, G)
                done += window
                if last:
                    cosine = cos
                if not np.all(np.isfinite(costs)):
                    check_finite(costs[:, -1], done, settings)
            bar.update(stop - bar.n)
            cost = recorder.record(done, theta, state["evaluations"], cosine)
            check_finite(cost, done, settings, initial)
    return recorder.dataset(theta, attrs)
