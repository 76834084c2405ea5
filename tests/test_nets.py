"""MLP: backprop against central finite differences, batched forward against a loop."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
