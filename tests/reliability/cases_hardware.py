"""Bad inputs of the hardware model (astrocore.hardware: presets, model_from, quantize, devices, energy), issue 10.

Every case calls only API that predates the fix (HardwareModel, preset,
model_from, quantize, level_step, drift_factor, Device, deploy, the energy
functions), so the same case classifies an older checkout for the
before/after count (Device and deploy take ``seed=`` by keyword since issue 11;
before, the seeds were their positional fourth argument). Integer input to the quantizer must give the float
levels, not integer-truncated ones (defect 2): a ``returns`` predicate.
"""

from __future__ import annotations

import numpy as np

from astrocore import hardware
from astrocore.hardware import (Device, EnergyAssumptions, HardwareModel, adc_energy, deploy, drift_factor,
                                forward_energy, level_step, model_from, preset, quantize, technology,
                                training_step_energy)
from astrocore.nets import MLP

from .case import Case

SIZES = [64, 32, 10]
# 3 bits over [-4, 4]: levels -4 + 8k/7; 1, 2, 3 land on 4/7, 12/7 and 20/7
LEVELS = np.array([4, 12, 20]) / 7


def _float_levels():
    """What the float parameters [1, 0, 0] are stored as (3 bits over [-4, 4])."""
    return quantize(np.array([1.0, 0.0, 0.0]), 3, 4.0)


def _program(theta, seeds=(0,)):
    model = MLP([3, 2])
    return Device(HardwareModel(weight_bits=4, weight_clip=1.0), model, seed=list(seeds)).program(theta)


