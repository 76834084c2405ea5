"""The energy estimate (astrocore.hardware.energy): sums, hand-computed values, scaling, bad inputs."""

import dataclasses
import re

import pytest

from astrocore.hardware import PRESETS, EnergyAssumptions, adc_energy, dac_energy, forward_energy, preset, \
    technology, training_step_energy
from astrocore.hardware.energy import FORWARD_COMPONENTS, METHODS, TRAINING_COMPONENTS, n_params

SIZES = [4, 3, 2]  # layers (rows, cols) = (5, 3), (4, 2): 23 parameters
A = EnergyAssumptions()


def _sum_parts(energy, components):
    assert list(energy) == [*components, "total"]
    return sum(energy[k] for k in components)


@pytest.mark.parametrize("hardware", PRESETS)
def test_components_sum_to_the_total(hardware):
    energy = forward_energy(SIZES, hardware, batch=3)
    assert energy["total"] == pytest.approx(_sum_parts(energy, FORWARD_COMPONENTS))
    for method in METHODS:
        energy = training_step_energy(SIZES, hardware, method, batch=4, tau_theta=5)
        assert energy["total"] == pytest.approx(_sum_parts(energy, TRAINING_COMPONENTS))
        assert all(value >= 0 for value in energy.values())


def test_presets_map_onto_technologies():
    assert [technology(p) for p in PRESETS] == ["fp32", "int8", "pcm", "rram"]
    assert technology(None) == "fp32"
    assert technology(preset("pcm").replace(drift_nu=0.0)) == "rram"


def test_analog_forward_is_the_hand_computed_sum():
    hw = preset("rram")  # 8-bit ADC and DAC
    e_adc, e_dac = A.adc_fom * 2**8, A.dac_per_bit * 8
    cells = (5 * 3 + 4 * 2) * A.cell_read
    adc = (3 + 2) * e_adc
    dac = (5 + 4) * e_dac
    energy = forward_energy(SIZES, hw)
    assert energy["cells"] == pytest.approx(cells)
    assert energy["adc"] == pytest.approx(adc)
    assert energy["dac"] == pytest.approx(dac)
    assert energy["arithmetic"] == energy["memory"] == 0
    assert energy["total"] == pytest.approx(cells + adc + dac)


def test_analog_training_steps_are_the_hand_computed_sums():
    hw = preset("pcm")  # 7-bit DAC, 9-bit ADC
    e_adc, e_dac = A.adc_fom * 2**9, A.dac_per_bit * 7
    forward = 23 * A.cell_read + 5 * e_adc + 9 * e_dac
    delta = 4 * 2 * A.cell_read + 4 * e_adc + 2 * e_dac  # layer 2 only, transposed
    gradient = 23 * A.cell_read + (5 + 3 + 4 + 2) * e_dac
    bp = training_step_energy(SIZES, hw, "backprop", batch=2)
    assert bp["total"] == pytest.approx(2 * (forward + delta + gradient) + 23 * A.pcm_write)
    mgd = training_step_energy(SIZES, hw, "mgd", batch=2, tau_theta=10)
    local = 23 * (A.perturbation_bit + A.analog_integrator)
    assert mgd["local"] == pytest.approx(local)
    assert mgd["total"] == pytest.approx(2 * 2 * forward + local + 23 * A.pcm_write / 10)
    # C0 amortised over tau_x inputs, none with a high-pass filter
    mgd4 = training_step_energy(SIZES, hw, "mgd", batch=2, tau_theta=10, tau_x=4)
    assert mgd4["total"] == pytest.approx(2 * 1.25 * forward + local + 23 * A.pcm_write / 10)
    hp = training_step_energy(SIZES, hw, "mgd", batch=2, tau_theta=10, highpass=True)
    assert hp["total"] == pytest.approx(2 * forward + local + 23 * A.pcm_write / 10)


def test_fp32_forward_is_macs_times_multiply_add_plus_reads():
    sizes = [64, 32, 10]
    macs = 65 * 32 + 33 * 10
    assert n_params(sizes) == macs == 2410
    energy = forward_energy(sizes, "ideal")
    assert energy["arithmetic"] == pytest.approx(macs * (3.7 + 0.9))
    assert energy["memory"] == pytest.approx(macs * 5.0)
    assert energy["total"] == pytest.approx(macs * (3.7 + 0.9 + 5.0))
    int8 = forward_energy(sizes, "digital8")
    assert int8["total"] == pytest.approx(macs * (0.2 + 0.03 + 5.0 / 4))


def test_digital_training_steps():
    macs = 23
    per_mac = 3.7 + 0.9 + 5.0
    bp = training_step_energy(SIZES, "ideal", "backprop", batch=3)
    assert bp["total"] == pytest.approx(3 * (2 * macs + 4 * 2) * per_mac + macs * (3.7 + 0.9 + 2 * 5.0))
    mgd = training_step_energy(SIZES, "ideal", "mgd", batch=3, tau_theta=2)
    local = macs * (A.perturbation_bit + 2 * 0.9 + 2 * 5.0)
    assert mgd["total"] == pytest.approx(3 * 2 * macs * per_mac + local + macs * (3.7 + 0.9 + 2 * 5.0) / 2)


