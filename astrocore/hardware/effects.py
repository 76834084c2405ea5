"""Hardware effects: small frozen, validated parts, applied at named hook points.

A :class:`~astrocore.hardware.HardwareModel` is made of parts, as aihwkit's
configurations are made of typed parameter and noise-model classes. Each part
is a frozen dataclass whose fields declare their constraints
(:mod:`astrocore.validation`; checked by its ``__init__``), whose defaults
switch it off, and which implements the hook points where its physics acts.
The devices call the same parts at the same points: the MLP's
:class:`~astrocore.hardware.Device` and both reservoirs
(:mod:`astrocore.reservoir`). So a new effect is one class here and one field
of :class:`~astrocore.hardware.HardwareModel`; the flat field names of the
configs, the validation, ``to_attrs`` and every device that calls its hook
points follow from them.

The parts (the fields of each, with their flat names, are in each class):

================= ===================================================== ===========================
part              what                                                  hook points
================= ===================================================== ===========================
WeightStorage     levels over [-clip, clip], (stochastic) rounding,     setup, program, hold, read
                  programming and read noise, drift, stuck cells
Converters        DAC and ADC bits and ranges, output noise             dac, adc, perturbation
CostReadout       cost-measurement noise, cost ADC                      measure
Update            update noise and granularity                          update
NeuronVariation   each neuron's offset, slope and gain                  setup, pre/post_activation
ReservoirEffects  node-state bits, link modulation noise, link phase    state, links, phase, readout
                  noise, readout bits
================= ===================================================== ===========================

Hook points (:data:`HOOKS`; the base :class:`Effect` defines each as "no
change"; a part overrides those it acts at, and :meth:`Effect.uses` says
whether it is on there). Every hook gets the ``site``: a :class:`Chips`, the
random streams (one per chip) and the state the parts drew for it.

- ``setup(site)``: draw the site's static random state once (stuck cells,
  neuron variation). An MLP device does it when built; a reservoir matrix right
  after its one write.
- ``program(w, site) -> w``: a write of the weights ``w`` (S, N): the stored
  levels (clip, rounding), the programming error drawn for the cells that
  changed.
- ``hold(w, site) -> w``: what the cells hold when read (programming error,
  drift, stuck cells): static between writes.
- ``read(w, site) -> w``: fresh per-use effects (read noise). The MLP reads at
  every forward pass (``hold`` then ``read``); a reservoir writes its matrices
  once (``program``, ``setup``, ``hold``) and uses them at every step as held.
- ``dac(x, site)``, ``adc(z, site)``, ``perturbation(delta, site)``: a layer's
  inputs, its pre-activations, MGD's perturbations.
- ``pre_activation(z, layer, site)``, ``post_activation(h, layer, site)``: a
  neuron around its activation function ``f``.
- ``measure(costs, site)``: every cost MGD measures. ``update(delta, site)``:
  every parameter update before it is written.
- ``state(x)``: a reservoir's node states after each update (in place, every
  step). ``links(m, site)``: each link's modulation depth, once.
  ``phase(phi, site, out)``: each link's phase as the oscillator sees it, every
  step (``site.phase_normals()`` gives the step's standard normals).
  ``readout(coef)``: readout weights after the fit.

Every random draw comes from the site's streams, in the order the hooks are
called, so switching one effect on never moves another's numbers. The
physics is shared too: one quantizer (:mod:`~astrocore.hardware.quantizer`)
and one noise implementation (:mod:`~astrocore.hardware.noise`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from .. import backend
from ..validation import Bool, Choice, InvalidParameterError, Optional, validate_params
from .noise import NOISE_TYPES, _drift_factor, _noisy, _noisy_into
from .quantizer import BITS, FRACTION, NONNEGATIVE, POSITIVE, _quantize, _snap

HOOKS = ("setup", "program", "hold", "read", "dac", "adc", "perturbation", "pre_activation", "post_activation",
         "measure", "update", "state", "links", "phase", "readout")
"""The hook points, in the order a device meets them (module docstring)."""


def param(default, constraint):
    """A part's field: its default (off) and its declared constraint."""
    return field(default=default, metadata={"constraint": constraint})


PARTS: list = []
"""Every part class, in the order defined (:func:`effect` adds each; the library's six below)."""


