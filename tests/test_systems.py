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
    ({"dt": 0.0}, r"dt must be a finite real number > 0, got 0.0"),
    ({"t_end": -1.0}, "t_end must be > t_start"),
    ({"system": "duffing"}, r"system must be a System or one of \('lorenz', 'thomas', 'roessler'\), got 'duffing'"),
    ({"x0": [1.0, 2.0]}, "x0 must be 3 finite numbers"),
    ({"rtol": -1e-10}, r"rtol must be a finite real number > 0, got -1e-10"),
])
def test_bad_simulation_arguments(kwargs, message):
    args = {"system": "lorenz", "t_end": 1.0, "dt": 0.1, **kwargs}
    with pytest.raises(ValueError, match=message):
        simulate(**args)


# ---------------------------------------------------------------- declared validation (issue 10)
def test_constants_name_only_the_systems_constants():
    run = simulate("lorenz", 1.0, 0.1, constants={"sigma": 12})
    assert run.attrs["sigma"] == 12.0
    with pytest.raises(ValueError, match=r"constants has unknown name\(s\) \['bogus'\] for lorenz "
                                         r"\(its constants are \('sigma', 'beta'\)\)"):
        simulate("lorenz", 1.0, 0.1, constants={"bogus": 1})
    with pytest.raises(ValueError, match=r"'rho' is the context parameter: pass it as schedule="):
        simulate("lorenz", 1.0, 0.1, constants={"rho": 30.0})
    with pytest.raises(ValueError, match=r"for thomas \(it has no constants\)"):
        lyapunov_exponent("thomas", constants={"a": 1.0})
    with pytest.raises(ValueError, match=r"'b' is the context parameter: pass it as param="):
        lyapunov_exponent("thomas", constants={"b": 0.2})
    with pytest.raises(ValueError, match=r"constants must be None or a dict of names to finite real numbers, got \{'sigma': nan\}"):
        simulate("lorenz", 1.0, 0.1, constants={"sigma": float("nan")})


@pytest.mark.parametrize("kwargs, message", [
    ({"t_renorm": 300.0, "t_total": 200.0}, r"t_renorm must be <= t_total \(200\)"),
    ({"transient": -5.0}, r"transient must be a finite real number >= 0, got -5.0"),
    ({"return_stderr": "no"}, r"return_stderr must be a bool \(True or False\), got 'no'"),
    ({"seed": -1}, r"seed must be a non-negative int, got -1"),
    ({"n_trajectories": 0}, r"n_trajectories must be a positive integer, got 0"),
    ({"rtol": float("nan")}, r"rtol must be a finite real number > 0, got nan"),
    ({"t_renorm": 5e-324, "t_total": 1e10}, r"t_renorm=4.94066e-324 is too small for t_total=1e\+10"),
])
def test_bad_lyapunov_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        lyapunov_exponent(**kwargs)


def test_requests_beyond_memory_are_refused_before_allocating():
    from astrocore.validation import MemoryRequestError  # noqa: PLC0415

    with pytest.raises(MemoryRequestError, match=r"^t_end=1000000000000.0 needs about .* PiB \(4e\+13 samples"):
        simulate(t_end=1e12)
    with pytest.raises(MemoryRequestError, match=r"^t_end=100.0 needs about .*at dt=1e-12"):
        simulate(t_end=100.0, dt=1e-12)
    with pytest.raises(MemoryRequestError, match=r"^t_end=1e\+308 needs about inf"):
        simulate(t_end=1e308, t_start=-1e308, dt=1e-300)
    with pytest.raises(MemoryRequestError, match=r"^n_trajectories=10000000000 needs about"):
        lyapunov_exponent(n_trajectories=10**10)


def test_absurd_durations_are_refused_after_a_short_measurement():
    import time  # noqa: PLC0415

    start = time.perf_counter()
    with pytest.raises(systems.DurationRequestError,
                       match=r"^t_total=1000000000000.0 would take about .* years .*more than max_duration=604800 s \(7 days\); "
                             r"reduce t_total \(or increase t_renorm"):
        lyapunov_exponent(t_total=1e12)
    with pytest.raises(ValueError, match=r"^t_end=1000000000.0 would take about"):     # a ValueError too
        simulate("lorenz", t_end=1e9, dt=1e5)
    with pytest.raises(systems.DurationRequestError, match=r"^t_total=200.0 would take about"):
        lyapunov_exponent(t_renorm=1e-9)                     # slow intervals after a fast transient
    assert time.perf_counter() - start < 60


def test_max_duration_is_the_callers_limit():
    with pytest.raises(systems.DurationRequestError, match=r"more than max_duration=0.01 s"):
        lyapunov_exponent(max_duration=0.01)
    small = dict(n_trajectories=2, t_total=5.0, transient=1.0)
    assert lyapunov_exponent(**small, max_duration=None) == lyapunov_exponent(**small)
    with pytest.raises(ValueError, match=r"max_duration must be None or a finite real number > 0, got 0"):
        simulate(t_end=1.0, max_duration=0)


@pytest.mark.parametrize("kwargs, message", [
    ({"schedule": "28"}, r"schedule must be None or an instance of Schedule or a finite real number, got '28'"),
    ({"method": "Euler"}, r"method must be one of \('RK45', 'RK23', 'DOP853'"),
    ({"x0": [1.0, np.nan, 1.0]}, r"x0 must be finite, got nan at index \(1,\)"),
    ({"dt": True}, r"dt must be a finite real number > 0, got True"),
    ({"atol": float("inf")}, r"atol must be a finite real number > 0, got inf"),
])
def test_more_bad_simulation_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate(**{"t_end": 1.0, "dt": 0.1, **kwargs})


def test_schedule_and_system_declarations():
    with pytest.raises(ValueError, match=r"times must not be empty"):
        Schedule([], [])
    with pytest.raises(ValueError, match=r"value must be a finite real number, got '28'"):
        Schedule.constant("28")
    assert Schedule(0, 28).values == (28.0,)                                     # scalars are one piece
    with pytest.raises(ValueError, match=r"t_end must be > t_start \(2\), got 1"):
        Schedule([0.0], [1.0]).pieces(2.0, 1.0)
    assert systems.get_system("Rössler") is systems.ROESSLER
    with pytest.raises(ValueError, match=r"system must be a System or one of"):
        systems.get_system(3)
    flow = systems.System("f", "p", 1.0, {"k": 2}, [0, 0, 1], systems.LORENZ._rhs, systems.LORENZ._jvp)
    assert flow.x0 == (0.0, 0.0, 1.0) and flow.constants == {"k": 2.0}
    with pytest.raises(ValueError, match=r"x0 must be 3 finite numbers, got shape \(2,\)"):
        systems.System("f", "p", 1.0, {}, [0, 1], systems.LORENZ._rhs, systems.LORENZ._jvp)
    with pytest.raises(ValueError, match=r"_rhs must be a callable, got None"):
        systems.System("f", "p", 1.0, {}, [0, 0, 1], None, systems.LORENZ._jvp)
