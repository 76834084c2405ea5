"""Link synchrony of Rhythmic Sharing reservoirs driven by a series: the records of the regime, schematic and
inference experiments, and the astrocyte domains' mean fields.

- :func:`regime_run`: ``R(t)``, ``<Phi>(t)`` and the mean node activity of one
  reservoir per seed and astrocyte graph driven by a switching series
  (:func:`astrocore.analysis.series.switching_series`), with the link phases at
  a few moments for the schematic (``rhythmic_regimes_run.ipynb``);
- :func:`domain_field`, :func:`schematic_layout`, :func:`schematic_table`: the
  network drawn from those moments (``rhythmic_schematic_figures.ipynb``);
- :func:`inference_run`: per-trajectory features of ``(R, <Phi>)``, of the node
  activity and of the input over a grid of parameter values
  (``rhythmic_inference_run.ipynb``).

Entry ``t`` of every record is taken after input ``u(t)``: a statistic at step
``t`` uses inputs up to ``t`` only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from astrocore import systems
from astrocore.analysis.series import CASES, SwitchingSeries
from astrocore.reservoir import RhythmicSharing
from astrocore.validation import (Array, Bool, Choice, InstanceOf, Integer, InvalidParameterError, Real, Seeds,
                                  validate_params)

GRAPHS = ("links", "domains")
N_NODES = 100
FEATURES = ("R_mean", "R_std", "phase_velocity", "activity_mean", "input_std", "input_norm")
"""Per-trajectory features of :func:`inference_run`."""

_SERIES = InstanceOf(SwitchingSeries, example=lambda: SwitchingSeries(np.zeros((4, 3)), np.zeros(4),
                                                                      np.array([0, 0, 1, 1])))
_NAMES = InstanceOf(list, tuple, example=lambda: ["links"])
_TIMES = InstanceOf(list, tuple, example=lambda: [2])
_DATASET = InstanceOf(xr.Dataset, example=xr.Dataset)


@validate_params({"series": _SERIES, "case": Choice(CASES), "seeds": Seeds(), "astro_graphs": _NAMES,
                  "snapshot_times": _TIMES})
def regime_run(series: SwitchingSeries, case: str, seeds, astro_graphs, snapshot_times) -> xr.Dataset:
    """Drive one :class:`RhythmicSharing` reservoir per seed (one batch) and astrocyte graph with ``series``.

    Records per graph, seed and step: the order parameter ``order_R``, the mean
    link phase ``mean_phase`` and the mean node activity ``(1/N) sum_i |n_i|``.
    For the schematic: the link phases and node states of the ``domains``
    network of the first seed at each of ``snapshot_times`` (the same run,
    continued in pieces), its links and astrocyte bindings.
    """
    u, context, regime = series
    T = u.shape[0]
    bad = [g for g in astro_graphs if g not in GRAPHS]
    if bad or not astro_graphs:
        raise InvalidParameterError(f"astro_graphs must name one or more of {GRAPHS}, got {list(astro_graphs)}")
    if not all(isinstance(t, (int, np.integer)) and 0 <= t < T for t in snapshot_times) or not snapshot_times:
        raise InvalidParameterError(f"snapshot_times must be steps in [0, {T}), got {list(snapshot_times)}")
    shape = (len(astro_graphs), len(seeds), T)
    order_R, mean_phase, activity = np.empty(shape), np.empty(shape), np.empty(shape)
    for g, graph in enumerate(astro_graphs):
        model = RhythmicSharing(N_NODES, astro_graph=graph, seed=list(seeds))
        run = model.run(u)
        order_R[g], mean_phase[g] = run.order_R.T, run.mean_phase.T
        activity[g] = np.abs(run.states).mean(axis=-1).T

    # phases at the snapshot moments (domains graph, first seed), by continuing the same run in pieces
    schematic = RhythmicSharing(N_NODES, astro_graph="domains", seed=int(seeds[0]))
    state, start, phases, nodes = None, 0, [], []
    for ts in sorted(snapshot_times):
        piece = schematic.run(u[start: ts + 1], initial_state=state)
        state, start = piece.final_state, ts + 1
        phases.append(state.phases[0])
        nodes.append(state.nodes[0])
    W, P = schematic.W_[0], schematic.domains_[0].tocoo()
    return xr.Dataset(
        {"truth": (("time", "coord"), u, {"long_name": "input series (Thomas' system)", "units": "1"}),
         "context": ("time", context, {"long_name": "Thomas parameter b", "units": "1"}),
         "regime": ("time", regime, {"long_name": "regime label (0: first regime, 1: second)", "units": "1"}),
         "order_R": (("graph", "seed", "time"), order_R,
                     {"long_name": "Kuramoto order parameter R of the link phases", "units": "1"}),
         "mean_phase": (("graph", "seed", "time"), mean_phase, {"long_name": "mean link phase <Phi>", "units": "rad"}),
         "mean_activity": (("graph", "seed", "time"), activity,
                           {"long_name": "mean absolute node activity (1/N) sum_i |n_i|", "units": "1"}),
         "phase": (("snapshot", "link"), np.mod(np.array(phases), 2 * np.pi),
                   {"long_name": "link phase phi_k (domains graph, first seed)", "units": "rad"}),
         "node_state": (("snapshot", "node"), np.array(nodes),
                        {"long_name": "node state n_i (domains graph, first seed)", "units": "1"}),
         "link_source": ("link", W.indices.astype(int), {"long_name": "sending node j of link k", "units": "1"}),
         "link_target": ("link", np.repeat(np.arange(W.shape[0]), np.diff(W.indptr)),
                         {"long_name": "receiving node i of link k", "units": "1"}),
         "binding_domain": ("binding", P.row.astype(int), {"long_name": "astrocyte of a (astrocyte, link) binding",
                                                          "units": "1"}),
         "binding_link": ("binding", P.col.astype(int), {"long_name": "link of a (astrocyte, link) binding",
                                                        "units": "1"})},
        coords={"time": ("time", np.arange(T, dtype=float), {"long_name": "time", "units": "1 (Thomas time units)"}),
                "coord": ["x", "y", "z"], "graph": list(astro_graphs), "seed": list(seeds),
                "snapshot": ("snapshot", sorted(snapshot_times), {"long_name": "snapshot time", "units": "1"})},
        attrs={"case": case, "system": "thomas", "n_domains": int(schematic.n_domains), **{
            f"model_{k}": v for k, v in model.get_params().items()
            if k not in ("seed", "astro_graph", "model", "n_domains")}})


@validate_params({"phase": Array(1), "binding_domain": Array(1, integer=True), "binding_link": Array(1, integer=True),
                  "n_domains": Integer(1)})
def domain_field(phase, binding_domain, binding_link, n_domains: int) -> np.ndarray:
    """Each astrocyte's mean field ``Z_d = (1/|S_d|) sum_{l in S_d} exp(i phi_l)`` (complex, ``(n_domains,)``),
    ``S_d`` the links bound to astrocyte ``d`` (``binding_domain[j]`` binds ``binding_link[j]``); NaN for an
    astrocyte that binds no link."""
    if binding_domain.shape != binding_link.shape:
        raise InvalidParameterError(f"binding_domain and binding_link must have one length, got "
                                    f"{binding_domain.size} and {binding_link.size}")
    if binding_domain.min() < 0 or binding_domain.max() >= n_domains or binding_link.min() < 0 \
            or binding_link.max() >= phase.size:
        raise InvalidParameterError(f"bindings must name astrocytes in [0, {n_domains}) and links in "
                                    f"[0, {phase.size})")
    z = np.zeros(n_domains, complex)
    np.add.at(z, binding_domain, np.exp(1j * phase[binding_link]))
    z /= np.bincount(binding_domain, minlength=n_domains)
    return z


@validate_params({"n_nodes": Integer(1), "n_astrocytes": Integer(1)})
def schematic_layout(n_nodes: int, n_astrocytes: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(n, 2)`` of the schematic: nodes on the unit circle in index order, astrocytes on a square grid
    over [-0.5, 0.5]^2 filled row by row from the top left."""
    angle = 2 * np.pi * np.arange(n_nodes) / n_nodes
    side = int(np.ceil(np.sqrt(n_astrocytes)))
    gx, gy = np.meshgrid(np.linspace(-0.5, 0.5, side), np.linspace(0.5, -0.5, side))
    return np.c_[np.cos(angle), np.sin(angle)], np.c_[gx.ravel(), gy.ravel()][:n_astrocytes]


