"""MLP: backprop against central finite differences, batched forward against a loop."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from astrocore import metrics
from astrocore.nets import MLP


def _problem(sizes, loss, seed=0, batch=6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(batch, sizes[0]))
    if loss == "mse":
        Y = rng.uniform(size=(batch, sizes[-1]))
    else:
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]
    return X, Y


def central_difference(model, theta, X, Y, h=1e-6):
    grad = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        grad[i] = (model.loss(theta + e, X, Y) - model.loss(theta - e, X, Y)) / (2 * h)
    return grad


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_backprop_matches_central_differences(activation, loss):
    sizes = [5, 7, 4, 3]
    model = MLP(sizes, activation=activation, loss=loss, seed=1)
    theta = model.init_params() + 0.1  # biases away from relu's kink at 0
    X, Y = _problem(sizes, loss)
    bp = model.gradient(theta, X, Y)
    fd = central_difference(model, theta, X, Y)
    assert np.linalg.norm(bp - fd) / np.linalg.norm(fd) < 1e-6


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
       K=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_batched_forward_equals_one_at_a_time(sizes, K, seed):
    model = MLP(sizes, activation="tanh", loss="mse")
    rng = np.random.default_rng(seed)
    thetas = rng.normal(size=(K, model.n_params))
    X = rng.normal(size=(3, sizes[0]))
    batched = model.forward(thetas, X)
    looped = np.stack([model.forward(t, X) for t in thetas])
    np.testing.assert_allclose(batched, looped, rtol=1e-12, atol=1e-12)
    Xk = rng.normal(size=(K, 3, sizes[0]))
    np.testing.assert_allclose(model.forward(thetas, Xk),
                               np.stack([model.forward(t, x) for t, x in zip(thetas, Xk)]),
                               rtol=1e-12, atol=1e-12)


def test_layer_views_follow_the_flat_layout():
    model = MLP([3, 4, 2])
    theta = np.arange(model.n_params, dtype=float)
    (W1, b1), (W2, b2) = model.layers(theta)
    assert W1.shape == (3, 4) and b1.shape == (4,) and W2.shape == (4, 2) and b2.shape == (2,)
    assert model.n_params == 3 * 4 + 4 + 4 * 2 + 2
    np.testing.assert_array_equal(W1.ravel(), np.arange(12))
    np.testing.assert_array_equal(b2, theta[-2:])


def test_cross_entropy_against_its_definition():
    model = MLP([2, 3], loss="cross_entropy")
    theta = model.init_params()
    X = np.array([[0.3, -1.0]])
    Y = np.array([[0.0, 1.0, 0.0]])
    z = model.forward(theta, X)[0]
    expected = -np.log(np.exp(z[1]) / np.exp(z).sum())
    assert model.loss(theta, X, Y) == pytest.approx(expected, rel=1e-12)


def test_float32_model_keeps_float32():
    model = MLP([4, 3, 2], dtype="float32")
    theta = model.init_params()
    assert theta.dtype == np.float32
    assert model.forward(theta, np.ones((2, 4))).dtype == np.float32


def test_init_is_seeded():
    a, b = MLP([4, 3, 2], seed=3).init_params(), MLP([4, 3, 2], seed=3).init_params()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, MLP([4, 3, 2], seed=4).init_params())


@pytest.mark.parametrize("kwargs, message", [
    ({"sizes": [4]}, "at least two"),
    ({"sizes": [4, 0, 2]}, "positive ints"),
    ({"sizes": [4, 2], "activation": "swish"}, "activation must be one of"),
    ({"sizes": [4, 2], "loss": "hinge"}, "loss must be one of"),
    ({"sizes": [4, 2], "loss": "cross_entropy", "output_activation": "sigmoid"}, "logits"),
    ({"sizes": [4, 2], "dtype": "float16"}, "dtype must be one of"),
    ({"sizes": [4, 2], "seed": -1}, "seed"),
])
def test_bad_construction_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MLP(**kwargs)


def test_inputs_that_do_not_fit_the_layers_are_rejected():
    model = MLP([4, 3, 2])
    theta = model.init_params()
    with pytest.raises(ValueError, match="input layer has 4"):
        model.forward(theta, np.ones((2, 5)))
    with pytest.raises(ValueError, match="n_params"):
        model.forward(theta[:-1], np.ones((2, 4)))
    with pytest.raises(ValueError, match="targets"):
        model.loss(theta, np.ones((2, 4)), np.ones((2, 3)))


# -- the validation layer at the entry points (issue 10) --------------------------------------------
X_SUM = np.array([[0.3, 0.5], [0.9, 0.9]])


@pytest.mark.parametrize("theta", [np.array([1, 1, 0]), np.array([True, True, False]), [1, 1, 0]])
def test_integer_parameters_become_the_models_float_dtype_not_the_other_way(theta):
    for dtype in ("float64", "float32"):
        model = MLP([2, 1], output_activation="linear", dtype=dtype)
        out = model.forward(theta, X_SUM)
        assert out.dtype == np.dtype(dtype)
        np.testing.assert_allclose(out.ravel(), [0.8, 1.8], rtol=1e-6)
    model = MLP([2, 2, 1], activation="tanh")
    theta = np.array([1, -1, 2, 0, 1, 0, 1, -2, 0])
    X, Y = np.array([[0.3, 0.5], [0.9, 0.1]]), np.array([[0.2], [0.7]])
    np.testing.assert_array_equal(model.gradient(theta, X, Y), model.gradient(theta.astype(float), X, Y))
    assert model.loss(theta, X, Y) == model.loss(theta.astype(float), X, Y)


def test_integer_data_is_converted_up_too():
    model = MLP([2, 1], output_activation="linear")
    out = model.forward(np.array([0.5, 0.25, 0.0]), np.array([[1, 2], [3, 4]]))
    np.testing.assert_allclose(out.ravel(), [1.0, 2.5])


@pytest.mark.parametrize("call, message", [
    (lambda m, t, X, Y: m.forward(t, np.where(np.arange(12).reshape(4, 3) == 7, np.nan, X)),
     r"X must be finite, got nan at index \(2, 1\)"),
    (lambda m, t, X, Y: m.forward(np.where(np.arange(t.size) == 5, np.inf, t), X),
     r"theta must be finite, got inf at index \(5,\)"),
    (lambda m, t, X, Y: m.forward(t, np.zeros((0, 3))), r"X must not be empty, got shape \(0, 3\)"),
    (lambda m, t, X, Y: m.loss(t, X, np.where(np.arange(8).reshape(4, 2) == 0, np.nan, Y)),
     r"Y must be finite, got nan at index \(0, 0\)"),
    (lambda m, t, X, Y: m.gradient(t, np.zeros((0, 3)), np.zeros((0, 2))), r"X must not be empty"),
    (lambda m, t, X, Y: m.gradient(np.stack([t, t]), X, Y), r"theta must have 1 dimension\(s\), got shape \(2, "),
    (lambda m, t, X, Y: m.forward(t, X, return_hidden="no"), r"return_hidden must be a bool \(True or False\)"),
    (lambda m, t, X, Y: m.forward(t, X, hook=3), "hook must be None or an instance of Callable, got 3"),
    (lambda m, t, X, Y: m.forward(t, X, device="pcm"), "device must be None or an astrocore.hardware.Device"),
    (lambda m, t, X, Y: m.forward(np.stack([t] * 3), np.stack([X] * 2)), "theta of shape .* and X of shape .* do "
                                                                          "not broadcast"),
    (lambda m, t, X, Y: m.forward(t, "1 2 3"), "X must be a real-valued array"),
    (lambda m, t, X, Y: m.init_params(seed=-1), "seed must be None or a non-negative int, got -1"),
    (lambda m, t, X, Y: m.per_sample_loss(np.ones((4, 3)), Y), r"outputs must have shape \(\.\.\., n_samples, 2\)"),
])
def test_bad_data_is_refused_at_the_entry_point_naming_the_array(call, message):
    model = MLP([3, 4, 2], activation="tanh", loss="cross_entropy")
    X = np.random.default_rng(0).normal(size=(4, 3))
    Y = np.eye(2)[[0, 1, 1, 0]]
    with pytest.raises(ValueError, match=message):
        call(model, model.init_params(), X, Y)


def test_requests_that_cannot_fit_are_refused_before_allocating(monkeypatch):
    monkeypatch.setenv("ASTROCORE_MAX_MEMORY", str(2**30))
    with pytest.raises(MemoryError, match=r"sizes=\[100000, 100000\] needs about 74.5 GiB .*reduce sizes"):
        MLP([100_000, 100_000])
    model = MLP([2, 1000, 1])
    with pytest.raises(MemoryError, match=r"X=\(20000, 2\) needs about .* \(activations of 3000 parameter vector\(s\) "
                                          r"on 20000 samples\)"):
        model.forward(np.zeros((3000, model.n_params)), np.zeros((20000, 2)))


def test_the_sizes_constraint_refuses_what_it_generates():
    from astrocore.nets import SIZES
    for bad in SIZES.invalid_examples():
        with pytest.raises(ValueError, match="sizes must be a sequence of at least two positive ints"):
            MLP(bad)
    assert MLP(np.array([3, 2])).sizes == (3, 2) and MLP(SIZES.valid_example()).sizes == (2, 3, 1)


@pytest.mark.parametrize("call, message", [
    (lambda: metrics.accuracy(np.zeros((4, 2)), np.zeros((3, 2))), r"outputs and targets must have one shape"),
    (lambda: metrics.accuracy(np.zeros((0, 2)), np.zeros((0, 2))), r"outputs must not be empty"),
    (lambda: metrics.cosine(np.array([1.0, np.nan]), np.ones(2)), r"a must be finite, got nan at index \(1,\)"),
    (lambda: metrics.cosine(np.ones(3), np.ones(4)), r"a and b must have broadcastable shapes"),
    (lambda: metrics.cosine(np.ones(3), np.ones(3), axis=1), r"axis must be an axis of arrays of shape \(3,\)"),
    (lambda: metrics.cosine_theory(10, [4, 0]), r"n_perturbations must be > 0, got 0.0 at index \(1,\)"),
    (lambda: metrics.cosine_theory(True, 4), "n_params must be a positive integer, got True"),
    (lambda: metrics.valid_prediction_time(np.ones((5, 2)), np.ones((5, 2)), dt=np.inf),
     "dt must be a finite real number > 0, got inf"),
    (lambda: metrics.nrmse(np.ones((5, 2)), np.where(np.eye(5, 2) > 0, np.nan, 1.0)), "truth must be finite"),
    (lambda: metrics.nrmse(np.ones((5, 2)), np.arange(10.0).reshape(5, 2), scale=np.ones(3)),
     r"scale of shape \(3,\) does not broadcast"),
    (lambda: metrics.distribution_distance(np.ones((5, 2)), np.ones((5, 2)), method="kl"), "method must be one of"),
])
def test_metrics_refuse_bad_input_naming_it(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_diverged_forecast_is_still_scored():
    truth = np.stack([np.sin(np.linspace(0, 6, 40)), np.cos(np.linspace(0, 6, 40))], axis=1)
    forecast = truth.copy()
    forecast[10:] = np.inf
    assert metrics.valid_prediction_time(forecast, truth, dt=0.5) == pytest.approx(5.0)
