"""The one batched evaluation kernel of MGD: every step of a window, all seeds at once.

A *window* is every step between two parameter updates (``tau_theta`` steps in
discrete mode, one in analog mode). Within a window theta is fixed, so every
step's cost ``C(theta + theta~_p, x_i)`` is known in advance: the kernel
evaluates the window's distinct (perturbation ``p``, input ``i``) pairs in
batched forward passes, a chunk of perturbations at a time (a chunk of all
seeds' pairs fills at most :data:`CHUNK_BYTES`, to stay in cache), and hands
each chunk's measured costs to the direction, which turns them into the
window's ``G_int``.

What the kernel owns, once for every direction: the window and chunk loop,
the (perturbation, input) pairing of the steps (:class:`Pairs`), the
perturbation held over a parameter update (``tau_p > 1``: the last draw of a
window is used again by the next window's first steps), the cost read-out
through a simulated device (:meth:`Kernel.measure`) and the count of cost
evaluations. What the direction owns (:mod:`astrocore.mgd.directions`): its
draws, its clean and perturbed passes and its estimate.
"""

from __future__ import annotations

import threading

import numpy as np

from .. import backend

CHUNK_BYTES = 1 << 22
"""Bytes of perturbed parameters or activations evaluated in one batched pass (a chunk of pairs)."""

ACTIVATION_BYTES = 1 << 21
"""Bytes of activations of one forward pass of weight-perturbed networks: a chunk whose pairs'
activations exceed it is evaluated in slices of pairs (:meth:`astrocore.mgd.directions.Weight.step`;
the chunk, which sets the draws, and every cost stay the same)."""


_WORK = threading.local()


def work_array(role: str, shape: tuple, dtype):
    """An uninitialised array for ``role`` (a scratch array of one window, or a chunk's draws), kept
    per thread and handed out again to the next call with the same role, shape and dtype.

    A fresh array of a few MB costs a page fault per 4 KiB page on its first touch, as much as a
    pass over it; a window allocates several. The contents are valid until the next call for
    ``role`` in the same thread. Other backends allocate a new array every time.
    """
    xp = backend.xp()
    if xp is not np:
        return xp.empty(shape, dtype=dtype)
    arrays = _WORK.__dict__.setdefault("arrays", {})
    array = arrays.get(role)
    if array is None or array.shape != tuple(shape) or array.dtype != np.dtype(dtype):
        array = arrays[role] = np.empty(shape, dtype=dtype)
    return array


class Pairs:
    """The steps of one chunk of perturbations ``first..last`` and their distinct (perturbation, input) pairs.

    ``t_p``, ``t_x``: each step's perturbation (relative to ``first``) and input
    index; ``pair_p``, ``pair_x``: those of each distinct pair (in order);
    ``pair_of_t``: the pair of each step; ``mult``: the steps per pair.
    """

    __slots__ = ("_mult", "first", "n_x", "pair_of_t", "pair_p", "pair_x", "t_p", "t_x")

    def __init__(self, p_of_t, x_of_t, first: int, last: int, n_x: int):
        lo, hi = np.searchsorted(p_of_t, [first, last + 1])
        self.first, self.n_x = first, n_x
        self.t_p, self.t_x = p_of_t[lo:hi] - first, x_of_t[lo:hi]
        pairs, self.pair_of_t = np.unique(self.t_p * n_x + self.t_x, return_inverse=True)
        self.pair_p, self.pair_x = pairs // n_x, pairs % n_x
        self._mult = None

    def __len__(self) -> int:
        return len(self.pair_p)

    @property
    def mult(self) -> np.ndarray:
        """Steps per pair (float)."""
        if self._mult is None:
            self._mult = np.bincount(self.pair_of_t, minlength=len(self)).astype(float)
        return self._mult


def _join(a: tuple, b: tuple) -> tuple:
    xp = backend.xp()
    return tuple(None if x is None else xp.concatenate([x, y], axis=1) for x, y in zip(a, b))


class Kernel:
    """Evaluates MGD windows for one bound direction (:meth:`Direction.init`).

    ``window(theta, p_of_t, x_of_t, xb, yb)`` returns the window's ``G_int``
    (S, N): ``p_of_t``, ``x_of_t`` are the perturbation and input index of each
    step (non-decreasing), ``xb``, ``yb`` the window's inputs (S, nX, B, d),
    input ``i`` being index ``x_of_t[0] + i``. ``highpass`` (a filter of the
    costs along time, weight perturbation only) replaces the clean reference
    ``C0``; ``device`` measures every cost. ``evaluations`` counts forward
    passes on a batch, per seed (clean and perturbed).
    """

    def __init__(self, model, direction, highpass=None, device=None):
        self.model, self.direction, self.highpass, self.device = model, direction, highpass, device
        self.evaluations = 0
        self._p_next, self._held = 0, None

    def measure(self, costs):
        """Costs as measured: through the device's cost read-out (noise, ADC), else as they are."""
        return costs if self.device is None else self.device.measure(costs)

    def _perturbations(self, first: int, last: int, theta, final: bool) -> tuple:
        """Perturbations ``first..last`` (a tuple of arrays, the draws on axis 1); ``first`` may
        repeat the last one drawn (held over a parameter update). The last chunk of a window
        (``final``) keeps its last perturbation for the next window."""
        direction = self.direction
        if first == self._p_next - 1:
            held = direction.resume(self._held, theta)
            block = held if last == first else _join(held, direction.draw(last - first, theta))
        elif first == self._p_next:
            block = direction.draw(last - first + 1, theta)
        else:
            raise ValueError("perturbations must be requested in increasing order")
        block = direction.applied(block, theta, self.device)
        self._p_next = last + 1
        if final:
            self._held = direction.hold(block, theta)
        return block

    def window(self, theta, p_of_t, x_of_t, xb, yb):
        direction = self.direction
        x_of_t = x_of_t - x_of_t[0]
        n_x = xb.shape[1]
        direction.begin(self, theta, xb, yb)
        chunk = max(1, CHUNK_BYTES // direction.pair_bytes(self.model, theta.shape[0], xb.shape[2]))
        end = int(p_of_t[-1])
        for first in range(int(p_of_t[0]), end + 1, chunk):
            last = min(end, first + chunk - 1)
            block = self._perturbations(first, last, theta, last == end)
            pairs = Pairs(p_of_t, x_of_t, first, last, n_x)
            direction.step(self, theta, block, pairs, xb, yb)
            self.evaluations += len(pairs)
        return direction.end(theta)
