"""The hardware model: one validated configuration of a device's non-idealities.

Each field is off by default, so ``HardwareModel()`` (and :func:`preset`
``"ideal"``) is the ideal machine. The model is a frozen description; the
random draws it implies (stuck cells, programming errors, per-neuron
variation) belong to a :class:`astrocore.hardware.Device`, one per simulated
chip and seed.

What is modelled (ALGORITHMS.md section 6; IBM aihwkit, Sandia CrossSim,
MemTorch and NeuroSim model the same effects):

Weight storage
    ``weight_bits`` uniform levels over ``[-weight_clip, weight_clip]``
    (:func:`quantize`), deterministic or stochastic rounding; programming
    noise drawn once at every write and read noise drawn at every use, each
    ``proportional`` (``w (1 + sigma e)``) or ``additive`` (``w + sigma
    weight_clip e``, sigma a fraction of the largest weight, as aihwkit quotes
    PCM programming noise in % of g_max), ``e ~ N(0, 1)``; conductance drift
    ``w(t) = w0 ((t + t0) / t0)^-nu`` read ``drift_time`` seconds after
    programming (aihwkit's PCM model, t0 = 20 s); stuck-at faults: fractions of
    cells stuck at ``-weight_clip``, ``+weight_clip`` or 0.
Converters
    ``dac_bits`` on the inputs of every layer and on MGD's perturbations
    (over ``[-dac_range, dac_range]``), ``adc_bits`` on every layer's
    pre-activations (over ``[-adc_range, adc_range]``), and additive
    ``output_noise`` (a fraction of ``adc_range``) on them.
MGD (McCaughan et al. 2023 study these in their own simulations)
    ``cost_noise`` (standard deviation added to every cost measurement, in
    cost units), ``cost_bits`` (an ADC on the measured cost over
    ``[0, cost_range]``), ``update_noise`` (proportional per-weight noise of
    every update), ``update_step`` (the smallest weight change a write can
    make; updates are rounded to multiples of it), and device-to-device
    variation of each neuron's activation, ``f_j(z) = (1 + A_j) f((1 + S_j)
    (z - O_j))`` with ``O_j ~ N(0, activation_offset^2)``,
    ``S_j ~ N(0, activation_slope^2)``, ``A_j ~ N(0, activation_gain^2)``.
Reservoirs
    ``state_bits`` (node states quantized over [-1, 1] after every step),
    ``modulation_noise`` (proportional device-to-device variation of each
    link's modulation depth m), ``phase_noise`` (standard deviation, in
    radians, of the phase jitter of every link oscillator per step),
    ``readout_bits`` (readout weights quantized over their own largest
    magnitude). The reservoir's recurrent and input weights use the weight
    storage fields above with ``weight_clip`` taken per matrix as its largest
    magnitude (a crossbar maps its conductance range onto the weight range).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .. import backend
from ..validation import (NO_VALIDATION, Array, Bool, Choice, Constraint, InstanceOf, Integer,
                          InvalidParameterError, Optional, Real, Seed, Text, validate_params)

NOISE_TYPES = ("proportional", "additive")
PRESETS = ("ideal", "digital8", "pcm", "rram")


class Bits(Integer):
    """A converter's or a cell's resolution: an int in [1, 32] (never a bool or a float)."""

    def __init__(self):
        super().__init__(1, 32)

    def describe(self) -> str:
        return "an integer number of bits in [1, 32]"


BITS = Bits()


POSITIVE = Real(0, closed="neither")     # a finite real > 0
NONNEGATIVE = Real(0)                    # a finite real >= 0
FRACTION = Real(0, 1)


# -- the quantizer ----------------------------------------------------------------------
@validate_params({"x": Array(), "bits": BITS, "low": Real(), "high": Real(), "gen": NO_VALIDATION})
def quantize_between(x, bits: int, low: float, high: float, gen=None):
    """``x`` rounded onto ``2^bits`` uniform levels ``low + k D``, ``D = (high - low) /
    (2^bits - 1)``, after clipping to ``[low, high]`` (``low < high``).

    ``gen`` (a random Generator) selects stochastic rounding,
    ``q = low + D floor((x - low) / D + U)`` with ``U ~ U[0, 1)``, unbiased
    inside the range (``E[q] = x``); without it, round to nearest. ``x`` must be
    finite; integer input is quantized as floats (float64), never truncated.
    """
    if not low < high:
        raise InvalidParameterError(f"low must be less than high, got low={low!r} and high={high!r}")
    if gen is not None and not hasattr(gen, "random"):
        raise InvalidParameterError(f"gen must be None or a random Generator, got {gen!r}")
    return _quantize_between(x, bits, low, high, gen)


def _quantize_between(x, bits, low, high, gen=None):
    """:func:`quantize_between` without validation (devices' per-layer hot path)."""
    xp = backend.xp()
    x = xp.asarray(x)
    step = (high - low) / ((1 << bits) - 1)
    y = (xp.clip(x, low, high) - low) / step
    if gen is None:
        y = xp.rint(y)
    else:
        y = xp.floor(y + gen.random(y.shape, dtype=y.dtype if y.dtype == np.float32 else np.float64))
        y = xp.minimum(y, (1 << bits) - 1)
    return (low + step * y).astype(x.dtype, copy=False)


@validate_params({"x": Array(), "bits": BITS, "clip": POSITIVE, "stochastic": Bool(), "seed": Optional(Seed())})
def quantize(x, bits: int, clip: float, stochastic: bool = False, seed: int | None = None):
    """``x`` on ``2^bits`` uniform levels over ``[-clip, clip]`` (endpoints included).

    Values outside the range are clipped first. Deterministic rounding goes to
    the nearest level; ``stochastic=True`` rounds up with probability equal to
    the fractional position between the two neighbouring levels
    (``q = D floor(x / D + U)``, unbiased inside the range; aihwkit's
    stochastic rounding), drawing from a Generator seeded with ``seed``.
    ``x`` must be finite and non-empty; integer input becomes float64 (the
    levels are not integers), floating input keeps its dtype.
    """
    if stochastic and seed is None:
        raise InvalidParameterError("stochastic rounding draws random numbers: pass seed=<non-negative int>")
    gen = backend._rng(seed) if stochastic else None
    return _quantize_between(x, bits, -clip, clip, gen)


@validate_params({"bits": BITS, "clip": POSITIVE})
def level_step(bits: int, clip: float) -> float:
    """The spacing ``2 clip / (2^bits - 1)`` of :func:`quantize`'s levels."""
    return 2.0 * clip / ((1 << bits) - 1)


@validate_params({"t": NONNEGATIVE, "nu": NONNEGATIVE, "t0": POSITIVE})
def drift_factor(t: float, nu: float, t0: float) -> float:
    """``((t + t0) / t0)^-nu``: conductance drift after ``t`` seconds (aihwkit PCM)."""
    return _drift_factor(t, nu, t0)


def _drift_factor(t, nu, t0) -> float:
    return float(((t + t0) / t0) ** -nu)


# -- the configuration ----------------------------------------------------------------------
@dataclass(frozen=True)
class HardwareModel:
    """A device's non-idealities (module docstring); every field off by default.

    Validated on construction: bits are ints in [1, 32] or None, noise levels
    finite and >= 0, fractions in [0, 1] (the three stuck-at fractions sum to
    at most 1), ranges > 0; settings that need a range they lack (additive
    noise or stuck-at-min/max without ``weight_clip``) are errors.
    """

    # weight storage
    weight_bits: int | None = None
    weight_clip: float | None = None
    stochastic_rounding: bool = False
    programming_noise: float = 0.0
    programming_noise_type: str = "proportional"
    read_noise: float = 0.0
    read_noise_type: str = "proportional"
    drift_nu: float = 0.0
    drift_t0: float = 20.0
    drift_time: float = 0.0
    stuck_at_min: float = 0.0
    stuck_at_max: float = 0.0
    stuck_at_zero: float = 0.0
    # converters
    dac_bits: int | None = None
    dac_range: float = 1.0
    adc_bits: int | None = None
    adc_range: float = 8.0
    output_noise: float = 0.0
    # MGD
    cost_noise: float = 0.0
    cost_bits: int | None = None
    cost_range: float = 4.0
    update_noise: float = 0.0
    update_step: float | None = None
    activation_offset: float = 0.0
    activation_slope: float = 0.0
    activation_gain: float = 0.0
    # reservoirs
    state_bits: int | None = None
    modulation_noise: float = 0.0
    phase_noise: float = 0.0
    readout_bits: int | None = None
    name: str = field(default="custom", compare=False)

    def __post_init__(self):
        # every field has been checked and converted through its declared constraint
        # (FIELD_CONSTRAINTS, the generated __init__'s validate_params declaration); the
        # rules across fields:
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

    # -- what is switched on ----------------------------------------------------------
    @property
    def is_ideal(self) -> bool:
        """True when every effect is off (the model changes no number)."""
        return self == _IDEAL

    @property
    def weights_ideal(self) -> bool:
        return (self.weight_bits is None and self.weight_clip is None and not self.programming_noise
                and not self.read_noise and not self.drift_nu and not self.stuck_fraction)

    @property
    def stuck_fraction(self) -> float:
        return self.stuck_at_min + self.stuck_at_max + self.stuck_at_zero

    @property
    def weight_step(self) -> float | None:
        """Spacing of the weight levels, or None without ``weight_bits``."""
        return None if self.weight_bits is None else level_step(self.weight_bits, self.weight_clip)

    def replace(self, **changes) -> HardwareModel:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_attrs(self) -> dict:
        """The non-default fields as netCDF-safe attrs (``hw_<field>``), plus the name."""
        default = _IDEAL
        out = {"hw_name": self.name}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name != "name" and value != getattr(default, f.name):
                out[f"hw_{f.name}"] = int(value) if isinstance(value, bool) else value
        return out

    # -- elementwise effects shared by every device ----------------------------------
    def store(self, w, clip: float | None = None, gen=None):
        """Clip and quantize ``w`` onto the weight levels (identity without them).

        ``clip`` overrides ``weight_clip`` (reservoir matrices); ``gen`` is the
        Generator for stochastic rounding (required when it is on).
        """
        clip = self.weight_clip if clip is None else clip
        if clip is None:
            return w
        xp = backend.xp()
        if self.weight_bits is None:
            return xp.clip(w, -clip, clip)
        if self.stochastic_rounding and gen is None:
            raise ValueError("stochastic_rounding is on: store() needs a random Generator")
        return _quantize_between(w, self.weight_bits, -clip, clip, gen if self.stochastic_rounding else None)

    def noisy(self, w, sigma: float, kind: str, gen, clip: float | None = None):
        """``w (1 + sigma e)`` or ``w + sigma clip e`` with fresh ``e ~ N(0, 1)`` of ``w``'s shape."""
        if not sigma:
            return w
        e = gen.standard_normal(w.shape).astype(w.dtype, copy=False)
        if kind == "proportional":
            return w * (1.0 + sigma * e)
        return w + (sigma * (self.weight_clip if clip is None else clip)) * e

    def stuck_codes(self, n: int, gen):
        """One code per cell, drawn once: 0 healthy, 1 stuck at -clip, 2 at +clip, 3 at 0 (int8, host)."""
        codes = np.zeros(n, dtype=np.int8)
        if self.stuck_fraction:
            u = backend.to_host(gen.random(n))
            edges = np.cumsum([self.stuck_at_min, self.stuck_at_max, self.stuck_at_zero])
            codes = np.where(u < edges[2], np.searchsorted(edges, u, side="right") + 1, 0).astype(np.int8)
        return codes

    def program_values(self, w, gen, clip: float | None = None):
        """A one-time write of ``w`` (a copy): stored levels, programming noise,
        drift to ``drift_time``, stuck cells. The static part of
        :meth:`Device.read`; the reservoir's matrices go through it once."""
        clip = self.weight_clip if clip is None else clip
        out = self.store(w, clip, gen)
        out = self.noisy(out, self.programming_noise, self.programming_noise_type, gen, clip)
        if self.drift_nu:
            out = out * _drift_factor(self.drift_time, self.drift_nu, self.drift_t0)
        codes = self.stuck_codes(out.shape[-1], gen)
        if codes.any():
            out = apply_stuck(out, codes, clip)
        return out


_BITS_FIELDS = ("weight_bits", "dac_bits", "adc_bits", "cost_bits", "state_bits", "readout_bits")
_NONNEGATIVE_FIELDS = ("programming_noise", "read_noise", "drift_nu", "drift_time", "output_noise", "cost_noise",
                       "update_noise", "activation_offset", "activation_slope", "activation_gain",
                       "modulation_noise", "phase_noise")
FIELD_CONSTRAINTS = {
    **{name: Optional(BITS) for name in _BITS_FIELDS},
    **{name: NONNEGATIVE for name in _NONNEGATIVE_FIELDS},
    **{name: POSITIVE for name in ("drift_t0", "dac_range", "adc_range", "cost_range")},
    **{name: Optional(POSITIVE) for name in ("weight_clip", "update_step")},
    **{name: FRACTION for name in ("stuck_at_min", "stuck_at_max", "stuck_at_zero")},
    **{name: Choice(NOISE_TYPES) for name in ("programming_noise_type", "read_noise_type")},
    "stochastic_rounding": Bool(),
    "name": Text("custom"),
}
"""The declared constraint of every :class:`HardwareModel` field, checked by its ``__init__``."""
assert set(FIELD_CONSTRAINTS) == {f.name for f in dataclasses.fields(HardwareModel)}
# the generated __init__ declares the same constraints, so the model is one of validation.REGISTRY's entry points
HardwareModel.__init__ = validate_params(FIELD_CONSTRAINTS)(HardwareModel.__init__)
_IDEAL = HardwareModel()


class HardwareSpec(Constraint):
    """What a ``hardware=`` argument may be: None, a preset name or a :class:`HardwareModel`."""

    def accepts(self, value) -> bool:
        return value is None or isinstance(value, HardwareModel) or (isinstance(value, str) and value in PRESETS)

    def describe(self) -> str:
        return f"None, a preset name {PRESETS} or a HardwareModel"

    def invalid_examples(self) -> list:
        return ["memristor", 3, {"weight_bits": 4}]

    def valid_example(self):
        return None


HARDWARE = HardwareSpec()


def apply_stuck(w, codes, clip):
    """``w`` with stuck cells overwritten (codes from :meth:`HardwareModel.stuck_codes`)."""
    xp = backend.xp()
    values = xp.asarray(np.array([0.0, -(clip or 0.0), clip or 0.0, 0.0]), dtype=w.dtype)
    codes = xp.asarray(codes)
    return xp.where(codes > 0, values[codes.astype(np.int64)], w)


# -- presets ---------------------------------------------------------------------------------
class _PresetName(Choice):
    def describe(self) -> str:
        return f"a hardware preset name, one of {self.options}"


PRESET = _PresetName(PRESETS)


@validate_params({"name": PRESET})
def preset(name: str) -> HardwareModel:
    """A named hardware model.

    - ``ideal``: every effect off; bit-identical to passing no model.
    - ``digital8``: an 8-bit digital accelerator: 8-bit weights over
      [-1, 1], 8-bit input and output converters (aihwkit's hardware-aware
      preset uses 8-bit DAC/ADC), 8-bit cost read-out, no analog noise.
    - ``pcm``: a phase-change-memory crossbar after aihwkit's PCM inference
      model (Nandakumar et al., 2019; Joshi et al., Nat. Commun. 11, 2473,
      2020): programming noise 3 % of g_max (additive; aihwkit: about 1-4 %),
      read noise 1 % proportional (1/f read noise, a few percent of the
      conductance), drift nu = 0.06 read one hour after programming
      (t0 = 20 s; nu ~ 0.05-0.1), 7-bit DAC and 9-bit ADC (aihwkit's
      ``inp_res``/``out_res`` defaults), output noise 0.04 of the range
      (aihwkit ``out_noise``), 1 % of cells stuck (half at g_max, half at 0;
      Joshi et al. report under 1-2 %), about 5 effective bits of programmed
      conductance levels; cost read by a 9-bit ADC with noise 1e-3.
    - ``rram``: a resistive-RAM (HfOx) crossbar after CrossSim's and
      NeuroSim's typical settings (Yu, Proc. IEEE 106, 260, 2018; Xiao et al.,
      CrossSim documentation): 4-bit conductance levels (16 states), cycle-to-
      cycle programming noise 5 % proportional, read noise 2 % proportional,
      no drift, 8-bit DAC and ADC, stuck-at faults 1 % at g_min and 1 % at
      g_max (on/off ratio ~10-100 makes g_min ~ 0), update noise 10 %
      (pulse-to-pulse variation), activation variation 2 % (CMOS neuron
      mismatch).
    """
    if name == "ideal":
        return HardwareModel(name="ideal")
    if name == "digital8":
        return HardwareModel(weight_bits=8, weight_clip=1.0, dac_bits=8, dac_range=1.0, adc_bits=8,
                             adc_range=8.0, cost_bits=8, cost_range=4.0, name="digital8")
    if name == "pcm":
        return HardwareModel(weight_bits=5, weight_clip=1.0, programming_noise=0.03,
                             programming_noise_type="additive", read_noise=0.01, drift_nu=0.06,
                             drift_t0=20.0, drift_time=3600.0, stuck_at_max=0.005, stuck_at_zero=0.005,
                             dac_bits=7, dac_range=1.0, adc_bits=9, adc_range=8.0, output_noise=0.04,
                             cost_bits=9, cost_range=4.0, cost_noise=1e-3, name="pcm")
    return HardwareModel(weight_bits=4, weight_clip=1.0, programming_noise=0.05, read_noise=0.02,
                         stuck_at_min=0.01, stuck_at_max=0.01, dac_bits=8, dac_range=1.0, adc_bits=8,
                         adc_range=8.0, update_noise=0.10, activation_offset=0.02, activation_slope=0.02,
                         activation_gain=0.02, cost_bits=8, cost_range=4.0, name="rram")


@validate_params({"spec": InstanceOf(dict, example=dict), "name": Optional(Text())})
def model_from(spec: dict, name: str | None = None) -> HardwareModel:
    """A model from a plain dict (a config entry): the fields of :class:`HardwareModel`,
    optionally ``"preset": <name>`` as the base the other fields override."""
    spec = dict(spec)
    base = preset(PRESET.check("preset", spec.pop("preset"))) if "preset" in spec else _IDEAL
    known = {f.name for f in dataclasses.fields(HardwareModel)}
    unknown = sorted(set(spec) - known, key=repr)
    if unknown:
        raise InvalidParameterError(f"unknown hardware field(s) {unknown} in spec; known fields: {sorted(known)}")
    if name is not None:
        spec["name"] = name
    return base.replace(**spec)


@validate_params({"hardware": HARDWARE})
def as_model(hardware) -> HardwareModel | None:
    """None, a preset name or a :class:`HardwareModel`; None where it changes nothing."""
    return _as_model(hardware)


def _as_model(hardware):
    """:func:`as_model` for a value already checked against :data:`HARDWARE`."""
    if hardware is None:
        return None
    if isinstance(hardware, str):
        hardware = preset(hardware)
    return None if hardware.is_ideal else hardware
