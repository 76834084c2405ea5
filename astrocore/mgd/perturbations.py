"""Parameter perturbations told apart by multiplexing: time, frequency, code, Walsh.

Each multiplexing is one :class:`Perturbations` subclass registered once with
:func:`register` under its name; :data:`MULTIPLEXING` lists the registered
names and :func:`make_perturbations` builds one by name. ``||theta~||`` is the
``amplitude``; with the normalisations below every mode's single-step estimate
``C~ theta~ / ||theta~||^2`` has expectation ``g / N`` (ALGORITHMS.md section 2):

- ``time``: one parameter at a time, ``theta~ = amplitude e_i``, ``i`` through
  a shuffled order;
- ``frequency``: ``theta~_i = A sin(2 pi k_i p / T + phi_i)`` with distinct
  integer ``k_i`` in 1..N, period ``T = 2N + 2`` perturbations,
  ``A = amplitude sqrt(2/N)``;
- ``code``: ``theta~_i = +-a`` at random (Rademacher), ``a = amplitude /
  sqrt(N (1 - sparsity))``, with a fraction ``sparsity`` of zeros;
- ``walsh``: rows of the Sylvester-Hadamard matrix of order
  ``M = 2^ceil(log2 N)`` (first N columns), times a random sign per parameter,
  rows in shuffled order, ``a = amplitude / sqrt(N)``.

``time`` and ``walsh`` give the gradient exactly (to finite-difference error)
after one :meth:`Perturbations.cycle` (N, resp. M, perturbations), ``frequency``
after whole periods.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend, jit
from ..nets import DTYPES, check_memory_estimate
from ..validation import (
    NO_VALIDATION,
    POSITIVE,
    POSITIVE_INT,
    Choice,
    InvalidParameterError,
    Real,
    validate_params,
)
from .kernel import work_array

SPARSITY = Real(0, 1, closed="left")

PERTURBATIONS: dict[str, type] = {}
"""The registered multiplexing schemes, by name (:func:`register`)."""


def register(name: str):
    """Class decorator: register a :class:`Perturbations` subclass as multiplexing ``name``.

    The name then works everywhere a multiplexing is named (``direction="name"``
    or ``Weight("name")`` in :func:`astrocore.mgd.train`); it is appended to
    :data:`MULTIPLEXING` (for the classes of this module, defined before it).
    """

    def decorate(cls):
        cls.name = name
        PERTURBATIONS[name] = cls
        return cls

    return decorate


def random_signs(gen, shape, dtype, value: float = 1.0):
    """An array of ``+-value`` (``value > 0``) with independent fair signs.

    NumPy path: one random bit per entry, drawn as packed bytes and written
    straight into the IEEE sign bit of ``value`` (two passes over the output,
    no per-entry random numbers or table look-ups).
    """
    xp = backend.xp()
    dtype = np.dtype(dtype)
    if xp is np and dtype in (np.float32, np.float64):
        n = shape[-1]
        packed = gen.integers(0, 256, size=(*shape[:-1], (n + 7) // 8), dtype=np.uint8)
        bits = np.unpackbits(packed, axis=-1, count=n)
        word = np.uint32 if dtype == np.float32 else np.uint64
        out = np.left_shift(bits, 8 * dtype.itemsize - 1, dtype=word)
        out |= np.asarray(value, dtype=dtype).view(word)
        return out.view(dtype)
    table = xp.asarray([value, -value], dtype=dtype)
    return table[(gen.random(shape) < 0.5).astype(xp.int8)]


class Perturbations:
    """Base class: ``draw(count)`` gives each seed's next ``count`` perturbations
    as an array (S, count, N) with nominal norm ``amplitude``.

    A subclass implements ``_draw_one(s, gen, count)`` (seed ``s``'s next
    ``count`` perturbations, (count, N)); it may override :meth:`prepare` and
    :meth:`draw_params` for a faster path, :attr:`options` (the names of its
    keyword options), :meth:`cycle` and :attr:`carrier_period`.
    """

    name = "?"
    options: tuple[str, ...] = ()
    """Keyword options of the constructor beyond (n_params, amplitude, generators, dtype)."""
    carrier_period: int | None = None
    """Period, in perturbations, of a periodic carrier a high-pass filter must pass (None: none)."""

    def __init__(self, n_params: int, amplitude: float, generators, dtype):
        self.n, self.amplitude, self.gens, self.dtype = n_params, amplitude, generators, dtype

    @classmethod
    def cycle(cls, n_params: int) -> int:
        """Perturbations in one full cycle of the scheme (N unless it says otherwise)."""
        return n_params

    def draw(self, count: int):
        xp = backend.xp()
        if len(self.gens) == 1:
            return self._draw_one(0, self.gens[0], count)[None]
        return xp.stack([self._draw_one(s, gen, count) for s, gen in enumerate(self.gens)])

    def prepare(self, theta):
        """Called once per window with the window's parameters (S, N)."""

    def draw_params(self, count: int, theta):
        """``theta + theta~`` for the next ``count`` perturbations: (S, count, N)."""
        return theta[:, None, :] + self.draw(count)

    def _draw_one(self, s, gen, count):  # pragma: no cover - abstract
        raise NotImplementedError