@validate_params({"ds": _DATASET, "warmup": Integer(0)})
def schematic_table(ds: xr.Dataset, warmup: int) -> pd.DataFrame:
    """One row per snapshot of a :func:`regime_run` (``domains`` graph): its time, ``b`` and regime, ``R`` of the
    snapshot's phases, the mean astrocyte synchrony ``|Z_d|``, the mean ``|n_i|``; beside them the spread of
    ``R`` over the regime's steps after ``warmup`` (first seed) and the regime's mean ``R`` over seeds."""
    missing = [v for v in ("phase", "node_state", "order_R", "regime", "context", "binding_domain", "binding_link")
               if v not in ds.variables]
    if missing or "n_domains" not in ds.attrs:
        raise InvalidParameterError(f"ds must be a rhythmic_regimes_run file; it lacks {missing or ['n_domains']}")
    n_astro = int(ds.attrs["n_domains"])
    R = ds.order_R.sel(graph="domains")
    late = ds.time >= warmup
    rows = []
    for ts in ds.snapshot.values:
        phi = ds.phase.sel(snapshot=ts).values
        z = domain_field(phi, ds.binding_domain.values, ds.binding_link.values, n_astro)
        i = int(np.argmin(abs(ds.time.values - ts)))
        same = late & (ds.regime == ds.regime[i])
        per_seed = R.where(same).mean("time")
        rows.append(dict(time=float(ts), b=float(ds.context[i]), regime="limit cycle" if ds.regime[i] else "chaotic",
                         order_R=float(abs(np.exp(1j * phi).mean())), mean_domain_synchrony=float(abs(z).mean()),
                         mean_abs_node_state=float(abs(ds.node_state.sel(snapshot=ts)).mean()),
                         order_R_time_std=float(R.isel(seed=0).where(same).std()),
                         seeds=R.sizes["seed"], order_R_regime_mean=float(per_seed.mean()),
                         order_R_regime_std=float(per_seed.std(ddof=1)) if R.sizes["seed"] > 1 else 0.0,
                         n_nodes=ds.sizes["node"], n_links=ds.sizes["link"], n_astrocytes=n_astro))
    return pd.DataFrame(rows)


