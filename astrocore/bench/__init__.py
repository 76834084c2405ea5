"""Benchmarks, run as ``python -m astrocore.bench <name> [--out FILE.csv]``.

Benchmarks measure and print; they never assert. Each submodule exposes
``main(argv)``.
"""

import argparse


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (a count of repeats, a batch or a network size)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1 or str(value) != text.strip().lstrip("+"):
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (a duration in seconds)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value
