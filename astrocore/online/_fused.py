"""The window-ridge sums' rank-one update: NumPy reference and fused loop.

:class:`astrocore.online.learners.WindowRidge` keeps, per batch column ``b``,
the Gram matrix and right-hand side of its last ``window`` labelled samples as
running sums: a new sample ``(f, y)`` in, the oldest ``(f_o, y_o)`` out::

    G_b += f f^T - f_o f_o^T          R_b += f y^T - f_o y_o^T

elementwise ``G_ij += f_i f_j - f_oi f_oj``, each entry rounded in that order
by both implementations: the fused loop is bit-identical to its reference
(``fastmath`` off: no contraction into FMA), and makes one pass over ``G``
where the reference makes five (four temporaries of ``B F^2`` numbers).
"""

from __future__ import annotations

from .. import jit


def window_sums_numpy(gram, rhs, f, y, old_f, old_y) -> None:
    """``gram += f f^T - old_f old_f^T``, ``rhs += f y^T - old_f old_y^T`` per column (whole-array passes)."""
    gram += f[:, :, None] * f[:, None, :] - old_f[:, :, None] * old_f[:, None, :]
    rhs += f[:, :, None] * y[:, None, :] - old_f[:, :, None] * old_y[:, None, :]


@jit.fused(window_sums_numpy)
def window_sums(gram, rhs, f, y, old_f, old_y) -> None:
    """The same sums in one pass over each row of ``gram`` and ``rhs`` (module docstring)."""
    B, F = f.shape
    D = y.shape[1]
    for b in range(B):
        for i in range(F):
            fi, oi = f[b, i], old_f[b, i]
            for j in range(F):
                gram[b, i, j] += fi * f[b, j] - oi * old_f[b, j]
            for d in range(D):
                rhs[b, i, d] += fi * y[b, d] - oi * old_y[b, d]
