r"""A mathematical theory of semantic development (Saxe, McClelland & Ganguli, PNAS 2019).

Items are one-hot inputs (``X = I_P``, so ``Sxx = I/P``: isotropic with
``c = 1/P`` under the mean loss of docs: Conventions, "Loss and time") and ``Y`` (features x
items) holds each item's features. A depth-D linear network trained from small
balanced weights learns the SVD of ``Syx = Y/P = U diag(s) V^T`` mode by mode
(:mod:`idealnets.theory.deep_linear`):

.. math::

    \hat Y(t) = W_D \cdots W_1(t) = \sum_\alpha u_\alpha(t)\, U_{:\alpha} V_{:\alpha}^T ,
    \qquad u_\alpha(\infty) = s_\alpha / c = \sigma_\alpha(Y),

with each ``u_alpha`` a sigmoid (D >= 2) whose transition time is ``~ ln(1/u0)/(2 s_alpha)``:
strong (broad) distinctions are learned before weak (fine) ones. This module builds on
that solution:

* spectra of structured environments -- :func:`hierarchy_spectrum` (the hierarchical
  branching-diffusion model, SI of Saxe et al. 2019) and :func:`structure` (ring,
  chain, grid, clusters, hierarchy, each with its analytic eigendecomposition);
* :class:`SemanticTheory` -- network outputs, hidden-representation similarity
  (RSA), MDS trajectories, differentiation times, illusory correlations,
  inductive projection, item typicality;
* :func:`category_coherence` -- when a category is learnable at all (a noisy
  item-feature block), with the singular value that sets its learning speed.

Float64 NumPy only; time on the leading axis, ``t = np.inf`` the fixed point.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _core
from .datasets import ITEMS_MAX, MAX_ENTRIES, Tree, check_branching, check_flip_prob, hierarchical_data, living_things
from .deep_linear import DeepLinearTheory, learning_time
from .validation import as_array, as_choice, as_float, as_int, as_seed, as_times

__all__ = [
    "living_things",
    "hierarchical_data",
    "HierarchySpectrum",
    "hierarchy_spectrum",
    "Structure",
    "STRUCTURES",
    "structure",
    "SemanticTheory",
    "IllusoryCorrelations",
    "category_coherence",
    "category_singular_value",
    "joint_embedding",
    "procrustes_align",
    "rsa_correlation",
    "effective_u0",
    "crossing_times",
]

STRUCTURES = ("hierarchy", "ring", "chain", "grid", "clusters")
ILLUSION_ATOL = 1e-9  # excursions below this (relative to max|Y|) are rounding, not illusions
ZERO_MODE_RTOL = 1e-12  # singular values at or below this times the largest count as zero (no distinction)


# ======================================================================== spectra
@dataclass(frozen=True)
class HierarchySpectrum:
    r"""Analytic spectrum of the branching-diffusion hierarchy (see :func:`hierarchy_spectrum`).

    Attributes
    ----------
    tree : the :class:`~idealnets.theory.datasets.Tree`.
    q : ``(L+1,)`` correlation ``q_k`` of two items whose deepest common ancestor is at level k.
    eig_level : ``(L+1,)`` eigenvalue ``lambda_k`` of the per-feature item covariance at level k.
    multiplicity : ``(L+1,)`` number of modes at level k, ``M_k - M_{k-1}``.
    eig : ``(P,)`` eigenvalues per mode (levels in order, repeated by multiplicity; descending).
    level : ``(P,)`` the hierarchical level of each mode (0 = root, the shared mean).
    s : ``(P,)`` expected singular values of ``Syx = Y X^T/P`` for n_features features,
        ``sqrt(n_features * eig) / P``.
    modes : ``(P, P)`` orthonormal tree wavelets (columns), the analytic eigenvectors.
    """

    tree: Tree
    flip_prob: float
    n_features: int
    q: np.ndarray
    eig_level: np.ndarray
    multiplicity: np.ndarray
    eig: np.ndarray
    level: np.ndarray
    s: np.ndarray
    modes: np.ndarray

    def covariance(self) -> np.ndarray:
        """Expected per-feature item covariance ``C_ij = q_{lca(i,j)}``, shape ``(P, P)``."""
        return self.q[self.tree.lca_level()]

    @property
    def s_level(self) -> np.ndarray:
        """``(L+1,)`` expected singular value of ``Syx`` at each level."""
        return np.sqrt(self.n_features * self.eig_level) / self.tree.n_items


def _tree_wavelets(tree: Tree) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal eigenvectors of any tree-structured covariance, with their levels.

    Level 0: the constant vector. Level k >= 1: for every node at level k-1 with b
    children, b-1 orthonormal (Helmert) contrasts between its children, each child's
    value spread uniformly over its leaves. Columns are ordered by level.
    """
    P = tree.n_items
    cols, levels = [np.full(P, 1.0 / np.sqrt(P))], [0]
    for k in range(1, tree.n_levels):
        b = tree.branching[k - 1]
        # Helmert contrasts among b children: rows j = 1..b-1
        H = np.zeros((b - 1, b))
        for j in range(1, b):
            H[j - 1, :j] = 1.0
            H[j - 1, j] = -j
            H[j - 1] /= np.sqrt(j * (j + 1))
        child = tree.ancestor[k]  # index at level k of each leaf
        parent = tree.ancestor[k - 1]
        leaves_per_child = P // tree.n_nodes[k]
        pos = child % b  # which child of its parent
        for node in range(tree.n_nodes[k - 1]):
            inside = parent == node
            for j in range(b - 1):
                v = np.where(inside, H[j, pos], 0.0) / np.sqrt(leaves_per_child)
                cols.append(v)
                levels.append(k)
    return np.stack(cols, axis=1), np.asarray(levels)


