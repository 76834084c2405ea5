"""The fused Rhythmic Sharing step (astrocore.reservoir._fused) against its NumPy reference.

The compiled loop and the NumPy path differ in the last bits (a polynomial
sin/cos, libm's tanh, sums split over partial sums), so they are compared
over a few steps only (a chaotic run separates the two over many steps), to
1e-12; and against the loop-based reference of tests/test_reservoir.py, which
implements the equations one link at a time.
"""

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

from astrocore import jit
from astrocore.reservoir import RhythmicSharing, _fused
from test_reservoir import inputs, rhythmic_reference

needs_numba = pytest.mark.skipif(jit.numba is None, reason="numba not installed")

CASES = [
    {"astro_graph": "links"},
    {"astro_graph": "domains"},
    {"astro_graph": "links", "leak": 0.3, "gamma": 0.7, "bias": 0.1},
    {"astro_graph": "domains", "leak": 0.2, "gamma": -1.1, "link_activation": "pre"},
    {"astro_graph": "domains", "omega": "array", "link_activation": "post", "m": 1.0},
    {"astro_graph": "links", "omega": "array", "self_loops": False},
]


def model_for(kwargs, seed=3):
    kwargs = dict(kwargs)
    if kwargs.get("omega") == "array":
        kwargs["omega"] = np.random.default_rng(1).uniform(-0.05, 0.1, round(4 * 30))
    return RhythmicSharing(30, degree=4, astro_degree=10, seed=seed, **kwargs)


def run_both(model, u, monkeypatch):
    fused = model.run(u)
    monkeypatch.setenv("ASTROCORE_JIT", "0")
    ref = model.run(u)
    monkeypatch.delenv("ASTROCORE_JIT")
    return fused, ref


def assert_close(a, b, tol=1e-12):
    np.testing.assert_allclose(a.states, b.states, rtol=0, atol=tol)
    np.testing.assert_allclose(a.order_R, b.order_R, rtol=0, atol=tol)
    np.testing.assert_allclose(np.angle(np.exp(1j * (a.mean_phase - b.mean_phase))), 0, atol=tol)
    np.testing.assert_allclose(a.final_state.phases, b.final_state.phases, rtol=1e-12, atol=tol)


@needs_numba
@pytest.mark.parametrize("kwargs", CASES)
def test_fused_equals_numpy_over_a_few_steps(kwargs, monkeypatch):
    model = model_for(kwargs)
    fused, ref = run_both(model, inputs(12, seed=2), monkeypatch)
    assert _fused.free_steps.available()
    assert_close(fused, ref)


@needs_numba
@pytest.mark.parametrize("graph", ["links", "domains"])
def test_fused_batches_shared_and_per_seed(graph, monkeypatch):
    shared = model_for({"astro_graph": graph, "gamma": 0.3, "leak": 0.1})
    fused, ref = run_both(shared, inputs(12, batch=3, seed=4), monkeypatch)
    assert_close(fused, ref)
    seeds = RhythmicSharing(30, degree=4, astro_degree=10, seed=[2, 5, 7], astro_graph=graph, gamma=0.3)
    fused, ref = run_both(seeds, inputs(12, seed=4), monkeypatch)
    assert_close(fused, ref)
    assert not np.allclose(fused.states[:, 0], fused.states[:, 1])   # the columns are distinct reservoirs


@needs_numba
def test_kernel_reference_and_uncompiled_loop_agree_on_the_same_inputs():
    """The compiled loop, the loop run by Python and the NumPy reference, on one plan's arrays;
    control mode (gain, shift) and recorded order sums included."""
    model = model_for({"astro_graph": "domains", "gamma": 0.5, "leak": 0.25, "n_inputs": 3}, seed=4)
    plan = model._plan(2)
    plan.set_phases(np.stack([model.phases0_[0], model.phases0_[0] + 1.0]))
    rng = np.random.default_rng(0)
    steps, n = 3, plan.width_links
    drive, prev = rng.normal(size=(steps, plan.width)), rng.uniform(-0.9, 0.9, plan.width)
    gain, shift = rng.uniform(0.5, 1.5, n), rng.uniform(-0.01, 0.01, n)
    outs = []
    for func in (_fused.free_steps, _fused.free_steps.py_func, _fused.free_steps.reference):
        phi, tgt, osum = plan.phi.copy(), np.empty((steps, plan.width)), np.zeros((steps, 4))
        last = func(drive.copy(), tgt, prev.copy(), 0, osum, phi, plan.omega, gain, shift, *plan._step_args())
        assert last is tgt[-1] or np.array_equal(last, tgt[-1])
        outs.append((tgt, osum, phi))
    for other in outs[1:]:
        for a, b in zip(outs[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_jit_off_runs_the_numpy_path(monkeypatch):
    monkeypatch.setenv("ASTROCORE_JIT", "0")
    assert not _fused.free_steps.available()
    model = RhythmicSharing(12, degree=3, astro_degree=5, seed=3)
    u = inputs(30)
    run = model.run(u)
    states, order_r, _, _ = rhythmic_reference(model, u)
    np.testing.assert_allclose(run.states, states, rtol=0, atol=1e-12)
    np.testing.assert_allclose(run.order_R, order_r, rtol=0, atol=1e-12)


@needs_numba
def test_polynomial_sincos_to_an_ulp():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-10, 10, 20_000), rng.uniform(-1e6, 1e6, 20_000),
                        np.arange(-40, 41) * np.pi / 4, [0.0, -0.0, 1e-300, 2e6, -3e7, 1e12]])
    s, c = np.empty_like(x), np.empty_like(x)
    _fused.sincos_poly(x, s, c)
    np.testing.assert_allclose(s, np.sin(x), rtol=0, atol=3e-16)
    np.testing.assert_allclose(c, np.cos(x), rtol=0, atol=3e-16)


