"""Bad inputs of the trainers (astrocore.mgd, training, optim), issue 10.

Every case calls only API that predates the fix (mgd.train,
mgd.estimate_gradient, mgd.make_perturbations, training.train_backprop,
training.evaluate, training.eval_steps, optim.Optimizer), so the same case
classifies an older checkout for the before/after count; issue 11 changed
some of those calls on purpose (a direction's options belong to its class,
``direction=mgd.Node(per_sample=...)``; the cost noise to the hardware model,
``hardware=HardwareModel(cost_noise=...)``), and those cases call the new form.

Hang cases (defect 5): ``steps=10**12`` is refused, not run for ever. The
contract: a trainer estimates its duration after its first quarter second of
training and refuses a run that would take longer than ``max_duration``
(default a week) with an error naming ``steps``, the estimate and the limit;
with ``eval_every`` small the checkpoints alone cannot fit and the run is
refused before it starts (naming ``steps`` and the memory estimate). Both
finish within a second; an older checkout runs on (hang) or fails in numpy.
"""

from __future__ import annotations

import numpy as np

from astrocore import datasets, mgd, training
from astrocore.hardware import HardwareModel
from astrocore.nets import MLP
from astrocore.optim import Optimizer

from .case import Case


def _xor():
    return datasets.parity(2), MLP([2, 3, 1], seed=0)


def _train(**kwargs):
    data, model = _xor()
    return mgd.train(model, data, **{"steps": 4, **kwargs})


def _backprop(**kwargs):
    data, model = _xor()
    return training.train_backprop(model, data, **{"steps": 4, **kwargs})


class _UserTask:
    """A task a user built without astrocore.datasets (mgd.train reads these attributes)."""

    def __init__(self, x_train, y_train, x_test=None, y_test=None):
        self.name = "user"
        self.x_train, self.y_train = np.asarray(x_train), np.asarray(y_train)
        self.x_test = self.x_train if x_test is None else np.asarray(x_test)
        self.y_test = self.y_train if y_test is None else np.asarray(y_test)
        self.meta = {}

    n_train = property(lambda self: self.x_train.shape[0])
    n_test = property(lambda self: self.x_test.shape[0])
    n_features = property(lambda self: self.x_train.shape[1])
    n_outputs = property(lambda self: self.y_train.shape[1])


def _parity_arrays():
    data = datasets.parity(2)
    return np.array(data.x_train), np.array(data.y_train)


def _train_user(task, **kwargs):
    return mgd.train(MLP([2, 3, 1], seed=0), task, **{"steps": 4, **kwargs})


def _nan_x_train():
    x, y = _parity_arrays()
    x[2, 1] = np.nan
    return _train_user(_UserTask(x, y))


def _nan_x_test():
    x, y = _parity_arrays()
    x_test = x.copy()
    x_test[1, 0] = np.nan
    return _train_user(_UserTask(x, y, x_test, y))


def _empty_train():
    return _train_user(_UserTask(np.zeros((0, 2)), np.zeros((0, 1))))


def _taskdata_nan():
    x, y = _parity_arrays()
    x[0, 0] = np.nan
    return mgd.train(MLP([2, 3, 1]), datasets.TaskData("nan", x, y, x.copy(), y.copy(), {}), steps=4)


def _backprop_nan():
    x, y = _parity_arrays()
    y[3, 0] = np.inf
    return training.train_backprop(MLP([2, 3, 1]), _UserTask(x, y), steps=4)


def _problem():
    model = MLP([4, 5, 3], activation="tanh", loss="cross_entropy", seed=2)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 4))
    Y = np.eye(3)[rng.integers(0, 3, 8)]
    return model, model.init_params(), X, Y


def _estimate(theta=None, X=None, Y=None, **kwargs):
    model, theta0, X0, Y0 = _problem()
    return mgd.estimate_gradient(model, theta0 if theta is None else theta, X0 if X is None else X,
                                 Y0 if Y is None else Y, **kwargs)


def _nan_at(array, index):
    out = np.array(array, dtype=float)
    out[index] = np.nan
    return out


_, _THETA, _X, _Y = _problem()


def _evaluate_integer_theta():
    model = MLP([2, 1], output_activation="linear")
    X = np.array([[0.3, 0.5], [0.9, 0.9]])
    Y = np.array([[0.8], [1.8]])
    return training.evaluate(model, np.array([1, 1, 0]), X, Y)


