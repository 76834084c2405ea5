"""Perturbation directions: how each draw perturbs the network and how its cost change becomes ``G``.

A direction is one class: its constructor takes and validates its options
(immutable afterwards); :meth:`Direction.init` binds a copy of it to one run
(the model, the amplitude, each seed's random stream) and that copy holds the
run's state (random streams, running traces). The kernel
(:class:`astrocore.mgd.kernel.Kernel`) calls the bound copy once per window,
in the manner of optax's ``init``/``update`` pairs and reservoirpy's nodes::

    bound = direction.init(model, amplitude, generators)
    bound.begin(kernel, theta, xb, yb)            # clean pass(es) of the window's inputs
    block = bound.draw(count, theta)              # ``count`` new perturbations (a tuple, draws on axis 1)
    bound.step(kernel, theta, block, pairs, xb, yb)   # a chunk's perturbed passes, measured, accumulated
    G = bound.end(theta)                          # the window's G_int (S, N); state updates

(plus :meth:`Direction.pair_bytes` to size the chunks, and optional
:meth:`~Direction.hold`, :meth:`~Direction.resume`, :meth:`~Direction.applied`
for a perturbation held over an update). Every direction is normalised like
the multiplexing modes: a step's ``G`` has expectation ``g / N`` (``node`` and
``activity``; ``astrocyte`` a positive semi-definite preconditioning of it), so
``eta`` and ``tau_theta`` mean the same in every direction.

Directions
----------
:class:`Weight` (the default, ``direction="code"``): weight perturbation,
``theta~`` multiplexed by ``mode`` (:mod:`astrocore.mgd.perturbations`),
``G = C~ theta~ / ||theta~||^2`` with ``C~ = C(theta + theta~) - C0``.

The *smart* directions (ALGORITHMS.md section 3) are built from values an
astrocyte at a synapse ``i -> j`` can see, the presynaptic activity ``a_i`` and
a postsynaptic error term ``d_j``. Layer ``l`` computes ``z_l = a_l W_l + b_l``
with ``a_l = h_{l-1}`` (the bias row sees a constant input 1, so ``a~ = [a,
1]``); ``M`` is the number of non-input units, ``B`` the batch size, ``s``
independent signs per unit and per sample. Each draw is one forward pass on the
batch that returns the per-sample costs ``L_b``; ``C~_b = (L_b(perturbed) -
L_b) / B`` is sample ``b``'s share of the change of the batch cost ``C = mean_b
L_b``.

:class:`Node` (node perturbation): every pre-activation is shifted,
``z_bj <- z_bj + sigma s_bj`` with ``sigma = amplitude / sqrt(M)`` (the
perturbation of each sample has norm ``amplitude``). Then ``e_bj = C~_b s_bj /
sigma`` is an unbiased estimate of ``dC/dz_bj`` to first order (``C~_b ~ sigma
s_b . dC/dz_b`` and ``E[s s^T] = I``; dividing by ``sigma^2`` would be wrong by
a factor ``1 / sigma``), and the weight update is the outer product with the
presynaptic activity, ``G_W[i, j] = sum_b a_bi e_bj``, ``G_b[j] = sum_b
e_bj``. ``layerwise=True`` perturbs one layer per draw, layer ``p mod L`` for
draw ``p`` (``sigma = amplitude / sqrt(n_l)``, the estimate times L so that a
cycle of L draws is unbiased); ``per_sample=False`` correlates every ``s_b``
with the whole batch's ``C~`` only (still unbiased, noisier: what hardware that
measures only the batch cost can do).

:class:`Activity`: a weight perturbation confined to the rank-one subspace
that an astrocyte can generate from local activity, ``W~_l = rho u_b s_b^T``
for sample ``b`` with ``u_b = a~_b / ||a~_b||`` (bias row included) and ``rho =
amplitude / sqrt(M)``, mixed with a Bernoulli (code) perturbation ``kappa c``
(``c = +-1`` per parameter, shared by the batch, ``kappa = amplitude /
sqrt(N)``): ``theta~_b = sqrt(1 - mix) r_b + sqrt(mix) kappa c`` (``E||theta~_b||^2
= amplitude^2``). The forward pass applies this per-sample weight perturbation
exactly (the rank-one part moves ``z_b`` by ``rho (a~_b,pert . u_b) s_b``). Each
sample's weight gradient ``a~_b delta_b^T`` lies in the subspace ``{u_b x v}``
that the astrocyte knows, so the estimate is projected onto it: ``sum_b P_b
Sigma_b^-1 theta~_b C~_b`` with ``Sigma_b`` the second moment of ``theta~_b``
(per output unit ``(1-mix) rho^2 u_b u_b^T + mix kappa^2 I``) and ``P_b`` the
projection on ``u_b``; as ``u_b`` is an eigenvector of ``Sigma_b`` (eigenvalue
``lam = (1-mix) rho^2 + mix kappa^2``) this is ``G_W = sum_b u_b (x) e_b`` with
``e_b = C~_b (u_b^T theta~_b) / lam``: an outer product of local activity with
a postsynaptic term, unbiased to first order for every ``mix`` in [0, 1]
(``E[P Sigma^-1 theta~ theta~^T] g_b = P g_b = g_b``). Without the projection
the unbiased estimate ``Sigma_b^-1 theta~_b C~_b`` would spend its variance on
the orthogonal complement, where the gradient is zero (``1 / mix`` times code
mode's noise there). At ``mix = 0`` it is node perturbation with a per-sample
amplitude ``rho ||a~_b||``; at ``mix = 1``, Bernoulli weight perturbations read
out through the activity subspace.

:class:`Astrocyte`: node perturbation whose signs are biased by the
astrocyte's own running estimate ``d_j`` of each unit's error signal:
``P(s_bj = sign(d_j)) = (1 + guide) / 2`` (fair where ``d_j = 0``), with ``d <-
d + (d_window - d) / tau_d`` after every window, ``d_window`` the window's mean
batch-summed node error ``sum_b e_bj`` per draw: a leaky integral, in windows,
of the error the unit has been seeing, which the astrocyte can keep from the
products ``C~ s_j`` at its own synapses. The estimate ``e_b = C~_b s_b / sigma``
is left uncorrected, so ``E[e_b] = K dC/dz_b`` with ``K = E[s s^T] = (1 -
guide^2) I + guide^2 q q^T``, ``q = sign(d)``: positive semi-definite for any
``d``, hence ``E[G] . g >= 0`` and ``E[G]`` is a descent direction on average
whatever the trace holds, with extra weight ``guide^2 (q . dC/dz_b) q`` on the
error pattern that recent inputs shared (guided evolution strategies,
Maheswaranathan et al., ICML 2019, sample along a surrogate gradient the same
way). At ``guide = 0`` it is ``node``.

A new direction
---------------
Subclass :class:`Direction` (or :class:`Node` for a new node-perturbation
rule, overriding the hooks ``_signs``, ``_presynaptic``, ``_shift``,
``_readout``, ``_update_state``), declare its options in its constructor
with :func:`astrocore.validation.validate_params`, list them in ``_options``
and register it with :func:`register`: ``train(..., direction=MyRule(...))``
and ``direction="my_rule"`` then work in :func:`astrocore.mgd.train` and
:func:`astrocore.mgd.estimate_gradient`.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..validation import (
    Array,
    Bool,
    Constraint,
    InvalidParameterError,
    Optional,
    Real,
    Text,
    check_shape,
    validate_params,
)
from .kernel import ACTIVATION_BYTES, work_array
from .perturbations import (
    MODE,
    MULTIPLEXING,
    PERTURBATIONS,
    SPARSITY,
    check_options,
    random_signs,
)

REGISTRY: dict[str, type] = {}
"""The smart directions, by name (:func:`register`)."""


def register(name: str):
    """Class decorator: register a :class:`Direction` subclass under ``name`` (its default options)."""

    def decorate(cls):
        cls.name = name
        REGISTRY[name] = cls
        return cls

    return decorate


class Direction:
    """Base class of the perturbation directions (module docstring: the protocol)."""

    name = "?"
    _options: tuple[str, ...] = ()
    supports_highpass = False
    """Whether a high-pass of the measured cost can stand in for the clean reference ``C0``."""

    def __repr__(self):
        options = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._options)
        return f"{type(self).__name__}({options})"

    def attrs(self) -> dict:
        """The options, for a run's attrs (scalars and strings only)."""
        return {k: getattr(self, k) for k in self._options}

    def init(self, model, amplitude: float, generators) -> Direction:
        """A copy of this direction bound to one run: ``model`` (an MLP, or one on a device), the
        perturbation ``amplitude``, one random Generator per seed. The copy holds the run's state."""
        bound = object.__new__(type(self))  # a shallow copy (copy.copy's protocol costs more than the pass)
        bound.__dict__.update(self.__dict__)
        bound.model, bound.amplitude, bound.gens = model, float(amplitude), list(generators)
        bound._bind()
        return bound

    def _bind(self):
        """Set up the state of a bound copy (``self.model``, ``self.amplitude``, ``self.gens`` set)."""

    # -- the window protocol (bound copies) ------------------------------------------------
    def pair_bytes(self, model, n_seeds: int, batch: int) -> int:  # pragma: no cover - abstract
        """Bytes one (perturbation, input) pair of all seeds takes in a batched pass."""
        raise NotImplementedError

    def begin(self, kernel, theta, xb, yb):  # pragma: no cover - abstract
        """Start a window: the clean pass(es) of its inputs (S, nX, B, d), counted in ``kernel.evaluations``."""
        raise NotImplementedError

    def draw(self, count: int, theta) -> tuple:  # pragma: no cover - abstract
        """The next ``count`` perturbations of every seed: a tuple of arrays with the draws on axis 1."""
        raise NotImplementedError

    def step(self, kernel, theta, block, pairs, xb, yb):  # pragma: no cover - abstract
        """Evaluate the chunk's distinct pairs (:class:`astrocore.mgd.kernel.Pairs`) of ``block``,
        measured through ``kernel.measure``, and accumulate their estimate."""
        raise NotImplementedError

    def end(self, theta):  # pragma: no cover - abstract
        """The window's ``G_int`` (S, N); update the direction's state."""
        raise NotImplementedError

    def hold(self, block, theta) -> tuple:
        """What to keep of the last perturbation of ``block`` over a parameter update."""
        return tuple(None if b is None else b[:, -1:] for b in block)

    def resume(self, held, theta) -> tuple:
        """The held perturbation as a block of one, for the new ``theta``."""
        return held

    def applied(self, block, theta, device) -> tuple:
        """The perturbations as the hardware applies them (default: as drawn)."""
        return block


