"""Smart perturbation directions (node, activity, astrocyte) against backprop gradients."""

import numpy as np
import pytest

from astrocore import backend, datasets, metrics, mgd
from astrocore.hardware import HardwareModel
from astrocore.nets import MLP


def _mean_estimate(model, theta, X, Y, draws, K=64, amplitude=1e-5, **kwargs):
    return np.mean([mgd.estimate_gradient(model, theta, X, Y, n_perturbations=K, amplitude=amplitude, seed=s,
                                          **kwargs) for s in range(draws)], axis=0)


def _rel_err(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# -- unbiasedness --------------------------------------------------------------------
@pytest.mark.parametrize("options", [{}, {"layerwise": True}, {"per_sample": False}])
def test_node_perturbation_is_unbiased(problem, options):
    model, theta, X, Y, g = problem
    mean = _mean_estimate(model, theta, X, Y, 200, direction=mgd.Node(**options))
    assert metrics.cosine(mean, g) > 0.99
    assert _rel_err(mean, g) < 0.15  # the scale too, not only the direction


@pytest.mark.parametrize("amplitude", [1e-6, 1e-3])
def test_node_errors_are_scaled_by_one_over_the_amplitude(problem, amplitude):
    """e = C~ s / sigma estimates dC/dz whatever the amplitude (C~ s / sigma^2 would not)."""
    model, theta, X, Y, g = problem
    mean = _mean_estimate(model, theta, X, Y, 50, amplitude=amplitude, direction="node")
    assert np.linalg.norm(mean) / np.linalg.norm(g) == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("options", [{}, {"mix": 0.3}, {"mix": 1.0}, {"layerwise": True, "mix": 0.5}])
def test_activity_perturbation_is_unbiased(problem, options):
    model, theta, X, Y, g = problem
    mean = _mean_estimate(model, theta, X, Y, 200, direction=mgd.Activity(**options))
    assert metrics.cosine(mean, g) > 0.99
    assert _rel_err(mean, g) < 0.15


def test_mixing_in_bernoulli_perturbations_keeps_the_activity_estimate_good(problem):
    """The projection onto the activity subspace keeps every mix about as good as mix = 0,
    and far better than code mode with as many perturbations."""
    model, theta, X, Y, g = problem

    def single(**kw):
        return np.mean([float(metrics.cosine(mgd.estimate_gradient(model, theta, X, Y, n_perturbations=8,
                                                                   amplitude=1e-5, seed=s, **kw), g))
                        for s in range(100)])
    pure, mixed, code = (single(direction="activity"), single(direction=mgd.Activity(mix=0.5)),
                         single(direction="code"))
    assert abs(mixed - pure) < 0.1 and mixed > code + 0.1


@pytest.mark.parametrize("mix", [0.0, 0.5, 1.0])
def test_activity_estimates_live_in_the_rank_one_subspace_of_local_activity(problem, mix):
    """One sample and one draw: each layer's weight estimate is rank one with columns along
    the presynaptic activity a~ = [a, 1], whatever the share of Bernoulli perturbations."""
    model, theta, X, Y, _ = problem
    est = mgd.estimate_gradient(model, theta, X[:1], Y[:1], direction=mgd.Activity(mix=mix), n_perturbations=1,
                                amplitude=1e-5, seed=3)
    hidden = model.forward(theta, X[:1], return_hidden=True)
    for (w, b, n_in, n_out), a in zip(model.layer_slices(), hidden[:-1]):
        block = np.vstack([est[w].reshape(n_in, n_out), est[b]])
        assert np.linalg.matrix_rank(block, tol=1e-9 * np.abs(block).max()) == 1
        a_tilde = np.append(a[0], 1.0)
        column = block[:, np.argmax(np.abs(block).sum(axis=0))]
        assert abs(metrics.cosine(column, a_tilde)) == pytest.approx(1.0, abs=1e-9)


# -- astrocyte: biased, but a descent direction ----------------------------------------
def test_astrocyte_estimate_is_the_gradient_preconditioned_by_the_sign_second_moment():
    """One layer: E[G_W] = sum_b a~_b (K delta_b)^T with K = (1 - q^2) I + q^2 sgn(d) sgn(d)^T."""
    model = MLP([4, 3], loss="cross_entropy", seed=1)
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(6, 4)), np.eye(3)[rng.integers(0, 3, 6)]
    theta = model.init_params()
    trace, guide = np.array([0.3, -1.0, 0.2]), 0.8
    delta = model.output_error(model.forward(theta, X), Y) / len(X)
    q = np.sign(trace)
    K = (1 - guide**2) * np.eye(3) + guide**2 * np.outer(q, q)
    expected = np.vstack([np.hstack([X, np.ones((6, 1))]).T @ (delta @ K)])  # (n_in + 1, n_out)
    expected = np.concatenate([expected[:-1].ravel(), expected[-1]])
    mean = _mean_estimate(model, theta, X, Y, 100, direction=mgd.Astrocyte(guide=guide, error_trace=trace))
    g = model.gradient(theta, X, Y)
    assert metrics.cosine(mean, expected) > 0.99 and _rel_err(mean, expected) < 0.1
    assert metrics.cosine(expected, g) < 0.99  # the bias is real


