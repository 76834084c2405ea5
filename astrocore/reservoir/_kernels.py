"""Sparse products for the step loops, on NumPy or CuPy.

:func:`spmv_acc` returns a function ``f(x, y)`` that adds ``A @ x`` to ``y`` in
place for a CSR matrix ``A`` on the active backend (a matrix, or on NumPy its
``(indptr, indices, data)`` arrays, the form the fused loops take). On NumPy it calls SciPy's
compiled CSR kernels directly (``scipy.sparse._sparsetools.csr_matvec`` and
``csr_matvecs``, the routines behind ``A @ x``): this skips several
microseconds of Python dispatch per product, which dominates a step at small
N. The function reads ``A.data`` at every call, so updating ``A.data`` in place
(the link modulation) takes effect without rebuilding the matrix. Elsewhere (CuPy, or a
SciPy without those routines) it falls back to ``y += A @ x``.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp

from .. import backend

try:  # SciPy's compiled kernels; private, so guarded
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
    from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
except ImportError:  # pragma: no cover - depends on the SciPy build
    _csr_matvec = _csr_matvecs = None


def to_device_csr(mat: sp.csr_matrix):
    """A host CSR matrix on the active backend (``cupyx.scipy.sparse`` on CuPy)."""
    mat = sp.csr_matrix(mat, dtype=np.float64)
    if backend.get_backend() == "cupy":  # pragma: no cover - needs a GPU
        import cupyx.scipy.sparse as csp  # noqa: PLC0415

        return csp.csr_matrix(mat)
    if mat.indices.dtype != mat.indptr.dtype:
        itype = np.promote_types(mat.indices.dtype, mat.indptr.dtype)
        mat.indices = mat.indices.astype(itype)
        mat.indptr = mat.indptr.astype(itype)
    return mat


def spmv_acc(mat, n_vecs: int = 1):
    """``f(x, y)``: ``y += mat @ x`` in place.

    ``x`` and ``y`` are C-contiguous, 1-D for ``n_vecs == 1``, otherwise
    ``(n_cols, n_vecs)`` and ``(n_rows, n_vecs)`` (several right-hand sides,
    one sparse matrix-matrix product). ``mat``: a CSR matrix, or a host
    ``(indptr, indices, data)`` triple.
    """
    if isinstance(mat, tuple) and _csr_matvec is not None:  # the column count is not read by the kernels
        m, n, arrays = mat[0].size - 1, 0, mat
    elif isinstance(mat, sp.csr_matrix) and _csr_matvec is not None:
        (m, n), arrays = mat.shape, (mat.indptr, mat.indices, mat.data)
    else:
        arrays = None
    if arrays is not None:
        if n_vecs == 1:
            return functools.partial(_csr_matvec, m, n, *arrays)
        kernel = functools.partial(_csr_matvecs, m, n, n_vecs, *arrays)
        return lambda x, y: kernel(x.reshape(-1), y.reshape(-1))

    if isinstance(mat, tuple):
        mat = sp.csr_matrix(mat[::-1], shape=(mat[0].size - 1, int(mat[1].max(initial=-1)) + 1))

    def generic(x, y):
        y += mat @ x

    return generic
