"""Multilayer perceptrons with flat parameter vectors.

An :class:`MLP` keeps no weights of its own: every method takes the parameter
vector ``theta`` (all weights and biases, ``n_params`` of them, layer by
layer: ``W_l`` row-major with shape ``(n_in, n_out)``, then ``b_l``). That is
the form weight-perturbation training needs, and it lets
:meth:`MLP.forward` evaluate ``K`` parameter vectors at once
(``theta`` of shape ``(K, n_params)``) as one batched matrix product per
layer, the floor of any perturbative method.

Forward pass (layer ``l = 1..L``): ``z_l = h_{l-1} W_l + b_l``,
``h_l = f(z_l)`` with ``f`` the hidden activation (sigmoid, tanh or relu).
The output layer uses ``f`` too for the MSE loss (``sigmoid`` output, say, for
0/1 targets) unless ``output_activation`` says otherwise, and is linear
(logits) for the softmax cross-entropy loss.

Losses, averaged over the ``B`` samples of a batch:
``mse = (1/B) sum_b 1/2 ||y_b - t_b||^2`` and
``cross_entropy = -(1/B) sum_b sum_c t_bc log softmax(z_b)_c``.

:meth:`MLP.gradient` is the reference backpropagation gradient (Rumelhart,
Hinton and Williams 1986), checked against central finite differences in the
tests.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence

import numpy as np

from . import backend
from .validation import (NO_VALIDATION, Array, Bool, Choice, Constraint, InstanceOf, Integer,
                         InvalidParameterError, Optional, Seed, check_memory, validate_params)

ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
LOSSES = ("mse", "cross_entropy")
DTYPES = ("float32", "float64")


class LayerSizes(Constraint):
    """Layer widths, input first: a sequence (list, tuple, 1-d int array) of at least
    two positive ints (never bools or floats); converted to a tuple of ints."""

    def accepts(self, value) -> bool:
        if isinstance(value, np.ndarray):
            if value.ndim != 1:
                return False
            value = list(value)
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) < 2:
            return False
        return all(_POSITIVE.accepts(s) for s in value)

    def convert(self, value):
        return tuple(int(s) for s in value)

    def describe(self) -> str:
        return "a sequence of at least two positive ints (layer widths, input first)"

    def invalid_examples(self) -> list:
        return [[4], [4, 0, 2], "4-2", [4, 2.0], [4, True], None, 3]

    def valid_example(self):
        return (2, 3, 1)


_POSITIVE = Integer(1)
SIZES = LayerSizes()
DATA = Array()              # a finite, non-empty real array of any shape; integers become floats
CALLABLE = InstanceOf(Callable, example=lambda: (lambda *args: args[-1]))


def _check_device(device) -> None:
    if device is None:
        return
    from .hardware.device import Device  # noqa: PLC0415 - hardware imports nets

    if not isinstance(device, Device):
        raise InvalidParameterError(f"device must be None or an astrocore.hardware.Device, got {device!r}")


def _broadcast(a: tuple, b: tuple) -> tuple:
    """``np.broadcast_shapes(a, b)``, without its cost in the common cases (one of them empty, or equal)."""
    if not b or a == b:
        return a
    if not a:
        return b
    return np.broadcast_shapes(a, b)


SMALL_REQUEST = 1 << 26
"""Requests up to 64 MiB skip the look-up of the machine's memory (unless ASTROCORE_MAX_MEMORY is set)."""


def check_memory_estimate(name: str, value, nbytes: float, what: str = "") -> None:
    """:func:`astrocore.validation.check_memory`, skipped for requests up to :data:`SMALL_REQUEST`
    (reading the machine's memory costs more than a small forward pass) unless
    ``ASTROCORE_MAX_MEMORY`` sets the budget explicitly."""
    if nbytes > SMALL_REQUEST or os.environ.get("ASTROCORE_MAX_MEMORY"):
        check_memory(name, value, nbytes, what)


def _activate(name, z, xp):
    if name == "sigmoid":
        return 0.5 * (xp.tanh(0.5 * z) + 1.0)  # overflow-free logistic
    if name == "tanh":
        return xp.tanh(z)
    if name == "relu":
        return xp.maximum(z, 0)
    return z


def _activation_slope(name, h, xp):
    """f'(z) written in terms of the output h = f(z)."""
    if name == "sigmoid":
        return h * (1.0 - h)
    if name == "tanh":
        return 1.0 - h * h
    if name == "relu":
        return (h > 0).astype(h.dtype)
    return xp.ones_like(h)


