"""A simulated chip holding an MLP: the hook points where the hardware parts act.

One :class:`Device` stands for ``S`` chips, one per run seed, each with its
own random stream (the run's ``device`` stream, :func:`astrocore.backend.device_stream`,
apart from the trainer's, so switching effects on or off never shifts the
trainer's draws). It calls the parts of its
:class:`~astrocore.hardware.HardwareModel` (:mod:`astrocore.hardware.effects`)
at its hook points:

=============================== ===============================================================
Device method                   hooks (parts, in the model's field order)
=============================== ===============================================================
``Device(...)``                 ``setup``: stuck cells, each neuron's variation (once per chip)
:meth:`Device.program`          ``program``: stored levels, programming error of changed cells
:meth:`Device.read`             ``hold`` then ``read``: programming error, drift, stuck cells,
                                fresh read noise
:meth:`Device.dac`,             ``dac``, ``adc``: every layer's inputs and pre-activations
:meth:`Device.adc`
:meth:`Device.activate`         ``pre_activation``, ``f``, ``post_activation``
:meth:`Device.measure`          ``measure``: every cost MGD measures
:meth:`Device.update`           ``update`` then ``program``: every parameter update
:meth:`Device.quantize_perturbations` ``perturbation``: MGD's perturbations
=============================== ===============================================================

Arrays with a leading seed axis (``theta`` (S, ..., N), pre-activations
(S, ..., n)) use chip ``s`` for row ``s``; with ``S = 1`` any shape works.
:meth:`Device.bind` gives an MLP whose forward pass, loss and predictions run
on the device, which is how :func:`astrocore.mgd.train` and the evaluation
helpers use it (the MLP itself is unchanged).
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..nets import MLP, _activate, check_memory_estimate
from ..validation import Array, InstanceOf, InvalidParameterError, Seed, Seeds, validate_params
from .effects import Chips
from .model import HARDWARE, HardwareModel, _as_model

MODEL = InstanceOf(MLP, example=lambda: MLP([2, 2, 1]))


@validate_params({"seed": Seed()})
def stream_seed(seed: int) -> int:
    """The seed of the device stream of run ``seed`` (independent of ``rng(seed)``;
    :func:`astrocore.backend.stream_seed` ``(seed, "device")``)."""
    return backend._stream_seed(seed, "device")


class Device:
    """``S`` chips (one per seed) holding the parameters of ``model`` under ``hardware``.

    Parameters
    ----------
    hardware : HardwareModel or preset name
    model : astrocore.nets.MLP
    seed : int or list of int
        One chip per seed (distinct non-negative ints), as :func:`astrocore.mgd.train`'s
        ``seed``; chip ``s`` draws from the device stream of seed ``s``.
    """

    @validate_params({"hardware": HARDWARE, "model": MODEL, "seed": Seeds()})
    def __init__(self, hardware, model, *, seed=0):
        hw = _as_model(hardware) or HardwareModel(name="ideal")
        seeds = list(seed)
        check_memory_estimate("seed", seeds, 4 * len(seeds) * model.n_params * np.dtype(model.dtype).itemsize,
                              f"stored levels, programming errors and stuck cells of {len(seeds)} chip(s) of "
                              f"{model.n_params} parameters")
        self.hw, self.model, self.seeds = hw, model, seeds
        self.gens = [backend._device_stream(s) for s in seeds]
        self.n_chips = len(seeds)
        self.chips = Chips(self.gens, hardware=hw, clip=hw.weight_clip, n_cells=model.n_params,
                           widths=model.sizes[1:])
        self.hooks = self.chips.hooks
        self.chips.set_up()

    def __repr__(self):
        return f"Device({self.hw.name!r}, chips={self.n_chips}, model={self.model!r})"

    def _as_chips(self, theta):
        xp = backend.xp()
        theta = xp.asarray(theta)
        rows = theta.reshape(1, -1) if theta.ndim == 1 else theta
        if rows.shape != (self.n_chips, self.model.n_params):
            one = f" or ({self.model.n_params},)" if self.n_chips == 1 else ""
            raise InvalidParameterError(f"theta (parameters for {self.n_chips} chips) must have shape ({self.n_chips}, "
                                        f"{self.model.n_params}){one}, got {tuple(theta.shape)}")
        return rows

    # -- writes ---------------------------------------------------------------------------
    @validate_params({"theta": Array((1, 2))})
    def program(self, theta):
        """Write ``theta`` ((S, N), or (N,) for one chip; finite): returns the stored levels.

        Values are clipped and quantized (stochastic rounding from each chip's
        stream when on); cells whose level changed get a fresh programming
        error, the others keep theirs. Integer input becomes the model's dtype.
        """
        return self._program(theta.astype(self.model.dtype, copy=False))

    def _program(self, theta):
        """:meth:`program` without validation (the trainer's update path)."""
        stored = self.chips.through("program", self._as_chips(theta))
        return stored.reshape(backend.xp().asarray(theta).shape)

    def update(self, old, new) -> None:
        """Apply the update ``new - old`` through the device, in place on ``new`` (S, N).

        ``delta = new - old`` goes through the ``update`` hooks (update noise,
        granularity), then ``old + delta`` is written with :meth:`program`.
        """
        new[...] = self._program(old + self.chips.through("update", new - old))

    # -- reads ----------------------------------------------------------------------------
    def read(self, theta):
        """The weights a forward pass sees: the stored values as the cells hold them
        (programming error, drift, stuck cells) with fresh read noise. ``theta``
        (..., N) may carry perturbations on top of the stored levels."""
        return self.chips.through("read", self.chips.through("hold", backend.xp().asarray(theta)))

    def dac(self, x):
        """Inputs of a crossbar through the DAC (identity without ``dac_bits``)."""
        return self.chips.through("dac", x)

    def adc(self, z):
        """Pre-activations read out: output noise, then the ADC."""
        return self.chips.through("adc", z)

    def activate(self, name: str, z, layer: int):
        """``(1 + A_j) f((1 + S_j)(z - O_j))`` with this chip's neuron variation."""
        for part in self.hooks["pre_activation"]:
            z = part.pre_activation(z, layer, self.chips)
        h = _activate(name, z, backend.xp())
        for part in self.hooks["post_activation"]:
            h = part.post_activation(h, layer, self.chips)
        return h

    def measure(self, costs):
        """Costs as measured: plus ``cost_noise``, through the cost ADC over [0, cost_range].

        ``costs`` has the chips on its leading axis (or any shape for one
        chip); NumPy input gives NumPy output.
        """
        parts = self.hooks["measure"]
        if not parts:
            return costs
        host = isinstance(costs, np.ndarray)
        c = self.chips.through("measure", backend.xp().asarray(costs))
        return backend.to_host(c) if host else c

    @property
    def alters_perturbations(self) -> bool:
        """Whether :meth:`quantize_perturbations` changes anything (a part acts at ``perturbation``)."""
        return bool(self.hooks["perturbation"])

    def quantize_perturbations(self, delta):
        """Perturbations through the DAC, full scale at their largest magnitude."""
        return self.chips.through("perturbation", delta)

    def bind(self, model=None):
        """``model`` (default: the device's) with forward/loss/predict on this device."""
        return OnDevice(self.model if model is None else model, self)


class OnDevice:
    """An MLP whose forward passes run on a :class:`Device`; every other attribute
    (sizes, layer views, the backprop gradient, hyperparameters) is the MLP's."""

    def __init__(self, model, device: Device):
        self._model, self.device = model, device

    def __getattr__(self, name):
        return getattr(self._model, name)

    def __repr__(self):
        return f"OnDevice({self._model!r}, {self.device.hw.name!r})"

    # the public methods validate through the MLP's; the kernels call the unchecked ones
    def forward(self, theta, X, return_hidden: bool = False, hook=None):
        return self._model.forward(theta, X, return_hidden=return_hidden, hook=hook, device=self.device)

    def loss(self, theta, X, Y):
        return self._model.loss(theta, X, Y, device=self.device)

    def predict(self, theta, X):
        return self._model.predict(theta, X, device=self.device)

    def _forward(self, theta, X, return_hidden=False, hook=None, device=None):
        return self._model._forward(theta, X, return_hidden, hook, self.device)

    def _loss(self, theta, X, Y, device=None):
        return self._model._loss(theta, X, Y, self.device)
