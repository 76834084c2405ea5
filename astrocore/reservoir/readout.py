"""Ridge (Tikhonov) readout from reservoir states, solved with ``scipy.linalg``.

Features ``f(n)`` are chosen by option: ``"states"`` (``f = n``, the authors'),
``"states_squares"`` (``f = [n, n**2]``), plus an optional constant (bias)
feature. With ``F`` the feature rows and ``Y`` the targets, the weights solve

    (F^T F + ridge * D) W = F^T Y,     D = diag(1, ..., 1, 0),

i.e. ``W = argmin ||F W - Y||^2 + ridge ||W_no_bias||^2``: the bias column, when
present, is not penalised. The normal equations are solved by Cholesky
(``scipy.linalg.solve(..., assume_a="pos")``), or by ``scipy.linalg.lstsq`` when
``ridge == 0`` and ``F^T F`` is singular.

Batches: with states ``(T, B, N)`` one readout per column is fitted (``coef_``
of shape ``(B, n_features, n_outputs)``), or one shared readout over all
columns' rows with ``pool=True`` (``coef_`` of shape ``(1, ...)``).

Hardware: the fitted weights go through the ``readout`` hook of the
``hardware`` model's parts (:mod:`astrocore.hardware.effects`; ``readout_bits``:
each readout rounded onto ``2^bits`` uniform levels over ``[-max|W|, max|W|]``);
``bits`` is the same rounding for a readout used on its own.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from .. import backend
from ..hardware import ReservoirEffects, as_model
from ..validation import Array, Bool, Choice, Integer, InvalidParameterError, Optional, Real, validate_params
from ._constraints import HARDWARE

FEATURES = ("states", "states_squares")


def n_features(n_nodes: int, features: str, bias: bool) -> int:
    return n_nodes * (2 if features == "states_squares" else 1) + int(bias)


def make_features(states, features: str, bias: bool, xp=None):
    """Feature array ``(..., n_features)`` from states ``(..., n_nodes)``."""
    xp = backend.xp() if xp is None else xp
    parts = [states]
    if features == "states_squares":
        parts.append(states * states)
    if bias:
        parts.append(xp.ones(states.shape[:-1] + (1,), dtype=states.dtype))
    return parts[0] if len(parts) == 1 else xp.concatenate(parts, axis=-1)


def solve_ridge(feats: np.ndarray, targets: np.ndarray, ridge: float, bias: bool) -> np.ndarray:
    """Weights ``(n_features, n_outputs)`` of one ridge problem (host arrays)."""
    gram = feats.T @ feats
    rhs = feats.T @ targets
    reg = np.full(gram.shape[0], ridge)
    if bias:
        reg[-1] = 0.0
    gram[np.diag_indices_from(gram)] += reg
    try:
        return scipy.linalg.solve(gram, rhs, assume_a="pos")
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        return scipy.linalg.lstsq(gram, rhs)[0]


class RidgeReadout:
    """Linear readout ``y = f(n) W`` fitted by ridge regression.

    Parameters
    ----------
    ridge : float >= 0
        Tikhonov penalty (our default 1e-6; the authors' value is not stated).
    features : {"states", "states_squares"}
    bias : bool (True or False)
        Append a constant feature (not penalised).
    bits : int in [1, 32] or None
        Quantize the fitted weights (as hardware ``readout_bits``); None: float64.
    hardware : HardwareModel, preset name or None
        The device the readout runs on: its parts' ``readout`` hook acts on the
        fitted weights (an ESN passes its own). Not together with ``bits`` when
        the model sets ``readout_bits``.
    """

    @validate_params({"ridge": Real(0), "features": Choice(FEATURES), "bias": Bool(),
                      "bits": Optional(Integer(1, 32)), "hardware": HARDWARE})
    def __init__(self, ridge: float = 1e-6, features: str = "states", bias: bool = False,
                 bits: int | None = None, hardware=None):
        self.ridge = ridge
        self.features = features
        self.bias = bias
        self.bits = bits
        self.hardware = as_model(hardware)
        self._hooks = () if self.hardware is None else self.hardware.at("readout")
        if bits is not None:
            if self.hardware is not None and self.hardware.readout_bits is not None:
                raise InvalidParameterError(f"bits={bits} and hardware with readout_bits="
                                            f"{self.hardware.readout_bits}: give one")
            self._hooks += (ReservoirEffects(readout_bits=bits),)
        self.coef_ = None

    @validate_params({"states": Array(3), "targets": Array(3), "mask": Optional(Array(1, nonempty=False)),
                      "pool": Bool()})
    def fit(self, states, targets, mask=None, pool: bool = False) -> RidgeReadout:
        """Fit on ``states (T, B, N)``, ``targets (T, B, d)`` (finite); rows where ``mask (T,)`` is True.

        Returns ``self``; ``coef_`` has shape ``(B, n_features, d)`` (``(1, ...)`` if pooled).
        """
        if targets.shape[:2] != states.shape[:2]:
            raise InvalidParameterError(f"targets must have the time and batch axes of states "
                                        f"{tuple(states.shape[:2])}, got shape {tuple(targets.shape)}")
        states = backend.to_host(states)
        targets = backend.to_host(targets)
        if mask is not None:
            mask = backend.to_host(mask)
            if mask.shape != (states.shape[0],):
                raise InvalidParameterError(f"mask must have one entry per time step ({states.shape[0]},), "
                                            f"got shape {mask.shape}")
            mask = mask != 0
            states, targets = states[mask], targets[mask]
        if states.shape[0] == 0:
            raise InvalidParameterError("mask leaves the readout no training rows (after the washout)")
        feats = make_features(states, self.features, self.bias, xp=np)
        if pool:
            coef = solve_ridge(feats.reshape(-1, feats.shape[-1]),
                               targets.reshape(-1, targets.shape[-1]), self.ridge, self.bias)[None]
        else:
            coef = np.stack([solve_ridge(feats[:, b], targets[:, b], self.ridge, self.bias)
                             for b in range(feats.shape[1])])
        for part in self._hooks:
            coef = part.readout(coef)
        self.coef_ = coef
        self._coef_dev = backend.asarray(coef)
        return self

    @validate_params({"batch": Integer(1)})
    def coef_for(self, batch: int):
        """Device weights ``(batch or 1, n_features, d)`` usable for ``batch`` columns."""
        if self.coef_ is None:
            raise RuntimeError("the readout is not fitted; call fit() first")
        k = self.coef_.shape[0]
        if k not in (1, batch):
            raise InvalidParameterError(f"the readout was fitted for {k} batch columns and cannot serve "
                                        f"batch={batch}; give 1 or {k} batch columns")
        return self._coef_dev

    @validate_params({"states": Array(3)})
    def predict(self, states):
        """Outputs ``(T, B, d)`` from finite states ``(T, B, N)``."""
        xp = backend.xp()
        coef = self.coef_for(states.shape[-2])
        if n_features(states.shape[-1], self.features, self.bias) != coef.shape[1]:
            nodes = (coef.shape[1] - int(self.bias)) // (2 if self.features == "states_squares" else 1)
            raise InvalidParameterError(f"states must have the {nodes} nodes the readout was fitted on in "
                                        f"their last axis, got shape {tuple(states.shape)}")
        feats = make_features(xp.asarray(states), self.features, self.bias)
        if coef.shape[0] == 1:
            return feats @ coef[0]
        return xp.einsum("tbf,bfd->tbd", feats, coef)