class MLP:
    """A fully connected network ``sizes[0] -> ... -> sizes[-1]``.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first, at least two entries, each >= 1.
    activation : {'sigmoid', 'tanh', 'relu'}
        Hidden-layer nonlinearity.
    loss : {'mse', 'cross_entropy'}
        Cost function; ``cross_entropy`` is softmax cross-entropy on logits.
    output_activation : {'sigmoid', 'tanh', 'relu', 'linear'} or None
        Output nonlinearity for ``mse`` (default: ``activation``); must be
        None or 'linear' for ``cross_entropy``.
    seed : int
        The model's run seed: :meth:`init_params` without a seed, and the trainers
        (:func:`astrocore.mgd.train`, :func:`astrocore.training.train_backprop`,
        :func:`astrocore.mgd.estimate_gradient`) without ``seed=``, use it.
    dtype : {'float64', 'float32'}
    """

    @validate_params({"sizes": SIZES, "activation": Choice(ACTIVATIONS[:3]), "loss": Choice(LOSSES),
                      "output_activation": Optional(Choice(ACTIVATIONS)), "seed": Seed(),
                      "dtype": Choice(DTYPES)})
    def __init__(self, sizes: Sequence[int], activation: str = "sigmoid", loss: str = "mse",
                 output_activation: str | None = None, seed: int = 0, dtype: str = "float64"):
        if output_activation is None:
            output_activation = activation if loss == "mse" else "linear"
        if loss == "cross_entropy" and output_activation != "linear":
            raise InvalidParameterError("cross_entropy works on logits: output_activation must be 'linear' "
                                        f"or None, got {output_activation!r}")
        n_params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
        check_memory_estimate("sizes", list(sizes), n_params * np.dtype(str(dtype)).itemsize,
                              f"one parameter vector of n_params={n_params}")
        self.sizes = tuple(int(s) for s in sizes)
        self.activation = activation
        self.output_activation = output_activation
        self.loss_name = loss
        self.seed = int(seed)
        self.dtype = str(dtype)
        self._slices = []
        offset = 0
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            w = slice(offset, offset + n_in * n_out)
            offset += n_in * n_out
            b = slice(offset, offset + n_out)
            offset += n_out
            self._slices.append((w, b, n_in, n_out))
        self.n_params = offset

    def __repr__(self):
        return (f"MLP(sizes={list(self.sizes)}, activation={self.activation!r}, "
                f"loss={self.loss_name!r}, n_params={self.n_params})")

    @property
    def n_inputs(self) -> int:
        return self.sizes[0]

    @property
    def n_outputs(self) -> int:
        return self.sizes[-1]

    def hyperparameters(self) -> dict:
        """The constructor arguments, for provenance attrs."""
        return {"sizes": list(self.sizes), "activation": self.activation,
                "loss": self.loss_name, "output_activation": self.output_activation,
                "dtype": self.dtype, "n_params": self.n_params}

    # -- parameters -----------------------------------------------------------------
    @validate_params({"seed": Optional(Seed())})
    def init_params(self, seed: int | None = None):
        """Glorot-uniform weights (He-uniform for relu), zero biases.

        Drawn from the ``initialisation`` stream of run ``seed`` (default: the
        model's ``seed``; :func:`astrocore.backend.stream`): every trainer starts
        run ``s`` from ``init_params(seed=s)``, and no other draw of the run
        (perturbations, minibatches, the device) shifts it."""
        xp = backend.xp()
        gen = backend._stream(self.seed if seed is None else seed, "initialisation")
        theta = xp.zeros(self.n_params, dtype=self.dtype)
        for w, _, n_in, n_out in self._slices:
            limit = np.sqrt(6.0 / n_in) if self.activation == "relu" else np.sqrt(6.0 / (n_in + n_out))
            theta[w] = gen.uniform(-limit, limit, size=n_in * n_out).astype(self.dtype)
        return theta

    @validate_params({"theta": DATA})
    def layers(self, theta):
        """Views ``[(W_1, b_1), ...]`` into ``theta`` (leading batch axes kept)."""
        self._check_theta(theta)
        return self._layers(theta)

    def _layers(self, theta):
        lead = theta.shape[:-1]
        return [(theta[..., w].reshape(*lead, n_in, n_out), theta[..., b])
                for w, b, n_in, n_out in self._slices]

    def layer_slices(self):
        """``[(weight_slice, bias_slice, n_in, n_out), ...]`` into the flat vector."""
        return list(self._slices)

    # -- validation (once, at the public entry points) --------------------------------
    def _check_theta(self, theta):
        if theta.ndim < 1 or theta.shape[-1] != self.n_params:
            raise InvalidParameterError(f"theta must have shape (..., n_params) with "
                                        f"n_params={self.n_params}, got {tuple(theta.shape)}")

    def _check_xy(self, X, Y=None):
        if X.ndim < 2 or X.shape[-1] != self.n_inputs:
            raise InvalidParameterError(
                f"X has {X.shape[-1] if X.ndim else 0} features (shape {tuple(X.shape)}) "
                f"but the MLP's input layer has {self.n_inputs} (sizes={list(self.sizes)}); "
                "X must have shape (..., n_samples, n_inputs)")
        if Y is not None and (Y.ndim < 2 or Y.shape[-1] != self.n_outputs or Y.shape[-2] != X.shape[-2]):
            raise InvalidParameterError(
                f"Y has shape {tuple(Y.shape)} but needs {X.shape[-2]} rows of "
                f"{self.n_outputs} targets to match X and the output layer (sizes={list(self.sizes)})")

    def _inputs(self, theta, X, Y=None, *, hidden: bool = False):
        """Validated ``theta``, ``X`` (and ``Y``) as the model's floating dtype, shapes checked
        against the layers and each other, and the activations' memory estimated."""
        theta = theta.astype(self.dtype, copy=False)
        X = X.astype(self.dtype, copy=False)
        self._check_theta(theta)
        self._check_xy(X, Y)
        try:
            lead = _broadcast(theta.shape[:-1], X.shape[:-2])
        except ValueError:
            raise InvalidParameterError(
                f"theta of shape {tuple(theta.shape)} and X of shape {tuple(X.shape)} do not broadcast: "
                "theta (..., n_params) needs X (n_samples, n_inputs) or (..., n_samples, n_inputs) with "
                "matching leading axes") from None
        if Y is not None:
            Y = Y.astype(self.dtype, copy=False)
            try:
                _broadcast(lead, Y.shape[:-2])
            except ValueError:
                raise InvalidParameterError(f"Y of shape {tuple(Y.shape)} does not broadcast against the "
                                            f"outputs of shape {(*lead, X.shape[-2], self.n_outputs)}") from None
        rows = math.prod(lead) * X.shape[-2]
        layers = len(self.sizes) if hidden else 2
        nbytes = rows * max(self.sizes) * layers * np.dtype(self.dtype).itemsize
        check_memory_estimate("X", tuple(X.shape), nbytes,
                              f"activations of {math.prod(lead)} parameter vector(s) on {X.shape[-2]} samples")
        return theta, X, Y

    # -- forward --------------------------------------------------------------------
    @validate_params({"theta": DATA, "X": DATA, "return_hidden": Bool(), "hook": Optional(CALLABLE),
                      "device": NO_VALIDATION})
    def forward(self, theta, X, return_hidden: bool = False, *, hook=None, device=None):
        """Network outputs for ``X``.

        ``theta`` (n_params,) with ``X`` (B, n_in) gives (B, n_out);
        ``theta`` (K, n_params) with ``X`` (B, n_in) or (K, B, n_in) gives
        (K, B, n_out): K networks evaluated by one batched product per layer.
        More leading axes broadcast the same way: ``theta`` (S, K, n_params)
        with ``X`` (S, 1, B, n_in) gives (S, K, B, n_out).
        With ``return_hidden`` the list of every layer's output (input first)
        is returned instead.

        ``theta`` and ``X`` must be finite and non-empty; integer input is
        converted to the model's floating ``dtype`` (never the other way).

        Hooks: ``hook(l, h_{l-1}, z_l)`` returns the pre-activations to use in
        place of ``z_l`` (MGD's node perturbations); ``device`` (an
        :class:`astrocore.hardware.Device`) reads the weights through the
        device, sends every layer's input through its DAC and its
        pre-activations through its ADC, and applies its neurons' variation.
        """
        _check_device(device)
        theta, X, _ = self._inputs(theta, X, hidden=return_hidden)
        return self._forward(theta, X, return_hidden, hook, device)

    def _forward(self, theta, X, return_hidden=False, hook=None, device=None):
        """:meth:`forward` without validation: the kernels' inner loops call this."""
        xp = backend.xp()
        X = xp.asarray(X, dtype=theta.dtype)
        if device is not None:
            theta = device.read(theta)
        h = X
        hidden = [h]
        n_layers = len(self._slices)
        for index, (W, b) in enumerate(self._layers(theta)):
            if device is not None:
                h = device.dac(h)
            z = h @ W
            z += b[..., None, :]
            if hook is not None:
                z = hook(index, h, z)
            name = self.output_activation if index == n_layers - 1 else self.activation
            if device is None:
                h = _activate(name, z, xp)
            else:
                h = device.activate(name, device.adc(z), index)
            hidden.append(h)
        return hidden if return_hidden else h

    def _check_outputs(self, outputs, Y):
        if outputs.ndim < 2 or outputs.shape[-1] != self.n_outputs:
            raise InvalidParameterError(f"outputs must have shape (..., n_samples, {self.n_outputs}) "
                                        f"(sizes={list(self.sizes)}), got {tuple(outputs.shape)}")
        try:
            np.broadcast_shapes(outputs.shape, Y.shape)
        except ValueError:
            raise InvalidParameterError(f"Y of shape {tuple(Y.shape)} does not match outputs of shape "
                                        f"{tuple(outputs.shape)}") from None

    @validate_params({"outputs": DATA, "Y": DATA})
    def per_sample_loss(self, outputs, Y):
        """Loss of each sample, shape ``outputs.shape[:-1]``."""
        self._check_outputs(outputs, Y)
        return self._per_sample_loss(outputs, Y)

    def _per_sample_loss(self, outputs, Y):
        xp = backend.xp()
        Y = xp.asarray(Y, dtype=outputs.dtype)
        if self.loss_name == "mse":
            diff = outputs - Y
            return 0.5 * xp.sum(diff * diff, axis=-1)
        shifted = outputs - xp.max(outputs, axis=-1, keepdims=True)
        log_norm = xp.log(xp.sum(xp.exp(shifted), axis=-1))
        return log_norm * xp.sum(Y, axis=-1) - xp.sum(Y * shifted, axis=-1)

    @validate_params({"theta": DATA, "X": DATA, "Y": DATA, "device": NO_VALIDATION})
    def loss(self, theta, X, Y, *, device=None):
        """Mean loss over the batch: a scalar for one ``theta``, (K,) for K of them."""
        _check_device(device)
        theta, X, Y = self._inputs(theta, X, Y)
        return self._loss(theta, X, Y, device)

    def _loss(self, theta, X, Y, device=None):
        xp = backend.xp()
        return xp.mean(self._per_sample_loss(self._forward(theta, X, device=device), Y), axis=-1)

    @validate_params({"theta": DATA, "X": DATA, "device": NO_VALIDATION})
    def predict(self, theta, X, *, device=None):
        """Class predictions: ``output > 0.5`` for one output, else ``argmax``."""
        _check_device(device)
        theta, X, _ = self._inputs(theta, X)
        xp = backend.xp()
        out = self._forward(theta, X, device=device)
        return (out[..., 0] > 0.5).astype(int) if self.n_outputs == 1 else xp.argmax(out, axis=-1)

    # -- backprop reference ---------------------------------------------------------
    @validate_params({"outputs": DATA, "Y": DATA})
    def output_error(self, outputs, Y):
        """dL/dz of the output layer for each sample (before the 1/B mean)."""
        self._check_outputs(outputs, Y)
        return self._output_error(outputs, Y)

    def _output_error(self, outputs, Y):
        xp = backend.xp()
        Y = xp.asarray(Y, dtype=outputs.dtype)
        if self.loss_name == "mse":
            return (outputs - Y) * _activation_slope(self.output_activation, outputs, xp)
        shifted = outputs - xp.max(outputs, axis=-1, keepdims=True)
        p = xp.exp(shifted)
        p /= xp.sum(p, axis=-1, keepdims=True)
        return p * xp.sum(Y, axis=-1, keepdims=True) - Y

    @validate_params({"theta": Array(1), "X": Array(2), "Y": Array(2)})
    def gradient(self, theta, X, Y):
        """Backpropagation gradient of :meth:`loss` with respect to ``theta`` (n_params,).

        ``theta`` (n_params,), ``X`` (B, n_inputs) and ``Y`` (B, n_outputs), finite
        and non-empty."""
        theta, X, Y = self._inputs(theta, X, Y, hidden=True)
        return self._gradient(theta, X, Y)

    def _gradient(self, theta, X, Y):
        """:meth:`gradient` without validation (trainers' inner loops)."""
        xp = backend.xp()
        hidden = self._forward(theta, X, return_hidden=True)
        grad = xp.empty_like(theta)
        delta = self._output_error(hidden[-1], Y) / X.shape[0]
        layers = self._layers(theta)
        for index in range(len(layers) - 1, -1, -1):
            w, b, n_in, n_out = self._slices[index]
            grad[w] = (hidden[index].T @ delta).reshape(-1)
            grad[b] = xp.sum(delta, axis=0)
            if index:
                delta = (delta @ layers[index][0].T) * _activation_slope(
                    self.activation, hidden[index], xp)
        return grad
