"""Hardware non-idealities for both algorithms: quantization, noise, drift,
faults, converters, and an energy estimate (ALGORITHMS.md section 6).

- :class:`HardwareModel` describes a device; :func:`preset` names four
  (``ideal``, ``digital8``, ``pcm``, ``rram``); :func:`quantize` is the
  uniform quantizer every effect uses.
- :class:`Device` holds an MLP's parameters on simulated chips (one per
  seed); :func:`astrocore.mgd.train` and :func:`astrocore.mgd.estimate_gradient`
  take ``hardware=`` and train in the loop, :func:`deploy` writes trained
  parameters to a device for evaluation.
- The reservoirs take ``hardware=`` too (:mod:`astrocore.reservoir`).
- :mod:`astrocore.hardware.energy`: energy per forward pass and per training
  step, analog and digital, every constant a named assumption.
"""

from ..validation import Array, Seeds, validate_params
from .device import MODEL, Device, OnDevice, stream_seed
from .energy import EnergyAssumptions, adc_energy, dac_energy, forward_energy, technology, training_step_energy
from .model import (HARDWARE, NOISE_TYPES, PRESETS, HardwareModel, as_model, drift_factor, level_step, model_from,
                    preset, quantize, quantize_between)


@validate_params({"model": MODEL, "theta": Array((1, 2)), "hardware": HARDWARE, "seeds": Seeds()})
def deploy(model, theta, hardware, seeds):
    """Write trained parameters ``theta`` ((S, N) or (N,), finite) to chips under ``hardware``.

    Returns ``(network, stored)``: the model bound to the device (forward,
    loss and predictions on it) and the stored parameters to evaluate it with,
    e.g. ``astrocore.training.evaluate(network, stored, X, Y)``.
    """
    device = Device(hardware, model, seeds)
    return device.bind(), device.program(theta)


__all__ = ["Device", "OnDevice", "HardwareModel", "NOISE_TYPES", "PRESETS", "as_model", "deploy",
           "drift_factor", "level_step", "model_from", "preset", "quantize", "quantize_between", "stream_seed",
           "EnergyAssumptions", "adc_energy", "dac_energy", "forward_energy", "technology", "training_step_energy"]
