"""Hardware non-idealities of the reservoirs (astrocore.reservoir, ``hardware=``).

The ideal model (None or the ``ideal`` preset) must give the same numbers as
the plain reservoir, bit for bit; each effect is checked against its
definition in astrocore.hardware (the parts of astrocore.hardware.effects, called at
the reservoirs' hook points: program/setup/hold once per matrix, state every step,
links once, phase every step, readout after the fit).
"""

import numpy as np
import pytest

from astrocore import backend
from astrocore.hardware import Device, HardwareModel, ReservoirEffects, quantize_between
from astrocore.nets import MLP
from astrocore.reservoir import ESN, RhythmicSharing, RidgeReadout


def inputs(t=300, d=3, seed=0):
    return np.random.default_rng(seed).normal(size=(t, d))


def sine(t=400):
    s = np.arange(t) * 0.2
    return np.stack([np.sin(s), np.cos(s), np.sin(2 * s)], axis=1)


def small_rhythmic(**kw):
    return RhythmicSharing(40, degree=4, astro_degree=10, washout=20, seed=kw.pop("seed", 0), **kw)


def same(a, b):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


# ---------------------------------------------------------------- the ideal machine
@pytest.mark.parametrize("hardware", [None, "ideal", HardwareModel()])
def test_ideal_esn_is_bit_identical(hardware):
    plain, hw = ESN(60, washout=20, seed=[0, 1]), ESN(60, washout=20, seed=[0, 1], hardware=hardware)
    assert hw.hardware is None
    u = sine(300)
    same(plain.run(u).states, hw.run(u).states)
    plain.fit(u[:200])
    hw.fit(u[:200])
    same(plain.readout_.coef_, hw.readout_.coef_)
    same(plain.forecast(u[:200], 50).prediction, hw.forecast(u[:200], 50).prediction)


@pytest.mark.parametrize("hardware", [None, "ideal"])
def test_ideal_rhythmic_is_bit_identical_free_and_steered(hardware):
    u = sine(500)
    plain, hw = small_rhythmic(), small_rhythmic(hardware=hardware)
    a, b = plain.run(u), hw.run(u)
    same(a.states, b.states)
    same(a.order_R, b.order_R)
    same(a.mean_phase, b.mean_phase)
    plain.fit(u[:300])
    hw.fit(u[:300])
    fa, fb = plain.forecast(u[:300], 40), hw.forecast(u[:300], 40)
    same(fa.prediction, fb.prediction)
    same(fa.order_R, fb.order_R)
    kw = dict(steering="sweep", n_free=100, n_candidates=4, n_settle=20, window=30)
    sa, sb = plain.forecast(u[:300], 30, **kw), hw.forecast(u[:300], 30, **kw)
    same(sa.prediction, sb.prediction)
    same(sa.warmup.order_R, sb.warmup.order_R)


def test_hardware_is_recorded_in_get_params():
    assert ESN(20, seed=0).get_params()["hardware"] is None
    params = small_rhythmic(hardware=HardwareModel(state_bits=4, phase_noise=0.1)).get_params()
    assert params["hardware"]["hw_state_bits"] == 4 and params["hardware"]["hw_phase_noise"] == 0.1


# ---------------------------------------------------------------- the effects
def test_weights_are_programmed_once_on_their_own_range():
    hw = HardwareModel(weight_bits=3, weight_clip=1.0)
    plain, model = ESN(50, seed=0, n_inputs=3), ESN(50, seed=0, n_inputs=3, hardware=hw)
    for w0, w in ((plain.W_[0].data, model.W_[0].data), (plain.W_in_[0].ravel(), model.W_in_[0].ravel())):
        clip = np.abs(w0).max()
        same(w, quantize_between(w0, 3, -clip, clip))
        assert np.unique(w).size <= 8
    assert model.W_[0].nnz == plain.W_[0].nnz            # same links, same sparsity pattern
    same(model.W_[0].indices, plain.W_[0].indices)
    # inputs built lazily from the first data are programmed too
    late = ESN(50, seed=0, hardware=hw)
    late.run(inputs(5))
    same(late.W_in_, model.W_in_)


def test_programming_noise_and_stuck_cells_are_seeded():
    hw = HardwareModel(programming_noise=0.1, stuck_at_zero=0.2)
    a, b, c = (RhythmicSharing(50, seed=s, hardware=hw) for s in (0, 0, 1))
    same(a.W_[0].data, b.W_[0].data)
    plain = RhythmicSharing(50, seed=0)
    zero = a.W_[0].data == 0
    assert 0.1 < zero.mean() < 0.3
    ratio = a.W_[0].data[~zero] / plain.W_[0].data[~zero]
    assert 0.07 < ratio.std() < 0.13
    assert not np.array_equal(a.W_[0].data, np.resize(c.W_[0].data, a.W_[0].data.shape))


