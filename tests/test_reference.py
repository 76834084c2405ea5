"""Reference tables (astrocore.reference): the tolerance against its definition, checks that can fail,
and every committed reference file well formed; the numeric-path switch and the table summaries."""

import math
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from astrocore import numeric_path, reference, reporting
from astrocore.reference import Statistic, TableSpec


@pytest.fixture
def toy(monkeypatch):
    """A registered toy table: two rows, one statistic with spread over 4 seeds."""
    monkeypatch.setitem(reference.TABLES, "toy", TableSpec(("case",), (Statistic("score", 0.01),)))
    return pd.DataFrame({"case": ["a", "b"], "seeds": [4, 4], "score_mean": [0.8, 0.6], "score_std": [0.05, 0.0]})


def test_tolerance_is_its_formula(toy):
    ref = reference.freeze(toy, "toy").set_index("case")
    pooled = math.sqrt((0.05 ** 2 + 0.0 ** 2) / 2)
    for case, s in (("a", 0.05), ("b", 0.0)):
        expected = max(reference.Z * math.sqrt(2 / 4) * max(s, reference.POOL_FRACTION * pooled), 0.01)
        assert ref.loc[case, "tolerance"] == pytest.approx(expected, rel=1e-12)
    assert ref.loc["b", "tolerance"] > 0.01   # a row whose seeds agreed still gets the pooled spread


@given(spread=st.floats(0, 10), n=st.integers(1, 100), floor=st.floats(1e-6, 1), pooled=st.floats(0, 10))
@settings(max_examples=200, deadline=None)
def test_tolerance_bounds(spread, n, floor, pooled):
    tol = float(reference.tolerance(spread, n, floor, pooled))
    assert tol >= floor
    assert tol >= reference.Z * math.sqrt(2 / n) * spread * (1 - 1e-12)
    assert tol >= reference.Z * math.sqrt(2 / n) * reference.POOL_FRACTION * pooled * (1 - 1e-12)


def test_a_table_passes_its_own_reference_and_fails_beyond_tolerance(toy, monkeypatch, tmp_path):
    monkeypatch.setattr(reference, "REFERENCE_ROOT", tmp_path)
    (tmp_path / "quick").mkdir()
    frozen = reference.freeze(toy, "toy")
    frozen.to_csv(tmp_path / "quick" / "toy.csv", index=False)
    monkeypatch.setattr(reference, "REPO_ROOT", tmp_path)
    assert "all 2 values within tolerance" in reference.check(toy, "toy", "quick")
    tol = frozen.tolerance.iloc[0]
    inside = toy.assign(score_mean=[0.8 + 0.99 * tol, 0.6])
    assert "within tolerance" in reference.check(inside, "toy", "quick")
    moved = frozen.copy()
    moved.loc[0, "reference"] += 1.01 * tol
    moved.to_csv(tmp_path / "quick" / "toy.csv", index=False)
    with pytest.raises(reference.ToleranceError, match=r"1 of 2 values outside"):
        reference.check(toy, "toy", "quick")


def test_missing_extra_and_nan_rows_fail(toy):
    ref = reference.freeze(toy, "toy")
    assert reference.compare(toy, ref, "toy").within.all()
    fewer = reference.compare(toy.iloc[:1], ref, "toy")
    assert (~fewer.within).sum() == 1 and "missing in the rerun" in set(fewer.problem)
    more = pd.concat([toy, toy.iloc[:1].assign(case="c")], ignore_index=True)
    extra = reference.compare(more, ref, "toy")
    assert "not in the reference" in set(extra[~extra.within].problem)
    nan = reference.compare(toy.assign(score_mean=[np.nan, 0.6]), ref, "toy")
    assert (~nan.within).sum() == 1
    both = reference.compare(toy.assign(score_mean=[np.nan, 0.6]), ref.assign(
        reference=[np.nan, 0.6]), "toy")
    assert both.within.all()


