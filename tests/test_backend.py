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


# -- the seed policy: one SeedSequence per run, spawned into named streams -----------------------------
def test_named_streams_are_seed_sequences_of_the_seed_and_the_streams_number():
    for name, number in backend.STREAMS.items():
        expected = np.random.default_rng(np.random.SeedSequence([11, number])).random(4)
        np.testing.assert_array_equal(backend.stream(11, name).random(4), expected)
        np.testing.assert_array_equal(backend.stream(11, name, host=True).random(4), expected)
    assert len(set(backend.STREAMS.values())) == len(backend.STREAMS)
    draws = {name: backend.stream(3, name).random() for name in backend.STREAMS}
    assert len(set(draws.values())) == len(draws)  # independent streams
    np.testing.assert_array_equal(backend.stream(3, "steer", 5).random(3),
                                  np.random.default_rng([3, backend.STREAMS["steer"], 5]).random(3))


def test_the_policy_reproduces_the_reservoir_and_device_streams_bit_for_bit():
    """The reservoir's host streams (``default_rng([seed, n])``, n per structure), its hardware streams
    (``default_rng([device seed, n, column])``) and a device's own stream (``rng(device seed)``, the device
    seed one word of ``SeedSequence([seed, 0x48574152])``), as they were drawn before the one policy,
    are streams of it: the chaotic reservoir runs keep every number."""
    reservoir = {"recurrent": 1, "input": 2, "astro": 3, "phases": 4, "arpack": 5, "steer": 6}
    on_device = {"recurrent": 1, "input": 2, "modulation": 3, "phase": 4}
    for seed in (0, 1, 29, 2**31 + 5):
        for name, number in reservoir.items():
            np.testing.assert_array_equal(backend.stream(seed, name, host=True).random(6),
                                          np.random.default_rng([seed, number]).random(6))
        device_seed = int(np.random.SeedSequence([seed, 0x48574152]).generate_state(1)[0])
        assert backend.stream_seed(seed, "device") == device_seed
        np.testing.assert_array_equal(backend.device_stream(seed).random(6),
                                      np.random.default_rng(device_seed).random(6))
        for name, number in on_device.items():
            for column in (0, 7):
                np.testing.assert_array_equal(backend.device_stream(seed, name, column).random(6),
                                              np.random.default_rng([device_seed, number, column]).random(6))


def test_initialisation_perturbations_and_minibatches_are_separate_streams():
    from astrocore.nets import MLP
    model = MLP([3, 4, 2], seed=6)
    gen = backend.stream(6, "initialisation")
    limit = np.sqrt(6.0 / 7)
    np.testing.assert_array_equal(model.init_params()[:12], gen.uniform(-limit, limit, size=12))
    np.testing.assert_array_equal(model.init_params(), MLP([3, 4, 2]).init_params(seed=6))
    assert backend.stream(6, "perturbations").random() != backend.stream(6, "initialisation").random()


@pytest.mark.parametrize("call, message", [
    (lambda: backend.stream(0, "noise"), "name must be one of"),
    (lambda: backend.stream(-1, "perturbations"), "seed must be a non-negative int"),
    (lambda: backend.stream(0, "perturbations", -2), "keys must be an integer"),
    (lambda: backend.stream(0, "perturbations", host="yes"), "host must be a bool"),
    (lambda: backend.device_stream(0, "phases"), "name must be None or one of"),
    (lambda: backend.stream_seed(1.5, "device"), "seed must be a non-negative int"),
])
def test_stream_arguments_are_checked(call, message):
    with pytest.raises(ValueError, match=message):
        call()