CASES = [
    # -- defect 3: string flags are not read with bool()
    Case("mgd/train-highpass-string", lambda: _train(highpass="no"), names=("highpass",), defect=3),
    Case("mgd/train-analog-string", lambda: _train(analog="False"), names=("analog",), defect=3),
    Case("mgd/train-grad-cosine-string", lambda: _train(grad_cosine="no"), names=("grad_cosine",), defect=3),
    Case("mgd/train-per-sample-string", lambda: _train(direction=mgd.Node(per_sample="False")),
         names=("per_sample",), defect=3),
    Case("mgd/estimate-layerwise-string", lambda: _estimate(direction=mgd.Node(layerwise="no")),
         names=("layerwise",), defect=3),
    # -- defect 4: data checked once at the entry point, naming the array; positive reals are finite
    Case("mgd/train-nan-in-x-train", _nan_x_train, names=("x_train", "(2, 1)"), defect=4),
    Case("mgd/train-nan-in-x-test", _nan_x_test, names=("x_test",), defect=4),
    Case("mgd/train-empty-training-set", _empty_train, names=("x_train",), defect=4),
    Case("mgd/train-taskdata-with-nan", _taskdata_nan, names=("x_train",), defect=4),
    Case("mgd/train-eta-inf", lambda: _train(eta=float("inf")), names=("eta",), defect=4),
    Case("mgd/train-amplitude-nan", lambda: _train(amplitude=float("nan")), names=("amplitude",), defect=4),
    Case("mgd/train-tau-hp-inf", lambda: _train(highpass=True, tau_hp=float("inf")), names=("tau_hp",), defect=4),
    Case("mgd/estimate-amplitude-inf", lambda: _estimate(amplitude=float("inf")), names=("amplitude",), defect=4),
    Case("mgd/estimate-nan-in-X", lambda: _estimate(X=_nan_at(_X, (3, 2))), names=("X", "(3, 2)"), defect=4),
    Case("mgd/estimate-nan-in-theta", lambda: _estimate(theta=_nan_at(_THETA, 7)), names=("theta",), defect=4),
    Case("mgd/estimate-empty-batch", lambda: _estimate(X=np.zeros((0, 4)), Y=np.zeros((0, 3))), names=("X",),
         defect=4),
    Case("mgd/training-backprop-inf-in-y-train", _backprop_nan, names=("y_train",), defect=4),
    Case("mgd/optim-eta-inf", lambda: Optimizer("sgd", eta=float("inf")), names=("eta",), defect=4),
    # -- defect 2 through the trainers' evaluation
    Case("mgd/training-evaluate-integer-theta", _evaluate_integer_theta,
         returns=lambda result: np.allclose(result[0], 0.0) and np.allclose(result[1], 1.0), defect=2),
    # -- defect 5: sizes that cannot be met are refused up front; endless runs are refused, not hung
    Case("mgd/estimate-n-perturbations-cannot-fit", lambda: _estimate(n_perturbations=10**12),
         names=("n_perturbations",), defect=5),
    Case("mgd/train-steps-endless", lambda: _train(steps=10**12), names=("steps", "max_duration"), defect=5),
    Case("mgd/train-checkpoints-cannot-fit", lambda: _train(steps=10**12, eval_every=1), names=("steps",),
         defect=5),
    Case("mgd/train-window-cannot-fit", lambda: _train(tau_theta=10**12), names=("tau_theta",), defect=5),
    Case("mgd/train-seeds-cannot-fit",
         lambda: mgd.train(MLP([784, 1024, 10]), datasets.TaskData(
             "wide", np.zeros((4, 784)), np.eye(10)[:4], np.zeros((4, 784)), np.eye(10)[:4], {}),
             steps=4, seed=list(range(100_000))), names=("seed",), defect=5),
    Case("mgd/make-perturbations-cannot-fit",
         lambda: mgd.make_perturbations("walsh", 10**12, 0.1, [np.random.default_rng(0)], "float64"),
         names=("n_params",), defect=5),
    Case("mgd/training-backprop-steps-endless", lambda: _backprop(steps=10**12), names=("steps", "max_duration"),
         defect=5),
    Case("mgd/training-eval-steps-cannot-fit", lambda: training.eval_steps(10**12, 1), names=("steps",),
         defect=5),
    # -- wrong types, out-of-range values, unknown choices, bools where numbers are expected
    Case("mgd/train-mode-unknown", lambda: _train(direction="fourier"), names=("direction",)),
    Case("mgd/train-steps-float", lambda: _train(steps=10.5), names=("steps",)),
    Case("mgd/train-steps-bool", lambda: _train(steps=True), names=("steps",)),
    Case("mgd/train-tau-theta-zero", lambda: _train(tau_theta=0), names=("tau_theta",)),
    Case("mgd/train-batch-size-string", lambda: _train(batch_size="4"), names=("batch_size",)),
    Case("mgd/train-eval-every-zero", lambda: _train(eval_every=0), names=("eval_every",)),
    Case("mgd/train-optimizer-unknown", lambda: _train(optimizer="lbfgs"), names=("optimizer",)),
    Case("mgd/train-cost-noise-string", lambda: _train(hardware=HardwareModel(cost_noise="0.1")),
         names=("cost_noise",)),
    Case("mgd/train-cost-noise-negative", lambda: _train(hardware=HardwareModel(cost_noise=-0.1)),
         names=("cost_noise",)),
    Case("mgd/train-sparsity-one", lambda: _train(direction=mgd.Weight("code", sparsity=1.0)), names=("sparsity",)),
    Case("mgd/train-seed-duplicates", lambda: _train(seed=[3, 3]), names=("seed",)),
    Case("mgd/train-seed-string", lambda: _train(seed="0"), names=("seed",)),
    Case("mgd/train-guide-one", lambda: _train(direction=mgd.Astrocyte(guide=1.0)), names=("guide",)),
    Case("mgd/train-mix-bool", lambda: _train(direction=mgd.Activity(mix=True)), names=("mix",)),
    Case("mgd/train-tau-d-below-one", lambda: _train(direction=mgd.Astrocyte(tau_d=0.5)), names=("tau_d",)),
    Case("mgd/train-hardware-unknown", lambda: _train(hardware="memristor"), names=("hardware",)),
    Case("mgd/train-data-not-a-task", lambda: mgd.train(MLP([2, 3, 1]), "parity", steps=4), names=("data",)),
    Case("mgd/train-sizes-do-not-fit", lambda: mgd.train(MLP([3, 2, 1]), datasets.parity(2), steps=4),
         names=("sizes",)),
    Case("mgd/estimate-mode-unknown", lambda: _estimate(direction="fourier"), names=("direction",)),
    Case("mgd/estimate-n-perturbations-zero", lambda: _estimate(n_perturbations=0), names=("n_perturbations",)),
    Case("mgd/estimate-theta-wrong-length", lambda: _estimate(theta=_THETA[:-2]), names=("theta",)),
    Case("mgd/estimate-X-one-dimensional", lambda: _estimate(X=_X[0]), names=("X",)),
    Case("mgd/estimate-error-trace-shape", lambda: _estimate(direction=mgd.Astrocyte(error_trace=np.zeros(3))),
         names=("error_trace",)),
    Case("mgd/estimate-seed-float", lambda: _estimate(seed=0.5), names=("seed",)),
    Case("mgd/make-perturbations-smart-mode",
         lambda: mgd.make_perturbations("node", 10, 0.1, [np.random.default_rng(0)], "float64"), names=("mode",)),
    Case("mgd/training-backprop-eta-zero", lambda: _backprop(eta=0.0), names=("eta",)),
    Case("mgd/training-backprop-batch-size-zero", lambda: _backprop(batch_size=0), names=("batch_size",)),
    Case("mgd/training-evaluate-theta-3d",
         lambda: training.evaluate(MLP([2, 1]), np.zeros((2, 2, 3)), np.zeros((4, 2)), np.zeros((4, 1))),
         names=("theta",)),
    Case("mgd/optim-momentum-one", lambda: Optimizer("momentum", momentum=1.0), names=("momentum",)),
    Case("mgd/optim-eps-negative", lambda: Optimizer("adam", eps=-1e-8), names=("eps",)),
    Case("mgd/optim-eta-bool", lambda: Optimizer("sgd", eta=True), names=("eta",)),
]
