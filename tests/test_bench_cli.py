"""The benchmark commands refuse a count or duration they cannot use, naming the argument (nothing is run)."""

from __future__ import annotations

import pytest

from astrocore.bench import gpu, mgd, positive_float, positive_int, reservoir


@pytest.mark.parametrize("module, argv, named", [
    (gpu, ["--repeats", "0"], "--repeats"),
    (mgd, ["--repeats", "-1"], "--repeats"),
    (mgd, ["--batch", "2.5"], "--batch"),
    (reservoir, ["--sizes", "100", "0"], "--sizes"),
    (reservoir, ["--batches", "x"], "--batches"),
    (reservoir, ["--seconds", "nan"], "--seconds"),
    (reservoir, ["--seconds", "-0.1"], "--seconds"),
])
def test_a_bad_count_stops_the_benchmark_before_it_runs(module, argv, named, capsys):
    with pytest.raises(SystemExit) as stop:
        module.main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert named in err and ("integer >= 1" in err or "number > 0" in err)


@pytest.mark.parametrize("text, value", [("1", 1), ("15", 15), ("+3", 3), (" 7 ", 7)])
def test_positive_int_accepts_counts(text, value):
    assert positive_int(text) == value


@pytest.mark.parametrize("text, value", [("0.2", 0.2), ("3", 3.0), ("1e-3", 1e-3)])
def test_positive_float_accepts_durations(text, value):
    assert positive_float(text) == value