CASES = [
    # -- defect 2: integer input quantized as numbers, not truncated to integer levels
    Case("hardware/quantize-integer-array", lambda: quantize(np.array([1, 2, 3]), 3, 4.0),
         returns=lambda q: q.dtype.kind == "f" and np.allclose(q, LEVELS), defect=2),
    Case("hardware/quantize-integer-stochastic", lambda: quantize(np.array([1, 2, 3]), 3, 4.0, stochastic=True,
                                                                 seed=0),
         returns=lambda q: q.dtype.kind == "f" and np.all(np.abs(q - np.array([1, 2, 3])) <= 8 / 7 + 1e-12),
         defect=2),
    Case("hardware/quantize-between-integer-array",
         lambda: hardware.quantize_between(np.array([1, 2, 3]), 3, -4.0, 4.0),
         returns=lambda q: q.dtype.kind == "f" and np.allclose(q, LEVELS), defect=2),
    Case("hardware/deploy-integer-theta",
         lambda: deploy(MLP([2, 1]), np.array([1, 0, 0]), HardwareModel(weight_bits=3, weight_clip=4.0),
                        seed=[0])[1],
         returns=lambda stored: stored.dtype.kind == "f" and np.allclose(stored, _float_levels()),
         defect=2),
    # -- defect 3: bool fields and flags take bools only
    Case("hardware/model-stochastic-rounding-string", lambda: HardwareModel(stochastic_rounding="no"),
         names=("stochastic_rounding",), defect=3),
    Case("hardware/quantize-stochastic-string", lambda: quantize(np.zeros(3), 4, 1.0, stochastic="False"),
         names=("stochastic",), defect=3),
    Case("hardware/energy-highpass-string",
         lambda: training_step_energy(SIZES, "pcm", "mgd", batch=1, highpass="no"), names=("highpass",), defect=3),
    # -- defect 4: NaN and inf refused, naming the field or array
    Case("hardware/quantize-nan", lambda: quantize(np.array([0.1, np.nan]), 4, 1.0), names=("x", "(1,)"),
         defect=4),
    Case("hardware/quantize-empty", lambda: quantize(np.zeros(0), 4, 1.0), names=("x",), defect=4),
    Case("hardware/quantize-clip-inf", lambda: quantize(np.zeros(3), 4, float("inf")), names=("clip",), defect=4),
    Case("hardware/model-read-noise-inf", lambda: HardwareModel(read_noise=float("inf")), names=("read_noise",),
         defect=4),
    Case("hardware/model-weight-clip-nan", lambda: HardwareModel(weight_bits=4, weight_clip=float("nan")),
         names=("weight_clip",), defect=4),
    Case("hardware/deploy-nan-theta",
         lambda: deploy(MLP([2, 1]), np.array([0.1, np.nan, 0.0]), "digital8", seed=[0]), names=("theta",), defect=4),
    Case("hardware/energy-assumption-nan", lambda: EnergyAssumptions(cell_read=float("nan")), names=("cell_read",),
         defect=4),
    Case("hardware/drift-t0-inf", lambda: drift_factor(10.0, 0.05, float("inf")), names=("t0",), defect=4),
    # -- defect 5: more chips than memory holds
    Case("hardware/device-chips-cannot-fit",
         lambda: Device("rram", MLP([784, 1024, 10]), seed=list(range(100_000))), names=("seed",), defect=5),
    # -- presets and model_from (config entries)
    Case("hardware/preset-unknown", lambda: preset("memristor"), names=("memristor", "'pcm'")),
    Case("hardware/preset-not-a-string", lambda: preset(3), names=("'pcm'",)),
    Case("hardware/model-from-unknown-field", lambda: model_from({"bitz": 3}), names=("bitz",)),
    Case("hardware/model-from-unknown-preset", lambda: model_from({"preset": "flash"}), names=("preset", "flash")),
    Case("hardware/model-from-not-a-dict", lambda: model_from(["pcm"]), names=("spec",)),
    Case("hardware/model-from-bad-field-value", lambda: model_from({"preset": "pcm", "adc_bits": 40}),
         names=("adc_bits",)),
    Case("hardware/model-from-name-not-a-string", lambda: model_from({}, name=3), names=("name",)),
    # -- HardwareModel fields: wrong types, out of range, cross-field rules
    Case("hardware/model-weight-bits-bool", lambda: HardwareModel(weight_bits=True, weight_clip=1.0),
         names=("weight_bits",)),
    Case("hardware/model-adc-bits-float", lambda: HardwareModel(adc_bits=8.0), names=("adc_bits",)),
    Case("hardware/model-stuck-fraction-above-one", lambda: HardwareModel(stuck_at_zero=1.5),
         names=("stuck_at_zero",)),
    Case("hardware/model-noise-type-unknown", lambda: HardwareModel(read_noise=0.1, read_noise_type="gaussian"),
         names=("read_noise_type",)),
    Case("hardware/model-needs-weight-clip", lambda: HardwareModel(weight_bits=4), names=("weight_clip",)),
    Case("hardware/model-name-not-a-string", lambda: HardwareModel(name=7), names=("name",)),
    Case("hardware/model-replace-bad-value", lambda: preset("pcm").replace(drift_nu=-0.1), names=("drift_nu",)),
    # -- the quantizer and converters
    Case("hardware/quantize-bits-33", lambda: quantize(np.zeros(3), 33, 1.0), names=("bits",)),
    Case("hardware/quantize-bits-float", lambda: quantize(np.zeros(3), 4.0, 1.0), names=("bits",)),
    Case("hardware/quantize-seed-negative", lambda: quantize(np.zeros(3), 4, 1.0, stochastic=True, seed=-1),
         names=("seed",)),
    Case("hardware/quantize-x-string", lambda: quantize("0.5", 4, 1.0), names=("x",)),
    Case("hardware/level-step-zero-bits", lambda: level_step(0, 1.0), names=("bits",)),
    # -- devices
    Case("hardware/device-duplicate-seeds", lambda: Device("pcm", MLP([3, 2]), seed=[1, 1]), names=("seed",)),
    Case("hardware/device-hardware-unknown", lambda: Device("flash", MLP([3, 2]), seed=[0]), names=("hardware",)),
    Case("hardware/device-wrong-parameter-count", lambda: _program(np.zeros(11)), names=("theta", "(1, 8)")),
    Case("hardware/deploy-model-not-an-mlp", lambda: deploy("mlp", np.zeros(3), "pcm", seed=[0]), names=("model",)),
    # -- energy
    Case("hardware/energy-batch-bool", lambda: forward_energy(SIZES, "pcm", batch=True), names=("batch",)),
    Case("hardware/energy-method-unknown", lambda: training_step_energy(SIZES, "pcm", "adam", batch=1),
         names=("method",)),
    Case("hardware/energy-sizes-string", lambda: forward_energy("64-32-10", "pcm"), names=("sizes",)),
    Case("hardware/energy-tau-theta-float", lambda: training_step_energy(SIZES, "rram", "mgd", batch=2,
                                                                        tau_theta=2.5), names=("tau_theta",)),
    Case("hardware/energy-adc-bits-zero", lambda: adc_energy(0), names=("bits",)),
    Case("hardware/energy-technology-unknown", lambda: technology("sram"), names=("hardware",)),
    Case("hardware/energy-assumptions-dict", lambda: forward_energy(SIZES, "pcm", {"cell_read": 1}),
         names=("assumptions",)),
]
