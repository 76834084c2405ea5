"""The hardware model: a device's non-idealities, assembled from effect parts.

:class:`HardwareModel` holds one part of each kind (:mod:`astrocore.hardware.effects`;
aihwkit assembles its configurations the same way from typed parameter and
noise-model classes)::

    HardwareModel(weights=WeightStorage(weight_bits=5, weight_clip=1.0, programming_noise=0.03),
                  converters=Converters(dac_bits=7, adc_bits=9))

or, equally, from the parts' fields by their (flat, unique) names, as the
configs and :func:`model_from` give them::

    HardwareModel(weight_bits=5, weight_clip=1.0, programming_noise=0.03, dac_bits=7, adc_bits=9)

Every field is off by default, so ``HardwareModel()`` (and :func:`preset`
``"ideal"``) is the ideal machine. A field reads the same both ways
(``hw.weight_bits`` is ``hw.weights.weight_bits``). The model is a frozen
description; the random draws it implies belong to a
:class:`astrocore.hardware.Device` (one per simulated chip and seed) or to
a reservoir (:mod:`astrocore.reservoir`), which call the parts at their hook
points.

What is modelled (ALGORITHMS.md section 6; IBM aihwkit, Sandia CrossSim,
MemTorch and NeuroSim model the same effects), one part each:

``weights`` (:class:`~astrocore.hardware.effects.WeightStorage`)
    ``weight_bits`` uniform levels over ``[-weight_clip, weight_clip]``,
    deterministic or ``stochastic_rounding``; ``programming_noise`` drawn once
    at every write and ``read_noise`` at every use, each ``proportional``
    (``w (1 + sigma e)``) or ``additive`` (``w + sigma weight_clip e``, sigma a
    fraction of the largest weight, as aihwkit quotes PCM programming noise in %
    of g_max), ``e ~ N(0, 1)``; drift ``w(t) = w0 ((t + t0) / t0)^-nu`` read
    ``drift_time`` seconds after programming (``drift_nu``, ``drift_t0``;
    aihwkit's PCM model, t0 = 20 s); fractions ``stuck_at_min``,
    ``stuck_at_max``, ``stuck_at_zero`` of cells stuck at ``-weight_clip``,
    ``+weight_clip`` or 0.
``converters`` (:class:`~astrocore.hardware.effects.Converters`)
    ``dac_bits`` on the inputs of every layer and on MGD's perturbations (over
    ``[-dac_range, dac_range]``), ``adc_bits`` on every layer's pre-activations
    (over ``[-adc_range, adc_range]``), and additive ``output_noise`` (a
    fraction of ``adc_range``) on them.
``cost`` (:class:`~astrocore.hardware.effects.CostReadout`)
    ``cost_noise`` (standard deviation added to every cost MGD measures, in
    cost units), ``cost_bits`` (an ADC on the measured cost over
    ``[0, cost_range]``). The only place cost noise enters.
``update`` (:class:`~astrocore.hardware.effects.Update`)
    ``update_noise`` (proportional per-weight noise of every update),
    ``update_step`` (the smallest weight change a write can make; updates are
    rounded to multiples of it).
``neurons`` (:class:`~astrocore.hardware.effects.NeuronVariation`)
    device-to-device variation of each neuron's activation,
    ``f_j(z) = (1 + A_j) f((1 + S_j) (z - O_j))`` with
    ``O_j ~ N(0, activation_offset^2)``, ``S_j ~ N(0, activation_slope^2)``,
    ``A_j ~ N(0, activation_gain^2)``.
``reservoir`` (:class:`~astrocore.hardware.effects.ReservoirEffects`)
    ``state_bits`` (node states quantized over [-1, 1] after every step),
    ``modulation_noise`` (proportional device-to-device variation of each
    link's modulation depth m), ``phase_noise`` (standard deviation, in
    radians, of the phase jitter of every link oscillator per step),
    ``readout_bits`` (readout weights quantized over their own largest
    magnitude). The reservoir's recurrent and input weights use the weight
    storage part with the range taken per matrix as its largest magnitude (a
    crossbar maps its conductance range onto the weight range).

A new effect is one class in :mod:`~astrocore.hardware.effects` and one field
here: its fields become flat names (validated, in ``to_attrs``, in
:func:`model_from`), and every device that calls its hook points applies it.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field

import numpy as np

from .. import backend
from ..validation import (Choice, Constraint, InstanceOf, InvalidParameterError, Optional, Text, validate_params)
from .effects import HOOKS, Chips, Converters, CostReadout, NeuronVariation, ReservoirEffects, Update, WeightStorage

PRESETS = ("ideal", "digital8", "pcm", "rram")


# -- the configuration ----------------------------------------------------------------------
@dataclass(frozen=True, init=False, repr=False)
class HardwareModel:
    """A device's non-idealities (module docstring): one part per kind, every field off by default.

    Keyword arguments: the parts (``weights=WeightStorage(...)``, ...) or their
    fields by name (``weight_bits=4``, ...; a part and its own fields are not
    given together), and ``name``. Every field is checked against its declared
    constraint (bits are ints in [1, 32] or None, noise levels finite and >= 0,
    fractions in [0, 1], ranges > 0) and each part's rules across its fields
    (the stuck-at fractions sum to at most 1; additive noise or stuck-at-min/max
    need ``weight_clip``). ``repr`` lists every field by its flat name.
    """

    weights: WeightStorage = WeightStorage()
    converters: Converters = Converters()
    cost: CostReadout = CostReadout()
    update: Update = Update()
    neurons: NeuronVariation = NeuronVariation()
    reservoir: ReservoirEffects = ReservoirEffects()
    name: str = field(default="custom", compare=False)

    def __init__(self, **given):
        # the generated signature (every part, every flat field, name) has been checked (FIELD_CONSTRAINTS)
        for slot in _PART_FIELDS:
            part, flat = given.pop(slot.name), {n: given.pop(n) for n in _FLAT_OF[slot.name]}
            default = slot.default
            changed = sorted(n for n, v in flat.items() if v != getattr(default, n))
            if part is None:
                part = type(default)(**flat) if changed else default
            elif changed:
                raise InvalidParameterError(f"give {slot.name}= or its fields, not both: got {slot.name}={part!r} "
                                            f"and {', '.join(changed)}")
            object.__setattr__(self, slot.name, part)
        object.__setattr__(self, "name", given.pop("name"))

    @property
    def parts(self) -> tuple:
        """The parts, in field order (the order the devices apply them at each hook)."""
        return tuple(getattr(self, slot.name) for slot in _PART_FIELDS)

    @validate_params({"hook": Choice(HOOKS)})
    def at(self, hook: str) -> tuple:
        """The parts that act at ``hook`` (one of :data:`~astrocore.hardware.effects.HOOKS`), in order."""
        return tuple(p for p in self.parts if p.uses(hook))

    # -- what is switched on ----------------------------------------------------------
    @property
    def is_ideal(self) -> bool:
        """True when every effect is off (the model changes no number)."""
        return all(p.is_ideal for p in self.parts)

    @property
    def stuck_fraction(self) -> float:
        return self.weights.stuck_fraction

    @property
    def weight_step(self) -> float | None:
        """Spacing of the weight levels, or None without ``weight_bits``."""
        return self.weights.weight_step

    def flat(self) -> dict:
        """Every field of the parts by its flat name, in order."""
        return {n: getattr(getattr(self, owner), n) for n, owner in FIELD_OWNER.items()}

    def replace(self, **changes) -> HardwareModel:
        """A copy with ``changes`` (parts or flat fields, and ``name``) applied, validated again."""
        kwargs = {"name": changes.pop("name", self.name)}
        for slot in _PART_FIELDS:
            own = {n: changes.pop(n) for n in _FLAT_OF[slot.name] if n in changes}
            if slot.name in changes:  # a new part (and, if any, its fields: refused by __init__ unless defaults)
                kwargs.update(own, **{slot.name: changes.pop(slot.name)})
            else:
                kwargs[slot.name] = getattr(self, slot.name).replace(**own) if own else getattr(self, slot.name)
        return type(self)(**kwargs, **changes)

    def to_attrs(self) -> dict:
        """The non-default fields as netCDF-safe attrs (``hw_<field>``), plus the name."""
        out = {"hw_name": self.name}
        for name, value in self.flat().items():
            if value != _DEFAULTS[name]:
                out[f"hw_{name}"] = int(value) if isinstance(value, bool) else value
        return out

    def __repr__(self) -> str:
        body = ", ".join(f"{n}={v!r}" for n, v in self.flat().items())
        return f"{type(self).__name__}({body}, name={self.name!r})"

    # -- a reservoir's one-time write -------------------------------------------------
    def write_once(self, w, gen, clip: float):
        """``w`` (host, any shape) written once to cells of range ``[-clip, clip]``, drawing from
        ``gen``: the ``program``, ``setup`` and ``hold`` hooks, no per-read effects (a
        reservoir's matrices, used as held at every step). Returns a host float array of ``w``'s shape."""
        with backend.use_backend("numpy"):
            rows = np.asarray(w, dtype=float).reshape(1, -1)
            site = Chips([gen], hardware=self, clip=clip, n_cells=rows.shape[1])
            for part in self.at("program"):
                rows = part.program(rows, site)
            for part in self.at("setup"):
                part.setup(site)
            for part in self.at("hold"):
                rows = part.hold(rows, site)
        return np.asarray(rows, dtype=float).reshape(np.shape(w))


_PART_FIELDS = tuple(f for f in dataclasses.fields(HardwareModel) if f.name != "name")
_FLAT_OF = {slot.name: tuple(f.name for f in dataclasses.fields(slot.default)) for slot in _PART_FIELDS}
FIELD_OWNER = {flat: part for part, names in _FLAT_OF.items() for flat in names}
"""Each flat field name -> the part (HardwareModel field) that holds it."""
_DEFAULTS = {n: getattr(slot.default, n) for slot in _PART_FIELDS for n in _FLAT_OF[slot.name]}
if len(FIELD_OWNER) != sum(len(v) for v in _FLAT_OF.values()) or set(FIELD_OWNER) & {"name", *_FLAT_OF}:
    raise TypeError("the fields of HardwareModel's parts must have distinct names")

FIELD_CONSTRAINTS = {
    **{flat: type(slot.default).constraints[flat] for slot in _PART_FIELDS for flat in _FLAT_OF[slot.name]},
    **{slot.name: Optional(InstanceOf(type(slot.default), example=type(slot.default))) for slot in _PART_FIELDS},
    "name": Text("custom"),
}
"""The declared constraint of every :class:`HardwareModel` argument (flat fields, parts, name)."""


def _generated_init():
    """``HardwareModel.__init__`` with the signature of every flat field and part (keyword-only)."""
    kw = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [inspect.Parameter(n, kw, default=_DEFAULTS[n]) for n in FIELD_OWNER]
    params += [inspect.Parameter(slot.name, kw, default=None) for slot in _PART_FIELDS]
    params.append(inspect.Parameter("name", kw, default="custom"))
    init = HardwareModel.__init__
    init.__signature__ = inspect.Signature(params)
    return validate_params(FIELD_CONSTRAINTS)(init)


# the model is one of validation.REGISTRY's entry points; a flat field reads through its part
HardwareModel.__init__ = _generated_init()
for _flat, _owner in FIELD_OWNER.items():
    setattr(HardwareModel, _flat, property(lambda self, _f=_flat, _o=_owner: getattr(getattr(self, _o), _f),
                                           doc=f"``{_owner}.{_flat}``"))
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
        return HardwareModel(weights=WeightStorage(weight_bits=8, weight_clip=1.0),
                             converters=Converters(dac_bits=8, dac_range=1.0, adc_bits=8, adc_range=8.0),
                             cost=CostReadout(cost_bits=8, cost_range=4.0), name="digital8")
    if name == "pcm":
        return HardwareModel(weights=WeightStorage(weight_bits=5, weight_clip=1.0, programming_noise=0.03,
                                                   programming_noise_type="additive", read_noise=0.01,
                                                   drift_nu=0.06, drift_t0=20.0, drift_time=3600.0,
                                                   stuck_at_max=0.005, stuck_at_zero=0.005),
                             converters=Converters(dac_bits=7, dac_range=1.0, adc_bits=9, adc_range=8.0,
                                                   output_noise=0.04),
                             cost=CostReadout(cost_bits=9, cost_range=4.0, cost_noise=1e-3), name="pcm")
    return HardwareModel(weights=WeightStorage(weight_bits=4, weight_clip=1.0, programming_noise=0.05,
                                               read_noise=0.02, stuck_at_min=0.01, stuck_at_max=0.01),
                         converters=Converters(dac_bits=8, dac_range=1.0, adc_bits=8, adc_range=8.0),
                         update=Update(update_noise=0.10),
                         neurons=NeuronVariation(activation_offset=0.02, activation_slope=0.02,
                                                 activation_gain=0.02),
                         cost=CostReadout(cost_bits=8, cost_range=4.0), name="rram")


@validate_params({"spec": InstanceOf(dict, example=dict), "name": Optional(Text())})
def model_from(spec: dict, name: str | None = None) -> HardwareModel:
    """A model from a plain dict (a config entry): the flat fields of :class:`HardwareModel`,
    optionally ``"preset": <name>`` as the base the other fields override."""
    spec = dict(spec)
    base = preset(PRESET.check("preset", spec.pop("preset"))) if "preset" in spec else _IDEAL
    unknown = sorted(set(spec) - set(FIELD_OWNER), key=repr)
    if unknown:
        raise InvalidParameterError(f"unknown hardware field(s) {unknown} in spec; known fields: "
                                    f"{sorted(FIELD_OWNER)}")
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
