"""The declared-constraint engine (astrocore.validation) against its definition."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from astrocore import validation as v
from astrocore.validation import InvalidParameterError


@given(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["both", "left", "right", "neither"]))
def test_real_accepts_exactly_the_finite_values_of_its_interval(x, closed):
    c = v.Real(-1.0, 2.0, closed=closed)
    inside = (x >= -1 if closed in ("both", "left") else x > -1) and (x <= 2 if closed in ("both", "right")
                                                                      else x < 2)
    expected = math.isfinite(x) and inside
    if expected:
        assert c.check("a", x) == x
    else:
        with pytest.raises(InvalidParameterError, match=r"^a must be a real number in"):
            c.check("a", x)


@given(st.integers(-10**6, 10**6))
def test_integer_range(n):
    c = v.Integer(0, 100)
    if 0 <= n <= 100:
        assert c.check("steps", n) == n and type(c.check("steps", np.int64(n))) is int
    else:
        with pytest.raises(InvalidParameterError, match=r"steps must be an integer in \[0, 100\]"):
            c.check("steps", n)


@pytest.mark.parametrize("value", [True, False, 2.0, "3", None, np.bool_(True)])
def test_integer_refuses_bools_floats_and_strings(value):
    with pytest.raises(InvalidParameterError, match="n must be a positive integer"):
        v.Integer(1).check("n", value)


@pytest.mark.parametrize("value", ["no", "False", "", 0, 1, None, np.array([True])])
def test_bool_refuses_everything_but_bools(value):
    with pytest.raises(InvalidParameterError, match=r"flag must be a bool \(True or False\)"):
        v.Bool().check("flag", value)


def test_bool_accepts_numpy_bools_and_returns_python_bools():
    assert v.Bool().check("flag", np.bool_(True)) is True


def test_choice_does_not_confuse_bools_with_numbers():
    with pytest.raises(InvalidParameterError):
        v.Choice((0, 1)).check("c", True)
    assert v.Choice((0, 1)).check("c", np.int64(1)) == 1
    with pytest.raises(InvalidParameterError, match=r"mode must be one of \('a', 'b'\), got 'c'"):
        v.Choice(("a", "b")).check("mode", "c")
    with pytest.raises(InvalidParameterError):
        v.Choice(("a", "b")).check("mode", np.array(["a", "b"]))


@given(st.lists(st.integers(-3, 30), max_size=6))
def test_seed_lists_must_be_distinct_non_negative_and_non_empty(seeds):
    ok = bool(seeds) and all(s >= 0 for s in seeds) and len(set(seeds)) == len(seeds)
    if ok:
        assert v.Seeds().check("seed", seeds) == tuple(seeds)
    else:
        with pytest.raises(InvalidParameterError, match="seed must be a non-negative int or a non-empty"):
            v.Seeds().check("seed", seeds)


def test_array_converts_integers_up_never_down():
    out = v.Array(2).check("X", np.array([[1, 2], [3, 4]]))
    assert out.dtype == np.float64
    assert v.Array(1).check("x", np.array([1.5], dtype=np.float32)).dtype == np.float32
    assert v.Array(1, dtype="float32").check("x", [1, 2]).dtype == np.float32


def test_array_names_the_first_non_finite_index():
    X = np.zeros((4, 3))
    X[3, 1] = np.nan
    X[3, 2] = np.inf
    with pytest.raises(InvalidParameterError, match=r"X must be finite, got nan at index \(3, 1\)"):
        v.Array(2).check("X", X)


@pytest.mark.parametrize("value, message", [
    (np.zeros((0, 3)), r"X must not be empty, got shape \(0, 3\)"),
    (np.zeros(3), r"X must have 2 dimension\(s\), got shape \(3,\)"),
    (np.array(["a"]), r"X must be a real-valued 2-d array .* got dtype <U1"),
    ("text", r"X must be a real-valued 2-d array"),
    (None, r"X must be a real-valued 2-d array"),
    ([[1, 2], [3]], r"X must be a real-valued 2-d array"),
])
def test_array_refuses_malformed_data(value, message):
    with pytest.raises(InvalidParameterError, match=message):
        v.Array(2).check("X", value)


def test_optional_and_any_of():
    c = v.Optional(v.Integer(1))
    assert c.check("k", None) is None and c.check("k", 3) == 3
    assert None not in c.invalid_examples()
    either = v.AnyOf(v.Choice(("auto",)), v.Real(0, closed="neither"))
    assert either.check("a", "auto") == "auto" and either.check("a", 2) == 2.0
    with pytest.raises(InvalidParameterError, match=r"a must be one of \('auto',\) or a finite real number > 0"):
        either.check("a", -1)
    for bad in either.invalid_examples():
        with pytest.raises(InvalidParameterError):
            either.check("a", bad)


@pytest.mark.parametrize("constraint", [
    v.Real(0, closed="neither"), v.Real(0, 1), v.Real(), v.Real(high=5, closed="left"), v.Integer(1),
    v.Integer(0, 10), v.Choice(("x", "y")), v.Bool(), v.Seed(), v.Seeds(), v.Array(2), v.Array((1, 2)),
    v.Optional(v.Real(0)), v.InstanceOf(dict, example=dict),
])
def test_every_invalid_example_is_refused_and_the_valid_one_accepted(constraint):
    assert constraint.invalid_examples()
    for bad in constraint.invalid_examples():
        with pytest.raises(InvalidParameterError, match="^p "):
            constraint.check("p", bad)
    constraint.check("p", constraint.valid_example())


def test_check_memory_names_the_parameter_and_the_estimate(monkeypatch):
    monkeypatch.setenv("ASTROCORE_MAX_MEMORY", str(2**30))
    v.check_memory("n", 10, 2**29)
    with pytest.raises(v.MemoryRequestError, match=r"n=1000000000000 needs about 7.28 TiB, more than the 1 GiB allowed .*reduce n"):
        v.check_memory("n", 10**12, 8 * 10**12)
    with pytest.raises(MemoryError):
        v.check_memory("n", 10**12, 8 * 10**12)


def test_decorator_checks_converts_and_registers():
    @v.validate_params({"eta": v.Real(0, closed="neither"), "steps": v.Integer(1), "flag": v.Bool()})
    def run(data, eta=0.1, *, steps=10, flag=False):
        return eta, steps, flag

    assert run(None, 1, steps=np.int64(3)) == (1.0, 3, False)
    assert type(run(None, 1)[0]) is float
    with pytest.raises(InvalidParameterError, match="eta must be a finite real number > 0, got inf"):
        run(None, float("inf"))
    with pytest.raises(InvalidParameterError, match="flag must be a bool"):
        run(None, flag="no")
    key = [k for k in v.REGISTRY if k.endswith("run")]
    assert key and v.REGISTRY[key[-1]][1]["steps"].low == 1
    with pytest.raises(TypeError, match="unknown parameter"):
        v.validate_params({"nope": v.Bool()})(lambda a: a)
