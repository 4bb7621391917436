"""Shared pieces of the local-learning-rule figures: the input covariance and the section name."""
from __future__ import annotations

import numpy as np

__all__ = ["SECTION", "covariance", "linear_task"]

SECTION = "Local learning rules: Hebbian PCA, linear autoencoders, equilibrium propagation and predictive coding"


def covariance(lam, seed: int = 0) -> np.ndarray:
    """An (N, N) covariance with eigenvalues ``lam`` and Haar-random eigenvectors."""
    lam = np.asarray(lam, float)
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((lam.size, lam.size)))
    return (Q * lam) @ Q.T


def linear_task(n_in: int, hidden: int, n_out: int, P: int, depth: int, init_scale: float, seed: int = 0):
    """A realisable regression task ``Y = T X`` (teacher with singular values 3, 2, 1, ...), inputs
    ``X`` (n_in, P) with ``X X^T / P = I`` (whitened), and initial weights of a depth-``depth``
    network with i.i.d. N(0, init_scale^2) entries. Returns ``(W0, X, Y)``."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((P, n_in))
    Q, _ = np.linalg.qr(Z)
    X = np.sqrt(P) * Q.T  # whitened columns
    r = min(n_in, n_out)
    U, _ = np.linalg.qr(rng.standard_normal((n_out, r)))
    V, _ = np.linalg.qr(rng.standard_normal((n_in, r)))
    s = np.linspace(3.0, 1.0, r)
    Y = (U * s) @ V.T @ X
    sizes = [n_in] + [hidden] * (depth - 1) + [n_out]
    W0 = [init_scale * rng.standard_normal((sizes[l + 1], sizes[l])) for l in range(depth)]
    return W0, X, Y