@pytest.mark.parametrize("trace_seed", [0, 1, 2])
@pytest.mark.parametrize("options", [{"guide": 0.9}, {"guide": 0.6, "layerwise": True}])
def test_astrocyte_direction_descends_on_average_for_any_error_trace(problem, trace_seed, options):
    model, theta, X, Y, g = problem
    trace = np.random.default_rng(trace_seed).normal(size=sum(model.sizes[1:]))
    mean = _mean_estimate(model, theta, X, Y, 60, direction=mgd.Astrocyte(error_trace=trace, **options))
    assert float(metrics.cosine(mean, g)) > 0.2


def test_astrocyte_without_a_trace_is_unbiased(problem):
    model, theta, X, Y, g = problem
    mean = _mean_estimate(model, theta, X, Y, 200, direction="astrocyte")
    assert metrics.cosine(mean, g) > 0.99


def test_astrocyte_training_keeps_descending(digits):
    """Every recorded window's update has a positive cosine to backprop's, and the cost falls."""
    model = MLP([64, 16, 10], activation="tanh", loss="cross_entropy")
    ds = mgd.train(model, digits, direction=mgd.Astrocyte(guide=0.9, tau_d=3), eta=3e-3, amplitude=1e-2, steps=1000,
                   tau_theta=10, tau_x=10, optimizer="adam", seed=[0, 1], batch_size=32, grad_cosine=True,
                   eval_every=100)
    assert float(ds.grad_cosine.isel(step=slice(1, None)).min()) > 0
    assert (ds.cost.isel(step=-1) < 0.9 * ds.cost.isel(step=0)).all()
    assert ds.attrs["guide"] == 0.9 and ds.attrs["tau_d"] == 3.0


# -- trainer ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    return datasets.digits()


def test_node_perturbation_beats_code_mode_at_equal_cost_evaluations(digits):
    model = MLP([64, 16, 10], activation="tanh", loss="cross_entropy")
    kw = dict(eta=3e-3, amplitude=1e-2, tau_theta=10, tau_x=10, batch_size=32, steps=3000, optimizer="adam",
              seed=[0, 1], eval_every=3000)
    code = mgd.train(model, digits, direction="code", **kw)
    node = mgd.train(model, digits, direction="node", **kw)
    np.testing.assert_array_equal(code.cost_evaluations.values, node.cost_evaluations.values)
    assert int(node.cost_evaluations[-1]) == 300 * 11  # 300 windows: C0 plus 10 perturbed passes each
    assert float(node.test_accuracy.isel(step=-1).min()) > float(code.test_accuracy.isel(step=-1).max()) + 0.1


def test_node_window_equals_the_step_by_step_algorithm():
    """Held perturbations (tau_p = 2) and inputs (tau_x = 3) in windows of 5 steps give the
    numbers of a step-by-step loop with one hand-written perturbed forward pass per step."""
    data = datasets.parity(3)
    model = MLP([3, 3, 1], activation="sigmoid", loss="mse", seed=0)
    ds = mgd.train(model, data, direction="node", eta=0.7, amplitude=0.05, tau_p=2, tau_x=3, tau_theta=5, batch_size=2,
                   steps=40, seed=9, optimizer="sgd", eval_every=40)
    np.testing.assert_allclose(ds.theta.sel(seed=9).values, _node_reference(model, data), rtol=1e-10)


