"""Hardware non-idealities for both algorithms: quantization, noise, drift,
faults, converters, and an energy estimate (ALGORITHMS.md section 6).

- :mod:`~astrocore.hardware.effects`: the effect parts (weight storage,
  converters, cost read-out, update, neuron variation, reservoir effects), each
  a small frozen, validated dataclass acting at named hook points; one
  quantizer (:mod:`~astrocore.hardware.quantizer`: :func:`quantize`,
  :func:`quantize_between`) and one noise implementation
  (:mod:`~astrocore.hardware.noise`) under all of them.
- :class:`HardwareModel` assembles one part of each kind (or takes their
  fields by flat name, as the configs do); :func:`preset` names four
  (``ideal``, ``digital8``, ``pcm``, ``rram``); :func:`model_from` reads a
  config entry.
- :class:`Device` holds an MLP's parameters on simulated chips (one per
  seed) and calls the parts at its hook points; :func:`astrocore.mgd.train`
  and :func:`astrocore.mgd.estimate_gradient` take ``hardware=`` and train in
  the loop, :func:`deploy` writes trained parameters to a device for
  evaluation.
- The reservoirs take ``hardware=`` too and call the same parts
  (:mod:`astrocore.reservoir`).
- :mod:`astrocore.hardware.energy`: energy per forward pass and per training
  step, analog and digital, every constant a named assumption.
"""

from ..validation import Array, Seeds, validate_params
from .device import MODEL, Device, OnDevice, stream_seed
from .effects import (HOOKS, PARTS, Chips, Converters, CostReadout, Effect, NeuronVariation, ReservoirEffects,
                      Update, WeightStorage)
from .energy import EnergyAssumptions, adc_energy, dac_energy, forward_energy, technology, training_step_energy
from .model import HARDWARE, PRESETS, HardwareModel, as_model, model_from, preset
from .noise import NOISE_TYPES, drift_factor
from .quantizer import level_step, quantize, quantize_between


@validate_params({"model": MODEL, "theta": Array((1, 2)), "hardware": HARDWARE, "seed": Seeds()})
def deploy(model, theta, hardware, *, seed=0):
    """Write trained parameters ``theta`` ((S, N) or (N,), finite) to chips under ``hardware``,
    one chip per seed of ``seed`` (an int or a list, as :func:`astrocore.mgd.train`'s).

    Returns ``(network, stored)``: the model bound to the device (forward,
    loss and predictions on it) and the stored parameters to evaluate it with,
    e.g. ``astrocore.training.evaluate(network, stored, X, Y)``.
    """
    device = Device(hardware, model, seed=seed)
    return device.bind(), device.program(theta)


__all__ = ["Device", "OnDevice", "HardwareModel", "NOISE_TYPES", "PRESETS", "as_model", "deploy",
           "drift_factor", "level_step", "model_from", "preset", "quantize", "quantize_between", "stream_seed",
           "HOOKS", "PARTS", "Chips", "Effect", "WeightStorage", "Converters", "CostReadout", "Update",
           "NeuronVariation", "ReservoirEffects",
           "EnergyAssumptions", "adc_energy", "dac_energy", "forward_energy", "technology", "training_step_energy"]