def test_adc_energy_doubles_per_bit_and_dac_is_linear():
    for bits in range(1, 16):
        assert adc_energy(bits + 1) == pytest.approx(2 * adc_energy(bits))
        assert dac_energy(bits + 1) - dac_energy(bits) == pytest.approx(A.dac_per_bit)
    hw = preset("rram")
    assert forward_energy(SIZES, hw.replace(adc_bits=9))["adc"] == pytest.approx(
        2 * forward_energy(SIZES, hw)["adc"])


@pytest.mark.parametrize("hardware", PRESETS)
def test_energy_is_proportional_to_the_batch(hardware):
    one = forward_energy(SIZES, hardware)
    five = forward_energy(SIZES, hardware, batch=5)
    for key in one:
        assert five[key] == pytest.approx(5 * one[key])
    for method in METHODS:
        step1 = training_step_energy(SIZES, hardware, method, batch=1, tau_theta=3)
        step4 = training_step_energy(SIZES, hardware, method, batch=4, tau_theta=3)
        fixed = step1["local"] + step1["update"]  # per step, not per sample
        assert step4["total"] - fixed == pytest.approx(4 * (step1["total"] - fixed))


def test_assumptions_are_named_and_sourced():
    rows = A.rows()
    assert [r[0] for r in rows] == [f.name for f in dataclasses.fields(EnergyAssumptions)]
    assert all(r[2].startswith("pJ") and r[3] for r in rows)
    assert A.fp32_mul == 3.7 and A.fp32_add == 0.9 and A.int8_mul == 0.2 and A.int8_add == 0.03
    doubled = EnergyAssumptions(cell_read=2 * A.cell_read)
    assert forward_energy(SIZES, "pcm", doubled)["cells"] == pytest.approx(2 * forward_energy(SIZES, "pcm")["cells"])


@pytest.mark.parametrize("call, message", [
    (lambda: training_step_energy(SIZES, "pcm", "adam", batch=1), "method must be one of ('mgd', 'backprop')"),
    (lambda: training_step_energy(SIZES, "pcm", "mgd", batch=-1), "batch must be a positive integer, got -1"),
    (lambda: forward_energy(SIZES, "pcm", batch=0), "batch must be a positive integer, got 0"),
    (lambda: forward_energy(SIZES, "pcm", batch=2.5), "batch must be a positive integer, got 2.5"),
    (lambda: training_step_energy(SIZES, "pcm", "mgd", batch=1, tau_theta=0),
     "tau_theta must be a positive integer, got 0"),
    (lambda: training_step_energy(SIZES, "pcm", "mgd", batch=1, tau_x=0),
     "tau_x must be a positive integer, got 0"),
    (lambda: forward_energy([64], "pcm"),
     "sizes must be a sequence of at least two positive ints (layer widths, input first), got [64]"),
    (lambda: forward_energy([64, 0, 10], "pcm"), "sizes must be a sequence of at least two positive ints"),
    (lambda: forward_energy("64-32-10", "pcm"), "sizes must be"),
    (lambda: forward_energy(SIZES, "sram"),
     "hardware must be None, a preset name ('ideal', 'digital8', 'pcm', 'rram') or a HardwareModel, got 'sram'"),
    (lambda: forward_energy(SIZES, 3), "hardware must be None, a preset name"),
    (lambda: forward_energy(SIZES, "pcm", assumptions={"cell_read": 1}),
     "assumptions must be an instance of EnergyAssumptions"),
    (lambda: EnergyAssumptions(adc_fom=-1.0), "adc_fom must be a finite energy >= 0"),
    (lambda: adc_energy(0), "bits must be an integer number of bits in [1, 32]"),
])
def test_bad_inputs_raise_naming_the_parameter(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


@pytest.mark.parametrize("call, message", [
    (lambda: forward_energy(SIZES, "pcm", batch=True), "batch must be a positive integer, got True"),
    (lambda: training_step_energy(SIZES, "pcm", "mgd", batch=1, highpass="no"),
     "highpass must be a bool (True or False), got 'no'"),
    (lambda: EnergyAssumptions(cell_read=float("nan")), "cell_read must be a finite energy >= 0 (pJ), got nan"),
    (lambda: technology("sram"), "hardware must be None, a preset name ('ideal', 'digital8', 'pcm', 'rram')"),
    (lambda: dac_energy(8.0), "bits must be an integer number of bits in [1, 32], got 8.0"),
])
def test_more_bad_inputs_raise_naming_the_parameter(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_assumptions_become_floats():
    assert type(EnergyAssumptions(cell_read=1).cell_read) is float