def effect(cls):
    """Class decorator of a part: a frozen dataclass whose ``__init__`` checks every field's
    declared constraint (:func:`param`), added to :data:`PARTS`."""
    cls = dataclass(frozen=True)(cls)
    cls.constraints = {f.name: f.metadata["constraint"] for f in dataclasses.fields(cls)}
    cls.__init__ = validate_params(cls.constraints)(cls.__init__)
    PARTS.append(cls)
    return cls


class Effect:
    """Base of the parts: every hook point changes nothing (module docstring)."""

    constraints: ClassVar[dict] = {}

    @property
    def is_ideal(self) -> bool:
        """True when every field is at its default (the part changes no number)."""
        return all(getattr(self, f.name) == f.default for f in dataclasses.fields(self))

    @classmethod
    def defines(cls, hook: str) -> bool:
        """Whether this part acts at ``hook`` (overrides it)."""
        return getattr(cls, hook) is not getattr(Effect, hook)

    def uses(self, hook: str) -> bool:
        """Whether the devices must call this part at ``hook`` (by default: it acts there and is on)."""
        return self.defines(hook) and not self.is_ideal

    def replace(self, **changes):
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    # -- the hook points (identity here) ------------------------------------------------------
    def setup(self, site) -> None:
        """Draw the site's static random state."""

    def program(self, w, site):
        """A write of the weights: what the cells store."""
        return w

    def hold(self, w, site):
        """The stored weights as the cells hold them (static between writes)."""
        return w

    def read(self, w, site):
        """The held weights as one use reads them."""
        return w

    def dac(self, x, site):
        """A layer's inputs through the input converter."""
        return x

    def adc(self, z, site):
        """A layer's pre-activations through the output converter."""
        return z

    def perturbation(self, delta, site):
        """MGD's perturbations as applied to the weights."""
        return delta

    def pre_activation(self, z, layer: int, site):
        """A neuron's input, before its activation function."""
        return z

    def post_activation(self, h, layer: int, site):
        """A neuron's output, after its activation function."""
        return h

    def measure(self, costs, site):
        """A cost as measured."""
        return costs

    def update(self, delta, site):
        """A parameter update before it is written."""
        return delta

    def state(self, x) -> None:
        """A reservoir's node states after an update, in place."""

    def links(self, m, site):
        """Each link's modulation depth (a reservoir's, once)."""
        return m

    def phase(self, phi, site, out):
        """Each link's phase as its oscillator sees it this step, into ``out``."""
        return phi

    def readout(self, coef):
        """Readout weights after the fit."""
        return coef


# -- the site ---------------------------------------------------------------------------------------
class Chips:
    """The site of the hooks: ``S`` chips' random streams and what the parts drew on them.

    ``gens``: one Generator per chip (row ``s`` of an array with a leading chip
    axis is chip ``s``'s; with one chip any shape is one chip's). ``hardware``:
    the model; ``clip``: the weight range of the cells (the model's
    ``weight_clip`` on an MLP device, a reservoir matrix's largest magnitude);
    ``n_cells``: cells per chip; ``widths``: the neurons per layer (an MLP's).
    """

    def __init__(self, gens, *, hardware=None, clip=None, n_cells: int = 0, widths: tuple = ()):
        self.gens = list(gens)
        self.n_chips = len(self.gens)
        self.hardware, self.clip, self.n_cells, self.widths = hardware, clip, n_cells, tuple(widths)
        self.state: dict = {}
        self.hooks = {hook: () if hardware is None else hardware.at(hook) for hook in HOOKS}
        """The parts acting at each hook, in the model's order."""

    def through(self, hook: str, x):
        """``x`` through the ``hook`` method of every part acting there, in order (``setup``, the
        activations' hooks, which take other arguments, are called by their sites)."""
        for part in self.hooks[hook]:
            x = getattr(part, hook)(x, self)
        return x

    def set_up(self) -> None:
        """Every part's ``setup`` on these chips (static draws: stuck cells, device-to-device spreads)."""
        for part in self.hooks["setup"]:
            part.setup(self)

    def memo(self, part) -> dict:
        """The state ``part`` keeps on this site (a dict, created empty)."""
        return self.state.setdefault(type(part), {})

    def rows(self, arr, ndim: int):
        """Per-chip array (S, n) shaped to broadcast against an array of ``ndim`` dims."""
        if self.n_chips == 1:
            return arr[0]
        return arr.reshape(arr.shape[0], *(1,) * (ndim - arr.ndim), *arr.shape[1:])

    def per_chip(self, draw, shape, dtype=None, drawn=np.float64):
        """Fresh ``draw(gen, shape, out)`` numbers (``drawn``: their dtype): row ``s`` from chip ``s``'s stream
        (any shape for one chip), each chip's row drawn straight into the output (``out``; None on CuPy)."""
        xp = backend.xp()
        if self.n_chips == 1:
            out = draw(self.gens[0], shape, None)
        elif shape[0] != self.n_chips:
            raise ValueError(f"an array for {self.n_chips} chips needs a leading axis of {self.n_chips}, "
                             f"got shape {tuple(shape)}")
        elif xp is np:
            out = np.empty(shape, dtype=drawn)
            for g, row in zip(self.gens, out.reshape(self.n_chips, -1)):
                draw(g, row.shape, row)
        else:
            out = xp.stack([draw(g, shape[1:], None) for g in self.gens])
        return out if dtype is None else out.astype(dtype, copy=False)

    def normal(self, shape, dtype=None):
        """Standard normals (float64 draws, cast to ``dtype``)."""
        return self.per_chip(lambda g, size, out: g.standard_normal(size, out=out), shape, dtype)

    def uniform(self, shape, dtype=np.float64):
        """Uniforms on [0, 1) drawn in ``dtype``."""
        return self.per_chip(lambda g, size, out: g.random(size, dtype=dtype, out=out), shape, drawn=dtype)


