"""Rhythmic Sharing: an echo state network whose links oscillate (Kang & Losert).

Kang H. & Losert W., "Rhythmic sharing: a bio-inspired paradigm for zero-shot
adaptive learning in neural networks", arXiv:2502.08644; Phys. Rev. Research
8, 013267 (2026); equations as in the authors' public example
(ALGORITHMS.md section 4). Discrete time, one step per sample:

Nodes (``A_n``: the ESN's sparse recurrent matrix; ``o``: elementwise product)::

    n(t+1) = l n(t) + (1 - l) tanh((A_n o M(t)) n(t) + W_in u(t) + b)

Links ``k = (i, j)`` are the nonzeros of ``A_n`` (node ``i`` receives from ``j``),
in CSR storage order; link ``k`` has a phase ``phi_k`` and modulation::

    M_k(t) = 1 - (m / 2) (1 + sin phi_k(t))                     (in [1 - m, 1])

Link activation (``link_activation="mean"``, the authors': mean over the two
end nodes)::

    a_k(t) = ((n_i(t) + 1) / 2 + (n_j(t) + 1) / 2) / 2

Local mean phase over the astrocyte graph ``A_phi`` and the activation-gated
Sakaguchi-Kuramoto update::

    Psi_k(t)    = arg( sum_l A_phi[k, l] exp(i phi_l(t)) / deg_k )
    phi_k(t+1)  = phi_k(t) + omega_k + sin(Psi_k - phi_k + gamma) (eps1 + eps2 a_k(t))

with ``phi_k(0) ~ U[0, 2 pi)``. Both updates use the time-``t`` quantities
(synchronous update). Global order parameter, recorded every step::

    R(t) exp(i <Phi>(t)) = (1 / L) sum_k exp(i phi_k(t))

Astrocyte graph, two ways (``astro_graph``):

- ``"links"`` (the authors'): an explicit random link-to-link graph ``A_phi``,
  each link listening to ``astro_degree`` (50) other links; one step costs
  ``O(astro_degree x L)``.
- ``"domains"``: ``n_domains`` astrocytes, each binding a domain ``S_d`` of links
  (as one astrocyte binds many synapses); every link is bound by
  ``domains_per_link`` astrocytes ``D(k)``. An astrocyte's mean field is
  ``Z_d = (1/|S_d|) sum_{l in S_d} exp(i phi_l)`` and a link's local mean phase is
  ``Psi_k = arg( sum_{d in D(k)} Z_d )``: one step costs ``O(L)``. This equals the
  ``"links"`` rule with the weighted graph ``A_phi = P^T diag(1/|S_d|) P``
  (:meth:`RhythmicSharing.astro_adjacency`).
- a sparse ``(L, L)`` matrix: an explicit (possibly weighted) ``A_phi``.

Normalisation: dividing row ``k`` by ``deg_k`` (or any positive number) does not
change ``Psi_k``, so no normalisation is applied. Where the local field
vanishes exactly, ``Psi_k`` is undefined and the coupling term is taken as 0
(a measure-zero event for the graphs built here).

Where the authors' example (as ALGORITHMS.md records it) is silent, our
choices, each an option: the recurrent matrix may hold self-loops
(``self_loops=True``); ``A_phi`` gives every link exactly ``astro_degree``
distinct neighbours other than itself (a random graph with that mean degree
could leave a link without neighbours, and its ``Psi`` undefined); no row
normalisation (it cannot change ``Psi``); the node and phase updates are
synchronous; the spectral radius is computed deterministically (the
authors' ARPACK call starts from a random vector); the steering step
``omega0 = 1e-3`` (small enough to pass within ``phase_tol = 1e-3`` of any
target) and ``h`` summed over coordinates.

Implementation (what makes a step fast; the numbers are the same as the
equations up to rounding, checked against a loop-based reference in the tests):
``sin phi`` and ``cos phi`` come from one SIMD ``tan(phi / 2)`` (half-angle
formulas); ``sin(Psi - phi) = (F_im cos phi - F_re sin phi) / |F|`` with
``F = A_phi exp(i phi)``, so no ``arg`` or second ``sin`` is evaluated; the
modulated weights are written into the CSR ``data`` array in place; the link
activation is one sparse product with the link-node incidence matrix.

Hardware (``hardware=``; the ESN's hook points, :mod:`astrocore.reservoir.esn`, plus
two of the links; every part of the model acting there is applied, in order):

- ``links``: each link's modulation depth, once per reservoir
  (``modulation_noise`` sigma: device-to-device variation, ``m_k = m (1 + sigma
  e_k)``, ``e_k ~ N(0, 1)``; not clipped: ``M_k`` may leave [0, 1] where ``m_k > 1``);
- ``phase``: each link's phase as its oscillator sees it, every step
  (``phase_noise`` sigma, rad): with free (or steered) phases every link's
  phase takes ``+ sigma e_k(t)`` each step after the Kuramoto update (the
  noisy Kuramoto model: phases diffuse); with frozen phases the modulation
  sees ``phi_k + sigma e_k(t)`` (jitter around the frozen phase, ``M`` and the
  recorded order parameter computed from the jittered phases every step).
  Each batch column draws from its own stream of its seed (a seed's first
  column: the same numbers as a run of that seed alone);
- ``state``: applied in the node update here too.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .. import backend, numeric_path
from ..hardware import Chips
from ..validation import (AnyOf, Array, Bool, Choice, InstanceOf, Integer, InvalidParameterError, Optional, Real, Seed,
                          check_memory, memory_budget, validate_params)
from . import _fused, topology
from ._constraints import HARDWARE, SERIES, STATE, SeedOrSeeds, graph_bytes, plan_bytes
from ._kernels import spmv_acc, to_device_csr
from .controller import PhaseController
from .esn import ESN, _Plan, _truth
from .readout import FEATURES
from .results import ReservoirRun, ReservoirState

TWO_PI = 2.0 * np.pi

_SPARSE_TYPES = (sp.spmatrix, sp.sparray) if hasattr(sp, "sparray") else (sp.spmatrix,)
_ASTRO_MATRIX = InstanceOf(*_SPARSE_TYPES, np.ndarray, example=lambda: sp.eye(2, format="csr"))


def _describe_graph(graph) -> str:
    return repr(graph) if isinstance(graph, str) else f"a matrix of shape {graph.shape}"


class _RhythmicPlan(_Plan):
    """Batch-major block-diagonal plan with link phases (one block per batch column).

    The free step is :func:`._fused.free_steps` (a compiled loop over a whole
    chunk, or its NumPy reference: with hardware hooks, on CuPy, with
    ``ASTROCORE_JIT=0``); frozen phases fix the modulated weights once, then
    every step is the ESN's node step.
    """

    def __init__(self, model: RhythmicSharing, col_seeds: tuple):
        super().__init__(model, col_seeds, node_major=False)
        xp = backend.xp()
        self.model = model
        if self.batch == 1:  # the parent used the seed's own matrix: copy, its data is rewritten
            self.W = to_device_csr(model.W_[col_seeds[0]].copy())
            self.spmv = spmv_acc(self.W)
        L, B = model.n_links, self.batch
        self.n_links, self.width_links = L, B * L
        w0 = xp.asarray(np.concatenate([model.W_[s].data for s in col_seeds]))
        if model.m_links_ is None:
            self.wA = w0 * (1.0 - model.m / 2.0)
            self.wB = w0 * (model.m / 2.0)
        else:  # device-to-device variation of the modulation depth, per link
            m = xp.asarray(np.concatenate([model.m_links_[s] for s in col_seeds]))
            self.wA = w0 * (1.0 - m / 2.0)
            self.wB = w0 * (m / 2.0)
        hw = model.hardware
        self.phase_hooks = () if hw is None else hw.at("phase")
        self._gens = None
        if self.phase_hooks:
            self.noise, self.seen = xp.empty(B * L), xp.empty(B * L)
            self._noise_host = self.noise if xp is np else np.empty(B * L)
        self.g0 = model.eps1 + model.eps2 / 2.0
        self.E = to_device_csr(topology.block_diag_csr(
            [model.incidence_[s] * (model.eps2 / 2.0) for s in col_seeds]))
        omega = np.broadcast_to(np.asarray(model.omega, dtype=float), (L,))
        # one value (host) or one per link and column
        self.omega = omega[:1].copy() if np.all(omega == omega[0]) else xp.asarray(np.tile(omega, B))
        n = B * L
        self.phi = xp.zeros(n)
        self.sc = xp.zeros(2 * n)       # [sin phi | cos phi]
        self.work = xp.zeros((10, n))   # scratch of the step
        self._sc_rows, self._ones = self.sc.reshape(2 * B, L), xp.ones(L)
        self._no_records, self._no_control = xp.empty((0, 2 * B)), xp.empty(0)
        self._args = None
        self.mode = "free"              # "free", "control" (gain/shift arrays) or "frozen"
        self.gain = self.shift = None
        self.osum = None                # (T, 2B) records of [sum sin | sum cos] per column
        self._stale = True              # sc and the modulated weights not those of phi

    def _step_args(self) -> tuple:
        """The free step's matrices, parameters and scratch (:mod:`._fused`), built on first use
        (frozen phases never need the astrocyte graph). On NumPy a matrix is passed as its CSR
        ``(indptr, indices, data)`` arrays (int64 indices), on CuPy as the device matrix."""
        if self._args is None:
            m, cols, B = self.model, self.col_seeds, self.batch
            if m.astro_mode == "domains":
                a1 = topology.block_diag_csr([sp.diags(topology.domain_weights(m.domains_[s])) @ m.domains_[s]
                                              for s in cols])
                a2 = topology.block_diag_csr([m.domains_[s].T.tocsr() for s in cols])
                a2.sort_indices()
            elif B > 1 and len(set(cols)) == 1:  # one graph shared by all columns, read once per step
                a1, a2 = m.astro_[cols[0]], None
            else:
                a1, a2 = topology.block_diag_csr([m.astro_[s] for s in cols]), None
            unit = bool(np.all(a1.data == 1.0))
            a2 = sp.csr_matrix((0, 1)) if a2 is None else a2
            # the fused loop reads at most two incidence entries per link (the mean, pre and post
            # incidences); a longer row takes the NumPy reference
            self._fusable = _fused.two_per_row(self.E.indptr)
            if backend.get_backend() == "numpy":
                def arrays(mat):
                    return (mat.indptr.astype(np.int64), mat.indices.astype(np.int64), mat.data)
                W, E, a1, a2 = (arrays(mat) for mat in (self.W, self.E, a1, a2))
                W = W[:2] + (self.W.data,)  # the live array (the reference writes the weights into it)
                domain_pairs = _fused.row_pairs(a2) if _fused.two_per_row(a2[0]) else _fused.NO_PAIRS
                pairs = _fused.row_pairs(E) + domain_pairs
            else:
                W, E, a1, a2 = self.W, self.E, to_device_csr(a1), to_device_csr(a2)
                pairs = ()
            gamma = self.model.gamma
            self._args = (W, self.wA, self.wB, E, self.g0, self.leak, a1, a2, pairs, unit,
                          float(np.cos(gamma)), float(np.sin(gamma)), self.sc, self.work)
            self._ops = _fused.step_operators(W, E, a1, a2, B * m.n_links, B)
        return self._args

    def set_phases(self, phases) -> None:
        xp = backend.xp()
        self.phi[:] = xp.asarray(phases, dtype=float).reshape(-1)
        self._stale = True
        if self.phase_hooks:  # phase-noise streams restart with every new set of phases
            self._reset_phase_streams()

    def _reset_phase_streams(self) -> None:
        """One stream per batch column: its seed's, the k-th replica for the k-th column of that seed."""
        seeds, L = self.model.seeds_, self.n_links
        self._gens = [backend._device_stream(seeds[s], "phase", (self.col_seeds[:b].count(s),))
                      for b, s in enumerate(self.col_seeds)]
        self._noise_rows = [self._noise_host[b * L:(b + 1) * L] for b in range(self.batch)]

    def phase_normals(self):
        """This step's standard normals, one per link and column (each column from its own stream),
        in ``self.noise``: the ``phase`` hook's draws (the plan is its site)."""
        if self._gens is None:
            self._reset_phase_streams()
        for gen, row in zip(self._gens, self._noise_rows):
            gen.standard_normal(out=row)
        if self.noise is not self._noise_host:
            self.noise[:] = backend.xp().asarray(self._noise_host)
        return self.noise

    def set_mode(self, mode: str, gain=None, shift=None) -> None:
        """``"free"``: Kuramoto dynamics; ``"control"``: ``phi += gain * increment + shift``
        (arrays of length B*L); ``"frozen"``: phases (and link strengths) fixed."""
        self.mode, self.gain, self.shift = mode, gain, shift

    def _sincos(self, src) -> None:
        """``sc`` and the modulated weights from the phases ``src``."""
        _fused.sincos_weights(src, self.sc, self.work, self.W.data, self.wA, self.wB)
        self._stale = src is not self.phi

    def sums(self, row) -> None:
        """``row[:B] = sum_k sin phi_k``, ``row[B:] = sum_k cos phi_k`` per column (current phases)."""
        if self._stale:
            self._sincos(self.phi)
        backend.xp().dot(self._sc_rows, self._ones, out=row)

    def step(self, prev, d, x, t: int) -> None:
        self.run_chunk(d[None], x[None], prev, t)

    def run_chunk(self, drive, tgt, prev, t0: int):
        """Advance over the rows of ``drive``, writing node states into the rows of ``tgt``."""
        if self.mode == "frozen":
            return self._frozen(drive, tgt, prev, t0)
        self._stale = True
        control = self.mode == "control"
        args = (drive, tgt, prev, t0, self._no_records if self.osum is None else self.osum, self.phi,
                self.omega, self.gain if control else self._no_control,
                self.shift if control else self._no_control, *self._step_args())
        if self.state_hooks or self.phase_hooks or not self._fusable or not _fused.free_steps.available():
            return _fused.free_steps.reference(*args, ops=self._ops, plan=self, state_hooks=self.state_hooks,
                                               phase_hooks=self.phase_hooks)
        return _fused.free_steps(*args)

    def _frozen(self, drive, tgt, prev, t0: int):
        """Frozen phases: the ESN node step with the fixed modulated weights; with phase noise the
        modulation sees the frozen phases plus fresh jitter every step."""
        dot, rows, ones, osum, node_step = backend.xp().dot, self._sc_rows, self._ones, self.osum, super().step
        if self._stale and not self.phase_hooks:
            self._sincos(self.phi)
        for t, (d, x) in enumerate(zip(drive, tgt), start=t0):
            if self.phase_hooks:
                seen = self.phi
                for part in self.phase_hooks:
                    seen = part.phase(seen, self, self.seen)
                self._sincos(seen)
            if osum is not None:
                dot(rows, ones, out=osum[t])
            node_step(prev, d, x, t)
            prev = x
        return prev


