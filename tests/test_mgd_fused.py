"""The fused code-mode kernel of MGD against its NumPy reference, bit for bit, and the
sliced evaluation of a chunk's perturbed passes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from astrocore import datasets, jit, mgd
from astrocore.mgd import directions, kernel
from astrocore.mgd.perturbations import CodePerturbations, _code_params, random_signs
from astrocore.nets import MLP

WORDS = {np.float32: np.uint32, np.float64: np.uint64}


def _inputs(dtype, count, n, seed):
    gen = np.random.default_rng(seed)
    packed = gen.integers(0, 256, size=(count, (n + 7) // 8), dtype=np.uint8)
    theta = gen.normal(size=n).astype(dtype)
    return packed, theta, np.asarray(10.0 ** gen.uniform(-6, 0), dtype=dtype)[()]


def _run(fn, packed, theta, value):
    out = np.full((packed.shape[0], theta.size), np.nan, dtype=theta.dtype)
    fn(packed, theta, value, out)
    return out.view(WORDS[theta.dtype.type])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("count, n", [(1, 1), (3, 7), (2, 8), (5, 13), (4, 1001)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_compiled_and_python_loops_equal_the_numpy_reference_bit_for_bit(dtype, count, n, seed):
    args = _inputs(dtype, count, n, seed)
    reference = _run(_code_params.reference, *args)
    np.testing.assert_array_equal(_run(_code_params.py_func, *args), reference)
    if _code_params.available():
        np.testing.assert_array_equal(_run(_code_params, *args), reference)


def test_the_reference_selects_theta_minus_a_where_unpackbits_gives_one():
    packed, theta, value = _inputs(np.float64, 3, 21, 4)
    bits = np.unpackbits(packed, axis=-1, count=21).astype(bool)
    expected = np.where(bits, theta - value, theta + value)
    np.testing.assert_array_equal(_run(_code_params.reference, packed, theta, value), expected.view(np.uint64))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_draw_params_is_theta_plus_random_signs_and_the_same_with_the_jit_off(dtype, monkeypatch):
    n, count, seeds = 37, 6, [3, 11]
    theta = np.random.default_rng(9).normal(size=(2, n)).astype(dtype)
    fused = CodePerturbations(n, 0.1, [np.random.default_rng(s) for s in seeds], dtype)
    drawn = [fused.draw_params(count, theta).copy() for _ in range(2)]
    codes = [[random_signs(g, (count, n), dtype, fused.value) for _ in range(2)]
             for g in (np.random.default_rng(s) for s in seeds)]
    for k in range(2):
        expected = np.stack([theta[s] + codes[s][k] for s in range(2)])
        np.testing.assert_array_equal(drawn[k].view(WORDS[np.dtype(dtype).type]),
                                      expected.view(WORDS[np.dtype(dtype).type]))
    monkeypatch.setenv(jit.ENV_VAR, "0")
    assert not _code_params.available()
    plain = CodePerturbations(n, 0.1, [np.random.default_rng(s) for s in seeds], dtype)
    for k in range(2):
        np.testing.assert_array_equal(plain.draw_params(count, theta), drawn[k])


@pytest.mark.parametrize("mode", ["code", "walsh"])
def test_estimates_and_training_are_the_same_with_the_jit_off(mode, monkeypatch):
    model = MLP([8, 6, 3], activation="tanh", loss="cross_entropy", dtype="float32", seed=1)
    gen = np.random.default_rng(0)
    X, Y = gen.normal(size=(20, 8)), np.eye(3)[gen.integers(0, 3, 20)]
    theta = model.init_params()

    def results():
        g = mgd.estimate_gradient(model, theta, X, Y, direction=mode, n_perturbations=50, seed=[0, 4])
        data = datasets.parity(3)
        run = mgd.train(MLP([3, 6, 1], dtype="float32", seed=2), data, direction=mode, steps=40, tau_theta=6,
                        tau_p=4, seed=[1, 2], eval_every=20, max_duration=None)
        return g, run.theta.values, run.cost.values

    fused = results()
    monkeypatch.setenv(jit.ENV_VAR, "0")
    for a, b in zip(fused, results()):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 70), count=st.integers(1, 5), seed=st.integers(0, 2**32 - 1),
       dtype=st.sampled_from([np.float32, np.float64]), scale=st.floats(1e-6, 1e3))
def test_every_entry_is_theta_plus_or_minus_a_and_the_reference_agrees(n, count, seed, dtype, scale):
    packed, theta, value = _inputs(dtype, count, n, seed)
    theta = (theta * dtype(scale)).astype(dtype)
    out = _run(_code_params, packed, theta, value).view(dtype)
    plus, minus = theta + value, theta - value
    assert np.all((out == plus) | (out == minus))
    np.testing.assert_array_equal(out, _run(_code_params.reference, packed, theta, value).view(dtype))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40))
def test_the_signs_are_fair(seed, n):
    count = 4000
    packed, theta, value = _inputs(np.float64, count, n, seed)
    theta[:] = 0.0
    signs = np.sign(_run(_code_params, packed, theta, value).view(np.float64))
    # mean of count * n fair signs: standard deviation 1 / sqrt(count * n); 5 sigma
    assert abs(signs.mean()) < 5 / np.sqrt(count * n)
    assert np.all(np.abs(signs.mean(axis=0)) < 5 / np.sqrt(count))


def test_sliced_perturbed_passes_give_the_same_costs(monkeypatch):
    model = MLP([10, 16, 4], activation="tanh", loss="cross_entropy", seed=3)
    gen = np.random.default_rng(1)
    X, Y = gen.normal(size=(50, 10)), np.eye(4)[gen.integers(0, 4, 50)]
    theta = model.init_params()
    kwargs = {"direction": "code", "n_perturbations": 40, "seed": [0, 1]}
    data = datasets.parity(4)
    train = {"direction": "code", "steps": 60, "tau_theta": 12, "tau_x": 3, "tau_p": 2, "batch_size": 16, "seed": [0, 1],
                 "eval_every": 30, "max_duration": None}
    whole = mgd.estimate_gradient(model, theta, X, Y, **kwargs)
    run = mgd.train(MLP([4, 8, 1], seed=0), data, **train)
    per_pair = 2 * 50 * 20 * 8
    for budget in (1, per_pair, 3 * per_pair + 5):
        monkeypatch.setattr(directions, "ACTIVATION_BYTES", budget)
        np.testing.assert_array_equal(mgd.estimate_gradient(model, theta, X, Y, **kwargs), whole)
        np.testing.assert_array_equal(mgd.train(MLP([4, 8, 1], seed=0), data, **train).theta.values,
                                      run.theta.values)
    assert kernel.ACTIVATION_BYTES > 0


def test_work_arrays_are_reused_per_role_and_shape_and_results_stay_the_callers():
    a = kernel.work_array("test role", (2, 3), "float64")
    assert kernel.work_array("test role", (2, 3), "float64") is a
    assert kernel.work_array("test role", (2, 4), "float64") is not a
    model = MLP([6, 5, 2], seed=0)
    gen = np.random.default_rng(2)
    X, Y = gen.normal(size=(9, 6)), np.eye(2)[gen.integers(0, 2, 9)]
    theta = model.init_params()
    first = mgd.estimate_gradient(model, theta, X, Y, n_perturbations=30, seed=1)
    kept = first.copy()
    mgd.estimate_gradient(model, theta, X, Y, n_perturbations=30, seed=2)
    np.testing.assert_array_equal(first, kept)
    np.testing.assert_array_equal(mgd.estimate_gradient(model, theta, X, Y, n_perturbations=30, seed=1), kept)
