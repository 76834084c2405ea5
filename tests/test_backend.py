"""Backend switch and seeded random streams."""

import importlib.util

import numpy as np
import pytest

from astrocore import backend


def test_numpy_is_the_default_and_rng_is_seeded():
    with backend.use_backend("numpy") as xp:
        assert xp is np
        assert backend.rng(5).random() == backend.rng(5).random()


@pytest.mark.parametrize("bad", ["torch", "", 3])
def test_unknown_backend_is_rejected(bad):
    with pytest.raises(ValueError, match="backend must be one of"):
        backend.set_backend(bad)


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed")
def test_cupy_without_cupy_gives_a_clear_error():
    with pytest.raises(RuntimeError, match="CuPy is not installed"):
        backend.set_backend("cupy")
    assert backend.get_backend() == "numpy"


@pytest.mark.parametrize("bad", [None, -1, 1.5, True])
def test_seeds_must_be_non_negative_ints(bad):
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        backend.rng(bad)


def test_to_host_returns_numpy():
    assert isinstance(backend.to_host([1, 2]), np.ndarray)