def hierarchy_spectrum(branching=(2, 2, 2), flip_prob: float = 0.1, n_features: int = 1000) -> HierarchySpectrum:
    r"""Analytic spectrum of the hierarchical branching-diffusion model (Saxe et al. 2019, SI Appendix).

    For the tree of :func:`~idealnets.theory.datasets.hierarchical_data` (levels
    ``k = 0..L``, ``M_k`` nodes at level k, ``P = M_L`` items) two items whose
    deepest common ancestor sits at level k have feature correlation
    ``q_k = (1 - 2 eps)^{2(L-k)}``. With ``Delta_k = q_k - q_{k-1}`` (``q_{-1} = 0``)
    the item covariance is ``C = sum_k Delta_k B_k``, ``B_k`` the block of ones on
    each level-k subtree, so every tree wavelet of level k is an eigenvector with

    .. math::

        \lambda_k = \sum_{l=k}^{L} \Delta_l \, \frac{P}{M_l},
        \qquad \text{multiplicity } M_k - M_{k-1}\ (M_{-1} = 0),

    decreasing with k: broad distinctions are the strongest modes. (Derived
    here from ``C``; the same result as the paper's SI up to its level indexing.)
    ``E[Y^T Y] = n_features C`` for +-1 features, so the singular values of
    ``Syx = Y/P`` approach ``s_k = sqrt(n_features lambda_k)/P`` with relative
    sampling error ``O(n_features^{-1/2})``.

    Parameters: ``branching`` (ints >= 2 per level), ``flip_prob`` in [0, 0.5],
    ``n_features >= 1``. Returns a :class:`HierarchySpectrum`.
    """
    tree = Tree.uniform(branching)
    eps = check_flip_prob(flip_prob)
    n_features = as_int(n_features, "n_features", low=1)
    L = tree.n_levels - 1
    P = tree.n_items
    q = (1.0 - 2.0 * eps) ** (2.0 * (L - np.arange(L + 1)))
    delta = np.diff(np.concatenate([[0.0], q]))
    M = np.asarray(tree.n_nodes, dtype=float)
    terms = delta * P / M
    eig_level = np.cumsum(terms[::-1])[::-1]
    mult = np.diff(np.concatenate([[0], tree.n_nodes]))
    modes, level = _tree_wavelets(tree)
    eig = eig_level[level]
    s = np.sqrt(n_features * eig) / P
    return HierarchySpectrum(tree=tree, flip_prob=eps, n_features=int(n_features), q=q, eig_level=eig_level,
                             multiplicity=mult, eig=eig, level=level, s=s, modes=modes)


