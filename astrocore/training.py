"""Shared pieces of the training loops: minibatch streams, evaluation,
trajectory datasets, progress bars, and the backpropagation baseline.

Every trainer in astrocore runs ``S`` seeds in lockstep (parameters of shape
``(S, n_params)``), each seed with its own named random streams
(:func:`streams`, :mod:`astrocore.backend`), so a seed's numbers do not depend
on which other seeds run beside it, and one stream (say, the minibatch order)
never shifts another (the perturbations).

The trainers share one convention (:func:`train_backprop` here,
:func:`astrocore.mgd.train` and :func:`astrocore.mgd.estimate_gradient`): the
same parameter names with the same defaults (:data:`DEFAULTS`), and ``seed``
an int or a list of distinct ints, by default (``seed=None``) the model's own
seed.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import xarray as xr

from . import backend
from .hardware.device import OnDevice
from .nets import MLP, check_memory_estimate
from .optim import OPTIMIZERS, Optimizer
from .progress import DURATION, MAX_DURATION, RunClock, progress
from .validation import (
    NO_VALIDATION,
    POSITIVE_INT,
    Array,
    Bool,
    Choice,
    InstanceOf,
    Integer,
    InvalidParameterError,
    Optional,
    Real,
    Seeds,
    validate_params,
)

EVAL_CHUNK = 8192
DEFAULTS = {"eta": 1e-3, "steps": 1000, "batch_size": 32, "optimizer": "adam"}
"""The defaults every trainer shares (train_backprop, mgd.train): Adam at 1e-3 on minibatches of 32."""

MODEL = InstanceOf(MLP, example=lambda: MLP([2, 2, 1]))
NETWORK = InstanceOf(MLP, OnDevice, example=lambda: MLP([2, 2, 1]))
logger = logging.getLogger("astrocore.training")


@validate_params({"model": NETWORK, "data": NO_VALIDATION})
def check_data(model, data):
    """Check a task (:class:`astrocore.datasets.TaskData` or alike) against ``model``.

    Its arrays ``x_train``, ``y_train``, ``x_test``, ``y_test`` must be finite,
    non-empty, 2-d real arrays with as many rows of x as of y; the model's
    input and output layers must fit their columns. Raises an error naming the
    array (and the first bad index) or the layer sizes.
    """
    arrays = {}
    for split in ("train", "test"):
        for kind in ("x", "y"):
            name = f"{kind}_{split}"
            if not hasattr(data, name):
                raise InvalidParameterError(f"data must be a task with arrays x_train, y_train, x_test and y_test "
                                            f"(astrocore.datasets.TaskData), got {data!r}"[:300])
            arrays[name] = _TABLE.check(name, getattr(data, name))
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.shape[0] != y.shape[0]:
            raise InvalidParameterError(f"x_{split} and y_{split} must have the same number of rows, got shapes "
                                        f"{tuple(x.shape)} and {tuple(y.shape)}")
    n_features, n_outputs = arrays["x_train"].shape[1], arrays["y_train"].shape[1]
    if model.n_inputs != n_features or model.n_outputs != n_outputs \
            or arrays["x_test"].shape[1] != n_features or arrays["y_test"].shape[1] != n_outputs:
        raise InvalidParameterError(
            f"layer sizes {list(model.sizes)} do not fit the data '{getattr(data, 'name', '?')}': it has "
            f"{n_features} features and {n_outputs} target columns (x_train {tuple(arrays['x_train'].shape)}, "
            f"y_train {tuple(arrays['y_train'].shape)}, x_test {tuple(arrays['x_test'].shape)}, y_test "
            f"{tuple(arrays['y_test'].shape)}), so sizes must start with {n_features} and end with {n_outputs}")


_TABLE = Array(2)


class RunSeeds(Seeds):
    """A trainer's ``seed``: one non-negative int (kept an int: one run, no seed axis where the result
    has none) or a non-empty sequence of distinct ones (converted to a tuple)."""

    def convert(self, value):
        return int(value) if not Seeds.several(value) else super().convert(value)


SEEDS = Optional(RunSeeds())
"""The declared constraint of every trainer's ``seed`` (None: the model's seed)."""


def _run_seeds(model, seed) -> tuple[list[int], bool]:
    """The runs of a trainer's ``seed`` (checked by :data:`SEEDS`: None, an int, or a tuple of distinct
    ints): ``(seeds, several)``; None means the model's own seed (``MLP(seed=...)``), one run."""
    if seed is None:
        return [int(model.seed)], False
    if isinstance(seed, int):
        return [seed], False
    return list(seed), True


