"""Shared pieces of the local-learning-rule figures: the input covariance and the section name."""
from __future__ import annotations

import numpy as np

__all__ = ["SECTION", "covariance"]

SECTION = "Local learning rules: Hebbian PCA, linear autoencoders, equilibrium propagation and predictive coding"


def covariance(lam, seed: int = 0) -> np.ndarray:
    """An (N, N) covariance with eigenvalues ``lam`` and Haar-random eigenvectors."""
    lam = np.asarray(lam, float)
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((lam.size, lam.size)))
    return (Q * lam) @ Q.T