# ---------------------------------------------------------------- structural forms
@dataclass(frozen=True)
class Structure:
    r"""A structural form (Kemp & Tenenbaum 2008) with its analytic item covariance spectrum.

    Features are Gaussian, ``y_m ~ N(0, C)`` i.i.d. over features, so
    ``E[Y^T Y] = n_features C`` and the singular values of ``Syx = Y/P`` approach
    ``sqrt(n_features eig)/P``; the item analyzers ``V`` approach ``modes``.

    Attributes
    ----------
    kind : one of :data:`STRUCTURES`; n : number of items P.
    C : ``(P, P)`` item covariance. eig : ``(P,)`` eigenvalues, descending.
    modes : ``(P, P)`` analytic orthonormal eigenvectors (columns, matching ``eig``).
    label : ``(P,)`` a short name per mode (Fourier index, level, ...).
    adjacency : ``(P, P)`` the graph the form lives on (None for the hierarchy).
    """

    kind: str
    n: int
    C: np.ndarray
    eig: np.ndarray
    modes: np.ndarray
    label: list[str]
    adjacency: np.ndarray | None = None
    params: dict = field(default_factory=dict)

    def singular_values(self, n_features: int) -> np.ndarray:
        """Expected singular values of ``Syx = Y/P`` for ``n_features`` features, ``sqrt(N eig)/P``."""
        return np.sqrt(as_int(n_features, "n_features", low=1) * self.eig) / self.n

    def sample(self, n_features: int, seed: int = 0) -> np.ndarray:
        """Features ``Y`` of shape ``(n_features, P)``, rows i.i.d. ``N(0, C)``."""
        n_features = as_int(n_features, "n_features", low=1, high=MAX_ENTRIES // self.n)
        rng = np.random.default_rng(as_seed(seed))
        root = self.modes * np.sqrt(np.maximum(self.eig, 0.0))
        return rng.standard_normal((n_features, self.n)) @ root.T


def _chain_modes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Path-graph Laplacian: eigenvalues ``2 - 2cos(pi k/n)``, DCT-II eigenvectors ``cos(pi k (j+1/2)/n)``."""
    k = np.arange(n)
    lam = 2.0 - 2.0 * np.cos(np.pi * k / n)
    j = np.arange(n)[:, None]
    vec = np.cos(np.pi * k[None, :] * (j + 0.5) / n)
    vec /= np.linalg.norm(vec, axis=0)
    return lam, vec


def _ring_modes(n: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Cycle-graph Laplacian: eigenvalues ``2 - 2cos(2 pi k/n)``, Fourier cos/sin pairs."""
    j = np.arange(n)
    lam, vecs, labels = [0.0], [np.full(n, 1.0)], ["k=0"]
    for k in range(1, n // 2 + 1):
        l = 2.0 - 2.0 * np.cos(2 * np.pi * k / n)
        if 2 * k == n:
            lam.append(l)
            vecs.append(np.cos(np.pi * j))
            labels.append(f"k={k}")
        else:
            lam += [l, l]
            vecs += [np.cos(2 * np.pi * k * j / n), np.sin(2 * np.pi * k * j / n)]
            labels += [f"cos k={k}", f"sin k={k}"]
    V = np.stack(vecs, axis=1)
    return np.asarray(lam), V / np.linalg.norm(V, axis=0), labels


def _path_adjacency(n: int) -> np.ndarray:
    A = np.zeros((n, n))
    i = np.arange(n - 1)
    A[i, i + 1] = A[i + 1, i] = 1.0
    return A


def structure(kind: str, n: int, *, sigma2: float = 4.0, shape: tuple[int, int] | None = None,
              n_clusters: int | None = None, branching=None, flip_prob: float = 0.1) -> Structure:
    r"""Item covariance of a structural form and its analytic eigenvectors (Saxe et al. 2019, structural forms).

    Graph forms (ring, chain, grid, clusters) use the Gaussian Markov random
    field of Kemp & Tenenbaum (2008): features are smooth on the graph,
    ``C = (L_G + I/sigma2)^{-1}`` with ``L_G`` the graph Laplacian, so ``C`` shares the
    Laplacian's eigenvectors and has eigenvalues ``1/(mu_k + 1/sigma2)``:

    * ``"ring"`` (cycle of n items): ``mu_k = 2 - 2cos(2 pi k/n)``, Fourier modes
      (a cos/sin pair per frequency);
    * ``"chain"`` (path, a linear order): ``mu_k = 2 - 2cos(pi k/n)``, eigenvectors
      ``cos(pi k (j + 1/2)/n)`` (DCT-II);
    * ``"grid"`` (``shape = (a, b)``, ``a b = n``; default square): Kronecker sum of two
      chains, ``mu = mu_i + mu_j``, eigenvectors the outer products;
    * ``"clusters"`` (``n_clusters`` disjoint cliques of ``m = n/K`` items): ``mu = 0`` on the
      K cluster indicators (eigenvalue sigma2) and ``mu = m`` on within-cluster contrasts;
    * ``"hierarchy"``: the branching-diffusion covariance of :func:`hierarchy_spectrum`
      (``branching`` with product n, default binary; ``flip_prob``), tree wavelets.

    Returns a :class:`Structure` with modes sorted by decreasing eigenvalue.
    """
    kind = as_choice(kind, "kind", STRUCTURES)
    n = as_int(n, "n (number of items)", low=2, high=ITEMS_MAX)
    sigma2 = as_float(sigma2, "sigma2", low=0.0, open_low=True)
    adjacency = None
    params: dict = {"sigma2": float(sigma2)}
    if kind == "hierarchy":
        if branching is None:
            depth = int(round(np.log2(n)))
            if 2**depth != n:
                raise ValueError(f"a binary hierarchy needs n a power of 2 (got {n}); pass branching=")
            branching = (2,) * depth
        branching = check_branching(branching)
        if int(np.prod(branching)) != n:
            raise ValueError(f"prod(branching) = {int(np.prod(branching))} must equal n = {n}")
        spec = hierarchy_spectrum(branching, flip_prob, 1)
        params = {"branching": branching, "flip_prob": spec.flip_prob}
        C, eig, modes = spec.covariance(), spec.eig, spec.modes
        labels = [f"level {l}" for l in spec.level]
    else:
        if kind == "ring":
            if n < 3:
                raise ValueError("a ring needs n >= 3 items")
            mu, modes, labels = _ring_modes(n)
            A = _path_adjacency(n)
            A[0, -1] = A[-1, 0] = 1.0
        elif kind == "chain":
            mu, modes = _chain_modes(n)
            labels = [f"k={k}" for k in range(n)]
            A = _path_adjacency(n)
        elif kind == "grid":
            if shape is None:
                a = int(round(np.sqrt(n)))
                if a * a != n:
                    raise ValueError(f"a square grid needs n a perfect square (got {n}); pass shape=(a, b)")
                shape = (a, a)
            a, b = (int(v) for v in shape)
            if a * b != n or min(a, b) < 2:
                raise ValueError(f"grid shape {shape} must have both sides >= 2 and product n = {n}")
            mu_a, va = _chain_modes(a)
            mu_b, vb = _chain_modes(b)
            mu = (mu_a[:, None] + mu_b[None, :]).ravel()
            modes = np.einsum("ik,jl->ijkl", va, vb).reshape(n, n)
            labels = [f"({k},{l})" for k in range(a) for l in range(b)]
            A = np.kron(_path_adjacency(a), np.eye(b)) + np.kron(np.eye(a), _path_adjacency(b))
            params["shape"] = (a, b)
        else:  # clusters
            K = n_clusters if n_clusters is not None else 2
            if not isinstance(K, (int, np.integer)) or K < 1 or n % K:
                raise ValueError(f"n_clusters must be a positive int dividing n = {n}, got {n_clusters!r}")
            m = n // K
            ind = np.kron(np.eye(K), np.ones((m, 1))) / np.sqrt(m)  # cluster indicators
            # within-cluster Helmert contrasts
            H = np.zeros((m, m - 1))
            for j in range(1, m):
                H[:j, j - 1] = 1.0
                H[j, j - 1] = -j
                H[:, j - 1] /= np.sqrt(j * (j + 1))
            modes = np.concatenate([ind, np.kron(np.eye(K), H)], axis=1)
            mu = np.concatenate([np.zeros(K), np.full(n - K, float(m))])
            labels = [f"cluster {c}" for c in range(K)] + ["within"] * (n - K)
            A = np.kron(np.eye(K), np.ones((m, m)) - np.eye(m))
            params["n_clusters"] = int(K)
        eig = 1.0 / (mu + 1.0 / sigma2)
        adjacency = A
        Lg = np.diag(A.sum(1)) - A
        C = np.linalg.inv(Lg + np.eye(n) / sigma2)
    order = np.argsort(-eig, kind="stable")
    return Structure(kind=kind, n=n, C=C, eig=np.asarray(eig)[order], modes=modes[:, order],
                     label=[labels[i] for i in order], adjacency=adjacency, params=params)


# ======================================================================== category coherence
def category_coherence(p: float, q: float, k_items: int, k_features: int, n_items: int, n_features: int) -> float:
    r"""Coherence of a category hidden in a noisy item-feature matrix (Saxe et al. 2019, section "Category coherence").

    Model: an ``n_features x n_items`` binary matrix whose entries are 1 with
    probability ``q`` (background) except on a block of ``k_features`` features x
    ``k_items`` items (the category), where they are 1 with probability ``p``.
    After subtracting the background mean q, the block is a rank-one signal of
    singular value ``(p - q) sqrt(k_items k_features)`` in noise of variance ``q(1-q)``.
    Its singular value separates from the noise bulk -- and a network can learn
    the category -- iff

    .. math::

        \mathcal C = \mathrm{SNR}\,\frac{k_\text{items} k_\text{features}}{\sqrt{n_\text{items} n_\text{features}}} > 1,
        \qquad \mathrm{SNR} = \frac{(p-q)^2}{q(1-q)},

    the rank-one (BBP) threshold for rectangular random matrices
    (Benaych-Georges & Nadakuditi 2012); derived here, same form as the paper's.
    Requires ``0 < q < 1``, ``0 <= p <= 1``, ``1 <= k <= n``.
    """
    n_items, n_features = as_int(n_items, "n_items", low=1), as_int(n_features, "n_features", low=1)
    k_items = as_int(k_items, "k_items", low=1, high=n_items)
    k_features = as_int(k_features, "k_features", low=1, high=n_features)
    q = as_float(q, "q", low=0.0, high=1.0, open_low=True, open_high=True)
    p = as_float(p, "p", low=0.0, high=1.0)
    snr = (p - q) ** 2 / (q * (1 - q))
    return float(snr * k_items * k_features / np.sqrt(n_items * n_features))


def category_singular_value(p: float, q: float, k_items: int, k_features: int, n_items: int,
                            n_features: int) -> float:
    r"""Top singular value of the background-centred category matrix (large-n limit), in units of ``Y``.

    With noise standard deviation ``sigma = sqrt(q(1-q))`` and signal
    ``theta = (p-q) sqrt(k_i k_f)/sigma``, the rank-one perturbation of an
    ``n_f x n_i`` noise matrix has top singular value (Benaych-Georges & Nadakuditi 2012)

    .. math::

        \sigma_1 = \sigma \sqrt{(\theta^2 + n_f)(\theta^2 + n_i)}/\theta \quad (\mathcal C > 1),
        \qquad \sigma_1 = \sigma (\sqrt{n_f} + \sqrt{n_i}) \quad (\mathcal C \le 1),

    since ``C = theta^2/sqrt(n_i n_f)``. Divide by ``n_items`` for the singular value of
    ``Syx`` with one-hot items; a deep network learns the category at a time ``~ 1/s``.
    """
    C = category_coherence(p, q, k_items, k_features, n_items, n_features)
    sigma = np.sqrt(q * (1 - q))
    if C <= 1:
        return float(sigma * (np.sqrt(n_features) + np.sqrt(n_items)))
    th2 = (p - q) ** 2 * k_items * k_features / sigma**2
    return float(sigma * np.sqrt((th2 + n_features) * (th2 + n_items) / th2))


# ======================================================================== representation geometry
def joint_embedding(H, dims: int = 2, center: str = "time") -> np.ndarray:
    r"""Classical MDS of representations pooled over time: one embedding for a whole trajectory.

    ``H`` has shape ``(T, n_hidden, P)`` (item representations as columns at T
    times). With ``center="time"`` (default) each time's item centroid is removed
    first -- classical MDS of the between-item distances at one time never sees
    the centroid -- so a component shared by all items (e.g. "living thing")
    does not mask the differentiation; ``center="all"`` removes only the global
    mean. All ``T*P`` points are then projected on their top ``dims`` principal
    axes, so every time shares one frame (for Euclidean distances classical MDS
    equals PCA). Returns ``(T, P, dims)``.
    """
    H = as_array(H, "H (T, n_hidden, P)", ndim=3)  # finite before the SVD
    center = as_choice(center, "center", ("time", "all"))
    dims = as_int(dims, "dims", low=1)
    if center == "time":
        H = H - H.mean(axis=2, keepdims=True)
    pts = np.swapaxes(H, 1, 2).reshape(-1, H.shape[1])
    pts = pts - pts.mean(axis=0)
    _, _, Vt = np.linalg.svd(pts, full_matrices=False)
    if dims > Vt.shape[0]:
        raise ValueError(f"dims={dims} exceeds the representation dimension {Vt.shape[0]}")
    B = Vt[:dims].T
    # fix signs: largest-magnitude coordinate positive (deterministic output)
    coords = pts @ B
    sgn = np.sign(coords[np.argmax(np.abs(coords), axis=0), np.arange(dims)])
    return (coords * sgn).reshape(H.shape[0], H.shape[2], dims)


def procrustes_align(A, B) -> tuple[np.ndarray, float]:
    r"""Rotate/reflect point cloud ``A`` onto ``B`` (orthogonal Procrustes, no scaling).

    ``A, B``: ``(..., dims)`` with the same shape. Returns ``(A R, err)`` with
    ``R = argmin ||A R - B||_F`` over orthogonal R and ``err = ||A R - B|| / ||B||``.
    """
    A, B = as_array(A, "A", ndim=range(1, 64)), as_array(B, "B", ndim=range(1, 64))
    if A.shape != B.shape:
        raise ValueError(f"shapes differ: {A.shape} vs {B.shape}")
    if not np.any(B):
        raise ValueError("B is all zeros: the relative Procrustes error ||A R - B|| / ||B|| is undefined")
    a, b = A.reshape(-1, A.shape[-1]), B.reshape(-1, B.shape[-1])
    u, _, vt = np.linalg.svd(a.T @ b)
    R = u @ vt
    out = (a @ R).reshape(A.shape)
    return out, float(np.linalg.norm(out - B) / np.linalg.norm(B))


def rsa_correlation(K1, K2) -> np.ndarray:
    """Pearson correlation of the upper triangles (diagonal included) of similarity matrices ``(..., P, P)``.

    A matrix that is constant on its upper triangle (e.g. all zeros) has no
    correlation with anything: ValueError naming it, rather than NaN.
    """
    K1 = as_array(K1, "K1", ndim=range(2, 64))
    K2 = as_array(K2, "K2", ndim=range(2, 64))
    if K1.shape[-1] != K1.shape[-2] or K2.shape[-1] != K2.shape[-2]:
        raise ValueError(f"K1 and K2 must be square (..., P, P), got shapes {K1.shape} and {K2.shape}")
    try:
        K1, K2 = np.broadcast_arrays(K1, K2)
    except ValueError:
        raise ValueError(f"K1 {K1.shape} and K2 {K2.shape} do not broadcast") from None
    iu = np.triu_indices(K1.shape[-1])
    a, b = K1[..., iu[0], iu[1]], K2[..., iu[0], iu[1]]
    a = a - a.mean(-1, keepdims=True)
    b = b - b.mean(-1, keepdims=True)
    for name, v in (("K1", a), ("K2", b)):
        if np.any(np.sum(v * v, -1) == 0):
            raise ValueError(f"{name} is constant on its upper triangle: its correlation with another matrix "
                             "is undefined")
    return np.sum(a * b, -1) / np.sqrt(np.sum(a * a, -1) * np.sum(b * b, -1))


def crossing_times(t, u, u_final, fraction: float = 0.5) -> np.ndarray:
    r"""First time each trajectory reaches ``fraction * u_final`` (linear interpolation in t;
    :func:`idealnets.theory.measures.crossing_time` of ``u / u_final`` at level ``fraction``).

    ``t``: ``(T,)`` increasing times; ``u``: ``(..., T, n_modes)`` mode strengths (e.g.
    :meth:`SemanticTheory.project` of trained outputs); ``u_final``: ``(n_modes,)``.
    Returns ``(..., n_modes)``; ``nan`` where the level is never reached (and for modes
    with ``u_final = 0``, which have no level to reach). The measured counterpart of
    :meth:`SemanticTheory.differentiation_times`.
    """
    t = as_times(t, allow_inf=False, increasing=True)
    u = as_array(u, "u", ndim=range(2, 64))
    u_final = as_array(u_final, "u_final", ndim=(0, 1))
    fraction = as_float(fraction, "fraction", low=0.0, high=1.0, open_low=True)
    if u.shape[-2] != t.size:
        raise ValueError(f"u has {u.shape[-2]} times on axis -2 but t has {t.size}")
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(u_final != 0, u / np.where(u_final != 0, u_final, 1.0), -np.inf)  # fraction of u_final
    return _core.crossing_time(t, np.moveaxis(x, -2, 0), fraction, up=True)


def effective_u0(init_scale: float, hidden: int) -> float:
    r"""Initial mode strength that a small *random* init of a one-hidden-layer network acts like.

    With ``W1, W2`` i.i.d. ``N(0, init_scale^2)`` and ``n_h = hidden`` units, the
    early (linear) phase of mode alpha is ``da/dt = s b, db/dt = s a`` for
    ``a = W1 V_alpha, b = W2^T U_alpha`` (cross-mode terms are higher order), so
    ``u = b.a -> |a0 + b0|^2 e^{2 s t}/4``: the decoupled sigmoid (D = 2) started from

    .. math:: u_0^\text{eff} = E|a_0 + b_0|^2 / 4 = \text{init\_scale}^2\, n_h / 2,

    with relative network-to-network spread ``sqrt(2/n_h)`` (chi-square). Derived here.
    """
    init_scale = as_float(init_scale, "init_scale", low=0.0, open_low=True)
    hidden = as_int(hidden, "hidden", low=1)
    with np.errstate(over="ignore"):
        u0 = 0.5 * np.float64(init_scale) ** 2 * hidden
    if not np.isfinite(u0):
        raise ValueError(f"init_scale = {init_scale:g} with hidden = {hidden} gives an initial strength beyond float64")
    return float(u0)


# ======================================================================== the theory
@dataclass(frozen=True)
class IllusoryCorrelations:
    """Item-feature outputs that transiently move away from their targets (see
    :meth:`SemanticTheory.illusory_correlations`); arrays sorted by decreasing ``size``.

    feature, item : indices; size : largest excursion outside the interval between
    the initial output and the target; time : when it peaks; sign : +1 above, -1 below;
    target : the target value ``Y[feature, item]``.
    """

    feature: np.ndarray
    item: np.ndarray
    size: np.ndarray
    time: np.ndarray
    sign: np.ndarray
    target: np.ndarray

    def __len__(self) -> int:
        return int(self.size.size)


class SemanticTheory:
    r"""Learning dynamics of a depth-D linear network on one-hot items (Saxe et al. 2019).

    Built on :class:`~idealnets.theory.deep_linear.DeepLinearTheory` with ``X = I_P``
    (``Sxx = I/P``, ``c = 1/P``): one SVD ``Syx = Y/P = U diag(s) V^T``, modes
    ``u_alpha(t)`` from :func:`~idealnets.theory.deep_linear.mode_strength` rising to
    ``s_alpha/c = sigma_alpha(Y)``. Assumes balanced, decoupled initial weights
    (small random weights approach them, with ``u0`` from :func:`effective_u0`).

    Parameters
    ----------
    Y : ``(n_features, P)`` features of the P items (columns).
    depth : number of weight matrices D >= 1 (D - 1 hidden layers).
    u0 : initial strength of every mode (scalar) or per mode.
    tau : time constant; time is ``t = lr * steps`` for gradient descent.
    items, features : optional names, kept for plots.
    """

    def __init__(self, Y, depth: int = 2, u0=1e-3, tau: float = 1.0, items=None, features=None):
        Y = as_array(Y, "Y", ndim=2)  # real and finite before the SVD
        if Y.shape[1] < 2:
            raise ValueError(f"Y must have at least one feature (row) and two items (columns), got {Y.shape}")
        if items is not None and len(items) != Y.shape[1]:
            raise ValueError(f"{len(items)} item names for {Y.shape[1]} items (columns of Y)")
        if features is not None and len(features) != Y.shape[0]:
            raise ValueError(f"{len(features)} feature names for {Y.shape[0]} features (rows of Y)")
        self.Y = Y
        self.P = Y.shape[1]
        self.items, self.features = items, features
        self.dl = DeepLinearTheory(np.eye(self.P), Y, depth=depth, u0=u0, tau=tau)  # one-hot items
        self.depth, self.tau, self.c = self.dl.depth, self.dl.tau, self.dl.c
        self.U, self.s, self.V = self.dl.U, self.dl.s, self.dl.V
        self.n_modes = self.dl.n_modes

    # -- modes -------------------------------------------------------------
    @property
    def u_final(self) -> np.ndarray:
        """Final strength of each mode, ``s/c``: the singular values of ``Y``."""
        return self.dl.u_final

    def mode_strengths(self, t) -> np.ndarray:
        """``u_alpha(t)``, shape ``t.shape + (n_modes,)`` (:func:`~idealnets.theory.deep_linear.mode_strength`)."""
        return self.dl.mode_strengths(t)

    def project(self, Y_hat) -> np.ndarray:
        r"""Strength of each mode in any output map: ``u_alpha = U_alpha^T Y_hat V_alpha``.

        ``Y_hat``: ``(..., n_features, P)`` (e.g. trained networks' outputs over time);
        returns ``(..., n_modes)``. Equals :meth:`mode_strengths` for the theory's map.
        """
        Y_hat = np.asarray(Y_hat, dtype=float)
        if Y_hat.shape[-2:] != self.Y.shape:
            raise ValueError(f"outputs must end in {self.Y.shape}, got {Y_hat.shape}")
        return np.einsum("ma,...mi,ia->...a", self.U, Y_hat, self.V)

    def differentiation_times(self, fraction: float = 0.5) -> np.ndarray:
        r"""When each mode is learned: the time ``u_alpha`` reaches ``fraction`` of ``s_alpha/c``.

        For D = 2: ``t_alpha = (tau/(2 s_alpha)) ln[f (s_alpha/c - u0) / (u0 (1 - f))]``
        (Saxe et al. 2014, Eq. 9, in the c-rescaled frame of :mod:`idealnets.theory.deep_linear`); ``~ 1/s_alpha``,
        so broad (strong) distinctions are learned first. Modes with ``s = 0``: ``inf``; for
        D >= 2 also modes that start at ``u0 = 0`` (the saddle, which they never leave).
        """
        fraction = as_float(fraction, "fraction", low=0.0, high=1.0, open_low=True, open_high=True)
        out = np.full(self.n_modes, np.inf)
        ok = self.s > ZERO_MODE_RTOL * max(self.s[0], 1e-300)
        if self.depth >= 2:
            ok &= self.dl.u0 > 0
        if np.any(ok & (self.dl.u0 >= fraction * self.u_final)):
            raise ValueError("some mode starts above the requested fraction of its final strength")
        if ok.any():
            out[ok] = learning_time(self.s[ok] / self.c, self.dl.u0[ok], fraction * self.u_final[ok],
                                    self.depth, self.tau) / self.c
        return out

    # -- outputs -------------------------------------------------------------
    def output(self, t) -> np.ndarray:
        r"""Network output for every item, ``Y_hat(t) = U diag(u(t)) V^T``, shape ``t.shape + (n_features, P)``.

        ``Y_hat[m, i]`` is the prediction for feature m of item i (docs: Conventions, "Semantic development").
        """
        return self.dl.map(t)

    def loss(self, t) -> np.ndarray:
        """Training loss ``(1/2P) ||Y - Y_hat(t)||_F^2``, shape ``t.shape``."""
        return self.dl.loss(t)

    def _layer(self, layer) -> int:
        if self.depth < 2:
            raise ValueError("a depth-1 (shallow) network has no hidden layer")
        layer = self.depth - 1 if layer is None else layer
        return as_int(layer, "layer", low=1, high=self.depth - 1)

    def hidden(self, t, layer: int = 1) -> np.ndarray:
        r"""Hidden representations in mode coordinates, ``A(t)^{l/D} V^T``: ``t.shape + (n_modes, P)``.

        Balanced weights ``W_l = R_l A^{1/D} R_{l-1}^T`` put item i at
        ``h_i = R_l A^{l/D} V^T e_i`` in hidden layer l; the free rotation ``R_l`` is dropped.
        """
        layer = self._layer(layer)
        a = np.maximum(self.mode_strengths(t), 0.0) ** (layer / self.depth)
        return a[..., :, None] * self.V.T

    def similarity(self, t, layer: int = 1) -> np.ndarray:
        r"""RSA matrix of hidden layer l: ``K(t) = H^T H = V diag(u(t)^{2l/D}) V^T``, ``t.shape + (P, P)``.

        Invariant under the free hidden rotation; for D = 2 ``K = V A(t) V^T`` (docs: Conventions, "Semantic development").
        """
        layer = self._layer(layer)
        a2 = np.maximum(self.mode_strengths(t), 0.0) ** (2.0 * layer / self.depth)
        return np.einsum("ia,...a,ja->...ij", self.V, a2, self.V)

    def mds(self, t, dims: int = 2, layer: int = 1, center: str = "time") -> np.ndarray:
        """MDS trajectories of the hidden representations, ``(len(t), P, dims)``, one frame for all times.

        :func:`joint_embedding` of :meth:`hidden` at the times ``t`` (1-D): the
        paper's Fig. 3 embeddings (Saxe, Nelli & Summerfield 2021, Fig. 5b); progressive differentiation
        appears as items splitting first along the broadest distinction.
        """
        t = np.atleast_1d(as_times(t))
        if t.ndim != 1:
            raise ValueError("mds needs a 1-D array of times")
        return joint_embedding(self.hidden(t, layer), dims, center)

    # -- phenomena -------------------------------------------------------------
    def illusory_correlations(self, t, min_size: float | None = None) -> IllusoryCorrelations:
        r"""Item-feature outputs that transiently move *away* from their targets (Saxe et al. 2019, Fig. 4).

        For each entry the output should travel from ``yhat_mi(0)`` to ``y_mi``; its
        excursion at time t is its distance outside the interval between the two,
        ``max(yhat - max(y0, y), min(y0, y) - yhat, 0)``. In a shallow network
        (D = 1) all modes share one exponential, ``yhat = y + (yhat(0) - y) e^{-ct}``,
        and no entry leaves the interval; for D >= 2 broad modes are learned before
        the fine modes that correct them, so an item transiently takes on features
        of its category it lacks (worms "have bones"). Evaluated on the given 1-D
        time grid (the peak time is grid-limited). Returns the entries whose peak
        excursion exceeds ``min_size`` (default ``ILLUSION_ATOL * max|Y|``).
        """
        t = np.sort(np.atleast_1d(as_times(t)))
        if t.ndim != 1 or t.size < 2:
            raise ValueError("illusory_correlations needs a 1-D grid of at least two times")
        yhat = self.output(t)
        y0 = self.output(0.0)
        lo, hi = np.minimum(y0, self.Y), np.maximum(y0, self.Y)
        above, below = yhat - hi, lo - yhat
        exc = np.maximum(np.maximum(above, below), 0.0)
        k = np.argmax(exc, axis=0)
        size = np.take_along_axis(exc, k[None], 0)[0]
        sign = np.where(np.take_along_axis(above, k[None], 0)[0] > 0, 1, -1)
        if min_size is None:
            min_size = ILLUSION_ATOL * float(np.max(np.abs(self.Y)))
        m, i = np.nonzero(size > min_size)
        order = np.argsort(-size[m, i], kind="stable")
        m, i = m[order], i[order]
        return IllusoryCorrelations(feature=m, item=i, size=size[m, i], time=t[k[m, i]],
                                    sign=sign[m, i], target=self.Y[m, i])

    def inductive_projection(self, t, item: int, layer: int | None = None) -> np.ndarray:
        r"""Generalisation of a novel property taught to one familiar item (Saxe et al. 2019, "Inductive projection").

        A new output unit reads the last hidden layer (weights frozen at time t)
        and is trained on ``item`` alone: gradient flow from zero weights gives
        ``w ∝ h_item``, stopped when the item's output is 1. Item j then gets

        .. math:: g_j(t) = \frac{h_j \cdot h_{i}}{\|h_i\|^2} = \frac{K_{ji}(t)}{K_{ii}(t)},

        the RSA matrix row normalised. Early on (only broad modes learned) a novel
        property of a canary spreads to all animals; later it narrows to birds.
        Returns ``t.shape + (P,)``.

        Where the item's hidden representation is zero (every mode at 0: ``u0 = 0``, or an
        item that only modes of zero strength carry, e.g. an all-zero column of ``Y`` at
        ``t = inf``) the new unit's gradient vanishes, its weights stay at zero and every
        item's output stays 0: the result is 0 there (not 0/0).
        """
        item = as_int(item, "item", low=0, high=self.P - 1)
        K = self.similarity(t, self._layer(layer))
        Kii = K[..., item, item][..., None]
        with np.errstate(divide="ignore", invalid="ignore"):
            g = K[..., :, item] / Kii
        return np.where(Kii > 0, g, 0.0)

    def feature_projection(self, t, feature: int) -> np.ndarray:
        r"""Features attributed to a novel item known to have one familiar ``feature`` (Saxe et al. 2019).

        The novel item's input weights are trained on that feature alone; the
        gradient direction is ``W_out^T e_m`` with ``W_out = W_D ... W_2 = U A^{(D-1)/D} R^T``,
        so its predicted features are

        .. math:: f(t) = \frac{G_{:m}}{G_{mm}}, \qquad G = U\,\mathrm{diag}(u^{2(D-1)/D})\,U^T .

        Needs D >= 2. Returns ``t.shape + (n_features,)``.

        Where ``G_mm = 0`` (the readout carries nothing to the feature: ``u0 = 0``, or an
        all-zero feature row of ``Y``, whose modes have zero strength, at ``t = inf``) the
        novel item's weights get no gradient and stay at zero, so every predicted feature
        stays 0: the result is 0 there (not 0/0).
        """
        self._layer(None)
        feature = as_int(feature, "feature", low=0, high=self.Y.shape[0] - 1)
        a2 = np.maximum(self.mode_strengths(t), 0.0) ** (2.0 * (self.depth - 1) / self.depth)
        G = np.einsum("ma,...a,a->...m", self.U, a2, self.U[feature])
        Gmm = G[..., feature][..., None]
        with np.errstate(divide="ignore", invalid="ignore"):
            f = G / Gmm
        return np.where(Gmm > 0, f, 0.0)

    def _signal_mode(self, mode) -> int:
        """``mode`` checked, and refused when its singular value is zero (no distinction to analyse)."""
        mode = as_int(mode, "mode", low=0, high=self.n_modes - 1)
        signal = self.s > ZERO_MODE_RTOL * max(self.s[0], 1e-300)
        if not signal[mode]:
            raise ValueError(f"mode {mode} has singular value {self.s[mode]:.3g} (zero, up to "
                             f"ZERO_MODE_RTOL = {ZERO_MODE_RTOL:g} times the largest): the data make no distinction "
                             "along it, so its typicality and prototype (which divide by it) are undefined; use a "
                             f"mode with s > 0 (the first {int(np.sum(signal))})")
        return mode

    def item_typicality(self, mode: int) -> np.ndarray:
        r"""Typicality of each item for distinction ``mode`` (Saxe et al. 2019, Eq. 13 and Fig. 6).

        The object analyzer ``v_i^alpha = u^alpha . y_i / (P s_alpha)``: the coordinate of
        item i along the mode's axis in the learned representation. Typical members sit
        at the extremes (sign = side of the distinction), atypical ones near 0, and the
        network's output for the category's features rises as ``v_i^alpha u_alpha(t)``:
        typical items are "verified" sooner. Returns ``(P,)``. A mode of zero strength
        (``s = 0``) is a ValueError: it makes no distinction.
        """
        mode = self._signal_mode(mode)
        return self.U[:, mode] @ self.Y / (self.P * self.s[mode])

    def category_prototype(self, mode: int) -> np.ndarray:
        r"""Feature synthesizer ``u^alpha = sum_i v_i^alpha y_i / (P s_alpha)`` (Saxe et al. 2019, Eq. 14).

        Returns ``(n_features,)``; equals ``U[:, mode]``. A mode of zero strength is a ValueError.
        """
        mode = self._signal_mode(mode)
        return self.Y @ self.V[:, mode] / (self.P * self.s[mode])
