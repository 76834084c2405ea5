"""Declared constraints of the reservoir's entry points that :mod:`astrocore.validation` builds from.

- :class:`SeedOrSeeds`: :class:`~astrocore.validation.Seeds` that keeps an int an
  int (one reservoir) and turns a sequence into a tuple (a batch, even of one);
- :class:`IndexList`: a (possibly empty) sequence of integer time indices;
- :data:`HARDWARE`: None, a preset name or a :class:`~astrocore.hardware.HardwareModel`;
- :data:`STATE`: None or a :class:`~astrocore.reservoir.ReservoirState`, whose
  arrays are checked against the model by :func:`check_state`;
- memory estimates (bytes) of construction, runs and forecasts, checked with
  :func:`astrocore.validation.check_memory` before anything is allocated.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..hardware import PRESETS, HardwareModel
from ..validation import (AnyOf, Array, Choice, Constraint, InstanceOf, InvalidParameterError, Optional,
                          Seeds, check_memory, memory_budget)
from .results import ReservoirState


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


class SeedOrSeeds(Seeds):
    """One seed (kept an int: one reservoir) or distinct seeds (a tuple: one reservoir each)."""

    def convert(self, value):
        return int(value) if _is_int(value) else super().convert(value)


class IndexList(Constraint):
    """A sequence (list, tuple or 1-d integer array) of integer indices, possibly empty."""

    def accepts(self, value) -> bool:
        if isinstance(value, np.ndarray):
            return value.ndim == 1 and (value.size == 0 or value.dtype.kind in "iu")
        if isinstance(value, (list, tuple)):
            return all(_is_int(v) for v in value)
        return False

    def convert(self, value):
        return tuple(int(v) for v in value)

    def describe(self) -> str:
        return "a sequence of integer time indices"

    def invalid_examples(self) -> list:
        return [3, "0", [1.5], [True], np.zeros((2, 2), dtype=int)]

    def valid_example(self):
        return []


HARDWARE = AnyOf(Choice((None, *PRESETS)), InstanceOf(HardwareModel, example=HardwareModel))
STATE = Optional(InstanceOf(ReservoirState, example=lambda: ReservoirState(np.zeros((1, 1)))))
SERIES = Array((2, 3))


def check_state(state: ReservoirState | None, n_nodes: int, batch: int, n_links: int | None = None):
    """``state``'s arrays as host float arrays ``(batch or 1, N)`` and ``(batch or 1, L)`` (phases may be None)."""
    if state is None:
        return None, None
    out = []
    for field, width in (("nodes", n_nodes), ("phases", n_links)):
        arr = getattr(state, field)
        if arr is None or width is None:
            out.append(None)
            continue
        name = f"initial_state.{field}"
        arr = np.asarray(Array((1, 2)).check(name, np.asarray(_host(arr))), dtype=float)
        rows = arr.size // width if width and arr.size % width == 0 else -1
        if rows not in (1, batch) or (arr.ndim == 2 and arr.shape[-1] != width):
            raise InvalidParameterError(
                f"{name} must have shape ({width},), (1, {width}) or ({batch}, {width}) for this run "
                f"({'n_links' if field == 'phases' else 'n_nodes'} = {width}, {batch} batch column(s)), "
                f"got shape {arr.shape}")
        out.append(arr.reshape(rows, width))
    return tuple(out)


def _host(arr):
    return arr.get() if hasattr(arr, "get") else arr


# ------------------------------------------------------------------ memory estimates
F8 = 8  # bytes of a float64


def loudest(factors: dict) -> str:
    """The parameter whose value is furthest above its usual size (``{name: ratio}``)."""
    return max(factors, key=factors.get)


def refuse_if_too_big(nbytes: float, factors: dict, values: dict, what: str) -> None:
    """:func:`check_memory` naming the parameter of ``factors`` that contributes most."""
    if nbytes > memory_budget():
        name = loudest(factors)
        check_memory(name, values[name], nbytes, what)


def structure_bytes(n_nodes: int, n_links: int, n_reservoirs: int) -> float:
    """Peak bytes of drawing ``n_reservoirs`` recurrent matrices of ``n_links`` links each.

    CSR storage (8 data + 4 index bytes a link, kept for every reservoir), the
    temporaries of one draw (positions, rows, columns, values and the COO to CSR
    copy: about 64 bytes a link) and, up to 2000 nodes, the dense matrix and
    its eigenvalue workspace (about 3 n^2 doubles).
    """
    dense = 3.0 * F8 * n_nodes * n_nodes if n_nodes <= 2000 else 20.0 * F8 * n_nodes
    return n_reservoirs * 12.0 * n_links + 64.0 * n_links + dense + n_reservoirs * 4.0 * n_nodes


def graph_bytes(n_links: int, entries_per_link: float, n_reservoirs: int) -> float:
    """Peak bytes of ``n_reservoirs`` link graphs of ``n_links x entries_per_link`` entries."""
    entries = float(n_links) * entries_per_link
    return n_reservoirs * 12.0 * entries + 48.0 * entries + n_reservoirs * 40.0 * n_links


def plan_bytes(model, batch: int) -> float:
    """Bytes of the device arrays of a run over ``batch`` columns (matrices and per-link buffers)."""
    links = float(model.n_links)
    total = batch * (28.0 * links + 6.0 * F8 * model.n_nodes)
    if getattr(model, "astro_mode", None) is not None:
        per_link = (model.astro_degree if model.astro_mode == "links" else
                    model.domains_per_link * 2.0 if model.astro_mode == "domains" else
                    model.astro_[0].nnz / max(1.0, links))
        total += batch * links * (28.0 * per_link + 16.0 * F8 + 2 * 28.0)
    return total
