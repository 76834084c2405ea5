"""Bad inputs of the network, its metrics and the backend (astrocore.nets, metrics, backend), issue 10.

Every case calls only API that predates the fix (MLP and its methods,
the metrics functions, backend.rng/set_backend), so the same case
classifies an older checkout for the before/after count. Where the right
answer is a correct result (integer input converted to the model's
floating dtype, not truncated: defect 2) the case is a ``returns``
predicate comparing with the float computation.
"""

from __future__ import annotations

import numpy as np

from astrocore import backend, metrics
from astrocore.nets import MLP

from .case import Case

# A linear network whose output is the sum of its two inputs: theta = [w1, w2, b] = [1, 1, 0]
X_SUM = np.array([[0.3, 0.5], [0.9, 0.9]])


def _adder():
    return MLP([2, 1], output_activation="linear")


def _small():
    model = MLP([3, 4, 2], activation="tanh", loss="cross_entropy", seed=1)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 3))
    Y = np.eye(2)[rng.integers(0, 2, 5)]
    return model, model.init_params(), X, Y


def _with(index, value, array):
    out = np.array(array, dtype=float)
    out[index] = value
    return out


def _integer_gradient():
    model = MLP([2, 2, 1], activation="tanh")
    theta = np.array([1, -1, 2, 0, 1, 0, 1, -2, 0])
    X, Y = np.array([[0.3, 0.5], [0.9, 0.1]]), np.array([[0.2], [0.7]])
    return model.gradient(theta, X, Y), model.gradient(theta.astype(float), X, Y)


def _integer_loss():
    model, theta, X, Y = _small()
    rounded = np.rint(3 * theta).astype(int)
    return model.loss(rounded, X, Y), model.loss(rounded.astype(float), X, Y)


def _forward(theta=None, X=None, **kwargs):
    model, theta0, X0, _ = _small()
    return model.forward(theta0 if theta is None else theta, X0 if X is None else X, **kwargs)


def _loss(theta=None, X=None, Y=None):
    model, theta0, X0, Y0 = _small()
    return model.loss(theta0 if theta is None else theta, X0 if X is None else X, Y0 if Y is None else Y)


def _gradient(theta=None, X=None, Y=None):
    model, theta0, X0, Y0 = _small()
    return model.gradient(theta0 if theta is None else theta, X0 if X is None else X, Y0 if Y is None else Y)


_, _THETA, _X, _Y = _small()
_TRUTH = np.stack([np.sin(np.linspace(0, 6, 50)), np.cos(np.linspace(0, 6, 50))], axis=1)

