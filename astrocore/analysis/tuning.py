"""Choosing among tuned candidates so that the choice does not flip with the last bit of a chaotic run."""

from __future__ import annotations

import numpy as np

from astrocore.validation import Array, InstanceOf, InvalidParameterError, validate_params


@validate_params({"scores": InstanceOf(list, tuple, np.ndarray, example=lambda: [[0.5, 0.6]])})
def one_standard_error(scores) -> int:
    """The first candidate whose mean score is within one standard error of the best mean.

    ``scores``: one array of per-window validation scores (higher is better)
    per candidate, in order of preference. The one-standard-error rule
    (Hastie, Tibshirani & Friedman, *The Elements of Statistical Learning*,
    2nd ed., section 7.10): candidates closer to the best than the best's
    standard error are not told apart by the validation data, so the
    preferred one among them is kept. A chaotic run moves each score within
    its spread; the rule keeps such moves from flipping the choice, unless a
    candidate sits at the edge of the band.
    """
    if len(scores) == 0:
        raise InvalidParameterError("scores must hold at least one candidate, each with at least one score, got "
                                    "none")
    arrays = [np.asarray(Array(ndim=None).check(f"scores[{i}]", s), dtype=float).ravel()
              for i, s in enumerate(scores)]
    means = np.array([a.mean() for a in arrays])
    best = int(np.argmax(means))
    b = arrays[best]
    se = float(b.std(ddof=1) / np.sqrt(b.size)) if b.size > 1 else 0.0
    return int(np.flatnonzero(means >= means[best] - se)[0])