@validate_params({"system": InstanceOf(str, example=lambda: "thomas"), "values": Array(1), "dt": Real(0, closed="neither"),
                  "steps": Integer(2), "washout": Integer(0), "transient": Real(0), "x0": Array(1),
                  "standardise": Bool(), "seeds": Seeds(), "rtol": Real(0, closed="neither")})
def inference_run(system: str, values, *, dt: float, steps: int, washout: int, transient: float, x0,
                  standardise: bool, seeds, rtol: float = 1e-8) -> xr.Dataset:
    """Per-trajectory features of a Rhythmic Sharing network driven by ``system`` at each parameter value.

    One trajectory per value (from ``x0`` after ``transient``), ``steps``
    samples of ``dt``; Lorenz inputs (``standardise``) scaled by the mean and
    standard deviation pooled over the grid. The values run as batch columns of
    one reservoir (N = 100, ``links`` graph) per seed. Features
    (:data:`FEATURES`) over the steps after ``washout``: mean and std of
    ``R``, mean phase velocity, mean absolute node activity, the input's std
    (mean over coordinates) and mean norm; and ``R(t)`` of every run.
    """
    if washout >= steps:
        raise InvalidParameterError(f"washout must be < steps ({steps}), got {washout}")
    values = values.tolist()
    traj = np.stack([systems.simulate(system, (steps - 1) * dt, dt, schedule=float(v), x0=x0, transient=transient,
                                      rtol=rtol, atol=rtol / 100).state for v in values], axis=1)   # (steps, values, 3)
    mu, sd = (traj.reshape(-1, 3).mean(0), traj.reshape(-1, 3).std(0)) if standardise else (np.zeros(3), np.ones(3))
    u = (traj - mu) / sd
    feats = np.empty((len(seeds), len(values), len(FEATURES)))
    R_trace = np.empty((len(seeds), len(values), steps))
    for s, seed in enumerate(seeds):
        run = RhythmicSharing(N_NODES, seed=int(seed)).run(u)
        R, phi = run.order_R, run.mean_phase                         # (steps, values)
        vel = np.diff(np.unwrap(phi, axis=0), axis=0, prepend=phi[:1])
        late = slice(washout, None)
        feats[s] = np.stack([R[late].mean(0), R[late].std(0), vel[late].mean(0),
                             np.abs(run.states[late]).mean(axis=(0, 2)), u[late].std(0).mean(-1),
                             np.linalg.norm(u[late], axis=-1).mean(0)], axis=-1)
        R_trace[s] = R.T
    param = systems.get_system(system).param_name
    return xr.Dataset(
        {"feature_value": (("seed", "value", "feature"), feats, {"long_name": "per-trajectory feature", "units": "1"}),
         "order_R": (("seed", "value", "time"), R_trace,
                     {"long_name": "Kuramoto order parameter R of the link phases", "units": "1"})},
        coords={"seed": list(seeds), "value": ("value", list(values), {"long_name": f"context parameter {param}",
                                                                       "units": "1"}),
                "feature": list(FEATURES), "time": ("time", np.arange(steps) * dt, {"long_name": "time", "units": "1"})},
        attrs={"system": system, "param_name": param, "dt": dt, "washout": washout, "standardise": int(standardise)})