def _rounding_dtype(dtype):
    return np.float32 if dtype == np.float32 else np.float64


# -- the parts --------------------------------------------------------------------------------------
@effect
class WeightStorage(Effect):
    """Weight cells: ``weight_bits`` uniform levels over ``[-weight_clip, weight_clip]``, rounded to
    nearest or stochastically; programming noise drawn at every write, read noise at every use,
    each ``proportional`` (``w (1 + sigma e)``) or ``additive`` (``w + sigma clip e``); drift
    ``w ((t + t0) / t0)^-nu`` read ``drift_time`` s after programming; fractions of cells stuck
    at ``-clip``, ``+clip`` or 0."""

    weight_bits: int | None = param(None, Optional(BITS))
    weight_clip: float | None = param(None, Optional(POSITIVE))
    stochastic_rounding: bool = param(False, Bool())
    programming_noise: float = param(0.0, NONNEGATIVE)
    programming_noise_type: str = param("proportional", Choice(NOISE_TYPES))
    read_noise: float = param(0.0, NONNEGATIVE)
    read_noise_type: str = param("proportional", Choice(NOISE_TYPES))
    drift_nu: float = param(0.0, NONNEGATIVE)
    drift_t0: float = param(20.0, POSITIVE)
    drift_time: float = param(0.0, NONNEGATIVE)
    stuck_at_min: float = param(0.0, FRACTION)
    stuck_at_max: float = param(0.0, FRACTION)
    stuck_at_zero: float = param(0.0, FRACTION)

    def __post_init__(self):
        if self.stuck_fraction > 1:
            raise InvalidParameterError("stuck_at_min + stuck_at_max + stuck_at_zero must be at most 1 (fractions "
                                        f"of cells), got {self.stuck_fraction!r}")
        if self.weight_clip is None:
            needs = [n for n, on in (
                ("weight_bits", self.weight_bits is not None),
                ("additive programming_noise", self.programming_noise and self.programming_noise_type == "additive"),
                ("additive read_noise", self.read_noise and self.read_noise_type == "additive"),
                ("stuck_at_min", self.stuck_at_min > 0), ("stuck_at_max", self.stuck_at_max > 0)) if on]
            if needs:
                raise InvalidParameterError(f"{', '.join(needs)} need(s) the weight range: set weight_clip "
                                            "(the largest weight magnitude the cells hold, > 0)")

    @property
    def stuck_fraction(self) -> float:
        return self.stuck_at_min + self.stuck_at_max + self.stuck_at_zero

    @property
    def weight_step(self) -> float | None:
        """Spacing of the weight levels, or None without ``weight_bits``."""
        return None if self.weight_bits is None else 2.0 * self.weight_clip / ((1 << self.weight_bits) - 1)

    def setup(self, site) -> None:
        """Stuck cells, drawn once per chip: a code per cell, 0 healthy, 1 at -clip, 2 at +clip, 3 at 0."""
        if not self.stuck_fraction:
            return
        u = backend.to_host(site.uniform((site.n_chips, site.n_cells)))
        edges = np.cumsum([self.stuck_at_min, self.stuck_at_max, self.stuck_at_zero])
        codes = np.where(u < edges[2], np.searchsorted(edges, u, side="right") + 1, 0).astype(np.int8)
        if codes.any():
            site.memo(self)["stuck"] = backend.xp().asarray(codes)

    def program(self, w, site):
        """Clip and round onto the levels; cells whose level changed get a fresh programming error."""
        xp = backend.xp()
        clip = site.clip
        if clip is None:
            stored = w
        elif self.weight_bits is None:
            stored = xp.clip(w, -clip, clip)
        else:
            u = site.uniform(w.shape, _rounding_dtype(w.dtype)) if self.stochastic_rounding else None
            stored = _quantize(w, self.weight_bits, -clip, clip, u)
        if self.programming_noise:
            memo = site.memo(self)
            fresh = site.normal(w.shape, w.dtype)
            error = memo.get("error")
            memo["error"] = fresh if error is None else xp.where(stored != memo["stored"], fresh, error)
            memo["stored"] = xp.array(stored, copy=True)
        return stored

    def hold(self, w, site):
        """Programming error (drawn at the last write of each cell), drift, stuck cells."""
        memo = site.memo(self)
        error = memo.get("error")
        if error is not None:
            e = site.rows(error, w.ndim).astype(w.dtype, copy=False)
            w = _noisy(w, e, self.programming_noise, self.programming_noise_type, site.clip)
        if self.drift_nu:
            w = w * _drift_factor(self.drift_time, self.drift_nu, self.drift_t0)
        stuck = memo.get("stuck")
        if stuck is not None:
            xp = backend.xp()
            clip = site.clip or 0.0
            values = xp.asarray(np.array([0.0, -clip, clip, 0.0]), dtype=w.dtype)
            codes = site.rows(stuck, w.ndim)
            w = xp.where(codes > 0, values[codes.astype(np.int64)], w)
        return w

    def read(self, w, site):
        """Fresh read noise at every use."""
        if not self.read_noise:
            return w
        return _noisy(w, site.normal(w.shape, w.dtype), self.read_noise, self.read_noise_type, site.clip)


