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
name; None or ``"ideal"`` takes exactly the ideal code path):

- ``W`` (its CSR ``data``) and ``W_in`` are written once at construction with
  :meth:`HardwareModel.program_values` (stored levels, programming noise,
  drift, stuck cells), ``clip`` being each matrix's largest magnitude (a
  crossbar maps its conductance range onto the weight range; the model's own
  ``weight_clip`` is not used here). Read noise is *not* applied to the
  reservoirs: their weights are the programmed values at every step.
- ``state_bits``: node states quantized over [-1, 1] after every node update.
- ``readout_bits``: readout weights quantized over ``[-max|W_out|, max|W_out|]``
  (per readout) after the ridge fit.

Every draw comes from the device stream of the reservoir's seed
(:func:`astrocore.hardware.stream_seed`), split per structure
(:func:`hardware_rng`), never from the global RNG.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..hardware import as_model, stream_seed
from . import topology
from ._checks import (check_choice, check_finite_array, check_int, check_interval, check_real,
                      check_seeds)
from ._kernels import spmv_acc, to_device_csr
from .readout import FEATURES, RidgeReadout, make_features
from .results import ReservoirDivergenceError, ReservoirRun, ReservoirState

#: Sub-streams of a reservoir's device stream, one per hardware draw.
HARDWARE_STREAMS = {"recurrent": 1, "input": 2, "modulation": 3, "phase": 4}


def hardware_rng(seed: int, stream: str, column: int = 0) -> np.random.Generator:
    """The host generator of one hardware draw of reservoir ``seed`` (``column``: a replica index)."""
    return np.random.default_rng([stream_seed(int(seed)), HARDWARE_STREAMS[stream], int(column)])