@needs_numba
def test_hardware_hooks_keep_the_numpy_path(monkeypatch):
    """Phase noise and state rounding act between steps: such a plan runs the NumPy reference,
    which gives the same numbers with the JIT on or off."""
    from astrocore.hardware import model_from

    hw = model_from({"phase_noise": 0.05, "state_bits": 8})
    model = RhythmicSharing(20, degree=3, astro_degree=5, seed=1, hardware=hw)
    u = inputs(20)
    a = model.run(u)
    monkeypatch.setenv("ASTROCORE_JIT", "0")
    b = model.run(u)
    np.testing.assert_array_equal(a.states, b.states)


@needs_numba
def test_incidence_rows_beyond_two_entries_take_the_numpy_path(monkeypatch):
    """The fused loop reads one or two incidence entries per link: a plan whose incidence has a
    row with three entries runs the NumPy reference (same numbers with the JIT on or off), where
    the compiled loop, called directly on its arrays, would drop the third entry."""
    import scipy.sparse as sp

    model = model_for({"astro_graph": "links", "gamma": 0.3}, seed=5)
    inc = model.incidence_[0].tolil()
    row = inc.rows[0]
    inc[0, next(j for j in range(inc.shape[1]) if j not in row)] = 0.25   # a third node on link 0
    model.incidence_[0] = sp.csr_matrix(inc)
    assert np.diff(model.incidence_[0].indptr).max() == 3
    u = inputs(12, seed=2)
    fused, ref = run_both(model, u, monkeypatch)
    assert _fused.free_steps.available()
    np.testing.assert_array_equal(fused.states, ref.states)
    np.testing.assert_array_equal(fused.final_state.phases, ref.final_state.phases)
    plan = model._plan(1)
    assert not plan._fusable
    # the guard matters: the compiled loop itself ignores the third entry
    plan.set_phases(model.phases0_[0])
    rng = np.random.default_rng(0)
    drive, prev = rng.normal(size=(3, plan.width)), rng.uniform(-0.9, 0.9, plan.width)
    outs = []
    for func in (_fused.free_steps, _fused.free_steps.reference):
        phi, tgt = plan.phi.copy(), np.empty((3, plan.width))
        func(drive.copy(), tgt, prev.copy(), 0, plan._no_records, phi, plan.omega, plan._no_control,
             plan._no_control, *plan._step_args())
        outs.append(phi)
    assert np.abs(outs[0] - outs[1]).max() > 1e-9


@given(st.lists(st.integers(0, 4), min_size=0, max_size=12), st.integers(0, 2**32 - 1))
def test_two_per_row_is_the_largest_row_count_at_most_two(counts, seed):
    """``two_per_row`` against the definition: every row of the matrix, counted one by one."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    dense = np.zeros((len(counts), 5))
    for i, k in enumerate(counts):
        dense[i, rng.choice(5, size=k, replace=False)] = rng.uniform(0.5, 1.5, size=k)
    mat = sp.csr_matrix(dense)
    rows = [np.count_nonzero(dense[i]) for i in range(len(counts))]
    assert _fused.two_per_row(mat.indptr) == all(k <= 2 for k in rows)
    pairs = _fused.row_pairs((mat.indptr, mat.indices, mat.data))
    if _fused.two_per_row(mat.indptr):   # then the pairs are the rows exactly
        y = rng.normal(size=5)
        j0, j1, w0, w1 = pairs
        np.testing.assert_allclose((0.0 + w0 * y[j0.astype(int)]) + w1 * y[j1.astype(int)], dense @ y,
                                   rtol=0, atol=1e-12)