@effect
class Converters(Effect):
    """``dac_bits`` on every layer's inputs and on MGD's perturbations (over ``[-dac_range,
    dac_range]``; perturbations over their own largest magnitude), ``adc_bits`` on every layer's
    pre-activations (over ``[-adc_range, adc_range]``) after additive ``output_noise`` (a fraction
    of ``adc_range``)."""

    dac_bits: int | None = param(None, Optional(BITS))
    dac_range: float = param(1.0, POSITIVE)
    adc_bits: int | None = param(None, Optional(BITS))
    adc_range: float = param(8.0, POSITIVE)
    output_noise: float = param(0.0, NONNEGATIVE)

    def uses(self, hook: str) -> bool:
        if hook in ("dac", "perturbation"):
            return self.dac_bits is not None
        return hook == "adc" and (self.adc_bits is not None or bool(self.output_noise))

    def dac(self, x, site):
        return _quantize(x, self.dac_bits, -self.dac_range, self.dac_range)

    def adc(self, z, site):
        if self.output_noise:
            z = _noisy(z, site.normal(z.shape, z.dtype), self.output_noise, "additive", self.adc_range)
        if self.adc_bits is not None:
            z = _quantize(z, self.adc_bits, -self.adc_range, self.adc_range)
        return z

    def perturbation(self, delta, site):
        xp = backend.xp()
        peak = float(xp.max(xp.abs(delta)))
        return delta if peak == 0 else _quantize(delta, self.dac_bits, -peak, peak)


@effect
class CostReadout(Effect):
    """Every cost MGD measures: plus ``cost_noise`` (a standard deviation in cost units), then an
    ADC of ``cost_bits`` over ``[0, cost_range]``."""

    cost_noise: float = param(0.0, NONNEGATIVE)
    cost_bits: int | None = param(None, Optional(BITS))
    cost_range: float = param(4.0, POSITIVE)

    def uses(self, hook: str) -> bool:
        return hook == "measure" and (bool(self.cost_noise) or self.cost_bits is not None)

    def measure(self, costs, site):
        if self.cost_noise:
            costs = _noisy(costs, site.normal(costs.shape, costs.dtype), self.cost_noise)
        if self.cost_bits is not None:
            costs = _quantize(costs, self.cost_bits, 0.0, self.cost_range)
        return costs


