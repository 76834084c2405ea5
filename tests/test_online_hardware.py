"""MGD readout learners with their weights on simulated chips (issue 12, part C, online side).

References: the learner without hardware (bit for bit for the ideal model, to
rounding for a model whose effects are all off), the 8-bit level grid, the
read-noise model's mean, the exact readout gradient, the named device streams
and :func:`astrocore.analysis.online.energy_per_update`.
"""

from __future__ import annotations

import numpy as np
import pytest

from astrocore import backend, online
from astrocore.analysis import online as ao
from astrocore.hardware import HardwareModel, preset
from astrocore.validation import InvalidParameterError


def _linear_stream(T=3000, F=5, D=2, B=3, seed=0, scale=1.0):
    """Features uniform on [-1, 1] plus a constant, targets from a known readout with entries in [-scale, scale]."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(T, B, F - 1))
    f = np.concatenate([x, np.ones((T, B, 1))], axis=-1)
    return f, f @ rng.uniform(-scale, scale, size=(F, D))


def _error(run, y):
    return np.sqrt(np.mean((run.prediction - y) ** 2, axis=(1, 2)))


@pytest.mark.parametrize("direction", online.DIRECTIONS)
def test_the_ideal_model_reproduces_the_learner_without_hardware(direction):
    f, y = _linear_stream(T=400, B=2, scale=0.5)
    make = lambda hw: online.MGDReadout(direction, eta=0.05, tau_theta=2, n_perturbations=2, seed=1, hardware=hw)
    plain = online.run_online(f, y, make(None), label_every=2)
    for hw in ("ideal", HardwareModel()):
        run = online.run_online(f, y, make(hw), label_every=2)
        assert np.array_equal(run.prediction, plain.prediction)
        assert np.array_equal(run.state["W"], plain.state["W"])
        assert run.state["chip"] is None
    # a model that is not the ideal one but switches no effect on runs on the chip path: same numbers to rounding
    off = online.run_online(f, y, make(HardwareModel(dac_range=2.0)), label_every=2)
    assert off.state["chip"] is not None
    np.testing.assert_allclose(off.prediction, plain.prediction, rtol=0, atol=1e-12)


def test_digital8_weights_stay_on_the_8_bit_grid():
    f, y = _linear_stream(T=500)
    run = online.run_online(f, y, online.MGDReadout("node", eta=0.05, amplitude=0.03, seed=2, hardware="digital8"))
    W, chip = run.state["W"], run.state["chip"]
    step = preset("digital8").weight_step   # 2 / 255 over [-1, 1]
    levels = (W + 1.0) / step
    np.testing.assert_allclose(levels, np.round(levels), rtol=0, atol=1e-9)
    assert np.abs(W).max() <= 1.0 and np.abs(W).max() > 0.1
    assert chip.updates == 500 and 0 < chip.writes_per_update <= W.shape[1] * W.shape[2]
    assert np.array_equal(chip.read(W), W)  # digital cells hold and read what was written


def test_pcm_read_noise_is_fresh_at_every_read_and_averages_to_the_held_weights():
    f, y = _linear_stream(T=200, B=2)
    run = online.run_online(f, y, online.MGDReadout("node", eta=0.05, amplitude=0.1, seed=3, hardware="pcm"))
    W, chip = run.state["W"], run.state["chip"]
    held = chip.hold(W)
    assert not np.array_equal(held, W)  # programming error, drift and stuck cells
    assert np.array_equal(chip.hold(W), held)  # static between writes
    assert not np.array_equal(chip.read(W), chip.read(W))
    n = 4000
    reads = chip.read(W, copies=n)  # (B, n, F, D)
    sigma = preset("pcm").read_noise  # 1 % proportional: each read is held (1 + sigma e)
    # the mean of n reads lies within 5 standard errors of the held weights, entry by entry
    assert np.all(np.abs(reads.mean(1) - held) <= 5 * sigma * np.abs(held) / np.sqrt(n) + 1e-15)
    big = np.abs(held) > 0.05
    relative = (reads / np.where(big, held, 1.0)[:, None])[np.broadcast_to(big[:, None], reads.shape)]
    assert abs(relative.std() / sigma - 1) < 0.05  # and their spread is the stated 1 %


def test_every_measured_cost_passes_the_cost_readout():
    rng = np.random.default_rng(4)
    f = np.concatenate([rng.uniform(-1, 1, (1, 4)), np.ones((1, 1))], axis=1)
    y = rng.normal(size=(1, 2))

    def estimate(hardware, amplitude=1e-2, n_perturbations=5, seed=5):
        learner = online.MGDReadout("weight", amplitude=amplitude, n_perturbations=n_perturbations, seed=seed,
                                    hardware=hardware)
        state = learner.init(5, 2, 1)
        return learner.estimate(state, f, y), state

    plain, _ = estimate(None)
    assert np.array_equal(estimate("ideal")[0], plain)
    np.testing.assert_allclose(estimate(HardwareModel(cost_range=2.0))[0], plain, rtol=1e-9)  # no effect on
    noisy, state = estimate(HardwareModel(cost_noise=0.5))
    assert np.abs(noisy - plain).max() > 1.0  # a cost noise of 0.5 over amplitude 0.01 moves every entry
    calls = []
    measure = state["chip"].measure
    state["chip"].measure = lambda c: calls.append(c) or measure(c)
    online.MGDReadout("weight", n_perturbations=5, hardware=HardwareModel(cost_noise=0.5)).estimate(state, f, y)
    assert len(calls) == 6  # C0 and each perturbed cost
    # a cost ADC of 4 bits over [0, 4]: perturbations far below one level (0.27) move no measured cost
    coarse, _ = estimate(HardwareModel(cost_bits=4, cost_range=4.0), amplitude=1e-5)
    assert np.array_equal(coarse, np.zeros_like(coarse))
    # cost noise is zero-mean: the estimate stays unbiased (exact gradient f e^T at W = 0, e = -y)
    many, _ = estimate(HardwareModel(cost_noise=0.01), n_perturbations=5000)
    exact = f[0][:, None] * (-y[0])[None, :]
    cos = np.dot(many.ravel(), exact.ravel()) / np.linalg.norm(many) / np.linalg.norm(exact)
    assert cos >= 0.98


@pytest.mark.parametrize("direction, factor", [("node", 10), ("weight", 8)])
def test_the_readout_still_learns_on_digital8(direction, factor):
    """Running error of the first 100 steps over that of the last 300 (measured: node 24, weight 17;
    without hardware 110 and 28)."""
    f, y = _linear_stream()
    run = online.run_online(f, y, online.MGDReadout(direction, eta=0.02, amplitude=0.03, seed=1,
                                                    hardware="digital8"))
    err = _error(run, y)
    assert err[:100].mean() > factor * err[-300:].mean()


def test_each_column_is_a_chip_with_its_own_named_stream():
    chip = online.ReadoutChip(preset("digital8"), 6, 3, 4, 2)
    device_seed = backend.stream_seed(6, "device")
    for b in range(3):
        expected = np.random.default_rng([device_seed, backend.DEVICE_STREAMS["readout"], b]).random(4)
        np.testing.assert_array_equal(chip.chips.gens[b].random(4), expected)
    # on pcm the columns of one stream (same features and targets) differ by their chips alone
    f, y = _linear_stream(T=50, B=1)
    f, y = np.repeat(f, 2, axis=1), np.repeat(y, 2, axis=1)
    run = online.run_online(f, y, online.MGDReadout("node", hardware="pcm"))
    assert not np.array_equal(run.prediction[:, 0], run.prediction[:, 1])


@pytest.mark.parametrize("hardware, tech", [(None, "fp32"), ("ideal", "fp32"), ("digital8", "int8"), ("pcm", "pcm")])
def test_energy_per_update_on_the_learners_technology(hardware, tech):
    F, D = 41, 3
    learner = online.MGDReadout("node", tau_theta=2, hardware=hardware)
    pj = learner.energy_per_update(F, D)
    assert pj["total"] * 1e-12 == pytest.approx(ao.energy_per_update("mgd_node", learner, F - 1, D, hardware))
    assert pj["total"] == pytest.approx(sum(v for k, v in pj.items() if k != "total"))
    if tech == "pcm":
        assert pj["update"] == pytest.approx(F * D * 30.0 / 2)  # every cell rewritten, one 30 pJ pulse each
        fewer = learner.energy_per_update(F, D, writes_per_update=10.0)
        assert fewer["update"] == pytest.approx(10 * 30.0 / 2) and fewer["total"] < pj["total"]
    else:
        assert learner.energy_per_update(F, D, writes_per_update=10.0) == pj


@pytest.mark.parametrize("make, match", [
    (lambda: online.MGDReadout(hardware="memristor"), r"hardware must be .*'ideal', 'digital8', 'pcm', 'rram'"),
    (lambda: online.MGDReadout(hardware=3), "hardware must be"),
    (lambda: online.make_learner("mgd_weight", hardware={"weight_bits": 4}), "hardware must be"),
    (lambda: online.MGDReadout().energy_per_update(1, 2), "n_features"),
    (lambda: online.MGDReadout().energy_per_update(3, 2, writes_per_update=-1.0), "writes_per_update"),
])
def test_bad_hardware_input_is_a_clear_error(make, match):
    with pytest.raises(InvalidParameterError, match=match):
        make()
