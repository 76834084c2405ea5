"""The free-phase Rhythmic Sharing step over a chunk of time steps: NumPy reference and fused loop.

Kang H. & Losert W., arXiv:2502.08644, Phys. Rev. Research 8, 013267 (2026);
ALGORITHMS.md section 4; the equations as in the docstring of
:mod:`astrocore.reservoir.rhythmic`. One step, all from the time-``t`` quantities::

    M_k      = 1 - (m/2)(1 + sin phi_k)          weights  w_k M_k = wA_k - wB_k sin phi_k
    n(t+1)   = l n + (1 - l) tanh((A_n o M) n + d(t))        d(t) = W_in u(t) + b
    g_k      = eps1 + eps2 a_k = g0 + (E n)_k                 (E: link-node incidence x eps2/2)
    F_k      = (A_phi exp(i phi))_k exp(i gamma)              (domains: F = P^T Z, Z = diag(1/|S_d|) P exp(i phi))
    phi_k   += omega_k + g_k sin(Psi_k - phi_k + gamma),  sin(Psi_k - phi_k + gamma) = Im(F_k e^{-i phi_k}) / |F_k|

and, when recorded, the row ``[sum_k sin phi_k | sum_k cos phi_k]`` per batch
column (the order parameter of ``phi(t)``). ``"control"`` mode: ``phi_k +=
gain_k (omega_k + g_k sin(...)) + shift_k``.

:func:`free_steps` advances ``T`` steps in one call; :func:`free_steps_numpy`,
the library's NumPy (and CuPy) step, is its reference. They differ in three ways:

- ``sin``/``cos``: the reference from one ``tan(phi / 2)`` (half-angle formulas);
  the loop from a polynomial (Cody-Waite reduction by pi/2, the fdlibm kernels,
  about 1 ulp; :func:`sincos_poly`).
- Sums over many terms (order sums, ``A_phi`` rows, the domain sums ``Z``): the
  reference's BLAS and SciPy CSR kernels; the loop's four partial sums.
- Passes: every quantity of a reference step is a whole-array pass; the loop
  makes a few flat passes per step (sin/cos and the order sums; the astrocyte
  field row by row; the gates and the domain field ``P^T Z`` from
  :func:`row_pairs`, precomputed by the plan; the modulated weights times the
  presynaptic states, then each node's row sum and tanh; the phases, the
  quotient by ``|F|`` in its own branch-free pass so it vectorizes), gathering
  through unsigned views of the index arrays (no negative-index wraparound).

Every other operation rounds as the reference rounds it: the two agree to the
last bits (tested to 1e-12 over a few steps), not bit for bit.

Arguments (both functions): ``drive (T, width)`` the input drives, ``tgt (T,
width)`` receives the node states, ``prev`` the state before the chunk, ``t0``
the chunk's first step, ``osum`` the ``(steps, 2B)`` order records (an empty
``(0, 2B)`` array: none), ``phi`` (B*L) updated in place, ``omega`` (1 or
B*L), ``gain``/``shift`` (B*L, or empty: free mode), sparse matrices as CSR
``(indptr, indices, data)`` triples (CuPy: matrix objects, reference only):
``W`` the node matrix (its ``data`` receives the modulated weights on the
reference path), ``E`` the incidence, ``A1``/``A2`` the astrocyte graph
(``"links"``: ``A1 = A_phi``, block-diagonal over the columns or, one graph for
all, ``L x L``; ``A2`` empty; domains: ``A1 = diag(1/|S_d|) P``, ``A2 = P^T``,
block-diagonal), ``pairs`` (:func:`row_pairs` of ``E`` and of ``A2``; the loop's
reading of them), ``unit`` (``A1``'s weights all 1: the loop skips the
products), ``cg, sg = cos gamma, sin gamma``, ``sc`` (2 B*L) and ``work (10,
B*L)`` scratch. Returns the last node state (a row of ``tgt``).
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend, jit
from ._kernels import spmv_acc

if jit.numba is not None:
    _inline = jit.numba.njit(cache=True, fastmath=False, nogil=True, inline="always")
else:  # pragma: no cover - numba is in the lock
    def _inline(func):
        return func

# pi/2 in three parts of 33 bits (fdlibm's pio2_1, pio2_2, pio2_3): n * part is exact for |n| < 2^20
_PIO2_1, _PIO2_2, _PIO2_3 = 1.57079632673412561417e+00, 6.07710050630396597660e-11, 2.02226624871116645580e-21
_TWO_OVER_PI = 0.63661977236758134308
_REDUCE_MAX = 1.0e6     # |x| above this: libm sin/cos (reduction by pi/2 exact up to 2^20 pi/2)
_S1, _S2, _S3 = -1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04
_S4, _S5, _S6 = 2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10
_C1, _C2, _C3 = 4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05
_C4, _C5, _C6 = -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11


@_inline
def sincos_poly(x, s, c):
    """``s = sin x``, ``c = cos x`` elementwise, branch-free (the loop vectorizes).

    ``x = n pi/2 + r``, ``|r| <= pi/4`` (Cody-Waite, three parts); fdlibm's
    minimax polynomials for ``sin r`` and ``cos r``; the quadrant ``n mod 4``
    picks and signs them. Error about 1 ulp of 1 for ``|x| <= 1e6``; larger
    ``|x|`` take libm's ``sin``/``cos``.
    """
    big = 0
    for k in range(x.size):
        v = x[k]
        fn = np.floor(v * _TWO_OVER_PI + 0.5)
        r = ((v - fn * _PIO2_1) - fn * _PIO2_2) - fn * _PIO2_3
        z = r * r
        sr = r + r * z * (_S1 + z * (_S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))))
        hz = 0.5 * z
        w = 1.0 - hz
        cr = w + (((1.0 - w) - hz) + z * z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6))))))
        q = np.int64(fn) & 3
        a = cr if q & 1 else sr
        b = sr if q & 1 else cr
        s[k] = -a if q & 2 else a
        c[k] = -b if (q + 1) & 2 else b
        big += abs(v) > _REDUCE_MAX
    if big:
        for k in range(x.size):
            if abs(x[k]) > _REDUCE_MAX:
                s[k], c[k] = math.sin(x[k]), math.cos(x[k])


@_inline
def _sum4(a, lo, hi):
    """``sum(a[lo:hi])`` over four partial sums."""
    s0 = s1 = s2 = s3 = 0.0
    k = lo
    while k + 3 < hi:
        s0 += a[k]
        s1 += a[k + 1]
        s2 += a[k + 2]
        s3 += a[k + 3]
        k += 4
    while k < hi:
        s0 += a[k]
        k += 1
    return (s0 + s1) + (s2 + s3)


@_inline
def _field_row(ptr, idx, dat, unit, off, row, a, b):
    """``(sum_l A[row, l] a[off + l], sum_l A[row, l] b[off + l])`` over four partial sums each,
    the products skipped where ``unit`` (all weights 1); ``idx`` and ``off`` unsigned (no
    negative-index wraparound on the gathers)."""
    r0 = r1 = r2 = r3 = i0 = i1 = i2 = i3 = 0.0
    k, hi = ptr[row], ptr[row + 1]
    if unit:
        while k + 3 < hi:
            j0, j1, j2, j3 = off + idx[k], off + idx[k + 1], off + idx[k + 2], off + idx[k + 3]
            r0 += a[j0]
            i0 += b[j0]
            r1 += a[j1]
            i1 += b[j1]
            r2 += a[j2]
            i2 += b[j2]
            r3 += a[j3]
            i3 += b[j3]
            k += 4
    else:
        while k + 3 < hi:
            j0, j1, j2, j3 = off + idx[k], off + idx[k + 1], off + idx[k + 2], off + idx[k + 3]
            r0 += dat[k] * a[j0]
            i0 += dat[k] * b[j0]
            r1 += dat[k + 1] * a[j1]
            i1 += dat[k + 1] * b[j1]
            r2 += dat[k + 2] * a[j2]
            i2 += dat[k + 2] * b[j2]
            r3 += dat[k + 3] * a[j3]
            i3 += dat[k + 3] * b[j3]
            k += 4
    while k < hi:
        j0 = off + idx[k]
        r0 += dat[k] * a[j0]
        i0 += dat[k] * b[j0]
        k += 1
    return (r0 + r1) + (r2 + r3), (i0 + i1) + (i2 + i3)


NO_PAIRS = (np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.uint64), np.zeros(0), np.zeros(0))


def two_per_row(indptr) -> bool:
    """Whether no row of a CSR matrix (its ``indptr``, host or device) holds more than two entries:
    the rows :func:`row_pairs` represents exactly, the fused loop's condition."""
    return bool(np.diff(backend.to_host(indptr)).max(initial=0) <= 2)


