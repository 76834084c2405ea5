"""The CuPy path on the CPU: the kernels run through a strict stand-in for CuPy (tests/strict_cupy.py)
that refuses every implicit mix of host and device arrays, and agree with the NumPy path.

On a machine with CuPy and a GPU the same tests run on the real CuPy too (``python -m astrocore.bench gpu``
runs them there); here the stand-in checks where arrays live, the NumPy comparison checks the numbers.
"""

import importlib.util

import numpy as np
import pytest
import strict_cupy

from astrocore import backend, mgd
from astrocore.nets import MLP
from astrocore.reservoir import ESN, RhythmicSharing


def _real_cupy_ready() -> bool:
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy  # noqa: PLC0415

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - no driver, no device
        return False


@pytest.fixture(params=["strict", pytest.param("cupy", marks=pytest.mark.skipif(
    not _real_cupy_ready(), reason="no CuPy with a GPU here (the strict stand-in runs instead)"))])
def device(request, monkeypatch):
    """The CuPy backend, on the strict stand-in or on the real CuPy; restored afterwards."""
    if request.param == "strict":
        stand_in = strict_cupy.install(monkeypatch)
    previous = backend.get_backend()
    backend.set_backend("cupy")
    if request.param == "strict":
        assert backend.xp() is stand_in
    made = strict_cupy.DeviceArray.created
    yield request.param
    backend.set_backend(previous)
    if request.param == "strict":
        assert strict_cupy.DeviceArray.created > made + 10, "the test did not run on the (stand-in) device"


def _on_numpy(fn):
    with backend.use_backend("numpy"):
        return fn()


def test_the_stand_in_refuses_what_cupy_refuses(monkeypatch):
    cp = strict_cupy.install(monkeypatch)
    d = cp.asarray(np.arange(3.0))
    with pytest.raises(strict_cupy.HostDeviceMixError, match="implicit conversion"):
        np.asarray(d)
    with pytest.raises(strict_cupy.HostDeviceMixError, match="host"):
        d + np.ones(3)
    with pytest.raises(strict_cupy.HostDeviceMixError, match="host"):
        cp.concatenate([d, np.ones(3)])
    with pytest.raises(strict_cupy.HostDeviceMixError, match="host"):
        d[:] = np.ones(3)
    np.testing.assert_array_equal((d * 2 + 1).get(), [1.0, 3.0, 5.0])
    assert float(d.sum()) == 3.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mlp_loss_on_the_device_equals_numpy(device, dtype):
    model = MLP([6, 5, 3], activation="tanh", loss="cross_entropy", dtype=dtype, seed=0)
    theta, X = _on_numpy(model.init_params), np.random.default_rng(1).random((8, 6)).astype(dtype)
    Y = np.eye(3, dtype=dtype)[np.random.default_rng(2).integers(0, 3, 8)]
    expected = _on_numpy(lambda: model.loss(theta, X, Y))
    xp = backend.xp()
    got = model.loss(xp.asarray(theta), xp.asarray(X), xp.asarray(Y))
    np.testing.assert_allclose(backend.to_host(got), expected, rtol=1e-5 if dtype == "float32" else 1e-12)


@pytest.mark.parametrize("direction", ["code", "time", "walsh", "node"])
def test_mgd_gradient_estimate_runs_on_the_device(device, direction):
    """Every multiplexing on the device; the time mode's full cycle is exact, so it matches NumPy's estimate
    (the device draws its perturbations from its own generator, so the random modes differ in their draws)."""
    model = MLP([4, 3, 2], activation="tanh", loss="mse", dtype="float64", seed=0)
    theta = _on_numpy(model.init_params)
    X = np.random.default_rng(1).random((5, 4))
    Y = np.random.default_rng(2).random((5, 2))
    K = model.n_params if direction == "time" else 16
    xp = backend.xp()
    g = mgd.estimate_gradient(model, xp.asarray(theta), xp.asarray(X), xp.asarray(Y), direction=direction,
                              n_perturbations=K, amplitude=1e-6, seed=3)
    g = backend.to_host(g)
    assert g.shape == theta.shape and np.all(np.isfinite(g))
    if direction == "time":
        expected = _on_numpy(lambda: mgd.estimate_gradient(model, theta, X, Y, direction="time",
                                                           n_perturbations=K, amplitude=1e-6, seed=3))
        np.testing.assert_allclose(g, expected, rtol=1e-6, atol=1e-9)