@register("time")
class TimePerturbations(Perturbations):
    """One parameter at a time, ``amplitude e_i``, in a reshuffled order each pass."""

    def __init__(self, n_params, amplitude, generators, dtype):
        super().__init__(n_params, amplitude, generators, dtype)
        self._order = [np.empty(0, dtype=np.int64) for _ in generators]

    def _draw_one(self, s, gen, count):
        xp = backend.xp()
        while self._order[s].size < count:
            self._order[s] = np.concatenate([self._order[s], backend.to_host(gen.permutation(self.n))])
        index, self._order[s] = self._order[s][:count], self._order[s][count:]
        out = xp.zeros((count, self.n), dtype=self.dtype)
        out[xp.arange(count), xp.asarray(index)] = self.amplitude
        return out


@register("frequency")
class FrequencyPerturbations(Perturbations):
    """Sinusoids ``A sin(2 pi k_i p / T + phi_i)``: distinct integers ``k_i``
    (a random assignment of 1..N), random phases, period ``T = 2N + 2``."""

    def __init__(self, n_params, amplitude, generators, dtype):
        super().__init__(n_params, amplitude, generators, dtype)
        self.period = self.carrier_period = self.cycle(n_params)
        self.peak = amplitude * math.sqrt(2.0 / n_params)
        self._k = [backend.to_host(g.permutation(n_params)) + 1 for g in generators]
        self._phase = [backend.to_host(g.uniform(0.0, 2 * np.pi, size=n_params)) for g in generators]
        self._next = [0 for _ in generators]

    @classmethod
    def cycle(cls, n_params: int) -> int:
        return 2 * n_params + 2

    def _draw_one(self, s, gen, count):
        p = np.arange(self._next[s], self._next[s] + count)
        self._next[s] += count
        angle = (2 * np.pi / self.period) * np.outer(p % self.period, self._k[s]) + self._phase[s]
        return backend.asarray((self.peak * np.sin(angle)).astype(self.dtype))


def _code_params_numpy(packed, theta, value, out):
    """NumPy reference of :func:`_code_params`: unpack the bits, select between the bit patterns of
    ``theta + a`` and ``theta - a`` as ``(bits * (u+ ^ u-)) ^ u+`` (three passes over ``out``)."""
    word = np.dtype(f"u{out.dtype.itemsize}")
    plus = np.add(theta, value).view(word)
    select = plus ^ np.subtract(theta, value).view(word)
    words = out.view(word)
    np.multiply(np.unpackbits(packed, axis=-1, count=out.shape[-1]), select, out=words, dtype=word)
    words ^= plus
    return out


@jit.fused(_code_params_numpy)
def _code_params(packed, theta, value, out):
    """Code-mode perturbed parameters ``out[p, i] = theta[i] - a`` if ``b_pi`` else ``theta[i] + a``.

    ``b_pi`` is bit ``7 - i % 8`` of byte ``packed[p, i // 8]`` (np.unpackbits'
    big-endian order), ``a = value`` (a scalar of ``theta``'s dtype), ``out``
    (count, N). One pass over ``out``: each row's bytes are first spread to one
    byte per bit through a 256-entry table of 8-byte words, then a plain
    vectorisable loop over contiguous entries adds or subtracts ``a`` (IEEE
    rounding, so the same numbers as ``theta + random_signs(...)``).
    """
    count, n = out.shape
    n_bytes = packed.shape[1]
    spread = np.zeros(256, dtype=np.uint64)
    spread_bytes = spread.view(np.uint8)
    for byte in range(256):
        for k in range(8):
            spread_bytes[8 * byte + k] = (byte >> (7 - k)) & 1
    words = np.empty(n_bytes, dtype=np.uint64)
    bits = words.view(np.uint8)
    for p in range(count):
        row = packed[p]
        for j in range(n_bytes):
            words[j] = spread[row[j]]
        dest = out[p]
        for i in range(n):
            dest[i] = theta[i] - value if bits[i] else theta[i] + value
    return out


