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
    with pytest.raises(ValueError, match=r"name must be a backend name, one of \('numpy', 'cupy'\)"):
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


def test_backend_names_are_case_insensitive_and_the_variable_is_named(monkeypatch):
    with backend.use_backend("NumPy") as xp:
        assert xp is np and backend.get_backend() == "numpy"
    monkeypatch.setattr(backend, "_current", None)
    monkeypatch.setenv("ASTROCORE_BACKEND", "torch")
    with pytest.raises(ValueError, match=r"the environment variable ASTROCORE_BACKEND must be a backend name"):
        backend.get_backend()
    monkeypatch.setenv("ASTROCORE_BACKEND", "numpy")
    assert backend.get_backend() == "numpy"


def test_rng_accepts_numpy_integers():
    assert backend.rng(np.int64(3)).random() == backend.rng(3).random()
