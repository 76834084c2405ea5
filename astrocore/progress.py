"""Progress bars and duration limits for long computations.

:func:`progress` is the one tqdm bar of astrocore (with tqdm's ETA), silent
under CI, off a terminal or with ``ASTROCORE_PROGRESS=0``.

:class:`RunClock` makes a long request's duration explicit: fed the work done
so far (``tick``), it extrapolates the total wall-clock time from the rate
over the last :data:`PILOT_SECONDS` (the recent rate, so a fast start does not
hide slow later work), logs the estimate once (a warning above an hour) and,
when it exceeds ``max_duration``, stops the run with a
:class:`DurationRequestError` naming the parameter that asked for it. The
trainers (``steps``), :func:`astrocore.systems.simulate` (``t_end``) and
:func:`astrocore.systems.lyapunov_exponent` (``t_total``) use it;
``max_duration=None`` lifts the limit.
"""

from __future__ import annotations

import collections
import logging
import math
import os
import sys
import time

from .validation import InvalidParameterError, Optional, Real

MAX_DURATION = 7 * 24 * 3600.0
"""Default ``max_duration`` (seconds), a week: a run estimated to take longer is refused."""
PILOT_SECONDS = 0.5
"""Seconds of work measured before a duration is estimated."""
CHECK_EVERY = 0.2
"""Seconds between two estimates (``tick`` is a clock read in between)."""
DURATION = Optional(Real(0, closed="neither"))
"""The constraint of every ``max_duration`` parameter: seconds > 0, or None (no limit)."""

logger = logging.getLogger("astrocore.progress")


class DurationRequestError(InvalidParameterError):
    """A request would run longer than ``max_duration``; raised after a short measurement.

    An :class:`~astrocore.validation.InvalidParameterError` (a ``ValueError``
    and a ``TypeError``) naming the parameter, the estimate and the limit.
    """


def progress(iterable=None, *, disable: bool = False, **kwargs):
    """A tqdm bar (with its ETA), silent under CI, off a terminal, with ASTROCORE_PROGRESS=0 or ``disable``."""
    from tqdm import tqdm  # noqa: PLC0415

    if not isinstance(disable, bool):
        raise InvalidParameterError(f"disable must be a bool (True or False), got {disable!r}")
    quiet = (os.environ.get("CI") or os.environ.get("ASTROCORE_PROGRESS") == "0"
             or not sys.stderr.isatty())
    return tqdm(iterable, disable=bool(quiet) or disable, **kwargs)


def format_seconds(seconds: float) -> str:
    """``93784.0`` -> ``'1.09 days'``."""
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} s"


class RunClock:
    """The estimated duration of one long run, and its ``max_duration`` limit.

    Parameters
    ----------
    total : float
        Work to do, in any unit (steps, time units of an integration).
    name, value : str, object
        The parameter that asked for the work (``"steps"``, ``10**12``), for the messages.
    max_duration : float or None
        Seconds; a run estimated to take longer is stopped. None: no limit.
    desc : str
        What runs (``"MGD code"``, ``"simulate lorenz"``).
    hint : str
        Appended to "reduce <name>" in the error (``" or transient"``).
    extra_seconds : float
        Known further cost (evaluations at checkpoints), added to the estimate.
    bar : bool
        Own a progress bar over ``total`` (shown after two seconds).
    """

    def __init__(self, total: float, *, name: str, value, max_duration: float | None, desc: str,
                 hint: str = "", extra_seconds: float = 0.0, bar: bool = False):
        self.total, self.name, self.value = float(total), name, value
        self.max_duration, self.desc, self.hint = max_duration, desc, hint
        self.extra_seconds = float(extra_seconds)
        self.start = time.perf_counter()
        self.samples = collections.deque([(self.start, 0.0)])
        self.next_check = self.start + CHECK_EVERY
        self.estimate: float | None = None
        self._want_bar = bar
        self.bar = None

    def tick(self, done: float) -> None:
        """Record that ``done`` of ``total`` is finished (cheap between estimates)."""
        now = time.perf_counter()
        if now < self.next_check:
            return
        self.next_check = now + CHECK_EVERY
        samples = self.samples
        samples.append((now, done))
        while len(samples) > 2 and now - samples[1][0] >= PILOT_SECONDS:
            samples.popleft()
        t0, done0 = samples[0]
        if now - t0 >= PILOT_SECONDS and (self.max_duration is not None or self.estimate is None):
            rate = (done - done0) / (now - t0)
            remaining = (self.total - done) / rate if rate > 0 else math.inf
            first = self.estimate is None
            self.estimate = (now - self.start) + remaining + self.extra_seconds
            if first:
                logger.log(logging.WARNING if self.estimate > 3600 else logging.INFO,
                           "%s: %s=%r takes about %s", self.desc, self.name, self.value,
                           format_seconds(self.estimate))
            if self.max_duration is not None and self.estimate > self.max_duration:
                self.close()
                raise DurationRequestError(
                    f"{self.name}={self.value!r} would take about {format_seconds(self.estimate)} "
                    f"({self.desc}: {done / self.total if self.total else 1.0:.3g} of the work done in "
                    f"{now - self.start:.2g} s, at the recent rate), more than max_duration="
                    f"{self.max_duration:g} s ({format_seconds(self.max_duration)}); reduce {self.name}"
                    f"{self.hint} or pass a larger max_duration (None: no limit)")
        if self._want_bar:
            if self.bar is None:
                self.bar = progress(total=self.total, desc=self.desc, delay=2.0, leave=False,
                                    bar_format="{l_bar}{bar}| {n:.4g}/{total:.4g} [{elapsed}<{remaining}]")
            self.bar.n = min(done, self.total)
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
