"""Shared pieces of the training loops: minibatch streams, evaluation,
trajectory datasets, progress bars, and the backpropagation baseline.

Every trainer in astrocore runs ``S`` seeds in lockstep (parameters of shape
``(S, n_params)``), each seed with its own random stream, so a seed's numbers
do not depend on which other seeds run beside it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

import numpy as np
import xarray as xr

from . import backend, metrics
from .optim import Optimizer, check_positive

EVAL_CHUNK = 8192


def progress(iterable=None, **kwargs):
    """A tqdm bar, silent under CI, off a terminal, or with ASTROCORE_PROGRESS=0."""
    from tqdm import tqdm  # noqa: PLC0415

    quiet = (os.environ.get("CI") or os.environ.get("ASTROCORE_PROGRESS") == "0"
             or not sys.stderr.isatty())
    return tqdm(iterable, disable=bool(quiet) or kwargs.pop("disable", False), **kwargs)


def as_seed_list(seed) -> list[int]:
    """``seed`` as a non-empty list of distinct non-negative ints."""
    seeds = [seed] if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) else seed
    if not isinstance(seeds, Sequence) or isinstance(seeds, str) or not seeds:
        raise ValueError(f"seed must be a non-negative int or a non-empty list of them, got {seed!r}")
    for s in seeds:
        backend.rng(s)  # validates
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {list(seeds)}")
    return [int(s) for s in seeds]


def check_fits(model, data):
    """Raise ValueError if the model's input/output layers do not fit ``data``."""
    if model.n_inputs != data.n_features or model.n_outputs != data.n_outputs:
        raise ValueError(
            f"layer sizes {list(model.sizes)} do not fit the data '{data.name}': it has "
            f"{data.n_features} features and {data.n_outputs} target columns, so sizes must "
            f"start with {data.n_features} and end with {data.n_outputs}")


class MinibatchStream:
    """Minibatch ``i`` of each seed: consecutive slices of a stream of shuffled epochs.

    ``batch_size=None`` (or >= the training-set size) gives the whole training
    set, unshuffled, every time.
    """

    def __init__(self, n_samples: int, batch_size: int | None, generators):
        if batch_size is not None:
            check_positive("batch_size", batch_size, integer=True)
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


def evaluate(model, theta, X, Y):
    """Mean cost and accuracy of each parameter row on (X, Y): two arrays (S,)."""
    xp = backend.xp()
    theta = xp.atleast_2d(xp.asarray(theta))
    X, Y = xp.asarray(X, dtype=theta.dtype), xp.asarray(Y, dtype=theta.dtype)
    cost = xp.zeros(theta.shape[0], dtype=np.float64)
    correct = xp.zeros(theta.shape[0], dtype=np.float64)
    for start in range(0, X.shape[0], EVAL_CHUNK):
        xb, yb = X[start:start + EVAL_CHUNK], Y[start:start + EVAL_CHUNK]
        out = model.forward(theta, xb)
        cost += xp.sum(model.per_sample_loss(out, yb), axis=-1)
        if model.n_outputs == 1:
            correct += xp.sum((out[..., 0] > 0.5) == (yb[:, 0] > 0.5), axis=-1)
        else:
            correct += xp.sum(xp.argmax(out, axis=-1) == xp.argmax(yb, axis=-1), axis=-1)
    n = X.shape[0]
    return backend.to_host(cost / n), backend.to_host(correct / n)


DIVERGENCE_RATIO = 1e6


def check_finite(cost, step: int, context: dict, initial=None):
    """Raise FloatingPointError naming the step, cost and hyperparameters when the
    cost is NaN/inf or, given the ``initial`` cost, has grown DIVERGENCE_RATIO-fold."""
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

    def __init__(self, model, data, seeds, with_cosine: bool = False):
        self.model, self.data, self.seeds = model, data, seeds
        self.rows: dict[str, list] = {k: [] for k in (
            "step", "cost", "train_accuracy", "test_accuracy", "cost_evaluations", "wall_seconds")}
        if with_cosine:
            self.rows["grad_cosine"] = []
        self._t0 = time.perf_counter()

    def record(self, step: int, theta, evaluations: int, cosine=None):
        train_cost, train_acc = evaluate(self.model, theta, self.data.x_train, self.data.y_train)
        _, test_acc = evaluate(self.model, theta, self.data.x_test, self.data.y_test)
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


def eval_steps(steps: int, eval_every: int | None, stride: int = 1) -> np.ndarray:
    """Checkpoint steps: 0, every ``eval_every`` (rounded to ``stride``), and ``steps``."""
    check_positive("steps", steps, integer=True)
    if eval_every is None:
        eval_every = max(stride, steps // 50)
    check_positive("eval_every", eval_every, integer=True)
    every = max(stride, (eval_every // stride) * stride)
    return np.unique(np.r_[np.arange(0, steps, every), steps])


def train_backprop(model, data, *, eta: float = 1e-3, steps: int = 1000, batch_size: int | None = 32,
                   optimizer: str = "adam", seed=0, eval_every: int | None = None) -> xr.Dataset:
    """Minibatch training with the backpropagation gradient: the reference for MGD.

    One step: draw the next minibatch, g = dC/dtheta by backprop, apply the
    optimiser. ``cost_evaluations`` counts forward passes (each with one
    backward pass). Returns the same trajectory Dataset as :func:`astrocore.mgd.train`.
    """
    seeds = as_seed_list(seed)
    check_fits(model, data)
    check_positive("eta", eta)
    checkpoints = eval_steps(steps, eval_every)
    xp = backend.xp()
    gens = [backend.rng(s) for s in seeds]
    theta = xp.stack([model.init_params(seed=s) for s in seeds])
    opts = [Optimizer(optimizer, eta) for _ in seeds]
    stream = MinibatchStream(data.n_train, batch_size, gens)
    X, Y = xp.asarray(data.x_train, dtype=model.dtype), xp.asarray(data.y_train, dtype=model.dtype)
    recorder = TrajectoryRecorder(model, data, seeds)
    attrs = {"method": "backprop", "eta": eta, "steps": steps, "batch_size": batch_size or data.n_train,
             "optimizer": optimizer}
    initial = recorder.record(0, theta, 0)
    done = 0
    with progress(total=steps, desc="backprop", unit="step") as bar:
        for stop in checkpoints[1:]:
            idx = stream.indices(done, stop - done)
            for i in range(stop - done):
                for s in range(len(seeds)):
                    rows = idx[s, i]
                    opts[s].step(theta[s], model.gradient(theta[s], X[rows], Y[rows]))
            bar.update(stop - done)
            done = stop
            cost = recorder.record(done, theta, done)
            check_finite(cost, done, {"method": "backprop", "eta": eta, "optimizer": optimizer}, initial)
    return recorder.dataset(theta, attrs)