@effect
class Update(Effect):
    """Every parameter update ``delta``: times ``(1 + update_noise e)`` (pulse-to-pulse variation),
    then rounded to multiples of ``update_step`` (the smallest change a write makes;
    stochastically when the weights round stochastically)."""

    update_noise: float = param(0.0, NONNEGATIVE)
    update_step: float | None = param(None, Optional(POSITIVE))

    def update(self, delta, site):
        if self.update_noise:
            delta = _noisy(delta, site.normal(delta.shape, delta.dtype), self.update_noise, "proportional")
        if self.update_step is not None:
            stochastic = site.hardware is not None and site.hardware.weights.stochastic_rounding
            delta = _snap(delta, self.update_step, site.uniform(delta.shape) if stochastic else None)
        return delta


@effect
class NeuronVariation(Effect):
    """Device-to-device variation of each neuron: ``f_j(z) = (1 + A_j) f((1 + S_j)(z - O_j))``,
    ``O_j ~ N(0, activation_offset^2)``, ``S_j ~ N(0, activation_slope^2)``,
    ``A_j ~ N(0, activation_gain^2)``, drawn once per chip."""

    activation_offset: float = param(0.0, NONNEGATIVE)
    activation_slope: float = param(0.0, NONNEGATIVE)
    activation_gain: float = param(0.0, NONNEGATIVE)

    def setup(self, site) -> None:
        """Per layer ``(S, 3, n)``: each neuron's offset, slope and gain."""
        xp = backend.xp()
        scale = xp.asarray([self.activation_offset, self.activation_slope, self.activation_gain])[:, None]
        site.memo(self)["variation"] = [site.normal((site.n_chips, 3, n)) * scale[None] for n in site.widths]

    def _draws(self, layer, ndim, dtype, site):
        return site.rows(site.memo(self)["variation"][layer], ndim + 1).astype(dtype, copy=False)

    def pre_activation(self, z, layer, site):
        v = self._draws(layer, z.ndim, z.dtype, site)
        return (1.0 + v[..., 1, :]) * (z - v[..., 0, :])

    def post_activation(self, h, layer, site):
        return (1.0 + self._draws(layer, h.ndim, h.dtype, site)[..., 2, :]) * h


@effect
class ReservoirEffects(Effect):
    """A reservoir on a device: ``state_bits`` (node states rounded over [-1, 1] after every
    update), ``modulation_noise`` (each link's modulation depth ``m (1 + sigma e)``, drawn once),
    ``phase_noise`` (each link's phase ``+ sigma e(t)`` every step, rad), ``readout_bits``
    (readout weights rounded over ``[-max|W|, max|W|]`` of each readout)."""

    state_bits: int | None = param(None, Optional(BITS))
    modulation_noise: float = param(0.0, NONNEGATIVE)
    phase_noise: float = param(0.0, NONNEGATIVE)
    readout_bits: int | None = param(None, Optional(BITS))

    def uses(self, hook: str) -> bool:
        return {"state": self.state_bits is not None, "links": bool(self.modulation_noise),
                "phase": bool(self.phase_noise), "readout": self.readout_bits is not None}.get(hook, False)

    def state(self, x) -> None:
        _quantize(x, self.state_bits, -1.0, 1.0, out=x)

    def links(self, m, site):
        return _noisy(m, site.normal((site.n_cells,)), self.modulation_noise, "proportional")

    def phase(self, phi, site, out):
        return _noisy_into(phi, site.phase_normals(), self.phase_noise, out)

    def readout(self, coef):
        """Each readout ``b`` of ``coef`` (B, ...) over ``[-c_b, c_b]``, ``c_b = max |coef[b]|`` (zeros stay 0)."""
        coef = np.asarray(coef, dtype=float)
        peak = np.abs(coef).max(axis=tuple(range(1, coef.ndim)), keepdims=True)
        c = np.where(peak > 0, peak, 1.0)
        with backend.use_backend("numpy"):
            q = _quantize(coef, self.readout_bits, -c, c)
        return np.where(peak > 0, q, 0.0)