CASES = [
    # -- defect 2: integer input converted up to the model's float dtype, never X cast down
    Case("nets/forward-integer-theta-converted", lambda: _adder().forward(np.array([1, 1, 0]), X_SUM),
         returns=lambda out: np.allclose(np.ravel(out), [0.8, 1.8]), defect=2),
    Case("nets/forward-bool-theta-converted", lambda: _adder().forward(np.array([True, True, False]), X_SUM),
         returns=lambda out: np.allclose(np.ravel(out), [0.8, 1.8]), defect=2),
    Case("nets/gradient-integer-theta-converted", _integer_gradient,
         returns=lambda pair: np.allclose(pair[0], pair[1]) and np.asarray(pair[0]).dtype.kind == "f", defect=2),
    Case("nets/loss-integer-theta-converted", _integer_loss,
         returns=lambda pair: np.allclose(pair[0], pair[1]), defect=2),
    Case("nets/predict-integer-theta-converted", lambda: _adder().predict(np.array([1, 1, 0]), X_SUM / 2),
         returns=lambda out: list(np.ravel(out)) == [0, 1], defect=2),
    # -- defect 3: bool parameters take bools only
    Case("nets/forward-return_hidden-string", lambda: _forward(return_hidden="no"), names=("return_hidden",),
         defect=3),
    # -- defect 4: NaN, inf and empty data checked once at the entry point, naming the array
    Case("nets/forward-nan-in-X", lambda: _forward(X=_with((2, 1), np.nan, _X)), names=("X", "(2, 1)"),
         defect=4),
    Case("nets/forward-inf-in-theta", lambda: _forward(theta=_with(4, np.inf, _THETA)), names=("theta", "(4,)"),
         defect=4),
    Case("nets/forward-empty-batch", lambda: _forward(X=np.zeros((0, 3))), names=("X",), defect=4),
    Case("nets/loss-nan-in-Y", lambda: _loss(Y=_with((0, 0), np.nan, _Y)), names=("Y",), defect=4),
    Case("nets/gradient-nan-in-theta", lambda: _gradient(theta=_with(0, np.nan, _THETA)), names=("theta",),
         defect=4),
    Case("nets/gradient-empty-batch", lambda: _gradient(X=np.zeros((0, 3)), Y=np.zeros((0, 2))), names=("X",),
         defect=4),
    Case("nets/forward-X-wrong-feature-count", lambda: _forward(X=np.ones((5, 4))), names=("X", "input layer")),
    Case("nets/forward-theta-wrong-length", lambda: _forward(theta=_THETA[:-1]), names=("theta", "n_params")),
    Case("nets/loss-Y-wrong-columns", lambda: _loss(Y=np.ones((5, 3))), names=("Y",)),
    Case("nets/gradient-theta-batch-of-vectors", lambda: _gradient(theta=np.stack([_THETA, _THETA])),
         names=("theta",)),
    Case("nets/forward-theta-and-X-do-not-broadcast",
         lambda: _forward(theta=np.stack([_THETA] * 3), X=np.stack([_X] * 2)), names=("theta", "X")),
    Case("nets/forward-X-string", lambda: _forward(X="0.1 0.2 0.3"), names=("X",)),
    # -- defect 5: a request that cannot fit is refused before allocating, naming the parameter
    Case("nets/mlp-too-many-parameters", lambda: MLP([10**6, 10**6]).init_params(), names=("sizes",),
         defect=5),
    Case("nets/forward-activations-cannot-fit",
         lambda: MLP([2, 1000, 1]).forward(np.zeros((3000, 4001)), np.zeros((20000, 2))), names=("X",),
         defect=5),
    # -- wrong types, unknown choices, out-of-range values
    Case("nets/mlp-sizes-string", lambda: MLP("4-3-2"), names=("sizes",)),
    Case("nets/mlp-sizes-float-width", lambda: MLP([4, 2.5, 1]), names=("sizes",)),
    Case("nets/mlp-sizes-bool-width", lambda: MLP([4, True]), names=("sizes",)),
    Case("nets/mlp-activation-unknown", lambda: MLP([2, 1], activation="swish"), names=("activation",)),
    Case("nets/mlp-loss-unknown", lambda: MLP([2, 1], loss="hinge"), names=("loss",)),
    Case("nets/mlp-dtype-unknown", lambda: MLP([2, 1], dtype="float16"), names=("dtype",)),
    Case("nets/mlp-seed-float", lambda: MLP([2, 1], seed=1.5), names=("seed",)),
    Case("nets/init-params-seed-negative", lambda: MLP([2, 1]).init_params(seed=-3), names=("seed",)),
    Case("nets/forward-hook-not-callable", lambda: _forward(hook=3), names=("hook",)),
    # -- metrics
    Case("nets/metrics-accuracy-shapes-differ", lambda: metrics.accuracy(np.zeros((4, 2)), np.zeros((3, 2))),
         names=("outputs", "targets")),
    Case("nets/metrics-accuracy-empty", lambda: metrics.accuracy(np.zeros((0, 2)), np.zeros((0, 2))),
         names=("outputs",), defect=4),
    Case("nets/metrics-cosine-nan", lambda: metrics.cosine(_with(1, np.nan, np.ones(3)), np.ones(3)),
         names=("a",), defect=4),
    Case("nets/metrics-cosine-axis-float", lambda: metrics.cosine(np.ones(3), np.ones(3), axis=0.5),
         names=("axis",)),
    Case("nets/metrics-cosine-theory-zero-perturbations", lambda: metrics.cosine_theory(10, 0),
         names=("n_perturbations",)),
    Case("nets/metrics-cosine-theory-n_params-bool", lambda: metrics.cosine_theory(True, 4),
         names=("n_params",)),
    Case("nets/metrics-vpt-dt-inf", lambda: metrics.valid_prediction_time(_TRUTH, _TRUTH, dt=np.inf),
         names=("dt",), defect=4),
    Case("nets/metrics-vpt-threshold-nan",
         lambda: metrics.valid_prediction_time(_TRUTH, _TRUTH, dt=0.1, threshold=np.nan), names=("threshold",)),
    Case("nets/metrics-nrmse-truth-nan", lambda: metrics.nrmse(_TRUTH, _with((3, 0), np.nan, _TRUTH)),
         names=("truth",), defect=4),
    Case("nets/metrics-climate-method-unknown", lambda: metrics.distribution_distance(_TRUTH, _TRUTH, method="kl"),
         names=("method",)),
    # -- backend
    Case("nets/backend-rng-seed-string", lambda: backend.rng("7"), names=("seed",)),
    Case("nets/backend-rng-seed-bool", lambda: backend.rng(True), names=("seed",)),
    Case("nets/backend-unknown", lambda: backend.set_backend("torch"), names=("torch",)),
]
