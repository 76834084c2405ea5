"""Random structures of a reservoir, drawn on the host from seeded streams.

- :func:`recurrent_matrix`: sparse ``A_n`` with an exact mean degree, entries
  ``U[-1, 1]``, rescaled to a spectral radius computed deterministically
  (:func:`spectral_radius`);
- :func:`input_matrix`: ``W_in`` in the authors' block layout, dense, or sparse;
- :func:`astro_links_graph`: the authors' explicit link-to-link graph ``A_phi``;
- :func:`astro_domains`: astrocyte domains (each astrocyte binds a set of links);
- :func:`incidence_matrix`: link activation from the node states.

Every structure comes from its own stream ``numpy.random.default_rng([seed,
stream])`` (:func:`host_rng`), so changing, say, the input layout never changes
the recurrent matrix, and the same seed gives the same network on NumPy and
CuPy (structures are drawn on the host, then moved to the active backend).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg

from .. import backend
from ..validation import (AnyOf, Bool, Choice, InstanceOf, Integer, InvalidParameterError, Optional, Real, Seed,
                          validate_params)

_RNG = InstanceOf(np.random.Generator, example=lambda: np.random.default_rng(0))
_OPTIONAL_RNG = Optional(_RNG)
_MATRIX = AnyOf(InstanceOf(sp.spmatrix, example=lambda: sp.eye(2, format="csr")),
                InstanceOf(np.ndarray, example=lambda: np.eye(2)))
_SPARSE = InstanceOf(sp.spmatrix, example=lambda: sp.eye(2, format="csr"))
if hasattr(sp, "sparray"):  # SciPy's sparse arrays, beside its sparse matrices
    _MATRIX = AnyOf(InstanceOf(sp.spmatrix, sp.sparray, example=lambda: sp.eye(2, format="csr")),
                    InstanceOf(np.ndarray, example=lambda: np.eye(2)))
    _SPARSE = InstanceOf(sp.spmatrix, sp.sparray, example=lambda: sp.eye(2, format="csr"))

#: The named streams of a reservoir's random structures (astrocore.backend's seed policy).
STREAMS = ("recurrent", "input", "astro", "phases", "arpack", "steer")

#: Largest matrix whose spectral radius is computed from dense eigenvalues.
DENSE_EIG_MAX = 2000


@validate_params({"seed": Seed(), "stream": Choice(STREAMS)})
def host_rng(seed: int, stream: str) -> np.random.Generator:
    """The seeded NumPy generator of one named structure of reservoir ``seed``
    (:func:`astrocore.backend.stream` on the host)."""
    return backend._stream(seed, stream, host=True)


@validate_params({"n_rows": Integer(0), "n_choices": Integer(0), "k": Integer(0), "rng": _RNG,
                  "exclude_diagonal": Bool()})
def distinct_per_row(n_rows: int, n_choices: int, k: int, rng: np.random.Generator,
                     exclude_diagonal: bool = False) -> np.ndarray:
    """``(n_rows, k)`` sorted integers in ``[0, n_choices)``, distinct within each row.

    With ``exclude_diagonal``, row ``r`` never holds ``r``. Vectorised: random
    keys and a partial sort for small problems, rejection of duplicates for
    large ones (deterministic for a given generator either way).
    """
    m = n_choices - 1 if exclude_diagonal else n_choices
    if k > m:
        raise InvalidParameterError(f"k must be <= {'n_choices - 1' if exclude_diagonal else 'n_choices'} "
                                    f"({m}): cannot draw {k} distinct values from {m}")
    if k == 0:
        return np.zeros((n_rows, 0), dtype=np.int64)
    if n_rows * m <= 4_000_000 or 4 * k > m:  # random keys, partial sort (row blocks bound memory)
        rows_per_block = max(1, 4_000_000 // m)
        blocks = []
        for r0 in range(0, n_rows, rows_per_block):
            keys = rng.random((min(rows_per_block, n_rows - r0), m))
            blocks.append(np.argpartition(keys, k - 1, axis=1)[:, :k] if k < m
                          else np.tile(np.arange(m), (keys.shape[0], 1)))
        idx = np.concatenate(blocks)
    else:
        idx = rng.integers(0, m, size=(n_rows, k))
        while True:
            idx.sort(axis=1)
            dup = np.zeros(idx.shape, dtype=bool)
            dup[:, 1:] = idx[:, 1:] == idx[:, :-1]
            n_dup = int(dup.sum())
            if n_dup == 0:
                break
            idx[dup] = rng.integers(0, m, size=n_dup)
    idx = np.sort(idx, axis=1)
    if exclude_diagonal:
        idx = idx + (idx >= np.arange(n_rows)[:, None])
    return idx


@validate_params({"matrix": _MATRIX, "rng": _OPTIONAL_RNG, "dense_max": Integer(0)})
def spectral_radius(matrix, *, rng: np.random.Generator | None = None,
                    dense_max: int = DENSE_EIG_MAX) -> float:
    """Largest eigenvalue modulus of a square (sparse) matrix, deterministically.

    Dense eigenvalues (LAPACK) for ``n <= dense_max``; above that ARPACK
    (``scipy.sparse.linalg.eigs``) started from a fixed vector ``v0`` drawn
    from ``rng`` (default: ``default_rng(0)``), never from ARPACK's own random
    start, which made the authors' example irreproducible.
    """
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise InvalidParameterError(f"matrix must be square, got shape {matrix.shape}")
    n = matrix.shape[0]
    if n <= dense_max:
        dense = matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)
        return float(np.max(np.abs(scipy.linalg.eigvals(dense)))) if n else 0.0
    rng = np.random.default_rng(0) if rng is None else rng
    v0 = rng.uniform(-1.0, 1.0, n)
    values = scipy.sparse.linalg.eigs(sp.csr_matrix(matrix), k=1, which="LM", v0=v0,
                                      return_eigenvectors=False, tol=1e-12, maxiter=100 * n)
    return float(np.max(np.abs(values)))


def _canonical_csr(rows, cols, vals, shape) -> sp.csr_matrix:
    mat = sp.csr_matrix((vals, (rows, cols)), shape=shape)
    mat.sum_duplicates()
    mat.sort_indices()
    mat.indices = mat.indices.astype(np.int32)
    mat.indptr = mat.indptr.astype(np.int32)
    return mat


@validate_params({"n_nodes": Integer(1), "degree": Real(0, closed="neither"),
                  "spectral_radius_": Real(0, closed="neither"), "rng": _RNG, "self_loops": Bool(),
                  "arpack_rng": _OPTIONAL_RNG, "dense_max": Integer(0)})
def recurrent_matrix(n_nodes: int, degree: float, spectral_radius_: float, rng: np.random.Generator,
                     *, self_loops: bool = True, arpack_rng: np.random.Generator | None = None,
                     dense_max: int = DENSE_EIG_MAX) -> sp.csr_matrix:
    """Sparse recurrent matrix ``A_n`` (CSR, sorted indices).

    ``round(degree * n_nodes)`` nonzeros at distinct positions drawn uniformly
    (the mean in- and out-degree is ``degree``), entries ``U[-1, 1]``, then
    scaled so that its spectral radius is ``spectral_radius_``. With
    ``self_loops`` (default, as in a uniformly random sparse matrix such as
    ``scipy.sparse.random`` and reservoirpy's generators) diagonal positions
    can be drawn; without, they cannot.
    """
    check_degree(degree, n_nodes, self_loops)
    n_cells = n_nodes * n_nodes if self_loops else n_nodes * (n_nodes - 1)
    nnz = int(round(degree * n_nodes))
    flat = np.sort(rng.choice(n_cells, size=nnz, replace=False))
    if self_loops:
        rows, cols = np.divmod(flat, n_nodes)
    else:
        rows, cols = np.divmod(flat, n_nodes - 1)
        cols = cols + (cols >= rows)
    vals = rng.uniform(-1.0, 1.0, nnz)
    mat = _canonical_csr(rows, cols, vals, (n_nodes, n_nodes))
    radius = spectral_radius(mat, rng=arpack_rng, dense_max=dense_max)
    if radius <= 1e-12:
        raise InvalidParameterError(
            f"the random recurrent matrix (n_nodes={n_nodes}, degree={degree:g}) has spectral "
            f"radius {radius:.3g} and cannot be rescaled to {spectral_radius_:g}; increase degree "
            "or change the seed")
    mat.data *= spectral_radius_ / radius
    return mat


INPUT_LAYOUTS = ("block", "dense", "sparse")


@validate_params({"n_nodes": Integer(1), "n_inputs": Integer(1), "layout": Choice(INPUT_LAYOUTS),
                  "scaling": Real(0, closed="neither"), "rng": _RNG, "density": Real(0, 1, closed="right")})
def input_matrix(n_nodes: int, n_inputs: int, layout: str, scaling: float,
                 rng: np.random.Generator, *, density: float = 0.1) -> np.ndarray:
    """Input matrix ``W_in`` (``n_nodes x n_inputs``, stored dense: inputs are few).

    - ``"block"`` (the authors'): input ``j`` drives its own contiguous block of
      about ``n_nodes / n_inputs`` nodes (``numpy.array_split``: when the
      division is not exact the first blocks get one node more, so every node
      is driven), weights ``U[-scaling, scaling]``;
    - ``"dense"``: every entry ``U[-scaling, scaling]``;
    - ``"sparse"``: each entry present with probability ``density``.
    """
    w = np.zeros((n_nodes, n_inputs))
    if layout == "block":
        if n_inputs > n_nodes:
            raise InvalidParameterError(f"n_inputs must be <= n_nodes ({n_nodes}) for input_layout='block', "
                             f"got {n_inputs}")
        for j, block in enumerate(np.array_split(np.arange(n_nodes), n_inputs)):
            w[block, j] = rng.uniform(-scaling, scaling, block.size)
    elif layout == "dense":
        w[:] = rng.uniform(-scaling, scaling, (n_nodes, n_inputs))
    else:
        mask = rng.random((n_nodes, n_inputs)) < density
        w[mask] = rng.uniform(-scaling, scaling, int(mask.sum()))
    return w


@validate_params({"n_links": Integer(1), "astro_degree": Integer(1), "rng": _RNG, "self_loops": Bool()})
def astro_links_graph(n_links: int, astro_degree: int, rng: np.random.Generator, *,
                      self_loops: bool = False) -> sp.csr_matrix:
    """The authors' explicit astrocyte graph ``A_phi`` between links (binary CSR).

    Each link listens to exactly ``astro_degree`` distinct other links drawn
    uniformly (itself too if ``self_loops``), so every row is nonempty and the
    mean degree is ``astro_degree`` (the authors: about 50). A fixed
    out-degree is our choice: it avoids links with no neighbours, whose local
    mean phase would be undefined.
    """
    high = n_links if self_loops else n_links - 1
    if astro_degree > high:
        raise InvalidParameterError(f"astro_degree must be <= the number of links{'' if self_loops else ' - 1'} "
                                    f"({high}), got {astro_degree}")
    cols = distinct_per_row(n_links, n_links, astro_degree, rng, exclude_diagonal=not self_loops)
    rows = np.repeat(np.arange(n_links), astro_degree)
    return _canonical_csr(rows, cols.ravel(), np.ones(cols.size), (n_links, n_links))


@validate_params({"n_links": Integer(1), "n_domains": Integer(1), "domains_per_link": Integer(1), "rng": _RNG})
def astro_domains(n_links: int, n_domains: int, domains_per_link: int,
                  rng: np.random.Generator) -> sp.csr_matrix:
    """Membership ``P`` (``n_domains x n_links``, binary CSR) of links in astrocyte domains.

    Each link is bound by ``domains_per_link`` distinct astrocytes drawn
    uniformly, so domains overlap and the astrocyte graph is connected when
    ``domains_per_link >= 2``. Astrocyte ``d`` covers ``S_d = {l: P[d, l] = 1}``.
    """
    if domains_per_link > n_domains:
        raise InvalidParameterError(f"domains_per_link must be <= n_domains ({n_domains}), got {domains_per_link}")
    doms = distinct_per_row(n_links, n_domains, domains_per_link, rng)
    links = np.repeat(np.arange(n_links), domains_per_link)
    return _canonical_csr(doms.ravel(), links, np.ones(doms.size), (n_domains, n_links))


@validate_params({"membership": _SPARSE})
def domain_weights(membership: sp.csr_matrix) -> np.ndarray:
    """``1 / |S_d|`` per astrocyte (0 for an empty domain)."""
    sizes = np.asarray(membership.sum(axis=1)).ravel()
    return np.divide(1.0, sizes, out=np.zeros_like(sizes, dtype=float), where=sizes > 0)


@validate_params({"membership": _SPARSE})
def implied_adjacency(membership: sp.csr_matrix) -> sp.csr_matrix:
    """The link-to-link graph that domains imply: ``A = P^T diag(1/|S_d|) P``.

    ``A[k, l] = sum over astrocytes d binding both k and l of 1 / |S_d|`` (the
    diagonal included): the local field of :func:`astro_domains` written as
    an explicit (weighted) ``A_phi``.
    """
    p = sp.csr_matrix(membership, dtype=float)
    adj = (p.T @ sp.diags(domain_weights(p)) @ p).tocsr()
    adj.sort_indices()
    return adj


LINK_ACTIVATIONS = ("mean", "pre", "post")


@validate_params({"recurrent": InstanceOf(sp.csr_matrix, example=lambda: sp.eye(2, format="csr")),
                  "mode": Choice(LINK_ACTIVATIONS)})
def incidence_matrix(recurrent: sp.csr_matrix, mode: str = "mean") -> sp.csr_matrix:
    """Link-node incidence ``E`` (``n_links x n_nodes``) so that ``a = E (n + 1) / 2``.

    Link ``k`` is the ``k``-th stored nonzero ``(i, j)`` of the CSR recurrent
    matrix: node ``i`` (post-synaptic, row) receives from node ``j``
    (pre-synaptic, column). ``"mean"`` (the authors): ``E[k, i] = E[k, j] = 1/2``
    (a self-loop gets a single 1); ``"pre"``: ``E[k, j] = 1``; ``"post"``:
    ``E[k, i] = 1``.
    """
    n_nodes = recurrent.shape[0]
    n_links = recurrent.nnz
    post = np.repeat(np.arange(n_nodes), np.diff(recurrent.indptr))
    pre = recurrent.indices.astype(np.int64)
    links = np.arange(n_links)
    if mode == "mean":
        rows = np.concatenate([links, links])
        cols = np.concatenate([post, pre])
        vals = np.full(2 * n_links, 0.5)
    else:
        rows, cols, vals = links, (pre if mode == "pre" else post), np.ones(n_links)
    return _canonical_csr(rows, cols, vals, (n_links, n_nodes))


@validate_params({"recurrent": InstanceOf(sp.csr_matrix, example=lambda: sp.eye(2, format="csr"))})
def link_endpoints(recurrent: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """``(post, pre)`` node of every link, in link (CSR storage) order."""
    post = np.repeat(np.arange(recurrent.shape[0]), np.diff(recurrent.indptr))
    return post, recurrent.indices.astype(np.int64)


@validate_params({"blocks": InstanceOf(list, tuple, example=lambda: [sp.eye(2, format="csr")])})
def block_diag_csr(blocks) -> sp.csr_matrix:
    """Block-diagonal CSR of ``blocks`` keeping each block's storage order.

    Entry ``p`` of block ``b`` lands at storage position ``offset_b + p``, so
    per-link arrays laid out batch-major line up with the ``data`` array.
    """
    blocks = [sp.csr_matrix(b) for b in blocks]
    n_rows = sum(b.shape[0] for b in blocks)
    n_cols = sum(b.shape[1] for b in blocks)
    indptr, indices, data = [np.zeros(1, dtype=np.int64)], [], []
    r_off = c_off = nnz_off = 0
    for b in blocks:
        indptr.append(b.indptr[1:].astype(np.int64) + nnz_off)
        indices.append(b.indices.astype(np.int64) + c_off)
        data.append(b.data)
        r_off += b.shape[0]
        c_off += b.shape[1]
        nnz_off += b.nnz
    itype = np.int32 if max(nnz_off, n_rows, n_cols) < 2**31 - 1 else np.int64
    out = sp.csr_matrix((np.concatenate(data) if data else np.zeros(0),
                         np.concatenate(indices).astype(itype) if indices else np.zeros(0, itype),
                         np.concatenate(indptr).astype(itype)), shape=(n_rows, n_cols))
    out.has_sorted_indices = all(b.has_sorted_indices for b in blocks)
    return out


def check_degree(degree: float, n_nodes: int, self_loops: bool) -> float:
    """A validated mean degree in (0, n_nodes] (``n_nodes - 1`` without self-loops), at least one link.

    The cross-parameter part of the recurrent matrix's constraints (degree and
    n_nodes are each declared where they are passed).
    """
    high = n_nodes if self_loops else n_nodes - 1
    if degree > high:
        raise InvalidParameterError(f"degree must be <= {'n_nodes' if self_loops else 'n_nodes - 1'} "
                                    f"({high}), got {degree:g}")
    if int(round(degree * n_nodes)) < 1:
        raise InvalidParameterError(f"degree * n_nodes must round to at least 1 link, got {degree:g} * {n_nodes}")
    return degree
