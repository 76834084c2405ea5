"""astrocore.hardware: the quantizer against its definition, noise and drift against their
formulas, the device hooks in nets/mgd, the ideal preset changing nothing, and bad input."""

import ast
import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from astrocore import datasets, mgd, training
from astrocore.hardware import (HOOKS, PARTS, PRESETS, Converters, CostReadout, Device, Effect, HardwareModel,
                                NeuronVariation, ReservoirEffects, Update, WeightStorage, as_model, deploy,
                                drift_factor, level_step, model_from, preset, quantize, quantize_between,
                                stream_seed)
from astrocore.nets import MLP, _activate


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits")


@pytest.fixture(scope="module")
def wide():
    """An MLP with 90,300 parameters: enough draws for 2 % statistics."""
    return MLP([300, 300], activation="tanh", loss="mse", seed=0)


# -- the quantizer -------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(bits=st.integers(1, 10), clip=st.floats(1e-3, 1e3),
       values=st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=1, max_size=400))
def test_quantize_has_at_most_2_to_the_b_levels_inside_the_range(bits, clip, values):
    q = quantize(np.asarray(values), bits, clip)
    assert np.unique(q).size <= 2 ** bits
    assert np.all(np.abs(q) <= clip * (1 + 1e-12))


@settings(max_examples=60, deadline=None)
@given(bits=st.integers(1, 12), clip=st.floats(1e-2, 1e2),
       fractions=st.lists(st.floats(-1.5, 1.5), min_size=1, max_size=200))
def test_quantize_rounds_to_the_nearest_level_of_the_definition(bits, clip, fractions):
    x = np.asarray(fractions) * clip
    step = 2 * clip / (2 ** bits - 1)
    levels = -clip + step * np.arange(2 ** bits)
    q = quantize(x, bits, clip)
    inside = np.clip(x, -clip, clip)
    distance = np.min(np.abs(inside[:, None] - levels[None]), axis=1)  # ties may go either way
    assert np.all(np.min(np.abs(q[:, None] - levels[None]), axis=1) <= 1e-9 * clip)  # q is a level
    np.testing.assert_allclose(np.abs(q - inside), distance, rtol=0, atol=1e-9 * clip)
    np.testing.assert_array_equal(quantize(q, bits, clip), q)  # idempotent
    assert step == pytest.approx(level_step(bits, clip))


def test_one_bit_is_binary_and_endpoints_are_levels():
    np.testing.assert_array_equal(quantize(np.array([-3.0, -0.1, 0.1, 3.0]), 1, 2.0), [-2.0, -2.0, 2.0, 2.0])
    np.testing.assert_array_equal(quantize(np.array([-1.0, 1.0]), 8, 1.0), [-1.0, 1.0])


def test_stochastic_rounding_is_unbiased():
    bits, clip = 4, 1.0
    step = level_step(bits, clip)
    x = np.random.default_rng(0).uniform(-clip, clip, size=1_000_000)
    q = quantize(x, bits, clip, stochastic=True, seed=1)
    assert abs(np.mean(q - x)) / step < 3e-3
    assert np.all(np.abs(q - x) < step * (1 + 1e-9))  # always a neighbouring level
    # a value a quarter of the way between two levels goes up a quarter of the time
    lo = -clip + 7 * step
    up = quantize(np.full(1_000_000, lo + 0.25 * step), bits, clip, stochastic=True, seed=2) > lo + step / 2
    assert up.mean() == pytest.approx(0.25, abs=2e-3)


def test_stochastic_rounding_is_deterministic_per_seed():
    x = np.linspace(-1, 1, 101)
    a, b = (quantize(x, 3, 1.0, stochastic=True, seed=5) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, quantize(x, 3, 1.0, stochastic=True, seed=6))


