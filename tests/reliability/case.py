"""One bad input and what a user must get back, and the classifier of outcomes.

A :class:`Case` is a zero-argument call with a bad input (a wrong parameter,
a malformed config, a corrupt file, ...) and the answer it must give: an
exception of the expected type whose message names every string in
``names`` (the parameter, the file, the field), or, where the right answer
is a correct result rather than an error (integer input converted, not
truncated), a ``returns`` predicate on the result.

:func:`classify` runs a case and says what happened, in the issue's words:

- ``clear``: the expected exception naming what was wrong (or a correct result);
- ``unclear``: an exception that does not name it, or of another type;
- ``silent``: no exception and a wrong (or unchecked) result;
- ``hang``: still running after the case's time limit.

The catalogue test (test_catalogue.py) asserts every case is ``clear``;
``python -m tests.reliability.classify`` counts outcomes for a checkout
(used for the before/after counts of issue 10).
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass, field

OUTCOMES = ("clear", "unclear", "silent", "hang")


class CaseTimeout(BaseException):
    """Raised by the alarm when a case runs past its limit (BaseException: nothing swallows it)."""


@dataclass(frozen=True)
class Case:
    """A bad input and the answer a user must get."""

    id: str
    call: Callable[[], object]
    names: tuple[str, ...] = ()
    exc: tuple[type[BaseException], ...] = (ValueError, TypeError)
    returns: Callable[[object], bool] | None = None
    defect: int | None = None
    timeout: float = 20.0
    tags: tuple[str, ...] = field(default=())


def _alarm(signum, frame):
    raise CaseTimeout


def classify(case: Case) -> tuple[str, str]:
    """Run ``case`` and return ``(outcome, detail)``."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, case.timeout)
    try:
        result = case.call()
    except CaseTimeout:
        return "hang", f"still running after {case.timeout:g} s"
    except BaseException as err:  # noqa: BLE001 - every outcome is classified
        if isinstance(err, KeyboardInterrupt):
            raise
        message = f"{type(err).__name__}: {err}"
        if case.returns is not None:
            return "unclear", f"expected a correct result, got {message}"
        if not isinstance(err, case.exc):
            return "unclear", f"expected {'/'.join(e.__name__ for e in case.exc)}, got {message}"
        missing = [n for n in case.names if n not in str(err)]
        if missing:
            return "unclear", f"message does not name {missing}: {message}"
        return "clear", message
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if case.returns is not None:
        try:
            ok = bool(case.returns(result))
        except Exception as err:  # noqa: BLE001
            return "silent", f"result could not be checked: {type(err).__name__}: {err}"
        return ("clear", "correct result") if ok else ("silent", f"wrong result: {result!r}"[:300])
    return "silent", f"no error; returned {type(result).__name__}"
