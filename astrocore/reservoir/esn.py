"""Echo state network core: sparse recurrent matrix, input matrix, ridge readout.

Node update (discrete time; Kang & Losert's example uses leak 0 and bias 0)::

    n(t+1) = l n(t) + (1 - l) tanh(W n(t) + W_in u(t) + b)

with ``W`` sparse (CSR), mean degree ``degree``, entries ``U[-1, 1]`` rescaled to
``spectral_radius`` (:mod:`astrocore.reservoir.topology`). A ridge readout
(:mod:`astrocore.reservoir.readout`) maps features of ``n(t+1)`` to ``u(t+1)``;
forecasting feeds the prediction back as the next input (closed loop).

Batches: ``B`` independent reservoirs run as the columns of one state matrix.
One seed and a batched input ``u (T, B, d)`` (e.g. B contexts) share ``W``: the
step is one sparse matrix-matrix product ``W @ [n_1 ... n_B]``. A sequence of
seeds gives one reservoir per seed, stepped together as one block-diagonal
sparse product.

Hardware (``hardware=``, a :class:`astrocore.hardware.HardwareModel` or preset
name; None or ``"ideal"`` takes exactly the ideal code path). The reservoir calls
the model's parts (:mod:`astrocore.hardware.effects`) at its hook points:

- ``program``, ``setup``, ``hold``: ``W`` (its CSR ``data``) and ``W_in`` are
  written once at construction (:meth:`HardwareModel.write_once`: stored
  levels, programming noise, drift, stuck cells), ``clip`` being each
  matrix's largest magnitude (a crossbar maps its conductance range onto the
  weight range; the model's own ``weight_clip`` is not used here). The
  per-read hook (``read``: read noise) is *not* applied to the reservoirs:
  their weights are the programmed values at every step.
- ``state``: node states after every node update (``state_bits``: rounded
  over [-1, 1]).
- ``readout``: readout weights after the ridge fit (``readout_bits``: rounded
  over ``[-max|W_out|, max|W_out|]`` per readout).

Every draw comes from the device stream of the reservoir's seed, split per
structure (:func:`astrocore.backend.device_stream`: ``recurrent``, ``input``,
and in :mod:`~astrocore.reservoir.rhythmic` ``modulation``, ``phase``), never
from the global RNG.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..hardware import as_model
from ..validation import (Bool, Choice, Integer, InvalidParameterError, Optional, Real, check_memory,
                          memory_budget, validate_params)
from . import topology
from ._constraints import (HARDWARE, SERIES, STATE, IndexList, SeedOrSeeds, check_state, plan_bytes,
                           refuse_if_too_big, structure_bytes)
from ._kernels import spmv_acc, to_device_csr
from .readout import FEATURES, RidgeReadout, make_features, n_features
from .results import ReservoirDivergenceError, ReservoirRun, ReservoirState

class _Plan:
    """Device arrays and kernels of one batch (built once per batch layout, cached).

    ``col_seeds[b]`` is the reservoir (seed index) of batch column ``b``. One
    reservoir shared by several columns is stepped as a sparse matrix-matrix
    product on a node-major ``(N, B)`` state; distinct reservoirs as one
    block-diagonal product on a batch-major ``(B, N)`` state.
    """

    def __init__(self, model: ESN, col_seeds: tuple, node_major: bool | None = None):
        xp = backend.xp()
        self.col_seeds = col_seeds
        self.batch, self.n_nodes = len(col_seeds), model.n_nodes
        shared = len(set(col_seeds)) == 1
        self.node_major = (shared and self.batch > 1) if node_major is None else node_major
        self.width = self.batch * model.n_nodes
        if self.node_major or self.batch == 1:
            host = model.W_[col_seeds[0]]
        else:
            host = topology.block_diag_csr([model.W_[s] for s in col_seeds])
        self.W = to_device_csr(host)
        self.spmv = spmv_acc(self.W, self.batch if self.node_major else 1)
        self.per_column_input = not shared
        self.W_in = xp.asarray(model.W_in_[col_seeds[0]] if shared else model.W_in_[list(col_seeds)])
        self.bias = model.bias
        self.leak = model.leak
        self.state_hooks = () if model.hardware is None else model.hardware.at("state")

    def step(self, prev, d, x, t: int) -> None:
        """``x = l prev + (1 - l) tanh(W prev + d)``; ``d`` (the input drive) is overwritten."""
        xp = backend.xp()
        self.spmv(prev, d)
        if self.leak == 0.0:
            xp.tanh(d, out=x)
        else:
            xp.tanh(d, out=d)
            d *= 1.0 - self.leak
            xp.multiply(prev, self.leak, out=x)
            x += d
        for part in self.state_hooks:
            part.state(x)

    def run_chunk(self, drive, tgt, prev, t0: int):
        """Advance over the rows of ``drive`` (consumed), node states into the rows of ``tgt``."""
        step = self.step
        for t, (d, x) in enumerate(zip(drive, tgt), start=t0):
            step(prev, d, x, t)
            prev = x
        return prev

    def nodes(self, flat):
        """``(B, N)`` view of a flat state."""
        n, b = self.n_nodes, self.batch
        return flat.reshape(n, b).T if self.node_major else flat.reshape(b, n)

    def flat(self, nodes):
        """Flat state (plan layout) from ``(B, N)``."""
        xp = backend.xp()
        return xp.ascontiguousarray(nodes.T if self.node_major else nodes).reshape(-1)

    def drive(self, u_chunk):
        """``W_in u(t) + b`` for a chunk ``(C, B, d)``: ``(C, width)`` contiguous."""
        xp = backend.xp()
        if self.node_major:
            out = xp.matmul(self.W_in, u_chunk.transpose(0, 2, 1))
        elif self.per_column_input:
            out = xp.matmul(self.W_in[None], u_chunk[..., None])[..., 0]
        else:
            out = u_chunk @ self.W_in.T
        if self.bias != 0.0:
            out += self.bias
        return xp.ascontiguousarray(out).reshape(u_chunk.shape[0], -1)

    def drive_one(self, y, out):
        """``W_in y + b`` for one step, ``y (B, d)``, written into flat ``out``."""
        xp = backend.xp()
        if self.node_major:
            xp.matmul(self.W_in, y.T, out=out.reshape(self.n_nodes, self.batch))
        elif self.per_column_input:
            xp.matmul(self.W_in, y[..., None], out=out.reshape(self.batch, self.n_nodes, 1))
        else:
            xp.matmul(y, self.W_in.T, out=out.reshape(self.batch, self.n_nodes))
        if self.bias != 0.0:
            out += self.bias

    def to_batch_major(self, records):
        """``(T, B, N)`` from flat records ``(T, width)``."""
        xp = backend.xp()
        t = records.shape[0]
        if self.node_major:
            return xp.ascontiguousarray(records.reshape(t, self.n_nodes, self.batch).transpose(0, 2, 1))
        return records.reshape(t, self.batch, self.n_nodes)


class ESN:
    """Echo state network with a sparse recurrent matrix and a ridge readout.

    Parameters (declared with :func:`astrocore.validation.validate_params`; a bad
    value raises :class:`~astrocore.validation.InvalidParameterError`, a
    ``ValueError`` and a ``TypeError``, naming it, its value and what is allowed;
    a structure too big for the machine's memory raises
    :class:`~astrocore.validation.MemoryRequestError` before it is drawn)
    ----------
    n_nodes : int >= 1
        Number of reservoir nodes ``N`` (the authors: 100).
    degree : float in (0, n_nodes] (``n_nodes - 1`` without self-loops)
        Mean degree: ``round(degree * n_nodes)`` nonzeros, at least one (the authors: 10).
    spectral_radius : float > 0
        Spectral radius of ``W`` (the authors: 0.6), computed deterministically
        (dense eigenvalues up to ``N = 2000``, else ARPACK from a seeded ``v0``).
    leak : float in [0, 1)
        ``l`` in the update (the authors: 0).
    bias : float
        Constant ``b`` added to every node (the authors: 0).
    input_scaling : float > 0
        Input weights are ``U[-input_scaling, input_scaling]`` (the authors: 1.2).
    input_layout : {"block", "dense", "sparse"}
        ``"block"`` (the authors'): input ``j`` drives its own block of about
        ``N / d`` nodes; ``"dense"``: all entries; ``"sparse"``: each entry with
        probability ``input_density``.
    input_density : float in (0, 1]
        Only for ``input_layout="sparse"``.
    n_inputs : int or None
        Input dimension ``d``; ``None``: taken from the first data seen.
    self_loops : bool (True or False; strings are refused)
        Whether ``W`` may have diagonal entries (default True, as in a uniformly
        random sparse matrix; the authors' choice is not stated in their text).
    features : {"states", "states_squares"}
        Readout features: ``n`` (the authors') or ``[n, n**2]``.
    readout_bias : bool (True or False)
        Add a constant readout feature (default False, as the authors).
    ridge : float >= 0
        Ridge penalty (our default 1e-6).
    washout : int >= 0
        Steps dropped from the readout fit after each segment start (the authors: 200).
    seed : int or sequence of distinct int
        One reservoir, or one per seed (a batch of independent reservoirs; a
        repeated seed would repeat a reservoir and is refused).
    chunk : int >= 1
        Steps whose input drive is computed at once (memory vs. overhead).
    hardware : HardwareModel, preset name or None
        Device non-idealities (module docstring); None or ``"ideal"``: none.
    """

    model_name = "esn"

    @validate_params({
        "n_nodes": Integer(1), "degree": Real(0, closed="neither"), "spectral_radius": Real(0, closed="neither"),
        "leak": Real(0, 1, closed="left"), "bias": Real(), "input_scaling": Real(0, closed="neither"),
        "input_layout": Choice(topology.INPUT_LAYOUTS), "input_density": Real(0, 1, closed="right"),
        "n_inputs": Optional(Integer(1)), "self_loops": Bool(), "features": Choice(FEATURES),
        "readout_bias": Bool(), "ridge": Real(0), "washout": Integer(0), "seed": SeedOrSeeds(),
        "chunk": Integer(1), "hardware": HARDWARE})
    def __init__(self, n_nodes: int = 100, *, degree: float = 10, spectral_radius: float = 0.6,
                 leak: float = 0.0, bias: float = 0.0, input_scaling: float = 1.2,
                 input_layout: str = "block", input_density: float = 0.1, n_inputs: int | None = None,
                 self_loops: bool = True, features: str = "states", readout_bias: bool = False,
                 ridge: float = 1e-6, washout: int = 200, seed=0, chunk: int = 256, hardware=None):
        self.hardware = as_model(hardware)
        self.n_nodes = n_nodes
        self.self_loops = self_loops
        self.degree = topology.check_degree(degree, n_nodes, self_loops)
        self.spectral_radius = spectral_radius
        self.leak = leak
        self.bias = bias
        self.input_scaling = input_scaling
        self.input_layout = input_layout
        self.input_density = input_density
        self.features = features
        self.readout_bias = readout_bias
        self.ridge = ridge
        self.washout = washout
        self.chunk = chunk
        self._several = isinstance(seed, tuple)
        self.seeds_ = seed if self._several else (seed,)
        self.seed = list(self.seeds_) if self._several else self.seeds_[0]
        self.n_reservoirs = len(self.seeds_)
        self._check_structure_memory()
        self.readout_ = RidgeReadout(self.ridge, self.features, readout_bias, hardware=self.hardware)
        self.W_ = [topology.recurrent_matrix(
            self.n_nodes, self.degree, self.spectral_radius, topology.host_rng(s, "recurrent"),
            self_loops=self.self_loops, arpack_rng=topology.host_rng(s, "arpack")) for s in self.seeds_]
        if self._programs_weights():
            for i, s in enumerate(self.seeds_):
                W = self.W_[i].copy()
                W.data = self._program(W.data, s, "recurrent")
                self.W_[i] = W
        self.n_links = int(self.W_[0].nnz)
        self.n_inputs = None
        self.W_in_ = None
        self._plans: dict = {}
        self.fit_state_ = None
        if n_inputs is not None:
            self._build_inputs(n_inputs)

    def _size_factors(self) -> tuple[dict, dict]:
        """How far each size parameter is above its usual value, and its value (for memory errors)."""
        factors = {"n_nodes": self.n_nodes / 100, "degree": self.degree / 10, "seed": float(self.n_reservoirs)}
        values = {"n_nodes": self.n_nodes, "degree": self.degree, "seed": self.seed}
        return factors, values

    def _check_structure_memory(self, extra: float = 0.0, extra_factors: dict | None = None,
                                extra_values: dict | None = None) -> None:
        """Refuse a reservoir whose structures cannot fit in memory, before drawing any."""
        links = round(self.degree * self.n_nodes)
        nbytes = structure_bytes(self.n_nodes, links, self.n_reservoirs) + extra
        factors, values = self._size_factors()
        factors.update(extra_factors or {})
        values.update(extra_values or {})
        refuse_if_too_big(nbytes, factors, values,
                          f"{links:.3g} links (n_nodes x degree) in each of {self.n_reservoirs} reservoir(s)")

    # ------------------------------------------------------------------ setup
    def get_params(self) -> dict:
        """Hyperparameters (for provenance attrs and reprs)."""
        return {"model": self.model_name, "n_nodes": self.n_nodes, "degree": self.degree,
                "spectral_radius": self.spectral_radius, "leak": self.leak, "bias": self.bias,
                "input_scaling": self.input_scaling, "input_layout": self.input_layout,
                "input_density": self.input_density, "n_inputs": self.n_inputs,
                "self_loops": self.self_loops, "features": self.features,
                "readout_bias": self.readout_bias, "ridge": self.ridge, "washout": self.washout,
                "seed": self.seed,
                "hardware": None if self.hardware is None else self.hardware.to_attrs()}

    def __repr__(self) -> str:
        keys = ("n_nodes", "degree", "spectral_radius", "seed")
        return f"{type(self).__name__}({', '.join(f'{k}={self.get_params()[k]!r}' for k in keys)})"

    def _build_inputs(self, n_inputs: int) -> None:
        check_memory("n_inputs", n_inputs, 2.0 * 8 * self.n_nodes * n_inputs * (self.n_reservoirs + 1),
                     f"input matrices of n_nodes x n_inputs = {self.n_nodes} x {n_inputs} doubles for "
                     f"{self.n_reservoirs} reservoir(s)")
        self.n_inputs = n_inputs
        self.W_in_ = np.stack([
            topology.input_matrix(self.n_nodes, n_inputs, self.input_layout, self.input_scaling,
                                  topology.host_rng(s, "input"), density=self.input_density)
            for s in self.seeds_])
        if self._programs_weights():
            self.W_in_ = np.stack([self._program(w, s, "input") for w, s in zip(self.W_in_, self.seeds_)])
        self._plans.clear()

    def _programs_weights(self) -> bool:
        hw = self.hardware
        return hw is not None and bool(hw.at("program") or hw.at("hold"))

    def _program(self, w: np.ndarray, seed: int, stream: str) -> np.ndarray:
        """``w`` written once to the device: clip = its largest magnitude."""
        clip = float(np.abs(w).max()) if w.size else 0.0
        if clip == 0.0:
            return w.copy()
        return self.hardware.write_once(w, backend._device_stream(seed, stream, (0,)), clip)

    def _col_seeds(self, batch: int) -> tuple:
        return tuple(range(batch)) if self.n_reservoirs > 1 else (0,) * batch

    def _plan(self, col_seeds) -> _Plan:
        if isinstance(col_seeds, int):
            col_seeds = self._col_seeds(col_seeds)
        if col_seeds not in self._plans:
            if len(self._plans) >= 4:  # keep a few layouts (e.g. steering candidates), drop the oldest
                self._plans.pop(next(iter(self._plans)))
            self._plans[col_seeds] = self._make_plan(col_seeds)
        return self._plans[col_seeds]

    def _make_plan(self, col_seeds: tuple) -> _Plan:
        return _Plan(self, col_seeds)

    def _input_shape(self, u, name: str = "u") -> tuple[int, int, int]:
        """``(T, B, d)`` of a validated series ``u`` (``(T, d)`` or ``(T, B, d)``), checked against the model."""
        d = u.shape[-1]
        if self.n_inputs is not None and d != self.n_inputs:
            raise InvalidParameterError(f"{name} must have n_inputs={self.n_inputs} features in its last axis, "
                                        f"got {d} (shape {tuple(u.shape)})")
        s = self.n_reservoirs
        if u.ndim == 3 and s > 1 and u.shape[1] != s:
            raise InvalidParameterError(f"{name} has {u.shape[1]} batch columns but the model has {s} "
                                        f"seeds; give shape (time, {s}, {d}) or (time, {d})")
        return u.shape[0], (u.shape[1] if u.ndim == 3 else s), d

    def _batch_input(self, u, name: str = "u"):
        """``(u3 (T, B, d) on the device, batched)`` from a validated ``(T, d)`` or ``(T, B, d)``."""
        self._input_shape(u, name)
        u_host = np.asarray(backend.to_host(u), dtype=float)
        d = u_host.shape[-1]
        if self.n_inputs is None:
            self._build_inputs(d)
        s = self.n_reservoirs
        if u_host.ndim == 2:
            u3 = np.broadcast_to(u_host[:, None], (u_host.shape[0], s, d))
            batched = self._several
        else:
            u3, batched = u_host, True
        return backend.asarray(np.ascontiguousarray(u3)), batched

    # ------------------------------------------------------------------ memory
    def _run_bytes(self, steps: int, batch: int, d: int, record: bool) -> float:
        """Bytes a teacher-forced run of ``steps`` over ``batch`` columns allocates (estimate)."""
        doubles = batch * (2.0 * d + (2.0 * self.n_nodes if record else 0.0) + 4.0)  # input, 2 state copies
        return 8.0 * steps * doubles + plan_bytes(self, batch) + 8.0 * self.chunk * batch * self.n_nodes

    def _check_run_memory(self, name: str, u, steps: int, batch: int, d: int, nbytes: float,
                          what: str) -> None:
        check_memory(name, _Shape(u.shape), nbytes,
                     f"{steps:.3g} steps x {batch} batch column(s) x {self.n_nodes} nodes: {what}")

    def _check_forecast_memory(self, u_warm, horizon: int, batch: int, d: int, record: bool) -> None:
        warm = self._run_bytes(u_warm.shape[0], batch, d, False)
        closed = 8.0 * horizon * batch * (d + (2.0 * self.n_nodes if record else 0.0) + 4.0)
        if warm + closed > memory_budget():
            if closed >= warm:
                check_memory("horizon", horizon, warm + closed,
                             f"predictions{' and recorded node states' if record else ''} of {horizon:.3g} "
                             f"steps x {batch} batch column(s) x {d} inputs"
                             f"{f' x {self.n_nodes} nodes' if record else ''}"
                             f"{'; record_states=False keeps no states' if record else ''}")
            self._check_run_memory("u_warm", u_warm, u_warm.shape[0], batch, d, warm + closed, "warm-up")

    def _initial_nodes(self, plan: _Plan, initial_state: ReservoirState | None):
        xp = backend.xp()
        if initial_state is None:
            return xp.zeros(plan.width)
        nodes = xp.asarray(initial_state.nodes, dtype=float)
        nodes = xp.broadcast_to(nodes.reshape(-1, self.n_nodes), (plan.batch, self.n_nodes))
        return plan.flat(nodes)

    def _check_initial_state(self, initial_state, batch: int) -> None:
        """``initial_state`` fits this run: finite arrays of ``(1 or batch)`` rows of N nodes (L phases)."""
        check_state(initial_state, self.n_nodes, batch, getattr(self, "n_links", None)
                    if getattr(self, "astro_mode", None) is not None else None)

    def _check_fitted(self, batch: int) -> None:
        """Before a forecast's warm-up: the readout is fitted and can serve ``batch`` columns."""
        self.readout_.coef_for(batch)

    def _diverged(self, step: int, where: str):
        raise ReservoirDivergenceError(
            f"{type(self).__name__} diverged to NaN/inf at step {step} ({where}); "
            f"hyperparameters: {self.get_params()}")

    def _check_chunk(self, block, start: int, where: str) -> None:
        xp = backend.xp()
        ok = xp.isfinite(block.reshape(block.shape[0], -1)).all(axis=1)
        if not bool(ok.all()):
            self._diverged(start + int(xp.argmin(ok)), where)

    # ------------------------------------------------------------------ loops
    def _teacher(self, plan: _Plan, u3, x0, record: bool = True):
        """Drive with ``u3 (T, B, d)``; flat records ``(T, width)`` (or None) and the last state."""
        xp = backend.xp()
        t_total = u3.shape[0]
        rec = xp.empty((t_total, plan.width)) if record else None
        buf = None if record else xp.empty((min(self.chunk, t_total), plan.width))
        spmv, tanh = plan.spmv, xp.tanh
        fast = type(plan) is _Plan and self.leak == 0.0 and not plan.state_hooks
        prev = x0
        with _progress(t_total, "teacher-forced run") as bar:
            for c0 in range(0, t_total, self.chunk):
                c1 = min(c0 + self.chunk, t_total)
                drive = plan.drive(u3[c0:c1])
                tgt = rec[c0:c1] if record else buf[: c1 - c0]
                if fast:  # the plain ESN step, inlined: one sparse product and a tanh
                    for d, x in zip(drive, tgt):
                        spmv(prev, d)
                        tanh(d, out=x)
                        prev = x
                else:
                    prev = plan.run_chunk(drive, tgt, prev, c0)
                self._check_chunk(tgt, c0, "teacher-forced run")
                bar.update(c1 - c0)
        return rec, xp.array(prev, copy=True)

    def _closed_loop(self, plan: _Plan, x0, horizon: int, record: bool = True, coef=None):
        """Closed-loop forecast: predictions ``(H, B, d)``, flat states ``(H, width)``.

        ``prediction[h]`` is the readout of the state at entry ``h`` (entry 0:
        ``x0``); it is fed back as the input of the next step.
        """
        xp = backend.xp()
        coef = self.readout_.coef_for(plan.batch) if coef is None else coef
        pred = xp.empty((horizon, plan.batch, self.n_inputs))
        rec = xp.empty((horizon, plan.width)) if record else None
        bufs = [xp.array(x0, copy=True), xp.empty(plan.width)]
        drive = xp.empty(plan.width)
        feats, bias, step = self.features, self.readout_bias, plan.step
        x = bufs[0]
        checked = 0
        with _progress(horizon, "closed-loop forecast") as bar:
            for h in range(horizon):
                f = make_features(plan.nodes(x), feats, bias)
                if coef.shape[0] == 1:
                    xp.matmul(f, coef[0], out=pred[h])
                else:
                    xp.matmul(f[:, None, :], coef, out=pred[h][:, None, :])
                if record:
                    rec[h] = x
                if h + 1 - checked >= self.chunk:
                    self._check_chunk(pred[checked: h + 1], checked, "closed-loop forecast")
                    bar.update(h + 1 - checked)
                    checked = h + 1
                if h == horizon - 1:
                    break
                plan.drive_one(pred[h], drive)
                nxt = bufs[(h + 1) % 2]
                step(x, drive, nxt, h)
                x = nxt
        if checked < horizon:
            self._check_chunk(pred[checked:], checked, "closed-loop forecast")
        return pred, rec, xp.array(x, copy=True)

    # ------------------------------------------------------------------ public
    def _squeeze(self, arr, batched: bool):
        arr = backend.to_host(arr)
        return arr if batched or arr is None else arr[:, 0]

    @validate_params({"u": SERIES, "initial_state": STATE, "record_states": Bool()})
    def run(self, u, *, initial_state: ReservoirState | None = None,
            record_states: bool = True) -> ReservoirRun:
        """Drive the reservoir with ``u (T, d)`` or ``(T, B, d)`` (teacher forcing).

        Starts from zero node states (or ``initial_state``: node states of one
        row or one row per batch column). Returns a :class:`ReservoirRun` whose
        ``states[t]`` is ``n(t + 1)``, the state after input ``u[t]``. ``u`` must be
        finite and non-empty, with ``n_inputs`` features in its last axis; a run
        whose recorded states cannot fit in memory is refused before it starts
        (``record_states=False`` records none).
        """
        self._check_run(u, initial_state, record_states)
        u3, batched = self._batch_input(u)
        plan = self._plan(u3.shape[1])
        rec, last = self._teacher(plan, u3, self._initial_nodes(plan, initial_state), record_states)
        states = self._squeeze(plan.to_batch_major(rec), batched) if record_states else None
        return ReservoirRun(states=states, first_index=1, batched=batched,
                            final_state=ReservoirState(backend.to_host(plan.nodes(last)).copy()),
                            params=self.get_params())

    def _check_run(self, u, initial_state, record_states: bool) -> None:
        """Before a run: ``u`` fits the model, ``initial_state`` fits the run, the records fit in memory."""
        steps, batch, d = self._input_shape(u)
        self._check_initial_state(initial_state, batch)
        nbytes = self._run_bytes(steps, batch, d, record_states)
        if nbytes > memory_budget():
            self._check_run_memory("u", u, steps, batch, d, nbytes,
                                   "recorded node states" + ("; record_states=False keeps none"
                                                             if record_states else ""))

    def _training_mask(self, n_rows: int, washout: int, segment_starts) -> np.ndarray:
        starts = [0] if segment_starts is None else sorted({0, *map(int, segment_starts)})
        if segment_starts is not None:
            arr = np.asarray(list(segment_starts))
            if arr.ndim != 1 or (arr.size and (np.any(np.diff(arr) <= 0) or arr.min() < 0
                                               or arr.max() >= n_rows + 1)):
                raise InvalidParameterError("segment_starts must be strictly increasing time indices in "
                                            f"[0, {n_rows}], got {list(segment_starts)}")
        mask = np.ones(n_rows, dtype=bool)
        for s in starts:
            mask[s: s + washout] = False
        if not mask.any():
            raise InvalidParameterError(f"washout={washout} after each segment start leaves no training rows "
                                        f"out of {n_rows}")
        return mask

    @validate_params({"u": SERIES, "y": Optional(SERIES), "washout": Optional(Integer(0)),
                      "segment_starts": Optional(IndexList()), "pool_batch": Bool(), "initial_state": STATE})
    def fit(self, u, y=None, *, washout: int | None = None, segment_starts=None,
            pool_batch: bool = False, initial_state: ReservoirState | None = None):
        """Fit the ridge readout by teacher forcing.

        ``y=None`` (the authors' task): the target of the state after ``u[t]``
        is the next input ``u[t + 1]``. Otherwise ``y`` (same length as ``u``;
        ``(T, d_out)`` or ``(T, B, d_out)``) is the target of the state after
        ``u[t]``. Rows within ``washout`` steps after ``0`` and after each of
        ``segment_starts`` (strictly increasing time indices where the context
        changes) are dropped; at least one row must remain. Batched input fits
        one readout per column, or one over all columns with
        ``pool_batch=True``. ``u`` and ``y`` must be finite. Returns ``self``.
        """
        washout = self.washout if washout is None else washout
        steps, batch, d = self._input_shape(u)
        if y is None:
            if steps < 2:
                raise InvalidParameterError(f"u must have at least 2 time steps to fit next-step targets, "
                                            f"got shape {tuple(u.shape)}")
            rows = steps - 1
        else:
            if y.shape[0] != steps:
                raise InvalidParameterError(f"y must have the same number of time steps as u ({steps}), "
                                            f"got {y.shape[0]} (shape {tuple(y.shape)})")
            if y.ndim == 3 and y.shape[1] not in (1, batch):
                raise InvalidParameterError(f"y must have 1 or {batch} batch columns like u, got shape "
                                            f"{tuple(y.shape)}")
            rows = steps
        mask = self._training_mask(rows, washout, segment_starts)
        self._check_initial_state(initial_state, batch)
        feats = n_features(self.n_nodes, self.features, self.readout_bias)
        nbytes = self._run_bytes(rows, batch, d, True) + 8.0 * rows * batch * (self.n_nodes + 2 * feats + 3 * d)
        if nbytes > memory_budget():
            self._check_run_memory("u", u, rows, batch, d, nbytes,
                                   "recorded node states, features and targets of the fit")
        u3, batched = self._batch_input(u)
        if y is None:
            inputs, targets = u3[:-1], u3[1:]
        else:
            y_host = np.asarray(backend.to_host(y), dtype=float)
            targets = y_host[:, None] if y_host.ndim == 2 else y_host
            targets = np.broadcast_to(targets, (u3.shape[0], u3.shape[1], targets.shape[-1]))
            inputs = u3
        run = self.run(inputs, initial_state=initial_state)
        states3 = run.states if run.batched else run.states[:, None]
        self.readout_.fit(states3, targets, mask, pool=pool_batch)
        self.fit_state_ = run.final_state
        pred = backend.to_host(self.readout_.predict(states3[mask]))
        tgt = backend.to_host(targets)[mask]
        self.train_nrmse_ = float(np.sqrt(np.mean((pred - tgt) ** 2) / np.mean(np.var(tgt, axis=0))))
        return self

    @staticmethod
    def _check_truth(truth, horizon: int, batch: int, batched: bool, d: int) -> None:
        """``truth`` has the prediction's shape: ``(horizon, batch, d)``, or ``(horizon, d)`` unbatched."""
        if truth is None:
            return
        expected = (horizon, batch, d) if batched else (horizon, d)
        if tuple(truth.shape) != expected:
            raise InvalidParameterError(f"truth must have the prediction's shape {expected} "
                                        f"(horizon={horizon} time steps), got {tuple(truth.shape)}")

    @validate_params({"u_warm": SERIES, "horizon": Integer(1), "initial_state": STATE,
                      "truth": Optional(SERIES), "record_states": Bool(),
                      "steering": Optional(Choice(("authors", "sweep")))})
    def forecast(self, u_warm, horizon: int, *, initial_state: ReservoirState | None = None,
                 truth=None, record_states: bool = True, steering=None) -> ReservoirRun:
        """Warm up on ``u_warm`` (teacher forcing), then predict ``horizon`` steps in closed loop.

        ``prediction[h]`` estimates ``u[T_w + h]`` for ``T_w = len(u_warm)``; the
        readout output is fed back as the next input. ``truth`` (optional,
        ``(horizon, [B], d)``, the prediction's shape) is stored with the run for
        metrics and datasets. ``steering`` needs link phases: see
        :meth:`RhythmicSharing.forecast`. The model must be fitted (``fit``) and
        ``u_warm`` must have its ``n_inputs`` features; a forecast whose
        predictions and records cannot fit in memory is refused before it starts.
        """
        if steering is not None:
            raise InvalidParameterError(f"steering={steering!r} needs link phases; a plain ESN allows only "
                                        "steering=None (use RhythmicSharing)")
        steps, batch, d = self._input_shape(u_warm, "u_warm")
        self._check_fitted(batch)
        self._check_initial_state(initial_state, batch)
        batched = u_warm.ndim == 3 or self._several
        self._check_truth(truth, horizon, batch, batched, d)
        self._check_forecast_memory(u_warm, horizon, batch, d, record_states)
        u3, batched = self._batch_input(u_warm, "u_warm")
        plan = self._plan(u3.shape[1])
        _, last = self._teacher(plan, u3, self._initial_nodes(plan, initial_state), record=False)
        pred, rec, final = self._closed_loop(plan, last, horizon, record_states)
        return ReservoirRun(
            states=self._squeeze(plan.to_batch_major(rec), batched) if record_states else None,
            prediction=self._squeeze(pred, batched), truth=_truth(truth, horizon),
            first_index=u3.shape[0], batched=batched,
            final_state=ReservoirState(backend.to_host(plan.nodes(final)).copy()),
            params=self.get_params())


class _Shape(tuple):
    """A shape that reads as the array it describes, in memory errors."""

    def __repr__(self) -> str:
        return f"<array of shape {tuple(self)}>"


#: Runs of at least this many steps get a progress bar (shown once a run takes longer than a few seconds).
PROGRESS_MIN_STEPS = 10_000


class _NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n: int = 1) -> None:
        pass


_NO_BAR = _NoBar()


def _progress(total: int, what: str):
    """A progress bar over ``total`` steps for long runs, shown once a run takes longer than a few seconds
    (:func:`astrocore.progress.progress`: silent under CI, off a terminal or with ASTROCORE_PROGRESS=0)."""
    if total < PROGRESS_MIN_STEPS:
        return _NO_BAR
    from ..progress import progress  # noqa: PLC0415

    return progress(total=total, desc=what, unit="step", delay=3.0, leave=False)


def _truth(truth, horizon: int):
    if truth is None:
        return None
    return np.asarray(backend.to_host(truth), dtype=float)
