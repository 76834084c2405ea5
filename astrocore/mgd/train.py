"""The MGD trainer and the one-batch gradient estimator.

McCaughan, Buckley, Dienstfrey, Shainline et al., "Multiplexed gradient
descent: fast online training of modern datasets on hardware neural
networks without backpropagation", APL Machine Learning 1, 026118 (2023),
arXiv 2303.03986; ALGORITHMS.md section 2.

Discrete mode, per time step ``t`` (all ``N`` parameters ``theta`` perturbed
at once, the perturbations told apart by multiplexing or built by a smart
direction, :mod:`astrocore.mgd.directions`):

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

:func:`train`, :func:`estimate_gradient` and
:func:`astrocore.training.train_backprop` share one convention: the same
names and defaults (:data:`astrocore.training.DEFAULTS`: ``eta``, ``steps``,
``batch_size``, ``optimizer``; ``amplitude`` 1e-2 for both MGD entry points),
and ``seed`` an int or a list of distinct ints (default: the model's seed),
each seed one run with its own named random streams
(:mod:`astrocore.backend`: initialisation, perturbations, minibatches, device).
"""

from __future__ import annotations

import time

import numpy as np
import xarray as xr

from .. import backend, metrics
from ..hardware import Device
from ..hardware.model import HARDWARE, _as_model
from ..nets import check_memory_estimate
from ..optim import OPTIMIZERS, Optimizer
from ..progress import DURATION, MAX_DURATION, RunClock, progress
from ..training import (
    DEFAULTS,
    MODEL,
    SEEDS,
    MinibatchStream,
    TrajectoryRecorder,
    _check_seed_memory,
    _run_seeds,
    _streams,
    check_data,
    check_divergence,
    eval_steps,
)
from ..validation import (
    NO_VALIDATION,
    POSITIVE,
    POSITIVE_INT,
    Array,
    Bool,
    Choice,
    Optional,
    validate_params,
)
from .directions import DIRECTION, Weight, check_highpass
from .kernel import CHUNK_BYTES, Kernel

AMPLITUDE = 1e-2
"""Default perturbation norm ``||theta~||`` of :func:`train` and :func:`estimate_gradient`."""