def test_mgd_training_on_the_device_learns_parity(device, xor):
    """Two seeds in lockstep, checkpoints included, on the device: parity is learned as on NumPy
    (where both seeds reach cost 0.000 from 0.13 in these 2000 steps)."""
    data, model = xor
    ds = mgd.train(model, data, direction="code", eta=1.0, amplitude=0.05, steps=2000, seed=[0, 2],
                   eval_every=500)
    cost = ds.cost.values
    assert np.all(np.isfinite(cost)) and np.all(cost[:, -1] < 0.1 * cost[:, 0])


@pytest.mark.parametrize("model_cls, options", [
    (ESN, {}),
    (RhythmicSharing, {"astro_graph": "domains"}),
    (RhythmicSharing, {"astro_graph": "links", "astro_degree": 8}),
])
def test_reservoir_run_on_the_device_equals_numpy(device, model_cls, options):
    """Host-built structures (same seeds), the step on the device: the states agree with NumPy's to rounding
    over a short run (chaotic runs part ways after many steps, so the run is short)."""
    u = 0.5 * np.random.default_rng(0).normal(size=(30, 2, 3))
    expected = _on_numpy(lambda: model_cls(40, seed=[0, 1], washout=0, **options).run(u).states)
    got = model_cls(40, seed=[0, 1], washout=0, **options).run(u).states
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("model_cls, options", [(ESN, {}), (RhythmicSharing, {"astro_graph": "domains"})])
def test_reservoir_fit_and_forecast_on_the_device(device, model_cls, options):
    """Fit (teacher-forced run and ridge readout) and a closed-loop forecast on the device; the readout
    and the first forecast steps agree with NumPy's."""
    t = 0.05 * np.arange(700)[:, None]
    u = np.concatenate([np.sin(t), np.cos(1.3 * t), np.sin(0.7 * t) * np.cos(t)], axis=1)

    def fit_and_forecast():
        net = model_cls(40, seed=0, washout=50, **options).fit(u[:600])
        return backend.to_host(net.forecast(u[560:600], 10).prediction)

    expected = _on_numpy(fit_and_forecast)
    np.testing.assert_allclose(fit_and_forecast(), expected, rtol=1e-6, atol=1e-8)


def test_mgd_on_a_simulated_chip_runs_on_the_device(device, xor):
    data, model = xor
    ds = mgd.train(model, data, direction="code", eta=1.0, amplitude=0.05, steps=300, seed=[0, 2],
                   eval_every=100, hardware="digital8")
    assert np.all(np.isfinite(ds.cost.values))


def test_the_gpu_check_runs_its_workloads_on_the_device(monkeypatch, capsys):
    """``python -m astrocore.bench gpu`` end to end on the stand-in, its workloads at small sizes: both
    backends timed on the same batch, the table printed; without CuPy it says so and exits 2."""
    from astrocore.bench import gpu  # noqa: PLC0415

    monkeypatch.setattr(gpu, "_cupy_device", lambda: (None, "CuPy is not installed"))
    assert gpu.main(["--skip-tests"]) == 2
    assert "no GPU check on this machine: CuPy is not installed" in capsys.readouterr().err
    stand_in = strict_cupy.install(monkeypatch)
    monkeypatch.setattr(gpu, "_cupy_device", lambda: (stand_in, "stand-in"))
    monkeypatch.setattr(gpu, "workloads", lambda quick: [
        ("mgd_estimate", "K=4 S=2", gpu._mgd_workload(4, 2, batch=8)),
        ("rhythmic_domains", "N=300 B=4 T=5", gpu._reservoir_workload("rhythmic_domains", 4, 5))])
    made = strict_cupy.DeviceArray.created
    assert gpu.main(["--skip-tests", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "mgd_estimate" in out and "rhythmic_domains" in out and "of 2 batched workloads" in out
    assert strict_cupy.DeviceArray.created > made + 10