# -- noise, drift and faults against their formulas ----------------------------------------------
@pytest.mark.parametrize("kind", ["proportional", "additive"])
@pytest.mark.parametrize("where", ["programming", "read"])
def test_weight_noise_has_the_configured_standard_deviation(wide, kind, where):
    sigma = 0.07
    hw = HardwareModel(weight_clip=4.0, **{f"{where}_noise": sigma, f"{where}_noise_type": kind})
    device = Device(hw, wide, seed=[3])
    theta = np.full(wide.n_params, 0.5)
    stored = device.program(theta)
    np.testing.assert_array_equal(stored, theta)  # noise is in the cells, not in the stored levels
    w = device.read(stored)
    scale = 0.5 if kind == "proportional" else 4.0
    assert np.std(w - theta) / (sigma * scale) == pytest.approx(1.0, abs=0.02)
    assert abs(np.mean(w - theta)) < 4 * sigma * scale / np.sqrt(wide.n_params)
    again = device.read(stored)
    if where == "programming":  # drawn once at write: every read sees the same error
        np.testing.assert_array_equal(w, again)
    else:  # drawn at every use
        assert np.corrcoef(w - theta, again - theta)[0, 1] < 0.02


def test_programming_error_is_redrawn_only_where_the_level_changed(wide):
    hw = HardwareModel(weight_bits=6, weight_clip=1.0, programming_noise=0.1)
    device = Device(hw, wide, seed=[0])
    theta = device.program(np.random.default_rng(0).uniform(-1, 1, wide.n_params))
    before = device.read(theta)
    moved = theta.copy()
    moved[:100] = -moved[:100]
    changed = device.program(moved) != theta
    after = device.read(moved)
    np.testing.assert_array_equal(after[~changed], before[~changed])
    assert np.all(after[changed] != before[changed])


def test_drift_follows_the_power_law(wide):
    nu, t0, t = 0.06, 20.0, 3600.0
    device = Device(HardwareModel(drift_nu=nu, drift_t0=t0, drift_time=t), wide, seed=[0])
    theta = np.random.default_rng(1).normal(size=wide.n_params)
    np.testing.assert_allclose(device.read(device.program(theta)), theta * ((t + t0) / t0) ** -nu, rtol=1e-14)
    assert drift_factor(0.0, nu, t0) == 1.0
    assert drift_factor(t, nu, t0) == pytest.approx(((t + t0) / t0) ** -nu, rel=1e-15)


def test_stuck_cells_hold_their_value_in_the_configured_fractions(wide):
    hw = HardwareModel(weight_clip=2.0, stuck_at_min=0.05, stuck_at_max=0.02, stuck_at_zero=0.1)
    device = Device(hw, wide, seed=[0])
    theta = np.full(wide.n_params, 0.3)
    w = device.read(device.program(theta))
    n = wide.n_params
    for value, fraction in ((-2.0, 0.05), (2.0, 0.02), (0.0, 0.1)):
        assert np.mean(w == value) == pytest.approx(fraction, abs=4 * np.sqrt(fraction / n))
    np.testing.assert_array_equal(device.read(theta + 1.0) == 1.3, w == 0.3)  # stuck whatever is written


def test_update_noise_and_granularity(wide):
    step = 1e-3
    device = Device(HardwareModel(update_step=step), wide, seed=[0])
    old = np.zeros((1, wide.n_params))
    new = np.random.default_rng(2).normal(scale=0.01, size=(1, wide.n_params))
    target = new.copy()
    device.update(old, new)
    np.testing.assert_allclose(new, np.rint(target / step) * step, atol=1e-15)
    sigma = 0.2
    device = Device(HardwareModel(update_noise=sigma), wide, seed=[0])
    new = np.full((1, wide.n_params), 0.01)
    device.update(old, new)
    assert np.std(new / 0.01 - 1) / sigma == pytest.approx(1.0, abs=0.02)


def test_cost_measurement_noise_and_adc(wide):
    sigma = 0.03
    device = Device(HardwareModel(cost_noise=sigma), wide, seed=[0])
    costs = np.full((1, 200_000), 1.0)
    assert np.std(device.measure(costs)) / sigma == pytest.approx(1.0, abs=0.02)
    device = Device(HardwareModel(cost_bits=5, cost_range=4.0), wide, seed=[0])
    measured = device.measure(np.linspace(-1, 6, 1000)[None])
    levels = 4.0 * np.arange(32) / 31
    assert np.all(np.min(np.abs(measured[0][:, None] - levels[None]), axis=1) < 1e-12)