def test_bad_input_names_what_is_wrong(toy):
    with pytest.raises(ValueError, match="no reference table named 'nope'"):
        reference.freeze(toy, "nope")
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['score_std'\]"):
        reference.freeze(toy.drop(columns="score_std"), "toy")
    with pytest.raises(ValueError, match="duplicate rows"):
        reference.freeze(pd.concat([toy, toy]), "toy")
    with pytest.raises(ValueError, match="profile must be one of"):
        reference.check(toy, "toy", "fast")
    with pytest.raises(FileNotFoundError, match="no quick reference for 'toy'"):
        reference.check(toy, "toy", "quick")
    with pytest.raises(ValueError, match="floor of 'x' must be a finite number > 0"):
        Statistic("x", 0.0)
    assert "not checked" in reference.check(toy, "toy", None)


@pytest.mark.parametrize("profile", reference.PROFILES)
def test_committed_references_are_well_formed(profile):
    files = sorted((reference.REFERENCE_ROOT / profile).glob("*.csv"))
    assert {f.stem for f in files} <= set(reference.TABLES)
    if profile == "quick":
        assert {f.stem for f in files} == set(reference.TABLES), "every reservoir table has a quick reference"
    for path in files:
        ref = reference.read_reference(path.stem, profile)
        spec = reference.TABLES[path.stem]
        assert set(ref.statistic) == {s.name for s in spec.statistics}
        assert (ref.tolerance >= ref.floor).all() and (ref.n >= 1).all()


def test_summarize_against_a_hand_computation():
    runs = pd.DataFrame({"g": ["a", "a", "a", "b"], "seed": [0, 1, 2, 0], "x": [1.0, 2.0, 4.0, 5.0]})
    out = reporting.summarize(runs, ["g"], ["x"]).set_index("g")
    assert out.loc["a", "seeds"] == 3 and out.loc["a", "x_mean"] == pytest.approx(7 / 3)
    assert out.loc["a", "x_std"] == pytest.approx(np.std([1, 2, 4], ddof=1))
    assert out.loc["b", "x_std"] == 0.0
    with pytest.raises(ValueError, match="lack column"):
        reporting.summarize(runs, ["g"], ["y"])


def test_second_numeric_path_changes_the_numbers():
    env = numeric_path.second_path_environment()
    assert (numeric_path.DISABLE in env) != (numeric_path.LAST_BIT in env)
    if numeric_path.DISABLE in env:
        assert set(env[numeric_path.DISABLE].split()) == set(numeric_path.simd_features())
        assert numeric_path._probe(env) != numeric_path._probe({k: v for k, v in env.items()
                                                                if k != numeric_path.DISABLE})
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        assert env.get(key) == os.environ.get(key)
    assert env[numeric_path.JIT] == "0"  # the fused kernels' NumPy references run on the second path


def test_last_bit_perturbation_moves_initial_states(monkeypatch):
    from astrocore import systems  # noqa: PLC0415
    from astrocore.reservoir import RhythmicSharing  # noqa: PLC0415

    plain = RhythmicSharing(20, seed=0).phases0_
    x = systems.simulate("lorenz", 0.1, 0.01).state[0]
    monkeypatch.setenv(numeric_path.LAST_BIT, "1")
    nudged = RhythmicSharing(20, seed=0).phases0_
    assert np.all(nudged == np.nextafter(plain, np.inf))
    assert np.all(systems.simulate("lorenz", 0.1, 0.01).state[0] == np.nextafter(x, np.inf))
    monkeypatch.setenv(numeric_path.LAST_BIT, "yes")
    with pytest.raises(ValueError, match="ASTROCORE_LAST_BIT must be unset, 0 or 1"):
        numeric_path.nudge(1.0)


def test_cli_checks_a_table_directory(tmp_path):
    out = subprocess.run([sys.executable, "-m", "astrocore.reference", "check", str(tmp_path), "--profile", "quick"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "no reference table found" in out.stderr


def test_a_wider_rerun_widens_the_tolerance(toy):
    ref = reference.freeze(toy, "toy")
    wide = toy.assign(score_std=[0.5, 0.0])
    result = reference.compare(wide, ref, "toy").set_index("key")
    expected = reference.Z * math.sqrt(0.05 ** 2 / 4 + 0.5 ** 2 / 4)
    assert result.loc["a", "tolerance"] == pytest.approx(expected)
    assert result.loc["b", "tolerance"] == pytest.approx(ref.tolerance.iloc[1])