def _streams(seeds, *names) -> list[list]:
    """For each stream name, one Generator per seed: :func:`astrocore.backend.stream` ``(seed, name)``."""
    return [[backend._stream(s, name) for s in seeds] for name in names]


def _check_seed_memory(model, seeds, copies: int = 8) -> None:
    """Refuse lockstep runs of ``seeds`` whose parameter-sized arrays cannot fit."""
    itemsize, n = np.dtype(model.dtype).itemsize, len(seeds)
    per_seed = itemsize * (copies * model.n_params + 2 * EVAL_CHUNK * max(model.sizes))
    check_memory_estimate("seed", list(seeds), n * per_seed,
                          f"{n} seeds in lockstep: {copies} arrays of {model.n_params} parameters and the "
                          "evaluation's activations per seed")


def _check_checkpoint_memory(steps: int, every: int, n_seeds: int) -> None:
    """Refuse a run whose recorded checkpoints cannot fit (``eval_every`` far below ``steps``)."""
    n_checkpoints = -(-steps // every) + 1
    check_memory_estimate("steps", steps, n_checkpoints * (48 + 8 * 6 * n_seeds + 6 * 120),
                          f"{n_checkpoints} checkpoints recorded, one every {every} steps: raise eval_every")


class MinibatchStream:
    """Minibatch ``i`` of each seed: consecutive slices of a stream of shuffled epochs.

    ``batch_size=None`` (or >= the training-set size) gives the whole training
    set, unshuffled, every time.
    """

    @validate_params({"n_samples": POSITIVE_INT, "batch_size": Optional(POSITIVE_INT),
                      "generators": NO_VALIDATION})
    def __init__(self, n_samples: int, batch_size: int | None, generators):
        self.n = n_samples
        self.full = batch_size is None or batch_size >= n_samples
        self.batch_size = n_samples if self.full else int(batch_size)
        self._gens = generators
        self._buffers = [np.empty(0, dtype=np.int64) for _ in generators]
        self._start = 0  # index of the first batch held in the buffers

    def indices(self, first: int, count: int) -> np.ndarray:
        """Sample indices of batches ``first .. first+count-1``: (S, count, batch_size)."""
        S, B = len(self._gens), self.batch_size
        if self.full:
            return np.broadcast_to(np.arange(self.n), (S, count, B))
        if first < self._start:
            raise ValueError("minibatches must be requested in increasing order")
        drop = (first - self._start) * B
        need = (count + first - self._start) * B
        for s, gen in enumerate(self._gens):
            buf = self._buffers[s]
            while buf.size < need:
                buf = np.concatenate([buf, backend.to_host(gen.permutation(self.n))])
            self._buffers[s] = buf[drop:]
        self._start = first
        return np.stack([buf[: count * B].reshape(count, B) for buf in self._buffers])


@validate_params({"model": NETWORK, "theta": Array((1, 2)), "X": Array(2), "Y": Array(2)})
def evaluate(model, theta, X, Y):
    """Mean cost and accuracy of each parameter row on (X, Y): two arrays (S,).

    ``theta`` (N,) or (S, N), ``X`` (n, n_inputs), ``Y`` (n, n_outputs): finite
    and non-empty, converted to the model's floating dtype."""
    xp = backend.xp()
    theta, X, Y = model._inputs(xp.atleast_2d(theta), X, Y)
    return _evaluate(model, theta, X, Y)


def _evaluate(model, theta, X, Y):
    """:func:`evaluate` without validation (the trainers' checkpoints)."""
    xp = backend.xp()
    theta = xp.atleast_2d(xp.asarray(theta))
    X, Y = xp.asarray(X, dtype=theta.dtype), xp.asarray(Y, dtype=theta.dtype)
    cost = xp.zeros(theta.shape[0], dtype=np.float64)
    correct = xp.zeros(theta.shape[0], dtype=np.float64)
    for start in range(0, X.shape[0], EVAL_CHUNK):
        xb, yb = X[start:start + EVAL_CHUNK], Y[start:start + EVAL_CHUNK]
        out = model._forward(theta, xb)
        cost += xp.sum(model._per_sample_loss(out, yb), axis=-1)
        if model.n_outputs == 1:
            correct += xp.sum((out[..., 0] > 0.5) == (yb[:, 0] > 0.5), axis=-1)
        else:
            correct += xp.sum(xp.argmax(out, axis=-1) == xp.argmax(yb, axis=-1), axis=-1)
    n = X.shape[0]
    return backend.to_host(cost / n), backend.to_host(correct / n)


DIVERGENCE_RATIO = 1e6


@validate_params({"cost": NO_VALIDATION, "step": Integer(0), "context": InstanceOf(dict, example=dict),
                  "initial": NO_VALIDATION})
def check_divergence(cost, step: int, context: dict, initial=None):
    """Raise FloatingPointError naming the step, cost and hyperparameters when the
    cost is NaN/inf or, given the ``initial`` cost, has grown DIVERGENCE_RATIO-fold.

    The trainers check their data up front (:func:`check_data`), so a
    non-finite cost here comes from the training itself (eta, the amplitude,
    a cost-noise callable)."""
    cost = np.asarray(cost)
    why = None
    if not np.all(np.isfinite(cost)):
        why = "is not finite"
    elif initial is not None and np.any(cost > DIVERGENCE_RATIO * np.maximum(initial, 1e-12)):
        why = f"exceeds {DIVERGENCE_RATIO:g} times the initial cost {np.asarray(initial).tolist()}"
    if why:
        settings = ", ".join(f"{k}={v}" for k, v in context.items())
        raise FloatingPointError(
            f"training diverged at step {step}: cost {cost.tolist()} {why} ({settings}); "
            "reduce eta or the amplitude")


class TrajectoryRecorder:
    """Collects evaluation checkpoints and builds the trajectory Dataset."""

    @validate_params({"model": NETWORK, "data": NO_VALIDATION, "seeds": Seeds(), "with_cosine": Bool()})
    def __init__(self, model, data, seeds, with_cosine: bool = False):
        check_data(model, data)
        self.model, self.data, self.seeds = model, data, list(seeds)
        xp = backend.xp()
        self._splits = [(xp.asarray(getattr(data, f"x_{split}"), dtype=model.dtype),
                         xp.asarray(getattr(data, f"y_{split}"), dtype=model.dtype)) for split in ("train", "test")]
        self.rows: dict[str, list] = {k: [] for k in (
            "step", "cost", "train_accuracy", "test_accuracy", "cost_evaluations", "wall_seconds")}
        if with_cosine:
            self.rows["grad_cosine"] = []
        self._t0 = time.perf_counter()

    def record(self, step: int, theta, evaluations: int, cosine=None):
        """Evaluate ``theta`` (the trainer's own parameters, unchecked) on both splits."""
        (x_train, y_train), (x_test, y_test) = self._splits
        train_cost, train_acc = _evaluate(self.model, theta, x_train, y_train)
        _, test_acc = _evaluate(self.model, theta, x_test, y_test)
        self.rows["step"].append(step)
        self.rows["cost"].append(train_cost)
        self.rows["train_accuracy"].append(train_acc)
        self.rows["test_accuracy"].append(test_acc)
        self.rows["cost_evaluations"].append(evaluations)
        self.rows["wall_seconds"].append(time.perf_counter() - self._t0)
        if "grad_cosine" in self.rows:
            self.rows["grad_cosine"].append(
                np.full(len(self.seeds), np.nan) if cosine is None else backend.to_host(cosine))
        return train_cost

    def dataset(self, theta, attrs: dict) -> xr.Dataset:
        per_seed = {
            "cost": ("training cost (full training set)", "1"),
            "train_accuracy": ("training accuracy", "1"),
            "test_accuracy": ("test accuracy", "1"),
            "grad_cosine": ("cosine between the update direction and the backprop gradient", "1"),
        }
        coords = {"seed": ("seed", np.asarray(self.seeds)), "step": ("step", np.asarray(self.rows["step"]))}
        data_vars = {
            name: (("seed", "step"), np.stack(self.rows[name], axis=1), {"long_name": ln, "units": u})
            for name, (ln, u) in per_seed.items() if name in self.rows
        }
        data_vars["cost_evaluations"] = (
            "step", np.asarray(self.rows["cost_evaluations"], dtype=np.int64),
            {"long_name": "cumulative cost evaluations (forward passes on a batch) per seed",
             "units": "1"})
        data_vars["wall_seconds"] = ("step", np.asarray(self.rows["wall_seconds"]),
                                     {"long_name": "wall-clock time since start (all seeds)", "units": "s"})
        data_vars["theta"] = (("seed", "param"), backend.to_host(theta),
                              {"long_name": "final parameters", "units": "1"})
        ds = xr.Dataset(data_vars, coords=coords)
        ds["step"].attrs = {"long_name": "training step", "units": "1"}
        ds.attrs.update({k: v for k, v in attrs.items()})
        ds.attrs.update({f"model_{k}": v for k, v in self.model.hyperparameters().items()})
        ds.attrs["dataset"] = self.data.name
        return ds


@validate_params({"steps": POSITIVE_INT, "eval_every": Optional(POSITIVE_INT), "stride": POSITIVE_INT,
                  "n_seeds": POSITIVE_INT})
def eval_steps(steps: int, eval_every: int | None, stride: int = 1, n_seeds: int = 1) -> np.ndarray:
    """Checkpoint steps: 0, every ``eval_every`` (rounded to ``stride``), and ``steps``.

    Refuses (before allocating) a number of checkpoints whose records for
    ``n_seeds`` seeds cannot fit in memory."""
    if eval_every is None:
        eval_every = max(stride, steps // 50)
    every = max(stride, (eval_every // stride) * stride)
    _check_checkpoint_memory(steps, every, n_seeds)
    return np.unique(np.r_[np.arange(0, steps, every), steps])


INDEX_BLOCK = 1024
"""Minibatches drawn at a time by :func:`train_backprop` (bounds the index arrays, whatever eval_every)."""


@validate_params({"model": MODEL, "data": NO_VALIDATION, "eta": Real(0, closed="neither"), "steps": POSITIVE_INT,
                  "batch_size": Optional(POSITIVE_INT), "optimizer": Choice(OPTIMIZERS), "seed": SEEDS,
                  "eval_every": Optional(POSITIVE_INT), "max_duration": DURATION})
def train_backprop(model, data, *, eta: float = DEFAULTS["eta"], steps: int = DEFAULTS["steps"],
                   batch_size: int | None = DEFAULTS["batch_size"], optimizer: str = DEFAULTS["optimizer"],
                   seed=None, eval_every: int | None = None,
                   max_duration: float | None = MAX_DURATION) -> xr.Dataset:
    """Minibatch training with the backpropagation gradient: the reference for MGD.

    One step: draw the next minibatch, g = dC/dtheta by backprop, apply the
    optimiser. ``cost_evaluations`` counts forward passes (each with one
    backward pass). Returns the same trajectory Dataset as :func:`astrocore.mgd.train`,
    with the same conventions: ``seed`` an int or a list (default: the model's
    seed), each run starting from :meth:`astrocore.nets.MLP.init_params` of its
    seed and drawing its minibatches from its ``minibatches`` stream, so MGD and
    backprop with the same seed start at the same parameters and see the same
    samples in the same order.

    ``data`` is checked once (:func:`check_data`). A run estimated (after its
    first quarter second) to take longer than ``max_duration`` seconds (default
    :data:`MAX_DURATION`, a week; None: no limit) is refused, naming ``steps``;
    the estimate is logged once, and a progress bar with its ETA runs on a
    terminal (:func:`progress`).
    """
    seeds, _ = _run_seeds(model, seed)
    check_data(model, data)
    _check_seed_memory(model, seeds, copies=4)
    checkpoints = eval_steps(steps, eval_every, n_seeds=len(seeds))
    xp = backend.xp()
    gens, = _streams(seeds, "minibatches")
    theta = xp.stack([model.init_params(seed=s) for s in seeds])
    opts = [Optimizer(optimizer, eta) for _ in seeds]
    stream = MinibatchStream(data.n_train, batch_size, gens)
    X, Y = xp.asarray(data.x_train, dtype=model.dtype), xp.asarray(data.y_train, dtype=model.dtype)
    recorder = TrajectoryRecorder(model, data, seeds)
    attrs = {"method": "backprop", "eta": eta, "steps": steps, "batch_size": batch_size or data.n_train,
             "optimizer": optimizer}
    started = time.perf_counter()
    initial = recorder.record(0, theta, 0)
    clock = RunClock(steps, name="steps", value=steps, max_duration=max_duration, desc="backprop",
                     extra_seconds=(len(checkpoints) - 1) * (time.perf_counter() - started))
    done = 0
    with progress(total=steps, desc="backprop", unit="step") as bar:
        for stop in checkpoints[1:]:
            for first in range(done, stop, INDEX_BLOCK):
                count = min(INDEX_BLOCK, stop - first)
                idx = stream.indices(first, count)
                for i in range(count):
                    for s in range(len(seeds)):
                        rows = idx[s, i]
                        opts[s]._step(theta[s], model._gradient(theta[s], X[rows], Y[rows]))
                    clock.tick(first + i + 1)
                bar.update(count)
            done = stop
            cost = recorder.record(done, theta, done)
            check_divergence(cost, done, {"method": "backprop", "eta": eta, "optimizer": optimizer}, initial)
    return recorder.dataset(theta, attrs)