def test_forward_on_a_device_applies_dac_adc_and_neuron_variation():
    model = MLP([3, 4, 2], activation="tanh", loss="mse", seed=0)
    theta = model.init_params()
    X = np.random.default_rng(0).uniform(-1.5, 1.5, size=(5, 3))
    hw = HardwareModel(dac_bits=3, dac_range=1.0, adc_bits=4, adc_range=2.0, activation_offset=0.1,
                       activation_slope=0.2, activation_gain=0.05)
    device = Device(hw, model, seed=[0])
    out = model.forward(theta, X, device=device)
    h = X
    for index, (W, b) in enumerate(model.layers(theta)):
        z = quantize(quantize(h, 3, 1.0) @ W + b, 4, 2.0)
        offset, slope, gain = device.chips.state[NeuronVariation]["variation"][index][0]
        h = (1 + gain) * _activate("tanh", (1 + slope) * (z - offset), np)
    np.testing.assert_allclose(out, h, rtol=1e-13)
    rows = Device(hw, model, seed=[0]).chips.state[NeuronVariation]["variation"][0][0]
    assert np.std(rows[1]) > 0 and not np.allclose(rows[0], 0)


# -- the ideal preset changes nothing ---------------------------------------------------------
@pytest.mark.parametrize("mode", ["code", "node"])
def test_ideal_preset_reproduces_training_without_a_model_exactly(digits, mode):
    model = MLP([64, 16, 10], activation="tanh", loss="cross_entropy", seed=0)
    kwargs = dict(direction=mode, eta=2e-3, amplitude=1e-2, tau_theta=10, batch_size=16, steps=400, seed=[0, 1],
                  optimizer="adam", eval_every=200)
    plain = mgd.train(model, digits, **kwargs)
    for hardware in ("ideal", preset("ideal"), HardwareModel()):
        run = mgd.train(model, digits, **kwargs, hardware=hardware)
        for name in ("cost", "test_accuracy", "theta"):
            np.testing.assert_array_equal(run[name].values, plain[name].values)


def test_ideal_device_forward_and_estimate_are_unchanged(digits):
    model = MLP([64, 16, 10], activation="tanh", loss="cross_entropy", seed=0)
    theta = model.init_params()
    X, Y = digits.x_train[:32], digits.y_train[:32]
    device = Device("ideal", model, seed=[0])
    np.testing.assert_array_equal(model.forward(theta, X, device=device), model.forward(theta, X))
    np.testing.assert_array_equal(device.program(theta), theta)
    kwargs = dict(direction="code", n_perturbations=64, amplitude=1e-3, seed=4)
    np.testing.assert_array_equal(mgd.estimate_gradient(model, theta, X, Y, **kwargs, hardware="ideal"),
                                  mgd.estimate_gradient(model, theta, X, Y, **kwargs))
    assert as_model("ideal") is None and as_model(None) is None


# -- in the loop and deployed ------------------------------------------------------------------
def test_in_loop_training_keeps_weights_on_the_levels_and_is_deterministic(digits):
    model = MLP([64, 16, 10], activation="tanh", loss="cross_entropy", seed=0)
    hw = HardwareModel(weight_bits=5, weight_clip=1.0, stochastic_rounding=True, programming_noise=0.05)
    kwargs = dict(direction="code", eta=1e-2, amplitude=1e-2, tau_theta=10, batch_size=16, steps=3000, seed=[0, 1],
                  optimizer="adam", eval_every=1500, hardware=hw)
    run = mgd.train(model, digits, **kwargs)
    levels = -1.0 + level_step(5, 1.0) * np.arange(32)
    assert np.all(np.min(np.abs(run.theta.values[..., None] - levels), axis=-1) < 1e-12)
    assert run.attrs["hw_weight_bits"] == 5
    np.testing.assert_array_equal(mgd.train(model, digits, **kwargs).test_accuracy.values, run.test_accuracy.values)
    assert run.test_accuracy.values[:, -1].min() > 0.5  # it learns on the device (chance: 0.1)


def test_mgd_estimate_through_the_cost_adc_tracks_the_gradient_until_the_step_swamps_it(digits):
    model = MLP([64, 16, 10], activation="tanh", loss="cross_entropy", seed=0)
    theta = model.init_params()
    X, Y = digits.x_train[:64], digits.y_train[:64]
    g = model.gradient(theta, X, Y)
    kwargs = dict(direction="code", n_perturbations=4000, amplitude=0.05, seed=1)
    fine = mgd.estimate_gradient(model, theta, X, Y, **kwargs, hardware=HardwareModel(cost_bits=16))
    coarse = mgd.estimate_gradient(model, theta, X, Y, **kwargs, hardware=HardwareModel(cost_bits=4))
    cos = [float(v @ g / max(np.linalg.norm(v), 1e-300) / np.linalg.norm(g)) for v in (fine, coarse)]
    assert cos[0] > 0.6 and cos[1] < 0.1  # 4 bits: every cost reads the same level, the estimate is 0


