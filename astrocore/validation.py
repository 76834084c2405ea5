"""Declared parameter constraints and the one checker every public entry point calls.

After scikit-learn's ``_parameter_constraints`` and ``validate_params``: a
public function or constructor declares, once, what each of its parameters may
be, and :func:`validate_params` checks the call before the body runs. A bad
value raises :class:`InvalidParameterError` (a ``ValueError`` and a
``TypeError``) whose message names the parameter, the value and what is allowed::

    eta must be a finite real number > 0, got -0.1
    highpass must be a bool (True or False), got 'no'
    X must be finite, got nan at index (3, 1)

The constraints:

- :class:`Real` (an interval, finite, ends open or closed), :class:`Integer`
  (an integer range), :class:`Choice`, :class:`Bool` (bool or numpy bool only,
  never a string read with ``bool()``), :class:`Text`;
- :class:`Array` (dtype kind, ndim, finite, non-empty; integer input becomes
  the floating dtype, never the other way round);
- :class:`Seed` and :class:`Seeds` (one non-negative int, or a non-empty list of
  distinct ones);
- :class:`Optional`, :class:`AnyOf`, :class:`InstanceOf`, :data:`NO_VALIDATION`.

Every constraint can also produce values that violate it
(:meth:`Constraint.invalid_examples`) and one that satisfies it
(:meth:`Constraint.valid_example`): the test suite walks :data:`REGISTRY` and
calls every declared entry point with every invalid value of every parameter
(as scikit-learn's ``generate_invalid_param_val`` does).

:func:`check_memory` refuses a request that cannot fit before anything is
allocated, naming the parameter and the estimate.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import os
from collections.abc import Callable, Sequence

import numpy as np


class InvalidParameterError(ValueError, TypeError):
    """A parameter is of the wrong type or outside what is allowed.

    Subclasses both ``ValueError`` and ``TypeError`` so either ``except`` catches it.
    """


class MemoryRequestError(InvalidParameterError, MemoryError):
    """A request would need more memory than the machine has; raised before allocating."""


def _got(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class Constraint:
    """What one parameter may be."""

    def check(self, name: str, value):
        """Return ``value`` (converted where the constraint says so) or raise."""
        if not self.accepts(value):
            self.fail(name, value)
        return self.convert(value)

    def accepts(self, value) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def convert(self, value):
        return value

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def fail(self, name: str, value):
        raise InvalidParameterError(f"{name} must be {self.describe()}, got {_got(value)}")

    def invalid_examples(self) -> list:
        """Values this constraint refuses (for the generated invalid-value test)."""
        return []

    def valid_example(self):
        """One value this constraint accepts."""
        raise NotImplementedError(f"{type(self).__name__} has no valid example")


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


_CLOSED = ("both", "left", "right", "neither")


class Real(Constraint):
    """A finite real number in an interval.

    ``closed`` says which ends belong to it (``"both"``, ``"left"``, ``"right"``,
    ``"neither"``); ``None`` for an end means unbounded. Infinity and NaN are
    never accepted, bools never count as numbers.
    """

    def __init__(self, low: float | None = None, high: float | None = None, closed: str = "both"):
        if closed not in _CLOSED:
            raise ValueError(f"closed must be one of {_CLOSED}, got {closed!r}")
        self.low, self.high, self.closed = low, high, closed

    def accepts(self, value) -> bool:
        if not _is_real(value) or not math.isfinite(value):
            return False
        low_ok = self.low is None or (value >= self.low if self.closed in ("both", "left") else value > self.low)
        high_ok = self.high is None or (value <= self.high if self.closed in ("both", "right")
                                        else value < self.high)
        return low_ok and high_ok

    def convert(self, value):
        return float(value)

    def describe(self) -> str:
        lo_in = self.closed in ("both", "left")
        hi_in = self.closed in ("both", "right")
        if self.low is None and self.high is None:
            return "a finite real number"
        if self.high is None:
            return f"a finite real number {'>=' if lo_in else '>'} {self.low:g}"
        if self.low is None:
            return f"a finite real number {'<=' if hi_in else '<'} {self.high:g}"
        return (f"a real number in {'[' if lo_in else '('}{self.low:g}, {self.high:g}"
                f"{']' if hi_in else ')'}")

    def invalid_examples(self) -> list:
        bad = ["1", None, True, float("nan"), float("inf")]
        if self.low is not None:
            bad.append(self.low if self.closed in ("right", "neither") else self.low - max(1.0, abs(self.low)))
        if self.high is not None:
            bad.append(self.high if self.closed in ("left", "neither") else self.high + max(1.0, abs(self.high)))
        return bad

    def valid_example(self):
        if self.low is not None and self.high is not None:
            return (self.low + self.high) / 2
        if self.low is not None:
            return self.low + 1.0
        if self.high is not None:
            return self.high - 1.0
        return 0.5


class Integer(Constraint):
    """An integer (Python or numpy, never a bool or a float) in ``[low, high]``."""

    def __init__(self, low: int | None = None, high: int | None = None):
        self.low, self.high = low, high

    def accepts(self, value) -> bool:
        return (_is_int(value) and (self.low is None or value >= self.low)
                and (self.high is None or value <= self.high))

    def convert(self, value):
        return int(value)

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"an integer in [{self.low}, {self.high}]"
        if self.low == 1:
            return "a positive integer"
        if self.low is not None:
            return f"an integer >= {self.low}"
        if self.high is not None:
            return f"an integer <= {self.high}"
        return "an integer"

    def invalid_examples(self) -> list:
        bad = ["1", None, True, 2.5]
        if self.low is not None:
            bad.append(self.low - 1)
        if self.high is not None:
            bad.append(self.high + 1)
        return bad

    def valid_example(self):
        return self.low if self.low is not None else (self.high if self.high is not None else 1)


class Choice(Constraint):
    """One of a fixed set of values (compared with ``==``; bools never match numbers)."""

    def __init__(self, options: Sequence):
        self.options = tuple(options)

    def accepts(self, value) -> bool:
        for option in self.options:
            if isinstance(value, (bool, np.bool_)) != isinstance(option, (bool, np.bool_)):
                continue
            try:
                if bool(value == option):
                    return True
            except (TypeError, ValueError):
                continue
        return False

    def describe(self) -> str:
        return f"one of {self.options}"

    def invalid_examples(self) -> list:
        return ["__not_an_option__", None]

    def valid_example(self):
        return self.options[0]


class Bool(Constraint):
    """``True`` or ``False`` (numpy bools too); strings and numbers are refused."""

    def accepts(self, value) -> bool:
        return isinstance(value, (bool, np.bool_))

    def convert(self, value):
        return bool(value)

    def describe(self) -> str:
        return "a bool (True or False)"

    def invalid_examples(self) -> list:
        return ["no", "False", 1, None]

    def valid_example(self):
        return False


class Text(Constraint):
    """A str (a name, a label); its generated invalid values are never strings."""

    def __init__(self, example: str = "x"):
        self.example = example

    def accepts(self, value) -> bool:
        return isinstance(value, str)

    def describe(self) -> str:
        return "a str"

    def invalid_examples(self) -> list:
        return [3, None, b"x", ["x"]]

    def valid_example(self):
        return self.example


class Seed(Constraint):
    """A seed for ``numpy.random.default_rng``: a non-negative int."""

    def accepts(self, value) -> bool:
        return _is_int(value) and value >= 0

    def convert(self, value):
        return int(value)

    def describe(self) -> str:
        return "a non-negative int"

    def invalid_examples(self) -> list:
        return [-1, 1.5, True, "0", None]

    def valid_example(self):
        return 0


class Seeds(Constraint):
    """One seed, or a non-empty sequence of distinct seeds (one independent run each).

    :meth:`convert` gives a tuple of ints; ``several`` tells whether a sequence
    was passed (a one-element list still means "a batch of one").
    """

    def accepts(self, value) -> bool:
        if _is_int(value):
            return value >= 0
        if isinstance(value, (list, tuple, np.ndarray)):
            seeds = list(np.asarray(value).ravel()) if isinstance(value, np.ndarray) else list(value)
            return (len(seeds) > 0 and all(_is_int(s) and s >= 0 for s in seeds)
                    and len(set(int(s) for s in seeds)) == len(seeds))
        return False

    def convert(self, value):
        if _is_int(value):
            return (int(value),)
        return tuple(int(s) for s in (np.asarray(value).ravel() if isinstance(value, np.ndarray) else value))

    @staticmethod
    def several(value) -> bool:
        return not _is_int(value)

    def describe(self) -> str:
        return "a non-negative int or a non-empty sequence of distinct non-negative ints"

    def invalid_examples(self) -> list:
        return [-1, [], [0, 0], [0, -1], 1.5, "0", True]

    def valid_example(self):
        return 0


class Array(Constraint):
    """A numeric array, converted at the boundary.

    Parameters
    ----------
    ndim : int or tuple of int or None
        Allowed numbers of dimensions.
    dtype : str or None
        Floating dtype to convert to (``"float64"``), or None to keep a floating
        input's dtype and turn integer input into float64. Integer and bool
        input is never cast down into an integer model: it becomes floating.
    finite : bool
        Refuse NaN and infinity, naming the first bad index.
    nonempty : bool
        Refuse arrays with no elements.
    integer : bool
        Want integer values (labels, indices) instead of floating ones.

    CuPy arrays stay on the device (the namespace is taken from the array).
    """

    def __init__(self, ndim=None, *, dtype: str | None = None, finite: bool = True,
                 nonempty: bool = True, integer: bool = False):
        self.ndim = (ndim,) if isinstance(ndim, int) else (tuple(ndim) if ndim is not None else None)
        self.dtype, self.finite, self.nonempty, self.integer = dtype, finite, nonempty, integer

    def describe(self) -> str:
        parts = ["an integer" if self.integer else "a real-valued"]
        if self.ndim is not None:
            parts.append(" or ".join(f"{d}-d" for d in self.ndim))
        parts.append("array")
        if self.nonempty:
            parts.append("with at least one element")
        return " ".join(parts)

    def check(self, name: str, value):
        xp = _namespace(value)
        if value is None or isinstance(value, (str, bytes, dict, set)):
            raise InvalidParameterError(f"{name} must be {self.describe()}, got {_got(value)}")
        try:
            arr = xp.asarray(value)
        except (TypeError, ValueError) as err:
            raise InvalidParameterError(f"{name} must be {self.describe()}, got {_got(value)} ({err})") from None
        kind = arr.dtype.kind
        if self.integer:
            if kind not in "iu":
                raise InvalidParameterError(f"{name} must be {self.describe()}, got dtype {arr.dtype}")
        else:
            if kind not in "biuf":
                raise InvalidParameterError(f"{name} must be {self.describe()}, got dtype {arr.dtype}")
            target = self.dtype or (arr.dtype if kind == "f" else "float64")
            if arr.dtype != np.dtype(target):
                arr = arr.astype(target)
        if self.ndim is not None and arr.ndim not in self.ndim:
            allowed = " or ".join(str(d) for d in self.ndim)
            raise InvalidParameterError(f"{name} must have {allowed} dimension(s), got shape {tuple(arr.shape)}")
        if self.nonempty and arr.size == 0:
            raise InvalidParameterError(f"{name} must not be empty, got shape {tuple(arr.shape)}")
        if self.finite and not self.integer:
            check_finite(name, arr)
        return arr

    def invalid_examples(self) -> list:
        bad = ["not an array", None, np.array(["a", "b"])]
        if self.nonempty:
            dims = [d for d in (self.ndim or (1,)) if d > 0]
            if dims:
                bad.append(np.zeros((0,) * dims[0]))
        if self.finite and not self.integer:
            shape = (2,) * (self.ndim[0] if self.ndim else 1)
            arr = np.ones(shape)
            arr.flat[-1] = np.nan
            bad.append(arr)
        if self.ndim is not None:
            bad.append(np.ones((2,) * (max(self.ndim) + 1)))
        return bad

    def valid_example(self):
        shape = (2,) * (self.ndim[0] if self.ndim else 1)
        return np.ones(shape, dtype=int if self.integer else float)


class Optional(Constraint):
    """``None`` or what ``inner`` accepts."""

    def __init__(self, inner: Constraint):
        self.inner = inner

    def check(self, name: str, value):
        if value is None:
            return None
        try:
            return self.inner.check(name, value)
        except InvalidParameterError as err:
            prefix = f"{name} must be {self.inner.describe()}"
            if str(err).startswith(prefix):
                raise InvalidParameterError(f"{name} must be None or {str(err)[len(name) + 9:]}") from None
            raise

    def describe(self) -> str:
        return f"None or {self.inner.describe()}"

    def invalid_examples(self) -> list:
        return [v for v in self.inner.invalid_examples() if v is not None]

    def valid_example(self):
        return None


class AnyOf(Constraint):
    """The first of several constraints that accepts the value."""

    def __init__(self, *options: Constraint):
        self.options = options

    def check(self, name: str, value):
        for option in self.options:
            try:
                return option.check(name, value)
            except InvalidParameterError:
                continue
        raise InvalidParameterError(f"{name} must be {self.describe()}, got {_got(value)}")

    def describe(self) -> str:
        return " or ".join(o.describe() for o in self.options)

    def invalid_examples(self) -> list:
        candidates = [v for o in self.options for v in o.invalid_examples()]
        out = []
        for v in candidates:
            if not any(_accepted(o, v) for o in self.options) and not any(_same(v, w) for w in out):
                out.append(v)
        return out

    def valid_example(self):
        return self.options[0].valid_example()


class InstanceOf(Constraint):
    """An instance of one of the given classes (``example`` builds a valid one)."""

    def __init__(self, *classes: type, example: Callable | None = None):
        self.classes, self._example = classes, example

    def accepts(self, value) -> bool:
        return isinstance(value, self.classes)

    def describe(self) -> str:
        names = " or ".join(c.__name__ for c in self.classes)
        return f"an instance of {names}"

    def invalid_examples(self) -> list:
        return [v for v in ("not an instance", 3, None) if not isinstance(v, self.classes)]

    def valid_example(self):
        if self._example is None:
            raise NotImplementedError(f"InstanceOf({self.describe()}) has no example")
        return self._example()


class _NoValidation(Constraint):
    """Declared on purpose: the body checks this parameter (e.g. against another one)."""

    def check(self, name: str, value):
        return value

    def describe(self) -> str:
        return "anything"

    def valid_example(self):
        return None


NO_VALIDATION = _NoValidation()

POSITIVE = Real(0, closed="neither")
"""A finite real number > 0 (a rate, a scale, an amplitude): the one shared instance."""
POSITIVE_INT = Integer(1)
"""An integer >= 1 (a count, a size, a number of steps): the one shared instance."""


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype
    try:
        return bool(a == b) or (isinstance(a, float) and math.isnan(a) and math.isnan(b))
    except (TypeError, ValueError):
        return False


def _accepted(constraint: Constraint, value) -> bool:
    try:
        constraint.check("x", value)
    except InvalidParameterError:
        return False
    return True


def _namespace(value):
    module = type(value).__module__.split(".")[0]
    if module == "cupy":
        import cupy  # noqa: PLC0415

        return cupy
    return np


# ------------------------------------------------------------------------------ checks
def validate(name: str, value, constraint: Constraint):
    """Check one value against one constraint; return it converted."""
    return constraint.check(name, value)


def check_finite(name: str, array) -> None:
    """Raise naming the first index where ``array`` is NaN or infinite."""
    xp = _namespace(array)
    finite = xp.isfinite(array)
    if not bool(finite.all()):
        bad = np.argwhere(~np.asarray(finite.get() if hasattr(finite, "get") else finite))[0]
        flat = np.asarray(array.get() if hasattr(array, "get") else array)[tuple(bad)]
        raise InvalidParameterError(f"{name} must be finite, got {flat} at index {tuple(int(i) for i in bad)}")


def check_shape(name: str, array, expected: tuple, meaning: str = "") -> None:
    """Raise unless ``array.shape`` matches ``expected`` (``None`` entries match anything)."""
    shape = tuple(array.shape)
    ok = len(shape) == len(expected) and all(e is None or s == e for s, e in zip(shape, expected))
    if not ok:
        items = ["any" if e is None else str(e) for e in expected]
        want = "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        raise InvalidParameterError(f"{name} must have shape {want}{' ' + meaning if meaning else ''}, "
                                    f"got {shape}")


def _physical_memory() -> int:
    override = os.environ.get("ASTROCORE_MAX_MEMORY")
    if override:
        return int(float(override))
    return _machine_memory()


@functools.lru_cache(maxsize=1)
def _machine_memory() -> int:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic platforms
        return 16 * 2**30


def memory_budget() -> int:
    """Bytes one array request may use: 3/4 of physical memory (or ``ASTROCORE_MAX_MEMORY``)."""
    total = _physical_memory()
    return total if os.environ.get("ASTROCORE_MAX_MEMORY") else int(0.75 * total)


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"  # pragma: no cover


def check_memory(name: str, value, nbytes: float, what: str = "") -> None:
    """Refuse a request of ``nbytes`` (caused by parameter ``name`` = ``value``) that cannot fit.

    Raises :class:`MemoryRequestError` naming the parameter, the estimate and
    the budget (:func:`memory_budget`) before anything is allocated.
    """
    budget = memory_budget()
    if nbytes > budget:
        detail = f" ({what})" if what else ""
        source = ("ASTROCORE_MAX_MEMORY" if os.environ.get("ASTROCORE_MAX_MEMORY")
                  else "3/4 of this machine's memory; set ASTROCORE_MAX_MEMORY in bytes to change it")
        raise MemoryRequestError(
            f"{name}={_got(value)} needs about {format_bytes(nbytes)}{detail}, more than the "
            f"{format_bytes(budget)} allowed ({source}); reduce {name}")


# --------------------------------------------------------------------- the decorator
REGISTRY: dict[str, tuple[Callable, dict[str, Constraint]]] = {}
"""Every entry point declared with :func:`validate_params`, by qualified name."""


def validate_params(constraints: dict[str, Constraint]):
    """Decorate a public function (or ``__init__``) with its declared parameter constraints.

    Every named parameter, defaults included, is checked before the body runs
    and replaced by its converted value (floats for reals, float arrays for
    data, tuples for seed lists); parameters not named are the body's to check.
    Keep it off hot inner loops: decorate the public entry point and let it
    call private, unchecked kernels. The function is
    recorded in :data:`REGISTRY` for the generated invalid-value test.
    """

    def decorate(func):
        signature = inspect.signature(func)
        unknown = set(constraints) - set(signature.parameters)
        if unknown:
            raise TypeError(f"{func.__qualname__}: constraints for unknown parameter(s) {sorted(unknown)}")

        parameters = list(signature.parameters.values())
        simple = all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in parameters)
        positional = [p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]
        defaults = {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}
        names = set(signature.parameters)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if simple and len(args) <= len(positional) and not set(positional[:len(args)]) & kwargs.keys():
                arguments = {**defaults, **dict(zip(positional, args)), **kwargs}
                if arguments.keys() != names:
                    signature.bind(*args, **kwargs)  # raises the usual TypeError
                for name, constraint in constraints.items():
                    arguments[name] = constraint.check(name, arguments[name])
                return func(**arguments)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            for name, constraint in constraints.items():
                bound.arguments[name] = constraint.check(name, bound.arguments[name])
            return func(*bound.args, **bound.kwargs)

        wrapper.parameter_constraints = dict(constraints)
        REGISTRY[f"{func.__module__}.{func.__qualname__}"] = (wrapper, dict(constraints))
        return wrapper

    return decorate