def row_pairs(mat) -> tuple:
    """A CSR triple's rows as their first two entries: two column indices (unsigned) and two
    weights per row, a missing entry a zero weight on the first column (``(A y)_k = (0 + w0_k
    y[j0_k]) + w1_k y[j1_k]``, the order CSR sums in; exact where no row holds more than two)."""
    ptr, idx, dat = mat
    counts = np.diff(ptr)
    if idx.size == 0:
        zeros = np.zeros(counts.size)
        return np.zeros(counts.size, dtype=np.uint64), np.zeros(counts.size, dtype=np.uint64), zeros, zeros.copy()
    first = np.minimum(ptr[:-1], idx.size - 1)
    second = np.minimum(ptr[:-1] + 1, idx.size - 1)
    has1, has2 = counts >= 1, counts >= 2
    j0 = np.where(has1, idx[first], 0).astype(np.uint64)
    j1 = np.where(has2, idx[second], j0).astype(np.uint64)
    return j0, j1, np.where(has1, dat[first], 0.0), np.where(has2, dat[second], 0.0)


@_inline
def _phase_update(phi, F_re, F_im, s, c, g, omega, om, u):
    """``phi_k += omega + g_k (F_im c_k - F_re s_k) / max(|F_k|, 1e-300)`` (``omega``: an array,
    or ``om`` where it is empty), the quotient first in ``u``: branch-free, vectorizes."""
    n = phi.size
    for k in range(n):
        fr, fi = F_re[k], F_im[k]
        mag = np.sqrt(fr * fr + fi * fi)
        mag = 1e-300 if mag < 1e-300 else mag  # noqa: FURB136 - a NaN stays NaN, as np.maximum
        u[k] = (fi * c[k] - fr * s[k]) / mag
    if omega.size > 0:
        for k in range(n):
            phi[k] += u[k] * g[k] + omega[k]
    else:
        for k in range(n):
            phi[k] += u[k] * g[k] + om