def test_deployed_network_keeps_float_accuracy_at_16_bits(digits):
    model = MLP([64, 16, 10], activation="tanh", loss="cross_entropy", seed=0)
    ds = training.train_backprop(model, digits, eta=3e-3, steps=300, batch_size=32, seed=[0], optimizer="adam")
    theta = ds.theta.values
    network, stored = deploy(model, theta, HardwareModel(weight_bits=16, weight_clip=4.0), seed=[0])
    _, acc = training.evaluate(network, stored, digits.x_test, digits.y_test)
    _, ref = training.evaluate(model, theta, digits.x_test, digits.y_test)
    assert abs(acc[0] - ref[0]) <= 2 / len(digits.y_test)
    network, stored = deploy(model, theta, HardwareModel(weight_bits=1, weight_clip=4.0), seed=[0])
    assert training.evaluate(network, stored, digits.x_test, digits.y_test)[1][0] < ref[0] - 0.2


def test_device_streams_are_apart_from_the_trainers():
    assert stream_seed(0) != 0 and stream_seed(0) == stream_seed(0) and stream_seed(0) != stream_seed(1)


# -- presets and bad input -----------------------------------------------------------------------
@pytest.mark.parametrize("name", PRESETS)
def test_presets_are_valid_models(name):
    hw = preset(name)
    assert hw.name == name and hw.is_ideal == (name == "ideal")
    if name == "digital8":
        assert hw.weight_bits == hw.dac_bits == hw.adc_bits == 8


@pytest.mark.parametrize("changes, message", [
    ({"weight_bits": 0, "weight_clip": 1.0}, "weight_bits must be None or an integer number of bits in \\[1, 32\\]"),
    ({"adc_bits": 2.5}, "adc_bits must be None or an integer"),
    ({"state_bits": True}, "state_bits must be None or an integer"),
    ({"read_noise": -0.1}, "read_noise must be a finite real number >= 0, got -0.1"),
    ({"cost_noise": float("nan")}, "cost_noise must be a finite real number >= 0, got nan"),
    ({"stuck_at_zero": 1.5}, "stuck_at_zero must be a real number in \\[0, 1\\], got 1.5"),
    ({"stuck_at_min": -0.1}, "stuck_at_min must be a real number in \\[0, 1\\], got -0.1"),
    ({"stuck_at_zero": 0.6, "stuck_at_max": 0.6, "weight_clip": 1.0}, "must be at most 1"),
    ({"read_noise": 0.1, "read_noise_type": "multiplicative"}, "read_noise_type must be one of"),
    ({"weight_bits": 4}, "weight_bits need\\(s\\) the weight range: set weight_clip"),
    ({"programming_noise": 0.1, "programming_noise_type": "additive"}, "set weight_clip"),
    ({"adc_range": 0}, "adc_range must be a finite real number > 0, got 0"),
    ({"stochastic_rounding": "yes"}, "stochastic_rounding must be a bool \\(True or False\\), got 'yes'"),
])
def test_bad_models_are_rejected_with_a_message_naming_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        HardwareModel(**changes)


def test_bad_quantizer_arguments_and_preset_names():
    with pytest.raises(ValueError, match="bits must be an integer number of bits in \\[1, 32\\], got 0"):
        quantize(np.zeros(3), 0, 1.0)
    with pytest.raises(ValueError, match="clip must be a finite real number > 0, got -1.0"):
        quantize(np.zeros(3), 4, -1.0)
    with pytest.raises(ValueError, match="pass seed"):
        quantize(np.zeros(3), 4, 1.0, stochastic=True)
    with pytest.raises(ValueError, match=r"name must be a hardware preset name, one of "
                                         r"\('ideal', 'digital8', 'pcm', 'rram'\), got 'memristor'"):
        preset("memristor")
    with pytest.raises(ValueError, match="hardware must be None, a preset name"):
        mgd.train(MLP([2, 1]), datasets.parity(2), steps=1, hardware=3)
    model = MLP([3, 2])
    with pytest.raises(ValueError, match=r"theta \(parameters for 2 chips\) must have shape \(2, 8\), got \(11,\)"):
        Device(HardwareModel(weight_bits=4, weight_clip=1.0), model, seed=[0, 1]).program(np.zeros(11))


