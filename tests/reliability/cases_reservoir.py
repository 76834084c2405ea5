"""Bad inputs of the reservoirs (astrocore.reservoir): ESN, RhythmicSharing, RidgeReadout, steering.

Every case calls only the public API that predates issue 10 (the constructors,
run, fit, forecast, RidgeReadout, ReservoirState), so the same case classifies
an older checkout for the before/after count. Requests too big for memory are
sized far beyond any machine (terabytes), so the fixed code refuses them
before allocating and the old code fails (or hangs) at once.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp

from astrocore.reservoir import ESN, ReservoirState, RhythmicSharing, RidgeReadout

from .case import Case


def _sine(t: int = 120, d: int = 2) -> np.ndarray:
    tt = np.arange(t)
    cols = [np.sin(2 * np.pi * tt / 25.0), np.cos(2 * np.pi * tt / 25.0), np.sin(2 * np.pi * tt / 40.0)]
    return np.stack(cols[:d], axis=1)


@functools.lru_cache(maxsize=None)
def _esn() -> ESN:
    return ESN(20, degree=3, washout=10, seed=0).fit(_sine())


@functools.lru_cache(maxsize=None)
def _rhythmic() -> RhythmicSharing:
    return RhythmicSharing(20, degree=3, astro_degree=5, washout=10, seed=0).fit(_sine())


def _with_nan(a: np.ndarray, index) -> np.ndarray:
    a = np.array(a, dtype=float)
    a[index] = np.nan
    return a


def _fitted_readout() -> RidgeReadout:
    rng = np.random.default_rng(0)
    return RidgeReadout().fit(rng.normal(size=(30, 1, 4)), rng.normal(size=(30, 1, 2)))


def _states_with_nan():
    rng = np.random.default_rng(0)
    states = rng.normal(size=(30, 1, 4))
    states[7, 0, 2] = np.nan
    return RidgeReadout().fit(states, rng.normal(size=(30, 1, 2)))


def _negative_astro_graph():
    model = RhythmicSharing(10, degree=2, astro_degree=3, seed=0)       # 20 links
    graph = sp.lil_matrix(np.ones((model.n_links, model.n_links)) - np.eye(model.n_links))
    graph[3, 5] = -1.0
    return RhythmicSharing(10, degree=2, astro_graph=graph.tocsr(), seed=0)


CASES = [
    # ---- defect 3: flags read with bool()
    Case("reservoir/esn-self-loops-string", lambda: ESN(20, degree=3, self_loops="no"),
         names=("self_loops", "'no'"), defect=3),
    Case("reservoir/rhythmic-astro-self-loops-string",
         lambda: RhythmicSharing(20, degree=3, astro_degree=5, astro_self_loops="no"),
         names=("astro_self_loops", "'no'"), defect=3),
    Case("reservoir/esn-readout-bias-string", lambda: ESN(20, degree=3, readout_bias="False"),
         names=("readout_bias", "'False'"), defect=3),
    Case("reservoir/ridge-readout-bias-int", lambda: RidgeReadout(bias=1), names=("bias",), defect=3),
    Case("reservoir/fit-pool-batch-string",
         lambda: ESN(20, degree=3, washout=10, seed=[0, 1]).fit(_sine(), pool_batch="no"),
         names=("pool_batch", "'no'"), defect=3),
    Case("reservoir/run-record-states-string", lambda: _esn().run(_sine(30), record_states="False"),
         names=("record_states",), defect=3),
    Case("reservoir/forecast-record-states-int", lambda: _rhythmic().forecast(_sine(30), 5, record_states=0),
         names=("record_states",), defect=3),
    # ---- defect 5: requests that cannot be met
    Case("reservoir/esn-a-billion-nodes", lambda: ESN(10**9), names=("n_nodes", "needs about"), defect=5,
         timeout=10),
    Case("reservoir/forecast-horizon-1e12", lambda: _esn().forecast(_sine(30), 10**12),
         names=("horizon", "needs about"), defect=5, timeout=10),
    Case("reservoir/forecast-horizon-1e12-without-states",
         lambda: _rhythmic().forecast(_sine(30), 10**12, record_states=False),
         names=("horizon", "needs about"), defect=5, timeout=10),
    Case("reservoir/rhythmic-astro-graph-beyond-memory",
         lambda: RhythmicSharing(200_000, degree=10, astro_degree=500_000),
         names=("astro_degree", "needs about"), defect=5, timeout=10),
    Case("reservoir/run-records-beyond-memory",
         lambda: ESN(3000, degree=2, seed=list(range(20))).run(np.zeros((10**6, 3))),
         names=("u", "record_states=False", "needs about"), defect=5, timeout=10),
    Case("reservoir/sweep-a-billion-candidates",
         lambda: _rhythmic().forecast(_sine(400), 5, steering="sweep", n_free=100, n_settle=20, window=20,
                                      n_candidates=10**9),
         names=("n_candidates", "needs about"), defect=5, timeout=10),
    # ---- defect 8: odd cases accepted
    Case("reservoir/esn-repeated-seeds", lambda: ESN(20, degree=3, seed=[0, 0]),
         names=("seed", "distinct"), defect=8),
    Case("reservoir/rhythmic-repeated-seeds", lambda: RhythmicSharing(20, degree=3, astro_degree=5, seed=[4, 2, 4]),
         names=("seed", "distinct"), defect=8),
    Case("reservoir/n-domains-with-the-links-graph",
         lambda: RhythmicSharing(20, degree=3, astro_degree=5, n_domains=4),
         names=("n_domains", "astro_graph='domains'"), defect=8),
    Case("reservoir/astro-self-loops-with-domains",
         lambda: RhythmicSharing(20, degree=3, astro_degree=5, astro_graph="domains", astro_self_loops=True),
         names=("astro_self_loops", "astro_graph='links'"), defect=8),
    Case("reservoir/authors-steering-never-starts",
         lambda: _rhythmic().forecast(_sine(100), 5, steering="authors", n_free=600),
         names=("n_free", "100"), defect=8),
    Case("reservoir/fit-washout-longer-than-the-series", lambda: ESN(20, degree=3).fit(_sine(50), washout=100),
         names=("washout",), defect=8),
    Case("reservoir/forecast-input-dimension-mismatch", lambda: _esn().forecast(_sine(30, d=3), 5),
         names=("u_warm", "n_inputs=2"), defect=8),
    Case("reservoir/forecast-truth-of-another-shape",
         lambda: _esn().forecast(_sine(30), 5, truth=np.zeros((5, 3))), names=("truth", "(5, 2)"), defect=8),
    Case("reservoir/initial-state-of-another-size",
         lambda: _esn().run(_sine(30), initial_state=ReservoirState(np.zeros((1, 7)))),
         names=("initial_state.nodes", "20"), defect=8),
    Case("reservoir/forecast-batch-the-readout-cannot-serve",
         lambda: ESN(20, degree=3, washout=10, seed=0).fit(np.stack([_sine()] * 2, axis=1))
         .forecast(np.stack([_sine(30)] * 3, axis=1), 5),
         names=("batch", "2"), defect=8),
    Case("reservoir/fit-y-with-another-batch",
         lambda: ESN(20, degree=3, washout=10, seed=[0, 1]).fit(_sine(), y=np.zeros((120, 3, 2))),
         names=("y", "batch"), defect=8),
    Case("reservoir/predict-states-of-another-size",
         lambda: _fitted_readout().predict(np.zeros((5, 1, 6))), names=("states", "4 nodes"), defect=8),
    # ---- defect 4: NaN, inf and empty data
    Case("reservoir/fit-nan-target", lambda: ESN(20, degree=3, washout=10).fit(_sine(), y=_with_nan(_sine(), (40, 1))),
         names=("y", "finite"), defect=4),
    Case("reservoir/forecast-inf-warm-up",
         lambda: _esn().forecast(np.where(np.arange(30)[:, None] == 12, np.inf, _sine(30)), 5),
         names=("u_warm", "finite"), defect=4),
    Case("reservoir/run-empty-series", lambda: _esn().run(np.zeros((0, 2))), names=("u",), defect=4),
    Case("reservoir/readout-nan-states", _states_with_nan, names=("states", "finite", "(7, 0, 2)"), defect=4),
    Case("reservoir/initial-state-nan",
         lambda: _esn().run(_sine(30), initial_state=ReservoirState(_with_nan(np.zeros((1, 20)), (0, 3)))),
         names=("initial_state.nodes", "finite"), defect=4),
    # ---- wrong types, out-of-range values, unknown choices, inf/NaN scalars, bools for numbers
    Case("reservoir/spectral-radius-inf", lambda: ESN(spectral_radius=float("inf")), names=("spectral_radius", "inf")),
    Case("reservoir/n-nodes-bool", lambda: ESN(True), names=("n_nodes", "True")),
    Case("reservoir/degree-nan", lambda: ESN(20, degree=float("nan")), names=("degree", "nan")),
    Case("reservoir/leak-one", lambda: ESN(leak=1.0), names=("leak",)),
    Case("reservoir/input-layout-unknown", lambda: ESN(input_layout="diagonal"), names=("input_layout", "block")),
    Case("reservoir/link-activation-unknown", lambda: RhythmicSharing(link_activation="both"),
         names=("link_activation", "mean")),
    Case("reservoir/astro-graph-unknown", lambda: RhythmicSharing(astro_graph="glia"), names=("astro_graph", "links")),
    Case("reservoir/omega-of-another-length",
         lambda: RhythmicSharing(20, degree=3, astro_degree=5, omega=np.zeros(7)), names=("omega", "60")),
    Case("reservoir/astro-graph-negative-weight", _negative_astro_graph, names=("astro_graph", "non-negative")),
    Case("reservoir/horizon-float", lambda: _esn().forecast(_sine(30), 2.5), names=("horizon", "2.5")),
    Case("reservoir/washout-bool", lambda: ESN(washout=True), names=("washout", "True")),
    Case("reservoir/hardware-unknown-preset", lambda: ESN(20, degree=3, hardware="nonsense"),
         names=("hardware", "nonsense")),
    Case("reservoir/target-phase-nan",
         lambda: _rhythmic().forecast(_sine(400), 5, steering="authors", n_free=100, target_phase=float("nan")),
         names=("target_phase", "nan")),
    Case("reservoir/phase-seed-negative",
         lambda: _rhythmic().forecast(_sine(400), 5, steering="authors", n_free=100, phase_seed=-1),
         names=("phase_seed", "-1")),
    Case("reservoir/segment-starts-floats",
         lambda: ESN(20, degree=3, washout=10).fit(_sine(), segment_starts=[40.5]), names=("segment_starts",)),
]
