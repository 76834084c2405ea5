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

from collections.abc import Sequence

import numpy as np

from . import backend

ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
LOSSES = ("mse", "cross_entropy")
DTYPES = ("float32", "float64")


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
        Seed of :meth:`init_params`.
    dtype : {'float64', 'float32'}
    """

    def __init__(self, sizes: Sequence[int], activation: str = "sigmoid", loss: str = "mse",
                 output_activation: str | None = None, seed: int = 0, dtype: str = "float64"):
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2:
            raise ValueError(f"sizes must be a sequence of at least two layer widths, got {sizes!r}")
        if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1
                   for s in sizes):
            raise ValueError(f"sizes must hold positive ints, got {list(sizes)!r}")
        if activation not in ACTIVATIONS[:3]:
            raise ValueError(f"activation must be one of {ACTIVATIONS[:3]}, got {activation!r}")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        if output_activation is None:
            output_activation = activation if loss == "mse" else "linear"
        if output_activation not in ACTIVATIONS:
            raise ValueError(f"output_activation must be one of {ACTIVATIONS}, got {output_activation!r}")
        if loss == "cross_entropy" and output_activation != "linear":
            raise ValueError("cross_entropy works on logits: output_activation must be 'linear' "
                             f"or None, got {output_activation!r}")
        if str(dtype) not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
        backend.rng(seed)  # validates the seed
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
    def init_params(self, seed: int | None = None):
        """Glorot-uniform weights (He-uniform for relu), zero biases."""
        xp = backend.xp()
        gen = backend.rng(self.seed if seed is None else seed)
        theta = xp.zeros(self.n_params, dtype=self.dtype)
        for w, _, n_in, n_out in self._slices:
            limit = np.sqrt(6.0 / n_in) if self.activation == "relu" else np.sqrt(6.0 / (n_in + n_out))
            theta[w] = gen.uniform(-limit, limit, size=n_in * n_out).astype(self.dtype)
        return theta

    def layers(self, theta):
        """Views ``[(W_1, b_1), ...]`` into ``theta`` (leading batch axes kept)."""
        self._check_theta(theta)
        lead = theta.shape[:-1]
        return [(theta[..., w].reshape(*lead, n_in, n_out), theta[..., b])
                for w, b, n_in, n_out in self._slices]

    def layer_slices(self):
        """``[(weight_slice, bias_slice, n_in, n_out), ...]`` into the flat vector."""
        return list(self._slices)

    # -- validation -----------------------------------------------------------------
    def _check_theta(self, theta):
        if theta.ndim < 1 or theta.shape[-1] != self.n_params:
            raise ValueError(f"theta must have shape (..., n_params) with "
                             f"n_params={self.n_params}, got {tuple(theta.shape)}")

    def _check_xy(self, X, Y=None):
        if X.ndim < 2 or X.shape[-1] != self.n_inputs:
            raise ValueError(f"X has {X.shape[-1] if X.ndim else 0} features (shape {tuple(X.shape)}) "
                             f"but the MLP's input layer has {self.n_inputs} (sizes={list(self.sizes)})")
        if Y is not None and (Y.shape[-1] != self.n_outputs or Y.shape[-2] != X.shape[-2]):
            raise ValueError(f"Y has shape {tuple(Y.shape)} but needs {X.shape[-2]} rows of "
                             f"{self.n_outputs} targets to match X and the output layer "
                             f"(sizes={list(self.sizes)})")

    # -- forward --------------------------------------------------------------------
    def forward(self, theta, X, return_hidden: bool = False, *, hook=None, device=None):
        """Network outputs for ``X``.

        ``theta`` (n_params,) with ``X`` (B, n_in) gives (B, n_out);
        ``theta`` (K, n_params) with ``X`` (B, n_in) or (K, B, n_in) gives
        (K, B, n_out): K networks evaluated by one batched product per layer.
        More leading axes broadcast the same way: ``theta`` (S, K, n_params)
        with ``X`` (S, 1, B, n_in) gives (S, K, B, n_out).
        With ``return_hidden`` the list of every layer's output (input first)
        is returned instead.

        Hooks: ``hook(l, h_{l-1}, z_l)`` returns the pre-activations to use in
        place of ``z_l`` (MGD's node perturbations); ``device`` (an
        :class:`astrocore.hardware.Device`) reads the weights through the
        device, sends every layer's input through its DAC and its
        pre-activations through its ADC, and applies its neurons' variation.
        """
        xp = backend.xp()
        theta = xp.asarray(theta)
        X = xp.asarray(X, dtype=theta.dtype)
        self._check_xy(X)
        if device is not None:
            theta = device.read(theta)
        h = X
        hidden = [h]
        n_layers = len(self._slices)
        for index, (W, b) in enumerate(self.layers(theta)):
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

    def per_sample_loss(self, outputs, Y):
        """Loss of each sample, shape ``outputs.shape[:-1]``."""
        xp = backend.xp()
        Y = xp.asarray(Y, dtype=outputs.dtype)
        if self.loss_name == "mse":
            diff = outputs - Y
            return 0.5 * xp.sum(diff * diff, axis=-1)
        shifted = outputs - xp.max(outputs, axis=-1, keepdims=True)
        log_norm = xp.log(xp.sum(xp.exp(shifted), axis=-1))
        return log_norm * xp.sum(Y, axis=-1) - xp.sum(Y * shifted, axis=-1)

    def loss(self, theta, X, Y, *, device=None):
        """Mean loss over the batch: a scalar for one ``theta``, (K,) for K of them."""
        xp = backend.xp()
        Y = xp.asarray(Y)
        self._check_xy(xp.asarray(X), Y)
        return xp.mean(self.per_sample_loss(self.forward(theta, X, device=device), Y), axis=-1)

    def predict(self, theta, X, *, device=None):
        """Class predictions: ``output > 0.5`` for one output, else ``argmax``."""
        xp = backend.xp()
        out = self.forward(theta, X, device=device)
        return (out[..., 0] > 0.5).astype(int) if self.n_outputs == 1 else xp.argmax(out, axis=-1)

    # -- backprop reference ---------------------------------------------------------
    def output_error(self, outputs, Y):
        """dL/dz of the output layer for each sample (before the 1/B mean)."""
        xp = backend.xp()
        Y = xp.asarray(Y, dtype=outputs.dtype)
        if self.loss_name == "mse":
            return (outputs - Y) * _activation_slope(self.output_activation, outputs, xp)
        shifted = outputs - xp.max(outputs, axis=-1, keepdims=True)
        p = xp.exp(shifted)
        p /= xp.sum(p, axis=-1, keepdims=True)
        return p * xp.sum(Y, axis=-1, keepdims=True) - Y

    def gradient(self, theta, X, Y):
        """Backpropagation gradient of :meth:`loss` with respect to ``theta`` (n_params,)."""
        xp = backend.xp()
        theta = xp.asarray(theta)
        if theta.ndim != 1:
            raise ValueError(f"gradient takes one parameter vector of shape ({self.n_params},), "
                             f"got {tuple(theta.shape)}")
        X, Y = xp.asarray(X, dtype=theta.dtype), xp.asarray(Y, dtype=theta.dtype)
        self._check_xy(X, Y)
        hidden = self.forward(theta, X, return_hidden=True)
        grad = xp.empty_like(theta)
        delta = self.output_error(hidden[-1], Y) / X.shape[0]
        layers = self.layers(theta)
        for index in range(len(layers) - 1, -1, -1):
            w, b, n_in, n_out = self._slices[index]
            grad[w] = (hidden[index].T @ delta).reshape(-1)
            grad[b] = xp.sum(delta, axis=0)
            if index:
                delta = (delta @ layers[index][0].T) * _activation_slope(
                    self.activation, hidden[index], xp)
        return grad