def test_output_noise_has_the_configured_standard_deviation(wide):
    sigma, full_scale = 0.04, 8.0
    device = Device(HardwareModel(output_noise=sigma, adc_range=full_scale), wide, seed=[0])
    z = device.adc(np.zeros((400, 300)))
    assert np.std(z) / (sigma * full_scale) == pytest.approx(1.0, abs=0.02)


def test_model_from_a_config_entry():
    from astrocore.hardware import model_from
    hw = model_from({"preset": "pcm", "weight_clip": 2.0}, name="pcm")
    assert hw.weight_clip == 2.0 and hw.drift_nu == preset("pcm").drift_nu and hw.name == "pcm"
    assert model_from({}).is_ideal
    with pytest.raises(ValueError, match="unknown hardware field\\(s\\) \\['bitz'\\]"):
        model_from({"bitz": 3})
    with pytest.raises(ValueError, match="preset must be a hardware preset name, one of .* got 'flash'"):
        model_from({"preset": "flash"})


# -- the validation layer (issue 10) ----------------------------------------------------------------
def test_integer_input_is_quantized_as_numbers_not_truncated():
    levels = np.array([4, 12, 20]) / 7  # 3 bits over [-4, 4]: -4 + 8k/7
    for x in (np.array([1, 2, 3]), [1, 2, 3], np.array([1, 2, 3], dtype=np.uint8)):
        q = quantize(x, 3, 4.0)
        assert q.dtype == np.float64
        np.testing.assert_allclose(q, levels)
    from astrocore.hardware import quantize_between
    np.testing.assert_allclose(quantize_between(np.array([1, 2, 3]), 3, -4.0, 4.0), levels)
    assert quantize(np.array([0.3], dtype=np.float32), 4, 1.0).dtype == np.float32
    model = MLP([2, 1])
    _, stored = deploy(model, np.array([1, 0, 0]), HardwareModel(weight_bits=3, weight_clip=4.0), seed=[0])
    np.testing.assert_allclose(stored, quantize(np.array([1.0, 0.0, 0.0]), 3, 4.0))


