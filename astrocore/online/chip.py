"""An online readout's weights on simulated chips: the hardware hooks of :class:`~astrocore.online.MGDReadout`.

One chip per batch column ``b`` (a reservoir seed, or a grid setting), each
drawing from its own stream, :func:`astrocore.backend.device_stream`
``(seed, "readout", b)`` of the learner's ``seed`` (never global state, and
apart from the learner's ``perturbations`` stream, so switching an effect on
never moves the perturbations). The readout is one linear layer without a
bias row (the bias is a constant feature), so the chip calls the parts of its
:class:`~astrocore.hardware.HardwareModel` (:mod:`astrocore.hardware.effects`)
where :class:`astrocore.hardware.Device` calls them for one layer of an MLP::

    write     W <- program(W + update(delta))           (at init: program(0))
    use       W~ = read(hold(W [+ theta~]))             (every prediction, every measured cost)
    outputs   y_hat = adc(W~^T dac(f) [+ delta])        (delta: a node perturbation)
    cost      C = measure(|y_hat - y|^2 / 2)
    theta~, delta through perturbation

``W (B, F, D)`` is what the cells store (the levels after ``program``);
``hold`` adds what they hold between writes (programming error of the last
write, drift, stuck cells, static), ``read`` the fresh per-use read noise, so
every prediction step and every cost measurement is a new read. A linear
readout has no activation, so ``pre_activation``/``post_activation`` (neuron
variation) do not apply; nor do the reservoir's own hooks (``state``,
``links``, ``phase``, ``readout``).
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..hardware.effects import Chips
from ..hardware.model import HardwareModel
from ..validation import InstanceOf, Integer, Seed, validate_params

_CHUNK = 1 << 22   # numbers of read-noisy weight copies drawn at once by a prediction


class ReadoutChip:
    """``batch`` chips holding readout weights ``(batch, n_features, n_outputs)`` under ``hardware``
    (module docstring). ``writes``: cells whose stored level an update changed, over all chips and
    updates; ``updates``: the updates written."""

    @validate_params({"hardware": InstanceOf(HardwareModel, example=HardwareModel), "seed": Seed(),
                      "batch": Integer(1), "n_features": Integer(1), "n_outputs": Integer(1)})
    def __init__(self, hardware: HardwareModel, seed: int, batch: int, n_features: int, n_outputs: int):
        self.hw, self.shape = hardware, (batch, n_features, n_outputs)
        gens = [backend._device_stream(seed, "readout", (b,)) for b in range(batch)]
        self.chips = Chips(gens, hardware=hardware, clip=hardware.weight_clip, n_cells=n_features * n_outputs)
        self.hooks = self.chips.hooks
        self.writes, self.updates = 0, 0
        with backend.on_host():
            self.chips.set_up()

    def __repr__(self):
        return f"ReadoutChip({self.hw.name!r}, chips={self.shape[0]}, cells={self.shape[1] * self.shape[2]})"

    def _cells(self, hook: str, w):
        """``w (B, ..., F, D)`` through the ``hook`` parts as cells ``(B, ..., F D)`` (chip ``b`` for row ``b``)."""
        if not self.hooks[hook]:
            return w
        return self.chips.through(hook, w.reshape(*w.shape[:-2], -1)).reshape(w.shape)

    # -- writes ---------------------------------------------------------------------------------
    def program(self, W) -> np.ndarray:
        """A write of ``W (B, F, D)``: the stored levels (clip, rounding; programming error drawn for changed cells)."""
        with backend.on_host():
            return self._cells("program", np.asarray(W, dtype=np.float64))

    def update(self, W, delta) -> np.ndarray:
        """``program(W + update(delta))``, as :meth:`astrocore.hardware.Device.update`: the new stored levels."""
        with backend.on_host():
            stored = self._cells("program", W + self._cells("update", delta))
        self.writes += int(np.count_nonzero(stored != W))
        self.updates += 1
        return stored

    @property
    def writes_per_update(self) -> float:
        """Cells rewritten per chip and update (at most ``F D``; nan before the first update)."""
        return self.writes / (self.updates * self.shape[0]) if self.updates else float("nan")

    # -- uses -------------------------------------------------------------------------------------
    def hold(self, W) -> np.ndarray:
        """The stored ``W (B, F, D)`` as the cells hold it (static between writes)."""
        with backend.on_host():
            return self._cells("hold", W)

    def read(self, W, copies: int | None = None) -> np.ndarray:
        """One use of ``W (B, F, D)`` (``hold`` then ``read``), or ``copies`` independent uses ``(B, copies, F, D)``."""
        with backend.on_host():
            w = self._cells("hold", W)
            if copies is not None:
                w = np.broadcast_to(w[:, None], (w.shape[0], copies, *w.shape[1:]))
            return self._cells("read", w)

    def dac(self, f):
        """Features through the input converter."""
        with backend.on_host():
            return self.chips.through("dac", f)

    def perturbation(self, delta):
        """MGD's perturbations (weights or outputs) through the converter that applies them."""
        with backend.on_host():
            return self.chips.through("perturbation", delta)

    def measure(self, costs):
        """Costs ``(B,)`` as measured (cost noise, cost ADC)."""
        with backend.on_host():
            return self.chips.through("measure", costs)

    def outputs(self, Wr, fq, delta=None):
        """``adc(Wr^T fq [+ delta])`` of one use ``Wr (B, F, D)`` on converted features ``fq (B, F)``: ``(B, D)``."""
        z = np.einsum("bf,bfd->bd", fq, Wr)
        if delta is not None:
            z += delta
        with backend.on_host():
            return self.chips.through("adc", z)

    def forward(self, W, f) -> np.ndarray:
        """Predictions ``(..., B, D)`` for features ``f (..., B, F)``: every sample a separate use of the weights."""
        B, F, D = W.shape
        rows = np.asarray(f).reshape(-1, B, F)
        M = rows.shape[0]
        out = np.empty((B, M, D))
        with backend.on_host():
            fq = self.chips.through("dac", rows)
            held = self._cells("hold", W)
            if not self.hooks["read"]:
                out[...] = np.einsum("mbf,bfd->bmd", fq, held)
            else:
                step = max(1, _CHUNK // (B * F * D))
                for i in range(0, M, step):
                    n = min(step, M - i)
                    w = self._cells("read", np.broadcast_to(held[:, None], (B, n, F, D)))
                    out[:, i:i + n] = np.einsum("mbf,bmfd->bmd", fq[i:i + n], w)
            out = self.chips.through("adc", out)
        return np.moveaxis(out, 0, 1).reshape(*np.shape(f)[:-1], D)