class RhythmicSharing(ESN):
    """Rhythmic Sharing reservoir (Kang & Losert; equations in the module docstring).

    Parameters are those of :class:`ESN` (with the authors' defaults: N = 100,
    degree 10, spectral radius 0.6, block input layout with scaling 1.2, leak
    0, bias 0, washout 200) and

    m : float in [0, 1]
        Modulation depth (0.6).
    omega : float or array of length n_links
        Natural frequency per step (0.01).
    eps1, eps2 : float
        Coupling gated by activation, ``eps1 + eps2 a_k`` (-0.2, 0.6).
    gamma : float
        Sakaguchi phase lag (0).
    astro_graph : {"links", "domains"} or sparse (n_links, n_links) matrix
        How the astrocyte graph is defined (module docstring).
    astro_degree : int
        Neighbours per link for ``"links"`` (50); for ``"domains"`` the target
        neighbourhood size that sets the default ``n_domains``.
    astro_self_loops : bool
        Whether a link may be its own neighbour in ``"links"`` (default False).
    n_domains : int or None
        Astrocytes for ``"domains"``; default ``round(L * dpl**2 / astro_degree)``
        so that a link shares an astrocyte with about ``astro_degree`` links
        (``dpl = domains_per_link``).
    domains_per_link : int
        Astrocytes binding each link (2: overlapping domains, a connected graph).
    link_activation : {"mean", "pre", "post"}
        ``a_k`` from both end nodes (the authors'), the sending node, or the receiving node.
    hardware : HardwareModel, preset name or None
        Device non-idealities (module docstring); None or ``"ideal"``: none.
    """

    model_name = "rhythmic"

    @validate_params({
        "n_nodes": Integer(1), "degree": Real(0, closed="neither"), "spectral_radius": Real(0, closed="neither"),
        "leak": Real(0, 1, closed="left"), "bias": Real(), "input_scaling": Real(0, closed="neither"),
        "input_layout": Choice(topology.INPUT_LAYOUTS), "input_density": Real(0, 1, closed="right"),
        "n_inputs": Optional(Integer(1)), "self_loops": Bool(), "features": Choice(FEATURES),
        "readout_bias": Bool(), "ridge": Real(0), "washout": Integer(0), "m": Real(0, 1),
        "omega": AnyOf(Real(), Array((1, 0))), "eps1": Real(), "eps2": Real(), "gamma": Real(),
        "astro_graph": AnyOf(Choice(("links", "domains")), _ASTRO_MATRIX), "astro_degree": Integer(1),
        "astro_self_loops": Bool(), "n_domains": Optional(Integer(1)), "domains_per_link": Integer(1),
        "link_activation": Choice(topology.LINK_ACTIVATIONS), "seed": SeedOrSeeds(), "chunk": Integer(1),
        "hardware": HARDWARE})
    def __init__(self, n_nodes: int = 100, *, degree: float = 10, spectral_radius: float = 0.6,
                 leak: float = 0.0, bias: float = 0.0, input_scaling: float = 1.2,
                 input_layout: str = "block", input_density: float = 0.1, n_inputs: int | None = None,
                 self_loops: bool = True, features: str = "states", readout_bias: bool = False,
                 ridge: float = 1e-6, washout: int = 200, m: float = 0.6, omega=0.01,
                 eps1: float = -0.2, eps2: float = 0.6, gamma: float = 0.0, astro_graph="links",
                 astro_degree: int = 50, astro_self_loops: bool = False, n_domains: int | None = None,
                 domains_per_link: int = 2, link_activation: str = "mean", seed=0, chunk: int = 256,
                 hardware=None):
        self.m = m
        self.eps1 = eps1
        self.eps2 = eps2
        self.gamma = gamma
        self.link_activation = link_activation
        self.astro_self_loops = astro_self_loops
        self.astro_mode = astro_graph if isinstance(astro_graph, str) else "explicit"
        self.astro_degree = astro_degree
        self.domains_per_link = domains_per_link
        self._requested = {"omega": omega, "astro_graph": astro_graph, "n_domains": n_domains}
        if n_domains is not None and self.astro_mode != "domains":
            raise InvalidParameterError(f"n_domains applies to astro_graph='domains' only, got n_domains="
                                        f"{n_domains} with astro_graph={_describe_graph(astro_graph)}; "
                                        "leave it None")
        if astro_self_loops and self.astro_mode != "links":
            raise InvalidParameterError(f"astro_self_loops applies to astro_graph='links' only, got True with "
                                        f"astro_graph={_describe_graph(astro_graph)}; leave it False")
        # ESN.__init__ validates its own parameters, then calls _check_structure (below) before drawing
        super().__init__(n_nodes, degree=degree, spectral_radius=spectral_radius, leak=leak, bias=bias,
                         input_scaling=input_scaling, input_layout=input_layout,
                         input_density=input_density, n_inputs=n_inputs, self_loops=self_loops,
                         features=features, readout_bias=readout_bias, ridge=ridge, washout=washout,
                         seed=seed, chunk=chunk, hardware=hardware)
        del self._requested
        L = self.n_links
        link_hooks = () if self.hardware is None else self.hardware.at("links")
        self.m_links_ = None if not link_hooks else [self._links(link_hooks, s, L) for s in self.seeds_]
        self.incidence_ = [topology.incidence_matrix(W, self.link_activation) for W in self.W_]
        self.phases0_ = numeric_path.nudge(np.stack([topology.host_rng(s, "phases").uniform(0.0, TWO_PI, L)
                                                     for s in self.seeds_]))
        self.astro_ = self.domains_ = None
        if self.astro_mode == "links":
            self.astro_ = [topology.astro_links_graph(L, self.astro_degree,
                                                      topology.host_rng(s, "astro"),
                                                      self_loops=self.astro_self_loops)
                           for s in self.seeds_]
        elif self.astro_mode == "domains":
            self.domains_ = [topology.astro_domains(L, self.n_domains, self.domains_per_link,
                                                    topology.host_rng(s, "astro"))
                             for s in self.seeds_]
        else:
            self.astro_ = [self._astro_matrix] * self.n_reservoirs
            del self._astro_matrix

    def _links(self, hooks, seed: int, n_links: int):
        """Each link's modulation depth on the device of ``seed``: ``m`` through the ``links`` hooks."""
        site = Chips([backend._device_stream(seed, "modulation", (0,))], hardware=self.hardware, n_cells=n_links)
        m = self.m
        for part in hooks:
            m = part.links(m, site)
        return m

    def _size_factors(self) -> tuple[dict, dict]:
        factors, values = super()._size_factors()
        factors["astro_degree"] = self.astro_degree / 50
        values["astro_degree"] = self.astro_degree
        return factors, values

    def _check_structure_memory(self, extra: float = 0.0, extra_factors=None, extra_values=None) -> None:
        """Before any structure is drawn: the cross-parameter constraints that need the number of
        links ``L = round(degree * n_nodes)``, then the memory of the matrices and the astrocyte graphs."""
        L = round(self.degree * self.n_nodes)
        omega = self._requested["omega"]
        if isinstance(omega, float):
            self.omega = omega
        elif omega.ndim == 0:
            self.omega = float(omega)
        elif omega.shape != (L,):
            raise InvalidParameterError(f"omega must be a finite real number or an array of n_links={L} values "
                                        f"(one per link), got shape {omega.shape}")
        else:
            self.omega = np.array(omega, dtype=float)
        self.n_domains = None
        if self.astro_mode == "links":
            high = L if self.astro_self_loops else L - 1
            if self.astro_degree > high:
                raise InvalidParameterError(f"astro_degree must be <= the number of links"
                                            f"{'' if self.astro_self_loops else ' - 1'} ({high}), got "
                                            f"{self.astro_degree}")
            per_link = float(self.astro_degree)
        elif self.astro_mode == "domains":
            dpl = self.domains_per_link
            requested = self._requested["n_domains"]
            if requested is not None and requested > L:
                raise InvalidParameterError(f"n_domains must be <= the number of links ({L}), got {requested}")
            self.n_domains = max(dpl, round(L * dpl * dpl / self.astro_degree)) if requested is None \
                else requested
            if dpl > self.n_domains:
                raise InvalidParameterError(f"domains_per_link must be <= n_domains ({self.n_domains}), got {dpl}")
            per_link = float(dpl)
        else:
            self._astro_matrix = _check_astro_matrix(self._requested["astro_graph"], L)
            per_link = 0.0
        super()._check_structure_memory(graph_bytes(L, per_link, self.n_reservoirs))

    model_names = {"links": "rhythmic_links", "domains": "rhythmic_domains",
                   "explicit": "rhythmic_explicit"}

    def get_params(self) -> dict:
        params = super().get_params()
        params.update({"model": self.model_names[self.astro_mode], "m": self.m,
                       "omega": self.omega if np.ndim(self.omega) == 0 else "per-link array",
                       "eps1": self.eps1, "eps2": self.eps2, "gamma": self.gamma,
                       "astro_graph": self.astro_mode, "astro_degree": self.astro_degree,
                       "astro_self_loops": self.astro_self_loops, "n_domains": self.n_domains,
                       "domains_per_link": self.domains_per_link,
                       "link_activation": self.link_activation, "n_links": self.n_links})
        return params

    def astro_adjacency(self, index: int = 0) -> sp.csr_matrix:
        """The link-to-link graph ``A_phi`` of reservoir ``index`` (host CSR).

        For ``"domains"`` the graph the domains imply, ``P^T diag(1/|S_d|) P``:
        passing it as ``astro_graph`` gives the same numbers as ``"domains"``.
        """
        if self.astro_mode == "domains":
            return topology.implied_adjacency(self.domains_[index])
        return self.astro_[index].copy()

    def _make_plan(self, col_seeds: tuple) -> _RhythmicPlan:
        return _RhythmicPlan(self, col_seeds)

    # ------------------------------------------------------------------ state
    def _initial_phases(self, plan: _RhythmicPlan, initial_state, phase_seed=None):
        if initial_state is not None and initial_state.phases is not None:
            ph = np.asarray(backend.to_host(initial_state.phases), dtype=float).reshape(-1, self.n_links)
            return np.broadcast_to(ph, (plan.batch, self.n_links))
        if phase_seed is None:
            return self.phases0_[list(plan.col_seeds)]
        if phase_seed == "steer":
            draws = [topology.host_rng(s, "steer").uniform(0.0, TWO_PI, self.n_links)
                     for s in self.seeds_]
        else:
            rng = topology.host_rng(int(phase_seed), "steer")
            draws = [rng.uniform(0.0, TWO_PI, self.n_links) for _ in self.seeds_]
        return np.stack(draws)[list(plan.col_seeds)]

    def _order(self, osum):
        """``(R, <Phi>)`` ``(T, B)`` from the recorded sums ``[sum sin | sum cos]``."""
        osum = backend.to_host(osum)
        b = osum.shape[1] // 2
        s, c = osum[:, :b], osum[:, b:]
        return np.hypot(s, c) / self.n_links, np.arctan2(s, c)

    def _final_state(self, plan, x):
        return ReservoirState(backend.to_host(plan.nodes(x)).copy(),
                              backend.to_host(plan.phi).reshape(plan.batch, self.n_links).copy())

    def _teacher_rs(self, plan: _RhythmicPlan, u3, x0, record=True):
        """Teacher forcing with order records aligned to the states (entry t: phi(t + 1))."""
        xp = backend.xp()
        plan.osum = xp.zeros((u3.shape[0] + 1, 2 * plan.batch))
        try:
            rec, last = self._teacher(plan, u3, x0, record)
            plan.sums(plan.osum[-1])
            self._check_chunk(plan.osum, 0, "order parameter")
            osum = plan.osum[1:]
        finally:
            plan.osum = None
        return rec, last, osum

    def _closed_rs(self, plan: _RhythmicPlan, x0, horizon, record=True, coef=None):
        xp = backend.xp()
        plan.osum = xp.zeros((horizon, 2 * plan.batch))
        try:
            pred, rec, last = self._closed_loop(plan, x0, horizon, record, coef)
            plan.sums(plan.osum[-1])
            osum = plan.osum
        finally:
            plan.osum = None
        return pred, rec, last, osum

    # ------------------------------------------------------------------ public
    @validate_params({"u": SERIES, "initial_state": STATE, "record_states": Bool()})
    def run(self, u, *, initial_state: ReservoirState | None = None,
            record_states: bool = True) -> ReservoirRun:
        """Drive with ``u (T, d)`` or ``(T, B, d)``; states, ``R`` and ``<Phi>`` per step.

        Starts from zero node states and ``phi(0)`` (or ``initial_state``: node
        states and link phases of one row or one row per batch column). Entry
        ``t`` holds ``n(t + 1)`` and the order parameter of ``phi(t + 1)``. ``u``
        is checked as in :meth:`ESN.run`.
        """
        self._check_run(u, initial_state, record_states)
        u3, batched = self._batch_input(u)
        plan = self._plan(u3.shape[1])
        plan.set_mode("free")
        plan.set_phases(self._initial_phases(plan, initial_state))
        rec, last, osum = self._teacher_rs(plan, u3, self._initial_nodes(plan, initial_state),
                                           record_states)
        r, phase = self._order(osum)
        sq = self._squeeze
        return ReservoirRun(states=sq(plan.to_batch_major(rec), batched) if record_states else None,
                            order_R=sq(r, batched), mean_phase=sq(phase, batched), first_index=1,
                            batched=batched, final_state=self._final_state(plan, last),
                            params=self.get_params())

    @validate_params({"u_warm": SERIES, "horizon": Integer(1),
                      "steering": Optional(AnyOf(Choice(("authors", "sweep")),
                                                 InstanceOf(PhaseController, example=PhaseController))),
                      "initial_state": STATE, "truth": Optional(SERIES), "record_states": Bool(),
                      "target_phase": Real(), "n_free": Integer(0), "omega0": Real(),
                      "phase_tol": Real(0, closed="neither"), "error_tol": Real(0, closed="neither"),
                      "n_candidates": Integer(1), "n_settle": Integer(0), "window": Integer(1),
                      "phase_seed": Optional(Seed())})
    def forecast(self, u_warm, horizon: int, *, steering=None, initial_state=None, truth=None,
                 record_states: bool = True, target_phase: float = np.pi, n_free: int = 600,
                 omega0: float = 1e-3, phase_tol: float = 1e-3, error_tol: float = 1e-3,
                 n_candidates: int = 32, n_settle: int = 100, window: int = 100,
                 phase_seed=None) -> ReservoirRun:
        """Warm up on ``u_warm``, optionally select a context by steering, then forecast.

        ``steering=None``: from zero node states and ``phi(0)`` (or
        ``initial_state``), teacher forcing on ``u_warm`` with free phases, then
        ``horizon`` closed-loop steps with the phases still following their own
        dynamics.

        ``steering="authors"`` (the authors' public code; their eqs 14-15):
        reset node states and re-draw phases (``phase_seed``: None for the
        model's own steering stream, or an int); teacher-force the observed
        window ``u_warm``; until step ``n_free`` (600) the phases follow their
        dynamics; from then on every link phase is shifted rigidly,
        ``phi <- phi + omega0`` (``R`` stays, ``<Phi>`` sweeps); a column's phases
        are frozen for good (``M`` fixed) at the first step where
        ``|<Phi> - target_phase| < phase_tol`` (circular) and the one-step error
        ``h = ||W_out f(n(t+1)) - u(t+1)||^2 < error_tol`` (1e-3 both). The target
        is the user's choice (the authors' example uses pi, our default). A
        column never frozen inside the window is frozen at its end (``info
        ["converged"]`` False, a ``RuntimeWarning``). Then closed loop.

        ``steering="sweep"`` (a principled variant): teacher-force ``n_free``
        steps with free phases; then try ``n_candidates`` rigid offsets
        ``theta_j = 2 pi j / n_candidates`` covering a full turn of ``<Phi>``
        (``phi <- phi + theta_j``, ``R`` unchanged), in parallel as batch
        columns with frozen phases: each is teacher-forced ``n_settle`` steps,
        then forecasts ``window`` steps in closed loop, scored by
        ``E_j = mean_t ||y_hat - u||^2 / sum_i var(u_i)`` on the same observed data.
        The offset minimising ``E_j`` is kept (frozen) and teacher forcing
        continues to the end of ``u_warm``; then closed loop. Needs
        ``len(u_warm) >= n_free + n_settle + window``.

        ``steering=PhaseController(...)`` (astrocytes as perturbation units,
        :mod:`astrocore.reservoir.phase_control`): ``n_free`` free steps, then
        MGD on one phase offset per astrocyte (or on ``<Phi>`` and ``R``) from the
        one-step error at the labelled steps after ``n_free + n_settle``, readout
        frozen; the learned phases stay frozen to the end of ``u_warm`` and
        through the closed loop. ``PhaseController(n_iterations=0)``: freeze at the
        free phases, no offset.

        Returns a :class:`ReservoirRun` of the forecast (``prediction[h]``
        estimates ``u[T_w + h]``), with ``warmup`` holding ``R`` and ``<Phi>``
        over the observed window and ``info`` the steering outcome.

        Checked before any step is taken (an
        :class:`~astrocore.validation.InvalidParameterError` names what is
        wrong): every declared parameter; the model is fitted and its readout
        serves the batch; ``u_warm`` is finite with ``n_inputs`` features;
        ``truth`` has the prediction's shape; ``steering="authors"`` needs
        ``n_free < len(u_warm)`` (else the phases would never be steered);
        ``initial_state`` only without steering; the predictions, records and
        (``"sweep"``) the ``n_candidates`` candidate reservoirs fit in memory
        (:class:`~astrocore.validation.MemoryRequestError`).
        """
        from . import steering as _steering

        steps, batch, d = self._input_shape(u_warm, "u_warm")
        self._check_fitted(batch)
        if steering is not None and initial_state is not None:
            raise InvalidParameterError(f"initial_state must be None with steering={steering!r}: steering "
                                        "resets the node states and re-draws the phases")
        self._check_initial_state(initial_state, batch)
        self._check_truth(truth, horizon, batch, u_warm.ndim == 3 or self._several, d)
        if isinstance(steering, PhaseController) and n_free + 1 >= steps:
            raise InvalidParameterError(
                f"n_free must be < the length of u_warm ({steps}) - 1 for a PhaseController (the phases are "
                f"controlled after n_free free steps), got {n_free}")
        if steering == "authors" and n_free >= steps:
            raise InvalidParameterError(
                f"n_free must be < the length of u_warm ({steps}) for steering='authors' (the phases are "
                f"steered after n_free free steps), got {n_free}")
        if steering == "sweep":
            need = n_free + n_settle + window
            if steps < need:
                raise InvalidParameterError(
                    f"u_warm must have at least n_free + n_settle + window = {need} time steps for "
                    f"steering='sweep', got {steps}")
            nbytes = plan_bytes(self, batch * n_candidates) + 8.0 * batch * n_candidates * (
                (n_settle + window) * (d + 4) + 4 * self.n_nodes)
            if nbytes > memory_budget():
                check_memory("n_candidates", n_candidates, nbytes,
                             f"{batch} x {n_candidates} candidate reservoirs of {self.n_links} links run "
                             "side by side")
        self._check_forecast_memory(u_warm, horizon, batch, d, record_states)
        u3, batched = self._batch_input(u_warm, "u_warm")
        plan = self._plan(u3.shape[1])
        sq = self._squeeze
        if steering is None:
            plan.set_mode("free")
            plan.set_phases(self._initial_phases(plan, initial_state))
            _, last, wsum = self._teacher_rs(plan, u3, self._initial_nodes(plan, initial_state),
                                             record=False)
            info = {"steering": "none"}
        else:
            phases = self._initial_phases(plan, None, "steer" if phase_seed is None else phase_seed)
            if isinstance(steering, PhaseController):
                from .phase_control import steer_mgd

                last, wsum, info = steer_mgd(self, plan, u3, phases, controller=steering, n_free=n_free,
                                             n_settle=n_settle)
            elif steering == "authors":
                last, wsum, info = _steering.steer_authors(
                    self, plan, u3, phases, target_phase=target_phase, omega0=omega0, phase_tol=phase_tol,
                    error_tol=error_tol, n_free=n_free)
            else:
                last, wsum, info = _steering.steer_sweep(
                    self, plan, u3, phases, n_candidates=n_candidates, n_settle=n_settle, window=window,
                    n_free=n_free)
            plan.set_mode("frozen")
        wr, wphase = self._order(wsum)
        pred, rec, final, osum = self._closed_rs(plan, last, horizon, record_states)
        r, phase = self._order(osum)
        plan.set_mode("free")
        warm = ReservoirRun(order_R=sq(wr, batched), mean_phase=sq(wphase, batched), first_index=1,
                            batched=batched, params=self.get_params())
        return ReservoirRun(
            states=sq(plan.to_batch_major(rec), batched) if record_states else None,
            order_R=sq(r, batched), mean_phase=sq(phase, batched), prediction=sq(pred, batched),
            truth=_truth(truth, horizon), first_index=u3.shape[0], batched=batched,
            final_state=self._final_state(plan, final), info=info, params=self.get_params(),
            warmup=warm)