@pytest.mark.parametrize("call, message", [
    (lambda: quantize(np.array([0.1, np.nan]), 4, 1.0), r"x must be finite, got nan at index \(1,\)"),
    (lambda: quantize(np.zeros(3), 4, np.inf), "clip must be a finite real number > 0, got inf"),
    (lambda: quantize(np.zeros(3), 4, 1.0, stochastic="False"), r"stochastic must be a bool \(True or False\)"),
    (lambda: level_step(0, 1.0), r"bits must be an integer number of bits in \[1, 32\], got 0"),
    (lambda: drift_factor(1.0, 0.1, np.inf), "t0 must be a finite real number > 0, got inf"),
    (lambda: HardwareModel(name=7), "name must be a str, got 7"),
    (lambda: preset("pcm").replace(drift_nu=-0.1), "drift_nu must be a finite real number >= 0, got -0.1"),
    (lambda: Device("pcm", MLP([3, 2]), seed=[1, 1]), "seed must be a non-negative int or a non-empty sequence of "
                                                      "distinct non-negative ints, got \\[1, 1\\]"),
    (lambda: Device("pcm", "mlp"), "model must be an instance of MLP"),
    (lambda: deploy(MLP([2, 1]), np.array([0.1, np.nan, 0.0]), "digital8"), "theta must be finite"),
    (lambda: stream_seed(-1), "seed must be a non-negative int, got -1"),
])
def test_hardware_entry_points_refuse_bad_values_naming_them(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_every_model_field_is_declared_and_the_model_is_a_registered_entry_point():
    import dataclasses

    from astrocore import validation
    from astrocore.hardware.model import FIELD_CONSTRAINTS, FIELD_OWNER
    parts = [f.name for f in dataclasses.fields(HardwareModel) if f.name != "name"]
    flat = [f.name for part in HardwareModel().parts for f in dataclasses.fields(part)]
    assert list(FIELD_OWNER) == flat and set(FIELD_CONSTRAINTS) == {*flat, *parts, "name"}
    assert validation.REGISTRY["astrocore.hardware.model.HardwareModel.__init__"][1] == FIELD_CONSTRAINTS
    for part in LIBRARY_PARTS:  # each part declares its own fields, checked by its __init__
        assert validation.REGISTRY[f"astrocore.hardware.effects.{part.__name__}.__init__"][1] == part.constraints
    hw = HardwareModel(weight_bits=np.int64(4), weight_clip=1, read_noise=np.float32(0.5))
    assert type(hw.weight_bits) is int and type(hw.weight_clip) is float and type(hw.read_noise) is float


def test_device_memory_is_estimated_before_drawing(monkeypatch):
    monkeypatch.setenv("ASTROCORE_MAX_MEMORY", str(2**30))
    with pytest.raises(MemoryError, match=r"seed=\[0, 1, 2, .* needs about .* of 10000 chip\(s\) of 814090"):
        Device("rram", MLP([784, 1024, 10]), seed=list(range(10_000)))


# -- the parts (issue 11): one class per effect, called at named hook points ------------------------
LIBRARY_PARTS = [WeightStorage, Converters, CostReadout, Update, NeuronVariation, ReservoirEffects]


def test_a_model_is_the_same_from_parts_or_from_flat_fields():
    flat = HardwareModel(weight_bits=5, weight_clip=1.0, programming_noise=0.03, dac_bits=7, cost_noise=1e-3,
                         update_step=1e-3, activation_gain=0.1, state_bits=4, name="x")
    parts = HardwareModel(weights=WeightStorage(weight_bits=5, weight_clip=1.0, programming_noise=0.03),
                          converters=Converters(dac_bits=7), cost=CostReadout(cost_noise=1e-3),
                          update=Update(update_step=1e-3), neurons=NeuronVariation(activation_gain=0.1),
                          reservoir=ReservoirEffects(state_bits=4), name="x")
    assert flat == parts and hash(flat) == hash(parts) and repr(flat) == repr(parts)
    assert flat.weight_bits == flat.weights.weight_bits == 5 and flat.state_bits == 4
    assert flat.to_attrs() == {"hw_name": "x", "hw_weight_bits": 5, "hw_weight_clip": 1.0,
                               "hw_programming_noise": 0.03, "hw_dac_bits": 7, "hw_cost_noise": 1e-3,
                               "hw_update_step": 1e-3, "hw_activation_gain": 0.1, "hw_state_bits": 4}
    call = ast.parse(repr(flat), mode="eval").body  # the repr lists every field by its flat name
    assert call.func.id == "HardwareModel" and not call.args
    assert HardwareModel(**{kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}) == flat
    assert model_from({"preset": "pcm"}).weights == preset("pcm").weights
    with pytest.raises(ValueError, match="give weights= or its fields, not both"):
        HardwareModel(weights=WeightStorage(), weight_bits=4, weight_clip=1.0)
    with pytest.raises(ValueError, match="weights must be None or an instance of WeightStorage"):
        HardwareModel(weights=Converters())
    with pytest.raises(dataclasses.FrozenInstanceError):
        flat.weights.weight_bits = 3  # type: ignore[misc]


def test_replace_takes_flat_fields_and_parts():
    hw = preset("pcm")
    assert hw.replace(weight_clip=2.0).weights == hw.weights.replace(weight_clip=2.0)
    assert hw.replace(weight_clip=2.0).converters is hw.converters
    assert hw.replace(converters=Converters()).adc_bits is None
    assert hw.replace(name="other").name == "other" and hw.replace(name="other") == hw
    with pytest.raises(ValueError, match="drift_nu must be a finite real number >= 0, got -0.1"):
        hw.replace(drift_nu=-0.1)
    with pytest.raises(TypeError, match="bitz"):
        hw.replace(bitz=3)


@pytest.mark.parametrize("part, field_name, bad", [
    (WeightStorage, "weight_bits", 0), (WeightStorage, "programming_noise_type", "gaussian"),
    (Converters, "adc_range", 0.0), (CostReadout, "cost_bits", 2.5), (Update, "update_noise", -1.0),
    (NeuronVariation, "activation_slope", float("nan")), (ReservoirEffects, "phase_noise", float("inf")),
])
def test_each_part_checks_its_own_fields(part, field_name, bad):
    with pytest.raises(ValueError, match=f"^{field_name} must be"):
        part(**{field_name: bad})


def test_each_part_is_off_by_default_and_acts_only_where_it_is_on():
    assert all(p().is_ideal and not any(p().uses(h) for h in HOOKS) for p in PARTS)
    assert set(LIBRARY_PARTS) <= {type(p) for p in HardwareModel().parts} <= set(PARTS)
    assert all(p.is_ideal for p in HardwareModel().parts)
    hw = HardwareModel(state_bits=4, dac_bits=6, weight_clip=1.0, read_noise=0.1)
    assert [type(p).__name__ for p in hw.at("state")] == ["ReservoirEffects"]
    assert hw.at("phase") == () and hw.at("links") == () and hw.at("adc") == ()
    assert [type(p).__name__ for p in hw.at("read")] == ["WeightStorage"]
    assert [type(p) for p in hw.at("dac")] == [Converters] == [type(p) for p in hw.at("perturbation")]
    acts_at = {WeightStorage: {"setup", "program", "hold", "read"}, Converters: {"dac", "adc", "perturbation"},
               CostReadout: {"measure"}, Update: {"update"},
               NeuronVariation: {"setup", "pre_activation", "post_activation"},
               ReservoirEffects: {"state", "links", "phase", "readout"}}
    assert {part: {h for h in HOOKS if part.defines(h)} for part in LIBRARY_PARTS} == acts_at
    assert not any(Effect.defines(h) for h in HOOKS)


def test_the_hooks_use_the_one_quantizer():
    x = np.random.default_rng(0).uniform(-1.5, 1.5, size=(3, 50))
    state = x.copy()
    ReservoirEffects(state_bits=3).state(state)  # in place, every step of a reservoir
    np.testing.assert_array_equal(state, quantize_between(x, 3, -1.0, 1.0))
    coef = x.reshape(3, 25, 2)
    out = ReservoirEffects(readout_bits=4).readout(coef)
    for b in range(3):
        c = np.abs(coef[b]).max()
        np.testing.assert_array_equal(out[b], quantize_between(coef[b], 4, -c, c))
    np.testing.assert_array_equal(ReservoirEffects(readout_bits=4).readout(np.zeros((1, 3, 2))), np.zeros((1, 3, 2)))
    device = Device(HardwareModel(dac_bits=4), MLP([3, 2]), seed=0)
    assert device.alters_perturbations
    peak = np.abs(x).max()
    np.testing.assert_array_equal(device.quantize_perturbations(x), quantize_between(x, 4, -peak, peak))
    np.testing.assert_array_equal(device.dac(x), quantize_between(x, 4, -1.0, 1.0))
    assert not Device(HardwareModel(adc_bits=4), MLP([3, 2]), seed=0).alters_perturbations


def test_device_takes_seed_by_keyword_like_train():
    model = MLP([3, 2])
    hw = HardwareModel(programming_noise=0.1)
    theta = np.full(model.n_params, 0.5)
    one, listed = Device(hw, model, seed=4), Device(hw, model, seed=[4])
    np.testing.assert_array_equal(one.read(one.program(theta)), listed.read(listed.program(theta)))
    assert Device(hw, model).seeds == [0]
    with pytest.raises(TypeError):
        Device(hw, model, [4])  # keyword only, as in mgd.train and the reservoirs
    network, stored = deploy(model, np.stack([theta, theta]), hw, seed=[4, 5])
    assert stored.shape == (2, model.n_params) and network.device.seeds == [4, 5]


def test_a_hook_site_runs_its_parts_in_the_model_s_order():
    """``Chips.through(hook, x)``: each part acting at ``hook`` in turn, the others untouched; the
    device's read is ``read(hold(.))`` of the same site."""
    from astrocore.hardware.effects import Chips

    hw = HardwareModel(weight_bits=4, read_noise=0.01, weight_clip=1.0)
    x = np.linspace(-0.9, 0.9, 12).reshape(2, 6)
    def site():
        return Chips([np.random.default_rng(0), np.random.default_rng(1)], hardware=hw, clip=1.0, n_cells=6)

    twin, expected = site(), x
    for part in hw.at("read"):
        expected = part.read(expected, twin)
    np.testing.assert_array_equal(site().through("read", x), expected)
    assert not np.array_equal(expected, x)
    assert Chips([np.random.default_rng(0)]).through("read", x) is x   # no model: nothing acts
