"""Benchmarks, run as ``python -m astrocore.bench <name> [--out FILE.csv]``.

Benchmarks measure and print; they never assert. Each submodule exposes
``main(argv)``.
"""