@pytest.mark.parametrize("make", [lambda hw: ESN(40, washout=10, seed=0, hardware=hw),
                                  lambda hw: ESN(40, washout=10, seed=0, leak=0.3, hardware=hw),
                                  lambda hw: small_rhythmic(hardware=hw)])
@pytest.mark.parametrize("bits", [2, 3, 5])
def test_state_bits_give_at_most_2_to_the_b_values(make, bits):
    model = make(HardwareModel(state_bits=bits))
    u = sine(300)
    states = model.run(u).states
    levels = np.unique(states)
    assert levels.size <= 2 ** bits
    same(levels, quantize_between(levels, bits, -1.0, 1.0))
    model.fit(u[:200])
    run = model.forecast(u[:200], 30)
    assert np.unique(run.states).size <= 2 ** bits


def test_state_bits_in_frozen_rhythmic_phases():
    model = small_rhythmic(hardware=HardwareModel(state_bits=3))
    u = sine(400)
    model.fit(u[:300])
    run = model.forecast(u[:300], 30, steering="sweep", n_free=100, n_candidates=4, n_settle=20, window=30)
    assert np.unique(run.states).size <= 8


@pytest.mark.parametrize("bits", [2, 4])
def test_readout_weights_take_at_most_2_to_the_b_values(bits):
    model = ESN(60, washout=20, seed=[0, 1], hardware=HardwareModel(readout_bits=bits))
    plain = ESN(60, washout=20, seed=[0, 1])
    u = sine(300)
    model.fit(u)
    plain.fit(u)
    for b in range(2):
        coef, ref = model.readout_.coef_[b], plain.readout_.coef_[b]
        assert np.unique(coef).size <= 2 ** bits
        assert np.abs(coef).max() == pytest.approx(np.abs(ref).max())
        c = np.abs(ref).max()
        same(coef, quantize_between(ref, bits, -c, c))   # the one quantizer, bit for bit
    same(ReservoirEffects(readout_bits=3).readout(np.zeros((1, 3, 2))), np.zeros((1, 3, 2)))
    # a readout used on its own takes bits=, the same part
    states, targets = np.random.default_rng(0).normal(size=(50, 2, 6)), np.random.default_rng(1).normal(size=(50, 2, 1))
    same(RidgeReadout(bits=bits).fit(states, targets).coef_,
         RidgeReadout(hardware=HardwareModel(readout_bits=bits)).fit(states, targets).coef_)
    with pytest.raises(ValueError, match="give one"):
        RidgeReadout(bits=3, hardware=HardwareModel(readout_bits=4))


def test_modulation_noise_has_the_configured_relative_std():
    sigma = 0.2
    model = RhythmicSharing(300, degree=20, astro_degree=10, seed=[0, 1], n_inputs=3,
                            hardware=HardwareModel(modulation_noise=sigma))
    m = np.concatenate(model.m_links_)
    assert m.size == 2 * model.n_links == 12000
    rel = m / model.m - 1
    assert abs(rel.std() / sigma - 1) < 0.03 and abs(rel.mean()) < 0.01
    # the link strengths follow: A o M = w (1 - m_k/2) - w (m_k/2) sin phi
    plan = model._plan(2)
    w0 = np.concatenate([model.W_[0].data, model.W_[1].data])
    np.testing.assert_allclose(plan.wB, w0 * m / 2)
    again = RhythmicSharing(300, degree=20, astro_degree=10, seed=[0, 1],
                            hardware=HardwareModel(modulation_noise=sigma))
    same(np.concatenate(again.m_links_), m)


def test_modulation_noise_changes_the_run_but_not_the_ideal_parts():
    u = sine(200)
    a = small_rhythmic().run(u)
    b = small_rhythmic(hardware=HardwareModel(modulation_noise=0.3)).run(u)
    assert not np.array_equal(a.states, b.states)


@pytest.mark.parametrize("sigma", [0.05, 0.3])
def test_phase_noise_is_diffusive_with_std_sigma(sigma):
    """eps1 = eps2 = 0, omega = 0: the Kuramoto update is zero, so each step's
    phase change is the noise alone, std sigma, independent across steps."""
    model = RhythmicSharing(100, degree=10, astro_degree=10, omega=0.0, eps1=0.0, eps2=0.0, seed=[0, 1],
                            n_inputs=3, hardware=HardwareModel(phase_noise=sigma))
    plan = model._plan(2)
    plan.set_mode("free")
    plan.set_phases(model.phases0_)
    drive = plan.drive(model._batch_input(sine(100))[0])
    x, prev, steps = np.zeros(plan.width), plan.phi.copy(), []
    for t in range(100):
        nxt = np.empty(plan.width)
        plan.step(x, drive[t], nxt, t)
        x = nxt
        steps.append(plan.phi - prev)
        prev = plan.phi.copy()
    steps = np.array(steps)                  # (100, 2 * 1000): 200 000 increments
    assert abs(steps.std() / sigma - 1) < 0.02 and abs(steps.mean()) < 0.01 * sigma
    lag1 = np.mean(steps[1:] * steps[:-1]) / steps.var()
    assert abs(lag1) < 0.02
    # the phases diffuse: after T steps the displacement has std sigma sqrt(T)
    total = steps.sum(axis=0)
    assert abs(total.std() / (sigma * 10) - 1) < 0.1