def _check_astro_matrix(graph, n_links: int) -> sp.csr_matrix:
    if graph.ndim != 2:
        raise InvalidParameterError(f"astro_graph must be a (n_links, n_links) = ({n_links}, {n_links}) matrix, "
                                    f"got shape {graph.shape}")
    mat = sp.csr_matrix(graph, dtype=float)
    if mat.shape != (n_links, n_links):
        raise InvalidParameterError(f"astro_graph must be a (n_links, n_links) = ({n_links}, {n_links}) matrix, "
                         f"got shape {mat.shape}")
    mat.sum_duplicates()
    mat.eliminate_zeros()
    mat.sort_indices()
    if not np.all(np.isfinite(mat.data)) or np.any(mat.data < 0):
        bad = np.flatnonzero(~np.isfinite(mat.data) | (mat.data < 0))[0]
        row = int(np.searchsorted(mat.indptr, bad, side="right") - 1)
        raise InvalidParameterError(f"astro_graph must have finite, non-negative weights, got "
                                    f"{mat.data[bad]} at index ({row}, {int(mat.indices[bad])})")
    empty = np.flatnonzero(np.diff(mat.indptr) == 0)
    if empty.size:
        raise InvalidParameterError(f"astro_graph must give every link at least one neighbour; row {empty[0]} "
                         "is empty")
    return mat