def sincos_weights(src, sc, work, data, wA, wB) -> None:
    """NumPy: ``sc = [sin src | cos src]`` from ``t = tan(src / 2)`` (``sin = 2t/(1+t^2)``,
    ``cos = 2/(1+t^2) - 1``) and the modulated weights ``data = wA - wB sin src``."""
    xp = backend.xp()
    n = src.size
    t_, q_, s_, c_ = work[0], work[1], sc[:n], sc[n:]
    xp.multiply(src, 0.5, out=t_)
    xp.tan(t_, out=t_)
    xp.multiply(t_, t_, out=q_)
    xp.add(q_, 1.0, out=q_)
    xp.divide(2.0, q_, out=q_)
    xp.multiply(t_, q_, out=s_)
    xp.subtract(q_, 1.0, out=c_)
    xp.multiply(wB, s_, out=data)
    xp.subtract(wA, data, out=data)


def _rows(mat) -> int:
    return mat[0].size - 1 if isinstance(mat, tuple) else mat.shape[0]


def free_steps_numpy(drive, tgt, prev, t0, osum, phi, omega, gain, shift, W, wA, wB, E, g0, leak, A1, A2,
                     pairs, unit, cg, sg, sc, work, *, ops=None, plan=None, state_hooks=(), phase_hooks=()):
    """The step as whole-array NumPy (or CuPy) passes (module docstring); the reference of
    :func:`free_steps` (``pairs`` and ``unit`` unread). Keyword-only: ``ops``, the plan's
    :func:`step_operators` (built here when absent); for the plan's hardware hooks,
    ``state_hooks`` applied to the node states and ``phase_hooks`` to the phases after every
    step (``plan``: their site)."""
    xp = backend.xp()
    mul, sub, add, div, sqrt, maximum = xp.multiply, xp.subtract, xp.add, xp.divide, xp.sqrt, xp.maximum
    n = phi.size
    B = osum.shape[1] // 2
    L = n // B
    record = osum.shape[0] > 0
    s_, c_ = sc[:n], sc[n:]
    sc2, ones = sc.reshape(2 * B, L), xp.ones(L)
    u1, g = work[2], work[3]
    F, P = work[4:6].reshape(-1), work[6:8].reshape(-1)
    F_re, F_im, P_lo, P_hi = F[:n], F[n:], P[:n], P[n:]
    data = W[2] if isinstance(W, tuple) else W.data
    spmv_W, spmv_E, op1, op2 = step_operators(W, E, A1, A2, n, B) if ops is None else ops
    omega = float(omega[0]) if omega.size == 1 else omega
    control = gain.size > 0
    if _rows(A2) > 0:   # domains: [Z_s | Z_c] = diag(1/|S_d|) P [sin | cos], F = P^T [Z_c | Z_s]
        n_dom = _rows(A1)
        zbuf = work[8:10].reshape(-1)[:2 * n_dom]
        Z_s, Z_c = zbuf[:n_dom], zbuf[n_dom:]
    elif _rows(A1) != n:  # links, one graph shared by all columns: one product on link-major copies
        scT, FT = work[8:10].reshape(L, 2 * B), P.reshape(L, 2 * B)
        scT_c, scT_s = scT[:, :B], scT[:, B:]
        s_rows, c_rows, F_rows = s_.reshape(B, L), c_.reshape(B, L), F.reshape(2 * B, L)
    kind = "domains" if _rows(A2) > 0 else "links" if _rows(A1) == n else "links_shared"
    for t, (d, x) in enumerate(zip(drive, tgt), start=t0):
        sincos_weights(phi, sc, work, data, wA, wB)
        if record:
            xp.dot(sc2, ones, out=osum[t])
        # nodes: x = l prev + (1 - l) tanh((A_n o M) prev + d)
        spmv_W(prev, d)
        if leak == 0.0:
            xp.tanh(d, out=x)
        else:
            xp.tanh(d, out=d)
            mul(d, 1.0 - leak, out=d)
            mul(prev, leak, out=x)
            add(x, d, out=x)
        for part in state_hooks:
            part.state(x)
        # activation gate g = eps1 + eps2 a = (eps1 + eps2/2) + (eps2/2) E n(t)
        g.fill(g0)
        spmv_E(prev, g)
        # local field F = A_phi exp(i phi) = [F_re | F_im]
        F.fill(0.0)
        if kind == "links":
            op1(c_, F_re)
            op1(s_, F_im)
        elif kind == "links_shared":
            xp.copyto(scT_c, c_rows.T)
            xp.copyto(scT_s, s_rows.T)
            FT.fill(0.0)
            op1(scT, FT)
            xp.copyto(F_rows, FT.T)
        else:
            zbuf.fill(0.0)
            op1(s_, Z_s)
            op1(c_, Z_c)
            op2(Z_c, F_re)
            op2(Z_s, F_im)
        if sg != 0.0 or cg != 1.0:  # F <- F exp(i gamma)
            mul(F_re, cg, out=P_lo)
            mul(F_im, sg, out=P_hi)
            sub(P_lo, P_hi, out=P_lo)
            mul(F_im, cg, out=F_im)
            mul(F_re, sg, out=P_hi)
            add(F_im, P_hi, out=F_im)
            F_re[:] = P_lo
        # sin(Psi - phi + gamma) = (F_im cos phi - F_re sin phi) / |F|
        mul(F, sc, out=P)
        sub(P_hi, P_lo, out=u1)
        mul(F, F, out=P)
        add(P_lo, P_hi, out=P_lo)
        sqrt(P_lo, out=P_lo)
        maximum(P_lo, 1e-300, out=P_lo)
        div(u1, P_lo, out=u1)
        # phi <- phi + omega + sin(...) (eps1 + eps2 a)
        mul(u1, g, out=u1)
        add(u1, omega, out=u1)
        if control:
            mul(u1, gain, out=u1)
            add(u1, shift, out=u1)
        add(phi, u1, out=phi)
        for part in phase_hooks:  # diffusive phase noise (noisy Kuramoto model)
            part.phase(phi, plan, phi)
        prev = x
    return prev


