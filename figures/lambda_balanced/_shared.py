"""Shared pieces of the lambda-balanced figures: ensembles of exact trajectories and trained networks."""
from __future__ import annotations

import numpy as np

from idealnets.simulate.deep_linear import train_from
from idealnets.theory.lambda_balanced import TwoLayerExact, free_scale, lambda_balanced_init

__all__ = ["init_ensemble", "exact_ensemble", "train_ensemble"]


def init_ensemble(n_in, n_hidden, n_out, lam, map_scale, E, seed):
    """E lambda-balanced inits in random frames whose map has singular values ~ map_scale."""
    return lambda_balanced_init(n_in, n_hidden, n_out, lam, free_scale(lam, map_scale), seed=seed, size=E)


def exact_ensemble(W1, W2, X, Y):
    """One :class:`TwoLayerExact` per network of the ensemble."""
    return [TwoLayerExact(W1[e], W2[e], X, Y) for e in range(W1.shape[0])]


def train_ensemble(W1, W2, X, Y, *, lr, T, n_rec, log=False, device=None):
    """Train the whole ensemble from (W1, W2) by full-batch GD up to time T (one batched program)."""
    steps = int(round(T / lr))
    if log:
        rec = np.unique(np.concatenate([[0], np.geomspace(1, steps, n_rec).round().astype(int)]))
    else:
        rec = np.linspace(0, steps, n_rec).round().astype(int)
    return train_from([W1, W2], X, Y, lr=lr, steps=steps, record=rec, return_weights=True, device=device,
                      desc=f"lambda-balanced GD (E={W1.shape[0]})")