@register("code")
class CodePerturbations(Perturbations):
    """Rademacher codes ``+-a`` with an optional fraction ``sparsity`` of zeros."""

    options = ("sparsity",)

    def __init__(self, n_params, amplitude, generators, dtype, sparsity: float = 0.0):
        super().__init__(n_params, amplitude, generators, dtype)
        self.sparsity = sparsity
        self.value = amplitude / math.sqrt(n_params * (1.0 - sparsity))
        self._buffer = None

    def _fused(self) -> bool:
        return (not self.sparsity and backend.xp() is np
                and np.dtype(self.dtype) in (np.float32, np.float64))

    def draw_params(self, count: int, theta):
        """``theta +- a`` drawn straight into the parameter array (NumPy, no sparsity).

        Each seed's Generator gives one random bit per entry, as packed bytes
        (``(N + 7) // 8`` per perturbation); :func:`_code_params` turns them
        into ``theta - a`` (bit set) or ``theta + a`` in one pass: the same
        numbers as ``theta + random_signs(...)``, without materialising the
        codes. The result lives in a buffer (:func:`astrocore.mgd.kernel.work_array`)
        that the next call, of this or any code-mode generator of the same shape
        in the same thread, overwrites (large temporaries cost page faults).
        """
        if not self._fused():
            return super().draw_params(count, theta)
        if self._buffer is None or self._buffer.shape[1] < count:
            self._buffer = work_array("code draws", (len(self.gens), count, self.n), self.dtype)
        out = self._buffer[:, :count]
        value = np.asarray(self.value, dtype=self.dtype)[()]
        for s, gen in enumerate(self.gens):
            packed = gen.integers(0, 256, size=(count, (self.n + 7) // 8), dtype=np.uint8)
            _code_params(packed, theta[s], value, out[s])
        return out

    def _draw_one(self, s, gen, count):
        codes = random_signs(gen, (count, self.n), self.dtype, self.value)
        if self.sparsity:
            codes *= gen.random((count, self.n)) >= self.sparsity
        return codes


@register("walsh")
class WalshPerturbations(Perturbations):
    """Rows of the Sylvester-Hadamard matrix ``H_rj = (-1)^popcount(r & j)``,
    first N columns, times a fixed random sign per parameter, rows reshuffled
    every pass through all ``M = 2^ceil(log2 N)`` rows."""

    def __init__(self, n_params, amplitude, generators, dtype):
        super().__init__(n_params, amplitude, generators, dtype)
        self.order = self.cycle(n_params)
        self._columns = np.arange(n_params, dtype=np.int64)
        self._col_signs = [backend.to_host(random_signs(g, (1, n_params), dtype))[0] for g in generators]
        self._rows = [np.empty(0, dtype=np.int64) for _ in generators]
        self.value = amplitude / math.sqrt(n_params)

    @classmethod
    def cycle(cls, n_params: int) -> int:
        return 1 << max(0, math.ceil(math.log2(n_params)))

    def _draw_one(self, s, gen, count):
        while self._rows[s].size < count:
            self._rows[s] = np.concatenate([self._rows[s], backend.to_host(gen.permutation(self.order))])
        rows, self._rows[s] = self._rows[s][:count], self._rows[s][count:]
        parity = np.bitwise_count(rows[:, None] & self._columns[None, :]) & 1
        codes = np.where(parity, -self.value, self.value).astype(self.dtype) * self._col_signs[s]
        return backend.asarray(codes)


MULTIPLEXING = tuple(PERTURBATIONS)
"""The multiplexing schemes of this module: ('time', 'frequency', 'code', 'walsh')."""


class _Multiplexing(Choice):
    """A registered multiplexing name (read from :data:`PERTURBATIONS` when checked, so later
    registrations count)."""

    def __init__(self):
        super().__init__(tuple(MULTIPLEXING))

    def accepts(self, value) -> bool:
        return isinstance(value, str) and value in PERTURBATIONS

    def describe(self) -> str:
        from .directions import DIRECTIONS

        return (f"one of {tuple(PERTURBATIONS)} (parameter perturbations; the smart directions {DIRECTIONS} are "
                "drawn inside train and estimate_gradient)")

    def invalid_examples(self) -> list:
        return ["node", "fourier", 3, None]

    def valid_example(self):
        return "code"


MODE = _Multiplexing()


def check_options(mode: str, **options) -> dict:
    """The options of multiplexing ``mode`` that differ from their defaults; an option another
    mode owns (e.g. ``sparsity`` for ``time``) is an error naming it."""
    cls = PERTURBATIONS[mode]
    given = {k: v for k, v in options.items() if v}
    for name in given:
        if name not in cls.options:
            owners = [m for m, c in PERTURBATIONS.items() if name in c.options]
            raise InvalidParameterError(f"{name} applies to mode {owners[0]!r} only, got mode={mode!r}")
    return given


@validate_params({"mode": MODE, "n_params": POSITIVE_INT, "amplitude": POSITIVE,
                  "generators": NO_VALIDATION, "dtype": Choice(DTYPES), "sparsity": SPARSITY})
def make_perturbations(mode: str, n_params: int, amplitude: float, generators, dtype,
                       sparsity: float = 0.0) -> Perturbations:
    """The perturbation generator for ``mode`` (one of :data:`MULTIPLEXING`, the
    parameter perturbations; the smart directions depend on the network's
    activity and are drawn inside the trainer and estimator).
    ``generators``: a non-empty list of random Generators, one per seed."""
    if isinstance(generators, (str, bytes)) or not hasattr(generators, "__len__") or not len(generators) \
            or not all(hasattr(g, "permutation") for g in generators):
        raise InvalidParameterError(f"generators must be a non-empty list of random Generators, got {generators!r}")
    options = check_options(mode, sparsity=sparsity)
    check_memory_estimate("n_params", n_params, 6 * len(generators) * n_params * 8,
                          f"per-seed perturbation state for {len(generators)} seed(s)")
    return PERTURBATIONS[mode](n_params, amplitude, generators, dtype, **options)