def test_phase_noise_jitters_frozen_phases_without_moving_them():
    sigma = 0.2
    model = small_rhythmic(hardware=HardwareModel(phase_noise=sigma))
    u = sine(400)
    model.fit(u[:300])
    kw = dict(steering="sweep", n_free=100, n_candidates=4, n_settle=20, window=30)
    run = model.forecast(u[:300], 50, **kw)
    # frozen phases stay where steering left them; the modulation sees jitter, so R fluctuates
    assert np.ptp(run.order_R) > 0
    same(run.final_state.phases, model.forecast(u[:300], 50, **kw).final_state.phases)
    quiet = small_rhythmic()
    quiet.fit(u[:300])
    assert np.ptp(quiet.forecast(u[:300], 50, **kw).order_R) < 1e-12


def test_same_seed_same_numbers_under_hardware():
    hw = HardwareModel(weight_bits=5, weight_clip=1.0, programming_noise=0.05, state_bits=6,
                       modulation_noise=0.1, phase_noise=0.05, readout_bits=6)
    u = sine(400)
    runs = []
    for _ in range(2):
        model = small_rhythmic(hardware=hw, seed=[0, 1])
        model.fit(u[:300])
        runs.append((model.run(u), model.forecast(u[:300], 40), model.forecast(u[:300], 40)))
    (a, fa, fa2), (b, fb, _) = runs
    same(a.states, b.states)
    same(a.order_R, b.order_R)
    same(fa.prediction, fb.prediction)
    same(fa.prediction, fa2.prediction)       # a second call on the same model repeats the draws
    # a seed batch equals the seeds run alone (each column has its own stream)
    alone = small_rhythmic(hardware=hw, seed=1).run(u)
    same(a.states[:, 1], alone.states)
    np.testing.assert_allclose(a.order_R[:, 1], alone.order_R, rtol=0, atol=1e-12)  # sums: rounding
    other = small_rhythmic(hardware=hw, seed=[2, 1]).run(u)
    assert not np.array_equal(other.order_R[:, 0], a.order_R[:, 0])


def test_preset_names_and_bad_inputs():
    with pytest.raises(ValueError, match=r"hardware must be one of \(None, 'ideal'.*or an instance of "
                                         r"HardwareModel, got 'nonsense'"):
        ESN(20, hardware="nonsense")
    with pytest.raises(ValueError, match=r"hardware must be one of \(None, 'ideal'.*got 'nonsense'"):
        RhythmicSharing(20, degree=4, astro_degree=5, hardware="nonsense")
    with pytest.raises(ValueError, match=r"hardware must be one of \(None, .*got 3"):
        ESN(20, hardware=3)
    with pytest.raises(ValueError, match="state_bits"):
        HardwareModel(state_bits=0)
    with pytest.raises(ValueError, match="phase_noise"):
        HardwareModel(phase_noise=-0.1)
    model = ESN(40, seed=0, hardware="rram")   # a preset runs
    assert np.isfinite(model.run(inputs(50)).states).all()


def test_a_matrix_is_written_as_an_mlp_device_writes_and_holds_its_weights():
    """The reservoir's one-time write calls the MLP device's hooks (program, setup, hold) on the
    same part: with the device stream of the same seed and the matrix's own range, the numbers
    are those of a one-chip Device whose cells were written once (stuck cells drawn after the write)."""
    hw = HardwareModel(weight_bits=4, weight_clip=1.0, stochastic_rounding=True, programming_noise=0.05,
                       programming_noise_type="additive", drift_nu=0.05, drift_time=10.0, stuck_at_zero=0.1)
    w = np.random.default_rng(3).uniform(-0.8, 0.8, size=40)
    written = hw.write_once(w, backend._device_stream(7, "recurrent", (0,)), 0.8)
    device = Device(hw.replace(weight_clip=0.8, stuck_at_zero=0.0), MLP([39, 1]), seed=0)
    device.gens[0] = device.chips.gens[0] = backend._device_stream(7, "recurrent", (0,))
    held = device.read(device.program(w))          # no stuck cells drawn before the write
    stuck = written == 0
    assert 0 < stuck.sum() < 12
    same(written[~stuck], held[~stuck])
