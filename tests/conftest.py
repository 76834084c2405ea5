"""Fixtures shared by the MGD and smart-perturbation tests."""

import os

import numpy as np
import pytest

from astrocore import datasets
from astrocore.nets import MLP

os.environ.setdefault("ASTROCORE_PROGRESS", "0")


@pytest.fixture(scope="session")
def problem():
    """A small classification problem: (model, theta, X, Y, backprop gradient)."""
    model = MLP([4, 5, 3], activation="tanh", loss="cross_entropy", seed=2)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 4))
    Y = np.eye(3)[rng.integers(0, 3, 8)]
    theta = model.init_params()
    return model, theta, X, Y, model.gradient(theta, X, Y)


@pytest.fixture(scope="session")
def xor():
    """2-bit parity with a [2, 4, 1] sigmoid network."""
    return datasets.parity(2), MLP([2, 4, 1], activation="sigmoid", loss="mse", seed=0)