# ---------------------------------------------------------------------------------- weight
class Weight(Direction):
    """Weight perturbation, multiplexed by ``mode`` (time, frequency, code, walsh): the default.

    ``sparsity``: the fraction of zeros in code-mode perturbations (code only).
    A block holds the perturbed parameters ``theta + theta~`` (S, P, N) (drawn
    straight into them in code mode); ``G = sum_t C~_t theta~_t / amplitude^2``
    with ``C~_t`` the step's cost minus ``C0`` of its input, or the high-pass
    of the measured costs in step order.
    """

    _options = ("mode", "sparsity")
    supports_highpass = True

    @validate_params({"mode": MODE, "sparsity": SPARSITY})
    def __init__(self, mode: str = "code", sparsity: float = 0.0):
        self.mode, self.sparsity = mode, float(sparsity)
        self._perturbation_options = check_options(mode, sparsity=sparsity)
        self.name = mode

    def attrs(self) -> dict:
        return {"sparsity": self.sparsity}

    def _bind(self):
        self.perts = PERTURBATIONS[self.mode](self.model.n_params, self.amplitude, self.gens, self.model.dtype,
                                              **self._perturbation_options)

    @property
    def carrier_period(self) -> int | None:
        """Period of the perturbations' carrier (frequency mode), for the default high-pass time constant."""
        return self.perts.carrier_period

    def pair_bytes(self, model, n_seeds, batch):
        return n_seeds * model.n_params * np.dtype(model.dtype).itemsize

    def begin(self, kernel, theta, xb, yb):
        xp = backend.xp()
        self._c0 = None
        if kernel.highpass is None:
            self._c0 = kernel.measure(backend.to_host(self.model._loss(theta[:, None, :], xb, yb)))
            kernel.evaluations += xb.shape[1]
        self.perts.prepare(theta)
        self._G, self._part = xp.zeros_like(theta), work_array("weight part", theta.shape, theta.dtype)
        self._weight_sum = xp.zeros(theta.shape[0], dtype=theta.dtype)

    def draw(self, count, theta):
        return (self.perts.draw_params(count, theta),)

    def hold(self, block, theta):
        return (block[0][:, -1:] - theta[:, None, :],)

    def resume(self, held, theta):
        return (theta[:, None, :] + held[0],)

    def applied(self, block, theta, device):
        if device is not None and device.alters_perturbations:
            return (theta[:, None, :] + device.quantize_perturbations(block[0] - theta[:, None, :]),)
        return block

    def step(self, kernel, theta, block, pairs, xb, yb):
        xp = backend.xp()
        block = block[0]
        n_x = pairs.n_x
        same = len(pairs) == block.shape[1] and np.array_equal(pairs.pair_p, np.arange(len(pairs)))
        params = block if same else block[:, xp.asarray(pairs.pair_p)]
        xs = xb if n_x == 1 else xb[:, xp.asarray(pairs.pair_x)]
        ys = yb if n_x == 1 else yb[:, xp.asarray(pairs.pair_x)]
        costs = kernel.measure(backend.to_host(self._losses(kernel, params, xs, ys))[:, pairs.pair_of_t])
        c_tilde = kernel.highpass(costs) if self._c0 is None else costs - self._c0[:, pairs.t_x]
        weights = np.zeros((theta.shape[0], block.shape[1]))
        np.add.at(weights, (slice(None), pairs.t_p), c_tilde)
        # sum_p w_p theta~_p = sum_p w_p (theta + theta~_p) - (sum_p w_p) theta: the
        # perturbations as applied, without a second array of codes
        w = xp.asarray(weights, dtype=theta.dtype)
        self._G += xp.einsum("sp,spn->sn", w, block, out=self._part)
        self._weight_sum += w.sum(axis=1)

    def _losses(self, kernel, params, xs, ys):
        """The batch costs of the perturbed networks ``params`` (S, P, N), in slices of pairs whose
        activations, ``S B sum_l n_l`` numbers per pair (every layer after the input), fill at most
        :data:`~astrocore.mgd.kernel.ACTIVATION_BYTES`, to stay in cache. Each network's cost is its
        own batched product per layer, so slicing changes no number; with a device (whose reads may
        draw noise per pass) the chunk is one pass."""
        model = self.model
        per_pair = params.shape[0] * xs.shape[-2] * sum(model.sizes[1:]) * params.dtype.itemsize
        step = max(1, ACTIVATION_BYTES // per_pair)
        P = params.shape[1]
        if kernel.device is not None or P <= step:
            return model._loss(params, xs, ys)
        xp = backend.xp()
        several = xs.shape[1] > 1
        return xp.concatenate([model._loss(params[:, i:i + step], xs[:, i:i + step] if several else xs,
                                           ys[:, i:i + step] if several else ys)
                               for i in range(0, P, step)], axis=1)

    def end(self, theta):
        G = self._G
        G -= backend.xp().multiply(self._weight_sum[:, None], theta, out=self._part)
        G /= self.amplitude ** 2
        return G


# ---------------------------------------------------------------------------------- smart
def _outer_sum(a, b):
    """``sum over all middle axes of a_i b_j``: (S, ..., I) and (S, ..., J) -> (S, I, J)."""
    S = a.shape[0]
    return a.reshape(S, -1, a.shape[-1]).swapaxes(1, 2) @ b.reshape(S, -1, b.shape[-1])


@register("node")
class Node(Direction):
    """Node perturbation (module docstring): ``z_bj + sigma s_bj``, ``G_W = sum_b a_b e_b^T``.

    ``layerwise``: perturb one layer per draw (layer ``p mod L``); ``per_sample``:
    correlate each sample's signs with its own cost change (False: with the
    batch's only). A block holds the signs (S, P, B, M) and, for subclasses
    that perturb weights too, parameter codes (S, P, N) or None.

    Hooks for subclasses (each a few lines): ``_signs`` (the draw of one seed's
    signs), ``_codes`` (extra per-draw weight codes), ``_presynaptic`` (the
    activity each synapse sees), ``_shift`` (how the signs move the
    pre-activations), ``_readout`` (the postsynaptic term and its gain),
    ``_update_state`` (after every window).
    """

    _options = ("layerwise", "per_sample")
    _reads_activity = False
    """Whether ``_shift``/``_readout`` use the presynaptic activity of each pair (``u``)."""

    @validate_params({"layerwise": Bool(), "per_sample": Bool()})
    def __init__(self, layerwise: bool = False, per_sample: bool = True):
        self.layerwise, self.per_sample = bool(layerwise), bool(per_sample)

    # -- state ------------------------------------------------------------------------------
    def _bind(self):
        model, A = self.model, self.amplitude
        self.slices = model.layer_slices()
        self.widths = [n_out for *_, n_out in self.slices]
        self.offsets = np.cumsum([0, *self.widths])
        self.n_units = int(self.offsets[-1])
        self.n_layers = len(self.slices)
        # per-unit amplitude of a draw that perturbs a layer
        self.sigma = [A / math.sqrt(n if self.layerwise else self.n_units) for n in self.widths]
        self._batch = None

    def pair_bytes(self, model, n_seeds, batch):
        return n_seeds * np.dtype(model.dtype).itemsize * 2 * batch * sum(model.sizes)

    # -- hooks ------------------------------------------------------------------------------
    def _signs(self, s: int, gen, shape):
        """Seed ``s``'s signs (count, B, M)."""
        return random_signs(gen, shape, self.model.dtype)

    def _codes(self, gen, count: int):
        """Seed's parameter codes (count, N) drawn after its signs, or None (none)."""
        return None  # noqa: RET501 - the hook's contract: None means no codes

    def _presynaptic(self, pre: list) -> list:
        """What each synapse's astrocyte sees of its input: ``a~ = [a, 1]`` per layer (S, nX, B, n_in + 1)."""
        return pre

    def _shift(self, index, h, z, s_l, on, u):
        """Pre-activations ``z`` of layer ``index`` (input ``h``) moved by the signs ``s_l``."""
        xp = backend.xp()
        amp = xp.asarray(self.sigma[index] * on[index], dtype=z.dtype)
        return z + amp[None, :, None, None] * s_l

    def _readout(self, index, s_l, code_block, u):
        """``(v, gain)``: the postsynaptic term ``e = C~ v gain`` of layer ``index``."""
        return s_l, 1.0 / self.sigma[index]

    def _weights(self, theta, codes, ip, on):
        """The parameters of each pair (S, P or 1, N) and their code perturbation (or None)."""
        return theta[:, None, :], None

    def _update_state(self, E, steps_on):
        """Called at the end of every window with the accumulated unit errors."""

    # -- the protocol -----------------------------------------------------------------------
    def draw(self, count, theta):
        xp = backend.xp()
        signs, codes = [], []
        for s, gen in enumerate(self.gens):
            signs.append(self._signs(s, gen, (count, self._batch, self.n_units)))
            code = self._codes(gen, count)
            if code is not None:
                codes.append(code)
        return xp.stack(signs), (xp.stack(codes) if codes else None)

    def begin(self, kernel, theta, xb, yb):
        xp = backend.xp()
        S, n_x, B = theta.shape[0], xb.shape[1], xb.shape[2]
        if self._batch is None:
            self._batch = B
        elif B != self._batch:
            raise ValueError(f"batch size changed from {self._batch} to {B} within one run")
        hidden = self.model._forward(theta[:, None, :], xb, return_hidden=True)  # (S, nX, B, n) per layer
        self._loss0 = kernel.measure(self.model._per_sample_loss(hidden[-1], yb))
        kernel.evaluations += n_x
        # presynaptic activity a (with the bias's constant input 1), clean: what the astrocyte sees
        ones = xp.ones((S, n_x, B, 1), dtype=theta.dtype)
        self._pre = self._presynaptic([xp.concatenate([h, ones], axis=-1) for h in hidden[:-1]])
        self._E = [xp.zeros((S, n_x, B, n), dtype=theta.dtype) for n in self.widths]
        self._steps_on = np.zeros(self.n_layers)

    def step(self, kernel, theta, block, pairs, xb, yb):
        xp = backend.xp()
        L, n_x, B = self.n_layers, pairs.n_x, xb.shape[2]
        signs, codes = block
        mult = pairs.mult
        ip, ix = xp.asarray(pairs.pair_p), xp.asarray(pairs.pair_x)
        s_pairs = signs[:, ip]
        if self.layerwise:
            on = [((pairs.first + pairs.pair_p) % L == index).astype(float) for index in range(L)]
        else:
            on = [np.ones(len(pairs)) for _ in range(L)]
        for index in range(L):
            self._steps_on[index] += float(mult @ on[index])
        spread = L if self.layerwise else 1
        xs, ys = xb[:, ix], yb[:, ix]
        params, code_pert = self._weights(theta, codes, ip, on)
        u_pairs = [a[:, ix] for a in self._pre] if self._reads_activity else None
        offsets = self.offsets

        def hook(index, h, z):
            return self._shift(index, h, z, s_pairs[..., offsets[index]:offsets[index + 1]], on, u_pairs)

        out = self.model._forward(params, xs, hook=hook)
        loss = kernel.measure(self.model._per_sample_loss(out, ys))
        c = (loss - self._loss0[:, ix]) / B  # each sample's share of the batch-cost change
        if not self.per_sample:
            c = xp.broadcast_to(xp.sum(c, axis=-1, keepdims=True), c.shape)
        c = c * xp.asarray(mult, dtype=c.dtype)[None, :, None]
        onehot = xp.asarray(np.eye(n_x)[pairs.pair_x], dtype=theta.dtype) if n_x > 1 else None
        for index in range(L):
            s_l = s_pairs[..., offsets[index]:offsets[index + 1]]
            v, gain = self._readout(index, s_l, code_pert, u_pairs)
            coef = xp.asarray(spread * gain * on[index], dtype=c.dtype)
            e = (c * coef[None, :, None])[..., None] * v
            if n_x == 1:
                self._E[index] += xp.sum(e, axis=1, keepdims=True)
            else:
                self._E[index] += xp.moveaxis(xp.tensordot(e, onehot, axes=([1], [0])), -1, 1)

    def end(self, theta):
        xp = backend.xp()
        S, N = theta.shape
        G = xp.zeros_like(theta)
        for index, (w, b, _, _) in enumerate(self.slices):
            block = _outer_sum(self._pre[index], self._E[index])
            G[:, w] = block[:, :-1].reshape(S, -1)
            G[:, b] = block[:, -1]
        G /= N
        self._update_state(self._E, self._steps_on)
        return G


@register("activity")
class Activity(Node):
    """Rank-one weight perturbations along the local activity ``u = a~ / ||a~||``, mixed with a share
    ``mix`` (in [0, 1]) of Bernoulli weight codes, read out through the activity subspace (module
    docstring). ``layerwise`` as for :class:`Node`."""

    _options = ("layerwise", "mix")
    _reads_activity = True

    @validate_params({"layerwise": Bool(), "mix": Real(0, 1)})
    def __init__(self, layerwise: bool = False, mix: float = 0.0):
        super().__init__(layerwise=layerwise)
        self.mix = float(mix)

    def _bind(self):
        super()._bind()
        A, N, mix = self.amplitude, self.model.n_params, self.mix
        blocks = [(n_in + 1) * n_out for _, _, n_in, n_out in self.slices]
        # rho and kappa: rank-one and code entry scales
        self.rho = list(self.sigma)
        self.kappa = [A / math.sqrt(nb if self.layerwise else N) for nb in blocks]
        # u_b is an eigenvector of the second moment of theta~_b with eigenvalue lam
        self.lam = [(1 - mix) * r * r + mix * k * k for r, k in zip(self.rho, self.kappa)]

    def pair_bytes(self, model, n_seeds, batch):
        extra = n_seeds * np.dtype(model.dtype).itemsize * model.n_params if self.mix > 0 else 0
        return super().pair_bytes(model, n_seeds, batch) + extra

    def _codes(self, gen, count):
        return random_signs(gen, (count, self.model.n_params), self.model.dtype) if self.mix > 0 else None

    def _presynaptic(self, pre):
        xp = backend.xp()
        return [a / xp.sqrt(xp.sum(a * a, axis=-1, keepdims=True)) for a in pre]

    def _weights(self, theta, codes, ip, on):
        if codes is None:
            return theta[:, None, :], None
        xp = backend.xp()
        scale = np.zeros((len(ip), theta.shape[1]))
        for index, (w, b, _, _) in enumerate(self.slices):
            scale[:, w.start:b.stop] = (math.sqrt(self.mix) * self.kappa[index] * on[index])[:, None]
        code_pert = codes[:, ip] * xp.asarray(scale, dtype=theta.dtype)
        return theta[:, None, :] + code_pert, code_pert

    def _shift(self, index, h, z, s_l, on, u):
        if self.mix == 1.0:
            return z
        xp = backend.xp()
        u = u[index]
        reach = xp.sum(h * u[..., :-1], axis=-1) + u[..., -1]  # a_pert . u: rank-one weight step
        amp = xp.asarray(math.sqrt(1 - self.mix) * self.rho[index] * on[index], dtype=z.dtype)
        return z + (amp[None, :, None] * reach)[..., None] * s_l

    def _readout(self, index, s_l, code_pert, u):
        """``v_b = u_b^T theta~_b`` per output unit; ``e_b = C~_b v_b / lam``."""
        v = s_l * (math.sqrt(1 - self.mix) * self.rho[index])
        if code_pert is not None:
            w, b, n_in, n_out = self.slices[index]
            S, P = code_pert.shape[:2]
            block = code_pert[..., w.start:b.stop].reshape(S, P, n_in + 1, n_out)
            v = v + u[index] @ block
        return v, 1.0 / self.lam[index]


@register("astrocyte")
class Astrocyte(Node):
    """Node perturbation with signs biased toward the astrocyte's running error estimate ``d``:
    ``P(s_j = sign(d_j)) = (1 + guide) / 2``, ``d <- d + (d_window - d) / tau_d`` after every window
    (module docstring). ``guide`` in [0, 1), ``tau_d`` >= 1 (windows); ``error_trace`` the initial
    ``d``, one value per non-input unit (default zeros: fair signs until the trace builds up).
    ``layerwise`` as for :class:`Node`."""

    _options = ("layerwise", "guide", "tau_d")

    @validate_params({"layerwise": Bool(), "guide": Real(0, 1, closed="left"), "tau_d": Real(1),
                      "error_trace": Optional(Array(1))})
    def __init__(self, layerwise: bool = False, guide: float = 0.5, tau_d: float = 10.0, error_trace=None):
        super().__init__(layerwise=layerwise)
        self.guide, self.tau_d, self.error_trace = float(guide), float(tau_d), error_trace

    def _bind(self):
        super()._bind()
        xp = backend.xp()
        dtype = self.model.dtype
        self.trace = xp.zeros((len(self.gens), self.n_units), dtype=dtype)
        if self.error_trace is not None:
            check_shape("error_trace", self.error_trace, (self.n_units,), "(one value per non-input unit)")
            self.trace[...] = xp.asarray(self.error_trace.astype(dtype))[None]

    def _signs(self, s, gen, shape):
        xp = backend.xp()
        p_plus = 0.5 * (1.0 + self.guide * xp.sign(self.trace[s]))
        return xp.where(gen.random(shape) < p_plus, 1.0, -1.0).astype(self.model.dtype)

    def _update_state(self, E, steps_on):
        xp = backend.xp()
        for index in range(self.n_layers):
            if steps_on[index]:
                lo, hi = self.offsets[index], self.offsets[index + 1]
                mean_error = xp.sum(E[index], axis=(1, 2)) / steps_on[index]
                self.trace[:, lo:hi] += (mean_error - self.trace[:, lo:hi]) / self.tau_d


DIRECTIONS = tuple(REGISTRY)
"""The smart directions of this module: ('node', 'activity', 'astrocyte')."""
MODES = MULTIPLEXING + DIRECTIONS
"""Every direction name: the multiplexing modes of weight perturbation, then the smart directions."""


_NAMED: dict[str, Direction] = {}


def as_direction(value) -> Direction:
    """A :class:`Direction` for ``value``: itself, or the direction a name stands for with its default
    options (a multiplexing name: :class:`Weight` of that mode). Options never change after
    construction, so one instance per name serves every call."""
    if isinstance(value, Direction):
        return value
    if value not in _NAMED:
        _NAMED[value] = Weight(value) if value in PERTURBATIONS else REGISTRY[value]()
    return _NAMED[value]


@validate_params({"name": Text("node")})
def from_options(name: str, **options) -> Direction:
    """The direction called ``name`` with those of ``options`` its class takes (``mix`` for
    :class:`Activity`, ``guide`` and ``tau_d`` for :class:`Astrocyte`, ...), the others ignored: what a
    config block that names every direction's options needs. A multiplexing name gives :class:`Weight`
    with its ``sparsity`` if given."""
    if not DIRECTION.accepts(name):
        DIRECTION.fail("name", name)
    cls = Weight if name in PERTURBATIONS else REGISTRY[name]
    taken = {k: v for k, v in options.items() if k in cls._options or (k == "error_trace" and cls is Astrocyte)}
    return Weight(name, **taken) if cls is Weight else cls(**taken)


class DirectionSpec(Constraint):
    """A perturbation direction: a :class:`Direction` instance, or a name (a multiplexing mode or a
    registered smart direction); converted to a :class:`Direction`."""

    def accepts(self, value) -> bool:
        return isinstance(value, Direction) or (isinstance(value, str) and (value in PERTURBATIONS
                                                                             or value in REGISTRY))

    def convert(self, value):
        return as_direction(value)

    def describe(self) -> str:
        return (f"a Direction (astrocore.mgd.Weight, Node, Activity, Astrocyte) or one of the names "
                f"{tuple(PERTURBATIONS) + tuple(REGISTRY)}")

    def invalid_examples(self) -> list:
        return ["fourier", 3, None, Node]

    def valid_example(self):
        return "code"


DIRECTION = DirectionSpec()


def check_highpass(direction: Direction, highpass: bool, analog: bool) -> None:
    """The cross-field rule: only weight perturbation can measure ``C~`` through a high-pass."""
    if highpass and not direction.supports_highpass:
        raise InvalidParameterError(
            f"highpass applies to weight perturbation (directions {MULTIPLEXING}) only; direction "
            f"{direction.name!r} measures C0 per sample: pass highpass=False (analog={analog!r})")