def _node_reference(model, data):
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))
    gen = backend.stream(9, "perturbations")
    theta = model.init_params(seed=9)
    stream = mgd.MinibatchStream(data.n_train, 2, [backend.stream(9, "minibatches")])
    M, N = 4, model.n_params
    sigma = 0.05 / np.sqrt(M)
    cached, p_next = None, 0

    def forward(theta, x, s=None):
        hs, h = [x], x
        for index, (W, b) in enumerate(model.layers(theta)):
            z = h @ W + b
            if s is not None:
                z = z + sigma * s[:, [0, 1, 2]] if index == 0 else z + sigma * s[:, [3]]
            h = sig(z)
            hs.append(h)
        return hs

    for t0 in range(0, 40, 5):
        t = np.arange(t0, t0 + 5)
        p, x = t // 2, t // 3
        rows = stream.indices(x[0], x[-1] - x[0] + 1)[0]
        count = p[-1] - p_next + 1
        fresh = mgd.random_signs(gen, (count, 2, M), "float64") if count > 0 else np.empty((0, 2, M))
        block = np.concatenate([cached, fresh]) if p[0] < p_next else fresh
        p_next, cached = p[-1] + 1, block[-1:]
        G = np.zeros(N)
        for step in range(5):
            xb, yb = data.x_train[rows[x[step] - x[0]]], data.y_train[rows[x[step] - x[0]]]
            s = block[p[step] - p[0]]
            clean = forward(theta, xb)
            loss0 = 0.5 * np.sum((clean[-1] - yb) ** 2, axis=1)
            loss = 0.5 * np.sum((forward(theta, xb, s)[-1] - yb) ** 2, axis=1)
            c = (loss - loss0) / 2
            errors = [c[:, None] * s[:, :3] / sigma, c[:, None] * s[:, 3:] / sigma]
            for (w, b, _, _), a, e in zip(model.layer_slices(), clean[:-1], errors):
                G[w] += (a.T @ e).ravel()
                G[b] += e.sum(axis=0)
        theta = theta - 0.7 * G / N
    return theta


@pytest.mark.parametrize("direction", [mgd.Node(layerwise=True), mgd.Activity(mix=0.5), mgd.Astrocyte()])
def test_same_seed_same_numbers_and_seeds_are_independent(xor, direction):
    data, model = xor
    kw = dict(direction=direction, eta=1.0, amplitude=0.05, steps=300, tau_theta=3, tau_x=2, batch_size=2,
              optimizer="sgd", eval_every=100)
    both = mgd.train(model, data, seed=[4, 7], **kw)
    again = mgd.train(model, data, seed=[4, 7], **kw)
    alone = mgd.train(model, data, seed=7, **kw)
    np.testing.assert_array_equal(both.theta.values, again.theta.values)
    np.testing.assert_array_equal(both.theta.sel(seed=7).values, alone.theta.sel(seed=7).values)


def test_the_devices_cost_noise_reaches_the_per_sample_costs(xor):
    data, model = xor
    kw = dict(direction="node", eta=1.0, amplitude=0.05, steps=200, seed=0, batch_size=None, optimizer="sgd")
    clean = mgd.train(model, data, **kw)
    noisy = mgd.train(model, data, hardware=HardwareModel(cost_noise=1e-3), **kw)
    again = mgd.train(model, data, hardware=HardwareModel(cost_noise=1e-3), **kw)
    assert not np.array_equal(clean.theta.values, noisy.theta.values)
    np.testing.assert_array_equal(noisy.theta.values, again.theta.values)


def test_analog_mode_without_highpass_trains(xor):
    data, model = xor
    ds = mgd.train(model, data, direction="node", eta=5.0, amplitude=0.05, steps=3000, seed=0, analog=True,
                   highpass=False, tau_theta=5, batch_size=None, optimizer="sgd")
    assert float(ds.cost.isel(step=-1, seed=0)) < 0.5 * float(ds.cost.isel(step=0, seed=0))