def _check_window_memory(model, direction, n_seeds: int, steps: int, tau_p: int, tau_x: int, batch: int,
                         name: str, value, what: str, batch_name: str = "batch_size") -> None:
    """Refuse a window (all steps between two updates) whose arrays cannot fit, before allocating.

    A window of ``steps`` steps holds its step indices, its ``steps / tau_x``
    minibatches of ``batch`` samples per seed, and one chunk of (perturbation,
    input) pairs at a time: a parameter vector and the activations of the
    batch per pair (chunks as the kernel sizes them). The smallest possible
    window (one pair, one minibatch) is checked first, naming ``batch_name``;
    then the whole one, naming ``name``.
    """
    itemsize = np.dtype(model.dtype).itemsize
    N, S, width = model.n_params, n_seeds, sum(model.sizes)
    smart = not isinstance(direction, Weight)
    per_pair = S * itemsize * (N + 3 * batch * width)
    chunk = max(1, CHUNK_BYTES // direction.pair_bytes(model, S, batch))
    per_input = S * batch * ((model.n_inputs + model.n_outputs) * itemsize + 8 + (4 * width * itemsize if smart else 0))
    check_memory_estimate(batch_name, batch, per_pair + 2 * per_input,
                          f"one minibatch of {batch} samples and one perturbed pass over it, for {S} seed(s)")
    n_inputs = steps // tau_x + 2
    pairs = min(steps, chunk * (-(-tau_p // tau_x) + 1))
    check_memory_estimate(name, value, 6 * 8 * steps + n_inputs * per_input + pairs * per_pair, what)


@validate_params({"model": MODEL, "theta": Array(1), "X": Array(2), "Y": Array(2), "direction": DIRECTION,
                  "n_perturbations": Optional(POSITIVE_INT), "amplitude": POSITIVE, "seed": SEEDS,
                  "hardware": HARDWARE})
def estimate_gradient(model, theta, X, Y, *, direction="code", n_perturbations: int | None = None,
                      amplitude: float = AMPLITUDE, seed=None, hardware=None):
    """One MGD gradient estimate from ``K = n_perturbations`` perturbations.

    All K perturbed costs are evaluated on the same batch (X, Y) in batched
    forward passes, with one unperturbed cost ``C0``:

    ``g^ = (N / K) sum_k (C(theta + theta~_k) - C0) theta~_k / ||theta~||^2``

    the accumulated ``G_int`` scaled to estimate the gradient itself: unbiased
    for ``code``; exact (to finite-difference error) for ``time`` at K = N and
    ``walsh`` at K = 2^ceil(log2 N); for ``frequency`` take K a multiple of the
    period 2N + 2. ``C0`` subtraction stands for an ideal high-pass here.
    ``K`` defaults to N.

    ``direction``: a :class:`astrocore.mgd.Direction` or its name, as in
    :func:`train`. The smart directions take K draws on the same batch the same
    way, each one forward pass, and are scaled alike: ``Node`` and ``Activity``
    are unbiased to first order in the amplitude (``layerwise``: for K a
    multiple of the number of layers), ``Astrocyte`` estimates a positive
    semi-definite preconditioning of the gradient (its ``error_trace`` sets
    the running error estimate ``d``; default zeros, i.e. fair signs).

    ``seed``: an int (default: the model's seed) gives an array (N,); a list of
    distinct ints gives one independent estimate per seed, (S, N), computed in
    lockstep. Each seed's perturbations come from its ``perturbations`` stream
    (:func:`astrocore.backend.stream`).

    ``hardware`` (a :class:`astrocore.hardware.HardwareModel` or preset name)
    writes ``theta`` to a simulated chip per seed and measures every cost on
    it; the estimate is then of the ideal model's gradient as the device lets
    MGD see it.

    Every parameter is checked first (its declared constraint); ``theta``
    (N,), ``X`` (B, n_inputs) and ``Y`` (B, n_outputs) must be finite and
    non-empty (integer input becomes the model's float dtype), and a ``K``
    whose arrays cannot fit in memory is refused before anything is allocated.
    """
    seeds, several = _run_seeds(model, seed)
    theta, X, Y = model._inputs(theta, X, Y)
    K = model.n_params if n_perturbations is None else n_perturbations
    S = len(seeds)
    _check_window_memory(model, direction, S, K, 1, K, X.shape[0], "n_perturbations", K,
                         f"{K} perturbations on a batch of {X.shape[0]} samples", batch_name="X")
    xp = backend.xp()
    gens, = _streams(seeds, "perturbations")
    theta = theta[None] if S == 1 else xp.stack([theta] * S)
    device = None if _as_model(hardware) is None else Device(hardware, model, seed=seeds)
    if device is not None:
        theta = device.program(theta)
        model = device.bind()
    kernel = Kernel(model, direction.init(model, amplitude, gens), device=device)
    xb, yb = X[None, None], Y[None, None]
    if S > 1:
        xb, yb = xp.broadcast_to(xb, (S, 1, *X.shape)), xp.broadcast_to(yb, (S, 1, *Y.shape))
    G = kernel.window(theta, np.arange(K), np.zeros(K, dtype=np.int64), xb, yb) * (model.n_params / K)
    return G if several else G[0]


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


@validate_params({"model": MODEL, "data": NO_VALIDATION, "direction": DIRECTION, "eta": POSITIVE,
                  "amplitude": POSITIVE, "tau_p": POSITIVE_INT, "tau_x": POSITIVE_INT, "tau_theta": POSITIVE_INT,
                  "steps": POSITIVE_INT, "seed": SEEDS, "batch_size": Optional(POSITIVE_INT),
                  "optimizer": Choice(OPTIMIZERS), "analog": Bool(), "highpass": Optional(Bool()),
                  "tau_hp": Optional(POSITIVE), "eval_every": Optional(POSITIVE_INT), "grad_cosine": Bool(),
                  "hardware": HARDWARE, "max_duration": DURATION})
def train(model, data, *, direction="code", eta: float = DEFAULTS["eta"], amplitude: float = AMPLITUDE,
          tau_p: int = 1, tau_x: int = 1, tau_theta: int = 1, steps: int = DEFAULTS["steps"], seed=None,
          batch_size: int | None = DEFAULTS["batch_size"], optimizer: str = DEFAULTS["optimizer"],
          analog: bool = False, highpass: bool | None = None, tau_hp: float | None = None,
          eval_every: int | None = None, grad_cosine: bool = False, hardware=None,
          max_duration: float | None = MAX_DURATION) -> xr.Dataset:
    """Train ``model`` on ``data`` with MGD; return trajectories by step.

    Parameters follow ALGORITHMS.md section 2 (see the module docstring):
    ``direction`` the perturbation direction, a :class:`astrocore.mgd.Direction`
    or the name of one with its default options: weight perturbation
    multiplexed by ``"time"``, ``"frequency"``, ``"code"`` (the default) or
    ``"walsh"`` (``Weight(mode, sparsity=...)``), or a smart direction
    ``"node"``, ``"activity"``, ``"astrocyte"`` (``Node(layerwise=...,
    per_sample=...)``, ``Activity(mix=...)``, ``Astrocyte(guide=...,
    tau_d=...)``; :mod:`astrocore.mgd.directions`); ``eta`` learning rate of
    the ``optimizer`` (sgd: ``theta <- theta - eta G_int``; momentum; adam);
    ``amplitude`` = ``||theta~||``; ``tau_p``, ``tau_x``, ``tau_theta`` in
    steps; ``batch_size`` samples per input (None: the whole training set);
    ``analog`` for the high-pass/low-pass form; ``highpass`` (default: on in
    analog mode only; in discrete mode ``C0`` is re-measured instead, which is
    the ideal high-pass: a first-order filter's transient after every
    discrete update swamps the correlation, most of all in frequency mode)
    and ``tau_hp`` (default: the frequency period ``2N+2``, else
    ``tau_theta``). The smart directions measure ``C0`` per sample: discrete
    mode, or analog mode with ``highpass=False``.

    ``seed`` (default: the model's seed) may be a list: the seeds run in
    lockstep (one batched forward pass for all), each with its own named random
    streams (:mod:`astrocore.backend`): the initial parameters
    (:meth:`astrocore.nets.MLP.init_params` of the seed, the same as
    :func:`astrocore.training.train_backprop`'s), the perturbations, the
    minibatches (the same order as backprop's) and the device. Checkpoints
    every ``eval_every`` steps record the full training cost, train and test
    accuracy, cumulative cost evaluations (forward passes on a batch, per seed)
    and, with ``grad_cosine``, the cosine between ``G_int`` and the backprop
    gradient over the same inputs.

    ``hardware`` (a :class:`astrocore.hardware.HardwareModel` or preset name;
    None or ``"ideal"`` change nothing) trains in the loop on simulated chips,
    one per seed: the parameters are written to the device (clipped,
    quantized, with programming errors), every forward pass reads them through
    it (drift, stuck cells, read noise, converters, neuron variation), every
    cost is measured through it (cost noise, ADC: the only way to add noise to
    the cost), and every update is applied through it (update noise and
    granularity, then written again); the checkpoints evaluate the network on
    the device as well.

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
    seeds, _ = _run_seeds(model, seed)
    check_data(model, data)
    highpass = analog if highpass is None else highpass
    check_highpass(direction, highpass, analog)
    xp = backend.xp()
    N, S = model.n_params, len(seeds)
    window = 1 if analog else tau_theta
    _check_seed_memory(model, seeds)
    batch = data.n_train if batch_size is None else min(batch_size, data.n_train)
    _check_window_memory(model, direction, S, window, tau_p, tau_x, batch, "tau_theta", tau_theta,
                         f"one window of {window} steps: {window // tau_x + 1} minibatches of {batch} samples "
                         f"and their perturbed passes, for {S} seed(s)")
    checkpoints = eval_steps(steps, eval_every, stride=window, n_seeds=S)
    batch_gens, pert_gens = _streams(seeds, "minibatches", "perturbations")
    theta = xp.stack([model.init_params(seed=s) for s in seeds])
    device = None if _as_model(hardware) is None else Device(hardware, model, seed=seeds)
    if device is not None:
        theta = device.program(theta)
        model = device.bind(model)
    bound = direction.init(model, amplitude, pert_gens)
    if tau_hp is None:
        tau_hp = getattr(bound, "carrier_period", None) or tau_theta
    stream = MinibatchStream(data.n_train, batch_size, batch_gens)
    Xtr, Ytr = xp.asarray(data.x_train, dtype=model.dtype), xp.asarray(data.y_train, dtype=model.dtype)
    opt = Optimizer(optimizer, eta)
    settings = {"direction": direction.name, "eta": eta, "amplitude": amplitude, "tau_p": tau_p, "tau_x": tau_x,
                "tau_theta": tau_theta, "optimizer": optimizer, "analog": analog}
    attrs = {"method": "mgd", **settings, **direction.attrs(), "steps": steps, "batch_size": stream.batch_size,
             "highpass": highpass, "tau_hp": tau_hp, **({} if device is None else device.hw.to_attrs())}
    recorder = TrajectoryRecorder(model, data, seeds, with_cosine=grad_cosine)
    started = time.perf_counter()
    initial = recorder.record(0, theta, 0)
    clock = RunClock(steps, name="steps", value=steps, max_duration=max_duration, desc=f"MGD {direction.name}",
                     extra_seconds=(len(checkpoints) - 1) * (time.perf_counter() - started))
    kernel = Kernel(model, bound, _Highpass(tau_hp, S) if highpass else None, device=device)
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
    with progress(total=steps, desc=f"MGD {direction.name}", unit="step") as bar:
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
