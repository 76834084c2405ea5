"""Chaotic flows with piecewise-constant contexts, and the Lyapunov exponent."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from astrocore import systems
from astrocore.systems import Schedule, lyapunov_exponent, simulate


def test_lorenz_largest_lyapunov_exponent():
    # Benettin in tangent space, 40 trajectories x 200 time units; literature 0.9056
    value, stderr = lyapunov_exponent("lorenz", 28.0, return_stderr=True)
    assert abs(value - 0.90) < 0.02
    assert stderr < 0.01


@pytest.mark.parametrize("times, values, message", [
    ([0, 10, 5], [1, 2, 3], r"schedule times must be strictly increasing, got \[0.0, 10.0, 5.0\]"),
    ([0, 10, 10], [1, 2, 3], "strictly increasing"),
    ([0, 10], [1, 2, 3], "equal, nonzero length"),
    ([0, np.nan], [1, 2], "finite"),
])
def test_schedule_validation(times, values, message):
    with pytest.raises(ValueError, match=message):
        Schedule(times, values)


def test_schedule_sets_the_context_and_restarts_the_solver():
    sched = Schedule([0.0, 1.0, 1.5], [28.0, 35.0, 20.0])
    run = simulate("lorenz", 2.0, 0.01, schedule=sched)
    assert run.time.shape == (201,) and run.state.shape == (201, 3)
    np.testing.assert_allclose(run.time, 0.01 * np.arange(201), rtol=0, atol=1e-12)
    assert np.all(run.context[:100] == 28.0) and np.all(run.context[100:150] == 35.0)
    assert np.all(run.context[150:] == 20.0)
    assert run.segment_starts() == [100, 150]
    # piece by piece with an independent tight solver
    x, expected = np.array(systems.LORENZ.x0), []
    for a, b, p in [(0.0, 1.0, 28.0), (1.0, 1.5, 35.0), (1.5, 2.0, 20.0)]:
        t_eval = run.time[(run.time >= a - 1e-12) & (run.time <= b + 1e-12)]
        sol = solve_ivp(lambda t, y, p=p: systems.LORENZ.rhs(y, p), (a, b), x, method="RK45",
                        t_eval=t_eval, rtol=1e-12, atol=1e-12)
        expected.append(sol.y.T if b == 2.0 else sol.y.T[:-1])
        x = sol.y[:, -1]
    np.testing.assert_allclose(run.state, np.concatenate(expected), rtol=0, atol=1e-7)


def test_a_switch_to_the_same_value_changes_nothing():
    a = simulate("roessler", 20.0, 0.1, schedule=Schedule([0.0, 7.3], [5.7, 5.7]))
    b = simulate("roessler", 20.0, 0.1, schedule=5.7)
    np.testing.assert_allclose(a.state, b.state, rtol=0, atol=1e-8)


@pytest.mark.parametrize("name", ["lorenz", "thomas", "roessler"])
def test_jacobian_vector_products_match_finite_differences(name):
    sys_ = systems.get_system(name)
    rng = np.random.default_rng(0)
    x, v = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    h = 1e-6
    fd = (sys_.rhs(x + h * v, sys_.default_param) - sys_.rhs(x - h * v, sys_.default_param)) / (2 * h)
    np.testing.assert_allclose(sys_.jvp(x, v, sys_.default_param), fd, rtol=1e-6, atol=1e-7)


def test_vector_fields():
    x = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(systems.THOMAS.rhs(x, 0.18),
                               [np.sin(-1.2) - 0.054, np.sin(2.0) + 0.216, np.sin(0.3) - 0.36])
    np.testing.assert_allclose(systems.LORENZ.rhs(x, 28.0),
                               [10 * (-1.5), 0.3 * 26.0 + 1.2, -0.36 - 16 / 3])
    np.testing.assert_allclose(systems.ROESSLER.rhs(x, 5.7),
                               [1.2 - 2.0, 0.3 - 0.24, 0.2 + 2.0 * (0.3 - 5.7)])


def test_transient_and_dataset():
    run = simulate("thomas", 50.0, 1.0, schedule=0.29, transient=100.0)
    assert run.state.shape == (51, 3) and np.all(run.context == 0.29)
    ds = run.to_dataset()
    assert ds["truth"].dims == ("time", "coord") and ds.attrs["system"] == "thomas"
    assert ds["context"].attrs["long_name"] == "context parameter b"


@pytest.mark.parametrize("kwargs, message", [
    ({"dt": 0.0}, "dt must be > 0"),
    ({"t_end": -1.0}, "t_end must be > t_start"),
    ({"system": "duffing"}, "system must be one of"),
    ({"x0": [1.0, 2.0]}, "x0 must be 3 finite numbers"),
    ({"rtol": -1e-10}, "rtol must be > 0"),
])
def test_bad_simulation_arguments(kwargs, message):
    args = {"system": "lorenz", "t_end": 1.0, "dt": 0.1, **kwargs}
    with pytest.raises(ValueError, match=message):
        simulate(**args)