# -- parameters: each direction checks its own options ---------------------------------------------
@pytest.mark.parametrize("make, message", [
    (lambda: mgd.Node(layerwise=1), r"layerwise must be a bool \(True or False\), got 1"),
    (lambda: mgd.Node(per_sample="yes"), r"per_sample must be a bool \(True or False\), got 'yes'"),
    (lambda: mgd.Activity(mix=1.5), r"mix must be a real number in \[0, 1\], got 1.5"),
    (lambda: mgd.Activity(mix=float("nan")), r"mix must be a real number in \[0, 1\], got nan"),
    (lambda: mgd.Activity(mix=True), r"mix must be a real number in \[0, 1\], got True"),
    (lambda: mgd.Activity(mix=-0.1), r"mix must be a real number in \[0, 1\], got -0.1"),
    (lambda: mgd.Astrocyte(guide=1.0), r"guide must be a real number in \[0, 1\), got 1.0"),
    (lambda: mgd.Astrocyte(guide=-0.1), r"guide must be a real number in \[0, 1\), got -0.1"),
    (lambda: mgd.Astrocyte(tau_d=0.5), "tau_d must be a finite real number >= 1, got 0.5"),
    (lambda: mgd.Astrocyte(tau_d=float("inf")), "tau_d must be a finite real number >= 1, got inf"),
    (lambda: mgd.Astrocyte(error_trace=np.full(8, np.nan)), r"error_trace must be finite, got nan at index \(0,\)"),
    (lambda: mgd.Weight("node"), "mode must be one of"),
])
def test_bad_direction_options_are_rejected_when_made(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("make", [lambda: mgd.Node(mix=0.5), lambda: mgd.Activity(per_sample=False),
                                  lambda: mgd.Astrocyte(mix=0.1), lambda: mgd.Weight(layerwise=True)])
def test_an_option_of_another_direction_is_a_type_error(make):
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        make()


@pytest.mark.parametrize("kwargs, message", [
    ({"direction": "node", "analog": True}, "highpass applies to weight perturbation .* pass highpass=False"),
    ({"direction": mgd.Activity(), "highpass": True}, "highpass applies to weight perturbation"),
    ({"direction": "nodes"}, "direction must be a Direction"),
])
def test_bad_smart_settings_are_rejected(xor, kwargs, message):
    data, model = xor
    with pytest.raises(ValueError, match=message):
        mgd.train(model, data, **{"steps": 10, **kwargs})


def test_the_error_trace_must_fit_the_network(problem):
    model, theta, X, Y, _ = problem
    with pytest.raises(ValueError, match=r"error_trace must have shape \(8,?\) \(one value per non-input unit\), "
                                         r"got \(3,\)"):
        mgd.estimate_gradient(model, theta, X, Y, direction=mgd.Astrocyte(error_trace=np.zeros(3)))


def test_smart_directions_are_not_parameter_perturbation_generators():
    with pytest.raises(ValueError, match="mode must be one of .*parameter perturbations.*'node'"):
        mgd.make_perturbations("node", 10, 0.1, [np.random.default_rng(0)], "float64")


def test_a_direction_keeps_its_options_and_each_run_its_own_state(problem):
    """Options are the constructor's; init gives each run a fresh copy holding the state (the trace)."""
    model, theta, X, Y, _ = problem
    direction = mgd.Astrocyte(guide=0.4, tau_d=2.0)
    assert direction.attrs() == {"layerwise": False, "guide": 0.4, "tau_d": 2.0}
    assert repr(direction) == "Astrocyte(layerwise=False, guide=0.4, tau_d=2.0)"
    first = mgd.estimate_gradient(model, theta, X, Y, direction=direction, n_perturbations=8, seed=1)
    np.testing.assert_array_equal(first, mgd.estimate_gradient(model, theta, X, Y, direction=direction,
                                                               n_perturbations=8, seed=1))
    bound = direction.init(model, 1e-3, [np.random.default_rng(0)])
    assert bound is not direction and not hasattr(direction, "trace") and bound.trace.shape == (1, 8)
    assert mgd.as_direction("node") is mgd.as_direction("node") and mgd.as_direction("walsh").mode == "walsh"


def test_a_new_direction_is_one_class(problem):
    """A node-perturbation rule with its own sign law: one subclass, registered once, usable by name."""
    model, theta, X, Y, g = problem

    class Antithetic(mgd.Node):
        """Node perturbation whose signs come in +/- pairs over consecutive draws (antithetic sampling)."""

        def _signs(self, s, gen, shape):
            half = mgd.random_signs(gen, ((shape[0] + 1) // 2, *shape[1:]), self.model.dtype)
            return np.concatenate([half, -half])[:shape[0]]

    try:
        mgd.register("antithetic")(Antithetic)
        mean = _mean_estimate(model, theta, X, Y, 100, direction="antithetic")
        assert metrics.cosine(mean, g) > 0.99
        run = mgd.train(model, datasets.TaskData("p", X, Y, X, Y, {}), direction="antithetic", steps=20,
                        tau_theta=4, batch_size=None, eval_every=20)
        assert run.attrs["direction"] == "antithetic"
    finally:
        mgd.directions.REGISTRY.pop("antithetic", None)
        mgd.directions._NAMED.pop("antithetic", None)