def step_operators(W, E, A1, A2, n: int, B: int) -> tuple:
    """The reference's sparse products ``y += A x`` (:func:`._kernels.spmv_acc`): ``W``, ``E``,
    and the astrocyte graph's (domains: ``A1`` then ``A2``; links: ``A1``, on ``2B`` link-major
    columns where one graph serves all columns; ``None`` where unused)."""
    if _rows(A2) > 0:
        op1, op2 = spmv_acc(A1), spmv_acc(A2)
    else:
        op1, op2 = spmv_acc(A1) if _rows(A1) == n else spmv_acc(A1, 2 * B), None
    return spmv_acc(W), spmv_acc(E), op1, op2


@jit.fused(free_steps_numpy)
def free_steps(drive, tgt, prev, t0, osum, phi, omega, gain, shift, W, wA, wB, E, g0, leak, A1, A2,
               pairs, unit, cg, sg, sc, work):
    """The step fused into a few loops per step (module docstring), ``drive.shape[0]`` steps in one call;
    ``pairs``: :func:`row_pairs` of ``E``, then of ``A2`` where its rows hold at most two entries
    (empty arrays otherwise: the loop reads ``A2``'s CSR rows); ``E`` unread."""
    n = phi.size
    B = osum.shape[1] // 2
    L = n // B
    n_nodes = prev.size
    # unsigned views of the index arrays: the gathers need no negative-index wraparound
    w_ptr, w_idx = W[0], W[1].view(np.uint64)
    a_ptr, a_idx, a_dat = A1[0], A1[1].view(np.uint64), A1[2]
    p_ptr, p_idx, p_dat = A2[0], A2[1].view(np.uint64), A2[2]
    domains = p_ptr.size > 1
    a_rows = a_ptr.size - 1
    record = osum.shape[0] > 0
    control = gain.size > 0
    rotate = sg != 0.0 or cg != 1.0
    om = omega[0]
    omega_n = omega if omega.size > 1 else omega[:0]
    s, c = sc[:n], sc[n:]
    g, F_re, F_im, u, wp, Z_s, Z_c = work[3], work[4], work[5], work[2], work[6], work[8], work[9]
    e0, e1, v0, v1, q0, q1, f0, f1 = pairs
    p_pairs = q0.size > 0
    for step in range(drive.shape[0]):
        d, x = drive[step], tgt[step]
        # 1. sin phi, cos phi; the order sums per column
        sincos_poly(phi, s, c)
        if record:
            for b in range(B):
                osum[t0 + step, b] = _sum4(s, b * L, (b + 1) * L)
                osum[t0 + step, B + b] = _sum4(c, b * L, (b + 1) * L)
        # 2. astrocyte field: F = A_phi [cos | sin] (links), Z = diag(1/|S_d|) P [sin | cos] (domains)
        if domains:
            for r in range(a_rows):
                Z_s[r], Z_c[r] = _field_row(a_ptr, a_idx, a_dat, False, np.uint64(0), r, s, c)
        else:
            for b in range(n // a_rows):  # one block (A_phi block-diagonal), or the shared graph per column
                off = b * a_rows
                for r in range(a_rows):
                    F_re[off + r], F_im[off + r] = _field_row(a_ptr, a_idx, a_dat, unit, np.uint64(off), r, c, s)
        # 3. gates g_k = g0 + (E prev)_k, every incidence row as two (node, weight) pairs
        for k in range(n):
            g[k] = (g0 + v0[k] * prev[e0[k]]) + v1[k] * prev[e1[k]]
        # 4. nodes: the product with the modulated weights, tanh
        for k in range(n):  # the modulated weights times the presynaptic states (vectorizes)
            wp[k] = (wA[k] - wB[k] * s[k]) * prev[w_idx[k]]
        for i in range(n_nodes):
            acc = d[i]
            for k in range(w_ptr[i], w_ptr[i + 1]):
                acc += wp[k]
            if leak == 0.0:
                x[i] = np.tanh(acc)
            else:
                x[i] = prev[i] * leak + np.tanh(acc) * (1.0 - leak)
        # 5. domains: F_k = (P^T [Z_c | Z_s])_k
        if domains and p_pairs:  # every link in one or two domains: a flat loop
            for k in range(n):
                F_re[k] = (0.0 + f0[k] * Z_c[q0[k]]) + f1[k] * Z_c[q1[k]]
                F_im[k] = (0.0 + f0[k] * Z_s[q0[k]]) + f1[k] * Z_s[q1[k]]
        elif domains:
            for k in range(n):
                e = p_ptr[k]
                j = p_idx[e]
                fr = 0.0 + p_dat[e] * Z_c[j]
                fi = 0.0 + p_dat[e] * Z_s[j]
                for q in range(e + 1, p_ptr[k + 1]):
                    j = p_idx[q]
                    fr += p_dat[q] * Z_c[j]
                    fi += p_dat[q] * Z_s[j]
                F_re[k], F_im[k] = fr, fi
        # 6. phi_k += omega_k + g_k sin(Psi_k - phi_k + gamma) (control: gain (...) + shift)
        if rotate:  # F <- F exp(i gamma)
            for k in range(n):
                fr, fi = F_re[k], F_im[k]
                F_re[k], F_im[k] = fr * cg - fi * sg, fi * cg + fr * sg
        if control:
            for k in range(n):
                fr, fi = F_re[k], F_im[k]
                mag = np.sqrt(fr * fr + fi * fi)
                mag = 1e-300 if mag < 1e-300 else mag  # noqa: FURB136 - a NaN stays NaN, as np.maximum
                du = (fi * c[k] - fr * s[k]) / mag * g[k] + (omega_n[k] if omega_n.size else om)
                phi[k] += du * gain[k] + shift[k]
        else:
            _phase_update(phi, F_re, F_im, s, c, g, omega_n, om, u)
        prev = x
    return prev
