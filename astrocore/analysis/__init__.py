"""Analyses of runs: every method a figure notebook uses, tested (regime detectors, ...)."""
