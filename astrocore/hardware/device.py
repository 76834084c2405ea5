"""A simulated chip holding an MLP: the random draws of a :class:`HardwareModel`.

One :class:`Device` stands for ``S`` chips, one per training seed, each with
its own random stream (derived from the seed, separate from the trainer's, so
switching effects on or off never shifts the trainer's draws). Per chip it
draws once: stuck cells and each neuron's activation variation; at every
write (:meth:`Device.program`) a fresh programming error for the cells whose
stored level changed; at every use (:meth:`Device.read`, :meth:`Device.adc`,
:meth:`Device.measure`) fresh read, output and cost-measurement noise.

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
from .model import HARDWARE, HardwareModel, _as_model, _drift_factor, _quantize_between, apply_stuck

HARDWARE_STREAM = 0x48574152  # "HWAR": the device's stream, apart from the trainer's
MODEL = InstanceOf(MLP, example=lambda: MLP([2, 2, 1]))


@validate_params({"seed": Seed()})
def stream_seed(seed: int) -> int:
    """The seed of the device stream of run ``seed`` (independent of ``rng(seed)``)."""
    return _stream_seed(seed)


def _stream_seed(seed: int) -> int:
    return int(np.random.SeedSequence([seed, HARDWARE_STREAM]).generate_state(1)[0])


class Device:
    """``S`` chips (one per seed) holding the parameters of ``model`` under ``hardware``.

    Parameters
    ----------
    hardware : HardwareModel or preset name
    model : astrocore.nets.MLP
    seeds : int or list of int
        One chip per seed (distinct non-negative ints); its draws come from :func:`stream_seed`.
    """

    @validate_params({"hardware": HARDWARE, "model": MODEL, "seeds": Seeds()})
    def __init__(self, hardware, model, seeds):
        hw = _as_model(hardware) or HardwareModel(name="ideal")
        seeds = list(seeds)
        check_memory_estimate("seeds", seeds, 4 * len(seeds) * model.n_params * np.dtype(model.dtype).itemsize,
                              f"stored levels, programming errors and stuck cells of {len(seeds)} chip(s) of "
                              f"{model.n_params} parameters")
        xp = backend.xp()
        self.hw, self.model, self.seeds = hw, model, seeds
        self.gens = [backend._rng(_stream_seed(s)) for s in seeds]
        self.n_chips, N = len(seeds), model.n_params
        codes = np.stack([hw.stuck_codes(N, g) for g in self.gens])
        self.stuck = xp.asarray(codes) if codes.any() else None
        self.variation = None
        if hw.activation_offset or hw.activation_slope or hw.activation_gain:
            widths = model.sizes[1:]
            draws = [[g.standard_normal((3, n)) for n in widths] for g in self.gens]
            scale = xp.asarray([hw.activation_offset, hw.activation_slope, hw.activation_gain])[:, None]
            self.variation = [xp.stack([d[index] for d in draws]) * scale[None]
                              for index in range(len(widths))]  # per layer (S, 3, n)
        self.drift = _drift_factor(hw.drift_time, hw.drift_nu, hw.drift_t0) if hw.drift_nu else None
        self._stored = None     # (S, N) levels as last written
        self._error = None      # (S, N) standard-normal programming error of each cell

    def __repr__(self):
        return f"Device({self.hw.name!r}, chips={self.n_chips}, model={self.model!r})"

    # -- per-chip helpers ---------------------------------------------------------------
    def _rows(self, arr, ndim: int):
        """Per-chip array (S, n) shaped to broadcast against an array of ``ndim`` dims."""
        if self.n_chips == 1:
            return arr[0]
        return arr.reshape(arr.shape[0], *(1,) * (ndim - arr.ndim), *arr.shape[1:])

    def _per_chip(self, draw, shape, dtype=None):
        """Fresh ``draw(gen, shape)`` numbers: row ``s`` from chip ``s``'s stream (any shape for one chip)."""
        xp = backend.xp()
        if self.n_chips == 1:
            out = draw(self.gens[0], shape)
        elif shape[0] != self.n_chips:
            raise ValueError(f"an array for {self.n_chips} chips needs a leading axis of {self.n_chips}, "
                             f"got shape {tuple(shape)}")
        else:
            out = xp.stack([draw(g, shape[1:]) for g in self.gens])
        return out if dtype is None else out.astype(dtype, copy=False)

    def _normal(self, shape, dtype):
        return self._per_chip(lambda g, size: g.standard_normal(size), shape, dtype)

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
        xp = backend.xp()
        rows = self._as_chips(theta)
        hw = self.hw
        if hw.stochastic_rounding and hw.weight_bits is not None:
            stored = xp.stack([hw.store(rows[s], gen=g) for s, g in enumerate(self.gens)])
        else:
            stored = hw.store(rows)
        if hw.programming_noise:
            fresh = self._normal(rows.shape, rows.dtype)
            if self._error is None:
                self._error = fresh
            else:
                self._error = xp.where(stored != self._stored, fresh, self._error)
        self._stored = xp.array(stored, copy=True)
        return stored.reshape(xp.asarray(theta).shape)

    def update(self, old, new) -> None:
        """Apply the update ``new - old`` through the device, in place on ``new`` (S, N).

        ``delta <- delta (1 + update_noise e)``, rounded to multiples of
        ``update_step`` (stochastically when ``stochastic_rounding``), then
        ``old + delta`` is written with :meth:`program`.
        """
        xp = backend.xp()
        hw = self.hw
        delta = new - old
        if hw.update_noise:
            delta = delta * (1.0 + hw.update_noise * self._normal(delta.shape, delta.dtype))
        if hw.update_step is not None:
            units = delta / hw.update_step
            if hw.stochastic_rounding:
                units = xp.floor(units + self._per_chip(lambda g, size: g.random(size), units.shape))
            else:
                units = xp.rint(units)
            delta = units * hw.update_step
        new[...] = self._program(old + delta)

    # -- reads ----------------------------------------------------------------------------
    def read(self, theta):
        """The weights a forward pass sees: stored values with their programming
        error, drift, stuck cells and fresh read noise. ``theta`` (..., N) may
        carry perturbations on top of the stored levels."""
        xp = backend.xp()
        hw = self.hw
        w = xp.asarray(theta)
        if hw.programming_noise and self._error is not None:
            e = self._rows(self._error, w.ndim).astype(w.dtype, copy=False)
            if hw.programming_noise_type == "proportional":
                w = w * (1.0 + hw.programming_noise * e)
            else:
                w = w + (hw.programming_noise * hw.weight_clip) * e
        if self.drift is not None:
            w = w * self.drift
        if self.stuck is not None:
            w = apply_stuck(w, self._rows(self.stuck, w.ndim), hw.weight_clip)
        if hw.read_noise:
            e = self._normal(w.shape, w.dtype)
            w = w * (1.0 + hw.read_noise * e) if hw.read_noise_type == "proportional" else \
                w + (hw.read_noise * hw.weight_clip) * e
        return w

    def dac(self, x):
        """Inputs of a crossbar through the DAC (identity without ``dac_bits``)."""
        hw = self.hw
        if hw.dac_bits is None:
            return x
        return _quantize_between(x, hw.dac_bits, -hw.dac_range, hw.dac_range)

    def adc(self, z):
        """Pre-activations read out: output noise, then the ADC."""
        hw = self.hw
        if hw.output_noise:
            z = z + (hw.output_noise * hw.adc_range) * self._normal(z.shape, z.dtype)
        if hw.adc_bits is not None:
            z = _quantize_between(z, hw.adc_bits, -hw.adc_range, hw.adc_range)
        return z

    def activate(self, name: str, z, layer: int):
        """``(1 + A_j) f((1 + S_j)(z - O_j))`` with this chip's neuron variation."""
        xp = backend.xp()
        if self.variation is None:
            return _activate(name, z, xp)
        v = self._rows(self.variation[layer], z.ndim + 1).astype(z.dtype, copy=False)
        offset, slope, gain = v[..., 0, :], v[..., 1, :], v[..., 2, :]
        return (1.0 + gain) * _activate(name, (1.0 + slope) * (z - offset), xp)

    def measure(self, costs):
        """Costs as measured: plus ``cost_noise``, through the cost ADC over [0, cost_range].

        ``costs`` has the chips on its leading axis (or any shape for one
        chip); NumPy input gives NumPy output.
        """
        hw = self.hw
        if not hw.cost_noise and hw.cost_bits is None:
            return costs
        host = isinstance(costs, np.ndarray)
        xp = backend.xp()
        c = xp.asarray(costs)
        if hw.cost_noise:
            c = c + hw.cost_noise * self._normal(c.shape, c.dtype)
        if hw.cost_bits is not None:
            c = _quantize_between(c, hw.cost_bits, 0.0, hw.cost_range)
        return backend.to_host(c) if host else c

    def quantize_perturbations(self, delta):
        """Perturbations through the DAC, full scale at their largest magnitude."""
        xp = backend.xp()
        if self.hw.dac_bits is None:
            return delta
        peak = float(xp.max(xp.abs(delta)))
        return delta if peak == 0 else _quantize_between(delta, self.hw.dac_bits, -peak, peak)

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