def quantize_states(x, bits: int) -> None:
    """Round node states ``x`` in place onto ``2^bits`` levels over [-1, 1] (the same
    numbers as ``quantize_between(x, bits, -1, 1)``)."""
    xp = backend.xp()
    step = 2.0 / ((1 << bits) - 1)
    xp.clip(x, -1.0, 1.0, out=x)
    x += 1.0
    x /= step
    xp.rint(x, out=x)
    x *= step
    x -= 1.0


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
        self.state_bits = None if model.hardware is None else model.hardware.state_bits

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
        if self.state_bits is not None:
            quantize_states(x, self.state_bits)

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

    Parameters (validated on construction; a bad value raises ``ValueError``
    naming it, its value and what is allowed)
    ----------
    n_nodes : int
        Number of reservoir nodes ``N`` (the authors: 100).
    degree : float
        Mean degree: ``round(degree * n_nodes)`` nonzeros (the authors: 10).
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
    self_loops : bool
        Whether ``W`` may have diagonal entries (default True, as in a uniformly
        random sparse matrix; the authors' choice is not stated in their text).
    features : {"states", "states_squares"}
        Readout features: ``n`` (the authors') or ``[n, n**2]``.
    readout_bias : bool
        Add a constant readout feature (default False, as the authors).
    ridge : float >= 0
        Ridge penalty (our default 1e-6).
    washout : int >= 0
        Steps dropped from the readout fit after each segment start (the authors: 200).
    seed : int or sequence of int
        One reservoir, or one per seed (a batch of independent reservoirs).
    chunk : int
        Steps whose input drive is computed at once (memory vs. overhead).
    hardware : HardwareModel, preset name or None
        Device non-idealities (module docstring); None or ``"ideal"``: none.
    """

    model_name = "esn"

    def __init__(self, n_nodes: int = 100, *, degree: float = 10, spectral_radius: float = 0.6,
                 leak: float = 0.0, bias: float = 0.0, input_scaling: float = 1.2,
                 input_layout: str = "block", input_density: float = 0.1, n_inputs: int | None = None,
                 self_loops: bool = True, features: str = "states", readout_bias: bool = False,
                 ridge: float = 1e-6, washout: int = 200, seed=0, chunk: int = 256, hardware=None):
        self.hardware = as_model(hardware)
        self.n_nodes = check_int("n_nodes", n_nodes, low=1)
        self.self_loops = bool(self_loops)
        self.degree = topology.check_degree(degree, self.n_nodes, self.self_loops)
        self.spectral_radius = check_real("spectral_radius", spectral_radius, low=0, low_open=True)
        self.leak = check_real("leak", leak, low=0, high=1, high_open=True)
        self.bias = check_real("bias", bias)
        self.input_scaling = check_real("input_scaling", input_scaling, low=0, low_open=True)
        self.input_layout = check_choice("input_layout", input_layout, topology.INPUT_LAYOUTS)
        self.input_density = check_interval("input_density", input_density, 0.0, 1.0)
        self.features = check_choice("features", features, FEATURES)
        self.readout_bias = readout_bias
        self.ridge = check_real("ridge", ridge, low=0)
        self.washout = check_int("washout", washout, low=0)
        self.chunk = check_int("chunk", chunk, low=1)
        self.seeds_, self._several = check_seeds(seed)
        self.seed = list(self.seeds_) if self._several else self.seeds_[0]
        self.n_reservoirs = len(self.seeds_)
        self.readout_ = RidgeReadout(self.ridge, self.features, readout_bias,
                                     bits=None if self.hardware is None else self.hardware.readout_bits)
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
            self._build_inputs(check_int("n_inputs", n_inputs, low=1))

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
        self.n_inputs = n_inputs
        self.W_in_ = np.stack([
            topology.input_matrix(self.n_nodes, n_inputs, self.input_layout, self.input_scaling,
                                  topology.host_rng(s, "input"), density=self.input_density)
            for s in self.seeds_])
        if self._programs_weights():
            self.W_in_ = np.stack([self._program(w, s, "input") for w, s in zip(self.W_in_, self.seeds_)])
        self._plans.clear()

    def _programs_weights(self) -> bool:
        return self.hardware is not None and not self.hardware.weights_ideal

    def _program(self, w: np.ndarray, seed: int, stream: str) -> np.ndarray:
        """``w`` written once to the device: clip = its largest magnitude."""
        clip = float(np.abs(w).max()) if w.size else 0.0
        if clip == 0.0:
            return w.copy()
        out = self.hardware.program_values(np.asarray(w, dtype=float).ravel(), hardware_rng(seed, stream),
                                           clip=clip)
        return np.asarray(backend.to_host(out), dtype=float).reshape(w.shape)

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

    def _batch_input(self, u, name: str = "u"):
        """``(u3 (T, B, d) on the device, batched)`` from ``(T, d)`` or ``(T, B, d)``."""
        u_host = np.asarray(backend.to_host(u), dtype=float)
        if u_host.ndim not in (2, 3):
            raise ValueError(f"{name} must have shape (time, n_inputs) or (time, batch, n_inputs), "
                             f"got shape {u_host.shape}")
        if u_host.shape[0] < 1:
            raise ValueError(f"{name} must have at least one time step, got shape {u_host.shape}")
        d = u_host.shape[-1]
        if self.n_inputs is None:
            self._build_inputs(check_int("n_inputs", d, low=1))
        elif d != self.n_inputs:
            raise ValueError(f"{name} must have n_inputs={self.n_inputs} features in its last axis, "
                             f"got {d} (shape {u_host.shape})")
        check_finite_array(name, u_host)
        s = self.n_reservoirs
        if u_host.ndim == 2:
            u3 = np.broadcast_to(u_host[:, None], (u_host.shape[0], s, d))
            batched = self._several
        else:
            if s > 1 and u_host.shape[1] != s:
                raise ValueError(f"{name} has {u_host.shape[1]} batch columns but the model has {s} "
                                 f"seeds; give shape (time, {s}, {d}) or (time, {d})")
            u3, batched = u_host, True
        return backend.asarray(np.ascontiguousarray(u3)), batched

    def _initial_nodes(self, plan: _Plan, initial_state: ReservoirState | None):
        xp = backend.xp()
        if initial_state is None:
            return xp.zeros(plan.width)
        nodes = xp.asarray(initial_state.nodes, dtype=float)
        nodes = xp.broadcast_to(nodes.reshape(-1, self.n_nodes), (plan.batch, self.n_nodes))
        return plan.flat(nodes)

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
        fast = type(plan) is _Plan and self.leak == 0.0 and plan.state_bits is None
        prev = x0
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

    def run(self, u, *, initial_state: ReservoirState | None = None,
            record_states: bool = True) -> ReservoirRun:
        """Drive the reservoir with ``u (T, d)`` or ``(T, B, d)`` (teacher forcing).

        Starts from zero node states (or ``initial_state``). Returns a
        :class:`ReservoirRun` whose ``states[t]`` is ``n(t + 1)``, the state
        after input ``u[t]``.
        """
        u3, batched = self._batch_input(u)
        plan = self._plan(u3.shape[1])
        rec, last = self._teacher(plan, u3, self._initial_nodes(plan, initial_state), record_states)
        states = self._squeeze(plan.to_batch_major(rec), batched) if record_states else None
        return ReservoirRun(states=states, first_index=1, batched=batched,
                            final_state=ReservoirState(backend.to_host(plan.nodes(last)).copy()),
                            params=self.get_params())

    def _training_mask(self, n_rows: int, washout: int, segment_starts) -> np.ndarray:
        starts = [0] if segment_starts is None else sorted({0, *map(int, segment_starts)})
        if segment_starts is not None:
            arr = np.asarray(list(segment_starts))
            if arr.ndim != 1 or (arr.size and (np.any(np.diff(arr) <= 0) or arr.min() < 0
                                               or arr.max() >= n_rows + 1)):
                raise ValueError("segment_starts must be strictly increasing time indices in "
                                 f"[0, {n_rows}], got {list(segment_starts)}")
        mask = np.ones(n_rows, dtype=bool)
        for s in starts:
            mask[s: s + washout] = False
        if not mask.any():
            raise ValueError(f"washout={washout} after each segment start leaves no training rows "
                             f"out of {n_rows}")
        return mask

    def fit(self, u, y=None, *, washout: int | None = None, segment_starts=None,
            pool_batch: bool = False, initial_state: ReservoirState | None = None):
        """Fit the ridge readout by teacher forcing.

        ``y=None`` (the authors' task): the target of the state after ``u[t]``
        is the next input ``u[t + 1]``. Otherwise ``y`` (same length as ``u``)
        is the target of the state after ``u[t]``. Rows within ``washout``
        steps after ``0`` and after each of ``segment_starts`` (time indices
        where the context changes) are dropped. Batched input fits one readout
        per column, or one over all columns with ``pool_batch=True``.
        Returns ``self``.
        """
        washout = self.washout if washout is None else check_int("washout", washout, low=0)
        u3, batched = self._batch_input(u)
        if y is None:
            if u3.shape[0] < 2:
                raise ValueError("u must have at least 2 time steps to fit next-step targets")
            inputs, targets = u3[:-1], u3[1:]
        else:
            y_host = np.asarray(backend.to_host(y), dtype=float)
            if y_host.shape[0] != u3.shape[0]:
                raise ValueError(f"y must have the same number of time steps as u ({u3.shape[0]}), "
                                 f"got {y_host.shape[0]}")
            check_finite_array("y", y_host)
            targets = y_host[:, None] if y_host.ndim == 2 else y_host
            targets = np.broadcast_to(targets, (u3.shape[0], u3.shape[1], targets.shape[-1]))
            inputs = u3
        run = self.run(inputs, initial_state=initial_state)
        states3 = run.states if run.batched else run.states[:, None]
        mask = self._training_mask(states3.shape[0], washout, segment_starts)
        self.readout_.fit(states3, targets, mask, pool=pool_batch)
        self.fit_state_ = run.final_state
        pred = backend.to_host(self.readout_.predict(states3[mask]))
        tgt = backend.to_host(targets)[mask]
        self.train_nrmse_ = float(np.sqrt(np.mean((pred - tgt) ** 2) / np.mean(np.var(tgt, axis=0))))
        return self

    def forecast(self, u_warm, horizon: int, *, initial_state: ReservoirState | None = None,
                 truth=None, record_states: bool = True, steering=None) -> ReservoirRun:
        """Warm up on ``u_warm`` (teacher forcing), then predict ``horizon`` steps in closed loop.

        ``prediction[h]`` estimates ``u[T_w + h]`` for ``T_w = len(u_warm)``; the
        readout output is fed back as the next input. ``truth`` (optional,
        ``(horizon, [B], d)``) is stored with the run for metrics and datasets.
        ``steering`` needs link phases: see :meth:`RhythmicSharing.forecast`.
        """
        if steering is not None:
            raise ValueError(f"steering={steering!r} needs link phases; a plain ESN allows only "
                             "steering=None (use RhythmicSharing)")
        horizon = check_int("horizon", horizon, low=1)
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


def _truth(truth, horizon: int):
    if truth is None:
        return None
    truth = np.asarray(backend.to_host(truth), dtype=float)
    if truth.shape[0] != horizon:
        raise ValueError(f"truth must have horizon={horizon} time steps, got {truth.shape[0]}")
    return truth
